//! X.511 `Credentials` (the item type of dirAuthenticationOneWay / dirAuthenticationTwoWay) and
//! X.511 `SecurityProblem` (the parameter of authenticationFailure), with bounded BER codecs.
//!
//! The ASN.1 is **RECONSTRUCTED** from X.511 (1993/1997) and X.509 (1993/1997); the tags are
//! listed in `ASN1.md` at the crate root (also rendered in [`crate::asn1`]). Decoding is
//! lenient where BER allows (any length form, SET members in any order, constructed strings,
//! unknown extension components kept raw); encoding is DER. Certificates are kept as raw DER.
//!
//! Every decoder is bounded ([`MAX_CREDENTIALS_OCTETS`], [`MAX_CA_PAIRS`], [`MAX_RDNS`],
//! [`MAX_ATAVS`], [`MAX_RANDOM_OCTETS`]) and total: any input yields a value or a
//! [`DecodeError`] naming [`Layer::Sese`] and the offset.

use std::fmt;

use guls_acse::{DistinguishedName, NameDecoding};
use guls_ber::{
    BitString, Class, DecodeError, DecodeResult, Element, ErrorKind, Layer, LengthForm, Reader,
    Tag, Writer,
};
use guls_crypto::SecretBytes;
use guls_sese::ItemType;

use crate::time;

/// The largest encoded `Credentials` (or key-agreement item) accepted, in octets.
pub const MAX_CREDENTIALS_OCTETS: usize = 64 * 1024;
/// The most `CertificatePair`s in `theCACertificates`.
pub const MAX_CA_PAIRS: usize = 8;
/// The most RDNs in a distinguished name.
pub const MAX_RDNS: usize = 32;
/// The most attributes in one RDN.
pub const MAX_ATAVS: usize = 8;
/// The longest `random` / `response` BIT STRING, in octets.
pub const MAX_RANDOM_OCTETS: usize = 256;

const LAYER: Layer = Layer::Sese;

pub(crate) fn err(e: &Element<'_>, kind: ErrorKind) -> DecodeError {
    e.error(kind)
}

fn unexpected(e: &Element<'_>, expected: &'static str) -> DecodeError {
    e.error(ErrorKind::Unexpected {
        expected,
        found: e.tag.to_string(),
    })
}

/// A reader over one complete, size-checked TLV.
pub(crate) fn whole<'a>(tlv: &'a [u8], what: &'static str) -> DecodeResult<Element<'a>> {
    if tlv.len() > MAX_CREDENTIALS_OCTETS {
        return Err(DecodeError::new(
            LAYER,
            0,
            ErrorKind::LimitExceeded {
                what,
                limit: MAX_CREDENTIALS_OCTETS,
            },
        ));
    }
    let mut r = Reader::new(tlv, LAYER);
    let e = r.read()?;
    r.finish(what)?;
    Ok(e)
}

// ---------------------------------------------------------------------------------------------
// Distinguished names: guls-acse's codec (DER structure, strict and bounded decoding)

/// How names are decoded here: strictly (no empty RDN, nothing after an attribute value),
/// with at most [`MAX_RDNS`] RDNs of at most [`MAX_ATAVS`] attributes.
pub const NAME_DECODING: NameDecoding = NameDecoding::strict(MAX_RDNS, MAX_ATAVS);

/// The DER of `dn` as a plain `Name` (`SEQUENCE OF`), the form used to sign and compare names:
/// [`DistinguishedName::to_der`].
pub fn dn_to_der(dn: &DistinguishedName) -> Vec<u8> {
    dn.to_der()
}

/// Decodes a `Name` (`RDNSequence`) from one complete TLV (at most
/// [`MAX_CREDENTIALS_OCTETS`]) with a universal SEQUENCE tag, under [`NAME_DECODING`]; errors
/// name [`Layer::Sese`].
pub fn dn_from_der(der: &[u8]) -> DecodeResult<DistinguishedName> {
    let e = whole(der, "Name")?;
    if e.tag != Tag::SEQUENCE {
        return Err(unexpected(&e, "Name SEQUENCE OF"));
    }
    DistinguishedName::decode_contents_with(&e, &NAME_DECODING)
}

/// Reads an implicitly tagged name (`[n] IMPLICIT Name`, tag checked by the caller) under
/// [`NAME_DECODING`].
pub(crate) fn read_dn(e: &Element<'_>) -> DecodeResult<DistinguishedName> {
    DistinguishedName::decode_contents_with(e, &NAME_DECODING)
}

/// [`read_dn`]'s checks without building the name.
pub(crate) fn check_dn(e: &Element<'_>) -> DecodeResult<()> {
    DistinguishedName::check_contents_with(e, &NAME_DECODING)
}

/// Whether two names are the same (compared by their DER encodings).
pub fn same_name(a: &DistinguishedName, b: &DistinguishedName) -> bool {
    // Equal values have equal encodings; only unequal ones (which may still differ only in
    // the order of an RDN's attributes, which DER sorts) are encoded to compare.
    a == b || a.to_der() == b.to_der()
}

// ---------------------------------------------------------------------------------------------
// Small building blocks

/// An `AlgorithmIdentifier`, kept as its contents octets (the OBJECT IDENTIFIER and the
/// optional parameters, without the SEQUENCE header): the form of rustls-pki-types'
/// `AlgorithmIdentifier` and of [`guls_crypto::SignatureAlgorithm::signature_alg_id`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlgorithmIdentifier(pub Vec<u8>);

impl AlgorithmIdentifier {
    /// The identifier of a signature algorithm.
    pub fn of(alg: guls_crypto::SignatureAlgorithm) -> Self {
        AlgorithmIdentifier(alg.signature_alg_id().as_ref().to_vec())
    }

    /// The signature algorithm this identifies, if the provider API knows it (exact match).
    pub fn signature_algorithm(&self) -> Option<guls_crypto::SignatureAlgorithm> {
        signature_algorithm_of(&self.0)
    }

    pub(crate) fn write(&self, w: &mut Writer, tag: Tag) {
        w.constructed(tag, |w| w.raw(&self.0));
    }

    pub(crate) fn read(e: &Element<'_>) -> DecodeResult<Self> {
        Self::check(e)?;
        Ok(AlgorithmIdentifier(e.contents.to_vec()))
    }

    /// [`AlgorithmIdentifier::read`]'s checks without keeping the value.
    pub(crate) fn check(e: &Element<'_>) -> DecodeResult<()> {
        let mut r = e.reader()?;
        r.read_tagged(Tag::OID, "algorithm OBJECT IDENTIFIER")?
            .oid("algorithm")?;
        if !r.is_empty() {
            r.read()?;
        }
        r.finish("AlgorithmIdentifier")
    }
}

/// The signature algorithm an `AlgorithmIdentifier`'s contents identify
/// ([`AlgorithmIdentifier::signature_algorithm`] on contents where they lie).
pub(crate) fn signature_algorithm_of(contents: &[u8]) -> Option<guls_crypto::SignatureAlgorithm> {
    guls_crypto::SignatureAlgorithm::ALL
        .iter()
        .copied()
        .find(|a| a.signature_alg_id().as_ref() == contents)
}

pub(crate) fn read_bits(e: &Element<'_>, what: &'static str) -> DecodeResult<BitString> {
    let b = e.bit_string(what)?;
    random_limit(e, b.bytes.len(), what)?;
    Ok(b)
}

/// [`read_bits`]'s checks (the same errors for the same input) without copying the bits: a
/// primitive encoding is checked where it lies, a segmented one is read.
pub(crate) fn check_bits(e: &Element<'_>, what: &'static str) -> DecodeResult<()> {
    match e.primitive_bit_string()? {
        Some((_, bytes)) => random_limit(e, bytes.len(), what),
        None => read_bits(e, what).map(|_| ()),
    }
}

/// At most [`MAX_RANDOM_OCTETS`] octets of bits.
fn random_limit(e: &Element<'_>, len: usize, what: &'static str) -> DecodeResult<()> {
    if len > MAX_RANDOM_OCTETS {
        return Err(e.error(ErrorKind::LimitExceeded {
            what,
            limit: MAX_RANDOM_OCTETS,
        }));
    }
    Ok(())
}

/// Checks one certificate: a complete `SEQUENCE` TLV (kept as raw DER), given where it lies.
fn certificate_tlv<'a>(e: &Element<'a>) -> DecodeResult<&'a [u8]> {
    if e.tag != Tag::SEQUENCE || e.indefinite {
        return Err(unexpected(e, "Certificate SEQUENCE (definite length)"));
    }
    Ok(e.raw)
}

/// A certificate's place in a [`CertificationPath`], as [`CertificationPath::walk`] meets it.
pub(crate) enum PathPart {
    /// `userCertificate`.
    User,
    /// `theCACertificates` is present (no certificate with it).
    CaList,
    /// A new `CertificatePair` begins (no certificate with it).
    Pair,
    /// The current pair's `forward [0]`.
    Forward,
    /// The current pair's `reverse [1]`.
    Reverse,
}

/// A `UTCTime` or a `GeneralizedTime`, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Time {
    /// `UTCTime` (1950–2049).
    Utc(u64),
    /// `GeneralizedTime`.
    Generalized(u64),
}

impl Time {
    /// Seconds since the Unix epoch.
    pub fn secs(self) -> u64 {
        match self {
            Time::Utc(t) | Time::Generalized(t) => t,
        }
    }

    fn write(self, w: &mut Writer) {
        match self {
            Time::Utc(t) => w.primitive(Tag::universal(23), time::utc_time_string(t).as_bytes()),
            Time::Generalized(t) => {
                w.primitive(Tag::universal(24), time::generalized_time(t).as_bytes())
            }
        }
    }

    fn read(e: &Element<'_>) -> DecodeResult<Self> {
        match (e.tag.class, e.tag.number) {
            (Class::Universal, 23) => time::parse_utc_time(&e.octets("UTCTime")?)
                .map(Time::Utc)
                .ok_or_else(|| e.error(ErrorKind::Invalid("UTCTime"))),
            (Class::Universal, 24) => time::parse_generalized_time(&e.octets("GeneralizedTime")?)
                .map(Time::Generalized)
                .ok_or_else(|| e.error(ErrorKind::Invalid("GeneralizedTime"))),
            _ => Err(unexpected(e, "UTCTime or GeneralizedTime")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SecurityProblem

/// X.511 `SecurityProblem` (the parameter of X.830's authenticationFailure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProblem {
    /// `inappropriateAuthentication (1)`.
    InappropriateAuthentication,
    /// `invalidCredentials (2)`.
    InvalidCredentials,
    /// `insufficientAccessRights (3)`.
    InsufficientAccessRights,
    /// `invalidSignature (4)`.
    InvalidSignature,
    /// `protectionRequired (5)`.
    ProtectionRequired,
    /// `noInformation (6)`.
    NoInformation,
    /// `blockedCredentials (7)`.
    BlockedCredentials,
    /// `invalidQOPMatch (8)`.
    InvalidQopMatch,
    /// `spkmError (9)`.
    SpkmError,
    /// Any other value (later editions add some).
    Other(i64),
}

impl SecurityProblem {
    /// The INTEGER value.
    pub fn value(self) -> i64 {
        match self {
            SecurityProblem::InappropriateAuthentication => 1,
            SecurityProblem::InvalidCredentials => 2,
            SecurityProblem::InsufficientAccessRights => 3,
            SecurityProblem::InvalidSignature => 4,
            SecurityProblem::ProtectionRequired => 5,
            SecurityProblem::NoInformation => 6,
            SecurityProblem::BlockedCredentials => 7,
            SecurityProblem::InvalidQopMatch => 8,
            SecurityProblem::SpkmError => 9,
            SecurityProblem::Other(v) => v,
        }
    }

    /// The problem with INTEGER value `v`.
    pub fn from_value(v: i64) -> Self {
        match v {
            1 => SecurityProblem::InappropriateAuthentication,
            2 => SecurityProblem::InvalidCredentials,
            3 => SecurityProblem::InsufficientAccessRights,
            4 => SecurityProblem::InvalidSignature,
            5 => SecurityProblem::ProtectionRequired,
            6 => SecurityProblem::NoInformation,
            7 => SecurityProblem::BlockedCredentials,
            8 => SecurityProblem::InvalidQopMatch,
            9 => SecurityProblem::SpkmError,
            v => SecurityProblem::Other(v),
        }
    }
}

impl fmt::Display for SecurityProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            SecurityProblem::InappropriateAuthentication => "inappropriateAuthentication",
            SecurityProblem::InvalidCredentials => "invalidCredentials",
            SecurityProblem::InsufficientAccessRights => "insufficientAccessRights",
            SecurityProblem::InvalidSignature => "invalidSignature",
            SecurityProblem::ProtectionRequired => "protectionRequired",
            SecurityProblem::NoInformation => "noInformation",
            SecurityProblem::BlockedCredentials => "blockedCredentials",
            SecurityProblem::InvalidQopMatch => "invalidQOPMatch",
            SecurityProblem::SpkmError => "spkmError",
            SecurityProblem::Other(v) => return write!(f, "securityProblem({v})"),
        };
        f.write_str(name)
    }
}

impl ItemType for SecurityProblem {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let e = whole(tlv, "SecurityProblem")?;
        if e.tag != Tag::INTEGER {
            return Err(unexpected(&e, "SecurityProblem INTEGER"));
        }
        e.integer("SecurityProblem", 8)
            .map(SecurityProblem::from_value)
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.integer(Tag::INTEGER, self.value());
        w.into_bytes()
    }
}

// ---------------------------------------------------------------------------------------------
// Certification path

/// X.509 `CertificatePair ::= SEQUENCE { forward [0] Certificate OPTIONAL, reverse [1]
/// Certificate OPTIONAL }` (explicit tags: the AuthenticationFramework module).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CertificatePair {
    /// `forward [0]`: the certificate issued *to* the CA below (raw DER).
    pub forward: Option<Vec<u8>>,
    /// `reverse [1]` (raw DER).
    pub reverse: Option<Vec<u8>>,
}

/// X.509 `CertificationPath ::= SEQUENCE { userCertificate Certificate, theCACertificates
/// SEQUENCE OF CertificatePair OPTIONAL }`. Certificates are raw DER.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CertificationPath {
    /// `userCertificate`: the end-entity certificate.
    pub user_certificate: Vec<u8>,
    /// `theCACertificates`, from the user's issuer upwards.
    pub ca_certificates: Option<Vec<CertificatePair>>,
}

impl CertificationPath {
    /// A path from an end-entity certificate and its issuers (nearest first), each issuer
    /// certificate carried as the `forward` element of a pair.
    pub fn from_chain(chain: &[Vec<u8>]) -> Self {
        let (user, cas) = chain
            .split_first()
            .map_or((Vec::new(), &[][..]), |(u, r)| (u.clone(), r));
        CertificationPath {
            user_certificate: user,
            ca_certificates: (!cas.is_empty()).then(|| {
                cas.iter()
                    .map(|c| CertificatePair {
                        forward: Some(c.clone()),
                        reverse: None,
                    })
                    .collect()
            }),
        }
    }

    /// The chain for path validation: the user certificate, then every `forward` certificate.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        let mut out = vec![self.user_certificate.clone()];
        for pair in self.ca_certificates.iter().flatten() {
            out.extend(pair.forward.clone());
        }
        out
    }

    /// [`CertificationPath::chain`] without copying the certificates.
    pub fn chain_refs(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(1 + self.ca_certificates.as_ref().map_or(0, Vec::len));
        out.push(self.user_certificate.as_slice());
        for pair in self.ca_certificates.iter().flatten() {
            out.extend(pair.forward.as_deref());
        }
        out
    }

    /// Calls `f` with [`CertificationPath::chain_refs`], held on the stack when the path has
    /// at most [`MAX_CA_PAIRS`] forward certificates (every decoded path), else in a `Vec`.
    pub(crate) fn with_chain_refs<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        let mut stack: [&[u8]; 1 + MAX_CA_PAIRS] = [&[]; 1 + MAX_CA_PAIRS];
        stack[0] = &self.user_certificate;
        let mut n = 1;
        for c in self
            .ca_certificates
            .iter()
            .flatten()
            .filter_map(|p| p.forward.as_deref())
        {
            if n == stack.len() {
                return f(&self.chain_refs());
            }
            stack[n] = c;
            n += 1;
        }
        f(&stack[..n])
    }

    /// The encoded length of the path's contents (for sizing buffers).
    pub(crate) fn contents_len_hint(&self) -> usize {
        self.user_certificate.len()
            + self
                .ca_certificates
                .iter()
                .flatten()
                .map(|p| {
                    p.forward.as_ref().map_or(0, |c| c.len() + 8)
                        + p.reverse.as_ref().map_or(0, |c| c.len() + 8)
                        + 8
                })
                .sum::<usize>()
            + 8
    }

    /// Writes the path under `tag` (`Tag::SEQUENCE` or an implicit context tag).
    pub fn write(&self, w: &mut Writer, tag: Tag) {
        w.constructed(tag, |w| {
            w.raw(&self.user_certificate);
            if let Some(pairs) = &self.ca_certificates {
                w.constructed(Tag::SEQUENCE, |w| {
                    for p in pairs {
                        w.constructed(Tag::SEQUENCE, |w| {
                            if let Some(c) = &p.forward {
                                w.constructed(Tag::context(0), |w| w.raw(c));
                            }
                            if let Some(c) = &p.reverse {
                                w.constructed(Tag::context(1), |w| w.raw(c));
                            }
                        });
                    }
                });
            }
        });
    }

    /// Reads the contents of a path whatever its (constructed) outer tag.
    pub fn read(e: &Element<'_>) -> DecodeResult<Self> {
        let mut path = CertificationPath::default();
        Self::walk(e, |part, cert| match part {
            PathPart::User => path.user_certificate = cert.to_vec(),
            PathPart::CaList => path.ca_certificates = Some(Vec::new()),
            PathPart::Pair => path
                .ca_certificates
                .get_or_insert_with(Vec::new)
                .push(CertificatePair::default()),
            PathPart::Forward | PathPart::Reverse => {
                if let Some(pair) = path.ca_certificates.as_mut().and_then(|p| p.last_mut()) {
                    let slot = match part {
                        PathPart::Forward => &mut pair.forward,
                        _ => &mut pair.reverse,
                    };
                    *slot = Some(cert.to_vec());
                }
            }
        })?;
        Ok(path)
    }

    /// [`CertificationPath::read`]'s checks (the same errors for the same input) without
    /// copying the certificates.
    pub(crate) fn check(e: &Element<'_>) -> DecodeResult<()> {
        Self::walk(e, |_, _| {})
    }

    /// Walks a path's contents, handing each part to `each` in order.
    pub(crate) fn walk<'a>(
        e: &Element<'a>,
        mut each: impl FnMut(PathPart, &'a [u8]),
    ) -> DecodeResult<()> {
        let mut r = e.reader()?;
        let user = certificate_tlv(&r.read_tagged(Tag::SEQUENCE, "userCertificate")?)?;
        each(PathPart::User, user);
        if let Some(seq) = r.read_optional(Tag::SEQUENCE)? {
            each(PathPart::CaList, &[]);
            let mut sr = seq.reader()?;
            let mut pairs = 0usize;
            while !sr.is_empty() {
                if pairs == MAX_CA_PAIRS {
                    return Err(sr.error(ErrorKind::LimitExceeded {
                        what: "CA certificate pairs",
                        limit: MAX_CA_PAIRS,
                    }));
                }
                let pe = sr.read_tagged(Tag::SEQUENCE, "CertificatePair")?;
                let mut pr = pe.reader()?;
                each(PathPart::Pair, &[]);
                if let Some(f) = pr.read_optional(Tag::context(0))? {
                    each(PathPart::Forward, explicit_certificate_tlv(&f)?);
                }
                if let Some(f) = pr.read_optional(Tag::context(1))? {
                    each(PathPart::Reverse, explicit_certificate_tlv(&f)?);
                }
                pr.finish("CertificatePair")?;
                pairs += 1;
            }
        }
        r.finish("CertificationPath")
    }
}

fn explicit_certificate_tlv<'a>(e: &Element<'a>) -> DecodeResult<&'a [u8]> {
    let mut r = e.reader()?;
    let c = certificate_tlv(&r.read()?)?;
    r.finish("certificate")?;
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// Token

/// The `toBeSigned` part of an X.511 `Token` (1993/1997 components; later extension
/// components are kept raw in `extensions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenContent {
    /// `algorithm [0]`: the signature algorithm (must equal the SIGNED algorithm).
    pub algorithm: AlgorithmIdentifier,
    /// `name [1]`: the *intended recipient's* distinguished name.
    pub name: DistinguishedName,
    /// `time [2]`: the token's time (UTCTime; GeneralizedTime, explicitly tagged, past 2049).
    pub time: u64,
    /// `random [3]`.
    pub random: BitString,
    /// `response [4]`: the random of the token being answered (two-way authentication).
    pub response: Option<BitString>,
    /// Later components (`[5]`…, e.g. bindIntAlgorithm), complete TLVs, kept as received.
    pub extensions: Vec<Vec<u8>>,
}

/// The DER of a `TokenContent` from borrowed parts (what [`TokenContent::encode`] writes).
pub(crate) fn encode_token_content(
    algorithm: &AlgorithmIdentifier,
    name: &DistinguishedName,
    time: u64,
    random: &BitString,
    response: Option<&BitString>,
    extensions: &[Vec<u8>],
) -> Vec<u8> {
    let mut w = Writer::from_vec(Vec::with_capacity(256), LengthForm::Definite);
    w.constructed(Tag::SEQUENCE, |w| {
        algorithm.write(w, Tag::context(0));
        name.encode_der_implicit(w, Tag::context(1));
        if time <= time::UTC_TIME_MAX {
            w.primitive(Tag::context(2), time::utc_time_string(time).as_bytes());
        } else {
            w.constructed(Tag::context(2), |w| Time::Generalized(time).write(w));
        }
        w.bit_string(Tag::context(3), random);
        if let Some(r) = response {
            w.bit_string(Tag::context(4), r);
        }
        for x in extensions {
            w.raw(x);
        }
    });
    w.into_bytes()
}

impl TokenContent {
    /// The DER of `SEQUENCE { algorithm [0], name [1], time [2], random [3], response [4] … }`.
    pub fn encode(&self) -> Vec<u8> {
        encode_token_content(
            &self.algorithm,
            &self.name,
            self.time,
            &self.random,
            self.response.as_ref(),
            &self.extensions,
        )
    }

    fn read(e: &Element<'_>) -> DecodeResult<Self> {
        let mut extensions = Vec::new();
        let (algorithm, name, time, random, response) =
            Self::walk(e, AlgorithmIdentifier::read, read_dn, |x| {
                extensions.push(x.to_vec())
            })?;
        Ok(TokenContent {
            algorithm,
            name,
            time,
            random,
            response,
            extensions,
        })
    }

    /// [`TokenContent::read`]'s checks without building the value.
    fn check(e: &Element<'_>) -> DecodeResult<()> {
        Self::walk(e, AlgorithmIdentifier::check, check_dn, |_| {}).map(|_| ())
    }

    /// Reads the components in order: the algorithm and the name through the functions
    /// given, each extension component handed to `extension`.
    #[allow(clippy::type_complexity)]
    fn walk<'a, A, N>(
        e: &Element<'a>,
        algorithm: impl FnOnce(&Element<'a>) -> DecodeResult<A>,
        name: impl FnOnce(&Element<'a>) -> DecodeResult<N>,
        mut extension: impl FnMut(&'a [u8]),
    ) -> DecodeResult<(A, N, u64, BitString, Option<BitString>)> {
        if e.tag != Tag::SEQUENCE {
            return Err(unexpected(e, "Token toBeSigned SEQUENCE"));
        }
        let mut r = e.reader()?;
        let a = r.read_tagged(Tag::context(0).constructed(), "algorithm [0]")?;
        let algorithm = algorithm(&a)?;
        let n = r.read_tagged(Tag::context(1).constructed(), "name [1]")?;
        let name = name(&n)?;
        let t = r
            .read_optional(Tag::context(2))?
            .ok_or_else(|| r.error(ErrorKind::Missing("time [2]")))?;
        let time = if t.tag.constructed {
            // The later `Time` CHOICE, explicitly tagged.
            let mut tr = t.reader()?;
            let v = Time::read(&tr.read()?)?;
            tr.finish("time [2]")?;
            v.secs()
        } else {
            time::parse_utc_time(t.contents).ok_or_else(|| t.error(ErrorKind::Invalid("time")))?
        };
        let random = read_bits(
            &r.read_optional(Tag::context(3))?
                .ok_or_else(|| r.error(ErrorKind::Missing("random [3]")))?,
            "random",
        )?;
        let response = match r.read_optional(Tag::context(4))? {
            Some(x) => Some(read_bits(&x, "response")?),
            None => None,
        };
        let mut extensions = 0usize;
        while !r.is_empty() {
            let x = r.read()?;
            if x.tag.class != Class::Context || x.tag.number < 5 || extensions >= 16 {
                return Err(unexpected(&x, "a Token extension component [5]…"));
            }
            extension(x.raw);
            extensions += 1;
        }
        Ok((algorithm, name, time, random, response))
    }
}

/// X.511 `Token ::= SIGNED { TokenContent }` — `SEQUENCE { toBeSigned, algorithmIdentifier,
/// encrypted BIT STRING }`. The signed octets are kept exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    content: TokenContent,
    tbs_der: Vec<u8>,
    /// The SIGNED `algorithmIdentifier`.
    pub algorithm: AlgorithmIdentifier,
    /// The signature (`encrypted`).
    pub signature: BitString,
}

impl Token {
    /// A token over `content` (encoded in DER) with the given signature.
    pub fn new(
        content: TokenContent,
        algorithm: AlgorithmIdentifier,
        signature: BitString,
    ) -> Self {
        Token {
            tbs_der: content.encode(),
            content,
            algorithm,
            signature,
        }
    }

    /// The signed content.
    pub fn content(&self) -> &TokenContent {
        &self.content
    }

    /// The octets the signature covers (the `toBeSigned` TLV as received or encoded).
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    fn read(e: &Element<'_>) -> DecodeResult<Self> {
        let (content, tbs_der, algorithm, signature) =
            Self::walk(e, TokenContent::read, AlgorithmIdentifier::read)?;
        Ok(Token {
            content,
            tbs_der: tbs_der.to_vec(),
            algorithm,
            signature,
        })
    }

    /// [`Token::read`]'s checks without building the value.
    fn check(e: &Element<'_>) -> DecodeResult<()> {
        Self::walk(e, TokenContent::check, AlgorithmIdentifier::check).map(|_| ())
    }

    /// Reads the components in order, the signed content and the algorithm through the
    /// functions given; gives the signed octets where they lie.
    fn walk<'a, C, A>(
        e: &Element<'a>,
        content: impl FnOnce(&Element<'a>) -> DecodeResult<C>,
        algorithm: impl FnOnce(&Element<'a>) -> DecodeResult<A>,
    ) -> DecodeResult<(C, &'a [u8], A, BitString)> {
        let mut r = e.reader()?;
        let tbs = r.read_tagged(Tag::SEQUENCE, "Token toBeSigned")?;
        let content = content(&tbs)?;
        let algorithm = algorithm(&r.read_tagged(Tag::SEQUENCE, "algorithmIdentifier")?)?;
        let s = r
            .read_optional(Tag::BIT_STRING)?
            .ok_or_else(|| r.error(ErrorKind::Missing("Token signature BIT STRING")))?;
        let signature = s.bit_string("Token signature")?;
        if signature.bytes.len() > 2048 {
            return Err(err(
                &s,
                ErrorKind::LimitExceeded {
                    what: "signature octets",
                    limit: 2048,
                },
            ));
        }
        r.finish("Token")?;
        Ok((content, tbs.raw, algorithm, signature))
    }
}

/// Writes a `Token` from its signed octets, algorithm and signature under `tag`.
fn write_token(w: &mut Writer, tag: Tag, token: TokenParts<'_>) {
    w.constructed(tag, |w| {
        w.raw(token.tbs_der);
        token.algorithm.write(w, Tag::SEQUENCE);
        w.bit_string(Tag::BIT_STRING, token.signature);
    });
}

/// The DER of `Credentials` `strong [1]` from borrowed parts (what [`Credentials::encode`]
/// writes for [`Credentials::Strong`] without extensions): a role's own path and name are
/// written where its identity holds them, not copied into a [`StrongCredentials`] first.
pub(crate) fn encode_strong_credentials(
    certification_path: Option<&CertificationPath>,
    tbs_der: &[u8],
    algorithm: &AlgorithmIdentifier,
    signature: &BitString,
    name: Option<&DistinguishedName>,
) -> Vec<u8> {
    let size = certification_path.map_or(0, CertificationPath::contents_len_hint)
        + tbs_der.len()
        + signature.bytes.len()
        + 256;
    let mut w = Writer::from_vec(Vec::with_capacity(size), LengthForm::Definite);
    let token = TokenParts {
        tbs_der,
        algorithm,
        signature,
    };
    write_strong(&mut w, certification_path, token, name, &[]);
    w.into_bytes()
}

/// A `Token`'s parts, borrowed: what [`write_token`] writes.
#[derive(Clone, Copy)]
struct TokenParts<'a> {
    tbs_der: &'a [u8],
    algorithm: &'a AlgorithmIdentifier,
    signature: &'a BitString,
}

impl<'a> From<&'a Token> for TokenParts<'a> {
    fn from(t: &'a Token) -> Self {
        TokenParts {
            tbs_der: &t.tbs_der,
            algorithm: &t.algorithm,
            signature: &t.signature,
        }
    }
}

/// Writes `Credentials` `strong [1]` (`StrongCredentials`) from borrowed parts.
fn write_strong<'a>(
    w: &mut Writer,
    certification_path: Option<&CertificationPath>,
    token: impl Into<TokenParts<'a>>,
    name: Option<&DistinguishedName>,
    extensions: &[Vec<u8>],
) {
    let token = token.into();
    w.constructed(Tag::context(1), |w| {
        if let Some(p) = certification_path {
            p.write(w, Tag::context(0));
        }
        write_token(w, Tag::context(1), token);
        if let Some(n) = name {
            n.encode_der_implicit(w, Tag::context(2));
        }
        for x in extensions {
            w.raw(x);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Credentials

/// X.511 `StrongCredentials ::= SET { certification-path [0] CertificationPath OPTIONAL,
/// bind-token [1] Token, name [2] DistinguishedName OPTIONAL, … }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StrongCredentials {
    /// `certification-path [0]`.
    pub certification_path: Option<CertificationPath>,
    /// `bind-token [1]`.
    pub bind_token: Token,
    /// `name [2]`: the sender's name.
    pub name: Option<DistinguishedName>,
    /// Later members (e.g. `attributeCertificationPath [3]`), complete TLVs, kept as received.
    pub extensions: Vec<Vec<u8>>,
}

/// `validity [1] SET { time1 [0] CHOICE {UTCTime, GeneralizedTime} OPTIONAL, time2 [1] …
/// OPTIONAL, random1 [2] BIT STRING OPTIONAL, random2 [3] BIT STRING OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Validity {
    /// `time1 [0]`.
    pub time1: Option<Time>,
    /// `time2 [1]`.
    pub time2: Option<Time>,
    /// `random1 [2]`.
    pub random1: Option<BitString>,
    /// `random2 [3]`.
    pub random2: Option<BitString>,
}

/// `password [2] CHOICE { unprotected OCTET STRING, protected SIGNATURE { OCTET STRING } }`.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// `unprotected`: the password itself (zeroized on drop, never printed).
    Unprotected(SecretBytes),
    /// `protected`: `SEQUENCE { algorithmIdentifier, encrypted BIT STRING }` (a hash/signature
    /// of the password, time and random).
    Protected {
        /// The algorithm.
        algorithm: AlgorithmIdentifier,
        /// The protected value.
        value: BitString,
    },
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Password::Unprotected(_) => f.write_str("Password::Unprotected(<redacted>)"),
            Password::Protected { algorithm, .. } => f
                .debug_struct("Password::Protected")
                .field("algorithm", algorithm)
                .finish_non_exhaustive(),
        }
    }
}

/// X.511 `SimpleCredentials ::= SEQUENCE { name [0] DistinguishedName, validity [1] SET {…}
/// OPTIONAL, password [2] CHOICE {…} OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCredentials {
    /// `name [0]`: the sender's name.
    pub name: DistinguishedName,
    /// `validity [1]`.
    pub validity: Option<Validity>,
    /// `password [2]`.
    pub password: Option<Password>,
}

/// X.511 `Credentials ::= CHOICE { simple [0] SimpleCredentials, strong [1] StrongCredentials,
/// externalProcedure [2] EXTERNAL, spkm [3] SpkmCredentials }` (IMPLICIT TAGS module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `simple [0]`.
    Simple(SimpleCredentials),
    /// `strong [1]`.
    Strong(StrongCredentials),
    /// `externalProcedure [2]`: the contents octets of the EXTERNAL, kept raw.
    ExternalProcedure(Vec<u8>),
    /// `spkm [3]` (explicit): the inner TLV, kept raw.
    Spkm(Vec<u8>),
}

impl Credentials {
    fn write(&self, w: &mut Writer) {
        match self {
            Credentials::Simple(s) => w.constructed(Tag::context(0), |w| {
                s.name.encode_der_implicit(w, Tag::context(0));
                if let Some(v) = &s.validity {
                    w.constructed(Tag::context(1), |w| {
                        if let Some(t) = v.time1 {
                            w.constructed(Tag::context(0), |w| t.write(w));
                        }
                        if let Some(t) = v.time2 {
                            w.constructed(Tag::context(1), |w| t.write(w));
                        }
                        if let Some(b) = &v.random1 {
                            w.bit_string(Tag::context(2), b);
                        }
                        if let Some(b) = &v.random2 {
                            w.bit_string(Tag::context(3), b);
                        }
                    });
                }
                if let Some(p) = &s.password {
                    w.constructed(Tag::context(2), |w| match p {
                        Password::Unprotected(b) => w.primitive(Tag::OCTET_STRING, b.as_bytes()),
                        Password::Protected { algorithm, value } => {
                            w.constructed(Tag::SEQUENCE, |w| {
                                algorithm.write(w, Tag::SEQUENCE);
                                w.bit_string(Tag::BIT_STRING, value);
                            })
                        }
                    });
                }
            }),
            Credentials::Strong(s) => write_strong(
                w,
                s.certification_path.as_ref(),
                &s.bind_token,
                s.name.as_ref(),
                &s.extensions,
            ),
            Credentials::ExternalProcedure(c) => {
                w.constructed(Tag::context(2), |w| w.raw(c));
            }
            Credentials::Spkm(c) => w.constructed(Tag::context(3), |w| w.raw(c)),
        }
    }

    fn read(e: &Element<'_>) -> DecodeResult<Self> {
        if e.tag.class != Class::Context || !e.tag.constructed {
            return Err(unexpected(e, "Credentials [0]..[3]"));
        }
        match e.tag.number {
            0 => read_simple(e).map(Credentials::Simple),
            1 => read_strong(e).map(Credentials::Strong),
            2 => {
                // EXTERNAL contents: checked to be well-formed elements, kept raw.
                let mut r = e.reader()?;
                while !r.is_empty() {
                    r.read()?;
                }
                Ok(Credentials::ExternalProcedure(e.contents.to_vec()))
            }
            3 => {
                let mut r = e.reader()?;
                let inner = r.read()?;
                r.finish("spkm [3]")?;
                Ok(Credentials::Spkm(inner.raw.to_vec()))
            }
            _ => Err(unexpected(e, "Credentials [0]..[3]")),
        }
    }
}

fn read_simple(e: &Element<'_>) -> DecodeResult<SimpleCredentials> {
    let mut r = e.reader()?;
    let name = read_dn(&r.read_tagged(Tag::context(0).constructed(), "simple name [0]")?)?;
    let validity = match r.read_optional(Tag::context(1))? {
        None => None,
        Some(v) => {
            let mut vr = v.reader()?;
            let mut out = Validity::default();
            while !vr.is_empty() {
                let x = vr.read()?;
                match (x.tag.class, x.tag.number) {
                    (Class::Context, 0) | (Class::Context, 1) => {
                        let mut tr = x.reader()?;
                        let t = Time::read(&tr.read()?)?;
                        tr.finish("validity time")?;
                        let slot = if x.tag.number == 0 {
                            &mut out.time1
                        } else {
                            &mut out.time2
                        };
                        if slot.replace(t).is_some() {
                            return Err(x.error(ErrorKind::Invalid("duplicate validity time")));
                        }
                    }
                    (Class::Context, 2) | (Class::Context, 3) => {
                        let b = read_bits(&x, "validity random")?;
                        let slot = if x.tag.number == 2 {
                            &mut out.random1
                        } else {
                            &mut out.random2
                        };
                        if slot.replace(b).is_some() {
                            return Err(x.error(ErrorKind::Invalid("duplicate validity random")));
                        }
                    }
                    _ => return Err(unexpected(&x, "validity member [0]..[3]")),
                }
            }
            Some(out)
        }
    };
    let password = match r.read_optional(Tag::context(2))? {
        None => None,
        Some(p) => {
            let mut pr = p.reader()?;
            let x = pr.read()?;
            pr.finish("password [2]")?;
            Some(if x.tag.same_number(Tag::OCTET_STRING) {
                let bytes = x.octets("password")?;
                if bytes.len() > 1024 {
                    return Err(x.error(ErrorKind::LimitExceeded {
                        what: "password octets",
                        limit: 1024,
                    }));
                }
                Password::Unprotected(SecretBytes::from(&bytes[..]))
            } else if x.tag == Tag::SEQUENCE {
                let mut sr = x.reader()?;
                let algorithm = AlgorithmIdentifier::read(
                    &sr.read_tagged(Tag::SEQUENCE, "protected algorithmIdentifier")?,
                )?;
                let value = read_bits(
                    &sr.read_tagged(Tag::BIT_STRING, "protected encrypted")?,
                    "protected password",
                )?;
                sr.finish("protected password")?;
                Password::Protected { algorithm, value }
            } else {
                return Err(unexpected(
                    &x,
                    "unprotected OCTET STRING or protected SEQUENCE",
                ));
            })
        }
    };
    r.finish("SimpleCredentials")?;
    Ok(SimpleCredentials {
        name,
        validity,
        password,
    })
}

fn read_strong(e: &Element<'_>) -> DecodeResult<StrongCredentials> {
    let mut extensions = Vec::new();
    let (certification_path, bind_token, name) =
        walk_strong(e, CertificationPath::read, Token::read, read_dn, |x| {
            extensions.push(x.to_vec())
        })?;
    // DER order of SET members is by tag: keep unknown members sorted too.
    extensions.sort();
    Ok(StrongCredentials {
        certification_path,
        bind_token,
        name,
        extensions,
    })
}

/// [`read_strong`]'s checks without building the value.
fn check_strong(e: &Element<'_>) -> DecodeResult<()> {
    walk_strong(e, CertificationPath::check, Token::check, check_dn, |_| {}).map(|_| ())
}

/// Reads the members of `StrongCredentials` (a SET: any order, each at most once) through
/// the functions given; each unknown member is handed to `extension`.
fn walk_strong<'a, P, T, N>(
    e: &Element<'a>,
    mut path: impl FnMut(&Element<'a>) -> DecodeResult<P>,
    mut token: impl FnMut(&Element<'a>) -> DecodeResult<T>,
    mut name: impl FnMut(&Element<'a>) -> DecodeResult<N>,
    mut extension: impl FnMut(&'a [u8]),
) -> DecodeResult<(Option<P>, T, Option<N>)> {
    let mut r = e.reader()?;
    let (mut p, mut t, mut n, mut extensions) = (None, None, None, 0usize);
    // A SET: members in any order, each at most once.
    while !r.is_empty() {
        let x = r.read()?;
        if x.tag.class != Class::Context || !x.tag.constructed {
            return Err(unexpected(&x, "StrongCredentials member"));
        }
        let dup = match x.tag.number {
            0 => p.replace(path(&x)?).is_some(),
            1 => t.replace(token(&x)?).is_some(),
            2 => n.replace(name(&x)?).is_some(),
            _ if extensions < 8 => {
                extension(x.raw);
                extensions += 1;
                false
            }
            _ => return Err(unexpected(&x, "StrongCredentials member")),
        };
        if dup {
            return Err(x.error(ErrorKind::Invalid("duplicate StrongCredentials member")));
        }
    }
    let t = t.ok_or_else(|| e.error(ErrorKind::Missing("bind-token [1]")))?;
    Ok((p, t, n))
}

impl ItemType for Credentials {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let e = whole(tlv, "Credentials")?;
        Credentials::read(&e)
    }

    /// The checks of [`ItemType::decode`] (the same errors for the same input); `strong [1]`
    /// credentials are checked without copying their certificates and names.
    fn validate(tlv: &[u8]) -> DecodeResult<()> {
        let e = whole(tlv, "Credentials")?;
        if e.tag.class == Class::Context && e.tag.constructed && e.tag.number == 1 {
            check_strong(&e)
        } else {
            Credentials::read(&e).map(|_| ())
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `with_chain_refs` lends exactly `chain_refs`, however many certificates the path has.
    #[test]
    fn with_chain_refs_is_chain_refs() {
        for cas in 0..MAX_CA_PAIRS + 3 {
            let chain: Vec<Vec<u8>> = (0..=cas).map(|i| vec![i as u8; i + 1]).collect();
            let mut path = CertificationPath::from_chain(&chain);
            if let Some(pairs) = path.ca_certificates.as_mut() {
                pairs.push(CertificatePair::default());
            }
            let expected = path.chain_refs();
            path.with_chain_refs(|c| assert_eq!(c, expected.as_slice()));
        }
    }

    /// `check_bits` accepts exactly what `read_bits` reads, with the same error otherwise.
    #[test]
    fn check_bits_agrees_with_read_bits() {
        let long = [vec![0x03, 0x82, 0x01, 0x02, 0x00], vec![0xAA; 257]].concat();
        let inputs: Vec<Vec<u8>> = vec![
            vec![0x03, 0x00],
            vec![0x03, 0x01, 0x00],
            vec![0x03, 0x01, 0x03],
            vec![0x03, 0x02, 0x08, 0xFF],
            vec![0x03, 0x02, 0x07, 0x80],
            vec![0x03, 0x03, 0x00, 0x12, 0x34],
            long,
            vec![0x23, 0x06, 0x03, 0x02, 0x00, 0x01, 0x03, 0x00],
            vec![0x23, 0x08, 0x03, 0x02, 0x01, 0x80, 0x03, 0x02, 0x00, 0x01],
        ];
        for tlv in &inputs {
            let e = Reader::new(tlv, LAYER).read().expect("a TLV");
            assert_eq!(
                check_bits(&e, "signature"),
                read_bits(&e, "signature").map(|_| ()),
                "{tlv:02x?}"
            );
        }
    }
}
