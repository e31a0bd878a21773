//! Containers for secret and non-secret byte strings.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes (a PRK, derived key, private key encoding): zeroized on drop, compared in
/// constant time, and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A zero-filled secret of `len` octets, to be filled in place.
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0; len])
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, mutably.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} octets)", self.0.len())
    }
}

/// The output of a key agreement: zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret(SecretBytes);

impl SharedSecret {
    /// Wraps agreed secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretBytes::new(bytes))
    }

    /// The secret bytes (feed them to HKDF; do not use them directly as a key).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedSecret({} octets)", self.0.len())
    }
}

/// A hash or HMAC output of up to 64 octets (not secret by itself).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    buf: [u8; 64],
    len: usize,
}

impl Digest {
    /// Copies `bytes` (at most 64 octets).
    ///
    /// # Panics
    /// If `bytes` is longer than 64 octets (no supported hash is).
    pub fn new(bytes: &[u8]) -> Self {
        let mut buf = [0; 64];
        buf[..bytes.len()].copy_from_slice(bytes);
        Self {
            buf,
            len: bytes.len(),
        }
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = SecretBytes::new(vec![0xAB; 4]);
        assert_eq!(format!("{s:?}"), "SecretBytes(4 octets)");
        let k = SharedSecret::new(vec![0xCD; 32]);
        assert!(!format!("{k:?}").contains("cd"));
    }

    #[test]
    fn secret_equality() {
        assert_eq!(
            SecretBytes::from(&b"abc"[..]),
            SecretBytes::from(&b"abc"[..])
        );
        assert_ne!(
            SecretBytes::from(&b"abc"[..]),
            SecretBytes::from(&b"abd"[..])
        );
        assert_ne!(
            SecretBytes::from(&b"abc"[..]),
            SecretBytes::from(&b"ab"[..])
        );
    }
}
