//! Shared helpers of the certificate tests (`cert_auth.rs`, `cert_attacks.rs`, which include
//! this file with `#[path = "common/certs.rs"] mod certs;`): fresh rcgen PKIs, an in-process
//! `guls serve` with a policy file and an audit log, an in-process `guls connect`, and readers
//! of the audit log.

// Each test file uses a part of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use guls::connect::{ConnectOptions, Payload, connect};
use guls::exchanges::{BuiltIns, CertOptions, ProviderChoice};
use guls::profile::Profile;
use guls::serve::{ServeOptions, serve};
use guls_association::ApTitle;
use guls_policy::exchanges::exchange_oid;
use guls_policy::{Identity, TrustStore};
#[path = "audit_log.rs"]
mod audit_log;
pub use audit_log::complete_lines;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};

/// The key types of the test PKIs.
#[derive(Debug, Clone, Copy)]
pub enum Alg {
    /// Ed25519 keys and signatures.
    Ed25519,
    /// ECDSA P-256 with SHA-256.
    P256,
}

impl Alg {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Alg::Ed25519 => &rcgen::PKCS_ED25519,
            Alg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

/// Seconds since the epoch, `offset_days` from now.
pub fn secs(offset_days: i64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now + offset_days * 86_400) as u64
}

/// rcgen's date-time type, `offset_days` from now.
macro_rules! at {
    ($d:expr) => {
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(secs($d))
    };
}

/// A certification authority: its parameters and key (to issue), and its certificate (PEM).
pub struct Ca {
    params: CertificateParams,
    key: KeyPair,
    /// The self-signed certificate, PEM.
    pub pem: String,
    alg: Alg,
}

/// A self-signed CA `O=guls test, CN=cn`, valid from 30 days ago for a year.
pub fn ca(alg: Alg, cn: &str) -> Ca {
    let key = KeyPair::generate_for(alg.rcgen()).unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::OrganizationName, "guls test");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = at!(-30);
    p.not_after = at!(365);
    let pem = p.self_signed(&key).unwrap().pem();
    Ca {
        params: p,
        key,
        pem,
        alg,
    }
}

/// A leaf `O=guls test, CN=cn` valid from `from` to `to` days from now, serial `serial`.
pub fn leaf(ca: &Ca, cn: &str, serial: u64, from: i64, to: i64) -> Identity {
    leaf_with_key(ca, cn, serial, from, to).0
}

/// [`leaf`], with its private key (PKCS #8 PEM), for the tests that check that no key
/// material reaches a log.
pub fn leaf_with_key(ca: &Ca, cn: &str, serial: u64, from: i64, to: i64) -> (Identity, String) {
    let key = KeyPair::generate_for(ca.alg.rcgen()).unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::OrganizationName, "guls test");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    p.serial_number = Some(SerialNumber::from(serial));
    p.not_before = at!(from);
    p.not_after = at!(to);
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = p.signed_by(&key, &issuer).unwrap();
    let key_pem = key.serialize_pem();
    let id = Identity::from_pem_or_der(cert.pem().as_bytes(), key_pem.as_bytes()).unwrap();
    (id, key_pem)
}

/// A CRL of `ca` revoking `revoked` (serial numbers), PEM.
pub fn crl(ca: &Ca, revoked: &[u64]) -> Vec<u8> {
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    CertificateRevocationListParams {
        this_update: at!(-1),
        next_update: at!(30),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: at!(-1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap()
    .pem()
    .unwrap()
    .into_bytes()
}

/// A trust store with `ca` as its anchor (and the CRL, when given).
pub fn trust(ca: &Ca, crl_pem: Option<&[u8]>) -> TrustStore {
    let mut t = TrustStore::from_pem_or_der(ca.pem.as_bytes()).unwrap();
    if let Some(c) = crl_pem {
        t.add_crls(&guls_policy::crls_from_pem_or_der(c).unwrap())
            .unwrap();
    }
    t
}

/// The certificate exchanges with identity `id`, trusting `trust`.
pub fn builtins(id: &Identity, trust: &TrustStore, provider: ProviderChoice) -> BuiltIns {
    BuiltIns {
        cert: CertOptions {
            identity: Some(id.clone()),
            trust: Some(trust.clone()),
            crls: Vec::new(),
            provider,
        },
        ..BuiltIns::default()
    }
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory named after `tag`.
    pub fn new(tag: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("guls-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

/// A running in-process `guls serve` (aborted on drop) with its audit log.
pub struct Server {
    /// Where it listens.
    pub addr: String,
    /// Its audit log.
    pub audit: PathBuf,
    task: tokio::task::JoinHandle<Result<(), guls::serve::ServeError>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts `guls serve` with the policy text `policy` (written to `dir/name.toml`), the audit
/// log `dir/name.audit` and the exchanges of `b`; returns once it accepts connections.
pub async fn start(dir: &Path, name: &str, policy: &str, b: BuiltIns) -> Server {
    let addr = free_addr();
    let policy_path = dir.join(format!("{name}.toml"));
    std::fs::write(&policy_path, policy).unwrap();
    let audit = dir.join(format!("{name}.audit"));
    let task = tokio::spawn(serve(ServeOptions {
        listen: addr.clone(),
        profile: Profile::Demo,
        contexts: Vec::new(),
        max_associations: None,
        idle_timeout: None,
        once: false,
        policy: Some(policy_path),
        audit: Some(audit.clone()),
        builtins: b,
    }));
    for _ in 0..250 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            break;
        }
        assert!(!task.is_finished(), "guls serve stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server { addr, audit, task }
}

/// What `guls connect` returned and printed.
pub struct Outcome {
    /// The exit status.
    pub status: u8,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

/// The options of one `guls connect` run.
pub struct Client<'a> {
    /// Our certificate exchanges.
    pub b: BuiltIns,
    /// The exchange to offer (a policy name); ignored with a password.
    pub exchange: &'a str,
    /// Calling AP-title (default: our certificate's subject).
    pub calling: Option<ApTitle>,
    /// Called AP-title.
    pub called: Option<ApTitle>,
    /// Password authentication instead of an exchange.
    pub password: Option<&'a [u8]>,
    /// `--audit`.
    pub audit: Option<PathBuf>,
}

/// Runs `guls connect` in process against `addr`, sending "hello".
pub async fn run_client(addr: &str, c: Client<'_>) -> Outcome {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = connect(
        ConnectOptions {
            addr: addr.to_string(),
            profile: Profile::Demo,
            contexts: Vec::new(),
            payload: Some(Payload::Text("hello".into())),
            password: c.password.map(|p| zeroize::Zeroizing::new(p.to_vec())),
            policy: None,
            calling_ap_title: c.calling,
            calling_ae_qualifier: None,
            called_ap_title: c.called,
            timeout: Duration::from_secs(10),
            exchanges: if c.password.is_some() {
                Vec::new()
            } else {
                vec![exchange_oid(c.exchange).unwrap()]
            },
            carrier: None,
            builtins: c.b,
            audit: c.audit,
        },
        &mut out,
        &mut err,
    )
    .await;
    Outcome {
        status,
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// The audit records of `path` (JSON lines), leaving out a line still being written.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    complete_lines(path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whether the log holds `authentication_failed` with `reason` and `diagnostic`, and (for a
/// responder) `association_rejected` with the same diagnostic.
pub fn audited(path: &Path, reason: &str, diagnostic: i64, rejected: bool) -> bool {
    let text = complete_lines(path);
    let failed = text.lines().any(|l| {
        l.contains("authentication_failed")
            && l.contains(&format!("\"{reason}\""))
            && l.contains(&format!("\"diagnostic\":{diagnostic}"))
    });
    let rej = !rejected
        || text.lines().any(|l| {
            l.contains("association_rejected")
                && l.contains(&format!("\"diagnostic\":{diagnostic}"))
        });
    failed && rej
}
