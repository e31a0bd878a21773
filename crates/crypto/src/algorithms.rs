//! Algorithm identifiers, each carrying its ASN.1 object identifier.

use core::fmt;

use rustls_pki_types::{AlgorithmIdentifier, alg_id};

/// An ASN.1 OBJECT IDENTIFIER value, in dotted form and as DER content octets (the bytes after
/// the `06 len` header), so that certificate and token code can match or emit it without a
/// BER library.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectIdentifier {
    dotted: &'static str,
    der: &'static [u8],
}

impl ObjectIdentifier {
    const fn new(dotted: &'static str, der: &'static [u8]) -> Self {
        Self { dotted, der }
    }

    /// The dotted-decimal form, e.g. `"1.3.101.112"`.
    pub const fn as_dotted(&self) -> &'static str {
        self.dotted
    }

    /// The DER content octets (without tag and length).
    pub const fn as_der_contents(&self) -> &'static [u8] {
        self.der
    }
}

impl fmt::Debug for ObjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dotted)
    }
}

impl fmt::Display for ObjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dotted)
    }
}

pub(crate) mod oid {
    use super::ObjectIdentifier;

    pub(crate) const ED25519: ObjectIdentifier =
        ObjectIdentifier::new("1.3.101.112", &[0x2b, 0x65, 0x70]);
    pub(crate) const X25519: ObjectIdentifier =
        ObjectIdentifier::new("1.3.101.110", &[0x2b, 0x65, 0x6e]);
    pub(crate) const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.10045.4.3.2",
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    );
    pub(crate) const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.10045.4.3.3",
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
    );
    pub(crate) const RSA_PKCS1_SHA256: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.1.11",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
    );
    pub(crate) const RSA_PKCS1_SHA384: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.1.12",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
    );
    pub(crate) const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.1.10",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a],
    );
    pub(crate) const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.10045.2.1",
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
    );
    pub(crate) const P256: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.10045.3.1.7",
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
    );
    pub(crate) const P384: ObjectIdentifier =
        ObjectIdentifier::new("1.3.132.0.34", &[0x2b, 0x81, 0x04, 0x00, 0x22]);
    pub(crate) const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.1.1",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    );
    pub(crate) const SHA256: ObjectIdentifier = ObjectIdentifier::new(
        "2.16.840.1.101.3.4.2.1",
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
    );
    pub(crate) const SHA384: ObjectIdentifier = ObjectIdentifier::new(
        "2.16.840.1.101.3.4.2.2",
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
    );
    pub(crate) const SHA512: ObjectIdentifier = ObjectIdentifier::new(
        "2.16.840.1.101.3.4.2.3",
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
    );
    pub(crate) const HMAC_SHA256: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.2.9",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09],
    );
    pub(crate) const HMAC_SHA384: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.2.10",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a],
    );
    pub(crate) const HMAC_SHA512: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.2.11",
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b],
    );
    pub(crate) const HKDF_SHA256: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.9.16.3.28",
        &[
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x1c,
        ],
    );
    pub(crate) const HKDF_SHA384: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.9.16.3.29",
        &[
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x1d,
        ],
    );
    pub(crate) const AES128_GCM: ObjectIdentifier = ObjectIdentifier::new(
        "2.16.840.1.101.3.4.1.6",
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x06],
    );
    pub(crate) const AES256_GCM: ObjectIdentifier = ObjectIdentifier::new(
        "2.16.840.1.101.3.4.1.46",
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e],
    );
    pub(crate) const CHACHA20_POLY1305: ObjectIdentifier = ObjectIdentifier::new(
        "1.2.840.113549.1.9.16.3.18",
        &[
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x12,
        ],
    );

    /// Every OID above, for the encoding self-check.
    #[cfg(test)]
    pub(crate) const ALL: &[ObjectIdentifier] = &[
        ED25519,
        X25519,
        ECDSA_SHA256,
        ECDSA_SHA384,
        RSA_PKCS1_SHA256,
        RSA_PKCS1_SHA384,
        RSA_PSS,
        EC_PUBLIC_KEY,
        P256,
        P384,
        RSA_ENCRYPTION,
        SHA256,
        SHA384,
        SHA512,
        HMAC_SHA256,
        HMAC_SHA384,
        HMAC_SHA512,
        HKDF_SHA256,
        HKDF_SHA384,
        AES128_GCM,
        AES256_GCM,
        CHACHA20_POLY1305,
    ];
}

/// The type of a private/public key pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// ECDSA over NIST P-256 (secp256r1).
    EcdsaP256,
    /// ECDSA over NIST P-384 (secp384r1).
    EcdsaP384,
    /// RSA (2048 to 8192 bits).
    Rsa,
}

impl KeyType {
    /// The `SubjectPublicKeyInfo` / PKCS #8 algorithm OID (`id-Ed25519`, `id-ecPublicKey`,
    /// `rsaEncryption`).
    pub const fn algorithm_oid(self) -> ObjectIdentifier {
        match self {
            Self::Ed25519 => oid::ED25519,
            Self::EcdsaP256 | Self::EcdsaP384 => oid::EC_PUBLIC_KEY,
            Self::Rsa => oid::RSA_ENCRYPTION,
        }
    }

    /// The named-curve parameter OID for EC keys.
    pub const fn curve_oid(self) -> Option<ObjectIdentifier> {
        match self {
            Self::EcdsaP256 => Some(oid::P256),
            Self::EcdsaP384 => Some(oid::P384),
            Self::Ed25519 | Self::Rsa => None,
        }
    }

    /// The DER contents of the public key's `AlgorithmIdentifier` (rustls-pki-types form).
    pub fn public_key_alg_id(self) -> AlgorithmIdentifier {
        match self {
            Self::Ed25519 => alg_id::ED25519,
            Self::EcdsaP256 => alg_id::ECDSA_P256,
            Self::EcdsaP384 => alg_id::ECDSA_P384,
            Self::Rsa => alg_id::RSA_ENCRYPTION,
        }
    }

    /// The signature algorithms a key of this type can produce.
    pub const fn signature_algorithms(self) -> &'static [SignatureAlgorithm] {
        match self {
            Self::Ed25519 => &[SignatureAlgorithm::Ed25519],
            Self::EcdsaP256 => &[SignatureAlgorithm::EcdsaP256Sha256],
            Self::EcdsaP384 => &[SignatureAlgorithm::EcdsaP384Sha384],
            Self::Rsa => &[
                SignatureAlgorithm::RsaPssSha256,
                SignatureAlgorithm::RsaPssSha384,
                SignatureAlgorithm::RsaPkcs1Sha256,
                SignatureAlgorithm::RsaPkcs1Sha384,
            ],
        }
    }
}

/// A signature algorithm: key type, padding and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032), pure (no pre-hash).
    Ed25519,
    /// ECDSA on P-256 with SHA-256, DER signature.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384, DER signature.
    EcdsaP384Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-octet salt.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, 48-octet salt.
    RsaPssSha384,
}

impl SignatureAlgorithm {
    /// All signature algorithms, in preference order.
    pub const ALL: &'static [SignatureAlgorithm] = &[
        Self::Ed25519,
        Self::EcdsaP256Sha256,
        Self::EcdsaP384Sha384,
        Self::RsaPssSha256,
        Self::RsaPssSha384,
        Self::RsaPkcs1Sha256,
        Self::RsaPkcs1Sha384,
    ];

    /// The signature algorithm OID (for PSS the parameters carry the hash; see
    /// [`Self::signature_alg_id`]).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Ed25519 => oid::ED25519,
            Self::EcdsaP256Sha256 => oid::ECDSA_SHA256,
            Self::EcdsaP384Sha384 => oid::ECDSA_SHA384,
            Self::RsaPkcs1Sha256 => oid::RSA_PKCS1_SHA256,
            Self::RsaPkcs1Sha384 => oid::RSA_PKCS1_SHA384,
            Self::RsaPssSha256 | Self::RsaPssSha384 => oid::RSA_PSS,
        }
    }

    /// The key type that produces and verifies this algorithm's signatures.
    pub const fn key_type(self) -> KeyType {
        match self {
            Self::Ed25519 => KeyType::Ed25519,
            Self::EcdsaP256Sha256 => KeyType::EcdsaP256,
            Self::EcdsaP384Sha384 => KeyType::EcdsaP384,
            Self::RsaPkcs1Sha256
            | Self::RsaPkcs1Sha384
            | Self::RsaPssSha256
            | Self::RsaPssSha384 => KeyType::Rsa,
        }
    }

    /// The message hash, if the algorithm hashes with a separate hash function.
    pub const fn hash(self) -> Option<HashAlgorithm> {
        match self {
            Self::Ed25519 => None,
            Self::EcdsaP256Sha256 | Self::RsaPkcs1Sha256 | Self::RsaPssSha256 => {
                Some(HashAlgorithm::Sha256)
            }
            Self::EcdsaP384Sha384 | Self::RsaPkcs1Sha384 | Self::RsaPssSha384 => {
                Some(HashAlgorithm::Sha384)
            }
        }
    }

    /// The DER contents of the public key's `AlgorithmIdentifier` (rustls-pki-types form).
    pub fn public_key_alg_id(self) -> AlgorithmIdentifier {
        self.key_type().public_key_alg_id()
    }

    /// The DER contents of the signature's `AlgorithmIdentifier` (rustls-pki-types form,
    /// including the RSASSA-PSS parameters).
    pub fn signature_alg_id(self) -> AlgorithmIdentifier {
        match self {
            Self::Ed25519 => alg_id::ED25519,
            Self::EcdsaP256Sha256 => alg_id::ECDSA_SHA256,
            Self::EcdsaP384Sha384 => alg_id::ECDSA_SHA384,
            Self::RsaPkcs1Sha256 => alg_id::RSA_PKCS1_SHA256,
            Self::RsaPkcs1Sha384 => alg_id::RSA_PKCS1_SHA384,
            Self::RsaPssSha256 => alg_id::RSA_PSS_SHA256,
            Self::RsaPssSha384 => alg_id::RSA_PSS_SHA384,
        }
    }
}

/// A hash function (FIPS 180-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The algorithm OID (NIST `id-sha*`).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// The digest length in octets.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// HMAC (RFC 2104) with a SHA-2 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HmacAlgorithm {
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-384.
    Sha384,
    /// HMAC-SHA-512.
    Sha512,
}

impl HmacAlgorithm {
    /// The algorithm OID (RFC 8018 `id-hmacWithSHA*`).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => oid::HMAC_SHA256,
            Self::Sha384 => oid::HMAC_SHA384,
            Self::Sha512 => oid::HMAC_SHA512,
        }
    }

    /// The underlying hash.
    pub const fn hash(self) -> HashAlgorithm {
        match self {
            Self::Sha256 => HashAlgorithm::Sha256,
            Self::Sha384 => HashAlgorithm::Sha384,
            Self::Sha512 => HashAlgorithm::Sha512,
        }
    }

    /// The (untruncated) tag length in octets.
    pub const fn tag_len(self) -> usize {
        self.hash().output_len()
    }
}

/// HKDF (RFC 5869) with a SHA-2 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HkdfAlgorithm {
    /// HKDF-SHA-256.
    Sha256,
    /// HKDF-SHA-384.
    Sha384,
}

impl HkdfAlgorithm {
    /// The algorithm OID (RFC 8619 `id-alg-hkdf-with-sha*`).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => oid::HKDF_SHA256,
            Self::Sha384 => oid::HKDF_SHA384,
        }
    }

    /// The underlying hash.
    pub const fn hash(self) -> HashAlgorithm {
        match self {
            Self::Sha256 => HashAlgorithm::Sha256,
            Self::Sha384 => HashAlgorithm::Sha384,
        }
    }

    /// The longest output `expand` can produce: 255 × the hash length.
    pub const fn max_output_len(self) -> usize {
        255 * self.hash().output_len()
    }
}

/// An AEAD cipher with a 96-bit nonce and a 128-bit tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// AES-128-GCM (NIST SP 800-38D).
    Aes128Gcm,
    /// AES-256-GCM (NIST SP 800-38D).
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// The algorithm OID (NIST `id-aes*-GCM`, RFC 8103 `id-alg-AEADChaCha20Poly1305`).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes128Gcm => oid::AES128_GCM,
            Self::Aes256Gcm => oid::AES256_GCM,
            Self::ChaCha20Poly1305 => oid::CHACHA20_POLY1305,
        }
    }

    /// The key length in octets.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }
}

/// A key-exchange group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyExchangeAlgorithm {
    /// X25519 (RFC 7748).
    X25519,
}

impl KeyExchangeAlgorithm {
    /// The algorithm OID (RFC 8410 `id-X25519`).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::X25519 => oid::X25519,
        }
    }

    /// The public key length in octets.
    pub const fn public_key_len(self) -> usize {
        match self {
            Self::X25519 => 32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut values = vec![arcs[0] * 40 + arcs[1]];
        values.extend_from_slice(&arcs[2..]);
        let mut out = Vec::new();
        for mut v in values {
            let mut chunk = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                chunk.insert(0, (v & 0x7f) as u8 | 0x80);
                v >>= 7;
            }
            out.extend(chunk);
        }
        out
    }

    #[test]
    fn oid_contents_match_dotted_form() {
        for oid in oid::ALL {
            assert_eq!(encode(oid.as_dotted()), oid.as_der_contents(), "{oid}");
        }
    }

    #[test]
    fn pki_types_alg_ids_contain_our_oids() {
        for alg in SignatureAlgorithm::ALL {
            let id = alg.signature_alg_id();
            let oid = alg.oid().as_der_contents();
            assert_eq!(&id.as_ref()[2..2 + oid.len()], oid, "{alg:?}");
            let pk = alg.public_key_alg_id();
            let koid = alg.key_type().algorithm_oid().as_der_contents();
            assert_eq!(&pk.as_ref()[2..2 + koid.len()], koid, "{alg:?}");
        }
    }
}
