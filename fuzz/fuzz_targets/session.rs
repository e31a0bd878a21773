//! Fuzz target: decode arbitrary input as a session TSDU. Decoding must never panic; an error
//! must name the session layer and an offset inside the input; a decoded TSDU must re-encode
//! (never longer than the input: the canonical form uses the shortest LIs), decode to the same
//! SPDUs and User Information, and its canonical encoding must be a fixed point. Each fully
//! typed SPDU must also round-trip alone.
#![no_main]

use guls_ber::Layer;
use guls_session::{Spdu, Tsdu, decode_tsdu};
use libfuzzer_sys::fuzz_target;

fn contents(t: &Tsdu) -> (Vec<Spdu>, Vec<u8>) {
    (t.spdu_list().cloned().collect(), t.user_information.clone())
}

fuzz_target!(|data: &[u8]| {
    match decode_tsdu(data) {
        Ok(t) => {
            let _ = format!("{t:?}");
            assert!(t.user_information_offset <= data.len());
            let mut canonical = Vec::new();
            t.encode(&mut canonical).expect("a decoded TSDU re-encodes");
            assert!(
                canonical.len() <= data.len(),
                "canonical form is longer than the input"
            );
            let again = decode_tsdu(&canonical).expect("canonical encoding decodes");
            assert_eq!(contents(&again), contents(&t), "round trip");
            let mut twice = Vec::new();
            again.encode(&mut twice).unwrap();
            assert_eq!(twice, canonical, "canonical encoding is a fixed point");
            // A category 1 SPDU (CN, AC, RF, FN, DN, NF, AB, AA, CDO, OA, ...) alone.
            if let [only] = t.spdus.as_slice() {
                if t.user_information.is_empty() && !matches!(only.spdu, Spdu::DataTransfer(_)) {
                    let bytes = only.spdu.to_bytes().unwrap();
                    let single = decode_tsdu(&bytes).expect("a single SPDU decodes alone");
                    assert_eq!(single.spdus.len(), 1);
                    assert_eq!(single.spdus[0].spdu, only.spdu);
                }
            }
        }
        Err(e) => {
            assert_eq!(e.layer, Layer::Session);
            assert!(e.offset <= data.len(), "error offset past the input");
        }
    }
});
