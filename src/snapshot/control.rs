//! Commands from a view to a node: exit signals, state on demand, and application commands.
//!
//! [`Control`] carries out a [`Command`] on a [`Node`]: `Exit` sends an exit signal from the
//! node itself, `GetState` asks the process to describe its state (a bucket lists its keys
//! and values, the registry its names, a supervisor its child specs and restarts). Commands
//! that belong to an application (the KV demo's) go to the [`AppControl`] installed with
//! [`Control::with_app`]; without one they fail with `not supported`.
//!
//! Errors name the problem: a pid that never lived or is long gone is `no process`, one that
//! died recently is `dead` with its exit reason.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::runtime::{CallError, Node};

use super::convert;
use super::model::{Command, CommandError, Pid, Reply, StateRow};

/// The future an [`AppControl`] returns.
pub type AppFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, CommandError>> + Send + 'a>>;

/// The hook an application implements to take its own commands (the KV demo: create a
/// bucket, put, get, delete, create many buckets).
pub trait AppControl: Send + Sync + 'static {
    /// Carries out `command` (one with [`Command::is_app`]); returns
    /// [`CommandError::NotSupported`] for a command it does not know.
    fn execute(&self, command: Command) -> AppFuture<'_>;
}

/// Carries out commands on one node. Cheap to clone.
#[derive(Clone)]
pub struct Control {
    /// The node commands act on.
    node: Node,
    /// The application's command handler, if one is installed.
    app: Option<Arc<dyn AppControl>>,
}

impl Control {
    /// Commands on `node`, with no application handler.
    pub fn new(node: &Node) -> Self {
        Self {
            node: node.clone(),
            app: None,
        }
    }

    /// Installs the application's handler for [`Command::is_app`] commands.
    pub fn with_app(mut self, app: Arc<dyn AppControl>) -> Self {
        self.app = Some(app);
        self
    }

    /// Carries out `command`.
    pub async fn execute(&self, command: Command) -> Result<Reply, CommandError> {
        match command {
            Command::Exit { pid, reason } => {
                let target = self.node.pid(pid.serial());
                match self
                    .node
                    .exit(target, convert::runtime_exit_reason(&reason))
                {
                    Ok(()) => Ok(Reply::Done),
                    Err(_) => Err(self.not_alive(pid)),
                }
            }
            Command::GetState { pid } => self.state(pid).await,
            command => match &self.app {
                Some(app) => app.execute(command).await,
                None => Err(CommandError::NotSupported(format!(
                    "{} (no application handler installed)",
                    command.name()
                ))),
            },
        }
    }

    /// Starts `command` on the node's runtime and returns at once, for callers that must not
    /// wait (a GUI frame): poll the reply with [`PendingReply::try_recv`].
    pub fn submit(&self, command: Command) -> PendingReply {
        let (sender, receiver) = oneshot::channel();
        let control = self.clone();
        self.node.handle().spawn(async move {
            sender.send(control.execute(command).await).ok();
        });
        PendingReply { receiver }
    }

    async fn state(&self, pid: Pid) -> Result<Reply, CommandError> {
        let target = self.node.pid(pid.serial());
        match self.node.describe(target).await {
            Ok(report) => Ok(Reply::State {
                pid,
                rows: report.map(|rows| {
                    rows.into_iter()
                        .map(|(key, value)| StateRow { key, value })
                        .collect()
                }),
            }),
            Err(CallError::NoProc(_)) => Err(self.not_alive(pid)),
            Err(CallError::Exited { reason, .. }) => Err(CommandError::Dead {
                pid,
                reason: convert::exit_reason(&reason),
            }),
            Err(CallError::Timeout { timeout_ms, .. }) => Err(CommandError::Timeout { timeout_ms }),
            Err(CallError::NotRegistered(name)) => Err(CommandError::UnknownName(name.to_string())),
            // A describe is neither made from inside the process nor a stop.
            Err(error @ (CallError::CallingSelf(_) | CallError::StoppedWith { .. })) => {
                Err(CommandError::App(error.to_string()))
            }
        }
    }

    /// The error for a pid that is not alive: `dead` with its reason if it died recently.
    fn not_alive(&self, pid: Pid) -> CommandError {
        let target = self.node.pid(pid.serial());
        self.node
            .recent_exits()
            .iter()
            .rev()
            .find(|dead| dead.info.pid == target)
            .map_or(CommandError::NoProcess(pid), |dead| CommandError::Dead {
                pid,
                reason: convert::exit_reason(&dead.reason),
            })
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("node", &self.node.name())
            .field("app", &self.app.is_some())
            .finish()
    }
}

/// The reply to a [`Control::submit`], once it comes.
#[derive(Debug)]
pub struct PendingReply {
    receiver: oneshot::Receiver<Result<Reply, CommandError>>,
}

impl PendingReply {
    /// The reply if it has come; `None` while the command runs.
    pub fn try_recv(&mut self) -> Option<Result<Reply, CommandError>> {
        match self.receiver.try_recv() {
            Ok(reply) => Some(reply),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(CommandError::App(
                "the command was dropped before it answered".into(),
            ))),
        }
    }

    /// Waits for the reply.
    pub async fn recv(self) -> Result<Reply, CommandError> {
        self.receiver.await.unwrap_or_else(|_| {
            Err(CommandError::App(
                "the command was dropped before it answered".into(),
            ))
        })
    }
}
