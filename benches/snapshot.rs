//! The snapshot stream's costs: a full snapshot of 100,000 and of 1,000,000 processes (read
//! cold from the runtime, and copied from the model a running collector keeps, which is what a
//! subscriber gets), a delta when 1% of them changed, and what observing costs a cast-heavy
//! workload (the same run, unobserved and with one subscriber at 10 Hz).
//!
//! `cargo bench --bench snapshot -- --warm-up-time 1 --measurement-time 5`
//!
//! Targets: at 100,000, full snapshot <= 10 ms and delta <= 1 ms; at 1,000,000 (issue 15),
//! full snapshot <= 100 ms and delta <= 10 ms; observed casts within 3% of unobserved.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otpscope::runtime::{Addr, Context, Inbox, Node, Pid, ServerRef};
use otpscope::snapshot::{Collector, Update, full_snapshot, observe};
use tokio::runtime::Runtime;

use common::{Counter, bench_cold_read, cast_batch, idle_children, runtime_and_node};

/// Processes in the big nodes, with the name their ids carry.
const SIZES: [(usize, &str); 2] = [(100_000, "100k"), (1_000_000, "1m")];
/// Casts per timed batch.
const CASTS: u64 = 100_000;

fn snapshot(c: &mut Criterion) {
    for (processes, size) in SIZES {
        // A node with one root that has started `processes - 1` idle children, as a dynamic
        // supervisor full of buckets.
        let (runtime, node) = runtime_and_node();
        let children = runtime.block_on(idle_children(&node, processes - 1));
        let mut group = c.benchmark_group("snapshot");
        group.sample_size(if processes > 100_000 { 10 } else { 20 });

        // Taking the snapshot; the previous one is dropped before the next is timed.
        bench_cold_read(&mut group, &node, processes, size);
        // The same with the previous snapshot's drop timed too (every entry freed).
        group.bench_function(format!("full_{size}_cold_and_drop"), |b| {
            b.iter(|| {
                let snapshot = full_snapshot(&node);
                assert_eq!(snapshot.len(), processes);
                snapshot
            })
        });

        // What a subscriber's first snapshot (or a resync) costs once the node's hub is
        // running: a copy of the model the collector keeps, sharing every process's data.
        let collector = Collector::new(&node).unwrap();
        group.bench_function(format!("full_{size}_from_model"), |b| {
            b.iter(|| {
                let snapshot = collector.snapshot().clone();
                assert_eq!(snapshot.len(), processes);
                snapshot
            })
        });
        drop(collector);

        group.bench_function(format!("delta_1pct_of_{size}"), |b| {
            let changed = processes / 100;
            let mut collector = Collector::new(&node).unwrap();
            let mut round = 0_usize;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    // Change 1% of the processes (a message each, handled), outside the timing.
                    round += 1;
                    let touched: Vec<&Addr<()>> = (0..changed)
                        .map(|i| &children[(round * changed + i * 97) % children.len()])
                        .collect();
                    for child in &touched {
                        child.send(()).ok();
                    }
                    runtime.block_on(async {
                        while touched.iter().any(|child| {
                            node.process_info(child.pid())
                                .is_some_and(|i| i.mailbox_len > 0)
                        }) {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    });
                    let started = Instant::now();
                    let collected = collector.collect();
                    timed += started.elapsed();
                    assert!(collected.delta.changed.len() >= changed / 2);
                }
                timed
            })
        });
        group.finish();
        drop(children);
        drop(node);
        // The runtime's drop ends every process of the node.
        drop(runtime);
    }
}

fn observing_cost(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let counter = runtime.block_on(async {
        // Some company, so the collector has a table to look through.
        for _ in 0..1_000 {
            node.spawn(|_ctx: Context, mut inbox: Inbox<()>| async move {
                inbox.recv().await;
            });
        }
        ServerRef::start(&node, Counter { casts: 0 }, Default::default())
            .await
            .unwrap()
    });
    paired_observing_cost(&runtime, &node, &counter);
    let mut group = c.benchmark_group("casts");
    group.throughput(Throughput::Elements(CASTS));
    group.sample_size(30);
    group.bench_function("unobserved", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| cast_batch(&runtime, &counter, CASTS))
                .sum()
        })
    });
    // One subscriber at 10 Hz, drained by a task as a GUI drains it every frame.
    let mut subscription = observe(&node, Duration::from_millis(100)).unwrap();
    let drainer = runtime.spawn(async move {
        let mut applied = 0_u64;
        while let Some(update) = subscription.recv().await {
            if let Update::Delta(delta) = update {
                applied += delta.changed.len() as u64;
            }
        }
        applied
    });
    assert!(node.introspect().is_tracking_changes());
    group.bench_function("observed_10hz", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| cast_batch(&runtime, &counter, CASTS))
                .sum()
        })
    });
    group.finish();
    drainer.abort();
    let _: Pid = counter.pid();
}

/// The same comparison with paired samples: batches alternate between unobserved and observed
/// (one subscriber at 10 Hz, drained), so a busy machine's drift hits both alike. Prints the
/// medians and the overhead.
fn paired_observing_cost(runtime: &Runtime, node: &Node, counter: &ServerRef<Counter>) {
    const ROUNDS: usize = 200;
    let mut unobserved = Vec::with_capacity(ROUNDS);
    let mut observed = Vec::with_capacity(ROUNDS);
    for _ in 0..3 {
        cast_batch(runtime, counter, CASTS);
    }
    for round in 0..ROUNDS {
        for observe_now in [round % 2 == 0, round % 2 != 0] {
            if observe_now {
                let mut subscription = observe(node, Duration::from_millis(100)).unwrap();
                let drainer =
                    runtime.spawn(async move { while subscription.recv().await.is_some() {} });
                observed.push(cast_batch(runtime, counter, CASTS));
                drainer.abort();
                runtime.block_on(async {
                    while node.introspect().is_tracking_changes() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
            } else {
                unobserved.push(cast_batch(runtime, counter, CASTS));
            }
        }
    }
    unobserved.sort();
    observed.sort();
    let (base, watched) = (unobserved[ROUNDS / 2], observed[ROUNDS / 2]);
    let overhead = (watched.as_secs_f64() / base.as_secs_f64() - 1.0) * 100.0;
    println!(
        "casts/paired: {CASTS} casts, median unobserved {base:?}, observed at 10 Hz {watched:?}, \
         overhead {overhead:+.1}% ({ROUNDS} pairs)"
    );
}

criterion_group!(benches, snapshot, observing_cost);
criterion_main!(benches);
