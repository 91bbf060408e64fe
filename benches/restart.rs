//! Restart latency: from `node.exit(pid, kill)` on a permanent worker until its replacement
//! has run its init, under a one_for_one supervisor with a restart intensity that never trips.
//!
//! `cargo bench --bench restart -- --warm-up-time 1 --measurement-time 3`

// A benchmark that cannot set up stops loudly; criterion's macros write undocumented `pub fn`s.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otpscope::runtime::{
    ChildSpec, ExitReason, Pid, Server, ServerContext, ServerRef, SpawnOptions, Strategy,
    Supervisor, SupervisorFlags,
};
use tokio::sync::mpsc;

use common::runtime_and_node;

/// A worker whose init reports its pid, so the benchmark sees each incarnation start.
struct Reporter {
    /// Where init sends the new pid.
    started: mpsc::UnboundedSender<Pid>,
}

impl Server for Reporter {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        self.started.send(ctx.pid()).ok();
        Ok(())
    }

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) {}
}

fn restart(c: &mut Criterion) {
    let (runtime, node) = runtime_and_node();
    let (sender, mut started) = mpsc::unbounded_channel();
    let spec = ChildSpec::worker("reporter", move |ctx| {
        let reporter = Reporter {
            started: sender.clone(),
        };
        async move {
            let server = ServerRef::start_link(&ctx, reporter, SpawnOptions::new()).await?;
            Ok(server.pid().into())
        }
    });
    let flags = SupervisorFlags::new(Strategy::OneForOne)
        .max_restarts(u32::MAX)
        .max_seconds(1);
    let supervisor = runtime
        .block_on(Supervisor::start(
            &node,
            flags,
            vec![spec],
            SpawnOptions::new(),
        ))
        .expect("the supervisor starts");
    let mut current = runtime
        .block_on(started.recv())
        .expect("the first worker started");
    let mut group = c.benchmark_group("restart");
    group.throughput(Throughput::Elements(1));
    group.bench_function("kill_permanent_worker", |b| {
        b.iter_custom(|iters| {
            let node = node.clone();
            let mut receiver = std::mem::replace(&mut started, mpsc::unbounded_channel().1);
            let mut pid = current;
            let (pid, receiver, elapsed) = runtime
                .block_on(runtime.spawn(async move {
                    let began = Instant::now();
                    for _ in 0..iters {
                        node.exit(pid, ExitReason::Kill).unwrap();
                        pid = receiver.recv().await.unwrap();
                    }
                    (pid, receiver, began.elapsed())
                }))
                .unwrap();
            current = pid;
            started = receiver;
            elapsed
        });
    });
    group.finish();
    runtime
        .block_on(supervisor.stop(ExitReason::Shutdown))
        .unwrap();
}

criterion_group!(benches, restart);
criterion_main!(benches);
