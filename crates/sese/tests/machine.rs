//! The SESE machine: every problem code from a crafted APDU sequence (the se-p-abort bytes and
//! the SE-P-ABORT indication), valid flows, and local requests refused without state change.

mod common;

use std::sync::Arc;

use common::hex;
use guls_sese::{
    AbortProblem as A, AbortSource, ErrorDef, ExchangeDefinition, GeneralProblem, Identifier,
    Indication, Integer, InvocationId, InvocationIdSet, ItemDef, ItemType, OctetString,
    ProblemCode, Received, Registry, RequestError, SeError, SePAbort, SeTransfer, SeUAbort,
    Sequencing, SeseApdu, SeseConfig, SeseMachine, TransferProblem as T,
};

const ALT: Identifier = Identifier::Local(5);
const ARB: Identifier = Identifier::Local(6);

/// An alternating test exchange: item 1 INTEGER (may raise local:1 with an INTEGER parameter),
/// item 2 OCTET STRING (may raise local:2, no parameter), item 3 INTEGER.
fn registry() -> Arc<Registry> {
    let alt = ExchangeDefinition::new(ALT, "alt", Sequencing::Alternating)
        .item(
            ItemDef::new::<Integer>(1, "one")
                .error(ErrorDef::new(Identifier::Local(1), "e1").with_parameter::<Integer>()),
        )
        .item(
            ItemDef::new::<OctetString>(2, "two").error(ErrorDef::new(Identifier::Local(2), "e2")),
        )
        .item(ItemDef::new::<Integer>(3, "three"));
    let arb = ExchangeDefinition::new(ARB, "arb", Sequencing::Arbitrary)
        .item(ItemDef::new::<Integer>(1, "one"))
        .item(ItemDef::new::<Integer>(2, "two"));
    Arc::new(Registry::new().with(alt).unwrap().with(arb).unwrap())
}

fn machine() -> SeseMachine {
    SeseMachine::new(registry(), SeseConfig::default())
}

fn multi() -> SeseMachine {
    let config = SeseConfig {
        invocation_ids: InvocationIdSet::present_range(0, 100),
        ..SeseConfig::default()
    };
    SeseMachine::new(registry(), config)
}

fn int(v: i64) -> Vec<u8> {
    Integer(v).encode()
}

fn tr(
    se: Identifier,
    item: i64,
    value: Vec<u8>,
    inv: InvocationId,
    start: bool,
    end: bool,
) -> SeTransfer {
    SeTransfer {
        se_identifier: se,
        item_identifier: item,
        item: value,
        invocation_id: inv,
        start,
        end,
    }
}

fn bytes(t: SeTransfer) -> Vec<u8> {
    SeseApdu::Transfer(t).encode()
}

fn ua(inv: InvocationId, item: Option<i64>, errors: Option<Vec<SeError>>) -> Vec<u8> {
    SeseApdu::UAbort(SeUAbort {
        invocation_id: inv,
        item_identifier: item,
        errors,
    })
    .encode()
}

/// Checks the reply bytes and the local SE-P-ABORT indication.
fn expect_p_abort(r: Received, problem: ProblemCode, inv: Option<InvocationId>, item: Option<i64>) {
    let expected = SePAbort {
        invocation_id: inv,
        item_identifier: item,
        problem,
    };
    let reply = r.reply.expect("an se-p-abort to send");
    assert_eq!(reply.apdu, SeseApdu::PAbort(expected.clone()));
    assert_eq!(reply.bytes, SeseApdu::PAbort(expected).encode());
    let Indication::PAbort(ind) = r.indication else {
        panic!("expected SE-P-ABORT indication, got {:?}", r.indication);
    };
    assert_eq!(ind.problem, problem);
    assert_eq!(ind.invocation_id, inv);
    assert_eq!(ind.item_identifier, item);
    assert_eq!(ind.source, AbortSource::Local);
    assert!(ind.reason.is_some());
}

fn ok_transfer(r: Received) -> SeTransfer {
    assert!(r.reply.is_none(), "unexpected reply {:?}", r.reply);
    match r.indication {
        Indication::Transfer(t) => t,
        other => panic!("expected SE-TRANSFER indication, got {other:?}"),
    }
}

const ABSENT: InvocationId = InvocationId::Absent;

#[test]
fn general_invalid_apdu() {
    let mut m = machine();
    let r = m.receive(&hex("30 00"));
    assert_eq!(r.reply.as_ref().unwrap().bytes, hex("a2 05 a2 03 80 01 00"));
    expect_p_abort(
        r,
        ProblemCode::General(GeneralProblem::InvalidApdu),
        None,
        None,
    );
}

#[test]
fn transfer_duplicate_invocation_id() {
    let mut m = multi();
    let p1 = InvocationId::Present(1);
    ok_transfer(m.receive(&bytes(tr(ALT, 1, int(1), p1, true, false))));
    let r = m.receive(&bytes(tr(ALT, 1, int(1), p1, true, false)));
    assert_eq!(
        r.reply.as_ref().unwrap().bytes,
        hex("a2 0d a0 03 80 01 01 81 01 01 a2 03 81 01 00")
    );
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::DuplicateInvocationId),
        Some(p1),
        Some(1),
    );
    assert!(m.active().is_empty(), "the named instance ended");
}

#[test]
fn transfer_unrecognized_security_exchange() {
    let mut m = machine();
    let r = m.receive(&bytes(tr(
        Identifier::Local(99),
        1,
        int(1),
        ABSENT,
        true,
        false,
    )));
    // Exactly the GULS-WIRE-NOTES 3.2 example.
    assert_eq!(r.reply.as_ref().unwrap().bytes, hex("a2 05 a2 03 81 01 01"));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::UnrecognizedSecurityExchange),
        None,
        None,
    );

    // An item naming another exchange than its instance's.
    let mut m = machine();
    ok_transfer(m.receive(&bytes(tr(ALT, 1, int(1), ABSENT, true, false))));
    m.transfer_request(tr(
        ALT,
        2,
        OctetString(vec![1]).encode(),
        ABSENT,
        false,
        false,
    ))
    .unwrap();
    let r = m.receive(&bytes(tr(ARB, 1, int(1), ABSENT, false, false)));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::UnrecognizedSecurityExchange),
        Some(ABSENT),
        None,
    );
    assert!(m.active().is_empty());
}

#[test]
fn transfer_mistyped_item() {
    // An item identifier the exchange does not define.
    let mut m = machine();
    let r = m.receive(&bytes(tr(ALT, 9, int(1), ABSENT, true, false)));
    expect_p_abort(r, ProblemCode::Transfer(T::MistypedItem), None, None);
    // A value that does not decode as the item's type (OCTET STRING for INTEGER item 1).
    let r = m.receive(&bytes(tr(
        ALT,
        1,
        OctetString(vec![1]).encode(),
        ABSENT,
        true,
        false,
    )));
    assert_eq!(
        r.reply.as_ref().unwrap().bytes,
        hex("a2 08 81 01 01 a2 03 81 01 02")
    );
    expect_p_abort(r, ProblemCode::Transfer(T::MistypedItem), None, Some(1));
    // Mid-exchange, the instance ends.
    ok_transfer(m.receive(&bytes(tr(ALT, 1, int(1), ABSENT, true, false))));
    m.transfer_request(tr(
        ALT,
        2,
        OctetString(vec![]).encode(),
        ABSENT,
        false,
        false,
    ))
    .unwrap();
    let r = m.receive(&bytes(tr(ALT, 3, hex("0500"), ABSENT, false, false)));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::MistypedItem),
        Some(ABSENT),
        Some(3),
    );
    assert!(m.active().is_empty());
}

#[test]
fn transfer_inappropriate_invocation_id() {
    // Outside the set (only noInvocationId allowed).
    let mut m = machine();
    let r = m.receive(&bytes(tr(
        ALT,
        1,
        int(1),
        InvocationId::Present(3),
        true,
        false,
    )));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::InappropriateInvocationId),
        None,
        Some(1),
    );
    // Outside the range.
    let mut m = multi();
    let r = m.receive(&bytes(tr(
        ALT,
        1,
        int(1),
        InvocationId::Present(500),
        true,
        false,
    )));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::InappropriateInvocationId),
        None,
        Some(1),
    );
    let r = m.receive(&bytes(tr(ALT, 1, int(1), ABSENT, true, false)));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::InappropriateInvocationId),
        None,
        Some(1),
    );
    // No startFlag on an id that names no active exchange.
    let r = m.receive(&bytes(tr(
        ALT,
        1,
        int(1),
        InvocationId::Present(4),
        false,
        false,
    )));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::InappropriateInvocationId),
        None,
        Some(1),
    );
    // After the end flag the instance is no longer active.
    let mut m = machine();
    ok_transfer(m.receive(&bytes(tr(ARB, 1, int(1), ABSENT, true, true))));
    let r = m.receive(&bytes(tr(ARB, 2, int(1), ABSENT, false, false)));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::InappropriateInvocationId),
        Some(ABSENT),
        Some(2),
    );
    assert!(
        m.just_completed().is_empty(),
        "the p-abort ended the just-completed instance"
    );
}

#[test]
fn transfer_alternating_sequence_error() {
    let mut m = machine();
    ok_transfer(m.receive(&bytes(tr(ALT, 1, int(1), ABSENT, true, false))));
    let r = m.receive(&bytes(tr(ALT, 3, int(2), ABSENT, false, false)));
    assert_eq!(
        r.reply.as_ref().unwrap().bytes,
        hex("a2 0c a0 02 81 00 81 01 03 a2 03 81 01 04")
    );
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::AlternatingSequenceError),
        Some(ABSENT),
        Some(3),
    );
    assert!(m.active().is_empty());
    // Arbitrary exchanges take several items in a row, both ways.
    let mut m = machine();
    ok_transfer(m.receive(&bytes(tr(ARB, 1, int(1), ABSENT, true, false))));
    ok_transfer(m.receive(&bytes(tr(ARB, 2, int(2), ABSENT, false, false))));
    m.transfer_request(tr(ARB, 1, int(3), ABSENT, false, false))
        .unwrap();
    m.transfer_request(tr(ARB, 1, int(4), ABSENT, false, false))
        .unwrap();
    ok_transfer(m.receive(&bytes(tr(ARB, 2, int(5), ABSENT, false, true))));
    assert_eq!(m.just_completed(), vec![(ABSENT, ARB)]);
}

#[test]
fn abort_unrecognized_invocation_id() {
    let mut m = multi();
    let r = m.receive(&ua(InvocationId::Present(42), None, None));
    assert_eq!(r.reply.as_ref().unwrap().bytes, hex("a2 05 a2 03 82 01 00"));
    expect_p_abort(
        r,
        ProblemCode::Abort(A::UnrecognizedInvocationId),
        None,
        None,
    );
    let mut m = machine();
    let r = m.receive(&ua(ABSENT, Some(1), None));
    expect_p_abort(
        r,
        ProblemCode::Abort(A::UnrecognizedInvocationId),
        None,
        None,
    );
}

/// A machine that has sent item 1 of the alternating exchange.
fn sent_item1() -> SeseMachine {
    let mut m = machine();
    m.transfer_request(tr(ALT, 1, int(1), ABSENT, true, false))
        .unwrap();
    m
}

#[test]
fn abort_abort_unexpected() {
    let mut m = sent_item1();
    let r = m.receive(&ua(ABSENT, Some(2), None));
    assert_eq!(
        r.reply.as_ref().unwrap().bytes,
        hex("a2 09 a0 02 81 00 a2 03 82 01 01")
    );
    expect_p_abort(
        r,
        ProblemCode::Abort(A::AbortUnexpected),
        Some(ABSENT),
        None,
    );
    assert!(m.active().is_empty());
}

#[test]
fn abort_unrecognized_error() {
    let mut m = sent_item1();
    let r = m.receive(&ua(
        ABSENT,
        Some(1),
        Some(vec![SeError::code(Identifier::Local(77))]),
    ));
    expect_p_abort(
        r,
        ProblemCode::Abort(A::UnrecognizedError),
        Some(ABSENT),
        None,
    );
}

#[test]
fn abort_unexpected_error() {
    let mut m = sent_item1();
    let r = m.receive(&ua(
        ABSENT,
        Some(1),
        Some(vec![SeError::code(Identifier::Local(2))]),
    ));
    expect_p_abort(
        r,
        ProblemCode::Abort(A::UnexpectedError),
        Some(ABSENT),
        None,
    );
}

#[test]
fn abort_mistyped_error_parameter() {
    let mut m = sent_item1();
    let bad = SeError::with_parameter(Identifier::Local(1), OctetString(vec![1]).encode());
    let r = m.receive(&ua(ABSENT, Some(1), Some(vec![bad])));
    expect_p_abort(
        r,
        ProblemCode::Abort(A::MistypedErrorParameter),
        Some(ABSENT),
        None,
    );
    // A parameter without an error code cannot be typed either.
    let mut m = sent_item1();
    let bad = SeError {
        code: None,
        parameter: Some(int(1)),
    };
    let r = m.receive(&ua(ABSENT, Some(1), Some(vec![bad])));
    expect_p_abort(
        r,
        ProblemCode::Abort(A::MistypedErrorParameter),
        Some(ABSENT),
        None,
    );
}

#[test]
fn every_problem_code_is_exercised() {
    // The tests above cover ProblemCode::all(); this guards against a new code being added
    // without a test.
    assert_eq!(ProblemCode::all().len(), 11);
}

#[test]
fn valid_user_abort_with_errors_and_after_end() {
    let mut m = sent_item1();
    let good = SeError::with_parameter(Identifier::Local(1), int(2));
    let r = m.receive(&ua(ABSENT, Some(1), Some(vec![good.clone()])));
    assert!(r.reply.is_none());
    assert!(matches!(r.indication, Indication::UAbort(ref a) if a.errors == Some(vec![good])));
    assert!(m.active().is_empty());
    // Just completed: the last item had endFlag; an abort naming it is still accepted.
    let mut m = machine();
    m.transfer_request(tr(ALT, 1, int(1), ABSENT, true, false))
        .unwrap();
    ok_transfer(m.receive(&bytes(tr(
        ALT,
        2,
        OctetString(vec![]).encode(),
        ABSENT,
        false,
        true,
    ))));
    assert_eq!(m.just_completed(), vec![(ABSENT, ALT)]);
    let out = m
        .u_abort_request(SeUAbort {
            invocation_id: ABSENT,
            item_identifier: Some(2),
            errors: Some(vec![SeError::code(Identifier::Local(2))]),
        })
        .unwrap();
    assert_eq!(out.bytes, hex("a1 0c 81 01 02 a2 07 30 05 a0 03 80 01 02"));
    assert!(m.just_completed().is_empty());
}

#[test]
fn received_p_abort_ends_the_named_instance() {
    let mut m = multi();
    m.transfer_request(tr(ALT, 1, int(1), InvocationId::Present(1), true, false))
        .unwrap();
    m.transfer_request(tr(ALT, 1, int(1), InvocationId::Present(2), true, false))
        .unwrap();
    let r = m.receive(&hex("a2 0d a0 03 80 01 02 81 01 01 a2 03 81 01 02"));
    assert!(r.reply.is_none());
    let Indication::PAbort(p) = r.indication else {
        panic!()
    };
    assert_eq!(p.source, AbortSource::Peer);
    assert_eq!(p.problem, ProblemCode::Transfer(T::MistypedItem));
    assert_eq!(m.active(), vec![(InvocationId::Present(1), ALT)]);
    // Without an invocation id, nothing ends.
    let r = m.receive(&hex("a2 05 a2 03 80 01 00"));
    assert!(r.reply.is_none());
    assert_eq!(m.active().len(), 1);
}

#[test]
fn several_exchanges_at_once() {
    let mut a = multi();
    let mut b = multi();
    let (p1, p2) = (InvocationId::Present(1), InvocationId::Present(2));
    let x = a
        .transfer_request(tr(ALT, 1, int(1), p1, true, false))
        .unwrap();
    let y = a
        .transfer_request(tr(ARB, 1, int(1), p2, true, false))
        .unwrap();
    ok_transfer(b.receive(&x.bytes));
    ok_transfer(b.receive(&y.bytes));
    let z = b
        .transfer_request(tr(ARB, 2, int(2), p2, false, true))
        .unwrap();
    let w = b
        .transfer_request(tr(ALT, 2, OctetString(vec![]).encode(), p1, false, false))
        .unwrap();
    ok_transfer(a.receive(&z.bytes));
    ok_transfer(a.receive(&w.bytes));
    assert_eq!(a.active(), b.active());
    assert_eq!(a.active(), vec![(p1, ALT)]);
    assert_eq!(a.just_completed(), vec![(p2, ARB)]);
}

#[test]
fn local_requests_refused_without_state_change() {
    let mut m = machine();
    m.transfer_request(tr(ALT, 1, int(1), ABSENT, true, false))
        .unwrap();
    let before = (m.active(), m.just_completed());
    let cases: Vec<(Result<_, RequestError>, ProblemCode)> = vec![
        (
            m.transfer_request(tr(
                ALT,
                2,
                OctetString(vec![]).encode(),
                ABSENT,
                false,
                false,
            )),
            ProblemCode::Transfer(T::AlternatingSequenceError),
        ),
        (
            m.transfer_request(tr(ALT, 1, int(1), ABSENT, true, false)),
            ProblemCode::Transfer(T::DuplicateInvocationId),
        ),
        (
            m.transfer_request(tr(ALT, 1, int(1), InvocationId::Present(1), true, false)),
            ProblemCode::Transfer(T::InappropriateInvocationId),
        ),
        (
            m.transfer_request(tr(ARB, 1, int(1), ABSENT, false, false)),
            ProblemCode::Transfer(T::UnrecognizedSecurityExchange),
        ),
        (
            m.u_abort_request(SeUAbort {
                invocation_id: InvocationId::Present(1),
                ..SeUAbort::default()
            }),
            ProblemCode::Abort(A::UnrecognizedInvocationId),
        ),
        (
            m.u_abort_request(SeUAbort {
                item_identifier: Some(1),
                ..SeUAbort::default()
            }),
            ProblemCode::Abort(A::AbortUnexpected),
        ),
    ];
    for (result, problem) in cases {
        assert_eq!(result.expect_err("refused").problem(), problem);
    }
    let mut fresh = machine();
    let cases: Vec<(Result<_, RequestError>, ProblemCode)> = vec![
        (
            fresh.transfer_request(tr(Identifier::Local(9), 1, int(1), ABSENT, true, false)),
            ProblemCode::Transfer(T::UnrecognizedSecurityExchange),
        ),
        (
            fresh.transfer_request(tr(ALT, 7, int(1), ABSENT, true, false)),
            ProblemCode::Transfer(T::MistypedItem),
        ),
        (
            fresh.transfer_request(tr(ALT, 1, hex("0400"), ABSENT, true, false)),
            ProblemCode::Transfer(T::MistypedItem),
        ),
        (
            fresh.transfer_request(tr(ALT, 1, int(1), ABSENT, false, false)),
            ProblemCode::Transfer(T::InappropriateInvocationId),
        ),
    ];
    for (result, problem) in cases {
        assert_eq!(result.expect_err("refused").problem(), problem);
    }
    assert!(fresh.active().is_empty());
    assert_eq!((m.active(), m.just_completed()), before);
    // The peer's item 2 arrives; a local abort with errors item 2 may not raise is refused.
    ok_transfer(m.receive(&bytes(tr(
        ALT,
        2,
        OctetString(vec![]).encode(),
        ABSENT,
        false,
        false,
    ))));
    let before = m.active();
    for (errors, problem) in [
        (
            vec![SeError::code(Identifier::Local(1))],
            A::UnexpectedError,
        ),
        (
            vec![SeError::code(Identifier::Local(8))],
            A::UnrecognizedError,
        ),
        (
            vec![SeError::with_parameter(Identifier::Local(2), int(1))],
            A::MistypedErrorParameter,
        ),
    ] {
        let e = m
            .u_abort_request(SeUAbort {
                invocation_id: ABSENT,
                item_identifier: Some(2),
                errors: Some(errors),
            })
            .expect_err("refused");
        assert_eq!(e.problem(), ProblemCode::Abort(problem));
    }
    assert_eq!(m.active(), before);
}

#[test]
fn too_many_exchanges() {
    let config = SeseConfig {
        invocation_ids: InvocationIdSet::present_range(0, 100),
        max_active: 2,
        max_completed: 1,
    };
    let mut m = SeseMachine::new(registry(), config);
    for i in 0..2 {
        ok_transfer(m.receive(&bytes(tr(
            ALT,
            1,
            int(1),
            InvocationId::Present(i),
            true,
            false,
        ))));
    }
    let r = m.receive(&bytes(tr(
        ALT,
        1,
        int(1),
        InvocationId::Present(5),
        true,
        false,
    )));
    expect_p_abort(
        r,
        ProblemCode::Transfer(T::InappropriateInvocationId),
        None,
        Some(1),
    );
    assert!(matches!(
        m.transfer_request(tr(ALT, 1, int(1), InvocationId::Present(6), true, false)),
        Err(RequestError::TooManyExchanges { limit: 2 })
    ));
    // Just-completed instances are bounded too.
    for i in 10..13 {
        m.transfer_request(tr(ARB, 1, int(1), InvocationId::Present(i), true, false))
            .map(|_| ())
            .unwrap_or(());
    }
    assert!(m.just_completed().len() <= 1);
}
