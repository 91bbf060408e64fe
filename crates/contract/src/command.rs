//! What a view asks of a source ([`Command`]), what it answers ([`Reply`]) and why it may
//! refuse ([`CommandError`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ExitReason, Pid, Restart};

/// A request from a view to a node.
///
/// The built-in commands are OTP's own calls, which any source that takes control can carry
/// out (as its [`Capabilities`](crate::Capabilities) say). An application's own commands
/// (the KV demo's create, put and get, a tree file's crash-now) are [`Command::App`]: an app,
/// a command name and typed arguments, described by the source when it connects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Send an exit signal to `pid` (`kill` kills untrappably).
    Exit {
        /// The target.
        pid: Pid,
        /// The reason the signal carries.
        reason: ExitReason,
    },
    /// Ask a process to describe its state.
    GetState {
        /// The process.
        pid: Pid,
    },
    /// A supervisor's children, running or not (`Supervisor.which_children/1`).
    WhichChildren {
        /// The supervisor or dynamic supervisor.
        supervisor: Pid,
    },
    /// Stops one child as its shutdown says (`Supervisor.terminate_child/2`, by child id,
    /// or `DynamicSupervisor.terminate_child/2`, by pid); a supervisor keeps the spec of a
    /// permanent or transient child, with no process.
    TerminateChild {
        /// The supervisor or dynamic supervisor.
        supervisor: Pid,
        /// Which child.
        child: ChildRef,
    },
    /// Starts again a child whose spec is kept with no process
    /// (`Supervisor.restart_child/2`).
    RestartChild {
        /// The supervisor.
        supervisor: Pid,
        /// The child id.
        id: String,
    },
    /// Removes the spec of a child that is not running (`Supervisor.delete_child/2`).
    DeleteChild {
        /// The supervisor.
        supervisor: Pid,
        /// The child id.
        id: String,
    },
    /// Stops a supervisor with `reason` and waits (`Supervisor.stop/2`): its children stop
    /// right to left, each as its shutdown says.
    StopSupervisor {
        /// The supervisor or dynamic supervisor.
        supervisor: Pid,
        /// Its exit reason.
        reason: ExitReason,
    },
    /// Starts the observed application again once its root has exited.
    RestartApp,
    /// One of an application's own commands.
    App(AppCommand),
}

/// One of an application's own commands: which app, which command, and its arguments by
/// name, as the app's [`AppSpec`](crate::AppSpec) describes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCommand {
    /// The application (`kv`).
    pub app: String,
    /// The command (`create_bucket`).
    pub name: String,
    /// Its arguments by name.
    #[serde(default)]
    pub args: BTreeMap<String, ArgValue>,
}

/// An argument of an [`AppCommand`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgValue {
    /// Text, such as a bucket's name.
    Text(String),
    /// A whole number, such as how many buckets to create.
    Integer(i64),
    /// A process.
    Pid(Pid),
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => write!(f, "{text:?}"),
            Self::Integer(value) => write!(f, "{value}"),
            Self::Pid(pid) => write!(f, "{pid}"),
        }
    }
}

impl From<&str> for ArgValue {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for ArgValue {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<i64> for ArgValue {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<Pid> for ArgValue {
    fn from(pid: Pid) -> Self {
        Self::Pid(pid)
    }
}

impl AppCommand {
    /// Command `name` of application `app`, with no arguments yet.
    pub fn new(app: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            name: name.into(),
            args: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) argument `name`.
    pub fn arg(mut self, name: impl Into<String>, value: impl Into<ArgValue>) -> Self {
        self.args.insert(name.into(), value.into());
        self
    }

    /// Text argument `name`; an error that names it if it is missing or not text.
    pub fn text(&self, name: &str) -> Result<&str, CommandError> {
        match self.args.get(name) {
            Some(ArgValue::Text(text)) => Ok(text),
            _ => Err(self.bad_arg(name, "text")),
        }
    }

    /// Whole-number argument `name`; an error that names it if it is missing or not one.
    pub fn integer(&self, name: &str) -> Result<i64, CommandError> {
        match self.args.get(name) {
            Some(ArgValue::Integer(value)) => Ok(*value),
            _ => Err(self.bad_arg(name, "a whole number")),
        }
    }

    /// Process argument `name`; an error that names it if it is missing or not a pid.
    pub fn pid(&self, name: &str) -> Result<Pid, CommandError> {
        match self.args.get(name) {
            Some(ArgValue::Pid(pid)) => Ok(*pid),
            _ => Err(self.bad_arg(name, "a pid")),
        }
    }

    fn bad_arg(&self, name: &str, expected: &str) -> CommandError {
        CommandError::BadArgument {
            command: format!("{} {}", self.app, self.name),
            arg: name.to_owned(),
            expected: expected.to_owned(),
        }
    }
}

impl fmt::Display for AppCommand {
    /// `kv create_bucket bucket="shopping"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.app, self.name)?;
        for (name, value) in &self.args {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

/// A child of a supervisor, as [`Command::TerminateChild`] names it: by child id under a
/// supervisor, by pid under a dynamic supervisor (a supervisor also takes a pid, and looks its
/// child id up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildRef {
    /// The child id.
    Id(String),
    /// The child's pid.
    Pid(Pid),
}

impl fmt::Display for ChildRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => f.write_str(id),
            Self::Pid(pid) => write!(f, "{pid}"),
        }
    }
}

/// One of a supervisor's children, as [`Reply::Children`] lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRow {
    /// The child id.
    pub id: String,
    /// Its process, if it runs.
    #[serde(default)]
    pub pid: Option<Pid>,
    /// True while its supervisor retries a restart that failed.
    #[serde(default)]
    pub is_restarting: bool,
    /// True for a supervisor, false for a worker.
    pub is_supervisor: bool,
    /// Its restart type.
    pub restart: Restart,
}

impl Command {
    /// Its name as on the wire: `exit`, `get_state`, `which_children`, ..., `app`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Exit { .. } => "exit",
            Self::GetState { .. } => "get_state",
            Self::WhichChildren { .. } => "which_children",
            Self::TerminateChild { .. } => "terminate_child",
            Self::RestartChild { .. } => "restart_child",
            Self::DeleteChild { .. } => "delete_child",
            Self::StopSupervisor { .. } => "stop_supervisor",
            Self::RestartApp => "restart_app",
            Self::App(_) => "app",
        }
    }

    /// The process the command acts on, if it names one (an app command's pid argument
    /// counts).
    pub fn target(&self) -> Option<Pid> {
        match self {
            Self::Exit { pid, .. } | Self::GetState { pid } => Some(*pid),
            Self::WhichChildren { supervisor }
            | Self::TerminateChild { supervisor, .. }
            | Self::RestartChild { supervisor, .. }
            | Self::DeleteChild { supervisor, .. }
            | Self::StopSupervisor { supervisor, .. } => Some(*supervisor),
            Self::RestartApp => None,
            Self::App(command) => command.args.values().find_map(|arg| match arg {
                ArgValue::Pid(pid) => Some(*pid),
                _ => None,
            }),
        }
    }

    /// True for the supervisor calls (which, terminate, restart and delete child, stop).
    pub fn is_supervisor_call(&self) -> bool {
        matches!(
            self,
            Self::WhichChildren { .. }
                | Self::TerminateChild { .. }
                | Self::RestartChild { .. }
                | Self::DeleteChild { .. }
                | Self::StopSupervisor { .. }
        )
    }
}

/// One row of a process's described state, such as a bucket's key and value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRow {
    /// What the row is about.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// The answer to a [`Command`] that succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// Done; nothing to report.
    Done,
    /// A process's state.
    State {
        /// The process.
        pid: Pid,
        /// Its rows, or `None` for a process that cannot describe itself.
        rows: Option<Vec<StateRow>>,
    },
    /// A value read, or `None` if absent.
    Value {
        /// The value.
        value: Option<String>,
    },
    /// A supervisor's children in start order.
    Children {
        /// The supervisor.
        supervisor: Pid,
        /// Its children, running or not.
        children: Vec<ChildRow>,
    },
    /// A process was started (a restarted child, a restarted app's root), or none was (a
    /// child whose start returned `ignore`).
    Started {
        /// The new process.
        pid: Option<Pid>,
    },
    /// A process looked up by a name the app knows (a bucket's), or none.
    Found {
        /// The process.
        pid: Option<Pid>,
    },
}

/// How far a command that takes a while has got, reported by its source before its
/// [`Reply`] (`412,000 of 1,000,000 buckets created`). A source sends none, one or many for a
/// command, `done` never decreasing, and never one after the reply; a view shows the last
/// one while it waits. Each travels beside the command's id as the source numbers it, as a
/// reply does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// How much is done.
    pub done: u64,
    /// How much there is to do in all (at least `done`).
    pub total: u64,
    /// What the numbers count, read after them: `buckets created`. Empty for nothing.
    pub text: String,
}

impl Progress {
    /// `done` of `total` of what `text` says.
    pub fn new(done: u64, total: u64, text: impl Into<String>) -> Self {
        Self {
            done,
            total,
            text: text.into(),
        }
    }

    /// The share done, from 0 to 1 (1 when there is nothing to do).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            (self.done.min(self.total) as f64) / (self.total as f64)
        }
    }
}

impl fmt::Display for Progress {
    /// `412,000 of 1,000,000 buckets created`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {}",
            crate::format::thousands(self.done),
            crate::format::thousands(self.total)
        )?;
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// Why a [`Command`] failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum CommandError {
    /// No live process has this pid, and it is not among the recently dead.
    #[error("no process {0}")]
    NoProcess(Pid),
    /// The process has exited.
    #[error("process {pid} is dead (exited: {reason})")]
    Dead {
        /// The process.
        pid: Pid,
        /// Why it exited.
        reason: ExitReason,
    },
    /// No process is registered under this name (or no bucket has it).
    #[error("unknown name {0}")]
    UnknownName(String),
    /// The target did not answer in time.
    #[error("timed out after {timeout_ms} ms")]
    Timeout {
        /// How long it waited.
        timeout_ms: u64,
    },
    /// The process is alive but is not a supervisor.
    #[error("{0} is not a supervisor")]
    NotASupervisor(Pid),
    /// The supervisor refused or failed the request; its own text (`no child slow`, `child
    /// slow is running`).
    #[error("{0}")]
    Supervisor(String),
    /// This source cannot carry out this command.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// The source takes no commands: it is read-only.
    #[error("refused: this source is read-only")]
    ReadOnly,
    /// An application command's argument is missing or of the wrong type.
    #[error("{command}: argument {arg} must be {expected}")]
    BadArgument {
        /// The command (`kv put`).
        command: String,
        /// The argument's name.
        arg: String,
        /// What it must be.
        expected: String,
    },
    /// The application refused or failed; its own text.
    #[error("{0}")]
    App(String),
    /// The source lost its node before the command could be carried out or answered.
    #[error("not connected to the node ({0}): the command may or may not have run")]
    Disconnected(String),
}
