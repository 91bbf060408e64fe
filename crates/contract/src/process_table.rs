//! The processes of a [`Snapshot`](super::Snapshot), by pid: two parallel vectors sorted by
//! pid, one of the pids alone and one of the shared process data.
//!
//! Why not a `BTreeMap`: a delta at 100,000 processes looks each changed process up, and a
//! B-tree walks four or five nodes that are cold by then, one cache miss after another
//! (about 0.35 µs a lookup here). A binary search over a dense vector of pids touches one
//! 800 KB array that stays in cache. Pids are serials that only grow, so a new process goes
//! at the end; removals are batched into one pass when there are more than a few. Who looks
//! up many pids in ascending order (a delta's processes, the collector's changed pids) passes
//! a [`Cursor`]: each search then starts where the last one ended and, pids being dense
//! serials, usually lands on its pid at the first probe (see `search_after`).

use std::sync::Arc;

use super::{Pid, ProcessInfo};

/// Above this many removals in one batch, one pass over the table beats moving its tail once
/// per removal.
const REMOVE_ONE_BY_ONE_AT_MOST: usize = 8;

/// Where the last search of an ascending run of searches ended; start each run with
/// `Cursor::default()`. A cursor only speeds searches up: a pid below it is still found.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cursor(usize);

/// Reads a sequence of processes into `Arc`s, one allocation each. serde's own
/// `Arc<ProcessInfo>` reads a `Box` first and moves it into a new `Arc`: two allocations, a
/// copy and a free a process, a third of decoding a full snapshot. Capacity is reserved from
/// the sequence's length only up to a bound, so a forged length cannot make a reader
/// allocate what the input does not hold.
pub(crate) fn read_processes<'de, D, F>(deserializer: D, mut push: F) -> Result<(), D::Error>
where
    D: serde::Deserializer<'de>,
    F: FnMut(Arc<ProcessInfo>, Option<usize>),
{
    struct Processes<F>(F);

    impl<'de, F: FnMut(Arc<ProcessInfo>, Option<usize>)> serde::de::Visitor<'de> for Processes<F> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a sequence of processes")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            let mut hint = seq.size_hint();
            while let Some(info) = seq.next_element::<ProcessInfo>()? {
                (self.0)(Arc::new(info), hint.take());
            }
            Ok(())
        }
    }

    deserializer.deserialize_seq(Processes(&mut push))
}

/// The most room reserved ahead from a sequence's announced length.
pub(crate) const RESERVE_AT_MOST: usize = 1 << 16;

/// `deserialize_with` for a `Vec<Arc<ProcessInfo>>` (see [`read_processes`]).
pub(crate) fn shared_processes<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Arc<ProcessInfo>>, D::Error> {
    let mut processes = Vec::new();
    read_processes(deserializer, |info, hint| {
        if let Some(len) = hint {
            processes.reserve(len.min(RESERVE_AT_MOST));
        }
        processes.push(info);
    })?;
    Ok(processes)
}

/// `deserialize_with` for a [`ReadRun`] (see [`read_processes`]).
pub(crate) fn read_run<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ReadRun, D::Error> {
    let mut run = ReadRun::with_capacity(0);
    read_processes(deserializer, |info, hint| {
        if let Some(len) = hint {
            run.reserve(len.min(RESERVE_AT_MOST));
        }
        run.push_shared(info);
    })?;
    Ok(run)
}

/// Processes as a source read them in one run, in the order read, each beside its pid and
/// its parent's (kept apart so that building the table copies them without touching the
/// processes). See [`ProcessTable::from_runs`].
#[derive(Debug)]
pub struct ReadRun {
    pids: Vec<Pid>,
    parents: Vec<Option<Pid>>,
    infos: Vec<Arc<ProcessInfo>>,
    /// Whether every pid so far is above the one before it.
    ascending: bool,
}

impl ReadRun {
    /// A run with room for `len` processes.
    pub fn with_capacity(len: usize) -> Self {
        Self {
            pids: Vec::with_capacity(len),
            parents: Vec::with_capacity(len),
            infos: Vec::with_capacity(len),
            ascending: true,
        }
    }

    /// How many processes it holds.
    pub fn len(&self) -> usize {
        self.pids.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty()
    }

    /// Makes room for `more` processes.
    fn reserve(&mut self, more: usize) {
        self.pids.reserve(more);
        self.parents.reserve(more);
        self.infos.reserve(more);
    }

    /// Adds a process read.
    pub fn push(&mut self, info: ProcessInfo) {
        self.push_shared(Arc::new(info));
    }

    /// Adds a process already shared.
    pub fn push_shared(&mut self, info: Arc<ProcessInfo>) {
        if self.pids.last().is_some_and(|last| *last >= info.pid) {
            self.ascending = false;
        }
        self.pids.push(info.pid);
        self.parents.push(info.parent);
        self.infos.push(info);
    }

    fn into_read(self) -> impl Iterator<Item = (Pid, Option<Pid>, Arc<ProcessInfo>)> {
        self.pids
            .into_iter()
            .zip(self.parents)
            .zip(self.infos)
            .map(|((pid, parent), info)| (pid, parent, info))
    }
}

/// Processes sorted by pid, each once.
#[derive(Clone, Debug, Default)]
pub(super) struct ProcessTable {
    /// The pids, sorted, for the binary search.
    pids: Vec<Pid>,
    /// The process of each pid, at the same index.
    infos: Vec<Arc<ProcessInfo>>,
}

impl ProcessTable {
    /// A table of processes as a source read them, in any order, each beside its pid and its
    /// parent's (of two with the same pid, the later wins); `len` is how many there are, or a
    /// guess. Gives the table and the parent of each of its processes, at the same index.
    /// Touches no process data: after a cold read of 100,000 processes, a pass that did would
    /// wait on memory once per process.
    fn from_read(
        read: impl IntoIterator<Item = (Pid, Option<Pid>, Arc<ProcessInfo>)>,
        len: usize,
    ) -> (Self, Vec<Option<Pid>>) {
        let mut all = Vec::with_capacity(len);
        all.extend(read);
        // Stable, so among equal pids the input order is kept and the last can win.
        all.sort_by_key(|(pid, ..)| *pid);
        let mut table = Self {
            pids: Vec::with_capacity(all.len()),
            infos: Vec::with_capacity(all.len()),
        };
        let mut parents = Vec::with_capacity(all.len());
        for (pid, parent, info) in all {
            table.push_in_order(&mut parents, pid, parent, info);
        }
        (table, parents)
    }

    /// A table of the processes of `runs`, the runs in order (of two with the same pid, the
    /// later wins). Runs in pid order, each above the one before (as a split read of the
    /// runtime's table gives them), are joined by copying each run's lists whole; any other
    /// input is sorted by [`from_read`](Self::from_read).
    pub(crate) fn from_runs(runs: Vec<ReadRun>) -> (Self, Vec<Option<Pid>>) {
        let len = runs.iter().map(|run| run.pids.len()).sum();
        let mut last: Option<Pid> = None;
        let in_order = runs.iter().all(|run| {
            let above = match (last, run.pids.first()) {
                (Some(last), Some(first)) => *first > last,
                _ => true,
            };
            last = run.pids.last().copied().or(last);
            run.ascending && above
        });
        if !in_order {
            return Self::from_read(runs.into_iter().flat_map(ReadRun::into_read), len);
        }
        let mut table = Self {
            pids: Vec::with_capacity(len),
            infos: Vec::with_capacity(len),
        };
        let mut parents = Vec::with_capacity(len);
        for mut run in runs {
            table.pids.append(&mut run.pids);
            table.infos.append(&mut run.infos);
            parents.append(&mut run.parents);
        }
        (table, parents)
    }

    /// Appends a process whose pid is at least the last one's; the same pid replaces it.
    fn push_in_order(
        &mut self,
        parents: &mut Vec<Option<Pid>>,
        pid: Pid,
        parent: Option<Pid>,
        info: Arc<ProcessInfo>,
    ) {
        if self.pids.last() == Some(&pid)
            && let (Some(last_info), Some(last_parent)) =
                (self.infos.last_mut(), parents.last_mut())
        {
            *last_info = info;
            *last_parent = parent;
            return;
        }
        self.pids.push(pid);
        self.infos.push(info);
        parents.push(parent);
    }

    /// The pids, in order.
    pub(super) fn pids(&self) -> &[Pid] {
        &self.pids
    }

    /// A table of `infos` in any order; of two with the same pid, the later wins.
    #[cfg(test)]
    fn new(infos: impl IntoIterator<Item = Arc<ProcessInfo>>) -> Self {
        let read = infos.into_iter().map(|info| (info.pid, info.parent, info));
        Self::from_read(read, 0).0
    }

    pub(super) fn len(&self) -> usize {
        self.pids.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pids.is_empty()
    }

    pub(super) fn get(&self, pid: Pid) -> Option<&Arc<ProcessInfo>> {
        let index = self.pids.binary_search(&pid).ok()?;
        self.infos.get(index)
    }

    pub(super) fn contains(&self, pid: Pid) -> bool {
        self.pids.binary_search(&pid).is_ok()
    }

    /// The slot of `pid`, for one of an ascending run of pids.
    pub(super) fn slot_from(
        &mut self,
        pid: Pid,
        cursor: &mut Cursor,
    ) -> Option<&mut Arc<ProcessInfo>> {
        let index = self.search_from(pid, cursor).ok()?;
        self.infos.get_mut(index)
    }

    /// Searches for `pid` from the cursor ([`search_after`](Self::search_after)) when `pid`
    /// lies beyond it, else through the whole table; moves the cursor to where it ended.
    fn search_from(&self, pid: Pid, cursor: &mut Cursor) -> Result<usize, usize> {
        let start = cursor.0.min(self.pids.len());
        let found = if start > 0 && self.pids[start - 1] >= pid {
            self.pids.binary_search(&pid)
        } else {
            self.search_after(pid, start)
        };
        cursor.0 = match found {
            Ok(index) | Err(index) => index,
        };
        found
    }

    /// Searches for `pid` at or after `start`, knowing every pid before `start` is below it.
    ///
    /// Pids are distinct serials in ascending order, so `pid` is at most as many places past
    /// `start` as its serial is past the one there: where no process between them has died
    /// (the common case: a supervisor's children side by side) that place is exactly where
    /// it is, and one probe finds it. Otherwise a gallop from `start` (probing start, + 1,
    /// + 3, + 7, ...) brackets it within that bound, and a binary search ends it.
    fn search_after(&self, pid: Pid, start: usize) -> Result<usize, usize> {
        let len = self.pids.len();
        let Some(first) = self.pids.get(start) else {
            return Err(len);
        };
        if *first >= pid {
            return if *first == pid { Ok(start) } else { Err(start) };
        }
        let distance = usize::try_from(pid.0 - first.0).unwrap_or(usize::MAX);
        let bound = start.saturating_add(distance).min(len - 1);
        if self.pids[bound] == pid {
            return Ok(bound);
        }
        let mut low = start;
        let mut span = 1;
        let high = loop {
            let probe = start.saturating_add(span - 1);
            if probe >= bound {
                break bound + 1;
            }
            if self.pids[probe] >= pid {
                break probe + 1;
            }
            low = probe + 1;
            span *= 2;
        };
        match self.pids[low..high].binary_search(&pid) {
            Ok(offset) => Ok(low + offset),
            Err(offset) => Err(low + offset),
        }
    }

    /// Every process in pid order, as a slice.
    pub(super) fn infos(&self) -> &[Arc<ProcessInfo>] {
        &self.infos
    }

    /// Every process in pid order.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, Arc<ProcessInfo>> {
        self.infos.iter()
    }

    /// Puts `info` in the table, searching from `cursor` (see [`Cursor`]); gives back the
    /// process it replaces, if any.
    pub(super) fn insert_from(
        &mut self,
        info: Arc<ProcessInfo>,
        cursor: &mut Cursor,
    ) -> Option<Arc<ProcessInfo>> {
        let pid = info.pid;
        if self.pids.last().is_none_or(|last| *last < pid) {
            self.pids.push(pid);
            self.infos.push(info);
            cursor.0 = self.pids.len();
            return None;
        }
        match self.search_from(pid, cursor) {
            Ok(index) => Some(std::mem::replace(&mut self.infos[index], info)),
            Err(index) => {
                self.pids.insert(index, pid);
                self.infos.insert(index, info);
                None
            }
        }
    }

    /// Removes every pid of `pids` it holds; gives back what it removed, in pid order.
    pub(super) fn remove_all(&mut self, pids: &[Pid]) -> Vec<Arc<ProcessInfo>> {
        let mut cursor = Cursor::default();
        let mut found: Vec<usize> = pids
            .iter()
            .filter_map(|pid| self.search_from(*pid, &mut cursor).ok())
            .collect();
        found.sort_unstable();
        found.dedup();
        if found.len() <= REMOVE_ONE_BY_ONE_AT_MOST {
            // From the back, so each index still points where it did.
            let mut removed: Vec<Arc<ProcessInfo>> = found
                .iter()
                .rev()
                .map(|&index| {
                    self.pids.remove(index);
                    self.infos.remove(index)
                })
                .collect();
            removed.reverse();
            return removed;
        }
        let mut removed = Vec::with_capacity(found.len());
        let mut doomed = found.into_iter().peekable();
        let mut pids = Vec::with_capacity(self.len());
        let mut infos = Vec::with_capacity(self.len());
        for (index, (pid, info)) in std::mem::take(&mut self.pids)
            .into_iter()
            .zip(std::mem::take(&mut self.infos))
            .enumerate()
        {
            if doomed.next_if_eq(&index).is_some() {
                removed.push(info);
            } else {
                pids.push(pid);
                infos.push(info);
            }
        }
        self.pids = pids;
        self.infos = infos;
        removed
    }
}

impl PartialEq for ProcessTable {
    fn eq(&self, other: &Self) -> bool {
        self.pids == other.pids
            && self
                .infos
                .iter()
                .zip(&other.infos)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ProcessKind;

    fn info(pid: u64, handled: u64) -> Arc<ProcessInfo> {
        Arc::new(ProcessInfo {
            messages_handled: handled,
            ..ProcessInfo::new(Pid(pid), ProcessKind::Plain, "process")
        })
    }

    fn pids(table: &ProcessTable) -> Vec<u64> {
        table.iter().map(|info| info.pid.0).collect()
    }

    #[test]
    fn builds_sorted_and_the_later_duplicate_wins() {
        let table = ProcessTable::new([info(5, 0), info(1, 0), info(5, 9), info(3, 0)]);
        assert_eq!(pids(&table), [1, 3, 5]);
        assert_eq!(table.get(Pid(5)).unwrap().messages_handled, 9);
        assert!(table.get(Pid(2)).is_none());
    }

    #[test]
    fn a_read_in_or_out_of_order_is_sorted_and_keeps_parents_beside_their_pids() {
        let read = |entries: &[(u64, u64)]| -> Vec<_> {
            entries
                .iter()
                .map(|&(pid, handled)| (Pid(pid), Some(Pid(100 + pid)), info(pid, handled)))
                .collect()
        };
        let parents_of = |pids: &[u64]| -> Vec<Option<Pid>> {
            pids.iter().map(|pid| Some(Pid(100 + pid))).collect()
        };
        // In order, with a duplicate: the later wins, and the parents stay beside their pids.
        let (table, parents) = ProcessTable::from_read(read(&[(1, 0), (2, 0), (2, 5), (4, 0)]), 4);
        assert_eq!(pids(&table), [1, 2, 4]);
        assert_eq!(table.get(Pid(2)).unwrap().messages_handled, 5);
        assert_eq!(parents, parents_of(&[1, 2, 4]));
        // Out of order after a run in order, with the same pid on both sides of the break.
        let read = read(&[(1, 0), (3, 0), (3, 9), (2, 0), (3, 7)]);
        let (table, parents) = ProcessTable::from_read(read, 0);
        assert_eq!(pids(&table), [1, 2, 3]);
        assert_eq!(table.get(Pid(3)).unwrap().messages_handled, 7);
        assert_eq!(parents, parents_of(&[1, 2, 3]));
    }

    #[test]
    fn runs_in_order_are_joined_and_any_others_sorted_with_the_later_duplicate_winning() {
        let run = |entries: &[(u64, u64)]| {
            let mut run = ReadRun::with_capacity(entries.len());
            for &(pid, handled) in entries {
                run.push(ProcessInfo {
                    parent: Some(Pid(100 + pid)),
                    ..(*info(pid, handled)).clone()
                });
            }
            run
        };
        let check = |runs: Vec<ReadRun>, expected: &[u64], handled_of_2: u64| {
            let (table, parents) = ProcessTable::from_runs(runs);
            assert_eq!(pids(&table), expected);
            let expected_parents: Vec<Option<Pid>> =
                expected.iter().map(|pid| Some(Pid(100 + pid))).collect();
            assert_eq!(parents, expected_parents);
            assert_eq!(table.get(Pid(2)).unwrap().messages_handled, handled_of_2);
        };
        // In order: joined as they are, an empty run anywhere.
        check(
            vec![run(&[(1, 0), (2, 0)]), run(&[]), run(&[(5, 0), (6, 0)])],
            &[1, 2, 5, 6],
            0,
        );
        // Runs out of order, a run out of order inside, the same pid in two runs.
        check(
            vec![run(&[(5, 0), (6, 0)]), run(&[(1, 0), (2, 0)])],
            &[1, 2, 5, 6],
            0,
        );
        check(vec![run(&[(3, 0), (2, 0)]), run(&[(4, 0)])], &[2, 3, 4], 0);
        check(
            vec![run(&[(1, 0), (2, 0)]), run(&[(2, 9), (3, 0)])],
            &[1, 2, 3],
            9,
        );
    }

    #[test]
    fn inserts_at_the_end_in_the_middle_and_in_place() {
        let mut table = ProcessTable::new([info(2, 0), info(4, 0)]);
        let mut insert = |info| table.insert_from(info, &mut Cursor::default());
        assert!(insert(info(9, 0)).is_none());
        assert!(insert(info(3, 0)).is_none());
        assert!(insert(info(1, 0)).is_none());
        let old = insert(info(4, 7)).unwrap();
        assert_eq!(old.messages_handled, 0);
        assert_eq!(pids(&table), [1, 2, 3, 4, 9]);
        assert_eq!(table.get(Pid(4)).unwrap().messages_handled, 7);
    }

    #[test]
    fn searches_from_a_cursor_find_what_a_plain_search_finds() {
        let mut table = ProcessTable::new((0..1_000).map(|pid| info(pid * 3, pid)));
        let mut cursor = Cursor::default();
        for pid in (0..3_100).step_by(7) {
            let plain = table.get(Pid(pid)).map(|info| info.pid);
            let found = table.slot_from(Pid(pid), &mut cursor).map(|info| info.pid);
            assert_eq!(found, plain);
        }
        // A pid below the cursor is still found.
        assert_eq!(table.slot_from(Pid(3), &mut cursor).unwrap().pid, Pid(3));
        assert!(table.slot_from(Pid(4), &mut cursor).is_none());
        let mut cursor = Cursor::default();
        for pid in [1, 2, 4, 3_000, 5_000] {
            assert!(table.insert_from(info(pid, 0), &mut cursor).is_none());
        }
        assert_eq!(table.len(), 1_005);
        assert!(pids(&table).is_sorted());
    }

    proptest::proptest! {
        /// Whatever the gaps between pids and the order of the searches, a search from a
        /// cursor answers exactly what a plain binary search answers (index or insertion point).
        #[test]
        fn a_cursor_search_answers_what_a_binary_search_answers(
            gaps in proptest::collection::vec(1_u64..6, 0..300),
            queries in proptest::collection::vec((0_u64..1_200, proptest::bool::weighted(0.1)), 0..200),
        ) {
            let mut serial = 0;
            let table = ProcessTable::new(gaps.iter().map(|gap| {
                serial += gap;
                info(serial, 0)
            }));
            let mut sorted: Vec<u64> = queries.iter().map(|(pid, _)| *pid).collect();
            sorted.sort_unstable();
            let mut cursor = Cursor::default();
            for (pid, (jump, backwards)) in sorted.iter().zip(&queries) {
                // Now and then a pid out of order, as a resync race can send.
                let pid = if *backwards { Pid(*jump / 2) } else { Pid(*pid) };
                let expected = table.pids.binary_search(&pid);
                proptest::prop_assert_eq!(table.search_from(pid, &mut cursor), expected);
            }
        }
    }

    #[test]
    fn removes_a_few_or_many_and_ignores_unknown_pids() {
        for count in [3_u64, 50] {
            let mut table = ProcessTable::new((0..100).map(|pid| info(pid, pid)));
            let doomed: Vec<Pid> = (0..count).map(|i| Pid(i * 2)).chain([Pid(500)]).collect();
            let removed = table.remove_all(&doomed);
            let expected: Vec<u64> = (0..count).map(|i| i * 2).collect();
            assert_eq!(
                removed.iter().map(|info| info.pid.0).collect::<Vec<_>>(),
                expected
            );
            assert_eq!(table.len(), 100 - count as usize);
            assert!(expected.iter().all(|pid| !table.contains(Pid(*pid))));
            assert!(table.contains(Pid(1)) && table.contains(Pid(99)));
            assert!(pids(&table).is_sorted());
        }
    }
}
