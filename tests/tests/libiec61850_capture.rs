//! A live capture of libiec61850 talking to itself (its client with an ACSE password, its
//! server checking it), decoded by `guls decode`'s dissector: real traffic from a stack nobody
//! here wrote, through every layer.
//!
//! Needs tshark (live capture on loopback) and the PyPI peers (`tests/peers/setup.sh`); skipped
//! with a message when missing, unless `GULS_INTEROP=require`.

use guls::dissect::{DecodeFrom, dissect_input};
use guls_tests::peers::{
    peers_available_or_skip, run_iec_client, run_iec_client_identify_retrying, start_iec_server,
};
use guls_tests::tshark::{LiveCapture, TempDir, require_tool, skip_or_fail};
use serde_json::Value;

#[test]
fn libiec61850_password_association_capture_decodes() {
    if !require_tool("tshark") || !peers_available_or_skip() {
        return;
    }
    let server = start_iec_server(Some("s3cret-pw")).expect("libiec61850 server starts");
    let dir = TempDir::new("iec-cap").unwrap();
    let path = dir.path().join("iec.pcapng");
    let mut cap = match LiveCapture::start(server.port(), &path) {
        Ok(c) => c,
        Err(e) => {
            skip_or_fail(&format!("live capture not possible: {e}"));
            return;
        }
    };
    let (result, runs) =
        run_iec_client_identify_retrying("127.0.0.1", server.port(), Some("s3cret-pw"))
            .expect("libiec61850 client runs");
    assert_eq!(result["connect_error"], 0, "{result}");
    assert_eq!(result["identify"]["mms_error"], 0, "{result}");
    let rejected = run_iec_client("127.0.0.1", server.port(), Some("wrong"), false)
        .expect("libiec61850 client runs");
    assert_ne!(rejected["connect_error"], 0, "{rejected}");
    cap.stop().expect("capture stops");
    drop(server);

    let report = dissect_input(&std::fs::read(&path).unwrap(), DecodeFrom::Tpkt).unwrap();
    assert!(!report.failed(), "{}", report.to_json());
    let units = report.to_json().as_array().cloned().unwrap();
    let aarqs: Vec<&Value> = units
        .iter()
        .filter(|u| u["acse"]["type"] == "AARQ")
        .collect();
    assert_eq!(
        aarqs.len(),
        runs + 1,
        "the accepted runs and the rejected one"
    );
    for a in &aarqs {
        assert_eq!(a["acse"]["mechanism_name"], "2.2.3.1");
        assert_eq!(a["acse"]["authentication_value"]["kind"], "charstring");
        assert_eq!(
            a["presentation"]["contexts"][1]["abstract_syntax"],
            "1.0.9506.2.1"
        );
        assert_eq!(a["session"][0]["type"], "CN");
    }
    for a in &aarqs[..runs] {
        assert_eq!(a["acse"]["authentication_value"]["length"], 9);
    }
    assert_eq!(aarqs[runs]["acse"]["authentication_value"]["length"], 5);
    // The right password is accepted: one AARE, accepted; the wrong one gets no AARE at all
    // (libiec61850 closes TCP, PEERS.md 1.1).
    let aares: Vec<&Value> = units
        .iter()
        .filter(|u| u["acse"]["type"] == "AARE")
        .collect();
    assert_eq!(aares.len(), runs);
    assert!(aares.iter().all(|a| a["acse"]["result"] == "accepted"));
    assert!(units.iter().any(|u| u["presentation"]["type"] == "TD"));
    assert!(units.iter().any(|u| u["acse"]["type"] == "RLRQ"));
    let text = serde_json::to_string(&units).unwrap();
    assert!(!text.contains("s3cret"), "no secret in the output");
    assert_eq!(
        units.iter().map(|u| u["stream"].as_u64().unwrap()).max(),
        Some(runs as u64),
        "one TCP connection per run"
    );
}
