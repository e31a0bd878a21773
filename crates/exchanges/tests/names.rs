//! Names in X.511 items go through guls-acse's codec with the strict, bounded rules of this
//! crate ([`guls_exchanges::credentials::NAME_DECODING`]): what ACSE accepts leniently (an empty
//! RDN, components after an attribute value, any number of RDNs and attributes) is rejected
//! here, with errors naming the SESE layer; names are written and compared in DER.

use guls_acse::{AttributeTypeAndValue, DistinguishedName, Oid, RelativeDistinguishedName};
use guls_ber::{ErrorKind, Layer, Tag, Writer};
use guls_exchanges::credentials::{MAX_ATAVS, MAX_RDNS, NAME_DECODING, same_name};
use guls_exchanges::{Credentials, SimpleCredentials, dn_from_der, dn_to_der};
use guls_sese::ItemType;

fn atav(t: &str, text: &str) -> AttributeTypeAndValue {
    AttributeTypeAndValue::printable(t.parse::<Oid>().unwrap(), text)
}

fn atav_bytes(a: &AttributeTypeAndValue) -> Vec<u8> {
    let mut w = Writer::new();
    a.encode(&mut w);
    w.into_bytes()
}

/// `tag { SET { rdn bytes } … }` built by hand.
fn name_of(tag: Tag, rdns: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.constructed(tag, |w| {
        for rdn in rdns {
            w.constructed(Tag::SET, |w| w.raw(rdn));
        }
    });
    w.into_bytes()
}

fn extra_component() -> Vec<u8> {
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        w.oid(Tag::OID, &"2.5.4.3".parse().unwrap());
        w.primitive(Tag::PRINTABLE_STRING, b"x");
        w.constructed(Tag::SET, |_| {});
    });
    w.into_bytes()
}

/// A name's encoding and the error kind it must give.
type Case = (Vec<u8>, fn(&ErrorKind) -> bool);

#[test]
fn the_rules_are_strict_and_bounded() {
    assert_eq!(
        NAME_DECODING,
        guls_acse::NameDecoding::strict(MAX_RDNS, MAX_ATAVS)
    );
}

#[test]
fn dn_from_der_rejects_what_acse_tolerates() {
    let one = atav_bytes(&atav("2.5.4.3", "a"));
    let cases: Vec<Case> = vec![
        (name_of(Tag::SEQUENCE, &[Vec::new()]), |k| {
            *k == ErrorKind::Invalid("empty RDN")
        }),
        (name_of(Tag::SEQUENCE, &[extra_component()]), |k| {
            matches!(k, ErrorKind::Trailing { .. })
        }),
        (
            name_of(Tag::SEQUENCE, &vec![one.clone(); MAX_RDNS + 1]),
            |k| {
                *k == ErrorKind::LimitExceeded {
                    what: "RDNs in a name",
                    limit: MAX_RDNS,
                }
            },
        ),
        (name_of(Tag::SEQUENCE, &[one.repeat(MAX_ATAVS + 1)]), |k| {
            *k == ErrorKind::LimitExceeded {
                what: "attributes in an RDN",
                limit: MAX_ATAVS,
            }
        }),
    ];
    for (bytes, expected) in cases {
        let err = dn_from_der(&bytes).unwrap_err();
        assert!(expected(&err.kind), "{err:?}");
        assert_eq!(err.layer, Layer::Sese);
        // ACSE's own decoding accepts them.
        assert!(DistinguishedName::from_der(&bytes).is_ok());
    }
    // At the bounds: accepted.
    let full = name_of(
        Tag::SEQUENCE,
        &[vec![one.clone(); MAX_RDNS - 1], vec![one.repeat(MAX_ATAVS)]].concat(),
    );
    assert_eq!(dn_from_der(&full).unwrap().0.len(), MAX_RDNS);
    // Not a universal SEQUENCE, or trailing octets.
    let implicit = name_of(Tag::context(0), std::slice::from_ref(&one));
    assert!(matches!(
        dn_from_der(&implicit).unwrap_err().kind,
        ErrorKind::Unexpected { .. }
    ));
    let mut trailing = name_of(Tag::SEQUENCE, &[one]);
    trailing.push(0);
    assert!(matches!(
        dn_from_der(&trailing).unwrap_err().kind,
        ErrorKind::Trailing { .. }
    ));
}

#[test]
fn names_inside_credentials_follow_the_same_rules() {
    // SimpleCredentials { name [0] } with an empty RDN: rejected.
    let mut w = Writer::new();
    w.constructed(Tag::context(0), |w| {
        w.raw(&name_of(Tag::context(0), &[Vec::new()]));
    });
    let err = Credentials::decode(&w.into_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid("empty RDN"));
    assert_eq!(err.layer, Layer::Sese);
}

#[test]
fn names_are_written_and_compared_in_der() {
    // Same-length members: CN (2.5.4.3) sorts before C (2.5.4.6) in DER.
    let (c, cn) = (atav("2.5.4.6", "FR"), atav("2.5.4.3", "ab"));
    let held = DistinguishedName(vec![RelativeDistinguishedName(vec![c.clone(), cn.clone()])]);
    let sorted = DistinguishedName(vec![RelativeDistinguishedName(vec![cn.clone(), c.clone()])]);
    let der = name_of(Tag::SEQUENCE, &[[atav_bytes(&cn), atav_bytes(&c)].concat()]);
    assert_eq!(dn_to_der(&held), der);
    assert_eq!(dn_to_der(&held), held.to_der());
    assert!(same_name(&held, &sorted));
    assert_eq!(dn_from_der(&der).unwrap(), sorted);

    // Inside an item, under its implicit tag, in DER too.
    let creds = Credentials::Simple(SimpleCredentials {
        name: held,
        validity: None,
        password: None,
    });
    let bytes = creds.encode();
    assert!(
        bytes.windows(der.len() - 1).any(|w| w == &der[1..]),
        "the name's DER contents are in the item"
    );
    let Credentials::Simple(back) = Credentials::decode(&bytes).unwrap() else {
        panic!("not simple credentials");
    };
    assert_eq!(back.name, sorted);
}
