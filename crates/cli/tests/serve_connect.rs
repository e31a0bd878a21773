//! End-to-end tests of `guls demo`, `guls serve` and `guls connect` (the real binary, over
//! loopback TCP).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Safety net for every wait (never a timing assertion).
const NET: Duration = Duration::from_secs(30);

fn guls() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_guls"));
    c.env_remove("RUST_LOG");
    c
}

fn run(args: &[&str]) -> Output {
    guls().args(args).output().expect("run guls")
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// A running `guls serve`, killed on drop if still alive.
struct Server {
    child: Child,
    addr: String,
    stderr: Option<JoinHandle<String>>,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        Self::start_with(args, None)
    }

    fn start_with(args: &[&str], rust_log: Option<&str>) -> Self {
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
    fn wait(mut self) -> (ExitStatus, String) {
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

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn demo_prints_each_step_and_exits_0() {
    let out = run(&["demo"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "status {:?}\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );
    for line in [
        " 1. responder listening on 127.0.0.1:",
        " 2. initiator TCP connect to 127.0.0.1:",
        "A-ASSOCIATE request sent",
        "contexts proposed: pcid 1 2.2.1.0.1 (ACSE), pcid 3 ARC.4.2 (demo abstract syntax)",
        " 3. responder TCP connection from 127.0.0.1:",
        "A-ASSOCIATE indication",
        "calling AP title \"guls-demo-initiator\", called AP title \"guls-demo-responder\"",
        "application context ARC.4.1 (demo application context)",
        " 4. responder A-ASSOCIATE response: accepted",
        " 5. initiator A-ASSOCIATE confirm: accepted",
        " 6. initiator P-DATA request sent in pcid 3: \"hello, OSI upper layers\"",
        " 7. responder P-DATA indication in pcid 3",
        "echoing it back",
        " 8. initiator P-DATA indication in pcid 3: \"hello, OSI upper layers\" (the echo matches)",
        " 9. initiator A-RELEASE request sent",
        "10. responder A-RELEASE indication",
        "11. responder A-RELEASE response sent",
        "12. initiator A-RELEASE confirm: affirmative",
        "13. responder association released",
        "done: associated, exchanged data and released",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

#[test]
fn serve_once_echoes_text_to_connect() {
    let server = Server::start(&["--once"]);
    let out = run(&["connect", &server.addr, "--send", "hello over OSI"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("association accepted by"), "{stdout}");
    assert!(
        stdout.contains("sent 14 octets (octet-aligned) in pcid 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reply: 14 octets, octet-aligned, pcid 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hex:  68656c6c6f206f766572204f5349"),
        "{stdout}"
    );
    assert!(stdout.contains("text: hello over OSI"), "{stdout}");
    assert!(stdout.contains("released"), "{stdout}");
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    for event in [
        "guls::serve",
        "A-ASSOCIATE indication",
        "A-ASSOCIATE response: accepted",
        "P-DATA indication",
        "A-RELEASE indication",
        "association released",
    ] {
        assert!(log.contains(event), "missing {event:?} in the log\n{log}");
    }
}

#[test]
fn serve_echoes_a_ber_value_as_single_asn1_type() {
    let server = Server::start(&["--once"]);
    let out = run(&["connect", &server.addr, "--send-hex", "04 03 aa bb cc"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("reply: 5 octets, single-ASN1-type"),
        "{stdout}"
    );
    assert!(stdout.contains("hex:  0403aabbcc"), "{stdout}");
    assert!(server.wait().0.success());
}

#[test]
fn mms_profile_connect_to_mms_serve() {
    let server = Server::start(&["--once", "--profile", "mms"]);
    // An MMS identify request (confirmed-RequestPDU, invokeID 1).
    let out = run(&[
        "connect",
        &server.addr,
        "--profile",
        "mms",
        "--send-hex",
        "a0050201018200",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("application context 1.0.9506.2.3 (MMS application context)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("MMS Initiate-Response received in the AARE"),
        "{stdout}"
    );
    // The identify response: confirmed-ResponsePDU, invokeID 1, identify, vendor "guls".
    assert!(
        stdout.contains("hex:  a11e020101a219800467756c73"),
        "{stdout}"
    );
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    assert!(log.contains("MMS Initiate-Request"), "{log}");
}

#[test]
fn connect_to_a_closed_port_exits_6() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = run(&["connect", &format!("127.0.0.1:{port}"), "--send", "x"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("connection failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn wrong_application_context_is_rejected_with_exit_3() {
    let server = Server::start(&["--once"]);
    let out = run(&["connect", &server.addr, "--profile", "mms", "--send", "x"]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}\n{stderr}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains(
            "rejected-permanent by acse-service-user: application-context-name-not-supported (2)"
        ),
        "{stderr}"
    );
    let (status, log) = server.wait();
    assert!(status.success(), "{log}");
    assert!(log.contains("rejected-permanent"), "{log}");
}

/// Reads one TPKT.
fn read_tpkt(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h)?;
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    let mut v = h.to_vec();
    v.resize(len.max(4), 0);
    s.read_exact(&mut v[4..])?;
    Ok(v)
}

#[test]
fn peer_closing_tcp_after_the_connect_exits_4() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(NET)).unwrap();
        let cr = read_tpkt(&mut s).unwrap();
        assert_eq!(cr[5], 0xe0, "expected a CR: {cr:02x?}");
        let cc = [
            0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0d,
            0xc2, 0x02, 0x00, 0x01, 0xc1, 0x02, 0x00, 0x01,
        ];
        s.write_all(&cc).unwrap();
        let dt = read_tpkt(&mut s).unwrap();
        assert_eq!(dt[5], 0xf0, "expected a DT: {dt:02x?}");
        assert_eq!(dt[7], 0x0d, "expected a session CONNECT: {dt:02x?}");
        // libiec61850's rejection: close without any answer.
        drop(s);
    });
    let out = run(&["connect", &addr, "--send", "x"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("without an AARE"), "{stderr}");
    peer.join().unwrap();
}

#[test]
fn password_is_sent_but_never_printed() {
    let server = Server::start_with(&["--once"], Some("debug"));
    let out = guls()
        .args(["connect", &server.addr, "--send", "x"])
        .args(["--password-env", "GULS_TEST_PASSWORD"])
        .env("GULS_TEST_PASSWORD", "very-secret-pw")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("password authentication"), "{all}");
    assert!(!all.contains("very-secret-pw"), "{all}");
    let (status, log) = server.wait();
    assert!(status.success());
    assert!(log.contains("2.2.3.1 (password)"), "{log}");
    assert!(!log.contains("very-secret-pw"), "{log}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        run(&["connect", "127.0.0.1:1", "--send-hex", "zz"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[
            "connect",
            "127.0.0.1:1",
            "--password-env",
            "GULS_SURELY_UNSET_VAR"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(&["connect", "127.0.0.1:1", "--context", "not-an-oid"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["connect", "127.0.0.1:1", "--send", "a", "--send-hex", "00"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["serve"]).status.code(), Some(2));
}

#[test]
fn connect_help_documents_the_exit_statuses() {
    let out = run(&["connect", "--help"]);
    let help = text(&out.stdout);
    assert!(out.status.success());
    for s in [
        "Exit status:",
        "0  accepted",
        "3  rejected",
        "4  rejected by the peer without an AARE",
        "5  aborted",
        "6  connection failed",
    ] {
        assert!(help.contains(s), "missing {s:?} in\n{help}");
    }
}
