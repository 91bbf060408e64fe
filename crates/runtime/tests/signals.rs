//! Processes and signals: links, exit signals and their reasons, monitors, names, pids,
//! panics, message order and the event feed, as `DESIGN.md` ("Processes and signals") and
//! Erlang's signal semantics describe them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use otpscope_runtime::*;
use support::probe::{Probe, Seen};
use support::*;
use tokio::sync::{mpsc, oneshot};

/// A process that does nothing until it is told to exit.
fn idle(node: &Node) -> Probe {
    Probe::spawn(node, false)
}

// === links ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_two_way_and_idempotent() {
    let node = Node::new("signals");
    let a = idle(&node);
    let b = idle(&node);
    let (a_pid, b_pid) = (a.pid(), b.pid());
    let seq = node.introspect().next_event_seq();
    a.run(move |ctx| ctx.link(b_pid)).await;
    a.run(move |ctx| ctx.link(b_pid)).await;
    b.run(move |ctx| ctx.link(a_pid)).await;
    assert_eq!(node.process_info(a_pid).unwrap().links, vec![b_pid]);
    assert_eq!(node.process_info(b_pid).unwrap().links, vec![a_pid]);
    assert_eq!(
        events_since(&node, seq),
        vec![EventKind::Linked { a: a_pid, b: b_pid }],
        "linking twice (from either side) makes one link"
    );
    a.run(|ctx| ctx.link(ctx.pid())).await;
    assert_eq!(
        node.process_info(a_pid).unwrap().links,
        vec![b_pid],
        "linking to oneself does nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlink_removes_both_sides_and_a_later_death_does_not_propagate() {
    let node = Node::new("signals");
    let a = idle(&node);
    let b = idle(&node);
    let (a_pid, b_pid) = (a.pid(), b.pid());
    a.run(move |ctx| ctx.link(b_pid)).await;
    let seq = node.introspect().next_event_seq();
    b.run(move |ctx| ctx.unlink(a_pid)).await;
    b.run(move |ctx| ctx.unlink(a_pid)).await;
    assert!(node.process_info(a_pid).unwrap().links.is_empty());
    assert!(node.process_info(b_pid).unwrap().links.is_empty());
    assert_eq!(
        events_since(&node, seq),
        vec![EventKind::Unlinked { a: b_pid, b: a_pid }]
    );
    b.exit_with(ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, b_pid).await, ExitReason::custom("boom"));
    a.run(|_| ()).await;
    assert!(node.is_alive(a_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_exit_through_a_link_is_ignored_by_a_non_trapping_process() {
    let node = Node::new("signals");
    let a = idle(&node);
    let b = idle(&node);
    let b_pid = b.pid();
    a.run(move |ctx| ctx.link(b_pid)).await;
    b.exit_with(ExitReason::Normal);
    assert_eq!(exit_of(&node, b_pid).await, ExitReason::Normal);
    a.run(|_| ()).await;
    let info = node.process_info(a.pid()).unwrap();
    assert!(info.links.is_empty(), "the dead end of the link is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abnormal_exit_kills_a_non_trapping_linked_process_with_the_same_reason() {
    let node = Node::new("signals");
    let a = idle(&node);
    let b = idle(&node);
    let c = idle(&node);
    let (b_pid, c_pid) = (b.pid(), c.pid());
    a.run(move |ctx| ctx.link(b_pid)).await;
    b.run(move |ctx| ctx.link(c_pid)).await;
    let seq = node.introspect().next_event_seq();
    a.exit_with(ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, c_pid).await, ExitReason::custom("boom"));
    assert_eq!(
        exits_since(&node, seq),
        vec![
            (a.pid(), ExitReason::custom("boom")),
            (b_pid, ExitReason::custom("boom")),
            (c_pid, ExitReason::custom("boom")),
        ],
        "the reason travels along the chain of links, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trapping_process_receives_exit_signals_as_messages() {
    let node = Node::new("signals");
    let mut a = Probe::spawn(&node, true);
    let b = idle(&node);
    let c = idle(&node);
    let (b_pid, c_pid) = (b.pid(), c.pid());
    a.run(move |ctx| {
        ctx.link(b_pid);
        ctx.link(c_pid);
    })
    .await;
    b.exit_with(ExitReason::custom("boom"));
    assert_eq!(
        a.next_exit().await,
        ExitMessage {
            from: b_pid,
            reason: ExitReason::custom("boom")
        }
    );
    c.exit_with(ExitReason::Normal);
    assert_eq!(
        a.next_exit().await,
        ExitMessage {
            from: c_pid,
            reason: ExitReason::Normal
        },
        "a trapping process sees normal exits too"
    );
    assert!(node.is_alive(a.pid()));
    assert!(node.process_info(a.pid()).unwrap().links.is_empty());
    assert!(node.process_info(a.pid()).unwrap().trap_exit);
    a.assert_nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_exit_can_be_switched_on_and_off() {
    let node = Node::new("signals");
    let mut a = idle(&node);
    assert!(!a.run(|ctx| ctx.trap_exit(true)).await, "off by default");
    let a_pid = a.pid();
    node.exit(a_pid, ExitReason::custom("first")).unwrap();
    assert_eq!(
        a.next_exit().await,
        ExitMessage {
            from: node.pid(0),
            reason: ExitReason::custom("first")
        },
        "a signal sent from outside any process comes from <0.0.0>"
    );
    assert!(a.run(|ctx| ctx.trap_exit(false)).await);
    node.exit(a_pid, ExitReason::custom("second")).unwrap();
    assert_eq!(exit_of(&node, a_pid).await, ExitReason::custom("second"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_kill_cannot_be_trapped_and_linked_processes_get_killed() {
    let node = Node::new("signals");
    let target = Probe::spawn(&node, true);
    let mut trapping = Probe::spawn(&node, true);
    let plain = idle(&node);
    let t = target.pid();
    trapping.run(move |ctx| ctx.link(t)).await;
    plain.run(move |ctx| ctx.link(t)).await;
    node.exit(t, ExitReason::Kill).unwrap();
    assert_eq!(exit_of(&node, t).await, ExitReason::Killed);
    assert_eq!(
        trapping.next_exit().await,
        ExitMessage {
            from: t,
            reason: ExitReason::Killed
        }
    );
    assert_eq!(
        exit_of(&node, plain.pid()).await,
        ExitReason::Killed,
        "killed is an ordinary reason when it travels through a link"
    );
    assert!(node.is_alive(trapping.pid()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_kill_from_a_process_cannot_be_trapped_either() {
    let node = Node::new("signals");
    let target = Probe::spawn(&node, true);
    let killer = idle(&node);
    let t = target.pid();
    killer
        .run(move |ctx| ctx.exit(t, ExitReason::Kill))
        .await
        .unwrap();
    assert_eq!(exit_of(&node, t).await, ExitReason::Killed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_arriving_through_a_link_is_trappable_and_kills_non_trapping_with_kill() {
    let node = Node::new("signals");
    let dying = idle(&node);
    let mut trapping = Probe::spawn(&node, true);
    let plain = idle(&node);
    let d = dying.pid();
    trapping.run(move |ctx| ctx.link(d)).await;
    plain.run(move |ctx| ctx.link(d)).await;
    dying.exit_with(ExitReason::Kill);
    assert_eq!(exit_of(&node, d).await, ExitReason::Kill);
    assert_eq!(
        trapping.next_exit().await,
        ExitMessage {
            from: d,
            reason: ExitReason::Kill
        }
    );
    assert_eq!(
        exit_of(&node, plain.pid()).await,
        ExitReason::Kill,
        "through a link, kill is an ordinary reason: not turned into killed"
    );
    trapping.run(|_| ()).await;
    assert!(node.is_alive(trapping.pid()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_self_normal_ends_a_non_trapping_process_and_is_a_message_when_trapping() {
    let node = Node::new("signals");
    let plain = idle(&node);
    plain
        .run(|ctx| ctx.exit(ctx.pid(), ExitReason::Normal))
        .await
        .unwrap();
    assert_eq!(exit_of(&node, plain.pid()).await, ExitReason::Normal);

    let mut trapping = Probe::spawn(&node, true);
    let t = trapping.pid();
    trapping
        .run(|ctx| ctx.exit(ctx.pid(), ExitReason::Normal))
        .await
        .unwrap();
    assert_eq!(
        trapping.next_exit().await,
        ExitMessage {
            from: t,
            reason: ExitReason::Normal
        }
    );
    assert!(node.is_alive(t));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_normal_from_another_process_is_ignored_and_other_reasons_kill() {
    let node = Node::new("signals");
    let sender = idle(&node);
    let target = idle(&node);
    let t = target.pid();
    sender
        .run(move |ctx| ctx.exit(t, ExitReason::Normal))
        .await
        .unwrap();
    node.exit(t, ExitReason::Normal).unwrap();
    target.run(|_| ()).await;
    assert!(node.is_alive(t), "normal from elsewhere is ignored");
    sender
        .run(move |ctx| ctx.exit(t, ExitReason::Shutdown))
        .await
        .unwrap();
    assert_eq!(exit_of(&node, t).await, ExitReason::Shutdown);
    assert_eq!(
        node.exit(t, ExitReason::Kill),
        Err(NoProc(t)),
        "a signal to a dead pid is an error"
    );
    assert_eq!(
        sender.run(move |ctx| ctx.exit(t, ExitReason::Kill)).await,
        Err(NoProc(t))
    );
}

// === monitors ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_are_one_way_and_each_gives_one_down() {
    let node = Node::new("signals");
    let mut watcher = idle(&node);
    let target = idle(&node);
    let t = target.pid();
    let (first, second) = watcher
        .run(move |ctx| (ctx.monitor(t), ctx.monitor(t)))
        .await;
    assert_ne!(first, second);
    let info = node.process_info(watcher.pid()).unwrap();
    assert_eq!(info.monitors, vec![(first, t), (second, t)]);
    assert!(info.links.is_empty());
    assert_eq!(
        node.process_info(t).unwrap().monitored_by,
        vec![watcher.pid(), watcher.pid()]
    );
    target.exit_with(ExitReason::custom("boom"));
    assert_eq!(
        watcher.next().await,
        Seen::Down(Down {
            monitor: first,
            pid: t,
            reason: ExitReason::custom("boom")
        })
    );
    assert_eq!(
        watcher.next().await,
        Seen::Down(Down {
            monitor: second,
            pid: t,
            reason: ExitReason::custom("boom")
        })
    );
    watcher.assert_nothing_more().await;
    assert!(node.is_alive(watcher.pid()), "a monitor never kills");
    assert!(
        node.process_info(watcher.pid())
            .unwrap()
            .monitors
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitored_process_is_not_told_when_its_watcher_dies() {
    let node = Node::new("signals");
    let watcher = idle(&node);
    let mut target = Probe::spawn(&node, true);
    let t = target.pid();
    watcher.run(move |ctx| ctx.monitor(t)).await;
    watcher.exit_with(ExitReason::custom("boom"));
    exit_of(&node, watcher.pid()).await;
    target.assert_nothing_more().await;
    assert!(node.process_info(t).unwrap().monitored_by.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demonitor_stops_the_down() {
    let node = Node::new("signals");
    let mut watcher = idle(&node);
    let target = idle(&node);
    let t = target.pid();
    let monitor = watcher.run(move |ctx| ctx.monitor(t)).await;
    assert!(watcher.run(move |ctx| ctx.demonitor(monitor)).await);
    assert!(
        !watcher.run(move |ctx| ctx.demonitor(monitor)).await,
        "a second demonitor finds nothing"
    );
    assert!(node.process_info(t).unwrap().monitored_by.is_empty());
    target.exit_with(ExitReason::custom("boom"));
    exit_of(&node, t).await;
    watcher.assert_nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_a_dead_pid_gives_down_noproc_at_once() {
    let node = Node::new("signals");
    let mut watcher = idle(&node);
    let dead = idle(&node);
    let d = dead.pid();
    dead.exit_with(ExitReason::Normal);
    exit_of(&node, d).await;
    let monitor = watcher.run(move |ctx| ctx.monitor(d)).await;
    assert_eq!(
        watcher.next().await,
        Seen::Down(Down {
            monitor,
            pid: d,
            reason: ExitReason::NoProc
        })
    );
    assert!(
        node.process_info(watcher.pid())
            .unwrap()
            .monitors
            .is_empty()
    );
    assert_eq!(node.watch(d).await, ExitReason::NoProc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_a_dead_pid_sends_a_noproc_exit_signal() {
    let node = Node::new("signals");
    let dead = idle(&node);
    let d = dead.pid();
    dead.exit_with(ExitReason::Normal);
    exit_of(&node, d).await;

    let mut trapping = Probe::spawn(&node, true);
    trapping.run(move |ctx| ctx.link(d)).await;
    assert_eq!(
        trapping.next_exit().await,
        ExitMessage {
            from: d,
            reason: ExitReason::NoProc
        }
    );
    assert!(node.process_info(trapping.pid()).unwrap().links.is_empty());

    let plain = idle(&node);
    plain.run(move |ctx| ctx.link(d)).await;
    assert_eq!(exit_of(&node, plain.pid()).await, ExitReason::NoProc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_link_and_spawn_monitor_are_in_place_before_the_child_runs() {
    let node = Node::new("signals");
    let (tx, mut rx) = mpsc::unbounded_channel();
    node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        ctx.trap_exit(true);
        let linked =
            ctx.spawn_link(|_ctx, _inbox: Inbox<()>| async move { ExitReason::custom("at once") });
        let (monitored, monitor) = ctx.spawn_monitor(|_ctx, _inbox: Inbox<()>| async move {
            ExitReason::custom("at once too")
        });
        for _ in 0..2 {
            let seen = match inbox.recv().await {
                Message::Exit(exit) => {
                    format!("exit {} {}", exit.from == linked.pid(), exit.reason)
                }
                Message::Down(down) => format!(
                    "down {} {}",
                    down.pid == monitored.pid() && down.monitor == monitor,
                    down.reason
                ),
                Message::User(()) => "user".to_owned(),
            };
            tx.send(seen).ok();
        }
    });
    let mut seen = vec![
        within("first", rx.recv()).await.unwrap(),
        within("second", rx.recv()).await.unwrap(),
    ];
    seen.sort_unstable();
    assert_eq!(
        seen,
        vec!["down true at once too", "exit true at once"],
        "neither is noproc: the link and the monitor came first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_trapping_parent_dies_with_its_spawn_linked_child() {
    let node = Node::new("signals");
    let (tx, rx) = oneshot::channel();
    let parent = node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        let child = ctx.spawn_link(|_ctx, mut inbox: Inbox<()>| async move {
            inbox.recv().await;
            ExitReason::custom("child crashed")
        });
        tx.send(child).ok();
        inbox.recv().await;
    });
    let child = within("the child", rx).await.unwrap();
    child.send(()).unwrap();
    assert_eq!(
        exit_of(&node, parent.pid()).await,
        ExitReason::custom("child crashed")
    );
}

// === names ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_whereis_unregister() {
    let node = Node::new("signals");
    let a = idle(&node);
    let b = idle(&node);
    let (a_pid, b_pid) = (a.pid(), b.pid());
    assert_eq!(node.whereis("worker"), None);
    node.register("worker", a_pid).unwrap();
    assert_eq!(node.whereis("worker"), Some(a_pid));
    assert_eq!(
        node.process_info(a_pid).unwrap().name.as_deref(),
        Some("worker")
    );
    assert_eq!(
        node.register("worker", b_pid),
        Err(RegisterError::NameTaken {
            name: "worker".into(),
            holder: a_pid
        })
    );
    assert_eq!(
        node.register("other", a_pid),
        Err(RegisterError::AlreadyNamed {
            pid: a_pid,
            name: "worker".into()
        })
    );
    assert!(node.unregister("worker"));
    assert!(!node.unregister("worker"));
    assert_eq!(node.whereis("worker"), None);
    assert_eq!(node.process_info(a_pid).unwrap().name, None);
    assert_eq!(b.run(|ctx| ctx.register("worker")).await, Ok(()));
    assert_eq!(node.whereis("worker"), Some(b_pid));
    let taken = RegisterError::NameTaken {
        name: "worker".into(),
        holder: b_pid,
    };
    assert_eq!(
        a.run(|ctx| ctx.register("worker")).await,
        Err(taken.clone())
    );
    assert_eq!(
        taken.to_string(),
        format!("name worker is already registered to {b_pid}")
    );
    b.exit_with(ExitReason::Normal);
    exit_of(&node, b_pid).await;
    assert_eq!(
        node.whereis("worker"),
        None,
        "a dead process's name is free"
    );
    assert_eq!(
        node.register("ghost", b_pid),
        Err(RegisterError::NoProc(b_pid))
    );
    node.register("worker", a_pid).unwrap();
    assert_eq!(node.whereis("worker"), Some(a_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawning_with_a_taken_name_fails_with_name_taken() {
    let node = Node::new("signals");
    let first = node
        .spawn_opts(
            SpawnOptions::new().name("unique"),
            |_ctx, mut inbox: Inbox<()>| async move {
                inbox.recv().await;
            },
        )
        .unwrap();
    assert_eq!(node.whereis("unique"), Some(first.pid()));
    let count = node.process_count();
    let seq = node.introspect().next_event_seq();
    let error = node
        .spawn_opts(
            SpawnOptions::new().name("unique"),
            |_ctx, _inbox: Inbox<()>| async move {},
        )
        .unwrap_err();
    assert_eq!(
        error,
        StartError::NameTaken {
            name: "unique".into(),
            holder: first.pid()
        }
    );
    assert_eq!(
        error.to_string(),
        format!("name unique is already registered to {}", first.pid())
    );
    assert_eq!(node.process_count(), count, "no process was left behind");
    assert_eq!(events_since(&node, seq), vec![], "nothing was spawned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_is_released_before_monitors_and_links_fire() {
    let node = Node::new("signals");
    let target = idle(&node);
    let t = target.pid();
    node.register("worker", t).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let _watcher = node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        ctx.trap_exit(true);
        ctx.link(t);
        ctx.monitor(t);
        ready_tx.send(()).ok();
        for _ in 0..2 {
            let seen = match inbox.recv().await {
                Message::Exit(_) => "exit",
                Message::Down(_) => "down",
                Message::User(()) => "user",
            };
            tx.send((seen, ctx.node().whereis("worker"))).ok();
        }
    });
    within("the watcher is ready", ready_rx).await.unwrap();
    target.exit_with(ExitReason::custom("boom"));
    let mut seen = vec![
        within("first signal", rx.recv()).await.unwrap(),
        within("second signal", rx.recv()).await.unwrap(),
    ];
    seen.sort_unstable();
    assert_eq!(seen, vec![("down", None), ("exit", None)]);
}

// === pids ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pids_print_like_beam_and_are_never_reused() {
    let node = Node::new("signals");
    let mut pids = Vec::new();
    for _ in 0..3 {
        let batch: Vec<Pid> = (0..200)
            .map(|_| node.spawn(|_ctx, _inbox: Inbox<()>| async move {}).pid())
            .collect();
        for pid in &batch {
            exit_of(&node, *pid).await;
        }
        pids.extend(batch);
    }
    assert!(
        pids.windows(2).all(|w| w[0].serial() < w[1].serial()),
        "serials grow and are never reused"
    );
    for pid in &pids {
        let text = pid.to_string();
        assert_eq!(text, format!("<0.{}.0>", pid.serial()));
        assert_eq!(node.parse_pid(&text), Some(*pid));
    }
    assert_eq!(node.process_count(), 0);
    assert_eq!(format!("{:?}", pids[0]), pids[0].to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pids_of_two_nodes_never_name_each_others_processes() {
    let one = Node::new("one");
    let two = Node::new("two");
    let a = idle(&one);
    let b = idle(&two);
    assert_eq!(a.pid().to_string(), b.pid().to_string(), "same text");
    assert_ne!(a.pid(), b.pid());
    assert!(one.process_info(b.pid()).is_none());
    assert_eq!(one.exit(b.pid(), ExitReason::Kill), Err(NoProc(b.pid())));
    assert!(two.is_alive(b.pid()));
}

// === panics ===

/// Panics with a formatted message (a function, so the process body still returns `()`).
fn crash(value: u32) {
    panic!("bad value {value}");
}

fn node_is_sane() -> bool {
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_process_exits_with_the_panic_message_and_the_runtime_keeps_going() {
    let node = Node::new("signals");
    let mut trapping = Probe::spawn(&node, true);
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let crashing = node.spawn(move |_ctx, _inbox: Inbox<()>| async move {
        go_rx.await.ok();
        crash(42);
    });
    let c = crashing.pid();
    trapping.run(move |ctx| ctx.link(c)).await;
    go_tx.send(()).unwrap();
    let reason = ExitReason::Panic("bad value 42".into());
    assert_eq!(exit_of(&node, c).await, reason);
    assert_eq!(reason.to_string(), "panic: bad value 42");
    assert_eq!(trapping.next_exit().await, ExitMessage { from: c, reason });
    let (tx, rx) = oneshot::channel();
    let survivor = node.spawn(move |_ctx, mut inbox: Inbox<u32>| async move {
        if let Message::User(n) = inbox.recv().await {
            tx.send(n + 1).ok();
        }
    });
    survivor.send(1).unwrap();
    assert_eq!(within("the runtime still runs", rx).await, Ok(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_with_a_non_text_payload_still_ends_only_that_process() {
    let node = Node::new("signals");
    let crashing = node.spawn(|_ctx, _inbox: Inbox<()>| async move {
        if node_is_sane() {
            std::panic::panic_any(17_u32);
        }
    });
    assert_eq!(
        exit_of(&node, crashing.pid()).await,
        ExitReason::Panic("panic with a non-text payload".into())
    );
}

// === messages ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_between_a_pair_arrive_in_order() {
    let node = Node::new("signals");
    const PER_SENDER: u32 = 5_000;
    let (tx, rx) = oneshot::channel();
    let receiver = node.spawn(move |_ctx, mut inbox: Inbox<(u8, u32)>| async move {
        let mut next = [0_u32; 2];
        let mut in_order = true;
        while next.iter().any(|n| *n < PER_SENDER) {
            if let Message::User((sender, n)) = inbox.recv().await {
                in_order &= next[usize::from(sender)] == n;
                next[usize::from(sender)] = n + 1;
            }
        }
        tx.send(in_order).ok();
    });
    for sender in 0..2_u8 {
        let to = receiver.clone();
        node.spawn(move |_ctx, _inbox: Inbox<()>| async move {
            for n in 0..PER_SENDER {
                to.send((sender, n)).unwrap();
                if n % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
    }
    assert_eq!(within("all messages arrive", rx).await, Ok(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_overtake_queued_messages() {
    let node = Node::new("signals");
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let handled = Arc::new(AtomicBool::new(false));
    let flag = handled.clone();
    let busy = node.spawn(move |_ctx, mut inbox: Inbox<u32>| async move {
        gate_rx.await.ok();
        inbox.recv().await;
        flag.store(true, Ordering::SeqCst);
    });
    for n in 0..10 {
        busy.send(n).unwrap();
    }
    node.exit(busy.pid(), ExitReason::custom("stop")).unwrap();
    assert_eq!(exit_of(&node, busy.pid()).await, ExitReason::custom("stop"));
    assert!(!handled.load(Ordering::SeqCst));
    drop(gate_tx);
    let dead = node
        .introspect()
        .recent_exits()
        .into_iter()
        .find(|dead| dead.info.pid == busy.pid())
        .unwrap();
    assert_eq!(dead.reason, ExitReason::custom("stop"));
    assert_eq!(dead.info.messages_handled, 0);
    assert_eq!(dead.info.mailbox_len, 10);
    assert_eq!(
        busy.send(99),
        Err(SendError(99)),
        "a dead process's mailbox is closed and hands the message back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapped_exit_signal_queues_behind_earlier_messages() {
    let node = Node::new("signals");
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let (tx, rx) = oneshot::channel();
    let trapping = node
        .spawn_opts(
            SpawnOptions::new().trap_exit(true),
            move |_ctx, mut inbox: Inbox<u32>| async move {
                gate_rx.await.ok();
                let mut seen = Vec::new();
                for _ in 0..4 {
                    seen.push(match inbox.recv().await {
                        Message::User(n) => n.to_string(),
                        Message::Exit(exit) => exit.reason.to_string(),
                        Message::Down(_) => "down".to_owned(),
                    });
                }
                tx.send(seen).ok();
            },
        )
        .unwrap();
    for n in 1..=3 {
        trapping.send(n).unwrap();
    }
    node.exit(trapping.pid(), ExitReason::custom("late"))
        .unwrap();
    gate_tx.send(()).unwrap();
    assert_eq!(
        within("the mailbox is drained", rx).await.unwrap(),
        vec!["1", "2", "3", "late"]
    );
}

// === the event feed ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_feed_records_spawned_linked_unlinked_and_exited_in_order() {
    let node = Node::new("signals");
    let seq = node.introspect().next_event_seq();
    let parent = idle(&node);
    let p = parent.pid();
    let (child_tx, child_rx) = oneshot::channel();
    parent
        .run(move |ctx| {
            let child = Probe::spawn_child(ctx, false, true);
            child_tx.send(child).ok();
        })
        .await;
    let child = child_rx.await.unwrap();
    let c = child.pid();
    assert_eq!(node.process_info(c).unwrap().parent, Some(p));
    assert_eq!(node.process_info(p).unwrap().children, vec![c]);
    parent.run(move |ctx| ctx.unlink(c)).await;
    child.exit_with(ExitReason::custom("done"));
    exit_of(&node, c).await;
    parent.exit_with(ExitReason::Normal);
    exit_of(&node, p).await;
    assert_eq!(
        events_since(&node, seq),
        vec![
            EventKind::Spawned {
                pid: p,
                parent: None,
                label: "process".into()
            },
            EventKind::Spawned {
                pid: c,
                parent: Some(p),
                label: "process".into()
            },
            EventKind::Linked { a: p, b: c },
            EventKind::Unlinked { a: p, b: c },
            EventKind::Exited {
                pid: c,
                reason: ExitReason::custom("done")
            },
            EventKind::Exited {
                pid: p,
                reason: ExitReason::Normal
            },
        ]
    );
    let read = node.introspect().events_since(seq, 2);
    assert_eq!(read.events.len(), 2);
    assert_eq!(read.next_seq, seq + 2);
    assert_eq!(read.missed, 0);
}

// === names of exiting processes ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_refuses_a_process_that_is_exiting() {
    let node = Node::new("signals");
    // A process that blocks its thread until let go: a kill dooms it at once, but it goes
    // only at its next await.
    let (go, held) = std::sync::mpsc::channel::<()>();
    let (running, is_running) = oneshot::channel();
    let busy = node.spawn(move |_ctx, mut inbox: Inbox<()>| async move {
        running.send(()).ok();
        held.recv().ok();
        inbox.recv().await;
    });
    within("the process runs", is_running).await.unwrap();
    node.exit(busy.pid(), ExitReason::Kill).unwrap();
    assert_eq!(
        node.process_info(busy.pid()).map(|info| info.status),
        Some(Status::Exiting)
    );
    assert_eq!(
        node.register("late", busy.pid()),
        Err(RegisterError::NoProc(busy.pid()))
    );
    assert_eq!(node.whereis("late"), None);
    go.send(()).unwrap();
    assert_eq!(exit_of(&node, busy.pid()).await, ExitReason::Killed);
}
