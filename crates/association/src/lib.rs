//! guls-association: the core association stack of guls.
//!
//! It composes the four sans-IO layers — ISO 8073 class 0 transport over RFC 1006, ISO 8327
//! session (kernel + duplex), the ISO 8823 [`guls_presentation::PresentationMachine`] and the
//! ISO 8650 [`guls_acse::AcseMachine`] — into one sans-IO stack per connection, and drives it
//! over tokio TCP. Applications see X.217 services:
//!
//! | X.217 | initiator | responder |
//! |---|---|---|
//! | A-ASSOCIATE | [`Initiator::connect`] | [`Responder::accept`] → [`IncomingAssociation::accept`] / [`IncomingAssociation::reject`] |
//! | P-DATA | [`Association::send`] | [`Association::recv`] → [`AssociationEvent::Data`] |
//! | A-RELEASE | [`Association::release`] | [`AssociationEvent::ReleaseIndication`] → [`Association::release_response`] |
//! | A-ABORT | [`Association::abort`] | [`AssociationEvent::AbortIndication`] |
//! | A-P-ABORT | | [`AssociationEvent::ProviderAbort`] (typed [`ProviderAbortReason`] naming the layer) |
//!
//! An initiator can also have its AARQ built while the transport connection is being set up
//! ([`Initiator::connect_request_with`]), so that building it overlaps the CR/CC round trip.
//!
//! Wire decisions:
//!
//! * A user rejection travels as X.226 says: the A-ASSOCIATE response (rejected) is a
//!   P-CONNECT response with result user-rejection, i.e. a CPR carrying the AARE, in a session
//!   REFUSE (reason 2, "reason in user data") — not in an AC/CPA.
//! * A TCP close right after our CONNECT without an AARE is libiec61850's way of rejecting:
//!   [`AssociationError::RejectedByPeerNoAare`].
//! * Data SPDUs are `01 00 01 00` (GIVE TOKENS + DATA TRANSFER, RFC 1698 6.4); the CN uses the
//!   1-octet LI whenever it fits, as libiec61850 requires.
//! * CONNECT user data over 10,240 octets (a large AARQ) travels in CONNECT DATA OVERFLOW
//!   SPDUs after an OVERFLOW ACCEPT, sent as initiator and accepted as responder.
//! * Faults: a malformed, truncated, oversized or unexpected PDU gives a session ABORT
//!   (`19 03 11 01 05` for a transport or session fault; an S-U-ABORT carrying the
//!   presentation ARP when the presentation layer found the fault, or an ARU + provider ABRT
//!   when ACSE did), then the TCP close, and an A-P-ABORT to the application. Local causes
//!   (timers, a dropped handle) send `19 03 11 01 09`.
//!
//! The transport and session layers are the `guls_transport::TransportConnection` and
//! `guls_session::SessionMachine` protocol machines; this crate only composes and drives them.
//!
//! An established [`Association`] has no task of its own: its calls run the protocol and the
//! socket IO in the caller's task (see the `driver` module docs, on [`Association`], for the
//! design and its back-pressure, timer and cancel-safety properties).
//!
//! Logs go to `tracing` target `guls::association`; credentials are never logged.
#![forbid(unsafe_code)]

mod config;
mod driver;
mod error;
mod initiator;
mod responder;
mod stack;
mod types;

pub use config::{
    AcseSettings, AssociationConfig, ContextProposal, Limits, PresentationSettings,
    SessionSettings, Timeouts, TransportSettings,
};
pub use driver::Association;
pub use error::{
    AbortInfo, AbortLayer, AssociationError, ProviderAbortReason, Rejection, TimeoutKind,
};
pub use initiator::{DeferredConnectError, Initiator};
pub use responder::{
    HANDSHAKE_FAILURE_QUEUE, IncomingAssociation, Responder, ResponderCounters, ResponderStats,
};
pub use stack::LowerAddresses;
pub use types::{
    AcceptParams, AssociateParams, AssociationEvent, Authentication, ContextRef, DataIndication,
    HandshakeFailure, QueueStats, RejectParams, ReleaseOutcome,
};

/// Re-exported for applications: the ACSE parameter types used in this API.
pub use guls_acse::{
    AbortSource, AcseRequirements, AeQualifier, ApTitle, AssociateConfirm, AssociateIndication,
    AssociateRequest, AssociateResult, AuthenticationValue, ResultSource, ResultSourceDiagnostic,
    SecretExternal, UserDiagnostic,
};
/// Re-exported for applications: the basic value types.
pub use guls_ber::{External, ExternalEncoding, Oid};
/// Re-exported for applications: presentation types used in this API.
pub use guls_presentation::{DefaultContextName, DefinedContext, Pcid, PdvValue, SupportedSyntax};
