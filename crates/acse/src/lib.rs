//! ISO 8650 ACSE APDU codec with the authentication functional unit (guls).
//!
//! [`Apdu::decode`] turns the value of one presentation data value (single-ASN1-type) into a
//! typed AARQ, AARE, RLRQ, RLRE or ABRT, following the X.227bis module ACSE-1 (tags, explicit
//! and implicit tagging) with the ISO 8650 Amd.1 authentication fields. The X.227bis
//! higher-level-association APDUs (A-DT, ACRQ, ACRP) and later ones are kept undecoded as
//! [`OtherApdu`].
//!
//! Decoding is lenient where RFC 1698 and the OIW agreements say a receiver must be: any length
//! form, unknown elements skipped, unknown bits ignored, fields in any order, the AARE result
//! wrapper in either form (RFC 1698 Part C R2), both abort sources (R5). It is total: every
//! input gives a value or a [`guls_ber::DecodeError`] naming [`guls_ber::Layer::Acse`], the
//! offset and what was expected.
//!
//! Encoding is deterministic: [`Apdu::encode`] writes definite minimal lengths;
//! [`Apdu::encode_with`] with [`guls_ber::LengthForm::Indefinite`] reproduces the RFC 1698
//! section 6 templates octet for octet.
//!
//! [`AcseMachine`] is the sans-IO protocol machine on top of the codec: X.217 primitives in,
//! APDUs and events out, with the X.217 sequencing and release-collision rules.
//!
//! Credentials ([`AuthenticationValue`]) are zeroed on drop, never shown by `Debug`, and
//! compared in constant time.
#![forbid(unsafe_code)]

mod apdu;
mod auth;
mod codec;
mod machine;
mod params;
mod title;

pub use apdu::{Aare, Aarq, Abrt, Apdu, OtherApdu, Rlre, Rlrq};
pub use auth::{AuthenticationValue, SecretExternal, constant_time_eq};
pub use machine::{
    AbortIndication, AbortRequest, AcseError, AcseEvent, AcseMachine, AcseState, ApduReaction,
    AssociateConfirm, AssociateIndication, AssociateRequest, AssociateResponse, OutgoingApdu,
    Primitive, ProtocolError, ProviderAbortIndication, ProviderReason, ProviderRejection,
    ReleaseConfirm, ReleaseIndication, ReleaseRequest, ReleaseResponse, Role,
};
pub use params::{
    AbortDiagnostic, AbortSource, AcseRequirements, AssociateResult, Mode, ProtocolVersion,
    ProviderDiagnostic, ReleaseRequestReason, ReleaseResponseReason, ReleaseResult, ResultSource,
    ResultSourceDiagnostic, UserDiagnostic,
};
pub use title::{
    AeQualifier, ApTitle, AttributeTypeAndValue, DistinguishedName, NameDecoding,
    RelativeDistinguishedName,
};

/// Re-exported so that callers need not depend on guls-ber for the basic types.
pub use guls_ber::{DecodeError, DecodeResult, External, ExternalEncoding, LengthForm, Oid};
