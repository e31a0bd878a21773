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

/// The short name this crate's policy files use for an attribute type, if it has one.
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

/// A name as text in the form policy files use (RFC 4514 order: the most specific RDN first,
/// `,` between RDNs, `+` inside one, short names CN, O, OU, C, L, ST, SN, SERIALNUMBER, STREET,
/// DC, other types as dotted OIDs, special characters escaped with `\`; values that are not
/// strings as `#` and their encoding in hex), e.g. `CN=guls-demo-responder,O=guls demo`.
pub fn format_dn(dn: &DistinguishedName) -> String {
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
}
