//! Small decoding helpers shared by the APDU codecs.

use guls_ber::{DecodeResult, Element, ErrorKind, External, Tag, Writer};

/// The most contents octets of an INTEGER in protocol control information (SIA 10.4).
pub(crate) const MAX_INTEGER_OCTETS: usize = 4;

/// An INTEGER (or ENUMERATED) of at most four contents octets.
pub(crate) fn small_integer(e: &Element<'_>, what: &'static str) -> DecodeResult<i64> {
    e.integer(what, MAX_INTEGER_OCTETS)
}

/// The one element inside an explicitly tagged field.
pub(crate) fn explicit_inner<'a>(e: &Element<'a>, what: &'static str) -> DecodeResult<Element<'a>> {
    let mut r = e.reader()?;
    if r.is_empty() {
        return Err(r.error(ErrorKind::Missing(what)));
    }
    let inner = r.read()?;
    r.finish(what)?;
    Ok(inner)
}

/// Fails unless the element is constructed (the form an explicit tag requires).
pub(crate) fn expect_constructed(e: &Element<'_>, what: &'static str) -> DecodeResult<()> {
    if e.tag.constructed {
        Ok(())
    } else {
        Err(e.error(ErrorKind::Unexpected {
            expected: what,
            found: e.tag.to_string(),
        }))
    }
}

/// An INTEGER inside an explicit tag (`[n] INTEGER`).
pub(crate) fn explicit_integer(e: &Element<'_>, what: &'static str) -> DecodeResult<i64> {
    expect_constructed(e, what)?;
    let inner = explicit_inner(e, what)?;
    if !inner.tag.same_number(Tag::INTEGER) {
        return Err(inner.error(ErrorKind::Unexpected {
            expected: what,
            found: inner.tag.to_string(),
        }));
    }
    small_integer(&inner, what)
}

/// `Association-information ::= SEQUENCE OF EXTERNAL` (the contents of `[30] IMPLICIT`).
pub(crate) fn decode_user_information(e: &Element<'_>) -> DecodeResult<Vec<External>> {
    expect_constructed(e, "user-information [30] SEQUENCE OF EXTERNAL")?;
    let mut r = e.reader()?;
    let mut out = Vec::new();
    while !r.is_empty() {
        let x = r.read()?;
        if x.tag != Tag::EXTERNAL {
            return Err(x.error(ErrorKind::Unexpected {
                expected: "EXTERNAL in user-information",
                found: x.tag.to_string(),
            }));
        }
        out.push(External::decode(&x)?);
    }
    Ok(out)
}

/// Writes user-information when there is any.
pub(crate) fn encode_user_information(w: &mut Writer, ui: &[External]) {
    if ui.is_empty() {
        return;
    }
    w.constructed(Tag::context(30), |w| {
        for x in ui {
            x.encode(Tag::EXTERNAL, w);
        }
    });
}

/// Writes `[n] INTEGER` with an explicit tag.
pub(crate) fn encode_explicit_integer(w: &mut Writer, n: u32, v: i64) {
    w.constructed(Tag::context(n), |w| w.integer(Tag::INTEGER, v));
}

/// Tracks which fields of a SEQUENCE have been seen, to reject duplicates.
#[derive(Default)]
pub(crate) struct Seen(u64);

impl Seen {
    /// Records field number `n` (< 64); fails if it was already present.
    pub(crate) fn mark(&mut self, e: &Element<'_>, n: u32, what: &'static str) -> DecodeResult<()> {
        let bit = 1u64 << (n % 64);
        if self.0 & bit != 0 {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "each field at most once",
                found: format!("a second {what} {}", e.tag),
            }));
        }
        self.0 |= bit;
        Ok(())
    }
}
