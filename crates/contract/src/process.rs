//! One process as a view sees it ([`ProcessInfo`]) and what describes it: its kind and
//! strategy, status, restart type, shutdown, and the exit reasons processes die with.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::Pid;

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
#[serde(rename_all = "snake_case")]
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
        #[serde(default)]
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
    #[serde(default)]
    pub name: Option<Arc<str>>,
    /// What it is.
    pub kind: ProcessKind,
    /// Its behaviour label, such as `KV.Bucket` (read shared: see `intern`).
    #[serde(deserialize_with = "crate::intern::label")]
    pub label: Arc<str>,
    /// The process that started it, if any (it may have exited since).
    #[serde(default)]
    pub parent: Option<Pid>,
    /// Its live children in start order (a supervisor's in child-spec order).
    #[serde(default)]
    pub children: PidList,
    /// Its child id under its supervisor.
    #[serde(default)]
    pub child_id: Option<Arc<str>>,
    /// Its restart type under its supervisor.
    #[serde(default)]
    pub restart: Option<Restart>,
    /// How its supervisor shuts it down.
    #[serde(default)]
    pub shutdown: Option<Shutdown>,
    /// What it is doing.
    pub status: Status,
    /// Whether exit signals arrive as messages.
    pub trap_exit: bool,
    /// The processes it is linked to, sorted.
    #[serde(default)]
    pub links: PidList,
    /// The processes it monitors, sorted by monitor (a pid monitored twice appears twice).
    #[serde(default)]
    pub monitors: PidList,
    /// The processes that monitor it, sorted.
    #[serde(default)]
    pub monitored_by: PidList,
    /// Messages waiting in its mailbox.
    pub mailbox_len: u64,
    /// Messages it has taken from its mailbox so far.
    pub messages_handled: u64,
    /// How many times its supervisor restarted this child id before this incarnation.
    pub restarts: u32,
    /// When it started, in milliseconds since the node started.
    pub started_at_ms: u64,
    /// A supervisor's restarts that count against its restart intensity, in milliseconds
    /// since the node started, oldest first, as of its latest restart (at most
    /// `max_restarts + 1`). Those within `max_seconds` of now use up its budget: one more
    /// than `max_restarts` and it gives up. Empty for other processes, and for sources that
    /// do not know.
    #[serde(default)]
    pub recent_restarts_ms: Vec<u64>,
    /// What a virtual machine tells of it beyond the above, for sources that know (a BEAM
    /// node): memory, reductions, current function, initial call. `None` for the others.
    #[serde(default)]
    pub vm: Option<Arc<VmFacts>>,
}

/// What a BEAM-like virtual machine tells of a process beyond [`ProcessInfo`]'s common
/// fields (`erlang:process_info/2`), shown in a view's details when a source gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmFacts {
    /// Its size in bytes: stack, heap and internal structures (`memory`).
    pub memory_bytes: u64,
    /// The work it has done, in reductions (`reductions`).
    pub reductions: u64,
    /// The function it is running, such as `gen_server:loop/7` (`current_function`).
    #[serde(default)]
    pub current_function: Option<Arc<str>>,
    /// The function it was started with, such as `KV.Registry.init/1` (`$initial_call`,
    /// else `initial_call`).
    #[serde(default)]
    pub initial_call: Option<Arc<str>>,
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
            recent_restarts_ms: Vec::new(),
            vm: None,
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
