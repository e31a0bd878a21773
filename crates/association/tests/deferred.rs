//! [`Initiator::connect_request_with`]: the A-ASSOCIATE request built while the transport
//! connection is being set up. The request is built after the CR is written and before the
//! CC is read; it reaches the responder as [`Initiator::connect_request`] sends it, octet for
//! octet; a builder that fails closes the TCP connection (nothing but the CR sent) and is
//! reported as [`DeferredConnectError::Build`]. Also the initiator's TCP connect: each
//! resolved address in turn, keeping the one that answered.
//!
//! The raw peers here are plain threads with blocking sockets, so that a builder may block
//! its task while it waits for them.

#[path = "common/raw_peer.rs"]
mod raw_peer;
use raw_peer::{Cc, STEP, raw_peer};
mod common;

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use common::*;
use guls_association::*;
use tokio::time::timeout;

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

/// A request with the fields a security exchange fills in: authentication requirements,
/// mechanism name, an `external` value, user-information.
fn request(initiator: &Initiator) -> AssociateRequest {
    let params = AssociateParams {
        authentication: Some(Authentication::external(
            oid("1.3.9999.5"),
            External::single_asn1(3, vec![0x04, 0x02, 0xAA, 0xBB]),
        )),
        user_information: vec![External::single_asn1(3, vec![0x04, 0x00])],
        ..AssociateParams::default()
    };
    initiator.associate_request(params)
}

#[tokio::test]
async fn deferred_request_reaches_the_responder_as_connect_request_sends_it() {
    let r = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = r.local_addr();
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let inc = timeout(NET, r.accept()).await.unwrap().unwrap();
            seen.push((
                inc.indication().clone(),
                inc.connect_indication().clone(),
                inc.calling_tsel().map(<[u8]>::to_vec),
                inc.proposed_session_requirements(),
            ));
            answer_release(inc.accept(AcceptParams::default()).await.unwrap()).await;
        }
        seen
    });
    let initiator = Initiator::new(demo_config());
    let req = request(&initiator);

    let mut a = timeout(NET, initiator.connect_request(addr, req.clone()))
        .await
        .unwrap()
        .unwrap();
    timeout(NET, a.release()).await.unwrap().unwrap();

    let calls = AtomicUsize::new(0);
    let mut a = timeout(
        NET,
        initiator.connect_request_with(addr, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(req.clone())
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(a.associate_confirm().is_some());
    timeout(NET, a.release()).await.unwrap().unwrap();

    let seen = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(seen[0], seen[1], "the responder saw different AARQs");
    let ind = &seen[1].0;
    assert_eq!(ind.mechanism_name, req.mechanism_name);
    assert_eq!(ind.authentication_value, req.authentication_value);
    assert_eq!(ind.user_information, req.user_information);
    assert!(ind.proposes_authentication());
}

#[tokio::test]
async fn the_request_is_built_after_the_cr_and_before_the_cc() {
    let initiator = Initiator::new(demo_config());
    let req = request(&initiator);

    // The builder blocks until the raw peer has read the CR (so the CR was written before
    // the builder ran), and the raw peer answers the CC only once the builder signalled (so
    // the builder ran before the CC was read: otherwise neither side moves and the peer
    // reports the request missing).
    let (cr_tx, cr_rx) = mpsc::channel();
    let (built_tx, built_rx) = mpsc::channel();
    let (addr, peer) = raw_peer(Some(cr_tx), Cc::AfterSignal(built_rx));
    let calls = AtomicUsize::new(0);
    let err = timeout(
        NET,
        initiator.connect_request_with(addr, || {
            calls.fetch_add(1, Ordering::SeqCst);
            cr_rx
                .recv_timeout(STEP)
                .map_err(|_| "the peer has not read a CR")?;
            built_tx.send(()).map_err(|_| "the peer is gone")?;
            Ok::<_, &str>(req.clone())
        }),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    let deferred = peer.join().unwrap().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The peer closed after the CONNECT without an AARE.
    assert!(
        matches!(
            err,
            DeferredConnectError::Association(AssociationError::RejectedByPeerNoAare)
        ),
        "{err:?}"
    );

    // The same request through connect_request: the same CR and CONNECT octets.
    let (addr, peer) = raw_peer(None, Cc::AtOnce);
    let err = timeout(NET, initiator.connect_request(addr, req))
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(
        matches!(err, AssociationError::RejectedByPeerNoAare),
        "{err:?}"
    );
    let direct = peer.join().unwrap().unwrap();
    assert_eq!(deferred.cr, direct.cr);
    assert_eq!(deferred.cr, hex(GOLDEN_CR));
    let cn = deferred.cn.expect("a CONNECT");
    assert_eq!(Some(&cn), direct.cn.as_ref(), "different CONNECT octets");
    assert_eq!(
        cn[0],
        0x0d,
        "a CN SPDU, got {:02x?}",
        &cn[..cn.len().min(4)]
    );
}

/// The builder's error.
#[derive(Debug, PartialEq)]
struct NoCredentials;

impl std::fmt::Display for NoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no credentials")
    }
}

#[tokio::test]
async fn a_failing_builder_closes_the_connection_after_the_cr() {
    let initiator = Initiator::new(demo_config());
    let (cr_tx, cr_rx) = mpsc::channel();
    let (addr, peer) = raw_peer(Some(cr_tx), Cc::Never);
    let calls = AtomicUsize::new(0);
    let err = timeout(
        NET,
        initiator.connect_request_with(addr, || {
            calls.fetch_add(1, Ordering::SeqCst);
            // Only once the peer read the CR, so that it sees the CR and then the close.
            let _ = cr_rx.recv_timeout(STEP);
            Err::<AssociateRequest, _>(NoCredentials)
        }),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let DeferredConnectError::Build(e) = &err else {
        panic!("not the builder's error: {err:?}")
    };
    assert_eq!(e, &NoCredentials);
    assert_eq!(err.to_string(), "no credentials");
    let seen = peer.join().unwrap().unwrap();
    assert_eq!(seen.cr, hex(GOLDEN_CR));
    assert!(
        seen.closed,
        "the peer did not see the TCP close after the CR"
    );
}

#[tokio::test]
async fn the_builder_is_not_called_when_tcp_connect_fails() {
    let closed = {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let calls = AtomicUsize::new(0);
    let err = timeout(
        NET,
        Initiator::new(demo_config()).connect_request_with(closed, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<AssociateRequest, _>(NoCredentials)
        }),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(
        matches!(
            err,
            DeferredConnectError::Association(AssociationError::Io(_))
        ),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn tcp_connect_tries_each_address_and_keeps_the_one_that_answered() {
    let r = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let good = r.local_addr();
    let server = tokio::spawn(async move {
        let inc = timeout(NET, r.accept()).await.unwrap().unwrap();
        answer_release(inc.accept(AcceptParams::default()).await.unwrap()).await;
    });
    let refused = {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let initiator = Initiator::new(demo_config());
    let addrs = [refused, good];
    let mut a = timeout(
        NET,
        initiator.connect(&addrs[..], AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(a.peer_addr(), good);
    timeout(NET, a.release()).await.unwrap().unwrap();
    timeout(NET, server).await.unwrap().unwrap();

    // None answers: the last error.
    let err = timeout(
        NET,
        initiator.connect(&[refused, refused][..], AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap_err();
    let AssociationError::Io(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");

    // Nothing to connect to.
    let err = timeout(
        NET,
        initiator.connect(&[] as &[SocketAddr], AssociateParams::default()),
    )
    .await
    .unwrap()
    .unwrap_err();
    let AssociationError::Io(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
}
