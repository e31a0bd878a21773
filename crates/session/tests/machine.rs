//! Tests of the sans-IO session machine: an initiator and a responder talking through TSDUs.

use guls_session::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The CN + CP + AARQ TSDU of the libiec61850 golden trace (PEERS.md section 6), without the
/// TPKT and DT headers.
const GOLDEN_CN: &str = "0dcb0506130100160102140200023302000134020001c1b53181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
/// The AC + CPA + AARE TSDU of the same trace.
const GOLDEN_AC: &str = "0e8605061301001601021402000234020001c1743172a003800101a26b830400000001a512300780010081025101300780010081025101614f304d020101a0486146a107060528ca220203a203020100a305a103020100be2f282d020103a028a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118";

fn ssel(b: &[u8]) -> SSelector {
    SSelector::new(b.to_vec()).unwrap()
}

fn init_cfg() -> SessionConfig {
    SessionConfig {
        calling_ssel: Some(ssel(&[0, 1])),
        called_ssel: Some(ssel(&[0, 1])),
        ..SessionConfig::default()
    }
}

fn one<T: std::fmt::Debug>(mut v: Vec<T>) -> T {
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

fn indication(ev: SessionEvent) -> ConnectIndication {
    match ev {
        SessionEvent::ConnectIndication(i) => i,
        other => panic!("{other:?}"),
    }
}

/// CN → AC with the given user data; returns the connected pair.
fn connected(cn_data: &[u8], ac_data: &[u8]) -> (SessionMachine, SessionMachine) {
    let mut a = SessionMachine::initiator(init_cfg());
    let mut b = SessionMachine::responder(SessionConfig::default());
    let cn = a.connect(cn_data.to_vec()).unwrap();
    assert_eq!(a.state(), SessionState::AwaitingAc);
    let ind = indication(one(b.on_tsdu(&cn).unwrap()));
    assert_eq!(
        ind.user_data.as_deref(),
        Some(cn_data).filter(|d| !d.is_empty())
    );
    assert_eq!(ind.version, 2);
    assert_eq!(ind.functional_units, FunctionalUnits::DUPLEX);
    assert_eq!(ind.calling_ssel, ssel(&[0, 1]));
    assert_eq!(b.state(), SessionState::AwaitingConnectResponse);
    let ac = b.accept(ac_data.to_vec()).unwrap();
    assert_eq!(b.state(), SessionState::Connected);
    match one(a.on_tsdu(&ac).unwrap()) {
        SessionEvent::ConnectConfirm(c) => {
            assert_eq!(c.version, 2);
            assert_eq!(c.functional_units, FunctionalUnits::DUPLEX);
            assert_eq!(c.responding_ssel, ssel(&[0, 1]));
            assert_eq!(c.calling_ssel, ssel(&[0, 1]));
            assert_eq!(
                c.user_data.as_deref(),
                Some(ac_data).filter(|d| !d.is_empty())
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.state(), SessionState::Connected);
    (a, b)
}

#[test]
fn connect_data_release() {
    let (mut a, mut b) = connected(b"cp-aarq", b"cpa-aare");
    let dt = a.send_data(b"hello").unwrap();
    assert_eq!(dt, b"\x01\x00\x01\x00hello");
    assert_eq!(
        one(b.on_tsdu(&dt).unwrap()),
        SessionEvent::Data(b"hello".to_vec())
    );
    let dt = b.send_data(b"world").unwrap();
    assert_eq!(
        one(a.on_tsdu(&dt).unwrap()),
        SessionEvent::Data(b"world".to_vec())
    );
    // A lone DT is accepted as well.
    assert_eq!(
        one(a.on_tsdu(b"\x01\x00\x61\x00").unwrap()),
        SessionEvent::Data(vec![0x61, 0])
    );

    let fin = a.release_request(b"rlrq".to_vec()).unwrap();
    assert_eq!(fin, hex("0906c104726c7271"));
    assert_eq!(a.state(), SessionState::AwaitingDn);
    assert!(a.send_data(b"x").is_err());
    // Data may still arrive after our FN.
    let late = b.send_data(b"late").unwrap();
    assert_eq!(
        one(a.on_tsdu(&late).unwrap()),
        SessionEvent::Data(b"late".to_vec())
    );
    assert_eq!(
        one(b.on_tsdu(&fin).unwrap()),
        SessionEvent::ReleaseIndication {
            user_data: Some(b"rlrq".to_vec())
        }
    );
    assert_eq!(b.state(), SessionState::AwaitingReleaseResponse);
    // The FN receiver may still send data.
    assert!(b.send_data(b"more").is_ok());
    let dn = b.release_response(b"rlre".to_vec()).unwrap();
    assert_eq!(dn, hex("0a06c104726c7265"));
    assert!(b.is_closed());
    assert_eq!(
        one(a.on_tsdu(&dn).unwrap()),
        SessionEvent::ReleaseConfirm {
            user_data: Some(b"rlre".to_vec())
        }
    );
    assert!(a.is_closed());
    // Everything after is ignored, including an AA.
    assert_eq!(a.on_tsdu(b"\x1a\x00").unwrap(), vec![]);
}

#[test]
fn refuse() {
    let mut a = SessionMachine::initiator(init_cfg());
    let mut b = SessionMachine::responder(SessionConfig::default());
    let cn = a.connect(b"x".to_vec()).unwrap();
    b.on_tsdu(&cn).unwrap();
    let rf = b.refuse(RefuseReason::UserNoReason, Vec::new()).unwrap();
    assert_eq!(rf, hex("0c03320100"));
    assert!(b.is_closed());
    assert_eq!(
        one(a.on_tsdu(&rf).unwrap()),
        SessionEvent::Refused(RefuseIndication {
            reason: Some(RefuseReason::UserNoReason),
            user_data: None,
            version: None,
            transport_disconnect: None,
        })
    );
    assert!(a.is_closed());

    // Reason 2 with user data.
    let mut a = SessionMachine::initiator(init_cfg());
    let mut b = SessionMachine::responder(SessionConfig::default());
    b.on_tsdu(&a.connect(Vec::new()).unwrap()).unwrap();
    let rf = b
        .refuse(RefuseReason::UserDataFollows, b"cpr".to_vec())
        .unwrap();
    match one(a.on_tsdu(&rf).unwrap()) {
        SessionEvent::Refused(r) => {
            assert_eq!(r.reason, Some(RefuseReason::UserDataFollows));
            assert_eq!(r.user_data.as_deref(), Some(&b"cpr"[..]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn user_abort_and_provider_abort() {
    let (mut a, mut b) = connected(b"", b"");
    let ab = a.abort(b"abrt".to_vec()).unwrap();
    assert_eq!(ab, hex("19091101 03c10461627274".replace(' ', "").as_str()));
    assert!(a.is_closed());
    assert_eq!(
        one(b.on_tsdu(&ab).unwrap()),
        SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::Peer {
                reason: AbortReason::UserAbort,
                transport_disconnect: Some(TransportDisconnect::RELEASE_USER_ABORT),
                abort_accept_sent: false,
            },
            user_data: Some(b"abrt".to_vec()),
        })
    );
    assert!(b.is_closed());

    let (mut a, mut b) = connected(b"", b"");
    let ab = b.provider_abort().unwrap();
    assert_eq!(ab, hex("1903110109"));
    match one(a.on_tsdu(&ab).unwrap()) {
        SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::Peer { reason, .. },
            ..
        }) => assert_eq!(reason, AbortReason::NoReason),
        other => panic!("{other:?}"),
    }
    assert!(b.abort(Vec::new()).is_err());
}

#[test]
fn protocol_abort_for_a_fault_found_below() {
    let (mut a, mut b) = connected(b"", b"");
    let ab = b.protocol_abort().unwrap();
    assert_eq!(ab, hex("1903110105"));
    assert!(b.is_closed());
    match one(a.on_tsdu(&ab).unwrap()) {
        SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::Peer { reason, .. },
            ..
        }) => assert_eq!(reason, AbortReason::ProtocolError),
        other => panic!("{other:?}"),
    }
    // Illegal when closed or idle; nothing changes.
    assert!(matches!(
        b.protocol_abort(),
        Err(SessionError::IllegalPrimitive {
            primitive: SessionPrimitive::ProviderAbort,
            ..
        })
    ));
    let mut idle = SessionMachine::responder(SessionConfig::default());
    assert!(idle.protocol_abort().is_err());
    assert_eq!(idle.state(), SessionState::Idle);
    // Allowed while the CN awaits its answer.
    let mut init = SessionMachine::initiator(init_cfg());
    init.connect(b"cp".to_vec()).unwrap();
    assert_eq!(init.protocol_abort().unwrap(), hex("1903110105"));
}

#[test]
fn abort_keeping_transport_gets_abort_accept() {
    let (mut a, _) = connected(b"", b"");
    // AB with Transport Disconnect 02: keep the transport, user abort.
    let ev = a.on_tsdu(&hex("1903110102")).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0], SessionEvent::Send(hex("1a00")));
    assert!(matches!(
        &ev[1],
        SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::Peer {
                abort_accept_sent: true,
                ..
            },
            ..
        })
    ));
    assert!(a.is_closed());
    // An AB without PI 17 means release: no AA.
    let (mut a, _) = connected(b"", b"");
    let ev = a.on_tsdu(&hex("1900")).unwrap();
    assert_eq!(ev.len(), 1);
}

fn collide() -> (SessionMachine, SessionMachine, Vec<u8>, Vec<u8>) {
    let (mut a, mut b) = connected(b"", b"");
    let fa = a.release_request(b"a".to_vec()).unwrap();
    let fb = b.release_request(b"b".to_vec()).unwrap();
    assert_eq!(
        one(a.on_tsdu(&fb).unwrap()),
        SessionEvent::ReleaseIndication {
            user_data: Some(b"b".to_vec())
        }
    );
    assert_eq!(
        one(b.on_tsdu(&fa).unwrap()),
        SessionEvent::ReleaseIndication {
            user_data: Some(b"a".to_vec())
        }
    );
    assert_eq!(a.state(), SessionState::ReleaseCollision);
    assert_eq!(b.state(), SessionState::ReleaseCollision);
    // Neither may send data any more.
    assert!(a.send_data(b"x").is_err());
    assert!(b.send_data(b"x").is_err());
    (a, b, fa, fb)
}

#[test]
fn release_collision_initiator_responds_first() {
    let (mut a, mut b, _, _) = collide();
    let dna = a.release_response(b"ra".to_vec()).unwrap();
    assert_eq!(a.state(), SessionState::AwaitingDn);
    assert_eq!(
        one(b.on_tsdu(&dna).unwrap()),
        SessionEvent::ReleaseConfirm {
            user_data: Some(b"ra".to_vec())
        }
    );
    assert_eq!(b.state(), SessionState::AwaitingReleaseResponse);
    assert!(b.send_data(b"x").is_err());
    let dnb = b.release_response(b"rb".to_vec()).unwrap();
    assert!(b.is_closed());
    assert_eq!(
        one(a.on_tsdu(&dnb).unwrap()),
        SessionEvent::ReleaseConfirm {
            user_data: Some(b"rb".to_vec())
        }
    );
    assert!(a.is_closed());
}

#[test]
fn release_collision_responder_first_and_crossing() {
    // Responder answers first.
    let (mut a, mut b, _, _) = collide();
    let dnb = b.release_response(Vec::new()).unwrap();
    assert_eq!(
        one(a.on_tsdu(&dnb).unwrap()),
        SessionEvent::ReleaseConfirm { user_data: None }
    );
    let dna = a.release_response(Vec::new()).unwrap();
    assert!(a.is_closed());
    b.on_tsdu(&dna).unwrap();
    assert!(b.is_closed());
    // Both DNs cross.
    let (mut a, mut b, _, _) = collide();
    let dna = a.release_response(Vec::new()).unwrap();
    let dnb = b.release_response(Vec::new()).unwrap();
    one(a.on_tsdu(&dnb).unwrap());
    one(b.on_tsdu(&dna).unwrap());
    assert!(a.is_closed() && b.is_closed());
}

#[test]
fn not_finished_returns_to_data_transfer() {
    let (mut a, _) = connected(b"", b"");
    a.release_request(Vec::new()).unwrap();
    assert_eq!(
        one(a.on_tsdu(&hex("0800")).unwrap()),
        SessionEvent::ReleaseRejected { user_data: None }
    );
    assert_eq!(a.state(), SessionState::Connected);
    assert!(a.send_data(b"x").is_ok());
}

#[test]
fn connect_data_overflow_20000() {
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
    let mut a = SessionMachine::initiator(init_cfg());
    let mut b = SessionMachine::responder(SessionConfig::default());
    let cn = a.connect(data.clone()).unwrap();
    assert_eq!(a.state(), SessionState::AwaitingOa);
    let decoded = decode_tsdu(&cn).unwrap();
    match decoded.main_spdu() {
        Some(Spdu::Connect(c)) => {
            assert!(c.data_overflow.is_some_and(|d| d.more_data()));
            assert_eq!(
                c.user_data(),
                Some((&data[..10_240], UserDataPgi::ExtendedUserData))
            );
        }
        other => panic!("{other:?}"),
    }
    // The responder answers with an OA and waits for the CDOs.
    let oa = match one(b.on_tsdu(&cn).unwrap()) {
        SessionEvent::Send(oa) => oa,
        other => panic!("{other:?}"),
    };
    assert_eq!(b.state(), SessionState::AwaitingCdo);
    assert_eq!(oa, hex("10031601 02".replace(' ', "").as_str()));
    // The initiator sends the rest in CDOs.
    let cdos: Vec<Vec<u8>> = a
        .on_tsdu(&oa)
        .unwrap()
        .into_iter()
        .map(|e| match e {
            SessionEvent::Send(t) => t,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cdos.len(), 1);
    assert_eq!(a.state(), SessionState::AwaitingAc);
    let ind = indication(one(b.on_tsdu(&cdos[0]).unwrap()));
    assert_eq!(ind.user_data.as_deref(), Some(&data[..]));
    let ac = b.accept(b"ok".to_vec()).unwrap();
    assert!(matches!(
        one(a.on_tsdu(&ac).unwrap()),
        SessionEvent::ConnectConfirm(_)
    ));
}

#[test]
fn connect_data_overflow_several_cdos_and_limit() {
    let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let mut a = SessionMachine::initiator(init_cfg());
    let mut b = SessionMachine::responder(SessionConfig::default());
    let cn = a.connect(data.clone()).unwrap();
    let SessionEvent::Send(oa) = one(b.on_tsdu(&cn).unwrap()) else {
        panic!()
    };
    let cdos = a.on_tsdu(&oa).unwrap();
    assert_eq!(cdos.len(), 3);
    let mut last = Vec::new();
    for e in cdos {
        let SessionEvent::Send(t) = e else { panic!() };
        last = b.on_tsdu(&t).unwrap();
    }
    assert_eq!(indication(one(last)).user_data.as_deref(), Some(&data[..]));

    // A responder with a smaller limit refuses (implementation restriction).
    let mut a = SessionMachine::initiator(init_cfg());
    let mut b = SessionMachine::responder(SessionConfig {
        max_connect_user_data: 15_000,
        ..SessionConfig::default()
    });
    let cn = a.connect(data[..20_000].to_vec()).unwrap();
    let SessionEvent::Send(oa) = one(b.on_tsdu(&cn).unwrap()) else {
        panic!()
    };
    let SessionEvent::Send(cdo) = one(a.on_tsdu(&oa).unwrap()) else {
        panic!()
    };
    let ev = b.on_tsdu(&cdo).unwrap();
    assert_eq!(ev[0], SessionEvent::Send(hex("0c03320186")));
    assert_eq!(
        ev[1],
        SessionEvent::ConnectRejected(ConnectRejection::ConnectDataTooLong { limit: 15_000 })
    );
    assert!(b.is_closed());
    // The initiator accepts the RF while waiting for the AC.
    assert!(matches!(
        one(a.on_tsdu(&hex("0c03320186")).unwrap()),
        SessionEvent::Refused(_)
    ));
}

#[test]
fn connect_user_data_limits() {
    // Versions 1 and 2 offered: at most 512 octets (OIW SIA 9.3.5.1).
    let mut a = SessionMachine::initiator(SessionConfig {
        versions: VersionNumber::V1_AND_V2,
        ..SessionConfig::default()
    });
    assert_eq!(
        a.connect(vec![0; 513]),
        Err(SessionError::UserDataTooLong {
            len: 513,
            limit: 512
        })
    );
    assert_eq!(a.state(), SessionState::Idle);
    assert!(a.connect(vec![0; 512]).is_ok());
    let mut a = SessionMachine::initiator(SessionConfig {
        max_connect_user_data: 100_000,
        ..SessionConfig::default()
    });
    assert!(a.connect(vec![0; 100_001]).is_err());
}

#[test]
fn golden_libiec61850_cn_gets_golden_ac() {
    let mut b = SessionMachine::responder(SessionConfig::default());
    let ind = indication(one(b.on_tsdu(&hex(GOLDEN_CN)).unwrap()));
    assert_eq!(ind.versions_proposed, VersionNumber::V2);
    assert_eq!(ind.version, 2);
    assert_eq!(ind.requirements_proposed, FunctionalUnits::DUPLEX);
    assert_eq!(ind.calling_ssel, ssel(&[0, 1]));
    assert_eq!(ind.called_ssel, ssel(&[0, 1]));
    let golden_ac = hex(GOLDEN_AC);
    let ac_user_data = match decode_tsdu(&golden_ac).unwrap().main_spdu() {
        Some(Spdu::Accept(ac)) => ac.user_data.clone().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(b.accept(ac_user_data).unwrap(), golden_ac);

    // The same CN with the 3-octet LI (PEERS.md 1.2) is accepted too.
    let mut cn = hex(GOLDEN_CN);
    cn.splice(1..2, [0xff, 0x00, 0xcb]);
    let mut b = SessionMachine::responder(SessionConfig::default());
    let ind2 = indication(one(b.on_tsdu(&cn).unwrap()));
    assert_eq!(ind2, ind);

    // And our initiator accepts the golden AC.
    let mut a = SessionMachine::initiator(init_cfg());
    a.connect(b"x".to_vec()).unwrap();
    match one(a.on_tsdu(&golden_ac).unwrap()) {
        SessionEvent::ConnectConfirm(c) => {
            assert_eq!(c.responding_ssel, ssel(&[0, 1]));
            assert_eq!(c.version, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn isode_style_cn_negotiated_down() {
    let cn = Connect {
        connection_identifier: Some(ConnectionIdentifier {
            calling_ss_user_reference: Some(b"isode-ref".to_vec()),
            common_reference: Some(b"19950101000000Z".to_vec()),
            ..ConnectionIdentifier::default()
        }),
        connect_accept: Some(ConnectAcceptItem {
            protocol_options: Some(ProtocolOptions(0)),
            tsdu_maximum_size: Some(TsduMaximumSize {
                initiator_to_responder: 2041,
                responder_to_initiator: 2041,
            }),
            version: Some(VersionNumber::V1_AND_V2),
            initial_serial_number: Some(SerialNumber::from_value(0)),
            token_setting: Some(TokenSetting::from_octet(0x55)),
            ..ConnectAcceptItem::default()
        }),
        requirements: Some(FunctionalUnits(0x07ff)),
        calling_ssel: Some(ssel(b"calling")),
        called_ssel: Some(ssel(b"called")),
        user_data: Some(ConnectUserData::Basic(vec![0x31; 400])),
        ..Connect::default()
    };
    let tsdu = Spdu::Connect(cn).to_bytes().unwrap();
    assert_eq!(tsdu[1], 0xff, "3-octet LI");
    let mut b = SessionMachine::responder(SessionConfig::default());
    let ind = indication(one(b.on_tsdu(&tsdu).unwrap()));
    assert_eq!(ind.versions_proposed, VersionNumber::V1_AND_V2);
    assert_eq!(ind.version, 2);
    assert_eq!(ind.functional_units, FunctionalUnits::DUPLEX);
    assert_eq!(ind.requirements_proposed, FunctionalUnits(0x07ff));
    assert!(ind.connection_identifier.is_some());
    assert_eq!(ind.tsdu_maximum_size.unwrap().initiator_to_responder, 2041);
    let ac = b.accept(b"cpa".to_vec()).unwrap();
    match decode_tsdu(&ac).unwrap().main_spdu() {
        Some(Spdu::Accept(ac)) => {
            assert_eq!(ac.versions(), vec![2]);
            assert_eq!(ac.requirements, Some(FunctionalUnits::DUPLEX));
            assert_eq!(ac.responding_ssel, Some(ssel(b"called")));
            assert_eq!(ac.calling_ssel, None);
            assert_eq!(ac.tsdu_maximum_size(), None);
            assert_eq!(ac.token_item, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.version(), 2);
}

#[test]
fn version1_only_cn_answered_without_version() {
    let mut a = SessionMachine::initiator(SessionConfig {
        versions: VersionNumber::V1,
        ..init_cfg()
    });
    let mut b = SessionMachine::responder(SessionConfig {
        responding_ssel: Some(ssel(b"resp")),
        ..SessionConfig::default()
    });
    let ind = indication(one(b.on_tsdu(&a.connect(b"d".to_vec()).unwrap()).unwrap()));
    assert_eq!(ind.version, 1);
    assert!(b.accept(vec![0; 513]).is_err());
    let ac = b.accept(b"e".to_vec()).unwrap();
    match decode_tsdu(&ac).unwrap().main_spdu() {
        Some(Spdu::Accept(x)) => assert!(x.connect_accept.is_none()),
        other => panic!("{other:?}"),
    }
    match one(a.on_tsdu(&ac).unwrap()) {
        SessionEvent::ConnectConfirm(c) => {
            assert_eq!(c.version, 1);
            assert_eq!(c.responding_ssel, ssel(b"resp"));
        }
        other => panic!("{other:?}"),
    }
    // A responder accepting only version 2 refuses it.
    let mut a = SessionMachine::initiator(SessionConfig {
        versions: VersionNumber::V1,
        ..init_cfg()
    });
    let mut b = SessionMachine::responder(SessionConfig {
        accept_versions: VersionNumber::V2,
        ..SessionConfig::default()
    });
    let ev = b.on_tsdu(&a.connect(Vec::new()).unwrap()).unwrap();
    assert_eq!(
        ev,
        vec![
            SessionEvent::Send(hex("0c0616010232018 4".replace(' ', "").as_str())),
            SessionEvent::ConnectRejected(ConnectRejection::NoCommonVersion {
                proposed: VersionNumber::V1
            })
        ]
    );
}

#[test]
fn cn_without_duplex_is_refused() {
    let cn = Spdu::Connect(Connect {
        requirements: Some(FunctionalUnits::HALF_DUPLEX),
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        ..Connect::default()
    })
    .to_bytes()
    .unwrap();
    let mut b = SessionMachine::responder(SessionConfig::default());
    let ev = b.on_tsdu(&cn).unwrap();
    assert_eq!(ev[0], SessionEvent::Send(hex("0c03320185")));
    assert_eq!(
        ev[1],
        SessionEvent::ConnectRejected(ConnectRejection::DuplexNotProposed {
            proposed: FunctionalUnits::HALF_DUPLEX
        })
    );
    assert!(b.is_closed());
    assert!(b.accept(Vec::new()).is_err());
    // No PI 20 means the ISO default set, which has no duplex.
    let mut b = SessionMachine::responder(SessionConfig::default());
    let cn = Spdu::Connect(Connect::default()).to_bytes().unwrap();
    assert!(matches!(
        b.on_tsdu(&cn).unwrap()[1],
        SessionEvent::ConnectRejected(ConnectRejection::DuplexNotProposed { .. })
    ));
}

#[test]
fn ac_checks_on_initiator() {
    let ac = |a: Accept| Spdu::Accept(a).to_bytes().unwrap();
    let fresh = || {
        let mut a = SessionMachine::initiator(init_cfg());
        a.connect(Vec::new()).unwrap();
        a
    };
    let aborted_with =
        |m: &mut SessionMachine, tsdu: &[u8]| match m.on_tsdu(tsdu).unwrap().as_slice() {
            [
                SessionEvent::Send(ab),
                SessionEvent::AbortIndication(AbortIndication {
                    origin: AbortOrigin::ProtocolError(e),
                    ..
                }),
            ] => {
                assert_eq!(ab, &hex("1903110105"));
                e.clone()
            }
            other => panic!("{other:?}"),
        };
    // No duplex.
    let mut a = fresh();
    let e = aborted_with(
        &mut a,
        &ac(Accept {
            connect_accept: Some(ConnectAcceptItem::rfc1698()),
            requirements: Some(FunctionalUnits::HALF_DUPLEX),
            ..Accept::default()
        }),
    );
    assert!(matches!(e, ProtocolError::DuplexNotSelected { .. }));
    assert!(a.is_closed());
    // Version 1 selected though we proposed only 2.
    let mut a = fresh();
    let e = aborted_with(
        &mut a,
        &ac(Accept {
            requirements: Some(FunctionalUnits::DUPLEX),
            ..Accept::default()
        }),
    );
    assert!(matches!(e, ProtocolError::VersionNotProposed { .. }));
    // A calling S-selector different from ours (table 3: invalid).
    let mut a = fresh();
    let e = aborted_with(
        &mut a,
        &ac(Accept {
            connect_accept: Some(ConnectAcceptItem::rfc1698()),
            requirements: Some(FunctionalUnits::DUPLEX),
            calling_ssel: Some(ssel(b"zz")),
            ..Accept::default()
        }),
    );
    assert_eq!(e, ProtocolError::InvalidCallingSelector);
    // An empty responding selector with a non-empty called one means the called one.
    let mut a = fresh();
    match one(a
        .on_tsdu(&ac(Accept {
            connect_accept: Some(ConnectAcceptItem::rfc1698()),
            requirements: Some(FunctionalUnits(0x0003)),
            responding_ssel: Some(ssel(b"")),
            calling_ssel: Some(ssel(&[0, 1])),
            ..Accept::default()
        }))
        .unwrap())
    {
        SessionEvent::ConnectConfirm(c) => {
            assert_eq!(c.responding_ssel, ssel(&[0, 1]));
            assert_eq!(c.functional_units, FunctionalUnits::DUPLEX);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_spdus_give_provider_abort() {
    // Data before the AC.
    let mut a = SessionMachine::initiator(init_cfg());
    a.connect(Vec::new()).unwrap();
    let ev = a.on_tsdu(&hex("01000100aa")).unwrap();
    assert_eq!(ev[0], SessionEvent::Send(hex("1903110105")));
    assert_eq!(
        ev[1],
        SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::ProtocolError(ProtocolError::UnexpectedSpdu {
                spdu: "DT",
                state: SessionState::AwaitingAc
            }),
            user_data: None
        })
    );
    assert!(a.is_closed());
    // Garbage when connected.
    let (mut a, _) = connected(b"", b"");
    let ev = a.on_tsdu(&hex("ff")).unwrap();
    assert!(matches!(
        &ev[1],
        SessionEvent::AbortIndication(AbortIndication {
            origin: AbortOrigin::ProtocolError(ProtocolError::Undecodable(e)),
            ..
        }) if e.layer == Layer::Session
    ));
    // A CN on an open session, an AC to a responder, data after the peer's FN.
    let (mut a, mut b) = connected(b"", b"");
    let cn = SessionMachine::initiator(init_cfg())
        .connect(Vec::new())
        .unwrap();
    assert_eq!(b.on_tsdu(&cn).unwrap().len(), 2);
    assert!(b.is_closed());
    let fin = a.release_request(Vec::new()).unwrap();
    let (_, mut b) = connected(b"", b"");
    b.on_tsdu(&fin).unwrap();
    let ev = b.on_tsdu(&hex("01000100")).unwrap();
    assert_eq!(ev.len(), 2);
    // An AA out of the blue.
    let (mut a, _) = connected(b"", b"");
    assert_eq!(a.on_tsdu(&hex("1a00")).unwrap().len(), 2);
}

#[test]
fn illegal_primitives() {
    let mut a = SessionMachine::initiator(init_cfg());
    let err = |p, s| SessionError::IllegalPrimitive {
        primitive: p,
        state: s,
    };
    assert_eq!(
        a.accept(Vec::new()),
        Err(err(SessionPrimitive::Accept, SessionState::Idle))
    );
    assert_eq!(
        a.send_data(b"x"),
        Err(err(SessionPrimitive::Data, SessionState::Idle))
    );
    assert_eq!(
        a.release_request(Vec::new()),
        Err(err(SessionPrimitive::ReleaseRequest, SessionState::Idle))
    );
    assert_eq!(
        a.abort(Vec::new()),
        Err(err(SessionPrimitive::Abort, SessionState::Idle))
    );
    a.connect(Vec::new()).unwrap();
    assert_eq!(
        a.connect(Vec::new()),
        Err(err(SessionPrimitive::Connect, SessionState::AwaitingAc))
    );
    assert_eq!(
        a.release_response(Vec::new()),
        Err(err(
            SessionPrimitive::ReleaseResponse,
            SessionState::AwaitingAc
        ))
    );
    assert_eq!(a.state(), SessionState::AwaitingAc);

    let mut b = SessionMachine::responder(SessionConfig::default());
    assert!(b.connect(Vec::new()).is_err());
    assert!(b.refuse(RefuseReason::UserNoReason, Vec::new()).is_err());
    assert!(b.provider_abort().is_err());
    assert_eq!(b.state(), SessionState::Idle);

    let (mut a, mut b) = connected(b"", b"");
    assert!(a.release_response(Vec::new()).is_err());
    assert!(b.accept(Vec::new()).is_err());
    a.release_request(Vec::new()).unwrap();
    assert_eq!(
        a.release_request(Vec::new()),
        Err(err(
            SessionPrimitive::ReleaseRequest,
            SessionState::AwaitingDn
        ))
    );
    assert_eq!(a.state(), SessionState::AwaitingDn);
}

#[test]
fn transport_loss() {
    let (mut a, _) = connected(b"", b"");
    assert!(matches!(
        one(a.on_transport_disconnect()),
        SessionEvent::AbortIndication(_)
    ));
    assert!(a.is_closed());
    assert!(a.on_transport_disconnect().is_empty());
}

/// A machine in each reachable state.
fn machine_in(which: u8) -> SessionMachine {
    let data: Vec<u8> = vec![7; 12_000];
    match which % 10 {
        0 => SessionMachine::responder(SessionConfig::default()),
        1 => SessionMachine::initiator(init_cfg()),
        2 => {
            let mut a = SessionMachine::initiator(init_cfg());
            a.connect(Vec::new()).unwrap();
            a
        }
        3 => {
            let mut a = SessionMachine::initiator(init_cfg());
            a.connect(data).unwrap();
            a
        }
        4 => {
            let mut a = SessionMachine::initiator(init_cfg());
            let mut b = SessionMachine::responder(SessionConfig::default());
            b.on_tsdu(&a.connect(data).unwrap()).unwrap();
            b
        }
        5 => {
            let mut a = SessionMachine::initiator(init_cfg());
            let mut b = SessionMachine::responder(SessionConfig::default());
            b.on_tsdu(&a.connect(Vec::new()).unwrap()).unwrap();
            b
        }
        6 => connected(b"", b"").0,
        7 => {
            let (mut a, _) = connected(b"", b"");
            a.release_request(Vec::new()).unwrap();
            a
        }
        8 => {
            let (mut a, mut b) = connected(b"", b"");
            b.on_tsdu(&a.release_request(Vec::new()).unwrap()).unwrap();
            b
        }
        _ => collide().0,
    }
}

proptest! {
    #[test]
    fn arbitrary_tsdus_never_panic(which in 0u8..10, data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut m = machine_in(which);
        let _ = m.on_tsdu(&data).unwrap();
        let _ = m.on_tsdu(&data).unwrap();
    }

    #[test]
    fn spdu_shaped_tsdus_never_panic(
        which in 0u8..10,
        si in prop_oneof![Just(1u8), Just(8), Just(9), Just(10), Just(12), Just(13), Just(14), Just(15), Just(16), Just(25), Just(26)],
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut m = machine_in(which);
        let mut tsdu = vec![si, body.len().min(254) as u8];
        tsdu.extend_from_slice(&body);
        let before = m.state();
        let ev = m.on_tsdu(&tsdu).unwrap();
        // Either it was handled or the machine aborted; it never fails silently into a
        // half state without saying so.
        if m.is_closed() && before != SessionState::Closed {
            prop_assert!(!ev.is_empty());
        }
    }
}
