//! The provider struct and the process-wide default.

use std::sync::OnceLock;

use rustls_pki_types::SignatureVerificationAlgorithm;

use crate::{
    Aead, AeadAlgorithm, Hash, HashAlgorithm, Hkdf, HkdfAlgorithm, Hmac, HmacAlgorithm,
    KeyExchange, KeyExchangeAlgorithm, KeyProvider, SecureRandom, SignatureAlgorithm,
    SignatureVerifier,
};

/// A set of cryptographic primitives: plain data, so parts of providers can be mixed, filtered
/// or reordered (earlier entries are preferred).
#[derive(Clone, Debug)]
pub struct CryptoProvider {
    /// A short name for logs and tests (`"ring"`, `"rustcrypto"`).
    pub name: &'static str,
    /// Signature verification algorithms, also usable by rustls-webpki.
    pub signature_verifiers: Vec<&'static dyn SignatureVerifier>,
    /// AEAD ciphers.
    pub aeads: Vec<&'static dyn Aead>,
    /// Key-exchange groups.
    pub kx_groups: Vec<&'static dyn KeyExchange>,
    /// Hash functions.
    pub hashes: Vec<&'static dyn Hash>,
    /// HMAC algorithms.
    pub hmacs: Vec<&'static dyn Hmac>,
    /// HKDF algorithms.
    pub hkdfs: Vec<&'static dyn Hkdf>,
    /// The secure random source.
    pub secure_random: &'static dyn SecureRandom,
    /// Private-key loading, signing and key generation.
    pub key_provider: &'static dyn KeyProvider,
}

static DEFAULT: OnceLock<CryptoProvider> = OnceLock::new();

impl CryptoProvider {
    /// Makes `self` the process-wide default. Only the first call succeeds; later calls get
    /// their provider back in `Err`.
    pub fn install_default(self) -> Result<(), Box<CryptoProvider>> {
        let mut candidate = Some(self);
        DEFAULT.get_or_init(|| candidate.take().expect("taken once"));
        match candidate {
            None => Ok(()),
            Some(rejected) => Err(Box::new(rejected)),
        }
    }

    /// The process-wide default, if one was installed.
    pub fn get_default() -> Option<&'static CryptoProvider> {
        DEFAULT.get()
    }

    /// The process-wide default, installing [`Self::from_crate_features`] first if none was
    /// installed. `None` only if the crate was built with no provider feature.
    pub fn get_default_or_install_from_crate_features() -> Option<&'static CryptoProvider> {
        if let Some(provider) = DEFAULT.get() {
            return Some(provider);
        }
        let provider = Self::from_crate_features()?;
        // A concurrent install may win; either way a default now exists.
        let _ = provider.install_default();
        DEFAULT.get()
    }

    /// The provider the enabled features select: `ring` if that feature is on (it is the
    /// default), else `rustcrypto`, else `None`.
    pub fn from_crate_features() -> Option<CryptoProvider> {
        #[cfg(feature = "ring")]
        {
            Some(crate::ring::default_provider())
        }
        #[cfg(all(not(feature = "ring"), feature = "rustcrypto"))]
        {
            Some(crate::rustcrypto::default_provider())
        }
        #[cfg(not(any(feature = "ring", feature = "rustcrypto")))]
        {
            None
        }
    }

    /// The verifier for `algorithm`, if provided.
    pub fn verifier(
        &self,
        algorithm: SignatureAlgorithm,
    ) -> Option<&'static dyn SignatureVerifier> {
        self.signature_verifiers
            .iter()
            .copied()
            .find(|v| v.algorithm() == algorithm)
    }

    /// The signature verifiers as rustls-webpki algorithms (for path validation).
    pub fn webpki_algorithms(&self) -> Vec<&'static dyn SignatureVerificationAlgorithm> {
        self.signature_verifiers
            .iter()
            .map(|v| v.as_webpki())
            .collect()
    }

    /// The AEAD `algorithm`, if provided.
    pub fn aead(&self, algorithm: AeadAlgorithm) -> Option<&'static dyn Aead> {
        self.aeads
            .iter()
            .copied()
            .find(|a| a.algorithm() == algorithm)
    }

    /// The key-exchange group `algorithm`, if provided.
    pub fn kx_group(&self, algorithm: KeyExchangeAlgorithm) -> Option<&'static dyn KeyExchange> {
        self.kx_groups
            .iter()
            .copied()
            .find(|k| k.algorithm() == algorithm)
    }

    /// The hash `algorithm`, if provided.
    pub fn hash(&self, algorithm: HashAlgorithm) -> Option<&'static dyn Hash> {
        self.hashes
            .iter()
            .copied()
            .find(|h| h.algorithm() == algorithm)
    }

    /// The HMAC `algorithm`, if provided.
    pub fn hmac(&self, algorithm: HmacAlgorithm) -> Option<&'static dyn Hmac> {
        self.hmacs
            .iter()
            .copied()
            .find(|h| h.algorithm() == algorithm)
    }

    /// The HKDF `algorithm`, if provided.
    pub fn hkdf(&self, algorithm: HkdfAlgorithm) -> Option<&'static dyn Hkdf> {
        self.hkdfs
            .iter()
            .copied()
            .find(|h| h.algorithm() == algorithm)
    }
}
