//! Helpers shared by the integration tests.
#![allow(dead_code)]

use guls_audit::{AuditEvent, AuditSink, AuthDiagnostic, Decision, Side};

/// A realistic log of `n` records over a few associations, as lines without newlines.
pub fn sample_lines(n: usize) -> Vec<String> {
    let sink = AuditSink::memory();
    for i in 0..n {
        sink.record(i as u64 / 4 + 1, &sample_event(i)).unwrap();
    }
    let text = sink.memory_contents().unwrap();
    assert!(text.ends_with('\n'));
    text.lines().map(str::to_owned).collect()
}

/// The `i`-th event of a cycle through all kinds.
pub fn sample_event(i: usize) -> AuditEvent {
    match i % 8 {
        0 => AuditEvent::association_requested(
            format!("10.0.0.{}:{}", i % 3, 40000 + i),
            Some("1.1.999.1"),
            Some("12"),
            Some("1.1.999.2"),
            None,
            "1.0.9506.2.3",
            Some("2.2.3.1 (password)"),
        ),
        1 => AuditEvent::policy_decision("policies/default.toml:12", Decision::Accept),
        2 => AuditEvent::authentication_succeeded(Some("CN=ied1,O=demo"), "2.2.3.1"),
        3 => AuditEvent::association_accepted(["1.0.9506.2.1", "2.1.1"]),
        4 => AuditEvent::association_released(Side::Peer),
        5 => AuditEvent::authentication_failed("password does not match", AuthDiagnostic::Failure),
        6 => AuditEvent::association_rejected(
            "rejected-permanent",
            "acse-service-user",
            Some((13, "authentication-failure")),
        ),
        _ => AuditEvent::association_aborted("provider", "idle timeout", Some("local")),
    }
}

/// Joins lines into a log text (each line ended by a newline).
pub fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A fresh path in the temporary directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "guls-audit-test-{}-{name}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}
