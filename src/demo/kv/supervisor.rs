//! `KV.Supervisor` and `KV.BucketSupervisor`: the app's supervision tree at each [`Stage`].
//!
//! - `linked`: one_for_one over `[KV.Registry]`; buckets hang under the registry, linked.
//! - `permanent`: one_for_one over `[KV.Registry, KV.BucketSupervisor]`, the chapter's first
//!   version, with permanent buckets (the leak).
//! - `one_for_one`: the same tree with temporary buckets. Two flaws remain. *Ordering*: the
//!   registry starts before the bucket supervisor it calls. Here the registry resolves
//!   `KV.BucketSupervisor` by name at each create, so it starts fine, but a create that
//!   reaches it while the bucket supervisor is not running (not yet started, restarting,
//!   terminated) is dropped and its lookup returns none (see [`registry`](super::registry)).
//!   *Orphans*: when the registry dies, its names are lost but the bucket supervisor and its
//!   buckets keep running, reachable by nobody.
//! - `final`: one_for_all over `[KV.BucketSupervisor, KV.Registry]`: the bucket supervisor
//!   starts (and restarts) before the registry, and either one's death restarts both, so the
//!   buckets never outlive the names that reach them.
//!
//! `KV.BucketSupervisor` is a [`DynamicSupervisor`] with Elixir's defaults, registered and
//! labelled `KV.BucketSupervisor`.

use crate::runtime::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorFlags, Node, SpawnOptions, StartError, Strategy,
    Supervisor, SupervisorFlags,
};

use super::registry::{Registry, RegistryOptions};
use super::{BUCKET_SUPERVISOR, SUPERVISOR, Stage};

/// The spec of `KV.BucketSupervisor`: a dynamic supervisor, registered and labelled
/// `KV.BucketSupervisor`, child id `KV.BucketSupervisor`.
pub fn bucket_supervisor_spec() -> ChildSpec {
    DynamicSupervisor::child_spec(
        BUCKET_SUPERVISOR,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new()
            .name(BUCKET_SUPERVISOR)
            .label(BUCKET_SUPERVISOR),
    )
}

/// `KV.Supervisor`'s strategy and intensity at `stage` (Elixir's default intensity).
pub fn flags(stage: Stage) -> SupervisorFlags {
    let strategy = match stage {
        Stage::Linked | Stage::Permanent | Stage::OneForOne => Strategy::OneForOne,
        Stage::Final => Strategy::OneForAll,
    };
    SupervisorFlags::new(strategy)
}

/// `KV.Supervisor`'s children at `stage`, in start order.
pub fn children(stage: Stage) -> Vec<ChildSpec> {
    let registry = Registry::child_spec(RegistryOptions::for_stage(stage));
    match stage {
        Stage::Linked => vec![registry],
        Stage::Permanent | Stage::OneForOne => vec![registry, bucket_supervisor_spec()],
        Stage::Final => vec![bucket_supervisor_spec(), registry],
    }
}

/// The options `KV.Supervisor` starts with: registered and labelled `KV.Supervisor`.
fn spawn_options() -> SpawnOptions {
    SpawnOptions::new().name(SUPERVISOR).label(SUPERVISOR)
}

/// Starts `KV.Supervisor` for `stage` on `node`, unlinked; returns once every child runs.
pub async fn start(node: &Node, stage: Stage) -> Result<Supervisor, StartError> {
    Supervisor::start(node, flags(stage), children(stage), spawn_options()).await
}

/// The spec that starts `KV.Supervisor` for `stage` under another supervisor (id
/// `KV.Supervisor`, shutdown infinity).
pub fn child_spec(stage: Stage) -> ChildSpec {
    Supervisor::child_spec(SUPERVISOR, flags(stage), children(stage), spawn_options())
}
