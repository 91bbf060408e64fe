//! Agents: a process holding a state of type `S`, read and changed with closures, as
//! Elixir's `Agent`.
//!
//! Every operation but `cast` is a call (5 s timeout). `stop(reason)` stops the agent with
//! that reason and waits for it to exit; the seed stops a bucket with `shutdown`.

use std::sync::Arc;
use std::time::Duration;

use super::context::{Context, SpawnOptions, Spawner};
use super::error::{CallError, StartError};
use super::exit::ExitReason;
use super::introspect::ProcessKind;
use super::node::Node;
use super::pid::Pid;
use super::process::StateReport;
use super::server::{
    DEFAULT_CALL_TIMEOUT, ReplyTo, Server, ServerContext, ServerRef, start_server,
};

/// An operation on the state; a call's operation answers its caller itself, through the
/// [`ReplyTo`](super::ReplyTo) it captured, so its result keeps its type.
type Operation<S> = Box<dyn FnOnce(&mut S) + Send>;

/// A handle to an agent holding an `S`. Cheap to clone.
pub struct Agent<S: Send + 'static> {
    server: ServerRef<AgentServer<S>>,
}

impl<S: Send + 'static> Clone for Agent<S> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
        }
    }
}

impl<S: Send + 'static> std::fmt::Debug for Agent<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Agent({})", self.pid())
    }
}

/// The server behind an agent.
struct AgentServer<S> {
    init: Option<Box<dyn FnOnce() -> S + Send>>,
    state: Option<S>,
    label: Arc<str>,
    describe: Option<fn(&S) -> StateReport>,
}

impl<S: Send + 'static> Server for AgentServer<S> {
    type Call = Operation<S>;
    type Reply = ();
    type Cast = Operation<S>;
    type Info = ();
    type Continue = ();

    fn label(&self) -> Arc<str> {
        self.label.clone()
    }

    async fn init(&mut self, _ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        if let Some(init) = self.init.take() {
            self.state = Some(init());
        }
        Ok(())
    }

    async fn handle_call(&mut self, operation: Operation<S>, _ctx: &mut ServerContext<Self>) {
        if let Some(state) = self.state.as_mut() {
            operation(state);
        }
    }

    async fn handle_cast(&mut self, operation: Operation<S>, _ctx: &mut ServerContext<Self>) {
        if let Some(state) = self.state.as_mut() {
            operation(state);
        }
    }

    fn describe(&self) -> StateReport {
        match (self.describe, self.state.as_ref()) {
            (Some(describe), Some(state)) => describe(state),
            _ => Vec::new(),
        }
    }
}

impl<S: Send + 'static> Agent<S> {
    /// Starts an agent whose state is `init()`, not linked.
    pub async fn start(
        from: &impl Spawner,
        init: impl FnOnce() -> S + Send + 'static,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        Self::spawn(
            from.origin().node,
            from.origin().parent,
            init,
            options,
            false,
            None,
        )
        .await
    }

    /// Starts an agent linked to the calling process.
    pub async fn start_link(
        ctx: &Context,
        init: impl FnOnce() -> S + Send + 'static,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        Self::spawn(&ctx.node, Some(ctx), init, options, true, None).await
    }

    /// Starts an agent linked to the calling process, which describes its state to observers
    /// with `describe`.
    pub async fn start_link_described(
        ctx: &Context,
        init: impl FnOnce() -> S + Send + 'static,
        options: SpawnOptions,
        describe: fn(&S) -> StateReport,
    ) -> Result<Self, StartError> {
        Self::spawn(&ctx.node, Some(ctx), init, options, true, Some(describe)).await
    }

    async fn spawn(
        node: &Arc<super::node::NodeShared>,
        parent: Option<&Context>,
        init: impl FnOnce() -> S + Send + 'static,
        options: SpawnOptions,
        link: bool,
        describe: Option<fn(&S) -> StateReport>,
    ) -> Result<Self, StartError> {
        let label = options
            .label
            .clone()
            .unwrap_or_else(|| super::introspect::AGENT_LABEL.clone());
        let server = AgentServer {
            init: Some(Box::new(init)),
            state: None,
            label,
            describe,
        };
        let options = SpawnOptions { link, ..options };
        let server = start_server(node, parent, server, options, ProcessKind::Agent).await?;
        Ok(Self { server })
    }

    /// The handle of the live agent `pid`, if it holds an `S`.
    pub fn from_pid(node: &Node, pid: Pid) -> Option<Self> {
        ServerRef::from_pid(node, pid).map(|server| Self { server })
    }

    /// The agent's pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// Whether the agent is alive.
    pub fn is_alive(&self) -> bool {
        self.server.is_alive()
    }

    /// Reads the state through `f`.
    pub async fn get<T: Send + 'static>(
        &self,
        f: impl FnOnce(&S) -> T + Send + 'static,
    ) -> Result<T, CallError> {
        self.get_and_update(move |state| f(state)).await
    }

    /// Changes the state with `f`.
    pub async fn update(&self, f: impl FnOnce(&mut S) + Send + 'static) -> Result<(), CallError> {
        self.get_and_update(f).await
    }

    /// Changes the state with `f` and returns what `f` returns.
    pub async fn get_and_update<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> T + Send + 'static,
    ) -> Result<T, CallError> {
        self.get_and_update_timeout(f, DEFAULT_CALL_TIMEOUT).await
    }

    /// [`get_and_update`](Self::get_and_update) with a timeout.
    pub async fn get_and_update_timeout<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> T + Send + 'static,
        timeout: Duration,
    ) -> Result<T, CallError> {
        let operation = |reply: ReplyTo<T>| -> Operation<S> {
            Box::new(move |state| {
                reply.reply(f(state)).ok();
            })
        };
        self.server.call_with_timeout(operation, timeout).await
    }

    /// Changes the state with `f` without waiting.
    pub fn cast(&self, f: impl FnOnce(&mut S) + Send + 'static) -> Result<(), CallError> {
        self.server
            .cast(Box::new(f))
            .map_err(|_| CallError::NoProc(self.pid()))
    }

    /// Stops the agent with `reason` and waits until it has exited.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), CallError> {
        self.server.stop(reason).await
    }
}
