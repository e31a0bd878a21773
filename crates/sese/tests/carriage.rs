//! SESE carriage over loopback associations: the HMAC example exchange (items 1-2 in AARQ/AARE,
//! item 3 in P-DATA), the user-information carrier, rejections and aborts with their
//! diagnostics, simpleNegotiationSE followed by the chosen exchange, re-authentication with
//! invocation ids, and data held back before the exchange completed.

mod common_carriage;
#[allow(dead_code)]
#[path = "../examples/hmac_challenge.rs"]
mod hmac_challenge;

use std::sync::Arc;

use common_carriage::*;
use guls_association::{
    AssociateParams, AssociationEvent, AuthenticationValue, PdvValue, ResultSourceDiagnostic,
    UserDiagnostic,
};
use guls_sese::negotiation::simple_negotiation_se;
use guls_sese::{
    AbortPolicy, CarriageAbort, CarriageConfig, CarriageError, Carrier, ExchangeEvent, Failure,
    Identifier, Indication, InvocationId, InvocationIdSet, Registry, SIMPLE_NEGOTIATION_SE,
    SecureEvent, SecureInitiator, SeseApdu, SeseConfig, Verdict,
};
use tokio::time::timeout;

#[tokio::test]
async fn hmac_items_in_aarq_aare_then_pdata_then_application_data() {
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("alice", KEY)));
    let mut a = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .unwrap()
    .expect("secure association");
    // Item 1 went in the AARQ, item 2 came in the AARE, item 3 went in P-DATA: the initiator
    // completed on sending its last item.
    assert!(a.is_secured());
    let confirm = a.association().associate_confirm().unwrap();
    assert_eq!(confirm.mechanism_name.as_ref(), hmac_id().as_global());
    assert!(confirm.acse_requirements.unwrap().authentication);
    let Some(AuthenticationValue::External(x)) = &confirm.authentication_value else {
        panic!("no external responding value");
    };
    assert_eq!(x.external().indirect_reference, Some(si.sese_pcid()));
    let apdu = single_asn1(&x.external().encoding);
    let Ok(SeseApdu::Transfer(t)) = SeseApdu::decode(&apdu) else {
        panic!("not an se-transfer");
    };
    assert_eq!((t.item_identifier, t.start, t.end), (2, false, false));

    a.send_asn1(APP_PCID, b"\x04\x02hi".to_vec()).await.unwrap();
    let d = next_data(&mut a).await;
    assert_eq!(d.value, PdvValue::SingleAsn1Type(b"\x04\x02hi".to_vec()));
    timeout(NET, a.release()).await.unwrap().unwrap();

    let log = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(log.verdict, Some(Verdict::Proceed));
    assert_eq!(log.carrier, Some(Carrier::AuthenticationValue));
    assert_eq!(log.pending_send, Some(true), "data held back before item 3");
    let completed = log.events.iter().find_map(|e| match e {
        SecureEvent::Exchange(ExchangeEvent::Completed { outcome, .. }) => Some(outcome),
        _ => None,
    });
    assert_eq!(
        completed.and_then(|o| o.peer_identity.as_deref()),
        Some("alice")
    );
    assert!(log.events.iter().any(|e| matches!(e, SecureEvent::Data(_))));
    let first_data = log
        .events
        .iter()
        .position(|e| matches!(e, SecureEvent::Data(_)))
        .unwrap();
    let done = log
        .events
        .iter()
        .position(|e| matches!(e, SecureEvent::Exchange(ExchangeEvent::Completed { .. })))
        .unwrap();
    assert!(done < first_data, "data only after the exchange completed");
}

#[tokio::test]
async fn aarq_shape_with_the_sese_item_in_the_authentication_value() {
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("alice", KEY)));
    assert_eq!(si.sese_pcid(), 5);
    let req = si
        .associate_request(&hmac_id(), AssociateParams::default())
        .unwrap();
    let aarq = guls_acse::Apdu::Aarq(req.to_aarq()).encode();
    let hex = guls_ber::to_hex(&aarq);
    println!("AARQ with the SESE item: {hex}");
    let compact: String = hex.split_whitespace().collect();
    // sender-acse-requirements {authentication}, mechanism-name = ARC.9.1, then
    // calling-authentication-value [12] { external [2] { 02 01 05, A0 { se-transfer } } }.
    let oid = "69b6c3a4f8e2ce9aa0b9a4c49bacadafe0c2680901";
    assert!(compact.contains(&format!("8a0204808b15{oid}")), "{compact}");
    // se-transfer { seIdentifier global, itemIdentifier 1, seItem UTF8String "alice",
    // startFlag TRUE } as the single-ASN1-type of the EXTERNAL in context 5.
    let transfer = format!(
        "a028a017811{oid_len}{oid}810101a2070c05616c6963658401ff",
        oid_len = 5
    );
    assert!(
        compact.ends_with(&format!("ac31a22f020105a02a{transfer}")),
        "{compact}"
    );
}

#[tokio::test]
async fn user_information_carrier_both_ways() {
    let mut server_cfg = CarriageConfig::new(hmac_registry("alice", KEY));
    server_cfg.carrier = Carrier::UserInformation;
    let (addr, server) = serve(server_cfg).await;
    let mut cc = CarriageConfig::new(hmac_registry("alice", KEY));
    cc.carrier = Carrier::UserInformation;
    let si = SecureInitiator::new(config(), cc);
    let req = si
        .associate_request(&hmac_id(), AssociateParams::default())
        .unwrap();
    assert!(req.mechanism_name.is_none() && req.authentication_value.is_none());
    assert_eq!(req.user_information.len(), 1);
    let mut a = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap();
    let confirm = a.association().associate_confirm().unwrap();
    assert!(confirm.authentication_value.is_none());
    assert_eq!(confirm.user_information.len(), 1);
    assert!(a.is_secured());
    a.send_asn1(APP_PCID, b"\x05\x00".to_vec()).await.unwrap();
    next_data(&mut a).await;
    a.release().await.unwrap();
    let log = server.await.unwrap();
    assert_eq!(log.carrier, Some(Carrier::UserInformation));
}

#[tokio::test]
async fn wrong_identity_is_rejected_with_13_and_the_se_u_abort() {
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("mallory", KEY)));
    let err = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap_err();
    let CarriageError::Rejected {
        rejection, failure, ..
    } = err
    else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(
        rejection.diagnostic,
        Some(ResultSourceDiagnostic::ServiceUser(
            UserDiagnostic::AuthenticationFailure
        ))
    );
    assert_eq!(rejection.mechanism_name.as_ref(), hmac_id().as_global());
    let Some(Failure::RejectedByPeer(u)) = failure else {
        panic!("expected the peer's se-u-abort, got {failure:?}");
    };
    assert_eq!(u.item_identifier, Some(1));
    let log = server.await.unwrap();
    assert_eq!(
        log.verdict,
        Some(Verdict::Reject(UserDiagnostic::AuthenticationFailure))
    );
    assert!(log.finish_error.unwrap().contains("authentication-failure"));
}

#[tokio::test]
async fn wrong_key_aborts_with_the_se_u_abort_in_the_abrt() {
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let si = SecureInitiator::new(
        config(),
        CarriageConfig::new(hmac_registry("alice", b"guessed")),
    );
    let mut a = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut saw_u_abort = false;
    loop {
        match timeout(NET, a.recv()).await.unwrap() {
            Ok(SecureEvent::Sese(Indication::UAbort(u))) => {
                assert_eq!(u.item_identifier, Some(3));
                saw_u_abort = true;
            }
            Ok(SecureEvent::Association(AssociationEvent::AbortIndication {
                user_information,
                ..
            })) => {
                assert_eq!(user_information.len(), 1);
                break;
            }
            Ok(other) => assert!(
                !matches!(other, SecureEvent::Data(_) | SecureEvent::Aborted(_)),
                "{other:?}"
            ),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(saw_u_abort);
    let log = server.await.unwrap();
    assert!(log.events.iter().any(|e| matches!(
        e,
        SecureEvent::Exchange(ExchangeEvent::Failed {
            failure: Failure::RejectedLocally(_),
            ..
        })
    )));
    assert!(matches!(
        log.events.last(),
        Some(SecureEvent::Aborted(CarriageAbort::ExchangeFailed { .. }))
    ));
}

#[tokio::test]
async fn failure_policy_never_keeps_the_association() {
    let mut cc = CarriageConfig::new(hmac_registry("alice", KEY));
    cc.abort_on_failure = AbortPolicy::Never;
    let (addr, server) = serve(cc).await;
    let si = SecureInitiator::new(
        config(),
        CarriageConfig::new(hmac_registry("alice", b"guessed")),
    );
    let mut a = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap();
    // The se-u-abort comes in P-DATA; the association stays up and the initiator releases.
    loop {
        let ev = timeout(NET, a.recv()).await.unwrap().unwrap();
        if matches!(ev, SecureEvent::Exchange(ExchangeEvent::Failed { .. })) {
            break;
        }
    }
    timeout(NET, a.release()).await.unwrap().unwrap();
    let log = server.await.unwrap();
    assert!(
        !log.events
            .iter()
            .any(|e| matches!(e, SecureEvent::Aborted(_)))
    );
}

fn negotiation_registry(offered: Vec<guls_ber::Oid>, key: &[u8]) -> Arc<Registry> {
    let acceptable = vec![hmac_id().as_global().unwrap().clone()];
    Arc::new(
        Registry::new()
            .with(hmac_challenge::definition("alice", key))
            .unwrap()
            .with(simple_negotiation_se(offered, acceptable))
            .unwrap(),
    )
}

#[tokio::test]
async fn negotiation_chooses_then_runs_the_chosen_exchange() {
    let hmac = hmac_id().as_global().unwrap().clone();
    let other: guls_ber::Oid = "2.20.4.2".parse().unwrap();
    let (addr, server) = serve(CarriageConfig::new(negotiation_registry(vec![], KEY))).await;
    let si = SecureInitiator::new(
        config(),
        CarriageConfig::new(negotiation_registry(vec![other, hmac], KEY)),
    );
    let negotiation = Identifier::Global(SIMPLE_NEGOTIATION_SE);
    let mut a = timeout(
        NET,
        si.connect(addr, &negotiation, AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap();
    // The negotiation ran in AARQ/AARE; the chosen exchange runs in P-DATA now.
    assert!(!a.is_secured());
    assert!(matches!(
        a.send_asn1(APP_PCID, vec![5, 0]).await,
        Err(CarriageError::ExchangePending)
    ));
    timeout(NET, a.wait_secured()).await.unwrap().unwrap();
    a.send_asn1(APP_PCID, vec![5, 0]).await.unwrap();
    loop {
        if let SecureEvent::Data(_) = timeout(NET, a.recv()).await.unwrap().unwrap() {
            break;
        }
    }
    a.release().await.unwrap();
    let log = server.await.unwrap();
    let completed: Vec<_> = log
        .events
        .iter()
        .filter_map(|e| match e {
            SecureEvent::Exchange(ExchangeEvent::Completed {
                exchange, outcome, ..
            }) => Some((exchange.clone(), outcome.peer_identity.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(completed, vec![(hmac_id(), Some("alice".to_string()))]);
}

#[tokio::test]
async fn negotiation_agreeing_on_nothing_is_rejected() {
    let (addr, server) = serve(CarriageConfig::new(negotiation_registry(vec![], KEY))).await;
    let other: guls_ber::Oid = "2.20.4.2".parse().unwrap();
    let si = SecureInitiator::new(
        config(),
        CarriageConfig::new(negotiation_registry(vec![other], KEY)),
    );
    let negotiation = Identifier::Global(SIMPLE_NEGOTIATION_SE);
    let err = timeout(
        NET,
        si.connect(addr, &negotiation, AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap_err();
    let CarriageError::Rejected { rejection, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        rejection.diagnostic,
        Some(ResultSourceDiagnostic::ServiceUser(
            UserDiagnostic::AuthenticationFailure
        ))
    );
    server.await.unwrap();
}

#[tokio::test]
async fn re_authentication_mid_association_with_invocation_ids() {
    let sese = SeseConfig {
        invocation_ids: InvocationIdSet {
            absent: true,
            present: Some((1, 100)),
        },
        ..SeseConfig::default()
    };
    let mut sc = CarriageConfig::new(hmac_registry("alice", KEY));
    sc.sese = sese;
    let (addr, server) = serve(sc).await;
    let mut cc = CarriageConfig::new(hmac_registry("alice", KEY));
    cc.sese = sese;
    let si = SecureInitiator::new(config(), cc);
    let mut a = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap();
    a.start_exchange(&hmac_id(), InvocationId::Present(7))
        .await
        .unwrap();
    loop {
        let ev = timeout(NET, a.recv()).await.unwrap().unwrap();
        if let SecureEvent::Exchange(ExchangeEvent::Completed {
            invocation_id: InvocationId::Present(7),
            ..
        }) = ev
        {
            break;
        }
    }
    a.send_asn1(APP_PCID, vec![5, 0]).await.unwrap();
    loop {
        if let SecureEvent::Data(_) = timeout(NET, a.recv()).await.unwrap().unwrap() {
            break;
        }
    }
    a.release().await.unwrap();
    let log = server.await.unwrap();
    let ids: Vec<_> = log
        .events
        .iter()
        .filter_map(|e| match e {
            SecureEvent::Exchange(ExchangeEvent::Completed { invocation_id, .. }) => {
                Some(*invocation_id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec![InvocationId::Absent, InvocationId::Present(7)]);
}

#[tokio::test]
async fn sending_application_data_early_is_a_typed_error() {
    // The responder side: before item 3 arrives, its send is refused (checked in serve()).
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("alice", KEY)));
    let mut a = si
        .connect(addr, &hmac_id(), AssociateParams::default())
        .await
        .unwrap();
    // The SESE context is reserved for carriage.
    assert!(matches!(
        a.send_asn1(si.sese_pcid(), vec![5, 0]).await,
        Err(CarriageError::SeseContextReserved)
    ));
    a.release().await.unwrap();
    assert_eq!(server.await.unwrap().pending_send, Some(true));
}
