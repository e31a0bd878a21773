//! Reading a certificate's structure, and what [`crate::TrustStore::verify_path`] needs of an
//! end-entity certificate, straight from its DER (no copy of the certificate's fields, no
//! allocation but the values kept): the structure with a small cursor that reads headers as
//! x509-parser read them ([`Cursor`]), the pieces with guls-ber's strict reading
//! ([`guls_ber::Reader`], definite lengths checked).
//!
//! # Two levels
//!
//! [`read_structure`] is what every certificate of a path must pass before anything else is
//! checked (a failure is [`CertError::Truncated`], [`CertError::TooLarge`] or
//! [`CertError::Malformed`] at once): the envelope ([`check_der_envelope`]), then
//! `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }` and the fields
//! of `tbsCertificate` in order, each with a definite length: version, serial number, the
//! AlgorithmIdentifiers, issuer, validity (two DER times), subject, SubjectPublicKeyInfo (an
//! AlgorithmIdentifier and a DER BIT STRING), unique identifiers, and the envelope of each
//! extension (`SEQUENCE { OID, BOOLEAN OPTIONAL, OCTET STRING }`). It refuses what
//! x509-parser's parse of the whole certificate refused, and no more but for times: like
//! x509-parser it looks at tag numbers only (not at class and form; OIDs not even at the
//! number), ignores octets after the last field it reads of a SEQUENCE, and takes the
//! extensions from the `[3]` header to the end of `tbsCertificate`; unlike it, a validity time
//! must be DER (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`), as rustls-webpki wants it of every
//! certificate it uses. The contents of the fields nobody here reads (serial number, issuer
//! name, signature) are rustls-webpki's to check, as they were.
//!
//! The pieces of an end entity ([`Structure::subject`], [`Structure::key_type`],
//! [`Structure::public_key`], [`Extensions`]) are each read when asked, with their own error,
//! strictly: universal tags of the right form, definite lengths only, nothing after the last
//! field of any element read, a BOOLEAN critical flag `00` or `FF`, each of keyUsage,
//! extendedKeyUsage and subjectAltName at most once, extensions only in a version 3
//! certificate and in a `[3]` of the SEQUENCE's length. Where x509-parser read leniently or
//! silently skipped what it could not read (octets after the fields of a name, an RDN or an
//! attribute, an RDN that did not read and everything after it, octets after a
//! SubjectPublicKeyInfo's key or an extension's value, a subjectAltName directoryName that is
//! no name), the piece is an error here. The key type is decided exactly as before (the
//! algorithm OID's octets; for EC keys a parameter with the tag number of an OID and the
//! curve's octets). Nothing x509-parser refused is accepted.

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

/// An algorithm's parameters as [`Cursor::any`] read them: their tag and contents.
type AnyValue<'a> = (Tag, &'a [u8]);

/// What [`read_structure`] found where it lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Structure<'a> {
    /// Whether `tbsCertificate` says version 3 (`[0] INTEGER 2`).
    v3: bool,
    /// The subject `Name` (its inside not yet read).
    subject: Tlv<'a>,
    /// The SubjectPublicKeyInfo.
    spki: Spki<'a>,
    /// Whether `[3]` is as the strict reading wants it (context-specific, constructed, of
    /// the length of the SEQUENCE inside), and the `Extensions` SEQUENCE, when present (each
    /// extension's envelope read).
    extensions: Option<(bool, Tlv<'a>)>,
}

/// A SubjectPublicKeyInfo as [`read_structure`] found it.
#[derive(Debug, Clone, Copy)]
struct Spki<'a> {
    /// The whole SEQUENCE (identifier to last octet).
    raw: &'a [u8],
    /// The algorithm OID's contents octets.
    algorithm: &'a [u8],
    /// The algorithm's parameters (tag and contents), when present.
    parameters: Option<AnyValue<'a>>,
    /// The subjectPublicKey BIT STRING's contents (the unused-bits octet first).
    key: &'a [u8],
    /// Whether it is as the strict reading wants it: universal SEQUENCEs, OID and BIT
    /// STRING, nothing after the parameters or the key.
    strict: bool,
}

/// A guls-ber error as a piece's message.
#[cold]
#[inline(never)]
fn ber(what: &str, e: DecodeError) -> String {
    format!("{what}: {} (offset {})", e.kind, e.offset)
}

/// The next element, of any tag, with a definite length.
#[inline]
fn next<'a>(r: &mut Reader<'a>, what: &'static str) -> Piece<Element<'a>> {
    let e = r.read().map_err(|e| ber(what, e))?;
    definite(e, what)
}

/// The next element, which must have tag `tag` (class, form and number) and a definite length.
#[inline]
fn expect<'a>(r: &mut Reader<'a>, tag: Tag, what: &'static str) -> Piece<Element<'a>> {
    let e = r.read_tagged(tag, what).map_err(|e| ber(what, e))?;
    definite(e, what)
}

#[inline]
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
#[inline]
fn inside<'a>(e: &Element<'a>, what: &'static str) -> Piece<Reader<'a>> {
    e.reader().map_err(|err| ber(what, err))
}

/// Fails when octets remain in `r`.
#[inline]
fn end(r: &Reader<'_>, what: &'static str) -> Piece<()> {
    r.finish(what).map_err(|e| ber(what, e))
}

/// A primitive BIT STRING's contents as DER wants them (X.690 10.2, 11.2): at least the
/// unused-bits octet, none unused in an empty string, the unused bits zero.
fn der_bits(contents: &[u8], what: &'static str) -> Piece<()> {
    match contents {
        [] => Err(format!("{what}: empty BIT STRING")),
        [unused] if *unused != 0 => Err(format!("{what}: unused bits in an empty BIT STRING")),
        [unused, .., last] if last.trailing_zeros() < u32::from(*unused) => {
            Err(format!("{what}: unused bits of a BIT STRING not zero"))
        }
        _ => Ok(()),
    }
}

/// One element as the structure check reads it (see [`Cursor`]).
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: Tag,
    contents: &'a [u8],
    /// Identifier to last octet.
    raw: &'a [u8],
    /// Where it starts in the certificate.
    offset: usize,
}

impl<'a> Tlv<'a> {
    /// Itself if its tag number is `number` (x509-parser compared tag numbers only).
    #[inline]
    fn of_number(self, number: u32, what: &'static str) -> Piece<Tlv<'a>> {
        if self.tag.number != number {
            return Err(format!(
                "{what}: expected tag number {number}, found {} at offset {}",
                self.tag, self.offset
            ));
        }
        Ok(self)
    }

    /// A cursor over its contents, whatever its form (x509-parser did not look at it).
    #[inline]
    fn within(&self) -> Cursor<'a> {
        Cursor {
            data: self.contents,
            base: self.offset + (self.raw.len() - self.contents.len()),
        }
    }
}

/// A cursor over DER elements read as x509-parser read a certificate's structure:
/// identifiers of up to six octets (the number kept in 32 bits; `[UNIVERSAL 0]` too, which
/// guls-ber reads as end-of-contents octets), definite lengths in the short or long form
/// (not necessarily minimal), tag numbers compared without class and form.
#[derive(Debug, Clone, Copy)]
struct Cursor<'a> {
    data: &'a [u8],
    /// Where `data` starts in the certificate (for messages).
    base: usize,
}

impl<'a> Cursor<'a> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next element, of any tag.
    #[inline]
    fn any(&mut self, what: &'static str) -> Piece<Tlv<'a>> {
        let (tag, i, len) = self.header(what)?;
        let d = self.data;
        let end = i
            .checked_add(len)
            .filter(|&e| e <= d.len())
            .ok_or_else(|| format!("{what}: truncated at offset {}", self.base))?;
        let tlv = Tlv {
            tag,
            contents: &d[i..end],
            raw: &d[..end],
            offset: self.base,
        };
        self.data = &d[end..];
        self.base += end;
        Ok(tlv)
    }

    /// The next element's tag, header length and contents length (the contents may not be
    /// there).
    #[inline]
    fn header(&self, what: &'static str) -> Piece<(Tag, usize, usize)> {
        let d = self.data;
        let bad = || format!("{what}: not one definite element at offset {}", self.base);
        let &first = d.first().ok_or_else(bad)?;
        let mut number = u32::from(first & 0x1f);
        let mut i = 1;
        if number == 0x1f {
            number = 0;
            loop {
                if i > 5 {
                    return Err(bad());
                }
                let &b = d.get(i).ok_or_else(bad)?;
                number = (number << 7) | u32::from(b & 0x7f);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let &l = d.get(i).ok_or_else(bad)?;
        i += 1;
        let len = match l {
            0..=0x7f => usize::from(l),
            0x80 | 0xff => return Err(bad()),
            _ => {
                let n = usize::from(l & 0x7f);
                let octets = d.get(i..i + n).filter(|_| n <= 8).ok_or_else(bad)?;
                i += n;
                let len = octets.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
                usize::try_from(len).map_err(|_| bad())?
            }
        };
        let tag = Tag {
            class: match first >> 6 {
                0 => Class::Universal,
                1 => Class::Application,
                2 => Class::Context,
                _ => Class::Private,
            },
            constructed: first & 0x20 != 0,
            number,
        };
        Ok((tag, i, len))
    }

    /// The tag of the next element, if one reads.
    fn peek(&self) -> Option<Tag> {
        let mut c = *self;
        c.any("").ok().map(|t| t.tag)
    }

    /// The next element, whose tag number must be `number` (x509-parser compared tag numbers
    /// only).
    #[inline]
    fn numbered(&mut self, number: u32, what: &'static str) -> Piece<Tlv<'a>> {
        self.any(what)?.of_number(number, what)
    }

    /// [`Cursor::any`], primitive: what x509-parser took for an OBJECT IDENTIFIER, a BIT
    /// STRING or an OCTET STRING.
    #[inline]
    fn primitive(&mut self, what: &'static str) -> Piece<Tlv<'a>> {
        let e = self.any(what)?;
        if e.tag.constructed {
            return Err(format!("{what}: constructed at offset {}", e.offset));
        }
        Ok(e)
    }

    /// [`Cursor::numbered`], primitive.
    #[inline]
    fn numbered_primitive(&mut self, number: u32, what: &'static str) -> Piece<Tlv<'a>> {
        self.primitive(what)?.of_number(number, what)
    }
}

/// A validity time as DER wants it (X.690 11.7, 11.8; RFC 5280 4.1.2.5): a primitive UTCTime
/// `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`, a month, a day of that month, an
/// hour, a minute and a second that exist (no leap second). As strict as rustls-webpki (but
/// for its refusal of years before 1970, which x509-parser read), so that no time
/// x509-parser refused passes.
fn der_time(e: &Tlv<'_>, what: &'static str) -> Piece<()> {
    let bad = || Err(format!("{what}: not a DER UTCTime or GeneralizedTime"));
    let c = e.contents;
    let (year, rest) = match (e.tag.number, c.len()) {
        _ if e.tag.constructed => return bad(),
        (23, 13) => (None, c),
        (24, 15) => (Some(&c[..2]), &c[2..]),
        _ => return bad(),
    };
    if rest[12] != b'Z' || !c[..c.len() - 1].iter().all(u8::is_ascii_digit) {
        return bad();
    }
    let two = |i: usize| u32::from(rest[i] - b'0') * 10 + u32::from(rest[i + 1] - b'0');
    let year = match year {
        None if two(0) >= 50 => 1900 + two(0),
        None => 2000 + two(0),
        Some(hi) => (u32::from(hi[0] - b'0') * 10 + u32::from(hi[1] - b'0')) * 100 + two(0),
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match two(2) {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return bad(),
    };
    if !(1..=days).contains(&two(4)) || two(6) > 23 || two(8) > 59 || two(10) > 59 {
        return bad();
    }
    Ok(())
}

/// An `AlgorithmIdentifier ::= SEQUENCE { OID, parameters ANY OPTIONAL }` as the structure
/// check reads it: the OID's contents, the parameters, and whether it is as the strict
/// reading wants it (a universal SEQUENCE and OID, nothing after the parameters).
fn algorithm_identifier<'a>(
    r: &mut Cursor<'a>,
    what: &'static str,
) -> Piece<(&'a [u8], Option<Tlv<'a>>, bool)> {
    let seq = r.numbered(16, what)?;
    let mut a = seq.within();
    let oid = a.primitive("algorithm OBJECT IDENTIFIER")?;
    let parameters = if a.is_empty() {
        None
    } else {
        Some(a.any("algorithm parameters")?)
    };
    let strict = seq.tag == Tag::SEQUENCE && oid.tag == Tag::OID && a.is_empty();
    Ok((oid.contents, parameters, strict))
}

/// Checks one certificate's structure (see the module documentation) and returns where its
/// subject, key and extensions lie.
pub(crate) fn read_structure(der: &[u8]) -> Result<Structure<'_>, CertError> {
    check_der_envelope(der)?;
    structure(der).map_err(CertError::Malformed)
}

fn structure(der: &[u8]) -> Piece<Structure<'_>> {
    let mut outer = Cursor { data: der, base: 0 };
    let certificate = outer.numbered(16, "Certificate")?;
    let mut c = certificate.within();
    let tbs = c.numbered(16, "tbsCertificate")?;
    algorithm_identifier(&mut c, "signatureAlgorithm")?;
    der_bits(c.numbered_primitive(3, "signature")?.contents, "signature")?;
    // Octets after the signature are rustls-webpki's to refuse (x509-parser ignored them).

    let mut t = tbs.within();
    let mut v3 = false;
    if t.peek().is_some_and(|tag| tag.same_number(Tag::context(0))) {
        let version = t.any("version")?;
        let n = version.within().numbered_primitive(2, "version INTEGER")?;
        // What x509-parser took for a version: a non-negative INTEGER of 32 bits at most,
        // minimally encoded.
        match n.contents {
            [] => return Err("version: empty INTEGER".into()),
            [0, next, ..] if next & 0x80 == 0 => {
                return Err("version: INTEGER not minimally encoded".into());
            }
            [first, ..] if first & 0x80 != 0 => return Err("version: negative".into()),
            c if c.len() > 5 || (c.len() == 5 && c[0] != 0) => {
                return Err("version: more than 32 bits".into());
            }
            _ => {}
        }
        v3 = n.tag == Tag::INTEGER && n.contents == [2];
    }
    t.numbered(2, "serialNumber")?;
    algorithm_identifier(&mut t, "signature")?;
    t.numbered(16, "issuer")?;
    let mut v = t.numbered(16, "validity")?.within();
    for what in ["notBefore", "notAfter"] {
        der_time(&v.any(what)?, what)?;
    }
    let subject = t.numbered(16, "subject")?;

    let spki_element = t.numbered(16, "subjectPublicKeyInfo")?;
    let mut s = spki_element.within();
    let (algorithm, parameters, alg_strict) =
        algorithm_identifier(&mut s, "subjectPublicKeyInfo algorithm")?;
    let key = s.numbered_primitive(3, "subjectPublicKey")?;
    der_bits(key.contents, "subjectPublicKey")?;
    let spki = Spki {
        raw: spki_element.raw,
        algorithm,
        parameters: parameters.map(|p| (p.tag, p.contents)),
        key: key.contents,
        // The strict reading of the key wants universal SEQUENCEs, an OID and a BIT STRING,
        // and nothing after the last field of each.
        strict: spki_element.tag == Tag::SEQUENCE
            && alg_strict
            && key.tag == Tag::BIT_STRING
            && s.is_empty(),
    };

    for (n, what) in [(1, "issuerUniqueID"), (2, "subjectUniqueID")] {
        if t.peek().is_some_and(|tag| tag.same_number(Tag::context(n))) {
            // x509-parser wanted an unused-bits octet and nothing else of them.
            if t.any(what)?.contents.is_empty() {
                return Err(format!("{what}: empty BIT STRING"));
            }
        }
    }
    let extensions = if t.is_empty() {
        None
    } else {
        // x509-parser read the `[3]` header, and then one SEQUENCE from there to the end of
        // tbsCertificate whatever length the header gave: so here (the strict reading wants
        // them to agree).
        let (tag, header_len, len) = t.header("extensions")?;
        if tag.number != 3 {
            return Err(format!("extensions: expected [3], found {tag}"));
        }
        let mut x = Cursor {
            data: &t.data[header_len..],
            base: t.base + header_len,
        };
        let list = x.numbered(16, "Extensions")?;
        if !x.is_empty() {
            return Err("tbsCertificate: octets after the extensions".into());
        }
        let mut l = list.within();
        while !l.is_empty() {
            extension(&mut l)?;
        }
        let strict = tag == Tag::context(3).constructed()
            && len == list.raw.len()
            && list.tag == Tag::SEQUENCE;
        Some((strict, list))
    };
    Ok(Structure {
        v3,
        subject,
        spki,
        extensions,
    })
}

/// One `Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET
/// STRING }` as the structure check reads it, with what the strict reading of the three
/// extensions read here wants to know.
struct Extension<'a> {
    /// The OID's contents.
    id: &'a [u8],
    /// Universal SEQUENCE, OID and OCTET STRING, a universal BOOLEAN `00` or `FF` when
    /// present, nothing after the value.
    strict: bool,
    /// The value.
    value: &'a [u8],
}

fn extension<'a>(r: &mut Cursor<'a>) -> Piece<Extension<'a>> {
    let seq = r.numbered(16, "Extension")?;
    let mut f = seq.within();
    let id = f.primitive("extnID")?;
    let mut strict = seq.tag == Tag::SEQUENCE && id.tag == Tag::OID;
    if f.peek().map(|t| t.number) == Some(1) {
        let b = f.any("critical")?;
        if b.contents.len() != 1 {
            return Err("critical: not one octet".into());
        }
        strict &= b.tag == Tag::BOOLEAN && matches!(b.contents, [0x00] | [0xff]);
    }
    let value = f.numbered_primitive(4, "extnValue")?;
    strict &= value.tag == Tag::OCTET_STRING && f.is_empty();
    Ok(Extension {
        id: id.contents,
        strict,
        value: value.contents,
    })
}

impl<'a> Structure<'a> {
    /// The subject name ([`name`]).
    pub(crate) fn subject(&self) -> Piece<DistinguishedName> {
        let mut r = Reader::new(self.subject.raw, LAYER).with_base(self.subject.offset);
        name(&expect(&mut r, Tag::SEQUENCE, "subject")?, "subject")
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
                    let Some((tag, contents)) = spki.parameters else {
                        break;
                    };
                    if tag.number == Tag::OID.number && contents == curve.as_der_contents() {
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
        if !self.spki.strict {
            return Err(
                "subjectPublicKeyInfo: not a SEQUENCE of an AlgorithmIdentifier and a BIT STRING and nothing else".into(),
            );
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
        let Some((strict, list)) = self.extensions else {
            return out;
        };
        let envelope = if !self.v3 {
            Err("extensions in a certificate that is not version 3")
        } else if !strict {
            Err("extensions: not [3] EXPLICIT SEQUENCE")
        } else {
            Ok(())
        };
        // The envelopes were read by `read_structure`: no error here.
        let mut l = list.within();
        while let Ok(x) = extension(&mut l) {
            let slot = match x.id {
                KEY_USAGE => &mut out.key_usage,
                EXT_KEY_USAGE => &mut out.ext_key_usage,
                SUBJECT_ALT_NAME => &mut out.subject_alt_name,
                _ => continue,
            };
            *slot = match (&*slot, envelope) {
                (Err(_), _) => continue,
                (_, Err(e)) => Err(e.into()),
                (Ok(Some(_)), _) => Err("extension present twice".into()),
                (Ok(None), _) if !x.strict => Err(
                    "extension: not a SEQUENCE of an OID, a DER BOOLEAN and an OCTET STRING and nothing else"
                        .into(),
                ),
                (Ok(None), _) => Ok(Some(x.value)),
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
        der_bits(bits.contents, "keyUsage")?;
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
