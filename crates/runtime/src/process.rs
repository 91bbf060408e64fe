//! One process: its signal-side state, its typed mailbox, and the task that drives it.
//!
//! Each process is a tokio task plus a shared [`Cell`] (a server's task is spawned at its first
//! message or signal: see [`Cell::defer_task`]). The cell has two halves:
//! - [`Core`], untyped: lifecycle, trap_exit, links, monitors and the introspection fields.
//!   Signals (exit signals, link and monitor bookkeeping) act on it directly, as they arrive,
//!   so they take effect before any message still queued.
//! - the mailbox, typed by the process's message type `M`: user messages and, for a trapping
//!   process, exit signals and DOWN notifications turned into messages, in arrival order.
//!
//! An exit signal that kills a process sets a flag and wakes its task; the task's driver sees
//! the flag at its next poll and drops the process's future. tokio is cooperative, so a kill
//! ends a process at its next await point, not in the middle of a computation.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};

use super::child_spec::{Restart, Shutdown};
use super::children::Children;
use super::exit::ExitReason;
use super::introspect::{DirtyTracker, ProcessInfo, ProcessKind, Status};
use super::pid::{MonitorRef, Pid};
use super::small_map::SmallMap;

/// What a process receives: a message of its own type, or a signal turned into a message.
#[derive(Debug)]
pub enum Message<M> {
    /// A message sent to this process.
    User(M),
    /// An exit signal from a linked process (or sent with `exit`), received because this
    /// process traps exits.
    Exit(ExitMessage),
    /// A monitored process went down.
    Down(Down),
}

/// An exit signal received as a message (`{:EXIT, from, reason}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitMessage {
    /// Who sent it: the linked process that died, or the caller of `exit`.
    pub from: Pid,
    /// The reason it carries.
    pub reason: ExitReason,
}

/// A DOWN notification (`{:DOWN, ref, :process, pid, reason}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: MonitorRef,
    /// The process that went down.
    pub pid: Pid,
    /// Why (`noproc` if it was already dead when monitored).
    pub reason: ExitReason,
}

/// A signal turned into a message, before it is typed for a mailbox.
pub(crate) enum SystemMessage {
    Exit(ExitMessage),
    Down(Down),
}

/// Who is told when a process dies.
pub(crate) enum Watcher {
    /// A process, by a DOWN message.
    Process(Pid),
    /// Code outside any process (a caller waiting for a stop, a supervisor's shutdown), by a
    /// one-shot channel.
    External(oneshot::Sender<ExitReason>),
    /// A dynamic supervisor stopping all its children, by counting down.
    Countdown(Arc<Countdown>),
}

/// Deaths a dynamic supervisor still waits for while it stops all its children: one shared
/// count for all of them, where a channel per child would cost an allocation and a wake-up
/// each.
pub(crate) struct Countdown {
    /// Watched processes not dead yet.
    left: AtomicUsize,
    /// Woken when `left` falls to zero.
    done: Notify,
}

impl Countdown {
    pub(crate) fn new() -> Self {
        Self {
            left: AtomicUsize::new(0),
            done: Notify::new(),
        }
    }

    /// One more process to wait for; call before it can die.
    pub(crate) fn add(&self) {
        self.left.fetch_add(1, Ordering::AcqRel);
    }

    /// One watched process died.
    pub(crate) fn arrive(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Stores a permit if nobody waits yet, so `wait` cannot miss it.
            self.done.notify_one();
        }
    }

    /// Resolves once every watched process has died.
    pub(crate) async fn wait(&self) {
        while self.left.load(Ordering::Acquire) > 0 {
            self.done.notified().await;
        }
    }
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    Alive,
    /// A signal or a stop is ending it; signals that arrive now are ignored.
    Exiting,
    Dead,
}

/// The untyped, signal-side state of a process.
pub(crate) struct Core {
    /// The process's pid.
    pub(crate) pid: Pid,
    /// Everything that changes under signals, behind one lock.
    pub(crate) state: Mutex<CoreState>,
    /// Set when an exit signal has doomed the process; the driver reads it at every poll.
    pub(crate) doomed: AtomicBool,
    /// [`Status`] as a byte, so receiving a message costs no lock for it.
    pub(crate) status: AtomicU8,
    /// Messages taken from the mailbox so far.
    pub(crate) handled: AtomicU64,
    /// Who a kill wakes: the process's task, registered at its first poll; before that, the
    /// task running the process's init on its behalf (see [`OnBehalf`]), until init returns.
    pub(crate) task_waker: Mutex<Option<Waker>>,
    /// When the process started.
    pub(crate) started_at: Instant,
    /// Set once, when the process has exited: callers holding its handle read why.
    pub(crate) exit_reason: OnceLock<ExitReason>,
    /// Asks the process to describe its state, for servers; see
    /// [`Node::describe`](super::Node::describe).
    pub(crate) describer: OnceLock<Describer>,
    /// The node's change tracker, told when anything an observer sees changes.
    pub(crate) tracker: Arc<DirtyTracker>,
    /// This process's mark in the tracker: set while it is listed as changed.
    pub(crate) dirty: AtomicBool,
}

/// Spawns a process's task (see [`Cell::defer_task`]).
pub(crate) type DeferredTask = Box<dyn FnOnce() + Send>;

/// Queues a describe request in a server's mailbox (the process is given as from the table);
/// `None` if it has exited. A plain function of the server's type, so it costs no allocation.
pub(crate) type Describer =
    fn(Arc<dyn Any + Send + Sync>) -> Option<oneshot::Receiver<StateReport>>;

/// What a process says about its state: labelled rows (a bucket's keys and values, a
/// registry's names and pids, a supervisor's child specs).
pub type StateReport = Vec<(String, String)>;

/// The lockable part of [`Core`].
pub(crate) struct CoreState {
    pub(crate) life: Life,
    /// The reason a kill or a fatal exit signal set, taken by the driver.
    pub(crate) pending_exit: Option<ExitReason>,
    pub(crate) trap_exit: bool,
    pub(crate) links: SmallMap<Pid, ()>,
    /// Monitors this process holds on others.
    pub(crate) monitors: SmallMap<MonitorRef, Pid>,
    /// Monitors others hold on this process.
    pub(crate) monitored_by: SmallMap<MonitorRef, Watcher>,
    pub(crate) meta: Meta,
}

/// What [`ProcessView::recent_restarts`] reads for a process that never restarted a child.
static NO_RESTARTS: VecDeque<Instant> = VecDeque::new();

/// Introspection fields that only change at start, at a restart or when children come and go.
pub(crate) struct Meta {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) kind: ProcessKind,
    pub(crate) label: Arc<str>,
    pub(crate) parent: Option<Pid>,
    /// Live children keyed by their order key, so iteration is start order.
    pub(crate) children: Children,
    /// This process's key in its parent's `children` (its serial, unless a supervisor put a
    /// restarted child back in its predecessor's place).
    pub(crate) order_key: u64,
    pub(crate) child_id: Option<Arc<str>>,
    pub(crate) restart: Option<Restart>,
    pub(crate) shutdown: Option<Shutdown>,
    pub(crate) restarts: u32,
    /// A supervisor's restarts that count against its intensity, oldest first (at most
    /// `max_restarts + 1`; some may have aged out of the window since). `None` until its
    /// first restart, and for every other process: boxed, so that a process that never
    /// restarts a child holds 8 bytes for it, not 32.
    #[allow(
        clippy::box_collection,
        reason = "the box is the point: 8 bytes in every cell, the deque's 32 only in a supervisor's"
    )]
    pub(crate) recent_restarts: Option<Box<VecDeque<Instant>>>,
}

impl Core {
    pub(crate) fn new(pid: Pid, meta: Meta, tracker: Arc<DirtyTracker>) -> Self {
        Self {
            pid,
            state: Mutex::new(CoreState {
                life: Life::Alive,
                pending_exit: None,
                trap_exit: false,
                links: SmallMap::default(),
                monitors: SmallMap::default(),
                monitored_by: SmallMap::default(),
                meta,
            }),
            doomed: AtomicBool::new(false),
            status: AtomicU8::new(Status::Running as u8),
            handled: AtomicU64::new(0),
            task_waker: Mutex::new(None),
            started_at: Instant::now(),
            exit_reason: OnceLock::new(),
            describer: OnceLock::new(),
            tracker,
            dirty: AtomicBool::new(false),
        }
    }

    pub(crate) fn set_status(&self, status: Status) {
        if self.store_status(status) {
            self.touch();
        }
    }

    /// [`set_status`](Self::set_status) under the process's mailbox lock, which the caller
    /// holds (see [`touch_in_mailbox`](Self::touch_in_mailbox)).
    fn set_status_in_mailbox(&self, status: Status) {
        if self.store_status(status) {
            self.touch_in_mailbox();
        }
    }

    /// Stores `status`; false if it was already the status.
    fn store_status(&self, status: Status) -> bool {
        let value = status as u8;
        let changed = self.status.load(Ordering::Relaxed) != value;
        if changed {
            self.status.store(value, Ordering::Relaxed);
        }
        changed
    }

    /// Counts a message taken from the mailbox. Only the process itself takes messages, so a
    /// load and a store do, without a read-modify-write on every message.
    fn count_handled(&self) {
        let handled = self.handled.load(Ordering::Relaxed);
        self.handled.store(handled + 1, Ordering::Relaxed);
    }

    /// Tells observers that something they can see of this process changed.
    pub(crate) fn touch(&self) {
        self.tracker.mark(&self.dirty, self.pid);
    }

    /// [`touch`](Self::touch) for a change made under the process's mailbox lock, which the
    /// caller holds: a message sent or taken. The lock orders it against an observer, so it
    /// needs no fence (see `introspect::changes`).
    fn touch_in_mailbox(&self) {
        self.tracker.mark_in_mailbox(&self.dirty, self.pid);
    }

    /// Dooms the process with `reason` unless it is already ending; wakes its task.
    /// Call with the state lock held.
    pub(crate) fn doom(&self, state: &mut CoreState, reason: ExitReason) {
        if state.life != Life::Alive {
            return;
        }
        state.life = Life::Exiting;
        state.pending_exit = Some(reason);
        self.status.store(Status::Exiting as u8, Ordering::Relaxed);
        self.doomed.store(true, Ordering::Release);
        self.touch();
        if let Some(waker) = self.task_waker.lock().as_ref() {
            waker.wake_by_ref();
        }
    }

    /// Makes `waker` the one a kill wakes.
    pub(crate) fn register_waker(&self, waker: &Waker) {
        let mut slot = self.task_waker.lock();
        if !slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// The reason a signal doomed the process with (`killed` if none was recorded).
    pub(crate) fn doom_reason(&self) -> ExitReason {
        self.state
            .lock()
            .pending_exit
            .clone()
            .unwrap_or(ExitReason::Killed)
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.state.lock().life == Life::Alive
    }

    /// What an observer may know of the process now (`mailbox_len` read from its cell).
    pub(crate) fn info(&self, mailbox_len: usize) -> ProcessInfo {
        self.view(&self.state.lock(), mailbox_len).to_info()
    }

    /// A borrowed view of the process, from its state already locked.
    pub(crate) fn view<'a>(&'a self, state: &'a CoreState, mailbox_len: usize) -> ProcessView<'a> {
        ProcessView {
            core: self,
            state,
            mailbox_len,
        }
    }
}

// === impl ProcessView ===

/// One process as an observer sees it, borrowed from the runtime while its state is locked:
/// what [`ProcessInfo`] holds, read in place, so that reading 100,000 processes allocates
/// nothing the reader does not ask for. Given by
/// [`Node::visit_processes`](super::Node::visit_processes) and
/// [`Node::take_changed_views`](super::Node::take_changed_views); the process cannot change
/// while the view is alive (keep the visitor short: it holds the process's lock).
pub struct ProcessView<'a> {
    core: &'a Core,
    state: &'a CoreState,
    /// Read from the process's cell as the view was made.
    mailbox_len: usize,
}

impl<'a> ProcessView<'a> {
    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.core.pid
    }

    /// Its registered name, if any.
    pub fn name(&self) -> Option<&'a Arc<str>> {
        self.state.meta.name.as_ref()
    }

    /// What it is.
    pub fn kind(&self) -> &'a ProcessKind {
        &self.state.meta.kind
    }

    /// Its behaviour label, such as `KV.Bucket`.
    pub fn label(&self) -> &'a Arc<str> {
        &self.state.meta.label
    }

    /// The process that started it, if any.
    pub fn parent(&self) -> Option<Pid> {
        self.state.meta.parent
    }

    /// Its live children in start order.
    pub fn children(&self) -> impl ExactSizeIterator<Item = Pid> + 'a {
        self.state.meta.children.iter()
    }

    /// Its child id under its supervisor.
    pub fn child_id(&self) -> Option<&'a Arc<str>> {
        self.state.meta.child_id.as_ref()
    }

    /// Its restart type under its supervisor.
    pub fn restart(&self) -> Option<Restart> {
        self.state.meta.restart
    }

    /// How its supervisor shuts it down.
    pub fn shutdown(&self) -> Option<Shutdown> {
        self.state.meta.shutdown
    }

    /// What it is doing.
    pub fn status(&self) -> Status {
        match self.state.life {
            Life::Alive => Status::from_u8(self.core.status.load(Ordering::Relaxed)),
            Life::Exiting => Status::Exiting,
            Life::Dead => Status::Dead,
        }
    }

    /// Whether exit signals arrive as messages.
    pub fn trap_exit(&self) -> bool {
        self.state.trap_exit
    }

    /// The processes it is linked to, in no particular order.
    pub fn links(&self) -> impl Iterator<Item = Pid> + 'a {
        self.state.links.iter().map(|(pid, ())| *pid)
    }

    /// The processes it monitors, with the monitor references, in no particular order.
    pub fn monitors(&self) -> impl Iterator<Item = (MonitorRef, Pid)> + 'a {
        self.state.monitors.iter().map(|(r, pid)| (*r, *pid))
    }

    /// The processes that monitor it (observers outside any process are not listed), in no
    /// particular order.
    pub fn monitored_by(&self) -> impl Iterator<Item = Pid> + 'a {
        self.state
            .monitored_by
            .iter()
            .filter_map(|(_, watcher)| match watcher {
                Watcher::Process(pid) => Some(*pid),
                Watcher::External(_) | Watcher::Countdown(_) => None,
            })
    }

    /// Messages waiting in its mailbox.
    pub fn mailbox_len(&self) -> usize {
        self.mailbox_len
    }

    /// Messages it has taken from its mailbox so far.
    pub fn messages_handled(&self) -> u64 {
        self.core.handled.load(Ordering::Relaxed)
    }

    /// How many times its supervisor has restarted this child id before this incarnation.
    pub fn restarts(&self) -> u32 {
        self.state.meta.restarts
    }

    /// A supervisor's restarts that count against its intensity, oldest first, as of its
    /// latest restart: those within `max_seconds` of now use up its budget.
    pub fn recent_restarts(&self) -> impl ExactSizeIterator<Item = Instant> + '_ {
        self.state
            .meta
            .recent_restarts
            .as_deref()
            .unwrap_or(&NO_RESTARTS)
            .iter()
            .copied()
    }

    /// When it started.
    pub fn started_at(&self) -> Instant {
        self.core.started_at
    }

    /// An owned copy, with links, monitors and monitored_by sorted.
    pub fn to_info(&self) -> ProcessInfo {
        let mut links: Vec<Pid> = self.links().collect();
        links.sort_unstable();
        let mut monitors: Vec<(MonitorRef, Pid)> = self.monitors().collect();
        monitors.sort_unstable();
        let mut monitored_by: Vec<Pid> = self.monitored_by().collect();
        monitored_by.sort_unstable();
        let meta = &self.state.meta;
        ProcessInfo {
            pid: self.pid(),
            name: meta.name.clone(),
            kind: meta.kind.clone(),
            label: meta.label.clone(),
            parent: meta.parent,
            children: self.children().collect(),
            child_id: meta.child_id.clone(),
            restart: meta.restart,
            shutdown: meta.shutdown,
            status: self.status(),
            trap_exit: self.state.trap_exit,
            links,
            monitors,
            monitored_by,
            mailbox_len: self.mailbox_len(),
            messages_handled: self.messages_handled(),
            restarts: meta.restarts,
            started_at: self.core.started_at,
            recent_restarts: self.recent_restarts().collect(),
        }
    }
}

impl std::fmt::Debug for ProcessView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessView")
            .field("pid", &self.pid())
            .field("label", self.label())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// What the node's process table holds: a process whose message type is erased.
pub(crate) trait AnyProcess: Send + Sync + 'static {
    fn core(&self) -> &Core;
    /// Queues a signal turned into a message; false if the mailbox is closed.
    fn deliver(&self, message: SystemMessage) -> bool;
    /// Messages in the mailbox now, without locking it.
    fn mailbox_len(&self) -> usize;
    /// Takes and releases the mailbox's lock: what was changed under it before is visible to
    /// the caller's reads after (see `introspect::changes`).
    fn sync_mailbox(&self);
    /// Takes the task of a process whose task was deferred and never spawned (see
    /// [`Cell::defer_task`]); `None` if it runs or is being spawned.
    fn take_deferred(&self) -> Option<DeferredTask>;
    /// Closes the mailbox at death and drops what it held (pending calls then fail).
    fn close_mailbox(&self);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// Starts loading what a visit reads (the core and the mailbox length) into the cache.
    fn prefetch(&self);
}

/// A process's shared cell: its core and its typed mailbox.
///
/// `repr(C)` keeps `queued` next to the mailbox's lock: sender and receiver write both at
/// every message, and on one cache line that is one line passed between them, not two.
#[repr(C)]
pub(crate) struct Cell<M> {
    pub(crate) core: Core,
    /// Messages in the mailbox now, beside its lock (written under it, by the same hands that
    /// touch the queue) so that an observer reads it without locking.
    queued: AtomicUsize,
    mailbox: Mutex<Mailbox<M>>,
}

struct Mailbox<M> {
    queue: VecDeque<Message<M>>,
    /// The waker of a receive waiting for a message.
    waker: Option<Waker>,
    waiting: bool,
    closed: bool,
    /// The process's task, while it waits to be spawned (see [`Cell::defer_task`]).
    deferred: Option<DeferredTask>,
}

impl<M: Send + 'static> Cell<M> {
    pub(crate) fn new(pid: Pid, meta: Meta, tracker: Arc<DirtyTracker>) -> Self {
        Self {
            core: Core::new(pid, meta, tracker),
            queued: AtomicUsize::new(0),
            mailbox: Mutex::new(Mailbox {
                queue: VecDeque::new(),
                waker: None,
                waiting: false,
                closed: false,
                deferred: None,
            }),
        }
    }

    /// Queues a message; hands it back if the process is dead.
    pub(crate) fn push(&self, message: Message<M>) -> Result<(), Message<M>> {
        self.push_with(message, |message| message)
    }

    /// Queues `wrap(value)`; hands `value` back, unwrapped, if the process is dead (a cast
    /// hands back the cast, not the server message it would have become).
    pub(crate) fn push_with<T>(
        &self,
        value: T,
        wrap: impl FnOnce(T) -> Message<M>,
    ) -> Result<(), T> {
        let mut mailbox = self.mailbox.lock();
        if mailbox.closed {
            return Err(value);
        }
        mailbox.queue.push_back(wrap(value));
        self.queued.store(mailbox.queue.len(), Ordering::Relaxed);
        self.core.touch_in_mailbox();
        // Woken after the lock is released: a wake may hand the task to another worker at
        // once, which would then find the mailbox still locked and spin.
        let waker = if mailbox.waiting {
            mailbox.waiting = false;
            mailbox.waker.clone()
        } else {
            None
        };
        let deferred = mailbox.deferred.take();
        drop(mailbox);
        if let Some(waker) = waker {
            waker.wake();
        }
        // The first message of a process whose task was deferred: spawn it now.
        if let Some(task) = deferred {
            task();
        }
        Ok(())
    }

    /// Defers the process's task until its first message or signal: a server that has just
    /// run its init would only block in its first receive, so until something arrives there
    /// is nothing for a task to do. Hands `task` back if something has arrived already (or a
    /// signal doomed the process): spawn it now. Its status reads `waiting` meanwhile.
    ///
    /// Both locks are held while the task is deferred, so a message (queued under the
    /// mailbox's) or a signal (under the state's) arrives either before, and is seen here, or
    /// after, and finds the task deferred: a message spawns it; a signal that dooms the
    /// process drops it unrun and ends the process at once (see `NodeShared::exit_signal`).
    pub(crate) fn defer_task(&self, task: DeferredTask) -> Result<(), DeferredTask> {
        let state = self.core.state.lock();
        let mut mailbox = self.mailbox.lock();
        if state.life != Life::Alive || !mailbox.queue.is_empty() {
            return Err(task);
        }
        mailbox.deferred = Some(task);
        drop(mailbox);
        drop(state);
        self.core.set_status(Status::Waiting);
        Ok(())
    }

    pub(crate) fn poll_recv(&self, cx: &mut TaskContext<'_>) -> Poll<Message<M>> {
        let mut mailbox = self.mailbox.lock();
        if let Some(message) = mailbox.queue.pop_front() {
            mailbox.waiting = false;
            self.queued.store(mailbox.queue.len(), Ordering::Relaxed);
            self.core.count_handled();
            self.core.set_status_in_mailbox(Status::Running);
            self.core.touch_in_mailbox();
            drop(mailbox);
            return Poll::Ready(message);
        }
        mailbox.waiting = true;
        if !mailbox
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            mailbox.waker = Some(cx.waker().clone());
        }
        self.core.set_status_in_mailbox(Status::Waiting);
        drop(mailbox);
        Poll::Pending
    }

    pub(crate) fn try_recv(&self) -> Option<Message<M>> {
        let mut mailbox = self.mailbox.lock();
        let message = mailbox.queue.pop_front()?;
        self.queued.store(mailbox.queue.len(), Ordering::Relaxed);
        self.core.count_handled();
        self.core.touch_in_mailbox();
        drop(mailbox);
        Some(message)
    }
}

impl<M: Send + 'static> AnyProcess for Cell<M> {
    fn core(&self) -> &Core {
        &self.core
    }

    fn prefetch(&self) {
        // `queued` follows the core (`repr(C)`): the lines from the core's start to it.
        let visited = std::mem::offset_of!(Self, queued) + std::mem::size_of::<AtomicUsize>();
        super::prefetch::prefetch(self, visited);
    }

    fn deliver(&self, message: SystemMessage) -> bool {
        let message = match message {
            SystemMessage::Exit(exit) => Message::Exit(exit),
            SystemMessage::Down(down) => Message::Down(down),
        };
        self.push(message).is_ok()
    }

    fn mailbox_len(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    fn sync_mailbox(&self) {
        drop(self.mailbox.lock());
    }

    fn take_deferred(&self) -> Option<DeferredTask> {
        self.mailbox.lock().deferred.take()
    }

    fn close_mailbox(&self) {
        let mut mailbox = self.mailbox.lock();
        mailbox.closed = true;
        let dropped = std::mem::take(&mut mailbox.queue);
        self.queued.store(0, Ordering::Relaxed);
        mailbox.waker = None;
        drop(mailbox);
        drop(dropped);
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

// === impl Guarded ===

/// Drives a process's future: ends it when a signal dooms the process, and turns a panic into
/// the process's exit reason.
pub(crate) struct Guarded<'a, F> {
    pub(crate) core: &'a Core,
    pub(crate) future: Pin<&'a mut F>,
    /// Whether this task's waker is registered as the one a kill wakes.
    pub(crate) registered: bool,
}

impl<F> Future for Guarded<'_, F>
where
    F: Future,
    F::Output: Into<ExitReason>,
{
    type Output = ExitReason;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<ExitReason> {
        let core = self.core;
        if !self.registered {
            core.register_waker(cx.waker());
            self.registered = true;
        }
        poll_as(core, self.future.as_mut(), cx).map(|output| match output {
            Ok(output) => output.into(),
            Err(reason) => reason,
        })
    }
}

/// Polls `future` for the process `core`: `Err` with the doom's reason if a signal has doomed
/// the process, or with the panic's if the poll panics. What [`Guarded`] and [`OnBehalf`]
/// share.
fn poll_as<F: Future>(
    core: &Core,
    future: Pin<&mut F>,
    cx: &mut TaskContext<'_>,
) -> Poll<Result<F::Output, ExitReason>> {
    if core.doomed.load(Ordering::Acquire) {
        return Poll::Ready(Err(core.doom_reason()));
    }
    let _current = Current::enter(core.pid);
    match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(poll) => poll.map(Ok),
        Err(payload) => Poll::Ready(Err(ExitReason::from_panic(payload.as_ref()))),
    }
}

thread_local! {
    /// The process whose code this thread is running now, if any: set while a process's
    /// future (or a server's init, on its behalf) is polled.
    static CURRENT: std::cell::Cell<Option<Pid>> = const { std::cell::Cell::new(None) };
}

/// The process whose code is running on this thread, if any. A call to that process would
/// wait for a reply only it can give (OTP: `calling_self`).
pub(crate) fn current_process() -> Option<Pid> {
    CURRENT.with(std::cell::Cell::get)
}

/// Marks a process as the one running on this thread until dropped; restores the one it
/// interrupted (a server's init runs on its behalf inside its starter's poll).
struct Current(Option<Pid>);

impl Current {
    fn enter(pid: Pid) -> Self {
        Self(CURRENT.with(|current| current.replace(Some(pid))))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

// === impl OnBehalf ===

/// Runs a process's init in another task, on the process's behalf (a server's init runs in
/// the task that starts it, which waits for it anyway; see `server.rs`). Acts as
/// [`Guarded`] does for the process: a signal that dooms it ends the init at its next await
/// (the starting task is woken for it), and a panic becomes the init's error.
pub(crate) struct OnBehalf<'a, F> {
    pub(crate) core: &'a Core,
    pub(crate) future: Pin<&'a mut F>,
}

impl<F> Future for OnBehalf<'_, F>
where
    F: Future<Output = Result<(), ExitReason>>,
{
    type Output = Result<(), ExitReason>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let core = self.core;
        core.register_waker(cx.waker());
        poll_as(core, self.future.as_mut(), cx).map(Result::flatten)
    }
}

/// Runs a future, turning a panic into `Err(reason)`. Servers use it around their callbacks
/// so that `terminate` still runs after a callback panics.
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, ExitReason> {
    CatchUnwind {
        future: std::pin::pin!(future),
    }
    .await
    .map_err(ExitReason::Panic)
}

/// Runs a future, turning a panic into `Err(message)`. Supervisors run start functions in
/// it, so that a start that panics fails instead of taking the supervisor down.
pub(crate) async fn catch_panic_message<F: Future>(future: F) -> Result<F::Output, Arc<str>> {
    CatchUnwind {
        future: std::pin::pin!(future),
    }
    .await
}

struct CatchUnwind<'a, F> {
    future: Pin<&'a mut F>,
}

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = Result<F::Output, Arc<str>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let future = self.future.as_mut();
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(super::exit::panic_message(payload.as_ref()))),
        }
    }
}
