//! Known-answer, Wycheproof and behaviour tests, run once per provider; plus cross-provider
//! interoperability tests. Test data provenance: tests/data/README.md.

use std::path::PathBuf;

use guls_crypto::{
    AeadAlgorithm, CryptoProvider, Error, HashAlgorithm, HkdfAlgorithm, HmacAlgorithm,
    KeyExchangeAlgorithm, KeyType, SignatureAlgorithm,
};
use serde_json::Value;

// ----------------------------------------------------------------------------------------
// Helpers

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_slice(&read(path)).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("missing {key}"))
}

/// Iterates over (group, test) pairs of a Wycheproof file.
fn wycheproof(file: &str) -> Vec<(Value, Value)> {
    let doc = json(&format!("wycheproof/{file}"));
    let mut out = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            out.push((group.clone(), test.clone()));
        }
    }
    assert!(!out.is_empty(), "{file} has no tests");
    out
}

/// Checks `outcome` against a Wycheproof `result` (valid / invalid / acceptable).
fn expect_result(file: &str, test: &Value, ok: bool) {
    let id = &test["tcId"];
    match s(test, "result") {
        "valid" => assert!(ok, "{file} tcId {id} ({}) rejected", test["comment"]),
        "invalid" => assert!(!ok, "{file} tcId {id} ({}) accepted", test["comment"]),
        _ => {}
    }
}

/// The `subjectPublicKey` BIT STRING contents of a DER SubjectPublicKeyInfo.
fn spki_public_key(spki: &[u8]) -> Vec<u8> {
    fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = input[0];
        let (len, hdr) = if input[1] < 0x80 {
            (input[1] as usize, 2)
        } else {
            let n = (input[1] & 0x7f) as usize;
            (
                input[2..2 + n]
                    .iter()
                    .fold(0, |a, &b| (a << 8) | b as usize),
                2 + n,
            )
        };
        (tag, &input[hdr..hdr + len], &input[hdr + len..])
    }
    let (_, body, _) = tlv(spki);
    let (_, _alg, rest) = tlv(body);
    let (tag, bits, _) = tlv(rest);
    assert_eq!(tag, 0x03);
    assert_eq!(bits[0], 0, "unused bits");
    bits[1..].to_vec()
}

fn hash_alg(name: &str) -> HashAlgorithm {
    match name {
        "sha256" | "SHA-256" => HashAlgorithm::Sha256,
        "sha384" | "SHA-384" => HashAlgorithm::Sha384,
        "sha512" | "SHA-512" => HashAlgorithm::Sha512,
        other => panic!("hash {other}"),
    }
}

fn aead_alg(name: &str) -> AeadAlgorithm {
    match name {
        "AES-128-GCM" => AeadAlgorithm::Aes128Gcm,
        "AES-256-GCM" => AeadAlgorithm::Aes256Gcm,
        "CHACHA20-POLY1305" => AeadAlgorithm::ChaCha20Poly1305,
        other => panic!("aead {other}"),
    }
}

const KEY_FILES: &[(&str, KeyType)] = &[
    ("ed25519", KeyType::Ed25519),
    ("p256", KeyType::EcdsaP256),
    ("p384", KeyType::EcdsaP384),
    ("rsa2048", KeyType::Rsa),
];

/// The OpenSSL-made signatures shipped for message.txt.
const OPENSSL_SIGNATURES: &[(&str, &str, SignatureAlgorithm)] = &[
    ("ed25519", "ed25519.sig", SignatureAlgorithm::Ed25519),
    (
        "p256",
        "p256_sha256.sig",
        SignatureAlgorithm::EcdsaP256Sha256,
    ),
    (
        "p384",
        "p384_sha384.sig",
        SignatureAlgorithm::EcdsaP384Sha384,
    ),
    (
        "rsa2048",
        "rsa2048_pkcs1_sha256.sig",
        SignatureAlgorithm::RsaPkcs1Sha256,
    ),
    (
        "rsa2048",
        "rsa2048_pkcs1_sha384.sig",
        SignatureAlgorithm::RsaPkcs1Sha384,
    ),
    (
        "rsa2048",
        "rsa2048_pss_sha256.sig",
        SignatureAlgorithm::RsaPssSha256,
    ),
    (
        "rsa2048",
        "rsa2048_pss_sha384.sig",
        SignatureAlgorithm::RsaPssSha384,
    ),
];

fn nonce(bytes: &[u8]) -> [u8; 12] {
    bytes.try_into().expect("12-octet nonce")
}

// ----------------------------------------------------------------------------------------
// The per-provider suite

fn provides_everything(p: &CryptoProvider) {
    for &alg in SignatureAlgorithm::ALL {
        let v = p.verifier(alg).unwrap_or_else(|| panic!("{alg:?}"));
        // The rustls-webpki view carries the same identifiers.
        assert_eq!(v.as_webpki().signature_alg_id(), alg.signature_alg_id());
        assert_eq!(v.as_webpki().public_key_alg_id(), alg.public_key_alg_id());
    }
    assert_eq!(p.webpki_algorithms().len(), SignatureAlgorithm::ALL.len());
    for alg in [
        AeadAlgorithm::Aes128Gcm,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::ChaCha20Poly1305,
    ] {
        assert!(p.aead(alg).is_some(), "{alg:?}");
    }
    for alg in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        assert!(p.hash(alg).is_some(), "{alg:?}");
    }
    for alg in [
        HmacAlgorithm::Sha256,
        HmacAlgorithm::Sha384,
        HmacAlgorithm::Sha512,
    ] {
        assert!(p.hmac(alg).is_some(), "{alg:?}");
    }
    for alg in [HkdfAlgorithm::Sha256, HkdfAlgorithm::Sha384] {
        assert!(p.hkdf(alg).is_some(), "{alg:?}");
    }
    assert!(p.kx_group(KeyExchangeAlgorithm::X25519).is_some());
}

fn sha_fips180(p: &CryptoProvider) {
    let doc = json("rfc_vectors.json");
    for v in doc["sha"].as_array().unwrap() {
        let h = p.hash(hash_alg(s(v, "hash"))).unwrap();
        let msg = hx(&v["msg"]);
        assert_eq!(h.hash(&msg).as_bytes(), hx(&v["digest"]), "{v}");
        // Incremental, byte by byte, with a fork in the middle.
        let mut ctx = h.start();
        let mid = msg.len() / 2;
        for b in &msg[..mid] {
            ctx.update(std::slice::from_ref(b));
        }
        let prefix = ctx.fork_finish();
        assert_eq!(prefix.as_bytes(), h.hash(&msg[..mid]).as_bytes());
        ctx.update(&msg[mid..]);
        assert_eq!(ctx.finish().as_bytes(), hx(&v["digest"]));
    }
    // FIPS 180-4 / NIST example: one million 'a'.
    let million = vec![b'a'; 1_000_000];
    assert_eq!(
        hex::encode(p.hash(HashAlgorithm::Sha256).unwrap().hash(&million)),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

fn hmac_rfc4231(p: &CryptoProvider) {
    let doc = json("rfc_vectors.json");
    for v in doc["hmac"].as_array().unwrap() {
        let alg = match s(v, "hash") {
            "sha256" => HmacAlgorithm::Sha256,
            "sha384" => HmacAlgorithm::Sha384,
            _ => HmacAlgorithm::Sha512,
        };
        let key = p.hmac(alg).unwrap().with_key(&hx(&v["key"]));
        let data = hx(&v["data"]);
        let tag = hx(&v["tag"]);
        assert_eq!(key.sign(&data).as_bytes(), tag, "{v}");
        let (a, b) = data.split_at(data.len() / 3);
        assert_eq!(key.sign_concat(&[a, b]).as_bytes(), tag);
        key.verify(&data, &tag).unwrap();
        key.verify(&data, &tag[..tag.len() / 2]).unwrap();
        let mut bad = tag.clone();
        bad[0] ^= 1;
        assert_eq!(key.verify(&data, &bad), Err(Error::InvalidSignature));
        assert!(
            key.verify(&data, &tag[..4]).is_err(),
            "too short a truncation"
        );
        assert!(!format!("{key:?}").contains(&s(v, "key")[..8]));
    }
}

fn hmac_wycheproof(p: &CryptoProvider) {
    for (file, alg) in [
        ("hmac_sha256_test.json", HmacAlgorithm::Sha256),
        ("hmac_sha384_test.json", HmacAlgorithm::Sha384),
        ("hmac_sha512_test.json", HmacAlgorithm::Sha512),
    ] {
        for (group, test) in wycheproof(file) {
            let tag_len = group["tagSize"].as_u64().unwrap() as usize / 8;
            let key = p.hmac(alg).unwrap().with_key(&hx(&test["key"]));
            let full = key.sign(&hx(&test["msg"]));
            expect_result(
                file,
                &test,
                full.as_bytes()[..tag_len] == hx(&test["tag"])[..],
            );
        }
    }
}

fn hkdf_rfc5869(p: &CryptoProvider) {
    let doc = json("rfc_vectors.json");
    let hkdf = p.hkdf(HkdfAlgorithm::Sha256).unwrap();
    for v in doc["hkdf"].as_array().unwrap() {
        let prk = hkdf.extract(&hx(&v["salt"]), &hx(&v["ikm"]));
        assert_eq!(prk.as_bytes(), hx(&v["prk"]), "{v}");
        let len = v["length"].as_u64().unwrap() as usize;
        let mut okm = vec![0; len];
        let info = hx(&v["info"]);
        let (i1, i2) = info.split_at(info.len() / 2);
        hkdf.expand(prk.as_bytes(), &[i1, i2], &mut okm).unwrap();
        assert_eq!(okm, hx(&v["okm"]));
        let derived = hkdf
            .derive(&hx(&v["salt"]), &hx(&v["ikm"]), &[&info], len)
            .unwrap();
        assert_eq!(derived.as_bytes(), hx(&v["okm"]));
        assert!(!format!("{derived:?}").contains(&s(v, "okm")[..8]));
    }
    // Limits.
    let mut too_long = vec![0; 255 * 32 + 1];
    assert!(hkdf.expand(&[0; 32], &[], &mut too_long).is_err());
    assert!(
        hkdf.expand(&[0; 16], &[], &mut [0; 16]).is_err(),
        "short PRK"
    );
}

fn hkdf_wycheproof(p: &CryptoProvider) {
    for (file, alg) in [
        ("hkdf_sha256_test.json", HkdfAlgorithm::Sha256),
        ("hkdf_sha384_test.json", HkdfAlgorithm::Sha384),
    ] {
        let hkdf = p.hkdf(alg).unwrap();
        for (_, test) in wycheproof(file) {
            let len = test["size"].as_u64().unwrap() as usize;
            let out = hkdf.derive(
                &hx(&test["salt"]),
                &hx(&test["ikm"]),
                &[&hx(&test["info"])],
                len,
            );
            expect_result(
                file,
                &test,
                out.is_ok_and(|okm| okm.as_bytes() == hx(&test["okm"])),
            );
        }
    }
}

fn aead_published(p: &CryptoProvider) {
    let doc = json("rfc_vectors.json");
    for v in doc["aead"].as_array().unwrap() {
        let key = p
            .aead(aead_alg(s(v, "alg")))
            .unwrap()
            .new_key(&hx(&v["key"]))
            .unwrap();
        let n = nonce(&hx(&v["nonce"]));
        let aad = hx(&v["aad"]);
        let mut expected = hx(&v["ct"]);
        expected.extend(hx(&v["tag"]));
        assert_eq!(
            key.seal(&n, &aad, &hx(&v["pt"])).unwrap(),
            expected,
            "{}",
            v["source"]
        );
        assert_eq!(key.open(&n, &aad, &expected).unwrap(), hx(&v["pt"]));
        // Any modification is detected, and in-place open leaves nothing behind.
        let mut tampered = expected.clone();
        tampered[0] ^= 0x80;
        assert_eq!(key.open(&n, &aad, &tampered), Err(Error::DecryptFailed));
        let mut buf = tampered.clone();
        assert!(key.open_in_place(&n, &aad, &mut buf).is_err());
        assert!(buf.is_empty());
        assert!(key.open(&n, b"other aad", &expected).is_err());
        assert!(
            key.open(&n, &aad, &expected[..10]).is_err(),
            "shorter than a tag"
        );
        assert!(!format!("{key:?}").contains(&s(v, "key")[..8]));
    }
}

fn aead_wycheproof(p: &CryptoProvider) {
    for file in ["aes_gcm_test.json", "chacha20_poly1305_test.json"] {
        let mut ran = 0;
        for (group, test) in wycheproof(file) {
            let alg = match (file, group["keySize"].as_u64().unwrap()) {
                ("chacha20_poly1305_test.json", 256) => AeadAlgorithm::ChaCha20Poly1305,
                ("aes_gcm_test.json", 128) => AeadAlgorithm::Aes128Gcm,
                ("aes_gcm_test.json", 256) => AeadAlgorithm::Aes256Gcm,
                _ => continue,
            };
            if group["ivSize"].as_u64() != Some(96) || group["tagSize"].as_u64() != Some(128) {
                continue; // Only 96-bit nonces and full tags are offered.
            }
            ran += 1;
            let key = p.aead(alg).unwrap().new_key(&hx(&test["key"])).unwrap();
            let n = nonce(&hx(&test["iv"]));
            let aad = hx(&test["aad"]);
            let mut sealed = hx(&test["ct"]);
            sealed.extend(hx(&test["tag"]));
            let opened = key.open(&n, &aad, &sealed);
            expect_result(
                file,
                &test,
                opened.as_ref().is_ok_and(|m| *m == hx(&test["msg"])),
            );
            if s(&test, "result") == "valid" {
                assert_eq!(key.seal(&n, &aad, &hx(&test["msg"])).unwrap(), sealed);
            }
        }
        assert!(ran > 50, "{file}: only {ran} applicable tests");
    }
}

fn aead_key_lengths(p: &CryptoProvider) {
    for aead in &p.aeads {
        let len = aead.algorithm().key_len();
        assert!(aead.new_key(&vec![0; len - 1]).is_err());
        assert!(aead.new_key(&vec![0; len + 1]).is_err());
        let key = aead.new_key(&vec![7; len]).unwrap();
        let mut buf = b"in place".to_vec();
        key.seal_in_place(&[1; 12], b"", &mut buf).unwrap();
        assert_eq!(buf.len(), 8 + guls_crypto::TAG_LEN);
        key.open_in_place(&[1; 12], b"", &mut buf).unwrap();
        assert_eq!(buf, b"in place");
    }
}

fn ed25519_rfc8032(p: &CryptoProvider) {
    let doc = json("rfc_vectors.json");
    let verifier = p.verifier(SignatureAlgorithm::Ed25519).unwrap();
    for v in doc["ed25519"].as_array().unwrap() {
        // PKCS #8 v1 wrapping of the RFC's 32-octet secret key (RFC 8410 section 7).
        let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
        der.extend(hx(&v["seed"]));
        let key = p.key_provider.load_private_key(&der).unwrap();
        assert_eq!(key.public_key(), hx(&v["public_key"]));
        let sig = key
            .sign(SignatureAlgorithm::Ed25519, &hx(&v["msg"]))
            .unwrap();
        assert_eq!(sig, hx(&v["sig"]), "{}", v["source"]);
        verifier
            .verify(&hx(&v["public_key"]), &hx(&v["msg"]), &sig)
            .unwrap();
        assert!(!format!("{key:?}").contains(&s(v, "seed")[..8]));
    }
}

fn signatures_wycheproof(p: &CryptoProvider) {
    for (file, alg, key_field) in [
        ("ed25519_test.json", SignatureAlgorithm::Ed25519, "pk"),
        (
            "ecdsa_secp256r1_sha256_test.json",
            SignatureAlgorithm::EcdsaP256Sha256,
            "uncompressed",
        ),
        (
            "ecdsa_secp384r1_sha384_test.json",
            SignatureAlgorithm::EcdsaP384Sha384,
            "uncompressed",
        ),
        (
            "rsa_signature_2048_sha256_test.json",
            SignatureAlgorithm::RsaPkcs1Sha256,
            "asn",
        ),
        (
            "rsa_signature_2048_sha384_test.json",
            SignatureAlgorithm::RsaPkcs1Sha384,
            "asn",
        ),
        (
            "rsa_pss_2048_sha256_mgf1_32_test.json",
            SignatureAlgorithm::RsaPssSha256,
            "asn",
        ),
        (
            "rsa_pss_2048_sha384_mgf1_48_test.json",
            SignatureAlgorithm::RsaPssSha384,
            "asn",
        ),
    ] {
        let verifier = p.verifier(alg).unwrap();
        for (group, test) in wycheproof(file) {
            let public_key = match key_field {
                "asn" => hx(&group["publicKeyAsn"]),
                field => hx(&group["publicKey"][field]),
            };
            let ok = verifier
                .verify(&public_key, &hx(&test["msg"]), &hx(&test["sig"]))
                .is_ok();
            expect_result(file, &test, ok);
        }
    }
}

fn x25519_rfc7748(p: &CryptoProvider) {
    let kx = p.kx_group(KeyExchangeAlgorithm::X25519).unwrap();
    let doc = json("rfc_vectors.json");
    for v in doc["x25519_public"].as_array().unwrap() {
        let active = kx.start_with_private_key(&hx(&v["private"])).unwrap();
        assert_eq!(active.public_key(), hx(&v["public"]));
        assert!(!format!("{active:?}").contains(&s(v, "private")[..8]));
    }
    for v in doc["x25519"].as_array().unwrap() {
        let active = kx.start_with_private_key(&hx(&v["private"])).unwrap();
        let shared = active.complete(&hx(&v["peer_public"])).unwrap();
        assert_eq!(shared.as_bytes(), hx(&v["shared"]), "{}", v["source"]);
        assert!(!format!("{shared:?}").contains(&s(v, "shared")[..8]));
    }
}

fn x25519_wycheproof(p: &CryptoProvider) {
    let kx = p.kx_group(KeyExchangeAlgorithm::X25519).unwrap();
    let file = "x25519_test.json";
    for (_, test) in wycheproof(file) {
        let active = kx.start_with_private_key(&hx(&test["private"])).unwrap();
        let shared = hx(&test["shared"]);
        match active.complete(&hx(&test["public"])) {
            Ok(secret) => assert_eq!(secret.as_bytes(), shared, "tcId {}", test["tcId"]),
            Err(e) => {
                // Only small-order peer keys (all-zero output) may be refused.
                assert_eq!(e, Error::KeyAgreementFailed, "tcId {}", test["tcId"]);
                assert!(
                    shared.iter().all(|&b| b == 0),
                    "tcId {} refused",
                    test["tcId"]
                );
                assert_ne!(s(&test, "result"), "valid");
            }
        }
    }
}

fn x25519_ephemeral(p: &CryptoProvider) {
    let kx = p.kx_group(KeyExchangeAlgorithm::X25519).unwrap();
    let a = kx.start().unwrap();
    let b = kx.start().unwrap();
    let (pa, pb) = (a.public_key().to_vec(), b.public_key().to_vec());
    assert_ne!(pa, pb);
    assert_eq!(a.complete(&pb).unwrap(), b.complete(&pa).unwrap());
    assert_eq!(
        kx.start().unwrap().complete(&[0; 31]),
        Err(Error::InvalidPublicKey)
    );
    assert_eq!(
        kx.start().unwrap().complete(&[0; 32]),
        Err(Error::KeyAgreementFailed)
    );
    assert!(kx.start_with_private_key(&[1; 31]).is_err());
}

fn openssl_keys(p: &CryptoProvider) {
    let message = read("keys/message.txt");
    for &(name, key_type) in KEY_FILES {
        let key = p
            .key_provider
            .load_private_key_pem(&read(&format!("keys/{name}.pem")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key.key_type(), key_type);
        assert!(format!("{key:?}").contains(&format!("{key_type:?}")));
        let public = spki_public_key(&read(&format!("keys/{name}.spki.der")));
        assert_eq!(key.public_key(), public, "{name}");
        for &alg in key.algorithms() {
            let sig = key.sign(alg, &message).unwrap();
            let verifier = p.verifier(alg).unwrap();
            verifier.verify(&public, &message, &sig).unwrap();
            assert!(verifier.verify(&public, b"another message", &sig).is_err());
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(verifier.verify(&public, &message, &bad).is_err(), "{alg:?}");
        }
        // A signature algorithm of another key type is refused.
        let other = if key_type == KeyType::Ed25519 {
            SignatureAlgorithm::EcdsaP256Sha256
        } else {
            SignatureAlgorithm::Ed25519
        };
        assert!(key.sign(other, &message).is_err());
    }
    for &(name, sig_file, alg) in OPENSSL_SIGNATURES {
        let public = spki_public_key(&read(&format!("keys/{name}.spki.der")));
        let sig = read(&format!("keys/{sig_file}"));
        p.verifier(alg)
            .unwrap()
            .verify(&public, &message, &sig)
            .unwrap_or_else(|e| panic!("{sig_file}: {e}"));
        if matches!(
            alg,
            SignatureAlgorithm::RsaPkcs1Sha256
                | SignatureAlgorithm::RsaPkcs1Sha384
                | SignatureAlgorithm::Ed25519
        ) {
            // Deterministic schemes: byte-for-byte the same as OpenSSL.
            let key = p
                .key_provider
                .load_private_key_pem(&read(&format!("keys/{name}.pem")))
                .unwrap();
            assert_eq!(key.sign(alg, &message).unwrap(), sig, "{sig_file}");
        }
    }
}

fn key_loading_errors(p: &CryptoProvider) {
    assert!(p.key_provider.load_private_key(b"").is_err());
    assert!(
        p.key_provider
            .load_private_key(&[0x30, 0x03, 0x02, 0x01, 0x00])
            .is_err()
    );
    assert!(matches!(
        p.key_provider.load_private_key_pem(
            b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
        ),
        Err(Error::InvalidPem(_))
    ));
    // A valid structure with a corrupted key body.
    let mut der = guls_crypto::pkcs8_from_pem(&read("keys/p256.pem"))
        .unwrap()
        .as_bytes()
        .to_vec();
    let n = der.len();
    der.truncate(n - 10);
    assert!(p.key_provider.load_private_key(&der).is_err());
    assert!(matches!(
        p.key_provider.generate_pkcs8(KeyType::Rsa),
        Err(Error::Unsupported(_))
    ));
}

fn generated_keys(p: &CryptoProvider) {
    for key_type in [KeyType::Ed25519, KeyType::EcdsaP256, KeyType::EcdsaP384] {
        let der = p.key_provider.generate_pkcs8(key_type).unwrap();
        assert_eq!(der.key_type().unwrap(), key_type);
        let key = p.key_provider.load_private_key(der.as_bytes()).unwrap();
        let alg = key_type.signature_algorithms()[0];
        let sig = key.sign(alg, b"msg").unwrap();
        p.verifier(alg)
            .unwrap()
            .verify(key.public_key(), b"msg", &sig)
            .unwrap();
    }
}

fn random(p: &CryptoProvider) {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    p.secure_random.fill(&mut a).unwrap();
    p.secure_random.fill(&mut b).unwrap();
    assert_ne!(a, b);
    assert_ne!(a, [0; 32]);
}

/// Instantiates every per-provider test in a module for one provider.
macro_rules! provider_suite {
    ($module:ident, $provider:expr, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test(&$provider);
                }
            )*
        }
    };
}

macro_rules! suite_for {
    ($module:ident, $provider:expr) => {
        provider_suite!(
            $module,
            $provider,
            [
                provides_everything,
                sha_fips180,
                hmac_rfc4231,
                hmac_wycheproof,
                hkdf_rfc5869,
                hkdf_wycheproof,
                aead_published,
                aead_wycheproof,
                aead_key_lengths,
                ed25519_rfc8032,
                signatures_wycheproof,
                x25519_rfc7748,
                x25519_wycheproof,
                x25519_ephemeral,
                openssl_keys,
                key_loading_errors,
                generated_keys,
                random,
            ]
        );
    };
}

suite_for!(ring, guls_crypto::ring::default_provider());
suite_for!(rustcrypto, guls_crypto::rustcrypto::default_provider());

// ----------------------------------------------------------------------------------------
// Cross-provider interoperability

fn both() -> [(CryptoProvider, CryptoProvider); 2] {
    let r = guls_crypto::ring::default_provider;
    let c = guls_crypto::rustcrypto::default_provider;
    [(r(), c()), (c(), r())]
}

#[test]
fn cross_sign_and_verify_every_scheme() {
    let message = read("keys/message.txt");
    for (signer, verifier) in both() {
        for &(name, _) in KEY_FILES {
            let pem = read(&format!("keys/{name}.pem"));
            let key = signer.key_provider.load_private_key_pem(&pem).unwrap();
            let same = verifier.key_provider.load_private_key_pem(&pem).unwrap();
            assert_eq!(
                key.public_key(),
                same.public_key(),
                "{name}: same PKCS #8, same key"
            );
            for &alg in key.algorithms() {
                let sig = key.sign(alg, &message).unwrap();
                verifier
                    .verifier(alg)
                    .unwrap()
                    .verify(key.public_key(), &message, &sig)
                    .unwrap_or_else(|e| {
                        panic!("{} -> {}: {alg:?}: {e}", signer.name, verifier.name)
                    });
            }
        }
        // Keys generated by one provider load in the other.
        for key_type in [KeyType::Ed25519, KeyType::EcdsaP256, KeyType::EcdsaP384] {
            let der = signer.key_provider.generate_pkcs8(key_type).unwrap();
            let a = signer
                .key_provider
                .load_private_key(der.as_bytes())
                .unwrap();
            let b = verifier
                .key_provider
                .load_private_key(der.as_bytes())
                .unwrap_or_else(|e| {
                    panic!(
                        "{} key loaded by {}: {key_type:?}: {e}",
                        signer.name, verifier.name
                    )
                });
            assert_eq!(a.public_key(), b.public_key());
            let alg = key_type.signature_algorithms()[0];
            let sig = b.sign(alg, b"m").unwrap();
            signer
                .verifier(alg)
                .unwrap()
                .verify(a.public_key(), b"m", &sig)
                .unwrap();
        }
    }
}

#[test]
fn cross_x25519_agreement() {
    for (a, b) in both() {
        let ka = a
            .kx_group(KeyExchangeAlgorithm::X25519)
            .unwrap()
            .start()
            .unwrap();
        let kb = b
            .kx_group(KeyExchangeAlgorithm::X25519)
            .unwrap()
            .start()
            .unwrap();
        let (pa, pb) = (ka.public_key().to_vec(), kb.public_key().to_vec());
        assert_eq!(ka.complete(&pb).unwrap(), kb.complete(&pa).unwrap());
    }
}

#[test]
fn cross_aead_seal_and_open() {
    for (a, b) in both() {
        for aead in &a.aeads {
            let alg = aead.algorithm();
            let mut key = vec![0u8; alg.key_len()];
            a.secure_random.fill(&mut key).unwrap();
            let mut n = [0u8; 12];
            a.secure_random.fill(&mut n).unwrap();
            for len in [0, 1, 15, 16, 17, 1000] {
                let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let sealed = aead.new_key(&key).unwrap().seal(&n, b"aad", &msg).unwrap();
                let opened = b
                    .aead(alg)
                    .unwrap()
                    .new_key(&key)
                    .unwrap()
                    .open(&n, b"aad", &sealed)
                    .unwrap();
                assert_eq!(opened, msg, "{alg:?} {} -> {}", a.name, b.name);
            }
        }
    }
}

#[test]
fn cross_hash_hmac_hkdf_agree() {
    let [(r, c), _] = both();
    let mut input = vec![0u8; 300];
    r.secure_random.fill(&mut input).unwrap();
    for len in [0, 1, 55, 56, 64, 127, 128, 300] {
        let m = &input[..len];
        for h in &r.hashes {
            assert_eq!(h.hash(m), c.hash(h.algorithm()).unwrap().hash(m));
        }
        for h in &r.hmacs {
            assert_eq!(
                h.with_key(m).sign(&input),
                c.hmac(h.algorithm()).unwrap().with_key(m).sign(&input)
            );
        }
        for h in &r.hkdfs {
            let a = h.derive(m, &input, &[m], 100).unwrap();
            let b = c
                .hkdf(h.algorithm())
                .unwrap()
                .derive(m, &input, &[m], 100)
                .unwrap();
            assert_eq!(a, b);
        }
    }
}

#[test]
fn mixed_provider_is_plain_data() {
    let mut mixed = guls_crypto::ring::default_provider();
    mixed.aeads = guls_crypto::rustcrypto::default_provider().aeads;
    mixed
        .aeads
        .retain(|a| a.algorithm() != AeadAlgorithm::Aes128Gcm);
    assert!(mixed.aead(AeadAlgorithm::Aes128Gcm).is_none());
    assert!(format!("{:?}", mixed.aead(AeadAlgorithm::Aes256Gcm).unwrap()).contains("Aes256Gcm"));
}
