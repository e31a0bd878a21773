//! emit: a structured tracing event under target guls::audit at INFO.

use std::sync::{Arc, Mutex};

use guls_audit::{AuditEvent, AuditSink, AuthDiagnostic, TARGET, emit};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Debug, Clone)]
struct Seen {
    target: String,
    level: Level,
    fields: Vec<(String, String)>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        self.0.lock().unwrap().push(Seen {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields: f.0,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn field<'a>(s: &'a Seen, name: &str) -> Option<&'a str> {
    s.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn emit_and_record_trace_structured_fields() {
    let cap = Capture::default();
    tracing::subscriber::with_default(cap.clone(), || {
        emit(
            7,
            &AuditEvent::association_requested(
                "10.0.0.1:102",
                Some("1.1.999.1"),
                None,
                None,
                None,
                "1.0.9506.2.3",
                None,
            ),
        );
        AuditSink::memory()
            .record(
                8,
                &AuditEvent::authentication_failed("bad", AuthDiagnostic::Failure),
            )
            .unwrap();
    });
    let seen = cap.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.target, TARGET);
        assert_eq!(s.target, "guls::audit");
        assert_eq!(s.level, Level::INFO);
    }
    let a = &seen[0];
    assert_eq!(field(a, "assoc"), Some("7"));
    assert_eq!(field(a, "kind"), Some("association_requested"));
    assert_eq!(field(a, "peer"), Some("10.0.0.1:102"));
    assert_eq!(field(a, "calling_ap_title"), Some("1.1.999.1"));
    assert_eq!(
        field(a, "called_ap_title"),
        None,
        "absent options are not recorded"
    );
    assert_eq!(field(a, "application_context"), Some("1.0.9506.2.3"));
    let b = &seen[1];
    assert_eq!(field(b, "assoc"), Some("8"));
    assert_eq!(field(b, "kind"), Some("authentication_failed"));
    assert_eq!(field(b, "diagnostic"), Some("13"));
    assert_eq!(field(b, "diagnostic_name"), Some("authentication-failure"));
    assert_eq!(field(b, "reason"), Some("bad"));
}
