//! End-to-end tests of `guls demo`, `guls serve` and `guls connect` (the real binary, over
//! loopback TCP).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

mod common;

use common::*;

#[test]
fn demo_runs_mutual_certificate_authentication_with_key_agreement() {
    let out = run(&["demo"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "status {:?}\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );
    for line in [
        " 1. setup     a fresh demo PKI in memory (Ed25519",
        "responder identity: CN=guls-demo-responder,O=guls demo",
        "initiator identity: CN=guls-demo-initiator,O=guls demo",
        " 2. responder listening on 127.0.0.1:",
        "policy: every peer must complete signed-key-agreement (ARC.2.1)",
        "calling AP title {O=guls demo, CN=guls-demo-initiator}, called AP title {O=guls demo, CN=guls-demo-responder}",
        "item 1 initiatorKeyAgreement sent: ",
        "A-ASSOCIATE indication, mechanism ARC.2.1",
        "authenticated identity: ",
        "item 2 responderKeyAgreement received: ",
        "verified the responder: ",
        "keys derived (key id ",
        ": the same keys on both sides (key bytes never shown)",
        "P-DATA indication in pcid 3: \"hello, OSI upper layers\" (the echo matches)",
        "A-RELEASE confirm: affirmative",
        "association released; transport disconnected",
        "se_transfer",
        "exchange_completed",
        "the chain verifies: 7 records, associations 1, head hash ",
        "by certificate, derived keys (key id ",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    // The same key id on both sides, 16 hex digits; never a key or a private key.
    let ids: Vec<&str> = stdout
        .match_indices("key id ")
        .map(|(i, _)| &stdout[i + 7..i + 23])
        .collect();
    assert!(ids.len() >= 3, "{stdout}");
    assert!(
        ids.iter()
            .all(|i| *i == ids[0] && i.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    for secret in ["PRIVATE KEY", "BEGIN", "secret", "exporter"] {
        assert!(!stdout.contains(secret), "{secret} in\n{stdout}");
    }
    // No long hex run other than the digests the demo prints on purpose (SHA-256 values of
    // items and of audit records are 16 or 64 digits): a 32-octet key would be 64 digits,
    // so check that every 64-digit run is one of the audit digests.
    for word in stdout.split(|c: char| !c.is_ascii_hexdigit()) {
        if word.len() >= 32 && word != "36238538382872986225690784931241271656" {
            assert!(
                word.len() == 64
                    && (stdout.contains(&format!("sha256 {word}"))
                        || stdout.contains(&format!("head hash {word}"))),
                "unexpected hex {word} in\n{stdout}"
            );
        }
    }
}

#[test]
fn demo_password_prints_each_step_and_exits_0() {
    let out = run(&["demo", "--password"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "status {:?}\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );
    for line in [
        " 1. responder listening on 127.0.0.1:",
        "policy: a password (mechanism 2.2.3.1) is required from every peer",
        " 2. initiator TCP connect to 127.0.0.1:",
        "A-ASSOCIATE request sent",
        "contexts proposed: pcid 1 2.2.1.0.1 (ACSE), pcid 3 ARC.4.2 (demo abstract syntax)",
        "authentication: mechanism 2.2.3.1 (password), a 13-octet charstring (not shown)",
        " 3. responder TCP connection from 127.0.0.1:",
        "A-ASSOCIATE indication",
        "calling AP title \"guls-demo-initiator\", called AP title \"guls-demo-responder\"",
        "application context ARC.4.1 (demo application context)",
        "mechanism 2.2.3.1 (password), calling authentication value: charstring (not shown)",
        " 4. responder policy decision: accept (rule \"password-required\")",
        "authenticated identity: \"demo-operator\" (argon2id verification ",
        " 5. responder A-ASSOCIATE response: accepted",
        " 6. initiator A-ASSOCIATE confirm: accepted",
        " 7. initiator P-DATA request sent in pcid 3: \"hello, OSI upper layers\"",
        " 8. responder P-DATA indication in pcid 3",
        "echoing it back",
        " 9. initiator P-DATA indication in pcid 3: \"hello, OSI upper layers\" (the echo matches)",
        "10. initiator A-RELEASE request sent",
        "11. responder A-RELEASE indication",
        "12. responder A-RELEASE response sent",
        "13. initiator A-RELEASE confirm: affirmative",
        "14. responder association released",
        "audit records (hash-chained JSON lines",
        "association_requested     127.0.0.1:",
        "policy_decision           127.0.0.1:",
        "authentication_succeeded  demo-operator    ok, mechanism 2.2.3.1 (password)",
        "association_accepted      127.0.0.1:",
        "association_released      127.0.0.1:",
        "5 of 5 records shown",
        "the chain verifies: 5 records, associations 1, head hash ",
        "done: authenticated \"demo-operator\" by password, associated, exchanged data and released",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    assert!(!stdout.contains("demo-password"), "{stdout}");
    assert!(!stdout.contains("64656d6f2d70617373776f7264"), "{stdout}");
}

#[test]
fn serve_once_echoes_text_to_connect() {
    let server = Server::start(&["--once"]);
    let out = run(&["connect", &server.addr, "--send", "hello over OSI"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("association accepted by"), "{stdout}");
    assert!(
        stdout.contains("sent 14 octets (octet-aligned) in pcid 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reply: 14 octets, octet-aligned, pcid 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hex:  68656c6c6f206f766572204f5349"),
        "{stdout}"
    );
    assert!(stdout.contains("text: hello over OSI"), "{stdout}");
    assert!(stdout.contains("released"), "{stdout}");
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    for event in [
        "guls::serve",
        "A-ASSOCIATE indication",
        "A-ASSOCIATE response: accepted",
        "P-DATA indication",
        "A-RELEASE indication",
        "association released",
    ] {
        assert!(log.contains(event), "missing {event:?} in the log\n{log}");
    }
}

#[test]
fn serve_echoes_a_ber_value_as_single_asn1_type() {
    let server = Server::start(&["--once"]);
    let out = run(&["connect", &server.addr, "--send-hex", "04 03 aa bb cc"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("reply: 5 octets, single-ASN1-type"),
        "{stdout}"
    );
    assert!(stdout.contains("hex:  0403aabbcc"), "{stdout}");
    assert!(server.wait().0.success());
}

#[test]
fn mms_profile_connect_to_mms_serve() {
    let server = Server::start(&["--once", "--profile", "mms"]);
    // An MMS identify request (confirmed-RequestPDU, invokeID 1).
    let out = run(&[
        "connect",
        &server.addr,
        "--profile",
        "mms",
        "--send-hex",
        "a0050201018200",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("application context 1.0.9506.2.3 (MMS application context)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("MMS Initiate-Response received in the AARE"),
        "{stdout}"
    );
    // The identify response: confirmed-ResponsePDU, invokeID 1, identify, vendor "guls".
    assert!(
        stdout.contains("hex:  a11e020101a219800467756c73"),
        "{stdout}"
    );
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    assert!(log.contains("MMS Initiate-Request"), "{log}");
}

#[test]
fn connect_to_a_closed_port_exits_6() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = run(&["connect", &format!("127.0.0.1:{port}"), "--send", "x"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("connection failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn wrong_application_context_is_rejected_with_exit_3() {
    let server = Server::start(&["--once"]);
    let out = run(&["connect", &server.addr, "--profile", "mms", "--send", "x"]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}\n{stderr}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains(
            "rejected-permanent by acse-service-user: application-context-name-not-supported (2)"
        ),
        "{stderr}"
    );
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    assert!(log.contains("rejected-permanent"), "{log}");
}

/// Reads one TPKT.
fn read_tpkt(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h)?;
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    let mut v = h.to_vec();
    v.resize(len.max(4), 0);
    s.read_exact(&mut v[4..])?;
    Ok(v)
}

#[test]
fn peer_closing_tcp_after_the_connect_exits_4() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(NET)).unwrap();
        let cr = read_tpkt(&mut s).unwrap();
        assert_eq!(cr[5], 0xe0, "expected a CR: {cr:02x?}");
        let cc = [
            0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0d,
            0xc2, 0x02, 0x00, 0x01, 0xc1, 0x02, 0x00, 0x01,
        ];
        s.write_all(&cc).unwrap();
        let dt = read_tpkt(&mut s).unwrap();
        assert_eq!(dt[5], 0xf0, "expected a DT: {dt:02x?}");
        assert_eq!(dt[7], 0x0d, "expected a session CONNECT: {dt:02x?}");
        // libiec61850's rejection: close without any answer.
        drop(s);
    });
    let out = run(&["connect", &addr, "--send", "x"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("without an AARE"), "{stderr}");
    peer.join().unwrap();
}

#[test]
fn password_is_sent_but_never_printed() {
    // policies/password.toml holds the hash of the documented demo password.
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/password.toml");
    let server = Server::start_with(&["--once", "--policy", policy], Some("debug"));
    let out = guls()
        .args(["connect", &server.addr, "--send", "x"])
        .args(["--password-env", "GULS_TEST_PASSWORD"])
        .env("GULS_TEST_PASSWORD", "demo-password")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("password authentication"), "{all}");
    assert!(!all.contains("demo-password"), "{all}");
    let (status, log) = server.wait();
    assert!(status.success());
    assert!(log.contains("2.2.3.1 (password)"), "{log}");
    assert!(log.contains("identity=\"operator\""), "{log}");
    assert!(!log.contains("demo-password"), "{log}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        run(&["connect", "127.0.0.1:1", "--send-hex", "zz"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[
            "connect",
            "127.0.0.1:1",
            "--password-env",
            "GULS_SURELY_UNSET_VAR"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(&["connect", "127.0.0.1:1", "--context", "not-an-oid"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["connect", "127.0.0.1:1", "--send", "a", "--send-hex", "00"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["serve"]).status.code(), Some(2));
}

#[test]
fn connect_help_documents_the_exit_statuses() {
    let out = run(&["connect", "--help"]);
    let help = text(&out.stdout);
    assert!(out.status.success());
    for s in [
        "Exit status:",
        "0  accepted",
        "3  rejected",
        "4  rejected by the peer without an AARE",
        "5  aborted",
        "6  connection failed",
    ] {
        assert!(help.contains(s), "missing {s:?} in\n{help}");
    }
}
