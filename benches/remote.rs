//! A node observed over the remote wire, on loopback: a full snapshot of 100,000 processes
//! from request to a decoded model in the client (and its size), a delta when 1% of them
//! changed from the change to the decoded delta, and what one remote client at 10 Hz costs a
//! cast-heavy workload on the node (paired with no client, batch by batch).
//!
//! `cargo bench --bench remote -- --warm-up-time 1 --measurement-time 5`
//!
//! Targets (issue 12): full snapshot <= 30 ms and <= 80 bytes a process; delta <= 2 ms;
//! throughput cost with one client at 10 Hz <= 3%.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otpscope::contract::{Update, binary};
use otpscope::runtime::remote::{
    self, ConnectOptions, Connection, Cookie, ServeOptions, ServerMessage,
};
use otpscope::runtime::{Node, ServerRef};
use tokio::runtime::Runtime;

use common::{Counter, cast_batch, idle_children, runtime_and_node};

/// Processes in the big node.
const PROCESSES: usize = 100_000;
/// Processes changed before each delta: 1%.
const CHANGED: usize = PROCESSES / 100;
/// Casts per timed batch.
const CASTS: u64 = 100_000;

fn cookie() -> Cookie {
    Cookie::new("bench").unwrap()
}

/// Serves `node` on a free loopback port and connects a client to it.
fn serve_and_connect(runtime: &Runtime, node: &Node) -> (remote::Served, Connection) {
    let options = ServeOptions::default()
        .listen("127.0.0.1:0".parse().unwrap())
        .cookie(cookie());
    let served = remote::serve(node, options).unwrap();
    let connection = runtime
        .block_on(remote::connect(
            served.local_addr(),
            &ConnectOptions::new(cookie()),
        ))
        .unwrap();
    (served, connection)
}

fn snapshot_and_delta(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let children = runtime.block_on(idle_children(&node, PROCESSES - 1));
    let (served, mut client) = serve_and_connect(&runtime, &node);
    let address = served.local_addr();
    let mut group = c.benchmark_group("remote");
    group.sample_size(20);

    // A client attaching to a node nobody observes: the node reads every process first,
    // then encodes and sends; the client reads and decodes. Between attaches, untimed, the
    // node's hub goes with the last client.
    group.bench_function("full_100k_first_attach", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                timed += runtime.block_on(async {
                    while node.introspect().is_tracking_changes() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let started = Instant::now();
                    let mut fresh = remote::connect(address, &ConnectOptions::new(cookie()))
                        .await
                        .unwrap();
                    fresh.subscribe(Duration::from_secs(1)).await.unwrap();
                    loop {
                        if let ServerMessage::Update(Update::Full(snapshot)) =
                            fresh.receive().await.unwrap()
                        {
                            assert_eq!(snapshot.len(), PROCESSES);
                            break;
                        }
                    }
                    started.elapsed()
                });
            }
            timed
        })
    });

    // The size of what the wire carries for one full snapshot.
    let full = runtime.block_on(async {
        client.subscribe(Duration::from_secs(1)).await.unwrap();
        loop {
            if let ServerMessage::Update(Update::Full(snapshot)) = client.receive().await.unwrap() {
                return snapshot;
            }
        }
    });
    let message = ServerMessage::Update(Update::Full(full));
    let encoded = binary::encode(&message).unwrap();
    println!(
        "remote/full_100k size: {} bytes, {:.1} bytes a process",
        encoded.len(),
        encoded.len() as f64 / PROCESSES as f64
    );
    // The two ends' own work on a full snapshot, without the socket.
    group.bench_function("full_100k_encode", |b| {
        b.iter(|| binary::encode(&message).unwrap())
    });
    group.bench_function("full_100k_decode", |b| {
        b.iter(|| binary::decode::<ServerMessage>(&encoded).unwrap())
    });
    // Subscribing again asks for a new full snapshot while the node's hub runs: the node
    // copies its model, encodes and sends it (in parts, see `SNAPSHOT_PART`); the client
    // reads and decodes it (what an attached Observer's resync or interval change costs).
    // The model handed back is dropped outside the timing: freeing the last model is not
    // part of getting the next.
    group.bench_function("full_100k_request_to_model", |b| {
        b.iter_with_large_drop(|| {
            runtime.block_on(async {
                client.subscribe(Duration::from_secs(1)).await.unwrap();
                loop {
                    if let ServerMessage::Update(Update::Full(snapshot)) =
                        client.receive().await.unwrap()
                    {
                        assert_eq!(snapshot.len(), PROCESSES);
                        return snapshot;
                    }
                }
            })
        })
    });

    // Deltas every millisecond; time from the changes (a message to each of 1% of the
    // processes) to the client holding decoded deltas that name all of them.
    runtime.block_on(async {
        client.subscribe(Duration::from_millis(1)).await.unwrap();
    });
    let mut round = 0_usize;
    group.bench_function("delta_1pct_of_100k_change_to_model", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let targets: Vec<_> = (0..CHANGED)
                    .map(|i| &children[(round * CHANGED + i * 97) % children.len()])
                    .collect();
                timed += runtime.block_on(async {
                    // Let what is in flight settle, untimed.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    while let Ok(Ok(_)) =
                        tokio::time::timeout(Duration::from_millis(2), client.receive()).await
                    {
                    }
                    let started = Instant::now();
                    for target in &targets {
                        target.send(()).ok();
                    }
                    let mut seen = 0;
                    while seen < CHANGED {
                        if let ServerMessage::Update(Update::Delta(delta)) =
                            client.receive().await.unwrap()
                        {
                            seen += delta.changed.len();
                        }
                    }
                    started.elapsed()
                });
            }
            timed
        })
    });
    group.finish();
}

/// One remote client at 10 Hz against none, batch by batch: batches alternate, so the
/// machine's drift hits both alike. Criterion's two rows, then the paired medians printed.
fn remote_client_cost(c: &mut Criterion) {
    // The paired batches run whatever criterion's filter; leave them out to profile the
    // stream alone (`OTPSCOPE_BENCH_NO_PAIRED=1 perf record ... --bench remote/delta`).
    if std::env::var_os("OTPSCOPE_BENCH_NO_PAIRED").is_some() {
        return;
    }
    let (runtime, node) = runtime_and_node();
    let counter = runtime.block_on(async {
        idle_children(&node, 1_000).await;
        ServerRef::start(&node, Counter { casts: 0 }, Default::default())
            .await
            .unwrap()
    });
    let options = ServeOptions::default()
        .listen("127.0.0.1:0".parse().unwrap())
        .cookie(cookie());
    let served = remote::serve(&node, options).unwrap();
    // A client in its own runtime (its own threads), as another OS process would be, reading
    // everything at 10 Hz.
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Returns once the client has its first full snapshot, so that attaching (the node's
    // first read of every process, the snapshot's encoding) is not in the timed batch.
    let watch = |interval: Duration| {
        let address = served.local_addr();
        let (ready, started) = tokio::sync::oneshot::channel();
        let client = client_runtime.spawn(async move {
            let mut client = remote::connect(address, &ConnectOptions::new(cookie()))
                .await
                .unwrap();
            client.subscribe(interval).await.unwrap();
            let mut ready = Some(ready);
            while let Ok(message) = client.receive().await {
                if matches!(message, ServerMessage::Update(Update::Full(_)))
                    && let Some(ready) = ready.take()
                {
                    ready.send(()).ok();
                }
            }
        });
        runtime.block_on(started).unwrap();
        client
    };

    const ROUNDS: usize = 100;
    let (mut alone, mut watched) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        cast_batch(&runtime, &counter, CASTS);
    }
    for round in 0..ROUNDS {
        for with_client in [round % 2 == 0, round % 2 != 0] {
            if with_client {
                let client = watch(Duration::from_millis(100));
                watched.push(cast_batch(&runtime, &counter, CASTS));
                client.abort();
                runtime.block_on(async {
                    while served.clients() > 0 || node.introspect().is_tracking_changes() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
            } else {
                alone.push(cast_batch(&runtime, &counter, CASTS));
            }
        }
    }
    alone.sort();
    watched.sort();
    let (base, with) = (alone[ROUNDS / 2], watched[ROUNDS / 2]);
    println!(
        "remote/paired: {CASTS} casts, median with no client {base:?}, with one remote client \
         at 10 Hz {with:?}, cost {:+.1}% ({ROUNDS} pairs)",
        (with.as_secs_f64() / base.as_secs_f64() - 1.0) * 100.0
    );

    let mut group = c.benchmark_group("remote_casts");
    group.throughput(Throughput::Elements(CASTS));
    group.sample_size(30);
    group.bench_function("no_client", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| cast_batch(&runtime, &counter, CASTS))
                .sum()
        })
    });
    let client = watch(Duration::from_millis(100));
    group.bench_function("one_remote_client_10hz", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| cast_batch(&runtime, &counter, CASTS))
                .sum()
        })
    });
    group.finish();
    client.abort();
}

criterion_group!(benches, snapshot_and_delta, remote_client_cost);
criterion_main!(benches);
