//! Fuzz target: the items of the certificate exchanges, decoded from arbitrary input — X.511
//! `Credentials` (dirAuthenticationOneWay/TwoWay items 1 and 2: certification paths, signed
//! bind tokens, simple credentials), the signed key agreement's `KeyAgreementItem` and the
//! `SecurityProblem` error parameter. Decoding must never panic and must stay inside the
//! input; a decoded value's encoding must decode again, and that encoding must be a fixed
//! point. The key agreement's in-place reading (`ReceivedKeyAgreement`, what the role machines
//! use) must accept exactly what the owned decoding accepts, with the same parts. What a
//! certificate claims before its path is validated (`cert::claimed_peer`, read while the path
//! is validated on another core) must have the subject `cert::subject_der` reads.
#![no_main]

use guls_exchanges::{Credentials, KeyAgreementItem, ReceivedKeyAgreement, SecurityProblem};
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

/// The in-place reading against the owned decoding of the same octets.
fn same_as_owned(data: &[u8]) {
    match (ReceivedKeyAgreement::decode(data), KeyAgreementItem::decode(data)) {
        (Ok(view), Ok(item)) => {
            let tbs = item.tbs();
            assert_eq!(view.octets(), data);
            assert_eq!((view.role(), view.time()), (tbs.role, tbs.time));
            assert_eq!(view.tbs_der(), item.tbs_der());
            let chain: Vec<Vec<u8>> = view.with_chain(|c| c.iter().map(|c| c.to_vec()).collect());
            assert_eq!(chain, tbs.certification_path.chain());
            assert_eq!(view.key_exchange_algorithm(), tbs.key_exchange_algorithm);
            assert_eq!(view.ephemeral_public_key(), tbs.ephemeral_public_key);
            assert_eq!(view.nonce(), tbs.nonce);
            assert_eq!(view.peer_name(), tbs.peer_name);
            assert_eq!(view.signature_algorithm(), tbs.signature_algorithm.0);
            assert_eq!(
                view.signature(),
                (item.signature.unused_bits, &item.signature.bytes[..])
            );
            assert_eq!(view.confirmation(), item.confirmation.as_deref());
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the same error"),
        (view, item) => panic!("in place {view:?}, owned {item:?}"),
    }
}

/// The unvalidated claim of a certificate against its subject as read for the local name.
fn claim(data: &[u8]) {
    if let Some(peer) = guls_exchanges::cert::claimed_peer(data) {
        let subject = guls_exchanges::cert::subject_der(data).expect("a claim has a subject");
        assert_eq!(peer.subject_dn_der, subject);
    }
}

fuzz_target!(|data: &[u8]| {
    claim(data);
    check::<Credentials>(data);
    check::<KeyAgreementItem>(data);
    check::<SecurityProblem>(data);
    same_as_owned(data);
});
