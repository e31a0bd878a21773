//! The tokio driver: socket IO around a [`Stack`], run inline by the application's calls.
//!
//! # Design: no task per association; the caller's task drives the socket
//!
//! After establishment the [`Association`] handle owns the socket and the [`Stack`] (behind
//! a `tokio::sync::Mutex`, so that the `&self` calls can use them; [`Association::recv`] and
//! [`Association::release`] take `&mut self` and use the state without locking). There is
//! no driver task and no channel: each call runs the protocol machine and the socket IO in
//! the caller's own task, like a `TcpStream` (or a TLS stream) does. The driver step
//! (`Driver::drive`) does what the former per-association task did in one turn of its loop
//! — flush the output, close once the stack is done, feed received octets to the stack,
//! else read the socket or wait for a timer — and the calls repeat it until their own
//! condition holds: [`Association::recv`] until an event is pending, [`Association::release`]
//! until its outcome is known, the sending calls until their octets are written.
//!
//! * **The socket is serviced only while a call awaits.** Octets from the peer wait in the
//!   kernel until the next [`Association::recv`] (or [`Association::release`]); what they
//!   carry (data, a release request, an abort) is decoded then. The sending calls write but
//!   do not read: a peer's abort or close is decoded, and reported, by the next `recv` (after
//!   a failed write, sent values are dropped until then).
//! * **Back-pressure.** Decoded events wait in one queue in the handle, bounded by
//!   [`crate::Limits::event_queue`]: the socket is read only when the queue is empty, and
//!   received octets are decoded only while it has room, so a slow application makes the
//!   kernel's receive window close and the peer is slowed down. Memory per association is
//!   bounded by the event queue plus one TSDU's values, one read of at most
//!   [`crate::Limits::max_read`] octets plus one TPKT (the transport machine stops at each
//!   TPKT that completes a TSDU and holds at most one partial TPKT of the configured TPDU
//!   size; the receive buffer is never larger), and the transport's TSDU reassembly (at most
//!   `max_tsdu_size`). Sending completes when the octets are written to the socket, so a
//!   peer that does not read makes `send` wait (TCP back-pressure), bounded by the idle
//!   timeout. There is no command queue ([`crate::Limits::command_queue`] is unused).
//! * **Values read in place.** While a large value (a TD PPDU of one value that the
//!   transport splits from its headers) is received, reads go straight into the value's
//!   own buffer with vectored reads laid out by the transport machine (the rest of the DT
//!   being received, then header scratch and value slices for full-size DTs, up to the
//!   value's end; a read that reaches it also takes the next TSDU's first
//!   [`PROBE_READ`] octets into a small buffer of its own). What does not arrive as
//!   predicted (a peer segmenting otherwise) is processed as usual, with a copy; the
//!   events are the same either way. A new value buffer is zeroed before such a read
//!   (safe Rust reads only into initialized memory), which costs about what the copy
//!   did; buffers handed back with [`Association::recycle`] are reused without either.
//! * **Cancel-safety.** [`Association::recv`] is cancel-safe: the receive buffer and the
//!   decoded events live in the handle, so a cancelled call loses nothing. A cancelled
//!   sending call never leaves a half-written TPKT behind: the output being written keeps
//!   its unwritten octets (and the [`Stack`]'s output buffer those not yet started), and
//!   every call flushes them first. A value whose `send` was cancelled before it was encoded
//!   is not sent; once encoded, it is written by the next call (or when the handle is
//!   dropped, before the abort).
//! * **Ordering, report once.** Every indication decoded from octets received before the
//!   transport ended is delivered before anything about the end, and the end is reported
//!   once: to the call waiting for it ([`Association::release`]) or as an event. A write
//!   error does not overtake octets still to be read (the driver keeps reading to the end of
//!   stream first). A peer that closes TCP right after its release request gets its release
//!   completed by the application's release response.
//! * **Timers.** Idle (no octets from the peer for the idle time; also bounds one blocked
//!   write) and release (the peer's half of a release) end the association with a typed
//!   provider abort. Their deadlines run from the last octets received (or the last event
//!   taken), as before, but are acted on only while a call awaits the socket: a call made
//!   after the idle time with nothing from the peer meanwhile ends the association at once
//!   (octets already waiting in the kernel are read first).
//! * **Drop.** Dropping a handle whose association has not ended aborts it without a task:
//!   the session ABORT is queued, written with non-blocking writes and the socket closed;
//!   only when the socket does not take it all at once is a small task spawned (on the
//!   current runtime, if any) to finish the write (bounded by the idle timeout) and close.
//!   After our part of an orderly release (a sent DN), dropping the handle just closes.
//!   An association that ended while its handle lives has its socket shut down (FIN) then;
//!   the descriptor itself is closed when the handle is dropped.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use guls_acse::{
    AssociateConfirm, ReleaseRequest, ReleaseResponse, ReleaseResponseReason, ReleaseResult,
};
use guls_ber::{External, Oid};
use guls_presentation::{DataValue, DefaultContextName, DefinedContext, Pcid, PdvValue};

/// The largest capacity of an emptied event vector kept for the next read's events.
const MAX_REUSED_EVENTS: usize = 16;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, OwnedSemaphorePermit};
use tokio::time::{Instant, Sleep, sleep_until, timeout};

use crate::config::AssociationConfig;
use crate::error::{AssociationError, ProviderAbortReason, TimeoutKind};
use crate::stack::{DataState, Output, Payload, Role, Stack, StackEvent};
use crate::types::{AssociationEvent, ContextRef, DataIndication, QueueStats, ReleaseOutcome};
use guls_transport::ScatterRead;

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
/// Scatter reads of at most this many buffers (the probe included) are laid out in a stack
/// array, not a new vector per read (a full read of the default 64 KiB in DTs of the
/// default 8192 octets takes about 20).
const SCATTER_SLOTS: usize = 48;
/// Between TSDUs, when the last one was a split value, a read takes at most this much: the
/// next TSDU's first octets, enough for the transport to split off its head, so that the
/// rest of the value is read straight into place (see [`Conn::read_more`]).
const PROBE_READ: usize = 256;
/// Most buffers waiting in [`Association::recycle`]'s hand-over until the next
/// [`Association::recv`] passes them to the transport machine's pool.
const MAX_RETURNED: usize = guls_transport::MAX_RECYCLED;

/// Counters published for [`Association::queue_stats`] (read without the lock).
#[derive(Default, Debug)]
pub(crate) struct SharedStats {
    buffered: AtomicUsize,
    pending: AtomicUsize,
    received: AtomicU64,
}

/// A socket with its receive buffer and the stack.
///
/// Received octets are read straight into `buf`'s free space; `buf[pos..scan]` are complete
/// TPKTs not yet given to the stack and `buf[scan..]` a partial one, which stays here until
/// it is complete (so the transport machine works on TPKTs where they are, without copying
/// them first) — except in the data phase, where the transport machine takes partial TPKTs
/// (a DT's payload goes into its value as it arrives), and while a value is received,
/// when reads go into the value itself ([`Conn::read_scatter`]).
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
    /// Octets of `wout` already written (kept across a cancelled write).
    wdone: usize,
    /// Octets in `wout`.
    wlen: usize,
    /// Room for the IO slices of a write (empty between writes; see [`reuse_io_slices`]).
    iov: Vec<IoSlice<'static>>,
    pub(crate) stack: Stack,
    pub(crate) peer: SocketAddr,
    pub(crate) stats: Arc<SharedStats>,
    /// The layout of a read straight into a value (reused).
    scatter: ScatterRead,
    /// Events of a TSDU completed by a scatter read, for the next [`Conn::process`].
    early: Vec<StackEvent>,
    /// [`PROBE_READ`] octets (allocated at the first scatter read) that a scatter read
    /// ending with its TSDU also reads into: the start of the next TSDU, then processed as
    /// usual (so that one read per value suffices).
    probe: Vec<u8>,
}

/// True when trace events may be recorded (the check tracing's macros make first, inline:
/// the per-value paths call their trace events out of line only then).
#[inline(always)]
fn trace_on() -> bool {
    tracing::Level::TRACE <= tracing::level_filters::STATIC_MAX_LEVEL
        && tracing::Level::TRACE <= tracing::level_filters::LevelFilter::current()
}

/// Traces a write (out of the write path's way).
#[cold]
#[inline(never)]
fn trace_write(peer: SocketAddr, len: usize) {
    tracing::trace!(target: "guls::association", peer = %peer, len, "write");
}

/// Why [`write_all_vectored`] stopped.
enum WriteError {
    Io(std::io::Error),
    /// The socket took nothing for `limit`.
    Timeout,
}

/// An emptied vector of IO slices keeping its allocation, for slices of another lifetime
/// (the in-place `collect` of a vector's own iterator reuses its allocation): one vector
/// serves every write, neither allocated nor initialized anew for each.
#[allow(clippy::unnecessary_filter_map)] // the map changes the element type's lifetime
fn reuse_io_slices<'b>(mut v: Vec<IoSlice<'_>>) -> Vec<IoSlice<'b>> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Writes what the socket takes now of `out`'s octets from `*done` to its end, with
/// vectored writes, without waiting; `*done` follows each write. True when all are written.
/// `iov` is room for the IO slices, reused from one call to the next.
fn try_write_out(
    stream: &TcpStream,
    out: &Output,
    done: &mut usize,
    iov: &mut Vec<IoSlice<'static>>,
) -> std::io::Result<bool> {
    let mut bufs = reuse_io_slices(std::mem::take(iov));
    out.io_slices_from(*done, &mut bufs);
    let r = write_slices(stream, &mut bufs, out.len(), done);
    *iov = reuse_io_slices(bufs);
    r
}

/// [`try_write_out`]'s writes of `bufs`, the octets of an output of `total` octets from
/// `*done` on.
fn write_slices(
    stream: &TcpStream,
    bufs: &mut [IoSlice<'_>],
    total: usize,
    done: &mut usize,
) -> std::io::Result<bool> {
    let mut bufs = bufs;
    while *done < total {
        let n = bufs.len().min(MAX_IO_SLICES);
        match stream.try_write_vectored(bufs.get(..n).unwrap_or_default()) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                *done += written;
                // The usual write takes everything: nothing to move on.
                if *done < total {
                    IoSlice::advance_slices(&mut bufs, written);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Writes `out`'s octets from `*done` to its end, with vectored writes; `*done` follows
/// each write, so a cancelled call loses nothing and writes nothing twice. What the socket
/// takes at once is written without arming a timer (the usual case: the whole output fits
/// in the send buffer); only waiting for room is bounded by `limit`.
async fn write_all_vectored(
    stream: &TcpStream,
    out: &Output,
    done: &mut usize,
    iov: &mut Vec<IoSlice<'static>>,
    limit: Duration,
) -> Result<(), WriteError> {
    match try_write_out(stream, out, done, iov) {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => return Err(WriteError::Io(e)),
    }
    let rest = async {
        loop {
            stream.writable().await?;
            if try_write_out(stream, out, done, iov)? {
                return Ok(());
            }
        }
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
            wdone: 0,
            wlen: 0,
            iov: Vec::new(),
            stack,
            peer,
            stats: Arc::new(SharedStats::default()),
            scatter: ScatterRead::new(),
            early: Vec::new(),
            probe: Vec::new(),
        }
    }

    /// True when octets are still to be written: the rest of a cancelled write, or the
    /// stack's output.
    fn has_unwritten(&self) -> bool {
        self.wdone < self.wlen || self.stack.has_output()
    }

    /// Takes the stack's output as the next output to write, once the current one is
    /// written; false when there is nothing more to write.
    fn next_output(&mut self) -> bool {
        if self.wdone < self.wlen {
            return true;
        }
        self.wout.clear();
        self.wdone = 0;
        self.wlen = 0;
        if !self.stack.has_output() {
            return false;
        }
        std::mem::swap(&mut self.wout, self.stack.output_mut());
        self.wlen = self.wout.len();
        if trace_on() {
            trace_write(self.peer, self.wlen);
        }
        true
    }

    /// Drops what is still to be written (after a write error).
    fn discard_output(&mut self) {
        self.wout.clear();
        self.wdone = 0;
        self.wlen = 0;
        self.stack.output_mut().clear();
    }

    /// Writes everything still to be written — the rest of a cancelled write first, then
    /// what the stack queued — with vectored writes, each output bounded by `limit`.
    /// Cancel-safe: a cancelled call leaves the unwritten octets to the next one. What a
    /// failed write left is dropped.
    pub(crate) async fn flush(&mut self, limit: Duration) -> Result<(), ProviderAbortReason> {
        while self.next_output() {
            let Conn {
                stream,
                wout,
                wdone,
                iov,
                ..
            } = self;
            match write_all_vectored(stream, wout, wdone, iov, limit).await {
                Ok(()) => {}
                Err(e) => {
                    self.discard_output();
                    return Err(match e {
                        WriteError::Io(e) => ProviderAbortReason::Io(e.to_string()),
                        WriteError::Timeout => ProviderAbortReason::Timeout(TimeoutKind::Idle),
                    });
                }
            }
        }
        Ok(())
    }

    /// [`Conn::flush`] without waiting: writes what the socket takes now. True when
    /// everything is written.
    fn try_flush(&mut self) -> std::io::Result<bool> {
        while self.next_output() {
            if !try_write_out(&self.stream, &self.wout, &mut self.wdone, &mut self.iov)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
    /// Feeds the unprocessed octets to the stack until a step produces events (or all are
    /// consumed). The transport machine stops at each complete TPKT with an event, so the
    /// octets after it stay here until the events are delivered.
    pub(crate) fn process(&mut self) -> Vec<StackEvent> {
        let mut events = std::mem::take(&mut self.early);
        while events.is_empty() && !self.stack.is_done() && self.pos < self.buf.len() {
            // Only complete TPKTs, unless the transport machine already holds a partial one
            // or takes partial ones (their payload then goes straight into a value).
            let end = if self.stack.buffered_frame_len() > 0 || self.stack.streams_partial_frames()
            {
                self.buf.len()
            } else {
                self.scan
            };
            let Some(input) = self.buf.get(self.pos..end).filter(|i| !i.is_empty()) else {
                break;
            };
            let used = self.stack.on_bytes(input, &mut events);
            self.pos += used.min(input.len());
        }
        if self.stack.is_done() || self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.scan = 0;
        }
        self.store_buffered();
        if events.is_empty() && self.early.capacity() == 0 {
            // Nothing to hand out: the vector's room gathers the next read's events.
            self.early = events;
            return Vec::new();
        }
        events
    }

    /// Hands an emptied event vector back: its room gathers the next read's events (see
    /// [`Conn::process`]).
    pub(crate) fn recycle_events(&mut self, mut events: Vec<StackEvent>) {
        if self.early.capacity() == 0 && events.capacity() <= MAX_REUSED_EVENTS {
            events.clear();
            self.early = events;
        }
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
    ///
    /// While a split TSDU's value is being received and everything read before is
    /// processed, the read goes straight into the value instead (see [`Conn::read_scatter`]),
    /// and between TSDUs after a split one it takes at most [`PROBE_READ`] octets, the next
    /// TSDU's start, so that the rest of its value can be read into place.
    pub(crate) async fn read_more(&mut self) -> std::io::Result<usize> {
        if self.pos >= self.buf.len() && self.stack.plan_scatter(self.read_size, &mut self.scatter)
        {
            return self.read_scatter().await;
        }
        let probe = self.pos >= self.buf.len() && self.stack.next_tsdu_likely_split();
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
        let want = if probe {
            PROBE_READ.min(self.read_size)
        } else {
            self.read_size
        };
        let n = (&mut self.stream)
            .take(want as u64)
            .read_buf(&mut self.buf)
            .await?;
        if !probe && n >= self.read_size {
            self.read_size = (self.read_size * 2).min(self.max_read);
        }
        self.scan_frames();
        self.stats.received.fetch_add(n as u64, Ordering::Relaxed);
        self.store_buffered();
        Ok(n)
    }
}

impl Conn {
    /// One read laid out by [`Stack::plan_scatter`] (cancel-safe: the read and its
    /// acceptance happen in one step, after waiting for readiness): the octets that arrive
    /// as predicted are in place in the value; those after the first prediction that fails
    /// are appended to the (empty) receive buffer and processed as usual. When the layout
    /// runs to the end of the TSDU, the same read also takes up to [`PROBE_READ`] octets of
    /// what follows (the next TSDU's start, never predicted: it is processed as usual).
    /// Returns the octets read (0 at end of stream).
    async fn read_scatter(&mut self) -> std::io::Result<usize> {
        self.buf.clear();
        self.pos = 0;
        self.scan = 0;
        let tail = self.scatter.ends_tsdu();
        if tail && self.probe.len() < PROBE_READ {
            self.probe.resize(PROBE_READ, 0);
        }
        loop {
            self.stream.readable().await?;
            let r = {
                let mut slots: [std::io::IoSliceMut<'_>; SCATTER_SLOTS] =
                    std::array::from_fn(|_| std::io::IoSliceMut::new(&mut []));
                let room = SCATTER_SLOTS - usize::from(tail);
                let placed = slots
                    .get_mut(..room)
                    .and_then(|s| self.stack.scatter_bufs_into(&mut self.scatter, s));
                match placed {
                    Some(mut k) => {
                        if tail && let Some(slot) = slots.get_mut(k) {
                            *slot = std::io::IoSliceMut::new(&mut self.probe);
                            k += 1;
                        }
                        self.stream
                            .try_read_vectored(slots.get_mut(..k).unwrap_or_default())
                    }
                    None => {
                        // A layout of more buffers than the array holds (small TPDUs).
                        let mut bufs = self.stack.scatter_bufs(&mut self.scatter);
                        if tail {
                            bufs.push(std::io::IoSliceMut::new(&mut self.probe));
                        }
                        self.stream.try_read_vectored(&mut bufs)
                    }
                }
            };
            let n = match r {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(0);
            }
            let planned = self.scatter.len();
            self.stack.accept_scatter(
                &self.scatter,
                n.min(planned),
                &mut self.buf,
                &mut self.early,
            );
            if n > planned {
                let after = self.probe.get(..n - planned).unwrap_or_default();
                self.buf.extend_from_slice(after);
            }
            if n >= planned && planned >= self.read_size {
                self.read_size = (self.read_size * 2).min(self.max_read);
            }
            self.scan_frames();
            self.stats.received.fetch_add(n as u64, Ordering::Relaxed);
            self.store_buffered();
            return Ok(n);
        }
    }
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

/// How reading from the socket ended.
#[derive(Debug, Clone)]
enum RxGone {
    /// End of stream: the peer closed (FIN).
    Eof,
    /// A read failed (for instance a reset).
    Io(String),
}

/// The state of an established association, driven by the calls on its [`Association`].
struct Driver {
    conn: Conn,
    cfg: Arc<AssociationConfig>,
    /// Decoded events not yet taken by the application (bounded by
    /// [`crate::Limits::event_queue`] plus one TSDU's values).
    pending: VecDeque<AssociationEvent>,
    /// An [`Association::release`] is waiting for its outcome (in `release_result`).
    release_waiting: bool,
    /// The outcome of the release request, for the waiting [`Association::release`].
    release_result: Option<Result<ReleaseOutcome, AssociationError>>,
    collision: bool,
    respond_after_confirm: bool,
    /// The release was confirmed to a waiting [`Association::release`]: that is its report,
    /// so no [`AssociationEvent::Released`] follows.
    release_confirmed: bool,
    release_deadline: Option<Instant>,
    last_rx: Instant,
    /// One timer for the idle and release deadlines: moved earlier when a deadline comes
    /// before it, re-armed when it fires before the deadline in force (octets arrived
    /// meanwhile); not registered anew for every read.
    timer: Pin<Box<Sleep>>,
    /// Reading ended (end of stream or a read error): nothing more will arrive.
    rx_gone: Option<RxGone>,
    /// A write failed (IO error): nothing more can be sent; what the peer sent before is
    /// still read and delivered before the close is reported.
    tx_gone: Option<String>,
    /// The transport is closed (flushed and shut down): only `pending` is left.
    closed: bool,
    permit: Option<OwnedSemaphorePermit>,
}

/// Makes the handle of an established connection (no task is started).
pub(crate) fn start(
    mut conn: Conn,
    cfg: Arc<AssociationConfig>,
    confirm: Option<AssociateConfirm>,
    application_context_name: Oid,
    permit: Option<OwnedSemaphorePermit>,
) -> Association {
    let info = Arc::new(Info {
        role: conn.stack.role(),
        peer: conn.peer,
        contexts: conn.stack.take_contexts(),
        default_context: conn.stack.default_context(),
        application_context_name,
        confirm,
    });
    let stats = conn.stats.clone();
    let last_rx = Instant::now();
    let driver = Driver {
        conn,
        pending: VecDeque::new(),
        release_waiting: false,
        release_result: None,
        collision: false,
        respond_after_confirm: false,
        release_confirmed: false,
        release_deadline: None,
        last_rx,
        timer: Box::pin(sleep_until(last_rx + cfg.timeouts.idle)),
        rx_gone: None,
        tx_gone: None,
        closed: false,
        permit,
        cfg: cfg.clone(),
    };
    Association {
        driver: Some(Box::new(Mutex::new(driver))),
        info,
        stats,
        max_release_backlog: cfg.limits.max_release_backlog,
        queue_capacity: cfg.limits.event_queue,
        returned: std::sync::Mutex::new(Vec::new()),
    }
}

impl Driver {
    fn idle(&self) -> Duration {
        self.cfg.timeouts.idle
    }

    /// What the association was doing, for [`ProviderAbortReason::ConnectionClosed`].
    fn stage(&self) -> &'static str {
        if self.release_waiting || self.conn.stack.is_released() {
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
        !self.release_waiting
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

    /// Publishes the number of undelivered events (see [`Association::queue_stats`]).
    fn publish_pending(&self) {
        self.conn
            .stats
            .pending
            .store(self.pending.len(), Ordering::Relaxed);
    }

    /// Takes the next event for the application (its delivery counts as activity for the
    /// idle timer, as the former driver task's hand-over did).
    fn take_event(&mut self) -> Option<AssociationEvent> {
        let ev = self.pending.pop_front()?;
        self.last_rx = Instant::now();
        self.publish_pending();
        Some(ev)
    }

    /// True when [`Driver::settle`] has something to do: octets to write, or a transport to
    /// close.
    fn needs_settle(&self) -> bool {
        !self.closed
            && (self.conn.has_unwritten()
                || self.conn.stack.is_done()
                || (self.conn.stack.is_released()
                    && (self.rx_gone.is_some() || self.tx_gone.is_some())))
    }

    /// Writes what the stack queued. A write IO error does not end the association at once:
    /// the octets the peer sent before its close are still read and their indications
    /// delivered first (see [`Driver::drive`]). After a write error, output is discarded.
    async fn write_output(&mut self) {
        if self.tx_gone.is_some() {
            self.conn.discard_output();
            return;
        }
        if !self.conn.has_unwritten() {
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

    /// Writes the output and closes the transport once the association is over (the stack
    /// is done, or our part of a release is done and the transport ended). True when the
    /// transport is closed.
    async fn settle(&mut self) -> bool {
        if self.closed {
            return true;
        }
        self.write_output().await;
        if self.conn.stack.is_done() {
            self.finish().await;
            return true;
        }
        if self.conn.stack.is_released() {
            if self.rx_gone.is_some() || self.tx_gone.is_some() {
                tracing::debug!(target: "guls::association", "transport ended after release");
                self.finish().await;
                return true;
            }
            if self.release_deadline.is_none() {
                self.release_deadline = Some(Instant::now() + self.cfg.timeouts.release);
            }
        }
        false
    }

    /// One step of the driver: writes the output (closing the transport when the
    /// association is over), else gives received octets to the stack, else — when every
    /// event decoded so far was taken — reads the socket or acts on a timer. The calls on
    /// [`Association`] repeat it until their condition holds. Cancel-safe: it awaits only
    /// the (resumable) flush, a socket read and timers.
    ///
    /// Ordering rule: the socket is read only when every event decoded so far has been
    /// taken, and the end of the transport (end of stream, read or write error) is acted on
    /// only once every octet received before it has been processed and its indications
    /// taken. So an indication is never overtaken by the close.
    ///
    /// When the transport ends while the application owes the answer to a release indication
    /// (libiec61850 sends FN+RLRQ and closes TCP without waiting for the DN), the driver waits
    /// for that answer (bounded by the release timeout): a release response completes the
    /// release ([`AssociationEvent::Released`]); the timeout reports the close once.
    async fn drive(&mut self) {
        if self.settle().await {
            return;
        }
        if self.pending.len() < self.cfg.limits.event_queue {
            let ev = self.conn.process();
            if !ev.is_empty() || self.conn.stack.is_done() || self.conn.stack.has_output() {
                self.on_stack_events(ev);
                return;
            }
        }
        if !self.pending.is_empty() {
            return;
        }
        // Everything received so far is processed and its events are taken.
        if self.rx_gone.is_some() {
            if self.awaiting_application_release_response() {
                let release = self.cfg.timeouts.release;
                let deadline = *self
                    .release_deadline
                    .get_or_insert_with(|| Instant::now() + release);
                tracing::debug!(target: "guls::association",
                    "peer closed TCP after its release request; awaiting the release response");
                sleep_until(deadline).await;
            }
            self.report_close();
            return;
        }
        let mut deadline = self.last_rx + self.idle();
        let mut kind = TimeoutKind::Idle;
        if let Some(r) = self.release_deadline
            && r < deadline
        {
            deadline = r;
            kind = TimeoutKind::Release;
        }
        if deadline < self.timer.deadline() {
            self.timer.as_mut().reset(deadline);
        }
        enum Wake {
            Read(std::io::Result<usize>),
            Timer,
        }
        // Octets already waiting are read before a deadline that passed is acted on.
        let wake = tokio::select! {
            biased;
            r = self.conn.read_more() => Wake::Read(r),
            _ = &mut self.timer => Wake::Timer,
        };
        match wake {
            Wake::Read(Ok(0)) => self.rx_gone = Some(RxGone::Eof),
            Wake::Read(Ok(_)) => self.last_rx = Instant::now(),
            Wake::Read(Err(e)) => self.rx_gone = Some(RxGone::Io(e.to_string())),
            Wake::Timer if Instant::now() < deadline => {
                // Armed for an earlier deadline, since moved on.
                self.timer.as_mut().reset(deadline);
            }
            Wake::Timer => {
                if kind == TimeoutKind::Release && self.conn.stack.is_released() {
                    tracing::debug!(target: "guls::association",
                        "peer did not close after release; closing");
                    self.finish().await;
                    return;
                }
                if self.tx_gone.is_some() {
                    self.report_close();
                    return;
                }
                let ev = self
                    .conn
                    .stack
                    .local_abort(ProviderAbortReason::Timeout(kind));
                self.on_stack_events(ev);
            }
        }
    }

    /// Closes the transport: flushes what is left (an abort PDU, a DN), shuts the socket
    /// down, and queues [`AssociationEvent::Released`] after a release not confirmed to a
    /// waiting [`Association::release`]. Cancel-safe (a cancelled close is completed by the
    /// next call).
    async fn finish(&mut self) {
        if self.closed {
            return;
        }
        if self.tx_gone.is_none() {
            let _ = self.conn.flush(self.idle()).await;
        } else {
            self.conn.discard_output();
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
        self.closed = true;
        self.permit = None;
        self.publish_pending();
        tracing::debug!(target: "guls::association", peer = %self.conn.peer, "association ended");
    }

    /// Settles after a call's own work (see [`Driver::settle`]), when there is anything to
    /// do.
    async fn settle_if_needed(&mut self) {
        if self.needs_settle() {
            self.settle().await;
        }
    }

    /// P-DATA request (encoded into the stack's output; written by the caller's settle).
    fn send(
        &mut self,
        encode: impl FnOnce(&mut Stack) -> Result<(), AssociationError>,
    ) -> Result<(), AssociationError> {
        if self.closed {
            return Err(AssociationError::Closed);
        }
        match self.conn.stack.data_state() {
            DataState::Open => {}
            DataState::Refused => {
                return Err(AssociationError::IllegalPrimitive(
                    "P-DATA request while our release request is outstanding".into(),
                ));
            }
            DataState::Closed => return Err(AssociationError::Closed),
        }
        encode(&mut self.conn.stack)
    }

    /// A-RELEASE request; the outcome goes to `release_result`.
    fn start_release(&mut self, req: &ReleaseRequest) {
        if self.release_waiting {
            self.release_result = Some(Err(AssociationError::IllegalPrimitive(
                "a release is already in progress".into(),
            )));
            return;
        }
        if self.closed {
            self.release_result = Some(Err(AssociationError::Closed));
            return;
        }
        match self.conn.stack.release_request(req) {
            Ok(()) => {
                self.release_waiting = true;
                self.release_result = None;
                self.release_deadline = Some(Instant::now() + self.cfg.timeouts.release);
            }
            Err(e) => self.release_result = Some(Err(e)),
        }
    }

    /// Hands the release outcome to the waiting [`Association::release`].
    fn complete_release(&mut self, r: Result<ReleaseOutcome, AssociationError>) {
        self.release_waiting = false;
        self.release_result = Some(r);
    }

    /// A-RELEASE response (written by the caller's settle).
    fn release_response(&mut self, rsp: &ReleaseResponse) -> Result<(), AssociationError> {
        if self.closed {
            return Err(AssociationError::Closed);
        }
        self.conn.stack.release_response(rsp)
    }

    /// A-ABORT request (written, and the transport closed, by the caller's settle).
    fn abort(&mut self, user_information: Vec<External>) -> Result<(), AssociationError> {
        if self.closed {
            return Err(AssociationError::Closed);
        }
        let r = self.conn.stack.abort(user_information);
        if self.release_waiting {
            self.complete_release(Err(AssociationError::Closed));
        }
        r
    }

    fn on_stack_events(&mut self, mut events: Vec<StackEvent>) {
        for ev in events.drain(..) {
            match ev {
                StackEvent::Data(values) => {
                    for v in values {
                        self.on_data_value(v);
                    }
                }
                StackEvent::Value(v) => self.on_data_value(v),
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
                    if self.release_waiting {
                        self.release_confirmed = true;
                        self.complete_release(Ok(ReleaseOutcome {
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
                    if self.release_waiting {
                        self.complete_release(Err(AssociationError::Aborted(Box::new(a))));
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
                    if self.release_waiting {
                        self.complete_release(Err(AssociationError::ProviderAbort(reason)));
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
        // The emptied vector gathers the next read's events (see `Conn::read_more`).
        self.conn.recycle_events(events);
        self.publish_pending();
    }

    /// A P-DATA indication value, queued for the application.
    fn on_data_value(&mut self, v: DataValue) {
        if trace_on() {
            trace_indication(&v);
        }
        self.pending
            .push_back(AssociationEvent::Data(DataIndication {
                pcid: v.pcid,
                abstract_syntax: v.abstract_syntax,
                value: v.value,
            }));
    }

    /// The handle was dropped: aborts an association that has not ended, writes what is
    /// left without waiting and closes; when the socket does not take it all at once, a
    /// small task (on the current runtime, if any) finishes the write, bounded by the idle
    /// timeout, and closes.
    fn on_drop(mut self) {
        if self.closed {
            return;
        }
        if !self.conn.stack.is_done() && !self.conn.stack.is_released() {
            tracing::info!(target: "guls::association", "association handle dropped: aborting");
            let _ = self
                .conn
                .stack
                .local_abort(ProviderAbortReason::HandleDropped);
        }
        if self.tx_gone.is_some() {
            return;
        }
        match self.conn.try_flush() {
            Ok(true) | Err(_) => {}
            Ok(false) => {
                let Ok(rt) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let idle = self.idle();
                let Driver {
                    mut conn, permit, ..
                } = self;
                rt.spawn(async move {
                    let _permit = permit;
                    if conn.flush(idle).await.is_ok() {
                        let _ = timeout(Duration::from_secs(1), conn.stream.shutdown()).await;
                    }
                });
            }
        }
    }
}

/// Traces a P-DATA indication value (out of the receive path's way).
#[cold]
#[inline(never)]
fn trace_indication(v: &DataValue) {
    tracing::trace!(target: "guls::association", pcid = v.pcid,
        len = v.value.data_len(), "P-DATA indication");
}

fn affirmative() -> ReleaseResponse {
    ReleaseResponse {
        reason: Some(ReleaseResponseReason::Normal),
        user_information: Vec::new(),
        result: ReleaseResult::Affirmative,
    }
}

/// An established association: the application's handle, which drives it.
///
/// The calls run the protocol and the socket IO in the caller's task (see the module docs:
/// the socket is serviced only while a call awaits, as a `TcpStream` is). The `&self` calls
/// ([`Association::send`], [`Association::release_response`], [`Association::abort`]) take
/// a lock on the association's state for their duration: calls from several tasks are
/// served one after the other.
///
/// Dropping it without [`Association::release`] or [`Association::abort`] aborts the
/// association (session ABORT, TCP close), without waiting (see the module docs).
pub struct Association {
    /// The driver state; `None` only while the handle is dropped.
    driver: Option<Box<Mutex<Driver>>>,
    info: Arc<Info>,
    stats: Arc<SharedStats>,
    max_release_backlog: usize,
    queue_capacity: usize,
    /// Buffers handed back by [`Association::recycle`], passed to the transport machine by
    /// the next [`Association::recv`] (at most [`MAX_RETURNED`]).
    returned: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Association")
            .field("info", &self.info)
            .field("stats", &self.queue_stats())
            .finish_non_exhaustive()
    }
}

impl Drop for Association {
    fn drop(&mut self) {
        if let Some(d) = self.driver.take() {
            d.into_inner().on_drop();
        }
    }
}

impl Association {
    /// The driver state, for the `&self` calls.
    fn shared(&self) -> &Mutex<Driver> {
        self.driver
            .as_deref()
            .expect("the driver state is present until the handle is dropped")
    }

    /// The driver state, for the `&mut self` calls (no lock needed).
    fn exclusive(&mut self) -> &mut Driver {
        self.driver
            .as_deref_mut()
            .expect("the driver state is present until the handle is dropped")
            .get_mut()
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

    /// Encodes a data value into the output (unless data may not be sent now) and writes
    /// it, with anything written before it that is still unwritten.
    async fn send_with(
        &self,
        encode: impl FnOnce(&mut Stack) -> Result<(), AssociationError>,
    ) -> Result<(), AssociationError> {
        let mut d = self.shared().lock().await;
        d.send(encode)?;
        d.settle_if_needed().await;
        Ok(())
    }

    /// P-DATA request: sends one value in the context named by identifier or abstract syntax.
    ///
    /// The value is encoded and written to the socket in the caller's task; `Ok` means its
    /// octets were written (handed to the kernel), after anything written before it. While
    /// the socket takes nothing (a peer that does not read), `send` waits (TCP
    /// back-pressure), at most the idle timeout ([`crate::Timeouts::idle`]), after which the
    /// association ends with a provider abort reported by [`Association::recv`]. `send`
    /// does not read the socket: what the peer sends waits for the next
    /// [`Association::recv`].
    ///
    /// When the transport is lost, values sent before the end is reported are lost; the end
    /// itself is reported once, by [`Association::recv`] (an
    /// [`AssociationEvent::ProviderAbort`]), never by `send` (after a failed write, values
    /// are dropped until then). After the end was decoded, and after the association ended
    /// otherwise (release, abort), `send` returns [`AssociationError::Closed`]; while our
    /// release request is outstanding, [`AssociationError::IllegalPrimitive`]. A value the
    /// stack cannot encode is refused with the stack's error.
    ///
    /// Cancel-safety: dropping the future before the value is encoded (while it waits for
    /// another call on this association) sends nothing. Once encoded, the value is sent
    /// whole: what a cancelled write left unwritten is written first by the next call on the
    /// association (or when the handle is dropped), so no half-written TPKT is left behind.
    pub async fn send(
        &self,
        ctx: impl Into<ContextRef>,
        value: PdvValue,
    ) -> Result<(), AssociationError> {
        let pcid = self.resolve(ctx.into())?;
        self.send_with(|s| s.send_data(vec![(pcid, value)])).await
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
        let payload = Payload::new(value);
        self.send_with(|s| s.send_payload(pcid, false, payload))
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
    /// [`AssociationError::Closed`]. See [`AssociationEvent`] for the ordering and
    /// report-once rules.
    ///
    /// This is what reads the socket: it writes what is still to be written, decodes the
    /// octets received, and reads (waiting for the peer, and acting on the idle and release
    /// timers) until an event is decoded. Events decoded earlier are returned without
    /// reading.
    ///
    /// Cancel-safe: the receive buffer and the decoded events belong to the association, so
    /// a cancelled call loses nothing; the next call continues where it stopped.
    pub async fn recv(&mut self) -> Result<AssociationEvent, AssociationError> {
        let returned = self
            .returned
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let d = self
            .driver
            .as_deref_mut()
            .expect("the driver state is present until the handle is dropped")
            .get_mut();
        for buf in returned.drain(..) {
            d.conn.stack.recycle(buf);
        }
        loop {
            if !d.pending.is_empty() && !d.needs_settle() {
                if let Some(ev) = d.take_event() {
                    return Ok(ev);
                }
            }
            if d.closed && d.pending.is_empty() {
                return Err(AssociationError::Closed);
            }
            d.drive().await;
        }
    }

    /// A-RELEASE request with reason normal; waits for the confirm. Data values that arrive
    /// meanwhile (and those received before and not yet taken by [`Association::recv`]) are
    /// returned in [`ReleaseOutcome::data`] (at most [`crate::Limits::max_release_backlog`];
    /// more aborts the association). A collision is resolved as X.217 9.2.2.10 says. The
    /// call drives the association (as [`Association::recv`] does) until the outcome is
    /// known; as initiator it also closes the transport after the DN.
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
        let max_backlog = self.max_release_backlog;
        let d = self.exclusive();
        d.start_release(&req);
        let r = release_outcome(d, max_backlog).await;
        d.settle_if_needed().await;
        r
    }

    /// A-RELEASE response (affirmative) to a [`AssociationEvent::ReleaseIndication`]; `Ok`
    /// once the DN+RLRE is written. The association then waits for the peer to close the
    /// transport, which the next [`Association::recv`] reports as
    /// [`AssociationEvent::Released`] (dropping the handle instead just closes).
    ///
    /// When the peer closed TCP after its release request without waiting for the response
    /// (libiec61850 sends FN+RLRQ and closes at once), the release is still complete: this
    /// returns `Ok` (the DN+RLRE is written if the socket still takes it, else dropped) and
    /// the next event is [`AssociationEvent::Released`]; the close is not reported as an
    /// abort. The association waits for this response at most the release timeout
    /// ([`crate::Timeouts::release`]) once the peer is gone (measured while
    /// [`Association::recv`] awaits); after that the close is reported as an
    /// [`AssociationEvent::ProviderAbort`] (stage `"release (before the release response)"`)
    /// and this returns [`AssociationError::Closed`], as it does after any other end of the
    /// association.
    pub async fn release_response(
        &self,
        user_information: Vec<External>,
    ) -> Result<(), AssociationError> {
        let rsp = ReleaseResponse {
            user_information,
            ..affirmative()
        };
        let mut d = self.shared().lock().await;
        let r = d.release_response(&rsp);
        d.settle_if_needed().await;
        r
    }

    /// A-ABORT request with optional user information; the association ends at once and no
    /// further event about its end is given. The call writes the ABORT and closes the
    /// transport before it returns. When the association already ended (its end is, or
    /// was, reported by [`Association::recv`] or [`Association::release`]),
    /// [`AssociationError::Closed`].
    pub async fn abort(&self, user_information: Vec<External>) -> Result<(), AssociationError> {
        let mut d = self.shared().lock().await;
        let r = d.abort(user_information);
        d.settle_if_needed().await;
        r
    }

    /// Hands a received value's buffer back once the application is done with it (for
    /// instance [`crate::DataIndication::into_octets`]), so that a later value is read
    /// into it: large values are then read from the socket straight into their buffer
    /// without a copy and without zeroing a new one. Optional; values are correct either
    /// way.
    ///
    /// At most 4 buffers are kept per association (see
    /// [`guls_transport::TransportConnection::recycle`]: only buffers of at least 4 KiB and
    /// at most the maximum TSDU size are kept, the others are dropped, as are the buffers
    /// beyond the bound); what a buffer holds is overwritten before it is used. Never
    /// waits: buffers handed back while another call holds the association are passed on
    /// by the next [`Association::recv`].
    pub fn recycle(&self, buf: Vec<u8>) {
        if buf.capacity() < guls_transport::MIN_RECYCLED_CAPACITY {
            return;
        }
        let mut returned = self
            .returned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if returned.len() < MAX_RETURNED {
            returned.push(buf);
        }
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

    /// Queue lengths and counters (for back-pressure tests and metrics), read without
    /// waiting for a call in progress. The event queue is the association's own queue of
    /// decoded events not yet taken (there is no command queue).
    pub fn queue_stats(&self) -> QueueStats {
        let pending = self.stats.pending.load(Ordering::Relaxed);
        QueueStats {
            queued_events: pending.min(self.queue_capacity),
            queue_capacity: self.queue_capacity,
            driver_buffered_octets: self.stats.buffered.load(Ordering::Relaxed),
            driver_pending_events: pending.saturating_sub(self.queue_capacity),
            octets_received: self.stats.received.load(Ordering::Relaxed),
        }
    }
}

/// Drives a started release until its outcome is known, collecting the data that arrives
/// meanwhile. Events first: those decoded before the confirm belong to this release (data)
/// or end it (an abort decoded before the request was made).
async fn release_outcome(
    d: &mut Driver,
    max_backlog: usize,
) -> Result<ReleaseOutcome, AssociationError> {
    let mut data = Vec::new();
    loop {
        while let Some(ev) = d.take_event() {
            match ev {
                AssociationEvent::Data(v) => {
                    if data.len() >= max_backlog {
                        let _ = d.abort(Vec::new());
                        return Err(AssociationError::ProviderAbort(
                            ProviderAbortReason::TooLarge {
                                layer: crate::error::AbortLayer::Local,
                                what: "data received during release",
                                limit: max_backlog,
                            },
                        ));
                    }
                    data.push(v);
                }
                AssociationEvent::Released | AssociationEvent::ReleaseIndication { .. } => {}
                AssociationEvent::AbortIndication {
                    source,
                    diagnostic,
                    user_information,
                } => {
                    d.release_waiting = false;
                    return Err(AssociationError::Aborted(Box::new(
                        crate::error::AbortInfo {
                            source,
                            diagnostic,
                            user_information,
                        },
                    )));
                }
                AssociationEvent::ProviderAbort { reason } => {
                    d.release_waiting = false;
                    return Err(AssociationError::ProviderAbort(reason));
                }
            }
        }
        if let Some(r) = d.release_result.take() {
            return r.map(|mut o| {
                o.data = data;
                o
            });
        }
        if d.closed {
            d.release_waiting = false;
            return Err(AssociationError::Closed);
        }
        d.drive().await;
    }
}

#[cfg(test)]
mod io_slice_tests {
    use super::*;

    /// The IO slice vector is reused, not reallocated, from one write to the next.
    #[test]
    fn reused_io_slices_keep_their_room() {
        let data = [1u8; 8];
        let mut v: Vec<IoSlice<'_>> = Vec::with_capacity(20);
        v.push(IoSlice::new(&data));
        let (cap, ptr) = (v.capacity(), v.as_ptr() as usize);
        let w: Vec<IoSlice<'static>> = reuse_io_slices(v);
        assert!(w.is_empty());
        assert_eq!((w.capacity(), w.as_ptr() as usize), (cap, ptr));
    }
}
