//! Property tests: every SPDU type round-trips through a TSDU; the decoder never panics and
//! whatever it decodes re-encodes to something that decodes to the same value.

use guls_session::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn bytes(n: usize) -> BoxedStrategy<Vec<u8>> {
    vec(any::<u8>(), 0..n).boxed()
}

fn ob(n: usize) -> BoxedStrategy<Option<Vec<u8>>> {
    option::of(bytes(n)).boxed()
}

/// User data, sometimes long enough to need 3-octet LIs.
fn user_data() -> BoxedStrategy<Option<Vec<u8>>> {
    option::of(prop_oneof![4 => bytes(40), 1 => bytes(700)]).boxed()
}

/// Parameters with codes no typed SPDU interprets.
fn unknown() -> BoxedStrategy<Vec<RawParameter>> {
    vec(
        (100u8..=180, bytes(10)).prop_map(|(code, value)| RawParameter { code, value }),
        0..3,
    )
    .boxed()
}

fn ssel() -> BoxedStrategy<Option<SSelector>> {
    option::of(vec(any::<u8>(), 0..=16).prop_map(|b| SSelector::new(b).unwrap())).boxed()
}

fn serial() -> BoxedStrategy<Option<SerialNumber>> {
    option::of(bytes(8).prop_map(SerialNumber)).boxed()
}

fn octet<T: std::fmt::Debug + 'static>(f: fn(u8) -> T) -> BoxedStrategy<Option<T>> {
    option::of(any::<u8>().prop_map(f)).boxed()
}

fn tsdu_max() -> BoxedStrategy<Option<TsduMaximumSize>> {
    option::of(
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| TsduMaximumSize {
            initiator_to_responder: a,
            responder_to_initiator: b,
        }),
    )
    .boxed()
}

fn fu() -> BoxedStrategy<Option<FunctionalUnits>> {
    option::of(any::<u16>().prop_map(FunctionalUnits)).boxed()
}

fn conn_id() -> BoxedStrategy<Option<ConnectionIdentifier>> {
    option::of(
        (ob(10), ob(10), ob(10), ob(4), unknown()).prop_map(|(a, b, c, d, u)| {
            ConnectionIdentifier {
                called_ss_user_reference: a,
                calling_ss_user_reference: b,
                common_reference: c,
                additional_reference: d,
                unknown: u,
            }
        }),
    )
    .boxed()
}

fn ca_item() -> BoxedStrategy<Option<ConnectAcceptItem>> {
    option::of(
        (
            (
                octet(ProtocolOptions),
                tsdu_max(),
                octet(VersionNumber),
                serial(),
                octet(TokenSetting::from_octet),
            ),
            (serial(), serial(), serial(), serial(), unknown()),
        )
            .prop_map(
                |((po, tm, v, isn, ts), (s2, ul, l1, l2, u))| ConnectAcceptItem {
                    protocol_options: po,
                    tsdu_maximum_size: tm,
                    version: v,
                    initial_serial_number: isn,
                    token_setting: ts,
                    second_initial_serial_number: s2,
                    upper_limit_serial_number: ul,
                    large_initial_serial_number: l1,
                    large_second_initial_serial_number: l2,
                    unknown: u,
                },
            ),
    )
    .boxed()
}

fn connect_user_data() -> BoxedStrategy<Option<ConnectUserData>> {
    option::of(prop_oneof![
        bytes(600).prop_map(ConnectUserData::Basic),
        bytes(600).prop_map(ConnectUserData::Extended),
    ])
    .boxed()
}

fn typed_spdu() -> BoxedStrategy<Spdu> {
    prop_oneof![
        (
            (conn_id(), ca_item(), fu(), ssel(), ssel()),
            (octet(DataOverflow), connect_user_data(), unknown())
        )
            .prop_map(
                |((ci, ca, r, cg, cd), (dov, ud, u))| Spdu::Connect(Connect {
                    connection_identifier: ci,
                    connect_accept: ca,
                    requirements: r,
                    calling_ssel: cg,
                    called_ssel: cd,
                    data_overflow: dov,
                    user_data: ud,
                    unknown: u,
                })
            ),
        (
            (
                conn_id(),
                ca_item(),
                octet(Tokens),
                fu(),
                octet(EnclosureItem)
            ),
            (ssel(), ssel(), user_data(), unknown())
        )
            .prop_map(|((ci, ca, t, r, e), (cg, rs, ud, u))| Spdu::Accept(Accept {
                connection_identifier: ci,
                connect_accept: ca,
                token_item: t,
                requirements: r,
                enclosure: e,
                calling_ssel: cg,
                responding_ssel: rs,
                user_data: ud,
                unknown: u,
            })),
        (
            (
                conn_id(),
                octet(TransportDisconnect),
                fu(),
                octet(VersionNumber),
                octet(EnclosureItem)
            ),
            option::of((any::<u8>(), bytes(30)).prop_map(|(r, d)| ReasonCode {
                reason: RefuseReason::from_code(r),
                user_data: d
            })),
            unknown(),
        )
            .prop_map(|((ci, td, r, v, e), reason, u)| Spdu::Refuse(Refuse {
                connection_identifier: ci,
                transport_disconnect: td,
                requirements: r,
                version: v,
                enclosure: e,
                reason,
                unknown: u,
            })),
        (
            octet(TransportDisconnect),
            octet(EnclosureItem),
            user_data(),
            unknown()
        )
            .prop_map(|(td, e, ud, u)| Spdu::Finish(Finish {
                transport_disconnect: td,
                enclosure: e,
                user_data: ud,
                unknown: u
            })),
        (octet(EnclosureItem), user_data(), unknown()).prop_map(|(e, ud, u)| Spdu::Disconnect(
            Disconnect {
                enclosure: e,
                user_data: ud,
                unknown: u
            }
        )),
        (octet(EnclosureItem), user_data(), unknown()).prop_map(|(e, ud, u)| Spdu::NotFinished(
            NotFinished {
                enclosure: e,
                user_data: ud,
                unknown: u
            }
        )),
        (
            octet(TransportDisconnect),
            octet(EnclosureItem),
            ob(9),
            user_data(),
            unknown()
        )
            .prop_map(|(td, e, r, ud, u)| Spdu::Abort(Abort {
                transport_disconnect: td,
                enclosure: e,
                reflect_parameter_values: r,
                user_data: ud,
                unknown: u
            })),
        unknown().prop_map(|u| Spdu::AbortAccept(AbortAccept { unknown: u })),
        (octet(EnclosureItem), user_data(), unknown()).prop_map(|(e, ud, u)| {
            Spdu::ConnectDataOverflow(ConnectDataOverflow {
                enclosure: e,
                user_data: ud,
                unknown: u,
            })
        }),
        (tsdu_max(), octet(VersionNumber), unknown()).prop_map(|(t, v, u)| Spdu::OverflowAccept(
            OverflowAccept {
                tsdu_maximum_size: t,
                version: v,
                unknown: u
            }
        )),
    ]
    .boxed()
}

fn give_tokens() -> BoxedStrategy<GiveTokens> {
    (octet(Tokens), octet(EnclosureItem), user_data(), unknown())
        .prop_map(|(t, e, ud, u)| GiveTokens {
            token_item: t,
            enclosure: e,
            user_data: ud,
            unknown: u,
        })
        .boxed()
}

fn data_transfer() -> BoxedStrategy<DataTransfer> {
    (octet(EnclosureItem), unknown())
        .prop_map(|(e, u)| DataTransfer {
            enclosure: e,
            unknown: u,
        })
        .boxed()
}

fn raw_params() -> BoxedStrategy<Vec<RawParameter>> {
    vec(
        (any::<u8>(), bytes(12)).prop_map(|(code, value)| RawParameter { code, value }),
        0..4,
    )
    .boxed()
}

/// A TSDU (SPDUs and user information) that the decoder must reproduce exactly.
fn tsdu_value() -> BoxedStrategy<(Vec<Spdu>, Vec<u8>)> {
    use SpduType::*;
    let cat1 = prop::sample::select(vec![GiveTokensConfirm, GiveTokensAck, Prepare, Expedited]);
    let cat2 = prop::sample::select(vec![
        TypedData,
        CapabilityData,
        CapabilityDataAck,
        MinorSyncPoint,
        MinorSyncAck,
        MajorSyncPoint,
        MajorSyncAck,
        Resynchronize,
        ResynchronizeAck,
        ActivityStart,
        ActivityResume,
        ActivityInterrupt,
        ActivityInterruptAck,
        ActivityDiscard,
        ActivityDiscardAck,
        ExceptionReport,
        ExceptionData,
    ]);
    prop_oneof![
        typed_spdu().prop_map(|s| (vec![s], vec![])),
        give_tokens().prop_map(|g| (vec![Spdu::GiveTokens(g)], vec![])),
        (give_tokens(), data_transfer(), bytes(300))
            .prop_map(|(g, d, ui)| (vec![Spdu::GiveTokens(g), Spdu::DataTransfer(d)], ui)),
        // A lone DT: its user information must not start with a category 2 SI.
        (
            data_transfer(),
            bytes(30).prop_filter("not a category 2 SI", |ui| {
                ui.first()
                    .is_some_and(|b| SpduType::category2(*b).is_none())
            })
        )
            .prop_map(|(d, ui)| (vec![Spdu::DataTransfer(d)], ui)),
        (cat1, raw_params()).prop_map(|(t, p)| (
            vec![Spdu::Other(GenericSpdu {
                spdu_type: t,
                parameters: p
            })],
            vec![]
        )),
        (raw_params(), option::of((cat2.clone(), raw_params()))).prop_map(|(p, next)| {
            let mut v = vec![Spdu::Other(GenericSpdu {
                spdu_type: PleaseTokens,
                parameters: p,
            })];
            if let Some((t, q)) = next {
                v.push(Spdu::Other(GenericSpdu {
                    spdu_type: t,
                    parameters: q,
                }));
            }
            (v, vec![])
        }),
        (give_tokens(), cat2, raw_params(), bytes(40)).prop_map(|(g, t, p, ui)| {
            let ui = if t.carries_user_information() {
                ui
            } else {
                vec![]
            };
            (
                vec![
                    Spdu::GiveTokens(g),
                    Spdu::Other(GenericSpdu {
                        spdu_type: t,
                        parameters: p,
                    }),
                ],
                ui,
            )
        }),
    ]
    .boxed()
}

fn encode(spdus: &[Spdu], ui: &[u8]) -> Vec<u8> {
    let t = Tsdu {
        spdus: spdus
            .iter()
            .map(|s| PositionedSpdu {
                offset: 0,
                spdu: s.clone(),
            })
            .collect(),
        user_information: ui.to_vec(),
        user_information_offset: 0,
    };
    let mut out = Vec::new();
    t.encode(&mut out).unwrap();
    out
}

fn contents(t: &Tsdu) -> (Vec<Spdu>, Vec<u8>) {
    (t.spdu_list().cloned().collect(), t.user_information.clone())
}

/// Decode; when that succeeds, re-encode and decode again: same SPDUs, same user information,
/// and the canonical encoding is a fixed point.
fn check_stable(bytes: &[u8]) {
    if let Ok(t) = decode_tsdu(bytes) {
        assert!(t.user_information_offset <= bytes.len());
        for w in t.spdus.windows(2) {
            assert!(w[0].offset < w[1].offset);
        }
        let mut out = Vec::new();
        t.encode(&mut out).expect("a decoded TSDU re-encodes");
        assert!(out.len() <= bytes.len(), "canonical form is never longer");
        let t2 = decode_tsdu(&out).expect("the re-encoding decodes");
        assert_eq!(contents(&t2), contents(&t));
        let mut out2 = Vec::new();
        t2.encode(&mut out2).unwrap();
        assert_eq!(out2, out);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn spdu_round_trip((spdus, ui) in tsdu_value()) {
        let bytes = encode(&spdus, &ui);
        let t = decode_tsdu(&bytes).unwrap();
        prop_assert_eq!(contents(&t), (spdus.clone(), ui));
        // Offsets point at each SPDU's SI.
        let mut off = 0;
        for (p, s) in t.spdus.iter().zip(&spdus) {
            prop_assert_eq!(p.offset, off);
            prop_assert_eq!(bytes[off], s.spdu_type().si());
            off += s.to_bytes().unwrap().len();
        }
        prop_assert_eq!(t.user_information_offset, off);
    }

    #[test]
    fn decode_never_panics(data in bytes(200)) {
        check_stable(&data);
    }

    #[test]
    fn decode_mutated((spdus, ui) in tsdu_value(), edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        let mut data = encode(&spdus, &ui);
        for (i, b) in edits {
            let i = i.index(data.len());
            data[i] = b;
        }
        check_stable(&data);
        let n = cut.index(data.len() + 1);
        check_stable(&data[..n]);
    }

    #[test]
    fn three_octet_li_everywhere_decodes_the_same(s in typed_spdu()) {
        // Rewrite the SPDU's own LI in the 3-octet form: same value.
        let short = s.to_bytes().unwrap();
        let (li, rest) = if short[1] == 0xff {
            (u16::from_be_bytes([short[2], short[3]]), &short[4..])
        } else {
            (u16::from(short[1]), &short[2..])
        };
        let mut long = vec![short[0], 0xff];
        long.extend_from_slice(&li.to_be_bytes());
        long.extend_from_slice(rest);
        let a = decode_tsdu(&short).unwrap();
        let b = decode_tsdu(&long).unwrap();
        prop_assert_eq!(contents(&a), contents(&b));
    }

    #[test]
    fn data_tsdu_round_trip(ui in bytes(500)) {
        let bytes = encode_data_tsdu(&ui);
        let t = decode_tsdu(&bytes).unwrap();
        prop_assert_eq!(t.spdus.len(), 2);
        prop_assert_eq!(&t.spdus[1].spdu, &Spdu::DataTransfer(DataTransfer::default()));
        prop_assert_eq!(t.user_information, ui);
    }
}
