//! Shared helpers of the `guls` program tests: running the binary and a `guls serve` child.
#![allow(dead_code)]

pub mod audit_log;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Safety net for every wait (never a timing assertion).
pub const NET: Duration = Duration::from_secs(30);

pub fn guls() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_guls"));
    c.env_remove("RUST_LOG");
    c
}

pub fn run(args: &[&str]) -> Output {
    guls().args(args).output().expect("run guls")
}

pub fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// A running `guls serve`, killed on drop if still alive.
pub struct Server {
    pub child: Child,
    pub addr: String,
    stderr: Option<JoinHandle<String>>,
}

impl Server {
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(args, None)
    }

    pub fn start_with(args: &[&str], rust_log: Option<&str>) -> Self {
        let mut cmd = guls();
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(l) = rust_log {
            cmd.env("RUST_LOG", l);
        }
        let mut child = cmd.spawn().expect("spawn guls serve");
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the first line of guls serve");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            stderr: Some(stderr),
        }
    }

    /// Waits for the server to exit; returns its status and its log.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let log = self.stderr.take().unwrap().join().unwrap();
                return (st, log);
            }
            if start.elapsed() > NET {
                let _ = self.child.kill();
                panic!("guls serve did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Server {
    /// Kills the server (it serves until stopped) and returns its log.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
