//! Tests of the sans-IO transport machine: two machines talking through bytes.

use guls_transport::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cfg(size: TpduSize) -> TransportConfig {
    TransportConfig {
        max_tpdu_size: size,
        calling_tsel: Some(vec![0, 1]),
        called_tsel: Some(vec![0, 1]),
        ..TransportConfig::default()
    }
}

/// Connects an initiator proposing `init` to a responder accepting up to `resp`.
fn pair(init: TpduSize, resp: TpduSize) -> (TransportConnection, TransportConnection) {
    let mut a = TransportConnection::initiator(cfg(init));
    let mut b = TransportConnection::responder(TransportConfig {
        called_tsel: None,
        calling_tsel: None,
        ..cfg(resp)
    });
    let cr = a.connect().unwrap();
    let ev = b.on_bytes(&cr).unwrap();
    match ev.as_slice() {
        [TransportEvent::ConnectIndication(ind)] => {
            assert_eq!(ind.proposed_tpdu_size, init);
            assert_eq!(ind.calling_tsel.as_deref(), Some(&[0u8, 1][..]));
            assert_eq!(ind.called_tsel.as_deref(), Some(&[0u8, 1][..]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.state(), TransportState::AwaitingConnectResponse);
    let cc = b.accept().unwrap();
    let ev = a.on_bytes(&cc).unwrap();
    let expect = init.min(resp);
    match ev.as_slice() {
        [TransportEvent::Connected(c)] => {
            assert_eq!(c.tpdu_size, expect);
            assert_eq!(c.responding_tsel.as_deref(), Some(&[0u8, 1][..]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.state(), TransportState::Connected);
    assert_eq!(b.state(), TransportState::Connected);
    assert_eq!(a.tpdu_size(), expect);
    assert_eq!(b.tpdu_size(), expect);
    (a, b)
}

#[test]
fn libiec61850_cr_gets_golden_cc() {
    let mut b = TransportConnection::responder(TransportConfig {
        src_ref: 1,
        ..TransportConfig::default()
    });
    let ev = b
        .on_bytes(&hex("0300001611e00000000100c0010dc2020001c1020001"))
        .unwrap();
    match ev.as_slice() {
        [TransportEvent::ConnectIndication(ind)] => {
            assert_eq!(ind.proposed_tpdu_size, TpduSize::S8192);
            assert_eq!(ind.proposed_class, TransportClass::Class0);
            assert_eq!(ind.remote_ref, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        b.accept().unwrap(),
        hex("0300001611d00001000100c0010dc2020001c1020001")
    );
    assert_eq!(b.tpdu_size(), TpduSize::S8192);
}

#[test]
fn initiator_cr_matches_libiec61850() {
    let mut a = TransportConnection::initiator(TransportConfig {
        src_ref: 1,
        ..cfg(TpduSize::S8192)
    });
    assert_eq!(
        a.connect().unwrap(),
        hex("0300001611e00000000100c0010dc2020001c1020001")
    );
    let ev = a
        .on_bytes(&hex("0300001611d00001000100c0010dc2020001c1020001"))
        .unwrap();
    assert!(
        matches!(ev.as_slice(), [TransportEvent::Connected(c)] if c.tpdu_size == TpduSize::S8192)
    );
}

#[test]
fn size_negotiation() {
    pair(TpduSize::S8192, TpduSize::S2048);
    pair(TpduSize::S1024, TpduSize::S8192);
    pair(TpduSize::S128, TpduSize::S128);
}

#[test]
fn cr_without_size_gets_default_and_cc_without_size_means_128() {
    let mut b = TransportConnection::responder(TransportConfig::default());
    // CR with no parameters at all.
    let ev = b.on_bytes(&hex("0300000b06e00000000200")).unwrap();
    assert!(
        matches!(ev.as_slice(), [TransportEvent::ConnectIndication(i)] if i.proposed_tpdu_size == TpduSize::S128)
    );
    let cc = b.accept().unwrap();
    assert_eq!(cc, hex("0300000b06d00002000100"));
    assert_eq!(b.tpdu_size(), TpduSize::S128);

    let mut a = TransportConnection::initiator(TransportConfig::default());
    a.connect().unwrap();
    let ev = a.on_bytes(&hex("0300000b06d00001000500")).unwrap();
    assert!(
        matches!(ev.as_slice(), [TransportEvent::Connected(c)] if c.tpdu_size == TpduSize::S128)
    );
}

#[test]
fn segmentation_and_reassembly_100k() {
    let tsdu: Vec<u8> = (0..100 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    for size in [TpduSize::S128, TpduSize::S2048, TpduSize::S8192] {
        let (a, mut b) = pair(size, size);
        let wire = a.send_tsdu(&tsdu).unwrap();
        let frames: Vec<_> = split_frames(&wire, MAX_TPKT_LEN)
            .map(Result::unwrap)
            .collect();
        assert_eq!(frames.len(), tsdu.len().div_ceil(size.max_dt_user_data()));
        assert!(frames.iter().all(|f| f.payload.len() <= size.octets()));
        // Delivered in uneven chunks.
        let mut got = Vec::new();
        for chunk in wire.chunks(997) {
            got.extend(b.on_bytes(chunk).unwrap());
        }
        assert_eq!(got, vec![TransportEvent::Data(tsdu.clone())]);
        // And back the other way.
        let back = b.send_tsdu(&tsdu[..5000]).unwrap();
        let (mut a, _) = (a, ());
        assert_eq!(
            a.on_bytes(&back).unwrap(),
            vec![TransportEvent::Data(tsdu[..5000].to_vec())]
        );
    }
}

#[test]
fn bytes_one_at_a_time() {
    let (a, mut b) = pair(TpduSize::S128, TpduSize::S128);
    let mut wire = a.send_tsdu(b"first").unwrap();
    wire.extend(a.send_tsdu(&[9u8; 300]).unwrap());
    wire.extend(a.send_tsdu(b"").unwrap());
    let mut got = Vec::new();
    for byte in &wire {
        got.extend(b.on_bytes(std::slice::from_ref(byte)).unwrap());
    }
    assert_eq!(
        got,
        vec![
            TransportEvent::Data(b"first".to_vec()),
            TransportEvent::Data(vec![9u8; 300]),
            TransportEvent::Data(Vec::new()),
        ]
    );
    // The handshake byte by byte as well.
    let mut r = TransportConnection::responder(TransportConfig::default());
    let mut ev = Vec::new();
    for byte in hex("0300001611e00000000100c0010dc2020001c1020001") {
        ev.extend(r.on_bytes(&[byte]).unwrap());
    }
    assert_eq!(ev.len(), 1);
}

#[test]
fn max_tsdu_exceeded() {
    let (a, _) = pair(TpduSize::S128, TpduSize::S128);
    let mut b = TransportConnection::responder(TransportConfig {
        max_tsdu_size: 1000,
        max_tpdu_size: TpduSize::S128,
        ..TransportConfig::default()
    });
    b.on_bytes(&hex("0300001611e00000000100c0010dc2020001c1020001"))
        .unwrap();
    b.accept().unwrap();
    // Exactly the limit is fine.
    let ok = a.send_tsdu(&[1u8; 1000]).unwrap();
    assert_eq!(b.on_bytes(&ok).unwrap().len(), 1);
    let too_big = a.send_tsdu(&[1u8; 1001]).unwrap();
    assert_eq!(
        b.on_bytes(&too_big),
        Err(TransportError::TsduTooLarge { limit: 1000 })
    );
    assert!(b.is_closed());
    assert_eq!(b.on_bytes(&ok).unwrap(), vec![]);
}

#[test]
fn feed_stops_at_each_event_and_reports_buffered_octets() {
    let (a, mut b) = pair(TpduSize::S128, TpduSize::S128);
    let mut wire = a.send_tsdu(b"one").unwrap();
    let first = wire.len();
    let two = a.send_tsdu(&[7u8; 300]).unwrap();
    wire.extend(&two);
    wire.extend(&two[..10]);
    // The first TSDU is one TPKT: feed stops right after it.
    let (used, ev) = b.feed(&wire).unwrap();
    assert_eq!(used, first);
    assert_eq!(ev, Some(TransportEvent::Data(b"one".to_vec())));
    assert_eq!((b.buffered_frame_len(), b.buffered_tsdu_len()), (0, 0));
    // The second spans three DTs; it ends where its last TPKT ends.
    let rest = &wire[used..];
    let (used, ev) = b.feed(rest).unwrap();
    assert_eq!(used, two.len());
    assert_eq!(ev, Some(TransportEvent::Data(vec![7u8; 300])));
    // A partial TPKT is consumed and held; no event.
    let (used, ev) = b.feed(&rest[two.len()..]).unwrap();
    assert_eq!((used, ev), (10, None));
    assert_eq!(b.buffered_frame_len(), 10);
    // A DT without EOT (the rest of the first TPKT) is held in the reassembly buffer.
    let first_dt = 4 + 3 + TpduSize::S128.max_dt_user_data();
    let more = &two[10..first_dt];
    let (used, ev) = b.feed(more).unwrap();
    assert_eq!((used, ev), (more.len(), None));
    assert_eq!(b.buffered_frame_len(), 0);
    assert_eq!(b.buffered_tsdu_len(), TpduSize::S128.max_dt_user_data());
    // Empty input: nothing.
    assert_eq!(b.feed(&[]).unwrap(), (0, None));
}

#[test]
fn feed_after_dr_consumes_everything() {
    let (mut a, _) = pair(TpduSize::S2048, TpduSize::S2048);
    let mut wire = hex("0300000b0680000100018000");
    wire.extend(hex("0300000b0680000100018000"));
    let (used, ev) = a.feed(&wire).unwrap();
    assert_eq!(used, wire.len());
    assert!(matches!(ev, Some(TransportEvent::Disconnected(_))));
    assert_eq!(a.feed(b"junk").unwrap(), (4, None));
}

#[test]
fn max_tpkt_len_rejects_a_larger_header_at_once() {
    let mut b = TransportConnection::responder(TransportConfig {
        max_tpkt_len: 2052,
        ..TransportConfig::default()
    });
    b.on_bytes(&hex("0300001611e00000000100c0010dc2020001c1020001"))
        .unwrap();
    b.accept().unwrap();
    // Exactly the limit is fine (it waits for the rest).
    assert_eq!(b.on_bytes(&[0x03, 0x00, 0x08, 0x04]).unwrap(), vec![]);
    assert_eq!(b.buffered_frame_len(), 4);
    let mut c = TransportConnection::responder(TransportConfig {
        max_tpkt_len: 2052,
        ..TransportConfig::default()
    });
    c.on_bytes(&hex("0300001611e00000000100c0010dc2020001c1020001"))
        .unwrap();
    c.accept().unwrap();
    // One more is an error before any payload arrives.
    assert!(matches!(
        c.on_bytes(&[0x03, 0x00, 0x08, 0x05]),
        Err(TransportError::Decode(_))
    ));
    assert!(c.is_closed());
    // The default accepts any TPKT length.
    assert_eq!(TransportConfig::default().max_tpkt_len, MAX_TPKT_LEN);
}

#[test]
fn send_final_tsdu_only_after_an_error_on_an_open_connection() {
    // Open, then a malformed TPKT: one last TSDU may be sent, once.
    let (_, mut b) = pair(TpduSize::S128, TpduSize::S128);
    assert!(b.send_final_tsdu(b"x").is_err(), "not while connected");
    assert!(b.on_bytes(b"GARBAGE").is_err());
    assert!(b.is_closed());
    assert!(b.send_tsdu(b"x").is_err());
    let ab = b.send_final_tsdu(&[0x19, 0x03, 0x11, 0x01, 0x05]).unwrap();
    assert_eq!(ab, hex("0300000c02f0801903110105"));
    assert!(b.send_final_tsdu(b"x").is_err(), "only once");
    // An error before the connection was open allows nothing.
    let mut r = TransportConnection::responder(TransportConfig::default());
    assert!(r.on_bytes(b"GARBAGE").is_err());
    assert!(r.send_final_tsdu(b"x").is_err());
    // Nor does an orderly end (DR received, disconnect).
    let (mut a, mut b) = pair(TpduSize::S128, TpduSize::S128);
    a.on_bytes(&hex("0300000b0680000100018000")).unwrap();
    assert!(a.send_final_tsdu(b"x").is_err());
    b.disconnect().unwrap();
    assert!(b.send_final_tsdu(b"x").is_err());
}

#[test]
fn dr_er_and_close() {
    // DR received on an open connection.
    let (mut a, mut b) = pair(TpduSize::S2048, TpduSize::S2048);
    let ev = a.on_bytes(&hex("0300000b0680000100018000")).unwrap();
    assert_eq!(
        ev,
        vec![TransportEvent::Disconnected(
            DisconnectCause::DisconnectRequest {
                reason: DisconnectReason::Normal,
                additional_information: None
            }
        )]
    );
    assert!(a.is_closed());
    assert_eq!(a.on_close(), vec![]);
    assert!(matches!(
        a.send_tsdu(b"x"),
        Err(TransportError::IllegalCall {
            call: TransportCall::SendTsdu,
            state: TransportState::Closed
        })
    ));
    // ER received.
    let ev = b.on_bytes(&hex("030000090470000102")).unwrap();
    assert_eq!(
        ev,
        vec![TransportEvent::Disconnected(DisconnectCause::ErrorTpdu {
            cause: RejectCause::InvalidTpduType
        })]
    );
    // TCP close.
    let (mut a, _) = pair(TpduSize::S2048, TpduSize::S2048);
    assert_eq!(
        a.on_close(),
        vec![TransportEvent::Disconnected(DisconnectCause::NetworkClosed)]
    );
    assert!(a.is_closed());
}

#[test]
fn disconnect_with_and_without_dr() {
    let (mut a, _) = pair(TpduSize::S2048, TpduSize::S2048);
    assert_eq!(a.disconnect().unwrap(), Vec::<u8>::new());
    assert!(a.is_closed());
    assert!(a.disconnect().is_err());

    let mut a = TransportConnection::initiator(TransportConfig {
        send_dr_on_disconnect: true,
        src_ref: 5,
        ..TransportConfig::default()
    });
    let mut b = TransportConnection::responder(TransportConfig {
        src_ref: 9,
        ..TransportConfig::default()
    });
    b.on_bytes(&a.connect().unwrap()).unwrap();
    a.on_bytes(&b.accept().unwrap()).unwrap();
    let dr = a.disconnect().unwrap();
    assert_eq!(dr, hex("0300000b06800009000580"));
    let ev = b.on_bytes(&dr).unwrap();
    assert!(matches!(
        ev.as_slice(),
        [TransportEvent::Disconnected(
            DisconnectCause::DisconnectRequest {
                reason: DisconnectReason::Normal,
                ..
            }
        )]
    ));
}

#[test]
fn refuse_sends_dr_and_initiator_sees_it() {
    let mut a = TransportConnection::initiator(cfg(TpduSize::S8192));
    let mut b = TransportConnection::responder(TransportConfig::default());
    b.on_bytes(&a.connect().unwrap()).unwrap();
    let dr = b.refuse(DisconnectReason::AddressUnknown).unwrap();
    assert_eq!(dr, hex("0300000b06800001000003"));
    assert!(b.is_closed());
    let ev = a.on_bytes(&dr).unwrap();
    assert!(matches!(
        ev.as_slice(),
        [TransportEvent::Disconnected(
            DisconnectCause::DisconnectRequest {
                reason: DisconnectReason::AddressUnknown,
                ..
            }
        )]
    ));
    assert!(a.is_closed());
}

#[test]
fn illegal_calls() {
    let mut a = TransportConnection::initiator(TransportConfig::default());
    let idle = |call| TransportError::IllegalCall {
        call,
        state: TransportState::Idle,
    };
    assert_eq!(a.send_tsdu(b"x"), Err(idle(TransportCall::SendTsdu)));
    assert_eq!(a.accept(), Err(idle(TransportCall::Accept)));
    assert_eq!(
        a.refuse(DisconnectReason::Normal),
        Err(idle(TransportCall::Refuse))
    );
    assert_eq!(a.on_bytes(b"\x03"), Err(idle(TransportCall::OnBytes)));
    a.connect().unwrap();
    assert!(matches!(
        a.connect(),
        Err(TransportError::IllegalCall {
            call: TransportCall::Connect,
            state: TransportState::AwaitingCc
        })
    ));
    assert!(a.send_tsdu(b"x").is_err());
    assert_eq!(a.state(), TransportState::AwaitingCc);

    let mut b = TransportConnection::responder(TransportConfig::default());
    assert!(b.connect().is_err());
    assert!(b.accept().is_err());
    assert!(b.send_tsdu(b"").is_err());
    assert_eq!(b.state(), TransportState::AwaitingCr);
}

#[test]
fn unexpected_and_malformed_tpdus() {
    // DT before CR.
    let mut b = TransportConnection::responder(TransportConfig::default());
    let err = b.on_bytes(&hex("0300000802f08001")).unwrap_err();
    assert_eq!(
        err,
        TransportError::UnexpectedTpdu {
            tpdu: "DT",
            state: TransportState::AwaitingCr
        }
    );
    assert!(b.is_closed());
    // Bad TPKT version.
    let mut b = TransportConnection::responder(TransportConfig::default());
    match b.on_bytes(&[4, 0, 0, 7]) {
        Err(TransportError::Decode(e)) => assert_eq!(e.layer, Layer::Tpkt),
        other => panic!("{other:?}"),
    }
    // Unknown TPDU code.
    let mut b = TransportConnection::responder(TransportConfig::default());
    match b.on_bytes(&hex("0300000702100000")) {
        Err(TransportError::Decode(e)) => assert_eq!(e.layer, Layer::Cotp),
        other => panic!("{other:?}"),
    }
    // CC selecting class 2.
    let mut a = TransportConnection::initiator(TransportConfig::default());
    a.connect().unwrap();
    assert_eq!(
        a.on_bytes(&hex("0300000b06d00001000120")),
        Err(TransportError::ClassNotSupported {
            class: TransportClass::Class2
        })
    );
    // A second CR on an open connection.
    let (_, mut b) = pair(TpduSize::S2048, TpduSize::S2048);
    assert!(matches!(
        b.on_bytes(&hex("0300001611e00000000100c0010dc2020001c1020001")),
        Err(TransportError::UnexpectedTpdu { tpdu: "CR", .. })
    ));
}

#[test]
fn frames_after_dr_are_ignored() {
    let (_, mut b) = pair(TpduSize::S2048, TpduSize::S2048);
    let mut wire = hex("0300000b0680000100018000");
    wire.extend(hex("0300000802f08001"));
    let ev = b.on_bytes(&wire).unwrap();
    assert_eq!(ev.len(), 1);
}

fn any_state_machine(which: u8) -> TransportConnection {
    let cr = hex("0300001611e00000000100c0010dc2020001c1020001");
    match which % 5 {
        0 => TransportConnection::responder(TransportConfig::default()),
        1 => {
            let mut b = TransportConnection::responder(TransportConfig::default());
            b.on_bytes(&cr).unwrap();
            b
        }
        2 => pair(TpduSize::S128, TpduSize::S128).1,
        3 => {
            let mut a = TransportConnection::initiator(TransportConfig::default());
            a.connect().unwrap();
            a
        }
        _ => pair(TpduSize::S8192, TpduSize::S8192).0,
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(which in 0u8..5, data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut m = any_state_machine(which);
        let _ = m.on_bytes(&data);
        let _ = m.on_bytes(&data);
        let _ = m.on_close();
    }

    #[test]
    fn arbitrary_tpdus_in_tpkts_never_panic(which in 0u8..5, payload in proptest::collection::vec(any::<u8>(), 3..300)) {
        let mut m = any_state_machine(which);
        let mut wire = Vec::new();
        encode_tpkt(&payload, &mut wire).unwrap();
        let _ = m.on_bytes(&wire);
    }

    #[test]
    fn chunking_does_not_matter(cut in proptest::collection::vec(1usize..50, 1..40), len in 0usize..3000) {
        let tsdu: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let (a, mut b) = pair(TpduSize::S256, TpduSize::S256);
        let wire = a.send_tsdu(&tsdu).unwrap();
        let mut rest = &wire[..];
        let mut got = Vec::new();
        let mut i = 0;
        while !rest.is_empty() {
            let n = cut[i % cut.len()].min(rest.len());
            got.extend(b.on_bytes(&rest[..n]).unwrap());
            rest = &rest[n..];
            i += 1;
        }
        prop_assert_eq!(got, vec![TransportEvent::Data(tsdu)]);
    }
}
