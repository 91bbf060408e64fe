//! The snapshot stream's costs: a full snapshot of 100,000 processes (read cold from the
//! runtime, and copied from the model a running collector keeps, which is what a subscriber
//! gets), a delta when 1% of them changed, and what observing costs a cast-heavy workload (the
//! same run, unobserved and with one subscriber at 10 Hz).
//!
//! `cargo bench --bench snapshot -- --warm-up-time 1 --measurement-time 5`
//!
//! Targets: full snapshot <= 10 ms; delta <= 1 ms; observed casts within 3% of unobserved.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use otpscope::runtime::{Addr, Context, Inbox, Node, Pid, Server, ServerContext, ServerRef};
use otpscope::snapshot::{Collector, Update, full_snapshot, observe};
use tokio::runtime::Runtime;

/// Processes in the big node.
const PROCESSES: usize = 100_000;
/// Processes changed before each delta: 1%.
const CHANGED: usize = PROCESSES / 100;
/// Casts per timed batch.
const CASTS: u64 = 100_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A node with one root that has started `PROCESSES - 1` idle children, as a dynamic
/// supervisor full of buckets; returns the children's handles.
fn big_node(runtime: &Runtime) -> (Node, Vec<Addr<()>>) {
    runtime.block_on(async {
        let node = Node::new("bench");
        let (sender, receiver) = tokio::sync::oneshot::channel();
        node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
            let children: Vec<Addr<()>> = (1..PROCESSES)
                .map(|_| {
                    ctx.spawn_link(|_ctx: Context, mut inbox: Inbox<()>| async move {
                        loop {
                            inbox.recv().await;
                        }
                        #[allow(unreachable_code)]
                        ()
                    })
                })
                .collect();
            sender.send(children).ok();
            loop {
                inbox.recv().await;
            }
            #[allow(unreachable_code)]
            ()
        });
        let children = receiver.await.expect("the children");
        // Let every child reach its first receive.
        while node
            .processes()
            .iter()
            .any(|info| info.status != otpscope::runtime::Status::Waiting)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (node, children)
    })
}

fn snapshot(c: &mut Criterion) {
    let runtime = runtime();
    let (node, children) = big_node(&runtime);
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(20);

    // Taking the snapshot; the previous one is dropped before the next is timed.
    group.bench_function("full_100k_cold", |b| {
        b.iter_batched(
            || (),
            |()| {
                let snapshot = full_snapshot(&node);
                assert_eq!(snapshot.len(), PROCESSES);
                snapshot
            },
            BatchSize::PerIteration,
        )
    });
    // The same with the previous snapshot's drop timed too (100,000 entries freed).
    group.bench_function("full_100k_cold_and_drop", |b| {
        b.iter(|| {
            let snapshot = full_snapshot(&node);
            assert_eq!(snapshot.len(), PROCESSES);
            snapshot
        })
    });

    // What a subscriber's first snapshot (or a resync) costs once the node's hub is running:
    // a copy of the model the collector keeps, sharing every process's data.
    let collector = Collector::new(&node).unwrap();
    group.bench_function("full_100k_from_model", |b| {
        b.iter(|| {
            let snapshot = collector.snapshot().clone();
            assert_eq!(snapshot.len(), PROCESSES);
            snapshot
        })
    });
    drop(collector);

    group.bench_function("delta_1pct_of_100k", |b| {
        let mut collector = Collector::new(&node).unwrap();
        let mut round = 0_usize;
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                // Change 1% of the processes (a message each, handled), outside the timing.
                round += 1;
                for i in 0..CHANGED {
                    children[(round * CHANGED + i * 97) % children.len()]
                        .send(())
                        .ok();
                }
                runtime.block_on(async {
                    while children.iter().any(|child| {
                        node.process_info(child.pid())
                            .is_some_and(|i| i.mailbox_len > 0)
                    }) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
                let started = Instant::now();
                let collected = collector.collect();
                timed += started.elapsed();
                assert!(collected.delta.changed.len() >= CHANGED / 2);
            }
            timed
        })
    });
    group.finish();
    drop(children);
}

/// A server that counts casts and answers a call with the count.
struct Counter(u64);

impl Server for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> u64 {
        self.0
    }

    async fn handle_cast(&mut self, (): (), _ctx: &mut ServerContext<Self>) {
        self.0 += 1;
    }
}

/// Casts `CASTS` to a counter from a task of the runtime and waits until all are handled.
fn cast_batch(runtime: &Runtime, counter: &ServerRef<Counter>) -> Duration {
    let counter = counter.clone();
    runtime
        .block_on(runtime.spawn(async move {
            let before = counter.call(()).await.unwrap();
            let started = Instant::now();
            for _ in 0..CASTS {
                counter.cast(()).unwrap();
            }
            let after = counter.call(()).await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(after - before, CASTS);
            elapsed
        }))
        .unwrap()
}

fn observing_cost(c: &mut Criterion) {
    let runtime = runtime();
    let (node, counter) = runtime.block_on(async {
        let node = Node::new("casts");
        // Some company, so the collector has a table to look through.
        for _ in 0..1_000 {
            node.spawn(|_ctx: Context, mut inbox: Inbox<()>| async move {
                inbox.recv().await;
            });
        }
        let counter = ServerRef::start(&node, Counter(0), Default::default())
            .await
            .unwrap();
        (node, counter)
    });
    paired_observing_cost(&runtime, &node, &counter);
    let mut group = c.benchmark_group("casts");
    group.throughput(Throughput::Elements(CASTS));
    group.sample_size(30);
    group.bench_function("unobserved", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| cast_batch(&runtime, &counter)).sum())
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
        b.iter_custom(|iters| (0..iters).map(|_| cast_batch(&runtime, &counter)).sum())
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
        cast_batch(runtime, counter);
    }
    for round in 0..ROUNDS {
        for observe_now in [round % 2 == 0, round % 2 != 0] {
            if observe_now {
                let mut subscription = observe(node, Duration::from_millis(100)).unwrap();
                let drainer =
                    runtime.spawn(async move { while subscription.recv().await.is_some() {} });
                observed.push(cast_batch(runtime, counter));
                drainer.abort();
                runtime.block_on(async {
                    while node.introspect().is_tracking_changes() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
            } else {
                unobserved.push(cast_batch(runtime, counter));
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
