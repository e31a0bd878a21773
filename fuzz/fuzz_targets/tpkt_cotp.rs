//! Fuzz target: split arbitrary input as a TPKT stream and decode every frame's TPDU; also
//! decode the whole input as one TPDU. Nothing may panic; errors name the TPKT or COTP layer
//! and an offset inside the input; a decoded TPDU must re-encode, decode to the same value,
//! and its canonical encoding must be a fixed point. Finally the input is received as a data
//! phase stream by a transport machine with a head splitter, once through `feed` and once
//! with scatter reads (read sizes taken from the input): the events and the error must be
//! the same.
#![no_main]

use guls_ber::Layer;
use guls_transport::{
    HeadSplit, ScatterRead, TpduSize, Tpdu, TransportConfig, TransportConnection,
    TransportError, TransportEvent, decode_frame, encode_frame, split_frames,
};
use libfuzzer_sys::fuzz_target;

fn check_tpdu(bytes: &[u8]) {
    match Tpdu::decode(bytes) {
        Ok(t) => {
            let _ = format!("{t:?}");
            let mut canonical = Vec::new();
            t.encode(&mut canonical).expect("a decoded TPDU re-encodes");
            let again = Tpdu::decode(&canonical).expect("canonical encoding decodes");
            assert_eq!(again, t, "round trip");
            let mut twice = Vec::new();
            again.encode(&mut twice).unwrap();
            assert_eq!(twice, canonical, "canonical encoding is a fixed point");
            let mut framed = Vec::new();
            encode_frame(&t, &mut framed).expect("a decoded TPDU fits a TPKT");
            assert_eq!(decode_frame(&framed).expect("framed TPDU decodes"), t);
        }
        Err(e) => {
            assert_eq!(e.layer, Layer::Cotp);
            assert!(e.offset <= bytes.len(), "error offset past the input");
        }
    }
}

/// A header of the fuzz input's own: octet 0 the head length, octets 1..3 the total.
fn splitter(first: &[u8]) -> Option<HeadSplit> {
    let head_len = usize::from(*first.first()?);
    let total = first.get(1..3)?;
    Some(HeadSplit {
        head_len,
        total_len: usize::from(u16::from_be_bytes([total[0], total[1]])) * 4,
    })
}

fn connected() -> TransportConnection {
    let cfg = TransportConfig {
        max_tpdu_size: TpduSize::S128,
        max_tsdu_size: 1 << 18,
        ..TransportConfig::default()
    };
    let mut a = TransportConnection::initiator(cfg.clone());
    let mut b = TransportConnection::responder(cfg);
    b.on_bytes(&a.connect().unwrap()).unwrap();
    a.on_bytes(&b.accept().unwrap()).unwrap();
    b.set_head_splitter(splitter);
    b
}

type Outcome = (Vec<TransportEvent>, Option<TransportError>);

fn feed_all(m: &mut TransportConnection, mut input: &[u8], out: &mut Outcome) -> bool {
    while !input.is_empty() {
        match m.feed(input) {
            Err(e) => {
                out.1 = Some(e);
                return false;
            }
            Ok((used, ev)) => {
                input = &input[used..];
                out.0.extend(ev);
            }
        }
    }
    true
}

/// The data phase stream through `feed` at once and through scatter reads.
fn check_scatter(stream: &[u8], sizes: &[u8]) {
    let mut expected: Outcome = (Vec::new(), None);
    feed_all(&mut connected(), stream, &mut expected);
    let mut m = connected();
    let mut got: Outcome = (Vec::new(), None);
    let mut read = ScatterRead::new();
    let (mut at, mut i) = (0, 0);
    while at < stream.len() {
        let chunk = 1 + usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255)) * 8;
        i += 1;
        let mut rest = Vec::new();
        if m.plan_scatter(chunk.max(300), &mut read) {
            let mut n = 0;
            for mut b in m.scatter_bufs(&mut read) {
                let k = b.len().min(chunk - n.min(chunk)).min(stream.len() - at - n);
                b[..k].copy_from_slice(&stream[at + n..at + n + k]);
                n += k;
                if k < b.len() {
                    break;
                }
            }
            at += n;
            got.0.extend(m.accept_scatter(&read, n, &mut rest));
        } else {
            let k = chunk.min(stream.len() - at);
            rest.extend_from_slice(&stream[at..at + k]);
            at += k;
        }
        if !feed_all(&mut m, &rest, &mut got) {
            break;
        }
    }
    assert_eq!(got, expected, "scatter reads give what feed gives");
}

fuzz_target!(|data: &[u8]| {
    let max = data.first().map_or(65535, |&b| 7 + usize::from(b) * 257);
    let mut consumed = 0;
    for f in split_frames(data, max) {
        match f {
            Ok(f) => {
                assert_eq!(f.offset, consumed);
                assert!(f.payload.len() + 4 <= max);
                consumed += f.payload.len() + 4;
                check_tpdu(f.payload);
            }
            Err(e) => {
                assert!(matches!(e.layer, Layer::Tpkt | Layer::Cotp));
                assert!(e.offset <= data.len(), "error offset past the input");
            }
        }
    }
    assert!(consumed <= data.len());
    check_tpdu(data);
    let (sizes, stream) = data.split_at(data.len().min(8));
    check_scatter(stream, sizes);
});
