//! `guls decode`'s dissector on real traffic: the golden libiec61850 trace (as TPKT streams and
//! as a TCP capture made by text2pcap), the malformed inputs of libiec61850 issues #252, #368
//! and #589, and units after a failing one.

use guls::dissect::{DecodeFrom, Report, dissect_input};
use guls_tests::tshark::{TempDir, require_tool};
use guls_tests::vectors::{GOLDEN_TRACE, hex};
use serde_json::Value;

fn stream(client: bool) -> Vec<u8> {
    GOLDEN_TRACE
        .iter()
        .filter(|(c, _)| *c == client)
        .flat_map(|(_, h)| hex(h))
        .collect()
}

fn units(report: &Report) -> Vec<Value> {
    report.to_json().as_array().cloned().unwrap_or_default()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn check_client_side(u: &[Value]) {
    assert_eq!(u.len(), 5, "CR, CN, 2 data, FN: {u:#?}");
    assert_eq!(s(&u[0]["cotp"]["type"]), "CR");
    assert_eq!(u[0]["cotp"]["tpdu_size"], 8192);
    assert_eq!(s(&u[0]["cotp"]["calling_tsel"]), "0001");
    let cn = &u[1];
    assert_eq!(s(&cn["cotp"]["type"]), "DT");
    assert_eq!(s(&cn["session"][0]["type"]), "CN");
    assert_eq!(cn["session"][0]["version"], serde_json::json!([2]));
    assert_eq!(
        cn["session"][0]["functional_units"],
        serde_json::json!(["duplex"])
    );
    assert_eq!(s(&cn["session"][0]["calling_ssel"]), "0001");
    assert_eq!(s(&cn["session"][0]["called_ssel"]), "0001");
    let p = &cn["presentation"];
    assert_eq!(s(&p["type"]), "CP");
    assert_eq!(p["contexts"].as_array().map(Vec::len), Some(2));
    assert_eq!(p["contexts"][1]["id"], 3);
    assert_eq!(s(&p["contexts"][1]["abstract_syntax"]), "1.0.9506.2.1");
    assert_eq!(p["user_data"][0]["pcid"], 1);
    assert_eq!(p["user_data"][0]["length"], 112);
    let a = &cn["acse"];
    assert_eq!(s(&a["type"]), "AARQ");
    assert_eq!(s(&a["application_context"]), "1.0.9506.2.3");
    assert_eq!(s(&a["called_ap_title"]), "1.1.1.999.1");
    assert_eq!(s(&a["calling_ap_title"]), "1.1.1.999");
    assert_eq!(a["calling_ae_qualifier"], 12);
    assert_eq!(s(&a["mechanism_name"]), "2.2.3.1");
    assert_eq!(s(&a["authentication_value"]["kind"]), "charstring");
    assert_eq!(a["authentication_value"]["length"], 12);
    assert_eq!(a["user_information"][0]["pcid"], 3);
    assert_eq!(s(&a["user_information"][0]["encoding"]), "single-asn1-type");
    // Secrets never printed: the password appears nowhere in the output.
    let all = serde_json::to_string(&u).unwrap();
    assert!(!all.contains("testpw"));
    assert!(!all.contains("7573657231")); // "user1" in hex
    for data in &u[2..4] {
        assert_eq!(s(&data["session"][0]["type"]), "GT");
        assert_eq!(s(&data["session"][1]["type"]), "DT");
        assert_eq!(s(&data["presentation"]["type"]), "TD");
        assert_eq!(data["presentation"]["user_data"][0]["pcid"], 3);
    }
    let fin = &u[4];
    assert_eq!(s(&fin["session"][0]["type"]), "FN");
    assert_eq!(s(&fin["acse"]["type"]), "RLRQ");
    assert_eq!(s(&fin["acse"]["reason"]), "normal");
}

fn check_server_side(u: &[Value]) {
    assert_eq!(u.len(), 5, "CC, AC, 2 data, DN: {u:#?}");
    assert_eq!(s(&u[0]["cotp"]["type"]), "CC");
    let ac = &u[1];
    assert_eq!(s(&ac["session"][0]["type"]), "AC");
    assert_eq!(s(&ac["session"][0]["responding_ssel"]), "0001");
    assert_eq!(s(&ac["presentation"]["type"]), "CPA");
    assert_eq!(s(&ac["presentation"]["responding_selector"]), "00000001");
    for r in ac["presentation"]["results"].as_array().unwrap() {
        assert_eq!(s(&r["result"]), "acceptance");
        assert_eq!(s(&r["transfer_syntax"]), "2.1.1");
    }
    let a = &ac["acse"];
    assert_eq!(s(&a["type"]), "AARE");
    assert_eq!(s(&a["result"]), "accepted");
    assert_eq!(s(&a["diagnostic"]["source"]), "acse-service-user");
    assert_eq!(a["diagnostic"]["value"], 0);
    assert_eq!(a["user_information"][0]["pcid"], 3);
    assert_eq!(s(&u[4]["session"][0]["type"]), "DN");
    assert_eq!(s(&u[4]["acse"]["type"]), "RLRE");
}

#[test]
fn golden_trace_streams_decode_field_by_field() {
    let client = dissect_input(&stream(true), DecodeFrom::Tpkt).unwrap();
    assert!(!client.failed());
    check_client_side(&units(&client));
    let server = dissect_input(&stream(false), DecodeFrom::Tpkt).unwrap();
    assert!(!server.failed());
    check_server_side(&units(&server));
}

#[test]
fn golden_trace_as_a_tcp_capture() {
    if !require_tool("text2pcap") {
        return;
    }
    let dir = TempDir::new("golden-cap").unwrap();
    let input = dir.path().join("trace.txt");
    let pcap = dir.path().join("trace.pcapng");
    // One TCP segment per line; '<' client to server, '>' the reverse (PEERS.md 3.1). The CN is
    // split in two segments to exercise reassembly across packets.
    let mut text = String::new();
    for (client, h) in GOLDEN_TRACE {
        let dir = if *client { '<' } else { '>' };
        if h.len() > 200 {
            let (a, b) = h.split_at(100);
            text.push_str(&format!("{dir} {a}\n{dir} {b}\n"));
        } else {
            text.push_str(&format!("{dir} {h}\n"));
        }
    }
    std::fs::write(&input, text).unwrap();
    let status = std::process::Command::new("text2pcap")
        .args(["-q", "-r", r"^(?<dir>[<>])\s(?<data>[0-9a-fA-F]+)$", "-D"])
        .args(["-4", "127.0.0.2,127.0.0.1", "-T", "40000,102"])
        .arg(&input)
        .arg(&pcap)
        .status()
        .expect("text2pcap runs");
    assert!(status.success());
    let report = dissect_input(&std::fs::read(&pcap).unwrap(), DecodeFrom::Tpkt).unwrap();
    assert!(!report.failed(), "{}", report.to_json());
    let u = units(&report);
    assert_eq!(u.len(), 10);
    // Units interleave in wire order and carry their direction.
    let types: Vec<String> = u
        .iter()
        .map(|x| {
            x.get("acse")
                .map(|a| s(&a["type"]).to_string())
                .or_else(|| x["session"].get(0).map(|p| s(&p["type"]).to_string()))
                .unwrap_or_else(|| s(&x["cotp"]["type"]).to_string())
        })
        .collect();
    assert_eq!(
        types,
        [
            "CR", "CC", "AARQ", "AARE", "GT", "GT", "GT", "GT", "RLRQ", "RLRE"
        ]
    );
    assert_eq!(s(&u[0]["direction"]), "127.0.0.2:40000 -> 127.0.0.1:102");
    assert_eq!(s(&u[1]["direction"]), "127.0.0.1:102 -> 127.0.0.2:40000");
    assert!(u.iter().all(|x| x["stream"] == 0));
    let client: Vec<Value> = u
        .iter()
        .filter(|x| s(&x["direction"]).starts_with("127.0.0.2"))
        .cloned()
        .collect();
    check_client_side(&client);
    let server: Vec<Value> = u
        .iter()
        .filter(|x| s(&x["direction"]).starts_with("127.0.0.1"))
        .cloned()
        .collect();
    check_server_side(&server);
}

fn single_error(hex_input: &str) -> (Value, Report) {
    let report = dissect_input(&hex(hex_input), DecodeFrom::Tpkt).unwrap();
    assert!(report.failed());
    let u = units(&report);
    (u.last().cloned().unwrap(), report)
}

#[test]
fn libiec61850_issue_252_cp_without_normal_mode_parameters() {
    let (u, _) = single_error("03000017 02f080 0d0ec10c310aff08bbbbbbbbbbbbbbbb");
    assert_eq!(s(&u["session"][0]["type"]), "CN");
    assert_eq!(s(&u["error"]["layer"]), "presentation");
    // The CP starts at TSDU offset 4; the `ff 08` that should be normal-mode-parameters is
    // read as a long-form length at offset 6 that overruns the PPDU.
    assert_eq!(u["error"]["offset"], 6);
    assert!(s(&u["error"]["message"]).contains("truncated"));
}

#[test]
fn libiec61850_issue_368_cn_with_one_octet_of_user_data() {
    let (u, _) = single_error("0300001602f0800d0d0100c1013181020001a2020000");
    assert_eq!(s(&u["session"][0]["type"]), "CN");
    assert_eq!(u["session"][0]["user_data_length"], 1);
    assert_eq!(s(&u["error"]["layer"]), "presentation");
    assert!(s(&u["error"]["message"]).contains("truncated"));
}

#[test]
fn libiec61850_issue_589_tpdu_size_code_is_clamped() {
    let report = dissect_input(
        &hex("0300001611e00000000100c001a2c2020001c1020001"),
        DecodeFrom::Tpkt,
    )
    .unwrap();
    assert!(!report.failed());
    assert_eq!(units(&report)[0]["cotp"]["tpdu_size"], 8192);
}

#[test]
fn units_before_an_error_are_kept_and_later_units_still_decode() {
    let mut input = hex(GOLDEN_TRACE[0].1);
    input.extend(hex("0300001602f0800d0d0100c1013181020001a2020000"));
    input.extend(hex(GOLDEN_TRACE[4].1));
    let report = dissect_input(&input, DecodeFrom::Tpkt).unwrap();
    let u = units(&report);
    assert_eq!(u.len(), 3);
    assert!(u[0].get("error").is_none());
    assert!(u[1].get("error").is_some());
    assert!(u[2].get("error").is_none());
    assert!(report.failed());
}

#[test]
fn a_broken_tpkt_stream_ends_with_a_typed_tpkt_error() {
    // A good CR, then a TPKT whose version is 4, then nothing more is read.
    let mut input = hex(GOLDEN_TRACE[0].1);
    input.extend(hex("04000007 02f080"));
    let (u, report) = single_error(&guls_ber::to_hex(&input));
    assert_eq!(units(&report).len(), 2);
    assert_eq!(s(&u["error"]["layer"]), "tpkt");
    assert_eq!(u["error"]["offset"], 22);
    // A truncated last TPKT.
    let mut input = hex(GOLDEN_TRACE[0].1);
    input.truncate(10);
    let (u, _) = single_error(&guls_ber::to_hex(&input));
    assert_eq!(s(&u["error"]["layer"]), "tpkt");
    assert!(s(&u["error"]["message"]).contains("truncated"));
}

#[test]
fn arbitrary_input_never_panics() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |bytes| {
            let _ = dissect_input(&bytes, DecodeFrom::Tpkt);
            let _ = dissect_input(&bytes, DecodeFrom::Session);
            Ok(())
        })
        .unwrap();
    // Mutations of the golden client stream.
    let base = stream(true);
    runner
        .run(
            &(0..base.len(), any::<u8>(), 0..base.len()),
            |(at, byte, cut)| {
                let mut m = base.clone();
                m[at] = byte;
                let _ = dissect_input(&m, DecodeFrom::Tpkt);
                let _ = dissect_input(&m[..cut], DecodeFrom::Tpkt);
                Ok(())
            },
        )
        .unwrap();
}
