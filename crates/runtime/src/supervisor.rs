//! Supervisors: start children left to right, restart them by strategy within a restart
//! intensity, and stop them right to left.
//!
//! A supervisor is a [`Server`] that traps exits. Following OTP's `supervisor`:
//! - `start`/`start_link` return after every child has started; if one fails, the started
//!   ones are stopped in reverse order and the error names the child.
//! - A child that exits is restarted by its restart type (permanent always, transient after
//!   an abnormal exit, temporary never: its spec is dropped, also when it is stopped as a
//!   bystander, and not kept at all when its start returns ignore) and by the strategy:
//!   one_for_one restarts it alone, one_for_all stops the others (right to left) and
//!   restarts all, rest_for_one stops and restarts those started after it.
//! - More than `max_restarts` restarts within `max_seconds` (defaults 3 and 5, Elixir's) and
//!   the supervisor gives up: it stops its children right to left and exits with `shutdown`,
//!   which its own supervisor then handles. The window is read on tokio's clock (see
//!   `intensity.rs`).
//! - A restart that fails to start (an error, or a start function that panics) counts as a
//!   restart and is tried again through the supervisor's mailbox, so that calls are answered
//!   between tries (OTP's `try_again_restart`). Only the child whose start failed is
//!   `restarting`; the children after it are not running (`undefined`) and can be restarted
//!   or deleted meanwhile. A try stops, right to left, the children the strategy covers that
//!   run (one_for_all: all, rest_for_one: those after the failed one) and starts them again
//!   from the failed one. `terminate_child` of a restarting child cancels its retry.
//! - A start function that panics never takes the supervisor down: `start_child` fails with
//!   the panic, a start at init fails naming the child (the started ones are shut down with
//!   `shutdown`, right to left), and a restart that panics is a failed restart.
//! - A child list with duplicate ids, or a `max_seconds` of 0, fails the start before any
//!   child starts (OTP: `duplicate_child_name`, `invalid_period`).
//! - Stopping a child waits on a monitor, not on the EXIT message: brutal_kill kills at once;
//!   a timeout sends `shutdown`, waits, then kills; infinity waits as long as it takes.
//! - A restarted child gets a new pid; its old incarnation has fully stopped before the new
//!   one starts, and it keeps its place among its siblings.
//! - An exit signal from the parent (the process that started it with `start_link`) stops the
//!   children and then the supervisor with that reason; from any other process (the node, or
//!   the starter of a supervisor started with `start`, which is its own parent) it is ignored
//!   unless it comes from a child, as in OTP.
//! - `which_children`, `count_children` and the child admin calls wait as long as it takes
//!   (OTP's `infinity`): a supervisor busy restarting a slow child answers when it is done.
//!
//! Differences from OTP: `which_children` lists children in spec (start) order, where OTP
//! lists them newest first; `start_child` with an id already present fails with
//! `AlreadyPresent` whether or not that child runs (OTP says `already_started` for a running
//! one).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use super::child_spec::{ChildSpec, ChildType, Restart, Shutdown, Started};
use super::context::{Context, SpawnOptions, Spawner};
use super::error::{StartError, SupervisorError};
use super::exit::ExitReason;
use super::intensity::Intensity;
use super::introspect::{EventKind, ProcessKind};
use super::node::Node;
use super::pid::Pid;
use super::process::{Message, StateReport, catch_panic_message};
use super::server::{ReplyTo, Server, ServerContext, ServerRef, start_server};

/// How a child's exit affects its siblings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Restart only the child that exited.
    OneForOne,
    /// Stop all other children and restart all.
    OneForAll,
    /// Stop and restart the children started after the one that exited, and it.
    RestForOne,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OneForOne => "one_for_one",
            Self::OneForAll => "one_for_all",
            Self::RestForOne => "rest_for_one",
        })
    }
}

/// A supervisor's strategy and restart intensity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisorFlags {
    /// How a child's exit affects its siblings.
    pub strategy: Strategy,
    /// At most this many restarts ...
    pub max_restarts: u32,
    /// ... within this many seconds.
    pub max_seconds: u32,
}

impl SupervisorFlags {
    /// `strategy` with Elixir's default intensity: 3 restarts in 5 seconds.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            max_restarts: 3,
            max_seconds: 5,
        }
    }

    /// Sets max_restarts.
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.max_restarts = max_restarts;
        self
    }

    /// Sets max_seconds.
    pub fn max_seconds(mut self, max_seconds: u32) -> Self {
        self.max_seconds = max_seconds;
        self
    }
}

/// A child's process in [`ChildInfo`], as `which_children` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildPid {
    /// Running with this pid.
    Running(Pid),
    /// Its restart failed and will be tried again.
    Restarting,
    /// Not running (terminated, exited without restart, or it returned ignore).
    Undefined,
}

impl ChildPid {
    /// The pid, if running.
    pub fn pid(&self) -> Option<Pid> {
        match self {
            Self::Running(pid) => Some(*pid),
            Self::Restarting | Self::Undefined => None,
        }
    }
}

/// One row of `which_children`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child id.
    pub id: Arc<str>,
    /// Its process.
    pub pid: ChildPid,
    /// Worker or supervisor.
    pub child_type: ChildType,
    /// Its restart type.
    pub restart: Restart,
}

/// What `count_children` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildCounts {
    /// Child specs held.
    pub specs: usize,
    /// Children running.
    pub active: usize,
    /// Specs of supervisor children.
    pub supervisors: usize,
    /// Specs of worker children.
    pub workers: usize,
}

/// A handle to a running supervisor. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Supervisor {
    server: ServerRef<SupervisorServer>,
}

/// A request to a supervisor, with where its typed answer goes.
pub(crate) enum SupervisorCall {
    WhichChildren(ReplyTo<Vec<ChildInfo>>),
    CountChildren(ReplyTo<ChildCounts>),
    TerminateChild(Arc<str>, ReplyTo<Result<(), SupervisorError>>),
    RestartChild(Arc<str>, ReplyTo<Result<Started, SupervisorError>>),
    DeleteChild(Arc<str>, ReplyTo<Result<(), SupervisorError>>),
    StartChild(ChildSpec, ReplyTo<Result<Started, SupervisorError>>),
}

impl Supervisor {
    /// Starts a supervisor with `children`, not linked.
    pub async fn start(
        from: &impl Spawner,
        flags: SupervisorFlags,
        children: Vec<ChildSpec>,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: false,
            ..options
        };
        Self::spawn(
            from.origin().node,
            from.origin().parent,
            flags,
            children,
            options,
        )
        .await
    }

    /// Starts a supervisor linked to the calling process (its own supervisor).
    pub async fn start_link(
        ctx: &Context,
        flags: SupervisorFlags,
        children: Vec<ChildSpec>,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: true,
            ..options
        };
        Self::spawn(&ctx.node, Some(ctx), flags, children, options).await
    }

    async fn spawn(
        node: &Arc<super::node::NodeShared>,
        parent: Option<&Context>,
        flags: SupervisorFlags,
        children: Vec<ChildSpec>,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        check_period(flags.max_seconds)?;
        let mut ids = HashSet::with_capacity(children.len());
        if let Some(spec) = children.iter().find(|spec| !ids.insert(&spec.id)) {
            return Err(StartError::DuplicateChild(spec.id.clone()));
        }
        let failure = Arc::new(Mutex::new(None));
        let server = SupervisorServer {
            flags,
            initial: children,
            children: Vec::new(),
            by_pid: HashMap::new(),
            intensity: Intensity::new(flags.max_restarts, flags.max_seconds),
            label: options
                .label
                .clone()
                .unwrap_or_else(|| super::introspect::SUPERVISOR_LABEL.clone()),
            failure: failure.clone(),
        };
        let kind = ProcessKind::Supervisor {
            strategy: flags.strategy,
            max_restarts: flags.max_restarts,
            max_seconds: flags.max_seconds,
        };
        match start_server(node, parent, server, options, kind).await {
            Ok(server) => Ok(Self { server }),
            Err(StartError::Init(reason)) => {
                Err(failure.lock().take().unwrap_or(StartError::Init(reason)))
            }
            Err(error) => Err(error),
        }
    }

    /// A child spec that starts this supervisor under another one (shutdown infinity).
    pub fn child_spec(
        id: impl Into<Arc<str>>,
        flags: SupervisorFlags,
        children: Vec<ChildSpec>,
        options: SpawnOptions,
    ) -> ChildSpec {
        ChildSpec::supervisor(id, move |ctx| {
            let (children, options) = (children.clone(), options.clone());
            async move {
                let supervisor = Self::start_link(&ctx, flags, children, options).await?;
                Ok(Started::Pid(supervisor.pid()))
            }
        })
    }

    /// The handle of the live supervisor `pid`.
    pub fn from_pid(node: &Node, pid: Pid) -> Option<Self> {
        ServerRef::from_pid(node, pid).map(|server| Self { server })
    }

    /// The handle of the supervisor registered as `name`.
    pub fn whereis(node: &Node, name: &str) -> Option<Self> {
        Self::from_pid(node, node.whereis(name)?)
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// Whether it is alive.
    pub fn is_alive(&self) -> bool {
        self.server.is_alive()
    }

    /// Its children in start order. Waits as long as the supervisor takes to answer.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        let call = SupervisorCall::WhichChildren;
        Ok(self.server.call_with_infinity(call).await?)
    }

    /// Counts of specs, active children, supervisors and workers. Waits as long as the
    /// supervisor takes to answer.
    pub async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        let call = SupervisorCall::CountChildren;
        Ok(self.server.call_with_infinity(call).await?)
    }

    /// Stops the child `id`; its spec is kept (unless it is temporary). A child being
    /// restarted after a failed restart is left not running, and its retry is cancelled.
    pub async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        let call = |reply| SupervisorCall::TerminateChild(id.into(), reply);
        self.server.call_with_infinity(call).await?
    }

    /// Starts again a child that is not running (terminated, or not restarted after a failed
    /// restart of a sibling).
    pub async fn restart_child(&self, id: &str) -> Result<Started, SupervisorError> {
        let call = |reply| SupervisorCall::RestartChild(id.into(), reply);
        self.server.call_with_infinity(call).await?
    }

    /// Removes the spec of a child that is not running.
    pub async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        let call = |reply| SupervisorCall::DeleteChild(id.into(), reply);
        self.server.call_with_infinity(call).await?
    }

    /// Adds a child and starts it.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<Started, SupervisorError> {
        let call = |reply| SupervisorCall::StartChild(spec, reply);
        self.server.call_with_infinity(call).await?
    }

    /// Stops the supervisor with `reason` (children right to left) and waits.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), SupervisorError> {
        Ok(self.server.stop(reason).await?)
    }
}

/// Refuses a restart window of no time, which would never give up (OTP: `invalid_period`).
pub(crate) fn check_period(max_seconds: u32) -> Result<(), StartError> {
    if max_seconds == 0 {
        return Err(StartError::InvalidPeriod(max_seconds));
    }
    Ok(())
}

/// One child spec and its current process.
struct Child {
    spec: ChildSpec,
    pid: ChildPid,
    /// Restarts of this child id so far.
    restarts: u32,
    /// Its place among its siblings, kept across restarts.
    order_key: Option<u64>,
    /// The pid of its latest incarnation, for the restart event.
    last_pid: Option<Pid>,
}

/// The server behind a [`Supervisor`].
struct SupervisorServer {
    flags: SupervisorFlags,
    /// The specs given at start, taken by init.
    initial: Vec<ChildSpec>,
    children: Vec<Child>,
    /// Where each running child was found last: a hint, checked on use (removing a child
    /// shifts the ones after it), rebuilt when it misses. An exit finds its child without
    /// scanning: a storm of 10,000 exits among 10,000 children was 10⁸ comparisons.
    by_pid: HashMap<Pid, usize>,
    /// Recent restarts, against max_restarts in max_seconds.
    intensity: Intensity,
    label: Arc<str>,
    /// Which child failed to start at init, for the starter's error.
    failure: Arc<Mutex<Option<StartError>>>,
}

pub(crate) enum SupervisorInfo {
    /// Try again a restart that failed.
    TryAgain(Arc<str>),
}

impl Server for SupervisorServer {
    type Call = SupervisorCall;
    type Reply = ();
    type Cast = ();
    type Info = SupervisorInfo;
    type Continue = ();

    fn label(&self) -> Arc<str> {
        self.label.clone()
    }

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        ctx.trap_exit(true);
        for spec in std::mem::take(&mut self.initial) {
            match start_child(ctx, &spec, 0, None).await {
                Ok((ChildPid::Undefined, _)) if spec.restart == Restart::Temporary => {}
                Ok((pid, order_key)) => {
                    self.children.push(Child {
                        spec,
                        pid,
                        restarts: 0,
                        order_key,
                        last_pid: pid.pid(),
                    });
                }
                Err(error) => {
                    self.stop_all(ctx).await;
                    let reason = ExitReason::shutdown_with(format!(
                        "{{failed_to_start_child, {}, {error}}}",
                        spec.id
                    ));
                    *self.failure.lock() = Some(StartError::Child {
                        id: spec.id.clone(),
                        reason: Box::new(error),
                    });
                    return Err(reason);
                }
            }
        }
        Ok(())
    }

    async fn handle_call(&mut self, call: SupervisorCall, ctx: &mut ServerContext<Self>) {
        match call {
            SupervisorCall::WhichChildren(reply) => {
                let children = self.children.iter().map(|child| ChildInfo {
                    id: child.spec.id.clone(),
                    pid: child.pid,
                    child_type: child.spec.child_type,
                    restart: child.spec.restart,
                });
                reply.reply(children.collect()).ok();
            }
            SupervisorCall::CountChildren(reply) => {
                reply.reply(count(&self.children)).ok();
            }
            SupervisorCall::TerminateChild(id, reply) => {
                reply.reply(self.terminate_child(ctx, &id).await).ok();
            }
            SupervisorCall::RestartChild(id, reply) => {
                reply.reply(self.restart_child(ctx, &id).await).ok();
            }
            SupervisorCall::DeleteChild(id, reply) => {
                reply.reply(self.delete_child(&id)).ok();
            }
            SupervisorCall::StartChild(spec, reply) => {
                reply.reply(self.add_child(ctx, spec).await).ok();
            }
        }
    }

    async fn handle_info(
        &mut self,
        message: Message<SupervisorInfo>,
        ctx: &mut ServerContext<Self>,
    ) {
        match message {
            Message::Exit(exit) => {
                if let Some(index) = self.running_child(exit.from) {
                    self.child_exited(ctx, index, exit.reason).await;
                }
            }
            Message::User(SupervisorInfo::TryAgain(id)) => {
                // Unless the child was terminated (or deleted) since: then nothing to retry.
                let restarting = self
                    .children
                    .iter()
                    .any(|c| c.spec.id == id && c.pid == ChildPid::Restarting);
                let reason = ExitReason::custom("restart failed");
                if restarting && self.intensity.restart_or_give_up(ctx, &id, &reason) {
                    self.restart(ctx, &id).await;
                }
            }
            Message::Down(_) => {}
        }
    }

    async fn terminate(&mut self, _reason: &ExitReason, ctx: &mut ServerContext<Self>) {
        self.stop_all(ctx).await;
    }

    fn describe(&self) -> StateReport {
        let mut rows = vec![(
            "flags".to_owned(),
            format!(
                "{} max_restarts {} max_seconds {}",
                self.flags.strategy, self.flags.max_restarts, self.flags.max_seconds
            ),
        )];
        rows.extend(self.children.iter().map(|child| {
            let pid = match child.pid {
                ChildPid::Running(pid) => pid.to_string(),
                ChildPid::Restarting => "restarting".to_owned(),
                ChildPid::Undefined => "undefined".to_owned(),
            };
            let spec = &child.spec;
            (
                spec.id.to_string(),
                format!(
                    "{pid} {} {} shutdown {} restarts {}",
                    spec.child_type, spec.restart, spec.shutdown, child.restarts
                ),
            )
        }));
        rows.extend(self.intensity.describe());
        rows
    }
}

// === impl SupervisorServer ===

impl SupervisorServer {
    /// A child exited on its own: drop, keep or restart it, by restart type and strategy.
    async fn child_exited(
        &mut self,
        ctx: &mut ServerContext<Self>,
        index: usize,
        reason: ExitReason,
    ) {
        let child = &mut self.children[index];
        child.pid = ChildPid::Undefined;
        match child.spec.restart {
            Restart::Temporary => {
                self.children.remove(index);
                return;
            }
            Restart::Transient if reason.is_normal_or_shutdown() => return,
            Restart::Transient | Restart::Permanent => {}
        }
        let id = child.spec.id.clone();
        if self.intensity.restart_or_give_up(ctx, &id, &reason) {
            self.restart_at(ctx, index).await;
        }
    }

    /// The index of the running child `pid`, if it is one.
    fn running_child(&mut self, pid: Pid) -> Option<usize> {
        let is_at = |children: &[Child], index: usize| {
            children
                .get(index)
                .is_some_and(|child| child.pid == ChildPid::Running(pid))
        };
        if let Some(&index) = self.by_pid.get(&pid)
            && is_at(&self.children, index)
        {
            return Some(index);
        }
        self.by_pid.clear();
        for (index, child) in self.children.iter().enumerate() {
            if let ChildPid::Running(running) = child.pid {
                self.by_pid.insert(running, index);
            }
        }
        self.by_pid
            .get(&pid)
            .copied()
            .filter(|&index| is_at(&self.children, index))
    }

    /// Restarts by strategy after the child `id` exited, or after its restart failed: stops,
    /// right to left, the running children the strategy covers (one_for_all: all;
    /// rest_for_one: those after `id`), then starts the ones not running from `id` on
    /// (one_for_all: from the first), as OTP's `restart/3`.
    async fn restart(&mut self, ctx: &ServerContext<Self>, id: &str) {
        if let Some(index) = self.children.iter().position(|c| &*c.spec.id == id) {
            self.restart_at(ctx, index).await;
        }
    }

    /// [`SupervisorServer::restart`] of the child at `index`.
    async fn restart_at(&mut self, ctx: &ServerContext<Self>, index: usize) {
        match self.flags.strategy {
            Strategy::OneForOne => self.restart_from(ctx, index, Some(index)).await,
            Strategy::OneForAll => {
                self.stop_from(ctx, 0).await;
                self.restart_from(ctx, 0, None).await;
            }
            Strategy::RestForOne => {
                // Only children after `id` can be removed (temporary): `index` holds.
                self.stop_from(ctx, index).await;
                self.restart_from(ctx, index, None).await;
            }
        }
    }

    /// Stops the running children from `first` on, right to left, dropping temporary ones.
    async fn stop_from(&mut self, ctx: &ServerContext<Self>, first: usize) {
        for index in (first..self.children.len()).rev() {
            let child = &mut self.children[index];
            if let ChildPid::Running(pid) = child.pid {
                shutdown_child(ctx, pid, child.spec.shutdown).await;
                child.pid = ChildPid::Undefined;
            }
            if child.spec.restart == Restart::Temporary {
                self.children.remove(index);
            }
        }
    }

    /// (Re)starts children from `first` on (only `first` if `only` is set) that are not
    /// running. A failure marks that child restarting, leaves the ones after it not running,
    /// and schedules another try through the mailbox.
    async fn restart_from(&mut self, ctx: &ServerContext<Self>, first: usize, only: Option<usize>) {
        let last = only.map_or(self.children.len(), |index| index + 1);
        for index in first..last {
            let child = &mut self.children[index];
            if matches!(child.pid, ChildPid::Running(_)) {
                continue;
            }
            child.restarts += 1;
            match start_child(ctx, &child.spec, child.restarts, child.order_key).await {
                Ok((pid, order_key)) => {
                    child.pid = pid;
                    child.order_key = order_key.or(child.order_key);
                    if let (Some(old), ChildPid::Running(new)) = (child.last_pid, pid) {
                        ctx.event(EventKind::Restarted {
                            supervisor: ctx.pid(),
                            child_id: child.spec.id.clone(),
                            old,
                            new,
                        });
                    }
                    child.last_pid = pid.pid().or(child.last_pid);
                    if let ChildPid::Running(running) = pid {
                        self.by_pid.insert(running, index);
                    }
                }
                Err(_) => {
                    child.pid = ChildPid::Restarting;
                    let retry = SupervisorInfo::TryAgain(child.spec.id.clone());
                    ctx.myself().send(retry).ok();
                    return;
                }
            }
        }
    }

    /// Stops every running child, right to left.
    async fn stop_all(&mut self, ctx: &ServerContext<Self>) {
        for child in self.children.iter_mut().rev() {
            if let ChildPid::Running(pid) = child.pid {
                shutdown_child(ctx, pid, child.spec.shutdown).await;
                child.pid = ChildPid::Undefined;
            }
        }
        self.children
            .retain(|child| child.spec.restart != Restart::Temporary);
    }

    async fn terminate_child(
        &mut self,
        ctx: &ServerContext<Self>,
        id: &str,
    ) -> Result<(), SupervisorError> {
        let index = self.find(id)?;
        let child = &mut self.children[index];
        if let ChildPid::Running(pid) = child.pid {
            shutdown_child(ctx, pid, child.spec.shutdown).await;
        }
        child.pid = ChildPid::Undefined;
        if child.spec.restart == Restart::Temporary {
            self.children.remove(index);
        }
        Ok(())
    }

    async fn restart_child(
        &mut self,
        ctx: &ServerContext<Self>,
        id: &str,
    ) -> Result<Started, SupervisorError> {
        let index = self.find(id)?;
        let child = &mut self.children[index];
        match child.pid {
            ChildPid::Running(_) => return Err(SupervisorError::Running(child.spec.id.clone())),
            ChildPid::Restarting => return Err(SupervisorError::Restarting(child.spec.id.clone())),
            ChildPid::Undefined => {}
        }
        let (pid, order_key) =
            start_child(ctx, &child.spec, child.restarts, child.order_key).await?;
        child.pid = pid;
        child.order_key = order_key.or(child.order_key);
        child.last_pid = pid.pid().or(child.last_pid);
        Ok(started(pid))
    }

    fn delete_child(&mut self, id: &str) -> Result<(), SupervisorError> {
        let index = self.find(id)?;
        match self.children[index].pid {
            ChildPid::Running(_) => Err(SupervisorError::Running(id.into())),
            ChildPid::Restarting => Err(SupervisorError::Restarting(id.into())),
            ChildPid::Undefined => {
                self.children.remove(index);
                Ok(())
            }
        }
    }

    async fn add_child(
        &mut self,
        ctx: &ServerContext<Self>,
        spec: ChildSpec,
    ) -> Result<Started, SupervisorError> {
        if self.children.iter().any(|c| c.spec.id == spec.id) {
            return Err(SupervisorError::AlreadyPresent(spec.id.clone()));
        }
        let (pid, order_key) = start_child(ctx, &spec, 0, None).await?;
        if pid == ChildPid::Undefined && spec.restart == Restart::Temporary {
            return Ok(Started::Ignore);
        }
        self.children.push(Child {
            spec,
            pid,
            restarts: 0,
            order_key,
            last_pid: pid.pid(),
        });
        Ok(started(pid))
    }

    fn find(&self, id: &str) -> Result<usize, SupervisorError> {
        self.children
            .iter()
            .position(|c| &*c.spec.id == id)
            .ok_or_else(|| SupervisorError::NotFound(id.to_owned()))
    }
}

fn started(pid: ChildPid) -> Started {
    match pid {
        ChildPid::Running(pid) => Started::Pid(pid),
        ChildPid::Restarting | ChildPid::Undefined => Started::Ignore,
    }
}

fn count(children: &[Child]) -> ChildCounts {
    let mut counts = ChildCounts {
        specs: children.len(),
        ..ChildCounts::default()
    };
    for child in children {
        if matches!(child.pid, ChildPid::Running(_)) {
            counts.active += 1;
        }
        match child.spec.child_type {
            ChildType::Supervisor => counts.supervisors += 1,
            ChildType::Worker => counts.workers += 1,
        }
    }
    counts
}

/// Starts one child from the supervisor's context, makes sure it is linked, and records its
/// place in the tree. `order_key` puts a restarted child back in its predecessor's place.
pub(crate) async fn start_child(
    ctx: &Context,
    spec: &ChildSpec,
    restarts: u32,
    order_key: Option<u64>,
) -> Result<(ChildPid, Option<u64>), StartError> {
    let started = catch_panic_message(spec.start(ctx.clone()))
        .await
        .unwrap_or_else(|panic| Err(StartError::Panicked(panic)));
    match started {
        Ok(Started::Pid(pid)) => {
            ctx.link(pid);
            let key = ctx.annotate_child(
                pid,
                &spec.id,
                spec.restart,
                spec.shutdown,
                restarts,
                order_key,
            );
            Ok((ChildPid::Running(pid), key))
        }
        Ok(Started::Ignore) => Ok((ChildPid::Undefined, order_key)),
        Err(error) => Err(error),
    }
}

/// Stops one child as its shutdown says, waiting on a monitor; gives its exit reason.
pub(crate) async fn shutdown_child(ctx: &Context, pid: Pid, shutdown: Shutdown) -> ExitReason {
    let mut watch = ctx.watch(pid);
    ctx.unlink(pid);
    match shutdown {
        Shutdown::BrutalKill => {
            ctx.exit(pid, ExitReason::Kill).ok();
            watch.await
        }
        Shutdown::Timeout(timeout) => {
            ctx.exit(pid, ExitReason::Shutdown).ok();
            match tokio::time::timeout(timeout, &mut watch).await {
                Ok(reason) => reason,
                Err(_) => {
                    ctx.exit(pid, ExitReason::Kill).ok();
                    watch.await
                }
            }
        }
        Shutdown::Infinity => {
            ctx.exit(pid, ExitReason::Shutdown).ok();
            watch.await
        }
    }
}
