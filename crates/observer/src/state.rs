//! What the Observer knows: the current snapshot, the event feed, what recently died or
//! restarted, each child's history, the load over time, and the user's preferences.
//!
//! Only [`ObserverState::apply`] changes the node's data, and the load samplers the load;
//! panels read it. The snapshot sits behind an `Arc` and a revision number, so panels rebuild
//! their derived data (tree rows, table rows) only when the snapshot changed, never on every
//! frame. The load is sampled as frames are drawn; for a source with a timeline its time is
//! the playhead's, and a seek rebuilds it from the source's load up to the playhead
//! ([`ObserverState::rebuild_load`]).

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otpscope_contract::{
    ChildRow, Event, EventKind, ExitReason, LoadCounts, LoadPoint, Pid, ProcessInfo, Snapshot,
    Update,
};

/// How many events the Events tab keeps.
pub const EVENT_CAPACITY: usize = 20_000;
/// How many dead processes are remembered (for process windows and event rows).
pub const DEAD_CAPACITY: usize = 10_000;
/// How long a death or a restart stays marked on screen.
pub const MARK_DURATION: Duration = Duration::from_millis(2500);
/// How many load samples the System tab keeps (one a second: ten minutes).
pub const LOAD_CAPACITY: usize = 600;
/// How often the message rates are taken ([`ObserverState::sample_rates`]).
pub const RATE_PERIOD: Duration = Duration::from_secs(1);

/// Messages per second of each process that handled any in the last rate period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MessageRates {
    /// `(pid, messages per second)`, in pid order; a process not listed handled none.
    pub per_s: Vec<(Pid, f32)>,
    /// Bumped each time the rates are taken and changed, so the views sorted by rate rebuild.
    pub generation: u64,
}

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
    /// When: seconds since the Observer started, or for a source with a timeline, the
    /// playhead's position in seconds.
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
    /// Whether the node's present is its data's time rather than now: true for a source
    /// with a timeline (a replay's node lives at the playhead, and its uptimes are those of
    /// that moment), false for a live source (a quiet node's uptimes tick with the clock).
    pub data_clock: bool,
    /// Bumped whenever `snapshot` changes; derived data is rebuilt when it moves.
    pub revision: u64,
    /// The load counts of `snapshot`, brought up to date with each delta from the processes
    /// it touches: a load sample reads them instead of counting a million processes.
    counts: LoadCounts,
    /// Messages per second, by process, as last taken ([`ObserverState::sample_rates`]).
    pub rates: MessageRates,
    /// Messages each process handled since the rates were last taken, from the deltas: a
    /// rate costs what changed, not a pass over every process.
    handled_since: HashMap<Pid, u64>,
    /// When the rates were last taken.
    rates_at: Option<Instant>,
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
    /// Each child's history, by lineage (the pid of its first incarnation seen), once it has
    /// more than its start: an exit or a restart.
    histories: HashMap<Pid, Vec<HistoryEntry>>,
    /// When each process with no more history than its start started (ms since the node
    /// started): most processes never exit while watched, and a million buckets would
    /// otherwise hold a million one-entry histories.
    started_only: HashMap<Pid, u64>,
    /// The lineage of each incarnation that is not its own (a restarted child's).
    lineage: HashMap<Pid, Pid>,
    /// The load over time, oldest first, at most [`LOAD_CAPACITY`].
    pub load: VecDeque<LoadSample>,
    /// Total messages handled at the previous sample (the messages rate's baseline).
    last_messages: Option<u64>,
    /// Restarts seen in the event feed so far.
    restarts_seen: u64,
    /// Restarts counted by the previous sample (the restarts rate's baseline).
    restarts_at_last_sample: u64,
    /// When the Observer started (live load times count from it) and last sampled.
    started: Instant,
    last_sample: Option<Instant>,
    /// On a timeline: the playhead's position at the last sample (timeline load times are
    /// the playhead's; see [`ObserverState::sample_load_on_timeline`]).
    last_sample_ms: Option<u64>,
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
            data_clock: false,
            revision: 0,
            counts: LoadCounts::default(),
            rates: MessageRates::default(),
            handled_since: HashMap::new(),
            rates_at: None,
            events: VecDeque::new(),
            missed_events: 0,
            dead: HashMap::new(),
            dead_order: VecDeque::new(),
            marks: HashMap::new(),
            mark_times: VecDeque::new(),
            histories: HashMap::new(),
            started_only: HashMap::new(),
            lineage: HashMap::new(),
            load: VecDeque::new(),
            last_messages: None,
            restarts_seen: 0,
            restarts_at_last_sample: 0,
            started: Instant::now(),
            last_sample: None,
            last_sample_ms: None,
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
            data_clock: self.data_clock,
            ..Self::new()
        };
    }

    /// The node's present in its `*_ms` time (ms since it started), if a snapshot has arrived:
    /// the snapshot's own time on a [`data_clock`](Self::data_clock), else
    /// [`node_now_ms`].
    pub fn now_ms(&self) -> Option<u64> {
        let snapshot = self.snapshot.as_deref()?;
        Some(if self.data_clock {
            snapshot
                .taken_at_unix_ms
                .saturating_sub(snapshot.node_started_at_unix_ms)
        } else {
            node_now_ms(snapshot)
        })
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

    /// The history of the child `pid` is an incarnation of, oldest first.
    pub fn history(&self, pid: Pid) -> Cow<'_, [HistoryEntry]> {
        let lineage = self.lineage_of(pid);
        if let Some(history) = self.histories.get(&lineage) {
            return Cow::Borrowed(history);
        }
        match self.started_only.get(&lineage) {
            Some(at_ms) => Cow::Owned(vec![HistoryEntry::Started {
                pid: lineage,
                at_ms: *at_ms,
            }]),
            None => Cow::Borrowed(&[]),
        }
    }

    /// The lineage `pid` belongs to: the pid of the first incarnation of its child seen.
    fn lineage_of(&self, pid: Pid) -> Pid {
        self.lineage.get(&pid).copied().unwrap_or(pid)
    }

    /// The history of `lineage`, to add to: made of its start if that was all it had.
    fn history_mut(&mut self, lineage: Pid) -> &mut Vec<HistoryEntry> {
        let started = self.started_only.remove(&lineage);
        self.histories.entry(lineage).or_insert_with(|| {
            started
                .map(|at_ms| HistoryEntry::Started {
                    pid: lineage,
                    at_ms,
                })
                .into_iter()
                .collect()
        })
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
        // A burst of spawns (a million buckets) leaves the two at their peak capacity, about
        // 100 MiB; give it back once they hold an eighth of it (small ones stay as they are).
        let sparse = |len: usize, capacity: usize| capacity > 4_096 && len <= capacity / 8;
        if sparse(self.marks.len(), self.marks.capacity()) {
            self.marks.shrink_to_fit();
        }
        if sparse(self.mark_times.len(), self.mark_times.capacity()) {
            self.mark_times.shrink_to_fit();
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
                self.counts = LoadCounts::of_snapshot(&snapshot);
                // What was handled between the last delta and this snapshot is not known by
                // process: the next rates start from here.
                self.handled_since.clear();
                self.rates_at = None;
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
                // The counts: each process the delta touches, as it was, taken away; as it
                // is after, added.
                let mut touched: Vec<Pid> = (delta.added.iter().chain(&delta.changed))
                    .map(|info| info.pid)
                    .chain(delta.removed.iter().map(|removed| removed.pid))
                    .collect();
                touched.sort_unstable();
                touched.dedup();
                let mut counts = self.counts;
                let Some(snapshot) = self.snapshot.as_mut() else {
                    return;
                };
                let handled_before: Vec<Option<u64>> = touched
                    .iter()
                    .map(|pid| {
                        let info = snapshot.process(*pid)?;
                        counts.subtract(&LoadCounts::of_process(info));
                        Some(info.messages_handled)
                    })
                    .collect();
                let snapshot = Arc::make_mut(snapshot);
                if snapshot.apply(&delta).is_err() {
                    // Out of order: keep what we have; the source resyncs with a full snapshot.
                    return;
                }
                for (pid, before) in touched.iter().zip(handled_before) {
                    let Some(info) = snapshot.process(*pid) else {
                        continue;
                    };
                    counts.add(&LoadCounts::of_process(info));
                    if let Some(before) = before
                        && info.messages_handled > before
                    {
                        *self.handled_since.entry(*pid).or_default() +=
                            info.messages_handled - before;
                    }
                }
                self.counts = counts;
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
                let lineage = self.lineage_of(*pid);
                if lineage == *pid && !self.histories.contains_key(pid) {
                    self.started_only.insert(*pid, at_ms);
                } else {
                    self.history_mut(lineage)
                        .push(HistoryEntry::Started { pid: *pid, at_ms });
                }
            }
            EventKind::Exited { pid, reason } => {
                self.set_mark(*pid, MarkKind::Died, now);
                if let Some(dead) = self.dead.get_mut(pid) {
                    dead.reason = Some(reason.clone());
                    dead.at_ms = Some(at_ms);
                }
                let entry = HistoryEntry::Exited {
                    pid: *pid,
                    reason: reason.clone(),
                    at_ms,
                };
                let lineage = self.lineage_of(*pid);
                self.history_mut(lineage).push(entry);
            }
            EventKind::Restarted { old, new, .. } => {
                self.restarts_seen += 1;
                self.set_mark(*new, MarkKind::Restarted, now);
                let lineage = self.lineage_of(*old);
                // The new incarnation's own history (its start: it spawned before this
                // event) moves to the lineage it belongs to.
                let own = self.lineage_of(*new);
                let moved = if own == lineage {
                    Vec::new()
                } else {
                    self.lineage.insert(*new, lineage);
                    let started = self
                        .started_only
                        .remove(&own)
                        .map(|at_ms| HistoryEntry::Started { pid: own, at_ms });
                    let entries = self.histories.remove(&own).unwrap_or_default();
                    started.into_iter().chain(entries).collect()
                };
                let history = self.history_mut(lineage);
                history.extend(moved);
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
}

// === impl ObserverState: the load ===

impl ObserverState {
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
        let elapsed_s = self.last_sample.map_or(LOAD_PERIOD.as_secs_f64(), |last| {
            now.duration_since(last).as_secs_f64()
        });
        let t_s = now.duration_since(self.started).as_secs_f64();
        debug_assert_eq!(self.counts, LoadCounts::of_snapshot(snapshot));
        self.push_sample(
            t_s,
            elapsed_s,
            self.counts,
            self.restarts_seen,
            memory_bytes,
        );
        self.last_sample = Some(now);
    }

    /// Takes the message rates, once [`RATE_PERIOD`] has passed since the last time: each
    /// process that handled messages since then, at what rate. Called every frame; a period
    /// in which nothing was handled leaves every rate at zero, and the generation alone.
    pub fn sample_rates(&mut self, now: Instant) {
        let Some(at) = self.rates_at else {
            self.rates_at = Some(now);
            self.handled_since.clear();
            return;
        };
        let elapsed = now.saturating_duration_since(at);
        if elapsed < RATE_PERIOD {
            return;
        }
        self.rates_at = Some(now);
        if self.handled_since.is_empty() && self.rates.per_s.is_empty() {
            return;
        }
        let elapsed_s = elapsed.as_secs_f64();
        let mut per_s: Vec<(Pid, f32)> = self
            .handled_since
            .drain()
            .map(|(pid, handled)| (pid, (handled as f64 / elapsed_s) as f32))
            .collect();
        per_s.sort_unstable_by_key(|(pid, _)| *pid);
        // A burst (a million buckets created) leaves the map at its peak; keep room for
        // what a period holds now.
        if self.handled_since.capacity() > 4_096.max(8 * per_s.len()) {
            self.handled_since.shrink_to(per_s.len());
        }
        self.rates = MessageRates {
            per_s,
            generation: self.rates.generation + 1,
        };
    }

    /// Takes a load sample for a source with a timeline, at `position_ms`, the playhead's
    /// position: once it has moved [`LOAD_PERIOD`] since the last sample while playing (one
    /// per period of the stretch's time, at any speed), and once where it stops (a pause, the
    /// end), so that the charts end at the playhead as after a seek; none while it stands
    /// still. Dated by the playhead, rates over the time it moved. After a seek,
    /// [`ObserverState::rebuild_load`] has put the last sample at the playhead, so these
    /// continue its series.
    pub fn sample_load_on_timeline(
        &mut self,
        now: Instant,
        position_ms: u64,
        is_playing: bool,
        memory_bytes: Option<u64>,
    ) {
        if let Some(last) = self.last_sample_ms {
            let moved_ms = position_ms.saturating_sub(last);
            let is_due = moved_ms >= period_ms() || (!is_playing && moved_ms > 0);
            if !is_due {
                return;
            }
        }
        let Some(snapshot) = self.snapshot.as_ref() else {
            return;
        };
        debug_assert_eq!(self.counts, LoadCounts::of_snapshot(snapshot));
        let counts = self.counts;
        let elapsed_s = self
            .last_sample_ms
            .map_or(LOAD_PERIOD.as_secs_f64(), |last| {
                (position_ms - last) as f64 / 1000.0
            });
        let t_s = position_ms as f64 / 1000.0;
        self.push_sample(t_s, elapsed_s, counts, self.restarts_seen, memory_bytes);
        self.last_sample_ms = Some(position_ms);
        self.last_sample = Some(now);
    }

    /// Rebuilds the load after a seek to `position_ms` from `points`, the node's load up to
    /// there ([`Timeline::load_until_playhead`](crate::Timeline::load_until_playhead)): the
    /// samples [`ObserverState::sample_load_on_timeline`] would have taken had the stretch
    /// played from its start, a [`LOAD_PERIOD`] apart and the last at the playhead, at most
    /// [`LOAD_CAPACITY`]. Costs one look-up per sample, whatever the node's size. With no
    /// points (a source that cannot tell), the load starts empty and sampling begins at the
    /// playhead. Call it after [`ObserverState::start_over`], before the updates that follow
    /// the seek are applied: the restarts they bring are those the points counted.
    pub fn rebuild_load(&mut self, now: Instant, position_ms: u64, points: &[LoadPoint]) {
        self.load.clear();
        self.last_messages = None;
        self.restarts_at_last_sample = 0;
        self.last_sample_ms = None;
        let Some(first) = points.first() else {
            return;
        };
        let Some(span_ms) = position_ms.checked_sub(first.at_ms) else {
            return;
        };
        // One period more than is kept, so the oldest sample kept has its rates.
        let periods = (span_ms / period_ms()).min(LOAD_CAPACITY as u64);
        for back in (0..=periods).rev() {
            let at_ms = position_ms - back * period_ms();
            let Some(point) = LoadPoint::in_force_at(points, at_ms) else {
                continue;
            };
            self.push_sample(
                at_ms as f64 / 1000.0,
                LOAD_PERIOD.as_secs_f64(),
                point.counts,
                point.restarts,
                point.memory_bytes,
            );
        }
        self.last_sample_ms = Some(position_ms);
        self.last_sample = Some(now);
    }

    /// Adds a sample at `t_s` of `counts`, with `restarts` counted so far, its rates over the
    /// `elapsed_s` since the previous one; keeps at most [`LOAD_CAPACITY`].
    fn push_sample(
        &mut self,
        t_s: f64,
        elapsed_s: f64,
        counts: LoadCounts,
        restarts: u64,
        memory_bytes: Option<u64>,
    ) {
        let messages_per_s = self.last_messages.map_or(0.0, |last| {
            counts.messages_handled.saturating_sub(last) as f64 / elapsed_s
        });
        let restarts_per_s =
            restarts.saturating_sub(self.restarts_at_last_sample) as f64 / elapsed_s;
        self.restarts_at_last_sample = restarts;
        self.last_messages = Some(counts.messages_handled);
        self.load.push_back(LoadSample {
            t_s,
            supervisors: counts.supervisors,
            workers: counts.workers,
            plain: counts.plain,
            messages_per_s,
            restarts_per_s,
            mailbox_total: counts.mailbox_total,
            memory_bytes,
        });
        while self.load.len() > LOAD_CAPACITY {
            self.load.pop_front();
        }
    }
}

/// [`LOAD_PERIOD`] in milliseconds.
fn period_ms() -> u64 {
    LOAD_PERIOD.as_millis() as u64
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
    fn a_replays_present_is_its_data_time_and_a_live_nodes_is_the_clock() {
        let one = Arc::new(ProcessInfo::new(Pid(1), ProcessKind::Agent, "A"));
        // Recorded long ago: started at 1,000, read 2.5 s later.
        let old = || Snapshot::new("t", 1_000, 3_500, 1, [one.clone()]);
        let mut replay = ObserverState::new();
        replay.data_clock = true;
        replay.apply(Update::Full(old()));
        assert_eq!(replay.now_ms(), Some(2_500));
        replay.start_over();
        assert!(replay.data_clock, "a seek keeps the clock");
        assert_eq!(replay.now_ms(), None);

        let mut live = ObserverState::new();
        live.apply(Update::Full(old()));
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(
            live.now_ms().unwrap() >= wall_ms - 1_000,
            "the clock, not 2.5 s"
        );
    }

    #[test]
    fn a_childs_history_follows_its_incarnations_and_a_start_alone_is_kept_small() {
        let mut state = ObserverState::new();
        let event = |seq, at_ms, kind| Event { seq, at_ms, kind };
        let spawned = |pid| EventKind::Spawned {
            pid: Pid(pid),
            parent: Some(Pid(1)),
            label: "KV.Registry".into(),
        };
        let exited = |pid| EventKind::Exited {
            pid: Pid(pid),
            reason: ExitReason::Killed,
        };
        state.apply(Update::Events {
            events: vec![
                event(0, 10, spawned(3)),
                event(1, 11, spawned(4)),
                event(2, 20, exited(3)),
                event(3, 21, spawned(9)),
                event(
                    4,
                    21,
                    EventKind::Restarted {
                        supervisor: Pid(1),
                        child_id: "KV.Registry".into(),
                        old: Pid(3),
                        new: Pid(9),
                    },
                ),
                event(5, 30, exited(9)),
                event(6, 31, spawned(12)),
                event(
                    7,
                    31,
                    EventKind::Restarted {
                        supervisor: Pid(1),
                        child_id: "KV.Registry".into(),
                        old: Pid(9),
                        new: Pid(12),
                    },
                ),
            ],
            missed: 0,
        });
        let lineage = [
            HistoryEntry::Started {
                pid: Pid(3),
                at_ms: 10,
            },
            HistoryEntry::Exited {
                pid: Pid(3),
                reason: ExitReason::Killed,
                at_ms: 20,
            },
            HistoryEntry::Started {
                pid: Pid(9),
                at_ms: 21,
            },
            HistoryEntry::Restarted {
                old: Pid(3),
                new: Pid(9),
                at_ms: 21,
            },
            HistoryEntry::Exited {
                pid: Pid(9),
                reason: ExitReason::Killed,
                at_ms: 30,
            },
            HistoryEntry::Started {
                pid: Pid(12),
                at_ms: 31,
            },
            HistoryEntry::Restarted {
                old: Pid(9),
                new: Pid(12),
                at_ms: 31,
            },
        ];
        // Every incarnation shows the whole lineage.
        for pid in [3, 9, 12] {
            assert_eq!(*state.history(Pid(pid)), lineage, "from {pid}");
        }
        // A process that only started has its start, kept apart from the histories.
        assert_eq!(
            *state.history(Pid(4)),
            [HistoryEntry::Started {
                pid: Pid(4),
                at_ms: 11
            }]
        );
        assert_eq!(state.histories.len(), 1);
        assert_eq!(state.started_only.len(), 1);
        assert!(state.history(Pid(77)).is_empty());
    }

    #[test]
    fn the_load_counts_follow_each_delta_as_a_full_count_would() {
        let mut state = ObserverState::new();
        let process = |pid, kind, mailbox_len, messages_handled| {
            Arc::new(ProcessInfo {
                mailbox_len,
                messages_handled,
                ..ProcessInfo::new(Pid(pid), kind, "P")
            })
        };
        let supervisor = || ProcessKind::Supervisor {
            strategy: otpscope_contract::Strategy::OneForOne,
            max_restarts: 3,
            max_seconds: 5,
        };
        state.apply(Update::Full(Snapshot::new(
            "t",
            0,
            0,
            1,
            [
                process(1, supervisor(), 0, 4),
                process(2, ProcessKind::Agent, 2, 10),
                process(3, ProcessKind::Plain, 0, 1),
            ],
        )));
        state.apply(Update::Delta(Delta {
            seq: 2,
            from_seq: 1,
            added: vec![process(4, ProcessKind::Server, 5, 0)],
            changed: vec![process(2, ProcessKind::Agent, 0, 13)],
            removed: vec![otpscope_contract::Removed {
                pid: Pid(3),
                reason: ExitReason::Killed,
            }],
            ..Delta::default()
        }));
        // Out of order: ignored, counts and all.
        state.apply(Update::Delta(Delta {
            seq: 9,
            from_seq: 8,
            added: vec![process(5, ProcessKind::Agent, 100, 100)],
            ..Delta::default()
        }));
        let expected = LoadCounts {
            supervisors: 1,
            workers: 2,
            plain: 0,
            messages_handled: 17,
            mailbox_total: 5,
        };
        assert_eq!(state.counts, expected);
        assert_eq!(
            LoadCounts::of_snapshot(state.snapshot.as_deref().unwrap()),
            expected
        );
    }

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

    #[test]
    fn a_seek_rebuilds_the_load_up_to_the_playhead_and_playing_continues_it() {
        let counts = |workers, messages_handled| LoadCounts {
            workers,
            messages_handled,
            ..LoadCounts::default()
        };
        // From 1 s: one worker; at 2.5 s a second, 30 messages handled so far, one restart.
        let points = [
            LoadPoint {
                at_ms: 1_000,
                counts: counts(1, 0),
                ..LoadPoint::default()
            },
            LoadPoint {
                at_ms: 2_500,
                counts: counts(2, 30),
                restarts: 1,
                memory_bytes: None,
            },
        ];
        let mut state = ObserverState::new();
        let now = Instant::now();
        state.rebuild_load(now, 4_200, &points);
        let samples: Vec<(f64, usize, f64, f64)> = state
            .load
            .iter()
            .map(|s| (s.t_s, s.workers, s.messages_per_s, s.restarts_per_s))
            .collect();
        assert_eq!(
            samples,
            [
                (1.2, 1, 0.0, 0.0),
                (2.2, 1, 0.0, 0.0),
                (3.2, 2, 30.0, 1.0),
                (4.2, 2, 0.0, 0.0)
            ]
        );

        // Playing on: no sample until the playhead has moved a period, then one at its time.
        let agent = |pid| Arc::new(ProcessInfo::new(Pid(pid), ProcessKind::Agent, "A"));
        state.apply(Update::Full(Snapshot::new(
            "t",
            0,
            0,
            1,
            [agent(1), agent(2)],
        )));
        state.sample_load_on_timeline(now, 5_100, true, None);
        assert_eq!(state.load.len(), 4);
        state.sample_load_on_timeline(now, 5_300, true, None);
        assert_eq!(
            state.load.back().map(|s| (s.t_s, s.workers)),
            Some((5.3, 2))
        );
        // Stopped before a period has passed: one sample where it stopped, then none.
        state.sample_load_on_timeline(now, 5_800, false, None);
        state.sample_load_on_timeline(now, 5_800, false, None);
        let times: Vec<f64> = state.load.iter().map(|s| s.t_s).collect();
        assert_eq!(times, [1.2, 2.2, 3.2, 4.2, 5.3, 5.8]);

        // Back before the first point: nothing to show; far on: at most LOAD_CAPACITY.
        state.rebuild_load(now, 500, &points);
        assert!(state.load.is_empty());
        state.rebuild_load(now, 10_000_000, &points);
        assert_eq!(state.load.len(), LOAD_CAPACITY);
        assert_eq!(state.load.back().map(|s| s.t_s), Some(10_000.0));
        assert_eq!(state.load.front().map(|s| s.restarts_per_s), Some(0.0));
    }
}
