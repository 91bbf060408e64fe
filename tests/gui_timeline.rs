//! The Observer on a recording: the timeline's buttons, driven by label through the real app
//! (headless, egui_kittest), each checked by what the Observer then holds: the time shown, the
//! node as it was at that moment, the events up to then, the load charts up to then.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;

use std::sync::Arc;
use std::time::Duration;

use egui::accesskit::{Action, ActionData, ActionRequest, Role};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use otpscope::contract::recording::{Frame, Header, Recording};
use otpscope::contract::{
    Capabilities, Delta, Event, EventKind, ExitReason, LoadCounts, Pid, ProcessInfo, ProcessKind,
    Removed, Snapshot, Update,
};
use otpscope::gui::state::LoadSample;
use otpscope::gui::{ObserverApp, Preferences};
use otpscope::sources::recording::RecordingSource;

/// How long a test waits for a playing replay to get somewhere.
const DEADLINE: Duration = Duration::from_secs(20);

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

/// The header of a recording titled `title`, started at 0, a keyframe every 5 s.
fn header(title: &str) -> Header {
    Header {
        title: title.into(),
        started_at_unix_ms: 0,
        capabilities: Capabilities::default(),
        keyframe_every_ms: 5_000,
    }
}

/// Two workers at 0 s; the first killed at 1 s; a third started at 2 s (a restart).
fn recording() -> Recording {
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
    Recording::new(header("two workers"), frames)
}

fn harness() -> Harness<'static, ObserverApp> {
    harness_on(recording())
}

fn harness_on(recording: Recording) -> Harness<'static, ObserverApp> {
    let app = ObserverApp::new(
        Box::new(RecordingSource::new(recording)),
        Preferences::default(),
    );
    let mut harness = gui_support::observer_harness(app);
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
    gui_support::wait_for(&mut harness, "the playhead at the end", DEADLINE, |h| {
        h.query_by_label("2.0 s / 2.0 s").is_some()
    });
    harness.run_steps(2);
    harness.get_by_label("▶ Play");
    assert_eq!(pids(&harness), [2, 3]);
    assert_eq!(harness.state().state.events.len(), 2);
}

/// Moves the `Time` slider to `seconds`, as a screen reader would.
fn seek(harness: &mut Harness<'static, ObserverApp>, seconds: f64) {
    let (target_node, target_tree) = harness
        .get_by_role_and_label(Role::Slider, "Time")
        .accesskit_node()
        .locate();
    harness.event(egui::Event::AccessKitActionRequest(ActionRequest {
        target_node,
        target_tree,
        action: Action::SetValue,
        data: Some(ActionData::NumericValue(seconds)),
    }));
    harness.run_steps(3);
}

#[test]
fn the_time_slider_jumps_to_a_moment() {
    let mut harness = harness();
    seek(&mut harness, 1.5);
    harness.get_by_label("1.5 s / 2.0 s");
    assert_eq!(pids(&harness), [2]);
    assert_eq!(harness.state().state.events.len(), 1);
}

fn with(pid: u64, kind: ProcessKind, handled: u64, mailbox: u64) -> Arc<ProcessInfo> {
    let mut info = ProcessInfo::new(Pid(pid), kind, "p");
    info.messages_handled = handled;
    info.mailbox_len = mailbox;
    Arc::new(info)
}

/// Nine seconds of a small node: a dynamic supervisor (1), two agents (2, 3), a plain
/// process (4). Each second k agent 2 has handled 5k messages and has k % 3 waiting; at 3 s
/// agent 3 is killed and restarted as 5; a keyframe at 5 s; at 6 s plain process 6 starts.
fn busy_recording() -> Recording {
    let supervisor = ProcessKind::DynamicSupervisor {
        max_restarts: 3,
        max_seconds: 5,
        max_children: None,
    };
    let mut model = Snapshot::new(
        "n",
        0,
        0,
        1,
        [
            with(1, supervisor, 0, 0),
            with(2, ProcessKind::Agent, 0, 0),
            with(3, ProcessKind::Agent, 0, 0),
            with(4, ProcessKind::Plain, 0, 0),
        ],
    );
    let mut frames = vec![Frame::Keyframe {
        at_ms: 0,
        snapshot: model.clone(),
    }];
    for k in 1..=9u64 {
        let at_ms = k * 1_000;
        let mut delta = Delta {
            seq: model.seq + 1,
            from_seq: model.seq,
            taken_at_unix_ms: at_ms,
            added: Vec::new(),
            changed: vec![with(2, ProcessKind::Agent, 5 * k, k % 3)],
            removed: Vec::new(),
        };
        if k == 3 {
            delta.added.push(with(5, ProcessKind::Agent, 0, 0));
            delta.removed.push(Removed {
                pid: Pid(3),
                reason: ExitReason::Killed,
            });
        }
        if k == 6 {
            delta.added.push(with(6, ProcessKind::Plain, 0, 0));
        }
        model.apply(&delta).unwrap();
        frames.push(Frame::Update {
            at_ms,
            update: Update::Delta(delta),
        });
        if k == 3 {
            frames.push(events(
                at_ms,
                vec![
                    EventKind::Exited {
                        pid: Pid(3),
                        reason: ExitReason::Killed,
                    },
                    EventKind::Restarted {
                        supervisor: Pid(1),
                        child_id: "agent".into(),
                        old: Pid(3),
                        new: Pid(5),
                    },
                ],
            ));
        }
        if k == 5 {
            frames.push(Frame::Keyframe {
                at_ms,
                snapshot: model.clone(),
            });
        }
    }
    Recording::new(header("busy"), frames)
}

/// The load samples' times and what they count: (t_s, supervisors, workers, plain,
/// mailboxes, messages/s, restarts/s).
fn load(harness: &Harness<'static, ObserverApp>) -> Vec<(f64, usize, usize, usize, u64, f64, f64)> {
    harness
        .state()
        .state
        .load
        .iter()
        .map(|s: &LoadSample| {
            (
                s.t_s,
                s.supervisors,
                s.workers,
                s.plain,
                s.mailbox_total,
                s.messages_per_s,
                s.restarts_per_s,
            )
        })
        .collect()
}

/// The node the Observer holds, counted as the charts count it: (supervisors, workers,
/// plain, mailboxes).
fn held_counts(harness: &Harness<'static, ObserverApp>) -> (usize, usize, usize, u64) {
    let snapshot = harness.state().state.snapshot.clone().unwrap();
    let counts = LoadCounts::of_snapshot(&snapshot);
    (
        counts.supervisors,
        counts.workers,
        counts.plain,
        counts.mailbox_total,
    )
}

#[test]
fn after_a_seek_the_system_charts_show_the_load_up_to_the_playhead() {
    let mut harness = harness_on(busy_recording());
    harness.get_by_label("System").click();
    harness.run_steps(2);
    seek(&mut harness, 7.5);
    harness.get_by_label("7.5 s / 9.0 s");
    harness.get_by_label("Processes by kind");

    // A sample a second back from the playhead to the start, as playing from 0 would have
    // sampled them: the restart at 3 s in the sample after it, 5 messages a second from 1 s.
    let samples = load(&harness);
    assert_eq!(
        samples,
        [
            (0.5, 1, 2, 1, 0, 0.0, 0.0),
            (1.5, 1, 2, 1, 1, 5.0, 0.0),
            (2.5, 1, 2, 1, 2, 5.0, 0.0),
            (3.5, 1, 2, 1, 0, 5.0, 1.0),
            (4.5, 1, 2, 1, 1, 5.0, 0.0),
            (5.5, 1, 2, 1, 2, 5.0, 0.0),
            (6.5, 1, 2, 2, 0, 5.0, 0.0),
            (7.5, 1, 2, 2, 1, 5.0, 0.0),
        ]
    );
    // The last one is the node the Observer holds at the playhead.
    let last = samples.last().unwrap();
    assert_eq!((last.1, last.2, last.3, last.4), held_counts(&harness));
    assert_eq!(held_counts(&harness), (1, 2, 2, 1));

    // Playing continues the series from the playhead, a second of the recording on.
    harness.get_by_label("▶ Play").click();
    gui_support::wait_for(&mut harness, "a sample while playing", DEADLINE, |h| {
        h.state().state.load.len() >= 9
    });
    harness.get_by_label("⏸ Pause replay").click();
    harness.run_steps(2);
    let played = load(&harness);
    let (previous, next) = (played[7].0, played[8].0);
    assert_eq!(previous, 7.5);
    assert!(
        (1.0..1.5).contains(&(next - previous)),
        "the next sample a period on: {played:?}"
    );

    // Back in time: the series ends at the new playhead, shorter.
    seek(&mut harness, 2.0);
    harness.get_by_label("2.0 s / 9.0 s");
    assert_eq!(
        load(&harness),
        [
            (0.0, 1, 2, 1, 0, 0.0, 0.0),
            (1.0, 1, 2, 1, 1, 5.0, 0.0),
            (2.0, 1, 2, 1, 2, 5.0, 0.0),
        ]
    );
    assert_eq!(held_counts(&harness), (1, 2, 1, 2));
}
