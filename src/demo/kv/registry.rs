//! `KV.Registry`: a server that maps bucket names to buckets.
//!
//! `create` is a cast (it starts a bucket if the name is new), `lookup` a call. The registry
//! monitors every bucket it starts and forgets its name when the bucket goes down, whatever
//! the reason. Where it starts buckets is its [`BucketHome`]:
//! - [`BucketHome::Linked`]: linked to the registry itself, the chapter's opening design. The
//!   registry does not trap exits, so a bucket that dies with any reason but `normal` takes
//!   the registry (and through it every other bucket) down with it.
//! - [`BucketHome::Named`]: on the dynamic supervisor registered under that name
//!   (`KV.BucketSupervisor` in the app), resolved at each create, never at init.
//! - [`BucketHome::Supervisor`]: on a given dynamic supervisor, so each test can have its own
//!   registry and bucket supervisor, isolated from every other (the chapter's "Shared state
//!   in tests").
//!
//! The bucket spec is [`Bucket::child_spec`] (temporary) with its restart type overridden by
//! [`RegistryOptions::bucket_restart`]; the `permanent` stage sets it to permanent, which is
//! the chapter's leak: a crashed bucket is restarted by its supervisor with a pid the registry
//! never learns.
//!
//! **A missing bucket supervisor.** A create that finds no bucket supervisor (before it has
//! started, while it restarts, after it was terminated) or whose `start_child` fails is
//! dropped: no bucket is started, no name is recorded, a later lookup returns none, and the
//! registry stays up. This is how the chapter's ordering flaw shows in this runtime: in the
//! `one_for_one` stage the registry starts before `KV.BucketSupervisor`, and a create that
//! reaches it in that window is silently lost. (On the BEAM, `DynamicSupervisor.start_child`
//! on a missing name exits the caller with `noproc`, so the registry would crash instead.)

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::{
    CallError, ChildSpec, Context, DynamicSupervisor, ExitReason, Message, MonitorRef, Node, Pid,
    ReplyTo, Restart, Server, ServerContext, ServerRef, SpawnOptions, Spawner, StartError, Started,
    StateReport,
};

use super::bucket::Bucket;
use super::{BUCKET_SUPERVISOR, REGISTRY, Stage};

/// Where a registry starts its buckets.
#[derive(Clone, Debug)]
pub enum BucketHome {
    /// Linked to the registry, which becomes their parent.
    Linked,
    /// On the dynamic supervisor registered under this name, looked up at each create.
    Named(Arc<str>),
    /// On this dynamic supervisor.
    Supervisor(DynamicSupervisor),
}

/// How a registry is started: its name, where its buckets live, their restart type.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// The name it registers under; `None` for an isolated, unnamed registry.
    pub name: Option<Arc<str>>,
    /// Where it starts buckets.
    pub buckets: BucketHome,
    /// The restart type of the bucket spec it hands a supervisor (unused when linked).
    pub bucket_restart: Restart,
}

impl RegistryOptions {
    /// The registry of the app at `stage`: named `KV.Registry`, with buckets linked to it
    /// (`linked`) or on `KV.BucketSupervisor`, permanent in the `permanent` stage and
    /// temporary after.
    pub fn for_stage(stage: Stage) -> Self {
        let buckets = match stage {
            Stage::Linked => BucketHome::Linked,
            Stage::Permanent | Stage::OneForOne | Stage::Final => {
                BucketHome::Named(BUCKET_SUPERVISOR.into())
            }
        };
        let bucket_restart = match stage {
            Stage::Permanent => Restart::Permanent,
            Stage::Linked | Stage::OneForOne | Stage::Final => Restart::Temporary,
        };
        Self {
            name: Some(REGISTRY.into()),
            buckets,
            bucket_restart,
        }
    }

    /// An unnamed registry that starts temporary buckets on `bucket_supervisor`.
    pub fn isolated(bucket_supervisor: DynamicSupervisor) -> Self {
        Self {
            name: None,
            buckets: BucketHome::Supervisor(bucket_supervisor),
            bucket_restart: Restart::Temporary,
        }
    }

    /// An unnamed registry that starts buckets linked to itself (the `linked` design).
    pub fn linked() -> Self {
        Self {
            name: None,
            buckets: BucketHome::Linked,
            bucket_restart: Restart::Temporary,
        }
    }

    /// Registers the registry under `name`.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Overrides the restart type of the bucket specs.
    pub fn bucket_restart(mut self, restart: Restart) -> Self {
        self.bucket_restart = restart;
        self
    }

    fn spawn_options(&self) -> SpawnOptions {
        let options = SpawnOptions::new().label(REGISTRY);
        match &self.name {
            Some(name) => options.name(name.clone()),
            None => options,
        }
    }
}

/// A handle to a running registry. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Registry {
    /// The server process.
    server: ServerRef<RegistryServer>,
}

impl Registry {
    /// Starts a registry, not linked; from a process's context, that process is its parent.
    pub async fn start(from: &impl Spawner, options: RegistryOptions) -> Result<Self, StartError> {
        let spawn = options.spawn_options();
        let server = ServerRef::start(from, RegistryServer::new(options), spawn).await?;
        Ok(Self { server })
    }

    /// Starts a registry linked to the calling process.
    pub async fn start_link(ctx: &Context, options: RegistryOptions) -> Result<Self, StartError> {
        let spawn = options.spawn_options();
        let server = ServerRef::start_link(ctx, RegistryServer::new(options), spawn).await?;
        Ok(Self { server })
    }

    /// The spec a supervisor starts a registry from: id `KV.Registry`, a permanent worker.
    pub fn child_spec(options: RegistryOptions) -> ChildSpec {
        ChildSpec::worker(REGISTRY, move |ctx| {
            let options = options.clone();
            async move {
                let registry = Self::start_link(&ctx, options).await?;
                Ok(registry.pid().into())
            }
        })
    }

    /// The registry registered as `KV.Registry` on `node`, if any.
    pub fn whereis(node: &Node) -> Option<Self> {
        ServerRef::whereis(node, REGISTRY).map(|server| Self { server })
    }

    /// The handle of the live registry `pid`, if it is one.
    pub fn from_pid(node: &Node, pid: Pid) -> Option<Self> {
        ServerRef::from_pid(node, pid).map(|server| Self { server })
    }

    /// The registry's pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// Whether the registry is alive.
    pub fn is_alive(&self) -> bool {
        self.server.is_alive()
    }

    /// Asks the registry to create a bucket named `name`, unless it has one (a cast: this
    /// does not wait). Fails only if the registry is not alive.
    pub fn create(&self, name: impl Into<String>) -> Result<(), CallError> {
        self.server
            .cast(RegistryCast::Create(name.into()))
            .map_err(|_| CallError::NoProc(self.pid()))
    }

    /// The bucket named `name`, if the registry knows one.
    pub async fn lookup(&self, name: &str) -> Result<Option<Bucket>, CallError> {
        let call = |reply| RegistryCall::Lookup(name.to_owned(), reply);
        self.server.call_with(call).await
    }

    /// Every name the registry knows, with its bucket's pid.
    pub async fn names(&self) -> Result<BTreeMap<String, Pid>, CallError> {
        self.server.call_with(RegistryCall::Names).await
    }

    /// How many names the registry knows: a cheap call, answered after every cast this
    /// caller made before it (so after their buckets have started), waiting up to `timeout`.
    pub async fn count(&self, timeout: Duration) -> Result<usize, CallError> {
        self.server
            .call_with_timeout(RegistryCall::Count, timeout)
            .await
    }

    /// The registry's state as observers see it: one row per name with its bucket's pid,
    /// sorted by name.
    pub async fn describe(&self) -> Result<StateReport, CallError> {
        self.server.describe().await
    }

    /// Stops the registry with `reason` and waits until it has exited.
    pub async fn stop(&self, reason: ExitReason) -> Result<(), CallError> {
        self.server.stop(reason).await
    }
}

// === impl RegistryServer ===

/// The server behind a [`Registry`].
struct RegistryServer {
    /// Where buckets are started and with which restart type.
    options: RegistryOptions,
    /// Bucket names to buckets.
    names: HashMap<String, Bucket>,
    /// The monitor on each bucket, to find its name when it goes down.
    refs: HashMap<MonitorRef, String>,
}

/// A request to the registry, with where its typed answer goes.
enum RegistryCall {
    Lookup(String, ReplyTo<Option<Bucket>>),
    Names(ReplyTo<BTreeMap<String, Pid>>),
    Count(ReplyTo<usize>),
}

enum RegistryCast {
    Create(String),
}

impl RegistryServer {
    fn new(options: RegistryOptions) -> Self {
        Self {
            options,
            names: HashMap::new(),
            refs: HashMap::new(),
        }
    }

    /// Starts a bucket where the options say; `None` if that is not possible now.
    async fn start_bucket(&self, ctx: &Context) -> Option<Bucket> {
        match &self.options.buckets {
            BucketHome::Linked => Bucket::start_link(ctx).await.ok(),
            BucketHome::Named(name) => {
                let node = ctx.node();
                let supervisor = DynamicSupervisor::whereis(&node, name)?;
                self.start_bucket_on(&supervisor, &node).await
            }
            BucketHome::Supervisor(supervisor) => {
                self.start_bucket_on(supervisor, &ctx.node()).await
            }
        }
    }

    async fn start_bucket_on(&self, supervisor: &DynamicSupervisor, node: &Node) -> Option<Bucket> {
        let spec = Bucket::child_spec().restart(self.options.bucket_restart);
        match supervisor.start_child(spec).await {
            Ok(Started::Pid(pid)) => Bucket::from_pid(node, pid),
            Ok(Started::Ignore) | Err(_) => None,
        }
    }
}

impl Server for RegistryServer {
    type Call = RegistryCall;
    type Reply = ();
    type Cast = RegistryCast;
    type Info = ();
    type Continue = ();

    fn label(&self) -> Arc<str> {
        REGISTRY.into()
    }

    async fn handle_call(&mut self, request: RegistryCall, _ctx: &mut ServerContext<Self>) {
        match request {
            RegistryCall::Lookup(name, reply) => {
                reply.reply(self.names.get(&name).cloned()).ok();
            }
            RegistryCall::Names(reply) => {
                let names = self.names.iter();
                let names = names.map(|(name, bucket)| (name.clone(), bucket.pid()));
                reply.reply(names.collect()).ok();
            }
            RegistryCall::Count(reply) => {
                reply.reply(self.names.len()).ok();
            }
        }
    }

    async fn handle_cast(&mut self, message: RegistryCast, ctx: &mut ServerContext<Self>) {
        let RegistryCast::Create(name) = message;
        if self.names.contains_key(&name) {
            return;
        }
        let Some(bucket) = self.start_bucket(ctx.context()).await else {
            return;
        };
        let monitor = ctx.monitor(bucket.pid());
        self.refs.insert(monitor, name.clone());
        self.names.insert(name, bucket);
    }

    async fn handle_info(&mut self, message: Message<()>, _ctx: &mut ServerContext<Self>) {
        let Message::Down(down) = message else {
            return;
        };
        let Some(name) = self.refs.remove(&down.monitor) else {
            return;
        };
        if self
            .names
            .get(&name)
            .is_some_and(|bucket| bucket.pid() == down.pid)
        {
            self.names.remove(&name);
        }
    }

    fn describe(&self) -> StateReport {
        let mut rows: StateReport = self
            .names
            .iter()
            .map(|(name, bucket)| (name.clone(), bucket.pid().to_string()))
            .collect();
        rows.sort_unstable();
        rows
    }
}
