//! Certificate authentication end to end: `guls serve` ↔ `guls connect` (in process, over
//! loopback) with fresh rcgen PKIs, both key types, both crypto providers on each side and
//! across them, the three certificate exchanges; and the security cases, each rejected with
//! its diagnostic and an audit record.
//!
//! Bad token signatures, replays, stale times, reflections, tampered key agreements and
//! truncated or oversized items cannot be produced through the program's public API (the roles
//! sign and stamp every token themselves): `cert_attacks.rs` sends them from a raw peer.

#[path = "common/certs.rs"]
mod certs;

use std::path::Path;

use certs::*;
use guls::connect::exit;
use guls::exchanges::ProviderChoice;
use guls_association::ApTitle;
use guls_policy::Identity;

const ALL_EXCHANGES: [&str; 3] = [
    "dir-authentication-one-way",
    "dir-authentication-two-way",
    "signed-key-agreement",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_paths_both_key_types_both_providers_every_exchange() {
    let dir = TempDir::new("cert-happy");
    let policy = r#"
[default]
mechanisms = ["none"]
exchanges = ["dir-authentication-one-way", "dir-authentication-two-way", "signed-key-agreement"]
require_exchange = true
"#;
    let providers = [ProviderChoice::Ring, ProviderChoice::RustCrypto];
    for alg in [Alg::Ed25519, Alg::P256] {
        let ca = ca(alg, "happy CA");
        let t = trust(&ca, Some(&crl(&ca, &[])));
        let responder = leaf(&ca, "responder", 10, -1, 30);
        let initiator = leaf(&ca, "initiator", 11, -1, 30);
        for rp in providers {
            let server = start(
                &dir.0,
                &format!("{alg:?}-{rp:?}"),
                policy,
                builtins(&responder, &t, rp),
            )
            .await;
            for ip in providers {
                for x in ALL_EXCHANGES {
                    let o = run_client(
                        &server.addr,
                        Client {
                            b: builtins(&initiator, &t, ip),
                            exchange: x,
                            calling: None,
                            called: Some(responder.ap_title()),
                            password: None,
                            audit: None,
                        },
                    )
                    .await;
                    let what = format!("{alg:?} responder {rp:?} initiator {ip:?} {x}");
                    assert_eq!(o.status, exit::OK, "{what}\n{}\n{}", o.out, o.err);
                    assert!(
                        o.out.contains("security exchange completed"),
                        "{what}\n{}",
                        o.out
                    );
                    assert!(o.out.contains("reply: \"hello\"") || o.out.contains("hello"));
                    if x != "dir-authentication-one-way" {
                        // Mutual: the initiator authenticated the responder's certificate.
                        assert!(
                            o.out.contains("(peer identity ") && o.out.contains("CN=responder"),
                            "{what}\n{}",
                            o.out
                        );
                    }
                    assert_eq!(
                        o.out.contains("keys derived (key id "),
                        x == "signed-key-agreement",
                        "{what}\n{}",
                        o.out
                    );
                }
            }
            let recs = records(&server.audit);
            let completed = recs
                .iter()
                .filter(|r| r.to_string().contains("exchange_completed"))
                .count();
            assert_eq!(completed, 6, "{alg:?} {rp:?}: {recs:?}");
            assert!(
                recs.iter()
                    .filter(|r| r.to_string().contains("exchange_completed"))
                    .all(|r| r.to_string().contains("CN=initiator")),
                "{recs:?}"
            );
            let log = std::fs::read_to_string(&server.audit).unwrap();
            assert!(!log.contains("PRIVATE KEY"), "{log}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_cases_are_rejected_with_diagnostic_and_audit() {
    let dir = TempDir::new("cert-security");
    let ca1 = ca(Alg::Ed25519, "trusted CA");
    let ca2 = ca(Alg::Ed25519, "unknown CA");
    let revoked_serial = 66;
    let t = trust(&ca1, Some(&crl(&ca1, &[revoked_serial])));
    let responder = leaf(&ca1, "responder", 20, -1, 30);
    let good = leaf(&ca1, "initiator", 21, -1, 30);
    let expired = leaf(&ca1, "initiator", 22, -20, -2);
    let stranger = leaf(&ca2, "initiator", 23, -1, 30);
    let revoked = leaf(&ca1, "initiator", revoked_serial, -1, 30);
    // Mutual authentication required: two-way or the key agreement.
    let policy = r#"
[default]
mechanisms = ["none"]
exchanges = ["dir-authentication-two-way", "signed-key-agreement"]
require_exchange = true
"#;
    let server = start(
        &dir.0,
        "strict",
        policy,
        builtins(&responder, &t, ProviderChoice::Ring),
    )
    .await;
    let called = Some(responder.ap_title());
    let other_title = guls_policy::parse_ap_title("CN=somebody else,O=guls test").unwrap();

    for x in ["dir-authentication-two-way", "signed-key-agreement"] {
        // (case, identity, calling AP-title, audit reason)
        let cases: [(&str, &Identity, Option<ApTitle>, &str); 4] = [
            ("expired", &expired, None, "certificate-expired"),
            ("unknown CA", &stranger, None, "unknown-issuer"),
            (
                "AP title not the certificate's",
                &good,
                Some(other_title.clone()),
                "ap-title-mismatch",
            ),
            ("revoked", &revoked, None, "certificate-revoked"),
        ];
        for (case, id, calling, reason) in cases {
            let before = records(&server.audit).len();
            let o = run_client(
                &server.addr,
                Client {
                    b: builtins(id, &t, ProviderChoice::Ring),
                    exchange: x,
                    calling,
                    called: called.clone(),
                    password: None,
                    audit: None,
                },
            )
            .await;
            assert_eq!(o.status, exit::REJECTED, "{x} {case}\n{}\n{}", o.out, o.err);
            assert!(
                o.err.contains("authentication-failure") || o.err.contains("13"),
                "{x} {case}: {}",
                o.err
            );
            assert!(
                audited(&server.audit, reason, 13, true),
                "{x} {case}: no audit record {reason}/13:\n{}",
                std::fs::read_to_string(&server.audit).unwrap()
            );
            // The responder signalled authenticationFailure (local:1) in its se-u-abort.
            let new: Vec<String> = records(&server.audit)[before..]
                .iter()
                .map(|r| r.to_string())
                .collect();
            assert!(
                new.iter()
                    .any(|r| r.contains("se_u_abort") && r.contains("local:1")),
                "{x} {case}: {new:?}"
            );
        }
    }

    // Downgrades: a password, or the one-way exchange, where mutual authentication is required.
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &t, ProviderChoice::Ring),
            exchange: "",
            calling: None,
            called: called.clone(),
            password: Some(b"a password"),
            audit: None,
        },
    )
    .await;
    assert_eq!(o.status, exit::REJECTED, "{}\n{}", o.out, o.err);
    assert!(audited(&server.audit, "downgrade", 14, true));
    let n_downgrades = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"downgrade\""))
            .count()
    };
    assert_eq!(n_downgrades(&server.audit), 1);
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &t, ProviderChoice::Ring),
            exchange: "dir-authentication-one-way",
            calling: None,
            called: called.clone(),
            password: None,
            audit: None,
        },
    )
    .await;
    assert_eq!(o.status, exit::REJECTED, "{}\n{}", o.out, o.err);
    assert_eq!(n_downgrades(&server.audit), 2);

    // The initiator refuses a responder it cannot validate (it trusts only the other CA):
    // the association is aborted and the initiator's audit log says why.
    let initiator_audit = dir.0.join("initiator.audit");
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&stranger, &trust(&ca2, None), ProviderChoice::Ring),
            exchange: "signed-key-agreement",
            calling: None,
            called: called.clone(),
            password: None,
            audit: Some(initiator_audit.clone()),
        },
    )
    .await;
    assert_ne!(o.status, exit::OK, "{}\n{}", o.out, o.err);
    // (The responder rejects this initiator first: its path does not validate either.)
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &trust(&ca2, None), ProviderChoice::Ring),
            exchange: "signed-key-agreement",
            calling: None,
            called: called.clone(),
            password: None,
            audit: Some(initiator_audit.clone()),
        },
    )
    .await;
    assert_eq!(o.status, exit::ABORTED, "{}\n{}", o.out, o.err);
    assert!(o.err.contains("unknown-issuer"), "{}", o.err);
    assert!(
        audited(&initiator_audit, "unknown-issuer", 13, false),
        "{}",
        std::fs::read_to_string(&initiator_audit).unwrap()
    );

    // The initiator calls an AP title that is not the responder's certificate: the
    // responder refuses the token addressed to another name (wrong-name, 13).
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &t, ProviderChoice::Ring),
            exchange: "signed-key-agreement",
            calling: None,
            called: Some(other_title.clone()),
            password: None,
            audit: None,
        },
    )
    .await;
    assert_eq!(o.status, exit::REJECTED, "{}\n{}", o.out, o.err);
    assert!(audited(&server.audit, "wrong-name", 13, true));
}
