//! Exact-byte tests of the guls-ber reader, writer, tags, integers and bit strings.

use guls_ber::{
    BitString, Class, DEFAULT_MAX_DEPTH, DecodeError, ErrorKind, Layer, LengthForm, Reader, Tag,
    Writer, decode_integer, encode_length, integer_contents, length_len, parse_hex, to_hex,
};

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).expect("test hex")
}

fn read_one(bytes: &[u8]) -> Result<guls_ber::Element<'_>, DecodeError> {
    Reader::new(bytes, Layer::Presentation).read()
}

// ---------------------------------------------------------------- lengths

#[test]
fn short_form_length() {
    let b = hex("04 03 61 62 63");
    let e = read_one(&b).unwrap();
    assert_eq!(e.tag, Tag::OCTET_STRING);
    assert_eq!(e.contents, b"abc");
    assert_eq!(e.offset, 0);
    assert_eq!(e.content_offset, 2);
    assert_eq!(e.raw, &b[..]);
    assert!(!e.indefinite);
}

#[test]
fn short_form_127_is_accepted() {
    // R10: 7F is a valid short-form length.
    let mut b = hex("04 7F");
    b.extend(std::iter::repeat_n(0xAA, 127));
    let e = read_one(&b).unwrap();
    assert_eq!(e.contents.len(), 127);
    assert_eq!(e.content_offset, 2);
}

#[test]
fn long_form_minimal_and_non_minimal() {
    let mut b = hex("04 81 80");
    b.extend(std::iter::repeat_n(0x55, 128));
    let e = read_one(&b).unwrap();
    assert_eq!(e.contents.len(), 128);
    assert_eq!(e.content_offset, 3);

    // RFC 1698 4.3.2: 84 00 00 00 01 is a valid length 1.
    let b = hex("04 84 00 00 00 01 41");
    let e = read_one(&b).unwrap();
    assert_eq!(e.contents, [0x41]);
    assert_eq!(e.content_offset, 6);

    // A long form with a single octet for a small value.
    let b = hex("04 81 01 41");
    assert_eq!(read_one(&b).unwrap().contents, [0x41]);

    // Many leading zero octets still fit.
    let mut b = hex("04 90");
    b.extend([0u8; 15]);
    b.extend([0x02, 0x61, 0x62]);
    assert_eq!(read_one(&b).unwrap().contents, b"ab");
}

#[test]
fn constructed_with_three_octet_long_length() {
    let b = hex("A0 83 00 00 03 02 01 05");
    let e = read_one(&b).unwrap();
    assert_eq!(e.tag, Tag::context(0).constructed());
    assert_eq!(e.contents, hex("02 01 05"));
    assert_eq!(e.content_offset, 5);
    let mut r = e.reader().unwrap();
    let i = r.read().unwrap();
    assert_eq!(i.offset, 5);
    assert_eq!(i.content_offset, 7);
    assert_eq!(i.integer("x", 4).unwrap(), 5);
    assert!(r.is_empty());
    r.finish("contents").unwrap();
}

#[test]
fn length_beyond_64_bits_or_input_is_rejected() {
    let mut b = hex("04 89 01");
    b.extend([0u8; 8]);
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 0);
    assert!(matches!(err.kind, ErrorKind::BadLength(_)), "{err}");

    let b = hex("04 84 00 00 01");
    let err = read_one(&b).unwrap_err();
    assert!(
        matches!(
            err.kind,
            ErrorKind::Truncated {
                needed: 4,
                available: 3,
                ..
            }
        ),
        "{err}"
    );

    let b = hex("30 05 02 01");
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(
        err.kind,
        ErrorKind::Truncated {
            what: "element contents",
            needed: 5,
            available: 2
        }
    );
    let b = hex("30");
    assert!(matches!(
        read_one(&b).unwrap_err().kind,
        ErrorKind::Truncated { what: "length", .. }
    ));
}

#[test]
fn reserved_length_ff_is_rejected() {
    let b = hex("02 01 00 04 FF 00");
    let mut r = Reader::new(&b, Layer::Acse);
    r.read().unwrap();
    let err = r.read().unwrap_err();
    assert_eq!(err.layer, Layer::Acse);
    assert_eq!(err.offset, 3);
    assert_eq!(err.kind, ErrorKind::BadLength("reserved length octet FF"));
}

#[test]
fn indefinite_length() {
    let b = hex("30 80 02 01 05 00 00 05 00");
    let mut r = Reader::new(&b, Layer::Presentation);
    let e = r.read().unwrap();
    assert!(e.indefinite);
    assert_eq!(e.contents, hex("02 01 05"));
    assert_eq!(e.raw, &b[..7]);
    assert_eq!(e.content_offset, 2);
    let mut inner = e.reader().unwrap();
    assert_eq!(inner.read().unwrap().integer("i", 4).unwrap(), 5);
    assert!(inner.is_empty());
    let null = r.read().unwrap();
    assert_eq!(null.tag, Tag::NULL);
    assert_eq!(null.offset, 7);
    assert!(r.is_empty());
}

#[test]
fn indefinite_on_primitive_is_rejected() {
    let b = hex("04 80 41 00 00");
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 0);
    assert!(matches!(err.kind, ErrorKind::BadLength(_)));
    // Also when met while scanning an enclosing indefinite element.
    let b = hex("30 80 04 80 41 00 00 00 00");
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 2);
    assert!(matches!(err.kind, ErrorKind::BadLength(_)));
}

#[test]
fn indefinite_without_end_of_contents_is_truncated() {
    let b = hex("30 80 02 01 05");
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 5);
    assert!(matches!(
        err.kind,
        ErrorKind::Truncated {
            what: "end-of-contents octets",
            ..
        }
    ));
    // A definite child overrunning the input inside an indefinite element.
    let b = hex("30 80 04 05 41 00 00");
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 2);
    assert!(matches!(err.kind, ErrorKind::Truncated { needed: 5, .. }));
}

#[test]
fn end_of_contents_where_an_element_is_expected() {
    // EOC inside a definite-length element.
    let b = hex("30 05 02 01 05 00 00");
    let e = read_one(&b).unwrap();
    let mut r = e.reader().unwrap();
    r.read().unwrap();
    let err = r.read().unwrap_err();
    assert_eq!(err.offset, 5);
    assert!(matches!(err.kind, ErrorKind::Unexpected { .. }), "{err}");
    // EOC at the top level.
    let b = hex("00 00");
    assert!(matches!(
        read_one(&b).unwrap_err().kind,
        ErrorKind::Unexpected { .. }
    ));
}

#[test]
fn nested_indefinite_lengths() {
    let b = hex("30 80 A1 80 04 01 41 00 00 00 00");
    let outer = read_one(&b).unwrap();
    assert_eq!(outer.raw.len(), b.len());
    assert_eq!(outer.contents, hex("A1 80 04 01 41 00 00"));
    let mut r = outer.reader().unwrap();
    let inner = r.read().unwrap();
    assert!(inner.indefinite);
    assert_eq!(inner.offset, 2);
    assert_eq!(inner.content_offset, 4);
    assert_eq!(inner.contents, hex("04 01 41"));
    let leaf = inner.reader().unwrap().read().unwrap();
    assert_eq!(leaf.offset, 4);
    assert_eq!(leaf.content_offset, 6);
    assert_eq!(leaf.contents, [0x41]);
    assert!(r.is_empty());

    // A definite element inside an indefinite one whose contents look like EOC.
    let b = hex("30 80 04 02 00 00 00 00");
    let e = read_one(&b).unwrap();
    assert_eq!(e.contents, hex("04 02 00 00"));
}

fn nested_indefinite(levels: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(levels * 4);
    for _ in 0..levels {
        b.extend([0x30, 0x80]);
    }
    for _ in 0..levels {
        b.extend([0x00, 0x00]);
    }
    b
}

fn nested_definite(levels: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for _ in 0..levels {
        let mut outer = vec![0x30];
        encode_length(b.len(), &mut outer);
        outer.extend_from_slice(&b);
        b = outer;
    }
    b
}

/// Opens constructed elements until the innermost; returns the levels opened.
fn walk_down(bytes: &[u8], max_depth: usize) -> Result<usize, DecodeError> {
    let mut r = Reader::new(bytes, Layer::Acse).with_max_depth(max_depth);
    let mut levels = 0;
    loop {
        let e = r.read()?;
        levels += 1;
        if e.contents.is_empty() {
            return Ok(levels);
        }
        r = e.reader()?;
    }
}

#[test]
fn depth_limit() {
    // Contents deeper than max_depth are never walked, in either length form.
    assert_eq!(walk_down(&nested_indefinite(3), 3).unwrap(), 3);
    let err = walk_down(&nested_indefinite(4), 3).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooDeep { limit: 3 });
    assert_eq!(walk_down(&nested_definite(4), 3).unwrap(), 4);
    let err = walk_down(&nested_definite(5), 3).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooDeep { limit: 3 });
    assert_eq!(err.offset, 6);

    let ok = nested_indefinite(DEFAULT_MAX_DEPTH);
    assert_eq!(
        walk_down(&ok, DEFAULT_MAX_DEPTH).unwrap(),
        DEFAULT_MAX_DEPTH
    );
    let deep = nested_indefinite(DEFAULT_MAX_DEPTH + 1);
    let err = Reader::new(&deep, Layer::Session).read().unwrap_err();
    assert_eq!(err.layer, Layer::Session);
    assert_eq!(
        err.kind,
        ErrorKind::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        }
    );
    assert_eq!(err.offset, 2 * DEFAULT_MAX_DEPTH);
}

#[test]
fn very_deep_indefinite_nesting_does_not_exhaust_the_stack() {
    // With no practical depth limit the end-of-contents scan must still be iterative.
    let deep = nested_indefinite(200_000);
    let e = Reader::new(&deep, Layer::Acse)
        .with_max_depth(usize::MAX)
        .read()
        .unwrap();
    assert_eq!(e.raw.len(), deep.len());
    let err = Reader::new(&deep, Layer::Acse).read().unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        }
    );
}

#[test]
fn reader_base_and_error_helpers() {
    let b = hex("02 01 05 30 03 02");
    let mut r = Reader::new(&b, Layer::Presentation).with_base(100);
    assert_eq!(r.position(), 100);
    assert_eq!(r.peek_tag().unwrap(), Some(Tag::INTEGER));
    let i = r.read().unwrap();
    assert_eq!(i.offset, 100);
    assert_eq!(i.content_offset, 102);
    assert_eq!(r.position(), 103);
    assert_eq!(r.remaining(), hex("30 03 02"));
    let err = r.read().unwrap_err();
    assert_eq!(err.offset, 103);
    assert_eq!(err.clone().shifted(7).offset, 110);
    assert_eq!(err.clone().in_layer(Layer::Acse).layer, Layer::Acse);
    assert_eq!(
        err.to_string(),
        "presentation decode error at offset 103: truncated: element contents needs 3 octets, 1 present"
    );
}

#[test]
fn read_tagged_optional_and_finish() {
    let b = hex("02 01 05 A0 00");
    let mut r = Reader::new(&b, Layer::Acse);
    let err = r.clone().read_tagged(Tag::OID, "oid").unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(
        err.kind,
        ErrorKind::Unexpected {
            expected: "oid",
            found: "[UNIVERSAL 2]p".into()
        }
    );
    assert!(r.read_optional(Tag::OID).unwrap().is_none());
    assert_eq!(r.read_tagged(Tag::INTEGER, "int").unwrap().contents, [5]);
    let err = r.finish("test").unwrap_err();
    assert_eq!(err.offset, 3);
    assert_eq!(
        err.kind,
        ErrorKind::Trailing {
            what: "test",
            count: 2
        }
    );
    // read_optional matches class and number in either form.
    let e = r.read_optional(Tag::context(0)).unwrap().unwrap();
    assert!(e.tag.constructed);
    assert_eq!(e.offset, 3);
    assert_eq!(
        r.read_tagged(Tag::NULL, "null").unwrap_err().kind,
        ErrorKind::Missing("null")
    );
    assert!(r.read().is_err());
    r.finish("test").unwrap();
    // reader() on a primitive element fails.
    let b = hex("04 00");
    assert!(read_one(&b).unwrap().reader().is_err());
}

// ---------------------------------------------------------------- tags

#[test]
fn two_and_three_octet_tags() {
    let b = hex("9F 1F 01 41");
    let e = read_one(&b).unwrap();
    assert_eq!(e.tag, Tag::context(31));
    assert_eq!(e.content_offset, 3);
    assert_eq!(e.contents, [0x41]);

    let b = hex("7F 81 00 00");
    let e = read_one(&b).unwrap();
    assert_eq!(e.tag, Tag::application(128).constructed());
    assert_eq!(e.tag.class, Class::Application);

    // SIA 10.1: tag numbers up to 16,383 (three identifier octets).
    let b = hex("DF FF 7F 00");
    let e = read_one(&b).unwrap();
    assert_eq!(e.tag.class, Class::Private);
    assert_eq!(e.tag.number, 16383);
    assert_eq!(e.content_offset, 4);
}

#[test]
fn four_octet_tag_and_leading_zero_septet_are_rejected() {
    let b = hex("9F 81 80 01 00");
    let err = read_one(&b).unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(
        err.kind,
        ErrorKind::LimitExceeded {
            what: "identifier octets",
            limit: 3
        }
    );
    let b = hex("9F 80 01 00");
    assert!(matches!(
        read_one(&b).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    let b = hex("9F 81");
    assert!(matches!(
        read_one(&b).unwrap_err().kind,
        ErrorKind::Truncated {
            what: "identifier",
            ..
        }
    ));
    // peek_tag reports the same error.
    let b = hex("9F 81 80 01 00");
    assert!(Reader::new(&b, Layer::Acse).peek_tag().is_err());
}

#[test]
fn tag_encoding() {
    let cases: &[(Tag, &str)] = &[
        (Tag::INTEGER, "02"),
        (Tag::SEQUENCE, "30"),
        (Tag::EXTERNAL, "28"),
        (Tag::context(30).constructed(), "be"),
        (Tag::context(31), "9f1f"),
        (Tag::application(127), "5f7f"),
        (Tag::application(128).constructed(), "7f8100"),
        (Tag::context(16383), "9fff7f"),
    ];
    for &(tag, want) in cases {
        let mut out = Vec::new();
        tag.encode(&mut out);
        assert_eq!(to_hex(&out), want, "{tag}");
        assert_eq!(tag.encoded_len(), out.len());
        out.push(0);
        assert_eq!(read_one(&out).unwrap().tag, tag);
    }
    assert_eq!(Tag::context(3).constructed().to_string(), "[3]c");
    assert!(Tag::context(3).same_number(Tag::context(3).constructed()));
    assert!(!Tag::context(3).same_number(Tag::application(3)));
}

// ---------------------------------------------------------------- integers

#[test]
fn integer_minimal_encodings() {
    let cases: &[(i64, &str)] = &[
        (0, "020100"),
        (127, "02017f"),
        (128, "02020080"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (256, "02020100"),
        (-1, "0201ff"),
        (0x7FFF_FFFF, "02047fffffff"),
        (i64::MIN, "02088000000000000000"),
    ];
    for &(v, want) in cases {
        let mut w = Writer::new();
        w.integer(Tag::INTEGER, v);
        assert_eq!(to_hex(w.as_bytes()), want, "{v}");
        let (c, n) = integer_contents(v);
        assert_eq!(n, w.len() - 2);
        assert_eq!(&c[..n], &w.as_bytes()[2..]);
        let bytes = w.into_bytes();
        assert_eq!(read_one(&bytes).unwrap().integer("v", 8).unwrap(), v);
    }
}

#[test]
fn integer_four_octet_limit() {
    let read4 = |s: &str| {
        let b = hex(s);
        read_one(&b).unwrap().integer("pcid", 4)
    };
    assert_eq!(read4("02 04 7F FF FF FF").unwrap(), 0x7FFF_FFFF);
    assert_eq!(read4("02 04 80 00 00 00").unwrap(), -0x8000_0000);
    // A leading 00 that only carries the sign is allowed beyond the limit.
    assert_eq!(read4("02 05 00 80 00 00 00").unwrap(), 0x8000_0000);
    assert_eq!(read4("02 05 00 FF FF FF FF").unwrap(), 0xFFFF_FFFF);
    let err = read4("02 05 01 00 00 00 00").unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::IntegerTooLong {
            what: "pcid",
            max_octets: 4
        }
    );
    assert!(read4("02 05 00 00 80 00 00").is_err());
    // Non-minimal but within the limit: accepted (lenient receiver).
    assert_eq!(read4("02 02 00 05").unwrap(), 5);
    assert_eq!(read4("02 00").unwrap_err().kind, ErrorKind::Invalid("pcid"));
    assert!(read4("22 01 05").is_err());
    // Two-octet pcids (R8).
    assert_eq!(read4("02 02 00 81").unwrap(), 129);
    assert_eq!(read4("02 02 7F FF").unwrap(), 32767);

    assert_eq!(decode_integer(&[0xFF, 0x7F], 2), Ok(-129));
    assert!(decode_integer(&[0; 9], 8).is_err());
    let b = hex("02 01 FF");
    let e = read_one(&b).unwrap();
    assert_eq!(
        e.unsigned("u", 4).unwrap_err().kind,
        ErrorKind::Invalid("u")
    );
    let b = hex("02 02 00 FF");
    assert_eq!(read_one(&b).unwrap().unsigned("u", 4).unwrap(), 255);
}

#[test]
fn boolean() {
    let b = hex("01 01 FF 01 01 00 01 01 01 01 02 00 00");
    let mut r = Reader::new(&b, Layer::Acse);
    assert!(r.read().unwrap().boolean("b").unwrap());
    assert!(!r.read().unwrap().boolean("b").unwrap());
    assert!(r.read().unwrap().boolean("b").unwrap());
    assert!(r.read().unwrap().boolean("b").is_err());
}

// ---------------------------------------------------------------- strings

#[test]
fn constructed_octet_string_one_level() {
    let b = hex("04 03 61 62 63");
    let v = read_one(&b).unwrap().octets("s").unwrap();
    assert!(matches!(v, std::borrow::Cow::Borrowed(_)));
    assert_eq!(&*v, b"abc");

    for s in [
        "24 07 04 02 61 62 04 01 63",
        "24 80 04 02 61 62 04 01 63 00 00",
        "24 80 04 02 61 62 04 80 00 00 04 01 63 00 00",
        "24 81 08 04 02 61 62 04 81 01 63",
    ] {
        let b = hex(s);
        let e = read_one(&b);
        match e {
            Ok(e) => assert_eq!(&*e.octets("s").unwrap(), b"abc", "{s}"),
            Err(err) => {
                // Only the variant with an indefinite primitive piece is malformed.
                assert!(s.contains("04 80"), "{s}: {err}");
                assert!(matches!(err.kind, ErrorKind::BadLength(_)));
            }
        }
    }
    // Character strings use 04 pieces too (RFC 1698 4.5).
    let b = hex("33 06 04 01 41 04 01 42");
    assert_eq!(&*read_one(&b).unwrap().octets("p").unwrap(), b"AB");
    // An empty constructed string.
    let b = hex("24 00");
    assert!(read_one(&b).unwrap().octets("s").unwrap().is_empty());
}

#[test]
fn constructed_octet_string_two_levels_rejected() {
    let b = hex("24 09 24 03 04 01 61 04 02 62 63");
    let err = read_one(&b).unwrap().octets("s").unwrap_err();
    assert_eq!(err.offset, 2);
    assert!(matches!(err.kind, ErrorKind::Unexpected { .. }));
}

#[test]
fn bit_string_named_bits() {
    // ACSE protocol-version {version1(0)}: 80 02 07 80.
    let b = hex("80 02 07 80");
    let bits = read_one(&b).unwrap().bit_string("pv").unwrap();
    assert_eq!(bits.unused_bits, 7);
    assert_eq!(bits.bit_len(), 1);
    assert!(bits.bit(0));
    assert!(!bits.bit(1));
    assert_eq!(bits, BitString::from_named_bits(&[0]));
    let mut w = Writer::new();
    w.bit_string(Tag::context(0), &bits);
    assert_eq!(to_hex(w.as_bytes()), "80020780");

    // libiec61850 sender-acse-requirements: 8a 02 04 80 (bit 0, four named bits encoded).
    let b = hex("8a 02 04 80");
    let bits = read_one(&b).unwrap().bit_string("req").unwrap();
    assert_eq!(bits.bit_len(), 4);
    assert_eq!(bits.set_bits(), vec![0]);
    // Unknown bits are readable and simply ignored by callers; bits past the end read false.
    assert!(!bits.bit(100));

    let b = hex("03 03 05 A5 E0");
    let bits = read_one(&b).unwrap().bit_string("x").unwrap();
    assert_eq!(bits.bit_len(), 11);
    assert_eq!(bits.set_bits(), vec![0, 2, 5, 7, 8, 9, 10]);

    let named = BitString::from_named_bits(&[1, 9]);
    assert_eq!(named.unused_bits, 6);
    assert_eq!(named.bytes, vec![0x40, 0x40]);
    assert_eq!(named.set_bits(), vec![1, 9]);
    assert_eq!(BitString::from_named_bits(&[7]).unused_bits, 0);
    let empty = BitString::from_named_bits(&[]);
    let mut w = Writer::new();
    w.bit_string(Tag::BIT_STRING, &empty);
    assert_eq!(to_hex(w.as_bytes()), "030100");
    assert_eq!(BitString::from_bytes(vec![0xFF]).bit_len(), 8);
}

#[test]
fn bit_string_malformed_and_constructed() {
    for s in ["03 00", "03 01 07", "03 02 08 00", "23 03 03 01 07"] {
        let b = hex(s);
        assert!(
            read_one(&b).unwrap().bit_string("b").is_err(),
            "{s} must be rejected"
        );
    }
    let b = hex("23 80 03 02 00 F0 03 02 04 A0 00 00");
    let bits = read_one(&b).unwrap().bit_string("b").unwrap();
    assert_eq!(bits.bytes, vec![0xF0, 0xA0]);
    assert_eq!(bits.unused_bits, 4);
    // A segment after one with unused bits.
    let b = hex("23 08 03 02 04 F0 03 02 00 A0");
    let err = read_one(&b).unwrap().bit_string("b").unwrap_err();
    assert_eq!(err.offset, 6);
    // Two levels of construction.
    let b = hex("23 06 23 04 03 02 00 F0");
    assert!(read_one(&b).unwrap().bit_string("b").is_err());
}

// ---------------------------------------------------------------- writer

#[test]
fn definite_lengths() {
    for (len, want) in [
        (0usize, "00"),
        (127, "7f"),
        (128, "8180"),
        (255, "81ff"),
        (256, "820100"),
        (65535, "82ffff"),
        (65536, "83010000"),
        (0x0100_0000, "8401000000"),
    ] {
        let mut out = Vec::new();
        encode_length(len, &mut out);
        assert_eq!(to_hex(&out), want, "{len}");
        assert_eq!(length_len(len), out.len());
    }
}

#[test]
fn writer_definite_and_indefinite_forms() {
    let build = |form| {
        let mut w = Writer::with_form(form);
        assert_eq!(w.form(), form);
        w.constructed(Tag::SEQUENCE, |w| {
            w.integer(Tag::INTEGER, 3);
            w.constructed(Tag::context(0), |w| w.primitive(Tag::OCTET_STRING, b"hi"));
        });
        w.into_bytes()
    };
    assert_eq!(
        to_hex(&build(LengthForm::Definite)),
        "3009020103a00404026869"
    );
    assert_eq!(
        to_hex(&build(LengthForm::Indefinite)),
        "3080020103a08004026869000000 00".replace(' ', "")
    );
    assert_eq!(LengthForm::default(), LengthForm::Definite);

    // A definite length that grows past one octet is spliced in correctly.
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        w.primitive(Tag::OCTET_STRING, &[7u8; 200])
    });
    let b = w.into_bytes();
    assert_eq!(to_hex(&b[..6]), "3081cb0481c8");
    assert_eq!(b.len(), 3 + 203);
    let e = read_one(&b).unwrap();
    assert_eq!(e.raw.len(), b.len());
    assert_eq!(
        e.reader().unwrap().read().unwrap().contents,
        &[7u8; 200][..]
    );

    // Explicit forms whatever the writer's own form.
    let mut w = Writer::with_form(LengthForm::Indefinite);
    w.constructed_definite(Tag::SET, |w| w.primitive(Tag::NULL, &[]));
    let mut v = Writer::from_vec(vec![0xAA], LengthForm::Definite);
    v.constructed_indefinite(Tag::SET, |w| w.boolean(Tag::BOOLEAN, true));
    assert_eq!(to_hex(w.as_bytes()), "31020500");
    assert_eq!(to_hex(v.as_bytes()), "aa31800101ff0000");
    assert!(!v.is_empty());
    assert!(Writer::new().is_empty());

    // primitive() forces the primitive form.
    let mut w = Writer::new();
    w.primitive(Tag::context(2).constructed(), &[1]);
    w.raw(&[0xEE]);
    assert_eq!(to_hex(w.as_bytes()), "820101ee");
}

#[test]
fn primitive_long_form() {
    // RFC 1698 6.4 data header: 81 83 yy yy yy.
    let mut w = Writer::new();
    w.primitive_long_form(Tag::context(1), b"abc", 3);
    assert_eq!(to_hex(w.as_bytes()), "818300000361626 3".replace(' ', ""));
    let b = w.into_bytes();
    let e = read_one(&b).unwrap();
    assert_eq!(e.contents, b"abc");
    assert_eq!(e.content_offset, 5);

    // The tag is forced primitive.
    let mut w = Writer::new();
    w.primitive_long_form(Tag::context(1).constructed(), &[], 1);
    assert_eq!(to_hex(w.as_bytes()), "818100");

    // A length that does not fit the requested octets uses the minimum that holds it.
    let mut w = Writer::new();
    w.primitive_long_form(Tag::OCTET_STRING, &[0u8; 300], 1);
    let b = w.into_bytes();
    assert_eq!(to_hex(&b[..4]), "0482012c");
    assert_eq!(read_one(&b).unwrap().contents.len(), 300);

    let mut w = Writer::new();
    w.long_form_length(5, 0);
    w.long_form_length(5, 12);
    assert_eq!(to_hex(w.as_bytes()), "8105880000000000000005");
}

#[test]
fn parse_hex_and_to_hex() {
    assert_eq!(parse_hex("03 00:00 0B\n").unwrap(), vec![3, 0, 0, 0x0b]);
    assert!(parse_hex("030").is_err());
    assert!(parse_hex("+1").is_err());
    assert!(parse_hex("zz").is_err());
    assert!(parse_hex("é1").is_err());
    assert_eq!(to_hex(&[0x00, 0xAB, 0xFF]), "00abff");
}
