//! The ACSE authentication fields through the association API: any mechanism and value arm
//! (including `external`) from the initiator, responder-acse-requirements, mechanism name and
//! responding authentication value on acceptance and on rejection, and an AARQ built field by
//! field ([`Initiator::connect_request`]).

mod common;

use common::*;
use guls_association::*;
use tokio::time::timeout;

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn external(v: &[u8]) -> External {
    External::single_asn1(3, v.to_vec())
}

/// Binds a responder whose single association is answered by `answer`.
async fn responder<F, Fut>(answer: F) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>)
where
    F: FnOnce(IncomingAssociation) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let r = Responder::bind("127.0.0.1:0", demo_config()).await.unwrap();
    let addr = r.local_addr();
    let task = tokio::spawn(async move {
        let inc = timeout(NET, r.accept()).await.unwrap().unwrap();
        answer(inc).await;
    });
    (addr, task)
}

#[tokio::test]
async fn external_value_both_ways_on_acceptance() {
    let (addr, task) = responder(|inc| async move {
        let ind = inc.indication();
        assert!(ind.proposes_authentication());
        assert_eq!(ind.mechanism_name, Some(oid("1.3.9999.5")));
        let Some(AuthenticationValue::External(x)) = &ind.authentication_value else {
            panic!("no external value");
        };
        assert_eq!(x.external(), &external(&[0x04, 0x01, 0xAA]));
        // Debug never shows the value.
        assert!(!format!("{inc:?}").contains("aa"));
        let params = AcceptParams {
            authentication: Some(Authentication::external(
                oid("1.3.9999.5"),
                external(&[0x04, 0x01, 0xBB]),
            )),
            ..AcceptParams::default()
        };
        answer_release(inc.accept(params).await.unwrap()).await;
    })
    .await;
    let params = AssociateParams {
        authentication: Some(Authentication::external(
            oid("1.3.9999.5"),
            external(&[0x04, 0x01, 0xAA]),
        )),
        ..AssociateParams::default()
    };
    let mut a = Initiator::new(demo_config())
        .connect(addr, params)
        .await
        .unwrap();
    let c = a.associate_confirm().unwrap();
    assert!(c.authentication_selected);
    assert_eq!(c.mechanism_name, Some(oid("1.3.9999.5")));
    assert_eq!(
        c.authentication_value,
        Some(AuthenticationValue::External(SecretExternal::new(
            external(&[0x04, 0x01, 0xBB])
        )))
    );
    a.release().await.unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn responder_requirements_alone_on_acceptance() {
    let (addr, task) = responder(|inc| async move {
        let params = AcceptParams {
            acse_requirements: Some(AcseRequirements::authentication()),
            ..AcceptParams::default()
        };
        answer_release(inc.accept(params).await.unwrap()).await;
    })
    .await;
    // Proposing the functional unit without a mechanism or value.
    let params = AssociateParams {
        acse_requirements: Some(AcseRequirements::authentication()),
        ..AssociateParams::default()
    };
    let mut a = Initiator::new(demo_config())
        .connect(addr, params)
        .await
        .unwrap();
    let c = a.associate_confirm().unwrap();
    assert!(c.authentication_selected);
    assert!(c.mechanism_name.is_none() && c.authentication_value.is_none());
    a.release().await.unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn rejection_carries_the_responding_value_and_user_information() {
    let (addr, task) = responder(|inc| async move {
        let mut p = RejectParams::new(UserDiagnostic::AuthenticationFailure);
        p.authentication = Some(Authentication::new(
            oid("1.3.9999.5"),
            AuthenticationValue::External(SecretExternal::new(external(&[0x05, 0x00]))),
        ));
        p.user_information = vec![external(&[0x04, 0x00])];
        inc.reject_with(p).await.unwrap();
    })
    .await;
    let params = AssociateParams {
        authentication: Some(Authentication::external(
            oid("1.3.9999.5"),
            external(&[0x04, 0x01, 0xAA]),
        )),
        ..AssociateParams::default()
    };
    let err = Initiator::new(demo_config())
        .connect(addr, params)
        .await
        .unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(r.result, AssociateResult::RejectedPermanent);
    assert_eq!(
        r.diagnostic,
        Some(ResultSourceDiagnostic::ServiceUser(
            UserDiagnostic::AuthenticationFailure
        ))
    );
    assert!(r.acse_requirements.unwrap().authentication);
    assert_eq!(r.mechanism_name, Some(oid("1.3.9999.5")));
    assert_eq!(
        r.authentication_value,
        Some(AuthenticationValue::External(SecretExternal::new(
            external(&[0x05, 0x00])
        )))
    );
    assert_eq!(r.user_information, vec![external(&[0x04, 0x00])]);
    // Neither Debug nor Display shows the value's octets.
    assert!(!format!("{r:?}").contains("External(External"));
    task.await.unwrap();
}

#[tokio::test]
async fn rejection_with_a_value_the_aarq_did_not_allow_is_refused() {
    let (addr, task) = responder(|inc| async move {
        let mut p = RejectParams::new(UserDiagnostic::AuthenticationRequired);
        p.authentication = Some(Authentication::password(b"x"));
        // No authentication functional unit in the AARQ: the ACSE machine refuses.
        let err = inc.reject_with(p).await.unwrap_err();
        assert!(
            matches!(err, AssociationError::IllegalPrimitive(_)),
            "{err:?}"
        );
    })
    .await;
    let err = Initiator::new(demo_config())
        .connect(addr, AssociateParams::default())
        .await
        .unwrap_err();
    assert!(!matches!(err, AssociationError::Rejected(_)), "{err:?}");
    task.await.unwrap();
}

#[tokio::test]
async fn connect_request_sends_a_value_without_mechanism() {
    let (addr, task) = responder(|inc| async move {
        let ind = inc.indication();
        assert!(ind.proposes_authentication());
        assert!(ind.mechanism_name.is_none());
        assert!(ind.authentication_value.is_some());
        inc.reject(
            UserDiagnostic::AuthenticationMechanismNameRequired,
            Vec::new(),
        )
        .await
        .unwrap();
    })
    .await;
    let i = Initiator::new(demo_config());
    let mut req = i.associate_request(AssociateParams::default());
    req.acse_requirements = Some(AcseRequirements::authentication());
    req.authentication_value = Some(AuthenticationValue::password(b"pw"));
    let err = i.connect_request(addr, req).await.unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        r.diagnostic,
        Some(ResultSourceDiagnostic::ServiceUser(
            UserDiagnostic::AuthenticationMechanismNameRequired
        ))
    );
    assert!(r.authentication_value.is_none() && r.mechanism_name.is_none());
    task.await.unwrap();
}

#[test]
fn password_aarq_is_unchanged() {
    // The libiec61850-compatible password fields: 8A 02 04 80, 8B 03 52 03 01, AC 04 80 02 'pw'.
    let i = Initiator::new(demo_config());
    let req = i.associate_request(AssociateParams {
        authentication: Some(Authentication::password(b"pw")),
        ..AssociateParams::default()
    });
    let aarq = guls_ber::to_hex(&guls_acse::Apdu::Aarq(req.to_aarq()).encode());
    let compact: String = aarq.split_whitespace().collect();
    assert!(
        compact.contains("8a0204808b03520301ac0480027077"),
        "{compact}"
    );
}
