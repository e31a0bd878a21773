//! Independent check of the SESE APDU encoder and decoder against asn1tools (Python), with the
//! reduced SeseAPDUs module of `tests/asn1/` (see its README for the simplifications).
//!
//! Runs the peers venv's python (`$GULS_PEERS_VENV`, default `<repo>/.venv-peers`). Policy, as
//! for the interop tests: `GULS_INTEROP` unset -> run when the venv has asn1tools, otherwise
//! print why and pass; `require`/`1` -> fail when it is missing; `0`/`off`/`skip` -> skip.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use guls_sese::{InvocationId, SeTransfer, SeUAbort, SeseApdu};

fn venv_python() -> PathBuf {
    let venv = match std::env::var_os("GULS_PEERS_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers"),
    };
    venv.join("bin").join("python")
}

/// The venv python if it imports asn1tools; `None` (after printing why) when the test should
/// be skipped; panics under `GULS_INTEROP=require`.
fn python_or_skip() -> Option<PathBuf> {
    let policy = std::env::var("GULS_INTEROP")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if matches!(policy.as_str(), "0" | "off" | "skip") {
        eprintln!("skipping asn1tools cross-check: GULS_INTEROP={policy}");
        return None;
    }
    let python = venv_python();
    let ok = python.is_file()
        && Command::new(&python)
            .args(["-c", "import asn1tools"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let why = format!(
        "no python with asn1tools at {} (run tests/peers/setup.sh)",
        python.display()
    );
    if matches!(policy.as_str(), "require" | "1") {
        panic!("GULS_INTEROP={policy} but {why}");
    }
    eprintln!("skipping asn1tools cross-check: {why}; set GULS_INTEROP=require to fail instead");
    None
}

/// The script's answers per case, and its extra encodings.
type Script = (Vec<(String, Answer)>, Vec<(String, String)>);

struct Answer {
    der: String,
    ber: String,
    reencoded: String,
}

fn run_script(python: &Path, ours: &[(String, Vec<u8>)]) -> Script {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asn1/crosscheck.py");
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crosscheck.py");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for (name, bytes) in ours {
            writeln!(stdin, "{name} {}", guls_sese::ber::to_hex(bytes)).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("crosscheck.py output");
    assert!(
        out.status.success(),
        "crosscheck.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    let (mut cases, mut extras) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["case", name, der, ber, again] => cases.push((
                name.to_string(),
                Answer {
                    der: der.to_string(),
                    ber: ber.to_string(),
                    reencoded: again.to_string(),
                },
            )),
            ["extra", name, hex] => extras.push((name.to_string(), hex.to_string())),
            _ => panic!("unexpected line from crosscheck.py: {line}"),
        }
    }
    (cases, extras)
}

#[test]
fn encoder_and_decoder_agree_with_asn1tools() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let ours: Vec<(String, Vec<u8>)> = common::cases()
        .into_iter()
        .map(|(n, a)| (n, a.encode()))
        .collect();
    let (answers, extras) = run_script(&python, &ours);
    assert_eq!(answers.len(), ours.len(), "every case answered once");
    for (name, bytes) in &ours {
        let (_, a) = answers
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("asn1tools has no case {name}"));
        let hex = guls_sese::ber::to_hex(bytes);
        assert_eq!(hex, a.der, "{name}: guls-sese vs asn1tools DER");
        assert_eq!(hex, a.ber, "{name}: guls-sese vs asn1tools BER");
        assert_eq!(
            hex, a.reencoded,
            "{name}: asn1tools decode + DER re-encode of ours"
        );
        // And our decoder reads asn1tools' bytes back to the same value.
        let theirs = common::hex(&a.der);
        let case = common::cases()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1;
        assert_eq!(
            SeseApdu::decode(&theirs).expect("decode asn1tools DER"),
            case,
            "{name}"
        );
    }

    // The hand-derived GULS-WIRE-NOTES 3.2 examples.
    for (name, hand) in [
        ("twoway-item1", common::HAND_ITEM1),
        ("twoway-item2", common::HAND_ITEM2),
        ("twoway-reject", common::HAND_REJECT),
        ("p-abort-unrecognized-se", common::HAND_P_ABORT),
    ] {
        let a = &answers.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(
            guls_sese::ber::to_hex(&common::hex(hand)),
            a.der,
            "{name}: hand-derived bytes vs asn1tools"
        );
    }

    // Forms we never send but must accept.
    for (name, hex) in &extras {
        let apdu = SeseApdu::decode(&common::hex(hex)).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (name.as_str(), apdu) {
            (
                "extra-explicit-defaults",
                SeseApdu::Transfer(SeTransfer {
                    invocation_id,
                    start,
                    end,
                    ..
                }),
            ) => {
                assert_eq!(
                    (invocation_id, start, end),
                    (InvocationId::Absent, false, false)
                );
            }
            ("extra-u-abort-explicit-absent", SeseApdu::UAbort(a)) => {
                assert_eq!(a, SeUAbort::default());
            }
            (n, a) => panic!("unexpected extra {n}: {a:?}"),
        }
    }
    eprintln!(
        "asn1tools cross-check: {} cases and {} extra encodings agree",
        ours.len(),
        extras.len()
    );
}
