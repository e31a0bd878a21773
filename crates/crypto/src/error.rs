//! The crate's error type.

/// Why a cryptographic operation failed. Deliberately coarse: no variant carries key material
/// or says more than an attacker may learn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider does not implement this algorithm or operation.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// A private key could not be parsed or is not of the expected type.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// A public key is malformed or not acceptable (wrong size, not on the curve, ...).
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A signature did not verify (including a malformed signature).
    #[error("invalid signature")]
    InvalidSignature,
    /// The signing operation failed.
    #[error("signing failed")]
    SigningFailed,
    /// AEAD decryption failed: wrong key, nonce, associated data, or a modified ciphertext.
    #[error("decryption failed")]
    DecryptFailed,
    /// An input or output had an invalid length (key, nonce, PRK, requested output).
    #[error("invalid length: {0}")]
    InvalidLength(&'static str),
    /// Key agreement produced an all-zero (non-contributory) shared secret, i.e. the peer's
    /// public key is of small order.
    #[error("key agreement failed")]
    KeyAgreementFailed,
    /// The secure random source failed.
    #[error("random source failed")]
    Random,
    /// PEM input was not a single `PRIVATE KEY` section.
    #[error("invalid PEM: {0}")]
    InvalidPem(&'static str),
}
