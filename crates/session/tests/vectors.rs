//! Exact vectors: RFC 1698 Part A / Part B (with the Part C corrections) and every SPDU of the
//! libiec61850 golden trace (PEERS.md section 6); typed errors.

use guls_ber::parse_hex;
use guls_session::*;

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).expect("test hex")
}

fn ssel(b: &[u8]) -> Option<SSelector> {
    Some(SSelector::new(b.to_vec()).unwrap())
}

/// Decodes a TSDU that must hold exactly one SPDU and no user information.
fn single(bytes: &[u8]) -> Spdu {
    let t = decode_tsdu(bytes).unwrap();
    assert_eq!(t.spdus.len(), 1, "{t:?}");
    assert!(t.user_information.is_empty());
    assert_eq!(t.spdus[0].offset, 0);
    t.spdus.into_iter().next().unwrap().spdu
}

const B1A: &str = "0D8905061301001601021402000234020001C1773180A0808001010000A280820400000001A4803080020101060452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080020101A0806080A180060528D73403030000BE80288006025101020103A00302012A00000000000000000000000000000000";
const B1B: &str = "0D930506130100160102140200023302000234020001C17D3180A0808001010000A280810400000002820400000001A4803080020101060452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080020101A0806080A180060528D73403030000BE80288006025101020103A00302012A00000000000000000000000000000000";
const B1C: &str = "0D7505061301001601021402000234020001C1633180A0808001010000A280820400000001A4803080020101060452010001308006025101000000003080020103060628D73403010130800602510100000000000061803080020101A0806080A180060528D73403030000000000000000000000000000";

/// The CONNECT RFC 1698 6.1 sends, with the given selectors and user data.
fn rfc_connect(calling: Option<&[u8]>, user_data: Vec<u8>) -> Spdu {
    Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits::DUPLEX),
        calling_ssel: calling.and_then(ssel),
        called_ssel: ssel(&[0, 1]),
        user_data: Some(ConnectUserData::new(user_data).unwrap()),
        ..Connect::default()
    })
}

#[test]
fn rfc1698_b1_connects_encode_exactly() {
    for (vector, calling, header) in [
        (B1A, None, 20),
        (B1B, Some(&[0u8, 2][..]), 24),
        (B1C, None, 20),
    ] {
        let bytes = hex(vector);
        let cp = bytes[header..].to_vec();
        let built = rfc_connect(calling, cp.clone());
        assert_eq!(built.to_bytes().unwrap(), bytes, "{vector}");
        let Spdu::Connect(cn) = single(&bytes) else {
            panic!("not CN")
        };
        assert_eq!(Spdu::Connect(cn.clone()), built);
        assert_eq!(cn.versions(), vec![2]);
        assert_eq!(cn.functional_units(), vec!["duplex"]);
        assert_eq!(cn.protocol_options(), Some(ProtocolOptions(0)));
        assert_eq!(cn.called_ssel.as_ref().unwrap().as_bytes(), &[0, 1]);
        assert_eq!(cn.calling_ssel.as_ref().map(SSelector::as_bytes), calling);
        assert_eq!(cn.user_data(), Some((&cp[..], UserDataPgi::UserData)));
        assert_eq!(cn.tsdu_maximum_size(), None);
        assert!(cn.connection_identifier.is_none());
        assert!(cn.unknown.is_empty());
    }
}

#[test]
fn rfc1698_b4_data_tsdus() {
    for v in [
        "0100010061803080020103818300000302012A00000000",
        "0100010061803080020103A08300000302012A00000000",
    ] {
        let bytes = hex(v);
        assert_eq!(encode_data_tsdu(&bytes[4..]), bytes);
        let t = decode_tsdu(&bytes).unwrap();
        assert_eq!(t.spdus.len(), 2);
        assert_eq!(
            t.spdus[0],
            PositionedSpdu {
                offset: 0,
                spdu: Spdu::GiveTokens(GiveTokens::default())
            }
        );
        assert_eq!(
            t.spdus[1],
            PositionedSpdu {
                offset: 2,
                spdu: Spdu::DataTransfer(DataTransfer::default())
            }
        );
        assert_eq!(t.user_information, bytes[4..]);
        assert_eq!(t.user_information_offset, 4);
        assert_eq!(t.spdus[0].spdu.name(), "GT");
        assert_eq!(t.spdus[1].spdu.name(), "DT");
        let mut again = Vec::new();
        t.encode(&mut again).unwrap();
        assert_eq!(again, bytes);
    }
}

#[test]
fn rfc1698_refuse() {
    let bytes = hex("0C 03 32 01 00");
    assert_eq!(
        Spdu::Refuse(Refuse::user_no_reason()).to_bytes().unwrap(),
        bytes
    );
    let Spdu::Refuse(rf) = single(&bytes) else {
        panic!("not RF")
    };
    let reason = rf.reason.unwrap();
    assert_eq!(reason.reason, RefuseReason::UserNoReason);
    assert_eq!(reason.reason.code(), 0);
    assert!(reason.user_data.is_empty());
    // A reason 2 with higher-layer data, and a session reason.
    let Spdu::Refuse(rf) = single(&hex("0C 05 32 03 02 61 00")) else {
        panic!("not RF")
    };
    let reason = rf.reason.unwrap();
    assert_eq!(reason.reason, RefuseReason::UserDataFollows);
    assert_eq!(reason.user_data, vec![0x61, 0x00]);
    let Spdu::Refuse(rf) = single(&hex("0C 06 11 01 01 32 01 84")) else {
        panic!("not RF")
    };
    assert_eq!(
        rf.reason.unwrap().reason,
        RefuseReason::VersionsNotSupported
    );
    assert!(rf.transport_disconnect.unwrap().released());
}

/// The P-RELEASE PPDU of RFC 1698 6.5 / 6.6 (RLRQ `62` or RLRE `63`), indefinite lengths.
fn release_ppdu(apdu_tag: u8) -> Vec<u8> {
    let mut v = hex("61 80 30 80 02 01 01 A0 80");
    v.extend_from_slice(&[apdu_tag, 0x80, 0x80, 0x01, 0x00]);
    v.extend_from_slice(&[0; 8]);
    v
}

#[test]
fn rfc1698_finish_and_disconnect_with_corrected_lengths() {
    // Part C R1: C1 16 and 09 18 (the RFC's printed 09 10 / C1 0E are wrong).
    let fin = Spdu::Finish(Finish {
        user_data: Some(release_ppdu(0x62)),
        ..Finish::default()
    });
    let bytes = fin.to_bytes().unwrap();
    assert_eq!(&bytes[..4], &hex("09 18 C1 16")[..]);
    assert_eq!(bytes.len(), 2 + 0x18);
    assert_eq!(single(&bytes), fin);
    let dn = Spdu::Disconnect(Disconnect {
        user_data: Some(release_ppdu(0x63)),
        ..Disconnect::default()
    });
    let bytes = dn.to_bytes().unwrap();
    assert_eq!(&bytes[..4], &hex("0A 18 C1 16")[..]);
    assert_eq!(single(&bytes), dn);
    // The RFC's literal FINISH (09 10 / C1 0E with the full PPDU) does not decode: its LI leaves
    // 8 octets after the SPDU.
    let mut literal = hex("09 10 C1 0E");
    literal.extend(release_ppdu(0x62));
    let e = decode_tsdu(&literal).unwrap_err();
    assert_eq!((e.layer, e.offset), (Layer::Session, 18));
}

#[test]
fn rfc1698_aborts() {
    // 6.7: ABORT with an ARU (no application context group), lengths computed.
    let aru = hex(
        "A0 80 A0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02 01 01 A0 80 64 80 80 01 00 00 00 00 00 00 00 00 00 00 00",
    );
    assert_eq!(aru.len(), 0x29);
    let ab = Spdu::Abort(Abort {
        transport_disconnect: Some(TransportDisconnect::RELEASE_USER_ABORT),
        user_data: Some(aru.clone()),
        ..Abort::default()
    });
    let bytes = ab.to_bytes().unwrap();
    let mut expected = hex("19 2E 11 01 03 C1 29");
    expected.extend(&aru);
    assert_eq!(bytes, expected);
    let Spdu::Abort(d) = single(&bytes) else {
        panic!("not AB")
    };
    assert_eq!(d.reason(), AbortReason::UserAbort);
    let td = d.transport_disconnect.unwrap();
    assert!(td.released() && td.user_abort() && !td.protocol_error());
    assert_eq!(
        td.names(),
        vec!["transport-connection-released", "user-abort"]
    );
    assert_eq!(d.user_data.as_deref(), Some(&aru[..]));
    // 6.8: provider abort.
    let bytes = hex("19 03 11 01 09");
    let provider = Spdu::Abort(Abort {
        transport_disconnect: Some(TransportDisconnect::RELEASE_NO_REASON),
        ..Abort::default()
    });
    assert_eq!(provider.to_bytes().unwrap(), bytes);
    let Spdu::Abort(d) = single(&bytes) else {
        panic!("not AB")
    };
    assert_eq!(d.reason(), AbortReason::NoReason);
    assert_eq!(
        d.transport_disconnect.unwrap().names(),
        vec!["transport-connection-released", "no-reason"]
    );
    // 6.9: abort accept.
    let bytes = hex("1A 00");
    assert_eq!(
        Spdu::AbortAccept(AbortAccept::default())
            .to_bytes()
            .unwrap(),
        bytes
    );
    assert_eq!(single(&bytes), Spdu::AbortAccept(AbortAccept::default()));
    assert_eq!(single(&bytes).name(), "AA");
}

// The golden libiec61850 trace (PEERS.md section 6), TSDUs after `02 f0 80`.
const TRACE_CN: &str = "0dcb0506130100160102140200023302000134020001c1b53181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
const TRACE_AC: &str = "0e8605061301001601021402000234020001c1743172a003800101a26b830400000001a512300780010081025101300780010081025101614f304d020101a0486146a107060528ca220203a203020100a305a103020100be2f282d020103a028a926800300fde881010582010583010aa416800101810305f100820c03ee1c000000000000000118";
const TRACE_DATA: [&str; 4] = [
    "01000100610e300c020103a007a0050201018200",
    "0100010061233021020103a01ca11a020101a21580024d5a8108626173696320696f8205312e342e32",
    "0100010061093007020103a0028b00",
    "0100010061093007020103a0028c00",
];
const TRACE_FN: &str = "0910c10e610c300a020101a0056203800100";
const TRACE_DN: &str = "0a0dc10b61093007020101a0026300";

#[test]
fn trace_connect() {
    let bytes = hex(TRACE_CN);
    let Spdu::Connect(cn) = single(&bytes) else {
        panic!("not CN")
    };
    assert_eq!(cn.versions(), vec![2]);
    assert_eq!(cn.requirements, Some(FunctionalUnits(0x0002)));
    assert_eq!(cn.functional_units(), vec!["duplex"]);
    assert_eq!(cn.calling_ssel.as_ref().unwrap().as_bytes(), &[0, 1]);
    assert_eq!(cn.called_ssel.as_ref().unwrap().as_bytes(), &[0, 1]);
    let (ud, pgi) = cn.user_data().unwrap();
    assert_eq!(pgi, UserDataPgi::UserData);
    assert_eq!(ud.len(), 0xb5);
    assert_eq!(ud, &bytes[24..]);
    assert_eq!(&ud[..3], &[0x31, 0x81, 0xb2]);
    // Built from typed values, byte for byte.
    let built = Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits::DUPLEX),
        calling_ssel: ssel(&[0, 1]),
        called_ssel: ssel(&[0, 1]),
        user_data: Some(ConnectUserData::new(ud.to_vec()).unwrap()),
        ..Connect::default()
    });
    assert_eq!(built.to_bytes().unwrap(), bytes);
    // The same CN with the 3-octet LI (`0d ff 00 cb`) decodes identically and re-encodes short.
    let mut long = vec![0x0d, 0xff, 0x00, 0xcb];
    long.extend_from_slice(&bytes[2..]);
    let t = decode_tsdu(&long).unwrap();
    assert_eq!(t.spdus[0].spdu, Spdu::Connect(cn));
    assert_eq!(t.spdus[0].spdu.to_bytes().unwrap(), bytes);
}

#[test]
fn trace_accept() {
    let bytes = hex(TRACE_AC);
    let Spdu::Accept(ac) = single(&bytes) else {
        panic!("not AC")
    };
    assert_eq!(ac.versions(), vec![2]);
    assert_eq!(ac.functional_units(), vec!["duplex"]);
    assert_eq!(ac.responding_ssel.as_ref().unwrap().as_bytes(), &[0, 1]);
    assert!(ac.calling_ssel.is_none());
    assert_eq!(ac.user_data.as_deref().unwrap(), &bytes[20..]);
    assert_eq!(ac.user_data.as_ref().unwrap().len(), 0x74);
    let built = Spdu::Accept(Accept {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits::DUPLEX),
        responding_ssel: ssel(&[0, 1]),
        user_data: Some(bytes[20..].to_vec()),
        ..Accept::default()
    });
    assert_eq!(built.to_bytes().unwrap(), bytes);
}

#[test]
fn trace_data_tsdus() {
    for v in TRACE_DATA {
        let bytes = hex(v);
        let t = decode_tsdu(&bytes).unwrap();
        assert_eq!(
            t.spdu_list().map(Spdu::spdu_type).collect::<Vec<_>>(),
            vec![SpduType::GiveTokens, SpduType::DataTransfer]
        );
        assert_eq!(t.user_information, bytes[4..]);
        assert_eq!(encode_data_tsdu(&bytes[4..]), bytes);
    }
}

#[test]
fn trace_finish_and_disconnect() {
    let bytes = hex(TRACE_FN);
    let Spdu::Finish(f) = single(&bytes) else {
        panic!("not FN")
    };
    assert_eq!(f.transport_disconnect, None);
    assert_eq!(f.user_data.as_deref().unwrap(), &bytes[4..]);
    let built = Spdu::Finish(Finish {
        user_data: Some(bytes[4..].to_vec()),
        ..Finish::default()
    });
    assert_eq!(built.to_bytes().unwrap(), bytes);

    let bytes = hex(TRACE_DN);
    let Spdu::Disconnect(d) = single(&bytes) else {
        panic!("not DN")
    };
    assert_eq!(d.user_data.as_deref().unwrap(), &bytes[4..]);
    let built = Spdu::Disconnect(Disconnect {
        user_data: Some(bytes[4..].to_vec()),
        ..Disconnect::default()
    });
    assert_eq!(built.to_bytes().unwrap(), bytes);
}

#[test]
fn trace_pocs_252_and_368_decode_at_session_level() {
    // #252: a CN whose user data is a malformed CP; fine at this layer.
    let Spdu::Connect(cn) = single(&hex("0d0ec10c310aff08bbbbbbbbbbbbbbbb")) else {
        panic!("not CN")
    };
    assert_eq!(
        cn.user_data().unwrap().0,
        &hex("310aff08bbbbbbbbbbbbbbbb")[..]
    );
    // #368: CN with PGI 1 `01 00`, user data `31`, then an unknown PI 0x81 and PGI 0xa2.
    let Spdu::Connect(cn) = single(&hex("0d0d0100c1013181020001a2020000")) else {
        panic!("not CN")
    };
    assert_eq!(
        cn.connection_identifier,
        Some(ConnectionIdentifier::default())
    );
    assert_eq!(cn.user_data().unwrap().0, &[0x31]);
    assert_eq!(
        cn.unknown,
        vec![
            RawParameter {
                code: 0x81,
                value: vec![0, 1]
            },
            RawParameter {
                code: 0xa2,
                value: vec![0, 0]
            },
        ]
    );
}

/// A CN like ISODE's stress case (PEERS.md 1.8): every FU ISODE knows (0x07ff), versions 1 and
/// 2, a connection identifier, TSDU maximum sizes 2041/2041, an initial serial number, a token
/// setting item, and more than 254 octets of parameters (3-octet LI).
#[test]
fn isode_style_connect_with_three_octet_li() {
    let cp: Vec<u8> = (0..300u16).map(|i| (i % 251) as u8).collect();
    let mut bytes = hex("0d ff 01 60");
    let mut params = hex("01 0e 0a 04 75 73 65 72 0b 06 31 32 33 34 35 36 \
         05 12 13 01 00 15 04 07 f9 07 f9 16 01 03 17 01 30 1a 01 55 \
         14 02 07 ff 33 02 00 01 34 02 00 01");
    params.extend_from_slice(&[0xc1, 0xff, 0x01, 0x2c]);
    params.extend_from_slice(&cp);
    assert_eq!(params.len(), 0x160);
    bytes.extend_from_slice(&params);

    let Spdu::Connect(cn) = single(&bytes) else {
        panic!("not CN")
    };
    assert_eq!(cn.versions(), vec![1, 2]);
    assert_eq!(cn.requirements, Some(FunctionalUnits(0x07ff)));
    assert_eq!(
        cn.functional_units(),
        vec![
            "half-duplex",
            "duplex",
            "expedited",
            "minor-sync",
            "major-sync",
            "resynchronize",
            "activity-management",
            "negotiated-release",
            "capability-data",
            "exceptions",
            "typed-data"
        ]
    );
    assert!(
        cn.effective_requirements()
            .contains(FunctionalUnits::DUPLEX)
    );
    let id = cn.connection_identifier.as_ref().unwrap();
    assert_eq!(id.calling_ss_user_reference.as_deref(), Some(&b"user"[..]));
    assert_eq!(id.common_reference.as_deref(), Some(&b"123456"[..]));
    assert_eq!(id.called_ss_user_reference, None);
    assert_eq!(id.additional_reference, None);
    let ca = cn.connect_accept.as_ref().unwrap();
    assert_eq!(ca.protocol_options, Some(ProtocolOptions(0)));
    assert_eq!(
        cn.tsdu_maximum_size(),
        Some(TsduMaximumSize {
            initiator_to_responder: 2041,
            responder_to_initiator: 2041
        })
    );
    assert_eq!(cn.initial_serial_number().unwrap().value(), Some(0));
    let ts = ca.token_setting.unwrap();
    assert_eq!(ts.octet(), 0x55);
    assert_eq!(
        [ts.release, ts.major_activity, ts.minor_sync, ts.data],
        [TokenAssignment::Responder; 4]
    );
    assert_eq!(cn.user_data(), Some((&cp[..], UserDataPgi::UserData)));

    // Typed values encode to the same octets (canonical: 3-octet LIs where needed).
    let built = Spdu::Connect(Connect {
        connection_identifier: Some(ConnectionIdentifier {
            calling_ss_user_reference: Some(b"user".to_vec()),
            common_reference: Some(b"123456".to_vec()),
            ..ConnectionIdentifier::default()
        }),
        connect_accept: Some(ConnectAcceptItem {
            protocol_options: Some(ProtocolOptions(0)),
            tsdu_maximum_size: Some(TsduMaximumSize {
                initiator_to_responder: 2041,
                responder_to_initiator: 2041,
            }),
            version: Some(VersionNumber::from_versions(&[1, 2])),
            initial_serial_number: Some(SerialNumber::from_value(0)),
            token_setting: Some(TokenSetting::from_octet(0x55)),
            ..ConnectAcceptItem::default()
        }),
        requirements: Some(FunctionalUnits(0x07ff)),
        calling_ssel: ssel(&[0, 1]),
        called_ssel: ssel(&[0, 1]),
        user_data: Some(ConnectUserData::new(cp).unwrap()),
        ..Connect::default()
    });
    assert_eq!(built.to_bytes().unwrap(), bytes);
}

#[test]
fn length_indicator_forms() {
    // 254 octets: short; 255: FF 00 FF (Part C R11).
    for (n, header) in [
        (252usize, vec![0x0a, 0xfe, 0xc1, 0xfc]),
        (253, vec![0x0a, 0xff, 0x00, 0xff, 0xc1, 0xfd]),
    ] {
        let dn = Spdu::Disconnect(Disconnect {
            user_data: Some(vec![7; n]),
            ..Disconnect::default()
        });
        let bytes = dn.to_bytes().unwrap();
        assert_eq!(bytes[..header.len()], header[..], "{n}");
        assert_eq!(single(&bytes), dn);
    }
    // 3-octet form for small values everywhere, including PIs inside a PGI.
    let bytes = hex("0e ff 00 0d 05 ff 00 05 16 ff 00 01 02 14 02 00 02");
    let Spdu::Accept(ac) = single(&bytes) else {
        panic!("not AC")
    };
    assert_eq!(ac.versions(), vec![2]);
    assert_eq!(
        Spdu::Accept(ac).to_bytes().unwrap(),
        hex("0e 09 05 03 16 01 02 14 02 00 02")
    );
    // Too long to encode at all.
    let huge = Spdu::Disconnect(Disconnect {
        user_data: Some(vec![0; 70_000]),
        ..Disconnect::default()
    });
    assert!(matches!(
        huge.to_bytes(),
        Err(EncodeError::TooLong { max: 65535, .. })
    ));
}

#[test]
fn connect_user_data_pgi_by_size() {
    assert_eq!(
        ConnectUserData::new(vec![0; 512]).unwrap().pgi(),
        UserDataPgi::UserData
    );
    let ext = ConnectUserData::new(vec![0; 513]).unwrap();
    assert_eq!(ext.pgi(), UserDataPgi::ExtendedUserData);
    assert!(ConnectUserData::new(vec![0; 10_241]).is_err());
    let cn = Spdu::Connect(Connect {
        user_data: Some(ext),
        ..Connect::default()
    });
    let bytes = cn.to_bytes().unwrap();
    assert_eq!(&bytes[..8], &hex("0d ff 02 05 c2 ff 02 01")[..]);
    let Spdu::Connect(d) = single(&bytes) else {
        panic!("not CN")
    };
    assert_eq!(d.user_data().unwrap().1, UserDataPgi::ExtendedUserData);
    assert_eq!(d.user_data().unwrap().0.len(), 513);
    // A CN with both PGI 193 and 194 is rejected.
    let e = decode_tsdu(&hex("0d 06 c1 01 00 c2 01 00")).unwrap_err();
    assert_eq!(e.offset, 5);
}

#[test]
fn other_spdu_types_decode_generically() {
    // GT + TYPED DATA with user information.
    let t = decode_tsdu(&hex("01 00 21 00 61 00")).unwrap();
    assert_eq!(
        t.spdus[1].spdu,
        Spdu::Other(GenericSpdu {
            spdu_type: SpduType::TypedData,
            parameters: vec![]
        })
    );
    assert_eq!(t.user_information, vec![0x61, 0x00]);
    // GT + MINOR SYNC POINT with a serial number; PT alone; GTC alone.
    let t = decode_tsdu(&hex("01 00 31 05 0f 01 00 2a 01 35")).unwrap_err();
    assert_eq!(t.offset, 8); // PI 42 overruns the MIP's LI of 5
    let t = decode_tsdu(&hex("01 00 31 06 0f 01 00 2a 01 35")).unwrap();
    assert_eq!(t.spdus[1].spdu.name(), "MIP");
    let Spdu::Other(g) = &t.spdus[1].spdu else {
        panic!()
    };
    assert_eq!(
        g.parameters,
        vec![
            RawParameter {
                code: 15,
                value: vec![0]
            },
            RawParameter {
                code: 42,
                value: vec![0x35]
            }
        ]
    );
    assert_eq!(single(&hex("02 03 10 01 01")).name(), "PT");
    assert_eq!(single(&hex("15 00")).name(), "GTC");
    // SI 25 first is ABORT; after GT it is ACTIVITY INTERRUPT.
    assert_eq!(single(&hex("19 00")).name(), "AB");
    assert_eq!(
        decode_tsdu(&hex("01 00 19 00")).unwrap().spdus[1]
            .spdu
            .name(),
        "AI"
    );
    assert_eq!(
        decode_tsdu(&hex("01 00 1a 00")).unwrap().spdus[1]
            .spdu
            .name(),
        "AIA"
    );
    // A lone category 2 SPDU is accepted.
    assert_eq!(single(&hex("3d 00")).name(), "CD");
    // A lone DT with user information; GT alone.
    let t = decode_tsdu(&hex("01 00 61 03 02 01 05")).unwrap();
    assert_eq!(
        t.spdus,
        vec![PositionedSpdu {
            offset: 0,
            spdu: Spdu::DataTransfer(DataTransfer::default())
        }]
    );
    assert_eq!(t.user_information, hex("61 03 02 01 05"));
    assert_eq!(
        single(&hex("01 03 10 01 01")),
        Spdu::GiveTokens(GiveTokens {
            token_item: Some(Tokens(1)),
            ..GiveTokens::default()
        })
    );
    // CDO and OA.
    let cdo = Spdu::ConnectDataOverflow(ConnectDataOverflow {
        enclosure: Some(EnclosureItem(2)),
        user_data: Some(vec![1, 2]),
        ..Default::default()
    });
    assert_eq!(cdo.to_bytes().unwrap(), hex("0f 07 19 01 02 c1 02 01 02"));
    assert_eq!(single(&hex("0f 07 19 01 02 c1 02 01 02")), cdo);
    let oa = Spdu::OverflowAccept(OverflowAccept {
        tsdu_maximum_size: Some(TsduMaximumSize {
            initiator_to_responder: 0,
            responder_to_initiator: 512,
        }),
        version: Some(VersionNumber::V2),
        ..Default::default()
    });
    assert_eq!(
        oa.to_bytes().unwrap(),
        hex("10 09 15 04 00 00 02 00 16 01 02")
    );
    assert_eq!(single(&hex("10 09 15 04 00 00 02 00 16 01 02")), oa);
    // NOT FINISHED.
    let nf = Spdu::NotFinished(NotFinished {
        user_data: Some(vec![9]),
        ..Default::default()
    });
    assert_eq!(nf.to_bytes().unwrap(), hex("08 03 c1 01 09"));
    assert_eq!(single(&hex("08 03 c1 01 09")), nf);
}

#[test]
fn spdu_type_table() {
    let expected: &[(&str, u8)] = &[
        ("CN", 13),
        ("AC", 14),
        ("RF", 12),
        ("FN", 9),
        ("DN", 10),
        ("NF", 8),
        ("AB", 25),
        ("AA", 26),
        ("CDO", 15),
        ("OA", 16),
        ("GTC", 21),
        ("GTA", 22),
        ("PR", 7),
        ("EX", 5),
        ("GT", 1),
        ("PT", 2),
        ("DT", 1),
        ("TD", 33),
        ("CD", 61),
        ("CDA", 62),
        ("MIP", 49),
        ("MIA", 50),
        ("MAP", 41),
        ("MAA", 42),
        ("RS", 53),
        ("RA", 34),
        ("AS", 45),
        ("AR", 29),
        ("AI", 25),
        ("AIA", 26),
        ("AD", 57),
        ("ADA", 58),
        ("AE", 41),
        ("AEA", 42),
        ("ER", 0),
        ("ED", 48),
    ];
    let got: Vec<(&str, u8)> = SpduType::ALL.iter().map(|t| (t.name(), t.si())).collect();
    assert_eq!(got, expected);
    for t in SpduType::ALL {
        // Each type is reachable from its SI in its position, except the state-dependent ones.
        let decoded = match t.category() {
            Category::Two => SpduType::category2(t.si()),
            _ => SpduType::first_in_tsdu(t.si()),
        };
        if matches!(t, SpduType::ActivityEnd | SpduType::ActivityEndAck) {
            assert_eq!(decoded, t.shares_code_with());
        } else {
            assert_eq!(decoded, Some(*t), "{}", t.name());
        }
        if let Some(o) = t.shares_code_with() {
            assert_eq!(o.si(), t.si());
            assert_eq!(o.shares_code_with(), Some(*t));
        }
    }
    assert_eq!(SpduType::first_in_tsdu(3), None);
    assert_eq!(SpduType::category2(13), None);
    assert_eq!(SpduType::Connect.full_name(), "CONNECT");
}

fn sess_err(h: &str) -> DecodeError {
    let e = decode_tsdu(&hex(h)).expect_err(h);
    assert_eq!(e.layer, Layer::Session);
    e
}

#[test]
fn session_typed_errors() {
    assert!(matches!(sess_err("").kind, ErrorKind::Truncated { .. }));
    assert!(matches!(
        sess_err("0d").kind,
        ErrorKind::Truncated {
            what: "SPDU header",
            ..
        }
    ));
    // Unknown SI.
    let e = sess_err("03 00");
    assert!(matches!(&e.kind, ErrorKind::Unexpected { found, .. } if found == "SI 3"));
    // SPDU LI beyond the TSDU; 3-octet LI cut short.
    let e = sess_err("0d 05 14 02 00 02");
    assert_eq!(e.offset, 1);
    assert!(matches!(
        e.kind,
        ErrorKind::Truncated {
            what: "SPDU parameters",
            needed: 5,
            available: 4
        }
    ));
    assert!(matches!(
        sess_err("0d ff 00").kind,
        ErrorKind::Truncated { .. }
    ));
    // PI LI beyond its SPDU (the SPDU LI is what bounds it, not the TSDU).
    let e = sess_err("0d 03 14 02 00 02");
    assert_eq!(e.offset, 3);
    // PI LI beyond its PGI.
    let e = sess_err("0d 06 05 03 16 02 02 02");
    assert_eq!(e.offset, 5);
    // An SPDU LI that ends inside a parameter header.
    let e = sess_err("0d 01 14");
    assert_eq!(e.offset, 3);
    // S-selector of 17 octets.
    let mut s = vec![0x0d, 19, 0x34, 17];
    s.extend([0x41; 17]);
    let e = decode_tsdu(&s).unwrap_err();
    assert_eq!(e.offset, 3);
    assert!(matches!(
        e.kind,
        ErrorKind::LimitExceeded {
            what: "S-selector length",
            limit: 16
        }
    ));
    assert!(SSelector::new(vec![0; 17]).is_err());
    assert!(SSelector::new(vec![0; 16]).is_ok());
    assert!(matches!(
        SSelector::try_from(&[0; 17][..]),
        Err(EncodeError::TooLong {
            len: 17,
            max: 16,
            ..
        })
    ));
    // Held inline: equality, hashing and `Debug` are still those of the octets.
    let a = SSelector::new(vec![1, 2]).unwrap();
    assert_eq!(a.as_bytes(), [1, 2]);
    assert_eq!(SSelector::try_from(&[1, 2][..]).unwrap(), a);
    assert_ne!(SSelector::new(vec![1, 2, 0]).unwrap(), a);
    assert_eq!(SSelector::default().as_bytes(), [0u8; 0]);
    assert_eq!(format!("{a:?}"), "SSelector([1, 2])");
    let h = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
    assert_eq!(
        std::hash::BuildHasher::hash_one(&h, &a),
        std::hash::BuildHasher::hash_one(&h, vec![1u8, 2])
    );
    // Wrong fixed lengths.
    assert!(matches!(
        sess_err("0d 03 14 01 02").kind,
        ErrorKind::BadLength(_)
    ));
    assert!(matches!(
        sess_err("0d 05 05 03 16 00").kind,
        ErrorKind::Truncated { .. }
    ));
    assert!(matches!(
        sess_err("0d 04 05 02 16 00").kind,
        ErrorKind::BadLength(_)
    ));
    assert!(matches!(
        sess_err("0d 07 05 05 15 03 00 00 01").kind,
        ErrorKind::BadLength(_)
    ));
    assert!(matches!(
        sess_err("0c 02 32 00").kind,
        ErrorKind::BadLength(_)
    ));
    // Duplicates.
    let e = sess_err("0d 08 14 02 00 02 14 02 00 02");
    assert_eq!(e.offset, 6);
    // Trailing octets after a category 1 SPDU.
    let e = sess_err("1a 00 1a 00");
    assert_eq!(e.offset, 2);
    assert!(
        matches!(&e.kind, ErrorKind::Unexpected { expected, .. } if expected.contains("extended concatenation"))
    );
    // After PT, only a category 2 SPDU may follow.
    let e = sess_err("02 00 0d 00");
    assert_eq!(e.offset, 2);
    // After GT + MIP (no user information), nothing may follow.
    assert_eq!(sess_err("01 00 31 00 61").offset, 4);
}

#[test]
fn parameter_helpers() {
    assert_eq!(
        FunctionalUnits::DEFAULT.names(),
        vec![
            "half-duplex",
            "minor-sync",
            "activity-management",
            "capability-data",
            "exceptions"
        ]
    );
    assert_eq!(FunctionalUnits::ALL.names().len(), 13);
    assert_eq!(FunctionalUnits(0xe002).unknown_bits(), 0xe000);
    assert_eq!(
        FunctionalUnits(0x07ff).intersection(FunctionalUnits::DUPLEX),
        FunctionalUnits::DUPLEX
    );
    assert_eq!(
        (FunctionalUnits::DUPLEX | FunctionalUnits::HALF_DUPLEX).bits(),
        3
    );
    assert_eq!(VersionNumber(3).versions(), vec![1, 2]);
    assert!(
        VersionNumber::V2.offers(2) && !VersionNumber::V2.offers(1) && !VersionNumber::V2.offers(0)
    );
    assert_eq!(VersionNumber::from_versions(&[2, 0, 9]), VersionNumber::V2);
    assert_eq!(SerialNumber(b"000123".to_vec()).value(), Some(123));
    assert_eq!(SerialNumber(b"12a".to_vec()).value(), None);
    assert_eq!(SerialNumber::from_value(999_999).0, b"999999");
    assert_eq!(
        Tokens(0x55).names(),
        vec!["data", "minor-sync", "major-activity", "release"]
    );
    let ts = TokenSetting::from_octet(0b10_01_00_11);
    assert_eq!(
        (ts.release, ts.major_activity, ts.minor_sync, ts.data),
        (
            TokenAssignment::CalledChoice,
            TokenAssignment::Responder,
            TokenAssignment::Initiator,
            TokenAssignment::Reserved
        )
    );
    assert_eq!(ts.octet(), 0b10_01_00_11);
    assert!(EnclosureItem(3).beginning() && EnclosureItem(3).end());
    assert!(DataOverflow(1).more_data());
    assert!(ProtocolOptions(1).extended_concatenation());
    assert_eq!(
        TransportDisconnect(0).names(),
        vec!["transport-connection-kept"]
    );
    assert_eq!(
        RefuseReason::from_code(0x86),
        RefuseReason::ImplementationRestriction
    );
    assert_eq!(RefuseReason::from_code(0x99).code(), 0x99);
    let ab = Abort {
        transport_disconnect: Some(TransportDisconnect(0x05)),
        ..Abort::default()
    };
    assert_eq!(ab.reason(), AbortReason::ProtocolError);
    assert_eq!(Abort::default().reason(), AbortReason::Unspecified);
}

#[test]
fn user_data_accessor() {
    assert_eq!(
        single(&hex(TRACE_FN)).user_data(),
        Some(&hex(TRACE_FN)[4..])
    );
    assert_eq!(
        single(&hex(TRACE_CN)).user_data(),
        Some(&hex(TRACE_CN)[24..])
    );
    assert_eq!(single(&hex("1A 00")).user_data(), None);
    assert_eq!(single(&hex("0C 03 32 01 00")).user_data(), None);
}

#[test]
fn long_group_and_spdu_lengths_widen_in_place() {
    // A Connect/Accept Item of 300 + 4 octets (an unknown PI of 300 octets): both the PGI's
    // LI and the SPDU's are written in three octets.
    let cn = Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem {
            unknown: vec![RawParameter {
                code: 0x99,
                value: vec![0x5A; 300],
            }],
            ..ConnectAcceptItem::default()
        }),
        ..Connect::default()
    });
    let bytes = cn.to_bytes().unwrap();
    let mut expected = hex("0d ff 01 34 05 ff 01 30 99 ff 01 2c");
    expected.extend_from_slice(&[0x5A; 300]);
    assert_eq!(bytes, expected);
    let mut out = hex("aa");
    cn.encode(&mut out).unwrap();
    assert_eq!(out[1..], expected[..]);
    assert_eq!(decode_tsdu(&bytes).unwrap().spdus[0].spdu, cn);
}
