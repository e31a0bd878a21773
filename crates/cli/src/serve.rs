//! `guls serve`: a responder that decides on every association with a responder policy
//! (default: the open policy), records each step in the audit log, echoes P-DATA back in the
//! same presentation context, answers releases and logs every event with `tracing` (target
//! `guls::serve`; audit records under `guls::audit`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use guls_association::{
    AcceptParams, AssociationError, AssociationEvent, DataIndication, IncomingAssociation,
    PdvValue, Responder, UserDiagnostic,
};
use guls_audit::AuditSink;
use guls_ber::known;
use guls_policy::ResponderPolicy;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::exchanges::BuiltIns;
use crate::guard::{AdmitError, Guard, Session};
use crate::profile::{self, ContextArg, Profile};

const TARGET: &str = "guls::serve";

/// How long the live associations get to send their A-ABORT after the second Ctrl-C.
const ABORT_GRACE: Duration = Duration::from_secs(2);

/// What `guls serve` does.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// The profile (application context and its contexts).
    pub profile: Profile,
    /// Further presentation contexts supported.
    pub contexts: Vec<ContextArg>,
    /// Most associations alive at once.
    pub max_associations: Option<usize>,
    /// Idle timeout of an association.
    pub idle_timeout: Option<Duration>,
    /// Serve one association, then exit.
    pub once: bool,
    /// The responder policy file; `None` is the open policy (everyone, no authentication).
    pub policy: Option<PathBuf>,
    /// The audit log, created or continued (its chain is verified first); `None` traces the
    /// audit records only.
    pub audit: Option<PathBuf>,
    /// The security exchanges this responder can run (see [`crate::exchanges`]); the policy's
    /// rules say which are accepted or required.
    pub builtins: BuiltIns,
}

/// Why `guls serve` stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The options give an unusable configuration.
    #[error("{0}")]
    Usage(String),
    /// The listener could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// Why.
        source: AssociationError,
    },
    /// The audit log cannot be created or continued.
    #[error("audit log {file}: {message}")]
    Audit {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
}

/// Loads the responder policy (`None`: the open policy); errors are `FILE:LINE:COL: message`.
pub fn load_policy(path: Option<&std::path::Path>) -> Result<ResponderPolicy, ServeError> {
    match path {
        None => Ok(ResponderPolicy::open()),
        Some(p) => ResponderPolicy::load(p).map_err(|e| ServeError::Usage(e.to_string())),
    }
}

/// Runs the responder until Ctrl-C (or, with `once`, until its first association ends).
///
/// The first line on standard output is `listening on ADDR` (the bound address, so a port 0
/// can be learnt); everything else goes to the `tracing` log.
pub async fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    let policy = load_policy(opts.policy.as_deref())?;
    // Certificates: --cert/--key/--trust/--crl over the policy's [identity] and [trust].
    let builtins = opts
        .builtins
        .resolve(policy.trust(), policy.identity())
        .map_err(|m| ServeError::Usage(format!("{}: {m}", policy_name(&opts))))?;
    builtins
        .check(&policy.exchanges_named())
        .map_err(|m| ServeError::Usage(format!("{}: {m}", policy_name(&opts))))?;
    let mut config = guls_sese::SecureResponder::configure(opts.profile.config());
    if let Some(auth) = &builtins.auth {
        // Answer with the form 1 AP-title the certificate binds (its subject).
        if config.acse.responding_ap_title.is_none() {
            config.acse.responding_ap_title = Some(auth.ap_title());
        }
        tracing::info!(target: TARGET, subject = auth.subject(),
            provider = auth.provider().name, trust = %auth.trust().describe(),
            "certificate authentication available");
    }
    profile::add_supported(&mut config, &opts.contexts);
    // The policy's limits and timeouts, then the command line's (explicit options win).
    policy.apply_to(&mut config);
    if let Some(n) = opts.max_associations {
        config.limits.max_associations = n;
    }
    if let Some(t) = opts.idle_timeout {
        config.timeouts.idle = t;
    }
    config
        .validate()
        .map_err(|e| ServeError::Usage(e.to_string()))?;
    let supported: Vec<String> = config
        .supported_syntaxes()
        .iter()
        .map(|s| {
            let ts: Vec<String> = s.transfer_syntaxes.iter().map(profile::oid_label).collect();
            format!(
                "{} [{}]",
                profile::oid_label(&s.abstract_syntax),
                ts.join(", ")
            )
        })
        .collect();
    let sink = match &opts.audit {
        None => None,
        Some(path) => Some(Arc::new(AuditSink::open_append(path).map_err(|e| {
            ServeError::Audit {
                file: path.display().to_string(),
                message: e.to_string(),
            }
        })?)),
    };
    let first_id = opts
        .audit
        .as_deref()
        .map_or(1, |p| last_association_id(p) + 1);
    let policy_summary = policy.summary();
    let guard = Arc::new(Guard::new(policy, sink).with_first_id(first_id));
    let responder = Responder::bind(opts.listen.as_str(), config.clone())
        .await
        .map_err(|source| ServeError::Listen {
            addr: opts.listen.clone(),
            source,
        })?;
    let local = responder.local_addr();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {local}");
        let _ = out.flush();
    }
    tracing::info!(target: TARGET, %local, profile = %opts.profile, arc = %profile::arc_text(),
        application_context = %profile::oid_label(&opts.profile.application_context()),
        contexts = %supported.join("; "),
        max_associations = config.limits.max_associations,
        idle_timeout_s = config.timeouts.idle.as_secs_f64(),
        once = opts.once,
        audit = opts.audit.as_ref().map(|p| p.display().to_string()).as_deref().unwrap_or("-"),
        "listening");
    for line in policy_summary.lines() {
        tracing::info!(target: TARGET, "{line}");
    }

    let mut tasks = JoinSet::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        tokio::select! {
            r = responder.accept() => match r {
                Ok(inc) => {
                    tasks.spawn(handle(inc, opts.profile, guard.clone(), builtins.clone(),
                        stop_rx.clone()));
                    if opts.once {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(target: TARGET, error = %e, "accept ended");
                    break;
                }
            },
            Some(r) = tasks.join_next(), if !tasks.is_empty() => log_join(r),
            Some(f) = responder.next_handshake_failure() => {
                guard.handshake_failure(&f);
            }
            _ = &mut ctrl_c => {
                interrupted = true;
                break;
            }
        }
    }
    responder.shutdown();
    if interrupted {
        tracing::info!(target: TARGET, live = tasks.len(),
            "Ctrl-C: no new associations; waiting for the live ones (Ctrl-C again aborts them)");
    }
    let second = tokio::signal::ctrl_c();
    tokio::pin!(second);
    loop {
        tokio::select! {
            r = tasks.join_next() => match r {
                Some(r) => log_join(r),
                None => break,
            },
            _ = &mut second => {
                tracing::warn!(target: TARGET, live = tasks.len(), "aborting the live associations");
                let _ = stop_tx.send(true);
                let drained = tokio::time::timeout(ABORT_GRACE, async {
                    while let Some(r) = tasks.join_next().await {
                        log_join(r);
                    }
                });
                if drained.await.is_err() {
                    tasks.abort_all();
                }
                break;
            }
        }
    }
    for f in responder.take_handshake_failures() {
        guard.handshake_failure(&f);
    }
    let c = responder.counters();
    tracing::info!(target: TARGET, tcp_accepted = c.tcp_accepted, indications = c.indications,
        handshake_failures = c.handshake_failures, refused_limit = c.refused_limit,
        failures_unreported = c.failures_unreported, "stopped");
    Ok(())
}

fn policy_name(opts: &ServeOptions) -> String {
    opts.policy
        .as_ref()
        .map_or_else(|| "(open policy)".into(), |p| p.display().to_string())
}

/// The largest association identifier in an audit log (0 when none), so that a continued log
/// keeps its identifiers unique.
pub(crate) fn last_association_id(path: &std::path::Path) -> u64 {
    use std::io::BufRead;
    let Ok(f) = std::fs::File::open(path) else {
        return 0;
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v["assoc"].as_u64())
        .max()
        .unwrap_or(0)
}

fn log_join(r: Result<(), tokio::task::JoinError>) {
    if let Err(e) = r
        && !e.is_cancelled()
    {
        tracing::error!(target: TARGET, error = %e, "association task failed");
    }
}

fn hex_short(v: &[u8]) -> String {
    const MAX: usize = 64;
    if v.len() <= MAX {
        guls_ber::to_hex(v)
    } else {
        format!("{}…", guls_ber::to_hex(&v[..MAX]))
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "-".into())
}

/// Logs the A-ASSOCIATE indication, has the guard decide on it and answers it; then runs
/// the association.
async fn handle(
    inc: IncomingAssociation,
    profile: Profile,
    guard: Arc<Guard>,
    builtins: BuiltIns,
    stop: watch::Receiver<bool>,
) {
    let peer: SocketAddr = inc.peer_addr();
    let ind = inc.indication();
    let proposed: Vec<String> = inc
        .connect_indication()
        .proposed
        .iter()
        .map(|c| {
            let ts: Vec<String> = c.transfer_syntaxes.iter().map(profile::oid_label).collect();
            format!(
                "{}: {} [{}]",
                c.id,
                profile::oid_label(&c.abstract_syntax),
                ts.join(", ")
            )
        })
        .collect();
    let accepted: Vec<String> = inc
        .contexts()
        .iter()
        .map(|c| format!("{}: {}", c.pcid, profile::oid_label(&c.abstract_syntax)))
        .collect();
    tracing::info!(target: TARGET, %peer,
        application_context = %profile::oid_label(&ind.application_context_name),
        calling_ap_title = %opt(&ind.calling_ap_title),
        calling_ae_qualifier = %opt(&ind.calling_ae_qualifier),
        called_ap_title = %opt(&ind.called_ap_title),
        called_ae_qualifier = %opt(&ind.called_ae_qualifier),
        proposed = %proposed.join("; "),
        accepted = %accepted.join("; "),
        mechanism = %ind.mechanism_name.as_ref().map(profile::oid_label).unwrap_or_else(|| "-".into()),
        authentication_value = ind.authentication_value.as_ref().map(|v| v.kind_name()).unwrap_or("-"),
        user_information = ind.user_information.len(),
        "A-ASSOCIATE indication");

    let checked = guard.admit(inc, &builtins).await;
    let id = checked.id();
    if let Some(diagnostic) = checked.rejection() {
        match checked.finish(AcceptParams::default()).await {
            Err(AdmitError::Rejected { reason, rule, .. }) => tracing::info!(target: TARGET,
                assoc = id, %peer, rule = rule.as_str(), reason = reason.name(),
                diagnostic = diagnostic.name(), number = diagnostic.value(),
                "A-ASSOCIATE response: rejected-permanent (policy)"),
            Err(AdmitError::ExchangeRejected { rule, .. }) => tracing::info!(target: TARGET,
                assoc = id, %peer, rule = rule.as_str(),
                diagnostic = diagnostic.name(), number = diagnostic.value(),
                "A-ASSOCIATE response: rejected-permanent (security exchange)"),
            Err(e) => tracing::warn!(target: TARGET, assoc = id, %peer, error = %e,
                "rejection not delivered"),
            Ok(_) => {}
        }
        return;
    }
    let ind = checked.indication();
    if ind.application_context_name != profile.application_context() {
        let diag = UserDiagnostic::ApplicationContextNameNotSupported;
        tracing::info!(target: TARGET, assoc = id, %peer, diagnostic = diag.name(),
            number = diag.value(), "A-ASSOCIATE response: rejected-permanent");
        if let Err(e) = checked.reject(diag).await {
            tracing::warn!(target: TARGET, assoc = id, %peer, error = %e, "rejection not delivered");
        }
        return;
    }

    let mut params = AcceptParams::default();
    if profile == Profile::Mms {
        match profile::find_mms_initiate_request(&ind.user_information) {
            Some(pcid) => {
                params.user_information = vec![guls_association::External::single_asn1(
                    pcid,
                    profile::MMS_INITIATE_RESPONSE.to_vec(),
                )];
                tracing::info!(target: TARGET, assoc = id, pcid,
                    "MMS Initiate-Request: answering with the MMS Initiate-Response");
            }
            None => {
                tracing::warn!(target: TARGET, assoc = id,
                    "no MMS Initiate-Request in the AARQ; accepting without Initiate-Response")
            }
        }
    }
    let admitted = match checked.finish(params).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(target: TARGET, assoc = id, %peer, error = %e, "accept failed");
            return;
        }
    };
    tracing::info!(target: TARGET, assoc = id, %peer,
        identity = admitted.identity.as_deref().unwrap_or("(not authenticated)"),
        rule = admitted.rule.as_str(), key_id = admitted.key_id.as_deref().unwrap_or("-"),
        "A-ASSOCIATE response: accepted");
    if let Some(k) = &admitted.key_id {
        tracing::info!(target: TARGET, assoc = id, key_id = k.as_str(),
            "keys derived by the signed key agreement (held for the protecting transfer syntax)");
    }
    run(admitted, profile, id, stop).await;
}

/// Echoes data and answers the release until the association ends, or aborts it (A-ABORT)
/// when `stop` turns true.
async fn run(mut assoc: Session, profile: Profile, id: u64, mut stop: watch::Receiver<bool>) {
    loop {
        let next = tokio::select! {
            r = assoc.recv() => r,
            () = async {
                // A dropped sender means nobody will ask for the abort.
                if stop.wait_for(|s| *s).await.is_err() {
                    std::future::pending::<()>().await;
                }
            } => {
                let r = assoc.abort().await;
                tracing::info!(target: TARGET, assoc = id, ok = r.is_ok(), "A-ABORT request");
                assoc.audit.aborted_locally("A-ABORT request: the responder is stopping");
                return;
            }
        };
        let ev = match next {
            Ok(ev) => ev,
            Err(AssociationError::Closed) => {
                tracing::info!(target: TARGET, assoc = id, "association closed");
                return;
            }
            Err(e) => {
                assoc.audit.error(&e);
                tracing::warn!(target: TARGET, assoc = id, error = %e, "association failed");
                return;
            }
        };
        assoc.audit.event(&ev);
        match ev {
            AssociationEvent::Data(d) => echo(&assoc, profile, id, d).await,
            AssociationEvent::ReleaseIndication {
                reason,
                user_information,
            } => {
                tracing::info!(target: TARGET, assoc = id,
                    reason = reason.map(|r| r.name()).unwrap_or("-"),
                    user_information = user_information.len(), "A-RELEASE indication");
                match assoc.release_response().await {
                    Ok(()) => tracing::info!(target: TARGET, assoc = id,
                        "A-RELEASE response: affirmative"),
                    Err(e) => tracing::warn!(target: TARGET, assoc = id, error = %e,
                        "A-RELEASE response failed"),
                }
            }
            AssociationEvent::Released => {
                tracing::info!(target: TARGET, assoc = id, "association released");
                return;
            }
            AssociationEvent::AbortIndication {
                source,
                diagnostic,
                user_information,
            } => {
                tracing::info!(target: TARGET, assoc = id, source = source.name(),
                    diagnostic = diagnostic.map(|d| d.name()).unwrap_or("-"),
                    user_information = user_information.len(), "A-ABORT indication");
                return;
            }
            AssociationEvent::ProviderAbort { reason } => {
                tracing::warn!(target: TARGET, assoc = id, layer = %reason.layer(),
                    reason = %reason, "A-P-ABORT indication");
                return;
            }
        }
    }
}

async fn echo(assoc: &Session, profile: Profile, id: u64, d: DataIndication) {
    let (kind, octets) = match &d.value {
        PdvValue::SingleAsn1Type(v) => ("single-ASN1-type", v.as_slice()),
        PdvValue::OctetAligned(v) => ("octet-aligned", v.as_slice()),
        PdvValue::Arbitrary(b) => ("arbitrary", b.bytes.as_slice()),
    };
    tracing::info!(target: TARGET, assoc = id, pcid = d.pcid,
        abstract_syntax = %profile::oid_label(&d.abstract_syntax), encoding = kind,
        octets = octets.len(), value = %hex_short(octets), "P-DATA indication");
    let mut reply = d.value.clone();
    let mut what = "echo";
    if profile == Profile::Mms
        && d.abstract_syntax == known::MMS_ABSTRACT_SYNTAX
        && let PdvValue::SingleAsn1Type(v) = &d.value
        && let Some(answer) = profile::mms_answer(v)
    {
        reply = PdvValue::SingleAsn1Type(answer);
        what = "MMS answer";
    }
    match assoc.send(d.pcid, reply).await {
        Ok(()) => tracing::info!(target: TARGET, assoc = id, pcid = d.pcid, reply = what,
            "P-DATA request"),
        Err(e) => tracing::warn!(target: TARGET, assoc = id, error = %e, "P-DATA request failed"),
    }
}
