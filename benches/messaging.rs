//! Messaging between processes: cast throughput from one process to one server, and the
//! round trip of a call, from a process and from a plain task on the runtime.
//!
//! `cargo bench --bench messaging -- --warm-up-time 1 --measurement-time 3`

// A benchmark that cannot set up stops loudly; criterion's macros write undocumented `pub fn`s.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otpscope::runtime::{Inbox, Node, ServerRef, SpawnOptions};
use tokio::sync::oneshot;

use common::{Counter, runtime_and_node};

/// Casts per benchmark iteration.
const CASTS: u64 = 10_000;

/// Runs `work` in a process spawned on the node and waits for the time it measured.
fn in_process<F, Fut>(runtime: &tokio::runtime::Runtime, node: &Node, work: F) -> Duration
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Duration> + Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    node.spawn(move |_ctx, _inbox: Inbox<()>| async move {
        sender.send(work().await).ok();
    });
    runtime
        .block_on(receiver)
        .expect("the sender process measured")
}

fn start_counter(runtime: &tokio::runtime::Runtime, node: &Node) -> ServerRef<Counter> {
    runtime
        .block_on(ServerRef::start(
            node,
            Counter { casts: 0 },
            SpawnOptions::new(),
        ))
        .expect("the counter starts")
}

fn cast(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let server = start_counter(&runtime, &node);
    let mut group = c.benchmark_group("cast");
    group.throughput(Throughput::Elements(CASTS));
    group.bench_function("process_to_server", |b| {
        b.iter_custom(|iters| {
            let server = server.clone();
            in_process(&runtime, &node, move || async move {
                let before = server.call(()).await.unwrap();
                let started = Instant::now();
                for _ in 0..iters * CASTS {
                    server.cast(()).unwrap();
                }
                let after = server.call(()).await.unwrap();
                let elapsed = started.elapsed();
                assert_eq!(after - before, iters * CASTS);
                elapsed
            })
        });
    });
    group.finish();
}

fn call(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let server = start_counter(&runtime, &node);
    let mut group = c.benchmark_group("call");
    group.throughput(Throughput::Elements(1));
    group.bench_function("from_process", |b| {
        b.iter_custom(|iters| {
            let server = server.clone();
            in_process(&runtime, &node, move || async move {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(server.call(()).await.unwrap());
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("from_task", |b| {
        b.iter_custom(|iters| {
            let server = server.clone();
            common::on_worker(&runtime, async move {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(server.call(()).await.unwrap());
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, cast, call);
criterion_main!(benches);
