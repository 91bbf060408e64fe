//! The snapshot stream: the shape of a full snapshot, subscriptions (fan-out, intervals, falling
//! behind, dropping), and control commands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod snapshot_support;
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use otpscope_runtime::observe::model::{
    self, AppCommand, AppSpec, ArgKind, ArgSpec, CommandSpec, ExitReason, Pid, ProcessKind, Status,
};
use otpscope_runtime::observe::{
    AppControl, AppFuture, Command, CommandError, Control, ObserveOptions, Reply, Update,
    full_snapshot, observe, observe_with,
};
use otpscope_runtime::{
    Agent, ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, Inbox, Node, Restart,
    SpawnOptions, Strategy, Supervisor, SupervisorFlags,
};
use snapshot_support::View;
use support::{exit_of, wait_until};

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A plain process that waits for messages until it is stopped.
fn idle(node: &Node) -> otpscope_runtime::Pid {
    node.spawn(|_ctx: Context, mut inbox: Inbox<()>| async move {
        loop {
            inbox.recv().await;
        }
        #[allow(unreachable_code)]
        ()
    })
    .pid()
}

fn bucket_spec(id: String) -> ChildSpec {
    ChildSpec::worker(id, |ctx| async move {
        let bucket = Agent::start_link(
            &ctx,
            HashMap::<String, String>::new,
            SpawnOptions::new().label("KV.Bucket"),
        )
        .await?;
        Ok(bucket.pid().into())
    })
    .restart(Restart::Temporary)
}

/// KV.Supervisor (one_for_all) over a dynamic bucket supervisor and a registry agent, with
/// three buckets, as the chapter's tree.
async fn kv_tree(node: &Node) -> (Supervisor, DynamicSupervisor, Vec<otpscope_runtime::Pid>) {
    let buckets = DynamicSupervisor::child_spec(
        "KV.BucketSupervisor",
        DynamicSupervisorFlags::default().max_children(10),
        SpawnOptions::new()
            .label("KV.BucketSupervisor")
            .name("kv.buckets"),
    );
    let registry = ChildSpec::worker("KV.Registry", |ctx| async move {
        let agent = Agent::start_link(
            &ctx,
            || 0_u32,
            SpawnOptions::new().label("KV.Registry").name("kv.registry"),
        )
        .await?;
        Ok(agent.pid().into())
    });
    let supervisor = Supervisor::start(
        node,
        SupervisorFlags::new(Strategy::OneForAll),
        vec![buckets, registry],
        SpawnOptions::new().label("KV.Supervisor"),
    )
    .await
    .unwrap();
    let dynamic = DynamicSupervisor::whereis(node, "kv.buckets").unwrap();
    let mut bucket_pids = Vec::new();
    for i in 0..3 {
        let started = dynamic
            .start_child(bucket_spec(format!("bucket{i}")))
            .await
            .unwrap();
        bucket_pids.push(started_pid(started));
    }
    (supervisor, dynamic, bucket_pids)
}

fn started_pid(started: otpscope_runtime::Started) -> otpscope_runtime::Pid {
    match started {
        otpscope_runtime::Started::Pid(pid) => pid,
        otpscope_runtime::Started::Ignore => panic!("the child was ignored"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_snapshot_shows_the_supervision_tree_in_start_order() {
    let node = Node::new("shape");
    let (supervisor, dynamic, buckets) = kv_tree(&node).await;
    let loner = idle(&node);
    let registry = node.whereis("kv.registry").unwrap();

    let snapshot = full_snapshot(&node);
    assert_eq!(&*snapshot.node, "shape");
    assert_eq!(snapshot.format_version, model::FORMAT_VERSION);
    assert_eq!(snapshot.len(), 7);
    let roots: Vec<Pid> = snapshot.roots().map(|info| info.pid).collect();
    assert_eq!(roots, vec![Pid::from(supervisor.pid()), Pid::from(loner)]);

    let top = snapshot.process(supervisor.pid().into()).unwrap();
    assert_eq!(&*top.label, "KV.Supervisor");
    assert_eq!(
        top.kind,
        ProcessKind::Supervisor {
            strategy: model::Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5
        }
    );
    assert_eq!(top.parent, None);
    assert!(top.trap_exit);
    let children: Vec<Pid> = snapshot.children_of(top.pid).map(|info| info.pid).collect();
    assert_eq!(
        children,
        vec![Pid::from(dynamic.pid()), Pid::from(registry)],
        "children in child-spec order"
    );

    let bucket_supervisor = snapshot.process(dynamic.pid().into()).unwrap();
    assert_eq!(&*bucket_supervisor.label, "KV.BucketSupervisor");
    assert_eq!(bucket_supervisor.name.as_deref(), Some("kv.buckets"));
    assert_eq!(
        bucket_supervisor.kind,
        ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: Some(10)
        }
    );
    assert_eq!(bucket_supervisor.parent, Some(top.pid));
    assert_eq!(
        bucket_supervisor.child_id.as_deref(),
        Some("KV.BucketSupervisor")
    );
    assert_eq!(bucket_supervisor.shutdown, Some(model::Shutdown::Infinity));
    assert_eq!(bucket_supervisor.restart, Some(model::Restart::Permanent));
    let bucket_pids: Vec<Pid> = snapshot
        .children_of(bucket_supervisor.pid)
        .map(|info| info.pid)
        .collect();
    assert_eq!(
        bucket_pids,
        buckets.iter().copied().map(Pid::from).collect::<Vec<_>>()
    );

    for pid in &bucket_pids {
        let bucket = snapshot.process(*pid).unwrap();
        assert_eq!(&*bucket.label, "KV.Bucket");
        assert_eq!(bucket.kind, ProcessKind::Agent);
        assert_eq!(bucket.restart, Some(model::Restart::Temporary));
        assert_eq!(bucket.shutdown, Some(model::Shutdown::TimeoutMs(5000)));
        assert!(bucket.links.contains(&bucket_supervisor.pid));
        assert!(matches!(bucket.status, Status::Waiting | Status::Running));
    }
    let registry_info = snapshot.process(registry.into()).unwrap();
    assert_eq!(registry_info.kind, ProcessKind::Agent);
    assert_eq!(registry_info.display_name(), "kv.registry");
    assert_eq!(
        snapshot.ancestors(bucket_pids[0]),
        vec![bucket_supervisor.pid, top.pid]
    );

    // A subscription starts with the same snapshot.
    let mut subscription = observe(&node, ms(50)).unwrap();
    let Some(Update::Full(first)) = subscription.try_recv() else {
        panic!("a subscription starts with a full snapshot");
    };
    let pids = |snapshot: &model::Snapshot| {
        snapshot
            .processes()
            .map(|info| info.pid)
            .collect::<Vec<_>>()
    };
    assert_eq!(pids(&first), pids(&snapshot));
    assert_eq!(first.root_pids(), snapshot.root_pids());
}

/// Above the size from which a full read is shared between threads (10,000).
const LARGE: usize = 25_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_node_read_on_several_threads_matches_the_runtime_process_by_process() {
    let node = Node::new("large");
    let root = node
        .spawn(|ctx: Context, mut inbox: Inbox<()>| async move {
            for _ in 0..LARGE {
                ctx.spawn_link(|_ctx: Context, mut inbox: Inbox<()>| async move {
                    loop {
                        inbox.recv().await;
                    }
                    #[allow(unreachable_code)]
                    ()
                });
            }
            loop {
                inbox.recv().await;
            }
            #[allow(unreachable_code)]
            ()
        })
        .pid();
    wait_until("every child started", || node.process_count() == LARGE + 1).await;

    let snapshot = full_snapshot(&node);
    let infos = node.processes();
    assert_eq!(snapshot.len(), LARGE + 1);
    assert_eq!(infos.len(), LARGE + 1);
    let pids: Vec<Pid> = snapshot.processes().map(|info| info.pid).collect();
    assert!(
        pids.windows(2).all(|pair| pair[0] < pair[1]),
        "in pid order"
    );
    for info in &infos {
        let entry = snapshot.process(info.pid.into()).unwrap();
        let model = |pids: &[otpscope_runtime::Pid]| -> Vec<Pid> {
            pids.iter().map(|pid| Pid::from(*pid)).collect()
        };
        assert_eq!(entry.parent, info.parent.map(Pid::from));
        assert_eq!(entry.children.to_vec(), model(&info.children));
        assert_eq!(entry.links.to_vec(), model(&info.links));
        assert_eq!(entry.label, info.label);
    }
    let roots: Vec<Pid> = snapshot.roots().map(|info| info.pid).collect();
    assert_eq!(roots, vec![Pid::from(root)]);
    let children = &snapshot.process(root.into()).unwrap().children;
    assert_eq!(children.len(), LARGE);
    assert!(
        children.windows(2).all(|pair| pair[0] < pair[1]),
        "in start order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_follow_spawns_restarts_and_deaths_and_the_feed_names_them() {
    let node = Node::new("deltas");
    let (supervisor, dynamic, buckets) = kv_tree(&node).await;
    let mut view = View::new(observe(&node, ms(5)).unwrap());
    view.drain();
    assert_eq!(view.fulls, 1);

    // A death, a restart by the one_for_all supervisor, new children.
    let registry = node.whereis("kv.registry").unwrap();
    node.exit(registry, otpscope_runtime::ExitReason::Kill)
        .unwrap();
    wait_until("the tree restarts", || {
        node.whereis("kv.registry")
            .is_some_and(|pid| pid != registry)
            && DynamicSupervisor::whereis(&node, "kv.buckets")
                .is_some_and(|sup| sup.pid() != dynamic.pid())
    })
    .await;
    view.converge(&node).await;
    let snapshot = view.snapshot();
    assert!(!snapshot.contains(registry.into()));
    for bucket in &buckets {
        assert!(
            !snapshot.contains((*bucket).into()),
            "temporary buckets are gone"
        );
        assert_eq!(
            view.exit_seen((*bucket).into()),
            Some(ExitReason::Shutdown),
            "the feed says why each bucket went"
        );
    }
    assert_eq!(view.exit_seen(registry.into()), Some(ExitReason::Killed));
    assert!(view.events.iter().any(|event| matches!(
        &event.kind,
        model::EventKind::Restarted { supervisor: sup, old, .. }
            if *sup == Pid::from(supervisor.pid()) && *old == Pid::from(registry)
    )));
    let top = snapshot.process(supervisor.pid().into()).unwrap();
    assert_eq!(top.children.len(), 2);
    assert!(view.deltas >= 1);
}

/// On paused time: the clock cannot reach the first tick while the process lives, since it
/// moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn a_process_born_and_gone_between_two_ticks_is_still_seen_exiting() {
    let node = Node::new("blink");
    let keeper = idle(&node);
    let subscribed = tokio::time::Instant::now();
    let mut view = View::new(observe(&node, ms(200)).unwrap());
    view.drain();
    let blink = node
        .spawn(|_ctx: Context, _inbox: Inbox<()>| async move {
            otpscope_runtime::ExitReason::custom("blink")
        })
        .pid();
    exit_of(&node, blink).await;
    assert!(
        subscribed.elapsed() < ms(200),
        "born and gone before the first tick"
    );
    assert_eq!(
        view.wait_for_exit(blink.into()).await,
        ExitReason::custom("blink")
    );
    view.converge(&node).await;
    assert!(!view.snapshot().contains(blink.into()));
    assert!(view.snapshot().contains(keeper.into()));
    assert!(
        !view.held.contains(&blink.into()),
        "no delta ever showed it: only its exit says it lived"
    );
}

/// On paused time: the burst yields to the other tasks (the processes, the subscriber's task)
/// but never waits on a timer, so the clock stands still and no tick comes during it. The
/// spawner is a task, as a process is: on a current-thread runtime the test's own future is
/// polled again before the tasks it woke have all run, which would starve the subscriber.
#[tokio::test(start_paused = true)]
async fn a_burst_larger_than_the_feed_between_two_ticks_loses_no_event() {
    let node = Node::new("burst");
    let subscribed = tokio::time::Instant::now();
    let mut view = View::new(observe(&node, ms(3_000)).unwrap());
    view.drain();
    // Twice the feed's capacity in events (a spawn and an exit each), within one tick; the
    // spawner yields now and then, as any process does between messages.
    let count = node.introspect().event_capacity();
    let spawner = node.clone();
    let burst = tokio::spawn(async move {
        let mut pids = Vec::with_capacity(count);
        for i in 0..count {
            let pid = spawner
                .spawn(|_ctx: Context, _inbox: Inbox<()>| async move {
                    otpscope_runtime::ExitReason::custom("burst")
                })
                .pid();
            pids.push(pid);
            if i % 1_000 == 0 {
                tokio::task::yield_now().await;
            }
        }
        pids
    });
    let pids = burst.await.unwrap();
    let last = *pids.last().unwrap();
    exit_of(&node, last).await;
    assert_eq!(
        subscribed.elapsed(),
        Duration::ZERO,
        "the whole burst came before the first tick"
    );
    assert_eq!(view.subscription.queued(), 0);
    view.wait_for_exit(last.into()).await;
    assert_eq!(view.missed, 0, "no event was dropped");
    assert_eq!(view.fulls, 1, "no resync was needed");
    let exits: HashMap<Pid, &ExitReason> = view
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            model::EventKind::Exited { pid, reason } => Some((*pid, reason)),
            _ => None,
        })
        .collect();
    for pid in &pids {
        assert_eq!(
            exits.get(&(*pid).into()),
            Some(&&ExitReason::custom("burst"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_subscriber_on_its_own_thread_ticks_while_the_nodes_workers_are_busy() {
    let node = Node::new("busy");
    let worker = idle(&node);
    let threads = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = threads.clone();
    let options = ObserveOptions::new(ms(5))
        .on_own_thread()
        .on_update(move || {
            let name = std::thread::current().name().map(str::to_owned);
            seen.lock().push(name);
        });
    let mut subscription = observe_with(&node, options).unwrap();
    assert!(matches!(subscription.recv().await, Some(Update::Full(_))));
    // The node's only worker taken for 3 s by a task that never awaits; meanwhile a message
    // is queued for the idle process (it cannot run to take it).
    let busy_over = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over = busy_over.clone();
    tokio::spawn(async move {
        std::thread::sleep(Duration::from_secs(3));
        over.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    node.send(worker, ()).unwrap();
    loop {
        match subscription.recv().await {
            Some(Update::Delta(delta))
                if delta
                    .changed
                    .iter()
                    .any(|info| info.pid == Pid(worker.serial())) =>
            {
                break;
            }
            Some(_) => {}
            None => panic!("the subscription closed"),
        }
    }
    assert!(
        !busy_over.load(std::sync::atomic::Ordering::SeqCst),
        "the delta came while the node's worker was busy"
    );
    assert!(
        threads
            .lock()
            .iter()
            .all(|name| name.as_deref() == Some("otpscope-observers")),
        "{:?}",
        threads.lock()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_resynced_with_a_full_snapshot_and_sees_the_deaths() {
    let node = Node::new("slow");
    let workers: Vec<_> = (0..20).map(|_| idle(&node)).collect();
    let mut slow =
        View::new(observe_with(&node, ObserveOptions::new(ms(2)).queue_capacity(4)).unwrap());
    let mut witness = View::new(observe(&node, ms(2)).unwrap());
    let first = slow.subscription.try_recv().unwrap();
    slow.apply(first);
    assert_eq!(slow.fulls, 1);

    // Changes until the slow queue is full (the test never drains it meanwhile).
    let mut round = 0_usize;
    wait_until("the slow queue fills up", || {
        round += 1;
        node.send(workers[round % workers.len()], ()).ok();
        slow.subscription.queued() == 4
    })
    .await;
    let killed = &workers[..10];
    for pid in killed {
        node.exit(*pid, otpscope_runtime::ExitReason::Kill).unwrap();
    }
    for pid in killed {
        exit_of(&node, *pid).await;
    }
    // The witness ticks as often: once it has seen the deaths and many more ticks, the slow
    // subscriber has tried to flush them into its full queue, and fell behind.
    witness.converge(&node).await;
    let seen = witness.deltas + witness.fulls;
    wait_until("the witness ticks on", || {
        round += 1;
        node.send(workers[10 + round % 10], ()).ok();
        witness.drain();
        witness.deltas + witness.fulls >= seen + 20
    })
    .await;
    assert_eq!(
        slow.subscription.queued(),
        4,
        "nobody drained the slow queue"
    );

    slow.drain();
    slow.converge(&node).await;
    assert_eq!(
        slow.fulls, 2,
        "the slow subscriber was resynced with a full snapshot"
    );
    for pid in killed {
        assert!(
            !slow.snapshot().contains((*pid).into()),
            "no ghost of {pid}"
        );
        assert_eq!(slow.exit_seen((*pid).into()), Some(ExitReason::Killed));
    }
    assert_eq!(slow.missed, 0);
}

/// What a [`flooder`] is asked to do, all in one go: nothing else runs on its thread meanwhile.
struct Flood {
    /// Killed first. Idle agents have no task yet, so each dies on the spot, its exit in the
    /// feed before the flood.
    victims: Vec<otpscope_runtime::Pid>,
    /// Then this many links and unlinks with `partner`: two events each.
    pairs: usize,
    partner: otpscope_runtime::Pid,
    done: tokio::sync::oneshot::Sender<()>,
}

/// A process that floods the node's event feed on demand (see [`Flood`]).
fn flooder(node: &Node) -> otpscope_runtime::Addr<Flood> {
    node.spawn(|ctx: Context, mut inbox: Inbox<Flood>| async move {
        while let otpscope_runtime::Message::User(flood) = inbox.recv().await {
            for victim in flood.victims {
                ctx.exit(victim, otpscope_runtime::ExitReason::Kill)
                    .unwrap();
            }
            for _ in 0..flood.pairs {
                ctx.link(flood.partner);
                ctx.unlink(flood.partner);
            }
            flood.done.send(()).ok();
        }
    })
}

/// Has `flooder` kill `victims`, then make `pairs` link and unlink pairs with `partner`, and
/// waits until it has.
async fn flood(
    flooder: &otpscope_runtime::Addr<Flood>,
    victims: &[otpscope_runtime::Pid],
    pairs: usize,
    partner: otpscope_runtime::Pid,
) {
    let (done, finished) = tokio::sync::oneshot::channel();
    let request = Flood {
        victims: victims.to_vec(),
        pairs,
        partner,
        done,
    };
    assert!(flooder.send(request).is_ok(), "the flooder lives");
    support::within("the flood", finished).await.unwrap();
}

/// `count` idle agents: they get no task until their first message.
async fn idle_agents(node: &Node, count: usize) -> Vec<otpscope_runtime::Pid> {
    let mut pids = Vec::new();
    for _ in 0..count {
        let agent = Agent::start(node, || 0_u32, SpawnOptions::new().label("Victim"))
            .await
            .unwrap();
        pids.push(agent.pid());
    }
    pids
}

/// On one thread (a current-thread runtime), the flood runs from start to end before any
/// other task, so nobody reads the node's feed before it overflows.
#[tokio::test]
async fn the_collector_rereads_everything_when_the_feed_overflowed_before_it_read_it() {
    let node = Node::new("overflow");
    let partner = idle(&node);
    let flooder = flooder(&node);
    let victims = idle_agents(&node, 3).await;
    let mut collector = otpscope_runtime::observe::Collector::new(&node).unwrap();
    for victim in &victims {
        assert!(collector.snapshot().contains((*victim).into()));
    }
    let capacity = node.introspect().event_capacity();
    let seq = node.introspect().next_event_seq();
    flood(&flooder, &victims, capacity, partner).await;
    let dropped = (victims.len() + capacity) as u64;
    assert_eq!(
        node.introspect().next_event_seq() - seq,
        dropped + capacity as u64
    );

    let collected = collector.collect();
    assert!(collected.resynced, "the collector read everything again");
    assert_eq!(collected.missed_events, dropped);
    assert_eq!(collected.events.len(), capacity, "what the feed still held");
    assert!(
        collected.delta.is_empty(),
        "a resync is read from the snapshot"
    );
    let fresh = full_snapshot(&node);
    assert!(collector.snapshot().same_processes(&fresh));
    for victim in &victims {
        assert!(!collector.snapshot().contains((*victim).into()), "no ghost");
    }
    // Back to deltas once it has caught up.
    let newcomer = idle(&node);
    let collected = collector.collect();
    assert!(!collected.resynced);
    assert_eq!(collected.missed_events, 0);
    let added: Vec<Pid> = collected.delta.added.iter().map(|info| info.pid).collect();
    assert_eq!(added, [Pid::from(newcomer)]);
}

/// As above, through a subscription: the subscriber gets a full snapshot, told how many
/// events it missed; the deaths among them are gone from that snapshot.
#[tokio::test]
async fn a_feed_that_overflowed_before_it_was_read_resyncs_the_view_with_no_ghost() {
    let node = Node::new("overflow");
    let partner = idle(&node);
    let flooder = flooder(&node);
    let victims = idle_agents(&node, 3).await;
    let mut view = View::new(observe(&node, ms(5)).unwrap());
    view.converge(&node).await;
    for victim in &victims {
        assert!(view.snapshot().contains((*victim).into()));
    }
    let capacity = node.introspect().event_capacity();
    flood(&flooder, &victims, capacity, partner).await;

    view.converge(&node).await;
    assert_eq!(view.fulls, 2, "resynced with a full snapshot");
    assert_eq!(view.missed, (victims.len() + capacity) as u64);
    for victim in &victims {
        assert!(!view.snapshot().contains((*victim).into()), "no ghost");
        assert_eq!(
            view.exit_seen((*victim).into()),
            None,
            "its exit was among the events dropped, and counted in `missed`"
        );
    }
}

/// On paused time: the subscriber's one tick comes when the test moves the clock, after the
/// whole flood. The flood comes in chunks of a quarter of the node's feed, which the hub
/// empties as it fills (no resync for the node's feed); the subscriber's pending events pass
/// [`MAX_PENDING_EVENTS`](otpscope_runtime::observe::stream::MAX_PENDING_EVENTS).
#[tokio::test(start_paused = true)]
async fn a_subscriber_with_more_events_pending_than_it_may_keep_is_resynced_and_told_how_many_it_missed()
 {
    use otpscope_runtime::observe::stream::MAX_PENDING_EVENTS;
    let node = Node::new("pending");
    let partner = idle(&node);
    let flooder = flooder(&node);
    let early = idle_agents(&node, 3).await;
    let late = idle_agents(&node, 3).await;
    let interval = Duration::from_secs(60);
    let mut view = View::new(observe(&node, interval).unwrap());
    view.drain();
    assert_eq!(view.fulls, 1);

    let seq = node.introspect().next_event_seq();
    flood(&flooder, &early, 0, partner).await;
    let chunk = node.introspect().event_capacity() / 8;
    let mut pairs = MAX_PENDING_EVENTS / 2 + 1_000;
    while pairs > 0 {
        let now = pairs.min(chunk);
        flood(&flooder, &[], now, partner).await;
        pairs -= now;
        // Every task runs before the clock moves: the hub empties the feed.
        tokio::time::sleep(ms(1)).await;
    }
    flood(&flooder, &late, 0, partner).await;
    let total = node.introspect().next_event_seq() - seq;
    assert_eq!(view.subscription.queued(), 0, "no tick yet");

    tokio::time::sleep(interval).await;
    view.converge(&node).await;
    assert_eq!(view.fulls, 2, "resynced with a full snapshot");
    assert_eq!(view.missed, total - MAX_PENDING_EVENTS as u64);
    assert_eq!(
        view.events.len(),
        MAX_PENDING_EVENTS,
        "the newest were kept"
    );
    assert_eq!(
        view.events.last().unwrap().seq,
        node.introspect().next_event_seq() - 1
    );
    for victim in &early {
        assert!(!view.snapshot().contains((*victim).into()), "no ghost");
        assert_eq!(
            view.exit_seen((*victim).into()),
            None,
            "counted in `missed`"
        );
    }
    for victim in &late {
        assert!(!view.snapshot().contains((*victim).into()), "no ghost");
        assert_eq!(
            view.exit_seen((*victim).into()),
            Some(ExitReason::Killed),
            "a death among the events kept is seen"
        );
    }
}

/// On paused time, so that each subscriber ticks exactly at its interval: over 300 ms with a
/// change every millisecond, the 5 ms one sends 60 deltas and the 100 ms one 3.
#[tokio::test(start_paused = true)]
async fn two_subscribers_with_different_intervals_share_the_node_and_both_keep_up() {
    let node = Node::new("two");
    let workers: Vec<_> = (0..5).map(|_| idle(&node)).collect();
    let mut fast = View::new(observe(&node, ms(5)).unwrap());
    let mut slow = View::new(observe(&node, ms(100)).unwrap());
    fast.drain();
    slow.drain();
    assert_eq!((fast.fulls, slow.fulls), (1, 1));

    for round in 0..300 {
        node.send(workers[round % workers.len()], ()).unwrap();
        tokio::time::sleep(ms(1)).await;
    }
    // Past the ticks at 300 ms, with nothing more changing.
    tokio::time::sleep(ms(2)).await;
    fast.drain();
    slow.drain();
    assert_eq!((fast.deltas, slow.deltas), (60, 3));

    // Both see every change, though they share one change list.
    let newcomer = idle(&node);
    node.exit(workers[0], otpscope_runtime::ExitReason::custom("boom"))
        .unwrap();
    exit_of(&node, workers[0]).await;
    fast.converge(&node).await;
    slow.converge(&node).await;
    for view in [&fast, &slow] {
        assert!(view.snapshot().contains(newcomer.into()));
        assert!(!view.snapshot().contains(workers[0].into()));
        assert_eq!(
            view.exit_seen(workers[0].into()),
            Some(ExitReason::custom("boom"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_subscription_stops_change_tracking() {
    let node = Node::new("drop");
    let worker = idle(&node);
    assert!(!node.introspect().is_tracking_changes());
    let first = observe(&node, ms(5)).unwrap();
    let second = observe(&node, ms(7)).unwrap();
    assert!(node.introspect().is_tracking_changes());
    drop(first);
    node.send(worker, ()).unwrap();
    assert!(
        node.introspect().is_tracking_changes(),
        "one subscriber remains"
    );
    drop(second);
    wait_until("tracking stops", || {
        !node.introspect().is_tracking_changes()
    })
    .await;

    // Observing again starts afresh and sees later changes.
    let mut view = View::new(observe(&node, ms(5)).unwrap());
    let later = idle(&node);
    node.send(worker, ()).unwrap();
    view.converge(&node).await;
    assert!(view.snapshot().contains(later.into()));
    assert_eq!(
        view.snapshot()
            .process(worker.into())
            .unwrap()
            .messages_handled,
        2
    );
    drop(view);
    wait_until("tracking stops again", || {
        !node.introspect().is_tracking_changes()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_dead_or_unknown_pids_fail_with_clear_errors() {
    let node = Node::new("control");
    let control = Control::new(&node);
    let unknown = Pid(1_000_000);
    let error = control
        .execute(Command::Exit {
            pid: unknown,
            reason: ExitReason::Kill,
        })
        .await
        .unwrap_err();
    assert_eq!(error, CommandError::NoProcess(unknown));
    assert_eq!(error.to_string(), "no process <0.1000000.0>");
    assert_eq!(
        control.execute(Command::GetState { pid: unknown }).await,
        Err(CommandError::NoProcess(unknown))
    );

    let victim = idle(&node);
    assert_eq!(
        control
            .execute(Command::Exit {
                pid: victim.into(),
                reason: ExitReason::custom("boom"),
            })
            .await,
        Ok(Reply::Done)
    );
    assert_eq!(
        exit_of(&node, victim).await,
        otpscope_runtime::ExitReason::custom("boom")
    );
    let dead = CommandError::Dead {
        pid: victim.into(),
        reason: ExitReason::custom("boom"),
    };
    let again = control
        .execute(Command::Exit {
            pid: victim.into(),
            reason: ExitReason::Kill,
        })
        .await;
    assert_eq!(again, Err(dead.clone()));
    assert_eq!(
        dead.to_string(),
        format!("process {} is dead (exited: boom)", victim)
    );
    assert_eq!(
        control
            .execute(Command::GetState { pid: victim.into() })
            .await,
        Err(dead)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_state_describes_supervisors_and_says_when_a_process_cannot() {
    let node = Node::new("state");
    let (supervisor, _dynamic, _buckets) = kv_tree(&node).await;
    let control = Control::new(&node);
    let Ok(Reply::State {
        pid,
        rows: Some(rows),
    }) = control
        .execute(Command::GetState {
            pid: supervisor.pid().into(),
        })
        .await
    else {
        panic!("a supervisor describes its state");
    };
    assert_eq!(pid, Pid::from(supervisor.pid()));
    assert!(rows.iter().any(|row| row.key == "KV.Registry"), "{rows:?}");

    let plain = idle(&node);
    let mut pending = control.submit(Command::GetState { pid: plain.into() });
    let reply = support::within("the reply", async {
        loop {
            if let Some(reply) = pending.try_recv() {
                return reply;
            }
            tokio::time::sleep(ms(1)).await;
        }
    })
    .await;
    assert_eq!(
        reply,
        Ok(Reply::State {
            pid: plain.into(),
            rows: None
        })
    );
}

/// An app with one command, `echo` (text `word`), that says its word back, and refuses an
/// empty one.
struct EchoApp;

impl AppControl for EchoApp {
    fn spec(&self) -> AppSpec {
        let word = ArgSpec::new("word", "Word", ArgKind::Text);
        AppSpec {
            name: "echo".into(),
            title: "Echo".into(),
            prompt: None,
            commands: vec![CommandSpec::new("echo", "Echo").arg(word)],
        }
    }

    fn execute(&self, command: AppCommand) -> AppFuture<'_> {
        Box::pin(async move {
            match (command.name.as_str(), command.text("word")?) {
                ("echo", "") => Err(CommandError::App("nothing to echo".into())),
                ("echo", word) => Ok(Reply::Value {
                    value: Some(word.to_owned()),
                }),
                _ => Err(CommandError::NotSupported(command.to_string())),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_commands_go_to_the_app_installed_under_their_name() {
    let node = Node::new("app");
    let echo = |word: &str| Command::App(AppCommand::new("echo", "echo").arg("word", word));
    let error = Control::new(&node).execute(echo("hi")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "not supported: echo echo word=\"hi\" (no application echo here)"
    );
    assert!(Control::new(&node).capabilities().apps.is_empty());
    let control = Control::new(&node).with_app(Arc::new(EchoApp));
    let capabilities = control.capabilities();
    assert_eq!(capabilities.apps, vec![EchoApp.spec()]);
    assert!(capabilities.accepts(&echo("hi")));
    assert!(
        !capabilities.accepts(&Command::RestartApp),
        "no restarter installed"
    );
    assert_eq!(
        control.execute(echo("hi")).await,
        Ok(Reply::Value {
            value: Some("hi".into())
        })
    );
    assert_eq!(
        control.execute(echo("")).await.unwrap_err().to_string(),
        "nothing to echo"
    );
    let untyped = Command::App(AppCommand::new("echo", "echo").arg("word", 3));
    assert_eq!(
        control.execute(untyped).await.unwrap_err().to_string(),
        "echo echo: argument word must be text"
    );
    assert_eq!(
        control
            .execute(Command::RestartApp)
            .await
            .unwrap_err()
            .to_string(),
        "not supported: restart_app (nothing here can start the app again)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_a_process_shows_in_its_monitored_by() {
    let node = Node::new("monitor");
    let target = idle(&node);
    let mut view = View::new(observe(&node, ms(5)).unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let watcher = node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        ctx.monitor(target);
        tx.send(()).ok();
        inbox.recv().await;
    });
    rx.await.unwrap();
    view.converge(&node).await;
    let snapshot = view.snapshot();
    assert_eq!(
        snapshot.process(target.into()).unwrap().monitored_by[..],
        [Pid::from(watcher.pid())]
    );
    assert_eq!(
        snapshot.process(watcher.pid().into()).unwrap().monitors[..],
        [Pid::from(target)]
    );
}
