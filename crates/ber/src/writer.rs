//! A BER writer that emits one canonical form: definite, minimal lengths, unless the caller
//! asks for the indefinite form (RFC 1698 templates) for constructed elements.

use crate::oid::Oid;
use crate::reader::BitString;
use crate::tag::Tag;

/// How a constructed element's length is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LengthForm {
    /// Definite, minimal length (the canonical form; the default).
    #[default]
    Definite,
    /// `80 … 00 00`, the shape the RFC 1698 templates use.
    Indefinite,
}

/// Number of octets a definite length occupies.
pub fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

/// Appends a definite, minimal length.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let n = length_len(len) - 1;
        out.push(0x80 | n as u8);
        for i in (0..n).rev() {
            out.push((len >> (8 * i)) as u8);
        }
    }
}

/// Minimal two's-complement contents of an integer.
pub fn integer_contents(v: i64) -> ([u8; 8], usize) {
    // The octets needed are those holding the significant bits plus a sign bit: 64 less the
    // redundant leading sign bits (leading zeros of `v`, or of `!v` when negative), plus one.
    let redundant = (v ^ (v >> 63)).leading_zeros() as usize;
    let n = (72 - redundant) / 8;
    // Shift the n octets to the front; the rest of the array stays zero.
    let out = ((v as u64) << (64 - 8 * n)).to_be_bytes();
    (out, n)
}

/// Builds BER encodings into a growing buffer.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    form: LengthForm,
}

impl Writer {
    /// An empty writer using definite lengths.
    pub fn new() -> Self {
        Writer::default()
    }

    /// An empty writer with the given length form for constructed elements.
    pub fn with_form(form: LengthForm) -> Self {
        Writer {
            buf: Vec::new(),
            form,
        }
    }

    /// A writer that appends to `buf`.
    pub fn from_vec(buf: Vec<u8>, form: LengthForm) -> Self {
        Writer { buf, form }
    }

    /// The length form used for constructed elements.
    pub fn form(&self) -> LengthForm {
        self.form
    }

    /// The octets written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of octets written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The finished encoding.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Appends octets as they are (an already-encoded element).
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A primitive element with the given contents.
    pub fn primitive(&mut self, tag: Tag, contents: &[u8]) {
        // A one-octet identifier and a short-form length: one two-octet header.
        if tag.number < 31 && contents.len() < 0x80 {
            let header = [tag.primitive().short_identifier(), contents.len() as u8];
            self.buf.reserve(2 + contents.len());
            self.buf.extend_from_slice(&header);
            self.buf.extend_from_slice(contents);
        } else {
            self.primitive_general(tag, contents);
        }
    }

    /// [`Writer::primitive`] for any tag and length.
    #[inline(never)]
    fn primitive_general(&mut self, tag: Tag, contents: &[u8]) {
        tag.primitive().encode(&mut self.buf);
        encode_length(contents.len(), &mut self.buf);
        self.buf.extend_from_slice(contents);
    }

    /// A primitive element whose length is written in the long form with `octets` length
    /// octets (RFC 1698 6.4's fixed data header, `81 83 yy yy yy`). The tag is forced to the
    /// primitive form. See [`Writer::long_form_length`] for how `octets` is adjusted.
    pub fn primitive_long_form(&mut self, tag: Tag, contents: &[u8], octets: u8) {
        tag.primitive().encode(&mut self.buf);
        self.long_form_length(contents.len(), octets);
        self.buf.extend_from_slice(contents);
    }

    /// Appends a long-form length with `octets` length octets (clamped to 1..=8). When `len`
    /// does not fit in that many octets, the minimal number of octets that holds it is used
    /// instead, so the encoding is never corrupt.
    pub fn long_form_length(&mut self, len: usize, octets: u8) {
        let needed = (length_len(len) - 1).max(1) as u8;
        let octets = octets.clamp(1, 8).max(needed);
        self.buf.push(0x80 | octets);
        for i in (0..octets as usize).rev() {
            self.buf.push((len >> (8 * i)) as u8);
        }
    }

    /// A constructed element whose contents `f` writes, with this writer's length form.
    pub fn constructed(&mut self, tag: Tag, f: impl FnOnce(&mut Writer)) {
        match self.form {
            LengthForm::Definite => self.constructed_definite(tag, f),
            LengthForm::Indefinite => self.constructed_indefinite(tag, f),
        }
    }

    /// A constructed element with a definite, minimal length whatever this writer's form.
    #[inline]
    pub fn constructed_definite(&mut self, tag: Tag, f: impl FnOnce(&mut Writer)) {
        let len_pos = self.open_definite(tag);
        f(self);
        self.close_definite(len_pos);
    }

    /// Writes the identifier and a one-octet length placeholder; returns the placeholder's
    /// position. The part of [`Writer::constructed_definite`] that does not depend on `f`.
    #[inline]
    fn open_definite(&mut self, tag: Tag) -> usize {
        let tag = tag.constructed();
        if tag.number < 31 {
            self.buf.extend_from_slice(&[tag.short_identifier(), 0]);
        } else {
            tag.encode(&mut self.buf);
            self.buf.push(0);
        }
        self.buf.len() - 1
    }

    /// Fills in the length placeholder at `len_pos` now that the contents follow it.
    #[inline]
    fn close_definite(&mut self, len_pos: usize) {
        let content_len = self.buf.len() - len_pos - 1;
        if content_len < 0x80 {
            self.buf[len_pos] = content_len as u8;
        } else {
            self.insert_long_length(len_pos, content_len);
        }
    }

    /// Turns the one-octet length placeholder at `len_pos` into the long form of `content_len`:
    /// `0x80 | n` there, and n length octets inserted after it (the contents move up n octets).
    #[inline(never)]
    fn insert_long_length(&mut self, len_pos: usize, content_len: usize) {
        let n = length_len(content_len) - 1;
        let contents = len_pos + 1;
        let old_end = self.buf.len();
        self.buf[len_pos] = 0x80 | n as u8;
        // Grow by n octets (a fixed eight-octet append cut back, rather than a fill of n),
        // move the contents up, and write the length octets in the gap.
        self.buf.extend_from_slice(&[0; 8]);
        self.buf.truncate(old_end + n);
        self.buf.copy_within(contents..old_end, contents + n);
        let mut v = content_len;
        for octet in self.buf[contents..contents + n].iter_mut().rev() {
            *octet = v as u8;
            v >>= 8;
        }
    }

    /// A constructed element in the indefinite form whatever this writer's form.
    pub fn constructed_indefinite(&mut self, tag: Tag, f: impl FnOnce(&mut Writer)) {
        tag.constructed().encode(&mut self.buf);
        self.buf.push(0x80);
        f(self);
        self.buf.extend_from_slice(&[0, 0]);
    }

    /// An INTEGER (minimal contents) under `tag`.
    pub fn integer(&mut self, tag: Tag, v: i64) {
        let (c, n) = integer_contents(v);
        if tag.number < 31 {
            // Identifier, length and all eight octets in one fixed-size append, then cut back
            // to the n octets used (no variable-length copy).
            let mut enc = [0u8; 10];
            enc[0] = tag.primitive().short_identifier();
            enc[1] = n as u8;
            enc[2..].copy_from_slice(&c);
            self.buf.extend_from_slice(&enc);
            self.buf.truncate(self.buf.len() - (8 - n));
        } else {
            self.primitive(tag, &c[..n]);
        }
    }

    /// A BOOLEAN under `tag` (TRUE as FF).
    pub fn boolean(&mut self, tag: Tag, v: bool) {
        self.primitive(tag, &[if v { 0xFF } else { 0x00 }]);
    }

    /// An OBJECT IDENTIFIER under `tag`.
    pub fn oid(&mut self, tag: Tag, oid: &Oid) {
        self.primitive(tag, oid.as_bytes());
    }

    /// A BIT STRING under `tag`.
    pub fn bit_string(&mut self, tag: Tag, bits: &BitString) {
        tag.primitive().encode(&mut self.buf);
        encode_length(bits.bytes.len() + 1, &mut self.buf);
        self.buf.push(bits.unused_bits);
        self.buf.extend_from_slice(&bits.bytes);
    }
}
