//! Not part of the API: what this crate reads from certificates, with guls-ber as
//! [`crate::TrustStore::verify_path`] reads it, and with x509-parser as it read it before, in
//! one comparable form, so that the differential tests and the fuzz target can hold the one
//! to the other.

use guls_acse::DistinguishedName;
use guls_crypto::KeyType;

use crate::cert_read::read_structure;
use crate::certs::{CertError, parse_certificate};
use crate::trust::EeFacts;

/// What is read from an end-entity certificate, each piece with its error's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndEntityReading {
    /// The key type, or the key algorithm's OID when it is none this project signs with.
    pub key_type: Result<KeyType, String>,
    /// keyUsage: absent, or whether it asserts digitalSignature.
    pub key_usage: Result<Option<bool>, String>,
    /// Whether extendedKeyUsage is present.
    pub eku_present: Result<bool, String>,
    /// The subject, subjectAltName directoryNames and key.
    pub certificate: Result<CertificateReading, String>,
}

/// The part of [`EndEntityReading`] a validated certificate keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateReading {
    /// The subject.
    pub subject: DistinguishedName,
    /// The subject as [`crate::format_dn`] writes it.
    pub subject_text: String,
    /// The subject in DER ([`DistinguishedName::to_der`]).
    pub subject_der: Vec<u8>,
    /// The directoryName entries of subjectAltName.
    pub alt_directory_names: Vec<DistinguishedName>,
    /// The subjectPublicKey BIT STRING's contents after the unused-bits octet.
    pub public_key: Vec<u8>,
    /// The DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

impl From<EeFacts> for EndEntityReading {
    fn from(f: EeFacts) -> Self {
        EndEntityReading {
            key_type: f.key_type,
            key_usage: f.key_usage,
            eku_present: f.eku_present,
            certificate: f.certificate.map(|c| CertificateReading {
                subject: c.subject.name.clone(),
                subject_text: c.subject.text().to_owned(),
                subject_der: c.subject.der.clone(),
                alt_directory_names: c.alt_directory_names.clone(),
                public_key: c.public_key.clone(),
                spki_der: c.spki_der.clone(),
            }),
        }
    }
}

/// An end-entity certificate read as [`crate::TrustStore::verify_path`] reads it (guls-ber).
pub fn read_end_entity(der: &[u8]) -> Result<EndEntityReading, CertError> {
    EeFacts::read(der).map(Into::into)
}

/// An end-entity certificate read as before, with x509-parser.
pub fn read_end_entity_x509(der: &[u8]) -> Result<EndEntityReading, CertError> {
    EeFacts::read_x509(der).map(Into::into)
}

/// The structure check every certificate of a path passes first (guls-ber).
pub fn check_structure(der: &[u8]) -> Result<(), CertError> {
    read_structure(der).map(drop)
}

/// The check every certificate of a path passed first before: x509-parser's parse.
pub fn check_structure_x509(der: &[u8]) -> Result<(), CertError> {
    parse_certificate(der).map(drop)
}
