//! A node: one runtime instance with its process table, name registry and event feed.
//!
//! Several nodes can live in one OS process (each test starts its own). A node runs its
//! processes on the tokio runtime it was created in; created outside any runtime, it starts
//! and owns a multi-threaded one. Pids are never reused within a node.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

use super::call_timer::CallTimer;
use super::context::{Addr, Context, Inbox, SpawnOptions, spawn_process, spawn_unnamed};
use super::error::{NoProc, RegisterError, SendError, StartError};
use super::exit::ExitReason;
use super::introspect::{DeadProcess, DirtyTracker, EventKind, EventLog, Introspect, ProcessInfo};
use super::pid::{MonitorRef, Pid};
use super::process::{AnyProcess, Cell, Life, Watcher};
use super::server::DEFAULT_CALL_TIMEOUT;
use super::visit::Table;

/// How many events the feed keeps.
const EVENT_CAPACITY: usize = 1 << 16;
/// How many recently dead processes are kept with their exit reason.
const RECENT_DEAD: usize = 1024;

static NEXT_NODE_ID: AtomicU32 = AtomicU32::new(1);

/// One runtime instance. Cheap to clone; every clone is the same node.
#[derive(Clone)]
pub struct Node {
    pub(crate) shared: Arc<NodeShared>,
    /// The runtime this node started because it was created outside one, kept alive as long
    /// as a user-held handle is.
    _owned_runtime: Option<Arc<OwnedRuntime>>,
}

/// What every process of a node shares.
pub(crate) struct NodeShared {
    /// Distinguishes this node's pids from other nodes' in the same OS process.
    pub(crate) id: u32,
    /// The node's name, for display.
    pub(crate) name: Arc<str>,
    /// Where processes are spawned.
    pub(crate) handle: Handle,
    /// The next pid serial; serial 0 is the node itself.
    next_serial: AtomicU64,
    /// The next monitor reference.
    next_ref: AtomicU64,
    /// Every live process by serial.
    pub(crate) table: RwLock<Table>,
    /// The most processes `table` has held since it last gave memory back (changed under its
    /// write lock).
    table_peak: AtomicUsize,
    /// Registered names.
    names: Mutex<HashMap<Arc<str>, Pid>>,
    /// The ordered event feed.
    pub(crate) events: EventLog,
    /// The last exits, newest last.
    pub(crate) recent_dead: Mutex<VecDeque<DeadProcess>>,
    /// When the node started.
    started_at: Instant,
    /// Which processes changed, while someone observes.
    pub(crate) tracker: Arc<DirtyTracker>,
    /// Dropped with the node: ends the task that holds its [`DeferredSweep`].
    _sweep_stop: oneshot::Sender<()>,
    /// The deadlines of calls to this node's servers that wait the default timeout.
    pub(crate) call_timer: Arc<CallTimer>,
}

struct OwnedRuntime(Option<Runtime>);

/// Drops the deferred tasks of a node's processes (servers that never got a message) when
/// the runtime shuts down, as the runtime drops the tasks it holds: a deferred task holds its
/// process's context, so without this the node and its processes would keep each other alive.
struct DeferredSweep(std::sync::Weak<NodeShared>);

impl Drop for DeferredSweep {
    fn drop(&mut self) {
        let Some(node) = self.0.upgrade() else {
            return;
        };
        let processes: Vec<Arc<dyn AnyProcess>> = node.table.read().values().cloned().collect();
        let tasks: Vec<_> = processes
            .iter()
            .filter_map(|process| process.take_deferred())
            .collect();
        drop(tasks);
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Node {
    /// Starts a node named `name`. Inside a tokio runtime the node uses it; outside one it
    /// starts its own multi-threaded runtime.
    pub fn new(name: &str) -> Self {
        let (handle, owned) = match Handle::try_current() {
            Ok(handle) => (handle, None),
            Err(_) => match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => (runtime.handle().clone(), Some(runtime)),
                Err(error) => {
                    // Without a runtime nothing can run; this only happens when the OS
                    // refuses threads.
                    panic!("otpscope: cannot start a tokio runtime: {error}")
                }
            },
        };
        let (sweep_stop, node_dropped) = oneshot::channel::<()>();
        let shared = Arc::new(NodeShared {
            id: NEXT_NODE_ID.fetch_add(1, Ordering::Relaxed),
            name: name.into(),
            handle,
            next_serial: AtomicU64::new(1),
            next_ref: AtomicU64::new(1),
            table: RwLock::new(HashMap::default()),
            table_peak: AtomicUsize::new(0),
            names: Mutex::new(HashMap::new()),
            events: EventLog::new(EVENT_CAPACITY),
            recent_dead: Mutex::new(VecDeque::new()),
            started_at: Instant::now(),
            tracker: Arc::new(DirtyTracker::new()),
            _sweep_stop: sweep_stop,
            call_timer: CallTimer::new(DEFAULT_CALL_TIMEOUT),
        });
        // Lives as long as the node, or the runtime's tasks if they go first: when the runtime
        // shuts down and drops its tasks, it drops the tasks still deferred too (see
        // `DeferredSweep`); a node dropped before that ends it.
        let sweep = DeferredSweep(Arc::downgrade(&shared));
        shared.handle.spawn(async move {
            let _sweep = sweep;
            node_dropped.await.ok();
        });
        Self {
            shared,
            _owned_runtime: owned.map(|rt| Arc::new(OwnedRuntime(Some(rt)))),
        }
    }

    pub(crate) fn from_shared(shared: Arc<NodeShared>) -> Self {
        Self {
            shared,
            _owned_runtime: None,
        }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The tokio runtime the node's processes run on.
    pub fn handle(&self) -> &Handle {
        &self.shared.handle
    }

    /// When the node started.
    pub fn started_at(&self) -> Instant {
        self.shared.started_at
    }

    /// The pid with this serial on this node (alive or not), for pids read as text.
    pub fn pid(&self, serial: u64) -> Pid {
        Pid::new(self.shared.id, serial)
    }

    /// Parses `<0.42.0>` as a pid of this node.
    pub fn parse_pid(&self, text: &str) -> Option<Pid> {
        Pid::parse_serial(text).map(|serial| self.pid(serial))
    }

    /// Spawns a process with no parent and no link. `f` gets the process's context and its
    /// mailbox; what it returns (`()`, an [`ExitReason`] or `Result<(), ExitReason>`) is the
    /// exit reason.
    pub fn spawn<M, F, Fut>(&self, f: F) -> Addr<M>
    where
        M: Send + 'static,
        F: FnOnce(Context, Inbox<M>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Into<ExitReason>,
    {
        spawn_unnamed(&self.shared, None, SpawnOptions::new(), f)
    }

    /// Spawns with options (a name, a label, trap_exit). Fails if the name is taken.
    pub fn spawn_opts<M, F, Fut>(&self, options: SpawnOptions, f: F) -> Result<Addr<M>, StartError>
    where
        M: Send + 'static,
        F: FnOnce(Context, Inbox<M>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Into<ExitReason>,
    {
        let options = SpawnOptions {
            link: false,
            ..options
        };
        spawn_process(&self.shared, None, options, f)
    }

    /// Sends an exit signal from the node itself (`<0.0.0>`): `kill` kills untrappably (the
    /// process dies with `killed`), `normal` is ignored unless the process traps exits, any
    /// other reason kills a process that does not trap exits and is a message for one that does.
    pub fn exit(&self, pid: Pid, reason: ExitReason) -> Result<(), NoProc> {
        let from = Pid::node_itself(self.shared.id);
        if self.shared.exit_signal(from, pid, reason, false) {
            Ok(())
        } else {
            Err(NoProc(pid))
        }
    }

    /// A typed handle to a live process whose message type is `M`.
    pub fn addr<M: Send + 'static>(&self, pid: Pid) -> Option<Addr<M>> {
        let process = self.shared.lookup(pid)?;
        let cell = process.into_any().downcast::<Cell<M>>().ok()?;
        Some(Addr::from_cell(cell))
    }

    /// Sends `message` to `pid` if it is alive and takes messages of type `M`.
    pub fn send<M: Send + 'static>(&self, pid: Pid, message: M) -> Result<(), SendError<M>> {
        match self.addr::<M>(pid) {
            Some(addr) => addr.send(message),
            None => Err(SendError(message)),
        }
    }

    /// Registers `name` for `pid`.
    pub fn register(&self, name: &str, pid: Pid) -> Result<(), RegisterError> {
        self.shared.register(name.into(), pid)
    }

    /// Removes a name; true if it was registered.
    pub fn unregister(&self, name: &str) -> bool {
        self.shared.unregister(name)
    }

    /// The pid registered under `name`.
    pub fn whereis(&self, name: &str) -> Option<Pid> {
        self.shared.names.lock().get(name).copied()
    }

    /// Whether `pid` is alive.
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.shared.lookup(pid).is_some_and(|p| p.core().is_alive())
    }

    /// Resolves when `pid` exits, with its exit reason (`noproc` at once if it is not alive).
    /// A monitor held by code outside any process.
    pub fn watch(&self, pid: Pid) -> Watch {
        self.shared.watch(pid)
    }

    /// What the runtime knows about one live process.
    pub fn process_info(&self, pid: Pid) -> Option<ProcessInfo> {
        let process = self.shared.lookup(pid)?;
        Some(process.core().info(process.mailbox_len()))
    }

    /// Every live process, by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let mut infos = self.infos();
        infos.sort_unstable_by_key(|info| info.pid);
        infos
    }

    /// Every live process's info, in no particular order.
    fn infos(&self) -> Vec<ProcessInfo> {
        let mut infos = Vec::with_capacity(self.process_count());
        self.introspect()
            .visit_processes(|view| infos.push(view.to_info()));
        infos
    }

    /// How many processes are alive.
    pub fn process_count(&self) -> usize {
        self.shared.table.read().len()
    }

    /// The observer's side of this node: full reads, the event feed, the change marks, state
    /// on demand and recent exits (see [`Introspect`]).
    pub fn introspect(&self) -> Introspect<'_> {
        Introspect::new(self)
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Node::watch`] and [`Context::watch`]: the watched process's exit
/// reason.
pub struct Watch {
    receiver: oneshot::Receiver<ExitReason>,
}

impl Future for Watch {
    type Output = ExitReason;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<ExitReason> {
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|r| r.unwrap_or(ExitReason::NoProc))
    }
}

// === impl NodeShared ===

impl NodeShared {
    pub(crate) fn next_serial(&self) -> u64 {
        self.next_serial.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_ref(&self) -> MonitorRef {
        MonitorRef(self.next_ref.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn lookup(&self, pid: Pid) -> Option<Arc<dyn AnyProcess>> {
        if pid.node_id() != self.id {
            return None;
        }
        self.table.read().get(&pid.serial()).cloned()
    }

    pub(crate) fn insert(&self, process: Arc<dyn AnyProcess>) {
        let serial = process.core().pid.serial();
        let mut table = self.table.write();
        table.insert(serial, process);
        // Under the write lock: a load and a store, not a read-modify-write on every spawn.
        if table.len() > self.table_peak.load(Ordering::Relaxed) {
            self.table_peak.store(table.len(), Ordering::Relaxed);
        }
    }

    pub(crate) fn remove(&self, pid: Pid) {
        let mut table = self.table.write();
        table.remove(&pid.serial());
        let mut peak = self.table_peak.load(Ordering::Relaxed);
        shrink_if_sparse(&mut table, &mut peak);
        self.table_peak.store(peak, Ordering::Relaxed);
    }

    pub(crate) fn register(&self, name: Arc<str>, pid: Pid) -> Result<(), RegisterError> {
        let Some(process) = self.lookup(pid) else {
            return Err(RegisterError::NoProc(pid));
        };
        let mut names = self.names.lock();
        if let Some(holder) = names.get(&name) {
            return Err(RegisterError::NameTaken {
                name,
                holder: *holder,
            });
        }
        let mut state = process.core().state.lock();
        // Erlang's `register` refuses a pid that is not alive, exiting included: a name given
        // to a process on its way out would outlive the process for a moment.
        if state.life != Life::Alive {
            return Err(RegisterError::NoProc(pid));
        }
        if let Some(existing) = &state.meta.name {
            return Err(RegisterError::AlreadyNamed {
                pid,
                name: existing.clone(),
            });
        }
        state.meta.name = Some(name.clone());
        drop(state);
        process.core().touch();
        names.insert(name, pid);
        Ok(())
    }

    pub(crate) fn unregister(&self, name: &str) -> bool {
        let Some(pid) = self.names.lock().remove(name) else {
            return false;
        };
        if let Some(process) = self.lookup(pid) {
            process.core().state.lock().meta.name = None;
            process.core().touch();
        }
        true
    }

    /// Releases a dead process's name, if it still holds it.
    pub(crate) fn release_name(&self, name: &str, pid: Pid) {
        let mut names = self.names.lock();
        if names.get(name) == Some(&pid) {
            names.remove(name);
        }
    }

    pub(crate) fn watch(&self, pid: Pid) -> Watch {
        let (sender, receiver) = oneshot::channel();
        match self.lookup(pid) {
            Some(process) => {
                let mut state = process.core().state.lock();
                if state.life == Life::Dead {
                    drop(state);
                    sender.send(ExitReason::NoProc).ok();
                } else {
                    let monitor = self.next_ref();
                    state
                        .monitored_by
                        .insert(monitor, Watcher::External(sender));
                }
            }
            None => {
                sender.send(ExitReason::NoProc).ok();
            }
        }
        Watch { receiver }
    }

    pub(crate) fn record_dead(&self, dead: DeadProcess) {
        let mut recent = self.recent_dead.lock();
        let oldest = if recent.len() == RECENT_DEAD {
            recent.pop_front()
        } else {
            None
        };
        recent.push_back(dead);
        drop(recent);
        drop(oldest);
    }

    pub(crate) fn event(&self, kind: EventKind) {
        self.events.push(kind, Instant::now());
    }

    /// [`event`](Self::event) with the time it happened, when the caller has read the clock.
    pub(crate) fn event_at(&self, kind: EventKind, at: Instant) {
        self.events.push(kind, at);
    }

    /// One event at `at`, or two that happened together, in order.
    pub(crate) fn events_at(&self, first: EventKind, second: Option<EventKind>, at: Instant) {
        self.events.push_pair(first, second, at);
    }
}

/// A table holds its capacity after its processes exit (a million buckets stopped left
/// 47 MiB): once it holds an eighth or less of the most it held (`peak`), it is brought down to
/// twice what it holds, and that becomes the new peak. Each shrink rehashes what is left, an
/// eighth of the peak at most, so a mass exit costs a constant more per removal, and a table
/// whose processes come and go never shrinks. (The peak is counted, not read off the table:
/// a hash table's spare capacity shrinks as removals leave tombstones.)
fn shrink_if_sparse<V, S: std::hash::BuildHasher>(
    table: &mut HashMap<u64, V, S>,
    peak: &mut usize,
) {
    if *peak > KEEP_CAPACITY && table.len() <= *peak / 8 {
        table.shrink_to((2 * table.len()).max(KEEP_CAPACITY));
        *peak = table.len();
    }
}

/// Below this capacity a process table is never shrunk: small tables cost nothing worth
/// giving back, and would churn.
const KEEP_CAPACITY: usize = 1 << 12;

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn a_table_emptied_by_exits_gives_its_capacity_back_and_a_busy_one_keeps_it() {
        let mut table = HashMap::<u64, u64, crate::pid::IdHash>::default();
        table.extend((0..100_000).map(|serial| (serial, serial)));
        let mut peak = table.len();
        let full = table.capacity();
        // Half gone: kept (the node is busy, its processes come and go).
        for serial in 0..50_000 {
            table.remove(&serial);
            shrink_if_sparse(&mut table, &mut peak);
        }
        assert_eq!(peak, 100_000, "not shrunk at half");
        // All but 100 gone: given back.
        for serial in 50_000..99_900 {
            table.remove(&serial);
            shrink_if_sparse(&mut table, &mut peak);
        }
        assert_eq!(table.len(), 100);
        assert!(
            table.capacity() <= 2 * KEEP_CAPACITY && table.capacity() < full / 8,
            "{} slots for 100 processes (was {full})",
            table.capacity()
        );
        assert!((99_900..100_000).all(|serial| table.get(&serial) == Some(&serial)));
    }
}
