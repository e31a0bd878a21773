//! The association-responder: a TCP listener, concurrent handshakes, A-ASSOCIATE
//! indications.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use guls_acse::{
    AcseRequirements, AssociateIndication, AssociateResponse, AssociateResult, UserDiagnostic,
};
use guls_ber::External;
use guls_presentation::{ConnectIndication, DefaultContextName, DefinedContext};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::timeout;

use crate::config::AssociationConfig;
use crate::driver::{Association, Conn, start};
use crate::error::{AbortLayer, AssociationError, ProviderAbortReason, TimeoutKind};
use crate::stack::{LowerAddresses, Prepared, Stack, StackEvent};
use crate::types::{AcceptParams, HandshakeFailure, RejectParams};

/// Capacity of a [`Responder`]'s queue of [`HandshakeFailure`]s: when it is full (nobody
/// calls [`Responder::next_handshake_failure`] / [`Responder::take_handshake_failures`]),
/// further failures are only counted ([`ResponderCounters::failures_unreported`]).
pub const HANDSHAKE_FAILURE_QUEUE: usize = 1024;

/// Counters of a [`Responder`].
#[derive(Debug, Default)]
pub struct ResponderStats {
    tcp_accepted: AtomicU64,
    refused_limit: AtomicU64,
    handshake_failures: AtomicU64,
    failures_unreported: AtomicU64,
    indications: AtomicU64,
}

/// A snapshot of [`ResponderStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponderCounters {
    /// TCP connections accepted.
    pub tcp_accepted: u64,
    /// TCP connections closed at once because `max_associations` were alive.
    pub refused_limit: u64,
    /// Connections that failed before an A-ASSOCIATE indication (malformed, timeout, close).
    pub handshake_failures: u64,
    /// Handshake failures (and limit refusals) not queued as [`HandshakeFailure`]s because
    /// the queue ([`HANDSHAKE_FAILURE_QUEUE`]) was full.
    pub failures_unreported: u64,
    /// A-ASSOCIATE indications delivered (to [`Responder::accept`], or to the handler of
    /// [`Responder::serve`]).
    pub indications: u64,
}

impl ResponderStats {
    fn snapshot(&self) -> ResponderCounters {
        ResponderCounters {
            tcp_accepted: self.tcp_accepted.load(Ordering::Relaxed),
            refused_limit: self.refused_limit.load(Ordering::Relaxed),
            handshake_failures: self.handshake_failures.load(Ordering::Relaxed),
            failures_unreported: self.failures_unreported.load(Ordering::Relaxed),
            indications: self.indications.load(Ordering::Relaxed),
        }
    }
}

/// Accepts associations on a TCP listener.
///
/// A background task accepts TCP connections and runs each handshake (CR/CC, CN+CP+AARQ) in
/// its own task, bounded by the establishment timeout and by `max_associations` (a permit is
/// held from the TCP accept until the association ends). [`Responder::accept`] hands out the
/// connections whose AARQ arrived. A responder made with [`Responder::serve`] instead runs
/// the application's handler for each of them in the task that ran its handshake.
///
/// Connections that end before an A-ASSOCIATE indication (a malformed or truncated CONNECT,
/// an undecodable AARQ, a TCP close, the establishment timeout) and connections refused
/// because `max_associations` were alive never reach [`Responder::accept`]; each is reported
/// as a [`HandshakeFailure`] (peer address and typed reason) in a bounded queue, read with
/// [`Responder::next_handshake_failure`] or [`Responder::take_handshake_failures`] (for
/// instance to audit them).
#[derive(Debug)]
pub struct Responder {
    local_addr: SocketAddr,
    /// The indications for [`Responder::accept`]; `None` when a handler serves them.
    incoming: Option<Mutex<mpsc::Receiver<IncomingAssociation>>>,
    failures: Mutex<mpsc::Receiver<HandshakeFailure>>,
    shutdown: watch::Sender<bool>,
    permits: Arc<Semaphore>,
    max: u32,
    stats: Arc<ResponderStats>,
}

impl Responder {
    /// Binds `addr` and starts accepting; [`Responder::accept`] hands out the indications.
    pub async fn bind(
        addr: impl ToSocketAddrs,
        config: AssociationConfig,
    ) -> Result<Responder, AssociationError> {
        let (tx, rx) = mpsc::channel(config.limits.event_queue.max(1));
        let mut responder = Self::start(addr, config, tx).await?;
        responder.incoming = Some(Mutex::new(rx));
        Ok(responder)
    }

    /// Binds `addr` and starts accepting; each A-ASSOCIATE indication is given to `handler`,
    /// whose future runs in the task that ran the connection's handshake, to its end.
    ///
    /// This is [`Responder::bind`] with an accept loop that spawns a task per indication,
    /// without the queue between the two and the second task: one task per connection from
    /// the TCP accept to the end of the association, so the indication reaches the
    /// application without a hand-over between tasks (and often between threads). The
    /// handler answers the indication ([`IncomingAssociation::accept`] or
    /// [`IncomingAssociation::reject`]) and then runs the association. Everything else is
    /// the same: limits, timeouts, [`Responder::shutdown`] (associations being served go on),
    /// [`Responder::wait_idle`], the counters and the handshake failures. A serving responder
    /// has no queue: its [`Responder::accept`] returns
    /// [`AssociationError::IllegalPrimitive`].
    pub async fn serve<H, F>(
        addr: impl ToSocketAddrs,
        config: AssociationConfig,
        handler: H,
    ) -> Result<Responder, AssociationError>
    where
        H: Fn(IncomingAssociation) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        Self::start(addr, config, Serve(Arc::new(handler))).await
    }

    async fn start<D: Deliver>(
        addr: impl ToSocketAddrs,
        config: AssociationConfig,
        delivery: D,
    ) -> Result<Responder, AssociationError> {
        config.validate()?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let max = u32::try_from(config.limits.max_associations).unwrap_or(u32::MAX >> 3);
        let permits = Arc::new(Semaphore::new(max as usize));
        let (sd_tx, sd_rx) = watch::channel(false);
        let (fail_tx, fail_rx) = mpsc::channel(HANDSHAKE_FAILURE_QUEUE);
        let stats = Arc::new(ResponderStats::default());
        tracing::info!(target: "guls::association", %local_addr, "responder listening");
        tokio::spawn(accept_loop(
            listener,
            Arc::new(Prepared::new(Arc::new(config))),
            permits.clone(),
            delivery,
            sd_rx,
            Reporter {
                stats: stats.clone(),
                failures: fail_tx,
            },
        ));
        Ok(Responder {
            local_addr,
            incoming: None,
            failures: Mutex::new(fail_rx),
            shutdown: sd_tx,
            permits,
            max,
            stats,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next A-ASSOCIATE indication. After [`Responder::shutdown`] and once the
    /// handshakes in progress are handed out, [`AssociationError::Shutdown`]. On a responder
    /// made with [`Responder::serve`] (its handler gets the indications),
    /// [`AssociationError::IllegalPrimitive`].
    pub async fn accept(&self) -> Result<IncomingAssociation, AssociationError> {
        let Some(incoming) = &self.incoming else {
            return Err(AssociationError::IllegalPrimitive(
                "accept on a responder whose handler serves the indications (Responder::serve)"
                    .into(),
            ));
        };
        let mut rx = incoming.lock().await;
        rx.recv().await.ok_or(AssociationError::Shutdown)
    }

    /// The next connection that failed before an A-ASSOCIATE indication, or was refused
    /// because `max_associations` were alive (oldest first). `None` once the responder is
    /// shut down and every handshake in progress has ended.
    ///
    /// Cancel-safe (it can be a branch of `tokio::select!`). The queue holds at most
    /// [`HANDSHAKE_FAILURE_QUEUE`] failures; later ones are counted in
    /// [`ResponderCounters::failures_unreported`] until it is read.
    pub async fn next_handshake_failure(&self) -> Option<HandshakeFailure> {
        let mut rx = self.failures.lock().await;
        rx.recv().await
    }

    /// The failures queued now (see [`Responder::next_handshake_failure`]), without waiting.
    /// Empty when another task is reading the queue at this moment.
    pub fn take_handshake_failures(&self) -> Vec<HandshakeFailure> {
        let mut out = Vec::new();
        if let Ok(mut rx) = self.failures.try_lock() {
            while let Ok(f) = rx.try_recv() {
                out.push(f);
            }
        }
        out
    }

    /// Stops accepting TCP connections; established associations continue.
    pub fn shutdown(&self) {
        tracing::info!(target: "guls::association", local_addr = %self.local_addr,
            "responder shutting down");
        let _ = self.shutdown.send(true);
    }

    /// Waits until no association (or handshake) of this responder is alive.
    pub async fn wait_idle(&self) {
        if let Ok(p) = self.permits.acquire_many(self.max).await {
            drop(p);
        }
    }

    /// Associations (and handshakes) alive now.
    pub fn live_associations(&self) -> usize {
        self.max as usize - self.permits.available_permits()
    }

    /// The counters.
    pub fn counters(&self) -> ResponderCounters {
        self.stats.snapshot()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Where a handshake task hands its A-ASSOCIATE indication: the queue of
/// [`Responder::accept`], or the handler of [`Responder::serve`].
trait Deliver: Clone + Send + Sync + 'static {
    /// Hands `incoming` over; the future ends when the task has nothing more to do with it.
    fn deliver(&self, incoming: IncomingAssociation) -> impl Future<Output = ()> + Send;
}

impl Deliver for mpsc::Sender<IncomingAssociation> {
    async fn deliver(&self, incoming: IncomingAssociation) {
        // A closed queue (the responder was dropped) drops the indication: TCP is closed.
        let _ = self.send(incoming).await;
    }
}

/// The handler of [`Responder::serve`].
struct Serve<H>(Arc<H>);

impl<H> Clone for Serve<H> {
    fn clone(&self) -> Self {
        Serve(self.0.clone())
    }
}

impl<H, F> Deliver for Serve<H>
where
    H: Fn(IncomingAssociation) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    fn deliver(&self, incoming: IncomingAssociation) -> impl Future<Output = ()> + Send {
        (self.0)(incoming)
    }
}

async fn accept_loop<D: Deliver>(
    listener: TcpListener,
    prepared: Arc<Prepared>,
    permits: Arc<Semaphore>,
    delivery: D,
    mut shutdown: watch::Receiver<bool>,
    reporter: Reporter,
) {
    let stats = &reporter.stats;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    stats.tcp_accepted.fetch_add(1, Ordering::Relaxed);
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        stats.refused_limit.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: "guls::association", %peer,
                            "max_associations reached: closing TCP connection");
                        drop(stream);
                        reporter.report(peer, ProviderAbortReason::protocol(
                            AbortLayer::Local,
                            format!("connection refused: max_associations ({}) alive",
                                prepared.config.limits.max_associations),
                        ));
                        continue;
                    };
                    // Boxed: the handshake's future (which holds the connection's whole
                    // stack) is several KiB, and tokio copies a task's future into its cell
                    // on spawn and writes over it on completion; a box keeps the task small.
                    tokio::spawn(Box::pin(handshake(stream, peer, prepared.clone(), permit,
                        delivery.clone(), reporter.clone())));
                }
                Err(e) => {
                    tracing::warn!(target: "guls::association", error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
        }
    }
    tracing::debug!(target: "guls::association", "accept loop ended");
}

async fn handshake<D: Deliver>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    prepared: Arc<Prepared>,
    permit: OwnedSemaphorePermit,
    delivery: D,
    reporter: Reporter,
) {
    tracing::debug!(target: "guls::association", %peer, "TCP connection accepted");
    let stats = &reporter.stats;
    let fail = |why: ProviderAbortReason| {
        stats.handshake_failures.fetch_add(1, Ordering::Relaxed);
        tracing::info!(target: "guls::association", %peer, why = %why, layer = %why.layer(),
            "handshake failed");
        reporter.report(peer, why);
    };
    if let Err(e) = stream.set_nodelay(true) {
        return fail(ProviderAbortReason::Io(e.to_string()));
    }
    let stack = match Stack::responder(&prepared) {
        Ok(s) => s,
        Err(e) => {
            return fail(ProviderAbortReason::protocol(
                AbortLayer::Local,
                e.to_string(),
            ));
        }
    };
    let mut conn = Conn::new(stream, stack, peer);
    let cfg = prepared.config.clone();
    drop(prepared);
    let idle = cfg.timeouts.idle;
    let r = timeout(cfg.timeouts.establishment, wait_indication(&mut conn, idle)).await;
    let ind = match r {
        Ok(Ok(ind)) => ind,
        Ok(Err(why)) => {
            let _ = conn.flush(idle).await;
            return fail(why);
        }
        Err(_) => {
            let _ = conn
                .stack
                .local_abort(ProviderAbortReason::Timeout(TimeoutKind::Establishment));
            let _ = conn.flush(idle).await;
            return fail(ProviderAbortReason::Timeout(TimeoutKind::Establishment));
        }
    };
    stats.indications.fetch_add(1, Ordering::Relaxed);
    let (indication, connect) = *ind;
    let addresses = conn.stack.take_addresses();
    let incoming = IncomingAssociation {
        inner: Box::new(Incoming {
            addresses,
            conn,
            indication,
            connect,
            permit,
            cfg,
        }),
    };
    delivery.deliver(incoming).await;
}

/// Counts handshake failures and queues them for [`Responder::next_handshake_failure`].
#[derive(Clone)]
struct Reporter {
    stats: Arc<ResponderStats>,
    failures: mpsc::Sender<HandshakeFailure>,
}

impl Reporter {
    /// Queues a failure; when the queue is full (or nobody can read it) only counts it.
    fn report(&self, peer_addr: SocketAddr, reason: ProviderAbortReason) {
        if self
            .failures
            .try_send(HandshakeFailure { peer_addr, reason })
            .is_err()
        {
            self.stats
                .failures_unreported
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn wait_indication(
    conn: &mut Conn,
    idle: std::time::Duration,
) -> Result<Box<(AssociateIndication, ConnectIndication)>, ProviderAbortReason> {
    loop {
        conn.flush(idle).await?;
        let mut events = conn.process();
        let mut outcome = None;
        for ev in events.drain(..) {
            match ev {
                StackEvent::Indication(i) => outcome = Some(Ok(i)),
                StackEvent::ProviderAbort(r) => outcome = Some(Err(r)),
                _ => continue,
            }
            break;
        }
        // The vector's room gathers the driver's events.
        conn.recycle_events(events);
        if let Some(outcome) = outcome {
            return outcome;
        }
        if conn.stack.has_output() {
            continue;
        }
        if conn.stack.is_done() {
            return Err(ProviderAbortReason::protocol(
                crate::error::AbortLayer::Local,
                "connection ended before the AARQ",
            ));
        }
        match conn.read_more().await {
            Ok(0) => {
                return Err(ProviderAbortReason::ConnectionClosed {
                    stage: "association establishment",
                });
            }
            Ok(_) => {}
            Err(e) => return Err(ProviderAbortReason::Io(e.to_string())),
        }
    }
}

/// An A-ASSOCIATE indication waiting for the application's response.
///
/// Dropping it without [`IncomingAssociation::accept`] or [`IncomingAssociation::reject`]
/// closes the TCP connection. `Debug` never shows the authentication value.
pub struct IncomingAssociation {
    /// Boxed so that the handle (queued, then held by the application's task while it
    /// answers) is one pointer rather than the connection's whole stack.
    inner: Box<Incoming>,
}

/// The parts of an [`IncomingAssociation`].
struct Incoming {
    conn: Conn,
    indication: AssociateIndication,
    connect: ConnectIndication,
    addresses: LowerAddresses,
    permit: OwnedSemaphorePermit,
    cfg: Arc<AssociationConfig>,
}

impl fmt::Debug for IncomingAssociation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingAssociation")
            .field("peer", &self.inner.conn.peer)
            .field("indication", &self.inner.indication)
            .field("addresses", &self.inner.addresses)
            .finish_non_exhaustive()
    }
}

impl IncomingAssociation {
    /// Every AARQ parameter (X.217 A-ASSOCIATE indication): application context, AP titles,
    /// AE qualifiers, invocation identifiers, ACSE requirements, mechanism name,
    /// authentication value (redacted in `Debug`), user information.
    pub fn indication(&self) -> &AssociateIndication {
        &self.inner.indication
    }

    /// The P-CONNECT indication: selectors, the proposed contexts and their results.
    pub fn connect_indication(&self) -> &ConnectIndication {
        &self.inner.connect
    }

    /// The presentation contexts that will be accepted.
    pub fn contexts(&self) -> Vec<DefinedContext> {
        self.inner.connect.accepted()
    }

    /// The default context, when proposed and supported.
    pub fn default_context(&self) -> Option<&DefaultContextName> {
        self.inner.connect.default_context.as_ref()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.conn.peer
    }

    /// Calling T-selector.
    pub fn calling_tsel(&self) -> Option<&[u8]> {
        self.inner.addresses.calling_tsel.as_deref()
    }

    /// Called T-selector.
    pub fn called_tsel(&self) -> Option<&[u8]> {
        self.inner.addresses.called_tsel.as_deref()
    }

    /// Calling S-selector.
    pub fn calling_ssel(&self) -> Option<&[u8]> {
        self.inner.addresses.calling_ssel.as_deref()
    }

    /// Called S-selector.
    pub fn called_ssel(&self) -> Option<&[u8]> {
        self.inner.addresses.called_ssel.as_deref()
    }

    /// Calling P-selector.
    pub fn calling_psel(&self) -> Option<&[u8]> {
        self.inner.addresses.calling_psel.as_deref()
    }

    /// Called P-selector.
    pub fn called_psel(&self) -> Option<&[u8]> {
        self.inner.addresses.called_psel.as_deref()
    }

    /// The session version in use (1 or 2).
    pub fn session_version(&self) -> u8 {
        self.inner.addresses.session_version
    }

    /// The session functional units the CONNECT proposed (the association uses duplex only).
    pub fn proposed_session_requirements(&self) -> u16 {
        self.inner.addresses.proposed_session_requirements
    }

    /// A-ASSOCIATE response, accepted: sends AC+CPA+AARE and starts the association.
    pub async fn accept(mut self, params: AcceptParams) -> Result<Association, AssociationError> {
        let a = &self.inner.cfg.acse;
        let acn = params
            .application_context_name
            .unwrap_or_else(|| self.inner.indication.application_context_name.clone());
        let mut rsp = AssociateResponse::accept(acn.clone());
        rsp.responding_ap_title = params
            .responding_ap_title
            .or_else(|| a.responding_ap_title.clone());
        rsp.responding_ae_qualifier = params
            .responding_ae_qualifier
            .or_else(|| a.responding_ae_qualifier.clone());
        rsp.responding_ap_invocation_id = params
            .responding_ap_invocation_id
            .or(a.responding_ap_invocation_id);
        rsp.responding_ae_invocation_id = params
            .responding_ae_invocation_id
            .or(a.responding_ae_invocation_id);
        rsp.user_information = params.user_information;
        if let Some(auth) = params.authentication {
            rsp.acse_requirements = Some(AcseRequirements::authentication());
            rsp.mechanism_name = Some(auth.mechanism);
            rsp.authentication_value = Some(auth.value);
        }
        if let Some(r) = params.acse_requirements {
            rsp.acse_requirements = Some(r);
        }
        self.inner.conn.stack.respond(rsp)?;
        if let Err(r) = self.inner.conn.flush(self.inner.cfg.timeouts.idle).await {
            return Err(AssociationError::ProviderAbort(r));
        }
        tracing::info!(target: "guls::association", peer = %self.inner.conn.peer,
            application_context = %acn, "association accepted");
        let Incoming {
            conn, cfg, permit, ..
        } = *self.inner;
        Ok(start(conn, cfg, None, acn, Some(permit)))
    }

    /// A-ASSOCIATE response, rejected-permanent with an acse-service-user diagnostic (for
    /// instance 13, authentication-failure): sends REFUSE + CPR (user-rejection) + AARE and
    /// closes the connection.
    pub async fn reject(
        self,
        diagnostic: UserDiagnostic,
        user_information: Vec<External>,
    ) -> Result<(), AssociationError> {
        let mut params = RejectParams::new(diagnostic);
        params.user_information = user_information;
        self.reject_with(params).await
    }

    /// A-ASSOCIATE response, rejected, with every AARE parameter of a rejection: result,
    /// diagnostic, user information and, when the AARQ proposed the authentication functional
    /// unit, responder-acse-requirements, mechanism name and responding authentication value
    /// (for instance the se-u-abort of a failed security exchange). Sent as
    /// [`IncomingAssociation::reject`] sends it. A parameter the ACSE rules forbid (an
    /// authentication value the AARQ did not allow, an accepted result) is
    /// [`AssociationError::IllegalPrimitive`] and nothing is sent.
    pub async fn reject_with(mut self, params: RejectParams) -> Result<(), AssociationError> {
        if params.result == AssociateResult::Accepted {
            return Err(AssociationError::IllegalPrimitive(
                "a rejection with result accepted".into(),
            ));
        }
        let diagnostic = params.diagnostic;
        let mut rsp = AssociateResponse::new(
            self.inner.indication.application_context_name.clone(),
            params.result,
            Some(diagnostic),
        );
        rsp.user_information = params.user_information;
        if let Some(auth) = params.authentication {
            rsp.acse_requirements = Some(AcseRequirements::authentication());
            rsp.mechanism_name = Some(auth.mechanism);
            rsp.authentication_value = Some(auth.value);
        }
        if let Some(r) = params.acse_requirements {
            rsp.acse_requirements = Some(r);
        }
        self.inner.conn.stack.respond(rsp)?;
        let r = self.inner.conn.flush(self.inner.cfg.timeouts.idle).await;
        tracing::info!(target: "guls::association", peer = %self.inner.conn.peer,
            diagnostic = diagnostic.name(), "association rejected");
        use tokio::io::AsyncWriteExt;
        let _ = timeout(
            std::time::Duration::from_secs(1),
            self.inner.conn.stream.shutdown(),
        )
        .await;
        r.map_err(AssociationError::ProviderAbort)
    }
}
