//! The headless CLI end to end: run the binary, check its output and exit code, including
//! every shipped scenario, every script command and the failure message of each `expect`, and
//! the errors for missing files, conflicting options and trees that fail to start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use otpscope::demo::kv::{self, Stage, control::KvControl};
use otpscope::runtime::Node;
use otpscope::scenario::run::{MAX_WAIT, QUIET, Summary};
use otpscope::scenario::{self, Format, Runner};

fn otpscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the otpscope binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A directory for a test's input files, removed when the test ends (even if it fails).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("otpscope-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `file` in the directory; gives its path.
    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.0.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn dump_prints_the_final_kv_tree() {
    let output = otpscope(&["dump"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "node otpscope (3 processes)\n\
         KV.Supervisor <0.1.0> supervisor one_for_all (3 in 5s)\n\
         ├─ KV.BucketSupervisor <0.2.0> dynamic_supervisor one_for_one permanent\n\
         └─ KV.Registry <0.3.0> server permanent\n"
    );
}

#[test]
fn dump_shows_each_stage_shape() {
    // linked: no bucket supervisor, the registry links its buckets itself. permanent and
    // one_for_one share a shape (registry first); they differ in their buckets' restart
    // type. final: one_for_all, the bucket supervisor first.
    let registry_first = |strategy: &str| {
        format!(
            "node otpscope (3 processes)\n\
             KV.Supervisor <0.1.0> supervisor {strategy} (3 in 5s)\n\
             ├─ KV.Registry <0.2.0> server permanent\n\
             └─ KV.BucketSupervisor <0.3.0> dynamic_supervisor one_for_one permanent\n"
        )
    };
    let stages = [
        (
            "linked",
            "node otpscope (2 processes)\n\
             KV.Supervisor <0.1.0> supervisor one_for_one (3 in 5s)\n\
             └─ KV.Registry <0.2.0> server permanent\n"
                .to_owned(),
        ),
        ("permanent", registry_first("one_for_one")),
        ("one_for_one", registry_first("one_for_one")),
        (
            "final",
            "node otpscope (3 processes)\n\
             KV.Supervisor <0.1.0> supervisor one_for_all (3 in 5s)\n\
             ├─ KV.BucketSupervisor <0.2.0> dynamic_supervisor one_for_one permanent\n\
             └─ KV.Registry <0.3.0> server permanent\n"
                .to_owned(),
        ),
    ];
    for (stage, shape) in stages {
        let output = otpscope(&["dump", "--stage", stage]);
        assert!(output.status.success(), "{stage}: {}", stderr(&output));
        assert_eq!(stdout(&output), shape, "{stage}");
    }
}

#[test]
fn dump_json_is_the_snapshot() {
    let output = otpscope(&["dump", "--json"]);
    assert!(output.status.success());
    let snapshot: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let processes = snapshot["processes"].as_array().unwrap();
    let names: Vec<&str> = processes
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["KV.Supervisor", "KV.BucketSupervisor", "KV.Registry"]
    );
    assert_eq!(
        snapshot["format_version"],
        otpscope::contract::FORMAT_VERSION
    );
    assert_eq!(snapshot["format_version"], 4);
}

#[test]
fn dump_starts_a_tree_file() {
    let output = otpscope(&["dump", "--tree", "assets/trees/deep.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "node otpscope (13 processes)\n\
         Deep.Level1 <0.1.0> supervisor one_for_one (3 in 5s)\n\
         ├─ Deep.Level2 <0.2.0> supervisor rest_for_one (3 in 5s) permanent\n\
         │  ├─ Deep.Level3 <0.3.0> supervisor one_for_all (3 in 5s) permanent\n\
         │  │  ├─ Deep.Level4 <0.4.0> supervisor one_for_one (3 in 5s) permanent\n\
         │  │  │  ├─ Deep.Level5 <0.5.0> dynamic_supervisor one_for_one permanent\n\
         │  │  │  │  └─ Deep.Level6 <0.6.0> supervisor one_for_one (3 in 5s) permanent\n\
         │  │  │  │     ├─ Deep.Level7 <0.7.0> supervisor one_for_one (3 in 5s) permanent\n\
         │  │  │  │     │  └─ Deep.Bottom <0.8.0> server permanent\n\
         │  │  │  │     └─ Deep.Leaf <0.9.0> server permanent\n\
         │  │  │  └─ Deep.Leaf <0.10.0> server permanent\n\
         │  │  └─ Deep.Leaf <0.11.0> server permanent\n\
         │  └─ Deep.Leaf <0.12.0> server permanent\n\
         └─ Deep.Leaf <0.13.0> server permanent\n"
    );
}

#[test]
fn a_malformed_tree_file_is_an_error_with_line_and_column() {
    let dir = ScratchDir::new("bad-tree");
    let path = dir.write(
        "bad.toml",
        "type = \"supervisor\"\nstrategy = \"one_for_some\"\n",
    );
    let output = otpscope(&["dump", "--tree", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(
        error.contains("bad.toml: line 2, column 12: unknown strategy \"one_for_some\""),
        "{error}"
    );
    assert_eq!(error.matches("line 2").count(), 1, "said once: {error}");
}

#[test]
fn every_shipped_scenario_passes_on_its_stage_or_tree() {
    // What each scenario runs on: a stage of the KV app, or the tree file of the same name.
    let scenarios = [
        ("--stage", "linked", "assets/scenarios/linked.txt"),
        ("--stage", "linked", "assets/scenarios/linked_shutdown.txt"),
        ("--stage", "permanent", "assets/scenarios/permanent.txt"),
        ("--stage", "one_for_one", "assets/scenarios/one_for_one.txt"),
        ("--stage", "final", "assets/scenarios/final.txt"),
        ("--stage", "final", "assets/scenarios/buckets.txt"),
        (
            "--tree",
            "assets/trees/crash_loop.toml",
            "assets/scenarios/crash_loop.txt",
        ),
        (
            "--tree",
            "assets/trees/deep.toml",
            "assets/scenarios/deep.txt",
        ),
        (
            "--tree",
            "assets/trees/name_race.toml",
            "assets/scenarios/name_race.txt",
        ),
        (
            "--tree",
            "assets/trees/restart_types.toml",
            "assets/scenarios/restart_types.txt",
        ),
        (
            "--tree",
            "assets/trees/shutdown.toml",
            "assets/scenarios/shutdown.txt",
        ),
    ];
    let shipped = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scenarios"))
        .unwrap()
        .count();
    assert_eq!(
        shipped,
        scenarios.len(),
        "every shipped scenario is run here"
    );
    // The tree scenarios wait seconds (a crash loop, slow shutdowns): run them side by side.
    let runs: Vec<_> = scenarios
        .into_iter()
        .map(|(flag, on, script)| {
            std::thread::spawn(move || {
                let output = otpscope(&["run", flag, on, script]);
                let text = stdout(&output);
                assert!(
                    output.status.success(),
                    "{script} on {on}:\n{text}{}",
                    stderr(&output)
                );
                assert!(!text.contains("FAILED"), "{script}:\n{text}");
                assert!(text.contains(" 0 failed"), "{script}:\n{text}");
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
}

#[test]
fn the_final_scenario_fails_on_the_one_for_one_stage() {
    let output = otpscope(&[
        "run",
        "--stage",
        "one_for_one",
        "assets/scenarios/final.txt",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains(
            "FAILED (line 23): expected KV.BucketSupervisor restarted 1 times, found 0 restarts"
        ),
        "{text}"
    );
}

#[test]
fn run_prints_each_command_with_the_events_it_caused() {
    let output = otpscope(&["run", "assets/scenarios/final.txt"]);
    let text = stdout(&output);
    let kill = text.find("> kill KV.Registry").unwrap();
    let after = &text[kill..];
    assert!(
        after.contains("KV.Registry <0.3.0> exited: killed"),
        "{after}"
    );
    assert!(
        after.contains("KV.Bucket <0.6.0> exited: shutdown"),
        "{after}"
    );
    assert!(
        after.contains("KV.BucketSupervisor <0.2.0> exited: shutdown"),
        "{after}"
    );
    assert!(
        after.contains("KV.Supervisor <0.1.0> restarted KV.BucketSupervisor: <0.2.0> -> <0.7.0>"),
        "{after}"
    );
    assert!(
        after.contains("KV.Supervisor <0.1.0> restarted KV.Registry: <0.3.0> -> <0.8.0>"),
        "{after}"
    );
}

/// In process, on paused time: the runner's waits read tokio's clock, which moves only when
/// every task waits, so the time a run takes is its own waits and nothing of the machine's
/// load. The runner once waited for events from before it subscribed, which never come,
/// until its 5 s wait for quiet ran out.
#[tokio::test(start_paused = true)]
async fn a_run_starts_at_once_instead_of_waiting_out_its_timeout() {
    let node = Node::new("otpscope");
    kv::start(&node, Stage::Final).await.unwrap();
    let lines = scenario::parse("create shopping\n").unwrap();
    let mut out = Vec::new();
    let started = tokio::time::Instant::now();
    let summary = Runner::new(&node, Some(KvControl::new(&node)), Format::Text, &mut out)
        .unwrap()
        .run(&lines)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        summary,
        Summary {
            commands: 1,
            passed: 0,
            failed: 0
        }
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("> create shopping\n  * KV.Bucket <0.4.0> spawned by KV.BucketSupervisor <0.2.0>\n== final tree\n"),
        "{text}"
    );
    // The create, then QUIET without an event (polled every 2 ms), and nothing more.
    assert!(
        took >= QUIET && took < QUIET * 3,
        "one create took {took:?} (the timeout is {MAX_WAIT:?})"
    );
}

// === errors before anything runs ===

#[test]
fn a_missing_script_or_tree_file_is_an_error_naming_it() {
    let output = otpscope(&["run", "assets/scenarios/missing.txt"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert_eq!(
        stderr(&output),
        "error: cannot read script assets/scenarios/missing.txt: \
         No such file or directory (os error 2)\n"
    );
    let output = otpscope(&["dump", "--tree", "assets/trees/missing.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert_eq!(
        stderr(&output),
        "error: cannot read assets/trees/missing.toml: No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_stage_and_a_tree_together_are_refused() {
    let output = otpscope(&[
        "dump",
        "--stage",
        "linked",
        "--tree",
        "assets/trees/deep.toml",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let error = stderr(&output);
    assert_eq!(
        error.lines().next(),
        Some("error: the argument '--stage <STAGE>' cannot be used with '--tree <FILE>'"),
        "{error}"
    );
}

#[test]
fn a_tree_that_fails_to_start_is_an_error_naming_the_child() {
    let dir = ScratchDir::new("failing-tree");
    let path = dir.write(
        "failing.toml",
        "type = \"supervisor\"\n\
         strategy = \"one_for_one\"\n\
         \n\
         [[children]]\n\
         id = \"fine\"\n\
         \n\
         [[children]]\n\
         id = \"broken\"\n\
         fail_to_start = \"no_db\"\n",
    );
    let path = path.to_str().unwrap();
    for command in ["dump", "run"] {
        let mut args = vec![command, "--tree", path];
        if command == "run" {
            args.push("assets/scenarios/final.txt");
        }
        let output = otpscope(&args);
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(stdout(&output).is_empty(), "{command}: nothing ran");
        assert_eq!(
            stderr(&output),
            format!(
                "error: cannot start {path}: child broken failed to start: init failed: no_db\n"
            ),
            "{command}"
        );
    }
}

// === scripts ===

/// The lines of a run's output that report a failure, and its last line (the summary).
fn failures_and_summary(output: &Output) -> (Vec<String>, String) {
    let text = stdout(output);
    let failures = text
        .lines()
        .filter(|line| line.starts_with("  FAILED"))
        .map(str::to_owned)
        .collect();
    let summary = text.lines().last().unwrap_or_default().to_owned();
    (failures, summary)
}

#[test]
fn kv_commands_against_a_tree_fail_and_the_run_exits_1() {
    let dir = ScratchDir::new("kv-on-tree");
    let script = dir.write(
        "kv.txt",
        "create shopping\n\
         put shopping milk 3\n\
         get shopping milk\n\
         delete shopping milk\n\
         expect lookup shopping none\n\
         expect get shopping milk 3\n\
         expect alive Deep.Level1/leaf1\n",
    );
    let output = otpscope(&[
        "run",
        "--tree",
        "assets/trees/deep.toml",
        script.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let (failures, summary) = failures_and_summary(&output);
    let expected: Vec<String> = (1..=6)
        .map(|line| format!("  FAILED (line {line}): this tree runs no KV app"))
        .collect();
    assert_eq!(failures, expected);
    assert_eq!(summary, "== 7 commands, 1 expectations passed, 6 failed");
}

#[test]
fn a_failing_command_that_is_not_an_expect_fails_the_run_and_the_run_goes_on() {
    let dir = ScratchDir::new("failing-command");
    let script = dir.write(
        "failing.txt",
        "kill NoSuch.Process\n\
         put nothing milk 3\n\
         kill <0.99.0>\n\
         expect alive KV.Registry\n",
    );
    let output = otpscope(&["run", script.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let (failures, summary) = failures_and_summary(&output);
    assert_eq!(
        failures,
        [
            "  FAILED (line 1): no process NoSuch.Process",
            "  FAILED (line 2): unknown name bucket nothing",
            "  FAILED (line 3): no process <0.99.0>",
        ]
    );
    assert!(
        stdout(&output).contains("> expect alive KV.Registry\n  KV.Registry alive as <0.3.0>\n"),
        "{}",
        stdout(&output)
    );
    assert_eq!(summary, "== 4 commands, 1 expectations passed, 3 failed");
}

/// Runs `script` in process on the KV app (final stage): the summary and the output. Called
/// on paused time, where the runner's waits for quiet read a clock that moves only when every
/// task waits, so each command's events are complete before the next command runs, however
/// slow the machine; the output is exact.
async fn run_in_process(script: &str) -> (Summary, String) {
    let node = Node::new("otpscope");
    kv::start(&node, Stage::Final).await.unwrap();
    let lines = scenario::parse(script).unwrap();
    let mut out = Vec::new();
    let summary = Runner::new(&node, Some(KvControl::new(&node)), Format::Text, &mut out)
        .unwrap()
        .run(&lines)
        .await
        .unwrap();
    (summary, String::from_utf8(out).unwrap())
}

#[tokio::test(start_paused = true)]
async fn each_expect_kind_says_what_it_expected_and_what_it_found() {
    let (summary, text) = run_in_process(
        "create shopping\n\
         put shopping milk 3\n\
         kill bucket:shopping shutdown\n\
         expect alive <0.4.0>\n\
         expect alive NoSuch\n\
         expect dead KV.Registry\n\
         expect restarted KV.Registry 2\n\
         expect restarted NoSuch 1\n\
         expect restarted <0.4.0> 0\n\
         expect count KV.Supervisor 3\n\
         expect count NoSuch 0\n\
         expect count <0.4.0> 0\n\
         create work\n\
         put work milk 3\n\
         expect lookup work none\n\
         expect lookup groceries some\n\
         expect get work milk 4\n\
         expect get groceries milk 3\n",
    )
    .await;
    let failures: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("  FAILED"))
        .collect();
    assert_eq!(
        failures,
        [
            "  FAILED (line 4): expected <0.4.0> alive, found <0.4.0> dead (<0.4.0>)",
            "  FAILED (line 5): expected NoSuch alive, found no process for NoSuch",
            "  FAILED (line 6): expected KV.Registry dead, found KV.Registry alive as <0.3.0>",
            "  FAILED (line 7): expected KV.Registry restarted 2 times, found 0 restarts (<0.3.0>)",
            "  FAILED (line 8): expected NoSuch restarted 1 times, found no process",
            "  FAILED (line 9): expected <0.4.0> restarted 0 times, found <0.4.0> dead",
            "  FAILED (line 10): expected 3 children under KV.Supervisor, found 2",
            "  FAILED (line 11): expected 0 children of NoSuch, found no process",
            "  FAILED (line 12): expected 0 children of <0.4.0>, found <0.4.0> dead",
            "  FAILED (line 15): expected lookup work none, found some <0.5.0>",
            "  FAILED (line 16): expected lookup groceries some, found none",
            "  FAILED (line 17): expected work[milk] = \"4\", found \"3\"",
            "  FAILED (line 18): expected groceries[milk] = \"3\", found unknown name bucket groceries",
        ],
        "{text}"
    );
    assert_eq!(
        summary,
        Summary {
            commands: 18,
            passed: 0,
            failed: 13
        }
    );
}

/// Every command a script has, by pid and by path, with reasons other than kill.
#[tokio::test(start_paused = true)]
async fn script_commands_print_what_they_did_and_the_events_they_caused() {
    let started = tokio::time::Instant::now();
    let (summary, text) = run_in_process(
        "create shopping\n\
         put shopping milk 3\n\
         get shopping milk\n\
         delete shopping milk\n\
         put shopping eggs 12\n\
         sleep 10\n\
         dump\n\
         kill <0.4.0> normal\n\
         expect alive <0.4.0>\n\
         kill <0.4.0> shutdown:moved\n\
         expect dead <0.4.0>\n\
         create work\n\
         kill KV.Supervisor/KV.Registry boom\n\
         expect restarted KV.Registry 1\n\
         expect count KV.BucketSupervisor 0\n",
    )
    .await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(10),
        "slept"
    );
    assert_eq!(
        summary,
        Summary {
            commands: 15,
            passed: 4,
            failed: 0
        }
    );
    assert_eq!(
        text,
        "> create shopping\n\
         \x20 * KV.Bucket <0.4.0> spawned by KV.BucketSupervisor <0.2.0>\n\
         > put shopping milk 3\n\
         > get shopping milk\n\
         \x20 \"3\"\n\
         > delete shopping milk\n\
         \x20 \"3\"\n\
         > put shopping eggs 12\n\
         > sleep 10\n\
         > dump\n\
         \x20 node otpscope (4 processes)\n\
         \x20 KV.Supervisor <0.1.0> supervisor one_for_all (3 in 5s)\n\
         \x20 ├─ KV.BucketSupervisor <0.2.0> dynamic_supervisor one_for_one permanent\n\
         \x20 │  └─ KV.Bucket <0.4.0> agent temporary\n\
         \x20 └─ KV.Registry <0.3.0> server permanent\n\
         > kill <0.4.0> normal\n\
         \x20 sent normal to <0.4.0>\n\
         > expect alive <0.4.0>\n\
         \x20 <0.4.0> alive as <0.4.0>\n\
         > kill <0.4.0> shutdown:moved\n\
         \x20 sent {shutdown, moved} to <0.4.0>\n\
         \x20 * KV.Bucket <0.4.0> exited: {shutdown, moved}\n\
         > expect dead <0.4.0>\n\
         \x20 <0.4.0> dead (<0.4.0>)\n\
         > create work\n\
         \x20 * KV.Bucket <0.5.0> spawned by KV.BucketSupervisor <0.2.0>\n\
         > kill KV.Supervisor/KV.Registry boom\n\
         \x20 sent boom to <0.3.0>\n\
         \x20 * KV.Registry <0.3.0> exited: boom\n\
         \x20 * KV.Bucket <0.5.0> exited: shutdown\n\
         \x20 * KV.BucketSupervisor <0.2.0> exited: shutdown\n\
         \x20 * KV.Supervisor <0.1.0> restarted KV.BucketSupervisor: <0.2.0> -> <0.6.0>\n\
         \x20 * KV.Supervisor <0.1.0> restarted KV.Registry: <0.3.0> -> <0.7.0>\n\
         > expect restarted KV.Registry 1\n\
         \x20 1 restarts (<0.7.0>)\n\
         > expect count KV.BucketSupervisor 0\n\
         \x20 0\n\
         == final tree\n\
         node otpscope (3 processes)\n\
         KV.Supervisor <0.1.0> supervisor one_for_all (3 in 5s)\n\
         ├─ KV.BucketSupervisor <0.6.0> dynamic_supervisor one_for_one permanent restarts 1\n\
         └─ KV.Registry <0.7.0> server permanent restarts 1\n"
    );
}

#[test]
fn run_json_writes_one_object_a_line() {
    let output = otpscope(&[
        "run",
        "--json",
        "assets/scenarios/linked.txt",
        "--stage",
        "linked",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kill = lines
        .iter()
        .find(|line| line["command"] == "kill bucket:shopping")
        .unwrap();
    assert_eq!(kill["ok"], true);
    let exited: Vec<&str> = kill["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["kind"]["exited"]["reason"].as_str())
        .collect();
    assert!(exited.contains(&"killed"), "{kill}");
    assert!(lines.last().unwrap()["final"]["processes"].is_array());
}

#[test]
fn a_malformed_script_is_an_error_before_anything_runs() {
    let dir = ScratchDir::new("bad-script");
    let path = dir.write("bad.txt", "create shopping\nexpect lookup shopping maybe\n");
    let output = otpscope(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).is_empty(),
        "nothing ran: {}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("line 2: expected `none` or `some`, found `maybe`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_stage_is_refused() {
    let output = otpscope(&["dump", "--stage", "eventually"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("linked"), "{}", stderr(&output));
}

#[test]
fn a_closed_pipe_ends_dump_quietly() {
    // `otpscope dump --json | head -1`: the reader goes after one line. The wide tree's
    // snapshot is megabytes, far more than a pipe holds, so the dump is still writing when
    // the pipe closes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(["dump", "--json", "--tree", "assets/trees/wide.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut reader, &mut first).unwrap();
    assert_eq!(first, "{\n");
    drop(reader);
    let output = child.wait_with_output().unwrap();
    assert_eq!(stderr(&output), "", "no panic, no message on a closed pipe");
    assert_eq!(output.status.code(), Some(0));
}

#[cfg(feature = "gui")]
#[test]
fn without_a_display_the_observer_points_to_the_headless_commands() {
    let output = Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(error.starts_with("error: no display found"), "{error}");
    for hint in ["otpscope dump", "otpscope run SCRIPT"] {
        assert!(error.contains(hint), "names `{hint}`: {error}");
    }
    assert!(stdout(&output).is_empty());
}

#[test]
fn expect_get_nil_checks_that_a_key_is_missing_and_get_prints_nil() {
    let dir = ScratchDir::new("nil");
    let passing = dir.write(
        "nil.txt",
        "create shopping\nput shopping milk 3\nget shopping eggs\n\
         expect get shopping eggs nil\nexpect get shopping milk 3\n",
    );
    let output = otpscope(&["run", passing.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("> get shopping eggs\n  nil\n"), "{text}");
    assert!(text.contains("2 expectations passed, 0 failed"), "{text}");

    let failing = dir.write(
        "not_nil.txt",
        "create shopping\nput shopping milk nil\nexpect get shopping milk nil\n\
         expect get shopping milk \"nil\"\n",
    );
    let output = otpscope(&["run", failing.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAILED (line 3): expected shopping[milk] = nil, found \"nil\""),
        "{text}"
    );
    assert!(text.contains("1 expectations passed, 1 failed"), "{text}");
}

#[test]
fn tree_file_workers_without_a_label_show_their_id() {
    let output = otpscope(&["dump", "--tree", "assets/trees/restart_types.toml"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    for id in [
        "permanent",
        "transient_normal",
        "transient_crash",
        "temporary",
    ] {
        assert!(
            text.lines()
                .any(|line| line.contains(&format!("─ {id} <0."))),
            "a row for {id}:\n{text}"
        );
    }
    assert!(!text.contains("Worker"), "{text}");
}
