//! Running one piece of an exchange step on another core while the caller goes on.
//!
//! A role machine's step is synchronous CPU work: on receiving the peer's item it validates
//! the peer's certification path and, independently of that, does its own part (key pair,
//! agreement, signature). With a core idle, the path validation can run there: the step's
//! latency is then the longer of the two parts, not their sum. With every core busy there is
//! nothing to gain and a thread hand-off to pay, so the work stays with the caller.
//!
//! A step takes this parallel course ([`parallel`]) when a helper thread is idle and no more
//! exchanges are under way in the process than it has cores ([`ExchangeGuard`]). [`offload`]
//! hands the job to a small pool of helper threads (one fewer than the cores, made on first
//! use). [`Offloaded::join`] returns the job's result: waiting for the helper that runs it, or
//! running it in the caller when no helper has begun it, so a job is never left waiting for a
//! busy pool. A job that panics panics again in the caller.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// Most helper threads, whatever the core count.
const MAX_HELPERS: usize = 8;

/// Whether a step may hand part of its work to another core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParallelChecks {
    /// When a helper thread is idle and no more exchanges are under way in the process than
    /// it has cores (the default): each exchange keeps at most one core busy, so then one is
    /// likely idle.
    #[default]
    WhenIdle,
    /// Never: every step runs on the caller's thread alone.
    Never,
    /// Always, however busy the process: the path goes to a helper if one is idle, and is
    /// validated by the caller after its own part otherwise (for tests and measurements: the
    /// parallel course is taken every time).
    Always,
}

/// A job's result, or the panic it raised.
type Outcome<T> = Result<T, Box<dyn Any + Send>>;

type Job<T> = Box<dyn FnOnce() -> T + Send>;

enum State<T> {
    /// Not begun: whoever takes it runs it.
    Waiting(Job<T>),
    /// A helper is running it.
    Running,
    Done(Outcome<T>),
    /// The result went to the caller, or the caller took the job back.
    Taken,
}

struct Slot<T> {
    state: Mutex<State<T>>,
    done: Condvar,
}

/// What the pool's queue holds: a slot of any result type.
trait Task: Send + Sync {
    fn run(&self);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn run_caught<T>(job: Job<T>) -> Outcome<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
}

impl<T: Send> Task for Slot<T> {
    fn run(&self) {
        let job = {
            let mut state = lock(&self.state);
            match std::mem::replace(&mut *state, State::Running) {
                State::Waiting(job) => job,
                other => {
                    // Taken back by the caller.
                    *state = other;
                    return;
                }
            }
        };
        let outcome = run_caught(job);
        *lock(&self.state) = State::Done(outcome);
        self.done.notify_one();
    }
}

struct Pool {
    queue: Mutex<VecDeque<Arc<dyn Task>>>,
    ready: Condvar,
    /// Helpers waiting for work.
    idle: AtomicUsize,
    /// The cores of this machine (at least 1).
    cores: usize,
}

/// Exchanges under way in this process (see [`ExchangeGuard`]).
static EXCHANGES: AtomicUsize = AtomicUsize::new(0);

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    static STARTED: OnceLock<()> = OnceLock::new();
    let pool = POOL.get_or_init(|| Pool {
        queue: Mutex::new(VecDeque::new()),
        ready: Condvar::new(),
        idle: AtomicUsize::new(0),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    });
    STARTED.get_or_init(|| {
        let helpers = pool.cores.saturating_sub(1).min(MAX_HELPERS);
        for i in 0..helpers {
            // A helper that cannot be made is one fewer; with none, nothing is handed over.
            let _ = std::thread::Builder::new()
                .name(format!("guls-check-{i}"))
                .spawn(move || helper(pool));
        }
    });
    pool
}

fn helper(pool: &'static Pool) {
    loop {
        let task = {
            let mut queue = lock(&pool.queue);
            loop {
                if let Some(t) = queue.pop_front() {
                    break t;
                }
                pool.idle.fetch_add(1, Ordering::SeqCst);
                queue = pool.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
                pool.idle.fetch_sub(1, Ordering::SeqCst);
            }
        };
        task.run();
    }
}

/// Counts an exchange (a role machine) as under way in this process while it lives.
pub(crate) struct ExchangeGuard(());

impl ExchangeGuard {
    pub(crate) fn new() -> Self {
        EXCHANGES.fetch_add(1, Ordering::Relaxed);
        ExchangeGuard(())
    }
}

impl Drop for ExchangeGuard {
    fn drop(&mut self) {
        EXCHANGES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A job handed to a helper thread.
pub(crate) struct Offloaded<T> {
    slot: Arc<Slot<T>>,
}

impl<T: Send + 'static> Offloaded<T> {
    /// The job's result: the helper's (waiting for it to finish), or, when no helper has
    /// begun the job, this thread's. A panic in the job is raised again here.
    pub(crate) fn join(self) -> T {
        let mut state = lock(&self.slot.state);
        loop {
            match std::mem::replace(&mut *state, State::Taken) {
                State::Waiting(job) => {
                    drop(state);
                    return finish(run_caught(job));
                }
                State::Done(outcome) => return finish(outcome),
                State::Running => {
                    *state = State::Running;
                    state = self
                        .slot
                        .done
                        .wait(state)
                        .unwrap_or_else(|p| p.into_inner());
                }
                State::Taken => unreachable!("a result is taken once, by join"),
            }
        }
    }
}

fn finish<T>(outcome: Outcome<T>) -> T {
    match outcome {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Whether a step in `mode` should take its parallel course now: with
/// [`ParallelChecks::WhenIdle`], when a helper is idle and the process is not busy.
pub(crate) fn parallel(mode: ParallelChecks) -> bool {
    match mode {
        ParallelChecks::Never => false,
        ParallelChecks::Always => true,
        ParallelChecks::WhenIdle => {
            let pool = pool();
            EXCHANGES.load(Ordering::Relaxed) <= pool.cores && pool.idle.load(Ordering::SeqCst) > 0
        }
    }
}

/// Hands `job` to a helper thread if one is idle; otherwise (or if none begins it before)
/// [`Offloaded::join`] runs it in the caller.
pub(crate) fn offload<T, F>(job: F) -> Offloaded<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Waiting(Box::new(job))),
        done: Condvar::new(),
    });
    let pool = pool();
    if pool.idle.load(Ordering::SeqCst) > 0 {
        lock(&pool.queue).push_back(slot.clone());
        pool.ready.notify_one();
    }
    Offloaded { slot }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_is_never_parallel_and_always_is() {
        assert!(!parallel(ParallelChecks::Never));
        assert!(parallel(ParallelChecks::Always));
    }

    #[test]
    fn results_come_back_whoever_runs_the_job() {
        // Many jobs at once: some run on helpers, some are taken back by the caller; every
        // result arrives once and in the right place.
        let work = |i: u64| (0..1000u64).fold(i, |a, x| a.wrapping_mul(31).wrapping_add(x));
        let handles: Vec<_> = (0..64u64).map(|i| (i, offload(move || work(i)))).collect();
        for (i, h) in handles {
            assert_eq!(h.join(), work(i));
        }
    }

    #[test]
    fn a_panicking_job_panics_in_the_caller_and_the_pool_goes_on() {
        for _ in 0..4 {
            let h = offload(|| -> u8 { panic!("job failed") });
            // Give a helper the chance to take it (or not: the caller runs it then).
            std::thread::sleep(std::time::Duration::from_millis(5));
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.join()));
            assert!(caught.is_err());
        }
        // The helpers still work.
        for i in 0..16u8 {
            assert_eq!(offload(move || i).join(), i);
        }
    }

    #[test]
    fn guards_count_exchanges_under_way() {
        let a = ExchangeGuard::new();
        let b = ExchangeGuard::new();
        assert!(EXCHANGES.load(Ordering::Relaxed) >= 2);
        drop((a, b));
    }
}
