//! Supervisors, after OTP's `supervisor_SUITE`: restart types against exit reasons, the three
//! strategies with the exact order of stops and starts, restart intensity and escalation,
//! temporary bystanders, shutdown kinds, start failures, failed restarts, child
//! administration, child spec overrides and introspection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use otpscope_runtime::*;
use support::probe::Probe;
use support::*;

// === test children ===

/// How a test worker behaves.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Does not trap exits: a shutdown ends it at once.
    Plain,
    /// Traps exits; on an exit signal it takes this long, then exits with the signal's reason.
    Graceful(Duration),
    /// Traps exits and ignores them: only a kill ends it.
    Stubborn,
    /// Exits with `crash` as soon as it starts.
    Crashing,
}

/// What the test tells a worker.
enum Cmd {
    /// Exit with this reason.
    Exit(ExitReason),
    /// Unlink from this pid (its supervisor).
    Unlink(Pid),
}

fn worker(id: &str) -> ChildSpec {
    worker_with(id, Mode::Plain)
}

fn worker_with(id: &str, mode: Mode) -> ChildSpec {
    ChildSpec::worker(id, move |ctx: Context| async move {
        let trap = matches!(mode, Mode::Graceful(_) | Mode::Stubborn);
        let options = SpawnOptions::new().trap_exit(trap).label("worker");
        let addr = ctx.spawn_opts(options, true, move |ctx, inbox| {
            run_worker(ctx, inbox, mode)
        })?;
        Ok(Started::Pid(addr.pid()))
    })
}

async fn run_worker(ctx: Context, mut inbox: Inbox<Cmd>, mode: Mode) -> ExitReason {
    if let Mode::Crashing = mode {
        return ExitReason::custom("crash");
    }
    loop {
        match inbox.recv().await {
            Message::User(Cmd::Exit(reason)) => return reason,
            Message::User(Cmd::Unlink(pid)) => ctx.unlink(pid),
            Message::Exit(exit) => {
                if let Mode::Graceful(duration) = mode {
                    tokio::time::sleep(duration).await;
                    return exit.reason;
                }
            }
            Message::Down(_) => {}
        }
    }
}

/// A plain worker whose start attempts number `fails` (counting from 1) fail without
/// starting a process; the counter tells how many attempts were made.
fn flaky(id: &str, fails: &'static [u32]) -> (ChildSpec, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let spec = ChildSpec::worker(id, move |ctx: Context| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if fails.contains(&attempt) {
                return Err(StartError::Init(ExitReason::custom("flaky")));
            }
            let options = SpawnOptions::new().label("worker");
            let addr = ctx.spawn_opts(options, true, |ctx, inbox| {
                run_worker(ctx, inbox, Mode::Plain)
            })?;
            Ok(Started::Pid(addr.pid()))
        }
    });
    (spec, attempts)
}

fn tell(node: &Node, pid: Pid, reason: ExitReason) {
    assert!(
        node.send(pid, Cmd::Exit(reason)).is_ok(),
        "{pid} is not a live worker"
    );
}

// === helpers ===

async fn start_sup(node: &Node, flags: SupervisorFlags, children: Vec<ChildSpec>) -> Supervisor {
    Supervisor::start(node, flags, children, SpawnOptions::new().label("sup"))
        .await
        .unwrap()
}

fn one_for_one() -> SupervisorFlags {
    SupervisorFlags::new(Strategy::OneForOne)
}

/// The pid of each child, in spec order.
async fn pids(sup: &Supervisor) -> Vec<Option<Pid>> {
    sup.which_children()
        .await
        .unwrap()
        .iter()
        .map(|child| child.pid.pid())
        .collect()
}

/// The running pid of child `id`.
async fn pid_of(sup: &Supervisor, id: &str) -> Pid {
    let children = sup.which_children().await.unwrap();
    let child = children.iter().find(|c| &*c.id == id).unwrap();
    child.pid.pid().unwrap()
}

fn counts(specs: usize, active: usize, supervisors: usize, workers: usize) -> ChildCounts {
    ChildCounts {
        specs,
        active,
        supervisors,
        workers,
    }
}

/// The lifecycle events from `seq` on (spawns, exits, restarts, give-ups), with pids named by
/// `names` where known.
fn story(node: &Node, seq: u64, names: &[(Pid, &str)]) -> Vec<String> {
    let names: HashMap<Pid, &str> = names.iter().copied().collect();
    let name = |pid: Pid| names.get(&pid).map_or(pid.to_string(), |n| (*n).to_owned());
    events_since(node, seq)
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::Spawned { pid, .. } => Some(format!("spawn {}", name(pid))),
            EventKind::Exited { pid, reason } => Some(format!("exit {} {reason}", name(pid))),
            EventKind::Restarted {
                child_id, old, new, ..
            } => Some(format!("restart {child_id} {} -> {}", name(old), name(new))),
            EventKind::SupervisorGaveUp {
                supervisor,
                child_id,
                reason,
            } => Some(format!("give up {} {child_id} {reason}", name(supervisor))),
            EventKind::Linked { .. } | EventKind::Unlinked { .. } | EventKind::Command { .. } => {
                None
            }
        })
        .collect()
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| (*line).to_owned()).collect()
}

// === restart type × exit reason ===

/// How a case ends its child.
fn end_child(node: &Node, pid: Pid, reason: &ExitReason) {
    if *reason == ExitReason::Killed {
        node.exit(pid, ExitReason::Kill).unwrap();
    } else {
        tell(node, pid, reason.clone());
    }
}

fn reasons() -> Vec<ExitReason> {
    vec![
        ExitReason::Normal,
        ExitReason::Shutdown,
        ExitReason::shutdown_with("term"),
        ExitReason::custom("boom"),
        ExitReason::Killed,
    ]
}

/// Runs one case of the matrix; returns whether the child was restarted, and checks that
/// the spec is kept or dropped as `restart` says.
async fn matrix_case(restart: Restart, reason: &ExitReason) -> bool {
    let node = Node::new("supervisor");
    let sup = start_sup(&node, one_for_one(), vec![worker("c").restart(restart)]).await;
    let old = pid_of(&sup, "c").await;
    end_child(&node, old, reason);
    assert_eq!(&exit_of(&node, old).await, reason);
    let children = sup.which_children().await.unwrap();
    let counted = sup.count_children().await.unwrap();
    if restart == Restart::Temporary {
        assert_eq!(children, vec![], "temporary spec dropped after {reason}");
        assert_eq!(counted, counts(0, 0, 0, 0));
        return false;
    }
    assert_eq!(children.len(), 1, "spec kept after {reason}");
    assert_eq!(&*children[0].id, "c");
    assert_eq!(children[0].restart, restart);
    let restarted = match children[0].pid {
        ChildPid::Running(new) => {
            assert_ne!(new, old);
            assert_eq!(counted, counts(1, 1, 0, 1));
            true
        }
        ChildPid::Undefined => {
            assert_eq!(counted, counts(1, 0, 0, 1));
            false
        }
        ChildPid::Restarting => panic!("restart failed after {reason}"),
    };
    assert!(sup.is_alive());
    restarted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_child_is_restarted_after_any_exit() {
    for reason in reasons() {
        assert!(
            matrix_case(Restart::Permanent, &reason).await,
            "permanent after {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_child_is_restarted_only_after_an_abnormal_exit() {
    for reason in reasons() {
        let abnormal = !reason.is_normal_or_shutdown();
        assert_eq!(
            matrix_case(Restart::Transient, &reason).await,
            abnormal,
            "transient after {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_child_is_never_restarted_and_its_spec_is_dropped() {
    for reason in reasons() {
        assert!(
            !matrix_case(Restart::Temporary, &reason).await,
            "temporary after {reason}"
        );
    }
}

// === strategies ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_one_restarts_only_the_child_that_exited() {
    let node = Node::new("supervisor");
    let sup = start_sup(
        &node,
        one_for_one(),
        vec![worker("a"), worker("b"), worker("c")],
    )
    .await;
    let before = pids(&sup).await;
    let [a, b, c] = [before[0].unwrap(), before[1].unwrap(), before[2].unwrap()];
    let seq = node.introspect().next_event_seq();
    tell(&node, b, ExitReason::custom("boom"));
    exit_of(&node, b).await;
    let after = pids(&sup).await;
    let b2 = after[1].unwrap();
    assert_eq!(after, vec![Some(a), Some(b2), Some(c)]);
    assert_ne!(b2, b);
    assert_eq!(
        story(&node, seq, &[(a, "a"), (b, "b"), (c, "c"), (b2, "b'")]),
        strings(&["exit b boom", "spawn b'", "restart b b -> b'"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_all_stops_the_others_right_to_left_and_restarts_all_left_to_right() {
    let node = Node::new("supervisor");
    let flags = SupervisorFlags::new(Strategy::OneForAll);
    let sup = start_sup(&node, flags, vec![worker("a"), worker("b"), worker("c")]).await;
    let before = pids(&sup).await;
    let [a, b, c] = [before[0].unwrap(), before[1].unwrap(), before[2].unwrap()];
    let seq = node.introspect().next_event_seq();
    tell(&node, b, ExitReason::custom("boom"));
    exit_of(&node, b).await;
    let after = pids(&sup).await;
    let [a2, b2, c2] = [after[0].unwrap(), after[1].unwrap(), after[2].unwrap()];
    assert!(
        before.iter().all(|old| !after.contains(old)),
        "every pid changed"
    );
    assert_eq!(
        story(
            &node,
            seq,
            &[
                (a, "a"),
                (b, "b"),
                (c, "c"),
                (a2, "a'"),
                (b2, "b'"),
                (c2, "c'")
            ]
        ),
        strings(&[
            "exit b boom",
            "exit c shutdown",
            "exit a shutdown",
            "spawn a'",
            "restart a a -> a'",
            "spawn b'",
            "restart b b -> b'",
            "spawn c'",
            "restart c c -> c'",
        ])
    );
    assert_eq!(
        node.process_info(sup.pid()).unwrap().children,
        vec![a2, b2, c2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_for_one_restarts_the_child_and_those_started_after_it() {
    let node = Node::new("supervisor");
    let flags = SupervisorFlags::new(Strategy::RestForOne);
    let children = vec![worker("a"), worker("b"), worker("c"), worker("d")];
    let sup = start_sup(&node, flags, children).await;
    let before: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
    let seq = node.introspect().next_event_seq();
    tell(&node, before[1], ExitReason::custom("boom"));
    exit_of(&node, before[1]).await;
    let after: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
    assert_eq!(after[0], before[0], "a was started before b: untouched");
    assert!(after[1..].iter().all(|new| !before.contains(new)));
    let names = [
        (before[0], "a"),
        (before[1], "b"),
        (before[2], "c"),
        (before[3], "d"),
        (after[1], "b'"),
        (after[2], "c'"),
        (after[3], "d'"),
    ];
    assert_eq!(
        story(&node, seq, &names),
        strings(&[
            "exit b boom",
            "exit d shutdown",
            "exit c shutdown",
            "spawn b'",
            "restart b b -> b'",
            "spawn c'",
            "restart c c -> c'",
            "spawn d'",
            "restart d d -> d'",
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_for_one_crash_of_the_last_child_restarts_only_it() {
    let node = Node::new("supervisor");
    let flags = SupervisorFlags::new(Strategy::RestForOne);
    let sup = start_sup(&node, flags, vec![worker("a"), worker("b")]).await;
    let before = pids(&sup).await;
    tell(&node, before[1].unwrap(), ExitReason::custom("boom"));
    exit_of(&node, before[1].unwrap()).await;
    let after = pids(&sup).await;
    assert_eq!(after[0], before[0]);
    assert_ne!(after[1], before[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_all_ignores_a_transient_child_that_exits_normally() {
    let node = Node::new("supervisor");
    let flags = SupervisorFlags::new(Strategy::OneForAll);
    let children = vec![
        worker("a"),
        worker("b").restart(Restart::Transient),
        worker("c"),
    ];
    let sup = start_sup(&node, flags, children).await;
    let before = pids(&sup).await;
    let seq = node.introspect().next_event_seq();
    tell(&node, before[1].unwrap(), ExitReason::Normal);
    exit_of(&node, before[1].unwrap()).await;
    assert_eq!(pids(&sup).await, vec![before[0], None, before[2]]);
    assert_eq!(exits_since(&node, seq).len(), 1, "no sibling was stopped");
}

// === temporary bystanders ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_child_killed_as_bystander_is_not_restarted_and_its_spec_is_dropped() {
    for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
        let node = Node::new("supervisor");
        let flags = SupervisorFlags::new(strategy).max_restarts(1);
        let children = vec![
            worker("a"),
            worker("t").restart(Restart::Temporary),
            worker("c"),
        ];
        let sup = start_sup(&node, flags, children).await;
        let before = pids(&sup).await;
        let t = before[1].unwrap();
        tell(&node, before[0].unwrap(), ExitReason::custom("boom"));
        assert_eq!(exit_of(&node, t).await, ExitReason::Shutdown, "{strategy}");
        let children = sup.which_children().await.unwrap();
        let ids: Vec<&str> = children.iter().map(|c| &*c.id).collect();
        assert_eq!(
            ids,
            vec!["a", "c"],
            "{strategy}: the temporary spec is gone"
        );
        assert!(children.iter().all(|c| c.pid.pid().is_some()));
        assert_eq!(sup.count_children().await.unwrap(), counts(2, 2, 0, 2));
        assert!(
            sup.is_alive(),
            "{strategy}: one restart, within the intensity"
        );
    }
}

// === restart intensity ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_intensity_is_three_restarts_in_five_seconds() {
    let flags = SupervisorFlags::new(Strategy::OneForOne);
    assert_eq!((flags.max_restarts, flags.max_seconds), (3, 5));
    let node = Node::new("supervisor");
    let sup = start_sup(&node, flags, vec![worker("a")]).await;
    assert_eq!(
        node.process_info(sup.pid()).unwrap().kind,
        ProcessKind::Supervisor {
            strategy: Strategy::OneForOne,
            max_restarts: 3,
            max_seconds: 5
        }
    );
    for _ in 0..3 {
        let pid = pid_of(&sup, "a").await;
        tell(&node, pid, ExitReason::custom("boom"));
        exit_of(&node, pid).await;
    }
    assert!(sup.is_alive(), "three restarts are allowed");
    let pid = pid_of(&sup, "a").await;
    tell(&node, pid, ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, sup.pid()).await, ExitReason::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceeding_max_restarts_stops_the_children_right_to_left_and_exits_with_shutdown() {
    let node = Node::new("supervisor");
    let flags = one_for_one().max_restarts(2);
    let sup = start_sup(&node, flags, vec![worker("a"), worker("b"), worker("c")]).await;
    for _ in 0..2 {
        let pid = pid_of(&sup, "a").await;
        tell(&node, pid, ExitReason::custom("boom"));
        exit_of(&node, pid).await;
    }
    let before = pids(&sup).await;
    let [a, b, c] = [before[0].unwrap(), before[1].unwrap(), before[2].unwrap()];
    let seq = node.introspect().next_event_seq();
    tell(&node, a, ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, sup.pid()).await, ExitReason::Shutdown);
    assert_eq!(
        story(
            &node,
            seq,
            &[(a, "a"), (b, "b"), (c, "c"), (sup.pid(), "sup")]
        ),
        strings(&[
            "exit a boom",
            "give up sup a boom",
            "exit c shutdown",
            "exit b shutdown",
            "exit sup shutdown",
        ])
    );
    assert_eq!(node.process_count(), 0);
    assert!(matches!(
        sup.which_children().await,
        Err(SupervisorError::Call(CallError::NoProc(_)))
    ));
}

/// On paused time: the one-second window is aged by moving the runtime's clock, not by
/// waiting.
#[tokio::test(start_paused = true)]
async fn restarts_older_than_max_seconds_do_not_count() {
    let node = Node::new("supervisor");
    let flags = one_for_one().max_restarts(1).max_seconds(1);
    let sup = start_sup(&node, flags, vec![worker("a")]).await;
    for round in 0..2 {
        if round > 0 {
            // Let the first restart age out of the one-second window.
            tokio::time::advance(Duration::from_millis(1_001)).await;
        }
        let pid = pid_of(&sup, "a").await;
        tell(&node, pid, ExitReason::custom("boom"));
        exit_of(&node, pid).await;
        sup.which_children().await.unwrap();
        assert!(sup.is_alive(), "round {round}");
    }
    let pid = pid_of(&sup, "a").await;
    tell(&node, pid, ExitReason::custom("boom"));
    assert_eq!(
        exit_of(&node, sup.pid()).await,
        ExitReason::Shutdown,
        "two restarts within one second exceed max_restarts 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_that_gives_up_is_restarted_by_its_own_supervisor() {
    let node = Node::new("supervisor");
    let mid = Supervisor::child_spec(
        "mid",
        one_for_one().max_restarts(0),
        vec![worker("w")],
        SpawnOptions::new().label("mid"),
    );
    let top = start_sup(&node, one_for_one(), vec![mid]).await;
    let mid_pid = pid_of(&top, "mid").await;
    let mid_sup = Supervisor::from_pid(&node, mid_pid).unwrap();
    let w = pid_of(&mid_sup, "w").await;
    let seq = node.introspect().next_event_seq();
    tell(&node, w, ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, mid_pid).await, ExitReason::Shutdown);
    let mid2 = pid_of(&top, "mid").await;
    assert_ne!(mid2, mid_pid);
    let w2 = pid_of(&Supervisor::from_pid(&node, mid2).unwrap(), "w").await;
    assert_eq!(
        story(
            &node,
            seq,
            &[(w, "w"), (mid_pid, "mid"), (mid2, "mid'"), (w2, "w'")]
        ),
        strings(&[
            "exit w boom",
            "give up mid w boom",
            "exit mid shutdown",
            "spawn mid'",
            "spawn w'",
            "restart mid mid -> mid'",
        ])
    );
    let info = node.process_info(mid2).unwrap();
    assert_eq!(info.restarts, 1);
    assert_eq!(info.parent, Some(top.pid()));
    assert!(top.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_deep_down_escalates_to_the_top() {
    let node = Node::new("supervisor");
    let flags = one_for_one().max_restarts(1);
    let leaf = Supervisor::child_spec(
        "leaf",
        flags,
        vec![worker_with("w", Mode::Crashing)],
        SpawnOptions::new().label("leaf"),
    );
    let mid = Supervisor::child_spec("mid", flags, vec![leaf], SpawnOptions::new().label("mid"));
    let seq = node.introspect().next_event_seq();
    let top = Supervisor::start(&node, flags, vec![mid], SpawnOptions::new().label("top"))
        .await
        .unwrap();
    assert_eq!(exit_of(&node, top.pid()).await, ExitReason::Shutdown);
    let events = events_since(&node, seq);
    let labels: HashMap<Pid, String> = events
        .iter()
        .filter_map(|kind| match kind {
            EventKind::Spawned { pid, label, .. } => Some((*pid, label.to_string())),
            _ => None,
        })
        .collect();
    let gave_up: Vec<&str> = events
        .iter()
        .filter_map(|kind| match kind {
            EventKind::SupervisorGaveUp { supervisor, .. } => Some(&*labels[supervisor]),
            _ => None,
        })
        .collect();
    assert_eq!(
        gave_up,
        vec!["leaf", "leaf", "mid", "leaf", "leaf", "mid", "top"]
    );
    assert_eq!(node.process_count(), 0, "the whole tree is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_added_to_a_nested_supervisor_are_lost_when_it_is_restarted() {
    let node = Node::new("supervisor");
    let inner = Supervisor::child_spec(
        "inner",
        one_for_one().max_restarts(0),
        vec![worker("x")],
        SpawnOptions::new(),
    );
    let top = start_sup(&node, one_for_one(), vec![inner]).await;
    let inner_pid = pid_of(&top, "inner").await;
    let inner_sup = Supervisor::from_pid(&node, inner_pid).unwrap();
    inner_sup.start_child(worker("added")).await.unwrap();
    assert_eq!(
        inner_sup.count_children().await.unwrap(),
        counts(2, 2, 0, 2)
    );
    let x = pid_of(&inner_sup, "x").await;
    tell(&node, x, ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, inner_pid).await, ExitReason::Shutdown);
    let restarted = Supervisor::from_pid(&node, pid_of(&top, "inner").await).unwrap();
    let ids: Vec<Arc<str>> = restarted
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|child| child.id)
        .collect();
    assert_eq!(
        ids,
        vec!["x".into()],
        "only the specs given at start come back"
    );
}

// === shutdown ===

/// Starts a one-child supervisor, terminates the child, and returns its exit reason and how
/// long the termination took on tokio's clock. The tests that read that time run on paused
/// time, where the clock moves only to the next timer when every task waits: the time taken
/// is exactly the timers' (the child's, the shutdown timeout's), whatever the machine's load.
async fn terminate_timed(mode: Mode, shutdown: Shutdown) -> (ExitReason, Duration) {
    let node = Node::new("supervisor");
    let spec = worker_with("c", mode).shutdown(shutdown);
    let sup = start_sup(&node, one_for_one(), vec![spec]).await;
    let child = pid_of(&sup, "c").await;
    let started = tokio::time::Instant::now();
    sup.terminate_child("c").await.unwrap();
    let took = started.elapsed();
    assert!(
        !node.is_alive(child),
        "terminate_child returns after the child exited"
    );
    (exit_of(&node, child).await, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brutal_kill_kills_the_child_even_when_it_traps_exits() {
    let (reason, _) = terminate_timed(Mode::Stubborn, Shutdown::BrutalKill).await;
    assert_eq!(reason, ExitReason::Killed);
}

/// A timer of `ms` on paused time: tokio rounds its deadline up to the next millisecond.
fn about_ms(took: Duration, ms: u64) -> bool {
    took >= Duration::from_millis(ms) && took <= Duration::from_millis(ms + 1)
}

#[tokio::test(start_paused = true)]
async fn shutdown_timeout_lets_a_trapping_child_finish_its_terminate() {
    let (reason, took) = terminate_timed(
        Mode::Graceful(Duration::from_millis(50)),
        Shutdown::timeout_ms(2_000),
    )
    .await;
    assert_eq!(reason, ExitReason::Shutdown);
    assert!(
        about_ms(took, 50),
        "it waited for the child's 50 ms and no kill was needed: {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_timeout_kills_a_child_that_ignores_shutdown_after_the_timeout() {
    let (reason, took) = terminate_timed(Mode::Stubborn, Shutdown::timeout_ms(150)).await;
    assert_eq!(reason, ExitReason::Killed);
    assert!(
        about_ms(took, 150),
        "killed when its 150 ms ran out: {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_timeout_of_a_plain_child_ends_it_with_shutdown() {
    let (reason, took) = terminate_timed(Mode::Plain, Shutdown::timeout_ms(2_000)).await;
    assert_eq!(reason, ExitReason::Shutdown);
    assert_eq!(took, Duration::ZERO, "no timer ran: it ended at once");
}

#[tokio::test(start_paused = true)]
async fn shutdown_infinity_waits_as_long_as_the_child_takes() {
    let (reason, took) = terminate_timed(
        Mode::Graceful(Duration::from_millis(300)),
        Shutdown::Infinity,
    )
    .await;
    assert_eq!(reason, ExitReason::Shutdown);
    assert!(about_ms(took, 300), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_child_that_unlinked_itself_is_still_shut_down_properly() {
    let node = Node::new("supervisor");
    let spec = worker("c").shutdown(Shutdown::timeout_ms(1_000));
    let sup = start_sup(&node, one_for_one(), vec![spec, worker("d")]).await;
    let child = pid_of(&sup, "c").await;
    assert!(node.send(child, Cmd::Unlink(sup.pid())).is_ok());
    wait_until("the child unlinked itself", || {
        !node.process_info(sup.pid()).unwrap().links.contains(&child)
    })
    .await;
    let started = tokio::time::Instant::now();
    sup.terminate_child("c").await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "stopped by its shutdown signal, not killed after the 1,000 ms timeout"
    );
    assert_eq!(exit_of(&node, child).await, ExitReason::Shutdown);
    assert_eq!(pids(&sup).await[0], None);
    sup.restart_child("c").await.unwrap();
    let again = pid_of(&sup, "c").await;
    assert!(node.send(again, Cmd::Unlink(sup.pid())).is_ok());
    wait_until("the restarted child unlinked itself", || {
        !node.process_info(sup.pid()).unwrap().links.contains(&again)
    })
    .await;
    sup.stop(ExitReason::Shutdown).await.unwrap();
    assert_eq!(exit_of(&node, again).await, ExitReason::Shutdown);
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_shutdowns_are_5000_ms_for_workers_and_infinity_for_supervisors() {
    let w = worker("w");
    assert_eq!(w.shutdown, Shutdown::Timeout(Duration::from_millis(5000)));
    assert_eq!(w.shutdown, Shutdown::WORKER_DEFAULT);
    assert_eq!(
        (w.restart, w.child_type),
        (Restart::Permanent, ChildType::Worker)
    );
    let s = Supervisor::child_spec("s", one_for_one(), vec![], SpawnOptions::new());
    assert_eq!(s.shutdown, Shutdown::Infinity);
    assert_eq!(
        (s.restart, s.child_type),
        (Restart::Permanent, ChildType::Supervisor)
    );
    assert_eq!(Shutdown::timeout_ms(5000).to_string(), "5000");
    assert_eq!(Shutdown::BrutalKill.to_string(), "brutal_kill");
}

// === start and stop order ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_start_left_to_right_and_stop_right_to_left() {
    let node = Node::new("supervisor");
    let seq = node.introspect().next_event_seq();
    let sup = start_sup(
        &node,
        one_for_one(),
        vec![worker("a"), worker("b"), worker("c")],
    )
    .await;
    let started: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
    assert!(
        started.iter().all(|pid| node.is_alive(*pid)),
        "start returns after all started"
    );
    let names = [
        (sup.pid(), "sup"),
        (started[0], "a"),
        (started[1], "b"),
        (started[2], "c"),
    ];
    assert_eq!(
        story(&node, seq, &names),
        strings(&["spawn sup", "spawn a", "spawn b", "spawn c"])
    );
    let seq = node.introspect().next_event_seq();
    sup.stop(ExitReason::Shutdown).await.unwrap();
    assert_eq!(
        story(&node, seq, &names),
        strings(&[
            "exit c shutdown",
            "exit b shutdown",
            "exit a shutdown",
            "exit sup shutdown"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_tree_stops_each_subtree_before_its_supervisor() {
    let node = Node::new("supervisor");
    let inner = Supervisor::child_spec(
        "inner",
        one_for_one(),
        vec![worker("x"), worker("y")],
        SpawnOptions::new(),
    );
    let top = start_sup(&node, one_for_one(), vec![worker("a"), inner]).await;
    let a = pid_of(&top, "a").await;
    let inner_pid = pid_of(&top, "inner").await;
    let inner_sup = Supervisor::from_pid(&node, inner_pid).unwrap();
    let (x, y) = (pid_of(&inner_sup, "x").await, pid_of(&inner_sup, "y").await);
    let seq = node.introspect().next_event_seq();
    top.stop(ExitReason::Shutdown).await.unwrap();
    let names = [
        (top.pid(), "top"),
        (a, "a"),
        (inner_pid, "inner"),
        (x, "x"),
        (y, "y"),
    ];
    assert_eq!(
        story(&node, seq, &names),
        strings(&[
            "exit y shutdown",
            "exit x shutdown",
            "exit inner shutdown",
            "exit a shutdown",
            "exit top shutdown",
        ])
    );
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_failing_to_start_fails_the_start_naming_it_and_stops_the_started_ones() {
    let node = Node::new("supervisor");
    let (bad, _) = flaky("bad", &[1]);
    let seq = node.introspect().next_event_seq();
    let error = Supervisor::start(
        &node,
        one_for_one(),
        vec![worker("a"), worker("b"), bad, worker("c")],
        SpawnOptions::new().name("sup"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        StartError::Child {
            id: "bad".into(),
            reason: Box::new(StartError::Init(ExitReason::custom("flaky")))
        }
    );
    assert_eq!(
        error.to_string(),
        "child bad failed to start: init failed: flaky"
    );
    let spawned = spawns_since(&node, seq);
    assert_eq!(spawned.len(), 3, "the supervisor, a and b; c never started");
    let [sup, a, b] = [spawned[0], spawned[1], spawned[2]];
    let exits = story(&node, seq, &[(sup, "sup"), (a, "a"), (b, "b")]);
    assert_eq!(
        exits[3..],
        strings(&[
            "exit b shutdown",
            "exit a shutdown",
            "exit sup {shutdown, {failed_to_start_child, bad, init failed: flaky}}",
        ])
    );
    assert_eq!(node.whereis("sup"), None);
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_start_error_at_init_is_reported_for_nested_supervisors_too() {
    let node = Node::new("supervisor");
    let (bad, _) = flaky("bad", &[1]);
    let inner = Supervisor::child_spec("inner", one_for_one(), vec![bad], SpawnOptions::new());
    let error = Supervisor::start(&node, one_for_one(), vec![inner], SpawnOptions::new())
        .await
        .unwrap_err();
    let StartError::Child { id, reason } = error else {
        panic!("expected a child error, got {error:?}");
    };
    assert_eq!(&*id, "inner");
    assert_eq!(
        *reason,
        StartError::Child {
            id: "bad".into(),
            reason: Box::new(StartError::Init(ExitReason::custom("flaky")))
        }
    );
    assert_eq!(node.process_count(), 0);
}

// === failed restarts ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restart_is_retried_and_counts_toward_the_intensity() {
    let node = Node::new("supervisor");
    let (spec, attempts) = flaky("a", &[2]);
    let sup = start_sup(&node, one_for_one().max_restarts(2), vec![spec]).await;
    let old = pid_of(&sup, "a").await;
    tell(&node, old, ExitReason::custom("boom"));
    exit_of(&node, old).await;
    wait_until_async("the retry started the child", || async {
        matches!(pids(&sup).await[0], Some(pid) if pid != old)
    })
    .await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "start, failed restart, retry"
    );
    assert!(sup.is_alive(), "two restarts: within max_restarts 2");

    let node = Node::new("supervisor");
    let (spec, attempts) = flaky("a", &[2]);
    let sup = start_sup(&node, one_for_one().max_restarts(1), vec![spec]).await;
    let old = pid_of(&sup, "a").await;
    let seq = node.introspect().next_event_seq();
    tell(&node, old, ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, sup.pid()).await, ExitReason::Shutdown);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "the retry itself went over the intensity"
    );
    assert_eq!(
        story(&node, seq, &[(old, "a"), (sup.pid(), "sup")]),
        strings(&[
            "exit a boom",
            "give up sup a restart failed",
            "exit sup shutdown"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_all_retry_stops_the_siblings_that_did_restart_and_restarts_all() {
    let node = Node::new("supervisor");
    let (b_spec, b_attempts) = flaky("b", &[2]);
    let flags = SupervisorFlags::new(Strategy::OneForAll);
    let sup = start_sup(&node, flags, vec![worker("a"), b_spec]).await;
    let before = pids(&sup).await;
    let [a, b] = [before[0].unwrap(), before[1].unwrap()];
    let seq = node.introspect().next_event_seq();
    tell(&node, a, ExitReason::custom("boom"));
    exit_of(&node, a).await;
    wait_until_async("both children run again", || async {
        pids(&sup)
            .await
            .iter()
            .all(|pid| pid.is_some_and(|p| p != a && p != b))
    })
    .await;
    assert_eq!(b_attempts.load(Ordering::SeqCst), 3);
    let after = pids(&sup).await;
    let [a3, b3] = [after[0].unwrap(), after[1].unwrap()];
    let spawned = spawns_since(&node, seq);
    assert_eq!(spawned.len(), 3, "a', then a'' and b' on the retry");
    let a2 = spawned[0];
    assert_eq!(spawned[1..], [a3, b3]);
    assert_eq!(
        story(
            &node,
            seq,
            &[(a, "a"), (b, "b"), (a2, "a'"), (a3, "a''"), (b3, "b'")]
        ),
        strings(&[
            "exit a boom",
            "exit b shutdown",
            "spawn a'",
            "restart a a -> a'",
            "exit a' shutdown",
            "spawn a''",
            "restart a a' -> a''",
            "spawn b'",
            "restart b b -> b'",
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_for_one_retry_goes_on_from_the_child_that_failed() {
    let node = Node::new("supervisor");
    let (b_spec, b_attempts) = flaky("b", &[2]);
    let flags = SupervisorFlags::new(Strategy::RestForOne);
    let sup = start_sup(&node, flags, vec![worker("a"), b_spec]).await;
    let before = pids(&sup).await;
    let [a, b] = [before[0].unwrap(), before[1].unwrap()];
    let seq = node.introspect().next_event_seq();
    tell(&node, a, ExitReason::custom("boom"));
    exit_of(&node, a).await;
    wait_until_async("both children run again", || async {
        pids(&sup)
            .await
            .iter()
            .all(|pid| pid.is_some_and(|p| p != a && p != b))
    })
    .await;
    assert_eq!(b_attempts.load(Ordering::SeqCst), 3);
    let after = pids(&sup).await;
    let [a2, b2] = [after[0].unwrap(), after[1].unwrap()];
    assert_eq!(
        story(&node, seq, &[(a, "a"), (b, "b"), (a2, "a'"), (b2, "b'")]),
        strings(&[
            "exit a boom",
            "exit b shutdown",
            "spawn a'",
            "restart a a -> a'",
            "spawn b'",
            "restart b b -> b'",
        ])
    );
}

// === the supervisor's own exit ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_signal_from_the_parent_stops_the_children_then_the_supervisor_with_that_reason() {
    let node = Node::new("supervisor");
    let parent = Probe::spawn(&node, false);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawner = node.clone();
    parent
        .run(move |ctx| {
            let ctx = ctx.clone();
            spawner.handle().spawn(async move {
                let children = vec![worker("a"), worker("b")];
                let started =
                    Supervisor::start_link(&ctx, one_for_one(), children, SpawnOptions::new())
                        .await;
                tx.send(started).ok();
            });
        })
        .await;
    let sup = within("the supervisor starts", rx).await.unwrap().unwrap();
    let children: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
    let seq = node.introspect().next_event_seq();
    parent.exit_with(ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, sup.pid()).await, ExitReason::custom("boom"));
    let names = [
        (parent.pid(), "parent"),
        (sup.pid(), "sup"),
        (children[0], "a"),
        (children[1], "b"),
    ];
    assert_eq!(
        story(&node, seq, &names),
        strings(&[
            "exit parent boom",
            "exit b shutdown",
            "exit a shutdown",
            "exit sup boom"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_supervisor_is_found_by_name_and_the_name_is_unique() {
    let node = Node::new("supervisor");
    let options = SpawnOptions::new().name("top");
    let sup = Supervisor::start(&node, one_for_one(), vec![worker("a")], options.clone())
        .await
        .unwrap();
    assert_eq!(
        Supervisor::whereis(&node, "top").map(|s| s.pid()),
        Some(sup.pid())
    );
    let count = node.process_count();
    let error = Supervisor::start(&node, one_for_one(), vec![worker("a")], options)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StartError::NameTaken {
            name: "top".into(),
            holder: sup.pid()
        }
    );
    assert_eq!(
        node.process_count(),
        count,
        "no child of the refused one started"
    );
}

// === child administration ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn which_children_and_count_children_report_exactly() {
    let node = Node::new("supervisor");
    let ignored = ChildSpec::worker("ignored", |_ctx| async { Ok(Started::Ignore) });
    let inner = Supervisor::child_spec("inner", one_for_one(), vec![], SpawnOptions::new());
    let children = vec![
        worker("a"),
        ignored,
        inner,
        worker("t").restart(Restart::Temporary),
    ];
    let sup = start_sup(&node, one_for_one(), children).await;
    let which = sup.which_children().await.unwrap();
    let pid = |index: usize| which[index].pid.pid().unwrap();
    assert_eq!(
        which,
        vec![
            ChildInfo {
                id: "a".into(),
                pid: ChildPid::Running(pid(0)),
                child_type: ChildType::Worker,
                restart: Restart::Permanent
            },
            ChildInfo {
                id: "ignored".into(),
                pid: ChildPid::Undefined,
                child_type: ChildType::Worker,
                restart: Restart::Permanent
            },
            ChildInfo {
                id: "inner".into(),
                pid: ChildPid::Running(pid(2)),
                child_type: ChildType::Supervisor,
                restart: Restart::Permanent
            },
            ChildInfo {
                id: "t".into(),
                pid: ChildPid::Running(pid(3)),
                child_type: ChildType::Worker,
                restart: Restart::Temporary
            },
        ]
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(4, 3, 1, 3));
    assert_eq!(
        node.process_info(sup.pid()).unwrap().children,
        vec![pid(0), pid(2), pid(3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_restart_and_delete_child_with_their_errors() {
    let node = Node::new("supervisor");
    let sup = start_sup(&node, one_for_one(), vec![worker("a")]).await;
    let a = pid_of(&sup, "a").await;
    assert_eq!(
        sup.start_child(worker("a")).await,
        Err(SupervisorError::AlreadyPresent("a".into()))
    );
    let not_found = Err(SupervisorError::NotFound("nope".into()));
    assert_eq!(sup.terminate_child("nope").await, not_found);
    assert_eq!(sup.delete_child("nope").await, not_found);
    assert_eq!(sup.restart_child("nope").await.map(|_| ()), not_found);
    assert_eq!(
        sup.delete_child("a").await,
        Err(SupervisorError::Running("a".into()))
    );
    assert_eq!(
        sup.restart_child("a").await,
        Err(SupervisorError::Running("a".into()))
    );
    assert_eq!(
        SupervisorError::Running("a".into()).to_string(),
        "child a is running"
    );
    assert_eq!(
        SupervisorError::NotFound("nope".into()).to_string(),
        "no child nope"
    );

    let seq = node.introspect().next_event_seq();
    sup.terminate_child("a").await.unwrap();
    assert_eq!(exit_of(&node, a).await, ExitReason::Shutdown);
    assert_eq!(
        events_since(&node, seq)
            .iter()
            .filter(|kind| matches!(kind, EventKind::Restarted { .. }))
            .count(),
        0,
        "a terminated child is not restarted, even permanent"
    );
    assert_eq!(pids(&sup).await, vec![None]);
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 0, 0, 1));
    sup.terminate_child("a").await.unwrap();
    assert_eq!(
        sup.start_child(worker("a")).await,
        Err(SupervisorError::AlreadyPresent("a".into()))
    );

    let Started::Pid(a2) = sup.restart_child("a").await.unwrap() else {
        panic!("restart_child started nothing");
    };
    assert_ne!(a2, a);
    assert_eq!(pids(&sup).await, vec![Some(a2)]);
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 1, 0, 1));

    sup.terminate_child("a").await.unwrap();
    sup.delete_child("a").await.unwrap();
    assert_eq!(
        sup.restart_child("a").await.map(|_| ()),
        Err(SupervisorError::NotFound("a".into()))
    );
    assert_eq!(sup.which_children().await.unwrap(), vec![]);
    assert_eq!(sup.count_children().await.unwrap(), counts(0, 0, 0, 0));

    let Started::Pid(a3) = sup.start_child(worker("a")).await.unwrap() else {
        panic!("start_child started nothing");
    };
    assert_eq!(pids(&sup).await, vec![Some(a3)]);
    assert_eq!(node.process_info(a3).unwrap().parent, Some(sup.pid()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_ignores_its_start_keeps_its_spec_unless_temporary() {
    let node = Node::new("supervisor");
    let ignoring = |id: &str| ChildSpec::worker(id, |_ctx| async { Ok(Started::Ignore) });
    let children = vec![
        ignoring("permanent"),
        ignoring("temporary").restart(Restart::Temporary),
        worker("a"),
    ];
    let sup = start_sup(&node, one_for_one(), children).await;
    let ids: Vec<Arc<str>> = sup
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|child| child.id)
        .collect();
    assert_eq!(ids, vec!["permanent".into(), "a".into()]);
    assert_eq!(sup.count_children().await.unwrap(), counts(2, 1, 0, 2));
    let spec = ignoring("later").restart(Restart::Temporary);
    assert_eq!(sup.start_child(spec).await, Ok(Started::Ignore));
    assert_eq!(sup.start_child(ignoring("kept")).await, Ok(Started::Ignore));
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 1, 0, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_signal_from_outside_the_tree_does_not_stop_a_supervisor() {
    let node = Node::new("supervisor");
    let sup = start_sup(&node, one_for_one(), vec![worker("a")]).await;
    let a = pid_of(&sup, "a").await;
    node.exit(sup.pid(), ExitReason::Shutdown).unwrap();
    let stranger = Probe::spawn(&node, false);
    let s = sup.pid();
    stranger
        .run(move |ctx| ctx.exit(s, ExitReason::custom("boom")))
        .await
        .unwrap();
    assert_eq!(pids(&sup).await, vec![Some(a)], "both signals were ignored");
    assert!(sup.is_alive());
    node.exit(sup.pid(), ExitReason::Kill).unwrap();
    assert_eq!(exit_of(&node, sup.pid()).await, ExitReason::Killed);
    assert_eq!(
        exit_of(&node, a).await,
        ExitReason::Killed,
        "a killed supervisor takes its non-trapping children with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_child_reports_a_failed_start_and_keeps_the_spec() {
    let node = Node::new("supervisor");
    let (spec, attempts) = flaky("a", &[2]);
    let sup = start_sup(&node, one_for_one(), vec![spec]).await;
    sup.terminate_child("a").await.unwrap();
    assert_eq!(
        sup.restart_child("a").await,
        Err(SupervisorError::Start(StartError::Init(
            ExitReason::custom("flaky")
        )))
    );
    assert_eq!(pids(&sup).await, vec![None]);
    assert!(
        sup.is_alive(),
        "a failed restart_child does not count as a crash"
    );
    assert!(matches!(sup.restart_child("a").await, Ok(Started::Pid(_))));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_a_temporary_child_drops_its_spec() {
    let node = Node::new("supervisor");
    let sup = start_sup(
        &node,
        one_for_one(),
        vec![worker("t").restart(Restart::Temporary)],
    )
    .await;
    sup.terminate_child("t").await.unwrap();
    assert_eq!(sup.which_children().await.unwrap(), vec![]);
    assert_eq!(
        sup.restart_child("t").await.map(|_| ()),
        Err(SupervisorError::NotFound("t".into()))
    );
    sup.start_child(worker("t").restart(Restart::Temporary))
        .await
        .unwrap();
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 1, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_started_later_is_supervised_like_the_others() {
    let node = Node::new("supervisor");
    let flags = SupervisorFlags::new(Strategy::OneForAll);
    let sup = start_sup(&node, flags, vec![worker("a")]).await;
    sup.start_child(worker("b")).await.unwrap();
    let before = pids(&sup).await;
    tell(&node, before[1].unwrap(), ExitReason::custom("boom"));
    exit_of(&node, before[1].unwrap()).await;
    let after = pids(&sup).await;
    assert!(
        after
            .iter()
            .all(|pid| pid.is_some() && !before.contains(pid))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_spec_overrides_id_restart_and_shutdown() {
    let node = Node::new("supervisor");
    let spec = worker("original")
        .id("renamed")
        .restart(Restart::Transient)
        .shutdown(Shutdown::BrutalKill);
    assert_eq!(&*spec.id, "renamed");
    let sup = start_sup(&node, one_for_one(), vec![spec]).await;
    let which = sup.which_children().await.unwrap();
    assert_eq!(&*which[0].id, "renamed");
    assert_eq!(which[0].restart, Restart::Transient);
    let child = which[0].pid.pid().unwrap();
    let info = node.process_info(child).unwrap();
    assert_eq!(info.child_id.as_deref(), Some("renamed"));
    assert_eq!(info.restart, Some(Restart::Transient));
    assert_eq!(info.shutdown, Some(Shutdown::BrutalKill));
    assert_eq!(info.parent, Some(sup.pid()));
    assert_eq!(info.links, vec![sup.pid()]);
    sup.terminate_child("renamed").await.unwrap();
    assert_eq!(
        exit_of(&node, child).await,
        ExitReason::Killed,
        "the overridden shutdown is used"
    );
}

// === introspection ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_keep_spec_order_after_the_first_child_restarts() {
    let node = Node::new("supervisor");
    let sup = start_sup(
        &node,
        one_for_one(),
        vec![worker("a"), worker("b"), worker("c")],
    )
    .await;
    let before: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
    assert_eq!(node.process_info(sup.pid()).unwrap().children, before);
    for round in 1..=2 {
        let a = pid_of(&sup, "a").await;
        tell(&node, a, ExitReason::custom("boom"));
        exit_of(&node, a).await;
        let after: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
        assert_ne!(after[0], a);
        assert_eq!(after[1..], before[1..]);
        assert_eq!(
            node.process_info(sup.pid()).unwrap().children,
            after,
            "round {round}: the restarted child keeps its place"
        );
        let info = node.process_info(after[0]).unwrap();
        assert_eq!(info.restarts, round, "restarts on the new incarnation");
        assert_eq!(info.child_id.as_deref(), Some("a"));
        assert_eq!(node.process_info(after[1]).unwrap().restarts, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_traps_exits_and_is_linked_to_its_children() {
    let node = Node::new("supervisor");
    let sup = start_sup(&node, one_for_one(), vec![worker("a"), worker("b")]).await;
    let children: Vec<Pid> = pids(&sup).await.into_iter().map(Option::unwrap).collect();
    let info = node.process_info(sup.pid()).unwrap();
    assert!(info.trap_exit);
    assert_eq!(info.links, children);
    assert_eq!(&*info.label, "sup");
    let report = node
        .introspect()
        .describe(sup.pid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report[0].0, "flags");
    assert_eq!(report[1].0, "a");
    assert_eq!(report[2].0, "b");
}

// === OTP conformance: starts that crash, bad specs, children whose restart failed ===

/// A worker whose start function panics, outside any process.
fn panicking(id: &str) -> ChildSpec {
    ChildSpec::worker(id, |_ctx: Context| async { panic!("no start") })
}

/// A plain worker whose start fails while `failing` is set; the counter tells how many
/// attempts were made.
fn switchable(
    id: &str,
    failing: &Arc<std::sync::atomic::AtomicBool>,
) -> (ChildSpec, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let (counter, failing) = (attempts.clone(), failing.clone());
    let spec = ChildSpec::worker(id, move |ctx: Context| {
        counter.fetch_add(1, Ordering::SeqCst);
        let fail = failing.load(Ordering::SeqCst);
        async move {
            if fail {
                return Err(StartError::Init(ExitReason::custom("switched off")));
            }
            let addr =
                ctx.spawn_opts(SpawnOptions::new().label("worker"), true, |ctx, inbox| {
                    run_worker(ctx, inbox, Mode::Plain)
                })?;
            Ok(Started::Pid(addr.pid()))
        }
    });
    (spec, attempts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_child_that_panics_fails_with_the_panic_and_the_supervisor_goes_on() {
    let node = Node::new("supervisor");
    let sup = start_sup(&node, one_for_one(), vec![worker("a")]).await;
    let a = pid_of(&sup, "a").await;
    assert_eq!(
        sup.start_child(panicking("p")).await,
        Err(SupervisorError::Start(StartError::Panicked(
            "no start".into()
        )))
    );
    // A server whose init panics: the start fails with the panic, the supervisor ignores the
    // EXIT of a process that never became its child.
    let init_panics = ChildSpec::worker("q", |ctx: Context| async move {
        let no_init = || -> u32 { panic!("no init") };
        let agent = Agent::start_link(&ctx, no_init, SpawnOptions::new()).await?;
        Ok(Started::Pid(agent.pid()))
    });
    assert_eq!(
        sup.start_child(init_panics).await,
        Err(SupervisorError::Start(StartError::Init(ExitReason::Panic(
            "no init".into()
        ))))
    );
    assert!(sup.is_alive());
    assert_eq!(pids(&sup).await, vec![Some(a)], "a still runs, alone");
    assert_eq!(
        StartError::Panicked("no start".into()).to_string(),
        "start function panicked: no start"
    );

    let dynamic = DynamicSupervisor::start(&node, Default::default(), SpawnOptions::new())
        .await
        .unwrap();
    assert_eq!(
        dynamic.start_child(panicking("p")).await,
        Err(StartError::Panicked("no start".into()))
    );
    assert!(dynamic.is_alive());
    assert_eq!(dynamic.count_children().await.unwrap(), counts(0, 0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_start_that_panics_at_supervisor_start_shuts_the_started_ones_down_with_shutdown() {
    let node = Node::new("supervisor");
    let seq = node.introspect().next_event_seq();
    let error = Supervisor::start(
        &node,
        one_for_one(),
        vec![worker("a"), worker("b"), panicking("p"), worker("c")],
        SpawnOptions::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        StartError::Child {
            id: "p".into(),
            reason: Box::new(StartError::Panicked("no start".into()))
        }
    );
    let spawned = spawns_since(&node, seq);
    let [sup, a, b] = [spawned[0], spawned[1], spawned[2]];
    assert_eq!(
        story(&node, seq, &[(sup, "sup"), (a, "a"), (b, "b")]),
        strings(&[
            "spawn sup",
            "spawn a",
            "spawn b",
            "exit b shutdown",
            "exit a shutdown",
            "exit sup {shutdown, {failed_to_start_child, p, start function panicked: no start}}",
        ])
    );
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_that_panics_is_retried_under_the_intensity() {
    let node = Node::new("supervisor");
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    // The second start (the first restart) panics; the others start a plain worker.
    let spec = ChildSpec::worker("a", move |ctx: Context| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            assert_ne!(attempt, 2, "second start panics");
            let addr = ctx.spawn_opts(SpawnOptions::new(), true, |ctx, inbox| {
                run_worker(ctx, inbox, Mode::Plain)
            })?;
            Ok(Started::Pid(addr.pid()))
        }
    });
    let sup = start_sup(&node, one_for_one().max_restarts(2), vec![spec]).await;
    let old = pid_of(&sup, "a").await;
    let seq = node.introspect().next_event_seq();
    tell(&node, old, ExitReason::custom("boom"));
    wait_until_async("the retry started the child", || async {
        matches!(pids(&sup).await[0], Some(pid) if pid != old)
    })
    .await;
    let new = pid_of(&sup, "a").await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "start, panic, retry");
    assert_eq!(
        story(&node, seq, &[(old, "a"), (new, "a'")]),
        strings(&["exit a boom", "spawn a'", "restart a a -> a'"])
    );
    assert!(sup.is_alive(), "two restarts: within max_restarts 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_child_ids_fail_the_start_before_any_child_starts() {
    let node = Node::new("supervisor");
    let seq = node.introspect().next_event_seq();
    let error = Supervisor::start(
        &node,
        one_for_one(),
        vec![worker("a"), worker("b"), worker("a")],
        SpawnOptions::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error, StartError::DuplicateChild("a".into()));
    assert_eq!(error.to_string(), "duplicate child id a");
    assert_eq!(spawns_since(&node, seq), vec![], "nothing was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_window_of_zero_seconds_is_refused() {
    let node = Node::new("supervisor");
    let seq = node.introspect().next_event_seq();
    let error = Supervisor::start(
        &node,
        one_for_one().max_seconds(0),
        vec![worker("a")],
        SpawnOptions::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error, StartError::InvalidPeriod(0));
    assert_eq!(
        error.to_string(),
        "invalid period: max_seconds is 0, it must be at least 1"
    );
    assert_eq!(spawns_since(&node, seq), vec![], "nothing was started");
}

/// Starts `strategy` over a, b (whose starts fail while `failing` is set) and c, turns b's
/// starts off and crashes a, then waits until b's restart has failed at least twice: the
/// supervisor is retrying it, one mailbox message per try.
async fn b_keeps_failing(
    strategy: Strategy,
) -> (
    Node,
    Supervisor,
    Arc<std::sync::atomic::AtomicBool>,
    Arc<AtomicU32>,
) {
    let node = Node::new("supervisor");
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (b_spec, b_attempts) = switchable("b", &failing);
    let flags = SupervisorFlags::new(strategy).max_restarts(u32::MAX);
    let sup = start_sup(&node, flags, vec![worker("a"), b_spec, worker("c")]).await;
    failing.store(true, Ordering::SeqCst);
    let a = pid_of(&sup, "a").await;
    tell(&node, a, ExitReason::custom("boom"));
    wait_until("b's restart failed and is being retried", || {
        b_attempts.load(Ordering::SeqCst) >= 3
    })
    .await;
    (node, sup, failing, b_attempts)
}

/// Each child's id and whether it runs, restarts or is undefined.
async fn states(sup: &Supervisor) -> Vec<(String, &'static str)> {
    sup.which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|child| {
            let state = match child.pid {
                ChildPid::Running(_) => "running",
                ChildPid::Restarting => "restarting",
                ChildPid::Undefined => "undefined",
            };
            (child.id.to_string(), state)
        })
        .collect()
}

fn named(states: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    states
        .iter()
        .map(|(id, s)| ((*id).to_owned(), *s))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_rest_for_one_restart_only_the_failed_child_is_restarting() {
    let (node, sup, failing, b_attempts) = b_keeps_failing(Strategy::RestForOne).await;
    assert_eq!(
        states(&sup).await,
        named(&[("a", "running"), ("b", "restarting"), ("c", "undefined")])
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 1, 0, 3));
    // c can be started by hand meanwhile, as in OTP ...
    let Started::Pid(c) = sup.restart_child("c").await.unwrap() else {
        panic!("restart_child started nothing");
    };
    assert_eq!(
        sup.delete_child("b").await,
        Err(SupervisorError::Restarting("b".into()))
    );
    assert_eq!(
        sup.restart_child("b").await.map(|_| ()),
        Err(SupervisorError::Restarting("b".into()))
    );
    // ... and the next try, always queued while b is restarting, stops it again before it
    // starts b: a rest_for_one retry stops the children after the failed one.
    assert_eq!(exit_of(&node, c).await, ExitReason::Shutdown);
    // Terminating b cancels its retry: its attempts stop.
    sup.terminate_child("b").await.unwrap();
    let attempts = b_attempts.load(Ordering::SeqCst);
    sup.which_children().await.unwrap();
    assert_eq!(
        b_attempts.load(Ordering::SeqCst),
        attempts,
        "no retry after terminate"
    );
    assert_eq!(
        states(&sup).await,
        named(&[("a", "running"), ("b", "undefined"), ("c", "undefined")])
    );
    // Every child is usable again.
    assert!(matches!(sup.restart_child("c").await, Ok(Started::Pid(_))));
    sup.terminate_child("c").await.unwrap();
    sup.delete_child("c").await.unwrap();
    failing.store(false, Ordering::SeqCst);
    assert!(matches!(sup.restart_child("b").await, Ok(Started::Pid(_))));
    assert_eq!(
        states(&sup).await,
        named(&[("a", "running"), ("b", "running")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_one_for_all_restart_the_later_children_are_undefined_and_can_be_deleted() {
    let (_node, sup, failing, b_attempts) = b_keeps_failing(Strategy::OneForAll).await;
    assert_eq!(
        states(&sup).await,
        named(&[("a", "running"), ("b", "restarting"), ("c", "undefined")])
    );
    sup.delete_child("c").await.unwrap();
    sup.terminate_child("b").await.unwrap();
    let attempts = b_attempts.load(Ordering::SeqCst);
    let a = pid_of(&sup, "a").await;
    assert_eq!(
        states(&sup).await,
        named(&[("a", "running"), ("b", "undefined")])
    );
    assert_eq!(
        b_attempts.load(Ordering::SeqCst),
        attempts,
        "no retry after terminate"
    );
    assert_eq!(pid_of(&sup, "a").await, a, "no retry restarted a again");
    failing.store(false, Ordering::SeqCst);
    assert!(matches!(sup.restart_child("b").await, Ok(Started::Pid(_))));
    assert_eq!(sup.count_children().await.unwrap(), counts(2, 2, 0, 2));
}

/// A worker whose restarts take `delay` (the first start is quick).
fn slow_to_restart(id: &str, delay: Duration) -> ChildSpec {
    let started = Arc::new(AtomicU32::new(0));
    ChildSpec::worker(id, move |ctx: Context| {
        let restart = started.fetch_add(1, Ordering::SeqCst) > 0;
        async move {
            if restart {
                tokio::time::sleep(delay).await;
            }
            let addr = ctx.spawn_opts(SpawnOptions::new(), true, |ctx, inbox| {
                run_worker(ctx, inbox, Mode::Plain)
            })?;
            Ok(Started::Pid(addr.pid()))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn which_children_waits_for_a_supervisor_busy_restarting_a_slow_child() {
    let node = Node::new("supervisor");
    let slow = slow_to_restart("a", Duration::from_secs(8));
    let sup = start_sup(&node, one_for_one(), vec![slow]).await;
    let old = pid_of(&sup, "a").await;
    let started = tokio::time::Instant::now();
    tell(&node, old, ExitReason::custom("boom"));
    exit_of(&node, old).await;
    let (which, counted) = tokio::join!(sup.which_children(), sup.count_children());
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "answered once the restart was done"
    );
    let which = which.unwrap();
    assert!(matches!(which[0].pid, ChildPid::Running(pid) if pid != old));
    assert_eq!(counted.unwrap(), counts(1, 1, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_started_without_a_link_ignores_an_exit_signal_from_its_starter() {
    let node = Node::new("supervisor");
    let starter = Probe::spawn(&node, false);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawner = node.clone();
    starter
        .run(move |ctx| {
            let ctx = ctx.clone();
            spawner.handle().spawn(async move {
                let started =
                    Supervisor::start(&ctx, one_for_one(), vec![worker("a")], SpawnOptions::new())
                        .await;
                tx.send(started).ok();
            });
        })
        .await;
    let sup = within("the supervisor starts", rx).await.unwrap().unwrap();
    assert_eq!(
        node.process_info(sup.pid()).unwrap().parent,
        Some(starter.pid()),
        "shown under its starter"
    );
    let a = pid_of(&sup, "a").await;
    let s = sup.pid();
    starter
        .run(move |ctx| ctx.exit(s, ExitReason::Shutdown))
        .await
        .unwrap();
    assert_eq!(pids(&sup).await, vec![Some(a)], "the signal was ignored");
    assert!(sup.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_function_that_calls_its_own_supervisor_fails_with_calling_self() {
    let node = Node::new("supervisor");
    let sup = start_sup(&node, one_for_one(), vec![]).await;
    let spec = ChildSpec::worker("nosy", |ctx: Context| async move {
        let me = Supervisor::from_pid(&ctx.node(), ctx.pid()).unwrap();
        match me.which_children().await {
            Err(SupervisorError::Call(error)) => Err(StartError::Supervisor(error)),
            other => panic!("expected calling_self, got {other:?}"),
        }
    });
    assert_eq!(
        within("start_child", sup.start_child(spec)).await,
        Err(SupervisorError::Start(StartError::Supervisor(
            CallError::CallingSelf(sup.pid())
        )))
    );
}

/// An exit finds its child through a pid index; a temporary child removed before it shifts
/// the children after it, and the index must still name the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_restarts_the_child_it_came_from_after_siblings_were_removed() {
    let node = Node::new("supervisor");
    let children = vec![
        worker("t1").restart(Restart::Temporary),
        worker("a"),
        worker("t2").restart(Restart::Temporary),
        worker("b"),
        worker("c"),
    ];
    let sup = start_sup(&node, one_for_one(), children).await;
    let (a, b, c) = (
        pid_of(&sup, "a").await,
        pid_of(&sup, "b").await,
        pid_of(&sup, "c").await,
    );
    // An exit first, so the index is built with the temporary children in it.
    tell(&node, b, ExitReason::custom("crash"));
    support::wait_until_async("b restarted", || async { pid_of(&sup, "b").await != b }).await;
    let b = pid_of(&sup, "b").await;
    for id in ["t1", "t2"] {
        let pid = pid_of(&sup, id).await;
        tell(&node, pid, ExitReason::custom("crash"));
        support::wait_until_async("the temporary child removed", || async {
            sup.which_children()
                .await
                .unwrap()
                .iter()
                .all(|child| &*child.id != id)
        })
        .await;
    }
    tell(&node, c, ExitReason::custom("crash"));
    support::wait_until_async("c restarted", || async { pid_of(&sup, "c").await != c }).await;
    assert_eq!(pid_of(&sup, "a").await, a, "only c was restarted");
    assert_eq!(pid_of(&sup, "b").await, b, "only c was restarted");
    tell(&node, a, ExitReason::custom("crash"));
    support::wait_until_async("a restarted", || async { pid_of(&sup, "a").await != a }).await;
    assert_eq!(pid_of(&sup, "b").await, b, "only a was restarted");
    let ids: Vec<String> = sup
        .which_children()
        .await
        .unwrap()
        .iter()
        .map(|child| child.id.to_string())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}
