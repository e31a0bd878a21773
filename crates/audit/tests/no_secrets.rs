//! No audit event has a field that could be named for a secret.

use std::collections::BTreeSet;

use guls_audit::{AuditEvent, AuthDiagnostic, Decision, Direction, EVENT_KINDS, Side};
use serde_json::Value;

/// One event of every kind, with every optional field present.
fn every_variant() -> Vec<AuditEvent> {
    vec![
        AuditEvent::association_requested(
            "h:1",
            Some("1.2"),
            Some("3"),
            Some("1.3"),
            Some("4"),
            "1.0.9506.2.3",
            Some("2.2.3.1"),
        ),
        AuditEvent::policy_decision("r", Decision::Reject),
        AuditEvent::authentication_succeeded(Some("CN=x"), "m"),
        AuditEvent::authentication_failed("r", AuthDiagnostic::Required),
        AuditEvent::association_accepted(["1.0"]),
        AuditEvent::association_rejected(
            "rejected-transient",
            "acse-service-provider",
            Some((1, "no-reason-given")),
        ),
        AuditEvent::association_released(Side::Local),
        AuditEvent::association_aborted("acse-service-user", "no-reason-given", Some("acse")),
        AuditEvent::se_transfer(
            Direction::Received,
            "2.20.4.2",
            1,
            Some(7),
            true,
            false,
            b"\x04\x03abc",
        ),
        AuditEvent::se_u_abort(
            Direction::Sent,
            Some("2.20.4.2"),
            Some(7),
            Some(1),
            ["2.20.4.2.1", "local:3"],
        ),
        AuditEvent::se_p_abort(
            Direction::Received,
            Some(7),
            Some(1),
            "transfer.mistypedItem",
        ),
        AuditEvent::exchange_completed("2.20.4.2", Some("CN=x"), Some("0011223344556677")),
        AuditEvent::exchange_failed(
            "2.20.4.2",
            "se-p-abort received",
            Some("transfer.mistypedItem"),
        ),
    ]
}

fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn every_kind_is_covered() {
    let kinds: BTreeSet<&str> = every_variant().iter().map(AuditEvent::kind).collect();
    let all: BTreeSet<&str> = EVENT_KINDS.iter().copied().collect();
    assert_eq!(kinds, all);
}

#[test]
fn se_transfer_records_no_item_content() {
    let item = b"\x04\x0ethe-item-bytes";
    let e = AuditEvent::se_transfer(Direction::Sent, "local:1", 1, None, true, true, item);
    let line = serde_json::to_string(&e).unwrap();
    assert!(!line.contains("the-item-bytes"), "{line}");
    let hex: String = item.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!line.contains(&hex), "{line}");
    assert!(line.contains("\"item_length\":16"), "{line}");
}

#[test]
fn no_field_is_named_for_a_secret() {
    const FORBIDDEN: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "private",
        "credential",
        "key",
        "token",
        "nonce",
        "value",
    ];
    // Fields whose name contains a forbidden word but that hold no secret, each on purpose:
    // `key_id` names derived keys by a public digest (of the key agreement's transcript hash)
    // so that both sides' records can be matched; it holds nothing a key can be computed from.
    const ALLOWED: &[&str] = &["key_id"];
    let mut all = BTreeSet::new();
    for e in every_variant() {
        keys(&serde_json::to_value(&e).unwrap(), &mut all);
    }
    for k in all.iter().filter(|k| !ALLOWED.contains(&k.as_str())) {
        let lower = k.to_lowercase();
        for f in FORBIDDEN {
            assert!(
                !lower.contains(f),
                "event field {k:?} looks like a secret ({f})"
            );
        }
    }
    // The schema as it stands (a new field must be added here on purpose).
    let expected: BTreeSet<String> = [
        "kind",
        "peer",
        "calling_ap_title",
        "calling_ae_qualifier",
        "called_ap_title",
        "called_ae_qualifier",
        "application_context",
        "mechanism",
        "rule",
        "decision",
        "identity",
        "reason",
        "diagnostic",
        "diagnostic_name",
        "contexts",
        "result",
        "source",
        "initiated_by",
        "layer",
        // Security exchanges (SESE): items by length and digest only, errors by code only.
        "direction",
        "exchange",
        "item",
        "invocation",
        "start",
        "end",
        "item_length",
        "item_sha256",
        "error_codes",
        "problem",
        // The id (never the value) of keys an exchange derived.
        "key_id",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(all, expected);
}
