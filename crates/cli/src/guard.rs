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

use guls_association::PdvValue;
use guls_association::{
    AcceptParams, AeQualifier, ApTitle, Association, AssociationError, AssociationEvent,
    AuthenticationValue, HandshakeFailure, IncomingAssociation, Oid, ProviderAbortReason,
    UserDiagnostic,
};
use guls_audit::{AuditEvent, AuditSink, AuthDiagnostic, Direction, Side};
use guls_ber::known;
use guls_policy::{AuthRequest, Decision, RejectReason, ResponderPolicy};
use guls_sese::carriage::failure_name;
use guls_sese::{
    CarriageAbort, CarriageError, DecodedItem, ExchangeDefinition, ExchangeEvent, ExchangeRole,
    Failure, Indication, InvocationId, Item, Registry, SeTransfer, SecureAssociation, SecureEvent,
    SecureIncoming, SecureResponder, Step, Verdict,
};

use crate::exchanges::{BuiltIns, completed_key_id, identifier_label, key_id};
use guls_exchanges::SessionKeys;
use guls_policy::is_downgrade;
use guls_policy::verifier::failure_reason;

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
        let audit = self.requested(&incoming);
        self.decide(audit, incoming).await
    }

    /// A new audit handle with `association_requested` recorded.
    fn requested(&self, incoming: &IncomingAssociation) -> AssociationAudit {
        let audit = self.handle(self.new_id());
        let ind = incoming.indication();
        let title = |t: &Option<ApTitle>| t.as_ref().map(ToString::to_string);
        let qualifier = |q: &Option<AeQualifier>| q.as_ref().map(ToString::to_string);
        audit.record(&AuditEvent::association_requested(
            incoming.peer_addr().to_string(),
            title(&ind.calling_ap_title).as_deref(),
            qualifier(&ind.calling_ae_qualifier).as_deref(),
            title(&ind.called_ap_title).as_deref(),
            qualifier(&ind.called_ae_qualifier).as_deref(),
            ind.application_context_name.to_string(),
            ind.mechanism_name.as_ref().map(audit_oid).as_deref(),
        ));
        audit
    }

    /// The policy's password / no-authentication decision (see [`Guard::check`]).
    async fn decide(&self, audit: AssociationAudit, incoming: IncomingAssociation) -> Checked {
        let peer = incoming.peer_addr();
        let ind = incoming.indication();
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
    /// Carriage rejected the association because of the security exchange (or its absence);
    /// the AARE carried this diagnostic.
    #[error("rejected (rule {rule}): security exchange ({} {})", .diagnostic.name(), .diagnostic.value())]
    ExchangeRejected {
        /// The diagnostic sent (11 to 14).
        diagnostic: UserDiagnostic,
        /// The rule that applied.
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
    // Recorded before the AARE goes out: the log holds every rejection a peer can have seen.
    record_rejected(audit, diagnostic);
    let r = incoming.reject(diagnostic, Vec::new()).await;
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

// ------------------------------------------------------------------------ security exchanges

/// How a responder answers an A-ASSOCIATE indication: the policy's password / no
/// authentication decision ([`Guard::check`]), or a security exchange run by carriage.
///
/// [`Guard::admit`] routes: to carriage when the matching rule has security exchanges
/// (`exchanges`, `require_exchange`) and the AARQ asks for one (a mechanism name other than
/// the password's 2.2.3.1, or no mechanism name but user-information with the SESE context
/// proposed), or when the rule requires an exchange (then a password or no authentication is
/// answered by carriage: 11 or 14). Everything else, the password mechanism in particular,
/// stays with the policy's decision. Carriage answers exchanges the rule does not accept with
/// 11, as the policy does for mechanisms.
#[derive(Debug)]
pub enum Admission {
    /// Decided by the policy (password or no authentication).
    Plain(Box<Checked>),
    /// A security exchange, examined by carriage.
    Secure(Box<SecureChecked>),
}

impl Admission {
    /// The association identifier of the audit records.
    pub fn id(&self) -> u64 {
        match self {
            Admission::Plain(c) => c.id(),
            Admission::Secure(s) => s.audit.id,
        }
    }

    /// The diagnostic the answer will carry when it is a rejection.
    pub fn rejection(&self) -> Option<UserDiagnostic> {
        match self {
            Admission::Plain(c) => match c.decision() {
                Decision::Reject { diagnostic, .. } => Some(*diagnostic),
                Decision::Accept { .. } => None,
            },
            Admission::Secure(s) => s.rejection,
        }
    }

    /// The A-ASSOCIATE indication.
    pub fn indication(&self) -> &guls_association::AssociateIndication {
        match self {
            Admission::Plain(c) => c.incoming().indication(),
            Admission::Secure(s) => s.incoming.indication(),
        }
    }

    /// Answers as decided (see [`Checked::finish`] and [`SecureChecked::finish`]).
    pub async fn finish(self, params: AcceptParams) -> Result<Session, AdmitError> {
        match self {
            Admission::Plain(c) => (*c).finish(params).await.map(|a| Session {
                association: SessionKind::Plain(a.association),
                audit: a.audit,
                identity: a.identity,
                rule: a.rule,
                session_keys: None,
                key_id: None,
            }),
            Admission::Secure(s) => (*s).finish(params).await,
        }
    }

    /// Rejects with `diagnostic` whatever was decided, recording `association_rejected`.
    pub async fn reject(self, diagnostic: UserDiagnostic) -> Result<(), AssociationError> {
        match self {
            Admission::Plain(c) => (*c).reject(diagnostic).await,
            Admission::Secure(s) => {
                record_rejected(&s.audit, diagnostic);
                s.incoming
                    .reject(diagnostic, Vec::new())
                    .await
                    .map_err(carriage_to_association)
            }
        }
    }
}

fn carriage_to_association(e: CarriageError) -> AssociationError {
    match e {
        CarriageError::Association(e) => e,
        _ => AssociationError::Closed,
    }
}

fn record_rejected(audit: &AssociationAudit, diagnostic: UserDiagnostic) {
    audit.record(&AuditEvent::association_rejected(
        "rejected-permanent",
        "acse-service-user",
        Some((diagnostic.value(), diagnostic.name())),
    ));
}

/// An A-ASSOCIATE indication whose security exchange carriage has examined.
#[derive(Debug)]
pub struct SecureChecked {
    incoming: SecureIncoming,
    audit: AssociationAudit,
    rule: String,
    rejection: Option<UserDiagnostic>,
    reason: String,
    session_keys: Option<SessionKeys>,
    key_id: Option<String>,
}

impl SecureChecked {
    /// The carriage examination (verdict, exchange, outcome).
    pub fn secure(&self) -> &SecureIncoming {
        &self.incoming
    }

    /// Why the association will be rejected (`downgrade`, `certificate-expired`,
    /// `ap-title-mismatch`, ...; empty when it will be accepted).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The id of the keys a completed key agreement derived ([`key_id`]).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Accepts (the reply item in the AARE) or rejects with the diagnostic decided
    /// ([`AdmitError::ExchangeRejected`]), recording `association_accepted` or
    /// `association_rejected`.
    pub async fn finish(self, params: AcceptParams) -> Result<Session, AdmitError> {
        let SecureChecked {
            incoming,
            audit,
            rule,
            rejection,
            session_keys,
            key_id,
            ..
        } = self;
        if let Some(diagnostic) = rejection {
            // Recorded before the AARE goes out, as every rejection.
            record_rejected(&audit, diagnostic);
            let r = match incoming.verdict() {
                // Carriage's own rejection (with the exchange's se-u-abort / se-p-abort).
                Verdict::Reject(d) if *d == diagnostic => match incoming.finish(params).await {
                    Err(CarriageError::RejectedHere(_)) => Ok(()),
                    Err(e) => Err(carriage_to_association(e)),
                    Ok(_) => Ok(()),
                },
                _ => incoming
                    .reject(diagnostic, Vec::new())
                    .await
                    .map_err(carriage_to_association),
            };
            r?;
            return Err(AdmitError::ExchangeRejected { diagnostic, rule });
        }
        let contexts: Vec<String> = incoming
            .incoming()
            .contexts()
            .iter()
            .map(|c| c.abstract_syntax.to_string())
            .collect();
        let identity = incoming.outcome().and_then(|o| o.peer_identity.clone());
        match incoming.finish(params).await {
            Ok(secure) => {
                audit.record(&AuditEvent::association_accepted(contexts));
                Ok(Session {
                    association: SessionKind::Secure(Box::new(secure)),
                    audit,
                    identity,
                    rule,
                    session_keys,
                    key_id,
                })
            }
            Err(e) => {
                let e = carriage_to_association(e);
                audit.error(&e);
                Err(AdmitError::Association(e))
            }
        }
    }
}

impl Guard {
    /// Decides on an A-ASSOCIATE indication: records the request, then routes it (see
    /// [`Admission`]) to the policy's decision or to a security exchange run with the
    /// exchanges of `builtins`, every SESE primitive and the exchange's end recorded.
    pub async fn admit(&self, incoming: IncomingAssociation, builtins: &BuiltIns) -> Admission {
        let audit = self.requested(&incoming);
        let ind = incoming.indication();
        let req = AuthRequest {
            peer_addr: Some(incoming.peer_addr()),
            calling_ap_title: ind.calling_ap_title.as_ref(),
            calling_ae_qualifier: ind.calling_ae_qualifier.as_ref(),
            sender_requests_authentication: ind.proposes_authentication(),
            mechanism_name: None,
            authentication_value: None,
        };
        let (rule, x) = self.policy.exchanges_for(&req);
        let (rule, x) = (rule.to_string(), x.clone());
        let sese_pcid = incoming
            .contexts()
            .iter()
            .find(|c| c.abstract_syntax == Registry::abstract_syntax())
            .map(|c| c.pcid);
        let asks = match &ind.mechanism_name {
            Some(m) => *m != known::PASSWORD_MECHANISM,
            None => sese_pcid.is_some() && !ind.user_information.is_empty(),
        };
        if !(x.required || (x.is_active() && asks)) {
            return Admission::Plain(Box::new(self.decide(audit, incoming).await));
        }
        // Without an exchange, the rule's "none" decides (when no exchange is required).
        let open = self.policy.decide(&req);
        let mechanism = ind.mechanism_name.clone();
        // The certificate exchanges of this association (verifier bound to the calling
        // AP-title, the key agreement's context, fresh reports).
        let builtins = builtins.for_responder(ind, sese_pcid);
        let tap = audit_tap(&audit);
        let secure = SecureResponder::new(builtins.responder_config(&x, &tap)).examine(incoming);
        for i in secure.indications() {
            audit.sese_indication(i);
        }
        for e in secure.events() {
            match e {
                // An item refused before any role ran (it did not decode, or was no value of
                // its type) names no exchange instance: record the exchange the AARQ named.
                ExchangeEvent::Failed {
                    exchange: None,
                    invocation_id,
                    item,
                    failure,
                } if secure.exchange().is_some() => audit.exchange_event(&ExchangeEvent::Failed {
                    exchange: secure.exchange().cloned(),
                    invocation_id: *invocation_id,
                    item: *item,
                    failure: failure.clone(),
                }),
                _ => audit.exchange_event(e),
            }
        }
        let offered = mechanism.or_else(|| secure.exchange().and_then(|e| e.as_global()).cloned());
        let detail = builtins.assoc.as_ref().and_then(|a| {
            a.reports
                .last_failure()
                .map(|f| failure_reason(&f, a.verifier.last_error().as_ref()))
        });
        let (rejection, reason): (Option<UserDiagnostic>, String) =
            if is_downgrade(&x, offered.as_ref()) {
                // The rule requires mutual certificate authentication: a password or the
                // one-way exchange is refused without being examined further.
                (
                    Some(UserDiagnostic::AuthenticationRequired),
                    "downgrade".into(),
                )
            } else {
                match secure.verdict() {
                    Verdict::Proceed => (None, String::new()),
                    Verdict::Reject(d) => (
                        Some(*d),
                        match d {
                            UserDiagnostic::AuthenticationMechanismNameNotRecognized => {
                                "mechanism-not-accepted".into()
                            }
                            UserDiagnostic::AuthenticationMechanismNameRequired => {
                                "mechanism-name-required".into()
                            }
                            UserDiagnostic::AuthenticationRequired => "exchange-required".into(),
                            _ => detail.unwrap_or_else(|| "exchange-failed".into()),
                        },
                    ),
                    Verdict::NoExchange => match open {
                        Decision::Accept { .. } => (None, String::new()),
                        Decision::Reject { .. } => (
                            Some(UserDiagnostic::AuthenticationRequired),
                            "authentication-required".into(),
                        ),
                    },
                }
            };
        match rejection {
            None => audit.record(&AuditEvent::policy_decision(
                rule.as_str(),
                guls_audit::Decision::Accept,
            )),
            Some(d) => {
                audit.record(&AuditEvent::policy_decision(
                    rule.as_str(),
                    guls_audit::Decision::Reject,
                ));
                let diag = AuthDiagnostic::from_value(d.value()).unwrap_or(AuthDiagnostic::Failure);
                audit.record(&AuditEvent::authentication_failed(reason.as_str(), diag));
            }
        }
        let (session_keys, key_id) = match (&builtins.assoc, &builtins.auth, rejection) {
            (Some(a), Some(auth), None) => match a.reports.take_session_keys() {
                Some(k) => {
                    let id = key_id(&k, auth.provider());
                    (Some(k), Some(id))
                }
                None => (None, None),
            },
            _ => (None, None),
        };
        tracing::info!(target: TARGET, assoc = audit.id, peer = %secure.peer_addr(),
            rule = rule.as_str(),
            exchange = secure.exchange().map(identifier_label).as_deref().unwrap_or("-"),
            diagnostic = rejection.map(|d| d.value()),
            reason = reason.as_str(),
            key_id = key_id.as_deref().unwrap_or("-"),
            "security exchange examined");
        Admission::Secure(Box::new(SecureChecked {
            incoming: secure,
            audit,
            rule,
            rejection,
            reason,
            session_keys,
            key_id,
        }))
    }
}

/// An admitted association, plain or gated by a security exchange, with its audit handle.
/// [`Session::recv`] records every SESE primitive and exchange end on the way.
#[derive(Debug)]
pub struct Session {
    /// The association.
    pub association: SessionKind,
    /// Its audit handle.
    pub audit: AssociationAudit,
    /// The authenticated identity (password or exchange), if any.
    pub identity: Option<String>,
    /// The rule that admitted it.
    pub rule: String,
    /// The keys of a completed signed key agreement (for the protecting transfer syntax;
    /// `Debug` never shows them).
    pub session_keys: Option<SessionKeys>,
    /// Their id ([`key_id`]): the only thing about them ever logged or printed.
    pub key_id: Option<String>,
}

/// A plain or a secure association.
#[derive(Debug)]
pub enum SessionKind {
    /// Admitted by the policy's decision.
    Plain(Association),
    /// Gated by a security exchange.
    Secure(Box<SecureAssociation>),
}

impl Session {
    /// The next association event; SESE indications and exchange events are recorded (not
    /// returned), and a carriage abort is recorded and ends the association
    /// ([`AssociationError::Closed`]).
    pub async fn recv(&mut self) -> Result<AssociationEvent, AssociationError> {
        match &mut self.association {
            SessionKind::Plain(a) => a.recv().await,
            SessionKind::Secure(s) => secure_recv(s, &self.audit).await,
        }
    }

    /// P-DATA request (held back by carriage until the required exchange completed, which
    /// is [`AssociationError::IllegalPrimitive`] here).
    pub async fn send(
        &self,
        pcid: guls_association::Pcid,
        value: PdvValue,
    ) -> Result<(), AssociationError> {
        match &self.association {
            SessionKind::Plain(a) => a.send(pcid, value).await,
            SessionKind::Secure(s) => s.send(pcid, value).await.map_err(|e| match e {
                CarriageError::Association(e) => e,
                other => AssociationError::IllegalPrimitive(other.to_string()),
            }),
        }
    }

    /// The underlying association (contexts, confirm, addresses).
    pub fn inner(&self) -> &Association {
        match &self.association {
            SessionKind::Plain(a) => a,
            SessionKind::Secure(s) => s.association(),
        }
    }

    /// A-RELEASE request.
    pub async fn release(&mut self) -> Result<guls_association::ReleaseOutcome, AssociationError> {
        match &mut self.association {
            SessionKind::Plain(a) => a.release().await,
            SessionKind::Secure(s) => s.release().await.map_err(carriage_to_association),
        }
    }

    /// A-RELEASE response, affirmative.
    pub async fn release_response(&self) -> Result<(), String> {
        match &self.association {
            SessionKind::Plain(a) => a
                .release_response(Vec::new())
                .await
                .map_err(|e| e.to_string()),
            SessionKind::Secure(s) => s
                .release_response(Vec::new())
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// A-ABORT request.
    pub async fn abort(&self) -> Result<(), String> {
        match &self.association {
            SessionKind::Plain(a) => a.abort(Vec::new()).await.map_err(|e| e.to_string()),
            SessionKind::Secure(s) => s.abort(Vec::new()).await.map_err(|e| e.to_string()),
        }
    }
}

/// [`SecureAssociation::recv`] with the SESE events recorded: returns the next data or
/// association event.
pub async fn secure_recv(
    s: &mut SecureAssociation,
    audit: &AssociationAudit,
) -> Result<AssociationEvent, AssociationError> {
    loop {
        match s.recv().await {
            Ok(SecureEvent::Data(d)) => return Ok(AssociationEvent::Data(d)),
            Ok(SecureEvent::Association(ev)) => return Ok(ev),
            Ok(other) => {
                if audit.secure_event(&other) {
                    return Err(AssociationError::Closed);
                }
            }
            Err(e) => return Err(carriage_to_association(e)),
        }
    }
}

fn invocation(id: InvocationId) -> Option<i64> {
    match id {
        InvocationId::Present(v) => Some(v),
        InvocationId::Absent => None,
    }
}

fn error_codes(errors: &[guls_sese::SeError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            e.code
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string)
        })
        .collect()
}

impl AssociationAudit {
    /// An audit handle for association `id` (an initiator's, for instance): records go to
    /// `sink` when given, else are traced only.
    pub fn new(id: u64, sink: Option<Arc<AuditSink>>) -> Self {
        AssociationAudit {
            id,
            sink,
            ended: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Records an SE-U-ABORT or SE-P-ABORT indication (SE-TRANSFERs are recorded by the
    /// [`audit_tap`], in the order the items were sent and received).
    pub fn sese_indication(&self, ind: &Indication) {
        match ind {
            Indication::Transfer(_) => {}
            Indication::UAbort(a) => self.record(&AuditEvent::se_u_abort(
                Direction::Received,
                None,
                invocation(a.invocation_id),
                a.item_identifier,
                error_codes(a.errors.as_deref().unwrap_or_default()),
            )),
            Indication::PAbort(p) => self.record(&AuditEvent::se_p_abort(
                match p.source {
                    guls_sese::AbortSource::Local => Direction::Sent,
                    guls_sese::AbortSource::Peer => Direction::Received,
                },
                p.invocation_id.and_then(invocation),
                p.item_identifier,
                p.problem.name(),
            )),
        }
    }

    /// Records an exchange's end: `exchange_completed` with the authenticated identity (and,
    /// for the signed key agreement, the id of the derived keys, [`completed_key_id`]), or
    /// the SE-U-ABORT this side sent (naming the item it answers) and `exchange_failed` with
    /// the problem code.
    pub fn exchange_event(&self, ev: &ExchangeEvent) {
        match ev {
            ExchangeEvent::Completed {
                exchange, outcome, ..
            } => self.record(&AuditEvent::exchange_completed(
                identifier_label(exchange),
                outcome.peer_identity.as_deref(),
                completed_key_id(exchange, outcome).as_deref(),
            )),
            ExchangeEvent::Failed {
                exchange,
                invocation_id,
                item,
                failure,
            } => {
                let name = exchange.as_ref().map(identifier_label);
                let sent = match failure {
                    Failure::RejectedLocally(errors) => Some(error_codes(errors)),
                    Failure::RoleError(_) => Some(Vec::new()),
                    _ => None,
                };
                if let Some(codes) = sent {
                    self.record(&AuditEvent::se_u_abort(
                        Direction::Sent,
                        name.as_deref(),
                        invocation_id.and_then(invocation),
                        *item,
                        codes,
                    ));
                }
                let problem = match failure {
                    Failure::ProviderAbort(p) => Some(p.problem.name()),
                    _ => None,
                };
                self.record(&AuditEvent::exchange_failed(
                    name.unwrap_or_else(|| "-".into()),
                    failure_name(failure),
                    problem,
                ));
            }
        }
    }

    /// Records a [`SecureEvent`] other than data and association events; true when it ended
    /// the association (a carriage abort, recorded as `association_aborted`).
    pub fn secure_event(&self, ev: &SecureEvent) -> bool {
        match ev {
            SecureEvent::Sese(i) => self.sese_indication(i),
            SecureEvent::Exchange(e) => self.exchange_event(e),
            SecureEvent::Aborted(reason) => {
                self.aborted_locally(&format!("A-ABORT request: {}", abort_reason(reason)));
                return true;
            }
            SecureEvent::Data(_) | SecureEvent::Association(_) => {}
        }
        false
    }
}

/// Why carriage aborted an association, in words for logs and audit records: as
/// [`CarriageAbort`]'s `Display`, with a failed exchange named by its [`identifier_label`]
/// (`2.25… (signed-key-agreement)`) rather than its raw identifier.
pub fn abort_reason(reason: &CarriageAbort) -> String {
    match reason {
        CarriageAbort::ExchangeFailed {
            exchange: Some(exchange),
            failure,
        } => format!(
            "security exchange {} failed: {}",
            identifier_label(exchange),
            failure_name(failure)
        ),
        other => other.to_string(),
    }
}

/// Wraps an exchange definition so that its role machines record every SE-TRANSFER their
/// items are sent and received in as `se_transfer` (exchange, item id, invocation id,
/// start/end flags, item length and SHA-256, never the value) to `audit`, in the order sent
/// and received. The SHA-256 of an item that carries a password in the clear (simple
/// credentials of the directory exchanges) is withheld: a fast unsalted digest of it could be
/// searched with a dictionary. Item id, invocation id and flags are the APDU's, as on the wire
/// ([`ExchangeRole::transfer_received`], [`ExchangeRole::transfer_sent`]): a received item the
/// role then rejects is recorded with the end flag it arrived with, and an item the endpoint
/// did not send is not recorded.
pub fn audit_tap(
    audit: &AssociationAudit,
) -> impl Fn(ExchangeDefinition) -> ExchangeDefinition + use<> {
    let audit = audit.clone();
    move |def: ExchangeDefinition| {
        let inner = Arc::new(def.clone());
        if inner.new_initiator().is_none() {
            return def;
        }
        let (ia, ra, ii, ri) = (audit.clone(), audit.clone(), inner.clone(), inner);
        def.roles(
            move || {
                Box::new(AuditedRole {
                    inner: ii.new_initiator().expect("checked"),
                    audit: ia.clone(),
                    exchange: identifier_label(&ii.identifier),
                    directory: is_directory_exchange(&ii.identifier),
                })
            },
            move || {
                Box::new(AuditedRole {
                    inner: ri.new_responder().expect("checked"),
                    audit: ra.clone(),
                    exchange: identifier_label(&ri.identifier),
                    directory: is_directory_exchange(&ri.identifier),
                })
            },
        )
    }
}

fn is_directory_exchange(id: &guls_sese::Identifier) -> bool {
    id.as_global().is_some_and(|o| {
        *o == guls_exchanges::DIR_AUTHENTICATION_ONE_WAY
            || *o == guls_exchanges::DIR_AUTHENTICATION_TWO_WAY
    })
}

/// Whether `value`, an item of a directory exchange, is simple credentials with a password in
/// the clear.
fn carries_password(value: &[u8]) -> bool {
    use guls_exchanges::{Credentials, Password};
    use guls_sese::ItemType;
    // `simple [0]` (A0): only then is the item decoded again.
    value.first() == Some(&0xa0)
        && matches!(
            Credentials::decode(value),
            Ok(Credentials::Simple(s)) if matches!(s.password, Some(Password::Unprotected(_)))
        )
}

struct AuditedRole {
    inner: Box<dyn ExchangeRole>,
    audit: AssociationAudit,
    exchange: String,
    /// A directory exchange, whose items may carry a password (see [`audit_tap`]).
    directory: bool,
}

impl AuditedRole {
    fn transfer(&self, direction: Direction, t: &SeTransfer) {
        let exchange = self.exchange.as_str();
        let invocation = invocation(t.invocation_id);
        let (id, start, end) = (t.item_identifier, t.start, t.end);
        self.audit
            .record(&if self.directory && carries_password(&t.item) {
                AuditEvent::se_transfer_digest_withheld(
                    direction,
                    exchange,
                    id,
                    invocation,
                    start,
                    end,
                    t.item.len(),
                )
            } else {
                AuditEvent::se_transfer(direction, exchange, id, invocation, start, end, &t.item)
            });
    }
}

impl ExchangeRole for AuditedRole {
    fn start(&mut self) -> Step {
        self.inner.start()
    }

    fn on_item(&mut self, item: &Item) -> Step {
        self.inner.on_item(item)
    }

    fn on_decoded_item(&mut self, item: &Item, decoded: Option<DecodedItem>) -> Step {
        self.inner.on_decoded_item(item, decoded)
    }

    fn transfer_received(&mut self, transfer: &SeTransfer) {
        self.transfer(Direction::Received, transfer);
        self.inner.transfer_received(transfer);
    }

    fn transfer_sent(&mut self, transfer: &SeTransfer) {
        self.transfer(Direction::Sent, transfer);
        self.inner.transfer_sent(transfer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guls_sese::{
        Endpoint, Identifier, Integer, InvocationIdSet, ItemDef, Outcome, Sequencing, SeseConfig,
    };
    use serde_json::Value;

    /// Sends item 1, then rejects whatever comes back.
    struct Ask;

    impl ExchangeRole for Ask {
        fn start(&mut self) -> Step {
            Step::Send(Item::new(1, &Integer(1)))
        }

        fn on_item(&mut self, _: &Item) -> Step {
            Step::Fail(Vec::new())
        }
    }

    /// Answers item 1 with the last item 2, or refuses it.
    struct Answer {
        refuse: bool,
    }

    impl ExchangeRole for Answer {
        fn on_item(&mut self, _: &Item) -> Step {
            if self.refuse {
                Step::Fail(Vec::new())
            } else {
                Step::SendLast(Item::new(2, &Integer(2)), Outcome::default())
            }
        }
    }

    const ANSWERED: Identifier = Identifier::Local(7);
    const REFUSED: Identifier = Identifier::Local(8);

    /// An endpoint running both exchanges under invocation ids 1 to 9, its roles tapped into
    /// a memory audit log.
    fn side() -> (Endpoint, Arc<AuditSink>, AssociationAudit) {
        let sink = Arc::new(AuditSink::memory());
        let audit = AssociationAudit::new(1, Some(sink.clone()));
        let tap = audit_tap(&audit);
        let def = |id, refuse| {
            tap(ExchangeDefinition::new(id, "test", Sequencing::Alternating)
                .item(ItemDef::new::<Integer>(1, "one"))
                .item(ItemDef::new::<Integer>(2, "two"))
                .roles(|| Box::new(Ask), move || Box::new(Answer { refuse })))
        };
        let registry = Registry::new()
            .with(def(ANSWERED, false))
            .unwrap()
            .with(def(REFUSED, true))
            .unwrap();
        let config = SeseConfig {
            invocation_ids: InvocationIdSet::present_range(1, 9),
            ..SeseConfig::default()
        };
        (Endpoint::new(Arc::new(registry), config), sink, audit)
    }

    /// The events of the records of `sink` of `kind`.
    fn events(sink: &AuditSink, kind: &str) -> Vec<Value> {
        sink.memory_contents()
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["event"]["kind"] == kind)
            .map(|r| r["event"].clone())
            .collect()
    }

    /// Runs `exchange` under invocation id 3 between two tapped sides, each side's exchange
    /// events recorded as the guard does; returns the two logs.
    fn run(exchange: &Identifier) -> (Arc<AuditSink>, Arc<AuditSink>) {
        let (mut init, init_log, init_audit) = side();
        let (mut resp, resp_log, resp_audit) = side();
        let mut to_resp = init
            .initiate(exchange, InvocationId::Present(3))
            .unwrap()
            .send;
        while !to_resp.is_empty() {
            let mut to_init = Vec::new();
            for a in to_resp.drain(..) {
                let out = resp.receive(&a.bytes);
                out.events.iter().for_each(|e| resp_audit.exchange_event(e));
                to_init.extend(out.send);
            }
            for a in to_init {
                let out = init.receive(&a.bytes);
                out.events.iter().for_each(|e| init_audit.exchange_event(e));
                to_resp.extend(out.send);
            }
        }
        (init_log, resp_log)
    }

    /// `(direction, item, invocation, start, end)` of each `se_transfer` record, in order.
    fn transfers(sink: &AuditSink) -> Vec<(String, i64, Option<i64>, bool, bool)> {
        events(sink, "se_transfer")
            .iter()
            .map(|e| {
                (
                    e["direction"].as_str().unwrap().to_owned(),
                    e["item"].as_i64().unwrap(),
                    e["invocation"].as_i64(),
                    e["start"].as_bool().unwrap(),
                    e["end"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    /// The se_transfer records carry the APDUs' flags and invocation id, also for an item the
    /// role then rejects (the responder's last, end flag set); the se_u_abort sent names the
    /// item it answers.
    #[test]
    fn transfers_and_aborts_are_recorded_as_on_the_wire() {
        let t = |d: &str, item, start, end| (d.to_owned(), item, Some(3), start, end);

        let (init, resp) = run(&ANSWERED);
        assert_eq!(
            transfers(&init),
            [t("sent", 1, true, false), t("received", 2, false, true)]
        );
        assert_eq!(
            transfers(&resp),
            [t("received", 1, true, false), t("sent", 2, false, true)]
        );
        let aborts = events(&init, "se_u_abort");
        assert_eq!(aborts.len(), 1, "{aborts:?}");
        assert_eq!(aborts[0]["direction"], "sent");
        assert_eq!(aborts[0]["item"], 2);
        assert_eq!(aborts[0]["invocation"], 3);

        let (init, resp) = run(&REFUSED);
        assert_eq!(transfers(&init), [t("sent", 1, true, false)]);
        assert_eq!(transfers(&resp), [t("received", 1, true, false)]);
        let aborts = events(&resp, "se_u_abort");
        assert_eq!(aborts.len(), 1, "{aborts:?}");
        assert_eq!(aborts[0]["direction"], "sent");
        assert_eq!(aborts[0]["item"], 1);
        assert_eq!(aborts[0]["invocation"], 3);
    }
}
