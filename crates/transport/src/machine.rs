//! The sans-IO class 0 transport protocol machine (RFC 1006 over TCP, ISO 8073 class 0).
//!
//! See [`TransportConnection`] for the primitives, the states and the decisions taken.

use crate::cotp::{
    ConnectTpdu, DT_FRAME_HEADER_LEN, DisconnectReason, DisconnectTpdu, RejectCause, Tpdu,
    TpduSize, TransportClass, data_frame_layout, decode_frame, encode_data_frames, encode_frame,
    plain_dt,
};
use crate::error::EncodeError;
use crate::tpkt::{MAX_TPKT_LEN, MAX_TPKT_PAYLOAD, TPKT_HEADER_LEN, TPKT_VERSION, next_frame};
use guls_ber::DecodeError;
use std::io::IoSliceMut;

/// Default for [`TransportConfig::max_tsdu_size`]: 1 MiB.
pub const DEFAULT_MAX_TSDU_SIZE: usize = 1 << 20;

/// Where a TSDU's header ends and the value that runs to its end begins, as a
/// [`HeadSplitter`] reads them from the TSDU's first DT segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadSplit {
    /// Octets of header at the start of the TSDU (at least one, all in the first segment).
    pub head_len: usize,
    /// The whole TSDU's length, as that header declares it.
    pub total_len: usize,
}

/// Reads a [`HeadSplit`] from the first DT segment of a TSDU, or `None` for a TSDU of any
/// other shape. Installed with [`TransportConnection::set_head_splitter`] by the layers
/// above, which know what a data TSDU's header looks like; the transport only trusts it as
/// far as the octets that then arrive agree (see [`TransportEvent::SplitData`]).
///
/// It may be given only the first octets of the segment (those received so far): it must
/// answer `None` when they do not suffice to tell, and otherwise what it answers for the
/// whole segment (an answer whose `head_len` lies beyond the octets given is not used).
pub type HeadSplitter = fn(&[u8]) -> Option<HeadSplit>;

/// The smallest value worth a split: below it, moving the value within one buffer later
/// costs less than the second allocation.
const MIN_SPLIT_BODY: usize = 512;

/// The most reserved for a split value before its octets arrive, unless the last TSDU was
/// larger: a header may claim up to [`TransportConfig::max_tsdu_size`], and reservations stay
/// in proportion to what was received.
const SPLIT_RESERVE: usize = 64 * 1024;

/// Most value buffers a machine keeps for reuse ([`TransportConnection::recycle`]).
pub const MAX_RECYCLED: usize = 4;

/// The largest capacity of a split TSDU's head kept for reuse
/// ([`TransportConnection::recycle_head`]).
pub const MAX_RECYCLED_HEAD: usize = 256;

/// The smallest capacity of a buffer worth keeping for reuse ([`TransportConnection::recycle`]).
pub const MIN_RECYCLED_CAPACITY: usize = 4096;

/// Configuration of a [`TransportConnection`] (both roles; each uses the fields it needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// The largest TPDU proposed (initiator) or accepted (responder). Default 8192 octets.
    pub max_tpdu_size: TpduSize,
    /// The largest TSDU reassembled from received DTs. Default [`DEFAULT_MAX_TSDU_SIZE`].
    pub max_tsdu_size: usize,
    /// Initiator: calling T-selector sent in the CR (`C1`).
    pub calling_tsel: Option<Vec<u8>>,
    /// Initiator: called T-selector sent in the CR (`C2`). Responder: when set, the
    /// responding T-selector sent in the CC; when `None` the CR's called selector is echoed.
    pub called_tsel: Option<Vec<u8>>,
    /// Our reference: SRC-REF of the CR (initiator) or CC (responder).
    pub src_ref: u16,
    /// Send a DR (reason normal) from [`TransportConnection::disconnect`] on an open
    /// connection. Default `false`: class 0 releases by closing TCP.
    pub send_dr_on_disconnect: bool,
    /// The largest TPKT accepted from the peer, header included. A TPKT header declaring
    /// more is a [`TransportError::Decode`] at once, before its octets are awaited. Default
    /// [`MAX_TPKT_LEN`] (65,535: any TPKT, whatever TPDU size was negotiated); larger values
    /// act as [`MAX_TPKT_LEN`]. A driver that wants the stream buffer bounded by the
    /// negotiated size sets `max_tpdu_size.octets() + 4`.
    pub max_tpkt_len: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            max_tpdu_size: TpduSize::S8192,
            max_tsdu_size: DEFAULT_MAX_TSDU_SIZE,
            calling_tsel: None,
            called_tsel: None,
            src_ref: 1,
            send_dr_on_disconnect: false,
            max_tpkt_len: MAX_TPKT_LEN,
        }
    }
}

/// Which side of the transport connection a machine plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportRole {
    /// Sends the CR.
    Initiator,
    /// Receives the CR.
    Responder,
}

/// The state of a [`TransportConnection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportState {
    /// Initiator before [`TransportConnection::connect`].
    Idle,
    /// Initiator: CR sent, waiting for the CC.
    AwaitingCc,
    /// Responder: waiting for the CR.
    AwaitingCr,
    /// Responder: CR received and indicated; waiting for [`TransportConnection::accept`] or
    /// [`TransportConnection::refuse`].
    AwaitingConnectResponse,
    /// Data transfer.
    Connected,
    /// Released, refused, disconnected or failed; nothing more is sent or accepted.
    Closed,
}

/// A user call on a [`TransportConnection`], named in [`TransportError::IllegalCall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportCall {
    /// [`TransportConnection::connect`].
    Connect,
    /// [`TransportConnection::accept`].
    Accept,
    /// [`TransportConnection::refuse`].
    Refuse,
    /// [`TransportConnection::send_tsdu`].
    SendTsdu,
    /// [`TransportConnection::disconnect`].
    Disconnect,
    /// [`TransportConnection::on_bytes`].
    OnBytes,
}

/// A CR received by a responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectIndication {
    /// Calling T-selector (`C1`), if present.
    pub calling_tsel: Option<Vec<u8>>,
    /// Called T-selector (`C2`), if present.
    pub called_tsel: Option<Vec<u8>>,
    /// The TPDU size proposed (the 128-octet default when the CR has none).
    pub proposed_tpdu_size: TpduSize,
    /// The preferred class of the CR (the CC always selects class 0).
    pub proposed_class: TransportClass,
    /// The peer's reference (SRC-REF of the CR).
    pub remote_ref: u16,
}

/// The outcome of a CC received by the initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectConfirm {
    /// The TPDU size in force for sending.
    pub tpdu_size: TpduSize,
    /// The calling T-selector echoed in the CC (`C1`), if present.
    pub calling_tsel: Option<Vec<u8>>,
    /// The responding T-selector (`C2` of the CC), if present.
    pub responding_tsel: Option<Vec<u8>>,
    /// The peer's reference (SRC-REF of the CC).
    pub remote_ref: u16,
}

/// Why a transport connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectCause {
    /// A DR was received (in answer to our CR it is a refusal).
    DisconnectRequest {
        /// Its reason.
        reason: DisconnectReason,
        /// Its additional information (`E0`), if any.
        additional_information: Option<Vec<u8>>,
    },
    /// An ER was received.
    ErrorTpdu {
        /// Its reject cause.
        cause: RejectCause,
    },
    /// The network connection (TCP) was closed ([`TransportConnection::on_close`]).
    NetworkClosed,
}

/// What the machine reports from received octets or a TCP close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// Responder: a CR arrived; answer with [`TransportConnection::accept`] or
    /// [`TransportConnection::refuse`].
    ConnectIndication(ConnectIndication),
    /// Initiator: the CC arrived; the connection is open.
    Connected(ConnectConfirm),
    /// A complete TSDU (DT segments up to EOT).
    Data(Vec<u8>),
    /// A complete TSDU in two parts, given only when a [`HeadSplitter`] is installed: its
    /// header (`head`, what the splitter measured in the first segment) and the rest
    /// (`body`), reassembled into a buffer of its own so that the value lands at offset 0
    /// without being moved. `head.len() + body.len()` is the length the header declared; a
    /// TSDU that turns out otherwise is given whole, as [`TransportEvent::Data`].
    SplitData {
        /// The first `head_len` octets of the TSDU.
        head: Vec<u8>,
        /// The remaining octets.
        body: Vec<u8>,
    },
    /// The connection ended; the machine is [`TransportState::Closed`].
    Disconnected(DisconnectCause),
}

/// Why a call or received input failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Malformed TPKT or TPDU (the error names [`guls_ber::Layer::Tpkt`] or
    /// [`guls_ber::Layer::Cotp`]). The machine is closed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A received TSDU would exceed [`TransportConfig::max_tsdu_size`]. The machine is closed.
    #[error("received TSDU exceeds the limit of {limit} octets")]
    TsduTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A TPDU arrived that is not allowed in the current state. The machine is closed.
    #[error("{tpdu} TPDU not allowed in state {state:?}")]
    UnexpectedTpdu {
        /// The TPDU's abbreviation.
        tpdu: &'static str,
        /// The state it arrived in.
        state: TransportState,
    },
    /// The CC selected a class other than 0. The machine is closed.
    #[error("CC selected transport class {}, only class 0 is supported", .class.number())]
    ClassNotSupported {
        /// The class selected.
        class: TransportClass,
    },
    /// A user call not allowed in the current state; nothing changed.
    #[error("{call:?} not allowed in state {state:?}")]
    IllegalCall {
        /// The call.
        call: TransportCall,
        /// The state it was made in.
        state: TransportState,
    },
    /// A TPDU could not be encoded (for instance a T-selector longer than 255 octets);
    /// nothing changed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// The sans-IO class 0 transport protocol machine (RFC 1006 over TCP, ISO 8073 class 0).
///
/// [`TransportConnection`] takes stream octets in ([`TransportConnection::on_bytes`]) and user
/// calls ([`TransportConnection::connect`], [`TransportConnection::accept`],
/// [`TransportConnection::send_tsdu`], ...) and gives events and octets to write out. It owns
/// no socket, clock or task: the driver reads TCP, feeds the octets, writes what the calls
/// return and closes TCP when the machine says the connection is over.
///
/// # Decisions
///
/// * **TPDU size.** ISO 8073 limits class 0 to 128..2048 octets, but libiec61850 proposes
///   8192 (`c0 01 0d`, PEERS.md 1.6) and expects it to be accepted. The initiator proposes
///   [`TransportConfig::max_tpdu_size`] (default 8192, like libiec61850). The responder accepts
///   any proposal (codes are clamped to 7..=13 by the codec) and answers with
///   `min(proposed, max_tpdu_size)`; when the CR has no size parameter the 128-octet default
///   applies and the CC carries none. The initiator uses `min(proposed, selected)`, where a CC
///   without a size parameter selects the 128-octet default. Received DTs are accepted up to a
///   whole TPKT (65,535 octets) whatever was negotiated (lenient in, strict out), unless
///   [`TransportConfig::max_tpkt_len`] sets a lower limit.
/// * **Reassembly.** DT segments are collected until EOT; a TSDU longer than
///   [`TransportConfig::max_tsdu_size`] is a [`TransportError::TsduTooLarge`], checked before
///   the segment is buffered. The stream buffer never holds more than one TPKT
///   ([`TransportConnection::buffered_frame_len`] at most
///   [`TransportConfig::max_tpkt_len`]), and the reassembly buffer never more than
///   [`TransportConfig::max_tsdu_size`] ([`TransportConnection::buffered_tsdu_len`]).
/// * **Bounded steps.** [`TransportConnection::on_bytes`] consumes all its input;
///   [`TransportConnection::feed`] stops at the first event and says how much it consumed,
///   so a driver with back-pressure can stop processing (and reading) while its user is
///   busy.
/// * **Release.** Class 0 has no DR-based release: the transport connection ends when the
///   network connection (TCP) is closed. [`TransportConnection::disconnect`] therefore returns
///   no octets unless [`TransportConfig::send_dr_on_disconnect`] asks for a DR (reason
///   normal), which some ISODE-derived stacks send. A received DR or ER, and a TCP close
///   ([`TransportConnection::on_close`]), all end the connection with
///   [`TransportEvent::Disconnected`].
/// * **Errors.** Malformed input (TPKT or COTP) and TPDUs that are not allowed in the current
///   state are returned as a [`TransportError`]; the machine is then [`TransportState::Closed`]
///   and the driver closes TCP (class 0 treats protocol errors by releasing the network
///   connection). Events produced earlier in the same call are dropped with it. When the
///   connection was open at the time, one last TSDU (typically a session ABORT) can still
///   be encoded with [`TransportConnection::send_final_tsdu`] before TCP is closed.
#[derive(Debug, Clone)]
pub struct TransportConnection {
    config: TransportConfig,
    role: TransportRole,
    state: TransportState,
    /// Octets of the TPKT being received (never more than one TPKT).
    rx: Vec<u8>,
    /// DT user data of the TSDU being reassembled (after `head`, when it is split).
    tsdu: Vec<u8>,
    /// The header of the TSDU being reassembled in two parts; empty otherwise.
    head: Vec<u8>,
    /// The declared length of the TSDU being reassembled in two parts.
    split_total: usize,
    /// The value of the TSDU being reassembled in two parts: initialized octets, of which
    /// the first `filled` were received (the rest is initialized room, for instance of a
    /// recycled buffer, so that reads can go straight into it).
    value: Vec<u8>,
    /// Octets of `value` received.
    filled: usize,
    /// Payload octets still to come of the DT being received into `value` (its header was
    /// read; its payload is written into the value as it arrives, not held in `rx`).
    dt_left: usize,
    /// Whether that DT has EOT.
    dt_eot: bool,
    /// Whether the last TSDU received was split (a hint that the next one will be too).
    last_split: bool,
    /// Buffers handed back for reuse as values ([`Self::recycle`]).
    pool: Vec<Vec<u8>>,
    /// Splits data TSDUs into header and value while reassembling them.
    splitter: Option<HeadSplitter>,
    /// Length of the last TSDU reassembled from several DTs: the reassembly buffer of the
    /// next one is reserved that large at its first DT (at most
    /// [`TransportConfig::max_tsdu_size`]), so that it does not grow by doubling.
    tsdu_hint: usize,
    /// The size used to segment sent TSDUs.
    tpdu_size: TpduSize,
    remote_ref: u16,
    /// Responder: the CR being answered.
    pending_cr: Option<ConnectTpdu>,
    /// Closed by a receive error while connected: one final TSDU may still be sent.
    final_tsdu_allowed: bool,
}

impl TransportConnection {
    fn new(config: TransportConfig, role: TransportRole, state: TransportState) -> Self {
        TransportConnection {
            config,
            role,
            state,
            rx: Vec::new(),
            tsdu: Vec::new(),
            head: Vec::new(),
            split_total: 0,
            value: Vec::new(),
            filled: 0,
            dt_left: 0,
            dt_eot: false,
            last_split: false,
            pool: Vec::new(),
            splitter: None,
            tsdu_hint: 0,
            tpdu_size: TpduSize::DEFAULT,
            remote_ref: 0,
            pending_cr: None,
            final_tsdu_allowed: false,
        }
    }

    /// A machine that will send the CR ([`TransportState::Idle`]).
    pub fn initiator(config: TransportConfig) -> Self {
        Self::new(config, TransportRole::Initiator, TransportState::Idle)
    }

    /// A machine waiting for a CR on an accepted TCP connection
    /// ([`TransportState::AwaitingCr`]).
    pub fn responder(config: TransportConfig) -> Self {
        Self::new(config, TransportRole::Responder, TransportState::AwaitingCr)
    }

    /// The configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// The role.
    pub fn role(&self) -> TransportRole {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> TransportState {
        self.state
    }

    /// Whether the connection is closed (the driver should close TCP).
    pub fn is_closed(&self) -> bool {
        self.state == TransportState::Closed
    }

    /// The TPDU size used to segment sent TSDUs (meaningful once connected).
    pub fn tpdu_size(&self) -> TpduSize {
        self.tpdu_size
    }

    fn illegal(&self, call: TransportCall) -> TransportError {
        TransportError::IllegalCall {
            call,
            state: self.state,
        }
    }

    /// Octets of a partly received TPKT held by the machine (at most
    /// [`TransportConfig::max_tpkt_len`]). Together with [`Self::buffered_tsdu_len`], all the
    /// received octets the machine holds.
    pub fn buffered_frame_len(&self) -> usize {
        self.rx.len()
    }

    /// Octets of a partly reassembled TSDU (DT segments without EOT yet) held by the
    /// machine (at most [`TransportConfig::max_tsdu_size`]).
    pub fn buffered_tsdu_len(&self) -> usize {
        self.head.len() + self.tsdu.len() + self.filled
    }

    /// Installs `splitter`: from now on, a TSDU whose first segment it recognises is
    /// delivered as [`TransportEvent::SplitData`] (when its value is at least 512 octets).
    pub fn set_head_splitter(&mut self, splitter: HeadSplitter) {
        self.splitter = Some(splitter);
    }

    fn close(&mut self) {
        self.state = TransportState::Closed;
        self.rx = Vec::new();
        self.tsdu = Vec::new();
        self.head = Vec::new();
        self.value = Vec::new();
        self.filled = 0;
        self.dt_left = 0;
        self.pool = Vec::new();
        self.pending_cr = None;
        self.final_tsdu_allowed = false;
    }

    /// Closes the machine on a receive error, remembering whether it was open.
    fn fail(&mut self) {
        let open = self.state == TransportState::Connected;
        self.close();
        self.final_tsdu_allowed = open;
    }

    /// Initiator: the CR to send (one TPKT); the state becomes [`TransportState::AwaitingCc`].
    pub fn connect(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.state != TransportState::Idle {
            return Err(self.illegal(TransportCall::Connect));
        }
        let mut cr = ConnectTpdu::class0(0, self.config.src_ref);
        cr.tpdu_size = Some(self.config.max_tpdu_size);
        cr.calling_tsel = self.config.calling_tsel.clone();
        cr.called_tsel = self.config.called_tsel.clone();
        let mut out = Vec::new();
        encode_frame(&Tpdu::Cr(cr), &mut out)?;
        self.state = TransportState::AwaitingCc;
        Ok(out)
    }

    /// Responder: the CC answering the indicated CR (one TPKT); the connection is open.
    ///
    /// The CC selects class 0, echoes the CR's calling T-selector, carries the responding
    /// T-selector ([`TransportConfig::called_tsel`] or the CR's called one) and the size
    /// `min(proposed, max_tpdu_size)` when the CR proposed one.
    pub fn accept(&mut self) -> Result<Vec<u8>, TransportError> {
        let (TransportState::AwaitingConnectResponse, Some(cr)) = (self.state, &self.pending_cr)
        else {
            return Err(self.illegal(TransportCall::Accept));
        };
        let mut cc = ConnectTpdu::class0(cr.src_ref, self.config.src_ref);
        let size = cr.effective_tpdu_size().min(self.config.max_tpdu_size);
        cc.tpdu_size = cr.tpdu_size.map(|_| size);
        cc.calling_tsel = cr.calling_tsel.clone();
        cc.called_tsel = self
            .config
            .called_tsel
            .clone()
            .or_else(|| cr.called_tsel.clone());
        let mut out = Vec::new();
        encode_frame(&Tpdu::Cc(cc), &mut out)?;
        self.tpdu_size = size;
        self.pending_cr = None;
        self.state = TransportState::Connected;
        Ok(out)
    }

    /// Responder: the DR refusing the indicated CR (one TPKT, SRC-REF 0); the machine is
    /// closed and the driver closes TCP after writing it.
    pub fn refuse(&mut self, reason: DisconnectReason) -> Result<Vec<u8>, TransportError> {
        let (TransportState::AwaitingConnectResponse, Some(cr)) = (self.state, &self.pending_cr)
        else {
            return Err(self.illegal(TransportCall::Refuse));
        };
        let dr = disconnect_tpdu(cr.src_ref, 0, reason);
        let mut out = Vec::new();
        encode_frame(&Tpdu::Dr(dr), &mut out)?;
        self.close();
        Ok(out)
    }

    /// The DT TPKTs carrying `tsdu`, concatenated (write them with one call), segmented by
    /// the negotiated TPDU size with EOT on the last. An empty TSDU gives one empty DT.
    pub fn send_tsdu(&self, tsdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.state != TransportState::Connected {
            return Err(self.illegal(TransportCall::SendTsdu));
        }
        let mut out = Vec::new();
        encode_data_frames(tsdu, self.tpdu_size, &mut out);
        Ok(out)
    }

    /// The framing of a TSDU of `tsdu_len` octets, for a driver that writes the TSDU's octets
    /// from where they are (vectored writes) instead of copying them into one buffer: per DT
    /// TPKT, its 7 header octets and the range of the TSDU it carries. Writing each header
    /// followed by its range of the TSDU gives exactly the octets of [`Self::send_tsdu`]
    /// (the same segmentation by the negotiated TPDU size, EOT on the last; an empty TSDU
    /// gives one header with an empty range). Allowed when [`Self::send_tsdu`] is.
    pub fn data_frames_for(
        &self,
        tsdu_len: usize,
    ) -> Result<
        impl Iterator<Item = ([u8; DT_FRAME_HEADER_LEN], std::ops::Range<usize>)> + use<>,
        TransportError,
    > {
        if self.state != TransportState::Connected {
            return Err(self.illegal(TransportCall::SendTsdu));
        }
        Ok(data_frame_layout(tsdu_len, self.tpdu_size))
    }

    /// After the machine closed itself on a receive error (an `Err` from
    /// [`Self::on_bytes`] or [`Self::feed`]) while the connection was open: the DT TPKTs of
    /// one last TSDU, typically a session ABORT, to write before closing TCP. Allowed once;
    /// otherwise (including while connected: use [`Self::send_tsdu`]) an
    /// [`TransportError::IllegalCall`].
    pub fn send_final_tsdu(&mut self, tsdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if !self.final_tsdu_allowed {
            return Err(self.illegal(TransportCall::SendTsdu));
        }
        self.final_tsdu_allowed = false;
        let mut out = Vec::new();
        encode_data_frames(tsdu, self.tpdu_size, &mut out);
        Ok(out)
    }

    /// Ends the connection from our side: the octets to write before closing TCP (a DR when
    /// connected and [`TransportConfig::send_dr_on_disconnect`] is set, otherwise none).
    /// The machine is closed.
    pub fn disconnect(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.state == TransportState::Closed {
            return Err(self.illegal(TransportCall::Disconnect));
        }
        let mut out = Vec::new();
        if self.state == TransportState::Connected && self.config.send_dr_on_disconnect {
            let dr = disconnect_tpdu(
                self.remote_ref,
                self.config.src_ref,
                DisconnectReason::Normal,
            );
            encode_frame(&Tpdu::Dr(dr), &mut out)?;
        }
        self.close();
        Ok(out)
    }

    /// TCP was closed by the peer or failed: a [`TransportEvent::Disconnected`] unless the
    /// machine was already closed. Any partial TPKT or TSDU is discarded.
    pub fn on_close(&mut self) -> Vec<TransportEvent> {
        if self.state == TransportState::Closed {
            return Vec::new();
        }
        self.close();
        vec![TransportEvent::Disconnected(DisconnectCause::NetworkClosed)]
    }

    /// Octets read from TCP, in any chunking: the events of every complete TPKT.
    ///
    /// Octets after a DR or ER are ignored, as is everything once the machine is closed.
    /// An error closes the machine.
    pub fn on_bytes(&mut self, mut input: &[u8]) -> Result<Vec<TransportEvent>, TransportError> {
        let mut events = Vec::new();
        loop {
            let (used, event) = self.feed(input)?;
            input = input.get(used..).unwrap_or_default();
            match event {
                Some(e) => events.push(e),
                None => return Ok(events),
            }
        }
    }

    /// Like [`Self::on_bytes`], but stops at the first event: returns how many octets of
    /// `input` were consumed and the event, if a TPKT completed with one. Without an event
    /// all of `input` was consumed (buffered as a partial TPKT or TSDU). Once the machine
    /// is closed (also by a DR or ER in this call) the rest of `input` counts as consumed
    /// and is ignored. An error closes the machine.
    ///
    /// A driver that feeds its read buffer through this and stops on each event holds at
    /// most its own unconsumed octets plus [`Self::buffered_frame_len`] and
    /// [`Self::buffered_tsdu_len`].
    pub fn feed(
        &mut self,
        mut input: &[u8],
    ) -> Result<(usize, Option<TransportEvent>), TransportError> {
        match self.state {
            TransportState::Closed => return Ok((input.len(), None)),
            TransportState::Idle => return Err(self.illegal(TransportCall::OnBytes)),
            _ => {}
        }
        let total = input.len();
        let limit = self.config.max_tpkt_len;
        loop {
            // The payload of a DT whose header was read goes straight into the value.
            if self.dt_left > 0 {
                let take = self.dt_left.min(input.len());
                if take == 0 {
                    break;
                }
                let (part, rest) = input.split_at(take);
                self.write_value(part);
                self.dt_left -= take;
                input = rest;
                if self.dt_left == 0 && self.dt_eot {
                    let event = self.finish_split();
                    return Ok((total - input.len(), Some(event)));
                }
                continue;
            }
            // Fast path: a complete TPKT at the head of the input, with no partial one held,
            // is processed where it is instead of being copied into the frame buffer first.
            if self.rx.is_empty()
                && let Ok(Some(len)) = next_frame(input, limit)
            {
                let (frame, rest) = input.split_at(len);
                input = rest;
                let mut event = None;
                if let Err(e) = self.on_frame(frame, &mut event) {
                    self.fail();
                    return Err(e);
                }
                if self.state == TransportState::Closed {
                    return Ok((total, event));
                }
                if event.is_some() {
                    return Ok((total - input.len(), event));
                }
                continue;
            }
            // A partial DT of a value (or the first of one): its header is taken and its
            // payload goes into the value as it arrives, instead of waiting in `rx`.
            if self.rx.is_empty()
                && let Some(used) = self.stream_dt(input)
            {
                input = input.get(used..).unwrap_or_default();
                continue;
            }
            let need = match next_frame(&self.rx, limit) {
                Err(e) => {
                    self.fail();
                    return Err(TransportError::Decode(e));
                }
                Ok(Some(_)) => {
                    let mut frame = std::mem::take(&mut self.rx);
                    let mut event = None;
                    if let Err(e) = self.on_frame(&frame, &mut event) {
                        self.fail();
                        return Err(e);
                    }
                    if self.state != TransportState::Closed {
                        // Keep the frame buffer's allocation for the next partial TPKT.
                        frame.clear();
                        self.rx = frame;
                    }
                    if self.state == TransportState::Closed {
                        return Ok((total, event));
                    }
                    if event.is_some() {
                        return Ok((total - input.len(), event));
                    }
                    continue;
                }
                Ok(None) => {
                    if self.rx.len() >= DT_FRAME_HEADER_LEN && self.stream_rx() {
                        continue;
                    }
                    match self.rx.get(2..4) {
                        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
                        _ => TPKT_HEADER_LEN,
                    }
                }
            };
            let take = need.saturating_sub(self.rx.len()).min(input.len());
            if take == 0 {
                break;
            }
            let (head, rest) = input.split_at(take);
            self.rx.extend_from_slice(head);
            input = rest;
        }
        Ok((total - input.len(), None))
    }

    fn on_frame(
        &mut self,
        frame: &[u8],
        event: &mut Option<TransportEvent>,
    ) -> Result<(), TransportError> {
        // A plain class 0 DT while connected (the data phase's every TPKT): its user data is
        // used where it is. `frame` is one whole TPKT, as `decode_frame` requires.
        if self.state == TransportState::Connected
            && let Some((eot, user_data)) = frame.get(TPKT_HEADER_LEN..).and_then(plain_dt)
        {
            self.on_dt(eot, user_data, event)?;
            return Ok(());
        }
        let tpdu = decode_frame(frame)?;
        match (self.state, tpdu) {
            (TransportState::AwaitingCr, Tpdu::Cr(cr)) => {
                self.remote_ref = cr.src_ref;
                *event = Some(TransportEvent::ConnectIndication(ConnectIndication {
                    calling_tsel: cr.calling_tsel.clone(),
                    called_tsel: cr.called_tsel.clone(),
                    proposed_tpdu_size: cr.effective_tpdu_size(),
                    proposed_class: cr.class,
                    remote_ref: cr.src_ref,
                }));
                self.pending_cr = Some(cr);
                self.state = TransportState::AwaitingConnectResponse;
            }
            (TransportState::AwaitingCc, Tpdu::Cc(cc)) => {
                if cc.class != TransportClass::Class0 {
                    return Err(TransportError::ClassNotSupported { class: cc.class });
                }
                self.tpdu_size = self.config.max_tpdu_size.min(cc.effective_tpdu_size());
                self.remote_ref = cc.src_ref;
                self.state = TransportState::Connected;
                *event = Some(TransportEvent::Connected(ConnectConfirm {
                    tpdu_size: self.tpdu_size,
                    calling_tsel: cc.calling_tsel,
                    responding_tsel: cc.called_tsel,
                    remote_ref: cc.src_ref,
                }));
            }
            (TransportState::Connected, Tpdu::Dt(dt)) => {
                if dt.eot && self.buffered_tsdu_len() == 0 && self.splitter.is_none() {
                    let limit = self.config.max_tsdu_size;
                    if dt.user_data.len() > limit {
                        return Err(TransportError::TsduTooLarge { limit });
                    }
                    *event = Some(TransportEvent::Data(dt.user_data));
                } else {
                    self.on_dt(dt.eot, &dt.user_data, event)?;
                }
            }
            (_, Tpdu::Dr(dr)) => {
                self.close();
                *event = Some(TransportEvent::Disconnected(
                    DisconnectCause::DisconnectRequest {
                        reason: dr.reason,
                        additional_information: dr.additional_information,
                    },
                ));
            }
            (_, Tpdu::Er(er)) => {
                self.close();
                *event = Some(TransportEvent::Disconnected(DisconnectCause::ErrorTpdu {
                    cause: er.cause,
                }));
            }
            (state, other) => {
                return Err(TransportError::UnexpectedTpdu {
                    tpdu: other.name(),
                    state,
                });
            }
        }
        Ok(())
    }
}

impl TransportConnection {
    /// A DT's user data while connected: reassembly up to EOT, bounded by
    /// [`TransportConfig::max_tsdu_size`] (checked before the segment is buffered).
    fn on_dt(
        &mut self,
        eot: bool,
        user_data: &[u8],
        event: &mut Option<TransportEvent>,
    ) -> Result<(), TransportError> {
        let limit = self.config.max_tsdu_size;
        let held = self.buffered_tsdu_len();
        if held.saturating_add(user_data.len()) > limit {
            return Err(TransportError::TsduTooLarge { limit });
        }
        if held == 0 {
            if let Some(split) = self.head_split(user_data, user_data.len(), eot) {
                let (head, rest) = user_data.split_at(split.head_len);
                if eot {
                    let body = self.value_from(rest);
                    self.last_split = true;
                    // `self.head` is empty here (nothing is held): its recycled room is used.
                    let mut h = std::mem::take(&mut self.head);
                    h.extend_from_slice(head);
                    *event = Some(TransportEvent::SplitData { head: h, body });
                    return Ok(());
                }
                self.start_split(head, split.total_len);
                self.write_value(rest);
                return Ok(());
            }
            self.last_split = false;
            if eot {
                *event = Some(TransportEvent::Data(user_data.to_vec()));
                return Ok(());
            }
            // Reserve the size of the last multi-DT TSDU up front (no growth by doubling).
            let hint = self.tsdu_hint.min(limit);
            if hint > user_data.len() {
                self.tsdu.reserve_exact(hint);
            }
        }
        if !self.head.is_empty() {
            self.write_value(user_data);
            if eot {
                *event = Some(self.finish_split());
            }
            return Ok(());
        }
        self.tsdu.extend_from_slice(user_data);
        if eot {
            self.tsdu_hint = self.tsdu.len();
            *event = Some(TransportEvent::Data(std::mem::take(&mut self.tsdu)));
        }
        Ok(())
    }

    /// The installed splitter's reading of a TSDU's first segment (`first`: its first
    /// octets, of a segment of `seg_len` user data octets), when it is consistent with the
    /// segment and worth a split.
    fn head_split(&self, first: &[u8], seg_len: usize, eot: bool) -> Option<HeadSplit> {
        let split = (self.splitter?)(first)?;
        let fits = split.head_len >= 1
            && split.head_len <= first.len()
            && split.total_len >= seg_len
            && split.total_len <= self.config.max_tsdu_size
            && split.total_len - split.head_len >= MIN_SPLIT_BODY
            && (!eot || split.total_len == seg_len);
        fits.then_some(split)
    }

    /// The length the value of the TSDU being split is declared to have.
    fn body_len(&self) -> usize {
        self.split_total.saturating_sub(self.head.len())
    }

    /// Starts reassembling a TSDU in two parts: `head`, and a value of the declared length
    /// in a buffer of its own (a recycled one when one is large enough).
    fn start_split(&mut self, head: &[u8], total_len: usize) {
        self.head.extend_from_slice(head);
        self.split_total = total_len;
        let body = self.body_len();
        self.value = self.value_buffer(body);
        self.filled = 0;
    }

    /// A buffer for a value of `len` octets: a recycled one whose capacity suffices (its
    /// initialized octets kept, to be overwritten), else a new one reserved in proportion
    /// to what was received before.
    fn value_buffer(&mut self, len: usize) -> Vec<u8> {
        if let Some(i) = self.pool.iter().position(|b| b.capacity() >= len) {
            return self.pool.swap_remove(i);
        }
        Vec::with_capacity(len.min(SPLIT_RESERVE.max(self.tsdu_hint)))
    }

    /// A value buffer holding `octets` (a single-DT split TSDU's value).
    fn value_from(&mut self, octets: &[u8]) -> Vec<u8> {
        let mut v = self.value_buffer(octets.len());
        if v.len() >= octets.len() {
            v.truncate(octets.len());
            v.copy_from_slice(octets);
        } else {
            v.clear();
            v.extend_from_slice(octets);
        }
        v
    }

    /// Writes received value octets after those received before (over initialized room
    /// first, then growing the buffer).
    fn write_value(&mut self, data: &[u8]) {
        let room = self.value.len() - self.filled;
        let (inside, outside) = data.split_at(room.min(data.len()));
        let end = self.filled + inside.len();
        if let Some(dst) = self.value.get_mut(self.filled..end) {
            dst.copy_from_slice(inside);
        }
        self.value.extend_from_slice(outside);
        self.filled += data.len();
    }

    /// The TSDU being split is complete: its event (whole, as [`TransportEvent::Data`],
    /// when its length is not the one declared).
    fn finish_split(&mut self) -> TransportEvent {
        let mut body = std::mem::take(&mut self.value);
        body.truncate(self.filled);
        self.tsdu_hint = self.filled;
        self.filled = 0;
        self.dt_left = 0;
        self.dt_eot = false;
        self.last_split = true;
        let mut head = std::mem::take(&mut self.head);
        if head.len() + body.len() == self.split_total {
            TransportEvent::SplitData { head, body }
        } else {
            // Not what the header declared: the layers above judge the TSDU whole.
            head.extend_from_slice(&body);
            self.recycle(body);
            TransportEvent::Data(head)
        }
    }

    /// `prefix` is the start of a TPKT that has not completed: when it is a plain DT whose
    /// header is whole and whose payload belongs in a value (the value being received has
    /// room for all of it, or the segment starts a TSDU that the splitter splits), its
    /// header (and a new value's head) is taken and the octets consumed are returned; the
    /// rest of its payload then goes into the value as it arrives. Such a DT cannot fail
    /// (its TPKT header is valid, its length within the limits), so taking it early gives
    /// the same events as waiting for the whole TPKT.
    fn stream_dt(&mut self, prefix: &[u8]) -> Option<usize> {
        if self.state != TransportState::Connected
            || self.splitter.is_none()
            || prefix.len() < DT_FRAME_HEADER_LEN
            || !matches!(next_frame(prefix, self.config.max_tpkt_len), Ok(None))
        {
            return None;
        }
        let declared = match prefix.get(2..4)? {
            &[hi, lo] => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return None,
        };
        let (eot, data) = plain_dt(prefix.get(TPKT_HEADER_LEN..)?)?;
        let seg_len = declared.checked_sub(DT_FRAME_HEADER_LEN)?;
        if !self.head.is_empty() {
            if self.filled.saturating_add(seg_len) > self.body_len() {
                return None;
            }
            self.dt_left = seg_len;
            self.dt_eot = eot;
            return Some(DT_FRAME_HEADER_LEN);
        }
        if eot || self.buffered_tsdu_len() > 0 {
            return None;
        }
        let split = self.head_split(data, seg_len, false)?;
        self.start_split(data.get(..split.head_len)?, split.total_len);
        self.last_split = true;
        self.dt_left = seg_len - split.head_len;
        self.dt_eot = false;
        Some(DT_FRAME_HEADER_LEN + split.head_len)
    }

    /// [`Self::stream_dt`] for the partial TPKT held in `rx`: true when it was taken (its
    /// payload so far moved into the value).
    fn stream_rx(&mut self) -> bool {
        let frame = std::mem::take(&mut self.rx);
        let Some(used) = self.stream_dt(&frame) else {
            self.rx = frame;
            return false;
        };
        let rest = frame.get(used..).unwrap_or_default();
        self.write_value(rest);
        self.dt_left -= rest.len();
        let mut frame = frame;
        frame.clear();
        self.rx = frame;
        true
    }
}

/// One part of a [`ScatterRead`], in stream order ([`ScatterRead::steps`]).
#[derive(Debug, Clone, Copy)]
enum ScatterStep {
    /// Octets `from..` of a DT header expected next, read into a scratch header (the octets
    /// before `from` are the ones the machine holds).
    Head {
        /// The predicted header.
        expected: [u8; DT_FRAME_HEADER_LEN],
        /// Octets of the header already held by the machine.
        from: usize,
        /// User data octets of the predicted DT.
        seg_len: usize,
        /// Its EOT.
        eot: bool,
    },
    /// The next `len` octets of the value.
    Value(usize),
}

/// The layout of one read while a split TSDU's value is received: where the octets are
/// expected to go if the peer continues the value with full-size DTs, so that a driver can
/// read them straight into the value ([`TransportConnection::plan_scatter`],
/// [`TransportConnection::scatter_bufs`], [`TransportConnection::accept_scatter`]).
///
/// It is only a prediction: what arrives otherwise is handed to the ordinary path, so any
/// segmentation by the peer gives the events that [`TransportConnection::feed`] gives.
/// Reusable from one read to the next (its allocations are kept).
///
/// Kept compact rather than as a list of steps: the rest of the current DT, then predicted
/// DTs that are all full-size (`chunk` octets, no EOT) but the last, whose size, EOT and
/// octets taken are stored; the steps are derived from that when needed.
#[derive(Debug, Clone, Default)]
pub struct ScatterRead {
    /// Octets of the current DT's user data read first, into the value.
    first: usize,
    /// Octets of the first predicted header already held by the machine.
    from: usize,
    /// Scratch space of the predicted DT headers, one per predicted DT.
    heads: Vec<[u8; DT_FRAME_HEADER_LEN]>,
    /// User data octets of each predicted DT but the last.
    chunk: usize,
    /// User data octets of the last predicted DT, its EOT, and how many of them the read
    /// takes.
    last_seg: usize,
    last_eot: bool,
    last_take: usize,
    /// The offset in the value of its first octet read.
    value_start: usize,
    /// The machine's `dt_left` and `rx.len()` when planned (to detect a stale plan).
    dt_left: usize,
    held: usize,
    len: usize,
    /// The layout ends where the TSDU ends (its last DT, with EOT).
    ends_tsdu: bool,
}

impl ScatterRead {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most octets the read may take.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the layout takes nothing (no read planned).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the layout runs to the end of the TSDU (its last DT, predicted with EOT):
    /// what the stream holds after it is the next TSDU, which a driver may read into a
    /// buffer of its own in the same read and give to [`TransportConnection::feed`] after
    /// [`TransportConnection::accept_scatter`] (octets after the layout are never part of
    /// the prediction).
    pub fn ends_tsdu(&self) -> bool {
        self.ends_tsdu
    }

    /// The number of buffers [`TransportConnection::scatter_bufs`] gives for this layout.
    pub fn buf_count(&self) -> usize {
        usize::from(self.first > 0) + 2 * self.heads.len()
    }

    fn clear(&mut self) {
        self.first = 0;
        self.from = 0;
        self.heads.clear();
        self.value_start = 0;
        self.len = 0;
        self.ends_tsdu = false;
    }

    /// Value octets the layout takes.
    fn value_len(&self) -> usize {
        match self.heads.len() {
            0 => self.first,
            k => self.first + (k - 1) * self.chunk + self.last_take,
        }
    }

    /// Predicted DT `i`: the octets of its header already held, its user data length, its
    /// EOT, and the user data octets the read takes.
    fn dt(&self, i: usize) -> (usize, usize, bool, usize) {
        let from = if i == 0 { self.from } else { 0 };
        if i + 1 == self.heads.len() {
            (from, self.last_seg, self.last_eot, self.last_take)
        } else {
            (from, self.chunk, false, self.chunk)
        }
    }

    /// The layout as steps, in stream order.
    fn steps(&self) -> impl Iterator<Item = ScatterStep> + '_ {
        let first = (self.first > 0).then_some(ScatterStep::Value(self.first));
        let dts = (0..self.heads.len()).flat_map(move |i| {
            let (from, seg_len, eot, take) = self.dt(i);
            [
                ScatterStep::Head {
                    expected: dt_header(seg_len, eot),
                    from,
                    seg_len,
                    eot,
                },
                ScatterStep::Value(take),
            ]
        });
        first.into_iter().chain(dts)
    }
}

impl TransportConnection {
    /// Hands back a buffer (typically a received value, once used) for reuse as the buffer
    /// of a later value, so that reads can go into it without zeroing it first (see
    /// [`Self::plan_scatter`]). Kept when its capacity is at least
    /// [`MIN_RECYCLED_CAPACITY`] and at most [`TransportConfig::max_tsdu_size`] and fewer
    /// than [`MAX_RECYCLED`] buffers are kept; otherwise it is dropped. Its contents are
    /// overwritten before they are used.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.pool.len() < MAX_RECYCLED
            && buf.capacity() >= MIN_RECYCLED_CAPACITY
            && buf.capacity() <= self.config.max_tsdu_size.max(MIN_RECYCLED_CAPACITY)
            && self.state != TransportState::Closed
        {
            self.pool.push(buf);
        }
    }

    /// Hands back the `head` of a [`TransportEvent::SplitData`] once used, so that the head
    /// of a later split TSDU is gathered into it instead of a new allocation. Kept (emptied)
    /// when no head is being gathered and its capacity is small (at most
    /// [`MAX_RECYCLED_HEAD`] octets); otherwise it is dropped.
    pub fn recycle_head(&mut self, mut head: Vec<u8>) {
        if self.head.capacity() == 0 && head.capacity() <= MAX_RECYCLED_HEAD {
            head.clear();
            self.head = head;
        }
    }

    /// Buffers kept for reuse ([`Self::recycle`]).
    pub fn recycled_len(&self) -> usize {
        self.pool.len()
    }

    /// True when partial TPKTs are better given to the machine than kept by the driver
    /// until they complete: connected with a head splitter installed, the machine then
    /// puts a partial DT's payload straight into the value it belongs to (other partial
    /// TPKTs it holds, within the usual bound of one TPKT).
    pub fn streams_partial_frames(&self) -> bool {
        self.state == TransportState::Connected && self.splitter.is_some()
    }

    /// True between TSDUs when the last TSDU received was split: the next one is likely a
    /// split value too, and a driver may read just its first octets (enough for its head)
    /// so that the rest can be read into the value ([`Self::plan_scatter`]).
    pub fn next_tsdu_likely_split(&self) -> bool {
        self.last_split
            && self.state == TransportState::Connected
            && self.buffered_tsdu_len() == 0
            && self.rx.is_empty()
    }

    /// While a split TSDU's value is received, lays out the next read of at most `budget`
    /// octets in `read` and returns true; false (and `read` empty) otherwise.
    ///
    /// The layout is what the stream holds if the peer continues the value with DTs of the
    /// negotiated TPDU size: first the rest of the DT being received (into the value, at
    /// its offset: certain, its header was read), then for each further DT its 7 header
    /// octets (into scratch space, to be checked) and its user data (into the value), up to
    /// the value's declared end and within `budget`. Nothing after the value is predicted.
    ///
    /// Get the buffers to read into with [`Self::scatter_bufs`], read once, then call
    /// [`Self::accept_scatter`] with the number of octets read, before any other call on
    /// the machine.
    pub fn plan_scatter(&self, budget: usize, read: &mut ScatterRead) -> bool {
        read.clear();
        if self.state != TransportState::Connected
            || self.head.is_empty()
            || self.filled > self.body_len()
        {
            return false;
        }
        let body = self.body_len();
        let chunk = self
            .tpdu_size
            .max_dt_user_data()
            .min(MAX_TPKT_PAYLOAD - TpduSize::DT_HEADER_LEN)
            .min(
                self.config
                    .max_tpkt_len
                    .min(MAX_TPKT_LEN)
                    .saturating_sub(DT_FRAME_HEADER_LEN),
            );
        if chunk == 0 {
            return false;
        }
        let mut budget = budget;
        let mut pos = self.filled;
        read.value_start = self.filled;
        read.dt_left = self.dt_left;
        read.held = self.rx.len();
        read.chunk = chunk;
        if self.dt_left > 0 {
            let take = self.dt_left.min(budget);
            read.first = take;
            budget -= take;
            pos += take;
            if take < self.dt_left || self.dt_eot {
                read.len = take;
                read.ends_tsdu = take == self.dt_left && self.dt_eot;
                if take == 0 {
                    read.clear();
                }
                return take > 0;
            }
        }
        let held = self.rx.len();
        if held >= DT_FRAME_HEADER_LEN {
            read.clear();
            return false;
        }
        read.from = held;
        let mut len = read.first;
        let mut from = held;
        loop {
            let left = body - pos;
            if left == 0 || budget <= DT_FRAME_HEADER_LEN - from {
                break;
            }
            let seg_len = left.min(chunk);
            let eot = seg_len == left;
            let expected = dt_header(seg_len, eot);
            let mut scratch = expected;
            if from > 0 {
                if !header_agrees(&self.rx, 0, &expected) {
                    break;
                }
                scratch[..from].copy_from_slice(&self.rx);
            }
            read.heads.push(scratch);
            budget -= DT_FRAME_HEADER_LEN - from;
            len += DT_FRAME_HEADER_LEN - from;
            let take = seg_len.min(budget);
            budget -= take;
            pos += take;
            len += take;
            (read.last_seg, read.last_eot, read.last_take) = (seg_len, eot, take);
            from = 0;
            if take < seg_len {
                break;
            }
            read.ends_tsdu = eot;
        }
        read.len = len;
        if read.len == 0 {
            read.clear();
            return false;
        }
        true
    }

    /// The buffers to read into for `read` (planned by [`Self::plan_scatter`]), in stream
    /// order: slices of the value (initialized first where the value buffer is not yet: a
    /// recycled buffer needs nothing) and of `read`'s scratch headers.
    pub fn scatter_bufs<'a>(&'a mut self, read: &'a mut ScatterRead) -> Vec<IoSliceMut<'a>> {
        let mut out = Vec::with_capacity(read.buf_count());
        self.fill_scatter(read, |b| out.push(b));
        out
    }

    /// [`Self::scatter_bufs`] into `out` instead of a new vector (a driver's array, reused
    /// for every read): the number of buffers put at the start of `out`, or `None` (and
    /// nothing put) when `out` is shorter than [`ScatterRead::buf_count`].
    pub fn scatter_bufs_into<'a>(
        &'a mut self,
        read: &'a mut ScatterRead,
        out: &mut [IoSliceMut<'a>],
    ) -> Option<usize> {
        if out.len() < read.buf_count() {
            return None;
        }
        let mut slots = out.iter_mut();
        let mut n = 0;
        self.fill_scatter(read, |b| {
            if let Some(slot) = slots.next() {
                *slot = b;
                n += 1;
            }
        });
        Some(n)
    }

    /// Gives the buffers of `read`, in stream order, to `put`.
    fn fill_scatter<'a>(
        &'a mut self,
        read: &'a mut ScatterRead,
        mut put: impl FnMut(IoSliceMut<'a>),
    ) {
        let end = read.value_start + read.value_len();
        if self.value.len() < end {
            self.value.resize(end, 0);
        }
        let mut value = self
            .value
            .get_mut(read.value_start..end)
            .unwrap_or_default();
        if read.first > 0 {
            let first = read.first.min(value.len());
            let (part, rest) = std::mem::take(&mut value).split_at_mut(first);
            value = rest;
            put(IoSliceMut::new(part));
        }
        let (k, from, chunk, last_take) = (read.heads.len(), read.from, read.chunk, read.last_take);
        for (i, h) in read.heads.iter_mut().enumerate() {
            let skip = if i == 0 { from } else { 0 };
            let take = if i + 1 == k { last_take } else { chunk };
            put(IoSliceMut::new(h.get_mut(skip..).unwrap_or_default()));
            let take = take.min(value.len());
            let (part, rest) = std::mem::take(&mut value).split_at_mut(take);
            value = rest;
            put(IoSliceMut::new(part));
        }
    }

    /// After a read of `n` octets into [`Self::scatter_bufs`] of `read`: accepts what
    /// arrived as predicted (up to the first predicted header that is partial or does not
    /// agree) as if it had been given to [`Self::feed`], and appends the octets read after
    /// that point to `rest`, which the driver then gives to [`Self::feed`] as usual.
    /// Returns the event of the TSDU when its value completed (then nothing is left over,
    /// the layout ending with the value). Accepted octets cannot fail: a DT predicted and
    /// received is valid and within the limits.
    pub fn accept_scatter(
        &mut self,
        read: &ScatterRead,
        n: usize,
        rest: &mut Vec<u8>,
    ) -> Option<TransportEvent> {
        let fresh = self.state == TransportState::Connected
            && !self.head.is_empty()
            && read.value_start == self.filled
            && read.dt_left == self.dt_left
            && read.held == self.rx.len();
        let n = n.min(read.len);
        // The usual case: everything arrived as planned, every header as predicted. The
        // state moves as the steps below would move it, without walking them.
        if fresh
            && n > 0
            && n == read.len
            && read.heads.iter().enumerate().all(|(i, h)| {
                let (from, seg_len, eot, _) = read.dt(i);
                header_agrees(
                    h.get(from..).unwrap_or_default(),
                    from,
                    &dt_header(seg_len, eot),
                )
            })
        {
            self.filled += read.value_len();
            if read.heads.is_empty() {
                self.dt_left -= read.first.min(self.dt_left);
            } else {
                self.rx.clear();
                self.dt_left = read.last_seg - read.last_take;
                self.dt_eot = read.last_eot;
            }
            return (self.dt_left == 0 && self.dt_eot).then(|| self.finish_split());
        }
        let mut rejecting = !fresh;
        let mut left = n;
        let mut at = read.value_start;
        let mut heads = read.heads.iter();
        let mut event = None;
        for step in read.steps() {
            if left == 0 {
                break;
            }
            match step {
                ScatterStep::Value(len) => {
                    let got = len.min(left);
                    if rejecting || event.is_some() {
                        rest.extend_from_slice(self.value.get(at..at + got).unwrap_or_default());
                    } else {
                        self.filled += got;
                        self.dt_left -= got.min(self.dt_left);
                        if self.dt_left == 0 && self.dt_eot {
                            event = Some(self.finish_split());
                        }
                    }
                    at += len;
                    left -= got;
                }
                ScatterStep::Head {
                    expected,
                    from,
                    seg_len,
                    eot,
                } => {
                    let scratch = heads.next().copied().unwrap_or_default();
                    let want = DT_FRAME_HEADER_LEN - from;
                    let got = want.min(left);
                    let octets = scratch.get(from..from + got).unwrap_or_default();
                    if !rejecting && got == want && header_agrees(octets, from, &expected) {
                        self.rx.clear();
                        self.dt_left = seg_len;
                        self.dt_eot = eot;
                    } else {
                        rejecting = true;
                        rest.extend_from_slice(octets);
                    }
                    left -= got;
                }
            }
        }
        event
    }
}

/// The header of a DT TPKT carrying `seg_len` octets of user data.
fn dt_header(seg_len: usize, eot: bool) -> [u8; DT_FRAME_HEADER_LEN] {
    let [hi, lo] = u16::try_from(seg_len + DT_FRAME_HEADER_LEN)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    [TPKT_VERSION, 0, hi, lo, 2, 0xF0, if eot { 0x80 } else { 0 }]
}

/// Whether octet `i` of a received DT header agrees with the one predicted, by the rules of
/// the ordinary path: TPKT version 3 (the reserved octet is not looked at), the predicted
/// TPKT length, a length indicator of 2, the DT code (its low bits are not looked at), and
/// the predicted EOT (the TPDU-NR is not looked at).
fn header_octet_agrees(i: usize, got: u8, expected: &[u8; DT_FRAME_HEADER_LEN]) -> bool {
    match i {
        0 => got == TPKT_VERSION,
        1 => true,
        2 | 3 => expected.get(i) == Some(&got),
        4 => got == 2,
        5 => got & 0xF0 == 0xF0,
        _ => expected.get(6).is_some_and(|e| got & 0x80 == e & 0x80),
    }
}

/// Whether the octets `got` of a received DT header, from octet `from` on, agree with the
/// prediction.
fn header_agrees(got: &[u8], from: usize, expected: &[u8; DT_FRAME_HEADER_LEN]) -> bool {
    // A whole header (the usual case): the same rules, octet by octet, without the loop.
    if from == 0
        && let &[v, _, hi, lo, li, code, nr] = got
    {
        return v == TPKT_VERSION
            && [hi, lo] == [expected[2], expected[3]]
            && li == 2
            && code & 0xF0 == 0xF0
            && nr & 0x80 == expected[6] & 0x80;
    }
    got.iter()
        .enumerate()
        .all(|(i, &b)| header_octet_agrees(from + i, b, expected))
}

fn disconnect_tpdu(dst_ref: u16, src_ref: u16, reason: DisconnectReason) -> DisconnectTpdu {
    DisconnectTpdu {
        dst_ref,
        src_ref,
        reason,
        additional_information: None,
        other_parameters: Vec::new(),
        user_data: Vec::new(),
    }
}
