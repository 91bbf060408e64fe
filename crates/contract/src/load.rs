//! A node's load: what a view's load charts plot, counted over the live processes of a
//! [`Snapshot`] (processes by kind, messages handled, messages waiting), and the same over
//! time as a series of [`LoadPoint`]s.
//!
//! One definition serves a view that counts the snapshot it holds and a source that keeps the
//! counts running over deltas (each process's share subtracted as it was and added as it is
//! now), so both agree to the message. Nothing here knows where the data comes from.

use crate::{ProcessInfo, ProcessKind, Snapshot};

/// The load of a set of processes, or of one process (its share: one of the three kind
/// counts is 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// Supervisors (static and dynamic).
    pub supervisors: usize,
    /// Servers and agents.
    pub workers: usize,
    /// Plain processes.
    pub plain: usize,
    /// Messages the processes have handled since each started (a rate is the difference of
    /// two of these over the time between them).
    pub messages_handled: u64,
    /// Messages waiting in their mailboxes.
    pub mailbox_total: u64,
}

impl LoadCounts {
    /// The share of one process.
    pub fn of_process(info: &ProcessInfo) -> Self {
        let (supervisors, workers, plain) = match info.kind {
            ProcessKind::Supervisor { .. } | ProcessKind::DynamicSupervisor { .. } => (1, 0, 0),
            ProcessKind::Server | ProcessKind::Agent => (0, 1, 0),
            ProcessKind::Plain => (0, 0, 1),
        };
        Self {
            supervisors,
            workers,
            plain,
            messages_handled: info.messages_handled,
            mailbox_total: info.mailbox_len,
        }
    }

    /// The load of every process in `snapshot` (a walk of all of them).
    pub fn of_snapshot(snapshot: &Snapshot) -> Self {
        let mut counts = Self::default();
        for info in snapshot.processes() {
            counts.add(&Self::of_process(info));
        }
        counts
    }

    /// Adds `other` (a process that started or changed, as it is now).
    pub fn add(&mut self, other: &Self) {
        self.supervisors += other.supervisors;
        self.workers += other.workers;
        self.plain += other.plain;
        self.messages_handled += other.messages_handled;
        self.mailbox_total += other.mailbox_total;
    }

    /// Takes `other` away (a process that exited or changed, as it was); never below zero.
    pub fn subtract(&mut self, other: &Self) {
        self.supervisors = self.supervisors.saturating_sub(other.supervisors);
        self.workers = self.workers.saturating_sub(other.workers);
        self.plain = self.plain.saturating_sub(other.plain);
        self.messages_handled = self.messages_handled.saturating_sub(other.messages_handled);
        self.mailbox_total = self.mailbox_total.saturating_sub(other.mailbox_total);
    }

    /// How many processes.
    pub fn processes(&self) -> usize {
        self.supervisors + self.workers + self.plain
    }
}

/// The load of a node from one moment of a stretch of time until the next point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadPoint {
    /// When, in milliseconds from the start of the stretch.
    pub at_ms: u64,
    /// The live processes' load from then on.
    pub counts: LoadCounts,
    /// Supervisors' restarts of children from the start of the stretch up to then.
    pub restarts: u64,
    /// Memory the node's OS process held, if it was known.
    pub memory_bytes: Option<u64>,
}

impl LoadPoint {
    /// The point in force at `at_ms` in `points` (in time order): the last at or before it.
    /// `None` before the first.
    pub fn in_force_at(points: &[Self], at_ms: u64) -> Option<&Self> {
        let count = points.partition_point(|point| point.at_ms <= at_ms);
        count.checked_sub(1).map(|last| &points[last])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::Pid;

    #[test]
    fn a_snapshot_is_counted_by_kind_with_its_messages() {
        let mut agent = ProcessInfo::new(Pid(2), ProcessKind::Agent, "A");
        agent.messages_handled = 7;
        agent.mailbox_len = 2;
        let supervisor = ProcessInfo::new(
            Pid(1),
            ProcessKind::DynamicSupervisor {
                max_restarts: 3,
                max_seconds: 5,
                max_children: None,
            },
            "S",
        );
        let plain = ProcessInfo::new(Pid(3), ProcessKind::Plain, "P");
        let snapshot = Snapshot::new(
            "n",
            0,
            0,
            1,
            [supervisor, agent, plain.clone()].into_iter().map(Arc::new),
        );
        let counts = LoadCounts::of_snapshot(&snapshot);
        assert_eq!(
            counts,
            LoadCounts {
                supervisors: 1,
                workers: 1,
                plain: 1,
                messages_handled: 7,
                mailbox_total: 2,
            }
        );
        let mut less = counts;
        less.subtract(&LoadCounts::of_process(&plain));
        assert_eq!((less.plain, less.processes()), (0, 2));
    }

    #[test]
    fn the_point_in_force_is_the_last_at_or_before() {
        let point = |at_ms| LoadPoint {
            at_ms,
            ..LoadPoint::default()
        };
        let points = [point(100), point(200), point(200)];
        assert_eq!(LoadPoint::in_force_at(&points, 99), None);
        assert_eq!(LoadPoint::in_force_at(&points, 150).unwrap().at_ms, 100);
        assert!(std::ptr::eq(
            LoadPoint::in_force_at(&points, 200).unwrap(),
            &points[2]
        ));
    }
}
