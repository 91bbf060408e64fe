//! The supervisor calls and "restart the app" through the snapshot stream's [`Control`], as
//! the Observer and the scripts send them: which_children, terminate_child (by id, and by pid
//! under both kinds of supervisor), restart_child, delete_child, stop with a reason, and
//! restart_app; each refusal and each dead, unknown or wrong pid is an error that says which.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../crates/runtime/tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use otpscope::demo::kv::{self, Stage};
use otpscope::demo::playground::TreeSpec;
use otpscope::demo::{App, AppHandle};
use otpscope::runtime::Node;
use otpscope::snapshot::model::{
    ChildRef, ChildRow, Command, CommandError, ExitReason, Pid, Reply, Restart,
};
use otpscope::snapshot::{Control, full_snapshot};
use support::*;

async fn start_tree(node: &Node, file: &str) -> AppHandle {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/trees")
        .join(file);
    App::Tree {
        title: file.to_owned(),
        spec: Arc::new(TreeSpec::load(path).unwrap()),
    }
    .start(node)
    .await
    .unwrap()
}

fn pid(node: &Node, name: &str) -> Pid {
    node.whereis(name).unwrap().into()
}

async fn children(control: &Control, supervisor: Pid) -> Vec<ChildRow> {
    match control
        .execute(Command::WhichChildren { supervisor })
        .await
        .unwrap()
    {
        Reply::Children { children, .. } => children,
        other => panic!("expected children, got {other:?}"),
    }
}

fn ids(children: &[ChildRow]) -> Vec<(&str, bool)> {
    children
        .iter()
        .map(|child| (child.id.as_str(), child.pid.is_some()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_keeps_the_spec_restart_starts_it_again_and_delete_removes_it() {
    let node = Node::new("admin");
    let app = start_tree(&node, "restart_types.toml").await;
    let control = app.control();
    let supervisor = pid(&node, "Restarts.Supervisor");
    let rows = children(&control, supervisor).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[2].restart, Restart::Transient);
    assert!(!rows[0].is_supervisor);

    let terminate = |child| Command::TerminateChild { supervisor, child };
    control
        .execute(terminate(ChildRef::Id("permanent".into())))
        .await
        .unwrap();
    // By pid under a supervisor: its child id is looked up.
    let transient = rows[1].pid.unwrap();
    control
        .execute(terminate(ChildRef::Pid(transient)))
        .await
        .unwrap();
    // A temporary child's spec goes with it.
    control
        .execute(terminate(ChildRef::Id("temporary".into())))
        .await
        .unwrap();
    assert_eq!(
        ids(&children(&control, supervisor).await),
        [
            ("permanent", false),
            ("transient_normal", false),
            ("transient_crash", true)
        ]
    );

    let reply = control
        .execute(Command::RestartChild {
            supervisor,
            id: "permanent".into(),
        })
        .await
        .unwrap();
    let Reply::Started { pid: Some(new) } = reply else {
        panic!("expected a new pid, got {reply:?}");
    };
    assert!(node.is_alive(node.pid(new.serial())));
    control
        .execute(Command::DeleteChild {
            supervisor,
            id: "transient_normal".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        ids(&children(&control, supervisor).await),
        [("permanent", true), ("transient_crash", true)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_dead_unknown_and_wrong_pids_are_errors_that_say_which() {
    let node = Node::new("admin-errors");
    kv::start(&node, Stage::Final).await.unwrap();
    let control = Control::new(&node);
    let supervisor = pid(&node, "KV.Supervisor");
    let registry = pid(&node, "KV.Registry");
    let buckets = pid(&node, "KV.BucketSupervisor");
    let error = |command| {
        let control = control.clone();
        async move { control.execute(command).await.unwrap_err() }
    };

    assert_eq!(
        error(Command::RestartChild {
            supervisor,
            id: "KV.Registry".into()
        })
        .await
        .to_string(),
        "child KV.Registry is running"
    );
    assert_eq!(
        error(Command::DeleteChild {
            supervisor,
            id: "nope".into()
        })
        .await
        .to_string(),
        "no child nope"
    );
    assert_eq!(
        error(Command::WhichChildren {
            supervisor: registry
        })
        .await,
        CommandError::NotASupervisor(registry)
    );
    assert_eq!(
        error(Command::StopSupervisor {
            supervisor: Pid(999_999),
            reason: ExitReason::Shutdown
        })
        .await,
        CommandError::NoProcess(Pid(999_999))
    );
    // A dynamic supervisor keeps no spec of a stopped child and names children by pid.
    assert!(matches!(
        error(Command::RestartChild {
            supervisor: buckets,
            id: "KV.Bucket".into()
        })
        .await,
        CommandError::NotSupported(_)
    ));
    assert_eq!(
        error(Command::TerminateChild {
            supervisor: buckets,
            child: ChildRef::Id("KV.Bucket".into())
        })
        .await
        .to_string(),
        "a dynamic supervisor terminates a child by pid, not by id (KV.Bucket)"
    );
    // The app commands need the app.
    assert!(matches!(
        error(Command::RestartApp).await,
        CommandError::NotSupported(_)
    ));

    // A supervisor that died: dead, with its reason.
    node.exit(
        node.pid(supervisor.serial()),
        otpscope::runtime::ExitReason::Kill,
    )
    .unwrap();
    wait_until("KV.Supervisor to die", || node.process_count() == 0).await;
    assert_eq!(
        error(Command::TerminateChild {
            supervisor,
            child: ChildRef::Id("KV.Registry".into())
        })
        .await,
        CommandError::Dead {
            pid: supervisor,
            reason: ExitReason::Killed
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_supervisor_terminates_a_child_by_pid() {
    let node = Node::new("admin-dynamic");
    kv::start(&node, Stage::Final).await.unwrap();
    let kv_control = otpscope::demo::kv::control::KvControl::new(&node);
    let bucket = kv_control.create("shopping").await.unwrap().pid();
    let control = Control::new(&node);
    let buckets = pid(&node, "KV.BucketSupervisor");
    control
        .execute(Command::TerminateChild {
            supervisor: buckets,
            child: ChildRef::Pid(bucket.into()),
        })
        .await
        .unwrap();
    assert_eq!(exit_of(&node, bucket).await.to_string(), "shutdown");
    assert!(children(&control, buckets).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_app_starts_the_app_again_only_once_it_has_stopped() {
    let node = Node::new("admin-restart");
    let app = App::Kv(Stage::Final).start(&node).await.unwrap();
    let control = app.control();
    let root = app.root();
    assert_eq!(root, node.whereis("KV.Supervisor").unwrap());

    let running = control.execute(Command::RestartApp).await.unwrap_err();
    assert_eq!(
        running.to_string(),
        format!("the app is still running (its root {root} is alive); stop or kill it first")
    );

    control
        .execute(Command::StopSupervisor {
            supervisor: root.into(),
            reason: ExitReason::Shutdown,
        })
        .await
        .unwrap();
    assert_eq!(node.process_count(), 0, "stop waits until it has stopped");
    let Reply::Started { pid: Some(new) } = control.execute(Command::RestartApp).await.unwrap()
    else {
        panic!("expected the new root");
    };
    assert_eq!(app.root(), node.pid(new.serial()));
    assert_ne!(app.root(), root);
    assert_eq!(
        full_snapshot(&node).len(),
        3,
        "KV.Supervisor and its two children"
    );
    // The KV commands go on working on the new app.
    control
        .execute(kv::control::create_bucket("shopping"))
        .await
        .unwrap();
    let value = control
        .execute(kv::control::get("shopping", "milk"))
        .await
        .unwrap();
    assert_eq!(value, Reply::Value { value: None });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_files_worker_crashes_or_stays_busy_on_command_and_others_are_refused() {
    let node = Node::new("admin-playground");
    let app = start_tree(&node, "restart_types.toml").await;
    let control = app.control();
    let capabilities = control.capabilities();
    let playground = capabilities.app("playground").unwrap();
    assert!(playground.command("crash").unwrap().on_process.is_some());
    let supervisor = pid(&node, "Restarts.Supervisor");
    let permanent = children(&control, supervisor).await[0].pid.unwrap();
    let runtime_pid = node.pid(permanent.serial());

    let crash = |pid: Pid| {
        let command = otpscope::contract::AppCommand::new("playground", "crash");
        Command::App(command.arg("pid", pid).arg("reason", "crash"))
    };
    assert_eq!(control.execute(crash(permanent)).await, Ok(Reply::Done));
    assert_eq!(
        exit_of(&node, runtime_pid).await,
        otpscope::runtime::ExitReason::custom("crash")
    );
    wait_until_async("the permanent worker is back", || async {
        children(&control, supervisor).await[0]
            .pid
            .is_some_and(|pid| pid != permanent)
    })
    .await;

    let busy = children(&control, supervisor).await[0].pid.unwrap();
    let command = otpscope::contract::AppCommand::new("playground", "busy");
    let command = Command::App(command.arg("pid", busy).arg("ms", 60_000_i64));
    assert_eq!(control.execute(command).await, Ok(Reply::Done));
    // Busy for a minute: a call with a short timeout is not answered meanwhile.
    let worker = otpscope::runtime::ServerRef::<otpscope::demo::playground::Worker>::from_pid(
        &node,
        node.pid(busy.serial()),
    )
    .unwrap();
    let stats = otpscope::demo::playground::WorkerCall::Stats;
    let timeout = std::time::Duration::from_millis(100);
    assert_eq!(
        worker.call_timeout(stats, timeout).await,
        Err(otpscope::runtime::CallError::Timeout {
            pid: worker.pid(),
            timeout_ms: 100
        })
    );

    let refused = control.execute(crash(supervisor)).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("{supervisor} is not a tree file's worker")
    );
}
