//! Authentication, policy and audit through the `guls` program: `guls serve --policy --audit`
//! with `guls connect` (password from a variable, a file or an initiator policy), `guls policy
//! check` / `hash-password`, `guls audit verify` / `show` (also on tampered logs), and a
//! secret-grep of a whole traced session.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn policy(name: &str) -> String {
    repo().join("policies").join(name).display().to_string()
}

/// A fresh directory for one test.
fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("guls-auth-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `guls` with `stdin` and environment variables.
fn run_io(args: &[&str], stdin: &[u8], envs: &[(&str, &str)]) -> Output {
    let mut c = guls();
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Waits until the audit log has at least `n` lines (records are written as the server goes).
fn wait_lines(path: &Path, n: usize) -> String {
    let start = Instant::now();
    loop {
        let t = common::audit_log::complete_lines(path);
        if t.lines().count() >= n || start.elapsed() > NET {
            return t;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kinds(log: &str) -> Vec<String> {
    log.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event"]["kind"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn policy_check_accepts_the_examples_and_positions_errors() {
    for (file, first) in [
        ("open.toml", "responder policy"),
        ("password.toml", "responder policy"),
        ("per-peer.toml", "responder policy"),
        ("initiator.toml", "initiator policy"),
    ] {
        let out = run(&["policy", "check", &policy(file)]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", text(&out.stderr));
        assert!(stdout.starts_with(first), "{file}: {stdout}");
        assert!(stdout.contains(": valid"), "{stdout}");
        assert!(
            !stdout.contains("$argon2id$"),
            "no hash in a summary: {stdout}"
        );
    }
    let per_peer = text(&run(&["policy", "check", &policy("per-peer.toml")]).stdout);
    assert!(
        per_peer.contains("1. ied1: matches calling AP-title 1.3.9999.1.1"),
        "{per_peer}"
    );

    let dir = tempdir("check");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[default]\nmechanisms = [\"password\"]\n\n[[default.credential]]\nidentity = \"x\"\npassword = \"plain\"\n",
    )
    .unwrap();
    let out = run(&["policy", "check", bad.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "{}:6:12: plain passwords are not allowed",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("plain\""), "{stderr}");

    // Forced kinds: a responder file read as an initiator policy fails with a position.
    let out = run(&["policy", "check", "--initiator", &policy("password.toml")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("password.toml:"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&[
        "policy",
        "check",
        &dir.join("missing.toml").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn hash_password_reads_stdin_and_the_hash_authenticates_through_serve() {
    const PW: &str = "Hash-Me-Through-stdin-93";
    let out = run_io(
        &["policy", "hash-password"],
        format!("{PW}\n").as_bytes(),
        &[],
    );
    let phc = text(&out.stdout).trim().to_string();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!text(&out.stdout).contains(PW) && !text(&out.stderr).contains(PW));
    let empty = run_io(&["policy", "hash-password"], b"", &[]);
    assert_eq!(empty.status.code(), Some(1));

    let dir = tempdir("hash");
    let pol = dir.join("responder.toml");
    std::fs::write(
        &pol,
        format!(
            "[default]\nname = \"fresh\"\nmechanisms = [\"password\"]\n\n[[default.credential]]\nidentity = \"fresh-user\"\npassword_hash = \"{phc}\"\n"
        ),
    )
    .unwrap();
    let server = Server::start(&["--once", "--policy", pol.to_str().unwrap()]);
    let out = run_io(
        &[
            "connect",
            &server.addr,
            "--password-env",
            "GULS_T_PW",
            "--send",
            "x",
        ],
        b"",
        &[("GULS_T_PW", PW)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("identity=\"fresh-user\"") || log.contains("identity=fresh-user"),
        "{log}"
    );
}

/// `guls serve --policy policies/password.toml --audit FILE`: the right password is accepted,
/// a wrong one rejected with 13, none with 14; the log verifies, shows and filters.
#[test]
fn serve_with_password_policy_audits_every_outcome() {
    let dir = tempdir("serve");
    let audit = dir.join("audit.jsonl");
    let pwfile = dir.join("wrong.pass");
    std::fs::write(&pwfile, "not-the-password\n").unwrap();
    let server = Server::start(&[
        "--policy",
        &policy("password.toml"),
        "--audit",
        audit.to_str().unwrap(),
    ]);

    let ok = run_io(
        &[
            "connect",
            &server.addr,
            "--password-env",
            "GULS_T_PW",
            "--send",
            "hi",
        ],
        b"",
        &[("GULS_T_PW", "demo-password")],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("password authentication"));
    wait_lines(&audit, 5);

    let wrong = run(&[
        "connect",
        &server.addr,
        "--password-file",
        pwfile.to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(3), "{}", text(&wrong.stderr));
    assert!(
        text(&wrong.stderr)
            .contains("rejected-permanent by acse-service-user: authentication-failure (13)"),
        "{}",
        text(&wrong.stderr)
    );
    wait_lines(&audit, 9);

    let none = run(&["connect", &server.addr]);
    assert_eq!(none.status.code(), Some(3));
    assert!(
        text(&none.stderr).contains("authentication-required (14)"),
        "{}",
        text(&none.stderr)
    );
    let log = wait_lines(&audit, 13);
    let log_text = server.kill();
    assert!(log_text.contains("guls::audit"), "{log_text}");

    assert_eq!(
        kinds(&log),
        [
            "association_requested",
            "policy_decision",
            "authentication_succeeded",
            "association_accepted",
            "association_released",
            "association_requested",
            "policy_decision",
            "authentication_failed",
            "association_rejected",
            "association_requested",
            "policy_decision",
            "authentication_failed",
            "association_rejected",
        ],
        "{log}"
    );
    assert!(log.contains(r#""identity":"operator""#), "{log}");
    assert!(
        log.contains(r#""reason":"bad-password","diagnostic":13"#),
        "{log}"
    );
    assert!(
        log.contains(r#""reason":"authentication-required","diagnostic":14"#),
        "{log}"
    );
    assert!(log.contains(r#""rule":"everyone""#), "{log}");

    let v = run(&["audit", "verify", audit.to_str().unwrap()]);
    let vs = text(&v.stdout);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    assert!(
        vs.starts_with("13 records (seq 1 to 13), associations 3, head hash "),
        "{vs}"
    );

    let all = text(&run(&["audit", "show", audit.to_str().unwrap()]).stdout);
    assert!(all.contains("13 of 13 records shown"), "{all}");
    let failed = text(
        &run(&[
            "audit",
            "show",
            audit.to_str().unwrap(),
            "--outcome",
            "failed",
        ])
        .stdout,
    );
    assert!(failed.contains("8 of 13 records shown"), "{failed}");
    assert!(
        failed.contains("FAILED: authentication-failure (13): bad-password"),
        "{failed}"
    );
    let by_identity = text(
        &run(&[
            "audit",
            "show",
            audit.to_str().unwrap(),
            "--peer",
            "operator",
        ])
        .stdout,
    );
    assert!(
        by_identity.contains("5 of 13 records shown"),
        "{by_identity}"
    );
    let by_host = text(
        &run(&[
            "audit",
            "show",
            audit.to_str().unwrap(),
            "--peer",
            "127.0.0.1",
        ])
        .stdout,
    );
    assert!(by_host.contains("13 of 13 records shown"), "{by_host}");

    tampering_is_detected(&audit, &dir);

    // A restarted server continues the chain.
    let server = Server::start(&["--once", "--audit", audit.to_str().unwrap()]);
    let out = run(&["connect", &server.addr]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(server.wait().0.success());
    let v = run(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    assert!(
        text(&v.stdout).starts_with("17 records (seq 1 to 17), associations 4"),
        "{}",
        text(&v.stdout)
    );
}

/// `guls audit verify` on edited, deleted, inserted and reordered copies of `audit`.
fn tampering_is_detected(audit: &Path, dir: &Path) {
    let original = std::fs::read_to_string(audit).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let write = |name: &str, ls: &[String]| {
        let p = dir.join(name);
        std::fs::write(&p, ls.join("\n") + "\n").unwrap();
        p
    };
    let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();

    let mut edited = owned.clone();
    edited[7] = edited[7].replace("bad-password", "good-password");
    assert_ne!(edited[7], owned[7]);
    let mut deleted = owned.clone();
    deleted.remove(5);
    let mut inserted = owned.clone();
    inserted.insert(4, owned[3].clone());
    let mut reordered = owned.clone();
    reordered.swap(9, 10);

    for (name, ls, line, what) in [
        ("edited.jsonl", edited, 8, "record edited"),
        (
            "deleted.jsonl",
            deleted,
            6,
            "record deleted before this line (seq 6 missing)",
        ),
        // An identical copy: the verifier names the first of the two equal lines.
        ("inserted.jsonl", inserted, 4, "record inserted (seq 4)"),
        ("reordered.jsonl", reordered, 10, "records reordered"),
    ] {
        let p = write(name, &ls);
        let out = run(&["audit", "verify", p.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        let expected = format!("{}: line {line}: {what}", p.display());
        assert!(
            stderr.starts_with(&expected),
            "{name}: {stderr} (expected {expected})"
        );
    }
    let out = run(&[
        "audit",
        "verify",
        &dir.join("nope.jsonl").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// A whole session traced at `trace` on both sides: serve with a policy and an audit log;
/// connect with the password from a variable, from a file and through an initiator policy,
/// right and wrong. The password, in text or hex, appears in no output, log or record.
#[test]
fn no_secret_anywhere_in_a_traced_session() {
    const PW: &str = "Zebra-Sentinel-4711-pw";
    const WRONG: &str = "Wrong-Sentinel-0815-pw";
    let dir = tempdir("secrets");
    let phc = text(
        &run_io(
            &["policy", "hash-password"],
            format!("{PW}\n").as_bytes(),
            &[],
        )
        .stdout,
    )
    .trim()
    .to_string();
    let responder = dir.join("responder.toml");
    std::fs::write(
        &responder,
        format!(
            "[default]\nmechanisms = [\"password\"]\n\n[[default.credential]]\nidentity = \"sentinel\"\npassword_hash = \"{phc}\"\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("pw.pass"), format!("{PW}\n")).unwrap();
    std::fs::write(dir.join("wrong.pass"), format!("{WRONG}\r\n")).unwrap();
    let initiator = dir.join("initiator.toml");
    std::fs::write(
        &initiator,
        "[[peer]]\nap_title = \"1.3.9999.77\"\nmechanism = \"password\"\npassword_env = \"GULS_T_WRONG\"\n\n[[peer]]\naddresses = [\"127.0.0.1\"]\nmechanism = \"password\"\npassword_file = \"pw.pass\"\n",
    )
    .unwrap();
    let audit = dir.join("audit.jsonl");
    let server = Server::start_with(
        &[
            "--policy",
            responder.to_str().unwrap(),
            "--audit",
            audit.to_str().unwrap(),
        ],
        Some("trace"),
    );
    let envs = [
        ("GULS_T_PW", PW),
        ("GULS_T_WRONG", WRONG),
        ("RUST_LOG", "trace"),
    ];
    let pwfile = dir.join("pw.pass");
    let wrongfile = dir.join("wrong.pass");
    let mut outputs = Vec::new();
    for (args, status) in [
        (vec!["--password-env", "GULS_T_PW", "--send", "one"], 0),
        (vec!["--password-file", pwfile.to_str().unwrap()], 0),
        (
            vec!["--policy", initiator.to_str().unwrap(), "--send", "two"],
            0,
        ),
        (vec!["--password-env", "GULS_T_WRONG"], 3),
        (vec!["--password-file", wrongfile.to_str().unwrap()], 3),
        (
            vec![
                "--policy",
                initiator.to_str().unwrap(),
                "--called-ap-title",
                "1.3.9999.77",
            ],
            3,
        ),
    ] {
        let mut a = vec!["connect", server.addr.as_str()];
        a.extend(args.iter().copied());
        let out = run_io(&a, b"", &envs);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(status), "{args:?}: {all}");
        assert!(
            all.contains("TRACE") || all.contains("DEBUG"),
            "traced: {all}"
        );
        outputs.push(all);
    }
    // Bad input: an unset variable and a policy whose password file is missing.
    let out = run_io(
        &["connect", &server.addr, "--password-env", "GULS_T_UNSET"],
        b"",
        &envs,
    );
    assert_eq!(out.status.code(), Some(2));
    outputs.push(format!("{}{}", text(&out.stdout), text(&out.stderr)));

    let records = wait_lines(&audit, 3 * 5 + 3 * 4);
    let server_log = server.kill();
    assert!(server_log.contains("TRACE") || server_log.contains("DEBUG"));
    assert!(records.contains(r#""identity":"sentinel""#), "{records}");
    assert_eq!(
        records.matches("authentication_failed").count(),
        3,
        "{records}"
    );
    outputs.push(server_log);
    outputs.push(records);
    outputs.push(text(
        &run(&["audit", "show", audit.to_str().unwrap()]).stdout,
    ));
    outputs.push(text(
        &run(&["policy", "check", responder.to_str().unwrap()]).stdout,
    ));
    outputs.push(text(
        &run(&["policy", "check", initiator.to_str().unwrap()]).stdout,
    ));

    let needles: Vec<String> = [PW, WRONG]
        .iter()
        .flat_map(|p| {
            let h: String = p.bytes().map(|b| format!("{b:02x}")).collect();
            let spaced: String = p.bytes().map(|b| format!("{b:02x} ")).collect();
            [
                p.to_string(),
                h.clone(),
                h.to_uppercase(),
                spaced.trim().to_string(),
                // Any 8-octet window of the password in hex (a truncated dump).
                h[..16].to_string(),
            ]
        })
        .collect();
    for text in &outputs {
        for n in &needles {
            assert!(
                !text.contains(n.as_str()),
                "secret {n:?} leaked in:\n{text}"
            );
        }
    }
}
