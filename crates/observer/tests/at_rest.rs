//! The Observer at rest asks for no frame: on every tab, once the first frames are drawn and
//! with no update and no input, a frame asks egui for no other frame (or, where something on
//! screen ticks once a second, for one a second later). It repaints when the source wakes it,
//! and while a death fades on the Applications tab.
//!
//! Headless with egui_kittest, on a source that holds a KV-like tree and sends nothing unless
//! the test pushes it something. What this costs in a real window, in CPU time, is measured
//! by `scripts/observer-at-rest` (BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use otpscope_contract::{
    Capabilities, Command, CommandError, Delta, Event, EventKind, ExitReason, Pid, ProcessInfo,
    ProcessKind, Removed, Reply, Restart, Snapshot, Strategy, Update,
};
use otpscope_observer::state::MARK_DURATION;
use otpscope_observer::{ObserverApp, Preferences, RequestId, Source, Tab};

/// What the test shares with its source: updates to hand over, and the waker to call.
#[derive(Default)]
struct Feed {
    updates: VecDeque<Update>,
    waker: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Feed {
    /// Queues `update` and wakes the UI, as a source does when something arrives.
    fn push(&mut self, update: Update) {
        self.updates.push_back(update);
        if let Some(wake) = &self.waker {
            wake();
        }
    }
}

/// A source that sends what the test pushes, and nothing else.
struct Quiet {
    feed: Arc<Mutex<Feed>>,
    capabilities: Capabilities,
}

impl Source for Quiet {
    fn title(&self) -> String {
        "a quiet node".to_owned()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn try_recv(&mut self) -> Option<Update> {
        self.feed.lock().unwrap().updates.pop_front()
    }

    fn send(&mut self, _command: Command) -> RequestId {
        0
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        None
    }

    fn set_interval(&mut self, _interval: Duration) {}

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        self.feed.lock().unwrap().waker = Some(waker);
    }
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn process(
    pid: u64,
    parent: Option<u64>,
    children: &[u64],
    name: &str,
    kind: ProcessKind,
) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        name: Some(name.into()),
        parent: parent.map(Pid),
        children: children.iter().copied().map(Pid).collect(),
        child_id: Some(name.into()),
        restart: Some(Restart::Permanent),
        ..ProcessInfo::new(Pid(pid), kind, name)
    })
}

/// KV.Supervisor <0.1.0> over KV.BucketSupervisor <0.2.0> and KV.Registry <0.3.0>, started
/// a minute ago.
fn kv_tree() -> Snapshot {
    let now = now_unix_ms();
    let supervisor = ProcessKind::Supervisor {
        strategy: Strategy::OneForAll,
        max_restarts: 3,
        max_seconds: 5,
    };
    let buckets = ProcessKind::DynamicSupervisor {
        max_restarts: 3,
        max_seconds: 5,
        max_children: None,
    };
    Snapshot::new(
        "test",
        now - 60_000,
        now,
        1,
        [
            process(1, None, &[2, 3], "KV.Supervisor", supervisor),
            process(2, Some(1), &[], "KV.BucketSupervisor", buckets),
            process(3, Some(1), &[], "KV.Registry", ProcessKind::Server),
        ],
    )
}

struct Observed {
    harness: Harness<'static, ObserverApp>,
    feed: Arc<Mutex<Feed>>,
}

/// An Observer on the quiet KV tree, showing `tab`, with its first frames drawn.
fn observe(tab: Tab) -> Observed {
    let feed = Arc::new(Mutex::new(Feed::default()));
    feed.lock().unwrap().push(Update::Full(kv_tree()));
    let source = Quiet {
        feed: feed.clone(),
        capabilities: Capabilities::default(),
    };
    let prefs = Preferences {
        tab,
        ..Preferences::default()
    };
    let app = ObserverApp::new(Box::new(source), prefs);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .with_max_steps(20)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);
    let ctx = harness.ctx.clone();
    harness.state_mut().install_waker(&ctx);
    // The first frames settle (fonts, layout, the first snapshot); `run` fails if they never
    // stop asking for an immediate frame.
    harness.run();
    Observed { harness, feed }
}

impl Observed {
    /// How long the last frame asked egui to wait before the next (`Duration::MAX`: no
    /// frame at all until input or a wake-up).
    fn next_frame_in(&self) -> Duration {
        self.harness.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay
    }
}

/// How long the tabs that tick are watched at rest.
const WATCH: Duration = Duration::from_millis(3_500);

#[test]
fn no_tab_asks_for_a_frame_at_rest_beyond_its_one_a_second_tick() {
    for tab in Tab::ALL {
        let mut observed = observe(tab);
        observed.harness.step();
        if matches!(tab, Tab::Applications | Tab::Events) {
            // Nothing on these tabs changes with time: no frame until input or an update.
            assert_eq!(
                observed.next_frame_in(),
                Duration::MAX,
                "{tab:?} asks for a frame at rest; caused by {:?}",
                observed.harness.ctx.repaint_causes()
            );
            continue;
        }
        // Uptimes tick (Processes), the charts roll (System): run the frames the tab asks
        // for, when it asks for them, as the window's event loop would, and count them.
        let start = Instant::now();
        let mut frames = 0;
        loop {
            let next = observed.next_frame_in();
            assert!(next < Duration::MAX, "{tab:?} stops ticking");
            let due = Instant::now() + next;
            if due >= start + WATCH {
                break;
            }
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            observed.harness.step();
            frames += 1;
        }
        assert!(
            (2..=4).contains(&frames),
            "{tab:?} drew {frames} frames in {WATCH:?} at rest: one a second expected"
        );
    }
}

#[test]
fn an_update_wakes_the_ui_through_the_source() {
    let mut observed = observe(Tab::Events);
    observed.harness.step();
    assert!(!observed.harness.ctx.has_requested_repaint(), "at rest");
    let exited = Event {
        seq: 1,
        at_ms: 60_000,
        kind: EventKind::Exited {
            pid: Pid(3),
            reason: ExitReason::Killed,
        },
    };
    observed.feed.lock().unwrap().push(Update::Events {
        events: vec![exited],
        missed: 0,
    });
    assert!(
        observed.harness.ctx.has_requested_repaint(),
        "the source's waker asks for a frame"
    );
    observed.harness.step();
    assert!(
        observed
            .harness
            .query_by_label_contains("KV.Registry <0.3.0> exited: killed")
            .is_some(),
        "the frame shows the event"
    );
}

#[test]
fn a_death_fades_on_the_applications_tab_then_the_tab_rests() {
    let mut observed = observe(Tab::Applications);
    let registry = kv_tree().process(Pid(3)).unwrap().clone();
    let mut supervisor = kv_tree().process(Pid(1)).unwrap().clone();
    supervisor.children.retain(|pid| *pid != Pid(3));
    {
        let mut feed = observed.feed.lock().unwrap();
        feed.push(Update::Delta(Delta {
            seq: 2,
            from_seq: 1,
            taken_at_unix_ms: now_unix_ms(),
            changed: vec![Arc::new(supervisor)],
            removed: vec![Removed {
                pid: registry.pid,
                reason: ExitReason::Killed,
            }],
            ..Delta::default()
        }));
        feed.push(Update::Events {
            events: vec![Event {
                seq: 1,
                at_ms: 60_000,
                kind: EventKind::Exited {
                    pid: registry.pid,
                    reason: ExitReason::Killed,
                },
            }],
            missed: 0,
        });
    }
    observed.harness.step();
    assert!(
        observed
            .harness
            .query_by_label_contains("KV.Registry <0.3.0> — exited: killed")
            .is_some(),
        "the dead registry shows where it was"
    );
    assert_eq!(
        observed.next_frame_in(),
        Duration::ZERO,
        "its mark fades: an animation"
    );
    // Frames come until the mark is gone; then the tab rests again.
    let deadline = Instant::now() + MARK_DURATION + Duration::from_secs(5);
    while observed.next_frame_in() != Duration::MAX {
        assert!(
            Instant::now() < deadline,
            "still asking for frames: {:?}",
            observed.harness.ctx.repaint_causes()
        );
        std::thread::sleep(Duration::from_millis(20));
        observed.harness.step();
    }
    assert!(
        observed
            .harness
            .query_by_label_contains("exited: killed")
            .is_none(),
        "the ghost is gone"
    );
}
