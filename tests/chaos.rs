//! Seeded chaos: the same seed on the same tree and setup gives the same kills, named by tree
//! path; another seed gives others; a target pattern limits what is killed; each kill is
//! reported with what followed it, and the kills replay as a script.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use otpscope::chaos::{Chaos, ChaosFormat, ChaosOptions, ChaosReport};
use otpscope::demo::App;
use otpscope::demo::kv::Stage;
use otpscope::runtime::Node;
use otpscope::scenario::session::Session;
use otpscope::scenario::{self, Format, Runner};
use otpscope::snapshot::model::{EventKind, ExitReason, Pid};

const SETUP: &str = "create shopping\ncreate groceries\ncreate pantry\n";

/// Starts the KV app at `stage` on a fresh node, runs `setup`, then chaos with `options`.
async fn chaos(stage: Stage, setup: &str, options: ChaosOptions) -> (ChaosReport, String) {
    let node = Node::new("chaos");
    let app = App::Kv(stage).start(&node).await.unwrap();
    let mut sink = Vec::new();
    let summary = Runner::for_app(&app, Format::Text, &mut sink)
        .unwrap()
        .run(&scenario::parse(setup).unwrap())
        .await
        .unwrap();
    assert_eq!(summary.failed, 0, "{}", String::from_utf8_lossy(&sink));
    let session = Session::local(app.control()).unwrap();
    let mut out = Vec::new();
    let report = Chaos::new(session, options, ChaosFormat::Text, &mut out)
        .unwrap()
        .run()
        .await
        .unwrap();
    (report, String::from_utf8(out).unwrap())
}

fn options(seed: u64) -> ChaosOptions {
    ChaosOptions {
        duration: Duration::from_secs(3),
        rate_per_second: 3.0,
        reasons: vec![
            ExitReason::Kill,
            ExitReason::Shutdown,
            ExitReason::custom("boom"),
        ],
        ..ChaosOptions::new(seed)
    }
}

fn plan(steps: &[(&str, &str)]) -> Vec<(String, ExitReason)> {
    steps
        .iter()
        .map(|(path, reason)| ((*path).to_owned(), ExitReason::parse(reason)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_kills_by_path_and_another_seed_others() {
    let (first, text) = chaos(Stage::Final, SETUP, options(7)).await;
    let (second, _) = chaos(Stage::Final, SETUP, options(7)).await;
    let (other, _) = chaos(Stage::Final, SETUP, options(8)).await;
    let expected = plan(&[
        ("KV.Supervisor/KV.BucketSupervisor", "kill"),
        ("KV.Supervisor/KV.BucketSupervisor", "boom"),
        ("KV.Supervisor/KV.Registry", "shutdown"),
        ("KV.Supervisor/KV.BucketSupervisor", "boom"),
        ("KV.Supervisor/KV.BucketSupervisor", "boom"),
        ("KV.Supervisor/KV.Registry", "shutdown"),
        ("KV.Supervisor/KV.Registry", "kill"),
    ]);
    assert_eq!(first.plan(), expected, "{text}");
    assert_eq!(second.plan(), expected);
    assert_ne!(other.plan(), expected);
    assert!(!other.plan().is_empty());

    // The first kill: the bucket supervisor dies with its three buckets, and the one_for_all
    // KV.Supervisor shuts the registry down and restarts both, in child order.
    let kill = &first.kills[0];
    assert_eq!(kill.pid, Pid(2));
    let exits: Vec<(Pid, ExitReason)> = kill
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Exited { pid, reason } => Some((*pid, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        exits,
        [
            (Pid(2), ExitReason::Killed),
            (Pid(4), ExitReason::Killed),
            (Pid(5), ExitReason::Killed),
            (Pid(6), ExitReason::Killed),
            (Pid(3), ExitReason::Shutdown),
        ]
    );
    let restarts: Vec<(String, Pid, Pid)> = kill
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Restarted {
                child_id, old, new, ..
            } => Some((child_id.to_string(), *old, *new)),
            _ => None,
        })
        .collect();
    assert_eq!(
        restarts,
        [
            ("KV.BucketSupervisor".to_owned(), Pid(2), Pid(7)),
            ("KV.Registry".to_owned(), Pid(3), Pid(8)),
        ]
    );
    // A supervisor traps exits: `boom` from outside its tree is dropped, nothing follows.
    assert!(first.kills[1].events.is_empty());
    assert!(text.contains("(nothing followed)"), "{text}");
    // The fourth restart in 5 s is one too many: KV.Supervisor gives up, the run stops.
    assert!(!first.is_survived());
    assert_eq!(
        first.roots_lost,
        [("KV.Supervisor".to_owned(), Pid(1), ExitReason::Shutdown)]
    );
    assert_eq!(
        first.ended_early.as_deref(),
        Some("no live process is left below a root")
    );
    assert!(
        text.ends_with(
            "== seed 7: 7 kills (boom 3, kill 2, shutdown 2); then 12 exits, 6 restarts, \
         1 supervisor gave up\n\
         == the tree did not survive: KV.Supervisor <0.1.0> exited: shutdown\n"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_pattern_limits_the_kills_and_temporary_buckets_stay_dead() {
    let options = ChaosOptions {
        duration: Duration::from_secs(3),
        rate_per_second: 4.0,
        target: Some("KV.Bucket".to_owned()),
        ..ChaosOptions::new(3)
    };
    let (report, text) = chaos(Stage::Final, SETUP, options).await;
    // Three buckets, three kills, then nothing matches; none comes back.
    assert_eq!(report.kills.len(), 3, "{text}");
    let mut pids: Vec<Pid> = report.kills.iter().map(|kill| kill.pid).collect();
    pids.sort();
    assert_eq!(pids, [Pid(4), Pid(5), Pid(6)]);
    for kill in &report.kills {
        assert!(
            kill.path
                .starts_with("KV.Supervisor/KV.BucketSupervisor/KV.Bucket"),
            "{}",
            kill.path
        );
        let kinds: Vec<&EventKind> = kill.events.iter().map(|event| &event.kind).collect();
        assert_eq!(
            kinds,
            [&EventKind::Exited {
                pid: kill.pid,
                reason: ExitReason::Killed
            }]
        );
    }
    // Siblings sharing an id are told apart by place: the last one left has no index.
    assert_eq!(
        report.kills[2].path,
        "KV.Supervisor/KV.BucketSupervisor/KV.Bucket"
    );
    assert_eq!(
        report.ended_early.as_deref(),
        Some("no live process matches `KV.Bucket`")
    );
    assert!(report.is_survived());
    assert_eq!(report.processes_at_end, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kills_replay_as_a_script_with_the_same_effects() {
    let (report, text) = chaos(Stage::OneForOne, SETUP, options(11)).await;
    assert!(!report.kills.is_empty(), "{text}");
    let script = format!("{SETUP}{}", report.script());
    let lines = scenario::parse(&script).unwrap();
    let node = Node::new("replay");
    let app = App::Kv(Stage::OneForOne).start(&node).await.unwrap();
    let mut out = Vec::new();
    let summary = Runner::for_app(&app, Format::Json, &mut out)
        .unwrap()
        .run(&lines)
        .await
        .unwrap();
    assert_eq!(summary.failed, 0, "{}", String::from_utf8_lossy(&out));
    // Each kill line of the replay sent the same reason to the same pid as the chaos run.
    let sent: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|object| {
            object["command"]
                .as_str()
                .is_some_and(|command| command.starts_with("kill "))
        })
        .map(|object| object["detail"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = report
        .kills
        .iter()
        .map(|kill| format!("sent {} to {}", kill.reason, kill.pid))
        .collect();
    assert_eq!(sent, expected, "{script}");
}

fn otpscope(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn bad_chaos_options_are_clear_errors() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["chaos", "--seed", "1", "--rate", "0"],
            "error: the rate must be a positive number of kills a second, found 0\n",
        ),
        (
            &["chaos", "--seed", "1", "--reasons", ","],
            "error: --reasons: no exit reason given: expected a list such as `kill,shutdown,boom`\n",
        ),
        (
            &["chaos", "--seed", "1", "--duration=-1"],
            "error: --duration must be a number of seconds, 0 or more, found -1\n",
        ),
        (
            &["chaos", "--seed", "1", "--script", "no/such/script.txt"],
            "error: cannot read script no/such/script.txt: No such file or directory (os error 2)\n",
        ),
    ];
    for (args, message) in cases {
        let output = otpscope(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), message, "{args:?}");
    }
}

#[test]
fn chaos_on_a_pattern_that_matches_nothing_stops_at_once_and_the_tree_survives() {
    let output = otpscope(&["chaos", "--seed", "5", "--target", "Nobody.*"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "== chaos: seed 5, 1.0 kills a second for 10.0 s, targets `Nobody.*`, reasons kill\n\
         == stopped early: no live process matches `Nobody.*`\n\
         == seed 5: 0 kills (none); then 0 exits, 0 restarts, 0 supervisors gave up\n\
         == the tree survived: 3 processes alive\n"
    );
}

#[test]
fn chaos_record_writes_the_setup_and_every_kill_with_its_reply_for_replay() {
    let dir = std::env::temp_dir().join(format!("otpscope-chaos-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("chaos.rec");
    let path = file.to_str().unwrap();
    let output = otpscope(&[
        "chaos",
        "--seed",
        "7",
        "--rate",
        "6",
        "--duration",
        "1",
        "--target",
        "KV.Bucket",
        "--script",
        "assets/scenarios/buckets.txt",
        "--json",
        "--record",
        path,
    ]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("recorded "),
        "{output:?}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let killed: Vec<serde_json::Value> = lines
        .iter()
        .filter(|line| line.get("path").is_some() && line.get("events").is_some())
        .map(|kill| kill["pid"].clone())
        .collect();
    assert!(!killed.is_empty(), "{lines:?}");

    let export = otpscope(&["replay", "--json", path]);
    assert!(export.status.success(), "{export:?}");
    let frames: Vec<serde_json::Value> = String::from_utf8(export.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let commands: Vec<&serde_json::Value> = frames
        .iter()
        .filter_map(|frame| frame.get("command"))
        .collect();
    let replies = frames
        .iter()
        .filter(|frame| frame.get("reply").is_some())
        .count();
    // The setup's three creates, then each kill, in the order sent, each with its reply.
    assert_eq!(commands.len(), 3 + killed.len(), "{commands:?}");
    assert_eq!(replies, commands.len());
    let exits: Vec<serde_json::Value> = commands
        .iter()
        .filter_map(|frame| frame["command"].get("exit"))
        .map(|exit| exit["pid"].clone())
        .collect();
    assert_eq!(exits, killed);
    std::fs::remove_dir_all(&dir).ok();
}
