//! The audit log verifier.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::BufRead;

use serde::Deserialize;

use crate::sink::GENESIS_PREV;
use crate::time::is_rfc3339_millis;

/// What [`verify`] found in a log that verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    /// Number of records (lines).
    pub records: usize,
    /// `seq` of the first record (1 in any log that verifies), `None` for an empty log.
    pub first_seq: Option<u64>,
    /// `seq` of the last record, `None` for an empty log.
    pub last_seq: Option<u64>,
    /// Number of distinct association identifiers.
    pub associations: usize,
    /// Hex SHA-256 of the last line ([`GENESIS_PREV`] for an empty log): what the next line's
    /// `prev` will be. Keep it (with `last_seq`) outside the log, for instance in a ticket or
    /// a separate system, to detect later removal or editing of the last lines.
    pub head_hash: String,
}

/// What is wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyErrorKind {
    /// The line was changed after it was written (its bytes no longer hash to the next
    /// line's `prev`, or its `seq` no longer fits between its neighbours).
    Edited,
    /// Records are missing before this line: it has `seq` `found` where `expected` was due,
    /// and no later line holds `expected`.
    Deleted {
        /// The `seq` that was due.
        expected: u64,
        /// The `seq` found.
        found: u64,
    },
    /// This line was added: its `seq` repeats another line's, or it fits nowhere in the
    /// chain.
    Inserted {
        /// The line's `seq`.
        seq: u64,
    },
    /// Records were moved: this line has `seq` `found` while `expected` is due, and
    /// `expected` is at the later line `expected_at`.
    Reordered {
        /// The `seq` that was due.
        expected: u64,
        /// The `seq` found.
        found: u64,
        /// The 1-based line holding `expected`.
        expected_at: usize,
    },
    /// The line is not a record: not JSON, a missing, extra or ill-typed field, a bad
    /// timestamp or hash, or a last line without its newline (a truncated file).
    Malformed(String),
    /// The first record's `prev` is not [`GENESIS_PREV`]: the log does not start a chain
    /// (its first lines were removed and the rest renumbered, or it is the tail of a log).
    BrokenChain,
    /// Reading failed.
    Io(String),
}

impl fmt::Display for VerifyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyErrorKind::Edited => f.write_str("record edited (hash chain broken after it)"),
            VerifyErrorKind::Deleted { expected, found } => {
                if found - expected == 1 {
                    write!(
                        f,
                        "record deleted before this line (seq {expected} missing)"
                    )
                } else {
                    write!(
                        f,
                        "records deleted before this line (seq {expected} to {} missing)",
                        found - 1
                    )
                }
            }
            VerifyErrorKind::Inserted { seq } => write!(f, "record inserted (seq {seq})"),
            VerifyErrorKind::Reordered {
                expected,
                found,
                expected_at,
            } => write!(
                f,
                "records reordered (seq {found} where {expected} is due; {expected} is at line {expected_at})"
            ),
            VerifyErrorKind::Malformed(m) => write!(f, "malformed record: {m}"),
            VerifyErrorKind::BrokenChain => {
                f.write_str("the first record does not start a hash chain (prev is not zero)")
            }
            VerifyErrorKind::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

/// Where and how a log fails to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct VerifyError {
    /// 1-based line number of the offending record.
    pub line: usize,
    /// What is wrong.
    pub kind: VerifyErrorKind,
}

/// A record as read: the fields the verifier checks; `event` only needs a string `kind`, so
/// that logs with event kinds newer than this verifier still verify.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    seq: u64,
    ts: String,
    assoc: u64,
    event: serde_json::Map<String, serde_json::Value>,
    prev: String,
}

struct LineInfo {
    seq: u64,
    assoc: u64,
    prev: [u8; 32],
    hash: [u8; 32],
}

fn digest32(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nib(b[2 * i])? << 4) | nib(b[2 * i + 1])?;
    }
    Some(out)
}

fn to_hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks one line (without its newline) and extracts what the chain check needs.
fn parse_line(line: &[u8]) -> Result<LineInfo, String> {
    if line.is_empty() {
        return Err("empty line".into());
    }
    if line.ends_with(b"\r") {
        return Err("carriage return at the end of the line (the file was converted)".into());
    }
    let raw: RawLine = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    if raw.seq == 0 {
        return Err("seq 0 (seq starts at 1)".into());
    }
    if !is_rfc3339_millis(&raw.ts) {
        return Err(format!(
            "ts {:?} is not RFC 3339 UTC with milliseconds",
            raw.ts
        ));
    }
    match raw.event.get("kind") {
        Some(serde_json::Value::String(k)) if !k.is_empty() => {}
        _ => return Err("event has no kind".into()),
    }
    let prev = parse_hex32(&raw.prev)
        .ok_or_else(|| format!("prev {:?} is not 64 lower-case hex digits", raw.prev))?;
    Ok(LineInfo {
        seq: raw.seq,
        assoc: raw.assoc,
        prev,
        hash: digest32(line),
    })
}

/// Verifies an audit log read from `reader` and says where and how it breaks.
///
/// # Rules
///
/// Every line must end with `\n` and be one JSON object with exactly the keys `seq` (≥ 1),
/// `ts` (RFC 3339 UTC with milliseconds), `assoc`, `event` (an object with a non-empty
/// string `kind`; other event fields are not interpreted, so newer event kinds verify) and
/// `prev` (64 lower-case hex digits); otherwise that line is
/// [`Malformed`](VerifyErrorKind::Malformed), which includes a last line cut short.
///
/// The chain is then followed from line 1 with the due `seq` (1 first) and the due `prev`
/// ([`GENESIS_PREV`] first, then the SHA-256 of the previous line's bytes without its
/// newline). At the first line L whose `seq` or `prev` differs from the due one:
///
/// 1. `seq` is the due one but `prev` is not: line L-1 was [`Edited`](VerifyErrorKind::Edited)
///    (reported at L-1), or, when L is 1, [`BrokenChain`](VerifyErrorKind::BrokenChain).
/// 2. `seq` is wrong, but `prev` is the due one and line L+1 has the `seq` after the due one:
///    line L's `seq` field was [`Edited`](VerifyErrorKind::Edited).
/// 3. `seq` occurs on two lines: one was [`Inserted`](VerifyErrorKind::Inserted). The
///    genuine one is the line whose next line's `prev` is its hash; the other is reported
///    (when that cannot tell them apart, line L is reported). A record inserted with a
///    correctly recomputed `prev` is caught here, by its repeated `seq`.
/// 4. `seq` is past the due one and the due `seq` is on a later line: if line L's `prev` is
///    the hash of the line with `seq` - 1, records were [`Reordered`](VerifyErrorKind::Reordered);
///    otherwise line L was [`Inserted`](VerifyErrorKind::Inserted).
/// 5. `seq` is past the due one and the due `seq` is nowhere: records were
///    [`Deleted`](VerifyErrorKind::Deleted) before line L (the gap is in the error).
///
/// The first problem in file order is reported (a malformed line is reported only if no
/// chain problem was found before it).
///
/// # Limits
///
/// The chain has no key: it shows that a log is unchanged *relative to its last line*.
///
/// * Deleting the last lines, editing the last line's event, or appending well-formed lines
///   at the end cannot be seen from the file alone. Keep [`VerifySummary::head_hash`] and
///   `last_seq` (or [`crate::AuditSink::head_hash`]) outside the log and compare them.
/// * Whoever can rewrite the whole file can recompute every hash from the point of change
///   on; again only an external anchor shows it.
/// * Timestamps are checked for form only, not for order (clocks step back).
/// * The classification of rules 2 to 5 is the simplest explanation of what is seen; a
///   combination of changes may be reported as one of them, but always at or before the
///   first changed line.
pub fn verify<R: BufRead>(mut reader: R) -> Result<VerifySummary, VerifyError> {
    let mut infos: Vec<LineInfo> = Vec::new();
    let mut malformed: Option<VerifyError> = None;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let line_no = infos.len() + 1;
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                malformed = Some(VerifyError {
                    line: line_no,
                    kind: VerifyErrorKind::Io(e.to_string()),
                });
                break;
            }
        }
        let bad = |m: String| VerifyError {
            line: line_no,
            kind: VerifyErrorKind::Malformed(m),
        };
        let Some(line) = buf.strip_suffix(b"\n") else {
            malformed = Some(bad(
                "the last line has no newline (the file was truncated or a write was cut)".into(),
            ));
            break;
        };
        match parse_line(line) {
            Ok(info) => infos.push(info),
            Err(m) => {
                malformed = Some(bad(m));
                break;
            }
        }
    }

    if let Some(err) = check_chain(&infos) {
        return Err(err);
    }
    if let Some(err) = malformed {
        return Err(err);
    }
    let assocs: HashSet<u64> = infos.iter().map(|i| i.assoc).collect();
    Ok(VerifySummary {
        records: infos.len(),
        first_seq: infos.first().map(|i| i.seq),
        last_seq: infos.last().map(|i| i.seq),
        associations: assocs.len(),
        head_hash: infos
            .last()
            .map_or_else(|| GENESIS_PREV.to_owned(), |i| to_hex(&i.hash)),
    })
}

/// Follows the chain over well-formed lines; the first problem, if any.
fn check_chain(infos: &[LineInfo]) -> Option<VerifyError> {
    let genesis = [0u8; 32];
    let mut due_seq = 1u64;
    let mut due_prev = genesis;
    for (i, info) in infos.iter().enumerate() {
        if info.seq == due_seq && info.prev == due_prev {
            due_seq += 1;
            due_prev = info.hash;
            continue;
        }
        let err = |line: usize, kind| Some(VerifyError { line, kind });
        // Rule 1: in-order seq, broken hash.
        if info.seq == due_seq {
            return if i == 0 {
                err(1, VerifyErrorKind::BrokenChain)
            } else {
                err(i, VerifyErrorKind::Edited)
            };
        }
        let next = infos.get(i + 1);
        // Rule 2: this line's seq was edited in place.
        if info.prev == due_prev && next.is_some_and(|n| n.seq == due_seq + 1) {
            return err(i + 1, VerifyErrorKind::Edited);
        }
        // Lines by seq, built only now that something is wrong.
        let mut by_seq: HashMap<u64, Vec<usize>> = HashMap::new();
        for (j, x) in infos.iter().enumerate() {
            by_seq.entry(x.seq).or_default().push(j);
        }
        let here = &by_seq[&info.seq];
        // Rule 3: a repeated seq.
        if here.len() > 1 {
            let forward_linked =
                |j: usize| infos.get(j + 1).is_some_and(|n| n.prev == infos[j].hash);
            let unlinked: Vec<usize> = here
                .iter()
                .copied()
                .filter(|&j| !forward_linked(j))
                .collect();
            let line = if unlinked.len() == 1 {
                unlinked[0] + 1
            } else {
                i + 1
            };
            return err(line, VerifyErrorKind::Inserted { seq: info.seq });
        }
        if info.seq > due_seq {
            // Rule 4: the due seq comes later.
            if let Some(&j) = by_seq
                .get(&due_seq)
                .and_then(|v| v.iter().find(|&&j| j > i))
            {
                let links_back = by_seq
                    .get(&(info.seq - 1))
                    .is_some_and(|v| v.iter().any(|&k| infos[k].hash == info.prev));
                return if links_back {
                    err(
                        i + 1,
                        VerifyErrorKind::Reordered {
                            expected: due_seq,
                            found: info.seq,
                            expected_at: j + 1,
                        },
                    )
                } else {
                    err(i + 1, VerifyErrorKind::Inserted { seq: info.seq })
                };
            }
            // Rule 5: a gap.
            return err(
                i + 1,
                VerifyErrorKind::Deleted {
                    expected: due_seq,
                    found: info.seq,
                },
            );
        }
        // A smaller seq that occurs once cannot happen after in-order lines 1..due_seq-1
        // (it would be a repeat); kept as a fallback.
        return err(i + 1, VerifyErrorKind::Inserted { seq: info.seq });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_roundtrip() {
        let h = digest32(b"abc");
        assert_eq!(
            to_hex(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hex32(&to_hex(&h)), Some(h));
        assert_eq!(parse_hex32(&to_hex(&h).to_uppercase()), None);
        assert_eq!(parse_hex32("00"), None);
        assert_eq!(crate::sink::line_hash(b"abc"), to_hex(&h));
    }
}
