//! Password authentication with policy decisions and audit against libiec61850 1.6.1 (the
//! PyPI `pyiec61850-ng` wheel, `tests/peers/`):
//!
//! * libiec61850's password client against our [`Responder`] gated by `guls::guard` with
//!   `policies/password.toml`: the right password associates and identifies, a wrong one and
//!   none are refused (client `connect_error` 5), and the audit log records all three
//!   (`authentication_succeeded` with the identity, `authentication_failed` with 13 and 14)
//!   and verifies;
//! * our initiator with the password chosen by an initiator policy against libiec61850's
//!   password server: the entry matched by address carries the right password and
//!   associates (CN+CP+AARQ under 255 octets with the 1-octet LI), the entry matched by the
//!   called AP-title carries a wrong one and is reported as `RejectedByPeerNoAare`.
//!
//! Skipped with a printed reason when the peers venv is missing, unless
//! `GULS_INTEROP=require`.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use guls::guard::{AdmitError, Guard};
use guls_association::{
    ApTitle, AssociateParams, AssociationError, Initiator, Responder, UserDiagnostic,
};
use guls_audit::AuditSink;
use guls_policy::{InitiatorPolicy, ResponderPolicy};
use guls_tests::peers::{peers_available_or_skip, repo_root, run_iec_client, start_iec_server};
use guls_tests::vectors::hex;
use serde_json::Value;
use support::*;
use tokio::time::timeout;

/// The documented demo password of `policies/password.toml` (identity `operator`).
const PASSWORD: &str = "demo-password";

/// What our side did with one libiec61850 client connection.
#[derive(Debug)]
struct Outcome {
    identity: Option<String>,
    rejected: Option<UserDiagnostic>,
    serve: Option<ServeLog>,
}

/// Runs the libiec61850 client while the guard decides its association; returns the client's
/// JSON result, the outcome and the number of runs (each an audited association): a round in
/// which the client lost its identify before sending any MMS PDU
/// ([`client_lost_identify_before_sending`]) is run again, up to `IEC_IDENTIFY_ATTEMPTS` times.
async fn client_round(
    responder: &Arc<Responder>,
    guard: &Arc<Guard>,
    password: Option<&'static str>,
) -> (Value, Outcome, usize) {
    run_again_while_identify_lost(
        || client_round_once(responder, guard, password),
        |outcome: &Outcome| outcome.serve.as_ref(),
    )
    .await
}

async fn client_round_once(
    responder: &Arc<Responder>,
    guard: &Arc<Guard>,
    password: Option<&'static str>,
) -> (Value, Outcome) {
    let port = responder.local_addr().port();
    let (r, g) = (responder.clone(), guard.clone());
    let app = tokio::spawn(async move {
        let inc = timeout(NET, r.accept())
            .await
            .expect("AARQ within the safety net")
            .expect("an A-ASSOCIATE indication");
        let checked = g.check(inc).await;
        let identity = checked.identity().map(str::to_owned);
        match checked.finish(mms_accept_params()).await {
            Ok(mut admitted) => {
                let serve = serve_mms(&mut admitted.association, NET).await;
                // The client closes TCP right after its FN: the end may be a release or a
                // provider abort (see interop_libiec61850.rs); record the release when seen.
                if serve.end == "released" {
                    admitted
                        .audit
                        .event(&guls_association::AssociationEvent::Released);
                }
                Outcome {
                    identity,
                    rejected: None,
                    serve: Some(serve),
                }
            }
            Err(AdmitError::Rejected { diagnostic, .. }) => Outcome {
                identity,
                rejected: Some(diagnostic),
                serve: None,
            },
            Err(e) => panic!("response not sent: {e}"),
        }
    });
    let client =
        tokio::task::spawn_blocking(move || run_iec_client("127.0.0.1", port, password, true))
            .await
            .expect("client task")
            .expect("iec_client runs");
    let seen = timeout(NET, app)
        .await
        .expect("responder app bounded")
        .expect("responder app");
    (client, seen)
}

#[test]
fn libiec61850_password_client_is_decided_by_the_policy_and_audited() {
    if !peers_available_or_skip() {
        return;
    }
    let rt = runtime();
    rt.block_on(async {
        let policy = ResponderPolicy::load(repo_root().join("policies/password.toml")).unwrap();
        let mut config = mms_config();
        policy.apply_to(&mut config);
        assert_eq!(config.limits.max_associations, 32, "policy limits applied");
        let responder = Arc::new(Responder::bind("127.0.0.1:0", config).await.unwrap());
        let sink = Arc::new(AuditSink::memory());
        let guard = Arc::new(Guard::new(policy, Some(sink.clone())));

        let (ok, seen, ok_runs) = client_round(&responder, &guard, Some(PASSWORD)).await;
        assert_eq!(ok["connect_error"], 0, "{ok}");
        assert_eq!(ok["identify"]["vendor"], OUR_VENDOR, "{ok}");
        assert_eq!(seen.identity.as_deref(), Some("operator"));
        assert_eq!(seen.serve.as_ref().expect("served").services, vec![0x82]);

        let (bad, seen, runs) = client_round(&responder, &guard, Some("wrong-password")).await;
        assert_eq!(runs, 1, "a rejected association is never run again");
        assert_eq!(bad["connect_error"], 5, "{bad}");
        assert_eq!(seen.rejected, Some(UserDiagnostic::AuthenticationFailure));

        let (none, seen, runs) = client_round(&responder, &guard, None).await;
        assert_eq!(runs, 1, "a rejected association is never run again");
        assert_eq!(none["connect_error"], 5, "{none}");
        assert_eq!(seen.rejected, Some(UserDiagnostic::AuthenticationRequired));

        let log = sink.memory_contents().unwrap();
        let summary = guls_audit::verify(log.as_bytes()).expect("the chain verifies");
        assert_eq!(summary.associations, 2 + ok_runs);
        let recs: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let of = |kind: &str| -> Vec<&Value> {
            recs.iter()
                .filter(|r| r["event"]["kind"] == kind)
                .map(|r| &r["event"])
                .collect()
        };
        let ok_auth = of("authentication_succeeded");
        assert_eq!(ok_auth.len(), ok_runs, "{log}");
        assert_eq!(ok_auth[0]["identity"], "operator");
        assert_eq!(ok_auth[0]["mechanism"], "2.2.3.1 (password)");
        let failed = of("authentication_failed");
        assert_eq!(failed.len(), 2, "{log}");
        assert_eq!(failed[0]["diagnostic"], 13);
        assert_eq!(failed[0]["reason"], "bad-password");
        assert_eq!(failed[1]["diagnostic"], 14);
        assert_eq!(failed[1]["reason"], "authentication-required");
        assert_eq!(of("association_rejected").len(), 2);
        assert_eq!(of("association_accepted").len(), ok_runs);
        assert!(!log.contains(PASSWORD) && !log.contains("wrong-password"));
        eprintln!(
            "{}",
            guls_audit::show(log.as_bytes(), &guls_audit::ShowFilter::default()).unwrap()
        );
    });
}

#[test]
fn initiator_policy_credential_against_libiec61850_password_server() {
    if !peers_available_or_skip() {
        return;
    }
    const SERVER_PASSWORD: &str = "guls-Policy-pw9";
    let dir = std::env::temp_dir().join(format!("guls-iec-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("right.pass"), format!("{SERVER_PASSWORD}\n")).unwrap();
    std::fs::write(dir.join("wrong.pass"), "not-it\n").unwrap();
    let file = dir.join("initiator.toml");
    std::fs::write(
        &file,
        "[[peer]]\nname = \"by-title\"\nap_title = \"1.3.9999.66\"\nmechanism = \"password\"\npassword_file = \"wrong.pass\"\n\n\
         [[peer]]\nname = \"by-address\"\naddresses = [\"127.0.0.0/8\"]\nmechanism = \"password\"\npassword_file = \"right.pass\"\n",
    )
    .unwrap();
    let policy = InitiatorPolicy::load(&file).expect("initiator policy loads");

    let server = start_iec_server(Some(SERVER_PASSWORD)).expect("iec_server starts");
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));
    let rt = runtime();
    rt.block_on(async {
        // By address: the right password; associate through a recording relay, identify.
        let relay = Relay::start(addr).await;
        let cred = policy
            .credential_for(Some(relay.addr), None)
            .unwrap()
            .expect("the address entry has a password");
        assert!(!format!("{cred:?}").contains(SERVER_PASSWORD));
        let params = AssociateParams {
            user_information: vec![mms_initiate_request()],
            authentication: Some(cred.authentication()),
            ..AssociateParams::default()
        };
        let mut assoc = timeout(
            NET,
            Initiator::new(mms_config()).connect(relay.addr, params),
        )
        .await
        .expect("connect bounded")
        .expect("libiec61850 accepts the policy's password");
        assoc
            .send_asn1(MMS_PCID, hex(IDENTIFY_REQUEST))
            .await
            .unwrap();
        let ev = timeout(NET, assoc.recv()).await.unwrap().unwrap();
        let guls_association::AssociationEvent::Data(d) = ev else {
            panic!("expected the identify response, got {ev:?}");
        };
        let (_, vendor, _, _) =
            parse_identify_response(asn1_octets(&d.value).unwrap()).expect("identify response");
        assert_eq!(vendor, "libiec61850.com");
        timeout(NET, assoc.release())
            .await
            .unwrap()
            .expect("released");
        let cn = &tsdus(&split_tpkts(&relay.up_bytes()))[0];
        assert_eq!(cn[0], 0x0d);
        assert!(cn.len() < 255, "CN+CP+AARQ is {} octets", cn.len());
        assert_eq!(cn[1] as usize, cn.len() - 2, "1-octet LI");
        eprintln!("CN+CP+AARQ with the policy's password: {} octets", cn.len());

        // By called AP-title: the wrong password; libiec61850 closes TCP without an AARE.
        let title = ApTitle::Form2("1.3.9999.66".parse().unwrap());
        let cred = policy
            .credential_for(Some(addr), Some(&title))
            .unwrap()
            .expect("the title entry has a password");
        let mut config = mms_config();
        config.acse.called_ap_title = Some(title);
        let params = AssociateParams {
            user_information: vec![mms_initiate_request()],
            authentication: Some(cred.authentication()),
            ..AssociateParams::default()
        };
        let err = timeout(NET, Initiator::new(config).connect(addr, params))
            .await
            .expect("connect bounded")
            .expect_err("libiec61850 refuses the wrong password");
        assert!(
            matches!(err, AssociationError::RejectedByPeerNoAare),
            "{err:?}"
        );
    });
    // The peer prints its authenticator's verdict from its own thread: wait for the second.
    let _ = server.wait_for_event("auth", 1, Duration::from_secs(5));
    let auths = server.events_named("auth");
    assert_eq!(auths.len(), 2, "{auths:?}");
    assert_eq!(auths[0]["accepted"], true);
    assert_eq!(auths[1]["accepted"], false);
    let lines = server.stop();
    assert!(lines.iter().all(|l| !l.contains("not-it")));
    let _ = std::fs::remove_dir_all(&dir);
}
