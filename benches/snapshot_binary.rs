//! The first full read of a node, `full_snapshot(&node)`, with the allocator the `otpscope`
//! binary uses (mimalloc, src/main.rs): what the first observer of a node costs in
//! `otpscope` itself (its Observer on its own demos, `otpscope serve`). benches/snapshot.rs
//! measures the same read with the system allocator, as a service that keeps its own does.
//!
//! `cargo bench --bench snapshot_binary -- --warm-up-time 1 --measurement-time 5`
//!
//! Target (issue 15): a full snapshot of 1,000,000 processes in at most 100 ms.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

use common::{bench_cold_read, idle_children, runtime_and_node};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Processes in the big nodes, with the name their ids carry.
const SIZES: [(usize, &str); 2] = [(100_000, "100k"), (1_000_000, "1m")];

fn first_read(c: &mut Criterion) {
    for (processes, size) in SIZES {
        let (runtime, node) = runtime_and_node();
        let children = runtime.block_on(idle_children(&node, processes - 1));
        let mut group = c.benchmark_group("snapshot_binary");
        group.sample_size(if processes > 100_000 { 10 } else { 20 });
        bench_cold_read(&mut group, &node, processes, size);
        group.finish();
        drop(children);
        drop(node);
        drop(runtime);
    }
}

criterion_group!(benches, first_read);
criterion_main!(benches);
