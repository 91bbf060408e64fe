//! [`Snapshot`]: every live process of a node at one moment, and how a [`Delta`] brings it
//! up to date. Views hold one and apply deltas to it; sources build one and send it first.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::process_table::{Cursor, ProcessTable, ReadRun};
use super::{Delta, FORMAT_VERSION, Pid, ProcessInfo};

/// Every live process of a node at one moment, kept current by applying deltas.
///
/// Processes are held sorted by pid (lookups are a binary search, iteration is in pid order,
/// which is start order) behind `Arc`s, so cloning a snapshot or handing one process to
/// several views copies no process data. Roots are the processes
/// whose parent is not in the snapshot, in pid order. On the wire `processes` is a list.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The model's version this snapshot was written in.
    pub format_version: u32,
    /// The node's name.
    pub node: Arc<str>,
    /// When the node started (wall clock): add a `*_ms` time to get wall-clock time.
    pub node_started_at_unix_ms: u64,
    /// When the data was read (wall clock); deltas update it.
    pub taken_at_unix_ms: u64,
    /// The position in its stream; a delta applies when its `from_seq` equals it.
    pub seq: u64,
    /// Live processes by pid.
    processes: ProcessTable,
    /// The pids of processes whose parent is not in `processes`.
    roots: BTreeSet<Pid>,
    /// `(parent, child)` for every process with a parent, so the children a removed process
    /// orphans are found without a scan. Built by the first delta that adds or removes.
    by_parent: Option<BTreeSet<(Pid, Pid)>>,
}

/// What [`Snapshot::update_in_place`] did with a process.
#[derive(Debug)]
// Handed back by value at once; boxing the others would cost an allocation per process.
#[allow(clippy::large_enum_variant)]
pub enum InPlace {
    /// It equals what the snapshot holds: nothing to tell.
    Same,
    /// It replaced what the snapshot held; a delta lists it as changed.
    Replaced(Arc<ProcessInfo>),
    /// Not applied, being new to the snapshot: a delta applied with [`Snapshot::apply`]
    /// lists it as added.
    Added(ProcessInfo),
    /// Not applied, having moved in the tree (another parent): a delta applied with
    /// [`Snapshot::apply`] lists it as changed.
    Moved(ProcessInfo),
}

/// A delta that does not follow the snapshot it was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("delta from seq {from_seq} does not follow snapshot seq {snapshot_seq}: resync")]
pub struct ApplyError {
    /// The snapshot's seq.
    pub snapshot_seq: u64,
    /// The delta's `from_seq`.
    pub from_seq: u64,
}

impl Snapshot {
    /// A snapshot of `processes` (any order; a later duplicate pid wins).
    pub fn new(
        node: impl Into<Arc<str>>,
        node_started_at_unix_ms: u64,
        taken_at_unix_ms: u64,
        seq: u64,
        processes: impl IntoIterator<Item = Arc<ProcessInfo>>,
    ) -> Self {
        let processes = processes.into_iter();
        let mut run = ReadRun::with_capacity(processes.size_hint().0);
        for info in processes {
            run.push_shared(info);
        }
        Self::from_runs(
            node,
            node_started_at_unix_ms,
            taken_at_unix_ms,
            seq,
            vec![run],
        )
    }

    /// A snapshot of processes a source read in runs, the runs in order (fastest in pid
    /// order, as a split read of the runtime gives them; a later duplicate pid wins; see
    /// [`ReadRun`]). The roots are found from the parents read beside the processes, without
    /// touching the processes' data.
    pub fn from_runs(
        node: impl Into<Arc<str>>,
        node_started_at_unix_ms: u64,
        taken_at_unix_ms: u64,
        seq: u64,
        runs: Vec<ReadRun>,
    ) -> Self {
        let (processes, parents) = ProcessTable::from_runs(runs);
        let mut roots = BTreeSet::new();
        // Siblings are usually next to each other: remember the last parent looked up.
        let mut last: Option<(Pid, bool)> = None;
        for (&pid, parent) in processes.pids().iter().zip(parents) {
            let is_root = match parent {
                None => true,
                Some(parent) => match last {
                    Some((known, present)) if known == parent => !present,
                    _ => {
                        let present = processes.contains(parent);
                        last = Some((parent, present));
                        !present
                    }
                },
            };
            if is_root {
                roots.insert(pid);
            }
        }
        Self {
            format_version: FORMAT_VERSION,
            node: node.into(),
            node_started_at_unix_ms,
            taken_at_unix_ms,
            seq,
            processes,
            roots,
            by_parent: None,
        }
    }

    /// How many processes it holds.
    pub fn len(&self) -> usize {
        self.processes.len()
    }

    /// True when it holds no process.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }

    /// The process `pid`, if live in this snapshot.
    pub fn process(&self, pid: Pid) -> Option<&ProcessInfo> {
        self.processes.get(pid).map(Arc::as_ref)
    }

    /// The shared handle of process `pid`, to keep it beyond this snapshot cheaply.
    pub fn process_arc(&self, pid: Pid) -> Option<&Arc<ProcessInfo>> {
        self.processes.get(pid)
    }

    /// For a source that keeps its own model while it builds a delta: puts `info` in place of
    /// the process it holds with that pid, at once, when that needs no bookkeeping (the
    /// process is held and keeps its parent). Gives back what a delta must say:
    /// [`InPlace::Same`] if nothing changed, the new shared value if it replaced the old, or
    /// `info` untouched when it must go through [`apply`](Self::apply) instead (a new process,
    /// or one that moved in the tree). `pid`s must come in ascending order along `cursor`.
    pub fn update_in_place(&mut self, info: ProcessInfo, cursor: &mut Cursor) -> InPlace {
        let Some(slot) = self.processes.slot_from(info.pid, cursor) else {
            return InPlace::Added(info);
        };
        if slot.parent != info.parent {
            return InPlace::Moved(info);
        }
        if **slot == info {
            return InPlace::Same;
        }
        let info = Arc::new(info);
        *slot = info.clone();
        InPlace::Replaced(info)
    }

    /// The process at `index` in pid order (0 is the oldest live process).
    pub fn process_at(&self, index: usize) -> Option<&ProcessInfo> {
        self.processes.infos().get(index).map(Arc::as_ref)
    }

    /// Where `pid` is in pid order, if live: what [`process_at`](Self::process_at) takes.
    pub fn position(&self, pid: Pid) -> Option<usize> {
        self.processes.pids().binary_search(&pid).ok()
    }

    /// Whether `pid` is live in this snapshot.
    pub fn contains(&self, pid: Pid) -> bool {
        self.processes.contains(pid)
    }

    /// Every process, in pid order.
    pub fn processes(&self) -> impl DoubleEndedIterator<Item = &ProcessInfo> + '_ {
        self.processes.iter().map(Arc::as_ref)
    }

    /// The processes whose parent is not in the snapshot, in pid order.
    pub fn roots(&self) -> impl Iterator<Item = &ProcessInfo> + '_ {
        self.roots.iter().filter_map(|pid| self.process(*pid))
    }

    /// The pids of [`roots`](Self::roots).
    pub fn root_pids(&self) -> &BTreeSet<Pid> {
        &self.roots
    }

    /// Whether `pid` is a root.
    pub fn is_root(&self, pid: Pid) -> bool {
        self.roots.contains(&pid)
    }

    /// The live children of `pid` in start order (empty if `pid` is not in the snapshot).
    pub fn children_of(&self, pid: Pid) -> impl Iterator<Item = &ProcessInfo> + '_ {
        self.process(pid)
            .map(|info| info.children.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|child| self.process(*child))
    }

    /// The chain of parents of `pid` present in the snapshot, nearest first (what a tree
    /// view expands to reveal `pid`).
    pub fn ancestors(&self, pid: Pid) -> Vec<Pid> {
        let mut chain = Vec::new();
        let mut current = self.process(pid).and_then(|info| info.parent);
        while let Some(parent) = current {
            if !self.contains(parent) || chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            current = self.process(parent).and_then(|info| info.parent);
        }
        chain
    }

    /// Wall-clock time of a `*_ms` time of this node.
    pub fn unix_ms(&self, at_ms: u64) -> u64 {
        self.node_started_at_unix_ms.saturating_add(at_ms)
    }

    /// Whether both hold the same processes with the same values (headers aside).
    pub fn same_processes(&self, other: &Self) -> bool {
        self.roots == other.roots && self.processes == other.processes
    }

    /// Brings the snapshot to `delta.seq`: adds and updates `added` and `changed`, then drops
    /// `removed` (pids it does not hold are ignored: a process may be born and gone between
    /// two deltas). Fails, changing nothing, if the delta does not follow this snapshot.
    pub fn apply(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        if delta.from_seq != self.seq {
            return Err(ApplyError {
                snapshot_seq: self.seq,
                from_seq: delta.from_seq,
            });
        }
        if !delta.removed.is_empty() {
            self.build_index();
        }
        // Processes whose root status may have changed.
        let mut touched: Vec<Pid> = Vec::new();
        // Each list is in pid order; a cursor per list makes each search start where the
        // last one ended.
        let (mut added_at, mut changed_at) = (Cursor::default(), Cursor::default());
        let updates = (delta.added.iter().map(|info| (info, true)))
            .chain(delta.changed.iter().map(|info| (info, false)));
        for (info, is_added) in updates {
            let pid = info.pid;
            let cursor = if is_added {
                &mut added_at
            } else {
                &mut changed_at
            };
            let old = self.processes.insert_from(info.clone(), cursor);
            let old_parent = old.as_ref().and_then(|old| old.parent);
            let is_new = old.is_none();
            if !is_new && old_parent == info.parent {
                // The common case: same place in the tree, so the same root status.
                continue;
            }
            if is_new {
                self.build_index();
            }
            if let Some(index) = &mut self.by_parent {
                if let Some(parent) = old_parent {
                    index.remove(&(parent, pid));
                }
                if let Some(parent) = info.parent {
                    index.insert((parent, pid));
                }
                if is_new {
                    // A parent arriving after its children (it can happen in a resync race).
                    touched.extend(Self::children_in(index, pid));
                }
            }
            touched.push(pid);
        }
        let gone: Vec<Pid> = delta.removed.iter().map(|removed| removed.pid).collect();
        for old in self.processes.remove_all(&gone) {
            self.roots.remove(&old.pid);
            if let Some(index) = &mut self.by_parent {
                if let Some(parent) = old.parent {
                    index.remove(&(parent, old.pid));
                }
                touched.extend(Self::children_in(index, old.pid));
            }
        }
        for pid in touched {
            let Some(info) = self.processes.get(pid) else {
                continue;
            };
            if info
                .parent
                .is_none_or(|parent| !self.processes.contains(parent))
            {
                self.roots.insert(pid);
            } else {
                self.roots.remove(&pid);
            }
        }
        self.seq = delta.seq;
        self.taken_at_unix_ms = delta.taken_at_unix_ms;
        Ok(())
    }

    fn children_in(index: &BTreeSet<(Pid, Pid)>, parent: Pid) -> impl Iterator<Item = Pid> + '_ {
        index
            .range((parent, Pid(0))..=(parent, Pid(u64::MAX)))
            .map(|(_, child)| *child)
    }

    fn build_index(&mut self) {
        if self.by_parent.is_none() {
            let index = self
                .processes
                .iter()
                .filter_map(|info| info.parent.map(|parent| (parent, info.pid)))
                .collect();
            self.by_parent = Some(index);
        }
    }
}

impl PartialEq for Snapshot {
    /// Headers and processes; the private index is derived data and is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.format_version == other.format_version
            && self.node == other.node
            && self.node_started_at_unix_ms == other.node_started_at_unix_ms
            && self.taken_at_unix_ms == other.taken_at_unix_ms
            && self.seq == other.seq
            && self.same_processes(other)
    }
}

/// The wire form of a [`Snapshot`], borrowed for writing.
#[derive(Serialize)]
struct SnapshotOut<'a> {
    format_version: u32,
    node: &'a str,
    node_started_at_unix_ms: u64,
    taken_at_unix_ms: u64,
    seq: u64,
    roots: &'a BTreeSet<Pid>,
    /// Every process, as one part.
    processes: PartOut<'a>,
}

/// The wire form of a [`Snapshot`], owned for reading. `roots` is derived again from the
/// processes, so a reader never trusts a writer's bookkeeping.
#[derive(Deserialize)]
struct SnapshotIn {
    format_version: u32,
    node: Arc<str>,
    node_started_at_unix_ms: u64,
    taken_at_unix_ms: u64,
    seq: u64,
    /// Read (binary formats are positional) and then ignored.
    #[serde(default, rename = "roots")]
    _roots: BTreeSet<Pid>,
    processes: SnapshotPart,
}

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SnapshotOut {
            format_version: self.format_version,
            node: &self.node,
            node_started_at_unix_ms: self.node_started_at_unix_ms,
            taken_at_unix_ms: self.taken_at_unix_ms,
            seq: self.seq,
            roots: &self.roots,
            processes: PartOut(self.processes.infos()),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = SnapshotIn::deserialize(deserializer)?;
        let head = SnapshotHead {
            format_version: wire.format_version,
            node: wire.node,
            node_started_at_unix_ms: wire.node_started_at_unix_ms,
            taken_at_unix_ms: wire.taken_at_unix_ms,
            seq: wire.seq,
            parts: 1,
        };
        Ok(Self::from_parts(head, vec![wire.processes]))
    }
}

/// A full snapshot's header when it is sent in parts (see [`Snapshot::parts`]): everything
/// but the processes, and how many parts carry them.
///
/// A big node's snapshot goes on the remote wire so: the node encodes the next part while the
/// client decodes the last, and the client decodes its parts on several threads at once, then
/// joins them with [`Snapshot::from_parts`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHead {
    /// The model's version the snapshot was written in.
    pub format_version: u32,
    /// The node's name.
    pub node: Arc<str>,
    /// When the node started (wall clock).
    pub node_started_at_unix_ms: u64,
    /// When the data was read (wall clock).
    pub taken_at_unix_ms: u64,
    /// The snapshot's position in its stream.
    pub seq: u64,
    /// How many parts follow.
    pub parts: u32,
}

/// One part of a snapshot's processes, borrowed for writing: a list of processes in pid
/// order, the same form as a snapshot's `processes` (which is written as one part).
#[derive(Clone, Copy, Debug)]
pub struct PartOut<'a>(&'a [Arc<ProcessInfo>]);

impl Serialize for PartOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

/// One part of a snapshot's processes, read (see [`SnapshotHead`]).
#[derive(Debug)]
pub struct SnapshotPart(ReadRun);

impl SnapshotPart {
    /// How many processes it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for SnapshotPart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::process_table::read_run(deserializer).map(Self)
    }
}

impl Snapshot {
    /// Its header, for sending it in `parts` parts.
    pub fn head(&self, parts: u32) -> SnapshotHead {
        SnapshotHead {
            format_version: self.format_version,
            node: self.node.clone(),
            node_started_at_unix_ms: self.node_started_at_unix_ms,
            taken_at_unix_ms: self.taken_at_unix_ms,
            seq: self.seq,
            parts,
        }
    }

    /// Its processes in pid order, cut into parts of at most `per_part` (at least one)
    /// processes each; none for an empty snapshot.
    pub fn parts(&self, per_part: usize) -> impl ExactSizeIterator<Item = PartOut<'_>> + '_ {
        self.processes.infos().chunks(per_part.max(1)).map(PartOut)
    }

    /// The snapshot a header and its parts, in the order sent, describe. The roots are
    /// derived again from the processes, as when a whole snapshot is read.
    pub fn from_parts(head: SnapshotHead, parts: Vec<SnapshotPart>) -> Self {
        let runs = parts.into_iter().map(|part| part.0).collect();
        let mut snapshot = Self::from_runs(
            head.node,
            head.node_started_at_unix_ms,
            head.taken_at_unix_ms,
            head.seq,
            runs,
        );
        snapshot.format_version = head.format_version;
        snapshot
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{ExitReason, ProcessKind, Removed, Restart, Shutdown, Strategy};

    fn info(pid: u64, parent: Option<u64>, children: &[u64]) -> Arc<ProcessInfo> {
        Arc::new(ProcessInfo {
            parent: parent.map(Pid),
            children: children.iter().copied().map(Pid).collect(),
            started_at_ms: pid,
            ..ProcessInfo::new(Pid(pid), ProcessKind::Plain, "process")
        })
    }

    fn snapshot(infos: Vec<Arc<ProcessInfo>>) -> Snapshot {
        Snapshot::new("test", 1_000, 2_000, 0, infos)
    }

    fn roots(snapshot: &Snapshot) -> Vec<u64> {
        snapshot.root_pids().iter().map(|pid| pid.0).collect()
    }

    #[test]
    fn roots_are_processes_without_a_live_parent_in_pid_order() {
        let snap = snapshot(vec![
            info(5, Some(1), &[]),
            info(1, None, &[5, 6]),
            info(6, Some(1), &[]),
            info(9, Some(3), &[]),
            info(2, None, &[]),
        ]);
        assert_eq!(roots(&snap), vec![1, 2, 9]);
        let children: Vec<u64> = snap.children_of(Pid(1)).map(|i| i.pid.0).collect();
        assert_eq!(children, vec![5, 6]);
        assert_eq!(snap.ancestors(Pid(5)), vec![Pid(1)]);
        assert!(snap.ancestors(Pid(9)).is_empty());
        assert_eq!(
            snap.processes().map(|i| i.pid.0).collect::<Vec<_>>(),
            [1, 2, 5, 6, 9]
        );
        assert_eq!(snap.position(Pid(6)), Some(3));
        assert_eq!(snap.process_at(3).map(|i| i.pid), Some(Pid(6)));
        assert_eq!(snap.position(Pid(7)), None);
        assert!(snap.process_at(5).is_none());
    }

    #[test]
    fn applying_a_delta_adds_changes_removes_and_orphans_become_roots() {
        let mut snap = snapshot(vec![
            info(1, None, &[2]),
            info(2, Some(1), &[3]),
            info(3, Some(2), &[]),
        ]);
        let mut renamed = (*info(3, Some(2), &[])).clone();
        renamed.name = Some("three".into());
        let delta = Delta {
            seq: 1,
            from_seq: 0,
            taken_at_unix_ms: 3_000,
            added: vec![info(4, Some(2), &[])],
            changed: vec![Arc::new(renamed)],
            removed: vec![Removed {
                pid: Pid(2),
                reason: ExitReason::Killed,
            }],
        };
        snap.apply(&delta).unwrap();
        assert_eq!(snap.seq, 1);
        assert_eq!(snap.taken_at_unix_ms, 3_000);
        assert_eq!(roots(&snap), vec![1, 3, 4]);
        assert_eq!(snap.process(Pid(3)).unwrap().name.as_deref(), Some("three"));
        assert!(!snap.contains(Pid(2)));
        // The parent's children list still names 2 until its own change arrives; views skip it.
        assert_eq!(snap.children_of(Pid(1)).count(), 0);
        let fresh = snapshot(snap.processes().map(|i| Arc::new(i.clone())).collect());
        assert!(snap.same_processes(&fresh));
    }

    #[test]
    fn a_delta_out_of_order_is_refused_and_changes_nothing() {
        let mut snap = snapshot(vec![info(1, None, &[])]);
        let delta = Delta {
            seq: 3,
            from_seq: 2,
            removed: vec![Removed {
                pid: Pid(1),
                reason: ExitReason::Normal,
            }],
            ..Delta::default()
        };
        let error = snap.apply(&delta).unwrap_err();
        assert_eq!(
            error.to_string(),
            "delta from seq 2 does not follow snapshot seq 0: resync"
        );
        assert!(snap.contains(Pid(1)));
    }

    #[test]
    fn removing_an_unknown_pid_is_ignored() {
        let mut snap = snapshot(vec![info(1, None, &[])]);
        let delta = Delta {
            seq: 1,
            removed: vec![Removed {
                pid: Pid(77),
                reason: ExitReason::Normal,
            }],
            ..Delta::default()
        };
        snap.apply(&delta).unwrap();
        assert_eq!(snap.len(), 1);
    }

    #[test]
    fn snapshot_round_trips_through_json_with_processes_as_a_list() {
        let mut sup = (*info(1, None, &[2])).clone();
        sup.kind = ProcessKind::Supervisor {
            strategy: Strategy::OneForOne,
            max_restarts: 3,
            max_seconds: 5,
        };
        sup.name = Some("KV.Supervisor".into());
        let mut worker = (*info(2, Some(1), &[])).clone();
        worker.kind = ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: Some(10),
        };
        worker.restart = Some(Restart::Permanent);
        worker.shutdown = Some(Shutdown::TimeoutMs(5000));
        let snap = snapshot(vec![Arc::new(sup), Arc::new(worker)]);
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["processes"].as_array().unwrap().len(), 2);
        assert_eq!(json["roots"], serde_json::json!(["<0.1.0>"]));
        assert_eq!(
            json["processes"][0]["kind"]["supervisor"]["strategy"],
            "one_for_one"
        );
        assert_eq!(
            json["processes"][1]["shutdown"],
            serde_json::json!({"timeout_ms": 5000})
        );
        let back: Snapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, snap);
        let bytes = crate::binary::encode(&snap).unwrap();
        let back: Snapshot = crate::binary::decode(&bytes).unwrap();
        assert_eq!(back, snap);
        assert_eq!(back.roots().map(|p| p.pid).collect::<Vec<_>>(), [Pid(1)]);
    }

    #[test]
    fn a_snapshot_sent_in_parts_reads_back_equal_with_its_roots() {
        // 1 and 4 are roots; 4's parent (3) is not in the snapshot; 7's is, in another part.
        let snap = snapshot(vec![
            info(1, None, &[2, 7]),
            info(2, Some(1), &[]),
            info(4, Some(3), &[5]),
            info(5, Some(4), &[]),
            info(6, Some(5), &[]),
            info(7, Some(1), &[]),
            info(8, Some(7), &[]),
        ]);
        let parts: Vec<Vec<u8>> = snap
            .parts(3)
            .map(|part| crate::binary::encode(&part).unwrap())
            .collect();
        assert_eq!(parts.len(), 3, "7 processes, 3 a part");
        let head: SnapshotHead =
            crate::binary::decode(&crate::binary::encode(&snap.head(3)).unwrap()).unwrap();
        let read: Vec<SnapshotPart> = parts
            .iter()
            .map(|bytes| crate::binary::decode(bytes).unwrap())
            .collect();
        assert_eq!(
            read.iter().map(SnapshotPart::len).collect::<Vec<_>>(),
            [3, 3, 1]
        );
        let back = Snapshot::from_parts(head, read);
        assert_eq!(back, snap);
        assert_eq!(roots(&back), vec![1, 4]);
        assert_eq!(snapshot(Vec::new()).parts(3).len(), 0);
    }
}
