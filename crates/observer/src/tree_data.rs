//! What the Applications tab shows of the supervision tree, built by a pure function from the
//! snapshot and the user's view of it (what is collapsed, which folds are open, the search),
//! and unit-tested without a window.
//!
//! [`build`] turns a [`Snapshot`] into the visible [`Row`]s in preorder: the outline draws
//! them as they are, the graph takes each row as a node and each `parent_row` as an edge.
//! The panel caches the result and rebuilds it only when the snapshot's revision, the
//! [`TreeView`], the fold size, the search or the set of recently dead processes changes,
//! never on every frame.
//!
//! Two things a reader must know:
//! - Siblings beyond `fold_at` fold into one [`RowItem::Fold`] row (`+ 99,950 KV.Bucket`).
//!   Opening a fold shows one more page of it; a revealed process (a search hit, a process
//!   picked in another tab) is pinned and shown in place between two folds. Building costs
//!   the visible rows plus one pass over each folded sibling list, so 100,000 buckets fold
//!   in about 10 ms, and in a tenth of a millisecond when the folds are remembered
//!   (`tree_build` in benches/gui_frame.rs; BENCHMARKS.md).
//! - Processes that just died are passed in as [`Ghost`]s and drawn where they were, marked
//!   dead, for a moment (the caller decides how long), so a restart reads as "the old one
//!   died, a new one took its place".

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

use otpscope_contract::{ExitReason, Pid, ProcessInfo, ProcessKind, Snapshot, Status};

// === Rows ===

/// What a row is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    /// A supervisor with fixed children.
    Supervisor,
    /// A dynamic supervisor.
    DynamicSupervisor,
    /// A server or an agent.
    Worker,
    /// A plain process.
    Plain,
    /// A group of folded siblings.
    Fold,
}

impl RowKind {
    /// The kind of row a process gets.
    pub fn of(kind: &ProcessKind) -> Self {
        match kind {
            ProcessKind::Supervisor { .. } => Self::Supervisor,
            ProcessKind::DynamicSupervisor { .. } => Self::DynamicSupervisor,
            ProcessKind::Server | ProcessKind::Agent => Self::Worker,
            ProcessKind::Plain => Self::Plain,
        }
    }
}

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
    pub kind: RowKind,
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
        self.kind != RowKind::Fold && self.child_count > 0
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

// === impl TreeView ===

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

// === Search ===

/// A case-insensitive substring match on a process's pid, name, label and child id: what
/// [`ProcessInfo::matches`] does, without allocating per process, so 100,000 processes are
/// searched in a few milliseconds.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The search text, trimmed and lowercased.
    needle: String,
}

impl Matcher {
    /// A matcher for `text`, or `None` if it is blank.
    pub fn new(text: &str) -> Option<Self> {
        let needle = text.trim().to_lowercase();
        (!needle.is_empty()).then_some(Self { needle })
    }

    /// Whether `info` matches.
    pub fn is_match(&self, info: &ProcessInfo) -> bool {
        let mut buffer = [0u8; 32];
        let pid = pid_text(info.pid, &mut buffer);
        self.hit(pid)
            || info.name.as_deref().is_some_and(|name| self.hit(name))
            || self.hit(&info.label)
            || info.child_id.as_deref().is_some_and(|id| self.hit(id))
    }

    fn hit(&self, field: &str) -> bool {
        let needle = self.needle.as_bytes();
        if field.is_ascii() && self.needle.is_ascii() {
            field.len() >= needle.len()
                && field
                    .as_bytes()
                    .windows(needle.len())
                    .any(|window| window.eq_ignore_ascii_case(needle))
        } else {
            field.to_lowercase().contains(&self.needle)
        }
    }
}

/// Writes `<0.N.0>` into `buffer` and returns it as text.
fn pid_text(pid: Pid, buffer: &mut [u8; 32]) -> &str {
    let mut digits = [0u8; 20];
    let mut serial = pid.serial();
    let mut count = 0;
    loop {
        digits[count] = b'0' + (serial % 10) as u8;
        count += 1;
        serial /= 10;
        if serial == 0 {
            break;
        }
    }
    buffer[..3].copy_from_slice(b"<0.");
    for (index, digit) in digits[..count].iter().rev().enumerate() {
        buffer[3 + index] = *digit;
    }
    buffer[3 + count..6 + count].copy_from_slice(b".0>");
    std::str::from_utf8(&buffer[..6 + count]).unwrap_or_default()
}

// === Labels ===

/// What a process is called everywhere: its registered name, else its behaviour label, and
/// its pid: `KV.Registry <0.3.0>`, `KV.Bucket <0.9.0>`.
pub fn process_label(info: &ProcessInfo) -> String {
    format!("{} {}", info.display_name(), info.pid)
}

/// A short description: `agent · temporary`, `supervisor · one_for_all`.
pub fn process_detail(info: &ProcessInfo) -> String {
    let mut detail = match &info.kind {
        ProcessKind::Supervisor { strategy, .. } => format!("supervisor · {strategy}"),
        ProcessKind::DynamicSupervisor { max_children, .. } => match max_children {
            Some(max) => format!("dynamic supervisor · max {max}"),
            None => "dynamic supervisor".to_owned(),
        },
        ProcessKind::Server => "server".to_owned(),
        ProcessKind::Agent => "agent".to_owned(),
        ProcessKind::Plain => "process".to_owned(),
    };
    if let Some(restart) = info.restart {
        write!(detail, " · {restart}").ok();
    }
    if info.restarts > 0 {
        write!(detail, " · restarts {}", info.restarts).ok();
    }
    detail
}

/// `99950` as `99,950`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// === build ===

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
struct FoldKey {
    parent: Pid,
    list: (usize, usize),
    range: (usize, usize),
    ends: (Pid, Pid),
}

/// What a fold holds, apart from search matches.
#[derive(Clone, Debug, PartialEq)]
struct FoldSummary {
    /// Processes (alive or ghosts) in it.
    count: usize,
    /// Their common label, or `processes`.
    name: String,
    /// `Dead` if a ghost is among them.
    status: Status,
}

/// Summaries of large folds kept between builds, so a rebuild does not look up 100,000
/// folded buckets again when their parent has not changed. Only what the last build used is
/// kept.
#[derive(Debug, Default)]
pub struct FoldMemo {
    entries: HashMap<FoldKey, FoldSummary>,
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
        if let Some(matcher) = Matcher::new(input.search) {
            for info in snapshot.processes().filter(|info| matcher.is_match(info)) {
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
            Entry::Live(info) => (info.status, false, process_detail(info)),
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
            label: process_label(info),
            detail,
            kind: RowKind::of(&info.kind),
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
                label: format!("+ {} {}", thousands(count), summary.name),
                detail: format!("show {} more", thousands(page)),
                kind: RowKind::Fold,
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
        for pid in pids {
            let Some(entry) = self.entry(*pid) else {
                continue;
            };
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use otpscope_contract::{Restart, Strategy};

    fn info(pid: u64, parent: Option<u64>, children: Vec<u64>) -> ProcessInfo {
        ProcessInfo {
            parent: parent.map(Pid),
            children: children.into_iter().map(Pid).collect(),
            child_id: Some("KV.Bucket".into()),
            restart: Some(Restart::Temporary),
            started_at_ms: pid,
            ..ProcessInfo::new(Pid(pid), ProcessKind::Agent, "KV.Bucket")
        }
    }

    fn named(mut info: ProcessInfo, name: &str, kind: ProcessKind) -> ProcessInfo {
        info.name = Some(name.into());
        info.label = name.into();
        info.kind = kind;
        info.child_id = Some(name.into());
        info.restart = Some(Restart::Permanent);
        info
    }

    /// KV.Supervisor <0.1.0> -> [KV.BucketSupervisor <0.2.0> -> buckets, KV.Registry <0.3.0>]
    fn kv(buckets: u64) -> Snapshot {
        let bucket_pids: Vec<u64> = (0..buckets).map(|i| 10 + i).collect();
        let mut infos = vec![
            named(
                info(1, None, vec![2, 3]),
                "KV.Supervisor",
                ProcessKind::Supervisor {
                    strategy: Strategy::OneForAll,
                    max_restarts: 3,
                    max_seconds: 5,
                },
            ),
            named(
                info(2, Some(1), bucket_pids.clone()),
                "KV.BucketSupervisor",
                ProcessKind::DynamicSupervisor {
                    max_restarts: 3,
                    max_seconds: 5,
                    max_children: None,
                },
            ),
            named(info(3, Some(1), vec![]), "KV.Registry", ProcessKind::Server),
        ];
        infos.extend(bucket_pids.iter().map(|pid| info(*pid, Some(2), vec![])));
        Snapshot::new("test", 0, 0, 0, infos.into_iter().map(Arc::new))
    }

    fn input<'a>(
        snapshot: &'a Snapshot,
        view: &'a TreeView,
        fold_at: usize,
        search: &'a str,
    ) -> TreeInput<'a> {
        TreeInput {
            snapshot,
            view,
            fold_at,
            search,
            ghosts: &[],
        }
    }

    fn build_fresh(input: TreeInput<'_>) -> TreeData {
        build(input, &mut FoldMemo::default())
    }

    fn labels(data: &TreeData) -> Vec<String> {
        data.rows
            .iter()
            .map(|row| format!("{}{}", "  ".repeat(row.depth), row.label))
            .collect()
    }

    #[test]
    fn rows_come_in_preorder_with_names_and_pids_and_children_in_start_order() {
        let snapshot = kv(2);
        let view = TreeView::default();
        let data = build_fresh(input(&snapshot, &view, 50, ""));
        assert_eq!(
            labels(&data),
            [
                "KV.Supervisor <0.1.0>",
                "  KV.BucketSupervisor <0.2.0>",
                "    KV.Bucket <0.10.0>",
                "    KV.Bucket <0.11.0>",
                "  KV.Registry <0.3.0>",
            ]
        );
        assert_eq!(data.rows[0].kind, RowKind::Supervisor);
        assert_eq!(data.rows[0].detail, "supervisor · one_for_all · permanent");
        assert_eq!(data.rows[1].kind, RowKind::DynamicSupervisor);
        assert_eq!(data.rows[2].kind, RowKind::Worker);
        assert_eq!(data.rows[2].detail, "agent · temporary");
        assert_eq!(data.rows[2].parent_row, Some(1));
        assert_eq!(data.rows[4].parent_row, Some(0));
        assert!(data.rows[0].has_children() && !data.rows[2].has_children());
        assert_eq!(data.row_of(Pid(3)), Some(4));
    }

    #[test]
    fn collapsing_hides_the_subtree_and_keeps_the_child_count() {
        let snapshot = kv(3);
        let mut view = TreeView::default();
        view.set_collapsed(Pid(2), true);
        let data = build_fresh(input(&snapshot, &view, 50, ""));
        assert_eq!(data.rows.len(), 3);
        assert!(data.rows[1].is_collapsed);
        assert_eq!(data.rows[1].child_count, 3);
        view.toggle(Pid(2));
        assert_eq!(build_fresh(input(&snapshot, &view, 50, "")).rows.len(), 6);
    }

    #[test]
    fn siblings_beyond_fold_at_fold_into_one_row_that_opens_a_page_at_a_time() {
        let snapshot = kv(100);
        let mut view = TreeView::default();
        let data = build_fresh(input(&snapshot, &view, 10, ""));
        // Supervisor, bucket supervisor, 10 buckets, the fold, the registry.
        assert_eq!(data.rows.len(), 14);
        let fold = &data.rows[12];
        assert_eq!(fold.label, "+ 90 KV.Bucket");
        assert_eq!(fold.kind, RowKind::Fold);
        assert_eq!(fold.parent_row, Some(1));
        let RowItem::Fold(id) = fold.item else {
            panic!("not a fold")
        };
        assert_eq!((id.parent, id.start, id.end), (Pid(2), 10, 100));
        view.expand_fold(id, 10);
        let data = build_fresh(input(&snapshot, &view, 10, ""));
        assert_eq!(data.rows.len(), 24);
        assert_eq!(data.rows[22].label, "+ 80 KV.Bucket");
        view.fold_back(Pid(2));
        assert_eq!(build_fresh(input(&snapshot, &view, 10, "")).rows.len(), 14);
    }

    #[test]
    fn a_mixed_fold_is_labelled_processes() {
        let mut infos: Vec<ProcessInfo> = vec![info(1, None, (2..10).collect())];
        for pid in 2..10 {
            let mut child = info(pid, Some(1), vec![]);
            if pid == 9 {
                child.label = "Other".into();
            }
            infos.push(child);
        }
        let snapshot = Snapshot::new("t", 0, 0, 0, infos.into_iter().map(Arc::new));
        let view = TreeView::default();
        let data = build_fresh(input(&snapshot, &view, 2, ""));
        assert_eq!(data.rows.last().unwrap().label, "+ 6 processes");
    }

    #[test]
    fn search_highlights_matches_and_counts_those_hidden_in_a_fold() {
        let snapshot = kv(100);
        let view = TreeView::default();
        let data = build_fresh(input(&snapshot, &view, 10, "<0.95.0>"));
        assert_eq!(data.matches, vec![Pid(95)]);
        assert!(data.rows.iter().all(|row| !row.is_match));
        let fold = data.rows.iter().find(|r| r.kind == RowKind::Fold).unwrap();
        assert_eq!(fold.hidden_matches, 1);

        let data = build_fresh(input(&snapshot, &view, 10, "registry"));
        assert_eq!(data.matches, vec![Pid(3)]);
        assert!(data.rows[data.row_of(Pid(3)).unwrap()].is_match);
    }

    #[test]
    fn reveal_expands_ancestors_and_pins_a_match_out_of_its_fold_in_order() {
        let snapshot = kv(100);
        let mut view = TreeView::default();
        view.set_collapsed(Pid(1), true);
        view.set_collapsed(Pid(2), true);
        assert!(view.reveal(&snapshot, Pid(60)));
        let data = build_fresh(input(&snapshot, &view, 10, ""));
        let row = data.row_of(Pid(60)).unwrap();
        assert_eq!(data.rows[row].label, "KV.Bucket <0.60.0>");
        // Ten buckets, a fold of 40 before it, the bucket, a fold of 49 after it.
        let fold_labels: Vec<&str> = data
            .rows
            .iter()
            .filter(|r| r.kind == RowKind::Fold)
            .map(|r| r.label.as_str())
            .collect();
        assert_eq!(fold_labels, ["+ 40 KV.Bucket", "+ 49 KV.Bucket"]);
        assert_eq!(data.rows[row - 1].label, "+ 40 KV.Bucket");
        assert_eq!(data.rows[row + 1].label, "+ 49 KV.Bucket");
        // Revealing another releases the first.
        view.reveal(&snapshot, Pid(80));
        let data = build_fresh(input(&snapshot, &view, 10, ""));
        assert!(data.row_of(Pid(60)).is_none());
        assert!(data.row_of(Pid(80)).is_some());
        assert!(!view.reveal(&snapshot, Pid(9999)));
    }

    #[test]
    fn ghosts_are_drawn_where_they_were_and_dead_children_listed_are_skipped() {
        // The registry <0.3.0> died and was restarted as <0.20.0>; bucket <0.11.0> died
        // and is still in its parent's list (its parent's change has not arrived yet).
        let before = kv(2);
        let mut infos: Vec<Arc<ProcessInfo>> = before
            .processes()
            .filter(|i| i.pid != Pid(3) && i.pid != Pid(11))
            .map(|i| Arc::new(i.clone()))
            .collect();
        let mut sup = (*infos[0]).clone();
        sup.children = [Pid(2), Pid(20)].into_iter().collect();
        infos[0] = Arc::new(sup);
        infos.push(Arc::new(named(
            info(20, Some(1), vec![]),
            "KV.Registry",
            ProcessKind::Server,
        )));
        let after = Snapshot::new("t", 0, 0, 0, infos);
        let ghosts = vec![Ghost {
            info: Arc::new(before.process(Pid(3)).unwrap().clone()),
            reason: Some(ExitReason::Killed),
        }];
        let view = TreeView::default();
        let data = build_fresh(TreeInput {
            ghosts: &ghosts,
            ..input(&after, &view, 50, "")
        });
        assert_eq!(
            labels(&data),
            [
                "KV.Supervisor <0.1.0>",
                "  KV.BucketSupervisor <0.2.0>",
                "    KV.Bucket <0.10.0>",
                "  KV.Registry <0.3.0>",
                "  KV.Registry <0.20.0>",
            ]
        );
        let ghost = &data.rows[3];
        assert!(ghost.is_ghost);
        assert_eq!(ghost.status, Status::Dead);
        assert_eq!(ghost.detail, "exited: killed");
        assert!(!data.rows[4].is_ghost);
    }

    #[test]
    fn a_dead_subtree_stays_together_as_ghosts() {
        let before = kv(3);
        // The whole bucket supervisor went: it and its buckets are ghosts.
        let infos: Vec<Arc<ProcessInfo>> = before
            .processes()
            .filter(|i| i.pid == Pid(1) || i.pid == Pid(3))
            .map(|i| Arc::new(i.clone()))
            .collect();
        let after = Snapshot::new("t", 0, 0, 0, infos);
        let ghosts: Vec<Ghost> = [2, 10, 11, 12]
            .iter()
            .map(|pid| Ghost {
                info: Arc::new(before.process(Pid(*pid)).unwrap().clone()),
                reason: Some(ExitReason::Shutdown),
            })
            .collect();
        let view = TreeView::default();
        let data = build_fresh(TreeInput {
            ghosts: &ghosts,
            ..input(&after, &view, 50, "")
        });
        assert_eq!(data.rows.len(), 6);
        assert_eq!(data.rows[1].label, "KV.BucketSupervisor <0.2.0>");
        assert!(data.rows[1..5].iter().all(|row| row.is_ghost));
        assert_eq!(data.rows[2].depth, 2);
    }

    #[test]
    fn ghosts_whose_parent_is_gone_unseen_are_not_shown_as_roots() {
        let before = kv(3);
        let infos: Vec<Arc<ProcessInfo>> = before
            .processes()
            .filter(|i| i.pid == Pid(1) || i.pid == Pid(3))
            .map(|i| Arc::new(i.clone()))
            .collect();
        let after = Snapshot::new("t", 0, 0, 0, infos);
        // The buckets died, but their supervisor's death was missed: no ghost for it.
        let ghosts: Vec<Ghost> = [10, 11]
            .iter()
            .map(|pid| Ghost {
                info: Arc::new(before.process(Pid(*pid)).unwrap().clone()),
                reason: None,
            })
            .collect();
        let view = TreeView::default();
        let data = build_fresh(TreeInput {
            ghosts: &ghosts,
            ..input(&after, &view, 50, "")
        });
        assert_eq!(
            labels(&data),
            ["KV.Supervisor <0.1.0>", "  KV.Registry <0.3.0>"]
        );
    }

    #[test]
    fn the_matcher_agrees_with_process_info_matches() {
        let snapshot = kv(3);
        for text in [
            "kv", "KV.B", "<0.1", "0.12.0", ".0>", "registry", "bucket", "zzz", " Sup ", "<", "ü",
        ] {
            let matcher = Matcher::new(text);
            for info in snapshot.processes() {
                let expected = info.matches(text);
                let got = matcher.as_ref().is_none_or(|m| m.is_match(info));
                assert_eq!(got, expected, "{text:?} on {}", info.pid);
            }
        }
        let mut buffer = [0u8; 32];
        assert_eq!(pid_text(Pid(0), &mut buffer), "<0.0.0>");
        assert_eq!(
            pid_text(Pid(u64::MAX), &mut buffer),
            format!("{}", Pid(u64::MAX))
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(99_950), "99,950");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    /// Marks every summary `memo` remembers, so that a build that reuses one shows the mark.
    fn mark_remembered(memo: &mut FoldMemo) {
        for summary in memo.entries.values_mut() {
            summary.name = "Remembered".to_owned();
        }
    }

    fn fold_label(data: &TreeData) -> &str {
        let fold = data.rows.iter().find(|r| r.kind == RowKind::Fold).unwrap();
        &fold.label
    }

    #[test]
    fn a_remembered_fold_summary_is_reused_only_while_its_parent_is_unchanged() {
        let snapshot = kv(1_000);
        let view = TreeView::default();
        let mut memo = FoldMemo::default();
        let first = build(input(&snapshot, &view, 10, ""), &mut memo);
        assert_eq!(fold_label(&first), "+ 990 KV.Bucket");
        assert_eq!(memo.len(), 1);
        mark_remembered(&mut memo);
        let again = build(input(&snapshot, &view, 10, ""), &mut memo);
        assert_eq!(fold_label(&again), "+ 990 Remembered", "reused");
        assert_eq!(memo.len(), 1);

        // The parent changed but its list kept its length and ends: bucket <0.500.0> died and
        // is still listed (the parent's change removing it is still to come). A new list, so
        // a new summary.
        let mut infos: Vec<Arc<ProcessInfo>> = snapshot
            .processes()
            .filter(|i| i.pid != Pid(500))
            .map(|i| Arc::new(i.clone()))
            .collect();
        infos[1] = Arc::new((*infos[1]).clone());
        let relisted = Snapshot::new("t", 0, 0, 1, infos.clone());
        let data = build(input(&relisted, &view, 10, ""), &mut memo);
        assert_eq!(fold_label(&data), "+ 989 KV.Bucket", "recomputed");
        assert_eq!(memo.len(), 1, "the old summary is forgotten");

        // The parent lost a child: a new list, a new summary.
        mark_remembered(&mut memo);
        let mut parent = (*infos[1]).clone();
        parent.children.retain(|pid| *pid != Pid(500));
        infos[1] = Arc::new(parent);
        let changed = Snapshot::new("t", 0, 0, 2, infos);
        let data = build(input(&changed, &view, 10, ""), &mut memo);
        assert_eq!(fold_label(&data), "+ 989 KV.Bucket", "recomputed");
        assert_eq!(memo.len(), 1, "the old summary is forgotten");
        // Kept alive to here, so that no list above can reuse an earlier one's address.
        drop((snapshot, relisted));
    }

    /// What it costs is measured in `benches/gui_frame.rs` (`tree_build`).
    #[test]
    fn a_hundred_thousand_buckets_fold_around_a_revealed_one_and_a_search_finds_the_last() {
        let snapshot = kv(100_000);
        let mut view = TreeView::default();
        view.reveal(&snapshot, Pid(70_000));
        let mut memo = FoldMemo::default();
        let data = build(input(&snapshot, &view, 50, ""), &mut memo);
        // The app's three, 50 buckets, a fold, the revealed bucket, a fold.
        assert_eq!(data.rows.len(), 2 + 50 + 1 + 1 + 1 + 1);
        let folds: Vec<&str> = data
            .rows
            .iter()
            .filter(|r| r.kind == RowKind::Fold)
            .map(|r| r.label.as_str())
            .collect();
        assert_eq!(folds, ["+ 69,940 KV.Bucket", "+ 30,009 KV.Bucket"]);
        assert!(data.row_of(Pid(70_000)).is_some());
        let again = build(input(&snapshot, &view, 50, ""), &mut memo);
        assert_eq!(again.rows, data.rows);
        let searched = build(input(&snapshot, &view, 50, "<0.99999.0>"), &mut memo);
        assert_eq!(searched.matches, vec![Pid(99_999)]);
        let hidden: usize = searched.rows.iter().map(|r| r.hidden_matches).sum();
        assert_eq!(hidden, 1, "the match is counted in its fold");
    }
}
