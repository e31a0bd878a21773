//! The encoding error of this crate.

/// Why a value could not be encoded (a field does not fit the wire format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field or unit is longer than its length field can express.
    #[error("{what} is {len} octets; at most {max} fit")]
    TooLong {
        /// The field being encoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The most the format allows.
        max: usize,
    },
    /// A unit is shorter than the format requires.
    #[error("{what} is {len} octets; at least {min} needed")]
    TooShort {
        /// The unit being encoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The least the format allows.
        min: usize,
    },
    /// A field holds a value the format cannot carry.
    #[error("invalid {0}")]
    Invalid(&'static str),
}
