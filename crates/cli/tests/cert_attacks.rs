//! Hostile peers against the real certificate exchanges, end to end.
//!
//! The roles of guls always sign and stamp their items correctly, so the attacks of issue 6
//! come from a *raw peer*: an initiator built on guls-sese's exchanges-as-data API that
//! registers, under the same identifier (dirAuthenticationOneWay / TwoWay, the signed key
//! agreement), an exchange whose initiator role sends an item 1 made here with guls-exchanges'
//! public types and a guls-crypto key, then altered. It runs through [`SecureInitiator`]
//! against an in-process `guls serve` with a policy file (`[trust]` with a 120 s clock skew)
//! and an audit log. Each case asserts what the raw peer sees (the AARE's diagnostic and the
//! X.511 SecurityProblem of the se-u-abort, or the SESE problem code of the se-p-abort, or
//! the A-ABORT) and the responder's audit records (`authentication_failed` with its reason,
//! `association_rejected`, `se_u_abort` / `se_p_abort`, `exchange_failed`).
//!
//! Every test runs twice ([`SETUPS`]): Ed25519 with a *ring* responder and a RustCrypto raw
//! peer, and P-256 with a RustCrypto responder and a *ring* raw peer.
//!
//! The key agreement's attacks on the *initiator* (a bad key confirmation, a responder
//! signature over another transcript) come from a raw responder (the real responder role,
//! whose reply is altered) against `guls connect --audit`, whose log then holds the se-u-abort
//! it sent, `exchange_failed` and the A-ABORT, each naming the exchange.
//!
//! Case by case, the responder's check that refuses it, and the outcome:
//!
//! | case | exchanges | audit reason | SecurityProblem |
//! |---|---|---|---|
//! | token / item signature altered | 1-way, 2-way, SKA | `bad-token-signature` | invalidSignature (4) |
//! | signed by a key not the certificate's | 1-way, 2-way, SKA | `bad-token-signature` | invalidSignature (4) |
//! | ephemeral key, nonce or time altered after signing | SKA | `bad-token-signature` | invalidSignature (4) |
//! | signed as the responder's transcript (its label) | SKA | `bad-token-signature` | invalidSignature (4) |
//! | replay of an accepted item 1 | 1-way, 2-way, SKA | `replayed-token` | invalidCredentials (2) |
//! | time SKEW + 60 s in the past or the future | 1-way, 2-way, SKA | `stale-time` | invalidCredentials (2) |
//! | the responder's own item 2 sent back | 2-way, SKA | `reflected-token` | invalidCredentials (2) |
//! | simple credentials (a password) | 2-way | `simple-credentials-not-accepted` | inappropriateAuthentication (1) |
//!
//! each rejected with diagnostic 13 (authentication-failure) and the se-u-abort in the AARE
//! (with authenticationFailure, local:1, except for one-way: X.830 lets its item raise no
//! error, so the reason is only in the responder's audit). A password sent in simple
//! credentials is recorded by the item's length only (its `se_transfer` digest withheld).
//!
//! Malformed items never reach a role; the SESE machine answers them with an se-p-abort
//! (ARCHITECTURE.md 4.2, `guls_sese::carriage`):
//!
//! * item 1 cut short (its length says more than follows): the se-transfer no longer decodes,
//!   `general.invalidAPDU`, in the AARE with diagnostic 13;
//! * item 1 truncated to its first component and re-framed (credentials without their bind
//!   token, a key agreement item without its signature): `transfer.mistypedItem`, in the AARE
//!   with diagnostic 13;
//! * item 1 beyond `MAX_CREDENTIALS_OCTETS` (64 KiB): it cannot travel in the AARQ (the
//!   initiator's session refuses CONNECT user data over 64 KiB), so the raw peer negotiates
//!   it into P-DATA with simpleNegotiationSE; the responder answers `transfer.mistypedItem`
//!   and aborts the association (A-ABORT carrying the se-p-abort);
//! * item 1 beyond the transport's TSDU limit (1 MiB) in P-DATA: a provider abort of the
//!   transport, recorded as `association_aborted` (provider, transport).
//!
//! The responder's audit names the exchange and the problem code (`se_p_abort`,
//! `exchange_failed`), and its `authentication_failed` reason is `exchange-failed`.
//!
//! Finally, the key id of a completed key agreement is in the `exchange_completed` records
//! of both sides (the responder's guard and `guls connect --audit`), equal to the id of the
//! keys derived, and no key octets are in either log.

#[path = "common/certs.rs"]
mod certs;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use certs::*;
use guls::connect::exit;
use guls::exchanges::{BuiltIns, CertOptions, ProviderChoice, association_context};
use guls::guard::Guard;
use guls::profile::Profile;
use guls_acse::DistinguishedName;
use guls_association::{
    AcceptParams, ApTitle, AssociateParams, AssociationError, AssociationEvent, External,
    ExternalEncoding, Pcid, Responder, ResultSourceDiagnostic, UserDiagnostic,
};
use guls_audit::AuditSink;
use guls_ber::BitString;
use guls_crypto::{
    CryptoProvider, Hash as _, KeyExchangeAlgorithm, SignatureAlgorithm, SigningKey,
};
use guls_exchanges::credentials::MAX_CREDENTIALS_OCTETS;
use guls_exchanges::dirauth::authentication_failure;
use guls_exchanges::{
    AlgorithmIdentifier, CertificatePair, CertificationPath, Credentials,
    DIR_AUTHENTICATION_ONE_WAY, DIR_AUTHENTICATION_TWO_WAY, KaRole, KeyAgreementConfig,
    KeyAgreementItem, KeyAgreementTbs, LocalIdentity, Password, Reports, SIGNED_KEY_AGREEMENT,
    SecurityProblem, SimpleCredentials, StrongCredentials, SystemClock, Token, TokenContent,
    signed_key_agreement,
};
use guls_policy::{Identity, PolicyVerifier, ResponderPolicy, TrustStore};
use guls_sese::negotiation::{SIMPLE_NEGOTIATION_SE, simple_negotiation_se};
use guls_sese::{
    CarriageConfig, CarriageError, ExchangeDefinition, ExchangeEvent, ExchangeRole, Failure,
    Identifier, Item, ItemDef, ItemType, Oid, Outcome, Registry, SecureEvent, SecureInitiator,
    SecureResponder, Sequencing, SeseApdu, Step,
};
use serde_json::Value;
use tokio::time::timeout;

/// The responder policy's `[trust] clock_skew_secs`: narrower than the default 300 s, so that
/// the stale-time cases (SKEW + 60 s off) would pass under the default window and show that
/// the policy's is the one applied.
const SKEW: u64 = 120;

/// The bound of every wait (never a timing assertion).
const WAIT: Duration = Duration::from_secs(15);

/// The signature labels of the key agreement (`ASN1.md`, section 2).
const SIG_LABEL_I: &[u8] = b"GULS ARC.2.1 v2 initiator signature\x00";
const SIG_LABEL_R: &[u8] = b"GULS ARC.2.1 v2 responder signature\x00";
/// id-X25519 (1.3.101.110), the OID contents.
const X25519_OID: &[u8] = &[0x2b, 0x65, 0x6e];

/// A password the raw peer sends in simple credentials: it must not reach the audit log.
const PASSWORD: &str = "correct horse battery staple 6";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A key type, the responder's crypto provider and the raw peer's: every test runs once
/// per setup, so that both providers refuse every attack, on both key types.
#[derive(Debug, Clone, Copy)]
struct Setup {
    alg: Alg,
    responder: ProviderChoice,
    peer_rustcrypto: bool,
    tag: &'static str,
}

const SETUPS: [Setup; 2] = [
    Setup {
        alg: Alg::Ed25519,
        responder: ProviderChoice::Ring,
        peer_rustcrypto: true,
        tag: "ed25519-ring",
    },
    Setup {
        alg: Alg::P256,
        responder: ProviderChoice::RustCrypto,
        peer_rustcrypto: false,
        tag: "p256-rustcrypto",
    },
];

impl Setup {
    fn peer_provider(self) -> Arc<CryptoProvider> {
        Arc::new(if self.peer_rustcrypto {
            guls_crypto::rustcrypto::default_provider()
        } else {
            guls_crypto::ring::default_provider()
        })
    }
}

fn random(provider: &CryptoProvider, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    provider.secure_random.fill(&mut v).unwrap();
    v
}

// ------------------------------------------------------------------------------ the PKI

/// A key and its certificate chain, as a raw peer uses them: to sign anything.
struct Signer {
    key: Arc<dyn SigningKey>,
    sha256: &'static dyn guls_crypto::Hash,
    alg: SignatureAlgorithm,
    chain: Vec<Vec<u8>>,
    name: DistinguishedName,
}

impl Signer {
    fn new(id: &Identity, provider: &CryptoProvider) -> Self {
        let key: Arc<dyn SigningKey> = Arc::from(id.signing_key(provider).unwrap());
        Signer {
            alg: key.algorithms()[0],
            key,
            sha256: provider.hash(guls_crypto::HashAlgorithm::Sha256).unwrap(),
            chain: id.chain().iter().map(|c| c.to_vec()).collect(),
            name: id.subject_name().clone(),
        }
    }

    fn path(&self) -> CertificationPath {
        CertificationPath::from_chain(&self.chain)
    }

    fn alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::of(self.alg)
    }

    /// A signature over the concatenation of `parts`.
    fn sign(&self, parts: &[&[u8]]) -> BitString {
        BitString::from_bytes(self.key.sign(self.alg, &parts.concat()).unwrap())
    }

    /// A key agreement item's signature: over `label` and the SHA-256 of the concatenation
    /// of `parts` (`ASN1.md`, section 2).
    fn sign_key_agreement(&self, label: &[u8], parts: &[&[u8]]) -> BitString {
        let digest = self.sha256.hash(&parts.concat());
        self.sign(&[label, digest.as_bytes()])
    }
}

/// One CA; the responder, the raw peer (`initiator`) and a third party (`other`) it trusts;
/// the files of the responder's policy.
struct Pki {
    provider: Arc<CryptoProvider>,
    trust: TrustStore,
    responder: Identity,
    initiator_id: Identity,
    initiator: Signer,
    other: Signer,
    /// The private keys (PKCS #8 PEM) of all three, for the no-secrets checks.
    key_pems: Vec<String>,
    /// The key type and providers.
    setup: Setup,
    /// The responder policy: every certificate exchange and simpleNegotiationSE accepted,
    /// one required; `[trust]` with the CA, its CRL and a clock skew of [`SKEW`].
    policy: String,
}

fn pki(dir: &Path, setup: Setup) -> Pki {
    let provider = setup.peer_provider();
    let ca = ca(setup.alg, "attacks CA");
    let crl_pem = crl(&ca, &[]);
    let (responder, rk) = leaf_with_key(&ca, "responder", 40, -1, 30);
    let (initiator_id, ik) = leaf_with_key(&ca, "initiator", 41, -1, 30);
    let (other, ok) = leaf_with_key(&ca, "third party", 42, -1, 30);
    let ca_path = dir.join("ca.pem");
    let crl_path = dir.join("ca.crl.pem");
    std::fs::write(&ca_path, &ca.pem).unwrap();
    std::fs::write(&crl_path, &crl_pem).unwrap();
    let policy = format!(
        r#"
[default]
mechanisms = ["none"]
exchanges = ["simple-negotiation", "dir-authentication-one-way", "dir-authentication-two-way", "signed-key-agreement"]
require_exchange = true

[trust]
anchors = ['{}']
crls = ['{}']
clock_skew_secs = {SKEW}
"#,
        ca_path.display(),
        crl_path.display()
    );
    Pki {
        setup,
        trust: trust(&ca, Some(&crl_pem)),
        initiator: Signer::new(&initiator_id, &provider),
        other: Signer::new(&other, &provider),
        provider,
        responder,
        initiator_id,
        key_pems: vec![rk, ik, ok],
        policy,
    }
}

impl Pki {
    /// `guls serve` with the policy (trust from its `[trust]`) and the responder's identity.
    async fn serve(&self, dir: &Path, name: &str) -> Server {
        let b = BuiltIns {
            cert: CertOptions {
                identity: Some(self.responder.clone()),
                trust: None,
                crls: Vec::new(),
                provider: self.setup.responder,
            },
            ..BuiltIns::default()
        };
        start(dir, name, &self.policy, b).await
    }

    fn responder_name(&self) -> DistinguishedName {
        self.responder.subject_name().clone()
    }
}

// ------------------------------------------------------------------------------ hostile items

/// Strong credentials for the directory exchanges: `path`'s certification path and name, and
/// `token`.
fn strong(path: &Signer, token: Token) -> Vec<u8> {
    Credentials::Strong(StrongCredentials {
        certification_path: Some(path.path()),
        bind_token: token,
        name: Some(path.name.clone()),
        extensions: Vec::new(),
    })
    .encode()
}

/// A bind token's content addressed to the responder, of `time`, with a fresh random.
fn token_content(pki: &Pki, by: &Signer, time: u64) -> TokenContent {
    TokenContent {
        algorithm: by.alg_id(),
        name: pki.responder_name(),
        time,
        random: BitString::from_bytes(random(&pki.provider, 32)),
        response: None,
        extensions: Vec::new(),
    }
}

/// A bind token over `content`, signed by `by`.
fn token(content: TokenContent, by: &Signer) -> Token {
    let signature = by.sign(&[&content.encode()]);
    Token::new(content, by.alg_id(), signature)
}

/// The raw peer's honest item 1 for the directory exchanges, of `time`.
fn dir_item(pki: &Pki, time: u64) -> Vec<u8> {
    strong(
        &pki.initiator,
        token(token_content(pki, &pki.initiator, time), &pki.initiator),
    )
}

/// The raw peer's key agreement content (role initiator, a fresh X25519 key and nonce,
/// addressed to the responder), of `time`.
fn ka_tbs(pki: &Pki, time: u64) -> KeyAgreementTbs {
    let eph = pki
        .provider
        .kx_group(KeyExchangeAlgorithm::X25519)
        .unwrap()
        .start()
        .unwrap();
    KeyAgreementTbs {
        role: KaRole::Initiator,
        certification_path: pki.initiator.path(),
        key_exchange_algorithm: X25519_OID.to_vec(),
        ephemeral_public_key: eph.public_key().to_vec(),
        nonce: random(&pki.provider, 32),
        time,
        peer_name: Some(pki.responder_name()),
        signature_algorithm: pki.initiator.alg_id(),
    }
}

/// Key agreement item 1 carrying `sent`, with `by`'s signature over `label ‖ signed` (an
/// honest item signs what it sends with the initiator's label).
fn ka_item(sent: &KeyAgreementTbs, signed: &KeyAgreementTbs, by: &Signer, label: &[u8]) -> Vec<u8> {
    KeyAgreementItem::new(
        sent.clone(),
        by.sign_key_agreement(label, &[&signed.encode()]),
        None,
    )
    .encode()
}

/// The raw peer's honest key agreement item 1, of `time`.
fn honest_ka_item(pki: &Pki, time: u64) -> Vec<u8> {
    let tbs = ka_tbs(pki, time);
    ka_item(&tbs, &tbs, &pki.initiator, SIG_LABEL_I)
}

/// `tlv` truncated to its first component, re-framed: the outer tag, a correct length, and
/// the first inner element only (strong credentials keep their certification path and lose
/// the bind token; a key agreement item keeps its signed content and loses the signature).
fn first_component_only(tlv: &[u8]) -> Vec<u8> {
    let mut r = guls_ber::Reader::new(tlv, guls_ber::Layer::Application);
    let outer = r.read().unwrap();
    let first = outer.reader().unwrap().read().unwrap().raw.to_vec();
    let mut w = guls_ber::Writer::new();
    w.constructed(outer.tag, |w| w.raw(&first));
    w.into_bytes()
}

/// A well-formed `Certificate`-shaped SEQUENCE (an OCTET STRING of `len` octets inside; never
/// a valid certificate: only its size matters).
fn filler_certificate(len: usize) -> Vec<u8> {
    let mut w = guls_ber::Writer::new();
    w.constructed(guls_ber::Tag::SEQUENCE, |w| {
        w.primitive(guls_ber::Tag::OCTET_STRING, &vec![0x5a; len])
    });
    w.into_bytes()
}

// ------------------------------------------------------------------------------ the raw peer

/// The raw peer's initiator role: sends `item1` as it is (with endFlag for one-way), and
/// keeps the responder's reply.
struct RawInitiator {
    item1: Vec<u8>,
    last: bool,
    reply: Arc<Mutex<Option<Vec<u8>>>>,
}

impl ExchangeRole for RawInitiator {
    fn start(&mut self) -> Step {
        let item = Item {
            id: 1,
            value: std::mem::take(&mut self.item1),
        };
        if self.last {
            Step::SendLast(item, Outcome::default())
        } else {
            Step::Send(item)
        }
    }

    fn on_item(&mut self, item: &Item) -> Step {
        *self.reply.lock().unwrap() = Some(item.value.clone());
        Step::Done(Outcome::default())
    }
}

/// The raw peer never responds.
struct NoResponder;

impl ExchangeRole for NoResponder {
    fn on_item(&mut self, _: &Item) -> Step {
        Step::Fail(Vec::new())
    }
}

/// `exchange` as the raw peer runs it: the same identifier and item identifiers as the real
/// definition, the items *untyped* on this side (so that malformed ones can be sent) and the
/// errors typed (so that the responder's authenticationFailure is read, not refused).
fn raw_exchange(
    exchange: &Oid,
    item1: Vec<u8>,
    reply: Arc<Mutex<Option<Vec<u8>>>>,
) -> ExchangeDefinition {
    let one_way = *exchange == DIR_AUTHENTICATION_ONE_WAY;
    let untyped = |_: &[u8]| Ok(());
    let mut def = ExchangeDefinition::new(
        Identifier::Global(exchange.clone()),
        "raw peer",
        Sequencing::Alternating,
    )
    .item(ItemDef::with_validator(1, "item 1 (raw)", untyped).error(authentication_failure()));
    if !one_way {
        def = def.item(
            ItemDef::with_validator(2, "item 2 (raw)", untyped).error(authentication_failure()),
        );
    }
    def.roles(
        move || {
            Box::new(RawInitiator {
                item1: item1.clone(),
                last: one_way,
                reply: reply.clone(),
            })
        },
        || Box::new(NoResponder),
    )
}

/// What the raw peer saw of one association.
#[derive(Debug, Default)]
struct Seen {
    /// The AARE's diagnostic, when the association was rejected.
    rejected: Option<ResultSourceDiagnostic>,
    /// How the exchange failed on this side (the responder's se-u-abort or se-p-abort).
    failure: Option<Failure>,
    /// The responder aborted the association (A-ABORT).
    aborted: bool,
    /// The exchange completed and the association was released.
    secured: bool,
    /// The responder's item 2, when one came.
    reply: Option<Vec<u8>>,
    /// The problem of an se-p-abort in an A-ABORT that came when the exchange had already
    /// completed on this side (one-way: the initiator is done once it sent its item), so
    /// that carriage no longer read it.
    late_p_abort: Option<&'static str>,
    /// The reason of an A-P-ABORT that ended the association, if one did.
    provider_abort: Option<String>,
}

impl Seen {
    fn rejected_13(&self) -> bool {
        self.rejected
            == Some(ResultSourceDiagnostic::ServiceUser(
                UserDiagnostic::AuthenticationFailure,
            ))
    }

    /// The SecurityProblem of the responder's authenticationFailure (local:1), if it sent one.
    fn security_problem(&self) -> Option<SecurityProblem> {
        let Some(Failure::RejectedByPeer(a)) = &self.failure else {
            return None;
        };
        a.errors
            .iter()
            .flatten()
            .find(|e| e.code == Some(Identifier::Local(1)))
            .and_then(|e| e.parameter.as_deref())
            .map(|p| SecurityProblem::decode(p).unwrap())
    }

    /// Whether the responder's se-u-abort carried no error at all.
    fn plain_u_abort(&self) -> bool {
        matches!(&self.failure, Some(Failure::RejectedByPeer(a))
            if a.errors.as_ref().is_none_or(|e| e.is_empty()))
    }

    /// The problem code of the responder's se-p-abort, if it sent one.
    fn provider_problem(&self) -> Option<&'static str> {
        match &self.failure {
            Some(Failure::ProviderAbort(p)) => Some(p.problem.name()),
            _ => self.late_p_abort,
        }
    }
}

/// The problem of the se-p-abort among `user_information` (in the SESE context `pcid`).
fn p_abort_in(user_information: &[External], pcid: Pcid) -> Option<&'static str> {
    user_information.iter().find_map(|x| match &x.encoding {
        ExternalEncoding::SingleAsn1Type(v) if x.indirect_reference == Some(pcid) => {
            match SeseApdu::decode(v) {
                Ok(SeseApdu::PAbort(p)) => Some(p.problem.name()),
                _ => None,
            }
        }
        _ => None,
    })
}

/// Associates with the responder at `addr` as the raw peer, offering `exchange` with `item1`
/// (or, with `negotiate`, offering it through simpleNegotiationSE so that item 1 travels in
/// P-DATA), and reports what it saw. A completed exchange is released.
async fn raw_connect(
    pki: &Pki,
    addr: &str,
    exchange: &Oid,
    item1: Vec<u8>,
    negotiate: bool,
) -> Seen {
    let reply = Arc::new(Mutex::new(None));
    let mut registry = Registry::new();
    registry
        .register(raw_exchange(exchange, item1, reply.clone()))
        .unwrap();
    let first = if negotiate {
        registry
            .register(simple_negotiation_se(vec![exchange.clone()], Vec::new()))
            .unwrap();
        Identifier::Global(SIMPLE_NEGOTIATION_SE)
    } else {
        Identifier::Global(exchange.clone())
    };
    let mut config = Profile::Demo.config();
    config.acse.calling_ap_title = Some(ApTitle::Form1(pki.initiator.name.clone()));
    config.acse.called_ap_title = Some(pki.responder.ap_title());
    config.timeouts.connect = WAIT;
    config.timeouts.establishment = WAIT;
    config.timeouts.release = WAIT;
    let si = SecureInitiator::new(config, CarriageConfig::new(Arc::new(registry)));
    let mut seen = Seen::default();
    let connected = timeout(WAIT, si.connect(addr, &first, AssociateParams::default()))
        .await
        .expect("the raw peer's A-ASSOCIATE is answered in time");
    match connected {
        Err(CarriageError::Rejected {
            rejection, failure, ..
        }) => {
            seen.rejected = rejection.diagnostic;
            seen.failure = failure;
        }
        Err(e) => panic!("raw peer: {e}"),
        Ok(mut s) => {
            let secured = timeout(WAIT, s.wait_secured())
                .await
                .expect("the exchange ends in time");
            let pcid = s.sese_pcid();
            let ok = secured.is_ok();
            let mut drain = !ok;
            if let Err(CarriageError::Association(AssociationError::ProviderAbort(r))) = secured {
                seen.provider_abort = Some(r.to_string());
            }
            if ok {
                match timeout(WAIT, s.release())
                    .await
                    .expect("the release is answered in time")
                {
                    Ok(_) => seen.secured = true,
                    Err(CarriageError::Association(AssociationError::Aborted(a))) => {
                        seen.aborted = true;
                        seen.late_p_abort = p_abort_in(&a.user_information, pcid);
                    }
                    // The A-ABORT came first: it is among the events below.
                    Err(CarriageError::Association(AssociationError::Closed)) => drain = true,
                    Err(e) => panic!("raw peer: release: {e}"),
                }
            }
            // What carriage queued on the way (the responder's abort and its APDU).
            while drain && let Ok(Ok(ev)) = timeout(WAIT, s.recv()).await {
                match ev {
                    SecureEvent::Exchange(ExchangeEvent::Failed { failure, .. }) => {
                        seen.failure = Some(failure);
                    }
                    SecureEvent::Association(AssociationEvent::AbortIndication {
                        user_information,
                        ..
                    }) => {
                        seen.aborted = true;
                        seen.late_p_abort = p_abort_in(&user_information, pcid);
                    }
                    SecureEvent::Association(AssociationEvent::ProviderAbort { reason }) => {
                        seen.provider_abort = Some(reason.to_string());
                    }
                    _ => {}
                }
            }
        }
    }
    seen.reply = reply.lock().unwrap().take();
    seen
}

// ------------------------------------------------------------------------------ audit checks

fn kind(r: &Value) -> &str {
    r["event"]["kind"].as_str().unwrap_or_default()
}

/// The records of `path` after the first `from`, once `done` holds for them (the responder
/// writes some after answering; polled, bounded by [`WAIT`]).
async fn records_after(path: &Path, from: usize, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let polled = timeout(WAIT, async {
        loop {
            let all = records(path);
            let new = all.get(from..).unwrap_or_default().to_vec();
            if done(&new) {
                return new;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    match polled {
        Ok(new) => new,
        Err(_) => panic!(
            "the expected audit records did not appear; the log after record {from}:\n{}",
            records(path)
                .get(from..)
                .unwrap_or_default()
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn any(recs: &[Value], k: &str, pred: impl Fn(&Value) -> bool) -> bool {
    recs.iter().any(|r| kind(r) == k && pred(&r["event"]))
}

fn auth_failed(recs: &[Value], reason: &str) -> bool {
    any(recs, "authentication_failed", |e| {
        e["reason"] == reason && e["diagnostic"] == 13
    })
}

fn rejected_13(recs: &[Value]) -> bool {
    any(recs, "association_rejected", |e| e["diagnostic"] == 13)
}

/// The responder's records of an exchange its role refused: the received item 1 as it came
/// (start flag set, end flag `last`: set for the one-way exchange's only item), the
/// se-u-abort it sent with `codes` naming item 1,
/// `exchange_failed`, `authentication_failed` with `reason` and diagnostic 13,
/// `association_rejected` with 13, and nothing accepted.
async fn assert_refused(
    server: &Server,
    from: usize,
    case: &str,
    reason: &str,
    codes: &[&str],
    last: bool,
) {
    let recs = records_after(&server.audit, from, |r| {
        auth_failed(r, reason) && rejected_13(r)
    })
    .await;
    let dump = || {
        recs.iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        any(&recs, "se_transfer", |e| e["direction"] == "received"
            && e["item"] == 1
            && e["start"] == true
            && e["end"] == last
            && e["invocation"].is_null()),
        "{case}: item 1 not recorded as received (end flag {last}):\n{}",
        dump()
    );
    assert!(
        any(&recs, "se_u_abort", |e| e["direction"] == "sent"
            && e["error_codes"] == serde_json::json!(codes)
            && e["item"] == 1),
        "{case}: no se-u-abort sent with {codes:?} naming item 1:\n{}",
        dump()
    );
    assert!(
        any(&recs, "exchange_failed", |_| true),
        "{case}:\n{}",
        dump()
    );
    assert!(
        !any(&recs, "exchange_completed", |_| true)
            && !any(&recs, "association_accepted", |_| true),
        "{case}: accepted:\n{}",
        dump()
    );
}

/// The responder's records of an item of `exchange` its SESE machine refused in the AARQ: the
/// se-p-abort it sent with `problem`, `exchange_failed` naming the exchange and the problem,
/// `authentication_failed` and `association_rejected` with 13.
async fn assert_problem_in_aarq(
    server: &Server,
    from: usize,
    exchange: &Oid,
    case: &str,
    problem: &str,
) {
    let recs = records_after(&server.audit, from, |r| {
        auth_failed(r, "exchange-failed") && rejected_13(r)
    })
    .await;
    let dump = recs
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        any(&recs, "se_p_abort", |e| e["direction"] == "sent"
            && e["problem"] == problem),
        "{case}: no se-p-abort {problem} sent:\n{dump}"
    );
    // Named by the exchange the AARQ's mechanism name gave (no instance of it started).
    let label = exchange.to_string();
    assert!(
        any(&recs, "exchange_failed", |e| e["problem"] == problem
            && e["exchange"]
                .as_str()
                .is_some_and(|x| x.starts_with(&format!("{label} (")))),
        "{case}:\n{dump}"
    );
    assert!(
        !any(&recs, "association_accepted", |_| true),
        "{case}:\n{dump}"
    );
}

/// The responder's records of an oversized item of `exchange` negotiated into P-DATA: the
/// association was accepted (for the negotiation), then the se-p-abort `problem`,
/// `exchange_failed` naming it and the A-ABORT that ended the association; `exchange` never
/// completed.
async fn assert_problem_in_p_data(
    server: &Server,
    from: usize,
    exchange: &Oid,
    case: &str,
    problem: &str,
) {
    let recs = records_after(&server.audit, from, |r| {
        any(r, "association_aborted", |_| true)
    })
    .await;
    let dump = recs
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        any(&recs, "se_p_abort", |e| e["direction"] == "sent"
            && e["problem"] == problem),
        "{case}: no se-p-abort {problem} sent:\n{dump}"
    );
    // Named by the exchange the refused item started (negotiated earlier on the association;
    // no role of it ran), in the record and in the abort's reason.
    let label = exchange.to_string();
    let named = |x: &str| x.starts_with(&format!("{label} ("));
    assert!(
        any(&recs, "exchange_failed", |e| e["problem"] == problem
            && e["exchange"].as_str().is_some_and(named)),
        "{case}: exchange_failed does not name {label}:\n{dump}"
    );
    assert!(
        any(&recs, "association_aborted", |e| {
            let reason = e["reason"].as_str().unwrap_or_default();
            e["source"] == "acse-service-user"
                && reason.contains(problem)
                && reason.contains(&format!("security exchange {label} ("))
        }),
        "{case}: the abort's reason does not name {label}:\n{dump}"
    );
    assert!(
        !any(&recs, "exchange_completed", |e| {
            let x = e["exchange"].as_str().unwrap_or_default();
            x == label || x.starts_with(&format!("{label} ("))
        }),
        "{case}:
{dump}"
    );
}
/// The log at `path` has one `exchange_completed` with `key_id`, and none of `keys`' octets.
fn assert_key_id_logged(path: &Path, keys: &guls_exchanges::SessionKeys, key_id: &str) {
    let log = std::fs::read_to_string(path).unwrap();
    let completed: Vec<Value> = records(path)
        .into_iter()
        .filter(|r| kind(r) == "exchange_completed")
        .collect();
    assert_eq!(completed.len(), 1, "{log}");
    assert_eq!(completed[0]["event"]["key_id"], key_id, "{log}");
    for secret in [
        keys.initiator_to_responder().key,
        keys.initiator_to_responder().iv,
        keys.responder_to_initiator().key,
        keys.responder_to_initiator().iv,
        keys.exporter(),
        keys.initiator_confirmation(),
    ] {
        assert!(
            !log.contains(&guls_ber::to_hex(secret)),
            "key octets in {log}"
        );
    }
}

/// Neither a private key (PEM text or DER in hex) nor the password ever reaches `log`.
fn assert_no_secrets(pki: &Pki, path: &Path) {
    let log = std::fs::read_to_string(path).unwrap();
    assert!(!log.contains("PRIVATE KEY"), "{log}");
    for pem in &pki.key_pems {
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!log.contains(line), "key PEM text in the audit log");
        }
        let der = guls_crypto::pkcs8_from_pem(pem.as_bytes()).unwrap();
        assert!(!log.contains(&guls_ber::to_hex(der.as_bytes())));
    }
    assert!(!log.contains(PASSWORD), "password in the audit log");
    assert!(!log.contains(&guls_ber::to_hex(PASSWORD.as_bytes())));
}

// ------------------------------------------------------------------------------ the cases

/// One refused case: the item, the audit reason and the SecurityProblem (two-way / SKA).
struct Case {
    name: &'static str,
    item: Vec<u8>,
    reason: &'static str,
    problem: SecurityProblem,
}

/// Runs `case` against `server` with `exchange` and asserts the refusal end to end.
async fn refused(pki: &Pki, server: &Server, exchange: &Oid, case: Case) {
    let one_way = *exchange == DIR_AUTHENTICATION_ONE_WAY;
    let what = format!("{exchange} {}", case.name);
    let from = records(&server.audit).len();
    let seen = raw_connect(pki, &server.addr, exchange, case.item, false).await;
    assert!(seen.rejected_13(), "{what}: {seen:?}");
    if one_way {
        // X.830: the one-way item raises no error; the detail stays in the responder's audit.
        assert!(seen.plain_u_abort(), "{what}: {seen:?}");
        assert_refused(server, from, &what, case.reason, &[], true).await;
    } else {
        assert_eq!(
            seen.security_problem(),
            Some(case.problem),
            "{what}: {seen:?}"
        );
        assert_refused(server, from, &what, case.reason, &["local:1"], false).await;
    }
}

/// An honest item is accepted (the association established, the exchange completed on the
/// responder); returns what the raw peer saw (the responder's reply among it).
async fn accepted(pki: &Pki, server: &Server, exchange: &Oid, item: Vec<u8>, what: &str) -> Seen {
    let from = records(&server.audit).len();
    let seen = raw_connect(pki, &server.addr, exchange, item, false).await;
    assert!(seen.secured, "{what}: {seen:?}");
    let recs = records_after(&server.audit, from, |r| {
        any(r, "association_accepted", |_| true)
    })
    .await;
    assert!(
        any(&recs, "exchange_completed", |e| e["identity"]
            .as_str()
            .unwrap_or_default()
            .contains("CN=initiator")
            // Only the key agreement derives keys, named by their id.
            && (e["key_id"].is_string() == (*exchange == SIGNED_KEY_AGREEMENT))),
        "{what}: {recs:?}"
    );
    seen
}

/// The cases common to the three exchanges: an honest item accepted (returned: what the raw
/// peer saw, the responder's reply among it), also one of a time inside the window; then the
/// accepted item replayed, the signature altered, a signature by a key that is not the
/// certificate's, and times beyond the skew both ways, each refused. `honest`, `flipped` and
/// `wrong_key` make item 1 of a given time.
async fn time_signature_and_replay_cases(
    pki: &Pki,
    server: &Server,
    exchange: &Oid,
    honest: &dyn Fn(u64) -> Vec<u8>,
    flipped: &dyn Fn(u64) -> Vec<u8>,
    wrong_key: &dyn Fn(u64) -> Vec<u8>,
) -> Seen {
    let t = now();
    // Control: an honest item is accepted, also one of a time just inside the window.
    let first = honest(t);
    let seen = accepted(pki, server, exchange, first.clone(), "honest item").await;
    accepted(
        pki,
        server,
        exchange,
        honest(t - (SKEW - 30)),
        "time inside the window",
    )
    .await;

    // Replay: the accepted item 1 again, in a new association.
    let cases = [
        Case {
            name: "replayed item 1",
            item: first,
            reason: "replayed-token",
            problem: SecurityProblem::InvalidCredentials,
        },
        Case {
            name: "signature altered",
            item: flipped(t),
            reason: "bad-token-signature",
            problem: SecurityProblem::InvalidSignature,
        },
        Case {
            name: "signed by a key not the certificate's",
            item: wrong_key(t),
            reason: "bad-token-signature",
            problem: SecurityProblem::InvalidSignature,
        },
        Case {
            name: "time in the past, beyond the skew",
            item: honest(t - SKEW - 60),
            reason: "stale-time",
            problem: SecurityProblem::InvalidCredentials,
        },
        Case {
            name: "time in the future, beyond the skew",
            item: honest(t + SKEW + 60),
            reason: "stale-time",
            problem: SecurityProblem::InvalidCredentials,
        },
    ];
    for case in cases {
        refused(pki, server, exchange, case).await;
    }
    seen
}

/// Item 1 cut short, and re-framed without its last component, in the AARQ; and an item
/// beyond [`MAX_CREDENTIALS_OCTETS`] negotiated into P-DATA.
async fn malformed_cases(
    pki: &Pki,
    server: &Server,
    exchange: &Oid,
    honest: Vec<u8>,
    oversized: Vec<u8>,
) {
    assert!(oversized.len() > MAX_CREDENTIALS_OCTETS);
    let name = exchange.to_string();

    // Cut short: the item's length says more than follows, so the se-transfer carrying it
    // no longer decodes.
    let from = records(&server.audit).len();
    let cut = honest[..honest.len() - 7].to_vec();
    let seen = raw_connect(pki, &server.addr, exchange, cut, false).await;
    assert!(seen.rejected_13(), "{name} cut: {seen:?}");
    assert_eq!(
        seen.provider_problem(),
        Some("general.invalidAPDU"),
        "{name} cut: {seen:?}"
    );
    assert_problem_in_aarq(
        server,
        from,
        exchange,
        &format!("{name} cut"),
        "general.invalidAPDU",
    )
    .await;

    // Truncated to its first component and re-framed: a well-formed TLV that is no value of
    // the item's type.
    let from = records(&server.audit).len();
    let short = first_component_only(&honest);
    let seen = raw_connect(pki, &server.addr, exchange, short, false).await;
    assert!(seen.rejected_13(), "{name} truncated: {seen:?}");
    assert_eq!(
        seen.provider_problem(),
        Some("transfer.mistypedItem"),
        "{name} truncated: {seen:?}"
    );
    assert_problem_in_aarq(
        server,
        from,
        exchange,
        &format!("{name} truncated"),
        "transfer.mistypedItem",
    )
    .await;

    // Oversized, in P-DATA after a negotiation.
    let from = records(&server.audit).len();
    let seen = raw_connect(pki, &server.addr, exchange, oversized, true).await;
    assert!(seen.aborted, "{name} oversized: {seen:?}");
    assert_eq!(
        seen.provider_problem(),
        Some("transfer.mistypedItem"),
        "{name} oversized: {seen:?}"
    );
    assert_problem_in_p_data(
        server,
        from,
        exchange,
        &format!("{name} oversized"),
        "transfer.mistypedItem",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_authentication_attacks_are_refused_and_audited() {
    for setup in SETUPS {
        directory_authentication_attacks_are_refused_and_audited_with(setup).await;
    }
}

async fn directory_authentication_attacks_are_refused_and_audited_with(setup: Setup) {
    let dir = TempDir::new(&format!("cert-attacks-dir-{}", setup.tag));
    let pki = pki(&dir.0, setup);
    let server = pki.serve(&dir.0, "dir").await;
    let honest = |t: u64| dir_item(&pki, t);
    let flipped = |t: u64| {
        let mut tok = token(token_content(&pki, &pki.initiator, t), &pki.initiator);
        tok.signature.bytes[7] ^= 0x01;
        strong(&pki.initiator, tok)
    };
    // Signed with the third party's key, carrying the initiator's certificate.
    let wrong_key = |t: u64| {
        strong(
            &pki.initiator,
            token(token_content(&pki, &pki.other, t), &pki.other),
        )
    };

    for exchange in [DIR_AUTHENTICATION_ONE_WAY, DIR_AUTHENTICATION_TWO_WAY] {
        let seen = time_signature_and_replay_cases(
            &pki, &server, &exchange, &honest, &flipped, &wrong_key,
        )
        .await;
        if exchange == DIR_AUTHENTICATION_TWO_WAY {
            // Reflection: the responder's own credentials (item 2) sent back as item 1.
            let own = seen.reply.expect("the responder's item 2");
            refused(
                &pki,
                &server,
                &exchange,
                Case {
                    name: "the responder's own token reflected",
                    item: own,
                    reason: "reflected-token",
                    problem: SecurityProblem::InvalidCredentials,
                },
            )
            .await;
            // Simple credentials (a password) where strong ones are required.
            let simple = Credentials::Simple(SimpleCredentials {
                name: pki.initiator.name.clone(),
                validity: None,
                password: Some(Password::Unprotected(guls_crypto::SecretBytes::from(
                    PASSWORD.as_bytes(),
                ))),
            })
            .encode();
            let from = records(&server.audit).len();
            refused(
                &pki,
                &server,
                &exchange,
                Case {
                    name: "simple credentials",
                    item: simple.clone(),
                    reason: "simple-credentials-not-accepted",
                    problem: SecurityProblem::InappropriateAuthentication,
                },
            )
            .await;
            // The item carried the password: recorded by its length, its digest withheld
            // (a digest of a password is open to a dictionary search).
            let recs = records(&server.audit);
            assert!(
                any(&recs[from..], "se_transfer", |e| e["item_length"]
                    == simple.len()
                    && e["item_sha256"] == guls_audit::DIGEST_WITHHELD),
                "{:?}",
                &recs[from..]
            );
            let digest = guls_crypto::ring::SHA256.hash(&simple);
            let log = std::fs::read_to_string(&server.audit).unwrap();
            assert!(!log.contains(&guls_ber::to_hex(digest.as_ref())), "{log}");
        }
        // Beyond the limit by an unknown StrongCredentials member ([3], kept raw when it fits).
        let mut big = match Credentials::decode(&honest(now())).unwrap() {
            Credentials::Strong(s) => s,
            _ => unreachable!(),
        };
        let mut w = guls_ber::Writer::new();
        w.constructed(guls_ber::Tag::context(3), |w| {
            w.raw(&filler_certificate(MAX_CREDENTIALS_OCTETS))
        });
        big.extensions.push(w.into_bytes());
        let oversized = Credentials::Strong(big).encode();
        malformed_cases(&pki, &server, &exchange, honest(now()), oversized).await;
    }

    // Beyond the carriage limit: an item in a TSDU longer than the transport accepts (1 MiB)
    // is a provider abort of the transport, recorded as such.
    let from = records(&server.audit).len();
    let huge = {
        let mut big = match Credentials::decode(&honest(now())).unwrap() {
            Credentials::Strong(s) => s,
            _ => unreachable!(),
        };
        let mut w = guls_ber::Writer::new();
        w.constructed(guls_ber::Tag::context(3), |w| {
            w.raw(&filler_certificate(1_100_000))
        });
        big.extensions.push(w.into_bytes());
        Credentials::Strong(big).encode()
    };
    let seen = raw_connect(&pki, &server.addr, &DIR_AUTHENTICATION_TWO_WAY, huge, true).await;
    // The raw peer sees its association end (an A-P-ABORT, or the connection closing under
    // its feet while it still sends).
    assert!(!seen.secured && seen.rejected.is_none(), "{seen:?}");
    let recs = records_after(&server.audit, from, |r| {
        any(r, "association_aborted", |_| true)
    })
    .await;
    assert!(
        any(&recs, "association_aborted", |e| e["source"] == "provider"
            && e["layer"] == "transport"
            && e["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("TSDU exceeds the limit")),
        "{recs:?}"
    );
    assert!(!any(&recs, "se_transfer", |e| e["exchange"]
        .as_str()
        .unwrap_or_default()
        .starts_with("2.20.4.2 ")));
    assert_no_secrets(&pki, &server.audit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_key_agreement_attacks_are_refused_and_audited() {
    for setup in SETUPS {
        signed_key_agreement_attacks_are_refused_and_audited_with(setup).await;
    }
}

async fn signed_key_agreement_attacks_are_refused_and_audited_with(setup: Setup) {
    let dir = TempDir::new(&format!("cert-attacks-ska-{}", setup.tag));
    let pki = pki(&dir.0, setup);
    let server = pki.serve(&dir.0, "ska").await;
    let ska = SIGNED_KEY_AGREEMENT;
    let honest = |t: u64| honest_ka_item(&pki, t);
    let flipped = |t: u64| {
        let tbs = ka_tbs(&pki, t);
        let mut item =
            KeyAgreementItem::decode(&ka_item(&tbs, &tbs, &pki.initiator, SIG_LABEL_I)).unwrap();
        item.signature.bytes[7] ^= 0x01;
        item.encode()
    };
    let wrong_key = |t: u64| {
        let tbs = ka_tbs(&pki, t);
        ka_item(&tbs, &tbs, &pki.other, SIG_LABEL_I)
    };
    let seen =
        time_signature_and_replay_cases(&pki, &server, &ska, &honest, &flipped, &wrong_key).await;
    // The completed key agreement's audit record names its keys by their id only.
    let log = certs::complete_lines(&server.audit);
    assert!(
        log.lines().any(|l| l.contains("exchange_completed")
            && serde_json::from_str::<Value>(l).unwrap()["event"]["key_id"]
                .as_str()
                .is_some_and(|k| k.len() == 16 && k.bytes().all(|b| b.is_ascii_hexdigit()))),
        "{log}"
    );

    // The transcript (what item 1 signs) tampered with: a component altered after signing,
    // or signed as something else.
    let t = now();
    let altered = |f: &dyn Fn(&mut KeyAgreementTbs)| {
        let signed = ka_tbs(&pki, t);
        let mut sent = signed.clone();
        f(&mut sent);
        ka_item(&sent, &signed, &pki.initiator, SIG_LABEL_I)
    };
    let mut cases = vec![
        Case {
            name: "ephemeral key altered after signing",
            item: altered(&|tbs| tbs.ephemeral_public_key[0] ^= 0x40),
            reason: "bad-token-signature",
            problem: SecurityProblem::InvalidSignature,
        },
        Case {
            name: "nonce altered after signing",
            item: altered(&|tbs| tbs.nonce[31] ^= 0x01),
            reason: "bad-token-signature",
            problem: SecurityProblem::InvalidSignature,
        },
        Case {
            name: "time altered after signing",
            item: altered(&|tbs| tbs.time -= 1),
            reason: "bad-token-signature",
            problem: SecurityProblem::InvalidSignature,
        },
        Case {
            name: "signed as a responder's transcript",
            item: {
                let tbs = ka_tbs(&pki, t);
                ka_item(&tbs, &tbs, &pki.initiator, SIG_LABEL_R)
            },
            reason: "bad-token-signature",
            problem: SecurityProblem::InvalidSignature,
        },
    ];
    // Reflection: the responder's own item 2 sent back as item 1.
    cases.push(Case {
        name: "the responder's own item reflected",
        item: seen.reply.expect("the responder's item 2"),
        reason: "reflected-token",
        problem: SecurityProblem::InvalidCredentials,
    });
    for case in cases {
        refused(&pki, &server, &ska, case).await;
    }

    // Beyond the limit by a certification path with one (oversized) CA certificate.
    let mut tbs = ka_tbs(&pki, now());
    tbs.certification_path.ca_certificates = Some(vec![CertificatePair {
        forward: Some(filler_certificate(MAX_CREDENTIALS_OCTETS)),
        reverse: None,
    }]);
    let oversized = ka_item(&tbs, &tbs, &pki.initiator, SIG_LABEL_I);
    malformed_cases(&pki, &server, &ska, honest(now()), oversized).await;
    assert_no_secrets(&pki, &server.audit);
}

// ------------------------------------------------------------------------------ raw responder

/// How the raw responder alters the real responder role's item 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    /// Nothing (the control).
    None,
    /// The key-confirmation MAC altered (the signature, which does not cover it, still
    /// verifies).
    Confirmation,
    /// Signed over another item 1 than the one received (a transcript the initiator never
    /// sent), with the responder's own key.
    OtherTranscript,
}

/// The real responder role of the key agreement, its reply altered by `tamper`.
struct TamperingResponder {
    inner: Box<dyn ExchangeRole>,
    tamper: Tamper,
    signer: Arc<Signer>,
}

impl ExchangeRole for TamperingResponder {
    fn on_item(&mut self, item1: &Item) -> Step {
        match self.inner.on_item(item1) {
            Step::SendLast(reply, outcome) => {
                let mut r = KeyAgreementItem::decode(&reply.value).unwrap();
                match self.tamper {
                    Tamper::None => {}
                    Tamper::Confirmation => r.confirmation.as_mut().unwrap()[0] ^= 0x01,
                    Tamper::OtherTranscript => {
                        let mut other = item1.value.clone();
                        let n = other.len();
                        other[n - 1] ^= 0x01;
                        let signature = self
                            .signer
                            .sign_key_agreement(SIG_LABEL_R, &[&other, r.tbs_der()]);
                        r = KeyAgreementItem::new(r.tbs().clone(), signature, r.confirmation);
                    }
                }
                Step::SendLast(Item::new(reply.id, &r), outcome)
            }
            other => other,
        }
    }
}

/// What the raw responder saw: how the exchange ended on its side (the initiator's se-u-abort)
/// and the keys its role derived.
struct ResponderSaw {
    failure: Option<Failure>,
    keys: Option<guls_exchanges::SessionKeys>,
}

/// A responder running the real key agreement responder role with `pki.responder`'s
/// identity, its item 2 altered by `tamper`, for one association; it echoes data and answers
/// the release.
async fn tampering_responder(
    pki: &Pki,
    tamper: Tamper,
) -> (String, tokio::task::JoinHandle<ResponderSaw>) {
    let provider = pki.provider.clone();
    let key = Arc::from(pki.responder.signing_key(&provider).unwrap());
    let chain: Vec<Vec<u8>> = pki.responder.chain().iter().map(|c| c.to_vec()).collect();
    let identity = LocalIdentity::new(key, &chain).unwrap();
    let signer = Arc::new(Signer::new(&pki.responder, &provider));
    let trust = pki.trust.clone();
    let mut config = Profile::Demo.config();
    config.acse.responding_ap_title = Some(pki.responder.ap_title());
    let listener = Responder::bind("127.0.0.1:0", SecureResponder::configure(config))
        .await
        .unwrap();
    let addr = listener.local_addr().to_string();
    let task = tokio::spawn(async move {
        let inc = timeout(WAIT, listener.accept()).await.unwrap().unwrap();
        let ind = inc.indication().clone();
        let sese_pcid = inc
            .contexts()
            .iter()
            .find(|c| c.abstract_syntax == Registry::abstract_syntax())
            .map(|c| c.pcid);
        let reports = Reports::new();
        let verifier = PolicyVerifier::new(trust, provider.clone())
            .expecting(ind.calling_ap_title.clone(), None);
        let mut ka = KeyAgreementConfig::new(
            provider,
            identity,
            Arc::new(verifier),
            Arc::new(SystemClock),
        );
        ka.context = association_context(
            ind.calling_ap_title.as_ref(),
            ind.called_ap_title.as_ref(),
            sese_pcid,
        );
        ka.reports = reports.clone();
        let real = Arc::new(signed_key_agreement(ka));
        let (ri, rr) = (real.clone(), real.clone());
        let def = real.as_ref().clone().roles(
            move || ri.new_initiator().unwrap(),
            move || {
                Box::new(TamperingResponder {
                    inner: rr.new_responder().unwrap(),
                    tamper,
                    signer: signer.clone(),
                })
            },
        );
        let carriage = CarriageConfig::new(Arc::new(Registry::new().with(def).unwrap()));
        let mut s = SecureResponder::new(carriage)
            .examine(inc)
            .finish(AcceptParams::default())
            .await
            .unwrap();
        let mut failure = None;
        while let Ok(Ok(ev)) = timeout(WAIT, s.recv()).await {
            match ev {
                SecureEvent::Exchange(ExchangeEvent::Failed { failure: f, .. }) => {
                    failure = Some(f);
                }
                SecureEvent::Data(d) => {
                    let _ = s.send(d.pcid, d.value).await;
                }
                SecureEvent::Association(AssociationEvent::ReleaseIndication { .. }) => {
                    let _ = s.release_response(Vec::new()).await;
                    break;
                }
                SecureEvent::Association(AssociationEvent::AbortIndication { .. }) => {}
                _ => {}
            }
        }
        ResponderSaw {
            failure,
            keys: reports.take_session_keys(),
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initiator_refuses_a_tampered_key_agreement_reply() {
    for setup in SETUPS {
        the_initiator_refuses_a_tampered_key_agreement_reply_with(setup).await;
    }
}

async fn the_initiator_refuses_a_tampered_key_agreement_reply_with(setup: Setup) {
    let dir = TempDir::new(&format!("cert-attacks-initiator-{}", setup.tag));
    let pki = pki(&dir.0, setup);
    let client = |audit: &Path| Client {
        b: builtins(&pki.initiator_id, &pki.trust, pki.setup.responder),
        exchange: "signed-key-agreement",
        calling: None,
        called: Some(pki.responder.ap_title()),
        password: None,
        audit: Some(audit.to_path_buf()),
    };

    // Control: the real role unaltered; the keys match, and only their id is recorded.
    let (addr, task) = tampering_responder(&pki, Tamper::None).await;
    let audit = dir.0.join("control.audit");
    let o = run_client(&addr, client(&audit)).await;
    assert_eq!(o.status, exit::OK, "{}\n{}", o.out, o.err);
    let saw = timeout(WAIT, task).await.unwrap().unwrap();
    let keys = saw.keys.expect("the responder's keys");
    let key_id = guls::exchanges::key_id(&keys, &pki.provider);
    assert!(
        o.out.contains(&format!("keys derived (key id {key_id})")),
        "{}",
        o.out
    );
    assert_key_id_logged(&audit, &keys, &key_id);

    for (tamper, reason, problem) in [
        (
            Tamper::Confirmation,
            "key-confirmation-failed",
            SecurityProblem::InvalidCredentials,
        ),
        (
            Tamper::OtherTranscript,
            "bad-token-signature",
            SecurityProblem::InvalidSignature,
        ),
    ] {
        let (addr, task) = tampering_responder(&pki, tamper).await;
        let audit = dir.0.join(format!("{tamper:?}.audit"));
        let o = run_client(&addr, client(&audit)).await;
        assert_eq!(o.status, exit::ABORTED, "{tamper:?}\n{}\n{}", o.out, o.err);
        assert!(o.err.contains(reason), "{tamper:?}: {}", o.err);
        // The initiator's se-u-abort (in the A-ABORT) carried authenticationFailure.
        let saw = timeout(WAIT, task).await.unwrap().unwrap();
        let sent = match &saw.failure {
            Some(Failure::RejectedByPeer(a)) => a
                .errors
                .iter()
                .flatten()
                .find(|e| e.code == Some(Identifier::Local(1)))
                .and_then(|e| e.parameter.as_deref())
                .map(|p| SecurityProblem::decode(p).unwrap()),
            _ => None,
        };
        assert_eq!(sent, Some(problem), "{tamper:?}: {:?}", saw.failure);
        let recs = records(&audit);
        let dump = || {
            recs.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(auth_failed(&recs, reason), "{tamper:?}:\n{}", dump());
        // The se-u-abort this side sent (authenticationFailure, local:1) and the failed
        // exchange, named, as the responder's guard records them; the abort's reason names
        // the exchange too (not its raw identifier).
        let ska = SIGNED_KEY_AGREEMENT.to_string();
        let named = |x: &Value| {
            x.as_str()
                .is_some_and(|x| x.starts_with(&format!("{ska} (")))
        };
        // Item 2 as it arrived (the responder's last: end flag set, no invocation id), then
        // the se-u-abort this side sent, answering item 2.
        let received = recs
            .iter()
            .filter(|r| kind(r) == "se_transfer" && r["event"]["direction"] == "received")
            .map(|r| &r["event"])
            .collect::<Vec<_>>();
        assert!(
            matches!(received.as_slice(), [e] if e["item"] == 2
                && e["start"] == false
                && e["end"] == true
                && e["invocation"].is_null()),
            "{tamper:?}: item 2 not recorded as received with its end flag:\n{}",
            dump()
        );
        let position = |k: &str, direction: &str| {
            recs.iter()
                .position(|r| kind(r) == k && r["event"]["direction"] == direction)
        };
        assert!(
            position("se_transfer", "received") < position("se_u_abort", "sent"),
            "{tamper:?}: records out of order:\n{}",
            dump()
        );
        assert!(
            any(&recs, "se_u_abort", |e| e["direction"] == "sent"
                && e["error_codes"] == serde_json::json!(["local:1"])
                && e["item"] == 2),
            "{tamper:?}: no se-u-abort sent naming item 2:\n{}",
            dump()
        );
        assert!(
            any(&recs, "exchange_failed", |e| named(&e["exchange"])),
            "{tamper:?}: no exchange_failed naming {ska}:\n{}",
            dump()
        );
        assert!(
            any(&recs, "association_aborted", |e| e["source"]
                == "acse-service-user"
                && e["reason"].as_str().is_some_and(|r| {
                    r.contains(&format!("security exchange {ska} (")) && !r.contains("global:")
                })),
            "{tamper:?}:\n{}",
            dump()
        );
        assert!(!any(&recs, "exchange_completed", |_| true), "{}", dump());
        assert_no_secrets(&pki, &audit);
    }
}

/// The key id of a completed key agreement is in the `exchange_completed` records of both
/// sides (the real responder's guard and `guls connect --audit`), equal, and equal to the id
/// of the keys the responder holds; no key octets are in either log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_agreement_key_id_is_audited_on_both_sides() {
    for setup in SETUPS {
        key_agreement_key_id_is_audited_on_both_sides_with(setup).await;
    }
}

async fn key_agreement_key_id_is_audited_on_both_sides_with(setup: Setup) {
    let dir = TempDir::new(&format!("cert-attacks-keyid-{}", setup.tag));
    let pki = pki(&dir.0, setup);
    let policy_path = dir.0.join("keyid.toml");
    std::fs::write(&policy_path, &pki.policy).unwrap();
    let policy = ResponderPolicy::load(&policy_path).unwrap();
    let b = BuiltIns {
        cert: CertOptions {
            identity: Some(pki.responder.clone()),
            trust: None,
            crls: Vec::new(),
            provider: pki.setup.responder,
        },
        ..BuiltIns::default()
    }
    .resolve(policy.trust(), policy.identity())
    .unwrap();
    let server_audit = dir.0.join("responder.audit");
    let guard = Guard::new(
        policy,
        Some(Arc::new(AuditSink::open_append(&server_audit).unwrap())),
    );
    let mut config = Profile::Demo.config();
    config.acse.responding_ap_title = Some(pki.responder.ap_title());
    let listener = Responder::bind("127.0.0.1:0", SecureResponder::configure(config))
        .await
        .unwrap();
    let addr = listener.local_addr().to_string();
    let responder = tokio::spawn(async move {
        let inc = timeout(WAIT, listener.accept()).await.unwrap().unwrap();
        let mut session = guard
            .admit(inc, &b)
            .await
            .finish(AcceptParams::default())
            .await
            .unwrap();
        let keys = session.session_keys.take();
        while let Ok(Ok(ev)) = timeout(WAIT, session.recv()).await {
            session.audit.event(&ev);
            match ev {
                AssociationEvent::Data(d) => {
                    let _ = session.send(d.pcid, d.value).await;
                }
                AssociationEvent::ReleaseIndication { .. } => {
                    let _ = session.release_response().await;
                    break;
                }
                _ => break,
            }
        }
        (keys, session.key_id)
    });

    let client_audit = dir.0.join("initiator.audit");
    let o = run_client(
        &addr,
        Client {
            b: builtins(&pki.initiator_id, &pki.trust, pki.setup.responder),
            exchange: "signed-key-agreement",
            calling: None,
            called: Some(pki.responder.ap_title()),
            password: None,
            audit: Some(client_audit.clone()),
        },
    )
    .await;
    assert_eq!(o.status, exit::OK, "{}\n{}", o.out, o.err);
    let (keys, session_key_id) = timeout(WAIT, responder).await.unwrap().unwrap();
    let keys = keys.expect("the responder's keys");
    let key_id = guls::exchanges::key_id(&keys, &pki.provider);
    assert_eq!(session_key_id.as_deref(), Some(key_id.as_str()));
    assert!(
        o.out.contains(&format!("keys derived (key id {key_id})")),
        "{}",
        o.out
    );
    for path in [&server_audit, &client_audit] {
        assert_key_id_logged(path, &keys, &key_id);
        assert_no_secrets(&pki, path);
    }
    // `guls audit show` prints it.
    let shown = guls_audit::show(
        std::fs::read_to_string(&server_audit).unwrap().as_bytes(),
        &guls_audit::ShowFilter::default(),
    )
    .unwrap();
    assert!(shown.contains(&format!("key id {key_id}")), "{shown}");
}
