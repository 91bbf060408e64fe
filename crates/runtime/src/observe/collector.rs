//! Runtime to model: full snapshots of a [`Node`], and deltas built from its change marks.
//!
//! A [`Collector`] holds the model of one node (a [`Snapshot`]) and, while it lives, keeps the
//! runtime recording which processes change. Each [`Collector::collect`] reads, in this order:
//! 1. the event feed since its cursor; every `Exited` event there names a process that has
//!    already left the process table, so nothing read after it can show that process alive;
//! 2. the pids marked changed ([`Node::take_changed`]), each re-read: a live one is *added*
//!    if the model lacks it and *changed* only if its value differs; one that is gone or
//!    dying is left to its `Exited` event, which the feed always carries, in this read or
//!    the next;
//! 3. *removed* = the processes of the model named by an `Exited` event, with its reason.
//!
//! If the feed overflowed since the last read (`missed > 0`), deaths may be lost, so the
//! collector re-reads everything and reports a resync: it never keeps a ghost.
//!
//! The runtime's list of changed pids is consumed by whoever takes it, so a node has at most
//! one collector at a time: a second one is refused ([`AlreadyObserved`]).
//! [`observe`](super::observe) shares one per node between all its subscribers; build a
//! `Collector` directly only where nothing observes the node.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{self as runtime, Node};

use super::convert::{self, Clock, Labels};
use otpscope_contract::build::{Cursor, InPlace, ReadRun};
use otpscope_contract::{Delta, Event, EventKind, ExitReason, Pid, Removed, Snapshot};

/// A full snapshot of `node` now, at seq 0, without tracking changes.
pub fn full_snapshot(node: &Node) -> Snapshot {
    read_all(node, &Clock::new(node), 0)
}

/// Reads every live process (dying ones, whose exit is under way, left out), on several
/// threads for a large node.
fn read_all(node: &Node, clock: &Clock, seq: u64) -> Snapshot {
    let taken_at_unix_ms = convert::now_unix_ms();
    let count = node.process_count();
    let threads = read_threads(count);
    // Each run of processes into its own lists; each thread with its own copies of shared
    // labels.
    let runs = node.introspect().visit_processes_split(
        threads,
        Labels::default,
        ReadRun::with_capacity,
        |labels, read, view| {
            if view.status() != runtime::Status::Dead {
                read.push(convert::process_view(view, clock, Some(labels)));
            }
        },
    );
    Snapshot::from_runs(
        node.name(),
        clock.node_started_at_unix_ms,
        taken_at_unix_ms,
        seq,
        runs,
    )
}

/// From this many processes on, a full read is shared between threads. Measured on two
/// cores: at 10,000 processes two threads read in 0.9–1.1 ms against 1.1–1.7 ms for one; at
/// 5,000 neither won; at 2,000 one thread did.
const SPLIT_READ_AT: usize = 10_000;
/// The most threads a full read takes (there is little more to gain from memory).
const MAX_READ_THREADS: usize = 4;

/// How many threads a full read of `processes` takes: one for a small node; for a large one,
/// one per core, at most [`MAX_READ_THREADS`]. Measured in BENCHMARKS.md ("Cold full read,
/// third pass").
fn read_threads(processes: usize) -> usize {
    if processes < SPLIT_READ_AT {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_READ_THREADS)
}

/// What one [`Collector::collect`] found.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// What changed in the model (empty after a resync: read [`Collector::snapshot`]).
    pub delta: Delta,
    /// The events read from the feed, in order.
    pub events: Vec<Event>,
    /// Events that were dropped from the node's feed before they could be read.
    pub missed_events: u64,
    /// True when the model was rebuilt from a full read: a view must take a full snapshot.
    pub resynced: bool,
}

/// Another collector (the snapshot stream's, or one built directly) holds the node's change
/// marks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "node {node} is already observed by another collector: subscribe with observe() to share it"
)]
pub struct AlreadyObserved {
    /// The node's name.
    pub node: String,
}

/// The model of one node, kept current from the runtime's change marks and event feed.
pub struct Collector {
    /// The node observed.
    node: Node,
    /// The node's change marks, held for as long as the collector lives.
    tracking: runtime::ChangeTracking,
    /// Converts the node's instants to model times.
    clock: Clock,
    /// What the views know: the last full read plus every delta since.
    model: Snapshot,
    /// The next event of the feed to read.
    event_cursor: u64,
    /// Events moved out of the feed by [`drain_feed`](Self::drain_feed) since the last
    /// collect, which handles them as if it had read them itself.
    drained: Vec<Event>,
    /// Events the feed dropped before they could be read, since the last collect.
    missed: u64,
}

impl Collector {
    /// Takes `node`'s change marks and reads it in full (seq 0). Fails if another collector
    /// holds the marks.
    pub fn new(node: &Node) -> Result<Self, AlreadyObserved> {
        // Track first and note the feed's position, so nothing that happens during the full
        // read is lost: it is read again (or removed) by the first collect.
        let introspect = node.introspect();
        let tracking = introspect.track_changes().ok_or_else(|| AlreadyObserved {
            node: node.name().to_owned(),
        })?;
        let event_cursor = introspect.next_event_seq();
        let clock = Clock::new(node);
        let model = read_all(node, &clock, 0);
        Ok(Self {
            node: node.clone(),
            tracking,
            clock,
            model,
            event_cursor,
            drained: Vec::new(),
            missed: 0,
        })
    }

    /// The node observed.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The sequence number of the next event of the node's feed the collector will read.
    pub fn event_cursor(&self) -> u64 {
        self.event_cursor
    }

    /// Moves the events waiting in the node's feed into the collector, cheaply (no process
    /// is read), so that a burst cannot overflow the feed before the next collect.
    pub fn drain_feed(&mut self) {
        let read = self
            .node
            .introspect()
            .events_since(self.event_cursor, usize::MAX);
        self.event_cursor = read.next_seq;
        self.missed += read.missed;
        let clock = &self.clock;
        self.drained.extend(
            read.events
                .into_iter()
                .map(|event| convert::event(event, clock)),
        );
    }

    /// The model as of the last collect.
    pub fn snapshot(&self) -> &Snapshot {
        &self.model
    }

    /// Brings the model up to date and says what changed (see the module docs for how).
    pub fn collect(&mut self) -> Collected {
        self.drain_feed();
        let events = std::mem::take(&mut self.drained);
        let missed = std::mem::take(&mut self.missed);
        let from_seq = self.model.seq;
        let seq = from_seq + 1;
        if missed > 0 {
            return self.resync(events, missed);
        }
        let deaths: HashMap<Pid, &ExitReason> = events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Exited { pid, reason } => Some((*pid, reason)),
                _ => None,
            })
            .collect();
        // Changed processes that keep their place in the tree are put in the model as they are
        // read (one search each); new ones, and any that moved, go through `apply` below with
        // the removals. Views apply the whole delta and get the same model. Pids are read in
        // ascending order, so `changed` is in pid order as a delta's must be.
        let mut changed = Vec::new();
        let mut added = Vec::new();
        let mut moved = Vec::new();
        let (model, clock) = (&mut self.model, &self.clock);
        let mut cursor = Cursor::default();
        self.tracking.take_changed_views(|pid, view| {
            let Some(view) = view else { return };
            let pid = convert::pid(pid);
            if deaths.contains_key(&pid) || view.status() == runtime::Status::Dead {
                return;
            }
            match model.update_in_place(convert::process_view(view, clock, None), &mut cursor) {
                InPlace::Same => {}
                InPlace::Replaced(info) => changed.push(info),
                InPlace::Moved(info) => {
                    let info = Arc::new(info);
                    moved.push(info.clone());
                    changed.push(info);
                }
                InPlace::Added(info) => added.push(Arc::new(info)),
            }
        });
        let mut removed: Vec<Removed> = deaths
            .iter()
            .filter(|(pid, _)| self.model.contains(**pid))
            .map(|(pid, reason)| Removed {
                pid: *pid,
                reason: (*reason).clone(),
            })
            .collect();
        removed.sort_unstable_by_key(|removed| removed.pid);
        let mut delta = Delta {
            seq,
            from_seq,
            taken_at_unix_ms: convert::now_unix_ms(),
            added,
            changed: moved,
            removed,
        };
        if self.model.apply(&delta).is_err() {
            // Cannot happen (the delta is built on the model's own seq); stay correct anyway.
            return self.resync(events, 0);
        }
        delta.changed = changed;
        Collected {
            delta,
            events,
            missed_events: 0,
            resynced: false,
        }
    }

    /// Rebuilds the model from a full read, one seq further.
    fn resync(&mut self, events: Vec<Event>, missed_events: u64) -> Collected {
        let from_seq = self.model.seq;
        // Marks taken now are covered by the full read that follows.
        self.tracking.take_changed();
        self.model = read_all(&self.node, &self.clock, from_seq + 1);
        Collected {
            delta: Delta {
                seq: self.model.seq,
                from_seq,
                taken_at_unix_ms: self.model.taken_at_unix_ms,
                ..Delta::default()
            },
            events,
            missed_events,
            resynced: true,
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // The runtime keeps a process's change mark set while it is listed; taking the list
        // before the tracking guard goes resets those marks, so a later observer sees them.
        self.tracking.take_changed();
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("node", &self.node.name())
            .field("seq", &self.model.seq)
            .field("processes", &self.model.len())
            .finish_non_exhaustive()
    }
}
