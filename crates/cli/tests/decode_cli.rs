//! The `guls decode` program end to end: inputs (hex, file, stdin, pcap), formats and exit
//! statuses.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const GUL: &str = env!("CARGO_BIN_EXE_guls");

const CR: &str = "0300001611e00000000100c0010dc2020001c1020001";
const FN_RLRQ: &str = "0300001902f0800910c10e610c300a020101a0056203800100";
/// libiec61850 issue #368: a CN whose CP is one octet.
const ISSUE_368: &str = "0300001602f0800d0d0100c1013181020001a2020000";

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(GUL)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guls runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn hex_argument_with_separators_as_json() {
    let spaced = "03:00:00:16 11 e0 00 00 00 01 00 c0 01 0d c2 02 00 01 c1 02 00 01";
    let out = run(&["decode", "--format", "json", "--hex", spaced], None);
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v[0]["cotp"]["type"], "CR");
    assert_eq!(v[0]["cotp"]["called_tsel"], "0001");
}

#[test]
fn text_tree_from_stdin() {
    let out = run(&["decode", "-"], Some(FN_RLRQ.as_bytes()));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("session:"), "{text}");
    assert!(text.contains("[0]: FN"), "{text}");
    assert!(text.contains("acse: RLRQ"), "{text}");
    assert!(text.contains("reason: normal"), "{text}");
}

#[test]
fn raw_octets_and_hex_text_files() {
    let dir = std::env::temp_dir().join(format!("guls-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("cr.bin");
    std::fs::write(&raw, guls_ber::parse_hex(CR).unwrap()).unwrap();
    let text = dir.join("cr.hex");
    std::fs::write(&text, format!("{CR}\n")).unwrap();
    for f in [&raw, &text] {
        let out = run(&["decode", "--format", "json", f.to_str().unwrap()], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json(&out)[0]["cotp"]["type"], "CR");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn session_input() {
    let out = run(
        &[
            "decode",
            "--from",
            "session",
            "--format",
            "json",
            "--hex",
            "0c03320100",
        ],
        None,
    );
    assert!(out.status.success());
    assert_eq!(json(&out)[0]["session"][0]["type"], "RF");
}

#[test]
fn malformed_input_exits_1_with_a_typed_error() {
    let input = format!("{CR}{ISSUE_368}");
    let out = run(&["decode", "--format", "json", "--hex", &input], None);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(
        v[0]["cotp"]["type"], "CR",
        "units before the error are printed"
    );
    assert_eq!(v[1]["error"]["layer"], "presentation");
    assert!(v[1]["error"]["offset"].is_u64());
    assert!(v[1]["error"]["message"].is_string());
    let out = run(&["decode", "--hex", &input], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ERROR in presentation at offset"), "{text}");
}

#[test]
fn bad_arguments_exit_2() {
    let out = run(&["decode", "--hex", "0g"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["decode", "/nonexistent/file"], None);
    assert_eq!(out.status.code(), Some(2));
}

/// A classic pcap, Ethernet link type, one IPv4/TCP segment per TPKT.
fn pcap_of(segments: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    let (mut seq_c, mut seq_s) = (1000u32, 9000u32);
    for (client, payload) in segments {
        let (src, dst, sport, dport, seq) = if *client {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 102u16, &mut seq_c)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 102u16, 40000u16, &mut seq_s)
        };
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        *seq = seq.wrapping_add(payload.len() as u32);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(&tcp);
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&frame);
    }
    file
}

#[test]
fn pcap_file_with_both_directions() {
    let hex = |s: &str| guls_ber::parse_hex(s).unwrap();
    let cap = pcap_of(&[
        (true, hex(CR)),
        (false, hex("0300001611d00001000100c0010dc2020001c1020001")),
        (true, hex(FN_RLRQ)),
    ]);
    let path = std::env::temp_dir().join(format!("guls-cli-{}.pcap", std::process::id()));
    std::fs::write(&path, cap).unwrap();
    let out = run(
        &[
            "decode",
            "--format",
            "json",
            "--pcap",
            path.to_str().unwrap(),
        ],
        None,
    );
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[0]["direction"], "10.0.0.1:40000 -> 10.0.0.2:102");
    assert_eq!(v[0]["cotp"]["type"], "CR");
    assert_eq!(v[1]["direction"], "10.0.0.2:102 -> 10.0.0.1:40000");
    assert_eq!(v[1]["cotp"]["type"], "CC");
    assert_eq!(v[2]["acse"]["type"], "RLRQ");
    assert_eq!(v[2]["stream"], 0);
}

#[test]
fn demo_command_runs() {
    let out = run(&["demo"], None);
    assert!(out.status.success());
}
