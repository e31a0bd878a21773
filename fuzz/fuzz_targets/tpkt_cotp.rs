//! Fuzz target: split arbitrary input as a TPKT stream and decode every frame's TPDU; also
//! decode the whole input as one TPDU. Nothing may panic; errors name the TPKT or COTP layer
//! and an offset inside the input; a decoded TPDU must re-encode, decode to the same value,
//! and its canonical encoding must be a fixed point.
#![no_main]

use guls_ber::Layer;
use guls_transport::{Tpdu, decode_frame, encode_frame, split_frames};
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
});
