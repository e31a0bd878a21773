//! Directory names: reading them from certificates (x509-parser), comparing them, writing them.
//!
//! # Comparison rule
//!
//! [`names_match`] compares two `RDNSequence`s the way this project binds AP-titles to
//! certificates:
//!
//! - the same number of RDNs, compared in order (most significant first);
//! - each RDN pair: the same number of attributes, and each attribute of one matches a distinct
//!   attribute of the other (an RDN is a SET; order inside it does not matter);
//! - an attribute pair matches when the attribute types (OIDs) are equal and the values match:
//!   - both values are character strings (UTF8String, PrintableString, IA5String,
//!     VisibleString, NumericString, TeletexString and GraphicString read as Latin-1, BMPString,
//!     UniversalString; the string type itself does not matter, so a PrintableString matches a
//!     UTF8String): equal after the normalisation of [`normalise`], a simplification of X.520
//!     caseIgnoreMatch (RFC 4518 string preparation without its Unicode normalisation and
//!     prohibited-character steps);
//!   - otherwise: the complete encodings are equal octet for octet.
//!
//! caseIgnoreMatch is applied to every string-valued attribute, including the few whose X.520
//! matching rule is caseExactMatch; no attribute used in AE-titles has one.

use guls_acse::{AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName};
use guls_ber::{Class, Oid, Tag, Writer};

/// The normalised form of a string value for matching: leading and trailing white space
/// removed, every inner run of white space (Unicode `White_Space`) replaced by one space, then
/// lower-cased (Unicode full lower-case mapping).
pub fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether two Directory names are equal under this project's rule (see the module docs).
pub fn names_match(a: &DistinguishedName, b: &DistinguishedName) -> bool {
    a.0.len() == b.0.len() && a.0.iter().zip(&b.0).all(|(x, y)| rdns_match(x, y))
}

/// Whether two RDNs are equal: same size, and a one-to-one matching of their attributes.
pub(crate) fn rdns_match(a: &RelativeDistinguishedName, b: &RelativeDistinguishedName) -> bool {
    if a.0.len() != b.0.len() {
        return false;
    }
    let mut used = vec![false; b.0.len()];
    a.0.iter().all(|x| {
        let found =
            b.0.iter()
                .enumerate()
                .find(|(i, y)| !used[*i] && attributes_match(x, y));
        match found {
            Some((i, _)) => {
                used[i] = true;
                true
            }
            None => false,
        }
    })
}

fn attributes_match(a: &AttributeTypeAndValue, b: &AttributeTypeAndValue) -> bool {
    if a.attribute_type != b.attribute_type {
        return false;
    }
    match (a.display_value(), b.display_value()) {
        (Some(x), Some(y)) => normalise(&x) == normalise(&y),
        _ => a.value == b.value,
    }
}

fn convert_class(c: x509_parser::asn1_rs::Class) -> Class {
    use x509_parser::asn1_rs::Class as C;
    match c {
        C::Universal => Class::Universal,
        C::Application => Class::Application,
        C::ContextSpecific => Class::Context,
        C::Private => Class::Private,
    }
}

/// Converts a name read by x509-parser; values keep their type and contents.
pub(crate) fn dn_from_x509(
    name: &x509_parser::x509::X509Name<'_>,
) -> Result<DistinguishedName, String> {
    let mut rdns = Vec::new();
    for rdn in name.iter_rdn() {
        let mut avas = Vec::new();
        for a in rdn.iter() {
            let attribute_type = Oid::from_content(a.attr_type().as_bytes())
                .map_err(|e| format!("attribute type: {e}"))?;
            let v = a.attr_value();
            let tag = Tag {
                class: convert_class(v.class()),
                constructed: v.header.constructed(),
                number: v.tag().0,
            };
            let mut w = Writer::new();
            if tag.constructed {
                w.constructed_definite(tag, |w| w.raw(v.data));
            } else {
                w.primitive(tag, v.data);
            }
            avas.push(AttributeTypeAndValue {
                attribute_type,
                value: w.into_bytes(),
            });
        }
        rdns.push(RelativeDistinguishedName(avas));
    }
    Ok(DistinguishedName(rdns))
}

/// The short name this crate's policy files use for an attribute type, if it has one, by the
/// OID's contents octets (a valid OID has one encoding, so these are exactly the arcs below).
fn short_name(oid: &Oid) -> Option<&'static str> {
    Some(match oid.as_bytes() {
        // 2.5.4.x: 2 * 40 + 5 = 0x55, 4, x.
        [0x55, 0x04, x] => match x {
            3 => "CN",
            4 => "SN",
            5 => "SERIALNUMBER",
            6 => "C",
            7 => "L",
            8 => "ST",
            9 => "STREET",
            10 => "O",
            11 => "OU",
            _ => return None,
        },
        // 0.9.2342.19200300.100.1.25 (domainComponent).
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        _ => return None,
    })
}

/// Appends `c` (the `i`-th character of a value, `last` when no other follows) as
/// [`format_dn`] writes it: the RFC 4514 special characters, and `#` or a space first, after
/// a `\`; a space last as `\ ` (after the escape a first character already had).
fn push_escaped(out: &mut String, i: usize, c: char, last: bool) {
    if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
        || (i == 0 && matches!(c, '#' | ' '))
    {
        out.push('\\');
    }
    if c == ' ' && last {
        out.push_str("\\ ");
    } else {
        out.push(c);
    }
}

/// Appends the characters of `chars` escaped ([`push_escaped`]); `false` (with `out` as it
/// was) as soon as one is `None` (not a character).
fn push_chars(out: &mut String, chars: impl Iterator<Item = Option<char>>) -> bool {
    let start = out.len();
    let mut chars = chars.enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let Some(c) = c else {
            out.truncate(start);
            return false;
        };
        push_escaped(out, i, c, chars.peek().is_none());
    }
    true
}

/// Appends an attribute value as text when it is one of the strings
/// [`AttributeTypeAndValue::display_value`] renders (the same decision, without its
/// `String`); `false`, with `out` as it was, otherwise.
fn push_value_text(out: &mut String, value: &[u8]) -> bool {
    let mut r = guls_ber::Reader::new(value, guls_ber::Layer::Acse);
    let Ok(e) = r.read() else {
        return false;
    };
    if e.tag.class != Class::Universal || e.tag.constructed || !r.is_empty() {
        return false;
    }
    let c = e.contents;
    match e.tag.number {
        // UTF8String; NumericString, PrintableString, IA5String, VisibleString.
        12 | 18 | 19 | 22 | 26 => match std::str::from_utf8(c) {
            Ok(s) => push_chars(out, s.chars().map(Some)),
            Err(_) => false,
        },
        // TeletexString, GraphicString: Latin-1.
        20 | 25 => push_chars(out, c.iter().map(|&b| Some(b as char))),
        // BMPString: UTF-16, big-endian.
        30 if c.len() % 2 == 0 => push_chars(
            out,
            char::decode_utf16(c.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])))
                .map(Result::ok),
        ),
        // UniversalString: UCS-4, big-endian.
        28 if c.len() % 4 == 0 => push_chars(
            out,
            c.chunks_exact(4)
                .map(|p| char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]]))),
        ),
        _ => false,
    }
}

/// A name as text in the form policy files use (RFC 4514 order: the most specific RDN first,
/// `,` between RDNs, `+` inside one, short names CN, O, OU, C, L, ST, SN, SERIALNUMBER, STREET,
/// DC, other types as dotted OIDs, special characters escaped with `\`; values that are not
/// strings as `#` and their encoding in hex), e.g. `CN=guls-demo-responder,O=guls demo`.
///
/// Written into one `String`: string values straight from their encoding, without a `String`
/// of their own.
pub fn format_dn(dn: &DistinguishedName) -> String {
    use std::fmt::Write as _;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::new();
    for (i, rdn) in dn.0.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, a) in rdn.0.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match short_name(&a.attribute_type) {
                Some(s) => out.push_str(s),
                // Writing to a String cannot fail.
                None => {
                    let _ = write!(out, "{}", a.attribute_type);
                }
            }
            out.push('=');
            if !push_value_text(&mut out, &a.value) {
                out.push('#');
                for &b in &a.value {
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0x0f)] as char);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(oid: &str, v: &str) -> AttributeTypeAndValue {
        let mut w = Writer::new();
        w.primitive(Tag::UTF8_STRING, v.as_bytes());
        AttributeTypeAndValue {
            attribute_type: oid.parse().unwrap(),
            value: w.into_bytes(),
        }
    }

    fn printable(oid: &str, v: &str) -> AttributeTypeAndValue {
        AttributeTypeAndValue::printable(oid.parse().unwrap(), v)
    }

    fn dn(rdns: Vec<Vec<AttributeTypeAndValue>>) -> DistinguishedName {
        DistinguishedName(rdns.into_iter().map(RelativeDistinguishedName).collect())
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise("  Guls   Demo\t "), "guls demo");
        assert_eq!(normalise("ÄBC"), "äbc");
    }

    #[test]
    fn matching() {
        let a = dn(vec![
            vec![utf8("2.5.4.10", "guls demo")],
            vec![utf8("2.5.4.3", "guls-demo-responder")],
        ]);
        let b = dn(vec![
            vec![printable("2.5.4.10", " GULS  demo")],
            vec![printable("2.5.4.3", "Guls-Demo-Responder")],
        ]);
        assert!(names_match(&a, &b));
        let reordered = dn(vec![
            vec![utf8("2.5.4.3", "guls-demo-responder")],
            vec![utf8("2.5.4.10", "guls demo")],
        ]);
        assert!(!names_match(&a, &reordered));
        let other_type = dn(vec![
            vec![utf8("2.5.4.11", "guls demo")],
            vec![utf8("2.5.4.3", "guls-demo-responder")],
        ]);
        assert!(!names_match(&a, &other_type));
        let multi1 = dn(vec![vec![utf8("2.5.4.3", "x"), utf8("2.5.4.11", "y")]]);
        let multi2 = dn(vec![vec![utf8("2.5.4.11", "Y"), utf8("2.5.4.3", "X")]]);
        let multi3 = dn(vec![vec![utf8("2.5.4.3", "x"), utf8("2.5.4.3", "x")]]);
        assert!(names_match(&multi1, &multi2));
        assert!(!names_match(&multi1, &multi3));
        assert!(!names_match(&a, &dn(vec![])));
        // Non-string values compare octet for octet.
        let raw = |v: &[u8]| {
            dn(vec![vec![AttributeTypeAndValue {
                attribute_type: "2.5.4.3".parse().unwrap(),
                value: v.to_vec(),
            }]])
        };
        assert!(names_match(&raw(&[2, 1, 5]), &raw(&[2, 1, 5])));
        assert!(!names_match(&raw(&[2, 1, 5]), &raw(&[2, 1, 6])));
    }

    #[test]
    fn formatting() {
        let a = dn(vec![
            vec![utf8("2.5.4.10", "guls demo")],
            vec![utf8("2.5.4.3", "a,b"), utf8("1.2.3.4", "x")],
        ]);
        assert_eq!(format_dn(&a), "CN=a\\,b+1.2.3.4=x,O=guls demo");
    }

    /// `format_dn` as it was written before it wrote into one `String` (a `String` per value,
    /// per attribute and per RDN, short names by `Oid::arcs`): the reference the cheaper one
    /// must equal.
    fn format_dn_before(dn: &DistinguishedName) -> String {
        fn short_name(oid: &Oid) -> Option<&'static str> {
            let arcs = oid.arcs();
            Some(match arcs.as_slice() {
                [2, 5, 4, 3] => "CN",
                [2, 5, 4, 4] => "SN",
                [2, 5, 4, 5] => "SERIALNUMBER",
                [2, 5, 4, 6] => "C",
                [2, 5, 4, 7] => "L",
                [2, 5, 4, 8] => "ST",
                [2, 5, 4, 9] => "STREET",
                [2, 5, 4, 10] => "O",
                [2, 5, 4, 11] => "OU",
                [0, 9, 2342, 19200300, 100, 1, 25] => "DC",
                _ => return None,
            })
        }
        fn escape(v: &str) -> String {
            let mut out = String::with_capacity(v.len());
            for (i, c) in v.chars().enumerate() {
                let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
                    || (i == 0 && matches!(c, '#' | ' '));
                if special {
                    out.push('\\');
                }
                out.push(c);
            }
            if out.ends_with(' ') {
                out.pop();
                out.push_str("\\ ");
            }
            out
        }
        let rdns: Vec<String> =
            dn.0.iter()
                .rev()
                .map(|rdn| {
                    rdn.0
                        .iter()
                        .map(|a| {
                            let ty = short_name(&a.attribute_type)
                                .map(str::to_string)
                                .unwrap_or_else(|| a.attribute_type.to_string());
                            match a.display_value() {
                                Some(v) => format!("{ty}={}", escape(&v)),
                                None => format!("{ty}=#{}", guls_ber::to_hex(&a.value)),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("+")
                })
                .collect();
        rdns.join(",")
    }

    fn raw(oid: &str, value: &[u8]) -> AttributeTypeAndValue {
        AttributeTypeAndValue {
            attribute_type: oid.parse().unwrap(),
            value: value.to_vec(),
        }
    }

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        w.primitive(Tag::universal(u32::from(tag)), contents);
        w.into_bytes()
    }

    fn cn(value: &[u8]) -> DistinguishedName {
        dn(vec![vec![raw("2.5.4.3", value)]])
    }

    /// Every short name, escapes at the start, inside and at the end, multi-valued RDNs,
    /// unknown types, and each string type, against the text expected and the reference.
    #[test]
    fn formatting_cases() {
        let cases: Vec<(DistinguishedName, &str)> = vec![
            (dn(vec![]), ""),
            (
                dn(vec![
                    vec![printable("0.9.2342.19200300.100.1.25", "org")],
                    vec![printable("2.5.4.6", "DE")],
                    vec![printable("2.5.4.8", "Bayern")],
                    vec![printable("2.5.4.7", "Muenchen")],
                    vec![printable("2.5.4.9", "Weg 1")],
                    vec![printable("2.5.4.10", "O")],
                    vec![printable("2.5.4.11", "OU")],
                    vec![printable("2.5.4.4", "Surname")],
                    vec![printable("2.5.4.5", "1234")],
                    vec![printable("2.5.4.3", "cn")],
                ]),
                "CN=cn,SERIALNUMBER=1234,SN=Surname,OU=OU,O=O,STREET=Weg 1,L=Muenchen,ST=Bayern,C=DE,DC=org",
            ),
            // Each special character, first and elsewhere; '#' and ' ' only first.
            (
                dn(vec![vec![utf8("2.5.4.3", r#",+"<>;=\#x# y"#)]]),
                r#"CN=\,\+\"\<\>\;\=\\#x# y"#,
            ),
            (dn(vec![vec![utf8("2.5.4.3", "#a")]]), r"CN=\#a"),
            (dn(vec![vec![utf8("2.5.4.3", " a")]]), r"CN=\ a"),
            (dn(vec![vec![utf8("2.5.4.3", "a ")]]), r"CN=a\ "),
            (dn(vec![vec![utf8("2.5.4.3", " ")]]), r"CN=\\ "),
            (dn(vec![vec![utf8("2.5.4.3", "  ")]]), r"CN=\ \ "),
            (dn(vec![vec![utf8("2.5.4.3", "")]]), "CN="),
            (dn(vec![vec![utf8("2.5.4.3", "a , b")]]), r"CN=a \, b"),
            // Multi-valued RDNs, in the order held; an unknown type as a dotted OID.
            (
                dn(vec![
                    vec![utf8("2.5.4.10", "o"), utf8("1.2.840.113549.1.9.1", "e@x")],
                    vec![
                        utf8("2.5.4.3", "a"),
                        utf8("2.5.4.11", "b"),
                        utf8("2.5.4.12", "t"),
                    ],
                ]),
                "CN=a+OU=b+2.5.4.12=t,O=o+1.2.840.113549.1.9.1=e@x",
            ),
            // Not a string: an INTEGER, a constructed value, a context tag, trailing octets,
            // a truncated value, nothing.
            (cn(&[2, 1, 5]), "CN=#020105"),
            (cn(&[0x30, 0x03, 0x0c, 0x01, 0x61]), "CN=#30030c0161"),
            (cn(&[0x80, 0x01, 0x61]), "CN=#800161"),
            (cn(&[0x0c, 0x01, 0x61, 0x00]), "CN=#0c016100"),
            (cn(&[0x0c, 0x05, 0x61]), "CN=#0c0561"),
            (cn(&[]), "CN=#"),
            // Bad UTF-8 in a UTF8String.
            (cn(&tlv(12, &[0xff])), "CN=#0c01ff"),
            // Each string type.
            (cn(&tlv(18, b"12 3")), "CN=12 3"),
            (cn(&tlv(22, b"a@b")), "CN=a@b"),
            (cn(&tlv(26, b"vis")), "CN=vis"),
            (cn(&tlv(20, &[0x41, 0xe9])), "CN=A\u{e9}"),
            (cn(&tlv(25, &[0xe9, 0x20])), "CN=\u{e9}\\ "),
            (
                cn(&tlv(30, &[0x00, 0x41, 0x00, 0x2c, 0xd8, 0x3d, 0xde, 0x00])),
                "CN=A\\,\u{1f600}",
            ),
            // BMPString: odd length, an unpaired surrogate.
            (cn(&tlv(30, &[0x00, 0x41, 0x00])), "CN=#1e03004100"),
            (cn(&tlv(30, &[0xd8, 0x3d])), "CN=#1e02d83d"),
            // UniversalString: a character, a length not a multiple of 4, not a character.
            (
                cn(&tlv(28, &[0, 0, 0, 0x20, 0, 1, 0xf6, 0x00])),
                "CN=\\ \u{1f600}",
            ),
            (cn(&tlv(28, &[0, 0, 0])), "CN=#1c03000000"),
            (cn(&tlv(28, &[0, 0x11, 0, 0])), "CN=#1c0400110000"),
            // A string type not rendered (T61String is, VideotexString is not).
            (cn(&tlv(21, b"v")), "CN=#150176"),
        ];
        for (name, text) in &cases {
            assert_eq!(format_dn(name), *text, "{name:?}");
            assert_eq!(format_dn_before(name), *text, "reference, {name:?}");
        }
    }

    /// The OID octets `short_name` matches are those of the arcs it names.
    #[test]
    fn short_names_by_octets() {
        for (arcs, short) in [
            ("2.5.4.3", Some("CN")),
            ("2.5.4.4", Some("SN")),
            ("2.5.4.5", Some("SERIALNUMBER")),
            ("2.5.4.6", Some("C")),
            ("2.5.4.7", Some("L")),
            ("2.5.4.8", Some("ST")),
            ("2.5.4.9", Some("STREET")),
            ("2.5.4.10", Some("O")),
            ("2.5.4.11", Some("OU")),
            ("0.9.2342.19200300.100.1.25", Some("DC")),
            ("2.5.4.12", None),
            ("2.5.4.2", None),
            ("2.5.4", None),
            ("2.5.4.3.1", None),
            ("2.5.29.17", None),
            ("0.9.2342.19200300.100.1.26", None),
        ] {
            assert_eq!(short_name(&arcs.parse().unwrap()), short, "{arcs}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = Vec<u8>> {
            let text = r#"[ -~\u{a0}-\u{17f}\u{1f600}#,+\\"<>;= ]{0,8}"#;
            prop_oneof![
                (prop::sample::select(vec![12u8, 18, 19, 22, 26]), text)
                    .prop_map(|(t, s)| tlv(t, s.as_bytes())),
                (
                    prop::sample::select(vec![20u8, 25]),
                    prop::collection::vec(any::<u8>(), 0..8)
                )
                    .prop_map(|(t, b)| tlv(t, &b)),
                text.prop_map(|s| {
                    let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
                    tlv(30, &units)
                }),
                text.prop_map(|s| {
                    let ucs4: Vec<u8> =
                        s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect();
                    tlv(28, &ucs4)
                }),
                // Anything: odd BMPStrings, surrogates, bad UTF-8, other tags, garbage.
                (any::<u8>(), prop::collection::vec(any::<u8>(), 0..9))
                    .prop_map(|(t, b)| tlv(t & 0x1f, &b)),
                prop::collection::vec(any::<u8>(), 0..9),
            ]
        }

        fn attribute() -> impl Strategy<Value = AttributeTypeAndValue> {
            let oid = prop_oneof![
                (3u128..13).prop_map(|x| vec![2, 5, 4, x]),
                Just(vec![0, 9, 2342, 19200300, 100, 1, 25]),
                (0u128..40, prop::collection::vec(0u128..100_000, 0..4)).prop_map(
                    |(second, mut t)| {
                        t.splice(0..0, [1, second]);
                        t
                    }
                ),
            ];
            (oid, value()).prop_map(|(arcs, value)| AttributeTypeAndValue {
                attribute_type: Oid::from_arcs(&arcs).unwrap(),
                value,
            })
        }

        proptest! {
            /// The one-`String` writer equals the reference on any name.
            #[test]
            fn format_dn_equals_the_reference(
                rdns in prop::collection::vec(prop::collection::vec(attribute(), 0..4), 0..5)
            ) {
                let name = dn(rdns);
                prop_assert_eq!(format_dn(&name), format_dn_before(&name));
            }
        }
    }
}
