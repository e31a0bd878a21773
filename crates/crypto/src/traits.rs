//! The traits a provider implements.

use core::fmt::Debug;

use rustls_pki_types::SignatureVerificationAlgorithm;

use crate::{
    AeadAlgorithm, Digest, Error, HashAlgorithm, HkdfAlgorithm, HmacAlgorithm,
    KeyExchangeAlgorithm, KeyType, Pkcs8Der, SecretBytes, SharedSecret, SignatureAlgorithm,
};

/// Length of every supported AEAD's nonce, in octets.
pub const NONCE_LEN: usize = 12;
/// Length of every supported AEAD's tag, in octets.
pub const TAG_LEN: usize = 16;

/// A 96-bit AEAD nonce. Never use one twice with the same key.
pub type Nonce = [u8; NONCE_LEN];

/// Verifies signatures of one [`SignatureAlgorithm`].
///
/// It is also a rustls-pki-types [`SignatureVerificationAlgorithm`], so a `&'static dyn
/// SignatureVerifier` can be passed to rustls-webpki through [`Self::as_webpki`].
pub trait SignatureVerifier: SignatureVerificationAlgorithm {
    /// The algorithm verified.
    fn algorithm(&self) -> SignatureAlgorithm;

    /// This verifier as a rustls-pki-types algorithm (an upcast; implement as `self`).
    fn as_webpki(&self) -> &dyn SignatureVerificationAlgorithm;

    /// Verifies `signature` over `message` with `public_key` (the `subjectPublicKey` contents;
    /// see the crate docs for formats).
    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.verify_signature(public_key, message, signature)
            .map_err(|_| Error::InvalidSignature)
    }
}

/// A loaded private key. Its `Debug` output names only the key type; the key material is
/// zeroized on drop where the backend allows.
pub trait SigningKey: Send + Sync + Debug {
    /// The key type.
    fn key_type(&self) -> KeyType;

    /// The public key, as the `subjectPublicKey` contents.
    fn public_key(&self) -> &[u8];

    /// Signs `message` with `algorithm`, which must be one of
    /// [`KeyType::signature_algorithms`] for this key's type.
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error>;

    /// The algorithms this key can sign with (default: all of its key type's).
    fn algorithms(&self) -> &'static [SignatureAlgorithm] {
        self.key_type().signature_algorithms()
    }
}

/// Loads (and generates) private keys.
pub trait KeyProvider: Send + Sync + Debug {
    /// Loads a PKCS #8 DER private key (v1 `PrivateKeyInfo` or v2 `OneAsymmetricKey`) of any
    /// supported [`KeyType`].
    fn load_private_key(&self, pkcs8_der: &[u8]) -> Result<Box<dyn SigningKey>, Error>;

    /// Loads a PEM `-----BEGIN PRIVATE KEY-----` (PKCS #8) private key.
    fn load_private_key_pem(&self, pem: &[u8]) -> Result<Box<dyn SigningKey>, Error> {
        let der = crate::pkcs8_from_pem(pem)?;
        self.load_private_key(der.as_bytes())
    }

    /// Generates a fresh key pair and returns it as PKCS #8 DER (load it with
    /// [`Self::load_private_key`]). RSA generation is not offered: [`Error::Unsupported`].
    fn generate_pkcs8(&self, key_type: KeyType) -> Result<Pkcs8Der, Error>;
}

/// A hash function.
pub trait Hash: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> HashAlgorithm;

    /// Starts an incremental computation.
    fn start(&self) -> Box<dyn HashContext>;

    /// Hashes `data` in one go.
    fn hash(&self, data: &[u8]) -> Digest {
        let mut ctx = self.start();
        ctx.update(data);
        ctx.finish()
    }
}

/// An incremental hash computation.
pub trait HashContext: Send + Sync {
    /// Absorbs `data`.
    fn update(&mut self, data: &[u8]);

    /// The digest of everything absorbed so far, leaving the context usable.
    fn fork_finish(&self) -> Digest;

    /// Finishes the computation.
    fn finish(self: Box<Self>) -> Digest;
}

/// HMAC with one hash.
pub trait Hmac: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> HmacAlgorithm;

    /// Prepares a key (any length; RFC 2104 hashes long keys).
    fn with_key(&self, key: &[u8]) -> Box<dyn HmacKey>;
}

/// A prepared HMAC key. Its `Debug` output names only the algorithm.
pub trait HmacKey: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> HmacAlgorithm;

    /// The tag over the concatenation of `parts`.
    fn sign_concat(&self, parts: &[&[u8]]) -> Digest;

    /// The tag over `data`.
    fn sign(&self, data: &[u8]) -> Digest {
        self.sign_concat(&[data])
    }

    /// Checks `tag` (full length, or truncated to at least half the tag length) over `data`
    /// in constant time.
    fn verify(&self, data: &[u8], tag: &[u8]) -> Result<(), Error> {
        use subtle::ConstantTimeEq;
        let expected = self.sign(data);
        let full = expected.as_bytes();
        if tag.len() < full.len() / 2 || tag.len() > full.len() {
            return Err(Error::InvalidSignature);
        }
        if bool::from(full[..tag.len()].ct_eq(tag)) {
            Ok(())
        } else {
            Err(Error::InvalidSignature)
        }
    }
}

/// HKDF (RFC 5869) with one hash.
pub trait Hkdf: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> HkdfAlgorithm;

    /// HKDF-Extract: the pseudorandom key HMAC(salt, ikm). An empty `salt` is the RFC's
    /// "not provided" (a string of hash-length zeros gives the same result).
    fn extract(&self, salt: &[u8], ikm: &[u8]) -> SecretBytes;

    /// HKDF-Expand: fills `okm` from `prk` (at least the hash length) and the concatenation
    /// of `info`. `okm` may be at most 255 × the hash length.
    fn expand(&self, prk: &[u8], info: &[&[u8]], okm: &mut [u8]) -> Result<(), Error>;

    /// HKDF-Expand of several outputs from one `prk`: each `(info, okm)` is filled as
    /// [`Hkdf::expand`] would fill it. A provider may key the HMAC with `prk` once for all
    /// of them (the default expands each in turn).
    fn expand_each(&self, prk: &[u8], outputs: &mut [(&[&[u8]], &mut [u8])]) -> Result<(), Error> {
        for (info, okm) in outputs.iter_mut() {
            self.expand(prk, info, okm)?;
        }
        Ok(())
    }

    /// Extract then expand `len` octets.
    fn derive(
        &self,
        salt: &[u8],
        ikm: &[u8],
        info: &[&[u8]],
        len: usize,
    ) -> Result<SecretBytes, Error> {
        let prk = self.extract(salt, ikm);
        let mut okm = SecretBytes::zeroed(len);
        self.expand(prk.as_bytes(), info, okm.as_mut_bytes())?;
        Ok(okm)
    }
}

/// An AEAD algorithm: makes keys.
pub trait Aead: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> AeadAlgorithm;

    /// Prepares `key`, which must be [`AeadAlgorithm::key_len`] octets.
    fn new_key(&self, key: &[u8]) -> Result<Box<dyn AeadKey>, Error>;
}

/// A prepared AEAD key. Its `Debug` output names only the algorithm.
pub trait AeadKey: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> AeadAlgorithm;

    /// Encrypts `in_out` in place and appends the 16-octet tag.
    fn seal_in_place(&self, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error>;

    /// Checks and strips the tag at the end of `in_out` and decrypts in place. On failure
    /// `in_out` is cleared: no unauthenticated plaintext escapes.
    fn open_in_place(&self, nonce: &Nonce, aad: &[u8], in_out: &mut Vec<u8>) -> Result<(), Error>;

    /// Encrypts `plaintext`, returning ciphertext ‖ tag.
    fn seal(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        self.seal_in_place(nonce, aad, &mut buf)?;
        Ok(buf)
    }

    /// Decrypts ciphertext ‖ tag.
    fn open(&self, nonce: &Nonce, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut buf = ciphertext.to_vec();
        self.open_in_place(nonce, aad, &mut buf)?;
        Ok(buf)
    }
}

/// A key-exchange group.
pub trait KeyExchange: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> KeyExchangeAlgorithm;

    /// Generates an ephemeral key pair.
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error>;

    /// Starts from a given private key (32 octets for X25519). For known-answer tests and
    /// static-key protocols; the caller vouches for the key's secrecy and randomness.
    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn ActiveKeyExchange>, Error>;
}

/// One side's key pair of a key exchange in progress. Its `Debug` output names only the
/// algorithm; the private key is erased when it is consumed or dropped.
pub trait ActiveKeyExchange: Send + Sync + Debug {
    /// The algorithm.
    fn algorithm(&self) -> KeyExchangeAlgorithm;

    /// Our public key, to send to the peer.
    fn public_key(&self) -> &[u8];

    /// Agrees a shared secret with the peer's public key, consuming the private key.
    /// All-zero results (small-order peer keys) are rejected with
    /// [`Error::KeyAgreementFailed`].
    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<SharedSecret, Error>;
}

/// A cryptographically secure random source.
pub trait SecureRandom: Send + Sync + Debug {
    /// Fills `buf` with random octets.
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error>;
}
