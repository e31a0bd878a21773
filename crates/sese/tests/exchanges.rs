//! simpleNegotiationSE and the example exchange (examples/hmac_challenge.rs) end to end.

#[allow(dead_code)]
#[path = "../examples/hmac_challenge.rs"]
mod hmac_challenge;

use std::sync::Arc;

use guls_sese::negotiation::{ACCEPTED_IDS, OFFERED_IDS, simple_negotiation_se};
use guls_sese::{
    Endpoint, EndpointOutput, ExchangeEvent, Failure, Identifier, InvocationId, ItemType,
    NegotiationSei, Oid, Registry, SIMPLE_NEGOTIATION_SE, SeError, SeTransfer, SeseApdu,
    SeseConfig, negotiate,
};

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

/// Delivers every APDU until both sides are quiet; returns (a's events, b's events).
fn pump(
    a: &mut Endpoint,
    b: &mut Endpoint,
    first: EndpointOutput,
) -> (Vec<ExchangeEvent>, Vec<ExchangeEvent>) {
    let (mut ea, mut eb) = (first.events, Vec::new());
    let mut wire: Vec<(bool, Vec<u8>)> = first.send.into_iter().map(|x| (true, x.bytes)).collect();
    while !wire.is_empty() {
        let (to_b, bytes) = wire.remove(0);
        let out = if to_b {
            b.receive(&bytes)
        } else {
            a.receive(&bytes)
        };
        wire.extend(out.send.into_iter().map(|x| (!to_b, x.bytes)));
        if to_b {
            eb.extend(out.events)
        } else {
            ea.extend(out.events)
        }
    }
    (ea, eb)
}

#[test]
fn negotiate_picks_the_first_offered_acceptable() {
    let (x, y, z) = (oid("2.20.4.1"), oid("2.20.4.2"), oid("1.2.3"));
    assert_eq!(
        negotiate(&[x.clone(), y.clone()], &[y.clone(), x.clone()]),
        Some(x.clone())
    );
    assert_eq!(
        negotiate(&[z.clone(), y.clone()], &[x.clone(), y.clone()]),
        Some(y.clone())
    );
    assert_eq!(negotiate(&[z], &[x, y]), None);
}

fn negotiation_run(
    offered: Vec<Oid>,
    acceptable: Vec<Oid>,
) -> (Vec<ExchangeEvent>, Vec<ExchangeEvent>, Vec<Vec<u8>>) {
    let reg = |o: Vec<Oid>, a: Vec<Oid>| {
        Arc::new(Registry::new().with(simple_negotiation_se(o, a)).unwrap())
    };
    let mut a = Endpoint::new(reg(offered, vec![]), SeseConfig::default());
    let mut b = Endpoint::new(reg(vec![], acceptable), SeseConfig::default());
    let first = a
        .initiate(
            &Identifier::Global(SIMPLE_NEGOTIATION_SE),
            InvocationId::Absent,
        )
        .unwrap();
    let first_bytes = first.send.iter().map(|x| x.bytes.clone()).collect();
    let (ea, eb) = pump(&mut a, &mut b, first);
    assert!(a.machine().active().is_empty() && b.machine().active().is_empty());
    (ea, eb, first_bytes)
}

#[test]
fn simple_negotiation_agrees() {
    let two_way = oid("2.20.4.2");
    let ska = oid("2.25.36238538382872986225690784931241271656.2.1");
    let (ea, eb, first) =
        negotiation_run(vec![ska.clone(), two_way.clone()], vec![two_way.clone()]);
    // offeredIds as the first item, startFlag TRUE.
    let SeseApdu::Transfer(t) = SeseApdu::decode(&first[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        t,
        SeTransfer {
            se_identifier: Identifier::Global(SIMPLE_NEGOTIATION_SE),
            item_identifier: OFFERED_IDS,
            item: NegotiationSei(vec![ska, two_way.clone()]).encode(),
            invocation_id: InvocationId::Absent,
            start: true,
            end: false,
        }
    );
    for events in [&ea, &eb] {
        match events.as_slice() {
            [ExchangeEvent::Completed { outcome, .. }] => {
                assert_eq!(outcome.negotiated.as_ref(), Some(&two_way))
            }
            other => panic!("{other:?}"),
        }
    }
    let _ = ACCEPTED_IDS;
}

#[test]
fn simple_negotiation_without_agreement() {
    let (ea, eb, _) = negotiation_run(vec![oid("1.2.3")], vec![oid("2.20.4.2")]);
    for events in [&ea, &eb] {
        assert!(matches!(
            events.as_slice(),
            [ExchangeEvent::Completed { outcome, .. }] if outcome.negotiated.is_none()
        ));
    }
}

#[test]
fn negotiation_sei_codec() {
    let v = NegotiationSei(vec![oid("2.20.4.2"), oid("2.20.4.3")]);
    let bytes = v.encode();
    assert_eq!(
        bytes,
        guls_sese::ber::parse_hex("30 0a 06 03 64 04 02 06 03 64 04 03").unwrap()
    );
    assert_eq!(NegotiationSei::decode(&bytes).unwrap(), v);
    assert!(NegotiationSei::decode(&bytes[..5]).is_err());
    assert!(NegotiationSei::decode(&guls_sese::ber::parse_hex("30 03 02 01 01").unwrap()).is_err());
}

#[test]
fn hmac_example_authenticates_with_the_right_key() {
    let (client, server) = hmac_challenge::run(b"k", b"k");
    assert!(
        matches!(client.as_slice(), [ExchangeEvent::Completed { .. }]),
        "{client:?}"
    );
    match server.as_slice() {
        [ExchangeEvent::Completed { outcome, .. }] => {
            assert_eq!(outcome.peer_identity.as_deref(), Some("alice"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hmac_example_rejects_the_wrong_key() {
    let (client, server) = hmac_challenge::run(b"guess", b"k");
    let failure = SeError::code(Identifier::Local(1));
    assert!(
        matches!(
            server.as_slice(),
            [ExchangeEvent::Failed { failure: Failure::RejectedLocally(e), .. }] if e == &vec![failure.clone()]
        ),
        "{server:?}"
    );
    // The client completed its side, then learns of the rejection by se-u-abort.
    match client.as_slice() {
        [
            ExchangeEvent::Completed { .. },
            ExchangeEvent::Failed {
                failure: Failure::RejectedByPeer(a),
                ..
            },
        ] => {
            assert_eq!(a.item_identifier, Some(3));
            assert_eq!(a.errors, Some(vec![failure]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hmac_example_registry() {
    let def = hmac_challenge::definition("alice", b"k");
    assert_eq!(def.items.len(), 3);
    assert!(def.error_def(&Identifier::Local(1)).is_some());
    let reg = Registry::new().with(def.clone()).unwrap();
    assert!(reg.clone().with(def).is_err(), "identifiers are unique");
}
