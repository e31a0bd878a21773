//! `Authentication-value` (ISO 8650 Amd.1), held so that credentials never leak: the octets are
//! zeroed when dropped, `Debug` shows only the arm and the length, and equality runs in time
//! that depends only on the lengths.

use std::fmt;

use guls_ber::{DecodeResult, Element, ErrorKind, External, ExternalEncoding, Oid, Tag, Writer};
use zeroize::{Zeroize, Zeroizing};

/// Compares two octet strings in time that depends only on their lengths (no early exit).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// An EXTERNAL carried as a credential (the `external` arm): its value octets are zeroed on drop
/// and never shown by `Debug`.
#[derive(Clone)]
pub struct SecretExternal(External);

impl SecretExternal {
    /// Wraps an EXTERNAL.
    pub fn new(external: External) -> Self {
        SecretExternal(external)
    }

    /// The EXTERNAL.
    pub fn external(&self) -> &External {
        &self.0
    }

    /// Takes the EXTERNAL out; the caller becomes responsible for its octets.
    pub fn into_inner(mut self) -> External {
        std::mem::replace(
            &mut self.0,
            External {
                direct_reference: None,
                indirect_reference: None,
                data_value_descriptor: None,
                encoding: ExternalEncoding::OctetAligned(Vec::new()),
            },
        )
    }

    /// The complete encoding of the EXTERNAL under `tag`, in a buffer zeroed on drop.
    fn encoded(&self, tag: Tag) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        self.0.encode(tag, &mut w);
        Zeroizing::new(w.into_bytes())
    }
}

impl Drop for SecretExternal {
    fn drop(&mut self) {
        if let Some(d) = &mut self.0.data_value_descriptor {
            d.zeroize();
        }
        match &mut self.0.encoding {
            ExternalEncoding::SingleAsn1Type(v) | ExternalEncoding::OctetAligned(v) => v.zeroize(),
            ExternalEncoding::Arbitrary(b) => b.bytes.zeroize(),
        }
    }
}

impl fmt::Debug for SecretExternal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} octets>", self.0.encoding.data_len())
    }
}

impl PartialEq for SecretExternal {
    /// Constant-time comparison of the two encodings.
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.encoded(Tag::EXTERNAL), &other.encoded(Tag::EXTERNAL))
    }
}

impl Eq for SecretExternal {}

/// `Authentication-value ::= CHOICE { charstring [0] IMPLICIT GraphicString, bitstring [1]
/// IMPLICIT BIT STRING, external [2] IMPLICIT EXTERNAL, other [3] IMPLICIT SEQUENCE {
/// other-mechanism-name OBJECT IDENTIFIER, other-mechanism-value ANY } }`.
///
/// This is the contents of the EXPLICIT `calling-authentication-value [12]` (AARQ) and
/// `responding-authentication-value [10]` (AARE). `Debug` prints only the arm and the length,
/// for instance `Charstring(<12 octets>)`.
#[derive(Clone)]
pub enum AuthenticationValue {
    /// `charstring [0]`: GraphicString octets as received (a password for mechanism 2.2.3.1).
    Charstring(Zeroizing<Vec<u8>>),
    /// `bitstring [1]`.
    Bitstring {
        /// Unused bits in the last octet (0..=7).
        unused_bits: u8,
        /// The octets.
        bits: Zeroizing<Vec<u8>>,
    },
    /// `external [2]`.
    External(SecretExternal),
    /// `other [3]`.
    Other {
        /// `other-mechanism-name`.
        mechanism_name: Oid,
        /// `other-mechanism-value`: exactly one complete BER element (sent as it is).
        value: Zeroizing<Vec<u8>>,
    },
}

impl AuthenticationValue {
    /// A password (`charstring`), as mechanism 2.2.3.1 carries it.
    pub fn password(password: &[u8]) -> Self {
        AuthenticationValue::Charstring(Zeroizing::new(password.to_vec()))
    }

    /// The arm name for dissectors: `charstring`, `bitstring`, `external` or `other`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            AuthenticationValue::Charstring(_) => "charstring",
            AuthenticationValue::Bitstring { .. } => "bitstring",
            AuthenticationValue::External(_) => "external",
            AuthenticationValue::Other { .. } => "other",
        }
    }

    /// Number of credential octets (the string, the bit string's octets, the EXTERNAL's data
    /// value, or the complete `other-mechanism-value` element).
    pub fn len(&self) -> usize {
        match self {
            AuthenticationValue::Charstring(s) => s.len(),
            AuthenticationValue::Bitstring { bits, .. } => bits.len(),
            AuthenticationValue::External(x) => x.external().encoding.data_len(),
            AuthenticationValue::Other { value, .. } => value.len(),
        }
    }

    /// True when [`AuthenticationValue::len`] is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `charstring` octets, if this is that arm.
    pub fn charstring(&self) -> Option<&[u8]> {
        match self {
            AuthenticationValue::Charstring(s) => Some(s),
            _ => None,
        }
    }

    /// True when this is a `charstring` equal to `expected`, compared in constant time.
    pub fn matches_charstring(&self, expected: &[u8]) -> bool {
        match self {
            AuthenticationValue::Charstring(s) => constant_time_eq(s, expected),
            _ => false,
        }
    }

    /// Decodes the CHOICE from the element inside the explicit field tag.
    pub(crate) fn decode(e: &Element<'_>) -> DecodeResult<Self> {
        const EXPECTED: &str =
            "Authentication-value charstring [0], bitstring [1], external [2] or other [3]";
        if e.tag.class != guls_ber::Class::Context || e.tag.number > 3 {
            return Err(e.error(ErrorKind::Unexpected {
                expected: EXPECTED,
                found: e.tag.to_string(),
            }));
        }
        match e.tag.number {
            0 => Ok(AuthenticationValue::Charstring(Zeroizing::new(
                e.octets("charstring")?.into_owned(),
            ))),
            1 => {
                let b = e.bit_string("bitstring")?;
                Ok(AuthenticationValue::Bitstring {
                    unused_bits: b.unused_bits,
                    bits: Zeroizing::new(b.bytes),
                })
            }
            2 => Ok(AuthenticationValue::External(SecretExternal(
                External::decode(e)?,
            ))),
            _ => {
                let mut r = e.reader()?;
                let name = r.read_tagged(Tag::OID, "other-mechanism-name")?;
                let mechanism_name = name.oid("other-mechanism-name")?;
                if r.is_empty() {
                    return Err(r.error(ErrorKind::Missing("other-mechanism-value")));
                }
                let value = Zeroizing::new(r.read()?.raw.to_vec());
                r.finish("other [3]")?;
                Ok(AuthenticationValue::Other {
                    mechanism_name,
                    value,
                })
            }
        }
    }

    /// Writes the CHOICE (without the explicit field tag).
    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            AuthenticationValue::Charstring(s) => w.primitive(Tag::context(0), s),
            AuthenticationValue::Bitstring { unused_bits, bits } => {
                let mut c = Zeroizing::new(Vec::with_capacity(bits.len() + 1));
                c.push(*unused_bits);
                c.extend_from_slice(bits);
                w.primitive(Tag::context(1), &c);
            }
            AuthenticationValue::External(x) => x.external().encode(Tag::context(2), w),
            AuthenticationValue::Other {
                mechanism_name,
                value,
            } => w.constructed(Tag::context(3), |w| {
                w.oid(Tag::OID, mechanism_name);
                w.raw(value);
            }),
        }
    }
}

impl fmt::Debug for AuthenticationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthenticationValue::Charstring(s) => write!(f, "Charstring(<{} octets>)", s.len()),
            AuthenticationValue::Bitstring { bits, .. } => {
                write!(f, "Bitstring(<{} octets>)", bits.len())
            }
            AuthenticationValue::External(x) => write!(f, "External({x:?})"),
            AuthenticationValue::Other {
                mechanism_name,
                value,
            } => write!(f, "Other({mechanism_name}, <{} octets>)", value.len()),
        }
    }
}

impl PartialEq for AuthenticationValue {
    /// Same arm and equal octets; octets are compared in constant time.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AuthenticationValue::Charstring(a), AuthenticationValue::Charstring(b)) => {
                constant_time_eq(a, b)
            }
            (
                AuthenticationValue::Bitstring {
                    unused_bits: ua,
                    bits: a,
                },
                AuthenticationValue::Bitstring {
                    unused_bits: ub,
                    bits: b,
                },
            ) => (ua == ub) & constant_time_eq(a, b),
            (AuthenticationValue::External(a), AuthenticationValue::External(b)) => a == b,
            (
                AuthenticationValue::Other {
                    mechanism_name: na,
                    value: a,
                },
                AuthenticationValue::Other {
                    mechanism_name: nb,
                    value: b,
                },
            ) => (na == nb) & constant_time_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for AuthenticationValue {}
