//! The initiator policy: which mechanism and credential to present to which peer.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guls_acse::ApTitle;
use guls_association::Authentication;
use guls_ber::Oid;
use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;
use zeroize::Zeroizing;

use crate::error::{ErrorKind, PolicyError, Source, line_col};
use crate::exchanges::InitiatorExchanges;
use crate::identity::Identity;
use crate::peer::{IpNet, TitlePattern};
use crate::responder::{Mechanism, PLAIN_PASSWORD};
use crate::trust::TrustStore;
use crate::trust_file::{RawIdentity, RawTrust, compile_identity, compile_trust};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInitiator {
    #[serde(default, rename = "peer")]
    peers: Vec<Spanned<RawPeer>>,
    #[serde(default)]
    default: Option<Spanned<RawPeer>>,
    #[serde(default)]
    trust: Option<RawTrust>,
    #[serde(default)]
    identity: Option<RawIdentity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    name: Option<String>,
    addresses: Option<Vec<Spanned<String>>>,
    ap_title: Option<Spanned<String>>,
    mechanism: Spanned<String>,
    password_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    /// Only to refuse it with a clear message; the value is never kept.
    password: Option<Spanned<IgnoredAny>>,
    /// Security exchanges (see [`crate::exchanges`]).
    exchanges: Option<Spanned<Vec<Spanned<String>>>>,
    carrier: Option<Spanned<String>>,
    on_exchange_failure: Option<Spanned<String>>,
}

/// A credential to present: the mechanism name and the password (zeroed on drop; `Debug`
/// shows neither the password nor its length).
#[derive(Clone)]
pub struct Credential {
    /// The mechanism name (2.2.3.1 for password).
    pub mechanism: Oid,
    /// The password octets.
    pub password: Zeroizing<Vec<u8>>,
}

impl Credential {
    /// The ACSE authentication parameters for [`guls_association::AssociateParams`]: the
    /// password in a `charstring`, as libiec61850 expects.
    pub fn authentication(&self) -> Authentication {
        let mut a = Authentication::password(&self.password);
        a.mechanism = self.mechanism.clone();
        a
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("mechanism", &format_args!("{}", self.mechanism))
            .field("password", &format_args!("<redacted>"))
            .finish()
    }
}

/// Where a password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PasswordSource {
    /// The first line of a file (trailing `\n` or `\r\n` stripped).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

#[derive(Debug, Clone)]
struct Peer {
    name: String,
    addresses: Vec<IpNet>,
    ap_title: Option<TitlePattern>,
    mechanism: Mechanism,
    /// The source and the (line, column) of its key, for errors at use.
    source: Option<(PasswordSource, usize, usize)>,
    exchanges: InitiatorExchanges,
}

impl Peer {
    fn matches(&self, addr: Option<SocketAddr>, title: Option<&ApTitle>) -> bool {
        if let Some(p) = &self.ap_title {
            if !title.is_some_and(|t| p.matches(t)) {
                return false;
            }
        }
        if !self.addresses.is_empty() {
            let Some(a) = addr else { return false };
            if !self.addresses.iter().any(|n| n.contains(a.ip())) {
                return false;
            }
        }
        true
    }
}

/// An initiator's policy: `[[peer]]` entries tried in file order (first match wins), then
/// `[default]`; each names the mechanism and where its password comes from (a file or an
/// environment variable, never inline).
#[derive(Debug, Clone)]
pub struct InitiatorPolicy {
    file: String,
    peers: Vec<Peer>,
    default: Option<Peer>,
    trust: Option<TrustStore>,
    identity: Option<Identity>,
}

impl InitiatorPolicy {
    /// Reads and checks a policy file. Relative `password_file` paths are relative to the
    /// policy file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let (file, text) = crate::error::read_policy_file(path.as_ref())?;
        Self::parse(&text, &file)
    }

    /// Checks a policy given as text; `file` names it in errors, and its directory is the base
    /// of relative `password_file` paths.
    pub fn parse(text: &str, file: &str) -> Result<Self, PolicyError> {
        let src = Source { file, text };
        let raw: RawInitiator = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        let base = Path::new(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut peers = Vec::new();
        for (i, p) in raw.peers.into_iter().enumerate() {
            peers.push(compile_peer(
                &src,
                &base,
                p,
                format!("peer {}", i + 1),
                false,
            )?);
        }
        let default = match raw.default {
            Some(d) => Some(compile_peer(&src, &base, d, "default".into(), true)?),
            None => None,
        };
        let trust = match raw.trust {
            Some(t) => Some(compile_trust(&src, &base, t)?),
            None => None,
        };
        let identity = match raw.identity {
            Some(i) => Some(compile_identity(&src, &base, i)?),
            None => None,
        };
        Ok(InitiatorPolicy {
            file: file.to_string(),
            peers,
            default,
            trust,
            identity,
        })
    }

    /// The `[trust]` table: trust anchors, CRLs, options and the AP-title binding table for
    /// authenticating responders by certificate; `None` without one.
    pub fn trust(&self) -> Option<&TrustStore> {
        self.trust.as_ref()
    }

    /// The `[identity]` table: our certificate (chain) and private key; `None` without one.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The credential to present to a peer, by its address and called AP-title: the first
    /// `[[peer]]` whose criteria all match, else `[default]`. `Ok(None)` when that entry says
    /// mechanism `none` or nothing matches. The password is read now (so a rotated file or
    /// variable is picked up); an unreadable, missing or empty source is an error at the key's
    /// position.
    pub fn credential_for(
        &self,
        addr: Option<SocketAddr>,
        called_ap_title: Option<&ApTitle>,
    ) -> Result<Option<Credential>, PolicyError> {
        let Some(peer) = self
            .peers
            .iter()
            .find(|p| p.matches(addr, called_ap_title))
            .or(self.default.as_ref())
        else {
            return Ok(None);
        };
        let Some(mechanism) = peer.mechanism.oid() else {
            return Ok(None);
        };
        let Some((source, line, column)) = &peer.source else {
            return Ok(None);
        };
        let err = |message: String| PolicyError::Invalid {
            file: self.file.clone(),
            line: *line,
            column: *column,
            kind: ErrorKind::CredentialSource,
            message,
        };
        let password = match source {
            PasswordSource::File(path) => {
                let mut data = Zeroizing::new(std::fs::read(path).map_err(|e| {
                    err(format!(
                        "{}: cannot read password file {}: {e}",
                        peer.name,
                        path.display()
                    ))
                })?);
                if let Some(end) = data.iter().position(|&b| b == b'\n') {
                    data.truncate(end);
                }
                if data.last() == Some(&b'\r') {
                    data.pop();
                }
                if data.is_empty() {
                    return Err(err(format!(
                        "{}: password file {} is empty",
                        peer.name,
                        path.display()
                    )));
                }
                data
            }
            PasswordSource::Env(var) => {
                let v = std::env::var(var)
                    .map_err(|e| err(format!("{}: environment variable {var}: {e}", peer.name)))?;
                let v = Zeroizing::new(v.into_bytes());
                if v.is_empty() {
                    return Err(err(format!(
                        "{}: environment variable {var} is empty",
                        peer.name
                    )));
                }
                v
            }
        };
        Ok(Some(Credential {
            mechanism,
            password,
        }))
    }

    /// The security exchanges to offer to a peer (same matching as
    /// [`InitiatorPolicy::credential_for`]); `None` when the entry offers none or nothing
    /// matches.
    pub fn exchanges_for(
        &self,
        addr: Option<SocketAddr>,
        called_ap_title: Option<&ApTitle>,
    ) -> Option<&InitiatorExchanges> {
        self.peers
            .iter()
            .find(|p| p.matches(addr, called_ap_title))
            .or(self.default.as_ref())
            .map(|p| &p.exchanges)
            .filter(|x| !x.offered.is_empty())
    }

    /// A human summary: peers in order with what they match, the mechanism and the password
    /// source (a file name or a variable name, never a password).
    pub fn summary(&self) -> String {
        let mut out = format!(
            "initiator policy {}: {} peer entr{} then the default; the first matching entry decides\n",
            self.file,
            self.peers.len(),
            if self.peers.len() == 1 { "y" } else { "ies" }
        );
        let describe = |p: &Peer| {
            let mut what = Vec::new();
            if let Some(t) = &p.ap_title {
                what.push(format!("called AP-title {t}"));
            }
            if !p.addresses.is_empty() {
                let a: Vec<String> = p.addresses.iter().map(ToString::to_string).collect();
                what.push(format!("address in {}", a.join(", ")));
            }
            if what.is_empty() {
                what.push("every peer".into());
            }
            let src = match &p.source {
                Some((PasswordSource::File(f), ..)) => {
                    format!("; password from file {}", f.display())
                }
                Some((PasswordSource::Env(v), ..)) => format!("; password from ${v}"),
                None => String::new(),
            };
            format!(
                "matches {}; mechanism {}{src}{}",
                what.join(" and "),
                p.mechanism.name(),
                p.exchanges.describe()
            )
        };
        for (i, p) in self.peers.iter().enumerate() {
            out.push_str(&format!("  {}. {}: {}\n", i + 1, p.name, describe(p)));
        }
        match &self.default {
            Some(d) => out.push_str(&format!("  default: {}\n", describe(d))),
            None => out.push_str("  default: no authentication\n"),
        }
        if let Some(t) = &self.trust {
            out.push_str(&format!("  trust: {}\n", t.describe()));
        }
        if let Some(i) = &self.identity {
            out.push_str(&format!(
                "  identity: {} ({:?} key, {} certificate{})\n",
                i.subject(),
                i.key_type(),
                i.chain().len(),
                if i.chain().len() == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

fn compile_peer(
    src: &Source<'_>,
    base: &Path,
    raw: Spanned<RawPeer>,
    default_name: String,
    is_default: bool,
) -> Result<Peer, PolicyError> {
    let span = raw.span();
    let p = raw.into_inner();
    let bad = |span: std::ops::Range<usize>, msg: String| src.error(span, ErrorKind::BadValue, msg);
    if let Some(pw) = &p.password {
        return Err(src.error(
            pw.span(),
            ErrorKind::PlainPassword,
            format!("{PLAIN_PASSWORD}; use password_file = \"PATH\" or password_env = \"VAR\""),
        ));
    }
    let name = p.name.unwrap_or(default_name);
    let ap_title = match &p.ap_title {
        Some(t) => Some(TitlePattern::parse(t.get_ref()).map_err(|m| bad(t.span(), m))?),
        None => None,
    };
    let mut addresses = Vec::new();
    for a in p.addresses.iter().flatten() {
        addresses.push(IpNet::parse(a.get_ref()).map_err(|m| bad(a.span(), m))?);
    }
    if is_default {
        if ap_title.is_some() || p.addresses.is_some() {
            return Err(bad(
                span,
                "[default] applies to every peer; ap_title and addresses belong in a [[peer]]"
                    .into(),
            ));
        }
    } else if ap_title.is_none() && addresses.is_empty() {
        return Err(bad(
            span,
            format!(
                "{name} matches nothing: give ap_title or addresses (an entry for every peer is [default])"
            ),
        ));
    }
    let mechanism =
        Mechanism::parse(p.mechanism.get_ref()).map_err(|m| bad(p.mechanism.span(), m))?;
    let source = match (&p.password_file, &p.password_env) {
        (Some(f), Some(_)) => {
            return Err(bad(
                f.span(),
                "give either password_file or password_env, not both".into(),
            ));
        }
        (Some(f), None) => {
            if f.get_ref().trim().is_empty() {
                return Err(bad(f.span(), "password_file is empty".into()));
            }
            let (l, c) = line_col(src.text, f.span().start);
            Some((PasswordSource::File(base.join(f.get_ref())), l, c))
        }
        (None, Some(v)) => {
            let name_ok = !v.get_ref().is_empty()
                && v.get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !name_ok {
                return Err(bad(
                    v.span(),
                    "password_env must be an environment variable name (letters, digits, _)".into(),
                ));
            }
            let (l, c) = line_col(src.text, v.span().start);
            Some((PasswordSource::Env(v.get_ref().clone()), l, c))
        }
        (None, None) => None,
    };
    match (mechanism, &source) {
        (Mechanism::Password, None) => {
            return Err(bad(
                p.mechanism.span(),
                format!("{name}: mechanism \"password\" needs password_file or password_env"),
            ));
        }
        (Mechanism::None, Some(_)) => {
            return Err(bad(
                p.mechanism.span(),
                format!("{name}: mechanism \"none\" takes no password_file or password_env"),
            ));
        }
        _ => {}
    }
    let exchanges =
        crate::exchanges::initiator(src, &p.exchanges, &p.carrier, &p.on_exchange_failure)?;
    if let Some(l) = &p.exchanges
        && !exchanges.offered.is_empty()
        && mechanism == Mechanism::Password
    {
        return Err(bad(
            l.span(),
            format!(
                "{name}: a security exchange replaces the password: use mechanism = \"none\" with exchanges"
            ),
        ));
    }
    Ok(Peer {
        name,
        addresses,
        ap_title,
        mechanism,
        source,
        exchanges,
    })
}
