//! Live interop peers (libiec61850 through `pyiec61850-ng`, and `open61850`) driven from Rust tests.
//!
//! The peers are Python scripts in `tests/peers/`, run with the interpreter of the venv that
//! `tests/peers/setup.sh` creates (`$GULS_PEERS_VENV`, default `<repo>/.venv-peers`). Servers print
//! one `READY port=N` line once they listen, then JSON event lines; clients print one JSON result
//! line. Everything here is bounded in time and every spawned process is killed on drop.
//!
//! Interop tests start with [`peers_available_or_skip`]:
//!
//! * `GULS_INTEROP` unset (or any value other than those below): run when the venv is set up,
//!   otherwise print why and skip;
//! * `GULS_INTEROP=require` (or `1`): run, and panic (fail the test) when the venv is missing;
//! * `GULS_INTEROP=0`, `off` or `skip`: always skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Environment variable that selects the interop policy (see the module docs).
pub const INTEROP_ENV: &str = "GULS_INTEROP";
/// Environment variable that overrides the venv location.
pub const VENV_ENV: &str = "GULS_PEERS_VENV";
/// How long a server peer may take to print its `READY` line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a one-shot client peer may run before it is killed.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default lifetime passed to server peers with `--duration` (they also stop on stdin EOF).
pub const SERVER_DURATION_SECS: u32 = 300;
/// The ACSE password of the golden trace (`tests/peers/golden_trace.txt`).
pub const GOLDEN_PASSWORD: &str = "user1@testpw";

/// The repository root (the parent of the `guls-tests` crate).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The directory holding the peer scripts (`tests/peers`).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// The venv directory: `$GULS_PEERS_VENV`, or `<repo>/.venv-peers`.
pub fn venv_dir() -> PathBuf {
    match std::env::var_os(VENV_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo_root().join(".venv-peers"),
    }
}

/// The venv's python if `tests/peers/setup.sh` has run, that is if the interpreter exists and
/// imports both peer packages (checked once per test binary, bounded to 30 s).
pub fn venv_python() -> Option<PathBuf> {
    static CHECKED: OnceLock<Option<PathBuf>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let python = venv_dir().join("bin").join("python");
            if !python.is_file() {
                return None;
            }
            let mut cmd = Command::new(&python);
            cmd.args(["-c", "import pyiec61850.pyiec61850, open61850"]);
            match run_bounded(cmd, Duration::from_secs(30)) {
                Ok(out) if out.status.map(|s| s.success()).unwrap_or(false) => Some(python),
                _ => None,
            }
        })
        .clone()
}

/// Whether interop tests should run now; see the module docs for the `GULS_INTEROP` policy.
///
/// Prints the reason when it returns `false`.
///
/// # Panics
///
/// When `GULS_INTEROP=require` (or `1`) and the venv is missing or broken.
pub fn peers_available_or_skip() -> bool {
    let policy = std::env::var(INTEROP_ENV).unwrap_or_default();
    let policy = policy.trim().to_ascii_lowercase();
    if matches!(policy.as_str(), "0" | "off" | "skip") {
        eprintln!("skipping interop test: {INTEROP_ENV}={policy}");
        return false;
    }
    if venv_python().is_some() {
        return true;
    }
    let why = format!(
        "interop peers not installed: no working python in {} (run tests/peers/setup.sh)",
        venv_dir().display()
    );
    if matches!(policy.as_str(), "require" | "1") {
        panic!("{INTEROP_ENV}={policy} but {why}");
    }
    eprintln!("skipping interop test: {why}; set {INTEROP_ENV}=require to make this a failure");
    false
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, release it).
///
/// # Panics
///
/// When the loopback interface cannot be bound at all.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local_addr of a bound listener")
        .port()
}

/// Lines read from one pipe of a child, shared with the thread that reads them.
#[derive(Default)]
struct LineSink {
    state: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl LineSink {
    fn spawn_reader<R: Read + Send + 'static>(self: &Arc<Self>, pipe: R) -> thread::JoinHandle<()> {
        let sink = Arc::clone(self);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut st = sink.state.lock().unwrap_or_else(|e| e.into_inner());
                st.0.push(line);
                sink.changed.notify_all();
            }
            let mut st = sink.state.lock().unwrap_or_else(|e| e.into_inner());
            st.1 = true;
            sink.changed.notify_all();
        })
    }

    fn snapshot(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// Waits until a line (searched from index `from`) satisfies `pred`, the pipe closes, or the
    /// deadline passes. Returns the matching line.
    fn wait_for(
        &self,
        from: usize,
        deadline: Instant,
        pred: &dyn Fn(&str) -> bool,
    ) -> Option<String> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = from;
        loop {
            while next < st.0.len() {
                if pred(&st.0[next]) {
                    return Some(st.0[next].clone());
                }
                next += 1;
            }
            if st.1 {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A running peer script (normally a server): its port, its stdout/stderr lines, killed on drop.
pub struct PeerProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    stdout: Arc<LineSink>,
    stderr: Arc<LineSink>,
}

impl PeerProcess {
    /// Starts `tests/peers/<script>` with `args` under the venv python and waits up to
    /// [`READY_TIMEOUT`] for its `READY port=N` line.
    ///
    /// # Errors
    ///
    /// When the venv is missing, the process cannot start, exits early or is not ready in time
    /// (the message includes what it printed).
    pub fn spawn(script: &str, args: &[&str]) -> Result<Self, String> {
        let python = venv_python().ok_or_else(|| {
            format!(
                "no peers venv at {} (run tests/peers/setup.sh)",
                venv_dir().display()
            )
        })?;
        Self::spawn_with(&python, &peers_dir().join(script), args, READY_TIMEOUT)
    }

    /// Like [`PeerProcess::spawn`] with an explicit interpreter, script path and ready timeout.
    ///
    /// # Errors
    ///
    /// As for [`PeerProcess::spawn`].
    pub fn spawn_with(
        python: &Path,
        script: &Path,
        args: &[&str],
        ready_timeout: Duration,
    ) -> Result<Self, String> {
        let name = script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| script.display().to_string());
        let mut child = Command::new(python)
            .arg("-u")
            .arg(script)
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = Arc::new(LineSink::default());
        let stderr = Arc::new(LineSink::default());
        if let Some(out) = child.stdout.take() {
            stdout.spawn_reader(out);
        }
        if let Some(err) = child.stderr.take() {
            stderr.spawn_reader(err);
        }
        let stdin = child.stdin.take();
        let mut peer = PeerProcess {
            name,
            child,
            stdin,
            port: 0,
            stdout,
            stderr,
        };
        let deadline = Instant::now() + ready_timeout;
        match peer
            .stdout
            .wait_for(0, deadline, &|l| l.starts_with("READY "))
        {
            Some(line) => {
                peer.port = parse_ready_port(&line)
                    .ok_or_else(|| format!("{}: bad READY line {line:?}", peer.name))?;
                Ok(peer)
            }
            None => Err(format!(
                "{} not ready within {:?}; stdout: {:?}; stderr: {:?}",
                peer.name,
                ready_timeout,
                peer.stdout.snapshot(),
                peer.stderr.snapshot()
            )),
        }
    }

    /// The port from the `READY` line.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// All stdout lines so far (the `READY` line included).
    pub fn lines(&self) -> Vec<String> {
        self.stdout.snapshot()
    }

    /// All stderr lines so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.snapshot()
    }

    /// The stdout lines so far that parse as JSON objects (the peer's events).
    pub fn events(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// The events so far whose `"event"` field equals `name`.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e.get("event").and_then(Value::as_str) == Some(name))
            .collect()
    }

    /// Waits up to `timeout` for the `nth` (0-based) event named `name`, counting from the start.
    pub fn wait_for_event(&self, name: &str, nth: usize, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let seen = Mutex::new(0usize);
        let line = self.stdout.wait_for(0, deadline, &|l| {
            let is_named = serde_json::from_str::<Value>(l)
                .ok()
                .is_some_and(|v| v.get("event").and_then(Value::as_str) == Some(name));
            if !is_named {
                return false;
            }
            let mut count = seen.lock().unwrap_or_else(|e| e.into_inner());
            *count += 1;
            *count > nth
        })?;
        serde_json::from_str(&line).ok()
    }

    /// Asks the peer to stop (closes its stdin), waits up to 5 s, then kills it; returns its
    /// stdout lines.
    pub fn stop(mut self) -> Vec<String> {
        self.shutdown(Duration::from_secs(5));
        self.lines()
    }

    fn shutdown(&mut self, grace: Duration) {
        drop(self.stdin.take());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        // Let the reader threads drain what was left in the pipes.
        let drained = Instant::now() + Duration::from_millis(500);
        self.stdout.wait_for(usize::MAX, drained, &|_| false);
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            drop(self.stdin.take());
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for PeerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerProcess")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .finish()
    }
}

/// Parses `READY port=N` (other `key=value` words may follow).
pub fn parse_ready_port(line: &str) -> Option<u16> {
    line.strip_prefix("READY")?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
}

/// Starts the libiec61850 server peer on a free port, with an ACSE password authenticator when
/// `password` is given.
///
/// # Errors
///
/// As for [`PeerProcess::spawn`].
pub fn start_iec_server(password: Option<&str>) -> Result<PeerProcess, String> {
    let duration = SERVER_DURATION_SECS.to_string();
    let mut args = vec!["--port", "0", "--duration", &duration];
    if let Some(pw) = password {
        args.extend(["--password", pw]);
    }
    // The script picks a free port and then binds it from C: retry if another process took it
    // in between (the script reports "IedServer_start failed").
    let mut last = String::new();
    for _ in 0..3 {
        match PeerProcess::spawn("iec_server.py", &args) {
            Ok(peer) => return Ok(peer),
            Err(e) if e.contains("IedServer_start failed") => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Starts the open61850 server peer (IED `GULS`, domain `GULSLD0`) on a free port.
///
/// # Errors
///
/// As for [`PeerProcess::spawn`].
pub fn start_open61850_server() -> Result<PeerProcess, String> {
    let duration = SERVER_DURATION_SECS.to_string();
    PeerProcess::spawn(
        "open61850_server.py",
        &["--port", "0", "--duration", &duration],
    )
}

/// What a bounded one-shot run of a command produced.
#[derive(Debug, Clone)]
pub struct ScriptOutput {
    /// Exit status, or `None` when the command was killed at its deadline.
    pub status: Option<ExitStatus>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` (stdin closed) and kills it after `timeout`.
///
/// # Errors
///
/// When the command cannot be started.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<ScriptOutput, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut buf);
            }
            buf
        })
    };
    let out = read_all(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read_all(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Ok(ScriptOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Runs `tests/peers/<script> args` under the venv python, bounded by `timeout`, and returns the
/// last stdout line parsed as JSON.
///
/// # Errors
///
/// When the venv is missing, the script times out, exits non-zero, reports a `script_error`, or
/// prints no JSON.
pub fn run_peer_json(script: &str, args: &[&str], timeout: Duration) -> Result<Value, String> {
    let python = venv_python().ok_or_else(|| {
        format!(
            "no peers venv at {} (run tests/peers/setup.sh)",
            venv_dir().display()
        )
    })?;
    let mut cmd = Command::new(python);
    cmd.arg("-u").arg(peers_dir().join(script)).args(args);
    let out = run_bounded(cmd, timeout)?;
    let Some(status) = out.status else {
        return Err(format!(
            "{script} killed after {timeout:?}; stdout: {:?}",
            out.stdout
        ));
    };
    let last = out
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let value: Value = serde_json::from_str(last).map_err(|e| {
        format!(
            "{script} ({status}) printed no JSON ({e}); stdout: {:?}; stderr: {:?}",
            out.stdout, out.stderr
        )
    })?;
    if let Some(err) = value.get("script_error") {
        return Err(format!(
            "{script} script error: {err}; stderr: {:?}",
            out.stderr
        ));
    }
    if !status.success() {
        return Err(format!(
            "{script} exited with {status}; stdout: {:?}; stderr: {:?}",
            out.stdout, out.stderr
        ));
    }
    Ok(value)
}

/// Most runs of [`run_iec_client_identify_retrying`].
pub const IEC_IDENTIFY_ATTEMPTS: usize = 10;

/// Whether a [`run_iec_client`] result is the client's lost identify: associated, then
/// `mms_error` 2 (connection lost) and no identity.
pub fn iec_identify_lost(result: &Value) -> bool {
    result["connect_error"] == 0
        && result["identify"]["mms_error"] == 2
        && result["identify"]["vendor"].is_null()
}

/// [`run_iec_client`] with identify, run again (up to [`IEC_IDENTIFY_ATTEMPTS`] times) while the
/// client loses its connection before identify goes out (`mms_error` 2, no identity): since
/// 2026-11-22 libiec61850's client does so in most runs against libiec61850's own server on the
/// 2-core VM (no identify request on the wire, the client's FIN 20 ms after the AARE; it
/// passes under strace, and against guls or open61850 it does not happen). Returns the last
/// result and the number of runs, each an association the server saw.
pub fn run_iec_client_identify_retrying(
    host: &str,
    port: u16,
    password: Option<&str>,
) -> Result<(Value, usize), String> {
    let mut runs = 0;
    loop {
        runs += 1;
        let v = run_iec_client(host, port, password, true)?;
        if !iec_identify_lost(&v) || runs == IEC_IDENTIFY_ATTEMPTS {
            return Ok((v, runs));
        }
    }
}

/// Runs the libiec61850 client peer once against `host:port` (optional ACSE password, optional
/// MMS identify, then release) and returns its JSON result, e.g.
/// `{"connect_error": 0, "identify": {"vendor": .., "model": .., "revision": ..}, ..}`.
/// `connect_error` 0 means associated; 5 (`IED_ERROR_CONNECTION_REJECTED`) is what a rejected
/// password gives (and also a refused TCP connection).
///
/// # Errors
///
/// When the script cannot run, times out ([`CLIENT_TIMEOUT`]) or reports a script error.
pub fn run_iec_client(
    host: &str,
    port: u16,
    password: Option<&str>,
    identify: bool,
) -> Result<Value, String> {
    let port = port.to_string();
    let mut args = vec!["--host", host, "--port", &port, "--timeout-ms", "5000"];
    if let Some(pw) = password {
        args.extend(["--password", pw]);
    }
    if identify {
        args.push("--identify");
    }
    run_peer_json("iec_client.py", &args, CLIENT_TIMEOUT)
}

/// Runs `python -m open61850.mms HOST:PORT association` (through `open61850_client.py`) and
/// returns its JSON verdict: `{"associated": bool, "max_pdu_size": .., "services": [..], "error": ..}`.
///
/// # Errors
///
/// When the script cannot run or times out.
pub fn run_open61850_association(host: &str, port: u16) -> Result<Value, String> {
    let port = port.to_string();
    run_peer_json(
        "open61850_client.py",
        &["--host", host, "--port", &port, "--timeout", "10"],
        CLIENT_TIMEOUT,
    )
}

/// Replays a hex-lines file (see `tests/peers/replay.py`) against `host:port` and returns every
/// JSON event it printed (`sent`, `recv`, `closed`, `compare`, ..., `summary` last).
///
/// # Errors
///
/// When the script cannot run, times out or exits with an error.
pub fn run_replay(host: &str, port: u16, hex_lines: &Path) -> Result<Vec<Value>, String> {
    let python = venv_python().ok_or_else(|| {
        format!(
            "no peers venv at {} (run tests/peers/setup.sh)",
            venv_dir().display()
        )
    })?;
    let port = port.to_string();
    let mut cmd = Command::new(python);
    cmd.arg("-u")
        .arg(peers_dir().join("replay.py"))
        .args(["--host", host, "--port", &port, "--hex-lines"])
        .arg(hex_lines);
    let out = run_bounded(cmd, CLIENT_TIMEOUT)?;
    match out.status {
        Some(s) if s.success() => Ok(out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()),
        other => Err(format!(
            "replay.py ended with {other:?}; stdout: {:?}; stderr: {:?}",
            out.stdout, out.stderr
        )),
    }
}

/// Writes `lines` (hex TPKTs, `<`/`>` markers allowed) to a fresh file under the system temp dir,
/// for [`run_replay`].
///
/// # Errors
///
/// When the file cannot be written.
pub fn write_hex_lines(tag: &str, lines: &[&str]) -> Result<PathBuf, String> {
    let path = std::env::temp_dir().join(format!("guls-replay-{tag}-{}.txt", std::process::id()));
    let mut f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for l in lines {
        writeln!(f, "{l}").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_parses() {
        assert_eq!(parse_ready_port("READY port=10102"), Some(10102));
        assert_eq!(parse_ready_port("READY pid=3 port=7"), Some(7));
        assert_eq!(parse_ready_port("READY"), None);
        assert_eq!(parse_ready_port("NOT READY port=1"), None);
    }

    #[test]
    fn free_port_is_nonzero() {
        // Whether it is still free later is a race (other tests' clients take ephemeral ports).
        assert_ne!(free_port(), 0);
    }

    #[test]
    fn iec_password_accepted_rejected_and_logged() {
        if !peers_available_or_skip() {
            return;
        }
        let server = start_iec_server(Some(GOLDEN_PASSWORD)).expect("iec_server");
        let (ok, attempts) =
            run_iec_client_identify_retrying("127.0.0.1", server.port(), Some(GOLDEN_PASSWORD))
                .expect("client");
        assert_eq!(ok["connect_error"], 0, "{ok}");
        assert_eq!(ok["identify"]["vendor"], "libiec61850.com", "{ok}");
        let bad = run_iec_client("127.0.0.1", server.port(), Some("wrong"), false).expect("client");
        assert_eq!(bad["connect_error"], 5, "{bad}");
        let none = run_iec_client("127.0.0.1", server.port(), None, false).expect("client");
        assert_eq!(none["connect_error"], 5, "{none}");
        let last = server
            .wait_for_event("auth", attempts + 1, Duration::from_secs(5))
            .expect("an auth event per connection");
        assert_eq!(last["mechanism"], 0);
        let auths = server.events_named("auth");
        let accepted: Vec<bool> = auths
            .iter()
            .map(|e| e["accepted"].as_bool().unwrap_or(true))
            .collect();
        let mut expected = vec![true; attempts];
        expected.extend([false, false]);
        assert_eq!(accepted, expected);
        assert!(
            server.lines().iter().all(|l| !l.contains(GOLDEN_PASSWORD)),
            "password leaked to the log"
        );
    }

    #[test]
    fn golden_trace_replays_against_iec_server() {
        if !peers_available_or_skip() {
            return;
        }
        let server = PeerProcess::spawn(
            "iec_server.py",
            &[
                "--port",
                "0",
                "--password",
                GOLDEN_PASSWORD,
                "--identity",
                "MZ,basic io,1.4.2",
            ],
        )
        .expect("iec_server");
        let events = run_replay(
            "127.0.0.1",
            server.port(),
            &peers_dir().join("golden_trace.txt"),
        )
        .expect("replay");
        let compares: Vec<&Value> = events.iter().filter(|e| e["event"] == "compare").collect();
        assert_eq!(compares.len(), 5, "{events:?}");
        // CC, identify, conclude and DN+RLRE are byte-identical; the AC differs only in the
        // services-supported bits of the MMS Initiate-Response (1.6.1 vs the traced 1.5.3 build).
        for step in [0, 2, 3, 4] {
            assert_eq!(
                compares[step]["match"], true,
                "step {step}: {}",
                compares[step]
            );
        }
        let ac = compares[1]["got"][0].as_str().unwrap_or_default();
        let expected = compares[1]["expected"][0].as_str().unwrap_or_default();
        assert_eq!(ac.len(), expected.len());
        assert_eq!(ac[..ac.len() - 20], expected[..expected.len() - 20]);
        let summary = events.last().expect("summary");
        assert_eq!(
            summary["closed_at_step"], 4,
            "server closes TCP after DN: {summary}"
        );
    }

    #[test]
    fn wrong_password_gets_tcp_close_without_ac() {
        if !peers_available_or_skip() {
            return;
        }
        let server = start_iec_server(Some("not-the-trace-password")).expect("iec_server");
        let events = run_replay(
            "127.0.0.1",
            server.port(),
            &peers_dir().join("golden_trace.txt"),
        )
        .expect("replay");
        let summary = events.last().expect("summary");
        assert_eq!(summary["closed_at_step"], 1, "{events:?}");
        assert_eq!(summary["received"], 1, "only the CC: {events:?}");
    }

    #[test]
    fn open61850_associates_with_iec_server_without_password() {
        if !peers_available_or_skip() {
            return;
        }
        let server = start_iec_server(None).expect("iec_server");
        let v = run_open61850_association("127.0.0.1", server.port()).expect("open61850");
        assert_eq!(v["associated"], true, "{v}");
        assert_eq!(v["max_pdu_size"], 65000, "{v}");
        let guarded = start_iec_server(Some(GOLDEN_PASSWORD)).expect("iec_server");
        let v = run_open61850_association("127.0.0.1", guarded.port()).expect("open61850");
        assert_eq!(v["associated"], false, "open61850 sends no password: {v}");
    }

    #[test]
    fn iec_client_against_open61850_server() {
        if !peers_available_or_skip() {
            return;
        }
        let server = start_open61850_server().expect("open61850_server");
        let v = run_iec_client("127.0.0.1", server.port(), None, true).expect("client");
        assert_eq!(v["connect_error"], 0, "{v}");
        assert_eq!(v["identify"]["vendor"], "open61850", "{v}");
    }

    #[test]
    fn peer_process_is_killed_on_drop() {
        if !peers_available_or_skip() {
            return;
        }
        let server = start_iec_server(None).expect("iec_server");
        let port = server.port();
        drop(server);
        // Nothing listens any more: the port can be bound again.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpListener::bind(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "port {port} still bound after drop"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}
