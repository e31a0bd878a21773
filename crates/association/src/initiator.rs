//! The association-initiator.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use guls_acse::{AcseRequirements, AssociateRequest};
use tokio::net::{TcpStream, ToSocketAddrs, lookup_host};
use tokio::time::timeout;

use crate::config::AssociationConfig;
use crate::driver::{Association, Conn, start};
use crate::error::{AssociationError, ProviderAbortReason, TimeoutKind};
use crate::stack::{Prepared, Stack, StackEvent};
use crate::types::AssociateParams;

/// Opens associations (A-ASSOCIATE request) with one configuration.
#[derive(Clone)]
pub struct Initiator {
    /// The configuration, validated and with what every stack shares built once.
    prepared: Arc<Prepared>,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("config", &self.prepared.config)
            .finish()
    }
}

impl Initiator {
    /// An initiator with this configuration (validated by each connect).
    pub fn new(config: AssociationConfig) -> Self {
        Initiator {
            prepared: Arc::new(Prepared::new(Arc::new(config))),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AssociationConfig {
        &self.prepared.config
    }

    /// The A-ASSOCIATE request the configuration and `params` make (what goes in the AARQ).
    pub fn associate_request(&self, params: AssociateParams) -> AssociateRequest {
        let a = &self.prepared.config.acse;
        let mut req = AssociateRequest::new(a.application_context_name.clone());
        req.calling_ap_title = a.calling_ap_title.clone();
        req.calling_ae_qualifier = a.calling_ae_qualifier.clone();
        req.calling_ap_invocation_id = a.calling_ap_invocation_id;
        req.calling_ae_invocation_id = a.calling_ae_invocation_id;
        req.called_ap_title = a.called_ap_title.clone();
        req.called_ae_qualifier = a.called_ae_qualifier.clone();
        req.called_ap_invocation_id = a.called_ap_invocation_id;
        req.called_ae_invocation_id = a.called_ae_invocation_id;
        req.user_information = params.user_information;
        req.implementation_information = params.implementation_information;
        if let Some(auth) = params.authentication {
            req.acse_requirements = Some(AcseRequirements::authentication());
            req.mechanism_name = Some(auth.mechanism);
            req.authentication_value = Some(auth.value);
        }
        if let Some(r) = params.acse_requirements {
            req.acse_requirements = Some(r);
        }
        req
    }

    /// A-ASSOCIATE request over a new TCP connection to `addr`; returns once the AARE
    /// accepted the association.
    ///
    /// A rejection is [`AssociationError::Rejected`] (with result, source, diagnostic, and the
    /// AARE's user information, mechanism name and responding authentication value);
    /// a TCP close right after our CONNECT without any AARE is
    /// [`AssociationError::RejectedByPeerNoAare`].
    pub async fn connect(
        &self,
        addr: impl ToSocketAddrs,
        params: AssociateParams,
    ) -> Result<Association, AssociationError> {
        let request = self.associate_request(params);
        self.connect_request(addr, request).await
    }

    /// A-ASSOCIATE request with every AARQ parameter given by the caller (for instance an
    /// authentication value without a mechanism name, or a mechanism name alone), built for
    /// instance from [`Initiator::associate_request`]. The ACSE rules still apply: a
    /// mechanism name or value without `authentication` in the requirements is
    /// [`AssociationError::IllegalPrimitive`]. Otherwise as [`Initiator::connect`].
    pub async fn connect_request(
        &self,
        addr: impl ToSocketAddrs,
        request: AssociateRequest,
    ) -> Result<Association, AssociationError> {
        self.connect_request_with(addr, move || Ok::<_, Infallible>(request))
            .await
            .map_err(AssociationError::from)
    }

    /// [`Initiator::connect_request`] with the A-ASSOCIATE request built by `build` while
    /// the transport connection is being established: `build` is called once, right after
    /// the transport CR is written and before anything is read, so that the work of building
    /// the request (the first item of a security exchange, say) overlaps the CR/CC round
    /// trip. The request is sent as [`Initiator::connect_request`] sends it, once the CC
    /// arrives.
    ///
    /// `build` is not called when the TCP connection or the CR fails. When it fails, the TCP
    /// connection is closed (a class 0 transport connection has no DR before its CC) and its
    /// error is [`DeferredConnectError::Build`]; every other failure is
    /// [`DeferredConnectError::Association`], as [`Initiator::connect_request`] reports it.
    /// The builder's error is logged (target `guls::association`) with its `Display`, which
    /// should therefore carry no credentials.
    ///
    /// The connect timeout bounds the TCP connect; the establishment timeout everything
    /// after it, the time `build` takes included (`build` itself is not interrupted).
    pub async fn connect_request_with<E, F>(
        &self,
        addr: impl ToSocketAddrs,
        build: F,
    ) -> Result<Association, DeferredConnectError<E>>
    where
        E: std::fmt::Display,
        F: FnOnce() -> Result<AssociateRequest, E>,
    {
        self.prepared.check()?;
        let t = self.prepared.config.timeouts;
        let (stream, peer) = timeout(t.connect, connect_tcp(addr))
            .await
            .map_err(|_| AssociationError::Timeout(TimeoutKind::Connect))?
            .map_err(AssociationError::from)?;
        stream.set_nodelay(true).map_err(AssociationError::from)?;
        tracing::info!(target: "guls::association", %peer, "TCP connected; A-ASSOCIATE request");
        let stack = Stack::initiator(&self.prepared)?;
        // Boxed: the connection (its whole stack) is held across the awaits below, and would
        // otherwise make this future, and the caller's task, that much larger.
        let mut conn = Box::new(Conn::new(stream, stack, peer));
        conn.stack.start()?;
        let result = timeout(t.establishment, async {
            // The CR first: `build` runs while it travels and the peer answers.
            if let Err(r) = conn.flush(t.idle).await {
                return Err(DeferredConnectError::Association(
                    AssociationError::ProviderAbort(r),
                ));
            }
            let request = build().map_err(DeferredConnectError::Build)?;
            conn.stack.set_request(request);
            Ok(establish(&mut conn, t.idle).await?)
        })
        .await;
        let confirm = match result {
            Ok(Ok(c)) => c,
            Ok(Err(DeferredConnectError::Build(e))) => {
                // Class 0 before the CC: closing TCP is the disconnect.
                drop(conn);
                tracing::info!(target: "guls::association", %peer, error = %e,
                    "A-ASSOCIATE request not built; TCP connection closed");
                return Err(DeferredConnectError::Build(e));
            }
            Ok(Err(e)) => {
                tracing::info!(target: "guls::association", %peer, error = %e,
                    "association not established");
                return Err(e);
            }
            Err(_) => {
                let _ = conn
                    .stack
                    .local_abort(ProviderAbortReason::Timeout(TimeoutKind::Establishment));
                let _ = conn.flush(t.idle).await;
                tracing::info!(target: "guls::association", %peer, "establishment timeout");
                return Err(AssociationError::Timeout(TimeoutKind::Establishment).into());
            }
        };
        let acn = confirm.application_context_name.clone();
        Ok(start(
            *conn,
            self.prepared.config.clone(),
            Some(*confirm),
            acn,
            None,
        ))
    }
}

/// Why [`Initiator::connect_request_with`] failed: the caller's request builder, or the
/// association.
#[derive(Debug, thiserror::Error)]
pub enum DeferredConnectError<E> {
    /// The request builder failed (the TCP connection was closed, nothing but the CR sent).
    #[error(transparent)]
    Build(E),
    /// The association was not established (as [`Initiator::connect_request`] reports it).
    #[error(transparent)]
    Association(#[from] AssociationError),
}

impl From<DeferredConnectError<Infallible>> for AssociationError {
    fn from(e: DeferredConnectError<Infallible>) -> Self {
        match e {
            DeferredConnectError::Build(never) => match never {},
            DeferredConnectError::Association(e) => e,
        }
    }
}

/// TCP connect to each address `addr` resolves to in turn (as [`TcpStream::connect`] does),
/// with the address that answered (so that no `getpeername` is needed); the last error when
/// none did.
async fn connect_tcp(addr: impl ToSocketAddrs) -> std::io::Result<(TcpStream, SocketAddr)> {
    let mut last = None;
    for a in lookup_host(addr).await? {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok((s, a)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

async fn establish(
    conn: &mut Conn,
    idle: std::time::Duration,
) -> Result<Box<guls_acse::AssociateConfirm>, AssociationError> {
    loop {
        if let Err(r) = conn.flush(idle).await {
            return Err(AssociationError::ProviderAbort(r));
        }
        let mut events = conn.process();
        let mut outcome = None;
        for ev in events.drain(..) {
            let err = match ev {
                StackEvent::Established(c) => Ok(c),
                StackEvent::Rejected(r) => Err(AssociationError::Rejected(r)),
                StackEvent::Refused { layer, detail } => {
                    Err(AssociationError::Refused { layer, detail })
                }
                StackEvent::Abort(a) => Err(AssociationError::Aborted(Box::new(a))),
                StackEvent::ProviderAbort(r) => Err(AssociationError::ProviderAbort(r)),
                _ => continue,
            };
            outcome = Some(err);
            break;
        }
        // The vector's room gathers the driver's events.
        conn.recycle_events(events);
        match outcome {
            Some(Ok(c)) => return Ok(c),
            Some(Err(err)) => {
                let _ = conn.flush(idle).await;
                return Err(err);
            }
            None => {}
        }
        if conn.stack.has_output() {
            continue;
        }
        if conn.stack.is_done() {
            let _ = conn.flush(idle).await;
            return Err(AssociationError::Closed);
        }
        match conn.read_more().await {
            Ok(0) if conn.stack.awaiting_accept() => {
                return Err(AssociationError::RejectedByPeerNoAare);
            }
            Ok(0) => {
                return Err(AssociationError::ProviderAbort(
                    ProviderAbortReason::ConnectionClosed {
                        stage: "transport connection establishment",
                    },
                ));
            }
            Ok(_) => {}
            Err(e)
                if conn.stack.awaiting_accept()
                    && e.kind() == std::io::ErrorKind::ConnectionReset =>
            {
                return Err(AssociationError::RejectedByPeerNoAare);
            }
            Err(e) => {
                return Err(AssociationError::ProviderAbort(ProviderAbortReason::Io(
                    e.to_string(),
                )));
            }
        }
    }
}
