//! What a source sends after its first full snapshot: [`Delta`]s (added, changed, removed
//! with the exit reason) and the ordered [`Event`] feed, wrapped in [`Update`]s.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{ExitReason, Pid, ProcessInfo, Snapshot};

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
    #[serde(default, deserialize_with = "crate::process_table::shared_processes")]
    pub added: Vec<Arc<ProcessInfo>>,
    /// Processes whose values changed, in pid order, as they are now.
    #[serde(default, deserialize_with = "crate::process_table::shared_processes")]
    pub changed: Vec<Arc<ProcessInfo>>,
    /// Processes that exited, with why, in pid order.
    #[serde(default)]
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
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A process started.
    Spawned {
        /// The new process.
        pid: Pid,
        /// Who started it.
        #[serde(default)]
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
    /// A command sent from outside the node was carried out (a remote Observer's kill, an
    /// attached script's put), recorded before it runs, so its effects follow it in the feed.
    Command {
        /// Who sent it: `remote 127.0.0.1:50312 (control)`.
        from: Arc<str>,
        /// The command as a sentence (`exit <0.42.0> killed`, `kv create_bucket name="x"`).
        command: Arc<str>,
        /// The process it targets, if any.
        #[serde(default)]
        target: Option<Pid>,
    },
}

impl EventKind {
    /// The process the event is mainly about (what a click on its row selects), if any.
    pub fn pid(&self) -> Option<Pid> {
        match self {
            Self::Spawned { pid, .. } | Self::Exited { pid, .. } => Some(*pid),
            Self::Restarted { new, .. } => Some(*new),
            Self::Linked { a, .. } | Self::Unlinked { a, .. } => Some(*a),
            Self::SupervisorGaveUp { supervisor, .. } => Some(*supervisor),
            Self::Command { target, .. } => *target,
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
            Self::Command { target, .. } => target.iter().copied().collect(),
        }
    }

    /// A short name: `spawned`, `exited`, `restarted`, `linked`, `unlinked`,
    /// `supervisor_gave_up`, `command`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Spawned { .. } => "spawned",
            Self::Exited { .. } => "exited",
            Self::Restarted { .. } => "restarted",
            Self::Linked { .. } => "linked",
            Self::Unlinked { .. } => "unlinked",
            Self::SupervisorGaveUp { .. } => "supervisor_gave_up",
            Self::Command { .. } => "command",
        }
    }
}

impl fmt::Display for EventKind {
    /// The sentence [`format::event`](crate::format::event) makes, with bare pids.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::event(self, |_| None))
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
        #[serde(default)]
        missed: u64,
    },
}
