//! The sans-IO ACSE protocol machine (X.217 / ISO 8650 sequencing, normal mode).
//!
//! [`AcseMachine`] turns X.217 user primitives into ACSE APDUs to send, and received APDUs into
//! X.217 indications and confirms. It knows nothing about presentation: the driver carries each
//! APDU as one single-ASN1-type PDV in the ACSE presentation context, maps P-CONNECT /
//! P-RELEASE / P-U-ABORT / P-P-ABORT around it, and feeds lower-layer failures in with
//! [`AcseMachine::on_provider_abort`].
//!
//! # Rules enforced
//!
//! * A user primitive that X.217 does not allow in the current state (9.1.2.2, 9.2.2.2,
//!   9.2.2.4, 10.x) is refused with [`AcseError::IllegalPrimitive`] and nothing changes; the same
//!   error, with a reason, refuses a primitive whose parameters this profile cannot send (see
//!   below).
//! * An APDU that does not decode, or that is not expected in the current state, makes the
//!   machine act as the ACSE service-provider (X.217 9.3.2.4): it returns an ABRT with
//!   abort-source `acse-service-provider`, diagnostic `protocol-error` and no user information
//!   (RFC 1698 Part C R5) to send, reports an [`AcseEvent::AbortIndication`] whose
//!   [`AbortIndication::protocol_error`] says what went wrong, and moves to
//!   [`AcseState::Closed`]. A received ABRT is never answered with an ABRT.
//! * An AARE whose mandatory fields are absent does not decode and is handled as above; an AARE
//!   whose result is not one of the three X.217 values, or that is accepted with a result source
//!   other than the ACSE service-user (X.217 9.1.1.17), is a protocol error too.
//! * An AARQ without `version1` in its protocol-version is rejected by the provider (X.217
//!   9.1.2.7): the machine returns an AARE rejected-permanent with diagnostic
//!   acse-service-provider / no-common-acse-version, does not issue an A-ASSOCIATE indication
//!   (the event is [`AcseEvent::ProviderRejection`], for the driver) and closes.
//! * A-RELEASE is always affirmative: the thin stack uses the session duplex functional unit
//!   only, and X.217 9.2.2.5 allows a negative response only with the negotiated-release
//!   functional unit. A negative [`ReleaseResponse`] is refused as an illegal primitive, and an
//!   RLRE is always confirmed as affirmative.
//! * Release collisions follow X.217 9.2.2.10 (see [`AcseState`]): both sides get an A-RELEASE
//!   indication; the association-initiator answers first; the association-responder waits for
//!   the RLRE (A-RELEASE confirm) and only then answers. On receipt either order is tolerated
//!   (RFC 1698 Part C R6): an initiator that receives the peer's RLRE before answering gets the
//!   confirm and still answers. A responder facing an initiator that waits too (the RFC 1698
//!   4.1 order) would wait for ever: the driver runs a timer and aborts.
//! * Abort source: a user's A-ABORT sends `acse-service-user` (0), the machine's own aborts send
//!   `acse-service-provider` (1); both are accepted on receipt.
//!
//! # Authentication functional unit (ISO 8650 Amd.1)
//!
//! The machine carries the fields and decides no policy. Following the amendment, the
//! mechanism name and authentication value are only present when the sender's ACSE
//! requirements include `authentication`, and the functional unit is selected only when both
//! the requestor and the acceptor include it: an [`AssociateRequest`] or [`AssociateResponse`]
//! with a mechanism name or an authentication value but without `authentication` in its
//! requirements is refused, and so is an [`AssociateResponse`] that includes `authentication`
//! when the A-ASSOCIATE indication did not propose it. On receipt the machine is lenient: the
//! fields are passed up as received and [`AssociateConfirm::authentication_selected`] tells
//! whether the unit was selected.
//!
//! # Disruption rules
//!
//! X.217 Appendix I and ISO 8649 differ on whether A-RELEASE suppresses abort indications.
//! The machine follows ISO 8649/8650 (the editions SIA Part 5 cites): while the association is
//! not [`AcseState::Closed`], every received ABRT gives an A-ABORT indication and every
//! lower-layer abort an A-P-ABORT indication, also during a release. Once the machine is closed
//! (after an affirmative release, a rejection or any abort) further input is discarded.

use std::fmt;

use guls_ber::{DecodeError, External, Oid};

use crate::apdu::{Aare, Aarq, Abrt, Apdu, Rlre, Rlrq};
use crate::auth::AuthenticationValue;
use crate::params::{
    AbortDiagnostic, AbortSource, AcseRequirements, AssociateResult, Mode, ProtocolVersion,
    ProviderDiagnostic, ReleaseRequestReason, ReleaseResponseReason, ReleaseResult, ResultSource,
    ResultSourceDiagnostic, UserDiagnostic,
};
use crate::title::{AeQualifier, ApTitle};

/// Which end of the association this machine is (X.217 3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The requestor of the A-ASSOCIATE that set up the association.
    Initiator,
    /// The acceptor of that A-ASSOCIATE.
    Responder,
}

/// The states of the ACSE protocol machine (after the ISO 8650 state table, normal mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcseState {
    /// No association: the only legal events are an A-ASSOCIATE request or a received
    /// AARQ.
    Idle,
    /// Association-initiator: AARQ sent, awaiting the AARE.
    AwaitingAare,
    /// Association-responder: A-ASSOCIATE indication issued, awaiting the user's response.
    AwaitingAssociateResponse,
    /// The association is established.
    Associated,
    /// RLRQ sent, awaiting the RLRE.
    AwaitingRlre,
    /// A-RELEASE indication issued, awaiting the user's response.
    AwaitingReleaseResponse,
    /// Release collision at the association-initiator: the A-RELEASE indication has been
    /// issued and the initiator answers first (X.217 9.2.2.10 a).
    CollisionInitiatorAwaitingResponse,
    /// Release collision at the association-initiator: RLRE sent, awaiting the peer's RLRE
    /// (9.2.2.10 c).
    CollisionInitiatorAwaitingRlre,
    /// Release collision at the association-responder: the A-RELEASE indication has been
    /// issued; the responder waits for the peer's RLRE before it may answer (9.2.2.10 b).
    CollisionResponderAwaitingRlre,
    /// Release collision, the A-RELEASE confirm has been issued and the local response is
    /// still owed: the association-responder after 9.2.2.10 b, or an association-initiator
    /// whose peer answered first (tolerated, RFC 1698 Part C R6).
    CollisionAwaitingResponse,
    /// The association is released, rejected or aborted; every further input is refused or
    /// discarded.
    Closed,
}

impl AcseState {
    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            AcseState::Idle => "idle",
            AcseState::AwaitingAare => "awaiting-aare",
            AcseState::AwaitingAssociateResponse => "awaiting-associate-response",
            AcseState::Associated => "associated",
            AcseState::AwaitingRlre => "awaiting-rlre",
            AcseState::AwaitingReleaseResponse => "awaiting-release-response",
            AcseState::CollisionInitiatorAwaitingResponse => {
                "collision-initiator-awaiting-response"
            }
            AcseState::CollisionInitiatorAwaitingRlre => "collision-initiator-awaiting-rlre",
            AcseState::CollisionResponderAwaitingRlre => "collision-responder-awaiting-rlre",
            AcseState::CollisionAwaitingResponse => "collision-awaiting-response",
            AcseState::Closed => "closed",
        }
    }
}

impl fmt::Display for AcseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The X.217 user primitives the machine accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// A-ASSOCIATE request.
    AssociateRequest,
    /// A-ASSOCIATE response.
    AssociateResponse,
    /// A-RELEASE request.
    ReleaseRequest,
    /// A-RELEASE response.
    ReleaseResponse,
    /// A-ABORT request.
    AbortRequest,
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Primitive::AssociateRequest => "A-ASSOCIATE request",
            Primitive::AssociateResponse => "A-ASSOCIATE response",
            Primitive::ReleaseRequest => "A-RELEASE request",
            Primitive::ReleaseResponse => "A-RELEASE response",
            Primitive::AbortRequest => "A-ABORT request",
        })
    }
}

/// Errors of the machine's user interface. They never carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcseError {
    /// The primitive is not allowed in this state, or its parameters cannot be sent; the
    /// machine is unchanged.
    #[error("{primitive} refused in state {state}: {reason}")]
    IllegalPrimitive {
        /// The refused primitive.
        primitive: Primitive,
        /// The state the machine is (still) in.
        state: AcseState,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The driver reported a lower-layer event that cannot happen in this state; the machine
    /// is unchanged.
    #[error("lower-layer event {event} unexpected in state {state}")]
    UnexpectedLowerLayerEvent {
        /// The event.
        event: &'static str,
        /// The state the machine is (still) in.
        state: AcseState,
    },
}

/// A-ASSOCIATE request (X.217 Table 2, request column, normal mode). The presentation-layer
/// parameters (addresses, contexts, QoS, session requirements) belong to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociateRequest {
    /// Mode (9.1.1.1); only [`Mode::Normal`] is supported by this machine.
    pub mode: Mode,
    /// Application context name (9.1.1.2).
    pub application_context_name: Oid,
    /// Calling AP title (9.1.1.3).
    pub calling_ap_title: Option<ApTitle>,
    /// Calling AE qualifier (9.1.1.4).
    pub calling_ae_qualifier: Option<AeQualifier>,
    /// Calling AP invocation-identifier (9.1.1.5), at most 4 octets.
    pub calling_ap_invocation_id: Option<i64>,
    /// Calling AE invocation-identifier (9.1.1.6), at most 4 octets.
    pub calling_ae_invocation_id: Option<i64>,
    /// Called AP title (9.1.1.7).
    pub called_ap_title: Option<ApTitle>,
    /// Called AE qualifier (9.1.1.8).
    pub called_ae_qualifier: Option<AeQualifier>,
    /// Called AP invocation-identifier (9.1.1.9), at most 4 octets.
    pub called_ap_invocation_id: Option<i64>,
    /// Called AE invocation-identifier (9.1.1.10), at most 4 octets.
    pub called_ae_invocation_id: Option<i64>,
    /// ACSE requirements (ISO 8650 Amd.1 sender-acse-requirements).
    pub acse_requirements: Option<AcseRequirements>,
    /// Authentication mechanism name (Amd.1); only with `authentication` in the requirements.
    pub mechanism_name: Option<Oid>,
    /// Calling authentication value (Amd.1); only with `authentication` in the requirements.
    pub authentication_value: Option<AuthenticationValue>,
    /// Application context name list (X.227bis, context negotiation); empty means absent.
    pub application_context_name_list: Vec<Oid>,
    /// Implementation information (GraphicString octets).
    pub implementation_information: Option<Vec<u8>>,
    /// User information (9.1.1.15); empty means absent.
    pub user_information: Vec<External>,
}

/// A-ASSOCIATE indication: the request's parameters as received (the mode is always
/// [`Mode::Normal`], since an AARQ was received).
pub type AssociateIndication = AssociateRequest;

impl AssociateRequest {
    /// A normal-mode request with only the application context name.
    pub fn new(application_context_name: Oid) -> Self {
        AssociateRequest {
            mode: Mode::Normal,
            application_context_name,
            calling_ap_title: None,
            calling_ae_qualifier: None,
            calling_ap_invocation_id: None,
            calling_ae_invocation_id: None,
            called_ap_title: None,
            called_ae_qualifier: None,
            called_ap_invocation_id: None,
            called_ae_invocation_id: None,
            acse_requirements: None,
            mechanism_name: None,
            authentication_value: None,
            application_context_name_list: Vec::new(),
            implementation_information: None,
            user_information: Vec::new(),
        }
    }

    /// The same request with the password mechanism (2.2.3.1): requirements
    /// `{authentication}`, mechanism 2.2.3.1 and a `charstring` value.
    pub fn with_password(mut self, password: &[u8]) -> Self {
        self.acse_requirements = Some(AcseRequirements::authentication());
        self.mechanism_name = Some(guls_ber::known::PASSWORD_MECHANISM);
        self.authentication_value = Some(AuthenticationValue::password(password));
        self
    }

    /// True when the requirements include the authentication functional unit.
    pub fn proposes_authentication(&self) -> bool {
        self.acse_requirements.is_some_and(|r| r.authentication)
    }

    /// The AARQ carrying this request (a copy: see [`AssociateRequest::into_aarq`]).
    pub fn to_aarq(&self) -> Aarq {
        self.clone().into_aarq()
    }

    /// The AARQ carrying this request, taking its parameters instead of copying them (the
    /// authentication value and user information are moved, not cloned).
    pub fn into_aarq(self) -> Aarq {
        Aarq {
            protocol_version: ProtocolVersion::default(),
            application_context_name: self.application_context_name,
            called_ap_title: self.called_ap_title,
            called_ae_qualifier: self.called_ae_qualifier,
            called_ap_invocation_id: self.called_ap_invocation_id,
            called_ae_invocation_id: self.called_ae_invocation_id,
            calling_ap_title: self.calling_ap_title,
            calling_ae_qualifier: self.calling_ae_qualifier,
            calling_ap_invocation_id: self.calling_ap_invocation_id,
            calling_ae_invocation_id: self.calling_ae_invocation_id,
            sender_acse_requirements: self.acse_requirements,
            mechanism_name: self.mechanism_name,
            calling_authentication_value: self.authentication_value,
            application_context_name_list: self.application_context_name_list,
            implementation_information: self.implementation_information,
            user_information: self.user_information,
        }
    }

    /// The A-ASSOCIATE indication for a received AARQ (the protocol version is not an X.217
    /// parameter and is dropped).
    pub fn from_aarq(aarq: Aarq) -> Self {
        AssociateRequest {
            mode: Mode::Normal,
            application_context_name: aarq.application_context_name,
            calling_ap_title: aarq.calling_ap_title,
            calling_ae_qualifier: aarq.calling_ae_qualifier,
            calling_ap_invocation_id: aarq.calling_ap_invocation_id,
            calling_ae_invocation_id: aarq.calling_ae_invocation_id,
            called_ap_title: aarq.called_ap_title,
            called_ae_qualifier: aarq.called_ae_qualifier,
            called_ap_invocation_id: aarq.called_ap_invocation_id,
            called_ae_invocation_id: aarq.called_ae_invocation_id,
            acse_requirements: aarq.sender_acse_requirements,
            mechanism_name: aarq.mechanism_name,
            authentication_value: aarq.calling_authentication_value,
            application_context_name_list: aarq.application_context_name_list,
            implementation_information: aarq.implementation_information,
            user_information: aarq.user_information,
        }
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.mode != Mode::Normal {
            return Err("X.410-1984 mode is not supported by this machine");
        }
        check_ids([
            self.calling_ap_invocation_id,
            self.calling_ae_invocation_id,
            self.called_ap_invocation_id,
            self.called_ae_invocation_id,
        ])?;
        if !self.proposes_authentication()
            && (self.mechanism_name.is_some() || self.authentication_value.is_some())
        {
            return Err(
                "mechanism name or authentication value without the authentication \
                        functional unit in the ACSE requirements (ISO 8650 Amd.1)",
            );
        }
        Ok(())
    }
}

/// A-ASSOCIATE response (X.217 Table 2, response column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociateResponse {
    /// Application context name (9.1.1.2): the proposed one or another.
    pub application_context_name: Oid,
    /// Result (9.1.1.16).
    pub result: AssociateResult,
    /// Diagnostic (9.1.1.18): only with a rejection; `None` is sent as `null`.
    pub diagnostic: Option<UserDiagnostic>,
    /// Responding AP title (9.1.1.11).
    pub responding_ap_title: Option<ApTitle>,
    /// Responding AE qualifier (9.1.1.12).
    pub responding_ae_qualifier: Option<AeQualifier>,
    /// Responding AP invocation-identifier (9.1.1.13), at most 4 octets.
    pub responding_ap_invocation_id: Option<i64>,
    /// Responding AE invocation-identifier (9.1.1.14), at most 4 octets.
    pub responding_ae_invocation_id: Option<i64>,
    /// Responder ACSE requirements (Amd.1); `authentication` only if the request proposed it.
    pub acse_requirements: Option<AcseRequirements>,
    /// Mechanism name (Amd.1); only with `authentication` in the requirements.
    pub mechanism_name: Option<Oid>,
    /// Responding authentication value (Amd.1); only with `authentication` in the requirements.
    pub authentication_value: Option<AuthenticationValue>,
    /// Application context name list (X.227bis); empty means absent.
    pub application_context_name_list: Vec<Oid>,
    /// Implementation information (GraphicString octets).
    pub implementation_information: Option<Vec<u8>>,
    /// User information (9.1.1.15); empty means absent.
    pub user_information: Vec<External>,
}

impl AssociateResponse {
    /// An acceptance in the given application context.
    pub fn accept(application_context_name: Oid) -> Self {
        Self::new(application_context_name, AssociateResult::Accepted, None)
    }

    /// A permanent rejection with a diagnostic (for instance
    /// [`UserDiagnostic::AuthenticationFailure`]).
    pub fn reject(application_context_name: Oid, diagnostic: UserDiagnostic) -> Self {
        Self::new(
            application_context_name,
            AssociateResult::RejectedPermanent,
            Some(diagnostic),
        )
    }

    /// A response with the given result and diagnostic and nothing optional.
    pub fn new(
        application_context_name: Oid,
        result: AssociateResult,
        diagnostic: Option<UserDiagnostic>,
    ) -> Self {
        AssociateResponse {
            application_context_name,
            result,
            diagnostic,
            responding_ap_title: None,
            responding_ae_qualifier: None,
            responding_ap_invocation_id: None,
            responding_ae_invocation_id: None,
            acse_requirements: None,
            mechanism_name: None,
            authentication_value: None,
            application_context_name_list: Vec::new(),
            implementation_information: None,
            user_information: Vec::new(),
        }
    }

    /// True when the requirements include the authentication functional unit.
    pub fn includes_authentication(&self) -> bool {
        self.acse_requirements.is_some_and(|r| r.authentication)
    }

    /// The AARE carrying this response (result source acse-service-user; a copy: see
    /// [`AssociateResponse::into_aare`]).
    pub fn to_aare(&self) -> Aare {
        self.clone().into_aare()
    }

    /// The AARE carrying this response (result source acse-service-user), taking its
    /// parameters instead of copying them (the authentication value and user information
    /// are moved, not cloned).
    pub fn into_aare(self) -> Aare {
        let mut aare = Aare::new(
            self.application_context_name,
            self.result,
            ResultSourceDiagnostic::ServiceUser(self.diagnostic.unwrap_or(UserDiagnostic::Null)),
        );
        aare.responding_ap_title = self.responding_ap_title;
        aare.responding_ae_qualifier = self.responding_ae_qualifier;
        aare.responding_ap_invocation_id = self.responding_ap_invocation_id;
        aare.responding_ae_invocation_id = self.responding_ae_invocation_id;
        aare.responder_acse_requirements = self.acse_requirements;
        aare.mechanism_name = self.mechanism_name;
        aare.responding_authentication_value = self.authentication_value;
        aare.application_context_name_list = self.application_context_name_list;
        aare.implementation_information = self.implementation_information;
        aare.user_information = self.user_information;
        aare
    }

    fn check(&self, authentication_proposed: bool) -> Result<(), &'static str> {
        if let AssociateResult::Unknown(_) = self.result {
            return Err("the result must be accepted, rejected-permanent or rejected-transient");
        }
        if self.result == AssociateResult::Accepted
            && self.diagnostic.is_some_and(|d| d != UserDiagnostic::Null)
        {
            return Err("a diagnostic is only used with a rejected result (X.217 9.1.1.18)");
        }
        check_ids([
            self.responding_ap_invocation_id,
            self.responding_ae_invocation_id,
            None,
            None,
        ])?;
        if self.includes_authentication() && !authentication_proposed {
            return Err(
                "the authentication functional unit was not proposed by the requestor \
                        (ISO 8650 Amd.1)",
            );
        }
        if !self.includes_authentication()
            && (self.mechanism_name.is_some() || self.authentication_value.is_some())
        {
            return Err(
                "mechanism name or authentication value without the authentication \
                        functional unit in the ACSE requirements (ISO 8650 Amd.1)",
            );
        }
        Ok(())
    }
}

/// A-ASSOCIATE confirm (X.217 Table 2, confirm column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociateConfirm {
    /// Application context name returned by the acceptor (the proposed one when the
    /// presentation service-provider rejected).
    pub application_context_name: Oid,
    /// Result (9.1.1.16).
    pub result: AssociateResult,
    /// Result source (9.1.1.17).
    pub result_source: ResultSource,
    /// Diagnostic (9.1.1.18) as received; `None` when it was `null` or when the presentation
    /// service-provider rejected.
    pub diagnostic: Option<ResultSourceDiagnostic>,
    /// Responding AP title (9.1.1.11).
    pub responding_ap_title: Option<ApTitle>,
    /// Responding AE qualifier (9.1.1.12).
    pub responding_ae_qualifier: Option<AeQualifier>,
    /// Responding AP invocation-identifier (9.1.1.13).
    pub responding_ap_invocation_id: Option<i64>,
    /// Responding AE invocation-identifier (9.1.1.14).
    pub responding_ae_invocation_id: Option<i64>,
    /// Responder ACSE requirements as received.
    pub acse_requirements: Option<AcseRequirements>,
    /// True when both the request and the response included the authentication functional
    /// unit (ISO 8650 Amd.1).
    pub authentication_selected: bool,
    /// Mechanism name as received.
    pub mechanism_name: Option<Oid>,
    /// Responding authentication value as received.
    pub authentication_value: Option<AuthenticationValue>,
    /// Application context name list; empty means absent.
    pub application_context_name_list: Vec<Oid>,
    /// Implementation information (GraphicString octets).
    pub implementation_information: Option<Vec<u8>>,
    /// User information (9.1.1.15); empty means absent.
    pub user_information: Vec<External>,
}

impl AssociateConfirm {
    fn from_aare(aare: Aare, authentication_proposed: bool) -> Self {
        let rsd = aare.result_source_diagnostic;
        let authentication_selected = authentication_proposed
            && aare
                .responder_acse_requirements
                .is_some_and(|r| r.authentication);
        AssociateConfirm {
            application_context_name: aare.application_context_name,
            result: aare.result,
            result_source: rsd.source(),
            diagnostic: (rsd.value() != 0).then_some(rsd),
            responding_ap_title: aare.responding_ap_title,
            responding_ae_qualifier: aare.responding_ae_qualifier,
            responding_ap_invocation_id: aare.responding_ap_invocation_id,
            responding_ae_invocation_id: aare.responding_ae_invocation_id,
            acse_requirements: aare.responder_acse_requirements,
            authentication_selected,
            mechanism_name: aare.mechanism_name,
            authentication_value: aare.responding_authentication_value,
            application_context_name_list: aare.application_context_name_list,
            implementation_information: aare.implementation_information,
            user_information: aare.user_information,
        }
    }

    /// True when the association is established.
    pub fn is_accepted(&self) -> bool {
        self.result == AssociateResult::Accepted
    }
}

/// A-RELEASE request (X.217 Table 3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReleaseRequest {
    /// Reason (9.2.1.1); `None` leaves the field out.
    pub reason: Option<ReleaseRequestReason>,
    /// User information (9.2.1.2); empty means absent.
    pub user_information: Vec<External>,
}

impl ReleaseRequest {
    /// Reason normal, no user information.
    pub fn normal() -> Self {
        ReleaseRequest {
            reason: Some(ReleaseRequestReason::Normal),
            user_information: Vec::new(),
        }
    }
}

/// A-RELEASE indication (X.217 Table 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseIndication {
    /// Reason as received.
    pub reason: Option<ReleaseRequestReason>,
    /// User information as received.
    pub user_information: Vec<External>,
    /// True when this is the unexpected indication of a release collision (X.217 9.2.2.10):
    /// the local user had itself requested release.
    pub collision: bool,
}

/// A-RELEASE response (X.217 Table 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseResponse {
    /// Reason (9.2.1.1); `None` leaves the field out.
    pub reason: Option<ReleaseResponseReason>,
    /// User information (9.2.1.2); empty means absent.
    pub user_information: Vec<External>,
    /// Result (9.2.1.3): only [`ReleaseResult::Affirmative`] can be sent (duplex only).
    pub result: ReleaseResult,
}

impl ReleaseResponse {
    /// Affirmative, reason normal, no user information.
    pub fn affirmative() -> Self {
        ReleaseResponse {
            reason: Some(ReleaseResponseReason::Normal),
            user_information: Vec::new(),
            result: ReleaseResult::Affirmative,
        }
    }
}

/// A-RELEASE confirm (X.217 Table 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseConfirm {
    /// Reason as received.
    pub reason: Option<ReleaseResponseReason>,
    /// User information as received.
    pub user_information: Vec<External>,
    /// Always [`ReleaseResult::Affirmative`] with the duplex functional unit.
    pub result: ReleaseResult,
}

/// A-ABORT request (X.217 Table 4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AbortRequest {
    /// User information; empty means absent.
    pub user_information: Vec<External>,
}

/// A-ABORT indication (X.217 Table 4): from a received ABRT, or from this machine when it
/// aborts on a protocol error (X.217 9.3.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortIndication {
    /// Abort source.
    pub source: AbortSource,
    /// ABRT diagnostic (ISO 8650 Amd.1), when present.
    pub diagnostic: Option<AbortDiagnostic>,
    /// User information (never present on a provider abort sent by this machine).
    pub user_information: Vec<External>,
    /// Set when this machine detected the error and aborted (source is then
    /// acse-service-provider); `None` for an abort received from the peer.
    pub protocol_error: Option<ProtocolError>,
}

/// What made the machine abort the association as the ACSE service-provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The received octets are not an ACSE APDU.
    #[error("undecodable APDU: {0}")]
    Undecodable(DecodeError),
    /// The APDU is valid but not allowed in the state.
    #[error("{apdu} APDU unexpected in state {state}")]
    UnexpectedApdu {
        /// The APDU name (see [`Apdu::name`]).
        apdu: &'static str,
        /// The state it arrived in.
        state: AcseState,
    },
    /// An AARE whose contents break X.217.
    #[error("invalid AARE: {0}")]
    InvalidAare(&'static str),
}

/// Why the layer below ended the association (the A-P-ABORT Provider Reason, X.217 9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderReason {
    /// A presentation ARP, with its `Abort-reason` (X.226) when present.
    Presentation(Option<i64>),
    /// The session provider aborted (an AB without presentation PDU).
    Session,
    /// The transport connection failed or was closed.
    Transport,
    /// The local driver gave up (for instance a timer expired).
    Local,
}

/// A-P-ABORT indication (X.217 Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderAbortIndication {
    /// Provider reason.
    pub reason: ProviderReason,
}

/// An AARQ refused by the ACSE service-provider (X.217 9.1.2.7): no indication goes to the
/// user; the AARE to send is in the [`ApduReaction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRejection {
    /// The result sent.
    pub result: AssociateResult,
    /// The provider diagnostic sent.
    pub diagnostic: ProviderDiagnostic,
}

/// What the machine reports to the user (or, for [`AcseEvent::ProviderRejection`], to the
/// driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcseEvent {
    /// A-ASSOCIATE indication (responder).
    AssociateIndication(AssociateIndication),
    /// A-ASSOCIATE confirm (initiator).
    AssociateConfirm(AssociateConfirm),
    /// The received AARQ was rejected by the provider; no indication (X.217 9.1.2.7).
    ProviderRejection(ProviderRejection),
    /// A-RELEASE indication.
    ReleaseIndication(ReleaseIndication),
    /// A-RELEASE confirm.
    ReleaseConfirm(ReleaseConfirm),
    /// A-ABORT indication.
    AbortIndication(AbortIndication),
    /// A-P-ABORT indication.
    ProviderAbortIndication(ProviderAbortIndication),
}

/// An APDU to send, as a typed value (for logs) and in its canonical encoding.
///
/// `Debug` shows the typed APDU (whose credentials are redacted) and only the length of the
/// octets.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingApdu {
    /// The APDU.
    pub apdu: Apdu,
    /// Its canonical encoding (definite, minimal lengths): the value of the PDV to send.
    pub bytes: Vec<u8>,
}

impl OutgoingApdu {
    fn new(apdu: Apdu) -> Self {
        let bytes = apdu.encode();
        OutgoingApdu { apdu, bytes }
    }
}

impl fmt::Debug for OutgoingApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingApdu")
            .field("apdu", &self.apdu)
            .field("bytes", &format_args!("<{} octets>", self.bytes.len()))
            .finish()
    }
}

/// What a received APDU produced: an event for the user and possibly an APDU to send back.
///
/// `event` is `None` only when the machine was already [`AcseState::Closed`] (the input is
/// discarded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApduReaction {
    /// The event, if any.
    pub event: Option<AcseEvent>,
    /// An APDU to send (a provider ABRT or a provider-rejection AARE), if any.
    pub send: Option<OutgoingApdu>,
}

/// The ACSE protocol machine of one association (sans-IO).
#[derive(Debug, Clone)]
pub struct AcseMachine {
    state: AcseState,
    role: Option<Role>,
    authentication_proposed: bool,
}

impl Default for AcseMachine {
    fn default() -> Self {
        Self::new()
    }
}

/// The largest invocation identifier that fits the 4-octet limit (as the codec decodes them,
/// signed or unsigned 32-bit).
const MAX_ID: i64 = u32::MAX as i64;
const MIN_ID: i64 = i32::MIN as i64;

fn check_ids(ids: [Option<i64>; 4]) -> Result<(), &'static str> {
    if ids
        .iter()
        .flatten()
        .any(|&v| !(MIN_ID..=MAX_ID).contains(&v))
    {
        return Err("an invocation identifier does not fit in 4 octets");
    }
    Ok(())
}

impl AcseMachine {
    /// A machine in [`AcseState::Idle`]; it becomes the initiator with
    /// [`AcseMachine::associate_request`] or the responder on receiving an AARQ.
    pub fn new() -> Self {
        AcseMachine {
            state: AcseState::Idle,
            role: None,
            authentication_proposed: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> AcseState {
        self.state
    }

    /// The role, once known.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// True once the association is released, rejected or aborted.
    pub fn is_closed(&self) -> bool {
        self.state == AcseState::Closed
    }

    /// True while the association is established and not being released.
    pub fn is_associated(&self) -> bool {
        self.state == AcseState::Associated
    }

    fn illegal(&self, primitive: Primitive, reason: &'static str) -> AcseError {
        AcseError::IllegalPrimitive {
            primitive,
            state: self.state,
            reason,
        }
    }

    /// A-ASSOCIATE request: legal only in [`AcseState::Idle`]; returns the AARQ to send in
    /// the P-CONNECT request.
    pub fn associate_request(&mut self, req: &AssociateRequest) -> Result<OutgoingApdu, AcseError> {
        self.associate_request_check(req)?;
        Ok(OutgoingApdu::new(Apdu::Aarq(req.to_aarq())))
    }

    /// [`AcseMachine::associate_request`] taking the request by value: its parameters go
    /// into the AARQ without a copy.
    pub fn associate_request_owned(
        &mut self,
        req: AssociateRequest,
    ) -> Result<OutgoingApdu, AcseError> {
        self.associate_request_check(&req)?;
        Ok(OutgoingApdu::new(Apdu::Aarq(req.into_aarq())))
    }

    fn associate_request_check(&mut self, req: &AssociateRequest) -> Result<(), AcseError> {
        const P: Primitive = Primitive::AssociateRequest;
        if self.state != AcseState::Idle {
            return Err(self.illegal(P, "A-ASSOCIATE is not used on an existing association"));
        }
        req.check().map_err(|r| self.illegal(P, r))?;
        self.role = Some(Role::Initiator);
        self.authentication_proposed = req.proposes_authentication();
        self.state = AcseState::AwaitingAare;
        Ok(())
    }

    /// A-ASSOCIATE response: legal only in [`AcseState::AwaitingAssociateResponse`]; returns
    /// the AARE to send in the P-CONNECT response. Accepted goes to
    /// [`AcseState::Associated`], rejected to [`AcseState::Closed`].
    pub fn associate_response(
        &mut self,
        rsp: &AssociateResponse,
    ) -> Result<OutgoingApdu, AcseError> {
        self.associate_response_check(rsp)?;
        Ok(OutgoingApdu::new(Apdu::Aare(rsp.to_aare())))
    }

    /// [`AcseMachine::associate_response`] taking the response by value: its parameters go
    /// into the AARE without a copy.
    pub fn associate_response_owned(
        &mut self,
        rsp: AssociateResponse,
    ) -> Result<OutgoingApdu, AcseError> {
        self.associate_response_check(&rsp)?;
        Ok(OutgoingApdu::new(Apdu::Aare(rsp.into_aare())))
    }

    fn associate_response_check(&mut self, rsp: &AssociateResponse) -> Result<(), AcseError> {
        const P: Primitive = Primitive::AssociateResponse;
        if self.state != AcseState::AwaitingAssociateResponse {
            return Err(self.illegal(P, "no A-ASSOCIATE indication is awaiting a response"));
        }
        rsp.check(self.authentication_proposed)
            .map_err(|r| self.illegal(P, r))?;
        self.state = if rsp.result == AssociateResult::Accepted {
            AcseState::Associated
        } else {
            AcseState::Closed
        };
        Ok(())
    }

    /// A-RELEASE request: legal only in [`AcseState::Associated`]; returns the RLRQ to send
    /// in the P-RELEASE request.
    pub fn release_request(&mut self, req: &ReleaseRequest) -> Result<OutgoingApdu, AcseError> {
        if self.state != AcseState::Associated {
            return Err(self.illegal(
                Primitive::ReleaseRequest,
                "A-RELEASE is only used on an established association not being released",
            ));
        }
        self.state = AcseState::AwaitingRlre;
        Ok(OutgoingApdu::new(Apdu::Rlrq(Rlrq {
            reason: req.reason,
            user_information: req.user_information.clone(),
        })))
    }

    /// A-RELEASE response: legal after an A-RELEASE indication
    /// ([`AcseState::AwaitingReleaseResponse`], [`AcseState::CollisionInitiatorAwaitingResponse`],
    /// [`AcseState::CollisionAwaitingResponse`]); returns the RLRE to send in the P-RELEASE
    /// response. The result must be affirmative (duplex functional unit only, X.217 9.2.2.5).
    pub fn release_response(&mut self, rsp: &ReleaseResponse) -> Result<OutgoingApdu, AcseError> {
        const P: Primitive = Primitive::ReleaseResponse;
        let next = match self.state {
            AcseState::AwaitingReleaseResponse | AcseState::CollisionAwaitingResponse => {
                AcseState::Closed
            }
            AcseState::CollisionInitiatorAwaitingResponse => {
                AcseState::CollisionInitiatorAwaitingRlre
            }
            AcseState::CollisionResponderAwaitingRlre => {
                return Err(self.illegal(
                    P,
                    "in a release collision the association-responder answers only after the \
                     A-RELEASE confirm (X.217 9.2.2.10 b)",
                ));
            }
            _ => return Err(self.illegal(P, "no A-RELEASE indication is awaiting a response")),
        };
        if rsp.result != ReleaseResult::Affirmative {
            return Err(self.illegal(
                P,
                "a negative A-RELEASE response needs the session negotiated-release functional \
                 unit, which this profile (duplex only) never selects (X.217 9.2.2.5)",
            ));
        }
        self.state = next;
        Ok(OutgoingApdu::new(Apdu::Rlre(Rlre {
            reason: rsp.reason,
            user_information: rsp.user_information.clone(),
        })))
    }

    /// A-ABORT request: legal in every state between the A-ASSOCIATE request or indication and
    /// [`AcseState::Closed`]; returns the ABRT (abort-source acse-service-user) to send in the
    /// P-U-ABORT request.
    pub fn abort_request(&mut self, req: &AbortRequest) -> Result<OutgoingApdu, AcseError> {
        if matches!(self.state, AcseState::Idle | AcseState::Closed) {
            return Err(self.illegal(
                Primitive::AbortRequest,
                "there is no association or association attempt to abort",
            ));
        }
        self.state = AcseState::Closed;
        Ok(OutgoingApdu::new(Apdu::Abrt(Abrt {
            abort_source: AbortSource::AcseServiceUser,
            abort_diagnostic: None,
            user_information: req.user_information.clone(),
        })))
    }

    /// A received APDU (the value of the PDV in the ACSE presentation context). Never fails:
    /// an undecodable or unexpected APDU gives a provider abort (see the module docs).
    pub fn on_apdu(&mut self, bytes: &[u8]) -> ApduReaction {
        if self.state == AcseState::Closed {
            return ApduReaction::default();
        }
        match Apdu::decode(bytes) {
            Ok(apdu) => self.on_decoded_apdu(apdu),
            Err(e) => self.protocol_abort(ProtocolError::Undecodable(e)),
        }
    }

    /// A received APDU already decoded (see [`AcseMachine::on_apdu`]).
    pub fn on_decoded_apdu(&mut self, apdu: Apdu) -> ApduReaction {
        use AcseState as S;
        let state = self.state;
        let reaction = |event| ApduReaction {
            event: Some(event),
            send: None,
        };
        match (state, apdu) {
            (S::Closed, _) => ApduReaction::default(),
            (_, Apdu::Abrt(abrt)) => {
                self.state = S::Closed;
                reaction(AcseEvent::AbortIndication(AbortIndication {
                    source: abrt.abort_source,
                    diagnostic: abrt.abort_diagnostic,
                    user_information: abrt.user_information,
                    protocol_error: None,
                }))
            }
            (S::Idle, Apdu::Aarq(aarq)) => {
                self.role = Some(Role::Responder);
                if !aarq.protocol_version.version1 {
                    self.state = S::Closed;
                    let diagnostic = ProviderDiagnostic::NoCommonAcseVersion;
                    let result = AssociateResult::RejectedPermanent;
                    let aare = Aare::new(
                        aarq.application_context_name,
                        result,
                        ResultSourceDiagnostic::ServiceProvider(diagnostic),
                    );
                    return ApduReaction {
                        event: Some(AcseEvent::ProviderRejection(ProviderRejection {
                            result,
                            diagnostic,
                        })),
                        send: Some(OutgoingApdu::new(Apdu::Aare(aare))),
                    };
                }
                let ind = AssociateIndication::from_aarq(aarq);
                self.authentication_proposed = ind.proposes_authentication();
                self.state = S::AwaitingAssociateResponse;
                reaction(AcseEvent::AssociateIndication(ind))
            }
            (S::AwaitingAare, Apdu::Aare(aare)) => {
                if let AssociateResult::Unknown(_) = aare.result {
                    return self.protocol_abort(ProtocolError::InvalidAare(
                        "result is not accepted, rejected-permanent or rejected-transient",
                    ));
                }
                if aare.result == AssociateResult::Accepted
                    && aare.result_source_diagnostic.source() != ResultSource::AcseServiceUser
                {
                    return self.protocol_abort(ProtocolError::InvalidAare(
                        "accepted with a result source other than acse-service-user \
                         (X.217 9.1.1.17)",
                    ));
                }
                let cnf = AssociateConfirm::from_aare(aare, self.authentication_proposed);
                self.state = if cnf.is_accepted() {
                    S::Associated
                } else {
                    S::Closed
                };
                reaction(AcseEvent::AssociateConfirm(cnf))
            }
            (S::Associated, Apdu::Rlrq(rlrq)) => {
                self.state = S::AwaitingReleaseResponse;
                reaction(release_indication(rlrq, false))
            }
            (S::AwaitingRlre, Apdu::Rlrq(rlrq)) => {
                self.state = match self.role {
                    Some(Role::Initiator) => S::CollisionInitiatorAwaitingResponse,
                    _ => S::CollisionResponderAwaitingRlre,
                };
                reaction(release_indication(rlrq, true))
            }
            (S::AwaitingRlre | S::CollisionInitiatorAwaitingRlre, Apdu::Rlre(rlre)) => {
                self.state = S::Closed;
                reaction(release_confirm(rlre))
            }
            (
                S::CollisionResponderAwaitingRlre | S::CollisionInitiatorAwaitingResponse,
                Apdu::Rlre(rlre),
            ) => {
                self.state = S::CollisionAwaitingResponse;
                reaction(release_confirm(rlre))
            }
            (_, apdu) => self.protocol_abort(ProtocolError::UnexpectedApdu {
                apdu: apdu.name(),
                state,
            }),
        }
    }

    /// The layer below ended the connection (P-P-ABORT, session abort, transport failure):
    /// gives an A-P-ABORT indication and closes; `None` when already closed.
    pub fn on_provider_abort(&mut self, reason: ProviderReason) -> Option<AcseEvent> {
        if self.state == AcseState::Closed {
            return None;
        }
        self.state = AcseState::Closed;
        Some(AcseEvent::ProviderAbortIndication(
            ProviderAbortIndication { reason },
        ))
    }

    /// The peer's P-U-ABORT arrived without an ABRT (session version 1, X.217 9.3.1.2): an
    /// A-ABORT indication with source acse-service-user and no user information; `None` when
    /// already closed.
    pub fn on_abort_without_apdu(&mut self) -> Option<AcseEvent> {
        if self.state == AcseState::Closed {
            return None;
        }
        self.state = AcseState::Closed;
        Some(AcseEvent::AbortIndication(AbortIndication {
            source: AbortSource::AcseServiceUser,
            diagnostic: None,
            user_information: Vec::new(),
            protocol_error: None,
        }))
    }

    /// The presentation service-provider refused the P-CONNECT without an AARE (a CPR without
    /// user data): the A-ASSOCIATE confirm with result source presentation-service-provider
    /// (X.217 9.1.2.7). Legal only in [`AcseState::AwaitingAare`]; `result` should be one of
    /// the two rejections.
    pub fn on_presentation_rejection(
        &mut self,
        result: AssociateResult,
        application_context_name: Oid,
    ) -> Result<AcseEvent, AcseError> {
        if self.state != AcseState::AwaitingAare {
            return Err(AcseError::UnexpectedLowerLayerEvent {
                event: "P-CONNECT rejection",
                state: self.state,
            });
        }
        let result = match result {
            AssociateResult::RejectedTransient => AssociateResult::RejectedTransient,
            _ => AssociateResult::RejectedPermanent,
        };
        self.state = AcseState::Closed;
        Ok(AcseEvent::AssociateConfirm(AssociateConfirm {
            application_context_name,
            result,
            result_source: ResultSource::PresentationServiceProvider,
            diagnostic: None,
            responding_ap_title: None,
            responding_ae_qualifier: None,
            responding_ap_invocation_id: None,
            responding_ae_invocation_id: None,
            acse_requirements: None,
            authentication_selected: false,
            mechanism_name: None,
            authentication_value: None,
            application_context_name_list: Vec::new(),
            implementation_information: None,
            user_information: Vec::new(),
        }))
    }

    fn protocol_abort(&mut self, error: ProtocolError) -> ApduReaction {
        self.state = AcseState::Closed;
        let abrt = Abrt::provider(AbortDiagnostic::ProtocolError);
        ApduReaction {
            event: Some(AcseEvent::AbortIndication(AbortIndication {
                source: AbortSource::AcseServiceProvider,
                diagnostic: Some(AbortDiagnostic::ProtocolError),
                user_information: Vec::new(),
                protocol_error: Some(error),
            })),
            send: Some(OutgoingApdu::new(Apdu::Abrt(abrt))),
        }
    }
}

fn release_indication(rlrq: Rlrq, collision: bool) -> AcseEvent {
    AcseEvent::ReleaseIndication(ReleaseIndication {
        reason: rlrq.reason,
        user_information: rlrq.user_information,
        collision,
    })
}

fn release_confirm(rlre: Rlre) -> AcseEvent {
    AcseEvent::ReleaseConfirm(ReleaseConfirm {
        reason: rlre.reason,
        user_information: rlre.user_information,
        result: ReleaseResult::Affirmative,
    })
}
