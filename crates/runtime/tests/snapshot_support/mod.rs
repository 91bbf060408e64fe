//! Helpers for the snapshot tests: a view that applies what a subscription sends, and a
//! check that it converges on a fresh full snapshot, with a readable diff when it does not.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use otpscope_runtime::Node;
use otpscope_runtime::observe::model::{Event, EventKind, ExitReason, Pid, Snapshot};
use otpscope_runtime::observe::{Subscription, Update, full_snapshot};

/// How long a view may take to converge.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// What a subscriber has seen so far, as a GUI would keep it.
pub struct View {
    /// The subscription it drains.
    pub subscription: Subscription,
    /// The current snapshot (after the first full one).
    pub snapshot: Option<Snapshot>,
    /// Every event received, in order.
    pub events: Vec<Event>,
    /// Full snapshots received (the first one included).
    pub fulls: usize,
    /// Deltas received.
    pub deltas: usize,
    /// Events reported dropped.
    pub missed: u64,
    /// Every pid the view ever held, from any full snapshot or delta.
    pub held: BTreeSet<Pid>,
}

impl View {
    pub fn new(subscription: Subscription) -> Self {
        Self {
            subscription,
            snapshot: None,
            events: Vec::new(),
            fulls: 0,
            deltas: 0,
            missed: 0,
            held: BTreeSet::new(),
        }
    }

    /// Applies every queued update; panics on a delta that does not follow, or on an event
    /// out of order.
    pub fn drain(&mut self) -> usize {
        let mut count = 0;
        while let Some(update) = self.subscription.try_recv() {
            count += 1;
            self.apply(update);
        }
        count
    }

    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Full(snapshot) => {
                self.fulls += 1;
                self.held.extend(snapshot.processes().map(|info| info.pid));
                self.snapshot = Some(snapshot);
            }
            Update::Delta(delta) => {
                self.deltas += 1;
                let snapshot = self
                    .snapshot
                    .as_mut()
                    .expect("a delta before any full snapshot");
                snapshot
                    .apply(&delta)
                    .expect("a delta that follows the view");
                self.held.extend(delta.added.iter().map(|info| info.pid));
            }
            Update::Events { events, missed } => {
                self.missed += missed;
                for event in events {
                    if let Some(last) = self.events.last() {
                        assert!(event.seq > last.seq, "events out of order");
                        if missed == 0 {
                            assert_eq!(event.seq, last.seq + 1, "a gap in the event feed");
                        }
                    }
                    self.events.push(event);
                }
            }
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        self.snapshot.as_ref().expect("no full snapshot yet")
    }

    /// The reason of the `Exited` event seen for `pid`, if any.
    pub fn exit_seen(&self, pid: Pid) -> Option<ExitReason> {
        self.events.iter().find_map(|event| match &event.kind {
            EventKind::Exited {
                pid: exited,
                reason,
            } if *exited == pid => Some(reason.clone()),
            _ => None,
        })
    }

    /// Drains until an `Exited` event for `pid` has arrived; gives its reason.
    pub async fn wait_for_exit(&mut self, pid: Pid) -> ExitReason {
        let started = Instant::now();
        loop {
            self.drain();
            if let Some(reason) = self.exit_seen(pid) {
                return reason;
            }
            assert!(started.elapsed() < DEADLINE, "no Exited event for {pid}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Drains until every pid the view ever held and no longer holds has its `Exited` event;
    /// panics with those still without one after the deadline. A death that happened while
    /// the view was behind (and was replaced by a full snapshot) counts too.
    pub async fn wait_for_every_death(&mut self) {
        let started = Instant::now();
        loop {
            self.drain();
            let snapshot = self.snapshot();
            let unseen: Vec<Pid> = self
                .held
                .iter()
                .copied()
                .filter(|pid| !snapshot.contains(*pid) && self.exit_seen(*pid).is_none())
                .collect();
            if unseen.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "gone from the view without an Exited event: {unseen:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Drains until the view holds exactly what a fresh full snapshot of `node` holds.
    pub async fn converge(&mut self, node: &Node) {
        let started = Instant::now();
        loop {
            self.drain();
            let fresh = full_snapshot(node);
            if self
                .snapshot
                .as_ref()
                .is_some_and(|view| view.same_processes(&fresh))
            {
                return;
            }
            if started.elapsed() > DEADLINE {
                panic!(
                    "the view did not converge on a fresh full snapshot:\n{}",
                    diff(self.snapshot.as_ref(), &fresh)
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// What differs between a view and a fresh snapshot, for failure messages.
pub fn diff(view: Option<&Snapshot>, fresh: &Snapshot) -> String {
    let Some(view) = view else {
        return "no view yet".to_owned();
    };
    let mut lines = Vec::new();
    for info in view.processes() {
        match fresh.process(info.pid) {
            None => lines.push(format!("ghost in view: {:?}", info)),
            Some(live) if live != info => lines.push(format!(
                "stale in view: {:?}\n        fresh: {:?}",
                info, live
            )),
            Some(_) => {}
        }
    }
    for info in fresh.processes() {
        if !view.contains(info.pid) {
            lines.push(format!("missing from view: {:?}", info));
        }
    }
    let view_roots: Vec<_> = view.root_pids().iter().collect();
    let fresh_roots: Vec<_> = fresh.root_pids().iter().collect();
    if view_roots != fresh_roots {
        lines.push(format!("roots: view {view_roots:?} fresh {fresh_roots:?}"));
    }
    lines.join("\n")
}

/// The model pid of a runtime pid.
pub fn pid(pid: otpscope_runtime::Pid) -> Pid {
    Pid(pid.serial())
}
