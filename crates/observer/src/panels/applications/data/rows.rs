//! The rows of the visible tree: what [`build`](super::build) makes, what the outline draws
//! as lines and the graph as nodes and edges.

use std::collections::HashMap;
use std::sync::Arc;

use otpscope_contract::{ExitReason, Pid, ProcessInfo, Status};

use crate::style::NodeKind;

/// A run of folded siblings: entries `start..end` of `parent`'s children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FoldId {
    /// The parent whose children are folded.
    pub parent: Pid,
    /// The first folded entry.
    pub start: usize,
    /// One past the last folded entry.
    pub end: usize,
}

/// What a row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowItem {
    /// One process (alive, or just dead: see [`Row::is_ghost`]).
    Process(Pid),
    /// Folded siblings.
    Fold(FoldId),
}

impl RowItem {
    /// The process, if the row is one.
    pub fn pid(self) -> Option<Pid> {
        match self {
            Self::Process(pid) => Some(pid),
            Self::Fold(_) => None,
        }
    }
}

/// One visible row of the outline, and one node of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What it stands for.
    pub item: RowItem,
    /// How deep: roots are 0.
    pub depth: usize,
    /// The row of its parent (always an earlier row).
    pub parent_row: Option<usize>,
    /// `KV.Registry <0.3.0>`, `KV.Bucket <0.9.0>` or `+ 99,950 KV.Bucket`.
    pub label: String,
    /// A second line: `agent · temporary`, `supervisor · one_for_all`, `exited: killed`.
    pub detail: String,
    /// What it is drawn as.
    pub kind: NodeKind,
    /// What the process is doing (`Dead` for a ghost; `Waiting` for a fold).
    pub status: Status,
    /// True for a process that just died and is shown for a moment.
    pub is_ghost: bool,
    /// How many children it has (or how many processes a fold holds).
    pub child_count: usize,
    /// Its children are hidden by the user.
    pub is_collapsed: bool,
    /// It matches the search.
    pub is_match: bool,
    /// Search matches hidden beneath it (in a collapsed subtree or inside a fold).
    pub hidden_matches: usize,
}

impl Row {
    /// Whether it has children to show or hide.
    pub fn has_children(&self) -> bool {
        self.kind != NodeKind::Fold && self.child_count > 0
    }
}

/// A process that just died, to draw where it was for a moment.
#[derive(Clone, Debug)]
pub struct Ghost {
    /// What it was when last seen.
    pub info: Arc<ProcessInfo>,
    /// Why it exited, once known.
    pub reason: Option<ExitReason>,
}

/// The visible tree.
#[derive(Clone, Debug, Default)]
pub struct TreeData {
    /// Visible rows in preorder.
    pub rows: Vec<Row>,
    /// Every live process that matches the search, in start (pid) order, hidden or not.
    pub matches: Vec<Pid>,
    /// The row of each visible process.
    pub row_of: HashMap<Pid, usize>,
    /// Live processes in the snapshot.
    pub process_count: usize,
}

impl TreeData {
    /// The row showing `pid`, if visible.
    pub fn row_of(&self, pid: Pid) -> Option<usize> {
        self.row_of.get(&pid).copied()
    }
}
