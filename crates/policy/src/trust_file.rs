//! The `[trust]` and `[identity]` tables shared by responder and initiator policies.

use std::path::Path;
use std::time::Duration;

use guls_acse::ApTitle;
use guls_ber::Oid;
use serde::Deserialize;
use toml::Spanned;

use crate::certs::{load_certificates, load_crls};
use crate::error::{ErrorKind, PolicyError, Source};
use crate::identity::Identity;
use crate::peer::TitlePattern;
use crate::trust::{
    BindingTarget, ExtendedKeyUsageCheck, KP_ANY, KP_CLIENT_AUTH, KP_SERVER_AUTH, KeyUsageCheck,
    MAX_CERTIFICATE_CACHE, MAX_REPLAY_CACHE, MAX_SIGNATURE_CACHE, RevocationDepth, TrustOptions,
    TrustStore, parse_signature_algorithm, signature_algorithm_name,
};

/// Largest `clock_skew_secs`: one day.
pub const MAX_CLOCK_SKEW_SECS: u64 = 86_400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrust {
    anchors: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    crls: Vec<Spanned<String>>,
    clock_skew_secs: Option<Spanned<u64>>,
    accepted_signature_algorithms: Option<Spanned<Vec<Spanned<String>>>>,
    key_usage: Option<Spanned<String>>,
    key_purposes: Option<Spanned<Vec<Spanned<String>>>>,
    require_key_purpose: Option<Spanned<bool>>,
    revocation_depth: Option<Spanned<String>>,
    unknown_revocation_status: Option<Spanned<String>>,
    crl_next_update: Option<Spanned<String>>,
    signature_cache: Option<Spanned<usize>>,
    certificate_cache: Option<Spanned<usize>>,
    replay_cache: Option<Spanned<usize>>,
    #[serde(default, rename = "binding")]
    bindings: Vec<Spanned<RawBinding>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    ap_title: Spanned<String>,
    subject: Option<Spanned<String>>,
    spki_sha256: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentity {
    cert: Spanned<String>,
    key: Spanned<String>,
}

fn cert_error(src: &Source<'_>, span: std::ops::Range<usize>, msg: String) -> PolicyError {
    src.error(span, ErrorKind::Certificate, msg)
}

/// `WHAT PATH: problem`, without repeating the path an I/O error already names.
fn file_problem(what: &str, path: &Path, e: &crate::CertError) -> String {
    match e {
        crate::CertError::Io { message, .. } => format!("{what} {}: {message}", path.display()),
        other => format!("{what} {}: {other}", path.display()),
    }
}

fn bad(src: &Source<'_>, span: std::ops::Range<usize>, msg: String) -> PolicyError {
    src.error(span, ErrorKind::BadValue, msg)
}

/// The count `v` of key `key` when given, refused (at its span) outside `min..=max`.
fn bounded(
    src: &Source<'_>,
    v: &Option<Spanned<usize>>,
    key: &str,
    min: usize,
    max: usize,
) -> Result<Option<usize>, PolicyError> {
    let Some(v) = v else { return Ok(None) };
    let n = *v.get_ref();
    if (min..=max).contains(&n) {
        return Ok(Some(n));
    }
    let range = if min == 0 {
        format!("at most {max}")
    } else {
        format!("from {min} to {max}")
    };
    Err(bad(src, v.span(), format!("{key} must be {range}")))
}

fn choice<T: Copy>(
    src: &Source<'_>,
    v: &Option<Spanned<String>>,
    key: &str,
    options: &[(&str, T)],
    default: T,
) -> Result<T, PolicyError> {
    let Some(v) = v else { return Ok(default) };
    options
        .iter()
        .find(|(n, _)| *n == v.get_ref().trim())
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            bad(
                src,
                v.span(),
                format!("{key} must be one of {}", names.join(", ")),
            )
        })
}

fn key_purpose(text: &str) -> Result<Oid, String> {
    let oid = match text.trim() {
        "client-auth" => KP_CLIENT_AUTH,
        "server-auth" => KP_SERVER_AUTH,
        "any-purpose" => KP_ANY,
        t => t,
    };
    oid.parse::<Oid>().map_err(|_| {
        format!(
            "unknown key purpose `{text}` (client-auth, server-auth, any-purpose, \"any\" alone, or a dotted OID)"
        )
    })
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let t: String = text
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if t.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(t.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Compiles `[trust]`: reads the anchor and CRL files (relative to `base`) now, so that a
/// missing or broken file is an error at its position in the policy.
pub(crate) fn compile_trust(
    src: &Source<'_>,
    base: &Path,
    raw: RawTrust,
) -> Result<TrustStore, PolicyError> {
    if raw.anchors.get_ref().is_empty() {
        return Err(bad(
            src,
            raw.anchors.span(),
            "anchors must name at least one certificate file".into(),
        ));
    }
    let mut store =
        TrustStore::new(&[]).map_err(|e| cert_error(src, raw.anchors.span(), e.to_string()))?;
    for a in raw.anchors.get_ref() {
        let path = base.join(a.get_ref());
        let certs = load_certificates(&path)
            .map_err(|e| cert_error(src, a.span(), file_problem("trust anchor file", &path, &e)))?;
        store
            .add_anchors(&certs)
            .map_err(|e| cert_error(src, a.span(), file_problem("trust anchor file", &path, &e)))?;
    }
    for c in &raw.crls {
        let path = base.join(c.get_ref());
        let crls = load_crls(&path)
            .map_err(|e| cert_error(src, c.span(), file_problem("CRL file", &path, &e)))?;
        store
            .add_crls(&crls)
            .map_err(|e| cert_error(src, c.span(), file_problem("CRL file", &path, &e)))?;
    }
    let mut o = TrustOptions::default();
    if let Some(s) = &raw.clock_skew_secs {
        if *s.get_ref() > MAX_CLOCK_SKEW_SECS {
            return Err(bad(
                src,
                s.span(),
                format!("clock_skew_secs must be at most {MAX_CLOCK_SKEW_SECS}"),
            ));
        }
        o.clock_skew = Duration::from_secs(*s.get_ref());
    }
    if let Some(n) = bounded(
        src,
        &raw.signature_cache,
        "signature_cache",
        0,
        MAX_SIGNATURE_CACHE,
    )? {
        o.signature_cache = n;
    }
    if let Some(n) = bounded(
        src,
        &raw.certificate_cache,
        "certificate_cache",
        0,
        MAX_CERTIFICATE_CACHE,
    )? {
        o.certificate_cache = n;
    }
    if let Some(n) = bounded(src, &raw.replay_cache, "replay_cache", 1, MAX_REPLAY_CACHE)? {
        o.replay_cache = n;
    }
    if let Some(list) = &raw.accepted_signature_algorithms {
        let mut algs = Vec::new();
        for a in list.get_ref() {
            let alg = parse_signature_algorithm(a.get_ref()).ok_or_else(|| {
                let known: Vec<&str> = guls_crypto::SignatureAlgorithm::ALL
                    .iter()
                    .map(|a| signature_algorithm_name(*a))
                    .collect();
                bad(
                    src,
                    a.span(),
                    format!(
                        "unknown signature algorithm `{}` (known: {})",
                        a.get_ref(),
                        known.join(", ")
                    ),
                )
            })?;
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
        if algs.is_empty() {
            return Err(bad(
                src,
                list.span(),
                "accepted_signature_algorithms must not be empty (leave it out to accept every algorithm of the provider)".into(),
            ));
        }
        o.accepted_algorithms = Some(algs);
    }
    o.key_usage = choice(
        src,
        &raw.key_usage,
        "key_usage",
        &[
            ("if-present", KeyUsageCheck::IfPresent),
            ("required", KeyUsageCheck::Required),
        ],
        KeyUsageCheck::IfPresent,
    )?;
    let require = raw
        .require_key_purpose
        .as_ref()
        .map(|r| (*r.get_ref(), r.span()));
    let purposes = match &raw.key_purposes {
        None => None,
        Some(list) => {
            let items = list.get_ref();
            if items.len() == 1 && items[0].get_ref().trim() == "any" {
                Some(None)
            } else if items.is_empty() {
                return Err(bad(
                    src,
                    list.span(),
                    "key_purposes must not be empty (write [\"any\"] to skip the extended key usage check)".into(),
                ));
            } else {
                let mut oids = Vec::new();
                for p in items {
                    if p.get_ref().trim() == "any" {
                        return Err(bad(
                            src,
                            p.span(),
                            "\"any\" must be the only entry of key_purposes".into(),
                        ));
                    }
                    oids.push(key_purpose(p.get_ref()).map_err(|m| bad(src, p.span(), m))?);
                }
                Some(Some(oids))
            }
        }
    };
    o.extended_key_usage = match (purposes, require) {
        (Some(None), Some((true, span))) => {
            return Err(bad(
                src,
                span,
                "require_key_purpose = true needs key_purposes other than [\"any\"]".into(),
            ));
        }
        (Some(None), _) => ExtendedKeyUsageCheck::Any,
        (p, r) => {
            let list = match p {
                Some(Some(l)) => l,
                _ => match ExtendedKeyUsageCheck::default() {
                    ExtendedKeyUsageCheck::IfPresent(l) => l,
                    _ => unreachable!("the default is IfPresent"),
                },
            };
            if r.is_some_and(|(b, _)| b) {
                ExtendedKeyUsageCheck::Required(list)
            } else {
                ExtendedKeyUsageCheck::IfPresent(list)
            }
        }
    };
    o.revocation_depth = choice(
        src,
        &raw.revocation_depth,
        "revocation_depth",
        &[
            ("chain", RevocationDepth::Chain),
            ("end-entity", RevocationDepth::EndEntity),
        ],
        RevocationDepth::Chain,
    )?;
    o.allow_unknown_revocation_status = choice(
        src,
        &raw.unknown_revocation_status,
        "unknown_revocation_status",
        &[("deny", false), ("allow", true)],
        false,
    )?;
    o.enforce_crl_next_update = choice(
        src,
        &raw.crl_next_update,
        "crl_next_update",
        &[("enforce", true), ("ignore", false)],
        true,
    )?;
    let mut store = store.with_options(o);
    for b in raw.bindings {
        let bspan = b.span();
        let b = b.into_inner();
        let title = TitlePattern::parse(b.ap_title.get_ref())
            .map_err(|m| bad(src, b.ap_title.span(), m))?;
        let ap_title = match (&title, title.to_distinguished_name()) {
            (_, Some(dn)) => ApTitle::Form1(dn),
            (TitlePattern::Oid(o), None) => ApTitle::Form2(o.clone()),
            _ => unreachable!("a title pattern is a DN or an OID"),
        };
        let target = match (&b.subject, &b.spki_sha256) {
            (Some(s), None) => {
                let dn = TitlePattern::parse(s.get_ref())
                    .ok()
                    .and_then(|p| p.to_distinguished_name())
                    .ok_or_else(|| {
                        bad(
                            src,
                            s.span(),
                            "subject must be a Directory name such as \"CN=ied1,O=utility\"".into(),
                        )
                    })?;
                BindingTarget::Subject(dn)
            }
            (None, Some(h)) => {
                BindingTarget::SpkiSha256(parse_hex32(h.get_ref()).ok_or_else(|| {
                    bad(
                        src,
                        h.span(),
                        "spki_sha256 must be 64 hexadecimal digits (colons allowed)".into(),
                    )
                })?)
            }
            (Some(s), Some(_)) => {
                return Err(bad(
                    src,
                    s.span(),
                    "give either subject or spki_sha256, not both".into(),
                ));
            }
            (None, None) => {
                return Err(bad(
                    src,
                    bspan,
                    "a [[trust.binding]] needs subject or spki_sha256".into(),
                ));
            }
        };
        store
            .add_binding(&ap_title, target)
            .map_err(|e| bad(src, b.ap_title.span(), e.to_string()))?;
    }
    Ok(store)
}

/// Compiles `[identity]`: reads the certificate and key files (relative to `base`) now.
pub(crate) fn compile_identity(
    src: &Source<'_>,
    base: &Path,
    raw: RawIdentity,
) -> Result<Identity, PolicyError> {
    let cert = base.join(raw.cert.get_ref());
    let key = base.join(raw.key.get_ref());
    Identity::load(&cert, &key).map_err(|e| {
        let span = match e {
            crate::CertError::PrivateKey(_) => raw.key.span(),
            crate::CertError::Io { ref file, .. } if *file == key.display().to_string() => {
                raw.key.span()
            }
            _ => raw.cert.span(),
        };
        let message = match &e {
            crate::CertError::Io { file, message } => format!("identity file {file}: {message}"),
            other => format!("identity: {other}"),
        };
        cert_error(src, span, message)
    })
}

#[cfg(test)]
mod tests {
    use super::parse_hex32;

    #[test]
    fn hex() {
        let h = "00".repeat(31) + "ff";
        assert_eq!(parse_hex32(&h).unwrap()[31], 0xff);
        let colons: Vec<String> = (0..32).map(|i| format!("{i:02x}")).collect();
        assert_eq!(parse_hex32(&colons.join(":")).unwrap()[5], 5);
        assert!(parse_hex32("abc").is_none());
        assert!(parse_hex32(&"zz".repeat(32)).is_none());
    }
}
