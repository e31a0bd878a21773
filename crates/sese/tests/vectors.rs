//! Codec vectors: the GULS-WIRE-NOTES 3.2 worked examples (LL filled in), leniency, and typed
//! errors with offsets.

mod common;

use common::{HAND_ITEM1, HAND_ITEM2, HAND_P_ABORT, HAND_REJECT, hex};
use guls_sese::ber::{ErrorKind, Layer};
use guls_sese::{
    AbortProblem, GeneralProblem, Identifier, InvocationId, ProblemCode, SeseApdu, TransferProblem,
};

fn case(name: &str) -> SeseApdu {
    common::cases()
        .into_iter()
        .find(|(n, _)| n == name)
        .expect("case")
        .1
}

#[test]
fn worked_examples_decode_and_encode() {
    for (name, hand) in [
        ("twoway-item1", HAND_ITEM1),
        ("twoway-item2", HAND_ITEM2),
        ("twoway-reject", HAND_REJECT),
        ("p-abort-unrecognized-se", HAND_P_ABORT),
    ] {
        let bytes = hex(hand);
        let apdu = SeseApdu::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(apdu, case(name), "{name}");
        assert_eq!(apdu.encode(), bytes, "{name}");
    }
}

#[test]
fn every_case_round_trips() {
    for (name, apdu) in common::cases() {
        let bytes = apdu.encode();
        assert_eq!(SeseApdu::decode(&bytes).expect(&name), apdu, "{name}");
    }
}

#[test]
fn accepts_explicit_defaults_indefinite_lengths_and_any_true() {
    // se-transfer, indefinite outer length, invocationId absent written, startFlag FALSE written,
    // endFlag TRUE as 01, long-form item length.
    let bytes = hex(
        "a0 80  a0 03 80 01 05  81 01 01  a2 81 03 02 01 07  a3 02 81 00  84 01 00  85 01 01  00 00",
    );
    let SeseApdu::Transfer(t) = SeseApdu::decode(&bytes).expect("lenient decode") else {
        panic!("not a transfer");
    };
    assert_eq!(t.se_identifier, Identifier::Local(5));
    assert_eq!(t.item, hex("020107"));
    assert_eq!(t.invocation_id, InvocationId::Absent);
    assert!(!t.start && t.end);
    assert_eq!(
        SeseApdu::Transfer(t).encode(),
        hex("a0 10 a0 03 80 01 05 81 01 01 a2 03 02 01 07 85 01 ff")
    );
}

#[test]
fn open_type_kept_as_received() {
    // The item in the indefinite form stays byte for byte.
    let bytes = hex("a0 11 a0 03 80 01 05 81 01 01 a2 07 30 80 02 01 01 00 00");
    let SeseApdu::Transfer(t) = SeseApdu::decode(&bytes).expect("decode") else {
        panic!("not a transfer");
    };
    assert_eq!(t.item, hex("30 80 02 01 01 00 00"));
}

#[test]
fn structural_errors_are_typed_and_located() {
    let cases: &[(&str, usize)] = &[
        // components out of order (itemIdentifier before seIdentifier)
        ("a0 0a 81 01 01 a0 05 81 03 64 04 02", 5),
        // missing seItem
        ("a0 0a a0 05 81 03 64 04 02 81 01 01", 0),
        // unknown component [6]
        ("a2 08 a2 03 81 01 01 86 01 00", 7),
        // trailing octets after the APDU
        ("a2 05 a2 03 81 01 01 00", 7),
        // not a SESE APDU (a universal SEQUENCE)
        ("30 00", 0),
        // explicit tag with two elements inside
        ("a2 08 a2 06 81 01 01 81 01 01", 7),
        // primitive form for an explicit tag
        ("a2 05 82 03 81 01 01", 2),
        // InvocationId absent with contents
        ("a1 05 a0 03 81 01 00", 4),
        // truncated
        ("a0 04 a0 03 80 01", 2),
    ];
    for (h, offset) in cases {
        let e = SeseApdu::decode(&hex(h)).expect_err(h);
        assert_eq!(e.layer, Layer::Sese, "{h}");
        assert_eq!(e.offset, *offset, "{h}: {e}");
    }
    let e = SeseApdu::decode(&hex("a0 0a a0 05 81 03 64 04 02 81 01 01")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Missing("seItem [2]"));
}

#[test]
fn problem_code_names() {
    assert_eq!(
        ProblemCode::Transfer(TransferProblem::MistypedItem).name(),
        "transfer.mistypedItem"
    );
    assert_eq!(
        ProblemCode::General(GeneralProblem::InvalidApdu).to_string(),
        "general.invalidAPDU"
    );
    assert_eq!(
        ProblemCode::Abort(AbortProblem::from_i64(9)).name(),
        "abort.unknown"
    );
    let names: Vec<&str> = ProblemCode::all().iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "general.invalidAPDU",
            "transfer.duplicateInvocationId",
            "transfer.unrecognizedSecurityExchange",
            "transfer.mistypedItem",
            "transfer.inappropriateInvocationId",
            "transfer.alternatingSequenceError",
            "abort.unrecognizedInvocationId",
            "abort.abortUnexpected",
            "abort.unrecognizedError",
            "abort.unexpectedError",
            "abort.mistypedErrorParameter",
        ]
    );
    // Unknown values survive a round trip.
    let bytes = hex("a2 05 a2 03 81 01 09");
    let apdu = SeseApdu::decode(&bytes).expect("decode");
    assert_eq!(apdu.encode(), bytes);
}

#[test]
fn abstract_syntax_is_arc_1_1() {
    assert_eq!(
        guls_sese::Registry::abstract_syntax().to_string(),
        format!("{}.1.1", common::ARC)
    );
}
