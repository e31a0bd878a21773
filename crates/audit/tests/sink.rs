//! The sink: files, append, memory, threads.

mod common;

use std::sync::Arc;

use common::{sample_event, temp_path};
use guls_audit::{AuditSink, GENESIS_PREV, verify};

#[test]
fn create_then_append_continues_the_chain() {
    let path = temp_path("append");
    {
        let sink = AuditSink::create(&path).unwrap();
        for i in 0..5 {
            sink.record(1, &sample_event(i)).unwrap();
        }
        assert_eq!(sink.last_seq(), 5);
    }
    let head = {
        let sink = AuditSink::open_append(&path).unwrap();
        assert_eq!(sink.last_seq(), 5);
        for i in 5..9 {
            sink.record(2, &sample_event(i)).unwrap();
        }
        sink.head_hash()
    };
    let s = verify(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
    assert_eq!((s.records, s.first_seq, s.last_seq), (9, Some(1), Some(9)));
    assert_eq!(s.associations, 2);
    assert_eq!(s.head_hash, head);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn create_refuses_an_existing_file() {
    let path = temp_path("exists");
    std::fs::write(&path, "").unwrap();
    assert!(AuditSink::create(&path).is_err());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn open_append_creates_a_missing_file() {
    let path = temp_path("missing");
    let sink = AuditSink::open_append(&path).unwrap();
    assert_eq!(sink.last_seq(), 0);
    assert_eq!(sink.head_hash(), GENESIS_PREV);
    sink.record(3, &sample_event(0)).unwrap();
    drop(sink);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(verify(text.as_bytes()).unwrap().records, 1);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn open_append_refuses_a_tampered_or_truncated_log() {
    let path = temp_path("tampered");
    {
        let sink = AuditSink::create(&path).unwrap();
        for i in 0..4 {
            sink.record(1, &sample_event(i)).unwrap();
        }
    }
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"assoc\":1,", "\"assoc\":7,")).unwrap();
    let e = AuditSink::open_append(&path).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("line 1"), "{e}");

    std::fs::write(&path, &text[..text.len() - 5]).unwrap();
    let e = AuditSink::open_append(&path).unwrap_err();
    assert!(e.to_string().contains("line 4"), "{e}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn memory_and_writer_sinks() {
    let sink = AuditSink::memory();
    sink.record(1, &sample_event(0)).unwrap();
    let text = sink.memory_contents().unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with("{\"seq\":1,\"ts\":\""));
    assert!(format!("{sink:?}").contains("memory"));

    let file_sink = AuditSink::from_writer(std::io::sink());
    file_sink.record(1, &sample_event(0)).unwrap();
    assert_eq!(file_sink.memory_contents(), None);
    assert_eq!(file_sink.last_seq(), 1);
}

#[test]
fn concurrent_records_form_one_chain() {
    const THREADS: usize = 8;
    const EACH: usize = 200;
    let path = temp_path("threads");
    let sink = Arc::new(AuditSink::create(&path).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                for i in 0..EACH {
                    sink.record(t as u64, &sample_event(i)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = verify(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
    assert_eq!(s.records, THREADS * EACH);
    assert_eq!(s.first_seq, Some(1));
    assert_eq!(s.last_seq, Some((THREADS * EACH) as u64));
    assert_eq!(s.associations, THREADS);
    assert_eq!(s.head_hash, sink.head_hash());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn newlines_in_strings_cannot_split_a_record() {
    let sink = AuditSink::memory();
    let ev =
        guls_audit::AuditEvent::association_aborted("provider", "line one\n{\"seq\":2}\r\n", None);
    sink.record(1, &ev).unwrap();
    let text = sink.memory_contents().unwrap();
    assert_eq!(text.lines().count(), 1);
    assert_eq!(verify(text.as_bytes()).unwrap().records, 1);
}
