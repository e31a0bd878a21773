//! The end-entity certificate reading of `TrustStore::verify_path` (guls-ber, straight from the
//! DER) held to the reading it replaced (x509-parser, kept as `guls_policy::reference` and
//! `TrustStore::verify_path_x509_reference`):
//!
//! * certificates made with rcgen (random subjects of several RDNs, string types and unknown
//!   attribute types, rewritten into multi-valued RDNs and other value types; random
//!   subjectAltNames with directoryNames among other forms; random keyUsage and
//!   extendedKeyUsage; Ed25519 and P-256 keys and CAs) read the same, piece by piece, and
//!   validate the same;
//! * the same certificates mutated (a field's identifier, length form, contents, children,
//!   octets after it, the encoding truncated or changed octet by octet), re-signed by their
//!   CA so that path validation looks at them: the new reading never panics, whatever piece
//!   it reads the old one read the same or `verify_path` refuses the certificate, nothing the
//!   old `verify_path` refused is accepted, and what both refuse they refuse with the same
//!   error kind, except where the new reading is stricter by design (see
//!   `guls_policy::TrustStore` "How certificates are read").

use std::sync::OnceLock;
use std::time::Duration;

use guls_ber::{Oid, Tag, Writer};
use guls_crypto::CryptoProvider;
use guls_policy::reference::{
    EndEntityReading, check_structure, check_structure_x509, read_end_entity, read_end_entity_x509,
};
use guls_policy::rustls_pki_types::{CertificateDer, UnixTime};
use guls_policy::{CertError, TrustStore, VerifiedCertificate};
use proptest::prelude::*;
use rcgen::string::{BmpString, PrintableString, TeletexString, UniversalString};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber, SigningKey as _,
};

const DAY: u64 = 86_400;

fn now_secs() -> u64 {
    UnixTime::now().as_secs()
}

macro_rules! at {
    ($secs:expr) => {
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs($secs)
    };
}

/// A CA: its key (a copy, to sign rewritten certificates), its issuer and its certificate.
struct Ca {
    key: KeyPair,
    issuer: CertifiedIssuer<'static, KeyPair>,
    der: Vec<u8>,
}

/// Root and intermediate CAs of one key algorithm, end-entity keys of both, and a store
/// trusting the root with every memory off (first contact).
struct World {
    root: Ca,
    inter: Ca,
    ee_keys: [KeyPair; 2],
    store: TrustStore,
    provider: CryptoProvider,
}

fn alg(p256: bool) -> &'static rcgen::SignatureAlgorithm {
    if p256 {
        &rcgen::PKCS_ECDSA_P256_SHA256
    } else {
        &rcgen::PKCS_ED25519
    }
}

fn copy(k: &KeyPair) -> KeyPair {
    KeyPair::try_from(k.serialize_der().as_slice()).unwrap()
}

fn ca_params(name: &str) -> CertificateParams {
    let now = now_secs();
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = at!(now - 60 * DAY);
    p.not_after = at!(now + 365 * DAY);
    p
}

fn world(p256: bool) -> &'static World {
    static WORLDS: [OnceLock<World>; 2] = [OnceLock::new(), OnceLock::new()];
    WORLDS[usize::from(p256)].get_or_init(|| {
        let root_key = KeyPair::generate_for(alg(p256)).unwrap();
        let root_copy = copy(&root_key);
        let root = CertifiedIssuer::self_signed(ca_params("reading root"), root_key).unwrap();
        let inter_key = KeyPair::generate_for(alg(p256)).unwrap();
        let inter_copy = copy(&inter_key);
        let inter = CertifiedIssuer::signed_by(ca_params("reading intermediate"), inter_key, &root)
            .unwrap();
        let root_der = root.der().to_vec();
        let inter_der = inter.der().to_vec();
        let mut store = TrustStore::new(&[CertificateDer::from(root_der.clone())]).unwrap();
        store.options_mut().certificate_cache = 0;
        store.options_mut().signature_cache = 0;
        World {
            root: Ca {
                key: root_copy,
                issuer: root,
                der: root_der,
            },
            inter: Ca {
                key: inter_copy,
                issuer: inter,
                der: inter_der,
            },
            ee_keys: [
                KeyPair::generate_for(alg(false)).unwrap(),
                KeyPair::generate_for(alg(true)).unwrap(),
            ],
            store,
            provider: guls_crypto::ring::default_provider(),
        }
    })
}

// ---------------------------------------------------------------------------------------
// What a generated certificate holds.

/// An attribute value: how it is encoded.
#[derive(Debug, Clone)]
enum Value {
    Utf8(String),
    Printable(String),
    Ia5(String),
    Bmp(String),
    Universal(String),
    Teletex(String),
    /// Any other tag (one identifier octet) and contents: NumericString, VisibleString,
    /// GraphicString, INTEGER, a constructed SEQUENCE...
    Other(u8, Vec<u8>),
}

impl Value {
    /// Its encoding (for the hand-made names).
    fn der(&self) -> Vec<u8> {
        let (tag, contents): (u8, Vec<u8>) = match self {
            Value::Utf8(s) => (12, s.as_bytes().to_vec()),
            Value::Printable(s) => (19, s.as_bytes().to_vec()),
            Value::Ia5(s) => (22, s.as_bytes().to_vec()),
            Value::Bmp(s) => (30, s.encode_utf16().flat_map(u16::to_be_bytes).collect()),
            Value::Universal(s) => (
                28,
                s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
            ),
            Value::Teletex(s) => (20, s.as_bytes().to_vec()),
            Value::Other(t, c) => (*t, c.clone()),
        };
        let mut out = vec![tag];
        guls_ber::encode_length(contents.len(), &mut out);
        out.extend_from_slice(&contents);
        out
    }

    /// rcgen's form of it, when rcgen has one.
    fn rcgen(&self) -> Option<DnValue> {
        Some(match self {
            Value::Utf8(s) => DnValue::Utf8String(s.clone()),
            Value::Printable(s) => {
                DnValue::PrintableString(PrintableString::try_from(s.as_str()).ok()?)
            }
            Value::Ia5(s) => DnValue::Ia5String(s.as_str().try_into().ok()?),
            Value::Bmp(s) => DnValue::BmpString(BmpString::try_from(s.as_str()).ok()?),
            Value::Universal(s) => {
                DnValue::UniversalString(UniversalString::try_from(s.as_str()).ok()?)
            }
            Value::Teletex(s) => DnValue::TeletexString(TeletexString::try_from(s.as_str()).ok()?),
            Value::Other(..) => return None,
        })
    }
}

type Rdn = Vec<(Vec<u64>, Value)>;

fn oid_der(arcs: &[u64]) -> Vec<u8> {
    let arcs: Vec<u128> = arcs.iter().map(|&a| u128::from(a)).collect();
    let mut w = Writer::new();
    w.oid(Tag::OID, &Oid::from_arcs(&arcs).unwrap());
    w.into_bytes()
}

/// A `Name` encoded by hand (multi-valued RDNs, any value), in the order given.
fn name_der(rdns: &[Rdn]) -> Vec<u8> {
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        for rdn in rdns {
            w.constructed(Tag::SET, |w| {
                for (t, v) in rdn {
                    w.constructed(Tag::SEQUENCE, |w| {
                        w.raw(&oid_der(t));
                        w.raw(&v.der());
                    });
                }
            });
        }
    });
    w.into_bytes()
}

/// One GeneralName of a subjectAltName.
#[derive(Debug, Clone)]
enum San {
    Directory(Vec<Rdn>),
    Dns(String),
    Email(String),
    Uri(String),
    Ip(Vec<u8>),
    Registered(Vec<u64>),
}

fn san_extension(names: &[San]) -> CustomExtension {
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        for n in names {
            match n {
                San::Directory(rdns) => w.constructed(Tag::context(4), |w| w.raw(&name_der(rdns))),
                San::Email(s) => w.primitive(Tag::context(1), s.as_bytes()),
                San::Dns(s) => w.primitive(Tag::context(2), s.as_bytes()),
                San::Uri(s) => w.primitive(Tag::context(6), s.as_bytes()),
                San::Ip(b) => w.primitive(Tag::context(7), b),
                San::Registered(arcs) => {
                    let oid = oid_der(arcs);
                    w.primitive(Tag::context(8), &oid[2..]);
                }
            }
        }
    });
    CustomExtension::from_oid_content(&[2, 5, 29, 17], w.into_bytes())
}

/// A certificate to make: what rcgen is given, and whether its subject is then replaced by
/// a hand-made encoding.
#[derive(Debug, Clone)]
struct Spec {
    p256_ca: bool,
    p256_ee: bool,
    subject: Vec<Rdn>,
    /// Replace rcgen's subject by `name_der(subject)` (multi-valued RDNs, other values).
    handmade_subject: bool,
    san: Option<Vec<San>>,
    key_usage: Vec<KeyUsagePurpose>,
    eku: Vec<ExtendedKeyUsagePurpose>,
}

fn ascii() -> impl Strategy<Value = String> {
    "[ -~]{0,12}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~\u{a0}-\u{24f}\u{4e00}-\u{4e10}\u{1f600}]{1,10}"
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::Utf8),
        "[A-Za-z0-9 '()+,./:=-]{1,10}".prop_map(Value::Printable),
        ascii().prop_map(Value::Ia5),
        text().prop_map(Value::Bmp),
        text().prop_map(Value::Universal),
        "[A-Za-z0-9 ]{1,10}".prop_map(Value::Teletex),
        "[0-9 ]{1,8}".prop_map(|s| Value::Other(18, s.into_bytes())),
        ascii().prop_map(|s| Value::Other(26, s.into_bytes())),
        ascii().prop_map(|s| Value::Other(25, s.into_bytes())),
        prop::collection::vec(any::<u8>(), 1..4).prop_map(|b| Value::Other(2, b)),
        ascii().prop_map(|s| {
            let mut c = vec![0x0c];
            guls_ber::encode_length(s.len(), &mut c);
            c.extend_from_slice(s.as_bytes());
            Value::Other(0x30, c)
        }),
    ]
}

fn attribute_type() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        prop::sample::select(vec![3u64, 4, 5, 6, 7, 8, 9, 10, 11, 12, 42])
            .prop_map(|x| vec![2, 5, 4, x]),
        Just(vec![0, 9, 2342, 19200300, 100, 1, 25]),
        Just(vec![1, 2, 840, 113549, 1, 9, 1]),
        (0u64..40, prop::collection::vec(0u64..1 << 40, 0..4)).prop_map(|(b, rest)| {
            let mut v = vec![1, b];
            v.extend(rest);
            v
        }),
    ]
}

fn rdns(max_per_rdn: usize) -> impl Strategy<Value = Vec<Rdn>> {
    prop::collection::vec(
        prop::collection::vec((attribute_type(), value()), 1..=max_per_rdn),
        0..5,
    )
}

fn san() -> impl Strategy<Value = San> {
    prop_oneof![
        3 => rdns(3).prop_map(San::Directory),
        1 => "[a-z0-9.-]{1,12}".prop_map(San::Dns),
        1 => "[a-z0-9]{1,6}@[a-z.]{1,8}".prop_map(San::Email),
        1 => "https://[a-z.]{1,10}".prop_map(San::Uri),
        1 => prop::sample::select(vec![4usize, 16]).prop_map(|n| San::Ip(vec![7; n])),
        1 => attribute_type().prop_map(San::Registered),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let ku = prop::sample::subsequence(
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::DecipherOnly,
        ],
        0..=3,
    );
    let eku = prop::sample::subsequence(
        vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::CodeSigning,
        ],
        0..=2,
    );
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        rdns(3),
        prop::option::of(prop::collection::vec(san(), 0..4)),
        ku,
        eku,
    )
        .prop_map(
            |(p256_ca, p256_ee, handmade, subject, san, key_usage, eku)| {
                // rcgen writes one RDN per attribute of a type it knows once: the hand-made
                // encoding takes the rest.
                let rcgen_can = subject
                    .iter()
                    .all(|r| r.len() == 1 && r[0].1.rcgen().is_some());
                Spec {
                    p256_ca,
                    p256_ee,
                    handmade_subject: handmade || !rcgen_can,
                    subject,
                    san,
                    key_usage,
                    eku,
                }
            },
        )
}

/// The certificate `spec` describes, signed by its world's intermediate CA.
fn make(spec: &Spec) -> Vec<u8> {
    let w = world(spec.p256_ca);
    let now = now_secs();
    let mut p = CertificateParams::default();
    if !spec.handmade_subject {
        for rdn in &spec.subject {
            let (t, v) = &rdn[0];
            p.distinguished_name
                .push(DnType::CustomDnType(t.clone()), v.rcgen().unwrap());
        }
    }
    p.key_usages = spec.key_usage.clone();
    p.extended_key_usages = spec.eku.clone();
    if let Some(names) = &spec.san {
        p.custom_extensions.push(san_extension(names));
    }
    p.not_before = at!(now - DAY);
    p.not_after = at!(now + 30 * DAY);
    p.serial_number = Some(SerialNumber::from(77u64));
    let key = &w.ee_keys[usize::from(spec.p256_ee)];
    let der = p.signed_by(key, &w.inter.issuer).unwrap().der().to_vec();
    if !spec.handmade_subject {
        return der;
    }
    // The subject is the sixth field of tbsCertificate (after [0] version, serialNumber,
    // signature, issuer, validity).
    let mut cert = parse_one_node(&der);
    let subject = parse_one_node(&name_der(&spec.subject));
    children(&mut children(&mut cert)[0])[5] = subject;
    resign(&cert, &w.inter.key)
}

// ---------------------------------------------------------------------------------------
// A TLV tree to rewrite certificates.

/// How a node's length is written.
#[derive(Debug, Clone, Copy)]
enum Len {
    Minimal,
    /// In the long form with this many octets (at least those the length needs).
    Long(u8),
    Indefinite,
    /// The minimal form of the true length plus this (a wrong length).
    Off(i8),
}

#[derive(Debug, Clone)]
enum Body {
    Raw(Vec<u8>),
    Children(Vec<Node>),
    /// An OCTET STRING holding DER elements (an extension's value).
    Wrapped(Vec<Node>),
}

#[derive(Debug, Clone)]
struct Node {
    id: Vec<u8>,
    len: Len,
    body: Body,
}

fn parse_nodes(mut d: &[u8]) -> Option<Vec<Node>> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let (n, rest) = parse_node(d)?;
        out.push(n);
        d = rest;
    }
    Some(out)
}

fn parse_node(d: &[u8]) -> Option<(Node, &[u8])> {
    let mut i = 1;
    if *d.first()? & 0x1f == 0x1f {
        while *d.get(i)? & 0x80 != 0 {
            i += 1;
        }
        i += 1;
    }
    let id = d[..i].to_vec();
    let first = *d.get(i)?;
    i += 1;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let mut l = 0usize;
        for _ in 0..n {
            l = (l << 8) | usize::from(*d.get(i)?);
            i += 1;
        }
        l
    };
    let contents = d.get(i..i + len)?;
    let body = if id[0] & 0x20 != 0 {
        parse_nodes(contents).map_or_else(|| Body::Raw(contents.to_vec()), Body::Children)
    } else if id == [0x04] && !contents.is_empty() {
        parse_nodes(contents).map_or_else(|| Body::Raw(contents.to_vec()), Body::Wrapped)
    } else {
        Body::Raw(contents.to_vec())
    };
    Some((
        Node {
            id,
            len: Len::Minimal,
            body,
        },
        &d[i + len..],
    ))
}

fn parse_one_node(d: &[u8]) -> Node {
    let (n, rest) = parse_node(d).expect("DER");
    assert!(rest.is_empty());
    n
}

fn encode(n: &Node, out: &mut Vec<u8>) {
    let mut body = Vec::new();
    match &n.body {
        Body::Raw(b) => body.extend_from_slice(b),
        Body::Children(c) | Body::Wrapped(c) => c.iter().for_each(|c| encode(c, &mut body)),
    }
    out.extend_from_slice(&n.id);
    match n.len {
        Len::Minimal => guls_ber::encode_length(body.len(), out),
        Len::Long(k) => {
            let need = (usize::BITS - body.len().leading_zeros())
                .div_ceil(8)
                .max(1) as u8;
            let k = k.clamp(need, 4);
            out.push(0x80 | k);
            for j in (0..k).rev() {
                out.push((body.len() >> (8 * u32::from(j))) as u8);
            }
        }
        Len::Indefinite => out.push(0x80),
        Len::Off(d) => {
            guls_ber::encode_length((body.len() as i64 + i64::from(d)).max(0) as usize, out)
        }
    }
    out.extend_from_slice(&body);
    if matches!(n.len, Len::Indefinite) {
        out.extend_from_slice(&[0, 0]);
    }
}

fn to_der(n: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    encode(n, &mut out);
    out
}

fn children(n: &mut Node) -> &mut Vec<Node> {
    match &mut n.body {
        Body::Children(c) | Body::Wrapped(c) => c,
        Body::Raw(_) => panic!("not constructed"),
    }
}

/// `cert` (a Certificate tree) with its tbsCertificate signed again by `key`.
fn resign(cert: &Node, key: &KeyPair) -> Vec<u8> {
    let Body::Children(parts) = &cert.body else {
        panic!("a certificate");
    };
    let tbs = to_der(&parts[0]);
    let signature = key.sign(&tbs).unwrap();
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        w.raw(&tbs);
        w.raw(&to_der(&parts[1]));
        let mut bits = vec![0];
        bits.extend_from_slice(&signature);
        w.primitive(Tag::BIT_STRING, &bits);
    });
    w.into_bytes()
}

/// The number of nodes of a tree (pre-order).
fn count(n: &Node) -> usize {
    1 + match &n.body {
        Body::Raw(_) => 0,
        Body::Children(c) | Body::Wrapped(c) => c.iter().map(count).sum(),
    }
}

/// The `i`-th node in pre-order (`i` < `count(n)`).
fn nth(n: &mut Node, mut i: usize) -> &mut Node {
    if i == 0 {
        return n;
    }
    i -= 1;
    match &mut n.body {
        Body::Raw(_) => unreachable!(),
        Body::Children(c) | Body::Wrapped(c) => {
            for child in c.iter_mut() {
                let k = count(child);
                if i < k {
                    return nth(child, i);
                }
                i -= k;
            }
            unreachable!()
        }
    }
}

/// One change to one node.
#[derive(Debug, Clone)]
struct Mutation {
    op: u8,
    at: usize,
    byte: u8,
    other: usize,
    extra: Vec<u8>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        0u8..14,
        any::<usize>(),
        any::<u8>(),
        any::<usize>(),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(op, at, byte, other, extra)| Mutation {
            op,
            at,
            byte,
            other,
            extra,
        })
}

fn apply(root: &mut Node, m: &Mutation) {
    let n = nth(root, m.at % count(root));
    match m.op {
        // The identifier: any octet, or the constructed bit flipped.
        0 => n.id = vec![m.byte],
        1 => n.id[0] ^= 0x20,
        // The length form.
        2 => n.len = Len::Long(1 + m.byte % 3),
        3 => n.len = Len::Indefinite,
        4 => n.len = Len::Off(if m.byte % 2 == 0 { 1 } else { -1 }),
        // The contents.
        _ => match &mut n.body {
            Body::Raw(b) => match m.op {
                5 if !b.is_empty() => {
                    let i = m.other % b.len();
                    b[i] ^= m.byte | 1;
                }
                6 => b.truncate(m.other % (b.len() + 1)),
                7 => b.extend_from_slice(&m.extra),
                8 => *b = m.extra.clone(),
                _ => b.push(m.byte),
            },
            Body::Children(c) | Body::Wrapped(c) => match m.op {
                // Octets after the last child, or a whole element.
                5 => c.push(Node {
                    id: vec![m.byte],
                    len: Len::Minimal,
                    body: Body::Raw(m.extra.clone()),
                }),
                6 if !c.is_empty() => {
                    c.remove(m.other % c.len());
                }
                7 if !c.is_empty() => {
                    let i = m.other % c.len();
                    let d = c[i].clone();
                    c.insert(i, d);
                }
                8 if c.len() > 1 => {
                    let (i, len) = (m.other % c.len(), c.len());
                    c.swap(i, (i + 1) % len);
                }
                9 => {
                    let raw: Vec<u8> = c.iter().flat_map(to_der).collect();
                    let mut raw = raw;
                    raw.extend_from_slice(&m.extra);
                    n.body = Body::Raw(raw);
                }
                _ => c.insert(
                    0,
                    Node {
                        id: vec![m.byte],
                        len: Len::Minimal,
                        body: Body::Raw(m.extra.clone()),
                    },
                ),
            },
        },
    }
}

// ---------------------------------------------------------------------------------------
// The comparisons.

/// Pieces as comparable values: errors without their messages (which say the same thing in
/// the two readers' words).
fn pieces(r: &EndEntityReading) -> impl PartialEq + std::fmt::Debug + '_ {
    (
        r.key_type.as_ref().map_err(|_| ()),
        r.key_usage.as_ref().map_err(|_| ()),
        r.eku_present.as_ref().map_err(|_| ()),
        r.certificate.as_ref().map_err(|_| ()),
    )
}

/// A well-formed certificate reads the same both ways, every piece, and validates the same
/// (when its keyUsage and extendedKeyUsage allow it: successfully).
fn same_reading(der: &[u8], w: &World, usable: bool) {
    let new = read_end_entity(der).expect("reads");
    let old = read_end_entity_x509(der).expect("x509-parser reads");
    assert_eq!(pieces(&new), pieces(&old));
    assert!(new.certificate.is_ok(), "{new:?}");
    assert_eq!(
        check_structure(der).is_ok(),
        check_structure_x509(der).is_ok()
    );
    let chain = [der, &w.inter.der[..]];
    let a = w.store.verify_path(&w.provider, &chain, UnixTime::now());
    let b = w
        .store
        .verify_path_x509_reference(&w.provider, &chain, UnixTime::now());
    assert_eq!(a, b);
    if usable {
        a.expect("validates");
    }
}

/// What may differ between the two `verify_path`s on a certificate: the new reading is
/// stricter inside names, keys and the three extensions it reads (a piece error, reported
/// as `malformed-certificate` after path validation). With `kinds` (a certificate with one
/// fault) both refuse with the same error kind; with several faults the one reported first
/// may differ (x509-parser refused a certificate for a fault in any field at once, where
/// now another fault may be reported first).
fn same_verdict(
    new: &Result<VerifiedCertificate, CertError>,
    old: &Result<VerifiedCertificate, CertError>,
    what: &str,
    kinds: bool,
    stricter: bool,
) -> Result<(), TestCaseError> {
    match (new, old) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", what),
        (Ok(_), Err(e)) => {
            return Err(TestCaseError::fail(format!(
                "{what}: accepted, refused before ({e})"
            )));
        }
        (Err(e), Ok(_)) => prop_assert!(
            e.name() == "malformed-certificate" && stricter,
            "{}: refused ({}), accepted before",
            what,
            e
        ),
        (Err(a), Err(b)) => {
            if kinds && !(stricter && a.name() == "malformed-certificate") {
                prop_assert_eq!(a.name(), b.name(), "{}: {} / before {}", what, a, b);
            }
        }
    }
    Ok(())
}

/// The structure check's message for a validity time that is not DER.
const DER_TIME: &str = "not a DER UTCTime or GeneralizedTime";

/// Whether the new reading refuses, by design, something of `chain` that x509-parser read:
/// the structure of a certificate only for a validity time that is not DER (x509-parser
/// read some leniently), or a piece of the end entity (octets after a field, a non-DER
/// critical flag, a directoryName that is no name...).
fn stricter_by_design(chain: &[&[u8]]) -> bool {
    let structure = chain.iter().any(|c| match check_structure(c) {
        Err(e) => check_structure_x509(c).is_ok() && e.to_string().contains(DER_TIME),
        Ok(()) => false,
    });
    let piece = match (read_end_entity(chain[0]), read_end_entity_x509(chain[0])) {
        (Ok(n), Ok(o)) => {
            (n.key_type.is_err() && o.key_type.is_ok())
                || (n.key_usage.is_err() && o.key_usage.is_ok())
                || (n.eku_present.is_err() && o.eku_present.is_ok())
                || (n.certificate.is_err() && o.certificate.is_ok())
        }
        _ => false,
    };
    structure || piece
}

/// The brief's rule on one end-entity certificate: whatever piece the new reading reads,
/// the old one read the same, or `verify_path` refuses the certificate.
fn pieces_no_laxer(der: &[u8], refused: bool) -> Result<(), TestCaseError> {
    let new = read_end_entity(der);
    let old = read_end_entity_x509(der);
    match (&new, &old) {
        (Ok(n), Ok(o)) => {
            if n.key_type.is_ok() {
                prop_assert!(refused || n.key_type == o.key_type, "{:?} / {:?}", n, o);
            }
            if n.key_usage.is_ok() {
                prop_assert!(refused || n.key_usage == o.key_usage, "{:?} / {:?}", n, o);
            }
            if n.eku_present.is_ok() {
                prop_assert!(
                    refused || n.eku_present == o.eku_present,
                    "{:?} / {:?}",
                    n,
                    o
                );
            }
            if n.certificate.is_ok() {
                prop_assert!(
                    refused || n.certificate == o.certificate,
                    "{:?} / {:?}",
                    n,
                    o
                );
            }
        }
        (Ok(n), Err(e)) => prop_assert!(refused, "read {:?}, refused before ({})", n, e),
        (Err(_), _) => {}
    }
    Ok(())
}

fn verdicts(
    w: &World,
    chain: &[&[u8]],
) -> (
    Result<VerifiedCertificate, CertError>,
    Result<VerifiedCertificate, CertError>,
) {
    (
        w.store.verify_path(&w.provider, chain, UnixTime::now()),
        w.store
            .verify_path_x509_reference(&w.provider, chain, UnixTime::now()),
    )
}

/// `n` cases, or `GULS_CERT_READING_CASES` for a longer run.
fn cases(n: u32) -> u32 {
    std::env::var("GULS_CERT_READING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    /// Certificates made with rcgen read the same both ways, field by field.
    #[test]
    fn generated_certificates_read_the_same(spec in spec()) {
        let der = make(&spec);
        let usable = (spec.key_usage.is_empty()
            || spec.key_usage.contains(&KeyUsagePurpose::DigitalSignature))
            && (spec.eku.is_empty()
                || spec.eku.iter().any(|e| {
                    matches!(
                        e,
                        ExtendedKeyUsagePurpose::ClientAuth | ExtendedKeyUsagePurpose::ServerAuth
                    )
                }));
        same_reading(&der, world(spec.p256_ca), usable);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

    /// Mutated end-entity certificates, signed again by their CA: no panic; no piece read
    /// that was read otherwise (or refused) before; no path accepted that was refused
    /// before; the same error kinds but where the new reading is stricter by design.
    #[test]
    fn mutated_end_entities_are_refused_as_before(
        spec in spec(),
        mutations in prop::collection::vec(mutation(), 1..4),
        resigned in prop::bool::weighted(0.85),
    ) {
        let w = world(spec.p256_ca);
        let der = make(&spec);
        let mut cert = parse_one_node(&der);
        let der = if resigned {
            let tbs = &mut children(&mut cert)[0];
            for m in &mutations {
                apply(tbs, m);
            }
            resign(&cert, &w.inter.key)
        } else {
            for m in &mutations {
                apply(&mut cert, m);
            }
            to_der(&cert)
        };
        let chain = [&der[..], &w.inter.der];
        let (new, old) = verdicts(w, &chain);
        let stricter = stricter_by_design(&chain);
        same_verdict(&new, &old, "end entity", mutations.len() == 1, stricter)?;
        pieces_no_laxer(&der, new.is_err())?;
    }

    /// Mutated intermediates (signed again by the root), used in the path or only sent
    /// along: the same verdicts as before (the structure check stands for x509-parser's
    /// parse).
    #[test]
    fn mutated_intermediates_are_refused_as_before(
        spec in spec(),
        mutations in prop::collection::vec(mutation(), 1..4),
        unused in any::<bool>(),
    ) {
        let w = world(spec.p256_ca);
        let ee = make(&spec);
        let mut cert = parse_one_node(&w.inter.der);
        for m in &mutations {
            apply(&mut children(&mut cert)[0], m);
        }
        let inter = resign(&cert, &w.root.key);
        let chain: Vec<&[u8]> = if unused {
            vec![&ee, &w.inter.der, &inter]
        } else {
            vec![&ee, &inter]
        };
        let (new, old) = verdicts(w, &chain);
        let stricter = stricter_by_design(&chain);
        same_verdict(&new, &old, "intermediate", mutations.len() == 1, stricter)?;
    }
}

/// How the mutated end entities and intermediates fare (run with `--ignored --nocapture`):
/// how many validate, how many both refuse with the same kind, how many the new reading
/// refuses by design. Shows that the properties above are not vacuous.
#[test]
#[ignore]
fn mutation_statistics() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;
    let mut runner = TestRunner::default();
    let strategy = (
        spec(),
        prop::collection::vec(mutation(), 1..2),
        any::<bool>(),
    );
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    // The error's message without offsets and numbers.
    let detail = |e: &CertError| -> String {
        e.to_string()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
            .replace(" (offset )", "")
    };
    for _ in 0..cases(2000) {
        let (spec, mutations, intermediate) = strategy.new_tree(&mut runner).unwrap().current();
        let w = world(spec.p256_ca);
        let ee = make(&spec);
        let (ee, inter) = if intermediate {
            let mut cert = parse_one_node(&w.inter.der);
            apply(&mut children(&mut cert)[0], &mutations[0]);
            (ee, resign(&cert, &w.root.key))
        } else {
            let mut cert = parse_one_node(&ee);
            apply(&mut children(&mut cert)[0], &mutations[0]);
            (resign(&cert, &w.inter.key), w.inter.der.clone())
        };
        let chain = [&ee[..], &inter[..]];
        let (new, old) = verdicts(w, &chain);
        let which = if intermediate {
            "intermediate"
        } else {
            "end entity"
        };
        let key = match (&new, &old) {
            (Ok(_), Ok(_)) => "both accept".to_string(),
            (Err(a), Ok(_)) => format!("refused by design ({}), accepted before", detail(a)),
            (Ok(_), Err(b)) => format!("ACCEPTED, refused before ({})", b.name()),
            (Err(a), Err(b)) if a.name() == b.name() => format!("both refuse: {}", a.name()),
            (Err(a), Err(b)) => format!("refused by design: {} (before {})", detail(a), b.name()),
        };
        if std::env::var_os("GULS_DUMP").is_some() {
            for c in &chain {
                match (check_structure(c), check_structure_x509(c)) {
                    (Err(e), Ok(())) => println!("DUMP {e}\n{}", guls_ber::to_hex(c)),
                    (Ok(()), Err(e)) => println!("DUMP laxer: {e}\n{}", guls_ber::to_hex(c)),
                    _ => {}
                }
            }
        }
        *tally.entry(format!("{which}: {key}")).or_default() += 1;
    }
    for (k, n) in &tally {
        println!("{n:6}  {k}");
    }
    assert!(!tally.keys().any(|k| k.contains("ACCEPTED")));
}

/// Writes generated certificates (and mutated ones) into the directory named by
/// `GULS_CERT_CORPUS`, as seeds for the `cert_reading` fuzz target (run with `--ignored`).
#[test]
#[ignore]
fn write_fuzz_seeds() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let Some(dir) = std::env::var_os("GULS_CERT_CORPUS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut runner = TestRunner::default();
    let strategy = (spec(), prop::collection::vec(mutation(), 0..3));
    for i in 0..cases(200) {
        let (spec, mutations) = strategy.new_tree(&mut runner).unwrap().current();
        let w = world(spec.p256_ca);
        let mut cert = parse_one_node(&make(&spec));
        for m in &mutations {
            apply(&mut children(&mut cert)[0], m);
        }
        let der = resign(&cert, &w.inter.key);
        std::fs::write(
            std::path::Path::new(&dir).join(format!("seed-{i}.der")),
            der,
        )
        .unwrap();
    }
}
