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
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let b = bytes[start];
        let next = bytes[start + 1];
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    let mut out = [0u8; 8];
    let n = 8 - start;
    out[..n].copy_from_slice(&bytes[start..]);
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
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A primitive element with the given contents.
    pub fn primitive(&mut self, tag: Tag, contents: &[u8]) {
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
    pub fn constructed_definite(&mut self, tag: Tag, f: impl FnOnce(&mut Writer)) {
        tag.constructed().encode(&mut self.buf);
        let len_pos = self.buf.len();
        self.buf.push(0);
        f(self);
        let content_len = self.buf.len() - len_pos - 1;
        if content_len < 0x80 {
            self.buf[len_pos] = content_len as u8;
        } else {
            // Long form: 0x80 | n, then n length octets, inserted after the placeholder.
            let n = length_len(content_len) - 1;
            self.buf[len_pos] = 0x80 | n as u8;
            let be = content_len.to_be_bytes();
            self.buf
                .splice(len_pos + 1..len_pos + 1, be[be.len() - n..].iter().copied());
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
        self.primitive(tag, &c[..n]);
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
