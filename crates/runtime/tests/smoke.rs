//! A first pass over the runtime's basic paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The marks are taken while messages flow on other threads; once the flow stops, the last
/// view the observer took of each process must be its final state. A change whose mark was
/// lost (its mark read as set just before the observer reset it, the observer reading before
/// the change) would leave a stale count behind, seen by nobody until the next message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_change_is_lost_while_marks_are_taken_concurrently() {
    const RECEIVERS: usize = 8;
    const ROUNDS: u64 = 5_000;
    let node = Node::new("marks");
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            node.spawn(|_ctx, mut inbox: Inbox<u64>| async move {
                while !matches!(inbox.recv().await, Message::User(u64::MAX)) {}
            })
        })
        .collect();
    let tracking = node.introspect().track_changes().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let observer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen: HashMap<Pid, (u64, usize)> = HashMap::new();
            let take = |seen: &mut HashMap<Pid, (u64, usize)>| {
                tracking.take_changed_views(|pid, view| {
                    if let Some(view) = view {
                        seen.insert(pid, (view.messages_handled(), view.mailbox_len()));
                    }
                });
            };
            while !stop.load(Ordering::Acquire) {
                take(&mut seen);
                std::hint::spin_loop();
            }
            take(&mut seen);
            seen
        })
    };
    let senders: Vec<_> = (0..4u64)
        .map(|sender| {
            let receivers: Vec<_> = receivers.clone();
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    // Bursts of different lengths, so mailboxes fill and drain at odd times.
                    for _ in 0..(round + sender) % 7 {
                        receivers[(round as usize + sender as usize) % RECEIVERS]
                            .send(round)
                            .unwrap();
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for sender in senders {
        within("a sender ends", sender).await.unwrap();
    }
    let sent: HashMap<Pid, u64> = {
        let mut sent = HashMap::new();
        for sender in 0..4u64 {
            for round in 0..ROUNDS {
                let to = receivers[(round as usize + sender as usize) % RECEIVERS].pid();
                *sent.entry(to).or_default() += (round + sender) % 7;
            }
        }
        sent
    };
    wait_until("every message is handled", || {
        receivers.iter().all(|receiver| {
            node.process_info(receiver.pid()).unwrap().messages_handled == sent[&receiver.pid()]
        })
    })
    .await;
    stop.store(true, Ordering::Release);
    let seen = observer.join().unwrap();
    for receiver in &receivers {
        assert_eq!(
            seen.get(&receiver.pid()),
            Some(&(sent[&receiver.pid()], 0)),
            "the observer's last view of {} is its final state",
            receiver.pid()
        );
    }
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
