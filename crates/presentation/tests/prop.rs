//! Property tests: round trips for every PPDU kind in both styles, and decoders that never panic.

use guls_ber::{BitString, Oid, Tag, Writer, parse_hex};
use guls_presentation::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn oid() -> impl Strategy<Value = Oid> {
    (0u128..3, 0u128..40, vec(any::<u32>(), 0..5)).prop_map(|(a, b, rest)| {
        let mut arcs = vec![a, b];
        arcs.extend(rest.into_iter().map(u128::from));
        Oid::from_arcs(&arcs).unwrap()
    })
}

/// Any integer the decoder accepts in PCI: 4 octets, or 4 plus a sign octet.
fn pci() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..200, (i32::MIN as i64)..=(u32::MAX as i64)]
}

fn selector() -> impl Strategy<Value = Option<Vec<u8>>> {
    option::of(vec(any::<u8>(), 0..=4))
}

/// One complete BER value (the contents of single-ASN1-type).
fn asn1_value() -> impl Strategy<Value = Vec<u8>> {
    let leaf = (1u32..40, 0u8..3, vec(any::<u8>(), 0..20)).prop_map(|(n, class, c)| {
        let tag = match class {
            0 => Tag::universal(n),
            1 => Tag::application(n),
            _ => Tag::context(n),
        };
        let mut w = Writer::new();
        w.primitive(tag, &c);
        w.into_bytes()
    });
    leaf.prop_recursive(3, 16, 4, |inner| {
        (vec(inner, 0..4), any::<bool>()).prop_map(|(kids, indefinite)| {
            let mut w = Writer::new();
            let f = |w: &mut Writer| kids.iter().for_each(|k| w.raw(k));
            if indefinite {
                w.constructed_indefinite(Tag::SEQUENCE, f);
            } else {
                w.constructed_definite(Tag::SEQUENCE, f);
            }
            w.into_bytes()
        })
    })
}

fn pdv_value() -> impl Strategy<Value = PdvValue> {
    prop_oneof![
        asn1_value().prop_map(PdvValue::SingleAsn1Type),
        vec(any::<u8>(), 0..40).prop_map(PdvValue::OctetAligned),
        (vec(any::<u8>(), 0..10), 0u8..8).prop_map(|(bytes, u)| PdvValue::Arbitrary(BitString {
            unused_bits: if bytes.is_empty() { 0 } else { u },
            bytes,
        })),
    ]
}

fn user_data() -> impl Strategy<Value = UserData> {
    prop_oneof![
        vec(any::<u8>(), 0..30).prop_map(UserData::Simple),
        vec(
            (option::of(oid()), pci(), pdv_value()).prop_map(|(t, p, v)| PdvList {
                transfer_syntax: t,
                pcid: p,
                value: v,
            }),
            0..4
        )
        .prop_map(UserData::Full),
    ]
}

fn version() -> impl Strategy<Value = Option<ProtocolVersion>> {
    option::of(any::<bool>().prop_map(|version_1| ProtocolVersion { version_1 }))
}

fn preq() -> impl Strategy<Value = Option<PresentationRequirements>> {
    option::of(
        (any::<bool>(), any::<bool>()).prop_map(|(c, r)| PresentationRequirements {
            context_management: c,
            restoration: r,
        }),
    )
}

fn usreq() -> impl Strategy<Value = Option<UserSessionRequirements>> {
    option::of(any::<u16>().prop_map(|b| {
        let bit = |i: u16| b & (1 << i) != 0;
        UserSessionRequirements {
            half_duplex: bit(0),
            duplex: bit(1),
            expedited_data: bit(2),
            minor_synchronize: bit(3),
            major_synchronize: bit(4),
            resynchronize: bit(5),
            activity_management: bit(6),
            negotiated_release: bit(7),
            capability_data: bit(8),
            exceptions: bit(9),
            typed_data: bit(10),
        }
    }))
}

fn results() -> impl Strategy<Value = Vec<ContextResult>> {
    vec(
        (pci(), option::of(oid()), option::of(pci())).prop_map(|(r, t, p)| ContextResult {
            result: ResultValue::from_i64(r),
            transfer_syntax: t,
            provider_reason: p.map(ResultReason::from_i64),
        }),
        0..4,
    )
}

fn cp() -> impl Strategy<Value = Cp> {
    (
        version(),
        selector(),
        selector(),
        vec(
            (pci(), oid(), vec(oid(), 0..3)).prop_map(|(id, a, t)| ContextDefinition {
                id,
                abstract_syntax: a,
                transfer_syntaxes: t,
            }),
            0..4,
        ),
        option::of((oid(), oid()).prop_map(|(a, t)| DefaultContextName {
            abstract_syntax: a,
            transfer_syntax: t,
        })),
        preq(),
        usreq(),
        option::of(user_data()),
    )
        .prop_map(|(v, cg, cd, ctx, dc, p, u, ud)| Cp {
            protocol_version: v,
            calling_selector: cg,
            called_selector: cd,
            contexts: ctx,
            default_context: dc,
            presentation_requirements: p,
            user_session_requirements: u,
            user_data: ud,
        })
}

fn cpa() -> impl Strategy<Value = Cpa> {
    (
        version(),
        selector(),
        results(),
        preq(),
        usreq(),
        option::of(user_data()),
    )
        .prop_map(|(v, s, r, p, u, ud)| Cpa {
            protocol_version: v,
            responding_selector: s,
            results: r,
            presentation_requirements: p,
            user_session_requirements: u,
            user_data: ud,
        })
}

fn cpr() -> impl Strategy<Value = Cpr> {
    (
        version(),
        selector(),
        results(),
        option::of(pci()),
        option::of(pci()),
        option::of(user_data()),
    )
        .prop_map(|(v, s, r, d, p, ud)| Cpr {
            protocol_version: v,
            responding_selector: s,
            results: r,
            default_context_result: d.map(ResultValue::from_i64),
            provider_reason: p.map(ProviderReason::from_i64),
            user_data: ud,
        })
}

fn abort() -> impl Strategy<Value = Abort> {
    prop_oneof![
        (
            vec(
                (pci(), oid()).prop_map(|(id, t)| ContextIdentifier {
                    id,
                    transfer_syntax: t
                }),
                0..3
            ),
            option::of(user_data())
        )
            .prop_map(|(contexts, user_data)| Abort::Aru(Aru {
                contexts,
                user_data
            })),
        (option::of(pci()), option::of(pci())).prop_map(|(r, e)| Abort::Arp(Arp {
            abort_reason: r.map(AbortReason::from_i64),
            event_identifier: e.map(EventIdentifier::from_i64),
        })),
    ]
}

const STYLES: [EncodeStyle; 2] = [EncodeStyle::Canonical, EncodeStyle::Rfc1698];

/// Runs every decoder on `data`; none may panic. A successful decode must re-encode to
/// something that decodes to the same value.
fn all_decoders(data: &[u8]) {
    for opts in [DecodeOptions::default(), DecodeOptions::dissector()] {
        if let Ok(v) = decode_cp_with(data, &opts) {
            for s in STYLES {
                assert_eq!(decode_cp_with(&encode_cp(&v, s), &opts).unwrap(), v);
            }
        }
        if let Ok(v) = decode_cpa_with(data, &opts) {
            for s in STYLES {
                assert_eq!(decode_cpa_with(&encode_cpa(&v, s), &opts).unwrap(), v);
            }
        }
        if let Ok(v) = decode_cpr_with(data, &opts) {
            for s in STYLES {
                assert_eq!(decode_cpr_with(&encode_cpr(&v, s), &opts).unwrap(), v);
            }
        }
        if let Ok(v) = decode_abort_with(data, &opts) {
            for s in STYLES {
                assert_eq!(decode_abort_with(&encode_abort(&v, s), &opts).unwrap(), v);
            }
        }
        if let Ok(v) = decode_user_data_with(data, &opts) {
            for s in STYLES {
                assert_eq!(decode_user_data_with(&encode_td(&v, s), &opts).unwrap(), v);
                assert_eq!(
                    decode_user_data_with(&encode_release_user_data(&v, s), &opts).unwrap(),
                    v
                );
            }
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    [
        // golden libiec61850 CP, CPA, TD, release
        "3181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18",
        "3172a003800101a26b830400000001a512300780010081025101300780010081025101614f304d020101a0486146a107060528ca220203a203020100a305a103020100be2f282d020103a028a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118",
        "610e300c020103a0050201018200",
        "610c300a020101a0056203800100",
        // RFC 1698 B.1a CP, B.4a TD, 6.7 ARU, an ARP
        "3180A0808001010000A280820400000001A4803080020101060452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080020101A0806080A180060528D73403030000BE80288006025101020103A00302012A00000000000000000000000000000000",
        "61803080020103818300000302012A00000000",
        "A080A08030800201010602510100003080020103060251010000000061803080020101A08064808001000000000000000000",
        "3006800106810100",
        "30228002078083020001a50e30078001008102510130038001018701028a010540026e6f",
    ]
    .iter()
    .filter_map(|h| parse_hex(h).ok())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cp_round_trip(v in cp()) {
        for s in STYLES {
            let bytes = encode_cp(&v, s);
            prop_assert_eq!(decode_cp(&bytes).unwrap(), v.clone());
        }
        // canonical encoding is a fixed point
        let c = encode_cp(&v, EncodeStyle::Canonical);
        prop_assert_eq!(encode_cp(&decode_cp(&encode_cp(&v, EncodeStyle::Rfc1698)).unwrap(), EncodeStyle::Canonical), c);
    }

    #[test]
    fn cpa_round_trip(v in cpa()) {
        for s in STYLES {
            prop_assert_eq!(decode_cpa(&encode_cpa(&v, s)).unwrap(), v.clone());
        }
    }

    #[test]
    fn cpr_round_trip(v in cpr()) {
        for s in STYLES {
            prop_assert_eq!(decode_cpr(&encode_cpr(&v, s)).unwrap(), v.clone());
        }
    }

    #[test]
    fn abort_round_trip(v in abort()) {
        for s in STYLES {
            prop_assert_eq!(decode_abort(&encode_abort(&v, s)).unwrap(), v.clone());
        }
    }

    #[test]
    fn td_and_release_round_trip(v in user_data()) {
        for s in STYLES {
            prop_assert_eq!(decode_user_data(&encode_td(&v, s)).unwrap(), v.clone());
            prop_assert_eq!(decode_user_data(&encode_release_user_data(&v, s)).unwrap(), v.clone());
        }
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(data in vec(any::<u8>(), 0..200)) {
        all_decoders(&data);
    }

    #[test]
    fn decoders_never_panic_on_mutated_encodings(
        seed in 0usize..64,
        edits in vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let seeds = seeds();
        let mut data = seeds[seed % seeds.len()].clone();
        for (pos, byte, op) in edits {
            let i = if data.is_empty() { 0 } else { pos % data.len() };
            match op {
                0 if !data.is_empty() => data[i] = byte,
                1 => data.insert(i, byte),
                _ if !data.is_empty() => { data.remove(i); }
                _ => {}
            }
        }
        all_decoders(&data);
    }

    #[test]
    fn decoders_never_panic_on_generated_then_mutated(v in cp(), pos in any::<usize>(), byte in any::<u8>()) {
        let mut data = encode_cp(&v, EncodeStyle::Rfc1698);
        let i = pos % data.len();
        data[i] = byte;
        all_decoders(&data);
        data.truncate(i);
        all_decoders(&data);
    }
}
