//! Property tests: the decoder never panics, the codec round-trips, and arbitrary interleavings
//! of valid and invalid SESE APDUs and requests never panic and always leave a defined state.

use std::sync::Arc;

use guls_sese::ber::Layer;
use guls_sese::{
    AbortProblem, ErrorDef, ExchangeDefinition, GeneralProblem, Identifier, Indication, Integer,
    InvocationId, InvocationIdSet, ItemDef, ItemType, OctetString, Oid, ProblemCode, Registry,
    SeError, SePAbort, SeTransfer, SeUAbort, Sequencing, SeseApdu, SeseConfig, SeseMachine,
    TransferProblem,
};
use proptest::prelude::*;

fn identifier() -> impl Strategy<Value = Identifier> {
    prop_oneof![
        any::<i64>().prop_map(Identifier::Local),
        (
            0u128..3,
            0u128..40,
            proptest::collection::vec(any::<u128>(), 0..4)
        )
            .prop_map(|(a, b, rest)| {
                let mut arcs = vec![a, b];
                arcs.extend(rest);
                Identifier::Global(Oid::from_arcs(&arcs).unwrap())
            }),
    ]
}

fn invocation() -> impl Strategy<Value = InvocationId> {
    prop_oneof![
        Just(InvocationId::Absent),
        any::<i64>().prop_map(InvocationId::Present)
    ]
}

/// A complete TLV (an INTEGER, an OCTET STRING, or a NULL).
fn tlv() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|v| Integer(v).encode()),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|v| OctetString(v).encode()),
        Just(vec![0x05, 0x00]),
    ]
}

fn problem() -> impl Strategy<Value = ProblemCode> {
    prop_oneof![
        any::<i64>().prop_map(|v| ProblemCode::General(GeneralProblem::from_i64(v))),
        any::<i64>().prop_map(|v| ProblemCode::Transfer(TransferProblem::from_i64(v))),
        any::<i64>().prop_map(|v| ProblemCode::Abort(AbortProblem::from_i64(v))),
    ]
}

fn apdu() -> impl Strategy<Value = SeseApdu> {
    let error = (
        proptest::option::of(identifier()),
        proptest::option::of(tlv()),
    )
        .prop_map(|(code, parameter)| SeError { code, parameter });
    prop_oneof![
        (
            identifier(),
            any::<i64>(),
            tlv(),
            invocation(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |(se_identifier, item_identifier, item, invocation_id, start, end)| {
                    SeseApdu::Transfer(SeTransfer {
                        se_identifier,
                        item_identifier,
                        item,
                        invocation_id,
                        start,
                        end,
                    })
                }
            ),
        (
            invocation(),
            proptest::option::of(any::<i64>()),
            proptest::option::of(proptest::collection::vec(error, 0..4))
        )
            .prop_map(|(invocation_id, item_identifier, errors)| {
                SeseApdu::UAbort(SeUAbort {
                    invocation_id,
                    item_identifier,
                    errors,
                })
            }),
        (
            proptest::option::of(invocation()),
            proptest::option::of(any::<i64>()),
            problem()
        )
            .prop_map(|(invocation_id, item_identifier, problem)| {
                SeseApdu::PAbort(SePAbort {
                    invocation_id,
                    item_identifier,
                    problem,
                })
            }),
    ]
}

proptest! {
    #[test]
    fn decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        match SeseApdu::decode(&data) {
            Ok(apdu) => {
                let canonical = apdu.encode();
                let again = SeseApdu::decode(&canonical).expect("canonical decodes");
                prop_assert_eq!(&again, &apdu);
                prop_assert_eq!(again.encode(), canonical);
            }
            Err(e) => {
                prop_assert_eq!(e.layer, Layer::Sese);
                prop_assert!(e.offset <= data.len());
            }
        }
    }

    #[test]
    fn codec_round_trip(a in apdu()) {
        let bytes = a.encode();
        prop_assert_eq!(SeseApdu::decode(&bytes).expect("decodes"), a);
    }

    #[test]
    fn mutated_apdus_never_panic(a in apdu(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut bytes = a.encode();
        for (i, b) in flips {
            let n = bytes.len();
            bytes[i % n] ^= b;
        }
        let _ = SeseApdu::decode(&bytes);
        let _ = machine().receive(&bytes);
    }
}

const ALT: Identifier = Identifier::Local(5);
const ARB: Identifier = Identifier::Local(6);

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

fn config() -> SeseConfig {
    SeseConfig {
        invocation_ids: InvocationIdSet {
            absent: true,
            present: Some((0, 2)),
        },
        max_active: 2,
        max_completed: 2,
    }
}

fn machine() -> SeseMachine {
    SeseMachine::new(registry(), config())
}

/// One step drawn from small domains, so that valid and invalid steps both occur often.
#[derive(Debug, Clone)]
enum Op {
    Transfer {
        se: u8,
        item: i64,
        value: u8,
        inv: i64,
        start: bool,
        end: bool,
    },
    UAbort {
        inv: i64,
        item: Option<i64>,
        error: Option<(i64, u8)>,
    },
    Garbage(Vec<u8>),
}

fn small_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0i64..5, 0u8..3, -1i64..4, any::<bool>(), any::<bool>()).prop_map(
            |(se, item, value, inv, start, end)| Op::Transfer { se, item, value, inv, start, end }
        ),
        1 => (-1i64..4, proptest::option::of(0i64..4), proptest::option::of((0i64..4, 0u8..3)))
            .prop_map(|(inv, item, error)| Op::UAbort { inv, item, error }),
        1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(Op::Garbage),
    ]
}

fn value(v: u8) -> Vec<u8> {
    match v {
        0 => Integer(7).encode(),
        1 => OctetString(vec![1, 2]).encode(),
        _ => vec![0x05, 0x00],
    }
}

fn inv(v: i64) -> InvocationId {
    if v < 0 {
        InvocationId::Absent
    } else {
        InvocationId::Present(v)
    }
}

fn to_apdu(op: &Op) -> Option<SeseApdu> {
    match op {
        Op::Transfer {
            se,
            item,
            value: v,
            inv: i,
            start,
            end,
        } => Some(SeseApdu::Transfer(SeTransfer {
            se_identifier: [ALT, ARB, Identifier::Local(9)][*se as usize].clone(),
            item_identifier: *item,
            item: value(*v),
            invocation_id: inv(*i),
            start: *start,
            end: *end,
        })),
        Op::UAbort {
            inv: i,
            item,
            error,
        } => Some(SeseApdu::UAbort(SeUAbort {
            invocation_id: inv(*i),
            item_identifier: *item,
            errors: error.map(|(code, p)| {
                vec![SeError {
                    code: Some(Identifier::Local(code)),
                    parameter: (p > 0).then(|| value(p - 1)),
                }]
            }),
        })),
        Op::Garbage(_) => None,
    }
}

fn assert_defined(m: &SeseMachine) {
    assert!(m.active().len() <= config().max_active);
    assert!(m.just_completed().len() <= config().max_completed);
    for (id, _) in m.active().iter().chain(m.just_completed().iter()) {
        assert!(config().invocation_ids.contains(*id));
    }
}

proptest! {
    /// Whatever arrives, each APDU gives exactly one indication, an se-p-abort reply exactly
    /// when a violation was detected locally, and the state stays within its limits.
    #[test]
    fn machine_survives_any_interleaving(ops in proptest::collection::vec((any::<bool>(), small_op()), 0..60)) {
        let mut m = machine();
        for (local, op) in ops {
            match (local, to_apdu(&op), &op) {
                (true, Some(SeseApdu::Transfer(t)), _) => {
                    let before = (m.active(), m.just_completed());
                    if m.transfer_request(t).is_err() {
                        prop_assert_eq!((m.active(), m.just_completed()), before);
                    }
                }
                (true, Some(SeseApdu::UAbort(a)), _) => {
                    let before = (m.active(), m.just_completed());
                    if m.u_abort_request(a).is_err() {
                        prop_assert_eq!((m.active(), m.just_completed()), before);
                    }
                }
                (_, apdu, op) => {
                    let bytes = match (apdu, op) {
                        (Some(a), _) => a.encode(),
                        (None, Op::Garbage(g)) => g.clone(),
                        _ => unreachable!(),
                    };
                    let r = m.receive(&bytes);
                    match (&r.indication, &r.reply) {
                        (Indication::PAbort(p), Some(reply)) => {
                            prop_assert_eq!(p.source, guls_sese::AbortSource::Local);
                            prop_assert!(matches!(SeseApdu::decode(&reply.bytes), Ok(SeseApdu::PAbort(_))));
                        }
                        (Indication::PAbort(p), None) => prop_assert_eq!(p.source, guls_sese::AbortSource::Peer),
                        (_, None) => {}
                        (i, Some(_)) => prop_assert!(false, "reply with {:?}", i),
                    }
                }
            }
            assert_defined(&m);
        }
    }

    /// Two machines exchanging only what their requests produced stay in step: no violation is
    /// ever detected and both hold the same instances.
    #[test]
    fn paired_machines_agree(ops in proptest::collection::vec((any::<bool>(), small_op()), 0..80)) {
        let (mut a, mut b) = (machine(), machine());
        for (a_sends, op) in ops {
            let (from, to) = if a_sends { (&mut a, &mut b) } else { (&mut b, &mut a) };
            let sent = match to_apdu(&op) {
                Some(SeseApdu::Transfer(t)) => from.transfer_request(t).ok(),
                Some(SeseApdu::UAbort(u)) => from.u_abort_request(u).ok(),
                _ => None,
            };
            if let Some(out) = sent {
                let r = to.receive(&out.bytes);
                prop_assert!(r.reply.is_none(), "violation on valid traffic: {:?}", r.indication);
            }
            prop_assert_eq!(a.active(), b.active());
            prop_assert_eq!(a.just_completed(), b.just_completed());
        }
    }
}
