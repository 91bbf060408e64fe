//! A node: one runtime instance with its process table, name registry and event feed.
//!
//! Several nodes can live in one OS process (each test starts its own). A node runs its
//! processes on the tokio runtime it was created in; created outside any runtime, it starts
//! and owns a multi-threaded one. Pids are never reused within a node.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

use super::context::{Addr, Context, Inbox, SpawnOptions, spawn_process, spawn_unnamed};
use super::error::{CallError, NoProc, RegisterError, SendError, StartError};
use super::exit::ExitReason;
use super::introspect::{
    ChangeTracking, DeadProcess, DirtyTracker, EventKind, EventLog, EventRead, ProcessInfo,
};
use super::pid::{MonitorRef, Pid};
use super::process::{
    AnyProcess, Cell, Countdown, Life, ProcessView, StateReport, Watcher, current_process,
};
use super::server::DEFAULT_CALL_TIMEOUT;
use super::visit::{self, Table};

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
    table: RwLock<Table>,
    /// Registered names.
    names: Mutex<HashMap<Arc<str>, Pid>>,
    /// The ordered event feed.
    pub(crate) events: EventLog,
    /// The last exits, newest last.
    recent_dead: Mutex<VecDeque<DeadProcess>>,
    /// When the node started.
    started_at: Instant,
    /// Which processes changed, while someone observes.
    pub(crate) tracker: Arc<DirtyTracker>,
    /// Dropped with the node: ends the task that holds its [`DeferredSweep`].
    _sweep_stop: oneshot::Sender<()>,
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
            names: Mutex::new(HashMap::new()),
            events: EventLog::new(EVENT_CAPACITY),
            recent_dead: Mutex::new(VecDeque::new()),
            started_at: Instant::now(),
            tracker: Arc::new(DirtyTracker::new()),
            _sweep_stop: sweep_stop,
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

    /// Calls `f` with each live process's info, in no particular order. The infos are read
    /// first, so `f` runs with no lock held and may call into the node.
    pub fn for_each_process(&self, f: impl FnMut(ProcessInfo)) {
        self.infos().into_iter().for_each(f);
    }

    /// Every live process's info, in no particular order.
    fn infos(&self) -> Vec<ProcessInfo> {
        let mut infos = Vec::with_capacity(self.process_count());
        self.visit_processes(|view| infos.push(view.to_info()));
        infos
    }

    /// Calls `f` with a borrowed view of each live process, in no particular order: the
    /// cheapest full read (nothing is copied that `f` does not copy).
    ///
    /// The process table stays read-locked for the whole visit, and each process's state
    /// while `f` looks at it: sends, calls and signals go on meanwhile, but spawns and exits
    /// wait until the visit ends, so keep `f` short. `f` must not call back into the node
    /// (spawn, signal, look a process up): it would wait on the locks the visit holds.
    pub fn visit_processes(&self, f: impl FnMut(&ProcessView<'_>)) {
        visit::visit_all(&self.shared.table.read(), f);
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
        visit::visit_split(&self.shared.table.read(), threads, thread_state, start, f)
    }

    /// How many processes are alive.
    pub fn process_count(&self) -> usize {
        self.shared.table.read().len()
    }

    /// Events from sequence number `seq` on, at most `max`.
    pub fn events_since(&self, seq: u64, max: usize) -> EventRead {
        self.shared.events.read_since(seq, max)
    }

    /// The sequence number the next event will get.
    pub fn next_event_seq(&self) -> u64 {
        self.shared.events.next_seq()
    }

    /// How many events the feed keeps: a reader more than this many behind has missed some.
    pub fn event_capacity(&self) -> usize {
        self.shared.events.capacity()
    }

    /// Resolves once an event with sequence number `seq` or later exists.
    pub async fn wait_for_event(&self, seq: u64) {
        self.shared.events.wait_past(seq).await;
    }

    /// Asks a live server (agent, supervisor) to describe its state. `Ok(None)` for a process
    /// that cannot describe itself (a plain process); errors if it is not alive or does not
    /// answer within 5 s.
    pub async fn describe(&self, pid: Pid) -> Result<Option<StateReport>, CallError> {
        if current_process() == Some(pid) {
            return Err(CallError::CallingSelf(pid));
        }
        let process = self.shared.lookup(pid).ok_or(CallError::NoProc(pid))?;
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

    /// Starts recording which processes change, until the guard is dropped. Several guards
    /// may be alive; recording stops when the last one goes.
    pub fn track_changes(&self) -> ChangeTracking {
        ChangeTracking::new(self.shared.clone())
    }

    /// The pids whose observable state changed (or that started or exited) since the last
    /// call, each once, while a [`ChangeTracking`] guard is alive. A pid that is no longer
    /// alive has exited: see [`Node::recent_exits`] and the event feed for why.
    pub fn take_changed(&self) -> Vec<Pid> {
        self.shared.take_changed()
    }

    /// [`take_changed`](Self::take_changed), read at once: the info of each changed process
    /// that is still alive, and the pids of those that are not (they exited). One table lock
    /// for the whole batch; each pid once.
    pub fn take_changed_infos(&self) -> (Vec<ProcessInfo>, Vec<Pid>) {
        let mut alive = Vec::new();
        let mut gone = Vec::new();
        self.take_changed_views(|pid, view| match view {
            Some(view) => alive.push(view.to_info()),
            None => gone.push(pid),
        });
        (alive, gone)
    }

    /// [`take_changed`](Self::take_changed) as borrowed views, in pid order: `f` gets each
    /// changed pid once, with a view of the process if it is still in the table (`None`: it
    /// has exited). Locks as [`visit_processes`](Self::visit_processes) does, for the batch.
    pub fn take_changed_views(&self, mut f: impl FnMut(Pid, Option<&ProcessView<'_>>)) {
        let mut pids = self.shared.tracker.take();
        pids.sort_unstable();
        pids.dedup();
        let table = self.shared.table.read();
        let processes: Vec<(Pid, Option<&Arc<dyn AnyProcess>>)> = pids
            .into_iter()
            .map(|pid| (pid, table.get(&pid.serial())))
            .collect();
        // Reset every mark first, then one fence for the batch. Pairs with the fence in
        // `DirtyTracker::mark`: a change made after a reset is either seen by the reads below
        // or marks its process again.
        for process in processes.iter().filter_map(|(_, process)| *process) {
            process.core().dirty.store(false, Ordering::Release);
        }
        std::sync::atomic::fence(Ordering::SeqCst);
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

    /// Whether some observer is tracking changes.
    pub fn is_tracking_changes(&self) -> bool {
        self.shared.tracker.is_tracking()
    }

    /// The last exits (at most 1,024), oldest first.
    pub fn recent_exits(&self) -> Vec<DeadProcess> {
        self.shared.recent_dead.lock().iter().cloned().collect()
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

    /// Takes the list of changed pids and resets their marks.
    pub(crate) fn take_changed(&self) -> Vec<Pid> {
        let pids = self.tracker.take();
        let table = self.table.read();
        for pid in &pids {
            if let Some(process) = table.get(&pid.serial()) {
                process.core().dirty.store(false, Ordering::Release);
            }
        }
        std::sync::atomic::fence(Ordering::SeqCst);
        pids
    }

    pub(crate) fn lookup(&self, pid: Pid) -> Option<Arc<dyn AnyProcess>> {
        if pid.node_id() != self.id {
            return None;
        }
        self.table.read().get(&pid.serial()).cloned()
    }

    pub(crate) fn insert(&self, process: Arc<dyn AnyProcess>) {
        let serial = process.core().pid.serial();
        self.table.write().insert(serial, process);
    }

    pub(crate) fn remove(&self, pid: Pid) {
        self.table.write().remove(&pid.serial());
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

    /// Counts `pid` in `countdown` until it dies; false (and not counted) if it is not alive.
    pub(crate) fn watch_countdown(&self, pid: Pid, countdown: &Arc<Countdown>) -> bool {
        let Some(process) = self.lookup(pid) else {
            return false;
        };
        let mut state = process.core().state.lock();
        if state.life == Life::Dead {
            return false;
        }
        countdown.add();
        let monitor = self.next_ref();
        state
            .monitored_by
            .insert(monitor, Watcher::Countdown(countdown.clone()));
        true
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
