//! Gen-server-style servers: a [`Server`] trait with init, handle_call, handle_cast,
//! handle_info and terminate, and [`ServerRef`] to start one, call it and cast to it.
//!
//! As in GenServer:
//! - `start`/`start_link` return once `init` has returned; an init error (or panic) makes the
//!   start fail and the process exit with that reason (a linked, non-trapping caller then dies
//!   too, as on the BEAM). A failed start returns only after the process has exited (as
//!   `proc_lib` does since OTP 26), so its name is already free.
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
//!   that exited during the call apart. A late reply after a timeout is dropped.
//! - A panic in a callback crashes the server with the panic message as reason; `terminate`
//!   still runs. An exit signal from the parent, when trapping exits, stops the server with
//!   that reason (through `terminate`); other exit signals and DOWNs go to `handle_info`.
//! - To stop from a callback, call [`ServerContext::stop`]; the server stops after the callback.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::context::{Addr, Context, Inbox, SpawnOptions, Spawner, bear_process, spawn_task};
use super::error::{CallError, SendError, StartError};
use super::exit::ExitReason;
use super::introspect::ProcessKind;
use super::node::{Node, NodeShared};
use super::pid::Pid;
use super::process::{AnyProcess, Cell, DeferredTask, Message, OnBehalf, StateReport, catch_panic};

/// The default call timeout, as in GenServer.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A gen-server: its state is `self`; the runtime calls these callbacks one at a time.
pub trait Server: Send + Sized + 'static {
    /// Requests answered with a reply.
    type Call: Send + 'static;
    /// The reply to a call.
    type Reply: Send + 'static;
    /// Requests without a reply.
    type Cast: Send + 'static;
    /// Plain messages, handled by `handle_info` with exit signals and DOWNs.
    type Info: Send + 'static;

    /// The behaviour label observers show (default: the type's name).
    fn label(&self) -> Arc<str> {
        let name = std::any::type_name::<Self>();
        let short = name.split('<').next().unwrap_or(name);
        short.rsplit("::").next().unwrap_or(short).into()
    }

    /// Runs in the new process before the start returns; an error stops it with that reason.
    fn init(
        &mut self,
        ctx: &mut ServerContext,
    ) -> impl Future<Output = Result<(), ExitReason>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Answers a call.
    fn handle_call(
        &mut self,
        request: Self::Call,
        ctx: &mut ServerContext,
    ) -> impl Future<Output = Self::Reply> + Send;

    /// Handles a cast.
    fn handle_cast(
        &mut self,
        message: Self::Cast,
        ctx: &mut ServerContext,
    ) -> impl Future<Output = ()> + Send {
        let _ = (message, ctx);
        async {}
    }

    /// Handles a plain message, a trapped exit signal or a DOWN.
    fn handle_info(
        &mut self,
        message: Message<Self::Info>,
        ctx: &mut ServerContext,
    ) -> impl Future<Output = ()> + Send {
        let _ = (message, ctx);
        async {}
    }

    /// Runs when the server stops: after [`ServerContext::stop`], a stop request, a callback
    /// panic, or an exit signal from its parent while trapping exits. Not run when the process
    /// is killed by a signal it does not trap. If it panics, the server exits with that panic
    /// instead of `reason`, as a crash in gen_server's terminate does.
    fn terminate(
        &mut self,
        reason: &ExitReason,
        ctx: &mut ServerContext,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, ctx);
        async {}
    }

    /// Describes the state for observers, on demand (default: nothing).
    fn describe(&self) -> StateReport {
        Vec::new()
    }
}

/// What a server's callbacks get: the process's [`Context`] (through `Deref`) and a way to
/// stop.
pub struct ServerContext {
    context: Context,
    stop: Option<ExitReason>,
}

impl ServerContext {
    /// Stops the server with `reason` once the current callback returns (a call's reply is
    /// still sent).
    pub fn stop(&mut self, reason: ExitReason) {
        self.stop = Some(reason);
    }

    /// The process's context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

impl Deref for ServerContext {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.context
    }
}

impl DerefMut for ServerContext {
    fn deref_mut(&mut self) -> &mut Context {
        &mut self.context
    }
}

/// What a server's mailbox holds.
pub(crate) enum ServerMsg<S: Server> {
    Call(S::Call, oneshot::Sender<S::Reply>),
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
    /// Starts a server, not linked; from a process's context, that process is its parent.
    pub async fn start(
        from: &impl Spawner,
        server: S,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: false,
            monitor: false,
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

    /// Starts a server linked to the calling process.
    pub async fn start_link(
        ctx: &Context,
        server: S,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: true,
            monitor: false,
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
        let pid = self.pid();
        let (sender, receiver) = oneshot::channel();
        if self.addr.send(ServerMsg::Call(request, sender)).is_err() {
            return Err(CallError::NoProc(pid));
        }
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(CallError::Exited {
                pid,
                reason: self.exit_reason().await,
            }),
            Err(_) => Err(CallError::Timeout {
                pid,
                timeout_ms: timeout.as_millis() as u64,
            }),
        }
    }

    /// Calls with no timeout (`:infinity`), as supervisors are called for starting and
    /// stopping children; no timer is armed.
    pub(crate) async fn call_infinity(&self, request: S::Call) -> Result<S::Reply, CallError> {
        let pid = self.pid();
        let (sender, receiver) = oneshot::channel();
        if self.addr.send(ServerMsg::Call(request, sender)).is_err() {
            return Err(CallError::NoProc(pid));
        }
        match receiver.await {
            Ok(reply) => Ok(reply),
            Err(_) => Err(CallError::Exited {
                pid,
                reason: self.exit_reason().await,
            }),
        }
    }

    /// Casts; hands the message back if the server is dead.
    pub fn cast(&self, message: S::Cast) -> Result<(), SendError<S::Cast>> {
        self.addr
            .send(ServerMsg::Cast(message))
            .map_err(|SendError(returned)| match returned {
                ServerMsg::Cast(message) => SendError(message),
                _ => unreachable!("send hands back what it got"),
            })
    }

    /// Sends a plain message, for `handle_info`.
    pub fn send(&self, message: S::Info) -> Result<(), SendError<S::Info>> {
        self.addr
            .send(ServerMsg::Info(message))
            .map_err(|SendError(returned)| match returned {
                ServerMsg::Info(message) => SendError(message),
                _ => unreachable!("send hands back what it got"),
            })
    }

    /// Stops the server with `reason` (through `terminate`) and waits until it has exited,
    /// as `GenServer.stop/2` does.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), CallError> {
        let pid = self.pid();
        if self.addr.send(ServerMsg::Stop(reason)).is_err() {
            return Err(CallError::NoProc(pid));
        }
        self.exit_reason().await;
        Ok(())
    }

    /// Asks the server to describe its state.
    pub async fn describe(&self) -> Result<StateReport, CallError> {
        let pid = self.pid();
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
/// own task. A failed init finishes the process before this returns (as `proc_lib` since
/// OTP 26: its name is free and its links have fired when the caller sees the error).
pub(crate) async fn start_server<S: Server>(
    node: &Arc<NodeShared>,
    parent: Option<&Context>,
    mut server: S,
    options: SpawnOptions,
    kind: ProcessKind,
) -> Result<ServerRef<S>, StartError> {
    let label = server.label();
    let born = bear_process::<ServerMsg<S>>(node, parent, options, kind, &label)?;
    let describer: super::process::Describer = describe_any::<S>;
    born.cell.core.describer.set(describer).ok();
    let unborn = Unborn {
        node,
        process: Some(born.process.clone()),
    };
    let mut ctx = ServerContext {
        context: born.context,
        stop: None,
    };
    let init = {
        let future = std::pin::pin!(server.init(&mut ctx));
        OnBehalf {
            core: &born.cell.core,
            future,
        }
        .await
    };
    unborn.disarm();
    if let Err(reason) = init {
        node.finish(&born.process, reason.clone());
        return Err(StartError::Init(reason));
    }
    let addr = Addr::from_cell(born.cell.clone());
    let spawner = node.clone();
    let inbox = born.inbox;
    let task: DeferredTask = Box::new(move || {
        spawn_task(&spawner, born.cell, born.process, born.monitor, move || {
            run_server(server, ctx, inbox)
        });
    });
    // The task is spawned at the first message or signal; see `Cell::defer_task`.
    if let Err(task) = addr.cell().defer_task(task) {
        task();
    }
    Ok(ServerRef {
        addr,
        node: node.clone(),
    })
}

/// The server's loop, once init has returned. Not an `async fn`: the block captures its
/// arguments and uses them in place, where an `async fn` would keep a second copy of each in
/// its state.
fn run_server<S: Server>(
    mut server: S,
    mut ctx: ServerContext,
    mut inbox: Inbox<ServerMsg<S>>,
) -> impl Future<Output = ExitReason> + Send {
    let parent = ctx.context.process.core().state.lock().meta.parent;
    async move {
        loop {
            let handled = match inbox.recv().await {
                Message::User(ServerMsg::Call(request, reply)) => {
                    catch_panic(server.handle_call(request, &mut ctx))
                        .await
                        .map(|answer| {
                            reply.send(answer).ok();
                        })
                }
                Message::User(ServerMsg::Cast(message)) => {
                    catch_panic(server.handle_cast(message, &mut ctx)).await
                }
                Message::User(ServerMsg::Info(message)) => {
                    catch_panic(server.handle_info(Message::User(message), &mut ctx)).await
                }
                Message::User(ServerMsg::Stop(reason)) => {
                    ctx.stop = Some(reason);
                    Ok(())
                }
                Message::User(ServerMsg::Describe(reply)) => {
                    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        server.describe()
                    }));
                    reply.send(report.unwrap_or_default()).ok();
                    Ok(())
                }
                Message::Exit(exit) if Some(exit.from) == parent => {
                    ctx.stop = Some(exit.reason);
                    Ok(())
                }
                Message::Exit(exit) => {
                    catch_panic(server.handle_info(Message::Exit(exit), &mut ctx)).await
                }
                Message::Down(down) => {
                    catch_panic(server.handle_info(Message::Down(down), &mut ctx)).await
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
