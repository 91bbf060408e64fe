//! What a tree file describes, as plain data: the root supervisor, its children in order,
//! and each worker's script. [`parse`](super::parse) builds it from TOML and checks it;
//! [`start`](super::start) turns it into running processes. Nothing here touches the runtime
//! beyond its value types (strategy, restart, shutdown, exit reason).

use crate::runtime::{ExitReason, Restart, Shutdown, Strategy};

/// A whole tree file: an optional description and the root.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeSpec {
    /// The file's `description`, free text for whoever picks a tree.
    pub description: Option<String>,
    /// The root, started from the node with no link.
    pub root: RootSpec,
}

/// The root of a tree: always a supervisor of one kind or the other.
#[derive(Clone, Debug, PartialEq)]
pub enum RootSpec {
    /// `type = "supervisor"`.
    Supervisor(SupervisorSpec),
    /// `type = "dynamic_supervisor"`.
    DynamicSupervisor(DynamicSupervisorSpec),
}

/// A supervisor with an ordered list of children.
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisorSpec {
    /// Registered name.
    pub name: Option<String>,
    /// Behaviour label (default `Supervisor`).
    pub label: Option<String>,
    /// one_for_one, one_for_all or rest_for_one.
    pub strategy: Strategy,
    /// At most this many restarts (default 3) ...
    pub max_restarts: u32,
    /// ... within this many seconds (default 5).
    pub max_seconds: u32,
    /// Children in start order.
    pub children: Vec<ChildEntry>,
}

/// A dynamic supervisor and the children it starts right after it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicSupervisorSpec {
    /// Registered name.
    pub name: Option<String>,
    /// Behaviour label (default `DynamicSupervisor`).
    pub label: Option<String>,
    /// At most this many restarts (default 3) ...
    pub max_restarts: u32,
    /// ... within this many seconds (default 5).
    pub max_seconds: u32,
    /// The most children it runs at once, if limited.
    pub max_children: Option<usize>,
    /// Initial children, started in order with `start_child`, each `count` times.
    pub children: Vec<ChildEntry>,
}

/// One entry of a `children` list: how its supervisor treats it, and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildEntry {
    /// The child id, unique among its siblings in the file.
    pub id: String,
    /// permanent (default), transient or temporary.
    pub restart: Restart,
    /// brutal_kill, a timeout (default 5000 ms for workers) or infinity (default for
    /// supervisors).
    pub shutdown: Shutdown,
    /// How many identical children to start (only under a dynamic supervisor; default 1).
    pub count: usize,
    /// What the child is.
    pub process: ProcessSpec,
}

/// What a child is.
#[derive(Clone, Debug, PartialEq)]
pub enum ProcessSpec {
    /// A supervisor.
    Supervisor(SupervisorSpec),
    /// A dynamic supervisor.
    DynamicSupervisor(DynamicSupervisorSpec),
    /// A scripted worker.
    Worker(WorkerSpec),
}

/// A worker and its script. Every worker is a [`Worker`](super::Worker) server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerSpec {
    /// Registered name.
    pub name: Option<String>,
    /// Behaviour label (default: the child id).
    pub label: Option<String>,
    /// Traps exits (also implied by `shutdown_ms` and `ignore_shutdown`).
    pub trap_exit: bool,
    /// Each incarnation exits with this reason after this long.
    pub crash_every: Option<ScriptedExit>,
    /// The first incarnation started from this spec exits with this reason after this long;
    /// later incarnations run on.
    pub exit_after: Option<ScriptedExit>,
    /// On `shutdown`, takes this long before it exits.
    pub shutdown_ms: Option<u64>,
    /// On `shutdown`, never exits: its supervisor has to kill it.
    pub ignore_shutdown: bool,
    /// Its init fails with this reason.
    pub fail_to_start: Option<ExitReason>,
    /// Its start returns `ignore`: the supervisor keeps the spec with no process.
    pub ignore: bool,
    /// Sends pings to a registered worker at a steady rate.
    pub send: Option<SendSpec>,
    /// Keys and values it holds and describes, in file order (values as TOML text, strings
    /// without their quotes).
    pub state: Vec<(String, String)>,
}

impl WorkerSpec {
    /// Whether the worker starts trapping exits.
    pub fn is_trapping_exits(&self) -> bool {
        self.trap_exit || self.shutdown_ms.is_some() || self.ignore_shutdown
    }
}

/// An exit a worker's script makes: `after_ms` after it starts, with `reason`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedExit {
    /// How long after the incarnation's init.
    pub after_ms: u64,
    /// The exit reason.
    pub reason: ExitReason,
}

/// A steady stream of pings to another worker.
#[derive(Clone, Debug, PartialEq)]
pub struct SendSpec {
    /// Pings per second.
    pub per_second: u32,
    /// The registered name of the receiving worker, resolved at each send.
    pub to: String,
}
