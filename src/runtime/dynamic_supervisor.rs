//! Dynamic supervisors: one_for_one supervisors whose children are started on demand, as
//! Elixir's `DynamicSupervisor` (the seed's `KV.BucketSupervisor`).
//!
//! Restart types and intensity work as in [`Supervisor`](super::Supervisor). `start_child`
//! returns once the child runs, and fails with `max_children` past the limit. Stopping a
//! dynamic supervisor stops its children all at once, newest first (each is sent its shutdown,
//! then all are waited for, each killed when its own timeout passes), so 100,000 children stop
//! in well under a second.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::child_spec::{ChildSpec, ChildType, Restart, Shutdown, Started};
use super::context::{Context, SpawnOptions, Spawner};
use super::error::{StartError, SupervisorError};
use super::exit::ExitReason;
use super::introspect::{EventKind, ProcessKind};
use super::node::Node;
use super::pid::{IdHash, Pid};
use super::process::{Countdown, Message, StateReport};
use super::server::{Server, ServerContext, ServerRef, start_server};
use super::supervisor::{ChildCounts, ChildInfo, ChildPid, shutdown_child, start_child};

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

pub(crate) enum DynamicCall {
    StartChild(ChildSpec),
    TerminateChild(Pid),
    WhichChildren,
    CountChildren,
}

pub(crate) enum DynamicReply {
    Started(Result<Started, StartError>),
    Terminated(Result<(), SupervisorError>),
    Children(Vec<ChildInfo>),
    Counts(ChildCounts),
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
            monitor: false,
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
            monitor: false,
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
        let server = DynamicServer {
            flags,
            children: HashMap::default(),
            restarts: VecDeque::new(),
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
        let call = DynamicCall::StartChild(spec);
        match self.server.call_infinity(call).await {
            Ok(DynamicReply::Started(result)) => result,
            Ok(_) => unreachable!("start_child replies with started"),
            Err(error) => Err(StartError::Supervisor(error)),
        }
    }

    /// Stops the child `pid` as its shutdown says.
    pub async fn terminate_child(&self, pid: Pid) -> Result<(), SupervisorError> {
        let call = DynamicCall::TerminateChild(pid);
        match self.server.call_infinity(call).await? {
            DynamicReply::Terminated(result) => result,
            _ => unreachable!("terminate_child replies with terminated"),
        }
    }

    /// Its children in start order.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        match self.server.call(DynamicCall::WhichChildren).await? {
            DynamicReply::Children(children) => Ok(children),
            _ => unreachable!("which_children replies with children"),
        }
    }

    /// Counts of specs, active children, supervisors and workers.
    pub async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        match self.server.call(DynamicCall::CountChildren).await? {
            DynamicReply::Counts(counts) => Ok(counts),
            _ => unreachable!("count_children replies with counts"),
        }
    }

    /// Stops the supervisor and all its children, and waits.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), SupervisorError> {
        Ok(self.server.stop(reason).await?)
    }
}

struct DynamicChild {
    spec: ChildSpec,
    restarts: u32,
}

/// The server behind a [`DynamicSupervisor`].
struct DynamicServer {
    flags: DynamicSupervisorFlags,
    /// Running children by pid.
    children: HashMap<Pid, DynamicChild, IdHash>,
    /// When recent restarts happened, for the intensity.
    restarts: VecDeque<Instant>,
    label: Arc<str>,
}

pub(crate) enum DynamicInfo {
    /// Try again a restart that failed.
    TryAgain(Box<ChildSpec>, u32, Pid),
}

impl Server for DynamicServer {
    type Call = DynamicCall;
    type Reply = DynamicReply;
    type Cast = ();
    type Info = DynamicInfo;

    fn label(&self) -> Arc<str> {
        self.label.clone()
    }

    async fn init(&mut self, ctx: &mut ServerContext) -> Result<(), ExitReason> {
        ctx.trap_exit(true);
        Ok(())
    }

    async fn handle_call(&mut self, call: DynamicCall, ctx: &mut ServerContext) -> DynamicReply {
        match call {
            DynamicCall::StartChild(spec) => {
                if let Some(max) = self.flags.max_children
                    && self.children.len() >= max
                {
                    return DynamicReply::Started(Err(StartError::MaxChildren { max }));
                }
                DynamicReply::Started(self.start(ctx, spec, 0).await)
            }
            DynamicCall::TerminateChild(pid) => {
                let Some(child) = self.children.remove(&pid) else {
                    return DynamicReply::Terminated(Err(SupervisorError::NotFound(
                        pid.to_string(),
                    )));
                };
                shutdown_child(ctx, pid, child.spec.shutdown).await;
                DynamicReply::Terminated(Ok(()))
            }
            DynamicCall::WhichChildren => {
                let mut children: Vec<ChildInfo> = self
                    .children
                    .iter()
                    .map(|(pid, child)| ChildInfo {
                        id: child.spec.id.clone(),
                        pid: ChildPid::Running(*pid),
                        child_type: child.spec.child_type,
                        restart: child.spec.restart,
                    })
                    .collect();
                children.sort_unstable_by_key(|child| child.pid.pid());
                DynamicReply::Children(children)
            }
            DynamicCall::CountChildren => {
                let mut counts = ChildCounts {
                    specs: self.children.len(),
                    active: self.children.len(),
                    ..ChildCounts::default()
                };
                for child in self.children.values() {
                    match child.spec.child_type {
                        ChildType::Supervisor => counts.supervisors += 1,
                        ChildType::Worker => counts.workers += 1,
                    }
                }
                DynamicReply::Counts(counts)
            }
        }
    }

    async fn handle_info(&mut self, message: Message<DynamicInfo>, ctx: &mut ServerContext) {
        match message {
            Message::Exit(exit) => {
                let Some(child) = self.children.remove(&exit.from) else {
                    return;
                };
                let restart = match child.spec.restart {
                    Restart::Permanent => true,
                    Restart::Transient => !exit.reason.is_normal_or_shutdown(),
                    Restart::Temporary => false,
                };
                if restart && self.count_restart(ctx, &child.spec.id, &exit.reason) {
                    self.restart(ctx, child.spec, child.restarts + 1, exit.from)
                        .await;
                }
            }
            Message::User(DynamicInfo::TryAgain(spec, restarts, old)) => {
                let reason = ExitReason::custom("restart failed");
                if self.count_restart(ctx, &spec.id, &reason) {
                    self.restart(ctx, *spec, restarts, old).await;
                }
            }
            Message::Down(_) => {}
        }
    }

    async fn terminate(&mut self, _reason: &ExitReason, ctx: &mut ServerContext) {
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
        let now = Instant::now();
        rows.extend(self.restarts.iter().map(|at| {
            (
                "restart".to_owned(),
                format!("{} ms ago", now.duration_since(*at).as_millis()),
            )
        }));
        rows
    }
}

// === impl DynamicServer ===

impl DynamicServer {
    async fn start(
        &mut self,
        ctx: &Context,
        spec: ChildSpec,
        restarts: u32,
    ) -> Result<Started, StartError> {
        match start_child(ctx, &spec, restarts, None).await? {
            (ChildPid::Running(pid), _) => {
                self.children.insert(pid, DynamicChild { spec, restarts });
                Ok(Started::Pid(pid))
            }
            (ChildPid::Restarting | ChildPid::Undefined, _) => Ok(Started::Ignore),
        }
    }

    async fn restart(&mut self, ctx: &mut ServerContext, spec: ChildSpec, restarts: u32, old: Pid) {
        let id = spec.id.clone();
        match self.start(ctx, spec.clone(), restarts).await {
            Ok(Started::Pid(new)) => {
                ctx.event(EventKind::Restarted {
                    supervisor: ctx.pid(),
                    child_id: id,
                    old,
                    new,
                });
            }
            Ok(Started::Ignore) => {}
            Err(_) => {
                let retry = ctx.node().addr::<super::server::ServerMsg<Self>>(ctx.pid());
                if let Some(addr) = retry {
                    let info = DynamicInfo::TryAgain(Box::new(spec), restarts, old);
                    addr.send(super::server::ServerMsg::Info(info)).ok();
                }
            }
        }
    }

    fn count_restart(
        &mut self,
        ctx: &mut ServerContext,
        id: &Arc<str>,
        reason: &ExitReason,
    ) -> bool {
        let now = Instant::now();
        let window = Duration::from_secs(u64::from(self.flags.max_seconds));
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|at| now.duration_since(*at) > window)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() as u64 <= u64::from(self.flags.max_restarts) {
            return true;
        }
        ctx.event(EventKind::SupervisorGaveUp {
            supervisor: ctx.pid(),
            child_id: id.clone(),
            reason: reason.clone(),
        });
        ctx.stop(ExitReason::Shutdown);
        false
    }

    /// Stops every child at once: all are sent their shutdown first, then each is waited for
    /// until its own deadline and killed past it.
    async fn stop_all(&mut self, ctx: &Context) {
        let started = Instant::now();
        // Newest first, as a supervisor stops its children right to left. In pid order the
        // children's memory is also visited in the order it was allocated, which keeps a stop
        // of 100,000 children from missing the cache at every step.
        let mut children: Vec<(Pid, Shutdown)> = self
            .children
            .drain()
            .map(|(pid, child)| (pid, child.spec.shutdown))
            .collect();
        children.sort_unstable_by_key(|(pid, _)| std::cmp::Reverse(*pid));
        // One count for all the deaths awaited, and when to kill those with a timeout.
        let countdown = Arc::new(Countdown::new());
        let mut deadlines = Vec::new();
        for (pid, shutdown) in children {
            let watched = ctx.node.watch_countdown(pid, &countdown);
            ctx.unlink(pid);
            let reason = match shutdown {
                Shutdown::BrutalKill => ExitReason::Kill,
                Shutdown::Timeout(_) | Shutdown::Infinity => ExitReason::Shutdown,
            };
            ctx.exit(pid, reason).ok();
            if let (true, Shutdown::Timeout(timeout)) = (watched, shutdown) {
                deadlines.push((started + timeout, pid));
            }
        }
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
