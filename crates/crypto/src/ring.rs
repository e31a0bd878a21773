//! The provider backed by the `ring` crate (feature `ring`, on by default).
//!
//! `ring` keeps private keys and AEAD key schedules in its own types, which do not zeroize
//! on drop; this module keeps no other copy of them. PRKs and derived keys returned by this
//! module are [`SecretBytes`] and are zeroized.

use core::fmt;

use ::ring::rand::SecureRandom as _;
use ::ring::signature::KeyPair as _;
use ::ring::{aead, agreement, digest, hkdf, hmac, rand, signature};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::{
    AeadAlgorithm, CryptoProvider, Digest, Error, HashAlgorithm, HkdfAlgorithm, HmacAlgorithm,
    KeyExchangeAlgorithm, KeyType, NONCE_LEN, Nonce, Pkcs8Der, SecretBytes, SharedSecret,
    SignatureAlgorithm, TAG_LEN,
};

/// The `ring` provider with every algorithm this crate defines.
pub fn default_provider() -> CryptoProvider {
    CryptoProvider {
        name: "ring",
        signature_verifiers: vec![
            &ED25519,
            &ECDSA_P256_SHA256,
            &ECDSA_P384_SHA384,
            &RSA_PSS_SHA256,
            &RSA_PSS_SHA384,
            &RSA_PKCS1_SHA256,
            &RSA_PKCS1_SHA384,
        ],
        aeads: vec![&AES_256_GCM, &CHACHA20_POLY1305, &AES_128_GCM],
        kx_groups: vec![&X25519],
        hashes: vec![&SHA256, &SHA384, &SHA512],
        hmacs: vec![&HMAC_SHA256, &HMAC_SHA384, &HMAC_SHA512],
        hkdfs: vec![&HKDF_SHA256, &HKDF_SHA384],
        secure_random: &RING_RANDOM,
        key_provider: &RING_KEYS,
    }
}

// ---------------------------------------------------------------------------------------
// Signature verification

/// A `ring` signature verification algorithm.
#[derive(Debug)]
pub struct Verifier {
    algorithm: SignatureAlgorithm,
    ring: &'static dyn signature::VerificationAlgorithm,
}

/// Ed25519 verification.
pub static ED25519: Verifier = Verifier {
    algorithm: SignatureAlgorithm::Ed25519,
    ring: &signature::ED25519,
};
/// ECDSA P-256 / SHA-256 verification (DER signatures).
pub static ECDSA_P256_SHA256: Verifier = Verifier {
    algorithm: SignatureAlgorithm::EcdsaP256Sha256,
    ring: &signature::ECDSA_P256_SHA256_ASN1,
};
/// ECDSA P-384 / SHA-384 verification (DER signatures).
pub static ECDSA_P384_SHA384: Verifier = Verifier {
    algorithm: SignatureAlgorithm::EcdsaP384Sha384,
    ring: &signature::ECDSA_P384_SHA384_ASN1,
};
/// RSASSA-PKCS1-v1_5 / SHA-256 verification (2048–8192-bit keys).
pub static RSA_PKCS1_SHA256: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha256,
    ring: &signature::RSA_PKCS1_2048_8192_SHA256,
};
/// RSASSA-PKCS1-v1_5 / SHA-384 verification (2048–8192-bit keys).
pub static RSA_PKCS1_SHA384: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha384,
    ring: &signature::RSA_PKCS1_2048_8192_SHA384,
};
/// RSASSA-PSS / SHA-256 verification (2048–8192-bit keys).
pub static RSA_PSS_SHA256: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPssSha256,
    ring: &signature::RSA_PSS_2048_8192_SHA256,
};
/// RSASSA-PSS / SHA-384 verification (2048–8192-bit keys).
pub static RSA_PSS_SHA384: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPssSha384,
    ring: &signature::RSA_PSS_2048_8192_SHA384,
};

impl SignatureVerificationAlgorithm for Verifier {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        signature::UnparsedPublicKey::new(self.ring, public_key)
            .verify(message, signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.signature_alg_id()
    }
}

impl crate::SignatureVerifier for Verifier {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn as_webpki(&self) -> &dyn SignatureVerificationAlgorithm {
        self
    }
}

// ---------------------------------------------------------------------------------------
// Keys and signing

/// The `ring` key provider.
#[derive(Debug)]
pub struct KeyProvider;

/// The `ring` key provider instance.
pub static RING_KEYS: KeyProvider = KeyProvider;

enum Pair {
    Ed25519(signature::Ed25519KeyPair),
    Ecdsa(signature::EcdsaKeyPair),
    Rsa(signature::RsaKeyPair),
}

/// A private key held by `ring`.
pub struct SigningKey {
    key_type: KeyType,
    pair: Pair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ring::SigningKey")
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

fn rejected(_: ::ring::error::KeyRejected) -> Error {
    Error::InvalidPrivateKey("rejected by ring")
}

impl crate::KeyProvider for KeyProvider {
    fn load_private_key(&self, pkcs8_der: &[u8]) -> Result<Box<dyn crate::SigningKey>, Error> {
        let key_type = crate::key_type_of_pkcs8(pkcs8_der)?;
        let rng = rand::SystemRandom::new();
        let pair = match key_type {
            KeyType::Ed25519 => Pair::Ed25519(
                signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8_der)
                    .map_err(rejected)?,
            ),
            KeyType::EcdsaP256 => Pair::Ecdsa(
                signature::EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    pkcs8_der,
                    &rng,
                )
                .map_err(rejected)?,
            ),
            KeyType::EcdsaP384 => Pair::Ecdsa(
                signature::EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    pkcs8_der,
                    &rng,
                )
                .map_err(rejected)?,
            ),
            KeyType::Rsa => {
                let pair = signature::RsaKeyPair::from_pkcs8(pkcs8_der).map_err(rejected)?;
                if pair.public().modulus_len() < 256 {
                    return Err(Error::InvalidPrivateKey("RSA key shorter than 2048 bits"));
                }
                Pair::Rsa(pair)
            }
        };
        Ok(Box::new(SigningKey { key_type, pair }))
    }

    fn generate_pkcs8(&self, key_type: KeyType) -> Result<Pkcs8Der, Error> {
        let rng = rand::SystemRandom::new();
        let doc = match key_type {
            KeyType::Ed25519 => signature::Ed25519KeyPair::generate_pkcs8(&rng),
            KeyType::EcdsaP256 => signature::EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &rng,
            ),
            KeyType::EcdsaP384 => signature::EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &rng,
            ),
            KeyType::Rsa => return Err(Error::Unsupported("RSA key generation")),
        }
        .map_err(|_| Error::Random)?;
        Ok(Pkcs8Der::new(doc.as_ref().to_vec()))
    }
}

impl crate::SigningKey for SigningKey {
    fn key_type(&self) -> KeyType {
        self.key_type
    }

    fn public_key(&self) -> &[u8] {
        match &self.pair {
            Pair::Ed25519(p) => p.public_key().as_ref(),
            Pair::Ecdsa(p) => p.public_key().as_ref(),
            Pair::Rsa(p) => p.public_key().as_ref(),
        }
    }

    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        if algorithm.key_type() != self.key_type {
            return Err(Error::Unsupported("signature algorithm for this key type"));
        }
        let rng = rand::SystemRandom::new();
        match &self.pair {
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
            Pair::Ecdsa(p) => p
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::SigningFailed),
            Pair::Rsa(p) => {
                let padding: &'static dyn signature::RsaEncoding = match algorithm {
                    SignatureAlgorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaPssSha256 => &signature::RSA_PSS_SHA256,
                    SignatureAlgorithm::RsaPssSha384 => &signature::RSA_PSS_SHA384,
                    _ => return Err(Error::Unsupported("signature algorithm for RSA")),
                };
                let mut sig = vec![0; p.public().modulus_len()];
                p.sign(padding, &rng, message, &mut sig)
                    .map_err(|_| Error::SigningFailed)?;
                Ok(sig)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hashes

/// A `ring` hash function.
#[derive(Debug)]
pub struct Hash {
    algorithm: HashAlgorithm,
    ring: &'static digest::Algorithm,
}

/// SHA-256.
pub static SHA256: Hash = Hash {
    algorithm: HashAlgorithm::Sha256,
    ring: &digest::SHA256,
};
/// SHA-384.
pub static SHA384: Hash = Hash {
    algorithm: HashAlgorithm::Sha384,
    ring: &digest::SHA384,
};
/// SHA-512.
pub static SHA512: Hash = Hash {
    algorithm: HashAlgorithm::Sha512,
    ring: &digest::SHA512,
};

struct HashContext(digest::Context);

impl crate::Hash for Hash {
    fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    fn start(&self) -> Box<dyn crate::HashContext> {
        Box::new(HashContext(digest::Context::new(self.ring)))
    }

    fn hash(&self, data: &[u8]) -> Digest {
        Digest::new(digest::digest(self.ring, data).as_ref())
    }
}

impl crate::HashContext for HashContext {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn fork_finish(&self) -> Digest {
        Digest::new(self.0.clone().finish().as_ref())
    }

    fn finish(self: Box<Self>) -> Digest {
        Digest::new(self.0.finish().as_ref())
    }
}

// ---------------------------------------------------------------------------------------
// HMAC and HKDF

/// A `ring` HMAC algorithm.
#[derive(Debug)]
pub struct Hmac {
    algorithm: HmacAlgorithm,
    ring: hmac::Algorithm,
}

/// HMAC-SHA-256.
pub static HMAC_SHA256: Hmac = Hmac {
    algorithm: HmacAlgorithm::Sha256,
    ring: hmac::HMAC_SHA256,
};
/// HMAC-SHA-384.
pub static HMAC_SHA384: Hmac = Hmac {
    algorithm: HmacAlgorithm::Sha384,
    ring: hmac::HMAC_SHA384,
};
/// HMAC-SHA-512.
pub static HMAC_SHA512: Hmac = Hmac {
    algorithm: HmacAlgorithm::Sha512,
    ring: hmac::HMAC_SHA512,
};

struct HmacKey {
    algorithm: HmacAlgorithm,
    key: hmac::Key,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ring::HmacKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl crate::Hmac for Hmac {
    fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm
    }

    fn with_key(&self, key: &[u8]) -> Box<dyn crate::HmacKey> {
        Box::new(HmacKey {
            algorithm: self.algorithm,
            key: hmac::Key::new(self.ring, key),
        })
    }
}

impl crate::HmacKey for HmacKey {
    fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm
    }

    fn sign_concat(&self, parts: &[&[u8]]) -> Digest {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(part);
        }
        Digest::new(ctx.sign().as_ref())
    }
}

/// A `ring` HKDF algorithm.
#[derive(Debug)]
pub struct Hkdf {
    algorithm: HkdfAlgorithm,
    hmac: hmac::Algorithm,
    ring: hkdf::Algorithm,
}

/// HKDF-SHA-256.
pub static HKDF_SHA256: Hkdf = Hkdf {
    algorithm: HkdfAlgorithm::Sha256,
    hmac: hmac::HMAC_SHA256,
    ring: hkdf::HKDF_SHA256,
};
/// HKDF-SHA-384.
pub static HKDF_SHA384: Hkdf = Hkdf {
    algorithm: HkdfAlgorithm::Sha384,
    hmac: hmac::HMAC_SHA384,
    ring: hkdf::HKDF_SHA384,
};

struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

impl crate::Hkdf for Hkdf {
    fn algorithm(&self) -> HkdfAlgorithm {
        self.algorithm
    }

    fn extract(&self, salt: &[u8], ikm: &[u8]) -> SecretBytes {
        // HKDF-Extract is HMAC(salt, IKM) (RFC 5869 section 2.2); `ring` does not expose the
        // PRK of its own extract, and callers need it (and the RFC's test vectors check it).
        let tag = hmac::sign(&hmac::Key::new(self.hmac, salt), ikm);
        SecretBytes::from(tag.as_ref())
    }

    fn expand(&self, prk: &[u8], info: &[&[u8]], okm: &mut [u8]) -> Result<(), Error> {
        self.expand_each(prk, &mut [(info, okm)])
    }

    fn expand_each(&self, prk: &[u8], outputs: &mut [(&[&[u8]], &mut [u8])]) -> Result<(), Error> {
        if prk.len() < self.algorithm.hash().output_len() {
            return Err(Error::InvalidLength("HKDF PRK shorter than the hash"));
        }
        if outputs
            .iter()
            .any(|(_, okm)| okm.len() > self.algorithm.max_output_len())
        {
            return Err(Error::InvalidLength(
                "HKDF output longer than 255 hash lengths",
            ));
        }
        // The HMAC is keyed with the PRK once for every output.
        let prk = hkdf::Prk::new_less_safe(self.ring, prk);
        for (info, okm) in outputs.iter_mut() {
            prk.expand(info, OkmLen(okm.len()))
                .and_then(|o| o.fill(okm))
                .map_err(|_| Error::InvalidLength("HKDF output"))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// AEAD

/// A `ring` AEAD algorithm.
#[derive(Debug)]
pub struct Aead {
    algorithm: AeadAlgorithm,
    ring: &'static aead::Algorithm,
}

/// AES-128-GCM.
pub static AES_128_GCM: Aead = Aead {
    algorithm: AeadAlgorithm::Aes128Gcm,
    ring: &aead::AES_128_GCM,
};
/// AES-256-GCM.
pub static AES_256_GCM: Aead = Aead {
    algorithm: AeadAlgorithm::Aes256Gcm,
    ring: &aead::AES_256_GCM,
};
/// ChaCha20-Poly1305.
pub static CHACHA20_POLY1305: Aead = Aead {
    algorithm: AeadAlgorithm::ChaCha20Poly1305,
    ring: &aead::CHACHA20_POLY1305,
};

struct AeadKey {
    algorithm: AeadAlgorithm,
    key: aead::LessSafeKey,
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ring::AeadKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl crate::Aead for Aead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    fn new_key(&self, key: &[u8]) -> Result<Box<dyn crate::AeadKey>, Error> {
        if key.len() != self.algorithm.key_len() {
            return Err(Error::InvalidLength("AEAD key"));
        }
        let unbound =
            aead::UnboundKey::new(self.ring, key).map_err(|_| Error::InvalidLength("AEAD key"))?;
        Ok(Box::new(AeadKey {
            algorithm: self.algorithm,
            key: aead::LessSafeKey::new(unbound),
        }))
    }
}

impl crate::AeadKey for AeadKey {
    fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    fn seal_in_place(&self, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error> {
        const _: () = assert!(NONCE_LEN == aead::NONCE_LEN);
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(*nonce),
                aead::Aad::from(aad),
                in_out,
            )
            .map_err(|_| Error::InvalidLength("AEAD plaintext too long"))
    }

    fn open_in_place(&self, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error> {
        let result = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(*nonce),
                aead::Aad::from(aad),
                in_out,
            )
            .map(|plain| plain.len());
        match result {
            Ok(len) => {
                debug_assert_eq!(len + TAG_LEN, in_out.len());
                in_out.truncate(len);
                Ok(())
            }
            Err(_) => {
                in_out.clear();
                Err(Error::DecryptFailed)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Key exchange

/// The `ring` X25519 group.
#[derive(Debug)]
pub struct X25519Group;

/// X25519.
pub static X25519: X25519Group = X25519Group;

struct ActiveX25519 {
    private: agreement::EphemeralPrivateKey,
    public: agreement::PublicKey,
}

impl fmt::Debug for ActiveX25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ring::ActiveX25519").finish_non_exhaustive()
    }
}

fn start_x25519(rng: &dyn rand::SecureRandom) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
    let private = agreement::EphemeralPrivateKey::generate(&agreement::X25519, rng)
        .map_err(|_| Error::Random)?;
    let public = private.compute_public_key().map_err(|_| Error::Random)?;
    Ok(Box::new(ActiveX25519 { private, public }))
}

impl crate::KeyExchange for X25519Group {
    fn algorithm(&self) -> KeyExchangeAlgorithm {
        KeyExchangeAlgorithm::X25519
    }

    fn start(&self) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        start_x25519(&rand::SystemRandom::new())
    }

    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        if private_key.len() != 32 {
            return Err(Error::InvalidLength("X25519 private key"));
        }
        // `ring` only makes X25519 private keys from a random source; feed it the given key
        // through its fixed-output source (a documented, if deprecated, part of ring 0.17).
        #[allow(deprecated)]
        let rng = ::ring::test::rand::FixedSliceRandom { bytes: private_key };
        start_x25519(&rng)
    }
}

impl crate::ActiveKeyExchange for ActiveX25519 {
    fn algorithm(&self) -> KeyExchangeAlgorithm {
        KeyExchangeAlgorithm::X25519
    }

    fn public_key(&self) -> &[u8] {
        self.public.as_ref()
    }

    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<SharedSecret, Error> {
        if peer_public_key.len() != 32 {
            return Err(Error::InvalidPublicKey);
        }
        let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, peer_public_key);
        let secret =
            agreement::agree_ephemeral(self.private, &peer, |s| SharedSecret::new(s.to_vec()))
                .map_err(|_| Error::KeyAgreementFailed)?;
        if secret.as_bytes().iter().all(|&b| b == 0) {
            return Err(Error::KeyAgreementFailed);
        }
        Ok(secret)
    }
}

// ---------------------------------------------------------------------------------------
// Random

/// The `ring` system random source.
#[derive(Debug)]
pub struct Random;

/// The `ring` system random source instance.
pub static RING_RANDOM: Random = Random;

impl crate::SecureRandom for Random {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| Error::Random)
    }
}
