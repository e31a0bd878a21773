//! Exact octets from spec/RFC1698-OCTETS.md and the golden libiec61850 trace (PEERS.md 6).

use guls_ber::{BitString, ErrorKind, Layer, Oid, known, parse_hex, to_hex};
use guls_presentation::*;

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).unwrap()
}

/// The octets of `line` after the first occurrence of `marker` (both hex).
fn after(line: &str, marker: &str) -> Vec<u8> {
    let line = line.to_ascii_lowercase();
    let i = line.find(&marker.to_ascii_lowercase()).unwrap();
    hex(&line[i + marker.len()..])
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

// ---------------------------------------------------------------- golden libiec61850 trace

const CN: &str = "030000d402f0800dcb0506130100160102140200023302000134020001c1b53181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
const AC: &str = "0300008f02f0800e8605061301001601021402000234020001c1743172a003800101a26b830400000001a512300780010081025101300780010081025101614f304d020101a0486146a107060528ca220203a203020100a305a103020100be2f282d020103a028a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118";
const TD1: &str = "0300001b02f08001000100610e300c020103a007a0050201018200";
const TD2: &str = "0300003002f0800100010061233021020103a01ca11a020101a21580024d5a8108626173696320696f8205312e342e32";
const TD3: &str = "0300001602f0800100010061093007020103a0028b00";
const TD4: &str = "0300001602f0800100010061093007020103a0028c00";
const FN: &str = "0300001902f0800910c10e610c300a020101a0056203800100";
const DN: &str = "0300001602f0800a0dc10b61093007020101a0026300";

fn golden_contexts() -> Vec<ContextDefinition> {
    vec![
        ContextDefinition {
            id: 1,
            abstract_syntax: known::ACSE_ABSTRACT_SYNTAX,
            transfer_syntaxes: vec![known::BER],
        },
        ContextDefinition {
            id: 3,
            abstract_syntax: known::MMS_ABSTRACT_SYNTAX,
            transfer_syntaxes: vec![known::BER],
        },
    ]
}

#[test]
fn golden_cp_decodes_field_by_field_and_reencodes() {
    let bytes = after(CN, "c1b5");
    assert_eq!(&bytes[..3], &[0x31, 0x81, 0xb2]);
    let cp = decode_cp(&bytes).unwrap();
    assert_eq!(cp.protocol_version, None);
    assert_eq!(cp.calling_selector.as_deref(), Some(&[0, 0, 0, 1][..]));
    assert_eq!(cp.called_selector.as_deref(), Some(&[0, 0, 0, 1][..]));
    assert_eq!(cp.contexts, golden_contexts());
    assert_eq!(cp.contexts[0].abstract_syntax.to_string(), "2.2.1.0.1");
    assert_eq!(cp.contexts[1].abstract_syntax.to_string(), "1.0.9506.2.1");
    assert_eq!(cp.default_context, None);
    assert_eq!(cp.presentation_requirements, None);
    assert_eq!(cp.user_session_requirements, None);
    let ud = cp.user_data.as_ref().unwrap();
    let l = &ud.pdv_lists()[0];
    assert_eq!(ud.pdv_lists().len(), 1);
    assert_eq!((l.pcid, l.transfer_syntax.is_none()), (1, true));
    assert_eq!(l.encoding_name(), "single-asn1-type");
    assert_eq!(l.value_bytes().len(), 0x70);
    assert_eq!(&l.value_bytes()[..3], &[0x60, 0x6e, 0xa1]);

    let built = Cp {
        calling_selector: Some(vec![0, 0, 0, 1]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: golden_contexts(),
        user_data: Some(UserData::single_asn1(1, l.value_bytes().to_vec())),
        ..Cp::default()
    };
    assert_eq!(
        to_hex(&encode_cp(&built, EncodeStyle::Canonical)),
        to_hex(&bytes)
    );
}

#[test]
fn golden_cpa_decodes_and_reencodes() {
    let bytes = after(AC, "c174");
    assert!(to_hex(&bytes).starts_with("3172a003800101a26b830400000001a512"));
    let cpa = decode_cpa(&bytes).unwrap();
    assert_eq!(cpa.responding_selector.as_deref(), Some(&[0, 0, 0, 1][..]));
    assert_eq!(
        cpa.results,
        vec![
            ContextResult::accept(known::BER),
            ContextResult::accept(known::BER)
        ]
    );
    assert_eq!(cpa.results[0].result.name(), "acceptance");
    let l = &cpa.user_data.as_ref().unwrap().pdv_lists()[0];
    assert_eq!(l.pcid, 1);
    assert_eq!(&l.value_bytes()[..2], &[0x61, 0x46]);
    let built = Cpa {
        responding_selector: Some(vec![0, 0, 0, 1]),
        results: vec![ContextResult::accept(known::BER); 2],
        user_data: Some(UserData::single_asn1(1, l.value_bytes().to_vec())),
        ..Cpa::default()
    };
    assert_eq!(
        to_hex(&encode_cpa(&built, EncodeStyle::Canonical)),
        to_hex(&bytes)
    );
}

#[test]
fn golden_data_tds_decode_and_reencode() {
    for (line, value) in [
        (TD1, "a0050201018200"),
        (
            TD2,
            "a11a020101a21580024d5a8108626173696320696f8205312e342e32",
        ),
        (TD3, "8b00"),
        (TD4, "8c00"),
    ] {
        let bytes = after(line, "02f08001000100");
        let ud = decode_user_data(&bytes).unwrap();
        let expected = UserData::single_asn1(3, hex(value));
        assert_eq!(ud, expected);
        assert_eq!(encode_td(&expected, EncodeStyle::Canonical), bytes);
    }
    assert_eq!(
        to_hex(&after(TD1, "02f08001000100")),
        "610e300c020103a007a0050201018200"
    );
}

#[test]
fn golden_release_user_data() {
    let fnd = after(FN, "c10e");
    assert_eq!(to_hex(&fnd), "610c300a020101a0056203800100");
    let rlrq = UserData::single_asn1(1, hex("6203800100"));
    assert_eq!(decode_user_data(&fnd).unwrap(), rlrq);
    assert_eq!(encode_release_user_data(&rlrq, EncodeStyle::Canonical), fnd);

    let dnd = after(DN, "c10b");
    let rlre = UserData::single_asn1(1, hex("6300"));
    assert_eq!(decode_user_data(&dnd).unwrap(), rlre);
    assert_eq!(encode_release_user_data(&rlre, EncodeStyle::Canonical), dnd);
}

// ---------------------------------------------------------------- RFC 1698 Part B / Part A

const B1A: &str = "0D8905061301001601021402000234020001C1773180A0808001010000A280820400000001A4803080020101060452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080020101A0806080A180060528D73403030000BE80288006025101020103A00302012A00000000000000000000000000000000";
const B1B: &str = "0D930506130100160102140200023302000234020001C17D3180A0808001010000A280810400000002820400000001A4803080020101060452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080020101A0806080A180060528D73403030000BE80288006025101020103A00302012A00000000000000000000000000000000";
const B4A: &str = "0100010061803080020103818300000302012A00000000";
const B4B: &str = "0100010061803080020103A08300000302012A00000000";

/// The AARQ of B.1a as one complete value. The brief's string
/// `6080…2A00000000` stops after the EXTERNAL's and user-information's end-of-contents; the
/// AARQ's own `00 00` follows in the RFC octets.
const AARQ: &str = "6080A180060528D73403030000BE80288006025101020103A00302012A000000000000";

fn rfc_contexts() -> Vec<ContextDefinition> {
    vec![
        ContextDefinition {
            id: 1,
            abstract_syntax: oid("2.2.1.0.1"),
            transfer_syntaxes: vec![oid("2.1.1")],
        },
        ContextDefinition {
            id: 3,
            abstract_syntax: oid("1.0.11188.3.1.1"),
            transfer_syntaxes: vec![oid("2.1.1")],
        },
    ]
}

fn rfc_cp(calling: bool) -> Cp {
    Cp {
        calling_selector: calling.then(|| vec![0, 0, 0, 2]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: rfc_contexts(),
        user_data: Some(UserData::single_asn1(1, hex(AARQ))),
        ..Cp::default()
    }
}

#[test]
fn rfc_b1a_cp_byte_for_byte() {
    let bytes = after(B1A, "C177");
    assert_eq!(bytes.len(), 0x77);
    assert_eq!(encode_cp(&rfc_cp(false), EncodeStyle::Rfc1698), bytes);
    let cp = decode_cp(&bytes).unwrap();
    assert_eq!(cp, rfc_cp(false));
    assert_eq!(
        cp.contexts[1].abstract_syntax.to_string(),
        "1.0.11188.3.1.1"
    );
    // the brief's AARQ string is the first 33 octets of the value
    assert!(hex(AARQ).starts_with(&hex(
        "6080A180060528D73403030000BE80288006025101020103A00302012A00000000"
    )));
}

#[test]
fn rfc_b1b_cp_with_calling_selector() {
    let bytes = after(B1B, "C17D");
    assert_eq!(encode_cp(&rfc_cp(true), EncodeStyle::Rfc1698), bytes);
    assert_eq!(decode_cp(&bytes).unwrap(), rfc_cp(true));
}

#[test]
fn rfc_b4_td_byte_for_byte() {
    let a = after(B4A, "01000100");
    let ud = UserData::Full(vec![PdvList::octet_aligned(3, hex("02012A"))]);
    assert_eq!(to_hex(&encode_td(&ud, EncodeStyle::Rfc1698)), to_hex(&a));
    assert_eq!(decode_user_data(&a).unwrap(), ud);

    let b = after(B4B, "01000100");
    let ud = UserData::single_asn1(3, hex("02012A"));
    assert_eq!(to_hex(&encode_td(&ud, EncodeStyle::Rfc1698)), to_hex(&b));
    assert_eq!(decode_user_data(&b).unwrap(), ud);
    // canonical forms of the same values
    assert_eq!(
        to_hex(&encode_td(&ud, EncodeStyle::Canonical)),
        "610a3008020103a00302012a"
    );
}

/// RFC 1698 6.2 with R2 (AARE result `A2 03 02 01 00`, no EOC) and R9 (the rejection item in
/// position, third).
const CPA_62: &str = "3180A0808001010000A280\
    A580\
      3080800100810251010000\
      3080800100810251010000\
      30808001028201000000\
    0000\
    61803080020101A080\
      6180A180060528D73403030000A203020100A380A180020100000000000000\
    00000000000000000000";

#[test]
fn rfc_62_cpa_with_r2_r9() {
    let bytes = hex(CPA_62);
    let cpa = decode_cpa(&bytes).unwrap();
    assert_eq!(cpa.results.len(), 3);
    assert_eq!(cpa.results[0], ContextResult::accept(oid("2.1.1")));
    assert_eq!(cpa.results[1], ContextResult::accept(oid("2.1.1")));
    assert_eq!(
        cpa.results[2],
        ContextResult::provider_rejection(ResultReason::ReasonNotSpecified)
    );
    assert_eq!(cpa.results[2].result.name(), "provider-rejection");
    assert_eq!(
        cpa.results[2].provider_reason.unwrap().name(),
        "reason-not-specified"
    );
    let aare = hex("6180A180060528D73403030000A203020100A380A180020100 0000 0000 0000");
    let built = Cpa {
        results: vec![
            ContextResult::accept(oid("2.1.1")),
            ContextResult::accept(oid("2.1.1")),
            ContextResult::provider_rejection(ResultReason::ReasonNotSpecified),
        ],
        user_data: Some(UserData::single_asn1(1, aare)),
        ..Cpa::default()
    };
    assert_eq!(cpa, built);
    assert_eq!(
        to_hex(&encode_cpa(&built, EncodeStyle::Rfc1698)),
        to_hex(&bytes)
    );
}

#[test]
fn rfc_65_66_release_user_data() {
    // 6.5 with R1: 22 octets (C1 16)
    let rlrq = UserData::single_asn1(1, hex("62808001000000"));
    let fin = encode_release_user_data(&rlrq, EncodeStyle::Rfc1698);
    assert_eq!(to_hex(&fin), "61803080020101a08062808001000000000000000000");
    assert_eq!(fin.len(), 0x16);
    assert_eq!(decode_user_data(&fin).unwrap(), rlrq);
    // 6.6
    let rlre = UserData::single_asn1(1, hex("63808001000000"));
    let dis = encode_release_user_data(&rlre, EncodeStyle::Rfc1698);
    assert_eq!(to_hex(&dis), "61803080020101a08063808001000000000000000000");
    assert_eq!(decode_user_data(&dis).unwrap(), rlre);
}

#[test]
fn rfc_67_aru_with_r4_r5() {
    let abrt = hex("64808001000000");
    let expected = hex("A080A080\
           30800201010602510100 00\
           30800201030602510100 00\
         0000\
         61803080020101A080 64808001000000 0000 0000 0000\
         0000");
    let aru = Abort::Aru(Aru {
        contexts: vec![
            ContextIdentifier {
                id: 1,
                transfer_syntax: oid("2.1.1"),
            },
            ContextIdentifier {
                id: 3,
                transfer_syntax: oid("2.1.1"),
            },
        ],
        user_data: Some(UserData::single_asn1(1, abrt)),
    });
    assert_eq!(
        to_hex(&encode_abort(&aru, EncodeStyle::Rfc1698)),
        to_hex(&expected)
    );
    assert_eq!(decode_abort(&expected).unwrap(), aru);
    assert_eq!(aru.kind_name(), "ARU");
    // canonical
    let canon = encode_abort(&aru, EncodeStyle::Canonical);
    assert_eq!(
        to_hex(&canon),
        "a024a012300702010106025101300702010306025101610e300c020101a00764808001000000"
    );
    assert_eq!(decode_abort(&canon).unwrap(), aru);
}

#[test]
fn aru_with_explicit_context_list_wrapper_is_accepted() {
    let inner = hex("300702010106025101");
    let mut list = vec![0x30, inner.len() as u8];
    list.extend_from_slice(&inner);
    let mut a0 = vec![0xa0, list.len() as u8];
    a0.extend_from_slice(&list);
    let mut aru = vec![0xa0, a0.len() as u8];
    aru.extend_from_slice(&a0);
    let got = decode_abort(&aru).unwrap();
    assert_eq!(
        got,
        Abort::Aru(Aru {
            contexts: vec![ContextIdentifier {
                id: 1,
                transfer_syntax: known::BER
            }],
            user_data: None
        })
    );
    // an explicit empty list
    assert_eq!(
        decode_abort(&hex("a004 a002 3000")).unwrap(),
        Abort::Aru(Aru::default())
    );
}

#[test]
fn arp_fields_and_definite_encoding() {
    let arp = Abort::Arp(Arp {
        abort_reason: Some(AbortReason::InvalidPpduParameterValue),
        event_identifier: Some(EventIdentifier::CpPpdu),
    });
    for style in [EncodeStyle::Canonical, EncodeStyle::Rfc1698] {
        assert_eq!(to_hex(&encode_abort(&arp, style)), "3006800106810100");
    }
    let got = decode_abort(&hex("3006800106810100")).unwrap();
    assert_eq!(got, arp);
    let Abort::Arp(a) = got else { panic!() };
    assert_eq!(
        a.abort_reason.unwrap().name(),
        "invalid-ppdu-parameter-value"
    );
    assert_eq!(a.event_identifier.unwrap().name(), "cp-PPDU");
    // session v1 shape from SIA 8.3.6, and unknown values
    assert_eq!(
        decode_abort(&hex("30038001 01")).unwrap(),
        Abort::Arp(Arp {
            abort_reason: Some(AbortReason::UnrecognizedPpdu),
            event_identifier: None
        })
    );
    assert_eq!(
        decode_abort(&hex("3007800163810200c8")).unwrap(),
        Abort::Arp(Arp {
            abort_reason: Some(AbortReason::Unknown(99)),
            event_identifier: Some(EventIdentifier::Unknown(200)),
        })
    );
    assert_eq!(
        EventIdentifier::from_i64(19).name(),
        "s-sync-minor-indication"
    );
    assert_eq!(
        EventIdentifier::from_i64(32),
        EventIdentifier::SActivityEndConfirm
    );
}

#[test]
fn cpr_fields() {
    let cpr = Cpr {
        protocol_version: Some(ProtocolVersion::VERSION_1),
        responding_selector: Some(vec![0, 1]),
        results: vec![
            ContextResult::accept(known::BER),
            ContextResult {
                result: ResultValue::UserRejection,
                transfer_syntax: None,
                provider_reason: None,
            },
        ],
        default_context_result: Some(ResultValue::ProviderRejection),
        provider_reason: Some(ProviderReason::DefaultContextNotSupported),
        user_data: Some(UserData::Simple(b"no".to_vec())),
    };
    let bytes = encode_cpr(&cpr, EncodeStyle::Canonical);
    assert_eq!(
        to_hex(&bytes),
        "30228002078083020001a50e30078001008102510130038001018701028a010540026e6f"
    );
    assert_eq!(decode_cpr(&bytes).unwrap(), cpr);
    assert_eq!(
        decode_cpr(&encode_cpr(&cpr, EncodeStyle::Rfc1698)).unwrap(),
        cpr
    );
    assert_eq!(
        cpr.provider_reason.unwrap().name(),
        "default-context-not-supported"
    );
}

#[test]
fn cp_with_every_parameter_and_named_bits() {
    let cp = Cp {
        protocol_version: Some(ProtocolVersion::VERSION_1),
        calling_selector: Some(vec![]),
        called_selector: Some(vec![1, 2, 3, 4]),
        contexts: rfc_contexts(),
        default_context: Some(DefaultContextName {
            abstract_syntax: oid("1.0.11188.3.1.1"),
            transfer_syntax: oid("2.1.1"),
        }),
        presentation_requirements: Some(PresentationRequirements {
            context_management: false,
            restoration: true,
        }),
        user_session_requirements: Some(UserSessionRequirements::DUPLEX),
        user_data: Some(UserData::Simple(vec![9, 9])),
    };
    let bytes = encode_cp(&cp, EncodeStyle::Canonical);
    let s = to_hex(&bytes);
    assert!(s.contains("80020780"), "{s}"); // version-1, one named bit
    assert!(s.contains("a60c800628d73403010181025101"), "{s}");
    assert!(s.contains("88020640"), "{s}"); // restoration, both named bits
    assert!(s.contains("8903054000"), "{s}"); // duplex, all 11 named bits
    assert_eq!(decode_cp(&bytes).unwrap(), cp);
    assert_eq!(
        decode_cp(&encode_cp(&cp, EncodeStyle::Rfc1698)).unwrap(),
        cp
    );
}

// ---------------------------------------------------------------- leniency

#[test]
fn mode_selector_after_normal_mode_parameters() {
    // B.1a CP with the {6} group moved to the end of the SET
    let bytes = after(B1A, "C177");
    let mode = hex("A0808001010000");
    let mut moved = vec![0x31, 0x80];
    moved.extend_from_slice(&bytes[2 + mode.len()..bytes.len() - 2]);
    moved.extend_from_slice(&mode);
    moved.extend_from_slice(&[0, 0]);
    assert_eq!(moved.len(), bytes.len());
    assert_eq!(decode_cp(&moved).unwrap(), rfc_cp(false));
}

fn tlv(tag: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = hex(tag);
    let body: Vec<u8> = parts.concat();
    guls_ber::encode_length(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

#[test]
fn unknown_elements_and_bits_skipped_in_cp() {
    // protocol-options [11], nominated context [12], a 3-octet private tag, unknown bits, an
    // unknown SET member, and an extension after a context-definition item's t-s list
    let item = tlv("30", &[&hex("020103 060151 3000"), &hex("0500")]);
    let normal = tlv(
        "a2",
        &[
            &hex("8b020680 8c0103 df8f7f01ff 890300ffff 880305ffe0"),
            &tlv("a4", &[&item]),
        ],
    );
    let cp = tlv("31", &[&hex("9f2000"), &normal, &hex("a006 800101 bf2100")]);
    let got = decode_cp(&cp).unwrap();
    assert_eq!(
        got.contexts,
        vec![ContextDefinition {
            id: 3,
            abstract_syntax: oid("2.1"),
            transfer_syntaxes: vec![]
        }]
    );
    let u = got.user_session_requirements.unwrap();
    assert!(u.half_duplex && u.typed_data && u.duplex);
    let p = got.presentation_requirements.unwrap();
    assert!(p.context_management && p.restoration);
    assert_eq!(got.user_data, None);
}

#[test]
fn non_minimal_long_and_indefinite_lengths() {
    // golden TD1 with every length non-minimal long form
    let bytes = hex("61 84 00 00 00 11 30 82 00 0d 02 01 03 a0 81 07 a0 05 02 01 01 82 00");
    assert_eq!(
        decode_user_data(&bytes).unwrap(),
        UserData::single_asn1(3, hex("a0050201018200"))
    );
    // two-octet pcid 0x0101 = 257 and a pcid 200 sent as 00 c8
    let bytes = hex("6116 300902020101 8103010203 3009020200c8 8103040506");
    let ud = decode_user_data(&bytes).unwrap();
    assert_eq!(ud.pdv_lists()[0].pcid, 257);
    assert_eq!(ud.pdv_lists()[1].pcid, 200);
}

#[test]
fn constructed_octet_aligned_and_simple_data() {
    // A1 with primitive 04 pieces (RFC 1698 6.4 / 4.5)
    let bytes = hex("6110 300e 020103 a109 0402 0102 0403 030405");
    let ud = decode_user_data(&bytes).unwrap();
    assert_eq!(
        ud,
        UserData::Full(vec![PdvList::octet_aligned(3, vec![1, 2, 3, 4, 5])])
    );
    assert_eq!(ud.pdv_lists()[0].encoding_name(), "octet-aligned");
    // a piece that is itself constructed is refused (one level only)
    let bad = hex("6110 300e 020103 a109 2402 0400 0403 030405");
    assert!(decode_user_data(&bad).is_err());
    // simply-encoded data, primitive and constructed
    assert_eq!(
        decode_user_data(&hex("4003010203")).unwrap(),
        UserData::Simple(vec![1, 2, 3])
    );
    assert_eq!(
        decode_user_data(&hex("6005 0403 010203")).unwrap(),
        UserData::Simple(vec![1, 2, 3])
    );
    // arbitrary
    let arb = UserData::Full(vec![PdvList {
        transfer_syntax: Some(known::BER),
        pcid: 5,
        value: PdvValue::Arbitrary(BitString {
            unused_bits: 3,
            bytes: vec![0xa8],
        }),
    }]);
    let enc = encode_td(&arb, EncodeStyle::Canonical);
    assert_eq!(to_hex(&enc), "610d300b06025101020105820203a8");
    assert_eq!(decode_user_data(&enc).unwrap(), arb);
    assert_eq!(arb.pdv_lists()[0].encoding_name(), "arbitrary");
}

#[test]
fn several_values_in_one_pdv_list_are_split() {
    // R12: 30 { 02 01 03 A0 {02 01 01} A0 {02 01 02} 81 {aa} }
    let bytes = hex("6112 3010 020103 a003020101 a003020102 8101aa");
    let ud = decode_user_data(&bytes).unwrap();
    assert_eq!(
        ud,
        UserData::Full(vec![
            PdvList::single_asn1(3, hex("020101")),
            PdvList::single_asn1(3, hex("020102")),
            PdvList::octet_aligned(3, vec![0xaa]),
        ])
    );
    // re-encoded in the SIA 8.5 shape, a series of PDV-lists
    assert_eq!(
        to_hex(&encode_td(&ud, EncodeStyle::Canonical)),
        "611c3008020103a0030201013008020103a00302010230060201038101aa"
    );
}

#[test]
fn default_context_name_untagged_form_accepted() {
    let tagged = hex("a60c 8006 28d734030101 81025101");
    let untagged = hex("a60c 0606 28d734030101 06025101");
    for dcn in [tagged, untagged] {
        let cp = tlv("31", &[&hex("a003800101"), &tlv("a2", &[&dcn])]);
        let got = decode_cp(&cp).unwrap();
        let d = got.default_context.unwrap();
        assert_eq!(d.abstract_syntax.to_string(), "1.0.11188.3.1.1");
        assert_eq!(d.transfer_syntax.to_string(), "2.1.1");
    }
}

#[test]
fn pcid_parity_and_range_left_to_the_machine() {
    let ud = decode_user_data(&hex("6109 3007 020102 a0020500")).unwrap();
    assert_eq!(ud.pdv_lists()[0].pcid, 2);
    assert!(!is_valid_pcid(2));
    assert!(
        is_valid_pcid(1) && is_valid_pcid(32767) && !is_valid_pcid(32769) && !is_valid_pcid(-1)
    );
    // 4 contents octets (plus a sign octet) accepted, 5 refused
    assert_eq!(
        decode_user_data(&hex("610d 300b 020500ffffffff a0020500"))
            .unwrap()
            .pdv_lists()[0]
            .pcid,
        0xffff_ffff
    );
    let e = decode_user_data(&hex("610d 300b 02050100000000 a0020500")).unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::IntegerTooLong { max_octets: 4, .. }),
        "{e}"
    );
    assert_eq!(e.offset, 4);
}

// ---------------------------------------------------------------- errors

fn cp_error(bytes: &[u8]) -> guls_ber::DecodeError {
    let e = decode_cp(bytes).unwrap_err();
    assert_eq!(e.layer, Layer::Presentation);
    e
}

#[test]
fn libiec61850_252_poc() {
    let tpkt = hex("03 00 00 17 02 f0 80 0d 0e c1 0c 31 0a ff 08 bb bb bb bb bb bb bb bb");
    let ppdu = &tpkt[11..];
    assert_eq!(ppdu, &hex("310aff08bbbbbbbbbbbbbbbb")[..]);
    let e = cp_error(ppdu);
    assert_eq!(e.offset, 2, "{e}");
    assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "{e}");
    // the same CP without the broken element: the mode selector is missing
    let e = cp_error(&hex("3100"));
    assert_eq!(e.kind, ErrorKind::Missing("mode-selector"));
    // normal mode but no normal-mode-parameters
    let e = cp_error(&hex("3105a003800101"));
    assert_eq!(
        (e.offset, e.kind),
        (0, ErrorKind::Missing("normal-mode-parameters"))
    );
    let e = decode_cpa(&hex("3105a003800101")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Missing("normal-mode-parameters"));
}

#[test]
fn libiec61850_368_poc() {
    let tpkt = hex("0300001602f0800d0d0100c1013181020001a2020000");
    // CN: 0d 0d | 01 00 (connection id, empty) | c1 01 <31> | 81 02 00 01 | a2 02 00 00
    let pgi = &tpkt[13..14];
    assert_eq!(pgi, &[0x31]);
    let e = cp_error(pgi);
    assert!(
        matches!(e.kind, ErrorKind::Truncated { what: "length", .. }),
        "{e}"
    );
    // a parser that takes the rest of the SPDU as the PPDU
    let rest = &tpkt[13..];
    let e = cp_error(rest);
    assert_eq!(
        (e.offset, e.kind),
        (
            5,
            ErrorKind::Trailing {
                what: "CP-type",
                count: 4
            }
        )
    );
}

#[test]
fn x410_mode_is_a_typed_error() {
    let e = cp_error(&hex("3109 a003800100 a1020500"));
    assert_eq!(e.offset, 4);
    assert!(
        matches!(
            e.kind,
            ErrorKind::Unexpected {
                expected: "normal-mode (1)",
                ..
            }
        ),
        "{e}"
    );
    let e = cp_error(&hex("3107 a003800107 a200"));
    assert_eq!(e.kind, ErrorKind::Invalid("mode-value"));
    let e = decode_cpr(&hex("3100")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unexpected { .. }));
    let e = decode_abort(&hex("3100")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unexpected { .. }));
}

#[test]
fn selector_limit() {
    let cp = hex("310e a003800101 a207 8205 0102030405");
    let e = cp_error(&cp);
    assert_eq!(e.offset, 9);
    assert_eq!(
        e.kind,
        ErrorKind::LimitExceeded {
            what: "called-presentation-selector",
            limit: 4
        }
    );
    let got = decode_cp_with(&cp, &DecodeOptions::dissector()).unwrap();
    assert_eq!(got.called_selector, Some(vec![1, 2, 3, 4, 5]));
    let opts = DecodeOptions {
        max_selector_len: Some(8),
        ..DecodeOptions::default()
    };
    assert!(decode_cp_with(&cp, &opts).is_ok());
}

#[test]
fn truncations_overruns_and_trailing() {
    let good = after(CN, "c1b5");
    for n in 0..good.len() {
        let e = decode_cp(&good[..n]).unwrap_err();
        assert_eq!(e.layer, Layer::Presentation);
        assert!(e.offset <= n, "offset {} beyond input {n}", e.offset);
    }
    let mut trailing = good.clone();
    trailing.push(0);
    let e = decode_cp(&trailing).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (
            good.len(),
            ErrorKind::Trailing {
                what: "CP-type",
                count: 1
            }
        )
    );
    // inner overrun: the PDV-list claims more than the User-data holds
    let e = decode_user_data(&hex("6105 3009 020103")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Truncated { .. }));
    assert_eq!(e.offset, 2);
    // huge lengths
    for h in [
        "61 88 ff ff ff ff ff ff ff ff",
        "61 84 7f ff ff ff 30",
        "61 ff",
        "61 89 01 00 00 00 00 00 00 00 00",
    ] {
        let e = decode_user_data(&hex(h)).unwrap_err();
        assert_eq!(e.offset, 0, "{h}: {e}");
    }
    // empty input
    assert_eq!(
        decode_abort(&[]).unwrap_err().kind,
        ErrorKind::Missing("Abort-type")
    );
    // missing PDV pieces
    assert_eq!(
        decode_user_data(&hex("6105 3003 020103")).unwrap_err().kind,
        ErrorKind::Missing("presentation-data-values")
    );
    assert!(matches!(
        decode_user_data(&hex("6107 3005 020103 8300"))
            .unwrap_err()
            .kind,
        ErrorKind::Unexpected { .. }
    ));
    // duplicate components
    let e = cp_error(&hex("310f a003800101 a003800101 a2038201 01"));
    assert!(matches!(e.kind, ErrorKind::Unexpected { .. }), "{e}");
}

#[test]
fn nesting_bombs() {
    // 10 000 nested indefinite [0] inside a PDV value
    let mut v = hex("61803080020103");
    v.extend(std::iter::repeat_n([0xa0u8, 0x80], 10_000).flatten());
    v.extend(std::iter::repeat_n(0u8, 2 * 10_000 + 4));
    let e = decode_user_data(&v).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TooDeep { .. }), "{e}");
    // definite nesting through the single-ASN1-type wrapper is bounded by the input length
    let mut d: Vec<u8> = vec![0x05, 0x00];
    for _ in 0..60 {
        let mut n = vec![0x30];
        guls_ber::encode_length(d.len(), &mut n);
        n.extend_from_slice(&d);
        d = n;
    }
    let ud = UserData::single_asn1(3, d.clone());
    let enc = encode_td(&ud, EncodeStyle::Canonical);
    assert_eq!(decode_user_data(&enc).unwrap(), ud);
    // and a shallower depth limit is honoured
    let opts = DecodeOptions {
        max_depth: 2,
        ..DecodeOptions::default()
    };
    let e = decode_user_data_with(&after(TD1, "02f08001000100"), &opts).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TooDeep { limit: 2 }), "{e}");
}
