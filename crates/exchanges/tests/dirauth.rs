//! dirAuthenticationOneWay / dirAuthenticationTwoWay end to end between two guls-sese
//! endpoints in memory, with both providers and across them, and the security failures.
mod common;

use std::sync::Arc;

use common::*;
use guls_ber::BitString;
use guls_crypto::CryptoProvider;
use guls_exchanges::{
    AuthFailure, Credentials, DIR_AUTHENTICATION_ONE_WAY, DIR_AUTHENTICATION_TWO_WAY,
    DirAuthConfig, ErrorSignalling, FixedClock, LocalIdentity, OwnCredentials, Password,
    PathProblem, SecurityProblem, SimpleCredentials, SimpleCredentialsVerifier, Token, UnixTime,
    dn_from_der, one_way, two_way,
};
use guls_sese::{Failure, Identifier, ItemType, ProblemCode, Registry, TransferProblem};

struct Side {
    config: DirAuthConfig,
    leaf: Leaf,
}

fn side(provider: &Arc<CryptoProvider>, ca: &Ca, leaf: Leaf, now: u64) -> Side {
    let identity = LocalIdentity::from_pkcs8(provider, &leaf.pkcs8, &leaf.chain).unwrap();
    let config = DirAuthConfig::new(
        provider.clone(),
        OwnCredentials::Strong(identity),
        verifier(ca, provider),
        Arc::new(FixedClock(now)),
    );
    Side { config, leaf }
}

fn name_of(leaf: &Leaf) -> guls_acse::DistinguishedName {
    dn_from_der(&guls_exchanges::cert::subject_der(&leaf.chain[0]).unwrap()).unwrap()
}

/// A client (initiator) and server (responder) under one CA, the client addressing the server.
fn pair(pi: &Arc<CryptoProvider>, pr: &Arc<CryptoProvider>, alg: Alg) -> (Side, Side, Ca) {
    let ca = ca(alg, "Test CA");
    let server = side(pr, &ca, leaf(&ca, alg, "server"), NOW);
    let mut client = side(pi, &ca, leaf(&ca, alg, "client"), NOW);
    client.config.peer_name = Some(name_of(&server.leaf));
    (client, server, ca)
}

fn one_way_endpoints(c: &Side, s: &Side) -> (guls_sese::Endpoint, guls_sese::Endpoint) {
    (
        endpoint(Registry::new().with(one_way(c.config.clone())).unwrap()),
        endpoint(Registry::new().with(one_way(s.config.clone())).unwrap()),
    )
}

fn two_way_endpoints(c: &Side, s: &Side) -> (guls_sese::Endpoint, guls_sese::Endpoint) {
    (
        endpoint(Registry::new().with(two_way(c.config.clone())).unwrap()),
        endpoint(Registry::new().with(two_way(s.config.clone())).unwrap()),
    )
}

fn one() -> Identifier {
    Identifier::Global(DIR_AUTHENTICATION_ONE_WAY)
}

fn two() -> Identifier {
    Identifier::Global(DIR_AUTHENTICATION_TWO_WAY)
}

#[test]
fn one_way_happy_all_providers_and_algorithms() {
    for alg in [Alg::Ed25519, Alg::P256] {
        for (pi, pr) in provider_pairs() {
            let (c, s, _) = pair(&pi, &pr, alg);
            let (mut ce, mut se) = one_way_endpoints(&c, &s);
            let (cev, sev, _) = run(&mut ce, &mut se, &one());
            assert!(completed(&cev).is_some(), "{alg:?} {} {}", pi.name, pr.name);
            let outcome = completed(&sev).expect("server completed");
            assert_eq!(
                outcome.peer_identity.as_deref(),
                Some("CN=client, O=guls test")
            );
            assert_eq!(outcome.details["credentials"], "strong");
            assert_eq!(s.config.reports.last_failure(), None);
        }
    }
}

#[test]
fn two_way_happy_all_providers_and_algorithms() {
    for alg in [Alg::Ed25519, Alg::P256] {
        for (pi, pr) in provider_pairs() {
            let (c, s, _) = pair(&pi, &pr, alg);
            let (mut ce, mut se) = two_way_endpoints(&c, &s);
            let (cev, sev, wire) = run(&mut ce, &mut se, &two());
            assert_eq!(wire.len(), 2);
            let co = completed(&cev).expect("client completed");
            let so = completed(&sev).expect("server completed");
            assert_eq!(co.peer_identity.as_deref(), Some("CN=server, O=guls test"));
            assert_eq!(so.peer_identity.as_deref(), Some("CN=client, O=guls test"));
            // The responder's token answers the initiator's random and names the initiator.
            let Credentials::Strong(i) = Credentials::decode(&item_of(&wire[0].1)).unwrap() else {
                panic!()
            };
            let Credentials::Strong(r) = Credentials::decode(&item_of(&wire[1].1)).unwrap() else {
                panic!()
            };
            assert_eq!(
                r.bind_token.content().response.as_ref(),
                Some(&i.bind_token.content().random)
            );
            assert_eq!(r.bind_token.content().name, name_of(&c.leaf));
        }
    }
}

/// Strict signalling: the one-way item cannot raise authenticationFailure, so the responder
/// aborts without errors and keeps the detail locally.
#[test]
fn one_way_expired_certificate() {
    let (pi, pr) = (ring(), rustcrypto());
    let ca = ca(Alg::Ed25519, "Test CA");
    let s = side(&pr, &ca, leaf(&ca, Alg::Ed25519, "server"), NOW);
    let mut c = side(
        &pi,
        &ca,
        leaf_valid(&ca, Alg::Ed25519, "client", 2024, 2025),
        NOW,
    );
    c.config.peer_name = Some(name_of(&s.leaf));
    let (mut ce, mut se) = one_way_endpoints(&c, &s);
    let (cev, sev, _) = run(&mut ce, &mut se, &one());
    assert!(completed(&sev).is_none());
    assert!(matches!(failure(&sev), Some(Failure::RejectedLocally(e)) if e.is_empty()));
    // The initiator completed when it sent its only item, then hears the abort.
    assert!(matches!(failure(&cev), Some(Failure::RejectedByPeer(_))));
    let f = s.config.reports.last_failure().unwrap();
    assert_eq!(f, AuthFailure::Path(PathProblem::Expired));
    assert_eq!(f.security_problem(), SecurityProblem::InvalidCredentials);
}

fn expect_two_way_rejection(c: &Side, s: &Side, expected: AuthFailure, tamper: Tamper) {
    let (mut ce, mut se) = two_way_endpoints(c, s);
    let (cev, sev, _) = run_with(&mut ce, &mut se, &two(), tamper);
    assert!(completed(&sev).is_none() && completed(&cev).is_none());
    let problem = expected.security_problem().value();
    match failure(&sev) {
        Some(Failure::RejectedLocally(e)) => assert_eq!(problem_in(e), Some(problem)),
        other => panic!("server: {other:?}"),
    }
    match failure(&cev) {
        Some(Failure::RejectedByPeer(a)) => {
            assert_eq!(problem_in(a.errors.as_deref().unwrap()), Some(problem))
        }
        other => panic!("client: {other:?}"),
    }
    assert_eq!(s.config.reports.last_failure(), Some(expected));
}

type Tamper = Box<dyn FnMut(bool, usize, Vec<u8>) -> Vec<u8>>;

fn no_tamper() -> Tamper {
    Box::new(|_, _, b| b)
}

#[test]
fn two_way_not_yet_valid_and_expired() {
    for (from, to, why) in [
        (2026, 2028, PathProblem::NotYetValid),
        (2020, 2025, PathProblem::Expired),
    ] {
        let ca = ca(Alg::P256, "Test CA");
        let s = side(&ring(), &ca, leaf(&ca, Alg::P256, "server"), NOW);
        let mut c = side(
            &rustcrypto(),
            &ca,
            leaf_valid(&ca, Alg::P256, "client", from, to),
            NOW,
        );
        c.config.peer_name = Some(name_of(&s.leaf));
        expect_two_way_rejection(&c, &s, AuthFailure::Path(why), no_tamper());
    }
}

#[test]
fn unknown_issuer() {
    let (c, s, _) = pair(&ring(), &ring(), Alg::Ed25519);
    let other = ca(Alg::Ed25519, "Other CA");
    let mut s = s;
    s.config.verifier = verifier(&other, &ring());
    expect_two_way_rejection(
        &c,
        &s,
        AuthFailure::Path(PathProblem::UnknownIssuer),
        no_tamper(),
    );
}

/// Re-encodes item 1's credentials after `f` changed the token.
fn tamper_token(f: impl Fn(&Token) -> Token + 'static) -> Tamper {
    Box::new(move |to_server, n, bytes| {
        if !(to_server && n == 0) {
            return bytes;
        }
        with_item(&bytes, |item| {
            let Credentials::Strong(mut s) = Credentials::decode(&item).unwrap() else {
                panic!()
            };
            s.bind_token = f(&s.bind_token);
            Credentials::Strong(s).encode()
        })
    })
}

#[test]
fn bad_signature() {
    for (pi, pr) in provider_pairs() {
        let (c, s, _) = pair(&pi, &pr, Alg::P256);
        let tamper = tamper_token(|t| {
            let mut content = t.content().clone();
            content.random.bytes[0] ^= 1;
            Token::new(content, t.algorithm.clone(), t.signature.clone())
        });
        expect_two_way_rejection(&c, &s, AuthFailure::BadSignature, tamper);
    }
    // A flipped signature bit, Ed25519.
    let (c, s, _) = pair(&ring(), &rustcrypto(), Alg::Ed25519);
    let tamper = tamper_token(|t| {
        let mut sig = t.signature.clone();
        sig.bytes[5] ^= 0x80;
        Token::new(t.content().clone(), t.algorithm.clone(), sig)
    });
    expect_two_way_rejection(&c, &s, AuthFailure::BadSignature, tamper);
}

#[test]
fn algorithm_mismatch() {
    let (c, s, _) = pair(&ring(), &ring(), Alg::Ed25519);
    let tamper = tamper_token(|t| {
        let alg = guls_exchanges::AlgorithmIdentifier::of(
            guls_crypto::SignatureAlgorithm::EcdsaP256Sha256,
        );
        Token::new(t.content().clone(), alg, t.signature.clone())
    });
    // The SIGNED algorithm (ECDSA) differs from the token's own (Ed25519).
    expect_two_way_rejection(&c, &s, AuthFailure::AlgorithmMismatch, tamper);
}

#[test]
fn wrong_peer_name_in_token() {
    let (mut c, s, ca) = pair(&ring(), &rustcrypto(), Alg::Ed25519);
    c.config.peer_name = Some(name_of(&leaf(&ca, Alg::Ed25519, "somebody else")));
    expect_two_way_rejection(&c, &s, AuthFailure::WrongName, no_tamper());
}

#[test]
fn stale_time() {
    for skew in [-1000i64, 1000] {
        let (mut c, s, _) = pair(&rustcrypto(), &ring(), Alg::P256);
        c.config.clock = Arc::new(FixedClock(NOW.saturating_add_signed(skew)));
        let expected = AuthFailure::StaleTime {
            token_time: NOW.saturating_add_signed(skew),
            now: NOW,
        };
        expect_two_way_rejection(&c, &s, expected, no_tamper());
    }
}

#[test]
fn replayed_token() {
    let (c, s, _) = pair(&ring(), &ring(), Alg::Ed25519);
    let (mut ce, mut se) = one_way_endpoints(&c, &s);
    let (_, sev, wire) = run(&mut ce, &mut se, &one());
    assert!(completed(&sev).is_some());
    // The same APDU again, to a fresh endpoint of the same server configuration.
    let mut se2 = endpoint(Registry::new().with(one_way(s.config.clone())).unwrap());
    let out = se2.receive(&wire[0].1);
    assert!(matches!(
        failure(&out.events),
        Some(Failure::RejectedLocally(_))
    ));
    assert_eq!(s.config.reports.last_failure(), Some(AuthFailure::Replayed));
    assert_eq!(
        AuthFailure::Replayed.security_problem(),
        SecurityProblem::InvalidCredentials
    );
}

#[test]
fn reflection_of_initiator_token() {
    // The initiator's own token comes back as the responder's item.
    let (c, s, _) = pair(&ring(), &rustcrypto(), Alg::Ed25519);
    let (mut ce, mut se) = two_way_endpoints(&c, &s);
    let mut first = Vec::new();
    let (cev, _, _) = run_with(&mut ce, &mut se, &two(), |to_server, n, bytes| {
        if to_server {
            if n == 0 {
                first = item_of(&bytes);
            }
            bytes
        } else {
            with_item(&bytes, |_| first.clone())
        }
    });
    assert!(matches!(failure(&cev), Some(Failure::RejectedLocally(_))));
    assert_eq!(
        c.config.reports.last_failure(),
        Some(AuthFailure::Reflection)
    );
}

#[test]
fn reflection_of_responder_token() {
    // The responder's token of one exchange is presented to it as item 1 of another.
    let (c, s, _) = pair(&rustcrypto(), &ring(), Alg::P256);
    let (mut ce, mut se) = two_way_endpoints(&c, &s);
    let (_, sev, wire) = run(&mut ce, &mut se, &two());
    assert!(completed(&sev).is_some());
    let responder_item = item_of(&wire[1].1);
    let (mut ce, mut se) = two_way_endpoints(&c, &s);
    let (_, sev, _) = run_with(&mut ce, &mut se, &two(), move |to_server, _, bytes| {
        if to_server {
            with_item(&bytes, |_| responder_item.clone())
        } else {
            bytes
        }
    });
    match failure(&sev) {
        Some(Failure::RejectedLocally(e)) => {
            assert_eq!(
                problem_in(e),
                Some(SecurityProblem::InvalidCredentials.value())
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.config.reports.last_failure(),
        Some(AuthFailure::Reflection)
    );
}

#[test]
fn missing_and_wrong_response_in_two_way() {
    for drop in [true, false] {
        let (c, s, _) = pair(&ring(), &rustcrypto(), Alg::Ed25519);
        // The responder's token, re-signed by the responder's own key without (or with a
        // different) response: only the response check can refuse it.
        let key = ring().key_provider.load_private_key(&s.leaf.pkcs8).unwrap();
        let (mut ce, mut se) = two_way_endpoints(&c, &s);
        let (cev, _, _) = run_with(&mut ce, &mut se, &two(), move |to_server, _, bytes| {
            if to_server {
                return bytes;
            }
            with_item(&bytes, |item| {
                let Credentials::Strong(mut sc) = Credentials::decode(&item).unwrap() else {
                    panic!()
                };
                let mut content = sc.bind_token.content().clone();
                content.response = if drop {
                    None
                } else {
                    Some(BitString::from_bytes(vec![7; 32]))
                };
                let sig = key
                    .sign(guls_crypto::SignatureAlgorithm::Ed25519, &content.encode())
                    .unwrap();
                let alg = sc.bind_token.algorithm.clone();
                sc.bind_token = Token::new(content, alg, BitString::from_bytes(sig));
                Credentials::Strong(sc).encode()
            })
        });
        // Strict: responderCredentials cannot raise authenticationFailure.
        assert!(matches!(failure(&cev), Some(Failure::RejectedLocally(e)) if e.is_empty()));
        let expected = if drop {
            AuthFailure::MissingResponse
        } else {
            AuthFailure::WrongResponse
        };
        assert_eq!(c.config.reports.last_failure(), Some(expected));
    }
}

#[test]
fn truncated_and_oversized_credentials_are_mistyped_items() {
    let (c, s, _) = pair(&ring(), &ring(), Alg::Ed25519);
    let oversized = {
        let mut w = guls_ber::Writer::new();
        w.primitive(guls_ber::Tag::OCTET_STRING, &vec![0u8; 70_000]);
        Credentials::ExternalProcedure(w.into_bytes()).encode()
    };
    for replace in [None, Some(oversized)] {
        let (mut ce, mut se) = two_way_endpoints(&c, &s);
        let replace2 = replace.clone();
        let (cev, sev, _) = run_with(&mut ce, &mut se, &two(), move |to_server, _, bytes| {
            if !to_server {
                return bytes;
            }
            with_item(&bytes, |item| match &replace2 {
                Some(r) => r.clone(),
                None => {
                    let mut t = item.clone();
                    t.truncate(item.len() / 2);
                    // Keep the outer TLV well formed (the SESE decoder carries one TLV): fix
                    // the outer length so that the inner content is what is truncated.
                    let mut w = guls_ber::Writer::new();
                    w.primitive(guls_ber::Tag::context(1).constructed(), &t[4..]);
                    w.into_bytes()
                }
            })
        });
        for events in [&sev, &cev] {
            match failure(events) {
                Some(Failure::ProviderAbort(p)) => assert_eq!(
                    p.problem,
                    ProblemCode::Transfer(TransferProblem::MistypedItem)
                ),
                other => panic!("{other:?}"),
            }
        }
    }
}

struct Passwords;

impl SimpleCredentialsVerifier for Passwords {
    fn verify(&self, c: &SimpleCredentials, _now: UnixTime) -> Result<(), SecurityProblem> {
        match &c.password {
            Some(Password::Unprotected(p)) if p.as_bytes() == b"open sesame" => Ok(()),
            _ => Err(SecurityProblem::InvalidCredentials),
        }
    }
}

#[test]
fn simple_credentials_only_where_allowed() {
    let (mut c, s, ca) = pair(&ring(), &ring(), Alg::Ed25519);
    let client_name = name_of(&leaf(&ca, Alg::Ed25519, "simple client"));
    c.config.credentials = OwnCredentials::Simple(SimpleCredentials {
        name: client_name,
        validity: None,
        password: Some(Password::Unprotected(guls_crypto::SecretBytes::from(
            &b"open sesame"[..],
        ))),
    });
    // Not allowed: inappropriateAuthentication.
    expect_two_way_rejection(&c, &s, AuthFailure::SimpleNotAllowed, no_tamper());
    assert_eq!(
        AuthFailure::SimpleNotAllowed.security_problem(),
        SecurityProblem::InappropriateAuthentication
    );
    // Allowed: the responder authenticates the simple credentials and answers with strong
    // ones (no response expected by a simple initiator).
    let mut s = s;
    s.config.accept_simple = Some(Arc::new(Passwords));
    let (mut ce, mut se) = two_way_endpoints(&c, &s);
    let (cev, sev, _) = run(&mut ce, &mut se, &two());
    assert_eq!(
        completed(&sev).unwrap().peer_identity.as_deref(),
        Some("CN=simple client, O=guls test")
    );
    assert_eq!(completed(&sev).unwrap().details["credentials"], "simple");
    // The initiator addresses the server by name, and the responder's token names the
    // simple client: accepted.
    assert!(completed(&cev).is_some(), "{cev:?}");
    // A wrong password.
    if let OwnCredentials::Simple(sc) = &mut c.config.credentials {
        sc.password = Some(Password::Unprotected(guls_crypto::SecretBytes::from(
            &b"guess"[..],
        )));
        assert!(!format!("{sc:?}").contains("guess"));
    }
    expect_two_way_rejection(
        &c,
        &s,
        AuthFailure::SimpleRejected(SecurityProblem::InvalidCredentials),
        no_tamper(),
    );
}

#[test]
fn extended_signalling_one_way() {
    let (mut c, mut s, _) = pair(&ring(), &rustcrypto(), Alg::P256);
    c.config.errors = ErrorSignalling::Extended;
    s.config.errors = ErrorSignalling::Extended;
    let (mut ce, mut se) = one_way_endpoints(&c, &s);
    let tamper = tamper_token(|t| {
        let mut content = t.content().clone();
        content.time += 1;
        Token::new(content, t.algorithm.clone(), t.signature.clone())
    });
    let (cev, _, _) = run_with(&mut ce, &mut se, &one(), tamper);
    match failure(&cev) {
        Some(Failure::RejectedByPeer(a)) => assert_eq!(
            problem_in(a.errors.as_deref().unwrap()),
            Some(SecurityProblem::InvalidSignature.value())
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn initiator_without_peer_name_cannot_start() {
    let (mut c, _, _) = pair(&ring(), &ring(), Alg::Ed25519);
    c.config.peer_name = None;
    let mut ce = endpoint(Registry::new().with(two_way(c.config.clone())).unwrap());
    assert!(
        ce.initiate(&two(), guls_sese::InvocationId::Absent)
            .is_err()
    );
}
