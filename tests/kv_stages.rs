//! The chapter's designs, one by one: each flawed stage's flaw reproduced, and the final
//! design surviving the same faults with no orphans and no leaks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kv_support;
#[path = "../crates/runtime/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;

use otpscope::demo::kv::registry::{Registry, RegistryOptions};
use otpscope::demo::kv::{self, BUCKET, BUCKET_SUPERVISOR, REGISTRY, SUPERVISOR, Stage};
use otpscope::runtime::*;

use kv_support::*;
use support::*;

const NAMES: [&str; 3] = ["shopping", "work", "travel"];

/// Creates every name in `NAMES` and gives their pids, in order.
async fn create_all(registry: &Registry) -> Vec<Pid> {
    let mut pids = Vec::new();
    for name in NAMES {
        pids.push(create(registry, name).await.pid());
    }
    pids
}

/// Watches each of `pids`; call before the fault, so no exit is missed.
fn watch_all(node: &Node, pids: &[Pid]) -> Vec<(Pid, Watch)> {
    pids.iter().map(|pid| (*pid, node.watch(*pid))).collect()
}

async fn assert_no_names(registry: &Registry) {
    for name in NAMES {
        assert!(registry.lookup(name).await.unwrap().is_none(), "{name}");
    }
    assert!(registry.names().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_starts_serves_and_stops_cleanly() {
    for stage in Stage::ALL {
        let node = Node::new(&format!("kv_{stage}"));
        let app = kv::start(&node, stage).await.unwrap();
        assert_eq!(app.stage(), stage);
        assert_eq!(node.whereis(SUPERVISOR), Some(app.supervisor().pid()));
        assert_eq!(app.bucket_supervisor().is_some(), stage != Stage::Linked);
        let bucket = create(&registry(&app), "shopping").await;
        bucket.put("milk", "1").await.unwrap();
        assert_eq!(bucket.get("milk").await.unwrap(), Some("1".to_owned()));
        app.supervisor().stop(ExitReason::Shutdown).await.unwrap();
        assert!(!bucket.is_alive(), "{stage}");
        wait_until("every process stopped", || node.process_count() == 0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_tree_is_introspectable() {
    let node = Node::new("kv_final");
    let app = kv::start(&node, Stage::Final).await.unwrap();
    let registry = registry(&app);
    let supervisor = bucket_supervisor(&app);
    let bucket = create(&registry, "shopping").await;

    let top = node.process_info(app.supervisor().pid()).unwrap();
    assert_eq!(top.children, vec![supervisor.pid(), registry.pid()]);
    assert_eq!(top.name.as_deref(), Some(SUPERVISOR));
    assert_eq!(&*top.label, SUPERVISOR);
    assert_eq!(top.parent, None);
    assert!(matches!(
        top.kind,
        ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            ..
        }
    ));

    let info = node.process_info(supervisor.pid()).unwrap();
    assert_eq!(info.name.as_deref(), Some(BUCKET_SUPERVISOR));
    assert_eq!(&*info.label, BUCKET_SUPERVISOR);
    assert_eq!(info.parent, Some(app.supervisor().pid()));
    assert_eq!(info.child_id.as_deref(), Some(BUCKET_SUPERVISOR));
    assert_eq!(info.restart, Some(Restart::Permanent));
    assert_eq!(info.children, vec![bucket.pid()]);
    assert!(matches!(info.kind, ProcessKind::DynamicSupervisor { .. }));

    let info = node.process_info(registry.pid()).unwrap();
    assert_eq!(info.name.as_deref(), Some(REGISTRY));
    assert_eq!(&*info.label, REGISTRY);
    assert_eq!(info.parent, Some(app.supervisor().pid()));
    assert_eq!(info.child_id.as_deref(), Some(REGISTRY));
    assert_eq!(info.restart, Some(Restart::Permanent));
    assert!(info.children.is_empty());

    let info = node.process_info(bucket.pid()).unwrap();
    assert_eq!(info.name, None);
    assert_eq!(&*info.label, BUCKET);
    assert_eq!(info.parent, Some(supervisor.pid()));
    assert_eq!(info.child_id.as_deref(), Some(BUCKET));
    assert_eq!(info.restart, Some(Restart::Temporary));
    assert_eq!(info.kind, ProcessKind::Agent);
    assert!(unsupervised(&node, app.supervisor().pid()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_registry_crash_shuts_down_every_bucket_and_restarts_both() {
    let node = Node::new("kv_final");
    let app = kv::start(&node, Stage::Final).await.unwrap();
    let old_registry = registry(&app);
    let old_supervisor = bucket_supervisor(&app);
    let buckets = create_all(&old_registry).await;
    let watches = watch_all(&node, &buckets);
    let registry_watch = node.watch(old_registry.pid());
    let supervisor_watch = node.watch(old_supervisor.pid());

    node.exit(old_registry.pid(), ExitReason::Kill).unwrap();

    assert_eq!(
        within("registry exit", registry_watch).await,
        ExitReason::Killed
    );
    for (pid, watch) in watches {
        assert_eq!(
            within("bucket exit", watch).await,
            ExitReason::Shutdown,
            "{pid}"
        );
    }
    assert_eq!(
        within("bucket supervisor exit", supervisor_watch).await,
        ExitReason::Shutdown
    );
    let new_registry = wait_reregistered(&node, REGISTRY, old_registry.pid()).await;
    let new_supervisor = node.whereis(BUCKET_SUPERVISOR).unwrap();
    assert_ne!(new_supervisor, old_supervisor.pid());
    let registry = registry(&app);
    let supervisor = bucket_supervisor(&app);
    assert_eq!(
        (registry.pid(), supervisor.pid()),
        (new_registry, new_supervisor)
    );
    let children = node.process_info(app.supervisor().pid()).unwrap().children;
    assert_eq!(children, vec![new_supervisor, new_registry]);
    assert_eq!(node.process_info(new_supervisor).unwrap().restarts, 1);
    assert_eq!(node.process_info(new_registry).unwrap().restarts, 1);
    assert_no_names(&registry).await;
    assert_eq!(supervisor.count_children().await.unwrap().active, 0);

    // The app works again.
    let bucket = create(&registry, "shopping").await;
    bucket.put("eggs", "3").await.unwrap();
    let found = registry.lookup("shopping").await.unwrap().unwrap();
    assert_eq!(found.get("eggs").await.unwrap(), Some("3".to_owned()));
    assert_eq!(
        node.process_info(bucket.pid()).unwrap().parent,
        Some(new_supervisor)
    );
    assert!(unsupervised(&node, app.supervisor().pid()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_faults_leave_no_orphans_and_no_leaks() {
    let node = Node::new("kv_final");
    let app = kv::start(&node, Stage::Final).await.unwrap();
    let top = app.supervisor().pid();

    // A killed bucket: forgotten and not restarted.
    let registry = registry(&app);
    let supervisor = bucket_supervisor(&app);
    let buckets = create_all(&registry).await;
    let watch = node.watch(buckets[0]);
    node.exit(buckets[0], ExitReason::Kill).unwrap();
    assert_eq!(within("bucket exit", watch).await, ExitReason::Killed);
    wait_forgotten(&registry, NAMES[0]).await;
    wait_settled(&node, &registry, &supervisor).await;
    assert_eq!(registry.names().await.unwrap().len(), 2);
    assert_eq!(supervisor.count_children().await.unwrap().active, 2);
    assert!(unsupervised(&node, top).is_empty());

    // A killed registry: every bucket goes with it.
    let watches = watch_all(&node, &buckets[1..]);
    node.exit(registry.pid(), ExitReason::Kill).unwrap();
    for (pid, watch) in watches {
        assert_eq!(
            within("bucket exit", watch).await,
            ExitReason::Shutdown,
            "{pid}"
        );
    }
    wait_reregistered(&node, REGISTRY, registry.pid()).await;
    let registry = app.registry().unwrap();
    let supervisor = bucket_supervisor(&app);
    wait_settled(&node, &registry, &supervisor).await;
    assert_eq!(supervisor.count_children().await.unwrap().active, 0);
    assert!(unsupervised(&node, top).is_empty());

    // A killed bucket supervisor: its buckets die, and the registry restarts with it.
    let buckets = create_all(&registry).await;
    let watches = watch_all(&node, &buckets);
    let supervisor_watch = node.watch(supervisor.pid());
    let registry_watch = node.watch(registry.pid());
    node.exit(supervisor.pid(), ExitReason::Kill).unwrap();
    let reason = within("bucket supervisor exit", supervisor_watch).await;
    assert_eq!(reason, ExitReason::Killed);
    for (pid, watch) in watches {
        assert_eq!(
            within("bucket exit", watch).await,
            ExitReason::Killed,
            "{pid}"
        );
    }
    let reason = within("registry exit", registry_watch).await;
    assert_eq!(reason, ExitReason::Shutdown);
    wait_reregistered(&node, REGISTRY, registry.pid()).await;
    let registry = app.registry().unwrap();
    let supervisor = bucket_supervisor(&app);
    wait_settled(&node, &registry, &supervisor).await;
    assert_no_names(&registry).await;
    assert_eq!(supervisor.count_children().await.unwrap().active, 0);
    create(&registry, "shopping").await;
    wait_settled(&node, &registry, &supervisor).await;
    assert!(unsupervised(&node, top).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_bucket_crash_kills_the_registry_and_every_name() {
    let node = Node::new("kv_linked");
    let app = kv::start(&node, Stage::Linked).await.unwrap();
    assert!(app.bucket_supervisor().is_none());
    let old_registry = registry(&app);
    let buckets = create_all(&old_registry).await;
    for pid in &buckets {
        let info = node.process_info(*pid).unwrap();
        assert_eq!(info.parent, Some(old_registry.pid()));
        assert!(info.links.contains(&old_registry.pid()));
    }
    let watches = watch_all(&node, &buckets);
    let registry_watch = node.watch(old_registry.pid());

    node.exit(buckets[0], ExitReason::Kill).unwrap();

    assert_eq!(
        within("registry exit", registry_watch).await,
        ExitReason::Killed
    );
    for (pid, watch) in watches {
        assert_eq!(
            within("bucket exit", watch).await,
            ExitReason::Killed,
            "{pid}"
        );
    }
    wait_reregistered(&node, REGISTRY, old_registry.pid()).await;
    let registry = registry(&app);
    assert_no_names(&registry).await;
    let top = node.process_info(app.supervisor().pid()).unwrap();
    assert_eq!(top.children, vec![registry.pid()]);
    assert_eq!(node.process_count(), 2);
}

/// The chapter's failing "removes bucket on crash" test, against the linked design: the
/// lookup after `Agent.stop(bucket, :shutdown)` finds no registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_registry_dies_when_a_bucket_stops_with_shutdown() {
    let node = Node::new("kv_linked");
    let registry = Registry::start(&node, RegistryOptions::linked())
        .await
        .unwrap();
    let bucket = create(&registry, "shopping").await;
    let watch = node.watch(registry.pid());
    bucket.stop(ExitReason::Shutdown).await.unwrap();
    assert_eq!(within("registry exit", watch).await, ExitReason::Shutdown);
    assert_eq!(
        registry
            .lookup("shopping")
            .await
            .map(|b| b.map(|b| b.pid())),
        Err(CallError::NoProc(registry.pid()))
    );
}

/// A bucket that stops with `normal` sends its linked registry an exit signal it ignores:
/// the registry survives and forgets the name on the DOWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_registry_survives_a_normal_bucket_stop() {
    let node = Node::new("kv_linked");
    let registry = Registry::start(&node, RegistryOptions::linked())
        .await
        .unwrap();
    let shopping = create(&registry, "shopping").await;
    let work = create(&registry, "work").await;
    shopping.stop(ExitReason::Normal).await.unwrap();
    wait_forgotten(&registry, "shopping").await;
    assert!(registry.is_alive());
    let names: Vec<(String, Pid)> = registry.names().await.unwrap().into_iter().collect();
    assert_eq!(names, vec![("work".to_owned(), work.pid())]);
    assert_eq!(
        node.process_info(registry.pid()).unwrap().children,
        vec![work.pid()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_restarted_bucket_leaks() {
    let node = Node::new("kv_permanent");
    let app = kv::start(&node, Stage::Permanent).await.unwrap();
    let registry = registry(&app);
    let supervisor = bucket_supervisor(&app);
    let top = node.process_info(app.supervisor().pid()).unwrap();
    assert_eq!(top.children, vec![registry.pid(), supervisor.pid()]);
    let buckets = create_all(&registry).await;
    assert_eq!(
        node.process_info(buckets[0]).unwrap().restart,
        Some(Restart::Permanent)
    );

    let watch = node.watch(buckets[0]);
    node.exit(buckets[0], ExitReason::Kill).unwrap();
    assert_eq!(within("bucket exit", watch).await, ExitReason::Killed);
    wait_forgotten(&registry, NAMES[0]).await;
    wait_until_async("the bucket is restarted", || async {
        supervisor.count_children().await.unwrap().active == 3
    })
    .await;

    let names = registry.names().await.unwrap();
    let counts = supervisor.count_children().await.unwrap();
    assert_eq!(counts.active, names.len() + 1);
    let known: BTreeSet<Pid> = names.values().copied().collect();
    let running: BTreeSet<Pid> = supervisor
        .which_children()
        .await
        .unwrap()
        .iter()
        .filter_map(|child| child.pid.pid())
        .collect();
    let leaked: Vec<Pid> = running.difference(&known).copied().collect();
    assert_eq!(leaked.len(), 1);
    assert!(!buckets.contains(&leaked[0]));
    let info = node.process_info(leaked[0]).unwrap();
    assert_eq!((info.parent, info.restarts), (Some(supervisor.pid()), 1));
    assert_eq!(registry.pid(), app.registry().unwrap().pid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_one_registry_crash_leaves_orphan_buckets() {
    let node = Node::new("kv_one_for_one");
    let app = kv::start(&node, Stage::OneForOne).await.unwrap();
    let old_registry = registry(&app);
    let supervisor = bucket_supervisor(&app);
    let buckets = create_all(&old_registry).await;
    let registry_watch = node.watch(old_registry.pid());

    node.exit(old_registry.pid(), ExitReason::Kill).unwrap();
    assert_eq!(
        within("registry exit", registry_watch).await,
        ExitReason::Killed
    );
    wait_reregistered(&node, REGISTRY, old_registry.pid()).await;

    let registry = registry(&app);
    assert_no_names(&registry).await;
    assert_eq!(bucket_supervisor(&app).pid(), supervisor.pid());
    assert_eq!(
        supervisor.count_children().await.unwrap().active,
        NAMES.len()
    );
    for pid in &buckets {
        assert!(node.is_alive(*pid), "{pid} is an orphan, still running");
        assert_eq!(
            node.process_info(*pid).unwrap().parent,
            Some(supervisor.pid())
        );
    }
    let top = node.process_info(app.supervisor().pid()).unwrap();
    assert_eq!(top.children, vec![registry.pid(), supervisor.pid()]);
    // The new registry starts a second "shopping" beside the orphan.
    let shopping = create(&registry, NAMES[0]).await;
    assert_ne!(shopping.pid(), buckets[0]);
    let active = supervisor.count_children().await.unwrap().active;
    assert_eq!(active, registry.names().await.unwrap().len() + NAMES.len());
}

/// The ordering flaw: the registry starts before the bucket supervisor it calls. A create
/// that reaches it while no bucket supervisor runs (held open here with terminate_child) is
/// dropped; the registry survives and the lookup finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_one_create_without_a_bucket_supervisor_is_dropped() {
    let node = Node::new("kv_one_for_one");
    let app = kv::start(&node, Stage::OneForOne).await.unwrap();
    let registry = registry(&app);
    let supervisor = bucket_supervisor(&app);
    assert!(
        registry.pid() < supervisor.pid(),
        "the registry starts first"
    );

    app.supervisor()
        .terminate_child(BUCKET_SUPERVISOR)
        .await
        .unwrap();
    assert!(app.bucket_supervisor().is_none());
    registry.create("shopping").unwrap();
    assert!(registry.lookup("shopping").await.unwrap().is_none());
    assert!(registry.names().await.unwrap().is_empty());
    assert_eq!(app.registry().unwrap().pid(), registry.pid());

    app.supervisor()
        .restart_child(BUCKET_SUPERVISOR)
        .await
        .unwrap();
    let bucket = create(&registry, "shopping").await;
    let supervisor = bucket_supervisor(&app);
    assert_eq!(
        node.process_info(bucket.pid()).unwrap().parent,
        Some(supervisor.pid())
    );
}
