//! EXTERNAL (X.690 8.18), the carrier of ACSE user-information and of the `external` arm of
//! Authentication-value.

use crate::error::{DecodeResult, ErrorKind};
use crate::oid::Oid;
use crate::reader::{BitString, Element};
use crate::tag::Tag;
use crate::writer::Writer;

/// The `encoding` CHOICE of EXTERNAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalEncoding {
    /// `single-ASN1-type [0]`: the complete encoding (identifier to end) of one ASN.1 value.
    SingleAsn1Type(Vec<u8>),
    /// `octet-aligned [1] IMPLICIT OCTET STRING`.
    OctetAligned(Vec<u8>),
    /// `arbitrary [2] IMPLICIT BIT STRING`.
    Arbitrary(BitString),
}

impl ExternalEncoding {
    /// The name used in JSON output: `single-asn1-type`, `octet-aligned` or `arbitrary`.
    pub fn name(&self) -> &'static str {
        match self {
            ExternalEncoding::SingleAsn1Type(_) => "single-asn1-type",
            ExternalEncoding::OctetAligned(_) => "octet-aligned",
            ExternalEncoding::Arbitrary(_) => "arbitrary",
        }
    }

    /// Number of octets of the carried value.
    pub fn data_len(&self) -> usize {
        match self {
            ExternalEncoding::SingleAsn1Type(v) | ExternalEncoding::OctetAligned(v) => v.len(),
            ExternalEncoding::Arbitrary(b) => b.bytes.len(),
        }
    }

    /// Decodes the encoding CHOICE from its element (`[0]`, `[1]` or `[2]`).
    pub fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        if e.tag.class != crate::tag::Class::Context {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "encoding [0], [1] or [2]",
                found: e.tag.to_string(),
            }));
        }
        match e.tag.number {
            0 => {
                let mut r = e.reader()?;
                let inner = r.read()?;
                r.finish("single-ASN1-type value")?;
                Ok(ExternalEncoding::SingleAsn1Type(inner.raw.to_vec()))
            }
            1 => Ok(ExternalEncoding::OctetAligned(
                e.octets("octet-aligned value")?.into_owned(),
            )),
            2 => Ok(ExternalEncoding::Arbitrary(
                e.bit_string("arbitrary value")?,
            )),
            _ => Err(e.error(ErrorKind::Unexpected {
                expected: "encoding [0], [1] or [2]",
                found: e.tag.to_string(),
            })),
        }
    }

    /// Writes the encoding CHOICE; `single-ASN1-type` always with a definite length.
    pub fn encode(&self, w: &mut Writer) {
        match self {
            ExternalEncoding::SingleAsn1Type(v) => {
                w.constructed_definite(Tag::context(0), |w| w.raw(v))
            }
            ExternalEncoding::OctetAligned(v) => w.primitive(Tag::context(1), v),
            ExternalEncoding::Arbitrary(b) => w.bit_string(Tag::context(2), b),
        }
    }
}

/// An EXTERNAL value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// `direct-reference`: the transfer syntax (or abstract syntax) of the value.
    pub direct_reference: Option<Oid>,
    /// `indirect-reference`: the presentation context identifier.
    pub indirect_reference: Option<i64>,
    /// `data-value-descriptor` (ObjectDescriptor, GraphicString octets kept as received).
    pub data_value_descriptor: Option<Vec<u8>>,
    /// The value.
    pub encoding: ExternalEncoding,
}

impl External {
    /// An EXTERNAL in presentation context `pcid` carrying one BER-encoded ASN.1 value.
    pub fn single_asn1(pcid: i64, value: Vec<u8>) -> Self {
        External {
            direct_reference: None,
            indirect_reference: Some(pcid),
            data_value_descriptor: None,
            encoding: ExternalEncoding::SingleAsn1Type(value),
        }
    }

    /// Decodes the contents of an EXTERNAL element (tag `[UNIVERSAL 8]` or an implicit tag the
    /// caller has already matched).
    pub fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        let mut r = e.reader()?;
        let mut direct_reference = None;
        let mut indirect_reference = None;
        let mut data_value_descriptor = None;
        if let Some(d) = r.read_optional(Tag::OID)? {
            direct_reference = Some(d.oid("direct-reference")?);
        }
        if let Some(i) = r.read_optional(Tag::INTEGER)? {
            indirect_reference = Some(i.integer("indirect-reference", 4)?);
        }
        if let Some(d) = r.read_optional(Tag::OBJECT_DESCRIPTOR)? {
            data_value_descriptor = Some(d.octets("data-value-descriptor")?.into_owned());
        }
        let enc = match r.peek_tag()? {
            Some(_) => r.read()?,
            None => return Err(r.error(ErrorKind::Missing("EXTERNAL encoding"))),
        };
        let encoding = ExternalEncoding::decode(&enc)?;
        r.finish("EXTERNAL")?;
        Ok(External {
            direct_reference,
            indirect_reference,
            data_value_descriptor,
            encoding,
        })
    }

    /// Writes the EXTERNAL under `tag` (normally [`Tag::EXTERNAL`]).
    pub fn encode(&self, tag: Tag, w: &mut Writer) {
        w.constructed(tag, |w| self.encode_contents(w));
    }

    /// Writes the components of the EXTERNAL without its own identifier and length.
    pub fn encode_contents(&self, w: &mut Writer) {
        if let Some(d) = &self.direct_reference {
            w.oid(Tag::OID, d);
        }
        if let Some(i) = self.indirect_reference {
            w.integer(Tag::INTEGER, i);
        }
        if let Some(d) = &self.data_value_descriptor {
            w.primitive(Tag::OBJECT_DESCRIPTOR, d);
        }
        self.encoding.encode(w);
    }
}
