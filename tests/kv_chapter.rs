//! The chapter's own tests (bucket_test.exs and registry_test.exs), each against a bucket
//! supervisor and a registry of its own, plus its iex session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kv_support;
#[path = "../crates/runtime/tests/support/mod.rs"]
mod support;

use otpscope::demo::kv::bucket::Bucket;
use otpscope::demo::kv::registry::{Registry, RegistryOptions};
use otpscope::demo::kv::{self, BUCKET, BUCKET_SUPERVISOR, REGISTRY, Stage};
use otpscope::runtime::*;

use kv_support::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_stores_values_by_key() {
    let node = Node::new("kv_chapter");
    let (supervisor, _registry) = isolated(&node).await;
    let Started::Pid(pid) = supervisor.start_child(Bucket::child_spec()).await.unwrap() else {
        panic!("a bucket never ignores its start");
    };
    let bucket = Bucket::from_pid(&node, pid).unwrap();
    assert_eq!(bucket.get("milk").await.unwrap(), None);
    bucket.put("milk", "3").await.unwrap();
    assert_eq!(bucket.get("milk").await.unwrap(), Some("3".to_owned()));
    bucket.put("eggs", "12").await.unwrap();
    let rows = vec![
        ("eggs".to_owned(), "12".to_owned()),
        ("milk".to_owned(), "3".to_owned()),
    ];
    assert_eq!(node.introspect().describe(pid).await.unwrap(), Some(rows));
    assert_eq!(bucket.delete("milk").await.unwrap(), Some("3".to_owned()));
    assert_eq!(bucket.delete("milk").await.unwrap(), None);
    assert_eq!(bucket.get("milk").await.unwrap(), None);
    let entries = vec![("eggs".to_owned(), "12".to_owned())];
    assert_eq!(bucket.entries().await.unwrap(), entries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_are_temporary_workers() {
    let spec = Bucket::child_spec();
    assert_eq!(spec.restart, Restart::Temporary);
    assert_eq!(&*spec.id, BUCKET);
    assert_eq!(spec.child_type, ChildType::Worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_spawns_buckets() {
    let node = Node::new("kv_chapter");
    let (supervisor, registry) = isolated(&node).await;
    assert_eq!(
        registry.lookup("shopping").await.unwrap().map(|b| b.pid()),
        None
    );
    registry.create("shopping").unwrap();
    let bucket = registry.lookup("shopping").await.unwrap().unwrap();
    bucket.put("milk", "1").await.unwrap();
    assert_eq!(bucket.get("milk").await.unwrap(), Some("1".to_owned()));
    // Creating a known name again is a no-op.
    registry.create("shopping").unwrap();
    let again = registry.lookup("shopping").await.unwrap().unwrap();
    assert_eq!(again.pid(), bucket.pid());
    let info = node.process_info(bucket.pid()).unwrap();
    assert_eq!(info.parent, Some(supervisor.pid()));
    assert_eq!(&*info.label, BUCKET);
    assert_eq!(info.name, None);
    assert_eq!(supervisor.count_children().await.unwrap().active, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_removes_bucket_on_exit() {
    let node = Node::new("kv_chapter");
    let (supervisor, registry) = isolated(&node).await;
    let bucket = create(&registry, "shopping").await;
    let watch = node.watch(bucket.pid());
    bucket.stop(ExitReason::Normal).await.unwrap();
    assert_eq!(within("bucket exit", watch).await, ExitReason::Normal);
    wait_forgotten(&registry, "shopping").await;
    assert!(registry.names().await.unwrap().is_empty());
    wait_settled(&node, &registry, &supervisor).await;
    assert_eq!(supervisor.count_children().await.unwrap().active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_removes_bucket_on_crash() {
    let node = Node::new("kv_chapter");
    let (supervisor, registry) = isolated(&node).await;
    let pid = registry.pid();
    let bucket = create(&registry, "shopping").await;
    let watch = node.watch(bucket.pid());
    // Stop the bucket with a non-normal reason.
    bucket.stop(ExitReason::Shutdown).await.unwrap();
    assert_eq!(within("bucket exit", watch).await, ExitReason::Shutdown);
    wait_forgotten(&registry, "shopping").await;
    assert!(registry.is_alive());
    assert_eq!(registry.pid(), pid);
    assert!(node.is_alive(pid));
    wait_settled(&node, &registry, &supervisor).await;
    assert_eq!(supervisor.count_children().await.unwrap().specs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_removes_bucket_on_kill_and_custom_exit() {
    let node = Node::new("kv_chapter");
    let (supervisor, registry) = isolated(&node).await;
    let killed = create(&registry, "killed").await;
    let crashed = create(&registry, "crashed").await;
    let kept = create(&registry, "kept").await;
    let killed_watch = node.watch(killed.pid());
    let crashed_watch = node.watch(crashed.pid());
    node.exit(killed.pid(), ExitReason::Kill).unwrap();
    assert_eq!(within("kill", killed_watch).await, ExitReason::Killed);
    crashed.stop(ExitReason::custom("boom")).await.unwrap();
    let reason = within("crash", crashed_watch).await;
    assert_eq!(reason, ExitReason::custom("boom"));
    wait_forgotten(&registry, "killed").await;
    wait_forgotten(&registry, "crashed").await;
    let names = registry.names().await.unwrap();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec![("kept".to_owned(), kept.pid())]
    );
    wait_settled(&node, &registry, &supervisor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_registries_share_nothing() {
    let node = Node::new("kv_chapter");
    let (first_supervisor, first) = isolated(&node).await;
    let (second_supervisor, second) = isolated(&node).await;
    let a = create(&first, "shopping").await;
    let b = create(&second, "shopping").await;
    assert_ne!(a.pid(), b.pid());
    assert_eq!(
        node.process_info(a.pid()).unwrap().parent,
        Some(first_supervisor.pid())
    );
    assert_eq!(
        node.process_info(b.pid()).unwrap().parent,
        Some(second_supervisor.pid())
    );
    assert_eq!(first_supervisor.count_children().await.unwrap().active, 1);
    assert_eq!(second_supervisor.count_children().await.unwrap().active, 1);
    a.stop(ExitReason::Shutdown).await.unwrap();
    wait_forgotten(&first, "shopping").await;
    assert_eq!(
        second.lookup("shopping").await.unwrap().map(|b| b.pid()),
        Some(b.pid())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_describes_its_names_and_pids() {
    let node = Node::new("kv_chapter");
    let (_supervisor, registry) = isolated(&node).await;
    let work = create(&registry, "work").await;
    let shopping = create(&registry, "shopping").await;
    let rows = vec![
        ("shopping".to_owned(), shopping.pid().to_string()),
        ("work".to_owned(), work.pid().to_string()),
    ];
    assert_eq!(registry.describe().await.unwrap(), rows);
    assert_eq!(
        node.introspect().describe(registry.pid()).await.unwrap(),
        Some(rows)
    );
    let info = node.process_info(registry.pid()).unwrap();
    assert_eq!(&*info.label, REGISTRY);
    assert_eq!(info.name, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_registry_refuses_a_second_start() {
    let node = Node::new("kv_chapter");
    let (supervisor, _) = isolated(&node).await;
    let options = RegistryOptions::isolated(supervisor).name(REGISTRY);
    let registry = Registry::start(&node, options.clone()).await.unwrap();
    assert_eq!(Registry::whereis(&node).unwrap().pid(), registry.pid());
    let error = Registry::start(&node, options).await.unwrap_err();
    assert_eq!(
        error,
        StartError::NameTaken {
            name: REGISTRY.into(),
            holder: registry.pid()
        }
    );
}

/// The chapter's iex session: start a bucket on `KV.BucketSupervisor` directly, then through
/// the registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iex_session_starts_buckets_on_the_bucket_supervisor() {
    let node = Node::new("kv_chapter");
    let app = kv::start(&node, Stage::Final).await.unwrap();
    let supervisor = bucket_supervisor(&app);
    assert_eq!(node.whereis(BUCKET_SUPERVISOR), Some(supervisor.pid()));
    let Started::Pid(pid) = supervisor.start_child(Bucket::child_spec()).await.unwrap() else {
        panic!("a bucket never ignores its start");
    };
    let bucket = Bucket::from_pid(&node, pid).unwrap();
    bucket.put("eggs", "3").await.unwrap();
    assert_eq!(bucket.get("eggs").await.unwrap(), Some("3".to_owned()));
    let registry = registry(&app);
    registry.create("shopping").unwrap();
    let shopping = registry.lookup("shopping").await.unwrap().unwrap();
    assert_eq!(
        node.process_info(shopping.pid()).unwrap().parent,
        Some(supervisor.pid())
    );
    assert_eq!(supervisor.count_children().await.unwrap().active, 2);
    app.supervisor().stop(ExitReason::Shutdown).await.unwrap();
    wait_until("every process stopped", || node.process_count() == 0).await;
}
