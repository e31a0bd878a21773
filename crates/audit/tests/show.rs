//! show: the table and its filters.

use guls_audit::{AuditEvent, AuditSink, AuthDiagnostic, Decision, ShowFilter, Side, show};

/// Three associations: 1 from 10.0.0.1 succeeds, 2 from 10.0.0.2 fails authentication,
/// 3 from 10.0.0.1 is aborted by the provider.
fn log() -> String {
    let sink = AuditSink::memory();
    let req = |peer: &str| {
        AuditEvent::association_requested(
            peer,
            Some("1.1.999.1"),
            None,
            Some("1.1.999.2"),
            None,
            "1.0.9506.2.3",
            Some("2.2.3.1"),
        )
    };
    sink.record(1, &req("10.0.0.1:40001")).unwrap();
    sink.record(2, &req("10.0.0.2:40002")).unwrap();
    sink.record(1, &AuditEvent::policy_decision("default", Decision::Accept))
        .unwrap();
    sink.record(
        1,
        &AuditEvent::authentication_succeeded(Some("CN=ied1"), "2.2.3.1"),
    )
    .unwrap();
    sink.record(
        2,
        &AuditEvent::authentication_failed("password mismatch", AuthDiagnostic::Failure),
    )
    .unwrap();
    sink.record(
        2,
        &AuditEvent::association_rejected(
            "rejected-permanent",
            "acse-service-user",
            Some((13, "authentication-failure")),
        ),
    )
    .unwrap();
    sink.record(1, &AuditEvent::association_accepted(["1.0.9506.2.1"]))
        .unwrap();
    sink.record(3, &req("10.0.0.1:40003")).unwrap();
    sink.record(1, &AuditEvent::association_released(Side::Local))
        .unwrap();
    sink.record(
        3,
        &AuditEvent::association_aborted("provider", "idle timeout", Some("local")),
    )
    .unwrap();
    sink.memory_contents().unwrap()
}

fn seqs(table: &str) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with("records shown"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn unfiltered_table() {
    let t = show(log().as_bytes(), &ShowFilter::default()).unwrap();
    let mut lines = t.lines();
    let header = lines.next().unwrap();
    for col in [
        "SEQ",
        "TIME",
        "ASSOC",
        "EVENT",
        "PEER/IDENTITY",
        "OUTCOME/DETAILS",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert_eq!(seqs(&t), (1..=10).collect::<Vec<_>>());
    assert!(
        t.contains("FAILED: authentication-failure (13): password mismatch"),
        "{t}"
    );
    assert!(
        t.contains("REJECTED rejected-permanent by acse-service-user"),
        "{t}"
    );
    assert!(
        t.contains("ABORTED by provider [local]: idle timeout"),
        "{t}"
    );
    assert!(t.contains("CN=ied1"), "{t}");
    assert!(t.ends_with("10 of 10 records shown\n"), "{t}");
    // Columns line up: the TIME column starts at the same offset on every row.
    let offsets: Vec<usize> = t
        .lines()
        .skip(1)
        .take(10)
        .map(|l| l.find("T").unwrap())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] == w[1]), "{t}");
}

#[test]
fn filter_by_peer() {
    let by_host = ShowFilter {
        peer: Some("10.0.0.1".into()),
        outcome_failed: false,
    };
    let t = show(log().as_bytes(), &by_host).unwrap();
    assert_eq!(seqs(&t), vec![1, 3, 4, 7, 8, 9, 10]);

    let by_addr = ShowFilter {
        peer: Some("10.0.0.2:40002".into()),
        outcome_failed: false,
    };
    assert_eq!(
        seqs(&show(log().as_bytes(), &by_addr).unwrap()),
        vec![2, 5, 6]
    );

    let by_identity = ShowFilter {
        peer: Some("CN=ied1".into()),
        outcome_failed: false,
    };
    assert_eq!(
        seqs(&show(log().as_bytes(), &by_identity).unwrap()),
        vec![1, 3, 4, 7, 9]
    );

    let nobody = ShowFilter {
        peer: Some("10.0.0".into()),
        outcome_failed: false,
    };
    let t = show(log().as_bytes(), &nobody).unwrap();
    assert!(seqs(&t).is_empty());
    assert!(t.ends_with("0 of 10 records shown\n"));
}

#[test]
fn filter_by_failed_outcome() {
    let failed = ShowFilter {
        peer: None,
        outcome_failed: true,
    };
    // Associations 2 (authentication failed, rejected) and 3 (aborted), all their records.
    assert_eq!(
        seqs(&show(log().as_bytes(), &failed).unwrap()),
        vec![2, 5, 6, 8, 10]
    );
    let both = ShowFilter {
        peer: Some("10.0.0.1".into()),
        outcome_failed: true,
    };
    assert_eq!(seqs(&show(log().as_bytes(), &both).unwrap()), vec![8, 10]);
}

#[test]
fn policy_reject_counts_as_failed() {
    let sink = AuditSink::memory();
    sink.record(
        5,
        &AuditEvent::policy_decision("deny-all", Decision::Reject),
    )
    .unwrap();
    sink.record(6, &AuditEvent::policy_decision("allow", Decision::Accept))
        .unwrap();
    let failed = ShowFilter {
        peer: None,
        outcome_failed: true,
    };
    assert_eq!(
        seqs(&show(sink.memory_contents().unwrap().as_bytes(), &failed).unwrap()),
        vec![1]
    );
}

#[test]
fn malformed_lines_and_control_characters() {
    let sink = AuditSink::memory();
    sink.record(
        1,
        &AuditEvent::association_aborted("provider", "evil\u{1b}[2J", None),
    )
    .unwrap();
    let text = format!("{}garbage\n", sink.memory_contents().unwrap());
    let t = show(text.as_bytes(), &ShowFilter::default()).unwrap();
    assert!(!t.contains('\u{1b}'));
    assert!(t.contains("evil\\u{1b}[2J"), "{t}");
    assert!(t.contains("malformed"), "{t}");
    assert!(t.contains("(line 2)"), "{t}");
}

#[test]
fn security_exchange_events_render_and_verify() {
    let sink = AuditSink::memory();
    let item = b"\x04\x05hello";
    let events = [
        AuditEvent::se_transfer(
            guls_audit::Direction::Sent,
            "2.20.4.2",
            1,
            None,
            true,
            false,
            item,
        ),
        AuditEvent::se_transfer(
            guls_audit::Direction::Received,
            "2.20.4.2",
            2,
            Some(4),
            false,
            true,
            b"\x05\x00",
        ),
        AuditEvent::exchange_completed("2.20.4.2", Some("CN=ied1"), Some("00112233aabbccdd")),
        AuditEvent::se_u_abort(
            guls_audit::Direction::Received,
            Some("local:9"),
            Some(3),
            Some(1),
            ["local:1", "2.20.4.2.1"],
        ),
        AuditEvent::se_p_abort(
            guls_audit::Direction::Sent,
            None,
            Some(1),
            "transfer.mistypedItem",
        ),
        AuditEvent::exchange_failed("local:9", "se-p-abort sent", Some("transfer.mistypedItem")),
    ];
    for (i, e) in events.iter().enumerate() {
        sink.record(if i < 3 { 1 } else { 2 }, e).unwrap();
    }
    let log = sink.memory_contents().unwrap();
    assert!(!log.contains("hello"), "{log}");
    let summary = guls_audit::verify(log.as_bytes()).unwrap();
    assert_eq!(summary.records, 6);

    let t = show(log.as_bytes(), &ShowFilter::default()).unwrap();
    assert!(!t.contains("hello"), "{t}");
    assert!(
        t.contains(
            "sent item 1 of 2.20.4.2 [start], 7 octets sha256 \
             cbf9059bc33ef5b5f6fadfbcdd99fa4b7c35ae6f8819c1d5d20a7dd136d6068f"
        ),
        "{t}"
    );
    assert!(
        t.contains("received item 2 of 2.20.4.2 invocation 4 [end], 2 octets sha256 "),
        "{t}"
    );
    assert!(
        t.contains("exchange 2.20.4.2 completed, identity CN=ied1, key id 00112233aabbccdd"),
        "{t}"
    );
    assert!(
        t.contains(
            "received SE-U-ABORT of local:9 invocation 3 item 1: errors local:1, 2.20.4.2.1"
        ),
        "{t}"
    );
    assert!(
        t.contains("sent SE-P-ABORT transfer.mistypedItem item 1"),
        "{t}"
    );
    assert!(
        t.contains("EXCHANGE FAILED local:9 [transfer.mistypedItem]: se-p-abort sent"),
        "{t}"
    );
    // A failed exchange makes its association a failed one.
    let failed = ShowFilter {
        peer: None,
        outcome_failed: true,
    };
    assert_eq!(seqs(&show(log.as_bytes(), &failed).unwrap()), vec![4, 5, 6]);
}
