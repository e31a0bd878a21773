//! Exact-octet vectors: the libiec61850 golden trace (PEERS.md section 6) and the RFC 1698
//! section 6 templates (RFC1698-OCTETS.md Part A / B.1a, with the Part C fixes).

use guls_acse::*;
use guls_ber::{ErrorKind, Layer, known, parse_hex, to_hex};

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).unwrap()
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

/// The AARQ inside the golden CN's CP user data (PEERS.md section 6).
const GOLDEN_AARQ: &str = "606ea107060528ca220203a20706052901876701a30302010ca606060429018767\
a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde8\
81010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";

/// The AARE inside the golden AC's CPA user data.
const GOLDEN_AARE: &str = "6146a107060528ca220203a203020100a305a103020100be2f282d020103a028\
a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118";

/// MMS Initiate-Request carried in the golden AARQ's user-information.
const MMS_INITIATE_REQUEST: &str =
    "a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
/// MMS Initiate-Response carried in the golden AARE's user-information.
const MMS_INITIATE_RESPONSE: &str =
    "a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118";

fn golden_aarq_value() -> Aarq {
    let mut a = Aarq::new(known::MMS_APPLICATION_CONTEXT).with_password(b"user1@testpw");
    a.called_ap_title = Some(ApTitle::Form2(oid("1.1.1.999.1")));
    a.called_ae_qualifier = Some(AeQualifier::Form2(12));
    a.calling_ap_title = Some(ApTitle::Form2(oid("1.1.1.999")));
    a.calling_ae_qualifier = Some(AeQualifier::Form2(12));
    a.user_information = vec![External::single_asn1(3, hex(MMS_INITIATE_REQUEST))];
    a
}

#[test]
fn golden_aarq_encodes_byte_for_byte() {
    let apdu = Apdu::Aarq(golden_aarq_value());
    assert_eq!(to_hex(&apdu.encode()), GOLDEN_AARQ);
}

#[test]
fn golden_aarq_decodes_field_by_field() {
    let Apdu::Aarq(a) = Apdu::decode(&hex(GOLDEN_AARQ)).unwrap() else {
        panic!("not an AARQ")
    };
    assert_eq!(a.protocol_version, ProtocolVersion { version1: true });
    assert_eq!(a.application_context_name.to_string(), "1.0.9506.2.3");
    assert_eq!(a.called_ap_title, Some(ApTitle::Form2(oid("1.1.1.999.1"))));
    assert_eq!(a.called_ae_qualifier, Some(AeQualifier::Form2(12)));
    assert_eq!(a.called_ap_invocation_id, None);
    assert_eq!(a.called_ae_invocation_id, None);
    assert_eq!(a.calling_ap_title, Some(ApTitle::Form2(oid("1.1.1.999"))));
    assert_eq!(a.calling_ae_qualifier, Some(AeQualifier::Form2(12)));
    assert_eq!(a.calling_ap_invocation_id, None);
    assert_eq!(a.calling_ae_invocation_id, None);
    // `8a 02 04 80`: four named bits, only authentication set.
    assert_eq!(
        a.sender_acse_requirements,
        Some(AcseRequirements {
            authentication: true,
            application_context_negotiation: false,
            higher_level_association: false,
            nested_association: false,
        })
    );
    assert_eq!(a.mechanism_name.as_ref().unwrap().to_string(), "2.2.3.1");
    let v = a.calling_authentication_value.as_ref().unwrap();
    assert_eq!(v.kind_name(), "charstring");
    assert_eq!(v.len(), 12);
    assert_eq!(v.charstring(), Some(&b"user1@testpw"[..]));
    assert!(v.matches_charstring(b"user1@testpw"));
    assert!(!v.matches_charstring(b"user1@testpx"));
    assert!(!v.matches_charstring(b"user1@testp"));
    assert_eq!(a.password(), Some(&b"user1@testpw"[..]));
    assert!(a.application_context_name_list.is_empty());
    assert_eq!(a.implementation_information, None);
    assert_eq!(a.user_information.len(), 1);
    let x = &a.user_information[0];
    assert_eq!(x.direct_reference, None);
    assert_eq!(x.indirect_reference, Some(3));
    assert_eq!(x.data_value_descriptor, None);
    assert_eq!(
        x.encoding,
        ExternalEncoding::SingleAsn1Type(hex(MMS_INITIATE_REQUEST))
    );
    assert_eq!(a, golden_aarq_value());
}

#[test]
fn golden_aare_round_trip() {
    let mut expected = Aare::accepted(known::MMS_APPLICATION_CONTEXT);
    expected.user_information = vec![External::single_asn1(3, hex(MMS_INITIATE_RESPONSE))];
    let Apdu::Aare(a) = Apdu::decode(&hex(GOLDEN_AARE)).unwrap() else {
        panic!("not an AARE")
    };
    assert_eq!(a.application_context_name.to_string(), "1.0.9506.2.3");
    assert_eq!(a.result, AssociateResult::Accepted);
    assert_eq!(
        a.result_source_diagnostic,
        ResultSourceDiagnostic::ServiceUser(UserDiagnostic::Null)
    );
    assert_eq!(
        a.result_source_diagnostic.source(),
        ResultSource::AcseServiceUser
    );
    assert_eq!(a.responding_authentication_value, None);
    assert_eq!(a.user_information[0].indirect_reference, Some(3));
    assert_eq!(a, expected);
    assert_eq!(to_hex(&Apdu::Aare(expected).encode()), GOLDEN_AARE);
}

#[test]
fn golden_release_pair() {
    // FN + RLRQ(normal) and DN + RLRE from the trace.
    assert_eq!(
        Apdu::decode(&hex("6203800100")).unwrap(),
        Apdu::Rlrq(Rlrq::normal())
    );
    assert_eq!(Apdu::Rlrq(Rlrq::normal()).encode(), hex("6203800100"));
    let rlre = Apdu::decode(&hex("6300")).unwrap();
    assert_eq!(rlre, Apdu::Rlre(Rlre::default()));
    assert_eq!(rlre.encode(), hex("6300"));
    assert_eq!(Apdu::Rlre(Rlre::normal()).encode(), hex("6303800100"));
}

fn ber_integer_42_external(direct: bool) -> External {
    let mut x = External::single_asn1(3, hex("02012A"));
    if direct {
        x.direct_reference = Some(known::BER);
    }
    x
}

#[test]
fn rfc1698_b1a_aarq_indefinite_template() {
    let mut a = Aarq::new(oid("1.0.11188.3.3"));
    a.user_information = vec![ber_integer_42_external(true)];
    let apdu = Apdu::Aarq(a);
    let bytes = apdu.encode_with(LengthForm::Indefinite);
    assert_eq!(
        bytes,
        hex("6080A180060528D73403030000BE80288006025101020103A00302012A000000000000")
    );
    assert_eq!(Apdu::decode(&bytes).unwrap(), apdu);
    // The canonical form of the same value.
    assert_eq!(
        apdu.encode(),
        hex("6019A107060528D7340303BE0E280C06025101020103A00302012A")
    );
    // The whole B.1a TSDU carries exactly these octets at offset 94.
    let tsdu = hex(
        "0D8905061301001601021402000234020001C1773180A0808001010000A280820400000001A480308002010106\
         0452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080\
         020101A0806080A180060528D73403030000BE80288006025101020103A00302012A000000000000000000000000\
         00000000",
    );
    assert_eq!(&tsdu[94..94 + bytes.len()], &bytes[..]);
}

#[test]
fn rfc1698_6_2_aare_indefinite_template_with_r2() {
    let mut a = Aare::accepted(oid("1.0.11188.3.3"));
    a.user_information = vec![ber_integer_42_external(false)];
    let apdu = Apdu::Aare(a);
    let bytes = apdu.encode_with(LengthForm::Indefinite);
    assert_eq!(
        to_hex(&bytes),
        "6180a180060528d73403030000a203020100a380a18002010000000000\
         be802880020103a00302012a000000000000"
    );
    assert_eq!(Apdu::decode(&bytes).unwrap(), apdu);
    // R2: the indefinite result wrapper is accepted too.
    let alt = hex(
        "6180a180060528d73403030000a2800201000000a380a18002010000000000\
         be802880020103a00302012a000000000000",
    );
    assert_eq!(Apdu::decode(&alt).unwrap(), apdu);
}

#[test]
fn rfc1698_6_5_6_6_release_templates() {
    let rlrq = Apdu::Rlrq(Rlrq::normal());
    assert_eq!(
        rlrq.encode_with(LengthForm::Indefinite),
        hex("628080010000 00")
    );
    let mut with_ui = Rlrq::normal();
    with_ui.user_information = vec![ber_integer_42_external(false)];
    let with_ui = Apdu::Rlrq(with_ui);
    let bytes = with_ui.encode_with(LengthForm::Indefinite);
    assert_eq!(bytes, hex("6280800100BE802880020103A00302012A000000000000"));
    assert_eq!(Apdu::decode(&bytes).unwrap(), with_ui);
    let rlre = Apdu::Rlre(Rlre::normal());
    assert_eq!(
        rlre.encode_with(LengthForm::Indefinite),
        hex("63808001000000")
    );
    assert_eq!(Apdu::decode(&hex("63808001000000")).unwrap(), rlre);
}

#[test]
fn rfc1698_6_7_abort_template_with_r5() {
    let abrt = Apdu::Abrt(Abrt::user());
    assert_eq!(
        abrt.encode_with(LengthForm::Indefinite),
        hex("64808001000000")
    );
    assert_eq!(abrt.encode(), hex("6403800100"));
    let mut with_ui = Abrt::user();
    with_ui.user_information = vec![ber_integer_42_external(false)];
    let with_ui = Apdu::Abrt(with_ui);
    assert_eq!(
        with_ui.encode_with(LengthForm::Indefinite),
        hex("6480800100BE802880020103A00302012A000000000000")
    );
    // The RFC's literal abort source 1 is accepted as acse-service-provider.
    let Apdu::Abrt(p) = Apdu::decode(&hex("64808001010000")).unwrap() else {
        panic!()
    };
    assert_eq!(p.abort_source, AbortSource::AcseServiceProvider);
    let prov = Apdu::Abrt(Abrt::provider(AbortDiagnostic::AuthenticationFailure));
    assert_eq!(prov.encode(), hex("6406800101810105"));
    assert_eq!(Apdu::decode(&hex("6406800101810105")).unwrap(), prov);
}

#[test]
fn aare_rejection_diagnostics() {
    let a = Aare::rejected_by_user(
        known::MMS_APPLICATION_CONTEXT,
        UserDiagnostic::AuthenticationFailure,
    );
    let bytes = Apdu::Aare(a.clone()).encode();
    assert_eq!(
        to_hex(&bytes),
        "6115a107060528ca220203a203020101a305a10302010d"
    );
    assert_eq!(Apdu::decode(&bytes).unwrap(), Apdu::Aare(a));
    let p = Aare::new(
        known::MMS_APPLICATION_CONTEXT,
        AssociateResult::RejectedTransient,
        ResultSourceDiagnostic::ServiceProvider(ProviderDiagnostic::NoCommonAcseVersion),
    );
    let bytes = Apdu::Aare(p.clone()).encode();
    assert_eq!(
        to_hex(&bytes),
        "6115a107060528ca220203a203020102a305a203020102"
    );
    assert_eq!(Apdu::decode(&bytes).unwrap(), Apdu::Aare(p));
    // Unknown numbers keep their value.
    assert_eq!(UserDiagnostic::from_i64(99), UserDiagnostic::Unknown(99));
    assert_eq!(
        UserDiagnostic::from_i64(14),
        UserDiagnostic::AuthenticationRequired
    );
    assert_eq!(AssociateResult::from_i64(7).value(), 7);
}

#[test]
fn authentication_value_debug_hides_the_secret() {
    let a = Apdu::decode(&hex(GOLDEN_AARQ)).unwrap();
    let dbg = format!("{a:?}");
    assert!(dbg.contains("Charstring(<12 octets>)"), "{dbg}");
    assert!(!dbg.contains("user1"));
    assert!(!dbg.contains("testpw"));
    assert!(!dbg.contains("117, 115, 101, 114")); // "user" as a byte list
    let other = AuthenticationValue::Other {
        mechanism_name: oid("1.2.3"),
        value: zeroize_vec(hex("0403616263")),
    };
    assert_eq!(format!("{other:?}"), "Other(1.2.3, <5 octets>)");
    let ext = AuthenticationValue::External(SecretExternal::new(External::single_asn1(
        1,
        hex("0403616263"),
    )));
    assert_eq!(format!("{ext:?}"), "External(<5 octets>)");
    assert_eq!(ext.kind_name(), "external");
    assert_eq!(ext.len(), 5);
}

fn zeroize_vec(v: Vec<u8>) -> zeroize::Zeroizing<Vec<u8>> {
    zeroize::Zeroizing::new(v)
}

#[test]
fn all_authentication_arms_round_trip() {
    for (inner, kind, len) in [
        ("8003616263", "charstring", 3),
        ("a0058003616263", "charstring", 3), // constructed GraphicString
        ("810307ff80", "bitstring", 2),
        ("a20a020101a0050403616263", "external", 5),
        ("a30a06025203040461626364", "other", 6),
    ] {
        let i = hex(inner);
        let mut body = hex("a1050603280102");
        body.push(0xac);
        body.push(i.len() as u8);
        body.extend_from_slice(&i);
        let mut apdu = vec![0x60, body.len() as u8];
        apdu.extend_from_slice(&body);
        let Apdu::Aarq(a) = Apdu::decode(&apdu).unwrap() else {
            panic!()
        };
        let v = a.calling_authentication_value.clone().unwrap();
        assert_eq!(v.kind_name(), kind, "{inner}");
        assert_eq!(v.len(), len, "{inner}");
        let again = Apdu::decode(&Apdu::Aarq(a.clone()).encode()).unwrap();
        assert_eq!(again, Apdu::Aarq(a));
    }
}

#[test]
fn titles_in_form_1() {
    let cn = AttributeTypeAndValue::printable(oid("2.5.4.3"), "server");
    let c = AttributeTypeAndValue::printable(oid("2.5.4.6"), "FR");
    let mut a = Aarq::new(oid("1.0.11188.3.3"));
    a.called_ap_title = Some(ApTitle::Form1(DistinguishedName(vec![
        RelativeDistinguishedName(vec![c.clone()]),
        RelativeDistinguishedName(vec![cn.clone()]),
    ])));
    a.called_ae_qualifier = Some(AeQualifier::Form1(RelativeDistinguishedName(vec![
        cn.clone(),
    ])));
    a.called_ap_invocation_id = Some(-5);
    a.called_ae_invocation_id = Some(0x7fff_ffff);
    a.calling_ap_invocation_id = Some(0xffff_ffff);
    a.calling_ae_invocation_id = Some(-0x8000_0000);
    let bytes = Apdu::Aarq(a.clone()).encode();
    let h = to_hex(&bytes);
    assert!(
        h.contains(
            "a220301e310b3009060355040613024652310f300d060355040313067365727665 72"
                .replace(' ', "")
                .as_str()
        )
    );
    assert!(
        h.contains(
            "a311310f300d060355040313067365727665 72"
                .replace(' ', "")
                .as_str()
        )
    );
    let Apdu::Aarq(d) = Apdu::decode(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(d, a);
    let Some(ApTitle::Form1(dn)) = &d.called_ap_title else {
        panic!()
    };
    assert_eq!(dn.to_string(), "C=FR, CN=server");
    assert_eq!(cn.display_value().as_deref(), Some("server"));
    assert_eq!(
        d.called_ap_title.as_ref().unwrap().to_string(),
        "{C=FR, CN=server}"
    );
    // The invocation identifiers are explicit INTEGERs of at most 4 octets.
    assert!(h.contains("a4030201fb"));
    assert!(h.contains("a50602047fffffff"));
    assert!(h.contains("a807020500ffffffff"));
    assert!(h.contains("a906020480000000"));
}

#[test]
fn aarq_leniency() {
    // Unknown elements skipped (an unknown context tag, a [14] extension, a universal NULL and a
    // high tag number), protocol-version with extra bits, ACSE-requirements DER style and with
    // unknown bits.
    let plain = Apdu::decode(&hex(
        "6017a1050603280102 8a020780 8b03520301 ac058003616263",
    ))
    .unwrap();
    let noisy = Apdu::decode(&hex(
        "602c 80020640 0500 a1050603280102 ae03020101 8a0300c0ff 9f8f0001ff \
         8b03520301 bf1f0102 ac058003616263",
    ));
    let noisy = noisy.unwrap();
    let Apdu::Aarq(n) = &noisy else { panic!() };
    assert_eq!(n.protocol_version, ProtocolVersion { version1: false });
    let Apdu::Aarq(mut p) = plain else { panic!() };
    p.protocol_version = ProtocolVersion { version1: false };
    assert_eq!(
        n.sender_acse_requirements,
        Some(AcseRequirements {
            authentication: true,
            application_context_negotiation: true,
            ..Default::default()
        })
    );
    p.sender_acse_requirements = n.sender_acse_requirements;
    assert_eq!(Apdu::Aarq(p), noisy);
    // protocol-version other than the default is sent with its one named bit.
    let Apdu::Aarq(n) = noisy else { panic!() };
    assert_eq!(
        to_hex(&Apdu::Aarq(n).encode()),
        "601b80020700a10506032801028a0204c08b03520301ac058003616263"
    );
}

#[test]
fn other_apdus_are_kept_with_their_tag() {
    let adt = hex("6503be0500"); // contents are not decoded, but must be well-formed
    let adt_ok = hex("6509be0728050201018100");
    assert!(Apdu::decode(&adt).is_err());
    let a = Apdu::decode(&adt_ok).unwrap();
    let Apdu::Other(o) = &a else { panic!() };
    assert_eq!((o.tag_number, o.name()), (5, "a-dt"));
    assert_eq!(a.name(), "a-dt");
    assert_eq!(a.encode(), adt_ok);
    let acrq = Apdu::decode(&hex("6680800101 0000")).unwrap();
    assert_eq!(acrq.name(), "acrq");
    assert_eq!(acrq.encode(), hex("6603800101"));
    assert_eq!(Apdu::decode(&hex("67 00")).unwrap().name(), "acrp");
}

#[test]
fn malformed_inputs_give_typed_errors() {
    let golden = hex(GOLDEN_AARQ);
    let at = to_hex(&golden).find("ac0e800c").unwrap() / 2;

    // Overrun authentication value: `ac 0e 80 0f`.
    let mut overrun = golden.clone();
    overrun[at + 3] = 0x0f;
    let e = Apdu::decode(&overrun).unwrap_err();
    assert_eq!(e.layer, Layer::Acse);
    assert_eq!(e.offset, at + 2);
    assert!(
        matches!(
            e.kind,
            ErrorKind::Truncated {
                needed: 15,
                available: 12,
                ..
            }
        ),
        "{e}"
    );

    // Wrong inner CHOICE tag: `ac 0e 84 0c`.
    let mut wrong = golden.clone();
    wrong[at + 2] = 0x84;
    let e = Apdu::decode(&wrong).unwrap_err();
    assert_eq!((e.layer, e.offset), (Layer::Acse, at + 2));
    assert!(matches!(e.kind, ErrorKind::Unexpected { .. }), "{e}");

    // Implicit tag where the module says explicit: `8c` for [12].
    let mut implicit = golden.clone();
    implicit[at] = 0x8c;
    let e = Apdu::decode(&implicit).unwrap_err();
    assert_eq!((e.layer, e.offset), (Layer::Acse, at));

    // AARE without result.
    let e = Apdu::decode(&hex("6110a107060528ca220203a305a103020100")).unwrap_err();
    assert_eq!(
        e,
        guls_ber::DecodeError::new(Layer::Acse, 0, ErrorKind::Missing("AARE result [2]"))
    );
    // AARE without result-source-diagnostic; AARQ and AARE without application-context-name.
    assert!(matches!(
        Apdu::decode(&hex("610ea107060528ca220203a203020100"))
            .unwrap_err()
            .kind,
        ErrorKind::Missing("AARE result-source-diagnostic [3]")
    ));
    assert!(matches!(
        Apdu::decode(&hex("6000")).unwrap_err().kind,
        ErrorKind::Missing("AARQ application-context-name [1]")
    ));
    assert!(matches!(
        Apdu::decode(&hex("610ca203020100a305a103020100"))
            .unwrap_err()
            .kind,
        ErrorKind::Missing("AARE application-context-name [1]")
    ));
    // ABRT without abort-source.
    assert!(matches!(
        Apdu::decode(&hex("6403810101")).unwrap_err().kind,
        ErrorKind::Missing("ABRT abort-source [0]")
    ));
    // Wrong result-source-diagnostic arm.
    let e = Apdu::decode(&hex("6115a107060528ca220203a203020100a305a303020100")).unwrap_err();
    assert_eq!(e.offset, 18);
    // Invocation identifier of 5 octets.
    let Apdu::Aarq(ok) = Apdu::decode(&hex("6010a1050603280102a4070205 00ffffffff")).unwrap()
    else {
        panic!()
    };
    assert_eq!(ok.called_ap_invocation_id, Some(0xffff_ffff));
    let e = Apdu::decode(&hex("6010a1050603280102a407020501 00000000")).unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::IntegerTooLong { max_octets: 4, .. }),
        "{e}"
    );
    // Duplicate field.
    let e = Apdu::decode(&hex("600ea1050603280102a1050603280103")).unwrap_err();
    assert_eq!(e.offset, 9);
    // Not an APDU, a primitive APDU tag, trailing octets, empty input.
    assert!(Apdu::decode(&hex("3000")).is_err());
    assert!(Apdu::decode(&hex("4000")).is_err());
    let e = Apdu::decode(&hex("630000")).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Trailing {
            what: "ACSE APDU",
            count: 1
        }
    );
    assert_eq!(e.offset, 2);
    assert!(Apdu::decode(&[]).is_err());
    // Huge lengths.
    for h in [
        "6084ffffffff",
        "6088ffffffffffffffff",
        "60ff",
        "608f0102",
        "62048001",
    ] {
        let e = Apdu::decode(&hex(h)).unwrap_err();
        assert_eq!(e.layer, Layer::Acse, "{h}");
    }
    // Extra octets inside an explicit wrapper.
    assert!(Apdu::decode(&hex("6009a1070603280102 0500")).is_err());
}

#[test]
fn nesting_bombs_are_rejected() {
    // An unknown element nested 100 000 levels deep, indefinite.
    let mut bomb = hex("6080a1050603280102");
    for _ in 0..100_000 {
        bomb.extend_from_slice(&[0xbf, 0x1f, 0x80]);
    }
    let e = Apdu::decode(&bomb).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::TooDeep { .. } | ErrorKind::Truncated { .. }
        ),
        "{e}"
    );
    // The same, correctly closed: still too deep.
    for _ in 0..100_000 {
        bomb.extend_from_slice(&[0, 0]);
    }
    bomb.extend_from_slice(&[0, 0]);
    let e = Apdu::decode(&bomb).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TooDeep { .. }), "{e}");
    // Deep definite nesting in an AP-title form 1 Name.
    let mut inner: Vec<u8> = hex("0500");
    for _ in 0..200 {
        let mut w = vec![0x30];
        let mut len = Vec::new();
        guls_ber::encode_length(inner.len(), &mut len);
        w.extend_from_slice(&len);
        w.extend_from_slice(&inner);
        inner = w;
    }
    let mut body = hex("a1050603280102");
    body.push(0xa2);
    guls_ber::encode_length(inner.len(), &mut body);
    body.extend_from_slice(&inner);
    let mut apdu = vec![0x60];
    guls_ber::encode_length(body.len(), &mut apdu);
    apdu.extend_from_slice(&body);
    assert!(Apdu::decode(&apdu).is_err());
}

#[test]
fn every_truncation_is_a_typed_error() {
    let mut vectors = vec![hex(GOLDEN_AARQ), hex(GOLDEN_AARE)];
    let mut a = Aarq::new(oid("1.0.11188.3.3"));
    a.user_information = vec![ber_integer_42_external(true)];
    vectors.push(Apdu::Aarq(a).encode_with(LengthForm::Indefinite));
    vectors.push(Apdu::Aarq(golden_aarq_value()).encode_with(LengthForm::Indefinite));
    for v in &vectors {
        assert!(Apdu::decode(v).is_ok());
        for cut in 0..v.len() {
            let e = Apdu::decode(&v[..cut]).unwrap_err();
            assert_eq!(e.layer, Layer::Acse);
            assert!(e.offset <= cut, "offset {} past cut {cut}", e.offset);
        }
    }
}

#[test]
fn names_as_text() {
    use guls_acse::{AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName};
    let at =
        |dotted: &str, text: &str| AttributeTypeAndValue::printable(dotted.parse().unwrap(), text);
    let dn = DistinguishedName(vec![
        RelativeDistinguishedName(vec![at("2.5.4.6", "FR")]),
        RelativeDistinguishedName(vec![at("2.5.4.8", "Isere"), at("2.5.4.7", "Grenoble")]),
        RelativeDistinguishedName(vec![at("2.5.4.10", "guls"), at("2.5.4.11", "lab")]),
        RelativeDistinguishedName(vec![at("2.5.4.3", "server"), at("2.5.4.5", "42")]),
        RelativeDistinguishedName(vec![
            at("2.5.4.30", "x"),
            at("0.9.2342.19200300.100.1.25", "dc"),
        ]),
        RelativeDistinguishedName(vec![AttributeTypeAndValue {
            attribute_type: "2.5.4.3".parse().unwrap(),
            // An INTEGER, not a string: shown as its encoding in hex.
            value: vec![0x02, 0x01, 0x05],
        }]),
    ]);
    assert_eq!(
        dn.to_string(),
        "C=FR, ST=Isere+L=Grenoble, O=guls+OU=lab, CN=server+2.5.4.5=42, \
         2.5.4.30=x+0.9.2342.19200300.100.1.25=dc, CN=#020105"
    );
}
