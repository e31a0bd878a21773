//! The pure-Rust provider (feature `rustcrypto`): RustCrypto's `sha2`, `hmac`, `hkdf`,
//! `aes-gcm`, `chacha20poly1305`, `p256`, `p384` and `rsa`, dalek's `ed25519-dalek` and
//! `x25519-dalek`, and `getrandom`.
//!
//! Private keys, AEAD keys and HMAC states of these crates are zeroized on drop (their
//! `zeroize` features are on).

use core::fmt;

use aes_gcm::aead::{AeadInOut, KeyInit};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::{
    AeadAlgorithm, CryptoProvider, Digest, Error, HashAlgorithm, HkdfAlgorithm, HmacAlgorithm,
    KeyExchangeAlgorithm, KeyType, Nonce, Pkcs8Der, SecretBytes, SharedSecret, SignatureAlgorithm,
    TAG_LEN,
};

/// The RustCrypto provider with every algorithm this crate defines.
pub fn default_provider() -> CryptoProvider {
    CryptoProvider {
        name: "rustcrypto",
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
        secure_random: &OS_RANDOM,
        key_provider: &RUSTCRYPTO_KEYS,
    }
}

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, Error> {
    let mut out = Zeroizing::new([0u8; N]);
    getrandom::fill(out.as_mut()).map_err(|_| Error::Random)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Signature verification

/// A RustCrypto signature verification algorithm.
#[derive(Debug)]
pub struct Verifier {
    algorithm: SignatureAlgorithm,
}

/// Ed25519 verification.
pub static ED25519: Verifier = Verifier {
    algorithm: SignatureAlgorithm::Ed25519,
};
/// ECDSA P-256 / SHA-256 verification (DER signatures).
pub static ECDSA_P256_SHA256: Verifier = Verifier {
    algorithm: SignatureAlgorithm::EcdsaP256Sha256,
};
/// ECDSA P-384 / SHA-384 verification (DER signatures).
pub static ECDSA_P384_SHA384: Verifier = Verifier {
    algorithm: SignatureAlgorithm::EcdsaP384Sha384,
};
/// RSASSA-PKCS1-v1_5 / SHA-256 verification (2048–8192-bit keys).
pub static RSA_PKCS1_SHA256: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha256,
};
/// RSASSA-PKCS1-v1_5 / SHA-384 verification (2048–8192-bit keys).
pub static RSA_PKCS1_SHA384: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha384,
};
/// RSASSA-PSS / SHA-256 verification (2048–8192-bit keys).
pub static RSA_PSS_SHA256: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPssSha256,
};
/// RSASSA-PSS / SHA-384 verification (2048–8192-bit keys).
pub static RSA_PSS_SHA384: Verifier = Verifier {
    algorithm: SignatureAlgorithm::RsaPssSha384,
};

fn rsa_public_key(der: &[u8]) -> Result<rsa::RsaPublicKey, Error> {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let key = rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|_| Error::InvalidPublicKey)?;
    let bits = key.n().as_ref().bits_vartime();
    if !(2048..=8192).contains(&bits) {
        return Err(Error::InvalidPublicKey);
    }
    Ok(key)
}

fn ec_point(public_key: &[u8], len: usize) -> Result<&[u8], Error> {
    // Uncompressed points only, like ring and certificates in practice.
    if public_key.len() == len && public_key.first() == Some(&0x04) {
        Ok(public_key)
    } else {
        Err(Error::InvalidPublicKey)
    }
}

fn verify(
    algorithm: SignatureAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    use signature_traits::Verifier as _;
    let bad = |_| Error::InvalidSignature;
    match algorithm {
        SignatureAlgorithm::Ed25519 => {
            let pk: &[u8; 32] = public_key.try_into().map_err(|_| Error::InvalidPublicKey)?;
            let sig: &[u8; 64] = signature.try_into().map_err(|_| Error::InvalidSignature)?;
            let vk =
                ed25519_dalek::VerifyingKey::from_bytes(pk).map_err(|_| Error::InvalidPublicKey)?;
            vk.verify(message, &ed25519_dalek::Signature::from_bytes(sig))
                .map_err(bad)
        }
        SignatureAlgorithm::EcdsaP256Sha256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(ec_point(public_key, 65)?)
                .map_err(|_| Error::InvalidPublicKey)?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(bad)?;
            vk.verify(message, &sig).map_err(bad)
        }
        SignatureAlgorithm::EcdsaP384Sha384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(ec_point(public_key, 97)?)
                .map_err(|_| Error::InvalidPublicKey)?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(bad)?;
            vk.verify(message, &sig).map_err(bad)
        }
        SignatureAlgorithm::RsaPkcs1Sha256
        | SignatureAlgorithm::RsaPkcs1Sha384
        | SignatureAlgorithm::RsaPssSha256
        | SignatureAlgorithm::RsaPssSha384 => {
            use rsa::traits::PublicKeyParts as _;
            let key = rsa_public_key(public_key)?;
            if signature.len() != key.size() {
                return Err(Error::InvalidSignature);
            }
            match algorithm {
                SignatureAlgorithm::RsaPkcs1Sha256 => {
                    let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(bad)?;
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
                        .verify(message, &sig)
                        .map_err(bad)
                }
                SignatureAlgorithm::RsaPkcs1Sha384 => {
                    let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(bad)?;
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key)
                        .verify(message, &sig)
                        .map_err(bad)
                }
                SignatureAlgorithm::RsaPssSha256 => {
                    let sig = rsa::pss::Signature::try_from(signature).map_err(bad)?;
                    rsa::pss::VerifyingKey::<sha2::Sha256>::new(key)
                        .verify(message, &sig)
                        .map_err(bad)
                }
                _ => {
                    let sig = rsa::pss::Signature::try_from(signature).map_err(bad)?;
                    rsa::pss::VerifyingKey::<sha2::Sha384>::new(key)
                        .verify(message, &sig)
                        .map_err(bad)
                }
            }
        }
    }
}

/// The `signature` crate's traits, as re-exported by `rsa`.
mod signature_traits {
    pub(super) use rsa::signature::{SignatureEncoding, Signer, Verifier};
}

impl SignatureVerificationAlgorithm for Verifier {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        verify(self.algorithm, public_key, message, signature).map_err(|_| InvalidSignature)
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

/// The RustCrypto key provider.
#[derive(Debug)]
pub struct KeyProvider;

/// The RustCrypto key provider instance.
pub static RUSTCRYPTO_KEYS: KeyProvider = KeyProvider;

enum Pair {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Rsa(rsa::RsaPrivateKey),
}

/// A private key held by the RustCrypto crates (zeroized on drop).
pub struct SigningKey {
    key_type: KeyType,
    pair: Pair,
    public_key: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rustcrypto::SigningKey")
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

const MALFORMED: Error = Error::InvalidPrivateKey("malformed or inconsistent PKCS #8 key");

impl crate::KeyProvider for KeyProvider {
    fn load_private_key(&self, pkcs8_der: &[u8]) -> Result<Box<dyn crate::SigningKey>, Error> {
        let key_type = crate::key_type_of_pkcs8(pkcs8_der)?;
        let (pair, public_key) = match key_type {
            KeyType::Ed25519 => {
                use ed25519_dalek::pkcs8::DecodePrivateKey as _;
                let sk =
                    ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8_der).map_err(|_| MALFORMED)?;
                let public = sk.verifying_key().to_bytes().to_vec();
                (Pair::Ed25519(sk), public)
            }
            KeyType::EcdsaP256 => {
                use p256::pkcs8::DecodePrivateKey as _;
                let sk =
                    p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8_der).map_err(|_| MALFORMED)?;
                let public = sk.verifying_key().to_sec1_point(false).as_bytes().to_vec();
                (Pair::P256(sk), public)
            }
            KeyType::EcdsaP384 => {
                use p384::pkcs8::DecodePrivateKey as _;
                let sk =
                    p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8_der).map_err(|_| MALFORMED)?;
                let public = sk.verifying_key().to_sec1_point(false).as_bytes().to_vec();
                (Pair::P384(sk), public)
            }
            KeyType::Rsa => {
                use rsa::pkcs1::EncodeRsaPublicKey as _;
                use rsa::pkcs8::DecodePrivateKey as _;
                let sk = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8_der).map_err(|_| MALFORMED)?;
                let public = sk
                    .to_public_key()
                    .to_pkcs1_der()
                    .map_err(|_| MALFORMED)?
                    .into_vec();
                // Same bounds as verification (and as ring).
                rsa_public_key(&public)
                    .map_err(|_| Error::InvalidPrivateKey("RSA modulus not 2048-8192 bits"))?;
                (Pair::Rsa(sk), public)
            }
        };
        Ok(Box::new(SigningKey {
            key_type,
            pair,
            public_key,
        }))
    }

    fn generate_pkcs8(&self, key_type: KeyType) -> Result<Pkcs8Der, Error> {
        use p256::pkcs8::EncodePrivateKey as _;
        match key_type {
            KeyType::Ed25519 => Ok(crate::pkcs8::ed25519_pkcs8_v1(&*random_bytes::<32>()?)),
            KeyType::EcdsaP256 => loop {
                // A random 256-bit string is a valid scalar except with negligible probability.
                if let Ok(sk) = p256::SecretKey::from_slice(&*random_bytes::<32>()?) {
                    let doc = sk.to_pkcs8_der().map_err(|_| Error::Random)?;
                    return Ok(Pkcs8Der::new(doc.as_bytes().to_vec()));
                }
            },
            KeyType::EcdsaP384 => loop {
                if let Ok(sk) = p384::SecretKey::from_slice(&*random_bytes::<48>()?) {
                    let doc = sk.to_pkcs8_der().map_err(|_| Error::Random)?;
                    return Ok(Pkcs8Der::new(doc.as_bytes().to_vec()));
                }
            },
            KeyType::Rsa => Err(Error::Unsupported("RSA key generation")),
        }
    }
}

impl crate::SigningKey for SigningKey {
    fn key_type(&self) -> KeyType {
        self.key_type
    }

    fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        use signature_traits::{SignatureEncoding as _, Signer as _};
        if algorithm.key_type() != self.key_type {
            return Err(Error::Unsupported("signature algorithm for this key type"));
        }
        let failed = |_| Error::SigningFailed;
        match (&self.pair, algorithm) {
            (Pair::Ed25519(sk), _) => Ok(sk.sign(message).to_bytes().to_vec()),
            (Pair::P256(sk), _) => {
                let sig: p256::ecdsa::Signature = sk.try_sign(message).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (Pair::P384(sk), _) => {
                let sig: p384::ecdsa::Signature = sk.try_sign(message).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (Pair::Rsa(sk), SignatureAlgorithm::RsaPkcs1Sha256) => {
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(sk.clone())
                    .try_sign(message)
                    .map(|s| s.to_vec())
                    .map_err(failed)
            }
            (Pair::Rsa(sk), SignatureAlgorithm::RsaPkcs1Sha384) => {
                rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(sk.clone())
                    .try_sign(message)
                    .map(|s| s.to_vec())
                    .map_err(failed)
            }
            (Pair::Rsa(sk), SignatureAlgorithm::RsaPssSha256) => {
                rsa::pss::SigningKey::<sha2::Sha256>::new(sk.clone())
                    .try_sign(message)
                    .map(|s| s.to_vec())
                    .map_err(failed)
            }
            (Pair::Rsa(sk), SignatureAlgorithm::RsaPssSha384) => {
                rsa::pss::SigningKey::<sha2::Sha384>::new(sk.clone())
                    .try_sign(message)
                    .map(|s| s.to_vec())
                    .map_err(failed)
            }
            (Pair::Rsa(_), _) => Err(Error::Unsupported("signature algorithm for RSA")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hashes, HMAC, HKDF

/// A RustCrypto hash function.
#[derive(Debug)]
pub struct Hash {
    algorithm: HashAlgorithm,
}

/// SHA-256.
pub static SHA256: Hash = Hash {
    algorithm: HashAlgorithm::Sha256,
};
/// SHA-384.
pub static SHA384: Hash = Hash {
    algorithm: HashAlgorithm::Sha384,
};
/// SHA-512.
pub static SHA512: Hash = Hash {
    algorithm: HashAlgorithm::Sha512,
};

struct HashContext<D>(D);

impl<D> crate::HashContext for HashContext<D>
where
    D: sha2::Digest + Clone + Send + Sync,
{
    fn update(&mut self, data: &[u8]) {
        sha2::Digest::update(&mut self.0, data);
    }

    fn fork_finish(&self) -> Digest {
        Digest::new(&self.0.clone().finalize())
    }

    fn finish(self: Box<Self>) -> Digest {
        Digest::new(&self.0.finalize())
    }
}

impl crate::Hash for Hash {
    fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    fn start(&self) -> Box<dyn crate::HashContext> {
        match self.algorithm {
            HashAlgorithm::Sha256 => Box::new(HashContext(sha2::Sha256::new())),
            HashAlgorithm::Sha384 => Box::new(HashContext(sha2::Sha384::new())),
            HashAlgorithm::Sha512 => Box::new(HashContext(sha2::Sha512::new())),
        }
    }
}

/// A RustCrypto HMAC algorithm.
#[derive(Debug)]
pub struct Hmac {
    algorithm: HmacAlgorithm,
}

/// HMAC-SHA-256.
pub static HMAC_SHA256: Hmac = Hmac {
    algorithm: HmacAlgorithm::Sha256,
};
/// HMAC-SHA-384.
pub static HMAC_SHA384: Hmac = Hmac {
    algorithm: HmacAlgorithm::Sha384,
};
/// HMAC-SHA-512.
pub static HMAC_SHA512: Hmac = Hmac {
    algorithm: HmacAlgorithm::Sha512,
};

enum HmacState {
    Sha256(hmac::Hmac<sha2::Sha256>),
    Sha384(hmac::Hmac<sha2::Sha384>),
    Sha512(hmac::Hmac<sha2::Sha512>),
}

struct HmacKey {
    algorithm: HmacAlgorithm,
    state: HmacState,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rustcrypto::HmacKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn hmac_tag<M: hmac::Mac + Clone>(keyed: &M, parts: &[&[u8]]) -> Digest {
    let mut mac = keyed.clone();
    for part in parts {
        mac.update(part);
    }
    Digest::new(&mac.finalize().into_bytes())
}

impl crate::Hmac for Hmac {
    fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm
    }

    fn with_key(&self, key: &[u8]) -> Box<dyn crate::HmacKey> {
        // HMAC accepts keys of every length, so `new_from_slice` cannot fail.
        let state = match self.algorithm {
            HmacAlgorithm::Sha256 => HmacState::Sha256(
                hmac::Hmac::new_from_slice(key).expect("HMAC takes any key length"),
            ),
            HmacAlgorithm::Sha384 => HmacState::Sha384(
                hmac::Hmac::new_from_slice(key).expect("HMAC takes any key length"),
            ),
            HmacAlgorithm::Sha512 => HmacState::Sha512(
                hmac::Hmac::new_from_slice(key).expect("HMAC takes any key length"),
            ),
        };
        Box::new(HmacKey {
            algorithm: self.algorithm,
            state,
        })
    }
}

impl crate::HmacKey for HmacKey {
    fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm
    }

    fn sign_concat(&self, parts: &[&[u8]]) -> Digest {
        match &self.state {
            HmacState::Sha256(m) => hmac_tag(m, parts),
            HmacState::Sha384(m) => hmac_tag(m, parts),
            HmacState::Sha512(m) => hmac_tag(m, parts),
        }
    }
}

/// A RustCrypto HKDF algorithm.
#[derive(Debug)]
pub struct Hkdf {
    algorithm: HkdfAlgorithm,
}

/// HKDF-SHA-256.
pub static HKDF_SHA256: Hkdf = Hkdf {
    algorithm: HkdfAlgorithm::Sha256,
};
/// HKDF-SHA-384.
pub static HKDF_SHA384: Hkdf = Hkdf {
    algorithm: HkdfAlgorithm::Sha384,
};

impl crate::Hkdf for Hkdf {
    fn algorithm(&self) -> HkdfAlgorithm {
        self.algorithm
    }

    fn extract(&self, salt: &[u8], ikm: &[u8]) -> SecretBytes {
        match self.algorithm {
            HkdfAlgorithm::Sha256 => {
                let (prk, _) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(salt), ikm);
                SecretBytes::from(&prk[..])
            }
            HkdfAlgorithm::Sha384 => {
                let (prk, _) = hkdf::Hkdf::<sha2::Sha384>::extract(Some(salt), ikm);
                SecretBytes::from(&prk[..])
            }
        }
    }

    fn expand(&self, prk: &[u8], info: &[&[u8]], okm: &mut [u8]) -> Result<(), Error> {
        self.expand_each(prk, &mut [(info, okm)])
    }

    fn expand_each(&self, prk: &[u8], outputs: &mut [(&[&[u8]], &mut [u8])]) -> Result<(), Error> {
        // The HMAC is keyed with the PRK once for every output.
        let short = |_| Error::InvalidLength("HKDF PRK shorter than the hash");
        let long = |_| Error::InvalidLength("HKDF output longer than 255 hash lengths");
        match self.algorithm {
            HkdfAlgorithm::Sha256 => {
                let h = hkdf::Hkdf::<sha2::Sha256>::from_prk(prk).map_err(short)?;
                for (info, okm) in outputs.iter_mut() {
                    h.expand_multi_info(info, okm).map_err(long)?;
                }
            }
            HkdfAlgorithm::Sha384 => {
                let h = hkdf::Hkdf::<sha2::Sha384>::from_prk(prk).map_err(short)?;
                for (info, okm) in outputs.iter_mut() {
                    h.expand_multi_info(info, okm).map_err(long)?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// AEAD

/// A RustCrypto AEAD algorithm.
#[derive(Debug)]
pub struct Aead {
    algorithm: AeadAlgorithm,
}

/// AES-128-GCM.
pub static AES_128_GCM: Aead = Aead {
    algorithm: AeadAlgorithm::Aes128Gcm,
};
/// AES-256-GCM.
pub static AES_256_GCM: Aead = Aead {
    algorithm: AeadAlgorithm::Aes256Gcm,
};
/// ChaCha20-Poly1305.
pub static CHACHA20_POLY1305: Aead = Aead {
    algorithm: AeadAlgorithm::ChaCha20Poly1305,
};

enum Cipher {
    Aes128Gcm(Box<aes_gcm::Aes128Gcm>),
    Aes256Gcm(Box<aes_gcm::Aes256Gcm>),
    ChaCha20Poly1305(Box<chacha20poly1305::ChaCha20Poly1305>),
}

struct AeadKey {
    algorithm: AeadAlgorithm,
    cipher: Cipher,
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rustcrypto::AeadKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn seal<A>(cipher: &A, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error>
where
    A: AeadInOut,
{
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(&nonce[..])
        .map_err(|_| Error::InvalidLength("AEAD nonce"))?;
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, in_out.as_mut_slice().into())
        .map_err(|_| Error::InvalidLength("AEAD plaintext too long"))?;
    in_out.extend_from_slice(&tag);
    Ok(())
}

fn open<A>(cipher: &A, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error>
where
    A: AeadInOut,
{
    let result = (|| {
        let nonce = aes_gcm::aead::Nonce::<A>::try_from(&nonce[..]).map_err(|_| ())?;
        let body_len = in_out.len().checked_sub(TAG_LEN).ok_or(())?;
        let (body, tag) = in_out.split_at_mut(body_len);
        let tag = aes_gcm::aead::Tag::<A>::try_from(&tag[..]).map_err(|_| ())?;
        cipher
            .decrypt_inout_detached(&nonce, aad, body.into(), &tag)
            .map_err(|_| ())?;
        Ok::<usize, ()>(body_len)
    })();
    match result {
        Ok(len) => {
            in_out.truncate(len);
            Ok(())
        }
        Err(()) => {
            in_out.clear();
            Err(Error::DecryptFailed)
        }
    }
}

impl crate::Aead for Aead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    fn new_key(&self, key: &[u8]) -> Result<Box<dyn crate::AeadKey>, Error> {
        let bad = |_| Error::InvalidLength("AEAD key");
        let cipher = match self.algorithm {
            AeadAlgorithm::Aes128Gcm => Cipher::Aes128Gcm(Box::new(
                aes_gcm::Aes128Gcm::new_from_slice(key).map_err(bad)?,
            )),
            AeadAlgorithm::Aes256Gcm => Cipher::Aes256Gcm(Box::new(
                aes_gcm::Aes256Gcm::new_from_slice(key).map_err(bad)?,
            )),
            AeadAlgorithm::ChaCha20Poly1305 => Cipher::ChaCha20Poly1305(Box::new(
                chacha20poly1305::ChaCha20Poly1305::new_from_slice(key).map_err(bad)?,
            )),
        };
        Ok(Box::new(AeadKey {
            algorithm: self.algorithm,
            cipher,
        }))
    }
}

impl crate::AeadKey for AeadKey {
    fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    fn seal_in_place(&self, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error> {
        match &self.cipher {
            Cipher::Aes128Gcm(c) => seal(c.as_ref(), nonce, aad, in_out),
            Cipher::Aes256Gcm(c) => seal(c.as_ref(), nonce, aad, in_out),
            Cipher::ChaCha20Poly1305(c) => seal(c.as_ref(), nonce, aad, in_out),
        }
    }

    fn open_in_place(&self, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error> {
        match &self.cipher {
            Cipher::Aes128Gcm(c) => open(c.as_ref(), nonce, aad, in_out),
            Cipher::Aes256Gcm(c) => open(c.as_ref(), nonce, aad, in_out),
            Cipher::ChaCha20Poly1305(c) => open(c.as_ref(), nonce, aad, in_out),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Key exchange

/// The RustCrypto (x25519-dalek) X25519 group.
#[derive(Debug)]
pub struct X25519Group;

/// X25519.
pub static X25519: X25519Group = X25519Group;

struct ActiveX25519 {
    private: x25519_dalek::StaticSecret,
    public: [u8; 32],
}

impl fmt::Debug for ActiveX25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rustcrypto::ActiveX25519")
            .finish_non_exhaustive()
    }
}

impl crate::KeyExchange for X25519Group {
    fn algorithm(&self) -> KeyExchangeAlgorithm {
        KeyExchangeAlgorithm::X25519
    }

    fn start(&self) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        self.start_with_private_key(&*random_bytes::<32>()?)
    }

    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        let bytes: [u8; 32] = private_key
            .try_into()
            .map_err(|_| Error::InvalidLength("X25519 private key"))?;
        let bytes = Zeroizing::new(bytes);
        let private = x25519_dalek::StaticSecret::from(*bytes);
        let public = x25519_dalek::PublicKey::from(&private).to_bytes();
        Ok(Box::new(ActiveX25519 { private, public }))
    }
}

impl crate::ActiveKeyExchange for ActiveX25519 {
    fn algorithm(&self) -> KeyExchangeAlgorithm {
        KeyExchangeAlgorithm::X25519
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<SharedSecret, Error> {
        let peer: [u8; 32] = peer_public_key
            .try_into()
            .map_err(|_| Error::InvalidPublicKey)?;
        let shared = self
            .private
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer));
        if !shared.was_contributory() {
            return Err(Error::KeyAgreementFailed);
        }
        Ok(SharedSecret::new(shared.as_bytes().to_vec()))
    }
}

// ---------------------------------------------------------------------------------------
// Random

/// The operating system's random source, through `getrandom`.
#[derive(Debug)]
pub struct OsRandom;

/// The operating system random source instance.
pub static OS_RANDOM: OsRandom = OsRandom;

impl crate::SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|_| Error::Random)
    }
}
