//! Certificate-based authentication: fresh PKIs made with rcgen in every test (root CA ->
//! intermediate CA -> end entity; Ed25519 and P-256), validated with both crypto providers;
//! each failure a typed [`CertError`] with its X.511 SecurityProblem; AP-title binding (form 1
//! directly or through subjectAltName, form 2 through the policy table); the `[trust]` and
//! `[identity]` policy tables.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use guls_acse::{
    AeQualifier, ApTitle, AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName,
};
use guls_ber::{Oid, Tag, Writer};
use guls_crypto::{CryptoProvider, HashAlgorithm, KeyType, SignatureAlgorithm};
use guls_policy::rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use guls_policy::{
    BindingTarget, CertError, ErrorKind, ExtendedKeyUsageCheck, Identity, InitiatorPolicy,
    KeyUsageCheck, ResponderPolicy, RevocationDepth, SecurityProblem, TrustStore,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber,
};

const DAY: u64 = 86_400;

fn providers() -> Vec<CryptoProvider> {
    vec![
        guls_crypto::ring::default_provider(),
        guls_crypto::rustcrypto::default_provider(),
    ]
}

fn now_secs() -> u64 {
    UnixTime::now().as_secs()
}

fn unix(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// rcgen's `OffsetDateTime` for a Unix time, without naming the `time` crate.
macro_rules! at {
    ($secs:expr) => {
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs($secs)
    };
}

#[derive(Clone, Copy, Debug)]
enum Kt {
    Ed25519,
    P256,
}

impl Kt {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Kt::Ed25519 => &rcgen::PKCS_ED25519,
            Kt::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            Kt::Ed25519 => KeyType::Ed25519,
            Kt::P256 => KeyType::EcdsaP256,
        }
    }

    fn signature(self) -> SignatureAlgorithm {
        match self {
            Kt::Ed25519 => SignatureAlgorithm::Ed25519,
            Kt::P256 => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }
}

fn dn(parts: &[(DnType, &str)]) -> rcgen::DistinguishedName {
    let mut d = rcgen::DistinguishedName::new();
    for (t, v) in parts {
        d.push(t.clone(), *v);
    }
    d
}

fn ca_params(name: &str, serial: u64) -> CertificateParams {
    let now = now_secs();
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(&[
        (DnType::OrganizationName, "guls test"),
        (DnType::CommonName, name),
    ]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = at!(now - 60 * DAY);
    p.not_after = at!(now + 365 * DAY);
    p.serial_number = Some(SerialNumber::from(serial));
    p
}

/// The responder AE-title used in these tests: {O=guls demo, CN=guls-demo-responder}.
const RESPONDER: &[(DnType, &str)] = &[
    (DnType::OrganizationName, "guls demo"),
    (DnType::CommonName, "guls-demo-responder"),
];

fn ee_params(subject: &[(DnType, &str)], serial: u64) -> CertificateParams {
    let now = now_secs();
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(subject);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    p.not_before = at!(now - DAY);
    p.not_after = at!(now + 30 * DAY);
    p.serial_number = Some(SerialNumber::from(serial));
    p
}

struct Pki {
    kt: Kt,
    n: u64,
    root: CertifiedIssuer<'static, KeyPair>,
    inter: CertifiedIssuer<'static, KeyPair>,
}

struct Leaf {
    der: Vec<u8>,
    pem: String,
    key: KeyPair,
}

impl Pki {
    /// A PKI whose CA names are unique to it (two PKIs never share an issuer name).
    fn new(kt: Kt) -> Pki {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let root = CertifiedIssuer::self_signed(
            ca_params(&format!("test root CA {n}"), 1),
            KeyPair::generate_for(kt.rcgen()).unwrap(),
        )
        .unwrap();
        let inter = CertifiedIssuer::signed_by(
            ca_params(&format!("test intermediate CA {n}"), 2),
            KeyPair::generate_for(kt.rcgen()).unwrap(),
            &root,
        )
        .unwrap();
        Pki { kt, n, root, inter }
    }

    fn root_der(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    fn inter_der(&self) -> Vec<u8> {
        self.inter.der().to_vec()
    }

    fn issue(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate_for(self.kt.rcgen()).unwrap();
        let cert = params.signed_by(&key, &self.inter).unwrap();
        Leaf {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key,
        }
    }

    fn store(&self) -> TrustStore {
        TrustStore::new(&[self.root_der()]).unwrap()
    }

    /// A CRL from the intermediate listing `revoked` serials, valid for `days`.
    fn inter_crl(
        &self,
        revoked: &[u64],
        next_update: u64,
    ) -> CertificateRevocationListDer<'static> {
        crl(&self.inter, revoked, next_update)
    }

    fn root_crl(&self) -> CertificateRevocationListDer<'static> {
        crl(&self.root, &[], now_secs() + 30 * DAY)
    }
}

fn crl(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    revoked: &[u64],
    next_update: u64,
) -> CertificateRevocationListDer<'static> {
    let now = now_secs();
    CertificateRevocationListParams {
        this_update: at!(now - 2 * DAY),
        next_update: at!(next_update),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: at!(now - DAY),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(issuer)
    .unwrap()
    .der()
    .clone()
}

/// A form 1 AP-title with PrintableString values (the certificates carry UTF8Strings).
fn title(parts: &[(&str, &str)]) -> ApTitle {
    ApTitle::Form1(name(parts))
}

fn name(parts: &[(&str, &str)]) -> DistinguishedName {
    DistinguishedName(
        parts
            .iter()
            .map(|(t, v)| {
                RelativeDistinguishedName(vec![AttributeTypeAndValue::printable(
                    t.parse().unwrap(),
                    v,
                )])
            })
            .collect(),
    )
}

fn responder_title() -> ApTitle {
    // Case and spacing differ from the certificate: caseIgnoreMatch.
    title(&[
        ("2.5.4.10", "GULS  Demo"),
        ("2.5.4.3", " guls-demo-RESPONDER"),
    ])
}

fn check<T: std::fmt::Debug>(r: Result<T, CertError>, name: &str, problem: SecurityProblem) {
    let e = r.expect_err("must fail");
    assert_eq!(e.name(), name, "{e}");
    assert_eq!(e.problem(), problem, "{e}");
    assert_eq!(e.security_problem(), problem.value());
}

#[test]
fn happy_path_ed25519_and_p256_with_both_providers() {
    for kt in [Kt::Ed25519, Kt::P256] {
        let pki = Pki::new(kt);
        let leaf = pki.issue(ee_params(RESPONDER, 100));
        let inter = pki.inter_der();
        let store = pki.store();
        for provider in providers() {
            let peer = store
                .authenticate(
                    &provider,
                    &[&leaf.der, &inter],
                    Some(&responder_title()),
                    Some(&AeQualifier::Form2(3)),
                    UnixTime::now(),
                )
                .unwrap_or_else(|e| panic!("{kt:?} {}: {e}", provider.name));
            assert_eq!(peer.subject, "CN=guls-demo-responder,O=guls demo");
            assert_eq!(peer.ap_title, Some(responder_title()));
            assert_eq!(peer.ae_qualifier, Some(AeQualifier::Form2(3)));
            assert_eq!(peer.certificate_der, leaf.der);
            assert_eq!(peer.chain_ders, vec![inter.clone()]);
            assert_eq!(peer.key_type, kt.key_type());

            // What verify_path gives: read from the end-entity certificate (and shared with
            // the store's memory of it: a second validation gives the same).
            let v = store
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
            assert_eq!(v.certificate_der(), &leaf.der[..]);
            assert_eq!(v.chain_ders(), &[inter.clone()][..]);
            assert_eq!(v.key_type(), kt.key_type());
            assert_eq!(v.subject_text(), "CN=guls-demo-responder,O=guls demo");
            assert_eq!(v.subject_text(), guls_policy::format_dn(v.subject()));
            assert_eq!(v.subject_der(), &v.subject().to_der()[..]);
            assert!(v.alt_directory_names().is_empty());
            let (_, parsed) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
            assert_eq!(v.spki_der(), parsed.public_key().raw);
            assert_eq!(
                v.public_key(),
                &parsed.public_key().subject_public_key.data[..]
            );
            assert_eq!(v.public_key(), &peer.public_key[..]);
            let again = store
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
            assert_eq!(again, v);

            // The certified key verifies what the peer's private key signs (loaded with the
            // provider's KeyProvider from rcgen's PKCS #8).
            let identity = Identity::from_pem_or_der(
                format!("{}{}", leaf.pem, pki.inter.pem()).as_bytes(),
                leaf.key.serialize_pem().as_bytes(),
            )
            .unwrap();
            assert_eq!(identity.chain().len(), 2);
            assert_eq!(identity.subject(), peer.subject);
            assert!(!format!("{identity:?}").contains("BEGIN"));
            let key = identity.signing_key(&provider).unwrap();
            let sig = key.sign(kt.signature(), b"transcript").unwrap();
            peer.verify_signature(&provider, kt.signature(), b"transcript", &sig)
                .unwrap();
            check(
                peer.verify_signature(&provider, kt.signature(), b"other", &sig),
                "bad-signature",
                SecurityProblem::InvalidSignature,
            );
            // Without an AP-title only the subject is authenticated.
            let anonymous = store
                .authenticate(&provider, &[&leaf.der, &inter], None, None, UnixTime::now())
                .unwrap();
            assert_eq!(anonymous.ap_title, None);
        }
        // The intermediates may come in any order, with extras.
        let other = Pki::new(kt);
        store
            .verify_path(
                &providers()[0],
                &[&leaf.der, &other.inter_der(), &inter],
                UnixTime::now(),
            )
            .unwrap();
    }
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let pki = Pki::new(Kt::Ed25519);
    let leaf = pki.issue(ee_params(RESPONDER, 100));
    let other = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let identity =
        Identity::from_pem_or_der(leaf.pem.as_bytes(), other.serialize_der().as_slice()).unwrap();
    for p in providers() {
        assert!(matches!(
            identity.signing_key(&p),
            Err(CertError::PrivateKey(_))
        ));
    }
    let p256 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    assert!(matches!(
        Identity::from_pem_or_der(leaf.pem.as_bytes(), p256.serialize_pem().as_bytes()),
        Err(CertError::PrivateKey(_))
    ));
}

#[test]
fn expired_and_not_yet_valid() {
    let pki = Pki::new(Kt::Ed25519);
    let inter = pki.inter_der();
    let now = now_secs();
    let mut p = ee_params(RESPONDER, 101);
    p.not_before = at!(now - 10 * DAY);
    p.not_after = at!(now - DAY);
    let expired = pki.issue(p);
    let mut p = ee_params(RESPONDER, 102);
    p.not_before = at!(now + DAY);
    p.not_after = at!(now + 10 * DAY);
    let future = pki.issue(p);
    for provider in providers() {
        let store = pki.store();
        check(
            store.verify_path(&provider, &[&expired.der, &inter], UnixTime::now()),
            "certificate-expired",
            SecurityProblem::InvalidCredentials,
        );
        check(
            store.verify_path(&provider, &[&future.der, &inter], UnixTime::now()),
            "certificate-not-yet-valid",
            SecurityProblem::InvalidCredentials,
        );
        // The exchange time is the caller's, not the wall clock.
        store
            .verify_path(&provider, &[&expired.der, &inter], unix(now - 5 * DAY))
            .unwrap();
        store
            .verify_path(&provider, &[&future.der, &inter], unix(now + 5 * DAY))
            .unwrap();
    }
}

#[test]
fn clock_skew_allowance() {
    let pki = Pki::new(Kt::P256);
    let inter = pki.inter_der();
    let now = now_secs();
    let mut p = ee_params(RESPONDER, 103);
    p.not_before = at!(now + 120);
    let soon = pki.issue(p);
    let mut p = ee_params(RESPONDER, 104);
    p.not_before = at!(now - DAY);
    p.not_after = at!(now - 120);
    let just_expired = pki.issue(p);
    let provider = guls_crypto::ring::default_provider();
    let t = unix(now);
    // Default allowance: 300 s.
    let store = pki.store();
    store
        .verify_path(&provider, &[&soon.der, &inter], t)
        .unwrap();
    store
        .verify_path(&provider, &[&just_expired.der, &inter], t)
        .unwrap();
    let mut strict = pki.store();
    strict.options_mut().clock_skew = Duration::ZERO;
    check(
        strict.verify_path(&provider, &[&soon.der, &inter], t),
        "certificate-not-yet-valid",
        SecurityProblem::InvalidCredentials,
    );
    let e = strict
        .verify_path(&provider, &[&just_expired.der, &inter], t)
        .unwrap_err();
    assert!(
        matches!(e, CertError::Expired { time, .. } if time == now),
        "{e:?}"
    );
    strict.options_mut().clock_skew = Duration::from_secs(60);
    check(
        strict.verify_path(&provider, &[&soon.der, &inter], t),
        "certificate-not-yet-valid",
        SecurityProblem::InvalidCredentials,
    );
}

#[test]
fn unknown_ca_and_missing_intermediate() {
    let pki = Pki::new(Kt::Ed25519);
    let other = Pki::new(Kt::Ed25519);
    let leaf = pki.issue(ee_params(RESPONDER, 105));
    let inter = pki.inter_der();
    for provider in providers() {
        check(
            other
                .store()
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now()),
            "unknown-issuer",
            SecurityProblem::InvalidCredentials,
        );
        check(
            pki.store()
                .verify_path(&provider, &[&leaf.der], UnixTime::now()),
            "unknown-issuer",
            SecurityProblem::InvalidCredentials,
        );
        check(
            TrustStore::new(&[]).unwrap().verify_path(
                &provider,
                &[&leaf.der, &inter],
                UnixTime::now(),
            ),
            "no-trust-anchors",
            SecurityProblem::InappropriateAuthentication,
        );
    }
    // A forger's CA with the intermediate's name but another key: the name chains, the
    // signature does not verify.
    let forger = CertifiedIssuer::self_signed(
        ca_params(&format!("test intermediate CA {}", pki.n), 2),
        KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
    )
    .unwrap();
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let forged = ee_params(RESPONDER, 108).signed_by(&key, &forger).unwrap();
    for provider in providers() {
        check(
            pki.store()
                .verify_path(&provider, &[forged.der(), &inter], UnixTime::now()),
            "bad-signature",
            SecurityProblem::InvalidSignature,
        );
    }
    // Trusting the intermediate directly is a shorter path.
    let store = TrustStore::new(&[CertificateDer::from(inter.clone())]).unwrap();
    store
        .verify_path(&providers()[1], &[&leaf.der], UnixTime::now())
        .unwrap();
}

#[test]
fn tampered_signature_and_algorithm_not_accepted() {
    let pki = Pki::new(Kt::Ed25519);
    let leaf = pki.issue(ee_params(RESPONDER, 106));
    let inter = pki.inter_der();
    let mut tampered = leaf.der.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    for provider in providers() {
        check(
            pki.store()
                .verify_path(&provider, &[&tampered, &inter], UnixTime::now()),
            "bad-signature",
            SecurityProblem::InvalidSignature,
        );
        let mut only_p256 = pki.store();
        only_p256.options_mut().accepted_algorithms =
            Some(vec![SignatureAlgorithm::EcdsaP256Sha256]);
        check(
            only_p256.verify_path(&provider, &[&leaf.der, &inter], UnixTime::now()),
            "algorithm-not-accepted",
            SecurityProblem::InappropriateAlgorithms,
        );
    }
    // An Ed25519 end entity under a P-256 CA: the path uses ECDSA, the key is Ed25519; with
    // only ECDSA accepted the end-entity key is refused.
    let p256 = Pki::new(Kt::P256);
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mixed = ee_params(RESPONDER, 107)
        .signed_by(&key, &p256.inter)
        .unwrap();
    let mut store = p256.store();
    store
        .verify_path(
            &providers()[0],
            &[mixed.der(), &p256.inter_der()],
            UnixTime::now(),
        )
        .unwrap();
    store.options_mut().accepted_algorithms = Some(vec![SignatureAlgorithm::EcdsaP256Sha256]);
    let e = store
        .verify_path(
            &providers()[0],
            &[mixed.der(), &p256.inter_der()],
            UnixTime::now(),
        )
        .unwrap_err();
    assert!(
        matches!(&e, CertError::AlgorithmNotAccepted(m) if m.contains("Ed25519")),
        "{e}"
    );
}

#[test]
fn key_usage_and_extended_key_usage() {
    let pki = Pki::new(Kt::P256);
    let inter = pki.inter_der();
    let mut p = ee_params(RESPONDER, 110);
    p.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let no_signing = pki.issue(p);
    let mut p = ee_params(RESPONDER, 111);
    p.key_usages = vec![];
    p.extended_key_usages = vec![];
    let bare = pki.issue(p);
    let mut p = ee_params(RESPONDER, 112);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    let code_signing = pki.issue(p);
    let mut p = ee_params(RESPONDER, 113);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_only = pki.issue(p);
    for provider in providers() {
        let v = |store: &TrustStore, leaf: &Leaf| {
            store.verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
        };
        let store = pki.store();
        check(
            v(&store, &no_signing),
            "key-usage",
            SecurityProblem::InvalidCredentials,
        );
        check(
            v(&store, &code_signing),
            "extended-key-usage",
            SecurityProblem::InvalidCredentials,
        );
        // Neither extension: accepted by default (RFC 5280: no restriction) ...
        v(&store, &bare).unwrap();
        v(&store, &client_only).unwrap();
        // ... refused when the policy requires them.
        let mut strict = pki.store();
        strict.options_mut().key_usage = KeyUsageCheck::Required;
        check(
            v(&strict, &bare),
            "key-usage",
            SecurityProblem::InvalidCredentials,
        );
        let mut strict = pki.store();
        strict.options_mut().extended_key_usage =
            ExtendedKeyUsageCheck::Required(vec![guls_policy::KP_CLIENT_AUTH.parse().unwrap()]);
        check(
            v(&strict, &bare),
            "extended-key-usage",
            SecurityProblem::InvalidCredentials,
        );
        v(&strict, &client_only).unwrap();
        // A role-specific expectation: only serverAuth.
        let mut server = pki.store();
        server.options_mut().extended_key_usage =
            ExtendedKeyUsageCheck::IfPresent(vec![guls_policy::KP_SERVER_AUTH.parse().unwrap()]);
        check(
            v(&server, &client_only),
            "extended-key-usage",
            SecurityProblem::InvalidCredentials,
        );
        // Not checked at all.
        let mut any = pki.store();
        any.options_mut().extended_key_usage = ExtendedKeyUsageCheck::Any;
        v(&any, &code_signing).unwrap();
    }
}

#[test]
fn revocation_with_crls() {
    for kt in [Kt::Ed25519, Kt::P256] {
        let pki = Pki::new(kt);
        let inter = pki.inter_der();
        let good = pki.issue(ee_params(RESPONDER, 120));
        let revoked = pki.issue(ee_params(RESPONDER, 121));
        let next = now_secs() + 30 * DAY;
        let mut store = pki.store();
        store
            .add_crls(&[pki.inter_crl(&[121], next), pki.root_crl()])
            .unwrap();
        assert_eq!(store.crl_count(), 2);
        for provider in providers() {
            store
                .verify_path(&provider, &[&good.der, &inter], UnixTime::now())
                .unwrap();
            check(
                store.verify_path(&provider, &[&revoked.der, &inter], UnixTime::now()),
                "certificate-revoked",
                SecurityProblem::BlockedCredentials,
            );
        }
        // Without the root's CRL the intermediate's status is unknown: refused by default,
        // accepted when allowed or when only the end entity is checked.
        let mut partial = pki.store();
        partial.add_crls(&[pki.inter_crl(&[121], next)]).unwrap();
        let p = &providers()[0];
        check(
            partial.verify_path(p, &[&good.der, &inter], UnixTime::now()),
            "revocation-status-unknown",
            SecurityProblem::InvalidCredentials,
        );
        partial.options_mut().revocation_depth = RevocationDepth::EndEntity;
        partial
            .verify_path(p, &[&good.der, &inter], UnixTime::now())
            .unwrap();
        check(
            partial.verify_path(p, &[&revoked.der, &inter], UnixTime::now()),
            "certificate-revoked",
            SecurityProblem::BlockedCredentials,
        );
        partial.options_mut().revocation_depth = RevocationDepth::Chain;
        partial.options_mut().allow_unknown_revocation_status = true;
        partial
            .verify_path(p, &[&good.der, &inter], UnixTime::now())
            .unwrap();
        // An out-of-date CRL.
        let mut stale = pki.store();
        stale
            .add_crls(&[pki.inter_crl(&[], now_secs() - 3600), pki.root_crl()])
            .unwrap();
        check(
            stale.verify_path(p, &[&good.der, &inter], UnixTime::now()),
            "crl-expired",
            SecurityProblem::InvalidCredentials,
        );
        stale.options_mut().enforce_crl_next_update = false;
        stale
            .verify_path(p, &[&good.der, &inter], UnixTime::now())
            .unwrap();
    }
}

#[test]
fn ap_title_binding_form_1() {
    let pki = Pki::new(Kt::Ed25519);
    let inter = pki.inter_der();
    let leaf = pki.issue(ee_params(RESPONDER, 130));
    let store = pki.store();
    let p = &providers()[1];
    let auth = |t: &ApTitle, q: Option<&AeQualifier>| {
        store.authenticate(p, &[&leaf.der, &inter], Some(t), q, UnixTime::now())
    };
    auth(&responder_title(), None).unwrap();
    let e = auth(
        &title(&[
            ("2.5.4.10", "guls demo"),
            ("2.5.4.3", "guls-demo-initiator"),
        ]),
        None,
    )
    .unwrap_err();
    assert_eq!(e.name(), "ap-title-mismatch");
    assert_eq!(e.security_problem(), 2);
    assert!(
        e.to_string().contains("CN=guls-demo-responder,O=guls demo"),
        "{e}"
    );
    // RDN order matters; attribute types matter.
    check(
        auth(
            &title(&[
                ("2.5.4.3", "guls-demo-responder"),
                ("2.5.4.10", "guls demo"),
            ]),
            None,
        ),
        "ap-title-mismatch",
        SecurityProblem::InvalidCredentials,
    );
    check(
        auth(
            &title(&[
                ("2.5.4.11", "guls demo"),
                ("2.5.4.3", "guls-demo-responder"),
            ]),
            None,
        ),
        "ap-title-mismatch",
        SecurityProblem::InvalidCredentials,
    );
    // Forms 3 and 4 do not bind.
    check(
        auth(&ApTitle::Form3(b"guls-demo-responder".to_vec()), None),
        "ap-title-form-unsupported",
        SecurityProblem::InvalidCredentials,
    );

    // A certificate naming the AE: subject = AP-title + AE-qualifier.
    let ae = pki.issue(ee_params(
        &[
            (DnType::OrganizationName, "guls demo"),
            (DnType::OrganizationalUnitName, "plant 7"),
            (DnType::CommonName, "ae1"),
        ],
        131,
    ));
    let ap = title(&[("2.5.4.10", "guls demo"), ("2.5.4.11", "plant 7")]);
    let q = AeQualifier::Form1(RelativeDistinguishedName(vec![
        AttributeTypeAndValue::printable("2.5.4.3".parse().unwrap(), "AE1"),
    ]));
    store
        .authenticate(p, &[&ae.der, &inter], Some(&ap), Some(&q), UnixTime::now())
        .unwrap();
    check(
        store.authenticate(p, &[&ae.der, &inter], Some(&ap), None, UnixTime::now()),
        "ap-title-mismatch",
        SecurityProblem::InvalidCredentials,
    );
    check(
        store.authenticate(
            p,
            &[&ae.der, &inter],
            Some(&ap),
            Some(&AeQualifier::Form2(1)),
            UnixTime::now(),
        ),
        "ap-title-mismatch",
        SecurityProblem::InvalidCredentials,
    );
}

/// `SubjectAltName ::= GeneralNames` with one `directoryName [4] Name`.
fn san_directory_name(parts: &[(&str, &str)]) -> CustomExtension {
    let mut w = Writer::new();
    w.constructed(Tag::SEQUENCE, |w| {
        w.constructed(Tag::context(4), |w| {
            w.constructed(Tag::SEQUENCE, |w| {
                for (t, v) in parts {
                    w.constructed(Tag::SET, |w| {
                        w.constructed(Tag::SEQUENCE, |w| {
                            w.oid(Tag::OID, &t.parse::<Oid>().unwrap());
                            w.primitive(Tag::UTF8_STRING, v.as_bytes());
                        });
                    });
                }
            });
        });
    });
    CustomExtension::from_oid_content(&[2, 5, 29, 17], w.into_bytes())
}

#[test]
fn ap_title_binding_through_subject_alt_name_directory_name() {
    let pki = Pki::new(Kt::P256);
    let inter = pki.inter_der();
    let mut p = ee_params(&[(DnType::CommonName, "host-4711")], 140);
    p.custom_extensions = vec![san_directory_name(&[
        ("2.5.4.10", "guls demo"),
        ("2.5.4.3", "guls-demo-responder"),
    ])];
    let leaf = pki.issue(p);
    let store = pki.store();
    for provider in providers() {
        let peer = store
            .authenticate(
                &provider,
                &[&leaf.der, &inter],
                Some(&responder_title()),
                None,
                UnixTime::now(),
            )
            .unwrap();
        assert_eq!(peer.subject, "CN=host-4711");
        let v = store
            .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
            .unwrap();
        assert_eq!(v.alt_directory_names().len(), 1);
        check(
            store.authenticate(
                &provider,
                &[&leaf.der, &inter],
                Some(&title(&[("2.5.4.3", "guls-demo-responder")])),
                None,
                UnixTime::now(),
            ),
            "ap-title-mismatch",
            SecurityProblem::InvalidCredentials,
        );
    }
}

#[test]
fn ap_title_binding_form_2_through_the_table() {
    let pki = Pki::new(Kt::Ed25519);
    let inter = pki.inter_der();
    let leaf = pki.issue(ee_params(RESPONDER, 150));
    let p = &providers()[0];
    let oid: Oid = "1.3.9999.1.1".parse().unwrap();
    let t = ApTitle::Form2(oid.clone());
    let auth = |store: &TrustStore| {
        store.authenticate(p, &[&leaf.der, &inter], Some(&t), None, UnixTime::now())
    };
    let mut store = pki.store();
    check(
        auth(&store),
        "ap-title-not-bound",
        SecurityProblem::InvalidCredentials,
    );
    store
        .add_binding(
            &t,
            BindingTarget::Subject(name(&[("2.5.4.10", "guls demo"), ("2.5.4.3", "other")])),
        )
        .unwrap();
    let e = auth(&store).unwrap_err();
    assert_eq!(e.name(), "ap-title-binding-mismatch");
    assert!(e.to_string().contains("CN=other,O=guls demo"), "{e}");
    // A second entry (key rollover) that matches.
    store
        .add_binding(
            &t,
            BindingTarget::Subject(name(&[
                ("2.5.4.10", "Guls Demo"),
                ("2.5.4.3", "guls-demo-responder"),
            ])),
        )
        .unwrap();
    let peer = auth(&store).unwrap();
    assert_eq!(peer.ap_title, Some(t.clone()));
    // By key fingerprint.
    let v = store
        .verify_path(p, &[&leaf.der, &inter], UnixTime::now())
        .unwrap();
    let fp: [u8; 32] = p
        .hash(HashAlgorithm::Sha256)
        .unwrap()
        .hash(v.spki_der())
        .as_bytes()
        .try_into()
        .unwrap();
    let mut by_key = pki.store();
    by_key
        .add_binding(&t, BindingTarget::SpkiSha256(fp))
        .unwrap();
    auth(&by_key).unwrap();
    let mut wrong_key = pki.store();
    wrong_key
        .add_binding(&t, BindingTarget::SpkiSha256([0; 32]))
        .unwrap();
    check(
        auth(&wrong_key),
        "ap-title-binding-mismatch",
        SecurityProblem::InvalidCredentials,
    );
    // Another OID stays unbound.
    check(
        store.authenticate(
            p,
            &[&leaf.der, &inter],
            Some(&ApTitle::Form2("1.3.9999.1.2".parse().unwrap())),
            None,
            UnixTime::now(),
        ),
        "ap-title-not-bound",
        SecurityProblem::InvalidCredentials,
    );
    assert!(matches!(
        store.add_binding(
            &ApTitle::Form3(b"x".to_vec()),
            BindingTarget::SpkiSha256([0; 32])
        ),
        Err(CertError::UnsupportedTitleForm { .. })
    ));
}

#[test]
fn truncated_oversized_and_garbage_input() {
    let pki = Pki::new(Kt::Ed25519);
    let inter = pki.inter_der();
    let leaf = pki.issue(ee_params(RESPONDER, 160));
    let store = pki.store();
    let p = &providers()[0];
    let v = |chain: &[&[u8]]| store.verify_path(p, chain, UnixTime::now());
    check(
        v(&[&leaf.der[..leaf.der.len() - 10], &inter]),
        "truncated-certificate",
        SecurityProblem::InvalidCredentials,
    );
    check(
        v(&[&leaf.der, &inter[..3]]),
        "truncated-certificate",
        SecurityProblem::InvalidCredentials,
    );
    let mut trailing = leaf.der.clone();
    trailing.push(0);
    check(
        v(&[&trailing, &inter]),
        "malformed-certificate",
        SecurityProblem::InvalidCredentials,
    );
    check(
        v(&[b"this is not a certificate", &inter]),
        "malformed-certificate",
        SecurityProblem::InvalidCredentials,
    );
    // A well-formed SEQUENCE that is not a certificate.
    check(
        v(&[&[0x30, 0x03, 0x02, 0x01, 0x05], &inter]),
        "malformed-certificate",
        SecurityProblem::InvalidCredentials,
    );
    check(
        v(&[&[], &inter]),
        "malformed-certificate",
        SecurityProblem::InvalidCredentials,
    );
    let mut huge = vec![0x30, 0x83, 0x01, 0x00, 0x00];
    huge.resize(0x10005, 0);
    check(
        v(&[&huge, &inter]),
        "certificate-too-large",
        SecurityProblem::InvalidCredentials,
    );
    check(v(&[]), "empty-chain", SecurityProblem::InvalidCredentials);
    let many: Vec<&[u8]> = std::iter::repeat_n(inter.as_slice(), 9).collect();
    check(
        v(&many),
        "chain-too-long",
        SecurityProblem::InvalidCredentials,
    );

    // Loading.
    assert_eq!(
        guls_policy::certificates_from_pem_or_der(
            b"-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n"
        )
        .unwrap_err()
        .name(),
        "pem"
    );
    assert_eq!(
        guls_policy::certificates_from_pem_or_der(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .unwrap_err()
        .name(),
        "pem"
    );
    assert_eq!(
        guls_policy::certificates_from_pem_or_der(&leaf.der[..50])
            .unwrap_err()
            .name(),
        "truncated-certificate"
    );
    let both = [leaf.der.clone(), inter.clone()].concat();
    assert_eq!(
        guls_policy::certificates_from_pem_or_der(&both)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        guls_policy::certificates_from_pem_or_der(leaf.pem.as_bytes())
            .unwrap()
            .len(),
        1
    );
    assert!(guls_policy::crls_from_pem_or_der(b"garbage").is_err());
    assert!(guls_policy::pkcs8_from_pem_or_der(b"garbage").is_err());
    assert!(TrustStore::from_pem_or_der(b"\x30\x03\x02\x01\x05").is_err());
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guls-certs-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    dir
}

fn pem(label: &str, der: &[u8]) -> String {
    // A minimal PEM writer (base64 with 64-column lines) for the CRLs.
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    let body: Vec<&str> = s
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        body.join("\n")
    )
}

#[test]
fn trust_and_identity_tables_in_policy_files() {
    let pki = Pki::new(Kt::Ed25519);
    let leaf = pki.issue(ee_params(RESPONDER, 170));
    let revoked = pki.issue(ee_params(RESPONDER, 171));
    let dir = temp_dir("policy");
    let w = |name: &str, data: &[u8]| std::fs::write(dir.join("certs").join(name), data).unwrap();
    w("root.pem", pki.root.pem().as_bytes());
    w("root.der", pki.root.der());
    w(
        "responder-chain.pem",
        format!("{}{}", leaf.pem, pki.inter.pem()).as_bytes(),
    );
    w("responder.key.pem", leaf.key.serialize_pem().as_bytes());
    w("responder.key.der", &leaf.key.serialize_der());
    let next = now_secs() + 30 * DAY;
    w(
        "intermediate.crl.pem",
        pem("X509 CRL", &pki.inter_crl(&[171], next)).as_bytes(),
    );
    w("root.crl", &pki.root_crl());
    let fp_hex = {
        let v = pki
            .store()
            .verify_path(
                &providers()[0],
                &[&leaf.der, &pki.inter_der()],
                UnixTime::now(),
            )
            .unwrap();
        let h = providers()[0]
            .hash(HashAlgorithm::Sha256)
            .unwrap()
            .hash(v.spki_der());
        h.as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let text = format!(
        r#"
[[rule]]
ap_title = "1.3.9999.1.1"
mechanisms = ["none"]

[trust]
anchors = ["certs/root.pem", "certs/root.der"]
crls = ["certs/intermediate.crl.pem", "certs/root.crl"]
clock_skew_secs = 60
accepted_signature_algorithms = ["ed25519", "ecdsa-p256-sha256"]
key_usage = "required"
key_purposes = ["client-auth", "server-auth", "1.3.6.1.5.5.7.3.8"]
require_key_purpose = true
revocation_depth = "chain"
unknown_revocation_status = "deny"
crl_next_update = "enforce"
signature_cache = 16
certificate_cache = 8
replay_cache = 64

[[trust.binding]]
ap_title = "1.3.9999.1.1"
subject = "CN=guls-demo-responder,O=guls demo"

[[trust.binding]]
ap_title = "1.3.9999.1.2"
spki_sha256 = "{fp_hex}"

[identity]
cert = "certs/responder-chain.pem"
key = "certs/responder.key.pem"
"#
    );
    let file = dir.join("responder.toml");
    std::fs::write(&file, &text).unwrap();
    let policy = ResponderPolicy::load(&file).unwrap();
    let trust = policy.trust().expect("[trust]");
    assert_eq!(trust.anchor_subjects().len(), 2);
    assert_eq!(trust.crl_count(), 2);
    assert_eq!(trust.binding_count(), 2);
    assert_eq!(trust.options().clock_skew, Duration::from_secs(60));
    assert_eq!(trust.options().signature_cache, 16);
    assert_eq!(trust.options().certificate_cache, 8);
    assert_eq!(trust.options().replay_cache, 64);
    assert_eq!(trust.options().key_usage, KeyUsageCheck::Required);
    assert!(matches!(
        trust.options().extended_key_usage,
        ExtendedKeyUsageCheck::Required(ref l) if l.len() == 3
    ));
    let summary = policy.summary();
    assert!(summary.contains("trust: 2 trust anchors"), "{summary}");
    assert!(
        summary
            .contains("identity: CN=guls-demo-responder,O=guls demo (Ed25519 key, 2 certificates)"),
        "{summary}"
    );
    assert!(!summary.contains("PRIVATE"), "{summary}");
    let inter = pki.inter_der();
    for provider in providers() {
        for oid in ["1.3.9999.1.1", "1.3.9999.1.2"] {
            trust
                .authenticate(
                    &provider,
                    &[&leaf.der, &inter],
                    Some(&ApTitle::Form2(oid.parse().unwrap())),
                    None,
                    UnixTime::now(),
                )
                .unwrap();
        }
        check(
            trust.authenticate(
                &provider,
                &[&revoked.der, &inter],
                Some(&ApTitle::Form2("1.3.9999.1.1".parse().unwrap())),
                None,
                UnixTime::now(),
            ),
            "certificate-revoked",
            SecurityProblem::BlockedCredentials,
        );
        let identity = policy.identity().expect("[identity]");
        identity.signing_key(&provider).unwrap();
    }

    // The initiator side, with a DER key.
    let init = dir.join("initiator.toml");
    std::fs::write(
        &init,
        "[default]\nmechanism = \"none\"\n\n[trust]\nanchors = [\"certs/root.pem\"]\n\n[identity]\ncert = \"certs/responder-chain.pem\"\nkey = \"certs/responder.key.der\"\n",
    )
    .unwrap();
    let ip = InitiatorPolicy::load(&init).unwrap();
    assert_eq!(ip.trust().unwrap().anchor_subjects().len(), 1);
    assert_eq!(
        ip.identity().unwrap().subject(),
        "CN=guls-demo-responder,O=guls demo"
    );
    assert!(ip.summary().contains("identity: CN=guls-demo-responder"));

    // Errors name the file, line and column of the offending value.
    let bad = |replace: (&str, &str), kind: ErrorKind, needle: &str| {
        let t = text.replacen(replace.0, replace.1, 1);
        let f = dir.join("bad.toml");
        std::fs::write(&f, &t).unwrap();
        let e = ResponderPolicy::load(&f).unwrap_err();
        assert_eq!(e.kind(), Some(kind), "{e}");
        let (line, col) = e.position().unwrap();
        let target = t.lines().nth(line - 1).unwrap();
        assert!(
            target[col - 1..].starts_with(needle),
            "{e}: line {line} `{target}` col {col}"
        );
        assert!(e.to_string().starts_with(&f.display().to_string()), "{e}");
        e
    };
    let e = bad(
        ("certs/root.der", "certs/missing.pem"),
        ErrorKind::Certificate,
        "\"certs/missing.pem\"",
    );
    assert!(e.to_string().contains("missing.pem"), "{e}");
    bad(
        ("certs/root.der", "certs/responder.key.pem"),
        ErrorKind::Certificate,
        "\"certs/responder.key.pem\"",
    );
    bad(
        ("certs/root.crl\"", "certs/root.pem\""),
        ErrorKind::Certificate,
        "\"certs/root.pem\"",
    );
    bad(
        ("\"ecdsa-p256-sha256\"", "\"md5-rsa\""),
        ErrorKind::BadValue,
        "\"md5-rsa\"",
    );
    bad(
        ("key_usage = \"required\"", "key_usage = \"sometimes\""),
        ErrorKind::BadValue,
        "\"sometimes\"",
    );
    bad(
        ("signature_cache = 16", "signature_cache = 2000000"),
        ErrorKind::BadValue,
        "2000000",
    );
    bad(
        ("certificate_cache = 8", "certificate_cache = 70000"),
        ErrorKind::BadValue,
        "70000",
    );
    bad(
        ("signature_cache = 16", "signature_cache = -1"),
        ErrorKind::Syntax,
        "-1",
    );
    bad(
        ("replay_cache = 64", "replay_cache = 0"),
        ErrorKind::BadValue,
        "0",
    );
    bad(
        ("replay_cache = 64", "replay_cache = 99999999"),
        ErrorKind::BadValue,
        "99999999",
    );
    bad(
        ("clock_skew_secs = 60", "clock_skew_secs = 100000"),
        ErrorKind::BadValue,
        "100000",
    );
    bad(
        ("\"1.3.6.1.5.5.7.3.8\"", "\"code-signing\""),
        ErrorKind::BadValue,
        "\"code-signing\"",
    );
    bad((&fp_hex[..8], "zz"), ErrorKind::BadValue, "\"zz");
    bad(
        (
            "subject = \"CN=guls-demo-responder,O=guls demo\"",
            "subject = \"1.2.3\"",
        ),
        ErrorKind::BadValue,
        "\"1.2.3\"",
    );
    bad(
        (
            "key = \"certs/responder.key.pem\"",
            "key = \"certs/root.pem\"",
        ),
        ErrorKind::Certificate,
        "\"certs/root.pem\"",
    );
    bad(
        ("clock_skew_secs = 60", "clock_skew = 60"),
        ErrorKind::UnknownKey,
        "clock_skew",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A provider's signature verifier that counts the checks it really makes.
#[derive(Debug)]
struct CountingVerifier {
    inner: &'static dyn guls_crypto::SignatureVerifier,
    calls: std::sync::atomic::AtomicUsize,
}

impl guls_policy::rustls_pki_types::SignatureVerificationAlgorithm for CountingVerifier {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), guls_policy::rustls_pki_types::InvalidSignature> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.verify_signature(public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> guls_policy::rustls_pki_types::AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> guls_policy::rustls_pki_types::AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }
}

impl guls_crypto::SignatureVerifier for CountingVerifier {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.inner.algorithm()
    }

    fn as_webpki(&self) -> &dyn guls_policy::rustls_pki_types::SignatureVerificationAlgorithm {
        self
    }
}

/// `provider` with every signature verifier counting; the counters, in the same order.
fn counting(mut provider: CryptoProvider) -> (CryptoProvider, Vec<&'static CountingVerifier>) {
    let counters: Vec<&'static CountingVerifier> = provider
        .signature_verifiers
        .iter()
        .map(|v| {
            &*Box::leak(Box::new(CountingVerifier {
                inner: *v,
                calls: Default::default(),
            }))
        })
        .collect();
    provider.signature_verifiers = counters
        .iter()
        .map(|c| *c as &'static dyn guls_crypto::SignatureVerifier)
        .collect();
    (provider, counters)
}

fn calls(counters: &[&CountingVerifier]) -> usize {
    counters
        .iter()
        .map(|c| c.calls.load(Ordering::Relaxed))
        .sum()
}

#[test]
fn verified_certificate_signatures_are_remembered_and_nothing_else() {
    for kt in [Kt::Ed25519, Kt::P256] {
        for base in providers() {
            let (provider, counters) = counting(base);
            let pki = Pki::new(kt);
            let inter = pki.inter_der();
            let now = now_secs();
            let mut p = ee_params(RESPONDER, 130);
            p.not_before = at!(now - 10 * DAY);
            p.not_after = at!(now + 10 * DAY);
            let leaf = pki.issue(p);
            let store = pki.store();

            // First contact: both certificate signatures are checked (leaf by the
            // intermediate, intermediate by the root); seen again: none.
            store
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
            let first = calls(&counters);
            assert_eq!(first, 2, "{kt:?}");
            store
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
            assert_eq!(calls(&counters), first, "{kt:?}: nothing checked again");

            // A new peer under the same intermediate: only its own certificate's signature
            // is checked; the intermediate's, by the root, is remembered from the first.
            let newcomer = pki.issue(ee_params(RESPONDER, 131));
            store
                .verify_path(&provider, &[&newcomer.der, &inter], UnixTime::now())
                .unwrap();
            assert_eq!(calls(&counters), first + 1, "{kt:?}: the newcomer's alone");
            let first = first + 1;

            // A clone shares what was verified; a store without the memory checks again.
            store
                .clone()
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
            assert_eq!(calls(&counters), first);
            let mut forgetful = pki.store();
            forgetful.options_mut().signature_cache = 0;
            for round in 1..=2 {
                forgetful
                    .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                    .unwrap();
                assert_eq!(calls(&counters), first + 2 * round);
            }

            // The same certificate with one signature bit changed is checked, and refused,
            // every time, after the good one was remembered.
            let mut tampered = leaf.der.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            for _ in 0..2 {
                let before = calls(&counters);
                check(
                    store.verify_path(&provider, &[&tampered, &inter], UnixTime::now()),
                    "bad-signature",
                    SecurityProblem::InvalidSignature,
                );
                assert!(calls(&counters) > before, "a failure is not remembered");
            }

            // Validity is checked every time: the remembered path at a time after the
            // certificate's end, or before its start, is refused.
            check(
                store.verify_path(&provider, &[&leaf.der, &inter], unix(now + 20 * DAY)),
                "certificate-expired",
                SecurityProblem::InvalidCredentials,
            );
            check(
                store.verify_path(&provider, &[&leaf.der, &inter], unix(now - 20 * DAY)),
                "certificate-not-yet-valid",
                SecurityProblem::InvalidCredentials,
            );

            // Revocation is checked every time: a clone of the store (sharing the memory)
            // with a CRL listing the leaf refuses it.
            let mut revoking = store.clone();
            revoking
                .add_crls(&[pki.inter_crl(&[130], now + 30 * DAY), pki.root_crl()])
                .unwrap();
            check(
                revoking.verify_path(&provider, &[&leaf.der, &inter], UnixTime::now()),
                "certificate-revoked",
                SecurityProblem::BlockedCredentials,
            );

            // An intermediate with the same name, issued by the same root, but another key:
            // the remembered leaf signature does not carry over to that key.
            let twin = CertifiedIssuer::signed_by(
                ca_params(&format!("test intermediate CA {}", pki.n), 3),
                KeyPair::generate_for(kt.rcgen()).unwrap(),
                &pki.root,
            )
            .unwrap();
            let twin_der = twin.der().to_vec();
            store
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
            check(
                store.verify_path(&provider, &[&leaf.der, &twin_der], UnixTime::now()),
                "bad-signature",
                SecurityProblem::InvalidSignature,
            );

            // Another CA: a path through a different issuer is checked anew and refused.
            let other = Pki::new(kt);
            check(
                other
                    .store()
                    .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now()),
                "unknown-issuer",
                SecurityProblem::InvalidCredentials,
            );
        }
    }
}

#[test]
fn the_memory_is_bounded() {
    let (provider, counters) = counting(providers().remove(0));
    let pki = Pki::new(Kt::Ed25519);
    let inter = pki.inter_der();
    let mut store = pki.store();
    store.options_mut().signature_cache = 2;
    let leaves: Vec<Leaf> = (0..3)
        .map(|i| pki.issue(ee_params(RESPONDER, 140 + i)))
        .collect();
    // Three leaves and the intermediate need four entries: with room for two, the memory
    // starts again when full, so going round the leaves keeps checking signatures.
    let mut last = 0;
    for round in 0..3 {
        for leaf in &leaves {
            store
                .verify_path(&provider, &[&leaf.der, &inter], UnixTime::now())
                .unwrap();
        }
        let now = calls(&counters);
        assert!(now > last, "round {round}: still checking");
        last = now;
    }
}

#[test]
fn replay_caches_take_the_stores_capacity() {
    use guls_exchanges::AuthFailure;
    let pki = Pki::new(Kt::Ed25519);
    let mut store = pki.store();
    // Default capacity: three tokens within the window are all remembered, the oldest time
    // still accepted for a new random.
    let roomy = guls_policy::replay_cache(&store);
    let mut c = roomy.lock().unwrap();
    for (t, r) in [(100, b"r1"), (101, b"r2"), (102, b"r3")] {
        c.check_and_insert(b"signer", t, r, 102).unwrap();
    }
    assert!(c.check_and_insert(b"signer", 100, b"r4", 102).is_ok());
    drop(c);
    // `[trust] replay_cache = 2`: the third token evicts the first, and from then on nothing
    // as old as the evicted one is accepted (fail-closed).
    store.options_mut().replay_cache = 2;
    let small = guls_policy::replay_cache(&store);
    let mut c = small.lock().unwrap();
    for (t, r) in [(100, b"r1"), (101, b"r2"), (102, b"r3")] {
        c.check_and_insert(b"signer", t, r, 102).unwrap();
    }
    assert_eq!(c.len(), 2);
    assert!(matches!(
        c.check_and_insert(b"signer", 100, b"r4", 102),
        Err(AuthFailure::StaleTime { .. })
    ));
    assert_eq!(
        c.check_and_insert(b"signer", 102, b"r3", 102),
        Err(AuthFailure::Replayed)
    );
}
