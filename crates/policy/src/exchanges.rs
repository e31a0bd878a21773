//! Security exchange (SESE) keys of the responder and initiator policies.
//!
//! Responder, in a `[[rule]]` or `[default]`:
//!
//! ```toml
//! exchanges = ["hmac-challenge", "simple-negotiation"]  # accepted; names or dotted OIDs
//! require_exchange = true       # an exchange must complete before application data (else 14)
//! on_exchange_failure = "abort-when-required"            # or "abort", "continue"
//! ```
//!
//! Initiator, in a `[[peer]]` or `[default]`:
//!
//! ```toml
//! mechanism = "none"
//! exchanges = ["hmac-challenge"]  # offered; several: simpleNegotiationSE runs first
//! carrier = "authentication-value"               # or "user-information"
//! on_exchange_failure = "abort-when-required"
//! ```
//!
//! Names known to this build ([`KNOWN_EXCHANGES`]): `simple-negotiation` (2.20.4.3),
//! `dir-authentication-one-way` (2.20.4.1), `dir-authentication-two-way` (2.20.4.2),
//! `signed-key-agreement` (ARC.2.1) and `hmac-challenge` (ARC.9.1, the experimental
//! pre-shared-key exchange of `crates/sese/examples/hmac_challenge.rs`). Unknown names are
//! refused at load with their line and column; a dotted OID names any exchange. Whether the
//! program that loads the policy can run an exchange is its own check.

use guls_ber::Oid;
use toml::Spanned;

use crate::error::{ErrorKind, PolicyError, Source};

/// Exchange names a policy may use, with their identifiers (dotted).
pub const KNOWN_EXCHANGES: &[(&str, &str)] = &[
    ("simple-negotiation", "2.20.4.3"),
    ("dir-authentication-one-way", "2.20.4.1"),
    ("dir-authentication-two-way", "2.20.4.2"),
    (
        "signed-key-agreement",
        "2.25.36238538382872986225690784931241271656.2.1",
    ),
    (
        "hmac-challenge",
        "2.25.36238538382872986225690784931241271656.9.1",
    ),
];

/// simpleNegotiationSE, 2.20.4.3.
pub fn simple_negotiation() -> Oid {
    "2.20.4.3".parse().expect("valid OID")
}

/// The identifier of an exchange name or dotted OID.
pub fn exchange_oid(text: &str) -> Result<Oid, String> {
    let t = text.trim();
    if let Some((_, oid)) = KNOWN_EXCHANGES.iter().find(|(n, _)| *n == t) {
        return Ok(oid.parse().expect("valid OID"));
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return t
            .parse()
            .map_err(|e| format!("exchange `{t}` is not an object identifier: {e}"));
    }
    let names: Vec<&str> = KNOWN_EXCHANGES.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown exchange `{t}` (known: {}, or a dotted OID)",
        names.join(", ")
    ))
}

/// The policy name of an exchange identifier, if it has one.
pub fn exchange_name(oid: &Oid) -> Option<&'static str> {
    let dotted = oid.to_string();
    KNOWN_EXCHANGES
        .iter()
        .find(|(_, o)| *o == dotted)
        .map(|(n, _)| *n)
}

/// `on_exchange_failure`: what an SE-U-ABORT or SE-P-ABORT does to the association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnExchangeFailure {
    /// `"abort-when-required"` (default): abort when the failed exchange was the required one.
    #[default]
    AbortWhenRequired,
    /// `"abort"`: always abort the association.
    Abort,
    /// `"continue"`: the exchange ends, the association stays.
    Continue,
}

impl OnExchangeFailure {
    fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "abort-when-required" => Ok(Self::AbortWhenRequired),
            "abort" => Ok(Self::Abort),
            "continue" => Ok(Self::Continue),
            t => Err(format!(
                "unknown on_exchange_failure `{t}` (known: abort-when-required, abort, continue)"
            )),
        }
    }

    /// The name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            Self::AbortWhenRequired => "abort-when-required",
            Self::Abort => "abort",
            Self::Continue => "continue",
        }
    }
}

/// `carrier`: where the initiator's first SESE item travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExchangeCarrier {
    /// `"authentication-value"` (default): the ACSE authentication fields.
    #[default]
    AuthenticationValue,
    /// `"user-information"`: the ACSE user-information.
    UserInformation,
}

impl ExchangeCarrier {
    fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "authentication-value" => Ok(Self::AuthenticationValue),
            "user-information" => Ok(Self::UserInformation),
            t => Err(format!(
                "unknown carrier `{t}` (known: authentication-value, user-information)"
            )),
        }
    }

    /// The name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            Self::AuthenticationValue => "authentication-value",
            Self::UserInformation => "user-information",
        }
    }
}

/// The exchange settings of a responder rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponderExchanges {
    /// The exchanges the rule accepts, in file order (`simple-negotiation` among them means
    /// the responder negotiates among the others).
    pub accepted: Vec<Oid>,
    /// Whether an exchange must complete before application data (`require_exchange`).
    pub required: bool,
    /// `on_exchange_failure`.
    pub on_failure: OnExchangeFailure,
}

impl ResponderExchanges {
    /// Whether the rule involves security exchanges at all.
    pub fn is_active(&self) -> bool {
        self.required || !self.accepted.is_empty()
    }

    /// `; exchanges: a, b (required)` for summaries, empty when inactive.
    pub fn describe(&self) -> String {
        if !self.is_active() {
            return String::new();
        }
        format!(
            "; exchanges: {}{}; on failure {}",
            names(&self.accepted),
            if self.required { " (required)" } else { "" },
            self.on_failure.name()
        )
    }
}

/// The exchange settings of an initiator peer entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitiatorExchanges {
    /// The exchanges offered, in order of preference (several: simpleNegotiationSE first).
    pub offered: Vec<Oid>,
    /// `carrier`.
    pub carrier: ExchangeCarrier,
    /// `on_exchange_failure`.
    pub on_failure: OnExchangeFailure,
}

impl InitiatorExchanges {
    /// `; exchanges: a, b via authentication-value` for summaries, empty without exchanges.
    pub fn describe(&self) -> String {
        if self.offered.is_empty() {
            return String::new();
        }
        format!(
            "; exchanges: {} via {}; on failure {}",
            names(&self.offered),
            self.carrier.name(),
            self.on_failure.name()
        )
    }
}

fn names(oids: &[Oid]) -> String {
    let v: Vec<String> = oids
        .iter()
        .map(|o| exchange_name(o).map_or_else(|| o.to_string(), str::to_string))
        .collect();
    v.join(", ")
}

type Key<T> = Option<Spanned<T>>;

fn parse_list(src: &Source<'_>, list: &Key<Vec<Spanned<String>>>) -> Result<Vec<Oid>, PolicyError> {
    let mut out = Vec::new();
    for e in list.iter().flat_map(|l| l.get_ref()) {
        let oid =
            exchange_oid(e.get_ref()).map_err(|m| src.error(e.span(), ErrorKind::BadValue, m))?;
        if !out.contains(&oid) {
            out.push(oid);
        }
    }
    Ok(out)
}

fn parse_failure(src: &Source<'_>, v: &Key<String>) -> Result<OnExchangeFailure, PolicyError> {
    match v {
        None => Ok(OnExchangeFailure::default()),
        Some(v) => OnExchangeFailure::parse(v.get_ref())
            .map_err(|m| src.error(v.span(), ErrorKind::BadValue, m)),
    }
}

/// Compiles a responder rule's exchange keys.
pub(crate) fn responder(
    src: &Source<'_>,
    exchanges: &Key<Vec<Spanned<String>>>,
    require: &Key<bool>,
    on_failure: &Key<String>,
) -> Result<ResponderExchanges, PolicyError> {
    let accepted = parse_list(src, exchanges)?;
    let required = require.as_ref().is_some_and(|r| *r.get_ref());
    if let Some(r) = require
        && required
        && accepted.iter().all(|o| *o == simple_negotiation())
    {
        return Err(src.error(
            r.span(),
            ErrorKind::BadValue,
            "require_exchange = true needs `exchanges` with at least one exchange besides simple-negotiation",
        ));
    }
    Ok(ResponderExchanges {
        accepted,
        required,
        on_failure: parse_failure(src, on_failure)?,
    })
}

/// Compiles an initiator peer's exchange keys.
pub(crate) fn initiator(
    src: &Source<'_>,
    exchanges: &Key<Vec<Spanned<String>>>,
    carrier: &Key<String>,
    on_failure: &Key<String>,
) -> Result<InitiatorExchanges, PolicyError> {
    let offered = parse_list(src, exchanges)?;
    if let Some(l) = exchanges
        && !offered.is_empty()
        && offered.iter().all(|o| *o == simple_negotiation())
    {
        return Err(src.error(
            l.span(),
            ErrorKind::BadValue,
            "offering only simple-negotiation negotiates nothing: list the exchanges to offer",
        ));
    }
    let carrier = match carrier {
        None => ExchangeCarrier::default(),
        Some(c) => ExchangeCarrier::parse(c.get_ref())
            .map_err(|m| src.error(c.span(), ErrorKind::BadValue, m))?,
    };
    Ok(InitiatorExchanges {
        offered,
        carrier,
        on_failure: parse_failure(src, on_failure)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_oids() {
        assert_eq!(
            exchange_oid("simple-negotiation").unwrap(),
            simple_negotiation()
        );
        assert_eq!(
            exchange_oid("signed-key-agreement").unwrap().to_string(),
            "2.25.36238538382872986225690784931241271656.2.1"
        );
        assert_eq!(exchange_oid(" 1.2.3 ").unwrap().to_string(), "1.2.3");
        assert!(
            exchange_oid("dir-auth")
                .unwrap_err()
                .contains("unknown exchange")
        );
        assert!(exchange_oid("1..2").is_err());
        assert_eq!(
            exchange_name(&simple_negotiation()),
            Some("simple-negotiation")
        );
        for (n, o) in KNOWN_EXCHANGES {
            assert_eq!(exchange_oid(n).unwrap().to_string(), *o);
        }
    }
}
