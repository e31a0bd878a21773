//! Certificates, CRLs and private keys: loading from PEM or DER, the size limits applied to a
//! peer's certification path, and [`CertError`], the typed error of everything certificate
//! related, with its X.511 `SecurityProblem` ([`CertError::security_problem`]).

use std::fmt;
use std::path::Path;

use guls_crypto::rustls_pki_types::pem::PemObject;
use guls_crypto::rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use guls_crypto::{CryptoProvider, KeyType, Pkcs8Der, SigningKey, key_type_of_pkcs8};
use zeroize::Zeroizing;

/// Largest DER certificate accepted, in octets (from a peer or a file). Real certificates are
/// a few hundred octets to a few KiB (an RSA-8192 certificate with many extensions stays under
/// 4 KiB); anything longer is refused before it is parsed.
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;

/// Most certificates in a peer's certification path, the end-entity certificate included.
pub const MAX_CHAIN_LEN: usize = 8;

/// Largest certificate, CRL or key file read, in octets.
pub const MAX_FILE_LEN: usize = 4 * 1024 * 1024;

/// X.511 `SecurityProblem` (DirectoryAbstractService): the parameter of X.830's
/// `authenticationFailure` error. Values 1 to 9 are those of the 1997 edition that X.830 (1995)
/// imports; 10 to 12 were added by later editions of X.511.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SecurityProblem {
    /// inappropriateAuthentication (1).
    InappropriateAuthentication = 1,
    /// invalidCredentials (2).
    InvalidCredentials = 2,
    /// insufficientAccessRights (3).
    InsufficientAccessRights = 3,
    /// invalidSignature (4).
    InvalidSignature = 4,
    /// protectionRequired (5).
    ProtectionRequired = 5,
    /// noInformation (6).
    NoInformation = 6,
    /// blockedCredentials (7).
    BlockedCredentials = 7,
    /// invalidQOPMatch (8).
    InvalidQopMatch = 8,
    /// spkmError (9).
    SpkmError = 9,
    /// unsupportedAuthenticationMethod (10).
    UnsupportedAuthenticationMethod = 10,
    /// passwordExpired (11).
    PasswordExpired = 11,
    /// inappropriateAlgorithms (12).
    InappropriateAlgorithms = 12,
}

impl SecurityProblem {
    /// The INTEGER value sent in the error parameter.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The ASN.1 identifier, e.g. `invalidCredentials`.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProblem::InappropriateAuthentication => "inappropriateAuthentication",
            SecurityProblem::InvalidCredentials => "invalidCredentials",
            SecurityProblem::InsufficientAccessRights => "insufficientAccessRights",
            SecurityProblem::InvalidSignature => "invalidSignature",
            SecurityProblem::ProtectionRequired => "protectionRequired",
            SecurityProblem::NoInformation => "noInformation",
            SecurityProblem::BlockedCredentials => "blockedCredentials",
            SecurityProblem::InvalidQopMatch => "invalidQOPMatch",
            SecurityProblem::SpkmError => "spkmError",
            SecurityProblem::UnsupportedAuthenticationMethod => "unsupportedAuthenticationMethod",
            SecurityProblem::PasswordExpired => "passwordExpired",
            SecurityProblem::InappropriateAlgorithms => "inappropriateAlgorithms",
        }
    }
}

impl fmt::Display for SecurityProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.value())
    }
}

/// Why a certificate, a certification path, a CRL, a key or an identity binding was refused.
///
/// Each variant maps onto one X.511 `SecurityProblem` ([`CertError::problem`]):
///
/// | variants | SecurityProblem |
/// |---|---|
/// | `TooLarge`, `ChainTooLong`, `EmptyChain`, `Truncated`, `Malformed`, `Expired`, `NotYetValid`, `UnknownIssuer`, `InvalidPath`, `KeyUsage`, `ExtendedKeyUsage`, `RevocationStatusUnknown`, `CrlExpired`, `TitleMismatch`, `NoTitleBinding`, `TitleBindingMismatch`, `UnsupportedTitleForm` | invalidCredentials (2) |
/// | `BadSignature` | invalidSignature (4) |
/// | `Revoked` | blockedCredentials (7) |
/// | `AlgorithmNotAccepted` | inappropriateAlgorithms (12) |
/// | `NoTrustAnchors` | inappropriateAuthentication (1) |
/// | `Io`, `Pem`, `MalformedCrl`, `PrivateKey`, `Internal` (local problems, not the peer's) | noInformation (6) |
///
/// Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// A file could not be read.
    #[error("{file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's message.
        message: String,
    },
    /// PEM text without a section of the expected kind, or with bad base64.
    #[error("PEM: {0}")]
    Pem(String),
    /// A certificate longer than [`MAX_CERTIFICATE_LEN`] (refused before parsing).
    #[error("certificate of {len} octets exceeds the limit of {max} octets")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More certificates than [`MAX_CHAIN_LEN`].
    #[error("certification path of {len} certificates exceeds the limit of {max}")]
    ChainTooLong {
        /// The number of certificates.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No certificate at all.
    #[error("no certificate given")]
    EmptyChain,
    /// The DER encoding ends before the length its header announces.
    #[error("truncated certificate: the header announces {expected} octets, {available} present")]
    Truncated {
        /// Octets announced (header included).
        expected: usize,
        /// Octets present.
        available: usize,
    },
    /// Not a DER X.509 certificate (garbage, trailing octets, a bad field).
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// A CRL that does not parse.
    #[error("malformed CRL: {0}")]
    MalformedCrl(String),
    /// A private key that does not load, or does not belong to the certificate.
    #[error("private key: {0}")]
    PrivateKey(String),
    /// No trust anchor is configured: no certificate can be accepted.
    #[error("no trust anchors configured")]
    NoTrustAnchors,
    /// A certificate of the path expired before the validation time (seconds since the Unix
    /// epoch; the clock skew allowance already applied).
    #[error("certificate expired at {not_after} (validation time {time})")]
    Expired {
        /// notAfter.
        not_after: u64,
        /// The validation time.
        time: u64,
    },
    /// A certificate of the path is not valid yet at the validation time.
    #[error("certificate not valid before {not_before} (validation time {time})")]
    NotYetValid {
        /// notBefore.
        not_before: u64,
        /// The validation time.
        time: u64,
    },
    /// No path to a trust anchor: an unknown CA, or an intermediate certificate missing.
    #[error("no certification path to a trust anchor (unknown issuer or missing intermediate)")]
    UnknownIssuer,
    /// A signature in the path does not verify.
    #[error("a certificate or CRL signature does not verify")]
    BadSignature,
    /// A signature or key algorithm in the path that the policy (or the provider) does not
    /// accept.
    #[error("algorithm not accepted: {0}")]
    AlgorithmNotAccepted(String),
    /// The certificate or one of its issuers is on a CRL.
    #[error("certificate revoked")]
    Revoked,
    /// CRLs are configured but none is authoritative for a certificate of the path.
    #[error("revocation status unknown: no CRL covers a certificate of the path")]
    RevocationStatusUnknown,
    /// The authoritative CRL's nextUpdate is before the validation time.
    #[error("the CRL is out of date (nextUpdate passed)")]
    CrlExpired,
    /// The end-entity certificate's keyUsage does not allow digitalSignature.
    #[error("key usage: {0}")]
    KeyUsage(String),
    /// An extended key usage that the policy does not accept.
    #[error("extended key usage: {0}")]
    ExtendedKeyUsage(String),
    /// Another path validation failure (basic constraints, name constraints, a CA used as an
    /// end entity, unsupported critical extension, ...), as rustls-webpki names it.
    #[error("invalid certification path: {0}")]
    InvalidPath(String),
    /// A form 1 AP-title that is neither the certificate's subject, nor the subject followed
    /// by the AE-qualifier, nor a directoryName of its subjectAltName.
    #[error("AP-title {ap_title} does not match certificate subject {subject}")]
    TitleMismatch {
        /// The AP-title claimed.
        ap_title: String,
        /// The certificate's subject.
        subject: String,
    },
    /// A form 2 AP-title without an entry in the policy's binding table.
    #[error("AP-title {ap_title} has no binding to a certificate in the policy")]
    NoTitleBinding {
        /// The AP-title claimed.
        ap_title: String,
    },
    /// The binding table names this AP-title, but for another subject or key.
    #[error("AP-title {ap_title} is bound to {expected}, not to certificate subject {subject}")]
    TitleBindingMismatch {
        /// The AP-title claimed.
        ap_title: String,
        /// What the table expects.
        expected: String,
        /// The certificate's subject.
        subject: String,
    },
    /// An AP-title form that cannot be bound to a certificate (forms 3, 4 and unknown ones).
    #[error(
        "AP-title {ap_title}: only forms 1 (Directory name) and 2 (object identifier) bind to certificates"
    )]
    UnsupportedTitleForm {
        /// The AP-title claimed.
        ap_title: String,
    },
    /// A local failure (for instance the provider has no SHA-256).
    #[error("internal: {0}")]
    Internal(String),
}

impl CertError {
    /// The X.511 `SecurityProblem` (see the table on [`CertError`]).
    pub fn problem(&self) -> SecurityProblem {
        match self {
            CertError::TooLarge { .. }
            | CertError::ChainTooLong { .. }
            | CertError::EmptyChain
            | CertError::Truncated { .. }
            | CertError::Malformed(_)
            | CertError::Expired { .. }
            | CertError::NotYetValid { .. }
            | CertError::UnknownIssuer
            | CertError::InvalidPath(_)
            | CertError::KeyUsage(_)
            | CertError::ExtendedKeyUsage(_)
            | CertError::RevocationStatusUnknown
            | CertError::CrlExpired
            | CertError::TitleMismatch { .. }
            | CertError::NoTitleBinding { .. }
            | CertError::TitleBindingMismatch { .. }
            | CertError::UnsupportedTitleForm { .. } => SecurityProblem::InvalidCredentials,
            CertError::BadSignature => SecurityProblem::InvalidSignature,
            CertError::Revoked => SecurityProblem::BlockedCredentials,
            CertError::AlgorithmNotAccepted(_) => SecurityProblem::InappropriateAlgorithms,
            CertError::NoTrustAnchors => SecurityProblem::InappropriateAuthentication,
            CertError::Io { .. }
            | CertError::Pem(_)
            | CertError::MalformedCrl(_)
            | CertError::PrivateKey(_)
            | CertError::Internal(_) => SecurityProblem::NoInformation,
        }
    }

    /// The X.511 `SecurityProblem` value (INTEGER) for an `authenticationFailure` error.
    pub fn security_problem(&self) -> u8 {
        self.problem().value()
    }

    /// A short stable name for audit logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            CertError::Io { .. } => "io",
            CertError::Pem(_) => "pem",
            CertError::TooLarge { .. } => "certificate-too-large",
            CertError::ChainTooLong { .. } => "chain-too-long",
            CertError::EmptyChain => "empty-chain",
            CertError::Truncated { .. } => "truncated-certificate",
            CertError::Malformed(_) => "malformed-certificate",
            CertError::MalformedCrl(_) => "malformed-crl",
            CertError::PrivateKey(_) => "private-key",
            CertError::NoTrustAnchors => "no-trust-anchors",
            CertError::Expired { .. } => "certificate-expired",
            CertError::NotYetValid { .. } => "certificate-not-yet-valid",
            CertError::UnknownIssuer => "unknown-issuer",
            CertError::BadSignature => "bad-signature",
            CertError::AlgorithmNotAccepted(_) => "algorithm-not-accepted",
            CertError::Revoked => "certificate-revoked",
            CertError::RevocationStatusUnknown => "revocation-status-unknown",
            CertError::CrlExpired => "crl-expired",
            CertError::KeyUsage(_) => "key-usage",
            CertError::ExtendedKeyUsage(_) => "extended-key-usage",
            CertError::InvalidPath(_) => "invalid-path",
            CertError::TitleMismatch { .. } => "ap-title-mismatch",
            CertError::NoTitleBinding { .. } => "ap-title-not-bound",
            CertError::TitleBindingMismatch { .. } => "ap-title-binding-mismatch",
            CertError::UnsupportedTitleForm { .. } => "ap-title-form-unsupported",
            CertError::Internal(_) => "internal",
        }
    }
}

/// Checks the outer DER header of one certificate: a SEQUENCE with a definite length that
/// covers exactly `der` ([`CertError::TooLarge`] first, then [`CertError::Truncated`] or
/// [`CertError::Malformed`]).
pub(crate) fn check_der_envelope(der: &[u8]) -> Result<(), CertError> {
    if der.len() > MAX_CERTIFICATE_LEN {
        return Err(CertError::TooLarge {
            len: der.len(),
            max: MAX_CERTIFICATE_LEN,
        });
    }
    let total = der_element_len(der)?;
    if total > der.len() {
        return Err(CertError::Truncated {
            expected: total,
            available: der.len(),
        });
    }
    if total < der.len() {
        return Err(CertError::Malformed(format!(
            "{} octets after the certificate",
            der.len() - total
        )));
    }
    Ok(())
}

/// The total length (header + contents) that the SEQUENCE header at the front of `der`
/// announces.
fn der_element_len(der: &[u8]) -> Result<usize, CertError> {
    let bad = |m: &str| CertError::Malformed(m.to_string());
    match der.first() {
        None => return Err(bad("empty input")),
        Some(0x30) => {}
        Some(_) => return Err(bad("not a DER SEQUENCE")),
    }
    let Some(&first) = der.get(1) else {
        return Err(CertError::Truncated {
            expected: 2,
            available: der.len(),
        });
    };
    if first < 0x80 {
        return Ok(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 {
        return Err(bad("indefinite length (not DER)"));
    }
    if n > 4 {
        return Err(bad("length of length too large"));
    }
    if der.len() < 2 + n {
        return Err(CertError::Truncated {
            expected: 2 + n,
            available: der.len(),
        });
    }
    let len = der[2..2 + n]
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok(2 + n + len)
}

fn is_pem(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    data[start..].starts_with(b"-----BEGIN ")
}

fn pem_error(kind: &str, e: &guls_crypto::rustls_pki_types::pem::Error) -> CertError {
    use guls_crypto::rustls_pki_types::pem::Error as E;
    CertError::Pem(match e {
        E::NoItemsFound => format!("no {kind} section"),
        other => format!("{kind}: {other:?}"),
    })
}

/// Splits concatenated DER elements (each a SEQUENCE; a file may hold several certificates or
/// CRLs back to back).
fn split_der(data: &[u8]) -> Result<Vec<&[u8]>, CertError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let len = der_element_len(rest)?;
        if len > rest.len() {
            return Err(CertError::Truncated {
                expected: len,
                available: rest.len(),
            });
        }
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    Ok(out)
}

/// Certificates from PEM text (every `CERTIFICATE` section, in order; other sections are
/// skipped) or from DER (one certificate, or several concatenated). Each is checked with
/// x509-parser; none may exceed [`MAX_CERTIFICATE_LEN`]. A chain file lists the end-entity
/// certificate first, then its issuers.
pub fn certificates_from_pem_or_der(
    data: &[u8],
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs: Vec<CertificateDer<'static>> = if is_pem(data) {
        CertificateDer::pem_slice_iter(data)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("CERTIFICATE", &e))?
    } else {
        split_der(data)?
            .into_iter()
            .map(|d| CertificateDer::from(d.to_vec()))
            .collect()
    };
    if certs.is_empty() {
        return Err(if is_pem(data) {
            CertError::Pem("no CERTIFICATE section".into())
        } else {
            CertError::EmptyChain
        });
    }
    for c in &certs {
        parse_certificate(c)?;
    }
    Ok(certs)
}

/// [`certificates_from_pem_or_der`] on a file.
pub fn load_certificates(
    path: impl AsRef<Path>,
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    certificates_from_pem_or_der(&read_file(path.as_ref())?)
}

/// CRLs from PEM text (every `X509 CRL` section) or DER (one or several concatenated), each
/// checked by rustls-webpki's parser.
pub fn crls_from_pem_or_der(
    data: &[u8],
) -> Result<Vec<CertificateRevocationListDer<'static>>, CertError> {
    let crls: Vec<CertificateRevocationListDer<'static>> = if is_pem(data) {
        CertificateRevocationListDer::pem_slice_iter(data)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("X509 CRL", &e))?
    } else {
        split_der(data)
            .map_err(|e| CertError::MalformedCrl(e.to_string()))?
            .into_iter()
            .map(|d| CertificateRevocationListDer::from(d.to_vec()))
            .collect()
    };
    if crls.is_empty() {
        return Err(CertError::Pem("no X509 CRL section".into()));
    }
    for c in &crls {
        webpki::OwnedCertRevocationList::from_der(c.as_ref())
            .map_err(|e| CertError::MalformedCrl(format!("{e:?}")))?;
    }
    Ok(crls)
}

/// [`crls_from_pem_or_der`] on a file.
pub fn load_crls(
    path: impl AsRef<Path>,
) -> Result<Vec<CertificateRevocationListDer<'static>>, CertError> {
    crls_from_pem_or_der(&read_file(path.as_ref())?)
}

/// A PKCS #8 private key from PEM (`-----BEGIN PRIVATE KEY-----`) or DER, with its key type
/// checked (Ed25519, ECDSA P-256/P-384, RSA). Zeroized on drop.
pub fn pkcs8_from_pem_or_der(data: &[u8]) -> Result<Pkcs8Der, CertError> {
    let der = if is_pem(data) {
        guls_crypto::pkcs8_from_pem(data).map_err(|e| CertError::PrivateKey(e.to_string()))?
    } else {
        Pkcs8Der::new(data.to_vec())
    };
    key_type_of_pkcs8(der.as_bytes()).map_err(|e| CertError::PrivateKey(e.to_string()))?;
    Ok(der)
}

/// Loads a PKCS #8 private key (PEM or DER) with the provider's [`guls_crypto::KeyProvider`].
pub fn private_key_from_pem_or_der(
    data: &[u8],
    provider: &CryptoProvider,
) -> Result<Box<dyn SigningKey>, CertError> {
    let der = pkcs8_from_pem_or_der(data)?;
    provider
        .key_provider
        .load_private_key(der.as_bytes())
        .map_err(|e| CertError::PrivateKey(e.to_string()))
}

/// [`private_key_from_pem_or_der`] on a file (the file's octets are zeroized after use).
pub fn load_private_key(
    path: impl AsRef<Path>,
    provider: &CryptoProvider,
) -> Result<Box<dyn SigningKey>, CertError> {
    let data = Zeroizing::new(read_file(path.as_ref())?);
    private_key_from_pem_or_der(&data, provider)
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, CertError> {
    let io = |message: String| CertError::Io {
        file: path.display().to_string(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if meta.len() > MAX_FILE_LEN as u64 {
        return Err(io(format!("larger than {MAX_FILE_LEN} octets")));
    }
    std::fs::read(path).map_err(|e| io(e.to_string()))
}

/// Parses one DER certificate with x509-parser after the envelope checks.
pub(crate) fn parse_certificate(
    der: &[u8],
) -> Result<x509_parser::certificate::X509Certificate<'_>, CertError> {
    check_der_envelope(der)?;
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(CertError::Malformed(format!(
            "{} octets after the certificate",
            rest.len()
        ))),
        Err(e) => Err(CertError::Malformed(e.to_string())),
    }
}

/// The key type of a certificate's SubjectPublicKeyInfo, if it is one this project signs with.
pub(crate) fn key_type_of_spki(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Option<KeyType> {
    let alg = spki.algorithm.algorithm.as_bytes();
    for kt in [
        KeyType::Ed25519,
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa,
    ] {
        if alg != kt.algorithm_oid().as_der_contents() {
            continue;
        }
        match kt.curve_oid() {
            None => return Some(kt),
            Some(curve) => {
                let param = spki.algorithm.parameters.as_ref()?;
                if param.tag() == x509_parser::asn1_rs::Tag::Oid
                    && param.data == curve.as_der_contents()
                {
                    return Some(kt);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope() {
        assert!(matches!(
            check_der_envelope(&[]),
            Err(CertError::Malformed(_))
        ));
        assert!(matches!(
            check_der_envelope(&[0x30]),
            Err(CertError::Truncated { .. })
        ));
        assert!(matches!(
            check_der_envelope(&[0x30, 0x82, 0x01]),
            Err(CertError::Truncated { .. })
        ));
        assert!(matches!(
            check_der_envelope(&[0x30, 0x03, 0x01]),
            Err(CertError::Truncated {
                expected: 5,
                available: 3
            })
        ));
        assert!(matches!(
            check_der_envelope(&[0x30, 0x00, 0x00]),
            Err(CertError::Malformed(_))
        ));
        assert!(matches!(
            check_der_envelope(&[0x30, 0x80, 0x00, 0x00]),
            Err(CertError::Malformed(_))
        ));
        assert!(matches!(
            check_der_envelope(&vec![0x30; MAX_CERTIFICATE_LEN + 1]),
            Err(CertError::TooLarge { .. })
        ));
        assert!(check_der_envelope(&[0x30, 0x00]).is_ok());
    }

    #[test]
    fn problems() {
        assert_eq!(CertError::Revoked.security_problem(), 7);
        assert_eq!(CertError::BadSignature.security_problem(), 4);
        assert_eq!(CertError::UnknownIssuer.security_problem(), 2);
        assert_eq!(
            CertError::AlgorithmNotAccepted(String::new()).security_problem(),
            12
        );
        assert_eq!(
            SecurityProblem::InvalidCredentials.to_string(),
            "invalidCredentials(2)"
        );
    }
}
