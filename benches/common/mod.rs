//! What the benchmarks share: the 2-worker runtime they run on, a counting server, the spec
//! of a KV bucket, and a node full of idle processes.

#![allow(dead_code)]

use std::time::Duration;

use otpscope::demo::kv::BUCKET_SUPERVISOR;
use otpscope::demo::kv::bucket::Bucket;
use otpscope::runtime::{
    Addr, ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, Inbox, Node, Server,
    ServerContext, ServerRef, SpawnOptions,
};
use tokio::runtime::Runtime;

/// A multi-threaded tokio runtime with 2 workers (the machine has 2 cores) and a node in it.
pub(crate) fn runtime_and_node() -> (Runtime, Node) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let node = {
        let _entered = runtime.enter();
        Node::new("bench")
    };
    (runtime, node)
}

/// Spawns `work` as a task on the runtime and waits for what it measured, so that the timed
/// code runs on a worker thread, as a process or a task of the node would.
pub(crate) fn on_worker<F>(runtime: &Runtime, work: F) -> Duration
where
    F: Future<Output = Duration> + Send + 'static,
{
    runtime
        .block_on(runtime.spawn(work))
        .expect("the benchmark task finished")
}

/// Casts `casts` to `counter` from a task of the runtime and waits until all are handled;
/// gives how long that took (the node's throughput, for the benches that measure what
/// observing or recording costs it).
pub(crate) fn cast_batch(runtime: &Runtime, counter: &ServerRef<Counter>, casts: u64) -> Duration {
    let counter = counter.clone();
    on_worker(runtime, async move {
        let before = counter.call(()).await.expect("the count");
        let started = std::time::Instant::now();
        for _ in 0..casts {
            counter.cast(()).expect("a cast");
        }
        let after = counter.call(()).await.expect("the count");
        let elapsed = started.elapsed();
        assert_eq!(after - before, casts);
        elapsed
    })
}

/// A server that counts the casts it gets and answers a call with the count.
pub(crate) struct Counter {
    /// Casts handled so far.
    pub(crate) casts: u64,
}

impl Server for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> u64 {
        self.casts
    }

    async fn handle_cast(&mut self, (): (), _ctx: &mut ServerContext<Self>) {
        self.casts += 1;
    }
}

/// The spec of a KV bucket, from the demo: an `Agent<HashMap<String, String>>` labelled
/// `KV.Bucket`, temporary, linked to its supervisor (as `KV.Bucket` with
/// `use Agent, restart: :temporary`).
pub(crate) fn bucket_spec() -> ChildSpec {
    Bucket::child_spec()
}

/// A dynamic supervisor with no limits worth hitting, for the benchmarks that fill one.
pub(crate) async fn bucket_supervisor(node: &Node) -> DynamicSupervisor {
    DynamicSupervisor::start(
        node,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new().label(BUCKET_SUPERVISOR),
    )
    .await
    .expect("a dynamic supervisor")
}

/// Starts one root process that spawns `children` idle linked children (each waiting for a
/// message, counting the ones it gets), and waits until every one waits; gives their handles.
pub(crate) async fn idle_children(node: &Node, children: usize) -> Vec<Addr<()>> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        let spawned: Vec<Addr<()>> = (0..children)
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
        sender.send(spawned).ok();
        loop {
            inbox.recv().await;
        }
        #[allow(unreachable_code)]
        ()
    });
    let spawned = receiver.await.expect("the children");
    // The children are asked in turn, each only until it waits (a million of them would make
    // a whole `processes()` every round slow).
    let mut waiting = 0;
    loop {
        waiting += spawned[waiting..]
            .iter()
            .take_while(|child| {
                node.process_info(child.pid())
                    .is_some_and(|info| info.status == otpscope::runtime::Status::Waiting)
            })
            .count();
        if waiting == spawned.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    spawned
}

/// Times `full_snapshot(node)` of a node of `processes` as `full_{size}_cold`, the previous
/// snapshot dropped outside the timing: the first read of a node, what its first observer
/// costs.
pub(crate) fn bench_cold_read(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    node: &Node,
    processes: usize,
    size: &str,
) {
    group.bench_function(format!("full_{size}_cold"), |b| {
        b.iter_batched(
            || (),
            |()| {
                let snapshot = otpscope::snapshot::full_snapshot(node);
                assert_eq!(snapshot.len(), processes);
                snapshot
            },
            criterion::BatchSize::PerIteration,
        )
    });
}
