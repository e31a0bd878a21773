//! The public Directory name codec: lenient decoding (what ACSE applies to AP-titles and
//! AE-qualifiers) against strict, bounded decoding, order-preserving against DER encoding,
//! implicitly tagged names and `from_der` / `to_der`.

use guls_acse::{
    AttributeTypeAndValue, DistinguishedName, NameDecoding, Oid, RelativeDistinguishedName,
};
use guls_ber::{ErrorKind, Layer, Reader, Tag, Writer};

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn cn(text: &str) -> AttributeTypeAndValue {
    AttributeTypeAndValue::printable(oid("2.5.4.3"), text)
}

fn c(text: &str) -> AttributeTypeAndValue {
    AttributeTypeAndValue::printable(oid("2.5.4.6"), text)
}

/// A multi-valued RDN whose members are not in DER order: both encodings are 13 octets long
/// and CN (2.5.4.3) sorts before C (2.5.4.6).
fn unsorted() -> DistinguishedName {
    DistinguishedName(vec![RelativeDistinguishedName(vec![c("FR"), cn("ab")])])
}

fn element_of(bytes: &[u8]) -> guls_ber::Element<'_> {
    let mut r = Reader::new(bytes, Layer::Acse);
    let e = r.read().unwrap();
    r.finish("test").unwrap();
    e
}

fn atav_bytes(a: &AttributeTypeAndValue) -> Vec<u8> {
    let mut w = Writer::new();
    a.encode(&mut w);
    w.into_bytes()
}

/// `SEQUENCE { SET { atav bytes… } … }` built by hand.
fn name_of(rdns: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        for rdn in rdns {
            w.constructed(Tag::SET, |w| w.raw(rdn));
        }
    });
    w.into_bytes()
}

#[test]
fn encode_keeps_the_order_held_der_sorts() {
    let dn = unsorted();
    let mut w = Writer::new();
    dn.encode(&mut w);
    let held = w.into_bytes();
    assert_eq!(
        held,
        name_of(&[[atav_bytes(&c("FR")), atav_bytes(&cn("ab"))].concat()])
    );
    let der = dn.to_der();
    assert_eq!(
        der,
        name_of(&[[atav_bytes(&cn("ab")), atav_bytes(&c("FR"))].concat()])
    );
    let mut w = Writer::new();
    dn.encode_der(&mut w);
    assert_eq!(w.into_bytes(), der);
    // Both decode back to the members in the order they were written.
    assert_eq!(DistinguishedName::from_der(&held).unwrap(), dn);
    assert_eq!(
        DistinguishedName::from_der(&der).unwrap().0[0].0,
        vec![cn("ab"), c("FR")]
    );
}

#[test]
fn implicitly_tagged_names() {
    let dn = DistinguishedName(vec![
        RelativeDistinguishedName(vec![c("FR")]),
        RelativeDistinguishedName(vec![cn("ab")]),
    ]);
    let mut w = Writer::new();
    dn.encode_der_implicit(&mut w, Tag::context(6));
    let bytes = w.into_bytes();
    assert_eq!(bytes[0], 0xA6);
    assert_eq!(bytes[1..], dn.to_der()[1..]);
    let e = element_of(&bytes);
    let strict = NameDecoding::strict(32, 8);
    assert_eq!(
        DistinguishedName::decode_contents_with(&e, &strict).unwrap(),
        dn
    );
    // decode_with insists on the universal SEQUENCE.
    let err = DistinguishedName::decode_with(&e, &strict).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Unexpected { .. }), "{err:?}");
}

#[test]
fn lenient_accepts_what_strict_rejects() {
    let strict = NameDecoding::strict(32, 8);
    assert_eq!(NameDecoding::default(), NameDecoding::LENIENT);

    // An empty RDN.
    let empty_rdn = name_of(&[Vec::new()]);
    assert_eq!(
        DistinguishedName::from_der(&empty_rdn).unwrap(),
        DistinguishedName(vec![RelativeDistinguishedName(Vec::new())])
    );
    let err = DistinguishedName::from_der_with(&empty_rdn, &strict).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid("empty RDN"));
    assert_eq!(err.layer, Layer::Acse);

    // A component after the attribute value (later X.501 editions).
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        w.oid(Tag::OID, &oid("2.5.4.3"));
        w.primitive(Tag::PRINTABLE_STRING, b"x");
        w.constructed(Tag::SET, |_| {});
    });
    let extra = name_of(&[w.into_bytes()]);
    let lenient = DistinguishedName::from_der(&extra).unwrap();
    assert_eq!(
        lenient,
        DistinguishedName(vec![RelativeDistinguishedName(vec![cn("x")])])
    );
    let err = DistinguishedName::from_der_with(&extra, &strict).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Trailing { .. }), "{err:?}");
}

#[test]
fn bounds() {
    let rules = NameDecoding::strict(2, 2);
    let one = atav_bytes(&cn("a"));
    let ok = name_of(&[one.clone(), [one.clone(), one.clone()].concat()]);
    assert!(DistinguishedName::from_der_with(&ok, &rules).is_ok());

    let three_rdns = name_of(&[one.clone(), one.clone(), one.clone()]);
    let err = DistinguishedName::from_der_with(&three_rdns, &rules).unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::LimitExceeded {
            what: "RDNs in a name",
            limit: 2
        }
    );
    assert!(DistinguishedName::from_der(&three_rdns).is_ok());

    let three_atavs = name_of(&[[one.clone(), one.clone(), one.clone()].concat()]);
    let err = DistinguishedName::from_der_with(&three_atavs, &rules).unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::LimitExceeded {
            what: "attributes in an RDN",
            limit: 2
        }
    );
    assert!(DistinguishedName::from_der(&three_atavs).is_ok());
}

#[test]
fn from_der_takes_exactly_one_name() {
    let mut bytes = unsorted().to_der();
    bytes.push(0);
    let err = DistinguishedName::from_der(&bytes).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Trailing { .. }), "{err:?}");
    let set = {
        let mut w = Writer::new();
        unsorted().0[0].encode(&mut w);
        w.into_bytes()
    };
    let err = DistinguishedName::from_der(&set).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Unexpected { .. }), "{err:?}");
    // The parts decode alone too.
    let rdn = RelativeDistinguishedName::decode(&element_of(&set)).unwrap();
    assert_eq!(rdn, unsorted().0[0]);
    let atav = AttributeTypeAndValue::decode(&element_of(&atav_bytes(&cn("y")))).unwrap();
    assert_eq!(atav, cn("y"));
}
