//! Length indicators and the PI/PGI walk shared by every SPDU.

use crate::error::EncodeError;
use guls_ber::{DecodeError, DecodeResult, ErrorKind, Layer};

/// Largest value of a session length indicator (3-octet form).
pub(crate) const MAX_LI: usize = 0xFFFF;

pub(crate) fn err(offset: usize, kind: ErrorKind) -> DecodeError {
    DecodeError::new(Layer::Session, offset, kind)
}

/// A parameter (PI) or parameter group (PGI) this codec does not interpret, kept raw for
/// display. For a PGI the value holds its encoded sub-parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawParameter {
    /// The PI or PGI code.
    pub code: u8,
    /// The parameter value.
    pub value: Vec<u8>,
}

/// Reads a length indicator at `pos`, which must lie before `end`: one octet (0..=254) or
/// `FF hi lo` (any value). Returns the value and the octets the LI occupies.
pub(crate) fn read_li(
    data: &[u8],
    pos: usize,
    end: usize,
    what: &'static str,
) -> DecodeResult<(usize, usize)> {
    let avail = end.saturating_sub(pos);
    match data.get(pos) {
        Some(&b) if pos < end && b != 0xFF => Ok((usize::from(b), 1)),
        Some(_) if avail >= 3 => match data.get(pos + 1..pos + 3) {
            Some(&[hi, lo]) => Ok((usize::from(u16::from_be_bytes([hi, lo])), 3)),
            _ => Err(truncated(pos, what, 3, avail)),
        },
        Some(_) if pos < end => Err(truncated(pos, what, 3, avail)),
        _ => Err(truncated(pos, what, 1, avail)),
    }
}

pub(crate) fn truncated(
    at: usize,
    what: &'static str,
    needed: usize,
    available: usize,
) -> DecodeError {
    err(
        at,
        ErrorKind::Truncated {
            what,
            needed,
            available,
        },
    )
}

/// One parameter found by [`params`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param<'a> {
    /// The PI/PGI code.
    pub code: u8,
    /// Offset of the code octet.
    pub offset: usize,
    /// Offset of the first value octet.
    pub value_offset: usize,
    /// The value.
    pub value: &'a [u8],
}

impl Param<'_> {
    /// Offset of the parameter's LI (where length errors are reported).
    pub fn li_offset(&self) -> usize {
        self.offset + 1
    }

    pub fn raw(&self) -> RawParameter {
        RawParameter {
            code: self.code,
            value: self.value.to_vec(),
        }
    }
}

/// Walks the parameters in `[start, end)`; every LI must keep its value inside `end`.
pub(crate) fn params(
    data: &[u8],
    start: usize,
    end: usize,
) -> impl Iterator<Item = DecodeResult<Param<'_>>> {
    let mut pos = start;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= end {
            return None;
        }
        let item = (|| {
            let code = *data
                .get(pos)
                .ok_or_else(|| truncated(pos, "PI/PGI", 2, end.saturating_sub(pos)))?;
            let (len, n) = read_li(data, pos + 1, end, "PI/PGI length indicator")?;
            let value_offset = pos + 1 + n;
            let value_end = value_offset + len;
            if value_end > end {
                return Err(truncated(
                    pos + 1,
                    "PI/PGI value",
                    len,
                    end.saturating_sub(value_offset),
                ));
            }
            let p = Param {
                code,
                offset: pos,
                value_offset,
                value: data.get(value_offset..value_end).unwrap_or_default(),
            };
            pos = value_end;
            Ok(p)
        })();
        failed = item.is_err();
        Some(item)
    })
}

/// Appends a length indicator in the shortest form (255 and above as `FF hi lo`).
pub(crate) fn put_li(len: usize, what: &'static str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if len < 255 {
        out.push(len as u8);
        Ok(())
    } else {
        let v = u16::try_from(len).map_err(|_| EncodeError::TooLong {
            what,
            len,
            max: MAX_LI,
        })?;
        out.push(0xFF);
        out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }
}

/// Appends a PI or PGI with its value.
pub(crate) fn put_param(out: &mut Vec<u8>, code: u8, value: &[u8]) -> Result<(), EncodeError> {
    out.push(code);
    put_li(value.len(), "PI/PGI value", out)?;
    out.extend_from_slice(value);
    Ok(())
}

/// Appends a PGI whose value `body` writes in place (no temporary buffer): the octets of
/// [`put_param`] with that value. A one-octet LI placeholder is widened when the value is
/// 255 octets or more. On an error `out` may hold a partial PGI (the SPDU encoder drops it).
pub(crate) fn put_group(
    out: &mut Vec<u8>,
    code: u8,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    out.push(code);
    let li_at = out.len();
    out.push(0);
    body(out)?;
    let len = out.len() - li_at - 1;
    if len < 255 {
        out[li_at] = len as u8;
        return Ok(());
    }
    let v = u16::try_from(len).map_err(|_| EncodeError::TooLong {
        what: "PI/PGI value",
        len,
        max: MAX_LI,
    })?;
    out[li_at] = 0xFF;
    out.extend_from_slice(&[0, 0]);
    out.copy_within(li_at + 1..li_at + 1 + len, li_at + 3);
    out[li_at + 1..li_at + 3].copy_from_slice(&v.to_be_bytes());
    Ok(())
}

/// The value of a one-octet PI.
pub(crate) fn one_octet(p: &Param<'_>, what: &'static str) -> DecodeResult<u8> {
    match p.value {
        &[b] => Ok(b),
        _ => Err(err(p.li_offset(), ErrorKind::BadLength(what))),
    }
}

/// Stores a decoded parameter, rejecting a second occurrence.
pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    p: &Param<'_>,
    what: &'static str,
) -> DecodeResult<()> {
    if slot.is_some() {
        return Err(err(
            p.offset,
            ErrorKind::Unexpected {
                expected: what,
                found: format!("a second PI/PGI {}", p.code),
            },
        ));
    }
    *slot = Some(value);
    Ok(())
}
