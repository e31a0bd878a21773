//! The SESE issue's "Done when": `guls decode` shows the SESE traffic of `guls serve` and
//! `guls connect`. A responder run by `guls::serve` (a policy requiring the `hmac-challenge`
//! exchange) and an initiator run by `guls::connect` (offering it, once in the ACSE
//! authentication fields, once in user-information) are captured live on loopback; the
//! capture is decoded by `guls::dissect` (what `guls decode FILE` runs), which must show the
//! `sese` entries with the right carriers: the first item in the AARQ, the reply in the AARE,
//! the last item in P-DATA.
//!
//! Needs tshark (dumpcap) and permission to capture on `lo`; skipped with a printed reason
//! otherwise, unless `GULS_INTEROP=require`.

use std::time::Duration;

use guls::connect::{ConnectOptions, Payload, connect};
use guls::dissect::{DecodeFrom, dissect_input};
use guls::exchanges::{BuiltIns, Psk};
use guls::profile::Profile;
use guls::serve::{ServeOptions, serve};
use guls_policy::exchanges::{ExchangeCarrier, exchange_oid};
use guls_tests::tshark::{LiveCapture, TempDir, require_tool, skip_or_fail};
use serde_json::Value;

const POLICY: &str = r#"
[default]
mechanisms = ["none"]
exchanges = ["hmac-challenge"]
require_exchange = true
"#;

fn builtins() -> BuiltIns {
    BuiltIns {
        psk: Some(Psk::new("alice", b"a pre-shared test key")),
        ..BuiltIns::default()
    }
}

#[test]
fn guls_decode_shows_sese_of_serve_and_connect() {
    if !require_tool("tshark") {
        return;
    }
    let dir = TempDir::new("guls-sese-cli").expect("temp dir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.path().join("sese-cli.pcapng");
    let mut cap = match LiveCapture::start(port, &path) {
        Ok(c) => c,
        Err(e) => {
            skip_or_fail(&format!("live capture not possible: {e}"));
            return;
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let statuses = rt.block_on(async {
        let server = tokio::spawn(serve(ServeOptions {
            listen: addr.clone(),
            profile: Profile::Demo,
            contexts: Vec::new(),
            max_associations: None,
            idle_timeout: None,
            once: false,
            policy: Some(policy.clone()),
            audit: Some(dir.path().join("audit.log")),
            builtins: builtins(),
        }));
        // The listener is up once a TCP connect succeeds.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut statuses = Vec::new();
        for carrier in [
            ExchangeCarrier::AuthenticationValue,
            ExchangeCarrier::UserInformation,
        ] {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let status = connect(
                ConnectOptions {
                    addr: addr.clone(),
                    profile: Profile::Demo,
                    contexts: Vec::new(),
                    payload: Some(Payload::Text("hello".into())),
                    password: None,
                    policy: None,
                    calling_ap_title: None,
                    calling_ae_qualifier: None,
                    called_ap_title: None,
                    timeout: Duration::from_secs(10),
                    exchanges: vec![exchange_oid("hmac-challenge").unwrap()],
                    carrier: Some(carrier),
                    builtins: builtins(),
                    audit: None,
                },
                &mut out,
                &mut err,
            )
            .await;
            statuses.push((
                status,
                String::from_utf8_lossy(&out).into_owned(),
                String::from_utf8_lossy(&err).into_owned(),
            ));
        }
        server.abort();
        statuses
    });
    drop(rt);
    cap.stop().expect("capture stops");
    for (status, out, err) in &statuses {
        assert_eq!(*status, 0, "{out}\n{err}");
    }

    let report = dissect_input(&std::fs::read(&path).unwrap(), DecodeFrom::Tpkt)
        .expect("guls decode reads the capture");
    assert!(!report.failed(), "{}", report.to_json());
    let carriers: Vec<(String, i64)> = report
        .to_json()
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| u["sese"].as_array().cloned().unwrap_or_default())
        .map(|s: Value| {
            assert_eq!(s["type"], "se-transfer", "{s}");
            assert_eq!(
                s["exchange"],
                "2.25.36238538382872986225690784931241271656.9.1"
            );
            (
                s["carrier"].as_str().unwrap().to_string(),
                s["item"].as_i64().unwrap(),
            )
        })
        .collect();
    let c = |s: &str, i| (s.to_string(), i);
    assert_eq!(
        carriers,
        [
            c("aarq-authentication-value", 1),
            c("aare-authentication-value", 2),
            c("p-data", 3),
            c("user-information", 1),
            c("user-information", 2),
            c("p-data", 3),
        ],
        "SESE entries of `guls decode`"
    );
}
