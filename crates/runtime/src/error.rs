//! Errors of the runtime, one enum per area.

use std::sync::Arc;

use super::exit::ExitReason;
use super::pid::Pid;

/// Starting a process failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// The requested name is already registered.
    #[error("name {name} is already registered to {holder}")]
    NameTaken {
        /// The name.
        name: Arc<str>,
        /// The process holding it.
        holder: Pid,
    },
    /// The process's init failed; the process exited with this reason.
    #[error("init failed: {0}")]
    Init(ExitReason),
    /// A supervisor child failed to start.
    #[error("child {id} failed to start: {reason}")]
    Child {
        /// The child id.
        id: Arc<str>,
        /// Why.
        reason: Box<StartError>,
    },
    /// A dynamic supervisor already has its maximum number of children.
    #[error("max_children reached ({max})")]
    MaxChildren {
        /// The limit.
        max: usize,
    },
    /// The supervisor asked to start the child is not running.
    #[error("supervisor is not running: {0}")]
    Supervisor(CallError),
    /// The start function panicked (outside any process); the text is the panic message.
    #[error("start function panicked: {0}")]
    Panicked(Arc<str>),
    /// Two children of a supervisor's child list share an id (OTP: `duplicate_child_name`).
    #[error("duplicate child id {0}")]
    DuplicateChild(Arc<str>),
    /// `max_seconds` is 0: a restart window of no time never gives up (OTP: `invalid_period`).
    #[error("invalid period: max_seconds is {0}, it must be at least 1")]
    InvalidPeriod(u32),
}

/// There is no process with that pid (or name) on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no process {0}")]
pub struct NoProc(pub Pid);

/// Registering a name failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The name is taken.
    #[error("name {name} is already registered to {holder}")]
    NameTaken {
        /// The name.
        name: Arc<str>,
        /// The process holding it.
        holder: Pid,
    },
    /// The process already has a name.
    #[error("{pid} is already registered as {name}")]
    AlreadyNamed {
        /// The process.
        pid: Pid,
        /// Its name.
        name: Arc<str>,
    },
    /// The process is not alive.
    #[error("no process {0}")]
    NoProc(Pid),
}

/// A message could not be delivered because the process is dead; the message is handed back.
#[derive(PartialEq, Eq, thiserror::Error)]
#[error("send to a dead process")]
pub struct SendError<M>(pub M);

impl<M> std::fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendError(..)")
    }
}

/// A call did not get a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No reply within the timeout; the callee may still be working on it.
    #[error("call to {pid} timed out after {timeout_ms} ms")]
    Timeout {
        /// The callee.
        pid: Pid,
        /// The timeout.
        timeout_ms: u64,
    },
    /// The callee was not alive when called.
    #[error("no process: {0} is not alive")]
    NoProc(Pid),
    /// The callee exited before replying.
    #[error("{pid} exited during the call: {reason}")]
    Exited {
        /// The callee.
        pid: Pid,
        /// Its exit reason.
        reason: ExitReason,
    },
    /// No process is registered under the name.
    #[error("no process registered as {0}")]
    NotRegistered(Arc<str>),
    /// A process called itself: it would wait for a reply only it can give (OTP exits with
    /// `calling_self`).
    #[error("{0} called itself")]
    CallingSelf(Pid),
    /// A stop asked for one reason and the process exited with another (its `terminate`
    /// panicked, say, or a kill overtook the stop).
    #[error("{pid} was asked to stop with {asked} but exited with {reason}")]
    StoppedWith {
        /// The process.
        pid: Pid,
        /// The reason the stop asked for.
        asked: ExitReason,
        /// The reason it exited with.
        reason: ExitReason,
    },
}

/// A supervisor request about one child failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SupervisorError {
    /// No child with that id (or pid).
    #[error("no child {0}")]
    NotFound(String),
    /// The child is running, and the request needs it stopped.
    #[error("child {0} is running")]
    Running(Arc<str>),
    /// The child is being restarted.
    #[error("child {0} is restarting")]
    Restarting(Arc<str>),
    /// A child with that id already exists.
    #[error("child {0} already exists")]
    AlreadyPresent(Arc<str>),
    /// Starting the child failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The supervisor did not answer.
    #[error(transparent)]
    Call(#[from] CallError),
}
