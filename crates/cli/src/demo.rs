//! `guls demo`: a responder and an initiator in one process on loopback, each step printed.
//!
//! * [`run`] (the default): mutual certificate authentication with the signed key agreement
//!   (ARC.2.1). A fresh demo PKI is made in memory ([`DemoPki::generate`], Ed25519, valid for
//!   a day: no set-up, nothing to expire); the AP titles are form 1 names equal to the
//!   certificate subjects; the responder's in-memory policy requires `signed-key-agreement`
//!   (which authenticates both ends and derives keys). Printed: the identities, the exchange
//!   items (item id, size, SHA-256 prefix: never a key or a secret), the key id on both sides,
//!   data echoed, an orderly release, the audit records and their verification.
//! * [`run_password`] (`guls demo --password`): the password-authenticated association of
//!   earlier versions (the responder decides with an in-memory responder policy through
//!   [`crate::guard`]).
//!
//! The steps run in a fixed order (the responder's side is driven from the same task that
//! prints), so the output reads the same every time. Nothing sleeps; every wait is bounded
//! by a safety timeout that turns a hang into a failed step.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use guls_association::{
    AcceptParams, ApTitle, AssociateParams, AssociationConfig, AssociationEvent, Authentication,
    DataIndication, DefinedContext, Initiator, PdvValue, Responder,
};
use guls_audit::{AuditSink, ShowFilter};
use guls_policy::{Decision, ResponderPolicy};

use crate::certs::{DemoKeyType, DemoPki};
use crate::exchanges::{BuiltIns, CertOptions, ProviderChoice, Wrap};
use crate::guard::{AssociationAudit, Guard, secure_recv};
use crate::profile::{self, Profile};
use guls_policy::exchanges::InitiatorExchanges;
use guls_policy::{Identity, TrustStore, format_dn};
use guls_sese::{ExchangeDefinition, ExchangeRole, Item, SecureInitiator, SecureResponder, Step};
use std::sync::Mutex;

/// Safety bound of every wait (never reached on a working stack).
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The value the initiator sends.
pub const DEMO_TEXT: &str = "hello, OSI upper layers";

/// The identity the demo policy gives the initiator once its password verifies.
pub const DEMO_IDENTITY: &str = "demo-operator";

/// The demo's responder policy: a password is required from everyone, and one credential
/// holds the argon2id hash of the documented demo password `demo-password` (the same hash as
/// in `policies/password.toml`).
pub const DEMO_POLICY: &str = r#"
[default]
name = "password-required"
mechanisms = ["password"]
require_authentication = true

[[default.credential]]
identity = "demo-operator"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c/wg8GFcU3tek3VK1q7QrA$xmQ9cIwP7+TJOXnjhZXyMOXbdjIv4h5K85iSCmgHipk"
"#;

/// The documented demo password (see `policies/password.toml`); never printed.
const DEMO_PASSWORD: &[u8] = b"demo-password";

/// A failed step: its number and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("step {step} failed: {what}")]
pub struct DemoError {
    /// The step that failed.
    pub step: u32,
    /// What went wrong.
    pub what: String,
}

struct Steps<'a> {
    out: &'a mut dyn Write,
    n: u32,
}

impl Steps<'_> {
    fn step(&mut self, who: &str, text: &str) {
        self.n += 1;
        let _ = writeln!(self.out, "{:>2}. {who:<9} {text}", self.n);
    }

    fn detail(&mut self, text: &str) {
        let _ = writeln!(self.out, "               {text}");
    }

    fn fail(&self, what: impl std::fmt::Display) -> DemoError {
        DemoError {
            step: self.n + 1,
            what: what.to_string(),
        }
    }
}

async fn bounded<T, E: std::fmt::Display>(
    steps: &Steps<'_>,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, DemoError> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(steps.fail(e)),
        Err(_) => Err(steps.fail(format!("no progress within {} s", STEP_TIMEOUT.as_secs()))),
    }
}

fn demo_config() -> AssociationConfig {
    let mut c = Profile::Demo.config();
    c.acse.calling_ap_title = Some(ApTitle::Form3(b"guls-demo-initiator".to_vec()));
    c.acse.called_ap_title = Some(ApTitle::Form3(b"guls-demo-responder".to_vec()));
    c.acse.responding_ap_title = Some(ApTitle::Form3(b"guls-demo-responder".to_vec()));
    c.timeouts.connect = STEP_TIMEOUT;
    c.timeouts.establishment = STEP_TIMEOUT;
    c.timeouts.release = STEP_TIMEOUT;
    c
}

fn join_contexts<'a>(it: impl Iterator<Item = (i64, &'a guls_association::Oid)>) -> String {
    it.map(|(pcid, a)| format!("pcid {pcid} {}", profile::oid_label(a)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the defined context set and returns the demo context's identifier.
fn demo_context(s: &mut Steps<'_>, contexts: &[DefinedContext]) -> Result<i64, DemoError> {
    s.detail(&format!(
        "defined context set: {}",
        join_contexts(contexts.iter().map(|c| (c.pcid, &c.abstract_syntax)))
    ));
    contexts
        .iter()
        .find(|c| c.abstract_syntax == Profile::Demo.abstract_syntax())
        .map(|c| c.pcid)
        .ok_or_else(|| s.fail("the demo context was not accepted"))
}

fn data_sent(s: &mut Steps<'_>, pcid: i64) {
    s.step(
        "initiator",
        &format!(
            "P-DATA request sent in pcid {pcid}: \"{DEMO_TEXT}\" ({} octets)",
            DEMO_TEXT.len()
        ),
    );
}

fn echo_indication(s: &mut Steps<'_>, d: &DataIndication) {
    s.step(
        "responder",
        &format!(
            "P-DATA indication in pcid {}, {}: echoing it back",
            d.pcid,
            profile::oid_label(&d.abstract_syntax)
        ),
    );
}

fn release_indication(s: &mut Steps<'_>, reason: Option<guls_acse::ReleaseRequestReason>) {
    s.step(
        "responder",
        &format!(
            "A-RELEASE indication (reason {})",
            reason.map(|r| r.name()).unwrap_or("absent")
        ),
    );
}

/// The initiator's A-RELEASE confirm, from the task that awaited it (bounded by
/// [`STEP_TIMEOUT`]).
fn release_confirm<E: std::fmt::Display>(
    s: &mut Steps<'_>,
    joined: Result<
        Result<Result<guls_association::ReleaseOutcome, E>, tokio::time::error::Elapsed>,
        tokio::task::JoinError,
    >,
) -> Result<(), DemoError> {
    match joined {
        Ok(Ok(Ok(o))) => {
            s.step(
                "initiator",
                &format!(
                    "A-RELEASE confirm: affirmative (reason {})",
                    o.reason.map(|r| r.name()).unwrap_or("absent")
                ),
            );
            Ok(())
        }
        Ok(Ok(Err(e))) => Err(s.fail(e)),
        Ok(Err(_)) => Err(s.fail("no A-RELEASE confirm in time")),
        Err(e) => Err(s.fail(e)),
    }
}

/// Runs the password demo (`guls demo --password`), printing each step to `out`.
pub async fn run_password(out: &mut dyn Write) -> Result<(), DemoError> {
    let started = Instant::now();
    let config = demo_config();
    let mut s = Steps { out, n: 0 };
    let _ = writeln!(
        s.out,
        "guls demo: a password-authenticated association over RFC 1006 / ISO 8073 class 0,\n\
         ISO 8327 session, ISO 8823 presentation and ISO 8650 ACSE, both ends in this process.\n\
         ARC = {}\n",
        profile::arc_text()
    );
    let policy = ResponderPolicy::parse(DEMO_POLICY, "(demo policy)").map_err(|e| DemoError {
        step: 1,
        what: e.to_string(),
    })?;
    let sink = Arc::new(AuditSink::memory());
    let guard = Guard::new(policy, Some(sink.clone()));

    let responder = bounded(&s, Responder::bind("127.0.0.1:0", config.clone())).await?;
    let addr = responder.local_addr();
    s.step("responder", &format!("listening on {addr}"));
    s.detail("policy: a password (mechanism 2.2.3.1) is required from every peer;");
    s.detail(&format!(
        "one credential, identity \"{DEMO_IDENTITY}\", stored as an argon2id hash"
    ));
    s.detail(&format!(
        "application context {}",
        profile::oid_label(&config.acse.application_context_name)
    ));
    s.detail(&format!(
        "supports {}",
        config
            .supported_syntaxes()
            .iter()
            .map(|x| profile::oid_label(&x.abstract_syntax))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let initiator = Initiator::new(config.clone());
    s.step(
        "initiator",
        &format!("TCP connect to {addr}; transport CR/CC; A-ASSOCIATE request sent"),
    );
    s.detail("(AARQ inside a presentation CP inside a session CONNECT, in one DT TPDU)");
    s.detail(&format!(
        "contexts proposed: {}",
        join_contexts(
            config
                .proposed_contexts()
                .iter()
                .map(|c| (c.pcid, &c.abstract_syntax))
        )
    ));
    s.detail(&format!(
        "authentication: mechanism 2.2.3.1 (password), a {}-octet charstring (not shown)",
        DEMO_PASSWORD.len()
    ));
    let params = AssociateParams {
        authentication: Some(Authentication::password(DEMO_PASSWORD)),
        ..AssociateParams::default()
    };
    let connecting = tokio::spawn(async move {
        tokio::time::timeout(STEP_TIMEOUT, initiator.connect(addr, params)).await
    });

    let incoming = bounded(&s, responder.accept()).await?;
    let ind = incoming.indication();
    s.step(
        "responder",
        &format!(
            "TCP connection from {}; A-ASSOCIATE indication",
            incoming.peer_addr()
        ),
    );
    let title = |t: &Option<ApTitle>| {
        t.as_ref()
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".into())
    };
    s.detail(&format!(
        "calling AP title {}, called AP title {}",
        title(&ind.calling_ap_title),
        title(&ind.called_ap_title)
    ));
    s.detail(&format!(
        "application context {}",
        profile::oid_label(&ind.application_context_name)
    ));
    s.detail(&format!(
        "contexts proposed: {}",
        join_contexts(
            incoming
                .connect_indication()
                .proposed
                .iter()
                .map(|c| (c.id, &c.abstract_syntax))
        )
    ));
    s.detail(&format!(
        "mechanism {}, calling authentication value: {} (not shown)",
        ind.mechanism_name
            .as_ref()
            .map(profile::oid_label)
            .unwrap_or_else(|| "-".into()),
        ind.authentication_value
            .as_ref()
            .map(|v| v.kind_name())
            .unwrap_or("-")
    ));
    if ind.application_context_name != config.acse.application_context_name {
        return Err(s.fail("unexpected application context"));
    }
    let checked = guard.check(incoming).await;
    match checked.decision() {
        Decision::Accept {
            identity: Some(identity),
            rule,
            ..
        } => {
            s.step(
                "responder",
                &format!("policy decision: accept (rule \"{rule}\")"),
            );
            s.detail(&format!(
                "authenticated identity: \"{identity}\" (argon2id verification {:.1} ms)",
                checked.decision_time().as_secs_f64() * 1000.0
            ));
        }
        other => return Err(s.fail(format!("the demo policy did not authenticate: {other:?}"))),
    }
    let admitted = bounded(&s, checked.finish(AcceptParams::default())).await?;
    let audit = admitted.audit;
    let mut server = admitted.association;
    s.step(
        "responder",
        "A-ASSOCIATE response: accepted (AARE in CPA in ACCEPT)",
    );

    let client = match connecting.await {
        Ok(Ok(Ok(a))) => a,
        Ok(Ok(Err(e))) => return Err(s.fail(e)),
        Ok(Err(_)) => return Err(s.fail("no A-ASSOCIATE confirm in time")),
        Err(e) => return Err(s.fail(e)),
    };
    let mut client = client;
    s.step("initiator", "A-ASSOCIATE confirm: accepted");
    let pcid = demo_context(&mut s, client.contexts())?;

    let sent = PdvValue::OctetAligned(DEMO_TEXT.as_bytes().to_vec());
    bounded(&s, client.send(pcid, sent.clone())).await?;
    data_sent(&mut s, pcid);

    match bounded(&s, server.recv()).await? {
        AssociationEvent::Data(d) => {
            echo_indication(&mut s, &d);
            bounded(&s, server.send(d.pcid, d.value)).await?;
        }
        other => return Err(s.fail(format!("expected P-DATA, got {other:?}"))),
    }

    match bounded(&s, client.recv()).await? {
        AssociationEvent::Data(d) if d.value == sent => {
            s.step(
                "initiator",
                &format!(
                    "P-DATA indication in pcid {}: \"{DEMO_TEXT}\" (the echo matches)",
                    d.pcid
                ),
            );
        }
        other => return Err(s.fail(format!("expected the echo, got {other:?}"))),
    }

    s.step("initiator", "A-RELEASE request sent (RLRQ, reason normal)");
    let releasing =
        tokio::spawn(async move { tokio::time::timeout(STEP_TIMEOUT, client.release()).await });
    match bounded(&s, server.recv()).await? {
        AssociationEvent::ReleaseIndication { reason, .. } => release_indication(&mut s, reason),
        other => return Err(s.fail(format!("expected A-RELEASE indication, got {other:?}"))),
    }
    bounded(&s, server.release_response(Vec::new())).await?;
    s.step("responder", "A-RELEASE response sent (RLRE, affirmative)");
    release_confirm(&mut s, releasing.await)?;
    match bounded(&s, server.recv()).await? {
        ev @ AssociationEvent::Released => {
            audit.event(&ev);
            s.step("responder", "association released; transport disconnected")
        }
        other => {
            return Err(s.fail(format!(
                "expected the end of the association, got {other:?}"
            )));
        }
    }
    responder.shutdown();
    let elapsed = started.elapsed();

    let log = sink.memory_contents().unwrap_or_default();
    let table = guls_audit::show(log.as_bytes(), &ShowFilter::default())
        .map_err(|e| s.fail(format!("audit records: {e}")))?;
    let summary = guls_audit::verify(log.as_bytes())
        .map_err(|e| s.fail(format!("the audit chain does not verify: {e}")))?;
    let _ = writeln!(
        s.out,
        "\naudit records (hash-chained JSON lines, kept in memory; `guls audit show` format):\n"
    );
    let _ = write!(s.out, "{table}");
    let _ = writeln!(
        s.out,
        "the chain verifies: {} records, associations {}, head hash {}",
        summary.records, summary.associations, summary.head_hash
    );
    let _ = writeln!(
        s.out,
        "\ndone: authenticated \"{DEMO_IDENTITY}\" by password, associated, exchanged data and \
         released in {:.1} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(())
}

// ------------------------------------------------------------------ certificates (default)

/// The certificate demo's responder policy: every peer must complete the signed key
/// agreement.
pub const CERT_DEMO_POLICY: &str = r#"
[default]
name = "mutual-certificates"
mechanisms = ["none"]
exchanges = ["signed-key-agreement"]
require_exchange = true
"#;

/// One exchange item as the demo shows it: never its value.
#[derive(Debug, Clone)]
struct ItemLine {
    sent: bool,
    id: i64,
    len: usize,
    sha256: String,
}

/// Records the items the initiator's role sends and receives (id, size, SHA-256 prefix).
fn item_recorder(
    items: Arc<Mutex<Vec<ItemLine>>>,
) -> impl Fn(ExchangeDefinition) -> ExchangeDefinition {
    move |def: ExchangeDefinition| {
        let inner = Arc::new(def.clone());
        if inner.new_initiator().is_none() {
            return def;
        }
        let (ii, ri, a, b) = (inner.clone(), inner, items.clone(), items.clone());
        def.roles(
            move || {
                Box::new(Recorded {
                    inner: ii.new_initiator().expect("checked"),
                    items: a.clone(),
                })
            },
            move || {
                Box::new(Recorded {
                    inner: ri.new_responder().expect("checked"),
                    items: b.clone(),
                })
            },
        )
    }
}

struct Recorded {
    inner: Box<dyn ExchangeRole>,
    items: Arc<Mutex<Vec<ItemLine>>>,
}

impl Recorded {
    fn note(&self, sent: bool, item: &Item) {
        let digest = guls_crypto::ring::default_provider()
            .hash(guls_crypto::HashAlgorithm::Sha256)
            .map(|h| guls_ber::to_hex(&h.hash(&item.value).as_ref()[..8]))
            .unwrap_or_default();
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ItemLine {
                sent,
                id: item.id,
                len: item.value.len(),
                sha256: digest,
            });
    }

    fn sent(&self, step: &Step) {
        if let Step::Send(i) | Step::SendLast(i, _) = step {
            self.note(true, i);
        }
    }
}

impl ExchangeRole for Recorded {
    fn start(&mut self) -> Step {
        let step = self.inner.start();
        self.sent(&step);
        step
    }

    fn on_item(&mut self, item: &Item) -> Step {
        self.note(false, item);
        let step = self.inner.on_item(item);
        self.sent(&step);
        step
    }
}

fn item_names(id: i64) -> &'static str {
    match id {
        1 => "initiatorKeyAgreement",
        2 => "responderKeyAgreement",
        _ => "item",
    }
}

fn take_items(items: &Arc<Mutex<Vec<ItemLine>>>) -> Vec<ItemLine> {
    std::mem::take(&mut *items.lock().unwrap_or_else(|p| p.into_inner()))
}

fn item_text(i: &ItemLine) -> String {
    format!(
        "item {} {} {}: {} octets, SHA-256 {}\u{2026} (certification path, ephemeral X25519 key, nonce, time, signature{})",
        i.id,
        item_names(i.id),
        if i.sent { "sent" } else { "received" },
        i.len,
        i.sha256,
        if i.id == 2 { ", key confirmation" } else { "" }
    )
}

fn demo_identity(chain: &str, key: &str) -> Result<Identity, String> {
    Identity::from_pem_or_der(chain.as_bytes(), key.as_bytes()).map_err(|e| e.to_string())
}

/// Runs the default demo: mutual certificate authentication with the signed key agreement,
/// printing each step to `out`.
pub async fn run(out: &mut dyn Write) -> Result<(), DemoError> {
    let started = Instant::now();
    let mut s = Steps { out, n: 0 };
    let _ = writeln!(
        s.out,
        "guls demo: mutual certificate authentication with the signed key agreement (ARC.2.1)\n\
         over RFC 1006 / ISO 8073 class 0, ISO 8327 session, ISO 8823 presentation and\n\
         ISO 8650 ACSE, both ends in this process.\n\
         ARC = {}\n",
        profile::arc_text()
    );
    let setup = |what: String| DemoError { step: 1, what };
    let pki =
        DemoPki::generate(DemoKeyType::Ed25519, Duration::from_secs(86_400)).map_err(setup)?;
    let responder_id = demo_identity(&pki.responder_chain(), &pki.responder_key).map_err(setup)?;
    let initiator_id = demo_identity(&pki.initiator_chain(), &pki.initiator_key).map_err(setup)?;
    let mut trust =
        TrustStore::from_pem_or_der(pki.root_ca.as_bytes()).map_err(|e| setup(e.to_string()))?;
    let crls = guls_policy::crls_from_pem_or_der(
        format!("{}{}", pki.root_ca_crl, pki.intermediate_ca_crl).as_bytes(),
    )
    .map_err(|e| setup(e.to_string()))?;
    trust.add_crls(&crls).map_err(|e| setup(e.to_string()))?;
    let builtins = |identity: &Identity| {
        BuiltIns {
            cert: CertOptions {
                identity: Some(identity.clone()),
                trust: Some(trust.clone()),
                crls: Vec::new(),
                provider: ProviderChoice::Ring,
            },
            ..BuiltIns::default()
        }
        .resolve(None, None)
    };
    let responder_builtins = builtins(&responder_id).map_err(setup)?;
    let initiator_builtins = builtins(&initiator_id).map_err(setup)?;
    s.step(
        "setup",
        "a fresh demo PKI in memory (Ed25519, valid one day; nothing written to disk)",
    );
    s.detail(&format!(
        "trust anchor: {}",
        trust.anchor_subjects().join(", ")
    ));
    s.detail(&format!(
        "responder identity: {} (path: end entity + intermediate CA)",
        responder_id.subject()
    ));
    s.detail(&format!(
        "initiator identity: {} (path: end entity + intermediate CA)",
        initiator_id.subject()
    ));
    s.detail("AP titles: form 1 names equal to the certificate subjects");

    let policy =
        ResponderPolicy::parse(CERT_DEMO_POLICY, "(demo policy)").map_err(|e| DemoError {
            step: 2,
            what: e.to_string(),
        })?;
    let sink = Arc::new(AuditSink::memory());
    let guard = Guard::new(policy, Some(sink.clone()));
    let mut config = demo_config();
    config.acse.calling_ap_title = Some(initiator_id.ap_title());
    config.acse.called_ap_title = Some(responder_id.ap_title());
    config.acse.responding_ap_title = Some(responder_id.ap_title());
    let server_config = SecureResponder::configure(config.clone());
    let responder = bounded(&s, Responder::bind("127.0.0.1:0", server_config)).await?;
    let addr = responder.local_addr();
    s.step("responder", &format!("listening on {addr}"));
    s.detail(
        "policy: every peer must complete signed-key-agreement (ARC.2.1) before any data \
         (rule \"mutual-certificates\")",
    );
    s.detail("the peer's certificate must validate to the trust anchor (CRLs checked) and bind");
    s.detail(
        "its calling AP title; a password or one-way authentication is refused as a downgrade",
    );

    // The initiator: its exchange configured for this association.
    let items = Arc::new(Mutex::new(Vec::new()));
    let probe = SecureInitiator::new(
        config.clone(),
        guls_sese::CarriageConfig::new(Arc::new(guls_sese::Registry::new())),
    )
    .sese_pcid();
    let assoc_builtins = initiator_builtins.for_initiator(
        config.acse.calling_ap_title.as_ref(),
        config.acse.called_ap_title.as_ref(),
        None,
        Some(probe),
    );
    let offered = InitiatorExchanges {
        offered: vec![guls_exchanges::SIGNED_KEY_AGREEMENT],
        ..InitiatorExchanges::default()
    };
    let record = item_recorder(items.clone());
    let wrap: Wrap<'_> = &record;
    let (carriage, first) = assoc_builtins.initiator_config(&offered, wrap);
    let si = SecureInitiator::new(config.clone(), carriage);
    s.step(
        "initiator",
        &format!("TCP connect to {addr}; transport CR/CC; A-ASSOCIATE request sent"),
    );
    s.detail(&format!(
        "calling AP title {}, called AP title {}",
        responder_title(&config.acse.calling_ap_title),
        responder_title(&config.acse.called_ap_title)
    ));
    s.detail(&format!(
        "contexts proposed: {}",
        join_contexts(
            si.initiator()
                .config()
                .proposed_contexts()
                .iter()
                .map(|c| (c.pcid, &c.abstract_syntax))
        )
    ));
    s.detail(
        "mechanism ARC.2.1 (signed key agreement); the first item rides in the AARQ's \
         calling authentication value",
    );
    let connecting = tokio::spawn(async move {
        let r = tokio::time::timeout(
            STEP_TIMEOUT,
            si.connect(addr, &first, AssociateParams::default()),
        )
        .await;
        (r, assoc_builtins)
    });

    let incoming = bounded(&s, responder.accept()).await?;
    for i in take_items(&items) {
        s.detail(&item_text(&i));
    }
    let ind = incoming.indication();
    s.step(
        "responder",
        &format!(
            "TCP connection from {}; A-ASSOCIATE indication, mechanism {}",
            incoming.peer_addr(),
            ind.mechanism_name
                .as_ref()
                .map(profile::oid_label)
                .unwrap_or_else(|| "-".into())
        ),
    );
    let admission = guard.admit(incoming, &responder_builtins).await;
    if let Some(d) = admission.rejection() {
        return Err(s.fail(format!(
            "the responder rejected the association: {} ({})",
            d.name(),
            d.value()
        )));
    }
    let server_key_id = match &admission {
        crate::guard::Admission::Secure(c) => c.key_id().map(str::to_string),
        crate::guard::Admission::Plain(_) => None,
    };
    let mut server = bounded(&s, admission.finish(AcceptParams::default())).await?;
    s.step(
        "responder",
        "verified the initiator: path to the trust anchor, signature over the transcript, \
         AP title bound",
    );
    s.detail(&format!(
        "authenticated identity: {}",
        server.identity.as_deref().unwrap_or("-")
    ));
    s.detail(&format!(
        "keys derived (key id {}); item 2 in the AARE; A-ASSOCIATE response: accepted",
        server_key_id.as_deref().unwrap_or("-")
    ));

    let (client, assoc_builtins) = match connecting.await {
        Ok((Ok(Ok(a)), b)) => (a, b),
        Ok((Ok(Err(e)), _)) => return Err(s.fail(e)),
        Ok((Err(_), _)) => return Err(s.fail("no A-ASSOCIATE confirm in time")),
        Err(e) => return Err(s.fail(e)),
    };
    let mut client = client;
    bounded(&s, client.wait_secured()).await?;
    let client_audit = AssociationAudit::new(0, None);
    let keys = crate::connect::certificate_checks(&client, &assoc_builtins, &client_audit)
        .map_err(|e| s.fail(e))?;
    let client_key_id = keys
        .as_ref()
        .zip(assoc_builtins.auth.as_ref())
        .map(|(k, a)| crate::exchanges::key_id(k, a.provider()));
    s.step("initiator", "A-ASSOCIATE confirm: accepted");
    for i in take_items(&items) {
        s.detail(&item_text(&i));
    }
    s.detail(&format!(
        "verified the responder: {} (path, signature, key confirmation; responding AP title bound)",
        client
            .outcome()
            .and_then(|o| o.peer_identity.clone())
            .unwrap_or_else(|| "-".into())
    ));
    s.detail(&format!(
        "keys derived (key id {}){}",
        client_key_id.as_deref().unwrap_or("-"),
        if client_key_id.is_some() && client_key_id == server_key_id {
            ": the same keys on both sides (key bytes never shown)"
        } else {
            ""
        }
    ));
    if client_key_id.is_none() || client_key_id != server_key_id {
        return Err(s.fail("the two sides did not derive the same keys"));
    }
    let pcid = demo_context(&mut s, client.association().contexts())?;

    let sent = PdvValue::OctetAligned(DEMO_TEXT.as_bytes().to_vec());
    bounded(&s, client.send(pcid, sent.clone())).await?;
    data_sent(&mut s, pcid);
    match bounded(&s, server.recv()).await? {
        AssociationEvent::Data(d) => {
            echo_indication(&mut s, &d);
            bounded(&s, server.send(d.pcid, d.value)).await?;
        }
        other => return Err(s.fail(format!("expected P-DATA, got {other:?}"))),
    }
    match bounded(&s, secure_recv(&mut client, &client_audit)).await? {
        AssociationEvent::Data(d) if d.value == sent => s.step(
            "initiator",
            &format!(
                "P-DATA indication in pcid {}: \"{DEMO_TEXT}\" (the echo matches)",
                d.pcid
            ),
        ),
        other => return Err(s.fail(format!("expected the echo, got {other:?}"))),
    }
    s.detail(
        "(protecting these values with the derived keys is the protecting transfer syntax's job)",
    );

    s.step("initiator", "A-RELEASE request sent (RLRQ, reason normal)");
    let releasing =
        tokio::spawn(async move { tokio::time::timeout(STEP_TIMEOUT, client.release()).await });
    match bounded(&s, server.recv()).await? {
        AssociationEvent::ReleaseIndication { reason, .. } => release_indication(&mut s, reason),
        other => return Err(s.fail(format!("expected A-RELEASE indication, got {other:?}"))),
    }
    bounded(&s, server.release_response()).await?;
    s.step("responder", "A-RELEASE response sent (RLRE, affirmative)");
    release_confirm(&mut s, releasing.await)?;
    match bounded(&s, server.recv()).await? {
        ev @ AssociationEvent::Released => {
            server.audit.event(&ev);
            s.step("responder", "association released; transport disconnected")
        }
        other => {
            return Err(s.fail(format!(
                "expected the end of the association, got {other:?}"
            )));
        }
    }
    responder.shutdown();
    let elapsed = started.elapsed();
    print_audit(&mut s, &sink)?;
    let _ = writeln!(
        s.out,
        "\ndone: authenticated {} and {} by certificate, derived keys (key id {}), \
         exchanged data and released in {:.1} ms",
        format_dn(initiator_id.subject_name()),
        format_dn(responder_id.subject_name()),
        client_key_id.as_deref().unwrap_or("-"),
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(())
}

fn responder_title(t: &Option<ApTitle>) -> String {
    t.as_ref()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "-".into())
}

fn print_audit(s: &mut Steps<'_>, sink: &AuditSink) -> Result<(), DemoError> {
    let log = sink.memory_contents().unwrap_or_default();
    let table = guls_audit::show(log.as_bytes(), &ShowFilter::default())
        .map_err(|e| s.fail(format!("audit records: {e}")))?;
    let summary = guls_audit::verify(log.as_bytes())
        .map_err(|e| s.fail(format!("the audit chain does not verify: {e}")))?;
    let _ = writeln!(
        s.out,
        "\naudit records (hash-chained JSON lines, kept in memory; `guls audit show` format):\n"
    );
    let _ = write!(s.out, "{table}");
    let _ = writeln!(
        s.out,
        "the chain verifies: {} records, associations {}, head hash {}",
        summary.records, summary.associations, summary.head_hash
    );
    Ok(())
}
