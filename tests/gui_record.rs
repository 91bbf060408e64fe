//! The Observer's Record button and flight recorder, driven by label through the real app
//! (headless, with egui_kittest) on a node running the KV app, each checked by reading the
//! file it wrote with the contract's recording reader: Record, a kill from the process menu,
//! Stop, and the file holds a keyframe first, the command, its reply and the exit; "Save the
//! last minute" writes a file whose end is the node as the Observer holds it, and which the
//! Observer replays; a supervisor giving up saves the last minute by itself, once; a file
//! that cannot be created is a notice, and Record is offered again.
//!
//! Each test starts its own tokio runtime and node, and writes into a directory of its own.
//! What the node and the writer threads do arrives on their own threads, so the harness is
//! stepped in loops that wait for a condition with a deadline.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gui_support::{Record, Recorder};
use otpscope::contract::recording::{self, Frame, Recording};
use otpscope::contract::{Command, EventKind, ExitReason, Pid, Update};
use otpscope::demo::kv::control::KvControl;
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::{ObserverApp, Preferences, Timeline};
use otpscope::runtime::{self, Node};
use otpscope::sources::recording::RecordingSource;
use tokio::runtime::Runtime;

/// How long a test waits for something to show.
const DEADLINE: Duration = Duration::from_secs(30);

/// A node running the KV app, observed by an Observer whose recordings go to `dir`.
struct Observed {
    harness: Harness<'static, ObserverApp>,
    node: Node,
    /// What the Observer sent to the node and took from it.
    record: Arc<Mutex<Record>>,
    /// Where the Observer writes its files.
    dir: PathBuf,
    /// Runs the node; dropped last.
    runtime: Runtime,
}

fn observe(test: &str, prefs: Preferences) -> Observed {
    let runtime = gui_support::runtime();
    let node = gui_support::kv_node(&runtime, Stage::Final);
    let (source, record) = Recorder::new(gui_support::kv_source(&node));
    let mut app = ObserverApp::new(Box::new(source), prefs);
    let dir = std::env::temp_dir().join(format!("otpscope-{test}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    app.recorder.dir = dir.clone();
    let harness = gui_support::observer_harness(app);
    Observed {
        harness,
        node,
        record,
        dir,
        runtime,
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

impl Observed {
    /// Creates bucket `name` and waits until the Observer shows it; gives its pid.
    fn create(&mut self, name: &str) -> Pid {
        let control = KvControl::new(&self.node);
        let bucket = self.runtime.block_on(control.create(name)).unwrap();
        let pid: Pid = bucket.pid().into();
        let label = format!("KV.Bucket {pid}");
        self.wait_for(&label, |o| o.shows(&label));
        pid
    }

    /// Steps frames until `condition` holds; panics after the deadline naming `what` and
    /// listing what is on screen.
    fn wait_for(&mut self, what: &str, condition: impl Fn(&Observed) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.harness.run_steps(1);
            if condition(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; labels shown: {:?}",
                gui_support::labels(&self.harness)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn shows(&self, label: &str) -> bool {
        self.harness.query_all_by_label(label).next().is_some()
    }

    /// Clicks the button labelled `label`.
    fn click(&mut self, label: &str) {
        self.wait_for(&format!("the button {label:?}"), |o| {
            o.harness
                .query_by_role_and_label(Role::Button, label)
                .is_some_and(|button| !button.accesskit_node().is_disabled())
        });
        self.harness
            .get_by_role_and_label(Role::Button, label)
            .click();
        self.harness.run_steps(3);
    }

    /// Right-clicks the outline row `label` (the leftmost widget so labelled) and chooses
    /// `item` from its menu.
    fn menu(&mut self, label: &str, item: &str) {
        self.harness
            .query_all_by_label(label)
            .min_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
            .unwrap_or_else(|| {
                let shown = gui_support::labels(&self.harness);
                panic!("no row {label}; shown: {shown:?}")
            })
            .click_secondary();
        self.harness.run_steps(3);
        self.harness.get_by_label(item).click();
        self.harness.run_steps(3);
    }

    /// The notices shown so far that start with `prefix`.
    fn notices(&self, prefix: &str) -> Vec<String> {
        self.harness
            .state()
            .state
            .notices
            .iter()
            .map(|(_, text)| text.clone())
            .filter(|text| text.starts_with(prefix))
            .collect()
    }

    /// Waits for a notice starting with `prefix` that names a file; gives the file's path.
    fn saved_file(&mut self, prefix: &str) -> PathBuf {
        self.wait_for(&format!("the notice {prefix:?}"), |o| {
            !o.notices(prefix).is_empty()
        });
        let notice = self.notices(prefix).remove(0);
        let path = notice
            .strip_prefix(prefix)
            .and_then(|rest| rest.split(" (").next())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no path in {notice:?}"));
        assert!(
            path.starts_with(&self.dir),
            "{notice:?} is in the directory"
        );
        path
    }

    /// Whether the Observer's event feed holds `kind`.
    fn has_seen(&self, kind: &EventKind) -> bool {
        let events = &self.harness.state().state.events;
        events.iter().any(|event| event.kind == *kind)
    }

    /// Opens the "⏪ Last minute" menu.
    fn open_last_minute(&mut self) {
        self.harness.get_by_label("⏪ Last minute").click();
        self.harness.run_steps(3);
    }

    /// Waits for the notice starting with `prefix` that names a saved last minute; checks that
    /// the file's name ends with `ending`, and that it is whole and starts with a keyframe at
    /// 0 ms; gives its path and what it holds.
    fn saved_minute(&mut self, prefix: &str, ending: &str) -> (PathBuf, Recording) {
        let path = self.saved_file(prefix);
        assert!(path.to_string_lossy().ends_with(ending));
        let recording = read(&path);
        assert!(matches!(
            recording.frames[0],
            Frame::Keyframe { at_ms: 0, .. }
        ));
        (path, recording)
    }

    /// Steps frames for `duration` of wall-clock time, so what is due by then (the recorder
    /// keeps wall-clock time) has happened.
    fn run_for(&mut self, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.harness.run_steps(1);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether the Observer shows a live KV.Registry.
    fn is_registry_shown(&self) -> bool {
        self.harness
            .state()
            .state
            .snapshot
            .as_ref()
            .is_some_and(|snapshot| {
                snapshot
                    .processes()
                    .any(|info| info.name.as_deref() == Some("KV.Registry"))
            })
    }

    /// The files written so far.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }
}

/// Reads a recording the way `otpscope replay` does; it must be whole.
fn read(path: &Path) -> Recording {
    let bytes = std::fs::read(path).unwrap();
    let outcome = recording::read(&bytes).unwrap();
    assert!(outcome.damage.is_none(), "{:?}", outcome.damage);
    outcome.recording
}

/// Every event the recording holds.
fn events(recording: &Recording) -> Vec<EventKind> {
    recording
        .events_until(u64::MAX)
        .map(|(_, event)| event.kind.clone())
        .collect()
}

#[test]
fn record_then_a_kill_then_stop_writes_a_keyframe_the_command_its_reply_and_the_exit() {
    let mut observed = observe("record", Preferences::default());
    let shopping = observed.create("shopping");
    let label = format!("KV.Bucket {shopping}");

    observed.click("⏺ Record");
    observed.wait_for("the recording", |o| {
        o.harness.state().recorder.is_recording()
    });
    assert!(observed.shows("⏹ Stop recording"));
    assert!(observed.notices("Recording to ").len() == 1);

    observed.menu(&label, "Kill");
    let kill = Command::Exit {
        pid: shopping,
        reason: ExitReason::Kill,
    };
    let id = observed
        .record
        .lock()
        .unwrap()
        .last_sent(|command| *command == kill)
        .expect("the kill was sent");
    let exit = EventKind::Exited {
        pid: shopping,
        reason: ExitReason::Killed,
    };
    observed.wait_for("the reply and the exit", |o| {
        o.record.lock().unwrap().reply(id).is_some() && o.has_seen(&exit)
    });

    observed.click("⏹ Stop recording");
    let path = observed.saved_file("Recording saved to ");
    assert!(observed.shows("⏺ Record"), "Record is offered again");
    assert_eq!(observed.files(), std::slice::from_ref(&path));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("otpscope-test-") && name.ends_with(".rec"),
        "{name}"
    );

    let recording = read(&path);
    assert_eq!(recording.header.title, "test");
    assert!(recording.header.capabilities.control);
    // A keyframe first: the node as the Observer held it when Record was pressed.
    let Frame::Keyframe { at_ms: 0, snapshot } = &recording.frames[0] else {
        panic!("the first frame is {:?}", recording.frames[0]);
    };
    assert!(snapshot.contains(shopping), "the bucket was alive then");
    // The command, then its reply, with the same id.
    let command_at = recording
        .frames
        .iter()
        .position(|frame| matches!(frame, Frame::Command { command, .. } if *command == kill))
        .expect("the kill is recorded");
    let Frame::Command { id: recorded, .. } = &recording.frames[command_at] else {
        unreachable!()
    };
    let reply_at = recording
        .frames
        .iter()
        .position(|frame| matches!(frame, Frame::Reply { id, result: Ok(_), .. } if id == recorded))
        .expect("its reply is recorded");
    assert!(command_at < reply_at);
    // The exit the kill caused, after the command; times never go back.
    let exit_at = recording
        .frames
        .iter()
        .position(|frame| {
            matches!(frame, Frame::Update { update: Update::Events { events, .. }, .. }
            if events.iter().any(|event| event.kind == exit))
        })
        .expect("the exit is recorded");
    assert!(command_at < exit_at);
    assert!(
        recording
            .frames
            .windows(2)
            .all(|pair| pair[0].at_ms() <= pair[1].at_ms())
    );
    // It ends with the node as the Observer held it at Stop, so it lasts until then.
    assert!(matches!(
        recording.frames.last(),
        Some(Frame::Keyframe { .. })
    ));
    let end = recording.snapshot_at(recording.duration_ms()).unwrap();
    assert!(!end.contains(shopping), "the bucket is gone at the end");
}

#[test]
fn the_last_minute_is_saved_and_replays_to_the_node_the_observer_holds() {
    let mut observed = observe("last-minute", Preferences::default());
    let shopping = observed.create("shopping");
    observed.create("work");
    observed.menu(&format!("KV.Bucket {shopping}"), "Kill");
    let exit = EventKind::Exited {
        pid: shopping,
        reason: ExitReason::Killed,
    };
    observed.wait_for("the bucket to go, and its exit", |o| {
        !o.harness.state().state.is_alive(shopping) && o.has_seen(&exit)
    });
    // Freeze the view, so what it holds is what the flight recorder took.
    observed.click("⏸ Pause");

    observed.open_last_minute();
    assert!(
        gui_support::labels(&observed.harness)
            .iter()
            .any(|label| label.starts_with("The flight recorder holds the last ")),
        "the menu says how much it holds"
    );
    observed.click("💾 Save the last minute");
    let (_, recording) = observed.saved_minute("The last minute saved to ", "-last-minute.rec");
    assert!(events(&recording).contains(&exit));
    let held = observed.harness.state().state.snapshot.clone().unwrap();
    let end = recording.snapshot_at(recording.duration_ms()).unwrap();
    assert_eq!(
        end, *held,
        "the end of the minute is the node as the Observer holds it"
    );

    // The Observer replays it, to the same node.
    let mut source = RecordingSource::new(recording.clone());
    source.seek(recording.duration_ms());
    let replay = ObserverApp::new(Box::new(source), Preferences::default());
    let mut replay = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), replay);
    replay.run_steps(3);
    assert_eq!(replay.state().title(), "recording of test");
    assert_eq!(*replay.state().state.snapshot.clone().unwrap(), *held);
    assert!(
        replay.query_by_label("⏺ Record").is_none(),
        "a replay offers no Record"
    );
}

#[test]
fn a_supervisor_giving_up_saves_the_last_minute_by_itself_once() {
    let prefs = Preferences {
        save_on_give_up: true,
        ..Preferences::default()
    };
    let mut observed = observe("gave-up", prefs);
    observed.harness.state_mut().recorder.give_up_aftermath = Duration::from_millis(200);
    observed.create("shopping");

    // KV.Supervisor allows 3 restarts in 5 s: the fourth kill of the registry makes it give
    // up, and the app stops.
    for kill in 1..=4 {
        let registry = observed.node.whereis("KV.Registry").unwrap();
        observed
            .node
            .exit(registry, runtime::ExitReason::Kill)
            .unwrap();
        if kill < 4 {
            observed.wait_for("the registry restarted", |o| {
                o.node
                    .whereis("KV.Registry")
                    .is_some_and(|new| new != registry)
            });
        }
    }
    let (path, recording) = observed.saved_minute(
        "A supervisor gave up: the last minute saved to ",
        "-gave-up.rec",
    );
    let events = events(&recording);
    assert!(
        events
            .iter()
            .any(|kind| matches!(kind, EventKind::SupervisorGaveUp { child_id, .. } if &**child_id == "KV.Registry")),
        "the give-up is in it: {events:?}"
    );
    let restarts = events
        .iter()
        .filter(|kind| matches!(kind, EventKind::Restarted { .. }))
        .count();
    assert!(restarts >= 3, "the restarts that led to it: {events:?}");
    // The app is gone at the end: the file shows what followed.
    let end = recording.snapshot_at(recording.duration_ms()).unwrap();
    assert!(
        end.processes()
            .all(|info| info.name.as_deref() != Some("KV.Supervisor"))
    );

    // Started again and given up again within the minute: no second file.
    let node = observed.node.clone();
    observed
        .runtime
        .block_on(async { kv::start(&node, Stage::Final).await })
        .unwrap();
    observed.wait_for("the app again", |o| o.is_registry_shown());
    while observed.node.whereis("KV.Supervisor").is_some() {
        let Some(registry) = observed.node.whereis("KV.Registry") else {
            observed.harness.run_steps(1);
            continue;
        };
        observed.node.exit(registry, runtime::ExitReason::Kill).ok();
        observed.wait_for("the registry restarted or the app gone", |o| {
            let node = &o.node;
            node.whereis("KV.Registry")
                .is_some_and(|new| new != registry)
                || node.whereis("KV.Supervisor").is_none()
        });
    }
    observed.wait_for("the app gone again", |o| {
        o.harness.state().state.is_node_empty()
    });
    let give_ups = observed
        .harness
        .state()
        .state
        .events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::SupervisorGaveUp { .. }))
        .count();
    assert!(give_ups >= 2, "it gave up twice");
    // Past when a second save would be due (and its writer done), so that one would show.
    let aftermath = observed.harness.state().recorder.give_up_aftermath;
    observed.run_for(aftermath * 5);
    assert_eq!(observed.files(), [path], "at most one save a minute");
}

#[test]
fn a_file_that_cannot_be_created_is_a_notice_and_record_is_offered_again() {
    let mut observed = observe("unwritable", Preferences::default());
    observed.create("shopping");
    let missing = observed.dir.join("no such directory");
    observed.harness.state_mut().recorder.dir = missing.clone();

    observed.click("⏺ Record");
    observed.wait_for("the notice", |o| {
        !o.notices("Cannot start recording: cannot create ")
            .is_empty()
    });
    assert!(!observed.harness.state().recorder.is_recording());
    assert!(observed.shows("⏺ Record"));

    observed.open_last_minute();
    observed.click("💾 Save the last minute");
    observed.wait_for("the notice", |o| {
        !o.notices("Cannot save the last minute: cannot create ")
            .is_empty()
    });
    assert!(!missing.exists());
}
