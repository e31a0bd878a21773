//! Matching peers: AP-title and AE-qualifier patterns, and IP networks (hand-written CIDR).

use std::fmt;
use std::net::IpAddr;

use guls_acse::{
    AeQualifier, ApTitle, AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName,
};
use guls_ber::{Oid, Tag, Writer};

/// One attribute of a name pattern: its type and its value as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ava {
    attribute_type: Oid,
    value: String,
}

impl Ava {
    /// Same attribute type, and the received value is a string equal to ours ignoring ASCII
    /// case (X.520 caseIgnoreMatch, simplified).
    fn matches(&self, a: &AttributeTypeAndValue) -> bool {
        a.attribute_type == self.attribute_type
            && a.display_value()
                .is_some_and(|v| v.eq_ignore_ascii_case(&self.value))
    }
}

/// Each attribute of the received RDN matches one of ours and the counts are equal.
fn rdn_matches(pattern: &[Ava], rdn: &RelativeDistinguishedName) -> bool {
    pattern.len() == rdn.0.len() && pattern.iter().all(|p| rdn.0.iter().any(|a| p.matches(a)))
}

/// A calling or called AP-title as written in a policy: a dotted OID (form 2) or a
/// Distinguished Name string (form 1).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum TitlePattern {
    /// Form 2.
    Oid(Oid),
    /// Form 1: RDNs in RDNSequence order (most significant first), and the text written.
    Dn(Vec<Vec<Ava>>, String),
}

impl TitlePattern {
    /// Parses `1.3.9999.1` (form 2) or `CN=ied1,O=utility` (form 1, RFC 4514 order: the most
    /// specific RDN first).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty AP-title".into());
        }
        if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return t
                .parse::<Oid>()
                .map(TitlePattern::Oid)
                .map_err(|e| format!("AP-title `{t}` is not an object identifier: {e}"));
        }
        let mut rdns = split_unescaped(t, ',')
            .into_iter()
            .map(|r| parse_rdn(&r))
            .collect::<Result<Vec<_>, _>>()?;
        // RFC 4514 writes the most specific RDN first; the RDNSequence starts at the root.
        rdns.reverse();
        Ok(TitlePattern::Dn(rdns, t.to_string()))
    }

    /// Form 1 as a Directory name whose values are UTF8Strings (`None` for form 2).
    pub(crate) fn to_distinguished_name(&self) -> Option<DistinguishedName> {
        let TitlePattern::Dn(rdns, _) = self else {
            return None;
        };
        Some(DistinguishedName(
            rdns.iter()
                .map(|rdn| {
                    RelativeDistinguishedName(
                        rdn.iter()
                            .map(|a| {
                                let mut w = Writer::new();
                                w.primitive(Tag::UTF8_STRING, a.value.as_bytes());
                                AttributeTypeAndValue {
                                    attribute_type: a.attribute_type.clone(),
                                    value: w.into_bytes(),
                                }
                            })
                            .collect(),
                    )
                })
                .collect(),
        ))
    }

    /// Whether a received AP-title matches.
    pub(crate) fn matches(&self, title: &ApTitle) -> bool {
        match (self, title) {
            (TitlePattern::Oid(p), ApTitle::Form2(o)) => p == o,
            (TitlePattern::Dn(p, _), ApTitle::Form1(dn)) => {
                p.len() == dn.0.len() && p.iter().zip(&dn.0).all(|(p, r)| rdn_matches(p, r))
            }
            _ => false,
        }
    }
}

impl fmt::Display for TitlePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TitlePattern::Oid(o) => write!(f, "{o}"),
            TitlePattern::Dn(_, text) => write!(f, "{{{text}}}"),
        }
    }
}

impl fmt::Debug for TitlePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TitlePattern({self})")
    }
}

/// An AE-qualifier as written in a policy: an integer (form 2) or an RDN string (form 1).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum QualifierPattern {
    /// Form 2.
    Integer(i64),
    /// Form 1 and the text written.
    Rdn(Vec<Ava>, String),
}

impl QualifierPattern {
    /// Parses the string form (`CN=a+OU=b`).
    pub(crate) fn parse_rdn(text: &str) -> Result<Self, String> {
        let t = text.trim();
        Ok(QualifierPattern::Rdn(parse_rdn(t)?, t.to_string()))
    }

    /// Whether a received AE-qualifier matches.
    pub(crate) fn matches(&self, q: &AeQualifier) -> bool {
        match (self, q) {
            (QualifierPattern::Integer(p), AeQualifier::Form2(v)) => p == v,
            (QualifierPattern::Rdn(p, _), AeQualifier::Form1(rdn)) => rdn_matches(p, rdn),
            _ => false,
        }
    }
}

impl fmt::Display for QualifierPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QualifierPattern::Integer(v) => write!(f, "{v}"),
            QualifierPattern::Rdn(_, text) => write!(f, "{{{text}}}"),
        }
    }
}

impl fmt::Debug for QualifierPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QualifierPattern({self})")
    }
}

/// Splits at `sep` not preceded by a backslash; the pieces keep their escapes.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        let cur = out.last_mut().expect("never empty");
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(String::new());
        } else {
            cur.push(c);
        }
    }
    if escaped {
        out.last_mut().expect("never empty").push('\\');
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn attribute_type(name: &str) -> Result<Oid, String> {
    let arcs: &[u128] = match name.to_ascii_uppercase().as_str() {
        "CN" => &[2, 5, 4, 3],
        "SN" => &[2, 5, 4, 4],
        "SERIALNUMBER" => &[2, 5, 4, 5],
        "C" => &[2, 5, 4, 6],
        "L" => &[2, 5, 4, 7],
        "ST" => &[2, 5, 4, 8],
        "STREET" => &[2, 5, 4, 9],
        "O" => &[2, 5, 4, 10],
        "OU" => &[2, 5, 4, 11],
        "DC" => &[0, 9, 2342, 19200300, 100, 1, 25],
        _ => {
            return name
                .parse::<Oid>()
                .map_err(|_| format!("unknown attribute type `{name}` (use CN, SN, SERIALNUMBER, C, L, ST, STREET, O, OU, DC or a dotted OID)"));
        }
    };
    Oid::from_arcs(arcs).map_err(|e| e.to_string())
}

/// Parses one RDN: `TYPE=value` joined by unescaped `+`.
fn parse_rdn(text: &str) -> Result<Vec<Ava>, String> {
    let mut out = Vec::new();
    for ava in split_unescaped(text, '+') {
        let pieces = split_unescaped(&ava, '=');
        if pieces.len() < 2 {
            return Err(format!(
                "`{}` is not TYPE=value (write a DN as CN=ied1,O=utility or an AP-title as a dotted OID)",
                ava.trim()
            ));
        }
        let ty = unescape(pieces[0].trim());
        // The value may contain escaped '='; rejoin the rest.
        let raw_value = pieces[1..].join("=");
        let value = unescape(raw_value.trim());
        if value.is_empty() {
            return Err(format!("attribute `{ty}` has an empty value"));
        }
        out.push(Ava {
            attribute_type: attribute_type(&ty)?,
            value,
        });
    }
    Ok(out)
}

/// An IP network: an address and a prefix length (a single address has the full length).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32` or `::1`. Host bits under the prefix
    /// must be zero.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (a, p) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| {
            format!("`{t}` is not an IP address or network (a.b.c.d[/n] or IPv6[/n])")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(format!("prefix length of `{t}` must be 0..={max}")),
            },
        };
        let net = IpNet { addr, prefix };
        if net.masked(addr) != addr {
            return Err(format!(
                "`{t}` has host bits set; the network is {}/{prefix}",
                net.masked(addr)
            ));
        }
        Ok(net)
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v) => {
                let m = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v) & m).into())
            }
            IpAddr::V6(v) => {
                let m = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v) & m).into())
            }
        }
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && self.masked(ip) == self.addr
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl fmt::Debug for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IpNet({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guls_acse::DistinguishedName;

    fn dn(parts: &[&[(&[u128], &str)]]) -> ApTitle {
        ApTitle::Form1(DistinguishedName(
            parts
                .iter()
                .map(|rdn| {
                    RelativeDistinguishedName(
                        rdn.iter()
                            .map(|(t, v)| {
                                AttributeTypeAndValue::printable(Oid::from_arcs(t).unwrap(), v)
                            })
                            .collect(),
                    )
                })
                .collect(),
        ))
    }

    #[test]
    fn cidr() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        let all = IpNet::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        let one = IpNet::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(
            IpNet::parse("::/0")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("10.0.0.1/8")
                .unwrap_err()
                .contains("10.0.0.0/8")
        );
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("10.0.0.0/+8").is_err());
        assert!(IpNet::parse("host.example").is_err());
        assert_eq!(n.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn titles() {
        let p = TitlePattern::parse("1.3.9999.1").unwrap();
        assert!(p.matches(&ApTitle::Form2("1.3.9999.1".parse().unwrap())));
        assert!(!p.matches(&ApTitle::Form2("1.3.9999.2".parse().unwrap())));
        let p = TitlePattern::parse("CN=ied1, O=utility").unwrap();
        let cn: &[u128] = &[2, 5, 4, 3];
        let o: &[u128] = &[2, 5, 4, 10];
        assert!(p.matches(&dn(&[&[(o, "utility")], &[(cn, "ied1")]])));
        assert!(p.matches(&dn(&[&[(o, "Utility")], &[(cn, "IED1")]])));
        assert!(!p.matches(&dn(&[&[(cn, "ied1")], &[(o, "utility")]])));
        assert!(!p.matches(&dn(&[&[(o, "utility")], &[(cn, "ied2")]])));
        assert!(!p.matches(&dn(&[&[(o, "utility")]])));
        let multi = TitlePattern::parse("CN=a\\,b+OU=x,2.5.4.10=u").unwrap();
        assert!(multi.matches(&dn(&[&[(o, "u")], &[(&[2, 5, 4, 11], "x"), (cn, "a,b")]])));
        assert!(TitlePattern::parse("XX=1").is_err());
        assert!(TitlePattern::parse("CN=").is_err());
        assert!(TitlePattern::parse("1..2").is_err());
        assert!(TitlePattern::parse("ied1").is_err());
    }

    #[test]
    fn qualifiers() {
        let p = QualifierPattern::Integer(12);
        assert!(p.matches(&AeQualifier::Form2(12)));
        assert!(!p.matches(&AeQualifier::Form2(13)));
        let p = QualifierPattern::parse_rdn("CN=ae1").unwrap();
        let rdn = RelativeDistinguishedName(vec![AttributeTypeAndValue::printable(
            "2.5.4.3".parse().unwrap(),
            "ae1",
        )]);
        assert!(p.matches(&AeQualifier::Form1(rdn)));
        assert!(!p.matches(&AeQualifier::Form2(1)));
    }
}
