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
/// * aborts: see [`AuditEvent::association_aborted`].
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
}

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
        }
    }

    /// Whether this event means the association failed: an authentication failure, a
    /// rejection, an abort, or a policy rejection.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            AuditEvent::AuthenticationFailed { .. }
                | AuditEvent::AssociationRejected { .. }
                | AuditEvent::AssociationAborted { .. }
                | AuditEvent::PolicyDecision {
                    decision: Decision::Reject,
                    ..
                }
        )
    }
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
}
