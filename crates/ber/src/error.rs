//! The typed decoding error shared by every layer of the stack.

use std::fmt;

/// The protocol layer whose decoder reported an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// RFC 1006 TPKT framing.
    Tpkt,
    /// ISO 8073 class 0 transport (COTP).
    Cotp,
    /// ISO 8327 session.
    Session,
    /// ISO 8823 presentation.
    Presentation,
    /// ISO 8650 ACSE.
    Acse,
    /// X.832 SESE APDUs.
    Sese,
    /// An application value carried in user data (for instance an EXTERNAL's contents).
    Application,
}

impl Layer {
    /// The short lower-case name used in JSON output and messages.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Tpkt => "tpkt",
            Layer::Cotp => "cotp",
            Layer::Session => "session",
            Layer::Presentation => "presentation",
            Layer::Acse => "acse",
            Layer::Sese => "sese",
            Layer::Application => "application",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong, with what the decoder expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A length or header claims more octets than the input holds.
    #[error("truncated: {what} needs {needed} octets, {available} present")]
    Truncated {
        /// The element being read.
        what: &'static str,
        /// Octets the element claims.
        needed: usize,
        /// Octets actually present.
        available: usize,
    },
    /// A different element (tag, SPDU or TPDU code) was found than the one expected.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the grammar allows here.
        expected: &'static str,
        /// What was found (a tag or code, rendered).
        found: String,
    },
    /// A mandatory element is absent.
    #[error("missing mandatory {0}")]
    Missing(&'static str),
    /// A length field is malformed (reserved form, too many octets, indefinite on a primitive).
    #[error("bad length: {0}")]
    BadLength(&'static str),
    /// A value is outside what the standard allows.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// An integer in protocol control information exceeds the octets allowed.
    #[error("integer {what} longer than {max_octets} octets")]
    IntegerTooLong {
        /// The integer being read.
        what: &'static str,
        /// The most octets accepted.
        max_octets: usize,
    },
    /// Elements nest deeper than the configured limit.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// A configured limit (count or size) was exceeded.
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The configured limit.
        limit: usize,
    },
    /// Octets remain after a complete unit.
    #[error("{count} trailing octets after {what}")]
    Trailing {
        /// The unit that ended.
        what: &'static str,
        /// How many octets remain.
        count: usize,
    },
}

/// A decoding failure: the layer, the octet offset where it was detected, and what was expected.
///
/// Offsets count from the start of the input handed to the outermost decoder of the call
/// (a TSDU, a TPKT stream, or a PPDU); [`DecodeError::shifted`] rebases them when a layer
/// decodes a slice of a larger buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{layer} decode error at offset {offset}: {kind}")]
pub struct DecodeError {
    /// The layer whose decoder failed.
    pub layer: Layer,
    /// Offset of the offending octet from the start of the input.
    pub offset: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl DecodeError {
    /// Makes an error.
    pub fn new(layer: Layer, offset: usize, kind: ErrorKind) -> Self {
        DecodeError {
            layer,
            offset,
            kind,
        }
    }

    /// The same error with its offset moved by `base` (the slice's position in a larger input).
    pub fn shifted(mut self, base: usize) -> Self {
        self.offset = self.offset.saturating_add(base);
        self
    }

    /// The same error reported against another layer (a layer that decodes a BER value on behalf
    /// of the one above it keeps the offset but names the layer that owns the value).
    pub fn in_layer(mut self, layer: Layer) -> Self {
        self.layer = layer;
        self
    }
}

/// Result of a decoder.
pub type DecodeResult<T> = Result<T, DecodeError>;
