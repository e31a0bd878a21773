//! Live interop with open61850 (pure-Python MMS client and server from PyPI, driven by the
//! scripts in `tests/peers/`):
//!
//! * open61850's `association` check against our [`Responder`] (MMS profile, the golden
//!   trace's Initiate-Response): it must associate and read our max PDU size and services;
//! * our [`Initiator`] against open61850's `MmsServer`: MMS association, identify, release. The
//!   server answers FN by closing TCP without DN (PEERS.md), so `release()` must come back
//!   with a typed result within the configured release timeout instead of hanging.
//!
//! Skipped with a printed reason when the peers venv is missing, unless `GULS_INTEROP=require`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use guls_association::{
    AssociateParams, AssociationError, AssociationEvent, ExternalEncoding, Initiator,
    ProviderAbortReason, Responder,
};
use guls_ber::known;
use guls_tests::peers::{
    peers_available_or_skip, run_open61850_association, start_open61850_server,
};
use guls_tests::vectors::hex;
use support::*;
use tokio::time::timeout;

#[test]
fn open61850_client_associates_with_our_responder() {
    if !peers_available_or_skip() {
        return;
    }
    let rt = runtime();
    rt.block_on(async {
        let responder = Arc::new(
            Responder::bind("127.0.0.1:0", mms_config())
                .await
                .expect("bind"),
        );
        let port = responder.local_addr().port();
        let r = responder.clone();
        let app = tokio::spawn(async move {
            let inc = timeout(NET, r.accept())
                .await
                .expect("AARQ within the safety net")
                .expect("an A-ASSOCIATE indication");
            let ind = inc.indication();
            assert_eq!(ind.application_context_name, known::MMS_APPLICATION_CONTEXT);
            let ui = ind.user_information.first().expect("Initiate-Request");
            let ExternalEncoding::SingleAsn1Type(req) = &ui.encoding else {
                panic!("Initiate-Request not single-ASN1-type: {ui:?}");
            };
            assert_eq!(req[0], 0xa8, "initiate-RequestPDU");
            let facts = format!(
                "pcid {:?}, initiate max PDU {:?}, contexts {:?}, session requirements {:#06x}, \
                 version {}, tsel {:?}/{:?}, ssel {:?}/{:?}, psel {:?}/{:?}, mechanism {:?}",
                ui.indirect_reference,
                initiate_max_pdu(req),
                inc.contexts()
                    .iter()
                    .map(|c| (c.pcid, c.abstract_syntax.to_string()))
                    .collect::<Vec<_>>(),
                inc.proposed_session_requirements(),
                inc.session_version(),
                inc.calling_tsel(),
                inc.called_tsel(),
                inc.calling_ssel(),
                inc.called_ssel(),
                inc.calling_psel(),
                inc.called_psel(),
                ind.mechanism_name.as_ref().map(|m| m.to_string()),
            );
            let mut assoc = inc.accept(mms_accept_params()).await.expect("accept");
            let log = serve_mms(&mut assoc, NET).await;
            (facts, log)
        });
        let verdict =
            tokio::task::spawn_blocking(move || run_open61850_association("127.0.0.1", port))
                .await
                .expect("client task")
                .expect("open61850 client runs");
        let (facts, log) = timeout(NET, app)
            .await
            .expect("responder app bounded")
            .expect("responder app");
        eprintln!("open61850 client verdict: {verdict}");
        eprintln!("open61850 client's association: {facts}");
        eprintln!("our responder served: {log:?}");
        assert_eq!(verdict["associated"], true, "{verdict}");
        // Read from our (the golden) Initiate-Response: localDetailCalled 65000.
        assert_eq!(verdict["max_pdu_size"], 65000, "{verdict}");
        assert!(
            verdict["services"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
            "{verdict}"
        );
        // Observed with open61850 0.9.12: `association` sends no MMS request and no release;
        // it closes TCP once associated, which our responder reports as a provider abort.
        assert!(log.pdus.is_empty(), "{log:?}");
        assert!(
            log.end == "released"
                || log
                    .end
                    .starts_with("provider-abort: TCP connection closed by the peer"),
            "{log:?}"
        );
    });
}

#[test]
fn initiator_associates_identifies_and_releases_with_open61850_server() {
    if !peers_available_or_skip() {
        return;
    }
    let server = start_open61850_server().expect("open61850 server starts");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port()));
    let cfg = mms_config();
    let release_timeout = cfg.timeouts.release;
    let rt = runtime();
    rt.block_on(async {
        let params = AssociateParams {
            user_information: vec![mms_initiate_request()],
            ..AssociateParams::default()
        };
        // Through a recording relay, to see what open61850 answers the FN with.
        let relay = Relay::start(addr).await;
        let mut assoc = timeout(NET, Initiator::new(cfg).connect(relay.addr, params))
            .await
            .expect("connect bounded")
            .expect("open61850 accepts the association");
        let confirm = assoc.associate_confirm().expect("confirm");
        let ui = confirm
            .user_information
            .first()
            .expect("AARE user information");
        assert_eq!(ui.indirect_reference, Some(MMS_PCID), "{ui:?}");
        let ExternalEncoding::SingleAsn1Type(rsp) = &ui.encoding else {
            panic!("Initiate-Response not single-ASN1-type: {ui:?}");
        };
        assert_eq!(rsp[0], 0xa9, "initiate-ResponsePDU {rsp:02x?}");
        eprintln!(
            "open61850 Initiate-Response: max PDU {:?}",
            initiate_max_pdu(rsp)
        );

        assoc
            .send_asn1(MMS_PCID, hex(IDENTIFY_REQUEST))
            .await
            .expect("identify sent");
        let ev = timeout(NET, assoc.recv())
            .await
            .expect("identify response bounded")
            .expect("identify response");
        let AssociationEvent::Data(d) = ev else {
            panic!("expected the identify response, got {ev:?}");
        };
        assert_eq!(d.pcid, MMS_PCID);
        let v = asn1_octets(&d.value).expect("single-ASN1-type");
        assert_eq!(v[0], 0xa1, "confirmed-ResponsePDU {v:02x?}");
        let (invoke, vendor, model, revision) = parse_identify_response(v)
            .unwrap_or_else(|| panic!("not an identify response {v:02x?}"));
        assert_eq!(invoke, vec![1]);
        eprintln!("open61850 identify: {vendor} / {model} / {revision}");
        assert!(!vendor.is_empty());

        let started = Instant::now();
        let released = timeout(release_timeout + Duration::from_secs(10), assoc.release())
            .await
            .expect("release() must not hang past the release timeout");
        let took = started.elapsed();
        eprintln!("release() against open61850 returned after {took:?}: {released:?}");
        // open61850 closes TCP in answer to FN (no DN): a provider abort for the close during
        // release, or an orderly outcome if a later version sends DN. Never a timeout error.
        let up = tsdus(&split_tpkts(&relay.up_bytes()));
        let down = tsdus(&split_tpkts(&relay.down_bytes()));
        assert_eq!(up.last().map(|t| t[0]), Some(0x09), "our FN went out last");
        let dn = down.last().is_some_and(|t| t[0] == 0x0a);
        eprintln!(
            "open61850 answered the FN with: {}",
            if dn { "DN" } else { "nothing (TCP close)" }
        );
        match released {
            Ok(outcome) => {
                assert!(dn, "release confirmed without a DN");
                assert!(!outcome.collision, "{outcome:?}");
            }
            Err(AssociationError::ProviderAbort(ProviderAbortReason::ConnectionClosed {
                stage,
            })) => {
                assert!(!dn, "DN received but the release failed");
                assert_eq!(stage, "release");
            }
            Err(other) => panic!("release() against open61850: unexpected {other:?}"),
        }
        // The association is over either way: at most the provider abort is still queued as an
        // event, then the handle reports Closed.
        let mut leftovers = Vec::new();
        loop {
            match timeout(NET, assoc.recv()).await.expect("bounded") {
                Err(AssociationError::Closed) => break,
                Ok(ev @ AssociationEvent::ProviderAbort { .. }) if leftovers.is_empty() => {
                    leftovers.push(ev)
                }
                other => panic!("after release: unexpected {other:?} (before: {leftovers:?})"),
            }
        }
        eprintln!("events left after release(): {leftovers:?}");
    });
    drop(rt);
    let _ = server.stop();
}
