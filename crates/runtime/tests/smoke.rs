//! A first pass over the runtime's basic paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use otpscope_runtime::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_process_dies_with_the_same_reason() {
    let node = Node::new("smoke");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let parent = node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        let child = ctx.spawn_link(|_ctx, mut inbox: Inbox<()>| async move {
            inbox.recv().await;
        });
        tx.send(child.pid()).ok();
        inbox.recv().await;
    });
    let child = rx.await.unwrap();
    node.exit(child, ExitReason::custom("boom")).unwrap();
    assert_eq!(
        exit_of(&node, parent.pid()).await,
        ExitReason::custom("boom")
    );
    assert_eq!(node.process_count(), 0);
}

struct Counter(u64);

impl Server for Counter {
    type Call = u64;
    type Reply = u64;
    type Cast = u64;
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, add: u64, _ctx: &mut ServerContext<Self>) -> u64 {
        self.0 += add;
        self.0
    }

    async fn handle_cast(&mut self, add: u64, _ctx: &mut ServerContext<Self>) {
        self.0 += add;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_restarts_a_killed_server_with_a_new_pid() {
    let node = Node::new("smoke");
    let spec = ChildSpec::worker("counter", |ctx| async move {
        let server = ServerRef::start_link(&ctx, Counter(0), SpawnOptions::new()).await?;
        Ok(server.pid().into())
    });
    let sup = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![spec],
        SpawnOptions::new(),
    )
    .await
    .unwrap();
    let children = sup.which_children().await.unwrap();
    let old = children[0].pid.pid().unwrap();
    let counter = ServerRef::<Counter>::from_pid(&node, old).unwrap();
    counter.cast(2).unwrap();
    assert_eq!(counter.call(3).await.unwrap(), 5);
    let gone = node.watch(old);
    node.exit(old, ExitReason::Kill).unwrap();
    assert_eq!(
        within("killed counter exits", gone).await,
        ExitReason::Killed
    );
    wait_until_async("restart", || async {
        sup.which_children().await.unwrap()[0]
            .pid
            .pid()
            .is_some_and(|p| p != old)
    })
    .await;
    let new = sup.which_children().await.unwrap()[0].pid.pid().unwrap();
    assert_eq!(node.process_info(new).unwrap().restarts, 1);
    assert_eq!(node.process_info(sup.pid()).unwrap().children, vec![new]);
    sup.stop(ExitReason::Shutdown).await.unwrap();
    assert!(!node.is_alive(new));
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_supervisor_starts_agents() {
    let node = Node::new("smoke");
    let sup = DynamicSupervisor::start(
        &node,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new(),
    )
    .await
    .unwrap();
    let spec = ChildSpec::worker("bucket", |ctx| async move {
        let agent = Agent::start_link(&ctx, Vec::<u32>::new, SpawnOptions::new()).await?;
        Ok(agent.pid().into())
    })
    .restart(Restart::Temporary);
    let Started::Pid(pid) = sup.start_child(spec).await.unwrap() else {
        panic!()
    };
    let agent = Agent::<Vec<u32>>::from_pid(&node, pid).unwrap();
    agent.update(|v| v.push(3)).await.unwrap();
    assert_eq!(agent.get(|v| v.clone()).await.unwrap(), vec![3]);
    agent.stop(ExitReason::Shutdown).await.unwrap();
    wait_until_async("bucket supervisor forgets the stopped agent", || async {
        sup.count_children().await.unwrap().active == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_tracking_lists_each_changed_process_once_and_only_while_observed() {
    let node = Node::new("smoke");
    let quiet = node.spawn(|_ctx, mut inbox: Inbox<u32>| async move {
        while !matches!(inbox.recv().await, Message::User(u32::MAX)) {}
    });
    wait_until("quiet waits", || {
        node.process_info(quiet.pid()).unwrap().status == Status::Waiting
    })
    .await;
    // Quiet's start and wait happened before anyone tracked: they are not listed.
    let tracking = node.introspect().track_changes().unwrap();
    assert!(
        node.introspect().track_changes().is_none(),
        "one taker of the change marks at a time"
    );
    let busy = node.spawn(|_ctx, mut inbox: Inbox<u32>| async move {
        while !matches!(inbox.recv().await, Message::User(u32::MAX)) {}
    });
    for i in 0..100 {
        busy.send(i).unwrap();
    }
    wait_until("busy drained", || {
        node.process_info(busy.pid()).unwrap().messages_handled == 100
    })
    .await;
    let changed = tracking.take_changed();
    assert_eq!(changed, vec![busy.pid()]);
    let gone = node.watch(quiet.pid());
    node.exit(quiet.pid(), ExitReason::Kill).unwrap();
    within("quiet exits", gone).await;
    assert_eq!(tracking.take_changed(), vec![quiet.pid()]);
    drop(tracking);
    busy.send(1).unwrap();
    wait_until("busy got it", || {
        node.process_info(busy.pid()).unwrap().messages_handled == 101
    })
    .await;
    let again = node.introspect().track_changes().unwrap();
    assert!(
        again.take_changed().is_empty(),
        "nothing was recorded while nobody tracked"
    );
}

#[test]
fn a_dropped_node_leaves_no_task_on_its_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let metrics = runtime.metrics();
    let before = metrics.num_alive_tasks();
    runtime.block_on(async {
        let node = Node::new("short-lived");
        assert!(
            metrics.num_alive_tasks() > before,
            "the node's sweep task runs"
        );
        drop(node);
        wait_until("the node's tasks end", || {
            metrics.num_alive_tasks() <= before
        })
        .await;
    });
}
