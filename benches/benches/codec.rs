//! Encode and decode of a connection request (CN + CP + AARQ with a password and an MMS
//! Initiate-Request, as libiec61850 sends it) and of a 64 KiB data TSDU (GT + DT + TD), through
//! every layer. Run: `cargo bench -p guls-benches --bench codec`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use guls_acse::{Aarq, AeQualifier, ApTitle, Apdu};
use guls_ber::{External, ExternalEncoding, known};
use guls_presentation::{self as pres, ContextDefinition, Cp, EncodeStyle, PdvList, UserData};
use guls_session::{
    self as ses, Connect, ConnectAcceptItem, ConnectUserData, FunctionalUnits, SSelector, Spdu,
};
use guls_transport::{TpduSize, encode_data_frames};

const MMS_INITIATE: &str =
    "a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";

fn connect_request() -> Vec<u8> {
    let mut aarq = Aarq::new(known::MMS_APPLICATION_CONTEXT).with_password(b"user1@testpw");
    aarq.called_ap_title = Some(ApTitle::Form2("1.1.1.999.1".parse().unwrap()));
    aarq.called_ae_qualifier = Some(AeQualifier::Form2(12));
    aarq.calling_ap_title = Some(ApTitle::Form2("1.1.1.999".parse().unwrap()));
    aarq.calling_ae_qualifier = Some(AeQualifier::Form2(12));
    aarq.user_information = vec![External {
        direct_reference: None,
        indirect_reference: Some(3),
        data_value_descriptor: None,
        encoding: ExternalEncoding::SingleAsn1Type(guls_ber::parse_hex(MMS_INITIATE).unwrap()),
    }];
    let cp = Cp {
        calling_selector: Some(vec![0, 0, 0, 1]),
        called_selector: Some(vec![0, 0, 0, 1]),
        contexts: vec![
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
        ],
        user_data: Some(UserData::single_asn1(1, Apdu::Aarq(aarq).encode())),
        ..Cp::default()
    };
    ses::encode_spdu(&Spdu::Connect(Connect {
        connect_accept: Some(ConnectAcceptItem::rfc1698()),
        requirements: Some(FunctionalUnits(0x0002)),
        calling_ssel: Some(SSelector::new(vec![0, 1]).unwrap()),
        called_ssel: Some(SSelector::new(vec![0, 1]).unwrap()),
        user_data: Some(
            ConnectUserData::new(pres::encode_cp(&cp, EncodeStyle::Canonical)).unwrap(),
        ),
        ..Connect::default()
    }))
    .unwrap()
}

fn decode_connect_request(tsdu: &[u8]) -> usize {
    let t = ses::decode_tsdu(tsdu).unwrap();
    let Some(Spdu::Connect(cn)) = t.main_spdu() else {
        panic!("CN")
    };
    let cp = pres::decode_cp(cn.user_data.as_ref().unwrap().bytes()).unwrap();
    let ud = cp.user_data.unwrap();
    let apdu = Apdu::decode(ud.pdv_lists()[0].value_bytes()).unwrap();
    match apdu {
        Apdu::Aarq(a) => a.user_information.len(),
        _ => panic!("AARQ"),
    }
}

fn data_tsdu(payload: &[u8]) -> Vec<u8> {
    let ud = UserData::Full(vec![PdvList::octet_aligned(3, payload.to_vec())]);
    ses::encode_data_tsdu(&pres::encode_td(&ud, EncodeStyle::Canonical))
}

fn decode_data_tsdu(tsdu: &[u8]) -> usize {
    let t = ses::decode_tsdu(tsdu).unwrap();
    let ud = pres::decode_user_data(&t.user_information).unwrap();
    ud.pdv_lists()[0].value_bytes().len()
}

fn benches(c: &mut Criterion) {
    let cn = connect_request();
    let mut g = c.benchmark_group("cn_cp_aarq");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| b.iter(|| black_box(connect_request())));
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode_connect_request(black_box(&cn))))
    });
    g.finish();

    let payload = vec![0x5a; 64 * 1024];
    let tsdu = data_tsdu(&payload);
    let mut g = c.benchmark_group("data_64k");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("encode", |b| {
        b.iter(|| black_box(data_tsdu(black_box(&payload))))
    });
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode_data_tsdu(black_box(&tsdu))))
    });
    g.bench_function("encode+tpkt_8192", |b| {
        b.iter(|| {
            let t = data_tsdu(black_box(&payload));
            let mut out = Vec::with_capacity(t.len() + 64);
            encode_data_frames(&t, TpduSize::S8192, &mut out);
            black_box(out)
        })
    });
    g.bench_function("memcpy_anchor", |b| {
        b.iter(|| black_box(black_box(&payload).to_vec()))
    });
    g.finish();
}

criterion_group!(codec, benches);
criterion_main!(codec);
