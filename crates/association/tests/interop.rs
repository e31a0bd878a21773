//! Wire-level interop: the MMS profile's first TSDU, the golden libiec61850 client replayed
//! against our Responder, and a general-purpose stack's stress CONNECT.

mod common;

use common::*;
use guls_acse::{Apdu, AssociateRequest};
use guls_association::*;
use guls_ber::known;
use guls_presentation::{ContextDefinition, Cp, EncodeStyle, UserData, decode_cp, encode_cp};
use guls_session::{
    ConnectAcceptItem, ConnectUserData, ConnectionIdentifier, FunctionalUnits, ProtocolOptions,
    Spdu, TsduMaximumSize, VersionNumber, decode_tsdu,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The MMS Initiate-Request of the golden trace, as AARQ user information (pcid 3).
fn mms_initiate_request() -> External {
    External::single_asn1(
        3,
        hex("a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18"),
    )
}

#[tokio::test]
async fn mms_profile_first_tsdu_matches_golden_shape_and_fin_means_no_aare() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let cr = read_tpkt(&mut s).await.unwrap();
        assert_eq!(cr[5], 0xe0, "CR first");
        send(&mut s, &hex("0300001611d00001000100c0010dc2020001c1020001")).await;
        let tsdu = read_tsdu(&mut s).await.unwrap();
        // libiec61850 closes TCP to reject: do the same.
        drop(s);
        tsdu
    });
    let cfg = AssociationConfig::mms();
    let err = Initiator::new(cfg)
        .connect(
            addr,
            AssociateParams {
                user_information: vec![mms_initiate_request()],
                authentication: Some(Authentication::password(b"user1@testpw")),
                ..AssociateParams::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AssociationError::RejectedByPeerNoAare),
        "{err:?}"
    );

    let tsdu = timeout(NET, peer).await.unwrap().unwrap();
    assert!(tsdu.len() < 255, "CN+CP+AARQ is {} octets", tsdu.len());
    assert_eq!(tsdu[0], 0x0d);
    assert_eq!(tsdu[1] as usize, tsdu.len() - 2, "1-octet LI");
    let decoded = decode_tsdu(&tsdu).unwrap();
    let Some(Spdu::Connect(cn)) = decoded.main_spdu() else {
        panic!("not a CN")
    };
    assert_eq!(cn.requirements, Some(FunctionalUnits::DUPLEX));
    assert_eq!(cn.versions(), vec![2]);
    let cp = decode_cp(cn.user_data().unwrap().0).unwrap();
    let ctx: Vec<_> = cp
        .contexts
        .iter()
        .map(|c| (c.id, c.abstract_syntax.clone()))
        .collect();
    assert_eq!(
        ctx,
        vec![
            (1, known::ACSE_ABSTRACT_SYNTAX),
            (3, known::MMS_ABSTRACT_SYNTAX)
        ]
    );
    let ud = cp.user_data.unwrap();
    let pdv = &ud.pdv_lists()[0];
    assert_eq!(pdv.pcid, 1);
    let Apdu::Aarq(aarq) = Apdu::decode(pdv.value_bytes()).unwrap() else {
        panic!("not an AARQ")
    };
    assert_eq!(
        aarq.application_context_name,
        known::MMS_APPLICATION_CONTEXT
    );
    assert_eq!(aarq.mechanism_name, Some(known::PASSWORD_MECHANISM));
    assert!(
        aarq.calling_authentication_value
            .unwrap()
            .matches_charstring(b"user1@testpw")
    );
    assert_eq!(aarq.user_information, vec![mms_initiate_request()]);
}

#[tokio::test]
async fn golden_libiec61850_client_replay() {
    let responder = Responder::bind("127.0.0.1:0", AssociationConfig::mms())
        .await
        .unwrap();
    let addr = responder.local_addr();
    let app = tokio::spawn(async move {
        let inc = responder.accept().await.unwrap();
        let ind = inc.indication();
        assert_eq!(ind.application_context_name, known::MMS_APPLICATION_CONTEXT);
        assert_eq!(ind.mechanism_name, Some(known::PASSWORD_MECHANISM));
        assert!(
            ind.authentication_value
                .as_ref()
                .unwrap()
                .matches_charstring(b"user1@testpw")
        );
        assert_eq!(ind.user_information.len(), 1);
        assert_eq!(inc.calling_tsel(), Some(&[0u8, 1][..]));
        assert_eq!(inc.called_ssel(), Some(&[0u8, 1][..]));
        assert_eq!(inc.calling_psel(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(inc.contexts().len(), 2);
        let response = External::single_asn1(
            3,
            hex("a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118"),
        );
        let mut a = inc
            .accept(AcceptParams {
                user_information: vec![response],
                ..AcceptParams::default()
            })
            .await
            .unwrap();
        // Identify and conclude: answer each with the golden server's MMS response.
        for answer in [
            "a11a020101a21580024d5a8108626173696320696f8205312e342e32",
            "a0028c00",
        ] {
            match timeout(NET, a.recv()).await.unwrap().unwrap() {
                AssociationEvent::Data(d) => {
                    assert_eq!(d.pcid, 3);
                    assert_eq!(d.abstract_syntax, known::MMS_ABSTRACT_SYNTAX);
                }
                other => panic!("unexpected {other:?}"),
            }
            let mut v = hex("3000");
            let body = hex(&format!("020103{answer}"));
            v[1] = body.len() as u8;
            v.extend(body);
            a.send_asn1(3, v).await.unwrap();
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
    let mut s = TcpStream::connect(addr).await.unwrap();
    send(&mut s, &hex(GOLDEN_CR)).await;
    let cc = timeout(NET, read_tpkt(&mut s)).await.unwrap().unwrap();
    assert_eq!(cc[5], 0xd0);
    send(&mut s, &hex(GOLDEN_CN)).await;
    let ac = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
    assert_eq!(ac[0], 0x0e, "AC");
    assert!(ac.len() < 255 && ac[1] as usize == ac.len() - 2);
    let Some(Spdu::Accept(acc)) = decode_tsdu(&ac).unwrap().main_spdu().cloned() else {
        panic!()
    };
    let cpa = guls_presentation::decode_cpa(acc.user_data.as_ref().unwrap()).unwrap();
    assert_eq!(cpa.results.len(), 2);
    let aare = &cpa.user_data.as_ref().unwrap().pdv_lists()[0];
    let Apdu::Aare(aare) = Apdu::decode(aare.value_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(aare.result, AssociateResult::Accepted);
    for line in [GOLDEN_IDENTIFY, GOLDEN_CONCLUDE] {
        send(&mut s, &hex(line)).await;
        let rsp = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
        assert_eq!(&rsp[..4], &[1, 0, 1, 0], "data SPDUs exactly 01 00 01 00");
        let ud = guls_presentation::decode_user_data(&rsp[4..]).unwrap();
        assert_eq!(ud.pdv_lists()[0].pcid, 3);
    }
    send(&mut s, &hex(GOLDEN_FN)).await;
    let dn = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
    assert_eq!(dn[0], 0x0a, "DN");
    drop(s);
    timeout(NET, app).await.unwrap().unwrap();
}

/// A CN like a full general-purpose stack's: every functional unit, versions 1+2, a
/// connection identifier, TSDU maximum sizes, the 3-octet LI, several contexts and a
/// default context name.
#[tokio::test]
async fn stress_connect_is_negotiated_down() {
    let mut cfg = demo_config();
    cfg.presentation.supported.push(SupportedSyntax::ber(
        Oid::from_arcs(&[1, 3, 9999, 4, 3]).unwrap(),
    ));
    let responder = Responder::bind("127.0.0.1:0", cfg.clone()).await.unwrap();
    let addr = responder.local_addr();
    let app = tokio::spawn(async move {
        let inc = responder.accept().await.unwrap();
        assert_eq!(inc.session_version(), 2);
        assert_eq!(inc.proposed_session_requirements(), 0x07ff);
        let accepted: Vec<_> = inc.contexts().iter().map(|c| c.pcid).collect();
        assert_eq!(accepted, vec![1, 3, 7]);
        inc.accept(AcceptParams::default()).await.unwrap()
    });
    let aarq = guls_acse::AcseMachine::new()
        .associate_request(&AssociateRequest::new(app_context()))
        .unwrap()
        .bytes;
    let ber = vec![known::BER];
    let cp = Cp {
        calling_selector: Some(vec![0, 0, 0, 1]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: vec![
            ContextDefinition {
                id: 1,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: ber.clone(),
            },
            ContextDefinition {
                id: 3,
                abstract_syntax: app_syntax(),
                transfer_syntaxes: ber.clone(),
            },
            ContextDefinition {
                id: 5,
                abstract_syntax: Oid::from_arcs(&[1, 2, 3, 4]).unwrap(),
                transfer_syntaxes: ber.clone(),
            },
            ContextDefinition {
                id: 7,
                abstract_syntax: Oid::from_arcs(&[1, 3, 9999, 4, 3]).unwrap(),
                transfer_syntaxes: ber.clone(),
            },
            ContextDefinition {
                id: 9,
                abstract_syntax: Oid::from_arcs(&[2, 5, 9, 9]).unwrap(),
                transfer_syntaxes: ber.clone(),
            },
        ],
        default_context: Some(DefaultContextName {
            abstract_syntax: Oid::from_arcs(&[1, 17, 0, 1, 1]).unwrap(),
            transfer_syntax: known::BER,
        }),
        user_data: Some(UserData::single_asn1(1, aarq)),
        ..Cp::default()
    };
    let cn = guls_session::Connect {
        connection_identifier: Some(ConnectionIdentifier {
            calling_ss_user_reference: Some(b"isode-ref".to_vec()),
            common_reference: Some(b"19960101000000Z".to_vec()),
            ..ConnectionIdentifier::default()
        }),
        connect_accept: Some(ConnectAcceptItem {
            protocol_options: Some(ProtocolOptions(0)),
            tsdu_maximum_size: Some(TsduMaximumSize {
                initiator_to_responder: 2041,
                responder_to_initiator: 2041,
            }),
            version: Some(VersionNumber::V1_AND_V2),
            initial_serial_number: Some(guls_session::SerialNumber::from_value(0)),
            ..ConnectAcceptItem::default()
        }),
        requirements: Some(FunctionalUnits(0x07ff)),
        calling_ssel: Some(guls_session::SSelector::new(vec![0, 1]).unwrap()),
        called_ssel: Some(guls_session::SSelector::new(vec![0, 1]).unwrap()),
        user_data: Some(ConnectUserData::new(encode_cp(&cp, EncodeStyle::Canonical)).unwrap()),
        ..guls_session::Connect::default()
    };
    let short = Spdu::Connect(cn).to_bytes().unwrap();
    // Re-encode with the 3-octet LI (what ISODE sends for long CNs).
    let (li, body) = if short[1] == 0xff {
        (
            u16::from_be_bytes([short[2], short[3]]),
            short[4..].to_vec(),
        )
    } else {
        (short[1] as u16, short[2..].to_vec())
    };
    let mut long = vec![0x0d, 0xff];
    long.extend(li.to_be_bytes());
    long.extend(body);

    let mut s = TcpStream::connect(addr).await.unwrap();
    send(&mut s, &hex(GOLDEN_CR)).await;
    let _cc = timeout(NET, read_tpkt(&mut s)).await.unwrap().unwrap();
    send(&mut s, &dt(&long)).await;
    let ac = timeout(NET, read_tsdu(&mut s)).await.unwrap().unwrap();
    let Some(Spdu::Accept(acc)) = decode_tsdu(&ac).unwrap().main_spdu().cloned() else {
        panic!("expected AC, got {ac:02x?}")
    };
    assert_eq!(
        acc.requirements,
        Some(FunctionalUnits::DUPLEX),
        "negotiated down"
    );
    assert_eq!(acc.versions(), vec![2]);
    let cpa = guls_presentation::decode_cpa(acc.user_data.as_ref().unwrap()).unwrap();
    let results: Vec<_> = cpa.results.iter().map(|r| r.result.name()).collect();
    assert_eq!(
        results,
        vec![
            "acceptance",
            "acceptance",
            "provider-rejection",
            "acceptance",
            "provider-rejection"
        ]
    );
    let _assoc = timeout(NET, app).await.unwrap().unwrap();
}
