//! The tokio driver: socket IO around a [`Stack`], and the per-association actor task.
//!
//! # Design: one task per association, bounded channels
//!
//! After establishment each association runs in its own task (the actor) that owns the
//! socket and the [`Stack`]. The application holds an [`Association`] handle with a bounded
//! command queue (to the actor) and a bounded event queue (from the actor).
//!
//! * **Back-pressure.** The actor reads the socket only while it has no undelivered event.
//!   When the event queue is full it stops reading, so the kernel's receive window closes and
//!   the peer is slowed down; memory per association is bounded by the event queue, one read
//!   of at most [`crate::Limits::max_read`] octets plus one TPKT (the transport machine stops
//!   at each TPKT that completes a TSDU and holds at most one partial TPKT of the configured
//!   TPDU size; the receive buffer is never larger), the transport's TSDU
//!   reassembly (at most `max_tsdu_size`), and one TSDU's worth of values. Sending goes through the bounded
//!   command queue: a send is acknowledged once queued, and the actor writes every send
//!   queued by then in one vectored write; a peer that does not read fills the queue and
//!   makes `send` wait.
//! * **Cancel-safety.** [`Association::recv`] is cancel-safe (an mpsc receive). Dropping a
//!   [`Association::send`] future while it waits for room in the command queue sends
//!   nothing; once the value is queued, `send` returns without waiting again. The actor itself only awaits cancel-safe operations in
//!   its `select!` (mpsc receive/reserve, socket `read`, timers).
//! * **Ordering, report once.** Every indication decoded from octets received before the
//!   transport ended is delivered before anything about the end, and the end is reported
//!   once: to the call waiting for it ([`Association::release`]) or as an event. A write
//!   error does not overtake octets still in the receive buffer (the actor keeps reading to
//!   the end of stream first). A peer that closes TCP right after its release request gets
//!   its release completed by the application's release response.
//! * **Timers.** Idle (no octets from the peer while the actor reads; also bounds one blocked
//!   write) and release (the peer's half of a release) end the association with a typed
//!   provider abort.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use guls_acse::{
    AssociateConfirm, ReleaseRequest, ReleaseResponse, ReleaseResponseReason, ReleaseResult,
};
use guls_ber::{External, Oid};
use guls_presentation::{DefaultContextName, DefinedContext, Pcid, PdvValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};

use crate::config::AssociationConfig;
use crate::error::{AssociationError, ProviderAbortReason, TimeoutKind};
use crate::stack::{DataState, Output, Payload, Role, Stack, StackEvent};
use crate::types::{AssociationEvent, ContextRef, DataIndication, QueueStats, ReleaseOutcome};

/// The first read takes at most this much; each read that fills what it asked for doubles
/// it, up to [`crate::Limits::max_read`]. Idle associations (which have only read the small
/// connection PDUs) so keep small buffers, and bulk data is read in large reads.
const MIN_READ: usize = 4 * 1024;
/// A partial TPKT at most this long is moved to the start of the receive buffer before a
/// read even when the free space after it would do (moving it costs next to nothing, and
/// the next read can then be a full one).
const SMALL_TAIL: usize = 512;
/// Most IO slices given to one vectored write (the usual `IOV_MAX`).
const MAX_IO_SLICES: usize = 1024;
/// Outputs of at most this many slices are written from a stack array.
const FEW_IO_SLICES: usize = 16;

/// [`SharedStats::data`]: data may be sent.
const DATA_OPEN: u8 = 0;
/// [`SharedStats::data`]: data may not be sent now (our release request is out).
const DATA_REFUSED: u8 = 1;
/// [`SharedStats::data`]: the association is over.
const DATA_CLOSED: u8 = 2;

#[derive(Default, Debug)]
pub(crate) struct SharedStats {
    buffered: AtomicUsize,
    pending: AtomicUsize,
    received: AtomicU64,
    /// Whether the stack accepts data ([`DATA_OPEN`], [`DATA_REFUSED`], [`DATA_CLOSED`]),
    /// published by the actor before it replies to a command or hands over an event, so
    /// that [`Association::send`] can refuse a value without a round trip to the actor.
    data: AtomicU8,
}

/// A socket with its receive buffer and the stack.
///
/// Received octets are read straight into `buf`'s free space; `buf[pos..scan]` are complete
/// TPKTs not yet given to the stack and `buf[scan..]` a partial one, which stays here until
/// it is complete (so the transport machine works on TPKTs where they are, without copying
/// them first).
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) buf: Vec<u8>,
    /// Octets of `buf` already given to the stack.
    pos: usize,
    /// End of the complete TPKTs found in `buf` (or the end of `buf` after an invalid TPKT
    /// header, which the stack is given to report).
    scan: usize,
    /// Most octets the next read takes.
    read_size: usize,
    /// [`crate::Limits::max_read`].
    max_read: usize,
    /// The output being written (swapped with the stack's, so both allocations are reused).
    wout: Output,
    pub(crate) stack: Stack,
    pub(crate) peer: SocketAddr,
    pub(crate) stats: Arc<SharedStats>,
}

/// Why [`write_all_vectored`] stopped.
enum WriteError {
    Io(std::io::Error),
    /// The socket took nothing for `limit`.
    Timeout,
}

/// Writes every slice of `out`, with vectored writes. What the socket takes at once is
/// written without arming a timer (the usual case: the whole output fits in the send
/// buffer); only waiting for room is bounded by `limit`.
async fn write_all_vectored(
    stream: &mut TcpStream,
    out: &Output,
    limit: Duration,
) -> Result<(), WriteError> {
    // The usual output (a PDU or a few) fits in a stack array: no allocation per write.
    let mut few = [IoSlice::new(&[]); FEW_IO_SLICES];
    let mut many: Vec<IoSlice<'_>> = Vec::new();
    let mut n = 0;
    for s in out.slices().filter(|s| !s.is_empty()) {
        if n < FEW_IO_SLICES {
            few[n] = IoSlice::new(s);
        } else {
            if many.is_empty() {
                many.extend_from_slice(&few);
            }
            many.push(IoSlice::new(s));
        }
        n += 1;
    }
    let mut bufs = if n <= FEW_IO_SLICES {
        &mut few[..n]
    } else {
        &mut many[..]
    };
    while !bufs.is_empty() {
        let n = bufs.len().min(MAX_IO_SLICES);
        match stream.try_write_vectored(bufs.get(..n).unwrap_or_default()) {
            Ok(0) => return Err(WriteError::Io(std::io::ErrorKind::WriteZero.into())),
            Ok(written) => IoSlice::advance_slices(&mut bufs, written),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(WriteError::Io(e)),
        }
    }
    if bufs.is_empty() {
        return Ok(());
    }
    let rest = async {
        while !bufs.is_empty() {
            let n = bufs.len().min(MAX_IO_SLICES);
            let written = stream
                .write_vectored(bufs.get(..n).unwrap_or_default())
                .await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut bufs, written);
        }
        Ok(())
    };
    match timeout(limit, rest).await {
        Ok(r) => r.map_err(WriteError::Io),
        Err(_) => Err(WriteError::Timeout),
    }
}

impl Conn {
    pub(crate) fn new(stream: TcpStream, stack: Stack, peer: SocketAddr) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            read_size: MIN_READ.min(stack.max_read()),
            max_read: stack.max_read(),
            wout: Output::default(),
            stack,
            peer,
            stats: Arc::new(SharedStats::default()),
        }
    }

    /// Writes everything the stack queued (vectored writes), bounded by `limit`. What a
    /// cancelled or failed write left is dropped, as before.
    pub(crate) async fn flush(&mut self, limit: Duration) -> Result<(), ProviderAbortReason> {
        self.wout.clear();
        std::mem::swap(&mut self.wout, self.stack.output_mut());
        if self.wout.is_empty() {
            return Ok(());
        }
        tracing::trace!(target: "guls::association", peer = %self.peer, len = self.wout.len(), "write");
        let r = write_all_vectored(&mut self.stream, &self.wout, limit).await;
        self.wout.clear();
        match r {
            Ok(()) => Ok(()),
            Err(WriteError::Io(e)) => Err(ProviderAbortReason::Io(e.to_string())),
            Err(WriteError::Timeout) => Err(ProviderAbortReason::Timeout(TimeoutKind::Idle)),
        }
    }

    /// Feeds the unprocessed octets to the stack until a step produces events (or all are
    /// consumed). The transport machine stops at each complete TPKT with an event, so the
    /// octets after it stay here until the events are delivered.
    pub(crate) fn process(&mut self) -> Vec<StackEvent> {
        let mut events = Vec::new();
        while events.is_empty() && !self.stack.is_done() && self.pos < self.buf.len() {
            // Only complete TPKTs, unless the transport machine already holds a partial one.
            let end = if self.stack.buffered_frame_len() > 0 {
                self.buf.len()
            } else {
                self.scan
            };
            let Some(input) = self.buf.get(self.pos..end).filter(|i| !i.is_empty()) else {
                break;
            };
            let (used, ev) = self.stack.on_bytes(input);
            self.pos += used.min(input.len());
            if events.is_empty() {
                events = ev;
            } else {
                events.extend(ev);
            }
        }
        if self.stack.is_done() || self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.scan = 0;
        }
        self.store_buffered();
        events
    }

    /// Publishes the received octets not yet processed: ours and the transport machine's
    /// partial TPKT.
    fn store_buffered(&self) {
        let n = self.buf.len() - self.pos + self.stack.buffered_frame_len();
        self.stats.buffered.store(n, Ordering::Relaxed);
    }

    /// Moves `scan` over the complete TPKTs after it.
    fn scan_frames(&mut self) {
        let max = self.stack.max_tpkt_len();
        while let Some(rest) = self.buf.get(self.scan..).filter(|r| !r.is_empty()) {
            match guls_transport::next_frame(rest, max) {
                Ok(Some(len)) => self.scan += len,
                Ok(None) => break,
                Err(_) => {
                    self.scan = self.buf.len();
                    break;
                }
            }
        }
    }

    /// Reads once, into the receive buffer's free space (cancel-safe); returns the octets
    /// read (0 at end of stream).
    ///
    /// Memory bound: a read happens only once every complete TPKT is processed, so what is
    /// left is at most one partial TPKT; with one read of at most `max_read` octets, the
    /// buffer never holds more than `max_read` plus one TPKT, and its allocation is at most
    /// that too. The partial TPKT is moved to the start only when the free space after it
    /// is short of a full read (or it is small), not before every read.
    pub(crate) async fn read_more(&mut self) -> std::io::Result<usize> {
        let tail = self.buf.len() - self.pos;
        let free = self.buf.capacity() - self.buf.len();
        if self.pos > 0 && (free < self.read_size || tail <= SMALL_TAIL) {
            self.buf.drain(..self.pos);
            self.scan -= self.pos.min(self.scan);
            self.pos = 0;
        }
        if self.buf.capacity() - self.buf.len() < self.read_size {
            // Here `pos` is 0. Once reads are at their largest: room for a full read after
            // the largest partial TPKT, allocated once (not regrown by each read's tail).
            let full = if self.read_size == self.max_read {
                self.read_size + self.stack.max_tpkt_len()
            } else {
                0
            };
            let target = full.max(self.buf.len() + self.read_size);
            self.buf.reserve_exact(target - self.buf.len());
        }
        let want = self.read_size;
        let n = (&mut self.stream)
            .take(want as u64)
            .read_buf(&mut self.buf)
            .await?;
        if n >= self.read_size {
            self.read_size = (self.read_size * 2).min(self.max_read);
        }
        self.scan_frames();
        self.stats.received.fetch_add(n as u64, Ordering::Relaxed);
        self.store_buffered();
        Ok(n)
    }
}

/// Commands from the handle to the actor.
pub(crate) enum Command {
    /// Data values: acknowledged when queued (no reply).
    Send { values: Vec<(Pcid, PdvValue)> },
    /// One value written from where it is (no copy); acknowledged when queued.
    SendPayload {
        pcid: Pcid,
        single_asn1: bool,
        payload: Payload,
    },
    Release {
        req: ReleaseRequest,
        reply: oneshot::Sender<Result<ReleaseOutcome, AssociationError>>,
    },
    ReleaseResponse {
        rsp: ReleaseResponse,
        reply: oneshot::Sender<Result<(), AssociationError>>,
    },
    Abort {
        user_information: Vec<External>,
        reply: oneshot::Sender<Result<(), AssociationError>>,
    },
}

/// What the application knows about an established association.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    pub(crate) role: Role,
    pub(crate) peer: SocketAddr,
    pub(crate) contexts: Vec<DefinedContext>,
    pub(crate) default_context: Option<DefaultContextName>,
    pub(crate) application_context_name: Oid,
    pub(crate) confirm: Option<AssociateConfirm>,
}

struct Actor {
    conn: Conn,
    cfg: Arc<AssociationConfig>,
    events: mpsc::Sender<AssociationEvent>,
    commands: mpsc::Receiver<Command>,
    pending: VecDeque<AssociationEvent>,
    release_reply: Option<oneshot::Sender<Result<ReleaseOutcome, AssociationError>>>,
    collision: bool,
    respond_after_confirm: bool,
    /// The release was confirmed to a waiting [`Association::release`]: that is its report,
    /// so no [`AssociationEvent::Released`] follows.
    release_confirmed: bool,
    release_deadline: Option<Instant>,
    last_rx: Instant,
    /// Reading ended (end of stream or a read error): nothing more will arrive.
    rx_gone: Option<RxGone>,
    /// A write failed (IO error): nothing more can be sent; what the peer sent before is
    /// still read and delivered before the close is reported.
    tx_gone: Option<String>,
    _permit: Option<OwnedSemaphorePermit>,
}

/// How reading from the socket ended.
#[derive(Debug, Clone)]
enum RxGone {
    /// End of stream: the peer closed (FIN).
    Eof,
    /// A read failed (for instance a reset).
    Io(String),
}

/// Starts the actor for an established connection and returns the handle.
pub(crate) fn spawn(
    conn: Conn,
    cfg: Arc<AssociationConfig>,
    confirm: Option<AssociateConfirm>,
    application_context_name: Oid,
    permit: Option<OwnedSemaphorePermit>,
) -> Association {
    let (ev_tx, ev_rx) = mpsc::channel(cfg.limits.event_queue);
    let (cmd_tx, cmd_rx) = mpsc::channel(cfg.limits.command_queue);
    let info = Arc::new(Info {
        role: conn.stack.role(),
        peer: conn.peer,
        contexts: conn.stack.contexts(),
        default_context: conn.stack.default_context(),
        application_context_name,
        confirm,
    });
    let stats = conn.stats.clone();
    let actor = Actor {
        conn,
        events: ev_tx,
        commands: cmd_rx,
        pending: VecDeque::new(),
        release_reply: None,
        collision: false,
        respond_after_confirm: false,
        release_confirmed: false,
        release_deadline: None,
        last_rx: Instant::now(),
        rx_gone: None,
        tx_gone: None,
        _permit: permit,
        cfg: cfg.clone(),
    };
    // The run future itself is the task (not an async block holding the actor besides it,
    // which would store the actor twice and make every move of the task larger).
    tokio::spawn(actor.run());
    Association {
        commands: cmd_tx,
        events: ev_rx,
        info,
        stats,
        max_release_backlog: cfg.limits.max_release_backlog,
        queue_capacity: cfg.limits.event_queue,
    }
}

impl Actor {
    fn idle(&self) -> Duration {
        self.cfg.timeouts.idle
    }

    /// What the association was doing, for [`ProviderAbortReason::ConnectionClosed`].
    fn stage(&self) -> &'static str {
        if self.release_reply.is_some() || self.conn.stack.is_released() {
            "release"
        } else if self.conn.stack.awaiting_release_response() {
            "release (before the release response)"
        } else {
            "data transfer"
        }
    }

    /// True when the peer's release request was indicated and the application's answer
    /// ([`Association::release_response`] or [`Association::abort`]) is still to come.
    fn awaiting_application_release_response(&self) -> bool {
        self.release_reply.is_none()
            && !self.respond_after_confirm
            && self.conn.stack.awaiting_release_response()
    }

    /// Why the transport is gone, as the provider abort to report (once).
    fn close_reason(&self) -> ProviderAbortReason {
        match (&self.rx_gone, &self.tx_gone) {
            (Some(RxGone::Io(e)), _) | (None, Some(e)) => ProviderAbortReason::Io(e.clone()),
            (Some(RxGone::Eof), _) | (None, None) => ProviderAbortReason::ConnectionClosed {
                stage: self.stage(),
            },
        }
    }

    /// Reports the lost transport to the stack (and so, once, to the application).
    fn report_close(&mut self) {
        let reason = self.close_reason();
        let ev = self.conn.stack.on_transport_closed(reason);
        self.on_stack_events(ev);
    }

    /// Writes what the stack queued. A write IO error does not end the association at once:
    /// the octets the peer sent before its close are still read and their indications
    /// delivered first (see [`Actor::run`]). After a write error, output is discarded.
    async fn write_output(&mut self) {
        if self.tx_gone.is_some() {
            self.conn.stack.output_mut().clear();
            return;
        }
        match self.conn.flush(self.idle()).await {
            Ok(()) => {}
            Err(ProviderAbortReason::Io(e)) => {
                tracing::debug!(target: "guls::association", error = %e,
                    "write failed; processing what the peer sent before");
                self.tx_gone = Some(e);
            }
            Err(r) => {
                // A write blocked for the idle time: the peer is alive but does not read.
                let ev = self.conn.stack.on_transport_closed(r);
                self.on_stack_events(ev);
            }
        }
    }

    /// The actor loop.
    ///
    /// Ordering rule: the socket is read only when every event decoded so far has been
    /// handed to the event queue, and the end of the transport (end of stream, read or write
    /// error) is acted on only once every octet received before it has been processed and its
    /// indications delivered. So an indication is never overtaken by the close.
    ///
    /// When the transport ends while the application owes the answer to a release indication
    /// (libiec61850 sends FN+RLRQ and closes TCP without waiting for the DN), the actor waits
    /// for that answer (bounded by the release timeout): a release response completes the
    /// release ([`AssociationEvent::Released`]); the timeout reports the close once.
    async fn run(mut self) {
        let peer = self.conn.peer;
        // One timer for the idle and release deadlines: moved earlier when a deadline comes
        // before it, re-armed when it fires before the deadline in force (octets arrived
        // meanwhile); not registered anew on every wake-up.
        let timer = sleep_until(self.last_rx + self.idle());
        tokio::pin!(timer);
        loop {
            self.write_output().await;
            self.publish_data_state();
            if self.conn.stack.is_done() {
                break;
            }
            if self.conn.stack.is_released() {
                if self.rx_gone.is_some() || self.tx_gone.is_some() {
                    tracing::debug!(target: "guls::association", "transport ended after release");
                    break;
                }
                if self.release_deadline.is_none() {
                    self.release_deadline = Some(Instant::now() + self.cfg.timeouts.release);
                }
            }
            self.conn
                .stats
                .pending
                .store(self.pending.len(), Ordering::Relaxed);
            if !self.pending.is_empty() {
                // Hand over what the event queue takes now, without a wake-up per event.
                let mut delivered = false;
                while let Some(ev) = self.pending.pop_front() {
                    match self.events.try_reserve() {
                        Ok(p) => {
                            p.send(ev);
                            delivered = true;
                        }
                        Err(mpsc::error::TrySendError::Full(())) => {
                            self.pending.push_front(ev);
                            break;
                        }
                        Err(mpsc::error::TrySendError::Closed(())) => {
                            self.pending.clear();
                            break;
                        }
                    }
                }
                if delivered {
                    self.last_rx = Instant::now();
                }
                if self.pending.is_empty() {
                    continue;
                }
                enum Step {
                    Cmd(Option<Command>),
                    Delivered,
                    Gone,
                }
                let step = tokio::select! {
                    cmd = self.commands.recv() => Step::Cmd(cmd),
                    permit = self.events.reserve() => match permit {
                        Ok(p) => {
                            if let Some(ev) = self.pending.pop_front() {
                                p.send(ev);
                            }
                            Step::Delivered
                        }
                        Err(_) => Step::Gone,
                    },
                };
                match step {
                    Step::Cmd(c) => {
                        let more = c.is_some();
                        self.on_command(c);
                        if more {
                            self.drain_commands();
                        }
                    }
                    Step::Delivered => self.last_rx = Instant::now(),
                    Step::Gone => self.pending.clear(),
                }
                continue;
            }
            let ev = self.conn.process();
            if !ev.is_empty() || self.conn.stack.is_done() || self.conn.stack.has_output() {
                self.on_stack_events(ev);
                continue;
            }
            // Everything received so far is processed and its events are delivered.
            if self.rx_gone.is_some() {
                if self.awaiting_application_release_response() {
                    let release = self.cfg.timeouts.release;
                    let deadline = *self
                        .release_deadline
                        .get_or_insert_with(|| Instant::now() + release);
                    tracing::debug!(target: "guls::association",
                        "peer closed TCP after its release request; awaiting the release response");
                    tokio::select! {
                        cmd = self.commands.recv() => self.on_command(cmd),
                        _ = sleep_until(deadline) => self.report_close(),
                    }
                } else {
                    self.report_close();
                }
                continue;
            }
            let mut deadline = self.last_rx + self.idle();
            let mut kind = TimeoutKind::Idle;
            if let Some(r) = self.release_deadline
                && r < deadline
            {
                deadline = r;
                kind = TimeoutKind::Release;
            }
            enum Wake {
                Cmd(Option<Command>),
                Read(std::io::Result<usize>),
                Timer,
            }
            if deadline < timer.deadline() {
                timer.as_mut().reset(deadline);
            }
            let wake = tokio::select! {
                cmd = self.commands.recv() => Wake::Cmd(cmd),
                r = self.conn.read_more() => Wake::Read(r),
                _ = &mut timer => Wake::Timer,
            };
            match wake {
                Wake::Cmd(c) => {
                    let more = c.is_some();
                    self.on_command(c);
                    if more {
                        self.drain_commands();
                    }
                }
                Wake::Read(Ok(0)) => self.rx_gone = Some(RxGone::Eof),
                Wake::Read(Ok(_)) => self.last_rx = Instant::now(),
                Wake::Read(Err(e)) => self.rx_gone = Some(RxGone::Io(e.to_string())),
                Wake::Timer if Instant::now() < deadline => {
                    // Armed for an earlier deadline, since moved on.
                    timer.as_mut().reset(deadline);
                }
                Wake::Timer => {
                    if kind == TimeoutKind::Release && self.conn.stack.is_released() {
                        tracing::debug!(target: "guls::association",
                            "peer did not close after release; closing");
                        break;
                    }
                    if self.tx_gone.is_some() {
                        self.report_close();
                        continue;
                    }
                    let ev = self
                        .conn
                        .stack
                        .local_abort(ProviderAbortReason::Timeout(kind));
                    self.on_stack_events(ev);
                }
            }
        }
        // Flush what is left (an abort PDU), close, then hand over the last events.
        self.conn.stats.data.store(DATA_CLOSED, Ordering::Release);
        if self.tx_gone.is_none() {
            let _ = self.conn.flush(self.idle()).await;
        }
        // A TCP shutdown completes at once; the bound (and its timer) is for the odd case.
        let mut shutdown = std::pin::pin!(self.conn.stream.shutdown());
        let done = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(shutdown.as_mut().poll(cx).is_ready())
        })
        .await;
        if !done {
            let _ = timeout(Duration::from_secs(1), shutdown).await;
        }
        if self.conn.stack.is_released() && !self.release_confirmed {
            self.pending.push_back(AssociationEvent::Released);
        }
        let Actor {
            conn,
            events,
            mut commands,
            mut pending,
            ..
        } = self;
        drop(conn);
        while !pending.is_empty() {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(c) => refuse_closed(c),
                    None => break,
                },
                permit = events.reserve() => match permit {
                    Ok(p) => {
                        if let Some(ev) = pending.pop_front() {
                            p.send(ev);
                        }
                    }
                    Err(_) => break,
                },
            }
        }
        tracing::debug!(target: "guls::association", %peer, "association task ended");
    }

    fn on_command(&mut self, cmd: Option<Command>) {
        let Some(cmd) = cmd else {
            if !self.conn.stack.is_done() {
                tracing::info!(target: "guls::association", "association handle dropped: aborting");
                let ev = self
                    .conn
                    .stack
                    .local_abort(ProviderAbortReason::HandleDropped);
                self.on_stack_events(ev);
            }
            return;
        };
        match cmd {
            Command::Send { values } => {
                let r = self.conn.stack.send_data(values);
                self.on_send_result(r);
            }
            Command::SendPayload {
                pcid,
                single_asn1,
                payload,
            } => {
                let r = self.conn.stack.send_payload(pcid, single_asn1, payload);
                self.on_send_result(r);
            }
            Command::Release { req, reply } => {
                if self.release_reply.is_some() {
                    let _ = reply.send(Err(AssociationError::IllegalPrimitive(
                        "a release is already in progress".into(),
                    )));
                    return;
                }
                let r = self.conn.stack.release_request(&req);
                self.publish_data_state();
                match r {
                    Ok(()) => {
                        self.release_reply = Some(reply);
                        self.release_deadline = Some(Instant::now() + self.cfg.timeouts.release);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::ReleaseResponse { rsp, reply } => {
                let r = self.conn.stack.release_response(&rsp);
                self.publish_data_state();
                let _ = reply.send(r);
            }
            Command::Abort {
                user_information,
                reply,
            } => {
                let r = self.conn.stack.abort(user_information);
                self.publish_data_state();
                if let Some(rr) = self.release_reply.take() {
                    let _ = rr.send(Err(AssociationError::Closed));
                }
                let _ = reply.send(r);
            }
        }
    }

    /// Handles the commands already queued after the one just handled (bounded by the
    /// queue's capacity), so that several sends are written in one vectored write.
    fn drain_commands(&mut self) {
        for _ in 0..self.cfg.limits.command_queue {
            if self.conn.stack.is_done() {
                return;
            }
            match self.commands.try_recv() {
                Ok(c) => self.on_command(Some(c)),
                Err(_) => return,
            }
        }
    }

    /// A queued send was acknowledged when queued; what fails here is logged. Values sent
    /// as the association ends are lost, as documented on [`Association::send`].
    fn on_send_result(&self, r: Result<(), AssociationError>) {
        if let Err(e) = r {
            if self.conn.stack.data_state() == DataState::Closed {
                tracing::debug!(target: "guls::association", error = %e,
                    "P-DATA request after the end: value dropped");
            } else {
                tracing::warn!(target: "guls::association", error = %e,
                    "queued P-DATA request refused: value dropped");
            }
        }
    }

    /// Publishes whether data may be sent (see [`SharedStats::data`]).
    fn publish_data_state(&self) {
        let v = match self.conn.stack.data_state() {
            DataState::Open => DATA_OPEN,
            DataState::Refused => DATA_REFUSED,
            DataState::Closed => DATA_CLOSED,
        };
        self.conn.stats.data.store(v, Ordering::Release);
    }

    fn on_stack_events(&mut self, events: Vec<StackEvent>) {
        self.publish_data_state();
        for ev in events {
            match ev {
                StackEvent::Data(values) => {
                    for v in values {
                        tracing::trace!(target: "guls::association", pcid = v.pcid,
                            len = v.value.data_len(), "P-DATA indication");
                        self.pending
                            .push_back(AssociationEvent::Data(DataIndication {
                                pcid: v.pcid,
                                abstract_syntax: v.abstract_syntax,
                                value: v.value,
                            }));
                    }
                }
                StackEvent::ReleaseIndication(r) if r.collision => {
                    tracing::info!(target: "guls::association", role = ?self.conn.stack.role(),
                        "release collision");
                    self.collision = true;
                    if self.conn.stack.role() == Role::Initiator {
                        if let Err(e) = self.conn.stack.release_response(&affirmative()) {
                            tracing::warn!(target: "guls::association", error = %e,
                                "release response in collision failed");
                        }
                    } else {
                        self.respond_after_confirm = true;
                    }
                }
                StackEvent::ReleaseIndication(r) => {
                    tracing::info!(target: "guls::association", "A-RELEASE indication");
                    self.pending.push_back(AssociationEvent::ReleaseIndication {
                        reason: r.reason,
                        user_information: r.user_information,
                    });
                }
                StackEvent::ReleaseConfirm(c) => {
                    tracing::info!(target: "guls::association", "A-RELEASE confirm");
                    if self.respond_after_confirm {
                        self.respond_after_confirm = false;
                        if let Err(e) = self.conn.stack.release_response(&affirmative()) {
                            tracing::warn!(target: "guls::association", error = %e,
                                "release response after confirm failed");
                        }
                    }
                    if let Some(reply) = self.release_reply.take() {
                        self.publish_data_state();
                        self.release_confirmed = true;
                        let _ = reply.send(Ok(ReleaseOutcome {
                            reason: c.reason,
                            user_information: c.user_information,
                            collision: self.collision,
                            data: Vec::new(),
                        }));
                    }
                }
                StackEvent::Abort(a) => {
                    tracing::info!(target: "guls::association", source = a.source.name(),
                        "A-ABORT indication");
                    // Reported once: to the waiting release call, else as an event.
                    if let Some(reply) = self.release_reply.take() {
                        self.publish_data_state();
                        let _ = reply.send(Err(AssociationError::Aborted(Box::new(a))));
                        continue;
                    }
                    self.pending.push_back(AssociationEvent::AbortIndication {
                        source: a.source,
                        diagnostic: a.diagnostic,
                        user_information: a.user_information,
                    });
                }
                StackEvent::ProviderAbort(reason) => {
                    tracing::info!(target: "guls::association", layer = %reason.layer(), %reason,
                        "A-P-ABORT");
                    // Reported once: to the waiting release call, else as an event.
                    if let Some(reply) = self.release_reply.take() {
                        self.publish_data_state();
                        let _ = reply.send(Err(AssociationError::ProviderAbort(reason)));
                        continue;
                    }
                    self.pending
                        .push_back(AssociationEvent::ProviderAbort { reason });
                }
                other => {
                    tracing::warn!(target: "guls::association", event = ?other,
                        "unexpected stack event in the data phase");
                }
            }
        }
    }
}

fn affirmative() -> ReleaseResponse {
    ReleaseResponse {
        reason: Some(ReleaseResponseReason::Normal),
        user_information: Vec::new(),
        result: ReleaseResult::Affirmative,
    }
}

fn refuse_closed(c: Command) {
    match c {
        Command::Send { .. } | Command::SendPayload { .. } => {}
        Command::ReleaseResponse { reply, .. } | Command::Abort { reply, .. } => {
            let _ = reply.send(Err(AssociationError::Closed));
        }
        Command::Release { reply, .. } => {
            let _ = reply.send(Err(AssociationError::Closed));
        }
    }
}

/// An established association: the application's handle to its driver task.
///
/// Dropping it without [`Association::release`] or [`Association::abort`] aborts the
/// association (session ABORT, TCP close).
#[derive(Debug)]
pub struct Association {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<AssociationEvent>,
    info: Arc<Info>,
    stats: Arc<SharedStats>,
    max_release_backlog: usize,
    queue_capacity: usize,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Send { .. } | Command::SendPayload { .. } => "Send",
            Command::Release { .. } => "Release",
            Command::ReleaseResponse { .. } => "ReleaseResponse",
            Command::Abort { .. } => "Abort",
        })
    }
}

impl Association {
    async fn command<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, AssociationError>>) -> Command,
    ) -> Result<T, AssociationError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| AssociationError::Closed)?;
        rx.await.map_err(|_| AssociationError::Closed)?
    }

    fn resolve(&self, ctx: ContextRef) -> Result<Pcid, AssociationError> {
        let found = match &ctx {
            ContextRef::Pcid(p) => self.info.contexts.iter().find(|c| c.pcid == *p),
            ContextRef::AbstractSyntax(o) => {
                self.info.contexts.iter().find(|c| &c.abstract_syntax == o)
            }
        };
        found.map(|c| c.pcid).ok_or_else(|| {
            AssociationError::IllegalPrimitive(format!("no context {ctx:?} in the DCS"))
        })
    }

    /// Queues a data command (acknowledged when queued; the bounded queue makes the caller
    /// wait while it is full), unless data may not be sent now.
    async fn queue_data(&self, cmd: Command) -> Result<(), AssociationError> {
        match self.stats.data.load(Ordering::Acquire) {
            DATA_OPEN => {}
            DATA_REFUSED => {
                return Err(AssociationError::IllegalPrimitive(
                    "P-DATA request while our release request is outstanding".into(),
                ));
            }
            _ => return Err(AssociationError::Closed),
        }
        self.commands
            .send(cmd)
            .await
            .map_err(|_| AssociationError::Closed)
    }

    /// P-DATA request: sends one value in the context named by identifier or abstract syntax.
    ///
    /// `Ok` means the value was queued for the socket: the driver writes it after the
    /// values queued before it (several queued values go out in one vectored write). The
    /// queue is bounded ([`crate::Limits::command_queue`]): while it is full, `send` waits
    /// (a peer that does not read so slows the sender down). When the transport is lost,
    /// values sent before the end is reported are lost; the end itself is reported once,
    /// by [`Association::recv`] (an [`AssociationEvent::ProviderAbort`]), never by `send`.
    /// After it, and after the association ended otherwise (release, abort), `send` returns
    /// [`AssociationError::Closed`]; while our release request is outstanding,
    /// [`AssociationError::IllegalPrimitive`].
    ///
    /// Cancel-safe: dropping the future while it waits for room in the queue sends nothing;
    /// once the value is queued, the call completes without waiting again.
    pub async fn send(
        &self,
        ctx: impl Into<ContextRef>,
        value: PdvValue,
    ) -> Result<(), AssociationError> {
        let pcid = self.resolve(ctx.into())?;
        self.queue_data(Command::Send {
            values: vec![(pcid, value)],
        })
        .await
    }

    /// P-DATA request with one octet-aligned value that is not copied: its octets are
    /// written to the socket from `value` itself (for instance an `Arc<[u8]>` shared by many
    /// sends, or a `Vec<u8>` handed over). Otherwise as [`Association::send`] with
    /// [`PdvValue::OctetAligned`], and the same octets on the wire.
    pub async fn send_octets<T>(
        &self,
        ctx: impl Into<ContextRef>,
        value: T,
    ) -> Result<(), AssociationError>
    where
        T: AsRef<[u8]> + Send + Sync + 'static,
    {
        let pcid = self.resolve(ctx.into())?;
        self.queue_data(Command::SendPayload {
            pcid,
            single_asn1: false,
            payload: Box::new(value),
        })
        .await
    }

    /// P-DATA request with one BER-encoded value (single-ASN1-type; `ber` is its whole TLV).
    pub async fn send_asn1(
        &self,
        ctx: impl Into<ContextRef>,
        ber: Vec<u8>,
    ) -> Result<(), AssociationError> {
        self.send(ctx, PdvValue::SingleAsn1Type(ber)).await
    }

    /// The next event. After the last one (release, abort) it returns
    /// [`AssociationError::Closed`]. Cancel-safe. See [`AssociationEvent`] for the ordering
    /// and report-once rules.
    pub async fn recv(&mut self) -> Result<AssociationEvent, AssociationError> {
        self.events.recv().await.ok_or(AssociationError::Closed)
    }

    /// A-RELEASE request with reason normal; waits for the confirm. Data values that arrive
    /// meanwhile are returned in [`ReleaseOutcome::data`] (at most
    /// [`crate::Limits::max_release_backlog`]; more aborts the association). A collision is
    /// resolved as X.217 9.2.2.10 says.
    ///
    /// An abort while waiting (the peer's ABRT, a session ABORT, the peer closing TCP
    /// without a DN — [`ProviderAbortReason::ConnectionClosed`] with stage `"release"` — or
    /// the release timeout) is returned as the error and is not reported again by
    /// [`Association::recv`], which then returns [`AssociationError::Closed`]. After `Ok`,
    /// no [`AssociationEvent::Released`] follows either.
    pub async fn release(&mut self) -> Result<ReleaseOutcome, AssociationError> {
        self.release_with(ReleaseRequest::normal()).await
    }

    /// A-RELEASE request with the given RLRQ parameters (see [`Association::release`]).
    pub async fn release_with(
        &mut self,
        req: ReleaseRequest,
    ) -> Result<ReleaseOutcome, AssociationError> {
        let (tx, mut rx) = oneshot::channel();
        self.commands
            .send(Command::Release { req, reply: tx })
            .await
            .map_err(|_| AssociationError::Closed)?;
        let mut data = Vec::new();
        loop {
            // Events first: those queued before the confirm belong to this release (data) or
            // end it (an abort queued before the request was handled).
            tokio::select! {
                biased;
                ev = self.events.recv() => match ev {
                    Some(AssociationEvent::Data(d)) => {
                        if data.len() >= self.max_release_backlog {
                            let _ = self.abort(Vec::new()).await;
                            return Err(AssociationError::ProviderAbort(
                                ProviderAbortReason::TooLarge {
                                    layer: crate::error::AbortLayer::Local,
                                    what: "data received during release",
                                    limit: self.max_release_backlog,
                                }));
                        }
                        data.push(d);
                    }
                    Some(AssociationEvent::Released) => {}
                    Some(AssociationEvent::AbortIndication { source, diagnostic, user_information }) => {
                        return Err(AssociationError::Aborted(Box::new(crate::error::AbortInfo {
                            source, diagnostic, user_information })));
                    }
                    Some(AssociationEvent::ProviderAbort { reason }) => {
                        return Err(AssociationError::ProviderAbort(reason));
                    }
                    Some(AssociationEvent::ReleaseIndication { .. }) => {}
                    None => {
                        return match rx.await {
                            Ok(r) => r.map(|mut o| { o.data = data; o }),
                            Err(_) => Err(AssociationError::Closed),
                        };
                    }
                },
                r = &mut rx => {
                    let mut outcome = r.map_err(|_| AssociationError::Closed)??;
                    outcome.data = data;
                    return Ok(outcome);
                }
            }
        }
    }

    /// A-RELEASE response (affirmative) to a [`AssociationEvent::ReleaseIndication`].
    ///
    /// When the peer closed TCP after its release request without waiting for the response
    /// (libiec61850 sends FN+RLRQ and closes at once), the release is still complete: this
    /// returns `Ok` (the DN+RLRE is written if the socket still takes it, else dropped) and
    /// the next event is [`AssociationEvent::Released`]; the close is not reported as an
    /// abort. The association waits for this response at most the release timeout
    /// ([`crate::Timeouts::release`]) once the peer is gone; after that the close is reported
    /// as an [`AssociationEvent::ProviderAbort`] (stage
    /// `"release (before the release response)"`) and this returns
    /// [`AssociationError::Closed`], as it does after any other end of the association.
    pub async fn release_response(
        &self,
        user_information: Vec<External>,
    ) -> Result<(), AssociationError> {
        let rsp = ReleaseResponse {
            user_information,
            ..affirmative()
        };
        self.command(|reply| Command::ReleaseResponse { rsp, reply })
            .await
    }

    /// A-ABORT request with optional user information; the association ends at once and no
    /// further event about its end is given. When the association already ended (its end
    /// is, or was, reported by [`Association::recv`] or [`Association::release`]),
    /// [`AssociationError::Closed`].
    pub async fn abort(&self, user_information: Vec<External>) -> Result<(), AssociationError> {
        self.command(|reply| Command::Abort {
            user_information,
            reply,
        })
        .await
    }

    /// The defined context set.
    pub fn contexts(&self) -> &[DefinedContext] {
        &self.info.contexts
    }

    /// The default context, when one is in effect.
    pub fn default_context(&self) -> Option<&DefaultContextName> {
        self.info.default_context.as_ref()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.info.peer
    }

    /// True for the association-initiator.
    pub fn is_initiator(&self) -> bool {
        self.info.role == Role::Initiator
    }

    /// The application context name in effect (the AARE's).
    pub fn application_context_name(&self) -> &Oid {
        &self.info.application_context_name
    }

    /// The A-ASSOCIATE confirm (initiator only): responding titles, AARE user information.
    pub fn associate_confirm(&self) -> Option<&AssociateConfirm> {
        self.info.confirm.as_ref()
    }

    /// Queue lengths and counters (for back-pressure tests and metrics).
    pub fn queue_stats(&self) -> QueueStats {
        QueueStats {
            queued_events: self.events.len(),
            queue_capacity: self.queue_capacity,
            driver_buffered_octets: self.stats.buffered.load(Ordering::Relaxed),
            driver_pending_events: self.stats.pending.load(Ordering::Relaxed),
            octets_received: self.stats.received.load(Ordering::Relaxed),
        }
    }
}
