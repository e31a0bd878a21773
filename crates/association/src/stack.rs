//! The sans-IO composition of the four layers for one connection.
//!
//! [`Stack`] takes the octets read from TCP and user primitives, and gives events plus the
//! octets to write (already framed as TPKTs, all of one step in one buffer so the driver
//! writes them with a single `write_all`). It owns no socket and no clock.
//!
//! Each layer is its crate's sans-IO protocol machine: the transport is a
//! [`TransportConnection`] (RFC 1006 / ISO 8073 class 0), the session a [`SessionMachine`]
//! (ISO 8327 kernel + duplex, with CONNECT DATA OVERFLOW both ways and the release
//! collision rule), then the [`PresentationMachine`] and the [`AcseMachine`]. The stack only
//! routes: received TSDUs to the session machine, its user data to presentation and ACSE,
//! and every TSDU a machine gives (including the session machine's own OA, CDO, RF and AB)
//! to the transport in order.
//!
//! Every failure of a received PDU ends the connection: the right abort PDU is queued, the
//! transport is released, [`Stack::is_done`] turns true, and a [`StackEvent::ProviderAbort`]
//! (or [`StackEvent::Abort`]) names the layer. On the wire:
//!
//! * a transport fault (malformed TPKT or TPDU, oversized TSDU, unexpected TPDU) on an open
//!   connection, or a session fault (the session machine's own), gives the session ABORT
//!   `19 03 11 01 05` (release, protocol error);
//! * a presentation fault gives a session ABORT (S-U-ABORT, `11 01 03`) carrying the ARP,
//!   an ACSE fault one carrying an ARU with the ACSE provider ABRT (X.226: the presentation
//!   entity aborts through S-U-ABORT);
//! * a local cause (timer, dropped handle) gives `19 03 11 01 09` (release, no reason);
//! * a lost TCP connection or a received DR / ER sends nothing.

use std::sync::Arc;

use guls_acse::{
    AbortRequest, AcseEvent, AcseMachine, AssociateConfirm, AssociateIndication, AssociateRequest,
    AssociateResponse, ProviderReason, ReleaseConfirm, ReleaseIndication, ReleaseRequest,
    ReleaseResponse,
};
use guls_ber::External;
use guls_presentation::{
    AbortIndication as PAbortIndication, ConnectIndication, DataValue, DecodeOptions,
    DefaultContextName, DefinedContext, EncodeStyle, Pcid, PdvValue, PresentationConfig,
    PresentationMachine, PresentationState, RefuseReason as PRefuseReason, ReleaseKind, UserData,
};
use guls_session::{
    AbortOrigin, AbortReason, ConnectRejection, ProtocolError as SessionProtocolError,
    RefuseIndication, RefuseReason, SSelector, SessionConfig, SessionError, SessionEvent,
    SessionMachine, SessionState, TransportDisconnect,
};
use guls_transport::{
    DisconnectCause, HeadSplit, ScatterRead, TpduSize, TransportConfig, TransportConnection,
    TransportError, TransportEvent, TransportState,
};

use crate::config::AssociationConfig;
use crate::error::{AbortInfo, AbortLayer, AssociationError, ProviderAbortReason, Rejection};

/// The transport's head splitter: a session data TSDU (GIVE TOKENS + DATA TRANSFER) whose
/// User Information is a TD PPDU of one value, split where the value starts, so that the
/// value is reassembled in a buffer of its own instead of being moved to the front of the
/// TSDU's (a 64 KiB value is otherwise copied twice on receipt). Only the headers are read
/// here; the session and presentation machines check the whole TSDU when it is complete.
fn data_tsdu_split(first_segment: &[u8]) -> Option<HeadSplit> {
    let prefix = guls_session::DATA_PREFIX.len();
    let td = first_segment.strip_prefix(&guls_session::DATA_PREFIX)?;
    let split = guls_presentation::td_value_split(td)?;
    Some(HeadSplit {
        head_len: prefix + split.value_start,
        total_len: prefix.checked_add(split.total_len)?,
    })
}

/// A value queued for sending without a copy: its octets are written from where they are.
/// The usual owners (`Vec<u8>`, `Arc<[u8]>`) are held as they are, without a box.
pub(crate) enum Payload {
    /// A vector handed over.
    Owned(Vec<u8>),
    /// A shared slice.
    Shared(std::sync::Arc<[u8]>),
    /// Any other owner of octets.
    Other(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl Payload {
    /// The payload of `value`, unboxed when it is a `Vec<u8>` or an `Arc<[u8]>`.
    pub(crate) fn new<T: AsRef<[u8]> + Send + Sync + 'static>(value: T) -> Payload {
        let mut slot = Some(value);
        let any: &mut dyn std::any::Any = &mut slot;
        if let Some(v) = any.downcast_mut::<Option<Vec<u8>>>().and_then(Option::take) {
            return Payload::Owned(v);
        }
        let any: &mut dyn std::any::Any = &mut slot;
        if let Some(a) = any
            .downcast_mut::<Option<std::sync::Arc<[u8]>>>()
            .and_then(Option::take)
        {
            return Payload::Shared(a);
        }
        match slot {
            Some(v) => Payload::Other(Box::new(v)),
            None => Payload::Owned(Vec::new()),
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Payload::Owned(v) => v,
            Payload::Shared(a) => a,
            Payload::Other(b) => (**b).as_ref(),
        }
    }
}

/// Pieces of a value shorter than this are copied into the output buffer rather than
/// written from the value (fewer, larger IO slices; copying them costs little).
const MIN_SHARED_PIECE: usize = 1024;

/// Room for the head of a data TSDU of one value (session prefix and TD PPDU header: at
/// most 4 + 4 × 10 + 3 octets).
const MAX_DATA_HEAD: usize = 64;

/// One piece of the output, in order.
enum Piece {
    /// A range of [`Output::bytes`].
    Owned(std::ops::Range<usize>),
    /// A range of one of [`Output::payloads`].
    Shared(usize, std::ops::Range<usize>),
}

/// The octets to write: encoded PDUs and headers in one buffer, with ranges of values
/// queued without a copy in between; written with vectored writes. Cleared, not dropped,
/// after each write so that its allocations are reused.
#[derive(Default)]
pub(crate) struct Output {
    bytes: Vec<u8>,
    pieces: Vec<Piece>,
    payloads: Vec<Payload>,
    /// Octets in all pieces (kept as they are pushed: asked for at every write).
    total: usize,
}

impl Output {
    /// Appends octets (copied).
    fn push(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        self.owned_from(start);
    }

    /// Appends encoded octets: taken as the buffer itself when nothing is queued and the
    /// buffer has less room (no copy, no growth), else copied.
    fn push_vec(&mut self, b: Vec<u8>) {
        if self.bytes.is_empty() && self.bytes.capacity() < b.len() {
            self.bytes = b;
            self.owned_from(0);
        } else {
            self.push(&b);
        }
    }

    /// Appends a few octets of fixed length (a frame header), copied.
    #[inline]
    fn push_array<const N: usize>(&mut self, b: &[u8; N]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        self.owned_from(start);
    }

    /// Counts the octets just copied into `bytes` from `start` on as the next piece (the
    /// last piece grows when it ends there).
    #[inline]
    fn owned_from(&mut self, start: usize) {
        let end = self.bytes.len();
        self.total += end - start;
        match self.pieces.last_mut() {
            Some(Piece::Owned(r)) if r.end == start => r.end = end,
            _ => self.pieces.push(Piece::Owned(start..end)),
        }
    }

    /// True when there is nothing to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Appends `range` of the value [`Output::payloads`]`[payload]` (not copied).
    fn push_shared(&mut self, payload: usize, range: std::ops::Range<usize>) {
        self.total += range.len();
        self.pieces.push(Piece::Shared(payload, range));
    }

    /// Octets to write.
    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// Empties it, keeping the allocations (values queued without a copy are dropped).
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.pieces.clear();
        self.payloads.clear();
        self.total = 0;
    }

    /// The octets to write, in order, as slices.
    pub(crate) fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.pieces.iter().map(|p| match p {
            Piece::Owned(r) => self.bytes.get(r.clone()).unwrap_or_default(),
            Piece::Shared(i, r) => self
                .payloads
                .get(*i)
                .and_then(|v| (**v).as_ref().get(r.clone()))
                .unwrap_or_default(),
        })
    }

    /// The octets to write from octet `skip` on, as IO slices appended to `into`.
    pub(crate) fn io_slices_from<'a>(&'a self, skip: usize, into: &mut Vec<std::io::IoSlice<'a>>) {
        into.reserve(self.pieces.len());
        let mut skip = skip;
        for s in self.slices() {
            if skip >= s.len() {
                skip -= s.len();
                continue;
            }
            into.push(std::io::IoSlice::new(s.get(skip..).unwrap_or_default()));
            skip = 0;
        }
    }

    /// The octets to write, in one vector.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for s in self.slices() {
            v.extend_from_slice(s);
        }
        v
    }
}

/// Which end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Opened the connection (sent CR, CN, AARQ).
    Initiator,
    /// Accepted it.
    Responder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Transport and session connection establishment, up to the indication or confirm.
    Connecting,
    /// Responder: indication issued, waiting for the user's response.
    AwaitResponse,
    /// Established (data, release).
    Open,
    /// Ended; nothing more is processed.
    Done,
}

/// What the responder learnt from the CR, CN and CP besides the AARQ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LowerAddresses {
    /// Calling T-selector (CR `C1`).
    pub calling_tsel: Option<Vec<u8>>,
    /// Called T-selector (CR `C2`).
    pub called_tsel: Option<Vec<u8>>,
    /// Calling S-selector (CN PI 51).
    pub calling_ssel: Option<Vec<u8>>,
    /// Called S-selector (CN PI 52).
    pub called_ssel: Option<Vec<u8>>,
    /// Calling P-selector (CP).
    pub calling_psel: Option<Vec<u8>>,
    /// Called P-selector (CP).
    pub called_psel: Option<Vec<u8>>,
    /// Session version in use (1 or 2).
    pub session_version: u8,
    /// Session functional units the CN proposed.
    pub proposed_session_requirements: u16,
}

/// Events of the stack.
#[derive(Debug)]
pub(crate) enum StackEvent {
    /// One P-DATA indication value (as one of [`StackEvent::Data`]'s, without their vector).
    Value(DataValue),
    /// Initiator: the A-ASSOCIATE confirm, accepted.
    Established(Box<AssociateConfirm>),
    /// Initiator: rejected with an AARE.
    Rejected(Box<Rejection>),
    /// Initiator: refused below ACSE.
    Refused { layer: AbortLayer, detail: String },
    /// Responder: the A-ASSOCIATE indication.
    Indication(Box<(AssociateIndication, ConnectIndication)>),
    /// P-DATA values.
    Data(Vec<DataValue>),
    /// A-RELEASE indication.
    ReleaseIndication(ReleaseIndication),
    /// A-RELEASE confirm.
    ReleaseConfirm(ReleaseConfirm),
    /// A-ABORT indication.
    Abort(AbortInfo),
    /// A-P-ABORT.
    ProviderAbort(ProviderAbortReason),
}

/// The events of one step inside the stack: usually none or one, which are held without a
/// vector (further ones go into `rest`). The driver's reused vector gathers them (see
/// [`Stack::on_bytes`]).
#[derive(Debug)]
struct Events {
    first: Option<StackEvent>,
    rest: Vec<StackEvent>,
}

impl Events {
    /// No events.
    const fn new() -> Self {
        Events {
            first: None,
            rest: Vec::new(),
        }
    }

    /// One event.
    fn one(ev: StackEvent) -> Self {
        Events {
            first: Some(ev),
            rest: Vec::new(),
        }
    }

    /// Appends one event.
    fn push(&mut self, ev: StackEvent) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(ev);
        } else {
            self.rest.push(ev);
        }
    }
}

impl Extend<StackEvent> for Events {
    fn extend<I: IntoIterator<Item = StackEvent>>(&mut self, iter: I) {
        for ev in iter {
            self.push(ev);
        }
    }
}

impl IntoIterator for Events {
    type Item = StackEvent;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<StackEvent>, std::vec::IntoIter<StackEvent>>;
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// The proposed definitions of the contexts `ind` plans to accept: those of
/// [`ConnectIndication::accepted`], without building its vector.
fn accepted_definitions(
    ind: &ConnectIndication,
) -> impl Iterator<Item = &guls_presentation::ContextDefinition> {
    ind.proposed
        .iter()
        .zip(&ind.results)
        .filter(|(d, r)| {
            r.result == guls_presentation::ResultValue::Acceptance
                && (r.transfer_syntax.is_some() || !d.transfer_syntaxes.is_empty())
        })
        .map(|(d, _)| d)
}

/// The layers of one connection, sans IO.
pub(crate) struct Stack {
    role: Role,
    phase: Phase,
    transport: TransportConnection,
    session: SessionMachine,
    pres: PresentationMachine,
    acse: AcseMachine,
    acse_pcid: Pcid,
    pending_request: Option<AssociateRequest>,
    addresses: LowerAddresses,
    out: Output,
    /// Set once the release is complete on our side: the transport may be closed.
    released: bool,
    /// [`crate::Limits::max_read`], for the driver.
    max_read: usize,
    /// Room for the TD PPDU header of a value sent by [`Stack::send_payload`], reused.
    td_head: Vec<u8>,
    /// Room for the values of a split TSDU ([`Stack::accept_scatter`]), reused.
    split_values: Vec<DataValue>,
    /// Initiator: the DCS of the P-CONNECT confirm (the presentation machine keeps its own
    /// copy), handed on by [`Stack::take_contexts`] instead of a second copy.
    confirmed_contexts: Option<Vec<DefinedContext>>,
}

/// Whether a P-DATA request would be accepted now (published by the driver so that a send
/// can be refused before it is queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataState {
    /// Data may be sent.
    Open,
    /// The association is established but data may not be sent now (our release request
    /// is out).
    Refused,
    /// The association is over (or not established).
    Closed,
}

fn presentation_config(cfg: &AssociationConfig) -> PresentationConfig {
    PresentationConfig {
        calling_selector: cfg.presentation.calling_psel.clone(),
        called_selector: cfg.presentation.called_psel.clone(),
        responding_selector: cfg.presentation.responding_psel.clone(),
        proposed_contexts: cfg.proposed_contexts(),
        default_context: cfg.presentation.default_context.clone(),
        supported_syntaxes: cfg.supported_syntaxes(),
        max_contexts: cfg.limits.max_contexts,
        max_proposed_contexts: cfg.limits.max_contexts.max(256),
        ignore_unsupported_default_context: true,
        strict_called_selector: false,
        encode_style: EncodeStyle::Canonical,
        decode_options: DecodeOptions {
            max_depth: cfg.limits.max_ber_depth,
            ..DecodeOptions::default()
        },
    }
}

fn ssel(v: &Option<Vec<u8>>) -> Result<Option<SSelector>, AssociationError> {
    v.as_ref()
        .map(|s| SSelector::try_from(s.as_slice()))
        .transpose()
        .map_err(|e| AssociationError::Config(e.to_string()))
}

/// The transport machine's configuration: the configured sizes and, for the initiator, the
/// T-selectors of the CR (the responder echoes the CR's). A received TPKT may be at most the
/// configured TPDU size plus the TPKT header, so the stream buffer stays that small.
fn transport_config(role: Role, cfg: &AssociationConfig) -> TransportConfig {
    let size = TpduSize::at_most(cfg.transport.max_tpdu_size);
    let initiator = role == Role::Initiator;
    TransportConfig {
        max_tpdu_size: size,
        max_tsdu_size: cfg.transport.max_tsdu_size,
        calling_tsel: initiator
            .then(|| cfg.transport.calling_tsel.clone())
            .flatten(),
        called_tsel: initiator
            .then(|| cfg.transport.called_tsel.clone())
            .flatten(),
        src_ref: 1,
        send_dr_on_disconnect: false,
        max_tpkt_len: size.octets() + guls_transport::TPKT_HEADER_LEN,
    }
}

/// The session machine's configuration: the S-selectors of the CN (initiator); the
/// responder echoes the CN's called S-selector.
fn session_config(cfg: &AssociationConfig) -> Result<SessionConfig, AssociationError> {
    Ok(SessionConfig {
        calling_ssel: ssel(&cfg.session.calling_ssel)?,
        called_ssel: ssel(&cfg.session.called_ssel)?,
        ..SessionConfig::default()
    })
}

/// An S-selector as the API shows it: `None` when absent or empty.
fn nonempty(s: &SSelector) -> Option<Vec<u8>> {
    (!s.as_bytes().is_empty()).then(|| s.as_bytes().to_vec())
}

fn transport_reason(e: TransportError) -> ProviderAbortReason {
    match e {
        TransportError::Decode(d) => ProviderAbortReason::Malformed(d),
        TransportError::TsduTooLarge { limit } => ProviderAbortReason::TooLarge {
            layer: AbortLayer::Transport,
            what: "TSDU",
            limit,
        },
        other => ProviderAbortReason::protocol(AbortLayer::Transport, other.to_string()),
    }
}

fn session_protocol_reason(e: SessionProtocolError) -> ProviderAbortReason {
    let detail = match e {
        SessionProtocolError::Undecodable(d) => return ProviderAbortReason::Malformed(d),
        SessionProtocolError::UnexpectedSpdu { spdu, state } => {
            format!("{spdu} SPDU unexpected in session state {state:?}")
        }
        SessionProtocolError::DuplexNotSelected { selected } => format!(
            "ACCEPT without the duplex functional unit ({:#06x})",
            selected.bits()
        ),
        SessionProtocolError::VersionNotProposed { selected } => format!(
            "ACCEPT selects session versions {:?}, not proposed",
            selected.versions()
        ),
        SessionProtocolError::InvalidCallingSelector => {
            "ACCEPT with an invalid calling S-selector".to_string()
        }
    };
    ProviderAbortReason::protocol(AbortLayer::Session, detail)
}

fn rejection_detail(why: ConnectRejection) -> String {
    match why {
        ConnectRejection::DuplexNotProposed { proposed } => format!(
            "duplex functional unit not proposed ({:#06x})",
            proposed.bits()
        ),
        ConnectRejection::NoCommonVersion { proposed } => {
            format!("session versions {:?} not supported", proposed.versions())
        }
        ConnectRejection::ConnectDataTooLong { limit } => {
            format!("CONNECT user data exceeds the limit of {limit} octets")
        }
    }
}

fn illegal(e: impl std::fmt::Display) -> AssociationError {
    AssociationError::IllegalPrimitive(e.to_string())
}

fn acse_value(ud: &UserData, pcid: Pcid) -> Option<&[u8]> {
    ud.pdv_lists()
        .iter()
        .find(|l| l.pcid == pcid)
        .and_then(|l| match &l.value {
            PdvValue::SingleAsn1Type(v) => Some(v.as_slice()),
            _ => None,
        })
}

/// What a configuration gives every connection that uses it, worked out once (by
/// [`crate::Initiator::new`] and [`crate::Responder::bind`]) rather than per association:
/// the outcome of [`AssociationConfig::validate`] and the presentation machine's
/// configuration (proposed contexts and supported syntaxes), shared by every stack.
pub(crate) struct Prepared {
    /// The configuration (immutable from here on).
    pub(crate) config: Arc<AssociationConfig>,
    /// The presentation configuration every stack's machine shares.
    presentation: Arc<PresentationConfig>,
    /// The message of the [`AssociationError::Config`] that `validate` gave, if any.
    invalid: Option<String>,
}

impl Prepared {
    /// Validates `config` and builds what the stacks share.
    pub(crate) fn new(config: Arc<AssociationConfig>) -> Self {
        let invalid = match config.validate() {
            Ok(()) => None,
            Err(AssociationError::Config(m)) => Some(m),
            Err(e) => Some(e.to_string()),
        };
        Prepared {
            presentation: Arc::new(presentation_config(&config)),
            config,
            invalid,
        }
    }

    /// [`AssociationConfig::validate`]'s outcome.
    pub(crate) fn check(&self) -> Result<(), AssociationError> {
        match &self.invalid {
            None => Ok(()),
            Some(m) => Err(AssociationError::Config(m.clone())),
        }
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

impl Stack {
    fn new(role: Role, prepared: &Prepared) -> Result<Self, AssociationError> {
        prepared.check()?;
        let cfg = &*prepared.config;
        let pres = PresentationMachine::with_shared_config(prepared.presentation.clone())
            .map_err(|e| AssociationError::Config(e.to_string()))?;
        let tcfg = transport_config(role, cfg);
        let scfg = session_config(cfg)?;
        let (mut transport, session) = match role {
            Role::Initiator => (
                TransportConnection::initiator(tcfg),
                SessionMachine::initiator(scfg),
            ),
            Role::Responder => (
                TransportConnection::responder(tcfg),
                SessionMachine::responder(scfg),
            ),
        };
        transport.set_head_splitter(data_tsdu_split);
        Ok(Stack {
            role,
            phase: Phase::Connecting,
            transport,
            session,
            pres,
            acse: AcseMachine::new(),
            acse_pcid: 1,
            pending_request: None,
            addresses: LowerAddresses::default(),
            out: Output::default(),
            released: false,
            max_read: cfg.limits.max_read,
            td_head: Vec::new(),
            split_values: Vec::new(),
            confirmed_contexts: None,
        })
    }

    /// An initiator without its A-ASSOCIATE request yet; [`Stack::start`] queues the CR.
    /// The request must be given ([`Stack::set_request`]) before the CC is processed: the
    /// AARQ goes out after the CC (a CC without a request ends the connection).
    pub(crate) fn initiator(prepared: &Prepared) -> Result<Self, AssociationError> {
        Stack::new(Role::Initiator, prepared)
    }

    /// Gives the initiator its A-ASSOCIATE request, sent (CN+CP+AARQ) once the CC arrives.
    pub(crate) fn set_request(&mut self, request: AssociateRequest) {
        self.pending_request = Some(request);
    }

    /// A responder waiting for the CR.
    pub(crate) fn responder(prepared: &Prepared) -> Result<Self, AssociationError> {
        Stack::new(Role::Responder, prepared)
    }

    /// The role.
    pub(crate) fn role(&self) -> Role {
        self.role
    }

    /// Queues the CR (initiator).
    pub(crate) fn start(&mut self) -> Result<(), AssociationError> {
        let cr = self
            .transport
            .connect()
            .map_err(|e| AssociationError::Config(e.to_string()))?;
        self.out.push_vec(cr);
        Ok(())
    }

    /// Octets to write (all TPKTs of the last step), leaving the buffer empty.
    #[allow(dead_code)]
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        let v = self.out.to_vec();
        self.out.clear();
        v
    }

    /// What to write (all TPKTs of the last steps), for the driver to swap with an empty
    /// [`Output`] (keeping both allocations in use).
    pub(crate) fn output_mut(&mut self) -> &mut Output {
        &mut self.out
    }

    /// The largest TPKT accepted from the peer, header included.
    pub(crate) fn max_tpkt_len(&self) -> usize {
        self.transport.config().max_tpkt_len
    }

    /// [`crate::Limits::max_read`]: the most octets the driver reads at once.
    pub(crate) fn max_read(&self) -> usize {
        self.max_read
    }

    /// Whether [`Stack::send_data`] and [`Stack::send_payload`] would accept a value now
    /// (for a context in the DCS).
    pub(crate) fn data_state(&self) -> DataState {
        if self.phase != Phase::Open || self.released {
            return DataState::Closed;
        }
        let pres_ok = matches!(
            self.pres.state(),
            PresentationState::Connected | PresentationState::ReleaseIndicated
        );
        if pres_ok && self.session.data_prefix().is_ok() {
            DataState::Open
        } else {
            DataState::Refused
        }
    }

    /// True when octets are waiting to be written.
    pub(crate) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// True when the connection is over (aborted, refused, released): flush and close.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True when our side of an orderly release is complete.
    pub(crate) fn is_released(&self) -> bool {
        self.released
    }

    /// True when the peer's release request was indicated and our release response is
    /// still to be given (session state awaiting the release response, no collision).
    pub(crate) fn awaiting_release_response(&self) -> bool {
        self.phase == Phase::Open && self.session.state() == SessionState::AwaitingReleaseResponse
    }

    /// True after our CN was sent and before the answer (initiator).
    pub(crate) fn awaiting_accept(&self) -> bool {
        self.role == Role::Initiator
            && matches!(
                self.session.state(),
                SessionState::AwaitingAc | SessionState::AwaitingOa
            )
    }

    /// Received octets the transport machine holds in a partial TPKT (at most the
    /// configured TPDU size plus the TPKT header).
    pub(crate) fn buffered_frame_len(&self) -> usize {
        self.transport.buffered_frame_len()
    }

    /// The defined context set (the confirm's, when the initiator kept it).
    pub(crate) fn take_contexts(&mut self) -> Vec<DefinedContext> {
        match self.confirmed_contexts.take() {
            Some(c) => c,
            None => self.pres.dcs().to_vec(),
        }
    }

    /// The default context in effect.
    pub(crate) fn default_context(&self) -> Option<DefaultContextName> {
        self.pres.default_context().cloned()
    }

    /// The addresses seen (responder), taken (the stack does not use them).
    pub(crate) fn take_addresses(&mut self) -> LowerAddresses {
        std::mem::take(&mut self.addresses)
    }

    // ------------------------------------------------------------------ output helpers

    /// Queues one TSDU (DT TPKTs). After a receive error closed an open transport, the
    /// transport machine still frames this one last TSDU (the session ABORT).
    fn emit(&mut self, tsdu: &[u8]) {
        let r = if self.transport.state() == TransportState::Connected {
            self.transport.send_tsdu(tsdu)
        } else {
            self.transport.send_final_tsdu(tsdu)
        };
        match r {
            Ok(b) => self.out.push_vec(b),
            Err(e) => {
                tracing::debug!(target: "guls::association", error = %e, "TSDU not sent")
            }
        }
    }

    /// Queues a TSDU a session primitive returned; an error is logged (nothing to send).
    fn emit_session(&mut self, r: Result<Vec<u8>, SessionError>) {
        match r {
            Ok(b) => self.emit(&b),
            Err(e) => {
                tracing::debug!(target: "guls::association", error = %e, "no session PDU sent")
            }
        }
    }

    /// Ends the connection: releases the transport (class 0: closing TCP, which the driver
    /// does once [`Stack::is_done`]).
    fn finish(&mut self) {
        self.phase = Phase::Done;
        if !self.transport.is_closed() {
            match self.transport.disconnect() {
                Ok(b) => self.out.push_vec(b),
                Err(e) => {
                    tracing::debug!(target: "guls::association", error = %e, "transport disconnect")
                }
            }
        }
    }

    /// Ends the connection on a fault: queues the session ABORT (if the session exists) and
    /// reports. `abort_ud` is the presentation PPDU (ARP) to carry in an S-U-ABORT.
    fn fail(&mut self, reason: ProviderAbortReason, abort_ud: Option<Vec<u8>>) -> Events {
        if self.phase == Phase::Done {
            return Events::new();
        }
        tracing::warn!(target: "guls::association", layer = %reason.layer(), %reason,
            "provider abort");
        if !matches!(reason, ProviderAbortReason::ConnectionClosed { .. }) {
            let ab = match abort_ud {
                Some(ud) => self.session.abort(ud),
                // No reason (09) for local causes, protocol error (05) for a protocol fault.
                None if matches!(reason.layer(), AbortLayer::Local | AbortLayer::Tcp) => {
                    self.session.provider_abort()
                }
                None => self.session.protocol_abort(),
            };
            // An error means there is no session connection to abort.
            if let Ok(ab) = ab {
                self.emit(&ab);
            }
        }
        let _ = self.acse.on_provider_abort(match reason.layer() {
            AbortLayer::Presentation => ProviderReason::Presentation(None),
            AbortLayer::Session => ProviderReason::Session,
            AbortLayer::Local => ProviderReason::Local,
            _ => ProviderReason::Transport,
        });
        self.finish();
        Events::one(StackEvent::ProviderAbort(reason))
    }

    /// An ACSE fault: session ABORT carrying an ARU with the provider ABRT, when there is
    /// one (else the protocol-error ABORT), then the end.
    fn acse_abort(&mut self, abrt: Option<Vec<u8>>, detail: String) -> Events {
        let aru = self
            .pres
            .user_abort(abrt.map(|b| UserData::single_asn1(self.acse_pcid, b)))
            .ok();
        let ab = match aru {
            Some(aru) => self.session.abort(aru),
            None => self.session.protocol_abort(),
        };
        self.emit_session(ab);
        self.finish();
        Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
            AbortLayer::Acse,
            detail,
        )))
    }

    /// A local provider abort (timer, dropped handle): session ABORT without user data.
    pub(crate) fn local_abort(&mut self, reason: ProviderAbortReason) -> Vec<StackEvent> {
        self.fail(reason, None).into_iter().collect()
    }

    /// The connection was lost (TCP closed or failed, DR or ER received): nothing is sent.
    fn lost(&mut self, reason: ProviderAbortReason) -> Events {
        if self.phase == Phase::Done {
            return Events::new();
        }
        let _ = self.transport.on_close();
        let _ = self.session.on_transport_disconnect();
        let _ = self.acse.on_provider_abort(ProviderReason::Transport);
        self.phase = Phase::Done;
        Events::one(StackEvent::ProviderAbort(reason))
    }

    /// The TCP connection ended (EOF or error) before the stack was done.
    pub(crate) fn on_transport_closed(&mut self, reason: ProviderAbortReason) -> Vec<StackEvent> {
        self.lost(reason).into_iter().collect()
    }

    // ------------------------------------------------------------------ transport input

    /// Octets read from TCP: feeds the transport machine up to its first event, appends
    /// the events of that step to `events` (whose room the driver reuses) and returns how
    /// many octets were consumed. Without events all of `input` was consumed.
    pub(crate) fn on_bytes(&mut self, input: &[u8], events: &mut Vec<StackEvent>) -> usize {
        if self.phase == Phase::Done {
            return input.len();
        }
        match self.transport.feed(input) {
            Err(e) => {
                events.extend(self.fail(transport_reason(e), None));
                input.len()
            }
            Ok((used, None)) => used,
            Ok((used, Some(ev))) => {
                events.extend(self.on_transport_event(ev));
                used
            }
        }
    }

    /// True when the driver should give the transport machine partial TPKTs too (it puts
    /// a partial DT's payload straight into the value it belongs to).
    pub(crate) fn streams_partial_frames(&self) -> bool {
        self.phase != Phase::Done && self.transport.streams_partial_frames()
    }

    /// True between TSDUs when the next one is likely a split value (see
    /// [`TransportConnection::next_tsdu_likely_split`]).
    pub(crate) fn next_tsdu_likely_split(&self) -> bool {
        self.phase != Phase::Done && self.transport.next_tsdu_likely_split()
    }

    /// Lays out a read straight into the value being received (see
    /// [`TransportConnection::plan_scatter`]).
    pub(crate) fn plan_scatter(&self, budget: usize, read: &mut ScatterRead) -> bool {
        self.phase != Phase::Done && self.transport.plan_scatter(budget, read)
    }

    /// The buffers of a planned scatter read.
    pub(crate) fn scatter_bufs<'a>(
        &'a mut self,
        read: &'a mut ScatterRead,
    ) -> Vec<std::io::IoSliceMut<'a>> {
        self.transport.scatter_bufs(read)
    }

    /// [`Stack::scatter_bufs`] into `out` (see
    /// [`TransportConnection::scatter_bufs_into`]): how many were put, `None` when `out`
    /// is too short.
    pub(crate) fn scatter_bufs_into<'a>(
        &'a mut self,
        read: &'a mut ScatterRead,
        out: &mut [std::io::IoSliceMut<'a>],
    ) -> Option<usize> {
        self.transport.scatter_bufs_into(read, out)
    }

    /// After a scatter read of `n` octets: the events of the TSDU when its value completed,
    /// appended to `events`; the octets read that did not arrive as predicted are appended
    /// to `rest`, to be given to [`Stack::on_bytes`].
    pub(crate) fn accept_scatter(
        &mut self,
        read: &ScatterRead,
        n: usize,
        rest: &mut Vec<u8>,
        events: &mut Vec<StackEvent>,
    ) {
        match self.transport.accept_scatter(read, n, rest) {
            Some(TransportEvent::SplitData { head, body }) => {
                self.on_split_data(head, body, events);
            }
            Some(ev) => events.extend(self.on_transport_event(ev)),
            None => {}
        }
    }

    /// A data TSDU split by `data_tsdu_split` while it was reassembled (the value is
    /// already at the start of `body`): its events appended to `events`, each value as a
    /// [`StackEvent::Value`].
    fn on_split_data(
        &mut self,
        head: Vec<u8>,
        body: Vec<u8>,
        events: &mut impl Extend<StackEvent>,
    ) {
        match self.session.data_user_information_offset(&head) {
            Some(at) => {
                let mut values = std::mem::take(&mut self.split_values);
                let r = self.pres.on_data_split_into(&head, at, body, &mut values);
                // The head's room gathers the next split TSDU's head.
                self.transport.recycle_head(head);
                match r {
                    Ok(()) => events.extend(values.drain(..).map(StackEvent::Value)),
                    Err(f) => events.extend(self.presentation_failure(f)),
                }
                self.split_values = values;
            }
            None => {
                let mut tsdu = head;
                tsdu.extend_from_slice(&body);
                events.extend(self.on_tsdu(&tsdu));
            }
        }
    }

    /// Hands a used value buffer back for reuse (see [`TransportConnection::recycle`]).
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        self.transport.recycle(buf);
    }

    fn on_transport_event(&mut self, ev: TransportEvent) -> Events {
        match ev {
            TransportEvent::ConnectIndication(ind) => {
                self.addresses.calling_tsel = ind.calling_tsel;
                self.addresses.called_tsel = ind.called_tsel;
                match self.transport.accept() {
                    Ok(cc) => {
                        self.out.push_vec(cc);
                        tracing::debug!(target: "guls::association",
                            tpdu_size = self.transport.tpdu_size().octets(),
                            "transport connected (CC sent)");
                        Events::new()
                    }
                    Err(e) => self.fail(
                        ProviderAbortReason::protocol(AbortLayer::Transport, e.to_string()),
                        None,
                    ),
                }
            }
            TransportEvent::Connected(cc) => {
                tracing::debug!(target: "guls::association", tpdu_size = cc.tpdu_size.octets(),
                    "transport connected (CC received)");
                self.send_connect()
            }
            TransportEvent::Data(tsdu) => match self.session.data_user_information_offset(&tsdu) {
                // A data TSDU: its TD PPDU is decoded from the TSDU itself, so that the value
                // is handed on without further copies (what `on_tsdu` would give).
                Some(at) => match self.pres.on_data_owned(tsdu, at) {
                    Ok(values) => Events::one(StackEvent::Data(values)),
                    Err(f) => self.presentation_failure(f),
                },
                None => self.on_tsdu(&tsdu),
            },
            // A data TSDU split by `data_tsdu_split` while it was reassembled: the value is
            // already at the start of `body`.
            TransportEvent::SplitData { head, body } => {
                let mut events = Events::new();
                self.on_split_data(head, body, &mut events);
                events
            }
            TransportEvent::Disconnected(cause) => {
                if self.released {
                    self.phase = Phase::Done;
                    return Events::new();
                }
                let reason = match cause {
                    DisconnectCause::DisconnectRequest { reason, .. } => {
                        ProviderAbortReason::TransportDisconnect(reason.description().to_string())
                    }
                    DisconnectCause::ErrorTpdu { cause } => {
                        ProviderAbortReason::TransportDisconnect(format!(
                            "ER TPDU, reject cause {}",
                            cause.code()
                        ))
                    }
                    DisconnectCause::NetworkClosed => ProviderAbortReason::ConnectionClosed {
                        stage: "transport connection",
                    },
                };
                self.lost(reason)
            }
        }
    }

    // ------------------------------------------------------------------ initiator connect

    fn send_connect(&mut self) -> Events {
        let Some(req) = self.pending_request.take() else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Local, "no A-ASSOCIATE request"),
                None,
            );
        };
        match self.build_connect(req) {
            Ok(cn) => {
                tracing::debug!(target: "guls::association", cn_len = cn.len(),
                    overflow = self.session.state() == SessionState::AwaitingOa,
                    "CN+CP+AARQ sent");
                self.emit(&cn);
                Events::new()
            }
            Err(e) => self.fail(ProviderAbortReason::protocol(AbortLayer::Local, e), None),
        }
    }

    /// The CN TSDU (with Data Overflow when the CP does not fit; the CDOs follow the OA).
    fn build_connect(&mut self, req: AssociateRequest) -> Result<Vec<u8>, String> {
        let aarq = self
            .acse
            .associate_request_owned(req)
            .map_err(|e| e.to_string())?;
        self.acse_pcid = self.pres.acse_pcid().ok_or("no ACSE context proposed")?;
        let cp = self
            .pres
            .connect_request(UserData::single_asn1(self.acse_pcid, aarq.bytes))
            .map_err(|e| e.to_string())?;
        self.session.connect(cp).map_err(|e| e.to_string())
    }

    // ------------------------------------------------------------------ session input

    fn on_tsdu(&mut self, tsdu: &[u8]) -> Events {
        let events = match self.session.on_tsdu(tsdu) {
            Ok(ev) => ev,
            Err(e) => {
                return self.fail(
                    ProviderAbortReason::protocol(AbortLayer::Session, e.to_string()),
                    None,
                );
            }
        };
        // Usually one session event: its stack events are returned as they are, without
        // collecting them into a second vector.
        let mut events = events.into_iter();
        let mut out = match events.next() {
            Some(ev) => self.on_session_event(ev),
            None => Events::new(),
        };
        for ev in events {
            out.extend(self.on_session_event(ev));
        }
        out
    }

    fn on_session_event(&mut self, ev: SessionEvent) -> Events {
        match ev {
            SessionEvent::Send(tsdu) => {
                self.emit(&tsdu);
                Events::new()
            }
            SessionEvent::ConnectIndication(ind) => self.on_connect(ind),
            SessionEvent::ConnectRejected(why) => {
                let why = rejection_detail(why);
                tracing::info!(target: "guls::association", %why, "session connection refused");
                self.finish();
                Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                    AbortLayer::Session,
                    why,
                )))
            }
            SessionEvent::ConnectConfirm(c) => self.on_accept(c.user_data),
            SessionEvent::Refused(r) => self.on_refuse(r),
            SessionEvent::Data(ui) => match self.pres.on_data(&ui) {
                Ok(values) => Events::one(StackEvent::Data(values)),
                Err(f) => self.presentation_failure(f),
            },
            SessionEvent::ReleaseIndication { user_data } => {
                self.on_release_pdu(ReleaseKind::Request, user_data.unwrap_or_default())
            }
            SessionEvent::ReleaseConfirm { user_data } => {
                self.on_release_pdu(ReleaseKind::Response, user_data.unwrap_or_default())
            }
            SessionEvent::ReleaseRejected { .. } => self.fail(
                ProviderAbortReason::protocol(
                    AbortLayer::Session,
                    "NOT FINISHED without the negotiated release functional unit",
                ),
                None,
            ),
            SessionEvent::AbortIndication(ai) => match ai.origin {
                AbortOrigin::Peer {
                    reason,
                    transport_disconnect,
                    ..
                } => self.on_session_abort(reason, transport_disconnect, ai.user_data),
                AbortOrigin::ProtocolError(e) => {
                    // The session machine queued its ABORT (protocol error) just before.
                    let reason = session_protocol_reason(e);
                    tracing::warn!(target: "guls::association", layer = %reason.layer(),
                        %reason, "provider abort");
                    let _ = self.acse.on_provider_abort(ProviderReason::Session);
                    self.finish();
                    Events::one(StackEvent::ProviderAbort(reason))
                }
            },
        }
    }

    fn presentation_failure(&mut self, f: guls_presentation::ProtocolFailure) -> Events {
        let reason = match f.error {
            guls_presentation::PresentationError::Decode(e) => ProviderAbortReason::Malformed(e),
            other => ProviderAbortReason::protocol(AbortLayer::Presentation, other.to_string()),
        };
        self.fail(reason, f.arp_bytes)
    }

    fn on_session_abort(
        &mut self,
        reason: AbortReason,
        td: Option<TransportDisconnect>,
        user_data: Option<Vec<u8>>,
    ) -> Events {
        if self.phase == Phase::Done {
            return Events::new();
        }
        let user_abort = td.is_some_and(|t| t.user_abort());
        let reason = reason.name();
        let ud = user_data.unwrap_or_default();
        let pres_open = self.pres.state().is_open();
        self.finish();
        if ud.is_empty() || !pres_open {
            if user_abort && pres_open {
                return match self.acse.on_abort_without_apdu() {
                    Some(AcseEvent::AbortIndication(a)) => {
                        Events::one(StackEvent::Abort(AbortInfo {
                            source: a.source,
                            diagnostic: a.diagnostic,
                            user_information: a.user_information,
                        }))
                    }
                    _ => Events::new(),
                };
            }
            let _ = self.acse.on_provider_abort(ProviderReason::Session);
            return Events::one(StackEvent::ProviderAbort(
                ProviderAbortReason::SessionAbort(reason),
            ));
        }
        match self.pres.on_abort(&ud) {
            Ok(PAbortIndication::User { user_data, .. }) => {
                let abrt = user_data
                    .as_ref()
                    .and_then(|u| acse_value(u, self.acse_pcid));
                let ev = match abrt {
                    Some(bytes) => self.acse.on_apdu(bytes).event,
                    None => self.acse.on_abort_without_apdu(),
                };
                match ev {
                    Some(AcseEvent::AbortIndication(a)) => {
                        Events::one(StackEvent::Abort(AbortInfo {
                            source: a.source,
                            diagnostic: a.diagnostic,
                            user_information: a.user_information,
                        }))
                    }
                    _ => Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                        AbortLayer::Acse,
                        "ARU without a usable ABRT",
                    ))),
                }
            }
            Ok(PAbortIndication::Provider { reason, .. }) => {
                let _ = self
                    .acse
                    .on_provider_abort(ProviderReason::Presentation(reason.map(|r| r.to_i64())));
                Events::one(StackEvent::ProviderAbort(
                    ProviderAbortReason::PresentationAbort {
                        reason: reason.map(|r| r.name()).unwrap_or("unspecified"),
                    },
                ))
            }
            Err(e) => {
                let _ = self.acse.on_provider_abort(ProviderReason::Session);
                Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                    AbortLayer::Presentation,
                    e.to_string(),
                )))
            }
        }
    }

    // ------------------------------------------------------------------ responder connect

    fn refuse_session(&mut self, reason: RefuseReason, why: String) -> Events {
        let rf = self.session.refuse(reason, Vec::new());
        self.emit_session(rf);
        self.finish();
        tracing::info!(target: "guls::association", reason = reason.description(), %why,
            "session connection refused");
        Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
            AbortLayer::Session,
            why,
        )))
    }

    /// S-CONNECT reject carrying a CPR (reason 2, "reason in user data"), then the end.
    fn refuse_with_cpr(&mut self, cpr: Vec<u8>) {
        let rf = self.session.refuse(RefuseReason::UserDataFollows, cpr);
        self.emit_session(rf);
        self.finish();
    }

    /// The S-CONNECT indication (the CN with any CDOs, checked by the session machine).
    fn on_connect(&mut self, sind: guls_session::ConnectIndication) -> Events {
        self.addresses.calling_ssel = nonempty(&sind.calling_ssel);
        self.addresses.called_ssel = nonempty(&sind.called_ssel);
        self.addresses.session_version = sind.version;
        self.addresses.proposed_session_requirements = sind.requirements_proposed.bits();
        let Some(cp) = sind.user_data.filter(|u| !u.is_empty()) else {
            return self.refuse_session(RefuseReason::UserNoReason, "CONNECT without a CP".into());
        };
        tracing::debug!(target: "guls::association", cp_len = cp.len(), "S-CONNECT indication");
        let ind = match self.pres.on_connect_request(&cp) {
            Ok(ind) => ind,
            Err(f) => {
                let reason = match f.error {
                    guls_presentation::PresentationError::Decode(e) => {
                        ProviderAbortReason::Malformed(e)
                    }
                    other => {
                        ProviderAbortReason::protocol(AbortLayer::Presentation, other.to_string())
                    }
                };
                tracing::info!(target: "guls::association", %reason, "CP refused (CPR)");
                match f.cpr_bytes {
                    Some(cpr) => self.refuse_with_cpr(cpr),
                    None => {
                        let ab = self.session.protocol_abort();
                        self.emit_session(ab);
                        self.finish();
                    }
                }
                return Events::one(StackEvent::ProviderAbort(reason));
            }
        };
        self.addresses.calling_psel = ind.calling_selector.clone();
        self.addresses.called_psel = ind.called_selector.clone();
        let acse_ok = accepted_definitions(&ind)
            .find(|d| d.abstract_syntax == guls_ber::known::ACSE_ABSTRACT_SYNTAX)
            .map(|d| d.id);
        let Some(acse_pcid) = acse_ok else {
            let cpr = self.pres.refuse(
                PRefuseReason::Provider(guls_presentation::ProviderReason::ReasonNotSpecified),
                None,
            );
            match cpr {
                Ok(cpr) => self.refuse_with_cpr(cpr),
                Err(_) => self.refuse_with_cpr(Vec::new()),
            }
            return Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                AbortLayer::Presentation,
                "no ACSE presentation context",
            )));
        };
        self.acse_pcid = acse_pcid;
        let Some(aarq) = ind
            .user_data
            .as_ref()
            .and_then(|u| acse_value(u, acse_pcid))
        else {
            return self.refuse_presentation_user("CP user data holds no ACSE APDU".into(), None);
        };
        let reaction = self.acse.on_apdu(aarq);
        match reaction.event {
            Some(AcseEvent::AssociateIndication(a)) => {
                self.phase = Phase::AwaitResponse;
                tracing::info!(target: "guls::association",
                    application_context = %a.application_context_name,
                    calling_ap_title = ?a.calling_ap_title,
                    mechanism = ?a.mechanism_name,
                    contexts = accepted_definitions(&ind).count(),
                    "A-ASSOCIATE indication");
                Events::one(StackEvent::Indication(Box::new((a, ind))))
            }
            Some(AcseEvent::ProviderRejection(r)) => {
                let aare = reaction.send.map(|o| o.bytes);
                self.refuse_presentation_user(
                    format!(
                        "AARQ rejected by the ACSE provider: {}",
                        r.diagnostic.name()
                    ),
                    aare,
                )
            }
            _ => {
                // Undecodable or unexpected APDU: the machine gives an ABRT (provider).
                let abrt = reaction.send.map(|o| o.bytes);
                self.acse_abort(abrt, "CP user data is not a valid AARQ".into())
            }
        }
    }

    fn refuse_presentation_user(&mut self, why: String, aare: Option<Vec<u8>>) -> Events {
        let ud = aare.map(|b| UserData::single_asn1(self.acse_pcid, b));
        match self.pres.refuse(PRefuseReason::User, ud) {
            Ok(cpr) => self.refuse_with_cpr(cpr),
            Err(_) => self.refuse_with_cpr(Vec::new()),
        }
        Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
            AbortLayer::Acse,
            why,
        )))
    }

    /// A-ASSOCIATE response (responder): accepted goes to the data phase with AC+CPA+AARE;
    /// rejected sends RF+CPR+AARE (ISO 8650 / X.226: a user rejection is a P-CONNECT
    /// response with result user-rejection, carried by S-CONNECT reject) and ends.
    pub(crate) fn respond(&mut self, rsp: AssociateResponse) -> Result<(), AssociationError> {
        if self.phase != Phase::AwaitResponse {
            return Err(AssociationError::IllegalPrimitive(
                "A-ASSOCIATE response without a pending indication".into(),
            ));
        }
        let accepted = rsp.result == guls_acse::AssociateResult::Accepted;
        let diagnostic = rsp.diagnostic;
        let aare = self.acse.associate_response_owned(rsp).map_err(illegal)?;
        let ud = UserData::single_asn1(self.acse_pcid, aare.bytes);
        if accepted {
            let cpa = self.pres.accept(Some(ud)).map_err(illegal)?;
            let ac = self.session.accept(cpa).map_err(illegal)?;
            self.emit(&ac);
            self.phase = Phase::Open;
            tracing::info!(target: "guls::association", "association accepted (AC+CPA+AARE)");
        } else {
            let cpr = self
                .pres
                .refuse(PRefuseReason::User, Some(ud))
                .map_err(illegal)?;
            self.refuse_with_cpr(cpr);
            tracing::info!(target: "guls::association", diagnostic = ?diagnostic,
                "association rejected (RF+CPR+AARE)");
        }
        Ok(())
    }

    // ------------------------------------------------------------------ initiator confirm

    fn confirm_events(&mut self, apdu: Option<&[u8]>, refused: bool) -> Events {
        let Some(apdu) = apdu else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "no AARE in the answer"),
                None,
            );
        };
        let reaction = self.acse.on_apdu(apdu);
        match reaction.event {
            Some(AcseEvent::AssociateConfirm(c)) if c.is_accepted() && !refused => {
                self.phase = Phase::Open;
                tracing::info!(target: "guls::association",
                    application_context = %c.application_context_name, "association established");
                Events::one(StackEvent::Established(Box::new(c)))
            }
            Some(AcseEvent::AssociateConfirm(c)) => {
                self.finish();
                Events::one(StackEvent::Rejected(Box::new(Rejection {
                    result: c.result,
                    source: c.result_source,
                    diagnostic: c.diagnostic,
                    user_information: c.user_information,
                    acse_requirements: c.acse_requirements,
                    mechanism_name: c.mechanism_name,
                    authentication_value: c.authentication_value,
                })))
            }
            Some(AcseEvent::AbortIndication(a)) if a.protocol_error.is_none() => {
                self.finish();
                Events::one(StackEvent::Abort(AbortInfo {
                    source: a.source,
                    diagnostic: a.diagnostic,
                    user_information: a.user_information,
                }))
            }
            Some(AcseEvent::AbortIndication(a)) => {
                let detail = a.protocol_error.map(|e| e.to_string()).unwrap_or_default();
                if refused {
                    self.finish();
                    return Events::one(StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                        AbortLayer::Acse,
                        detail,
                    )));
                }
                let abrt = reaction.send.map(|o| o.bytes);
                self.acse_abort(abrt, detail)
            }
            _ => self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "unexpected answer to the AARQ"),
                None,
            ),
        }
    }

    fn on_accept(&mut self, cpa: Option<Vec<u8>>) -> Events {
        let Some(cpa) = cpa.filter(|c| !c.is_empty()) else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Session, "ACCEPT without a CPA"),
                None,
            );
        };
        match self.pres.on_connect_accept(&cpa) {
            Ok(mut conf) => {
                // The same as the machine's DCS after the confirm.
                self.confirmed_contexts = Some(std::mem::take(&mut conf.accepted));
                let apdu = conf
                    .user_data
                    .as_ref()
                    .and_then(|u| acse_value(u, self.acse_pcid));
                self.confirm_events(apdu, false)
            }
            Err(f) => self.presentation_failure(f),
        }
    }

    fn on_refuse(&mut self, rf: RefuseIndication) -> Events {
        let reason = rf.reason.unwrap_or(RefuseReason::UserNoReason);
        let cpr = rf.user_data.unwrap_or_default();
        if reason != RefuseReason::UserDataFollows || cpr.is_empty() {
            self.finish();
            return Events::one(StackEvent::Refused {
                layer: AbortLayer::Session,
                detail: reason.description().to_string(),
            });
        }
        match self.pres.on_connect_refuse(&cpr) {
            Ok(ind) => {
                let apdu = ind
                    .user_data
                    .as_ref()
                    .and_then(|u| acse_value(u, self.acse_pcid));
                match apdu {
                    Some(a) => self.confirm_events(Some(a), true),
                    None => {
                        self.finish();
                        Events::one(StackEvent::Refused {
                            layer: AbortLayer::Presentation,
                            detail: ind
                                .provider_reason
                                .map(|r| r.name())
                                .unwrap_or("rejected by the presentation user")
                                .to_string(),
                        })
                    }
                }
            }
            Err(e) => {
                self.finish();
                Events::one(StackEvent::Refused {
                    layer: AbortLayer::Presentation,
                    detail: format!("undecodable CPR: {e}"),
                })
            }
        }
    }

    // ------------------------------------------------------------------ data phase

    /// P-DATA request. One octet-aligned or single-ASN1-type value (the usual case) is
    /// queued without copying it ([`Stack::send_payload`]).
    pub(crate) fn send_data(
        &mut self,
        mut values: Vec<(Pcid, PdvValue)>,
    ) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        if values.len() == 1 {
            match values.pop() {
                Some((pcid, PdvValue::OctetAligned(v))) => {
                    return self.send_payload(pcid, false, Payload::Owned(v));
                }
                Some((pcid, PdvValue::SingleAsn1Type(v))) => {
                    return self.send_payload(pcid, true, Payload::Owned(v));
                }
                Some(other) => values.push(other),
                None => {}
            }
        }
        let td = self.pres.send_data(values).map_err(illegal)?;
        let tsdu = self.session.send_data(&td).map_err(illegal)?;
        self.emit(&tsdu);
        Ok(())
    }

    /// P-DATA request with one value (single-ASN1-type when `single_asn1`, else
    /// octet-aligned) that is queued where it is: the TPKT, DT, SPDU and PPDU headers go
    /// into the output buffer and the value's octets are written from `payload` (vectored
    /// write). The octets on the wire are exactly those of [`Stack::send_data`]'s encoders.
    pub(crate) fn send_payload(
        &mut self,
        pcid: Pcid,
        single_asn1: bool,
        payload: Payload,
    ) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        let len = (*payload).as_ref().len();
        let mut header = std::mem::take(&mut self.td_head);
        let trailer = self
            .pres
            .send_data_header_into(pcid, single_asn1, len, &mut header)
            .map_err(illegal);
        let r = match trailer {
            Ok(trailer) => self.send_payload_framed(payload, len, &header, trailer),
            Err(e) => Err(e),
        };
        self.td_head = header;
        r
    }

    /// [`Stack::send_payload`] once the TD PPDU `header` and `trailer` of the value are known.
    fn send_payload_framed(
        &mut self,
        payload: Payload,
        len: usize,
        header: &[u8],
        trailer: &'static [u8],
    ) -> Result<(), AssociationError> {
        let prefix = self.session.data_prefix().map_err(illegal)?;
        // The TSDU's head is the session prefix then the PPDU header.
        let head_len = prefix.len() + header.len();
        let value_end = head_len + len;
        let total = value_end + trailer.len();
        let Ok(frames) = self.transport.data_frames_for(total) else {
            // Not connected: the copying path (one final TSDU, else logged and dropped).
            self.send_unframed(&prefix, header, &payload, trailer);
            return Ok(());
        };
        // The head joined, in a stack array (it is short: the PPDU header of one value).
        let mut head = [0u8; MAX_DATA_HEAD];
        let Some(joined) = head.get_mut(..head_len) else {
            self.send_unframed(&prefix, header, &payload, trailer);
            return Ok(());
        };
        let (p, h) = joined.split_at_mut(prefix.len());
        p.copy_from_slice(&prefix);
        h.copy_from_slice(header);
        let value = (*payload).as_ref();
        let shared = self.out.payloads.len();
        let mut used = false;
        for (tpkt, range) in frames {
            self.out.push_array(&tpkt);
            if range.start < head_len {
                self.out.push(
                    head.get(range.start..range.end.min(head_len))
                        .unwrap_or_default(),
                );
            }
            let v = range.start.clamp(head_len, value_end) - head_len
                ..range.end.clamp(head_len, value_end) - head_len;
            if v.len() >= MIN_SHARED_PIECE {
                self.out.push_shared(shared, v);
                used = true;
            } else {
                self.out.push(value.get(v).unwrap_or_default());
            }
            if range.end > value_end {
                let t = range.start.max(value_end) - value_end..range.end - value_end;
                self.out.push(trailer.get(t).unwrap_or_default());
            }
        }
        if used {
            self.out.payloads.push(payload);
        }
        Ok(())
    }

    /// [`Stack::send_payload_framed`] when the transport is not connected: the TSDU copied
    /// into one buffer and given to [`Stack::emit`] (a final TSDU, else logged and dropped).
    /// Also for a head longer than [`MAX_DATA_HEAD`], which no PPDU header of one value is.
    #[cold]
    #[inline(never)]
    fn send_unframed(&mut self, prefix: &[u8], header: &[u8], value: &[u8], trailer: &[u8]) {
        let mut tsdu =
            Vec::with_capacity(prefix.len() + header.len() + value.len() + trailer.len());
        tsdu.extend_from_slice(prefix);
        tsdu.extend_from_slice(header);
        tsdu.extend_from_slice(value);
        tsdu.extend_from_slice(trailer);
        self.emit(&tsdu);
    }

    fn on_release_pdu(&mut self, kind: ReleaseKind, ud: Vec<u8>) -> Events {
        let user_data = match self.pres.on_release_user_data(kind, &ud) {
            Ok(u) => u,
            Err(f) if f.arp_bytes.is_some() => return self.presentation_failure(f),
            Err(f) => {
                return self.fail(
                    ProviderAbortReason::protocol(AbortLayer::Session, f.error.to_string()),
                    None,
                );
            }
        };
        let Some(apdu) = user_data
            .as_ref()
            .and_then(|u| acse_value(u, self.acse_pcid))
        else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "release without an RLRQ/RLRE"),
                None,
            );
        };
        let reaction = self.acse.on_apdu(apdu);
        match reaction.event {
            Some(AcseEvent::ReleaseIndication(r)) => Events::one(StackEvent::ReleaseIndication(r)),
            Some(AcseEvent::ReleaseConfirm(c)) => {
                if self.acse.is_closed() {
                    self.released = true;
                    self.finish();
                }
                Events::one(StackEvent::ReleaseConfirm(c))
            }
            Some(AcseEvent::AbortIndication(a)) => {
                let detail = a
                    .protocol_error
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "ABRT".into());
                let abrt = reaction.send.map(|o| o.bytes);
                self.acse_abort(abrt, detail)
            }
            _ => self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "unexpected release APDU"),
                None,
            ),
        }
    }

    /// A-RELEASE request: FN + RLRQ.
    pub(crate) fn release_request(&mut self, req: &ReleaseRequest) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        if self.session.state() != SessionState::Connected {
            return Err(AssociationError::IllegalPrimitive(format!(
                "A-RELEASE request in session state {:?}",
                self.session.state()
            )));
        }
        let rlrq = self.acse.release_request(req).map_err(illegal)?;
        let ud = self
            .pres
            .release_user_data(
                ReleaseKind::Request,
                Some(UserData::single_asn1(self.acse_pcid, rlrq.bytes)),
            )
            .map_err(illegal)?;
        let fin = self.session.release_request(ud).map_err(illegal)?;
        self.emit(&fin);
        tracing::info!(target: "guls::association", "A-RELEASE request (FN+RLRQ)");
        Ok(())
    }

    /// A-RELEASE response: DN + RLRE.
    pub(crate) fn release_response(
        &mut self,
        rsp: &ReleaseResponse,
    ) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        if !matches!(
            self.session.state(),
            SessionState::AwaitingReleaseResponse | SessionState::ReleaseCollision
        ) {
            return Err(AssociationError::IllegalPrimitive(format!(
                "A-RELEASE response in session state {:?}",
                self.session.state()
            )));
        }
        let rlre = self.acse.release_response(rsp).map_err(illegal)?;
        let ud = self
            .pres
            .release_user_data(
                ReleaseKind::Response,
                Some(UserData::single_asn1(self.acse_pcid, rlre.bytes)),
            )
            .map_err(illegal)?;
        let dn = self.session.release_response(ud).map_err(illegal)?;
        self.emit(&dn);
        tracing::info!(target: "guls::association", "A-RELEASE response (DN+RLRE)");
        if self.acse.is_closed() {
            self.released = true;
        }
        Ok(())
    }

    /// A-ABORT request: AB + ARU + ABRT.
    pub(crate) fn abort(
        &mut self,
        user_information: Vec<External>,
    ) -> Result<(), AssociationError> {
        if self.phase == Phase::Done {
            return Err(AssociationError::Closed);
        }
        let abrt = self
            .acse
            .abort_request(&AbortRequest { user_information })
            .map_err(illegal)?;
        let aru = self
            .pres
            .user_abort(Some(UserData::single_asn1(self.acse_pcid, abrt.bytes)))
            .map_err(illegal)?;
        let ab = self.session.abort(aru).map_err(illegal)?;
        self.emit(&ab);
        self.finish();
        tracing::info!(target: "guls::association", "A-ABORT request (AB+ARU+ABRT)");
        Ok(())
    }
}
