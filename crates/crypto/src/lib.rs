//! Swappable cryptography for guls.
//!
//! A [`CryptoProvider`] is a plain struct of `&'static dyn` trait objects — signature
//! verification algorithms, AEADs, key-exchange groups, hashes, HMAC, HKDF, a secure random
//! source and a private-key loader — in the shape of rustls's provider, so that parts of two
//! providers can be mixed (`let mut p = ring::default_provider(); p.aeads =
//! rustcrypto::default_provider().aeads;`).
//!
//! Two providers ship with the crate:
//!
//! | feature | module | backend |
//! |---|---|---|
//! | `ring` (default) | `guls_crypto::ring` | the `ring` crate |
//! | `rustcrypto` | `guls_crypto::rustcrypto` | pure-Rust RustCrypto / dalek crates |
//!
//! Both implement exactly the same algorithm set (see [`SignatureAlgorithm`],
//! [`AeadAlgorithm`], [`KeyExchangeAlgorithm`], [`HashAlgorithm`], [`HmacAlgorithm`],
//! [`HkdfAlgorithm`]) with the same wire formats, so a peer using one interoperates with a peer
//! using the other. The crate's own test suite runs every known-answer and cross-provider test
//! against both (its dev-dependencies switch the `rustcrypto` feature on).
//!
//! # Formats
//!
//! * Public keys are the contents of a `SubjectPublicKeyInfo`'s `subjectPublicKey` BIT STRING,
//!   as in X.509 certificates and in rustls-webpki: 32 raw octets for Ed25519, an uncompressed
//!   SEC1 point for ECDSA, a DER `RSAPublicKey` (PKCS #1) for RSA.
//! * ECDSA signatures are DER `Ecdsa-Sig-Value` (as in certificates); Ed25519 signatures are 64
//!   raw octets; RSA signatures are the modulus-length octet string.
//! * RSA-PSS uses MGF1 with the message hash and a salt as long as the hash (RFC 8017,
//!   RFC 4055 parameters as in TLS 1.3 and webpki). RSA moduli of 2048 to 8192 bits are
//!   accepted.
//! * Private keys are loaded from PKCS #8 (`PrivateKeyInfo` / `OneAsymmetricKey`), DER or PEM.
//!
//! # Certificates
//!
//! Every [`SignatureVerifier`] is also a rustls-pki-types
//! [`SignatureVerificationAlgorithm`](rustls_pki_types::SignatureVerificationAlgorithm), so a
//! provider's verifiers can be handed to rustls-webpki directly
//! ([`CryptoProvider::webpki_algorithms`]).
//!
//! # Secrets
//!
//! Private keys, shared secrets, PRKs and derived keys held by this crate are zeroized on drop
//! ([`SecretBytes`], [`SharedSecret`], the RustCrypto key types), and their `Debug` output
//! names only the algorithm. The `ring` provider keeps keys inside `ring`'s own types, which do
//! not zeroize their (expanded) key material; this crate never keeps a second copy.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithms;
mod error;
mod pkcs8;
mod provider;
mod secret;
mod traits;

#[cfg(feature = "ring")]
pub mod ring;
#[cfg(feature = "rustcrypto")]
pub mod rustcrypto;

pub use algorithms::{
    AeadAlgorithm, HashAlgorithm, HkdfAlgorithm, HmacAlgorithm, KeyExchangeAlgorithm, KeyType,
    ObjectIdentifier, SignatureAlgorithm,
};
pub use error::Error;
pub use pkcs8::{Pkcs8Der, key_type_of_pkcs8, pkcs8_from_pem};
pub use provider::CryptoProvider;
pub use secret::{Digest, SecretBytes, SharedSecret};
pub use traits::{
    ActiveKeyExchange, Aead, AeadKey, Hash, HashContext, Hkdf, Hmac, HmacKey, KeyExchange,
    KeyProvider, NONCE_LEN, Nonce, SecureRandom, SignatureVerifier, SigningKey, TAG_LEN,
};

/// Re-export of the rustls-pki-types crate whose `SignatureVerificationAlgorithm` trait every
/// [`SignatureVerifier`] implements.
pub use rustls_pki_types;
