//! `guls demo`: a responder and an initiator in one process on loopback, each step printed:
//! a password-authenticated association (the responder decides with an in-memory responder
//! policy through [`crate::guard`]), data echoed, an orderly release, then the audit records
//! of the run (hash-chained, in memory) and their verification.
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
    Initiator, PdvValue, Responder,
};
use guls_audit::{AuditSink, ShowFilter};
use guls_policy::{Decision, ResponderPolicy};

use crate::guard::Guard;
use crate::profile::{self, Profile};

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

/// Runs the demo, printing each step to `out`.
pub async fn run(out: &mut dyn Write) -> Result<(), DemoError> {
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
    s.detail(&format!(
        "defined context set: {}",
        join_contexts(
            client
                .contexts()
                .iter()
                .map(|c| (c.pcid, &c.abstract_syntax))
        )
    ));
    let pcid = client
        .contexts()
        .iter()
        .find(|c| c.abstract_syntax == Profile::Demo.abstract_syntax())
        .map(|c| c.pcid)
        .ok_or_else(|| s.fail("the demo context was not accepted"))?;

    let sent = PdvValue::OctetAligned(DEMO_TEXT.as_bytes().to_vec());
    bounded(&s, client.send(pcid, sent.clone())).await?;
    s.step(
        "initiator",
        &format!(
            "P-DATA request sent in pcid {pcid}: \"{DEMO_TEXT}\" ({} octets)",
            DEMO_TEXT.len()
        ),
    );

    match bounded(&s, server.recv()).await? {
        AssociationEvent::Data(d) => {
            s.step(
                "responder",
                &format!(
                    "P-DATA indication in pcid {}, {}: echoing it back",
                    d.pcid,
                    profile::oid_label(&d.abstract_syntax)
                ),
            );
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
        AssociationEvent::ReleaseIndication { reason, .. } => s.step(
            "responder",
            &format!(
                "A-RELEASE indication (reason {})",
                reason.map(|r| r.name()).unwrap_or("absent")
            ),
        ),
        other => return Err(s.fail(format!("expected A-RELEASE indication, got {other:?}"))),
    }
    bounded(&s, server.release_response(Vec::new())).await?;
    s.step("responder", "A-RELEASE response sent (RLRE, affirmative)");
    match releasing.await {
        Ok(Ok(Ok(o))) => s.step(
            "initiator",
            &format!(
                "A-RELEASE confirm: affirmative (reason {})",
                o.reason.map(|r| r.name()).unwrap_or("absent")
            ),
        ),
        Ok(Ok(Err(e))) => return Err(s.fail(e)),
        Ok(Err(_)) => return Err(s.fail("no A-RELEASE confirm in time")),
        Err(e) => return Err(s.fail(e)),
    }
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
