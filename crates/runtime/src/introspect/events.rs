//! The node's event feed: what happened (spawned, exited, restarted, linked, unlinked, a
//! supervisor gave up), in order, in a bounded ring read by sequence number. A reader that
//! falls more than the ring's capacity behind is told how many events it missed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::exit::ExitReason;
use crate::pid::Pid;

/// One thing that happened on a node. Sequence numbers grow by one, with no gaps.
#[derive(Clone, Debug)]
pub struct Event {
    /// Position in the node's feed.
    pub seq: u64,
    /// When it happened (monotonic).
    pub at: Instant,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A process started.
    Spawned {
        /// The new process.
        pid: Pid,
        /// Who started it.
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
        target: Option<Pid>,
    },
}

/// A read from the event feed.
#[derive(Debug, Default)]
pub struct EventRead {
    /// Events from the asked sequence number on, in order.
    pub events: Vec<Event>,
    /// How many events between the asked sequence number and the first one returned were
    /// already dropped from the ring (the reader fell behind and should resync).
    pub missed: u64,
    /// The sequence number to ask for next.
    pub next_seq: u64,
}

/// The node's event feed: a bounded ring of the latest events.
pub(crate) struct EventLog {
    /// The ring and the sequence number of its first event.
    ring: Mutex<Ring>,
    /// Woken for readers that wait.
    notify: Notify,
    /// The lowest sequence number a reader waits for (`u64::MAX`: nobody waits): only the
    /// push that reaches it wakes anyone, so an event nobody waits for costs no lock besides
    /// the ring's, and a reader waiting for the ring to fill is woken once, not per event.
    wake_at: AtomicU64,
    /// How many events the ring keeps.
    capacity: usize,
}

struct Ring {
    events: VecDeque<Event>,
    first_seq: u64,
}

impl EventLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ring: Mutex::new(Ring {
                events: VecDeque::new(),
                first_seq: 0,
            }),
            notify: Notify::new(),
            wake_at: AtomicU64::new(u64::MAX),
            capacity,
        }
    }

    pub(crate) fn push(&self, kind: EventKind, at: Instant) {
        self.push_pair(kind, None, at);
    }

    /// Pushes one event, or two that happened together (in order), under one lock.
    pub(crate) fn push_pair(&self, first: EventKind, second: Option<EventKind>, at: Instant) {
        let mut ring = self.ring.lock();
        let dropped = (
            self.push_locked(&mut ring, first, at),
            second.and_then(|kind| self.push_locked(&mut ring, kind, at)),
        );
        let last_seq = ring.first_seq + ring.events.len() as u64 - 1;
        drop(ring);
        drop(dropped);
        // Pairs with the `fetch_min` in `wait_past`: a reader that registered after this load
        // reads the ring after this push, under its lock, and sees the event.
        if last_seq >= self.wake_at.load(Ordering::SeqCst) {
            self.wake_at.store(u64::MAX, Ordering::SeqCst);
            self.notify.notify_waiters();
        }
    }

    /// Appends to the ring; hands back the oldest event if the ring was full, to be dropped
    /// after the lock is released.
    fn push_locked(&self, ring: &mut Ring, kind: EventKind, at: Instant) -> Option<Event> {
        let seq = ring.first_seq + ring.events.len() as u64;
        let oldest = if ring.events.len() == self.capacity {
            ring.first_seq += 1;
            ring.events.pop_front()
        } else {
            None
        };
        ring.events.push_back(Event { seq, at, kind });
        oldest
    }

    pub(crate) fn read_since(&self, seq: u64, max: usize) -> EventRead {
        let ring = self.ring.lock();
        let next = ring.first_seq + ring.events.len() as u64;
        let start = seq.max(ring.first_seq);
        let missed = start - seq.min(start);
        let skip = (start - ring.first_seq) as usize;
        let events: Vec<Event> = ring.events.iter().skip(skip).take(max).cloned().collect();
        let next_seq = start + events.len() as u64;
        debug_assert!(next_seq <= next);
        EventRead {
            events,
            missed,
            next_seq,
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        let ring = self.ring.lock();
        ring.first_seq + ring.events.len() as u64
    }

    pub(crate) async fn wait_past(&self, seq: u64) {
        loop {
            // Created before the check, so a wake between the check and the await is kept.
            let notified = self.notify.notified();
            self.wake_at.fetch_min(seq, Ordering::SeqCst);
            if self.next_seq() > seq {
                return;
            }
            notified.await;
        }
    }

    /// How many events the ring keeps.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(serial: u64) -> EventKind {
        EventKind::Exited {
            pid: Pid::new(1, serial),
            reason: ExitReason::Normal,
        }
    }

    #[test]
    fn event_ring_drops_oldest_and_reports_what_a_reader_missed() {
        let log = EventLog::new(4);
        for serial in 0..6 {
            log.push(exit(serial), Instant::now());
        }
        let read = log.read_since(0, 100);
        assert_eq!(read.missed, 2);
        assert_eq!(
            read.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        assert_eq!(read.next_seq, 6);
        let read = log.read_since(5, 100);
        assert_eq!((read.missed, read.events.len(), read.next_seq), (0, 1, 6));
        let read = log.read_since(6, 100);
        assert_eq!((read.missed, read.events.len(), read.next_seq), (0, 0, 6));
        let read = log.read_since(2, 2);
        assert_eq!(read.next_seq, 4);
    }
}
