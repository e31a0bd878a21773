//! The one thing this crate reads from a certificate itself: its subject (for the local name).
//! Everything else about certificates is the [`crate::PeerVerifier`]'s.

use guls_ber::{DecodeResult, ErrorKind, Reader, Tag};

/// The DER `Name` of a certificate's subject.
pub fn subject_der(cert_der: &[u8]) -> DecodeResult<Vec<u8>> {
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
    Ok(t.read_tagged(Tag::SEQUENCE, "subject")?.raw.to_vec())
}
