//! The few things this crate reads from a certificate itself: its subject (for the local name)
//! and, before the path is validated, the subject and key it claims (so that a signature can
//! be checked while the path is validated elsewhere; nothing read here is trusted until the
//! [`crate::PeerVerifier`] returns the same). Everything else about certificates is the
//! verifier's.

use guls_ber::{DecodeResult, Element, ErrorKind, Reader, Tag};
use guls_crypto::KeyType;

use crate::verify::VerifiedPeer;

/// The tbsCertificate's reader, positioned at the subject.
fn at_subject(cert_der: &[u8]) -> DecodeResult<Reader<'_>> {
    let cert = crate::credentials::whole(cert_der, "Certificate")?;
    if cert.tag != Tag::SEQUENCE {
        return Err(cert.error(ErrorKind::Unexpected {
            expected: "Certificate SEQUENCE",
            found: cert.tag.to_string(),
        }));
    }
    let mut r: Reader<'_> = cert.reader()?;
    let tbs = r.read_tagged(Tag::SEQUENCE, "tbsCertificate")?;
    let mut t = tbs.reader()?;
    t.read_optional(Tag::context(0))?; // version
    t.read_tagged(Tag::INTEGER, "serialNumber")?;
    t.read_tagged(Tag::SEQUENCE, "signature")?;
    t.read_tagged(Tag::SEQUENCE, "issuer")?;
    t.read_tagged(Tag::SEQUENCE, "validity")?;
    Ok(t)
}

/// The DER `Name` of a certificate's subject.
pub fn subject_der(cert_der: &[u8]) -> DecodeResult<Vec<u8>> {
    Ok(at_subject(cert_der)?
        .read_tagged(Tag::SEQUENCE, "subject")?
        .raw
        .to_vec())
}

/// What an end-entity certificate claims, unvalidated: its subject and its key, as a
/// [`VerifiedPeer`] would give them (nothing here is checked: trust it only when a
/// [`crate::PeerVerifier`] returns the same). `None` when they cannot be read or the key is of
/// a type this project does not sign with.
pub fn claimed_peer(cert_der: &[u8]) -> Option<VerifiedPeer> {
    let mut t = at_subject(cert_der).ok()?;
    let subject = t.read_tagged(Tag::SEQUENCE, "subject").ok()?;
    let spki = t.read_tagged(Tag::SEQUENCE, "subjectPublicKeyInfo").ok()?;
    let mut s = spki.reader().ok()?;
    let algorithm = s.read_tagged(Tag::SEQUENCE, "algorithm").ok()?;
    let key = s.read_tagged(Tag::BIT_STRING, "subjectPublicKey").ok()?;
    s.finish("subjectPublicKeyInfo").ok()?;
    let (unused, public_key) = key.contents.split_first()?;
    if *unused != 0 {
        return None;
    }
    Some(VerifiedPeer {
        subject_dn_der: subject.raw.to_vec(),
        public_key: public_key.to_vec(),
        key_type: key_type(&algorithm)?,
    })
}

/// The key type an SPKI `AlgorithmIdentifier` names (with its curve for ECDSA).
fn key_type(algorithm: &Element<'_>) -> Option<KeyType> {
    let mut a = algorithm.reader().ok()?;
    let oid = a.read_tagged(Tag::OID, "algorithm").ok()?;
    let parameters = if a.is_empty() {
        None
    } else {
        Some(a.read().ok()?)
    };
    a.finish("AlgorithmIdentifier").ok()?;
    [
        KeyType::Ed25519,
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa,
    ]
    .into_iter()
    .find(|kt| {
        oid.contents == kt.algorithm_oid().as_der_contents()
            && match kt.curve_oid() {
                None => true,
                Some(curve) => parameters
                    .as_ref()
                    .is_some_and(|p| p.tag == Tag::OID && p.contents == curve.as_der_contents()),
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for a fresh key of `alg`, with a two-RDN subject.
    fn certificate(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "guls test");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "claimed");
        params.self_signed(&key).unwrap().der().to_vec()
    }

    /// What x509-parser reads, as the test verifier gives it.
    fn x509_reading(der: &[u8]) -> (Vec<u8>, Vec<u8>, String, Option<Vec<u8>>) {
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        let spki = cert.public_key();
        (
            cert.tbs_certificate.subject.as_raw().to_vec(),
            spki.subject_public_key.data.to_vec(),
            spki.algorithm.algorithm.to_id_string(),
            spki.algorithm.parameters.as_ref().map(|p| p.data.to_vec()),
        )
    }

    #[test]
    fn the_claim_is_what_x509_parser_reads() {
        for (alg, key_type, curve) in [
            (&rcgen::PKCS_ED25519, KeyType::Ed25519, None),
            (
                &rcgen::PKCS_ECDSA_P256_SHA256,
                KeyType::EcdsaP256,
                Some("1.2.840.10045.3.1.7"),
            ),
            (
                &rcgen::PKCS_ECDSA_P384_SHA384,
                KeyType::EcdsaP384,
                Some("1.3.132.0.34"),
            ),
        ] {
            let der = certificate(alg);
            let claimed = claimed_peer(&der).expect("a claim");
            let (subject, key, algorithm, parameters) = x509_reading(&der);
            assert_eq!(claimed.subject_dn_der, subject);
            assert_eq!(claimed.subject_dn_der, subject_der(&der).unwrap());
            assert_eq!(claimed.public_key, key);
            assert_eq!(claimed.key_type, key_type);
            assert_eq!(algorithm, key_type.algorithm_oid().to_string());
            assert_eq!(
                parameters.is_some() && curve.is_some(),
                key_type != KeyType::Ed25519
            );
        }
    }

    #[test]
    fn no_claim_from_what_is_not_a_certificate() {
        let der = certificate(&rcgen::PKCS_ED25519);
        // Every truncation, and every octet changed, never panics; a truncation is never a
        // claim.
        for n in 0..der.len() {
            assert!(claimed_peer(&der[..n]).is_none(), "truncated at {n}");
            let mut bad = der.clone();
            bad[n] ^= 0xff;
            let _ = claimed_peer(&bad);
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(claimed_peer(&trailing).is_none());
        assert!(claimed_peer(&[]).is_none());
    }
}
