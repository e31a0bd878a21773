//! Certificate authentication end to end: `guls serve` ↔ `guls connect` (in process, over
//! loopback) with fresh rcgen PKIs, both key types, both crypto providers on each side and
//! across them, the three certificate exchanges; and the security cases, each rejected with
//! its diagnostic and an audit record.
//!
//! Bad token signatures and replays cannot be produced through the program's public API (the
//! roles sign and stamp every token themselves); they are covered by the exchange-level tests
//! of `crates/exchanges/tests`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use guls::connect::{ConnectOptions, Payload, connect, exit};
use guls::exchanges::{BuiltIns, CertOptions, ProviderChoice};
use guls::profile::Profile;
use guls::serve::{ServeOptions, serve};
use guls_association::ApTitle;
use guls_policy::exchanges::exchange_oid;
use guls_policy::{Identity, TrustStore};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};

#[derive(Debug, Clone, Copy)]
enum Alg {
    Ed25519,
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
fn secs(offset_days: i64) -> u64 {
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

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
    alg: Alg,
}

fn ca(alg: Alg, cn: &str) -> Ca {
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
fn leaf(ca: &Ca, cn: &str, serial: u64, from: i64, to: i64) -> Identity {
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
    Identity::from_pem_or_der(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
}

fn crl(ca: &Ca, revoked: &[u64]) -> Vec<u8> {
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

fn trust(ca: &Ca, crl_pem: Option<&[u8]>) -> TrustStore {
    let mut t = TrustStore::from_pem_or_der(ca.pem.as_bytes()).unwrap();
    if let Some(c) = crl_pem {
        t.add_crls(&guls_policy::crls_from_pem_or_der(c).unwrap())
            .unwrap();
    }
    t
}

fn builtins(id: &Identity, trust: &TrustStore, provider: ProviderChoice) -> BuiltIns {
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

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
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

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

/// A running in-process `guls serve` (aborted on drop) with its audit log.
struct Server {
    addr: String,
    audit: PathBuf,
    task: tokio::task::JoinHandle<Result<(), guls::serve::ServeError>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(dir: &Path, name: &str, policy: &str, b: BuiltIns) -> Server {
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

struct Outcome {
    status: u8,
    out: String,
    err: String,
}

struct Client<'a> {
    b: BuiltIns,
    exchange: &'a str,
    calling: Option<ApTitle>,
    called: Option<ApTitle>,
    password: Option<&'a [u8]>,
    audit: Option<PathBuf>,
}

async fn run_client(addr: &str, c: Client<'_>) -> Outcome {
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

/// The audit records of `path` (JSON lines).
fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whether the log holds `authentication_failed` with `reason` and `diagnostic`, and (for a
/// responder) `association_rejected` with the same diagnostic.
fn audited(path: &Path, reason: &str, diagnostic: i64, rejected: bool) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
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

const ALL_EXCHANGES: [&str; 3] = [
    "dir-authentication-one-way",
    "dir-authentication-two-way",
    "signed-key-agreement",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_paths_both_key_types_both_providers_every_exchange() {
    let dir = TempDir::new("cert-happy");
    let policy = r#"
[default]
mechanisms = ["none"]
exchanges = ["dir-authentication-one-way", "dir-authentication-two-way", "signed-key-agreement"]
require_exchange = true
"#;
    let providers = [ProviderChoice::Ring, ProviderChoice::RustCrypto];
    for alg in [Alg::Ed25519, Alg::P256] {
        let ca = ca(alg, "happy CA");
        let t = trust(&ca, Some(&crl(&ca, &[])));
        let responder = leaf(&ca, "responder", 10, -1, 30);
        let initiator = leaf(&ca, "initiator", 11, -1, 30);
        for rp in providers {
            let server = start(
                &dir.0,
                &format!("{alg:?}-{rp:?}"),
                policy,
                builtins(&responder, &t, rp),
            )
            .await;
            for ip in providers {
                for x in ALL_EXCHANGES {
                    let o = run_client(
                        &server.addr,
                        Client {
                            b: builtins(&initiator, &t, ip),
                            exchange: x,
                            calling: None,
                            called: Some(responder.ap_title()),
                            password: None,
                            audit: None,
                        },
                    )
                    .await;
                    let what = format!("{alg:?} responder {rp:?} initiator {ip:?} {x}");
                    assert_eq!(o.status, exit::OK, "{what}\n{}\n{}", o.out, o.err);
                    assert!(
                        o.out.contains("security exchange completed"),
                        "{what}\n{}",
                        o.out
                    );
                    assert!(o.out.contains("reply: \"hello\"") || o.out.contains("hello"));
                    if x != "dir-authentication-one-way" {
                        // Mutual: the initiator authenticated the responder's certificate.
                        assert!(
                            o.out.contains("(peer identity ") && o.out.contains("CN=responder"),
                            "{what}\n{}",
                            o.out
                        );
                    }
                    assert_eq!(
                        o.out.contains("keys derived (key id "),
                        x == "signed-key-agreement",
                        "{what}\n{}",
                        o.out
                    );
                }
            }
            let recs = records(&server.audit);
            let completed = recs
                .iter()
                .filter(|r| r.to_string().contains("exchange_completed"))
                .count();
            assert_eq!(completed, 6, "{alg:?} {rp:?}: {recs:?}");
            assert!(
                recs.iter()
                    .filter(|r| r.to_string().contains("exchange_completed"))
                    .all(|r| r.to_string().contains("CN=initiator")),
                "{recs:?}"
            );
            let log = std::fs::read_to_string(&server.audit).unwrap();
            assert!(!log.contains("PRIVATE KEY"), "{log}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_cases_are_rejected_with_diagnostic_and_audit() {
    let dir = TempDir::new("cert-security");
    let ca1 = ca(Alg::Ed25519, "trusted CA");
    let ca2 = ca(Alg::Ed25519, "unknown CA");
    let revoked_serial = 66;
    let t = trust(&ca1, Some(&crl(&ca1, &[revoked_serial])));
    let responder = leaf(&ca1, "responder", 20, -1, 30);
    let good = leaf(&ca1, "initiator", 21, -1, 30);
    let expired = leaf(&ca1, "initiator", 22, -20, -2);
    let stranger = leaf(&ca2, "initiator", 23, -1, 30);
    let revoked = leaf(&ca1, "initiator", revoked_serial, -1, 30);
    // Mutual authentication required: two-way or the key agreement.
    let policy = r#"
[default]
mechanisms = ["none"]
exchanges = ["dir-authentication-two-way", "signed-key-agreement"]
require_exchange = true
"#;
    let server = start(
        &dir.0,
        "strict",
        policy,
        builtins(&responder, &t, ProviderChoice::Ring),
    )
    .await;
    let called = Some(responder.ap_title());
    let other_title = guls_policy::parse_ap_title("CN=somebody else,O=guls test").unwrap();

    for x in ["dir-authentication-two-way", "signed-key-agreement"] {
        // (case, identity, calling AP-title, audit reason)
        let cases: [(&str, &Identity, Option<ApTitle>, &str); 4] = [
            ("expired", &expired, None, "certificate-expired"),
            ("unknown CA", &stranger, None, "unknown-issuer"),
            (
                "AP title not the certificate's",
                &good,
                Some(other_title.clone()),
                "ap-title-mismatch",
            ),
            ("revoked", &revoked, None, "certificate-revoked"),
        ];
        for (case, id, calling, reason) in cases {
            let before = records(&server.audit).len();
            let o = run_client(
                &server.addr,
                Client {
                    b: builtins(id, &t, ProviderChoice::Ring),
                    exchange: x,
                    calling,
                    called: called.clone(),
                    password: None,
                    audit: None,
                },
            )
            .await;
            assert_eq!(o.status, exit::REJECTED, "{x} {case}\n{}\n{}", o.out, o.err);
            assert!(
                o.err.contains("authentication-failure") || o.err.contains("13"),
                "{x} {case}: {}",
                o.err
            );
            assert!(
                audited(&server.audit, reason, 13, true),
                "{x} {case}: no audit record {reason}/13:\n{}",
                std::fs::read_to_string(&server.audit).unwrap()
            );
            // The responder signalled authenticationFailure (local:1) in its se-u-abort.
            let new: Vec<String> = records(&server.audit)[before..]
                .iter()
                .map(|r| r.to_string())
                .collect();
            assert!(
                new.iter()
                    .any(|r| r.contains("se_u_abort") && r.contains("local:1")),
                "{x} {case}: {new:?}"
            );
        }
    }

    // Downgrades: a password, or the one-way exchange, where mutual authentication is required.
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &t, ProviderChoice::Ring),
            exchange: "",
            calling: None,
            called: called.clone(),
            password: Some(b"a password"),
            audit: None,
        },
    )
    .await;
    assert_eq!(o.status, exit::REJECTED, "{}\n{}", o.out, o.err);
    assert!(audited(&server.audit, "downgrade", 14, true));
    let n_downgrades = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"downgrade\""))
            .count()
    };
    assert_eq!(n_downgrades(&server.audit), 1);
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &t, ProviderChoice::Ring),
            exchange: "dir-authentication-one-way",
            calling: None,
            called: called.clone(),
            password: None,
            audit: None,
        },
    )
    .await;
    assert_eq!(o.status, exit::REJECTED, "{}\n{}", o.out, o.err);
    assert_eq!(n_downgrades(&server.audit), 2);

    // The initiator refuses a responder it cannot validate (it trusts only the other CA):
    // the association is aborted and the initiator's audit log says why.
    let initiator_audit = dir.0.join("initiator.audit");
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&stranger, &trust(&ca2, None), ProviderChoice::Ring),
            exchange: "signed-key-agreement",
            calling: None,
            called: called.clone(),
            password: None,
            audit: Some(initiator_audit.clone()),
        },
    )
    .await;
    assert_ne!(o.status, exit::OK, "{}\n{}", o.out, o.err);
    // (The responder rejects this initiator first: its path does not validate either.)
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &trust(&ca2, None), ProviderChoice::Ring),
            exchange: "signed-key-agreement",
            calling: None,
            called: called.clone(),
            password: None,
            audit: Some(initiator_audit.clone()),
        },
    )
    .await;
    assert_eq!(o.status, exit::ABORTED, "{}\n{}", o.out, o.err);
    assert!(o.err.contains("unknown-issuer"), "{}", o.err);
    assert!(
        audited(&initiator_audit, "unknown-issuer", 13, false),
        "{}",
        std::fs::read_to_string(&initiator_audit).unwrap()
    );

    // The initiator calls an AP title that is not the responder's certificate: the
    // responder refuses the token addressed to another name (wrong-name, 13).
    let o = run_client(
        &server.addr,
        Client {
            b: builtins(&good, &t, ProviderChoice::Ring),
            exchange: "signed-key-agreement",
            calling: None,
            called: Some(other_title.clone()),
            password: None,
            audit: None,
        },
    )
    .await;
    assert_eq!(o.status, exit::REJECTED, "{}\n{}", o.out, o.err);
    assert!(audited(&server.audit, "wrong-name", 13, true));
}
