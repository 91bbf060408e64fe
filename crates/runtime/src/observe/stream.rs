//! Subscriptions: a full snapshot first, then deltas at the subscriber's interval, and the
//! event feed in order.
//!
//! Fan-out: the runtime's list of changed pids is consumed by whoever takes it, so each node
//! has one shared *hub* (found through a process-wide registry keyed by the node's id) that
//! owns the node's only [`Collector`]. Each subscriber has its own task ticking at its own
//! interval; a tick collects on the hub (bringing the shared model up to date), merges what
//! changed into every subscriber's pending set, and flushes its own:
//! - pending changes are kept per pid and composed (added then changed is added, changed then
//!   removed is removed, added then removed stays removed so the death is seen), so a slow
//!   interval costs memory in the number of processes that changed, not in ticks;
//! - a flush sends [`Update::Delta`] then [`Update::Events`], skipping empty ones;
//! - a subscriber *falls behind* when its bounded queue lacks room for a flush, when its
//!   pending events pass [`MAX_PENDING_EVENTS`], or when the node's feed overflowed: its
//!   pending changes are dropped and its next flush with room sends [`Update::Full`] (the
//!   shared model, current, so no ghost) followed by the events it kept, with the count of
//!   those dropped. A death is never skipped: it is either in a delta, or absent from the
//!   full snapshot that replaces the view, and its `Exited` event is delivered unless more
//!   than [`MAX_PENDING_EVENTS`] events piled up (then `missed` says how many were dropped).
//!
//! A burst of events (100,000 buckets created in a second) can outrun the node's bounded feed
//! between two ticks, so each subscriber's task also empties the feed into the collector as soon
//! as a quarter of it has filled since the hub last read it (no process is read then; the next
//! tick handles those events as if it had read them itself).
//!
//! Dropping a [`Subscription`] ends its task at once; when the last task of a node ends, the
//! hub and its collector go, and the node stops tracking changes.
//!
//! Known limit: a delta may list as changed a process whose values changed and changed back
//! within the subscriber's interval (the hub compares with its own model, not with each
//! subscriber's).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::Node;

use super::collector::{AlreadyObserved, Collected, Collector};
use otpscope_contract::{Delta, Event, ExitReason, Pid, ProcessInfo, Removed, Update};

/// Events a subscriber may have waiting before it is resynced and the oldest are dropped.
pub const MAX_PENDING_EVENTS: usize = 1 << 18;

/// How many updates a subscription queues by default before it falls behind.
pub const DEFAULT_QUEUE_CAPACITY: usize = 64;

/// How a subscription is fed.
#[derive(Clone)]
pub struct ObserveOptions {
    /// How often deltas and events are sent.
    interval: Duration,
    /// How many updates may wait in the queue.
    queue_capacity: usize,
    /// Called after each flush that queued something.
    on_update: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Whether the subscriber ticks on the observers' own thread rather than the node's.
    own_thread: bool,
}

impl ObserveOptions {
    /// Deltas every `interval` (at least 1 ms), a queue of [`DEFAULT_QUEUE_CAPACITY`].
    pub fn new(interval: Duration) -> Self {
        Self {
            interval: interval.max(Duration::from_millis(1)),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            on_update: None,
            own_thread: false,
        }
    }

    /// How many updates may wait unread before the subscriber falls behind (at least 2).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(2);
        self
    }

    /// Ticks on the observers' own thread (one for the OS process, started with the first
    /// such subscriber) instead of among the node's tasks: a node busy with its own work
    /// (a thousand processes woken at once) then does not hold its deltas back in the
    /// workers' queues. What a served node's clients get. Its timer is that thread's real
    /// clock, never a test's paused one.
    pub fn on_own_thread(mut self) -> Self {
        self.own_thread = true;
        self
    }

    /// Called (on the runtime the subscriber ticks on) whenever updates were queued: a GUI
    /// asks for a repaint here.
    pub fn on_update(mut self, notify: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_update = Some(Arc::new(notify));
        self
    }
}

impl std::fmt::Debug for ObserveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserveOptions")
            .field("interval", &self.interval)
            .field("queue_capacity", &self.queue_capacity)
            .field("on_update", &self.on_update.is_some())
            .field("own_thread", &self.own_thread)
            .finish()
    }
}

/// Subscribes to `node`: a full snapshot first, then deltas and events every `interval`.
/// Fails only if a [`Collector`] built directly holds the node's change marks.
pub fn observe(node: &Node, interval: Duration) -> Result<Subscription, AlreadyObserved> {
    observe_with(node, ObserveOptions::new(interval))
}

/// [`observe`] with options. The full snapshot is queued before this returns.
pub fn observe_with(node: &Node, options: ObserveOptions) -> Result<Subscription, AlreadyObserved> {
    let hub = Hub::for_node(node)?;
    let (sender, receiver) = mpsc::channel(options.queue_capacity);
    let id = hub.subscribe(&sender);
    let interval = options.interval;
    let handle = match options.own_thread.then(observers_runtime).flatten() {
        Some(runtime) => runtime.handle().clone(),
        None => node.handle().clone(),
    };
    handle.spawn(run_subscriber(hub, id, sender, options));
    Ok(Subscription { receiver, interval })
}

/// The runtime of the subscribers that tick on their own thread
/// ([`ObserveOptions::on_own_thread`]): one worker, started at first use, for the life of the
/// OS process; `None` if the OS would not start its thread (the subscriber then ticks on the
/// node's runtime).
fn observers_runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<Option<tokio::runtime::Runtime>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otpscope-observers")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}

/// The receiving end of a subscription. Dropping it stops the subscriber's task.
#[derive(Debug)]
pub struct Subscription {
    /// Where the subscriber's task queues updates.
    receiver: mpsc::Receiver<Update>,
    /// The interval it was created with.
    interval: Duration,
}

impl Subscription {
    /// The next queued update, without waiting (what a GUI calls each frame).
    pub fn try_recv(&mut self) -> Option<Update> {
        self.receiver.try_recv().ok()
    }

    /// Waits for the next update; `None` once the subscription is closed (the node's runtime
    /// shut down).
    pub async fn recv(&mut self) -> Option<Update> {
        self.receiver.recv().await
    }

    /// The interval between deltas.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many updates wait unread.
    pub fn queued(&self) -> usize {
        self.receiver.len()
    }

    /// True once no more updates can come.
    pub fn is_closed(&self) -> bool {
        self.receiver.is_closed()
    }
}

async fn run_subscriber(
    hub: Arc<Hub>,
    id: u64,
    sender: mpsc::Sender<Update>,
    options: ObserveOptions,
) {
    let start = tokio::time::Instant::now() + options.interval;
    let mut ticker = tokio::time::interval_at(start, options.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let node = hub.node();
    let quarter_feed = (node.introspect().event_capacity() / 4) as u64;
    loop {
        // The feed can refill as fast as it is drained (a burst of spawns and exits): without
        // this, the loop below never yields, and a task woken from it (the reader of this
        // subscription, in the worker's LIFO slot) waits for as long as the burst lasts.
        tokio::task::coop::consume_budget().await;
        let drain_at = hub.event_cursor() + quarter_feed;
        tokio::select! {
            biased;
            () = sender.closed() => break,
            _ = ticker.tick() => {}
            () = node.introspect().wait_for_event(drain_at) => {
                hub.drain();
                continue;
            }
        }
        if hub.tick(id, &sender)
            && let Some(notify) = &options.on_update
        {
            notify();
        }
    }
    hub.unsubscribe(id);
}

// === impl Hub ===

/// How long a new subscriber waits for the node's previous hub to finish dropping.
const HUB_TEARDOWN_WAIT: Duration = Duration::from_secs(2);

/// The hubs of observed nodes, by node id; a hub lives as long as a subscriber task holds it.
/// A dead entry stays until a hub for its node is started again, so that a subscriber can
/// tell a hub still dropping from a collector built directly.
static HUBS: Mutex<Vec<(u32, Weak<Hub>)>> = Mutex::new(Vec::new());

/// One node's shared collector and its subscribers' pending updates.
struct Hub {
    /// Everything, behind one lock: ticks are short and rare next to the runtime's work.
    state: Mutex<HubState>,
}

struct HubState {
    /// The node's only collector (see the module docs).
    collector: Collector,
    /// Each subscriber's pending updates.
    subscribers: Vec<Pending>,
    /// The id the next subscriber gets.
    next_id: u64,
}

/// What one subscriber has not been sent yet.
struct Pending {
    /// The subscriber's id.
    id: u64,
    /// The seq of the last full snapshot or delta sent: the next delta's `from_seq`.
    seq: u64,
    /// Changes since then, composed per pid.
    changes: BTreeMap<Pid, Change>,
    /// Events since the last flush.
    events: VecDeque<Event>,
    /// Events dropped before `events`.
    missed: u64,
    /// Fell behind: the next flush sends a full snapshot instead of a delta.
    resync: bool,
}

/// A pending change to one process, relative to what the subscriber was last sent.
enum Change {
    Added(Arc<ProcessInfo>),
    Changed(Arc<ProcessInfo>),
    Removed(ExitReason),
}

impl Hub {
    /// The node's hub, started (with a full read) if the node has none.
    ///
    /// A hub whose last subscriber just went may still be dropping its collector (and with
    /// it the node's change marks) on another thread: a new subscriber then waits for that
    /// drop to finish, at most [`HUB_TEARDOWN_WAIT`], instead of being refused.
    fn for_node(node: &Node) -> Result<Arc<Self>, AlreadyObserved> {
        let node_id = node.pid(0).node_id();
        let deadline = std::time::Instant::now() + HUB_TEARDOWN_WAIT;
        loop {
            let mut hubs = HUBS.lock();
            let tearing_down = hubs
                .iter()
                .any(|(id, hub)| *id == node_id && hub.strong_count() == 0);
            if let Some(hub) = hubs
                .iter()
                .find(|(id, _)| *id == node_id)
                .and_then(|(_, hub)| hub.upgrade())
            {
                return Ok(hub);
            }
            match Collector::new(node) {
                Ok(collector) => {
                    hubs.retain(|(_, hub)| hub.strong_count() > 0);
                    let hub = Arc::new(Self {
                        state: Mutex::new(HubState {
                            collector,
                            subscribers: Vec::new(),
                            next_id: 0,
                        }),
                    });
                    hubs.push((node_id, Arc::downgrade(&hub)));
                    return Ok(hub);
                }
                Err(error) if !tearing_down || std::time::Instant::now() >= deadline => {
                    hubs.retain(|(_, hub)| hub.strong_count() > 0);
                    return Err(error);
                }
                Err(_) => {
                    drop(hubs);
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }

    /// Adds a subscriber and queues its full snapshot (the queue is new, so it has room).
    fn subscribe(&self, sender: &mpsc::Sender<Update>) -> u64 {
        let mut state = self.state.lock();
        state.collect();
        let id = state.next_id;
        state.next_id += 1;
        let snapshot = state.collector.snapshot().clone();
        state.subscribers.push(Pending::new(id, snapshot.seq));
        sender.try_send(Update::Full(snapshot)).ok();
        id
    }

    /// The node the hub observes.
    fn node(&self) -> Node {
        self.state.lock().collector.node().clone()
    }

    /// Where the hub's collector reads the feed next.
    fn event_cursor(&self) -> u64 {
        self.state.lock().collector.event_cursor()
    }

    /// Empties the node's feed into the collector, so it cannot overflow before the next tick.
    fn drain(&self) {
        self.state.lock().collector.drain_feed();
    }

    fn unsubscribe(&self, id: u64) {
        self.state
            .lock()
            .subscribers
            .retain(|pending| pending.id != id);
    }

    /// Collects, then flushes subscriber `id`; true if it queued something.
    fn tick(&self, id: u64, sender: &mpsc::Sender<Update>) -> bool {
        let mut state = self.state.lock();
        state.collect();
        let HubState {
            collector,
            subscribers,
            ..
        } = &mut *state;
        let Some(pending) = subscribers.iter_mut().find(|pending| pending.id == id) else {
            return false;
        };
        pending.flush(collector, sender)
    }
}

impl HubState {
    fn collect(&mut self) {
        let collected = self.collector.collect();
        for pending in &mut self.subscribers {
            pending.absorb(&collected);
        }
    }
}

impl Pending {
    fn new(id: u64, seq: u64) -> Self {
        Self {
            id,
            seq,
            changes: BTreeMap::new(),
            events: VecDeque::new(),
            missed: 0,
            resync: false,
        }
    }

    fn fall_behind(&mut self) {
        self.resync = true;
        self.changes.clear();
    }

    /// Merges one collect into what this subscriber has not been sent.
    fn absorb(&mut self, collected: &Collected) {
        if collected.resynced {
            self.fall_behind();
        }
        if collected.missed_events > 0 {
            self.missed += collected.missed_events;
            self.fall_behind();
        }
        if !self.resync {
            let delta = &collected.delta;
            for info in &delta.added {
                self.changes.insert(info.pid, Change::Added(info.clone()));
            }
            for info in &delta.changed {
                let change = match self.changes.get(&info.pid) {
                    Some(Change::Added(_)) => Change::Added(info.clone()),
                    _ => Change::Changed(info.clone()),
                };
                self.changes.insert(info.pid, change);
            }
            for removed in &delta.removed {
                self.changes
                    .insert(removed.pid, Change::Removed(removed.reason.clone()));
            }
        }
        self.events.extend(collected.events.iter().cloned());
        if self.events.len() > MAX_PENDING_EVENTS {
            let excess = self.events.len() - MAX_PENDING_EVENTS;
            self.events.drain(..excess);
            self.missed += excess as u64;
            self.fall_behind();
        }
    }

    /// Queues what is pending if the queue has room for all of it; falls behind otherwise.
    fn flush(&mut self, collector: &Collector, sender: &mpsc::Sender<Update>) -> bool {
        let model = collector.snapshot();
        let state_update = self.resync || !self.changes.is_empty();
        let events_update = !self.events.is_empty() || self.missed > 0;
        let needed = usize::from(state_update) + usize::from(events_update);
        if needed == 0 {
            return false;
        }
        if sender.capacity() < needed {
            self.fall_behind();
            return false;
        }
        // The view moves to the model's seq only with a full snapshot or a delta; a flush
        // of events alone leaves `seq` where the view is.
        if self.resync {
            sender.try_send(Update::Full(model.clone())).ok();
            self.resync = false;
            self.seq = model.seq;
        } else if state_update {
            let delta = self.delta(model.seq, model.taken_at_unix_ms);
            sender.try_send(Update::Delta(delta)).ok();
            self.seq = model.seq;
        }
        if events_update {
            let events = Update::Events {
                events: self.events.drain(..).collect(),
                missed: std::mem::take(&mut self.missed),
            };
            sender.try_send(events).ok();
        }
        true
    }

    /// Turns the pending changes into a delta from `self.seq` to `seq`.
    fn delta(&mut self, seq: u64, taken_at_unix_ms: u64) -> Delta {
        let mut delta = Delta {
            seq,
            from_seq: self.seq,
            taken_at_unix_ms,
            ..Delta::default()
        };
        for (pid, change) in std::mem::take(&mut self.changes) {
            match change {
                Change::Added(info) => delta.added.push(info),
                Change::Changed(info) => delta.changed.push(info),
                Change::Removed(reason) => delta.removed.push(Removed { pid, reason }),
            }
        }
        delta
    }
}
