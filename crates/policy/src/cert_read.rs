//! Reading a certificate's structure, and what [`crate::TrustStore::verify_path`] needs of an
//! end-entity certificate, straight from its DER with guls-ber (no copy of the certificate's
//! fields, no allocation but the values kept).
//!
//! # Two levels
//!
//! [`read_structure`] is what every certificate of a path must pass before anything else is
//! checked (a failure is [`CertError::Truncated`], [`CertError::TooLarge`] or
//! [`CertError::Malformed`] at once, as x509-parser's parse of the whole certificate was):
//! the envelope ([`check_der_envelope`]), then `Certificate ::= SEQUENCE { tbsCertificate,
//! signatureAlgorithm, signature }` and every field of `tbsCertificate` with the tag, form and
//! definite length x509-parser required of it, including the inside of the
//! `SubjectPublicKeyInfo` and the envelope of each extension (`SEQUENCE { OID, BOOLEAN
//! OPTIONAL, OCTET STRING }`). The contents of the fields nobody here reads (serial number,
//! times, issuer name, unique identifiers, signature) are rustls-webpki's to check, as they
//! were.
//!
//! The pieces of an end entity ([`subject`], [`key_type`], [`Extensions`]) are each read when
//! asked, with their own error, strictly: definite lengths only, nothing after the last field
//! of any element read, a BOOLEAN critical flag `00` or `FF`, each of keyUsage,
//! extendedKeyUsage and subjectAltName at most once, extensions only in a version 3
//! certificate. Where x509-parser silently skipped what it could not read (octets after the
//! fields of a name, an RDN or an attribute, after a SubjectPublicKeyInfo's key or an
//! extension's value, a subjectAltName directoryName that is no name), the piece is an error
//! here; nothing x509-parser refused is accepted.

use guls_acse::{AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName};
use guls_ber::{Class, DecodeError, Element, Layer, Oid, Reader, Tag, Writer};
use guls_crypto::KeyType;

use crate::certs::{CertError, check_der_envelope};

/// The layer named in guls-ber's errors (a certificate is an application value).
const LAYER: Layer = Layer::Application;

/// id-ce-keyUsage 2.5.29.15, id-ce-subjectAltName 2.5.29.17, id-ce-extKeyUsage 2.5.29.37:
/// the contents octets of their OIDs.
const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];

/// A piece's error: a message for [`CertError::Malformed`].
pub(crate) type Piece<T> = Result<T, String>;

/// What [`read_structure`] found where it lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Structure<'a> {
    /// Whether `tbsCertificate` says version 3 (`[0] INTEGER 2`).
    v3: bool,
    /// The subject `Name` (a SEQUENCE, its inside not yet read).
    subject: Element<'a>,
    /// The SubjectPublicKeyInfo.
    spki: Spki<'a>,
    /// The `Extensions` SEQUENCE inside `[3]`, when present (each extension's envelope read).
    extensions: Option<Element<'a>>,
}

/// A SubjectPublicKeyInfo as [`read_structure`] found it.
#[derive(Debug, Clone, Copy)]
struct Spki<'a> {
    /// The whole SEQUENCE (identifier to last octet).
    raw: &'a [u8],
    /// The algorithm OID's contents octets.
    algorithm: &'a [u8],
    /// The algorithm's parameters, when present.
    parameters: Option<Element<'a>>,
    /// The subjectPublicKey BIT STRING's contents (the unused-bits octet first).
    key: &'a [u8],
    /// Whether octets follow the parameters inside the AlgorithmIdentifier, or the key inside
    /// the SubjectPublicKeyInfo.
    trailing: bool,
}

/// A guls-ber error as a piece's message.
fn ber(what: &str, e: DecodeError) -> String {
    format!("{what}: {} (offset {})", e.kind, e.offset)
}

/// The next element, of any tag, with a definite length.
fn next<'a>(r: &mut Reader<'a>, what: &'static str) -> Piece<Element<'a>> {
    let e = r.read().map_err(|e| ber(what, e))?;
    definite(e, what)
}

/// The next element, which must have tag `tag` (class, form and number) and a definite length.
fn expect<'a>(r: &mut Reader<'a>, tag: Tag, what: &'static str) -> Piece<Element<'a>> {
    let e = r.read_tagged(tag, what).map_err(|e| ber(what, e))?;
    definite(e, what)
}

/// The next element when it has tag `tag` (class and number; the form is checked), with a
/// definite length.
fn optional<'a>(r: &mut Reader<'a>, tag: Tag, what: &'static str) -> Piece<Option<Element<'a>>> {
    match r.read_optional(tag).map_err(|e| ber(what, e))? {
        None => Ok(None),
        Some(e) if e.tag.constructed != tag.constructed => {
            Err(format!("{what}: expected {tag}, found {}", e.tag))
        }
        Some(e) => definite(e, what).map(Some),
    }
}

fn definite<'a>(e: Element<'a>, what: &'static str) -> Piece<Element<'a>> {
    if e.indefinite {
        return Err(format!(
            "{what}: indefinite length (not DER) at offset {}",
            e.offset
        ));
    }
    Ok(e)
}

/// A reader over a constructed element's contents.
fn inside<'a>(e: &Element<'a>, what: &'static str) -> Piece<Reader<'a>> {
    e.reader().map_err(|err| ber(what, err))
}

/// Fails when octets remain in `r`.
fn end(r: &Reader<'_>, what: &'static str) -> Piece<()> {
    r.finish(what).map_err(|e| ber(what, e))
}

/// A primitive BIT STRING's contents as DER wants them (X.690 10.2, 11.2): at least the
/// unused-bits octet, none unused in an empty string, the unused bits zero.
fn der_bits(e: &Element<'_>, what: &'static str) -> Piece<()> {
    match e.contents {
        [] => Err(format!("{what}: empty BIT STRING")),
        [unused] if *unused != 0 => Err(format!("{what}: unused bits in an empty BIT STRING")),
        [unused, .., last] if last.trailing_zeros() < u32::from(*unused) => {
            Err(format!("{what}: unused bits of a BIT STRING not zero"))
        }
        _ => Ok(()),
    }
}

/// An `AlgorithmIdentifier ::= SEQUENCE { OID, parameters ANY OPTIONAL }`: the OID's contents,
/// the parameters, and whether octets follow them.
fn algorithm_identifier<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
) -> Piece<(&'a [u8], Option<Element<'a>>, bool)> {
    let seq = expect(r, Tag::SEQUENCE, what)?;
    let mut a = inside(&seq, what)?;
    let oid = expect(&mut a, Tag::OID, "algorithm OBJECT IDENTIFIER")?;
    let parameters = if a.is_empty() {
        None
    } else {
        Some(next(&mut a, "algorithm parameters")?)
    };
    Ok((oid.contents, parameters, !a.is_empty()))
}

/// Checks one certificate's structure (see the module documentation) and returns where its
/// subject, key and extensions lie.
pub(crate) fn read_structure(der: &[u8]) -> Result<Structure<'_>, CertError> {
    check_der_envelope(der)?;
    structure(der).map_err(CertError::Malformed)
}

fn structure(der: &[u8]) -> Piece<Structure<'_>> {
    let mut outer = Reader::new(der, LAYER);
    let certificate = expect(&mut outer, Tag::SEQUENCE, "Certificate")?;
    let mut c = inside(&certificate, "Certificate")?;
    let tbs = expect(&mut c, Tag::SEQUENCE, "tbsCertificate")?;
    algorithm_identifier(&mut c, "signatureAlgorithm")?;
    der_bits(&expect(&mut c, Tag::BIT_STRING, "signature")?, "signature")?;
    // Octets after the signature are rustls-webpki's to refuse (x509-parser ignored them).

    let mut t = inside(&tbs, "tbsCertificate")?;
    let mut v3 = false;
    if let Some(version) = optional(&mut t, Tag::context(0).constructed(), "version")? {
        let mut v = inside(&version, "version")?;
        let n = expect(&mut v, Tag::INTEGER, "version INTEGER")?;
        v3 = n.contents == [2];
    }
    expect(&mut t, Tag::INTEGER, "serialNumber")?;
    algorithm_identifier(&mut t, "signature")?;
    expect(&mut t, Tag::SEQUENCE, "issuer")?;
    let validity = expect(&mut t, Tag::SEQUENCE, "validity")?;
    let mut v = inside(&validity, "validity")?;
    for what in ["notBefore", "notAfter"] {
        let time = next(&mut v, "validity time")?;
        if time.tag != Tag::universal(23) && time.tag != Tag::universal(24) {
            return Err(format!(
                "{what}: expected UTCTime or GeneralizedTime, found {}",
                time.tag
            ));
        }
    }
    let subject = expect(&mut t, Tag::SEQUENCE, "subject")?;

    let spki_element = expect(&mut t, Tag::SEQUENCE, "subjectPublicKeyInfo")?;
    let mut s = inside(&spki_element, "subjectPublicKeyInfo")?;
    let (algorithm, parameters, alg_trailing) =
        algorithm_identifier(&mut s, "subjectPublicKeyInfo algorithm")?;
    let key = expect(&mut s, Tag::BIT_STRING, "subjectPublicKey")?;
    der_bits(&key, "subjectPublicKey")?;
    let spki = Spki {
        raw: spki_element.raw,
        algorithm,
        parameters,
        key: key.contents,
        trailing: alg_trailing || !s.is_empty(),
    };

    for (n, what) in [(1, "issuerUniqueID"), (2, "subjectUniqueID")] {
        if let Some(id) = optional(&mut t, Tag::context(n), what)? {
            der_bits(&id, what)?;
        }
    }
    let extensions = if t.is_empty() {
        None
    } else {
        let tagged = expect(&mut t, Tag::context(3).constructed(), "extensions")?;
        end(&t, "tbsCertificate")?;
        let mut x = inside(&tagged, "extensions")?;
        let list = expect(&mut x, Tag::SEQUENCE, "Extensions")?;
        end(&x, "extensions")?;
        let mut l = inside(&list, "Extensions")?;
        while !l.is_empty() {
            extension(&mut l)?;
        }
        Some(list)
    };
    Ok(Structure {
        v3,
        subject,
        spki,
        extensions,
    })
}

/// One `Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET
/// STRING }`: its OID's contents, the critical flag's contents (when present), its value,
/// and whether octets follow the value.
struct Extension<'a> {
    id: &'a [u8],
    critical: Option<&'a [u8]>,
    value: &'a [u8],
    trailing: bool,
}

fn extension<'a>(r: &mut Reader<'a>) -> Piece<Extension<'a>> {
    let seq = expect(r, Tag::SEQUENCE, "Extension")?;
    let mut f = inside(&seq, "Extension")?;
    let id = expect(&mut f, Tag::OID, "extnID")?;
    let critical = match optional(&mut f, Tag::BOOLEAN, "critical")? {
        Some(b) if b.contents.len() != 1 => return Err("critical: not one octet".into()),
        b => b.map(|b| b.contents),
    };
    let value = expect(&mut f, Tag::OCTET_STRING, "extnValue")?;
    Ok(Extension {
        id: id.contents,
        critical,
        value: value.contents,
        trailing: !f.is_empty(),
    })
}

impl<'a> Structure<'a> {
    /// The subject name ([`name`]).
    pub(crate) fn subject(&self) -> Piece<DistinguishedName> {
        name(&self.subject, "subject")
    }

    /// The key type, or the algorithm OID (dotted) when it is none this project signs with.
    /// Decided as before: the algorithm OID's octets, and for EC keys a parameter whose tag
    /// number is that of OBJECT IDENTIFIER with the named curve's octets.
    pub(crate) fn key_type(&self) -> Result<KeyType, String> {
        let spki = &self.spki;
        for kt in [
            KeyType::Ed25519,
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Rsa,
        ] {
            if spki.algorithm != kt.algorithm_oid().as_der_contents() {
                continue;
            }
            match kt.curve_oid() {
                None => return Ok(kt),
                Some(curve) => {
                    let Some(p) = spki.parameters else { break };
                    if p.tag.number == Tag::OID.number && p.contents == curve.as_der_contents() {
                        return Ok(kt);
                    }
                }
            }
        }
        Err(match Oid::from_content(spki.algorithm) {
            Ok(oid) => oid.to_string(),
            Err(_) => guls_ber::to_hex(spki.algorithm),
        })
    }

    /// The DER SubjectPublicKeyInfo and the subjectPublicKey BIT STRING's contents after the
    /// unused-bits octet; nothing may follow the key or the algorithm's parameters.
    pub(crate) fn public_key(&self) -> Piece<(&'a [u8], &'a [u8])> {
        if self.spki.trailing {
            return Err("subjectPublicKeyInfo: octets after its fields".into());
        }
        Ok((self.spki.raw, &self.spki.key[1..]))
    }

    /// The values of the extensions read here (strictly: see [`Extensions`]).
    pub(crate) fn extensions(&self) -> Extensions<'a> {
        let mut out = Extensions {
            key_usage: Ok(None),
            ext_key_usage: Ok(None),
            subject_alt_name: Ok(None),
        };
        let Some(list) = self.extensions else {
            return out;
        };
        if !self.v3 {
            let e = || Err("extensions in a certificate that is not version 3".to_string());
            out.key_usage = e();
            out.ext_key_usage = e();
            out.subject_alt_name = e();
            return out;
        }
        // The envelopes were read by `read_structure`: no error here.
        let Ok(mut l) = list.reader() else {
            return out;
        };
        while let Ok(x) = extension(&mut l) {
            let slot = match x.id {
                KEY_USAGE => &mut out.key_usage,
                EXT_KEY_USAGE => &mut out.ext_key_usage,
                SUBJECT_ALT_NAME => &mut out.subject_alt_name,
                _ => continue,
            };
            *slot = match &*slot {
                Err(_) => continue,
                Ok(Some(_)) => Err("extension present twice".into()),
                Ok(None) if x.trailing => Err("extension: octets after extnValue".into()),
                Ok(None) => match x.critical {
                    None | Some([0x00] | [0xff]) => Ok(Some(x.value)),
                    Some(_) => Err("critical: a BOOLEAN neither 00 nor FF (not DER)".into()),
                },
            };
        }
        out
    }
}

/// The values (extnValue contents) of the extensions [`crate::TrustStore::verify_path`]
/// reads, each `None` when absent, or the error of its envelope (twice present, octets after
/// the value, a critical flag not DER, extensions in a certificate before version 3).
#[derive(Debug)]
pub(crate) struct Extensions<'a> {
    key_usage: Piece<Option<&'a [u8]>>,
    ext_key_usage: Piece<Option<&'a [u8]>>,
    subject_alt_name: Piece<Option<&'a [u8]>>,
}

impl Extensions<'_> {
    /// keyUsage: absent, or whether it asserts digitalSignature (bit 0). Its value is one
    /// DER BIT STRING.
    pub(crate) fn key_usage(&self) -> Piece<Option<bool>> {
        let Some(value) = self.key_usage.clone()? else {
            return Ok(None);
        };
        let mut r = Reader::new(value, LAYER);
        let bits = expect(&mut r, Tag::BIT_STRING, "keyUsage")?;
        end(&r, "keyUsage")?;
        der_bits(&bits, "keyUsage")?;
        if bits.contents[0] > 7 {
            return Err("keyUsage: more than 7 unused bits".into());
        }
        Ok(Some(bits.contents.get(1).is_some_and(|b| b & 0x80 != 0)))
    }

    /// Whether extendedKeyUsage is present. Its value is one `SEQUENCE OF KeyPurposeId`
    /// (OBJECT IDENTIFIERs).
    pub(crate) fn ext_key_usage_present(&self) -> Piece<bool> {
        let Some(value) = self.ext_key_usage.clone()? else {
            return Ok(false);
        };
        let mut r = Reader::new(value, LAYER);
        let seq = expect(&mut r, Tag::SEQUENCE, "extendedKeyUsage")?;
        end(&r, "extendedKeyUsage")?;
        let mut s = inside(&seq, "extendedKeyUsage")?;
        while !s.is_empty() {
            expect(&mut s, Tag::OID, "KeyPurposeId")?;
        }
        Ok(true)
    }

    /// The directoryName entries of subjectAltName (none when it is absent). Its value is one
    /// `SEQUENCE OF GeneralName`, each context-specific; a directoryName (`[4]`) holds exactly
    /// one name ([`name`]); the other forms are not read.
    pub(crate) fn alt_directory_names(&self) -> Piece<Vec<DistinguishedName>> {
        let mut out = Vec::new();
        let Some(value) = self.subject_alt_name.clone()? else {
            return Ok(out);
        };
        let mut r = Reader::new(value, LAYER);
        let seq = expect(&mut r, Tag::SEQUENCE, "subjectAltName")?;
        end(&r, "subjectAltName")?;
        let mut s = inside(&seq, "subjectAltName")?;
        while !s.is_empty() {
            let g = next(&mut s, "GeneralName")?;
            if g.tag.class != Class::Context {
                return Err(format!(
                    "GeneralName: expected a context tag, found {}",
                    g.tag
                ));
            }
            if g.tag.number != 4 {
                continue;
            }
            let mut d = inside(&g, "directoryName")?;
            let n = expect(&mut d, Tag::SEQUENCE, "directoryName Name")?;
            end(&d, "directoryName")?;
            out.push(name(&n, "directoryName")?);
        }
        Ok(out)
    }
}

/// A `Name` (`RDNSequence`, the SEQUENCE `e`) as [`DistinguishedName`]: each RDN a SET of
/// one `AttributeTypeAndValue` at least, each of those exactly `SEQUENCE { OID, value }`, the
/// attribute type a valid OID, each value one element of any tag kept as its tag and contents
/// re-encoded with a minimal length (as x509-parser's reading was converted before).
pub(crate) fn name(e: &Element<'_>, what: &'static str) -> Piece<DistinguishedName> {
    let mut r = inside(e, what)?;
    let mut rdns = Vec::new();
    while !r.is_empty() {
        let set = expect(&mut r, Tag::SET, "RelativeDistinguishedName")?;
        let mut s = inside(&set, "RelativeDistinguishedName")?;
        if s.is_empty() {
            return Err(format!("{what}: empty RelativeDistinguishedName"));
        }
        let mut avas = Vec::new();
        while !s.is_empty() {
            let atv = expect(&mut s, Tag::SEQUENCE, "AttributeTypeAndValue")?;
            let mut a = inside(&atv, "AttributeTypeAndValue")?;
            let t = expect(&mut a, Tag::OID, "attribute type")?;
            let v = next(&mut a, "attribute value")?;
            end(&a, "AttributeTypeAndValue")?;
            let attribute_type =
                Oid::from_content(t.contents).map_err(|e| format!("attribute type: {e}"))?;
            let mut w = Writer::new();
            if v.tag.constructed {
                w.constructed_definite(v.tag, |w| w.raw(v.contents));
            } else {
                w.primitive(v.tag, v.contents);
            }
            avas.push(AttributeTypeAndValue {
                attribute_type,
                value: w.into_bytes(),
            });
        }
        rdns.push(RelativeDistinguishedName(avas));
    }
    Ok(DistinguishedName(rdns))
}
