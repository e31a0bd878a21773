//! The responder policy: which peers may associate, with which authentication.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use argon2::{Argon2, Params, PasswordHash, PasswordVerifier};
use guls_acse::{AeQualifier, ApTitle, AuthenticationValue, UserDiagnostic};
use guls_association::AssociationConfig;
use guls_ber::{Oid, known};
use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use crate::error::{ErrorKind, PolicyError, Source};
use crate::exchanges::ResponderExchanges;
use crate::identity::Identity;
use crate::peer::{IpNet, QualifierPattern, TitlePattern};
use crate::trust::TrustStore;
use crate::trust_file::{RawIdentity, RawTrust, compile_identity, compile_trust};

/// Default for `max_password_len`: 128 octets.
pub const DEFAULT_MAX_PASSWORD_LEN: usize = 128;
/// Largest `max_password_len` a policy may set.
pub const MAX_MAX_PASSWORD_LEN: usize = 65_536;
/// Largest argon2 memory cost (KiB) a `password_hash` may ask for: 256 MiB. A verification
/// runs on every authentication attempt, so a mistaken huge cost would be a denial of service.
pub const MAX_HASH_M_COST: u32 = 256 * 1024;
/// Largest argon2 time cost (passes) a `password_hash` may ask for.
pub const MAX_HASH_T_COST: u32 = 16;
/// Largest argon2 parallelism a `password_hash` may ask for.
pub const MAX_HASH_P_COST: u32 = 16;

pub(crate) const PLAIN_PASSWORD: &str = "plain passwords are not allowed in policy files";

/// An authentication mechanism a rule accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// No authentication: neither mechanism name nor value.
    None,
    /// ISO 8650 password, mechanism name 2.2.3.1 (`password-1`).
    Password,
}

impl Mechanism {
    /// Parses `none`, `password`, or a dotted OID. Only 2.2.3.1 is implemented among OIDs;
    /// the OID form is there so that later mechanisms fit the same key.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "none" => Ok(Mechanism::None),
            "password" => Ok(Mechanism::Password),
            t if t.starts_with(|c: char| c.is_ascii_digit()) => {
                let oid: Oid = t
                    .parse()
                    .map_err(|e| format!("mechanism `{t}` is not an object identifier: {e}"))?;
                if oid == known::PASSWORD_MECHANISM {
                    Ok(Mechanism::Password)
                } else {
                    Err(format!(
                        "mechanism {oid} is not implemented by this build (known: none, password = 2.2.3.1)"
                    ))
                }
            }
            t => Err(format!(
                "unknown mechanism `{t}` (known: none, password, or a dotted OID)"
            )),
        }
    }

    /// The mechanism name sent in the AARQ (`None` for [`Mechanism::None`]).
    pub fn oid(self) -> Option<Oid> {
        match self {
            Mechanism::None => None,
            Mechanism::Password => Some(known::PASSWORD_MECHANISM),
        }
    }

    /// The name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::None => "none",
            Mechanism::Password => "password",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// File format (serde).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponder {
    #[serde(default)]
    limits: Option<RawLimits>,
    #[serde(default)]
    timeouts: Option<RawTimeouts>,
    #[serde(default, rename = "rule")]
    rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    default: Option<Spanned<RawRule>>,
    #[serde(default)]
    trust: Option<RawTrust>,
    #[serde(default)]
    identity: Option<RawIdentity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_associations: Option<Spanned<u64>>,
    max_password_len: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    idle_secs: Option<Spanned<u64>>,
    establishment_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawQualifier {
    Integer(i64),
    Rdn(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    ap_title: Option<Spanned<String>>,
    ae_qualifier: Option<Spanned<RawQualifier>>,
    addresses: Option<Vec<Spanned<String>>>,
    mechanisms: Spanned<Vec<Spanned<String>>>,
    require_authentication: Option<Spanned<bool>>,
    /// Only to refuse it with a clear message; the value is never kept.
    password: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "credential")]
    credentials: Vec<Spanned<RawCredential>>,
    /// Security exchanges (see [`crate::exchanges`]).
    exchanges: Option<Spanned<Vec<Spanned<String>>>>,
    require_exchange: Option<Spanned<bool>>,
    on_exchange_failure: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    identity: Spanned<String>,
    password_hash: Option<Spanned<String>>,
    ap_title: Option<Spanned<String>>,
    /// Only to refuse it with a clear message; the value is never kept.
    password: Option<Spanned<IgnoredAny>>,
}

// ---------------------------------------------------------------------------------------------
// Compiled policy.

/// A credential of a rule: who the peer is when its password verifies against the hash.
#[derive(Clone)]
struct StoredCredential {
    identity: String,
    bound_title: Option<TitlePattern>,
    hash: PasswordHash,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("identity", &self.identity)
            .field("ap_title", &self.bound_title)
            .field("password_hash", &format_args!("<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    ap_title: Option<TitlePattern>,
    ae_qualifier: Option<QualifierPattern>,
    addresses: Vec<IpNet>,
    mechanisms: Vec<Mechanism>,
    credentials: Vec<StoredCredential>,
    exchanges: ResponderExchanges,
}

impl Rule {
    fn accepts(&self, m: Mechanism) -> bool {
        self.mechanisms.contains(&m)
    }

    fn requires_authentication(&self) -> bool {
        !self.accepts(Mechanism::None)
    }

    fn matches(&self, req: &AuthRequest<'_>) -> bool {
        if let Some(p) = &self.ap_title {
            if !req.calling_ap_title.is_some_and(|t| p.matches(t)) {
                return false;
            }
        }
        if let Some(p) = &self.ae_qualifier {
            if !req.calling_ae_qualifier.is_some_and(|q| p.matches(q)) {
                return false;
            }
        }
        if !self.addresses.is_empty() {
            let Some(addr) = req.peer_addr else {
                return false;
            };
            if !self.addresses.iter().any(|n| n.contains(addr.ip())) {
                return false;
            }
        }
        true
    }

    /// The default when the file has no `[default]`: deny everyone (no mechanism accepted,
    /// authentication required: 14 without credentials, 11 with any mechanism).
    fn deny_default() -> Self {
        Rule {
            name: "default".into(),
            ap_title: None,
            ae_qualifier: None,
            addresses: Vec::new(),
            mechanisms: Vec::new(),
            credentials: Vec::new(),
            exchanges: ResponderExchanges::default(),
        }
    }

    fn describe(&self, out: &mut String) {
        let mut what = Vec::new();
        if let Some(t) = &self.ap_title {
            what.push(format!("calling AP-title {t}"));
        }
        if let Some(q) = &self.ae_qualifier {
            what.push(format!("calling AE-qualifier {q}"));
        }
        if !self.addresses.is_empty() {
            let a: Vec<String> = self.addresses.iter().map(ToString::to_string).collect();
            what.push(format!("address in {}", a.join(", ")));
        }
        if what.is_empty() {
            what.push("every peer".into());
        }
        let mechs: Vec<&str> = self.mechanisms.iter().map(|m| m.name()).collect();
        let bound = self
            .credentials
            .iter()
            .filter(|c| c.bound_title.is_some())
            .count();
        let _ = write!(
            out,
            "matches {}; mechanisms: {}; authentication {}; {} credential{}",
            what.join(" and "),
            if mechs.is_empty() {
                "(none accepted: deny)".to_string()
            } else {
                mechs.join(", ")
            },
            if self.requires_authentication() {
                "required"
            } else {
                "optional"
            },
            self.credentials.len(),
            if self.credentials.len() == 1 { "" } else { "s" },
        );
        if bound > 0 {
            let _ = write!(out, " ({bound} bound to an AP-title)");
        }
        let identities: Vec<&str> = self
            .credentials
            .iter()
            .map(|c| c.identity.as_str())
            .collect();
        if !identities.is_empty() {
            let _ = write!(out, "; identities: {}", identities.join(", "));
        }
        out.push_str(&self.exchanges.describe());
    }
}

/// Limits from the policy's `[limits]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Most associations alive at once (maps onto
    /// [`guls_association::Limits::max_associations`]); `None` keeps the configuration's.
    pub max_associations: Option<usize>,
    /// Longest password accepted, in octets (default [`DEFAULT_MAX_PASSWORD_LEN`]). Longer ones
    /// are refused before any hashing.
    pub max_password_len: usize,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            max_associations: None,
            max_password_len: DEFAULT_MAX_PASSWORD_LEN,
        }
    }
}

/// Timeouts from the policy's `[timeouts]` table; `None` keeps the configuration's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PolicyTimeouts {
    /// Idle timeout ([`guls_association::Timeouts::idle`]).
    pub idle: Option<Duration>,
    /// Establishment timeout ([`guls_association::Timeouts::establishment`]).
    pub establishment: Option<Duration>,
}

/// What the responder knows about an association request when it decides on authentication.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthRequest<'a> {
    /// The peer's TCP address.
    pub peer_addr: Option<SocketAddr>,
    /// The AARQ's calling AP-title.
    pub calling_ap_title: Option<&'a ApTitle>,
    /// The AARQ's calling AE-qualifier.
    pub calling_ae_qualifier: Option<&'a AeQualifier>,
    /// Whether `sender-acse-requirements` has the authentication bit. Informational: the
    /// decision looks at the mechanism name and value themselves (libiec61850 and others set
    /// the bit inconsistently), so this flag never changes the outcome.
    pub sender_requests_authentication: bool,
    /// The AARQ's `mechanism-name`.
    pub mechanism_name: Option<&'a Oid>,
    /// The AARQ's `calling-authentication-value`.
    pub authentication_value: Option<&'a AuthenticationValue>,
}

/// Why a request was rejected; each maps onto one ACSE user diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// An authentication value without a mechanism name (diagnostic 12).
    MechanismNameRequired,
    /// A mechanism name the matching rule does not accept, known or not (diagnostic 11).
    MechanismNotAccepted,
    /// The rule requires authentication and none was offered (diagnostic 14).
    AuthenticationRequired,
    /// A mechanism name without an authentication value (diagnostic 13).
    MissingValue,
    /// The password arrived in the `external` or `other` arm of Authentication-value
    /// (diagnostic 13).
    WrongArm,
    /// The password arrived as a `bitstring` that is not whole octets (diagnostic 13).
    PartialOctets,
    /// The password is longer than `max_password_len` (diagnostic 13; checked before hashing).
    TooLong,
    /// No credential of the rule applies to this peer (diagnostic 13).
    NoCredential,
    /// The password does not verify against any applicable credential (diagnostic 13).
    BadPassword,
}

impl RejectReason {
    /// A short stable name for audit logs.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::MechanismNameRequired => "mechanism-name-required",
            RejectReason::MechanismNotAccepted => "mechanism-not-accepted",
            RejectReason::AuthenticationRequired => "authentication-required",
            RejectReason::MissingValue => "missing-authentication-value",
            RejectReason::WrongArm => "wrong-value-arm",
            RejectReason::PartialOctets => "bitstring-not-whole-octets",
            RejectReason::TooLong => "password-too-long",
            RejectReason::NoCredential => "no-applicable-credential",
            RejectReason::BadPassword => "bad-password",
        }
    }

    /// The ACSE user diagnostic (ISO 8650 Amd.1) sent for this reason.
    pub fn diagnostic(self) -> UserDiagnostic {
        match self {
            RejectReason::MechanismNameRequired => {
                UserDiagnostic::AuthenticationMechanismNameRequired
            }
            RejectReason::MechanismNotAccepted => {
                UserDiagnostic::AuthenticationMechanismNameNotRecognized
            }
            RejectReason::AuthenticationRequired => UserDiagnostic::AuthenticationRequired,
            RejectReason::MissingValue
            | RejectReason::WrongArm
            | RejectReason::PartialOctets
            | RejectReason::TooLong
            | RejectReason::NoCredential
            | RejectReason::BadPassword => UserDiagnostic::AuthenticationFailure,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of [`ResponderPolicy::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Accept the association.
    Accept {
        /// The authenticated identity (the credential's `identity`); `None` when the peer
        /// did not authenticate.
        identity: Option<String>,
        /// The mechanism that authenticated the peer; `None` without authentication.
        mechanism: Option<Oid>,
        /// The name of the rule that decided.
        rule: String,
    },
    /// Reject with `result` rejected-permanent and this `acse-service-user` diagnostic.
    Reject {
        /// The diagnostic for the AARE.
        diagnostic: UserDiagnostic,
        /// Why, for the audit log.
        reason: RejectReason,
        /// The name of the rule that decided.
        rule: String,
    },
}

impl Decision {
    /// True for [`Decision::Accept`].
    pub fn is_accept(&self) -> bool {
        matches!(self, Decision::Accept { .. })
    }

    /// The name of the rule that decided.
    pub fn rule(&self) -> &str {
        match self {
            Decision::Accept { rule, .. } | Decision::Reject { rule, .. } => rule,
        }
    }

    fn reject(reason: RejectReason, rule: &Rule) -> Self {
        Decision::Reject {
            diagnostic: reason.diagnostic(),
            reason,
            rule: rule.name.clone(),
        }
    }
}

/// A responder's authentication policy: rules tried in file order (first match wins), then
/// the default rule; plus optional limits and timeouts.
///
/// `Debug` shows rules, identities and limits but never a password hash.
#[derive(Debug, Clone)]
pub struct ResponderPolicy {
    file: String,
    rules: Vec<Rule>,
    default: Rule,
    limits: PolicyLimits,
    timeouts: PolicyTimeouts,
    trust: Option<TrustStore>,
    identity: Option<Identity>,
}

impl ResponderPolicy {
    /// Accepts every peer without authentication (a peer that offers a mechanism anyway is
    /// rejected with diagnostic 11, as the X.217 rules say for a mechanism not accepted).
    pub fn open() -> Self {
        let mut default = Rule::deny_default();
        default.mechanisms = vec![Mechanism::None];
        ResponderPolicy {
            file: "(built-in open policy)".into(),
            rules: Vec::new(),
            default,
            limits: PolicyLimits::default(),
            timeouts: PolicyTimeouts::default(),
            trust: None,
            identity: None,
        }
    }

    /// Reads and checks a policy file. Certificate, CRL and key files named by `[trust]` and
    /// `[identity]` are read now, relative to the policy file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let (file, text) = crate::error::read_policy_file(path.as_ref())?;
        Self::parse(&text, &file)
    }

    /// Checks a policy given as text; `file` names it in errors, and its directory is the base
    /// of relative certificate, CRL and key paths.
    pub fn parse(text: &str, file: &str) -> Result<Self, PolicyError> {
        let src = Source { file, text };
        let raw: RawResponder = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        let base = Path::new(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let trust = match raw.trust {
            Some(t) => Some(compile_trust(&src, &base, t)?),
            None => None,
        };
        let identity = match raw.identity {
            Some(i) => Some(compile_identity(&src, &base, i)?),
            None => None,
        };
        let mut limits = PolicyLimits::default();
        if let Some(l) = raw.limits {
            if let Some(v) = l.max_associations {
                if *v.get_ref() == 0 {
                    return Err(src.error(
                        v.span(),
                        ErrorKind::BadValue,
                        "max_associations must be at least 1",
                    ));
                }
                limits.max_associations = Some(usize::try_from(*v.get_ref()).unwrap_or(usize::MAX));
            }
            if let Some(v) = l.max_password_len {
                let n = *v.get_ref();
                if n == 0 || n > MAX_MAX_PASSWORD_LEN as u64 {
                    return Err(src.error(
                        v.span(),
                        ErrorKind::BadValue,
                        format!("max_password_len must be 1..={MAX_MAX_PASSWORD_LEN} octets"),
                    ));
                }
                limits.max_password_len = n as usize;
            }
        }
        let mut timeouts = PolicyTimeouts::default();
        if let Some(t) = raw.timeouts {
            let secs =
                |v: Option<Spanned<u64>>, key: &str| -> Result<Option<Duration>, PolicyError> {
                    match v {
                        None => Ok(None),
                        Some(v) if *v.get_ref() == 0 => Err(src.error(
                            v.span(),
                            ErrorKind::BadValue,
                            format!("{key} must be at least 1 second"),
                        )),
                        Some(v) => Ok(Some(Duration::from_secs(*v.get_ref()))),
                    }
                };
            timeouts.idle = secs(t.idle_secs, "idle_secs")?;
            timeouts.establishment = secs(t.establishment_secs, "establishment_secs")?;
        }
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            let name = format!("rule {}", i + 1);
            rules.push(compile_rule(&src, r, name, false)?);
        }
        let default = match raw.default {
            Some(d) => compile_rule(&src, d, "default".into(), true)?,
            None => Rule::deny_default(),
        };
        Ok(ResponderPolicy {
            file: file.to_string(),
            rules,
            default,
            limits,
            timeouts,
            trust,
            identity,
        })
    }

    /// The `[trust]` table: trust anchors, CRLs, options and the AP-title binding table for
    /// certificate-based authentication of initiators; `None` without one.
    pub fn trust(&self) -> Option<&TrustStore> {
        self.trust.as_ref()
    }

    /// The `[identity]` table: our certificate and key; `None` without one.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The limits of the policy.
    pub fn limits(&self) -> PolicyLimits {
        self.limits
    }

    /// The timeouts of the policy.
    pub fn timeouts(&self) -> PolicyTimeouts {
        self.timeouts
    }

    /// Applies the policy's limits and timeouts to an association configuration (those the
    /// policy does not set are left as they are).
    pub fn apply_to(&self, config: &mut AssociationConfig) {
        if let Some(n) = self.limits.max_associations {
            config.limits.max_associations = n;
        }
        if let Some(d) = self.timeouts.idle {
            config.timeouts.idle = d;
        }
        if let Some(d) = self.timeouts.establishment {
            config.timeouts.establishment = d;
        }
    }

    /// The rule that applies to a request: the first `[[rule]]` in file order whose every
    /// given criterion (AP-title, AE-qualifier, address) matches, else the default.
    fn rule_for(&self, req: &AuthRequest<'_>) -> &Rule {
        self.rules
            .iter()
            .find(|r| r.matches(req))
            .unwrap_or(&self.default)
    }

    /// The name and the security exchange settings of the rule that applies to a request
    /// (see [`crate::exchanges`]).
    pub fn exchanges_for(&self, req: &AuthRequest<'_>) -> (&str, &ResponderExchanges) {
        let rule = self.rule_for(req);
        (&rule.name, &rule.exchanges)
    }

    /// Every exchange the rules and the default name (to check that the program can run
    /// them).
    pub fn exchanges_named(&self) -> Vec<Oid> {
        let mut out: Vec<Oid> = Vec::new();
        for r in self.rules.iter().chain(std::iter::once(&self.default)) {
            for o in &r.exchanges.accepted {
                if !out.contains(o) {
                    out.push(o.clone());
                }
            }
        }
        out
    }

    /// Decides on an association request (ISO 8650 Amd.1 / X.217 authentication):
    ///
    /// 1. The rule is the first `[[rule]]` (file order) whose criteria all match, else the
    ///    default.
    /// 2. A value without a mechanism name: reject 12 ([`RejectReason::MechanismNameRequired`]).
    /// 3. A mechanism name the rule does not accept (any OID other than an accepted 2.2.3.1):
    ///    reject 11.
    /// 4. Neither name nor value: accept without identity if the rule accepts `none`, else
    ///    reject 14.
    /// 5. Password (2.2.3.1): no value is 13 [`RejectReason::MissingValue`]; the password is
    ///    the `charstring` octets, or the `bitstring` octets when whole octets (libiec61850
    ///    passes any arm as the password; `external` and `other` are refused with 13
    ///    [`RejectReason::WrongArm`], a partial bitstring with 13
    ///    [`RejectReason::PartialOctets`]); longer than `max_password_len` is 13
    ///    [`RejectReason::TooLong`], decided before any hashing.
    /// 6. Candidates: if the calling AP-title matches credentials bound to an AP-title
    ///    (`ap_title` in the credential), only those; otherwise the rule's unbound credentials.
    ///    Credentials bound to another AP-title never apply. None: 13
    ///    [`RejectReason::NoCredential`]. Each candidate costs one argon2id verification
    ///    (about 21 ms in a release build on the reference machine with the default
    ///    parameters), tried in file order until one verifies; a wrong password costs all
    ///    candidates. Bind credentials to AP-titles to keep it to one.
    /// 7. A verified password accepts with that credential's identity; otherwise 13
    ///    [`RejectReason::BadPassword`].
    ///
    /// The password octets are read in place from the request (no copy is made here) and
    /// never logged.
    pub fn decide(&self, req: &AuthRequest<'_>) -> Decision {
        let rule = self.rule_for(req);
        let Some(mechanism) = req.mechanism_name else {
            if req.authentication_value.is_some() {
                return Decision::reject(RejectReason::MechanismNameRequired, rule);
            }
            if rule.accepts(Mechanism::None) {
                return Decision::Accept {
                    identity: None,
                    mechanism: None,
                    rule: rule.name.clone(),
                };
            }
            return Decision::reject(RejectReason::AuthenticationRequired, rule);
        };
        if *mechanism != known::PASSWORD_MECHANISM || !rule.accepts(Mechanism::Password) {
            return Decision::reject(RejectReason::MechanismNotAccepted, rule);
        }
        let Some(value) = req.authentication_value else {
            return Decision::reject(RejectReason::MissingValue, rule);
        };
        let password: &[u8] = match value {
            AuthenticationValue::Charstring(s) => s,
            AuthenticationValue::Bitstring {
                unused_bits: 0,
                bits,
            } => bits,
            AuthenticationValue::Bitstring { .. } => {
                return Decision::reject(RejectReason::PartialOctets, rule);
            }
            AuthenticationValue::External(_) | AuthenticationValue::Other { .. } => {
                return Decision::reject(RejectReason::WrongArm, rule);
            }
        };
        if password.len() > self.limits.max_password_len {
            return Decision::reject(RejectReason::TooLong, rule);
        }
        let bound: Vec<&StoredCredential> = match req.calling_ap_title {
            Some(t) => rule
                .credentials
                .iter()
                .filter(|c| c.bound_title.as_ref().is_some_and(|p| p.matches(t)))
                .collect(),
            None => Vec::new(),
        };
        let candidates: Vec<&StoredCredential> = if bound.is_empty() {
            rule.credentials
                .iter()
                .filter(|c| c.bound_title.is_none())
                .collect()
        } else {
            bound
        };
        if candidates.is_empty() {
            return Decision::reject(RejectReason::NoCredential, rule);
        }
        for c in candidates {
            if verify(password, &c.hash) {
                return Decision::Accept {
                    identity: Some(c.identity.clone()),
                    mechanism: Some(known::PASSWORD_MECHANISM),
                    rule: rule.name.clone(),
                };
            }
        }
        Decision::reject(RejectReason::BadPassword, rule)
    }

    /// A human summary for `guls policy check`: the rules in order, what each matches, its
    /// mechanisms, whether authentication is required and how many credentials it has (never
    /// a hash), then the default, limits and timeouts.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "responder policy {}: {} rule{} then the default; the first matching rule decides\n",
            self.file,
            self.rules.len(),
            if self.rules.len() == 1 { "" } else { "s" }
        );
        for (i, r) in self.rules.iter().enumerate() {
            let _ = write!(out, "  {}. {}: ", i + 1, r.name);
            r.describe(&mut out);
            out.push('\n');
        }
        out.push_str("  default: ");
        let mut d = self.default.clone();
        d.ap_title = None;
        d.ae_qualifier = None;
        d.addresses.clear();
        d.describe(&mut out);
        out.push('\n');
        let _ = writeln!(
            out,
            "  limits: max associations {}, max password length {} octets",
            self.limits
                .max_associations
                .map_or("(configuration's)".to_string(), |n| n.to_string()),
            self.limits.max_password_len
        );
        let secs = |d: Option<Duration>| {
            d.map_or("(configuration's)".to_string(), |d| {
                format!("{} s", d.as_secs())
            })
        };
        let _ = writeln!(
            out,
            "  timeouts: idle {}, establishment {}",
            secs(self.timeouts.idle),
            secs(self.timeouts.establishment)
        );
        if let Some(t) = &self.trust {
            let _ = writeln!(out, "  trust: {}", t.describe());
        }
        if let Some(i) = &self.identity {
            let _ = writeln!(
                out,
                "  identity: {} ({:?} key, {} certificate{})",
                i.subject(),
                i.key_type(),
                i.chain().len(),
                if i.chain().len() == 1 { "" } else { "s" }
            );
        }
        out
    }
}

/// Verifies a password against a parsed argon2id hash (the parameters come from the hash; the
/// final comparison is constant time in the argon2 crate).
fn verify(password: &[u8], hash: &PasswordHash) -> bool {
    Argon2::default().verify_password(password, hash).is_ok()
}

/// Parses and checks a `password_hash` value. Messages never repeat the value.
pub(crate) fn parse_hash(text: &str) -> Result<PasswordHash, String> {
    const HINT: &str = "password_hash must be an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); make one with guls_policy::hash_password";
    if !text.starts_with("$argon2id$") {
        return Err(format!("{HINT}; plain passwords are refused"));
    }
    let hash = PasswordHash::new(text).map_err(|e| format!("{HINT} ({e})"))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(format!("{HINT} (salt or hash missing)"));
    }
    if hash.version.is_some_and(|v| v != 0x13) {
        return Err(format!("{HINT} (only version 19 is accepted)"));
    }
    let params = Params::try_from(&hash).map_err(|e| format!("{HINT} ({e})"))?;
    if params.m_cost() > MAX_HASH_M_COST
        || params.t_cost() > MAX_HASH_T_COST
        || params.p_cost() > MAX_HASH_P_COST
    {
        return Err(format!(
            "password_hash parameters too costly for on-line verification (at most m={MAX_HASH_M_COST}, t={MAX_HASH_T_COST}, p={MAX_HASH_P_COST})"
        ));
    }
    Ok(hash)
}

fn compile_rule(
    src: &Source<'_>,
    raw: Spanned<RawRule>,
    default_name: String,
    is_default: bool,
) -> Result<Rule, PolicyError> {
    let span = raw.span();
    let r = raw.into_inner();
    let bad = |span: std::ops::Range<usize>, msg: String| src.error(span, ErrorKind::BadValue, msg);
    if let Some(p) = &r.password {
        return Err(src.error(
            p.span(),
            ErrorKind::PlainPassword,
            format!("{PLAIN_PASSWORD}; put argon2id hashes in [[rule.credential]] password_hash"),
        ));
    }
    let name = r.name.unwrap_or(default_name);
    let ap_title = match &r.ap_title {
        Some(t) => Some(TitlePattern::parse(t.get_ref()).map_err(|m| bad(t.span(), m))?),
        None => None,
    };
    let ae_qualifier = match &r.ae_qualifier {
        Some(q) => Some(match q.get_ref() {
            RawQualifier::Integer(v) => QualifierPattern::Integer(*v),
            RawQualifier::Rdn(s) => QualifierPattern::parse_rdn(s).map_err(|m| bad(q.span(), m))?,
        }),
        None => None,
    };
    let mut addresses = Vec::new();
    for a in r.addresses.iter().flatten() {
        addresses.push(IpNet::parse(a.get_ref()).map_err(|m| bad(a.span(), m))?);
    }
    if is_default {
        if ap_title.is_some() || ae_qualifier.is_some() || r.addresses.is_some() {
            return Err(bad(
                span,
                "[default] matches every peer; ap_title, ae_qualifier and addresses belong in a [[rule]]".into(),
            ));
        }
    } else if ap_title.is_none() && ae_qualifier.is_none() && addresses.is_empty() {
        return Err(bad(
            span,
            format!(
                "{name} matches nothing: give ap_title, ae_qualifier or addresses (a rule for every peer is [default])"
            ),
        ));
    }
    let mut mechanisms = Vec::new();
    for m in r.mechanisms.get_ref() {
        let mech = Mechanism::parse(m.get_ref()).map_err(|e| bad(m.span(), e))?;
        if !mechanisms.contains(&mech) {
            mechanisms.push(mech);
        }
    }
    if let Some(req) = &r.require_authentication {
        let accepts_none = mechanisms.contains(&Mechanism::None);
        if *req.get_ref() && accepts_none {
            return Err(bad(
                req.span(),
                "require_authentication = true contradicts mechanism \"none\" in mechanisms".into(),
            ));
        }
        if !*req.get_ref() && !accepts_none {
            // Authentication optional: unauthenticated peers are accepted.
            mechanisms.insert(0, Mechanism::None);
        }
    }
    let mut credentials = Vec::new();
    for c in r.credentials {
        let cspan = c.span();
        let c = c.into_inner();
        if let Some(p) = &c.password {
            return Err(src.error(
                p.span(),
                ErrorKind::PlainPassword,
                format!("{PLAIN_PASSWORD}; store an argon2id hash in password_hash (guls_policy::hash_password)"),
            ));
        }
        let Some(h) = &c.password_hash else {
            return Err(bad(cspan, "credential without password_hash".into()));
        };
        let hash =
            parse_hash(h.get_ref()).map_err(|m| src.error(h.span(), ErrorKind::BadHash, m))?;
        let identity = c.identity.get_ref().trim().to_string();
        if identity.is_empty() {
            return Err(bad(c.identity.span(), "identity must not be empty".into()));
        }
        let bound_title = match &c.ap_title {
            Some(t) => Some(TitlePattern::parse(t.get_ref()).map_err(|m| bad(t.span(), m))?),
            None => None,
        };
        credentials.push(StoredCredential {
            identity,
            bound_title,
            hash,
        });
    }
    if !credentials.is_empty() && !mechanisms.contains(&Mechanism::Password) {
        return Err(bad(
            r.mechanisms.span(),
            format!("{name} has credentials but does not accept mechanism \"password\""),
        ));
    }
    let exchanges = crate::exchanges::responder(
        src,
        &r.exchanges,
        &r.require_exchange,
        &r.on_exchange_failure,
    )?;
    Ok(Rule {
        name,
        ap_title,
        ae_qualifier,
        addresses,
        mechanisms,
        credentials,
        exchanges,
    })
}
