//! The presentation kernel protocol machine: two machines talking, negotiation by position,
//! the golden libiec61850 trace (PEERS.md 6), ARP on protocol errors, illegal primitives,
//! limits, and a property test that no received octets make any state panic.

use guls_ber::{Oid, known, parse_hex, to_hex};
use guls_presentation::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).unwrap()
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

/// The octets of `line` after the first occurrence of `marker` (both hex).
fn after(line: &str, marker: &str) -> Vec<u8> {
    let line = line.to_ascii_lowercase();
    let i = line.find(&marker.to_ascii_lowercase()).unwrap();
    hex(&line[i + marker.len()..])
}

// PEERS.md section 6 (libiec61850 1.5.3 client <-> password server).
const CN: &str = "030000d402f0800dcb0506130100160102140200023302000134020001c1b53181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
const AC: &str = "0300008f02f0800e8605061301001601021402000234020001c1743172a003800101a26b830400000001a512300780010081025101300780010081025101614f304d020101a0486146a107060528ca220203a203020100a305a103020100be2f282d020103a028a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118";
const TD1: &str = "0300001b02f08001000100610e300c020103a007a0050201018200";
const TD2: &str = "0300003002f0800100010061233021020103a01ca11a020101a21580024d5a8108626173696320696f8205312e342e32";
const FN: &str = "0300001902f0800910c10e610c300a020101a0056203800100";
const DN: &str = "0300001602f0800a0dc10b61093007020101a0026300";

const AARQ: &str = "6003800100";
const AARE: &str = "6103800100";
const RLRQ: &str = "6203800100";
const RLRE: &str = "6300";
const ABRT: &str = "6403800101";

fn sel() -> Option<Vec<u8>> {
    Some(vec![0, 0, 0, 1])
}

fn initiator_config() -> PresentationConfig {
    PresentationConfig {
        calling_selector: sel(),
        called_selector: sel(),
        proposed_contexts: vec![
            ProposedContext::ber(1, known::ACSE_ABSTRACT_SYNTAX),
            ProposedContext::ber(3, known::MMS_ABSTRACT_SYNTAX),
        ],
        ..PresentationConfig::default()
    }
}

fn responder_config() -> PresentationConfig {
    PresentationConfig {
        responding_selector: sel(),
        supported_syntaxes: vec![
            SupportedSyntax::ber(known::ACSE_ABSTRACT_SYNTAX),
            SupportedSyntax::ber(known::MMS_ABSTRACT_SYNTAX),
        ],
        ..PresentationConfig::default()
    }
}

fn single(v: &str) -> PdvValue {
    PdvValue::SingleAsn1Type(hex(v))
}

/// An initiator and a responder, connected with ACSE (1) and MMS (3).
fn connected_pair() -> (PresentationMachine, PresentationMachine) {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    let cpa = r.accept(Some(UserData::single_asn1(1, hex(AARE)))).unwrap();
    i.on_connect_accept(&cpa).unwrap();
    (i, r)
}

fn arp(reason: u8, event: u8) -> Vec<u8> {
    vec![0x30, 0x06, 0x80, 0x01, reason, 0x81, 0x01, event]
}

// ------------------------------------------------------------------------ two machines

#[test]
fn initiator_and_responder_talk() {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    assert_eq!(i.acse_pcid(), Some(1));
    assert_eq!(i.config().acse_pcid(), Some(1));

    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    assert_eq!(i.state(), PresentationState::AwaitingConnectConfirm);
    assert_eq!(i.role(), Some(Role::Initiator));

    let ind = r.on_connect_request(&cp).unwrap();
    assert_eq!(r.role(), Some(Role::Responder));
    assert_eq!(r.state(), PresentationState::AwaitingConnectResponse);
    assert_eq!(ind.calling_selector, sel());
    assert_eq!(ind.called_selector, sel());
    assert_eq!(ind.proposed.len(), 2);
    assert_eq!(ind.results, vec![ContextResult::accept(known::BER); 2]);
    assert_eq!(ind.acse_pcid(), Some(1));
    assert_eq!(ind.accepted().len(), 2);
    assert_eq!(ind.user_data, Some(UserData::single_asn1(1, hex(AARQ))));
    assert_eq!(ind.default_context, None);
    assert_eq!(r.acse_pcid(), Some(1));
    assert_eq!(r.pending_results().unwrap().len(), 2);

    let cpa = r.accept(Some(UserData::single_asn1(1, hex(AARE)))).unwrap();
    assert_eq!(r.state(), PresentationState::Connected);
    assert_eq!(r.dcs().len(), 2);

    let conf = i.on_connect_accept(&cpa).unwrap();
    assert_eq!(i.state(), PresentationState::Connected);
    assert_eq!(conf.responding_selector, sel());
    assert_eq!(
        conf.accepted,
        vec![
            DefinedContext {
                pcid: 1,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntax: known::BER
            },
            DefinedContext {
                pcid: 3,
                abstract_syntax: known::MMS_ABSTRACT_SYNTAX,
                transfer_syntax: known::BER
            },
        ]
    );
    assert!(conf.rejected.is_empty());
    assert_eq!(conf.user_data, Some(UserData::single_asn1(1, hex(AARE))));
    assert_eq!(i.acse_pcid(), Some(1));
    assert_eq!(i.find_context(&known::MMS_ABSTRACT_SYNTAX), Some(3));

    // Data both ways, several PDV-lists and encodings.
    let td = i
        .send_data(vec![
            (3, single("a0050201018200")),
            (3, PdvValue::OctetAligned(vec![1, 2, 3])),
        ])
        .unwrap();
    let got = r.on_data(&td).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].pcid, 3);
    assert_eq!(got[0].abstract_syntax, known::MMS_ABSTRACT_SYNTAX);
    assert_eq!(got[0].transfer_syntax, known::BER);
    assert_eq!(got[0].value, single("a0050201018200"));
    assert_eq!(got[1].value, PdvValue::OctetAligned(vec![1, 2, 3]));
    let td = r.send_data(vec![(3, single("a1050201018200"))]).unwrap();
    let got = i.on_data(&td).unwrap();
    assert_eq!(got[0].value, single("a1050201018200"));

    // Release request; the responder may still send data before responding.
    let fin = i
        .release_user_data(
            ReleaseKind::Request,
            Some(UserData::single_asn1(1, hex(RLRQ))),
        )
        .unwrap();
    assert_eq!(i.state(), PresentationState::ReleaseRequested);
    assert!(i.send_data(vec![(3, single("0500"))]).is_err());
    let ud = r.on_release_user_data(ReleaseKind::Request, &fin).unwrap();
    assert_eq!(ud, Some(UserData::single_asn1(1, hex(RLRQ))));
    assert_eq!(r.state(), PresentationState::ReleaseIndicated);
    let td = r.send_data(vec![(3, single("0500"))]).unwrap();
    assert_eq!(i.on_data(&td).unwrap()[0].value, single("0500"));

    // ... then aborts instead of responding: ARU with the ABRT in the ACSE context.
    let aru = r
        .user_abort(Some(UserData::single_asn1(1, hex(ABRT))))
        .unwrap();
    assert_eq!(r.state(), PresentationState::Aborted);
    match i.on_abort(&aru).unwrap() {
        AbortIndication::User {
            contexts,
            user_data,
        } => {
            assert!(contexts.is_empty());
            assert_eq!(user_data, Some(UserData::single_asn1(1, hex(ABRT))));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i.state(), PresentationState::Aborted);
}

#[test]
fn orderly_release_closes_both() {
    let (mut i, mut r) = connected_pair();
    let fin = i
        .release_user_data(
            ReleaseKind::Request,
            Some(UserData::single_asn1(1, hex(RLRQ))),
        )
        .unwrap();
    r.on_release_user_data(ReleaseKind::Request, &fin).unwrap();
    let dn = r
        .release_user_data(
            ReleaseKind::Response,
            Some(UserData::single_asn1(1, hex(RLRE))),
        )
        .unwrap();
    assert_eq!(r.state(), PresentationState::Closed);
    let ud = i.on_release_user_data(ReleaseKind::Response, &dn).unwrap();
    assert_eq!(ud, Some(UserData::single_asn1(1, hex(RLRE))));
    assert_eq!(i.state(), PresentationState::Closed);
    // Nothing more is legal.
    assert!(matches!(
        i.user_abort(None),
        Err(PresentationError::IllegalPrimitive { .. })
    ));
}

#[test]
fn release_without_user_data_and_collision() {
    let (mut i, mut r) = connected_pair();
    let a = i.release_user_data(ReleaseKind::Request, None).unwrap();
    let b = r.release_user_data(ReleaseKind::Request, None).unwrap();
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(i.on_release_user_data(ReleaseKind::Request, &b), Ok(None));
    assert_eq!(r.on_release_user_data(ReleaseKind::Request, &a), Ok(None));
    assert_eq!(i.state(), PresentationState::ReleaseCollision);
    // The initiator responds first; the responder receives that response first.
    let ia = i.release_user_data(ReleaseKind::Response, None).unwrap();
    assert_eq!(i.state(), PresentationState::ReleaseRequested);
    assert_eq!(r.on_release_user_data(ReleaseKind::Response, &ia), Ok(None));
    assert_eq!(r.state(), PresentationState::ReleaseIndicated);
    let rb = r.release_user_data(ReleaseKind::Response, None).unwrap();
    assert_eq!(r.state(), PresentationState::Closed);
    assert_eq!(i.on_release_user_data(ReleaseKind::Response, &rb), Ok(None));
    assert_eq!(i.state(), PresentationState::Closed);
}

#[test]
fn release_user_data_in_undefined_context() {
    let (mut i, mut r) = connected_pair();
    assert_eq!(
        i.release_user_data(
            ReleaseKind::Request,
            Some(UserData::single_asn1(5, hex(RLRQ)))
        ),
        Err(PresentationError::UndefinedContext(5))
    );
    assert_eq!(i.state(), PresentationState::Connected);
    let bad =
        encode_release_user_data(&UserData::single_asn1(7, hex(RLRQ)), EncodeStyle::Canonical);
    let f = r
        .on_release_user_data(ReleaseKind::Request, &bad)
        .unwrap_err();
    assert_eq!(f.error, PresentationError::UndefinedContext(7));
    // invalid-ppdu-parameter-value, s-release-indication.
    assert_eq!(f.arp_bytes, Some(arp(6, 14)));
    assert_eq!(r.state(), PresentationState::Aborted);
}

// ------------------------------------------------------------------------ negotiation

fn isode_like_cp() -> (Vec<u8>, Vec<ContextDefinition>) {
    let ber = known::BER;
    let other_ts = oid("1.3.9999.9.1");
    let d = |id: i64, a: &str, ts: Vec<Oid>| ContextDefinition {
        id,
        abstract_syntax: oid(a),
        transfer_syntaxes: ts,
    };
    let defs = vec![
        d(1, "2.2.1.0.1", vec![ber.clone()]),         // ACSE: accept
        d(3, "1.17.2.1.1", vec![ber.clone()]),        // unsupported
        d(5, "2.4.5.0", vec![ber.clone()]),           // unsupported
        d(7, "1.0.9506.2.1", vec![other_ts.clone()]), // MMS, only an unknown TS
        d(9, "1.17.4.1.1", vec![ber.clone()]),        // unsupported
        d(11, "1.0.9506.2.1", vec![other_ts, ber.clone()]), // MMS: accept BER
        d(13, "2.9.1.1.1", vec![ber.clone()]),
        d(15, "1.3.9999.2.1", vec![ber.clone()]),
        d(17, "1.17.1.1.1", vec![ber.clone()]),
        d(19, "2.3.1.0.1", vec![ber.clone()]),
        d(21, "1.3.9999.3.1", vec![ber.clone()]),
    ];
    let cp = Cp {
        calling_selector: Some(vec![0x11]),
        called_selector: Some(vec![]),
        contexts: defs.clone(),
        default_context: Some(DefaultContextName {
            abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
            transfer_syntax: known::BER,
        }),
        user_session_requirements: Some(UserSessionRequirements::from_bits(&guls_ber::BitString {
            unused_bits: 5,
            bytes: vec![0xff, 0xe0],
        })),
        user_data: Some(UserData::single_asn1(1, hex(AARQ))),
        ..Cp::default()
    };
    (encode_cp(&cp, EncodeStyle::Rfc1698), defs)
}

#[test]
fn eleven_contexts_and_a_default_context_negotiated_by_position() {
    let (cp, defs) = isode_like_cp();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let ind = r.on_connect_request(&cp).unwrap();
    assert_eq!(ind.proposed, defs);
    let na = ContextResult::provider_rejection(ResultReason::AbstractSyntaxNotSupported);
    let expected = vec![
        ContextResult::accept(known::BER),
        na.clone(),
        na.clone(),
        ContextResult::provider_rejection(ResultReason::ProposedTransferSyntaxesNotSupported),
        na.clone(),
        ContextResult::accept(known::BER),
        na.clone(),
        na.clone(),
        na.clone(),
        na.clone(),
        na,
    ];
    assert_eq!(ind.results, expected);
    assert_eq!(
        ind.default_context.as_ref().map(|d| &d.abstract_syntax),
        Some(&known::ACSE_ABSTRACT_SYNTAX)
    );
    assert_eq!(r.default_context(), ind.default_context.as_ref());
    let cpa = r.accept(Some(UserData::single_asn1(1, hex(AARE)))).unwrap();
    let decoded = decode_cpa(&cpa).unwrap();
    assert_eq!(decoded.results, expected);
    assert_eq!(decoded.responding_selector, sel());
    // The peer asked for every session FU; the kernel answers duplex only.
    assert_eq!(
        decoded.user_session_requirements,
        Some(UserSessionRequirements::DUPLEX)
    );
    assert_eq!(
        r.dcs().iter().map(|c| c.pcid).collect::<Vec<_>>(),
        vec![1, 11]
    );

    // The ISODE-like initiator side sees the same thing by position.
    let icfg = PresentationConfig {
        called_selector: Some(vec![]),
        proposed_contexts: defs
            .iter()
            .map(|d| ProposedContext {
                pcid: d.id,
                abstract_syntax: d.abstract_syntax.clone(),
                transfer_syntaxes: d.transfer_syntaxes.clone(),
            })
            .collect(),
        default_context: ind.default_context.clone(),
        ..PresentationConfig::default()
    };
    let mut i = PresentationMachine::new(icfg).unwrap();
    i.connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let conf = i.on_connect_accept(&cpa).unwrap();
    assert_eq!(
        conf.accepted.iter().map(|c| c.pcid).collect::<Vec<_>>(),
        vec![1, 11]
    );
    let rej: Vec<_> = conf.rejected.iter().map(|c| (c.pcid, c.reason)).collect();
    assert_eq!(rej.len(), 9);
    assert_eq!(
        rej[2],
        (7, Some(ResultReason::ProposedTransferSyntaxesNotSupported))
    );
    assert_eq!(rej[0], (3, Some(ResultReason::AbstractSyntaxNotSupported)));
    assert!(
        conf.rejected
            .iter()
            .all(|c| c.result == ResultValue::ProviderRejection)
    );
    assert_eq!(conf.responding_selector, sel());
    assert!(conf.default_context.is_some());
}

#[test]
fn transfer_syntax_chosen_by_responder_preference_among_offered() {
    let t_a = oid("1.3.9999.7.1");
    let t_b = oid("1.3.9999.7.2");
    let t_c = oid("1.3.9999.7.3");
    let icfg = PresentationConfig {
        proposed_contexts: vec![
            ProposedContext::ber(1, known::ACSE_ABSTRACT_SYNTAX),
            ProposedContext {
                pcid: 3,
                abstract_syntax: known::MMS_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![t_a.clone(), known::BER, t_b.clone()],
            },
        ],
        ..PresentationConfig::default()
    };
    for (prefs, chosen) in [
        (vec![t_b.clone(), known::BER], t_b.clone()),
        (vec![t_c.clone(), known::BER, t_a.clone()], known::BER),
        (vec![t_a.clone()], t_a.clone()),
    ] {
        let rcfg = PresentationConfig {
            supported_syntaxes: vec![
                SupportedSyntax::ber(known::ACSE_ABSTRACT_SYNTAX),
                SupportedSyntax {
                    abstract_syntax: known::MMS_ABSTRACT_SYNTAX,
                    transfer_syntaxes: prefs,
                },
            ],
            ..PresentationConfig::default()
        };
        let mut i = PresentationMachine::new(icfg.clone()).unwrap();
        let mut r = PresentationMachine::new(rcfg).unwrap();
        let cp = i
            .connect_request(UserData::Full(vec![
                PdvList::single_asn1(1, hex(AARQ)),
                PdvList::single_asn1(3, hex("0500")),
            ]))
            .unwrap();
        // SIA 8.6: transfer-syntax-name only for the context with several proposed.
        let sent = decode_cp(&cp).unwrap().user_data.unwrap();
        assert_eq!(sent.pdv_lists()[0].transfer_syntax, None);
        assert_eq!(sent.pdv_lists()[1].transfer_syntax, Some(t_a.clone()));
        let ind = r.on_connect_request(&cp).unwrap();
        assert_eq!(ind.results[1], ContextResult::accept(chosen.clone()));
        let cpa = r.accept(None).unwrap();
        let conf = i.on_connect_accept(&cpa).unwrap();
        assert_eq!(conf.accepted[1].transfer_syntax, chosen);
        assert_eq!(i.context(3).unwrap().transfer_syntax, chosen);
    }
    // None acceptable.
    let rcfg = PresentationConfig {
        supported_syntaxes: vec![SupportedSyntax {
            abstract_syntax: known::MMS_ABSTRACT_SYNTAX,
            transfer_syntaxes: vec![t_c],
        }],
        ..PresentationConfig::default()
    };
    let mut i = PresentationMachine::new(icfg).unwrap();
    let mut r = PresentationMachine::new(rcfg).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let ind = r.on_connect_request(&cp).unwrap();
    assert_eq!(
        ind.results,
        vec![
            ContextResult::provider_rejection(ResultReason::AbstractSyntaxNotSupported),
            ContextResult::provider_rejection(ResultReason::ProposedTransferSyntaxesNotSupported),
        ]
    );
}

#[test]
fn initiator_rejects_a_cpa_accepting_an_unproposed_transfer_syntax() {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    i.connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let cpa = encode_cpa(
        &Cpa {
            results: vec![
                ContextResult::accept(known::BER),
                ContextResult::accept(oid("1.3.9999.1")),
            ],
            ..Cpa::default()
        },
        EncodeStyle::Canonical,
    );
    let f = i.on_connect_accept(&cpa).unwrap_err();
    assert!(matches!(
        f.error,
        PresentationError::TransferSyntaxNotProposed { pcid: 3, .. }
    ));
    // invalid-ppdu-parameter-value, cpa-PPDU.
    assert_eq!(f.arp_bytes, Some(arp(6, 1)));
    assert_eq!(i.state(), PresentationState::Aborted);

    // Wrong result count.
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    i.connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let cpa = encode_cpa(
        &Cpa {
            results: vec![ContextResult::accept(known::BER)],
            ..Cpa::default()
        },
        EncodeStyle::Canonical,
    );
    let f = i.on_connect_accept(&cpa).unwrap_err();
    assert_eq!(
        f.error,
        PresentationError::ResultCountMismatch {
            proposed: 2,
            received: 1
        }
    );
    // Undecodable CPA: unrecognized-ppdu.
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    i.connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let f = i.on_connect_accept(&[0x31, 0x05, 0x00]).unwrap_err();
    assert!(matches!(f.error, PresentationError::Decode(_)));
    assert_eq!(f.arp_bytes, Some(arp(1, 1)));
}

#[test]
fn responding_selector_defaults_to_called_selector() {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(PresentationConfig {
        responding_selector: None,
        ..responder_config()
    })
    .unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    let cpa = r.accept(None).unwrap();
    assert_eq!(decode_cpa(&cpa).unwrap().responding_selector, None);
    assert_eq!(
        i.on_connect_accept(&cpa).unwrap().responding_selector,
        sel()
    );
}

#[test]
fn application_overrides_results_before_accept() {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    assert_eq!(
        r.set_context_result(5, ContextDecision::UserRejection),
        Err(PresentationError::UndefinedContext(5))
    );
    assert!(matches!(
        r.set_context_result(3, ContextDecision::Accept(oid("1.3.9999.1"))),
        Err(PresentationError::TransferSyntaxNotProposed { pcid: 3, .. })
    ));
    r.set_context_result(3, ContextDecision::UserRejection)
        .unwrap();
    // The AARE cannot go in the rejected context.
    let before = r.clone();
    assert_eq!(
        r.accept(Some(UserData::single_asn1(3, hex(AARE)))),
        Err(PresentationError::UndefinedContext(3))
    );
    assert_eq!(r, before);
    let cpa = r.accept(Some(UserData::single_asn1(1, hex(AARE)))).unwrap();
    assert_eq!(r.dcs().len(), 1);
    let conf = i.on_connect_accept(&cpa).unwrap();
    assert_eq!(conf.accepted.len(), 1);
    assert_eq!(
        conf.rejected,
        vec![RejectedContext {
            pcid: 3,
            abstract_syntax: known::MMS_ABSTRACT_SYNTAX,
            result: ResultValue::UserRejection,
            reason: None,
        }]
    );
    // Data in the rejected context is refused locally, nothing encoded.
    assert_eq!(
        i.send_data(vec![(3, single("0500"))]),
        Err(PresentationError::UndefinedContext(3))
    );
    assert_eq!(i.state(), PresentationState::Connected);
}

#[test]
fn user_and_provider_refusal() {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    let cpr = r
        .refuse(
            RefuseReason::User,
            Some(UserData::single_asn1(1, hex(AARE))),
        )
        .unwrap();
    assert_eq!(r.state(), PresentationState::Closed);
    let ind = i.on_connect_refuse(&cpr).unwrap();
    assert_eq!(i.state(), PresentationState::Closed);
    assert_eq!(ind.provider_reason, None);
    assert_eq!(ind.results, vec![ContextResult::accept(known::BER); 2]);
    assert_eq!(ind.user_data, Some(UserData::single_asn1(1, hex(AARE))));

    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    let cpr = r
        .refuse(
            RefuseReason::Provider(ProviderReason::TemporaryCongestion),
            None,
        )
        .unwrap();
    let ind = i.on_connect_refuse(&cpr).unwrap();
    assert_eq!(
        ind.provider_reason,
        Some(ProviderReason::TemporaryCongestion)
    );
    assert!(ind.results.is_empty());

    // An undecodable CPR still closes the initiator.
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    i.connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    assert!(matches!(
        i.on_connect_refuse(&[0xff]),
        Err(PresentationError::Decode(_))
    ));
    assert_eq!(i.state(), PresentationState::Closed);
}

#[test]
fn cp_with_invalid_or_duplicate_pcid_is_refused() {
    for (ids, err) in [
        (vec![1, 2], PresentationError::InvalidPcid(2)),
        (vec![1, 32769], PresentationError::InvalidPcid(32769)),
        (vec![-1, 3], PresentationError::InvalidPcid(-1)),
        (vec![3, 1, 3], PresentationError::DuplicatePcid(3)),
    ] {
        let cp = encode_cp(
            &Cp {
                contexts: ids
                    .iter()
                    .map(|&id| ContextDefinition {
                        id,
                        abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                        transfer_syntaxes: vec![known::BER],
                    })
                    .collect(),
                ..Cp::default()
            },
            EncodeStyle::Canonical,
        );
        let mut r = PresentationMachine::new(responder_config()).unwrap();
        let f = r.on_connect_request(&cp).unwrap_err();
        assert_eq!(f.error, err);
        assert_eq!(r.state(), PresentationState::Closed);
        let cpr = decode_cpr(&f.cpr_bytes.unwrap()).unwrap();
        assert_eq!(
            cpr.provider_reason,
            Some(ProviderReason::ReasonNotSpecified)
        );
        assert_eq!(cpr.responding_selector, sel());
    }
}

#[test]
fn cp_refusals_with_specific_reasons() {
    // Undecodable.
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let f = r.on_connect_request(&[0x31, 0x00]).unwrap_err();
    assert!(matches!(f.error, PresentationError::Decode(_)));
    assert!(f.cpr_bytes.is_some());

    // Unsupported default context.
    let mut i = PresentationMachine::new(PresentationConfig {
        default_context: Some(DefaultContextName {
            abstract_syntax: oid("1.3.9999.5"),
            transfer_syntax: known::BER,
        }),
        ..initiator_config()
    })
    .unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let f = r.on_connect_request(&cp).unwrap_err();
    assert!(matches!(
        f.error,
        PresentationError::DefaultContextNotSupported { .. }
    ));
    let cpr_bytes = f.cpr_bytes.unwrap();
    let cpr = decode_cpr(&cpr_bytes).unwrap();
    assert_eq!(
        cpr.provider_reason,
        Some(ProviderReason::DefaultContextNotSupported)
    );
    assert_eq!(
        cpr.default_context_result,
        Some(ResultValue::ProviderRejection)
    );
    let ind = i.on_connect_refuse(&cpr_bytes).unwrap();
    assert_eq!(
        ind.default_context_result,
        Some(ResultValue::ProviderRejection)
    );
    // ... or accepted without it when configured so.
    let mut r = PresentationMachine::new(PresentationConfig {
        ignore_unsupported_default_context: true,
        ..responder_config()
    })
    .unwrap();
    let ind = r.on_connect_request(&cp).unwrap();
    assert_eq!(ind.default_context, None);

    // Protocol version without version-1.
    let cp = encode_cp(
        &Cp {
            protocol_version: Some(ProtocolVersion { version_1: false }),
            ..Cp::default()
        },
        EncodeStyle::Canonical,
    );
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let f = r.on_connect_request(&cp).unwrap_err();
    assert_eq!(f.error, PresentationError::ProtocolVersionNotSupported);
    assert_eq!(
        decode_cpr(&f.cpr_bytes.unwrap()).unwrap().provider_reason,
        Some(ProviderReason::ProtocolVersionNotSupported)
    );

    // Strict called selector.
    let cp = encode_cp(
        &Cp {
            called_selector: Some(vec![9]),
            ..Cp::default()
        },
        EncodeStyle::Canonical,
    );
    let mut r = PresentationMachine::new(PresentationConfig {
        strict_called_selector: true,
        ..responder_config()
    })
    .unwrap();
    let f = r.on_connect_request(&cp).unwrap_err();
    assert_eq!(f.error, PresentationError::CalledSelectorUnknown(vec![9]));
    assert_eq!(
        decode_cpr(&f.cpr_bytes.unwrap()).unwrap().provider_reason,
        Some(ProviderReason::CalledPresentationAddressUnknown)
    );

    // User data in a context that was not proposed: user-data-not-readable.
    let cp = encode_cp(
        &Cp {
            contexts: vec![ContextDefinition {
                id: 1,
                abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                transfer_syntaxes: vec![known::BER],
            }],
            user_data: Some(UserData::single_asn1(3, hex(AARQ))),
            ..Cp::default()
        },
        EncodeStyle::Canonical,
    );
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let f = r.on_connect_request(&cp).unwrap_err();
    assert_eq!(f.error, PresentationError::UndefinedContext(3));
    assert_eq!(
        decode_cpr(&f.cpr_bytes.unwrap()).unwrap().provider_reason,
        Some(ProviderReason::UserDataNotReadable)
    );
}

// ------------------------------------------------------------------------ golden trace

#[test]
fn golden_libiec61850_cp_accepted_like_the_golden_cpa() {
    let cp = after(CN, "c1b5");
    let golden_cpa = after(AC, "c174");
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let ind = r.on_connect_request(&cp).unwrap();
    assert_eq!(ind.calling_selector, sel());
    assert_eq!(ind.called_selector, sel());
    assert_eq!(ind.acse_pcid(), Some(1));
    let golden = decode_cpa(&golden_cpa).unwrap();
    assert_eq!(ind.results, golden.results);
    let aare = golden.user_data.clone().unwrap();
    let cpa = r.accept(Some(aare)).unwrap();
    assert_eq!(decode_cpa(&cpa).unwrap().results, golden.results);
    // Byte for byte the CPA libiec61850 sent.
    assert_eq!(to_hex(&cpa), to_hex(&golden_cpa));
    assert_eq!(r.find_context(&known::MMS_ABSTRACT_SYNTAX), Some(3));

    // MMS data in context 3, then the release request in the ACSE context.
    let td = after(TD1, "02f08001000100");
    let v = r.on_data(&td).unwrap();
    assert_eq!(
        (v[0].pcid, &v[0].abstract_syntax),
        (3, &known::MMS_ABSTRACT_SYNTAX)
    );
    let out = r.send_data(vec![(3, v[0].value.clone())]).unwrap();
    assert_eq!(out, td);
    let rlrq = r
        .on_release_user_data(ReleaseKind::Request, &after(FN, "c10e"))
        .unwrap()
        .unwrap();
    assert_eq!(rlrq.pdv_lists()[0].pcid, r.acse_pcid().unwrap());
    let dn = r
        .release_user_data(
            ReleaseKind::Response,
            Some(UserData::single_asn1(1, hex("6300"))),
        )
        .unwrap();
    assert_eq!(dn, after(DN, "c10b"));
    assert_eq!(r.state(), PresentationState::Closed);
}

#[test]
fn golden_libiec61850_conversation_as_initiator() {
    let golden_cp = after(CN, "c1b5");
    let aarq = decode_cp(&golden_cp).unwrap().user_data.unwrap();
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let cp = i.connect_request(aarq).unwrap();
    assert_eq!(to_hex(&cp), to_hex(&golden_cp));
    let conf = i.on_connect_accept(&after(AC, "c174")).unwrap();
    assert_eq!(conf.accepted.len(), 2);
    assert_eq!(conf.responding_selector, sel());
    let v = i.on_data(&after(TD2, "02f08001000100")).unwrap();
    assert_eq!(v[0].pcid, 3);
    let fin = i
        .release_user_data(
            ReleaseKind::Request,
            Some(UserData::single_asn1(1, hex(RLRQ))),
        )
        .unwrap();
    assert_eq!(fin, after(FN, "c10e"));
    let rlre = i
        .on_release_user_data(ReleaseKind::Response, &after(DN, "c10b"))
        .unwrap();
    assert!(rlre.is_some());
    assert_eq!(i.state(), PresentationState::Closed);
}

// ------------------------------------------------------------------------ protocol errors

#[test]
fn data_in_undefined_context_gives_arp_and_aborted() {
    let (_, mut r) = connected_pair();
    let td = encode_td(
        &UserData::single_asn1(5, hex("0500")),
        EncodeStyle::Canonical,
    );
    let f = r.on_data(&td).unwrap_err();
    assert_eq!(f.error, PresentationError::UndefinedContext(5));
    // invalid-ppdu-parameter-value (6), td-PPDU (7); definite (SIA 8.3.6).
    assert_eq!(f.arp_bytes, Some(hex("3006800106810107")));
    assert_eq!(r.state(), PresentationState::Aborted);
    // The peer sees a provider abort with that reason and event.
    let (mut i, _) = connected_pair();
    assert_eq!(
        i.on_abort(&f.arp_bytes.unwrap()).unwrap(),
        AbortIndication::Provider {
            reason: Some(AbortReason::InvalidPpduParameterValue),
            event: Some(EventIdentifier::TdPpdu),
        }
    );
}

#[test]
fn undecodable_td_and_simple_data_give_arp() {
    let (mut i, mut r) = connected_pair();
    let f = r.on_data(&hex("6105300302")).unwrap_err();
    assert!(matches!(f.error, PresentationError::Decode(_)));
    assert_eq!(f.arp_bytes, Some(arp(1, 7)));
    assert_eq!(r.state(), PresentationState::Aborted);
    let f = i.on_data(&hex("400101")).unwrap_err();
    assert_eq!(f.error, PresentationError::SimplyEncodedData);
    assert_eq!(f.arp_bytes, Some(arp(5, 7)));
    assert_eq!(i.state(), PresentationState::Aborted);
}

#[test]
fn provider_abort_and_odd_abort_octets() {
    let (mut i, mut r) = connected_pair();
    let arp_out = i
        .provider_abort(AbortReason::UnexpectedPpdu, EventIdentifier::TdPpdu)
        .unwrap();
    assert_eq!(arp_out, arp(2, 7));
    assert_eq!(i.state(), PresentationState::Aborted);
    assert_eq!(
        r.clone().on_abort(&[0x05, 0x00]).unwrap(),
        AbortIndication::Provider {
            reason: Some(AbortReason::UnrecognizedPpdu),
            event: None
        }
    );
    assert_eq!(
        r.on_abort(&[]).unwrap(),
        AbortIndication::Provider {
            reason: None,
            event: None
        }
    );
    assert_eq!(r.state(), PresentationState::Aborted);
}

#[test]
fn initiator_abort_before_cpa_lists_its_contexts() {
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    let aru = i
        .user_abort(Some(UserData::single_asn1(1, hex(ABRT))))
        .unwrap();
    match r.on_abort(&aru).unwrap() {
        AbortIndication::User { contexts, .. } => assert_eq!(
            contexts,
            vec![ContextIdentifier {
                id: 1,
                transfer_syntax: known::BER
            }]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.state(), PresentationState::Aborted);
}

// ------------------------------------------------------------------------ illegal primitives

fn assert_illegal<T: std::fmt::Debug>(
    m: &mut PresentationMachine,
    f: impl FnOnce(&mut PresentationMachine) -> Result<T, PresentationError>,
) {
    let before = m.clone();
    let r = f(m);
    assert!(
        matches!(
            r,
            Err(PresentationError::IllegalPrimitive { state, .. }) if state == before.state()
        ),
        "{r:?}"
    );
    assert_eq!(*m, before);
}

#[test]
fn illegal_primitive_sequences_change_nothing() {
    let mut idle = PresentationMachine::new(initiator_config()).unwrap();
    assert_illegal(&mut idle, |m| m.send_data(vec![(1, single("0500"))]));
    assert_illegal(&mut idle, |m| m.on_data(b"").map_err(|f| f.error));
    assert_illegal(&mut idle, |m| m.accept(None));
    assert_illegal(&mut idle, |m| m.refuse(RefuseReason::User, None));
    assert_illegal(&mut idle, |m| m.on_connect_accept(&[]).map_err(|f| f.error));
    assert_illegal(&mut idle, |m| m.on_connect_refuse(&[]));
    assert_illegal(&mut idle, |m| m.user_abort(None));
    assert_illegal(&mut idle, |m| {
        m.provider_abort(AbortReason::ReasonNotSpecified, EventIdentifier::CpPpdu)
    });
    assert_illegal(&mut idle, |m| m.on_abort(&[]));
    assert_illegal(&mut idle, |m| {
        m.release_user_data(ReleaseKind::Request, None)
    });
    assert_illegal(&mut idle, |m| {
        m.set_context_result(1, ContextDecision::UserRejection)
    });

    let mut i = idle.clone();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    assert_illegal(&mut i, |m| {
        m.connect_request(UserData::single_asn1(1, hex(AARQ)))
    });
    assert_illegal(&mut i, |m| m.on_connect_request(&cp).map_err(|f| f.error));
    assert_illegal(&mut i, |m| m.send_data(vec![(1, single("0500"))]));
    assert_illegal(&mut i, |m| m.accept(None));

    let (mut i, mut r) = connected_pair();
    assert_illegal(&mut r, |m| m.accept(None));
    assert_illegal(&mut r, |m| m.on_connect_request(&cp).map_err(|f| f.error));
    assert_illegal(&mut i, |m| m.release_user_data(ReleaseKind::Response, None));
    assert_illegal(&mut i, |m| {
        m.on_release_user_data(ReleaseKind::Response, &[])
            .map_err(|f| f.error)
    });
    i.release_user_data(ReleaseKind::Request, None).unwrap();
    assert_illegal(&mut i, |m| m.release_user_data(ReleaseKind::Request, None));
    assert_illegal(&mut i, |m| m.send_data(vec![(1, single("0500"))]));
    r.on_release_user_data(ReleaseKind::Request, &[]).unwrap();
    assert_illegal(&mut r, |m| m.on_data(&[]).map_err(|f| f.error));

    r.user_abort(None).unwrap();
    i.provider_abort(AbortReason::ReasonNotSpecified, EventIdentifier::TdPpdu)
        .unwrap();
    for m in [&mut r, &mut i] {
        assert_illegal(m, |m| m.user_abort(None));
        assert_illegal(m, |m| m.on_abort(&[]));
        assert_illegal(m, |m| m.send_data(vec![(1, single("0500"))]));
        assert_illegal(m, |m| {
            m.connect_request(UserData::single_asn1(1, hex(AARQ)))
        });
    }
}

#[test]
fn local_errors_change_nothing() {
    let (mut i, _) = connected_pair();
    let before = i.clone();
    assert_eq!(
        i.send_data(vec![(1, single("0500")), (9, single("0500"))]),
        Err(PresentationError::UndefinedContext(9))
    );
    assert_eq!(i.send_data(vec![]), Err(PresentationError::EmptyData));
    assert_eq!(
        i.user_abort(Some(UserData::single_asn1(9, hex(ABRT)))),
        Err(PresentationError::UndefinedContext(9))
    );
    assert_eq!(i, before);

    let mut idle = PresentationMachine::new(initiator_config()).unwrap();
    let before = idle.clone();
    assert_eq!(
        idle.connect_request(UserData::single_asn1(5, hex(AARQ))),
        Err(PresentationError::UndefinedContext(5))
    );
    assert_eq!(
        idle.connect_request(UserData::Simple(vec![1])),
        Err(PresentationError::SimplyEncodedData)
    );
    assert_eq!(idle, before);
}

// ------------------------------------------------------------------------ limits

#[test]
fn max_contexts_limits() {
    // Configuration checks.
    let mut cfg = initiator_config();
    cfg.max_contexts = 1;
    assert!(matches!(
        PresentationMachine::new(cfg),
        Err(PresentationError::InvalidConfig(_))
    ));
    let mut cfg = initiator_config();
    cfg.max_contexts = 2;
    cfg.proposed_contexts
        .push(ProposedContext::ber(5, oid("1.3.9999.1")));
    assert_eq!(
        PresentationMachine::new(cfg).unwrap_err(),
        PresentationError::TooManyContexts { count: 3, limit: 2 }
    );
    let mut cfg = initiator_config();
    cfg.proposed_contexts[1].pcid = 4;
    assert_eq!(
        PresentationMachine::new(cfg).unwrap_err(),
        PresentationError::InvalidPcid(4)
    );
    let mut cfg = initiator_config();
    cfg.calling_selector = Some(vec![0; 5]);
    assert!(matches!(
        PresentationMachine::new(cfg).unwrap_err(),
        PresentationError::SelectorTooLong { len: 5, .. }
    ));

    // Responder: the third acceptable context exceeds the DCS limit.
    let third = oid("1.3.9999.1");
    let mut icfg = initiator_config();
    icfg.proposed_contexts
        .push(ProposedContext::ber(5, third.clone()));
    let mut rcfg = responder_config();
    rcfg.max_contexts = 2;
    rcfg.supported_syntaxes.push(SupportedSyntax::ber(third));
    let mut i = PresentationMachine::new(icfg).unwrap();
    let mut r = PresentationMachine::new(rcfg).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    let ind = r.on_connect_request(&cp).unwrap();
    assert_eq!(
        ind.results[2],
        ContextResult::provider_rejection(ResultReason::LocalLimitOnDcsExceeded)
    );
    // Overriding cannot exceed the limit either; swapping can.
    assert_eq!(
        r.set_context_result(5, ContextDecision::Accept(known::BER)),
        Err(PresentationError::TooManyContexts { count: 3, limit: 2 })
    );
    r.set_context_result(
        3,
        ContextDecision::ProviderRejection(ResultReason::LocalLimitOnDcsExceeded),
    )
    .unwrap();
    r.set_context_result(5, ContextDecision::Accept(known::BER))
        .unwrap();
    let cpa = r.accept(None).unwrap();
    let conf = i.on_connect_accept(&cpa).unwrap();
    assert_eq!(
        conf.accepted.iter().map(|c| c.pcid).collect::<Vec<_>>(),
        vec![1, 5]
    );

    // Too many definitions: refused with local-limit-exceeded.
    let mut rcfg = responder_config();
    rcfg.max_proposed_contexts = 4;
    rcfg.max_contexts = 2;
    let cp = encode_cp(
        &Cp {
            contexts: (0..5)
                .map(|k| ContextDefinition {
                    id: 2 * k + 1,
                    abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
                    transfer_syntaxes: vec![known::BER],
                })
                .collect(),
            ..Cp::default()
        },
        EncodeStyle::Canonical,
    );
    let mut r = PresentationMachine::new(rcfg).unwrap();
    let f = r.on_connect_request(&cp).unwrap_err();
    assert_eq!(
        f.error,
        PresentationError::TooManyContexts { count: 5, limit: 4 }
    );
    assert_eq!(
        decode_cpr(&f.cpr_bytes.unwrap()).unwrap().provider_reason,
        Some(ProviderReason::LocalLimitExceeded)
    );
}

// ------------------------------------------------------------------------ never panics

/// A machine in every state (both roles where they differ).
fn machines_in_every_state() -> Vec<PresentationMachine> {
    let mut out = Vec::new();
    out.push(PresentationMachine::new(responder_config()).unwrap());
    let mut i = PresentationMachine::new(initiator_config()).unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, hex(AARQ)))
        .unwrap();
    out.push(i.clone());
    let mut r = PresentationMachine::new(responder_config()).unwrap();
    r.on_connect_request(&cp).unwrap();
    out.push(r.clone());
    let (i, r) = connected_pair();
    out.push(i.clone());
    out.push(r.clone());
    let mut req = i.clone();
    req.release_user_data(ReleaseKind::Request, None).unwrap();
    out.push(req.clone());
    let mut ind = r.clone();
    ind.on_release_user_data(ReleaseKind::Request, &[]).unwrap();
    out.push(ind.clone());
    let mut coll = req.clone();
    coll.on_release_user_data(ReleaseKind::Request, &[])
        .unwrap();
    out.push(coll);
    let mut closed = ind;
    closed
        .release_user_data(ReleaseKind::Response, None)
        .unwrap();
    out.push(closed);
    let mut aborted = i;
    aborted.user_abort(None).unwrap();
    out.push(aborted);
    let states: std::collections::HashSet<_> = out.iter().map(|m| m.state()).collect();
    assert_eq!(states.len(), 9);
    out
}

/// Valid PPDUs of every kind, to be mutated.
fn seeds() -> Vec<Vec<u8>> {
    let (cp, _) = isode_like_cp();
    vec![
        after(CN, "c1b5"),
        after(AC, "c174"),
        after(TD1, "02f08001000100"),
        after(FN, "c10e"),
        cp,
        encode_cpr(
            &Cpr {
                provider_reason: Some(ProviderReason::TemporaryCongestion),
                ..Cpr::default()
            },
            EncodeStyle::Canonical,
        ),
        arp(6, 7),
        encode_abort(
            &Abort::Aru(Aru {
                contexts: vec![ContextIdentifier {
                    id: 1,
                    transfer_syntax: known::BER,
                }],
                user_data: Some(UserData::single_asn1(1, hex(ABRT))),
            }),
            EncodeStyle::Rfc1698,
        ),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (
            0..seeds.len(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            any::<usize>()
        )
            .prop_map(move |(k, edits, cut)| {
                let mut s = seeds[k].clone();
                for (at, b) in edits {
                    let n = s.len();
                    s[at % n] = b;
                }
                let keep = s.len() - cut % (s.len() / 4 + 1);
                s.truncate(keep);
                s
            }),
    ]
}

fn check_failure(before: &PresentationMachine, after: &PresentationMachine, f: &ProtocolFailure) {
    match (&f.error, &f.arp_bytes) {
        (PresentationError::IllegalPrimitive { .. }, None) => assert_eq!(after, before),
        (_, Some(arp)) => {
            assert_eq!(after.state(), PresentationState::Aborted);
            assert!(matches!(decode_abort(arp), Ok(Abort::Arp(_))));
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn received_octets_never_panic_in_any_state(bytes in input()) {
        for m in machines_in_every_state() {
            let mut x = m.clone();
            match x.on_connect_request(&bytes) {
                Ok(_) => prop_assert_eq!(x.state(), PresentationState::AwaitingConnectResponse),
                Err(f) if f.cpr_bytes.is_none() => prop_assert_eq!(&x, &m),
                Err(f) => {
                    prop_assert_eq!(x.state(), PresentationState::Closed);
                    prop_assert!(decode_cpr(&f.cpr_bytes.unwrap()).is_ok());
                }
            }
            let mut x = m.clone();
            if let Err(f) = x.on_connect_accept(&bytes) {
                check_failure(&m, &x, &f);
            }
            let _ = m.clone().on_connect_refuse(&bytes);
            let mut x = m.clone();
            if let Err(f) = x.on_data(&bytes) {
                check_failure(&m, &x, &f);
            }
            for kind in [ReleaseKind::Request, ReleaseKind::Response] {
                let mut x = m.clone();
                if let Err(f) = x.on_release_user_data(kind, &bytes) {
                    check_failure(&m, &x, &f);
                }
            }
            let mut x = m.clone();
            match x.on_abort(&bytes) {
                Ok(_) => prop_assert_eq!(x.state(), PresentationState::Aborted),
                Err(e) => {
                    prop_assert!(
                        matches!(e, PresentationError::IllegalPrimitive { .. }),
                        "unexpected error {:?}",
                        e
                    );
                    prop_assert_eq!(&x, &m);
                }
            }
        }
    }
}
