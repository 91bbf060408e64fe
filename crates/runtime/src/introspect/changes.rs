//! Which processes changed since the observer last asked: each process marks itself when
//! something an observer sees of it changes, while an observer holds the node's one
//! [`ChangeTracking`]. An unobserved node pays one relaxed load per change.
//!
//! The marks are consumed by whoever takes them, so a node has at most one taker: the
//! [`ChangeTracking`] returned by [`Introspect::track_changes`](super::Introspect::track_changes),
//! which the snapshot stream's collector holds. A second tracker is refused instead of
//! silently stealing the first one's marks.
//!
//! # Why a mark is never lost
//!
//! A change and its mark race with the reader's reset of the mark: the writer changes, then
//! loads the mark (set already: nothing to do); the reader resets the mark, then reads. Either
//! the writer's load sees the reset (and marks again), or the reader's read sees the change.
//! That needs the two sides ordered, in one of two ways:
//! - [`DirtyTracker::mark`]: a `SeqCst` fence on each side (Dekker's pattern). For changes
//!   that are rare next to messages: links, monitors, exits, names, status outside a receive.
//! - [`DirtyTracker::mark_in_mailbox`]: no fence; the change and its mark are made under the
//!   process's mailbox lock, and the reader takes that lock after resetting the mark (see
//!   [`AnyProcess::sync_mailbox`](crate::process::AnyProcess::sync_mailbox)) and before it
//!   reads. The two critical sections are ordered: if the writer's comes first, the reader
//!   sees the change; if the reader's does, the reset happens before the writer's load. This
//!   is the path of every message sent and taken, where a fence on each was 15–25 % of a cast
//!   on an Intel Xeon (BENCHMARKS.md, "The observer's cost on casts").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::node::NodeShared;
use crate::pid::Pid;
use crate::process::{AnyProcess, ProcessView};

/// Which processes changed since the observer last asked, recorded only while the node's
/// [`ChangeTracking`] is held.
pub(crate) struct DirtyTracker {
    /// Whether a [`ChangeTracking`] is held: marks are only recorded then.
    held: AtomicBool,
    /// Pids marked since the last take, each once.
    dirty: Mutex<Vec<Pid>>,
}

impl DirtyTracker {
    pub(crate) fn new() -> Self {
        Self {
            held: AtomicBool::new(false),
            dirty: Mutex::new(Vec::new()),
        }
    }

    /// Marks `pid` changed, unless nobody observes or it is marked already (`flag` is the
    /// process's own mark).
    pub(crate) fn mark(&self, flag: &AtomicBool, pid: Pid) {
        if !self.held.load(Ordering::Relaxed) {
            return;
        }
        // Pairs with the fence in `ChangeTracking::take_*`: either this load sees the reset
        // mark and lists the process again, or the reader sees the change just made.
        std::sync::atomic::fence(Ordering::SeqCst);
        self.set(flag, pid);
    }

    /// [`mark`](Self::mark) for a change made under the process's mailbox lock, which the
    /// caller holds: the lock orders it against the reader (see the module's docs), so no
    /// fence.
    pub(crate) fn mark_in_mailbox(&self, flag: &AtomicBool, pid: Pid) {
        if !self.held.load(Ordering::Relaxed) {
            return;
        }
        self.set(flag, pid);
    }

    fn set(&self, flag: &AtomicBool, pid: Pid) {
        if flag.load(Ordering::Relaxed) || flag.swap(true, Ordering::AcqRel) {
            return;
        }
        self.dirty.lock().push(pid);
    }

    fn take(&self) -> Vec<Pid> {
        std::mem::take(&mut *self.dirty.lock())
    }

    pub(crate) fn is_tracking(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }
}

/// The node's change marks, held by one observer at a time: while it is alive, the node
/// records which processes change, and only its holder takes them. Dropping it stops the
/// cost (and unmarks everything, so a later holder hears of every process again).
pub struct ChangeTracking {
    node: Arc<NodeShared>,
}

impl ChangeTracking {
    /// Takes the node's marks; `None` if another holder has them.
    pub(crate) fn acquire(node: Arc<NodeShared>) -> Option<Self> {
        let free = node
            .tracker
            .held
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        // Lazily: a guard made and dropped here would release the holder's marks.
        free.then(|| Self { node })
    }

    /// The pids whose observable state changed (or that started or exited) since the last
    /// take, each once. A pid that is no longer alive has exited: see the event feed for why.
    pub fn take_changed(&self) -> Vec<Pid> {
        let pids = self.node.tracker.take();
        let table = self.node.table.read();
        let processes: Vec<_> = pids
            .iter()
            .filter_map(|pid| table.get(&pid.serial()))
            .collect();
        reset(&processes);
        pids
    }

    /// [`take_changed`](Self::take_changed) as borrowed views, in pid order: `f` gets each
    /// changed pid once, with a view of the process if it is still in the table (`None`: it
    /// has exited). Locks as [`Introspect::visit_processes`](super::Introspect::visit_processes)
    /// does, for the batch.
    pub fn take_changed_views(&self, mut f: impl FnMut(Pid, Option<&ProcessView<'_>>)) {
        let mut pids = self.node.tracker.take();
        pids.sort_unstable();
        pids.dedup();
        let table = self.node.table.read();
        let processes: Vec<_> = pids
            .into_iter()
            .map(|pid| (pid, table.get(&pid.serial())))
            .collect();
        let alive: Vec<_> = processes
            .iter()
            .filter_map(|(_, process)| *process)
            .collect();
        reset(&alive);
        for (pid, process) in processes {
            match process {
                Some(process) => {
                    let core = process.core();
                    let state = core.state.lock();
                    f(pid, Some(&core.view(&state, process.mailbox_len())));
                }
                None => f(pid, None),
            }
        }
    }
}

/// Resets the marks of `processes`, then orders the reads that follow after every change made
/// before the reset (see the module's docs): one fence for the batch, pairing with the fence in
/// [`DirtyTracker::mark`], then each mailbox's lock taken and released, pairing with
/// [`DirtyTracker::mark_in_mailbox`]. A change made after this is either seen by those reads
/// or marks its process again.
fn reset(processes: &[&std::sync::Arc<dyn AnyProcess>]) {
    for process in processes {
        process.core().dirty.store(false, Ordering::Release);
    }
    std::sync::atomic::fence(Ordering::SeqCst);
    for process in processes {
        process.sync_mailbox();
    }
}

impl Drop for ChangeTracking {
    fn drop(&mut self) {
        // Unlist everything, resetting each process's mark, so that a later holder hears of
        // those processes again; then let it take the marks.
        self.take_changed();
        self.node.tracker.held.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for ChangeTracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeTracking")
    }
}
