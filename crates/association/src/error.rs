//! Errors and provider-abort reasons.

use std::fmt;

use guls_acse::{
    AbortDiagnostic, AbortSource, AcseRequirements, AssociateResult, AuthenticationValue,
    ResultSource, ResultSourceDiagnostic,
};
use guls_ber::{DecodeError, External, Oid};

/// The layer (or local cause) that ended an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbortLayer {
    /// The TCP connection (closed, reset, IO error).
    Tcp,
    /// RFC 1006 TPKT framing or ISO 8073 class 0 transport.
    Transport,
    /// ISO 8327 session.
    Session,
    /// ISO 8823 presentation.
    Presentation,
    /// ISO 8650 ACSE.
    Acse,
    /// A local cause: a timer, a limit, the application dropping its handle.
    Local,
}

impl AbortLayer {
    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            AbortLayer::Tcp => "tcp",
            AbortLayer::Transport => "transport",
            AbortLayer::Session => "session",
            AbortLayer::Presentation => "presentation",
            AbortLayer::Acse => "acse",
            AbortLayer::Local => "local",
        }
    }
}

impl fmt::Display for AbortLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which timer expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutKind {
    /// TCP connect.
    Connect,
    /// Association establishment (CR to AARE / AARQ).
    Establishment,
    /// No data from the peer (or a write blocked) for the idle time.
    Idle,
    /// The peer did not finish a release in time.
    Release,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Establishment => "establishment",
            TimeoutKind::Idle => "idle",
            TimeoutKind::Release => "release",
        })
    }
}

/// Why the provider ended an association (the A-P-ABORT provider reason), naming the layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderAbortReason {
    /// The TCP connection was closed by the peer (FIN or reset) at `stage`.
    #[error("TCP connection closed by the peer during {stage}")]
    ConnectionClosed {
        /// What the association was doing.
        stage: &'static str,
    },
    /// A TCP read or write failed.
    #[error("TCP IO error: {0}")]
    Io(String),
    /// A received PDU did not decode; the error names the layer and the offset.
    #[error("malformed PDU: {0}")]
    Malformed(DecodeError),
    /// A received PDU is valid but not allowed now, or breaks a rule of its layer.
    #[error("{layer} protocol error: {detail}")]
    Protocol {
        /// The layer whose rule was broken.
        layer: AbortLayer,
        /// What happened.
        detail: String,
    },
    /// A received unit exceeds a configured limit.
    #[error("{layer}: {what} exceeds the limit of {limit} octets")]
    TooLarge {
        /// The layer.
        layer: AbortLayer,
        /// What was too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The peer sent a transport DR (or ER).
    #[error("transport disconnected by the peer: {0}")]
    TransportDisconnect(String),
    /// The peer sent a session ABORT without presentation abort PDU.
    #[error("session ABORT received ({0})")]
    SessionAbort(&'static str),
    /// The peer's presentation provider aborted (ARP).
    #[error("presentation provider abort (ARP), reason {reason}")]
    PresentationAbort {
        /// The ARP abort reason name (`unspecified` when absent).
        reason: &'static str,
    },
    /// A timer expired.
    #[error("{0} timeout")]
    Timeout(TimeoutKind),
    /// The application dropped the association handle without releasing or aborting.
    #[error("association handle dropped by the application")]
    HandleDropped,
}

impl ProviderAbortReason {
    /// The layer this reason belongs to.
    pub fn layer(&self) -> AbortLayer {
        match self {
            ProviderAbortReason::ConnectionClosed { .. } | ProviderAbortReason::Io(_) => {
                AbortLayer::Tcp
            }
            ProviderAbortReason::Malformed(e) => match e.layer {
                guls_ber::Layer::Tpkt | guls_ber::Layer::Cotp => AbortLayer::Transport,
                guls_ber::Layer::Session => AbortLayer::Session,
                guls_ber::Layer::Presentation => AbortLayer::Presentation,
                guls_ber::Layer::Acse => AbortLayer::Acse,
                _ => AbortLayer::Presentation,
            },
            ProviderAbortReason::Protocol { layer, .. }
            | ProviderAbortReason::TooLarge { layer, .. } => *layer,
            ProviderAbortReason::TransportDisconnect(_) => AbortLayer::Transport,
            ProviderAbortReason::SessionAbort(_) => AbortLayer::Session,
            ProviderAbortReason::PresentationAbort { .. } => AbortLayer::Presentation,
            ProviderAbortReason::Timeout(_) | ProviderAbortReason::HandleDropped => {
                AbortLayer::Local
            }
        }
    }

    pub(crate) fn protocol(layer: AbortLayer, detail: impl Into<String>) -> Self {
        ProviderAbortReason::Protocol {
            layer,
            detail: detail.into(),
        }
    }
}

/// An A-ABORT indication (the peer's ABRT, or an ACSE provider abort).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortInfo {
    /// Abort source.
    pub source: AbortSource,
    /// ABRT diagnostic, when present.
    pub diagnostic: Option<AbortDiagnostic>,
    /// User information.
    pub user_information: Vec<External>,
}

/// The A-ASSOCIATE confirm of a rejection. `Debug` never shows the authentication value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// rejected-permanent or rejected-transient.
    pub result: AssociateResult,
    /// Who rejected.
    pub source: ResultSource,
    /// The diagnostic, when one was given.
    pub diagnostic: Option<ResultSourceDiagnostic>,
    /// The AARE user information.
    pub user_information: Vec<External>,
    /// The AARE responder-acse-requirements, when present.
    pub acse_requirements: Option<AcseRequirements>,
    /// The AARE mechanism name, when present.
    pub mechanism_name: Option<Oid>,
    /// The AARE responding authentication value, when present (for instance the se-u-abort
    /// of a failed security exchange).
    pub authentication_value: Option<AuthenticationValue>,
}

impl Rejection {
    /// A rejection with these result, source and diagnostic and no other AARE parameter.
    pub fn new(
        result: AssociateResult,
        source: ResultSource,
        diagnostic: Option<ResultSourceDiagnostic>,
    ) -> Self {
        Rejection {
            result,
            source,
            diagnostic,
            user_information: Vec::new(),
            acse_requirements: None,
            mechanism_name: None,
            authentication_value: None,
        }
    }
}

/// Errors of the association API. None of them carries credentials.
#[derive(Debug, thiserror::Error)]
pub enum AssociationError {
    /// The configuration or the parameters cannot be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// TCP connect failed, or a local socket operation failed.
    #[error("IO error: {0}")]
    Io(#[from] std::io::Error),
    /// A timer expired before the operation completed.
    #[error("{0} timeout")]
    Timeout(TimeoutKind),
    /// The peer rejected the association with an AARE (A-ASSOCIATE confirm, rejected).
    #[error("association rejected by {}: {} ({})", source_name(.0.source), .0.result.name(),
        .0.diagnostic.map(|d| d.name()).unwrap_or("no diagnostic"))]
    Rejected(Box<Rejection>),
    /// The peer closed TCP after our CONNECT without any AARE (libiec61850's way to reject,
    /// for instance on a wrong password).
    #[error("association rejected: the peer closed TCP after the CONNECT without an AARE")]
    RejectedByPeerNoAare,
    /// The peer's presentation or session provider refused the connection (CPR or REFUSE
    /// without an AARE).
    #[error("connection refused by the peer's {layer} provider: {detail}")]
    Refused {
        /// The layer that refused.
        layer: AbortLayer,
        /// Its reason.
        detail: String,
    },
    /// The peer aborted (A-ABORT indication) during establishment or an operation.
    #[error("association aborted by {}", abort_source_name(.0.source))]
    Aborted(Box<AbortInfo>),
    /// The provider ended the association (A-P-ABORT).
    #[error("provider abort ({layer}): {reason}", layer = .0.layer(), reason = .0)]
    ProviderAbort(ProviderAbortReason),
    /// The primitive is not allowed in the current state of the association.
    #[error("illegal primitive: {0}")]
    IllegalPrimitive(String),
    /// The association is over (released or aborted); nothing more can be done.
    #[error("the association is closed")]
    Closed,
    /// The responder was shut down.
    #[error("the responder is shut down")]
    Shutdown,
}

fn source_name(s: ResultSource) -> &'static str {
    match s {
        ResultSource::AcseServiceUser => "the ACSE service-user",
        ResultSource::AcseServiceProvider => "the ACSE service-provider",
        ResultSource::PresentationServiceProvider => "the presentation service-provider",
    }
}

fn abort_source_name(s: AbortSource) -> &'static str {
    match s {
        AbortSource::AcseServiceUser => "the ACSE service-user",
        AbortSource::AcseServiceProvider => "the ACSE service-provider",
        _ => "an unknown source",
    }
}
