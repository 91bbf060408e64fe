//! A supervisor's restart budget in the snapshot: its restarts that count against its
//! intensity, as the runtime counts them (one per restart decision, however many children a
//! one_for_all restart starts again).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use otpscope_runtime::observe::full_snapshot;
use otpscope_runtime::observe::model::{Pid, RestartBudget};
use otpscope_runtime::{
    ChildSpec, Context, ExitReason, Inbox, Node, SpawnOptions, Started, Strategy, Supervisor,
    SupervisorFlags,
};
use support::wait_until;

fn worker(id: &str) -> ChildSpec {
    ChildSpec::worker(id, |ctx: Context| async move {
        let addr = ctx.spawn_opts(
            SpawnOptions::new(),
            true,
            |_ctx: Context, mut inbox: Inbox<()>| async move {
                loop {
                    inbox.recv().await;
                }
                #[allow(unreachable_code)]
                ()
            },
        )?;
        Ok(Started::Pid(addr.pid()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_for_all_restart_counts_once_against_the_budget() {
    let node = Node::new("budget");
    let supervisor = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForAll),
        vec![worker("first"), worker("second")],
        SpawnOptions::new().name("Top"),
    )
    .await
    .unwrap();
    let top = Pid(supervisor.pid().serial());
    let snapshot = full_snapshot(&node);
    let info = snapshot.process(top).unwrap();
    assert!(info.recent_restarts_ms.is_empty());
    assert_eq!(
        info.restart_budget(0),
        Some(RestartBudget {
            used: 0,
            max_restarts: 3,
            max_seconds: 5
        })
    );

    for round in 1..=2 {
        let first = full_snapshot(&node).process(top).unwrap().children[0];
        node.exit(node.pid(first.serial()), ExitReason::Kill)
            .unwrap();
        wait_until("both children restarted", || {
            let snapshot = full_snapshot(&node);
            let children = &snapshot.process(top).unwrap().children;
            children.len() == 2
                && !children.contains(&first)
                && children
                    .iter()
                    .all(|child| snapshot.process(*child).unwrap().restarts == round)
        })
        .await;
    }
    let snapshot = full_snapshot(&node);
    let info = snapshot.process(top).unwrap();
    // Two kills, four children started again, two restarts against the intensity.
    assert_eq!(info.recent_restarts_ms.len(), 2);
    let now_ms = snapshot.taken_at_unix_ms - snapshot.node_started_at_unix_ms;
    assert!(info.recent_restarts_ms.iter().all(|at| *at <= now_ms + 1));
    let budget = info.restart_budget(now_ms).unwrap();
    assert_eq!((budget.used, budget.left()), (2, 1));
    // Five seconds on, both have aged out of the window.
    let later = info.recent_restarts_ms[1] + 5_001;
    assert_eq!(info.restart_budget(later).unwrap().used, 0);
}

#[tokio::test(start_paused = true)]
async fn restarts_that_age_out_of_the_window_leave_what_observers_see() {
    let node = Node::new("aging");
    let supervisor = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![worker("only")],
        SpawnOptions::new().name("Top"),
    )
    .await
    .unwrap();
    let top = Pid(supervisor.pid().serial());
    let kill_and_wait = |round: u32| {
        let node = node.clone();
        async move {
            let child = full_snapshot(&node).process(top).unwrap().children[0];
            node.exit(node.pid(child.serial()), ExitReason::Kill)
                .unwrap();
            wait_until("the child restarted", || {
                let snapshot = full_snapshot(&node);
                let children = &snapshot.process(top).unwrap().children;
                children.len() == 1 && snapshot.process(children[0]).unwrap().restarts == round
            })
            .await;
        }
    };
    kill_and_wait(1).await;
    kill_and_wait(2).await;
    assert_eq!(
        full_snapshot(&node)
            .process(top)
            .unwrap()
            .recent_restarts_ms
            .len(),
        2
    );
    // Past the 5 s window: the next restart pushes both out, here and for observers.
    tokio::time::advance(std::time::Duration::from_secs(6)).await;
    kill_and_wait(3).await;
    let snapshot = full_snapshot(&node);
    let info = snapshot.process(top).unwrap();
    assert_eq!(
        info.recent_restarts_ms.len(),
        1,
        "{:?}",
        info.recent_restarts_ms
    );
}
