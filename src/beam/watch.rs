//! From reads to the contract's stream: the first read is a full snapshot, each later one a
//! [`Delta`] against the last, and the event feed says what happened between them.
//!
//! - **Exits** come from monitors, with the node's own reasons: every process read is
//!   monitored, and its `DOWN` becomes an `exited` event the moment it arrives. A process
//!   removed by a read whose `DOWN` has not come (it died before it could be monitored)
//!   is removed with `noproc`, as a monitor set on it then would have said.
//! - **Restarts** are seen as pids change: when a supervisor's child id names another pid
//!   than at the last read, that child was restarted (`restarted`, and its count grows).
//!   A dynamic supervisor's children have no id (`undefined`), so theirs are not counted.
//! - **Spawns** are the processes a read finds new.
//!
//! Start times are when a process was first read, in milliseconds since the node started
//! (`erlang:statistics(wall_clock)`): the BEAM does not tell when a process started.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::contract::{
    Delta, Event, EventKind, ExitReason, Pid, ProcessInfo, Removed, Snapshot, Update,
};

/// What the watcher remembers between reads.
pub struct Watcher {
    node: Arc<str>,
    /// When the node started, wall clock.
    started_at_unix_ms: u64,
    view: Option<Snapshot>,
    seq: u64,
    event_seq: u64,
    /// When each live process was first read, ms since the node started.
    first_seen: HashMap<Pid, u64>,
    /// The current pid and restart count of each (supervisor, child id).
    incarnations: HashMap<(Pid, Arc<str>), (Pid, u32)>,
    /// Exit reasons from `DOWN`s, until a read removes the process.
    reasons: HashMap<Pid, ExitReason>,
    /// Events not yet handed out.
    events: Vec<Event>,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Watcher {
    /// A watcher of `node`, which started at `started_at_unix_ms`.
    pub fn new(node: impl Into<Arc<str>>, started_at_unix_ms: u64) -> Self {
        Self {
            node: node.into(),
            started_at_unix_ms,
            view: None,
            seq: 0,
            event_seq: 0,
            first_seen: HashMap::new(),
            incarnations: HashMap::new(),
            reasons: HashMap::new(),
            events: Vec::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        now_unix_ms().saturating_sub(self.started_at_unix_ms)
    }

    /// Adds an event to the feed.
    pub fn event(&mut self, kind: EventKind) {
        self.event_seq += 1;
        let event = Event {
            seq: self.event_seq,
            at_ms: self.now_ms(),
            kind,
        };
        self.events.push(event);
    }

    /// A monitored process exited with `reason`.
    pub fn down(&mut self, pid: Pid, reason: ExitReason) {
        let live = self.view.as_ref().is_some_and(|view| view.contains(pid));
        if live && !self.reasons.contains_key(&pid) {
            self.reasons.insert(pid, reason.clone());
            self.event(EventKind::Exited { pid, reason });
        }
    }

    /// The events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Takes a read's processes: the first read is a full snapshot, later ones a delta
    /// (`None` when nothing changed). Gives the pids new to the view, to monitor.
    pub fn take(&mut self, mut processes: Vec<ProcessInfo>) -> (Option<Update>, Vec<Pid>) {
        let now_ms = self.now_ms();
        let taken_at = now_unix_ms();
        let mut restarted: Vec<(Pid, Arc<str>, Pid, Pid)> = Vec::new();
        let live: HashSet<Pid> = processes.iter().map(|info| info.pid).collect();
        for info in &mut processes {
            info.started_at_ms = *self.first_seen.entry(info.pid).or_insert(now_ms);
            let (Some(supervisor), Some(id)) = (info.parent, info.child_id.clone()) else {
                continue;
            };
            let key = (supervisor, id.clone());
            let entry = self.incarnations.entry(key).or_insert((info.pid, 0));
            if entry.0 != info.pid {
                let old = entry.0;
                entry.0 = info.pid;
                // A first read's pids are not restarts; nor is a child the view never had.
                entry.1 += 1;
                restarted.push((supervisor, id, old, info.pid));
            }
            info.restarts = entry.1;
        }
        self.first_seen.retain(|pid, _| live.contains(pid));
        self.incarnations
            .retain(|(supervisor, _), _| live.contains(supervisor));

        self.seq += 1;
        let Some(view) = self.view.as_mut() else {
            let snapshot = Snapshot::new(
                self.node.clone(),
                self.started_at_unix_ms,
                taken_at,
                self.seq,
                processes.into_iter().map(Arc::new),
            );
            let new = snapshot.processes().map(|info| info.pid).collect();
            self.view = Some(snapshot.clone());
            return (Some(Update::Full(snapshot)), new);
        };
        let mut delta = Delta {
            seq: self.seq,
            from_seq: view.seq,
            taken_at_unix_ms: taken_at,
            ..Delta::default()
        };
        for info in processes {
            match view.process(info.pid) {
                None => delta.added.push(Arc::new(info)),
                Some(old) if *old != info => delta.changed.push(Arc::new(info)),
                Some(_) => {}
            }
        }
        delta.added.sort_by_key(|info| info.pid);
        delta.changed.sort_by_key(|info| info.pid);
        let gone: Vec<Pid> = view
            .processes()
            .map(|info| info.pid)
            .filter(|pid| !live.contains(pid))
            .collect();
        for pid in gone {
            let reason = self.reasons.remove(&pid).unwrap_or(ExitReason::NoProc);
            delta.removed.push(Removed { pid, reason });
        }
        let new: Vec<Pid> = delta.added.iter().map(|info| info.pid).collect();
        if delta.is_empty() {
            self.seq -= 1;
            return (None, new);
        }
        if view.apply(&delta).is_err() {
            // Cannot happen (the delta follows the view); start over with a full snapshot.
            self.view = None;
            return (None, Vec::new());
        }
        // Spawns first, then the restarts they were.
        let spawned: Vec<(Pid, Option<Pid>, Arc<str>)> = delta
            .added
            .iter()
            .map(|info| (info.pid, info.parent, info.label.clone()))
            .collect();
        for (pid, parent, label) in spawned {
            self.event(EventKind::Spawned { pid, parent, label });
        }
        // In the order the supervisor started them again (pids grow in start order).
        restarted.sort_by_key(|(_, _, _, new)| *new);
        for (supervisor, child_id, old, new) in restarted {
            self.event(EventKind::Restarted {
                supervisor,
                child_id,
                old,
                new,
            });
        }
        (Some(Update::Delta(delta)), new)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::contract::ProcessKind;

    use super::*;

    fn process(pid: u64, parent: Option<u64>, id: Option<&str>) -> ProcessInfo {
        let mut info = ProcessInfo::new(Pid(pid), ProcessKind::Server, "KV.Registry");
        info.parent = parent.map(Pid);
        info.child_id = id.map(Arc::from);
        info
    }

    #[test]
    fn a_changed_child_pid_is_a_restart_and_a_down_gives_the_real_reason() {
        let mut watcher = Watcher::new("kv@127.0.0.1", now_unix_ms());
        let first = vec![
            process(1, None, None),
            process(2, Some(1), Some("KV.Registry")),
        ];
        let (update, new) = watcher.take(first);
        assert!(matches!(update, Some(Update::Full(_))));
        assert_eq!(new, vec![Pid(1), Pid(2)]);
        assert!(watcher.take_events().is_empty());

        watcher.down(Pid(2), ExitReason::Killed);
        let second = vec![
            process(1, None, None),
            process(3, Some(1), Some("KV.Registry")),
        ];
        let (update, new) = watcher.take(second.clone());
        let Some(Update::Delta(delta)) = update else {
            panic!("expected a delta")
        };
        assert_eq!(new, vec![Pid(3)]);
        assert_eq!(
            delta.removed,
            vec![Removed {
                pid: Pid(2),
                reason: ExitReason::Killed
            }]
        );
        assert_eq!(delta.added[0].restarts, 1);
        let kinds: Vec<EventKind> = watcher.take_events().into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                EventKind::Exited {
                    pid: Pid(2),
                    reason: ExitReason::Killed
                },
                EventKind::Spawned {
                    pid: Pid(3),
                    parent: Some(Pid(1)),
                    label: "KV.Registry".into()
                },
                EventKind::Restarted {
                    supervisor: Pid(1),
                    child_id: "KV.Registry".into(),
                    old: Pid(2),
                    new: Pid(3)
                },
            ]
        );
        // The same read again: nothing changed.
        assert!(watcher.take(second).0.is_none());
    }

    #[test]
    fn a_process_gone_without_a_down_is_removed_with_noproc() {
        let mut watcher = Watcher::new("n@h", now_unix_ms());
        watcher.take(vec![process(1, None, None), process(2, None, None)]);
        let (update, _) = watcher.take(vec![process(1, None, None)]);
        let Some(Update::Delta(delta)) = update else {
            panic!("expected a delta")
        };
        assert_eq!(delta.removed[0].reason, ExitReason::NoProc);
    }
}
