//! Servers and agents: the callbacks and their order, calls (timeout, noproc, the callee
//! exiting), panics, stopping, init errors, exit signals from the parent, and `Agent`, as
//! `DESIGN.md` ("Servers and agents") and GenServer/Agent describe them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use otpscope_runtime::*;
use support::probe::{Probe, Seen};
use support::*;
use tokio::sync::{mpsc, oneshot};

/// What the callbacks of [`Echo`] did, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

enum Req {
    Get,
    Add(u64),
    Sleep(Duration),
    Panic(&'static str),
    Stop(ExitReason),
    Forever,
    Monitor(Pid),
}

enum Init {
    Ok,
    Trap,
    Fail(ExitReason),
    Panic(&'static str),
    Hang,
}

/// A server that logs every callback.
struct Echo {
    count: u64,
    log: Log,
    init: Init,
}

impl Echo {
    fn new(log: &Log) -> Self {
        Self::with_init(log, Init::Ok)
    }

    fn with_init(log: &Log, init: Init) -> Self {
        Self {
            count: 0,
            log: log.clone(),
            init,
        }
    }
}

impl Server for Echo {
    type Call = Req;
    type Reply = u64;
    type Cast = Req;
    type Info = &'static str;
    type Continue = ();

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        self.log.push("init".into());
        match &self.init {
            Init::Ok => Ok(()),
            Init::Trap => {
                ctx.trap_exit(true);
                Ok(())
            }
            Init::Fail(reason) => Err(reason.clone()),
            Init::Panic(message) => panic!("{message}"),
            Init::Hang => std::future::pending().await,
        }
    }

    async fn handle_call(&mut self, request: Req, ctx: &mut ServerContext<Self>) -> u64 {
        match request {
            Req::Get => self.log.push("call get".into()),
            Req::Add(n) => {
                self.log.push(format!("call add {n}"));
                self.count += n;
            }
            Req::Sleep(duration) => {
                self.log.push("call sleep".into());
                tokio::time::sleep(duration).await;
            }
            Req::Panic(message) => panic!("{message}"),
            Req::Stop(reason) => {
                self.log.push(format!("call stop {reason}"));
                ctx.stop(reason);
            }
            Req::Forever => {
                self.log.push("call forever".into());
                std::future::pending::<()>().await;
            }
            Req::Monitor(pid) => {
                self.log.push("call monitor".into());
                ctx.monitor(pid);
            }
        }
        self.count
    }

    async fn handle_cast(&mut self, request: Req, ctx: &mut ServerContext<Self>) {
        match request {
            Req::Add(n) => {
                self.log.push(format!("cast add {n}"));
                self.count += n;
            }
            Req::Stop(reason) => {
                self.log.push(format!("cast stop {reason}"));
                ctx.stop(reason);
            }
            Req::Panic(message) => panic!("{message}"),
            Req::Get | Req::Sleep(_) | Req::Forever | Req::Monitor(_) => {}
        }
    }

    async fn handle_info(
        &mut self,
        message: Message<&'static str>,
        _ctx: &mut ServerContext<Self>,
    ) {
        self.log.push(match message {
            Message::User(text) => format!("info {text}"),
            Message::Exit(exit) => format!("info exit {} {}", exit.from, exit.reason),
            Message::Down(down) => format!("info down {} {}", down.pid, down.reason),
        });
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut ServerContext<Self>) {
        self.log.push(format!("terminate {reason}"));
    }

    fn describe(&self) -> StateReport {
        vec![("count".into(), self.count.to_string())]
    }
}

async fn start(node: &Node, log: &Log) -> ServerRef<Echo> {
    ServerRef::start(node, Echo::new(log), SpawnOptions::new())
        .await
        .unwrap()
}

// === callbacks ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_run_one_at_a_time_in_arrival_order() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    assert_eq!(log.entries(), vec!["init"], "start returns after init");
    assert_eq!(server.call(Req::Add(2)).await, Ok(2));
    server.cast(Req::Add(3)).unwrap();
    server.send("ping").unwrap();
    assert_eq!(server.call(Req::Get).await, Ok(5));
    assert_eq!(
        server.describe().await.unwrap(),
        vec![("count".into(), "5".into())]
    );
    assert_eq!(
        node.introspect()
            .describe(server.pid())
            .await
            .unwrap()
            .unwrap()[0]
            .1,
        "5"
    );
    server.stop(ExitReason::Normal).await.unwrap();
    assert_eq!(
        log.entries(),
        vec![
            "init",
            "call add 2",
            "cast add 3",
            "info ping",
            "call get",
            "terminate normal"
        ]
    );
    assert!(!server.is_alive());
    assert_eq!(exit_of(&node, server.pid()).await, ExitReason::Normal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_describes_itself_to_observers() {
    let node = Node::new("server");
    let log = Log::default();
    let server = ServerRef::start(&node, Echo::new(&log), SpawnOptions::new().name("echo"))
        .await
        .unwrap();
    let info = node.process_info(server.pid()).unwrap();
    assert_eq!(info.kind, ProcessKind::Server);
    assert_eq!(&*info.label, "Echo");
    assert_eq!(info.name.as_deref(), Some("echo"));
    assert_eq!(
        ServerRef::<Echo>::whereis(&node, "echo").map(|s| s.pid()),
        Some(server.pid())
    );
    let error = ServerRef::start(&node, Echo::new(&log), SpawnOptions::new().name("echo"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StartError::NameTaken {
            name: "echo".into(),
            holder: server.pid()
        }
    );
}

// === calls ===

/// On paused time: the runtime's clock only moves when every task waits, so the call's timer is
/// the only thing that can end a call to a server that never replies.
#[tokio::test(start_paused = true)]
async fn call_waits_five_seconds_by_default() {
    assert_eq!(DEFAULT_CALL_TIMEOUT, Duration::from_secs(5));
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let started = tokio::time::Instant::now();
    let error = server.call(Req::Forever).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(
        error,
        CallError::Timeout {
            pid: server.pid(),
            timeout_ms: 5_000
        }
    );
    assert_eq!(
        error.to_string(),
        format!("call to {} timed out after 5000 ms", server.pid())
    );
    // tokio's timer rounds a deadline up to the next millisecond.
    assert!(
        waited >= Duration::from_secs(5) && waited <= Duration::from_millis(5_001),
        "the call gave up after {waited:?}"
    );
    assert_eq!(log.entries(), vec!["init", "call forever"]);
    assert!(
        server.is_alive(),
        "a timed-out call leaves the server alive"
    );
}

/// Calls with the default timeout share the node's deadline queue: made at different times,
/// each still gives up five seconds after it was made (within the queue's millisecond grain).
#[tokio::test(start_paused = true)]
async fn many_default_calls_each_time_out_five_seconds_after_they_were_made() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let started = tokio::time::Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200u64 {
        let server = server.clone();
        calls.spawn(async move {
            // The first call keeps the server busy; the others wait in its mailbox.
            tokio::time::sleep(Duration::from_micros(i * 700)).await;
            let made = tokio::time::Instant::now();
            let result = server.call(Req::Forever).await;
            (result, made.elapsed())
        });
    }
    let mut count = 0;
    while let Some(done) = calls.join_next().await {
        let (result, waited) = done.unwrap();
        count += 1;
        assert_eq!(
            result,
            Err(CallError::Timeout {
                pid: server.pid(),
                timeout_ms: 5_000
            })
        );
        assert!(
            waited >= Duration::from_secs(5) && waited <= Duration::from_millis(5_003),
            "a call gave up after {waited:?}"
        );
    }
    assert_eq!(count, 200);
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(server.is_alive());
}

#[tokio::test(start_paused = true)]
async fn a_reply_just_before_the_default_timeout_wins() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let started = tokio::time::Instant::now();
    let reply = server.call(Req::Sleep(Duration::from_millis(4_999))).await;
    assert!(reply.is_ok(), "the call got {reply:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.call(Req::Add(1)).await, Ok(1), "the server goes on");
}

#[tokio::test(start_paused = true)]
async fn a_reply_after_the_default_timeout_is_dropped() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let error = server
        .call(Req::Sleep(Duration::from_secs(6)))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CallError::Timeout {
            pid: server.pid(),
            timeout_ms: 5_000
        }
    );
    assert_eq!(server.call(Req::Add(1)).await, Ok(1), "the server goes on");
    assert!(server.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_gives_timeout_and_the_late_reply_is_dropped() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let error = server
        .call_timeout(
            Req::Sleep(Duration::from_millis(100)),
            Duration::from_millis(10),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CallError::Timeout {
            pid: server.pid(),
            timeout_ms: 10
        }
    );
    assert_eq!(
        error.to_string(),
        format!("call to {} timed out after 10 ms", server.pid())
    );
    assert_eq!(server.call(Req::Add(1)).await, Ok(1), "the server goes on");
    assert!(server.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_and_cast_to_a_dead_server_fail_with_noproc() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    server.stop(ExitReason::Shutdown).await.unwrap();
    let pid = server.pid();
    assert_eq!(server.call(Req::Get).await, Err(CallError::NoProc(pid)));
    assert!(matches!(
        server.cast(Req::Add(1)),
        Err(SendError(Req::Add(1)))
    ));
    assert_eq!(server.send("late"), Err(SendError("late")));
    assert_eq!(
        server.stop(ExitReason::Normal).await,
        Err(CallError::NoProc(pid))
    );
    assert!(ServerRef::<Echo>::from_pid(&node, pid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callee_exiting_during_the_call_gives_exited_with_its_reason() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let caller = server.clone();
    let call = tokio::spawn(async move { caller.call(Req::Forever).await });
    wait_until("the call is being handled", || {
        log.entries().contains(&"call forever".to_owned())
    })
    .await;
    node.exit(server.pid(), ExitReason::custom("boom")).unwrap();
    assert_eq!(
        within("the call returns", call).await.unwrap(),
        Err(CallError::Exited {
            pid: server.pid(),
            reason: ExitReason::custom("boom")
        })
    );
    assert!(
        !log.entries().iter().any(|e| e.starts_with("terminate")),
        "an exit signal the server does not trap ends it without terminate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_queued_behind_a_killed_callee_get_exited_killed() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let busy = server.clone();
    let first = tokio::spawn(async move { busy.call(Req::Forever).await });
    wait_until("the first call is being handled", || {
        log.entries().contains(&"call forever".to_owned())
    })
    .await;
    let queued = server.clone();
    let second = tokio::spawn(async move { queued.call(Req::Get).await });
    wait_until("the second call is queued", || {
        node.process_info(server.pid()).unwrap().mailbox_len == 1
    })
    .await;
    node.exit(server.pid(), ExitReason::Kill).unwrap();
    let exited = Err(CallError::Exited {
        pid: server.pid(),
        reason: ExitReason::Killed,
    });
    assert_eq!(within("the first call", first).await.unwrap(), exited);
    assert_eq!(within("the second call", second).await.unwrap(), exited);
}

// === crashes and stops ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handle_call_crashes_the_server_terminate_runs_and_the_caller_gets_exited() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let reason = ExitReason::Panic("bad request".into());
    assert_eq!(
        server.call(Req::Panic("bad request")).await,
        Err(CallError::Exited {
            pid: server.pid(),
            reason: reason.clone()
        })
    );
    assert_eq!(exit_of(&node, server.pid()).await, reason);
    assert_eq!(log.entries(), vec!["init", "terminate panic: bad request"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handle_cast_crashes_the_server_with_the_panic_message() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    server.cast(Req::Panic("bad cast")).unwrap();
    assert_eq!(
        exit_of(&node, server.pid()).await,
        ExitReason::Panic("bad cast".into())
    );
    assert_eq!(log.entries(), vec!["init", "terminate panic: bad cast"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_from_a_callback_still_replies_then_terminates() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    assert_eq!(server.call(Req::Add(4)).await, Ok(4));
    assert_eq!(server.call(Req::Stop(ExitReason::Shutdown)).await, Ok(4));
    assert_eq!(exit_of(&node, server.pid()).await, ExitReason::Shutdown);
    assert_eq!(
        log.entries(),
        vec![
            "init",
            "call add 4",
            "call stop shutdown",
            "terminate shutdown"
        ]
    );

    let log = Log::default();
    let server = start(&node, &log).await;
    server
        .cast(Req::Stop(ExitReason::shutdown_with("done")))
        .unwrap();
    assert_eq!(
        exit_of(&node, server.pid()).await,
        ExitReason::shutdown_with("done")
    );
    assert_eq!(
        log.entries(),
        vec![
            "init",
            "cast stop {shutdown, done}",
            "terminate {shutdown, done}"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_a_reason_runs_terminate_and_a_monitor_sees_the_reason() {
    let node = Node::new("server");
    let log = Log::default();
    let server = start(&node, &log).await;
    let mut watcher = Probe::spawn(&node, false);
    let s = server.pid();
    let monitor = watcher.run(move |ctx| ctx.monitor(s)).await;
    server.stop(ExitReason::custom("enough")).await.unwrap();
    assert!(!server.is_alive(), "stop waits until the server has exited");
    assert_eq!(
        watcher.next().await,
        Seen::Down(Down {
            monitor,
            pid: s,
            reason: ExitReason::custom("enough")
        })
    );
    assert_eq!(log.entries(), vec!["init", "terminate enough"]);
}

// === init ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_fails_the_start_with_that_reason() {
    let node = Node::new("server");
    let log = Log::default();
    let seq = node.introspect().next_event_seq();
    let reason = ExitReason::custom("bad config");
    let error = ServerRef::start(
        &node,
        Echo::with_init(&log, Init::Fail(reason.clone())),
        SpawnOptions::new().name("echo"),
    )
    .await
    .unwrap_err();
    assert_eq!(error, StartError::Init(reason.clone()));
    assert_eq!(error.to_string(), "init failed: bad config");
    let spawned = spawns_since(&node, seq);
    assert_eq!(spawned.len(), 1);
    assert_eq!(exit_of(&node, spawned[0]).await, reason);
    assert_eq!(
        log.entries(),
        vec!["init"],
        "terminate does not run after init fails"
    );
    assert_eq!(node.whereis("echo"), None);
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_panic_fails_the_start_with_the_panic_message() {
    let node = Node::new("server");
    let log = Log::default();
    let error = ServerRef::start(
        &node,
        Echo::with_init(&log, Init::Panic("no disk")),
        SpawnOptions::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error, StartError::Init(ExitReason::Panic("no disk".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_init_fails_the_start_with_killed() {
    let node = Node::new("server");
    let log = Log::default();
    let starter = node.clone();
    let start = tokio::spawn(async move {
        ServerRef::start(
            &starter,
            Echo::with_init(&log, Init::Hang),
            SpawnOptions::new(),
        )
        .await
        .map(|server| server.pid())
    });
    wait_until("the server is in init", || node.process_count() == 1).await;
    let pid = node.processes()[0].pid;
    node.exit(pid, ExitReason::Kill).unwrap();
    assert_eq!(
        within("the start returns", start).await.unwrap(),
        Err(StartError::Init(ExitReason::Killed))
    );
    assert!(
        !node.is_alive(pid),
        "a failed start returns after the process exited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_abandoned_during_init_stops_the_new_process_with_killed() {
    let node = Node::new("server");
    let log = Log::default();
    let seq = node.introspect().next_event_seq();
    let start = ServerRef::start(
        &node,
        Echo::with_init(&log, Init::Hang),
        SpawnOptions::new().name("slow"),
    );
    let abandoned: Result<_, tokio::time::error::Elapsed> =
        tokio::time::timeout(Duration::from_millis(50), start).await;
    assert!(abandoned.is_err(), "init never returns");
    let spawned = spawns_since(&node, seq);
    assert_eq!(spawned.len(), 1);
    assert_eq!(exit_of(&node, spawned[0]).await, ExitReason::Killed);
    assert_eq!(node.whereis("slow"), None, "the name is free again");
    assert_eq!(node.process_count(), 0);
}

/// A server whose init links to a process it is given and reports its own pid.
struct LinksInInit {
    peer: Pid,
    me: Option<oneshot::Sender<Pid>>,
}

impl Server for LinksInInit {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        ctx.link(self.peer);
        if let Some(me) = self.me.take() {
            me.send(ctx.pid()).ok();
        }
        Ok(())
    }

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_acts_as_the_new_process_whoever_waits_for_it() {
    let node = Node::new("server");
    let peer = Probe::spawn(&node, false);
    let (tx, rx) = oneshot::channel();
    let server = ServerRef::start(
        &node,
        LinksInInit {
            peer: peer.pid(),
            me: Some(tx),
        },
        SpawnOptions::new(),
    )
    .await
    .unwrap();
    assert_eq!(rx.await.unwrap(), server.pid(), "ctx.pid() in init");
    let peer_info = node.process_info(peer.pid()).unwrap();
    assert_eq!(
        peer_info.links,
        vec![server.pid()],
        "init linked the server"
    );
    // The link is the server's own: the peer's crash takes the server down with it.
    node.exit(peer.pid(), ExitReason::custom("boom")).unwrap();
    assert_eq!(
        exit_of(&node, server.pid()).await,
        ExitReason::custom("boom")
    );
}

/// A server whose init waits to be let go, counting the casts it handles.
struct WaitsInInit {
    go: Option<oneshot::Receiver<()>>,
    casts: u64,
    dropped: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl WaitsInInit {
    fn new(go: Option<oneshot::Receiver<()>>) -> Self {
        Self {
            go,
            casts: 0,
            dropped: None,
        }
    }
}

impl Drop for WaitsInInit {
    fn drop(&mut self) {
        if let Some(dropped) = &self.dropped {
            dropped.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl Server for WaitsInInit {
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn init(&mut self, _ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        if let Some(go) = self.go.take() {
            go.await.ok();
        }
        Ok(())
    }

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> u64 {
        self.casts
    }

    async fn handle_cast(&mut self, (): (), _ctx: &mut ServerContext<Self>) {
        self.casts += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_during_init_is_handled_once_init_returns() {
    let node = Node::new("server");
    let (go, wait) = oneshot::channel();
    let starter = node.clone();
    let start = tokio::spawn(async move {
        ServerRef::start(
            &starter,
            WaitsInInit::new(Some(wait)),
            SpawnOptions::new().name("slow"),
        )
        .await
    });
    wait_until("the server is registered", || {
        node.whereis("slow").is_some()
    })
    .await;
    let early = ServerRef::<WaitsInInit>::whereis(&node, "slow").unwrap();
    early.cast(()).unwrap();
    go.send(()).unwrap();
    let server = within("the start returns", start).await.unwrap().unwrap();
    // Handled with nothing else sent: the cast alone gets the server going.
    wait_until("the early cast is handled", || {
        node.process_info(server.pid())
            .is_some_and(|info| info.messages_handled == 1)
    })
    .await;
    assert_eq!(within("the call", server.call(())).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_got_a_message_still_dies_of_a_signal_and_is_seen_down() {
    let node = Node::new("server");
    let server = ServerRef::start(&node, WaitsInInit::new(None), SpawnOptions::new())
        .await
        .unwrap();
    let info = node.process_info(server.pid()).unwrap();
    assert_eq!(info.status, Status::Waiting, "idle in its first receive");
    let mut watcher = Probe::spawn(&node, false);
    let target = server.pid();
    watcher.run(move |ctx| ctx.monitor(target)).await;
    node.exit(target, ExitReason::custom("boom")).unwrap();
    let down = watcher.next_down().await;
    assert_eq!(
        (down.pid, down.reason),
        (target, ExitReason::custom("boom"))
    );
    assert_eq!(exit_of(&node, target).await, ExitReason::custom("boom"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_runs_down_a_long_chain_of_linked_idle_servers() {
    let node = Node::new("server");
    let head = Probe::spawn(&node, false);
    let mut peer = head.pid();
    let mut chain = Vec::new();
    for _ in 0..10_000 {
        let server = ServerRef::start(&node, LinksInInit { peer, me: None }, SpawnOptions::new())
            .await
            .unwrap();
        peer = server.pid();
        chain.push(server.pid());
    }
    // None of them ever got a message: each death is processed by whoever signals it.
    node.exit(head.pid(), ExitReason::custom("chain")).unwrap();
    let last = *chain.last().unwrap();
    assert_eq!(exit_of(&node, last).await, ExitReason::custom("chain"));
    wait_until("the whole chain is gone", || node.process_count() == 0).await;
    let exits: std::collections::HashMap<Pid, ExitReason> =
        exits_since(&node, 0).into_iter().collect();
    for pid in &chain {
        assert_eq!(exits.get(pid), Some(&ExitReason::custom("chain")), "{pid}");
    }
}

#[test]
fn servers_that_never_got_a_message_are_dropped_with_their_runtime() {
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut server = WaitsInInit::new(None);
    server.dropped = Some(dropped.clone());
    runtime.block_on(async {
        let node = Node::new("server");
        ServerRef::start(&node, server, SpawnOptions::new())
            .await
            .unwrap();
    });
    assert!(!dropped.load(std::sync::atomic::Ordering::SeqCst));
    drop(runtime);
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "shutting the runtime down drops the idle server, as it drops tasks"
    );
}

/// A server whose terminate panics.
struct BadTerminate;

impl Server for BadTerminate {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) {}

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut ServerContext<Self>) {
        panic!("terminate failed after {reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_terminate_replaces_the_exit_reason() {
    let node = Node::new("server");
    let server = ServerRef::start(&node, BadTerminate, SpawnOptions::new())
        .await
        .unwrap();
    let panic = ExitReason::Panic("terminate failed after shutdown".into());
    assert_eq!(
        server.stop(ExitReason::Shutdown).await,
        Err(CallError::StoppedWith {
            pid: server.pid(),
            asked: ExitReason::Shutdown,
            reason: panic.clone()
        })
    );
    assert_eq!(exit_of(&node, server.pid()).await, panic);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_of_a_linked_server_reaches_the_trapping_caller_as_an_exit_signal() {
    let node = Node::new("server");
    let log = Log::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        ctx.trap_exit(true);
        let started = ServerRef::start_link(
            &ctx,
            Echo::with_init(&log, Init::Fail(ExitReason::custom("bad"))),
            SpawnOptions::new(),
        )
        .await
        .map(|server| server.pid());
        tx.send(format!("{started:?}")).ok();
        if let Message::Exit(exit) = inbox.recv().await {
            tx.send(format!("exit {}", exit.reason)).ok();
        }
    });
    assert_eq!(within("start", rx.recv()).await.unwrap(), "Err(Init(bad))");
    assert_eq!(within("exit", rx.recv()).await.unwrap(), "exit bad");
}

// === exit signals ===

/// Starts an [`Echo`] linked to a fresh parent process; returns the parent's probe and the
/// server.
async fn start_under_parent(node: &Node, log: &Log, init: Init) -> (Probe, ServerRef<Echo>) {
    let parent = Probe::spawn(node, false);
    let (tx, rx) = oneshot::channel();
    let echo = Echo::with_init(log, init);
    let node2 = node.clone();
    parent
        .run(move |ctx| {
            let ctx = ctx.clone();
            node2.handle().spawn(async move {
                tx.send(ServerRef::start_link(&ctx, echo, SpawnOptions::new()).await)
                    .ok();
            });
        })
        .await;
    let server = within("the server starts", rx).await.unwrap().unwrap();
    (parent, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trapped_exit_from_the_parent_runs_terminate_with_that_reason() {
    let node = Node::new("server");
    let log = Log::default();
    let (parent, server) = start_under_parent(&node, &log, Init::Trap).await;
    assert_eq!(
        node.process_info(server.pid()).unwrap().parent,
        Some(parent.pid())
    );
    parent.exit_with(ExitReason::custom("parent died"));
    assert_eq!(
        exit_of(&node, server.pid()).await,
        ExitReason::custom("parent died")
    );
    assert_eq!(log.entries(), vec!["init", "terminate parent died"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_trapping_server_dies_with_its_parent_without_terminate() {
    let node = Node::new("server");
    let log = Log::default();
    let (parent, server) = start_under_parent(&node, &log, Init::Ok).await;
    parent.exit_with(ExitReason::custom("parent died"));
    assert_eq!(
        exit_of(&node, server.pid()).await,
        ExitReason::custom("parent died")
    );
    assert_eq!(log.entries(), vec!["init"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_exit_signals_and_downs_go_to_handle_info_when_trapping() {
    let node = Node::new("server");
    let log = Log::default();
    let (_parent, server) = start_under_parent(&node, &log, Init::Trap).await;
    let other = Probe::spawn(&node, false);
    let (o, s) = (other.pid(), server.pid());
    node.exit(s, ExitReason::custom("poke")).unwrap();
    other.run(move |ctx| ctx.link(s)).await;
    assert_eq!(server.call(Req::Monitor(o)).await, Ok(0));
    other.exit_with(ExitReason::custom("gone"));
    exit_of(&node, o).await;
    assert_eq!(server.call(Req::Get).await, Ok(0));
    assert_eq!(
        log.entries(),
        vec![
            "init".to_owned(),
            format!("info exit {} poke", node.pid(0)),
            "call monitor".to_owned(),
            format!("info exit {o} gone"),
            format!("info down {o} gone"),
            "call get".to_owned(),
        ]
    );
    assert!(server.is_alive());
}

// === agents ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_get_update_get_and_update_and_cast() {
    let node = Node::new("server");
    let agent = Agent::start(&node, || 0_u64, SpawnOptions::new())
        .await
        .unwrap();
    assert_eq!(agent.get(|n| *n).await, Ok(0));
    agent.update(|n| *n += 1).await.unwrap();
    assert_eq!(
        agent
            .get_and_update(|n| {
                *n += 1;
                *n * 10
            })
            .await,
        Ok(20)
    );
    agent.cast(|n| *n += 5).unwrap();
    assert_eq!(agent.get(|n| *n).await, Ok(7));
    let info = node.process_info(agent.pid()).unwrap();
    assert_eq!(info.kind, ProcessKind::Agent);
    assert_eq!(&*info.label, "Agent");
    let same = Agent::<u64>::from_pid(&node, agent.pid()).unwrap();
    assert_eq!(same.get(|n| *n).await, Ok(7));
    assert!(Agent::<String>::from_pid(&node, agent.pid()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_stop_with_a_reason_is_seen_by_a_monitor() {
    let node = Node::new("server");
    let agent = Agent::start(
        &node,
        Vec::<u32>::new,
        SpawnOptions::new().label("KV.Bucket"),
    )
    .await
    .unwrap();
    assert_eq!(&*node.process_info(agent.pid()).unwrap().label, "KV.Bucket");
    let mut watcher = Probe::spawn(&node, true);
    let a = agent.pid();
    let monitor = watcher
        .run(move |ctx| {
            ctx.link(a);
            ctx.monitor(a)
        })
        .await;
    agent.stop(ExitReason::Shutdown).await.unwrap();
    let mut seen = vec![watcher.next().await, watcher.next().await];
    seen.sort_by_key(|s| matches!(s, Seen::Down(_)));
    assert_eq!(
        seen,
        vec![
            Seen::Exit(ExitMessage {
                from: a,
                reason: ExitReason::Shutdown
            }),
            Seen::Down(Down {
                monitor,
                pid: a,
                reason: ExitReason::Shutdown
            }),
        ]
    );
    assert_eq!(agent.get(|v| v.len()).await, Err(CallError::NoProc(a)));
    assert_eq!(agent.cast(|v| v.push(1)), Err(CallError::NoProc(a)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_get_and_update_timeout_gives_timeout() {
    let node = Node::new("server");
    let agent = Agent::start(&node, || 0_u32, SpawnOptions::new())
        .await
        .unwrap();
    let error = agent
        .get_and_update_timeout(
            |n| {
                std::thread::sleep(Duration::from_millis(50));
                *n
            },
            Duration::from_millis(5),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CallError::Timeout {
            pid: agent.pid(),
            timeout_ms: 5
        }
    );
    assert_eq!(agent.get(|n| *n).await, Ok(0));
}

// === OTP conformance: starts of dying processes, calling self, unlinked starts, stop ===

/// A server whose init signals itself (or links a pid it is given) and then returns at once,
/// without awaiting: the process is already dying when init returns.
struct DoomedInInit {
    link: Option<Pid>,
}

impl Server for DoomedInInit {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        match self.link {
            Some(pid) => ctx.link(pid),
            None => ctx.exit(ctx.pid(), ExitReason::Kill).unwrap(),
        }
        Ok(())
    }

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_whose_init_links_a_dead_pid_fails_with_noproc() {
    let node = Node::new("server");
    let dead = node.spawn(|_ctx, _inbox: Inbox<()>| async {});
    exit_of(&node, dead.pid()).await;
    let seq = node.introspect().next_event_seq();
    let started = ServerRef::start(
        &node,
        DoomedInInit {
            link: Some(dead.pid()),
        },
        SpawnOptions::new().name("doomed"),
    )
    .await;
    assert_eq!(started.unwrap_err(), StartError::Init(ExitReason::NoProc));
    let spawned = spawns_since(&node, seq);
    assert_eq!(
        exits_since(&node, seq),
        vec![(spawned[0], ExitReason::NoProc)]
    );
    assert_eq!(node.whereis("doomed"), None, "the name is free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_its_init_runs_without_awaiting_fails_the_start() {
    let node = Node::new("server");
    let seq = node.introspect().next_event_seq();
    let started = ServerRef::start(&node, DoomedInInit { link: None }, SpawnOptions::new()).await;
    assert_eq!(started.unwrap_err(), StartError::Init(ExitReason::Killed));
    let spawned = spawns_since(&node, seq);
    assert_eq!(
        exits_since(&node, seq),
        vec![(spawned[0], ExitReason::Killed)]
    );
    assert_eq!(node.process_count(), 0);
}

/// A server that, on a cast, calls itself and reports what the call gave.
struct CallsItself {
    report: mpsc::UnboundedSender<Result<u32, CallError>>,
}

impl Server for CallsItself {
    type Call = ();
    type Reply = u32;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> u32 {
        7
    }

    async fn handle_cast(&mut self, (): (), ctx: &mut ServerContext<Self>) {
        let me = ServerRef::<Self>::from_pid(&ctx.node(), ctx.pid()).unwrap();
        self.report.send(me.call(()).await).ok();
        let stop = me.stop(ExitReason::Normal).await.map(|()| 0);
        self.report.send(stop).ok();
        let described = me.describe().await.map(|_| 0);
        self.report.send(described).ok();
        let described = ctx.node().introspect().describe(ctx.pid()).await.map(|_| 0);
        self.report.send(described).ok();
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_calls_itself_fails_at_once_with_calling_self() {
    let node = Node::new("server");
    let (report, mut reports) = mpsc::unbounded_channel();
    let server = ServerRef::start(&node, CallsItself { report }, SpawnOptions::new())
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    server.cast(()).unwrap();
    let pid = server.pid();
    for asked in ["call", "stop", "describe", "node describe"] {
        let report = reports.recv().await;
        assert_eq!(report, Some(Err(CallError::CallingSelf(pid))), "{asked}");
    }
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no timeout was waited for"
    );
    assert_eq!(
        CallError::CallingSelf(pid).to_string(),
        format!("{pid} called itself")
    );
    assert_eq!(server.call(()).await, Ok(7), "the server goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_without_a_link_handles_its_starters_exit_signal_as_any_other() {
    let node = Node::new("server");
    let log = Log::default();
    let starter = Probe::spawn(&node, false);
    let (tx, rx) = oneshot::channel();
    let echo = Echo::with_init(&log, Init::Trap);
    let spawner = node.clone();
    starter
        .run(move |ctx| {
            let ctx = ctx.clone();
            spawner.handle().spawn(async move {
                tx.send(ServerRef::start(&ctx, echo, SpawnOptions::new()).await)
                    .ok();
            });
        })
        .await;
    let server = within("the server starts", rx).await.unwrap().unwrap();
    assert_eq!(
        node.process_info(server.pid()).unwrap().parent,
        Some(starter.pid()),
        "shown under its starter"
    );
    let (p, s) = (starter.pid(), server.pid());
    starter
        .run(move |ctx| ctx.exit(s, ExitReason::custom("bye")))
        .await
        .unwrap();
    assert_eq!(server.call(Req::Get).await, Ok(0), "still alive");
    assert_eq!(
        log.entries(),
        vec![
            "init".to_owned(),
            format!("info exit {p} bye"),
            "call get".to_owned()
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_fails_when_the_server_exits_with_another_reason_than_asked() {
    let node = Node::new("server");
    let server = ServerRef::start(&node, BadTerminate, SpawnOptions::new())
        .await
        .unwrap();
    let panic = ExitReason::Panic("terminate failed after shutdown".into());
    assert_eq!(
        server.stop(ExitReason::Shutdown).await,
        Err(CallError::StoppedWith {
            pid: server.pid(),
            asked: ExitReason::Shutdown,
            reason: panic.clone()
        })
    );
    assert_eq!(exit_of(&node, server.pid()).await, panic);
    assert_eq!(
        server.stop(ExitReason::Shutdown).await,
        Err(CallError::NoProc(server.pid()))
    );
    let log = Log::default();
    let echo = start(&node, &log).await;
    assert_eq!(echo.stop(ExitReason::custom("done")).await, Ok(()));
}

// === deferred replies, continues and idle timeouts ===

/// Requests whose replies the server gives when it chooses.
enum Later {
    /// Keep the caller waiting until a `Release`.
    Wait(ReplyTo<u32>),
    /// Hand the reply to another process, which answers it.
    HandOff(ReplyTo<u32>),
    /// Drop the reply handle unanswered.
    Drop(ReplyTo<u32>),
    /// Answer every waiting caller with this value plus its place in line.
    Release(u32, ReplyTo<usize>),
}

/// A server that answers its callers later, or has others answer them.
#[derive(Default)]
struct Deferring {
    waiting: Vec<ReplyTo<u32>>,
}

impl Server for Deferring {
    type Call = Later;
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, request: Later, ctx: &mut ServerContext<Self>) {
        match request {
            Later::Wait(reply) => self.waiting.push(reply),
            Later::HandOff(reply) => {
                ctx.spawn(move |_ctx, _inbox: Inbox<()>| async move {
                    reply.reply(42).ok();
                });
            }
            Later::Drop(reply) => drop(reply),
            Later::Release(value, reply) => {
                let released = self.waiting.len();
                for (place, waiting) in self.waiting.drain(..).enumerate() {
                    waiting.reply(value + place as u32).ok();
                }
                reply.reply(released).ok();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_can_be_given_later_from_another_callback_or_another_process() {
    let node = Node::new("server");
    let server = ServerRef::start(&node, Deferring::default(), SpawnOptions::new())
        .await
        .unwrap();
    let (first, second) = (server.clone(), server.clone());
    let first = tokio::spawn(async move { first.call_with(Later::Wait).await });
    wait_until("the first caller waits", || {
        node.process_info(server.pid())
            .is_some_and(|info| info.messages_handled == 1)
    })
    .await;
    let second = tokio::spawn(async move { second.call_with(Later::Wait).await });
    wait_until("the second caller waits", || {
        node.process_info(server.pid())
            .is_some_and(|info| info.messages_handled == 2)
    })
    .await;
    assert!(!first.is_finished() && !second.is_finished());
    let release = |reply| Later::Release(10, reply);
    assert_eq!(server.call_with(release).await, Ok(2));
    assert_eq!(within("first", first).await.unwrap(), Ok(10));
    assert_eq!(within("second", second).await.unwrap(), Ok(11));
    assert_eq!(server.call_with(Later::HandOff).await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn a_reply_handle_dropped_unanswered_leaves_the_caller_to_its_timeout() {
    let node = Node::new("server");
    let server = ServerRef::start(&node, Deferring::default(), SpawnOptions::new())
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let timeout = Duration::from_secs(2);
    assert_eq!(
        server.call_with_timeout(Later::Drop, timeout).await,
        Err(CallError::Timeout {
            pid: server.pid(),
            timeout_ms: 2000
        })
    );
    assert_eq!(started.elapsed(), timeout, "waited the whole timeout");
    // A caller still waiting when the server exits gets its exit reason.
    let waiting = server.clone();
    let waiting = tokio::spawn(async move { waiting.call_with(Later::Wait).await });
    wait_until("the caller waits", || {
        node.process_info(server.pid())
            .is_some_and(|info| info.messages_handled == 2)
    })
    .await;
    node.exit(server.pid(), ExitReason::custom("gone")).unwrap();
    assert_eq!(
        waiting.await.unwrap(),
        Err(CallError::Exited {
            pid: server.pid(),
            reason: ExitReason::custom("gone")
        })
    );
}

/// What [`Lively`] is asked to do by a cast.
enum Ask {
    /// Continue with this argument after the cast.
    Continue(&'static str),
    /// Time out if nothing arrives within this long.
    Idle(Duration),
    /// Nothing but a message.
    Ping,
}

/// A server that reports its callbacks, with continues and idle timeouts.
struct Lively {
    report: mpsc::UnboundedSender<String>,
    started: tokio::time::Instant,
    continue_after_init: bool,
}

impl Lively {
    fn new(continue_after_init: bool) -> (Self, mpsc::UnboundedReceiver<String>) {
        let (report, reports) = mpsc::unbounded_channel();
        let server = Self {
            report,
            started: tokio::time::Instant::now(),
            continue_after_init,
        };
        (server, reports)
    }

    fn say(&self, what: String) {
        self.report.send(what).ok();
    }
}

impl Server for Lively {
    type Call = ();
    type Reply = ();
    type Cast = Ask;
    type Info = ();
    type Continue = &'static str;

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        self.say("init".into());
        if self.continue_after_init {
            ctx.continue_with("after init");
        }
        Ok(())
    }

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) {
        self.say("call".into());
    }

    async fn handle_cast(&mut self, ask: Ask, ctx: &mut ServerContext<Self>) {
        match ask {
            Ask::Continue(argument) => {
                self.say(format!("cast continue {argument}"));
                ctx.continue_with(argument);
            }
            Ask::Idle(after) => {
                self.say(format!("cast idle {} ms", after.as_millis()));
                ctx.timeout_after(after);
            }
            Ask::Ping => self.say("ping".into()),
        }
    }

    async fn handle_continue(&mut self, argument: &'static str, _ctx: &mut ServerContext<Self>) {
        self.say(format!("continue {argument}"));
    }

    async fn handle_timeout(&mut self, _ctx: &mut ServerContext<Self>) {
        let at = self.started.elapsed().as_millis();
        self.say(format!("timeout at {at} ms"));
    }

    fn describe(&self) -> StateReport {
        vec![("state".into(), "lively".into())]
    }
}

/// The next `n` reports.
async fn reports(reports: &mut mpsc::UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.push(within("a report", reports.recv()).await.unwrap());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continue_runs_before_the_next_message() {
    let node = Node::new("server");
    let (lively, mut seen) = Lively::new(true);
    let server = ServerRef::start(&node, lively, SpawnOptions::new())
        .await
        .unwrap();
    // Sent as soon as the start returns: the continue asked for by init still runs first.
    server.call(()).await.unwrap();
    server.cast(Ask::Continue("A")).unwrap();
    server.cast(Ask::Ping).unwrap();
    assert_eq!(
        reports(&mut seen, 6).await,
        vec![
            "init",
            "continue after init",
            "call",
            "cast continue A",
            "continue A",
            "ping"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_timeout_fires_when_nothing_arrives_and_any_message_cancels_it() {
    let node = Node::new("server");
    let (lively, mut seen) = Lively::new(false);
    let server = ServerRef::start(&node, lively, SpawnOptions::new())
        .await
        .unwrap();
    server.cast(Ask::Idle(Duration::from_secs(2))).unwrap();
    assert_eq!(
        reports(&mut seen, 3).await,
        vec!["init", "cast idle 2000 ms", "timeout at 2000 ms"]
    );
    // A message within the time cancels the timeout.
    server.cast(Ask::Idle(Duration::from_secs(2))).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.cast(Ask::Ping).unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    server.cast(Ask::Ping).unwrap();
    assert_eq!(
        reports(&mut seen, 3).await,
        vec!["cast idle 2000 ms", "ping", "ping"],
        "no timeout after a message arrived"
    );
    // An observer asking for the state does not restart it.
    server.cast(Ask::Idle(Duration::from_secs(2))).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let state = node.introspect().describe(server.pid()).await.unwrap();
    assert_eq!(state, Some(vec![("state".into(), "lively".into())]));
    assert_eq!(
        reports(&mut seen, 2).await,
        vec!["cast idle 2000 ms", "timeout at 10000 ms"]
    );
}
