//! Proves the tshark oracle harness against known-good octets: the golden libiec61850 trace of
//! PEERS.md section 6, and a corrupted variant tshark must flag.
//!
//! Skipped (with a message) when tshark/text2pcap are missing, unless `GULS_INTEROP=require`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use guls_ber::parse_hex;
use guls_tests::tshark::{
    FrameVerdict, LiveCapture, SEVERITY_ERROR, SEVERITY_WARNING, TempDir, dissect_tpkts,
    dissect_tpkts_verbose, parse_fields_output, require_oracle, require_tool, skip_or_fail,
    text2pcap_input,
};

const CR: &str = "0300001611e00000000100c0010dc2020001c1020001";
const CC: &str = "0300001611d00001000100c0010dc2020001c1020001";
const CN: &str = "030000d402f0800dcb0506130100160102140200023302000134020001c1b53181b2a003800101a2\
81aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca220201300406\
02510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302\
010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde88101058201\
0583010aa416800101810305f100820c03ee1c00000408000079ef18";
const AC: &str = "0300008f02f0800e8605061301001601021402000234020001c1743172a003800101a26b8304000000\
01a512300780010081025101300780010081025101614f304d020101a0486146a107060528ca220203a203020100a305\
a103020100be2f282d020103a028a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000\
000000000118";
const DATA: [&str; 4] = [
    "0300001b02f08001000100610e300c020103a007a0050201018200",
    "0300003002f0800100010061233021020103a01ca11a020101a21580024d5a8108626173696320696f8205312e342e32",
    "0300001602f0800100010061093007020103a0028b00",
    "0300001602f0800100010061093007020103a0028c00",
];
const FN_RLRQ: &str = "0300001902f0800910c10e610c300a020101a0056203800100";
const DN_RLRE: &str = "0300001602f0800a0dc10b61093007020101a0026300";

const MMS_CONTEXT_PREF: &str = r#"uat:pres_context_list:"3","1.0.9506.2.1""#;

fn bytes(hex: &str) -> Vec<u8> {
    parse_hex(hex).expect("golden hex")
}

fn golden_trace() -> Vec<Vec<u8>> {
    let mut v = vec![bytes(CR), bytes(CC), bytes(CN), bytes(AC)];
    v.extend(DATA.iter().map(|h| bytes(h)));
    v.push(bytes(FN_RLRQ));
    v.push(bytes(DN_RLRE));
    v
}

/// The CN with calling-authentication-value's inner length overrunning (0c -> 0f).
fn corrupted_cn() -> Vec<u8> {
    let good = bytes(CN);
    let needle = bytes("ac0e800c");
    let at = good
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("auth value in CN");
    let mut bad = good.clone();
    bad[at + 3] = 0x0f;
    assert_eq!(bad.len(), good.len());
    bad
}

#[test]
fn golden_trace_is_clean_with_expected_chains() {
    if !require_oracle() {
        return;
    }
    let frames = golden_trace();
    let v = dissect_tpkts(&frames, &[]).unwrap();
    assert_eq!(v.len(), frames.len());
    for (i, f) in v.iter().enumerate() {
        assert_eq!(f.number as usize, i + 1);
        assert!(f.protocols.starts_with("user_dlt:"), "{f:?}");
    }
    assert_eq!(v[0].osi_chain(), "tpkt:cotp");
    assert!(v[0].info.contains("CR TPDU"), "{:?}", v[0]);
    assert_eq!(v[1].osi_chain(), "tpkt:cotp");
    assert!(v[1].info.contains("CC TPDU"), "{:?}", v[1]);
    for f in &v[..2] {
        f.check_clean("tpkt:cotp").unwrap();
    }
    // Connection establishment carries ACSE with MMS in user-information; release only ACSE.
    for f in [&v[2], &v[3]] {
        f.check_clean("tpkt:cotp:ses:pres:acse").unwrap();
        assert_eq!(f.osi_chain(), "tpkt:cotp:ses:pres:acse:mms", "{f:?}");
    }
    assert!(v[2].info.contains("initiate-RequestPDU"), "{:?}", v[2]);
    assert!(v[3].info.contains("initiate-ResponsePDU"), "{:?}", v[3]);
    for f in [&v[8], &v[9]] {
        f.check_clean("tpkt:cotp:ses:pres:acse").unwrap();
        assert_eq!(f.osi_chain(), "tpkt:cotp:ses:pres:acse", "{f:?}");
    }
    assert!(v[8].info.contains("Release-Request"), "{:?}", v[8]);
    assert!(v[9].info.contains("Release-Response"), "{:?}", v[9]);
    // The data frames follow a CP in the same file, so the context table is known.
    for f in &v[4..8] {
        f.check_clean("tpkt:cotp:ses:pres:mms").unwrap();
    }
    // The CR's expert item is a chat, below warning.
    assert!(v[0].max_expert_severity.unwrap() < SEVERITY_WARNING);
    assert!(!v[0].expert_messages.is_empty());
}

#[test]
fn data_frames_need_the_context_list_without_a_cp() {
    if !require_oracle() {
        return;
    }
    let frames: Vec<Vec<u8>> = DATA.iter().map(|h| bytes(h)).collect();
    let plain = dissect_tpkts(&frames, &[]).unwrap();
    for f in &plain {
        f.check_clean("tpkt:cotp:ses:pres").unwrap();
        assert_eq!(f.osi_chain(), "tpkt:cotp:ses:pres", "{f:?}");
        assert!(f.check_clean("tpkt:cotp:ses:pres:mms").is_err());
    }
    let with_ctx = dissect_tpkts(&frames, &[MMS_CONTEXT_PREF]).unwrap();
    for f in &with_ctx {
        f.check_clean("tpkt:cotp:ses:pres:mms").unwrap();
        assert_eq!(f.osi_chain(), "tpkt:cotp:ses:pres:mms", "{f:?}");
    }
}

#[test]
fn corrupted_auth_length_is_reported_malformed() {
    if !require_oracle() {
        return;
    }
    let v = dissect_tpkts(&[bytes(CN), corrupted_cn()], &[]).unwrap();
    v[0].check_clean("tpkt:cotp:ses:pres:acse").unwrap();
    let bad = &v[1];
    assert!(bad.malformed, "{bad:?}");
    assert!(
        bad.expert_messages
            .iter()
            .any(|m| m.contains("BER Error: length 15 longer than")),
        "{bad:?}"
    );
    let err = bad.check_clean("tpkt:cotp:ses:pres:acse").unwrap_err();
    assert!(err.contains("malformed"), "{err}");
}

#[test]
fn truncated_frames_give_error_severity() {
    if !require_oracle() {
        return;
    }
    // A CR whose length indicator overruns the TPKT, and a CN whose CP is cut short inside
    // an indefinite-length element (the session header itself is consistent, so the SES
    // heuristic accepts it and PRES hits the end).
    let frames = vec![
        bytes("0300000b11e00000000100"),
        bytes("0300001302f0800d0ac1083180a080028300 00"),
    ];
    let v = dissect_tpkts(&frames, &[]).unwrap();
    for f in &v {
        assert!(f.malformed, "{f:?}");
        assert_eq!(f.max_expert_severity, Some(SEVERITY_ERROR), "{f:?}");
        assert!(f.check_clean("tpkt:cotp").is_err());
    }
}

#[test]
fn verbose_output_shows_fields() {
    if !require_oracle() {
        return;
    }
    let text = dissect_tpkts_verbose(&[bytes(CN)], &[]).unwrap();
    assert!(text.contains("mechanism-name: 2.2.3.1"), "{text}");
    assert!(text.contains("charstring: user1@testpw"), "{text}");
    assert!(text.contains("TPKT, Version: 3, Length: 212"), "{text}");
}

#[test]
fn harness_rejects_empty_input() {
    assert!(dissect_tpkts(&[], &[]).is_err());
    assert!(dissect_tpkts(&[Vec::new()], &[]).is_err());
}

#[test]
fn text2pcap_input_layout() {
    let frame: Vec<u8> = (0u8..18).collect();
    let text = text2pcap_input(&[frame, vec![0xab]]);
    assert_eq!(
        text,
        "000000 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n\
         000010 10 11\n\n\
         000000 ab\n\n"
    );
}

#[test]
fn fields_output_parsing() {
    let out = "1\tuser_dlt:tpkt:cotp\tCR TPDU\t\tConnection Request(CR): 0x1 -> 0x0\t2097152\n\
               2\tuser_dlt:tpkt:cotp:ses\tContinuation\t[Malformed Packet: SES]\u{1f}_ws.malformed\tMalformed Packet (Exception occurred), with comma\u{1f}second\t6291456\u{1f}8388608\n\
               3\tuser_dlt:tpkt:cotp:ses:pres:acse:mms\tinitiate-RequestPDU\t\t\t\n";
    let v = parse_fields_output(out).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(
        v[0],
        FrameVerdict {
            number: 1,
            protocols: "user_dlt:tpkt:cotp".into(),
            info: "CR TPDU".into(),
            malformed: false,
            expert_messages: vec!["Connection Request(CR): 0x1 -> 0x0".into()],
            max_expert_severity: Some(2_097_152),
        }
    );
    assert!(v[1].malformed);
    assert_eq!(
        v[1].expert_messages,
        vec![
            "Malformed Packet (Exception occurred), with comma",
            "second"
        ]
    );
    assert_eq!(v[1].max_expert_severity, Some(SEVERITY_ERROR));
    assert_eq!(v[2].max_expert_severity, None);
    assert!(v[2].expert_messages.is_empty());
    // Chain matching is by whole components.
    assert!(v[2].has_chain("ses:pres"));
    assert!(!v[2].has_chain("ses:acse"));
    assert!(!v[2].has_chain("pre"));
    assert_eq!(v[2].osi_chain(), "tpkt:cotp:ses:pres:acse:mms");
    v[2].check_clean("tpkt:cotp:ses:pres:acse").unwrap();
    assert!(v[2].check_clean("tpkt:cotp:ses:pres:acse:mms:x").is_err());
    assert!(v[1].check_clean("tpkt:cotp:ses").is_err());
    assert!(parse_fields_output("x\ty\n").is_err());
    assert!(parse_fields_output("1\ta\tb\t\t\tnotanumber\n").is_err());
}

#[test]
fn live_capture_of_cr_and_cc_on_loopback() {
    if !require_tool("tshark") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = TempDir::new("live").unwrap();
    let mut cap = match LiveCapture::start(port, dir.path().join("live.pcapng")) {
        Ok(c) => c,
        Err(e) => {
            skip_or_fail(&format!("cannot capture on lo: {e}"));
            return;
        }
    };
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut cr = vec![0u8; bytes(CR).len()];
        s.read_exact(&mut cr).unwrap();
        s.write_all(&bytes(CC)).unwrap();
        cr
    });
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.write_all(&bytes(CR)).unwrap();
    let mut cc = vec![0u8; bytes(CC).len()];
    client.read_exact(&mut cc).unwrap();
    drop(client);
    assert_eq!(server.join().unwrap(), bytes(CR));
    assert_eq!(cc, bytes(CC));
    cap.stop().unwrap();
    assert!(cap.path().exists());
    let v = cap.dissect(port).unwrap();
    assert_eq!(v.len(), 2, "{v:?}");
    for f in &v {
        f.check_clean("tcp:tpkt:cotp").unwrap();
        assert_eq!(f.osi_chain(), "tpkt:cotp", "{f:?}");
    }
    assert!(v[0].info.contains("CR TPDU"), "{:?}", v[0]);
    assert!(v[1].info.contains("CC TPDU"), "{:?}", v[1]);
    assert_eq!(cap.port(), port);
}
