//! Property tests: every APDU type round-trips in both length styles, and the decoder never
//! panics on arbitrary input or on mutated valid encodings.

use guls_acse::*;
use guls_ber::{BitString, Layer, Writer};
use proptest::prelude::*;
use zeroize::Zeroizing;

fn oid() -> impl Strategy<Value = Oid> {
    (
        0u128..=2,
        0u128..=39,
        prop::collection::vec(0u128..=u32::MAX as u128, 0..4),
    )
        .prop_map(|(a, b, rest)| {
            let mut arcs = vec![a, b];
            arcs.extend(rest);
            Oid::from_arcs(&arcs).unwrap()
        })
}

/// An INTEGER that fits the 4-octet limit of protocol control information.
fn pci_int() -> impl Strategy<Value = i64> {
    -(1i64 << 31)..=(u32::MAX as i64)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// One complete primitive OCTET STRING element (a value of "ANY").
fn any_value() -> impl Strategy<Value = Vec<u8>> {
    bytes(20).prop_map(|c| {
        let mut w = Writer::new();
        w.primitive(guls_ber::Tag::OCTET_STRING, &c);
        w.into_bytes()
    })
}

fn bit_string() -> impl Strategy<Value = BitString> {
    (0u8..8, bytes(8)).prop_map(|(u, b)| BitString {
        unused_bits: if b.is_empty() { 0 } else { u },
        bytes: b,
    })
}

fn external() -> impl Strategy<Value = External> {
    let encoding = prop_oneof![
        any_value().prop_map(ExternalEncoding::SingleAsn1Type),
        bytes(20).prop_map(ExternalEncoding::OctetAligned),
        bit_string().prop_map(ExternalEncoding::Arbitrary),
    ];
    (
        prop::option::of(oid()),
        prop::option::of(pci_int()),
        prop::option::of(bytes(10)),
        encoding,
    )
        .prop_map(|(d, i, desc, encoding)| External {
            direct_reference: d,
            indirect_reference: i,
            data_value_descriptor: desc,
            encoding,
        })
}

fn user_information() -> impl Strategy<Value = Vec<External>> {
    prop::collection::vec(external(), 0..3)
}

fn attribute() -> impl Strategy<Value = AttributeTypeAndValue> {
    (oid(), "[a-zA-Z0-9 ]{0,12}").prop_map(|(t, s)| AttributeTypeAndValue::printable(t, &s))
}

fn rdn() -> impl Strategy<Value = RelativeDistinguishedName> {
    prop::collection::vec(attribute(), 0..3).prop_map(RelativeDistinguishedName)
}

fn ap_title() -> impl Strategy<Value = ApTitle> {
    prop_oneof![
        prop::collection::vec(rdn(), 0..3).prop_map(|v| ApTitle::Form1(DistinguishedName(v))),
        oid().prop_map(ApTitle::Form2),
        bytes(10).prop_map(ApTitle::Form3),
        bytes(10).prop_map(ApTitle::Form4),
        any_value().prop_map(ApTitle::Other),
    ]
}

fn ae_qualifier() -> impl Strategy<Value = AeQualifier> {
    prop_oneof![
        rdn().prop_map(AeQualifier::Form1),
        pci_int().prop_map(AeQualifier::Form2),
        bytes(10).prop_map(AeQualifier::Form3),
        bytes(10).prop_map(AeQualifier::Form4),
        any_value().prop_map(AeQualifier::Other),
    ]
}

fn auth_value() -> impl Strategy<Value = AuthenticationValue> {
    prop_oneof![
        bytes(40).prop_map(|b| AuthenticationValue::Charstring(Zeroizing::new(b))),
        bit_string().prop_map(|b| AuthenticationValue::Bitstring {
            unused_bits: b.unused_bits,
            bits: Zeroizing::new(b.bytes),
        }),
        external().prop_map(|x| AuthenticationValue::External(SecretExternal::new(x))),
        (oid(), any_value()).prop_map(|(m, v)| AuthenticationValue::Other {
            mechanism_name: m,
            value: Zeroizing::new(v),
        }),
    ]
}

fn requirements() -> impl Strategy<Value = AcseRequirements> {
    any::<[bool; 4]>().prop_map(|b| AcseRequirements {
        authentication: b[0],
        application_context_negotiation: b[1],
        higher_level_association: b[2],
        nested_association: b[3],
    })
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    any::<bool>().prop_map(|version1| ProtocolVersion { version1 })
}

prop_compose! {
    fn aarq()(
        head in (version(), oid(), prop::option::of(ap_title()), prop::option::of(ae_qualifier()),
                 prop::option::of(pci_int()), prop::option::of(pci_int())),
        calling in (prop::option::of(ap_title()), prop::option::of(ae_qualifier()),
                    prop::option::of(pci_int()), prop::option::of(pci_int())),
        auth in (prop::option::of(requirements()), prop::option::of(oid()),
                 prop::option::of(auth_value())),
        tail in (prop::collection::vec(oid(), 0..3), prop::option::of(bytes(10)),
                 user_information()),
    ) -> Aarq {
        Aarq {
            protocol_version: head.0,
            application_context_name: head.1,
            called_ap_title: head.2,
            called_ae_qualifier: head.3,
            called_ap_invocation_id: head.4,
            called_ae_invocation_id: head.5,
            calling_ap_title: calling.0,
            calling_ae_qualifier: calling.1,
            calling_ap_invocation_id: calling.2,
            calling_ae_invocation_id: calling.3,
            sender_acse_requirements: auth.0,
            mechanism_name: auth.1,
            calling_authentication_value: auth.2,
            application_context_name_list: tail.0,
            implementation_information: tail.1,
            user_information: tail.2,
        }
    }
}

fn rsd() -> impl Strategy<Value = ResultSourceDiagnostic> {
    prop_oneof![
        pci_int().prop_map(|v| ResultSourceDiagnostic::ServiceUser(UserDiagnostic::from_i64(v))),
        pci_int()
            .prop_map(|v| ResultSourceDiagnostic::ServiceProvider(ProviderDiagnostic::from_i64(v))),
    ]
}

prop_compose! {
    fn aare()(
        head in (version(), oid(), pci_int(), rsd()),
        responding in (prop::option::of(ap_title()), prop::option::of(ae_qualifier()),
                       prop::option::of(pci_int()), prop::option::of(pci_int())),
        auth in (prop::option::of(requirements()), prop::option::of(oid()),
                 prop::option::of(auth_value())),
        tail in (prop::collection::vec(oid(), 0..3), prop::option::of(bytes(10)),
                 user_information()),
    ) -> Aare {
        Aare {
            protocol_version: head.0,
            application_context_name: head.1,
            result: AssociateResult::from_i64(head.2),
            result_source_diagnostic: head.3,
            responding_ap_title: responding.0,
            responding_ae_qualifier: responding.1,
            responding_ap_invocation_id: responding.2,
            responding_ae_invocation_id: responding.3,
            responder_acse_requirements: auth.0,
            mechanism_name: auth.1,
            responding_authentication_value: auth.2,
            application_context_name_list: tail.0,
            implementation_information: tail.1,
            user_information: tail.2,
        }
    }
}

fn rlrq() -> impl Strategy<Value = Rlrq> {
    (prop::option::of(pci_int()), user_information()).prop_map(|(r, ui)| Rlrq {
        reason: r.map(ReleaseRequestReason::from_i64),
        user_information: ui,
    })
}

fn rlre() -> impl Strategy<Value = Rlre> {
    (prop::option::of(pci_int()), user_information()).prop_map(|(r, ui)| Rlre {
        reason: r.map(ReleaseResponseReason::from_i64),
        user_information: ui,
    })
}

fn abrt() -> impl Strategy<Value = Abrt> {
    (pci_int(), prop::option::of(pci_int()), user_information()).prop_map(|(s, d, ui)| Abrt {
        abort_source: AbortSource::from_i64(s),
        abort_diagnostic: d.map(AbortDiagnostic::from_i64),
        user_information: ui,
    })
}

fn other() -> impl Strategy<Value = OtherApdu> {
    (5u32..=40, prop::collection::vec(any_value(), 0..3)).prop_map(|(t, vals)| OtherApdu {
        tag_number: t,
        contents: vals.concat(),
    })
}

fn apdu() -> impl Strategy<Value = Apdu> {
    prop_oneof![
        aarq().prop_map(Apdu::Aarq),
        aare().prop_map(Apdu::Aare),
        rlrq().prop_map(Apdu::Rlrq),
        rlre().prop_map(Apdu::Rlre),
        abrt().prop_map(Apdu::Abrt),
        other().prop_map(Apdu::Other),
    ]
}

fn check_round_trip(a: &Apdu) -> Result<(), TestCaseError> {
    let def = a.encode();
    prop_assert_eq!(&Apdu::decode(&def).unwrap(), a);
    // Canonical: re-encoding the decoded value gives the same octets.
    prop_assert_eq!(Apdu::decode(&def).unwrap().encode(), def.clone());
    let indef = a.encode_with(LengthForm::Indefinite);
    prop_assert_eq!(&Apdu::decode(&indef).unwrap(), a);
    prop_assert_eq!(Apdu::decode(&indef).unwrap().encode(), def);
    Ok(())
}

/// Decoding must not panic; errors must name the ACSE layer and an offset inside the input.
fn check_total(data: &[u8]) -> Result<(), TestCaseError> {
    match Apdu::decode(data) {
        Ok(a) => {
            // Whatever decodes re-encodes to something that decodes to the same value.
            let again = Apdu::decode(&a.encode()).unwrap();
            prop_assert_eq!(&again, &a);
            prop_assert_eq!(
                Apdu::decode(&a.encode_with(LengthForm::Indefinite)).unwrap(),
                a
            );
        }
        Err(e) => {
            prop_assert_eq!(e.layer, Layer::Acse);
            prop_assert!(e.offset <= data.len());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn aarq_round_trip(a in aarq()) { check_round_trip(&Apdu::Aarq(a))?; }

    #[test]
    fn aare_round_trip(a in aare()) { check_round_trip(&Apdu::Aare(a))?; }

    #[test]
    fn rlrq_round_trip(a in rlrq()) { check_round_trip(&Apdu::Rlrq(a))?; }

    #[test]
    fn rlre_round_trip(a in rlre()) { check_round_trip(&Apdu::Rlre(a))?; }

    #[test]
    fn abrt_round_trip(a in abrt()) { check_round_trip(&Apdu::Abrt(a))?; }

    #[test]
    fn other_round_trip(a in other()) { check_round_trip(&Apdu::Other(a))?; }

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(data in bytes(300)) {
        check_total(&data)?;
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_apdu_shapes(tag in 0x60u8..0x68, body in bytes(200)) {
        let mut data = vec![tag];
        guls_ber::encode_length(body.len(), &mut data);
        data.extend_from_slice(&body);
        check_total(&data)?;
    }

    #[test]
    fn decoder_never_panics_on_mutated_encodings(
        a in apdu(),
        indefinite in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let form = if indefinite { LengthForm::Indefinite } else { LengthForm::Definite };
        let mut data = a.encode_with(form);
        for (at, byte, op) in edits {
            if data.is_empty() {
                data.push(byte);
                continue;
            }
            let i = at.index(data.len());
            match op {
                0 => data[i] = byte,
                1 => data[i] ^= 1 << (byte % 8),
                2 => data.insert(i, byte),
                _ => { data.remove(i); }
            }
        }
        check_total(&data)?;
    }

    #[test]
    fn debug_never_shows_a_charstring(secret in "[a-z]{8,20}") {
        let a = Aarq::new(guls_ber::known::MMS_APPLICATION_CONTEXT).with_password(secret.as_bytes());
        let dbg = format!("{:?}", Apdu::Aarq(a));
        prop_assert!(!dbg.contains(&secret));
        let expected = format!("Charstring(<{} octets>)", secret.len());
        prop_assert!(dbg.contains(&expected));
    }
}
