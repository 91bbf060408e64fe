//! Helpers for the KV app's tests: isolated registries, settling after a fault, and the
//! "no process outside the supervision tree" check.

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet};

use otpscope::demo::kv::bucket::Bucket;
use otpscope::demo::kv::registry::{Registry, RegistryOptions};
use otpscope::demo::kv::{BUCKET_SUPERVISOR, KvApp, REGISTRY};
use otpscope::runtime::{
    DynamicSupervisor, DynamicSupervisorFlags, EventKind, Node, Pid, ProcessInfo, SpawnOptions,
};

use crate::support::{wait_until, wait_until_async};

/// The chapter's per-test setup: a bucket supervisor and a registry of this test's own,
/// unnamed, started from the node.
pub async fn isolated(node: &Node) -> (DynamicSupervisor, Registry) {
    let supervisor = DynamicSupervisor::start(
        node,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new().label(BUCKET_SUPERVISOR),
    )
    .await
    .unwrap();
    let registry = Registry::start(node, RegistryOptions::isolated(supervisor.clone()))
        .await
        .unwrap();
    (supervisor, registry)
}

/// Creates `name` and looks it up: the create is a cast, but the lookup queued behind it
/// from the same sender sees its result.
pub async fn create(registry: &Registry, name: &str) -> Bucket {
    registry.create(name).unwrap();
    match registry.lookup(name).await.unwrap() {
        Some(bucket) => bucket,
        None => panic!("{name} was not created"),
    }
}

/// Waits until `registry` no longer knows `name`.
pub async fn wait_forgotten(registry: &Registry, name: &str) {
    wait_until_async(&format!("{REGISTRY} forgets {name}"), || async {
        registry.lookup(name).await.unwrap().is_none()
    })
    .await;
}

/// Waits until `name` is registered to a new pid whose restart its supervisor has finished
/// (its `Restarted` event is in the feed: the supervisor has recorded the new child and put it
/// back in its place among its siblings); returns that pid. The name alone is not enough: a
/// restarted child registers it as it starts, before its supervisor has recorded it.
pub async fn wait_reregistered(node: &Node, name: &str, old: Pid) -> Pid {
    wait_until(&format!("{name} restarted and registered again"), || {
        node.whereis(name)
            .is_some_and(|pid| pid != old && restarted_as(node, pid))
    })
    .await;
    node.whereis(name).unwrap()
}

/// Whether the feed says a supervisor restarted a child as `pid`.
fn restarted_as(node: &Node, pid: Pid) -> bool {
    node.introspect()
        .events_since(0, usize::MAX)
        .events
        .iter()
        .any(|event| matches!(event.kind, EventKind::Restarted { new, .. } if new == pid))
}

/// The app's registry now; panics if none is registered.
pub fn registry(app: &KvApp) -> Registry {
    app.registry().expect("KV.Registry is registered")
}

/// The app's bucket supervisor now; panics if none is registered.
pub fn bucket_supervisor(app: &KvApp) -> DynamicSupervisor {
    app.bucket_supervisor()
        .expect("KV.BucketSupervisor is registered")
}

/// Live processes that are neither `root` nor reachable from it through supervisors'
/// children: processes nobody supervises. Also checks that every child names its parent.
pub fn unsupervised(node: &Node, root: Pid) -> Vec<ProcessInfo> {
    let processes: HashMap<Pid, ProcessInfo> = node
        .processes()
        .into_iter()
        .map(|info| (info.pid, info))
        .collect();
    let mut known = HashSet::from([root]);
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        let Some(info) = processes.get(&pid) else {
            continue;
        };
        if !info.kind.is_supervisor() {
            continue;
        }
        for child in &info.children {
            if let Some(child_info) = processes.get(child) {
                assert_eq!(child_info.parent, Some(pid), "{child}'s parent");
                if known.insert(*child) {
                    stack.push(*child);
                }
            }
        }
    }
    let mut outside: Vec<ProcessInfo> = processes
        .into_values()
        .filter(|info| !known.contains(&info.pid))
        .collect();
    outside.sort_unstable_by_key(|info| info.pid);
    outside
}

/// Waits until the registry's names and the bucket supervisor's active children agree, and
/// every named bucket is alive.
pub async fn wait_settled(node: &Node, registry: &Registry, supervisor: &DynamicSupervisor) {
    wait_until_async("registry and bucket supervisor agree", || async {
        let names = registry.names().await.unwrap();
        let active = supervisor.count_children().await.unwrap().active;
        active == names.len() && names.values().all(|pid| node.is_alive(*pid))
    })
    .await;
}
