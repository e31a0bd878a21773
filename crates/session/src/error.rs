//! The encoding error of this crate.

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A parameter or SPDU is longer than a session length indicator can express (65,535), or
    /// longer than the standard allows for that field.
    #[error("{what} is {len} octets; at most {max} allowed")]
    TooLong {
        /// The field being encoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
}
