//! Tree files (`otpscope::demo::playground`): every shipped file parses and starts with the
//! expected shape; each worker script does what it says (crash loops that escalate, slow and
//! ignored shutdowns, failing and ignored starts, pings, state); malformed files are
//! rejected with the right line and column.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../crates/runtime/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use otpscope::demo::playground::{
    BUILT_IN, RootHandle, RunningTree, TreeError, TreeSpec, Worker, WorkerCall, WorkerReply,
};
use otpscope::runtime::*;
use support::*;

// === helpers ===

fn tree_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/trees")
        .join(file)
}

async fn start_file(node: &Node, file: &str) -> (TreeSpec, RunningTree) {
    let spec = TreeSpec::load(tree_path(file)).unwrap_or_else(|error| panic!("{error}"));
    let tree = spec
        .start(node)
        .await
        .unwrap_or_else(|error| panic!("{file}: {error}"));
    (spec, tree)
}

async fn start_text(node: &Node, text: &str) -> RunningTree {
    let spec = TreeSpec::parse(text).unwrap_or_else(|error| panic!("{error}"));
    spec.start(node).await.unwrap()
}

/// The tree under `pid`, one line per process in child order:
/// `id: label @name kind [strategy] [restart shutdown]`.
fn outline(node: &Node, pid: Pid) -> String {
    let mut lines = Vec::new();
    outline_into(node, pid, 0, &mut lines);
    lines.join("\n")
}

fn outline_into(node: &Node, pid: Pid, depth: usize, lines: &mut Vec<String>) {
    let info = node.process_info(pid).unwrap();
    let mut line = format!(
        "{}{}: {}",
        "  ".repeat(depth),
        info.child_id.as_deref().unwrap_or("-"),
        info.label
    );
    if let Some(name) = &info.name {
        line += &format!(" @{name}");
    }
    line += &match &info.kind {
        ProcessKind::Supervisor { strategy, .. } => format!(" supervisor {strategy}"),
        ProcessKind::DynamicSupervisor { .. } => " dynamic_supervisor".to_owned(),
        _ => " worker".to_owned(),
    };
    if let (Some(restart), Some(shutdown)) = (info.restart, info.shutdown) {
        line += &format!(" {restart} {shutdown}");
    }
    lines.push(line);
    for child in info.children {
        outline_into(node, child, depth + 1, lines);
    }
}

fn pid_of(node: &Node, name: &str) -> Pid {
    node.whereis(name)
        .unwrap_or_else(|| panic!("{name} is not registered"))
}

fn events(node: &Node) -> Vec<EventKind> {
    let read = node.introspect().events_since(0, usize::MAX);
    assert_eq!(read.missed, 0);
    read.events.into_iter().map(|event| event.kind).collect()
}

/// How many times each child id gave its supervisor up, and was restarted.
fn gave_up_and_restarted(node: &Node) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut gave_up = BTreeMap::new();
    let mut restarted = BTreeMap::new();
    for event in events(node) {
        match event {
            EventKind::SupervisorGaveUp { child_id, .. } => {
                *gave_up.entry(child_id.to_string()).or_default() += 1;
            }
            EventKind::Restarted { child_id, .. } => {
                *restarted.entry(child_id.to_string()).or_default() += 1;
            }
            _ => {}
        }
    }
    (gave_up, restarted)
}

fn invalid(text: &str) -> (usize, usize, String) {
    match TreeSpec::parse(text) {
        Err(TreeError::Invalid {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected an invalid tree, got {other:?}"),
    }
}

fn supervisor(tree: &RunningTree) -> Supervisor {
    match tree.root() {
        RootHandle::Supervisor(supervisor) => supervisor.clone(),
        RootHandle::DynamicSupervisor(_) => panic!("the root is a dynamic supervisor"),
    }
}

// === shipped files ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_tree_starts_with_its_process_count_and_stops_cleanly() {
    let expected: BTreeMap<&str, usize> = [
        ("crash_loop.toml", 5),
        ("deep.toml", 13),
        ("kv_final.toml", 6),
        ("kv_linked.toml", 2),
        ("kv_one_for_one.toml", 6),
        ("kv_permanent.toml", 6),
        ("name_race.toml", 8),
        ("restart_types.toml", 5),
        ("shutdown.toml", 6),
        ("wide.toml", 10_001),
    ]
    .into();
    let mut shipped: Vec<String> = std::fs::read_dir(tree_path(""))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|file| file.ends_with(".toml"))
        .collect();
    shipped.sort();
    assert_eq!(shipped, expected.keys().copied().collect::<Vec<_>>());
    let mut built_in: Vec<String> = BUILT_IN
        .iter()
        .map(|(stem, _)| format!("{stem}.toml"))
        .collect();
    built_in.sort();
    assert_eq!(built_in, shipped, "every shipped file is built in");
    for (stem, text) in BUILT_IN {
        let on_disk = std::fs::read_to_string(tree_path(&format!("{stem}.toml"))).unwrap();
        assert_eq!(text, on_disk, "{stem}");
    }
    let mut checks = Vec::new();
    for (file, count) in expected {
        checks.push(tokio::spawn(async move {
            let node = Node::new(file);
            let (spec, tree) = start_file(&node, file).await;
            assert!(spec.description.is_some(), "{file} has a description");
            assert_eq!(spec.process_count(), count, "{file}");
            wait_until(file, || node.process_count() == count).await;
            assert_eq!(node.processes()[0].pid, tree.pid());
            assert_eq!(node.process_info(tree.pid()).unwrap().parent, None);
            tree.stop(ExitReason::Shutdown).await.unwrap();
            wait_until(file, || node.process_count() == 0).await;
        }));
    }
    for check in checks {
        check.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_trees_have_each_stage_shape() {
    let buckets = |restart: &str| {
        ["shopping", "groceries", "garden"]
            .map(|id| format!("    {id}: KV.Bucket worker {restart} 5000"))
            .join("\n")
    };
    let registry = "  KV.Registry: KV.Registry @KV.Registry worker permanent 5000";
    let bucket_supervisor = "  KV.BucketSupervisor: KV.BucketSupervisor @KV.BucketSupervisor \
                             dynamic_supervisor permanent infinity";
    let top = |strategy: &str| format!("-: KV.Supervisor @KV.Supervisor supervisor {strategy}");
    let stages = [
        (
            "kv_linked.toml",
            format!("{}\n{registry}", top("one_for_one")),
        ),
        (
            "kv_permanent.toml",
            format!(
                "{}\n{registry}\n{bucket_supervisor}\n{}",
                top("one_for_one"),
                buckets("permanent")
            ),
        ),
        (
            "kv_one_for_one.toml",
            format!(
                "{}\n{registry}\n{bucket_supervisor}\n{}",
                top("one_for_one"),
                buckets("temporary")
            ),
        ),
        (
            "kv_final.toml",
            format!(
                "{}\n{bucket_supervisor}\n{}\n{registry}",
                top("one_for_all"),
                buckets("temporary")
            ),
        ),
    ];
    for (file, shape) in stages {
        let node = Node::new(file);
        let (_, tree) = start_file(&node, file).await;
        assert_eq!(outline(&node, tree.pid()), shape, "{file}");
        tree.stop(ExitReason::Shutdown).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_tree_nests_eight_levels_in_file_order() {
    let node = Node::new("deep");
    let (_, tree) = start_file(&node, "deep.toml").await;
    let expected = "\
-: Deep.Level1 @Deep.Level1 supervisor one_for_one
  level2: Deep.Level2 supervisor rest_for_one permanent infinity
    level3: Deep.Level3 supervisor one_for_all permanent infinity
      level4: Deep.Level4 supervisor one_for_one permanent infinity
        level5: Deep.Level5 dynamic_supervisor permanent infinity
          level6: Deep.Level6 supervisor one_for_one permanent infinity
            level7: Deep.Level7 supervisor one_for_one permanent infinity
              bottom: Deep.Bottom worker permanent 5000
            leaf6: Deep.Leaf worker permanent 5000
        leaf4: Deep.Leaf worker permanent 5000
      leaf3: Deep.Leaf worker permanent 5000
    leaf2: Deep.Leaf worker permanent 5000
  leaf1: Deep.Leaf worker permanent 5000";
    assert_eq!(outline(&node, tree.pid()), expected);
    let bottom = node
        .processes()
        .into_iter()
        .find(|info| &*info.label == "Deep.Bottom")
        .unwrap()
        .pid;
    assert_eq!(
        node.introspect().describe(bottom).await.unwrap().unwrap(),
        vec![("depth".to_owned(), "8".to_owned())]
    );
    tree.stop(ExitReason::Shutdown).await.unwrap();
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_tree_runs_ten_thousand_workers_under_one_dynamic_supervisor() {
    let node = Node::new("wide");
    let (_, tree) = start_file(&node, "wide.toml").await;
    let RootHandle::DynamicSupervisor(root) = tree.root() else {
        panic!("the root of wide.toml is a dynamic supervisor");
    };
    let counts = root.count_children().await.unwrap();
    assert_eq!(
        (counts.specs, counts.active, counts.workers),
        (10_000, 10_000, 10_000)
    );
    let info = node.process_info(root.pid()).unwrap();
    assert_eq!(info.name.as_deref(), Some("Wide.Supervisor"));
    assert_eq!(info.children.len(), 10_000);
    let first = node.process_info(info.children[0]).unwrap();
    assert_eq!(&*first.label, "Wide.Worker");
    assert_eq!(first.restart, Some(Restart::Temporary));
    assert_eq!(first.child_id.as_deref(), Some("worker"));
    tree.stop(ExitReason::Shutdown).await.unwrap();
    assert_eq!(node.process_count(), 0);
}

// === worker scripts ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_every_restarts_the_worker_with_a_new_pid_each_time() {
    let node = Node::new("crash_every");
    let tree = start_text(
        &node,
        r#"
type = "supervisor"
strategy = "one_for_one"
max_restarts = 100

[[children]]
id = "flaky"
name = "Flaky"
crash_every_ms = 30
crash_reason = "boom"
"#,
    )
    .await;
    let first = pid_of(&node, "Flaky");
    wait_until("three restarts", || {
        node.whereis("Flaky")
            .and_then(|pid| node.process_info(pid))
            .is_some_and(|info| info.restarts >= 3)
    })
    .await;
    let restarts: Vec<(Pid, Pid)> = events(&node)
        .into_iter()
        .filter_map(|event| match event {
            EventKind::Restarted {
                child_id, old, new, ..
            } if &*child_id == "flaky" => Some((old, new)),
            _ => None,
        })
        .collect();
    assert!(restarts.len() >= 3);
    assert_eq!(restarts[0].0, first);
    for pair in restarts.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].0,
            "each restart replaces the previous incarnation"
        );
    }
    let mut pids: Vec<Pid> = restarts.iter().map(|(old, _)| *old).collect();
    pids.push(restarts[restarts.len() - 1].1);
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(
        pids.len(),
        restarts.len() + 1,
        "every incarnation has its own pid"
    );
    assert_eq!(exit_of(&node, first).await, ExitReason::custom("boom"));
    tree.stop(ExitReason::Shutdown).await.unwrap();
}

/// On paused time: the crasher's 100 ms and the supervisors' restart windows run on a clock
/// that moves only when every task waits, so a slow machine cannot age a window and change
/// who gives up.
#[tokio::test(start_paused = true)]
async fn crash_loop_escalates_level_by_level_to_the_top() {
    let node = Node::new("crash_loop");
    let started = tokio::time::Instant::now();
    let (_, tree) = start_file(&node, "crash_loop.toml").await;
    let first_middle = pid_of(&node, "CrashLoop.Middle");
    let steady = pid_of(&node, "CrashLoop.Steady");
    let reason = within("the top gives up", node.watch(tree.pid())).await;
    let took = started.elapsed();
    assert_eq!(reason, ExitReason::Shutdown);
    // 32 crashes 100 ms apart (each timer rounded up to the next millisecond), as the file's
    // description says: "about 3.2 s".
    assert!(
        took >= Duration::from_millis(3_200) && took < Duration::from_millis(3_240),
        "the top gave up after {took:?}"
    );
    assert_eq!(exit_of(&node, steady).await, ExitReason::Shutdown);
    assert_eq!(node.process_count(), 0);
    let (gave_up, restarted) = gave_up_and_restarted(&node);
    // Inner gives up on its 4th crasher crash; Middle on Inner's 4th give-up; the top,
    // allowing one restart, on Middle's 2nd.
    let expected_gave_up: BTreeMap<String, usize> = [
        ("crasher".to_owned(), 8),
        ("inner".to_owned(), 2),
        ("middle".to_owned(), 1),
    ]
    .into();
    assert_eq!(gave_up, expected_gave_up);
    let expected_restarted: BTreeMap<String, usize> = [
        ("crasher".to_owned(), 24),
        ("inner".to_owned(), 6),
        ("middle".to_owned(), 1),
    ]
    .into();
    assert_eq!(restarted, expected_restarted);
    let middle_restart = events(&node).into_iter().find_map(|event| match event {
        EventKind::Restarted {
            child_id,
            old,
            new,
            supervisor,
        } if &*child_id == "middle" => Some((supervisor, old, new)),
        _ => None,
    });
    let (supervisor, old, new) = middle_restart.unwrap();
    assert_eq!((supervisor, old), (tree.pid(), first_middle));
    assert_ne!(new, first_middle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tree_kills_the_stubborn_and_waits_for_the_slow() {
    let node = Node::new("shutdown");
    let (_, tree) = start_file(&node, "shutdown.toml").await;
    let names = ["Quick", "Brutal", "Slow", "TooSlow", "Stubborn"];
    let pids: Vec<(&str, Pid)> = names
        .iter()
        .map(|name| (*name, pid_of(&node, &format!("Shutdown.{name}"))))
        .collect();
    let stubborn = pid_of(&node, "Shutdown.Stubborn");
    assert!(node.process_info(stubborn).unwrap().trap_exit);
    let stopping = Instant::now();
    tree.stop(ExitReason::Shutdown).await.unwrap();
    // When each exited, from the event feed (the node's clock, not the test's).
    let exits: Vec<(&str, ExitReason, Instant)> = pids
        .iter()
        .rev()
        .map(|(name, pid)| {
            let exit = node
                .introspect()
                .events_since(0, usize::MAX)
                .events
                .into_iter()
                .find_map(|event| match event.kind {
                    EventKind::Exited {
                        pid: exited,
                        reason,
                    } if exited == *pid => Some((reason, event.at)),
                    _ => None,
                });
            let (reason, at) = exit.unwrap_or_else(|| panic!("{name} exited"));
            (*name, reason, at)
        })
        .collect();
    let reasons: Vec<(&str, ExitReason)> = exits
        .iter()
        .map(|(name, reason, _)| (*name, reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("Stubborn", ExitReason::Killed),
            ("TooSlow", ExitReason::Killed),
            ("Slow", ExitReason::Shutdown),
            ("Brutal", ExitReason::Killed),
            ("Quick", ExitReason::Shutdown),
        ]
    );
    // Children stop one after the other, right to left; a few ms of slack for the moment
    // between a death and its event.
    let at = |index: usize| exits[index].2;
    let slack = Duration::from_millis(10);
    assert!(
        at(0) - stopping >= Duration::from_millis(1000),
        "stubborn had its 1,000 ms"
    );
    assert!(
        at(1) - at(0) + slack >= Duration::from_millis(1000),
        "too_slow had its 1,000 ms"
    );
    assert!(
        at(2) - at(1) + slack >= Duration::from_millis(500),
        "slow took its 500 ms"
    );
    assert!(
        at(2) - at(1) < Duration::from_millis(2000),
        "slow was not killed"
    );
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_to_start_fails_the_start_naming_the_child() {
    let node = Node::new("fail_to_start");
    let spec = TreeSpec::parse(
        r#"
type = "supervisor"
strategy = "one_for_one"

[[children]]
id = "fine"

[[children]]
id = "buckets"
type = "dynamic_supervisor"

[[children.children]]
id = "broken"
fail_to_start = "no_db"
"#,
    )
    .unwrap();
    let error = spec.start(&node).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "child buckets failed to start: child broken failed to start: init failed: no_db"
    );
    let StartError::Child { id, reason } = &error else {
        panic!("expected a child error, got {error:?}");
    };
    assert_eq!(&**id, "buckets");
    assert!(
        matches!(&**reason, StartError::Child { id, .. } if &**id == "broken"),
        "{reason:?}"
    );
    wait_until("everything started is stopped", || {
        node.process_count() == 0
    })
    .await;

    let node = Node::new("fail_to_start_dynamic_root");
    let spec = TreeSpec::parse(
        r#"
type = "dynamic_supervisor"
[[children]]
id = "ok"
count = 2
[[children]]
id = "broken"
fail_to_start = "shutdown:no_db"
"#,
    )
    .unwrap();
    let error = spec.start(&node).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "child broken failed to start: init failed: {shutdown, no_db}"
    );
    wait_until("the dynamic root is stopped", || node.process_count() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_child_keeps_its_spec_with_no_pid() {
    let node = Node::new("ignore");
    let tree = start_text(
        &node,
        r#"
type = "supervisor"
strategy = "one_for_one"
[[children]]
id = "ignored"
ignore = true
[[children]]
id = "running"
"#,
    )
    .await;
    let children = supervisor(&tree).which_children().await.unwrap();
    let rows: Vec<(&str, Option<Pid>)> = children
        .iter()
        .map(|child| (&*child.id, child.pid.pid()))
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(children[0].pid, ChildPid::Undefined);
    assert_eq!(rows[0], ("ignored", None));
    assert_eq!(rows[1].0, "running");
    let running = node.process_info(rows[1].1.unwrap()).unwrap();
    assert_eq!(
        &*running.label, "running",
        "a worker's label defaults to its id"
    );
    let root = node.process_info(tree.pid()).unwrap();
    assert_eq!(
        &*root.label, "Supervisor",
        "the default label of a supervisor"
    );
    assert_eq!(root.children, vec![running.pid]);
    let counts = supervisor(&tree).count_children().await.unwrap();
    assert_eq!((counts.specs, counts.active), (2, 1));
    assert_eq!(node.process_count(), 2);
    tree.stop(ExitReason::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_per_second_delivers_pings_to_the_named_worker() {
    let node = Node::new("send");
    let tree = start_text(
        &node,
        r#"
type = "supervisor"
strategy = "one_for_one"
[[children]]
id = "sink"
name = "Sink"
[[children]]
id = "source"
name = "Source"
send_per_second = 200
send_to = "Sink"
"#,
    )
    .await;
    let sink = pid_of(&node, "Sink");
    wait_until("the sink handled 40 pings", || {
        node.process_info(sink).unwrap().messages_handled >= 40
    })
    .await;
    let sink_ref = ServerRef::<Worker>::whereis(&node, "Sink").unwrap();
    let WorkerReply::Stats(stats) = sink_ref.call(WorkerCall::Stats).await.unwrap() else {
        panic!("stats");
    };
    assert!(stats.received >= 40, "{stats:?}");
    let source = ServerRef::<Worker>::whereis(&node, "Source").unwrap();
    let WorkerReply::Stats(sent) = source.call(WorkerCall::Stats).await.unwrap() else {
        panic!("stats");
    };
    assert!(sent.sent >= stats.received, "{sent:?} {stats:?}");
    assert_eq!(sent.undelivered, 0);
    let report = node.introspect().describe(sink).await.unwrap().unwrap();
    assert!(
        report.iter().any(|(key, _)| key == "received"),
        "{report:?}"
    );
    tree.stop(ExitReason::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_state_is_described_in_file_order_and_can_change() {
    let node = Node::new("state");
    let tree = start_text(
        &node,
        r#"
type = "supervisor"
strategy = "one_for_one"
[[children]]
id = "bucket"
name = "Bucket"
label = "KV.Bucket"
state = { milk = 3, eggs = 12, owner = "ann", tags = ["a", "b"] }
"#,
    )
    .await;
    let pid = pid_of(&node, "Bucket");
    let rows = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    };
    assert_eq!(
        node.introspect().describe(pid).await.unwrap().unwrap(),
        rows(&[
            ("milk", "3"),
            ("eggs", "12"),
            ("owner", "ann"),
            ("tags", "[\"a\", \"b\"]")
        ])
    );
    let bucket = ServerRef::<Worker>::from_pid(&node, pid).unwrap();
    let put = WorkerCall::Put("milk".to_owned(), "4".to_owned());
    assert_eq!(bucket.call(put).await.unwrap(), WorkerReply::Done);
    assert_eq!(
        bucket
            .call(WorkerCall::Get("milk".to_owned()))
            .await
            .unwrap(),
        WorkerReply::Value(Some("4".to_owned()))
    );
    tree.stop(ExitReason::Shutdown).await.unwrap();
}

/// On paused time, so that the clock's 50 ms and the scripted 20 ms keep their order however
/// loaded the machine is.
#[tokio::test(start_paused = true)]
async fn exit_after_exits_once_and_restart_types_decide_what_comes_back() {
    let node = Node::new("exit_after");
    let tree = start_text(
        &node,
        r#"
type = "supervisor"
strategy = "one_for_one"
max_restarts = 100

[[children]]
id = "permanent"
exit_after_ms = 20

[[children]]
id = "transient_normal"
restart = "transient"
exit_after_ms = 20

[[children]]
id = "transient_crash"
restart = "transient"
exit_after_ms = 20
exit_reason = "boom"

[[children]]
id = "temporary"
restart = "temporary"
exit_after_ms = 20
exit_reason = "boom"

[[children]]
id = "clock"
name = "Clock"
crash_every_ms = 50
"#,
    )
    .await;
    // The clock crashes every 50 ms: after five of its restarts, any second scripted exit
    // (due 20 ms after a restart) would have happened.
    wait_until("the clock restarted five times", || {
        node.whereis("Clock")
            .and_then(|pid| node.process_info(pid))
            .is_some_and(|info| info.restarts >= 5)
    })
    .await;
    let children = supervisor(&tree).which_children().await.unwrap();
    let rows: Vec<(&str, bool, Restart)> = children
        .iter()
        .map(|child| (&*child.id, child.pid.pid().is_some(), child.restart))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("permanent", true, Restart::Permanent),
            ("transient_normal", false, Restart::Transient),
            ("transient_crash", true, Restart::Transient),
            ("clock", true, Restart::Permanent),
        ]
    );
    let (_, restarted) = gave_up_and_restarted(&node);
    assert_eq!(restarted.get("permanent"), Some(&1));
    assert_eq!(restarted.get("transient_crash"), Some(&1));
    assert_eq!(restarted.get("transient_normal"), None);
    assert_eq!(restarted.get("temporary"), None);
    tree.stop(ExitReason::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trapping_worker_survives_an_exit_signal_and_reports_it() {
    let node = Node::new("trap_exit");
    let tree = start_text(
        &node,
        r#"
type = "supervisor"
strategy = "one_for_one"
[[children]]
id = "trapper"
name = "Trapper"
trap_exit = true
[[children]]
id = "plain"
name = "Plain"
"#,
    )
    .await;
    let trapper = pid_of(&node, "Trapper");
    let plain = pid_of(&node, "Plain");
    node.exit(trapper, ExitReason::custom("poke")).unwrap();
    node.exit(plain, ExitReason::custom("poke")).unwrap();
    assert_eq!(exit_of(&node, plain).await, ExitReason::custom("poke"));
    wait_until_async("the trapper reports the signal", || async {
        let report = node.introspect().describe(trapper).await.unwrap().unwrap();
        report
            .iter()
            .any(|(key, value)| key == "last trapped exit" && value.ends_with("poke"))
    })
    .await;
    assert!(node.is_alive(trapper));
    tree.stop(ExitReason::Shutdown).await.unwrap();
}

// === malformed files ===

#[test]
fn malformed_files_point_at_the_line_and_column() {
    let cases: [(&str, (usize, usize, &str)); 12] = [
        (
            "type = \"supervisor\"\nstrategy = \"one_for_some\"\n",
            (
                2,
                12,
                "unknown strategy \"one_for_some\", expected one_for_one, one_for_all or \
                 rest_for_one",
            ),
        ),
        (
            "strategy = \"one_for_one\"\n",
            (
                1,
                1,
                "missing required key \"type\" at the top, expected supervisor or \
                 dynamic_supervisor",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n\n[[children]]\nid = \"a\"\n  \
             crash_evry_ms = 10\n",
            (
                6,
                3,
                "unknown key \"crash_evry_ms\" for a worker, expected one of: id, type, \
                 restart, shutdown, name, label, trap_exit, crash_every_ms, crash_reason, \
                 exit_after_ms, exit_reason, shutdown_ms, ignore_shutdown, fail_to_start, \
                 ignore, send_per_second, send_to, state",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n\n[[children]]\nname = \"A\"\n",
            (4, 1, "missing required key \"id\" in this child"),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n[[children]]\nid = \"a\"\n\
             [[children]]\nid = \"a\"\n",
            (
                6,
                6,
                "duplicate child id \"a\", already used by a sibling at line 4",
            ),
        ),
        (
            "type = \"dynamic_supervisor\"\n[[children]]\nid = \"a\"\ncount = 0\n",
            (4, 9, "count must be at least 1, found 0"),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n[[children]]\nid = \"a\"\n\
             count = 2\n",
            (
                5,
                1,
                "\"count\" is only for children of a dynamic_supervisor",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n[[children]]\nid = \"a\"\n\
             shutdown = \"soon\"\n",
            (
                5,
                12,
                "unknown shutdown \"soon\", expected brutal_kill, infinity or a number of \
                 milliseconds",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\nname = \"X\"\n[[children]]\n\
             id = \"a\"\nname = \"X\"\n",
            (
                6,
                8,
                "name \"X\" is already registered by the process at line 3",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n[[children]]\nid = \"a\"\n\
             restart = \"sometimes\"\n",
            (
                5,
                11,
                "unknown restart \"sometimes\", expected permanent, transient or temporary",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\nmax_restarts = -1\n",
            (
                3,
                16,
                "expected a non-negative integer for \"max_restarts\", found -1",
            ),
        ),
        (
            "type = \"supervisor\"\nstrategy = \"one_for_one\n",
            (2, 24, "invalid basic string, expected `\"`"),
        ),
    ];
    for (text, (line, column, message)) in cases {
        assert_eq!(invalid(text), (line, column, message.to_owned()), "{text}");
    }
}

#[test]
fn worker_scripts_that_contradict_each_other_are_rejected() {
    let worker = |keys: &str| {
        format!(
            "type = \"supervisor\"\nstrategy = \"one_for_one\"\n[[children]]\nid = \"w\"\n{keys}"
        )
    };
    let cases = [
        (
            "ignore = true\ncrash_every_ms = 10\n",
            (
                6,
                1,
                "\"crash_every_ms\" cannot be combined with \"ignore\": the worker never runs",
            ),
        ),
        (
            "crash_reason = \"boom\"\n",
            (5, 1, "\"crash_reason\" needs \"crash_every_ms\""),
        ),
        (
            "send_per_second = 5\n",
            (
                5,
                1,
                "\"send_per_second\" needs \"send_to\", the registered name of the receiving \
                 worker",
            ),
        ),
        (
            "shutdown_ms = 10\nignore_shutdown = true\n",
            (
                6,
                1,
                "\"ignore_shutdown\" cannot be combined with \"shutdown_ms\": choose a slow \
                 shutdown or none at all",
            ),
        ),
        (
            "state = 3\n",
            (
                5,
                9,
                "expected a table for \"state\", such as { milk = 3 }, found integer",
            ),
        ),
        (
            "crash_every_ms = \"often\"\n",
            (
                5,
                18,
                "expected an integer of at least 1 for \"crash_every_ms\", found string",
            ),
        ),
    ];
    for (keys, (line, column, message)) in cases {
        assert_eq!(
            invalid(&worker(keys)),
            (line, column, message.to_owned()),
            "{keys}"
        );
    }
}

#[test]
fn root_must_be_a_supervisor_and_takes_no_child_keys() {
    assert_eq!(
        invalid("type = \"worker\"\n"),
        (
            1,
            8,
            "the root must be a supervisor or a dynamic_supervisor, not a worker".to_owned()
        )
    );
    assert_eq!(
        invalid("type = \"supervisor\"\nstrategy = \"one_for_one\"\nrestart = \"temporary\"\n"),
        (
            3,
            1,
            "\"restart\" is for children, the root has none".to_owned()
        )
    );
    assert_eq!(
        invalid(
            "type = \"dynamic_supervisor\"\nmax_children = 1\n[[children]]\nid = \"a\"\ncount = 2\n"
        ),
        (2, 16, "2 initial children exceed max_children 1".to_owned())
    );
    assert_eq!(
        invalid("type = \"dynamic_supervisor\"\nstrategy = \"one_for_one\"\n"),
        (
            2,
            1,
            "unknown key \"strategy\" for the root (a dynamic_supervisor), expected one of: \
             description, type, name, label, max_restarts, max_seconds, max_children, children"
                .to_owned()
        )
    );
}

#[test]
fn load_errors_name_the_path() {
    let missing = tree_path("no_such_tree.toml");
    let error = TreeSpec::load(&missing).unwrap_err();
    assert!(matches!(error, TreeError::Read { .. }), "{error:?}");
    // The message names the path; the cause is the source, as error chains print it.
    assert_eq!(
        error.to_string(),
        format!("cannot read {}", missing.display())
    );
    assert!(std::error::Error::source(&error).is_some());
    let dir = std::env::temp_dir().join(format!("otpscope-playground-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "type = \"supervisor\"\nstrategy = \"one_for_some\"\n").unwrap();
    let error = TreeSpec::load(&bad).unwrap_err();
    assert_eq!(error.position(), Some((2, 12)));
    assert_eq!(error.to_string(), bad.display().to_string());
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(
        cause.as_deref(),
        Some(
            "line 2, column 12: unknown strategy \"one_for_some\", expected one_for_one, \
             one_for_all or rest_for_one"
        )
    );
    std::fs::remove_dir_all(&dir).ok();
}
