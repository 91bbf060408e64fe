//! Commands from a view to a node: exit signals, state on demand, OTP's supervisor calls,
//! and the commands of the applications installed on it.
//!
//! [`Control`] carries out a [`Command`] on a [`Node`]: `Exit` sends an exit signal from the
//! node itself, `GetState` asks the process to describe its state (a bucket lists its keys
//! and values, the registry its names, a supervisor its child specs and restarts). The
//! supervisor calls are OTP's own admin calls, made from outside the tree as an operator
//! would at a shell: `WhichChildren`, `TerminateChild`, `RestartChild`, `DeleteChild` and
//! `StopSupervisor` (`Supervisor.stop/2`, which waits until the supervisor has stopped its
//! children right to left and exited). An application's own commands go to the
//! [`AppControl`] installed for that app with [`Control::with_app`]; `RestartApp` to the
//! [`AppRestart`] installed with [`Control::with_restart`]. What is installed is what
//! [`Control::capabilities`] tells a view.
//!
//! Errors name the problem: a pid that never lived or is long gone is `no process`, one that
//! died recently is `dead` with its exit reason, a live process that is no supervisor is `not
//! a supervisor`, and a supervisor's refusal is its own text (`no child slow`).
//!
//! A command that takes a while (creating a million buckets) may say how far it has got
//! before it answers: [`Control::execute_reporting`] hands a [`ProgressReporter`] to the app's
//! [`AppControl::execute_reporting`], and whoever carries the command (the in-process source,
//! a served node's session) passes each [`Progress`] on beside the command's id. Reports are
//! best effort (a carrier may drop some when its queue is full); the reply never is.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::{
    CallError, ChildInfo, ChildPid, ChildType, DynamicSupervisor, Supervisor, SupervisorError,
};
use crate::{Node, StartError, Started};

use super::convert;
use otpscope_contract::{
    AppCommand, AppSpec, Capabilities, ChildRef, ChildRow, Command, CommandError, Pid, Progress,
    Reply, StateRow,
};

/// The future an [`AppControl`] or an [`AppRestart`] returns.
pub type AppFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, CommandError>> + Send + 'a>>;

/// What an application implements to take its own commands from views (the KV demo: create
/// a bucket, put, get, delete, create many buckets).
pub trait AppControl: Send + Sync + 'static {
    /// The app's name and commands, as views see them in the source's capabilities.
    fn spec(&self) -> AppSpec;

    /// Carries out one of its commands; [`CommandError::NotSupported`] for one it does not
    /// know.
    fn execute(&self, command: AppCommand) -> AppFuture<'_>;

    /// Carries out one of its commands as [`execute`](Self::execute) does, reporting how far
    /// it has got to `progress` on the way. An app whose commands take a while overrides this
    /// (and has `execute` call it with [`ProgressReporter::ignore`]); the default reports
    /// nothing.
    fn execute_reporting(&self, command: AppCommand, progress: ProgressReporter) -> AppFuture<'_> {
        drop(progress);
        self.execute(command)
    }
}

/// Where a command reports how far it has got ([`Progress`]), from any task or thread. Cheap
/// to clone; one that [ignores](Self::ignore) reports costs nothing.
#[derive(Clone, Default)]
pub struct ProgressReporter {
    /// What takes each report; `None` when nobody listens.
    report: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl ProgressReporter {
    /// Hands each report to `report` (which must not block: it runs on the command's task).
    pub fn new(report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self {
            report: Some(Arc::new(report)),
        }
    }

    /// A reporter nobody listens to.
    pub fn ignore() -> Self {
        Self::default()
    }

    /// Whether anybody listens (a command may then skip working out what to report).
    pub fn is_listened(&self) -> bool {
        self.report.is_some()
    }

    /// Reports `progress`.
    pub fn report(&self, progress: Progress) {
        if let Some(report) = &self.report {
            report(progress);
        }
    }
}

impl std::fmt::Debug for ProgressReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressReporter")
            .field("is_listened", &self.is_listened())
            .finish()
    }
}

/// What starts the observed application again once its root has died
/// ([`Command::RestartApp`]); answers [`Reply::Started`] with the new root.
pub trait AppRestart: Send + Sync + 'static {
    /// Starts it again, or says why not (it still runs, its start failed).
    fn restart(&self) -> AppFuture<'_>;
}

/// Carries out commands on one node. Cheap to clone.
#[derive(Clone)]
pub struct Control {
    /// The node commands act on.
    node: Node,
    /// The applications' command handlers, by app name.
    apps: Vec<(String, Arc<dyn AppControl>)>,
    /// What restarts the app, if anything can.
    restart: Option<Arc<dyn AppRestart>>,
}

impl Control {
    /// Commands on `node`: the built-in ones, and no application's.
    pub fn new(node: &Node) -> Self {
        Self {
            node: node.clone(),
            apps: Vec::new(),
            restart: None,
        }
    }

    /// The node commands act on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Installs an application's handler for its own commands (replacing one of the same
    /// name).
    pub fn with_app(mut self, app: Arc<dyn AppControl>) -> Self {
        let name = app.spec().name;
        self.apps.retain(|(known, _)| *known != name);
        self.apps.push((name, app));
        self
    }

    /// Installs what starts the app again ([`Command::RestartApp`]).
    pub fn with_restart(mut self, restart: Arc<dyn AppRestart>) -> Self {
        self.restart = Some(restart);
        self
    }

    /// What this control offers a view: every built-in command, memory figures (of this OS
    /// process), restarting the app if a restarter is installed, and each installed app's
    /// commands.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            control: true,
            state: true,
            supervisor_calls: true,
            restart_app: self.restart.is_some(),
            memory: true,
            apps: self.apps.iter().map(|(_, app)| app.spec()).collect(),
        }
    }

    /// Carries out `command`.
    pub async fn execute(&self, command: Command) -> Result<Reply, CommandError> {
        self.execute_reporting(command, ProgressReporter::ignore())
            .await
    }

    /// Carries out `command`, handing `progress` to the app command that reports how far it
    /// has got (the built-in commands report nothing).
    pub async fn execute_reporting(
        &self,
        command: Command,
        progress: ProgressReporter,
    ) -> Result<Reply, CommandError> {
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
            Command::WhichChildren { supervisor } => {
                let children = match self.supervisor(supervisor)? {
                    Either::Static(handle) => handle.which_children().await,
                    Either::Dynamic(handle) => handle.which_children().await,
                };
                let children = children.map_err(|error| self.refused(supervisor, error))?;
                Ok(Reply::Children {
                    supervisor,
                    children: children.iter().map(child_row).collect(),
                })
            }
            Command::TerminateChild { supervisor, child } => {
                match (self.supervisor(supervisor)?, child) {
                    (Either::Static(handle), ChildRef::Id(id)) => handle.terminate_child(&id).await,
                    (Either::Static(handle), ChildRef::Pid(pid)) => {
                        let id = self.child_id(supervisor, &handle, pid).await?;
                        handle.terminate_child(&id).await
                    }
                    (Either::Dynamic(handle), ChildRef::Pid(pid)) => {
                        handle.terminate_child(self.node.pid(pid.serial())).await
                    }
                    (Either::Dynamic(_), ChildRef::Id(id)) => {
                        return Err(CommandError::Supervisor(format!(
                            "a dynamic supervisor terminates a child by pid, not by id ({id})"
                        )));
                    }
                }
                .map_err(|error| self.refused(supervisor, error))?;
                Ok(Reply::Done)
            }
            Command::RestartChild { supervisor, id } => {
                let handle = self.static_supervisor(supervisor, "restart_child")?;
                let started = handle
                    .restart_child(&id)
                    .await
                    .map_err(|error| self.refused(supervisor, error))?;
                let pid = match started {
                    Started::Pid(pid) => Some(pid.into()),
                    Started::Ignore => None,
                };
                Ok(Reply::Started { pid })
            }
            Command::DeleteChild { supervisor, id } => {
                let handle = self.static_supervisor(supervisor, "delete_child")?;
                handle
                    .delete_child(&id)
                    .await
                    .map_err(|error| self.refused(supervisor, error))?;
                Ok(Reply::Done)
            }
            Command::StopSupervisor { supervisor, reason } => {
                let reason = convert::runtime_exit_reason(&reason);
                match self.supervisor(supervisor)? {
                    Either::Static(handle) => handle.stop(reason).await,
                    Either::Dynamic(handle) => handle.stop(reason).await,
                }
                .map_err(|error| self.refused(supervisor, error))?;
                Ok(Reply::Done)
            }
            Command::RestartApp => match &self.restart {
                Some(restart) => restart.restart().await,
                None => Err(CommandError::NotSupported(
                    "restart_app (nothing here can start the app again)".to_owned(),
                )),
            },
            Command::App(command) => {
                let app = self.apps.iter().find(|(name, _)| *name == command.app);
                match app {
                    Some((_, app)) => app.execute_reporting(command, progress).await,
                    None => Err(CommandError::NotSupported(format!(
                        "{command} (no application {} here)",
                        command.app
                    ))),
                }
            }
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
        match self.node.introspect().describe(target).await {
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

    /// The live supervisor or dynamic supervisor `pid`.
    fn supervisor(&self, pid: Pid) -> Result<Either, CommandError> {
        let target = self.node.pid(pid.serial());
        if let Some(handle) = Supervisor::from_pid(&self.node, target) {
            return Ok(Either::Static(handle));
        }
        if let Some(handle) = DynamicSupervisor::from_pid(&self.node, target) {
            return Ok(Either::Dynamic(handle));
        }
        if self.node.is_alive(target) {
            Err(CommandError::NotASupervisor(pid))
        } else {
            Err(self.not_alive(pid))
        }
    }

    /// The live supervisor `pid`, for a call a dynamic supervisor does not have.
    fn static_supervisor(&self, pid: Pid, call: &str) -> Result<Supervisor, CommandError> {
        match self.supervisor(pid)? {
            Either::Static(handle) => Ok(handle),
            Either::Dynamic(_) => Err(CommandError::NotSupported(format!(
                "{call} on the dynamic supervisor {pid} (a dynamic supervisor keeps no spec of a \
                 stopped child, as in Elixir)"
            ))),
        }
    }

    /// The child id under which `supervisor` runs `child`.
    async fn child_id(
        &self,
        supervisor: Pid,
        handle: &Supervisor,
        child: Pid,
    ) -> Result<String, CommandError> {
        let children = handle
            .which_children()
            .await
            .map_err(|error| self.refused(supervisor, error))?;
        children
            .iter()
            .find(|info| info.pid.pid().map(Into::into) == Some(child))
            .map(|info| info.id.to_string())
            .ok_or_else(|| {
                CommandError::Supervisor(format!("{child} is not a child of {supervisor}"))
            })
    }

    /// The error for a supervisor call that failed: the supervisor gone is `dead` or `no
    /// process`, anything else is the supervisor's own text.
    fn refused(&self, supervisor: Pid, error: SupervisorError) -> CommandError {
        match error {
            SupervisorError::Call(CallError::NoProc(_) | CallError::Exited { .. })
            | SupervisorError::Start(StartError::Supervisor(CallError::NoProc(_))) => {
                self.not_alive(supervisor)
            }
            error => CommandError::Supervisor(error.to_string()),
        }
    }

    /// The error for a pid that is not alive: `dead` with its reason if it died recently.
    fn not_alive(&self, pid: Pid) -> CommandError {
        let target = self.node.pid(pid.serial());
        self.node
            .introspect()
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

/// A supervisor of either kind.
enum Either {
    Static(Supervisor),
    Dynamic(DynamicSupervisor),
}

fn child_row(info: &ChildInfo) -> ChildRow {
    ChildRow {
        id: info.id.to_string(),
        pid: info.pid.pid().map(Into::into),
        is_restarting: info.pid == ChildPid::Restarting,
        is_supervisor: info.child_type == ChildType::Supervisor,
        restart: convert::restart(info.restart),
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("node", &self.node.name())
            .field(
                "apps",
                &self.apps.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .field("restart", &self.restart.is_some())
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
