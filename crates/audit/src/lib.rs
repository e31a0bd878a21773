//! guls-audit: the audit trail of guls.
//!
//! * [`AuditEvent`]: typed, serde-serialisable audit events (plain strings and numbers, no
//!   protocol types, **never a secret**: see below).
//! * [`emit`]: each event as a structured `tracing` event at INFO under target
//!   [`TARGET`] (`guls::audit`).
//! * [`AuditSink`]: a thread-safe JSON-lines writer whose every line carries the SHA-256 of
//!   the line before it (a hash chain), to a file, any writer, or memory.
//! * [`verify`]: checks a log and says at which line and how it was changed.
//! * [`show`]: a table of a log for people, filtered by peer and outcome.
//!
//! # Line format
//!
//! Each record is one line of compact JSON, the keys in this order, ended by `\n`:
//!
//! ```text
//! {"seq":1,"ts":"2024-02-29T13:45:09.042Z","assoc":7,"event":{"kind":"association_released","initiated_by":"peer"},"prev":"0000000000000000000000000000000000000000000000000000000000000000"}
//! ```
//!
//! * `seq`: 1 for the first line of a log, one more on each line;
//! * `ts`: the time of writing, RFC 3339 in UTC with milliseconds ([`rfc3339_millis`]);
//! * `assoc`: the association identifier the caller gave;
//! * `event`: the [`AuditEvent`], tagged by `kind`;
//! * `prev`: lower-case hex SHA-256 of the exact bytes of the previous line without its
//!   newline; on the first line, [`GENESIS_PREV`] (64 zeros). No header line is written.
//!
//! See [`verify`] for what the chain detects and what it cannot.
//!
//! JSON escaping keeps every record on one line whatever its strings hold (a newline in a
//! reason is written `\n`), so a caller's text cannot forge a record.
//!
//! # No secrets
//!
//! An audit record is read by operators and kept for a long time: **it must never contain a
//! secret** (a password, an authentication value, a key, a private certificate field). The
//! schema has no field that could hold one, and the variants of [`AuditEvent`] are
//! `#[non_exhaustive]`, so outside this crate an event can only be built through its
//! constructors, which take names, addresses, identifiers, numbers and reasons only. Callers
//! must not put secret material in the free-text arguments either (`reason`, `rule`,
//! `identity`): name what failed, never the value that was compared. Security exchange items
//! (SE-TRANSFER) are recorded by length and SHA-256 only (by length only when the item
//! carries a password in the clear), error parameters not at all. A test serialises every
//! variant and checks that no field name looks like a secret's.

#![forbid(unsafe_code)]

mod event;
mod show;
mod sink;
mod time;
mod verify;

pub use event::{
    AuditEvent, AuthDiagnostic, DIGEST_WITHHELD, Decision, Direction, EVENT_KINDS, Side,
};
pub use show::{ShowFilter, show};
pub use sink::{AuditSink, GENESIS_PREV};
pub use time::{TIMESTAMP_LEN, is_rfc3339_millis, rfc3339_millis};
pub use verify::{VerifyError, VerifyErrorKind, VerifySummary, verify};

/// The `tracing` target of audit events.
pub const TARGET: &str = "guls::audit";

/// Emits `event` of association `association_id` as a `tracing` event at INFO under target
/// [`TARGET`], with `assoc`, `kind` and each of the event's fields as structured fields.
/// [`AuditSink::record`] calls it; call it directly to trace without a sink.
pub fn emit(association_id: u64, event: &AuditEvent) {
    let assoc = association_id;
    let kind = event.kind();
    match event {
        AuditEvent::AssociationRequested {
            peer,
            calling_ap_title,
            calling_ae_qualifier,
            called_ap_title,
            called_ae_qualifier,
            application_context,
            mechanism,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            peer = peer.as_str(),
            calling_ap_title = calling_ap_title.as_deref(),
            calling_ae_qualifier = calling_ae_qualifier.as_deref(),
            called_ap_title = called_ap_title.as_deref(),
            called_ae_qualifier = called_ae_qualifier.as_deref(),
            application_context = application_context.as_str(),
            mechanism = mechanism.as_deref(),
            "association requested"
        ),
        AuditEvent::PolicyDecision { rule, decision } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            rule = rule.as_str(),
            decision = decision.name(),
            "policy decision"
        ),
        AuditEvent::AuthenticationSucceeded {
            identity,
            mechanism,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            identity = identity.as_deref(),
            mechanism = mechanism.as_str(),
            "authentication succeeded"
        ),
        AuditEvent::AuthenticationFailed {
            reason,
            diagnostic,
            diagnostic_name,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            reason = reason.as_str(),
            diagnostic = *diagnostic,
            diagnostic_name = diagnostic_name.as_str(),
            "authentication failed"
        ),
        AuditEvent::AssociationAccepted { contexts } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            contexts = contexts.join(",").as_str(),
            "association accepted"
        ),
        AuditEvent::AssociationRejected {
            result,
            source,
            diagnostic,
            diagnostic_name,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            result = result.as_str(),
            source = source.as_str(),
            diagnostic = *diagnostic,
            diagnostic_name = diagnostic_name.as_deref(),
            "association rejected"
        ),
        AuditEvent::AssociationReleased { initiated_by } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            initiated_by = initiated_by.name(),
            "association released"
        ),
        AuditEvent::AssociationAborted {
            source,
            reason,
            layer,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            source = source.as_str(),
            reason = reason.as_str(),
            layer = layer.as_deref(),
            "association aborted"
        ),
        AuditEvent::SeTransfer {
            direction,
            exchange,
            item,
            invocation,
            start,
            end,
            item_length,
            item_sha256,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            direction = direction.name(),
            exchange = exchange.as_str(),
            item = *item,
            invocation = *invocation,
            start = *start,
            end = *end,
            item_length = *item_length,
            item_sha256 = item_sha256.as_str(),
            "security exchange item"
        ),
        AuditEvent::SeUAbort {
            direction,
            exchange,
            invocation,
            item,
            error_codes,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            direction = direction.name(),
            exchange = exchange.as_deref(),
            invocation = *invocation,
            item = *item,
            error_codes = error_codes.join(",").as_str(),
            "security exchange user abort"
        ),
        AuditEvent::SePAbort {
            direction,
            invocation,
            item,
            problem,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            direction = direction.name(),
            invocation = *invocation,
            item = *item,
            problem = problem.as_str(),
            "security exchange provider abort"
        ),
        AuditEvent::ExchangeCompleted {
            exchange,
            identity,
            key_id,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            exchange = exchange.as_str(),
            identity = identity.as_deref(),
            key_id = key_id.as_deref(),
            "security exchange completed"
        ),
        AuditEvent::ExchangeFailed {
            exchange,
            reason,
            problem,
        } => tracing::info!(
            target: TARGET,
            assoc,
            kind,
            exchange = exchange.as_str(),
            reason = reason.as_str(),
            problem = problem.as_deref(),
            "security exchange failed"
        ),
    }
}
