//! `policies/initiator.toml` loaded and exercised: peer matching in order, passwords from an
//! environment variable and from a file, inline passwords refused, errors with positions, and
//! a `Debug` that never shows the password.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use guls_acse::{ApTitle, AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName};
use guls_ber::{Oid, known};
use guls_policy::{ErrorKind, InitiatorPolicy};

const ENV: &str = "GULS_IED1_PASSWORD";

fn example_text() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/initiator.toml");
    std::fs::read_to_string(p).unwrap()
}

/// A copy of the example in a fresh directory, with its `secrets/ied2.pass` (CRLF line end
/// and a second line, to check that only the first line is used).
fn example_in_tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guls-policy-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(
        dir.join("secrets/ied2.pass"),
        b"ied2-demo-password\r\nsecond line\n",
    )
    .unwrap();
    let file = dir.join("initiator.toml");
    std::fs::write(&file, example_text()).unwrap();
    file
}

/// 1-based (line, column) of the value of `key = ` in the example file.
fn value_position(key: &str) -> (usize, usize) {
    let text = example_text();
    let prefix = format!("{key} = ");
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with(&prefix))
        .unwrap();
    assert!(line.starts_with(&prefix));
    (i + 1, prefix.len() + 1)
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

fn ied2() -> ApTitle {
    let at = |t: &str, v: &str| {
        RelativeDistinguishedName(vec![AttributeTypeAndValue::printable(
            t.parse::<Oid>().unwrap(),
            v,
        )])
    };
    ApTitle::Form1(DistinguishedName(vec![
        at("2.5.4.10", "utility"),
        at("2.5.4.3", "ied2"),
    ]))
}

#[test]
fn example_file_password_from_file_and_default() {
    let file = example_in_tempdir("file");
    let p = InitiatorPolicy::load(&file).unwrap_or_else(|e| panic!("{e}"));

    // ied2: by form 1 called AP-title, password from the file's first line.
    let c = p
        .credential_for(addr("198.51.100.2:102"), Some(&ied2()))
        .unwrap()
        .expect("a credential");
    assert_eq!(c.mechanism, known::PASSWORD_MECHANISM);
    assert_eq!(&c.password[..], b"ied2-demo-password");
    let debug = format!("{c:?}");
    assert_eq!(
        debug,
        "Credential { mechanism: 2.2.3.1, password: <redacted> }"
    );
    let auth = c.authentication();
    assert_eq!(auth.mechanism, known::PASSWORD_MECHANISM);
    assert_eq!(auth.value.charstring(), Some(&b"ied2-demo-password"[..]));
    assert!(!format!("{auth:?}").contains("ied2-demo"));

    // Anything else: the default says no authentication.
    assert!(
        p.credential_for(addr("198.51.100.2:102"), None)
            .unwrap()
            .is_none()
    );
    assert!(p.credential_for(None, None).unwrap().is_none());
    // ied1's AP-title at another address: both criteria must match, so the default.
    let ied1 = ApTitle::Form2("1.3.9999.1.1".parse().unwrap());
    assert!(
        p.credential_for(addr("192.0.2.12:102"), Some(&ied1))
            .unwrap()
            .is_none()
    );

    let s = p.summary();
    assert!(s.contains("1. ied1: matches called AP-title 1.3.9999.1.1 and address in 192.0.2.11; mechanism password; password from $GULS_IED1_PASSWORD"), "{s}");
    assert!(s.contains("2. ied2: matches called AP-title {CN=ied2,O=utility}; mechanism password; password from file"), "{s}");
    assert!(
        s.contains("default: matches every peer; mechanism none"),
        "{s}"
    );
    assert!(!format!("{p:?}").contains("ied2-demo"));

    // An empty or missing password file is an error at the key's position.
    std::fs::write(file.parent().unwrap().join("secrets/ied2.pass"), b"\n").unwrap();
    let e = p.credential_for(None, Some(&ied2())).unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::CredentialSource));
    assert_eq!(e.position(), Some(value_position("password_file")), "{e}");
    assert!(e.to_string().contains("is empty"), "{e}");
    std::fs::remove_file(file.parent().unwrap().join("secrets/ied2.pass")).unwrap();
    let e = p.credential_for(None, Some(&ied2())).unwrap_err();
    assert!(e.to_string().contains("cannot read password file"), "{e}");
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

/// The environment variable path runs in a child process (setting variables in this process
/// would need `unsafe`, which the workspace forbids).
#[test]
fn example_file_password_from_env() {
    if std::env::var_os("GULS_POLICY_CHILD").is_some() {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "env_child",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env("GULS_POLICY_CHILD", "1")
        .env(ENV, "ied1-demo-password")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");

    // Here the variable is not set: an error at `password_env`'s position.
    if std::env::var_os(ENV).is_none() {
        let p = InitiatorPolicy::parse(&example_text(), "initiator.toml").unwrap();
        let ied1 = ApTitle::Form2("1.3.9999.1.1".parse().unwrap());
        let e = p
            .credential_for(addr("192.0.2.11:102"), Some(&ied1))
            .unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::CredentialSource));
        let (line, column) = value_position("password_env");
        assert_eq!(e.position(), Some((line, column)), "{e}");
        assert!(
            e.to_string().starts_with(&format!(
                "initiator.toml:{line}:{column}: ied1: environment variable GULS_IED1_PASSWORD"
            )),
            "{e}"
        );
    }
}

#[test]
#[ignore = "run by example_file_password_from_env in a child process"]
fn env_child() {
    if std::env::var_os("GULS_POLICY_CHILD").is_none() {
        return;
    }
    let p = InitiatorPolicy::parse(&example_text(), "initiator.toml").unwrap();
    let ied1 = ApTitle::Form2("1.3.9999.1.1".parse().unwrap());
    let c = p
        .credential_for(addr("192.0.2.11:102"), Some(&ied1))
        .unwrap()
        .expect("credential");
    assert_eq!(&c.password[..], b"ied1-demo-password");
    assert!(!format!("{c:?}").contains("ied1-demo"));
    // IPv4-mapped IPv6 form of the same address.
    let c = p
        .credential_for(addr("[::ffff:192.0.2.11]:102"), Some(&ied1))
        .unwrap();
    assert!(c.is_some());
}

fn parse_err(text: &str) -> guls_policy::PolicyError {
    InitiatorPolicy::parse(text, "dir/init.toml").expect_err("must be refused")
}

#[test]
fn inline_password_refused() {
    let e = parse_err(
        "[[peer]]\naddresses = [\"10.0.0.1\"]\nmechanism = \"password\"\npassword = \"hunter2\"\n",
    );
    assert_eq!(e.kind(), Some(ErrorKind::PlainPassword));
    assert_eq!(e.position(), Some((4, 12)));
    let s = e.to_string();
    assert!(
        s.starts_with("dir/init.toml:4:12: plain passwords are not allowed"),
        "{s}"
    );
    assert!(
        s.contains("password_file") && s.contains("password_env"),
        "{s}"
    );
    assert!(!s.contains("hunter2"));
}

#[test]
fn initiator_errors_with_positions() {
    let cases: &[(&str, (usize, usize), ErrorKind, &str)] = &[
        (
            "[default]\nmechanism = \"password\"\npasword_env = \"X\"\n",
            (3, 1),
            ErrorKind::UnknownKey,
            "unknown field `pasword_env`",
        ),
        (
            "[default]\nmechanism = \"password\"\n",
            (2, 13),
            ErrorKind::BadValue,
            "needs password_file or password_env",
        ),
        (
            "[default]\nmechanism = \"none\"\npassword_env = \"X\"\n",
            (2, 13),
            ErrorKind::BadValue,
            "takes no password",
        ),
        (
            "[default]\nmechanism = \"password\"\npassword_env = \"X\"\npassword_file = \"f\"\n",
            (4, 17),
            ErrorKind::BadValue,
            "not both",
        ),
        (
            "[default]\nmechanism = \"password\"\npassword_env = \"A B\"\n",
            (3, 16),
            ErrorKind::BadValue,
            "environment variable name",
        ),
        (
            "[[peer]]\nmechanism = \"none\"\n",
            (1, 1),
            ErrorKind::BadValue,
            "matches nothing",
        ),
        (
            "[[peer]]\nap_title = \"1.3\"\nmechanism = \"2.2.3.2\"\n",
            (3, 13),
            ErrorKind::BadValue,
            "not implemented",
        ),
    ];
    for (text, pos, kind, needle) in cases {
        let e = parse_err(text);
        assert_eq!(e.kind(), Some(*kind), "{text:?}: {e}");
        assert_eq!(e.position(), Some(*pos), "{text:?}: {e}");
        assert!(e.to_string().contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn relative_password_file_is_relative_to_policy() {
    let dir = std::env::temp_dir().join(format!("guls-policy-{}-rel", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pw"), b"from-file").unwrap();
    let text = "[default]\nmechanism = \"2.2.3.1\"\npassword_file = \"pw\"\n";
    let policy_file: &Path = &dir.join("p.toml");
    let p = InitiatorPolicy::parse(text, policy_file.to_str().unwrap()).unwrap();
    let c = p.credential_for(None, None).unwrap().unwrap();
    assert_eq!(&c.password[..], b"from-file");
    let _ = std::fs::remove_dir_all(&dir);
}
