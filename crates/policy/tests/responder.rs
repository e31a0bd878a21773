//! The example responder policies in `policies/`, loaded and exercised: decisions for matching
//! peers and every diagnostic path (11, 12, 13, 14), TooLong, WrongArm, errors with positions,
//! and no secret in Debug, Display or summaries.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use guls_acse::{
    AeQualifier, ApTitle, AttributeTypeAndValue, AuthenticationValue, DistinguishedName,
    RelativeDistinguishedName, SecretExternal, UserDiagnostic,
};
use guls_association::AssociationConfig;
use guls_ber::{External, ExternalEncoding, Oid, known};
use guls_policy::{AuthRequest, Decision, ErrorKind, RejectReason, ResponderPolicy};
use zeroize::Zeroizing;

fn policy_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

fn load(name: &str) -> ResponderPolicy {
    ResponderPolicy::load(policy_path(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn charstring(p: &str) -> AuthenticationValue {
    AuthenticationValue::Charstring(Zeroizing::new(p.as_bytes().to_vec()))
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn dn(o: &str, cn: &str) -> ApTitle {
    let at = |t: &str, v: &str| {
        RelativeDistinguishedName(vec![AttributeTypeAndValue::printable(oid(t), v)])
    };
    ApTitle::Form1(DistinguishedName(vec![
        at("2.5.4.10", o),
        at("2.5.4.3", cn),
    ]))
}

static PASSWORD: Oid = known::PASSWORD_MECHANISM;

/// A request carrying the password mechanism with `value`.
fn pw<'a>(peer: Option<SocketAddr>, value: &'a AuthenticationValue) -> AuthRequest<'a> {
    AuthRequest {
        peer_addr: peer,
        sender_requests_authentication: true,
        mechanism_name: Some(&PASSWORD),
        authentication_value: Some(value),
        ..AuthRequest::default()
    }
}

#[track_caller]
fn assert_accept(d: &Decision, identity: Option<&str>, rule: &str) {
    match d {
        Decision::Accept {
            identity: id,
            mechanism,
            rule: r,
        } => {
            assert_eq!(id.as_deref(), identity, "{d:?}");
            assert_eq!(r, rule, "{d:?}");
            assert_eq!(mechanism.is_some(), identity.is_some(), "{d:?}");
        }
        _ => panic!("expected accept, got {d:?}"),
    }
}

#[track_caller]
fn assert_reject(d: &Decision, diag: i64, why: RejectReason, rule: &str) {
    match d {
        Decision::Reject {
            diagnostic,
            reason,
            rule: r,
        } => {
            assert_eq!(diagnostic.value(), diag, "{d:?}");
            assert_eq!(*reason, why, "{d:?}");
            assert_eq!(r, rule, "{d:?}");
        }
        _ => panic!("expected reject, got {d:?}"),
    }
}

#[test]
fn open_policy_file_and_builtin() {
    for p in [load("open.toml"), ResponderPolicy::open()] {
        let d = p.decide(&AuthRequest {
            peer_addr: addr("203.0.113.5:102"),
            ..AuthRequest::default()
        });
        assert_accept(&d, None, "default");
        // The FU bit alone changes nothing.
        let d = p.decide(&AuthRequest {
            sender_requests_authentication: true,
            ..AuthRequest::default()
        });
        assert_accept(&d, None, "default");
        // A password is not understood by a "none"-only rule: 11.
        let v = charstring("anything");
        assert_reject(
            &p.decide(&pw(None, &v)),
            11,
            RejectReason::MechanismNotAccepted,
            "default",
        );
        // A value without a mechanism name: 12.
        let d = p.decide(&AuthRequest {
            authentication_value: Some(&v),
            ..AuthRequest::default()
        });
        assert_reject(&d, 12, RejectReason::MechanismNameRequired, "default");
        let s = p.summary();
        assert!(s.contains("mechanisms: none"), "{s}");
        assert!(s.contains("authentication optional"), "{s}");
    }
}

#[test]
fn password_policy_every_path() {
    let p = load("password.toml");
    let peer = addr("198.51.100.7:40000");

    // Good password in charstring: accepted as "operator".
    let good = charstring("demo-password");
    let d = p.decide(&pw(peer, &good));
    assert_accept(&d, Some("operator"), "everyone");
    assert_eq!(
        d,
        Decision::Accept {
            identity: Some("operator".into()),
            mechanism: Some(known::PASSWORD_MECHANISM),
            rule: "everyone".into()
        }
    );

    // The same octets in a whole-octet bitstring (libiec61850 compatibility): accepted.
    let bits = AuthenticationValue::Bitstring {
        unused_bits: 0,
        bits: Zeroizing::new(b"demo-password".to_vec()),
    };
    assert_accept(&p.decide(&pw(peer, &bits)), Some("operator"), "everyone");

    // 13: wrong password.
    let bad = charstring("demo-passwore");
    assert_reject(
        &p.decide(&pw(peer, &bad)),
        13,
        RejectReason::BadPassword,
        "everyone",
    );

    // 14: nothing offered.
    let d = p.decide(&AuthRequest {
        peer_addr: peer,
        ..AuthRequest::default()
    });
    assert_reject(&d, 14, RejectReason::AuthenticationRequired, "everyone");
    let d = p.decide(&AuthRequest {
        peer_addr: peer,
        sender_requests_authentication: true,
        ..AuthRequest::default()
    });
    assert_reject(&d, 14, RejectReason::AuthenticationRequired, "everyone");

    // 12: a value without a mechanism name.
    let d = p.decide(&AuthRequest {
        authentication_value: Some(&good),
        ..AuthRequest::default()
    });
    assert_reject(&d, 12, RejectReason::MechanismNameRequired, "everyone");

    // 11: an unknown mechanism (IEC 62351-4 certificate mechanism), with or without value.
    let cert = oid("1.0.840.0.1.0.1.1");
    for value in [None, Some(&good)] {
        let d = p.decide(&AuthRequest {
            mechanism_name: Some(&cert),
            authentication_value: value,
            ..AuthRequest::default()
        });
        assert_reject(&d, 11, RejectReason::MechanismNotAccepted, "everyone");
    }

    // 13 MissingValue: the password mechanism without a value.
    let d = p.decide(&AuthRequest {
        mechanism_name: Some(&known::PASSWORD_MECHANISM),
        ..AuthRequest::default()
    });
    assert_reject(&d, 13, RejectReason::MissingValue, "everyone");

    // 13 TooLong: max_password_len is 64 here; 65 octets fail, and fail before hashing.
    assert_eq!(p.limits().max_password_len, 64);
    let long = charstring(&"x".repeat(65));
    assert_reject(
        &p.decide(&pw(peer, &long)),
        13,
        RejectReason::TooLong,
        "everyone",
    );
    let huge = AuthenticationValue::Charstring(Zeroizing::new(vec![b'a'; 16 << 20]));
    let t = Instant::now();
    assert_reject(
        &p.decide(&pw(peer, &huge)),
        13,
        RejectReason::TooLong,
        "everyone",
    );
    assert!(t.elapsed() < Duration::from_millis(50), "{:?}", t.elapsed());

    // 13 WrongArm: external and other arms are never a password.
    let ext = AuthenticationValue::External(SecretExternal::new(External {
        direct_reference: None,
        indirect_reference: Some(3),
        data_value_descriptor: None,
        encoding: ExternalEncoding::OctetAligned(b"demo-password".to_vec()),
    }));
    assert_reject(
        &p.decide(&pw(peer, &ext)),
        13,
        RejectReason::WrongArm,
        "everyone",
    );
    let other = AuthenticationValue::Other {
        mechanism_name: known::PASSWORD_MECHANISM,
        value: Zeroizing::new(vec![0x04, 0x02, b'h', b'i']),
    };
    assert_reject(
        &p.decide(&pw(peer, &other)),
        13,
        RejectReason::WrongArm,
        "everyone",
    );

    // 13 PartialOctets: a bitstring with unused bits.
    let partial = AuthenticationValue::Bitstring {
        unused_bits: 4,
        bits: Zeroizing::new(b"demo-password".to_vec()),
    };
    assert_reject(
        &p.decide(&pw(peer, &partial)),
        13,
        RejectReason::PartialOctets,
        "everyone",
    );

    // Limits and timeouts onto the association configuration.
    let mut config = AssociationConfig::default();
    let before = config.clone();
    p.apply_to(&mut config);
    assert_eq!(config.limits.max_associations, 32);
    assert_eq!(config.timeouts.idle, Duration::from_secs(120));
    assert_eq!(config.timeouts.establishment, Duration::from_secs(10));
    assert_eq!(config.timeouts.connect, before.timeouts.connect);
    assert_eq!(config.limits.max_contexts, before.limits.max_contexts);
    // The open policy changes nothing.
    let mut c2 = AssociationConfig::default();
    ResponderPolicy::open().apply_to(&mut c2);
    assert_eq!(c2, before);
}

#[test]
fn per_peer_rules_in_order() {
    let p = load("per-peer.toml");
    let ied1 = ApTitle::Form2(oid("1.3.9999.1.1"));
    let q12 = AeQualifier::Form2(12);
    let ied1_pw = charstring("ied1-demo-password");
    let ied2_pw = charstring("ied2-demo-password");
    let lan_pw = charstring("lan-demo-password");
    let demo_pw = charstring("demo-password");

    // Rule 1: AP-title and AE-qualifier both match; the bound credential verifies.
    let mut r = pw(addr("203.0.113.1:1"), &ied1_pw);
    r.calling_ap_title = Some(&ied1);
    r.calling_ae_qualifier = Some(&q12);
    assert_accept(&p.decide(&r), Some("ied1"), "ied1");
    // Same peer, someone else's password: 13.
    r.authentication_value = Some(&ied2_pw);
    assert_reject(&p.decide(&r), 13, RejectReason::BadPassword, "ied1");
    // Same peer, no authentication: 14 from rule ied1.
    r.mechanism_name = None;
    r.authentication_value = None;
    assert_reject(
        &p.decide(&r),
        14,
        RejectReason::AuthenticationRequired,
        "ied1",
    );

    // AE-qualifier differs: rule 1 does not match; the default has no credential: 13.
    let q13 = AeQualifier::Form2(13);
    let mut r = pw(addr("203.0.113.1:1"), &ied1_pw);
    r.calling_ap_title = Some(&ied1);
    r.calling_ae_qualifier = Some(&q13);
    assert_reject(&p.decide(&r), 13, RejectReason::NoCredential, "default");

    // Rule 2: form 1 AP-title (attribute values compare ignoring ASCII case).
    let ied2 = dn("Utility", "IED2");
    let mut r = pw(None, &ied2_pw);
    r.calling_ap_title = Some(&ied2);
    assert_accept(&p.decide(&r), Some("ied2"), "ied2");
    r.authentication_value = Some(&ied1_pw);
    assert_reject(&p.decide(&r), 13, RejectReason::BadPassword, "ied2");
    let other_dn = dn("utility", "ied3");
    r.calling_ap_title = Some(&other_dn);
    assert_reject(&p.decide(&r), 13, RejectReason::NoCredential, "default");

    // Rule 3: by address (IPv4, IPv4-mapped IPv6, IPv6); two unbound credentials.
    for a in [
        "10.20.3.4:102",
        "[::ffff:192.0.2.77]:102",
        "[2001:db8:20::9]:102",
    ] {
        assert_accept(
            &p.decide(&pw(addr(a), &lan_pw)),
            Some("operator"),
            "control-lan",
        );
    }
    assert_accept(
        &p.decide(&pw(addr("10.20.3.4:102"), &demo_pw)),
        Some("engineer"),
        "control-lan",
    );
    assert_reject(
        &p.decide(&pw(addr("10.20.3.4:102"), &ied1_pw)),
        13,
        RejectReason::BadPassword,
        "control-lan",
    );
    // The ied1 AP-title from the LAN: rule 1 comes first (first match wins)... but only with
    // AE-qualifier 12; without it rule 3 (address) decides and ied1's bound credential does
    // not apply there.
    let mut r = pw(addr("10.20.3.4:102"), &ied1_pw);
    r.calling_ap_title = Some(&ied1);
    assert_reject(&p.decide(&r), 13, RejectReason::BadPassword, "control-lan");
    r.calling_ae_qualifier = Some(&q12);
    assert_accept(&p.decide(&r), Some("ied1"), "ied1");

    // Rule 4: loopback may skip authentication, but a presented password must verify.
    let d = p.decide(&AuthRequest {
        peer_addr: addr("127.0.0.1:5000"),
        ..AuthRequest::default()
    });
    assert_accept(&d, None, "loopback");
    assert_accept(
        &p.decide(&pw(addr("[::1]:5000"), &demo_pw)),
        Some("local-engineer"),
        "loopback",
    );
    assert_reject(
        &p.decide(&pw(addr("127.0.0.1:5000"), &lan_pw)),
        13,
        RejectReason::BadPassword,
        "loopback",
    );

    // Default: unmatched peers are denied (14 without authentication, 13 with a password).
    let d = p.decide(&AuthRequest {
        peer_addr: addr("203.0.113.9:102"),
        ..AuthRequest::default()
    });
    assert_reject(&d, 14, RejectReason::AuthenticationRequired, "default");
    assert_reject(
        &p.decide(&pw(addr("203.0.113.9:102"), &demo_pw)),
        13,
        RejectReason::NoCredential,
        "default",
    );
    // No address at all: only AP-title rules can match.
    assert_reject(
        &p.decide(&AuthRequest::default()),
        14,
        RejectReason::AuthenticationRequired,
        "default",
    );

    let s = p.summary();
    for needle in [
        "1. ied1: matches calling AP-title 1.3.9999.1.1 and calling AE-qualifier 12",
        "2. ied2: matches calling AP-title {CN=ied2,O=utility}",
        "3. control-lan: matches address in 10.20.0.0/16, 192.0.2.0/24, 2001:db8:20::/48",
        "2 credentials",
        "1 bound to an AP-title",
        "4. loopback",
        "authentication optional",
        "default: matches every peer; mechanisms: password; authentication required; 0 credentials",
        "max associations 64",
        "idle 300 s",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
}

#[test]
fn reasons_and_diagnostics() {
    let all = [
        (
            RejectReason::MechanismNameRequired,
            12,
            "mechanism-name-required",
        ),
        (
            RejectReason::MechanismNotAccepted,
            11,
            "mechanism-not-accepted",
        ),
        (
            RejectReason::AuthenticationRequired,
            14,
            "authentication-required",
        ),
        (
            RejectReason::MissingValue,
            13,
            "missing-authentication-value",
        ),
        (RejectReason::WrongArm, 13, "wrong-value-arm"),
        (
            RejectReason::PartialOctets,
            13,
            "bitstring-not-whole-octets",
        ),
        (RejectReason::TooLong, 13, "password-too-long"),
        (RejectReason::NoCredential, 13, "no-applicable-credential"),
        (RejectReason::BadPassword, 13, "bad-password"),
    ];
    for (r, d, name) in all {
        assert_eq!(r.diagnostic().value(), d);
        assert_eq!(r.name(), name);
        assert_eq!(r.to_string(), name);
    }
    assert_eq!(
        RejectReason::AuthenticationRequired.diagnostic(),
        UserDiagnostic::AuthenticationRequired
    );
}

/// Every `$argon2id$...` string in the example files.
fn hashes_in(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(policy_path(name)).unwrap();
    text.split('"')
        .filter(|s| s.starts_with("$argon2id$"))
        .map(str::to_string)
        .collect()
}

#[test]
fn no_secret_in_debug_or_summary() {
    for name in ["password.toml", "per-peer.toml"] {
        let p = load(name);
        let hashes = hashes_in(name);
        assert!(!hashes.is_empty());
        let debug = format!("{p:?}");
        let pretty = format!("{p:#?}");
        let summary = p.summary();
        assert!(debug.contains("<redacted>"), "{debug}");
        for h in &hashes {
            // Neither the whole string nor its salt or output.
            for part in h.split('$').filter(|s| s.len() >= 16) {
                for shown in [&debug, &pretty, &summary] {
                    assert!(!shown.contains(part), "hash part leaked: {shown}");
                }
            }
        }
        for shown in [&debug, &pretty, &summary] {
            assert!(!shown.contains("argon2id$"), "{shown}");
            assert!(!shown.contains("demo-password"), "{shown}");
        }
    }
    // A request and a decision: no password.
    let v = charstring("demo-password");
    let r = pw(None, &v);
    let s = format!("{r:?}");
    assert!(!s.contains("demo-password"), "{s}");
    let d = load("password.toml").decide(&r);
    assert!(!format!("{d:?}").contains("demo-password"));
}

fn parse_err(text: &str) -> guls_policy::PolicyError {
    ResponderPolicy::parse(text, "test.toml").expect_err("must be refused")
}

#[test]
fn plain_password_refused_with_position() {
    let text = "[default]\nmechanisms = [\"password\"]\n\n[[default.credential]]\nidentity = \"op\"\n  password = \"hunter2\"\n";
    let e = parse_err(text);
    assert_eq!(e.kind(), Some(ErrorKind::PlainPassword));
    assert_eq!(e.position(), Some((6, 14)), "{e}");
    let s = e.to_string();
    assert!(
        s.starts_with("test.toml:6:14: plain passwords are not allowed"),
        "{s}"
    );
    assert!(!s.contains("hunter2"), "{s}");
    assert!(!format!("{e:?}").contains("hunter2"));

    // In a rule table too.
    let text = "[[rule]]\naddresses = [\"10.0.0.0/8\"]\nmechanisms = [\"password\"]\npassword = \"hunter2\"\n";
    let e = parse_err(text);
    assert_eq!(e.kind(), Some(ErrorKind::PlainPassword));
    assert_eq!(e.position(), Some((4, 12)), "{e}");
    assert!(!e.to_string().contains("hunter2"));

    // A plain password put in password_hash: refused as not a hash, value not echoed.
    let text = "[default]\nmechanisms = [\"password\"]\n[[default.credential]]\nidentity = \"op\"\npassword_hash = \"hunter2\"\n";
    let e = parse_err(text);
    assert_eq!(e.kind(), Some(ErrorKind::BadHash));
    assert_eq!(e.position(), Some((5, 17)), "{e}");
    assert!(e.to_string().contains("plain passwords are refused"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");

    // A broken PHC string, a non-argon2id one, and an over-costly one.
    for (h, needle) in [
        (
            "$argon2id$v=19$m=19456,t=2,p=1$c/wg8GFcU3tek3VK1q7QrA",
            "salt or hash missing",
        ),
        (
            "$argon2i$v=19$m=19456,t=2,p=1$c/wg8GFcU3tek3VK1q7QrA$xmQ9cIwP7+TJOXnjhZXyMOXbdjIv4h5K85iSCmgHipk",
            "argon2id PHC",
        ),
        (
            "$argon2id$v=19$m=4194304,t=2,p=1$c/wg8GFcU3tek3VK1q7QrA$xmQ9cIwP7+TJOXnjhZXyMOXbdjIv4h5K85iSCmgHipk",
            "too costly",
        ),
    ] {
        let text = format!(
            "[default]\nmechanisms = [\"password\"]\n[[default.credential]]\nidentity = \"op\"\npassword_hash = \"{h}\"\n"
        );
        let e = parse_err(&text);
        assert_eq!(e.kind(), Some(ErrorKind::BadHash), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
        assert!(!e.to_string().contains("xmQ9cIwP7"), "{e}");
    }
}

#[test]
fn unknown_key_refused_with_position() {
    let e = parse_err("[default]\nmechanisms = [\"none\"]\nmechanism = \"none\"\n");
    assert_eq!(e.kind(), Some(ErrorKind::UnknownKey), "{e}");
    assert_eq!(e.position(), Some((3, 1)), "{e}");
    assert!(
        e.to_string()
            .starts_with("test.toml:3:1: unknown field `mechanism`"),
        "{e}"
    );

    let e = parse_err("[limits]\nmax_associations = 4\n max_sessions = 4\n");
    assert_eq!(e.kind(), Some(ErrorKind::UnknownKey), "{e}");
    assert_eq!(e.position(), Some((3, 2)), "{e}");

    let e = parse_err(
        "[[rule]]\naddresses = [\"10.0.0.0/8\"]\nmechanisms = [\"none\"]\n[[rule.credential]]\nidentity = \"a\"\nsalt = \"x\"\n",
    );
    assert_eq!(e.kind(), Some(ErrorKind::UnknownKey), "{e}");
    assert_eq!(e.position(), Some((6, 1)), "{e}");

    let e = parse_err("[defaults]\nmechanisms = [\"none\"]\n");
    assert_eq!(e.kind(), Some(ErrorKind::UnknownKey), "{e}");
    assert_eq!(e.position().map(|p| p.0), Some(1), "{e}");
}

#[test]
fn bad_values_refused_with_position() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "[[rule]]\naddresses = [\"10.0.0.1/8\"]\nmechanisms = [\"none\"]\n",
            (2, 14),
            "host bits",
        ),
        (
            "[[rule]]\nap_title = \"XX=ied1\"\nmechanisms = [\"none\"]\n",
            (2, 12),
            "unknown attribute type",
        ),
        (
            "[[rule]]\nap_title = \"1.3\"\nmechanisms = [\"kerberos\"]\n",
            (3, 15),
            "unknown mechanism",
        ),
        (
            "[default]\nmechanisms = [\"1.0.840.0.1.0.1.1\"]\n",
            (2, 15),
            "not implemented",
        ),
        (
            "[default]\nmechanisms = [\"none\"]\nrequire_authentication = true\n",
            (3, 26),
            "contradicts",
        ),
        (
            "[[rule]]\nmechanisms = [\"none\"]\n",
            (1, 1),
            "matches nothing",
        ),
        (
            "[default]\naddresses = [\"10.0.0.0/8\"]\nmechanisms = [\"none\"]\n",
            (1, 1),
            "[default] matches every peer",
        ),
        (
            "[limits]\nmax_password_len = 0\n",
            (2, 20),
            "max_password_len",
        ),
        ("[limits]\nmax_associations = -1\n", (2, 20), ""),
        ("[timeouts]\nidle_secs = 0\n", (2, 13), "idle_secs"),
        ("[default]\nmechanisms = \"none\"\n", (2, 14), ""),
        ("[default\nmechanisms = [\"none\"]\n", (1, 9), ""),
    ];
    for (text, pos, needle) in cases {
        let e = parse_err(text);
        assert_eq!(e.position(), Some(*pos), "{text:?}: {e}");
        assert!(e.to_string().contains(needle), "{text:?}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("test.toml:{}:{}: ", pos.0, pos.1))
        );
    }
}

#[test]
fn missing_file_names_it() {
    let e = ResponderPolicy::load("/nonexistent/guls.toml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/guls.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn no_default_denies() {
    let p = ResponderPolicy::parse(
        "[[rule]]\naddresses = [\"127.0.0.1\"]\nmechanisms = [\"none\"]\n",
        "t.toml",
    )
    .unwrap();
    let d = p.decide(&AuthRequest {
        peer_addr: addr("127.0.0.1:1"),
        ..AuthRequest::default()
    });
    assert_accept(&d, None, "rule 1");
    let d = p.decide(&AuthRequest {
        peer_addr: addr("127.0.0.2:1"),
        ..AuthRequest::default()
    });
    assert_reject(&d, 14, RejectReason::AuthenticationRequired, "default");
    let v = charstring("x");
    assert_reject(
        &p.decide(&pw(addr("127.0.0.2:1"), &v)),
        11,
        RejectReason::MechanismNotAccepted,
        "default",
    );
}

#[test]
fn hash_password_round_trip() {
    let h = guls_policy::hash_password(b"round-trip").unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    let h2 = guls_policy::hash_password(b"round-trip").unwrap();
    assert_ne!(h, h2, "salts must differ");
    let text = format!(
        "[default]\nmechanisms = [\"password\"]\n[[default.credential]]\nidentity = \"rt\"\npassword_hash = \"{h}\"\n"
    );
    let p = ResponderPolicy::parse(&text, "rt.toml").unwrap();
    let v = charstring("round-trip");
    assert_accept(&p.decide(&pw(None, &v)), Some("rt"), "default");
}

/// Measures one verification with the default parameters. Run with
/// `cargo test --release -p guls-policy --test responder -- --ignored --nocapture verify_time`.
#[test]
#[ignore = "timing measurement"]
fn verify_time() {
    let p = load("password.toml");
    let v = charstring("demo-password");
    let r = pw(None, &v);
    assert!(p.decide(&r).is_accept());
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        assert!(p.decide(&r).is_accept());
    }
    println!(
        "argon2id verify (m=19456,t=2,p=1): {:?} per decision",
        t.elapsed() / n
    );
}
