//! Property tests: every TPDU type round-trips; decoders never panic.

use guls_transport::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn class() -> impl Strategy<Value = TransportClass> {
    prop_oneof![
        Just(TransportClass::Class0),
        Just(TransportClass::Class1),
        Just(TransportClass::Class2),
        Just(TransportClass::Class3),
        Just(TransportClass::Class4),
    ]
}

/// Raw parameters whose codes no decoder interprets (so they stay raw).
fn others() -> impl Strategy<Value = Vec<RawParameter>> {
    vec(
        (
            prop_oneof![Just(0xc3u8), Just(0xc4), Just(0xc5), Just(0xc6), Just(0x85)],
            vec(any::<u8>(), 0..8),
        )
            .prop_map(|(code, value)| RawParameter { code, value }),
        0..3,
    )
}

fn connect() -> impl Strategy<Value = ConnectTpdu> {
    (
        (
            0u8..16,
            any::<u16>(),
            any::<u16>(),
            class(),
            any::<bool>(),
            any::<bool>(),
        ),
        option::of(7u8..=13),
        option::of(any::<u32>()),
        option::of(vec(any::<u8>(), 0..33)),
        option::of(vec(any::<u8>(), 0..33)),
        others(),
        vec(any::<u8>(), 0..40),
    )
        .prop_map(
            |(
                (credit, dst_ref, src_ref, class, ext, fc),
                size,
                pref,
                calling,
                called,
                other,
                ud,
            )| ConnectTpdu {
                credit,
                dst_ref,
                src_ref,
                class,
                options: ClassOptions {
                    extended_formats: ext,
                    explicit_flow_control: fc,
                },
                tpdu_size: size.map(TpduSize::from_code),
                preferred_max_tpdu_size: pref,
                calling_tsel: calling,
                called_tsel: called,
                other_parameters: other,
                user_data: ud,
            },
        )
}

fn tpdu() -> impl Strategy<Value = Tpdu> {
    prop_oneof![
        connect().prop_map(Tpdu::Cr),
        connect().prop_map(Tpdu::Cc),
        (any::<bool>(), 0u8..128, others(), vec(any::<u8>(), 0..300)).prop_map(
            |(eot, nr, o, d)| Tpdu::Dt(DataTpdu {
                eot,
                nr,
                other_parameters: o,
                user_data: d
            })
        ),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            option::of(vec(any::<u8>(), 0..40)),
            others(),
            vec(any::<u8>(), 0..40)
        )
            .prop_map(|(d, s, r, info, o, ud)| Tpdu::Dr(DisconnectTpdu {
                dst_ref: d,
                src_ref: s,
                reason: DisconnectReason::from_code(r),
                additional_information: info,
                other_parameters: o,
                user_data: ud
            })),
        (
            any::<u16>(),
            any::<u8>(),
            option::of(vec(any::<u8>(), 0..40)),
            others()
        )
            .prop_map(|(d, c, bad, o)| Tpdu::Er(ErrorTpdu {
                dst_ref: d,
                cause: RejectCause::from_code(c),
                invalid_tpdu: bad,
                other_parameters: o
            })),
    ]
}

/// Decode, and when that succeeds, re-encode and decode again: the value must be stable.
fn check_stable(bytes: &[u8]) {
    if let Ok(t) = Tpdu::decode(bytes) {
        let mut out = Vec::new();
        t.encode(&mut out).expect("a decoded TPDU re-encodes");
        assert_eq!(Tpdu::decode(&out).expect("re-encoding decodes"), t);
    }
}

proptest! {
    #[test]
    fn tpdu_round_trip(t in tpdu()) {
        let mut out = Vec::new();
        t.encode(&mut out).unwrap();
        prop_assert_eq!(Tpdu::decode(&out).unwrap(), t.clone());
        // Framed in place, appended after what the buffer holds: the octets of
        // `encode_tpkt` around the TPDU's encoding.
        let mut framed = vec![0xAA];
        encode_frame(&t, &mut framed).unwrap();
        let mut expected = vec![0xAA];
        encode_tpkt(&out, &mut expected).unwrap();
        prop_assert_eq!(&framed, &expected);
        prop_assert_eq!(decode_frame(&framed[1..]).unwrap(), t);
    }

    #[test]
    fn tpdu_decode_never_panics(bytes in vec(any::<u8>(), 0..64)) {
        check_stable(&bytes);
    }

    #[test]
    fn tpdu_decode_mutated(t in tpdu(), edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        let mut out = Vec::new();
        t.encode(&mut out).unwrap();
        for (i, b) in edits {
            let i = i.index(out.len());
            out[i] = b;
        }
        check_stable(&out);
        let n = cut.index(out.len() + 1);
        check_stable(&out[..n]);
    }

    #[test]
    fn stream_split_never_panics(bytes in vec(any::<u8>(), 0..128), max in 0usize..70000) {
        let mut total = 0;
        for f in split_frames(&bytes, max) {
            match f {
                Ok(f) => {
                    prop_assert!(f.payload.len() + 4 <= max.max(7));
                    total += f.payload.len() + 4;
                    check_stable(f.payload);
                }
                Err(e) => prop_assert!(e.offset <= bytes.len()),
            }
        }
        prop_assert!(total <= bytes.len());
    }

    #[test]
    fn frames_round_trip(payloads in vec(vec(any::<u8>(), 3..200), 0..6)) {
        let mut stream = Vec::new();
        for p in &payloads {
            encode_tpkt(p, &mut stream).unwrap();
        }
        let got: Vec<Vec<u8>> = split_frames(&stream, 65535).map(|f| f.unwrap().payload.to_vec()).collect();
        prop_assert_eq!(got, payloads);
    }

    #[test]
    fn segmentation_round_trip(tsdu in vec(any::<u8>(), 0..3000), code in 7u8..=13) {
        let mut out = Vec::new();
        let size = TpduSize::from_code(code);
        encode_data_frames(&tsdu, size, &mut out);
        let mut joined = Vec::new();
        let mut eots = Vec::new();
        for f in split_frames(&out, 65535) {
            let f = f.unwrap();
            prop_assert!(f.payload.len() <= size.octets());
            let Tpdu::Dt(d) = Tpdu::decode(f.payload).unwrap() else { panic!("not DT") };
            joined.extend(d.user_data);
            eots.push(d.eot);
        }
        prop_assert_eq!(joined, tsdu);
        prop_assert_eq!(eots.iter().filter(|e| **e).count(), 1);
        prop_assert!(*eots.last().unwrap());
    }
}
