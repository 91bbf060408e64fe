//! The headless CLI end to end: run the binary, check its output and exit code, including
//! every shipped scenario.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    let output = otpscope(&["dump", "--stage", "linked"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("KV.Supervisor <0.1.0> supervisor one_for_one"));
    assert!(!stdout(&output).contains("KV.BucketSupervisor"));
    let output = otpscope(&["dump", "--stage", "one_for_one"]);
    let text = stdout(&output);
    let registry = text.find("KV.Registry").unwrap();
    let buckets = text.find("KV.BucketSupervisor").unwrap();
    assert!(
        registry < buckets,
        "the registry starts first in one_for_one:\n{text}"
    );
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
    assert_eq!(snapshot["format_version"], 1);
}

#[test]
fn dump_starts_a_tree_file() {
    let output = otpscope(&["dump", "--tree", "assets/trees/deep.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).lines().count() > 8);
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
    assert!(after.contains("KV.Registry exited: killed"), "{after}");
    assert!(after.contains("KV.Bucket exited: shutdown"), "{after}");
    assert!(
        after.contains("KV.BucketSupervisor exited: shutdown"),
        "{after}"
    );
    assert!(
        after.contains("KV.Supervisor restarted KV.BucketSupervisor"),
        "{after}"
    );
    assert!(
        after.contains("KV.Supervisor restarted KV.Registry"),
        "{after}"
    );
}

#[test]
fn a_run_starts_at_once_instead_of_waiting_out_its_timeout() {
    // The runner once waited for events from before it subscribed, which never come, until
    // its 5 s wait for quiet ran out.
    let script = std::env::temp_dir().join(format!("otpscope-quick-{}.txt", std::process::id()));
    std::fs::write(&script, "create shopping\n").unwrap();
    let started = std::time::Instant::now();
    let output = otpscope(&["run", script.to_str().unwrap()]);
    let elapsed = started.elapsed();
    std::fs::remove_file(&script).ok();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("KV.Bucket started"),
        "{}",
        stdout(&output)
    );
    assert!(
        elapsed < otpscope::scenario::run::MAX_WAIT,
        "one create took {elapsed:?}"
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
        .filter(|event| event["type"] == "exited")
        .filter_map(|event| event["reason"].as_str())
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
