//! `guls policy check`, `guls policy hash-password`, `guls audit verify` and
//! `guls audit show`: each writes its report to `out`, its failure to `err`, and returns the
//! exit status (see [`exit`]).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use guls_audit::ShowFilter;
use guls_policy::{InitiatorPolicy, ResponderPolicy};
use zeroize::Zeroizing;

/// Exit statuses of the `guls policy` and `guls audit` commands.
pub mod exit {
    /// The policy is valid / the log verifies / the report was printed.
    pub const OK: u8 = 0;
    /// The policy is invalid (`FILE:LINE:COL: message`), the log does not verify
    /// (`FILE: line N: what`), or no password was given to hash.
    pub const INVALID: u8 = 1;
    /// The file cannot be read (or the arguments are wrong).
    pub const USAGE: u8 = 2;
}

/// Which kind of policy a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A responder policy (`[[rule]]`, `[limits]`, `[timeouts]`, `[default]` with
    /// `mechanisms`).
    Responder,
    /// An initiator policy (`[[peer]]`, `[default]` with `mechanism`).
    Initiator,
}

/// Guesses the kind of a policy from its top-level keys: `peer`, or a `[default]` with
/// `mechanism`, is an initiator policy; anything else (including text that is not TOML,
/// whose error the responder parser then reports) a responder policy.
pub fn detect_kind(text: &str) -> PolicyKind {
    let Ok(table) = text.parse::<toml::Table>() else {
        return PolicyKind::Responder;
    };
    if table.contains_key("peer") {
        return PolicyKind::Initiator;
    }
    if ["rule", "limits", "timeouts"]
        .iter()
        .any(|k| table.contains_key(*k))
    {
        return PolicyKind::Responder;
    }
    match table.get("default").and_then(|d| d.as_table()) {
        Some(d) if d.contains_key("mechanism") && !d.contains_key("mechanisms") => {
            PolicyKind::Initiator
        }
        _ => PolicyKind::Responder,
    }
}

/// `guls policy check FILE`: validates the policy (of `kind`, or detected with
/// [`detect_kind`]) and prints its summary; an error is printed as `FILE:LINE:COL: message`.
pub fn policy_check(
    path: &Path,
    kind: Option<PolicyKind>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "{file}: cannot read policy file: {e}");
            return exit::USAGE;
        }
    };
    let kind = kind.unwrap_or_else(|| detect_kind(&text));
    let summary = match kind {
        PolicyKind::Responder => ResponderPolicy::parse(&text, &file).map(|p| p.summary()),
        PolicyKind::Initiator => InitiatorPolicy::parse(&text, &file).map(|p| p.summary()),
    };
    match summary {
        Ok(s) => {
            let _ = write!(out, "{s}");
            let _ = writeln!(out, "{file}: valid");
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            exit::INVALID
        }
    }
}

/// `guls policy hash-password`: reads one line (the password, without its line end) from
/// `input` and prints its argon2id PHC string. The password is never printed; the buffer
/// holding it is zeroed.
pub fn hash_password(input: &mut dyn BufRead, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut line = Zeroizing::new(String::new());
    if let Err(e) = input.read_line(&mut line) {
        let _ = writeln!(
            err,
            "guls policy hash-password: cannot read standard input: {e}"
        );
        return exit::USAGE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        let _ = writeln!(
            err,
            "guls policy hash-password: no password on standard input (write it on the first line)"
        );
        return exit::INVALID;
    }
    if password.len() > guls_policy::DEFAULT_MAX_PASSWORD_LEN {
        let _ = writeln!(
            err,
            "guls policy hash-password: note: the password is {} octets, longer than the default \
             max_password_len ({}); raise [limits] max_password_len in the policy",
            password.len(),
            guls_policy::DEFAULT_MAX_PASSWORD_LEN
        );
    }
    match guls_policy::hash_password(password.as_bytes()) {
        Ok(phc) => {
            let _ = writeln!(out, "{phc}");
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(err, "guls policy hash-password: {e}");
            exit::INVALID
        }
    }
}

/// `guls audit verify FILE`: checks the hash chain. Prints `N records, associations M, head
/// hash H` (exit 0) or `FILE: line N: what is wrong` (exit 1).
pub fn audit_verify(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let file = path.display().to_string();
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "{file}: cannot open audit log: {e}");
            return exit::USAGE;
        }
    };
    match guls_audit::verify(BufReader::new(f)) {
        Ok(s) => {
            let seqs = match (s.first_seq, s.last_seq) {
                (Some(a), Some(b)) => format!(" (seq {a} to {b})"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{} records{seqs}, associations {}, head hash {}",
                s.records, s.associations, s.head_hash
            );
            let _ = writeln!(out, "{file}: the hash chain verifies");
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(err, "{file}: line {}: {}", e.line, e.kind);
            exit::INVALID
        }
    }
}

/// `guls audit show FILE [--peer P] [--outcome failed]`: the records as a table.
pub fn audit_show(
    path: &Path,
    filter: &ShowFilter,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let file = path.display().to_string();
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "{file}: cannot open audit log: {e}");
            return exit::USAGE;
        }
    };
    match guls_audit::show(BufReader::new(f), filter) {
        Ok(table) => {
            let _ = write!(out, "{table}");
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(err, "{file}: {e}");
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_detected_by_keys() {
        assert_eq!(
            detect_kind("[[peer]]\nmechanism='none'"),
            PolicyKind::Initiator
        );
        assert_eq!(
            detect_kind("[default]\nmechanism = 'none'"),
            PolicyKind::Initiator
        );
        assert_eq!(
            detect_kind("[default]\nmechanisms = ['none']"),
            PolicyKind::Responder
        );
        assert_eq!(detect_kind("[[rule]]\n"), PolicyKind::Responder);
        assert_eq!(detect_kind("not toml ["), PolicyKind::Responder);
        for (file, kind) in [
            ("open.toml", PolicyKind::Responder),
            ("password.toml", PolicyKind::Responder),
            ("per-peer.toml", PolicyKind::Responder),
            ("initiator.toml", PolicyKind::Initiator),
        ] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../policies")
                .join(file);
            let text = std::fs::read_to_string(p).unwrap();
            assert_eq!(detect_kind(&text), kind, "{file}");
        }
    }

    #[test]
    fn hash_password_never_echoes() {
        let mut input: &[u8] = b"correct horse\n";
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(hash_password(&mut input, &mut out, &mut err), exit::OK);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("$argon2id$v=19$"), "{out}");
        assert!(!out.contains("correct horse"));
        assert!(err.is_empty());
        let mut empty: &[u8] = b"\n";
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(hash_password(&mut empty, &mut out, &mut err), exit::INVALID);
        assert!(out.is_empty());
    }
}
