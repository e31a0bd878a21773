//! Test PKI (rcgen), a test PeerVerifier (rustls-webpki + x509-parser) and an in-memory
//! runner for two guls-sese endpoints.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;

use guls_crypto::rustls_pki_types::{CertificateDer, UnixTime};
use guls_crypto::{CryptoProvider, KeyType};
use guls_exchanges::{PathProblem, PeerVerifier, VerifiedPeer};
use guls_sese::{
    Endpoint, ExchangeEvent, Failure, Identifier, InvocationId, Registry, SeseApdu, SeseConfig,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};

/// "Now" for every test: 2025-06-15T00:00:00Z.
pub const NOW: u64 = 1_749_945_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Ed25519,
    P256,
}

impl Alg {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Alg::Ed25519 => &rcgen::PKCS_ED25519,
            Alg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

pub fn ring() -> Arc<CryptoProvider> {
    Arc::new(guls_crypto::ring::default_provider())
}

pub fn rustcrypto() -> Arc<CryptoProvider> {
    Arc::new(guls_crypto::rustcrypto::default_provider())
}

/// (initiator provider, responder provider) pairs: both providers and across them.
pub fn provider_pairs() -> Vec<(Arc<CryptoProvider>, Arc<CryptoProvider>)> {
    vec![
        (ring(), ring()),
        (rustcrypto(), rustcrypto()),
        (ring(), rustcrypto()),
        (rustcrypto(), ring()),
    ]
}

pub struct Ca {
    pub der: Vec<u8>,
    params: CertificateParams,
    key: KeyPair,
}

pub struct Leaf {
    /// End-entity first, then the CA.
    pub chain: Vec<Vec<u8>>,
    pub pkcs8: Vec<u8>,
}

pub fn ca(alg: Alg, cn: &str) -> Ca {
    let key = KeyPair::generate_for(alg.rcgen()).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "guls test");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Ca { der, params, key }
}

/// A leaf valid from `from` to `to` (years), issued by `ca`.
pub fn leaf_valid(ca: &Ca, alg: Alg, cn: &str, from: i32, to: i32) -> Leaf {
    let key = KeyPair::generate_for(alg.rcgen()).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "guls test");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(to, 1, 1);
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
    Leaf {
        chain: vec![der, ca.der.clone()],
        pkcs8: key.serialize_der(),
    }
}

pub fn leaf(ca: &Ca, alg: Alg, cn: &str) -> Leaf {
    leaf_valid(ca, alg, cn, 2024, 2029)
}

/// The test verifier: rustls-webpki against one trust anchor with the provider's algorithms,
/// x509-parser for the subject and the key.
pub struct TestVerifier {
    pub anchor: Vec<u8>,
    pub provider: Arc<CryptoProvider>,
}

impl PeerVerifier for TestVerifier {
    fn verify_chain(&self, chain: &[&[u8]], at: UnixTime) -> Result<VerifiedPeer, PathProblem> {
        let (ee, rest) = chain.split_first().ok_or(PathProblem::Malformed)?;
        let ee_der = CertificateDer::from(*ee);
        let ee_cert =
            webpki::EndEntityCert::try_from(&ee_der).map_err(|_| PathProblem::Malformed)?;
        let anchor_der = CertificateDer::from(self.anchor.as_slice());
        let anchor =
            webpki::anchor_from_trusted_cert(&anchor_der).map_err(|_| PathProblem::Malformed)?;
        let intermediates: Vec<CertificateDer<'_>> =
            rest.iter().map(|c| CertificateDer::from(*c)).collect();
        let algs = self.provider.webpki_algorithms();
        ee_cert
            .verify_for_usage(
                &algs,
                &[anchor],
                &intermediates,
                at,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .map_err(|e| match e {
                webpki::Error::CertExpired { .. } => PathProblem::Expired,
                webpki::Error::CertNotValidYet { .. } => PathProblem::NotYetValid,
                webpki::Error::UnknownIssuer => PathProblem::UnknownIssuer,
                webpki::Error::InvalidSignatureForPublicKey => PathProblem::BadSignature,
                other => PathProblem::Other(format!("{other:?}")),
            })?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(ee).map_err(|_| PathProblem::Malformed)?;
        let spki = cert.public_key();
        let key_type = match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => KeyType::Ed25519,
            "1.2.840.10045.2.1" => KeyType::EcdsaP256,
            _ => return Err(PathProblem::Malformed),
        };
        Ok(VerifiedPeer {
            subject_dn_der: cert.tbs_certificate.subject.as_raw().to_vec(),
            public_key: spki.subject_public_key.data.to_vec(),
            key_type,
        })
    }
}

pub fn verifier(ca: &Ca, provider: &Arc<CryptoProvider>) -> Arc<TestVerifier> {
    Arc::new(TestVerifier {
        anchor: ca.der.clone(),
        provider: provider.clone(),
    })
}

pub fn endpoint(registry: Registry) -> Endpoint {
    Endpoint::new(Arc::new(registry), SeseConfig::default())
}

/// What went over the wire, in order: (to_server, bytes).
pub type Wire = Vec<(bool, Vec<u8>)>;

/// Runs `exchange` from `client` to `server`; `tamper` sees every APDU (to_server, index) and
/// may replace it.
pub fn run_with(
    client: &mut Endpoint,
    server: &mut Endpoint,
    exchange: &Identifier,
    mut tamper: impl FnMut(bool, usize, Vec<u8>) -> Vec<u8>,
) -> (Vec<ExchangeEvent>, Vec<ExchangeEvent>, Wire) {
    let first = client.initiate(exchange, InvocationId::Absent).unwrap();
    let (mut ce, mut se, mut log) = (first.events, Vec::new(), Vec::new());
    let mut queue: VecDeque<(bool, Vec<u8>)> =
        first.send.into_iter().map(|a| (true, a.bytes)).collect();
    let mut n = 0;
    while let Some((to_server, bytes)) = queue.pop_front() {
        let bytes = tamper(to_server, n, bytes);
        n += 1;
        log.push((to_server, bytes.clone()));
        let (ep, events) = if to_server {
            (&mut *server, &mut se)
        } else {
            (&mut *client, &mut ce)
        };
        let out = ep.receive(&bytes);
        queue.extend(out.send.into_iter().map(|a| (!to_server, a.bytes)));
        events.extend(out.events);
        assert!(n < 16, "runaway exchange");
    }
    (ce, se, log)
}

pub fn run(
    client: &mut Endpoint,
    server: &mut Endpoint,
    exchange: &Identifier,
) -> (Vec<ExchangeEvent>, Vec<ExchangeEvent>, Wire) {
    run_with(client, server, exchange, |_, _, b| b)
}

/// Replaces the item of an se-transfer APDU.
pub fn with_item(apdu: &[u8], f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    match SeseApdu::decode(apdu).unwrap() {
        SeseApdu::Transfer(mut t) => {
            t.item = f(t.item);
            SeseApdu::Transfer(t).encode()
        }
        other => other.encode(),
    }
}

/// The item of an se-transfer APDU.
pub fn item_of(apdu: &[u8]) -> Vec<u8> {
    match SeseApdu::decode(apdu).unwrap() {
        SeseApdu::Transfer(t) => t.item,
        other => panic!("not a transfer: {other:?}"),
    }
}

pub fn completed(events: &[ExchangeEvent]) -> Option<&guls_sese::Outcome> {
    events.iter().find_map(|e| match e {
        ExchangeEvent::Completed { outcome, .. } => Some(outcome),
        _ => None,
    })
}

pub fn failure(events: &[ExchangeEvent]) -> Option<&Failure> {
    events.iter().find_map(|e| match e {
        ExchangeEvent::Failed { failure, .. } => Some(failure),
        _ => None,
    })
}

/// The authenticationFailure SecurityProblem value in a list of SeErrors, if any.
pub fn problem_in(errors: &[guls_sese::SeError]) -> Option<i64> {
    errors.iter().find_map(|e| {
        (e.code == Some(Identifier::Local(1))).then(|| {
            let p = e.parameter.as_ref().unwrap();
            <guls_exchanges::SecurityProblem as guls_sese::ItemType>::decode(p)
                .unwrap()
                .value()
        })
    })
}
