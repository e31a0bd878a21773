//! guls-exchanges: security exchanges for guls, written on guls-sese's exchanges-as-data API.
//!
//! * [`Credentials`]: X.511 `Credentials` (simple / strong / externalProcedure / spkm) with
//!   the X.509 `CertificationPath` and the SIGNED bind [`Token`], and X.511
//!   [`SecurityProblem`]; bounded, total BER codecs (DER out). The ASN.1 is **RECONSTRUCTED**
//!   (see [`asn1`]).
//! * [`dirauth`]: X.830 Annex C `dirAuthenticationOneWay` (2.20.4.1) and
//!   `dirAuthenticationTwoWay` (2.20.4.2) as [`guls_sese::ExchangeDefinition`]s with role
//!   machines ([`one_way`], [`two_way`]), failing with X.830 `authenticationFailure` (local:1)
//!   carrying a [`SecurityProblem`].
//! * [`ska`]: this project's signed key agreement (ARC.2.1) giving zeroizing [`SessionKeys`]
//!   for the protecting transfer syntax ([`signed_key_agreement`]).
//!
//! What the exchanges need from outside is a [`PeerVerifier`] (certificate path validation —
//! the policy crate implements it), a [`LocalIdentity`] (signing key + chain), a [`Clock`]
//! (no role reads the wall clock), a [`ReplayCache`] (shared per configuration) and a
//! [`Reports`] handle through which the detail of a rejection and the derived keys come back.
//!
//! ```
//! use guls_exchanges::{Credentials, SecurityProblem};
//! use guls_sese::ItemType;
//!
//! // authenticationFailure's parameter: invalidSignature (4).
//! assert_eq!(SecurityProblem::InvalidSignature.encode(), [0x02, 0x01, 0x04]);
//! // Truncated credentials are a located decode error, never a panic.
//! assert!(Credentials::decode(&[0xa1, 0x05, 0xa1]).is_err());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cert;
pub mod credentials;
pub mod dirauth;
mod offload;
pub mod ska;
pub mod time;
mod verify;

/// The ASN.1 of this crate's items, with every tag (the file `ASN1.md` of the crate).
pub mod asn1 {
    #![doc = include_str!("../ASN1.md")]
}

pub use credentials::{
    AlgorithmIdentifier, CertificatePair, CertificationPath, Credentials, Password,
    SecurityProblem, SimpleCredentials, StrongCredentials, Time, Token, TokenContent, Validity,
    dn_from_der, dn_to_der,
};
pub use dirauth::{
    AUTHENTICATION_FAILURE, DIR_AUTHENTICATION_ONE_WAY, DIR_AUTHENTICATION_TWO_WAY, DirAuthConfig,
    ErrorSignalling, OwnCredentials, SimpleCredentialsVerifier, one_way, two_way,
};
pub use offload::ParallelChecks;
pub use ska::{
    DirectionKeys, KaRole, KeyAgreementConfig, KeyAgreementItem, KeyAgreementTbs,
    ReceivedKeyAgreement, SIGNED_KEY_AGREEMENT, SessionKeys, signed_key_agreement,
};
pub use time::{Clock, FixedClock, SystemClock};
pub use verify::{
    AuthFailure, DEFAULT_NAME_CACHE, LocalIdentity, PathProblem, PeerVerifier, ReplayCache, Report,
    Reports, SharedReplayCache, VerifiedPeer,
};

/// Re-exported: the time type of [`PeerVerifier`] and [`Clock`].
pub use guls_crypto::rustls_pki_types::UnixTime;
