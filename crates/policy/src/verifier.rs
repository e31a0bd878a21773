//! The policy's side of the certificate exchanges of `guls-exchanges`: a
//! [`guls_exchanges::PeerVerifier`] over a [`TrustStore`] ([`PolicyVerifier`]), the mapping of
//! [`CertError`] onto [`PathProblem`], the AP-title binding of the authenticated peer, the
//! replay cache sized from `[trust] clock_skew_secs`, and downgrade detection
//! ([`is_downgrade`]).
//!
//! One [`PolicyVerifier`] serves one association: it knows the AP-title (and AE-qualifier)
//! the peer is expected to hold, binds it to the certificate during path validation
//! ([`TrustStore::bind`]) so that a mismatch fails the exchange with `authenticationFailure`
//! (`invalidCredentials`), and remembers the certificate it validated (for a later binding,
//! e.g. to the responding AP-title of an AARE) and the last [`CertError`] (for the audit
//! reason).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use guls_acse::{AeQualifier, ApTitle};
use guls_ber::{Oid, known};
use guls_crypto::CryptoProvider;
use guls_crypto::rustls_pki_types::UnixTime;
use guls_exchanges::{
    AuthFailure, DIR_AUTHENTICATION_ONE_WAY, DIR_AUTHENTICATION_TWO_WAY, PathProblem, PeerVerifier,
    ReplayCache, SIGNED_KEY_AGREEMENT, SharedReplayCache, VerifiedPeer,
};

use crate::certs::CertError;
use crate::exchanges::ResponderExchanges;
use crate::trust::{TrustStore, VerifiedCertificate};

/// The [`PathProblem`] an exchange reports for a [`CertError`].
///
/// | CertError | PathProblem |
/// |---|---|
/// | `Expired` | `Expired` |
/// | `NotYetValid` | `NotYetValid` |
/// | `UnknownIssuer`, `NoTrustAnchors` | `UnknownIssuer` |
/// | `BadSignature` | `BadSignature` |
/// | `Revoked` | `Revoked` |
/// | `KeyUsage`, `ExtendedKeyUsage`, `InvalidPath` | `NotAllowed` |
/// | `TooLarge`, `ChainTooLong`, `EmptyChain`, `Truncated`, `Malformed` | `Malformed` |
/// | anything else (AP-title binding, algorithms, CRL status, local trouble) | `Other(name)` |
///
/// `Other` is signalled as invalidCredentials ([`PathProblem::security_problem`]); the
/// detail stays local ([`PolicyVerifier::last_error`]).
pub fn path_problem(e: &CertError) -> PathProblem {
    match e {
        CertError::Expired { .. } => PathProblem::Expired,
        CertError::NotYetValid { .. } => PathProblem::NotYetValid,
        CertError::UnknownIssuer | CertError::NoTrustAnchors => PathProblem::UnknownIssuer,
        CertError::BadSignature => PathProblem::BadSignature,
        CertError::Revoked => PathProblem::Revoked,
        CertError::KeyUsage(_) | CertError::ExtendedKeyUsage(_) | CertError::InvalidPath(_) => {
            PathProblem::NotAllowed
        }
        CertError::TooLarge { .. }
        | CertError::ChainTooLong { .. }
        | CertError::EmptyChain
        | CertError::Truncated { .. }
        | CertError::Malformed(_) => PathProblem::Malformed,
        other => PathProblem::Other(other.name().to_string()),
    }
}

/// A short stable name of an exchange failure for audit records: the [`CertError`] name when
/// the certificate was the problem (`certificate-expired`, `ap-title-mismatch`, ...), else
/// the [`AuthFailure`]'s (`bad-signature`, `replayed-token`, ...).
pub fn failure_reason(failure: &AuthFailure, cert: Option<&CertError>) -> String {
    if let (AuthFailure::Path(_), Some(c)) = (failure, cert) {
        return c.name().to_string();
    }
    match failure {
        AuthFailure::SimpleNotAllowed => "simple-credentials-not-accepted",
        AuthFailure::SimpleRejected(_) => "simple-credentials-rejected",
        AuthFailure::UnsupportedCredentials => "unsupported-credentials",
        AuthFailure::MissingCertificationPath => "no-certification-path",
        AuthFailure::Path(p) => match p {
            PathProblem::Expired => "certificate-expired",
            PathProblem::NotYetValid => "certificate-not-yet-valid",
            PathProblem::UnknownIssuer => "unknown-issuer",
            PathProblem::BadSignature => "bad-signature",
            PathProblem::Revoked => "certificate-revoked",
            PathProblem::NotAllowed => "certificate-not-allowed",
            PathProblem::Malformed => "malformed-certificate",
            PathProblem::Other(_) => "invalid-certification-path",
        },
        AuthFailure::UnsupportedAlgorithm => "unsupported-algorithm",
        AuthFailure::AlgorithmMismatch => "algorithm-mismatch",
        AuthFailure::BadSignature => "bad-token-signature",
        AuthFailure::WrongName => "wrong-name",
        AuthFailure::StaleTime { .. } => "stale-time",
        AuthFailure::Replayed => "replayed-token",
        AuthFailure::Reflection => "reflected-token",
        AuthFailure::MissingResponse => "missing-response",
        AuthFailure::WrongResponse => "wrong-response",
        AuthFailure::KeyAgreement(_) => "key-agreement-failed",
        AuthFailure::BadConfirmation => "key-confirmation-failed",
        AuthFailure::Internal(_) => "internal-error",
    }
    .to_string()
}

/// A replay cache for the exchanges of one responder (or initiator): its window is the trust
/// store's clock skew (`[trust] clock_skew_secs`, default 300 s), at most
/// `[trust] replay_cache` tokens ([`crate::TrustOptions::replay_cache`], default
/// [`crate::DEFAULT_REPLAY_CACHE`]). Share it between associations.
pub fn replay_cache(trust: &TrustStore) -> SharedReplayCache {
    Arc::new(Mutex::new(ReplayCache::new(
        trust.options().clock_skew.as_secs(),
        trust.options().replay_cache,
    )))
}

/// Whether offering `offered` (a mechanism name, or the exchange carried in user
/// information) is a downgrade under `rule`: the rule requires an exchange, accepts mutual
/// certificate authentication (`dir-authentication-two-way` or `signed-key-agreement`) and
/// does not accept `dir-authentication-one-way`, and the peer offers the password mechanism
/// (2.2.3.1) or `dir-authentication-one-way`.
pub fn is_downgrade(rule: &ResponderExchanges, offered: Option<&Oid>) -> bool {
    let strong = rule.required
        && rule
            .accepted
            .iter()
            .any(|o| *o == DIR_AUTHENTICATION_TWO_WAY || *o == SIGNED_KEY_AGREEMENT)
        && !rule.accepted.contains(&DIR_AUTHENTICATION_ONE_WAY);
    strong
        && offered
            .is_some_and(|o| *o == known::PASSWORD_MECHANISM || *o == DIR_AUTHENTICATION_ONE_WAY)
}

#[derive(Default)]
struct State {
    verified: Option<VerifiedCertificate>,
    error: Option<CertError>,
}

/// Path validation for the exchanges of one association, by a [`TrustStore`] with a
/// provider's signature algorithms; binds the expected AP-title to the certificate.
pub struct PolicyVerifier {
    trust: TrustStore,
    provider: Arc<CryptoProvider>,
    expected: Option<(ApTitle, Option<AeQualifier>)>,
    state: Mutex<State>,
}

impl fmt::Debug for PolicyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyVerifier")
            .field("trust", &self.trust)
            .field("provider", &self.provider.name)
            .field(
                "expected",
                &self.expected.as_ref().map(|(t, _)| t.to_string()),
            )
            .finish_non_exhaustive()
    }
}

impl PolicyVerifier {
    /// A verifier without an expected AP-title (only the path is validated).
    pub fn new(trust: TrustStore, provider: Arc<CryptoProvider>) -> Self {
        PolicyVerifier {
            trust,
            provider,
            expected: None,
            state: Mutex::new(State::default()),
        }
    }

    /// The same verifier binding `ap_title` (and `ae_qualifier`) to the peer's certificate
    /// in every validation ([`TrustStore::bind`]); `None` binds nothing.
    pub fn expecting(
        mut self,
        ap_title: Option<ApTitle>,
        ae_qualifier: Option<AeQualifier>,
    ) -> Self {
        self.expected = ap_title.map(|t| (t, ae_qualifier));
        self
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The certificate of the last path that validated (and bound), if any.
    pub fn last_verified(&self) -> Option<VerifiedCertificate> {
        self.lock().verified.clone()
    }

    /// The last refusal, if any.
    pub fn last_error(&self) -> Option<CertError> {
        self.lock().error.clone()
    }

    /// Binds `ap_title` / `ae_qualifier` to the certificate validated last (after the
    /// exchange, e.g. the responding AP-title of an AARE). A refusal is remembered as
    /// [`Self::last_error`]; no validated certificate is [`CertError::EmptyChain`].
    pub fn bind_last(
        &self,
        ap_title: Option<&ApTitle>,
        ae_qualifier: Option<&AeQualifier>,
    ) -> Result<(), CertError> {
        let mut state = self.lock();
        let r = match &state.verified {
            None => Err(CertError::EmptyChain),
            Some(v) => self.trust.bind(&self.provider, v, ap_title, ae_qualifier),
        };
        if let Err(e) = &r {
            state.error = Some(e.clone());
        }
        r
    }

    fn check(&self, chain: &[&[u8]], at: UnixTime) -> Result<VerifiedCertificate, CertError> {
        let v = self.trust.verify_path(&self.provider, chain, at)?;
        if let Some((title, qualifier)) = &self.expected {
            self.trust
                .bind(&self.provider, &v, Some(title), qualifier.as_ref())?;
        }
        Ok(v)
    }
}

impl PeerVerifier for PolicyVerifier {
    fn verify_chain(&self, chain: &[&[u8]], at: UnixTime) -> Result<VerifiedPeer, PathProblem> {
        match self.check(chain, at) {
            Ok(v) => {
                let peer = VerifiedPeer {
                    subject_dn_der: v.subject_der().to_vec(),
                    public_key: v.public_key().to_vec(),
                    key_type: v.key_type(),
                };
                self.lock().verified = Some(v);
                Ok(peer)
            }
            Err(e) => {
                let p = path_problem(&e);
                self.lock().error = Some(e);
                Err(p)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_errors_map_onto_path_problems() {
        assert_eq!(
            path_problem(&CertError::Expired {
                not_after: 1,
                time: 2
            }),
            PathProblem::Expired
        );
        assert_eq!(path_problem(&CertError::Revoked), PathProblem::Revoked);
        let m = path_problem(&CertError::TitleMismatch {
            ap_title: "a".into(),
            subject: "b".into(),
        });
        assert_eq!(m, PathProblem::Other("ap-title-mismatch".into()));
        assert_eq!(
            m.security_problem(),
            guls_exchanges::SecurityProblem::InvalidCredentials
        );
        assert_eq!(
            failure_reason(
                &AuthFailure::Path(m),
                Some(&CertError::TitleMismatch {
                    ap_title: "a".into(),
                    subject: "b".into(),
                })
            ),
            "ap-title-mismatch"
        );
        assert_eq!(
            failure_reason(&AuthFailure::Replayed, None),
            "replayed-token"
        );
    }

    #[test]
    fn downgrades() {
        let ska = SIGNED_KEY_AGREEMENT;
        let rule = ResponderExchanges {
            accepted: vec![ska.clone()],
            required: true,
            ..Default::default()
        };
        assert!(is_downgrade(&rule, Some(&known::PASSWORD_MECHANISM)));
        assert!(is_downgrade(&rule, Some(&DIR_AUTHENTICATION_ONE_WAY)));
        assert!(!is_downgrade(&rule, Some(&ska)));
        assert!(!is_downgrade(&rule, None));
        let optional = ResponderExchanges {
            required: false,
            ..rule.clone()
        };
        assert!(!is_downgrade(&optional, Some(&known::PASSWORD_MECHANISM)));
        let with_one_way = ResponderExchanges {
            accepted: vec![ska, DIR_AUTHENTICATION_ONE_WAY],
            ..rule
        };
        assert!(!is_downgrade(
            &with_one_way,
            Some(&DIR_AUTHENTICATION_ONE_WAY)
        ));
    }
}
