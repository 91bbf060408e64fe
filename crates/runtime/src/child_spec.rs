//! Child specifications: how a supervisor starts, restarts and stops one child.
//!
//! A spec carries the child's id, its start function, its restart type, its shutdown and
//! whether it is a worker or a supervisor, and each can be overridden per child, as
//! `Supervisor.child_spec/2` does (the seed's "are temporary workers" test reads a bucket
//! spec's restart type).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::context::Context;
use super::error::StartError;
use super::pid::Pid;

/// When a supervisor restarts a child that exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit (not `normal`, `shutdown` or `{shutdown, _}`).
    Transient,
    /// Never; its spec is dropped when it exits, also when it is stopped as a bystander.
    Temporary,
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Permanent => "permanent",
            Self::Transient => "transient",
            Self::Temporary => "temporary",
        })
    }
}

/// How a supervisor stops a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// `exit(child, kill)` at once.
    BrutalKill,
    /// `exit(child, shutdown)`, then kill after this long.
    Timeout(Duration),
    /// `exit(child, shutdown)` and wait as long as it takes (the default for supervisors).
    Infinity,
}

impl Shutdown {
    /// The default for workers: 5,000 ms.
    pub const WORKER_DEFAULT: Self = Self::Timeout(Duration::from_millis(5000));

    /// A timeout in milliseconds.
    pub fn timeout_ms(ms: u64) -> Self {
        Self::Timeout(Duration::from_millis(ms))
    }
}

impl fmt::Display for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BrutalKill => f.write_str("brutal_kill"),
            Self::Timeout(timeout) => write!(f, "{}", timeout.as_millis()),
            Self::Infinity => f.write_str("infinity"),
        }
    }
}

/// Whether a child is a worker or a supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChildType {
    /// A worker.
    Worker,
    /// A supervisor.
    Supervisor,
}

impl fmt::Display for ChildType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Worker => "worker",
            Self::Supervisor => "supervisor",
        })
    }
}

/// What a start function gives back: the new child's pid, or `ignore` (the supervisor keeps
/// the spec with no process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    /// The child runs with this pid, linked to the supervisor.
    Pid(Pid),
    /// The child chose not to start.
    Ignore,
}

impl From<Pid> for Started {
    fn from(pid: Pid) -> Self {
        Self::Pid(pid)
    }
}

/// The future a start function returns.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<Started, StartError>> + Send>>;

type StartFn = dyn Fn(Context) -> StartFuture + Send + Sync;

/// How to start, restart and stop one child.
#[derive(Clone)]
pub struct ChildSpec {
    /// The child's id, unique among its siblings.
    pub id: Arc<str>,
    /// When it is restarted.
    pub restart: Restart,
    /// How it is stopped.
    pub shutdown: Shutdown,
    /// Worker or supervisor.
    pub child_type: ChildType,
    /// Starts the child linked to the supervisor whose context it gets.
    start: Arc<StartFn>,
}

impl ChildSpec {
    /// A worker: permanent, shut down with a 5,000 ms timeout. `start` gets the supervisor's
    /// context and must start the child linked to it (the `start_link` functions do).
    pub fn worker<F, Fut>(id: impl Into<Arc<str>>, start: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Started, StartError>> + Send + 'static,
    {
        Self {
            id: id.into(),
            restart: Restart::Permanent,
            shutdown: Shutdown::WORKER_DEFAULT,
            child_type: ChildType::Worker,
            start: Arc::new(move |context| Box::pin(start(context))),
        }
    }

    /// A supervisor child: permanent, shutdown infinity.
    pub fn supervisor<F, Fut>(id: impl Into<Arc<str>>, start: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Started, StartError>> + Send + 'static,
    {
        Self {
            shutdown: Shutdown::Infinity,
            child_type: ChildType::Supervisor,
            ..Self::worker(id, start)
        }
    }

    /// Overrides the id.
    pub fn id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.id = id.into();
        self
    }

    /// Overrides the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Overrides the shutdown.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Whether `other` is this spec or a clone of it: the same start function, id, restart,
    /// shutdown and type.
    pub(crate) fn is_same(&self, other: &ChildSpec) -> bool {
        Arc::ptr_eq(&self.start, &other.start)
            && self.id == other.id
            && self.restart == other.restart
            && self.shutdown == other.shutdown
            && self.child_type == other.child_type
    }

    /// Starts the child from `supervisor`'s context.
    pub(crate) fn start(&self, supervisor: Context) -> StartFuture {
        (self.start)(supervisor)
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("child_type", &self.child_type)
            .finish_non_exhaustive()
    }
}
