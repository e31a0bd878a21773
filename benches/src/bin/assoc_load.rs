//! Loopback load generator for `guls-association`, each figure next to a plain-TCP anchor
//! measured in the same process and run.
//!
//! Run: `cargo run --release -p guls-benches --bin assoc_load -- [--quick]
//! [--only memory|rate|throughput] [--rounds N] [--idle N] [--values N] [--split] [--shared]
//! [--max-read N] [--side guls|tcp] [--owned-anchor] [--anchor-read N] [--pin apart|together]
//! [--no-recycle]`
//!
//! Everything runs in one tokio multi-thread runtime (one worker per CPU); with `--split` the
//! throughput section instead runs its sending side and its receiving side in two runtimes of
//! one worker each (one thread per side, as two processes would have). Besides wall-clock
//! figures, each rate and throughput line gives the CPU time this process used (the sum of
//! `se.sum_exec_runtime` over its threads), which other processes on a shared machine disturb
//! less than wall-clock time.
//!
//! Sections (in this order, memory first so that the heap has not yet been grown and freed by
//! the other sections):
//!
//! * **memory** — opens `--idle` idle associations (initiator and responder in this process,
//!   so each one costs two sockets and both ends' state) and reports the growth of `VmRSS`
//!   and `RssAnon` from `/proc/self/status` divided by their number. Kernel socket buffers are
//!   not process memory and are not counted.
//! * **rate** — associate + release (no authentication) with 1, 8 and 64 concurrent
//!   initiators against one `Responder` on 127.0.0.1:0, whose accepted associations answer
//!   the release in spawned tasks. Anchor: plain TCP connect + three 32-octet request/response
//!   round trips + close (guls needs three round trips: CR/CC, CN/AC, FN/DN).
//! * **throughput** — one association; the initiator sends `--values` P-DATA values of
//!   64 KiB (octet-aligned, one `send` after the other); the responder is a sink that counts
//!   them and answers one small value when it has them all; time runs from the first send to
//!   that answer. The guls sink hands each value's buffer back once counted
//!   (`Association::recycle`), so that the next values are read into it straight from the
//!   socket; `--no-recycle` drops them instead (each value then gets a new buffer, zeroed
//!   before the read). Anchor: one plain TCP connection, the same number of 64 KiB
//!   `write_all`s into a sink that reads them into one reused buffer and answers one octet. Anchor and guls
//!   alternate within each round. The guls sender copies the payload into a new `Vec` per
//!   value (`send` takes the value by value); that copy is timed separately and reported.
//!   With `--shared`, the guls sender instead hands every send the same `Arc<[u8]>`
//!   (`Association::send_octets`, no copy), as the anchor writes the same buffer each time.
//!   `--max-read N` sets `Limits::max_read` (the largest socket read) of both ends.
//!   `--side guls` or `--side tcp` measures only that side (for profiling one of them; no
//!   ratios are then given). `--owned-anchor` makes the TCP sink read each 64 KiB message
//!   into a new `Vec` of its own (reads then end at message boundaries) instead of reading
//!   up to 64 KiB at a time into one reused buffer, as the guls sink receives each value as
//!   an owned `Vec`. `--anchor-read N` sets the TCP sink's read size (default 64 KiB, the
//!   guls default `max_read`). With `--split`, `--pin apart` pins the sending side's thread
//!   to the first core and the receiving side's to the second (two processes on two cores),
//!   `--pin together` both to the first: without pinning, the scheduler's placement decides
//!   which of its two states the plain-TCP anchor runs in (about 1.5–2 or about 7 GB/s on the
//!   project's machine), so a ratio over a run says more about the placement than about guls.
//!
//! Every count and every wait is bounded; the program stops by itself. Nothing is asserted
//! about time: a measurement that fails is reported as such.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use guls_association::{
    AcceptParams, AssociateParams, Association, AssociationConfig, AssociationError,
    AssociationEvent, Initiator, Oid, PdvValue, Responder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

/// Size of one P-DATA value (and of one anchor write).
const PAYLOAD: usize = 64 * 1024;
/// Size of one anchor request/response in the rate section.
const PING: usize = 32;
/// Round trips of the rate anchor (guls: CR/CC, CN/AC, FN/DN).
const ANCHOR_ROUND_TRIPS: usize = 3;
/// Upper bound of any single measurement; exceeding it is reported as a failure.
const SAFETY: Duration = Duration::from_secs(120);
/// Concurrent connects while opening the idle associations.
const OPEN_CONCURRENCY: usize = 32;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Memory,
    Rate,
    Throughput,
}

struct Opts {
    quick: bool,
    split: bool,
    /// With `--split`: pin the sending and receiving threads to two cores (`apart`) or both
    /// to the first (`together`).
    pin: Option<Pin>,
    shared: bool,
    /// `--no-recycle`: the guls sink drops its values instead of recycling their buffers.
    no_recycle: bool,
    /// `--side guls|tcp`: the throughput section measures only that side (for profiling).
    side: Option<&'static str>,
    /// `--owned-anchor`: the TCP sink reads each message into a new `Vec`.
    owned_anchor: bool,
    anchor_read: usize,
    max_read: Option<usize>,
    only: Option<Section>,
    rounds: usize,
    idle: usize,
    values: usize,
    rate_time: Duration,
    rate_cap: usize,
}

/// Where `--pin` puts the throughput section's two threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pin {
    /// The sending side on the first core, the receiving side on the second.
    Apart,
    /// Both sides on the first core.
    Together,
}

impl Opts {
    fn parse() -> Result<Opts, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = Opts {
            quick,
            split: false,
            pin: None,
            shared: false,
            no_recycle: false,
            side: None,
            owned_anchor: false,
            anchor_read: PAYLOAD,
            max_read: None,
            only: None,
            rounds: if quick { 2 } else { 5 },
            idle: if quick { 200 } else { 1000 },
            values: if quick { 512 } else { 2048 },
            rate_time: Duration::from_secs(if quick { 1 } else { 3 }),
            rate_cap: if quick { 1000 } else { 6000 },
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut num = |name: &str| -> Result<usize, String> {
                it.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .ok_or_else(|| format!("{name} needs a positive number"))
            };
            match a.as_str() {
                "--quick" => {}
                "--split" => o.split = true,
                "--pin" => {
                    o.pin = Some(match it.next().map(String::as_str) {
                        Some("apart") => Pin::Apart,
                        Some("together") => Pin::Together,
                        _ => return Err("--pin needs apart or together".into()),
                    })
                }
                "--shared" => o.shared = true,
                "--no-recycle" => o.no_recycle = true,
                "--owned-anchor" => o.owned_anchor = true,
                "--anchor-read" => o.anchor_read = num("--anchor-read")?.max(1),
                "--rounds" => o.rounds = num("--rounds")?,
                "--idle" => o.idle = num("--idle")?,
                "--values" => o.values = num("--values")?,
                "--max-read" => o.max_read = Some(num("--max-read")?),
                "--side" => {
                    o.side = Some(match it.next().map(String::as_str) {
                        Some("guls") => "guls",
                        Some("tcp") => "tcp",
                        _ => return Err("--side needs guls or tcp".into()),
                    })
                }
                "--only" => {
                    o.only = Some(match it.next().map(String::as_str) {
                        Some("memory") => Section::Memory,
                        Some("rate") => Section::Rate,
                        Some("throughput") => Section::Throughput,
                        _ => return Err("--only needs memory, rate or throughput".into()),
                    })
                }
                "-h" | "--help" => {
                    return Err(
                        "usage: assoc_load [--quick] [--only memory|rate|throughput] \
                         [--rounds N] [--idle N] [--values N] [--split] [--shared] \
                         [--max-read N] [--side guls|tcp] [--owned-anchor] [--anchor-read N] \
                         [--pin apart|together] [--no-recycle]"
                            .into(),
                    );
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(o)
    }

    fn wants(&self, s: Section) -> bool {
        self.only.is_none_or(|o| o == s)
    }
}

fn app_context() -> Oid {
    Oid::from_arcs(&[1, 3, 9999, 4, 1]).expect("valid OID")
}

fn app_syntax() -> Oid {
    Oid::from_arcs(&[1, 3, 9999, 4, 2]).expect("valid OID")
}

fn config() -> AssociationConfig {
    let mut c = AssociationConfig::single(app_context(), app_syntax());
    // The load generator, not the responder's admission limit, bounds the load.
    c.limits.max_associations = 1 << 20;
    c
}

fn main() {
    let opts = match Opts::parse() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let runtime = |workers: Option<usize>, name: &str, core: Option<usize>| {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if let Some(w) = workers {
            b.worker_threads(w);
        }
        if let Some(id) = core.and_then(|i| cores.get(i).copied()) {
            b.on_thread_start(move || {
                if !core_affinity::set_for_current(id) {
                    eprintln!("assoc_load: could not pin a thread to core {}", id.id);
                }
            });
        }
        b.thread_name(name)
            .enable_all()
            .build()
            .expect("tokio runtime")
    };
    let rt = runtime(None, "load", None);
    let workers = rt.metrics().num_workers();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "assoc_load: {} mode, tokio multi-thread runtime with {workers} workers, {cpus} CPUs, \
         open-files limit {}",
        if opts.quick { "quick" } else { "full" },
        open_files_limit().map_or("unknown".into(), |n| n.to_string()),
    );
    // Every section runs as a spawned task (none on the thread of block_on). With --split,
    // the throughput section's sending side (application task and initiator driver, TCP
    // writer) runs in a runtime of one worker and its receiving side (responder driver and
    // sink, TCP sink) in another: one thread per side, as two processes would have.
    // `--pin`: the sender on the first core; the receiver on the second (apart) or the first.
    let (sender_core, receiver_core) = match opts.pin {
        None => (None, None),
        Some(Pin::Apart) => (Some(0), Some(1)),
        Some(Pin::Together) => (Some(0), Some(0)),
    };
    if opts.pin.is_some() && (!opts.split || cores.len() < 2) {
        eprintln!("assoc_load: --pin needs --split and two cores");
        std::process::exit(2);
    }
    let split = opts.split.then(|| {
        (
            runtime(Some(1), "sender", sender_core),
            runtime(Some(1), "receiver", receiver_core),
        )
    });
    let mut failed = false;
    let mut run = |name: &str, on: &tokio::runtime::Runtime, section| {
        let o = opts.clone();
        let receiver = split
            .as_ref()
            .map_or_else(|| rt.handle().clone(), |(_, r)| r.handle().clone());
        let task = on.spawn(async move {
            match section {
                Section::Memory => memory(&o).await,
                Section::Rate => rate(&o).await,
                Section::Throughput => throughput(&o, receiver).await,
            }
            .map_err(|e| e.to_string())
        });
        match on.block_on(task) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                println!("{name}: FAILED: {e}");
                failed = true;
            }
            Err(e) => {
                println!("{name}: FAILED: {e}");
                failed = true;
            }
        }
    };
    if opts.wants(Section::Memory) {
        run("memory", &rt, Section::Memory);
    }
    if opts.wants(Section::Rate) {
        run("rate", &rt, Section::Rate);
    }
    if opts.wants(Section::Throughput) {
        run(
            "throughput",
            split.as_ref().map_or(&rt, |(s, _)| s),
            Section::Throughput,
        );
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    if let Some((s, r)) = split {
        s.shutdown_timeout(Duration::from_secs(2));
        r.shutdown_timeout(Duration::from_secs(2));
    }
    if failed {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Memory per idle association

/// `VmRSS` and `RssAnon` of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

/// The soft limit on open files, from `/proc/self/limits`.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// CPU time (user + system) used so far by the live threads of this process: the sum of
/// `se.sum_exec_runtime` over `/proc/self/task/*/sched`. Less sensitive than wall-clock time
/// to other processes competing for the CPUs.
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

async fn open_pairs(
    responder: Arc<Responder>,
    n: usize,
) -> Result<(Vec<Association>, Vec<Association>), BoxError> {
    let addr = responder.local_addr();
    let accepting = tokio::spawn(async move {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let inc = responder.accept().await?;
            out.push(inc.accept(AcceptParams::default()).await?);
        }
        Ok::<_, AssociationError>(out)
    });
    let initiator = Arc::new(Initiator::new(config()));
    let gate = Arc::new(Semaphore::new(OPEN_CONCURRENCY));
    let mut set = JoinSet::new();
    for _ in 0..n {
        let (initiator, gate) = (initiator.clone(), gate.clone());
        set.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            initiator.connect(addr, AssociateParams::default()).await
        });
    }
    let mut initiators = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        initiators.push(r??);
    }
    let responders = timeout(SAFETY, accepting).await???;
    Ok((initiators, responders))
}

async fn memory(opts: &Opts) -> Result<(), BoxError> {
    let mut n = opts.idle;
    if let Some(limit) = open_files_limit() {
        // Two sockets per association, plus headroom for the listener and the runtime.
        let fit = limit.saturating_sub(64) / 2;
        if n > fit {
            println!("memory: open-files limit {limit}: lowering N from {n} to {fit}");
            n = fit;
        }
    }
    let responder = Arc::new(Responder::bind("127.0.0.1:0", config()).await?);
    // Warm-up: a few associations opened and released, so that lazily created runtime and
    // allocator state is not counted.
    {
        let (i, r) = open_pairs(responder.clone(), 4).await?;
        release_all(i, r).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss0, anon0) = rss_kib();
    let t = Instant::now();
    let (initiators, responders) = open_pairs(responder.clone(), n).await?;
    let open_time = t.elapsed();
    // Let every association settle (no task reads an idle association: its handle does,
    // when called).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss1, anon1) = rss_kib();
    let per = |a: u64, b: u64| (b.saturating_sub(a) as f64) * 1024.0 / n as f64;
    println!(
        "memory: {n} idle associations (both ends in this process: {} sockets, initiator + \
         responder state) opened in {:.2} s",
        2 * n,
        open_time.as_secs_f64()
    );
    println!(
        "memory:   VmRSS   {rss0} KiB -> {rss1} KiB: {:.0} B per association (both ends)",
        per(rss0, rss1)
    );
    println!(
        "memory:   RssAnon {anon0} KiB -> {anon1} KiB: {:.0} B per association (both ends)",
        per(anon0, anon1)
    );
    println!(
        "memory:   live associations at the responder: {}",
        responder.live_associations()
    );
    // Release them all so that the process ends cleanly.
    let t = Instant::now();
    let release_failures = release_all(initiators, responders).await;
    let release_time = t.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss2, _) = rss_kib();
    println!(
        "memory:   after releasing them all ({:.2} s, {release_failures} failures): VmRSS {rss2} KiB",
        release_time.as_secs_f64()
    );
    Ok(())
}

/// Answers the release of a responder-side association.
async fn answer_release(mut resp: Association) -> Result<(), AssociationError> {
    loop {
        match resp.recv().await {
            Ok(AssociationEvent::ReleaseIndication { .. }) => {
                resp.release_response(Vec::new()).await?
            }
            Ok(AssociationEvent::Released) | Err(AssociationError::Closed) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Releases every initiator-side association (at most `OPEN_CONCURRENCY` at once) while
/// every responder-side one answers (the two lists are not in the same order); returns the
/// number of failures.
async fn release_all(initiators: Vec<Association>, responders: Vec<Association>) -> usize {
    let mut answers = JoinSet::new();
    for r in responders {
        answers.spawn(timeout(SAFETY, answer_release(r)));
    }
    let gate = Arc::new(Semaphore::new(OPEN_CONCURRENCY));
    let mut releases = JoinSet::new();
    for mut a in initiators {
        let gate = gate.clone();
        releases.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            match timeout(SAFETY, a.release()).await {
                Ok(Ok(_)) => Ok(()),
                _ => Err(()),
            }
        });
    }
    let mut failures = 0;
    while let Some(r) = releases.join_next().await {
        failures += usize::from(!matches!(r, Ok(Ok(()))));
    }
    while let Some(r) = answers.join_next().await {
        failures += usize::from(!matches!(r, Ok(Ok(Ok(())))));
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// Associations per second

/// Accepts every association and answers its release (one task per association).
async fn serve_release(responder: Arc<Responder>) {
    while let Ok(inc) = responder.accept().await {
        tokio::spawn(async move {
            let Ok(mut a) = inc.accept(AcceptParams::default()).await else {
                return;
            };
            while let Ok(ev) = a.recv().await {
                match ev {
                    AssociationEvent::ReleaseIndication { .. } => {
                        if a.release_response(Vec::new()).await.is_err() {
                            return;
                        }
                    }
                    AssociationEvent::Data(_) => {}
                    _ => return,
                }
            }
        });
    }
}

/// The anchor's server: three 32-octet echoes, then reads to the end of stream.
async fn serve_ping(listener: TcpListener) {
    while let Ok((mut s, _)) = listener.accept().await {
        tokio::spawn(async move {
            s.set_nodelay(true)?;
            let mut b = [0u8; PING];
            for _ in 0..ANCHOR_ROUND_TRIPS {
                s.read_exact(&mut b).await?;
                s.write_all(&b).await?;
            }
            while s.read(&mut b).await? > 0 {}
            Ok::<(), std::io::Error>(())
        });
    }
}

async fn anchor_once(addr: SocketAddr) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut b = [7u8; PING];
    for _ in 0..ANCHOR_ROUND_TRIPS {
        s.write_all(&b).await?;
        s.read_exact(&mut b).await?;
    }
    Ok(())
}

#[derive(Default)]
struct WorkerResult {
    latencies: Vec<Duration>,
    failures: usize,
    first_error: Option<String>,
}

/// Runs `once` in `concurrency` workers until `cap` attempts in all or `time` elapsed.
async fn drive<F, Fut, E>(
    concurrency: usize,
    cap: usize,
    time: Duration,
    once: F,
) -> (WorkerResult, Duration, Duration)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    let per_worker = cap.div_ceil(concurrency);
    let cpu0 = cpu_time();
    let start = Instant::now();
    let deadline = start + time;
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let once = once.clone();
        set.spawn(async move {
            let mut w = WorkerResult::default();
            while w.latencies.len() + w.failures < per_worker && Instant::now() < deadline {
                let t = Instant::now();
                match timeout(SAFETY, once()).await {
                    Ok(Ok(())) => w.latencies.push(t.elapsed()),
                    Ok(Err(e)) => {
                        w.failures += 1;
                        w.first_error.get_or_insert_with(|| e.to_string());
                    }
                    Err(_) => {
                        w.failures += 1;
                        w.first_error.get_or_insert_with(|| "safety timeout".into());
                    }
                }
            }
            w
        });
    }
    let mut all = WorkerResult::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(w) => {
                all.latencies.extend(w.latencies);
                all.failures += w.failures;
                if all.first_error.is_none() {
                    all.first_error = w.first_error;
                }
            }
            Err(e) => {
                all.failures += 1;
                all.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (all, start.elapsed(), cpu_time().saturating_sub(cpu0))
}

fn report_rate(
    label: &str,
    concurrency: usize,
    (mut r, elapsed, cpu): (WorkerResult, Duration, Duration),
) -> (f64, f64) {
    r.latencies.sort_unstable();
    let pct = |p: f64| {
        r.latencies
            .get(((r.latencies.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let rate = r.latencies.len() as f64 / elapsed.as_secs_f64();
    let cpu_us = cpu.as_secs_f64() * 1e6 / r.latencies.len().max(1) as f64;
    println!(
        "rate: {label:<6} c={concurrency:<3} {:>6} done in {:.2} s = {rate:>8.0}/s   \
         CPU {cpu_us:>5.0} us each   latency p50 {:.3} ms p99 {:.3} ms max {:.3} ms   \
         failures {}{}",
        r.latencies.len(),
        elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        r.failures,
        r.first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
    );
    (rate, cpu_us)
}

async fn rate(opts: &Opts) -> Result<(), BoxError> {
    let responder = Arc::new(Responder::bind("127.0.0.1:0", config()).await?);
    let addr = responder.local_addr();
    let server = tokio::spawn(serve_release(responder.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let anchor_addr = listener.local_addr()?;
    let anchor_server = tokio::spawn(serve_ping(listener));
    let initiator = Arc::new(Initiator::new(config()));
    println!(
        "rate: associate + release (guls) vs TCP connect + {ANCHOR_ROUND_TRIPS} x {PING}-octet \
         round trips + close (tcp); at most {} per level or {:.0} s; CPU = this process's \
         (both ends), per completed one",
        opts.rate_cap,
        opts.rate_time.as_secs_f64()
    );
    let guls_once = move || {
        let initiator = initiator.clone();
        async move {
            let mut a = initiator.connect(addr, AssociateParams::default()).await?;
            a.release().await.map(drop)
        }
    };
    let tcp_once = move || anchor_once(anchor_addr);
    // Warm-up (not reported).
    let _ = drive(4, 50, opts.rate_time, guls_once.clone()).await;
    let _ = drive(4, 50, opts.rate_time, tcp_once).await;
    for c in [1, 8, 64] {
        let g = report_rate(
            "guls",
            c,
            drive(c, opts.rate_cap, opts.rate_time, guls_once.clone()).await,
        );
        let t = report_rate(
            "tcp",
            c,
            drive(c, opts.rate_cap, opts.rate_time, tcp_once).await,
        );
        if t.0 > 0.0 && g.1 > 0.0 {
            println!(
                "rate:        c={c:<3} guls/tcp rate = {:.2}   tcp CPU / guls CPU = {:.2}",
                g.0 / t.0,
                t.1 / g.1
            );
        }
    }
    let counters = responder.counters();
    println!("rate: responder counters: {counters:?}");
    server.abort();
    anchor_server.abort();
    responder.shutdown();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// P-DATA throughput

/// The guls sink: counts `per_round` values of PAYLOAD octets, then answers one small value.
/// With `recycle`, each value's buffer is handed back for the next values.
async fn guls_sink(
    mut a: Association,
    per_round: usize,
    recycle: bool,
) -> Result<u64, AssociationError> {
    let syntax = app_syntax();
    let (mut count, mut bytes, mut wrong) = (0usize, 0u64, 0u64);
    loop {
        match a.recv().await? {
            AssociationEvent::Data(d) => {
                let len = d.value.data_len();
                bytes += len as u64;
                if len != PAYLOAD {
                    wrong += 1;
                }
                if recycle {
                    a.recycle(d.into_octets());
                }
                count += 1;
                if count == per_round {
                    count = 0;
                    a.send(&syntax, PdvValue::OctetAligned(vec![1])).await?;
                }
            }
            AssociationEvent::ReleaseIndication { .. } => a.release_response(Vec::new()).await?,
            _ => {
                if wrong > 0 {
                    eprintln!("throughput: the sink saw {wrong} values of a wrong size");
                }
                return Ok(bytes);
            }
        }
    }
}

/// The TCP sink: reads `per_round * PAYLOAD` octets into one reused buffer, answers one
/// octet, until the end of stream. With `owned`, it instead reads each PAYLOAD-octet
/// message into a new `Vec` of its own (what the guls sink gets: one owned value per
/// message), so that both sinks allocate and fill one buffer per value.
async fn tcp_sink(
    listener: TcpListener,
    per_round: usize,
    owned: bool,
    read_size: usize,
) -> std::io::Result<u64> {
    let (mut s, _) = listener.accept().await?;
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; read_size];
    let (mut got, mut total) = (0usize, 0u64);
    loop {
        let n = if owned {
            let mut v = Vec::with_capacity(PAYLOAD);
            while v.len() < PAYLOAD {
                if s.read_buf(&mut v).await? == 0 {
                    return Ok(total + v.len() as u64);
                }
            }
            black_box(&v);
            v.len()
        } else {
            s.read(&mut buf).await?
        };
        if n == 0 {
            return Ok(total);
        }
        got += n;
        total += n as u64;
        if got == per_round * PAYLOAD {
            got = 0;
            s.write_all(&[1]).await?;
        }
    }
}

/// Wall-clock and CPU time of one measurement.
type Timing = (Duration, Duration);

async fn guls_round(
    a: &mut Association,
    payload: &Arc<[u8]>,
    n: usize,
    shared: bool,
) -> Result<Timing, BoxError> {
    let syntax = app_syntax();
    let cpu = cpu_time();
    let t = Instant::now();
    for _ in 0..n {
        if shared {
            // The same buffer for every value, as the anchor's `write_all`s.
            a.send_octets(&syntax, payload.clone()).await?;
        } else {
            // `send` takes the value by value: the application hands over a Vec per value.
            a.send(&syntax, PdvValue::OctetAligned(payload.to_vec()))
                .await?;
        }
    }
    match a.recv().await? {
        AssociationEvent::Data(_) => Ok((t.elapsed(), cpu_time().saturating_sub(cpu))),
        other => Err(format!("unexpected event {other:?}").into()),
    }
}

async fn tcp_round(s: &mut TcpStream, payload: &[u8], n: usize) -> Result<Timing, BoxError> {
    let cpu = cpu_time();
    let t = Instant::now();
    for _ in 0..n {
        s.write_all(payload).await?;
    }
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).await?;
    Ok((t.elapsed(), cpu_time().saturating_sub(cpu)))
}

fn mbps(n: usize, d: Duration) -> f64 {
    (n * PAYLOAD) as f64 / 1e6 / d.as_secs_f64()
}

fn summary(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let median = s.get(s.len() / 2).copied().unwrap_or(0.0);
    (
        s.first().copied().unwrap_or(0.0),
        median,
        s.last().copied().unwrap_or(0.0),
    )
}

/// Throughput, with the receiving side (responder and TCP sink, bound there so that their
/// sockets and the tasks driving them belong to it) spawned on `receiver`.
async fn throughput(opts: &Opts, receiver: tokio::runtime::Handle) -> Result<(), BoxError> {
    let n = opts.values;
    let payload: Arc<[u8]> = (0..PAYLOAD).map(|i| (i % 251) as u8).collect();
    let mut cfg = config();
    if let Some(m) = opts.max_read {
        cfg.limits.max_read = m;
    }
    let sink_cfg = cfg.clone();
    let owned_anchor = opts.owned_anchor;
    let anchor_read = opts.anchor_read;
    let recycle = !opts.no_recycle;

    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let sink = receiver.spawn(async move {
        let responder = Responder::bind("127.0.0.1:0", sink_cfg).await?;
        let _ = addr_tx.send(responder.local_addr());
        let a = responder
            .accept()
            .await?
            .accept(AcceptParams::default())
            .await?;
        guls_sink(a, n, recycle).await
    });
    let addr = timeout(SAFETY, addr_rx).await??;
    let mut assoc = Initiator::new(cfg)
        .connect(addr, AssociateParams::default())
        .await?;

    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let tcp_sink = receiver.spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let _ = addr_tx.send(listener.local_addr()?);
        tcp_sink(listener, n, owned_anchor, anchor_read).await
    });
    let tcp_addr = timeout(SAFETY, addr_rx).await??;
    let mut tcp = TcpStream::connect(tcp_addr).await?;
    tcp.set_nodelay(true)?;

    println!(
        "throughput: {n} values of {PAYLOAD} octets per measurement, one sender, sink \
         receiver answering once per measurement; {} rounds after one warm-up round; \
         MB = 10^6 octets of payload; guls sends {}; the guls sink {}; the tcp sink reads \
         into {}; {}",
        opts.rounds,
        if opts.shared {
            "one shared Arc<[u8]> (send_octets, no copy)"
        } else {
            "a new Vec per value (send)"
        },
        if recycle {
            "recycles its values' buffers"
        } else {
            "drops its values (--no-recycle)"
        },
        if opts.owned_anchor {
            "a new Vec per message (--owned-anchor)"
        } else {
            "one reused buffer"
        },
        if opts.split {
            "split: sending side and receiving side in two runtimes of one worker each"
        } else {
            "both sides in the one multi-thread runtime"
        }
    );
    let (mut g, mut t, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut gcpu, mut tcpu) = (Vec::new(), Vec::new());
    for round in 0..=opts.rounds {
        // Alternate the order so that neither side always runs first.
        let (do_guls, do_tcp) = (opts.side != Some("tcp"), opts.side != Some("guls"));
        let mut gd = None;
        let mut td = None;
        for first in [round % 2 == 0, round % 2 != 0] {
            if first && do_tcp {
                td = Some(timeout(SAFETY, tcp_round(&mut tcp, &payload, n)).await??);
            } else if !first && do_guls {
                gd =
                    Some(timeout(SAFETY, guls_round(&mut assoc, &payload, n, opts.shared)).await??);
            }
        }
        if let (Some(side), Some(d)) = (opts.side, gd.or(td)) {
            let c = d.1.as_secs_f64() * 1e9 / (n * PAYLOAD) as f64;
            println!(
                "throughput: round {round:<3} {side} only {:>7.0} MB/s   CPU ns/octet {c:.3}",
                mbps(n, d.0)
            );
            continue;
        }
        let (Some(gd), Some(td)) = (gd, td) else {
            continue;
        };
        let (gm, tm) = (mbps(n, gd.0), mbps(n, td.0));
        // CPU nanoseconds (both ends, this process) per payload octet.
        let per_octet = |c: Duration| c.as_secs_f64() * 1e9 / (n * PAYLOAD) as f64;
        let (gc, tc) = (per_octet(gd.1), per_octet(td.1));
        if round == 0 {
            println!("throughput: warm-up   guls {gm:>7.0} MB/s   tcp {tm:>7.0} MB/s");
            continue;
        }
        println!(
            "throughput: round {round:<3} guls {gm:>7.0} MB/s   tcp {tm:>7.0} MB/s   \
             ratio {:.3}   CPU ns/octet guls {gc:.3} tcp {tc:.3}",
            gm / tm
        );
        gcpu.push(gc);
        tcpu.push(tc);
        g.push(gm);
        t.push(tm);
        ratios.push(gm / tm);
    }
    if opts.side.is_some() {
        return Ok(());
    }
    let (gmin, gmed, gmax) = summary(&g);
    let (tmin, tmed, tmax) = summary(&t);
    let (rmin, rmed, rmax) = summary(&ratios);
    println!("throughput: guls MB/s  min {gmin:.0} median {gmed:.0} max {gmax:.0}");
    println!("throughput: tcp  MB/s  min {tmin:.0} median {tmed:.0} max {tmax:.0}");
    println!("throughput: guls/tcp   min {rmin:.3} median {rmed:.3} max {rmax:.3}");
    let (gc, tc) = (summary(&gcpu).1, summary(&tcpu).1);
    println!(
        "throughput: CPU ns per payload octet (both ends, this process), median: guls {gc:.3} \
         tcp {tc:.3}; tcp/guls {:.3}",
        tc / gc.max(1e-12)
    );

    // The harness's own per-value cost on the guls side: the Vec handed to `send` (not
    // made with --shared).
    let t0 = Instant::now();
    for _ in 0..n {
        black_box(black_box(&payload).to_vec());
    }
    let clone = t0.elapsed() / n as u32;
    let per_value = Duration::from_secs_f64(PAYLOAD as f64 / (gmed.max(1e-9) * 1e6));
    println!(
        "throughput: harness copy into the Vec given to send: {:.1} us per value \
         ({:.1}% of the median guls time per value, {:.1} us)",
        clone.as_secs_f64() * 1e6,
        100.0 * clone.as_secs_f64() / per_value.as_secs_f64(),
        per_value.as_secs_f64() * 1e6
    );

    timeout(SAFETY, assoc.release()).await??;
    drop(tcp);
    let sunk: u64 = timeout(SAFETY, sink).await???;
    let tcp_sunk = timeout(SAFETY, tcp_sink).await???;
    let expected = ((opts.rounds + 1) * n * PAYLOAD) as u64;
    if sunk != expected || tcp_sunk != expected {
        println!(
            "throughput: WARNING octets received: guls {sunk}, tcp {tcp_sunk}, expected \
             {expected}"
        );
    }
    Ok(())
}
