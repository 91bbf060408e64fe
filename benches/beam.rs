//! Attaching to a real BEAM node (issue 13): one full read of the chapter's KV app
//! (`otpscope::beam::read::Reader::read`) with 1,000 buckets and with 100,000 buckets
//! (100,000 processes and the app's own), the first snapshot of a fresh `BeamClient`, and, on
//! the node itself, what Erlang's own tools cost for the same processes and what the node
//! spends while otpscope reads it every 200 ms.
//!
//! `cargo bench --bench beam -- --warm-up-time 1 --measurement-time 5`
//!
//! Targets (issue 13): a full read of the KV app with 1,000 buckets <= 20 ms; with 100,000
//! processes on the node, stated and under a second.
//!
//! The node is the Elixir fixture the tests use (`tests/beam_support`): Erlang/OTP and Elixir
//! must be installed. The lines marked `node:` are timed on the node (`:timer.tc`, medians
//! of [`NODE_RUNS`] runs) and printed whatever criterion's filter is.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[path = "../tests/beam_support/mod.rs"]
mod beam_support;

/// The allocator the `otpscope` binary runs with (src/main.rs): what is measured here is what
/// `otpscope attach --beam` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use beam_support::{KvNode, wait_until};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use erl_dist::term::Term;
use futures_util::future::join_all;
use otpscope::beam::BeamClient;
use otpscope::beam::connection::Connection;
use otpscope::beam::read::{self, FIXED_ITEMS, ITEMS, Reader};
use otpscope::beam::terms::Syntax;
use otpscope::contract::Update;
use tokio::runtime::Runtime;

/// Buckets in the small app.
const SMALL: usize = 1_000;
/// Buckets in the big one.
const BIG: usize = 100_000;
/// Runs of each measurement made on the node; the median is printed.
const NODE_RUNS: usize = 7;
/// How long the node's own cost is measured, with and without a reader.
const COST_WINDOW: Duration = Duration::from_secs(10);
/// The interval of the reader whose cost is measured.
const COST_INTERVAL: Duration = Duration::from_millis(200);

/// What otpscope's first read of a process asks `process_info/2` for (src/beam/read.rs:
/// `ITEMS`, then `FIXED_ITEMS`).
fn item_atoms() -> Vec<&'static str> {
    ITEMS.iter().chain(&FIXED_ITEMS).copied().collect()
}

/// The same items as an Elixir list.
fn items_elixir() -> String {
    let atoms: Vec<String> = item_atoms().iter().map(|item| format!(":{item}")).collect();
    format!("[{}]", atoms.join(", "))
}

/// A 2-worker tokio runtime, as the other benchmarks use.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Creates buckets `b1..bN` through the registry (casts) and waits until the bucket
/// supervisor runs `n` of them.
fn create_buckets(node: &KvNode, n: usize) {
    node.eval(&format!(
        "for i <- 1..{n}, do: KV.Registry.create(KV.Registry, \"b#{{i}}\"); :ok"
    ));
    wait_until(&format!("{n} buckets"), Duration::from_secs(300), || {
        node.eval("DynamicSupervisor.count_children(KV.BucketSupervisor).active")
            .parse::<usize>()
            .unwrap_or(0)
            == n
    });
}

/// Times `elixir_code` on the node [`NODE_RUNS`] times with `:timer.tc` and returns the
/// median in microseconds (the code is run once before, untimed).
fn node_median_us(node: &KvNode, elixir_code: &str) -> f64 {
    let answer = node.eval(&format!(
        "f = fn -> {elixir_code} end\n\
         f.()\n\
         times = for _ <- 1..{NODE_RUNS}, do: elem(:timer.tc(f), 0)\n\
         Enum.at(Enum.sort(times), div({NODE_RUNS}, 2))"
    ));
    answer.parse().expect("a number of microseconds")
}

/// Erlang's own ways to read every process, timed on the node, printed.
fn node_side(node: &KvNode, what: &str) {
    let processes: usize = node.eval("length(Process.list())").parse().unwrap();
    let ms = |us: f64| us / 1_000.0;
    let items = items_elixir();
    let plain = node_median_us(
        node,
        &format!("for p <- Process.list(), do: Process.info(p, {items})"),
    );
    let zipwith = node_median_us(
        node,
        &format!(
            "pids = Process.list()\n\
             :lists.zipwith(&:erlang.process_info/2, pids, List.duplicate({items}, length(pids)))"
        ),
    );
    // What observer's Processes tab runs on the node it watches (observer_pro_wx:
    // `spawn_link(Node, observer_backend, procs_info, [Collector])`), up to the collector
    // holding every chunk; here the collector is on the node, so nothing crosses a wire.
    let observer = node_median_us(
        node,
        "me = self()\n\
         {pid, ref} = spawn_monitor(fn -> :observer_backend.procs_info(me) end)\n\
         collect = fn collect, acc ->\n\
           receive do\n\
             {:procs_info, ^pid, infos} -> collect.(collect, [infos | acc])\n\
             {:DOWN, ^ref, :process, ^pid, _} -> acc\n\
           end\n\
         end\n\
         collect.(collect, [])",
    );
    // etop's (and observer_cli's kind of) full collection: one message with every process.
    let etop = node_median_us(
        node,
        ":observer_backend.etop_collect(self())\n\
         receive do {_, info} when elem(info, 0) == :etop_info -> info end",
    );
    println!(
        "node: {what}, {processes} processes: Process.info loop with otpscope's 12 items \
         {:.2} ms; lists:zipwith of the same (what otpscope asks, without the wire) {:.2} ms; \
         observer_backend:procs_info/1 to a collector {:.2} ms; \
         observer_backend:etop_collect/1 {:.2} ms (medians of {NODE_RUNS})",
        ms(plain),
        ms(zipwith),
        ms(observer),
        ms(etop),
    );
}

/// The node's CPU time (`:erlang.statistics(:runtime)`, ms) and reductions
/// (`:exact_reductions`) over [`COST_WINDOW`], measured on the node.
fn node_cost(node: &KvNode) -> (u64, u64) {
    let answer = node.eval(&format!(
        "{{r0, _}} = :erlang.statistics(:runtime)\n\
         {{x0, _}} = :erlang.statistics(:exact_reductions)\n\
         Process.sleep({})\n\
         {{r1, _}} = :erlang.statistics(:runtime)\n\
         {{x1, _}} = :erlang.statistics(:exact_reductions)\n\
         \"#{{r1 - r0}} #{{x1 - x0}}\"",
        COST_WINDOW.as_millis()
    ));
    let (runtime_ms, reductions) = answer.split_once(' ').unwrap();
    (runtime_ms.parse().unwrap(), reductions.parse().unwrap())
}

/// What the node spends over [`COST_WINDOW`] with nobody reading it, then with a
/// `BeamClient` reading it every [`COST_INTERVAL`], printed.
fn cost_of_reading(runtime: &Runtime, node: &KvNode, what: &str) {
    let (idle_ms, idle_reductions) = node_cost(node);
    let mut client = runtime
        .block_on(BeamClient::connect(node.connect_options(), COST_INTERVAL))
        .unwrap();
    let fulls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Drain the updates on the runtime so the client's channel does not grow.
    let drained = {
        let fulls = fulls.clone();
        runtime.spawn(async move {
            let mut updates = 0u64;
            while let Some(update) = client.recv().await {
                updates += 1;
                if matches!(update, Update::Full(_)) {
                    fulls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            updates
        })
    };
    // Past the first read.
    wait_until("the first snapshot", Duration::from_secs(60), || {
        fulls.load(std::sync::atomic::Ordering::Relaxed) > 0
    });
    let (read_ms, read_reductions) = node_cost(node);
    drained.abort();
    let window_s = COST_WINDOW.as_secs_f64();
    println!(
        "node: {what}, cost over {window_s} s: no reader {idle_ms} ms CPU, {idle_reductions} \
         reductions; one BeamClient at {} ms {read_ms} ms CPU, {read_reductions} reductions: \
         {:.1} % of one core more",
        COST_INTERVAL.as_millis(),
        (read_ms as f64 - idle_ms as f64) / (window_s * 10.0),
    );
}

/// Where a read's time goes, from this side: `erlang:processes()` alone, then the batched
/// `lists:zipwith(fun erlang:process_info/2, ..)` calls as the reader makes them (in flight
/// together), to the decoded terms; medians of [`NODE_RUNS`], printed.
fn breakdown(runtime: &Runtime, connection: &Connection, reader: &mut Reader, what: &str) {
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let mut list = Vec::new();
    let mut calls = Vec::new();
    let mut reads = Vec::new();
    let mut decodes = Vec::new();
    let mut bytes = 0;
    for _ in 0..NODE_RUNS {
        runtime.block_on(async {
            let started = Instant::now();
            let pids = connection
                .call("erlang", "processes", Vec::new(), Duration::from_secs(30))
                .await
                .unwrap();
            list.push(started.elapsed());
            let Term::List(pids) = pids else {
                panic!("erlang:processes() gave a list")
            };
            let items = read::item_terms(&item_atoms());
            let started = Instant::now();
            let answers = join_all(pids.elements.chunks(read::BATCH).map(|batch| {
                connection.call(
                    "lists",
                    "zipwith",
                    read::process_info_args(batch.to_vec(), &items),
                    Duration::from_secs(30),
                )
            }))
            .await;
            calls.push(started.elapsed());
            let encoded: Vec<Vec<u8>> = answers
                .iter()
                .map(|answer| {
                    let mut buffer = Vec::new();
                    answer.as_ref().unwrap().encode(&mut buffer).unwrap();
                    buffer
                })
                .collect();
            bytes = encoded.iter().map(Vec::len).sum::<usize>();
            let started = Instant::now();
            for buffer in &encoded {
                Term::decode(buffer.as_slice()).unwrap();
            }
            decodes.push(started.elapsed());
            let started = Instant::now();
            reader.read().await.unwrap();
            reads.push(started.elapsed());
        });
    }
    println!(
        "beam: {what}: erlang:processes() {:?}; the zipwith calls {:?} (answers {} KiB in the \
         external term format, decoded again by eetf alone in {:?}); the whole read {:?} \
         (medians of {NODE_RUNS})",
        median(list),
        median(calls),
        bytes / 1024,
        median(decodes),
        median(reads),
    );
}

fn beam(c: &mut Criterion) {
    let runtime = runtime();
    let node = KvNode::start();
    create_buckets(&node, SMALL);
    let (connection, _downs) = runtime
        .block_on(Connection::connect(&node.connect_options()))
        .unwrap();
    let mut reader = Reader::new(connection.clone(), Syntax::Elixir);
    let mut group = c.benchmark_group("beam");
    group.sample_size(20);

    let read = runtime.block_on(reader.read()).unwrap();
    println!(
        "beam: {} processes read with {SMALL} buckets",
        read.processes.len()
    );
    group.bench_function("read_kv_1k_buckets", |b| {
        b.iter_custom(|iters| time_reads(&runtime, &mut reader, iters, SMALL))
    });
    // A client that has never read the node: connect, ask what it runs, read, build the
    // first snapshot, until `Update::Full` arrives.
    group.bench_function("first_snapshot_kv_1k_buckets", |b| {
        b.iter_custom(|iters| time_first_snapshots(&runtime, &node, iters))
    });
    print_beside(&runtime, &node, &connection, &mut reader, SMALL);

    create_buckets(&node, BIG);
    // Each iteration takes long: ten of them, not criterion's 55 (1 + 2 + ... + 10).
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let started = Instant::now();
    let read = runtime.block_on(reader.read()).unwrap();
    println!(
        "beam: {} processes read with {BIG} buckets; the reader's first read of them took {:?}",
        read.processes.len(),
        started.elapsed()
    );
    group.bench_function("read_kv_100k_buckets", |b| {
        b.iter_custom(|iters| time_reads(&runtime, &mut reader, iters, BIG))
    });
    group.bench_function("first_snapshot_kv_100k_buckets", |b| {
        b.iter_custom(|iters| time_first_snapshots(&runtime, &node, iters))
    });
    group.finish();
    print_beside(&runtime, &node, &connection, &mut reader, BIG);
}

/// What is printed beside the timed benchmarks with `buckets` buckets: where a read's time
/// goes, what Erlang's own tools cost on the node, and what reading costs the node.
fn print_beside(
    runtime: &Runtime,
    node: &KvNode,
    connection: &Connection,
    reader: &mut Reader,
    buckets: usize,
) {
    let what = format!("{buckets} buckets");
    breakdown(runtime, connection, reader, &what);
    node_side(node, &what);
    cost_of_reading(runtime, node, &what);
}

/// `iters` reads by `reader`, timed, each finding more than `at_least` processes.
fn time_reads(runtime: &Runtime, reader: &mut Reader, iters: u64, at_least: usize) -> Duration {
    let mut timed = Duration::ZERO;
    for _ in 0..iters {
        let started = Instant::now();
        let reading = runtime.block_on(reader.read()).unwrap();
        timed += started.elapsed();
        assert!(reading.processes.len() > at_least);
    }
    timed
}

/// `iters` clients that have never read `node`, timed from connecting (asking what it runs,
/// reading, building the first snapshot) until `Update::Full` arrives.
fn time_first_snapshots(runtime: &Runtime, node: &KvNode, iters: u64) -> Duration {
    let mut timed = Duration::ZERO;
    for _ in 0..iters {
        timed += runtime.block_on(async {
            let started = Instant::now();
            let mut client = BeamClient::connect(node.connect_options(), Duration::from_secs(60))
                .await
                .unwrap();
            loop {
                if let Some(Update::Full(_)) = client.recv().await {
                    break;
                }
            }
            started.elapsed()
        });
    }
    timed
}

criterion_group!(benches, beam);
criterion_main!(benches);
