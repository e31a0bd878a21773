//! A table of an audit log for people.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};

use serde_json::{Map, Value};

/// Which records [`show`] keeps. The default keeps all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowFilter {
    /// Keep only the records of associations with this peer: the `peer` address of the
    /// association's `association_requested` record, matched exactly or by its host without
    /// the port (`10.0.0.7` matches `10.0.0.7:50123`, `::1` matches `[::1]:102`), or the
    /// `identity` of one of its `authentication_succeeded` records.
    pub peer: Option<String>,
    /// Keep only the records of associations that failed: those with at least one
    /// `authentication_failed`, `association_rejected`, `association_aborted`,
    /// `exchange_failed`, or `policy_decision` with decision `reject` record in the log. All records of such an
    /// association are kept (so the request and the policy decisions before the failure show
    /// too).
    pub outcome_failed: bool,
}

/// One parsed line.
struct Row {
    seq: String,
    ts: String,
    assoc: Option<u64>,
    kind: String,
    event: Map<String, Value>,
}

/// What is known of one association over the whole log.
#[derive(Default)]
struct Assoc {
    peer: Option<String>,
    identities: Vec<String>,
    failed: bool,
}

fn s<'a>(e: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    e.get(k).and_then(Value::as_str)
}

fn or_dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

/// Escapes control characters, so that a log cannot drive the terminal.
fn clean(t: &str) -> String {
    t.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A number field, or `-` when absent or null.
fn num(e: &Map<String, Value>, k: &str) -> String {
    match e.get(k) {
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".into(),
    }
}

/// ` invocation N`, or nothing for `noInvocationId`.
fn invocation(e: &Map<String, Value>) -> String {
    match e.get("invocation") {
        Some(Value::Number(n)) => format!(" invocation {n}"),
        _ => String::new(),
    }
}

fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        // One colon: host:port. More: a bare IPv6 address.
        Some((h, _)) if !h.contains(':') => h,
        _ => addr,
    }
}

fn is_failure(kind: &str, e: &Map<String, Value>) -> bool {
    matches!(
        kind,
        "authentication_failed"
            | "association_rejected"
            | "association_aborted"
            | "exchange_failed"
    ) || (kind == "policy_decision" && s(e, "decision") == Some("reject"))
}

fn details(kind: &str, e: &Map<String, Value>) -> String {
    match kind {
        "association_requested" => format!(
            "context {} mechanism {} calling {}/{} called {}/{}",
            or_dash(s(e, "application_context")),
            s(e, "mechanism").unwrap_or("none"),
            or_dash(s(e, "calling_ap_title")),
            or_dash(s(e, "calling_ae_qualifier")),
            or_dash(s(e, "called_ap_title")),
            or_dash(s(e, "called_ae_qualifier")),
        ),
        "policy_decision" => format!(
            "{} (rule {})",
            or_dash(s(e, "decision")),
            or_dash(s(e, "rule"))
        ),
        "authentication_succeeded" => format!("ok, mechanism {}", or_dash(s(e, "mechanism"))),
        "authentication_failed" => format!(
            "FAILED: {} ({}): {}",
            or_dash(s(e, "diagnostic_name")),
            e.get("diagnostic").map_or("-".into(), Value::to_string),
            or_dash(s(e, "reason")),
        ),
        "association_accepted" => {
            let ctx: Vec<&str> = e
                .get("contexts")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("accepted, contexts {}", ctx.join(", "))
        }
        "association_rejected" => {
            let diag = match (s(e, "diagnostic_name"), e.get("diagnostic")) {
                (Some(n), Some(v)) if !v.is_null() => format!("{n} ({v})"),
                _ => "no diagnostic".into(),
            };
            format!(
                "REJECTED {} by {}: {diag}",
                or_dash(s(e, "result")),
                or_dash(s(e, "source"))
            )
        }
        "association_released" => format!("released by {}", or_dash(s(e, "initiated_by"))),
        "association_aborted" => {
            let layer = s(e, "layer").map(|l| format!(" [{l}]")).unwrap_or_default();
            format!(
                "ABORTED by {}{layer}: {}",
                or_dash(s(e, "source")),
                or_dash(s(e, "reason"))
            )
        }
        "se_transfer" => {
            let flags: Vec<&str> = [("start", "start"), ("end", "end")]
                .into_iter()
                .filter(|(k, _)| e.get(*k).and_then(Value::as_bool) == Some(true))
                .map(|(_, n)| n)
                .collect();
            format!(
                "{} item {} of {}{}{}, {} octets sha256 {}",
                or_dash(s(e, "direction")),
                num(e, "item"),
                or_dash(s(e, "exchange")),
                invocation(e),
                if flags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", flags.join(","))
                },
                num(e, "item_length"),
                or_dash(s(e, "item_sha256")),
            )
        }
        "se_u_abort" => {
            let codes: Vec<&str> = e
                .get("error_codes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "{} SE-U-ABORT of {}{} item {}: errors {}",
                or_dash(s(e, "direction")),
                or_dash(s(e, "exchange")),
                invocation(e),
                num(e, "item"),
                if codes.is_empty() {
                    "none".to_owned()
                } else {
                    codes.join(", ")
                },
            )
        }
        "se_p_abort" => format!(
            "{} SE-P-ABORT {}{} item {}",
            or_dash(s(e, "direction")),
            or_dash(s(e, "problem")),
            invocation(e),
            num(e, "item"),
        ),
        "exchange_completed" => format!(
            "exchange {} completed, identity {}{}",
            or_dash(s(e, "exchange")),
            s(e, "identity").unwrap_or("(none)"),
            s(e, "key_id")
                .map(|k| format!(", key id {k}"))
                .unwrap_or_default(),
        ),
        "exchange_failed" => {
            let problem = s(e, "problem")
                .map(|p| format!(" [{p}]"))
                .unwrap_or_default();
            format!(
                "EXCHANGE FAILED {}{problem}: {}",
                or_dash(s(e, "exchange")),
                or_dash(s(e, "reason"))
            )
        }
        _ => {
            let mut rest = e.clone();
            rest.remove("kind");
            Value::Object(rest).to_string()
        }
    }
}

/// Renders the log read from `reader` as a table (seq, time, association, event kind,
/// peer or identity, outcome and details), keeping the records `filter` selects, followed by
/// a count. It does not verify the log (use [`crate::verify`]); a line that is not a record
/// is shown as `malformed` whatever the filter.
pub fn show<R: BufRead>(reader: R, filter: &ShowFilter) -> io::Result<String> {
    let mut rows = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        let parsed: Option<Map<String, Value>> = serde_json::from_str(&line).ok();
        let row = parsed.and_then(|m| {
            let event = m.get("event")?.as_object()?.clone();
            Some(Row {
                seq: m.get("seq")?.as_u64()?.to_string(),
                ts: m.get("ts")?.as_str()?.to_owned(),
                assoc: Some(m.get("assoc")?.as_u64()?),
                kind: s(&event, "kind")?.to_owned(),
                event,
            })
        });
        rows.push(row.unwrap_or_else(|| Row {
            seq: "?".into(),
            ts: format!("(line {})", n + 1),
            assoc: None,
            kind: "malformed".into(),
            event: Map::new(),
        }));
    }

    let mut assocs: HashMap<u64, Assoc> = HashMap::new();
    for r in &rows {
        let Some(id) = r.assoc else { continue };
        let a = assocs.entry(id).or_default();
        match r.kind.as_str() {
            "association_requested" => a.peer = s(&r.event, "peer").map(str::to_owned),
            "authentication_succeeded" => {
                if let Some(i) = s(&r.event, "identity") {
                    a.identities.push(i.to_owned());
                }
            }
            _ => {}
        }
        a.failed |= is_failure(&r.kind, &r.event);
    }
    let keep: HashSet<u64> = assocs
        .iter()
        .filter(|(_, a)| {
            let peer_ok = filter.peer.as_deref().is_none_or(|f| {
                a.peer.as_deref().is_some_and(|p| p == f || host_of(p) == f)
                    || a.identities.iter().any(|i| i == f)
            });
            peer_ok && (!filter.outcome_failed || a.failed)
        })
        .map(|(id, _)| *id)
        .collect();

    let header = [
        "SEQ",
        "TIME",
        "ASSOC",
        "EVENT",
        "PEER/IDENTITY",
        "OUTCOME/DETAILS",
    ];
    let mut table: Vec<[String; 6]> = vec![header.map(str::to_owned)];
    for r in &rows {
        if r.assoc.is_some_and(|id| !keep.contains(&id)) {
            continue;
        }
        let who = match (r.kind.as_str(), r.assoc) {
            ("authentication_succeeded", _) => s(&r.event, "identity")
                .unwrap_or("(no identity)")
                .to_owned(),
            (_, Some(id)) => assocs[&id].peer.clone().unwrap_or_else(|| "-".into()),
            (_, None) => "-".into(),
        };
        let detail = if r.assoc.is_none() {
            "not a record; run `guls audit verify`".into()
        } else {
            details(&r.kind, &r.event)
        };
        table.push([
            clean(&r.seq),
            clean(&r.ts),
            r.assoc.map_or("-".into(), |a| a.to_string()),
            clean(&r.kind),
            clean(&who),
            clean(&detail),
        ]);
    }

    let mut widths = [0usize; 6];
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &table {
        let mut line = String::new();
        for (k, (c, w)) in row.iter().zip(widths).enumerate() {
            if k + 1 == row.len() {
                line.push_str(c);
            } else {
                line.push_str(c);
                line.extend(std::iter::repeat_n(' ', w - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} of {} records shown\n",
        table.len() - 1,
        rows.len()
    ));
    Ok(out)
}
