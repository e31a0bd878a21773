//! [`Initiator::connect_request_with`]: the A-ASSOCIATE request built while the transport
//! connection is being set up. The request is built after the CR is written and before the
//! CC is read; it reaches the responder as [`Initiator::connect_request`] sends it, octet for
//! octet; a builder that fails closes the TCP connection (nothing but the CR sent) and is
//! reported as [`DeferredConnectError::Build`]. Also the initiator's TCP connect: each
//! resolved address in turn, keeping the one that answered.
//!
//! The raw peers here are plain threads with blocking sockets, so that a builder may block
//! its task while it waits for them.

mod common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use guls_association::*;
use tokio::time::timeout;

/// A CC for the CR of [`demo_config`] (as in `faults.rs`).
const CC: &str = "0300001611d00001000100c0010dc2020001c1020001";
/// How long a raw peer or a builder waits for the other side (a failure, never a timing
/// assertion: each wait ends as soon as the other side acts).
const STEP: Duration = Duration::from_secs(5);

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

/// Reads one TPKT (header + payload), blocking.
fn std_read_tpkt(s: &mut StdStream) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0u8; 4];
    s.read_exact(&mut v)?;
    let len = u16::from_be_bytes([v[2], v[3]]) as usize;
    v.resize(len, 0);
    s.read_exact(&mut v[4..])?;
    Ok(v)
}

/// Reads DT TPKTs up to the one with EOT; the TSDU, blocking.
fn std_read_tsdu(s: &mut StdStream) -> std::io::Result<Vec<u8>> {
    let mut tsdu = Vec::new();
    loop {
        let f = std_read_tpkt(s)?;
        assert_eq!(
            f[5],
            0xf0,
            "expected a DT, got {:02x?}",
            &f[..f.len().min(8)]
        );
        tsdu.extend_from_slice(&f[7..]);
        if f[6] & 0x80 != 0 {
            return Ok(tsdu);
        }
    }
}

/// What a raw peer saw.
#[derive(Debug)]
struct Seen {
    cr: Vec<u8>,
    /// The CONNECT TSDU (CN + CP + AARQ), when a CC was sent.
    cn: Option<Vec<u8>>,
    /// Whether the initiator then closed the connection (end of stream) with nothing more.
    closed: bool,
}

/// A raw peer that accepts one connection and reads the CR, then tells `cr_read` (if
/// given); answers a CC only when `cc` says so — at once, or after `built` signalled — and
/// then reads the CONNECT; finally reads until the end of the stream.
fn raw_peer(
    cr_read: Option<mpsc::Sender<()>>,
    cc: Cc,
) -> (SocketAddr, JoinHandle<Result<Seen, String>>) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(STEP)).unwrap();
        let cr = std_read_tpkt(&mut s).map_err(|e| format!("CR: {e}"))?;
        if let Some(tx) = cr_read {
            let _ = tx.send(());
        }
        let cn = match cc {
            Cc::Never => None,
            Cc::AtOnce => Some(()),
            Cc::AfterBuilt(built) => Some(
                built
                    .recv_timeout(STEP)
                    .map_err(|_| "the request was not built before the CC".to_string())?,
            ),
        };
        let cn = match cn {
            Some(()) => {
                s.write_all(&hex(CC)).map_err(|e| e.to_string())?;
                Some(std_read_tsdu(&mut s).map_err(|e| format!("CONNECT: {e}"))?)
            }
            None => None,
        };
        // After the CONNECT (or the CR alone) the peer closes, or waits for the close.
        if cn.is_some() {
            return Ok(Seen {
                cr,
                cn,
                closed: false,
            });
        }
        let mut b = [0u8; 64];
        let closed = matches!(s.read(&mut b), Ok(0));
        Ok(Seen { cr, cn, closed })
    });
    (addr, peer)
}

/// When the raw peer answers the CR.
enum Cc {
    /// Never: it waits for the initiator to close.
    Never,
    /// At once.
    AtOnce,
    /// Once the builder signalled.
    AfterBuilt(mpsc::Receiver<()>),
}

async fn answer_release(mut a: Association) {
    let ev = timeout(NET, a.recv()).await.unwrap().unwrap();
    assert!(
        matches!(ev, AssociationEvent::ReleaseIndication { .. }),
        "{ev:?}"
    );
    a.release_response(Vec::new()).await.unwrap();
    let ev = timeout(NET, a.recv()).await.unwrap().unwrap();
    assert_eq!(ev, AssociationEvent::Released);
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
    let (addr, peer) = raw_peer(Some(cr_tx), Cc::AfterBuilt(built_rx));
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
