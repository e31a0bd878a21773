//! Every RFC 1698 section 6 sequence (Part A, with the Part C corrections) built from typed
//! values through the ACSE, presentation and session encoders, byte for byte; and the same
//! octets decoded by `guls decode`'s dissector, field by field.

use guls::dissect::{DecodeFrom, dissect_input};
use guls_acse::{Aare, Aarq, Abrt, Apdu, Rlre, Rlrq};
use guls_ber::{External, ExternalEncoding, LengthForm, Oid, known, to_hex};
use guls_presentation::{
    self as pres, Abort, Aru, ContextDefinition, ContextIdentifier, ContextResult, Cp, Cpa,
    EncodeStyle, PdvList, ResultReason, UserData,
};
use guls_session::{
    self as ses, Accept, Connect, ConnectAcceptItem, ConnectUserData, Disconnect, Finish,
    FunctionalUnits, SSelector, Spdu, TransportDisconnect,
};
use guls_tests::vectors::*;
use serde_json::Value;

const STYLE: EncodeStyle = EncodeStyle::Rfc1698;

fn oid(s: &str) -> Oid {
    s.parse().expect("valid OID")
}

fn culr3_context() -> Oid {
    oid("1.0.11188.3.3")
}

/// The application data of every example: INTEGER 42 in context 3.
fn app_external(with_ts: bool) -> External {
    External {
        direct_reference: with_ts.then_some(known::BER),
        indirect_reference: Some(3),
        data_value_descriptor: None,
        encoding: ExternalEncoding::SingleAsn1Type(vec![0x02, 0x01, 0x2A]),
    }
}

fn spdu_bytes(spdu: &Spdu) -> Vec<u8> {
    ses::encode_spdu(spdu).expect("SPDU encodes")
}

fn acse_pdv(apdu: &Apdu) -> UserData {
    UserData::single_asn1(1, apdu.encode_with(LengthForm::Indefinite))
}

fn connect(called_ssel: &[u8], calling_ssel: Option<&[u8]>, cp: Vec<u8>) -> Vec<u8> {
    spdu_bytes(&Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits(0x0002)),
        calling_ssel: calling_ssel.map(|s| SSelector::new(s.to_vec()).unwrap()),
        called_ssel: Some(SSelector::new(called_ssel.to_vec()).unwrap()),
        user_data: Some(ConnectUserData::new(cp).unwrap()),
        ..Connect::default()
    }))
}

fn request(calling: bool, user_info: bool) -> Vec<u8> {
    let mut aarq = Aarq::new(culr3_context());
    if user_info {
        aarq.user_information.push(app_external(true));
    }
    let cp = Cp {
        calling_selector: calling.then(|| vec![0, 0, 0, 2]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: vec![
            ContextDefinition {
                id: 1,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![known::BER],
            },
            ContextDefinition {
                id: 3,
                abstract_syntax: oid("1.0.11188.3.1.1"),
                transfer_syntaxes: vec![known::BER],
            },
        ],
        user_data: Some(acse_pdv(&Apdu::Aarq(aarq))),
        ..Cp::default()
    };
    connect(
        &[0, 1],
        calling.then_some(&[0u8, 2][..]),
        pres::encode_cp(&cp, STYLE),
    )
}

fn accept(results: Vec<ContextResult>, user_info: bool) -> Vec<u8> {
    let mut aare = Aare::accepted(culr3_context());
    if user_info {
        aare.user_information.push(app_external(false));
    }
    let cpa = Cpa {
        results,
        user_data: Some(acse_pdv(&Apdu::Aare(aare))),
        ..Cpa::default()
    };
    spdu_bytes(&Spdu::Accept(Accept {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits(0x0002)),
        user_data: Some(pres::encode_cpa(&cpa, STYLE)),
        ..Accept::default()
    }))
}

fn assert_hex(built: &[u8], expected: &str) {
    assert_eq!(to_hex(built), to_hex(&hex(expected)));
}

#[test]
fn a1_connect_request_b1a_b1b_b1c() {
    assert_hex(&request(false, true), B1A);
    assert_hex(&request(true, true), B1B);
    assert_hex(&request(false, false), B1C);
}

#[test]
fn a2_successful_reply_with_and_without_rejection() {
    let ber = || ContextResult::accept(known::BER);
    assert_hex(&accept(vec![ber(), ber()], false), A2_ACCEPT);
    assert_hex(&accept(vec![ber(), ber()], true), A2_ACCEPT_UI);
    let rejected = ContextResult::provider_rejection(ResultReason::ReasonNotSpecified);
    assert_hex(&accept(vec![ber(), ber(), rejected], false), A2_REJECT3);
}

#[test]
fn a3_refuse() {
    assert_hex(
        &spdu_bytes(&Spdu::Refuse(ses::Refuse::user_no_reason())),
        A3_REFUSE,
    );
}

#[test]
fn a4_data_tsdu_b4a_b4b() {
    let octets = UserData::Full(vec![PdvList::octet_aligned(3, vec![0x02, 0x01, 0x2A])]);
    assert_hex(
        &ses::encode_data_tsdu(&pres::encode_td(&octets, STYLE)),
        B4A,
    );
    let single = UserData::single_asn1(3, vec![0x02, 0x01, 0x2A]);
    assert_hex(
        &ses::encode_data_tsdu(&pres::encode_td(&single, STYLE)),
        B4B,
    );
}

#[test]
fn a5_a6_release_request_and_response() {
    let release = |apdu: Apdu| pres::encode_release_user_data(&acse_pdv(&apdu), STYLE);
    let finish = spdu_bytes(&Spdu::Finish(Finish {
        user_data: Some(release(Apdu::Rlrq(Rlrq::normal()))),
        ..Finish::default()
    }));
    assert_hex(&finish, A5_FINISH);
    let mut rlrq = Rlrq::normal();
    rlrq.user_information.push(app_external(false));
    let finish_ui = spdu_bytes(&Spdu::Finish(Finish {
        user_data: Some(release(Apdu::Rlrq(rlrq))),
        ..Finish::default()
    }));
    assert_hex(&finish_ui, A5_FINISH_UI);
    let disconnect = spdu_bytes(&Spdu::Disconnect(Disconnect {
        user_data: Some(release(Apdu::Rlre(Rlre::normal()))),
        ..Disconnect::default()
    }));
    assert_hex(&disconnect, A6_DISCONNECT);
}

#[test]
fn a7_a8_a9_aborts() {
    let aru = Abort::Aru(Aru {
        contexts: vec![
            ContextIdentifier {
                id: 1,
                transfer_syntax: known::BER,
            },
            ContextIdentifier {
                id: 3,
                transfer_syntax: known::BER,
            },
        ],
        user_data: Some(acse_pdv(&Apdu::Abrt(Abrt::user()))),
    });
    let abort = spdu_bytes(&Spdu::Abort(ses::Abort {
        transport_disconnect: Some(TransportDisconnect(0x03)),
        user_data: Some(pres::encode_abort(&aru, STYLE)),
        ..ses::Abort::default()
    }));
    assert_hex(&abort, A7_ABORT);
    let provider = spdu_bytes(&Spdu::Abort(ses::Abort {
        transport_disconnect: Some(TransportDisconnect(0x09)),
        ..ses::Abort::default()
    }));
    assert_hex(&provider, A8_PROVIDER_ABORT);
    assert_hex(
        &spdu_bytes(&Spdu::AbortAccept(ses::AbortAccept::default())),
        A9_ABORT_ACCEPT,
    );
}

/// `guls decode --from session --format json` on one TSDU.
fn dissect(tsdu_hex: &str) -> Value {
    let report = dissect_input(&hex(tsdu_hex), DecodeFrom::Session).expect("input reads");
    assert!(!report.failed(), "{}", report.to_json());
    let json = report.to_json();
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    json[0].clone()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn dissector_reads_every_part_a_sequence() {
    for (hexs, calling) in [(B1A, false), (B1B, true)] {
        let u = dissect(hexs);
        let cn = &u["session"][0];
        assert_eq!(s(&cn["type"]), "CN");
        assert_eq!(cn["version"], serde_json::json!([2]));
        assert_eq!(cn["functional_units"], serde_json::json!(["duplex"]));
        assert_eq!(s(&cn["called_ssel"]), "0001");
        assert_eq!(cn.get("calling_ssel").is_some(), calling);
        let p = &u["presentation"];
        assert_eq!(s(&p["type"]), "CP");
        assert_eq!(p["contexts"][0]["id"], 1);
        assert_eq!(s(&p["contexts"][0]["abstract_syntax"]), "2.2.1.0.1");
        assert_eq!(s(&p["contexts"][1]["abstract_syntax"]), "1.0.11188.3.1.1");
        assert_eq!(s(&p["contexts"][1]["transfer_syntaxes"][0]), "2.1.1");
        assert_eq!(p["user_data"][0]["pcid"], 1);
        assert_eq!(s(&p["user_data"][0]["encoding"]), "single-asn1-type");
        let a = &u["acse"];
        assert_eq!(s(&a["type"]), "AARQ");
        assert_eq!(s(&a["application_context"]), "1.0.11188.3.3");
        assert_eq!(a["user_information"][0]["pcid"], 3);
        assert_eq!(s(&a["user_information"][0]["direct_reference"]), "2.1.1");
        assert_eq!(a["user_information"][0]["length"], 3);
    }
    let u = dissect(B1C);
    assert!(u["acse"].get("user_information").is_none());

    for hexs in [A2_ACCEPT, A2_ACCEPT_UI, A2_REJECT3] {
        let u = dissect(hexs);
        assert_eq!(s(&u["session"][0]["type"]), "AC");
        assert_eq!(s(&u["presentation"]["type"]), "CPA");
        assert_eq!(s(&u["presentation"]["results"][0]["result"]), "acceptance");
        assert_eq!(
            s(&u["presentation"]["results"][1]["transfer_syntax"]),
            "2.1.1"
        );
        let a = &u["acse"];
        assert_eq!(s(&a["type"]), "AARE");
        assert_eq!(s(&a["result"]), "accepted");
        assert_eq!(s(&a["diagnostic"]["source"]), "acse-service-user");
        assert_eq!(a["diagnostic"]["value"], 0);
    }
    let u = dissect(A2_REJECT3);
    let r = &u["presentation"]["results"][2];
    assert_eq!(s(&r["result"]), "provider-rejection");
    assert_eq!(s(&r["provider_reason"]), "reason-not-specified");

    let u = dissect(A3_REFUSE);
    assert_eq!(s(&u["session"][0]["type"]), "RF");
    assert_eq!(u["session"][0]["reason_code"], 0);

    for (hexs, encoding) in [(B4A, "octet-aligned"), (B4B, "single-asn1-type")] {
        let u = dissect(hexs);
        assert_eq!(s(&u["session"][0]["type"]), "GT");
        assert_eq!(s(&u["session"][1]["type"]), "DT");
        assert_eq!(s(&u["presentation"]["type"]), "TD");
        let pdv = &u["presentation"]["user_data"][0];
        assert_eq!(pdv["pcid"], 3);
        assert_eq!(s(&pdv["encoding"]), encoding);
        assert_eq!(pdv["length"], 3);
        assert!(u.get("acse").is_none());
    }

    for (hexs, spdu, apdu) in [
        (A5_FINISH, "FN", "RLRQ"),
        (A5_FINISH_UI, "FN", "RLRQ"),
        (A6_DISCONNECT, "DN", "RLRE"),
    ] {
        let u = dissect(hexs);
        assert_eq!(s(&u["session"][0]["type"]), spdu);
        assert_eq!(s(&u["presentation"]["type"]), "user-data");
        assert_eq!(s(&u["acse"]["type"]), apdu);
        assert_eq!(s(&u["acse"]["reason"]), "normal");
    }

    let u = dissect(A7_ABORT);
    assert_eq!(s(&u["session"][0]["type"]), "AB");
    assert_eq!(s(&u["presentation"]["type"]), "ARU");
    assert_eq!(s(&u["acse"]["type"]), "ABRT");
    assert_eq!(s(&u["acse"]["abort_source"]), "acse-service-user");

    let u = dissect(A8_PROVIDER_ABORT);
    assert_eq!(s(&u["session"][0]["type"]), "AB");
    assert!(u.get("presentation").is_none());
    let u = dissect(A9_ABORT_ACCEPT);
    assert_eq!(s(&u["session"][0]["type"]), "AA");
}
