//! Peer-entity authentication end to end in one process: our initiator (and raw peers built
//! with the codecs, for AARQs the API cannot produce) against our [`Responder`] gated by
//! `guls::guard` with `policies/password.toml`:
//!
//! * every diagnostic path — 11 (mechanism not accepted), 12 (value without mechanism name),
//!   13 (wrong password, mechanism without value, `external` arm, 4 KiB password), 14 (no
//!   authentication) — is rejected with that diagnostic on the wire and audited with its
//!   reason;
//! * a malformed authentication field (`ac 0e 80 0f`, the inner length overruns the outer) and
//!   a truncated CN never reach the application but are audited as provider aborts with the
//!   peer address and the layer ([`Responder::next_handshake_failure`]);
//! * nothing panics, and the responder keeps serving: a right password still associates;
//! * the audit chain verifies, and neither the records nor the `Debug` strings of the values
//!   involved hold the password or its hex.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guls::guard::Guard;
use guls::profile::{Profile, demo_abstract_syntax, demo_application_context};
use guls_acse::{Aarq, AcseRequirements, Apdu, AuthenticationValue, SecretExternal};
use guls_association::{
    AcceptParams, AssociateParams, AssociationError, AssociationEvent, Authentication, External,
    ExternalEncoding, Initiator, Oid, Responder, ResultSourceDiagnostic,
};
use guls_audit::AuditSink;
use guls_ber::known;
use guls_policy::ResponderPolicy;
use guls_presentation::{self as pres, ContextDefinition, Cp, EncodeStyle, UserData};
use guls_session::{self as ses, Connect, ConnectAcceptItem, ConnectUserData, FunctionalUnits};
use guls_session::{SSelector, Spdu};
use guls_tests::vectors::{GOLDEN_TRACE, hex};
use serde_json::Value;
use support::{NET, runtime, split_tpkts, tsdus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The documented demo password of `policies/password.toml` (identity `operator`).
const PASSWORD: &str = "demo-password";

fn password_policy() -> ResponderPolicy {
    let p = guls_tests::peers::repo_root().join("policies/password.toml");
    ResponderPolicy::load(p).expect("policies/password.toml loads")
}

/// A responder with the guard, serving until dropped.
struct Gate {
    addr: SocketAddr,
    sink: Arc<AuditSink>,
    debug: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_gate(policy: ResponderPolicy) -> Gate {
    let mut config = Profile::Demo.config();
    policy.apply_to(&mut config);
    config.timeouts.establishment = Duration::from_secs(5);
    let responder = Arc::new(Responder::bind("127.0.0.1:0", config).await.expect("bind"));
    let sink = Arc::new(AuditSink::memory());
    let guard = Arc::new(Guard::new(policy, Some(sink.clone())));
    let debug = Arc::new(Mutex::new(Vec::new()));
    let (r, d) = (responder.clone(), debug.clone());
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                inc = r.accept() => {
                    let Ok(inc) = inc else { return };
                    let (guard, debug) = (guard.clone(), d.clone());
                    tokio::spawn(async move {
                        let checked = guard.check(inc).await;
                        debug.lock().unwrap().push(format!("{checked:?}"));
                        let Ok(admitted) = checked.finish(AcceptParams::default()).await else {
                            return;
                        };
                        debug.lock().unwrap().push(format!("{admitted:?}"));
                        let (mut assoc, audit) = (admitted.association, admitted.audit);
                        loop {
                            match assoc.recv().await {
                                Ok(ev) => {
                                    audit.event(&ev);
                                    match ev {
                                        AssociationEvent::ReleaseIndication { .. } => {
                                            let _ = assoc.release_response(Vec::new()).await;
                                        }
                                        AssociationEvent::Data(_) => {}
                                        _ => return,
                                    }
                                }
                                Err(e) => {
                                    audit.error(&e);
                                    return;
                                }
                            }
                        }
                    });
                }
                Some(f) = r.next_handshake_failure() => {
                    guard.handshake_failure(&f);
                }
            }
        }
    });
    Gate {
        addr: responder.local_addr(),
        sink,
        debug,
        task,
    }
}

/// The audit records so far.
fn records(sink: &AuditSink) -> Vec<Value> {
    sink.memory_contents()
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record is JSON"))
        .collect()
}

/// Waits until the log has `n` records whose kind is one of the association's last ones.
async fn wait_records(sink: &AuditSink, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let r = records(sink);
        if r.len() >= n || start.elapsed() > NET {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn kind(r: &Value) -> &str {
    r["event"]["kind"].as_str().unwrap_or("?")
}

/// The records of the association with the highest id.
fn last_association(all: &[Value]) -> Vec<Value> {
    let id = all.iter().filter_map(|r| r["assoc"].as_u64()).max();
    all.iter()
        .filter(|r| r["assoc"].as_u64() == id)
        .cloned()
        .collect()
}

fn connect_params(auth: Option<Authentication>) -> AssociateParams {
    AssociateParams {
        authentication: auth,
        ..AssociateParams::default()
    }
}

/// Connects with our initiator; returns the rejection's diagnostic number, or 0 when accepted
/// (then released).
async fn initiate(addr: SocketAddr, auth: Option<Authentication>) -> i64 {
    let mut config = Profile::Demo.config();
    config.timeouts.establishment = Duration::from_secs(10);
    let r = timeout(
        NET,
        Initiator::new(config).connect(addr, connect_params(auth)),
    )
    .await
    .expect("connect bounded");
    match r {
        Ok(mut assoc) => {
            timeout(NET, assoc.release())
                .await
                .expect("release bounded")
                .expect("released");
            0
        }
        Err(AssociationError::Rejected(rej)) => match rej.diagnostic {
            Some(ResultSourceDiagnostic::ServiceUser(d)) => d.value(),
            other => panic!("unexpected rejection {other:?}"),
        },
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// A CONNECT TSDU (session CN + presentation CP + this AARQ) of the demo profile.
fn cn_tsdu(aarq: &Aarq) -> Vec<u8> {
    let cp = Cp {
        calling_selector: Some(vec![0, 0, 0, 1]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: vec![
            ContextDefinition {
                id: 1,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![known::BER],
            },
            ContextDefinition {
                id: 3,
                abstract_syntax: demo_abstract_syntax(),
                transfer_syntaxes: vec![known::BER],
            },
        ],
        user_data: Some(UserData::single_asn1(1, Apdu::Aarq(aarq.clone()).encode())),
        ..Cp::default()
    };
    ses::encode_spdu(&Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits(0x0002)),
        calling_ssel: Some(SSelector::new(vec![0, 1]).unwrap()),
        called_ssel: Some(SSelector::new(vec![0, 1]).unwrap()),
        user_data: Some(
            ConnectUserData::new(pres::encode_cp(&cp, EncodeStyle::Canonical)).unwrap(),
        ),
        ..Connect::default()
    }))
    .expect("CN encodes")
}

/// DT TPKTs carrying `tsdu`.
fn dt(tsdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    guls_transport::encode_data_frames(tsdu, guls_transport::TpduSize::S8192, &mut out);
    out
}

/// A raw peer: CR, then `after_cc` once the CC arrived; returns what the responder sent
/// after the CC (the TSDUs) once it closed, and our local address.
async fn raw_peer(addr: SocketAddr, after_cc: &[u8]) -> (Vec<Vec<u8>>, SocketAddr) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let local = s.local_addr().unwrap();
    s.write_all(&hex(GOLDEN_TRACE[0].1)).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while split_tpkts(&got).is_empty() {
        let n = timeout(NET, s.read(&mut buf))
            .await
            .expect("CC bounded")
            .unwrap();
        assert!(n > 0, "closed before the CC");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(split_tpkts(&got)[0][5], 0xd0, "CC");
    s.write_all(after_cc).await.unwrap();
    let _ = s.shutdown().await;
    let mut rest = Vec::new();
    let _ = timeout(NET, s.read_to_end(&mut rest))
        .await
        .expect("close bounded");
    (tsdus(&split_tpkts(&rest)), local)
}

/// The AARE diagnostic `a3 05 a1 03 02 01 nn` (acse-service-user) in a REFUSE.
fn refused_with(tsdus: &[Vec<u8>]) -> Option<u8> {
    let t = tsdus.first()?;
    if t.first() != Some(&0x0c) {
        return None;
    }
    t.windows(7)
        .find(|w| w[..6] == [0xa3, 0x05, 0xa1, 0x03, 0x02, 0x01])
        .map(|w| w[6])
}

fn password_aarq() -> Aarq {
    let mut aarq = Aarq::new(demo_application_context());
    aarq.sender_acse_requirements = Some(AcseRequirements::authentication());
    aarq
}

#[test]
fn every_diagnostic_path_and_malformed_input_is_audited() {
    let rt = runtime();
    rt.block_on(async {
        let gate = start_gate(password_policy()).await;
        let addr = gate.addr;
        let mut n = 0;
        let mut expect = |k: usize| {
            n += k;
            n
        };

        // Right password: accepted with the identity, released by the peer.
        assert_eq!(
            initiate(addr, Some(Authentication::password(PASSWORD.as_bytes()))).await,
            0
        );
        let all = wait_records(&gate.sink, expect(5)).await;
        let a = last_association(&all);
        assert_eq!(
            a.iter().map(kind).collect::<Vec<_>>(),
            [
                "association_requested",
                "policy_decision",
                "authentication_succeeded",
                "association_accepted",
                "association_released"
            ]
        );
        assert_eq!(a[2]["event"]["identity"], "operator");
        assert_eq!(a[0]["event"]["mechanism"], "2.2.3.1 (password)");
        assert_eq!(a[4]["event"]["initiated_by"], "peer");

        // (label, authentication, diagnostic, reason)
        let long = vec![b'x'; 4096];
        let external = Authentication {
            mechanism: known::PASSWORD_MECHANISM,
            value: AuthenticationValue::External(SecretExternal::new(External {
                direct_reference: None,
                indirect_reference: Some(1),
                data_value_descriptor: None,
                encoding: ExternalEncoding::OctetAligned(PASSWORD.as_bytes().to_vec()),
            })),
        };
        let cert_mechanism: Oid = "1.0.840.0.1.0.1.1".parse().unwrap();
        let cases: Vec<(&str, Option<Authentication>, i64, &str)> = vec![
            (
                "wrong password",
                Some(Authentication::password(b"wrong")),
                13,
                "bad-password",
            ),
            ("no authentication", None, 14, "authentication-required"),
            (
                "unknown mechanism",
                Some(Authentication {
                    mechanism: cert_mechanism,
                    value: AuthenticationValue::password(PASSWORD.as_bytes()),
                }),
                11,
                "mechanism-not-accepted",
            ),
            (
                "4 KiB password",
                Some(Authentication::password(&long)),
                13,
                "password-too-long",
            ),
            ("external arm", Some(external), 13, "wrong-value-arm"),
        ];
        for (label, auth, diag, reason) in cases {
            assert_eq!(initiate(addr, auth).await, diag, "{label}");
            let all = wait_records(&gate.sink, expect(4)).await;
            let a = last_association(&all);
            assert_eq!(
                a.iter().map(kind).collect::<Vec<_>>(),
                [
                    "association_requested",
                    "policy_decision",
                    "authentication_failed",
                    "association_rejected"
                ],
                "{label}"
            );
            assert_eq!(a[1]["event"]["decision"], "reject", "{label}");
            assert_eq!(a[2]["event"]["diagnostic"], diag, "{label}");
            assert_eq!(a[2]["event"]["reason"], reason, "{label}");
            assert_eq!(a[3]["event"]["diagnostic"], diag, "{label}");
        }

        // Raw AARQs the API cannot produce.
        let mut value_only = password_aarq();
        value_only.calling_authentication_value =
            Some(AuthenticationValue::password(PASSWORD.as_bytes()));
        let mut name_only = password_aarq();
        name_only.mechanism_name = Some(known::PASSWORD_MECHANISM);
        for (label, aarq, diag, reason) in [
            (
                "value without mechanism name",
                value_only,
                12u8,
                "mechanism-name-required",
            ),
            (
                "mechanism name without value",
                name_only,
                13,
                "missing-authentication-value",
            ),
        ] {
            let (answer, local) = raw_peer(addr, &dt(&cn_tsdu(&aarq))).await;
            assert_eq!(refused_with(&answer), Some(diag), "{label}: {answer:02x?}");
            let all = wait_records(&gate.sink, expect(4)).await;
            let a = last_association(&all);
            assert_eq!(a[0]["event"]["peer"], local.to_string(), "{label}");
            assert_eq!(a[2]["event"]["kind"], "authentication_failed", "{label}");
            assert_eq!(a[2]["event"]["reason"], reason, "{label}");
            assert_eq!(a[2]["event"]["diagnostic"], diag, "{label}");
            assert_eq!(a[3]["event"]["kind"], "association_rejected", "{label}");
        }

        // A malformed authentication field: `ac 0e 80 0f` (the charstring claims 15 octets
        // inside a 14-octet [12]); every enclosing length is still right.
        let mut broken = password_aarq();
        broken.mechanism_name = Some(known::PASSWORD_MECHANISM);
        broken.calling_authentication_value = Some(AuthenticationValue::password(b"twelve-chars"));
        let mut tsdu = cn_tsdu(&broken);
        let at = tsdu
            .windows(4)
            .position(|w| w == [0xac, 0x0e, 0x80, 0x0c])
            .expect("the authentication field");
        tsdu[at + 3] = 0x0f;
        let (answer, local) = raw_peer(addr, &dt(&tsdu)).await;
        assert!(
            refused_with(&answer).is_none(),
            "not an AARE: {answer:02x?}"
        );
        let all = wait_records(&gate.sink, expect(2)).await;
        let a = last_association(&all);
        assert_eq!(a.len(), 2, "{a:?}");
        assert_eq!(a[0]["event"]["kind"], "association_requested");
        assert_eq!(a[0]["event"]["peer"], local.to_string());
        assert_eq!(a[1]["event"]["kind"], "association_aborted");
        assert_eq!(a[1]["event"]["source"], "provider");
        assert_eq!(a[1]["event"]["layer"], "acse", "{a:?}");
        eprintln!(
            "malformed authentication field: {}",
            a[1]["event"]["reason"]
        );

        // A truncated CN: half of its TPKT, then the peer closes.
        let whole = dt(&cn_tsdu(&password_aarq()));
        let (_, local) = raw_peer(addr, &whole[..whole.len() / 2]).await;
        let all = wait_records(&gate.sink, expect(2)).await;
        let a = last_association(&all);
        assert_eq!(a[0]["event"]["peer"], local.to_string());
        assert_eq!(a[1]["event"]["kind"], "association_aborted");
        assert_eq!(a[1]["event"]["layer"], "tcp", "{a:?}");

        // Still serving.
        assert_eq!(
            initiate(addr, Some(Authentication::password(PASSWORD.as_bytes()))).await,
            0
        );
        let all = wait_records(&gate.sink, expect(5)).await;
        assert_eq!(all.len(), n, "no stray records");

        let log = gate.sink.memory_contents().unwrap();
        let summary = guls_audit::verify(log.as_bytes()).expect("the chain verifies");
        assert_eq!(summary.records, n);
        assert_eq!(summary.associations, 11);

        // No secret in the records or in the Debug strings of what the responder handled.
        let mut texts = vec![log];
        texts.extend(gate.debug.lock().unwrap().iter().cloned());
        texts.push(format!(
            "{:?}",
            connect_params(Some(Authentication::password(PASSWORD.as_bytes())))
        ));
        let hexpw: String = PASSWORD.bytes().map(|b| format!("{b:02x}")).collect();
        for t in &texts {
            assert!(!t.contains(PASSWORD), "password in {t}");
            assert!(!t.to_lowercase().contains(&hexpw), "password hex in {t}");
        }
        assert!(texts.iter().any(|t| t.contains("operator")));
    });
}

/// The policy's limits: with `max_associations = 1` a second connection is refused at once,
/// and that refusal is audited too.
#[test]
fn limit_refusals_are_audited() {
    let rt = runtime();
    rt.block_on(async {
        let policy = ResponderPolicy::parse(
            "[limits]\nmax_associations = 1\n[default]\nmechanisms = [\"none\"]\n",
            "(test)",
        )
        .unwrap();
        let gate = start_gate(policy).await;
        let held = TcpStream::connect(gate.addr).await.unwrap();
        // The first connection holds the only permit (its handshake waits for a CR).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut second = TcpStream::connect(gate.addr).await.unwrap();
        let mut b = [0u8; 16];
        let n = timeout(NET, second.read(&mut b))
            .await
            .expect("closed at once");
        assert!(matches!(n, Ok(0) | Err(_)));
        let all = wait_records(&gate.sink, 2).await;
        assert_eq!(all[1]["event"]["kind"], "association_aborted");
        assert_eq!(all[1]["event"]["layer"], "local");
        assert!(
            all[1]["event"]["reason"]
                .as_str()
                .unwrap()
                .contains("max_associations (1)"),
            "{all:?}"
        );
        drop(held);
    });
}
