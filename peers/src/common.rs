//! What every library's workloads share: the sizes, the count of live workers (how a workload
//! knows that everything started and everything was freed), the samples they give back, and
//! the runtime they run on.
//!
//! Every Rust library runs on a fresh tokio multi-thread runtime of 2 workers per sample (the
//! machine has 2 cores), and the timed code runs in a task on it, never on the main thread.

use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use tokio::sync::Notify;

use crate::alloc::live_bytes;

/// How big each workload is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    /// Rows 1–3: workers started under one supervisor, then stopped with it.
    pub(crate) workers: usize,
    /// Row 4: casts from one sender to one server.
    pub(crate) casts: usize,
    /// Row 4: how many senders cast to one server, together.
    pub(crate) senders: usize,
    /// Row 4: casts from each of those senders.
    pub(crate) casts_per_sender: usize,
    /// Row 5: calls, one after the other.
    pub(crate) calls: usize,
    /// Row 6: kills of a permanent worker, one after the other.
    pub(crate) restarts: usize,
    /// Row 7: processes in the ring.
    pub(crate) ring_processes: usize,
    /// Row 7: hops the token makes.
    pub(crate) ring_hops: usize,
    /// Row 8: workers killed under one one_for_one supervisor.
    pub(crate) storm_workers: usize,
    /// Timed samples of each workload (after one untimed warm-up round when `warm_up`).
    pub(crate) samples: usize,
    /// Whether one untimed round runs first.
    pub(crate) warm_up: bool,
}

impl Sizes {
    /// The sizes of the issue.
    pub(crate) fn full() -> Self {
        Self {
            workers: 100_000,
            casts: 1_000_000,
            senders: 100,
            casts_per_sender: 10_000,
            calls: 400000,
            restarts: 2_000,
            ring_processes: 10_000,
            ring_hops: 1_000_000,
            storm_workers: 10_000,
            samples: 5,
            warm_up: true,
        }
    }

    /// Small sizes for a smoke test: every workload and every check, in seconds.
    pub(crate) fn quick() -> Self {
        Self {
            workers: 2_000,
            casts: 20_000,
            senders: 100,
            casts_per_sender: 200,
            calls: 5_000,
            restarts: 100,
            ring_processes: 1_000,
            ring_hops: 20_000,
            storm_workers: 500,
            samples: 1,
            warm_up: false,
        }
    }
}

// === live workers ===

/// Workers whose state exists (initialised and not yet dropped), in every library.
static LIVE_WORKERS: AtomicIsize = AtomicIsize::new(0);

/// Woken when the last live worker is dropped.
static NO_LIVE_WORKERS: Notify = Notify::const_new();

/// A part of each worker's state: counts the worker live from its init to its drop.
#[derive(Debug)]
pub(crate) struct Live(());

impl Live {
    /// Counts one more live worker.
    pub(crate) fn new() -> Self {
        LIVE_WORKERS.fetch_add(1, Ordering::AcqRel);
        Self(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if LIVE_WORKERS.fetch_sub(1, Ordering::AcqRel) == 1 {
            NO_LIVE_WORKERS.notify_one();
        }
    }
}

/// Workers live now.
pub(crate) fn live_workers() -> isize {
    LIVE_WORKERS.load(Ordering::Acquire)
}

/// Waits until no worker is live; fails after `limit`.
pub(crate) async fn all_workers_freed(limit: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let notified = NO_LIVE_WORKERS.notified();
        if live_workers() == 0 {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            bail!(
                "{} workers still live {limit:?} after the stop",
                live_workers()
            );
        }
    }
}

/// Fails unless exactly `expected` workers are live.
pub(crate) fn ensure_live(expected: usize, what: &str) -> Result<()> {
    let live = live_workers();
    ensure!(
        live == expected as isize,
        "{what}: {live} workers live, expected {expected}"
    );
    Ok(())
}

// === samples ===

/// Rows 1–3 from one round: start the workers one at a time, weigh them, stop them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WorkersSample {
    /// Row 1: starting all of them, one after the other.
    pub(crate) start: Duration,
    /// Row 2: bytes live per idle worker, as the allocator sees them.
    pub(crate) bytes_per_worker: f64,
    /// Row 3: from the stop until the supervisor and every worker are gone.
    pub(crate) stop: Duration,
}

/// Measures memory around a round of rows 1–3: call [`Weigh::started`] once every worker
/// runs and [`Weigh::stopped`] once they are all freed.
pub(crate) struct Weigh {
    /// Bytes live before the first start.
    before: isize,
    /// Bytes live with every worker running.
    during: isize,
}

impl Weigh {
    /// Takes the baseline (after the supervisor started, before any worker).
    pub(crate) fn new() -> Self {
        Self {
            before: live_bytes(),
            during: 0,
        }
    }

    /// Takes the figure with every worker running.
    pub(crate) fn started(&mut self) {
        self.during = live_bytes();
    }

    /// The sample, once the stop is over.
    pub(crate) fn stopped(self, workers: usize, start: Duration, stop: Duration) -> WorkersSample {
        WorkersSample {
            start,
            bytes_per_worker: (self.during - self.before) as f64 / workers as f64,
            stop,
        }
    }
}

/// Times `work` from its first poll to its end.
pub(crate) async fn timed<T>(work: impl Future<Output = Result<T>>) -> Result<(T, Duration)> {
    let started = Instant::now();
    let value = work.await?;
    Ok((value, started.elapsed()))
}

// === the runtime ===

/// Runs `work` as a task on a fresh 2-worker tokio runtime and gives its result; the runtime
/// (and whatever the library left on it) is dropped before this returns.
pub(crate) fn on_fresh_runtime<T, F>(work: impl FnOnce() -> F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
    let future = {
        let _entered = runtime.enter();
        work()
    };
    let result = runtime
        .block_on(runtime.spawn(future))
        .context("the workload's task panicked")?;
    runtime.shutdown_timeout(Duration::from_secs(10));
    result
}

/// A deterministic shuffle (xorshift64*), so that every library kills the storm's workers in
/// the same "random" order.
pub(crate) fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let draw = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let j = (draw % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Checks the storm's reports: each worker came back exactly once, as a new incarnation.
pub(crate) fn ensure_each_back_once(back: &[u32], what: &str) -> Result<()> {
    if let Some(index) = back.iter().position(|&times| times != 1) {
        bail!(
            "{what}: worker {index} came back {} times, expected once",
            back[index]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_permutation() {
        let mut order = shuffled(1_000);
        assert_ne!(order, (0..1_000).collect::<Vec<_>>());
        order.sort_unstable();
        assert_eq!(order, (0..1_000).collect::<Vec<_>>());
    }

    #[test]
    fn shuffle_matches_the_beam_script() {
        // `Peers.shuffled(10)` in beam/peers.exs gives this order.
        assert_eq!(shuffled(10), vec![3, 7, 2, 6, 1, 8, 4, 9, 5, 0]);
    }
}
