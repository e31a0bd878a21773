//! A lenient, bounded BER reader.
//!
//! It accepts what RFC 1698 section 4.3 and the OIW agreements require of a receiver: short,
//! non-minimal long and indefinite lengths, identifiers of up to three octets, and constructed
//! strings one level deep. Every length is checked against the octets actually present before
//! any slice is taken, nesting is limited, and nothing is allocated except when a constructed
//! string has to be joined (bounded by the input size).

use std::borrow::Cow;

use crate::error::{DecodeError, DecodeResult, ErrorKind, Layer};
use crate::oid::Oid;
use crate::tag::{Class, Tag};

/// Default maximum nesting depth of constructed elements.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// The most identifier octets accepted (SOURCES-DIGEST section 7: tags up to 3 octets).
pub const MAX_IDENTIFIER_OCTETS: usize = 3;

/// A BIT STRING value: the unused bit count of the last octet and the octets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BitString {
    /// Number of unused bits in the last octet (0..=7).
    pub unused_bits: u8,
    /// The octets, first bit in the most significant bit of the first octet.
    pub bytes: Vec<u8>,
}

impl BitString {
    /// A bit string of whole octets.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        BitString {
            unused_bits: 0,
            bytes,
        }
    }

    /// Number of significant bits.
    pub fn bit_len(&self) -> usize {
        (self.bytes.len() * 8).saturating_sub(self.unused_bits as usize)
    }

    /// Bit `i` (0 is the first, most significant bit); false past the end.
    pub fn bit(&self, i: usize) -> bool {
        if i >= self.bit_len() {
            return false;
        }
        self.bytes[i / 8] & (0x80 >> (i % 8)) != 0
    }

    /// A named-bit string with exactly the bits given set, trailing zero bits removed
    /// (X.690 11.2.2 for named bit lists, as the canonical senders do).
    pub fn from_named_bits(bits: &[usize]) -> Self {
        let Some(&max) = bits.iter().max() else {
            return BitString::default();
        };
        let len = max + 1;
        let mut bytes = vec![0u8; len.div_ceil(8)];
        for &b in bits {
            bytes[b / 8] |= 0x80 >> (b % 8);
        }
        BitString {
            unused_bits: (bytes.len() * 8 - len) as u8,
            bytes,
        }
    }

    /// The indexes of the set bits.
    pub fn set_bits(&self) -> Vec<usize> {
        (0..self.bit_len()).filter(|&i| self.bit(i)).collect()
    }
}

/// A decoded header: where the contents are and how they end.
#[derive(Debug, Clone, Copy)]
struct Header {
    tag: Tag,
    header_len: usize,
    /// `None` for the indefinite form.
    length: Option<usize>,
}

/// One element read from the input.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    /// The element's tag.
    pub tag: Tag,
    /// Offset of the identifier octet, from the start of the outermost input.
    pub offset: usize,
    /// Offset of the first contents octet.
    pub content_offset: usize,
    /// The contents, without end-of-contents octets.
    pub contents: &'a [u8],
    /// The whole encoding, identifier to last octet (end-of-contents included).
    pub raw: &'a [u8],
    /// True when the element used the indefinite length form.
    pub indefinite: bool,
    layer: Layer,
    depth: usize,
    max_depth: usize,
}

/// A cursor over a sequence of BER elements.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    layer: Layer,
    depth: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data` whose errors name `layer`, with the default depth limit.
    pub fn new(data: &'a [u8], layer: Layer) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
            layer,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets the nesting limit.
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Offsets reported by this reader start at `base` (the slice's place in a larger input).
    pub fn with_base(mut self, base: usize) -> Self {
        self.base = base;
        self
    }

    /// The layer named in errors.
    pub fn layer(&self) -> Layer {
        self.layer
    }

    /// True when every element has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Absolute offset of the next octet.
    pub fn position(&self) -> usize {
        self.base + self.pos
    }

    /// The octets not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }

    /// An error at the current position.
    pub fn error(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(self.layer, self.position(), kind)
    }

    /// The tag of the next element, without consuming it; `None` at the end.
    #[inline]
    pub fn peek_tag(&self) -> DecodeResult<Option<Tag>> {
        match self.data.get(self.pos) {
            None => Ok(None),
            Some(&b) if b & 0x1F != 0x1F => Ok(Some(Tag::from_identifier(b))),
            Some(_) => self.peek_long_tag(),
        }
    }

    /// [`Reader::peek_tag`] for a high-tag-number identifier.
    #[inline(never)]
    fn peek_long_tag(&self) -> DecodeResult<Option<Tag>> {
        let (tag, _) = parse_tag(self.data, self.pos).map_err(|k| self.error(k))?;
        Ok(Some(tag))
    }

    /// Reads the next element, whatever it is.
    pub fn read(&mut self) -> DecodeResult<Element<'a>> {
        self.read_inline(Tag::from_identifier)
    }

    /// [`Reader::read`], inlined into it and into the tag-checking readers (not into every
    /// caller: the fast path is a few dozen instructions, worth a call). `tag_of` gives the
    /// tag of a one-octet identifier (callers that have already matched it know it).
    #[inline(always)]
    fn read_inline(&mut self, tag_of: impl FnOnce(u8) -> Tag) -> DecodeResult<Element<'a>> {
        // Nearly every header is a one-octet identifier and a definite length of one, two or
        // three octets (short form, `81 xx`, `82 xx xx`): read those here and leave everything
        // else (and every error) to `read_general`, which reads these forms the same way and
        // makes its checks in the same order. Identifier 00 (end-of-contents) goes there too.
        if let Some(rest) = self.data.get(self.pos..)
            && let [id, first, ..] = *rest
            && id & 0x1F != 0x1F
            && id != 0
        {
            let (header_len, len) = match (first, rest) {
                (0..=0x7F, _) => (2, usize::from(first)),
                (0x81, &[_, _, l, ..]) => (3, usize::from(l)),
                (0x82, &[_, _, h, l, ..]) => (4, usize::from(u16::from_be_bytes([h, l]))),
                _ => return self.read_general(),
            };
            if let Some(raw) = rest.get(..header_len + len) {
                let start = self.pos;
                self.pos = start + raw.len();
                return Ok(Element {
                    tag: tag_of(id),
                    offset: self.base + start,
                    content_offset: self.base + start + header_len,
                    contents: &raw[header_len..],
                    raw,
                    indefinite: false,
                    layer: self.layer,
                    depth: self.depth,
                    max_depth: self.max_depth,
                });
            }
        }
        self.read_general()
    }

    /// [`Reader::read`] for any header, and every error.
    #[inline(never)]
    fn read_general(&mut self) -> DecodeResult<Element<'a>> {
        if self.is_empty() {
            return Err(self.error(ErrorKind::Truncated {
                what: "element",
                needed: 1,
                available: 0,
            }));
        }
        let start = self.pos;
        let header = parse_header(self.data, start, self.layer, self.base)?;
        let content_start = start + header.header_len;
        let (content_end, end) = match header.length {
            Some(len) => {
                let available = self.data.len() - content_start;
                if len > available {
                    return Err(DecodeError::new(
                        self.layer,
                        self.base + start,
                        ErrorKind::Truncated {
                            what: "element contents",
                            needed: len,
                            available,
                        },
                    ));
                }
                (content_start + len, content_start + len)
            }
            None => {
                if !header.tag.constructed {
                    return Err(DecodeError::new(
                        self.layer,
                        self.base + start,
                        ErrorKind::BadLength("indefinite length on a primitive element"),
                    ));
                }
                let content_end = find_end_of_contents(
                    self.data,
                    content_start,
                    self.depth.saturating_add(1),
                    self.max_depth,
                    self.layer,
                    self.base,
                )?;
                (content_end, content_end + 2)
            }
        };
        if header.tag.class == Class::Universal && header.tag.number == 0 && !header.tag.constructed
        {
            return Err(DecodeError::new(
                self.layer,
                self.base + start,
                ErrorKind::Unexpected {
                    expected: "an element",
                    found: "end-of-contents octets".into(),
                },
            ));
        }
        self.pos = end;
        Ok(Element {
            tag: header.tag,
            offset: self.base + start,
            content_offset: self.base + content_start,
            contents: &self.data[content_start..content_end],
            raw: &self.data[start..end],
            indefinite: header.length.is_none(),
            layer: self.layer,
            depth: self.depth,
            max_depth: self.max_depth,
        })
    }

    /// Reads the next element and checks its tag (form included).
    pub fn read_tagged(&mut self, tag: Tag, what: &'static str) -> DecodeResult<Element<'a>> {
        // A one-octet identifier is compared as it stands (it can only match a tag below 31);
        // anything else goes the general way.
        match self.data.get(self.pos) {
            Some(&b) if b & 0x1F != 0x1F => {
                if tag.number < 31 && b == tag.short_identifier() {
                    self.read_inline(|_| tag)
                } else {
                    Err(unexpected(
                        self.layer,
                        self.position(),
                        what,
                        Tag::from_identifier(b),
                    ))
                }
            }
            _ => self.read_tagged_general(tag, what),
        }
    }

    /// [`Reader::read_tagged`] at the end of the input or before a high-tag-number identifier.
    #[inline(never)]
    fn read_tagged_general(&mut self, tag: Tag, what: &'static str) -> DecodeResult<Element<'a>> {
        match self.peek_tag()? {
            Some(t) if t == tag => self.read(),
            Some(t) => Err(unexpected(self.layer, self.position(), what, t)),
            None => Err(DecodeError::new(
                self.layer,
                self.position(),
                ErrorKind::Missing(what),
            )),
        }
    }

    /// Reads the next element if its class and number are those of `tag` (either form).
    pub fn read_optional(&mut self, tag: Tag) -> DecodeResult<Option<Element<'a>>> {
        // As in `read_tagged`: a one-octet identifier matches only a tag below 31, whose
        // identifier octet it equals but for the form bit.
        match self.data.get(self.pos) {
            None => Ok(None),
            Some(&b) if b & 0x1F != 0x1F => {
                if tag.number < 31 && (b ^ tag.short_identifier()) & !0x20 == 0 {
                    self.read_inline(|b| Tag {
                        constructed: b & 0x20 != 0,
                        ..tag
                    })
                    .map(Some)
                } else {
                    Ok(None)
                }
            }
            Some(_) => self.read_optional_general(tag),
        }
    }

    /// [`Reader::read_optional`] before a high-tag-number identifier.
    #[inline(never)]
    fn read_optional_general(&mut self, tag: Tag) -> DecodeResult<Option<Element<'a>>> {
        match self.peek_tag()? {
            Some(t) if t.same_number(tag) => self.read().map(Some),
            _ => Ok(None),
        }
    }

    /// Fails if octets remain.
    pub fn finish(&self, what: &'static str) -> DecodeResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(ErrorKind::Trailing {
                what,
                count: self.data.len() - self.pos,
            }))
        }
    }
}

impl<'a> Element<'a> {
    /// An error located at this element.
    pub fn error(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(self.layer, self.offset, kind)
    }

    /// A reader over the contents of a constructed element, one level deeper.
    #[inline]
    pub fn reader(&self) -> DecodeResult<Reader<'a>> {
        if !self.tag.constructed || self.depth.saturating_add(1) > self.max_depth {
            return Err(self.reader_error());
        }
        Ok(Reader {
            data: self.contents,
            pos: 0,
            base: self.content_offset,
            layer: self.layer,
            depth: self.depth + 1,
            max_depth: self.max_depth,
        })
    }

    /// Why [`Element::reader`] refused this element.
    #[cold]
    #[inline(never)]
    fn reader_error(&self) -> DecodeError {
        if !self.tag.constructed {
            self.error(ErrorKind::Unexpected {
                expected: "a constructed element",
                found: self.tag.to_string(),
            })
        } else {
            self.error(ErrorKind::TooDeep {
                limit: self.max_depth,
            })
        }
    }

    /// Fails unless the element is primitive.
    pub fn expect_primitive(&self, what: &'static str) -> DecodeResult<&'a [u8]> {
        if self.tag.constructed {
            return Err(self.error(ErrorKind::Unexpected {
                expected: what,
                found: self.tag.to_string(),
            }));
        }
        Ok(self.contents)
    }

    /// The contents as a signed integer of at most `max_octets` octets (two's complement).
    pub fn integer(&self, what: &'static str, max_octets: usize) -> DecodeResult<i64> {
        if !self.tag.constructed
            && let Ok(v) = decode_integer(self.contents, max_octets.min(8))
        {
            return Ok(v);
        }
        self.integer_general(what, max_octets)
    }

    /// [`Element::integer`] with its errors (out of line: they format and rename).
    #[cold]
    #[inline(never)]
    fn integer_general(&self, what: &'static str, max_octets: usize) -> DecodeResult<i64> {
        let c = self.expect_primitive(what)?;
        decode_integer(c, max_octets.min(8))
            .map_err(|k| self.error(with_what(k, what, max_octets.min(8))))
    }

    /// The contents as a non-negative integer of at most `max_octets` octets.
    pub fn unsigned(&self, what: &'static str, max_octets: usize) -> DecodeResult<u64> {
        let v = self.integer(what, max_octets)?;
        u64::try_from(v).map_err(|_| self.error(ErrorKind::Invalid(what)))
    }

    /// The contents as a BOOLEAN (any non-zero octet is TRUE, as BER allows).
    pub fn boolean(&self, what: &'static str) -> DecodeResult<bool> {
        let c = self.expect_primitive(what)?;
        if c.len() != 1 {
            return Err(self.error(ErrorKind::Invalid(what)));
        }
        Ok(c[0] != 0)
    }

    /// The contents as an OBJECT IDENTIFIER.
    pub fn oid(&self, what: &'static str) -> DecodeResult<Oid> {
        let c = self.expect_primitive(what)?;
        Oid::from_content(c).map_err(|_| self.error(ErrorKind::Invalid(what)))
    }

    /// The octets of a string type, joining a constructed encoding one level deep.
    pub fn octets(&self, what: &'static str) -> DecodeResult<Cow<'a, [u8]>> {
        if !self.tag.constructed {
            return Ok(Cow::Borrowed(self.contents));
        }
        let mut out = Vec::with_capacity(self.contents.len());
        let mut r = self.reader()?;
        while !r.is_empty() {
            let piece = r.read()?;
            if piece.tag.constructed {
                return Err(piece.error(ErrorKind::Unexpected {
                    expected: "a primitive string segment (one level of construction)",
                    found: piece.tag.to_string(),
                }));
            }
            out.extend_from_slice(piece.contents);
        }
        let _ = what;
        Ok(Cow::Owned(out))
    }

    /// The unused-bit count and the octets of a primitive BIT STRING, where they lie, after
    /// the checks [`Element::bit_string`] makes of it; `None` for a constructed encoding (whose
    /// segments only [`Element::bit_string`] joins).
    pub fn primitive_bit_string(&self) -> DecodeResult<Option<(u8, &'a [u8])>> {
        if self.tag.constructed {
            return Ok(None);
        }
        primitive_bits(self.contents)
            .map(Some)
            .map_err(|k| self.error(k))
    }

    /// The contents as a BIT STRING, joining a constructed encoding one level deep.
    pub fn bit_string(&self, what: &'static str) -> DecodeResult<BitString> {
        if let Some((unused_bits, bytes)) = self.primitive_bit_string()? {
            return Ok(BitString {
                unused_bits,
                bytes: bytes.to_vec(),
            });
        }
        let mut out = BitString::default();
        let mut r = self.reader()?;
        let mut last_unused = 0u8;
        while !r.is_empty() {
            let piece = r.read()?;
            if piece.tag.constructed {
                return Err(piece.error(ErrorKind::Unexpected {
                    expected: what,
                    found: piece.tag.to_string(),
                }));
            }
            if last_unused != 0 {
                return Err(piece.error(ErrorKind::Invalid(
                    "bit string segment after one with unused bits",
                )));
            }
            let (unused, bytes) = primitive_bits(piece.contents).map_err(|k| piece.error(k))?;
            last_unused = unused;
            out.bytes.extend_from_slice(bytes);
        }
        out.unused_bits = last_unused;
        Ok(out)
    }
}

/// An `Unexpected` error naming the tag found (out of line: it formats a string).
#[cold]
#[inline(never)]
fn unexpected(layer: Layer, offset: usize, expected: &'static str, found: Tag) -> DecodeError {
    DecodeError::new(
        layer,
        offset,
        ErrorKind::Unexpected {
            expected,
            found: found.to_string(),
        },
    )
}

fn with_what(kind: ErrorKind, what: &'static str, max_octets: usize) -> ErrorKind {
    match kind {
        ErrorKind::IntegerTooLong { .. } => ErrorKind::IntegerTooLong { what, max_octets },
        ErrorKind::Invalid(_) => ErrorKind::Invalid(what),
        other => other,
    }
}

fn primitive_bits(c: &[u8]) -> Result<(u8, &[u8]), ErrorKind> {
    let Some((&unused, bytes)) = c.split_first() else {
        return Err(ErrorKind::Invalid("empty bit string"));
    };
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return Err(ErrorKind::Invalid("bit string unused-bit count"));
    }
    Ok((unused, bytes))
}

/// Decodes two's-complement integer contents of at most `max_octets` octets.
pub fn decode_integer(c: &[u8], max_octets: usize) -> Result<i64, ErrorKind> {
    if c.is_empty() {
        return Err(ErrorKind::Invalid("integer"));
    }
    // A leading 00 before an octet with the top bit set is needed for positive values; accept one
    // such octet beyond the limit so that a 4-octet unsigned field still fits.
    let significant = if c.len() > 1 && c[0] == 0 && c[1] & 0x80 != 0 {
        &c[1..]
    } else {
        c
    };
    if significant.len() > max_octets || c.len() > 8 {
        return Err(ErrorKind::IntegerTooLong {
            what: "integer",
            max_octets,
        });
    }
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | b as i64;
    }
    Ok(v)
}

fn parse_tag(data: &[u8], pos: usize) -> Result<(Tag, usize), ErrorKind> {
    let first = *data.get(pos).ok_or(ErrorKind::Truncated {
        what: "identifier",
        needed: 1,
        available: 0,
    })?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    let low = (first & 0x1F) as u32;
    if low != 0x1F {
        return Ok((
            Tag {
                class,
                constructed,
                number: low,
            },
            1,
        ));
    }
    let mut number: u32 = 0;
    let mut i = 1;
    loop {
        if i >= MAX_IDENTIFIER_OCTETS {
            return Err(ErrorKind::LimitExceeded {
                what: "identifier octets",
                limit: MAX_IDENTIFIER_OCTETS,
            });
        }
        let b = *data.get(pos + i).ok_or(ErrorKind::Truncated {
            what: "identifier",
            needed: i + 1,
            available: data.len() - pos,
        })?;
        if i == 1 && b == 0x80 {
            return Err(ErrorKind::Invalid("identifier with a leading zero septet"));
        }
        number = (number << 7) | (b & 0x7F) as u32;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok((
        Tag {
            class,
            constructed,
            number,
        },
        i,
    ))
}

/// The identifier and length octets at the start of `data`, read without the contents
/// (which may not have arrived yet): the tag, the number of header octets, and the contents
/// length (`None` for the indefinite form). The same checks as [`Reader::read`] makes of a
/// header; nothing is said about the contents.
pub fn peek_header(data: &[u8], layer: Layer) -> DecodeResult<(Tag, usize, Option<usize>)> {
    let h = parse_header(data, 0, layer, 0)?;
    Ok((h.tag, h.header_len, h.length))
}

#[inline]
fn parse_header(data: &[u8], pos: usize, layer: Layer, base: usize) -> DecodeResult<Header> {
    // The common one-octet identifier and short-form length; `parse_header_general` reads
    // these the same way.
    if let Some([id, first, ..]) = data.get(pos..)
        && id & 0x1F != 0x1F
        && *first < 0x80
    {
        return Ok(Header {
            tag: Tag::from_identifier(*id),
            header_len: 2,
            length: Some(usize::from(*first)),
        });
    }
    parse_header_general(data, pos, layer, base)
}

#[inline(never)]
fn parse_header_general(
    data: &[u8],
    pos: usize,
    layer: Layer,
    base: usize,
) -> DecodeResult<Header> {
    let err = |kind| DecodeError::new(layer, base + pos, kind);
    let (tag, tag_len) = parse_tag(data, pos).map_err(err)?;
    let lpos = pos + tag_len;
    let first = *data.get(lpos).ok_or_else(|| {
        err(ErrorKind::Truncated {
            what: "length",
            needed: tag_len + 1,
            available: data.len() - pos,
        })
    })?;
    if first < 0x80 {
        return Ok(Header {
            tag,
            header_len: tag_len + 1,
            length: Some(first as usize),
        });
    }
    if first == 0x80 {
        return Ok(Header {
            tag,
            header_len: tag_len + 1,
            length: None,
        });
    }
    if first == 0xFF {
        return Err(err(ErrorKind::BadLength("reserved length octet FF")));
    }
    let n = (first & 0x7F) as usize;
    let available = data.len() - lpos - 1;
    if n > available {
        return Err(err(ErrorKind::Truncated {
            what: "long-form length",
            needed: n,
            available,
        }));
    }
    let mut len: u64 = 0;
    for &b in &data[lpos + 1..lpos + 1 + n] {
        if len > (u64::MAX >> 8) {
            return Err(err(ErrorKind::BadLength("length does not fit 64 bits")));
        }
        len = (len << 8) | b as u64;
    }
    let len = usize::try_from(len).map_err(|_| err(ErrorKind::BadLength("length too large")))?;
    Ok(Header {
        tag,
        header_len: tag_len + 1 + n,
        length: Some(len),
    })
}

/// Finds the end-of-contents octets that close an indefinite-length element whose contents
/// start at `start` (at nesting depth `depth`); returns their position.
///
/// The scan is iterative: nested indefinite elements only increase a counter, so hostile input
/// cannot exhaust the stack whatever depth limit the caller configured.
fn find_end_of_contents(
    data: &[u8],
    start: usize,
    depth: usize,
    max_depth: usize,
    layer: Layer,
    base: usize,
) -> DecodeResult<usize> {
    if depth > max_depth {
        return Err(DecodeError::new(
            layer,
            base + start,
            ErrorKind::TooDeep { limit: max_depth },
        ));
    }
    // Number of indefinite elements opened inside the one being closed.
    let mut open: usize = 0;
    let mut pos = start;
    loop {
        let available = data.len().saturating_sub(pos);
        if available < 2 {
            return Err(DecodeError::new(
                layer,
                base + pos,
                ErrorKind::Truncated {
                    what: "end-of-contents octets",
                    needed: 2,
                    available,
                },
            ));
        }
        if data[pos] == 0 && data[pos + 1] == 0 {
            if open == 0 {
                return Ok(pos);
            }
            open -= 1;
            pos += 2;
            continue;
        }
        let h = parse_header(data, pos, layer, base)?;
        let content = pos + h.header_len;
        pos = match h.length {
            Some(len) => {
                let available = data.len() - content;
                if len > available {
                    return Err(DecodeError::new(
                        layer,
                        base + pos,
                        ErrorKind::Truncated {
                            what: "element contents",
                            needed: len,
                            available,
                        },
                    ));
                }
                content + len
            }
            None => {
                if !h.tag.constructed {
                    return Err(DecodeError::new(
                        layer,
                        base + pos,
                        ErrorKind::BadLength("indefinite length on a primitive element"),
                    ));
                }
                if depth.saturating_add(open).saturating_add(1) > max_depth {
                    return Err(DecodeError::new(
                        layer,
                        base + pos,
                        ErrorKind::TooDeep { limit: max_depth },
                    ));
                }
                open += 1;
                content
            }
        };
    }
}
