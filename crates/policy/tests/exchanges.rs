//! The security exchange keys of responder and initiator policies.

use guls_policy::exchanges::{
    ExchangeCarrier, OnExchangeFailure, exchange_oid, simple_negotiation,
};
use guls_policy::{AuthRequest, InitiatorPolicy, ResponderPolicy};

#[test]
fn responder_keys_parse() {
    let p = ResponderPolicy::parse(
        r#"
[[rule]]
name = "ieds"
addresses = ["10.0.0.0/8"]
mechanisms = []
exchanges = ["hmac-challenge", "simple-negotiation", "1.2.3.4"]
require_exchange = true
on_exchange_failure = "continue"

[default]
mechanisms = ["none"]
"#,
        "r.toml",
    )
    .unwrap();
    let req = AuthRequest {
        peer_addr: Some("10.1.2.3:102".parse().unwrap()),
        ..AuthRequest::default()
    };
    let (rule, x) = p.exchanges_for(&req);
    assert_eq!(rule, "ieds");
    assert_eq!(
        x.accepted,
        [
            exchange_oid("hmac-challenge").unwrap(),
            simple_negotiation(),
            "1.2.3.4".parse().unwrap()
        ]
    );
    assert!(x.required);
    assert_eq!(x.on_failure, OnExchangeFailure::Continue);
    let (rule, x) = p.exchanges_for(&AuthRequest::default());
    assert_eq!(rule, "default");
    assert!(!x.is_active());
    assert_eq!(x.on_failure, OnExchangeFailure::AbortWhenRequired);
    assert!(
        p.summary()
            .contains("exchanges: hmac-challenge, simple-negotiation, 1.2.3.4 (required)")
    );
    assert_eq!(p.exchanges_named().len(), 3);
}

fn responder_error(text: &str) -> String {
    ResponderPolicy::parse(text, "r.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn responder_keys_errors_name_line_and_column() {
    assert_eq!(
        responder_error("[default]\nmechanisms = []\nexchanges = [\"dir-auth\"]\n"),
        "r.toml:3:14: unknown exchange `dir-auth` (known: simple-negotiation, \
         dir-authentication-one-way, dir-authentication-two-way, signed-key-agreement, \
         hmac-challenge, or a dotted OID)"
    );
    let e = responder_error(
        "[default]\nmechanisms = []\nexchanges = [\"hmac-challenge\"]\non_exchange_failure = \"ignore\"\n",
    );
    assert!(
        e.starts_with("r.toml:4:23: unknown on_exchange_failure `ignore`"),
        "{e}"
    );
    let e = responder_error("[default]\nmechanisms = []\nrequire_exchange = true\n");
    assert!(
        e.starts_with("r.toml:3:20: require_exchange = true needs"),
        "{e}"
    );
    let e = responder_error("[default]\nmechanisms = []\nexchange = [\"x\"]\n");
    assert!(e.starts_with("r.toml:3:1: unknown field `exchange`"), "{e}");
}

#[test]
fn initiator_keys_parse_and_fail() {
    let p = InitiatorPolicy::parse(
        r#"
[[peer]]
addresses = ["192.0.2.10"]
mechanism = "none"
exchanges = ["dir-authentication-two-way", "signed-key-agreement"]
carrier = "user-information"
on_exchange_failure = "abort"

[default]
mechanism = "none"
"#,
        "i.toml",
    )
    .unwrap();
    let x = p
        .exchanges_for(Some("192.0.2.10:102".parse().unwrap()), None)
        .unwrap();
    assert_eq!(x.offered.len(), 2);
    assert_eq!(x.carrier, ExchangeCarrier::UserInformation);
    assert_eq!(x.on_failure, OnExchangeFailure::Abort);
    assert!(p.exchanges_for(None, None).is_none());
    assert!(p.summary().contains("via user-information"));

    let err = |t: &str| InitiatorPolicy::parse(t, "i.toml").unwrap_err().to_string();
    let e = err(
        "[default]\nmechanism = \"none\"\ncarrier = \"smoke\"\nexchanges = [\"hmac-challenge\"]\n",
    );
    assert!(e.starts_with("i.toml:3:11: unknown carrier `smoke`"), "{e}");
    let e = err("[default]\nmechanism = \"none\"\nexchanges = [\"simple-negotiation\"]\n");
    assert!(
        e.starts_with("i.toml:3:13: offering only simple-negotiation"),
        "{e}"
    );
    let e = err(
        "[default]\nmechanism = \"password\"\npassword_env = \"X\"\nexchanges = [\"hmac-challenge\"]\n",
    );
    assert!(
        e.starts_with("i.toml:4:13: default: a security exchange replaces the password"),
        "{e}"
    );
    let e = err("[default]\nmechanism = \"none\"\nexchanges = [\"nope\"]\n");
    assert!(e.starts_with("i.toml:3:14: unknown exchange `nope`"), "{e}");
}
