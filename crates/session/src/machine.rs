//! The sans-IO session protocol machine: ISO 8327-1 kernel + duplex (RFC 1698, OIW SIA 9).
//!
//! See [`SessionMachine`] for the primitives, the states and the decisions taken.

use crate::error::EncodeError;
use crate::params::{
    ConnectAcceptItem, ConnectionIdentifier, DataOverflow, EnclosureItem, FunctionalUnits,
    ProtocolOptions, ReasonCode, RefuseReason, SSelector, TransportDisconnect, TsduMaximumSize,
    VersionNumber,
};
use crate::spdu::{
    Abort, AbortAccept, AbortReason, Accept, Connect, ConnectDataOverflow, ConnectUserData,
    Disconnect, Finish, MAX_BASIC_CONNECT_USER_DATA, MAX_CONNECT_USER_DATA, OverflowAccept, Refuse,
    Spdu,
};
use crate::tsdu::{decode_tsdu, encode_data_tsdu};

/// GIVE TOKENS and DATA TRANSFER without parameters: the start of every data TSDU sent,
/// and of the received ones that [`SessionMachine::data_user_information_offset`] accepts
/// (their User Information follows it).
pub const DATA_PREFIX: [u8; 4] = [1, 0, 1, 0];
use guls_ber::DecodeError;

/// Default for [`SessionConfig::max_connect_user_data`]: 64 KiB.
pub const DEFAULT_MAX_CONNECT_USER_DATA: usize = 65_536;

/// Configuration of a [`SessionMachine`] (both roles; each uses the fields it needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Initiator: Calling Session Selector of the CN (omitted when `None`).
    pub calling_ssel: Option<SSelector>,
    /// Initiator: Called Session Selector of the CN (omitted when `None`).
    pub called_ssel: Option<SSelector>,
    /// Responder: Responding Session Selector of the AC; `None` echoes the CN's called one.
    pub responding_ssel: Option<SSelector>,
    /// Initiator: the versions proposed. Default version 2 only (RFC 1698).
    pub versions: VersionNumber,
    /// Responder: the versions accepted. Default versions 1 and 2.
    pub accept_versions: VersionNumber,
    /// Responder: the most CONNECT user data accepted (CN plus CDOs); more is refused
    /// with reason "implementation restriction". Initiator: the most sent. Default
    /// [`DEFAULT_MAX_CONNECT_USER_DATA`].
    pub max_connect_user_data: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            calling_ssel: None,
            called_ssel: None,
            responding_ssel: None,
            versions: VersionNumber::V2,
            accept_versions: VersionNumber::V1_AND_V2,
            max_connect_user_data: DEFAULT_MAX_CONNECT_USER_DATA,
        }
    }
}

/// Which side of the session connection a machine plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionRole {
    /// Sends the CN.
    Initiator,
    /// Receives the CN.
    Responder,
}

/// The state of a [`SessionMachine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Nothing sent or received yet.
    Idle,
    /// Initiator: CN with Data Overflow sent, waiting for the OA.
    AwaitingOa,
    /// Initiator: CN (and any CDOs) sent, waiting for the AC or RF.
    AwaitingAc,
    /// Responder: CN with Data Overflow received and OA sent, collecting CDOs.
    AwaitingCdo,
    /// Responder: CN indicated, waiting for [`SessionMachine::accept`] or
    /// [`SessionMachine::refuse`].
    AwaitingConnectResponse,
    /// Data transfer.
    Connected,
    /// FN sent, waiting for the DN (data may still arrive). Also after our DN in a collision.
    AwaitingDn,
    /// FN received and indicated, waiting for [`SessionMachine::release_response`].
    AwaitingReleaseResponse,
    /// Both FN SPDUs crossed: waiting for our DN and the peer's.
    ReleaseCollision,
    /// Released, refused or aborted; the transport is to be released.
    Closed,
}

/// A user primitive, named in [`SessionError::IllegalPrimitive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionPrimitive {
    /// [`SessionMachine::connect`] (S-CONNECT request).
    Connect,
    /// [`SessionMachine::accept`] (S-CONNECT response, accepted).
    Accept,
    /// [`SessionMachine::refuse`] (S-CONNECT response, rejected).
    Refuse,
    /// [`SessionMachine::send_data`] (S-DATA request).
    Data,
    /// [`SessionMachine::release_request`] (S-RELEASE request).
    ReleaseRequest,
    /// [`SessionMachine::release_response`] (S-RELEASE response).
    ReleaseResponse,
    /// [`SessionMachine::abort`] (S-U-ABORT request).
    Abort,
    /// [`SessionMachine::provider_abort`].
    ProviderAbort,
}

/// A CN received by a responder (with any CDO user data appended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectIndication {
    /// Calling S-selector (empty when absent, OIW SIA 9.3.8).
    pub calling_ssel: SSelector,
    /// Called S-selector (empty when absent).
    pub called_ssel: SSelector,
    /// The versions proposed (version 1 when the CN carries no Version Number).
    pub versions_proposed: VersionNumber,
    /// The version [`SessionMachine::accept`] will select.
    pub version: u8,
    /// The functional units proposed (PI 20, or the ISO 8327 default when absent).
    pub requirements_proposed: FunctionalUnits,
    /// The functional units [`SessionMachine::accept`] will select (duplex).
    pub functional_units: FunctionalUnits,
    /// The Connection Identifier, if present.
    pub connection_identifier: Option<ConnectionIdentifier>,
    /// The TSDU maximum sizes proposed, if present (segmenting is never selected).
    pub tsdu_maximum_size: Option<TsduMaximumSize>,
    /// The CONNECT user data (CN and CDOs reassembled), if any.
    pub user_data: Option<Vec<u8>>,
}

impl ConnectIndication {
    /// A copy without the user data (what the machine keeps until the response).
    fn without_user_data(&self) -> Self {
        ConnectIndication {
            calling_ssel: self.calling_ssel.clone(),
            called_ssel: self.called_ssel.clone(),
            versions_proposed: self.versions_proposed,
            version: self.version,
            requirements_proposed: self.requirements_proposed,
            functional_units: self.functional_units,
            connection_identifier: self.connection_identifier.clone(),
            tsdu_maximum_size: self.tsdu_maximum_size,
            user_data: None,
        }
    }
}

/// An AC received by the initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectConfirm {
    /// The version in force.
    pub version: u8,
    /// The functional units in force (those of the AC that were proposed).
    pub functional_units: FunctionalUnits,
    /// The responding S-selector in force (OIW SIA 9.3.8 table 2).
    pub responding_ssel: SSelector,
    /// The calling S-selector in force (OIW SIA 9.3.8 table 3).
    pub calling_ssel: SSelector,
    /// The AC's user data, if any.
    pub user_data: Option<Vec<u8>>,
}

/// An RF received by the initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefuseIndication {
    /// The reason (PI 50), if present.
    pub reason: Option<RefuseReason>,
    /// The SS-user data after the reason octet (reason 2), if any.
    pub user_data: Option<Vec<u8>>,
    /// The versions the refuser supports (PI 22), if present.
    pub version: Option<VersionNumber>,
    /// Transport Disconnect (PI 17), if present.
    pub transport_disconnect: Option<TransportDisconnect>,
}

/// Why the responder machine refused a CN on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectRejection {
    /// The CN does not propose the duplex functional unit.
    DuplexNotProposed {
        /// What it proposed.
        proposed: FunctionalUnits,
    },
    /// No proposed version is accepted (or Data Overflow without version 2).
    NoCommonVersion {
        /// What it proposed.
        proposed: VersionNumber,
    },
    /// The CONNECT user data (CN plus CDOs) exceeds the configured limit.
    ConnectDataTooLong {
        /// [`SessionConfig::max_connect_user_data`].
        limit: usize,
    },
}

impl ConnectRejection {
    /// The reason code the RF carries.
    pub fn refuse_reason(self) -> RefuseReason {
        match self {
            ConnectRejection::DuplexNotProposed { .. } => RefuseReason::SpmNoReason,
            ConnectRejection::NoCommonVersion { .. } => RefuseReason::VersionsNotSupported,
            ConnectRejection::ConnectDataTooLong { .. } => RefuseReason::ImplementationRestriction,
        }
    }
}

/// A protocol error detected in received input (answered with a provider abort).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The TSDU could not be decoded.
    Undecodable(DecodeError),
    /// An SPDU not allowed in the state.
    UnexpectedSpdu {
        /// Its abbreviation (for GT+DT the category 2 one).
        spdu: &'static str,
        /// The state it arrived in.
        state: SessionState,
    },
    /// The AC does not select duplex.
    DuplexNotSelected {
        /// What it selected.
        selected: FunctionalUnits,
    },
    /// The AC selects no version we proposed.
    VersionNotProposed {
        /// What it selected (version 1 when absent).
        selected: VersionNumber,
    },
    /// The AC's calling S-selector is invalid against the CN's (OIW SIA 9.3.8 table 3).
    InvalidCallingSelector,
}

/// Who aborted the session connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortOrigin {
    /// The peer sent an AB.
    Peer {
        /// Its reason (from PI 17).
        reason: AbortReason,
        /// Its Transport Disconnect parameter, if present.
        transport_disconnect: Option<TransportDisconnect>,
        /// Whether the machine answered with an AA (the AB asked to keep the transport).
        abort_accept_sent: bool,
    },
    /// This machine detected a protocol error and sent an AB (protocol error).
    ProtocolError(ProtocolError),
}

/// An abort indication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortIndication {
    /// Who aborted, and why.
    pub origin: AbortOrigin,
    /// The AB's user data, if any.
    pub user_data: Option<Vec<u8>>,
}

/// What the machine reports from a received TSDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A TSDU the machine itself produced (OA, CDO, RF, AB, AA): send it now, in order.
    Send(Vec<u8>),
    /// Responder: a CN (and its CDOs) arrived; answer with [`SessionMachine::accept`] or
    /// [`SessionMachine::refuse`].
    ConnectIndication(ConnectIndication),
    /// Responder: the machine refused a CN itself (the RF is in the preceding
    /// [`SessionEvent::Send`]); the machine is closed.
    ConnectRejected(ConnectRejection),
    /// Initiator: the AC arrived; the session connection is open.
    ConnectConfirm(ConnectConfirm),
    /// Initiator: an RF arrived; the machine is closed.
    Refused(RefuseIndication),
    /// User Information of a DT (S-DATA indication).
    Data(Vec<u8>),
    /// An FN arrived (S-RELEASE indication); answer with [`SessionMachine::release_response`].
    ReleaseIndication {
        /// The FN's user data, if any.
        user_data: Option<Vec<u8>>,
    },
    /// A DN arrived (S-RELEASE confirm).
    ReleaseConfirm {
        /// The DN's user data, if any.
        user_data: Option<Vec<u8>>,
    },
    /// An NF arrived in reply to our FN; back to data transfer.
    ReleaseRejected {
        /// The NF's user data, if any.
        user_data: Option<Vec<u8>>,
    },
    /// The session connection was aborted; the machine is closed.
    AbortIndication(AbortIndication),
}

/// Why a primitive failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The primitive is not allowed in the state; nothing changed.
    #[error("{primitive:?} not allowed in session state {state:?}")]
    IllegalPrimitive {
        /// The primitive.
        primitive: SessionPrimitive,
        /// The state it was issued in.
        state: SessionState,
    },
    /// The user data is longer than the negotiated version or the configuration allows;
    /// nothing changed.
    #[error("user data of {len} octets exceeds the limit of {limit}")]
    UserDataTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An SPDU could not be encoded; nothing changed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// The sans-IO session protocol machine: ISO 8327-1 kernel + duplex, as RFC 1698 and the OIW
/// agreements (SIA Part 5 clause 9) profile it.
///
/// [`SessionMachine`] takes TSDUs in ([`SessionMachine::on_tsdu`]) and user primitives
/// ([`SessionMachine::connect`], [`SessionMachine::accept`], [`SessionMachine::send_data`],
/// ...) and gives events and TSDUs to send. It owns no transport: the driver hands each
/// returned TSDU, and each [`SessionEvent::Send`], to the transport in order, and releases the
/// transport connection once the machine is [`SessionState::Closed`].
///
/// # Decisions
///
/// * **Connect.** The initiator proposes [`SessionConfig::versions`] (default version 2 only,
///   as RFC 1698), kernel + duplex, protocol options 0. CONNECT user data goes in PGI 193 up
///   to 512 octets, PGI 194 up to 10,240. Longer user data (version 2 only) sends the first
///   10,240 octets in the CN with Data Overflow (PI 60) set; the responder answers with an
///   OVERFLOW ACCEPT, and the initiator then sends the rest in CONNECT DATA OVERFLOW SPDUs of
///   at most 10,240 octets each, Enclosure Item "end" on the last ([`SessionEvent::Send`]).
///   When version 1 is offered the CN user data is limited to 512 octets (OIW SIA 9.3.5.1).
/// * **Accept.** The responder selects version 2 when offered and acceptable
///   ([`SessionConfig::accept_versions`]), else version 1, and the functional units
///   `proposed ∩ {duplex}`. A CN that proposes no acceptable version, does not propose duplex
///   (RFC 1698 6.1), or whose user data exceeds [`SessionConfig::max_connect_user_data`], is
///   refused by the machine itself ([`SessionEvent::ConnectRejected`] and the RF to send); the
///   user never sees it. The AC carries protocol options 0 and version 2 (nothing for version
///   1, RFC 1698 6.2), Session User Requirements duplex, and the responding S-selector: the
///   configured one, else the CN's called S-selector echoed (the value OIW SIA 9.3.8 table 2
///   gives to an absent one; libiec61850 echoes it too). It never carries a calling S-selector
///   (table 3: absent means the CN's).
/// * **Data.** Sent as `01 00 01 00` + User Information (GT + DT basic concatenation; the only
///   form libiec61850 accepts). Received as GT+DT or a lone DT.
/// * **Release.** FINISH without a Transport Disconnect parameter (absent means "release the
///   transport", RFC 1698 6.5), DISCONNECT in reply. Transport reuse is not offered (OIW SIA
///   9.3.3). A NOT FINISHED in reply to our FINISH is accepted leniently
///   ([`SessionEvent::ReleaseRejected`]) and returns to data transfer. **Collision**: with
///   duplex and no negotiated release there is no release token, so both FINISH SPDUs may
///   cross. A FINISH received after ours gives a [`SessionEvent::ReleaseIndication`] and the
///   [`SessionState::ReleaseCollision`] state; each side then answers with a DISCONNECT and
///   takes the peer's DISCONNECT as the confirm, in either order (the order of the responses
///   is the ACSE's business: X.217 9.2.2.10 has the association-initiator respond first). The
///   machine is closed when both DISCONNECTs have passed.
/// * **Abort.** A user abort is `AB` with Transport Disconnect `03` (release, user abort) and
///   the user data; [`SessionMachine::provider_abort`] is `19 03 11 01 09` (RFC 1698 6.8).
///   A received AB closes the machine. An ABORT ACCEPT is sent only when the AB asked to keep
///   the transport connection (bit 1 of PI 17 clear); otherwise the transport is simply
///   released (RFC 1698 6.9). An AA received once closed is ignored.
/// * **Invalid SPDUs** (undecodable, or not allowed in the state) take no exception-report
///   action (OIW SIA 9.3.6, 9.3.7): the machine sends AB with Transport Disconnect `05`
///   (release, protocol error), reports [`SessionEvent::AbortIndication`] with
///   [`AbortOrigin::ProtocolError`] and closes.
/// * **Illegal primitives** return [`SessionError::IllegalPrimitive`] and change nothing.
#[derive(Debug, Clone)]
pub struct SessionMachine {
    config: SessionConfig,
    role: SessionRole,
    state: SessionState,
    version: u8,
    functional_units: FunctionalUnits,
    /// Initiator: CONNECT user data still to send in CDOs.
    overflow: Vec<u8>,
    /// Responder: the CN being collected or answered.
    pending_cn: Option<PendingConnect>,
    /// We sent an FN (no more data may be sent).
    fn_sent: bool,
    /// We received an FN (no more data may arrive).
    fn_received: bool,
}

#[derive(Debug, Clone)]
struct PendingConnect {
    indication: ConnectIndication,
}

fn ud(v: Vec<u8>) -> Option<Vec<u8>> {
    (!v.is_empty()).then_some(v)
}

fn ssel_or_empty(s: &Option<SSelector>) -> SSelector {
    s.clone().unwrap_or_default()
}

fn highest(v: VersionNumber) -> Option<u8> {
    v.versions().last().copied()
}

/// OIW SIA 9.3.8 table 2: the responding S-selector in force.
fn responding_in_force(called: &Option<SSelector>, responding: &Option<SSelector>) -> SSelector {
    let called = ssel_or_empty(called);
    match responding {
        Some(r) if !r.as_bytes().is_empty() => r.clone(),
        _ => called,
    }
}

/// OIW SIA 9.3.8 table 3: the calling S-selector in force, or `None` when invalid.
fn calling_in_force(cn: &Option<SSelector>, ac: &Option<SSelector>) -> Option<SSelector> {
    let cn = ssel_or_empty(cn);
    match ac {
        None => Some(cn),
        Some(a) if a.as_bytes().is_empty() => cn.as_bytes().is_empty().then_some(cn),
        Some(a) => (!cn.as_bytes().is_empty() && a == &cn).then_some(cn),
    }
}

impl SessionMachine {
    fn new(config: SessionConfig, role: SessionRole) -> Self {
        SessionMachine {
            config,
            role,
            state: SessionState::Idle,
            version: 2,
            functional_units: FunctionalUnits::DUPLEX,
            overflow: Vec::new(),
            pending_cn: None,
            fn_sent: false,
            fn_received: false,
        }
    }

    /// A machine that will send the CN.
    pub fn initiator(config: SessionConfig) -> Self {
        Self::new(config, SessionRole::Initiator)
    }

    /// A machine that waits for a CN.
    pub fn responder(config: SessionConfig) -> Self {
        Self::new(config, SessionRole::Responder)
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The role.
    pub fn role(&self) -> SessionRole {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether the machine is closed (the driver releases the transport after sending).
    pub fn is_closed(&self) -> bool {
        self.state == SessionState::Closed
    }

    /// The negotiated version (meaningful once connected).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The negotiated functional units (meaningful once connected).
    pub fn functional_units(&self) -> FunctionalUnits {
        self.functional_units
    }

    fn illegal(&self, primitive: SessionPrimitive) -> SessionError {
        SessionError::IllegalPrimitive {
            primitive,
            state: self.state,
        }
    }

    fn close(&mut self) {
        self.state = SessionState::Closed;
        self.overflow = Vec::new();
        self.pending_cn = None;
    }

    // ---------------------------------------------------------------------------------------
    // User primitives

    /// Initiator: S-CONNECT request. Returns the CN TSDU. With more than 10,240 octets of
    /// user data (version 2 only) the CN carries the first 10,240 with Data Overflow set and
    /// the rest follows in CDOs once the OA arrives ([`SessionEvent::Send`]).
    pub fn connect(&mut self, user_data: Vec<u8>) -> Result<Vec<u8>, SessionError> {
        if self.role != SessionRole::Initiator || self.state != SessionState::Idle {
            return Err(self.illegal(SessionPrimitive::Connect));
        }
        let versions = self.config.versions;
        let limit = if versions.offers(1) {
            MAX_BASIC_CONNECT_USER_DATA
        } else {
            self.config.max_connect_user_data
        };
        if user_data.len() > limit {
            return Err(SessionError::UserDataTooLong {
                len: user_data.len(),
                limit,
            });
        }
        let mut data = user_data;
        let rest = if data.len() > MAX_CONNECT_USER_DATA {
            data.split_off(MAX_CONNECT_USER_DATA)
        } else {
            Vec::new()
        };
        let cn = Connect {
            connect_accept: Some(ConnectAcceptItem {
                protocol_options: Some(ProtocolOptions(0)),
                version: Some(versions),
                ..ConnectAcceptItem::default()
            }),
            requirements: Some(FunctionalUnits::DUPLEX),
            calling_ssel: self.config.calling_ssel.clone(),
            called_ssel: self.config.called_ssel.clone(),
            data_overflow: (!rest.is_empty()).then_some(DataOverflow(1)),
            user_data: if data.is_empty() {
                None
            } else {
                Some(ConnectUserData::new(data)?)
            },
            ..Connect::default()
        };
        let bytes = Spdu::Connect(cn).to_bytes()?;
        self.state = if rest.is_empty() {
            SessionState::AwaitingAc
        } else {
            SessionState::AwaitingOa
        };
        self.overflow = rest;
        Ok(bytes)
    }

    /// Responder: S-CONNECT response (accepted). Returns the AC TSDU; the session connection
    /// is open.
    pub fn accept(&mut self, user_data: Vec<u8>) -> Result<Vec<u8>, SessionError> {
        let (SessionState::AwaitingConnectResponse, Some(p)) = (self.state, &self.pending_cn)
        else {
            return Err(self.illegal(SessionPrimitive::Accept));
        };
        let ind = &p.indication;
        let version = ind.version;
        if version == 1 && user_data.len() > MAX_BASIC_CONNECT_USER_DATA {
            return Err(SessionError::UserDataTooLong {
                len: user_data.len(),
                limit: MAX_BASIC_CONNECT_USER_DATA,
            });
        }
        let responding = match &self.config.responding_ssel {
            Some(r) => Some(r.clone()),
            None => (!ind.called_ssel.as_bytes().is_empty()).then(|| ind.called_ssel.clone()),
        };
        let ac = Accept {
            connect_accept: (version == 2).then(ConnectAcceptItem::rfc1698),
            requirements: Some(ind.functional_units),
            responding_ssel: responding,
            user_data: ud(user_data),
            ..Accept::default()
        };
        let bytes = Spdu::Accept(ac).to_bytes()?;
        self.version = version;
        self.functional_units = ind.functional_units;
        self.pending_cn = None;
        self.state = SessionState::Connected;
        Ok(bytes)
    }

    /// Responder: S-CONNECT response (rejected). Returns the RF TSDU (reason code with the
    /// user data after it); the machine is closed.
    pub fn refuse(
        &mut self,
        reason: RefuseReason,
        user_data: Vec<u8>,
    ) -> Result<Vec<u8>, SessionError> {
        if self.state != SessionState::AwaitingConnectResponse {
            return Err(self.illegal(SessionPrimitive::Refuse));
        }
        let bytes = refuse_tsdu(reason, user_data, None)?;
        self.close();
        Ok(bytes)
    }

    /// S-DATA request: `01 00 01 00` followed by the User Information. Allowed when
    /// connected, and after an FN was received as long as we have not sent one.
    pub fn send_data(&self, user_information: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.data_prefix()?;
        Ok(encode_data_tsdu(user_information))
    }

    /// The octets [`Self::send_data`] puts before the User Information (`01 00 01 00`: GIVE
    /// TOKENS and DATA TRANSFER without parameters), for a driver that writes the User
    /// Information from where it is instead of copying it behind them: the prefix followed
    /// by the User Information is exactly what [`Self::send_data`] gives. Allowed when
    /// [`Self::send_data`] is.
    pub fn data_prefix(&self) -> Result<[u8; 4], SessionError> {
        let ok = match self.state {
            SessionState::Connected => true,
            SessionState::AwaitingReleaseResponse => !self.fn_sent,
            _ => false,
        };
        if !ok {
            return Err(self.illegal(SessionPrimitive::Data));
        }
        Ok(DATA_PREFIX)
    }

    /// Where the User Information of a received data TSDU starts, when [`Self::on_tsdu`]
    /// would give exactly one [`SessionEvent::Data`] with the octets of `tsdu` from there to
    /// its end and change nothing else: `tsdu` starts with `01 00 01 00` (GIVE TOKENS and
    /// DATA TRANSFER without parameters, what every sender uses) and data is expected in
    /// the current state. A driver that owns the TSDU can then hand its User Information on
    /// without the copy [`Self::on_tsdu`] makes. `None` otherwise (call [`Self::on_tsdu`]).
    pub fn data_user_information_offset(&self, tsdu: &[u8]) -> Option<usize> {
        let expected = self.state == SessionState::Connected
            || (self.state == SessionState::AwaitingDn && !self.fn_received);
        (expected && tsdu.starts_with(&DATA_PREFIX)).then_some(DATA_PREFIX.len())
    }

    /// S-RELEASE request: the FN TSDU (no Transport Disconnect parameter: release).
    pub fn release_request(&mut self, user_data: Vec<u8>) -> Result<Vec<u8>, SessionError> {
        if self.state != SessionState::Connected {
            return Err(self.illegal(SessionPrimitive::ReleaseRequest));
        }
        let bytes = Spdu::Finish(Finish {
            user_data: ud(user_data),
            ..Finish::default()
        })
        .to_bytes()?;
        self.fn_sent = true;
        self.state = SessionState::AwaitingDn;
        Ok(bytes)
    }

    /// S-RELEASE response: the DN TSDU. After an FN, the machine is closed; in a collision
    /// it waits for the peer's DN unless that already arrived.
    pub fn release_response(&mut self, user_data: Vec<u8>) -> Result<Vec<u8>, SessionError> {
        let next = match self.state {
            SessionState::AwaitingReleaseResponse => SessionState::Closed,
            SessionState::ReleaseCollision => SessionState::AwaitingDn,
            _ => return Err(self.illegal(SessionPrimitive::ReleaseResponse)),
        };
        let bytes = Spdu::Disconnect(Disconnect {
            user_data: ud(user_data),
            ..Disconnect::default()
        })
        .to_bytes()?;
        if next == SessionState::Closed {
            self.close();
        } else {
            self.state = next;
        }
        Ok(bytes)
    }

    /// S-U-ABORT request: the AB TSDU (Transport Disconnect `03`, release + user abort, and
    /// the user data); the machine is closed.
    pub fn abort(&mut self, user_data: Vec<u8>) -> Result<Vec<u8>, SessionError> {
        if matches!(self.state, SessionState::Idle | SessionState::Closed) {
            return Err(self.illegal(SessionPrimitive::Abort));
        }
        let bytes = abort_tsdu(TransportDisconnect::RELEASE_USER_ABORT, ud(user_data))?;
        self.close();
        Ok(bytes)
    }

    /// Provider abort for a local failure: `19 03 11 01 09` (RFC 1698 6.8: release, no
    /// reason); the machine is closed.
    pub fn provider_abort(&mut self) -> Result<Vec<u8>, SessionError> {
        if matches!(self.state, SessionState::Idle | SessionState::Closed) {
            return Err(self.illegal(SessionPrimitive::ProviderAbort));
        }
        let bytes = abort_tsdu(TransportDisconnect::RELEASE_NO_REASON, None)?;
        self.close();
        Ok(bytes)
    }

    /// Provider abort for a protocol error found outside this machine, for instance by the
    /// transport below it (a malformed TPKT, an oversized TSDU): `19 03 11 01 05` (release,
    /// protocol error), the AB this machine sends itself for an invalid SPDU; the machine is
    /// closed. Like [`SessionMachine::provider_abort`], illegal when idle or closed
    /// ([`SessionPrimitive::ProviderAbort`]).
    pub fn protocol_abort(&mut self) -> Result<Vec<u8>, SessionError> {
        if matches!(self.state, SessionState::Idle | SessionState::Closed) {
            return Err(self.illegal(SessionPrimitive::ProviderAbort));
        }
        let bytes = abort_tsdu(TransportDisconnect(0x05), None)?;
        self.close();
        Ok(bytes)
    }

    /// The transport connection was lost: an abort indication unless already closed.
    pub fn on_transport_disconnect(&mut self) -> Vec<SessionEvent> {
        if self.state == SessionState::Closed {
            return Vec::new();
        }
        self.close();
        vec![SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::Peer {
                reason: AbortReason::Unspecified,
                transport_disconnect: None,
                abort_accept_sent: false,
            },
            user_data: None,
        })]
    }

    // ---------------------------------------------------------------------------------------
    // Received TSDUs

    /// A TSDU received from the transport: the events, in order (including TSDUs to send).
    ///
    /// Invalid input never fails this call: it is answered with a provider abort (see
    /// [`SessionMachine`]). Everything received once closed is ignored.
    pub fn on_tsdu(&mut self, tsdu: &[u8]) -> Result<Vec<SessionEvent>, SessionError> {
        if self.state == SessionState::Closed {
            return Ok(Vec::new());
        }
        let decoded = match decode_tsdu(tsdu) {
            Ok(d) => d,
            Err(e) => return self.protocol_error(ProtocolError::Undecodable(e)),
        };
        let user_information = decoded.user_information;
        let mut spdus = decoded.spdus.into_iter().map(|p| p.spdu);
        let (Some(first), second) = (spdus.next(), spdus.next()) else {
            return self.protocol_error(ProtocolError::Undecodable(DecodeError::new(
                guls_ber::Layer::Session,
                0,
                guls_ber::ErrorKind::Missing("SPDU"),
            )));
        };
        let main = match (first, second) {
            (Spdu::GiveTokens(_), Some(s)) => s,
            (f, _) => f,
        };
        let state = self.state;
        let unexpected = |spdu: &Spdu| ProtocolError::UnexpectedSpdu {
            spdu: spdu.name(),
            state,
        };
        match main {
            Spdu::Abort(ab) => Ok(self.on_abort(ab)),
            Spdu::Connect(cn)
                if state == SessionState::Idle && self.role == SessionRole::Responder =>
            {
                self.on_connect(cn)
            }
            Spdu::Accept(ac) if state == SessionState::AwaitingAc => self.on_accept(ac),
            Spdu::Refuse(rf)
                if matches!(state, SessionState::AwaitingAc | SessionState::AwaitingOa) =>
            {
                self.close();
                let (reason, user_data) = match rf.reason {
                    Some(ReasonCode { reason, user_data }) => (Some(reason), ud(user_data)),
                    None => (None, None),
                };
                Ok(vec![SessionEvent::Refused(RefuseIndication {
                    reason,
                    user_data,
                    version: rf.version,
                    transport_disconnect: rf.transport_disconnect,
                })])
            }
            Spdu::OverflowAccept(_) if state == SessionState::AwaitingOa => {
                let rest = std::mem::take(&mut self.overflow);
                let mut events = Vec::new();
                let mut chunks = rest.chunks(MAX_CONNECT_USER_DATA).peekable();
                while let Some(chunk) = chunks.next() {
                    let last = chunks.peek().is_none();
                    let cdo = Spdu::ConnectDataOverflow(ConnectDataOverflow {
                        enclosure: Some(EnclosureItem(if last { 0x02 } else { 0x00 })),
                        user_data: Some(chunk.to_vec()),
                        ..ConnectDataOverflow::default()
                    });
                    events.push(SessionEvent::Send(cdo.to_bytes()?));
                }
                self.state = SessionState::AwaitingAc;
                Ok(events)
            }
            Spdu::ConnectDataOverflow(cdo) if state == SessionState::AwaitingCdo => {
                self.on_cdo(cdo)
            }
            Spdu::DataTransfer(_)
                if state == SessionState::Connected
                    || (state == SessionState::AwaitingDn && !self.fn_received) =>
            {
                Ok(vec![SessionEvent::Data(user_information)])
            }
            Spdu::Finish(f) if state == SessionState::Connected => {
                self.fn_received = true;
                self.state = SessionState::AwaitingReleaseResponse;
                Ok(vec![SessionEvent::ReleaseIndication {
                    user_data: f.user_data,
                }])
            }
            Spdu::Finish(f) if state == SessionState::AwaitingDn && !self.fn_received => {
                self.fn_received = true;
                self.state = SessionState::ReleaseCollision;
                Ok(vec![SessionEvent::ReleaseIndication {
                    user_data: f.user_data,
                }])
            }
            Spdu::Disconnect(dn) if state == SessionState::AwaitingDn => {
                self.close();
                Ok(vec![SessionEvent::ReleaseConfirm {
                    user_data: dn.user_data,
                }])
            }
            Spdu::Disconnect(dn) if state == SessionState::ReleaseCollision => {
                self.state = SessionState::AwaitingReleaseResponse;
                Ok(vec![SessionEvent::ReleaseConfirm {
                    user_data: dn.user_data,
                }])
            }
            Spdu::NotFinished(nf) if state == SessionState::AwaitingDn && !self.fn_received => {
                self.fn_sent = false;
                self.state = SessionState::Connected;
                Ok(vec![SessionEvent::ReleaseRejected {
                    user_data: nf.user_data,
                }])
            }
            // A lone GT (no tokens exist with duplex only): nothing to do.
            Spdu::GiveTokens(_) if state == SessionState::Connected => Ok(Vec::new()),
            other => self.protocol_error(unexpected(&other)),
        }
    }

    fn protocol_error(&mut self, error: ProtocolError) -> Result<Vec<SessionEvent>, SessionError> {
        let ab = abort_tsdu(TransportDisconnect(0x05), None)?;
        self.close();
        Ok(vec![
            SessionEvent::Send(ab),
            SessionEvent::AbortIndication(AbortIndication {
                origin: AbortOrigin::ProtocolError(error),
                user_data: None,
            }),
        ])
    }

    fn on_abort(&mut self, ab: Abort) -> Vec<SessionEvent> {
        let keep = ab.transport_disconnect.is_some_and(|t| !t.released());
        let mut events = Vec::new();
        if keep {
            if let Ok(aa) = Spdu::AbortAccept(AbortAccept::default()).to_bytes() {
                events.push(SessionEvent::Send(aa));
            }
        }
        let reason = ab.reason();
        self.close();
        events.push(SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::Peer {
                reason,
                transport_disconnect: ab.transport_disconnect,
                abort_accept_sent: keep,
            },
            user_data: ab.user_data,
        }));
        events
    }

    fn reject(&mut self, why: ConnectRejection) -> Result<Vec<SessionEvent>, SessionError> {
        let version = matches!(why, ConnectRejection::NoCommonVersion { .. })
            .then_some(self.config.accept_versions);
        let rf = refuse_tsdu(why.refuse_reason(), Vec::new(), version)?;
        self.close();
        Ok(vec![
            SessionEvent::Send(rf),
            SessionEvent::ConnectRejected(why),
        ])
    }

    fn on_connect(&mut self, mut cn: Connect) -> Result<Vec<SessionEvent>, SessionError> {
        let proposed_versions = cn
            .connect_accept
            .as_ref()
            .and_then(|c| c.version)
            .unwrap_or(VersionNumber::V1);
        let proposed_fu = cn.effective_requirements();
        let overflow = cn.data_overflow.is_some_and(DataOverflow::more_data);
        let common = VersionNumber(proposed_versions.0 & self.config.accept_versions.0 & 0x03);
        let version = if overflow {
            common.offers(2).then_some(2)
        } else {
            highest(common)
        };
        let Some(version) = version else {
            return self.reject(ConnectRejection::NoCommonVersion {
                proposed: proposed_versions,
            });
        };
        if !proposed_fu.contains(FunctionalUnits::DUPLEX) {
            return self.reject(ConnectRejection::DuplexNotProposed {
                proposed: proposed_fu,
            });
        }
        let user_data = cn.user_data.take().map(ConnectUserData::into_bytes);
        let limit = self.config.max_connect_user_data;
        if user_data.as_ref().map_or(0, Vec::len) > limit {
            return self.reject(ConnectRejection::ConnectDataTooLong { limit });
        }
        let indication = ConnectIndication {
            calling_ssel: cn.calling_ssel.take().unwrap_or_default(),
            called_ssel: cn.called_ssel.take().unwrap_or_default(),
            versions_proposed: proposed_versions,
            version,
            requirements_proposed: proposed_fu,
            functional_units: proposed_fu.intersection(FunctionalUnits::DUPLEX),
            connection_identifier: cn.connection_identifier.clone(),
            tsdu_maximum_size: cn.tsdu_maximum_size(),
            user_data,
        };
        if overflow {
            let oa = Spdu::OverflowAccept(OverflowAccept {
                version: Some(VersionNumber::V2),
                ..OverflowAccept::default()
            })
            .to_bytes()?;
            self.pending_cn = Some(PendingConnect { indication });
            self.state = SessionState::AwaitingCdo;
            Ok(vec![SessionEvent::Send(oa)])
        } else {
            self.pending_cn = Some(PendingConnect {
                indication: indication.without_user_data(),
            });
            self.state = SessionState::AwaitingConnectResponse;
            Ok(vec![SessionEvent::ConnectIndication(indication)])
        }
    }

    fn on_cdo(&mut self, cdo: ConnectDataOverflow) -> Result<Vec<SessionEvent>, SessionError> {
        let limit = self.config.max_connect_user_data;
        let Some(p) = self.pending_cn.as_mut() else {
            return self.protocol_error(ProtocolError::UnexpectedSpdu {
                spdu: "CDO",
                state: self.state,
            });
        };
        let piece = cdo.user_data.unwrap_or_default();
        let have = p.indication.user_data.as_ref().map_or(0, Vec::len);
        if have.saturating_add(piece.len()) > limit {
            return self.reject(ConnectRejection::ConnectDataTooLong { limit });
        }
        p.indication
            .user_data
            .get_or_insert_with(Vec::new)
            .extend_from_slice(&piece);
        // An absent Enclosure Item means the CDO is the only (so the last) one.
        if cdo.enclosure.is_none_or(EnclosureItem::end) {
            // The indication takes the reassembled data; what stays pending (for the
            // response) needs none of it.
            let pending = p.indication.without_user_data();
            let indication = std::mem::replace(&mut p.indication, pending);
            self.state = SessionState::AwaitingConnectResponse;
            return Ok(vec![SessionEvent::ConnectIndication(indication)]);
        }
        Ok(Vec::new())
    }

    fn on_accept(&mut self, ac: Accept) -> Result<Vec<SessionEvent>, SessionError> {
        let selected_v = ac
            .connect_accept
            .as_ref()
            .and_then(|c| c.version)
            .unwrap_or(VersionNumber::V1);
        let common = VersionNumber(selected_v.0 & self.config.versions.0 & 0x03);
        let Some(version) = highest(common) else {
            return self.protocol_error(ProtocolError::VersionNotProposed {
                selected: selected_v,
            });
        };
        let selected = ac.effective_requirements();
        if !selected.contains(FunctionalUnits::DUPLEX) {
            return self.protocol_error(ProtocolError::DuplexNotSelected { selected });
        }
        let Some(calling_ssel) = calling_in_force(&self.config.calling_ssel, &ac.calling_ssel)
        else {
            return self.protocol_error(ProtocolError::InvalidCallingSelector);
        };
        let responding_ssel = responding_in_force(&self.config.called_ssel, &ac.responding_ssel);
        self.version = version;
        self.functional_units = selected.intersection(FunctionalUnits::DUPLEX);
        self.state = SessionState::Connected;
        Ok(vec![SessionEvent::ConnectConfirm(ConnectConfirm {
            version,
            functional_units: self.functional_units,
            responding_ssel,
            calling_ssel,
            user_data: ac.user_data,
        })])
    }
}

fn refuse_tsdu(
    reason: RefuseReason,
    user_data: Vec<u8>,
    version: Option<VersionNumber>,
) -> Result<Vec<u8>, EncodeError> {
    Spdu::Refuse(Refuse {
        version,
        reason: Some(ReasonCode { reason, user_data }),
        ..Refuse::default()
    })
    .to_bytes()
}

fn abort_tsdu(td: TransportDisconnect, user_data: Option<Vec<u8>>) -> Result<Vec<u8>, EncodeError> {
    Spdu::Abort(Abort {
        transport_disconnect: Some(td),
        user_data,
        ..Abort::default()
    })
    .to_bytes()
}
