//! Starting workers: `DynamicSupervisor::start_child` of a KV bucket (an `Agent`), which
//! returns once the child runs, and, for scale, a bare `Node::spawn`.
//!
//! `cargo bench --bench start_child -- --warm-up-time 1 --measurement-time 3`

// A benchmark that cannot set up stops loudly; criterion's macros write undocumented `pub fn`s.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otpscope::runtime::{ExitReason, Inbox, Started};

use common::{bucket_spec, bucket_supervisor, on_worker, runtime_and_node};

/// Children started under one supervisor before it is stopped (outside the timed part).
const BATCH: u64 = 1_000;

fn start_child(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let mut group = c.benchmark_group("start_child");
    group.throughput(Throughput::Elements(1));
    group.bench_function("dynamic_supervisor_agent", |b| {
        b.iter_custom(|iters| {
            let node = node.clone();
            on_worker(&runtime, async move {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(BATCH);
                    left -= batch;
                    let supervisor = bucket_supervisor(&node).await;
                    let specs: Vec<_> = (0..batch).map(|_| bucket_spec()).collect();
                    let started = Instant::now();
                    for spec in specs {
                        let child = supervisor.start_child(spec).await.unwrap();
                        assert!(matches!(child, Started::Pid(_)));
                    }
                    timed += started.elapsed();
                    supervisor.stop(ExitReason::Shutdown).await.unwrap();
                }
                assert_eq!(node.process_count(), 0);
                timed
            })
        });
    });
    group.bench_function("bare_spawn", |b| {
        b.iter_custom(|iters| {
            let node = node.clone();
            on_worker(&runtime, async move {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(BATCH);
                    left -= batch;
                    let mut addrs = Vec::with_capacity(batch as usize);
                    let started = Instant::now();
                    for _ in 0..batch {
                        addrs.push(node.spawn(|_ctx, mut inbox: Inbox<()>| async move {
                            inbox.recv().await;
                        }));
                    }
                    timed += started.elapsed();
                    let pids: Vec<_> = addrs.iter().map(|a| a.pid()).collect();
                    for addr in &addrs {
                        addr.send(()).unwrap();
                    }
                    for pid in pids {
                        node.watch(pid).await;
                    }
                }
                timed
            })
        });
    });
    group.finish();
}

criterion_group!(benches, start_child);
criterion_main!(benches);
