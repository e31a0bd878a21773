//! The peer closing TCP around a release: every indication decoded from octets received
//! before the close is delivered first, and a close or abort is reported exactly once (as
//! the error of the waiting call, or as an event, never both). No timing assertions: the
//! timeouts are safety nets, and the races are run many times.

mod common;

use std::time::Duration;

use common::*;
use guls_association::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// A raw libiec61850 client (golden CR + CN) associated with `responder`; returns its
/// socket (the AC read) and our responder-side association.
async fn raw_client(responder: &Responder) -> (TcpStream, Association) {
    let mut s = TcpStream::connect(responder.local_addr()).await.unwrap();
    send(&mut s, &hex(GOLDEN_CR)).await;
    read_tpkt(&mut s).await.unwrap();
    send(&mut s, &hex(GOLDEN_CN)).await;
    let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
    let a = inc.accept(AcceptParams::default()).await.unwrap();
    let ac = read_tsdu(&mut s).await.unwrap();
    assert_eq!(ac[0], 0x0e, "AC");
    (s, a)
}

async fn next(a: &mut Association) -> Result<AssociationEvent, AssociationError> {
    timeout(NET, a.recv()).await.expect("no hang")
}

/// How the raw client ends after its FN+RLRQ.
#[derive(Clone, Copy, Debug)]
enum PeerEnd {
    /// `shutdown()` (FIN) and keep reading: a half-close.
    HalfClose,
    /// Drop the socket at once, as libiec61850 does.
    Drop,
    /// A P-DATA value and FN+RLRQ in one write, then drop.
    DataThenDrop,
}

/// libiec61850 sends FN+RLRQ and closes TCP ~5 µs later. The application always gets the
/// release indication first; its release response succeeds and the association ends with
/// `Released`, whatever the order in which the driver sees the close and the response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fn_then_close_always_indicates_the_release_first() {
    let responder = Responder::bind("127.0.0.1:0", AssociationConfig::mms())
        .await
        .unwrap();
    for i in 0..60usize {
        let end = [PeerEnd::HalfClose, PeerEnd::Drop, PeerEnd::DataThenDrop][i % 3];
        let (mut s, mut a) = raw_client(&responder).await;
        let peer = tokio::spawn(async move {
            let mut out = Vec::new();
            if matches!(end, PeerEnd::DataThenDrop) {
                out.extend(hex(GOLDEN_IDENTIFY));
            }
            out.extend(hex(GOLDEN_FN));
            s.write_all(&out).await.unwrap();
            match end {
                PeerEnd::HalfClose => {
                    s.shutdown().await.unwrap();
                    // Still reading: the DN+RLRE arrives, then our close.
                    let dn = read_tsdu(&mut s).await.unwrap();
                    assert_eq!(dn[0], 0x0a, "DN, got {dn:02x?}");
                    assert!(wait_closed(&mut s).await);
                }
                PeerEnd::Drop | PeerEnd::DataThenDrop => drop(s),
            }
        });
        // Every other time, let the peer finish its close before the application looks.
        if i % 2 == 0 && !matches!(end, PeerEnd::HalfClose) {
            timeout(NET, peer).await.unwrap().unwrap();
        }
        if matches!(end, PeerEnd::DataThenDrop) {
            match next(&mut a).await.unwrap() {
                AssociationEvent::Data(d) => assert_eq!(d.pcid, 3),
                other => panic!("iteration {i}: expected the data first, got {other:?}"),
            }
        }
        match next(&mut a).await.unwrap() {
            AssociationEvent::ReleaseIndication { .. } => {}
            other => panic!("iteration {i} ({end:?}): expected ReleaseIndication, got {other:?}"),
        }
        a.release_response(Vec::new())
            .await
            .unwrap_or_else(|e| panic!("iteration {i} ({end:?}): release response: {e:?}"));
        assert_eq!(
            next(&mut a).await.unwrap(),
            AssociationEvent::Released,
            "iteration {i} ({end:?})"
        );
        assert!(matches!(next(&mut a).await, Err(AssociationError::Closed)));
    }
    timeout(NET, responder.wait_idle()).await.unwrap();
}

/// The same race while the application is sending: our writes fail once the peer reset the
/// connection, yet the FN+RLRQ it sent before is still indicated first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fn_then_close_while_sending_still_indicates_the_release() {
    let responder = Responder::bind("127.0.0.1:0", AssociationConfig::mms())
        .await
        .unwrap();
    for i in 0..30usize {
        let (mut s, mut a) = raw_client(&responder).await;
        let peer = tokio::spawn(async move {
            send(&mut s, &hex(GOLDEN_FN)).await;
            // Dropped with our values unread: the peer's kernel answers them with a reset.
            drop(s);
        });
        if i % 2 == 0 {
            timeout(NET, peer).await.unwrap().unwrap();
        }
        for j in 0..40u8 {
            // The transport may already be gone: values are then lost, and the close is
            // reported by the events below, not by `send`.
            a.send_asn1(3, vec![0x04, 0x01, j]).await.unwrap();
        }
        match next(&mut a).await.unwrap() {
            AssociationEvent::ReleaseIndication { .. } => {}
            other => panic!("iteration {i}: expected ReleaseIndication, got {other:?}"),
        }
        a.release_response(Vec::new()).await.unwrap();
        assert_eq!(next(&mut a).await.unwrap(), AssociationEvent::Released);
        assert!(matches!(next(&mut a).await, Err(AssociationError::Closed)));
    }
}

/// FN+RLRQ then close, and the application does not answer: after the release timeout the
/// close is reported once, with the release stage; a late response is `Closed`.
#[tokio::test]
async fn fn_then_close_without_a_response_reports_the_close_once() {
    let mut cfg = AssociationConfig::mms();
    cfg.timeouts.release = Duration::from_millis(100);
    let responder = Responder::bind("127.0.0.1:0", cfg).await.unwrap();
    for _ in 0..3 {
        let (mut s, mut a) = raw_client(&responder).await;
        send(&mut s, &hex(GOLDEN_FN)).await;
        drop(s);
        assert!(matches!(
            next(&mut a).await.unwrap(),
            AssociationEvent::ReleaseIndication { .. }
        ));
        match next(&mut a).await.unwrap() {
            AssociationEvent::ProviderAbort {
                reason: ProviderAbortReason::ConnectionClosed { stage },
            } => assert!(stage.starts_with("release"), "{stage}"),
            other => panic!("expected the close, got {other:?}"),
        }
        assert!(matches!(
            a.release_response(Vec::new()).await,
            Err(AssociationError::Closed)
        ));
        assert!(matches!(next(&mut a).await, Err(AssociationError::Closed)));
    }
}

/// A close in the data phase is one event; later calls are `Closed`, never the abort again.
#[tokio::test]
async fn close_in_data_phase_is_reported_once() {
    let responder = Responder::bind("127.0.0.1:0", AssociationConfig::mms())
        .await
        .unwrap();
    let (mut s, mut a) = raw_client(&responder).await;
    send(&mut s, &hex(GOLDEN_IDENTIFY)).await;
    drop(s);
    assert!(matches!(
        next(&mut a).await.unwrap(),
        AssociationEvent::Data(_)
    ));
    match next(&mut a).await.unwrap() {
        AssociationEvent::ProviderAbort {
            reason: ProviderAbortReason::ConnectionClosed { stage },
        } => assert_eq!(stage, "data transfer"),
        other => panic!("expected the close, got {other:?}"),
    }
    assert!(matches!(
        a.send_asn1(3, vec![0x05, 0x00]).await,
        Err(AssociationError::Closed)
    ));
    assert!(matches!(
        a.release_response(Vec::new()).await,
        Err(AssociationError::Closed)
    ));
    assert!(matches!(
        a.abort(Vec::new()).await,
        Err(AssociationError::Closed)
    ));
    assert!(matches!(a.release().await, Err(AssociationError::Closed)));
    assert!(matches!(next(&mut a).await, Err(AssociationError::Closed)));
}

/// What the proxy does with the initiator's FN.
#[derive(Clone, Copy, Debug)]
enum OnFn {
    /// Close both TCP connections (open61850 answers FN so).
    Close,
    /// Answer with a session ABORT (protocol error), then close.
    SessionAbort,
    /// Swallow it and keep the connection open.
    Hold,
}

/// A proxy between our Initiator and our Responder that forwards the establishment (CR, CC,
/// CN, AC; one TPKT each) and then acts on the initiator's FN.
async fn proxy(listener: TcpListener, server: std::net::SocketAddr, on_fn: OnFn) {
    let (mut c, _) = listener.accept().await.unwrap();
    let mut s = TcpStream::connect(server).await.unwrap();
    for from_client in [true, false, true, false] {
        let (src, dst) = if from_client {
            (&mut c, &mut s)
        } else {
            (&mut s, &mut c)
        };
        let f = read_tpkt(src).await.unwrap();
        send(dst, &f).await;
    }
    let fin = read_tsdu(&mut c).await.unwrap();
    assert_eq!(fin[0], 0x09, "FN, got {fin:02x?}");
    match on_fn {
        OnFn::Close => {}
        OnFn::SessionAbort => send(&mut c, &dt(&[0x19, 0x03, 0x11, 0x01, 0x05])).await,
        OnFn::Hold => {
            wait_closed(&mut c).await;
        }
    }
}

/// Our release answered by a TCP close (no DN): `release()` fails with the close, and the
/// same abort is not reported again by `recv()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_answered_by_close_is_reported_once() {
    let mut cfg = demo_config();
    cfg.timeouts.release = Duration::from_millis(100);
    let responder = Responder::bind("127.0.0.1:0", cfg.clone()).await.unwrap();
    let server = responder.local_addr();
    let srv = tokio::spawn(async move {
        loop {
            let Ok(Ok(inc)) = timeout(NET, responder.accept()).await else {
                return;
            };
            tokio::spawn(async move {
                let mut a = inc.accept(AcceptParams::default()).await.unwrap();
                while timeout(NET, a.recv()).await.is_ok_and(|r| r.is_ok()) {}
            });
        }
    });
    for i in 0..24usize {
        let on_fn = [OnFn::Close, OnFn::SessionAbort, OnFn::Close, OnFn::Hold][i % 4];
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let p = tokio::spawn(proxy(listener, server, on_fn));
        let mut client = timeout(
            NET,
            Initiator::new(cfg.clone()).connect(addr, AssociateParams::default()),
        )
        .await
        .unwrap()
        .unwrap();
        let err = timeout(NET, client.release())
            .await
            .expect("no hang")
            .unwrap_err();
        match (on_fn, &err) {
            (
                OnFn::Close,
                AssociationError::ProviderAbort(ProviderAbortReason::ConnectionClosed {
                    stage: "release",
                }),
            )
            | (
                OnFn::SessionAbort,
                AssociationError::ProviderAbort(ProviderAbortReason::SessionAbort(_)),
            )
            | (
                OnFn::Hold,
                AssociationError::ProviderAbort(ProviderAbortReason::Timeout(TimeoutKind::Release)),
            ) => {}
            _ => panic!("iteration {i} ({on_fn:?}): unexpected {err:?}"),
        }
        // Reported once: the event queue holds nothing more.
        match next(&mut client).await {
            Err(AssociationError::Closed) => {}
            other => panic!("iteration {i} ({on_fn:?}): reported again: {other:?}"),
        }
        assert!(matches!(
            client.abort(Vec::new()).await,
            Err(AssociationError::Closed)
        ));
        timeout(NET, p).await.unwrap().unwrap();
    }
    srv.abort();
}
