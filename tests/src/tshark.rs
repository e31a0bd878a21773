//! The tshark oracle: Wireshark's dissectors judge the octets this project produces.
//!
//! Two ways in (PEERS.md section 3.1):
//! * [`dissect_tpkts`] / [`dissect_tpkts_verbose`]: one complete TPKT per packet, written as a
//!   `text2pcap` hexdump with the user link type 147 bound to the TPKT dissector, all frames of a
//!   call in one tshark run (presentation context state carries from frame to frame, as on a
//!   connection).
//! * [`LiveCapture`]: a `tshark -i lo` capture of a real loopback connection, dissected with
//!   `-d tcp.port==N,tpkt`.
//!
//! Tests that need the external tools call [`require_tool`] (or get an `Err` from
//! [`LiveCapture::start`] and call [`skip_or_fail`]); `GULS_INTEROP=require` turns a missing
//! tool into a failure instead of a skip (see [`interop_mode`]).
//!
//! Facts this module relies on, checked against tshark 4.0.17:
//! * with `-E occurrence=a`, several occurrences of one field are joined by the aggregator,
//!   set here to the unit separator 0x1F so expert messages containing commas stay whole;
//! * `_ws.expert.severity` prints numbers: Comment 0x00100000, Chat 0x00200000,
//!   Note 0x00400000, Warning 0x00600000, Error 0x00800000 (`tshark -G values`);
//! * `_ws.malformed` is non-empty exactly when the frame carries a malformed-packet item (a BER
//!   length overrun gives it with only a *warning* expert severity);
//! * the first TCP data frame of a live capture only shows `tpkt` in `frame.protocols` in
//!   two-pass mode, so every run here uses `-2`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `_ws.expert.severity` value of a comment.
pub const SEVERITY_COMMENT: u32 = 0x0010_0000;
/// `_ws.expert.severity` value of a chat item.
pub const SEVERITY_CHAT: u32 = 0x0020_0000;
/// `_ws.expert.severity` value of a note.
pub const SEVERITY_NOTE: u32 = 0x0040_0000;
/// `_ws.expert.severity` value of a warning (6291456).
pub const SEVERITY_WARNING: u32 = 0x0060_0000;
/// `_ws.expert.severity` value of an error (8388608).
pub const SEVERITY_ERROR: u32 = 0x0080_0000;

/// The user-DLT table entry that binds link type 147 to the TPKT dissector.
pub const USER_DLT_TPKT_PREF: &str = r#"uat:user_dlts:"User 0 (DLT=147)","tpkt","0","","0","""#;

/// Protocols shown by [`dissect_tpkts_verbose`].
pub const VERBOSE_PROTOCOLS: &str = "tpkt,cotp,ses,pres,acse";

/// How long one tshark or text2pcap run may take before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The aggregator between occurrences of one field (ASCII unit separator).
const AGGREGATOR: char = '\u{1f}';

/// What a test does when an external tool or permission it needs is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteropMode {
    /// `GULS_INTEROP=require`: the test fails.
    Require,
    /// Anything else: the test is skipped, with the reason printed to stderr.
    Optional,
}

/// The mode selected by the environment variable `GULS_INTEROP` (`require`, case-insensitive,
/// selects [`InteropMode::Require`]; anything else, or unset, [`InteropMode::Optional`]).
pub fn interop_mode() -> InteropMode {
    match std::env::var("GULS_INTEROP") {
        Ok(v) if v.trim().eq_ignore_ascii_case("require") => InteropMode::Require,
        _ => InteropMode::Optional,
    }
}

/// Reports that a test cannot run: panics with `reason` under [`InteropMode::Require`],
/// otherwise prints `SKIP: reason` to stderr (the caller then returns).
pub fn skip_or_fail(reason: &str) {
    match interop_mode() {
        InteropMode::Require => panic!("GULS_INTEROP=require: {reason}"),
        InteropMode::Optional => eprintln!("SKIP: {reason} (set GULS_INTEROP=require to fail)"),
    }
}

/// The executable `name` found on `PATH`, if any.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// True when `name` is on `PATH`. Otherwise returns false after printing why the test is
/// skipped, or panics under [`InteropMode::Require`].
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        true
    } else {
        skip_or_fail(&format!("`{name}` is not on PATH"));
        false
    }
}

/// True when both `tshark` and `text2pcap` are available (see [`require_tool`]).
pub fn require_oracle() -> bool {
    require_tool("tshark") && require_tool("text2pcap")
}

/// A uniquely named temporary directory under [`std::env::temp_dir`], removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `guls-<tag>-<pid>-<counter>-<nanos>`.
    pub fn new(tag: &str) -> Result<TempDir, String> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("guls-{tag}-{}-{n}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(TempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// tshark's verdict on one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameVerdict {
    /// `frame.number` (1-based).
    pub number: u32,
    /// `frame.protocols`, e.g. `user_dlt:tpkt:cotp:ses:pres:acse:mms`.
    pub protocols: String,
    /// The Info column.
    pub info: String,
    /// True when tshark marked the frame malformed (`_ws.malformed` present).
    pub malformed: bool,
    /// Every expert-info message of the frame, in order.
    pub expert_messages: Vec<String>,
    /// The highest expert severity (see the `SEVERITY_*` constants), if any expert item.
    pub max_expert_severity: Option<u32>,
}

impl FrameVerdict {
    /// The protocol chain from `tpkt` on (`tpkt:cotp:…`), or all of `protocols` when no TPKT
    /// was recognised; link, IP and TCP layers are dropped so tests can compare exactly.
    pub fn osi_chain(&self) -> &str {
        let p = self.protocols.as_str();
        if p.starts_with("tpkt:") || p == "tpkt" {
            return p;
        }
        match p.find(":tpkt") {
            Some(i) if p[i + 5..].is_empty() || p[i + 5..].starts_with(':') => &p[i + 1..],
            _ => p,
        }
    }

    /// True when `chain` (colon-separated, e.g. `tpkt:cotp:ses`) occurs as consecutive whole
    /// components of `protocols`.
    pub fn has_chain(&self, chain: &str) -> bool {
        let want: Vec<&str> = chain.split(':').collect();
        let have: Vec<&str> = self.protocols.split(':').collect();
        !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
    }

    /// Ok when the frame decodes as `expected_chain` (see [`FrameVerdict::has_chain`]), is not
    /// malformed, and has no expert item of severity error or above; otherwise a description
    /// of what is wrong.
    pub fn check_clean(&self, expected_chain: &str) -> Result<(), String> {
        let mut problems = Vec::new();
        if !self.has_chain(expected_chain) {
            problems.push(format!("protocols lack `{expected_chain}`"));
        }
        if self.malformed {
            problems.push("malformed".to_string());
        }
        if let Some(s) = self.max_expert_severity.filter(|&s| s >= SEVERITY_ERROR) {
            problems.push(format!("expert severity {s:#010x}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "frame {}: {}; protocols `{}`, info `{}`, expert {:?}",
                self.number,
                problems.join(", "),
                self.protocols,
                self.info,
                self.expert_messages
            ))
        }
    }
}

/// Writes one text2pcap hexdump block per frame: offsets restart at 000000, 16 octets a line.
pub fn text2pcap_input(frames: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for frame in frames {
        for (i, chunk) in frame.chunks(16).enumerate() {
            let _ = write!(s, "{:06x}", i * 16);
            for b in chunk {
                let _ = write!(s, " {b:02x}");
            }
            s.push('\n');
        }
        s.push('\n');
    }
    s
}

/// Runs `cmd` with stdout and stderr sent to files in `dir`, killing it after `timeout`.
fn run(mut cmd: Command, dir: &Path, timeout: Duration) -> Result<(String, String), String> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.join(format!("stdout-{n}"));
    let err_path = dir.join(format!("stderr-{n}"));
    let out = fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err = fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .env("WIRESHARK_CONFIG_DIR", dir)
        .spawn()
        .map_err(|e| format!("spawning {what}: {e}"))?;
    let status = wait_bounded(&mut child, timeout)
        .ok_or_else(|| format!("{what} did not finish within {timeout:?}"))?;
    let stdout = String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned();
    if !status.success() {
        return Err(format!("{what} failed ({status}): {}", stderr.trim()));
    }
    Ok((stdout, stderr))
}

/// Waits for `child` up to `timeout`; kills it and returns `None` if it is still running.
fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Writes the frames to a pcap in `dir` with text2pcap (link type 147); returns its path.
fn frames_to_pcap(frames: &[Vec<u8>], dir: &Path) -> Result<PathBuf, String> {
    if frames.is_empty() {
        return Err("no frames to dissect".into());
    }
    if let Some(i) = frames.iter().position(|f| f.is_empty()) {
        return Err(format!("frame {i} is empty"));
    }
    let input = dir.join("frames.txt");
    let pcap = dir.join("frames.pcap");
    fs::write(&input, text2pcap_input(frames)).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("text2pcap");
    cmd.arg("-q").arg("-l").arg("147").arg(&input).arg(&pcap);
    run(cmd, dir, RUN_TIMEOUT)?;
    Ok(pcap)
}

/// A tshark command reading `pcap` in two-pass mode, with `prefs` as `-o` options.
fn tshark_reading(pcap: &Path, prefs: &[&str]) -> Command {
    let mut cmd = Command::new("tshark");
    cmd.arg("-2");
    for p in prefs {
        cmd.arg("-o").arg(p);
    }
    cmd.arg("-r").arg(pcap);
    cmd
}

const FIELDS: [&str; 6] = [
    "frame.number",
    "frame.protocols",
    "_ws.col.Info",
    "_ws.malformed",
    "_ws.expert.message",
    "_ws.expert.severity",
];

fn add_field_args(cmd: &mut Command) {
    cmd.args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .arg("-E")
        .arg(format!("aggregator={AGGREGATOR}"));
    for f in FIELDS {
        cmd.arg("-e").arg(f);
    }
}

fn split_occurrences(field: &str) -> impl Iterator<Item = &str> {
    field.split(AGGREGATOR).filter(|s| !s.is_empty())
}

/// Parses `-T fields` output of the six fields `add_field_args` asks for.
pub fn parse_fields_output(stdout: &str) -> Result<Vec<FrameVerdict>, String> {
    let mut out = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 6 {
            return Err(format!(
                "expected 6 tab-separated fields, got {}: {line:?}",
                cols.len()
            ));
        }
        let number = cols[0]
            .trim()
            .parse::<u32>()
            .map_err(|e| format!("bad frame.number {:?}: {e}", cols[0]))?;
        let mut max_expert_severity = None;
        for s in split_occurrences(cols[5]) {
            let v = s
                .trim()
                .parse::<u32>()
                .map_err(|e| format!("bad _ws.expert.severity {s:?}: {e}"))?;
            max_expert_severity = max_expert_severity.max(Some(v));
        }
        out.push(FrameVerdict {
            number,
            protocols: cols[1].to_string(),
            info: cols[2].to_string(),
            malformed: !cols[3].is_empty(),
            expert_messages: split_occurrences(cols[4]).map(str::to_string).collect(),
            max_expert_severity,
        });
    }
    Ok(out)
}

/// Dissects each frame (one complete TPKT, `03 00 len …`) as its own packet, all in one tshark
/// run, and returns one verdict per frame in order. `extra_prefs` are further `-o` options,
/// e.g. `uat:pres_context_list:"3","1.0.9506.2.1"` for data frames without a preceding CP.
pub fn dissect_tpkts(
    frames: &[Vec<u8>],
    extra_prefs: &[&str],
) -> Result<Vec<FrameVerdict>, String> {
    let dir = TempDir::new("tshark")?;
    let pcap = frames_to_pcap(frames, dir.path())?;
    let mut prefs = vec![USER_DLT_TPKT_PREF];
    prefs.extend_from_slice(extra_prefs);
    let mut cmd = tshark_reading(&pcap, &prefs);
    add_field_args(&mut cmd);
    let (stdout, _) = run(cmd, dir.path(), RUN_TIMEOUT)?;
    let verdicts = parse_fields_output(&stdout)?;
    if verdicts.len() != frames.len() {
        return Err(format!(
            "tshark reported {} frames for {} given:\n{stdout}",
            verdicts.len(),
            frames.len()
        ));
    }
    Ok(verdicts)
}

/// The `tshark -V -O tpkt,cotp,ses,pres,acse` text of the frames (same input as
/// [`dissect_tpkts`]), for field-level assertions.
pub fn dissect_tpkts_verbose(frames: &[Vec<u8>], extra_prefs: &[&str]) -> Result<String, String> {
    let dir = TempDir::new("tshark-v")?;
    let pcap = frames_to_pcap(frames, dir.path())?;
    let mut prefs = vec![USER_DLT_TPKT_PREF];
    prefs.extend_from_slice(extra_prefs);
    let mut cmd = tshark_reading(&pcap, &prefs);
    cmd.arg("-V").arg("-O").arg(VERBOSE_PROTOCOLS);
    Ok(run(cmd, dir.path(), RUN_TIMEOUT)?.0)
}

/// A running `tshark -i lo` capture of one TCP port, written to a file.
#[derive(Debug)]
pub struct LiveCapture {
    child: Option<Child>,
    path: PathBuf,
    stderr_path: PathBuf,
    port: u16,
}

impl LiveCapture {
    /// How long [`LiveCapture::start`] waits for tshark to report that it is capturing.
    pub const START_TIMEOUT: Duration = Duration::from_secs(20);

    /// Starts `tshark -i lo -f 'tcp port <port>' -w <path>` and waits until it is capturing.
    /// `Err` (with tshark's stderr) when it exits first, e.g. for lack of capture permission,
    /// or does not get ready within [`LiveCapture::START_TIMEOUT`].
    pub fn start(port: u16, path: impl AsRef<Path>) -> Result<LiveCapture, String> {
        let path = path.as_ref().to_path_buf();
        let stderr_path = path.with_extension("tshark-stderr");
        let err = fs::File::create(&stderr_path)
            .map_err(|e| format!("creating {}: {e}", stderr_path.display()))?;
        let child = Command::new("tshark")
            .args(["-i", "lo", "-f"])
            .arg(format!("tcp port {port}"))
            .arg("-w")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawning tshark: {e}"))?;
        let mut cap = LiveCapture {
            child: Some(child),
            path,
            stderr_path,
            port,
        };
        let deadline = Instant::now() + Self::START_TIMEOUT;
        let mut capturing_since: Option<Instant> = None;
        loop {
            let log = cap.stderr_text();
            // tshark 4.0 prints "Capturing on 'Loopback: lo'" and then, once dumpcap really
            // captures, "Capture started."; packets sent between the two are lost. Wait for
            // the second, or 3 s after the first for versions that do not print it.
            if log.contains("Capture started") {
                std::thread::sleep(Duration::from_millis(200));
                return Ok(cap);
            }
            if log.contains("Capturing on") {
                let since = *capturing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(3) {
                    return Ok(cap);
                }
            }
            let exited = cap.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                cap.child = None;
                return Err(format!(
                    "tshark capture on lo exited ({status}): {}",
                    log.trim()
                ));
            }
            if Instant::now() >= deadline {
                let _ = cap.stop();
                return Err(format!(
                    "tshark capture on lo not ready after {:?}: {}",
                    Self::START_TIMEOUT,
                    log.trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stderr_path).unwrap_or_default()).into_owned()
    }

    /// The capture file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The captured port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the capture with SIGINT (via the `kill` command, so tshark flushes the file) and
    /// waits for it to exit; falls back to killing it after 10 s. Stopping twice is a no-op.
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // Let the last packets reach the capture before stopping it.
        std::thread::sleep(Duration::from_millis(500));
        let sent = Command::new("kill")
            .arg("-INT")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !sent {
            let _ = child.kill();
        }
        match wait_bounded(&mut child, Duration::from_secs(10)) {
            Some(_) => Ok(()),
            None => Err(format!(
                "tshark did not stop on SIGINT; killed: {}",
                self.stderr_text().trim()
            )),
        }
    }

    /// Dissects the stopped capture with `-d tcp.port==<port>,tpkt`, returning one verdict for
    /// each frame that carries TCP payload (handshake and bare ACKs are left out).
    pub fn dissect(&self, port: u16) -> Result<Vec<FrameVerdict>, String> {
        if self.child.is_some() {
            return Err("capture still running: call stop() first".into());
        }
        let dir = TempDir::new("tshark-live")?;
        let mut cmd = tshark_reading(&self.path, &[]);
        cmd.arg("-d")
            .arg(format!("tcp.port=={port},tpkt"))
            .arg("-Y")
            .arg("tcp.len > 0");
        add_field_args(&mut cmd);
        let (stdout, _) = run(cmd, dir.path(), RUN_TIMEOUT)?;
        parse_fields_output(&stdout)
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_file(&self.stderr_path);
    }
}

/// `tshark -T fields` over a capture file: one tab-joined line of `fields` per frame that
/// matches `filter`, with TCP port `port` decoded as TPKT (RFC 1006). Panics when tshark
/// fails: callers have checked it is there.
pub fn capture_fields(pcap: &Path, port: u16, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-2")
        .arg("-r")
        .arg(pcap)
        .arg("-d")
        .arg(format!("tcp.port=={port},tpkt"))
        .arg("-Y")
        .arg(filter)
        .args(["-T", "fields"]);
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
