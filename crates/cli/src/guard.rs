//! The responder's gate: every A-ASSOCIATE indication is decided by a
//! [`ResponderPolicy`] and every step is recorded in the audit trail.
//!
//! One [`Guard`] serves a whole responder (`guls serve`, `guls demo`, the tests and the
//! `auth_load` benchmark all use this module):
//!
//! 1. [`Guard::check`] takes an [`IncomingAssociation`], records `association_requested`
//!    (peer address, titles, application context, mechanism *name*), asks the policy
//!    ([`ResponderPolicy::decide`], run on tokio's blocking pool because an argon2id
//!    verification takes about 20 ms), and records `policy_decision` and
//!    `authentication_succeeded` or `authentication_failed` (reason and diagnostic 11 to 14).
//! 2. [`Checked::finish`] answers as the policy decided: accept (recording
//!    `association_accepted` with the presentation contexts) or reject with the decision's
//!    diagnostic (recording `association_rejected`). [`Checked::reject`] rejects for another
//!    reason of the application (an unsupported application context, for instance).
//! 3. The [`AssociationAudit`] of an accepted association records its end once:
//!    `association_released` (by the peer or locally) or `association_aborted` (A-ABORT with
//!    its source and diagnostic, A-P-ABORT with its reason and layer).
//! 4. [`Guard::handshake_failure`] records a connection that never reached the application
//!    ([`HandshakeFailure`]: malformed CONNECT, undecodable AARQ, TCP close, timeout, limit)
//!    as `association_requested` (with application context `-`) followed by
//!    `association_aborted` with the provider reason and layer.
//!
//! Records go to the optional [`AuditSink`] and always to `tracing` (target `guls::audit`).
//! Nothing here ever logs, prints or records an authentication value: only mechanism names,
//! rule names, identities, reasons and diagnostics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use guls_association::{
    AcceptParams, AeQualifier, ApTitle, Association, AssociationError, AssociationEvent,
    AuthenticationValue, HandshakeFailure, IncomingAssociation, Oid, ProviderAbortReason,
    UserDiagnostic,
};
use guls_audit::{AuditEvent, AuditSink, AuthDiagnostic, Side};
use guls_ber::known;
use guls_policy::{AuthRequest, Decision, RejectReason, ResponderPolicy};

/// The `tracing` target of the guard's own log lines (the audit records themselves go to
/// `guls::audit`).
pub const TARGET: &str = "guls::guard";

/// How an object identifier appears in audit records: dotted, with `(password)` after the
/// password mechanism.
pub fn audit_oid(oid: &Oid) -> String {
    if *oid == known::PASSWORD_MECHANISM {
        format!("{oid} (password)")
    } else {
        oid.to_string()
    }
}

/// Decides and audits the associations of one responder. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Guard {
    policy: Arc<ResponderPolicy>,
    audit: Option<Arc<AuditSink>>,
    next_id: AtomicU64,
}

impl Guard {
    /// A guard deciding with `policy` and recording to `audit` (when given; the records are
    /// traced under `guls::audit` either way).
    pub fn new(policy: ResponderPolicy, audit: Option<Arc<AuditSink>>) -> Self {
        Guard {
            policy: Arc::new(policy),
            audit,
            next_id: AtomicU64::new(1),
        }
    }

    /// Numbers the associations from `first` on (for instance after the largest identifier of
    /// an audit log being continued, so that identifiers stay unique in it).
    pub fn with_first_id(mut self, first: u64) -> Self {
        self.next_id = AtomicU64::new(first.max(1));
        self
    }

    /// The policy.
    pub fn policy(&self) -> &ResponderPolicy {
        &self.policy
    }

    /// The audit sink, if any.
    pub fn audit_sink(&self) -> Option<&Arc<AuditSink>> {
        self.audit.as_ref()
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn handle(&self, id: u64) -> AssociationAudit {
        AssociationAudit {
            id,
            sink: self.audit.clone(),
            ended: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Decides on an A-ASSOCIATE indication and records the request, the decision and the
    /// authentication outcome. Answer it with [`Checked::finish`] (or [`Checked::reject`]).
    pub async fn check(&self, incoming: IncomingAssociation) -> Checked {
        let audit = self.handle(self.new_id());
        let peer = incoming.peer_addr();
        let ind = incoming.indication();
        let title = |t: &Option<ApTitle>| t.as_ref().map(ToString::to_string);
        let qualifier = |q: &Option<AeQualifier>| q.as_ref().map(ToString::to_string);
        audit.record(&AuditEvent::association_requested(
            peer.to_string(),
            title(&ind.calling_ap_title).as_deref(),
            qualifier(&ind.calling_ae_qualifier).as_deref(),
            title(&ind.called_ap_title).as_deref(),
            qualifier(&ind.called_ae_qualifier).as_deref(),
            ind.application_context_name.to_string(),
            ind.mechanism_name.as_ref().map(audit_oid).as_deref(),
        ));
        let owned = OwnedRequest {
            peer_addr: peer,
            calling_ap_title: ind.calling_ap_title.clone(),
            calling_ae_qualifier: ind.calling_ae_qualifier.clone(),
            sender_requests_authentication: ind.proposes_authentication(),
            mechanism_name: ind.mechanism_name.clone(),
            authentication_value: ind.authentication_value.clone(),
        };
        let started = Instant::now();
        let decision = if owned.authentication_value.is_some() {
            // A password check costs an argon2id verification: keep it off the async threads.
            let policy = self.policy.clone();
            match tokio::task::spawn_blocking(move || owned.decide(&policy)).await {
                Ok(d) => d,
                Err(_) => Decision::Reject {
                    diagnostic: UserDiagnostic::AuthenticationFailure,
                    reason: RejectReason::BadPassword,
                    rule: "(verification task failed)".into(),
                },
            }
        } else {
            owned.decide(&self.policy)
        };
        let decision_time = started.elapsed();
        record_decision(&audit, &decision);
        match &decision {
            Decision::Accept {
                identity,
                mechanism,
                rule,
            } => tracing::info!(target: TARGET, assoc = audit.id, %peer, rule = rule.as_str(),
                identity = identity.as_deref().unwrap_or("-"),
                mechanism = mechanism.as_ref().map(audit_oid).as_deref().unwrap_or("none"),
                "policy: accept"),
            Decision::Reject {
                diagnostic,
                reason,
                rule,
            } => tracing::info!(target: TARGET, assoc = audit.id, %peer, rule = rule.as_str(),
                reason = reason.name(), diagnostic = diagnostic.value(),
                "policy: reject"),
        }
        Checked {
            incoming,
            decision,
            audit,
            decision_time,
        }
    }

    /// Records a connection that ended before any A-ASSOCIATE indication; returns the
    /// association identifier used in the records.
    pub fn handshake_failure(&self, failure: &HandshakeFailure) -> u64 {
        let audit = self.handle(self.new_id());
        audit.record(&AuditEvent::association_requested(
            failure.peer_addr.to_string(),
            None,
            None,
            None,
            None,
            "-",
            None,
        ));
        audit.provider_abort(&failure.reason);
        tracing::info!(target: TARGET, assoc = audit.id, peer = %failure.peer_addr,
            layer = %failure.reason.layer(), reason = %failure.reason,
            "handshake failed before the A-ASSOCIATE indication");
        audit.id
    }
}

/// The parts of an AARQ the policy looks at, owned so that the decision can run on the
/// blocking pool. The value is zeroed on drop (it is an [`AuthenticationValue`]).
struct OwnedRequest {
    peer_addr: SocketAddr,
    calling_ap_title: Option<ApTitle>,
    calling_ae_qualifier: Option<AeQualifier>,
    sender_requests_authentication: bool,
    mechanism_name: Option<Oid>,
    authentication_value: Option<AuthenticationValue>,
}

impl OwnedRequest {
    fn decide(&self, policy: &ResponderPolicy) -> Decision {
        policy.decide(&AuthRequest {
            peer_addr: Some(self.peer_addr),
            calling_ap_title: self.calling_ap_title.as_ref(),
            calling_ae_qualifier: self.calling_ae_qualifier.as_ref(),
            sender_requests_authentication: self.sender_requests_authentication,
            mechanism_name: self.mechanism_name.as_ref(),
            authentication_value: self.authentication_value.as_ref(),
        })
    }
}

fn record_decision(audit: &AssociationAudit, decision: &Decision) {
    match decision {
        Decision::Accept {
            identity,
            mechanism,
            rule,
        } => {
            audit.record(&AuditEvent::policy_decision(
                rule.as_str(),
                guls_audit::Decision::Accept,
            ));
            if let Some(m) = mechanism {
                audit.record(&AuditEvent::authentication_succeeded(
                    identity.as_deref(),
                    audit_oid(m),
                ));
            }
        }
        Decision::Reject {
            diagnostic,
            reason,
            rule,
        } => {
            audit.record(&AuditEvent::policy_decision(
                rule.as_str(),
                guls_audit::Decision::Reject,
            ));
            let diag =
                AuthDiagnostic::from_value(diagnostic.value()).unwrap_or(AuthDiagnostic::Failure);
            audit.record(&AuditEvent::authentication_failed(reason.name(), diag));
        }
    }
}

/// An A-ASSOCIATE indication with the policy's decision, waiting for the response.
#[derive(Debug)]
pub struct Checked {
    incoming: IncomingAssociation,
    decision: Decision,
    audit: AssociationAudit,
    decision_time: Duration,
}

/// Why [`Checked::finish`] did not give an association.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The policy rejected the association; the AARE carried this diagnostic.
    #[error("rejected by the policy (rule {rule}): {reason} ({} {})", .diagnostic.name(), .diagnostic.value())]
    Rejected {
        /// The diagnostic sent (11 to 14).
        diagnostic: UserDiagnostic,
        /// Why.
        reason: RejectReason,
        /// The rule that decided.
        rule: String,
    },
    /// Sending the response failed.
    #[error("{0}")]
    Association(#[from] AssociationError),
}

/// An association the policy admitted.
#[derive(Debug)]
pub struct Admitted {
    /// The association.
    pub association: Association,
    /// Its audit handle: report its end with [`AssociationAudit::event`] and friends.
    pub audit: AssociationAudit,
    /// The authenticated identity (`None` when the peer did not authenticate).
    pub identity: Option<String>,
    /// The rule that accepted it.
    pub rule: String,
}

impl Checked {
    /// The association identifier of the audit records.
    pub fn id(&self) -> u64 {
        self.audit.id
    }

    /// The policy's decision.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The authenticated identity, when the policy accepted an authenticated peer.
    pub fn identity(&self) -> Option<&str> {
        match &self.decision {
            Decision::Accept { identity, .. } => identity.as_deref(),
            Decision::Reject { .. } => None,
        }
    }

    /// How long the decision took (for a password: essentially the argon2id verification).
    pub fn decision_time(&self) -> Duration {
        self.decision_time
    }

    /// The indication (titles, contexts, user information; the authentication value is
    /// redacted in `Debug`).
    pub fn incoming(&self) -> &IncomingAssociation {
        &self.incoming
    }

    /// The audit handle of this association.
    pub fn audit(&self) -> &AssociationAudit {
        &self.audit
    }

    /// Answers as the policy decided: accepts with `params` (recording
    /// `association_accepted`), or rejects with the decision's diagnostic (recording
    /// `association_rejected`) and returns [`AdmitError::Rejected`].
    pub async fn finish(self, params: AcceptParams) -> Result<Admitted, AdmitError> {
        match self.decision {
            Decision::Accept { identity, rule, .. } => {
                let contexts: Vec<String> = self
                    .incoming
                    .contexts()
                    .iter()
                    .map(|c| c.abstract_syntax.to_string())
                    .collect();
                let peer = self.incoming.peer_addr();
                match self.incoming.accept(params).await {
                    Ok(association) => {
                        self.audit
                            .record(&AuditEvent::association_accepted(contexts));
                        tracing::info!(target: TARGET, assoc = self.audit.id, %peer,
                            identity = identity.as_deref().unwrap_or("-"),
                            "association accepted");
                        Ok(Admitted {
                            association,
                            audit: self.audit,
                            identity,
                            rule,
                        })
                    }
                    Err(e) => {
                        self.audit.error(&e);
                        Err(AdmitError::Association(e))
                    }
                }
            }
            Decision::Reject {
                diagnostic,
                reason,
                rule,
            } => {
                let audit = self.audit.clone();
                respond_reject(self.incoming, &audit, diagnostic).await?;
                Err(AdmitError::Rejected {
                    diagnostic,
                    reason,
                    rule,
                })
            }
        }
    }

    /// Rejects (rejected-permanent, acse-service-user `diagnostic`) whatever the policy
    /// decided, recording `association_rejected`.
    pub async fn reject(self, diagnostic: UserDiagnostic) -> Result<(), AssociationError> {
        respond_reject(self.incoming, &self.audit, diagnostic).await
    }
}

async fn respond_reject(
    incoming: IncomingAssociation,
    audit: &AssociationAudit,
    diagnostic: UserDiagnostic,
) -> Result<(), AssociationError> {
    let r = incoming.reject(diagnostic, Vec::new()).await;
    audit.record(&AuditEvent::association_rejected(
        "rejected-permanent",
        "acse-service-user",
        Some((diagnostic.value(), diagnostic.name())),
    ));
    if let Err(e) = &r {
        tracing::warn!(target: TARGET, assoc = audit.id, error = %e,
            "the rejection may not have reached the peer");
    }
    r
}

/// The audit handle of one association: records its end exactly once (later reports are
/// ignored). Clones share that state.
#[derive(Debug, Clone)]
pub struct AssociationAudit {
    id: u64,
    sink: Option<Arc<AuditSink>>,
    ended: Arc<AtomicBool>,
}

impl AssociationAudit {
    /// The association identifier of the records.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Records one event (to the sink when there is one; traced under `guls::audit` always).
    /// A failing sink is logged, not fatal.
    pub fn record(&self, event: &AuditEvent) {
        match &self.sink {
            Some(sink) => {
                if let Err(e) = sink.record(self.id, event) {
                    tracing::error!(target: TARGET, assoc = self.id, error = %e,
                        "audit record not written");
                }
            }
            None => guls_audit::emit(self.id, event),
        }
    }

    fn end(&self, event: AuditEvent) {
        if !self.ended.swap(true, Ordering::AcqRel) {
            self.record(&event);
        }
    }

    /// Whether the end of the association was recorded.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Records the end an event means: [`AssociationEvent::Released`] (released by the
    /// peer), [`AssociationEvent::AbortIndication`] and [`AssociationEvent::ProviderAbort`];
    /// other events are ignored.
    pub fn event(&self, event: &AssociationEvent) {
        match event {
            AssociationEvent::Released => {
                self.end(AuditEvent::association_released(Side::Peer));
            }
            AssociationEvent::AbortIndication {
                source, diagnostic, ..
            } => self.end(AuditEvent::association_aborted(
                source.name(),
                diagnostic.map_or("no-reason-given", |d| d.name()),
                None,
            )),
            AssociationEvent::ProviderAbort { reason } => self.provider_abort(reason),
            AssociationEvent::Data(_) | AssociationEvent::ReleaseIndication { .. } => {}
        }
    }

    /// Records the end an error of the association API means (an abort); errors that do not
    /// end the association, and [`AssociationError::Closed`] (its end was reported
    /// already), are ignored.
    pub fn error(&self, error: &AssociationError) {
        match error {
            AssociationError::ProviderAbort(r) => self.provider_abort(r),
            AssociationError::Aborted(a) => self.end(AuditEvent::association_aborted(
                a.source.name(),
                a.diagnostic.map_or("no-reason-given", |d| d.name()),
                None,
            )),
            AssociationError::Io(e) => self.end(AuditEvent::association_aborted(
                "provider",
                e.to_string(),
                Some("tcp"),
            )),
            AssociationError::Timeout(k) => self.end(AuditEvent::association_aborted(
                "provider",
                format!("{k} timeout"),
                Some("local"),
            )),
            _ => {}
        }
    }

    fn provider_abort(&self, reason: &ProviderAbortReason) {
        self.end(AuditEvent::association_aborted(
            "provider",
            reason.to_string(),
            Some(reason.layer().name()),
        ));
    }

    /// Records an orderly release this side asked for (after a successful
    /// [`Association::release`]).
    pub fn released_locally(&self) {
        self.end(AuditEvent::association_released(Side::Local));
    }

    /// Records an A-ABORT this side sent (`why` in words, never a secret).
    pub fn aborted_locally(&self, why: &str) {
        self.end(AuditEvent::association_aborted(
            "acse-service-user",
            why,
            None,
        ));
    }
}
