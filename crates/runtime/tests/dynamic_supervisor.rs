//! Dynamic supervisors, after Elixir's `DynamicSupervisor` (the seed's `KV.BucketSupervisor`):
//! start_child, terminate_child, which_children, count_children, max_children, restarts by
//! restart type, restart intensity, and stopping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use otpscope_runtime::*;
use support::*;

// === test children ===

/// What the test tells a worker.
enum Cmd {
    /// Exit with this reason.
    Exit(ExitReason),
}

/// A worker; if `trap`, it traps exits and on an exit signal takes `linger`, then exits with
/// the signal's reason (or never, if `linger` is `None`).
fn worker_with(id: &str, trap: bool, linger: Option<Duration>) -> ChildSpec {
    ChildSpec::worker(id, move |ctx: Context| async move {
        let options = SpawnOptions::new().trap_exit(trap).label("worker");
        let addr = ctx.spawn_opts(
            options,
            true,
            move |_ctx, mut inbox: Inbox<Cmd>| async move {
                loop {
                    match inbox.recv().await {
                        Message::User(Cmd::Exit(reason)) => return reason,
                        Message::Exit(exit) => {
                            if let Some(linger) = linger {
                                tokio::time::sleep(linger).await;
                                return exit.reason;
                            }
                        }
                        Message::Down(_) => {}
                    }
                }
            },
        )?;
        Ok(Started::Pid(addr.pid()))
    })
}

fn worker(id: &str) -> ChildSpec {
    worker_with(id, false, None)
}

fn tell(node: &Node, pid: Pid, reason: ExitReason) {
    assert!(
        node.send(pid, Cmd::Exit(reason)).is_ok(),
        "{pid} is not a worker"
    );
}

/// A server whose init takes a while and then raises a flag.
struct SlowInit {
    ready: Arc<AtomicBool>,
}

impl Server for SlowInit {
    type Call = ();
    type Reply = bool;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn init(&mut self, _ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

// === helpers ===

async fn start_dyn(node: &Node, flags: DynamicSupervisorFlags) -> DynamicSupervisor {
    DynamicSupervisor::start(node, flags, SpawnOptions::new().label("dyn"))
        .await
        .unwrap()
}

async fn start(sup: &DynamicSupervisor, spec: ChildSpec) -> Pid {
    match sup.start_child(spec).await.unwrap() {
        Started::Pid(pid) => pid,
        Started::Ignore => panic!("the child was not started"),
    }
}

fn counts(specs: usize, active: usize, supervisors: usize, workers: usize) -> ChildCounts {
    ChildCounts {
        specs,
        active,
        supervisors,
        workers,
    }
}

async fn child_pids(sup: &DynamicSupervisor) -> Vec<Pid> {
    sup.which_children()
        .await
        .unwrap()
        .iter()
        .map(|child| child.pid.pid().unwrap())
        .collect()
}

// === starting and stopping children ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_child_returns_once_the_child_has_finished_init() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let ready = Arc::new(AtomicBool::new(false));
    let flag = ready.clone();
    let spec = ChildSpec::worker("slow", move |ctx| {
        let server = SlowInit {
            ready: flag.clone(),
        };
        async move {
            let server = ServerRef::start_link(&ctx, server, SpawnOptions::new()).await?;
            Ok(Started::Pid(server.pid()))
        }
    });
    let pid = start(&sup, spec).await;
    assert!(
        ready.load(Ordering::SeqCst),
        "init completed before start_child returned"
    );
    assert!(node.is_alive(pid));
    let info = node.process_info(pid).unwrap();
    assert_eq!(info.parent, Some(sup.pid()));
    assert_eq!(info.links, vec![sup.pid()]);
    assert_eq!(info.child_id.as_deref(), Some("slow"));
    assert_eq!(node.process_info(sup.pid()).unwrap().children, vec![pid]);
    assert_eq!(
        node.process_info(sup.pid()).unwrap().kind,
        ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: None
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_fails_to_start_or_ignores_is_not_kept() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let failing = ChildSpec::worker("failing", |_ctx| async {
        Err(StartError::Init(ExitReason::custom("no")))
    });
    assert_eq!(
        sup.start_child(failing).await,
        Err(StartError::Init(ExitReason::custom("no")))
    );
    let ignoring = ChildSpec::worker("ignoring", |_ctx| async { Ok(Started::Ignore) });
    assert_eq!(sup.start_child(ignoring).await, Ok(Started::Ignore));
    assert_eq!(sup.count_children().await.unwrap(), counts(0, 0, 0, 0));
    assert!(sup.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_child_stops_it_with_shutdown_and_an_unknown_pid_is_not_found() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let a = start(&sup, worker("a")).await;
    let b = start(&sup, worker("b")).await;
    let seq = node.introspect().next_event_seq();
    sup.terminate_child(a).await.unwrap();
    assert!(
        !node.is_alive(a),
        "terminate_child returns after the child exited"
    );
    assert_eq!(exit_of(&node, a).await, ExitReason::Shutdown);
    assert_eq!(
        exits_since(&node, seq),
        vec![(a, ExitReason::Shutdown)],
        "a terminated permanent child is not restarted"
    );
    assert_eq!(child_pids(&sup).await, vec![b]);
    assert_eq!(
        sup.terminate_child(a).await,
        Err(SupervisorError::NotFound(a.to_string()))
    );
    let stranger = node.spawn(|_ctx, mut inbox: Inbox<()>| async move {
        inbox.recv().await;
    });
    assert_eq!(
        sup.terminate_child(stranger.pid()).await,
        Err(SupervisorError::NotFound(stranger.pid().to_string()))
    );
    assert!(stranger.is_alive(), "only its own children are terminated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn which_children_and_count_children_report_specs_active_supervisors_and_workers() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    assert_eq!(sup.which_children().await.unwrap(), vec![]);
    assert_eq!(sup.count_children().await.unwrap(), counts(0, 0, 0, 0));
    let a = start(&sup, worker("a")).await;
    let nested = DynamicSupervisor::child_spec(
        "nested",
        DynamicSupervisorFlags::default(),
        SpawnOptions::new(),
    );
    let n = start(&sup, nested).await;
    let t = start(&sup, worker("t").restart(Restart::Temporary)).await;
    assert_eq!(
        sup.which_children().await.unwrap(),
        vec![
            ChildInfo {
                id: "a".into(),
                pid: ChildPid::Running(a),
                child_type: ChildType::Worker,
                restart: Restart::Permanent
            },
            ChildInfo {
                id: "nested".into(),
                pid: ChildPid::Running(n),
                child_type: ChildType::Supervisor,
                restart: Restart::Permanent
            },
            ChildInfo {
                id: "t".into(),
                pid: ChildPid::Running(t),
                child_type: ChildType::Worker,
                restart: Restart::Temporary
            },
        ]
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 3, 1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_children_refuses_more_children() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default().max_children(2)).await;
    let a = start(&sup, worker("a")).await;
    start(&sup, worker("b")).await;
    let count = node.process_count();
    let error = sup.start_child(worker("c")).await.unwrap_err();
    assert_eq!(error, StartError::MaxChildren { max: 2 });
    assert_eq!(error.to_string(), "max_children reached (2)");
    assert_eq!(node.process_count(), count, "nothing was started");
    sup.terminate_child(a).await.unwrap();
    start(&sup, worker("c")).await;
    assert_eq!(sup.count_children().await.unwrap(), counts(2, 2, 0, 2));
}

// === restarts ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_child_is_restarted_with_a_new_pid() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let old = start(&sup, worker("a")).await;
    let other = start(&sup, worker("b")).await;
    let seq = node.introspect().next_event_seq();
    tell(&node, old, ExitReason::custom("boom"));
    exit_of(&node, old).await;
    let now = child_pids(&sup).await;
    assert_eq!(now.len(), 2);
    assert!(
        now.contains(&other),
        "one_for_one: the sibling is untouched"
    );
    let new = *now.iter().find(|pid| **pid != other).unwrap();
    assert_ne!(new, old);
    let events = events_since(&node, seq);
    assert_eq!(
        events.last(),
        Some(&EventKind::Restarted {
            supervisor: sup.pid(),
            child_id: "a".into(),
            old,
            new
        })
    );
    assert_eq!(
        exits_since(&node, seq),
        vec![(old, ExitReason::custom("boom"))]
    );
    let info = node.process_info(new).unwrap();
    assert_eq!(info.restarts, 1);
    assert_eq!(info.child_id.as_deref(), Some("a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_child_is_not_restarted_and_transient_only_after_an_abnormal_exit() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let temporary = start(&sup, worker("t").restart(Restart::Temporary)).await;
    tell(&node, temporary, ExitReason::custom("boom"));
    exit_of(&node, temporary).await;
    assert_eq!(sup.count_children().await.unwrap(), counts(0, 0, 0, 0));

    let transient = start(&sup, worker("tr").restart(Restart::Transient)).await;
    tell(&node, transient, ExitReason::shutdown_with("done"));
    exit_of(&node, transient).await;
    assert_eq!(sup.count_children().await.unwrap(), counts(0, 0, 0, 0));

    let transient = start(&sup, worker("tr").restart(Restart::Transient)).await;
    tell(&node, transient, ExitReason::custom("boom"));
    exit_of(&node, transient).await;
    let now = child_pids(&sup).await;
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], transient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceeding_the_intensity_gives_up_and_exits_with_shutdown() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default().intensity(1, 5)).await;
    let bystander = start(&sup, worker("b")).await;
    let a = start(&sup, worker("a")).await;
    tell(&node, a, ExitReason::custom("boom"));
    exit_of(&node, a).await;
    let a2 = *child_pids(&sup)
        .await
        .iter()
        .find(|pid| **pid != bystander)
        .unwrap();
    let seq = node.introspect().next_event_seq();
    tell(&node, a2, ExitReason::custom("again"));
    assert_eq!(exit_of(&node, sup.pid()).await, ExitReason::Shutdown);
    let events: Vec<EventKind> = events_since(&node, seq)
        .into_iter()
        .filter(|kind| !matches!(kind, EventKind::Linked { .. } | EventKind::Unlinked { .. }))
        .collect();
    assert_eq!(
        events,
        vec![
            EventKind::Exited {
                pid: a2,
                reason: ExitReason::custom("again")
            },
            EventKind::SupervisorGaveUp {
                supervisor: sup.pid(),
                child_id: "a".into(),
                reason: ExitReason::custom("again")
            },
            EventKind::Exited {
                pid: bystander,
                reason: ExitReason::Shutdown
            },
            EventKind::Exited {
                pid: sup.pid(),
                reason: ExitReason::Shutdown
            },
        ]
    );
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_supervisor_that_gives_up_is_restarted_empty_by_its_supervisor() {
    let node = Node::new("dynamic");
    let spec = DynamicSupervisor::child_spec(
        "buckets",
        DynamicSupervisorFlags::default().intensity(0, 5),
        SpawnOptions::new().name("buckets"),
    );
    let top = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![spec],
        SpawnOptions::new(),
    )
    .await
    .unwrap();
    let first = DynamicSupervisor::whereis(&node, "buckets").unwrap();
    let child = start(&first, worker("a")).await;
    tell(&node, child, ExitReason::custom("boom"));
    assert_eq!(exit_of(&node, first.pid()).await, ExitReason::Shutdown);
    let restarted = top.which_children().await.unwrap()[0].pid.pid().unwrap();
    assert_ne!(restarted, first.pid());
    let second = DynamicSupervisor::whereis(&node, "buckets").unwrap();
    assert_eq!(
        second.pid(),
        restarted,
        "the name moved to the new incarnation"
    );
    assert_eq!(second.count_children().await.unwrap(), counts(0, 0, 0, 0));
}

// === stopping ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_stops_every_child_with_shutdown_and_the_count_returns_to_baseline() {
    let node = Node::new("dynamic");
    let baseline = node.process_count();
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let mut children = Vec::new();
    for n in 0..60 {
        let spec = match n % 3 {
            0 => worker("plain"),
            1 => worker_with("graceful", true, Some(Duration::from_millis(20))),
            _ => worker("temporary").restart(Restart::Temporary),
        };
        children.push(start(&sup, spec).await);
    }
    assert_eq!(node.process_count(), baseline + 61);
    let seq = node.introspect().next_event_seq();
    sup.stop(ExitReason::Shutdown).await.unwrap();
    let exits = exits_since(&node, seq);
    assert_eq!(exits.len(), 61);
    assert_eq!(exits.last(), Some(&(sup.pid(), ExitReason::Shutdown)));
    for child in &children {
        assert!(
            exits.contains(&(*child, ExitReason::Shutdown)),
            "{child} exited with shutdown"
        );
    }
    assert_eq!(node.process_count(), baseline);
    assert!(matches!(
        sup.start_child(worker("late")).await,
        Err(StartError::Supervisor(CallError::NoProc(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_ends_idle_agents_newest_first_with_shutdown_and_their_monitors_fire() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    // One spec, cloned for every child, as `Bucket::child_spec()` gives.
    let spec = ChildSpec::worker("agent", |ctx: Context| async move {
        let agent = Agent::start_link(&ctx, || 0_u32, SpawnOptions::new()).await?;
        Ok(Started::Pid(agent.pid()))
    })
    .restart(Restart::Temporary);
    let mut agents = Vec::new();
    for _ in 0..5 {
        agents.push(start(&sup, spec.clone()).await);
    }
    assert_eq!(child_pids(&sup).await, agents, "in start order");
    // One has run (it has a task); the others never got a message.
    let busy = Agent::<u32>::from_pid(&node, agents[2]).unwrap();
    busy.update(|n| *n += 1).await.unwrap();
    // A process monitors the oldest, idle one.
    let watched = agents[0];
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (down_tx, down_rx) = tokio::sync::oneshot::channel();
    node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        let monitor = ctx.monitor(watched);
        ready_tx.send(()).ok();
        if let Message::Down(down) = inbox.recv().await {
            down_tx
                .send((down.monitor == monitor, down.pid, down.reason))
                .ok();
        }
    });
    ready_rx.await.unwrap();
    let seq = node.introspect().next_event_seq();
    sup.stop(ExitReason::Shutdown).await.unwrap();
    let down = within("the DOWN", down_rx).await.unwrap();
    assert_eq!(down, (true, watched, ExitReason::Shutdown));
    let exits = exits_since(&node, seq);
    for agent in &agents {
        assert!(
            exits.contains(&(*agent, ExitReason::Shutdown)),
            "{agent} exited with shutdown"
        );
    }
    let idle: Vec<Pid> = exits
        .iter()
        .map(|(pid, _)| *pid)
        .filter(|pid| agents.contains(pid) && *pid != agents[2])
        .collect();
    assert_eq!(
        idle,
        vec![agents[4], agents[3], agents[1], agents[0]],
        "newest first"
    );
    // The watcher exits after it has passed the DOWN on.
    wait_until("every process has exited", || node.process_count() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_kills_a_child_that_ignores_shutdown_after_its_timeout() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let stubborn = start(
        &sup,
        worker_with("stubborn", true, None).shutdown(Shutdown::timeout_ms(100)),
    )
    .await;
    let brutal = start(&sup, worker("brutal").shutdown(Shutdown::BrutalKill)).await;
    let started = std::time::Instant::now();
    sup.stop(ExitReason::Shutdown).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(exit_of(&node, stubborn).await, ExitReason::Killed);
    assert_eq!(exit_of(&node, brutal).await, ExitReason::Killed);
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_supervisor_under_a_supervisor_stops_with_it() {
    let node = Node::new("dynamic");
    let spec = DynamicSupervisor::child_spec(
        "buckets",
        DynamicSupervisorFlags::default(),
        SpawnOptions::new(),
    );
    let top = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![spec],
        SpawnOptions::new(),
    )
    .await
    .unwrap();
    let dyn_pid = top.which_children().await.unwrap()[0].pid.pid().unwrap();
    let sup = DynamicSupervisor::from_pid(&node, dyn_pid).unwrap();
    let a = start(&sup, worker("a")).await;
    let b = start(&sup, worker("b")).await;
    let seq = node.introspect().next_event_seq();
    top.stop(ExitReason::Shutdown).await.unwrap();
    let exits = exits_since(&node, seq);
    assert_eq!(exits.len(), 4);
    let mut children = exits[..2].to_vec();
    children.sort_unstable_by_key(|(pid, _)| *pid);
    assert_eq!(
        children,
        vec![(a, ExitReason::Shutdown), (b, ExitReason::Shutdown)]
    );
    assert_eq!(
        exits[2..],
        [
            (dyn_pid, ExitReason::Shutdown),
            (top.pid(), ExitReason::Shutdown)
        ]
    );
    assert_eq!(node.process_count(), 0);
}

// === OTP conformance: bad flags, children whose restart failed, calls that wait ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_window_of_zero_seconds_is_refused() {
    let node = Node::new("dynamic");
    let seq = node.introspect().next_event_seq();
    let flags = DynamicSupervisorFlags::default().intensity(3, 0);
    let error = DynamicSupervisor::start(&node, flags, SpawnOptions::new())
        .await
        .unwrap_err();
    assert_eq!(error, StartError::InvalidPeriod(0));
    assert_eq!(spawns_since(&node, seq), vec![], "nothing was started");
}

/// A worker whose start fails while `failing` is set; the counter tells how many attempts
/// were made.
fn switchable(id: &str, failing: &Arc<AtomicBool>) -> (ChildSpec, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let (counter, failing) = (attempts.clone(), failing.clone());
    let spec = ChildSpec::worker(id, move |ctx: Context| {
        counter.fetch_add(1, Ordering::SeqCst);
        let fail = failing.load(Ordering::SeqCst);
        async move {
            if fail {
                return Err(StartError::Init(ExitReason::custom("switched off")));
            }
            start_plain(&ctx)
        }
    });
    (spec, attempts)
}

/// Starts a plain worker linked to the supervisor whose context this is.
fn start_plain(ctx: &Context) -> Result<Started, StartError> {
    let options = SpawnOptions::new().label("worker");
    let addr = ctx.spawn_opts(options, true, |_ctx, mut inbox: Inbox<Cmd>| async move {
        loop {
            if let Message::User(Cmd::Exit(reason)) = inbox.recv().await {
                return reason;
            }
        }
    })?;
    Ok(Started::Pid(addr.pid()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_whose_restart_failed_stays_a_child_while_it_is_retried() {
    let node = Node::new("dynamic");
    let flags = DynamicSupervisorFlags::default()
        .intensity(u32::MAX, 5)
        .max_children(2);
    let sup = start_dyn(&node, flags).await;
    let failing = Arc::new(AtomicBool::new(false));
    let (spec, attempts) = switchable("a", &failing);
    let a = start(&sup, spec).await;
    failing.store(true, Ordering::SeqCst);
    tell(&node, a, ExitReason::custom("boom"));
    wait_until("a's restart failed and is being retried", || {
        attempts.load(Ordering::SeqCst) >= 3
    })
    .await;
    let which = sup.which_children().await.unwrap();
    assert_eq!(
        which,
        vec![ChildInfo {
            id: "a".into(),
            pid: ChildPid::Restarting,
            child_type: ChildType::Worker,
            restart: Restart::Permanent,
        }]
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 0, 0, 1));
    let b = start(&sup, worker("b")).await;
    assert_eq!(
        sup.start_child(worker("c")).await,
        Err(StartError::MaxChildren { max: 2 }),
        "the child being retried counts toward max_children"
    );
    // Terminating it by its last pid cancels the retry.
    assert_eq!(sup.terminate_child(a).await, Ok(()));
    let tried = attempts.load(Ordering::SeqCst);
    assert_eq!(child_pids(&sup).await, vec![b]);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        tried,
        "no retry after terminate"
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 1, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn which_children_waits_for_a_supervisor_busy_restarting_a_slow_child() {
    let node = Node::new("dynamic");
    let sup = start_dyn(&node, DynamicSupervisorFlags::default()).await;
    let restarts = Arc::new(AtomicU32::new(0));
    let counter = restarts.clone();
    let slow = ChildSpec::worker("slow", move |ctx: Context| {
        let restart = counter.fetch_add(1, Ordering::SeqCst) > 0;
        async move {
            if restart {
                tokio::time::sleep(Duration::from_secs(8)).await;
            }
            start_plain(&ctx)
        }
    });
    let old = start(&sup, slow).await;
    let started = tokio::time::Instant::now();
    tell(&node, old, ExitReason::custom("boom"));
    exit_of(&node, old).await;
    let (which, counted) = tokio::join!(sup.which_children(), sup.count_children());
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "answered once the restart was done"
    );
    assert!(matches!(which.unwrap()[0].pid, ChildPid::Running(pid) if pid != old));
    assert_eq!(counted.unwrap(), counts(1, 1, 0, 1));
}
