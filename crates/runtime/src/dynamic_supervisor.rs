//! Dynamic supervisors: one_for_one supervisors whose children are started on demand, as
//! Elixir's `DynamicSupervisor` (the seed's `KV.BucketSupervisor`).
//!
//! Restart types and intensity work as in [`Supervisor`](super::Supervisor). `start_child`
//! returns once the child runs, and fails with `max_children` past the limit; a start
//! function that panics fails the start, never the supervisor. Stopping a dynamic supervisor
//! stops its children all at once, newest first (each is sent its shutdown, then all are
//! waited for, each killed when its own timeout passes), as OTP's `simple_one_for_one` does.
//! A child that never ran (an idle bucket, a server waiting for its first message) dies at
//! its signal, in the supervisor's task, without a task spawned for it to die in.
//!
//! As in Elixir, a child whose restart failed stays a child, under its last pid, while the
//! restart is tried again through the mailbox: `which_children` lists it as restarting,
//! `count_children` counts it among the specs (not the active), it counts toward
//! `max_children`, and `terminate_child` of its last pid removes it and cancels the retry.
//! `which_children` and `count_children` wait as long as the supervisor takes to answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::child_spec::{ChildSpec, ChildType, Restart, Shutdown, Started};
use super::context::{Context, SpawnOptions, Spawner};
use super::error::{StartError, SupervisorError};
use super::exit::ExitReason;
use super::intensity::Intensity;
use super::introspect::{EventKind, ProcessKind};
use super::node::Node;
use super::pid::Pid;
use super::process::{Countdown, Message, StateReport};
use super::server::{ReplyTo, Server, ServerContext, ServerRef, start_server};
use super::supervisor::{
    ChildCounts, ChildInfo, ChildPid, check_period, shutdown_child, start_child,
};

/// A dynamic supervisor's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynamicSupervisorFlags {
    /// At most this many restarts ...
    pub max_restarts: u32,
    /// ... within this many seconds.
    pub max_seconds: u32,
    /// The most children it runs at once (`None`: no limit).
    pub max_children: Option<usize>,
}

impl Default for DynamicSupervisorFlags {
    fn default() -> Self {
        Self {
            max_restarts: 3,
            max_seconds: 5,
            max_children: None,
        }
    }
}

impl DynamicSupervisorFlags {
    /// Sets max_children.
    pub fn max_children(mut self, max_children: usize) -> Self {
        self.max_children = Some(max_children);
        self
    }

    /// Sets the intensity.
    pub fn intensity(mut self, max_restarts: u32, max_seconds: u32) -> Self {
        self.max_restarts = max_restarts;
        self.max_seconds = max_seconds;
        self
    }
}

/// A handle to a running dynamic supervisor. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamicSupervisor {
    server: ServerRef<DynamicServer>,
}

/// A request to a dynamic supervisor, with where its typed answer goes.
pub(crate) enum DynamicCall {
    StartChild(ChildSpec, ReplyTo<Result<Started, StartError>>),
    TerminateChild(Pid, ReplyTo<Result<(), SupervisorError>>),
    WhichChildren(ReplyTo<Vec<ChildInfo>>),
    CountChildren(ReplyTo<ChildCounts>),
}

impl DynamicSupervisor {
    /// Starts a dynamic supervisor, not linked.
    pub async fn start(
        from: &impl Spawner,
        flags: DynamicSupervisorFlags,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: false,
            ..options
        };
        Self::spawn(from.origin().node, from.origin().parent, flags, options).await
    }

    /// Starts a dynamic supervisor linked to the calling process.
    pub async fn start_link(
        ctx: &Context,
        flags: DynamicSupervisorFlags,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        let options = SpawnOptions {
            link: true,
            ..options
        };
        Self::spawn(&ctx.node, Some(ctx), flags, options).await
    }

    async fn spawn(
        node: &Arc<super::node::NodeShared>,
        parent: Option<&Context>,
        flags: DynamicSupervisorFlags,
        options: SpawnOptions,
    ) -> Result<Self, StartError> {
        check_period(flags.max_seconds)?;
        let server = DynamicServer {
            flags,
            children: BTreeMap::new(),
            intensity: Intensity::new(flags.max_restarts, flags.max_seconds),
            label: options
                .label
                .clone()
                .unwrap_or_else(|| super::introspect::DYNAMIC_SUPERVISOR_LABEL.clone()),
        };
        let kind = ProcessKind::DynamicSupervisor {
            max_restarts: flags.max_restarts,
            max_seconds: flags.max_seconds,
            max_children: flags.max_children,
        };
        let server = start_server(node, parent, server, options, kind).await?;
        Ok(Self { server })
    }

    /// A child spec that starts a dynamic supervisor under another supervisor.
    pub fn child_spec(
        id: impl Into<Arc<str>>,
        flags: DynamicSupervisorFlags,
        options: SpawnOptions,
    ) -> ChildSpec {
        ChildSpec::supervisor(id, move |ctx| {
            let options = options.clone();
            async move {
                let supervisor = Self::start_link(&ctx, flags, options).await?;
                Ok(Started::Pid(supervisor.pid()))
            }
        })
    }

    /// The handle of the live dynamic supervisor `pid`.
    pub fn from_pid(node: &Node, pid: Pid) -> Option<Self> {
        ServerRef::from_pid(node, pid).map(|server| Self { server })
    }

    /// The handle of the dynamic supervisor registered as `name`.
    pub fn whereis(node: &Node, name: &str) -> Option<Self> {
        Self::from_pid(node, node.whereis(name)?)
    }

    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// Whether it is alive.
    pub fn is_alive(&self) -> bool {
        self.server.is_alive()
    }

    /// Starts a child from `spec`; returns once the child runs.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<Started, StartError> {
        let call = |reply| DynamicCall::StartChild(spec, reply);
        match self.server.call_with_infinity(call).await {
            Ok(started) => started,
            Err(error) => Err(StartError::Supervisor(error)),
        }
    }

    /// Stops the child `pid` as its shutdown says; a child being restarted after a failed
    /// restart (known by its last pid) is removed and its retry cancelled.
    pub async fn terminate_child(&self, pid: Pid) -> Result<(), SupervisorError> {
        let call = |reply| DynamicCall::TerminateChild(pid, reply);
        self.server.call_with_infinity(call).await?
    }

    /// Its children in start order. Waits as long as the supervisor takes to answer.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        let call = DynamicCall::WhichChildren;
        Ok(self.server.call_with_infinity(call).await?)
    }

    /// Counts of specs, active children, supervisors and workers. Waits as long as the
    /// supervisor takes to answer.
    pub async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        let call = DynamicCall::CountChildren;
        Ok(self.server.call_with_infinity(call).await?)
    }

    /// Stops the supervisor and all its children, and waits.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), SupervisorError> {
        Ok(self.server.stop(reason).await?)
    }
}

struct DynamicChild {
    /// Its spec, shared with its siblings started from the same spec (see
    /// [`DynamicServer::share_spec`]).
    spec: Arc<ChildSpec>,
    /// Restarts of this child so far.
    restarts: u32,
    /// Its restart failed and is being tried again: the key is its last pid, now dead.
    restarting: bool,
}

impl DynamicChild {
    /// Its row of `which_children`, `pid` being its key.
    fn info(&self, pid: Pid) -> ChildInfo {
        ChildInfo {
            id: self.spec.id.clone(),
            pid: if self.restarting {
                ChildPid::Restarting
            } else {
                ChildPid::Running(pid)
            },
            child_type: self.spec.child_type,
            restart: self.spec.restart,
        }
    }
}

/// The server behind a [`DynamicSupervisor`].
struct DynamicServer {
    /// Its limits.
    flags: DynamicSupervisorFlags,
    /// Children by pid (the last pid of one whose restart is being tried again), oldest
    /// first. Ordered, so that `which_children` and a stop need no sort, and dense: a hash
    /// table of a million children kept two million slots, about 160 bytes a child, where
    /// the tree takes about 64 (measured, BENCHMARKS.md "1,000,000 idle buckets").
    children: BTreeMap<Pid, DynamicChild>,
    /// Recent restarts, against max_restarts in max_seconds.
    intensity: Intensity,
    /// Its behaviour label.
    label: Arc<str>,
}

pub(crate) enum DynamicInfo {
    /// Try again the failed restart of the child known by this last pid.
    TryAgain(Pid),
}

impl Server for DynamicServer {
    type Call = DynamicCall;
    type Reply = ();
    type Cast = ();
    type Info = DynamicInfo;
    type Continue = ();

    fn label(&self) -> Arc<str> {
        self.label.clone()
    }

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        ctx.trap_exit(true);
        Ok(())
    }

    async fn handle_call(&mut self, call: DynamicCall, ctx: &mut ServerContext<Self>) {
        match call {
            DynamicCall::StartChild(spec, reply) => {
                if let Some(max) = self.flags.max_children
                    && self.children.len() >= max
                {
                    reply.reply(Err(StartError::MaxChildren { max })).ok();
                    return;
                }
                let spec = self.share_spec(spec);
                reply.reply(self.start(ctx, spec, 0).await).ok();
            }
            DynamicCall::TerminateChild(pid, reply) => {
                let Some(child) = self.children.remove(&pid) else {
                    let error = SupervisorError::NotFound(pid.to_string());
                    reply.reply(Err(error)).ok();
                    return;
                };
                if !child.restarting {
                    shutdown_child(ctx, pid, child.spec.shutdown).await;
                }
                reply.reply(Ok(())).ok();
            }
            DynamicCall::WhichChildren(reply) => {
                let children = self
                    .children
                    .iter()
                    .map(|(pid, child)| child.info(*pid))
                    .collect();
                reply.reply(children).ok();
            }
            DynamicCall::CountChildren(reply) => {
                let mut counts = ChildCounts {
                    specs: self.children.len(),
                    ..ChildCounts::default()
                };
                for child in self.children.values() {
                    if !child.restarting {
                        counts.active += 1;
                    }
                    match child.spec.child_type {
                        ChildType::Supervisor => counts.supervisors += 1,
                        ChildType::Worker => counts.workers += 1,
                    }
                }
                reply.reply(counts).ok();
            }
        }
    }

    async fn handle_info(&mut self, message: Message<DynamicInfo>, ctx: &mut ServerContext<Self>) {
        match message {
            Message::Exit(exit) => {
                let Some(child) = self.take_child(exit.from, false) else {
                    return;
                };
                let restart = match child.spec.restart {
                    Restart::Permanent => true,
                    Restart::Transient => !exit.reason.is_normal_or_shutdown(),
                    Restart::Temporary => false,
                };
                if restart
                    && self
                        .intensity
                        .restart_or_give_up(ctx, &child.spec.id, &exit.reason)
                {
                    self.restart(ctx, child, exit.from).await;
                }
            }
            Message::User(DynamicInfo::TryAgain(old)) => {
                // Unless it was terminated since: then there is nothing to retry.
                let Some(child) = self.take_child(old, true) else {
                    return;
                };
                let reason = ExitReason::custom("restart failed");
                if self
                    .intensity
                    .restart_or_give_up(ctx, &child.spec.id, &reason)
                {
                    self.restart(ctx, child, old).await;
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
                "one_for_one max_restarts {} max_seconds {} max_children {}",
                self.flags.max_restarts,
                self.flags.max_seconds,
                self.flags
                    .max_children
                    .map_or("infinity".to_owned(), |max| max.to_string())
            ),
        )];
        rows.push(("children".to_owned(), self.children.len().to_string()));
        rows.extend(self.intensity.describe());
        rows
    }
}

// === impl DynamicServer ===

impl DynamicServer {
    async fn start(
        &mut self,
        ctx: &Context,
        spec: Arc<ChildSpec>,
        restarts: u32,
    ) -> Result<Started, StartError> {
        match start_child(ctx, &spec, restarts, None).await? {
            (ChildPid::Running(pid), _) => {
                let child = DynamicChild {
                    spec,
                    restarts,
                    restarting: false,
                };
                self.children.insert(pid, child);
                Ok(Started::Pid(pid))
            }
            (ChildPid::Restarting | ChildPid::Undefined, _) => Ok(Started::Ignore),
        }
    }

    /// `spec` as the child will hold it: the newest child's own if `spec` is the same (a
    /// clone of it, as a million buckets started from `Bucket::child_spec()` are), so that
    /// siblings started alike share one, else a new one.
    fn share_spec(&self, spec: ChildSpec) -> Arc<ChildSpec> {
        match self.children.last_key_value() {
            Some((_, newest)) if newest.spec.is_same(&spec) => newest.spec.clone(),
            _ => Arc::new(spec),
        }
    }

    /// Removes the child known by `pid` if it is running (`restarting` false) or being
    /// restarted (true).
    fn take_child(&mut self, pid: Pid, restarting: bool) -> Option<DynamicChild> {
        let found = self.children.get(&pid)?;
        if found.restarting != restarting {
            return None;
        }
        self.children.remove(&pid)
    }

    /// Restarts `child`, whose last pid was `old`. If the start fails, the child stays under
    /// `old`, restarting, and another try is queued behind the mailbox's messages.
    async fn restart(&mut self, ctx: &ServerContext<Self>, child: DynamicChild, old: Pid) {
        let restarts = child.restarts + 1;
        match self.start(ctx, child.spec.clone(), restarts).await {
            Ok(Started::Pid(new)) => {
                ctx.event(EventKind::Restarted {
                    supervisor: ctx.pid(),
                    child_id: child.spec.id.clone(),
                    old,
                    new,
                });
            }
            Ok(Started::Ignore) => {}
            Err(_) => {
                let restarting = DynamicChild {
                    restarts,
                    restarting: true,
                    ..child
                };
                self.children.insert(old, restarting);
                ctx.myself().send(DynamicInfo::TryAgain(old)).ok();
            }
        }
    }

    /// Stops every child at once: all are sent their shutdown first (newest first, as a
    /// supervisor stops its children right to left), then each still alive is waited for
    /// until its own deadline and killed past it. A child that never ran (an idle bucket)
    /// dies at its signal, in this task (see `NodeShared::shut_down`), and needs no deadline.
    async fn stop_all(&mut self, ctx: &Context) {
        let started = tokio::time::Instant::now();
        let children = std::mem::take(&mut self.children);
        // One count for all the deaths awaited, and when to kill those with a timeout.
        let countdown = Arc::new(Countdown::new());
        // Counted as one more until every signal is sent: idle children die at their signal,
        // and the count would otherwise fall to zero (and notify) at each.
        countdown.add();
        let mut deadlines = Vec::new();
        for (pid, child) in children.into_iter().rev() {
            if child.restarting {
                continue;
            }
            let shutdown = child.spec.shutdown;
            let reason = match shutdown {
                Shutdown::BrutalKill => ExitReason::Kill,
                Shutdown::Timeout(_) | Shutdown::Infinity => ExitReason::Shutdown,
            };
            let alive = ctx.node.shut_down(&ctx.process, pid, reason, &countdown);
            if let (true, Shutdown::Timeout(timeout)) = (alive, shutdown) {
                deadlines.push((started + timeout, pid));
            }
        }
        countdown.arrive();
        deadlines.sort_by_key(|(deadline, _)| *deadline);
        let mut deadlines = deadlines.into_iter().peekable();
        while let Some(&(deadline, _)) = deadlines.peek() {
            if tokio::time::timeout_at(deadline, countdown.wait())
                .await
                .is_ok()
            {
                return;
            }
            // Past this deadline: kill those of its children still alive.
            while let Some((_, pid)) = deadlines.next_if(|(at, _)| *at <= deadline) {
                ctx.exit(pid, ExitReason::Kill).ok();
            }
        }
        countdown.wait().await;
    }
}
