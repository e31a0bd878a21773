//! [`PolicyError`]: every error names the policy file, and where it can, the line and column.

use std::ops::Range;

/// What kind of mistake a [`PolicyError::Invalid`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not TOML, or a value has the wrong type.
    Syntax,
    /// A key this format does not know (`deny_unknown_fields`).
    UnknownKey,
    /// A plain password where only a hash (responder) or a password source (initiator) is
    /// allowed.
    PlainPassword,
    /// A `password_hash` that is not a usable argon2id PHC string.
    BadHash,
    /// A value of the right type but not allowed (an AP-title, an address, a mechanism, a
    /// limit, a contradiction between keys).
    BadValue,
    /// The initiator's password could not be read from its file or environment variable.
    CredentialSource,
    /// A certificate, CRL or private key file named by `[trust]` or `[identity]` could not be
    /// read or is not valid.
    Certificate,
}

impl ErrorKind {
    /// A short stable name, for logs and tests.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::UnknownKey => "unknown-key",
            ErrorKind::PlainPassword => "plain-password",
            ErrorKind::BadHash => "bad-hash",
            ErrorKind::BadValue => "bad-value",
            ErrorKind::CredentialSource => "credential-source",
            ErrorKind::Certificate => "certificate",
        }
    }
}

/// An error of this crate. `Display` is `FILE:LINE:COL: message` for errors at a place in a
/// policy file. No message ever contains a password or a password hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy text is wrong at a place (lines and columns count from 1; columns count
    /// characters).
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        /// The policy file, as given to the loader.
        file: String,
        /// The line, from 1.
        line: usize,
        /// The column in characters, from 1.
        column: usize,
        /// What kind of mistake.
        kind: ErrorKind,
        /// What is wrong (never a secret).
        message: String,
    },
    /// The policy file itself could not be read.
    #[error("{file}: cannot read policy file: {message}")]
    Io {
        /// The policy file.
        file: String,
        /// The operating system's message.
        message: String,
    },
    /// Hashing a password failed (for instance no random numbers for the salt).
    #[error("cannot hash password: {0}")]
    Hash(String),
}

impl PolicyError {
    /// The kind of an [`PolicyError::Invalid`] error; `None` for the others.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            PolicyError::Invalid { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// `(line, column)` of an [`PolicyError::Invalid`] error.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            PolicyError::Invalid { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// 1-based line and character column of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The text being loaded and its name, to turn spans into errors.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// An [`PolicyError::Invalid`] at the start of `span`.
    pub(crate) fn error(
        &self,
        span: Range<usize>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> PolicyError {
        let (line, column) = line_col(self.text, span.start);
        PolicyError::Invalid {
            file: self.file.to_string(),
            line,
            column,
            kind,
            message: message.into(),
        }
    }

    /// Converts a TOML deserialization error, keeping only its message (never the source
    /// snippet toml would print, which could show a secret) and its position.
    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> PolicyError {
        let message = e.message().trim().to_string();
        let kind = if message.starts_with("unknown field") {
            ErrorKind::UnknownKey
        } else {
            ErrorKind::Syntax
        };
        self.error(e.span().unwrap_or(0..0), kind, message)
    }
}

/// Reads a policy file: its name as shown in errors, and its text.
pub(crate) fn read_policy_file(path: &std::path::Path) -> Result<(String, String), PolicyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Io {
        file: file.clone(),
        message: e.to_string(),
    })?;
    Ok((file, text))
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn positions() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 4), (1, 5));
        assert_eq!(line_col(t, 6), (2, 1));
        // After the two-byte 'é': third character.
        assert_eq!(line_col(t, 9), (2, 3));
        assert_eq!(line_col(t, 1000), (3, 1));
    }
}
