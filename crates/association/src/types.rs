//! Parameters and events of the association API.

use guls_acse::{
    AbortDiagnostic, AbortSource, AcseRequirements, AeQualifier, ApTitle, AssociateResult,
    AuthenticationValue, ReleaseRequestReason, ReleaseResponseReason, SecretExternal,
    UserDiagnostic,
};
use guls_ber::{External, Oid, known};
use guls_presentation::{Pcid, PdvValue};

use crate::error::ProviderAbortReason;

/// A connection that a [`crate::Responder`] closed before any A-ASSOCIATE indication reached
/// the application: a malformed or truncated CONNECT, an AARQ that does not decode (for
/// instance a broken authentication field), a TCP close or reset, the establishment timeout,
/// or a refusal because `max_associations` were alive (a [`ProviderAbortReason::Protocol`]
/// of layer [`crate::AbortLayer::Local`]). It carries no received octets, so never a
/// credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeFailure {
    /// The peer's TCP address.
    pub peer_addr: std::net::SocketAddr,
    /// Why the handshake ended; [`ProviderAbortReason::layer`] names the layer.
    pub reason: ProviderAbortReason,
}

/// ACSE authentication (ISO 8650 Amd.1): a mechanism name and an authentication value of any
/// arm (`charstring`, `bitstring`, `external`, `other`): the calling authentication value of
/// an AARQ ([`AssociateParams::authentication`]) or the responding one of an AARE
/// ([`AcceptParams::authentication`], [`RejectParams::authentication`]). `Debug` never shows
/// the value.
#[derive(Clone, Debug)]
pub struct Authentication {
    /// The mechanism name (for instance 2.2.3.1, password).
    pub mechanism: Oid,
    /// The authentication value (zeroed on drop, redacted in `Debug`).
    pub value: AuthenticationValue,
}

impl Authentication {
    /// Any mechanism with any value.
    pub fn new(mechanism: Oid, value: AuthenticationValue) -> Self {
        Authentication { mechanism, value }
    }

    /// The password mechanism (2.2.3.1) with a `charstring` value, as libiec61850 sends it.
    pub fn password(password: &[u8]) -> Self {
        Authentication {
            mechanism: known::PASSWORD_MECHANISM,
            value: AuthenticationValue::password(password),
        }
    }

    /// A mechanism whose value is the `external` arm carrying `external` (for instance a SESE
    /// APDU: `indirect-reference` = the SESE presentation context, `single-ASN1-type` = the
    /// APDU; see guls-sese's `carriage` module).
    pub fn external(mechanism: Oid, external: External) -> Self {
        Authentication {
            mechanism,
            value: AuthenticationValue::External(SecretExternal::new(external)),
        }
    }
}

/// The per-call parameters of an A-ASSOCIATE request (the rest comes from the configuration).
#[derive(Clone, Debug, Default)]
pub struct AssociateParams {
    /// AARQ user information (for MMS: the Initiate-Request in an EXTERNAL, pcid 3).
    pub user_information: Vec<External>,
    /// Authentication: mechanism name and value, sent with sender-acse-requirements
    /// {authentication}.
    pub authentication: Option<Authentication>,
    /// Implementation information (GraphicString octets).
    pub implementation_information: Option<Vec<u8>>,
    /// sender-acse-requirements to send instead of the derived ones (`{authentication}` when
    /// [`AssociateParams::authentication`] is set, else absent): for instance
    /// `{authentication}` alone, proposing the functional unit without a mechanism. The ACSE
    /// machine refuses a mechanism or value without the authentication bit.
    pub acse_requirements: Option<AcseRequirements>,
}

/// The per-call parameters of a positive A-ASSOCIATE response.
#[derive(Clone, Debug, Default)]
pub struct AcceptParams {
    /// AARE user information (for MMS: the Initiate-Response).
    pub user_information: Vec<External>,
    /// Application context name to return; `None` returns the proposed one.
    pub application_context_name: Option<Oid>,
    /// Responding AP title; `None` uses the configured one.
    pub responding_ap_title: Option<ApTitle>,
    /// Responding AE qualifier; `None` uses the configured one.
    pub responding_ae_qualifier: Option<AeQualifier>,
    /// Responding AP invocation identifier; `None` uses the configured one.
    pub responding_ap_invocation_id: Option<i64>,
    /// Responding AE invocation identifier; `None` uses the configured one.
    pub responding_ae_invocation_id: Option<i64>,
    /// Responding authentication (mechanism name and value), only when the AARQ proposed the
    /// authentication functional unit.
    pub authentication: Option<Authentication>,
    /// responder-acse-requirements to send instead of the derived ones (`{authentication}`
    /// when [`AcceptParams::authentication`] is set, else absent), for instance
    /// `{authentication}` without a mechanism name or value. Only when the AARQ proposed the
    /// authentication functional unit.
    pub acse_requirements: Option<AcseRequirements>,
}

/// The parameters of a negative A-ASSOCIATE response
/// ([`crate::IncomingAssociation::reject_with`]).
#[derive(Clone, Debug)]
pub struct RejectParams {
    /// rejected-permanent (the default of [`RejectParams::new`]) or rejected-transient.
    pub result: AssociateResult,
    /// The acse-service-user diagnostic (for instance 13, authentication-failure).
    pub diagnostic: UserDiagnostic,
    /// AARE user information.
    pub user_information: Vec<External>,
    /// Responding authentication (mechanism name and value; for instance an se-u-abort of a
    /// failed security exchange), only when the AARQ proposed the authentication functional
    /// unit.
    pub authentication: Option<Authentication>,
    /// responder-acse-requirements to send instead of the derived ones (see
    /// [`AcceptParams::acse_requirements`]).
    pub acse_requirements: Option<AcseRequirements>,
}

impl RejectParams {
    /// rejected-permanent with `diagnostic` and nothing else.
    pub fn new(diagnostic: UserDiagnostic) -> Self {
        RejectParams {
            result: AssociateResult::RejectedPermanent,
            diagnostic,
            user_information: Vec::new(),
            authentication: None,
            acse_requirements: None,
        }
    }
}

/// Which presentation context a value is sent in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextRef {
    /// By presentation context identifier.
    Pcid(Pcid),
    /// By abstract syntax (the first context of the defined context set with it).
    AbstractSyntax(Oid),
}

impl From<Pcid> for ContextRef {
    fn from(p: Pcid) -> Self {
        ContextRef::Pcid(p)
    }
}

impl From<Oid> for ContextRef {
    fn from(o: Oid) -> Self {
        ContextRef::AbstractSyntax(o)
    }
}

impl From<&Oid> for ContextRef {
    fn from(o: &Oid) -> Self {
        ContextRef::AbstractSyntax(o.clone())
    }
}

/// A value received in P-DATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataIndication {
    /// Its presentation context.
    pub pcid: Pcid,
    /// The context's abstract syntax.
    pub abstract_syntax: Oid,
    /// The value (for BER values: single-ASN1-type holding the complete TLV).
    pub value: PdvValue,
}

impl DataIndication {
    /// The value's octets, taking them out of the indication: the complete TLV of a
    /// single-ASN1-type value, the octets of an octet-aligned one, the bit string octets of
    /// an arbitrary one. Once used, the buffer can be handed back with
    /// [`crate::Association::recycle`].
    pub fn into_octets(self) -> Vec<u8> {
        match self.value {
            PdvValue::SingleAsn1Type(v) | PdvValue::OctetAligned(v) => v,
            PdvValue::Arbitrary(b) => b.bytes,
        }
    }
}

/// What [`crate::Association::recv`] gives.
///
/// Ordering and reporting rules:
///
/// * Every indication decoded from octets received before the transport ended (TCP end of
///   stream, reset, IO error) is delivered, in order, before anything about that end.
/// * The end of an association is reported exactly once: as the error of the call that was
///   waiting for the peer ([`crate::Association::release`]) or as an event here, never
///   both. After it, calls return [`crate::AssociationError::Closed`], and so does `recv`
///   once the queue is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssociationEvent {
    /// P-DATA: one presentation data value.
    Data(DataIndication),
    /// A-RELEASE indication: answer with [`crate::Association::release_response`].
    ///
    /// It is always delivered, even when the peer closed TCP right after its FN+RLRQ
    /// without waiting for our DN (libiec61850 clients do): the release response then still
    /// succeeds and [`AssociationEvent::Released`] follows (see
    /// [`crate::Association::release_response`]).
    ReleaseIndication {
        /// The RLRQ reason.
        reason: Option<ReleaseRequestReason>,
        /// The RLRQ user information.
        user_information: Vec<External>,
    },
    /// The association was released in order: the last event after
    /// [`crate::Association::release_response`], also when the peer closed TCP after its
    /// release request without waiting for the response. Not given after
    /// [`crate::Association::release`] returned `Ok` (that is the report of the release).
    Released,
    /// A-ABORT indication from the peer (or the ACSE provider). Not given when the abort
    /// was returned as the error of [`crate::Association::release`].
    AbortIndication {
        /// Abort source.
        source: AbortSource,
        /// ABRT diagnostic.
        diagnostic: Option<AbortDiagnostic>,
        /// ABRT user information.
        user_information: Vec<External>,
    },
    /// A-P-ABORT: the provider ended the association; the reason names the layer. Given
    /// once, after every earlier indication, and not when the abort was returned as the
    /// error of [`crate::Association::release`]. A TCP close is
    /// [`ProviderAbortReason::ConnectionClosed`] with the stage: `"data transfer"`,
    /// `"release"` (our release request outstanding), or
    /// `"release (before the release response)"` (the peer closed after its release request
    /// and the application gave no response within the release timeout).
    ProviderAbort {
        /// Why.
        reason: ProviderAbortReason,
    },
}

/// The outcome of [`crate::Association::release`] (the A-RELEASE confirm).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseOutcome {
    /// The RLRE reason.
    pub reason: Option<ReleaseResponseReason>,
    /// The RLRE user information.
    pub user_information: Vec<External>,
    /// True when both sides requested release at once (X.217 9.2.2.10).
    pub collision: bool,
    /// Data values received while the release was in progress, in order.
    pub data: Vec<DataIndication>,
}

/// Counters for observing back-pressure (used by tests and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Decoded events waiting for the application ([`crate::Association::recv`]), up to
    /// the queue's capacity.
    pub queued_events: usize,
    /// The event queue's capacity ([`crate::Limits::event_queue`]).
    pub queue_capacity: usize,
    /// Octets received from the socket but not yet decoded (bounded by one read chunk plus
    /// one TPKT).
    pub driver_buffered_octets: usize,
    /// Decoded events beyond the queue's capacity: the rest of the TSDU whose values filled
    /// it (bounded by one TSDU's values).
    pub driver_pending_events: usize,
    /// Total octets read from the socket.
    pub octets_received: u64,
}
