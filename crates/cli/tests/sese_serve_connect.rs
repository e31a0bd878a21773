//! `guls serve` with a policy requiring a security exchange and `guls connect` offering it
//! (the real binary over loopback): the association runs, the audit log holds the SESE records
//! and verifies; without the exchange the AARQ is rejected with 14 and audited.

mod common;

use common::*;

const POLICY: &str = r#"
[default]
mechanisms = ["none"]
exchanges = ["hmac-challenge", "simple-negotiation"]
require_exchange = true
"#;

fn records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn serve_requiring_an_exchange_with_connect_offering_it() {
    let dir = std::env::temp_dir().join(format!("guls-sese-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (policy, psk, audit, caudit) = (
        dir.join("policy.toml"),
        dir.join("psk"),
        dir.join("audit.log"),
        dir.join("connect.log"),
    );
    std::fs::write(&policy, POLICY).unwrap();
    std::fs::write(&psk, "the shared key\n").unwrap();
    let p = |x: &std::path::Path| x.display().to_string();
    let (policy_s, psk_s, audit_s, caudit_s) = (p(&policy), p(&psk), p(&audit), p(&caudit));
    let server = Server::start(&[
        "--policy",
        &policy_s,
        "--audit",
        &audit_s,
        "--psk-file",
        &psk_s,
        "--psk-identity",
        "alice",
    ]);

    // With the exchange: associated, data echoed, released.
    let out = run(&[
        "connect",
        &server.addr,
        "--send",
        "hi",
        "--exchange",
        "hmac-challenge",
        "--psk-file",
        &psk_s,
        "--psk-identity",
        "alice",
        "--audit",
        &caudit_s,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("security exchange completed"), "{stdout}");
    assert!(stdout.contains("reply: 2 octets"), "{stdout}");

    // Without it: rejected with 14.
    let out = run(&["connect", &server.addr, "--send", "hi"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("authentication-required (14)"),
        "{}",
        text(&out.stderr)
    );
    drop(server);

    for log in [&audit, &caudit] {
        let v = run(&["audit", "verify", &p(log)]);
        assert!(v.status.success(), "{}", text(&v.stderr));
    }
    let all = records(&audit);
    let secret = std::fs::read_to_string(&audit).unwrap();
    assert!(!secret.contains("the shared key"));
    let kinds = |assoc: u64| -> Vec<String> {
        all.iter()
            .filter(|r| r["assoc"] == assoc)
            .map(|r| r["event"]["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let first = kinds(1);
    assert_eq!(
        first,
        [
            "association_requested",
            "se_transfer",
            "se_transfer",
            "policy_decision",
            "association_accepted",
            "se_transfer",
            "exchange_completed",
            "association_released",
        ],
        "{all:#?}"
    );
    let transfers: Vec<&serde_json::Value> = all
        .iter()
        .filter(|r| r["event"]["kind"] == "se_transfer")
        .collect();
    assert_eq!(transfers[0]["event"]["direction"], "received");
    assert_eq!(transfers[0]["event"]["item"], 1);
    assert_eq!(transfers[0]["event"]["start"], true);
    assert_eq!(transfers[1]["event"]["direction"], "sent");
    assert_eq!(transfers[2]["event"]["end"], true);
    assert_eq!(
        transfers[0]["event"]["item_sha256"].as_str().unwrap().len(),
        64
    );
    let done = all
        .iter()
        .find(|r| r["event"]["kind"] == "exchange_completed")
        .unwrap();
    assert_eq!(done["event"]["identity"], "alice");
    let second = kinds(2);
    assert!(
        second.contains(&"association_rejected".to_string()),
        "{all:#?}"
    );
    let rejected = all
        .iter()
        .find(|r| r["event"]["kind"] == "association_rejected")
        .unwrap();
    assert!(rejected.to_string().contains("14"), "{rejected}");
    // The initiator's log: its three items and the completion.
    let c = records(&caudit);
    let ck: Vec<&str> = c
        .iter()
        .map(|r| r["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        ck,
        [
            "se_transfer",
            "se_transfer",
            "se_transfer",
            "exchange_completed",
            "association_released"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_a_policy_exchange_it_cannot_run() {
    let dir = std::env::temp_dir().join(format!("guls-sese-cli2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--policy",
        &policy.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--psk-file"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
