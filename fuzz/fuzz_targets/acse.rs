//! Fuzz target: decode arbitrary input as one ACSE APDU. Decoding must never panic; an error
//! must name the ACSE layer and an offset inside the input; a decoded value must survive
//! encode/decode in both length styles, and the canonical encoding must be a fixed point.
#![no_main]

use guls_acse::{Apdu, LengthForm};
use guls_ber::Layer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Apdu::decode(data) {
        Ok(apdu) => {
            let _ = format!("{apdu:?}");
            let canonical = apdu.encode();
            let again = Apdu::decode(&canonical).expect("canonical encoding decodes");
            assert_eq!(again, apdu, "definite round trip");
            assert_eq!(
                again.encode(),
                canonical,
                "canonical encoding is a fixed point"
            );
            let indefinite = apdu.encode_with(LengthForm::Indefinite);
            let again = Apdu::decode(&indefinite).expect("indefinite encoding decodes");
            assert_eq!(again, apdu, "indefinite round trip");
        }
        Err(e) => {
            assert_eq!(e.layer, Layer::Acse);
            assert!(e.offset <= data.len(), "error offset past the input");
        }
    }
});
