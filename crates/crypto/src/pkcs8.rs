//! PKCS #8 containers: PEM decoding and a minimal DER inspection to find the key type.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::algorithms::oid;
use crate::{Error, KeyType};

/// A PKCS #8 DER private key: zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pkcs8Der(Vec<u8>);

impl Pkcs8Der {
    /// Takes ownership of DER bytes (not checked here; loading checks them).
    pub fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key type named by the `privateKeyAlgorithm` field.
    pub fn key_type(&self) -> Result<KeyType, Error> {
        key_type_of_pkcs8(&self.0)
    }
}

impl fmt::Debug for Pkcs8Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key_type() {
            Ok(kt) => write!(f, "Pkcs8Der({kt:?})"),
            Err(_) => f.write_str("Pkcs8Der(?)"),
        }
    }
}

/// Decodes the first `-----BEGIN PRIVATE KEY-----` section of `pem`.
pub fn pkcs8_from_pem(pem: &[u8]) -> Result<Pkcs8Der, Error> {
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject;
    let key = PrivatePkcs8KeyDer::from_pem_slice(pem)
        .map_err(|_| Error::InvalidPem("expected a PKCS #8 PRIVATE KEY section"))?;
    Ok(Pkcs8Der(key.secret_pkcs8_der().to_vec()))
}

/// A DER element: tag and contents.
struct Tlv<'a> {
    tag: u8,
    contents: &'a [u8],
}

/// Reads one DER element (single-octet tag, definite length) from the front of `input`.
fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((
        Tlv {
            tag,
            contents: &rest[..len],
        },
        &rest[len..],
    ))
}

fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), Error> {
    match read_tlv(input) {
        Some((tlv, rest)) if tlv.tag == tag => Ok((tlv.contents, rest)),
        _ => Err(Error::InvalidPrivateKey("malformed PKCS #8 structure")),
    }
}

/// The key type of a PKCS #8 DER private key, from its `privateKeyAlgorithm` (and, for EC
/// keys, the named-curve parameter).
pub fn key_type_of_pkcs8(der: &[u8]) -> Result<KeyType, Error> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OID: u8 = 0x06;
    let (body, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(body, INTEGER)?;
    let (alg, _) = expect(rest, SEQUENCE)?;
    let (alg_oid, params) = expect(alg, OID)?;
    if alg_oid == oid::ED25519.as_der_contents() {
        Ok(KeyType::Ed25519)
    } else if alg_oid == oid::RSA_ENCRYPTION.as_der_contents() {
        Ok(KeyType::Rsa)
    } else if alg_oid == oid::EC_PUBLIC_KEY.as_der_contents() {
        let (curve, _) = expect(params, OID)?;
        if curve == oid::P256.as_der_contents() {
            Ok(KeyType::EcdsaP256)
        } else if curve == oid::P384.as_der_contents() {
            Ok(KeyType::EcdsaP384)
        } else {
            Err(Error::Unsupported("EC curve"))
        }
    } else {
        Err(Error::Unsupported("private key algorithm"))
    }
}

#[cfg_attr(not(feature = "rustcrypto"), allow(dead_code))]
/// Wraps a 32-octet Ed25519 seed as a PKCS #8 v1 `PrivateKeyInfo` (RFC 8410).
pub(crate) fn ed25519_pkcs8_v1(seed: &[u8; 32]) -> Pkcs8Der {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = Vec::with_capacity(48);
    der.extend_from_slice(&PREFIX);
    der.extend_from_slice(seed);
    Pkcs8Der(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_wrapping_round_trips() {
        let seed = [7u8; 32];
        let der = ed25519_pkcs8_v1(&seed);
        assert_eq!(der.key_type().unwrap(), KeyType::Ed25519);
        assert_eq!(format!("{der:?}"), "Pkcs8Der(Ed25519)");
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [&[][..], &[0x30], &[0x30, 0x05, 0x02, 0x01], &[0x04, 0x00]] {
            assert!(key_type_of_pkcs8(bad).is_err());
        }
    }
}
