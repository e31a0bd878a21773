//! Faults, timeouts, concurrency and back-pressure: each fault ends in a typed provider
//! abort (never a panic or a hang; timeouts in tests are safety nets only).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use guls_association::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// A raw libiec61850-style client (golden CR + CN) associated with our Responder.
async fn raw_established(cfg: AssociationConfig) -> (TcpStream, Association, Responder) {
    let responder = Responder::bind("127.0.0.1:0", cfg).await.unwrap();
    let mut s = TcpStream::connect(responder.local_addr()).await.unwrap();
    send(&mut s, &hex(GOLDEN_CR)).await;
    read_tpkt(&mut s).await.unwrap();
    send(&mut s, &hex(GOLDEN_CN)).await;
    let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
    let a = inc.accept(AcceptParams::default()).await.unwrap();
    let ac = read_tsdu(&mut s).await.unwrap();
    assert_eq!(ac[0], 0x0e);
    (s, a, responder)
}

async fn provider_abort(a: &mut Association) -> ProviderAbortReason {
    loop {
        match timeout(NET, a.recv()).await.expect("no hang").unwrap() {
            AssociationEvent::ProviderAbort { reason } => return reason,
            AssociationEvent::Data(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn garbage_after_connect_is_a_transport_abort() {
    let (mut s, mut a, _r) = raw_established(AssociationConfig::mms()).await;
    send(&mut s, b"GARBAGE GARBAGE GARBAGE").await;
    let reason = provider_abort(&mut a).await;
    assert_eq!(reason.layer(), AbortLayer::Transport, "{reason}");
    // Session ABORT (protocol error) then close.
    let ab = read_tsdu(&mut s).await.unwrap();
    assert_eq!(&ab[..5], &[0x19, 0x03, 0x11, 0x01, 0x05]);
    assert!(wait_closed(&mut s).await);
}

#[tokio::test]
async fn oversized_tpkt_is_a_transport_abort() {
    let (mut s, mut a, _r) = raw_established(AssociationConfig::mms()).await;
    send(&mut s, &[0x03, 0x00, 0xff, 0xff, 0x02, 0xf0, 0x80]).await;
    let reason = provider_abort(&mut a).await;
    assert!(
        matches!(reason, ProviderAbortReason::Malformed(_)),
        "{reason}"
    );
    assert_eq!(reason.layer(), AbortLayer::Transport);
    assert!(wait_closed(&mut s).await);
}

#[tokio::test]
async fn truncated_tpkt_then_close_is_a_tcp_abort() {
    let (mut s, mut a, _r) = raw_established(AssociationConfig::mms()).await;
    send(&mut s, &hex(GOLDEN_IDENTIFY)[..12]).await;
    s.shutdown().await.unwrap();
    let reason = provider_abort(&mut a).await;
    assert!(
        matches!(reason, ProviderAbortReason::ConnectionClosed { .. }),
        "{reason}"
    );
    assert_eq!(reason.layer(), AbortLayer::Tcp);
}

#[tokio::test]
async fn undecodable_ppdu_gives_arp_in_session_abort() {
    let (mut s, mut a, _r) = raw_established(AssociationConfig::mms()).await;
    send(
        &mut s,
        &dt(&[0x01, 0x00, 0x01, 0x00, 0x61, 0x05, 0x30, 0x09, 0x02]),
    )
    .await;
    let reason = provider_abort(&mut a).await;
    assert_eq!(reason.layer(), AbortLayer::Presentation, "{reason}");
    let ab = read_tsdu(&mut s).await.unwrap();
    assert_eq!(ab[0], 0x19);
    let Some(guls_session::Spdu::Abort(ab)) =
        guls_session::decode_tsdu(&ab).unwrap().main_spdu().cloned()
    else {
        panic!()
    };
    let arp = guls_presentation::decode_abort(ab.user_data.as_ref().unwrap()).unwrap();
    assert!(matches!(arp, guls_presentation::Abort::Arp(_)));
    assert!(wait_closed(&mut s).await);
}

#[tokio::test]
async fn unexpected_spdu_is_a_session_abort() {
    let (mut s, mut a, _r) = raw_established(AssociationConfig::mms()).await;
    // A second CONNECT in the data phase.
    send(&mut s, &dt(&[0x0d, 0x00])).await;
    let reason = provider_abort(&mut a).await;
    assert_eq!(reason.layer(), AbortLayer::Session, "{reason}");
    assert!(wait_closed(&mut s).await);
}

#[tokio::test]
async fn tcp_close_in_data_phase() {
    let (s, mut a, _r) = raw_established(AssociationConfig::mms()).await;
    drop(s);
    let reason = provider_abort(&mut a).await;
    assert_eq!(reason.layer(), AbortLayer::Tcp, "{reason}");
}

#[tokio::test]
async fn tcp_close_at_each_initiator_stage() {
    // 0: right after TCP accept; 1: after the CR (no CC); 2: after the CN (no AARE).
    for stage in 0..3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            if stage >= 1 {
                read_tpkt(&mut s).await.unwrap();
            }
            if stage >= 2 {
                send(&mut s, &hex("0300001611d00001000100c0010dc2020001c1020001")).await;
                read_tsdu(&mut s).await.unwrap();
            }
        });
        let err = timeout(
            NET,
            Initiator::new(demo_config()).connect(addr, AssociateParams::default()),
        )
        .await
        .expect("no hang")
        .unwrap_err();
        match (stage, &err) {
            (0 | 1, AssociationError::ProviderAbort(r)) => assert_eq!(r.layer(), AbortLayer::Tcp),
            (2, AssociationError::RejectedByPeerNoAare) => {}
            _ => panic!("stage {stage}: unexpected {err:?}"),
        }
        peer.await.unwrap();
    }
}

#[tokio::test]
async fn tcp_close_during_responder_handshake_is_counted() {
    let responder = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = responder.local_addr();
    for stage in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if stage == 1 {
            send(&mut s, &hex(GOLDEN_CR)).await;
            read_tpkt(&mut s).await.unwrap();
        }
        drop(s);
    }
    for _ in 0..2000 {
        if responder.counters().handshake_failures == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(responder.counters().handshake_failures, 2);
    assert_eq!(responder.counters().indications, 0);
}

#[tokio::test]
async fn stalled_peer_hits_idle_timeout() {
    let mut cfg = AssociationConfig::mms();
    cfg.timeouts.idle = Duration::from_millis(300);
    let (mut s, mut a, _r) = raw_established(cfg).await;
    let reason = provider_abort(&mut a).await;
    assert_eq!(reason, ProviderAbortReason::Timeout(TimeoutKind::Idle));
    assert_eq!(reason.layer(), AbortLayer::Local);
    let ab = read_tsdu(&mut s).await.unwrap();
    assert_eq!(ab, vec![0x19, 0x03, 0x11, 0x01, 0x09]);
    assert!(wait_closed(&mut s).await);
}

#[tokio::test]
async fn stalled_peer_during_establishment_times_out() {
    let mut cfg = demo_config();
    cfg.timeouts.establishment = Duration::from_millis(300);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _peer = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    });
    let err = timeout(
        NET,
        Initiator::new(cfg).connect(addr, AssociateParams::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(
        matches!(err, AssociationError::Timeout(TimeoutKind::Establishment)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_associations_one_bad_peer() {
    let responder = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = responder.local_addr();
    let server = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for _ in 0..19 {
            let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
            tasks.push(tokio::spawn(async move {
                let mut a = inc.accept(AcceptParams::default()).await.unwrap();
                loop {
                    match timeout(NET, a.recv()).await.unwrap().unwrap() {
                        AssociationEvent::Data(d) => {
                            let PdvValue::SingleAsn1Type(v) = d.value else {
                                panic!()
                            };
                            a.send_asn1(d.pcid, v).await.unwrap();
                        }
                        AssociationEvent::ReleaseIndication { .. } => {
                            a.release_response(Vec::new()).await.unwrap();
                        }
                        AssociationEvent::Released => break,
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        responder
    });
    let bad = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        send(&mut s, &hex(GOLDEN_CR)).await;
        read_tpkt(&mut s).await.unwrap();
        send(&mut s, &dt(b"\x0d\x05garbage-garbage")).await;
        wait_closed(&mut s).await
    });
    let mut clients = Vec::new();
    for i in 0..19u8 {
        clients.push(tokio::spawn(async move {
            let mut a = Initiator::new(demo_config())
                .connect(addr, AssociateParams::default())
                .await
                .unwrap();
            for j in 0..5u8 {
                a.send_asn1(3, vec![0x04, 0x02, i, j]).await.unwrap();
                match timeout(NET, a.recv()).await.unwrap().unwrap() {
                    AssociationEvent::Data(d) => {
                        assert_eq!(d.value, PdvValue::SingleAsn1Type(vec![0x04, 0x02, i, j]))
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            a.release().await.unwrap();
        }));
    }
    for c in clients {
        timeout(NET, c).await.unwrap().unwrap();
    }
    assert!(timeout(NET, bad).await.unwrap().unwrap(), "bad peer closed");
    let responder = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(responder.counters().indications, 19);
    assert_eq!(responder.counters().handshake_failures, 1);
    timeout(NET, responder.wait_idle()).await.unwrap();
    responder.shutdown();
    assert!(matches!(
        responder.accept().await,
        Err(AssociationError::Shutdown)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_bounds_memory() {
    slow_reader_bounds_memory_with(AssociationConfig::mms()).await;
}

/// The bound follows the configuration: a smaller `max_read` gives a smaller bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_bounds_memory_small_reads() {
    let mut cfg = AssociationConfig::mms();
    cfg.limits.max_read = 4096;
    slow_reader_bounds_memory_with(cfg).await;
}

async fn slow_reader_bounds_memory_with(cfg: AssociationConfig) {
    // The documented bound: one read of at most `max_read` octets plus one TPKT of the
    // configured TPDU size (4-octet TPKT header included).
    let bound_octets = cfg.limits.max_read + cfg.transport.max_tpdu_size + 4;
    let (s, mut a, _r) = raw_established(cfg).await;
    const VALUE: usize = 16 * 1024;
    const COUNT: usize = 1500; // ~24 MB, far more than the socket buffers hold
    let (rd, mut wr) = s.into_split();
    let flood = tokio::spawn(async move {
        let mut v = vec![0x04, 0x82];
        v.extend(((VALUE - 4) as u16).to_be_bytes());
        v.resize(VALUE, 0x55);
        let mut td = vec![0x01, 0x00, 0x01, 0x00, 0x61, 0x82];
        let pdv = {
            let mut p = vec![0x02, 0x01, 0x03, 0xa0, 0x82];
            p.extend((v.len() as u16).to_be_bytes());
            p.extend(&v);
            let mut seq = vec![0x30, 0x82];
            seq.extend((p.len() as u16).to_be_bytes());
            seq.extend(p);
            seq
        };
        td.extend((pdv.len() as u16).to_be_bytes());
        td.extend(pdv);
        let frames = dt(&td);
        for _ in 0..COUNT {
            if wr.write_all(&frames).await.is_err() {
                return false;
            }
        }
        true
    });
    // The socket is serviced only while a call awaits: with no call, nothing is read, and
    // the peer is blocked by TCP back-pressure once the kernel's buffers are full.
    let cap = a.queue_stats().queue_capacity;
    let q0 = a.queue_stats();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let q1 = a.queue_stats();
    assert_eq!(
        q1.octets_received, q0.octets_received,
        "no reads while no call awaits"
    );
    assert!(q1.queued_events <= cap, "{q1:?}");
    assert!(q1.driver_buffered_octets <= bound_octets, "{q1:?}");
    assert!(
        !flood.is_finished(),
        "the peer is blocked by TCP back-pressure"
    );
    // One value taken: at most one read, within the bounds; then again nothing is read.
    match timeout(NET, a.recv()).await.unwrap().unwrap() {
        AssociationEvent::Data(d) => assert_eq!(d.value.data_len(), VALUE),
        other => panic!("unexpected {other:?}"),
    }
    let q2 = a.queue_stats();
    assert!(q2.queued_events <= cap, "{q2:?}");
    assert!(q2.driver_buffered_octets <= bound_octets, "{q2:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let q3 = a.queue_stats();
    assert_eq!(
        q3.octets_received, q2.octets_received,
        "no reads while no call awaits"
    );
    assert!(!flood.is_finished());
    // Drain everything: the flood completes.
    let mut n = 1;
    while n < COUNT {
        match timeout(NET, a.recv()).await.unwrap().unwrap() {
            AssociationEvent::Data(d) => {
                assert_eq!(d.value.data_len(), VALUE);
                n += 1;
                let q = a.queue_stats();
                assert!(q.queued_events <= cap && q.driver_buffered_octets <= bound_octets);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(timeout(NET, flood).await.unwrap().unwrap());
    rd.readable().await.ok();
}

/// A `send` cancelled while the socket takes nothing leaves no half-written TPKT, and a
/// handle dropped while the peer still does not read aborts without a task of its own
/// waiting: once the peer reads, it gets every value whose send began, whole, then the
/// session ABORT, then the close (finished by the small closer task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_with_blocked_output_writes_whole_values_then_the_abort() {
    let (mut s, a, _r) = raw_established(AssociationConfig::mms()).await;
    let value: Arc<[u8]> = vec![0x5a; 60 * 1024].into();
    let mut started = 0usize;
    loop {
        started += 1;
        assert!(started < 100_000, "the peer's buffers never filled");
        match timeout(Duration::from_millis(200), a.send_octets(3, value.clone())).await {
            Ok(r) => r.unwrap(),
            // The socket took nothing for a while: cancelled in the middle of the write.
            Err(_) => break,
        }
    }
    drop(a);
    for i in 0..started {
        let tsdu = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
        assert_eq!(tsdu[0], 0x01, "value {i} of {started}: a data SPDU");
        assert!(tsdu.len() > value.len(), "value {i} of {started} whole");
    }
    let ab = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
    assert_eq!(
        ab[0],
        0x19,
        "session ABORT, got {:02x?}",
        &ab[..ab.len().min(8)]
    );
    assert!(wait_closed(&mut s).await);
}
