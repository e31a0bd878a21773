//! `Responder::serve`: the handler gets every indication in the handshake's task, and the
//! responder's limits, counters, failures and shutdown behave as with `Responder::bind`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use guls_association::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A serving responder that echoes data and answers releases; it counts the associations it
/// accepted and rejects the ones whose implementation information is `reject`.
async fn echo_server(config: AssociationConfig) -> (Responder, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let responder = Responder::serve("127.0.0.1:0", config, move |inc: IncomingAssociation| {
        let count = count.clone();
        async move {
            if inc.indication().implementation_information.as_deref() == Some(b"reject") {
                inc.reject(UserDiagnostic::AuthenticationFailure, Vec::new())
                    .await
                    .unwrap();
                return;
            }
            let mut a = inc.accept(AcceptParams::default()).await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            loop {
                match a.recv().await {
                    Ok(AssociationEvent::Data(d)) => a.send(d.pcid, d.value).await.unwrap(),
                    Ok(AssociationEvent::ReleaseIndication { .. }) => {
                        a.release_response(Vec::new()).await.unwrap();
                    }
                    _ => break,
                }
            }
        }
    })
    .await
    .unwrap();
    (responder, served)
}

async fn echo_once(initiator: &Initiator, addr: std::net::SocketAddr, value: u8) {
    let mut a = initiator
        .connect(addr, AssociateParams::default())
        .await
        .unwrap();
    a.send_asn1(app_syntax(), vec![0x04, 0x01, value])
        .await
        .unwrap();
    match timeout(NET, a.recv()).await.unwrap().unwrap() {
        AssociationEvent::Data(d) => {
            assert_eq!(d.value, PdvValue::SingleAsn1Type(vec![0x04, 0x01, value]));
        }
        other => panic!("unexpected {other:?}"),
    }
    timeout(NET, a.release()).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_serves_concurrent_associations_to_their_end() {
    let (responder, served) = echo_server(demo_config()).await;
    let addr = responder.local_addr();
    let initiator = Arc::new(Initiator::new(demo_config()));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16u8 {
        let initiator = initiator.clone();
        set.spawn(async move { echo_once(&initiator, addr, i).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    assert_eq!(served.load(Ordering::SeqCst), 16);
    // Each permit is held until its handler's future ends.
    timeout(NET, responder.wait_idle()).await.unwrap();
    assert_eq!(responder.live_associations(), 0);
    let c = responder.counters();
    assert_eq!(
        (c.tcp_accepted, c.indications, c.handshake_failures),
        (16, 16, 0)
    );
    // The indications went to the handler: there is no queue to accept from.
    assert!(matches!(
        responder.accept().await,
        Err(AssociationError::IllegalPrimitive(_))
    ));
}

#[tokio::test]
async fn the_handler_can_reject() {
    let (responder, served) = echo_server(demo_config()).await;
    let params = AssociateParams {
        implementation_information: Some(b"reject".to_vec()),
        ..AssociateParams::default()
    };
    let r = Initiator::new(demo_config())
        .connect(responder.local_addr(), params)
        .await;
    match r {
        Err(AssociationError::Rejected(rej)) => {
            assert_eq!(
                rej.diagnostic,
                Some(ResultSourceDiagnostic::ServiceUser(
                    UserDiagnostic::AuthenticationFailure
                ))
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(served.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn failures_limits_and_shutdown_are_those_of_bind() {
    let mut config = demo_config();
    config.limits.max_associations = 1;
    let (responder, served) = echo_server(config).await;
    let addr = responder.local_addr();

    // A CONNECT that is not a CR: reported as a handshake failure, the handler never runs.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&hex("0300000702f080")).await.unwrap();
    assert!(wait_closed(&mut s).await);
    let f = timeout(NET, responder.next_handshake_failure())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.peer_addr, s.local_addr().unwrap());

    // One association alive holds the only permit: a second connection is refused.
    let initiator = Initiator::new(demo_config());
    let mut held = initiator
        .connect(addr, AssociateParams::default())
        .await
        .unwrap();
    let mut refused = TcpStream::connect(addr).await.unwrap();
    assert!(wait_closed(&mut refused).await);
    timeout(NET, held.release()).await.unwrap().unwrap();
    timeout(NET, responder.wait_idle()).await.unwrap();
    assert_eq!(responder.counters().refused_limit, 1);

    // After shutdown the accept loop ends and closes the listener: connecting is refused.
    echo_once(&initiator, addr, 7).await;
    responder.shutdown();
    let mut refused_after_shutdown = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            refused_after_shutdown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused_after_shutdown);
    assert_eq!(served.load(Ordering::SeqCst), 2);
}
