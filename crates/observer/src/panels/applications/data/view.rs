//! The user's view of the tree: what is collapsed, which folds are open, what a reveal
//! pinned. Every change bumps a revision, which is part of the cache key of the built tree.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use otpscope_contract::{Pid, Snapshot};

use super::FoldId;

/// The user's view of the tree: what is collapsed, which folds are open, what is pinned.
/// Every change bumps `revision`, which is part of the cache key of [`build`]'s result.
#[derive(Clone, Debug, Default)]
pub struct TreeView {
    /// Processes whose children are hidden.
    pub collapsed: HashSet<Pid>,
    /// Per parent, the ranges of its children shown beyond the first `fold_at`.
    pub expanded: HashMap<Pid, Vec<Range<usize>>>,
    /// Processes shown even inside a fold: the last revealed one and its ancestors.
    pub pinned: HashSet<Pid>,
    /// Bumped by every change.
    pub revision: u64,
}

impl TreeView {
    /// Whether `pid`'s children are hidden.
    pub fn is_collapsed(&self, pid: Pid) -> bool {
        self.collapsed.contains(&pid)
    }

    /// Hides or shows `pid`'s children.
    pub fn set_collapsed(&mut self, pid: Pid, collapsed: bool) {
        let changed = if collapsed {
            self.collapsed.insert(pid)
        } else {
            self.collapsed.remove(&pid)
        };
        if changed {
            self.revision += 1;
        }
    }

    /// Flips [`is_collapsed`](Self::is_collapsed).
    pub fn toggle(&mut self, pid: Pid) {
        self.set_collapsed(pid, !self.is_collapsed(pid));
    }

    /// Shows up to `page` more of `fold`'s processes (from its start).
    pub fn expand_fold(&mut self, fold: FoldId, page: usize) {
        let end = fold.end.min(fold.start.saturating_add(page.max(1)));
        self.expanded
            .entry(fold.parent)
            .or_default()
            .push(fold.start..end);
        self.revision += 1;
    }

    /// Folds `parent`'s children back to the first `fold_at`.
    pub fn fold_back(&mut self, parent: Pid) {
        if self.expanded.remove(&parent).is_some() {
            self.revision += 1;
        }
    }

    /// Whether some of `parent`'s children beyond `fold_at` are open.
    pub fn has_open_folds(&self, parent: Pid) -> bool {
        self.expanded.contains_key(&parent)
    }

    /// Makes `pid` visible: expands its ancestors and pins it and them, so no fold hides
    /// them. Only the last revealed process stays pinned. Returns false if `pid` is not in
    /// the snapshot.
    pub fn reveal(&mut self, snapshot: &Snapshot, pid: Pid) -> bool {
        if !snapshot.contains(pid) {
            return false;
        }
        let ancestors = snapshot.ancestors(pid);
        for ancestor in &ancestors {
            self.collapsed.remove(ancestor);
        }
        self.pinned.clear();
        self.pinned.insert(pid);
        self.pinned.extend(ancestors);
        self.revision += 1;
        true
    }

    /// Collapses every process with children except the roots.
    pub fn collapse_all(&mut self, snapshot: &Snapshot) {
        self.collapsed = snapshot
            .processes()
            .filter(|info| !info.children.is_empty() && !snapshot.is_root(info.pid))
            .map(|info| info.pid)
            .collect();
        self.revision += 1;
    }

    /// Expands every process (folds stay folded).
    pub fn expand_all(&mut self) {
        self.collapsed.clear();
        self.revision += 1;
    }

    /// Forgets what it knows about processes that are gone and not `keep`, without bumping
    /// the revision (nothing visible changes).
    pub fn forget_gone(&mut self, snapshot: &Snapshot, keep: impl Fn(Pid) -> bool) {
        let live = |pid: &Pid| snapshot.contains(*pid) || keep(*pid);
        self.collapsed.retain(live);
        self.expanded.retain(|pid, _| live(pid));
        self.pinned.retain(live);
    }
}
