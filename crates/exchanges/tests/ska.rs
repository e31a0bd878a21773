//! The signed key agreement (ARC.2.1) end to end, with both providers and across them, and
//! its security failures.
mod common;

use std::sync::Arc;

use common::*;
use guls_crypto::{AeadAlgorithm, CryptoProvider};
use guls_exchanges::{
    AuthFailure, FixedClock, KaRole, KeyAgreementConfig, KeyAgreementItem, LocalIdentity,
    ParallelChecks, PathProblem, PeerVerifier, Reports, SIGNED_KEY_AGREEMENT, SecurityProblem,
    VerifiedPeer, dn_from_der, signed_key_agreement,
};
use guls_sese::{Endpoint, Failure, Identifier, ItemType, Registry};

thread_local! {
    /// The course the configurations made by `side` take.
    static COURSE: std::cell::Cell<ParallelChecks> = const { std::cell::Cell::new(ParallelChecks::Never) };
}

/// Runs `test` with every step on one thread, then with every step validating the peer's path
/// on the parallel course (on a helper thread when one is idle): the outcomes must not differ.
fn in_both_courses(test: impl Fn()) {
    for course in [ParallelChecks::Never, ParallelChecks::Always] {
        COURSE.set(course);
        test();
    }
}

struct Side {
    config: KeyAgreementConfig,
    leaf: Leaf,
}

fn side(provider: &Arc<CryptoProvider>, ca: &Ca, leaf: Leaf) -> Side {
    let identity = LocalIdentity::from_pkcs8(provider, &leaf.pkcs8, &leaf.chain).unwrap();
    let mut config = KeyAgreementConfig::new(
        provider.clone(),
        identity,
        verifier(ca, provider),
        Arc::new(FixedClock(NOW)),
    );
    config.parallel = COURSE.get();
    Side { config, leaf }
}

fn name_of(leaf: &Leaf) -> guls_acse::DistinguishedName {
    dn_from_der(&guls_exchanges::cert::subject_der(&leaf.chain[0]).unwrap()).unwrap()
}

fn pair(pi: &Arc<CryptoProvider>, pr: &Arc<CryptoProvider>, alg: Alg) -> (Side, Side, Ca) {
    let ca = ca(alg, "Test CA");
    let s = side(pr, &ca, leaf(&ca, alg, "server"));
    let mut c = side(pi, &ca, leaf(&ca, alg, "client"));
    c.config.peer_name = Some(name_of(&s.leaf));
    (c, s, ca)
}

fn endpoints(c: &Side, s: &Side) -> (Endpoint, Endpoint) {
    (
        endpoint(
            Registry::new()
                .with(signed_key_agreement(c.config.clone()))
                .unwrap(),
        ),
        endpoint(
            Registry::new()
                .with(signed_key_agreement(s.config.clone()))
                .unwrap(),
        ),
    )
}

fn ska() -> Identifier {
    Identifier::Global(SIGNED_KEY_AGREEMENT)
}

#[test]
fn identifier_is_arc_2_1() {
    assert_eq!(
        SIGNED_KEY_AGREEMENT.to_string(),
        "2.25.36238538382872986225690784931241271656.2.1"
    );
}

/// The signatures and the transcript hash are those `ASN1.md` (section 2) defines, recomputed
/// here with the other provider: Ed25519 signs deterministically, so each item's signature
/// must be exactly the signature over its label and the SHA-256 of its signed octets, and
/// the transcript hash must cover the context, that digest and the responder's signature.
#[test]
fn signatures_and_transcript_hash_are_as_asn1_md_defines_them() {
    use guls_crypto::{HashAlgorithm, SignatureAlgorithm};
    const LABEL_I: &[u8] = b"GULS ARC.2.1 v2 initiator signature\x00";
    const LABEL_R: &[u8] = b"GULS ARC.2.1 v2 responder signature\x00";
    const LABEL_TH: &[u8] = b"GULS ARC.2.1 v2 transcript\x00";
    const CONTEXT: &[u8] = b"an association binding";
    in_both_courses(|| {
        let (mut c, mut s, _) = pair(&ring(), &ring(), Alg::Ed25519);
        c.config.context = CONTEXT.to_vec();
        s.config.context = CONTEXT.to_vec();
        let (mut ce, mut se) = endpoints(&c, &s);
        let (cev, sev, wire) = run(&mut ce, &mut se, &ska());
        let co = completed(&cev).expect("initiator completed");
        assert!(completed(&sev).is_some(), "responder completed");

        let other = rustcrypto();
        let sha256 = other.hash(HashAlgorithm::Sha256).unwrap();
        let signature_by = |leaf: &Leaf, label: &[u8], digest: &[u8]| {
            let key = other.key_provider.load_private_key(&leaf.pkcs8).unwrap();
            key.sign(SignatureAlgorithm::Ed25519, &[label, digest].concat())
                .unwrap()
        };
        let item1 = item_of(&wire[0].1);
        let item2 = item_of(&wire[1].1);
        let k1 = KeyAgreementItem::decode(&item1).unwrap();
        let k2 = KeyAgreementItem::decode(&item2).unwrap();

        let h_i = sha256.hash(k1.tbs_der());
        assert_eq!(k1.signature.unused_bits, 0);
        assert_eq!(
            k1.signature.bytes,
            signature_by(&c.leaf, LABEL_I, h_i.as_bytes()),
            "sig_I = Sign(label_I || SHA-256(TBS_I))"
        );
        let h_r = sha256.hash(&[&item1[..], k2.tbs_der()].concat());
        assert_eq!(
            k2.signature.bytes,
            signature_by(&s.leaf, LABEL_R, h_r.as_bytes()),
            "sig_R = Sign(label_R || SHA-256(item1 || TBS_R))"
        );

        let mut transcript = LABEL_TH.to_vec();
        transcript.extend_from_slice(&(CONTEXT.len() as u64).to_be_bytes());
        transcript.extend_from_slice(CONTEXT);
        transcript.extend_from_slice(h_r.as_bytes());
        transcript.extend_from_slice(&[0x03, 0x41, 0x00]);
        transcript.extend_from_slice(&k2.signature.bytes);
        assert_eq!(
            co.details["transcript_hash"],
            guls_ber::to_hex(sha256.hash(&transcript).as_bytes())
        );
    });
}

#[test]
fn happy_all_providers_and_algorithms() {
    in_both_courses(|| {
        for alg in [Alg::Ed25519, Alg::P256] {
            for (pi, pr) in provider_pairs() {
                let (c, s, _) = pair(&pi, &pr, alg);
                let (mut ce, mut se) = endpoints(&c, &s);
                let (cev, sev, wire) = run(&mut ce, &mut se, &ska());
                assert_eq!(wire.len(), 2, "two items, one round trip");
                let co = completed(&cev).expect("initiator completed");
                let so = completed(&sev).expect("responder completed");
                assert_eq!(co.peer_identity.as_deref(), Some("CN=server, O=guls test"));
                assert_eq!(so.peer_identity.as_deref(), Some("CN=client, O=guls test"));
                assert_eq!(co.details["transcript_hash"], so.details["transcript_hash"]);
                let ck = c
                    .config
                    .reports
                    .take_session_keys()
                    .expect("initiator keys");
                let sk = s
                    .config
                    .reports
                    .take_session_keys()
                    .expect("responder keys");
                assert_eq!(ck.role(), KaRole::Initiator);
                assert_eq!(sk.role(), KaRole::Responder);
                assert_eq!(ck.sending().key, sk.receiving().key);
                assert_eq!(ck.sending().iv, sk.receiving().iv);
                assert_eq!(ck.receiving().key, sk.sending().key);
                assert_ne!(ck.sending().key, ck.receiving().key);
                assert_eq!(ck.sending().key.len(), 32);
                assert_eq!(ck.sending().iv.len(), 12);
                assert_eq!(ck.exporter(), sk.exporter());
                assert!(sk.verify_initiator_confirmation(ck.initiator_confirmation()));
                assert!(!sk.verify_initiator_confirmation(&[0; 32]));
                assert_eq!(
                    ck.peer_dn_der(),
                    guls_exchanges::dn_to_der(&name_of(&s.leaf))
                );
                // The keys work across providers: seal with one side's provider, open with the
                // other's.
                let seal = pi
                    .aead(AeadAlgorithm::Aes256Gcm)
                    .unwrap()
                    .new_key(ck.sending().key)
                    .unwrap();
                let open = pr
                    .aead(AeadAlgorithm::Aes256Gcm)
                    .unwrap()
                    .new_key(sk.receiving().key)
                    .unwrap();
                let nonce: [u8; 12] = ck.sending().iv.try_into().unwrap();
                let ct = seal.seal(&nonce, b"aad", b"first protected PDV").unwrap();
                assert_eq!(
                    open.open(&nonce, b"aad", &ct).unwrap(),
                    b"first protected PDV"
                );
                // Nothing secret in Debug.
                let debug = format!("{ck:?} {:?}", ck.sending());
                let hex = guls_ber::to_hex(ck.sending().key);
                assert!(!debug.contains(&hex) && !debug.contains(&hex[..16]));
                assert!(debug.contains("redacted") || debug.contains(".."));
            }
        }
    });
}

#[test]
fn wire_shape() {
    in_both_courses(|| {
        let (c, s, _) = pair(&ring(), &ring(), Alg::Ed25519);
        let (mut ce, mut se) = endpoints(&c, &s);
        let (_, _, wire) = run(&mut ce, &mut se, &ska());
        let i1 = KeyAgreementItem::decode(&item_of(&wire[0].1)).unwrap();
        let i2 = KeyAgreementItem::decode(&item_of(&wire[1].1)).unwrap();
        assert_eq!(i1.tbs().role, KaRole::Initiator);
        assert_eq!(i2.tbs().role, KaRole::Responder);
        assert!(i1.confirmation.is_none());
        assert_eq!(i2.confirmation.as_ref().map(Vec::len), Some(32));
        assert_eq!(i1.tbs().ephemeral_public_key.len(), 32);
        assert_eq!(i1.tbs().nonce.len(), 32);
        assert_eq!(i1.tbs().peer_name.as_ref(), Some(&name_of(&s.leaf)));
        assert_eq!(i2.tbs().peer_name.as_ref(), Some(&name_of(&c.leaf)));
        let tbs = i1.tbs_der();
        // SEQUENCE { 80 01 00 (role initiator), A1 … (certification path) … }
        assert_eq!(&tbs[tbs.len() - i1.tbs().encode().len()..][..1], &[0x30]);
        assert!(tbs.windows(3).any(|w| w == [0x80, 0x01, 0x00]));
        assert!(tbs.windows(5).any(|w| w == [0x82, 0x03, 0x2b, 0x65, 0x6e]));
        assert_eq!(KeyAgreementItem::decode(&i1.encode()).unwrap(), i1);
    });
}

fn expect_rejection(
    c: &Side,
    s: &Side,
    responder_rejects: bool,
    expected: AuthFailure,
    tamper: Box<dyn FnMut(bool, usize, Vec<u8>) -> Vec<u8>>,
) {
    let (mut ce, mut se) = endpoints(c, s);
    let (cev, sev, _) = run_with(&mut ce, &mut se, &ska(), tamper);
    assert!(completed(&cev).is_none());
    let (rejecting, other, reports): (_, _, &Reports) = if responder_rejects {
        (&sev, &cev, &s.config.reports)
    } else {
        (&cev, &sev, &c.config.reports)
    };
    let problem = expected.security_problem().value();
    match failure(rejecting) {
        Some(Failure::RejectedLocally(e)) => assert_eq!(problem_in(e), Some(problem)),
        f => panic!("rejecting side: {f:?}"),
    }
    if responder_rejects {
        assert!(completed(&sev).is_none());
        match failure(other) {
            Some(Failure::RejectedByPeer(a)) => {
                assert_eq!(problem_in(a.errors.as_deref().unwrap()), Some(problem))
            }
            f => panic!("other side: {f:?}"),
        }
        assert!(s.config.reports.take_session_keys().is_none());
    }
    assert!(c.config.reports.take_session_keys().is_none());
    assert_eq!(reports.last_failure(), Some(expected));
}

fn none() -> Box<dyn FnMut(bool, usize, Vec<u8>) -> Vec<u8>> {
    Box::new(|_, _, b| b)
}

/// Rewrites item `n` structurally with `f` (keeping the original signature).
fn rewrite(
    n: usize,
    f: impl Fn(&mut guls_exchanges::KeyAgreementTbs, &mut Option<Vec<u8>>) + 'static,
) -> Box<dyn FnMut(bool, usize, Vec<u8>) -> Vec<u8>> {
    Box::new(move |_, i, b| {
        if i != n {
            return b;
        }
        with_item(&b, |item| {
            let item = KeyAgreementItem::decode(&item).unwrap();
            let (mut tbs, mut confirmation) = (item.tbs().clone(), item.confirmation.clone());
            f(&mut tbs, &mut confirmation);
            KeyAgreementItem::new(tbs, item.signature.clone(), confirmation).encode()
        })
    })
}

#[test]
fn transcript_tampering() {
    in_both_courses(|| {
        for (pi, pr) in provider_pairs() {
            let (c, s, _) = pair(&pi, &pr, Alg::P256);
            // Item 1: another ephemeral key or nonce under the initiator's signature.
            let t = rewrite(0, |tbs, _| tbs.ephemeral_public_key[0] ^= 1);
            expect_rejection(&c, &s, true, AuthFailure::BadSignature, t);
            let t = rewrite(0, |tbs, _| tbs.nonce[31] ^= 1);
            expect_rejection(&c, &s, true, AuthFailure::BadSignature, t);
            // Item 2: a changed confirmation MAC, a missing one.
            let t = rewrite(1, |_, c| c.as_mut().unwrap()[0] ^= 1);
            expect_rejection(&c, &s, false, AuthFailure::BadConfirmation, t);
            let t = rewrite(1, |_, c| *c = None);
            expect_rejection(&c, &s, false, AuthFailure::BadConfirmation, t);
            // Item 2: another ephemeral key under the responder's signature.
            let t = rewrite(1, |tbs, _| tbs.ephemeral_public_key[3] ^= 1);
            expect_rejection(&c, &s, false, AuthFailure::BadSignature, t);
            // Item 1 substituted by another valid item 1 of the same initiator: the responder
            // answers it, and the initiator refuses a signature over a transcript it did not send.
            let mut ce2 = endpoint(
                Registry::new()
                    .with(signed_key_agreement(c.config.clone()))
                    .unwrap(),
            );
            let other = ce2
                .initiate(&ska(), guls_sese::InvocationId::Absent)
                .unwrap()
                .send
                .remove(0)
                .bytes;
            let t = Box::new(move |to_server: bool, i: usize, b: Vec<u8>| {
                if to_server && i == 0 {
                    other.clone()
                } else {
                    b
                }
            });
            expect_rejection(&c, &s, false, AuthFailure::BadSignature, t);
        }
    });
}

#[test]
fn context_mismatch_fails_key_confirmation() {
    in_both_courses(|| {
        let (mut c, s, _) = pair(&ring(), &rustcrypto(), Alg::Ed25519);
        c.config.context = b"calling AP title / called AP title".to_vec();
        expect_rejection(&c, &s, false, AuthFailure::BadConfirmation, none());
    });
}

#[test]
fn expired_and_not_yet_valid() {
    in_both_courses(|| {
        for (from, to, why) in [
            (2020, 2025, PathProblem::Expired),
            (2026, 2028, PathProblem::NotYetValid),
        ] {
            let ca = ca(Alg::Ed25519, "Test CA");
            let s = side(&ring(), &ca, leaf(&ca, Alg::Ed25519, "server"));
            let mut c = side(
                &rustcrypto(),
                &ca,
                leaf_valid(&ca, Alg::Ed25519, "client", from, to),
            );
            c.config.peer_name = Some(name_of(&s.leaf));
            expect_rejection(&c, &s, true, AuthFailure::Path(why.clone()), none());
            // And the other way round: the initiator refuses the responder.
            let s = side(
                &ring(),
                &ca,
                leaf_valid(&ca, Alg::Ed25519, "server", from, to),
            );
            let mut c = side(&rustcrypto(), &ca, leaf(&ca, Alg::Ed25519, "client"));
            c.config.peer_name = Some(name_of(&s.leaf));
            expect_rejection(&c, &s, false, AuthFailure::Path(why), none());
        }
    });
}

#[test]
fn wrong_peer_name() {
    in_both_courses(|| {
        let (mut c, s, ca) = pair(&ring(), &ring(), Alg::P256);
        c.config.peer_name = Some(name_of(&leaf(&ca, Alg::P256, "somebody else")));
        expect_rejection(&c, &s, true, AuthFailure::WrongName, none());
    });
}

#[test]
fn stale_time() {
    in_both_courses(|| {
        let (mut c, s, _) = pair(&ring(), &rustcrypto(), Alg::Ed25519);
        c.config.clock = Arc::new(FixedClock(NOW - 301));
        expect_rejection(
            &c,
            &s,
            true,
            AuthFailure::StaleTime {
                token_time: NOW - 301,
                now: NOW,
            },
            none(),
        );
    });
}

#[test]
fn replayed_item_1() {
    in_both_courses(|| {
        let (c, s, _) = pair(&rustcrypto(), &ring(), Alg::Ed25519);
        let (mut ce, mut se) = endpoints(&c, &s);
        let (_, sev, wire) = run(&mut ce, &mut se, &ska());
        assert!(completed(&sev).is_some());
        let _ = s.config.reports.take_session_keys();
        let mut se2 = endpoint(
            Registry::new()
                .with(signed_key_agreement(s.config.clone()))
                .unwrap(),
        );
        let out = se2.receive(&wire[0].1);
        match failure(&out.events) {
            Some(Failure::RejectedLocally(e)) => {
                assert_eq!(
                    problem_in(e),
                    Some(SecurityProblem::InvalidCredentials.value())
                )
            }
            f => panic!("{f:?}"),
        }
        assert_eq!(s.config.reports.last_failure(), Some(AuthFailure::Replayed));
        assert!(s.config.reports.take_session_keys().is_none());
    });
}

#[test]
fn reflected_item_1() {
    in_both_courses(|| {
        let (c, s, _) = pair(&ring(), &rustcrypto(), Alg::P256);
        let mut first = Vec::new();
        let tamper = Box::new(move |to_server: bool, n: usize, bytes: Vec<u8>| {
            if to_server {
                if n == 0 {
                    first = item_of(&bytes);
                }
                bytes
            } else {
                with_item(&bytes, |_| first.clone())
            }
        });
        expect_rejection(&c, &s, false, AuthFailure::Reflection, tamper);
    });
}

#[test]
fn truncated_items_are_mistyped() {
    in_both_courses(|| {
        let (c, s, _) = pair(&ring(), &ring(), Alg::Ed25519);
        let (mut ce, mut se) = endpoints(&c, &s);
        let (cev, sev, _) = run_with(&mut ce, &mut se, &ska(), |to_server, n, bytes| {
            if to_server && n == 0 {
                with_item(&bytes, |item| {
                    let mut w = guls_ber::Writer::new();
                    w.constructed(guls_ber::Tag::SEQUENCE, |w| {
                        w.raw(&item[4..item.len() - 10])
                    });
                    w.into_bytes()
                })
            } else {
                bytes
            }
        });
        assert!(matches!(failure(&sev), Some(Failure::ProviderAbort(_))));
        assert!(matches!(failure(&cev), Some(Failure::ProviderAbort(_))));
    });
}

/// A verifier that validates with `inner` and then answers `subject` and `key` (where given)
/// instead of the certificate's: what a step uses is the verifier's answer, never what the
/// certificate claims, on either course.
struct Substituting {
    inner: Arc<dyn PeerVerifier>,
    subject: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
}

impl PeerVerifier for Substituting {
    fn verify_chain(
        &self,
        chain: &[&[u8]],
        at: guls_exchanges::UnixTime,
    ) -> Result<VerifiedPeer, PathProblem> {
        let mut peer = self.inner.verify_chain(chain, at)?;
        if let Some(s) = &self.subject {
            peer.subject_dn_der = s.clone();
        }
        if let Some(k) = &self.key {
            peer.public_key = k.clone();
        }
        Ok(peer)
    }
}

#[test]
fn the_verifiers_answer_is_used_not_the_certificates_claim() {
    in_both_courses(|| {
        for (pi, pr) in provider_pairs() {
            let (c, mut s, ca) = pair(&pi, &pr, Alg::Ed25519);
            let other = leaf(&ca, Alg::Ed25519, "other");
            let at =
                guls_exchanges::UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW));
            let other = verifier(&ca, &pi).verify_path(&other.chain, at).unwrap();
            let inner: Arc<dyn PeerVerifier> = s.config.verifier.clone();
            // Another key: the initiator's signature does not verify with it.
            s.config.verifier = Arc::new(Substituting {
                inner: inner.clone(),
                subject: None,
                key: Some(other.public_key.clone()),
            });
            expect_rejection(&c, &s, true, AuthFailure::BadSignature, none());
            // Another subject: the responder answers that name, which is not the initiator's.
            s.config.verifier = Arc::new(Substituting {
                inner,
                subject: Some(other.subject_dn_der.clone()),
                key: None,
            });
            expect_rejection(&c, &s, false, AuthFailure::WrongName, none());
        }
    });
}
