//! tshark as an oracle on a live loopback capture of our own [`Initiator`] talking to our own
//! [`Responder`] (MMS profile): one association with data both ways and an orderly release,
//! then a second one aborted with user information. Every frame carrying a TPKT must decode
//! through `tpkt:cotp`, every TSDU through `ses:pres`, and the connection, release and abort
//! TSDUs through `ses:pres:acse`, none malformed and none with an expert error.
//!
//! Needs tshark and permission to capture on `lo`; skipped with a printed reason otherwise,
//! unless `GULS_INTEROP=require`.

mod support;

use std::path::Path;
use std::sync::Arc;

use guls_association::{AssociateParams, AssociationEvent, External, Initiator, Responder};
use guls_tests::tshark::{
    FrameVerdict, LiveCapture, TempDir, capture_fields, require_tool, skip_or_fail,
};
use guls_tests::vectors::hex;
use support::*;
use tokio::time::timeout;

/// Runs both associations against `responder`; returns what the responder side saw.
async fn traffic(responder: Arc<Responder>) -> Vec<ServeLog> {
    let addr = responder.local_addr();
    let r = responder.clone();
    let app = tokio::spawn(async move {
        let mut logs = Vec::new();
        for _ in 0..2 {
            let inc = timeout(NET, r.accept())
                .await
                .expect("AARQ within the safety net")
                .expect("an A-ASSOCIATE indication");
            let mut assoc = inc.accept(mms_accept_params()).await.expect("accept");
            logs.push(serve_mms(&mut assoc, NET).await);
        }
        logs
    });
    let initiator = Initiator::new(mms_config());
    let params = || AssociateParams {
        user_information: vec![mms_initiate_request()],
        ..AssociateParams::default()
    };

    // 1: associate, identify (data both ways), release.
    let mut a = timeout(NET, initiator.connect(addr, params()))
        .await
        .expect("connect bounded")
        .expect("associated");
    a.send_asn1(MMS_PCID, hex(IDENTIFY_REQUEST))
        .await
        .expect("send");
    let ev = timeout(NET, a.recv())
        .await
        .expect("bounded")
        .expect("recv");
    let AssociationEvent::Data(d) = ev else {
        panic!("expected data, got {ev:?}");
    };
    let v = asn1_octets(&d.value).expect("single-ASN1-type");
    let (_, vendor, _, _) = parse_identify_response(v).expect("identify response");
    assert_eq!(vendor, OUR_VENDOR);
    let outcome = timeout(NET, a.release())
        .await
        .expect("release bounded")
        .expect("released");
    assert!(!outcome.collision);

    // 2: associate, identify, then A-ABORT with user information (an MMS conclude-request in
    // the MMS context, a value the MMS dissector knows).
    let mut b = timeout(NET, initiator.connect(addr, params()))
        .await
        .expect("connect bounded")
        .expect("associated");
    b.send_asn1(MMS_PCID, hex(IDENTIFY_REQUEST))
        .await
        .expect("send");
    let ev = timeout(NET, b.recv())
        .await
        .expect("bounded")
        .expect("recv");
    assert!(matches!(ev, AssociationEvent::Data(_)), "{ev:?}");
    timeout(
        NET,
        b.abort(vec![External::single_asn1(MMS_PCID, vec![0x8b, 0x00])]),
    )
    .await
    .expect("abort bounded")
    .expect("abort");

    timeout(NET, app)
        .await
        .expect("responder app bounded")
        .expect("responder app")
}

#[test]
fn live_capture_of_our_initiator_and_responder_is_clean() {
    if !require_tool("tshark") {
        return;
    }
    let rt = runtime();
    let responder = Arc::new(
        rt.block_on(Responder::bind("127.0.0.1:0", mms_config()))
            .expect("bind"),
    );
    let port = responder.local_addr().port();
    let dir = TempDir::new("guls-live").expect("temp dir");
    let path = dir.path().join("guls.pcapng");
    let mut cap = match LiveCapture::start(port, &path) {
        Ok(c) => c,
        Err(e) => {
            skip_or_fail(&format!("live capture not possible: {e}"));
            return;
        }
    };
    let logs = rt.block_on(traffic(responder.clone()));
    cap.stop().expect("capture stops");
    drop(rt);

    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].services, vec![0x82]);
    assert_eq!(logs[0].end, "released", "{:?}", logs[0]);
    assert_eq!(logs[1].end, "abort", "{:?}", logs[1]);

    let frames = cap.dissect(port).expect("tshark reads the capture");
    for f in &frames {
        eprintln!(
            "frame {}: {} | {} | malformed {} | expert {:?}",
            f.number, f.protocols, f.info, f.malformed, f.expert_messages
        );
    }
    check_frames(&frames);
    assert_eq!(
        spdu_types(&path, port),
        [
            "13", "14", "1,1", "1,1", "9", "10", // CN AC GT+DT GT+DT FN DN
            "13", "14", "1,1", "1,1", "25", // CN AC GT+DT GT+DT AB
        ],
        "SPDU types as tshark reads them"
    );
    // The AB carries an ARU with an ABRT from the service-user (0) and our user information.
    let abort = capture_fields(
        &path,
        port,
        "ses.type == 25",
        &["acse.abort_source", "acse.indirect_reference"],
    );
    assert_eq!(abort, ["0\t3"], "ABRT fields");
}

/// The SPDU types (`ses.type`, comma-joined within a TSDU) of every TSDU frame, in order.
fn spdu_types(pcap: &Path, port: u16) -> Vec<String> {
    capture_fields(pcap, port, "ses", &["ses.type"])
}

/// The per-frame verdicts; see the module docs.
fn check_frames(frames: &[FrameVerdict]) {
    let mut problems = Vec::new();
    let (mut cr, mut cc, mut tsdu, mut acse) = (0, 0, 0, 0);
    for f in frames {
        if let Err(e) = f.check_clean("tpkt:cotp") {
            problems.push(e);
            continue;
        }
        if f.info.contains("CR TPDU") {
            cr += 1;
        } else if f.info.contains("CC TPDU") {
            cc += 1;
        } else {
            tsdu += 1;
            if let Err(e) = f.check_clean("tpkt:cotp:ses:pres") {
                problems.push(e);
            }
            if f.has_chain("ses:pres:acse") {
                acse += 1;
                if let Err(e) = f.check_clean("ses:pres:acse") {
                    problems.push(e);
                }
            }
        }
    }
    assert!(problems.is_empty(), "tshark found problems:\n{problems:#?}");
    assert_eq!((cr, cc), (2, 2), "two transport connections");
    // CN, AC, identify x2, FN, DN; CN, AC, identify x2, AB.
    assert_eq!(tsdu, 11, "TSDU frames");
    // CN+AARQ, AC+AARE, FN+RLRQ, DN+RLRE; CN+AARQ, AC+AARE, AB+ABRT.
    assert_eq!(acse, 7, "ACSE frames");
}
