//! OBJECT IDENTIFIER and EXTERNAL tests with exact bytes.

use guls_ber::{
    BitString, ErrorKind, External, ExternalEncoding, Layer, LengthForm, Oid, OidError, Reader,
    Tag, Writer, known, parse_hex, to_hex,
};

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).expect("test hex")
}

const GULS_ARC_DOTTED: &str = "2.25.36238538382872986225690784931241271656";
/// Contents octets of the arc, checked independently with
/// `openssl asn1parse` (`06 13 69 b6 ...` -> `:2.25.36238538382872986225690784931241271656`)
/// and with Python base-128 arithmetic.
const GULS_ARC_HEX: &str = "69b6c3a4f8e2ce9aa0b9a4c49bacadafe0c268";

#[test]
fn uuid_arc_round_trip() {
    let oid: Oid = GULS_ARC_DOTTED.parse().unwrap();
    assert_eq!(to_hex(oid.as_bytes()), GULS_ARC_HEX);
    assert_eq!(oid.to_string(), GULS_ARC_DOTTED);
    assert_eq!(
        oid.arcs(),
        vec![2, 25, 36238538382872986225690784931241271656u128]
    );
    assert_eq!(oid, known::GULS_ARC);
    assert_eq!(known::GULS_ARC.to_string(), GULS_ARC_DOTTED);
    let from_bytes = Oid::from_content(&hex(GULS_ARC_HEX)).unwrap();
    assert_eq!(from_bytes.to_string(), GULS_ARC_DOTTED);
    assert_eq!(format!("{from_bytes:?}"), format!("Oid({GULS_ARC_DOTTED})"));

    // Beneath the arc (ARCHITECTURE.md section 4: ARC.1.1 is the SESE abstract syntax).
    let sese: Oid = format!("{GULS_ARC_DOTTED}.1.1").parse().unwrap();
    assert_eq!(to_hex(sese.as_bytes()), format!("{GULS_ARC_HEX}0101"));
    assert!(sese.starts_with(&known::GULS_ARC));
    assert!(!known::GULS_ARC.starts_with(&sese));

    // In an element.
    let mut w = Writer::new();
    w.oid(Tag::OID, &sese);
    let b = w.into_bytes();
    assert_eq!(b[..2], [0x06, 0x15]);
    let e = Reader::new(&b, Layer::Acse).read().unwrap();
    assert_eq!(e.oid("oid").unwrap(), sese);
}

#[test]
fn known_oids() {
    assert_eq!(known::ACSE_ABSTRACT_SYNTAX.to_string(), "2.2.1.0.1");
    assert_eq!(known::BER.to_string(), "2.1.1");
    assert_eq!(known::PASSWORD_MECHANISM.to_string(), "2.2.3.1");
    assert_eq!(known::MMS_ABSTRACT_SYNTAX.to_string(), "1.0.9506.2.1");
    assert_eq!(known::MMS_APPLICATION_CONTEXT.to_string(), "1.0.9506.2.3");
    for k in [
        known::ACSE_ABSTRACT_SYNTAX,
        known::BER,
        known::PASSWORD_MECHANISM,
        known::MMS_ABSTRACT_SYNTAX,
        known::MMS_APPLICATION_CONTEXT,
        known::GULS_ARC,
    ] {
        // Static and parsed forms are equal (and hash equally, being the same octets).
        let parsed: Oid = k.to_string().parse().unwrap();
        assert_eq!(parsed, k);
        assert_eq!(Oid::from_content(k.as_bytes()).unwrap(), k);
    }
    // X.690 8.19.5 example: 2.999.3 -> 88 37 03.
    let o: Oid = "2.999.3".parse().unwrap();
    assert_eq!(to_hex(o.as_bytes()), "883703");
    let o: Oid = "0.0".parse().unwrap();
    assert_eq!(to_hex(o.as_bytes()), "00");
    let o: Oid = "1.39".parse().unwrap();
    assert_eq!(to_hex(o.as_bytes()), "4f");
    // Contents 52 03 01 is 2.2.3.1 (PEERS.md: a crate mislabelled it).
    assert_eq!(
        Oid::from_content(&[0x52, 0x03, 0x01]).unwrap(),
        known::PASSWORD_MECHANISM
    );
}

#[test]
fn u128_arc_limits() {
    let max = format!("1.2.{}", u128::MAX);
    let o: Oid = max.parse().unwrap();
    // 2^128 - 1 needs 19 septets, the first 0x83.
    assert_eq!(to_hex(o.as_bytes()), format!("2a83{}7f", "ff".repeat(17)));
    assert_eq!(o.to_string(), max);
    assert_eq!(Oid::from_content(o.as_bytes()).unwrap().to_string(), max);

    // One more bit does not fit: 19 septets with the first >= 4, or 20 septets.
    let mut over = hex("2a 84");
    over.extend(std::iter::repeat_n(0x80, 17));
    over.push(0x00);
    assert_eq!(Oid::from_content(&over), Err(OidError::ArcRange));
    let mut twenty = hex("2a 81");
    twenty.extend(std::iter::repeat_n(0x80, 18));
    twenty.push(0x00);
    assert_eq!(Oid::from_content(&twenty), Err(OidError::ArcRange));
    assert_eq!(
        format!("1.2.{}0", u128::MAX).parse::<Oid>(),
        Err(OidError::ArcRange)
    );
    // The first arc 2 with a huge second arc.
    let big = format!("2.{}", u128::MAX - 80);
    let o: Oid = big.parse().unwrap();
    assert_eq!(o.to_string(), big);
    assert_eq!(
        format!("2.{}", u128::MAX - 79).parse::<Oid>(),
        Err(OidError::ArcRange)
    );
}

#[test]
fn malformed_oids() {
    assert_eq!(Oid::from_content(&[]), Err(OidError::Empty));
    assert_eq!(Oid::from_content(&[0x2a, 0x86]), Err(OidError::Malformed));
    assert_eq!(
        Oid::from_content(&[0x2a, 0x80, 0x01]),
        Err(OidError::Malformed)
    );
    assert_eq!(Oid::from_content(&[0x80, 0x01]), Err(OidError::Malformed));
    assert_eq!(Oid::from_content(&[0x2a; 129]), Err(OidError::TooLong));
    assert!(Oid::from_content(&[0x2a; 128]).is_ok());
    for (s, e) in [
        ("", OidError::Empty),
        ("1", OidError::Empty),
        ("3.1", OidError::ArcRange),
        ("1.40", OidError::ArcRange),
        ("0.40", OidError::ArcRange),
        ("1..2", OidError::Syntax),
        ("1.2.", OidError::Syntax),
        ("1.a", OidError::Syntax),
        ("1.+2", OidError::Syntax),
        ("-1.2", OidError::Syntax),
    ] {
        assert_eq!(s.parse::<Oid>(), Err(e), "{s:?}");
    }
    assert_eq!(" 2.1.1 ".parse::<Oid>().unwrap(), known::BER);
    assert_eq!(Oid::from_arcs(&[1; 200]).unwrap_err(), OidError::TooLong);
    // An element carrying a malformed OID reports the element's offset and the name.
    let b = hex("05 00 06 02 2a 86");
    let mut r = Reader::new(&b, Layer::Acse);
    r.read().unwrap();
    let err = r.read().unwrap().oid("mechanism-name").unwrap_err();
    assert_eq!(err.offset, 2);
    assert_eq!(err.kind, ErrorKind::Invalid("mechanism-name"));
}

// ---------------------------------------------------------------- EXTERNAL

fn external_of(bytes: &[u8]) -> Result<External, guls_ber::DecodeError> {
    let e = Reader::new(bytes, Layer::Acse).read()?;
    External::decode(&e)
}

fn encode_external(x: &External, form: LengthForm) -> Vec<u8> {
    let mut w = Writer::with_form(form);
    x.encode(Tag::EXTERNAL, &mut w);
    w.into_bytes()
}

#[test]
fn external_single_asn1_type_from_golden_aarq() {
    // AARQ user-information from PEERS.md section 6 (libiec61850 CN): [30] { EXTERNAL }.
    let ui = hex(
        "be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c0000\
         0408000079ef18",
    );
    let outer = Reader::new(&ui, Layer::Acse).read().unwrap();
    assert_eq!(outer.tag, Tag::context(30).constructed());
    let mut r = outer.reader().unwrap();
    let ext_el = r.read_tagged(Tag::EXTERNAL, "EXTERNAL").unwrap();
    assert_eq!(ext_el.offset, 2);
    let x = External::decode(&ext_el).unwrap();
    assert_eq!(x.direct_reference, None);
    assert_eq!(x.indirect_reference, Some(3));
    assert_eq!(x.data_value_descriptor, None);
    let ExternalEncoding::SingleAsn1Type(v) = &x.encoding else {
        panic!("{:?}", x.encoding)
    };
    assert_eq!(v.len(), 40);
    assert_eq!(v[..2], [0xa8, 0x26]);
    assert_eq!(x.encoding.name(), "single-asn1-type");
    assert_eq!(x.encoding.data_len(), 40);
    assert_eq!(x, External::single_asn1(3, v.clone()));
    // Re-encoding reproduces the received octets.
    assert_eq!(encode_external(&x, LengthForm::Definite), ext_el.raw);
    // The indefinite writer form changes only the EXTERNAL's own length.
    let ind = encode_external(&x, LengthForm::Indefinite);
    assert_eq!(to_hex(&ind[..7]), "2880020103a028");
    assert_eq!(ind[ind.len() - 2..], [0, 0]);
    assert_eq!(external_of(&ind).unwrap(), x);
}

#[test]
fn external_single_asn1_type_indefinite_inner() {
    // RFC 1698 6.1 note: the [0] data may be of indefinite length.
    let b = hex("28 80 02 01 03 A0 80 30 80 05 00 00 00 00 00 00 00");
    let x = external_of(&b).unwrap();
    assert_eq!(
        x.encoding,
        ExternalEncoding::SingleAsn1Type(hex("30 80 05 00 00 00"))
    );
    // [0] must be constructed and hold exactly one value.
    assert!(external_of(&hex("28 05 02 01 03 80 00")).is_err());
    let err = external_of(&hex("28 09 02 01 03 A0 04 05 00 05 00")).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Trailing { .. }), "{err}");
    assert!(external_of(&hex("28 05 02 01 03 A0 00")).is_err());
}

#[test]
fn external_octet_aligned_with_direct_and_indirect_reference_and_descriptor() {
    let x = External {
        direct_reference: Some(known::BER),
        indirect_reference: Some(1),
        data_value_descriptor: Some(b"abc".to_vec()),
        encoding: ExternalEncoding::OctetAligned(b"hello".to_vec()),
    };
    let b = encode_external(&x, LengthForm::Definite);
    assert_eq!(to_hex(&b), "2813060251010201010703616263810568656c6c6f");
    assert_eq!(external_of(&b).unwrap(), x);
    assert_eq!(x.encoding.name(), "octet-aligned");

    // Direct reference only.
    let b = hex("28 0B 06 02 51 01 81 05 68 65 6C 6C 6F");
    let x = external_of(&b).unwrap();
    assert_eq!(x.direct_reference, Some(known::BER));
    assert_eq!(x.indirect_reference, None);
    assert_eq!(
        x.encoding,
        ExternalEncoding::OctetAligned(b"hello".to_vec())
    );

    // The "unnecessary" constructed octet-aligned encoding, with indefinite lengths.
    let b = hex("28 80 02 01 03 A1 80 04 02 68 65 04 03 6C 6C 6F 00 00 00 00");
    let x = external_of(&b).unwrap();
    assert_eq!(
        x.encoding,
        ExternalEncoding::OctetAligned(b"hello".to_vec())
    );
    assert_eq!(x.indirect_reference, Some(3));
    // A constructed descriptor is joined too.
    let b = hex("28 0C 02 01 03 27 04 04 02 61 62 81 01 00");
    let x = external_of(&b).unwrap();
    assert_eq!(x.data_value_descriptor, Some(b"ab".to_vec()));
}

#[test]
fn external_arbitrary() {
    let x = External {
        direct_reference: None,
        indirect_reference: Some(5),
        data_value_descriptor: None,
        encoding: ExternalEncoding::Arbitrary(BitString::from_named_bits(&[0, 1])),
    };
    let b = encode_external(&x, LengthForm::Definite);
    assert_eq!(to_hex(&b), "2807020105820206c0");
    let back = external_of(&b).unwrap();
    assert_eq!(back, x);
    assert_eq!(back.encoding.name(), "arbitrary");
    assert_eq!(back.encoding.data_len(), 1);
}

#[test]
fn external_errors() {
    // Missing encoding.
    let err = external_of(&hex("28 03 02 01 03")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Missing("EXTERNAL encoding"));
    assert_eq!(err.offset, 5);
    // Unknown encoding arm [3], and a universal tag in its place.
    let err = external_of(&hex("28 05 02 01 03 83 00")).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Unexpected { .. }));
    assert_eq!(err.offset, 5);
    assert!(external_of(&hex("28 05 02 01 03 04 00")).is_err());
    // Trailing element after the encoding.
    let err = external_of(&hex("28 07 02 01 03 81 00 05 00")).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Trailing { count: 2, .. }));
    // Indirect reference over 4 octets.
    let err = external_of(&hex("28 09 02 05 01 00 00 00 00 81 00")).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::IntegerTooLong { .. }));
    // Bad direct reference.
    assert!(external_of(&hex("28 05 06 01 86 81 00")).is_err());
    // Not constructed.
    assert!(external_of(&hex("08 00")).is_err());
}
