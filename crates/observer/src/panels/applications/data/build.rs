//! [`build`]: the visible rows from the snapshot, the user's view, the fold size, the search
//! and the ghosts, in one preorder walk; and the [`FoldMemo`] that keeps large folds'
//! summaries between builds.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

use otpscope_contract::{Pid, ProcessInfo, Snapshot, Status};

use super::{FoldId, Ghost, Row, RowItem, TreeData, TreeView};
use crate::format;
use crate::matching::{self, ProcessMatcher};
use crate::style::NodeKind;

/// Folds at least this long are summarised once and remembered in the [`FoldMemo`].
const MEMO_FROM: usize = 256;

/// A fast hasher for pids (serials are unique integers: a multiply spreads them well).
#[derive(Default)]
struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e_37_79_b9_7f_4a_7c_15);
    }
}

type PidSet = HashSet<Pid, BuildHasherDefault<PidHasher>>;
type PidMap<V> = HashMap<Pid, V, BuildHasherDefault<PidHasher>>;

/// Which fold a summary is for: the parent, its children list (by address and length: a
/// changed parent comes with a new list), the range and its ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct FoldKey {
    parent: Pid,
    list: (usize, usize),
    range: (usize, usize),
    ends: (Pid, Pid),
}

/// What a fold holds, apart from search matches.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct FoldSummary {
    /// Processes (alive or ghosts) in it.
    count: usize,
    /// Their common label, or `processes`.
    pub(super) name: String,
    /// `Dead` if a ghost is among them.
    status: Status,
}

/// Summaries of large folds kept between builds, so a rebuild does not look up 100,000
/// folded buckets again when their parent has not changed. Only what the last build used is
/// kept.
#[derive(Debug, Default)]
pub struct FoldMemo {
    /// The summaries, by fold.
    pub(super) entries: HashMap<FoldKey, FoldSummary>,
    /// The folds the build under way used: only those are kept.
    used: HashSet<FoldKey>,
}

impl FoldMemo {
    /// How many summaries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What [`build`] reads.
#[derive(Clone, Copy, Debug)]
pub struct TreeInput<'a> {
    /// The node's processes.
    pub snapshot: &'a Snapshot,
    /// What the user collapsed, opened and pinned.
    pub view: &'a TreeView,
    /// Siblings beyond this many fold.
    pub fold_at: usize,
    /// The search text (blank: no search).
    pub search: &'a str,
    /// Processes that just died, drawn where they were.
    pub ghosts: &'a [Ghost],
}

/// A process to draw: alive in the snapshot, or a ghost.
#[derive(Clone, Copy)]
enum Entry<'a> {
    Live(&'a ProcessInfo),
    Ghost(&'a Ghost),
}

impl<'a> Entry<'a> {
    fn info(self) -> &'a ProcessInfo {
        match self {
            Self::Live(info) => info,
            Self::Ghost(ghost) => &ghost.info,
        }
    }
}

/// Work left for the preorder walk.
enum Task {
    Process {
        pid: Pid,
        depth: usize,
        parent_row: Option<usize>,
    },
    Fold {
        row: Row,
    },
}

/// Everything the walk needs, looked up once.
struct Walk<'a> {
    input: TreeInput<'a>,
    ghosts: PidMap<&'a Ghost>,
    /// Ghost children by parent, in pid order.
    ghost_children: PidMap<Vec<Pid>>,
    matches: PidSet,
    /// Processes with a match somewhere beneath them.
    match_ancestors: PidSet,
    /// Summaries of large folds.
    memo: RefCell<FoldMemo>,
}

/// Builds the visible tree; see the module docs. `memo` keeps summaries of large folds
/// between builds (pass the same one each time; a fresh one gives the same result, slower).
pub fn build(input: TreeInput<'_>, memo: &mut FoldMemo) -> TreeData {
    let snapshot = input.snapshot;
    let (walk, matches) = Walk::new(input, std::mem::take(memo));
    let mut data = TreeData {
        process_count: snapshot.len(),
        matches,
        ..TreeData::default()
    };

    // A ghost shows under its parent (alive or a ghost itself); only a ghost that was a root
    // shows as one. Ghosts whose parent is gone unseen (its death was missed) stay hidden
    // rather than scattered as roots.
    let mut ghost_roots: Vec<Pid> = walk
        .ghosts
        .values()
        .filter(|ghost| ghost.info.parent.is_none())
        .map(|ghost| ghost.info.pid)
        .collect();
    ghost_roots.sort_unstable();
    let roots = merge_sorted(snapshot.root_pids().iter().copied(), ghost_roots);

    let mut stack: Vec<Task> = roots
        .into_iter()
        .rev()
        .map(|pid| Task::Process {
            pid,
            depth: 0,
            parent_row: None,
        })
        .collect();
    let mut emitted = PidSet::default();
    while let Some(task) = stack.pop() {
        match task {
            Task::Fold { row } => data.rows.push(row),
            Task::Process {
                pid,
                depth,
                parent_row,
            } => {
                let Some(entry) = walk.entry(pid) else {
                    continue;
                };
                // A cycle in parent links would be a bug upstream; never loop on it.
                if !emitted.insert(pid) {
                    continue;
                }
                let row_index = data.rows.len();
                let (row, children) = walk.process_row(entry, depth, parent_row);
                let collapsed = row.is_collapsed;
                data.row_of.insert(pid, row_index);
                data.rows.push(row);
                if !collapsed {
                    let start = stack.len();
                    walk.push_children(pid, &children, depth + 1, row_index, &mut stack);
                    stack[start..].reverse();
                }
            }
        }
    }
    let mut kept = walk.memo.into_inner();
    let used = std::mem::take(&mut kept.used);
    kept.entries.retain(|key, _| used.contains(key));
    *memo = kept;
    data
}

impl<'a> Walk<'a> {
    /// The walk, and the matches in pid order.
    fn new(input: TreeInput<'a>, memo: FoldMemo) -> (Self, Vec<Pid>) {
        let snapshot = input.snapshot;
        let ghosts: PidMap<&Ghost> = input
            .ghosts
            .iter()
            .filter(|ghost| !snapshot.contains(ghost.info.pid))
            .map(|ghost| (ghost.info.pid, ghost))
            .collect();
        let mut ghost_children: PidMap<Vec<Pid>> = PidMap::default();
        for ghost in ghosts.values() {
            if let Some(parent) = ghost.info.parent
                && (snapshot.contains(parent) || ghosts.contains_key(&parent))
            {
                ghost_children
                    .entry(parent)
                    .or_default()
                    .push(ghost.info.pid);
            }
        }
        for children in ghost_children.values_mut() {
            children.sort_unstable();
        }
        let mut ordered = Vec::new();
        let mut matches = PidSet::default();
        let mut match_ancestors = PidSet::default();
        if let Some(matcher) = ProcessMatcher::search(input.search) {
            let found = matching::split_pass(
                snapshot.len(),
                matching::pass_threads(snapshot.len()),
                &matcher,
                |matcher, range| {
                    range
                        .filter_map(|index| snapshot.process_at(index))
                        .filter(|info| matcher.is_match(info))
                        .collect::<Vec<&ProcessInfo>>()
                },
            );
            for info in found.into_iter().flatten() {
                ordered.push(info.pid);
                matches.insert(info.pid);
                let mut parent = info.parent;
                while let Some(pid) = parent {
                    if !snapshot.contains(pid) || !match_ancestors.insert(pid) {
                        break;
                    }
                    parent = snapshot.process(pid).and_then(|info| info.parent);
                }
            }
        }
        let walk = Self {
            input,
            ghosts,
            ghost_children,
            matches,
            match_ancestors,
            memo: RefCell::new(memo),
        };
        (walk, ordered)
    }

    fn entry(&self, pid: Pid) -> Option<Entry<'a>> {
        match self.input.snapshot.process(pid) {
            Some(info) => Some(Entry::Live(info)),
            None => self.ghosts.get(&pid).map(|ghost| Entry::Ghost(ghost)),
        }
    }

    /// The entries of `pids` (ascending), those neither live nor ghosts left out. Siblings
    /// are mostly neighbours in the snapshot's pid order, so each is looked for first just
    /// after the last one found, and searched for only when it is not there: a list of a
    /// million buckets is walked in order rather than searched a million times.
    fn entries<'p>(&'p self, pids: &'p [Pid]) -> impl Iterator<Item = Entry<'a>> + 'p {
        let snapshot = self.input.snapshot;
        let mut next = 0;
        pids.iter().filter_map(move |pid| {
            let index = match snapshot.process_at(next) {
                Some(info) if info.pid == *pid => Some(next),
                _ => snapshot.position(*pid),
            };
            match index {
                Some(index) => {
                    next = index + 1;
                    snapshot.process_at(index).map(Entry::Live)
                }
                None => self.ghosts.get(pid).map(|ghost| Entry::Ghost(ghost)),
            }
        })
    }

    /// `pid`'s children list with its ghost children merged in by pid order.
    fn children(&self, info: &'a ProcessInfo) -> Cow<'a, [Pid]> {
        let list = info.children.as_slice();
        let Some(ghosts) = self.ghost_children.get(&info.pid) else {
            return Cow::Borrowed(list);
        };
        let listed: PidSet = list
            .iter()
            .filter(|pid| self.ghosts.contains_key(pid))
            .copied()
            .collect();
        let mut pending = ghosts
            .iter()
            .filter(|pid| !listed.contains(pid))
            .copied()
            .peekable();
        let mut merged = Vec::with_capacity(list.len() + ghosts.len());
        for child in list {
            while let Some(ghost) = pending.next_if(|ghost| ghost < child) {
                merged.push(ghost);
            }
            merged.push(*child);
        }
        merged.extend(pending);
        Cow::Owned(merged)
    }

    fn process_row(
        &self,
        entry: Entry<'a>,
        depth: usize,
        parent_row: Option<usize>,
    ) -> (Row, Cow<'a, [Pid]>) {
        let info = entry.info();
        let children = self.children(info);
        let is_collapsed = self.input.view.is_collapsed(info.pid) && !children.is_empty();
        let (status, is_ghost, detail) = match entry {
            Entry::Live(info) => (info.status, false, format::detail(info)),
            Entry::Ghost(ghost) => {
                let detail = match &ghost.reason {
                    Some(reason) => format!("exited: {reason}"),
                    None => "exited".to_owned(),
                };
                (Status::Dead, true, detail)
            }
        };
        let row = Row {
            item: RowItem::Process(info.pid),
            depth,
            parent_row,
            label: format::label(info),
            detail,
            kind: NodeKind::of(&info.kind),
            status,
            is_ghost,
            child_count: children.len(),
            is_collapsed,
            is_match: self.matches.contains(&info.pid),
            hidden_matches: usize::from(is_collapsed && self.match_ancestors.contains(&info.pid)),
        };
        (row, children)
    }

    /// Pushes the visible children of `parent` (and folds for the hidden runs) in order.
    fn push_children(
        &self,
        parent: Pid,
        children: &[Pid],
        depth: usize,
        parent_row: usize,
        stack: &mut Vec<Task>,
    ) {
        let total = children.len();
        let mut cursor = 0;
        for range in self.visible_ranges(parent, children) {
            if range.start > cursor {
                self.push_fold(
                    parent,
                    children,
                    cursor..range.start,
                    depth,
                    parent_row,
                    stack,
                );
            }
            for pid in &children[range.clone()] {
                stack.push(Task::Process {
                    pid: *pid,
                    depth,
                    parent_row: Some(parent_row),
                });
            }
            cursor = range.end;
        }
        if cursor < total {
            self.push_fold(parent, children, cursor..total, depth, parent_row, stack);
        }
    }

    /// The runs of `children` shown: the first `fold_at`, the opened pages and the pinned
    /// processes, sorted and merged.
    fn visible_ranges(&self, parent: Pid, children: &[Pid]) -> Vec<Range<usize>> {
        let total = children.len();
        let view = self.input.view;
        let mut ranges = Vec::with_capacity(4);
        ranges.push(0..self.input.fold_at.max(1).min(total));
        if let Some(opened) = view.expanded.get(&parent) {
            ranges.extend(
                opened
                    .iter()
                    .map(|range| range.start.min(total)..range.end.min(total)),
            );
        }
        for pinned in &view.pinned {
            let is_child = self
                .input
                .snapshot
                .process(*pinned)
                .is_some_and(|info| info.parent == Some(parent));
            if is_child && let Some(index) = children.iter().position(|pid| pid == pinned) {
                ranges.push(index..index + 1);
            }
        }
        ranges.retain(|range| range.start < range.end);
        ranges.sort_unstable_by_key(|range| range.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }

    fn push_fold(
        &self,
        parent: Pid,
        children: &[Pid],
        range: Range<usize>,
        depth: usize,
        parent_row: usize,
        stack: &mut Vec<Task>,
    ) {
        let pids = &children[range.clone()];
        let summary = match (pids.first(), pids.last()) {
            (Some(first), Some(last))
                if pids.len() >= MEMO_FROM && !self.ghost_children.contains_key(&parent) =>
            {
                let key = FoldKey {
                    parent,
                    list: (children.as_ptr() as usize, children.len()),
                    range: (range.start, range.end),
                    ends: (*first, *last),
                };
                let mut memo = self.memo.borrow_mut();
                memo.used.insert(key);
                match memo.entries.get(&key) {
                    Some(summary) => summary.clone(),
                    None => {
                        let summary = self.summarize(pids);
                        memo.entries.insert(key, summary.clone());
                        summary
                    }
                }
            }
            _ => self.summarize(pids),
        };
        let count = summary.count;
        if count == 0 {
            return;
        }
        let hidden_matches = if self.matches.is_empty() {
            0
        } else {
            pids.iter()
                .filter(|pid| self.matches.contains(pid) || self.match_ancestors.contains(pid))
                .count()
        };
        let page = self.input.fold_at.max(1).min(count);
        stack.push(Task::Fold {
            row: Row {
                item: RowItem::Fold(FoldId {
                    parent,
                    start: range.start,
                    end: range.end,
                }),
                depth,
                parent_row: Some(parent_row),
                label: format!("+ {} {}", format::thousands(count as u64), summary.name),
                detail: format!("show {} more", format::thousands(page as u64)),
                kind: NodeKind::Fold,
                status: summary.status,
                is_ghost: false,
                child_count: count,
                is_collapsed: true,
                is_match: false,
                hidden_matches,
            },
        });
    }
}

impl Walk<'_> {
    /// Counts the processes among `pids` and finds their common label.
    fn summarize(&self, pids: &[Pid]) -> FoldSummary {
        let mut count = 0usize;
        let mut label: Option<&Arc<str>> = None;
        let mut mixed = false;
        let mut status = Status::Waiting;
        for entry in self.entries(pids) {
            let info = entry.info();
            count += 1;
            match label {
                None => label = Some(&info.label),
                Some(first) if !mixed && !Arc::ptr_eq(first, &info.label) => {
                    mixed = **first != *info.label;
                }
                Some(_) => {}
            }
            if matches!(entry, Entry::Ghost(_)) {
                status = Status::Dead;
            }
        }
        let name = match label {
            Some(label) if !mixed => label.to_string(),
            _ => "processes".to_owned(),
        };
        FoldSummary {
            count,
            name,
            status,
        }
    }
}

/// Merges two ascending pid sequences.
fn merge_sorted(a: impl IntoIterator<Item = Pid>, b: Vec<Pid>) -> Vec<Pid> {
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    let mut out = Vec::new();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_a { a.next() } else { b.next() };
        out.extend(next);
    }
    out
}
