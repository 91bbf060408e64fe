//! What the runtime keeps about its processes for observers, always on and cheap.
//!
//! Per process: what it is, where it sits in the tree, its links and monitors and its counters
//! ([`ProcessInfo`], read with [`Node::processes`](crate::runtime::Node::processes)). Per node:
//! an ordered feed of what happened ([`Event`]), a bounded ring read by sequence number, and
//! the last exits of recently dead processes. The snapshot stream builds on these without
//! touching the rest of the runtime.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::child_spec::{Restart, Shutdown};
use super::exit::ExitReason;
use super::pid::{MonitorRef, Pid};
use super::supervisor::Strategy;

/// The labels the runtime gives processes started without one. Each is one string shared by
/// every process that has it: 100,000 processes hold one allocation, and an observer reading
/// them all touches one cache line instead of 100,000. (Pass a shared `Arc<str>` to
/// [`SpawnOptions::label`](super::SpawnOptions::label) for the same saving with your own.)
pub(crate) static PROCESS_LABEL: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("process"));
/// See [`PROCESS_LABEL`].
pub(crate) static AGENT_LABEL: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("Agent"));
/// See [`PROCESS_LABEL`].
pub(crate) static SUPERVISOR_LABEL: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("Supervisor"));
/// See [`PROCESS_LABEL`].
pub(crate) static DYNAMIC_SUPERVISOR_LABEL: LazyLock<Arc<str>> =
    LazyLock::new(|| Arc::from("DynamicSupervisor"));

/// What a process is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessKind {
    /// A supervisor with a fixed list of child specs.
    Supervisor {
        /// How a child's exit affects its siblings.
        strategy: Strategy,
        /// At most this many restarts ...
        max_restarts: u32,
        /// ... within this many seconds, or the supervisor gives up.
        max_seconds: u32,
    },
    /// A dynamic supervisor (one_for_one, children started on demand).
    DynamicSupervisor {
        /// At most this many restarts ...
        max_restarts: u32,
        /// ... within this many seconds.
        max_seconds: u32,
        /// The most children it accepts, if limited.
        max_children: Option<usize>,
    },
    /// A gen-server-style server.
    Server,
    /// An agent (a server holding a state).
    Agent,
    /// A plain process spawned with a closure.
    Plain,
}

impl ProcessKind {
    /// True for supervisors and dynamic supervisors.
    pub fn is_supervisor(&self) -> bool {
        matches!(
            self,
            Self::Supervisor { .. } | Self::DynamicSupervisor { .. }
        )
    }
}

/// What a process is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Running or ready to run.
    Running,
    /// Blocked in receive with an empty mailbox.
    Waiting,
    /// An exit signal or a stop is ending it.
    Exiting,
    /// It has exited.
    Dead,
}

impl Status {
    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Running,
            1 => Self::Waiting,
            2 => Self::Exiting,
            _ => Self::Dead,
        }
    }
}

/// Everything an observer may know about one process at one moment.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: Pid,
    /// Its registered name, if any.
    pub name: Option<Arc<str>>,
    /// What it is.
    pub kind: ProcessKind,
    /// Its behaviour label, such as `KV.Bucket`.
    pub label: Arc<str>,
    /// The process that started it, if any.
    pub parent: Option<Pid>,
    /// The processes it started that are alive, in start order (a supervisor's in child-spec
    /// order).
    pub children: Vec<Pid>,
    /// Its child id under its supervisor.
    pub child_id: Option<Arc<str>>,
    /// Its restart type under its supervisor.
    pub restart: Option<Restart>,
    /// How its supervisor shuts it down.
    pub shutdown: Option<Shutdown>,
    /// What it is doing.
    pub status: Status,
    /// Whether exit signals arrive as messages.
    pub trap_exit: bool,
    /// The processes it is linked to, sorted.
    pub links: Vec<Pid>,
    /// The processes it monitors, with the monitor references.
    pub monitors: Vec<(MonitorRef, Pid)>,
    /// The processes that monitor it (observers outside any process are not listed).
    pub monitored_by: Vec<Pid>,
    /// Messages waiting in its mailbox.
    pub mailbox_len: usize,
    /// Messages it has taken from its mailbox so far.
    pub messages_handled: u64,
    /// How many times its supervisor has restarted this child id before this incarnation.
    pub restarts: u32,
    /// When it started.
    pub started_at: Instant,
}

/// One thing that happened on a node. Sequence numbers grow by one, with no gaps.
#[derive(Clone, Debug)]
pub struct Event {
    /// Position in the node's feed.
    pub seq: u64,
    /// When it happened (monotonic).
    pub at: Instant,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A process started.
    Spawned {
        /// The new process.
        pid: Pid,
        /// Who started it.
        parent: Option<Pid>,
        /// Its behaviour label.
        label: Arc<str>,
    },
    /// A process exited.
    Exited {
        /// The process.
        pid: Pid,
        /// Why.
        reason: ExitReason,
    },
    /// A supervisor restarted a child.
    Restarted {
        /// The supervisor.
        supervisor: Pid,
        /// The child id.
        child_id: Arc<str>,
        /// The incarnation that exited.
        old: Pid,
        /// The new incarnation.
        new: Pid,
    },
    /// Two processes were linked.
    Linked {
        /// One end.
        a: Pid,
        /// The other end.
        b: Pid,
    },
    /// A link was removed.
    Unlinked {
        /// One end.
        a: Pid,
        /// The other end.
        b: Pid,
    },
    /// A supervisor exceeded its restart intensity and shut down.
    SupervisorGaveUp {
        /// The supervisor.
        supervisor: Pid,
        /// The child whose exit went over the limit.
        child_id: Arc<str>,
        /// That child's exit reason.
        reason: ExitReason,
    },
}

/// A read from the event feed.
#[derive(Debug, Default)]
pub struct EventRead {
    /// Events from the asked sequence number on, in order.
    pub events: Vec<Event>,
    /// How many events between the asked sequence number and the first one returned were
    /// already dropped from the ring (the reader fell behind and should resync).
    pub missed: u64,
    /// The sequence number to ask for next.
    pub next_seq: u64,
}

/// The node's event feed: a bounded ring of the latest events.
pub(crate) struct EventLog {
    /// The ring and the sequence number of its first event.
    ring: Mutex<Ring>,
    /// Woken for readers that wait.
    notify: Notify,
    /// The lowest sequence number a reader waits for (`u64::MAX`: nobody waits): only the
    /// push that reaches it wakes anyone, so an event nobody waits for costs no lock besides
    /// the ring's, and a reader waiting for the ring to fill is woken once, not per event.
    wake_at: AtomicU64,
    /// How many events the ring keeps.
    capacity: usize,
}

struct Ring {
    events: VecDeque<Event>,
    first_seq: u64,
}

impl EventLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ring: Mutex::new(Ring {
                events: VecDeque::new(),
                first_seq: 0,
            }),
            notify: Notify::new(),
            wake_at: AtomicU64::new(u64::MAX),
            capacity,
        }
    }

    pub(crate) fn push(&self, kind: EventKind, at: Instant) {
        self.push_pair(kind, None, at);
    }

    /// Pushes one event, or two that happened together (in order), under one lock.
    pub(crate) fn push_pair(&self, first: EventKind, second: Option<EventKind>, at: Instant) {
        let mut ring = self.ring.lock();
        let dropped = (
            self.push_locked(&mut ring, first, at),
            second.and_then(|kind| self.push_locked(&mut ring, kind, at)),
        );
        let last_seq = ring.first_seq + ring.events.len() as u64 - 1;
        drop(ring);
        drop(dropped);
        // Pairs with the `fetch_min` in `wait_past`: a reader that registered after this load
        // reads the ring after this push, under its lock, and sees the event.
        if last_seq >= self.wake_at.load(Ordering::SeqCst) {
            self.wake_at.store(u64::MAX, Ordering::SeqCst);
            self.notify.notify_waiters();
        }
    }

    /// Appends to the ring; hands back the oldest event if the ring was full, to be dropped
    /// after the lock is released.
    fn push_locked(&self, ring: &mut Ring, kind: EventKind, at: Instant) -> Option<Event> {
        let seq = ring.first_seq + ring.events.len() as u64;
        let oldest = if ring.events.len() == self.capacity {
            ring.first_seq += 1;
            ring.events.pop_front()
        } else {
            None
        };
        ring.events.push_back(Event { seq, at, kind });
        oldest
    }

    pub(crate) fn read_since(&self, seq: u64, max: usize) -> EventRead {
        let ring = self.ring.lock();
        let next = ring.first_seq + ring.events.len() as u64;
        let start = seq.max(ring.first_seq);
        let missed = start - seq.min(start);
        let skip = (start - ring.first_seq) as usize;
        let events: Vec<Event> = ring.events.iter().skip(skip).take(max).cloned().collect();
        let next_seq = start + events.len() as u64;
        debug_assert!(next_seq <= next);
        EventRead {
            events,
            missed,
            next_seq,
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        let ring = self.ring.lock();
        ring.first_seq + ring.events.len() as u64
    }

    pub(crate) async fn wait_past(&self, seq: u64) {
        loop {
            // Created before the check, so a wake between the check and the await is kept.
            let notified = self.notify.notified();
            self.wake_at.fetch_min(seq, Ordering::SeqCst);
            if self.next_seq() > seq {
                return;
            }
            notified.await;
        }
    }

    /// How many events the ring keeps.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Which processes changed since an observer last asked, tracked only while some observer
/// holds a [`ChangeTracking`] guard, so an unobserved node pays one relaxed load per change.
pub(crate) struct DirtyTracker {
    /// How many guards are alive.
    observers: AtomicUsize,
    /// Pids marked since the last take, each once.
    dirty: Mutex<Vec<Pid>>,
}

impl DirtyTracker {
    pub(crate) fn new() -> Self {
        Self {
            observers: AtomicUsize::new(0),
            dirty: Mutex::new(Vec::new()),
        }
    }

    /// Marks `pid` changed, unless nobody observes or it is marked already (`flag` is the
    /// process's own mark).
    pub(crate) fn mark(&self, flag: &AtomicBool, pid: Pid) {
        if self.observers.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Pairs with the fence in `Node::take_changed*`: either this load sees the reset
        // mark and lists the process again, or the reader sees the change just made.
        std::sync::atomic::fence(Ordering::SeqCst);
        if flag.load(Ordering::Relaxed) || flag.swap(true, Ordering::AcqRel) {
            return;
        }
        self.dirty.lock().push(pid);
    }

    pub(crate) fn take(&self) -> Vec<Pid> {
        std::mem::take(&mut *self.dirty.lock())
    }

    pub(crate) fn is_tracking(&self) -> bool {
        self.observers.load(Ordering::Relaxed) > 0
    }
}

/// While alive, the node records which processes change (see
/// [`Node::take_changed`](crate::runtime::Node::take_changed)). Dropping it stops the cost.
pub struct ChangeTracking {
    pub(crate) node: Arc<super::node::NodeShared>,
}

impl ChangeTracking {
    pub(crate) fn new(node: Arc<super::node::NodeShared>) -> Self {
        node.tracker.observers.fetch_add(1, Ordering::AcqRel);
        Self { node }
    }
}

impl Drop for ChangeTracking {
    fn drop(&mut self) {
        if self.node.tracker.observers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Unlist everything, resetting each process's mark, so that a later observer
            // hears of those processes again.
            self.node.take_changed();
        }
    }
}

impl std::fmt::Debug for ChangeTracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeTracking")
    }
}

/// The end of a process that died recently, kept so an observer that looks late still sees
/// why it exited.
#[derive(Clone, Debug)]
pub struct DeadProcess {
    /// What the process was just before it exited.
    pub info: ProcessInfo,
    /// Why it exited.
    pub reason: ExitReason,
    /// When it exited.
    pub died_at: Instant,
}

/// Wall-clock time for an [`Instant`], for display.
pub fn wall_clock(at: Instant) -> SystemTime {
    let now = Instant::now();
    let system_now = SystemTime::now();
    if at <= now {
        system_now - (now - at)
    } else {
        system_now + (at - now)
    }
}

/// Uptime of a process, or time since an event.
pub fn elapsed_since(at: Instant) -> Duration {
    Instant::now().saturating_duration_since(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(serial: u64) -> EventKind {
        EventKind::Exited {
            pid: Pid::new(1, serial),
            reason: ExitReason::Normal,
        }
    }

    #[test]
    fn event_ring_drops_oldest_and_reports_what_a_reader_missed() {
        let log = EventLog::new(4);
        for serial in 0..6 {
            log.push(exit(serial), Instant::now());
        }
        let read = log.read_since(0, 100);
        assert_eq!(read.missed, 2);
        assert_eq!(
            read.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        assert_eq!(read.next_seq, 6);
        let read = log.read_since(5, 100);
        assert_eq!((read.missed, read.events.len(), read.next_seq), (0, 1, 6));
        let read = log.read_since(6, 100);
        assert_eq!((read.missed, read.events.len(), read.next_seq), (0, 0, 6));
        let read = log.read_since(2, 2);
        assert_eq!(read.next_seq, 4);
    }
}
