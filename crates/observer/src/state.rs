//! What the Observer knows: the current snapshot, the event feed, what recently died or
//! restarted, each child's history, the load over time, and the user's preferences.
//!
//! Only [`ObserverState::apply`] changes the data; panels read it. The snapshot sits behind
//! an `Arc` and a revision number, so panels rebuild their derived data (tree rows, table
//! rows) only when the snapshot changed, never on every frame.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otpscope_contract::{
    ChildRow, Event, EventKind, ExitReason, Pid, ProcessInfo, ProcessKind, Snapshot, Update,
};

/// How many events the Events tab keeps.
pub const EVENT_CAPACITY: usize = 20_000;
/// How many dead processes are remembered (for process windows and event rows).
pub const DEAD_CAPACITY: usize = 10_000;
/// How long a death or a restart stays marked on screen.
pub const MARK_DURATION: Duration = Duration::from_millis(2500);
/// How many load samples the System tab keeps (one a second: ten minutes).
pub const LOAD_CAPACITY: usize = 600;
/// How often a load sample is taken (while frames are drawn: see [`ObserverState::sample_load`]).
pub const LOAD_PERIOD: Duration = Duration::from_secs(1);
/// What a view that ticks once a second (uptimes, the load charts) adds to its repaint
/// delay, so the frame comes just after the second is due, not just before (egui wakes a
/// frame early by its predicted frame time).
pub const TICK_MARGIN: Duration = Duration::from_millis(50);

/// The Observer's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Tab {
    /// The supervision tree: graph and outline.
    Applications,
    /// Every process in a table.
    Processes,
    /// Load charts.
    System,
    /// The event feed.
    Events,
}

impl Tab {
    /// Every tab, in the order shown.
    pub const ALL: [Self; 4] = [
        Self::Applications,
        Self::Processes,
        Self::System,
        Self::Events,
    ];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Applications => "Applications",
            Self::Processes => "Processes",
            Self::System => "System",
            Self::Events => "Events",
        }
    }
}

/// The colour theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Theme {
    /// Dark.
    Dark,
    /// Light.
    Light,
}

/// What persists between runs: preferences only, never live data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Dark or light.
    pub theme: Theme,
    /// How often deltas come, in milliseconds.
    pub interval_ms: u64,
    /// Siblings beyond this many fold into one node ("+ 99,950 KV.Bucket").
    pub fold_at: usize,
    /// The tab shown at start.
    pub tab: Tab,
    /// Whether the outline is shown beside the graph.
    pub show_outline: bool,
    /// Whether the applications' consoles (the KV console) are shown.
    pub show_console: bool,
    /// Whether the flight recorder writes the last minute to a file by itself when a
    /// supervisor gives up (off by default: the Observer writes no file unasked).
    pub save_on_give_up: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            theme: Theme::Dark,
            interval_ms: 200,
            fold_at: 50,
            tab: Tab::Applications,
            show_outline: true,
            show_console: true,
            save_on_give_up: false,
        }
    }
}

/// The key preferences are saved under.
pub const PREFERENCES_KEY: &str = "otpscope-preferences";

/// Why a process is marked on screen for a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// It started (not as a restart).
    Spawned,
    /// It exited.
    Died,
    /// It is the new incarnation of a restarted child.
    Restarted,
}

/// A process marked on screen since `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Why.
    pub kind: MarkKind,
    /// Since when.
    pub at: Instant,
}

/// A process that has exited, remembered for the views that still show it.
#[derive(Clone, Debug)]
pub struct DeadProcess {
    /// What it was when last seen.
    pub info: Arc<ProcessInfo>,
    /// Why it exited, once the event arrived.
    pub reason: Option<ExitReason>,
    /// When it exited, in ms since the node started.
    pub at_ms: Option<u64>,
}

/// One entry of a child's history: every exit with its reason, every restart with the new
/// pid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryEntry {
    /// An incarnation started.
    Started {
        /// Its pid.
        pid: Pid,
        /// When, in ms since the node started.
        at_ms: u64,
    },
    /// An incarnation exited.
    Exited {
        /// Its pid.
        pid: Pid,
        /// Why.
        reason: ExitReason,
        /// When.
        at_ms: u64,
    },
    /// The supervisor restarted the child.
    Restarted {
        /// The incarnation that exited.
        old: Pid,
        /// The new one.
        new: Pid,
        /// When.
        at_ms: u64,
    },
}

/// One sample of the load, for the System tab.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadSample {
    /// Seconds since the Observer started.
    pub t_s: f64,
    /// Live supervisors (static and dynamic).
    pub supervisors: usize,
    /// Live servers and agents.
    pub workers: usize,
    /// Live plain processes.
    pub plain: usize,
    /// Messages handled per second since the previous sample.
    pub messages_per_s: f64,
    /// Restarts per second since the previous sample.
    pub restarts_per_s: f64,
    /// Messages waiting in all mailboxes.
    pub mailbox_total: u64,
    /// Memory of the observed OS process, if known.
    pub memory_bytes: Option<u64>,
}

/// How long a supervisor's list of children stays fresh before the menu asks again.
pub const CHILD_LIST_FRESH: Duration = Duration::from_secs(1);

/// A supervisor's children as it last listed them (`which_children`), asked for only while
/// its context menu is open: Restart child and Delete child need the specs that have no
/// process, which the snapshot (live processes only) does not hold.
#[derive(Clone, Debug)]
pub struct ChildList {
    /// When they were last asked for.
    pub asked_at: Instant,
    /// The latest answer: the children in start order, or why they could not be listed.
    pub children: Option<Result<Vec<ChildRow>, String>>,
}

impl ChildList {
    /// Whether it is time to ask again.
    pub fn is_stale(&self, now: Instant) -> bool {
        now.duration_since(self.asked_at) >= CHILD_LIST_FRESH
    }
}

/// Everything the Observer knows; see the module docs.
pub struct ObserverState {
    /// The current view of the node, if the first snapshot has arrived.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Bumped whenever `snapshot` changes; derived data is rebuilt when it moves.
    pub revision: u64,
    /// The event feed, oldest first, at most [`EVENT_CAPACITY`].
    pub events: VecDeque<Event>,
    /// Events the source dropped because the Observer fell behind.
    pub missed_events: u64,
    /// Processes that exited, by pid, at most [`DEAD_CAPACITY`] (oldest forgotten first).
    pub dead: HashMap<Pid, DeadProcess>,
    /// The order `dead` was filled in, to forget the oldest.
    dead_order: VecDeque<Pid>,
    /// Processes marked on screen for a moment.
    pub marks: HashMap<Pid, Mark>,
    /// When each mark was made, oldest first (a pid marked again appears twice; its older
    /// entry is skipped when it ends): ending marks and finding the next end cost what ends,
    /// not a walk of every mark each frame (100,000 spawn marks made that a quarter of a
    /// frame).
    mark_times: VecDeque<(Instant, Pid)>,
    /// Each child's history, by lineage (the pid of its first incarnation seen).
    pub histories: HashMap<Pid, Vec<HistoryEntry>>,
    /// The lineage each incarnation belongs to.
    lineage: HashMap<Pid, Pid>,
    /// The load over time.
    pub load: VecDeque<LoadSample>,
    /// Total messages handled at the previous sample, and restarts seen so far.
    last_messages: Option<u64>,
    restarts_seen: u64,
    restarts_at_last_sample: u64,
    /// When the Observer started (load times count from it) and last sampled.
    started: Instant,
    last_sample: Option<Instant>,
    /// The selected process.
    pub selected: Option<Pid>,
    /// Messages for the user (command errors, confirmations), newest last.
    pub notices: VecDeque<(Instant, String)>,
    /// Supervisors' children as last listed, by supervisor (see [`ChildList`]).
    pub child_lists: HashMap<Pid, ChildList>,
}

impl Default for ObserverState {
    fn default() -> Self {
        Self::new()
    }
}

impl ObserverState {
    /// Nothing known yet.
    pub fn new() -> Self {
        Self {
            snapshot: None,
            revision: 0,
            events: VecDeque::new(),
            missed_events: 0,
            dead: HashMap::new(),
            dead_order: VecDeque::new(),
            marks: HashMap::new(),
            mark_times: VecDeque::new(),
            histories: HashMap::new(),
            lineage: HashMap::new(),
            load: VecDeque::new(),
            last_messages: None,
            restarts_seen: 0,
            restarts_at_last_sample: 0,
            started: Instant::now(),
            last_sample: None,
            selected: None,
            notices: VecDeque::new(),
            child_lists: HashMap::new(),
        }
    }

    /// Forgets the node (its snapshot, events, dead, histories, load) for a source that
    /// starts over (a timeline's seek), keeping the selection and the notices.
    pub fn start_over(&mut self) {
        *self = Self {
            selected: self.selected,
            notices: std::mem::take(&mut self.notices),
            ..Self::new()
        };
    }

    /// Whether nothing runs on the node: a snapshot has arrived and holds no process (the
    /// app has stopped, and "Restart the app" applies).
    pub fn is_node_empty(&self) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|snapshot| snapshot.is_empty())
    }

    /// The process `pid`, alive in the snapshot or remembered dead.
    pub fn process(&self, pid: Pid) -> Option<&ProcessInfo> {
        self.snapshot
            .as_ref()
            .and_then(|snapshot| snapshot.process(pid))
            .or_else(|| self.dead.get(&pid).map(|dead| &*dead.info))
    }

    /// Whether `pid` is alive in the current snapshot.
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|snapshot| snapshot.contains(pid))
    }

    /// The history of the child `pid` is an incarnation of.
    pub fn history(&self, pid: Pid) -> &[HistoryEntry] {
        let lineage = self.lineage.get(&pid).copied().unwrap_or(pid);
        self.histories.get(&lineage).map_or(&[], Vec::as_slice)
    }

    /// The mark on `pid`, if it is still fresh.
    pub fn mark(&self, pid: Pid, now: Instant) -> Option<MarkKind> {
        self.marks
            .get(&pid)
            .filter(|mark| now.duration_since(mark.at) < MARK_DURATION)
            .map(|mark| mark.kind)
    }

    /// How long until the first fresh mark ends, if any is fresh (at the soonest: a pid
    /// marked again may make it earlier than needed, never later).
    pub fn next_mark_end(&self, now: Instant) -> Option<Duration> {
        self.mark_times
            .iter()
            .map(|(at, _)| MARK_DURATION.saturating_sub(now.duration_since(*at)))
            .find(|left| !left.is_zero())
    }

    /// Forgets marks older than [`MARK_DURATION`], so the set stays as small as what is on
    /// screen (every spawn leaves a mark: 100,000 buckets would otherwise stay marked).
    pub fn forget_old_marks(&mut self, now: Instant) {
        while let Some(&(at, pid)) = self.mark_times.front() {
            if now.duration_since(at) < MARK_DURATION {
                break;
            }
            self.mark_times.pop_front();
            if self.marks.get(&pid).is_some_and(|mark| mark.at == at) {
                self.marks.remove(&pid);
            }
        }
    }

    /// Marks `pid` as `kind` from `now`.
    fn set_mark(&mut self, pid: Pid, kind: MarkKind, now: Instant) {
        self.marks.insert(pid, Mark { kind, at: now });
        self.mark_times.push_back((now, pid));
    }

    /// Adds a message for the user.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.notices.push_back((Instant::now(), text.into()));
        while self.notices.len() > 8 {
            self.notices.pop_front();
        }
    }

    /// Applies one update from the source.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Full(snapshot) => {
                let same_node = self.snapshot.as_ref().is_none_or(|old| {
                    old.node == snapshot.node
                        && old.node_started_at_unix_ms == snapshot.node_started_at_unix_ms
                });
                if !same_node {
                    // Another node, or the same one started again (a source that reconnected
                    // after its service restarted): its pids and events start over, so
                    // nothing of the old one can be kept beside them.
                    *self = Self {
                        notices: std::mem::take(&mut self.notices),
                        ..Self::new()
                    };
                }
                if let Some(old) = self.snapshot.take() {
                    for info in old.processes() {
                        if !snapshot.contains(info.pid) {
                            self.remember_dead(Arc::new(info.clone()));
                        }
                    }
                }
                self.snapshot = Some(Arc::new(snapshot));
                self.revision += 1;
            }
            Update::Delta(delta) => {
                let Some(current) = self.snapshot.as_ref() else {
                    return;
                };
                let gone: Vec<Arc<ProcessInfo>> = delta
                    .removed
                    .iter()
                    .filter_map(|removed| current.process_arc(removed.pid).cloned())
                    .collect();
                for info in gone {
                    self.remember_dead(info);
                }
                for removed in &delta.removed {
                    if let Some(dead) = self.dead.get_mut(&removed.pid) {
                        dead.reason = Some(removed.reason.clone());
                    }
                }
                let Some(snapshot) = self.snapshot.as_mut() else {
                    return;
                };
                let snapshot = Arc::make_mut(snapshot);
                if snapshot.apply(&delta).is_err() {
                    // Out of order: keep what we have; the source resyncs with a full snapshot.
                    return;
                }
                if !delta.is_empty() {
                    self.revision += 1;
                }
            }
            Update::Events { events, missed } => {
                self.missed_events += missed;
                for event in events {
                    self.take_event(&event);
                    self.events.push_back(event);
                }
                while self.events.len() > EVENT_CAPACITY {
                    self.events.pop_front();
                }
            }
        }
    }

    fn remember_dead(&mut self, info: Arc<ProcessInfo>) {
        let pid = info.pid;
        let entry = self.dead.entry(pid).or_insert_with(|| {
            self.dead_order.push_back(pid);
            DeadProcess {
                info: info.clone(),
                reason: None,
                at_ms: None,
            }
        });
        entry.info = info;
        while self.dead_order.len() > DEAD_CAPACITY {
            if let Some(oldest) = self.dead_order.pop_front() {
                self.dead.remove(&oldest);
            }
        }
    }

    fn take_event(&mut self, event: &Event) {
        let now = Instant::now();
        let at_ms = event.at_ms;
        match &event.kind {
            EventKind::Spawned { pid, .. } => {
                self.set_mark(*pid, MarkKind::Spawned, now);
                let lineage = *self.lineage.entry(*pid).or_insert(*pid);
                self.histories
                    .entry(lineage)
                    .or_default()
                    .push(HistoryEntry::Started { pid: *pid, at_ms });
            }
            EventKind::Exited { pid, reason } => {
                self.set_mark(*pid, MarkKind::Died, now);
                if let Some(dead) = self.dead.get_mut(pid) {
                    dead.reason = Some(reason.clone());
                    dead.at_ms = Some(at_ms);
                }
                let lineage = *self.lineage.entry(*pid).or_insert(*pid);
                let entry = HistoryEntry::Exited {
                    pid: *pid,
                    reason: reason.clone(),
                    at_ms,
                };
                self.histories.entry(lineage).or_default().push(entry);
            }
            EventKind::Restarted { old, new, .. } => {
                self.restarts_seen += 1;
                self.set_mark(*new, MarkKind::Restarted, now);
                let lineage = *self.lineage.entry(*old).or_insert(*old);
                // The new incarnation's own Started entry (it spawned before this event)
                // moves to the lineage it belongs to.
                if let Some(own) = self.lineage.insert(*new, lineage)
                    && own != lineage
                    && let Some(entries) = self.histories.remove(&own)
                {
                    self.histories.entry(lineage).or_default().extend(entries);
                }
                let history = self.histories.entry(lineage).or_default();
                history.push(HistoryEntry::Restarted {
                    old: *old,
                    new: *new,
                    at_ms,
                });
                history.sort_by_key(|entry| match entry {
                    HistoryEntry::Started { at_ms, .. }
                    | HistoryEntry::Exited { at_ms, .. }
                    | HistoryEntry::Restarted { at_ms, .. } => *at_ms,
                });
            }
            EventKind::SupervisorGaveUp { .. }
            | EventKind::Linked { .. }
            | EventKind::Unlinked { .. }
            | EventKind::Command { .. } => {}
        }
    }

    /// How long until the next load sample is due (zero if it is).
    pub fn next_sample_in(&self, now: Instant) -> Duration {
        self.last_sample.map_or(Duration::ZERO, |last| {
            LOAD_PERIOD.saturating_sub(now.duration_since(last))
        })
    }

    /// Takes a load sample if [`LOAD_PERIOD`] has passed since the last one. Samples are
    /// taken when frames are drawn: the System tab asks for a frame each period; elsewhere,
    /// at rest, none come, and the first sample after a gap is preceded by one that holds
    /// the last counts (nothing arrived in the gap, or a frame would have come).
    pub fn sample_load(&mut self, now: Instant, memory_bytes: Option<u64>) {
        if self
            .last_sample
            .is_some_and(|last| now.duration_since(last) < LOAD_PERIOD)
        {
            return;
        }
        let Some(snapshot) = self.snapshot.as_ref() else {
            return;
        };
        if let (Some(last_at), Some(last)) = (self.last_sample, self.load.back())
            && now.duration_since(last_at) >= 2 * LOAD_PERIOD
        {
            // No frame for a while means nothing arrived (an update wakes the UI): the counts
            // held and nothing was handled until now. Say so a period ago, so that a change
            // now reads as a step, not as a ramp across the whole gap.
            let held = LoadSample {
                t_s: now.duration_since(self.started).as_secs_f64() - LOAD_PERIOD.as_secs_f64(),
                messages_per_s: 0.0,
                restarts_per_s: 0.0,
                ..last.clone()
            };
            self.load.push_back(held);
        }
        let elapsed_s = self
            .last_sample
            .map_or(1.0, |last| now.duration_since(last).as_secs_f64());
        let mut sample = LoadSample {
            t_s: now.duration_since(self.started).as_secs_f64(),
            memory_bytes,
            ..LoadSample::default()
        };
        let mut messages = 0u64;
        for info in snapshot.processes() {
            match info.kind {
                ProcessKind::Supervisor { .. } | ProcessKind::DynamicSupervisor { .. } => {
                    sample.supervisors += 1
                }
                ProcessKind::Server | ProcessKind::Agent => sample.workers += 1,
                ProcessKind::Plain => sample.plain += 1,
            }
            messages += info.messages_handled;
            sample.mailbox_total += info.mailbox_len;
        }
        if let Some(last) = self.last_messages {
            sample.messages_per_s = messages.saturating_sub(last) as f64 / elapsed_s;
        }
        sample.restarts_per_s =
            (self.restarts_seen - self.restarts_at_last_sample) as f64 / elapsed_s;
        self.restarts_at_last_sample = self.restarts_seen;
        self.last_messages = Some(messages);
        self.last_sample = Some(now);
        self.load.push_back(sample);
        while self.load.len() > LOAD_CAPACITY {
            self.load.pop_front();
        }
    }
}

/// The current time of the node that took `snapshot`, in its `*_ms` time (ms since it
/// started): the wall clock if it is ahead of the snapshot's own time (uptimes keep ticking
/// while a quiet node sends nothing), else the snapshot's time.
pub fn node_now_ms(snapshot: &Snapshot) -> u64 {
    let wall_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    wall_unix_ms
        .max(snapshot.taken_at_unix_ms)
        .saturating_sub(snapshot.node_started_at_unix_ms)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use otpscope_contract::{Delta, ProcessKind};

    use super::*;

    #[test]
    fn a_load_gap_at_rest_holds_the_last_counts_until_a_period_before_the_change() {
        let mut state = ObserverState::new();
        let one = |pid| Arc::new(ProcessInfo::new(Pid(pid), ProcessKind::Agent, "A"));
        state.apply(Update::Full(Snapshot::new("t", 0, 0, 1, [one(1)])));
        let start = Instant::now();
        state.sample_load(start, None);
        assert_eq!(state.next_sample_in(start), LOAD_PERIOD);
        state.sample_load(start + Duration::from_millis(500), None);
        assert_eq!(state.load.len(), 1, "not due yet");
        // Ten quiet seconds, then a process starts.
        state.apply(Update::Delta(Delta {
            seq: 2,
            from_seq: 1,
            added: vec![one(2)],
            ..Delta::default()
        }));
        state.sample_load(start + Duration::from_secs(10), None);
        let workers: Vec<(f64, usize)> = state
            .load
            .iter()
            .map(|s| ((s.t_s - state.load[0].t_s).round(), s.workers))
            .collect();
        assert_eq!(workers, [(0.0, 1), (9.0, 1), (10.0, 2)]);
        assert_eq!(
            state.next_sample_in(start + Duration::from_secs(10)),
            LOAD_PERIOD
        );
    }
}
