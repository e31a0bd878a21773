//! Our own certificate and private key ([`Identity`]), for certificate-based authentication.

use std::fmt;
use std::path::Path;

use guls_acse::{ApTitle, DistinguishedName};
use guls_crypto::rustls_pki_types::CertificateDer;
use guls_crypto::{CryptoProvider, KeyType, Pkcs8Der, SigningKey};
use zeroize::Zeroizing;

use crate::certs::{
    CertError, MAX_CHAIN_LEN, certificates_from_pem_or_der, key_type_of_spki, parse_certificate,
    pkcs8_from_pem_or_der, read_file,
};
use crate::names::{dn_from_x509, format_dn};

/// Our certification path (end-entity certificate first, then the intermediates to send) and
/// the matching PKCS #8 private key.
///
/// `Debug` shows the subject, the key type and the path length, never the key. The key octets
/// are zeroized on drop.
#[derive(Clone)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Pkcs8Der,
    key_type: KeyType,
    public_key: Vec<u8>,
    subject: DistinguishedName,
    subject_text: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.subject_text)
            .field("key_type", &self.key_type)
            .field("certificates", &self.chain.len())
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

impl Identity {
    /// Checks that `chain` is 1 to [`MAX_CHAIN_LEN`] parseable certificates and that the key's
    /// type is the end-entity certificate's. (Whether the key is *the* certificate's key is
    /// checked by [`Self::signing_key`], which needs a provider.)
    pub fn new(chain: Vec<CertificateDer<'static>>, key: Pkcs8Der) -> Result<Self, CertError> {
        if chain.is_empty() {
            return Err(CertError::EmptyChain);
        }
        if chain.len() > MAX_CHAIN_LEN {
            return Err(CertError::ChainTooLong {
                len: chain.len(),
                max: MAX_CHAIN_LEN,
            });
        }
        for c in &chain[1..] {
            parse_certificate(c)?;
        }
        let ee = parse_certificate(&chain[0])?;
        let cert_type = key_type_of_spki(ee.public_key()).ok_or_else(|| {
            CertError::AlgorithmNotAccepted(format!(
                "certificate key algorithm {} is not supported",
                ee.public_key().algorithm.algorithm.to_id_string()
            ))
        })?;
        let key_type = key
            .key_type()
            .map_err(|e| CertError::PrivateKey(e.to_string()))?;
        if key_type != cert_type {
            return Err(CertError::PrivateKey(format!(
                "the key is {key_type:?} but the certificate's key is {cert_type:?}"
            )));
        }
        let subject = dn_from_x509(ee.subject()).map_err(CertError::Malformed)?;
        let public_key = ee.public_key().subject_public_key.data.to_vec();
        drop(ee);
        Ok(Identity {
            subject_text: format_dn(&subject),
            subject,
            chain,
            key,
            key_type,
            public_key,
        })
    }

    /// From a certificate file's contents (PEM or DER, end entity first) and a PKCS #8 key's
    /// (PEM or DER).
    pub fn from_pem_or_der(chain: &[u8], key: &[u8]) -> Result<Self, CertError> {
        Self::new(
            certificates_from_pem_or_der(chain)?,
            pkcs8_from_pem_or_der(key)?,
        )
    }

    /// From a certificate (chain) file and a private key file.
    pub fn load(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, CertError> {
        let chain = read_file(cert.as_ref())?;
        let key_data = Zeroizing::new(read_file(key.as_ref())?);
        Self::from_pem_or_der(&chain, &key_data).map_err(|e| match e {
            CertError::PrivateKey(m) => {
                CertError::PrivateKey(format!("{}: {m}", key.as_ref().display()))
            }
            other => other,
        })
    }

    /// The certification path to send: end-entity certificate first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The end-entity certificate (DER).
    pub fn certificate_der(&self) -> &[u8] {
        &self.chain[0]
    }

    /// The subject as text ([`crate::format_dn`]).
    pub fn subject(&self) -> &str {
        &self.subject_text
    }

    /// The subject.
    pub fn subject_name(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The form 1 AP-title equal to the certificate's subject (what a peer binds to it).
    pub fn ap_title(&self) -> ApTitle {
        ApTitle::Form1(self.subject.clone())
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Loads the private key with the provider's key loader, and checks that its public key
    /// is the certificate's ([`CertError::PrivateKey`] otherwise).
    pub fn signing_key(&self, provider: &CryptoProvider) -> Result<Box<dyn SigningKey>, CertError> {
        let key = provider
            .key_provider
            .load_private_key(self.key.as_bytes())
            .map_err(|e| CertError::PrivateKey(e.to_string()))?;
        if key.public_key() != self.public_key.as_slice() {
            return Err(CertError::PrivateKey(
                "the private key does not belong to the certificate".into(),
            ));
        }
        Ok(key)
    }
}
