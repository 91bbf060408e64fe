//! The Observer on a recording: the timeline's buttons, driven by label through the real app
//! (headless, egui_kittest), each checked by what the Observer then holds: the time shown, the
//! node as it was at that moment, the events up to then.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::{Action, ActionData, ActionRequest, Role};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use otpscope::contract::recording::{Frame, Header, Recording};
use otpscope::contract::{
    Capabilities, Delta, Event, EventKind, ExitReason, Pid, ProcessInfo, ProcessKind, Removed,
    Snapshot, Update,
};
use otpscope::gui::{ObserverApp, Preferences};
use otpscope::sources::recording::RecordingSource;

fn info(pid: u64, label: &str) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo::new(Pid(pid), ProcessKind::Plain, label))
}

fn events(at_ms: u64, kinds: Vec<EventKind>) -> Frame {
    Frame::Update {
        at_ms,
        update: Update::Events {
            events: kinds
                .into_iter()
                .enumerate()
                .map(|(seq, kind)| Event {
                    seq: at_ms + seq as u64,
                    at_ms,
                    kind,
                })
                .collect(),
            missed: 0,
        },
    }
}

/// Two workers at 0 s; the first killed at 1 s; a third started at 2 s (a restart).
fn recording() -> Recording {
    let header = Header {
        title: "two workers".into(),
        started_at_unix_ms: 0,
        capabilities: Capabilities::default(),
        keyframe_every_ms: 5_000,
    };
    let frames = vec![
        Frame::Keyframe {
            at_ms: 0,
            snapshot: Snapshot::new("n", 0, 0, 1, [info(1, "first"), info(2, "second")]),
        },
        Frame::Update {
            at_ms: 1_000,
            update: Update::Delta(Delta {
                seq: 2,
                from_seq: 1,
                taken_at_unix_ms: 1_000,
                added: Vec::new(),
                changed: Vec::new(),
                removed: vec![Removed {
                    pid: Pid(1),
                    reason: ExitReason::Killed,
                }],
            }),
        },
        events(
            1_000,
            vec![EventKind::Exited {
                pid: Pid(1),
                reason: ExitReason::Killed,
            }],
        ),
        Frame::Update {
            at_ms: 2_000,
            update: Update::Delta(Delta {
                seq: 3,
                from_seq: 2,
                taken_at_unix_ms: 2_000,
                added: vec![info(3, "first")],
                changed: Vec::new(),
                removed: Vec::new(),
            }),
        },
        events(
            2_000,
            vec![EventKind::Spawned {
                pid: Pid(3),
                parent: None,
                label: "first".into(),
            }],
        ),
    ];
    Recording::new(header, frames)
}

fn harness() -> Harness<'static, ObserverApp> {
    let app = ObserverApp::new(
        Box::new(RecordingSource::new(recording())),
        Preferences::default(),
    );
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);
    harness.run_steps(3);
    harness
}

fn pids(harness: &Harness<'static, ObserverApp>) -> Vec<u64> {
    let snapshot = harness.state().state.snapshot.clone().unwrap();
    snapshot.processes().map(|info| info.pid.0).collect()
}

#[test]
fn stepping_through_events_shows_the_node_as_it_was_then() {
    let mut harness = harness();
    harness.get_by_label("0.0 s / 2.0 s");
    assert_eq!(pids(&harness), [1, 2]);
    assert!(harness.state().state.events.is_empty());

    harness.get_by_label("Next event ⏭").click();
    harness.run_steps(3);
    harness.get_by_label("1.0 s / 2.0 s");
    assert_eq!(pids(&harness), [2]);
    assert_eq!(harness.state().state.events.len(), 1);

    harness.get_by_label("Next event ⏭").click();
    harness.run_steps(3);
    harness.get_by_label("2.0 s / 2.0 s");
    assert_eq!(pids(&harness), [2, 3]);
    assert_eq!(harness.state().state.events.len(), 2);

    // Back in time: the restart is undone, and the feed holds only what came before.
    harness.get_by_label("⏮ Previous event").click();
    harness.run_steps(3);
    harness.get_by_label("1.0 s / 2.0 s");
    assert_eq!(pids(&harness), [2]);
    assert_eq!(harness.state().state.events.len(), 1);
}

#[test]
fn playing_runs_to_the_end_and_stops() {
    let mut harness = harness();
    harness.get_by_label("▶ Play").click();
    harness.run_steps(2);
    harness.get_by_label("⏸ Pause replay");
    let deadline = Instant::now() + Duration::from_secs(20);
    while harness.query_by_label("2.0 s / 2.0 s").is_none() {
        assert!(
            Instant::now() < deadline,
            "the playhead never reached the end"
        );
        std::thread::sleep(Duration::from_millis(20));
        harness.run_steps(1);
    }
    harness.run_steps(2);
    harness.get_by_label("▶ Play");
    assert_eq!(pids(&harness), [2, 3]);
    assert_eq!(harness.state().state.events.len(), 2);
}

#[test]
fn the_time_slider_jumps_to_a_moment() {
    let mut harness = harness();
    let (target_node, target_tree) = harness
        .get_by_role_and_label(Role::Slider, "Time")
        .accesskit_node()
        .locate();
    harness.event(egui::Event::AccessKitActionRequest(ActionRequest {
        target_node,
        target_tree,
        action: Action::SetValue,
        data: Some(ActionData::NumericValue(1.5)),
    }));
    harness.run_steps(3);
    harness.get_by_label("1.5 s / 2.0 s");
    assert_eq!(pids(&harness), [2]);
    assert_eq!(harness.state().state.events.len(), 1);
}
