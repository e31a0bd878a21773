//! What the shared transport and session machines bring to the association: CONNECT DATA
//! OVERFLOW both ways, and the transport limits ending in the right session ABORT.

mod common;

use common::*;
use guls_association::*;
use guls_presentation::{EncodeStyle, UserData, encode_cp};
use guls_session::{SessionConfig, SessionEvent, SessionMachine, SessionState, Spdu, decode_tsdu};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// An OCTET STRING of `len` content octets (long-form length), as one EXTERNAL in pcid 3.
fn big_user_information(len: usize) -> External {
    let mut v = vec![0x04, 0x82];
    v.extend((len as u16).to_be_bytes());
    v.extend((0..len).map(|i| (i % 251) as u8));
    External::single_asn1(3, v)
}

/// Our Initiator and our Responder associate with an AARQ of about 30 KB: the CN carries
/// the first 10,240 octets with Data Overflow, the responder answers with an OA, the rest
/// follows in CDOs, and the association then works as usual.
#[tokio::test]
async fn connect_data_overflow_over_loopback() {
    let info = big_user_information(30_000);
    let responder = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = responder.local_addr();
    let expected = info.clone();
    let server = tokio::spawn(async move {
        let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
        assert_eq!(inc.indication().user_information, vec![expected]);
        assert_eq!(inc.session_version(), 2);
        let mut a = inc.accept(AcceptParams::default()).await.unwrap();
        match timeout(NET, a.recv()).await.unwrap().unwrap() {
            AssociationEvent::Data(d) => {
                let PdvValue::SingleAsn1Type(v) = d.value else {
                    panic!()
                };
                a.send_asn1(3, v).await.unwrap();
            }
            other => panic!("unexpected {other:?}"),
        }
        match timeout(NET, a.recv()).await.unwrap().unwrap() {
            AssociationEvent::ReleaseIndication { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        a.release_response(Vec::new()).await.unwrap();
        assert_eq!(
            timeout(NET, a.recv()).await.unwrap().unwrap(),
            AssociationEvent::Released
        );
    });
    let mut client = timeout(
        NET,
        Initiator::new(demo_config()).connect(
            addr,
            AssociateParams {
                user_information: vec![info],
                ..AssociateParams::default()
            },
        ),
    )
    .await
    .unwrap()
    .unwrap();
    client.send_asn1(3, vec![0x04, 0x01, 0x2a]).await.unwrap();
    match timeout(NET, client.recv()).await.unwrap().unwrap() {
        AssociationEvent::Data(d) => {
            assert_eq!(d.value, PdvValue::SingleAsn1Type(vec![0x04, 0x01, 0x2a]))
        }
        other => panic!("unexpected {other:?}"),
    }
    timeout(NET, client.release()).await.unwrap().unwrap();
    timeout(NET, server).await.unwrap().unwrap();
}

/// A peer driving its own session machine sends the CN with Data Overflow and the CDOs by
/// hand; our Responder answers the CN with an OA and the last CDO with an AC.
#[tokio::test]
async fn responder_answers_overflow_with_oa_then_ac() {
    let responder = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = responder.local_addr();
    let app = tokio::spawn(async move {
        let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
        assert_eq!(inc.indication().user_information.len(), 1);
        inc.accept(AcceptParams::default()).await.unwrap()
    });
    let aarq = {
        let mut req = guls_acse::AssociateRequest::new(app_context());
        req.user_information = vec![big_user_information(25_000)];
        guls_acse::AcseMachine::new()
            .associate_request(&req)
            .unwrap()
            .bytes
    };
    let cp = guls_presentation::Cp {
        calling_selector: Some(vec![0, 0, 0, 1]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: vec![
            guls_presentation::ContextDefinition {
                id: 1,
                abstract_syntax: guls_ber::known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![guls_ber::known::BER],
            },
            guls_presentation::ContextDefinition {
                id: 3,
                abstract_syntax: app_syntax(),
                transfer_syntaxes: vec![guls_ber::known::BER],
            },
        ],
        user_data: Some(UserData::single_asn1(1, aarq)),
        ..guls_presentation::Cp::default()
    };
    let cp = encode_cp(&cp, EncodeStyle::Canonical);
    assert!(cp.len() > 20_480, "needs two CDOs");
    let mut peer = SessionMachine::initiator(SessionConfig::default());
    let cn = peer.connect(cp).unwrap();
    assert_eq!(peer.state(), SessionState::AwaitingOa);

    let mut s = TcpStream::connect(addr).await.unwrap();
    send(&mut s, &hex(GOLDEN_CR)).await;
    timeout(NET, read_tpkt(&mut s)).await.unwrap().unwrap();
    send(&mut s, &dt(&cn)).await;
    let oa = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
    assert_eq!(oa[0], 0x10, "OVERFLOW ACCEPT, got {oa:02x?}");
    let cdos: Vec<Vec<u8>> = peer
        .on_tsdu(&oa)
        .unwrap()
        .into_iter()
        .map(|e| match e {
            SessionEvent::Send(t) => t,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cdos.len(), 2);
    for cdo in &cdos {
        send(&mut s, &dt(cdo)).await;
    }
    let ac = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
    assert!(
        matches!(decode_tsdu(&ac).unwrap().main_spdu(), Some(Spdu::Accept(_))),
        "AC, got {:02x?}",
        &ac[..ac.len().min(16)]
    );
    assert!(matches!(
        peer.on_tsdu(&ac).unwrap().as_slice(),
        [SessionEvent::ConnectConfirm(_)]
    ));
    let _assoc = timeout(NET, app).await.unwrap().unwrap();
}

/// DT segments beyond `max_tsdu_size` are a transport fault: TooLarge naming the transport,
/// the session ABORT with protocol error on the wire, then the close.
#[tokio::test]
async fn oversized_tsdu_is_a_transport_abort_with_session_abort() {
    let mut cfg = AssociationConfig::mms();
    cfg.transport.max_tsdu_size = 4096;
    let responder = Responder::bind("127.0.0.1:0", cfg).await.unwrap();
    let mut s = TcpStream::connect(responder.local_addr()).await.unwrap();
    send(&mut s, &hex(GOLDEN_CR)).await;
    read_tpkt(&mut s).await.unwrap();
    send(&mut s, &hex(GOLDEN_CN)).await;
    let inc = timeout(NET, responder.accept()).await.unwrap().unwrap();
    let mut a = inc.accept(AcceptParams::default()).await.unwrap();
    read_tsdu(&mut s).await.unwrap();
    // Three 2,000-octet DTs without EOT.
    for _ in 0..3 {
        let mut f = vec![0x03, 0x00, 0x00, 0x00, 0x02, 0xf0, 0x00];
        f.extend(std::iter::repeat_n(0x55, 2000));
        let len = (f.len() as u16).to_be_bytes();
        f[2..4].copy_from_slice(&len);
        send(&mut s, &f).await;
    }
    let reason = match timeout(NET, a.recv()).await.unwrap().unwrap() {
        AssociationEvent::ProviderAbort { reason } => reason,
        other => panic!("unexpected {other:?}"),
    };
    assert!(
        matches!(
            reason,
            ProviderAbortReason::TooLarge {
                layer: AbortLayer::Transport,
                limit: 4096,
                ..
            }
        ),
        "{reason}"
    );
    let ab = read_tsdu(&mut s).await.unwrap();
    assert_eq!(ab, vec![0x19, 0x03, 0x11, 0x01, 0x05]);
    assert!(wait_closed(&mut s).await);
}
