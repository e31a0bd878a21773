//! OBJECT IDENTIFIER values, kept as their BER contents octets.
//!
//! Arcs may be as large as 128 bits, because this project's own arc is a UUID OID
//! (`2.25.<uuid as integer>`), which crates that store arcs as `u32` cannot hold.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The most contents octets accepted in one OBJECT IDENTIFIER.
pub const MAX_OID_OCTETS: usize = 128;

/// Why an OID could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidError {
    /// Empty contents or an empty dotted string.
    #[error("empty object identifier")]
    Empty,
    /// A sub-identifier is unterminated or has a leading 0x80 octet.
    #[error("malformed sub-identifier")]
    Malformed,
    /// An arc does not fit 128 bits, or the first two arcs are out of range.
    #[error("arc out of range")]
    ArcRange,
    /// More than [`MAX_OID_OCTETS`] contents octets.
    #[error("object identifier longer than {MAX_OID_OCTETS} octets")]
    TooLong,
    /// A dotted string that is not numbers separated by dots.
    #[error("not a dotted object identifier")]
    Syntax,
}

/// Contents octets held inline (without a heap allocation) up to this length: every OID the
/// stack meets on its hot paths (attribute types, contexts, syntaxes, this project's 21-octet
/// identifiers) fits.
const INLINE_OCTETS: usize = 22;

/// An OBJECT IDENTIFIER.
///
/// Equality, ordering and hashing are those of the contents octets ([`Oid::as_bytes`]),
/// whatever the storage.
#[derive(Clone)]
pub struct Oid(Repr);

/// Where an [`Oid`]'s contents octets live.
#[derive(Clone)]
enum Repr {
    /// A constant ([`Oid::from_static`]).
    Static(&'static [u8]),
    /// Up to [`INLINE_OCTETS`] octets: the length, then the octets.
    Inline(u8, [u8; INLINE_OCTETS]),
    /// Longer contents.
    Heap(Box<[u8]>),
}

impl PartialEq for Oid {
    fn eq(&self, other: &Oid) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Oid {}

impl PartialOrd for Oid {
    fn partial_cmp(&self, other: &Oid) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Oid {
    fn cmp(&self, other: &Oid) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Oid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Oid {
    /// An OID from contents octets known to be valid at compile time.
    pub const fn from_static(content: &'static [u8]) -> Oid {
        Oid(Repr::Static(content))
    }

    /// An OID from received contents octets, validated.
    pub fn from_content(content: &[u8]) -> Result<Oid, OidError> {
        // Contents that fit inline are checked on the zero-padded copy, eight octets at a time:
        // the same verdict as `validate`, which the rare rest goes through.
        if let Some(&last) = content.last()
            && content.len() <= INLINE_OCTETS
        {
            let buf = inline_copy(content);
            let mut tail = [0u8; 8];
            tail[..INLINE_OCTETS - 16].copy_from_slice(&buf[16..]);
            let words = [
                u64::from_le_bytes([
                    buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7],
                ]),
                u64::from_le_bytes([
                    buf[8], buf[9], buf[10], buf[11], buf[12], buf[13], buf[14], buf[15],
                ]),
                u64::from_le_bytes(tail),
            ];
            // An arc can exceed 128 bits only with 19 or more septets, that is 18 or more
            // continuation octets, so with fewer in the whole OID (always so up to 18 octets,
            // the last ending a sub-identifier) only the sub-identifier form can be wrong, and
            // every such error is `Malformed`.
            if content.len() <= 18
                || words.iter().map(|w| (w & HIGH).count_ones()).sum::<u32>() < 18
            {
                // The last octet ends a sub-identifier, and no sub-identifier starts with 0x80:
                // no octet equal to 0x80 follows one without the continuation bit (or starts
                // the OID). The padding is zero, never 0x80.
                let mut bad = u64::from(last & 0x80);
                let mut before = 0; // the octet before each word's first, in the low octet
                for w in words {
                    let starts = !((w << 8) | before) & HIGH;
                    let x = w ^ HIGH; // zero octets where w has 0x80
                    let is_80 = !(((x & !HIGH) + !HIGH) | x) & HIGH;
                    bad |= starts & is_80;
                    before = w >> 56;
                }
                if bad != 0 {
                    return Err(OidError::Malformed);
                }
                return Ok(Oid(Repr::Inline(content.len() as u8, buf)));
            }
        }
        validate(content)?;
        Ok(Oid::copied(content))
    }

    /// An OID holding a copy of `content` (already validated), inline when short.
    fn copied(content: &[u8]) -> Oid {
        if content.len() <= INLINE_OCTETS {
            Oid(Repr::Inline(content.len() as u8, inline_copy(content)))
        } else {
            Oid(Repr::Heap(content.into()))
        }
    }

    /// An OID from its arcs.
    pub fn from_arcs(arcs: &[u128]) -> Result<Oid, OidError> {
        if arcs.len() < 2 {
            return Err(OidError::Empty);
        }
        if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
            return Err(OidError::ArcRange);
        }
        let first = arcs[0]
            .checked_mul(40)
            .and_then(|v| v.checked_add(arcs[1]))
            .ok_or(OidError::ArcRange)?;
        let mut out = Vec::new();
        push_subidentifier(first, &mut out);
        for &a in &arcs[2..] {
            push_subidentifier(a, &mut out);
        }
        if out.len() > MAX_OID_OCTETS {
            return Err(OidError::TooLong);
        }
        Ok(Oid::copied(&out))
    }

    /// The BER contents octets.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Inline(len, buf) => &buf[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    /// The arcs (the first two split from the first sub-identifier).
    pub fn arcs(&self) -> Vec<u128> {
        let mut subs = Vec::new();
        let mut v: u128 = 0;
        for &b in self.as_bytes() {
            v = (v << 7) | (b & 0x7F) as u128;
            if b & 0x80 == 0 {
                subs.push(v);
                v = 0;
            }
        }
        let mut arcs = Vec::with_capacity(subs.len() + 1);
        if let Some((&first, rest)) = subs.split_first() {
            let (a, b) = match first {
                0..=39 => (0, first),
                40..=79 => (1, first - 40),
                _ => (2, first - 80),
            };
            arcs.push(a);
            arcs.push(b);
            arcs.extend_from_slice(rest);
        }
        arcs
    }

    /// True when `self` equals `prefix` or lies beneath it.
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        let a = self.arcs();
        let p = prefix.arcs();
        a.len() >= p.len() && a[..p.len()] == p[..]
    }
}

/// The top bit of every octet of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `src` (at most [`INLINE_OCTETS`] octets) at the start of a zeroed buffer, copied with two
/// overlapping fixed-size moves rather than a variable-length copy and fill (two library calls).
#[inline]
fn inline_copy(src: &[u8]) -> [u8; INLINE_OCTETS] {
    let mut buf = [0u8; INLINE_OCTETS];
    let n = src.len();
    if n >= 16 {
        buf[..16].copy_from_slice(&src[..16]);
        buf[n - 16..n].copy_from_slice(&src[n - 16..]);
    } else if n >= 8 {
        buf[..8].copy_from_slice(&src[..8]);
        buf[n - 8..n].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        buf[..4].copy_from_slice(&src[..4]);
        buf[n - 4..n].copy_from_slice(&src[n - 4..]);
    } else if n > 0 {
        // One to three octets: first, middle and last cover them all.
        buf[0] = src[0];
        buf[n / 2] = src[n / 2];
        buf[n - 1] = src[n - 1];
    }
    buf
}

/// Appends `v` in base-128 septets, most significant first, all but the last with bit 8 set
/// (X.690 8.19.2; also the high-tag-number form of an identifier, 8.1.2.4.2).
pub(crate) fn push_subidentifier(mut v: u128, out: &mut Vec<u8>) {
    let mut septets = [0u8; 19];
    let mut n = 0;
    loop {
        septets[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(septets[i] | if i > 0 { 0x80 } else { 0 });
    }
}

fn validate(content: &[u8]) -> Result<(), OidError> {
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
        // 19 septets hold 133 bits; a u128 arc needs at most 19, the first of them below 4
        // (2 bits + 18 x 7 bits = 128 bits).
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

impl fmt::Display for Oid {
    /// The arcs as [`Oid::arcs`] gives them, written as they are decoded (no list).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v: u128 = 0;
        let mut first = true;
        for &b in self.as_bytes() {
            v = (v << 7) | u128::from(b & 0x7F);
            if b & 0x80 != 0 {
                continue;
            }
            if first {
                let (a, b) = match v {
                    0..=39 => (0, v),
                    40..=79 => (1, v - 40),
                    _ => (2, v - 80),
                };
                write!(f, "{a}.{b}")?;
                first = false;
            } else {
                write!(f, ".{v}")?;
            }
            v = 0;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl FromStr for Oid {
    type Err = OidError;

    fn from_str(s: &str) -> Result<Oid, OidError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(OidError::Empty);
        }
        let arcs = s
            .split('.')
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    Err(OidError::Syntax)
                } else {
                    p.parse::<u128>().map_err(|_| OidError::ArcRange)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Oid::from_arcs(&arcs)
    }
}

/// Object identifiers the upper layers name.
pub mod known {
    use super::Oid;

    /// ACSE abstract syntax {joint-iso-itu-t association-control(2) abstract-syntax(1) apdus(0)
    /// version1(1)} = 2.2.1.0.1.
    pub const ACSE_ABSTRACT_SYNTAX: Oid = Oid::from_static(&[0x52, 0x01, 0x00, 0x01]);
    /// Basic Encoding Rules transfer syntax {joint-iso-itu-t asn1(1) basic-encoding(1)} = 2.1.1.
    pub const BER: Oid = Oid::from_static(&[0x51, 0x01]);
    /// ACSE password authentication mechanism 2.2.3.1.
    pub const PASSWORD_MECHANISM: Oid = Oid::from_static(&[0x52, 0x03, 0x01]);
    /// MMS abstract syntax 1.0.9506.2.1.
    pub const MMS_ABSTRACT_SYNTAX: Oid = Oid::from_static(&[0x28, 0xCA, 0x22, 0x02, 0x01]);
    /// This project's own arc, the UUID OID (X.667)
    /// 2.25.36238538382872986225690784931241271656 (UUID 1b4349e3-14e3-481c-a488-6d62d5f82168);
    /// the identifiers the project defines lie beneath it (ARCHITECTURE.md section 4).
    pub const GULS_ARC: Oid = Oid::from_static(&[
        0x69, 0xB6, 0xC3, 0xA4, 0xF8, 0xE2, 0xCE, 0x9A, 0xA0, 0xB9, 0xA4, 0xC4, 0x9B, 0xAC, 0xAD,
        0xAF, 0xE0, 0xC2, 0x68,
    ]);
    /// MMS application context 1.0.9506.2.3.
    pub const MMS_APPLICATION_CONTEXT: Oid = Oid::from_static(&[0x28, 0xCA, 0x22, 0x02, 0x03]);
}
