//! Fuzz target: decode arbitrary input as one SESE APDU, and feed it to a SESE machine.
//! Decoding must never panic; an error must name the SESE layer and an offset inside the input;
//! a decoded value must round-trip and its canonical encoding must be a fixed point. The
//! machine must give one indication and reply only with a decodable se-p-abort.
#![no_main]

use std::sync::Arc;

use guls_ber::Layer;
use guls_sese::negotiation::simple_negotiation_definition;
use guls_sese::{Indication, Registry, SeseApdu, SeseConfig, SeseMachine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match SeseApdu::decode(data) {
        Ok(apdu) => {
            let _ = format!("{apdu:?}");
            let canonical = apdu.encode();
            let again = SeseApdu::decode(&canonical).expect("canonical encoding decodes");
            assert_eq!(again, apdu, "round trip");
            assert_eq!(
                again.encode(),
                canonical,
                "canonical encoding is a fixed point"
            );
        }
        Err(e) => {
            assert_eq!(e.layer, Layer::Sese);
            assert!(e.offset <= data.len(), "error offset past the input");
        }
    }
    let registry = Registry::new()
        .with(simple_negotiation_definition())
        .expect("register");
    let mut machine = SeseMachine::new(Arc::new(registry), SeseConfig::default());
    // The input split in two APDUs at its first octet's value, so that sequences are explored.
    let cut = data.first().map_or(0, |&b| (b as usize).min(data.len()));
    for part in [&data[..cut], &data[cut..]] {
        let r = machine.receive(part);
        if let Some(reply) = r.reply {
            assert!(matches!(r.indication, Indication::PAbort(_)));
            assert!(matches!(
                SeseApdu::decode(&reply.bytes),
                Ok(SeseApdu::PAbort(_))
            ));
        }
        assert!(machine.active().len() <= 16);
    }
});
