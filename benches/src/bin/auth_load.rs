//! Loopback load generator for password authentication: associations per second with an
//! ACSE password (mechanism 2.2.3.1, verified against an argon2id hash by the responder
//! policy) against unauthenticated ones, in the same process and run, plus the cost of one
//! argon2id verification measured on its own.
//!
//! Run: `cargo run --release -p guls-benches --bin auth_load -- [--quick] [--count N]
//! [--password-count N]`
//!
//! Sections:
//!
//! * **argon2id** — on one thread, without the network: one `hash_password`, then
//!   `ResponderPolicy::decide` with the right password and with a wrong one, `--password-count`
//!   times each (mean and median). With the policy's default parameters (m = 19 MiB, t = 2,
//!   p = 1) a verification is one argon2id computation.
//! * **rate** — associate + release over 127.0.0.1 with 1, 2 and 8 concurrent initiators, in
//!   three modes against three responders in this process: `plain` (no policy: the
//!   application accepts every indication directly), `policy, none` (the `guls::guard` gate
//!   with a policy that accepts unauthenticated peers, audit records written to a file) and
//!   `policy, password` (the same gate and policy, the initiator presents the password, so
//!   each association costs one verification on tokio's blocking pool). The policy is
//!   `[default] mechanisms = ["none", "password"]` with one credential.
//!
//! Every count and every wait is bounded; the program stops by itself. Nothing is asserted
//! about time: a measurement that fails is reported as such.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use guls::guard::Guard;
use guls::profile::Profile;
use guls_association::{
    AcceptParams, AssociateParams, Association, AssociationEvent, Authentication,
    IncomingAssociation, Initiator, Responder,
};
use guls_audit::AuditSink;
use guls_policy::{AuthRequest, ResponderPolicy};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

/// The benchmark's password (its hash is made at start).
const PASSWORD: &[u8] = b"bench-password-1";
/// Upper bound of any single association; exceeding it is reported as a failure.
const BOUND: Duration = Duration::from_secs(30);

struct Opts {
    count: usize,
    password_count: usize,
}

impl Opts {
    fn parse() -> Result<Opts, String> {
        let mut o = Opts {
            count: 2000,
            password_count: 200,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut num = |name: &str| -> Result<usize, String> {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or(format!("{name} needs a positive number"))
            };
            match a.as_str() {
                "--quick" => {
                    o.count = 200;
                    o.password_count = 40;
                }
                "--count" => o.count = num("--count")?,
                "--password-count" => o.password_count = num("--password-count")?,
                "-h" | "--help" => {
                    return Err(
                        "usage: auth_load [--quick] [--count N] [--password-count N]".into(),
                    );
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(o)
    }
}

fn policy(phc: &str) -> ResponderPolicy {
    ResponderPolicy::parse(
        &format!(
            "[default]\nname = \"bench\"\nmechanisms = [\"none\", \"password\"]\n\n\
             [[default.credential]]\nidentity = \"bench\"\npassword_hash = \"{phc}\"\n"
        ),
        "(auth_load policy)",
    )
    .expect("the benchmark policy is valid")
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64;
    (mean * 1e3, v[v.len() / 2].as_secs_f64() * 1e3)
}

fn argon2_section(o: &Opts) -> String {
    let t = Instant::now();
    let phc = guls_policy::hash_password(PASSWORD).expect("hash");
    let hash_ms = t.elapsed().as_secs_f64() * 1e3;
    let p = policy(&phc);
    let mech = guls_ber::known::PASSWORD_MECHANISM;
    let run = |pw: &[u8], expect_accept: bool| {
        let value = guls_association::AuthenticationValue::password(pw);
        let req = AuthRequest {
            peer_addr: Some(([127, 0, 0, 1], 1).into()),
            mechanism_name: Some(&mech),
            authentication_value: Some(&value),
            ..AuthRequest::default()
        };
        let mut times = Vec::with_capacity(o.password_count);
        for _ in 0..o.password_count {
            let t = Instant::now();
            let d = p.decide(&req);
            times.push(t.elapsed());
            assert_eq!(d.is_accept(), expect_accept);
        }
        stats(times)
    };
    let (ok_mean, ok_median) = run(PASSWORD, true);
    let (bad_mean, bad_median) = run(b"wrong-password!!", false);
    println!(
        "argon2id (m=19456 KiB, t=2, p=1), one thread, {} runs each:",
        o.password_count
    );
    println!("  hash_password            {hash_ms:8.2} ms (once)");
    println!("  decide, right password   {ok_mean:8.2} ms mean, {ok_median:8.2} ms median");
    println!("  decide, wrong password   {bad_mean:8.2} ms mean, {bad_median:8.2} ms median");
    phc
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    PolicyNone,
    PolicyPassword,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "plain (no policy)",
            Mode::PolicyNone => "policy, none",
            Mode::PolicyPassword => "policy, password",
        }
    }
}

/// Answers the release and reports the end to the audit handle, if any.
async fn serve_release(mut assoc: Association, audit: Option<guls::guard::AssociationAudit>) {
    loop {
        match timeout(BOUND, assoc.recv()).await {
            Ok(Ok(ev)) => {
                if let Some(a) = &audit {
                    a.event(&ev);
                }
                match ev {
                    AssociationEvent::ReleaseIndication { .. } => {
                        let _ = assoc.release_response(Vec::new()).await;
                    }
                    AssociationEvent::Data(_) => {}
                    _ => return,
                }
            }
            Ok(Err(e)) => {
                if let Some(a) = &audit {
                    a.error(&e);
                }
                return;
            }
            Err(_) => return,
        }
    }
}

async fn handle(inc: IncomingAssociation, guard: Option<Arc<Guard>>) {
    match guard {
        None => {
            if let Ok(a) = inc.accept(AcceptParams::default()).await {
                serve_release(a, None).await;
            }
        }
        Some(g) => {
            let checked = g.check(inc).await;
            if let Ok(adm) = checked.finish(AcceptParams::default()).await {
                serve_release(adm.association, Some(adm.audit)).await;
            }
        }
    }
}

async fn start_responder(guard: Option<Arc<Guard>>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let mut config = Profile::Demo.config();
    config.limits.max_associations = 1024;
    let responder = Responder::bind("127.0.0.1:0", config).await.expect("bind");
    let addr = responder.local_addr();
    let task = tokio::spawn(async move {
        while let Ok(inc) = responder.accept().await {
            tokio::spawn(handle(inc, guard.clone()));
        }
    });
    (addr, task)
}

/// `n` associations (connect + release) with `conc` at a time; (associations/s, mean latency
/// ms, failures).
async fn rate(addr: SocketAddr, mode: Mode, n: usize, conc: usize) -> (f64, f64, usize) {
    let initiator = Arc::new(Initiator::new(Profile::Demo.config()));
    let gate = Arc::new(Semaphore::new(conc));
    let mut set = JoinSet::new();
    let start = Instant::now();
    for _ in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let initiator = initiator.clone();
        set.spawn(async move {
            let _permit = permit;
            let params = AssociateParams {
                authentication: (mode == Mode::PolicyPassword)
                    .then(|| Authentication::password(PASSWORD)),
                ..AssociateParams::default()
            };
            let t = Instant::now();
            let r = timeout(BOUND, async {
                let mut a = initiator.connect(addr, params).await?;
                a.release().await.map(|_| ())
            })
            .await;
            (t.elapsed(), matches!(r, Ok(Ok(()))))
        });
    }
    let mut lat = Vec::with_capacity(n);
    let mut failures = 0;
    while let Some(r) = set.join_next().await {
        match r {
            Ok((d, true)) => lat.push(d),
            _ => failures += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ok = lat.len();
    let mean = if ok > 0 { stats(lat).0 } else { f64::NAN };
    (ok as f64 / elapsed, mean, failures)
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
        "auth_load: {cpus} CPU(s), {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let phc = argon2_section(&o);
    let dir = std::env::temp_dir().join(format!("guls-auth-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let audit_path = dir.join("audit.jsonl");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sink = Arc::new(AuditSink::create(&audit_path).expect("audit log"));
        let guard = Arc::new(Guard::new(policy(&phc), Some(sink.clone())));
        let (plain, t1) = start_responder(None).await;
        let (gated, t2) = start_responder(Some(guard)).await;
        println!(
            "\nassociate + release over 127.0.0.1 (audit records to {}):",
            audit_path.display()
        );
        println!(
            "  {:<20} {:>11} {:>7} {:>12} {:>14} {:>8}",
            "mode", "initiators", "assocs", "assocs/s", "mean latency", "failed"
        );
        for conc in [1usize, 2, 8] {
            for mode in [Mode::Plain, Mode::PolicyNone, Mode::PolicyPassword] {
                let n = if mode == Mode::PolicyPassword {
                    o.password_count
                } else {
                    o.count
                };
                let addr = if mode == Mode::Plain { plain } else { gated };
                let (per_s, mean, failed) = rate(addr, mode, n, conc).await;
                println!(
                    "  {:<20} {:>11} {:>7} {:>12.0} {:>11.2} ms {:>8}",
                    mode.name(),
                    conc,
                    n,
                    per_s,
                    mean,
                    failed
                );
            }
        }
        // Let the last ends reach the log, then check it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        t1.abort();
        t2.abort();
        let f = std::fs::File::open(&audit_path).expect("audit log");
        match guls_audit::verify(std::io::BufReader::new(f)) {
            Ok(s) => println!(
                "\naudit log: {} records, associations {}, the chain verifies",
                s.records, s.associations
            ),
            Err(e) => println!("\naudit log does not verify: {e}"),
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
