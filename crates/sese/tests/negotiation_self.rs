//! simpleNegotiationSE never negotiates itself (X.830 Annex C: it agrees on the exchange to run
//! next). A peer that offers only simpleNegotiationSE is answered with an empty `acceptedIds`
//! ("nothing acceptable"), and carriage ends the association in a defined state (diagnostic
//! 13, or [`CarriageAbort::NoCommonExchange`]) instead of starting one negotiation after
//! another. Every await is bounded by the safety net [`NET`]; the assertions are on outcomes,
//! never on time.

mod common_carriage;
#[allow(dead_code)]
#[path = "../examples/hmac_challenge.rs"]
mod hmac_challenge;

use std::sync::Arc;

use common_carriage::*;
use guls_association::{
    AcseRequirements, AssociateParams, AssociationError, AssociationEvent, AuthenticationValue,
    External, ResultSourceDiagnostic, SecretExternal, UserDiagnostic,
};
use guls_sese::negotiation::{
    ACCEPTED_IDS, OFFERED_IDS, simple_negotiation_definition, simple_negotiation_se,
};
use guls_sese::{
    CarriageAbort, CarriageConfig, CarriageError, ExchangeRole, Identifier, Indication,
    InvocationId, Item, ItemType, NegotiationSei, Oid, Outcome, Registry, SIMPLE_NEGOTIATION_SE,
    SeTransfer, SecureEvent, SecureInitiator, SeseApdu, Step, Verdict, negotiate,
};
use tokio::time::timeout;

fn hmac_oid() -> Oid {
    hmac_id().as_global().unwrap().clone()
}

fn negotiation_id() -> Identifier {
    Identifier::Global(SIMPLE_NEGOTIATION_SE)
}

fn diag_13() -> Option<ResultSourceDiagnostic> {
    Some(ResultSourceDiagnostic::ServiceUser(
        UserDiagnostic::AuthenticationFailure,
    ))
}

/// The HMAC exchange plus `negotiation`.
fn registry(negotiation: guls_sese::ExchangeDefinition) -> Arc<Registry> {
    Arc::new(
        Registry::new()
            .with(hmac_challenge::definition("alice", KEY))
            .unwrap()
            .with(negotiation)
            .unwrap(),
    )
}

fn carriage(negotiation: guls_sese::ExchangeDefinition, required: bool) -> CarriageConfig {
    let mut c = CarriageConfig::new(registry(negotiation));
    c.required = required;
    c
}

/// The `acceptedIds` of an se-transfer APDU.
fn accepted_ids(apdu: &[u8]) -> Vec<Oid> {
    let Ok(SeseApdu::Transfer(t)) = SeseApdu::decode(apdu) else {
        panic!("not an se-transfer");
    };
    assert_eq!(t.item_identifier, ACCEPTED_IDS);
    NegotiationSei::decode(&t.item).unwrap().0
}

/// Connects with simpleNegotiationSE and, once established, waits for the negotiated exchange:
/// how the association ended up (never a negotiation loop: a loop would run into the safety
/// net, which panics).
async fn connect_and_settle(si: &SecureInitiator, addr: std::net::SocketAddr) -> CarriageError {
    let settle = async {
        let mut a = si
            .connect(addr, &negotiation_id(), AssociateParams::default())
            .await?;
        a.wait_secured().await?;
        Ok::<_, CarriageError>(a)
    };
    match timeout(NET, settle)
        .await
        .expect("the negotiation settles (no negotiation loop)")
    {
        Ok(_) => panic!("secured without a common exchange"),
        Err(e) => e,
    }
}

#[test]
fn negotiate_never_picks_itself() {
    let hmac = hmac_oid();
    assert_eq!(
        negotiate(&[SIMPLE_NEGOTIATION_SE], &[SIMPLE_NEGOTIATION_SE]),
        None
    );
    assert_eq!(
        negotiate(
            &[SIMPLE_NEGOTIATION_SE, hmac.clone()],
            &[hmac.clone(), SIMPLE_NEGOTIATION_SE]
        ),
        Some(hmac)
    );
}

/// A raw peer whose AARQ offers only simpleNegotiationSE, to a responder that (misconfigured)
/// lists it as acceptable: the AARE answers "nothing acceptable" (empty acceptedIds) and, with
/// an exchange required, rejects with diagnostic 13.
#[tokio::test]
async fn raw_peer_offering_only_the_negotiation_gets_nothing_acceptable() {
    let acceptable = vec![SIMPLE_NEGOTIATION_SE, hmac_oid()];
    let (addr, server) = serve(carriage(simple_negotiation_se(vec![], acceptable), true)).await;
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("alice", KEY)));
    let pcid = si.sese_pcid();
    let i = si.initiator().clone();
    let mut req = i.associate_request(AssociateParams::default());
    let offer = SeseApdu::Transfer(SeTransfer {
        se_identifier: negotiation_id(),
        item_identifier: OFFERED_IDS,
        item: NegotiationSei(vec![SIMPLE_NEGOTIATION_SE]).encode(),
        invocation_id: InvocationId::Absent,
        start: true,
        end: false,
    })
    .encode();
    req.acse_requirements = Some(AcseRequirements::authentication());
    req.mechanism_name = Some(SIMPLE_NEGOTIATION_SE);
    req.authentication_value = Some(AuthenticationValue::External(SecretExternal::new(
        External::single_asn1(pcid, offer),
    )));
    let err = timeout(NET, i.connect_request(addr, req))
        .await
        .unwrap()
        .unwrap_err();
    let AssociationError::Rejected(r) = err else {
        panic!("{err:?}")
    };
    assert_eq!(r.diagnostic, diag_13());
    let Some(AuthenticationValue::External(x)) = &r.authentication_value else {
        panic!("no acceptedIds in the AARE: {r:?}");
    };
    assert_eq!(
        accepted_ids(&single_asn1(&x.external().encoding)),
        Vec::<Oid>::new()
    );
    let log = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(
        log.verdict,
        Some(Verdict::Reject(UserDiagnostic::AuthenticationFailure))
    );
    assert!(
        log.aarq_indications
            .iter()
            .any(|i| matches!(i, Indication::Transfer(t) if t.item_identifier == OFFERED_IDS))
    );
}

/// Two configured carriage peers that both list simpleNegotiationSE (the initiator offers only
/// it, the responder accepts only it). Before the fix they agreed on it and the initiator
/// started a negotiation after every negotiation, forever.
#[tokio::test]
async fn configured_peers_listing_only_the_negotiation_do_not_loop() {
    let only = || vec![SIMPLE_NEGOTIATION_SE];
    // An exchange required: diagnostic 13, nothing agreed in the AARE.
    let (addr, server) = serve(carriage(simple_negotiation_se(vec![], only()), true)).await;
    let si = SecureInitiator::new(
        config(),
        carriage(simple_negotiation_se(only(), vec![]), true),
    );
    let err = connect_and_settle(&si, addr).await;
    let CarriageError::Rejected {
        rejection,
        indications,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(rejection.diagnostic, diag_13());
    let accepted: Vec<_> = indications
        .iter()
        .filter_map(|i| match i {
            Indication::Transfer(t) if t.item_identifier == ACCEPTED_IDS => {
                Some(NegotiationSei::decode(&t.item).unwrap().0)
            }
            _ => None,
        })
        .collect();
    assert_eq!(accepted, vec![Vec::<Oid>::new()]);
    let log = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(
        log.verdict,
        Some(Verdict::Reject(UserDiagnostic::AuthenticationFailure))
    );

    // No exchange required by the responder: it accepts, and the initiator (which requires
    // the negotiated exchange) aborts with NoCommonExchange.
    let (addr, server) = serve(carriage(simple_negotiation_se(vec![], only()), false)).await;
    let err = connect_and_settle(&si, addr).await;
    assert!(
        matches!(err, CarriageError::Aborted(CarriageAbort::NoCommonExchange)),
        "{err:?}"
    );
    let log = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(log.verdict, Some(Verdict::Proceed));
    assert!(log.events.iter().any(|e| matches!(
        e,
        SecureEvent::Association(AssociationEvent::AbortIndication { .. })
    )));
}

/// An offerer that offers simpleNegotiationSE and claims, whatever the answer, to have agreed
/// on it.
struct SelfOfferer;

impl ExchangeRole for SelfOfferer {
    fn start(&mut self) -> Step {
        Step::Send(Item::new(
            OFFERED_IDS,
            &NegotiationSei(vec![SIMPLE_NEGOTIATION_SE]),
        ))
    }

    fn on_item(&mut self, _: &Item) -> Step {
        Step::Done(Outcome {
            negotiated: Some(SIMPLE_NEGOTIATION_SE),
            ..Outcome::default()
        })
    }
}

/// A chooser that accepts simpleNegotiationSE whatever was offered.
struct SelfChooser;

impl ExchangeRole for SelfChooser {
    fn on_item(&mut self, _: &Item) -> Step {
        Step::SendLast(
            Item::new(ACCEPTED_IDS, &NegotiationSei(vec![SIMPLE_NEGOTIATION_SE])),
            Outcome {
                negotiated: Some(SIMPLE_NEGOTIATION_SE),
                ..Outcome::default()
            },
        )
    }
}

fn self_negotiation() -> guls_sese::ExchangeDefinition {
    simple_negotiation_definition().roles(|| Box::new(SelfOfferer), || Box::new(SelfChooser))
}

/// Application roles registered under the negotiation's identifier that do agree on
/// simpleNegotiationSE: carriage itself takes that as nothing agreed, on both sides.
#[tokio::test]
async fn roles_agreeing_on_the_negotiation_do_not_loop_in_carriage() {
    let si = SecureInitiator::new(config(), carriage(self_negotiation(), true));

    // Responder requiring an exchange: it rejects with diagnostic 13.
    let (addr, server) = serve(carriage(self_negotiation(), true)).await;
    let err = connect_and_settle(&si, addr).await;
    let CarriageError::Rejected { rejection, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(rejection.diagnostic, diag_13());
    let log = timeout(NET, server).await.unwrap().unwrap();
    assert_eq!(
        log.verdict,
        Some(Verdict::Reject(UserDiagnostic::AuthenticationFailure))
    );

    // Responder requiring none: it accepts; the initiator aborts with NoCommonExchange
    // instead of starting another negotiation.
    let (addr, server) = serve(carriage(self_negotiation(), false)).await;
    let err = connect_and_settle(&si, addr).await;
    assert!(
        matches!(err, CarriageError::Aborted(CarriageAbort::NoCommonExchange)),
        "{err:?}"
    );
    let log = timeout(NET, server).await.unwrap().unwrap();
    let negotiations = log
        .events
        .iter()
        .filter(|e| {
            matches!(e, SecureEvent::Sese(Indication::Transfer(t))
                if t.se_identifier == negotiation_id() && t.start)
        })
        .count();
    assert_eq!(negotiations, 0, "no negotiation started in P-DATA");
}
