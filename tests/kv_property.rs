//! A property test of the final design: after any sequence of creates, puts, stops and kills,
//! the registry, the bucket supervisor and the process table agree, and surviving buckets
//! hold exactly what was put into them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kv_support;
#[path = "../crates/runtime/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};

use otpscope::demo::kv::bucket::Bucket;
use otpscope::demo::kv::{self, KvApp, REGISTRY, Stage};
use otpscope::runtime::{ExitReason, Node, Pid, Watch};
use proptest::prelude::*;

use kv_support::*;
use support::*;

const NAMES: [&str; 3] = ["shopping", "work", "travel"];
const KEYS: [&str; 3] = ["milk", "eggs", "bread"];
const VALUES: [&str; 3] = ["1", "2", "3"];
/// At most this many registry kills per sequence, within KV.Supervisor's intensity (3 in 5 s).
const MAX_REGISTRY_KILLS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    Create(usize),
    Put(usize, usize, usize),
    Stop(usize, ExitReason),
    Kill(usize),
    KillRegistry,
}

fn op() -> impl Strategy<Value = Op> {
    let reason = prop_oneof![
        Just(ExitReason::Normal),
        Just(ExitReason::Shutdown),
        Just(ExitReason::custom("boom")),
    ];
    prop_oneof![
        4 => (0..NAMES.len()).prop_map(Op::Create),
        4 => (0..NAMES.len(), 0..KEYS.len(), 0..VALUES.len())
            .prop_map(|(name, key, value)| Op::Put(name, key, value)),
        2 => (0..NAMES.len(), reason).prop_map(|(name, reason)| Op::Stop(name, reason)),
        2 => (0..NAMES.len()).prop_map(Op::Kill),
        1 => Just(Op::KillRegistry),
    ]
}

/// What the test expects a live bucket to be.
struct Expected {
    bucket: Bucket,
    values: BTreeMap<String, String>,
}

/// Runs one sequence against a fresh node and checks the invariants once it settles.
async fn run(ops: Vec<Op>) {
    let node = Node::new("kv_property");
    let app = kv::start(&node, Stage::Final).await.unwrap();
    let mut model: HashMap<&str, Expected> = HashMap::new();
    let mut registry_kills = 0;
    for op in ops {
        let registry = registry(&app);
        match op {
            Op::Create(name) => {
                let name = NAMES[name];
                let bucket = create(&registry, name).await;
                if let Some(expected) = model.get(name) {
                    assert_eq!(bucket.pid(), expected.bucket.pid(), "create {name} again");
                } else {
                    let values = BTreeMap::new();
                    model.insert(name, Expected { bucket, values });
                }
            }
            Op::Put(name, key, value) => {
                let (name, key, value) = (NAMES[name], KEYS[key], VALUES[value]);
                let found = registry.lookup(name).await.unwrap();
                assert_eq!(
                    found.as_ref().map(Bucket::pid),
                    model.get(name).map(|expected| expected.bucket.pid())
                );
                if let (Some(bucket), Some(expected)) = (found, model.get_mut(name)) {
                    bucket.put(key, value).await.unwrap();
                    expected.values.insert(key.to_owned(), value.to_owned());
                }
            }
            Op::Stop(name, reason) => {
                let name = NAMES[name];
                if let Some(expected) = model.remove(name) {
                    let watch = node.watch(expected.bucket.pid());
                    expected.bucket.stop(reason.clone()).await.unwrap();
                    assert_eq!(within("bucket stop", watch).await, reason);
                    wait_forgotten(&registry, name).await;
                }
            }
            Op::Kill(name) => {
                let name = NAMES[name];
                if let Some(expected) = model.remove(name) {
                    let pid = expected.bucket.pid();
                    let watch = node.watch(pid);
                    node.exit(pid, ExitReason::Kill).unwrap();
                    assert_eq!(within("bucket kill", watch).await, ExitReason::Killed);
                    wait_forgotten(&registry, name).await;
                }
            }
            Op::KillRegistry => {
                if registry_kills == MAX_REGISTRY_KILLS {
                    continue;
                }
                registry_kills += 1;
                let watches: Vec<(Pid, Watch)> = model
                    .values()
                    .map(|expected| (expected.bucket.pid(), node.watch(expected.bucket.pid())))
                    .collect();
                node.exit(registry.pid(), ExitReason::Kill).unwrap();
                for (pid, watch) in watches {
                    let reason = within("bucket shutdown", watch).await;
                    assert_eq!(reason, ExitReason::Shutdown, "{pid}");
                }
                model.clear();
                wait_reregistered(&node, REGISTRY, registry.pid()).await;
            }
        }
    }
    check(&node, &app, &model).await;
    app.supervisor().stop(ExitReason::Shutdown).await.unwrap();
    wait_until("every process stopped", || node.process_count() == 0).await;
}

/// The invariants, once the registry and the bucket supervisor have settled.
async fn check(node: &Node, app: &KvApp, model: &HashMap<&str, Expected>) {
    let registry = registry(app);
    let supervisor = bucket_supervisor(app);
    wait_settled(node, &registry, &supervisor).await;
    let names = registry.names().await.unwrap();
    let expected: BTreeMap<String, Pid> = model
        .iter()
        .map(|(name, expected)| ((*name).to_owned(), expected.bucket.pid()))
        .collect();
    assert_eq!(names, expected);
    for pid in names.values() {
        assert!(node.is_alive(*pid), "{pid} is alive");
    }
    let counts = supervisor.count_children().await.unwrap();
    assert_eq!(counts.active, names.len());
    let outside = unsupervised(node, app.supervisor().pid());
    assert!(
        outside.is_empty(),
        "processes nobody supervises: {outside:?}"
    );
    for (name, expected) in model {
        let entries: BTreeMap<String, String> = expected
            .bucket
            .entries()
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(entries, expected.values, "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn final_design_keeps_registry_supervisor_and_tree_in_agreement(
        ops in prop::collection::vec(op(), 1..24)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(ops));
    }
}
