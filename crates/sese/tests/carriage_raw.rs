//! A raw test peer against the carriage responder: the association is real, but every SESE
//! APDU and every ACSE authentication field is built by hand with the codecs. It triggers the
//! ACSE diagnostics 11, 12 and 14 and every X.832 problem code reachable through carriage, and
//! checks the se-p-abort on the wire in the right carrier (AARE responding authentication
//! value or user-information during establishment; ABRT user-information when the required
//! exchange dies; P-DATA afterwards) and the responder's local SE-P-ABORT indication.
//!
//! `transfer.alternatingSequenceError` is not reachable through carriage: the responder's role
//! answers every item as it arrives, so the peer is always the side whose turn it is (the
//! machine tests cover it).

mod common_carriage;
#[allow(dead_code)]
#[path = "../examples/hmac_challenge.rs"]
mod hmac_challenge;

use common_carriage::*;
use guls_acse::AssociateRequest;
use guls_association::{
    AcseRequirements, AssociateParams, Association, AssociationError, AssociationEvent,
    Authentication, AuthenticationValue, External, ResultSourceDiagnostic, UserDiagnostic,
};
use guls_sese::{
    AbortProblem, AbortSource, CarriageAbort, CarriageConfig, GeneralProblem, Identifier,
    Indication, InvocationId, ItemType, OctetString, ProblemCode, SeError, SeTransfer, SeUAbort,
    SecureEvent, SecureInitiator, SeseApdu, TransferProblem, Utf8String, Verdict,
};
use tokio::time::timeout;

const SESE_PCID: i64 = 5;

fn transfer(se: Identifier, item: i64, value: Vec<u8>, inv: InvocationId, start: bool) -> Vec<u8> {
    SeseApdu::Transfer(SeTransfer {
        se_identifier: se,
        item_identifier: item,
        item: value,
        invocation_id: inv,
        start,
        end: false,
    })
    .encode()
}

fn item1() -> Vec<u8> {
    transfer(
        hmac_id(),
        1,
        Utf8String("alice".into()).encode(),
        InvocationId::Absent,
        true,
    )
}

fn u_abort(item: Option<i64>, errors: Option<Vec<SeError>>, inv: InvocationId) -> Vec<u8> {
    SeseApdu::UAbort(SeUAbort {
        invocation_id: inv,
        item_identifier: item,
        errors,
    })
    .encode()
}

fn ext(apdu: Vec<u8>) -> External {
    External::single_asn1(SESE_PCID, apdu)
}

/// The plain initiator of a carriage initiator (it proposes the SESE context as pcid 5) and
/// an AARQ without authentication.
fn raw_request() -> (guls_association::Initiator, AssociateRequest) {
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("alice", KEY)));
    assert_eq!(si.sese_pcid(), SESE_PCID);
    let i = si.initiator().clone();
    let req = i.associate_request(AssociateParams::default());
    (i, req)
}

fn with_auth(
    mut req: AssociateRequest,
    mechanism: Option<guls_ber::Oid>,
    apdu: Vec<u8>,
) -> AssociateRequest {
    req.acse_requirements = Some(AcseRequirements::authentication());
    req.mechanism_name = mechanism;
    req.authentication_value = Some(AuthenticationValue::External(
        guls_association::SecretExternal::new(ext(apdu)),
    ));
    req
}

fn hmac_oid() -> guls_ber::Oid {
    hmac_id().as_global().unwrap().clone()
}

fn problem_of(apdu: &[u8]) -> ProblemCode {
    match SeseApdu::decode(apdu) {
        Ok(SeseApdu::PAbort(p)) => p.problem,
        other => panic!("expected an se-p-abort, got {other:?}"),
    }
}

fn local_p_abort(indications: &[Indication]) -> Option<ProblemCode> {
    indications.iter().find_map(|i| match i {
        Indication::PAbort(p) if p.source == AbortSource::Local => Some(p.problem),
        _ => None,
    })
}

fn user_diag(d: UserDiagnostic) -> Option<ResultSourceDiagnostic> {
    Some(ResultSourceDiagnostic::ServiceUser(d))
}

#[tokio::test]
async fn diagnostics_11_12_14() {
    // 11: a mechanism name that is no registered exchange.
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (i, req) = raw_request();
    let unknown: guls_ber::Oid = "1.3.9999.77".parse().unwrap();
    let req = with_auth(req, Some(unknown), item1());
    let err = i.connect_request(addr, req).await.unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        r.diagnostic,
        user_diag(UserDiagnostic::AuthenticationMechanismNameNotRecognized)
    );
    assert!(r.authentication_value.is_none());
    server.await.unwrap();

    // 12: an authentication value without a mechanism name.
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (i, req) = raw_request();
    let req = with_auth(req, None, item1());
    let err = i.connect_request(addr, req).await.unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        r.diagnostic,
        user_diag(UserDiagnostic::AuthenticationMechanismNameRequired)
    );
    server.await.unwrap();

    // 14: nothing, while an exchange is required.
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (i, req) = raw_request();
    let err = i.connect_request(addr, req).await.unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        r.diagnostic,
        user_diag(UserDiagnostic::AuthenticationRequired)
    );
    let log = server.await.unwrap();
    assert_eq!(
        log.verdict,
        Some(Verdict::Reject(UserDiagnostic::AuthenticationRequired))
    );

    // Not required: a plain association, nothing held back.
    let mut cc = CarriageConfig::new(hmac_registry("alice", KEY));
    cc.required = false;
    let (addr, server) = serve(cc).await;
    let (i, req) = raw_request();
    let mut a = i.connect_request(addr, req).await.unwrap();
    a.send_asn1(APP_PCID, vec![5, 0]).await.unwrap();
    assert!(matches!(
        timeout(NET, a.recv()).await.unwrap().unwrap(),
        AssociationEvent::Data(_)
    ));
    a.release().await.unwrap();
    assert_eq!(server.await.unwrap().verdict, Some(Verdict::NoExchange));
}

/// Sends `apdu` in the AARQ (authentication value with `mechanism`, or user-information when
/// `None`); expects rejection 13 with an se-p-abort `problem` in the same carrier, and the
/// responder's local SE-P-ABORT indication.
async fn aarq_problem(mechanism: Option<guls_ber::Oid>, apdu: Vec<u8>, problem: ProblemCode) {
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (i, mut req) = raw_request();
    let in_auth = mechanism.is_some();
    if in_auth {
        req = with_auth(req, mechanism, apdu);
    } else {
        req.user_information.push(ext(apdu));
    }
    let err = timeout(NET, i.connect_request(addr, req))
        .await
        .unwrap()
        .unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        r.diagnostic,
        user_diag(UserDiagnostic::AuthenticationFailure),
        "{problem:?}"
    );
    let carried = match (&r.authentication_value, r.user_information.first()) {
        (Some(AuthenticationValue::External(x)), _) if in_auth => x.external().clone(),
        (None, Some(x)) if !in_auth => x.clone(),
        other => panic!("se-p-abort in the wrong carrier: {other:?}"),
    };
    assert_eq!(carried.indirect_reference, Some(SESE_PCID));
    assert_eq!(problem_of(&single_asn1(&carried.encoding)), problem);
    let log = server.await.unwrap();
    assert_eq!(local_p_abort(&log.aarq_indications), Some(problem));
}

#[tokio::test]
async fn problem_codes_in_the_aarq() {
    let hmac = Some(hmac_oid());
    let t = |p| ProblemCode::Transfer(p);
    aarq_problem(
        hmac.clone(),
        vec![0x05, 0x00],
        ProblemCode::General(GeneralProblem::InvalidApdu),
    )
    .await;
    // The item names another exchange than the mechanism name; an unknown exchange in the
    // user-information.
    let other = transfer(
        Identifier::Local(99),
        1,
        vec![5, 0],
        InvocationId::Absent,
        true,
    );
    aarq_problem(
        hmac.clone(),
        other.clone(),
        t(TransferProblem::UnrecognizedSecurityExchange),
    )
    .await;
    aarq_problem(
        None,
        other,
        t(TransferProblem::UnrecognizedSecurityExchange),
    )
    .await;
    let mistyped = transfer(
        hmac_id(),
        1,
        OctetString(vec![1]).encode(),
        InvocationId::Absent,
        true,
    );
    aarq_problem(hmac.clone(), mistyped, t(TransferProblem::MistypedItem)).await;
    let no_start = transfer(
        hmac_id(),
        1,
        Utf8String("alice".into()).encode(),
        InvocationId::Absent,
        false,
    );
    aarq_problem(
        hmac.clone(),
        no_start,
        t(TransferProblem::InappropriateInvocationId),
    )
    .await;
    let present = transfer(
        hmac_id(),
        1,
        Utf8String("alice".into()).encode(),
        InvocationId::Present(5),
        true,
    );
    aarq_problem(None, present, t(TransferProblem::InappropriateInvocationId)).await;
    aarq_problem(
        hmac,
        u_abort(None, None, InvocationId::Absent),
        ProblemCode::Abort(AbortProblem::UnrecognizedInvocationId),
    )
    .await;
}

/// Associates with item 1 in the AARQ (the AARE carries item 2); returns the association and
/// the challenge.
async fn raw_established(addr: std::net::SocketAddr) -> (Association, Vec<u8>) {
    let (i, req) = raw_request();
    let req = with_auth(req, Some(hmac_oid()), item1());
    let a = timeout(NET, i.connect_request(addr, req))
        .await
        .unwrap()
        .unwrap();
    let c = a.associate_confirm().unwrap();
    let Some(AuthenticationValue::External(x)) = &c.authentication_value else {
        panic!("no item 2")
    };
    let Ok(SeseApdu::Transfer(t)) = SeseApdu::decode(&single_asn1(&x.external().encoding)) else {
        panic!("no se-transfer")
    };
    assert_eq!(t.item_identifier, 2);
    let nonce = OctetString::decode(&t.item).unwrap().0;
    (a, nonce)
}

/// The ABRT that ends a required exchange: its user-information carries the se-p-abort.
async fn expect_abort_with(a: &mut Association, problem: ProblemCode) {
    let ev = timeout(NET, a.recv()).await.unwrap().unwrap();
    let AssociationEvent::AbortIndication {
        user_information, ..
    } = ev
    else {
        panic!("expected the ABRT, got {ev:?}")
    };
    let x = user_information.first().expect("ABRT user-information");
    assert_eq!(x.indirect_reference, Some(SESE_PCID));
    assert_eq!(problem_of(&single_asn1(&x.encoding)), problem);
}

#[tokio::test]
async fn problem_codes_in_p_data_while_the_exchange_is_required() {
    let a = |p| ProblemCode::Abort(p);
    let cases = [
        (
            item1(),
            ProblemCode::Transfer(TransferProblem::DuplicateInvocationId),
        ),
        (
            transfer(
                hmac_id(),
                3,
                Utf8String("x".into()).encode(),
                InvocationId::Absent,
                false,
            ),
            ProblemCode::Transfer(TransferProblem::MistypedItem),
        ),
        (
            vec![0x30, 0x00],
            ProblemCode::General(GeneralProblem::InvalidApdu),
        ),
        (
            u_abort(Some(3), None, InvocationId::Absent),
            a(AbortProblem::AbortUnexpected),
        ),
        (
            u_abort(
                Some(2),
                Some(vec![SeError::code(Identifier::Local(99))]),
                InvocationId::Absent,
            ),
            a(AbortProblem::UnrecognizedError),
        ),
        (
            u_abort(
                Some(2),
                Some(vec![SeError::code(Identifier::Local(1))]),
                InvocationId::Absent,
            ),
            a(AbortProblem::UnexpectedError),
        ),
        (
            u_abort(
                Some(2),
                Some(vec![SeError {
                    code: None,
                    parameter: Some(vec![5, 0]),
                }]),
                InvocationId::Absent,
            ),
            a(AbortProblem::MistypedErrorParameter),
        ),
    ];
    for (apdu, problem) in cases {
        let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
        let (mut assoc, _) = raw_established(addr).await;
        assoc.send_asn1(SESE_PCID, apdu).await.unwrap();
        expect_abort_with(&mut assoc, problem).await;
        let log = server.await.unwrap();
        let local = log.events.iter().find_map(|e| match e {
            SecureEvent::Sese(Indication::PAbort(p)) if p.source == AbortSource::Local => {
                Some(p.problem)
            }
            _ => None,
        });
        assert_eq!(local, Some(problem));
        assert!(
            matches!(
                log.events.last(),
                Some(SecureEvent::Aborted(CarriageAbort::ExchangeFailed { .. }))
            ),
            "{:?}",
            log.events
        );
    }
}

fn item3(nonce: &[u8], key: &[u8]) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mac = ring::hmac::sign(&k, &[nonce, b"alice"].concat());
    SeseApdu::Transfer(SeTransfer {
        se_identifier: hmac_id(),
        item_identifier: 3,
        item: OctetString(mac.as_ref().to_vec()).encode(),
        invocation_id: InvocationId::Absent,
        start: false,
        end: true,
    })
    .encode()
}

#[tokio::test]
async fn problem_codes_in_p_data_after_the_exchange_completed() {
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (mut assoc, nonce) = raw_established(addr).await;
    assoc
        .send_asn1(SESE_PCID, item3(&nonce, KEY))
        .await
        .unwrap();
    for (apdu, problem) in [
        (
            u_abort(None, None, InvocationId::Present(7)),
            ProblemCode::Abort(AbortProblem::UnrecognizedInvocationId),
        ),
        (
            vec![0x05, 0x00],
            ProblemCode::General(GeneralProblem::InvalidApdu),
        ),
    ] {
        assoc.send_asn1(SESE_PCID, apdu).await.unwrap();
        // The se-p-abort comes in P-DATA of the SESE context; the association stays.
        let ev = timeout(NET, assoc.recv()).await.unwrap().unwrap();
        let AssociationEvent::Data(d) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(d.pcid, SESE_PCID);
        assert_eq!(problem_of(&single_asn1(&d.value)), problem);
    }
    assoc.send_asn1(APP_PCID, vec![5, 0]).await.unwrap();
    let ev = timeout(NET, assoc.recv()).await.unwrap().unwrap();
    assert!(
        matches!(ev, AssociationEvent::Data(ref d) if d.pcid == APP_PCID),
        "{ev:?}"
    );
    assoc.release().await.unwrap();
    let log = server.await.unwrap();
    assert!(
        !log.events
            .iter()
            .any(|e| matches!(e, SecureEvent::Aborted(_)))
    );
}

#[tokio::test]
async fn application_data_received_early_aborts() {
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (mut assoc, _nonce) = raw_established(addr).await;
    assoc.send_asn1(APP_PCID, vec![5, 0]).await.unwrap();
    let ev = timeout(NET, assoc.recv()).await.unwrap().unwrap();
    assert!(
        matches!(ev, AssociationEvent::AbortIndication { .. }),
        "{ev:?}"
    );
    let log = server.await.unwrap();
    assert_eq!(
        log.events.last(),
        Some(&SecureEvent::Aborted(CarriageAbort::EarlyData {
            pcid: APP_PCID
        }))
    );
    // The password mechanism is no registered exchange: 11 (a responder that also takes
    // passwords decides those before carriage).
    let (addr, server) = serve(CarriageConfig::new(hmac_registry("alice", KEY))).await;
    let (i, _) = raw_request();
    let params = AssociateParams {
        authentication: Some(Authentication::password(b"pw")),
        ..AssociateParams::default()
    };
    let err = i.connect(addr, params).await.unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        r.diagnostic,
        user_diag(UserDiagnostic::AuthenticationMechanismNameNotRecognized)
    );
    server.await.unwrap();
}
