//! `guls decode` shows SESE APDUs wherever the GULS profile carries them (ARCHITECTURE.md
//! section 4.2): the AARQ/AARE authentication value (`external`), ACSE user-information and
//! P-DATA in the SESE presentation context, learned from the CP or named with `--sese-pcid`.
//! Items and error parameters are shown by length only.

use std::process::{Command, Output};

use guls::dissect::{DecodeFrom, DissectOptions, dissect_input, dissect_input_with};
use guls_acse::{
    Aare, Aarq, Abrt, AcseRequirements, Apdu, AuthenticationValue, Rlrq, SecretExternal,
    UserDiagnostic,
};
use guls_ber::{External, known};
use guls_presentation::{self as pres, ContextDefinition, ContextResult, Cp, Cpa, EncodeStyle};
use guls_presentation::{Abort, Aru, UserData};
use guls_sese::{
    Identifier, InvocationId, Oid, ProblemCode, SeError, SePAbort, SeTransfer, SeUAbort, SeseApdu,
    TransferProblem,
};
use guls_session::{
    self as ses, Accept, Connect, ConnectAcceptItem, ConnectUserData, Finish, FunctionalUnits,
    Spdu, TransportDisconnect,
};
use guls_transport::{TpduSize, encode_data_frames};
use serde_json::{Value, json};

const GUL: &str = env!("CARGO_BIN_EXE_guls");

const ARC: &str = "2.25.36238538382872986225690784931241271656";
const ACSE_PCID: i64 = 1;
const APP_PCID: i64 = 3;
const SESE_PCID: i64 = 5;

/// The item contents: none of them may appear in any output, in text or in hex.
const SECRETS: &[&[u8]] = &[
    b"SECRET-ITEM-AARQ",
    b"SECRET-ITEM-AARE",
    b"SECRET-ITEM-TD",
    b"SECRET-ITEM-RLRQ",
    b"SECRET-ERROR-PARAM",
];

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

/// An OCTET STRING TLV (the item values of these tests).
fn octets(content: &[u8]) -> Vec<u8> {
    let mut v = vec![0x04, content.len() as u8];
    v.extend_from_slice(content);
    v
}

fn transfer(
    exchange: Identifier,
    item: i64,
    content: &[u8],
    invocation: InvocationId,
    start: bool,
    end: bool,
) -> Vec<u8> {
    SeseApdu::Transfer(SeTransfer {
        se_identifier: exchange,
        item_identifier: item,
        item: octets(content),
        invocation_id: invocation,
        start,
        end,
    })
    .encode()
}

fn two_way() -> Identifier {
    Identifier::Global(oid("2.20.4.2"))
}

/// The EXTERNAL of an authentication value or user-information in the SESE context.
fn sese_external(apdu: Vec<u8>) -> External {
    External::single_asn1(SESE_PCID, apdu)
}

fn frame(tsdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_data_frames(tsdu, TpduSize::S8192, &mut out);
    out
}

fn spdu(s: Spdu) -> Vec<u8> {
    ses::encode_spdu(&s).expect("SPDU encodes")
}

fn acse(apdu: &Apdu) -> UserData {
    UserData::single_asn1(ACSE_PCID, apdu.encode())
}

fn demo_context() -> Oid {
    oid(&format!("{ARC}.4.1"))
}

/// CN + CP (ACSE, application and SESE contexts) + AARQ whose calling-authentication-value is
/// an `external` carrying the first se-transfer (start).
fn cn_aarq() -> Vec<u8> {
    let mut aarq = Aarq::new(demo_context());
    aarq.sender_acse_requirements = Some(AcseRequirements::authentication());
    aarq.mechanism_name = Some(oid("2.20.4.2"));
    aarq.calling_authentication_value = Some(AuthenticationValue::External(SecretExternal::new(
        sese_external(transfer(
            two_way(),
            1,
            b"SECRET-ITEM-AARQ",
            InvocationId::Absent,
            true,
            false,
        )),
    )));
    let cp = Cp {
        calling_selector: Some(vec![0, 0, 0, 1]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: vec![
            ContextDefinition {
                id: ACSE_PCID,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![known::BER],
            },
            ContextDefinition {
                id: APP_PCID,
                abstract_syntax: oid(&format!("{ARC}.4.2")),
                transfer_syntaxes: vec![known::BER],
            },
            ContextDefinition {
                id: SESE_PCID,
                abstract_syntax: oid(&format!("{ARC}.1.1")),
                transfer_syntaxes: vec![known::BER],
            },
        ],
        user_data: Some(acse(&Apdu::Aarq(aarq))),
        ..Cp::default()
    };
    spdu(Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits(0x0002)),
        user_data: Some(
            ConnectUserData::new(pres::encode_cp(&cp, EncodeStyle::Canonical)).unwrap(),
        ),
        ..Connect::default()
    }))
}

fn ac(aare: Aare) -> Vec<u8> {
    let cpa = Cpa {
        responding_selector: Some(vec![0, 0, 0, 1]),
        results: vec![ContextResult::accept(known::BER); 3],
        user_data: Some(acse(&Apdu::Aare(aare))),
        ..Cpa::default()
    };
    spdu(Spdu::Accept(Accept {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits(0x0002)),
        user_data: Some(pres::encode_cpa(&cpa, EncodeStyle::Canonical)),
        ..Accept::default()
    }))
}

/// AC + CPA + AARE accepted whose responding-authentication-value carries the responder's
/// se-transfer (end).
fn ac_aare_accepted() -> Vec<u8> {
    let mut aare = Aare::accepted(demo_context());
    aare.mechanism_name = Some(oid("2.20.4.2"));
    aare.responding_authentication_value = Some(AuthenticationValue::External(
        SecretExternal::new(sese_external(transfer(
            two_way(),
            2,
            b"SECRET-ITEM-AARE",
            InvocationId::Absent,
            false,
            true,
        ))),
    ));
    ac(aare)
}

/// AC + CPA + AARE rejected (authentication-failure) carrying an se-p-abort.
fn ac_aare_rejected() -> Vec<u8> {
    let mut aare = Aare::rejected_by_user(demo_context(), UserDiagnostic::AuthenticationFailure);
    aare.responding_authentication_value = Some(AuthenticationValue::External(
        SecretExternal::new(sese_external(
            SeseApdu::PAbort(SePAbort {
                invocation_id: None,
                item_identifier: Some(1),
                problem: ProblemCode::Transfer(TransferProblem::MistypedItem),
            })
            .encode(),
        )),
    ));
    ac(aare)
}

/// The TD PPDU (a TSDU: GT + DT) of one PDV in `pcid`.
fn td(pcid: i64, value: Vec<u8>) -> Vec<u8> {
    ses::encode_data_tsdu(&pres::encode_td(
        &UserData::single_asn1(pcid, value),
        EncodeStyle::Canonical,
    ))
}

/// A TD with an se-transfer in the SESE context (a local exchange, invocation 42).
fn td_transfer_apdu() -> Vec<u8> {
    transfer(
        Identifier::Local(7),
        3,
        b"SECRET-ITEM-TD",
        InvocationId::Present(42),
        false,
        false,
    )
}

/// FN + RLRQ with an se-transfer in user-information.
fn fn_rlrq() -> Vec<u8> {
    let mut rlrq = Rlrq::normal();
    rlrq.user_information = vec![sese_external(transfer(
        Identifier::Local(7),
        4,
        b"SECRET-ITEM-RLRQ",
        InvocationId::Present(42),
        false,
        true,
    ))];
    spdu(Spdu::Finish(Finish {
        user_data: Some(pres::encode_release_user_data(
            &acse(&Apdu::Rlrq(rlrq)),
            EncodeStyle::Canonical,
        )),
        ..Finish::default()
    }))
}

/// AB + ARU + ABRT whose user-information carries an se-u-abort with two errors.
fn ab_abrt() -> Vec<u8> {
    let mut abrt = Abrt::user();
    abrt.user_information = vec![sese_external(
        SeseApdu::UAbort(SeUAbort {
            invocation_id: InvocationId::Present(9),
            item_identifier: Some(2),
            errors: Some(vec![
                SeError::with_parameter(
                    Identifier::Global(oid("2.20.4.2.1")),
                    octets(b"SECRET-ERROR-PARAM"),
                ),
                SeError::code(Identifier::Local(3)),
            ]),
        })
        .encode(),
    )];
    let aru = Abort::Aru(Aru {
        contexts: vec![],
        user_data: Some(acse(&Apdu::Abrt(abrt))),
    });
    spdu(Spdu::Abort(ses::Abort {
        transport_disconnect: Some(TransportDisconnect(0x03)),
        user_data: Some(pres::encode_abort(&aru, EncodeStyle::Canonical)),
        ..ses::Abort::default()
    }))
}

/// The whole exchange as one TPKT stream: the CP teaches the SESE context.
fn stream() -> Vec<u8> {
    [
        frame(&cn_aarq()),
        frame(&ac_aare_accepted()),
        frame(&td(SESE_PCID, td_transfer_apdu())),
        frame(&fn_rlrq()),
        frame(&ac_aare_rejected()),
        frame(&ab_abrt()),
    ]
    .concat()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run(args: &[&str]) -> Output {
    Command::new(GUL).args(args).output().expect("guls runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn assert_no_secrets(output: &str) {
    for s in SECRETS {
        let text = String::from_utf8_lossy(s);
        assert!(!output.contains(&*text), "{text} leaked: {output}");
        assert!(
            !output.to_lowercase().contains(&to_hex(s)),
            "{text} leaked in hex: {output}"
        );
    }
}

#[test]
fn every_carrier_in_a_stream_that_names_the_sese_context() {
    let input = to_hex(&stream());
    let out = run(&["decode", "--format", "json", "--hex", &input]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_no_secrets(&stdout);
    let v = json_of(&out);
    let units = v.as_array().unwrap();
    assert_eq!(units.len(), 6, "{v:#}");

    // CN + CP + AARQ: the first item, in the calling authentication value.
    let cn = &units[0];
    assert_eq!(
        cn["presentation"]["contexts"][2]["abstract_syntax"],
        format!("{ARC}.1.1")
    );
    assert_eq!(cn["acse"]["type"], "AARQ");
    assert_eq!(cn["acse"]["mechanism_name"], "2.20.4.2");
    assert_eq!(cn["acse"]["authentication_value"]["kind"], "external");
    let item_len = octets(b"SECRET-ITEM-AARQ").len();
    assert_eq!(
        cn["sese"],
        json!([{
            "type": "se-transfer",
            "exchange": "2.20.4.2",
            "item": 1,
            "start": true,
            "end": false,
            "invocation": null,
            "carrier": "aarq-authentication-value",
            "item_length": item_len,
        }])
    );

    // AC + CPA + AARE accepted: the responder's item, end of the exchange.
    let ac = &units[1];
    assert_eq!(ac["acse"]["type"], "AARE");
    assert_eq!(ac["acse"]["result"], "accepted");
    assert_eq!(
        ac["sese"],
        json!([{
            "type": "se-transfer",
            "exchange": "2.20.4.2",
            "item": 2,
            "start": false,
            "end": true,
            "invocation": null,
            "carrier": "aare-authentication-value",
            "item_length": octets(b"SECRET-ITEM-AARE").len(),
        }])
    );

    // TD: a PDV in the SESE context, a local exchange with an invocation id.
    let data = &units[2];
    assert_eq!(data["presentation"]["type"], "TD");
    assert_eq!(data["presentation"]["user_data"][0]["pcid"], SESE_PCID);
    assert_eq!(
        data["sese"],
        json!([{
            "type": "se-transfer",
            "exchange": 7,
            "item": 3,
            "start": false,
            "end": false,
            "invocation": 42,
            "carrier": "p-data",
            "item_length": octets(b"SECRET-ITEM-TD").len(),
        }])
    );

    // FN + RLRQ: user-information.
    let fin = &units[3];
    assert_eq!(fin["acse"]["type"], "RLRQ");
    assert_eq!(fin["sese"][0]["carrier"], "user-information");
    assert_eq!(fin["sese"][0]["item"], 4);
    assert_eq!(fin["sese"][0]["end"], true);
    assert_eq!(fin["sese"][0]["invocation"], 42);

    // AC + CPA + AARE rejected with an se-p-abort.
    let rej = &units[4];
    assert_eq!(rej["acse"]["result"], "rejected-permanent");
    assert_eq!(rej["acse"]["diagnostic"]["value"], 13);
    assert_eq!(
        rej["sese"],
        json!([{
            "type": "se-p-abort",
            "invocation": null,
            "item": 1,
            "problem": "transfer.mistypedItem",
            "carrier": "aare-authentication-value",
        }])
    );

    // AB + ARU + ABRT with an se-u-abort in user-information.
    let ab = &units[5];
    assert_eq!(ab["acse"]["type"], "ABRT");
    assert_eq!(
        ab["sese"],
        json!([{
            "type": "se-u-abort",
            "invocation": 9,
            "item": 2,
            "errors": [
                {"code": "2.20.4.2.1", "parameter_length": octets(b"SECRET-ERROR-PARAM").len()},
                {"code": 3, "parameter_length": null},
            ],
            "carrier": "user-information",
        }])
    );
    for u in units {
        assert!(u.get("error").is_none(), "{u:#}");
    }
}

#[test]
fn text_format_renders_the_sese_tree() {
    let input = to_hex(&stream());
    let out = run(&["decode", "--hex", &input]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_no_secrets(&text);
    for needle in [
        "  sese:\n    [0]: se-transfer\n      exchange: 2.20.4.2\n      item: 1\n      start: true\n",
        "carrier: aarq-authentication-value",
        "carrier: aare-authentication-value",
        "carrier: p-data",
        "[0]: se-p-abort",
        "problem: transfer.mistypedItem",
        "[0]: se-u-abort",
        "code: 2.20.4.2.1",
        "parameter_length: -",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn a_lone_td_needs_sese_pcid() {
    let input = to_hex(&frame(&td(SESE_PCID, td_transfer_apdu())));
    // Without the CP, context 5 is unknown: no SESE.
    let out = run(&["decode", "--format", "json", "--hex", &input]);
    assert!(out.status.success());
    let v = json_of(&out);
    assert!(v[0].get("sese").is_none(), "{v:#}");

    let pcid = SESE_PCID.to_string();
    let out = run(&[
        "decode",
        "--format",
        "json",
        "--sese-pcid",
        &pcid,
        "--hex",
        &input,
    ]);
    assert!(out.status.success());
    assert_no_secrets(&String::from_utf8_lossy(&out.stdout));
    let v = json_of(&out);
    assert_eq!(
        v[0]["sese"],
        json!([{
            "type": "se-transfer",
            "exchange": 7,
            "item": 3,
            "start": false,
            "end": false,
            "invocation": 42,
            "carrier": "p-data",
            "item_length": octets(b"SECRET-ITEM-TD").len(),
        }])
    );
    // A TD in another context is not taken for SESE.
    let other = to_hex(&frame(&td(APP_PCID, td_transfer_apdu())));
    let out = run(&[
        "decode",
        "--format",
        "json",
        "--sese-pcid",
        &pcid,
        "--hex",
        &other,
    ]);
    assert!(json_of(&out)[0].get("sese").is_none());
}

#[test]
fn the_library_takes_the_option_too() {
    let tsdu = td(SESE_PCID, td_transfer_apdu());
    let plain = dissect_input(&tsdu, DecodeFrom::Session).unwrap();
    assert!(plain.to_json()[0].get("sese").is_none());
    let opts = DissectOptions {
        sese_pcids: vec![SESE_PCID],
    };
    let r = dissect_input_with(&tsdu, DecodeFrom::Session, &opts).unwrap();
    assert!(!r.failed());
    assert_eq!(r.to_json()[0]["sese"][0]["carrier"], "p-data");
}

#[test]
fn a_malformed_sese_apdu_is_a_located_sese_error() {
    // se-transfer whose seIdentifier [0] is primitive (it is an EXPLICIT tag).
    let bad = vec![0xa0, 0x03, 0x80, 0x01, 0x01];
    let tsdu = td(SESE_PCID, bad.clone());
    let input = [frame(&cn_aarq()), frame(&tsdu)].concat();
    let out = run(&["decode", "--format", "json", "--hex", &to_hex(&input)]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert!(v[0].get("error").is_none(), "the CN decodes: {v:#}");
    let err = &v[1]["error"];
    assert_eq!(err["layer"], "sese", "{v:#}");
    assert!(err["message"].is_string());
    // The offending element, counted from the start of the unit's TSDU.
    let at = tsdu
        .windows(bad.len())
        .position(|w| w == bad.as_slice())
        .unwrap();
    assert_eq!(err["offset"], at + 2, "{v:#}");
    // The layers below still show.
    assert_eq!(v[1]["presentation"]["type"], "TD");
}

#[test]
fn a_malformed_apdu_in_the_aarq_authentication_value() {
    // se-p-abort without its mandatory problemCode.
    let mut aarq = Aarq::new(demo_context());
    aarq.calling_authentication_value = Some(AuthenticationValue::External(SecretExternal::new(
        sese_external(vec![0xa2, 0x03, 0x81, 0x01, 0x01]),
    )));
    let cp = Cp {
        contexts: vec![
            ContextDefinition {
                id: ACSE_PCID,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![known::BER],
            },
            ContextDefinition {
                id: SESE_PCID,
                abstract_syntax: oid(&format!("{ARC}.1.1")),
                transfer_syntaxes: vec![known::BER],
            },
        ],
        user_data: Some(acse(&Apdu::Aarq(aarq))),
        ..Cp::default()
    };
    let cn = spdu(Spdu::Connect(Connect {
        user_data: Some(
            ConnectUserData::new(pres::encode_cp(&cp, EncodeStyle::Canonical)).unwrap(),
        ),
        ..Connect::default()
    }));
    let r = dissect_input(&frame(&cn), DecodeFrom::Tpkt).unwrap();
    assert!(r.failed());
    let v = r.to_json();
    assert_eq!(v[0]["acse"]["type"], "AARQ", "{v:#}");
    assert_eq!(v[0]["error"]["layer"], "sese", "{v:#}");
    let at = cn
        .windows(5)
        .position(|w| w == [0xa2, 0x03, 0x81, 0x01, 0x01])
        .unwrap();
    // Missing problemCode is reported at the SEQUENCE, the APDU's first octet.
    assert_eq!(v[0]["error"]["offset"], at, "{v:#}");
}
