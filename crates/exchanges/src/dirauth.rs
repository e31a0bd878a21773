//! X.830 Annex C `dirAuthenticationOneWay` (2.20.4.1) and `dirAuthenticationTwoWay`
//! (2.20.4.2): items are X.511 [`Credentials`]; strong credentials carry a certification path
//! and a bind token signed by the sender over `TokenContent` (algorithm, the *recipient's*
//! name, time, random and, in the responder's token of the two-way exchange, `response` = the
//! initiator's random).
//!
//! Receiving strong credentials, a role checks, in this order:
//! 1. reflection: the token's random is one this side issued → [`AuthFailure::Reflection`];
//! 2. a certification path is present, and the [`PeerVerifier`] accepts it at the [`Clock`]'s
//!    time; a path certifying this side's own key is a reflection too;
//! 3. the SIGNED algorithm is known, equals the token's `algorithm`, suits the key, and the
//!    provider verifies the signature over the `toBeSigned` octets as received;
//! 4. `name` is this side's name;
//! 5. (two-way initiator) `response` echoes its random;
//! 6. `time` is within ± the skew of now, and (signer key, time, random) was not seen before
//!    ([`ReplayCache`]).
//!
//! Simple credentials are accepted only when the configuration has a
//! [`SimpleCredentialsVerifier`]; otherwise they fail with inappropriateAuthentication.
//!
//! **Errors on the wire.** X.830 lets only `initiatorCredentials` (item 1 of the two-way
//! exchange) raise `authenticationFailure` (local:1, parameter SecurityProblem). With
//! [`ErrorSignalling::Strict`] (the default) a rejection of any other item is an se-u-abort
//! without errors (the detail stays local, in [`Reports`]); [`ErrorSignalling::Extended`]
//! (a profile option both peers must share) lets every item raise it.

use std::sync::{Arc, Mutex};

use guls_acse::DistinguishedName;
use guls_ber::BitString;
use guls_crypto::CryptoProvider;
use guls_crypto::rustls_pki_types::UnixTime;
use guls_sese::{
    DecodedItem, ErrorDef, ExchangeDefinition, ExchangeRole, Identifier, Item, ItemDef, ItemType,
    Oid, Outcome, SeError, Sequencing, Step,
};

use crate::credentials::{
    AlgorithmIdentifier, Credentials, SecurityProblem, SimpleCredentials, StrongCredentials,
    dn_to_der, encode_strong_credentials, encode_token_content, same_name, signature_algorithm_of,
};
use crate::time::{Clock, secs};
use crate::verify::{
    AuthFailure, DEFAULT_NAME_CACHE, LocalIdentity, NameTexts, PeerVerifier, ReplayCache, Report,
    Reports, SharedReplayCache, VerifiedPeer, lock,
};

/// dirAuthenticationOneWay, `{securityExchanges dir-authent-one-way(1)}` = 2.20.4.1.
pub const DIR_AUTHENTICATION_ONE_WAY: Oid = Oid::from_static(&[0x64, 0x04, 0x01]);
/// dirAuthenticationTwoWay, `{securityExchanges dir-authent-two-way(2)}` = 2.20.4.2.
pub const DIR_AUTHENTICATION_TWO_WAY: Oid = Oid::from_static(&[0x64, 0x04, 0x02]);
/// The error code of X.830 `authenticationFailure`: `local:1`.
pub const AUTHENTICATION_FAILURE: Identifier = Identifier::Local(1);

/// Length of the randoms this crate puts into tokens, in octets.
pub const RANDOM_LEN: usize = 32;

/// X.830 `authenticationFailure` (local:1, parameter X.511 SecurityProblem).
pub fn authentication_failure() -> ErrorDef {
    ErrorDef::new(AUTHENTICATION_FAILURE, "authenticationFailure")
        .with_parameter::<SecurityProblem>()
}

/// The SeError signalling `problem`.
pub fn authentication_failure_error(problem: SecurityProblem) -> SeError {
    SeError::with_parameter(AUTHENTICATION_FAILURE, problem.encode())
}

/// Decides whether simple credentials are acceptable (e.g. a password check by the policy).
pub trait SimpleCredentialsVerifier: Send + Sync {
    /// `Ok` when `credentials` authenticate their `name` at `now`.
    fn verify(&self, credentials: &SimpleCredentials, now: UnixTime)
    -> Result<(), SecurityProblem>;
}

/// Which items may carry authenticationFailure on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorSignalling {
    /// As X.830 defines the exchanges: only two-way item 1.
    #[default]
    Strict,
    /// Profile option: every item of both exchanges.
    Extended,
}

/// What this side sends.
#[derive(Debug, Clone)]
pub enum OwnCredentials {
    /// Strong credentials (certification path and signed bind token).
    Strong(LocalIdentity),
    /// Simple credentials, sent as given.
    Simple(SimpleCredentials),
}

impl OwnCredentials {
    fn name(&self) -> &DistinguishedName {
        match self {
            OwnCredentials::Strong(i) => i.name(),
            OwnCredentials::Simple(s) => &s.name,
        }
    }
}

/// The configuration of both directory authentication exchanges (cheap to clone; the replay
/// cache and the reports are shared by every clone).
#[derive(Clone)]
pub struct DirAuthConfig {
    /// Signature verification and randomness.
    pub provider: Arc<CryptoProvider>,
    /// What this side sends.
    pub credentials: OwnCredentials,
    /// Certification path validation.
    pub verifier: Arc<dyn PeerVerifier>,
    /// Whether (and how) simple credentials from the peer are accepted; `None` refuses them.
    pub accept_simple: Option<Arc<dyn SimpleCredentialsVerifier>>,
    /// The initiator's intended peer (the `name` of its token); required for strong
    /// credentials on the initiator side.
    pub peer_name: Option<DistinguishedName>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The replay cache (its skew is the accepted clock skew).
    pub replay: SharedReplayCache,
    /// Where detailed results go.
    pub reports: Reports,
    /// Which items may carry authenticationFailure.
    pub errors: ErrorSignalling,
    /// How many peer names to keep decoded, with their text, by their DER (default
    /// [`DEFAULT_NAME_CACHE`]; `0` decodes the name in every exchange).
    pub name_cache: usize,
}

impl std::fmt::Debug for DirAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirAuthConfig")
            .field("provider", &self.provider.name)
            .field("credentials", &self.credentials)
            .field("accept_simple", &self.accept_simple.is_some())
            .field(
                "peer_name",
                &self.peer_name.as_ref().map(ToString::to_string),
            )
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

/// Default clock skew, seconds.
pub const DEFAULT_SKEW_SECS: u64 = 300;
/// Default replay-cache capacity.
pub const DEFAULT_REPLAY_CAPACITY: usize = 4096;

impl DirAuthConfig {
    /// A configuration with a ± [`DEFAULT_SKEW_SECS`] window, a fresh replay cache of
    /// [`DEFAULT_REPLAY_CAPACITY`], no simple credentials accepted, strict error signalling.
    pub fn new(
        provider: Arc<CryptoProvider>,
        credentials: OwnCredentials,
        verifier: Arc<dyn PeerVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        DirAuthConfig {
            provider,
            credentials,
            verifier,
            accept_simple: None,
            peer_name: None,
            clock,
            replay: Arc::new(Mutex::new(ReplayCache::new(
                DEFAULT_SKEW_SECS,
                DEFAULT_REPLAY_CAPACITY,
            ))),
            reports: Reports::new(),
            errors: ErrorSignalling::Strict,
            name_cache: DEFAULT_NAME_CACHE,
        }
    }

    /// The same configuration addressing `peer` (initiator side).
    pub fn with_peer_name(mut self, peer: DistinguishedName) -> Self {
        self.peer_name = Some(peer);
        self
    }
}

/// dirAuthenticationOneWay with role machines: the initiator sends `credentials` (item 1, last),
/// the responder verifies it.
pub fn one_way(config: DirAuthConfig) -> ExchangeDefinition {
    let mut item = ItemDef::decoded::<Credentials>(1, "credentials");
    if config.errors == ErrorSignalling::Extended {
        item = item.error(authentication_failure());
    }
    let config = Arc::new(config);
    let names = Arc::new(NameTexts::new(config.name_cache));
    let (ci, cr) = (config.clone(), config);
    let (ni, nr) = (names.clone(), names);
    ExchangeDefinition::new(
        Identifier::Global(DIR_AUTHENTICATION_ONE_WAY),
        "dirAuthenticationOneWay",
        Sequencing::Alternating,
    )
    .item(item)
    .roles(
        move || Box::new(Role::new(ci.clone(), ni.clone(), Kind::OneWayInitiator)),
        move || Box::new(Role::new(cr.clone(), nr.clone(), Kind::OneWayResponder)),
    )
}

/// dirAuthenticationTwoWay with role machines: initiatorCredentials (item 1, may raise
/// authenticationFailure), responderCredentials (item 2, last; its token answers the
/// initiator's random).
pub fn two_way(config: DirAuthConfig) -> ExchangeDefinition {
    let mut second = ItemDef::decoded::<Credentials>(2, "responderCredentials");
    if config.errors == ErrorSignalling::Extended {
        second = second.error(authentication_failure());
    }
    // One configuration shared by every role machine (a role is made per exchange).
    let config = Arc::new(config);
    let names = Arc::new(NameTexts::new(config.name_cache));
    let (ci, cr) = (config.clone(), config);
    let (ni, nr) = (names.clone(), names);
    ExchangeDefinition::new(
        Identifier::Global(DIR_AUTHENTICATION_TWO_WAY),
        "dirAuthenticationTwoWay",
        Sequencing::Alternating,
    )
    .item(
        ItemDef::decoded::<Credentials>(1, "initiatorCredentials").error(authentication_failure()),
    )
    .item(second)
    .roles(
        move || Box::new(Role::new(ci.clone(), ni.clone(), Kind::TwoWayInitiator)),
        move || Box::new(Role::new(cr.clone(), nr.clone(), Kind::TwoWayResponder)),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OneWayInitiator,
    OneWayResponder,
    TwoWayInitiator,
    TwoWayResponder,
}

impl Kind {
    fn exchange(self) -> &'static str {
        match self {
            Kind::OneWayInitiator | Kind::OneWayResponder => "dirAuthenticationOneWay",
            Kind::TwoWayInitiator | Kind::TwoWayResponder => "dirAuthenticationTwoWay",
        }
    }
}

struct Role {
    config: Arc<DirAuthConfig>,
    names: Arc<NameTexts>,
    kind: Kind,
    /// The random of the token this side sent (two-way initiator).
    own_random: Option<Vec<u8>>,
}

/// The peer a role authenticated.
struct Authenticated {
    name_der: Vec<u8>,
    name: DistinguishedName,
    random: Option<BitString>,
    kind: &'static str,
}

impl Role {
    fn new(config: Arc<DirAuthConfig>, names: Arc<NameTexts>, kind: Kind) -> Self {
        Role {
            config,
            names,
            kind,
            own_random: None,
        }
    }

    /// This side's credentials, encoded (the item value).
    fn make_credentials(
        &mut self,
        peer: Option<&DistinguishedName>,
        response: Option<BitString>,
    ) -> Result<Vec<u8>, AuthFailure> {
        let identity = match &self.config.credentials {
            OwnCredentials::Simple(s) => return Ok(Credentials::Simple(s.clone()).encode()),
            OwnCredentials::Strong(i) => i,
        };
        let peer = peer.ok_or(AuthFailure::Internal(
            "no peer name to address the token to",
        ))?;
        let mut random = vec![0u8; RANDOM_LEN];
        self.config
            .provider
            .secure_random
            .fill(&mut random)
            .map_err(|_| AuthFailure::Internal("random source failed"))?;
        let now = secs(self.config.clock.now());
        let algorithm = AlgorithmIdentifier::of(identity.algorithm());
        let random = BitString::from_bytes(random);
        // The token is encoded once, signed, and written with the identity's own path and
        // name (what a `StrongCredentials` holding copies of them would encode).
        let tbs_der = encode_token_content(&algorithm, peer, now, &random, response.as_ref(), &[]);
        let signature = BitString::from_bytes(identity.sign(&tbs_der)?);
        lock(&self.config.replay).note_issued(&random.bytes, now);
        let item = encode_strong_credentials(
            Some(identity.path()),
            &tbs_der,
            &algorithm,
            &signature,
            Some(identity.name()),
        );
        self.own_random = Some(random.bytes);
        Ok(item)
    }

    fn verify(
        &self,
        item: &Item,
        decoded: Option<DecodedItem>,
        expect_response: bool,
    ) -> Result<Authenticated, AuthFailure> {
        // The machine already checked that the item decodes (and may have kept the value).
        let credentials = item
            .decode_with::<Credentials>(decoded)
            .map_err(|_| AuthFailure::UnsupportedCredentials)?;
        match credentials {
            Credentials::Strong(s) => self.verify_strong(&s, expect_response),
            Credentials::Simple(s) => {
                let Some(v) = &self.config.accept_simple else {
                    return Err(AuthFailure::SimpleNotAllowed);
                };
                v.verify(&s, self.config.clock.now())
                    .map_err(AuthFailure::SimpleRejected)?;
                Ok(Authenticated {
                    name_der: dn_to_der(&s.name),
                    name: s.name.clone(),
                    random: None,
                    kind: "simple",
                })
            }
            Credentials::ExternalProcedure(_) | Credentials::Spkm(_) => {
                Err(AuthFailure::UnsupportedCredentials)
            }
        }
    }

    fn verify_strong(
        &self,
        s: &StrongCredentials,
        expect_response: bool,
    ) -> Result<Authenticated, AuthFailure> {
        let token = &s.bind_token;
        let content = token.content();
        if lock(&self.config.replay).was_issued(&content.random.bytes) {
            return Err(AuthFailure::Reflection);
        }
        let path = s
            .certification_path
            .as_ref()
            .ok_or(AuthFailure::MissingCertificationPath)?;
        let now = self.config.clock.now();
        let peer = path
            .with_chain_refs(|chain| self.config.verifier.verify_chain(chain, now))
            .map_err(AuthFailure::Path)?;
        if let OwnCredentials::Strong(own) = &self.config.credentials {
            if own.public_key() == peer.public_key.as_slice() {
                return Err(AuthFailure::Reflection);
            }
        }
        verify_signature(
            &self.config.provider,
            &peer,
            &token.algorithm.0,
            Some(&content.algorithm.0),
            token.tbs_der(),
            (token.signature.unused_bits, &token.signature.bytes),
        )?;
        if !same_name(&content.name, self.config.credentials.name()) {
            return Err(AuthFailure::WrongName);
        }
        if expect_response {
            let own = self.own_random.as_deref().unwrap_or_default();
            match &content.response {
                None => return Err(AuthFailure::MissingResponse),
                Some(r) if r.unused_bits != 0 || r.bytes != own => {
                    return Err(AuthFailure::WrongResponse);
                }
                Some(_) => {}
            }
        }
        lock(&self.config.replay).check_and_insert(
            &peer.public_key,
            content.time,
            &content.random.bytes,
            secs(now),
        )?;
        let name = peer
            .subject()
            .ok_or(AuthFailure::Path(crate::PathProblem::Malformed))?;
        Ok(Authenticated {
            name_der: peer.subject_dn_der,
            name,
            random: Some(content.random.clone()),
            kind: "strong",
        })
    }

    fn outcome(&self, peer: &Authenticated) -> Outcome {
        // A certified name was decoded from its DER: its text is kept per DER. A simple
        // credentials' name is shown as sent.
        let identity = if peer.kind == "strong" {
            self.names.text(&peer.name_der, &peer.name)
        } else {
            peer.name.to_string()
        };
        let mut o = Outcome::authenticated(identity);
        o.details
            .insert("peer_dn_der".into(), guls_ber::to_hex(&peer.name_der));
        o.details.insert("credentials".into(), peer.kind.into());
        o
    }

    fn succeed(&self, peer: &Authenticated) {
        self.config.reports.push(Report::Authenticated {
            exchange: self.kind.exchange(),
            peer_dn_der: peer.name_der.clone(),
        });
    }

    fn fail(&self, item_may_raise: bool, failure: AuthFailure) -> Step {
        let problem = failure.security_problem();
        self.config.reports.push(Report::Rejected {
            exchange: self.kind.exchange(),
            failure,
        });
        if item_may_raise || self.config.errors == ErrorSignalling::Extended {
            Step::Fail(vec![authentication_failure_error(problem)])
        } else {
            Step::Fail(Vec::new())
        }
    }
}

/// Checks a signature made by `peer`: `algorithm` (an `AlgorithmIdentifier`'s contents) must
/// be known to the crypto API, equal the algorithm inside the signed data (when there is one),
/// suit the key and be provided; `signature` is the BIT STRING's unused bits and octets.
pub(crate) fn verify_signature(
    provider: &CryptoProvider,
    peer: &VerifiedPeer,
    algorithm: &[u8],
    inner: Option<&[u8]>,
    message: &[u8],
    (unused_bits, signature): (u8, &[u8]),
) -> Result<(), AuthFailure> {
    let alg = signature_algorithm_of(algorithm).ok_or(AuthFailure::UnsupportedAlgorithm)?;
    if inner.is_some_and(|i| i != algorithm) {
        return Err(AuthFailure::AlgorithmMismatch);
    }
    if alg.key_type() != peer.key_type {
        return Err(AuthFailure::UnsupportedAlgorithm);
    }
    let verifier = provider
        .verifier(alg)
        .ok_or(AuthFailure::UnsupportedAlgorithm)?;
    if unused_bits != 0 {
        return Err(AuthFailure::BadSignature);
    }
    verifier
        .verify(&peer.public_key, message, signature)
        .map_err(|_| AuthFailure::BadSignature)
}

impl ExchangeRole for Role {
    fn start(&mut self) -> Step {
        let peer = self.config.peer_name.clone();
        match self.kind {
            Kind::OneWayInitiator => match self.make_credentials(peer.as_ref(), None) {
                Ok(value) => Step::SendLast(Item { id: 1, value }, Outcome::default()),
                Err(_) => Step::Fail(Vec::new()),
            },
            Kind::TwoWayInitiator => match self.make_credentials(peer.as_ref(), None) {
                Ok(value) => Step::Send(Item { id: 1, value }),
                Err(_) => Step::Fail(Vec::new()),
            },
            Kind::OneWayResponder | Kind::TwoWayResponder => Step::Fail(Vec::new()),
        }
    }

    fn on_item(&mut self, item: &Item) -> Step {
        self.on_decoded_item(item, None)
    }

    fn on_decoded_item(&mut self, item: &Item, decoded: Option<DecodedItem>) -> Step {
        match (self.kind, item.id) {
            (Kind::OneWayResponder, 1) => match self.verify(item, decoded, false) {
                Ok(peer) => {
                    self.succeed(&peer);
                    Step::Done(self.outcome(&peer))
                }
                Err(f) => self.fail(false, f),
            },
            (Kind::TwoWayResponder, 1) => {
                let peer = match self.verify(item, decoded, false) {
                    Ok(p) => p,
                    Err(f) => return self.fail(true, f),
                };
                match self.make_credentials(Some(&peer.name), peer.random.clone()) {
                    Ok(value) => {
                        self.succeed(&peer);
                        Step::SendLast(Item { id: 2, value }, self.outcome(&peer))
                    }
                    Err(f) => self.fail(true, f),
                }
            }
            (Kind::TwoWayInitiator, 2) => {
                let expect_response = matches!(self.config.credentials, OwnCredentials::Strong(_));
                match self.verify(item, decoded, expect_response) {
                    Ok(peer) => {
                        self.succeed(&peer);
                        Step::Done(self.outcome(&peer))
                    }
                    Err(f) => self.fail(false, f),
                }
            }
            _ => self.fail(false, AuthFailure::UnsupportedCredentials),
        }
    }
}
