//! guls-ber: the BER reader and writer beneath every guls codec.
//!
//! The reader is lenient in what RFC 1698 section 4.3 and the OIW agreements require a receiver
//! to accept, and bounded in everything else: every length is checked against the octets
//! present before it is used, nesting is limited, and errors carry the layer and offset.
//! The writer emits one canonical form (definite, minimal lengths), or the indefinite form for
//! constructed elements when a template asks for it.
//!
//! rasn is the project's typed ASN.1 codec for the security layers; the four protocol layers use
//! this crate instead because they need what rasn does not offer: offsets in errors, skipping of
//! unknown elements in CONNECT-borne data, constructed strings, EXTERNAL, and byte-exact
//! reproduction of the RFC 1698 templates.
#![forbid(unsafe_code)]

mod error;
mod external;
mod int_enum;
mod oid;
mod reader;
mod tag;
mod writer;

pub use error::{DecodeError, DecodeResult, ErrorKind, Layer};
pub use external::{External, ExternalEncoding};
pub use oid::{MAX_OID_OCTETS, Oid, OidError, known};
pub use reader::{
    BitString, DEFAULT_MAX_DEPTH, Element, MAX_IDENTIFIER_OCTETS, Reader, decode_integer,
    peek_header,
};
pub use tag::{Class, Tag};
pub use writer::{LengthForm, Writer, encode_length, integer_contents, length_len};

/// Parses hexadecimal text, ignoring whitespace and `:` separators (used by tests and the CLI).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            if !pair.iter().all(u8::is_ascii_hexdigit) {
                return Err(format!("bad hex digit near offset {}", 2 * i));
            }
            let s =
                std::str::from_utf8(pair).map_err(|_| format!("non-ASCII at digit {}", 2 * i))?;
            u8::from_str_radix(s, 16).map_err(|_| format!("bad hex digit near offset {}", 2 * i))
        })
        .collect()
}

/// Formats octets as lower-case hex without separators.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Filled as octets (no per-character capacity and UTF-8 width checks), then checked once.
    let mut s = vec![0u8; bytes.len() * 2];
    for (pair, &b) in s.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[(b >> 4) as usize];
        pair[1] = DIGITS[(b & 0x0F) as usize];
    }
    String::from_utf8(s).expect("hex digits are ASCII")
}
