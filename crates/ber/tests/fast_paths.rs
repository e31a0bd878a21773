//! The reader's and writer's fast paths against straightforward reference implementations (the
//! general algorithms as they stood before the fast paths): for arbitrary input, the same
//! elements or the same errors, and the same octets written.

use guls_ber::{
    BitString, Class, DecodeError, ErrorKind, Layer, MAX_IDENTIFIER_OCTETS, MAX_OID_OCTETS, Oid,
    OidError, Reader, Tag, Writer, decode_integer, integer_contents, peek_header, to_hex,
};
use proptest::prelude::*;

// ------------------------------------------------------------------ reference reader

/// What the reference reader reports for an element: the public fields of `Element`.
#[derive(Debug, Clone, PartialEq)]
struct RefElement {
    tag: Tag,
    offset: usize,
    content_offset: usize,
    contents: Vec<u8>,
    raw: Vec<u8>,
    indefinite: bool,
}

/// The state of a `Reader`, private fields included.
#[derive(Debug, Clone)]
struct RefReader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    layer: Layer,
    depth: usize,
    max_depth: usize,
}

struct RefHeader {
    tag: Tag,
    header_len: usize,
    length: Option<usize>,
}

fn ref_parse_tag(data: &[u8], pos: usize) -> Result<(Tag, usize), ErrorKind> {
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

fn ref_parse_header(
    data: &[u8],
    pos: usize,
    layer: Layer,
    base: usize,
) -> Result<RefHeader, DecodeError> {
    let err = |kind| DecodeError::new(layer, base + pos, kind);
    let (tag, tag_len) = ref_parse_tag(data, pos).map_err(err)?;
    let lpos = pos + tag_len;
    let first = *data.get(lpos).ok_or_else(|| {
        err(ErrorKind::Truncated {
            what: "length",
            needed: tag_len + 1,
            available: data.len() - pos,
        })
    })?;
    if first < 0x80 {
        return Ok(RefHeader {
            tag,
            header_len: tag_len + 1,
            length: Some(first as usize),
        });
    }
    if first == 0x80 {
        return Ok(RefHeader {
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
    Ok(RefHeader {
        tag,
        header_len: tag_len + 1 + n,
        length: Some(len),
    })
}

fn ref_find_end_of_contents(
    data: &[u8],
    start: usize,
    depth: usize,
    max_depth: usize,
    layer: Layer,
    base: usize,
) -> Result<usize, DecodeError> {
    if depth > max_depth {
        return Err(DecodeError::new(
            layer,
            base + start,
            ErrorKind::TooDeep { limit: max_depth },
        ));
    }
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
        let h = ref_parse_header(data, pos, layer, base)?;
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

impl<'a> RefReader<'a> {
    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn position(&self) -> usize {
        self.base + self.pos
    }

    fn error(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(self.layer, self.position(), kind)
    }

    fn peek_tag(&self) -> Result<Option<Tag>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let (tag, _) = ref_parse_tag(self.data, self.pos).map_err(|k| self.error(k))?;
        Ok(Some(tag))
    }

    /// Reads like `Reader::read`; also returns the reader over a constructed element's
    /// contents (or why there is none), as `Element::reader` would.
    fn read(&mut self) -> Result<(RefElement, Result<RefReader<'a>, DecodeError>), DecodeError> {
        if self.is_empty() {
            return Err(self.error(ErrorKind::Truncated {
                what: "element",
                needed: 1,
                available: 0,
            }));
        }
        let start = self.pos;
        let header = ref_parse_header(self.data, start, self.layer, self.base)?;
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
                let content_end = ref_find_end_of_contents(
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
        let e = RefElement {
            tag: header.tag,
            offset: self.base + start,
            content_offset: self.base + content_start,
            contents: self.data[content_start..content_end].to_vec(),
            raw: self.data[start..end].to_vec(),
            indefinite: header.length.is_none(),
        };
        let err = |kind| DecodeError::new(self.layer, self.base + start, kind);
        let inner = if !e.tag.constructed {
            Err(err(ErrorKind::Unexpected {
                expected: "a constructed element",
                found: e.tag.to_string(),
            }))
        } else if self.depth.saturating_add(1) > self.max_depth {
            Err(err(ErrorKind::TooDeep {
                limit: self.max_depth,
            }))
        } else {
            Ok(RefReader {
                data: &self.data[content_start..content_end],
                pos: 0,
                base: self.base + content_start,
                layer: self.layer,
                depth: self.depth + 1,
                max_depth: self.max_depth,
            })
        };
        Ok((e, inner))
    }

    fn read_tagged(
        &mut self,
        tag: Tag,
        what: &'static str,
    ) -> Result<(RefElement, Result<RefReader<'a>, DecodeError>), DecodeError> {
        let here = self.position();
        match self.peek_tag()? {
            Some(t) if t == tag => self.read(),
            Some(t) => Err(DecodeError::new(
                self.layer,
                here,
                ErrorKind::Unexpected {
                    expected: what,
                    found: t.to_string(),
                },
            )),
            None => Err(DecodeError::new(self.layer, here, ErrorKind::Missing(what))),
        }
    }

    #[allow(clippy::type_complexity)]
    fn read_optional(
        &mut self,
        tag: Tag,
    ) -> Result<Option<(RefElement, Result<RefReader<'a>, DecodeError>)>, DecodeError> {
        match self.peek_tag()? {
            Some(t) if t.same_number(tag) => self.read().map(Some),
            _ => Ok(None),
        }
    }
}

fn ref_decode_integer(c: &[u8], max_octets: usize) -> Result<i64, ErrorKind> {
    if c.is_empty() {
        return Err(ErrorKind::Invalid("integer"));
    }
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

/// `Element::integer` as it was: primitive check, then the decode, errors renamed.
fn ref_integer(
    e: &RefElement,
    layer: Layer,
    what: &'static str,
    max: usize,
) -> Result<i64, DecodeError> {
    let err = |kind| DecodeError::new(layer, e.offset, kind);
    if e.tag.constructed {
        return Err(err(ErrorKind::Unexpected {
            expected: what,
            found: e.tag.to_string(),
        }));
    }
    let max = max.min(8);
    ref_decode_integer(&e.contents, max).map_err(|k| {
        err(match k {
            ErrorKind::IntegerTooLong { .. } => ErrorKind::IntegerTooLong {
                what,
                max_octets: max,
            },
            ErrorKind::Invalid(_) => ErrorKind::Invalid(what),
            other => other,
        })
    })
}

fn check_element(real: &guls_ber::Element<'_>, reference: &RefElement) {
    let got = RefElement {
        tag: real.tag,
        offset: real.offset,
        content_offset: real.content_offset,
        contents: real.contents.to_vec(),
        raw: real.raw.to_vec(),
        indefinite: real.indefinite,
    };
    assert_eq!(&got, reference);
}

/// Drives the real reader and the reference through the same operations (chosen by `ops`),
/// descending into constructed elements, and requires identical results throughout.
fn compare(real: &mut Reader<'_>, reference: &mut RefReader<'_>, ops: &[u8], budget: &mut usize) {
    let mut op = 0usize;
    loop {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        assert_eq!(real.is_empty(), reference.is_empty());
        assert_eq!(real.position(), reference.position());
        assert_eq!(real.peek_tag(), reference.peek_tag());
        let choice = ops.get(op % ops.len().max(1)).copied().unwrap_or(0);
        op += 1;
        // The tag to ask for: the next one (when it parses), or one derived from the choice.
        let asked = match reference.peek_tag() {
            Ok(Some(t)) if choice & 0x10 == 0 => t,
            _ => Tag {
                class: match choice >> 6 {
                    0 => Class::Universal,
                    1 => Class::Application,
                    2 => Class::Context,
                    _ => Class::Private,
                },
                constructed: choice & 0x20 != 0,
                number: u32::from(choice & 0x0F) + if choice & 0x08 != 0 { 28 } else { 0 },
            },
        };
        let (got, want) = match choice % 4 {
            0 | 1 => (real.read(), reference.read()),
            2 => (
                real.read_tagged(asked, "x"),
                reference.read_tagged(asked, "x"),
            ),
            _ => match (real.read_optional(asked), reference.read_optional(asked)) {
                (Ok(None), Ok(None)) => {
                    if reference.is_empty() {
                        return;
                    }
                    // Nothing consumed: read it plainly so that the walk advances.
                    (real.read(), reference.read())
                }
                (Ok(Some(g)), Ok(Some(w))) => (Ok(g), Ok(w)),
                (Err(g), Err(w)) => (Err(g), Err(w)),
                (g, w) => panic!("read_optional: {g:?} against {w:?}"),
            },
        };
        match (got, want) {
            (Ok(g), Ok((w, w_inner))) => {
                check_element(&g, &w);
                assert_eq!(
                    g.integer("i", usize::from(choice % 10)),
                    ref_integer(&w, reference.layer, "i", usize::from(choice % 10))
                );
                match (g.reader(), w_inner) {
                    (Ok(mut gi), Ok(mut wi)) => {
                        compare(&mut gi, &mut wi, &ops[op % ops.len().max(1)..], budget)
                    }
                    (Err(ge), Err(we)) => assert_eq!(ge, we),
                    (g, w) => panic!("reader: {:?} against {:?}", g.map(|_| ()), w.map(|_| ())),
                }
            }
            (Err(g), Err(w)) => {
                assert_eq!(g, w);
                return;
            }
            (g, w) => panic!("read: {g:?} against {:?}", w.map(|(e, _)| e)),
        }
        if reference.is_empty() {
            assert!(real.is_empty());
            return;
        }
    }
}

/// Octets that look like BER often enough: small values (short lengths, low tags) and the
/// special octets (long-form and indefinite lengths, high-tag-number identifiers).
fn berish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => 0u8..6,
            2 => any::<u8>(),
            1 => prop::sample::select(vec![
                0x00, 0x02, 0x04, 0x06, 0x1F, 0x30, 0x31, 0x3F, 0x60, 0x7F, 0x80, 0x81, 0x82,
                0x83, 0x84, 0x89, 0xA0, 0xA1, 0xBF, 0xFF,
            ]),
        ],
        0..80,
    )
}

fn any_layer() -> impl Strategy<Value = Layer> {
    prop::sample::select(vec![
        Layer::Session,
        Layer::Presentation,
        Layer::Acse,
        Layer::Application,
    ])
}

// ------------------------------------------------------------------ reference writer

/// The writer as it was: identifier by `Tag::encode`'s general algorithm, a minimal length,
/// and for a constructed definite element the length octets spliced in after the contents.
#[derive(Default)]
struct RefWriter {
    buf: Vec<u8>,
}

fn ref_encode_tag(tag: Tag, out: &mut Vec<u8>) {
    let class_bits = match tag.class {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::Context => 0x80,
        Class::Private => 0xC0,
    };
    let form = if tag.constructed { 0x20 } else { 0x00 };
    if tag.number < 31 {
        out.push(class_bits | form | tag.number as u8);
    } else {
        out.push(class_bits | form | 0x1F);
        let mut septets = [0u8; 5];
        let mut n = 0;
        let mut v = tag.number;
        loop {
            septets[n] = (v & 0x7F) as u8;
            n += 1;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            let cont = if i > 0 { 0x80 } else { 0 };
            out.push(septets[i] | cont);
        }
    }
}

fn ref_length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

fn ref_encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let n = ref_length_len(len) - 1;
        out.push(0x80 | n as u8);
        for i in (0..n).rev() {
            out.push((len >> (8 * i)) as u8);
        }
    }
}

fn ref_integer_contents(v: i64) -> ([u8; 8], usize) {
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

impl RefWriter {
    fn primitive(&mut self, tag: Tag, contents: &[u8]) {
        ref_encode_tag(tag.primitive(), &mut self.buf);
        ref_encode_length(contents.len(), &mut self.buf);
        self.buf.extend_from_slice(contents);
    }

    fn constructed_definite(&mut self, tag: Tag, f: impl FnOnce(&mut RefWriter)) {
        ref_encode_tag(tag.constructed(), &mut self.buf);
        let len_pos = self.buf.len();
        self.buf.push(0);
        f(self);
        let content_len = self.buf.len() - len_pos - 1;
        if content_len < 0x80 {
            self.buf[len_pos] = content_len as u8;
        } else {
            let n = ref_length_len(content_len) - 1;
            self.buf[len_pos] = 0x80 | n as u8;
            let be = content_len.to_be_bytes();
            self.buf
                .splice(len_pos + 1..len_pos + 1, be[be.len() - n..].iter().copied());
        }
    }

    fn constructed_indefinite(&mut self, tag: Tag, f: impl FnOnce(&mut RefWriter)) {
        ref_encode_tag(tag.constructed(), &mut self.buf);
        self.buf.push(0x80);
        f(self);
        self.buf.extend_from_slice(&[0, 0]);
    }
}

/// What a test writes: every kind of value the writer has.
#[derive(Debug, Clone)]
enum Node {
    Prim(Tag, Vec<u8>),
    Integer(Tag, i64),
    Boolean(Tag, bool),
    Oid(Tag, Vec<u8>),
    Bits(Tag, u8, Vec<u8>),
    LongForm(Tag, Vec<u8>, u8),
    Cons(Tag, bool, Vec<Node>),
}

fn any_tag() -> impl Strategy<Value = Tag> {
    (
        0u8..4,
        prop_oneof![4 => 0u32..31, 1 => 31u32..200, 1 => any::<u32>()],
        any::<bool>(),
    )
        .prop_map(|(c, number, constructed)| Tag {
            class: match c {
                0 => Class::Universal,
                1 => Class::Application,
                2 => Class::Context,
                _ => Class::Private,
            },
            constructed,
            number,
        })
}

fn any_contents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..8),
        2 => prop::collection::vec(any::<u8>(), 120..136),
        1 => prop::collection::vec(any::<u8>(), 250..260),
        1 => prop::collection::vec(any::<u8>(), 0..700),
    ]
}

fn any_node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (any_tag(), any_contents()).prop_map(|(t, c)| Node::Prim(t, c)),
        (
            any_tag(),
            prop_oneof![any::<i64>(), -300i64..300, Just(i64::MIN), Just(i64::MAX)]
        )
            .prop_map(|(t, v)| Node::Integer(t, v)),
        (any_tag(), any::<bool>()).prop_map(|(t, v)| Node::Boolean(t, v)),
        (any_tag(), prop::collection::vec(any::<u8>(), 1..30)).prop_map(|(t, c)| Node::Oid(t, c)),
        (any_tag(), 0u8..8, any_contents()).prop_map(|(t, u, c)| Node::Bits(t, u, c)),
        (any_tag(), any_contents(), any::<u8>()).prop_map(|(t, c, o)| Node::LongForm(t, c, o)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        (any_tag(), any::<bool>(), prop::collection::vec(inner, 0..6))
            .prop_map(|(t, ind, kids)| Node::Cons(t, ind, kids))
    })
}

fn write_real(w: &mut Writer, n: &Node) {
    match n {
        Node::Prim(t, c) => w.primitive(*t, c),
        Node::Integer(t, v) => w.integer(*t, *v),
        Node::Boolean(t, v) => w.boolean(*t, *v),
        Node::Oid(t, c) => match Oid::from_content(c) {
            Ok(o) => w.oid(*t, &o),
            Err(_) => w.primitive(*t, c),
        },
        Node::Bits(t, u, c) => w.bit_string(
            *t,
            &BitString {
                unused_bits: *u,
                bytes: c.clone(),
            },
        ),
        Node::LongForm(t, c, o) => w.primitive_long_form(*t, c, *o),
        Node::Cons(t, true, kids) => w.constructed_indefinite(*t, |w| {
            kids.iter().for_each(|k| write_real(w, k));
        }),
        Node::Cons(t, false, kids) => w.constructed(*t, |w| {
            kids.iter().for_each(|k| write_real(w, k));
        }),
    }
}

fn write_ref(w: &mut RefWriter, n: &Node) {
    match n {
        Node::Prim(t, c) => w.primitive(*t, c),
        Node::Integer(t, v) => {
            let (c, n) = ref_integer_contents(*v);
            w.primitive(*t, &c[..n]);
        }
        Node::Boolean(t, v) => w.primitive(*t, &[if *v { 0xFF } else { 0x00 }]),
        // An OID's contents are its octets, valid or not (the real side writes invalid
        // ones as a plain primitive).
        Node::Oid(t, c) => w.primitive(*t, c),
        Node::Bits(t, u, c) => {
            ref_encode_tag(t.primitive(), &mut w.buf);
            ref_encode_length(c.len() + 1, &mut w.buf);
            w.buf.push(*u);
            w.buf.extend_from_slice(c);
        }
        Node::LongForm(t, c, o) => {
            ref_encode_tag(t.primitive(), &mut w.buf);
            let needed = (ref_length_len(c.len()) - 1).max(1) as u8;
            let octets = (*o).clamp(1, 8).max(needed);
            w.buf.push(0x80 | octets);
            for i in (0..octets as usize).rev() {
                w.buf.push((c.len() >> (8 * i)) as u8);
            }
            w.buf.extend_from_slice(c);
        }
        Node::Cons(t, true, kids) => w.constructed_indefinite(*t, |w| {
            kids.iter().for_each(|k| write_ref(w, k));
        }),
        Node::Cons(t, false, kids) => w.constructed_definite(*t, |w| {
            kids.iter().for_each(|k| write_ref(w, k));
        }),
    }
}

// ------------------------------------------------------------------ reference OID check

/// `Oid::from_content`'s validation as it was (a sub-identifier at a time).
fn ref_validate_oid(content: &[u8]) -> Result<(), OidError> {
    if content.is_empty() {
        return Err(OidError::Empty);
    }
    if content.len() > MAX_OID_OCTETS {
        return Err(OidError::TooLong);
    }
    if content[content.len() - 1] & 0x80 != 0 {
        return Err(OidError::Malformed);
    }
    let mut start = true;
    let mut septets = 0;
    let mut top = 0u8;
    for &b in content {
        if start {
            if b == 0x80 {
                return Err(OidError::Malformed);
            }
            top = b & 0x7F;
        }
        septets += 1;
        if septets > 19 || (septets == 19 && top >= 4) {
            return Err(OidError::ArcRange);
        }
        start = b & 0x80 == 0;
        if start {
            septets = 0;
        }
    }
    Ok(())
}

/// OID contents with many continuation octets and 0x80s, around the inline size.
fn oidish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => 0x80u8..=0xFF,
            2 => 0u8..0x80,
            1 => Just(0x80u8),
            1 => 0x80u8..0x84,
        ],
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn reader_matches_reference(
        data in berish(),
        ops in prop::collection::vec(any::<u8>(), 1..16),
        base in prop_oneof![Just(0usize), 0usize..100_000],
        max_depth in 0usize..6,
        layer in any_layer(),
    ) {
        let mut real = Reader::new(&data, layer).with_base(base).with_max_depth(max_depth);
        let mut reference = RefReader { data: &data, pos: 0, base, layer, depth: 0, max_depth };
        let mut budget = 2_000;
        compare(&mut real, &mut reference, &ops, &mut budget);
    }

    #[test]
    fn reader_matches_reference_on_writer_output(
        node in any_node(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ops in prop::collection::vec(any::<u8>(), 1..16),
        max_depth in 0usize..8,
    ) {
        let mut w = Writer::new();
        write_real(&mut w, &node);
        let mut data = w.into_bytes();
        for (i, b) in edits {
            if !data.is_empty() {
                let i = i.index(data.len());
                data[i] = b;
            }
        }
        let mut real = Reader::new(&data, Layer::Acse).with_max_depth(max_depth);
        let mut reference =
            RefReader { data: &data, pos: 0, base: 0, layer: Layer::Acse, depth: 0, max_depth };
        let mut budget = 2_000;
        compare(&mut real, &mut reference, &ops, &mut budget);
    }

    #[test]
    fn peek_header_matches_reference(data in berish(), layer in any_layer()) {
        let want = ref_parse_header(&data, 0, layer, 0).map(|h| (h.tag, h.header_len, h.length));
        prop_assert_eq!(peek_header(&data, layer), want);
    }

    #[test]
    fn decode_integer_matches_reference(
        c in prop::collection::vec(any::<u8>(), 0..10),
        max in 0usize..10,
    ) {
        prop_assert_eq!(decode_integer(&c, max), ref_decode_integer(&c, max));
    }

    #[test]
    fn oid_from_content_matches_reference(c in oidish()) {
        match (Oid::from_content(&c), ref_validate_oid(&c)) {
            (Ok(o), Ok(())) => prop_assert_eq!(o.as_bytes(), &c[..]),
            (Err(g), Err(w)) => prop_assert_eq!(g, w),
            (g, w) => prop_assert!(false, "{:02x?}: {:?} against {:?}", c, g, w),
        }
    }

    #[test]
    fn writer_matches_reference(nodes in prop::collection::vec(any_node(), 1..4)) {
        let mut w = Writer::new();
        let mut r = RefWriter::default();
        for n in &nodes {
            write_real(&mut w, n);
            write_ref(&mut r, n);
        }
        prop_assert_eq!(w.into_bytes(), r.buf);
    }

    #[test]
    fn tag_encode_matches_reference(tag in any_tag()) {
        let mut got = vec![0xEE];
        tag.encode(&mut got);
        let mut want = vec![0xEE];
        ref_encode_tag(tag, &mut want);
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(tag.encoded_len(), want.len() - 1);
    }

    #[test]
    fn integer_contents_matches_reference(v in prop_oneof![any::<i64>(), -70_000i64..70_000]) {
        prop_assert_eq!(integer_contents(v), ref_integer_contents(v));
    }

    #[test]
    fn to_hex_matches_reference(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        prop_assert_eq!(to_hex(&bytes), want);
    }
}

/// Every OID of one to 22 octets over a small alphabet (continuation octets, 0x80, a
/// terminator): the inline check against the reference, exhaustively where it is cheap.
#[test]
fn oid_inline_check_exhaustive_small() {
    let alphabet = [0x00u8, 0x01, 0x7F, 0x80, 0x81, 0xFF];
    for len in 1..=6usize {
        let mut idx = vec![0usize; len];
        loop {
            let c: Vec<u8> = idx.iter().map(|&i| alphabet[i]).collect();
            let got = Oid::from_content(&c).map(|o| o.as_bytes().to_vec());
            let want = ref_validate_oid(&c).map(|()| c.clone());
            assert_eq!(got, want, "{c:02x?}");
            let mut k = 0;
            while k < len {
                idx[k] += 1;
                if idx[k] < alphabet.len() {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
            if k == len {
                break;
            }
        }
    }
    // Long runs of continuation octets around the 18-octet boundary, with a small or large
    // first septet, at every inline length.
    for len in 1..=24usize {
        for run in 0..len {
            for first in [0x81u8, 0x83, 0x84, 0xFF] {
                let mut c = vec![0x01u8; len];
                for b in c.iter_mut().skip(len - 1 - run).take(run) {
                    *b = 0xFF;
                }
                if run > 0 {
                    c[len - 1 - run] = first;
                }
                let got = Oid::from_content(&c).map(|o| o.as_bytes().to_vec());
                let want = ref_validate_oid(&c).map(|()| c.clone());
                assert_eq!(got, want, "{c:02x?}");
            }
        }
    }
}

/// Every two- and three-octet input, and every header before short contents: the reader,
/// `read_tagged` and `read_optional` against the reference.
#[test]
fn reader_exhaustive_short_inputs() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for a in 0..=255u8 {
        inputs.push(vec![a]);
        for b in 0..=255u8 {
            inputs.push(vec![a, b]);
            inputs.push(vec![a, b, 0x00]);
            inputs.push(vec![a, b, 0x01, 0x05]);
            inputs.push(vec![a, b, 0x00, 0x02, 0x05, 0x00, 0x00]);
        }
    }
    for data in &inputs {
        for ops in [[0u8], [2], [3], [0x12], [0x13]] {
            let mut real = Reader::new(data, Layer::Session).with_base(7);
            let mut reference = RefReader {
                data,
                pos: 0,
                base: 7,
                layer: Layer::Session,
                depth: 0,
                max_depth: 1,
            };
            real = real.with_max_depth(1);
            let mut budget = 50;
            compare(&mut real, &mut reference, &ops, &mut budget);
        }
    }
}
