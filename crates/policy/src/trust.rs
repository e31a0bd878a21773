//! Certificate-based authentication of a peer: certification path validation to the policy's
//! trust anchors (rustls-webpki, with the crypto provider's signature algorithms), the
//! end-entity checks this project adds (key usage, extended key usage), and the binding of
//! the peer's AP-title to its certificate.
//!
//! # What is checked
//!
//! [`TrustStore::verify_path`], for a path given end-entity certificate first:
//!
//! 1. Sizes: 1 to [`MAX_CHAIN_LEN`] certificates, each at most [`MAX_CERTIFICATE_LEN`]
//!    octets, each exactly one DER certificate ([`CertError::TooLarge`],
//!    [`CertError::ChainTooLong`], [`CertError::Truncated`], [`CertError::Malformed`]).
//! 2. The signature algorithms are the provider's verifiers, filtered by
//!    [`TrustOptions::accepted_algorithms`]; the end-entity key must be of a type one of them
//!    verifies ([`CertError::AlgorithmNotAccepted`]), since the peer will sign with it.
//! 3. rustls-webpki builds a path to one of the trust anchors through the intermediates given,
//!    checking signatures, validity at the exchange time, basic constraints, path length and
//!    name constraints, and, when the store has CRLs, revocation
//!    ([`TrustOptions::revocation_depth`], [`TrustOptions::allow_unknown_revocation_status`],
//!    [`TrustOptions::enforce_crl_next_update`]).
//! 4. Clock skew: when a certificate is not yet valid at the exchange time `t`, the path is
//!    tried again at `t + skew`; when one has expired, at `t - skew`. The path is accepted if
//!    it is valid at one instant within the allowance; otherwise the error at `t` is reported.
//! 5. Extended key usage ([`ExtendedKeyUsageCheck`]; default: when a certificate of the path
//!    has the extension, it must list id-kp-clientAuth or id-kp-serverAuth — this project
//!    defines no key purpose of its own, and accepts either for either role).
//! 6. Key usage of the end-entity certificate ([`KeyUsageCheck`]): when present it must assert
//!    digitalSignature (the peer signs its exchange items); with
//!    [`KeyUsageCheck::Required`] it must also be present.
//!
//! [`TrustStore::authenticate`] then binds the AP-title (see there).
//!
//! # Verified signatures are remembered
//!
//! Checking a signature is a function of the algorithm, the public key, the signed octets and
//! the signature alone. The store remembers, by the SHA-256 of exactly those inputs, the
//! certificate and CRL signatures that verified during path validation
//! ([`TrustOptions::signature_cache`] entries, shared by the store's clones; only successes,
//! so a forged or altered certificate is checked, and refused, every time). A peer seen again
//! (the same certificates) so costs no certificate-signature verification; everything else in
//! steps 1 to 6 (path building, validity at the exchange time, constraints, revocation, key
//! usage) still runs every time. The exchange's own signatures (bind tokens, key agreement
//! transcripts) are fresh every time and never go through this memory.
//!
//! What is read from an end-entity certificate (subject, subjectAltName directoryNames, key,
//! keyUsage, extendedKeyUsage presence) is likewise a function of its octets and kept per
//! exact certificate ([`TrustOptions::certificate_cache`] end-entity certificates); `0` for
//! both options makes every association's path validation that of a first contact.
//!
//! # How certificates are read
//!
//! Before path validation every certificate of the path must be one DER certificate whose
//! structure holds (the fields of `tbsCertificate` with their tags and definite lengths, the
//! inside of its SubjectPublicKeyInfo, the envelope of each extension): else
//! [`CertError::Truncated`] or [`CertError::Malformed`], whatever else is wrong. The end
//! entity's pieces are then read straight from its DER (guls-ber), strictly (definite
//! lengths, nothing after the last field of an element read, each of keyUsage,
//! extendedKeyUsage and subjectAltName at most once with a DER critical flag); a piece that
//! does not read is [`CertError::Malformed`] where a check needs it, after rustls-webpki's
//! verdict on the path. Signatures, validity, constraints and the fields read nowhere else
//! are rustls-webpki's.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use guls_acse::{AeQualifier, ApTitle, DistinguishedName, RelativeDistinguishedName};
use guls_ber::Oid;
use guls_crypto::rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, SignatureVerificationAlgorithm, TrustAnchor,
    UnixTime,
};
use guls_crypto::{CryptoProvider, HashAlgorithm, KeyType, SignatureAlgorithm};
use webpki::{CertRevocationList, ExtendedKeyUsageValidator, KeyPurposeIdIter};

use crate::cert_read::read_structure;
use crate::certs::{
    CertError, MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN, certificates_from_pem_or_der, key_type_of_spki,
    parse_certificate,
};
use crate::names::{dn_from_x509, format_dn, names_match};

/// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
pub const KP_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// id-kp-clientAuth, 1.3.6.1.5.5.7.3.2.
pub const KP_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
/// anyExtendedKeyUsage, 2.5.29.37.0.
pub const KP_ANY: &str = "2.5.29.37.0";

/// Default clock skew allowance: 300 seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The name of a signature algorithm in policy files (`accepted_signature_algorithms`).
pub fn signature_algorithm_name(a: SignatureAlgorithm) -> &'static str {
    match a {
        SignatureAlgorithm::Ed25519 => "ed25519",
        SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        SignatureAlgorithm::EcdsaP384Sha384 => "ecdsa-p384-sha384",
        SignatureAlgorithm::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
        SignatureAlgorithm::RsaPkcs1Sha384 => "rsa-pkcs1-sha384",
        SignatureAlgorithm::RsaPssSha256 => "rsa-pss-sha256",
        SignatureAlgorithm::RsaPssSha384 => "rsa-pss-sha384",
        _ => "unknown",
    }
}

/// Parses a name of [`signature_algorithm_name`] (ASCII case ignored).
pub fn parse_signature_algorithm(name: &str) -> Option<SignatureAlgorithm> {
    SignatureAlgorithm::ALL
        .iter()
        .copied()
        .find(|a| signature_algorithm_name(*a).eq_ignore_ascii_case(name.trim()))
}

/// How the end-entity certificate's keyUsage extension is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyUsageCheck {
    /// When present it must assert digitalSignature; absent is accepted (RFC 5280: no
    /// restriction). The default.
    #[default]
    IfPresent,
    /// It must be present and assert digitalSignature.
    Required,
}

/// How extendedKeyUsage is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendedKeyUsageCheck {
    /// Not checked at all.
    Any,
    /// Each certificate of the path that has the extension must list one of these purposes
    /// (rustls-webpki checks issuers the same way as the end entity).
    IfPresent(Vec<Oid>),
    /// As `IfPresent`, and the end-entity certificate must have the extension.
    Required(Vec<Oid>),
}

impl Default for ExtendedKeyUsageCheck {
    /// `IfPresent([id-kp-clientAuth, id-kp-serverAuth])`.
    fn default() -> Self {
        ExtendedKeyUsageCheck::IfPresent(vec![
            KP_CLIENT_AUTH.parse().expect("valid OID"),
            KP_SERVER_AUTH.parse().expect("valid OID"),
        ])
    }
}

/// Which certificates of the path CRLs are consulted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevocationDepth {
    /// The end-entity certificate only.
    EndEntity,
    /// The end-entity and every intermediate certificate. The default.
    #[default]
    Chain,
}

/// Options of a [`TrustStore`]; `Default` is the documented default of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustOptions {
    /// Clock skew allowance for certificate validity (default [`DEFAULT_CLOCK_SKEW`]).
    pub clock_skew: Duration,
    /// Signature algorithms accepted in the path and for the end-entity key; `None` (the
    /// default) accepts every algorithm the provider verifies.
    pub accepted_algorithms: Option<Vec<SignatureAlgorithm>>,
    /// keyUsage check (default [`KeyUsageCheck::IfPresent`]).
    pub key_usage: KeyUsageCheck,
    /// extendedKeyUsage check (default `IfPresent([clientAuth, serverAuth])`).
    pub extended_key_usage: ExtendedKeyUsageCheck,
    /// Which certificates CRLs are consulted for, when the store has CRLs (default `Chain`).
    pub revocation_depth: RevocationDepth,
    /// Accept a certificate for which no configured CRL is authoritative (default `false`:
    /// [`CertError::RevocationStatusUnknown`]). Without any CRL nothing is checked.
    pub allow_unknown_revocation_status: bool,
    /// Refuse a CRL whose nextUpdate has passed (default `true`: [`CertError::CrlExpired`]).
    pub enforce_crl_next_update: bool,
    /// How many verified certificate and CRL signatures to remember (default
    /// [`DEFAULT_SIGNATURE_CACHE`]; `0` verifies every signature every time). See the module
    /// documentation: only the signature check is skipped for exactly the same inputs.
    pub signature_cache: usize,
    /// How many end-entity certificates' readings (names, key, extensions) to keep, by their
    /// exact octets (default [`DEFAULT_CERTIFICATE_CACHE`]; `0` reads every certificate every
    /// time). Only the reading is kept; every check of the path still runs. (Intermediates are
    /// only checked for their structure, which costs less than looking them up: nothing of
    /// theirs is kept.)
    pub certificate_cache: usize,
    /// How many accepted exchange tokens the replay caches made from this store remember
    /// (default [`DEFAULT_REPLAY_CACHE`], at least 1). Within the clock-skew window a token
    /// is refused when it was seen before, or when it is not newer than the newest token the
    /// cache had to evict for room (fail-closed: an evicted token can never be replayed). Under
    /// a load of `r` tokens per second the cache therefore covers the last `replay_cache / r`
    /// seconds: a peer whose clock lags by more than that is refused, and beyond
    /// `replay_cache` tokens within one second the rest of that second's are refused. Size it
    /// to `r` times the skew window (about 150 octets per token).
    pub replay_cache: usize,
}

/// Default [`TrustOptions::replay_cache`]: the exchanges' own default, 4096 tokens.
pub const DEFAULT_REPLAY_CACHE: usize = guls_exchanges::dirauth::DEFAULT_REPLAY_CAPACITY;

/// Largest [`TrustOptions::replay_cache`] a policy file may ask for.
pub const MAX_REPLAY_CACHE: usize = 1 << 22;

/// Default [`TrustOptions::signature_cache`]: 1024 verified signatures (32 octets each).
pub const DEFAULT_SIGNATURE_CACHE: usize = 1024;

/// Largest [`TrustOptions::signature_cache`] a policy file may ask for.
pub const MAX_SIGNATURE_CACHE: usize = 1 << 20;

/// Default [`TrustOptions::certificate_cache`]: 64 end-entity certificates.
pub const DEFAULT_CERTIFICATE_CACHE: usize = 64;

/// Largest [`TrustOptions::certificate_cache`] a policy file may ask for.
pub const MAX_CERTIFICATE_CACHE: usize = 1 << 16;

impl Default for TrustOptions {
    fn default() -> Self {
        TrustOptions {
            clock_skew: DEFAULT_CLOCK_SKEW,
            accepted_algorithms: None,
            key_usage: KeyUsageCheck::default(),
            extended_key_usage: ExtendedKeyUsageCheck::default(),
            revocation_depth: RevocationDepth::default(),
            allow_unknown_revocation_status: false,
            enforce_crl_next_update: true,
            signature_cache: DEFAULT_SIGNATURE_CACHE,
            certificate_cache: DEFAULT_CERTIFICATE_CACHE,
            replay_cache: DEFAULT_REPLAY_CACHE,
        }
    }
}

/// What an AP-title in the binding table must correspond to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingTarget {
    /// The certificate's subject (or a directoryName of its subjectAltName) equals this name.
    Subject(DistinguishedName),
    /// The SHA-256 of the certificate's DER `SubjectPublicKeyInfo` (the whole SEQUENCE, as
    /// `openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256sum` computes it).
    SpkiSha256([u8; 32]),
}

impl fmt::Display for BindingTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindingTarget::Subject(dn) => write!(f, "subject {}", format_dn(dn)),
            BindingTarget::SpkiSha256(h) => write!(f, "key sha256:{}", guls_ber::to_hex(h)),
        }
    }
}

#[derive(Debug, Clone)]
enum BindingKey {
    Oid(Oid),
    Dn(DistinguishedName),
}

#[derive(Debug, Clone)]
struct TitleBinding {
    key: BindingKey,
    target: BindingTarget,
}

/// A certification path that validated, with what was read from its end-entity certificate.
///
/// What was read from the end-entity certificate is shared with the trust store's memory of
/// certificates already read (the same octets read the same), not copied per validation; the
/// accessors lend it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCertificate {
    ee: Arc<EeCertificate>,
    chain_ders: Vec<Vec<u8>>,
    key_type: KeyType,
}

impl VerifiedCertificate {
    /// The end-entity certificate's subject.
    pub fn subject(&self) -> &DistinguishedName {
        &self.ee.subject.name
    }

    /// The subject as text ([`crate::format_dn`]).
    pub fn subject_text(&self) -> &str {
        self.ee.subject.text()
    }

    /// The subject's DER as [`DistinguishedName::to_der`] writes it (the form exchanges
    /// compare and report).
    pub fn subject_der(&self) -> &[u8] {
        &self.ee.subject.der
    }

    /// The directoryName entries of its subjectAltName.
    pub fn alt_directory_names(&self) -> &[DistinguishedName] {
        &self.ee.alt_directory_names
    }

    /// The end-entity certificate (DER).
    pub fn certificate_der(&self) -> &[u8] {
        &self.ee.der
    }

    /// The intermediate certificates of the validated path (DER), issuer of the end entity
    /// first; the trust anchor is not included.
    pub fn chain_ders(&self) -> &[Vec<u8>] {
        &self.chain_ders
    }

    /// The end-entity key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The end-entity public key: the `subjectPublicKey` contents (the format
    /// [`guls_crypto::SignatureVerifier::verify`] takes).
    pub fn public_key(&self) -> &[u8] {
        &self.ee.public_key
    }

    /// The end-entity DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.ee.spki_der
    }
}

/// A peer authenticated by certificate: what the application sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedPeer {
    /// The AP-title the peer claimed and that was bound to its certificate (`None` when the
    /// peer sent none: then only the certificate subject is authenticated).
    pub ap_title: Option<ApTitle>,
    /// The AE-qualifier the peer sent (bound only when it is part of the certificate subject,
    /// see [`TrustStore::authenticate`]).
    pub ae_qualifier: Option<AeQualifier>,
    /// The certificate's subject as text ([`crate::format_dn`]).
    pub subject: String,
    /// The end-entity certificate (DER).
    pub certificate_der: Vec<u8>,
    /// The intermediate certificates of the validated path (DER), issuer of the end entity
    /// first.
    pub chain_ders: Vec<Vec<u8>>,
    /// The end-entity key type.
    pub key_type: KeyType,
    /// The end-entity public key (`subjectPublicKey` contents).
    pub public_key: Vec<u8>,
}

impl AuthenticatedPeer {
    /// Verifies a signature made with the peer's certified key.
    pub fn verify_signature(
        &self,
        provider: &CryptoProvider,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CertError> {
        if algorithm.key_type() != self.key_type {
            return Err(CertError::AlgorithmNotAccepted(format!(
                "{} does not fit the certificate's {:?} key",
                signature_algorithm_name(algorithm),
                self.key_type
            )));
        }
        let v = provider.verifier(algorithm).ok_or_else(|| {
            CertError::AlgorithmNotAccepted(format!(
                "provider {} does not verify {}",
                provider.name,
                signature_algorithm_name(algorithm)
            ))
        })?;
        v.verify(&self.public_key, message, signature)
            .map_err(|_| CertError::BadSignature)
    }
}

/// Trust anchors, CRLs, options and the AP-title binding table: everything needed to
/// authenticate a peer by certificate. Cheap to clone (CRLs are shared).
#[derive(Clone)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    anchor_subjects: Vec<String>,
    crls: Arc<Vec<CertRevocationList<'static>>>,
    options: TrustOptions,
    bindings: Vec<TitleBinding>,
    /// Shared by clones: what it holds depends on certificate octets only.
    cache: Arc<CertCache>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("anchors", &self.anchor_subjects)
            .field("crls", &self.crls.len())
            .field("options", &self.options)
            .field("bindings", &self.bindings)
            .finish()
    }
}

impl TrustStore {
    /// A store trusting these certificates (each becomes a trust anchor: its subject, key and
    /// name constraints), with default options, no CRL and no binding.
    pub fn new(anchors: &[CertificateDer<'_>]) -> Result<Self, CertError> {
        let mut s = TrustStore {
            anchors: Vec::new(),
            anchor_subjects: Vec::new(),
            crls: Arc::new(Vec::new()),
            options: TrustOptions::default(),
            bindings: Vec::new(),
            cache: Arc::default(),
        };
        s.add_anchors(anchors)?;
        Ok(s)
    }

    /// A store trusting the certificates of PEM or DER data.
    pub fn from_pem_or_der(data: &[u8]) -> Result<Self, CertError> {
        Self::new(&certificates_from_pem_or_der(data)?)
    }

    /// Adds trust anchors.
    pub fn add_anchors(&mut self, anchors: &[CertificateDer<'_>]) -> Result<(), CertError> {
        for a in anchors {
            let parsed = parse_certificate(a)?;
            let subject = dn_from_x509(parsed.subject()).map_err(CertError::Malformed)?;
            let anchor = webpki::anchor_from_trusted_cert(a)
                .map_err(|e| CertError::Malformed(format!("trust anchor: {e}")))?
                .to_owned();
            self.anchors.push(anchor);
            self.anchor_subjects.push(format_dn(&subject));
        }
        Ok(())
    }

    /// Adds CRLs (DER); from then on revocation is checked (see [`TrustOptions`]).
    pub fn add_crls(&mut self, crls: &[CertificateRevocationListDer<'_>]) -> Result<(), CertError> {
        let mut all: Vec<CertRevocationList<'static>> = Vec::new();
        for c in crls {
            let owned = webpki::OwnedCertRevocationList::from_der(c.as_ref())
                .map_err(|e| CertError::MalformedCrl(format!("{e:?}")))?;
            all.push(owned.into());
        }
        match Arc::get_mut(&mut self.crls) {
            Some(v) => v.extend(all),
            None => {
                let mut v: Vec<CertRevocationList<'static>> = Vec::new();
                for c in self.crls.iter() {
                    if let CertRevocationList::Owned(o) = c {
                        v.push(o.clone().into());
                    }
                }
                v.extend(all);
                self.crls = Arc::new(v);
            }
        }
        Ok(())
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: TrustOptions) -> Self {
        self.options = options;
        self
    }

    /// The options.
    pub fn options(&self) -> &TrustOptions {
        &self.options
    }

    /// The options, to change them.
    pub fn options_mut(&mut self) -> &mut TrustOptions {
        &mut self.options
    }

    /// Adds an entry to the AP-title binding table: a form 2 AP-title (or, in addition to the
    /// built-in rule, a form 1 one) and the certificate it must come with. Several entries for
    /// one AP-title are alternatives (for key rollover). Forms 3 and 4 are refused with
    /// [`CertError::UnsupportedTitleForm`].
    pub fn add_binding(
        &mut self,
        ap_title: &ApTitle,
        target: BindingTarget,
    ) -> Result<(), CertError> {
        let key = match ap_title {
            ApTitle::Form1(dn) => BindingKey::Dn(dn.clone()),
            ApTitle::Form2(oid) => BindingKey::Oid(oid.clone()),
            other => {
                return Err(CertError::UnsupportedTitleForm {
                    ap_title: other.to_string(),
                });
            }
        };
        self.bindings.push(TitleBinding { key, target });
        Ok(())
    }

    /// The trust anchors' subjects ([`crate::format_dn`]).
    pub fn anchor_subjects(&self) -> &[String] {
        &self.anchor_subjects
    }

    /// The number of CRLs.
    pub fn crl_count(&self) -> usize {
        self.crls.len()
    }

    /// The number of binding table entries.
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }

    /// One line for summaries.
    pub fn describe(&self) -> String {
        let algs = match &self.options.accepted_algorithms {
            None => "every algorithm of the provider".to_string(),
            Some(a) => a
                .iter()
                .map(|a| signature_algorithm_name(*a))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let eku = match &self.options.extended_key_usage {
            ExtendedKeyUsageCheck::Any => "not checked".to_string(),
            ExtendedKeyUsageCheck::IfPresent(p) => format!("{} when present", oids(p)),
            ExtendedKeyUsageCheck::Required(p) => format!("{} required", oids(p)),
        };
        format!(
            "{} trust anchor{} ({}); {} CRL{}{}; clock skew {} s; algorithms: {}; key usage digitalSignature {}; extended key usage {}; {} AP-title binding{}",
            self.anchors.len(),
            if self.anchors.len() == 1 { "" } else { "s" },
            self.anchor_subjects.join("; "),
            self.crls.len(),
            if self.crls.len() == 1 { "" } else { "s" },
            if self.crls.is_empty() {
                String::new()
            } else {
                format!(
                    " (checked for {}, unknown status {}, nextUpdate {})",
                    match self.options.revocation_depth {
                        RevocationDepth::Chain => "the whole path",
                        RevocationDepth::EndEntity => "the end entity",
                    },
                    if self.options.allow_unknown_revocation_status {
                        "allowed"
                    } else {
                        "refused"
                    },
                    if self.options.enforce_crl_next_update {
                        "enforced"
                    } else {
                        "ignored"
                    }
                )
            },
            self.options.clock_skew.as_secs(),
            algs,
            match self.options.key_usage {
                KeyUsageCheck::IfPresent => "when present",
                KeyUsageCheck::Required => "required",
            },
            eku,
            self.bindings.len(),
            if self.bindings.len() == 1 { "" } else { "s" },
        )
    }

    /// Validates a certification path, end-entity certificate first then intermediates in any
    /// order, at `time` (the exchange's time, given by the caller), with the provider's
    /// signature algorithms. See the module documentation for every check.
    pub fn verify_path(
        &self,
        provider: &CryptoProvider,
        chain: &[&[u8]],
        time: UnixTime,
    ) -> Result<VerifiedCertificate, CertError> {
        self.verify_path_reading(provider, chain, time, Reading::Der)
    }

    /// [`Self::verify_path`] with the certificates read by x509-parser, as this crate read
    /// them before it read them with guls-ber (and without the memory of readings): the
    /// reference the tests and the fuzz target hold [`Self::verify_path`] to. Not part of the
    /// API.
    #[doc(hidden)]
    pub fn verify_path_x509_reference(
        &self,
        provider: &CryptoProvider,
        chain: &[&[u8]],
        time: UnixTime,
    ) -> Result<VerifiedCertificate, CertError> {
        self.verify_path_reading(provider, chain, time, Reading::X509Reference)
    }

    fn verify_path_reading(
        &self,
        provider: &CryptoProvider,
        chain: &[&[u8]],
        time: UnixTime,
        reading: Reading,
    ) -> Result<VerifiedCertificate, CertError> {
        if chain.is_empty() {
            return Err(CertError::EmptyChain);
        }
        if chain.len() > MAX_CHAIN_LEN {
            return Err(CertError::ChainTooLong {
                len: chain.len(),
                max: MAX_CHAIN_LEN,
            });
        }
        // Cheap structural checks on everything first.
        for c in chain {
            if c.len() > MAX_CERTIFICATE_LEN {
                return Err(CertError::TooLarge {
                    len: c.len(),
                    max: MAX_CERTIFICATE_LEN,
                });
            }
        }
        // What is read from the end entity depends on its octets alone: read once per
        // certificate and kept (see `CertCache`); every check below still runs. The
        // intermediates' structure is checked here; rustls-webpki reads those it uses.
        let ee = match reading {
            Reading::Der => self
                .cache
                .end_entity(chain[0], self.options.certificate_cache)?,
            Reading::X509Reference => Arc::new(EeFacts::read_x509(chain[0])?),
        };
        for c in &chain[1..] {
            match reading {
                Reading::Der => drop(read_structure(c)?),
                Reading::X509Reference => drop(parse_certificate(c)?),
            }
        }
        if self.anchors.is_empty() {
            return Err(CertError::NoTrustAnchors);
        }

        // Algorithms: the provider's, filtered, walked where they lie (no list per call).
        let verifiers = || {
            provider.signature_verifiers.iter().copied().filter(|v| {
                self.options
                    .accepted_algorithms
                    .as_ref()
                    .is_none_or(|a| a.contains(&v.algorithm()))
            })
        };
        let Some(first_verifier) = verifiers().next() else {
            return Err(CertError::AlgorithmNotAccepted(format!(
                "provider {} offers none of the accepted signature algorithms",
                provider.name
            )));
        };
        let key_type = ee.key_type.clone().map_err(|alg| {
            CertError::AlgorithmNotAccepted(format!(
                "end-entity key algorithm {alg} is not supported"
            ))
        })?;
        if !verifiers().any(|v| v.algorithm().key_type() == key_type) {
            return Err(CertError::AlgorithmNotAccepted(format!(
                "no accepted signature algorithm uses the end-entity's {key_type:?} key"
            )));
        }
        let sha256 = match self.options.signature_cache {
            0 => None,
            _ => provider.hash(HashAlgorithm::Sha256),
        };
        let remembering: Vec<RememberedVerifier<'_>> = match sha256 {
            Some(sha256) => verifiers()
                .map(|v| RememberedVerifier {
                    inner: v.as_webpki(),
                    algorithm: v.algorithm(),
                    sha256,
                    cache: &self.cache,
                    capacity: self.options.signature_cache,
                })
                .collect(),
            None => Vec::new(),
        };
        let mut stack_algs = [first_verifier.as_webpki(); STACK_ALGORITHMS];
        let mut more_algs = Vec::new();
        let algs = if remembering.is_empty() {
            stack_or_vec(
                verifiers().map(|v| v.as_webpki()),
                &mut stack_algs,
                &mut more_algs,
            )
        } else {
            stack_or_vec(
                remembering
                    .iter()
                    .map(|v| v as &dyn SignatureVerificationAlgorithm),
                &mut stack_algs,
                &mut more_algs,
            )
        };

        // Path validation.
        let ee_der = CertificateDer::from(chain[0]);
        // At most MAX_CHAIN_LEN - 1 intermediates (checked above): on the stack.
        let intermediates: [CertificateDer<'_>; MAX_CHAIN_LEN - 1] = std::array::from_fn(|i| {
            CertificateDer::from(chain.get(i + 1).copied().unwrap_or_default())
        });
        let intermediates = &intermediates[..chain.len() - 1];
        let end_entity = webpki::EndEntityCert::try_from(&ee_der).map_err(map_webpki)?;
        let crl_refs: Vec<&CertRevocationList<'static>> = self.crls.iter().collect();
        let revocation = if crl_refs.is_empty() {
            None
        } else {
            let builder = webpki::RevocationOptionsBuilder::new(&crl_refs)
                .map_err(|_| CertError::Internal("no CRL".into()))?;
            Some(
                builder
                    .with_depth(match self.options.revocation_depth {
                        RevocationDepth::Chain => webpki::RevocationCheckDepth::Chain,
                        RevocationDepth::EndEntity => webpki::RevocationCheckDepth::EndEntity,
                    })
                    .with_status_policy(if self.options.allow_unknown_revocation_status {
                        webpki::UnknownStatusPolicy::Allow
                    } else {
                        webpki::UnknownStatusPolicy::Deny
                    })
                    .with_expiration_policy(if self.options.enforce_crl_next_update {
                        webpki::ExpirationPolicy::Enforce
                    } else {
                        webpki::ExpirationPolicy::Ignore
                    })
                    .build(),
            )
        };
        let eku = EkuValidator {
            accepted: match &self.options.extended_key_usage {
                ExtendedKeyUsageCheck::Any => None,
                ExtendedKeyUsageCheck::IfPresent(p) | ExtendedKeyUsageCheck::Required(p) => Some(p),
            },
        };
        let run = |t: UnixTime| -> Result<Vec<Vec<u8>>, webpki::Error> {
            end_entity
                .verify_for_usage(
                    algs,
                    &self.anchors,
                    intermediates,
                    t,
                    &eku,
                    revocation,
                    None,
                )
                .map(|p| {
                    p.intermediate_certificates()
                        .map(|c| c.der().to_vec())
                        .collect()
                })
        };
        let skew = self.options.clock_skew.as_secs();
        let shifted = |secs: u64| UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let chain_ders = match run(time) {
            Ok(p) => p,
            Err(first @ webpki::Error::CertNotValidYet { .. }) if skew > 0 => {
                run(shifted(time.as_secs().saturating_add(skew))).map_err(|_| map_webpki(first))?
            }
            Err(first @ webpki::Error::CertExpired { .. }) if skew > 0 => {
                run(shifted(time.as_secs().saturating_sub(skew))).map_err(|_| map_webpki(first))?
            }
            Err(e) => return Err(map_webpki(e)),
        };

        // End-entity extensions.
        match (
            ee.key_usage.clone().map_err(CertError::Malformed)?,
            self.options.key_usage,
        ) {
            (Some(false), _) => {
                return Err(CertError::KeyUsage(
                    "the end-entity certificate's keyUsage does not assert digitalSignature".into(),
                ));
            }
            (None, KeyUsageCheck::Required) => {
                return Err(CertError::KeyUsage(
                    "the end-entity certificate has no keyUsage extension (the policy requires one asserting digitalSignature)".into(),
                ));
            }
            _ => {}
        }
        if let ExtendedKeyUsageCheck::Required(p) = &self.options.extended_key_usage {
            if !ee.eku_present.clone().map_err(CertError::Malformed)? {
                return Err(CertError::ExtendedKeyUsage(format!(
                    "the end-entity certificate has no extendedKeyUsage extension (the policy requires one of {})",
                    oids(p)
                )));
            }
        }
        let ee = ee.certificate.clone().map_err(CertError::Malformed)?;
        Ok(VerifiedCertificate {
            ee,
            chain_ders,
            key_type,
        })
    }

    /// Validates the path ([`Self::verify_path`]) and binds the peer's AP-title to it:
    ///
    /// - **No AP-title**: accepted; only the certificate subject is authenticated.
    /// - **Form 1** (Directory name): bound when it equals ([`crate::names_match`]) the
    ///   certificate's subject, or a directoryName of its subjectAltName; or, with a form 1
    ///   AE-qualifier, when the subject (or a directoryName) equals the AP-title followed by
    ///   the AE-qualifier's RDN (a certificate naming the AE rather than the AP); or when a
    ///   binding-table entry for this name matches. Otherwise [`CertError::TitleMismatch`].
    /// - **Form 2** (object identifier): only through the binding table: no entry is
    ///   [`CertError::NoTitleBinding`]; entries of which none matches (subject or
    ///   subjectAltName directoryName, or SPKI SHA-256) are
    ///   [`CertError::TitleBindingMismatch`].
    /// - **Forms 3, 4 and others**: [`CertError::UnsupportedTitleForm`].
    pub fn authenticate(
        &self,
        provider: &CryptoProvider,
        chain: &[&[u8]],
        ap_title: Option<&ApTitle>,
        ae_qualifier: Option<&AeQualifier>,
        time: UnixTime,
    ) -> Result<AuthenticatedPeer, CertError> {
        let v = self.verify_path(provider, chain, time)?;
        self.bind(provider, &v, ap_title, ae_qualifier)?;
        Ok(AuthenticatedPeer {
            ap_title: ap_title.cloned(),
            ae_qualifier: ae_qualifier.cloned(),
            subject: v.subject_text().to_owned(),
            certificate_der: v.certificate_der().to_vec(),
            key_type: v.key_type,
            public_key: v.public_key().to_vec(),
            chain_ders: v.chain_ders,
        })
    }

    /// The AP-title binding step of [`Self::authenticate`], for a path already validated.
    pub fn bind(
        &self,
        provider: &CryptoProvider,
        cert: &VerifiedCertificate,
        ap_title: Option<&ApTitle>,
        ae_qualifier: Option<&AeQualifier>,
    ) -> Result<(), CertError> {
        let names = || std::iter::once(cert.subject()).chain(cert.alt_directory_names());
        match ap_title {
            None => Ok(()),
            Some(ApTitle::Form1(dn)) => {
                if names().any(|n| names_match(n, dn)) {
                    return Ok(());
                }
                if let Some(AeQualifier::Form1(rdn)) = ae_qualifier {
                    let ae_title = with_rdn(dn, rdn);
                    if names().any(|n| names_match(n, &ae_title)) {
                        return Ok(());
                    }
                }
                for b in &self.bindings {
                    if let BindingKey::Dn(k) = &b.key {
                        if names_match(k, dn) && self.target_matches(provider, &b.target, cert)? {
                            return Ok(());
                        }
                    }
                }
                Err(CertError::TitleMismatch {
                    ap_title: format_dn(dn),
                    subject: cert.subject_text().to_owned(),
                })
            }
            Some(ApTitle::Form2(oid)) => {
                let entries: Vec<&TitleBinding> = self
                    .bindings
                    .iter()
                    .filter(|b| matches!(&b.key, BindingKey::Oid(o) if o == oid))
                    .collect();
                if entries.is_empty() {
                    return Err(CertError::NoTitleBinding {
                        ap_title: oid.to_string(),
                    });
                }
                for b in &entries {
                    if self.target_matches(provider, &b.target, cert)? {
                        return Ok(());
                    }
                }
                Err(CertError::TitleBindingMismatch {
                    ap_title: oid.to_string(),
                    expected: entries
                        .iter()
                        .map(|b| b.target.to_string())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    subject: cert.subject_text().to_owned(),
                })
            }
            Some(other) => Err(CertError::UnsupportedTitleForm {
                ap_title: other.to_string(),
            }),
        }
    }

    fn target_matches(
        &self,
        provider: &CryptoProvider,
        target: &BindingTarget,
        cert: &VerifiedCertificate,
    ) -> Result<bool, CertError> {
        Ok(match target {
            BindingTarget::Subject(dn) => {
                names_match(cert.subject(), dn)
                    || cert
                        .alt_directory_names()
                        .iter()
                        .any(|n| names_match(n, dn))
            }
            BindingTarget::SpkiSha256(expected) => {
                let h = provider.hash(HashAlgorithm::Sha256).ok_or_else(|| {
                    CertError::Internal(format!("provider {} has no SHA-256", provider.name))
                })?;
                h.hash(cert.spki_der()).as_bytes() == expected
            }
        })
    }
}

/// How many signature algorithms [`TrustStore::verify_path`] hands rustls-webpki from the
/// stack (more go into a `Vec`); providers have a handful.
const STACK_ALGORITHMS: usize = 16;

/// The items of `items` as one slice: in `stack` when they fit, else in `more`.
fn stack_or_vec<'b, T: Copy, const N: usize>(
    items: impl Iterator<Item = T>,
    stack: &'b mut [T; N],
    more: &'b mut Vec<T>,
) -> &'b [T] {
    let mut n = 0;
    for item in items {
        if n < N {
            stack[n] = item;
        } else {
            if more.is_empty() {
                more.extend_from_slice(&stack[..]);
            }
            more.push(item);
        }
        n += 1;
    }
    if n <= N { &stack[..n] } else { more }
}

/// A subject read from a certificate: the name, its DER, and its text, written the first
/// time it is asked for (the exchanges never ask on success; [`format_dn`] of `name`, so it
/// is left out of equality).
#[derive(Debug)]
pub(crate) struct Subject {
    pub(crate) name: DistinguishedName,
    text: std::sync::OnceLock<String>,
    pub(crate) der: Vec<u8>,
}

impl Subject {
    pub(crate) fn new(name: DistinguishedName) -> Self {
        Subject {
            der: name.to_der(),
            text: std::sync::OnceLock::new(),
            name,
        }
    }

    /// The name as text ([`format_dn`]).
    pub(crate) fn text(&self) -> &str {
        self.text.get_or_init(|| format_dn(&self.name))
    }
}

impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.der == other.der
    }
}

impl Eq for Subject {}

/// How [`TrustStore::verify_path_reading`] reads certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// With guls-ber ([`read_structure`], [`EeFacts::read`]).
    Der,
    /// With x509-parser, as before ([`parse_certificate`], [`EeFacts::read_x509`]).
    X509Reference,
}

/// What [`TrustStore::verify_path`] reads from an end-entity certificate, each piece with the
/// error its reading gave (reported where the check needs it).
#[derive(Debug)]
pub(crate) struct EeFacts {
    /// The key type, or the SPKI algorithm's OID when it is none this project signs with.
    pub(crate) key_type: Result<KeyType, String>,
    /// keyUsage: absent, or whether it asserts digitalSignature.
    pub(crate) key_usage: Result<Option<bool>, String>,
    /// Whether extendedKeyUsage is present.
    pub(crate) eku_present: Result<bool, String>,
    /// What a [`VerifiedCertificate`] shares, or the error reading the subject (first), the
    /// subjectAltName or the key.
    pub(crate) certificate: Result<Arc<EeCertificate>, String>,
}

/// The part of an end entity's [`EeFacts`] that [`VerifiedCertificate`]s share.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EeCertificate {
    /// The certificate (DER).
    pub(crate) der: Vec<u8>,
    pub(crate) subject: Subject,
    pub(crate) alt_directory_names: Vec<DistinguishedName>,
    /// The `subjectPublicKey` contents.
    pub(crate) public_key: Vec<u8>,
    /// The DER `SubjectPublicKeyInfo`.
    pub(crate) spki_der: Vec<u8>,
}

impl EeFacts {
    /// Reads the pieces straight from the DER ([`crate::cert_read`]): the structure first
    /// (its error at once, as for any certificate of the path), then each piece with its own
    /// error; the certificate's subject first, then its subjectAltName, then its key.
    pub(crate) fn read(der: &[u8]) -> Result<EeFacts, CertError> {
        let s = read_structure(der)?;
        let x = s.extensions();
        let certificate = s.subject().and_then(|name| {
            let alt_directory_names = x.alt_directory_names()?;
            let (spki_der, public_key) = s.public_key()?;
            Ok(Arc::new(EeCertificate {
                der: der.to_vec(),
                subject: Subject::new(name),
                alt_directory_names,
                public_key: public_key.to_vec(),
                spki_der: spki_der.to_vec(),
            }))
        });
        Ok(EeFacts {
            key_type: s.key_type(),
            key_usage: x.key_usage(),
            eku_present: x.ext_key_usage_present(),
            certificate,
        })
    }

    /// The pieces as x509-parser read them before [`EeFacts::read`] (the reference of the
    /// tests and of the fuzz target).
    pub(crate) fn read_x509(der: &[u8]) -> Result<EeFacts, CertError> {
        let ee = parse_certificate(der)?;
        let spki = ee.public_key();
        let x509 = |e: x509_parser::error::X509Error| e.to_string();
        let subject = dn_from_x509(ee.subject()).map(Subject::new);
        let alt_directory_names = ee.subject_alternative_name().map_err(x509).and_then(|san| {
            let mut out = Vec::new();
            for name in san.iter().flat_map(|s| s.value.general_names.iter()) {
                if let x509_parser::extensions::GeneralName::DirectoryName(n) = name {
                    out.push(dn_from_x509(n)?);
                }
            }
            Ok(out)
        });
        Ok(EeFacts {
            key_type: key_type_of_spki(spki).ok_or_else(|| spki.algorithm.algorithm.to_id_string()),
            key_usage: ee
                .key_usage()
                .map(|ku| ku.map(|k| k.value.digital_signature()))
                .map_err(x509),
            eku_present: ee.extended_key_usage().map(|e| e.is_some()).map_err(x509),
            certificate: subject.and_then(|subject| {
                Ok(Arc::new(EeCertificate {
                    der: der.to_vec(),
                    subject,
                    alt_directory_names: alt_directory_names?,
                    public_key: spki.subject_public_key.data.to_vec(),
                    spki_der: spki.raw.to_vec(),
                }))
            }),
        })
    }
}

/// End-entity certificates already read, by their exact octets, with their facts. Reading is
/// a function of the octets, so a certificate seen again (the same peer) is not read again;
/// path validation (signatures, validity, constraints, revocation) runs every time. Bounded
/// by [`TrustOptions::certificate_cache`] (when full it starts again empty); a certificate
/// whose structure does not hold is not kept. Also the memory of verified signatures.
#[derive(Default)]
struct CertCache {
    inner: std::sync::Mutex<CertCacheInner>,
}

#[derive(Default)]
struct CertCacheInner {
    end_entities: std::collections::HashMap<Vec<u8>, Arc<EeFacts>>,
    /// SHA-256 of the inputs of each signature check that succeeded (see
    /// [`RememberedVerifier`]).
    verified_signatures: std::collections::HashSet<[u8; 32]>,
}

impl CertCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CertCacheInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The facts of end-entity certificate `der` ([`EeFacts::read`]), kept when `keep` (the
    /// most end entities held) is not 0.
    fn end_entity(&self, der: &[u8], keep: usize) -> Result<Arc<EeFacts>, CertError> {
        if keep == 0 {
            return Ok(Arc::new(EeFacts::read(der)?));
        }
        if let Some(f) = self.lock().end_entities.get(der) {
            return Ok(f.clone());
        }
        let facts = Arc::new(EeFacts::read(der)?);
        let mut inner = self.lock();
        if inner.end_entities.len() >= keep {
            inner.end_entities.clear();
        }
        inner.end_entities.insert(der.to_vec(), facts.clone());
        Ok(facts)
    }
}

/// A provider's signature algorithm as rustls-webpki sees it during path validation, that
/// first looks up its inputs among the checks that already succeeded ([`CertCache`]). The key
/// is the SHA-256 of the algorithm's name and identifiers and of the public key, message and
/// signature, each with its length: equal keys mean the same check, whose answer cannot
/// change. Only successes are kept; a failure is recomputed (and fails) every time.
struct RememberedVerifier<'a> {
    inner: &'a dyn SignatureVerificationAlgorithm,
    algorithm: SignatureAlgorithm,
    sha256: &'static dyn guls_crypto::Hash,
    cache: &'a CertCache,
    capacity: usize,
}

impl fmt::Debug for RememberedVerifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RememberedVerifier")
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

impl RememberedVerifier<'_> {
    fn key(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut h = self.sha256.start();
        let mut part = |b: &[u8]| {
            h.update(&(b.len() as u64).to_be_bytes());
            h.update(b);
        };
        part(signature_algorithm_name(self.algorithm).as_bytes());
        part(self.inner.public_key_alg_id().as_ref());
        part(self.inner.signature_alg_id().as_ref());
        part(public_key);
        part(message);
        part(signature);
        let digest = h.finish();
        let mut key = [0u8; 32];
        key.copy_from_slice(&digest.as_bytes()[..32]);
        key
    }
}

impl SignatureVerificationAlgorithm for RememberedVerifier<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), guls_crypto::rustls_pki_types::InvalidSignature> {
        let key = self.key(public_key, message, signature);
        if self.cache.lock().verified_signatures.contains(&key) {
            return Ok(());
        }
        self.inner
            .verify_signature(public_key, message, signature)?;
        let mut inner = self.cache.lock();
        if inner.verified_signatures.len() >= self.capacity {
            inner.verified_signatures.clear();
        }
        inner.verified_signatures.insert(key);
        Ok(())
    }

    fn public_key_alg_id(&self) -> guls_crypto::rustls_pki_types::AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> guls_crypto::rustls_pki_types::AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

fn with_rdn(dn: &DistinguishedName, rdn: &RelativeDistinguishedName) -> DistinguishedName {
    let mut out = dn.clone();
    out.0.push(rdn.clone());
    out
}

fn oids(p: &[Oid]) -> String {
    p.iter()
        .map(|o| match o.to_string().as_str() {
            KP_CLIENT_AUTH => "client-auth".to_string(),
            KP_SERVER_AUTH => "server-auth".to_string(),
            KP_ANY => "any-purpose".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// rustls-webpki's EKU hook: `None` accepts everything; otherwise a certificate with the
/// extension must list one of the purposes (one without it passes; the end entity's presence
/// is checked separately).
struct EkuValidator<'a> {
    accepted: Option<&'a [Oid]>,
}

impl ExtendedKeyUsageValidator for EkuValidator<'_> {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let Some(accepted) = self.accepted else {
            return Ok(());
        };
        let mut empty = true;
        for id in iter {
            empty = false;
            let id = id?;
            // Equal encodings first (no allocation); then by arcs, as a purpose encoded in
            // another (non-minimal) form still names the same OID.
            if accepted
                .iter()
                .any(|o| id == webpki::KeyPurposeId::new(o.as_bytes()))
            {
                return Ok(());
            }
            let arcs: Vec<u128> = id.to_decoded_oid().into_iter().map(|a| a as u128).collect();
            if accepted.iter().any(|o| o.arcs() == arcs) {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            #[allow(deprecated)]
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}

fn secs(t: UnixTime) -> u64 {
    t.as_secs()
}

/// Maps rustls-webpki's errors onto [`CertError`].
fn map_webpki(e: webpki::Error) -> CertError {
    use webpki::Error as E;
    #[allow(deprecated)]
    match e {
        E::CertExpired { time, not_after } => CertError::Expired {
            not_after: secs(not_after),
            time: secs(time),
        },
        E::CertNotValidYet { time, not_before } => CertError::NotYetValid {
            not_before: secs(not_before),
            time: secs(time),
        },
        E::UnknownIssuer => CertError::UnknownIssuer,
        E::CertRevoked => CertError::Revoked,
        E::UnknownRevocationStatus => CertError::RevocationStatusUnknown,
        E::CrlExpired { .. } => CertError::CrlExpired,
        E::InvalidSignatureForPublicKey | E::InvalidCrlSignatureForPublicKey => {
            CertError::BadSignature
        }
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithm
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
        | E::SignatureAlgorithmMismatch => CertError::AlgorithmNotAccepted(format!(
            "a signature algorithm of the certification path is not accepted ({e:?})"
        )),
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            CertError::ExtendedKeyUsage(
                "a certificate of the path has an extendedKeyUsage without an accepted purpose"
                    .into(),
            )
        }
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::UnsupportedCertVersion
        | E::MalformedExtensions
        | E::ExtensionValueInvalid
        | E::InvalidSerialNumber
        | E::InvalidCertValidity => CertError::Malformed(format!("{e:?}")),
        other => CertError::InvalidPath(format!("{other:?}")),
    }
}

#[cfg(test)]
mod stack_tests {
    use super::stack_or_vec;

    /// Every item, in order, whether it fits on the stack or not.
    #[test]
    fn stack_or_vec_keeps_every_item_in_order() {
        for len in 0..8u32 {
            let mut stack = [0u32; 3];
            let mut more = Vec::new();
            let items: Vec<u32> = (1..=len).collect();
            assert_eq!(
                stack_or_vec(items.iter().copied(), &mut stack, &mut more),
                items.as_slice()
            );
        }
    }
}

#[cfg(test)]
mod cert_cache_tests {
    use super::{CertCache, EeFacts, certificates_from_pem_or_der};

    fn demo(name: &str) -> Vec<u8> {
        let path = format!("{}/../../certs/ed25519/{name}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read(path).unwrap();
        certificates_from_pem_or_der(&pem).unwrap()[0].to_vec()
    }

    /// `keep` bounds what is kept (0: nothing); what is read is the same either way.
    #[test]
    fn the_reading_is_kept_up_to_keep_certificates_and_none_for_0() {
        let leaf = demo("responder.pem");
        let inter = demo("intermediate-ca.pem");
        let fresh = EeFacts::read(&leaf).unwrap();

        let cold = CertCache::default();
        for _ in 0..2 {
            let facts = cold.end_entity(&leaf, 0).unwrap();
            assert_eq!(facts.certificate, fresh.certificate);
        }
        assert!(cold.lock().end_entities.is_empty());

        let warm = CertCache::default();
        let first = warm.end_entity(&leaf, 1).unwrap();
        let again = warm.end_entity(&leaf, 1).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        assert_eq!(again.certificate, fresh.certificate);
        assert_eq!(warm.lock().end_entities.len(), 1);
        // Full at 1: another end entity starts the memory again.
        warm.end_entity(&inter, 1).unwrap();
        assert_eq!(warm.lock().end_entities.len(), 1);
        assert!(warm.lock().end_entities.contains_key(&inter));

        // A certificate that does not parse is refused whatever is kept.
        let mut broken = leaf.clone();
        broken.truncate(leaf.len() / 2);
        for keep in [0, 1] {
            assert!(cold.end_entity(&broken, keep).is_err());
        }
        assert!(cold.lock().end_entities.is_empty());
    }
}
