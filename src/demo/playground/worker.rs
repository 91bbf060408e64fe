//! The playground's one worker type: a [`Server`] that plays the script its
//! [`WorkerSpec`] gives (crash every N ms, exit once, slow or ignored shutdown, a failing or
//! ignored start, a steady stream of pings) and holds a small key-value state it describes.
//!
//! Every playground worker accepts the same messages, so any one can receive another's
//! pings: a [`Ping`] cast, counted and dropped. Calls read and change the state
//! ([`WorkerCall`]). Timers are tokio tasks that send the worker an opaque [`ScriptTimer`]
//! through its own handle; they end as soon as the worker has exited.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::runtime::{ExitReason, Message, Pid, Server, ServerContext, ServerRef, StateReport};

use super::spec::WorkerSpec;

/// Send ticks never come closer than this; each tick sends what the rate owes so far.
const MIN_SEND_PERIOD: Duration = Duration::from_millis(10);

/// The generic message every playground worker accepts: counted, then dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// Who sent it.
    pub from: Pid,
}

/// Requests a worker answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerCall {
    /// The value under a key ([`WorkerReply::Value`]).
    Get(String),
    /// Sets a key (value as text) ([`WorkerReply::Done`]).
    Put(String, String),
    /// Its counters ([`WorkerReply::Stats`]).
    Stats,
    /// Crashes now with this reason, as if its own code failed: it replies
    /// ([`WorkerReply::Done`]), runs `terminate` and exits with the reason (no exit signal is
    /// involved, so trapping exits does not save it).
    Crash(ExitReason),
    /// Stays busy this long before it takes its next message: its mailbox fills meanwhile.
    /// It replies ([`WorkerReply::Done`]) first.
    Busy(Duration),
}

/// A worker's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerReply {
    /// The value, if the key is set.
    Value(Option<String>),
    /// Done.
    Done,
    /// Its counters.
    Stats(WorkerStats),
}

/// What a worker has counted since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Pings received.
    pub received: u64,
    /// Pings sent and delivered to a live worker.
    pub sent: u64,
    /// Pings owed by `send_per_second` that found no live worker under `send_to`.
    pub undelivered: u64,
}

/// A timer of the worker's own script; only the worker makes them.
#[derive(Debug)]
pub struct ScriptTimer(Timer);

#[derive(Debug)]
enum Timer {
    Crash,
    ExitOnce,
    Send,
}

/// A scripted playground worker.
pub struct Worker {
    /// What to do, from the file.
    spec: Arc<WorkerSpec>,
    /// Its behaviour label: the file's `label`, else its child id, so that workers without
    /// one still tell apart in a view.
    label: Arc<str>,
    /// Set once an `exit_after_ms` exit has happened, shared by every incarnation started
    /// from the same child spec, so that only the first one exits.
    exited_once: Arc<AtomicBool>,
    /// The state it holds, in file order.
    state: Vec<(String, String)>,
    /// Its counters.
    stats: WorkerStats,
    /// When it started sending, to pace `send_per_second`.
    sending_since: Option<Instant>,
    /// Pings owed so far, delivered or not.
    owed: u64,
    /// True once the script itself decided to stop (a crash or the one exit), so a slow or
    /// ignored shutdown does not apply.
    is_script_stop: bool,
    /// The last exit signal it trapped from a process other than its supervisor.
    last_trapped: Option<(Pid, ExitReason)>,
}

impl Worker {
    /// A worker that plays `spec` as child `id`; `exited_once` is shared by the
    /// incarnations of one child.
    pub(super) fn new(spec: Arc<WorkerSpec>, id: &Arc<str>, exited_once: Arc<AtomicBool>) -> Self {
        Self {
            label: spec.label.as_deref().map_or_else(|| id.clone(), Arc::from),
            state: spec.state.clone(),
            spec,
            exited_once,
            stats: WorkerStats::default(),
            sending_since: None,
            owed: 0,
            is_script_stop: false,
            last_trapped: None,
        }
    }

    /// Sends the pings the rate owes since sending began.
    fn send_owed(&mut self, ctx: &ServerContext<Self>) {
        let (Some(send), Some(since)) = (&self.spec.send, self.sending_since) else {
            return;
        };
        let due = (since.elapsed().as_secs_f64() * f64::from(send.per_second)) as u64;
        let batch = due.saturating_sub(self.owed);
        self.owed = due;
        if batch == 0 {
            return;
        }
        let node = ctx.node();
        let target = ServerRef::<Worker>::whereis(&node, &send.to);
        for _ in 0..batch {
            let delivered = target
                .as_ref()
                .is_some_and(|target| target.cast(Ping { from: ctx.pid() }).is_ok());
            if delivered {
                self.stats.sent += 1;
            } else {
                self.stats.undelivered += 1;
            }
        }
    }
}

impl Server for Worker {
    type Call = WorkerCall;
    type Reply = WorkerReply;
    type Cast = Ping;
    type Info = ScriptTimer;
    /// How long to stay busy ([`WorkerCall::Busy`]): the reply goes first, then the wait.
    type Continue = Duration;

    fn label(&self) -> Arc<str> {
        self.label.clone()
    }

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        if let Some(reason) = &self.spec.fail_to_start {
            return Err(reason.clone());
        }
        let Some(me) = ServerRef::<Worker>::from_pid(&ctx.node(), ctx.pid()) else {
            return Err(ExitReason::NoProc);
        };
        let handle = ctx.node().handle().clone();
        if let Some(crash) = &self.spec.crash_every {
            handle.spawn(fire_after(me.clone(), crash.after_ms, Timer::Crash));
        }
        if let Some(exit) = &self.spec.exit_after
            && !self.exited_once.load(Ordering::Acquire)
        {
            handle.spawn(fire_after(me.clone(), exit.after_ms, Timer::ExitOnce));
        }
        if let Some(send) = &self.spec.send {
            self.sending_since = Some(Instant::now());
            let period = (Duration::from_secs(1) / send.per_second).max(MIN_SEND_PERIOD);
            handle.spawn(tick_every(me, period));
        }
        Ok(())
    }

    async fn handle_call(
        &mut self,
        call: WorkerCall,
        ctx: &mut ServerContext<Self>,
    ) -> WorkerReply {
        match call {
            WorkerCall::Get(key) => WorkerReply::Value(
                self.state
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, value)| value.clone()),
            ),
            WorkerCall::Put(key, value) => {
                match self.state.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = value,
                    None => self.state.push((key, value)),
                }
                WorkerReply::Done
            }
            WorkerCall::Stats => WorkerReply::Stats(self.stats),
            WorkerCall::Crash(reason) => {
                self.is_script_stop = true;
                ctx.stop(reason);
                WorkerReply::Done
            }
            WorkerCall::Busy(duration) => {
                ctx.continue_with(duration);
                WorkerReply::Done
            }
        }
    }

    async fn handle_continue(&mut self, busy: Duration, _ctx: &mut ServerContext<Self>) {
        tokio::time::sleep(busy).await;
    }

    async fn handle_cast(&mut self, _ping: Ping, _ctx: &mut ServerContext<Self>) {
        self.stats.received += 1;
    }

    async fn handle_info(&mut self, message: Message<ScriptTimer>, ctx: &mut ServerContext<Self>) {
        match message {
            Message::User(ScriptTimer(Timer::Crash)) => {
                if let Some(crash) = &self.spec.crash_every {
                    self.is_script_stop = true;
                    ctx.stop(crash.reason.clone());
                }
            }
            Message::User(ScriptTimer(Timer::ExitOnce)) => {
                if let Some(exit) = &self.spec.exit_after
                    && !self.exited_once.swap(true, Ordering::AcqRel)
                {
                    self.is_script_stop = true;
                    ctx.stop(exit.reason.clone());
                }
            }
            Message::User(ScriptTimer(Timer::Send)) => self.send_owed(ctx),
            Message::Exit(exit) => self.last_trapped = Some((exit.from, exit.reason)),
            Message::Down(_) => {}
        }
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut ServerContext<Self>) {
        let is_shutdown = matches!(reason, ExitReason::Shutdown | ExitReason::ShutdownWith(_));
        if self.is_script_stop || !is_shutdown {
            return;
        }
        if self.spec.ignore_shutdown {
            // Never exits on its own: its supervisor's kill ends it here.
            std::future::pending::<()>().await;
        }
        if let Some(ms) = self.spec.shutdown_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    fn describe(&self) -> StateReport {
        let mut rows = self.state.clone();
        let script = script_summary(&self.spec);
        if !script.is_empty() {
            rows.push(("script".to_owned(), script));
        }
        if self.spec.send.is_some() {
            rows.push(("sent".to_owned(), self.stats.sent.to_string()));
            rows.push(("undelivered".to_owned(), self.stats.undelivered.to_string()));
        }
        if self.stats.received > 0 {
            rows.push(("received".to_owned(), self.stats.received.to_string()));
        }
        if let Some((from, reason)) = &self.last_trapped {
            rows.push(("last trapped exit".to_owned(), format!("{from}: {reason}")));
        }
        rows
    }
}

/// One line on what the worker's script does, for `describe`.
fn script_summary(spec: &WorkerSpec) -> String {
    let mut parts = Vec::new();
    if let Some(crash) = &spec.crash_every {
        parts.push(format!(
            "crashes every {} ms with {}",
            crash.after_ms, crash.reason
        ));
    }
    if let Some(exit) = &spec.exit_after {
        parts.push(format!(
            "exits once after {} ms with {}",
            exit.after_ms, exit.reason
        ));
    }
    if let Some(ms) = spec.shutdown_ms {
        parts.push(format!("takes {ms} ms to shut down"));
    }
    if spec.ignore_shutdown {
        parts.push("ignores shutdown".to_owned());
    }
    if let Some(send) = &spec.send {
        parts.push(format!("sends {} a second to {}", send.per_second, send.to));
    }
    if spec.is_trapping_exits() {
        parts.push("traps exits".to_owned());
    }
    parts.join("; ")
}

/// Sends `timer` to the worker once, after `ms`.
async fn fire_after(me: ServerRef<Worker>, ms: u64, timer: Timer) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    me.send(ScriptTimer(timer)).ok();
}

/// Sends a send tick every `period` until the worker has exited.
async fn tick_every(me: ServerRef<Worker>, period: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        if me.send(ScriptTimer(Timer::Send)).is_err() {
            return;
        }
    }
}
