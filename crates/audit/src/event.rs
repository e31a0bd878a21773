//! The audit event schema.
//!
//! Every event is plain data (strings and numbers), so any layer can build one without this
//! crate depending on the protocol crates. The JSON form is an object with a `kind` tag in
//! snake case and the variant's fields, for instance
//! `{"kind":"association_released","initiated_by":"peer"}`.
//!
//! # No secrets
//!
//! An audit record is read by operators and kept for a long time: **it must never contain a
//! secret** (a password, an authentication value, a key, a nonce used as a credential, a
//! private certificate field). The schema has no field that could hold one, and the variants
//! are `#[non_exhaustive]`, so outside this crate an event can only be built through the
//! constructors below, which take names, addresses, identifiers, numbers and reasons only.
//! Callers must not pass secret material in the free-text arguments either (`reason`,
//! `rule`, `identity`): give the *name* of what failed, never the value that was compared.
//! A test serialises every variant and checks that no field is called `password`, `secret`
//! or similar.

use serde::{Deserialize, Serialize};

/// A policy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The policy lets the association (or exchange) go on.
    Accept,
    /// The policy refuses it.
    Reject,
}

impl Decision {
    /// `"accept"` or `"reject"`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
        }
    }
}

/// Which side asked for an orderly release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// This entity (its application called release).
    Local,
    /// The peer (an A-RELEASE indication was received).
    Peer,
}

impl Side {
    /// `"local"` or `"peer"`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Peer => "peer",
        }
    }
}

/// Whether a security exchange item or abort was sent by this entity or received from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// This entity sent it (an SE-* request).
    Sent,
    /// The peer sent it (an SE-* indication).
    Received,
}

impl Direction {
    /// `"sent"` or `"received"`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// The authentication values of the ACSE service-user diagnostic (ISO 8650 Amd.1, X.217
/// `Associate-source-diagnostic`, values 11 to 14), with the same numbers and ASN.1 names as
/// `guls_acse::UserDiagnostic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthDiagnostic {
    /// authentication-mechanism-name-not-recognized (11).
    MechanismNameNotRecognized,
    /// authentication-mechanism-name-required (12).
    MechanismNameRequired,
    /// authentication-failure (13).
    Failure,
    /// authentication-required (14).
    Required,
}

impl AuthDiagnostic {
    /// The diagnostic number (11 to 14).
    pub fn value(self) -> u8 {
        match self {
            AuthDiagnostic::MechanismNameNotRecognized => 11,
            AuthDiagnostic::MechanismNameRequired => 12,
            AuthDiagnostic::Failure => 13,
            AuthDiagnostic::Required => 14,
        }
    }

    /// The ASN.1 name of the value.
    pub fn name(self) -> &'static str {
        match self {
            AuthDiagnostic::MechanismNameNotRecognized => {
                "authentication-mechanism-name-not-recognized"
            }
            AuthDiagnostic::MechanismNameRequired => "authentication-mechanism-name-required",
            AuthDiagnostic::Failure => "authentication-failure",
            AuthDiagnostic::Required => "authentication-required",
        }
    }

    /// The diagnostic with number `v`, if `v` is 11 to 14.
    pub fn from_value(v: i64) -> Option<Self> {
        Some(match v {
            11 => AuthDiagnostic::MechanismNameNotRecognized,
            12 => AuthDiagnostic::MechanismNameRequired,
            13 => AuthDiagnostic::Failure,
            14 => AuthDiagnostic::Required,
            _ => return None,
        })
    }
}

/// One audit event. Build it with the constructors (the variants cannot be built literally
/// outside this crate); read it by matching with `..`.
///
/// **Never pass a secret** (password, authentication value, key) to a constructor, not even
/// inside a `reason`: audit records are kept and read by people (see the crate's "No
/// secrets" section).
///
/// Name vocabulary used by the association stack (strings, so that this crate stays free of
/// protocol types):
///
/// * titles: AP titles as dotted object identifiers (`1.1.999.1`), AE qualifiers as decimal
///   integers; `None` when absent from the APDU;
/// * object identifiers (application context, abstract syntaxes, mechanisms): dotted form,
///   optionally followed by a name in parentheses (`2.2.3.1 (password)`);
/// * result, source and diagnostic names: the ASN.1 names of guls-acse (`rejected-permanent`,
///   `acse-service-user`, `acse-service-provider`, `presentation-service-provider`,
///   `calling-AP-title-not-recognized`, ...);
/// * aborts: see [`AuditEvent::association_aborted`];
/// * security exchanges (SESE, X.831/X.832): an exchange identifier is a global identifier
///   in dotted form (`2.20.4.2`), optionally followed by a name in parentheses, or a local one
///   as `local:N`; error codes likewise; problem codes are the qualified X.832 names of
///   guls-sese (`transfer.mistypedItem`, `abort.unrecognizedError`, `general.invalidAPDU`);
///   invocation ids are numbers, `None` for `noInvocationId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// An A-ASSOCIATE request was sent or received.
    #[non_exhaustive]
    AssociationRequested {
        /// The peer's transport address (`host:port`).
        peer: String,
        /// Calling AP title.
        calling_ap_title: Option<String>,
        /// Calling AE qualifier.
        calling_ae_qualifier: Option<String>,
        /// Called AP title.
        called_ap_title: Option<String>,
        /// Called AE qualifier.
        called_ae_qualifier: Option<String>,
        /// The proposed application context name.
        application_context: String,
        /// The authentication mechanism name proposed, if any (never its value).
        mechanism: Option<String>,
    },
    /// A policy rule decided about the association.
    #[non_exhaustive]
    PolicyDecision {
        /// The rule's name or location in the policy file.
        rule: String,
        /// What it decided.
        decision: Decision,
    },
    /// The peer was authenticated.
    #[non_exhaustive]
    AuthenticationSucceeded {
        /// The authenticated identity (certificate subject, AP title), or `None` when the
        /// mechanism proves a shared secret without naming anyone.
        identity: Option<String>,
        /// The mechanism used.
        mechanism: String,
    },
    /// Authentication failed.
    #[non_exhaustive]
    AuthenticationFailed {
        /// What failed, in words (never the compared value).
        reason: String,
        /// The ACSE diagnostic number sent or received (11 to 14).
        diagnostic: u8,
        /// Its ASN.1 name.
        diagnostic_name: String,
    },
    /// The association was accepted.
    #[non_exhaustive]
    AssociationAccepted {
        /// The accepted presentation contexts (abstract syntaxes).
        contexts: Vec<String>,
    },
    /// The association was rejected (AARE with a rejected result, or the provider's refusal).
    #[non_exhaustive]
    AssociationRejected {
        /// `rejected-permanent` or `rejected-transient`.
        result: String,
        /// Who rejected (`acse-service-user`, `acse-service-provider`,
        /// `presentation-service-provider`).
        source: String,
        /// The diagnostic number, if one was given.
        diagnostic: Option<i64>,
        /// The diagnostic's name, if one was given.
        diagnostic_name: Option<String>,
    },
    /// The association was released in order.
    #[non_exhaustive]
    AssociationReleased {
        /// Who asked for the release.
        initiated_by: Side,
    },
    /// The association was aborted.
    #[non_exhaustive]
    AssociationAborted {
        /// Who aborted: `acse-service-user`, `acse-service-provider` (an A-ABORT) or
        /// `provider` (an A-P-ABORT).
        source: String,
        /// Why: the ABRT diagnostic name (or `no-reason-given`) for an A-ABORT, the provider
        /// reason's text for an A-P-ABORT.
        reason: String,
        /// The layer of an A-P-ABORT (`tcp`, `transport`, `session`, `presentation`, `acse`,
        /// `local`); `None` for an A-ABORT.
        layer: Option<String>,
    },
    /// A security exchange item was sent or received (SE-TRANSFER). The item itself is never
    /// recorded: only its length and the SHA-256 of its encoding, so that a record can be
    /// matched against a capture without disclosing what the item held.
    #[non_exhaustive]
    SeTransfer {
        /// Sent or received.
        direction: Direction,
        /// The security exchange.
        exchange: String,
        /// The item identifier within the exchange.
        item: i64,
        /// The invocation id, `None` for `noInvocationId`.
        invocation: Option<i64>,
        /// The start flag (first item of the exchange).
        start: bool,
        /// The end flag (last item of the exchange).
        end: bool,
        /// Octets of the item's encoding.
        item_length: u64,
        /// Lower-case hex SHA-256 of the item's encoding, or [`DIGEST_WITHHELD`] for an item
        /// that carries a secret of low entropy (a password in the clear), whose fast digest
        /// could be searched with a dictionary.
        item_sha256: String,
    },
    /// A security exchange was aborted by its user (SE-U-ABORT), sent or received.
    #[non_exhaustive]
    SeUAbort {
        /// Sent or received.
        direction: Direction,
        /// The security exchange, when known (the APDU does not name it).
        exchange: Option<String>,
        /// The invocation id, `None` for `noInvocationId`.
        invocation: Option<i64>,
        /// The item the abort answers, if named.
        item: Option<i64>,
        /// The codes of the errors signalled (never their parameters).
        error_codes: Vec<String>,
    },
    /// A security exchange was aborted by the SESE provider (SE-P-ABORT), sent or received.
    #[non_exhaustive]
    SePAbort {
        /// Sent or received.
        direction: Direction,
        /// The invocation id, if present (`None` also for `noInvocationId`).
        invocation: Option<i64>,
        /// The item the abort answers, if named.
        item: Option<i64>,
        /// The X.832 problem code, qualified (`transfer.mistypedItem`).
        problem: String,
    },
    /// A security exchange completed successfully.
    #[non_exhaustive]
    ExchangeCompleted {
        /// The security exchange.
        exchange: String,
        /// The identity it established, if any (certificate subject, AP title).
        identity: Option<String>,
        /// When the exchange derived keys (the signed key agreement): their *id*, a public
        /// digest that names them so that both sides' records can be matched (for guls, the
        /// first 8 octets of SHA-256 over the exchange's transcript hash, in hex). Never a key
        /// or anything a key can be computed from. Absent from the JSON when `None`, so
        /// records written before the field existed read (and hash) the same.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
    /// A security exchange failed (an abort, a verification failure, a timeout).
    #[non_exhaustive]
    ExchangeFailed {
        /// The security exchange.
        exchange: String,
        /// What failed, in words (never the compared value).
        reason: String,
        /// The X.832 problem code, when an SE-P-ABORT ended it.
        problem: Option<String>,
    },
}

/// The `item_sha256` of an `se_transfer` record whose item carries a password in the clear
/// ([`AuditEvent::se_transfer_digest_withheld`]).
pub const DIGEST_WITHHELD: &str = "withheld";

/// The `kind` tags of all variants, in declaration order.
pub const EVENT_KINDS: &[&str] = &[
    "association_requested",
    "policy_decision",
    "authentication_succeeded",
    "authentication_failed",
    "association_accepted",
    "association_rejected",
    "association_released",
    "association_aborted",
    "se_transfer",
    "se_u_abort",
    "se_p_abort",
    "exchange_completed",
    "exchange_failed",
];

impl AuditEvent {
    /// An A-ASSOCIATE request. `mechanism` is the mechanism *name* only.
    pub fn association_requested(
        peer: impl Into<String>,
        calling_ap_title: Option<&str>,
        calling_ae_qualifier: Option<&str>,
        called_ap_title: Option<&str>,
        called_ae_qualifier: Option<&str>,
        application_context: impl Into<String>,
        mechanism: Option<&str>,
    ) -> Self {
        AuditEvent::AssociationRequested {
            peer: peer.into(),
            calling_ap_title: calling_ap_title.map(str::to_owned),
            calling_ae_qualifier: calling_ae_qualifier.map(str::to_owned),
            called_ap_title: called_ap_title.map(str::to_owned),
            called_ae_qualifier: called_ae_qualifier.map(str::to_owned),
            application_context: application_context.into(),
            mechanism: mechanism.map(str::to_owned),
        }
    }

    /// A policy decision by `rule`.
    pub fn policy_decision(rule: impl Into<String>, decision: Decision) -> Self {
        AuditEvent::PolicyDecision {
            rule: rule.into(),
            decision,
        }
    }

    /// Successful authentication of `identity` with `mechanism`.
    pub fn authentication_succeeded(identity: Option<&str>, mechanism: impl Into<String>) -> Self {
        AuditEvent::AuthenticationSucceeded {
            identity: identity.map(str::to_owned),
            mechanism: mechanism.into(),
        }
    }

    /// Failed authentication: `reason` says what failed (never the compared value).
    pub fn authentication_failed(reason: impl Into<String>, diagnostic: AuthDiagnostic) -> Self {
        AuditEvent::AuthenticationFailed {
            reason: reason.into(),
            diagnostic: diagnostic.value(),
            diagnostic_name: diagnostic.name().to_owned(),
        }
    }

    /// The association was accepted with these presentation contexts.
    pub fn association_accepted<I, S>(contexts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuditEvent::AssociationAccepted {
            contexts: contexts.into_iter().map(Into::into).collect(),
        }
    }

    /// The association was rejected; `diagnostic` is the number and name, when given
    /// (for instance `(3, "calling-AP-title-not-recognized")`).
    pub fn association_rejected(
        result: impl Into<String>,
        source: impl Into<String>,
        diagnostic: Option<(i64, &str)>,
    ) -> Self {
        AuditEvent::AssociationRejected {
            result: result.into(),
            source: source.into(),
            diagnostic: diagnostic.map(|d| d.0),
            diagnostic_name: diagnostic.map(|d| d.1.to_owned()),
        }
    }

    /// An orderly release asked for by `initiated_by`.
    pub fn association_released(initiated_by: Side) -> Self {
        AuditEvent::AssociationReleased { initiated_by }
    }

    /// An abort. For the association stack's events:
    ///
    /// * `AbortIndication { source, diagnostic, .. }`: `source` = the `AbortSource` name,
    ///   `reason` = the diagnostic's name or `no-reason-given`, `layer` = `None`;
    /// * `ProviderAbort { reason }`: `source` = `provider`, `reason` = the reason's text,
    ///   `layer` = `Some(reason.layer().name())`.
    pub fn association_aborted(
        source: impl Into<String>,
        reason: impl Into<String>,
        layer: Option<&str>,
    ) -> Self {
        AuditEvent::AssociationAborted {
            source: source.into(),
            reason: reason.into(),
            layer: layer.map(str::to_owned),
        }
    }

    /// An SE-TRANSFER of item `item` of `exchange`. `item_encoding` is the item's complete
    /// encoding (the `seItem` TLV); only its length and SHA-256 are kept, never the octets.
    pub fn se_transfer(
        direction: Direction,
        exchange: impl Into<String>,
        item: i64,
        invocation: Option<i64>,
        start: bool,
        end: bool,
        item_encoding: &[u8],
    ) -> Self {
        AuditEvent::SeTransfer {
            direction,
            exchange: exchange.into(),
            item,
            invocation,
            start,
            end,
            item_length: item_encoding.len() as u64,
            item_sha256: sha256_hex(item_encoding),
        }
    }

    /// An SE-TRANSFER of an item that carries a password in the clear (X.511 simple
    /// credentials): as [`AuditEvent::se_transfer`], with the length only and `item_sha256`
    /// [`DIGEST_WITHHELD`], since a digest of a password is open to a dictionary search.
    pub fn se_transfer_digest_withheld(
        direction: Direction,
        exchange: impl Into<String>,
        item: i64,
        invocation: Option<i64>,
        start: bool,
        end: bool,
        item_length: usize,
    ) -> Self {
        AuditEvent::SeTransfer {
            direction,
            exchange: exchange.into(),
            item,
            invocation,
            start,
            end,
            item_length: item_length as u64,
            item_sha256: DIGEST_WITHHELD.to_owned(),
        }
    }

    /// An SE-U-ABORT; `error_codes` are the codes of its errors (never their parameters).
    pub fn se_u_abort<I, S>(
        direction: Direction,
        exchange: Option<&str>,
        invocation: Option<i64>,
        item: Option<i64>,
        error_codes: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuditEvent::SeUAbort {
            direction,
            exchange: exchange.map(str::to_owned),
            invocation,
            item,
            error_codes: error_codes.into_iter().map(Into::into).collect(),
        }
    }

    /// An SE-P-ABORT with the qualified X.832 `problem` name (`transfer.mistypedItem`).
    pub fn se_p_abort(
        direction: Direction,
        invocation: Option<i64>,
        item: Option<i64>,
        problem: impl Into<String>,
    ) -> Self {
        AuditEvent::SePAbort {
            direction,
            invocation,
            item,
            problem: problem.into(),
        }
    }

    /// `exchange` completed, establishing `identity` if it names one, and the keys named
    /// `key_id` if it derived keys (their id only, see [`AuditEvent::ExchangeCompleted`];
    /// never pass key material).
    pub fn exchange_completed(
        exchange: impl Into<String>,
        identity: Option<&str>,
        key_id: Option<&str>,
    ) -> Self {
        AuditEvent::ExchangeCompleted {
            exchange: exchange.into(),
            identity: identity.map(str::to_owned),
            key_id: key_id.map(str::to_owned),
        }
    }

    /// `exchange` failed: `reason` says what failed (never the compared value); `problem` is
    /// the X.832 problem code when an SE-P-ABORT ended it.
    pub fn exchange_failed(
        exchange: impl Into<String>,
        reason: impl Into<String>,
        problem: Option<&str>,
    ) -> Self {
        AuditEvent::ExchangeFailed {
            exchange: exchange.into(),
            reason: reason.into(),
            problem: problem.map(str::to_owned),
        }
    }

    /// The `kind` tag of this event (one of [`EVENT_KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::AssociationRequested { .. } => EVENT_KINDS[0],
            AuditEvent::PolicyDecision { .. } => EVENT_KINDS[1],
            AuditEvent::AuthenticationSucceeded { .. } => EVENT_KINDS[2],
            AuditEvent::AuthenticationFailed { .. } => EVENT_KINDS[3],
            AuditEvent::AssociationAccepted { .. } => EVENT_KINDS[4],
            AuditEvent::AssociationRejected { .. } => EVENT_KINDS[5],
            AuditEvent::AssociationReleased { .. } => EVENT_KINDS[6],
            AuditEvent::AssociationAborted { .. } => EVENT_KINDS[7],
            AuditEvent::SeTransfer { .. } => EVENT_KINDS[8],
            AuditEvent::SeUAbort { .. } => EVENT_KINDS[9],
            AuditEvent::SePAbort { .. } => EVENT_KINDS[10],
            AuditEvent::ExchangeCompleted { .. } => EVENT_KINDS[11],
            AuditEvent::ExchangeFailed { .. } => EVENT_KINDS[12],
        }
    }

    /// Whether this event means the association failed: an authentication failure, a
    /// rejection, an abort, a policy rejection, or a failed security exchange. (SE-U-ABORT and
    /// SE-P-ABORT records are not failures by themselves: the `exchange_failed` record that
    /// follows them is.)
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            AuditEvent::AuthenticationFailed { .. }
                | AuditEvent::AssociationRejected { .. }
                | AuditEvent::AssociationAborted { .. }
                | AuditEvent::ExchangeFailed { .. }
                | AuditEvent::PolicyDecision {
                    decision: Decision::Reject,
                    ..
                }
        )
    }
}

/// Lower-case hex SHA-256 of `data`.
fn sha256_hex(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_matches_serde_tag() {
        let all = [
            AuditEvent::association_requested("a:1", None, None, None, None, "1.0", None),
            AuditEvent::policy_decision("r", Decision::Accept),
            AuditEvent::authentication_succeeded(None, "m"),
            AuditEvent::authentication_failed("x", AuthDiagnostic::Failure),
            AuditEvent::association_accepted(["1.0"]),
            AuditEvent::association_rejected("rejected-permanent", "acse-service-user", None),
            AuditEvent::association_released(Side::Peer),
            AuditEvent::association_aborted("provider", "idle timeout", Some("local")),
            AuditEvent::se_transfer(
                Direction::Sent,
                "2.20.4.2",
                1,
                None,
                true,
                false,
                b"\x04\x00",
            ),
            AuditEvent::se_u_abort(Direction::Received, None, Some(3), Some(1), ["local:1"]),
            AuditEvent::se_p_abort(Direction::Sent, None, Some(2), "transfer.mistypedItem"),
            AuditEvent::exchange_completed("2.20.4.2", Some("CN=x"), None),
            AuditEvent::exchange_failed("2.20.4.2", "se-p-abort", Some("transfer.mistypedItem")),
        ];
        assert_eq!(all.len(), EVENT_KINDS.len());
        for (e, k) in all.iter().zip(EVENT_KINDS) {
            assert_eq!(e.kind(), *k);
            let v = serde_json::to_value(e).unwrap();
            assert_eq!(v["kind"], *k);
            let back: AuditEvent = serde_json::from_value(v).unwrap();
            assert_eq!(&back, e);
        }
        for v in 11..=14 {
            assert_eq!(i64::from(AuthDiagnostic::from_value(v).unwrap().value()), v);
        }
        assert!(AuthDiagnostic::from_value(10).is_none());
    }

    #[test]
    fn exchange_completed_key_id_is_optional_and_backward_compatible() {
        // Without a key id the record is exactly what it was before the field existed (so
        // the hash chain of old and new logs is computed over the same bytes) ...
        let plain = AuditEvent::exchange_completed("2.20.4.2", Some("CN=x"), None);
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"kind":"exchange_completed","exchange":"2.20.4.2","identity":"CN=x"}"#
        );
        // ... and such an old record still reads.
        let old: AuditEvent = serde_json::from_str(
            r#"{"kind":"exchange_completed","exchange":"2.20.4.2","identity":null}"#,
        )
        .unwrap();
        assert_eq!(old, AuditEvent::exchange_completed("2.20.4.2", None, None));
        // With one, it comes last.
        let keyed = AuditEvent::exchange_completed("ska", Some("CN=x"), Some("0011223344556677"));
        assert_eq!(
            serde_json::to_string(&keyed).unwrap(),
            r#"{"kind":"exchange_completed","exchange":"ska","identity":"CN=x","key_id":"0011223344556677"}"#
        );
        let back: AuditEvent =
            serde_json::from_str(&serde_json::to_string(&keyed).unwrap()).unwrap();
        assert_eq!(back, keyed);
    }

    #[test]
    fn se_transfer_keeps_length_and_digest_only() {
        let e = AuditEvent::se_transfer(
            Direction::Received,
            "local:7",
            2,
            Some(5),
            false,
            true,
            b"abc",
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["item_length"], 3);
        assert_eq!(
            v["item_sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(v["direction"], "received");
        assert_eq!(v["invocation"], 5);
        assert!(!v.to_string().contains("abc"));
        let w = AuditEvent::se_transfer_digest_withheld(
            Direction::Received,
            "2.20.4.2",
            1,
            None,
            true,
            false,
            3,
        );
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["item_length"], 3);
        assert_eq!(v["item_sha256"], DIGEST_WITHHELD);
        assert!(AuditEvent::exchange_failed("x", "y", None).is_failure());
        assert!(!AuditEvent::se_p_abort(Direction::Sent, None, None, "p").is_failure());
    }
}
