//! The KV console's "Create N buckets" as an observer's command (issue 15): it casts the
//! creates in chunks, reports after each chunk how many buckets it has created, each report
//! made once that many buckets run under `KV.BucketSupervisor`, and answers only once every
//! one of them runs. Checked against the node itself: its bucket supervisor's children at
//! each report and at the reply.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use otpscope::contract::{Command, Progress, Reply};
use otpscope::demo::kv::control::{self, CREATE_CHUNK, CREATED, KvControl};
use otpscope::demo::kv::{self, BUCKET_SUPERVISOR, Stage};
use otpscope::runtime::{DynamicSupervisor, Node};
use otpscope::snapshot::ProgressReporter;

/// How long a creation may take here (a debug build on a loaded machine).
const DEADLINE: Duration = Duration::from_secs(120);

/// What the reporter saw at one report: the report, and how many children the bucket
/// supervisor had then.
type Seen = (Progress, usize);

/// A node running the final KV app, and a reporter that notes, at each report, how many
/// buckets run at that moment.
async fn kv_node_and_reporter() -> (Node, ProgressReporter, Arc<Mutex<Vec<Seen>>>) {
    let node = Node::new("kv_create_buckets");
    kv::start(&node, Stage::Final).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reporter = {
        let (node, seen) = (node.clone(), seen.clone());
        ProgressReporter::new(move |progress| {
            let running = bucket_count(&node);
            seen.lock().unwrap().push((progress, running));
        })
    };
    (node, reporter, seen)
}

/// How many children `KV.BucketSupervisor` has now, read from the node at once.
fn bucket_count(node: &Node) -> usize {
    let supervisor = DynamicSupervisor::whereis(node, BUCKET_SUPERVISOR).unwrap();
    node.process_info(supervisor.pid()).unwrap().children.len()
}

fn created(done: u64, total: u64) -> Progress {
    Progress::new(done, total, CREATED)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_buckets_reports_each_chunk_once_its_buckets_run_and_answers_after_the_last() {
    let (node, reporter, seen) = kv_node_and_reporter().await;
    let count = 2 * CREATE_CHUNK + CREATE_CHUNK / 2;
    let kv = KvControl::new(&node);
    tokio::time::timeout(DEADLINE, kv.create_many(count, &reporter))
        .await
        .expect("creates the buckets in time")
        .unwrap();
    // Answered only once every bucket runs.
    assert_eq!(bucket_count(&node), count);
    let total = count as u64;
    let chunk = CREATE_CHUNK as u64;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (created(0, total), 0),
            (created(chunk, total), CREATE_CHUNK),
            (created(2 * chunk, total), 2 * CREATE_CHUNK),
            (created(total, total), count),
        ],
        "each report in order, made once that many buckets run"
    );
    // The buckets are the registry's: the last one is found by its name.
    let last = format!("bucket-{}", count - 1);
    assert!(kv.bucket(&last).await.is_ok(), "{last} is known");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_reports_through_the_control_and_goes_on_from_the_buckets_there_are() {
    let (node, reporter, seen) = kv_node_and_reporter().await;
    let control = control::for_node(&node);
    let shopping = control.execute(control::create_bucket("shopping")).await;
    assert_eq!(shopping, Ok(Reply::Done));
    let count = CREATE_CHUNK + 1;
    let command: Command = control::create_buckets(count as i64);
    let reply = tokio::time::timeout(DEADLINE, control.execute_reporting(command, reporter))
        .await
        .expect("answers in time");
    assert_eq!(reply, Ok(Reply::Done));
    assert_eq!(bucket_count(&node), count + 1, "shopping and the new ones");
    let total = count as u64;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (created(0, total), 1),
            (created(CREATE_CHUNK as u64, total), CREATE_CHUNK + 1),
            (created(total, total), count + 1),
        ]
    );
    // Named on from the one bucket there was: bucket-1 up to bucket-10001.
    let kv = KvControl::new(&node);
    assert!(kv.bucket("bucket-1").await.is_ok());
    assert!(kv.bucket(&format!("bucket-{count}")).await.is_ok());
    assert!(
        kv.bucket("bucket-0").await.is_err(),
        "the count starts at 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_with_no_listener_still_creates_every_bucket_before_it_answers() {
    let node = Node::new("kv_create_buckets_quiet");
    kv::start(&node, Stage::Final).await.unwrap();
    let control = control::for_node(&node);
    let reply = tokio::time::timeout(DEADLINE, control.execute(control::create_buckets(1_000)))
        .await
        .expect("answers in time");
    assert_eq!(reply, Ok(Reply::Done));
    assert_eq!(bucket_count(&node), 1_000);
}
