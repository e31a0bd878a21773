//! `guls decode`: dissects TPKT streams, TSDUs and captures through every layer.
//!
//! Each *unit* is a CR/CC/DR/ER TPDU, or a TSDU reassembled from DT TPDUs, decoded through
//! COTP, session, presentation and ACSE into a JSON object (the `--format json` output); the
//! text format renders the same object as an indented tree, so both show the same facts.
//! Authentication values are only ever shown by kind and length.
//!
//! SESE APDUs carried in the ACSE authentication value, ACSE user-information or P-DATA of the
//! SESE presentation context are listed under the unit's `sese` key (see [`crate::layers`]);
//! their items by length only.

use std::collections::HashMap;

use guls_ber::{DecodeError, ErrorKind, Layer};
use serde_json::{Map, Value, json};

use crate::capture::{self, DirectedStream};
use crate::layers::{self, StreamContext};

/// The largest input `guls decode` reads.
pub const MAX_INPUT_OCTETS: usize = 256 * 1024 * 1024;

/// The largest TSDU reassembled from DT TPDUs before the unit is reported as oversized.
pub const MAX_TSDU_OCTETS: usize = 16 * 1024 * 1024;

/// What a non-capture input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeFrom {
    /// A stream of TPKTs.
    Tpkt,
    /// One TSDU (SPDUs without TPKT/COTP).
    Session,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An indented tree.
    Text,
    /// A JSON array with one object per unit.
    Json,
}

/// One dissected unit.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The unit as JSON: `cotp`, `session`, `presentation`, `acse` as present, plus `error`.
    pub value: Map<String, Value>,
    /// True when decoding failed somewhere in the unit.
    pub failed: bool,
}

impl Unit {
    /// An empty unit.
    pub fn new_unit() -> Self {
        Unit {
            value: Map::new(),
            failed: false,
        }
    }

    /// Records a decoding failure (the layers decoded so far stay in the unit).
    pub fn fail(&mut self, err: &DecodeError) {
        self.failed = true;
        self.value.insert("error".into(), error_json(err));
    }
}

/// The JSON form of an error: `{"layer", "offset", "message"}`.
pub fn error_json(err: &DecodeError) -> Value {
    json!({
        "layer": err.layer.name(),
        "offset": err.offset,
        "message": err.kind.to_string(),
    })
}

/// Everything `guls decode` found in one input.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The units in order.
    pub units: Vec<Unit>,
}

impl Report {
    /// True when any unit failed to decode.
    pub fn failed(&self) -> bool {
        self.units.iter().any(|u| u.failed)
    }

    /// The units as a JSON array.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.units
                .iter()
                .map(|u| Value::Object(u.value.clone()))
                .collect(),
        )
    }

    /// The report in the chosen format, ending with a newline.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => {
                let mut s = serde_json::to_string_pretty(&self.to_json())
                    .unwrap_or_else(|_| "[]".to_string());
                s.push('\n');
                s
            }
            OutputFormat::Text => {
                let mut out = String::new();
                for (i, unit) in self.units.iter().enumerate() {
                    out.push_str(&format!("unit {}", i + 1));
                    if let Some(Value::String(dir)) = unit.value.get("direction") {
                        out.push_str(&format!("  {dir}"));
                    }
                    out.push('\n');
                    for (key, value) in &unit.value {
                        if key == "direction" || key == "stream" {
                            continue;
                        }
                        if key == "error" {
                            out.push_str(&format!("  ERROR {}\n", text_error(value)));
                            continue;
                        }
                        render_text(&mut out, 1, key, value);
                    }
                }
                if self.units.is_empty() {
                    out.push_str("(no units)\n");
                }
                out
            }
        }
    }
}

fn text_error(v: &Value) -> String {
    format!(
        "in {} at offset {}: {}",
        v.get("layer").and_then(Value::as_str).unwrap_or("?"),
        v.get("offset").and_then(Value::as_u64).unwrap_or(0),
        v.get("message").and_then(Value::as_str).unwrap_or("?"),
    )
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("-".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => Some(format!(
            "[{}]",
            a.iter().filter_map(scalar).collect::<Vec<_>>().join(", ")
        )),
        _ => None,
    }
}

fn render_text(out: &mut String, depth: usize, key: &str, value: &Value) {
    let pad = "  ".repeat(depth);
    if let Some(s) = scalar(value) {
        out.push_str(&format!("{pad}{key}: {s}\n"));
        return;
    }
    match value {
        Value::Object(map) => {
            match map.get("type").and_then(Value::as_str) {
                Some(t) => out.push_str(&format!("{pad}{key}: {t}\n")),
                None => out.push_str(&format!("{pad}{key}:\n")),
            }
            for (k, v) in map {
                if k != "type" {
                    render_text(out, depth + 1, k, v);
                }
            }
        }
        Value::Array(items) => {
            out.push_str(&format!("{pad}{key}:\n"));
            for (i, item) in items.iter().enumerate() {
                render_text(out, depth + 1, &format!("[{i}]"), item);
            }
        }
        _ => {}
    }
}

/// What `guls decode` is told beyond the input itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DissectOptions {
    /// Presentation context identifiers to treat as the SESE context (abstract syntax ARC.1.1)
    /// in every stream, for inputs without the CP that would name it (`--sese-pcid`).
    pub sese_pcids: Vec<i64>,
}

/// Dissects an input: a capture (detected by its magic number) or, per `from`, a TPKT stream or
/// a single TSDU.
pub fn dissect_input(input: &[u8], from: DecodeFrom) -> Result<Report, String> {
    dissect_input_with(input, from, &DissectOptions::default())
}

/// [`dissect_input`] with options.
pub fn dissect_input_with(
    input: &[u8],
    from: DecodeFrom,
    opts: &DissectOptions,
) -> Result<Report, String> {
    if capture::looks_like_capture(input) {
        let streams = capture::read_capture(input).map_err(|e| e.to_string())?;
        return Ok(dissect_streams_with(&streams, opts));
    }
    let mut ctx = StreamContext::with_sese_pcids(&opts.sese_pcids);
    let mut report = Report::default();
    match from {
        DecodeFrom::Session => {
            let mut unit = Unit::new_unit();
            layers::dissect_tsdu(input, &mut ctx, &mut unit);
            report.units.push(unit);
        }
        DecodeFrom::Tpkt => {
            let mut dir = DirectionState::default();
            for (unit, _) in dissect_tpkt_stream(input, &mut ctx, &mut dir) {
                report.units.push(unit);
            }
        }
    }
    Ok(report)
}

/// Reassembly state of one direction: DT user data waiting for its EOT.
#[derive(Debug, Default)]
pub struct DirectionState {
    pending: Vec<u8>,
}

/// Dissects a TPKT stream; returns each unit with the stream offset of its last octet.
pub fn dissect_tpkt_stream(
    bytes: &[u8],
    ctx: &mut StreamContext,
    dir: &mut DirectionState,
) -> Vec<(Unit, usize)> {
    let mut units = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let frame_len = match guls_transport::next_frame(rest, guls_transport::MAX_TPKT_LEN) {
            Ok(Some(n)) => n,
            Ok(None) => {
                let mut unit = Unit::new_unit();
                unit.fail(
                    &DecodeError::new(
                        Layer::Tpkt,
                        0,
                        ErrorKind::Truncated {
                            what: "TPKT",
                            needed: tpkt_claimed(rest),
                            available: rest.len(),
                        },
                    )
                    .shifted(pos),
                );
                units.push((unit, bytes.len()));
                break;
            }
            Err(e) => {
                let mut unit = Unit::new_unit();
                unit.fail(&e.shifted(pos));
                units.push((unit, bytes.len()));
                break;
            }
        };
        let frame = &rest[..frame_len];
        let end = pos + frame_len;
        pos = end;
        if let Some(unit) = layers::dissect_tpkt(frame, ctx, &mut dir.pending, MAX_TSDU_OCTETS) {
            units.push((unit, end - 1));
        }
    }
    units
}

fn tpkt_claimed(rest: &[u8]) -> usize {
    match rest {
        [_, _, hi, lo, ..] => u16::from_be_bytes([*hi, *lo]) as usize,
        _ => 4,
    }
}

/// Dissects every direction of every stream of a capture, ordering units by the packet that
/// completed them.
pub fn dissect_streams(streams: &[DirectedStream]) -> Report {
    dissect_streams_with(streams, &DissectOptions::default())
}

/// [`dissect_streams`] with options.
pub fn dissect_streams_with(streams: &[DirectedStream], opts: &DissectOptions) -> Report {
    let mut contexts: HashMap<usize, StreamContext> = HashMap::new();
    let mut all: Vec<(usize, usize, Unit)> = Vec::new();
    for (order, s) in streams.iter().enumerate() {
        let ctx = contexts
            .entry(s.stream)
            .or_insert_with(|| StreamContext::with_sese_pcids(&opts.sese_pcids));
        let mut dir = DirectionState::default();
        for (mut unit, last) in dissect_tpkt_stream(&s.bytes, ctx, &mut dir) {
            let mut tagged = Map::new();
            tagged.insert("stream".into(), json!(s.stream));
            tagged.insert("direction".into(), json!(s.label()));
            tagged.append(&mut unit.value);
            unit.value = tagged;
            all.push((s.packet_of(last), order, unit));
        }
        if s.gap {
            let mut unit = Unit::new_unit();
            unit.value.insert("stream".into(), json!(s.stream));
            unit.value.insert("direction".into(), json!(s.label()));
            unit.value.insert(
                "note".into(),
                json!("TCP segment missing: the rest of this direction was not decoded"),
            );
            all.push((usize::MAX, order, unit));
        }
    }
    // Stable: units of one direction keep their order; directions interleave by packet.
    all.sort_by_key(|(packet, order, _)| (*packet, *order));
    Report {
        units: all.into_iter().map(|(_, _, u)| u).collect(),
    }
}
