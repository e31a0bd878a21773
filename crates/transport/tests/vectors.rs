//! Exact vectors: the libiec61850 golden trace (PEERS.md section 6), RFC 1698 B.11, and the
//! libiec61850 issue PoCs (PEERS.md 2.2), plus typed error cases.

use guls_ber::parse_hex;
use guls_transport::*;

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).expect("test hex")
}

const TRACE_CR: &str = "0300001611e00000000100c0010dc2020001c1020001";
const TRACE_CC: &str = "0300001611d00001000100c0010dc2020001c1020001";
const TRACE_CN: &str = "030000d402f0800dcb0506130100160102140200023302000134020001c1b53181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
const TRACE_GT_DT: &str = "0300001b02f08001000100610e300c020103a007a0050201018200";
const TRACE_FN: &str = "0300001902f0800910c10e610c300a020101a0056203800100";

fn libiec_connect(cr: bool) -> ConnectTpdu {
    ConnectTpdu {
        tpdu_size: Some(TpduSize::S8192),
        calling_tsel: Some(vec![0x00, 0x01]),
        called_tsel: Some(vec![0x00, 0x01]),
        ..ConnectTpdu::class0(if cr { 0 } else { 1 }, 1)
    }
}

#[test]
fn trace_cr_decodes_field_by_field_and_reencodes() {
    let frame = hex(TRACE_CR);
    let Tpdu::Cr(cr) = decode_frame(&frame).unwrap() else {
        panic!("not a CR")
    };
    assert_eq!(cr.credit, 0);
    assert_eq!(cr.dst_ref, 0x0000);
    assert_eq!(cr.src_ref, 0x0001);
    assert_eq!(cr.class, TransportClass::Class0);
    assert_eq!(cr.options, ClassOptions::default());
    assert_eq!(cr.tpdu_size, Some(TpduSize::S8192));
    assert_eq!(cr.tpdu_size.unwrap().code(), 0x0d);
    assert_eq!(cr.tpdu_size.unwrap().octets(), 8192);
    assert_eq!(cr.calling_tsel.as_deref(), Some(&[0x00, 0x01][..]));
    assert_eq!(cr.called_tsel.as_deref(), Some(&[0x00, 0x01][..]));
    assert!(cr.other_parameters.is_empty());
    assert!(cr.user_data.is_empty());
    assert_eq!(cr.preferred_max_tpdu_size, None);

    let mut out = Vec::new();
    encode_frame(&Tpdu::Cr(libiec_connect(true)), &mut out).unwrap();
    assert_eq!(out, frame);
}

#[test]
fn trace_cc_decodes_field_by_field_and_reencodes() {
    let frame = hex(TRACE_CC);
    let Tpdu::Cc(cc) = decode_frame(&frame).unwrap() else {
        panic!("not a CC")
    };
    assert_eq!((cc.dst_ref, cc.src_ref), (1, 1));
    assert_eq!(cc.class, TransportClass::Class0);
    assert_eq!(cc.tpdu_size, Some(TpduSize::S8192));
    assert_eq!(cc.calling_tsel.as_deref(), Some(&[0x00, 0x01][..]));
    assert_eq!(cc.called_tsel.as_deref(), Some(&[0x00, 0x01][..]));
    let mut out = Vec::new();
    encode_frame(&Tpdu::Cc(libiec_connect(false)), &mut out).unwrap();
    assert_eq!(out, frame);
}

#[test]
fn trace_dt_header_and_payload() {
    let frame = hex(TRACE_CN);
    let Tpdu::Dt(dt) = decode_frame(&frame).unwrap() else {
        panic!("not a DT")
    };
    assert!(dt.eot);
    assert_eq!(dt.nr, 0);
    assert_eq!(dt.user_data, frame[7..]);
    assert_eq!(&dt.user_data[..4], &[0x0d, 0xcb, 0x05, 0x06]);
    // Re-encode: header exactly 02 f0 80.
    let mut out = Vec::new();
    Tpdu::Dt(DataTpdu::new(true, dt.user_data.clone()))
        .encode(&mut out)
        .unwrap();
    assert_eq!(&out[..3], &[0x02, 0xf0, 0x80]);
    assert_eq!(out, frame[4..]);
    let mut framed = Vec::new();
    encode_data_frames(&dt.user_data, TpduSize::S8192, &mut framed);
    assert_eq!(framed, frame);
}

#[test]
fn rfc1698_b11_data_frame() {
    let frame = hex("0300001E02F0800100010061803080020103818300000302012A00000000");
    let tsdu = hex("0100010061803080020103818300000302012A00000000");
    let mut out = Vec::new();
    encode_data_frames(&tsdu, TpduSize::S2048, &mut out);
    assert_eq!(out, frame);
    let Tpdu::Dt(dt) = decode_frame(&frame).unwrap() else {
        panic!("not a DT")
    };
    assert!(dt.eot);
    assert_eq!(dt.user_data, tsdu);
    assert_eq!(next_frame(&frame, 65535).unwrap(), Some(30));
}

#[test]
fn issue_589_tpdu_size_code_is_clamped() {
    // The trace CR with the size code replaced by a2 (libiec61850 #589 PoC option `c0 01 a2`).
    let frame = hex("0300001611e00000000100c001a2c2020001c1020001");
    let Tpdu::Cr(cr) = decode_frame(&frame).unwrap() else {
        panic!("not a CR")
    };
    assert_eq!(cr.tpdu_size, Some(TpduSize::S8192));
    assert_eq!(cr.effective_tpdu_size().octets(), 8192);
    // Re-encoding sends the clamped code.
    let mut out = Vec::new();
    encode_frame(&Tpdu::Cr(cr), &mut out).unwrap();
    assert_eq!(out, hex(TRACE_CR));
    // Codes below 7 clamp up to 128 octets.
    for code in [0u8, 1, 6] {
        assert_eq!(TpduSize::from_code(code), TpduSize::S128);
    }
    assert_eq!(TpduSize::from_code(0xff), TpduSize::S8192);
    assert_eq!(TpduSize::from_code(11).octets(), 2048);
}

#[test]
fn issue_252_and_368_pocs_are_valid_dts() {
    let p252 = hex("0300001702f0800d0ec10c310aff08bbbbbbbbbbbbbbbb");
    let Tpdu::Dt(dt) = decode_frame(&p252).unwrap() else {
        panic!("not a DT")
    };
    assert!(dt.eot);
    assert_eq!(dt.user_data, p252[7..]);
    let p368 = hex("0300001602f0800d0d0100c1013181020001a2020000");
    let Tpdu::Dt(dt) = decode_frame(&p368).unwrap() else {
        panic!("not a DT")
    };
    assert_eq!(dt.user_data, hex("0d0d0100c1013181020001a2020000"));
}

#[test]
fn tpdu_size_helpers() {
    assert_eq!(TpduSize::S128.max_dt_user_data(), 125);
    assert_eq!(TpduSize::S2048.max_dt_user_data(), 2045);
    assert_eq!(TpduSize::at_most(0), TpduSize::S128);
    assert_eq!(TpduSize::at_most(2047), TpduSize::S1024);
    assert_eq!(TpduSize::at_most(2048), TpduSize::S2048);
    assert_eq!(TpduSize::at_most(1 << 20), TpduSize::S8192);
    assert_eq!(
        ConnectTpdu::class0(0, 1).effective_tpdu_size(),
        TpduSize::S128
    );
}

#[test]
fn preferred_max_tpdu_size_parameter() {
    // CR with F0 02 01 00 (256 units of 128 = 32768 octets).
    let tpdu = hex("0ae00000000100f0020100");
    let Tpdu::Cr(cr) = Tpdu::decode(&tpdu).unwrap() else {
        panic!("not a CR")
    };
    assert_eq!(cr.preferred_max_tpdu_size, Some(256));
    assert_eq!(cr.preferred_max_tpdu_octets(), Some(32768));
    let mut out = Vec::new();
    Tpdu::Cr(cr).encode(&mut out).unwrap();
    assert_eq!(out, tpdu);
    // Zero units still take one octet.
    let t = Tpdu::Cr(ConnectTpdu {
        preferred_max_tpdu_size: Some(0),
        ..ConnectTpdu::class0(0, 1)
    });
    let mut out = Vec::new();
    t.encode(&mut out).unwrap();
    assert_eq!(out, hex("09e00000000100f00100"));
    // Five octets is invalid.
    let e = Tpdu::decode(&hex("0de00000000100f0050000000001")).unwrap_err();
    assert_eq!(e.layer, Layer::Cotp);
    assert_eq!(e.offset, 8);
    assert!(matches!(e.kind, ErrorKind::BadLength(_)));
}

#[test]
fn dr_and_er_exact_bytes() {
    let dr = Tpdu::Dr(DisconnectTpdu {
        dst_ref: 1,
        src_ref: 2,
        reason: DisconnectReason::Normal,
        additional_information: Some(b"AB".to_vec()),
        other_parameters: vec![],
        user_data: vec![],
    });
    let mut out = Vec::new();
    dr.encode(&mut out).unwrap();
    assert_eq!(
        out,
        hex("0a80000100028 0e0024142".replace(' ', "").as_str())
    );
    assert_eq!(Tpdu::decode(&out).unwrap(), dr);
    // A DR without parameters, from a general-purpose stack.
    let Tpdu::Dr(d) = Tpdu::decode(&hex("068000010002 00")).unwrap() else {
        panic!("not a DR")
    };
    assert_eq!(d.reason, DisconnectReason::NotSpecified);
    assert_eq!(d.reason.description(), "reason not specified");
    assert_eq!(
        DisconnectReason::from_code(0x86),
        DisconnectReason::Other(0x86)
    );

    let er = Tpdu::Er(ErrorTpdu {
        dst_ref: 0x0102,
        cause: RejectCause::InvalidTpduType,
        invalid_tpdu: Some(hex("0210")),
        other_parameters: vec![],
    });
    let mut out = Vec::new();
    er.encode(&mut out).unwrap();
    assert_eq!(out, hex("087001020 2c1020210".replace(' ', "").as_str()));
    assert_eq!(Tpdu::decode(&out).unwrap(), er);
    assert_eq!(er.name(), "ER");
}

#[test]
fn encode_errors_leave_the_buffer_as_it_was() {
    let held = hex("0102");
    // A TPDU that cannot be encoded (a parameter value over 255 octets)...
    let er = Tpdu::Er(ErrorTpdu {
        dst_ref: 1,
        cause: RejectCause::InvalidTpduType,
        invalid_tpdu: Some(vec![0; 256]),
        other_parameters: vec![],
    });
    let mut out = held.clone();
    assert!(matches!(
        er.encode(&mut out),
        Err(EncodeError::TooLong { .. })
    ));
    assert_eq!(out, held);
    assert!(matches!(
        encode_frame(&er, &mut out),
        Err(EncodeError::TooLong { .. })
    ));
    assert_eq!(out, held);
    // ...a header over 254 octets...
    let dt = Tpdu::Dt(DataTpdu {
        eot: true,
        nr: 0,
        other_parameters: vec![
            RawParameter {
                code: 0xc4,
                value: vec![0; 200]
            };
            2
        ],
        user_data: vec![],
    });
    assert!(matches!(
        encode_frame(&dt, &mut out),
        Err(EncodeError::TooLong {
            what: "TPDU header",
            ..
        })
    ));
    assert_eq!(out, held);
    // ...and one too long for a TPKT.
    let dt = Tpdu::Dt(DataTpdu::new(true, vec![0; MAX_TPKT_PAYLOAD - 2]));
    assert!(matches!(
        encode_frame(&dt, &mut out),
        Err(EncodeError::TooLong {
            what: "TPKT payload",
            ..
        })
    ));
    assert_eq!(out, held);
    // The largest that fits.
    let dt = Tpdu::Dt(DataTpdu::new(true, vec![7; MAX_TPKT_PAYLOAD - 3]));
    encode_frame(&dt, &mut out).unwrap();
    assert_eq!(out.len(), held.len() + MAX_TPKT_LEN);
    assert_eq!(out[..6], [1, 2, 3, 0, 0xff, 0xff]);
}

#[test]
fn unknown_parameters_are_kept() {
    // CR with a version parameter (C4) and additional option selection (C6).
    let tpdu = hex("0ce00000000100c40101c60101");
    let Tpdu::Cr(cr) = Tpdu::decode(&tpdu).unwrap() else {
        panic!("not a CR")
    };
    assert_eq!(
        cr.other_parameters,
        vec![
            RawParameter {
                code: 0xc4,
                value: vec![1]
            },
            RawParameter {
                code: 0xc6,
                value: vec![1]
            }
        ]
    );
}

fn cotp_err(bytes: &str) -> DecodeError {
    let e = Tpdu::decode(&hex(bytes)).unwrap_err();
    assert_eq!(e.layer, Layer::Cotp);
    e
}

#[test]
fn cotp_typed_errors() {
    // Unknown TPDU codes are named.
    let e = cotp_err("02 10 80");
    assert_eq!(e.offset, 1);
    assert!(
        matches!(&e.kind, ErrorKind::Unexpected { found, .. } if found.contains("0x10") && found.contains("ED"))
    );
    let e = cotp_err("02 c0 80");
    assert!(matches!(&e.kind, ErrorKind::Unexpected { found, .. } if found.contains("DC")));
    let e = cotp_err("02 00 80");
    assert!(matches!(&e.kind, ErrorKind::Unexpected { found, .. } if found.contains("0x00")));
    // Empty and 1-octet input.
    assert!(matches!(cotp_err("").kind, ErrorKind::Truncated { .. }));
    assert!(matches!(cotp_err("02").kind, ErrorKind::Truncated { .. }));
    // LI 255 reserved.
    assert!(matches!(cotp_err("ff f0 80").kind, ErrorKind::BadLength(_)));
    // LI shorter than the fixed part.
    let e = cotp_err("01 f0");
    assert!(matches!(
        e.kind,
        ErrorKind::Truncated {
            what: "DT TPDU",
            needed: 2,
            available: 1
        }
    ));
    let e = cotp_err("05 e0 00 00 00 01");
    assert!(matches!(
        e.kind,
        ErrorKind::Truncated {
            what: "CR TPDU",
            ..
        }
    ));
    // LI beyond the data.
    let e = cotp_err("11 e0 00 00 00 01 00 c0 01 0d");
    assert_eq!(e.offset, 0);
    assert!(matches!(
        e.kind,
        ErrorKind::Truncated {
            needed: 18,
            available: 10,
            ..
        }
    ));
    // Parameter value overrunning the header.
    let e = cotp_err("09 e0 00 00 00 01 00 c2 05 00");
    assert_eq!(e.offset, 8);
    // A lone parameter code octet at the end of the header.
    let e = cotp_err("07 e0 00 00 00 01 00 c2");
    assert_eq!(e.offset, 7);
    // TPDU size parameter with 2 octets.
    let e = cotp_err("0a e0 00 00 00 01 00 c0 02 0d 0d");
    assert!(matches!(e.kind, ErrorKind::BadLength(_)));
    // Duplicate parameter.
    let e = cotp_err("0c e0 00 00 00 01 00 c0 01 0d c0 01 0b");
    assert_eq!(e.offset, 10);
    // Class 5 does not exist.
    let e = cotp_err("06 e0 00 00 00 01 50");
    assert_eq!(e.offset, 6);
    // ER with trailing octets.
    let e = cotp_err("04 70 00 01 00 99");
    assert!(matches!(e.kind, ErrorKind::Trailing { count: 1, .. }));
}

#[test]
fn tpkt_typed_errors_and_partial_frames() {
    let e = next_frame(&[4], 65535).unwrap_err();
    assert_eq!((e.layer, e.offset), (Layer::Tpkt, 0));
    assert!(matches!(e.kind, ErrorKind::Unexpected { .. }));
    let e = next_frame(&[3, 0, 0, 6], 65535).unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(matches!(e.kind, ErrorKind::BadLength(_)));
    let e = next_frame(&[3, 0, 0x10, 0x00], 2048).unwrap_err();
    assert!(matches!(
        e.kind,
        ErrorKind::LimitExceeded { limit: 2048, .. }
    ));
    // Feeding the CR one octet at a time: None until complete.
    let frame = hex(TRACE_CR);
    for n in 0..frame.len() {
        assert_eq!(next_frame(&frame[..n], 65535).unwrap(), None, "prefix {n}");
    }
    assert_eq!(next_frame(&frame, 65535).unwrap(), Some(22));
    let mut longer = frame.clone();
    longer.extend_from_slice(&[3, 0]);
    assert_eq!(next_frame(&longer, 65535).unwrap(), Some(22));
    // decode_tpkt insists on exactly one frame.
    assert!(matches!(
        decode_tpkt(&longer).unwrap_err().kind,
        ErrorKind::Trailing { count: 2, .. }
    ));
    assert!(matches!(
        decode_tpkt(&frame[..10]).unwrap_err().kind,
        ErrorKind::Truncated {
            needed: 22,
            available: 10,
            ..
        }
    ));
    // Errors from the TPDU inside a frame are offset by the TPKT header.
    let e = decode_frame(&hex("0300000702 1080")).unwrap_err();
    assert_eq!((e.layer, e.offset), (Layer::Cotp, 5));
    // encode_tpkt bounds.
    let mut out = Vec::new();
    assert!(encode_tpkt(&[1, 2], &mut out).is_err());
    assert!(encode_tpkt(&vec![0; MAX_TPKT_PAYLOAD + 1], &mut out).is_err());
    assert!(encode_tpkt(&vec![0; MAX_TPKT_PAYLOAD], &mut out).is_ok());
    assert_eq!(&out[..4], &[3, 0, 0xff, 0xff]);
}

#[test]
fn split_the_client_side_of_the_trace() {
    let parts = [TRACE_CR, TRACE_CN, TRACE_GT_DT, TRACE_FN];
    let stream: Vec<u8> = parts.iter().flat_map(|p| hex(p)).collect();
    let frames: Vec<_> = split_frames(&stream, 65535)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 4);
    let mut off = 0;
    for (f, p) in frames.iter().zip(parts) {
        let bytes = hex(p);
        assert_eq!(f.offset, off);
        assert_eq!(f.payload, &bytes[4..]);
        off += bytes.len();
    }
    // A partial last frame gives one error and ends the iteration.
    let cut = &stream[..stream.len() - 3];
    let items: Vec<_> = split_frames(cut, 65535).collect();
    assert_eq!(items.len(), 4);
    let e = items[3].clone().unwrap_err();
    assert_eq!(e.offset, off - hex(TRACE_FN).len());
    assert!(matches!(e.kind, ErrorKind::Truncated { what: "TPKT", .. }));
    // A bad version in the middle is reported at its stream offset.
    let mut bad = stream.clone();
    bad[22] = 4;
    let items: Vec<_> = split_frames(&bad, 65535).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].clone().unwrap_err().offset, 22);
}

#[test]
fn data_frames_segment_with_eot_on_the_last() {
    let tsdu: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
    let mut out = Vec::new();
    encode_data_frames(&tsdu, TpduSize::S128, &mut out);
    let dts: Vec<DataTpdu> = split_frames(&out, 65535)
        .map(|f| match Tpdu::decode(f.unwrap().payload).unwrap() {
            Tpdu::Dt(d) => d,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        dts.iter()
            .map(|d| (d.eot, d.user_data.len()))
            .collect::<Vec<_>>(),
        vec![(false, 125), (false, 125), (true, 50)]
    );
    let joined: Vec<u8> = dts.iter().flat_map(|d| d.user_data.clone()).collect();
    assert_eq!(joined, tsdu);
    let mut empty = Vec::new();
    encode_data_frames(&[], TpduSize::S128, &mut empty);
    assert_eq!(empty, hex("03000007 02f080"));
}

#[test]
fn encode_rejects_unrepresentable_fields() {
    let mut out = Vec::new();
    let big = Tpdu::Cr(ConnectTpdu {
        called_tsel: Some(vec![0; 256]),
        ..ConnectTpdu::class0(0, 1)
    });
    assert!(matches!(
        big.encode(&mut out),
        Err(EncodeError::TooLong { max: 255, .. })
    ));
    let long_header = Tpdu::Cr(ConnectTpdu {
        called_tsel: Some(vec![0; 200]),
        calling_tsel: Some(vec![0; 200]),
        ..ConnectTpdu::class0(0, 1)
    });
    assert!(matches!(
        long_header.encode(&mut out),
        Err(EncodeError::TooLong { max: 254, .. })
    ));
    let bad_nr = Tpdu::Dt(DataTpdu {
        nr: 200,
        ..DataTpdu::new(true, vec![])
    });
    assert!(bad_nr.encode(&mut out).is_err());
    let bad_credit = Tpdu::Cc(ConnectTpdu {
        credit: 16,
        ..ConnectTpdu::class0(1, 1)
    });
    assert!(bad_credit.encode(&mut out).is_err());
}
