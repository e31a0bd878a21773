//! tshark as an oracle on SESE carriage: a live loopback capture of a [`SecureInitiator`]
//! running the HMAC challenge exchange (crates/sese/examples/hmac_challenge.rs) against a
//! [`SecureResponder`]: item 1 in the AARQ's calling-authentication-value (`external`, SESE
//! context), item 2 in the AARE's responding-authentication-value, item 3 as a P-DATA value of
//! the SESE context, then application data and an orderly release.
//!
//! Every frame must decode through `tpkt:cotp:ses:pres` and the connection and release TSDUs
//! through `acse`, none malformed and none with an expert *error*. tshark knows no dissector
//! for the SESE abstract syntax (ARC.1.1): it may say so with a warning, which is allowed. The
//! AARQ must show the authentication functional unit and the EXTERNAL's presentation context.
//!
//! Needs tshark and permission to capture on `lo`; skipped with a printed reason otherwise,
//! unless `GULS_INTEROP=require`.

mod support;

use std::sync::Arc;

use guls_association::{AcceptParams, AssociateParams, AssociationEvent, Responder};
use guls_sese::{CarriageConfig, Registry, SecureEvent, SecureInitiator, SecureResponder};
use guls_tests::tshark::{LiveCapture, TempDir, capture_fields, require_tool, skip_or_fail};
use support::{NET, runtime};
use tokio::time::timeout;

#[allow(dead_code)]
#[path = "../../crates/sese/examples/hmac_challenge.rs"]
mod hmac_challenge;

fn config() -> guls_association::AssociationConfig {
    let ac = "1.3.9999.4.1".parse().unwrap();
    let syntax = "1.3.9999.4.2".parse().unwrap();
    guls_association::AssociationConfig::single(ac, syntax)
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::new()
            .with(hmac_challenge::definition("alice", b"shared secret"))
            .unwrap(),
    )
}

async fn traffic(responder: Arc<Responder>) {
    let addr = responder.local_addr();
    let server = tokio::spawn(async move {
        let sr = SecureResponder::new(CarriageConfig::new(registry()));
        let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
        let mut a = sr
            .examine(inc)
            .finish(AcceptParams::default())
            .await
            .unwrap();
        loop {
            match timeout(NET, a.recv()).await.unwrap().unwrap() {
                SecureEvent::Data(d) => a.send(d.pcid, d.value).await.unwrap(),
                SecureEvent::Association(AssociationEvent::ReleaseIndication { .. }) => {
                    a.release_response(Vec::new()).await.unwrap()
                }
                SecureEvent::Association(AssociationEvent::Released) => break,
                SecureEvent::Sese(_) | SecureEvent::Exchange(_) => {}
                other => panic!("responder: {other:?}"),
            }
        }
        assert_eq!(
            a.outcome().and_then(|o| o.peer_identity.as_deref()),
            Some("alice")
        );
    });
    let si = SecureInitiator::new(config(), CarriageConfig::new(registry()));
    let id = guls_sese::Identifier::Global(hmac_challenge::EXCHANGE.parse().unwrap());
    let mut a = timeout(NET, si.connect(addr, &id, AssociateParams::default()))
        .await
        .unwrap()
        .unwrap();
    a.send_asn1(3, vec![0x04, 0x02, 0xAA, 0xBB]).await.unwrap();
    loop {
        if let SecureEvent::Data(_) = timeout(NET, a.recv()).await.unwrap().unwrap() {
            break;
        }
    }
    timeout(NET, a.release()).await.unwrap().unwrap();
    timeout(NET, server).await.unwrap().unwrap();
}

#[test]
fn sese_carriage_capture_is_clean() {
    if !require_tool("tshark") {
        return;
    }
    let rt = runtime();
    let responder = Arc::new(
        rt.block_on(Responder::bind(
            "127.0.0.1:0",
            SecureResponder::configure(config()),
        ))
        .unwrap(),
    );
    let port = responder.local_addr().port();
    let dir = TempDir::new("guls-sese-live").unwrap();
    let path = dir.path().join("sese.pcapng");
    let mut cap = match LiveCapture::start(port, &path) {
        Ok(c) => c,
        Err(e) => {
            skip_or_fail(&format!("live capture not possible: {e}"));
            return;
        }
    };
    rt.block_on(traffic(responder));
    cap.stop().expect("capture stops");
    drop(rt);

    let frames = cap.dissect(port).expect("tshark reads the capture");
    let mut problems = Vec::new();
    let (mut tsdu, mut acse) = (0, 0);
    for f in &frames {
        eprintln!(
            "frame {}: {} | {} | malformed {} | expert {:?}",
            f.number, f.protocols, f.info, f.malformed, f.expert_messages
        );
        if let Err(e) = f.check_clean("tpkt:cotp") {
            problems.push(e);
            continue;
        }
        if f.info.contains("CR TPDU") || f.info.contains("CC TPDU") {
            continue;
        }
        tsdu += 1;
        if let Err(e) = f.check_clean("tpkt:cotp:ses:pres") {
            problems.push(e);
        }
        if f.has_chain("ses:pres:acse") {
            acse += 1;
        }
    }
    assert!(problems.is_empty(), "tshark found problems:\n{problems:#?}");
    // CN+AARQ, AC+AARE, item 3, data x2, FN+RLRQ, DN+RLRE (item 3 and the first data value
    // may share a TSDU when written together).
    assert!((6..=7).contains(&tsdu), "TSDU frames: {tsdu}");
    assert_eq!(acse, 4, "ACSE frames: AARQ, AARE, RLRQ, RLRE");
    // The AARQ proposes the authentication functional unit and its EXTERNAL names the SESE
    // context (5); the AARE answers in the same context.
    let aarq = capture_fields(
        &path,
        port,
        "acse.aarq_element",
        &[
            "acse.ACSE.requirements.authentication",
            "acse.indirect_reference",
        ],
    );
    assert_eq!(aarq.len(), 1, "{aarq:?}");
    let (auth, pcid) = aarq[0].split_once('\t').expect("two fields");
    assert!(
        !auth.is_empty() && auth != "0" && auth != "False",
        "{aarq:?}"
    );
    assert_eq!(pcid, "5", "{aarq:?}");
    let aare = capture_fields(
        &path,
        port,
        "acse.aare_element",
        &["acse.indirect_reference"],
    );
    assert_eq!(aare, ["5"], "{aare:?}");
}
