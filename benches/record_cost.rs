//! What recording costs the node it records (issue 14): a node of 100,000 idle processes and
//! a counting server; batches of 100,000 casts to the server alternate between no recorder
//! and a [`Recorder`] writing the node to a file (src/record.rs: its own stream of the node
//! every 100 ms, deltas and events compressed into chunks a second at most, keyframes as the
//! node changes), window by window (a window is [`BATCHES`] batches), so the machine's drift
//! hits both alike. Starting and stopping a recording (a read of every process, then freeing
//! that model) disturbs the next batch, so each window's first batch is left out, on both
//! sides.
//!
//! `cargo bench --bench record_cost -- --warm-up-time 1 --measurement-time 5`
//!
//! Target (issue 14): recording costs the node at most 3 % of its throughput at 100,000
//! processes. Starting a recording (the node's first read of every process, the first
//! keyframe) is left out of the timed batches: it is paid once, not while the node runs.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otpscope::contract::Capabilities;
use otpscope::record::Recorder;
use otpscope::runtime::{Node, ServerRef};
use tokio::runtime::Runtime;

use common::{Counter, cast_batch, idle_children, runtime_and_node};

/// Processes on the node besides the counter.
const PROCESSES: usize = 100_000;
/// Casts per timed batch.
const CASTS: u64 = 100_000;
/// Pairs of windows.
const ROUNDS: usize = 8;
/// Batches in a window.
const BATCHES: usize = 21;
/// How long a new recording runs before its batch: its first keyframe read, encoded and
/// written in its first chunk (the sink writes a chunk a second at most).
const SETTLE: Duration = Duration::from_millis(1_300);

/// Starts recording `node` to `path` and lets its start pass, untimed.
fn start_recording(runtime: &Runtime, node: &Node, path: &Path) -> Recorder {
    let recorder = {
        let _entered = runtime.enter();
        Recorder::start(node, path, "bench", Capabilities::default()).unwrap()
    };
    std::thread::sleep(SETTLE);
    recorder
}

/// Stops a recording and waits until the node has no observer left, untimed.
fn stop_recording(runtime: &Runtime, node: &Node, recorder: Recorder) {
    runtime.block_on(async {
        let recorded = recorder.stop().await.unwrap();
        assert!(recorded.frames > 0);
        while node.introspect().is_tracking_changes() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

fn median(batches: &mut [Duration]) -> Duration {
    batches.sort();
    batches[batches.len() / 2]
}

fn recording_cost(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let counter = runtime.block_on(async {
        idle_children(&node, PROCESSES - 1).await;
        ServerRef::start(&node, Counter { casts: 0 }, Default::default())
            .await
            .unwrap()
    });
    let dir = std::env::temp_dir().join(format!("otpscope-record-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.rec");

    let (mut alone, mut recorded) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        cast_batch(&runtime, &counter, CASTS);
    }
    let window = |runtime: &Runtime| -> Vec<Duration> {
        let mut batches: Vec<Duration> = (0..BATCHES)
            .map(|_| cast_batch(runtime, &counter, CASTS))
            .collect();
        batches.remove(0);
        batches
    };
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let (mut round_alone, mut round_recorded) = (Vec::new(), Vec::new());
        for recording in [round % 2 == 0, round % 2 != 0] {
            if recording {
                let recorder = start_recording(&runtime, &node, &path);
                round_recorded = window(&runtime);
                stop_recording(&runtime, &node, recorder);
            } else {
                std::thread::sleep(SETTLE);
                round_alone = window(&runtime);
            }
        }
        ratios.push(
            median(&mut round_recorded).as_secs_f64() / median(&mut round_alone).as_secs_f64(),
        );
        alone.extend(round_alone);
        recorded.extend(round_recorded);
    }
    let (base, with) = (median(&mut alone), median(&mut recorded));
    ratios.sort_by(f64::total_cmp);
    let rounds: Vec<String> = ratios
        .iter()
        .map(|r| format!("{:+.1}%", (r - 1.0) * 100.0))
        .collect();
    println!(
        "record/paired: {CASTS} casts on a node of {} processes, median not recorded {base:?}, \
         recorded {with:?}, cost {:+.1}% ({ROUNDS} pairs of {} batches; each pair, sorted: {})",
        PROCESSES + 1,
        (with.as_secs_f64() / base.as_secs_f64() - 1.0) * 100.0,
        BATCHES - 1,
        rounds.join(", ")
    );

    let mut group = c.benchmark_group("record_casts");
    group.throughput(Throughput::Elements(CASTS));
    group.sample_size(30);
    group.bench_function("not_recorded", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| cast_batch(&runtime, &counter, CASTS))
                .sum()
        })
    });
    let recorder = start_recording(&runtime, &node, &path);
    group.bench_function("recorded", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| cast_batch(&runtime, &counter, CASTS))
                .sum()
        })
    });
    group.finish();
    stop_recording(&runtime, &node, recorder);
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, recording_cost);
criterion_main!(benches);
