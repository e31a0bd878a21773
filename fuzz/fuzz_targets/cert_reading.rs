//! Fuzz target: the certificate reading of `TrustStore::verify_path` (guls-ber, straight from
//! the DER) held to x509-parser's, which it replaced (`guls_policy::reference`), on arbitrary
//! input. Reading must never panic. The structure check every certificate of a path passes
//! refuses what x509-parser's parse refused, with the same kind (truncated, too large,
//! malformed), and nothing else but validity times that are not DER. Every piece of an end
//! entity the new reading reads (key type, keyUsage, extendedKeyUsage presence; subject with
//! its text and DER, subjectAltName directoryNames, key and SubjectPublicKeyInfo), x509-parser
//! read too, to the same value: the new reading is the same or stricter, never laxer.
#![no_main]

use guls_policy::reference::{
    check_structure, check_structure_x509, read_end_entity, read_end_entity_x509,
};
use libfuzzer_sys::fuzz_target;

/// The structure check's message for a validity time that is not DER.
const DER_TIME: &str = "not a DER UTCTime or GeneralizedTime";

fuzz_target!(|data: &[u8]| {
    match (check_structure(data), check_structure_x509(data)) {
        (Ok(()), Ok(())) => {}
        (Ok(()), Err(e)) => panic!("structure accepted, x509-parser refused it: {e}"),
        (Err(e), Ok(())) => assert!(
            e.to_string().contains(DER_TIME),
            "structure refused ({e}), x509-parser read it"
        ),
        (Err(a), Err(b)) => assert_eq!(a.name(), b.name(), "{a} / x509-parser: {b}"),
    }
    match (read_end_entity(data), read_end_entity_x509(data)) {
        (Ok(new), Ok(old)) => {
            if new.key_type.is_ok() {
                assert_eq!(new.key_type, old.key_type);
            }
            if new.key_usage.is_ok() {
                assert_eq!(new.key_usage, old.key_usage);
            }
            if new.eku_present.is_ok() {
                assert_eq!(new.eku_present, old.eku_present);
            }
            if new.certificate.is_ok() {
                assert_eq!(new.certificate, old.certificate);
            }
        }
        (Ok(new), Err(e)) => panic!("read {new:?}, x509-parser refused it: {e}"),
        (Err(_), _) => {}
    }
});
