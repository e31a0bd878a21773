//! Item types for common universal ASN.1 types, ready to use in [`crate::ItemDef::new`].

use guls_ber::{DecodeResult, ErrorKind, Layer, Reader, Tag, Writer};

use crate::exchange::ItemType;

/// Reads exactly one element with the given universal tag number (either form).
fn one(tlv: &[u8], tag: Tag, what: &'static str) -> DecodeResult<Vec<u8>> {
    let mut r = Reader::new(tlv, Layer::Application);
    let e = r.read()?;
    r.finish(what)?;
    if !e.tag.same_number(tag) {
        return Err(e.error(ErrorKind::Unexpected {
            expected: what,
            found: e.tag.to_string(),
        }));
    }
    Ok(e.octets(what)?.into_owned())
}

fn primitive(tag: Tag, contents: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.primitive(tag, contents);
    w.into_bytes()
}

/// `OCTET STRING` (constructed encodings accepted one level deep).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OctetString(pub Vec<u8>);

impl ItemType for OctetString {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        one(tlv, Tag::OCTET_STRING, "OCTET STRING").map(OctetString)
    }

    fn encode(&self) -> Vec<u8> {
        primitive(Tag::OCTET_STRING, &self.0)
    }
}

/// `UTF8String`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Utf8String(pub String);

impl ItemType for Utf8String {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let bytes = one(tlv, Tag::UTF8_STRING, "UTF8String")?;
        String::from_utf8(bytes).map(Utf8String).map_err(|_| {
            guls_ber::DecodeError::new(
                Layer::Application,
                0,
                ErrorKind::Invalid("UTF-8 in UTF8String"),
            )
        })
    }

    fn encode(&self) -> Vec<u8> {
        primitive(Tag::UTF8_STRING, self.0.as_bytes())
    }
}

/// `INTEGER` (at most 8 contents octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Integer(pub i64);

impl ItemType for Integer {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(tlv, Layer::Application);
        let e = r.read_tagged(Tag::INTEGER, "INTEGER")?;
        r.finish("INTEGER")?;
        e.integer("INTEGER", 8).map(Integer)
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.integer(Tag::INTEGER, self.0);
        w.into_bytes()
    }
}
