//! Recordings end to end: a random run on a real node recorded through the contract's sink
//! replays, at every recorded instant, exactly the model the live view held then; the CLI
//! records a script and prints the tree at a moment, exports JSON, replays a damaged file up
//! to the damage and refuses a newer one; the Observer's timeline plays, seeks and steps.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod serve_support;

use std::process::Command as Process;
use std::time::Duration;

use otpscope::contract::recording::{self, Header, Sink};
use otpscope::contract::{AppCommand, Capabilities, Command, ExitReason, Snapshot, Update};
use otpscope::demo::App;
use otpscope::demo::kv::Stage;
use otpscope::runtime::Node;
use otpscope::snapshot::{ObserveOptions, observe_with};
use proptest::prelude::*;
use serve_support::Service;

/// One step of a random run.
#[derive(Clone, Debug)]
enum Op {
    /// Create a bucket with this number in its name.
    Create(u8),
    /// Kill the n-th live process (modulo how many there are).
    Kill(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6).prop_map(Op::Create),
        (0usize..64).prop_map(Op::Kill)
    ]
}

/// Runs `ops` on a node with the final KV app, giving every update its subscriber saw with a
/// made-up time (10 ms apart), in order.
fn random_run(ops: &[Op]) -> Vec<(u64, Update)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let node = Node::new("rec");
        let app = App::Kv(Stage::Final).start(&node).await.unwrap();
        let control = app.control();
        let mut subscription = observe_with(
            &node,
            ObserveOptions::new(Duration::from_millis(5)).queue_capacity(1024),
        )
        .unwrap();
        let mut seen = Vec::new();
        let mut live: Option<Snapshot> = None;
        let mut take = |update: Update, live: &mut Option<Snapshot>| {
            match &update {
                Update::Full(snapshot) => *live = Some(snapshot.clone()),
                Update::Delta(delta) => {
                    if let Some(live) = live.as_mut() {
                        live.apply(delta).ok();
                    }
                }
                Update::Events { .. } => {}
            }
            seen.push((seen.len() as u64 * 10, update));
        };
        for op in ops {
            let command = match op {
                Op::Create(n) => Command::App(
                    AppCommand::new("kv", "create_bucket").arg("bucket", format!("b{n}")),
                ),
                Op::Kill(n) => {
                    let Some(live) = live.as_ref().filter(|live| !live.is_empty()) else {
                        continue;
                    };
                    let pid = live.processes().nth(n % live.len()).unwrap().pid;
                    Command::Exit {
                        pid,
                        reason: ExitReason::Kill,
                    }
                }
            };
            control.execute(command).await.ok();
            // Whatever arrived in a moment: the property holds for any stream.
            while let Ok(Some(update)) =
                tokio::time::timeout(Duration::from_millis(20), subscription.recv()).await
            {
                take(update, &mut live);
            }
        }
        seen
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn a_replayed_run_shows_what_the_live_view_saw_at_every_instant(
        ops in prop::collection::vec(op(), 1..12),
        keyframe_every_ms in 0u64..60,
    ) {
        let updates = random_run(&ops);
        let header = Header {
            title: "random run".into(),
            started_at_unix_ms: 0,
            capabilities: Capabilities::default(),
            keyframe_every_ms,
        };
        let mut sink = Sink::new(Vec::new(), &header).unwrap();
        let mut live: Option<Snapshot> = None;
        let mut expected = Vec::new();
        for (at_ms, update) in updates {
            match &update {
                Update::Full(snapshot) => live = Some(snapshot.clone()),
                Update::Delta(delta) => {
                    if let Some(live) = live.as_mut() {
                        live.apply(delta).ok();
                    }
                }
                Update::Events { .. } => {}
            }
            expected.push((at_ms, live.clone()));
            sink.update(at_ms, update).unwrap();
        }
        let bytes = sink.finish().unwrap();
        let outcome = recording::read(&bytes).unwrap();
        prop_assert!(outcome.damage.is_none());
        for (at_ms, live) in expected {
            prop_assert_eq!(outcome.recording.snapshot_at(at_ms), live, "at {} ms", at_ms);
        }
    }
}

// === the CLI ===

fn otpscope() -> Process {
    Process::new(env!("CARGO_BIN_EXE_otpscope"))
}

/// Records `assets/scenarios/buckets.txt` into a fresh file; returns its path.
fn record_buckets(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("otpscope-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let output = otpscope()
        .args(["run", "--record"])
        .arg(&path)
        .arg("assets/scenarios/buckets.txt")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("recorded "), "{stderr}");
    path
}

#[test]
fn run_record_then_replay_dump_prints_the_tree_and_json_exports_every_frame() {
    let path = record_buckets("buckets.rec");
    let at_start = otpscope()
        .args(["replay", "--dump"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(at_start.status.success(), "{at_start:?}");
    let start_text = String::from_utf8(at_start.stdout).unwrap();
    assert!(start_text.starts_with("node otpscope ("), "{start_text}");
    assert!(start_text.contains("KV.Registry"));

    let at_end = otpscope()
        .args(["replay", "--dump", "--end", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(at_end.status.success(), "{at_end:?}");
    let snapshot: serde_json::Value = serde_json::from_slice(&at_end.stdout).unwrap();
    assert_eq!(
        snapshot["format_version"],
        otpscope::contract::FORMAT_VERSION
    );

    let export = otpscope()
        .args(["replay", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(export.status.success());
    let text = String::from_utf8(export.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines[0]["header"]["recording_version"],
        recording::RECORDING_VERSION
    );
    assert!(lines[1].get("keyframe").is_some(), "{}", lines[1]);
    // Every command the script sent is there with its reply.
    let commands = lines
        .iter()
        .filter(|line| line.get("command").is_some())
        .count();
    let replies = lines
        .iter()
        .filter(|line| line.get("reply").is_some())
        .count();
    assert!(commands > 0);
    assert_eq!(commands, replies);
}

#[test]
fn replay_refuses_a_newer_recording_and_names_where_a_damaged_one_ends() {
    let path = record_buckets("damaged.rec");
    let bytes = std::fs::read(&path).unwrap();

    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(recording::RECORDING_VERSION + 1).to_le_bytes());
    std::fs::write(&path, &newer).unwrap();
    let output = otpscope()
        .args(["replay", "--dump"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is newer than this otpscope reads"),
        "{stderr}"
    );

    // Cut inside the last chunk: what came before replays, with a warning naming where.
    let outcome = recording::read(&bytes).unwrap();
    assert!(outcome.damage.is_none());
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let output = otpscope()
        .args(["replay", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("recording truncated at byte "), "{stderr}");
    let read = recording::read(&bytes[..bytes.len() - 3]).unwrap();
    assert!(read.recording.frames.len() < outcome.recording.frames.len());
    assert_eq!(
        read.recording.frames[..],
        outcome.recording.frames[..read.recording.frames.len()]
    );
}

#[test]
fn serve_record_reaches_the_file_within_a_second_and_finishes_on_ctrl_c() {
    use std::time::Instant;

    let test = "serve-rec";
    let folder = Service::folder(test);
    let (path, script) = (folder.join("serve.rec"), folder.join("s.txt"));
    std::fs::write(&script, "create shopping\n").unwrap();
    let mut service = Service::start(test, &["--record", path.to_str().unwrap()]);
    let run = otpscope()
        .args(["run", "--attach", &service.address, "--cookie-file"])
        .arg(&service.cookie)
        .arg(&script)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");

    // While the service runs, the bucket reaches the file (a chunk a second at most).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bytes = std::fs::read(&path).unwrap();
        let recording = recording::read(&bytes).unwrap().recording;
        let has_bucket = recording
            .snapshot_at(recording.duration_ms())
            .is_some_and(|snapshot| snapshot.processes().any(|info| &*info.label == "KV.Bucket"));
        if has_bucket {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bucket never reached the file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, stderr) = service.interrupt();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("recorded "), "{stderr}");
    let bytes = std::fs::read(&path).unwrap();
    let outcome = recording::read(&bytes).unwrap();
    assert!(outcome.damage.is_none());
    assert!(
        outcome
            .recording
            .events_until(u64::MAX)
            .any(|(_, event)| event.kind.name() == "command"),
        "the remote command is in the feed"
    );
}
