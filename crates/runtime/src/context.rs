//! What a process holds: its [`Context`] (who it is, and the signals it can send), its
//! [`Inbox`] (its typed mailbox), and [`Addr`], the typed handle others send through.

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use super::child_spec::{Restart, Shutdown};
use super::error::{NoProc, RegisterError, SendError, StartError};
use super::exit::ExitReason;
use super::introspect::{EventKind, PROCESS_LABEL, ProcessKind};
use super::node::{Node, NodeShared, Watch};
use super::pid::{MonitorRef, Pid};
use super::process::{AnyProcess, Cell, Guarded, Message, Meta};

/// A receive returns without yielding at most this many times in a row, so a process with a
/// full mailbox still lets others run.
const RECV_BUDGET: u32 = 128;

/// Options for starting a process: a registered name, a behaviour label, trap_exit.
#[derive(Clone, Debug, Default)]
pub struct SpawnOptions {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) label: Option<Arc<str>>,
    pub(crate) trap_exit: bool,
    pub(crate) link: bool,
}

impl SpawnOptions {
    /// No name, the default label, not trapping exits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the process under `name` as it starts; the start fails if the name is taken.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The behaviour label observers show, such as `KV.Bucket`.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Starts the process already trapping exits.
    pub fn trap_exit(mut self, trap: bool) -> Self {
        self.trap_exit = trap;
        self
    }

    /// The registered name, if any.
    pub fn registered_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// A process's view of itself: its pid, its node, and the signals it can send. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub(crate) node: Arc<NodeShared>,
    pub(crate) process: Arc<dyn AnyProcess>,
}

impl Context {
    /// This process's pid.
    pub fn pid(&self) -> Pid {
        self.process.core().pid
    }

    /// The node this process runs on.
    pub fn node(&self) -> Node {
        Node::from_shared(self.node.clone())
    }

    /// Turns exit trapping on or off; returns the previous setting. While on, exit signals
    /// (except an untrappable `kill`) arrive as [`Message::Exit`].
    pub fn trap_exit(&self, trap: bool) -> bool {
        let core = self.process.core();
        let previous = std::mem::replace(&mut core.state.lock().trap_exit, trap);
        core.touch();
        previous
    }

    /// Links this process with `pid` (both ways, idempotent). Linking a dead pid sends this
    /// process an exit signal with reason `noproc`.
    pub fn link(&self, pid: Pid) {
        self.node.link(&self.process, pid);
    }

    /// Removes the link with `pid`.
    pub fn unlink(&self, pid: Pid) {
        self.node.unlink(&self.process, pid);
    }

    /// Monitors `pid`: one [`Message::Down`] arrives when it exits (at once, with `noproc`,
    /// if it is not alive).
    pub fn monitor(&self, pid: Pid) -> MonitorRef {
        self.node.monitor(&self.process, pid)
    }

    /// Removes a monitor; true if it was still active.
    pub fn demonitor(&self, monitor: MonitorRef) -> bool {
        self.node.demonitor(&self.process, monitor)
    }

    /// Sends an exit signal to `pid` (see [`Node::exit`]); the sender is this process.
    pub fn exit(&self, pid: Pid, reason: ExitReason) -> Result<(), NoProc> {
        if self.node.exit_signal(self.pid(), pid, reason, false) {
            Ok(())
        } else {
            Err(NoProc(pid))
        }
    }

    /// Resolves with `pid`'s exit reason, like a monitor whose DOWN is awaited directly.
    pub fn watch(&self, pid: Pid) -> Watch {
        self.node.watch(pid)
    }

    /// Registers this process under `name`.
    pub fn register(&self, name: &str) -> Result<(), RegisterError> {
        self.node.register(name.into(), self.pid())
    }

    /// Spawns a child process (its parent is this one), not linked.
    pub fn spawn<M, F, Fut>(&self, f: F) -> Addr<M>
    where
        M: Send + 'static,
        F: FnOnce(Context, Inbox<M>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Into<ExitReason>,
    {
        spawn_unnamed(&self.node, Some(self), SpawnOptions::new(), f)
    }

    /// Spawns a child process linked to this one.
    pub fn spawn_link<M, F, Fut>(&self, f: F) -> Addr<M>
    where
        M: Send + 'static,
        F: FnOnce(Context, Inbox<M>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Into<ExitReason>,
    {
        let options = SpawnOptions {
            link: true,
            ..SpawnOptions::new()
        };
        spawn_unnamed(&self.node, Some(self), options, f)
    }

    /// Spawns a child process monitored by this one.
    pub fn spawn_monitor<M, F, Fut>(&self, f: F) -> (Addr<M>, MonitorRef)
    where
        M: Send + 'static,
        F: FnOnce(Context, Inbox<M>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Into<ExitReason>,
    {
        let born = bear_unnamed(&self.node, Some(self), SpawnOptions::new(), &PROCESS_LABEL);
        // In place before the child runs: a child that dies at once still gives its DOWN.
        let monitor = self.monitor(born.cell.core.pid);
        (launch(&self.node, born, f), monitor)
    }

    /// Spawns a child with options; `link` links it to this process. Fails if the name is
    /// taken.
    pub fn spawn_opts<M, F, Fut>(
        &self,
        options: SpawnOptions,
        link: bool,
        f: F,
    ) -> Result<Addr<M>, StartError>
    where
        M: Send + 'static,
        F: FnOnce(Context, Inbox<M>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Into<ExitReason>,
    {
        let options = SpawnOptions { link, ..options };
        spawn_process(&self.node, Some(self), options, f)
    }

    /// Records where a supervisor put this child: id, restart type, shutdown, restarts so far,
    /// and the position among its siblings.
    pub(crate) fn annotate_child(
        &self,
        child: Pid,
        child_id: &Arc<str>,
        restart: Restart,
        shutdown: Shutdown,
        restarts: u32,
        order_key: Option<u64>,
    ) -> Option<u64> {
        let process = self.node.lookup(child)?;
        let mut state = process.core().state.lock();
        let meta = &mut state.meta;
        meta.child_id = Some(child_id.clone());
        meta.restart = Some(restart);
        meta.shutdown = Some(shutdown);
        meta.restarts = restarts;
        let old_key = meta.order_key;
        let key = order_key.unwrap_or(old_key);
        meta.order_key = key;
        drop(state);
        if key != old_key {
            let mut state = self.process.core().state.lock();
            if state.meta.children.remove(old_key, child) {
                state.meta.children.insert(key, child);
            }
        }
        process.core().touch();
        self.process.core().touch();
        Some(key)
    }

    pub(crate) fn event(&self, kind: EventKind) {
        self.node.event(kind);
    }

    /// Publishes a supervisor's restart at `at` for observers, the `aged_out` oldest ones
    /// having left its intensity window: the same steps as its own list, so a restart costs
    /// the same whatever the window holds (a copy of the list at each restart made a storm
    /// of 10,000 restarts quadratic).
    pub(crate) fn record_restart(&self, at: std::time::Instant, aged_out: usize) {
        let mut state = self.process.core().state.lock();
        let recent = state.meta.recent_restarts.get_or_insert_default();
        recent.push_back(at);
        recent.drain(..aged_out.min(recent.len()));
        drop(state);
        self.process.core().touch();
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Context({})", self.pid())
    }
}

/// Where something that starts processes starts them from: the node (no parent, no link) or
/// a process's context (it becomes the parent). Implemented by [`Node`] and [`Context`] only.
pub trait Spawner: sealed::Sealed {
    /// The node and the parent process, if any.
    #[doc(hidden)]
    fn origin(&self) -> Origin<'_>;
}

/// The node and parent a [`Spawner`] starts processes from.
#[doc(hidden)]
pub struct Origin<'a> {
    pub(crate) node: &'a Arc<NodeShared>,
    pub(crate) parent: Option<&'a Context>,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Node {}
    impl Sealed for super::Context {}
}

impl Spawner for Node {
    fn origin(&self) -> Origin<'_> {
        Origin {
            node: &self.shared,
            parent: None,
        }
    }
}

impl Spawner for Context {
    fn origin(&self) -> Origin<'_> {
        Origin {
            node: &self.node,
            parent: Some(self),
        }
    }
}

/// A process's mailbox, typed by its message type. Only the process itself holds it.
pub struct Inbox<M> {
    cell: Arc<Cell<M>>,
    budget: u32,
}

impl<M: Send + 'static> Inbox<M> {
    /// Waits for the next message (signals turned into messages included), in arrival order.
    pub async fn recv(&mut self) -> Message<M> {
        poll_fn(|cx| {
            if self.budget == 0 {
                self.budget = RECV_BUDGET;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let polled = self.cell.poll_recv(cx);
            if polled.is_ready() {
                self.budget -= 1;
            } else {
                self.budget = RECV_BUDGET;
            }
            polled
        })
        .await
    }

    /// Waits at most `timeout` for the next message.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Message<M>> {
        tokio::time::timeout(timeout, self.recv()).await.ok()
    }

    /// The next message if one is queued.
    pub fn try_recv(&mut self) -> Option<Message<M>> {
        self.cell.try_recv()
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.cell.mailbox_len()
    }

    /// True when no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A typed handle to a process: its pid, and a way to send it messages. Cheap to clone.
pub struct Addr<M> {
    cell: Arc<Cell<M>>,
}

impl<M> Clone for Addr<M> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
        }
    }
}

impl<M> std::fmt::Debug for Addr<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Addr({})", self.cell.core.pid)
    }
}

impl<M: Send + 'static> Addr<M> {
    pub(crate) fn from_cell(cell: Arc<Cell<M>>) -> Self {
        Self { cell }
    }

    /// The process's pid.
    pub fn pid(&self) -> Pid {
        self.cell.core.pid
    }

    /// Queues `message`; hands it back if the process has exited. Messages from one sender
    /// arrive in the order sent.
    pub fn send(&self, message: M) -> Result<(), SendError<M>> {
        self.cell
            .push_with(message, Message::User)
            .map_err(SendError)
    }

    /// Whether the process is alive.
    pub fn is_alive(&self) -> bool {
        self.cell.core.is_alive()
    }

    pub(crate) fn cell(&self) -> &Arc<Cell<M>> {
        &self.cell
    }
}

/// Creates a plain process and spawns its task. `f` makes the process's future at once,
/// before this returns. Fails only if the name asked for is taken.
pub(crate) fn spawn_process<M, F, Fut>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    options: SpawnOptions,
    f: F,
) -> Result<Addr<M>, StartError>
where
    M: Send + 'static,
    F: FnOnce(Context, Inbox<M>) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Into<ExitReason>,
{
    let born = bear_process(node, parent, options, ProcessKind::Plain, &PROCESS_LABEL)?;
    Ok(launch(node, born, f))
}

/// [`spawn_process`] for a process without a name, which cannot fail.
pub(crate) fn spawn_unnamed<M, F, Fut>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    options: SpawnOptions,
    f: F,
) -> Addr<M>
where
    M: Send + 'static,
    F: FnOnce(Context, Inbox<M>) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Into<ExitReason>,
{
    let born = bear_unnamed(node, parent, options, &PROCESS_LABEL);
    launch(node, born, f)
}

/// Makes a born process's future with `f` and spawns its task.
fn launch<M, F, Fut>(node: &Arc<NodeShared>, born: Born<M>, f: F) -> Addr<M>
where
    M: Send + 'static,
    F: FnOnce(Context, Inbox<M>) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Into<ExitReason>,
{
    let future = f(born.context, born.inbox);
    spawn_task(node, born.cell, born.process, move || future)
}

/// A process registered in the node, whose task is not spawned yet.
pub(crate) struct Born<M> {
    pub(crate) cell: Arc<Cell<M>>,
    pub(crate) process: Arc<dyn AnyProcess>,
    pub(crate) context: Context,
    pub(crate) inbox: Inbox<M>,
}

/// Creates a process: its pid, its cell in the table, its name and its link to its parent.
/// Fails, leaving no trace, if the name asked for is taken.
pub(crate) fn bear_process<M: Send + 'static>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    mut options: SpawnOptions,
    kind: ProcessKind,
    default_label: &Arc<str>,
) -> Result<Born<M>, StartError> {
    let Some(name) = options.name.take() else {
        return Ok(bear_unnamed_as(node, parent, options, kind, default_label));
    };
    let conceived = conceive(node, parent, &options, kind, default_label);
    let pid = conceived.cell.core.pid;
    if let Err(error) = node.register(name.clone(), pid) {
        node.remove(pid);
        let holder = match error {
            RegisterError::NameTaken { holder, .. } => holder,
            RegisterError::AlreadyNamed { .. } | RegisterError::NoProc(_) => pid,
        };
        return Err(StartError::NameTaken { name, holder });
    }
    Ok(announce(node, parent, &options, conceived))
}

/// [`bear_process`] for a plain process without a name, which cannot fail.
fn bear_unnamed<M: Send + 'static>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    options: SpawnOptions,
    default_label: &Arc<str>,
) -> Born<M> {
    bear_unnamed_as(node, parent, options, ProcessKind::Plain, default_label)
}

fn bear_unnamed_as<M: Send + 'static>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    options: SpawnOptions,
    kind: ProcessKind,
    default_label: &Arc<str>,
) -> Born<M> {
    let conceived = conceive(node, parent, &options, kind, default_label);
    announce(node, parent, &options, conceived)
}

/// A process in the table that nothing else knows of yet, with its label.
struct Conceived<M> {
    cell: Arc<Cell<M>>,
    label: Arc<str>,
}

/// Gives a new process its pid and cell and puts it in the table.
fn conceive<M: Send + 'static>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    options: &SpawnOptions,
    kind: ProcessKind,
    default_label: &Arc<str>,
) -> Conceived<M> {
    let serial = node.next_serial();
    let pid = Pid::new(node.id, serial);
    let label = options
        .label
        .clone()
        .unwrap_or_else(|| default_label.clone());
    let meta = Meta {
        name: None,
        kind,
        label: label.clone(),
        parent: parent.map(Context::pid),
        children: Default::default(),
        order_key: serial,
        child_id: None,
        restart: None,
        shutdown: None,
        restarts: 0,
        recent_restarts: None,
    };
    let mut cell = Cell::<M>::new(pid, meta, node.tracker.clone());
    // Nobody sees the process before it is in the table: set its side without locking.
    let state = cell.core.state.get_mut();
    state.trap_exit = options.trap_exit;
    if let Some(parent) = parent.filter(|_| options.link) {
        state.links.insert(parent.pid(), ());
    }
    let cell = Arc::new(cell);
    node.insert(cell.clone());
    Conceived { cell, label }
}

/// Makes a conceived process known: its parent's children and link, the spawn event.
fn announce<M: Send + 'static>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    options: &SpawnOptions,
    Conceived { cell, label }: Conceived<M>,
) -> Born<M> {
    let pid = cell.core.pid;
    let spawned = EventKind::Spawned {
        pid,
        parent: parent.map(Context::pid),
        label,
    };
    if let Some(parent) = parent {
        {
            let mut state = parent.process.core().state.lock();
            state.meta.children.insert(pid.serial(), pid);
            if options.link {
                state.links.insert(pid, ());
            }
        }
        // Born and linked in one step: one push, one clock read.
        let linked = options.link.then(|| EventKind::Linked {
            a: parent.pid(),
            b: pid,
        });
        node.events_at(spawned, linked, cell.core.started_at);
        parent.process.core().touch();
    } else {
        node.events_at(spawned, None, cell.core.started_at);
    }
    cell.core.touch();
    let process: Arc<dyn AnyProcess> = cell.clone();
    let context = Context {
        node: node.clone(),
        process: process.clone(),
    };
    let inbox = Inbox {
        cell: cell.clone(),
        budget: RECV_BUDGET,
    };
    Born {
        cell,
        process,
        context,
        inbox,
    }
}

/// Spawns the task of a born process: it runs the future `start` makes until it ends or a
/// signal dooms the process, then processes the death.
pub(crate) fn spawn_task<M, S, Fut>(
    node: &Arc<NodeShared>,
    cell: Arc<Cell<M>>,
    process: Arc<dyn AnyProcess>,
    start: S,
) -> Addr<M>
where
    M: Send + 'static,
    S: FnOnce() -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<ExitReason>,
{
    let addr = Addr { cell: cell.clone() };
    let shared = node.clone();
    node.handle.spawn(async move {
        let reason = {
            let future = std::pin::pin!(start());
            Guarded {
                core: &cell.core,
                future,
                registered: false,
            }
            .await
        };
        shared.finish(&process, reason);
    });
    addr
}
