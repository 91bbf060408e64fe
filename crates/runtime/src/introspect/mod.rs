//! What the runtime keeps about its processes for observers, always on and cheap.
//!
//! Per process: what it is, where it sits in the tree, its links and monitors and its counters
//! ([`ProcessInfo`], read with [`Node::processes`](crate::Node::processes)). Per node:
//! an ordered feed of what happened ([`Event`]), a bounded ring read by sequence number, and
//! the last exits of recently dead processes. The snapshot stream builds on these without
//! touching the rest of the runtime.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime};

use crate::child_spec::{Restart, Shutdown};
use crate::error::CallError;
use crate::exit::ExitReason;
use crate::node::Node;
use crate::pid::{MonitorRef, Pid};
use crate::process::{ProcessView, StateReport, current_process};
use crate::server::DEFAULT_CALL_TIMEOUT;
use crate::supervisor::Strategy;
use crate::visit;

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
    /// A supervisor's restarts that count against its intensity, oldest first, as of its
    /// latest restart (those within `max_seconds` of now use up its budget); empty for others.
    pub recent_restarts: Vec<Instant>,
}

mod changes;
mod events;

pub use changes::ChangeTracking;
pub(crate) use changes::DirtyTracker;
pub(crate) use events::EventLog;
pub use events::{Event, EventKind, EventRead};

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

// === impl Introspect ===

/// What an observer reads of a node, apart from its OTP API: full reads of every process
/// (borrowed views, split between threads for a large node), the ordered event feed, the
/// change marks (held by one observer at a time), a server's state on demand, and the last
/// exits. Given by [`Node::introspect`]; the snapshot stream ([`observe`](crate::observe)) is
/// built on it.
#[derive(Clone, Copy)]
pub struct Introspect<'a> {
    node: &'a Node,
}

impl<'a> Introspect<'a> {
    pub(crate) fn new(node: &'a Node) -> Self {
        Self { node }
    }

    /// Calls `f` with a borrowed view of each live process, in no particular order: the
    /// cheapest full read (nothing is copied that `f` does not copy).
    ///
    /// The process table stays read-locked for the whole visit, and each process's state
    /// while `f` looks at it: sends, calls and signals go on meanwhile, but spawns and exits
    /// wait until the visit ends, so keep `f` short. `f` must not call back into the node
    /// (spawn, signal, look a process up): it would wait on the locks the visit holds.
    pub fn visit_processes(&self, f: impl FnMut(&ProcessView<'_>)) {
        visit::visit_all(&self.node.shared.table.read(), f);
    }

    /// [`visit_processes`](Self::visit_processes) shared between `threads` threads: the
    /// caller's and `threads - 1` scoped ones (no more than there are runs), each taking the
    /// next run of processes (a thousand or so) until none is left. Each thread has its own
    /// state, made by `thread_state` (a cache, say); each run is read into its own `T`, made
    /// by `start` from the run's length. `f` gets the thread's state, the run's `T` and the
    /// view. Gives the runs' `T`s in the table's order (the order `visit_processes` visits
    /// in), whichever thread read them.
    ///
    /// For a read of a large node (a cold snapshot of 100,000 processes waits on memory, and
    /// two threads wait in parallel): the table stays locked for a shorter time, at the cost
    /// of the threads' cores meanwhile. With `threads` at 1, or if the OS refuses threads,
    /// the caller does the work alone. The same rules as for `visit_processes` hold for `f`.
    pub fn visit_processes_split<S, T: Send>(
        &self,
        threads: usize,
        thread_state: impl Fn() -> S + Sync,
        start: impl Fn(usize) -> T + Sync,
        f: impl Fn(&mut S, &mut T, &ProcessView<'_>) + Sync,
    ) -> Vec<T> {
        visit::visit_split(
            &self.node.shared.table.read(),
            threads,
            thread_state,
            start,
            f,
        )
    }

    /// Events from sequence number `seq` on, at most `max`.
    pub fn events_since(&self, seq: u64, max: usize) -> EventRead {
        self.node.shared.events.read_since(seq, max)
    }

    /// The sequence number the next event will get.
    pub fn next_event_seq(&self) -> u64 {
        self.node.shared.events.next_seq()
    }

    /// How many events the feed keeps: a reader more than this many behind has missed some.
    pub fn event_capacity(&self) -> usize {
        self.node.shared.events.capacity()
    }

    /// Resolves once an event with sequence number `seq` or later exists.
    pub async fn wait_for_event(self, seq: u64) {
        self.node.shared.events.wait_past(seq).await;
    }

    /// Asks a live server (agent, supervisor) to describe its state. `Ok(None)` for a process
    /// that cannot describe itself (a plain process); errors if it is not alive or does not
    /// answer within 5 s.
    pub async fn describe(self, pid: Pid) -> Result<Option<StateReport>, CallError> {
        if current_process() == Some(pid) {
            return Err(CallError::CallingSelf(pid));
        }
        let process = self.node.shared.lookup(pid).ok_or(CallError::NoProc(pid))?;
        let Some(describer) = process.core().describer.get() else {
            return Ok(None);
        };
        let receiver = describer(process.clone().into_any()).ok_or(CallError::NoProc(pid))?;
        match tokio::time::timeout(DEFAULT_CALL_TIMEOUT, receiver).await {
            Ok(Ok(report)) => Ok(Some(report)),
            Ok(Err(_)) => {
                let reason = process.core().exit_reason.get().cloned();
                Err(CallError::Exited {
                    pid,
                    reason: reason.unwrap_or(ExitReason::NoProc),
                })
            }
            Err(_) => Err(CallError::Timeout {
                pid,
                timeout_ms: DEFAULT_CALL_TIMEOUT.as_millis() as u64,
            }),
        }
    }

    /// Whether some observer is tracking changes.
    pub fn is_tracking_changes(&self) -> bool {
        self.node.shared.tracker.is_tracking()
    }

    /// The last exits (at most 1,024), oldest first.
    pub fn recent_exits(&self) -> Vec<DeadProcess> {
        self.node
            .shared
            .recent_dead
            .lock()
            .iter()
            .cloned()
            .collect()
    }

    /// Takes the node's change marks: while the returned [`ChangeTracking`] lives, the node
    /// records which processes change, and only it takes them. `None` if another observer
    /// holds them (the snapshot stream holds them while anyone subscribes): a second taker
    /// would steal the first one's marks.
    pub fn track_changes(&self) -> Option<ChangeTracking> {
        ChangeTracking::acquire(self.node.shared.clone())
    }
}

impl std::fmt::Debug for Introspect<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Introspect({})", self.node.name())
    }
}
