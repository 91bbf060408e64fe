//! Starts a [`TreeSpec`] on a node with the public runtime API: supervisors with
//! [`Supervisor`], dynamic supervisors with [`DynamicSupervisor`] and their initial children
//! with `start_child`, workers as [`Worker`] servers.
//!
//! Child specs are built afresh each time a supervisor starts (also on its restarts), so a
//! restarted subtree plays its scripts from the beginning, as the file describes it; an
//! `exit_after_ms` exit happens once per child spec, whatever restarts its siblings cause.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::runtime::{
    ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, ExitReason, Node, Pid,
    ServerRef, SpawnOptions, StartError, Started, Supervisor, SupervisorError, SupervisorFlags,
};

use super::spec::{
    ChildEntry, DynamicSupervisorSpec, ProcessSpec, RootSpec, SupervisorSpec, WorkerSpec,
};
use super::worker::Worker;

/// A tree started from a file: the handle of its root.
#[derive(Clone, Debug)]
pub struct RunningTree {
    /// The node it runs on.
    node: Node,
    /// Its root supervisor.
    root: RootHandle,
}

/// The root of a running tree.
#[derive(Clone, Debug)]
pub enum RootHandle {
    /// A supervisor.
    Supervisor(Supervisor),
    /// A dynamic supervisor.
    DynamicSupervisor(DynamicSupervisor),
}

impl RunningTree {
    /// The root's pid.
    pub fn pid(&self) -> Pid {
        match &self.root {
            RootHandle::Supervisor(supervisor) => supervisor.pid(),
            RootHandle::DynamicSupervisor(supervisor) => supervisor.pid(),
        }
    }

    /// The root's handle.
    pub fn root(&self) -> &RootHandle {
        &self.root
    }

    /// The node the tree runs on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Whether the root is alive.
    pub fn is_alive(&self) -> bool {
        self.node.is_alive(self.pid())
    }

    /// Stops the whole tree with `reason` (children before their supervisors) and waits.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), SupervisorError> {
        match &self.root {
            RootHandle::Supervisor(supervisor) => supervisor.stop(reason).await,
            RootHandle::DynamicSupervisor(supervisor) => supervisor.stop(reason).await,
        }
    }
}

/// Starts the tree's root from `node`, unlinked, and returns once every child runs.
pub(super) async fn start(root: &RootSpec, node: &Node) -> Result<RunningTree, StartError> {
    let root = match root {
        RootSpec::Supervisor(spec) => {
            let children = child_specs(&spec.children);
            let supervisor = Supervisor::start(
                node,
                supervisor_flags(spec),
                children,
                supervisor_options(spec),
            )
            .await?;
            RootHandle::Supervisor(supervisor)
        }
        RootSpec::DynamicSupervisor(spec) => {
            let flags = dynamic_flags(spec);
            let options = options(&spec.name, &spec.label);
            let supervisor = DynamicSupervisor::start(node, flags, options).await?;
            if let Err(error) = start_initial(&supervisor, &spec.children).await {
                supervisor.stop(ExitReason::Shutdown).await.ok();
                return Err(error);
            }
            RootHandle::DynamicSupervisor(supervisor)
        }
    };
    Ok(RunningTree {
        node: node.clone(),
        root,
    })
}

/// The child specs of a list of children, each entry `count` times.
fn child_specs(children: &[ChildEntry]) -> Vec<ChildSpec> {
    children
        .iter()
        .flat_map(|child| (0..child.count).map(move |_| child_spec(child)))
        .collect()
}

/// Starts a dynamic supervisor's initial children in order; the first failure names its
/// child.
async fn start_initial(
    supervisor: &DynamicSupervisor,
    children: &[ChildEntry],
) -> Result<(), StartError> {
    for child in children {
        for _ in 0..child.count {
            supervisor
                .start_child(child_spec(child))
                .await
                .map_err(|error| StartError::Child {
                    id: child.id.as_str().into(),
                    reason: Box::new(error),
                })?;
        }
    }
    Ok(())
}

/// One child's spec, with its restart type and shutdown.
fn child_spec(child: &ChildEntry) -> ChildSpec {
    let id: Arc<str> = child.id.as_str().into();
    let spec = match &child.process {
        ProcessSpec::Supervisor(spec) => supervisor_child(id, Arc::new(spec.clone())),
        ProcessSpec::DynamicSupervisor(spec) => dynamic_child(id, Arc::new(spec.clone())),
        ProcessSpec::Worker(spec) => worker_child(id, Arc::new(spec.clone())),
    };
    spec.restart(child.restart).shutdown(child.shutdown)
}

fn supervisor_child(id: Arc<str>, spec: Arc<SupervisorSpec>) -> ChildSpec {
    ChildSpec::supervisor(id, move |ctx: Context| {
        let spec = spec.clone();
        async move {
            let children = child_specs(&spec.children);
            let flags = supervisor_flags(&spec);
            let supervisor =
                Supervisor::start_link(&ctx, flags, children, supervisor_options(&spec)).await?;
            Ok(Started::Pid(supervisor.pid()))
        }
    })
}

fn dynamic_child(id: Arc<str>, spec: Arc<DynamicSupervisorSpec>) -> ChildSpec {
    ChildSpec::supervisor(id, move |ctx: Context| {
        let spec = spec.clone();
        async move {
            let options = options(&spec.name, &spec.label);
            let supervisor =
                DynamicSupervisor::start_link(&ctx, dynamic_flags(&spec), options).await?;
            if let Err(error) = start_initial(&supervisor, &spec.children).await {
                ctx.unlink(supervisor.pid());
                supervisor.stop(ExitReason::Shutdown).await.ok();
                return Err(error);
            }
            Ok(Started::Pid(supervisor.pid()))
        }
    })
}

fn worker_child(id: Arc<str>, spec: Arc<WorkerSpec>) -> ChildSpec {
    let exited_once = Arc::new(AtomicBool::new(false));
    let child_id = id.clone();
    ChildSpec::worker(id, move |ctx: Context| {
        let (spec, id, exited_once) = (spec.clone(), child_id.clone(), exited_once.clone());
        async move {
            if spec.ignore {
                return Ok(Started::Ignore);
            }
            let options = options(&spec.name, &spec.label).trap_exit(spec.is_trapping_exits());
            let worker = Worker::new(spec, &id, exited_once);
            let server = ServerRef::start_link(&ctx, worker, options).await?;
            Ok(Started::Pid(server.pid()))
        }
    })
}

fn supervisor_flags(spec: &SupervisorSpec) -> SupervisorFlags {
    SupervisorFlags::new(spec.strategy)
        .max_restarts(spec.max_restarts)
        .max_seconds(spec.max_seconds)
}

fn supervisor_options(spec: &SupervisorSpec) -> SpawnOptions {
    options(&spec.name, &spec.label)
}

fn dynamic_flags(spec: &DynamicSupervisorSpec) -> DynamicSupervisorFlags {
    let flags = DynamicSupervisorFlags::default().intensity(spec.max_restarts, spec.max_seconds);
    match spec.max_children {
        Some(max) => flags.max_children(max),
        None => flags,
    }
}

fn options(name: &Option<String>, label: &Option<String>) -> SpawnOptions {
    let mut options = SpawnOptions::new();
    if let Some(name) = name {
        options = options.name(name.as_str());
    }
    if let Some(label) = label {
        options = options.label(label.as_str());
    }
    options
}
