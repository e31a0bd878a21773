//! The ACSE protocol machine: an initiator and a responder talk to each other through the
//! encoded APDU octets, plus the golden libiec61850 AARQ and a no-panic property.

use guls_acse::*;
use guls_ber::{known, parse_hex};
use proptest::prelude::*;

fn mms() -> Oid {
    known::MMS_APPLICATION_CONTEXT
}

fn ui(tag: u8) -> Vec<External> {
    vec![External::single_asn1(3, vec![0x04, 0x01, tag])]
}

/// Delivers `out` to `peer` and returns the event (asserting nothing is sent back).
fn deliver(peer: &mut AcseMachine, out: &OutgoingApdu) -> AcseEvent {
    let r = peer.on_apdu(&out.bytes);
    assert!(r.send.is_none(), "unexpected reply {:?}", r.send);
    r.event.expect("an event")
}

/// Two associated machines.
fn associated() -> (AcseMachine, AcseMachine) {
    let mut i = AcseMachine::new();
    let mut r = AcseMachine::new();
    let aarq = i.associate_request(&AssociateRequest::new(mms())).unwrap();
    assert!(matches!(
        deliver(&mut r, &aarq),
        AcseEvent::AssociateIndication(_)
    ));
    let aare = r
        .associate_response(&AssociateResponse::accept(mms()))
        .unwrap();
    assert!(matches!(deliver(&mut i, &aare), AcseEvent::AssociateConfirm(c) if c.is_accepted()));
    assert_eq!(i.state(), AcseState::Associated);
    assert_eq!(r.state(), AcseState::Associated);
    (i, r)
}

#[test]
fn associate_accepted_with_every_parameter() {
    let mut i = AcseMachine::new();
    let mut r = AcseMachine::new();
    let mut req = AssociateRequest::new(mms()).with_password(b"secret-pw");
    req.calling_ap_title = Some(ApTitle::Form2("1.1.1.999".parse().unwrap()));
    req.calling_ae_qualifier = Some(AeQualifier::Form2(12));
    req.calling_ap_invocation_id = Some(7);
    req.calling_ae_invocation_id = Some(8);
    req.called_ap_title = Some(ApTitle::Form2("1.1.1.999.1".parse().unwrap()));
    req.called_ae_qualifier = Some(AeQualifier::Form2(13));
    req.called_ap_invocation_id = Some(9);
    req.called_ae_invocation_id = Some(10);
    req.implementation_information = Some(b"guls".to_vec());
    req.user_information = ui(1);
    let aarq = i.associate_request(&req).unwrap();
    assert_eq!(aarq.apdu.name(), "aarq");
    assert_eq!(Apdu::decode(&aarq.bytes).unwrap(), aarq.apdu);
    assert_eq!(i.state(), AcseState::AwaitingAare);
    assert_eq!(i.role(), Some(Role::Initiator));
    // Credentials never show in Debug.
    assert!(!format!("{aarq:?}").contains("secret"));
    assert!(!format!("{req:?}").contains("secret"));

    let AcseEvent::AssociateIndication(ind) = deliver(&mut r, &aarq) else {
        panic!("not an indication")
    };
    assert_eq!(ind, req);
    assert_eq!(r.state(), AcseState::AwaitingAssociateResponse);
    assert_eq!(r.role(), Some(Role::Responder));

    let mut rsp = AssociateResponse::accept(mms());
    rsp.responding_ap_title = Some(ApTitle::Form2("1.1.1.999.1".parse().unwrap()));
    rsp.responding_ae_qualifier = Some(AeQualifier::Form2(13));
    rsp.responding_ap_invocation_id = Some(11);
    rsp.responding_ae_invocation_id = Some(12);
    rsp.acse_requirements = Some(AcseRequirements::authentication());
    rsp.mechanism_name = Some(known::PASSWORD_MECHANISM);
    rsp.authentication_value = Some(AuthenticationValue::password(b"server-pw"));
    rsp.user_information = ui(2);
    let aare = r.associate_response(&rsp).unwrap();
    assert_eq!(r.state(), AcseState::Associated);

    let AcseEvent::AssociateConfirm(cnf) = deliver(&mut i, &aare) else {
        panic!("not a confirm")
    };
    assert_eq!(cnf.result, AssociateResult::Accepted);
    assert_eq!(cnf.result_source, ResultSource::AcseServiceUser);
    assert_eq!(cnf.diagnostic, None);
    assert_eq!(cnf.application_context_name, mms());
    assert_eq!(cnf.responding_ap_title, rsp.responding_ap_title);
    assert_eq!(cnf.responding_ae_qualifier, rsp.responding_ae_qualifier);
    assert_eq!(cnf.responding_ap_invocation_id, Some(11));
    assert_eq!(cnf.responding_ae_invocation_id, Some(12));
    assert!(cnf.authentication_selected);
    assert_eq!(cnf.mechanism_name, Some(known::PASSWORD_MECHANISM));
    assert!(
        cnf.authentication_value
            .unwrap()
            .matches_charstring(b"server-pw")
    );
    assert_eq!(cnf.user_information, ui(2));
    assert_eq!(i.state(), AcseState::Associated);
}

#[test]
fn associate_rejected_by_user_authentication_failure() {
    let mut i = AcseMachine::new();
    let mut r = AcseMachine::new();
    let aarq = i
        .associate_request(&AssociateRequest::new(mms()).with_password(b"wrong"))
        .unwrap();
    deliver(&mut r, &aarq);
    let aare = r
        .associate_response(&AssociateResponse::reject(
            mms(),
            UserDiagnostic::AuthenticationFailure,
        ))
        .unwrap();
    assert_eq!(r.state(), AcseState::Closed);
    let AcseEvent::AssociateConfirm(cnf) = deliver(&mut i, &aare) else {
        panic!("not a confirm")
    };
    assert_eq!(cnf.result, AssociateResult::RejectedPermanent);
    assert_eq!(cnf.result_source, ResultSource::AcseServiceUser);
    assert_eq!(
        cnf.diagnostic,
        Some(ResultSourceDiagnostic::ServiceUser(
            UserDiagnostic::AuthenticationFailure
        ))
    );
    assert_eq!(cnf.diagnostic.unwrap().value(), 13);
    assert!(!cnf.authentication_selected);
    assert_eq!(i.state(), AcseState::Closed);
}

#[test]
fn associate_rejected_by_provider_no_common_version() {
    let mut i = AcseMachine::new();
    let mut r = AcseMachine::new();
    let aarq = i.associate_request(&AssociateRequest::new(mms())).unwrap();
    // The peer proposes no version ACSE knows.
    let Apdu::Aarq(mut a) = aarq.apdu.clone() else {
        unreachable!()
    };
    a.protocol_version = ProtocolVersion { version1: false };
    let reaction = r.on_apdu(&Apdu::Aarq(a).encode());
    assert_eq!(
        reaction.event,
        Some(AcseEvent::ProviderRejection(ProviderRejection {
            result: AssociateResult::RejectedPermanent,
            diagnostic: ProviderDiagnostic::NoCommonAcseVersion,
        }))
    );
    assert_eq!(r.state(), AcseState::Closed);
    let aare = reaction.send.expect("an AARE");
    let AcseEvent::AssociateConfirm(cnf) = deliver(&mut i, &aare) else {
        panic!("not a confirm")
    };
    assert_eq!(cnf.result, AssociateResult::RejectedPermanent);
    assert_eq!(cnf.result_source, ResultSource::AcseServiceProvider);
    assert_eq!(
        cnf.diagnostic,
        Some(ResultSourceDiagnostic::ServiceProvider(
            ProviderDiagnostic::NoCommonAcseVersion
        ))
    );
    assert_eq!(i.state(), AcseState::Closed);
}

#[test]
fn associate_rejected_by_presentation_provider() {
    let mut i = AcseMachine::new();
    i.associate_request(&AssociateRequest::new(mms())).unwrap();
    let AcseEvent::AssociateConfirm(cnf) = i
        .on_presentation_rejection(AssociateResult::RejectedTransient, mms())
        .unwrap()
    else {
        panic!("not a confirm")
    };
    assert_eq!(cnf.result_source, ResultSource::PresentationServiceProvider);
    assert_eq!(cnf.result, AssociateResult::RejectedTransient);
    assert!(i.is_closed());
    assert!(matches!(
        i.on_presentation_rejection(AssociateResult::RejectedPermanent, mms()),
        Err(AcseError::UnexpectedLowerLayerEvent {
            state: AcseState::Closed,
            ..
        })
    ));
}

#[test]
fn release_normal() {
    let (mut i, mut r) = associated();
    let mut req = ReleaseRequest::normal();
    req.user_information = ui(3);
    let rlrq = i.release_request(&req).unwrap();
    assert_eq!(rlrq.bytes[0], 0x62);
    assert_eq!(i.state(), AcseState::AwaitingRlre);
    let AcseEvent::ReleaseIndication(ind) = deliver(&mut r, &rlrq) else {
        panic!("not a release indication")
    };
    assert_eq!(ind.reason, Some(ReleaseRequestReason::Normal));
    assert_eq!(ind.user_information, ui(3));
    assert!(!ind.collision);
    assert_eq!(r.state(), AcseState::AwaitingReleaseResponse);
    let rlre = r.release_response(&ReleaseResponse::affirmative()).unwrap();
    assert_eq!(rlre.bytes, vec![0x63, 0x03, 0x80, 0x01, 0x00]);
    assert!(r.is_closed());
    let AcseEvent::ReleaseConfirm(cnf) = deliver(&mut i, &rlre) else {
        panic!("not a release confirm")
    };
    assert_eq!(cnf.result, ReleaseResult::Affirmative);
    assert_eq!(cnf.reason, Some(ReleaseResponseReason::Normal));
    assert!(i.is_closed());
}

#[test]
fn negative_release_response_refused() {
    let (mut i, mut r) = associated();
    let rlrq = i.release_request(&ReleaseRequest::normal()).unwrap();
    deliver(&mut r, &rlrq);
    let mut rsp = ReleaseResponse::affirmative();
    rsp.result = ReleaseResult::Negative;
    let err = r.release_response(&rsp).unwrap_err();
    assert!(matches!(
        err,
        AcseError::IllegalPrimitive {
            primitive: Primitive::ReleaseResponse,
            state: AcseState::AwaitingReleaseResponse,
            ..
        }
    ));
    assert!(err.to_string().contains("negotiated-release"));
    assert_eq!(r.state(), AcseState::AwaitingReleaseResponse);
}

/// Both sides request release; both get a collision indication.
fn collide() -> (AcseMachine, AcseMachine, OutgoingApdu, OutgoingApdu) {
    let (mut i, mut r) = associated();
    let rlrq_i = i.release_request(&ReleaseRequest::normal()).unwrap();
    let rlrq_r = r.release_request(&ReleaseRequest::normal()).unwrap();
    let AcseEvent::ReleaseIndication(ind) = deliver(&mut i, &rlrq_r) else {
        panic!("initiator: not a release indication")
    };
    assert!(ind.collision);
    let AcseEvent::ReleaseIndication(ind) = deliver(&mut r, &rlrq_i) else {
        panic!("responder: not a release indication")
    };
    assert!(ind.collision);
    assert_eq!(i.state(), AcseState::CollisionInitiatorAwaitingResponse);
    assert_eq!(r.state(), AcseState::CollisionResponderAwaitingRlre);
    (i, r, rlrq_i, rlrq_r)
}

#[test]
fn release_collision_x217_order() {
    let (mut i, mut r, _, _) = collide();
    // The responder may not answer before the confirm (X.217 9.2.2.10 b).
    assert!(matches!(
        r.release_response(&ReleaseResponse::affirmative()),
        Err(AcseError::IllegalPrimitive {
            primitive: Primitive::ReleaseResponse,
            state: AcseState::CollisionResponderAwaitingRlre,
            ..
        })
    ));
    // a) the initiator answers first.
    let rlre_i = i.release_response(&ReleaseResponse::affirmative()).unwrap();
    assert_eq!(i.state(), AcseState::CollisionInitiatorAwaitingRlre);
    // b) the responder gets its confirm, then answers.
    assert!(matches!(
        deliver(&mut r, &rlre_i),
        AcseEvent::ReleaseConfirm(_)
    ));
    assert_eq!(r.state(), AcseState::CollisionAwaitingResponse);
    let rlre_r = r.release_response(&ReleaseResponse::affirmative()).unwrap();
    assert!(r.is_closed());
    // c) the initiator gets its confirm.
    assert!(matches!(
        deliver(&mut i, &rlre_r),
        AcseEvent::ReleaseConfirm(_)
    ));
    assert!(i.is_closed());
}

#[test]
fn release_collision_rfc1698_order_tolerated() {
    // The peer responder answered first (RFC 1698 4.1 order): we play the initiator and
    // receive its RLRE before having answered.
    let (mut i, _r, _, _) = collide();
    let peer_rlre = OutgoingApdu {
        apdu: Apdu::Rlre(Rlre::normal()),
        bytes: Apdu::Rlre(Rlre::normal()).encode(),
    };
    let AcseEvent::ReleaseConfirm(cnf) = deliver(&mut i, &peer_rlre) else {
        panic!("not a release confirm")
    };
    assert_eq!(cnf.result, ReleaseResult::Affirmative);
    assert_eq!(i.state(), AcseState::CollisionAwaitingResponse);
    let rlre = i.release_response(&ReleaseResponse::affirmative()).unwrap();
    assert_eq!(rlre.apdu.name(), "rlre");
    assert!(i.is_closed());
    // Anything after the close is discarded.
    assert_eq!(i.on_apdu(&peer_rlre.bytes), ApduReaction::default());
}

#[test]
fn user_abort_with_user_information() {
    let (mut i, mut r) = associated();
    let abrt = r
        .abort_request(&AbortRequest {
            user_information: ui(4),
        })
        .unwrap();
    assert!(r.is_closed());
    let Apdu::Abrt(a) = &abrt.apdu else {
        panic!("not an ABRT")
    };
    assert_eq!(a.abort_source, AbortSource::AcseServiceUser);
    assert_eq!(&abrt.bytes[..5], &[0x64, abrt.bytes[1], 0x80, 0x01, 0x00]);
    let AcseEvent::AbortIndication(ind) = deliver(&mut i, &abrt) else {
        panic!("not an abort indication")
    };
    assert_eq!(ind.source, AbortSource::AcseServiceUser);
    assert_eq!(ind.user_information, ui(4));
    assert_eq!(ind.protocol_error, None);
    assert!(i.is_closed());
}

#[test]
fn abort_during_establishment() {
    let mut i = AcseMachine::new();
    let mut r = AcseMachine::new();
    let aarq = i.associate_request(&AssociateRequest::new(mms())).unwrap();
    // 9.1.2.2: only A-ABORT is allowed while awaiting the confirm.
    assert!(i.release_request(&ReleaseRequest::normal()).is_err());
    deliver(&mut r, &aarq);
    let abrt = i.abort_request(&AbortRequest::default()).unwrap();
    assert!(matches!(
        deliver(&mut r, &abrt),
        AcseEvent::AbortIndication(_)
    ));
    assert!(r.is_closed() && i.is_closed());
}

fn assert_provider_abort(reaction: &ApduReaction) {
    let send = reaction.send.as_ref().expect("an ABRT to send");
    let Apdu::Abrt(abrt) = &send.apdu else {
        panic!("not an ABRT: {send:?}")
    };
    assert_eq!(abrt.abort_source, AbortSource::AcseServiceProvider);
    assert_eq!(abrt.abort_diagnostic, Some(AbortDiagnostic::ProtocolError));
    assert!(abrt.user_information.is_empty());
    assert_eq!(
        send.bytes,
        vec![0x64, 0x06, 0x80, 0x01, 0x01, 0x81, 0x01, 0x02]
    );
    let Some(AcseEvent::AbortIndication(ind)) = &reaction.event else {
        panic!("not an abort indication")
    };
    assert_eq!(ind.source, AbortSource::AcseServiceProvider);
    assert!(ind.protocol_error.is_some());
    assert!(ind.user_information.is_empty());
}

#[test]
fn provider_abort_on_garbage() {
    let (mut i, mut r) = associated();
    let reaction = i.on_apdu(&[0x30, 0x03, 0x02, 0x01]);
    assert_provider_abort(&reaction);
    assert!(matches!(
        &reaction.event,
        Some(AcseEvent::AbortIndication(AbortIndication {
            protocol_error: Some(ProtocolError::Undecodable(_)),
            ..
        }))
    ));
    assert!(i.is_closed());
    // The peer receives the provider ABRT as an abort indication.
    let AcseEvent::AbortIndication(ind) = deliver(&mut r, reaction.send.as_ref().unwrap()) else {
        panic!("not an abort indication")
    };
    assert_eq!(ind.source, AbortSource::AcseServiceProvider);
    assert_eq!(ind.diagnostic, Some(AbortDiagnostic::ProtocolError));
    assert!(r.is_closed());
}

#[test]
fn provider_abort_on_unexpected_apdu() {
    let (mut i, _r) = associated();
    let aare = Apdu::Aare(Aare::accepted(mms())).encode();
    let reaction = i.on_apdu(&aare);
    assert_provider_abort(&reaction);
    assert!(matches!(
        &reaction.event,
        Some(AcseEvent::AbortIndication(AbortIndication {
            protocol_error: Some(ProtocolError::UnexpectedApdu {
                apdu: "aare",
                state: AcseState::Associated
            }),
            ..
        }))
    ));
    assert!(i.is_closed());
}

#[test]
fn provider_abort_on_inconsistent_aare() {
    let mut i = AcseMachine::new();
    i.associate_request(&AssociateRequest::new(mms())).unwrap();
    let bad = Aare::new(
        mms(),
        AssociateResult::Accepted,
        ResultSourceDiagnostic::ServiceProvider(ProviderDiagnostic::Null),
    );
    let reaction = i.on_apdu(&Apdu::Aare(bad).encode());
    assert_provider_abort(&reaction);
    assert!(i.is_closed());
}

#[test]
fn lower_layer_aborts() {
    let (mut i, mut r) = associated();
    assert_eq!(
        i.on_provider_abort(ProviderReason::Presentation(Some(1))),
        Some(AcseEvent::ProviderAbortIndication(
            ProviderAbortIndication {
                reason: ProviderReason::Presentation(Some(1))
            }
        ))
    );
    assert!(i.is_closed());
    assert_eq!(i.on_provider_abort(ProviderReason::Transport), None);
    assert!(matches!(
        r.on_abort_without_apdu(),
        Some(AcseEvent::AbortIndication(AbortIndication {
            source: AbortSource::AcseServiceUser,
            ..
        }))
    ));
    assert!(r.is_closed());
}

fn assert_illegal<T: std::fmt::Debug>(
    m: &AcseMachine,
    result: Result<T, AcseError>,
    primitive: Primitive,
    state: AcseState,
) {
    match result {
        Err(AcseError::IllegalPrimitive {
            primitive: p,
            state: s,
            ..
        }) => {
            assert_eq!(p, primitive);
            assert_eq!(s, state);
        }
        other => panic!("expected IllegalPrimitive, got {other:?}"),
    }
    assert_eq!(m.state(), state);
}

#[test]
fn illegal_primitive_sequences() {
    use AcseState as S;
    use Primitive as P;
    // Release before associate, response without indication, abort with nothing to abort.
    let mut m = AcseMachine::new();
    let r = m.release_request(&ReleaseRequest::normal());
    assert_illegal(&m, r, P::ReleaseRequest, S::Idle);
    let r = m.associate_response(&AssociateResponse::accept(mms()));
    assert_illegal(&m, r, P::AssociateResponse, S::Idle);
    let r = m.release_response(&ReleaseResponse::affirmative());
    assert_illegal(&m, r, P::ReleaseResponse, S::Idle);
    let r = m.abort_request(&AbortRequest::default());
    assert_illegal(&m, r, P::AbortRequest, S::Idle);
    assert_eq!(m.role(), None);

    // Associate twice.
    m.associate_request(&AssociateRequest::new(mms())).unwrap();
    let r = m.associate_request(&AssociateRequest::new(mms()));
    assert_illegal(&m, r, P::AssociateRequest, S::AwaitingAare);
    let r = m.associate_response(&AssociateResponse::accept(mms()));
    assert_illegal(&m, r, P::AssociateResponse, S::AwaitingAare);

    // Associated: no second associate, no release response without indication.
    let (mut i, _r) = associated();
    let r = i.associate_request(&AssociateRequest::new(mms()));
    assert_illegal(&i, r, P::AssociateRequest, S::Associated);
    let r = i.release_response(&ReleaseResponse::affirmative());
    assert_illegal(&i, r, P::ReleaseResponse, S::Associated);

    // Awaiting the release confirm: only A-ABORT (9.2.2.2).
    i.release_request(&ReleaseRequest::normal()).unwrap();
    let r = i.release_request(&ReleaseRequest::normal());
    assert_illegal(&i, r, P::ReleaseRequest, S::AwaitingRlre);

    // Closed: nothing.
    i.abort_request(&AbortRequest::default()).unwrap();
    let r = i.abort_request(&AbortRequest::default());
    assert_illegal(&i, r, P::AbortRequest, S::Closed);
}

#[test]
fn authentication_fields_need_the_functional_unit() {
    use AcseState as S;
    use Primitive as P;
    // A mechanism name without `authentication` in the requirements.
    let mut m = AcseMachine::new();
    let mut req = AssociateRequest::new(mms());
    req.mechanism_name = Some(known::PASSWORD_MECHANISM);
    let r = m.associate_request(&req);
    assert_illegal(&m, r, P::AssociateRequest, S::Idle);
    // X.410-1984 mode is not supported.
    let mut req = AssociateRequest::new(mms());
    req.mode = Mode::X410_1984;
    let r = m.associate_request(&req);
    assert_illegal(&m, r, P::AssociateRequest, S::Idle);

    // The responder may not select authentication that was not proposed.
    let mut i = AcseMachine::new();
    let mut r = AcseMachine::new();
    let aarq = i.associate_request(&AssociateRequest::new(mms())).unwrap();
    deliver(&mut r, &aarq);
    let mut rsp = AssociateResponse::accept(mms());
    rsp.acse_requirements = Some(AcseRequirements::authentication());
    rsp.mechanism_name = Some(known::PASSWORD_MECHANISM);
    let res = r.associate_response(&rsp);
    assert_illegal(&r, res, P::AssociateResponse, S::AwaitingAssociateResponse);
    // Nor send a responding value without the unit.
    let mut rsp = AssociateResponse::accept(mms());
    rsp.authentication_value = Some(AuthenticationValue::password(b"x"));
    let res = r.associate_response(&rsp);
    assert_illegal(&r, res, P::AssociateResponse, S::AwaitingAssociateResponse);
    // An accepted result carries no diagnostic.
    let rsp = AssociateResponse::new(
        mms(),
        AssociateResult::Accepted,
        Some(UserDiagnostic::NoReasonGiven),
    );
    let res = r.associate_response(&rsp);
    assert_illegal(&r, res, P::AssociateResponse, S::AwaitingAssociateResponse);
    // A plain acceptance still works afterwards.
    r.associate_response(&AssociateResponse::accept(mms()))
        .unwrap();
    assert!(r.is_associated());
}

/// The golden CN from PEERS.md section 6 (libiec61850 1.5.3 client, password `user1@testpw`).
const GOLDEN_CN_TPKT: &str = "030000d402f0800dcb0506130100160102140200023302000134020001c1b531\
81b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103\
060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010c\
a606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028\
a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";

/// The AARQ TLV inside the CP user data: it starts `60 6e a1 07`.
fn golden_aarq() -> Vec<u8> {
    let cn = parse_hex(GOLDEN_CN_TPKT).unwrap();
    let start = cn
        .windows(4)
        .position(|w| w == [0x60, 0x6e, 0xa1, 0x07])
        .expect("AARQ in the CN");
    let aarq = cn[start..start + 2 + 0x6e].to_vec();
    assert_eq!(start + aarq.len(), cn.len(), "the AARQ ends the TPKT");
    aarq
}

#[test]
fn golden_libiec61850_aarq() {
    let mut r = AcseMachine::new();
    let reaction = r.on_apdu(&golden_aarq());
    assert!(reaction.send.is_none());
    let Some(AcseEvent::AssociateIndication(ind)) = reaction.event else {
        panic!("not an indication: {:?}", reaction.event)
    };
    assert_eq!(ind.mode, Mode::Normal);
    assert_eq!(ind.application_context_name, mms());
    assert!(ind.proposes_authentication());
    assert_eq!(ind.mechanism_name.as_ref().unwrap().to_string(), "2.2.3.1");
    let v = ind.authentication_value.as_ref().unwrap();
    assert_eq!(v.kind_name(), "charstring");
    assert_eq!(v.len(), 12);
    assert!(v.matches_charstring(b"user1@testpw"));
    assert_eq!(
        ind.calling_ap_title,
        Some(ApTitle::Form2("1.1.1.999".parse().unwrap()))
    );
    assert_eq!(ind.called_ae_qualifier, Some(AeQualifier::Form2(12)));
    assert_eq!(ind.user_information.len(), 1);
    assert!(!format!("{ind:?}").contains("testpw"));

    let mut rsp = AssociateResponse::accept(ind.application_context_name.clone());
    rsp.user_information = vec![External::single_asn1(
        3,
        parse_hex(
            "a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118",
        )
        .unwrap(),
    )];
    let aare = r.associate_response(&rsp).unwrap();
    assert!(r.is_associated());
    // The same AARE libiec61850's server sent (PEERS.md section 6, AC line).
    assert_eq!(
        guls_ber::to_hex(&aare.bytes),
        "6146a107060528ca220203a203020100a305a103020100be2f282d020103a028a926800300fde88101058201\
0583010aa416800101810305f100820c03ee1c000000000000000118"
    );
}

// ---------------------------------------------------------------------------------------------
// Property: arbitrary octets in every state never panic and end in a legal event or a
// provider abort.

/// Drives a pair of machines to the `n`-th reachable state; returns the machine in it.
fn machine_in(n: u8) -> AcseMachine {
    let fresh = AcseMachine::new;
    match n % 12 {
        0 => fresh(),
        1 => {
            let mut i = fresh();
            i.associate_request(&AssociateRequest::new(mms()).with_password(b"pw"))
                .unwrap();
            i
        }
        2 => {
            let mut i = fresh();
            let mut r = fresh();
            let aarq = i.associate_request(&AssociateRequest::new(mms())).unwrap();
            deliver(&mut r, &aarq);
            r
        }
        3 => associated().0,
        4 => associated().1,
        5 => {
            let (mut i, _) = associated();
            i.release_request(&ReleaseRequest::normal()).unwrap();
            i
        }
        6 => {
            let (mut i, mut r) = associated();
            let rlrq = i.release_request(&ReleaseRequest::normal()).unwrap();
            deliver(&mut r, &rlrq);
            r
        }
        7 => collide().0,
        8 => collide().1,
        9 => {
            let (mut i, _, _, _) = collide();
            i.release_response(&ReleaseResponse::affirmative()).unwrap();
            i
        }
        10 => {
            let (mut i, mut r, _, _) = collide();
            let rlre = i.release_response(&ReleaseResponse::affirmative()).unwrap();
            deliver(&mut r, &rlre);
            r
        }
        _ => {
            let (mut i, _) = associated();
            i.abort_request(&AbortRequest::default()).unwrap();
            i
        }
    }
}

/// Inputs: arbitrary octets, or valid APDUs of every kind, possibly mutated.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        Just(Apdu::Aarq(Aarq::new(mms()).with_password(b"pw")).encode()),
        Just(Apdu::Aare(Aare::accepted(mms())).encode()),
        Just(
            Apdu::Aare(Aare::rejected_by_user(
                mms(),
                UserDiagnostic::AuthenticationFailure
            ))
            .encode()
        ),
        Just(Apdu::Rlrq(Rlrq::normal()).encode()),
        Just(Apdu::Rlre(Rlre::normal()).encode()),
        Just(Apdu::Abrt(Abrt::user()).encode()),
        Just(vec![0x65, 0x00]),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        valid.clone(),
        (valid, any::<usize>(), any::<u8>()).prop_map(|(mut v, at, b)| {
            let at = at % v.len();
            v[at] = b;
            v
        }),
    ]
}

/// The events a state may produce other than a provider abort.
fn legal(state: AcseState, event: &AcseEvent) -> bool {
    use AcseState as S;
    match event {
        AcseEvent::AbortIndication(a) => a.protocol_error.is_none(),
        AcseEvent::AssociateIndication(_) | AcseEvent::ProviderRejection(_) => state == S::Idle,
        AcseEvent::AssociateConfirm(_) => state == S::AwaitingAare,
        AcseEvent::ReleaseIndication(_) => matches!(state, S::Associated | S::AwaitingRlre),
        AcseEvent::ReleaseConfirm(_) => matches!(
            state,
            S::AwaitingRlre
                | S::CollisionInitiatorAwaitingRlre
                | S::CollisionInitiatorAwaitingResponse
                | S::CollisionResponderAwaitingRlre
        ),
        AcseEvent::ProviderAbortIndication(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn on_apdu_never_panics(n in 0u8..12, bytes in input()) {
        let mut m = machine_in(n);
        let before = m.state();
        let reaction = m.on_apdu(&bytes);
        if before == AcseState::Closed {
            prop_assert_eq!(reaction, ApduReaction::default());
            return Ok(());
        }
        let event = reaction.event.as_ref().expect("an event in every open state");
        let provider_abort = matches!(
            event,
            AcseEvent::AbortIndication(AbortIndication { protocol_error: Some(_), .. })
        );
        if provider_abort {
            assert_provider_abort(&reaction);
            prop_assert!(m.is_closed());
        } else {
            prop_assert!(legal(before, event), "{:?} in {:?}", event, before);
            if let Some(send) = &reaction.send {
                prop_assert!(matches!(event, AcseEvent::ProviderRejection(_)));
                prop_assert_eq!(send.apdu.name(), "aare");
            }
        }
        // The machine stays usable: a second input never panics either.
        let _ = m.on_apdu(&bytes);
    }
}
