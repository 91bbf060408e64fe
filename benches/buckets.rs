//! 100,000 and 1,000,000 idle KV buckets under one dynamic supervisor: how long they take to
//! start, how much memory each holds, and how long stopping the supervisor takes.
//!
//! Memory is counted by a `#[global_allocator]` that wraps the system allocator and keeps the
//! bytes live (as requested, without the allocator's own overhead): the bytes live once the
//! buckets run, minus the bytes live before, divided by their number. It is printed and is a
//! measurement, not a timing.
//!
//! `cargo bench --bench buckets -- --warm-up-time 1 --measurement-time 10`
//!
//! Targets (issue 15): 1,000,000 idle buckets start in at most 2 s, hold at most 1 KiB each,
//! and stop in at most 1 s with everything freed.

// A benchmark that cannot set up stops loudly; criterion's macros write undocumented `pub fn`s.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;
mod counting;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use otpscope::runtime::{DynamicSupervisor, ExitReason, Node};
use tokio::runtime::Runtime;

use common::{bucket_spec, bucket_supervisor, runtime_and_node};
use counting::live_bytes;

/// How many buckets, in the two sizes measured.
const SIZES: [(usize, &str); 2] = [(100_000, "100k"), (1_000_000, "1m")];

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Starts `count` buckets under a new dynamic supervisor, one after the other from a task on
/// the runtime; gives the supervisor and how long the starts took.
fn start_buckets(runtime: &Runtime, node: &Node, count: usize) -> (DynamicSupervisor, Duration) {
    let node = node.clone();
    runtime
        .block_on(runtime.spawn(async move {
            let supervisor = bucket_supervisor(&node).await;
            let specs: Vec<_> = (0..count).map(|_| bucket_spec()).collect();
            let started = Instant::now();
            for spec in specs {
                supervisor.start_child(spec).await.unwrap();
            }
            (supervisor, started.elapsed())
        }))
        .unwrap()
}

/// Stops the supervisor and its buckets; gives how long it took.
fn stop_buckets(runtime: &Runtime, supervisor: DynamicSupervisor) -> Duration {
    runtime
        .block_on(runtime.spawn(async move {
            let started = Instant::now();
            supervisor.stop(ExitReason::Shutdown).await.unwrap();
            started.elapsed()
        }))
        .unwrap()
}

/// One untimed round that measures the memory per bucket and checks that stopping frees
/// every process and every byte but `tolerance`.
fn measure_memory(runtime: &Runtime, node: &Node, count: usize, tolerance: isize) {
    let baseline_processes = node.process_count();
    let before = live_bytes();
    let (supervisor, start) = start_buckets(runtime, node, count);
    let during = live_bytes();
    let per_bucket = (during - before) as f64 / count as f64;
    assert_eq!(node.process_count(), baseline_processes + count + 1);
    let stop = stop_buckets(runtime, supervisor);
    let after = live_bytes();
    assert_eq!(node.process_count(), baseline_processes);
    let left = after - before;
    println!(
        "buckets/memory: {per_bucket:.0} bytes live per bucket ({count} buckets: \
         {:.1} MiB); started in {start:?}, stopped in {stop:?}; {left} bytes left after stop",
        (during - before) as f64 / (1 << 20) as f64,
    );
    assert!(
        left.abs() < tolerance,
        "stopping the supervisor frees the buckets ({left} bytes left)"
    );
}

fn buckets(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    // The first round also fills the node's bounded event ring (65,536 events) and its list
    // of the last 1,024 exits, about 10 MiB that then stay at their capacity; the later
    // rounds show the steady state, where stopping gives back every byte.
    measure_memory(&runtime, &node, 100_000, 16 << 20);
    for (count, _) in SIZES {
        measure_memory(&runtime, &node, count, 64 << 10);
    }
    let mut group = c.benchmark_group("buckets");
    group.sample_size(10);
    for (count, size) in SIZES {
        group.bench_function(format!("start_{size}"), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let (supervisor, start) = start_buckets(&runtime, &node, count);
                    timed += start;
                    stop_buckets(&runtime, supervisor);
                }
                timed
            });
        });
        group.bench_function(format!("stop_{size}"), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let (supervisor, _) = start_buckets(&runtime, &node, count);
                    timed += stop_buckets(&runtime, supervisor);
                    assert_eq!(node.process_count(), 0);
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, buckets);
criterion_main!(benches);
