//! Gen-server-style servers: a [`Server`] trait with init, handle_call, handle_cast,
//! handle_info, handle_continue, handle_timeout and terminate, and [`ServerRef`] to start one,
//! call it and cast to it.
//!
//! As in GenServer:
//! - `start`/`start_link` return once `init` has returned; an init error (or panic) makes the
//!   start fail and the process exit with that reason (a linked, non-trapping caller then dies
//!   too, as on the BEAM). A failed start returns only after the process has exited (as
//!   `proc_lib` does since OTP 26), so its name is already free. A start never returns a
//!   process that is already dying: if a signal doomed it during init (a kill, or a link to a
//!   dead pid, which is `noproc`), the start fails with that reason.
//! - Where Rust differs: `init` runs in the starting task on the new process's behalf (with
//!   its pid, links and trap_exit; a kill still ends it at its next await), not in a task of
//!   its own, which saves two task hand-offs per start. If the starter stops waiting (its
//!   future is dropped), the new process is stopped with `killed`, as a GenServer whose start
//!   timed out.
//! - After init a server would only block in its first receive, so its tokio task is spawned
//!   when its first message or signal arrives (its status reads `waiting` until then). An
//!   idle server costs no task: 100,000 idle buckets start in about two thirds of the time
//!   and take about a third less memory (BENCHMARKS.md). Nothing a process can observe
//!   changes; when the runtime shuts down, servers that never got a message are dropped as
//!   its tasks are.
//! - `call` waits 5 s by default and tells a timeout, a dead callee (`noproc`) and a callee
//!   that exited during the call apart; a process that calls itself fails at once with
//!   `calling_self`. A late reply after a timeout is dropped. A call that waits the default
//!   5 s waits in its node's deadline queue (`call_timer`), not on a tokio timer of its own:
//!   it fires no earlier than 5 s after the call, and about a millisecond after.
//! - Deferred replies: a request built by [`ServerRef::call_with`] carries its own
//!   [`ReplyTo`] (GenServer's `from`), which the server may answer at once, later from another
//!   callback, or hand to another process (`{:noreply, state}` and `GenServer.reply/2`).
//! - [`ServerContext::continue_with`] asks for [`Server::handle_continue`] to run before the
//!   next message (`{:continue, arg}`); [`ServerContext::timeout_after`] asks for
//!   [`Server::handle_timeout`] if no message arrives in time (`{:noreply, state, timeout}`
//!   then `handle_info(:timeout)`; the mailbox is typed, so the timeout has its own callback).
//!   An observer's request for the state does not restart the idle timeout.
//! - A panic in a callback crashes the server with the panic message as reason; `terminate`
//!   still runs. An exit signal from the parent (the process that started it with
//!   `start_link`), when trapping exits, stops the server with that reason (through
//!   `terminate`); other exit signals and DOWNs go to `handle_info`. A server started with
//!   `start` (no link) is its own parent, as in OTP: its starter's exit signals are like any
//!   other process's.
//! - To stop from a callback, call [`ServerContext::stop`]; the server stops after the
//!   callback. [`ServerRef::stop`] fails if the server exits with another reason than the one
//!   asked (its `terminate` panicked, or a kill overtook the stop).

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::context::{Addr, Context, Inbox, SpawnOptions, Spawner, bear_process, spawn_task};
use super::error::{CallError, SendError, StartError};
use super::exit::ExitReason;
use super::introspect::ProcessKind;
use super::node::{Node, NodeShared};
use super::pid::Pid;
use super::process::{
    AnyProcess, Cell, DeferredTask, Message, OnBehalf, StateReport, catch_panic, current_process,
};

/// The default call timeout, as in GenServer.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A gen-server: its state is `self`; the runtime calls these callbacks one at a time.
pub trait Server: Send + Sized + 'static {
    /// Requests answered with a reply.
    type Call: Send + 'static;
    /// The reply to a [`call`](ServerRef::call). A server whose requests carry their own
    /// [`ReplyTo`] (see [`ServerRef::call_with`]) can make it `()`.
    type Reply: Send + 'static;
    /// Requests without a reply.
    type Cast: Send + 'static;
    /// Plain messages, handled by `handle_info` with exit signals and DOWNs.
    type Info: Send + 'static;
    /// What [`ServerContext::continue_with`] hands to `handle_continue` (`()` if unused).
    type Continue: Send + 'static;

    /// The behaviour label observers show (default: the type's name).
    fn label(&self) -> Arc<str> {
        let name = std::any::type_name::<Self>();
        let short = name.split('<').next().unwrap_or(name);
        short.rsplit("::").next().unwrap_or(short).into()
    }

    /// Runs in the new process before the start returns; an error stops it with that reason.
    fn init(
        &mut self,
        ctx: &mut ServerContext<Self>,
    ) -> impl Future<Output = Result<(), ExitReason>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Answers a call. For a request built by [`ServerRef::call_with`], the answer goes
    /// through the [`ReplyTo`] the request carries, and what this returns is dropped.
    fn handle_call(
        &mut self,
        request: Self::Call,
        ctx: &mut ServerContext<Self>,
    ) -> impl Future<Output = Self::Reply> + Send;

    /// Handles a cast.
    fn handle_cast(
        &mut self,
        message: Self::Cast,
        ctx: &mut ServerContext<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (message, ctx);
        async {}
    }

    /// Handles a plain message, a trapped exit signal or a DOWN.
    fn handle_info(
        &mut self,
        message: Message<Self::Info>,
        ctx: &mut ServerContext<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (message, ctx);
        async {}
    }

    /// Runs what a callback asked for with [`ServerContext::continue_with`], before the next
    /// message (GenServer's `handle_continue`).
    fn handle_continue(
        &mut self,
        argument: Self::Continue,
        ctx: &mut ServerContext<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (argument, ctx);
        async {}
    }

    /// Runs when nothing arrived within the time a callback gave
    /// [`ServerContext::timeout_after`] (GenServer's `handle_info(:timeout, state)`).
    fn handle_timeout(&mut self, ctx: &mut ServerContext<Self>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// Runs when the server stops: after [`ServerContext::stop`], a stop request, a callback
    /// panic, or an exit signal from its parent while trapping exits. Not run when the process
    /// is killed by a signal it does not trap. If it panics, the server exits with that panic
    /// instead of `reason`, as a crash in gen_server's terminate does.
    fn terminate(
        &mut self,
        reason: &ExitReason,
        ctx: &mut ServerContext<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, ctx);
        async {}
    }

    /// Describes the state for observers, on demand (default: nothing).
    fn describe(&self) -> StateReport {
        Vec::new()
    }
}

/// What a server's callbacks get: the process's [`Context`] (through `Deref`), a handle to the
/// server itself, and the ways a callback says what comes next: stop, continue, time out.
pub struct ServerContext<S: Server> {
    context: Context,
    /// This server, to hand out or to send itself a message.
    myself: Addr<ServerMsg<S>>,
    /// Set by [`stop`](Self::stop): the server stops once the callback returns.
    stop: Option<ExitReason>,
    /// Set by [`continue_with`](Self::continue_with): runs before the next message.
    continuation: Option<S::Continue>,
    /// Set by [`timeout_after`](Self::timeout_after): how long the next wait may last.
    idle_timeout: Option<Duration>,
}

impl<S: Server> ServerContext<S> {
    /// Stops the server with `reason` once the current callback returns (a call's reply is
    /// still sent).
    pub fn stop(&mut self, reason: ExitReason) {
        self.stop = Some(reason);
    }

    /// Runs [`Server::handle_continue`] with `argument` once the current callback returns,
    /// before any message (init included: the start returns first, then it runs). A later
    /// call replaces an earlier one within the same callback.
    pub fn continue_with(&mut self, argument: S::Continue) {
        self.continuation = Some(argument);
    }

    /// If no message arrives within `after` once the current callback returns, runs
    /// [`Server::handle_timeout`]. Any message cancels it (a request for the state from an
    /// observer does not); it applies to the wait that follows this callback only, so a
    /// callback that also asks for a continue leaves the timeout to `handle_continue`.
    pub fn timeout_after(&mut self, after: Duration) {
        self.idle_timeout = Some(after);
    }

    /// A handle to this server, to hand to others or to send itself a message.
    pub fn myself(&self) -> ServerRef<S> {
        ServerRef {
            addr: self.myself.clone(),
            node: self.context.node.clone(),
        }
    }

    /// The process's context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

impl<S: Server> Deref for ServerContext<S> {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.context
    }
}

impl<S: Server> DerefMut for ServerContext<S> {
    fn deref_mut(&mut self) -> &mut Context {
        &mut self.context
    }
}

/// A caller waiting for a reply of type `T` (GenServer's `from`): a request built by
/// [`ServerRef::call_with`] carries one. Answer it at once, later from another callback, or
/// from another process it was handed to. Dropped unanswered, the caller waits until its
/// timeout or the server's exit, as on the BEAM.
pub struct ReplyTo<T> {
    sender: oneshot::Sender<T>,
}

impl<T> ReplyTo<T> {
    /// Answers the caller; hands `value` back if the caller stopped waiting (it timed out,
    /// or its task ended).
    pub fn reply(self, value: T) -> Result<(), T> {
        self.sender.send(value)
    }

    /// Whether the caller still waits for the answer.
    pub fn is_waiting(&self) -> bool {
        !self.sender.is_closed()
    }
}

impl<T> std::fmt::Debug for ReplyTo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyTo")
            .field("waiting", &self.is_waiting())
            .finish()
    }
}

/// What a server's mailbox holds.
pub(crate) enum ServerMsg<S: Server> {
    /// A request, with where its reply goes: `None` when the request carries its own
    /// [`ReplyTo`].
    Call(S::Call, Option<oneshot::Sender<S::Reply>>),
    Cast(S::Cast),
    Info(S::Info),
    Stop(ExitReason),
    Describe(oneshot::Sender<StateReport>),
}

/// A handle to a running server. Cheap to clone.
pub struct ServerRef<S: Server> {
    addr: Addr<ServerMsg<S>>,
    node: Arc<NodeShared>,
}

impl<S: Server> Clone for ServerRef<S> {
    fn clone(&self) -> Self {
        Self {
            addr: self.addr.clone(),
            node: self.node.clone(),
        }
    }
}

impl<S: Server> std::fmt::Debug for ServerRef<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerRef({})", self.pid())
    }
}

impl<S: Server> ServerRef<S> {
    /// Starts a server, not linked. From a process's context, that process is shown as its
    /// parent in the tree, but the server is its own parent for exit signals, as in OTP.
    pub async fn start(
        from: &impl Spawner,
        server: S,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: false,
            ..options
        };
        start_server(
            from.origin().node,
            from.origin().parent,
            server,
            options,
            ProcessKind::Server,
        )
        .await
    }

    /// Starts a server linked to the calling process, its parent.
    pub async fn start_link(
        ctx: &Context,
        server: S,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: true,
            ..options
        };
        start_server(&ctx.node, Some(ctx), server, options, ProcessKind::Server).await
    }

    /// The handle of the live server `pid`, if it is a server of type `S`.
    pub fn from_pid(node: &Node, pid: Pid) -> Option<Self> {
        node.addr::<ServerMsg<S>>(pid).map(|addr| Self {
            addr,
            node: node.shared.clone(),
        })
    }

    /// The handle of the server registered as `name`.
    pub fn whereis(node: &Node, name: &str) -> Option<Self> {
        Self::from_pid(node, node.whereis(name)?)
    }

    /// The server's pid.
    pub fn pid(&self) -> Pid {
        self.addr.pid()
    }

    /// Whether the server is alive.
    pub fn is_alive(&self) -> bool {
        self.addr.is_alive()
    }

    /// Calls with the default 5 s timeout.
    pub async fn call(&self, request: S::Call) -> Result<S::Reply, CallError> {
        self.call_timeout(request, DEFAULT_CALL_TIMEOUT).await
    }

    /// Calls and waits at most `timeout` for the reply.
    pub async fn call_timeout(
        &self,
        request: S::Call,
        timeout: Duration,
    ) -> Result<S::Reply, CallError> {
        let (sender, receiver) = oneshot::channel();
        let message = ServerMsg::Call(request, Some(sender));
        self.request(message, receiver, Some(timeout)).await
    }

    /// Calls with a request that carries its own reply handle, made by `request` from a
    /// [`ReplyTo<T>`]: the server answers through it, at once or later (a deferred reply),
    /// and the reply's type is the request's own. Default 5 s timeout.
    pub async fn call_with<T: Send + 'static>(
        &self,
        request: impl FnOnce(ReplyTo<T>) -> S::Call,
    ) -> Result<T, CallError> {
        self.call_with_timeout(request, DEFAULT_CALL_TIMEOUT).await
    }

    /// [`call_with`](Self::call_with), waiting at most `timeout`.
    pub async fn call_with_timeout<T: Send + 'static>(
        &self,
        request: impl FnOnce(ReplyTo<T>) -> S::Call,
        timeout: Duration,
    ) -> Result<T, CallError> {
        let (sender, receiver) = oneshot::channel();
        let message = ServerMsg::Call(request(ReplyTo { sender }), None);
        self.request(message, receiver, Some(timeout)).await
    }

    /// [`call_with`](Self::call_with) with no timeout (`:infinity`), as supervisors are
    /// called; no timer is armed.
    pub(crate) async fn call_with_infinity<T: Send + 'static>(
        &self,
        request: impl FnOnce(ReplyTo<T>) -> S::Call,
    ) -> Result<T, CallError> {
        let (sender, receiver) = oneshot::channel();
        let message = ServerMsg::Call(request(ReplyTo { sender }), None);
        self.request(message, receiver, None).await
    }

    /// Sends a request and waits for its reply until `timeout` (`None`: as long as it takes).
    async fn request<T>(
        &self,
        message: ServerMsg<S>,
        receiver: oneshot::Receiver<T>,
        timeout: Option<Duration>,
    ) -> Result<T, CallError> {
        let pid = self.pid();
        if current_process() == Some(pid) {
            return Err(CallError::CallingSelf(pid));
        }
        if self.addr.send(message).is_err() {
            return Err(CallError::NoProc(pid));
        }
        let timed_out = || CallError::Timeout {
            pid,
            timeout_ms: timeout.map_or(0, |timeout| timeout.as_millis() as u64),
        };
        // The default timeout waits in the node's deadline queue: no timer, no clock read.
        let timer = &self.node.call_timer;
        if timeout == Some(timer.timeout()) {
            let mut deadline = timer.deadline(&self.node.handle);
            let answer = deadline.within(receiver).await.ok_or_else(timed_out)?;
            if let Ok(reply) = answer {
                return Ok(reply);
            }
            let exited = deadline
                .within(self.exit_reason())
                .await
                .ok_or_else(timed_out)?;
            return Err(CallError::Exited {
                pid,
                reason: exited,
            });
        }
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let answer = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, receiver).await {
                Ok(answer) => answer,
                Err(_) => return Err(timed_out()),
            },
            None => receiver.await,
        };
        if let Ok(reply) = answer {
            return Ok(reply);
        }
        // No reply will come: the server exited, or dropped the reply handle unanswered. As
        // on the BEAM, the caller then waits for the server's exit or for its timeout.
        let exited = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, self.exit_reason())
                .await
                .map_err(|_| timed_out())?,
            None => self.exit_reason().await,
        };
        Err(CallError::Exited {
            pid,
            reason: exited,
        })
    }

    /// Casts; hands the message back if the server is dead.
    pub fn cast(&self, message: S::Cast) -> Result<(), SendError<S::Cast>> {
        let wrap = |message| Message::User(ServerMsg::Cast(message));
        self.addr.cell().push_with(message, wrap).map_err(SendError)
    }

    /// Sends a plain message, for `handle_info`.
    pub fn send(&self, message: S::Info) -> Result<(), SendError<S::Info>> {
        let wrap = |message| Message::User(ServerMsg::Info(message));
        self.addr.cell().push_with(message, wrap).map_err(SendError)
    }

    /// Stops the server with `reason` (through `terminate`) and waits until it has exited,
    /// as `GenServer.stop/2` does. Fails with [`CallError::StoppedWith`] if it exited with
    /// another reason.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), CallError> {
        let pid = self.pid();
        if current_process() == Some(pid) {
            return Err(CallError::CallingSelf(pid));
        }
        if self.addr.send(ServerMsg::Stop(reason.clone())).is_err() {
            return Err(CallError::NoProc(pid));
        }
        let exited = self.exit_reason().await;
        if exited == reason {
            Ok(())
        } else {
            Err(CallError::StoppedWith {
                pid,
                asked: reason,
                reason: exited,
            })
        }
    }

    /// Asks the server to describe its state.
    pub async fn describe(&self) -> Result<StateReport, CallError> {
        let pid = self.pid();
        if current_process() == Some(pid) {
            return Err(CallError::CallingSelf(pid));
        }
        let receiver = request_describe(self.addr.cell()).ok_or(CallError::NoProc(pid))?;
        match tokio::time::timeout(DEFAULT_CALL_TIMEOUT, receiver).await {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(_)) => Err(CallError::Exited {
                pid,
                reason: self.exit_reason().await,
            }),
            Err(_) => Err(CallError::Timeout {
                pid,
                timeout_ms: DEFAULT_CALL_TIMEOUT.as_millis() as u64,
            }),
        }
    }

    /// Waits until the server has exited and gives its exit reason.
    async fn exit_reason(&self) -> ExitReason {
        let core = &self.addr.cell().core;
        if let Some(reason) = core.exit_reason.get() {
            return reason.clone();
        }
        let watched = self.node.watch(self.pid()).await;
        core.exit_reason.get().cloned().unwrap_or(watched)
    }

    /// The node the server runs on.
    pub fn node(&self) -> Node {
        Node::from_shared(self.node.clone())
    }
}

fn request_describe<S: Server>(
    cell: &Arc<Cell<ServerMsg<S>>>,
) -> Option<oneshot::Receiver<StateReport>> {
    let (sender, receiver) = oneshot::channel();
    cell.push(Message::User(ServerMsg::Describe(sender))).ok()?;
    Some(receiver)
}

/// [`request_describe`] for a process handed over untyped, as the node's table holds it.
fn describe_any<S: Server>(
    process: Arc<dyn std::any::Any + Send + Sync>,
) -> Option<oneshot::Receiver<StateReport>> {
    request_describe(&process.downcast::<Cell<ServerMsg<S>>>().ok()?)
}

/// A process born for a server whose init is running: if the start is abandoned before init
/// returns (the starting task is dropped: its own process was killed, or a caller stopped
/// waiting), the new process exits with `killed`, as a GenServer whose start times out is
/// killed. Disarmed once init has returned.
struct Unborn<'a> {
    node: &'a Arc<NodeShared>,
    process: Option<Arc<dyn AnyProcess>>,
}

impl Unborn<'_> {
    /// Init returned: the process's fate is the caller's to decide.
    fn disarm(mut self) {
        self.process = None;
    }
}

impl Drop for Unborn<'_> {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            // The doom's reason if a signal ended it, else `killed`.
            let reason = process.core().doom_reason();
            self.node.finish(&process, reason);
        }
    }
}

/// Starts a server process: creates it, runs its init, then spawns its task for the loop.
///
/// Init runs in the calling task on the new process's behalf (with the new process's context:
/// its pid, links, trap_exit), where OTP runs it in the new process while the caller waits:
/// the caller waits here too, and two task hand-offs are saved per start. A signal that dooms
/// the new process during init ends the init at its next await, as it would in the process's
/// own task; one that doomed it after init's last await (a link to a dead pid, a kill) fails
/// the start too. A failed init finishes the process before this returns (as `proc_lib`
/// since OTP 26: its name is free and its links have fired when the caller sees the error).
pub(crate) async fn start_server<S: Server>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    mut server: S,
    options: SpawnOptions,
    kind: ProcessKind,
) -> Result<ServerRef<S>, StartError> {
    let label = server.label();
    // The parent whose exit signal stops the server: its starter, if linked to it.
    let exit_parent = parent.filter(|_| options.link).map(Context::pid);
    let born = bear_process::<ServerMsg<S>>(node, parent, options, kind, &label)?;
    let describer: super::process::Describer = describe_any::<S>;
    born.cell.core.describer.set(describer).ok();
    let unborn = Unborn {
        node,
        process: Some(born.process.clone()),
    };
    let mut ctx = ServerContext {
        context: born.context,
        myself: Addr::from_cell(born.cell.clone()),
        stop: None,
        continuation: None,
        idle_timeout: None,
    };
    let init = {
        let future = std::pin::pin!(server.init(&mut ctx));
        OnBehalf {
            core: &born.cell.core,
            future,
        }
        .await
    };
    // The starter is done acting for the process: a kill from now on is the process's own
    // task's to see (at its first poll), or ends a deferred one at once; it must not wake
    // the starter (a supervisor stopping a million idle children would be woken by each).
    born.cell.core.task_waker.lock().take();
    unborn.disarm();
    // A start never returns a process that is already dying.
    let core = &born.cell.core;
    let init = init.and_then(|()| {
        if core.doomed.load(std::sync::atomic::Ordering::Acquire) {
            Err(core.doom_reason())
        } else {
            Ok(())
        }
    });
    if let Err(reason) = init {
        node.finish(&born.process, reason.clone());
        return Err(StartError::Init(reason));
    }
    let addr = ctx.myself.clone();
    let inbox = born.inbox;
    // Something to do before the first message: the task cannot wait for one.
    let busy = ctx.continuation.is_some() || ctx.idle_timeout.is_some();
    // It holds what the task needs and no more (the node, the cell and the untyped process
    // are taken from the context when it runs): an idle server is mostly this box.
    let task: DeferredTask = Box::new(move || {
        let node = ctx.context.node.clone();
        let cell = ctx.myself.cell().clone();
        let process: Arc<dyn AnyProcess> = cell.clone();
        spawn_task(&node, cell, process, move || {
            run_server(server, ctx, inbox, exit_parent)
        });
    });
    // The task is spawned at the first message or signal; see `Cell::defer_task`.
    if busy {
        task();
    } else if let Err(task) = addr.cell().defer_task(task) {
        task();
    }
    Ok(ServerRef {
        addr,
        node: node.clone(),
    })
}

/// What ended a server's wait.
enum Woken<S: Server> {
    Message(Message<ServerMsg<S>>),
    /// Nothing arrived in the time the last callback gave.
    Timeout,
}

/// The server's loop, once init has returned. Not an `async fn`: the block captures its
/// arguments and uses them in place, where an `async fn` would keep a second copy of each in
/// its state.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would copy its arguments"
)]
fn run_server<S: Server>(
    mut server: S,
    mut ctx: ServerContext<S>,
    mut inbox: Inbox<ServerMsg<S>>,
    parent: Option<Pid>,
) -> impl Future<Output = ExitReason> + Send {
    async move {
        loop {
            let handled = if let Some(argument) = ctx.continuation.take() {
                ctx.idle_timeout = None;
                catch_panic(server.handle_continue(argument, &mut ctx)).await
            } else {
                // Without an idle timeout (the common case) the next message as it comes;
                // the match stays in this loop, where the message is handled in place.
                let woken = if ctx.idle_timeout.is_none() {
                    Woken::Message(inbox.recv().await)
                } else {
                    wait(&mut server, &mut ctx, &mut inbox).await
                };
                match woken {
                    Woken::Timeout => catch_panic(server.handle_timeout(&mut ctx)).await,
                    Woken::Message(Message::User(ServerMsg::Call(request, reply))) => {
                        catch_panic(server.handle_call(request, &mut ctx))
                            .await
                            .map(|answer| {
                                if let Some(reply) = reply {
                                    reply.send(answer).ok();
                                }
                            })
                    }
                    Woken::Message(Message::User(ServerMsg::Cast(message))) => {
                        catch_panic(server.handle_cast(message, &mut ctx)).await
                    }
                    Woken::Message(Message::User(ServerMsg::Info(message))) => {
                        catch_panic(server.handle_info(Message::User(message), &mut ctx)).await
                    }
                    Woken::Message(Message::User(ServerMsg::Stop(reason))) => {
                        ctx.stop = Some(reason);
                        Ok(())
                    }
                    Woken::Message(Message::User(ServerMsg::Describe(reply))) => {
                        answer_describe(&server, reply);
                        Ok(())
                    }
                    Woken::Message(Message::Exit(exit)) if Some(exit.from) == parent => {
                        ctx.stop = Some(exit.reason);
                        Ok(())
                    }
                    Woken::Message(Message::Exit(exit)) => {
                        catch_panic(server.handle_info(Message::Exit(exit), &mut ctx)).await
                    }
                    Woken::Message(Message::Down(down)) => {
                        catch_panic(server.handle_info(Message::Down(down), &mut ctx)).await
                    }
                }
            };
            let reason = match handled {
                Err(panic) => panic,
                Ok(()) => match ctx.stop.take() {
                    Some(reason) => reason,
                    None => continue,
                },
            };
            // As in gen_server, a crash in terminate replaces the exit reason.
            return match catch_panic(server.terminate(&reason, &mut ctx)).await {
                Ok(()) => reason,
                Err(panic) => panic,
            };
        }
    }
}

/// Waits for the next message within the idle timeout the last callback asked for. An
/// observer's request for the state is answered here and does not restart the timeout.
async fn wait<S: Server>(
    server: &mut S,
    ctx: &mut ServerContext<S>,
    inbox: &mut Inbox<ServerMsg<S>>,
) -> Woken<S> {
    let deadline = Instant::now() + ctx.idle_timeout.take().unwrap_or_default();
    loop {
        let Ok(message) = tokio::time::timeout_at(deadline, inbox.recv()).await else {
            return Woken::Timeout;
        };
        match message {
            Message::User(ServerMsg::Describe(reply)) => answer_describe(server, reply),
            message => return Woken::Message(message),
        }
    }
}

/// Answers an observer's request for the state; a `describe` that panics gives no rows and
/// leaves the server running.
fn answer_describe<S: Server>(server: &S, reply: oneshot::Sender<StateReport>) {
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.describe()));
    reply.send(report.unwrap_or_default()).ok();
}
