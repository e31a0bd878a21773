//! AP-title and AE-qualifier (X.227bis), with the Directory names of their form 1.
//!
//! The Directory name codec ([`DistinguishedName`], [`RelativeDistinguishedName`],
//! [`AttributeTypeAndValue`]) is public so that other layers (the X.511 credentials of
//! guls-exchanges, certificates) share it:
//!
//! * [`DistinguishedName::decode`] / [`DistinguishedName::encode`] are what ACSE applies to
//!   AP-titles and AE-qualifiers: lenient ([`NameDecoding::LENIENT`]) and written back as held
//!   (the SET OF members in the order received);
//! * [`DistinguishedName::to_der`] / [`DistinguishedName::encode_der`] write the DER structure
//!   (SET OF members sorted), the form in which names are signed and compared;
//! * [`DistinguishedName::decode_with`] / [`DistinguishedName::decode_contents_with`] apply
//!   bounds and strictness ([`NameDecoding::strict`]), the latter under an implicit tag.

use std::fmt;

use guls_ber::{Class, DecodeResult, Element, ErrorKind, Oid, Tag, Writer};

use crate::codec::small_integer;

/// How a Directory name is decoded: bounds, and how strictly.
///
/// Either way decoding is total (a value or a [`guls_ber::DecodeError`] naming the reader's
/// layer) and accepts any BER length form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameDecoding {
    /// The most RDNs in a name (`LimitExceeded` "RDNs in a name" beyond).
    pub max_rdns: usize,
    /// The most attributes in one RDN (`LimitExceeded` "attributes in an RDN" beyond).
    pub max_attributes: usize,
    /// Strict: an empty RDN is invalid ("empty RDN"; X.501 requires one attribute at least),
    /// and an `AttributeTypeAndValue` ends after its value (trailing components are an
    /// error). Lenient: both are accepted, the components after the value (later X.501
    /// editions' additions) skipped.
    pub strict: bool,
}

impl NameDecoding {
    /// What ACSE applies to AP-titles and AE-qualifiers: no bounds but the input's, empty
    /// RDNs and extra `AttributeTypeAndValue` components accepted.
    pub const LENIENT: NameDecoding = NameDecoding {
        max_rdns: usize::MAX,
        max_attributes: usize::MAX,
        strict: false,
    };

    /// Strict decoding with these bounds (names in signed content: X.511 credentials,
    /// certificates).
    pub const fn strict(max_rdns: usize, max_attributes: usize) -> Self {
        NameDecoding {
            max_rdns,
            max_attributes,
            strict: true,
        }
    }
}

impl Default for NameDecoding {
    /// [`NameDecoding::LENIENT`].
    fn default() -> Self {
        NameDecoding::LENIENT
    }
}

/// One `AttributeTypeAndValue` of a Directory name (X.501): an attribute type and its value.
///
/// The value is kept as the complete BER encoding received (identifier to last octet), since its
/// type depends on the attribute; [`AttributeTypeAndValue::display_value`] renders the common
/// string types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttributeTypeAndValue {
    /// The attribute type (for instance 2.5.4.3, commonName).
    pub attribute_type: Oid,
    /// The value: exactly one complete BER element (sent as it is).
    pub value: Vec<u8>,
}

impl AttributeTypeAndValue {
    /// An attribute whose value is a PrintableString.
    pub fn printable(attribute_type: Oid, text: &str) -> Self {
        let mut w = Writer::new();
        w.primitive(Tag::PRINTABLE_STRING, text.as_bytes());
        AttributeTypeAndValue {
            attribute_type,
            value: w.into_bytes(),
        }
    }

    /// The value as text when it is a primitive string of a common type (PrintableString,
    /// UTF8String, IA5String, VisibleString, NumericString, TeletexString, GraphicString,
    /// BMPString or UniversalString); `None` otherwise.
    pub fn display_value(&self) -> Option<String> {
        let mut r = guls_ber::Reader::new(&self.value, guls_ber::Layer::Acse);
        let e = r.read().ok()?;
        if e.tag.class != Class::Universal || e.tag.constructed || !r.is_empty() {
            return None;
        }
        let c = e.contents;
        match e.tag.number {
            // UTF8String; NumericString, PrintableString, IA5String, VisibleString.
            12 | 18 | 19 | 22 | 26 => std::str::from_utf8(c).ok().map(str::to_owned),
            // TeletexString, GraphicString: treated as Latin-1.
            20 | 25 => Some(c.iter().map(|&b| b as char).collect()),
            // BMPString.
            30 => {
                if c.len() % 2 != 0 {
                    return None;
                }
                let units: Vec<u16> = c
                    .chunks(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            }
            // UniversalString.
            28 => {
                if c.len() % 4 != 0 {
                    return None;
                }
                c.chunks(4)
                    .map(|p| char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]])))
                    .collect()
            }
            _ => None,
        }
    }

    /// Decodes one `AttributeTypeAndValue` SEQUENCE, leniently ([`NameDecoding::LENIENT`]).
    pub fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        Self::decode_with(e, &NameDecoding::LENIENT)
    }

    /// Decodes one `AttributeTypeAndValue` SEQUENCE under `rules` (only
    /// [`NameDecoding::strict`] matters here).
    pub fn decode_with(e: &Element<'_>, rules: &NameDecoding) -> DecodeResult<Self> {
        let (attribute_type, value) = Self::parse(e, rules)?;
        Ok(AttributeTypeAndValue {
            attribute_type,
            value: value.to_vec(),
        })
    }

    /// The checks of [`AttributeTypeAndValue::decode_with`], giving the type and the value's
    /// TLV where it lies.
    fn parse<'a>(e: &Element<'a>, rules: &NameDecoding) -> DecodeResult<(Oid, &'a [u8])> {
        if e.tag != Tag::SEQUENCE {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "AttributeTypeAndValue SEQUENCE",
                found: e.tag.to_string(),
            }));
        }
        let mut r = e.reader()?;
        let t = r.read_tagged(Tag::OID, "attribute type OBJECT IDENTIFIER")?;
        let attribute_type = t.oid("attribute type")?;
        if r.is_empty() {
            return Err(r.error(ErrorKind::Missing("attribute value")));
        }
        let value = r.read()?.raw;
        if rules.strict {
            r.finish("AttributeTypeAndValue")?;
        }
        // Later X.501 editions add components after the value; they are ignored.
        while !r.is_empty() {
            r.read()?;
        }
        Ok((attribute_type, value))
    }

    /// Writes the `AttributeTypeAndValue` SEQUENCE (the value as held).
    pub fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::SEQUENCE, |w| {
            w.oid(Tag::OID, &self.attribute_type);
            w.raw(&self.value);
        });
    }
}

impl fmt::Display for AttributeTypeAndValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The short names by their contents octets (2.5.4.n is 55 04 n).
        let short = match self.attribute_type.as_bytes() {
            [0x55, 0x04, 3] => Some("CN"),
            [0x55, 0x04, 6] => Some("C"),
            [0x55, 0x04, 7] => Some("L"),
            [0x55, 0x04, 8] => Some("ST"),
            [0x55, 0x04, 10] => Some("O"),
            [0x55, 0x04, 11] => Some("OU"),
            _ => None,
        };
        match short {
            Some(s) => f.write_str(s)?,
            None => write!(f, "{}", self.attribute_type)?,
        }
        match self.display_value() {
            Some(v) => write!(f, "={v}"),
            None => write!(f, "=#{}", guls_ber::to_hex(&self.value)),
        }
    }
}

/// `RelativeDistinguishedName ::= SET OF AttributeTypeAndValue` (AE-qualifier form 1).
/// Kept in the order received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RelativeDistinguishedName(pub Vec<AttributeTypeAndValue>);

impl RelativeDistinguishedName {
    /// Decodes one `RelativeDistinguishedName` SET OF, leniently ([`NameDecoding::LENIENT`]).
    pub fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        Self::decode_with(e, &NameDecoding::LENIENT)
    }

    /// Decodes one `RelativeDistinguishedName` SET OF under `rules`.
    pub fn decode_with(e: &Element<'_>, rules: &NameDecoding) -> DecodeResult<Self> {
        let mut out = Vec::new();
        Self::parse(e, rules, |attribute_type, value| {
            out.push(AttributeTypeAndValue {
                attribute_type,
                value: value.to_vec(),
            })
        })?;
        Ok(RelativeDistinguishedName(out))
    }

    /// The checks of [`RelativeDistinguishedName::decode_with`], handing each attribute (its
    /// type and value TLV) to `each`.
    fn parse<'a>(
        e: &Element<'a>,
        rules: &NameDecoding,
        mut each: impl FnMut(Oid, &'a [u8]),
    ) -> DecodeResult<()> {
        if e.tag != Tag::SET {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "RelativeDistinguishedName SET OF",
                found: e.tag.to_string(),
            }));
        }
        let mut r = e.reader()?;
        let mut count = 0usize;
        while !r.is_empty() {
            if count >= rules.max_attributes {
                return Err(r.error(ErrorKind::LimitExceeded {
                    what: "attributes in an RDN",
                    limit: rules.max_attributes,
                }));
            }
            let (attribute_type, value) = AttributeTypeAndValue::parse(&r.read()?, rules)?;
            each(attribute_type, value);
            count += 1;
        }
        if rules.strict && count == 0 {
            return Err(e.error(ErrorKind::Invalid("empty RDN")));
        }
        Ok(())
    }

    /// Writes the SET OF with its members in the order held (as received), which is what
    /// ACSE sends back.
    pub fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::SET, |w| {
            for a in &self.0 {
                a.encode(w);
            }
        });
    }

    /// Writes the SET OF in DER order: members sorted by their encodings (X.690 11.6). The
    /// attribute values are written as held.
    pub fn encode_der(&self, w: &mut Writer) {
        if self.0.len() <= 1 {
            // Nothing to sort (the usual RDN): written in place.
            self.encode(w);
            return;
        }
        let mut members: Vec<Vec<u8>> = self
            .0
            .iter()
            .map(|a| {
                let mut w = Writer::new();
                a.encode(&mut w);
                w.into_bytes()
            })
            .collect();
        members.sort();
        w.constructed(Tag::SET, |w| {
            for m in &members {
                w.raw(m);
            }
        });
    }
}

impl fmt::Display for RelativeDistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// A Directory `Name` in its only form, `RDNSequence ::= SEQUENCE OF RelativeDistinguishedName`
/// (AP-title form 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DistinguishedName(pub Vec<RelativeDistinguishedName>);

impl DistinguishedName {
    /// Decodes one `RDNSequence` (universal SEQUENCE OF), leniently
    /// ([`NameDecoding::LENIENT`]): what ACSE applies to AP-title form 1.
    pub fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        Self::decode_with(e, &NameDecoding::LENIENT)
    }

    /// Decodes one `RDNSequence` (universal SEQUENCE OF) under `rules`.
    pub fn decode_with(e: &Element<'_>, rules: &NameDecoding) -> DecodeResult<Self> {
        if e.tag != Tag::SEQUENCE {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "RDNSequence SEQUENCE OF",
                found: e.tag.to_string(),
            }));
        }
        Self::decode_contents_with(e, rules)
    }

    /// Decodes the contents of a constructed element as an `RDNSequence` whatever its tag:
    /// for implicitly tagged names (`[n] IMPLICIT Name`), whose tag the caller has checked.
    pub fn decode_contents_with(e: &Element<'_>, rules: &NameDecoding) -> DecodeResult<Self> {
        let mut out = Vec::new();
        Self::parse_contents(e, rules, |rdn| {
            RelativeDistinguishedName::decode_with(rdn, rules).map(|r| out.push(r))
        })?;
        Ok(DistinguishedName(out))
    }

    /// Checks the contents of a constructed element as [`Self::decode_contents_with`] does
    /// (the same errors for the same input) without building the name.
    pub fn check_contents_with(e: &Element<'_>, rules: &NameDecoding) -> DecodeResult<()> {
        Self::parse_contents(e, rules, |rdn| {
            RelativeDistinguishedName::parse(rdn, rules, |_, _| {})
        })
    }

    /// Walks the RDNs of an `RDNSequence`'s contents under `rules`' bound on their number.
    fn parse_contents<'a>(
        e: &Element<'a>,
        rules: &NameDecoding,
        mut each: impl FnMut(&Element<'a>) -> DecodeResult<()>,
    ) -> DecodeResult<()> {
        let mut r = e.reader()?;
        let mut count = 0usize;
        while !r.is_empty() {
            if count >= rules.max_rdns {
                return Err(r.error(ErrorKind::LimitExceeded {
                    what: "RDNs in a name",
                    limit: rules.max_rdns,
                }));
            }
            each(&r.read()?)?;
            count += 1;
        }
        Ok(())
    }

    /// Decodes a name from one complete TLV (universal SEQUENCE OF, nothing after it),
    /// leniently ([`NameDecoding::LENIENT`]); errors name [`guls_ber::Layer::Acse`]. Any BER
    /// length form is accepted, the name is not checked to be DER.
    pub fn from_der(der: &[u8]) -> DecodeResult<Self> {
        Self::from_der_with(der, &NameDecoding::LENIENT)
    }

    /// [`DistinguishedName::from_der`] under `rules`.
    pub fn from_der_with(der: &[u8], rules: &NameDecoding) -> DecodeResult<Self> {
        let mut r = guls_ber::Reader::new(der, guls_ber::Layer::Acse);
        let e = r.read()?;
        r.finish("Name")?;
        Self::decode_with(&e, rules)
    }

    /// Writes the universal SEQUENCE OF with every RDN's members in the order held (as
    /// received), which is what ACSE sends back.
    pub fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::SEQUENCE, |w| {
            for rdn in &self.0 {
                rdn.encode(w);
            }
        });
    }

    /// Writes the universal SEQUENCE OF in DER form (see
    /// [`RelativeDistinguishedName::encode_der`]).
    pub fn encode_der(&self, w: &mut Writer) {
        self.encode_der_implicit(w, Tag::SEQUENCE);
    }

    /// Writes the name in DER form under `tag` instead of SEQUENCE (`[n] IMPLICIT Name`; the
    /// tag is made constructed).
    pub fn encode_der_implicit(&self, w: &mut Writer, tag: Tag) {
        w.constructed(tag, |w| {
            for rdn in &self.0 {
                rdn.encode_der(w);
            }
        });
    }

    /// The DER of the name as a plain `Name` (SEQUENCE OF): the form in which names are
    /// signed and compared.
    pub fn to_der(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_der(&mut w);
        w.into_bytes()
    }
}

impl fmt::Display for DistinguishedName {
    /// Most significant RDN first, separated by `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rdn}")?;
        }
        Ok(())
    }
}

/// `AP-title` (the contents of an explicit `[2]`, `[6]` or AARE `[4]` field).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApTitle {
    /// Form 1: a Directory Name.
    Form1(DistinguishedName),
    /// Form 2: an OBJECT IDENTIFIER.
    Form2(Oid),
    /// Form 3 (X.227bis): a PrintableString, octets as received.
    Form3(Vec<u8>),
    /// Form 4 (X.227bis): `[0] IMPLICIT RELATIVE-OID`, contents octets as received.
    Form4(Vec<u8>),
    /// Another alternative of the extensible CHOICE: its complete encoding, sent back as it is.
    Other(Vec<u8>),
}

impl ApTitle {
    /// Decodes the single element inside the explicit field tag.
    pub(crate) fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        let t = e.tag;
        Ok(if t == Tag::SEQUENCE {
            ApTitle::Form1(DistinguishedName::decode(e)?)
        } else if t == Tag::OID {
            ApTitle::Form2(e.oid("AP-title form 2")?)
        } else if t.same_number(Tag::PRINTABLE_STRING) {
            ApTitle::Form3(e.octets("AP-title form 3")?.into_owned())
        } else if t == Tag::context(0) {
            ApTitle::Form4(e.contents.to_vec())
        } else {
            ApTitle::Other(e.raw.to_vec())
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            ApTitle::Form1(dn) => dn.encode(w),
            ApTitle::Form2(oid) => w.oid(Tag::OID, oid),
            ApTitle::Form3(s) => w.primitive(Tag::PRINTABLE_STRING, s),
            ApTitle::Form4(r) => w.primitive(Tag::context(0), r),
            ApTitle::Other(raw) => w.raw(raw),
        }
    }
}

impl fmt::Display for ApTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApTitle::Form1(dn) => write!(f, "{{{dn}}}"),
            ApTitle::Form2(oid) => write!(f, "{oid}"),
            ApTitle::Form3(s) => write!(f, "\"{}\"", String::from_utf8_lossy(s)),
            ApTitle::Form4(r) => write!(f, "relative-oid #{}", guls_ber::to_hex(r)),
            ApTitle::Other(raw) => write!(f, "#{}", guls_ber::to_hex(raw)),
        }
    }
}

/// `AE-qualifier` (= `ASO-qualifier`; the contents of an explicit `[3]`, `[7]` or AARE `[5]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AeQualifier {
    /// Form 1: a RelativeDistinguishedName.
    Form1(RelativeDistinguishedName),
    /// Form 2: an INTEGER (at most 4 octets, SIA 10.4).
    Form2(i64),
    /// Form 3 (X.227bis): a PrintableString, octets as received.
    Form3(Vec<u8>),
    /// Form 4 (X.227bis): `[0] IMPLICIT RELATIVE-OID`, contents octets as received.
    Form4(Vec<u8>),
    /// Another alternative of the extensible CHOICE: its complete encoding, sent back as it is.
    Other(Vec<u8>),
}

impl AeQualifier {
    /// Decodes the single element inside the explicit field tag.
    pub(crate) fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        let t = e.tag;
        Ok(if t == Tag::SET {
            AeQualifier::Form1(RelativeDistinguishedName::decode(e)?)
        } else if t == Tag::INTEGER {
            AeQualifier::Form2(small_integer(e, "AE-qualifier form 2")?)
        } else if t.same_number(Tag::PRINTABLE_STRING) {
            AeQualifier::Form3(e.octets("AE-qualifier form 3")?.into_owned())
        } else if t == Tag::context(0) {
            AeQualifier::Form4(e.contents.to_vec())
        } else {
            AeQualifier::Other(e.raw.to_vec())
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            AeQualifier::Form1(rdn) => rdn.encode(w),
            AeQualifier::Form2(v) => w.integer(Tag::INTEGER, *v),
            AeQualifier::Form3(s) => w.primitive(Tag::PRINTABLE_STRING, s),
            AeQualifier::Form4(r) => w.primitive(Tag::context(0), r),
            AeQualifier::Other(raw) => w.raw(raw),
        }
    }
}

impl fmt::Display for AeQualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AeQualifier::Form1(rdn) => write!(f, "{{{rdn}}}"),
            AeQualifier::Form2(v) => write!(f, "{v}"),
            AeQualifier::Form3(s) => write!(f, "\"{}\"", String::from_utf8_lossy(s)),
            AeQualifier::Form4(r) => write!(f, "relative-oid #{}", guls_ber::to_hex(r)),
            AeQualifier::Other(raw) => write!(f, "#{}", guls_ber::to_hex(raw)),
        }
    }
}
