//! The JSON-lines audit sink with its SHA-256 hash chain.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;

use crate::event::AuditEvent;
use crate::time::rfc3339_millis;

/// The `prev` of the first line of a log: 64 zeros (no header line is written).
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lower-case hex SHA-256 of `line` (a line's bytes without its newline).
pub(crate) fn line_hash(line: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = ring::digest::digest(&ring::digest::SHA256, line);
    let mut s = String::with_capacity(64);
    for b in d.as_ref() {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0x0f)] as char);
    }
    s
}

/// One line as written (the key order is the declaration order).
#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    ts: &'a str,
    assoc: u64,
    event: &'a AuditEvent,
    prev: &'a str,
}

enum Output {
    File(File),
    Writer(Box<dyn Write + Send>),
    Memory(Vec<u8>),
}

impl Output {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        match self {
            Output::File(f) => {
                f.write_all(line)?;
                f.flush()
            }
            Output::Writer(w) => {
                w.write_all(line)?;
                w.flush()
            }
            Output::Memory(v) => {
                v.extend_from_slice(line);
                Ok(())
            }
        }
    }
}

struct State {
    out: Output,
    /// The seq of the next line.
    next_seq: u64,
    /// Hash of the last line written (or [`GENESIS_PREV`]).
    prev: String,
    /// A write failed: the output may hold a partial line, so nothing more is written.
    failed: bool,
}

/// A tamper-evident audit log writer: one JSON object per line (see the crate
/// documentation for the format), each line carrying the SHA-256 of the line before it.
///
/// It is `Sync`: [`record`](AuditSink::record) takes `&self` and serialises writers with a
/// mutex, so the log's `seq` is 1, 2, 3, ... in file order whatever the number of threads.
/// Each line is written with one `write_all` and flushed before `record` returns (flushed to
/// the operating system; it is not `fsync`ed, so a power loss may lose the last lines, which
/// [`crate::verify`] then reports only against an anchored head hash).
///
/// After a write error the sink refuses further records (the output may end in a partial
/// line, which [`crate::verify`] reports as malformed and [`AuditSink::open_append`]
/// refuses to continue).
///
/// One log file must have one writer: two processes appending to the same file would
/// interleave two chains.
pub struct AuditSink {
    state: Mutex<State>,
}

impl fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        let out = match st.out {
            Output::File(_) => "file",
            Output::Writer(_) => "writer",
            Output::Memory(_) => "memory",
        };
        f.debug_struct("AuditSink")
            .field("output", &out)
            .field("next_seq", &st.next_seq)
            .field("prev", &st.prev)
            .field("failed", &st.failed)
            .finish()
    }
}

impl AuditSink {
    fn with(out: Output, next_seq: u64, prev: String) -> Self {
        AuditSink {
            state: Mutex::new(State {
                out,
                next_seq,
                prev,
                failed: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one ever did, the state is still
        // consistent (it is updated only after a successful write).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a new log at `path`, starting a new chain. Fails if the file exists: an audit
    /// log is never overwritten (use [`AuditSink::open_append`] to continue one).
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let f = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Self::with(Output::File(f), 1, GENESIS_PREV.to_owned()))
    }

    /// Opens the log at `path` for appending (creating it when missing) and continues its
    /// chain: the whole file is first checked with [`crate::verify`], and an error
    /// (`InvalidData`, naming the line and the problem) is returned if it does not verify,
    /// including when its last line is incomplete.
    pub fn open_append(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let summary = crate::verify::verify(BufReader::new(&f)).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: cannot append to an audit log that does not verify: {e}",
                    path.display()
                ),
            )
        })?;
        let next = summary.last_seq.map_or(1, |s| s + 1);
        Ok(Self::with(Output::File(f), next, summary.head_hash))
    }

    /// A sink writing a new chain to `w` (for instance standard output).
    pub fn from_writer(w: impl Write + Send + 'static) -> Self {
        Self::with(Output::Writer(Box::new(w)), 1, GENESIS_PREV.to_owned())
    }

    /// A sink keeping the log in memory (tests, `guls demo`); read it with
    /// [`AuditSink::memory_contents`].
    pub fn memory() -> Self {
        Self::with(Output::Memory(Vec::new()), 1, GENESIS_PREV.to_owned())
    }

    /// The log text of a [`AuditSink::memory`] sink; `None` for the other outputs.
    pub fn memory_contents(&self) -> Option<String> {
        match &self.lock().out {
            Output::Memory(v) => Some(String::from_utf8_lossy(v).into_owned()),
            _ => None,
        }
    }

    /// The `seq` of the last line written (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// The hash of the last line written ([`GENESIS_PREV`] when none): the value to keep
    /// outside the log as an anchor (see [`crate::VerifySummary::head_hash`]).
    pub fn head_hash(&self) -> String {
        self.lock().prev.clone()
    }

    /// Appends `event` of association `association_id` as the next line (with the current
    /// time), flushes it, and emits it with [`crate::emit`].
    pub fn record(&self, association_id: u64, event: &AuditEvent) -> io::Result<()> {
        crate::emit(association_id, event);
        let ts = rfc3339_millis(SystemTime::now());
        let mut st = self.lock();
        if st.failed {
            return Err(io::Error::other(
                "the audit sink failed earlier; no further records are written",
            ));
        }
        let mut line = serde_json::to_vec(&LineOut {
            seq: st.next_seq,
            ts: &ts,
            assoc: association_id,
            event,
            prev: &st.prev,
        })
        .map_err(io::Error::other)?;
        let hash = line_hash(&line);
        line.push(b'\n');
        if let Err(e) = st.out.write_line(&line) {
            st.failed = true;
            return Err(e);
        }
        st.next_seq += 1;
        st.prev = hash;
        Ok(())
    }
}
