//! Loopback load generator for certificate authentication: guls associations per second
//! secured by `dirAuthenticationTwoWay` and by the signed key agreement (ARC.2.1), against
//! full TLS 1.3 handshakes per second made by rustls with the same key types and the same
//! certificates, in the same process and run, and against the crypto-only bound (the
//! signatures, verifications and path validations one association needs, measured alone).
//!
//! Run: `cargo run --release -p guls-benches --bin cert_load -- [--quick] [--count N]
//! [--rounds N] [--crypto-count N] [--alg ed25519|p256|both] [--only crypto|rate]
//! [--mode plain|two-way|ska|two-way-first|ska-first|two-way-new|ska-new|tls] [--conc N]
//! [--no-fill]`
//!
//! The PKI (rcgen, made at start, per key type): root CA → intermediate CA → two leaves, a
//! server (subjectAltName `localhost`, EKU serverAuth) and a client (EKU clientAuth), plus,
//! when a new-initiator mode is measured, `NEW_INITIATORS` further clients. Each side sends
//! its leaf and the intermediate; each side trusts only the root. Both guls and rustls use
//! the ring crypto provider.
//!
//! Sections:
//!
//! * **crypto** — on one thread, without the network, `--crypto-count` times each (mean):
//!   signing a 256-octet message, verifying that signature, validating the peer's three-level
//!   path with `guls_policy::TrustStore::verify_path` (what guls does; on first contact, with
//!   the store's memories of verified certificate signatures and of certificate readings off,
//!   and for a peer seen again, with them on) and with rustls's webpki client/server
//!   verifiers (what rustls does), and one X25519 key pair + agreement. From them the
//!   crypto-only bound, in associations per second of one core:
//!   two-way = 1 / (2 sign + 2 verify + 2 path validations); the key agreement and TLS 1.3
//!   add 2 × X25519. The replay cache's work per token (`note_issued` + `check_and_insert`,
//!   empty and at capacity). Then whole exchanges between two in-memory
//!   `guls_sese::Endpoint`s (codecs, role machines and crypto, no association, no network;
//!   replay caches sized so that they never fill).
//! * **rate** — over 127.0.0.1 with 1 and 8 concurrent initiators, each measurement
//!   `--count` associations, `--rounds` rounds with the modes alternating inside each round:
//!   - `guls two-way`, `guls key agreement`: `SecureInitiator::connect` with the exchange (item
//!     1 in the AARQ, item 2 in the AARE), one 6-octet application value echoed by the
//!     responder, A-RELEASE. One `SecureResponder` answers both exchanges; its verifier is an
//!     adapter of `TrustStore` (below) and its clock the system clock. The stores remember
//!     verified certificate signatures (their default), so from the second association on
//!     the peer's certificate signatures are not verified again (validity, constraints and
//!     usage still are; the exchange's own signatures always are).
//!   - `guls two-way, first contact`, `guls key agr., first contact`: the same with every
//!     memory of a peer off on both ends (its own responder): `TrustOptions::signature_cache
//!     = 0` and `certificate_cache = 0` (every certificate read and every signature verified
//!     in every association) and the exchanges' `name_cache = 0` (the certified subject
//!     decoded every time), as on first contact with a peer.
//!   - `guls two-way, new initiator`, `guls key agr., new initiator`: each association by
//!     another client identity (its own key, leaf certificate and subject under the same
//!     intermediate; `NEW_INITIATORS` of them in turn, twice what the responder remembers),
//!     each initiator without any memory of a peer and with empty replay caches (a new
//!     process), to the responder of the default modes: on the initiator's side a first
//!     contact, on the responder's a stranger's certificate (read, and its signature
//!     verified) under an intermediate whose signature it has verified before.
//!   - `rustls TLS 1.3`: TCP connect, full TLS 1.3 handshake with client certificates
//!     (mutual authentication; no session cache, no tickets, resumption disabled, so every
//!     handshake is full; checked on the first one), a 4-octet write echoed by the server,
//!     then close_notify and close.
//!
//!   Each line gives associations (handshakes) per second, the mean latency, and the CPU time
//!   this process used per association (the sum of `se.sum_exec_runtime` over its threads;
//!   both ends run in this process, so it is the CPU of both ends together). `guls no
//!   exchange` (the same association, value and release without any security exchange) is
//!   the stack's own share. Before measuring, the guls replay caches are filled to their
//!   capacity (`DEFAULT_REPLAY_CAPACITY`) by in-memory exchanges through the same
//!   configurations: the steady state of a responder making more than that many
//!   associations within the skew window, which is where every round then runs;
//!   `--no-fill` starts from empty caches instead.
//!
//! Every count and every wait is bounded; the program stops by itself. Nothing is asserted
//! about time: a measurement that fails is reported as such.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guls_acse::DistinguishedName;
use guls_association::{
    AcceptParams, AssociateParams, AssociationConfig, AssociationEvent, ContextRef,
    IncomingAssociation, Initiator, Oid, PdvValue, Responder,
};
use guls_crypto::rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use guls_crypto::{CryptoProvider, KeyExchangeAlgorithm, SigningKey};
use guls_exchanges::dirauth::{DEFAULT_REPLAY_CAPACITY, DEFAULT_SKEW_SECS};
use guls_exchanges::{
    DIR_AUTHENTICATION_TWO_WAY, DirAuthConfig, KeyAgreementConfig, LocalIdentity, OwnCredentials,
    ParallelChecks, PathProblem, PeerVerifier, ReplayCache, SIGNED_KEY_AGREEMENT, SystemClock,
    VerifiedPeer, dn_from_der, signed_key_agreement, two_way,
};
use guls_policy::{DEFAULT_SIGNATURE_CACHE, TrustStore, path_problem};
use guls_sese::{
    CarriageConfig, Endpoint, ExchangeEvent, Identifier, InvocationId, Registry, SecureEvent,
    SecureInitiator, SecureResponder, SeseConfig, Verdict,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, HandshakeKind, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Upper bound of any single association or handshake; exceeding it is a failure.
const BOUND: Duration = Duration::from_secs(30);
/// The application value echoed after the guls exchange: OCTET STRING "ping".
const GULS_PAYLOAD: &[u8] = b"\x04\x04ping";
/// The application data echoed after the TLS handshake.
const TLS_PAYLOAD: &[u8] = b"ping";
/// Associations (handshakes) made before each measurement and not counted.
const WARM_UP: usize = 20;

#[derive(Clone)]
struct Opts {
    count: usize,
    rounds: usize,
    crypto_count: usize,
    algs: Vec<Alg>,
    crypto: bool,
    rate: bool,
    /// Rate modes measured (all by default; `--mode` picks one, e.g. for profiling).
    modes: Vec<Mode>,
    /// Fill the guls replay caches before measuring (steady state); `--no-fill` measures
    /// from empty caches.
    fill: bool,
    /// Concurrency levels measured (1 and 8 by default; `--conc N` picks one, e.g. for
    /// profiling).
    concs: Vec<usize>,
    /// `--queue`: the guls responders take indications from `Responder::accept` and spawn a
    /// task for each (instead of `Responder::serve`), to compare the two.
    queue: bool,
    /// `--parallel never|when-idle|always`: the key agreement's `parallel` setting on both
    /// ends (default `when-idle`, the configuration's default).
    parallel: ParallelChecks,
}

impl Opts {
    fn parse() -> Result<Opts, String> {
        let mut o = Opts {
            count: 1000,
            rounds: 3,
            crypto_count: 2000,
            algs: vec![Alg::Ed25519, Alg::P256],
            crypto: true,
            rate: true,
            modes: vec![
                Mode::Plain,
                Mode::TwoWay,
                Mode::KeyAgreement,
                Mode::TwoWayFirstContact,
                Mode::KeyAgreementFirstContact,
                Mode::TwoWayNewInitiator,
                Mode::KeyAgreementNewInitiator,
                Mode::Tls,
            ],
            fill: true,
            concs: vec![1, 8],
            queue: false,
            parallel: ParallelChecks::WhenIdle,
        };
        let usage = "usage: cert_load [--quick] [--count N] [--rounds N] [--crypto-count N] \
                     [--alg ed25519|p256|both] [--only crypto|rate] \
                     [--mode plain|two-way|ska|two-way-first|ska-first|two-way-new|ska-new|tls] \
                     [--conc N] [--no-fill] [--queue] \
                     [--parallel never|when-idle|always]";
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            let num = |v: String, name: &str| -> Result<usize, String> {
                v.parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{name} needs a positive number"))
            };
            match a.as_str() {
                "--quick" => {
                    o.count = 200;
                    o.rounds = 1;
                    o.crypto_count = 200;
                }
                "--count" => o.count = num(value("--count")?, "--count")?,
                "--rounds" => o.rounds = num(value("--rounds")?, "--rounds")?,
                "--crypto-count" => {
                    o.crypto_count = num(value("--crypto-count")?, "--crypto-count")?
                }
                "--alg" => {
                    o.algs = match value("--alg")?.as_str() {
                        "ed25519" => vec![Alg::Ed25519],
                        "p256" => vec![Alg::P256],
                        "both" => vec![Alg::Ed25519, Alg::P256],
                        other => return Err(format!("unknown key type {other}\n{usage}")),
                    }
                }
                "--only" => match value("--only")?.as_str() {
                    "crypto" => o.rate = false,
                    "rate" => o.crypto = false,
                    other => return Err(format!("unknown section {other}\n{usage}")),
                },
                "--mode" => {
                    o.modes = vec![match value("--mode")?.as_str() {
                        "plain" => Mode::Plain,
                        "two-way" => Mode::TwoWay,
                        "ska" => Mode::KeyAgreement,
                        "two-way-first" => Mode::TwoWayFirstContact,
                        "ska-first" => Mode::KeyAgreementFirstContact,
                        "two-way-new" => Mode::TwoWayNewInitiator,
                        "ska-new" => Mode::KeyAgreementNewInitiator,
                        "tls" => Mode::Tls,
                        other => return Err(format!("unknown mode {other}\n{usage}")),
                    }]
                }
                "--conc" => o.concs = vec![num(value("--conc")?, "--conc")?],
                "--no-fill" => o.fill = false,
                "--queue" => o.queue = true,
                "--parallel" => {
                    o.parallel = match value("--parallel")?.as_str() {
                        "never" => ParallelChecks::Never,
                        "when-idle" => ParallelChecks::WhenIdle,
                        "always" => ParallelChecks::Always,
                        other => return Err(format!("unknown --parallel {other}\n{usage}")),
                    }
                }
                "-h" | "--help" => return Err(usage.into()),
                other => return Err(format!("unknown argument {other}\n{usage}")),
            }
        }
        Ok(o)
    }
}

// ------------------------------------------------------------------------------ PKI

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Ed25519,
    P256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Ed25519 => "Ed25519",
            Alg::P256 => "P-256",
        }
    }

    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Alg::Ed25519 => &rcgen::PKCS_ED25519,
            Alg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

/// An end entity: its chain (leaf, then the intermediate), PKCS #8 key and subject.
struct Leaf {
    chain: Vec<Vec<u8>>,
    pkcs8: Vec<u8>,
    subject: DistinguishedName,
}

struct Pki {
    root: Vec<u8>,
    server: Leaf,
    client: Leaf,
    /// Further client leaves, each with its own key and subject, for the new-initiator modes
    /// (empty unless one of them is measured).
    newcomers: Vec<Leaf>,
}

fn params(cn: &str, sans: Vec<String>) -> CertificateParams {
    let mut p = CertificateParams::new(sans).expect("certificate parameters");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "guls bench");
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2036, 1, 1);
    p
}

/// Initiator identities of the new-initiator modes, taken in turn: twice what the responder's
/// trust store remembers (verified certificate signatures, itself more than its certificate
/// readings and the exchanges' decoded names), so each comes back as a stranger.
const NEW_INITIATORS: usize = 2 * DEFAULT_SIGNATURE_CACHE;

/// `newcomers`: how many further client leaves to make ([`Pki::newcomers`]).
fn pki(alg: Alg, newcomers: usize) -> Pki {
    let root_key = KeyPair::generate_for(alg.rcgen()).expect("root key");
    let mut root_params = params("guls bench root", Vec::new());
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root = root_params
        .self_signed(&root_key)
        .expect("root certificate");
    let root_issuer = Issuer::from_params(&root_params, &root_key);

    let int_key = KeyPair::generate_for(alg.rcgen()).expect("intermediate key");
    let mut int_params = params("guls bench intermediate", Vec::new());
    int_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    int_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let intermediate = int_params
        .signed_by(&int_key, &root_issuer)
        .expect("intermediate certificate")
        .der()
        .to_vec();
    let int_issuer = Issuer::from_params(&int_params, &int_key);

    let leaf = |cn: &str, sans: Vec<String>, eku: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate_for(alg.rcgen()).expect("leaf key");
        let mut p = params(cn, sans);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![eku];
        let der = p
            .signed_by(&key, &int_issuer)
            .expect("leaf certificate")
            .der()
            .to_vec();
        let subject = dn_from_der(&guls_exchanges::cert::subject_der(&der).expect("subject"))
            .expect("subject name");
        Leaf {
            chain: vec![der, intermediate.clone()],
            pkcs8: key.serialize_der(),
            subject,
        }
    };
    Pki {
        root: root.der().to_vec(),
        server: leaf(
            "guls bench server",
            vec!["localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf(
            "guls bench client",
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        ),
        newcomers: (0..newcomers)
            .map(|i| {
                leaf(
                    &format!("guls bench client {i}"),
                    Vec::new(),
                    ExtendedKeyUsagePurpose::ClientAuth,
                )
            })
            .collect(),
    }
}

// ------------------------------------------------------------------------------ guls side

/// The benchmark's [`PeerVerifier`]: [`TrustStore::verify_path`] with the store's default
/// options (validity with clock skew, keyUsage and EKU when present, no CRL), the end entity's
/// subject and key taken from its result.
struct StoreVerifier {
    store: TrustStore,
    provider: Arc<CryptoProvider>,
}

impl PeerVerifier for StoreVerifier {
    fn verify_chain(&self, chain: &[&[u8]], at: UnixTime) -> Result<VerifiedPeer, PathProblem> {
        let v = self
            .store
            .verify_path(&self.provider, chain, at)
            .map_err(|e| path_problem(&e))?;
        Ok(VerifiedPeer {
            subject_dn_der: v.subject_der().to_vec(),
            public_key: v.public_key().to_vec(),
            key_type: v.key_type(),
        })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(guls_crypto::ring::default_provider())
}

/// `memory`: whether the store remembers verified certificate signatures and certificate
/// readings (its default; see `TrustOptions::signature_cache` and `certificate_cache`), or
/// reads every certificate and checks every signature of every path (first contact).
fn verifier(pki: &Pki, provider: &Arc<CryptoProvider>, memory: bool) -> Arc<StoreVerifier> {
    let mut store =
        TrustStore::new(&[CertificateDer::from(pki.root.as_slice())]).expect("trust store");
    if !memory {
        store.options_mut().signature_cache = 0;
        store.options_mut().certificate_cache = 0;
    }
    Arc::new(StoreVerifier {
        store,
        provider: provider.clone(),
    })
}

fn identity(provider: &Arc<CryptoProvider>, leaf: &Leaf) -> LocalIdentity {
    LocalIdentity::from_pkcs8(provider, &leaf.pkcs8, &leaf.chain).expect("local identity")
}

/// One side's registry with both exchanges. `peer`: the responder's name, for the initiator.
/// `replay_capacity`: `None` keeps the configurations' default replay cache. `memory`: see
/// [`verifier`]; without it the exchanges also decode the peer's name every time
/// (`name_cache = 0`). `parallel`: the key agreement's setting.
fn registry(
    pki: &Pki,
    own: &Leaf,
    peer: Option<&DistinguishedName>,
    replay_capacity: Option<usize>,
    memory: bool,
    parallel: ParallelChecks,
) -> Arc<Registry> {
    let p = provider();
    let v = verifier(pki, &p, memory);
    let clock = Arc::new(SystemClock);
    let mut da = DirAuthConfig::new(
        p.clone(),
        OwnCredentials::Strong(identity(&p, own)),
        v.clone(),
        clock.clone(),
    );
    let mut ka = KeyAgreementConfig::new(p.clone(), identity(&p, own), v, clock);
    da.peer_name = peer.cloned();
    ka.peer_name = peer.cloned();
    ka.parallel = parallel;
    if !memory {
        da.name_cache = 0;
        ka.name_cache = 0;
    }
    if let Some(c) = replay_capacity {
        da.replay = Arc::new(Mutex::new(ReplayCache::new(DEFAULT_SKEW_SECS, c)));
        ka.replay = Arc::new(Mutex::new(ReplayCache::new(DEFAULT_SKEW_SECS, c)));
    }
    Arc::new(
        Registry::new()
            .with(two_way(da))
            .and_then(|r| r.with(signed_key_agreement(ka)))
            .expect("registry"),
    )
}

fn app_syntax() -> Oid {
    Oid::from_arcs(&[1, 3, 9999, 7, 2]).expect("oid")
}

fn assoc_config() -> AssociationConfig {
    let ac = Oid::from_arcs(&[1, 3, 9999, 7, 1]).expect("oid");
    let mut c = AssociationConfig::single(ac, app_syntax());
    c.limits.max_associations = 1024;
    c
}

fn two_way_id() -> Identifier {
    Identifier::Global(DIR_AUTHENTICATION_TWO_WAY)
}

fn ska_id() -> Identifier {
    Identifier::Global(SIGNED_KEY_AGREEMENT)
}

/// Runs `handler` for each indication of `responder`'s address: in the handshake's task
/// (`Responder::serve`, the default), or, with `--queue`, in a task spawned per indication
/// taken from `Responder::accept`.
async fn responder_with<H, F>(config: AssociationConfig, queue: bool, handler: H) -> SocketAddr
where
    H: Fn(IncomingAssociation) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    if !queue {
        let responder = Responder::serve("127.0.0.1:0", config, handler)
            .await
            .expect("bind");
        let addr = responder.local_addr();
        // Serving stops when the responder is dropped: a task keeps it for the process.
        tokio::spawn(async move {
            let _serving = responder;
            std::future::pending::<()>().await
        });
        return addr;
    }
    let responder = Responder::bind("127.0.0.1:0", config).await.expect("bind");
    let addr = responder.local_addr();
    tokio::spawn(async move {
        while let Ok(inc) = responder.accept().await {
            tokio::spawn(handler(inc));
        }
    });
    addr
}

/// A responder answering both exchanges: it echoes application data and answers the
/// release. Associations not accepted are counted in `failures`.
async fn guls_responder(
    registry: Arc<Registry>,
    failures: Arc<AtomicUsize>,
    queue: bool,
) -> SocketAddr {
    let sr = SecureResponder::new(CarriageConfig::new(registry));
    let config = SecureResponder::configure(assoc_config());
    responder_with(config, queue, move |inc| {
        let sr = sr.clone();
        let failures = failures.clone();
        async move {
            let s = sr.examine(inc);
            if *s.verdict() != Verdict::Proceed {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            let Ok(mut a) = s.finish(AcceptParams::default()).await else {
                return;
            };
            loop {
                match timeout(BOUND, a.recv()).await {
                    Ok(Ok(SecureEvent::Data(d))) => {
                        let _ = a.send(d.pcid, d.value).await;
                    }
                    Ok(Ok(SecureEvent::Association(AssociationEvent::ReleaseIndication {
                        ..
                    }))) => {
                        let _ = a.release_response(Vec::new()).await;
                    }
                    Ok(Ok(SecureEvent::Sese(_) | SecureEvent::Exchange(_))) => {}
                    _ => break,
                }
            }
        }
    })
    .await
}

/// One guls association: connect with the exchange, one echoed value, release.
async fn guls_one(si: &SecureInitiator, addr: SocketAddr, id: &Identifier) -> Result<(), String> {
    let mut a = si
        .connect(addr, id, AssociateParams::default())
        .await
        .map_err(|e| e.to_string())?;
    a.wait_secured().await.map_err(|e| e.to_string())?;
    a.send_asn1(
        ContextRef::AbstractSyntax(app_syntax()),
        GULS_PAYLOAD.to_vec(),
    )
    .await
    .map_err(|e| e.to_string())?;
    loop {
        match a.recv().await.map_err(|e| e.to_string())? {
            SecureEvent::Data(_) => break,
            SecureEvent::Sese(_) | SecureEvent::Exchange(_) => {}
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    a.release().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// A responder without security exchanges (the stack's own cost): echoes data, answers the
/// release.
async fn plain_responder(queue: bool) -> SocketAddr {
    responder_with(assoc_config(), queue, |inc| async move {
        let Ok(mut a) = inc.accept(AcceptParams::default()).await else {
            return;
        };
        loop {
            match timeout(BOUND, a.recv()).await {
                Ok(Ok(AssociationEvent::Data(d))) => {
                    let _ = a.send(d.pcid, d.value).await;
                }
                Ok(Ok(AssociationEvent::ReleaseIndication { .. })) => {
                    let _ = a.release_response(Vec::new()).await;
                }
                _ => break,
            }
        }
    })
    .await
}

/// One plain association: connect, one echoed value, release.
async fn plain_one(initiator: &Initiator, addr: SocketAddr) -> Result<(), String> {
    let mut a = initiator
        .connect(addr, AssociateParams::default())
        .await
        .map_err(|e| e.to_string())?;
    a.send(
        ContextRef::AbstractSyntax(app_syntax()),
        PdvValue::SingleAsn1Type(GULS_PAYLOAD.to_vec()),
    )
    .await
    .map_err(|e| e.to_string())?;
    match a.recv().await.map_err(|e| e.to_string())? {
        AssociationEvent::Data(_) => {}
        other => return Err(format!("unexpected {other:?}")),
    }
    a.release().await.map_err(|e| e.to_string())?;
    Ok(())
}

// ------------------------------------------------------------------------------ rustls side

fn tls_chain(leaf: &Leaf) -> Vec<CertificateDer<'static>> {
    leaf.chain
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect()
}

fn tls_key(leaf: &Leaf) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(leaf.pkcs8.clone().into())
}

struct TlsSide {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    client_verifier: Arc<dyn ClientCertVerifier>,
    server_verifier: Arc<WebPkiServerVerifier>,
}

fn tls_side(pki: &Pki) -> TlsSide {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.root.clone()))
        .expect("root");
    let roots = Arc::new(roots);
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .expect("client verifier");
    let server_verifier =
        WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .expect("server verifier");
    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_client_cert_verifier(client_verifier.clone())
        .with_single_cert(tls_chain(&pki.server), tls_key(&pki.server))
        .expect("server certificate");
    server.session_storage = Arc::new(NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_client_auth_cert(tls_chain(&pki.client), tls_key(&pki.client))
        .expect("client certificate");
    client.resumption = Resumption::disabled();
    TlsSide {
        server: Arc::new(server),
        client: Arc::new(client),
        client_verifier,
        server_verifier,
    }
}

/// A TLS server echoing what it reads until close_notify; failed handshakes are counted.
async fn tls_server(config: Arc<ServerConfig>, failures: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let failures = failures.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                let Ok(Ok(mut tls)) = timeout(BOUND, acceptor.accept(tcp)).await else {
                    failures.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let mut buf = [0u8; 256];
                loop {
                    match timeout(BOUND, tls.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => {
                            if tls.write_all(&buf[..n]).await.is_err() || tls.flush().await.is_err()
                            {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// One TLS connection: full handshake, one echoed write, close_notify, close. Returns the
/// handshake kind.
async fn tls_one(connector: &TlsConnector, addr: SocketAddr) -> Result<HandshakeKind, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(TLS_PAYLOAD)
        .await
        .map_err(|e| e.to_string())?;
    tls.flush().await.map_err(|e| e.to_string())?;
    let mut back = [0u8; TLS_PAYLOAD.len()];
    tls.read_exact(&mut back).await.map_err(|e| e.to_string())?;
    let kind = tls
        .get_ref()
        .1
        .handshake_kind()
        .ok_or("no handshake kind")?;
    tls.shutdown().await.map_err(|e| e.to_string())?;
    Ok(kind)
}

// ------------------------------------------------------------------------------ rate

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Plain,
    TwoWay,
    KeyAgreement,
    /// Both ends without any memory of a peer (verified certificate signatures, certificate
    /// readings, decoded names): every association verifies its peer as on first contact.
    TwoWayFirstContact,
    /// As [`Mode::TwoWayFirstContact`], with the key agreement.
    KeyAgreementFirstContact,
    /// Every association by another initiator identity ([`NEW_INITIATORS`] in turn), each
    /// without any memory of a peer (a new process), to the responder of [`Mode::TwoWay`]
    /// with its defaults: the responder meets a stranger certified by a CA it already knows.
    TwoWayNewInitiator,
    /// As [`Mode::TwoWayNewInitiator`], with the key agreement.
    KeyAgreementNewInitiator,
    Tls,
}

impl Mode {
    /// The key type column: none for the stack alone.
    fn key(self, alg: Alg) -> &'static str {
        if self == Mode::Plain { "-" } else { alg.name() }
    }

    /// Whether the mode takes its initiators from [`Pki::newcomers`].
    fn new_initiator(self) -> bool {
        matches!(
            self,
            Mode::TwoWayNewInitiator | Mode::KeyAgreementNewInitiator
        )
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "guls no exchange",
            Mode::TwoWay => "guls two-way",
            Mode::KeyAgreement => "guls key agreement",
            Mode::TwoWayFirstContact => "guls two-way, first contact",
            Mode::KeyAgreementFirstContact => "guls key agr., first contact",
            Mode::TwoWayNewInitiator => "guls two-way, new initiator",
            Mode::KeyAgreementNewInitiator => "guls key agr., new initiator",
            Mode::Tls => "rustls TLS 1.3",
        }
    }
}

#[derive(Clone)]
enum Target {
    Plain {
        initiator: Arc<Initiator>,
        addr: SocketAddr,
    },
    Guls {
        si: Arc<SecureInitiator>,
        addr: SocketAddr,
        id: Identifier,
    },
    /// Each association by the next of `initiators`, in turn.
    GulsInTurn {
        initiators: Arc<[SecureInitiator]>,
        next: Arc<AtomicUsize>,
        addr: SocketAddr,
        id: Identifier,
    },
    Tls {
        connector: TlsConnector,
        addr: SocketAddr,
    },
}

impl Target {
    async fn one(&self) -> Result<(), String> {
        match self {
            Target::Plain { initiator, addr } => plain_one(initiator, *addr).await,
            Target::Guls { si, addr, id } => guls_one(si, *addr, id).await,
            Target::GulsInTurn {
                initiators,
                next,
                addr,
                id,
            } => {
                let i = next.fetch_add(1, Ordering::Relaxed) % initiators.len();
                guls_one(&initiators[i], *addr, id).await
            }
            Target::Tls { connector, addr } => match tls_one(connector, *addr).await? {
                HandshakeKind::Full => Ok(()),
                other => Err(format!("{other:?} handshake, not a full one")),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    per_s: f64,
    mean_ms: f64,
    cpu_ms: f64,
    failed: usize,
}

/// `n` associations with `conc` at a time.
async fn rate(target: &Target, n: usize, conc: usize) -> (Rate, Option<String>) {
    let gate = Arc::new(Semaphore::new(conc));
    let mut set = JoinSet::new();
    let cpu0 = cpu_time();
    let start = Instant::now();
    for _ in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let t = target.clone();
        set.spawn(async move {
            let _permit = permit;
            let t0 = Instant::now();
            let r = match timeout(BOUND, t.one()).await {
                Ok(r) => r,
                Err(_) => Err("timed out".into()),
            };
            (t0.elapsed(), r)
        });
    }
    let (mut ok, mut lat, mut failed, mut first_error) = (0usize, 0.0, 0usize, None);
    while let Some(r) = set.join_next().await {
        match r {
            Ok((d, Ok(()))) => {
                ok += 1;
                lat += d.as_secs_f64();
            }
            Ok((_, Err(e))) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu0).as_secs_f64();
    let done = ok.max(1) as f64;
    (
        Rate {
            per_s: ok as f64 / elapsed,
            mean_ms: lat / done * 1e3,
            cpu_ms: cpu / done * 1e3,
            failed,
        },
        first_error,
    )
}

/// `se.sum_exec_runtime` over `/proc/self/task/*/sched` (see assoc_load).
fn cpu_time() -> Duration {
    let mut ms = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let sched = std::fs::read_to_string(t.path().join("sched")).unwrap_or_default();
            ms += sched
                .lines()
                .find(|l| l.starts_with("se.sum_exec_runtime"))
                .and_then(|l| l.rsplit(':').next())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
        }
    }
    Duration::from_secs_f64(ms / 1e3)
}

type Key = (Alg, Mode, usize);

async fn rate_section(o: &Opts, pkis: &[(Alg, Pki)]) -> Vec<(Key, Vec<Rate>)> {
    let mut targets = Vec::new();
    let server_failures = Arc::new(AtomicUsize::new(0));
    let plain = Target::Plain {
        initiator: Arc::new(Initiator::new(assoc_config())),
        addr: plain_responder(o.queue).await,
    };
    for (alg, pki) in pkis {
        // One responder and one initiator configuration with the trust stores' memory of
        // verified certificate signatures (their default), one without.
        let mut sides = Vec::new();
        for memory in [true, false] {
            let server_registry = registry(pki, &pki.server, None, None, memory, o.parallel);
            let client_registry = registry(
                pki,
                &pki.client,
                Some(&pki.server.subject),
                None,
                memory,
                o.parallel,
            );
            let addr =
                guls_responder(server_registry.clone(), server_failures.clone(), o.queue).await;
            let si = Arc::new(SecureInitiator::new(
                assoc_config(),
                CarriageConfig::new(client_registry.clone()),
            ));
            if o.fill {
                // Steady state: every replay cache at its capacity, as on a responder that
                // made more than DEFAULT_REPLAY_CAPACITY associations within the skew window
                // (5 minutes). Filled in memory, through the same configurations (no sockets).
                for id in [two_way_id(), ska_id()] {
                    let failed = (0..DEFAULT_REPLAY_CAPACITY + 100)
                        .filter(|_| !exchange_in_memory(&client_registry, &server_registry, &id))
                        .count();
                    if failed > 0 {
                        // The cache's fail-closed rule: once more than its capacity of tokens
                        // fall within one second, the rest of that second's are refused (an
                        // evicted token could otherwise be replayed).
                        println!(
                            "  {} {id}: {failed} of the fill's exchanges refused (the replay \
                             cache overflowed within one second)",
                            alg.name()
                        );
                    }
                }
            }
            sides.push((si, addr));
        }
        let (si, guls_addr) = sides[0].clone();
        let (si_first, first_addr) = sides[1].clone();
        // New processes, one per identity: no memory of a peer, empty replay caches.
        let newcomers: Arc<[SecureInitiator]> = pki
            .newcomers
            .iter()
            .map(|leaf| {
                let registry = registry(
                    pki,
                    leaf,
                    Some(&pki.server.subject),
                    None,
                    false,
                    o.parallel,
                );
                SecureInitiator::new(assoc_config(), CarriageConfig::new(registry))
            })
            .collect();
        let next_newcomer = Arc::new(AtomicUsize::new(0));
        let tls = tls_side(pki);
        let tls_addr = tls_server(tls.server.clone(), server_failures.clone()).await;
        let connector = TlsConnector::from(tls.client.clone());
        if targets.is_empty() {
            // The stack alone, measured once (it does not depend on the key type).
            targets.push((*alg, Mode::Plain, plain.clone()));
        }
        for (mode, target) in [
            (
                Mode::TwoWay,
                Target::Guls {
                    si: si.clone(),
                    addr: guls_addr,
                    id: two_way_id(),
                },
            ),
            (
                Mode::KeyAgreement,
                Target::Guls {
                    si: si.clone(),
                    addr: guls_addr,
                    id: ska_id(),
                },
            ),
            (
                Mode::TwoWayFirstContact,
                Target::Guls {
                    si: si_first.clone(),
                    addr: first_addr,
                    id: two_way_id(),
                },
            ),
            (
                Mode::KeyAgreementFirstContact,
                Target::Guls {
                    si: si_first.clone(),
                    addr: first_addr,
                    id: ska_id(),
                },
            ),
            (
                Mode::TwoWayNewInitiator,
                Target::GulsInTurn {
                    initiators: newcomers.clone(),
                    next: next_newcomer.clone(),
                    addr: guls_addr,
                    id: two_way_id(),
                },
            ),
            (
                Mode::KeyAgreementNewInitiator,
                Target::GulsInTurn {
                    initiators: newcomers.clone(),
                    next: next_newcomer.clone(),
                    addr: guls_addr,
                    id: ska_id(),
                },
            ),
            (
                Mode::Tls,
                Target::Tls {
                    connector: connector.clone(),
                    addr: tls_addr,
                },
            ),
        ] {
            if newcomers.is_empty() && mode.new_initiator() {
                continue;
            }
            // Check once that it works (and, for TLS, that the handshake is a full one).
            if let Err(e) = target.one().await {
                println!("  {} {}: FAILED: {e}", alg.name(), mode.name());
            }
            targets.push((*alg, mode, target));
        }
    }
    let measured = |m: &Mode| o.modes.contains(m);
    println!(
        "\nguls replay caches: {}",
        if o.fill {
            "filled to capacity before measuring (steady state; --no-fill skips this)"
        } else {
            "empty at start (--no-fill)"
        }
    );
    println!(
        "\nassociate (exchange) + one echoed value + release over 127.0.0.1; \
         TLS: connect + full handshake + one echoed write + close:"
    );
    println!(
        "  {:<6} {:<8} {:<28} {:>5} {:>7} {:>10} {:>13} {:>13} {:>7}",
        "round", "key", "mode", "conc", "assocs", "assocs/s", "mean latency", "CPU/assoc", "failed"
    );
    let mut results: Vec<(Key, Vec<Rate>)> = Vec::new();
    for round in 1..=o.rounds {
        for &conc in &o.concs {
            for (alg, mode, target) in targets.iter().filter(|t| measured(&t.1)) {
                let _ = rate(target, WARM_UP, conc).await;
                let (r, err) = rate(target, o.count, conc).await;
                println!(
                    "  {:<6} {:<8} {:<28} {:>5} {:>7} {:>10.0} {:>10.3} ms {:>10.3} ms {:>7}",
                    round,
                    mode.key(*alg),
                    mode.name(),
                    conc,
                    o.count,
                    r.per_s,
                    r.mean_ms,
                    r.cpu_ms,
                    r.failed
                );
                if let Some(e) = err {
                    println!("         first failure: {e}");
                }
                let key = (*alg, *mode, conc);
                match results.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.push(r),
                    None => results.push((key, vec![r])),
                }
            }
        }
    }
    let sf = server_failures.load(Ordering::Relaxed);
    if sf > 0 {
        println!("  server side: {sf} associations or handshakes not accepted");
    }
    results
}

fn range(v: &[f64], prec: usize) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.len() == 1 || format!("{min:.prec$}") == format!("{max:.prec$}") {
        format!("{min:.prec$}")
    } else {
        format!("{min:.prec$}–{max:.prec$}")
    }
}

fn summary(results: &[(Key, Vec<Rate>)]) {
    println!("\nsummary over the rounds (min–max):");
    println!(
        "  {:<8} {:<28} {:>5} {:>14} {:>16} {:>17} {:>7}",
        "key", "mode", "conc", "assocs/s", "CPU/assoc ms", "vs rustls (rate)", "failed"
    );
    for ((alg, mode, conc), rates) in results {
        let anchor = results
            .iter()
            .find(|(k, _)| *k == (*alg, Mode::Tls, *conc))
            .map(|(_, v)| v);
        let ratios: Vec<f64> = match anchor {
            Some(a) if !matches!(mode, Mode::Tls | Mode::Plain) => rates
                .iter()
                .zip(a)
                .map(|(r, t)| r.per_s / t.per_s)
                .collect(),
            _ => Vec::new(),
        };
        let per_s: Vec<f64> = rates.iter().map(|r| r.per_s).collect();
        let cpu: Vec<f64> = rates.iter().map(|r| r.cpu_ms).collect();
        println!(
            "  {:<8} {:<28} {:>5} {:>14} {:>16} {:>17} {:>7}",
            mode.key(*alg),
            mode.name(),
            conc,
            range(&per_s, 0),
            range(&cpu, 3),
            if ratios.is_empty() {
                "-".to_string()
            } else {
                format!("{}×", range(&ratios, 2))
            },
            rates.iter().map(|r| r.failed).sum::<usize>()
        );
    }
}

// ------------------------------------------------------------------------------ crypto

/// Mean time of `f` over `n` runs, in microseconds.
fn mean_us(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..n.min(50) {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// Runs `id` between two fresh in-memory endpoints; true when both sides completed.
fn exchange_in_memory(client: &Arc<Registry>, server: &Arc<Registry>, id: &Identifier) -> bool {
    let mut c = Endpoint::new(client.clone(), SeseConfig::default());
    let mut s = Endpoint::new(server.clone(), SeseConfig::default());
    let Ok(first) = c.initiate(id, InvocationId::Absent) else {
        return false;
    };
    let mut done = [false, false];
    let mut note = |side: usize, events: &[ExchangeEvent]| {
        for e in events {
            if matches!(e, ExchangeEvent::Completed { .. }) {
                done[side] = true;
            }
        }
    };
    note(0, &first.events);
    let mut queue: VecDeque<(bool, Vec<u8>)> =
        first.send.into_iter().map(|a| (true, a.bytes)).collect();
    let mut steps = 0;
    while let Some((to_server, bytes)) = queue.pop_front() {
        steps += 1;
        if steps > 16 {
            return false;
        }
        let out = if to_server {
            s.receive(&bytes)
        } else {
            c.receive(&bytes)
        };
        note(usize::from(to_server), &out.events);
        queue.extend(out.send.into_iter().map(|a| (!to_server, a.bytes)));
    }
    done == [true, true]
}

fn crypto_section(o: &Opts, alg: Alg, pki: &Pki) {
    let n = o.crypto_count;
    let p = provider();
    let key: Box<dyn SigningKey> = p
        .key_provider
        .load_private_key(&pki.client.pkcs8)
        .expect("client key");
    let sig_alg = key.algorithms()[0];
    let message = [0x5au8; 256];
    let sign = mean_us(n, || {
        black_box(key.sign(sig_alg, black_box(&message)).expect("sign"));
    });
    let signature = key.sign(sig_alg, &message).expect("sign");
    let v = p.verifier(sig_alg).expect("verifier");
    let verify = mean_us(n, || {
        v.verify(key.public_key(), black_box(&message), &signature)
            .expect("verify");
    });
    let now = UnixTime::now();
    let path_mean = |memory: bool| {
        let sv = verifier(pki, &p, memory);
        let mut flip = false;
        mean_us(n, || {
            flip = !flip;
            let chain = if flip {
                &pki.client.chain
            } else {
                &pki.server.chain
            };
            black_box(sv.verify_path(chain, now).expect("path"));
        })
    };
    // First contact (every certificate signature verified) and a peer seen again (the
    // store's memory of verified signatures; everything else still checked).
    let path_guls = path_mean(false);
    let path_guls_seen = path_mean(true);
    let tls = tls_side(pki);
    let (c_ee, c_int) = (
        CertificateDer::from(pki.client.chain[0].as_slice()),
        [CertificateDer::from(pki.client.chain[1].as_slice())],
    );
    let (s_ee, s_int) = (
        CertificateDer::from(pki.server.chain[0].as_slice()),
        [CertificateDer::from(pki.server.chain[1].as_slice())],
    );
    let name = ServerName::try_from("localhost").expect("name");
    let mut flip = false;
    let path_rustls = mean_us(n, || {
        flip = !flip;
        if flip {
            tls.client_verifier
                .verify_client_cert(&c_ee, &c_int, now)
                .expect("client path");
        } else {
            tls.server_verifier
                .verify_server_cert(&s_ee, &s_int, &name, &[], now)
                .expect("server path");
        }
    });
    let kx = p
        .kx_group(KeyExchangeAlgorithm::X25519)
        .expect("X25519 group");
    let peer = kx.start().expect("X25519");
    let peer_pub = peer.public_key().to_vec();
    let x25519 = mean_us(n, || {
        let mine = kx.start().expect("X25519");
        black_box(mine.complete(black_box(&peer_pub)).expect("X25519"));
    });

    // The replay cache's work per token, empty and at its default capacity (the steady
    // state of a responder past DEFAULT_REPLAY_CAPACITY associations within the skew window).
    let replay = |fill: usize| {
        let now = UnixTime::now().as_secs();
        let mut cache = ReplayCache::new(DEFAULT_SKEW_SECS, DEFAULT_REPLAY_CAPACITY);
        let random = |i: u64| {
            let mut r = [0u8; 32];
            r[..8].copy_from_slice(&i.to_be_bytes());
            r
        };
        let signer = key.public_key().to_vec();
        for i in 0..fill as u64 {
            // Spread over the last 200 s, so that evictions never reach "now".
            let t = now - 200 + i * 199 / fill.max(1) as u64;
            cache.note_issued(&random(i), t);
            let _ = cache.check_and_insert(&signer, t, &random(i), t);
        }
        let mut i = fill as u64;
        mean_us(n, || {
            i += 1;
            cache.note_issued(&random(i), now);
            let _ = black_box(cache.check_and_insert(&signer, now, &random(i), now));
        })
    };
    let replay_empty = replay(0);
    let replay_full = replay(DEFAULT_REPLAY_CAPACITY);

    let per_assoc =
        |path: f64, kx: bool| 2.0 * (sign + verify + path) + if kx { 2.0 * x25519 } else { 0.0 };
    println!("\n{} crypto, one thread, {n} runs each (mean):", alg.name());
    println!("  sign (256 octets)                          {sign:9.1} µs");
    println!("  verify                                     {verify:9.1} µs");
    println!("  path validation, guls TrustStore           {path_guls:9.1} µs (first contact)");
    println!(
        "  path validation, guls, peer seen again     {path_guls_seen:9.1} µs (signatures remembered)"
    );
    println!("  path validation, rustls webpki verifiers   {path_rustls:9.1} µs");
    println!("  X25519 key pair + agreement                {x25519:9.1} µs");
    println!(
        "  replay cache, note_issued + check_and_insert: {replay_empty:.1} µs from empty, \
         {replay_full:.1} µs at capacity {DEFAULT_REPLAY_CAPACITY} (twice per guls association)"
    );
    println!("  crypto-only bound per association (one core; 2 × sign + verify + path):");
    for (what, us) in [
        ("two-way, guls paths", per_assoc(path_guls, false)),
        (
            "key agreement, guls paths (+ 2 × X25519)",
            per_assoc(path_guls, true),
        ),
        (
            "two-way, guls paths seen again",
            per_assoc(path_guls_seen, false),
        ),
        (
            "key agreement, guls paths seen again",
            per_assoc(path_guls_seen, true),
        ),
        (
            "TLS 1.3, rustls paths (+ 2 × X25519)",
            per_assoc(path_rustls, true),
        ),
    ] {
        println!("    {what:<42} {us:7.1} µs = {:6.0} assocs/s", 1e6 / us);
    }

    // Whole exchanges in memory. The replay caches are sized for the loop so that no token
    // is refused because a full cache moved its floor (see ReplayCache).
    let cap = Some(4 * n + 64);
    // One thread: what one core does per exchange.
    let never = ParallelChecks::Never;
    let client = registry(
        pki,
        &pki.client,
        Some(&pki.server.subject),
        cap,
        true,
        never,
    );
    let server = registry(pki, &pki.server, None, cap, true, never);
    for (what, id) in [("two-way", two_way_id()), ("key agreement", ska_id())] {
        let mut failed = 0usize;
        let us = mean_us(n, || {
            if !exchange_in_memory(&client, &server, &id) {
                failed += 1;
            }
        });
        println!(
            "  {what} exchange between in-memory endpoints   {us:7.1} µs = {:6.0} assocs/s{}",
            1e6 / us,
            if failed > 0 {
                format!(" ({failed} FAILED)")
            } else {
                String::new()
            }
        );
    }
}

fn main() {
    let o = match Opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "cert_load: {cpus} CPU(s), {} build, ring provider for guls and rustls 0.23",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    let newcomers = if o.rate && o.modes.iter().any(|m| m.new_initiator()) {
        NEW_INITIATORS
    } else {
        0
    };
    let pkis: Vec<(Alg, Pki)> = o.algs.iter().map(|a| (*a, pki(*a, newcomers))).collect();
    if o.crypto {
        for (alg, pki) in &pkis {
            crypto_section(&o, *alg, pki);
        }
    }
    if o.rate {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let results = rt.block_on(rate_section(&o, &pkis));
        summary(&results);
    }
}
