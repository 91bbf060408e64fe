//! Property: whatever a node goes through (spawns, kills, stops, crashes, links, messages,
//! supervisor restarts), a subscriber that applies every delta to its first full snapshot
//! ends up with exactly what a fresh full snapshot holds: no ghost, no missing process, no
//! stale value. Nothing is left out of the comparison (counters and start times included);
//! only the snapshot headers (`seq`, `taken_at_unix_ms`) differ, which
//! `Snapshot::same_processes` does not compare. A second subscriber with a tiny queue, rarely
//! drained, falls behind and is resynced along the way (at the end for certain, with a death
//! while it is behind), and must converge too. Neither view misses a death: every process a
//! view ever held and no longer holds has its `Exited` event in the view's feed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod snapshot_support;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use otpscope_runtime::observe::{ObserveOptions, observe_with};
use otpscope_runtime::{
    Agent, CallError, ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, ExitReason,
    Inbox, Message, Node, Pid, SpawnOptions, StartError, Started, Strategy as Restarts, Supervisor,
    SupervisorFlags,
};
use proptest::prelude::*;
use snapshot_support::View;

/// What a test worker can be asked to do.
enum Work {
    /// Spawn a child (linked or not).
    Spawn { link: bool },
    /// Link to a process.
    Link(Pid),
    /// Unlink from a process.
    Unlink(Pid),
    /// Monitor a process.
    Monitor(Pid),
    /// Turn trap_exit on or off.
    Trap(bool),
    /// Exit with this reason.
    Stop(ExitReason),
    /// Nothing: a message handled.
    Ping,
}

type Body = Pin<Box<dyn Future<Output = ExitReason> + Send>>;

fn worker(ctx: Context, mut inbox: Inbox<Work>) -> Body {
    Box::pin(async move {
        loop {
            match inbox.recv().await {
                Message::User(Work::Spawn { link: true }) => {
                    ctx.spawn_link(worker);
                }
                Message::User(Work::Spawn { link: false }) => {
                    ctx.spawn(worker);
                }
                Message::User(Work::Link(pid)) => ctx.link(pid),
                Message::User(Work::Unlink(pid)) => ctx.unlink(pid),
                Message::User(Work::Monitor(pid)) => {
                    ctx.monitor(pid);
                }
                Message::User(Work::Trap(trap)) => {
                    ctx.trap_exit(trap);
                }
                Message::User(Work::Stop(reason)) => return reason,
                Message::User(Work::Ping) | Message::Exit(_) | Message::Down(_) => {}
            }
        }
    })
}

#[derive(Clone, Debug)]
enum Op {
    /// A new root worker.
    SpawnRoot,
    /// Worker `n` spawns a child.
    Spawn(usize, bool),
    /// A bucket under the dynamic supervisor.
    StartBucket,
    /// Kill process `n` (any kind).
    Kill(usize),
    /// Exit process `n` with a custom reason.
    Crash(usize),
    /// Worker `n` stops itself (normal or shutdown).
    Stop(usize, bool),
    /// Worker `n` links to process `m`.
    Link(usize, usize),
    /// Worker `n` unlinks from process `m`.
    Unlink(usize, usize),
    /// Worker `n` monitors process `m`.
    Monitor(usize, usize),
    /// Worker `n` traps exits (or stops trapping).
    Trap(usize, bool),
    /// Worker `n` gets a few messages.
    Send(usize, u8),
    /// Let the subscriber run a tick or two, applying what came.
    Pause(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..64_usize;
    prop_oneof![
        2 => Just(Op::SpawnRoot),
        4 => (n.clone(), any::<bool>()).prop_map(|(n, link)| Op::Spawn(n, link)),
        2 => Just(Op::StartBucket),
        2 => n.clone().prop_map(Op::Kill),
        2 => n.clone().prop_map(Op::Crash),
        2 => (n.clone(), any::<bool>()).prop_map(|(n, normal)| Op::Stop(n, normal)),
        2 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::Link(a, b)),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::Unlink(a, b)),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::Monitor(a, b)),
        1 => (n.clone(), any::<bool>()).prop_map(|(n, trap)| Op::Trap(n, trap)),
        3 => (n.clone(), 1..4_u8).prop_map(|(n, count)| Op::Send(n, count)),
        2 => (0..6_u8).prop_map(Op::Pause),
    ]
}

/// Live processes, in pid order, and those of them that take [`Work`].
fn live(node: &Node) -> (Vec<Pid>, Vec<Pid>) {
    let all: Vec<Pid> = node.processes().iter().map(|info| info.pid).collect();
    let workers = all
        .iter()
        .copied()
        .filter(|pid| node.addr::<Work>(*pid).is_some())
        .collect();
    (all, workers)
}

fn pick(pids: &[Pid], n: usize) -> Option<Pid> {
    (!pids.is_empty()).then(|| pids[n % pids.len()])
}

fn send(node: &Node, pids: &[Pid], n: usize, work: Work) {
    if let Some(pid) = pick(pids, n) {
        node.send(pid, work).ok();
    }
}

async fn run(ops: Vec<Op>, interval_ms: u64) {
    let node = Node::new("property");
    // A supervisor that restarts its workers, and a dynamic one for buckets.
    let sup_worker = |id: &str| {
        ChildSpec::worker(id.to_owned(), |ctx| async move {
            Ok(ctx.spawn_link(worker).pid().into())
        })
    };
    Supervisor::start(
        &node,
        SupervisorFlags::new(Restarts::OneForOne).max_restarts(1_000),
        vec![sup_worker("a"), sup_worker("b")],
        SpawnOptions::new().label("Top"),
    )
    .await
    .unwrap();
    let buckets = DynamicSupervisor::start(
        &node,
        DynamicSupervisorFlags::default().intensity(1_000, 1),
        SpawnOptions::new().label("Buckets"),
    )
    .await
    .unwrap();
    node.spawn(worker);

    let mut view = View::new(
        observe_with(
            &node,
            ObserveOptions::new(Duration::from_millis(interval_ms)),
        )
        .unwrap(),
    );
    view.drain();
    assert_eq!(view.fulls, 1);
    // A second subscriber with a tiny queue, drained only now and then: it falls behind and
    // is resynced, and must end up in the same place.
    let mut laggard = View::new(
        observe_with(
            &node,
            ObserveOptions::new(Duration::from_millis(1)).queue_capacity(2),
        )
        .unwrap(),
    );
    laggard.drain();

    for op in ops {
        let (all, workers) = live(&node);
        match op {
            Op::SpawnRoot => {
                node.spawn(worker);
            }
            Op::Spawn(n, link) => send(&node, &workers, n, Work::Spawn { link }),
            Op::StartBucket => {
                if buckets.is_alive() {
                    let spec = ChildSpec::worker("bucket", |ctx| async move {
                        let agent =
                            Agent::start_link(&ctx, || 0_u64, SpawnOptions::new().label("Bucket"))
                                .await?;
                        Ok(Started::Pid(agent.pid()))
                    });
                    match buckets.start_child(spec).await {
                        Ok(Started::Pid(_)) => {}
                        // Killed or crashed by an earlier op after the check above.
                        Err(StartError::Supervisor(
                            CallError::NoProc(pid) | CallError::Exited { pid, .. },
                        )) if pid == buckets.pid() => {
                            assert!(!buckets.is_alive(), "start_child: {pid} is alive");
                        }
                        other => panic!("start_child: {other:?}"),
                    }
                }
            }
            Op::Kill(n) => {
                if let Some(pid) = pick(&all, n) {
                    node.exit(pid, ExitReason::Kill).ok();
                }
            }
            Op::Crash(n) => {
                if let Some(pid) = pick(&all, n) {
                    node.exit(pid, ExitReason::custom("boom")).ok();
                }
            }
            Op::Stop(n, normal) => {
                let reason = if normal {
                    ExitReason::Normal
                } else {
                    ExitReason::Shutdown
                };
                send(&node, &workers, n, Work::Stop(reason));
            }
            Op::Link(n, m) => {
                if let Some(target) = pick(&all, m) {
                    send(&node, &workers, n, Work::Link(target));
                }
            }
            Op::Unlink(n, m) => {
                if let Some(target) = pick(&all, m) {
                    send(&node, &workers, n, Work::Unlink(target));
                }
            }
            Op::Monitor(n, m) => {
                if let Some(target) = pick(&all, m) {
                    send(&node, &workers, n, Work::Monitor(target));
                }
            }
            Op::Trap(n, trap) => send(&node, &workers, n, Work::Trap(trap)),
            Op::Send(n, count) => {
                for _ in 0..count {
                    send(&node, &workers, n, Work::Ping);
                }
            }
            Op::Pause(ms) => {
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                view.drain();
                if ms % 2 == 0 {
                    laggard.drain();
                }
            }
        }
    }
    resync_with_a_death(&node, &mut laggard).await;
    view.converge(&node).await;
    laggard.converge(&node).await;
    assert!(laggard.fulls > 1, "the laggard was never resynced");
    for view in [&mut view, &mut laggard] {
        assert_eq!(view.missed, 0, "events were dropped");
        view.wait_for_every_death().await;
    }
}

/// Makes `laggard` fall behind with a death it has not seen, and waits for its resync: a
/// worker is spawned and, once the laggard's queue is full (holding that spawn, usually), killed;
/// the laggard's next tick has no room for the death, so it must resync. Repeated until the
/// resync comes (with a deadline), since another change may take the queue's room first.
async fn resync_with_a_death(node: &Node, laggard: &mut View) {
    let fulls = laggard.fulls;
    let started = Instant::now();
    while laggard.fulls == fulls {
        assert!(
            started.elapsed() < snapshot_support::DEADLINE,
            "the laggard was never resynced"
        );
        laggard.drain();
        let victim = node.spawn(worker).pid();
        for _ in 0..20 {
            if laggard.subscription.queued() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        node.exit(victim, ExitReason::Kill).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        laggard.drain();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn applying_every_delta_to_the_first_snapshot_equals_a_fresh_full_snapshot(
        ops in proptest::collection::vec(op(), 1..60),
        interval_ms in 1..8_u64,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(ops, interval_ms));
    }
}
