//! Full reads of a node's process table: every live process, each seen through a
//! [`ProcessView`] while its state is locked.
//!
//! A full read of 100,000 processes waits on memory, not on the CPU: each process's state is
//! seven or eight cache lines nobody has touched for a while. Two things make it fast
//! (BENCHMARKS.md, "Cold full read"):
//! - a visit asks for the processes a few places ahead to be loaded ([`super::prefetch`]),
//!   so that their cache misses overlap instead of being waited for one by one;
//! - a split visit shares the table between threads, each taking the next run of
//!   [`RUN`] processes until none is left, so a slow run (a supervisor with 100,000 links)
//!   does not hold the others back. Each run is read into its own output, and the outputs
//!   come back in the table's order: the result does not depend on the threads.
//!
//! The table stays read-locked for the whole visit: spawns and exits wait until it ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::pid::IdHash;
use super::process::{AnyProcess, ProcessView};

/// The process table: every live process by serial.
pub(crate) type Table = HashMap<u64, Arc<dyn AnyProcess>, IdHash>;

/// How many processes ahead a visit prefetches: enough for their loads to overlap (2, 4, 8,
/// 16 and 32 were tried; 8 to 16 read 100,000 processes fastest).
const PREFETCH_AHEAD: usize = 8;

/// How many processes a thread of a split visit takes at a time.
const RUN: usize = 1024;

/// Calls `f` with a view of each process of `table`, in the table's order.
pub(crate) fn visit_all(table: &Table, mut f: impl FnMut(&ProcessView<'_>)) {
    visit_run(&mut table.values(), table.len(), &mut f);
}

/// Visits the processes of `table` on `threads` threads (the caller's and `threads - 1`
/// scoped ones, no more than there are runs), taking runs of [`RUN`] processes until none
/// is left. Each thread has its own state, made by `thread_state`; each run goes into its
/// own `T`, made by `start` from the run's length. Gives the runs' `T`s in the table's
/// order, whichever thread read them. If the OS refuses a thread, the others do its share.
pub(crate) fn visit_split<S, T: Send>(
    table: &Table,
    threads: usize,
    thread_state: impl Fn() -> S + Sync,
    start: impl Fn(usize) -> T + Sync,
    f: impl Fn(&mut S, &mut T, &ProcessView<'_>) + Sync,
) -> Vec<T> {
    let threads = threads.min(table.len().div_ceil(RUN)).max(1);
    let next_run = AtomicUsize::new(0);
    // One thread's share: the runs it took, each with its index.
    let share = || {
        let mut state = thread_state();
        let mut runs = Vec::new();
        let mut processes = table.values();
        // Where `processes` stands in the table. Runs are claimed in increasing order, so
        // each thread only ever moves forward: its walk of the table is one pass.
        let mut position = 0;
        loop {
            let index = next_run.fetch_add(1, Ordering::Relaxed);
            let first = index.saturating_mul(RUN);
            if first >= table.len() {
                break runs;
            }
            if first > position {
                processes.nth(first - position - 1);
            }
            let count = RUN.min(table.len() - first);
            let mut out = start(count);
            visit_run(&mut processes, count, &mut |view| {
                f(&mut state, &mut out, view);
            });
            runs.push((index, out));
            position = first + count;
        }
    };
    let share = &share;
    let mut runs = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, share).ok())
            .collect();
        let mut runs = share();
        for helper in helpers {
            match helper.join() {
                Ok(theirs) => runs.extend(theirs),
                // The visitor panicked on a helper: as it would have on the caller's thread.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        runs
    });
    runs.sort_unstable_by_key(|(index, _)| *index);
    runs.into_iter().map(|(_, out)| out).collect()
}

/// Visits the next `count` processes of `processes`, prefetching ahead, and leaves the
/// iterator after them.
fn visit_run<'a, I>(processes: &mut I, count: usize, f: &mut impl FnMut(&ProcessView<'_>))
where
    I: Iterator<Item = &'a Arc<dyn AnyProcess>> + Clone,
{
    let mut ahead = processes.clone().take(count).skip(PREFETCH_AHEAD);
    for process in processes.take(count) {
        if let Some(next) = ahead.next() {
            next.prefetch();
        }
        let core = process.core();
        let state = core.state.lock();
        f(&core.view(&state, process.mailbox_len()));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::{Context, Inbox, Node, Pid};

    /// A node of `count` idle processes.
    async fn node_of(count: usize) -> Node {
        let node = Node::new("visit");
        for _ in 0..count {
            node.spawn(|_ctx: Context, mut inbox: Inbox<()>| async move {
                loop {
                    inbox.recv().await;
                }
                #[allow(unreachable_code)]
                ()
            });
        }
        node
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_split_visit_sees_every_process_once_in_the_order_of_a_plain_visit() {
        let node = node_of(3 * super::RUN + 17).await;
        let mut plain = Vec::new();
        node.introspect()
            .visit_processes(|view| plain.push(view.pid()));
        assert_eq!(plain.len(), 3 * super::RUN + 17);
        for threads in [1, 2, 4] {
            let runs = node.introspect().visit_processes_split(
                threads,
                || (),
                |len| (len, Vec::with_capacity(len)),
                |(), (_, pids): &mut (usize, Vec<Pid>), view| pids.push(view.pid()),
            );
            let lengths: Vec<usize> = runs
                .iter()
                .map(|(len, pids)| {
                    assert_eq!(*len, pids.len(), "each run is given its length");
                    pids.len()
                })
                .collect();
            assert_eq!(lengths, [super::RUN, super::RUN, super::RUN, 17]);
            let split: Vec<Pid> = runs.into_iter().flat_map(|(_, pids)| pids).collect();
            assert_eq!(split, plain, "{threads} threads");
        }
        let distinct: HashSet<Pid> = plain.iter().copied().collect();
        assert_eq!(distinct.len(), plain.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_split_visit_of_an_empty_node_gives_no_run() {
        let node = node_of(0).await;
        let runs = node.introspect().visit_processes_split(
            3,
            || (),
            |_| 0_usize,
            |(), seen, _| *seen += 1,
        );
        assert!(runs.is_empty());
    }
}
