//! RFC 1006 TPKT framing: `03 00 <length, 16 bits, including the 4 header octets>` + TPDU.

use crate::error::EncodeError;
use guls_ber::{DecodeError, DecodeResult, ErrorKind, Layer};

/// The only TPKT version (RFC 1006).
pub const TPKT_VERSION: u8 = 3;
/// Octets in the TPKT header.
pub const TPKT_HEADER_LEN: usize = 4;
/// The smallest legal TPKT: the header plus a 3-octet TPDU (RFC 1006).
pub const MIN_TPKT_LEN: usize = 7;
/// The largest TPKT the 16-bit length field can express.
pub const MAX_TPKT_LEN: usize = 65_535;
/// The largest payload (TPDU) one TPKT can carry.
pub const MAX_TPKT_PAYLOAD: usize = MAX_TPKT_LEN - TPKT_HEADER_LEN;

fn err(offset: usize, kind: ErrorKind) -> DecodeError {
    DecodeError::new(Layer::Tpkt, offset, kind)
}

/// Appends one TPKT carrying `payload` (a whole TPDU, 3 to [`MAX_TPKT_PAYLOAD`] octets).
pub fn encode_tpkt(payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let total = tpkt_total(payload.len())?;
    out.reserve(usize::from(total));
    out.extend_from_slice(&[TPKT_VERSION, 0]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// The length field of a TPKT carrying a payload of `payload_len` octets, or the error when
/// the payload is too short or too long for one TPKT.
pub(crate) fn tpkt_total(payload_len: usize) -> Result<u16, EncodeError> {
    let min = MIN_TPKT_LEN - TPKT_HEADER_LEN;
    if payload_len < min {
        return Err(EncodeError::TooShort {
            what: "TPKT payload",
            len: payload_len,
            min,
        });
    }
    u16::try_from(payload_len + TPKT_HEADER_LEN).map_err(|_| EncodeError::TooLong {
        what: "TPKT payload",
        len: payload_len,
        max: MAX_TPKT_PAYLOAD,
    })
}

/// Looks at the start of a receive buffer and returns the length of the complete TPKT at its
/// head, `None` when more octets are needed, or an error when the header is invalid.
///
/// `max` is the largest TPKT the caller accepts (at most [`MAX_TPKT_LEN`] is meaningful). The
/// version octet is checked as soon as it arrives; the reserved octet is ignored.
pub fn next_frame(buf: &[u8], max: usize) -> DecodeResult<Option<usize>> {
    let Some(&version) = buf.first() else {
        return Ok(None);
    };
    if version != TPKT_VERSION {
        return Err(err(
            0,
            ErrorKind::Unexpected {
                expected: "TPKT version 3",
                found: format!("version {version}"),
            },
        ));
    }
    let Some(len) = declared_len(buf) else {
        return Ok(None);
    };
    if len < MIN_TPKT_LEN {
        return Err(err(2, ErrorKind::BadLength("TPKT length below 7")));
    }
    let limit = max.min(MAX_TPKT_LEN);
    if len > limit {
        return Err(err(
            2,
            ErrorKind::LimitExceeded {
                what: "TPKT length",
                limit,
            },
        ));
    }
    Ok((buf.len() >= len).then_some(len))
}

/// Checks that `frame` is exactly one complete TPKT and returns its payload (the TPDU).
pub fn decode_tpkt(frame: &[u8]) -> DecodeResult<&[u8]> {
    match next_frame(frame, MAX_TPKT_LEN)? {
        None => Err(err(
            0,
            ErrorKind::Truncated {
                what: "TPKT",
                needed: declared_len(frame).unwrap_or(TPKT_HEADER_LEN),
                available: frame.len(),
            },
        )),
        Some(len) if len < frame.len() => Err(err(
            len,
            ErrorKind::Trailing {
                what: "TPKT",
                count: frame.len() - len,
            },
        )),
        Some(len) => Ok(frame.get(TPKT_HEADER_LEN..len).unwrap_or_default()),
    }
}

fn declared_len(buf: &[u8]) -> Option<usize> {
    match buf.get(2..4)? {
        &[hi, lo] => Some(usize::from(u16::from_be_bytes([hi, lo]))),
        _ => None,
    }
}

/// One TPKT found in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Offset of the TPKT header in the stream.
    pub offset: usize,
    /// The TPDU it carries (the octets after the 4-octet header).
    pub payload: &'a [u8],
}

/// Iterator over the TPKTs of a captured stream; see [`split_frames`].
///
/// It yields each complete frame, then stops. An invalid header, or octets left over that do
/// not make a whole frame, yield one error (offset relative to the stream) and end the
/// iteration.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    data: &'a [u8],
    pos: usize,
    max: usize,
    done: bool,
}

/// Splits a whole captured byte stream (one direction of a TCP connection) into TPKTs no
/// longer than `max` octets.
pub fn split_frames(stream: &[u8], max: usize) -> Frames<'_> {
    Frames {
        data: stream,
        pos: 0,
        max,
        done: false,
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = DecodeResult<Frame<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.data.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        match next_frame(rest, self.max) {
            Ok(Some(len)) => {
                let frame = Frame {
                    offset: self.pos,
                    payload: rest.get(TPKT_HEADER_LEN..len).unwrap_or_default(),
                };
                self.pos += len;
                Some(Ok(frame))
            }
            Ok(None) => {
                self.done = true;
                Some(Err(err(
                    self.pos,
                    ErrorKind::Truncated {
                        what: "TPKT",
                        needed: declared_len(rest).unwrap_or(TPKT_HEADER_LEN),
                        available: rest.len(),
                    },
                )))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e.shifted(self.pos)))
            }
        }
    }
}
