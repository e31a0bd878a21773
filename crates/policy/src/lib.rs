//! Authentication policy files for guls (TOML).
//!
//! - [`ResponderPolicy`]: which peers may associate and how they authenticate. Rules match a
//!   peer by calling AP-title, calling AE-qualifier and/or network address; the first rule in
//!   file order whose criteria all match decides, else `[default]` (absent: deny everyone).
//!   [`ResponderPolicy::decide`] turns an AARQ's authentication fields into a [`Decision`]
//!   with the ISO 8650 Amd.1 diagnostics 11 to 14. Passwords (mechanism 2.2.3.1) are
//!   verified against argon2id PHC hashes; plain passwords in a policy file are refused.
//! - [`InitiatorPolicy`]: which mechanism and password to present to which peer; passwords
//!   come from a file or an environment variable, never from the policy itself.
//! - [`hash_password`]: makes the PHC strings the responder policy stores.
//! - Certificates ([`TrustStore`], [`Identity`], [`AuthenticatedPeer`]): both policies may
//!   have a `[trust]` table (trust anchors, CRLs, algorithms, key usage, the AP-title binding
//!   table) and an `[identity]` table (our certificate and key). [`TrustStore::authenticate`]
//!   validates a peer's certification path with rustls-webpki and binds its AP-title to the
//!   certificate; each failure is a [`CertError`] with its X.511 `SecurityProblem`.
//!
//! Every error names the file, line and column (`FILE:LINE:COL: message`). No password or
//! hash ever appears in an error, a `Debug` string or a summary.
//!
//! # Responder file format
//!
//! ```toml
//! [limits]                      # optional
//! max_associations = 64         # -> guls_association::Limits::max_associations
//! max_password_len = 128        # octets, default 128; longer passwords fail before hashing
//!
//! [timeouts]                    # optional, seconds
//! idle_secs = 300               # -> guls_association::Timeouts::idle
//! establishment_secs = 30       # -> guls_association::Timeouts::establishment
//!
//! [[rule]]                      # tried in file order; the first match wins
//! name = "ied1"                 # optional, default "rule N"
//! ap_title = "1.3.9999.1.1"     # dotted OID (form 2) or "CN=ied1,O=utility" (form 1)
//! ae_qualifier = 12             # integer (form 2) or "CN=ae1" (form 1 RDN)
//! addresses = ["10.0.0.0/8"]    # IPs or CIDR networks, any of them
//! mechanisms = ["password"]     # "none", "password" (= "2.2.3.1")
//! require_authentication = true # optional; true forbids "none", false adds it
//!
//! [[rule.credential]]
//! identity = "ied1"             # what the application sees
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$...$..."
//! ap_title = "1.3.9999.1.1"     # optional: only for this calling AP-title
//!
//! [default]                     # optional; absent = deny every unmatched peer
//! mechanisms = ["none"]
//!
//! [trust]                       # optional: certificate-based authentication of peers
//! anchors = ["certs/ed25519/root-ca.pem"]   # PEM or DER files, relative to this file
//! crls = ["certs/ed25519/root-ca.crl.pem", "certs/ed25519/intermediate-ca.crl.pem"]
//! clock_skew_secs = 300         # validity allowance, default 300, at most 86400
//! accepted_signature_algorithms = ["ed25519", "ecdsa-p256-sha256"]  # default: all of the provider's
//! key_usage = "if-present"      # or "required": keyUsage must exist and assert digitalSignature
//! key_purposes = ["client-auth", "server-auth"]  # default; "any-purpose", dotted OIDs, or ["any"]
//! require_key_purpose = false   # true: the end-entity certificate must have extendedKeyUsage
//! revocation_depth = "chain"    # or "end-entity" (when crls are given)
//! unknown_revocation_status = "deny"  # or "allow": no authoritative CRL for a certificate
//! crl_next_update = "enforce"   # or "ignore"
//! signature_cache = 1024        # verified certificate/CRL signatures remembered; 0 = none
//! certificate_cache = 64        # end-entity certificates whose reading is kept; 0 = none
//! replay_cache = 4096           # exchange tokens remembered against replays (see TrustOptions)
//!
//! [[trust.binding]]             # AP-title -> certificate; required for form 2 AP-titles
//! ap_title = "1.3.9999.1.1"     # dotted OID (or a DN, in addition to the built-in form 1 rule)
//! subject = "CN=ied1,O=utility" # the certificate subject (or a subjectAltName directoryName)
//! # spki_sha256 = "3f5a..."     # or: SHA-256 of the DER SubjectPublicKeyInfo, 64 hex digits
//!
//! [identity]                    # optional: our own certificate (chain, end entity first) and
//! cert = "certs/ed25519/responder-chain.pem"  # PKCS #8 key, PEM or DER
//! key = "certs/ed25519/responder.key.pem"
//! ```
//!
//! # Initiator file format
//!
//! ```toml
//! [[peer]]
//! addresses = ["192.0.2.10"]
//! ap_title = "1.3.9999.1.1"     # the called AP-title
//! mechanism = "password"
//! password_env = "GULS_IED1_PASSWORD"   # or password_file = "ied1.pass"
//!
//! [default]
//! mechanism = "none"
//!
//! [trust]                       # as in the responder file: to authenticate responders
//! anchors = ["certs/ed25519/root-ca.pem"]
//!
//! [identity]                    # our certificate and key
//! cert = "certs/ed25519/initiator-chain.pem"
//! key = "certs/ed25519/initiator.key.pem"
//! ```
//!
//! Certificate, CRL and key files are read when the policy is loaded; a missing or invalid
//! one is an error at the position of its path (kind [`ErrorKind::Certificate`]).
//!
//! # Hashing cost
//!
//! [`hash_password`] uses the argon2 crate's defaults, which are OWASP's recommendation for
//! argon2id: m = 19456 KiB (19 MiB), t = 2, p = 1, 16-octet random salt, 32-octet output.
//! One verification (one [`ResponderPolicy::decide`] with a password) measured 20.7 ms in a
//! release build on the reference machine (2-vCPU Intel Xeon; about 335 ms in a debug build);
//! re-measure with
//! `cargo test --release -p guls-policy --test responder -- --ignored --nocapture verify_time`.
//! A rule with N unbound credentials costs up to N verifications per wrong password; bind
//! credentials to AP-titles to keep it to one.
#![forbid(unsafe_code)]

mod cert_read;
mod certs;
mod error;
pub mod exchanges;
mod identity;
mod initiator;
mod names;
mod peer;
#[doc(hidden)]
pub mod reference;
mod responder;
mod trust;
mod trust_file;
pub mod verifier;

pub use certs::{
    CertError, MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN, MAX_FILE_LEN, SecurityProblem,
    certificates_from_pem_or_der, crls_from_pem_or_der, load_certificates, load_crls,
    load_private_key, pkcs8_from_pem_or_der, private_key_from_pem_or_der,
};
pub use error::{ErrorKind, PolicyError};
pub use identity::Identity;
pub use names::{format_dn, names_match, normalise};
pub use trust::{
    AuthenticatedPeer, BindingTarget, DEFAULT_CERTIFICATE_CACHE, DEFAULT_CLOCK_SKEW,
    DEFAULT_REPLAY_CACHE, DEFAULT_SIGNATURE_CACHE, ExtendedKeyUsageCheck, KP_ANY, KP_CLIENT_AUTH,
    KP_SERVER_AUTH, KeyUsageCheck, MAX_CERTIFICATE_CACHE, MAX_REPLAY_CACHE, MAX_SIGNATURE_CACHE,
    RevocationDepth, TrustOptions, TrustStore, VerifiedCertificate, parse_signature_algorithm,
    signature_algorithm_name,
};
pub use trust_file::MAX_CLOCK_SKEW_SECS;
pub use verifier::{PolicyVerifier, is_downgrade, path_problem, replay_cache};

/// Re-export of the rustls-pki-types crate (`UnixTime`, `CertificateDer`, ...) used in this
/// crate's certificate API.
pub use guls_crypto::rustls_pki_types;
pub use initiator::{Credential, InitiatorPolicy};
pub use responder::{
    AuthRequest, DEFAULT_MAX_PASSWORD_LEN, Decision, MAX_HASH_M_COST, MAX_HASH_P_COST,
    MAX_HASH_T_COST, MAX_MAX_PASSWORD_LEN, Mechanism, PolicyLimits, PolicyTimeouts, RejectReason,
    ResponderPolicy,
};

use argon2::{Argon2, PasswordHasher};

/// Hashes a password into an argon2id PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a fresh random salt from the
/// operating system, for a responder policy's `password_hash`.
///
/// Parameters: the argon2 crate's defaults (OWASP's argon2id recommendation): 19 MiB of
/// memory, 2 passes, 1 lane, 16-octet salt (from the OS via `getrandom`), 32-octet output.
/// Hashing or verifying takes about 21 ms in a release build on the reference machine.
pub fn hash_password(password: &[u8]) -> Result<String, PolicyError> {
    Argon2::default()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| PolicyError::Hash(e.to_string()))
}

/// Parses an AP-title as policies write it: a dotted object identifier (form 2, `1.3.9999.1`)
/// or a Distinguished Name string (form 1, `CN=ied1,O=utility`: the most specific RDN first,
/// values as UTF8Strings).
pub fn parse_ap_title(text: &str) -> Result<guls_acse::ApTitle, String> {
    match peer::TitlePattern::parse(text)? {
        peer::TitlePattern::Oid(o) => Ok(guls_acse::ApTitle::Form2(o)),
        d => Ok(guls_acse::ApTitle::Form1(
            d.to_distinguished_name().expect("form 1"),
        )),
    }
}
