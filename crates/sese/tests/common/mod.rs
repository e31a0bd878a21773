//! Cases shared by the vector and asn1tools cross-check tests.
#![allow(dead_code)]

use guls_sese::{
    AbortProblem, GeneralProblem, Identifier, InvocationId, Oid, ProblemCode, SeError, SePAbort,
    SeTransfer, SeUAbort, SeseApdu, TransferProblem,
};

/// The project's arc.
pub const ARC: &str = "2.25.36238538382872986225690784931241271656";

/// Parses hex, ignoring spaces.
pub fn hex(s: &str) -> Vec<u8> {
    guls_sese::ber::parse_hex(s).expect("valid hex")
}

pub fn oid(s: &str) -> Oid {
    s.parse().expect("valid OID")
}

/// `simple` Credentials for alice with password "pw" (X.511 explicit tagging), hand-derived.
pub const ALICE_CREDENTIALS: &str =
    "a0 1c 30 1a a0 12 30 10 31 0e 30 0c 06 03 55 04 03 0c 05 61 6c 69 63 65 a2 04 04 02 70 77";
/// `simple` Credentials for bob, no password, hand-derived.
pub const BOB_CREDENTIALS: &str =
    "a0 14 30 12 a0 10 30 0e 31 0c 30 0a 06 03 55 04 03 0c 03 62 6f 62";

/// GULS-WIRE-NOTES 3.2 worked examples with LL and the item filled in by hand.
pub const HAND_ITEM1: &str = "a0 2d  a0 05 81 03 64 04 02  81 01 01  a2 1e a0 1c 30 1a a0 12 30 10 31 0e 30 0c 06 03 55 04 03 0c 05 61 6c 69 63 65 a2 04 04 02 70 77  84 01 ff";
pub const HAND_ITEM2: &str = "a0 25  a0 05 81 03 64 04 02  81 01 02  a2 16 a0 14 30 12 a0 10 30 0e 31 0c 30 0a 06 03 55 04 03 0c 03 62 6f 62  85 01 ff";
pub const HAND_REJECT: &str = "a1 11  81 01 01  a2 0c 30 0a a0 03 80 01 01  a1 03 02 01 02";
pub const HAND_P_ABORT: &str = "a2 05  a2 03 81 01 01";

fn transfer(
    se: Identifier,
    item_id: i64,
    item: Vec<u8>,
    inv: InvocationId,
    start: bool,
    end: bool,
) -> SeseApdu {
    SeseApdu::Transfer(SeTransfer {
        se_identifier: se,
        item_identifier: item_id,
        item,
        invocation_id: inv,
        start,
        end,
    })
}

/// The named cases; `tests/asn1/crosscheck.py` builds the same values.
pub fn cases() -> Vec<(String, SeseApdu)> {
    let two_way = Identifier::Global(oid("2.20.4.2"));
    let mut v: Vec<(String, SeseApdu)> = vec![
        (
            "twoway-item1".into(),
            transfer(
                two_way.clone(),
                1,
                hex(ALICE_CREDENTIALS),
                InvocationId::Absent,
                true,
                false,
            ),
        ),
        (
            "twoway-item2".into(),
            transfer(
                two_way.clone(),
                2,
                hex(BOB_CREDENTIALS),
                InvocationId::Absent,
                false,
                true,
            ),
        ),
        (
            "twoway-reject".into(),
            SeseApdu::UAbort(SeUAbort {
                invocation_id: InvocationId::Absent,
                item_identifier: Some(1),
                errors: Some(vec![SeError::with_parameter(
                    Identifier::Local(1),
                    hex("020102"),
                )]),
            }),
        ),
        (
            "p-abort-unrecognized-se".into(),
            SeseApdu::PAbort(SePAbort {
                invocation_id: None,
                item_identifier: None,
                problem: ProblemCode::Transfer(TransferProblem::UnrecognizedSecurityExchange),
            }),
        ),
        (
            "transfer-local-invocation".into(),
            transfer(
                Identifier::Local(5),
                3,
                hex("020100"),
                InvocationId::Present(7),
                true,
                true,
            ),
        ),
        (
            "transfer-negotiation".into(),
            transfer(
                Identifier::Global(oid("2.20.4.3")),
                1,
                guls_sese::ItemType::encode(&guls_sese::NegotiationSei(vec![
                    oid("2.20.4.2"),
                    oid(&format!("{ARC}.2.1")),
                ])),
                InvocationId::Present(128),
                true,
                false,
            ),
        ),
        (
            "transfer-arc-identifier".into(),
            transfer(
                Identifier::Global(oid(&format!("{ARC}.9.1"))),
                300,
                guls_sese::ItemType::encode(&guls_sese::OctetString(vec![0; 130])),
                InvocationId::Present(-129),
                false,
                false,
            ),
        ),
        (
            "u-abort-empty".into(),
            SeseApdu::UAbort(SeUAbort::default()),
        ),
        (
            "u-abort-empty-errors".into(),
            SeseApdu::UAbort(SeUAbort {
                invocation_id: InvocationId::Present(300),
                item_identifier: None,
                errors: Some(vec![SeError {
                    code: None,
                    parameter: None,
                }]),
            }),
        ),
        (
            "u-abort-two-errors".into(),
            SeseApdu::UAbort(SeUAbort {
                invocation_id: InvocationId::Present(0),
                item_identifier: Some(3),
                errors: Some(vec![
                    SeError::code(Identifier::Global(oid(&format!("{ARC}.5")))),
                    SeError {
                        code: None,
                        parameter: Some(hex("040178")),
                    },
                ]),
            }),
        ),
        (
            "p-abort-full".into(),
            SeseApdu::PAbort(SePAbort {
                invocation_id: Some(InvocationId::Present(-1)),
                item_identifier: Some(2),
                problem: ProblemCode::Abort(AbortProblem::MistypedErrorParameter),
            }),
        ),
        (
            "p-abort-absent-id".into(),
            SeseApdu::PAbort(SePAbort {
                invocation_id: Some(InvocationId::Absent),
                item_identifier: None,
                problem: ProblemCode::General(GeneralProblem::InvalidApdu),
            }),
        ),
    ];
    for (i, p) in ProblemCode::all().into_iter().enumerate() {
        v.push((
            format!("problem-{i}"),
            SeseApdu::PAbort(SePAbort {
                invocation_id: Some(InvocationId::Present(1)),
                item_identifier: None,
                problem: p,
            }),
        ));
    }
    v
}
