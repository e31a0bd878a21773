//! Fuzz target: the items of the certificate exchanges, decoded from arbitrary input — X.511
//! `Credentials` (dirAuthenticationOneWay/TwoWay items 1 and 2: certification paths, signed
//! bind tokens, simple credentials), the signed key agreement's `KeyAgreementItem` and the
//! `SecurityProblem` error parameter. Decoding must never panic and must stay inside the
//! input; a decoded value's encoding must decode again, and that encoding must be a fixed
//! point.
#![no_main]

use guls_exchanges::{Credentials, KeyAgreementItem, SecurityProblem};
use guls_sese::ItemType;
use libfuzzer_sys::fuzz_target;

fn check<T: ItemType + std::fmt::Debug>(data: &[u8]) {
    match T::decode(data) {
        Ok(v) => {
            let _ = format!("{v:?}");
            let bytes = v.encode();
            let again = T::decode(&bytes).expect("an encoded item decodes");
            assert_eq!(again.encode(), bytes, "encoding is a fixed point");
        }
        Err(e) => assert!(e.offset <= data.len(), "error offset past the input"),
    }
}

fuzz_target!(|data: &[u8]| {
    check::<Credentials>(data);
    check::<KeyAgreementItem>(data);
    check::<SecurityProblem>(data);
});
