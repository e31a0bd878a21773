//! What the exchanges need from outside: certificate path validation ([`PeerVerifier`], to be
//! implemented by the policy crate), the local identity ([`LocalIdentity`]), the replay cache
//! ([`ReplayCache`]), and where results go ([`Reports`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use guls_acse::DistinguishedName;
use guls_crypto::rustls_pki_types::UnixTime;
use guls_crypto::{CryptoProvider, KeyType, SignatureAlgorithm, SigningKey};

use crate::credentials::{CertificationPath, SecurityProblem, dn_from_der};
use crate::ska::SessionKeys;

/// Why a certification path was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    /// A certificate of the path has expired.
    #[error("certificate expired")]
    Expired,
    /// A certificate of the path is not valid yet.
    #[error("certificate not yet valid")]
    NotYetValid,
    /// The path does not lead to a trust anchor.
    #[error("unknown issuer")]
    UnknownIssuer,
    /// A certificate's signature does not verify.
    #[error("bad certificate signature")]
    BadSignature,
    /// A certificate is revoked.
    #[error("certificate revoked")]
    Revoked,
    /// The certificate may not be used for this purpose (key usage, EKU, name constraints).
    #[error("certificate not valid for this use")]
    NotAllowed,
    /// A certificate could not be parsed, or its key type is unsupported.
    #[error("malformed certificate")]
    Malformed,
    /// Anything else the verifier reports.
    #[error("{0}")]
    Other(String),
}

impl PathProblem {
    /// The X.511 problem reported to the peer.
    pub fn security_problem(&self) -> SecurityProblem {
        match self {
            PathProblem::BadSignature => SecurityProblem::InvalidSignature,
            PathProblem::Revoked => SecurityProblem::BlockedCredentials,
            _ => SecurityProblem::InvalidCredentials,
        }
    }
}

/// A peer whose certification path was validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPeer {
    /// The end-entity certificate's subject, DER `Name`.
    pub subject_dn_der: Vec<u8>,
    /// The end-entity public key (the `subjectPublicKey` contents; see guls-crypto formats).
    pub public_key: Vec<u8>,
    /// Its key type.
    pub key_type: KeyType,
}

impl VerifiedPeer {
    /// The subject as a name (`None` if the verifier returned an undecodable one).
    pub fn subject(&self) -> Option<DistinguishedName> {
        dn_from_der(&self.subject_dn_der).ok()
    }
}

/// Validates a peer's certification path (end-entity first, then its issuers) at a given
/// time. The policy crate implements it with rustls-webpki and its trust anchors; binding the
/// peer's AE title to the subject is the caller's, on the exchange outcome.
pub trait PeerVerifier: Send + Sync {
    /// Validates a chain of borrowed certificates (end-entity first) at `at`: what the
    /// exchanges call, with the certificates where the received item holds them.
    fn verify_chain(&self, chain: &[&[u8]], at: UnixTime) -> Result<VerifiedPeer, PathProblem>;

    /// Validates `chain_ders` (end-entity first) at `at`: [`PeerVerifier::verify_chain`] on
    /// the same certificates.
    fn verify_path(
        &self,
        chain_ders: &[Vec<u8>],
        at: UnixTime,
    ) -> Result<VerifiedPeer, PathProblem> {
        let chain: Vec<&[u8]> = chain_ders.iter().map(Vec::as_slice).collect();
        self.verify_chain(&chain, at)
    }
}

/// Why an exchange role rejected its peer (the detail behind the X.511 [`SecurityProblem`]
/// signalled in authenticationFailure). Never carries secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// Simple credentials where they are not allowed.
    #[error("simple credentials are not accepted")]
    SimpleNotAllowed,
    /// The simple-credentials verifier refused them.
    #[error("simple credentials rejected")]
    SimpleRejected(SecurityProblem),
    /// externalProcedure or spkm credentials.
    #[error("unsupported kind of credentials")]
    UnsupportedCredentials,
    /// Strong credentials without a certification path.
    #[error("no certification path")]
    MissingCertificationPath,
    /// The certification path was refused.
    #[error("certification path: {0}")]
    Path(PathProblem),
    /// The signature algorithm is unknown, unsupported by the provider, or does not suit the
    /// key.
    #[error("unsupported or unsuitable signature algorithm")]
    UnsupportedAlgorithm,
    /// The signed algorithm and the algorithm inside the token differ.
    #[error("token algorithm mismatch")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The token names someone else as its recipient.
    #[error("token addressed to another name")]
    WrongName,
    /// The token's time is outside the clock-skew window.
    #[error("token time {token_time} outside the window around {now}")]
    StaleTime {
        /// The token's time (seconds since the epoch).
        token_time: u64,
        /// The local time.
        now: u64,
    },
    /// The token (signer, time, random) was seen before.
    #[error("replayed token")]
    Replayed,
    /// The token is one this side issued itself.
    #[error("reflected token")]
    Reflection,
    /// The answer to our random is missing (two-way).
    #[error("missing response")]
    MissingResponse,
    /// The answer does not echo our random (two-way).
    #[error("wrong response")]
    WrongResponse,
    /// The key agreement failed (bad public key, malformed transcript).
    #[error("key agreement failed: {0}")]
    KeyAgreement(&'static str),
    /// The key-confirmation MAC does not verify.
    #[error("key confirmation failed")]
    BadConfirmation,
    /// Local trouble (random source, signing key).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl AuthFailure {
    /// The X.511 problem signalled to the peer.
    pub fn security_problem(&self) -> SecurityProblem {
        match self {
            AuthFailure::SimpleNotAllowed | AuthFailure::UnsupportedCredentials => {
                SecurityProblem::InappropriateAuthentication
            }
            AuthFailure::SimpleRejected(p) => *p,
            AuthFailure::Path(p) => p.security_problem(),
            AuthFailure::BadSignature | AuthFailure::AlgorithmMismatch => {
                SecurityProblem::InvalidSignature
            }
            AuthFailure::Internal(_) => SecurityProblem::NoInformation,
            _ => SecurityProblem::InvalidCredentials,
        }
    }
}

/// This side's identity for strong authentication: a signing key and its certificate chain.
#[derive(Clone)]
pub struct LocalIdentity {
    key: Arc<dyn SigningKey>,
    algorithm: SignatureAlgorithm,
    // Shared: every role machine of a configuration holds the identity.
    path: Arc<CertificationPath>,
    name: Arc<DistinguishedName>,
    /// The contents of the name's DER (`dn.to_der()` without its SEQUENCE header).
    name_der_contents: Arc<[u8]>,
}

impl fmt::Debug for LocalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalIdentity")
            .field("key_type", &self.key.key_type())
            .field("algorithm", &self.algorithm)
            .field("name", &self.name.to_string())
            .finish_non_exhaustive()
    }
}

impl LocalIdentity {
    /// An identity from a key and its chain (end-entity certificate first, then issuers,
    /// raw DER). The name is the end-entity certificate's subject; the signature algorithm is
    /// the key's first.
    pub fn new(key: Arc<dyn SigningKey>, chain: &[Vec<u8>]) -> Result<Self, guls_ber::DecodeError> {
        let first = chain.first().map(Vec::as_slice).unwrap_or_default();
        let name = dn_from_der(&crate::cert::subject_der(first)?)?;
        let name_der = name.to_der();
        let name_der_contents = Arc::from(crate::credentials::whole(&name_der, "Name")?.contents);
        let algorithm = key.algorithms()[0];
        Ok(LocalIdentity {
            key,
            algorithm,
            path: Arc::new(CertificationPath::from_chain(chain)),
            name: Arc::new(name),
            name_der_contents,
        })
    }

    /// Loads a PKCS #8 key with `provider` (see [`Self::new`]).
    pub fn from_pkcs8(
        provider: &CryptoProvider,
        pkcs8_der: &[u8],
        chain: &[Vec<u8>],
    ) -> Result<Self, String> {
        let key = provider
            .key_provider
            .load_private_key(pkcs8_der)
            .map_err(|e| e.to_string())?;
        Self::new(Arc::from(key), chain).map_err(|e| e.to_string())
    }

    /// The same identity signing with `algorithm` (one of the key's).
    pub fn with_algorithm(mut self, algorithm: SignatureAlgorithm) -> Self {
        if self.key.algorithms().contains(&algorithm) {
            self.algorithm = algorithm;
        }
        self
    }

    /// The subject name.
    pub fn name(&self) -> &DistinguishedName {
        &self.name
    }

    /// The contents of the subject name's DER ([`DistinguishedName::to_der`]).
    pub(crate) fn name_der_contents(&self) -> &[u8] {
        &self.name_der_contents
    }

    /// The certification path sent.
    pub fn path(&self) -> &CertificationPath {
        &self.path
    }

    /// The signature algorithm used.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AuthFailure> {
        self.key
            .sign(self.algorithm, message)
            .map_err(|_| AuthFailure::Internal("signing failed"))
    }

    pub(crate) fn public_key(&self) -> &[u8] {
        self.key.public_key()
    }
}

/// Replay defence: the (signer, time, random) of every token accepted within the clock-skew
/// window, plus the randoms this side issued (to recognise reflections).
///
/// Bounded: at most `capacity` entries of each kind. Entries whose time fell out of the window
/// are dropped first; when the cache is still full the oldest entry is evicted and the cache
/// then refuses every token not newer than it (`floor`), so an eviction can never reopen a
/// replay — at worst it refuses an old but fresh-enough token.
#[derive(Debug)]
pub struct ReplayCache {
    skew: u64,
    capacity: usize,
    seen: BTreeSet<SeenToken>,
    floor: u64,
    /// Each random is held once, shared by both maps.
    issued: BTreeMap<Arc<[u8]>, u64>,
    /// The same randoms ordered by time, so expiry and eviction never scan the whole cache.
    issued_by_time: BTreeSet<(u64, Arc<[u8]>)>,
}

/// An accepted token's (time, signer, random), ordered as that tuple, in one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SeenToken {
    time: u64,
    /// The signer's octets then the random's.
    octets: Box<[u8]>,
    signer_len: usize,
}

impl SeenToken {
    fn new(time: u64, signer: &[u8], random: &[u8]) -> Self {
        SeenToken {
            time,
            octets: [signer, random].concat().into_boxed_slice(),
            signer_len: signer.len(),
        }
    }

    fn parts(&self) -> (u64, &[u8], &[u8]) {
        let (signer, random) = self.octets.split_at(self.signer_len);
        (self.time, signer, random)
    }
}

impl Ord for SeenToken {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl PartialOrd for SeenToken {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ReplayCache {
    /// A cache for a window of ± `skew_secs` seconds, holding at most `capacity` tokens.
    pub fn new(skew_secs: u64, capacity: usize) -> Self {
        ReplayCache {
            skew: skew_secs,
            capacity: capacity.max(1),
            seen: BTreeSet::new(),
            floor: 0,
            issued: BTreeMap::new(),
            issued_by_time: BTreeSet::new(),
        }
    }

    /// The clock-skew window, in seconds.
    pub fn skew(&self) -> u64 {
        self.skew
    }

    /// Number of tokens remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn expire(&mut self, now: u64) {
        let limit = now.saturating_sub(self.skew);
        while let Some(first) = self.seen.first() {
            if first.time >= limit {
                break;
            }
            self.seen.pop_first();
        }
        while let Some(first) = self.issued_by_time.first() {
            if first.0 >= limit {
                break;
            }
            if let Some((_, random)) = self.issued_by_time.pop_first() {
                self.issued.remove(&random);
            }
        }
    }

    /// Checks a token's time against the window and, if fresh and new, remembers it.
    pub fn check_and_insert(
        &mut self,
        signer: &[u8],
        time: u64,
        random: &[u8],
        now: u64,
    ) -> Result<(), AuthFailure> {
        if time.abs_diff(now) > self.skew || time <= self.floor && self.floor != 0 {
            return Err(AuthFailure::StaleTime {
                token_time: time,
                now,
            });
        }
        self.expire(now);
        let key = SeenToken::new(time, signer, random);
        if self.seen.contains(&key) {
            return Err(AuthFailure::Replayed);
        }
        while self.seen.len() >= self.capacity {
            if let Some(old) = self.seen.pop_first() {
                self.floor = self.floor.max(old.time);
            }
        }
        if time <= self.floor {
            return Err(AuthFailure::StaleTime {
                token_time: time,
                now,
            });
        }
        self.seen.insert(key);
        Ok(())
    }

    /// Remembers a random this side put into a token it sent.
    pub fn note_issued(&mut self, random: &[u8], now: u64) {
        self.expire(now);
        if let Some((random, previous)) = self.issued.remove_entry(random) {
            self.issued_by_time.remove(&(previous, random));
        }
        while self.issued.len() >= self.capacity {
            let Some((_, oldest)) = self.issued_by_time.pop_first() else {
                break;
            };
            self.issued.remove(&oldest);
        }
        let random: Arc<[u8]> = Arc::from(random);
        self.issued.insert(random.clone(), now);
        self.issued_by_time.insert((now, random));
    }

    /// Whether `random` is one this side issued (a reflected token).
    pub fn was_issued(&self, random: &[u8]) -> bool {
        self.issued.contains_key(random)
    }
}

/// A replay cache shared by every role of a configuration.
pub type SharedReplayCache = Arc<Mutex<ReplayCache>>;

/// Default `name_cache` of the exchange configurations: the most peer names kept decoded
/// (see `DirAuthConfig::name_cache`, `KeyAgreementConfig::name_cache`).
pub const DEFAULT_NAME_CACHE: usize = 64;

/// Peer names decoded from their DER ([`dn_from_der`]) with their text (`Display`), kept per
/// DER: an exchange outcome names its peer, the same peers come back, and the name and its
/// text are functions of the DER. At most `capacity` names (when full it starts again
/// empty; 0 keeps none).
pub(crate) struct NameTexts {
    names: Mutex<std::collections::HashMap<Vec<u8>, Arc<PeerName>>>,
    capacity: usize,
}

/// A peer name and its text.
#[derive(Debug)]
pub(crate) struct PeerName {
    /// The name decoded from its DER.
    pub(crate) name: DistinguishedName,
    /// `name.to_string()`.
    pub(crate) text: String,
}

impl NameTexts {
    /// An empty memory of at most `capacity` names.
    pub(crate) fn new(capacity: usize) -> Self {
        NameTexts {
            names: Mutex::default(),
            capacity,
        }
    }

    /// `name.to_string()`, for a `name` decoded from `der` ([`dn_from_der`]).
    pub(crate) fn text(&self, der: &[u8], name: &DistinguishedName) -> String {
        if let Some(n) = lock(&self.names).get(der) {
            return n.text.clone();
        }
        let text = name.to_string();
        self.keep(
            der,
            PeerName {
                name: name.clone(),
                text: text.clone(),
            },
        );
        text
    }

    /// The name `der` decodes to ([`dn_from_der`]) with its text; `None` when it does not
    /// decode.
    pub(crate) fn decoded(&self, der: &[u8]) -> Option<Arc<PeerName>> {
        if let Some(n) = lock(&self.names).get(der) {
            return Some(n.clone());
        }
        let name = dn_from_der(der).ok()?;
        let text = name.to_string();
        Some(self.keep(der, PeerName { name, text }))
    }

    fn keep(&self, der: &[u8], name: PeerName) -> Arc<PeerName> {
        let name = Arc::new(name);
        if self.capacity == 0 {
            return name;
        }
        let mut names = lock(&self.names);
        if names.len() >= self.capacity {
            names.clear();
        }
        names.insert(der.to_vec(), name.clone());
        name
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One role's result, as recorded in [`Reports`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The peer was authenticated.
    Authenticated {
        /// The exchange's name.
        exchange: &'static str,
        /// The peer's certified (or, for simple credentials, claimed and verified) name, DER.
        peer_dn_der: Vec<u8>,
    },
    /// The peer was rejected.
    Rejected {
        /// The exchange's name.
        exchange: &'static str,
        /// Why.
        failure: AuthFailure,
    },
}

#[derive(Default)]
struct ReportsInner {
    reports: VecDeque<Report>,
    keys: Option<SessionKeys>,
}

/// Where the roles of a configuration put what the generic [`guls_sese::Outcome`] cannot
/// carry: the detailed reason of a rejection, and the derived [`SessionKeys`] of a key
/// agreement. Cloning shares the same record; keep at most one running exchange per handle
/// when taking keys.
#[derive(Clone, Default)]
pub struct Reports(Arc<Mutex<ReportsInner>>);

impl fmt::Debug for Reports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.0);
        f.debug_struct("Reports")
            .field("reports", &inner.reports)
            .field("has_keys", &inner.keys.is_some())
            .finish()
    }
}

impl Reports {
    /// An empty record.
    pub fn new() -> Self {
        Reports::default()
    }

    pub(crate) fn push(&self, r: Report) {
        let mut inner = lock(&self.0);
        if inner.reports.len() >= 64 {
            inner.reports.pop_front();
        }
        inner.reports.push_back(r);
    }

    pub(crate) fn set_keys(&self, keys: SessionKeys) {
        lock(&self.0).keys = Some(keys);
    }

    /// The reports so far (the 64 most recent).
    pub fn reports(&self) -> Vec<Report> {
        lock(&self.0).reports.iter().cloned().collect()
    }

    /// The most recent rejection, if any.
    pub fn last_failure(&self) -> Option<AuthFailure> {
        lock(&self.0).reports.iter().rev().find_map(|r| match r {
            Report::Rejected { failure, .. } => Some(failure.clone()),
            Report::Authenticated { .. } => None,
        })
    }

    /// Takes the keys of the last completed key agreement.
    pub fn take_session_keys(&self) -> Option<SessionKeys> {
        lock(&self.0).keys.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_cache_window_replay_and_eviction() {
        let mut c = ReplayCache::new(10, 2);
        assert!(c.check_and_insert(b"k", 100, b"r1", 100).is_ok());
        assert_eq!(
            c.check_and_insert(b"k", 100, b"r1", 101),
            Err(AuthFailure::Replayed)
        );
        assert!(matches!(
            c.check_and_insert(b"k", 89, b"r2", 100),
            Err(AuthFailure::StaleTime { .. })
        ));
        assert!(c.check_and_insert(b"k", 101, b"r2", 101).is_ok());
        // Full: the oldest (t=100) is evicted, and nothing at or before it is accepted again.
        assert!(c.check_and_insert(b"k", 102, b"r3", 102).is_ok());
        assert_eq!(c.len(), 2);
        assert!(matches!(
            c.check_and_insert(b"k", 100, b"r1", 102),
            Err(AuthFailure::StaleTime { .. })
        ));
        // Entries out of the window expire.
        assert!(c.check_and_insert(b"k", 200, b"r4", 200).is_ok());
        assert_eq!(c.len(), 1);
        c.note_issued(b"mine", 200);
        assert!(c.was_issued(b"mine"));
    }

    #[test]
    fn peer_names_are_decoded_once_and_kept_as_decoding_gives_them() {
        for capacity in [DEFAULT_NAME_CACHE, 5, 0] {
            check_name_memory(capacity);
        }
    }

    fn check_name_memory(capacity: usize) {
        let names = NameTexts::new(capacity);
        let der_of = |cn: &str| {
            let mut w = guls_ber::Writer::new();
            w.constructed(guls_ber::Tag::SEQUENCE, |w| {
                w.constructed(guls_ber::Tag::SET, |w| {
                    w.constructed(guls_ber::Tag::SEQUENCE, |w| {
                        w.primitive(guls_ber::Tag::OID, &[0x55, 0x04, 0x03]);
                        w.primitive(guls_ber::Tag::PRINTABLE_STRING, cn.as_bytes());
                    })
                })
            });
            w.into_bytes()
        };
        for round in 0..2 {
            for i in 0..(capacity + 3) {
                let der = der_of(&format!("peer {i}"));
                let expected = dn_from_der(&der).unwrap();
                // Decoded now or kept from before: the same name and text.
                let n = names.decoded(&der).unwrap();
                assert_eq!(n.name, expected, "round {round}");
                assert_eq!(n.text, expected.to_string());
                assert_eq!(names.text(&der, &expected), expected.to_string());
                assert!(lock(&names.names).len() <= capacity);
            }
        }
        if capacity > 0 {
            // The last name decoded is kept.
            let last = der_of(&format!("peer {}", capacity + 2));
            assert!(lock(&names.names).contains_key(&last));
        }
        // What does not decode is not a name, and is not kept.
        for bad in [&[0x30, 0x03, 0x31][..], &[0x04, 0x00], &[]] {
            assert!(dn_from_der(bad).is_err());
            assert!(names.decoded(bad).is_none());
            assert!(!lock(&names.names).contains_key(bad));
        }
    }

    #[test]
    fn issued_randoms_are_evicted_oldest_first_and_expire() {
        let mut c = ReplayCache::new(10, 3);
        for (i, r) in [b"a", b"b", b"c", b"d", b"e"].iter().enumerate() {
            c.note_issued(*r, 100 + i as u64);
        }
        // Capacity 3: the two oldest are gone, the three newest remembered.
        assert!(!c.was_issued(b"a") && !c.was_issued(b"b"));
        assert!(c.was_issued(b"c") && c.was_issued(b"d") && c.was_issued(b"e"));
        // Re-issuing a random refreshes its time instead of duplicating it.
        c.note_issued(b"c", 110);
        c.note_issued(b"f", 111);
        assert!(c.was_issued(b"c") && !c.was_issued(b"d"));
        assert_eq!(c.issued.len(), c.issued_by_time.len());
        // Everything issued before now - skew expires.
        c.note_issued(b"g", 125);
        assert!(!c.was_issued(b"c") && !c.was_issued(b"e") && !c.was_issued(b"f"));
        assert!(c.was_issued(b"g"));
        assert_eq!(c.issued.len(), c.issued_by_time.len());
    }
}
