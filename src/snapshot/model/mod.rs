//! The contract between a source of process data and every view of it: pure serde data.
//!
//! Nothing here refers to the runtime. The in-process runtime, a remote node, a recording or
//! (later) a BEAM node all produce these types, and the Observer consumes only them; what
//! travels over a wire is their JSON form, versioned by [`FORMAT_VERSION`].
//!
//! Two things a reader must know:
//! - A view holds one [`Snapshot`] and keeps it current with [`Snapshot::apply`]: a source sends
//!   a full snapshot first, then [`Delta`]s, each naming the sequence number it follows
//!   (`from_seq`), and an ordered [`Event`] feed beside them (see [`Update`]).
//! - Times are milliseconds: `*_ms` fields count from the node's start (exact and comparable
//!   between snapshots), `*_unix_ms` fields are wall-clock time.
//!   [`Snapshot::node_started_at_unix_ms`] turns the first into the second.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

mod process_table;
mod snapshot;

pub(crate) use process_table::{Cursor, ReadRun};
pub(crate) use snapshot::InPlace;
pub use snapshot::{ApplyError, Snapshot};

/// The version of this model's wire form; bumped when a change would mislead an older reader.
pub const FORMAT_VERSION: u32 = 1;

// === impl Pid ===

/// A process identifier within one node: the serial printed as `<0.42.0>`, as BEAM prints
/// local pids. Serials grow in start order and are never reused within a node, so a parent's
/// pid is always smaller than its children's. Serialized as its text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pid(pub u64);

impl Pid {
    /// The serial, the middle part of `<0.42.0>`.
    pub fn serial(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}.0>", self.0)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Text that is not a pid such as `<0.42.0>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a pid: {0:?} (expected <0.N.0>)")]
pub struct ParsePidError(pub String);

impl FromStr for Pid {
    type Err = ParsePidError;

    /// Reads `<0.42.0>` or `0.42.0`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(trimmed);
        let mut parts = inner.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("0"), Some(serial), Some("0"), None) => serial
                .parse()
                .map(Pid)
                .map_err(|_| ParsePidError(text.to_owned())),
            _ => Err(ParsePidError(text.to_owned())),
        }
    }
}

impl Serialize for Pid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// === Process descriptions ===

/// A supervisor's restart strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Restart only the child that exited.
    OneForOne,
    /// Stop all other children and restart all.
    OneForAll,
    /// Restart the child that exited and those started after it.
    RestForOne,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OneForOne => "one_for_one",
            Self::OneForAll => "one_for_all",
            Self::RestForOne => "rest_for_one",
        })
    }
}

/// What a process is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProcessKind {
    /// A supervisor with a fixed list of child specs.
    Supervisor {
        /// How a child's exit affects its siblings.
        strategy: Strategy,
        /// At most this many restarts ...
        max_restarts: u32,
        /// ... within this many seconds, or the supervisor gives up.
        max_seconds: u32,
    },
    /// A dynamic supervisor (one_for_one, children started on demand).
    DynamicSupervisor {
        /// At most this many restarts ...
        max_restarts: u32,
        /// ... within this many seconds, or the supervisor gives up.
        max_seconds: u32,
        /// The most children it accepts, if limited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_children: Option<u64>,
    },
    /// A gen-server-style server.
    Server,
    /// An agent (a server holding a state).
    Agent,
    /// A plain process.
    Plain,
}

impl ProcessKind {
    /// True for supervisors and dynamic supervisors.
    pub fn is_supervisor(&self) -> bool {
        matches!(
            self,
            Self::Supervisor { .. } | Self::DynamicSupervisor { .. }
        )
    }

    /// A short name: `supervisor`, `dynamic_supervisor`, `server`, `agent` or `plain`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Supervisor { .. } => "supervisor",
            Self::DynamicSupervisor { .. } => "dynamic_supervisor",
            Self::Server => "server",
            Self::Agent => "agent",
            Self::Plain => "plain",
        }
    }
}

/// What a process is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Running or ready to run.
    Running,
    /// Waiting for a message.
    Waiting,
    /// An exit signal or a stop is ending it.
    Exiting,
    /// It has exited.
    Dead,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Exiting => "exiting",
            Self::Dead => "dead",
        })
    }
}

/// When a supervisor restarts a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit.
    Transient,
    /// Never.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// Killed at once.
    BrutalKill,
    /// Asked to shut down, then killed after this many milliseconds.
    TimeoutMs(u64),
    /// Asked to shut down, waited for as long as it takes.
    Infinity,
}

impl fmt::Display for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BrutalKill => f.write_str("brutal_kill"),
            Self::TimeoutMs(ms) => write!(f, "{ms}"),
            Self::Infinity => f.write_str("infinity"),
        }
    }
}

// === impl ExitReason ===

/// Why a process exited, or what an exit signal carries; Erlang's reasons.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The process finished its work.
    Normal,
    /// The process was asked to stop.
    Shutdown,
    /// `{shutdown, Term}`.
    ShutdownWith(Arc<str>),
    /// The untrappable kill signal.
    Kill,
    /// The reason a process killed with `kill` dies with.
    Killed,
    /// The process did not exist.
    #[serde(rename = "noproc")]
    NoProc,
    /// The process panicked; the text is the panic message.
    Panic(Arc<str>),
    /// Any other reason, such as `boom`.
    Custom(Arc<str>),
}

impl ExitReason {
    /// A custom reason.
    pub fn custom(reason: impl Into<Arc<str>>) -> Self {
        Self::Custom(reason.into())
    }

    /// True for `normal`, `shutdown` and `{shutdown, _}`: not a crash.
    pub fn is_normal_or_shutdown(&self) -> bool {
        matches!(self, Self::Normal | Self::Shutdown | Self::ShutdownWith(_))
    }

    /// Reads what [`Display`](fmt::Display) writes: `normal`, `shutdown`, `kill`, `killed`,
    /// `noproc`, `{shutdown, TERM}` (or `shutdown:TERM`), `panic: MESSAGE`; any other text is
    /// a custom reason. A leading `:` is dropped, so Elixir's `:boom` is `boom`.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        let text = text.strip_prefix(':').unwrap_or(text);
        match text {
            "normal" => Self::Normal,
            "shutdown" => Self::Shutdown,
            "kill" => Self::Kill,
            "killed" => Self::Killed,
            "noproc" => Self::NoProc,
            _ => {
                if let Some(term) = text.strip_prefix("shutdown:").or_else(|| {
                    text.strip_prefix("{shutdown,")
                        .and_then(|t| t.strip_suffix('}'))
                }) {
                    return Self::ShutdownWith(term.trim().into());
                }
                if let Some(message) = text.strip_prefix("panic:") {
                    return Self::Panic(message.trim_start().into());
                }
                Self::Custom(text.into())
            }
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::ShutdownWith(term) => write!(f, "{{shutdown, {term}}}"),
            Self::Kill => f.write_str("kill"),
            Self::Killed => f.write_str("killed"),
            Self::NoProc => f.write_str("noproc"),
            Self::Panic(message) => write!(f, "panic: {message}"),
            Self::Custom(reason) => f.write_str(reason),
        }
    }
}

impl fmt::Debug for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for ExitReason {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(text))
    }
}

// === impl ProcessInfo ===

/// A short list of pids (a process's links, monitors, children): up to two are held inline,
/// so a typical worker's info is one allocation. Derefs to `[Pid]`; JSON writes it as a list.
pub type PidList = SmallVec<[Pid; 2]>;

/// Everything a view may know about one live process at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: Pid,
    /// Its registered name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
    /// What it is.
    pub kind: ProcessKind,
    /// Its behaviour label, such as `KV.Bucket`.
    pub label: Arc<str>,
    /// The process that started it, if any (it may have exited since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Pid>,
    /// Its live children in start order (a supervisor's in child-spec order).
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub children: PidList,
    /// Its child id under its supervisor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_id: Option<Arc<str>>,
    /// Its restart type under its supervisor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
    /// How its supervisor shuts it down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<Shutdown>,
    /// What it is doing.
    pub status: Status,
    /// Whether exit signals arrive as messages.
    pub trap_exit: bool,
    /// The processes it is linked to, sorted.
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub links: PidList,
    /// The processes it monitors, sorted by monitor (a pid monitored twice appears twice).
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub monitors: PidList,
    /// The processes that monitor it, sorted.
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub monitored_by: PidList,
    /// Messages waiting in its mailbox.
    pub mailbox_len: u64,
    /// Messages it has taken from its mailbox so far.
    pub messages_handled: u64,
    /// How many times its supervisor restarted this child id before this incarnation.
    pub restarts: u32,
    /// When it started, in milliseconds since the node started.
    pub started_at_ms: u64,
}

impl ProcessInfo {
    /// A live, waiting process with nothing else known: no name, parent, links or monitors,
    /// no counts, started at the node's start. Sources fill in the rest; tests and sample
    /// data start from it with struct update syntax.
    pub fn new(pid: Pid, kind: ProcessKind, label: impl Into<Arc<str>>) -> Self {
        Self {
            pid,
            name: None,
            kind,
            label: label.into(),
            parent: None,
            children: PidList::new(),
            child_id: None,
            restart: None,
            shutdown: None,
            status: Status::Waiting,
            trap_exit: false,
            links: PidList::new(),
            monitors: PidList::new(),
            monitored_by: PidList::new(),
            mailbox_len: 0,
            messages_handled: 0,
            restarts: 0,
            started_at_ms: 0,
        }
    }

    /// The name if registered, else the label: what a view writes on the process.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.label)
    }

    /// Whether `text` matches its pid, name, label or child id (case-insensitive substring).
    pub fn matches(&self, text: &str) -> bool {
        let needle = text.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let hit = |field: &str| field.to_lowercase().contains(&needle);
        hit(&self.pid.to_string())
            || self.name.as_deref().is_some_and(hit)
            || hit(&self.label)
            || self.child_id.as_deref().is_some_and(hit)
    }
}

// === Deltas and events ===

/// What changed between two snapshots of one stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The snapshot seq this delta brings a view to.
    pub seq: u64,
    /// The snapshot seq it applies to.
    pub from_seq: u64,
    /// When the data was read (wall clock).
    pub taken_at_unix_ms: u64,
    /// Processes new to the view, in pid order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Arc<ProcessInfo>>,
    /// Processes whose values changed, in pid order, as they are now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<Arc<ProcessInfo>>,
    /// Processes that exited, with why, in pid order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
}

impl Delta {
    /// True when nothing was added, changed or removed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// A process that left the view because it exited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// The process.
    pub pid: Pid,
    /// Why it exited.
    pub reason: ExitReason,
}

/// One thing that happened on a node. Sequence numbers grow by one, with no gaps, unless
/// events were missed (see [`Update::Events`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the node's feed.
    pub seq: u64,
    /// When it happened, in milliseconds since the node started.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A process started.
    Spawned {
        /// The new process.
        pid: Pid,
        /// Who started it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<Pid>,
        /// Its behaviour label.
        label: Arc<str>,
    },
    /// A process exited.
    Exited {
        /// The process.
        pid: Pid,
        /// Why.
        reason: ExitReason,
    },
    /// A supervisor restarted a child.
    Restarted {
        /// The supervisor.
        supervisor: Pid,
        /// The child id.
        child_id: Arc<str>,
        /// The incarnation that exited.
        old: Pid,
        /// The new incarnation.
        new: Pid,
    },
    /// Two processes were linked.
    Linked {
        /// One end.
        a: Pid,
        /// The other end.
        b: Pid,
    },
    /// A link was removed.
    Unlinked {
        /// One end.
        a: Pid,
        /// The other end.
        b: Pid,
    },
    /// A supervisor exceeded its restart intensity and shut down.
    SupervisorGaveUp {
        /// The supervisor.
        supervisor: Pid,
        /// The child whose exit went over the limit.
        child_id: Arc<str>,
        /// That child's exit reason.
        reason: ExitReason,
    },
}

impl EventKind {
    /// The process the event is mainly about (what a click on its row selects).
    pub fn pid(&self) -> Pid {
        match self {
            Self::Spawned { pid, .. } | Self::Exited { pid, .. } => *pid,
            Self::Restarted { new, .. } => *new,
            Self::Linked { a, .. } | Self::Unlinked { a, .. } => *a,
            Self::SupervisorGaveUp { supervisor, .. } => *supervisor,
        }
    }

    /// Every process the event names.
    pub fn pids(&self) -> Vec<Pid> {
        match self {
            Self::Spawned { pid, parent, .. } => std::iter::once(*pid).chain(*parent).collect(),
            Self::Exited { pid, .. } => vec![*pid],
            Self::Restarted {
                supervisor,
                old,
                new,
                ..
            } => vec![*new, *old, *supervisor],
            Self::Linked { a, b } | Self::Unlinked { a, b } => vec![*a, *b],
            Self::SupervisorGaveUp { supervisor, .. } => vec![*supervisor],
        }
    }

    /// A short name: `spawned`, `exited`, `restarted`, `linked`, `unlinked`,
    /// `supervisor_gave_up`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Spawned { .. } => "spawned",
            Self::Exited { .. } => "exited",
            Self::Restarted { .. } => "restarted",
            Self::Linked { .. } => "linked",
            Self::Unlinked { .. } => "unlinked",
            Self::SupervisorGaveUp { .. } => "supervisor_gave_up",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spawned { pid, parent, label } => match parent {
                Some(parent) => write!(f, "{pid} spawned ({label}) by {parent}"),
                None => write!(f, "{pid} spawned ({label})"),
            },
            Self::Exited { pid, reason } => write!(f, "{pid} exited: {reason}"),
            Self::Restarted {
                supervisor,
                child_id,
                old,
                new,
            } => write!(f, "{supervisor} restarted {child_id}: {old} -> {new}"),
            Self::Linked { a, b } => write!(f, "{a} linked to {b}"),
            Self::Unlinked { a, b } => write!(f, "{a} unlinked from {b}"),
            Self::SupervisorGaveUp {
                supervisor,
                child_id,
                reason,
            } => write!(
                f,
                "{supervisor} gave up: too many restarts ({child_id} exited: {reason})"
            ),
        }
    }
}

/// What a subscriber receives, in order: a [`Full`](Update::Full) snapshot first, then
/// deltas and event batches; another `Full` whenever it fell behind and was resynced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// Replace the view's snapshot with this one.
    Full(Snapshot),
    /// Apply this to the view's snapshot.
    Delta(Delta),
    /// The next events of the feed, in order.
    Events {
        /// The events.
        events: Vec<Event>,
        /// How many events before these were dropped because the subscriber fell behind.
        #[serde(default, skip_serializing_if = "is_zero")]
        missed: u64,
    },
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

// === Commands ===

/// A request from a view to a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
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
    /// KV demo: create a bucket named `name`.
    CreateBucket {
        /// The bucket's name.
        name: String,
    },
    /// KV demo: put `value` under `key` in bucket `bucket`.
    Put {
        /// The bucket's name.
        bucket: String,
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// KV demo: read `key` from bucket `bucket`.
    Get {
        /// The bucket's name.
        bucket: String,
        /// The key.
        key: String,
    },
    /// KV demo: delete `key` from bucket `bucket`.
    Delete {
        /// The bucket's name.
        bucket: String,
        /// The key.
        key: String,
    },
    /// KV demo: create `count` buckets (for scale).
    CreateBuckets {
        /// How many.
        count: u64,
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
    /// Starts the app again (the KV stage or the tree file) once its root has exited.
    RestartApp,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<Pid>,
    /// True while its supervisor retries a restart that failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_restarting: bool,
    /// True for a supervisor, false for a worker.
    pub is_supervisor: bool,
    /// Its restart type.
    pub restart: Restart,
}

impl Command {
    /// Its name as on the wire: `exit`, `get_state`, `create_bucket`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Self::Exit { .. } => "exit",
            Self::GetState { .. } => "get_state",
            Self::CreateBucket { .. } => "create_bucket",
            Self::Put { .. } => "put",
            Self::Get { .. } => "get",
            Self::Delete { .. } => "delete",
            Self::CreateBuckets { .. } => "create_buckets",
            Self::WhichChildren { .. } => "which_children",
            Self::TerminateChild { .. } => "terminate_child",
            Self::RestartChild { .. } => "restart_child",
            Self::DeleteChild { .. } => "delete_child",
            Self::StopSupervisor { .. } => "stop_supervisor",
            Self::RestartApp => "restart_app",
        }
    }

    /// True for the commands an application handles (the KV demo's, and restarting the app),
    /// false for those every node handles (exit, get_state, the supervisor calls).
    pub fn is_app(&self) -> bool {
        !matches!(
            self,
            Self::Exit { .. }
                | Self::GetState { .. }
                | Self::WhichChildren { .. }
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
    /// The application refused or failed; its own text.
    #[error("{0}")]
    App(String),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pid_prints_like_beam_and_parses_back() {
        assert_eq!(Pid(42).to_string(), "<0.42.0>");
        assert_eq!("<0.42.0>".parse::<Pid>().unwrap(), Pid(42));
        assert_eq!(" 0.7.0 ".parse::<Pid>().unwrap(), Pid(7));
        assert!("<0.42>".parse::<Pid>().is_err());
        assert!("<1.42.0>".parse::<Pid>().is_err());
        assert!("<0.x.0>".parse::<Pid>().is_err());
        assert_eq!(serde_json::to_string(&Pid(3)).unwrap(), "\"<0.3.0>\"");
        assert_eq!(serde_json::from_str::<Pid>("\"<0.3.0>\"").unwrap(), Pid(3));
    }

    #[test]
    fn exit_reasons_round_trip_as_text_and_json() {
        let reasons = [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::ShutdownWith("bye".into()),
            ExitReason::Kill,
            ExitReason::Killed,
            ExitReason::NoProc,
            ExitReason::Panic("index out of bounds".into()),
            ExitReason::custom("boom"),
        ];
        for reason in reasons {
            assert_eq!(ExitReason::parse(&reason.to_string()), reason);
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(serde_json::from_str::<ExitReason>(&json).unwrap(), reason);
        }
        assert_eq!(ExitReason::parse(":boom"), ExitReason::custom("boom"));
        assert_eq!(
            ExitReason::parse("shutdown:bye"),
            ExitReason::ShutdownWith("bye".into())
        );
        assert_eq!(
            serde_json::to_string(&ExitReason::NoProc).unwrap(),
            "\"noproc\""
        );
        assert!(ExitReason::ShutdownWith("x".into()).is_normal_or_shutdown());
        assert!(!ExitReason::Killed.is_normal_or_shutdown());
    }

    #[test]
    fn updates_events_and_commands_round_trip_through_json() {
        let updates = vec![
            Update::Delta(Delta {
                seq: 2,
                from_seq: 1,
                taken_at_unix_ms: 5,
                added: vec![Arc::new(ProcessInfo::new(
                    Pid(4),
                    ProcessKind::Plain,
                    "process",
                ))],
                changed: Vec::new(),
                removed: vec![Removed {
                    pid: Pid(3),
                    reason: ExitReason::Panic("oops".into()),
                }],
            }),
            Update::Events {
                events: vec![
                    Event {
                        seq: 7,
                        at_ms: 12,
                        kind: EventKind::Restarted {
                            supervisor: Pid(1),
                            child_id: "registry".into(),
                            old: Pid(2),
                            new: Pid(9),
                        },
                    },
                    Event {
                        seq: 8,
                        at_ms: 13,
                        kind: EventKind::SupervisorGaveUp {
                            supervisor: Pid(1),
                            child_id: "registry".into(),
                            reason: ExitReason::Killed,
                        },
                    },
                ],
                missed: 3,
            },
        ];
        for update in updates {
            let json = serde_json::to_string(&update).unwrap();
            assert_eq!(serde_json::from_str::<Update>(&json).unwrap(), update);
        }
        let command = Command::Exit {
            pid: Pid(42),
            reason: ExitReason::custom("boom"),
        };
        let json = serde_json::to_string(&command).unwrap();
        assert_eq!(
            json,
            r#"{"command":"exit","pid":"<0.42.0>","reason":{"custom":"boom"}}"#
        );
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), command);
        assert!(
            Command::Get {
                bucket: "b".into(),
                key: "k".into()
            }
            .is_app()
        );
        assert!(!command.is_app());
    }

    #[test]
    fn command_errors_read_as_lowercase_sentences() {
        assert_eq!(
            CommandError::NoProcess(Pid(9)).to_string(),
            "no process <0.9.0>"
        );
        assert_eq!(
            CommandError::Dead {
                pid: Pid(9),
                reason: ExitReason::Killed
            }
            .to_string(),
            "process <0.9.0> is dead (exited: killed)"
        );
        assert_eq!(
            CommandError::NotSupported("create_bucket: no app handler".into()).to_string(),
            "not supported: create_bucket: no app handler"
        );
        assert_eq!(
            CommandError::Timeout { timeout_ms: 5000 }.to_string(),
            "timed out after 5000 ms"
        );
    }

    #[test]
    fn event_kinds_name_their_processes() {
        let kind = EventKind::Spawned {
            pid: Pid(5),
            parent: Some(Pid(1)),
            label: "KV.Bucket".into(),
        };
        assert_eq!(kind.pid(), Pid(5));
        assert_eq!(kind.pids(), vec![Pid(5), Pid(1)]);
        assert_eq!(kind.to_string(), "<0.5.0> spawned (KV.Bucket) by <0.1.0>");
    }
}
