//! Loopback tests of the association services between our Initiator and our Responder.

mod common;

use common::*;
use guls_association::*;
use tokio::time::timeout;

async fn pair() -> (Association, Association) {
    let responder = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = responder.local_addr();
    let server = tokio::spawn(async move {
        let inc = responder.accept().await.unwrap();
        assert_eq!(inc.indication().application_context_name, app_context());
        inc.accept(AcceptParams::default()).await.unwrap()
    });
    let client = Initiator::new(demo_config())
        .connect(addr, AssociateParams::default())
        .await
        .unwrap();
    let server = timeout(NET, server).await.unwrap().unwrap();
    (client, server)
}

#[tokio::test]
async fn associate_data_both_ways_release() {
    let (mut client, mut server) = pair().await;
    assert_eq!(client.contexts().len(), 2);
    assert_eq!(client.contexts()[0].pcid, 1);
    assert_eq!(client.contexts()[1].pcid, 3);
    assert_eq!(server.contexts(), client.contexts());

    client
        .send_asn1(app_syntax(), vec![0x04, 0x02, 0xAA, 0xBB])
        .await
        .unwrap();
    match timeout(NET, server.recv()).await.unwrap().unwrap() {
        AssociationEvent::Data(d) => {
            assert_eq!(d.pcid, 3);
            assert_eq!(d.abstract_syntax, app_syntax());
            assert_eq!(
                d.value,
                PdvValue::SingleAsn1Type(vec![0x04, 0x02, 0xAA, 0xBB])
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    server
        .send(3, PdvValue::OctetAligned(vec![1, 2, 3]))
        .await
        .unwrap();
    match timeout(NET, client.recv()).await.unwrap().unwrap() {
        AssociationEvent::Data(d) => assert_eq!(d.value, PdvValue::OctetAligned(vec![1, 2, 3])),
        other => panic!("unexpected {other:?}"),
    }
    // A large value is segmented into several DT TPDUs and reassembled.
    let big = {
        let mut v = vec![0x04, 0x83, 0x01, 0x00, 0x00];
        v.extend(std::iter::repeat_n(0x5A, 0x10000));
        v
    };
    client.send_asn1(3, big.clone()).await.unwrap();
    match timeout(NET, server.recv()).await.unwrap().unwrap() {
        AssociationEvent::Data(d) => assert_eq!(d.value, PdvValue::SingleAsn1Type(big)),
        other => panic!("unexpected {other:?}"),
    }
    release_pair(client, server).await;
}

/// The client releases; the server answers; both end closed.
async fn release_pair(mut client: Association, mut server: Association) {
    let srv = tokio::spawn(async move {
        match timeout(NET, server.recv()).await.unwrap().unwrap() {
            AssociationEvent::ReleaseIndication { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        server.release_response(Vec::new()).await.unwrap();
        let last = timeout(NET, server.recv()).await.unwrap().unwrap();
        assert_eq!(last, AssociationEvent::Released);
        assert!(matches!(server.recv().await, Err(AssociationError::Closed)));
    });
    let outcome = timeout(NET, client.release()).await.unwrap().unwrap();
    assert!(!outcome.collision);
    timeout(NET, srv).await.unwrap().unwrap();
}

#[tokio::test]
async fn user_reject_with_diagnostic_13() {
    let responder = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = responder.local_addr();
    let server = tokio::spawn(async move {
        let inc = responder.accept().await.unwrap();
        let auth = inc.indication().authentication_value.clone().unwrap();
        assert!(!auth.matches_charstring(b"right"));
        // Debug never shows the password.
        assert!(!format!("{inc:?}").contains("wrong-pw"));
        inc.reject(UserDiagnostic::AuthenticationFailure, Vec::new())
            .await
            .unwrap();
    });
    let err = Initiator::new(demo_config())
        .connect(
            addr,
            AssociateParams {
                authentication: Some(Authentication::password(b"wrong-pw")),
                ..AssociateParams::default()
            },
        )
        .await
        .unwrap_err();
    match err {
        AssociationError::Rejected(r) => {
            assert_eq!(r.result, AssociateResult::RejectedPermanent);
            assert_eq!(r.source, ResultSource::AcseServiceUser);
            assert_eq!(
                r.diagnostic,
                Some(ResultSourceDiagnostic::ServiceUser(
                    UserDiagnostic::AuthenticationFailure
                ))
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    timeout(NET, server).await.unwrap().unwrap();
}

fn ext(v: u8) -> External {
    External::single_asn1(3, vec![0x04, 0x01, v])
}

#[tokio::test]
async fn abort_with_user_info_from_initiator() {
    let (client, mut server) = pair().await;
    client.abort(vec![ext(7)]).await.unwrap();
    match timeout(NET, server.recv()).await.unwrap().unwrap() {
        AssociationEvent::AbortIndication {
            source,
            user_information,
            ..
        } => {
            assert_eq!(source, AbortSource::AcseServiceUser);
            assert_eq!(user_information, vec![ext(7)]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(server.recv().await, Err(AssociationError::Closed)));
    assert!(client.send_asn1(3, vec![5, 0]).await.is_err());
}

#[tokio::test]
async fn abort_with_user_info_from_responder() {
    let (mut client, server) = pair().await;
    server.abort(vec![ext(9)]).await.unwrap();
    match timeout(NET, client.recv()).await.unwrap().unwrap() {
        AssociationEvent::AbortIndication {
            source,
            user_information,
            ..
        } => {
            assert_eq!(source, AbortSource::AcseServiceUser);
            assert_eq!(user_information, vec![ext(9)]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn release_collision_completes_on_both_sides() {
    let (mut client, mut server) = pair().await;
    let (a, b) = tokio::join!(
        timeout(NET, client.release()),
        timeout(NET, server.release())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // Either both saw a collision, or one side's release came first and the other side's
    // request was refused (the peer had already released).
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert!(x.collision && y.collision),
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => {}
        other => panic!("unexpected {other:?}"),
    }
}

/// Sends are acknowledged when queued: many in a row arrive complete and in order, and once
/// our side of the release is done (or after an abort) `send` is `Closed` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_sends_keep_order_and_end_with_closed() {
    let (mut client, mut server) = pair().await;
    const N: u32 = 500;
    let rx = tokio::spawn(async move {
        for i in 0..N {
            match timeout(NET, server.recv()).await.unwrap().unwrap() {
                AssociationEvent::Data(d) => {
                    let mut v = vec![0x04, 0x04];
                    v.extend(i.to_be_bytes());
                    assert_eq!(d.value, PdvValue::SingleAsn1Type(v), "value {i}");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        match timeout(NET, server.recv()).await.unwrap().unwrap() {
            AssociationEvent::ReleaseIndication { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        server.release_response(Vec::new()).await.unwrap();
        assert!(matches!(
            server.send_asn1(3, vec![0x05, 0x00]).await,
            Err(AssociationError::Closed)
        ));
        assert_eq!(
            timeout(NET, server.recv()).await.unwrap().unwrap(),
            AssociationEvent::Released
        );
    });
    for i in 0..N {
        let mut v = vec![0x04, 0x04];
        v.extend(i.to_be_bytes());
        client.send_asn1(3, v).await.unwrap();
    }
    timeout(NET, client.release()).await.unwrap().unwrap();
    assert!(matches!(
        client.send_asn1(3, vec![0x05, 0x00]).await,
        Err(AssociationError::Closed)
    ));
    timeout(NET, rx).await.unwrap().unwrap();

    let (client, mut server) = pair().await;
    client.abort(Vec::new()).await.unwrap();
    assert!(matches!(
        client.send_asn1(3, vec![0x05, 0x00]).await,
        Err(AssociationError::Closed)
    ));
    assert!(matches!(
        timeout(NET, server.recv()).await.unwrap().unwrap(),
        AssociationEvent::AbortIndication { .. }
    ));
}

#[tokio::test]
async fn values_of_every_size_arrive_whole_both_ways() {
    // Around the head split's threshold and the DT segment size, in one DT and in many.
    let (mut client, mut server) = pair().await;
    let sizes = [
        0usize, 1, 300, 511, 512, 513, 8_000, 8_189, 8_192, 16_384, 65_536, 65_537, 300_000,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let octets: Vec<u8> = (0..len)
            .map(|k| (k as u8).wrapping_mul(11) ^ i as u8)
            .collect();
        let asn1 = {
            let mut v = vec![0x04, 0x84];
            v.extend((len as u32).to_be_bytes());
            v.extend_from_slice(&octets);
            v
        };
        for (from_client, value) in [
            (true, PdvValue::OctetAligned(octets.clone())),
            (false, PdvValue::OctetAligned(octets.clone())),
            (true, PdvValue::SingleAsn1Type(asn1.clone())),
            (false, PdvValue::SingleAsn1Type(asn1.clone())),
        ] {
            let (tx, rx) = if from_client {
                (&mut client, &mut server)
            } else {
                (&mut server, &mut client)
            };
            tx.send(3, value.clone()).await.unwrap();
            match timeout(NET, rx.recv()).await.unwrap().unwrap() {
                AssociationEvent::Data(d) => {
                    assert_eq!(d.pcid, 3);
                    assert!(d.value == value, "{len} octets, from client {from_client}");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    release_pair(client, server).await;
}
