//! The sans-IO presentation protocol machine: ISO 8823 kernel functional unit, normal mode.
//!
//! See [`PresentationMachine`] for the primitives, the states and the decisions taken.

use std::fmt;
use std::sync::Arc;

use guls_ber::{DecodeError, Oid, known};

use crate::decode::{
    DEFAULT_MAX_SELECTOR_LEN, DecodeOptions, SingleValue, decode_abort_with, decode_cp_with,
    decode_cpa_with, decode_cpr_with, decode_user_data_with, single_value, single_value_split,
};
use crate::encode::{
    EncodeStyle, encode_abort, encode_cp, encode_cpa, encode_cpr, encode_release_user_data,
    encode_td, td_header_into,
};
use crate::types::{
    Abort, AbortReason, Arp, Aru, ContextDefinition, ContextIdentifier, ContextResult, Cp, Cpa,
    Cpr, DefaultContextName, EventIdentifier, Pcid, PdvList, PdvValue, PresentationRequirements,
    ProviderReason, ResultReason, ResultValue, UserData, UserSessionRequirements, is_valid_pcid,
};

/// Default limit on the defined context set ([`PresentationConfig::max_contexts`]).
pub const DEFAULT_MAX_CONTEXTS: usize = 32;

/// The smallest DCS limit the configuration accepts (OIW SIA 8.3.2: at least 2 contexts).
pub const MIN_MAX_CONTEXTS: usize = 2;

/// Default limit on the definitions of a received CP
/// ([`PresentationConfig::max_proposed_contexts`]).
pub const DEFAULT_MAX_PROPOSED_CONTEXTS: usize = 256;

// ------------------------------------------------------------------------------------------
// Configuration

/// A presentation context the initiator proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedContext {
    /// The presentation context identifier (odd, 1..=32767).
    pub pcid: Pcid,
    /// The abstract syntax name.
    pub abstract_syntax: Oid,
    /// The transfer syntaxes offered, in the order sent (at least one).
    pub transfer_syntaxes: Vec<Oid>,
}

impl ProposedContext {
    /// A context offering only BER (2.1.1).
    pub fn ber(pcid: Pcid, abstract_syntax: Oid) -> Self {
        ProposedContext {
            pcid,
            abstract_syntax,
            transfer_syntaxes: vec![known::BER],
        }
    }

    fn definition(&self) -> ContextDefinition {
        ContextDefinition {
            id: self.pcid,
            abstract_syntax: self.abstract_syntax.clone(),
            transfer_syntaxes: self.transfer_syntaxes.clone(),
        }
    }
}

/// An abstract syntax the responder supports, with its acceptable transfer syntaxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedSyntax {
    /// The abstract syntax name.
    pub abstract_syntax: Oid,
    /// Acceptable transfer syntaxes, most preferred first.
    pub transfer_syntaxes: Vec<Oid>,
}

impl SupportedSyntax {
    /// An abstract syntax accepted with BER (2.1.1) only.
    pub fn ber(abstract_syntax: Oid) -> Self {
        SupportedSyntax {
            abstract_syntax,
            transfer_syntaxes: vec![known::BER],
        }
    }
}

/// Configuration of a [`PresentationMachine`] (both roles; each uses its own fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationConfig {
    /// Initiator: calling-presentation-selector of the CP (at most 4 octets).
    pub calling_selector: Option<Vec<u8>>,
    /// Initiator: called-presentation-selector of the CP (at most 4 octets).
    pub called_selector: Option<Vec<u8>>,
    /// Responder: responding-presentation-selector of the CPA/CPR (at most 4 octets). With
    /// [`PresentationConfig::strict_called_selector`] it is also the selector the CP must call.
    pub responding_selector: Option<Vec<u8>>,
    /// Initiator: the presentation context definition list, in the order sent.
    pub proposed_contexts: Vec<ProposedContext>,
    /// Initiator: an optional default-context-name.
    pub default_context: Option<DefaultContextName>,
    /// Responder: the abstract syntaxes accepted, with transfer syntaxes in preference order.
    pub supported_syntaxes: Vec<SupportedSyntax>,
    /// Both: the most contexts in the defined context set (at least [`MIN_MAX_CONTEXTS`]).
    pub max_contexts: usize,
    /// Responder: a CP with more definitions than this is refused (local-limit-exceeded).
    pub max_proposed_contexts: usize,
    /// Responder: accept a CP whose default-context-name is not supported (and leave the
    /// default context undefined) instead of refusing it with default-context-not-supported.
    pub ignore_unsupported_default_context: bool,
    /// Responder: refuse (called-presentation-address-unknown) a CP whose non-empty called
    /// selector differs from [`PresentationConfig::responding_selector`].
    pub strict_called_selector: bool,
    /// How PPDUs are encoded.
    pub encode_style: EncodeStyle,
    /// Limits applied to every received PPDU.
    pub decode_options: DecodeOptions,
}

impl Default for PresentationConfig {
    fn default() -> Self {
        PresentationConfig {
            calling_selector: None,
            called_selector: None,
            responding_selector: None,
            proposed_contexts: Vec::new(),
            default_context: None,
            supported_syntaxes: Vec::new(),
            max_contexts: DEFAULT_MAX_CONTEXTS,
            max_proposed_contexts: DEFAULT_MAX_PROPOSED_CONTEXTS,
            ignore_unsupported_default_context: false,
            strict_called_selector: false,
            encode_style: EncodeStyle::Canonical,
            decode_options: DecodeOptions::default(),
        }
    }
}

impl PresentationConfig {
    /// Checks the limits, the selectors and the proposed contexts (identifiers valid and
    /// distinct, at least one transfer syntax each, no more than `max_contexts`).
    pub fn validate(&self) -> Result<(), PresentationError> {
        if self.max_contexts < MIN_MAX_CONTEXTS {
            return Err(PresentationError::InvalidConfig(
                "max_contexts must be at least 2 (OIW SIA 8.3.2)",
            ));
        }
        if self.max_proposed_contexts < self.max_contexts {
            return Err(PresentationError::InvalidConfig(
                "max_proposed_contexts must be at least max_contexts",
            ));
        }
        for (which, sel) in [
            ("calling", &self.calling_selector),
            ("called", &self.called_selector),
            ("responding", &self.responding_selector),
        ] {
            if let Some(s) = sel
                && s.len() > DEFAULT_MAX_SELECTOR_LEN
            {
                return Err(PresentationError::SelectorTooLong {
                    which,
                    len: s.len(),
                });
            }
        }
        if self.proposed_contexts.len() > self.max_contexts {
            return Err(PresentationError::TooManyContexts {
                count: self.proposed_contexts.len(),
                limit: self.max_contexts,
            });
        }
        for (i, c) in self.proposed_contexts.iter().enumerate() {
            if !is_valid_pcid(c.pcid) {
                return Err(PresentationError::InvalidPcid(c.pcid));
            }
            if self.proposed_contexts[..i].iter().any(|p| p.pcid == c.pcid) {
                return Err(PresentationError::DuplicatePcid(c.pcid));
            }
            if c.transfer_syntaxes.is_empty() {
                return Err(PresentationError::NoTransferSyntax(c.pcid));
            }
        }
        Ok(())
    }

    /// The identifier of the proposed context whose abstract syntax is ACSE (2.2.1.0.1), the
    /// one to put the AARQ in.
    pub fn acse_pcid(&self) -> Option<Pcid> {
        self.proposed_contexts
            .iter()
            .find(|c| c.abstract_syntax == known::ACSE_ABSTRACT_SYNTAX)
            .map(|c| c.pcid)
    }

    fn supported(&self, abstract_syntax: &Oid) -> Option<&SupportedSyntax> {
        self.supported_syntaxes
            .iter()
            .find(|s| &s.abstract_syntax == abstract_syntax)
    }
}

// ------------------------------------------------------------------------------------------
// States, primitives, errors

/// Which end of the connection the machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the CP.
    Initiator,
    /// Received the CP.
    Responder,
}

/// The state of a [`PresentationMachine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresentationState {
    /// No connection yet (STA I0).
    Idle,
    /// Initiator: CP sent, waiting for the CPA or CPR.
    AwaitingConnectConfirm,
    /// Responder: CP received, waiting for the local accept or refuse.
    AwaitingConnectResponse,
    /// The connection is established (data transfer).
    Connected,
    /// P-RELEASE request sent, waiting for the response; data is still received.
    ReleaseRequested,
    /// P-RELEASE request received, the response is due; data may still be sent.
    ReleaseIndicated,
    /// Both ends requested release; both responses are due.
    ReleaseCollision,
    /// Refused or released: no more primitives.
    Closed,
    /// Aborted by either end: no more primitives.
    Aborted,
}

impl PresentationState {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            PresentationState::Idle => "idle",
            PresentationState::AwaitingConnectConfirm => "awaiting-connect-confirm",
            PresentationState::AwaitingConnectResponse => "awaiting-connect-response",
            PresentationState::Connected => "connected",
            PresentationState::ReleaseRequested => "release-requested",
            PresentationState::ReleaseIndicated => "release-indicated",
            PresentationState::ReleaseCollision => "release-collision",
            PresentationState::Closed => "closed",
            PresentationState::Aborted => "aborted",
        }
    }

    /// True in every state where the connection exists or is being set up (abort is legal).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            PresentationState::Idle | PresentationState::Closed | PresentationState::Aborted
        )
    }
}

impl fmt::Display for PresentationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A primitive or received PPDU, as named in [`PresentationError::IllegalPrimitive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// P-CONNECT request ([`PresentationMachine::connect_request`]).
    ConnectRequest,
    /// CPA received ([`PresentationMachine::on_connect_accept`]).
    ConnectAcceptReceived,
    /// CPR received ([`PresentationMachine::on_connect_refuse`]).
    ConnectRefuseReceived,
    /// CP received ([`PresentationMachine::on_connect_request`]).
    ConnectRequestReceived,
    /// Override of a context result ([`PresentationMachine::set_context_result`]).
    SetContextResult,
    /// P-CONNECT response, accepted ([`PresentationMachine::accept`]).
    ConnectAccept,
    /// P-CONNECT response, refused ([`PresentationMachine::refuse`]).
    ConnectRefuse,
    /// P-DATA request ([`PresentationMachine::send_data`]).
    DataRequest,
    /// TD received ([`PresentationMachine::on_data`]).
    DataReceived,
    /// P-RELEASE request user data.
    ReleaseRequest,
    /// P-RELEASE response user data.
    ReleaseResponse,
    /// P-RELEASE request user data received (FINISH).
    ReleaseRequestReceived,
    /// P-RELEASE response user data received (DISCONNECT).
    ReleaseResponseReceived,
    /// P-U-ABORT request ([`PresentationMachine::user_abort`]).
    UserAbort,
    /// P-P-ABORT issued locally ([`PresentationMachine::provider_abort`]).
    ProviderAbort,
    /// ARU or ARP received ([`PresentationMachine::on_abort`]).
    AbortReceived,
}

impl Primitive {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::ConnectRequest => "P-CONNECT request",
            Primitive::ConnectAcceptReceived => "CPA received",
            Primitive::ConnectRefuseReceived => "CPR received",
            Primitive::ConnectRequestReceived => "CP received",
            Primitive::SetContextResult => "context result override",
            Primitive::ConnectAccept => "P-CONNECT response (accept)",
            Primitive::ConnectRefuse => "P-CONNECT response (refuse)",
            Primitive::DataRequest => "P-DATA request",
            Primitive::DataReceived => "TD received",
            Primitive::ReleaseRequest => "P-RELEASE request",
            Primitive::ReleaseResponse => "P-RELEASE response",
            Primitive::ReleaseRequestReceived => "P-RELEASE request received",
            Primitive::ReleaseResponseReceived => "P-RELEASE response received",
            Primitive::UserAbort => "P-U-ABORT request",
            Primitive::ProviderAbort => "P-P-ABORT",
            Primitive::AbortReceived => "abort received",
        }
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong in a primitive or a received PPDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresentationError {
    /// The primitive is not allowed in the current state; nothing changed.
    #[error("{primitive} is illegal in state {state}")]
    IllegalPrimitive {
        /// The primitive attempted.
        primitive: Primitive,
        /// The state the machine is (still) in.
        state: PresentationState,
    },
    /// A received PPDU could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The configuration is unusable.
    #[error("invalid presentation configuration: {0}")]
    InvalidConfig(&'static str),
    /// A P-selector is longer than 4 octets (OIW SIA 8.3.4).
    #[error("{which} P-selector of {len} octets exceeds 4")]
    SelectorTooLong {
        /// `calling`, `called` or `responding`.
        which: &'static str,
        /// Its length.
        len: usize,
    },
    /// A context identifier is even or outside 1..=32767.
    #[error("invalid presentation context identifier {0}")]
    InvalidPcid(Pcid),
    /// A context identifier appears twice in a definition list.
    #[error("duplicate presentation context identifier {0}")]
    DuplicatePcid(Pcid),
    /// More contexts than the configured limit.
    #[error("{count} presentation contexts exceed the limit of {limit}")]
    TooManyContexts {
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A proposed context offers no transfer syntax.
    #[error("presentation context {0} offers no transfer syntax")]
    NoTransferSyntax(Pcid),
    /// A PDV or a result names a context that is not defined (not proposed, or not in the DCS).
    #[error("presentation context {0} is not defined")]
    UndefinedContext(Pcid),
    /// A transfer syntax that was not proposed for the context.
    #[error("transfer syntax {transfer_syntax} was not proposed for context {pcid}")]
    TransferSyntaxNotProposed {
        /// The context.
        pcid: Pcid,
        /// The transfer syntax named.
        transfer_syntax: Oid,
    },
    /// An acceptance without a transfer syntax for a context that proposed several.
    #[error("acceptance of context {0} names no transfer syntax")]
    MissingTransferSyntax(Pcid),
    /// The CPA's result list does not match the definition list by position.
    #[error("{received} results for {proposed} proposed contexts")]
    ResultCountMismatch {
        /// Definitions sent.
        proposed: usize,
        /// Results received.
        received: usize,
    },
    /// The CP's default-context-name is not supported.
    #[error("default context {abstract_syntax} / {transfer_syntax} is not supported")]
    DefaultContextNotSupported {
        /// Its abstract syntax.
        abstract_syntax: Oid,
        /// Its transfer syntax.
        transfer_syntax: Oid,
    },
    /// The CP does not propose protocol version 1.
    #[error("protocol version 1 is not proposed")]
    ProtocolVersionNotSupported,
    /// The CP calls a P-selector other than the configured one.
    #[error("called P-selector {0:02x?} is unknown")]
    CalledSelectorUnknown(Vec<u8>),
    /// Simply-encoded data where no default context is in effect (or in a TD).
    #[error("simply-encoded data is not allowed here")]
    SimplyEncodedData,
    /// A P-DATA request with no value (Fully-encoded-data has at least one PDV-list).
    #[error("no presentation data value to send")]
    EmptyData,
}

/// A received PPDU broke the protocol: the machine answered with an ARP and is Aborted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("presentation protocol failure: {error}")]
pub struct ProtocolFailure {
    /// The ARP-PPDU to send as the user data of a session ABORT; `None` only for
    /// [`PresentationError::IllegalPrimitive`] (nothing sent, nothing changed).
    pub arp_bytes: Option<Vec<u8>>,
    /// What was wrong.
    pub error: PresentationError,
}

/// A received CP could not be accepted: the machine answered with a CPR and is Closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("presentation connection refused: {error}")]
pub struct ConnectFailure {
    /// The CPR-PPDU to send as the user data of a session REFUSE; `None` only for
    /// [`PresentationError::IllegalPrimitive`] (nothing sent, nothing changed).
    pub cpr_bytes: Option<Vec<u8>>,
    /// Why.
    pub error: PresentationError,
}

// ------------------------------------------------------------------------------------------
// Indications and confirmations

/// A context of the defined context set (DCS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinedContext {
    /// The presentation context identifier.
    pub pcid: Pcid,
    /// Its abstract syntax.
    pub abstract_syntax: Oid,
    /// The transfer syntax negotiated.
    pub transfer_syntax: Oid,
}

/// A proposed context that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedContext {
    /// The presentation context identifier.
    pub pcid: Pcid,
    /// Its abstract syntax.
    pub abstract_syntax: Oid,
    /// user-rejection, provider-rejection (or an unknown value).
    pub result: ResultValue,
    /// The provider's reason, when given.
    pub reason: Option<ResultReason>,
}

/// P-CONNECT confirm (accepted): what the initiator learns from the CPA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectConfirm {
    /// The responding P-selector in effect (OIW SIA 8.3.4 table 1).
    pub responding_selector: Option<Vec<u8>>,
    /// The defined context set, in definition-list order.
    pub accepted: Vec<DefinedContext>,
    /// The contexts rejected, in definition-list order.
    pub rejected: Vec<RejectedContext>,
    /// The default context, if one was proposed (the CPA accepting it implicitly).
    pub default_context: Option<DefaultContextName>,
    /// The user data (the AARE).
    pub user_data: Option<UserData>,
}

/// P-CONNECT confirm (refused): what the initiator learns from the CPR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefuseIndication {
    /// The provider reason (absent for a rejection by the called user).
    pub provider_reason: Option<ProviderReason>,
    /// The default-context-result, when present.
    pub default_context_result: Option<ResultValue>,
    /// The result list, by position, when present.
    pub results: Vec<ContextResult>,
    /// The responding P-selector, when present.
    pub responding_selector: Option<Vec<u8>>,
    /// The user data (an AARE rejecting the association).
    pub user_data: Option<UserData>,
}

/// P-CONNECT indication: what the responder learns from the CP, with the negotiated results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectIndication {
    /// The calling P-selector.
    pub calling_selector: Option<Vec<u8>>,
    /// The called P-selector.
    pub called_selector: Option<Vec<u8>>,
    /// The definition list as proposed.
    pub proposed: Vec<ContextDefinition>,
    /// The results the machine will send, by position (see
    /// [`PresentationMachine::set_context_result`] to change them).
    pub results: Vec<ContextResult>,
    /// The default context, when proposed and accepted.
    pub default_context: Option<DefaultContextName>,
    /// The presentation requirements asked for (the kernel answers with none).
    pub presentation_requirements: Option<PresentationRequirements>,
    /// The user session requirements asked for.
    pub user_session_requirements: Option<UserSessionRequirements>,
    /// The user data (the AARQ).
    pub user_data: Option<UserData>,
}

impl ConnectIndication {
    /// The contexts the machine currently plans to accept.
    pub fn accepted(&self) -> Vec<DefinedContext> {
        defined_set(&self.proposed, &self.results)
    }

    /// The identifier of the proposed context whose abstract syntax is ACSE.
    pub fn acse_pcid(&self) -> Option<Pcid> {
        self.proposed
            .iter()
            .find(|c| c.abstract_syntax == known::ACSE_ABSTRACT_SYNTAX)
            .map(|c| c.id)
    }
}

/// A local decision about one proposed context before [`PresentationMachine::accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextDecision {
    /// Accept with this transfer syntax (one of those proposed).
    Accept(Oid),
    /// Reject as the user (result user-rejection).
    UserRejection,
    /// Reject as the provider with a reason.
    ProviderRejection(ResultReason),
}

/// How the responder refuses the connection ([`PresentationMachine::refuse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseReason {
    /// The called user rejects (the CPR carries the result list and no provider reason).
    User,
    /// The provider rejects with a reason.
    Provider(ProviderReason),
}

/// One presentation data value received in a TD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataValue {
    /// The context it belongs to.
    pub pcid: Pcid,
    /// The abstract syntax of that context.
    pub abstract_syntax: Oid,
    /// The transfer syntax of that context.
    pub transfer_syntax: Oid,
    /// The value.
    pub value: PdvValue,
}

/// A TD's one value found by a fast path, with its context's syntaxes.
struct ContextValue {
    abstract_syntax: Oid,
    transfer_syntax: Oid,
    value: SingleValue,
}

impl ContextValue {
    /// The data value whose octets are `octets` (the value's, wherever they were put).
    fn into_data_value(self, octets: Vec<u8>) -> DataValue {
        DataValue {
            pcid: self.value.pcid,
            abstract_syntax: self.abstract_syntax,
            transfer_syntax: self.transfer_syntax,
            value: if self.value.single_asn1 {
                PdvValue::SingleAsn1Type(octets)
            } else {
                PdvValue::OctetAligned(octets)
            },
        }
    }
}

/// Which half of P-RELEASE some release user data belongs to.
///
/// | | sent by [`PresentationMachine::release_user_data`] | received by [`PresentationMachine::on_release_user_data`] |
/// |---|---|---|
/// | `Request` (session FINISH) | Connected → ReleaseRequested | Connected → ReleaseIndicated, ReleaseRequested → ReleaseCollision |
/// | `Response` (session DISCONNECT) | ReleaseIndicated → Closed, ReleaseCollision → ReleaseRequested | ReleaseRequested → Closed, ReleaseCollision → ReleaseIndicated |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseKind {
    /// P-RELEASE request / indication.
    Request,
    /// P-RELEASE response / confirm.
    Response,
}

/// A received abort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortIndication {
    /// P-U-ABORT indication (ARU).
    User {
        /// The ARU's context identifier list (sent only before the connection exists).
        contexts: Vec<ContextIdentifier>,
        /// The user data (the ABRT).
        user_data: Option<UserData>,
    },
    /// P-P-ABORT indication (ARP, or an abort PPDU that could not be decoded).
    Provider {
        /// The abort reason (unrecognized-ppdu for an undecodable abort PPDU).
        reason: Option<AbortReason>,
        /// The event identifier.
        event: Option<EventIdentifier>,
    },
}

// ------------------------------------------------------------------------------------------
// The machine

#[derive(Debug, Clone, PartialEq, Eq)]
struct Connecting {
    proposed: Vec<ContextDefinition>,
    results: Vec<ContextResult>,
    echo_session_requirements: bool,
}

/// The presentation kernel protocol machine of one connection (either role).
///
/// The role is fixed by the first primitive: [`PresentationMachine::connect_request`] makes an
/// initiator, [`PresentationMachine::on_connect_request`] a responder.
///
/// PPDU octets (the session user data) and presentation primitives go in; typed indications
/// and PPDU octets come out. The machine owns no socket, clock or task: the driver that stacks
/// the session and ACSE machines hands it the user data of each SPDU and sends what it returns.
///
/// | Primitive / PPDU | Method | Legal in |
/// |---|---|---|
/// | P-CONNECT request (CP out) | [`PresentationMachine::connect_request`] | Idle |
/// | CPA in | [`PresentationMachine::on_connect_accept`] | AwaitingConnectConfirm |
/// | CPR in | [`PresentationMachine::on_connect_refuse`] | AwaitingConnectConfirm |
/// | CP in | [`PresentationMachine::on_connect_request`] | Idle |
/// | result override | [`PresentationMachine::set_context_result`] | AwaitingConnectResponse |
/// | P-CONNECT response + (CPA out) | [`PresentationMachine::accept`] | AwaitingConnectResponse |
/// | P-CONNECT response − (CPR out) | [`PresentationMachine::refuse`] | AwaitingConnectResponse |
/// | P-DATA request (TD out) | [`PresentationMachine::send_data`] | Connected, ReleaseIndicated |
/// | TD in | [`PresentationMachine::on_data`] | Connected, ReleaseRequested |
/// | P-RELEASE user data out | [`PresentationMachine::release_user_data`] | see [`ReleaseKind`] |
/// | P-RELEASE user data in | [`PresentationMachine::on_release_user_data`] | see [`ReleaseKind`] |
/// | P-U-ABORT (ARU out) | [`PresentationMachine::user_abort`] | any open state |
/// | P-P-ABORT (ARP out) | [`PresentationMachine::provider_abort`] | any open state |
/// | ARU / ARP in | [`PresentationMachine::on_abort`] | any open state |
///
/// "Open" is every state but Idle, Closed and Aborted. A primitive outside its states returns
/// [`PresentationError::IllegalPrimitive`] and changes nothing; so does every other error of a
/// local primitive (the configuration, a context identifier, a transfer syntax). A peer PPDU
/// that breaks the protocol once the connection exists makes the machine emit an ARP and enter
/// Aborted (OIW SIA 8.3.6, 8.4); a CP it cannot accept makes it emit a CPR and enter Closed.
///
/// # Decisions
///
/// * **Negotiation by position.** The result list mirrors the definition list. A context is
///   accepted when its abstract syntax is configured and one of the offered transfer syntaxes
///   is acceptable; the first acceptable one in the responder's preference order wins. Others
///   are provider-rejected with abstract-syntax-not-supported or
///   proposed-transfer-syntaxes-not-supported, and acceptances beyond
///   [`PresentationConfig::max_contexts`] with local-limit-on-DCS-exceeded.
/// * **Context identifiers** of a CP must be odd, in 1..=32767 and distinct
///   ([`is_valid_pcid`]), or the whole CP is refused. A CP with more than
///   [`PresentationConfig::max_proposed_contexts`] definitions is refused (local-limit-exceeded).
/// * **Default context.** A proposed default-context-name whose abstract syntax and transfer
///   syntax are configured is accepted; otherwise the CP is refused with
///   default-context-not-supported, unless
///   [`PresentationConfig::ignore_unsupported_default_context`] is set.
/// * **Transfer-syntax-name in PDV-lists** (SIA 8.6): the machine writes it in the CP for a
///   context with more than one proposed transfer syntax (the first proposed one, unless the
///   caller named another proposed one) and removes it everywhere else. On receipt it is
///   checked in the CP and ignored elsewhere.
/// * **Simply-encoded data** is accepted in connect and release user data only while a default
///   context is proposed or in effect; in the TD it is always refused (ARP), as this kernel
///   machine has no way to deliver values of the default context as data.
/// * **Session requirements.** The CPA carries no presentation-requirements (kernel only) and
///   carries user-session-requirements, duplex only, exactly when the CP carried them.
/// * **Release.** The kernel carries P-RELEASE user data in the session FINISH (request) and
///   DISCONNECT (response); the session machine settles collisions, the presentation machine
///   follows the request/response order it is told (see [`ReleaseKind`]).
/// * **ARP reasons.** An undecodable PPDU gives unrecognized-ppdu; a PDV in a context outside
///   the defined context set (DCS), simply-encoded data where it is not allowed, or a result
///   list that does not fit the proposal gives invalid-ppdu-parameter-value. The event is the
///   PPDU received (cpa-PPDU, td-PPDU) or the session event (s-release-indication/-confirm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationMachine {
    config: Arc<PresentationConfig>,
    state: PresentationState,
    role: Option<Role>,
    connecting: Option<Connecting>,
    dcs: Vec<DefinedContext>,
    default_context: Option<DefaultContextName>,
    called_selector: Option<Vec<u8>>,
}

impl PresentationMachine {
    /// A machine in Idle with a checked configuration.
    pub fn new(config: PresentationConfig) -> Result<Self, PresentationError> {
        PresentationMachine::with_shared_config(Arc::new(config))
    }

    /// A machine in Idle with a checked configuration shared with other machines (one
    /// configuration for many connections, without a copy per connection).
    pub fn with_shared_config(config: Arc<PresentationConfig>) -> Result<Self, PresentationError> {
        config.validate()?;
        Ok(PresentationMachine {
            config,
            state: PresentationState::Idle,
            role: None,
            connecting: None,
            dcs: Vec::new(),
            default_context: None,
            called_selector: None,
        })
    }

    /// The current state.
    pub fn state(&self) -> PresentationState {
        self.state
    }

    /// The role, once the first connect primitive fixed it.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &PresentationConfig {
        &self.config
    }

    /// The defined context set (empty until the connection is established).
    pub fn dcs(&self) -> &[DefinedContext] {
        &self.dcs
    }

    /// The DCS entry for `pcid`.
    pub fn context(&self, pcid: Pcid) -> Option<&DefinedContext> {
        self.dcs.iter().find(|c| c.pcid == pcid)
    }

    /// The default context in effect (or proposed, while connecting).
    pub fn default_context(&self) -> Option<&DefaultContextName> {
        self.default_context.as_ref()
    }

    /// The results the responder will send, while a P-CONNECT indication is pending.
    pub fn pending_results(&self) -> Option<&[ContextResult]> {
        match (self.state, &self.connecting) {
            (PresentationState::AwaitingConnectResponse, Some(c)) => Some(&c.results),
            _ => None,
        }
    }

    /// The identifier of the first context with `abstract_syntax`: in the DCS once connected,
    /// among the proposed contexts before.
    pub fn find_context(&self, abstract_syntax: &Oid) -> Option<Pcid> {
        if let Some(c) = self
            .dcs
            .iter()
            .find(|c| &c.abstract_syntax == abstract_syntax)
        {
            return Some(c.pcid);
        }
        if matches!(
            self.state,
            PresentationState::Idle
                | PresentationState::AwaitingConnectConfirm
                | PresentationState::AwaitingConnectResponse
        ) {
            let proposed = match &self.connecting {
                Some(c) => c
                    .proposed
                    .iter()
                    .find(|d| &d.abstract_syntax == abstract_syntax)
                    .map(|d| d.id),
                None => self
                    .config
                    .proposed_contexts
                    .iter()
                    .find(|d| &d.abstract_syntax == abstract_syntax)
                    .map(|d| d.pcid),
            };
            return proposed;
        }
        None
    }

    /// The identifier of the ACSE context (abstract syntax 2.2.1.0.1), as
    /// [`PresentationMachine::find_context`] finds it.
    pub fn acse_pcid(&self) -> Option<Pcid> {
        self.find_context(&known::ACSE_ABSTRACT_SYNTAX)
    }

    fn illegal(&self, primitive: Primitive) -> PresentationError {
        PresentationError::IllegalPrimitive {
            primitive,
            state: self.state,
        }
    }

    fn expect(
        &self,
        primitive: Primitive,
        states: &[PresentationState],
    ) -> Result<(), PresentationError> {
        if states.contains(&self.state) {
            Ok(())
        } else {
            Err(self.illegal(primitive))
        }
    }

    fn expect_open(&self, primitive: Primitive) -> Result<(), PresentationError> {
        if self.state.is_open() {
            Ok(())
        } else {
            Err(self.illegal(primitive))
        }
    }

    /// Emits an ARP, enters Aborted and reports `error`.
    fn fail(
        &mut self,
        reason: AbortReason,
        event: EventIdentifier,
        error: PresentationError,
    ) -> ProtocolFailure {
        self.state = PresentationState::Aborted;
        self.connecting = None;
        ProtocolFailure {
            arp_bytes: Some(arp_bytes(reason, event)),
            error,
        }
    }

    fn fail_decode(&mut self, event: EventIdentifier, e: DecodeError) -> ProtocolFailure {
        self.fail(AbortReason::UnrecognizedPpdu, event, e.into())
    }

    fn fail_value(&mut self, event: EventIdentifier, e: PresentationError) -> ProtocolFailure {
        self.fail(AbortReason::InvalidPpduParameterValue, event, e)
    }

    // -------------------------------------------------------------------------- initiator

    /// P-CONNECT request: the CP-type PPDU (user data of the session CONNECT) proposing the
    /// configured contexts, with `user_data` (the AARQ) whose PDVs must be in proposed contexts.
    pub fn connect_request(&mut self, user_data: UserData) -> Result<Vec<u8>, PresentationError> {
        self.expect(Primitive::ConnectRequest, &[PresentationState::Idle])?;
        let proposed: Vec<ContextDefinition> = self
            .config
            .proposed_contexts
            .iter()
            .map(ProposedContext::definition)
            .collect();
        let user_data = cp_user_data(user_data, &proposed, self.config.default_context.is_some())?;
        let cp = Cp {
            calling_selector: self.config.calling_selector.clone(),
            called_selector: self.config.called_selector.clone(),
            contexts: proposed,
            default_context: self.config.default_context.clone(),
            user_data: Some(user_data),
            ..Cp::default()
        };
        let bytes = encode_cp(&cp, self.config.encode_style);
        let proposed = cp.contexts;
        self.role = Some(Role::Initiator);
        self.state = PresentationState::AwaitingConnectConfirm;
        self.called_selector = self.config.called_selector.clone();
        self.default_context = self.config.default_context.clone();
        self.connecting = Some(Connecting {
            proposed,
            results: Vec::new(),
            echo_session_requirements: false,
        });
        Ok(bytes)
    }

    /// The CPA-PPDU (user data of the session ACCEPT) arrived: the connection is established
    /// with the contexts it accepts. A CPA that cannot be decoded or does not fit the proposal
    /// gives an ARP and Aborted.
    pub fn on_connect_accept(
        &mut self,
        cpa_bytes: &[u8],
    ) -> Result<ConnectConfirm, ProtocolFailure> {
        self.expect(
            Primitive::ConnectAcceptReceived,
            &[PresentationState::AwaitingConnectConfirm],
        )
        .map_err(no_reply)?;
        let ev = EventIdentifier::CpaPpdu;
        let cpa = match decode_cpa_with(cpa_bytes, &self.config.decode_options) {
            Ok(c) => c,
            Err(e) => return Err(self.fail_decode(ev, e)),
        };
        let proposed = self
            .connecting
            .as_ref()
            .map_or(&[][..], |c| &c.proposed[..]);
        let (accepted, rejected) = match match_results(proposed, &cpa.results) {
            Ok(v) => v,
            Err(e) => return Err(self.fail_value(ev, e)),
        };
        let has_default = self.default_context.is_some();
        if let Some(ud) = &cpa.user_data
            && let Err(e) = check_pdvs(ud, has_default, |p| accepted.iter().any(|c| c.pcid == p))
        {
            return Err(self.fail_value(ev, e));
        }
        let responding_selector =
            effective_responding_selector(self.called_selector.as_deref(), cpa.responding_selector);
        self.dcs = accepted.clone();
        self.connecting = None;
        self.state = PresentationState::Connected;
        Ok(ConnectConfirm {
            responding_selector,
            accepted,
            rejected,
            default_context: self.default_context.clone(),
            user_data: cpa.user_data.map(strip_transfer_syntax),
        })
    }

    /// The CPR-PPDU (user data of the session REFUSE) arrived. The connection is refused
    /// whatever the octets: the machine enters Closed even when they cannot be decoded (then
    /// the error is [`PresentationError::Decode`]).
    pub fn on_connect_refuse(
        &mut self,
        cpr_bytes: &[u8],
    ) -> Result<RefuseIndication, PresentationError> {
        self.expect(
            Primitive::ConnectRefuseReceived,
            &[PresentationState::AwaitingConnectConfirm],
        )?;
        self.state = PresentationState::Closed;
        self.connecting = None;
        self.default_context = None;
        let cpr = decode_cpr_with(cpr_bytes, &self.config.decode_options)?;
        Ok(RefuseIndication {
            provider_reason: cpr.provider_reason,
            default_context_result: cpr.default_context_result,
            results: cpr.results,
            responding_selector: cpr.responding_selector,
            user_data: cpr.user_data,
        })
    }

    // -------------------------------------------------------------------------- responder

    /// The CP-type PPDU (user data of the session CONNECT) arrived: the P-CONNECT indication
    /// with the negotiated results. A CP that cannot be accepted (undecodable, invalid or
    /// duplicate context identifiers, too many definitions, unsupported default context or
    /// version, unreadable user data) gives a CPR and Closed.
    pub fn on_connect_request(
        &mut self,
        cp_bytes: &[u8],
    ) -> Result<ConnectIndication, ConnectFailure> {
        self.expect(
            Primitive::ConnectRequestReceived,
            &[PresentationState::Idle],
        )
        .map_err(|error| ConnectFailure {
            cpr_bytes: None,
            error,
        })?;
        self.role = Some(Role::Responder);
        match self.negotiate(cp_bytes) {
            Ok((ind, connecting, default_context)) => {
                self.state = PresentationState::AwaitingConnectResponse;
                self.connecting = Some(connecting);
                self.default_context = default_context;
                self.called_selector = ind.called_selector.clone();
                Ok(ind)
            }
            Err((reason, default_result, error)) => {
                self.state = PresentationState::Closed;
                let cpr = Cpr {
                    responding_selector: self.config.responding_selector.clone(),
                    default_context_result: default_result,
                    provider_reason: Some(reason),
                    ..Cpr::default()
                };
                Err(ConnectFailure {
                    cpr_bytes: Some(encode_cpr(&cpr, self.config.encode_style)),
                    error,
                })
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn negotiate(
        &self,
        cp_bytes: &[u8],
    ) -> Result<
        (ConnectIndication, Connecting, Option<DefaultContextName>),
        (ProviderReason, Option<ResultValue>, PresentationError),
    > {
        let unspecified = |e: PresentationError| (ProviderReason::ReasonNotSpecified, None, e);
        let cp = decode_cp_with(cp_bytes, &self.config.decode_options)
            .map_err(|e| unspecified(e.into()))?;
        if let Some(v) = cp.protocol_version
            && !v.version_1
        {
            return Err((
                ProviderReason::ProtocolVersionNotSupported,
                None,
                PresentationError::ProtocolVersionNotSupported,
            ));
        }
        if self.config.strict_called_selector
            && let Some(called) = &cp.called_selector
            && !called.is_empty()
            && self.config.responding_selector.as_ref() != Some(called)
        {
            return Err((
                ProviderReason::CalledPresentationAddressUnknown,
                None,
                PresentationError::CalledSelectorUnknown(called.clone()),
            ));
        }
        if cp.contexts.len() > self.config.max_proposed_contexts {
            return Err((
                ProviderReason::LocalLimitExceeded,
                None,
                PresentationError::TooManyContexts {
                    count: cp.contexts.len(),
                    limit: self.config.max_proposed_contexts,
                },
            ));
        }
        let mut results = Vec::with_capacity(cp.contexts.len());
        let mut accepted = 0usize;
        for (i, def) in cp.contexts.iter().enumerate() {
            if !is_valid_pcid(def.id) {
                return Err(unspecified(PresentationError::InvalidPcid(def.id)));
            }
            if cp.contexts[..i].iter().any(|d| d.id == def.id) {
                return Err(unspecified(PresentationError::DuplicatePcid(def.id)));
            }
            let result = match self.config.supported(&def.abstract_syntax) {
                None => ContextResult::provider_rejection(ResultReason::AbstractSyntaxNotSupported),
                Some(s) => match s
                    .transfer_syntaxes
                    .iter()
                    .find(|t| def.transfer_syntaxes.contains(t))
                {
                    None => ContextResult::provider_rejection(
                        ResultReason::ProposedTransferSyntaxesNotSupported,
                    ),
                    Some(_) if accepted >= self.config.max_contexts => {
                        ContextResult::provider_rejection(ResultReason::LocalLimitOnDcsExceeded)
                    }
                    Some(t) => {
                        accepted += 1;
                        ContextResult::accept(t.clone())
                    }
                },
            };
            results.push(result);
        }
        let default_context = match &cp.default_context {
            None => None,
            Some(d) => {
                let ok = self
                    .config
                    .supported(&d.abstract_syntax)
                    .is_some_and(|s| s.transfer_syntaxes.contains(&d.transfer_syntax));
                if ok {
                    Some(d.clone())
                } else if self.config.ignore_unsupported_default_context {
                    None
                } else {
                    return Err((
                        ProviderReason::DefaultContextNotSupported,
                        Some(ResultValue::ProviderRejection),
                        PresentationError::DefaultContextNotSupported {
                            abstract_syntax: d.abstract_syntax.clone(),
                            transfer_syntax: d.transfer_syntax.clone(),
                        },
                    ));
                }
            }
        };
        if let Some(ud) = &cp.user_data {
            check_cp_user_data(ud, &cp.contexts, cp.default_context.is_some())
                .map_err(|e| (ProviderReason::UserDataNotReadable, None, e))?;
        }
        let connecting = Connecting {
            proposed: cp.contexts.clone(),
            results: results.clone(),
            echo_session_requirements: cp.user_session_requirements.is_some(),
        };
        let ind = ConnectIndication {
            calling_selector: cp.calling_selector,
            called_selector: cp.called_selector,
            proposed: cp.contexts,
            results,
            default_context: default_context.clone(),
            presentation_requirements: cp.presentation_requirements,
            user_session_requirements: cp.user_session_requirements,
            user_data: cp.user_data,
        };
        Ok((ind, connecting, default_context))
    }

    /// Changes the result the responder will send for the proposed context `pcid` (for
    /// instance to reject an extra context, or to pick another offered transfer syntax).
    /// Accepting checks the transfer syntax was proposed and the DCS limit.
    pub fn set_context_result(
        &mut self,
        pcid: Pcid,
        decision: ContextDecision,
    ) -> Result<(), PresentationError> {
        self.expect(
            Primitive::SetContextResult,
            &[PresentationState::AwaitingConnectResponse],
        )?;
        let limit = self.config.max_contexts;
        let Some(c) = self.connecting.as_mut() else {
            return Err(self.illegal(Primitive::SetContextResult));
        };
        let Some(i) = c.proposed.iter().position(|d| d.id == pcid) else {
            return Err(PresentationError::UndefinedContext(pcid));
        };
        let result = match decision {
            ContextDecision::Accept(t) => {
                if !c.proposed[i].transfer_syntaxes.contains(&t) {
                    return Err(PresentationError::TransferSyntaxNotProposed {
                        pcid,
                        transfer_syntax: t,
                    });
                }
                let others = c
                    .results
                    .iter()
                    .enumerate()
                    .filter(|(j, r)| *j != i && r.result == ResultValue::Acceptance)
                    .count();
                if others >= limit {
                    return Err(PresentationError::TooManyContexts {
                        count: others + 1,
                        limit,
                    });
                }
                ContextResult::accept(t)
            }
            ContextDecision::UserRejection => ContextResult {
                result: ResultValue::UserRejection,
                transfer_syntax: None,
                provider_reason: None,
            },
            ContextDecision::ProviderRejection(r) => ContextResult::provider_rejection(r),
        };
        c.results[i] = result;
        Ok(())
    }

    /// P-CONNECT response (accept): the CPA-PPDU (user data of the session ACCEPT) with the
    /// responding selector and the results; `user_data` (the AARE) must use accepted contexts.
    pub fn accept(&mut self, user_data: Option<UserData>) -> Result<Vec<u8>, PresentationError> {
        self.expect(
            Primitive::ConnectAccept,
            &[PresentationState::AwaitingConnectResponse],
        )?;
        let Some(c) = &self.connecting else {
            return Err(self.illegal(Primitive::ConnectAccept));
        };
        let dcs = defined_set(&c.proposed, &c.results);
        let user_data = match user_data {
            Some(ud) => {
                check_pdvs(&ud, self.default_context.is_some(), |p| {
                    dcs.iter().any(|d| d.pcid == p)
                })?;
                Some(strip_transfer_syntax(ud))
            }
            None => None,
        };
        let echo_session_requirements = c.echo_session_requirements;
        // The results go into the CPA: the connecting state ends here.
        let results = self
            .connecting
            .take()
            .map(|c| c.results)
            .unwrap_or_default();
        let cpa = Cpa {
            responding_selector: self.config.responding_selector.clone(),
            results,
            user_session_requirements: echo_session_requirements
                .then_some(UserSessionRequirements::DUPLEX),
            user_data,
            ..Cpa::default()
        };
        let bytes = encode_cpa(&cpa, self.config.encode_style);
        self.dcs = dcs;
        self.state = PresentationState::Connected;
        Ok(bytes)
    }

    /// P-CONNECT response (refuse): the CPR-PPDU (user data of the session REFUSE). A user
    /// refusal carries the result list (OIW SIA 8.3.8); `user_data` (an AARE) must use
    /// contexts the results accept.
    pub fn refuse(
        &mut self,
        reason: RefuseReason,
        user_data: Option<UserData>,
    ) -> Result<Vec<u8>, PresentationError> {
        self.expect(
            Primitive::ConnectRefuse,
            &[PresentationState::AwaitingConnectResponse],
        )?;
        let Some(c) = &self.connecting else {
            return Err(self.illegal(Primitive::ConnectRefuse));
        };
        let dcs = defined_set(&c.proposed, &c.results);
        let user_data = match user_data {
            Some(ud) => {
                check_pdvs(&ud, self.default_context.is_some(), |p| {
                    dcs.iter().any(|d| d.pcid == p)
                })?;
                Some(strip_transfer_syntax(ud))
            }
            None => None,
        };
        let cpr = match reason {
            RefuseReason::User => Cpr {
                responding_selector: self.config.responding_selector.clone(),
                results: c.results.clone(),
                default_context_result: self
                    .default_context
                    .as_ref()
                    .map(|_| ResultValue::Acceptance),
                user_data,
                ..Cpr::default()
            },
            RefuseReason::Provider(p) => Cpr {
                responding_selector: self.config.responding_selector.clone(),
                provider_reason: Some(p),
                user_data,
                ..Cpr::default()
            },
        };
        let bytes = encode_cpr(&cpr, self.config.encode_style);
        self.connecting = None;
        self.default_context = None;
        self.state = PresentationState::Closed;
        Ok(bytes)
    }

    // -------------------------------------------------------------------------- data

    /// P-DATA request: the TD PPDU (user information of a session DATA TRANSFER), one
    /// PDV-list per value. Every context must be in the DCS; otherwise nothing is encoded.
    pub fn send_data(
        &mut self,
        values: Vec<(Pcid, PdvValue)>,
    ) -> Result<Vec<u8>, PresentationError> {
        self.expect(
            Primitive::DataRequest,
            &[
                PresentationState::Connected,
                PresentationState::ReleaseIndicated,
            ],
        )?;
        if values.is_empty() {
            return Err(PresentationError::EmptyData);
        }
        if let Some((p, _)) = values.iter().find(|(p, _)| self.context(*p).is_none()) {
            return Err(PresentationError::UndefinedContext(*p));
        }
        let lists = values
            .into_iter()
            .map(|(pcid, value)| PdvList {
                transfer_syntax: None,
                pcid,
                value,
            })
            .collect();
        Ok(encode_td(&UserData::Full(lists), self.config.encode_style))
    }

    /// The octets [`Self::send_data`] puts before and after a single value of `len` octets
    /// (single-ASN1-type when `single_asn1`, else octet-aligned) in context `pcid`, for a
    /// driver that writes the value from where it is instead of copying it into the TD
    /// PPDU: `header`, the value, then `trailer` are exactly the octets
    /// `send_data(vec![(pcid, value)])` gives, in the configured [`EncodeStyle`]. The same
    /// checks and errors as [`Self::send_data`].
    pub fn send_data_header(
        &mut self,
        pcid: Pcid,
        single_asn1: bool,
        len: usize,
    ) -> Result<(Vec<u8>, &'static [u8]), PresentationError> {
        let mut header = Vec::with_capacity(32);
        let trailer = self.send_data_header_into(pcid, single_asn1, len, &mut header)?;
        Ok((header, trailer))
    }

    /// [`Self::send_data_header`] writing the header into `header` (cleared first, its room
    /// reused, so that repeated sends need not allocate): returns the trailer. The same
    /// checks and errors; `header` is left empty on an error.
    pub fn send_data_header_into(
        &mut self,
        pcid: Pcid,
        single_asn1: bool,
        len: usize,
        header: &mut Vec<u8>,
    ) -> Result<&'static [u8], PresentationError> {
        header.clear();
        self.expect(
            Primitive::DataRequest,
            &[
                PresentationState::Connected,
                PresentationState::ReleaseIndicated,
            ],
        )?;
        if self.context(pcid).is_none() {
            return Err(PresentationError::UndefinedContext(pcid));
        }
        Ok(td_header_into(
            pcid,
            single_asn1,
            len,
            self.config.encode_style,
            header,
        ))
    }

    /// [`Self::on_data`] for a TD PPDU that is `ppdu[offset..]`, owned by the caller (the
    /// received TSDU, `offset` being where the session User Information starts): the same
    /// result, but a TD of one value (the usual shape) hands that value out in `ppdu`'s own
    /// allocation, moved to its start, instead of a copy.
    pub fn on_data_owned(
        &mut self,
        mut ppdu: Vec<u8>,
        offset: usize,
    ) -> Result<Vec<DataValue>, ProtocolFailure> {
        let td = ppdu.get(offset..).unwrap_or_default();
        let Some(v) = self.single_value_in_context(|o| single_value(td, o)) else {
            return self.on_data(td);
        };
        let range = v.value.range.clone();
        ppdu.truncate(offset + range.end);
        ppdu.drain(..offset + range.start);
        Ok(vec![v.into_data_value(ppdu)])
    }

    /// [`Self::on_data_owned`] for a TSDU received in two parts (a transport head split):
    /// `head[offset..]` is the start of a TD PPDU up to where its one value starts, and
    /// `body` the rest (see [`crate::td_value_split`]). The same result as
    /// `on_data_owned(head ++ body, offset)`; the value is handed out in `body`'s own
    /// allocation. A PPDU of any other shape is joined and decoded as usual.
    pub fn on_data_split(
        &mut self,
        head: &[u8],
        offset: usize,
        body: Vec<u8>,
    ) -> Result<Vec<DataValue>, ProtocolFailure> {
        let mut values = Vec::new();
        self.on_data_split_into(head, offset, body, &mut values)?;
        Ok(values)
    }

    /// [`Self::on_data_split`] appending the values to `values` (so that a caller can reuse
    /// one vector): the same values, state changes and errors (nothing appended on an
    /// error).
    pub fn on_data_split_into(
        &mut self,
        head: &[u8],
        offset: usize,
        body: Vec<u8>,
        values: &mut Vec<DataValue>,
    ) -> Result<(), ProtocolFailure> {
        let td = head.get(offset..).unwrap_or_default();
        let Some(v) = self.single_value_in_context(|o| single_value_split(td, &body, o)) else {
            let mut whole = Vec::with_capacity(head.len() + body.len());
            whole.extend_from_slice(head);
            whole.extend_from_slice(&body);
            values.extend(self.on_data_owned(whole, offset)?);
            return Ok(());
        };
        values.push(v.into_data_value(body));
        Ok(())
    }

    /// The one value a fast path's reader `find`s in a TD, with its context, when data may
    /// be received and the context is defined; `None` sends the TD to the full decoder.
    fn single_value_in_context(
        &self,
        find: impl FnOnce(&DecodeOptions) -> Option<SingleValue>,
    ) -> Option<ContextValue> {
        let open = matches!(
            self.state,
            PresentationState::Connected | PresentationState::ReleaseRequested
        );
        if !open {
            return None;
        }
        let value = find(&self.config.decode_options)?;
        let c = self.context(value.pcid)?;
        Some(ContextValue {
            abstract_syntax: c.abstract_syntax.clone(),
            transfer_syntax: c.transfer_syntax.clone(),
            value,
        })
    }

    /// A TD PPDU arrived: its values with their contexts. An undecodable TD, simply-encoded
    /// data or a PDV outside the DCS gives an ARP and Aborted.
    pub fn on_data(&mut self, td_bytes: &[u8]) -> Result<Vec<DataValue>, ProtocolFailure> {
        self.expect(
            Primitive::DataReceived,
            &[
                PresentationState::Connected,
                PresentationState::ReleaseRequested,
            ],
        )
        .map_err(no_reply)?;
        let ev = EventIdentifier::TdPpdu;
        let ud = match decode_user_data_with(td_bytes, &self.config.decode_options) {
            Ok(u) => u,
            Err(e) => return Err(self.fail_decode(ev, e)),
        };
        let lists = match ud {
            UserData::Simple(_) => {
                return Err(self.fail(
                    AbortReason::UnexpectedPpduParameter,
                    ev,
                    PresentationError::SimplyEncodedData,
                ));
            }
            UserData::Full(l) => l,
        };
        let mut out = Vec::with_capacity(lists.len());
        for l in lists {
            let Some(c) = self.context(l.pcid) else {
                return Err(self.fail_value(ev, PresentationError::UndefinedContext(l.pcid)));
            };
            out.push(DataValue {
                pcid: l.pcid,
                abstract_syntax: c.abstract_syntax.clone(),
                transfer_syntax: c.transfer_syntax.clone(),
                value: l.value,
            });
        }
        Ok(out)
    }

    // -------------------------------------------------------------------------- release

    /// The P-RELEASE user data to put in the session FINISH (`Request`) or DISCONNECT
    /// (`Response`); an empty vector when `user_data` is `None`. PDVs must be in the DCS.
    pub fn release_user_data(
        &mut self,
        kind: ReleaseKind,
        user_data: Option<UserData>,
    ) -> Result<Vec<u8>, PresentationError> {
        let next = match (kind, self.state) {
            (ReleaseKind::Request, PresentationState::Connected) => {
                PresentationState::ReleaseRequested
            }
            (ReleaseKind::Response, PresentationState::ReleaseIndicated) => {
                PresentationState::Closed
            }
            (ReleaseKind::Response, PresentationState::ReleaseCollision) => {
                PresentationState::ReleaseRequested
            }
            (ReleaseKind::Request, _) => return Err(self.illegal(Primitive::ReleaseRequest)),
            (ReleaseKind::Response, _) => return Err(self.illegal(Primitive::ReleaseResponse)),
        };
        let bytes = match user_data {
            None => Vec::new(),
            Some(ud) => {
                check_pdvs(&ud, self.default_context.is_some(), |p| {
                    self.context(p).is_some()
                })?;
                if ud.pdv_lists().is_empty() && matches!(ud, UserData::Full(_)) {
                    return Err(PresentationError::EmptyData);
                }
                encode_release_user_data(&strip_transfer_syntax(ud), self.config.encode_style)
            }
        };
        self.state = next;
        Ok(bytes)
    }

    /// P-RELEASE user data arrived in a session FINISH (`Request`) or DISCONNECT
    /// (`Response`); empty octets mean none. Undecodable user data or a PDV outside the DCS
    /// gives an ARP and Aborted.
    pub fn on_release_user_data(
        &mut self,
        kind: ReleaseKind,
        bytes: &[u8],
    ) -> Result<Option<UserData>, ProtocolFailure> {
        let (next, event) = match (kind, self.state) {
            (ReleaseKind::Request, PresentationState::Connected) => (
                PresentationState::ReleaseIndicated,
                EventIdentifier::SReleaseIndication,
            ),
            (ReleaseKind::Request, PresentationState::ReleaseRequested) => (
                PresentationState::ReleaseCollision,
                EventIdentifier::SReleaseIndication,
            ),
            (ReleaseKind::Response, PresentationState::ReleaseRequested) => {
                (PresentationState::Closed, EventIdentifier::SReleaseConfirm)
            }
            (ReleaseKind::Response, PresentationState::ReleaseCollision) => (
                PresentationState::ReleaseIndicated,
                EventIdentifier::SReleaseConfirm,
            ),
            (ReleaseKind::Request, _) => {
                return Err(no_reply(self.illegal(Primitive::ReleaseRequestReceived)));
            }
            (ReleaseKind::Response, _) => {
                return Err(no_reply(self.illegal(Primitive::ReleaseResponseReceived)));
            }
        };
        if bytes.is_empty() {
            self.state = next;
            return Ok(None);
        }
        let ud = match decode_user_data_with(bytes, &self.config.decode_options) {
            Ok(u) => u,
            Err(e) => return Err(self.fail_decode(event, e)),
        };
        let has_default = self.default_context.is_some();
        if let Err(e) = check_pdvs(&ud, has_default, |p| self.context(p).is_some()) {
            return Err(self.fail_value(event, e));
        }
        self.state = next;
        Ok(Some(strip_transfer_syntax(ud)))
    }

    // -------------------------------------------------------------------------- abort

    /// P-U-ABORT request: the ARU-PPDU (user data of a session ABORT). PDVs must be in the
    /// DCS, or before the connection exists in a proposed context; an initiator aborting
    /// before the CPA lists the contexts its PDVs use (OIW SIA 5.4).
    pub fn user_abort(
        &mut self,
        user_data: Option<UserData>,
    ) -> Result<Vec<u8>, PresentationError> {
        self.expect_open(Primitive::UserAbort)?;
        let proposed: &[ContextDefinition] = match &self.connecting {
            Some(c) => &c.proposed,
            None => &[],
        };
        let mut contexts = Vec::new();
        let user_data = match user_data {
            None => None,
            Some(ud) => {
                check_pdvs(&ud, self.default_context.is_some(), |p| {
                    self.dcs.iter().any(|d| d.pcid == p) || proposed.iter().any(|d| d.id == p)
                })?;
                if self.state == PresentationState::AwaitingConnectConfirm {
                    for l in ud.pdv_lists() {
                        if contexts.iter().any(|c: &ContextIdentifier| c.id == l.pcid) {
                            continue;
                        }
                        if let Some(d) = proposed.iter().find(|d| d.id == l.pcid)
                            && let Some(first) = d.transfer_syntaxes.first()
                        {
                            // The caller's transfer syntax when it is one proposed, else the
                            // first proposed (the one the CP user data used, SIA 8.6).
                            let t = l
                                .transfer_syntax
                                .as_ref()
                                .filter(|t| d.transfer_syntaxes.contains(t))
                                .unwrap_or(first);
                            contexts.push(ContextIdentifier {
                                id: l.pcid,
                                transfer_syntax: t.clone(),
                            });
                        }
                    }
                }
                Some(strip_transfer_syntax(ud))
            }
        };
        let aru = Aru {
            contexts,
            user_data,
        };
        let bytes = encode_abort(&Abort::Aru(aru), self.config.encode_style);
        self.state = PresentationState::Aborted;
        self.connecting = None;
        Ok(bytes)
    }

    /// P-P-ABORT issued locally: the ARP-PPDU (user data of a session ABORT, always definite).
    pub fn provider_abort(
        &mut self,
        reason: AbortReason,
        event: EventIdentifier,
    ) -> Result<Vec<u8>, PresentationError> {
        self.expect_open(Primitive::ProviderAbort)?;
        self.state = PresentationState::Aborted;
        self.connecting = None;
        Ok(arp_bytes(reason, event))
    }

    /// An abort PPDU (user data of a session ABORT) arrived. Empty octets or octets that are
    /// not an ARU or ARP still give a provider abort indication (reason absent, or
    /// unrecognized-ppdu). The machine enters Aborted.
    pub fn on_abort(&mut self, bytes: &[u8]) -> Result<AbortIndication, PresentationError> {
        self.expect_open(Primitive::AbortReceived)?;
        self.state = PresentationState::Aborted;
        self.connecting = None;
        if bytes.is_empty() {
            return Ok(AbortIndication::Provider {
                reason: None,
                event: None,
            });
        }
        Ok(
            match decode_abort_with(bytes, &self.config.decode_options) {
                Ok(Abort::Aru(aru)) => AbortIndication::User {
                    contexts: aru.contexts,
                    user_data: aru.user_data,
                },
                Ok(Abort::Arp(arp)) => AbortIndication::Provider {
                    reason: arp.abort_reason,
                    event: arp.event_identifier,
                },
                Err(_) => AbortIndication::Provider {
                    reason: Some(AbortReason::UnrecognizedPpdu),
                    event: None,
                },
            },
        )
    }
}

// ------------------------------------------------------------------------------------------
// Helpers

fn no_reply(error: PresentationError) -> ProtocolFailure {
    ProtocolFailure {
        arp_bytes: None,
        error,
    }
}

fn arp_bytes(reason: AbortReason, event: EventIdentifier) -> Vec<u8> {
    encode_abort(
        &Abort::Arp(Arp {
            abort_reason: Some(reason),
            event_identifier: Some(event),
        }),
        EncodeStyle::Canonical,
    )
}

/// The accepted contexts of a result list (matched by position).
fn defined_set(proposed: &[ContextDefinition], results: &[ContextResult]) -> Vec<DefinedContext> {
    proposed
        .iter()
        .zip(results)
        .filter_map(|(d, r)| {
            (r.result == ResultValue::Acceptance)
                .then(|| {
                    r.transfer_syntax
                        .clone()
                        .or_else(|| d.transfer_syntaxes.first().cloned())
                        .map(|t| DefinedContext {
                            pcid: d.id,
                            abstract_syntax: d.abstract_syntax.clone(),
                            transfer_syntax: t,
                        })
                })
                .flatten()
        })
        .collect()
}

/// Matches a received result list to the definitions sent.
fn match_results(
    proposed: &[ContextDefinition],
    results: &[ContextResult],
) -> Result<(Vec<DefinedContext>, Vec<RejectedContext>), PresentationError> {
    if proposed.len() != results.len() {
        return Err(PresentationError::ResultCountMismatch {
            proposed: proposed.len(),
            received: results.len(),
        });
    }
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (d, r) in proposed.iter().zip(results) {
        if r.result == ResultValue::Acceptance {
            let t = match &r.transfer_syntax {
                Some(t) if d.transfer_syntaxes.contains(t) => t.clone(),
                Some(t) => {
                    return Err(PresentationError::TransferSyntaxNotProposed {
                        pcid: d.id,
                        transfer_syntax: t.clone(),
                    });
                }
                // Lenient: with one proposed transfer syntax, there is nothing to choose.
                None if d.transfer_syntaxes.len() == 1 => d.transfer_syntaxes[0].clone(),
                None => return Err(PresentationError::MissingTransferSyntax(d.id)),
            };
            accepted.push(DefinedContext {
                pcid: d.id,
                abstract_syntax: d.abstract_syntax.clone(),
                transfer_syntax: t,
            });
        } else {
            rejected.push(RejectedContext {
                pcid: d.id,
                abstract_syntax: d.abstract_syntax.clone(),
                result: r.result,
                reason: r.provider_reason,
            });
        }
    }
    Ok((accepted, rejected))
}

/// Checks every PDV's context with `known`; simply-encoded data only when `simple_ok`.
fn check_pdvs(
    ud: &UserData,
    simple_ok: bool,
    known: impl Fn(Pcid) -> bool,
) -> Result<(), PresentationError> {
    match ud {
        UserData::Simple(_) if simple_ok => Ok(()),
        UserData::Simple(_) => Err(PresentationError::SimplyEncodedData),
        UserData::Full(lists) => match lists.iter().find(|l| !known(l.pcid)) {
            Some(l) => Err(PresentationError::UndefinedContext(l.pcid)),
            None => Ok(()),
        },
    }
}

/// Checks received CP user data: proposed contexts, and a transfer-syntax-name (when present)
/// among those proposed for its context (OIW SIA 8.3.7, 8.6).
fn check_cp_user_data(
    ud: &UserData,
    proposed: &[ContextDefinition],
    simple_ok: bool,
) -> Result<(), PresentationError> {
    check_pdvs(ud, simple_ok, |p| proposed.iter().any(|d| d.id == p))?;
    for l in ud.pdv_lists() {
        if let (Some(t), Some(d)) = (&l.transfer_syntax, proposed.iter().find(|d| d.id == l.pcid))
            && !d.transfer_syntaxes.contains(t)
        {
            return Err(PresentationError::TransferSyntaxNotProposed {
                pcid: l.pcid,
                transfer_syntax: t.clone(),
            });
        }
    }
    Ok(())
}

/// Prepares outgoing CP user data: contexts proposed, and the transfer-syntax-name present
/// exactly for contexts with several proposed transfer syntaxes (OIW SIA 8.6).
fn cp_user_data(
    ud: UserData,
    proposed: &[ContextDefinition],
    simple_ok: bool,
) -> Result<UserData, PresentationError> {
    check_cp_user_data(&ud, proposed, simple_ok)?;
    Ok(match ud {
        UserData::Simple(s) => UserData::Simple(s),
        UserData::Full(lists) => UserData::Full(
            lists
                .into_iter()
                .map(|mut l| {
                    let offered = proposed
                        .iter()
                        .find(|d| d.id == l.pcid)
                        .map(|d| d.transfer_syntaxes.as_slice())
                        .unwrap_or(&[]);
                    l.transfer_syntax = if offered.len() > 1 {
                        l.transfer_syntax.or_else(|| offered.first().cloned())
                    } else {
                        None
                    };
                    l
                })
                .collect(),
        ),
    })
}

/// Removes the transfer-syntax-name of every PDV-list (present only in the CP, OIW SIA 8.6).
fn strip_transfer_syntax(ud: UserData) -> UserData {
    match ud {
        UserData::Simple(s) => UserData::Simple(s),
        UserData::Full(lists) => UserData::Full(
            lists
                .into_iter()
                .map(|mut l| {
                    l.transfer_syntax = None;
                    l
                })
                .collect(),
        ),
    }
}

/// OIW SIA 8.3.4 table 1: the responding P-selector in effect.
fn effective_responding_selector(
    called: Option<&[u8]>,
    responding: Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    match responding {
        Some(r) if !r.is_empty() => Some(r),
        _ => called.filter(|c| !c.is_empty()).map(<[u8]>::to_vec),
    }
}
