//! The lesson panel and the Chaos panel, driven by label through the real Observer (headless,
//! with egui_kittest) on a real node: the lesson's steps (n of N, next and previous), its
//! action button, and the check mark once the step's expectations hold, whether the button
//! or anyone else made them hold, and not before something happened when the step has an
//! action; the Chaos panel's start and stop, and its kills listed by tree path with what
//! followed; and a window with both panels coming to rest (no frame asked for).
//!
//! Each test starts its own tokio runtime and node; the lesson and the chaos run on it, so
//! the harness is stepped in loops that wait for a condition with a deadline.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use otpscope::gui::{Extension, ObserverApp, Preferences};
use otpscope::lesson::Lesson;
use otpscope::lesson::live::LiveLesson;
use otpscope::panels::chaos::ChaosPanel;
use otpscope::panels::lesson::{LessonPanel, MET_LABEL};
use otpscope::runtime::{ExitReason, Node};
use otpscope::sources::local::LocalSource;
use tokio::runtime::Runtime;

/// How long a test waits for something to show.
const DEADLINE: Duration = Duration::from_secs(30);

/// The chapter's lesson, as shipped.
const LESSON: &str = "assets/lessons/dynamic-supervisors.toml";

/// An Observer with the lesson and Chaos panels on a lesson's node.
struct Window {
    harness: Harness<'static, ObserverApp>,
    node: Node,
    /// Runs the node; dropped last.
    _runtime: Runtime,
}

fn open(chaos: impl FnOnce(&mut ChaosPanel)) -> Window {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lesson = Lesson::load(LESSON).unwrap();
    let node = runtime.block_on(async { Node::new("lesson") });
    let live = LiveLesson::start(lesson, &node);
    let control = live.control();
    let source = LocalSource::new(control.clone(), "lesson", Duration::from_millis(20)).unwrap();
    let mut chaos_panel = ChaosPanel::new(control);
    chaos(&mut chaos_panel);
    let extensions: Vec<Box<dyn Extension>> =
        vec![Box::new(LessonPanel::new(live)), Box::new(chaos_panel)];
    let app = extensions.into_iter().fold(
        ObserverApp::new(Box::new(source), Preferences::default()),
        ObserverApp::with_extension,
    );
    let harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);
    Window {
        harness,
        node,
        _runtime: runtime,
    }
}

impl Window {
    /// Steps frames until `condition` holds; panics after the deadline naming `what` and
    /// listing the labels on screen.
    fn wait_for(&mut self, what: &str, condition: impl Fn(&Window) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.harness.run_steps(1);
            if condition(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; labels shown: {:?}",
                self.labels()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn labels(&self) -> Vec<String> {
        self.harness
            .query_all(By::new())
            .filter_map(|node| {
                let node = node.accesskit_node();
                node.label().or_else(|| node.value())
            })
            .collect()
    }

    fn shows(&self, label: &str) -> bool {
        self.harness.query_all_by_label(label).next().is_some()
    }

    fn shows_containing(&self, part: &str) -> bool {
        self.labels().iter().any(|label| label.contains(part))
    }

    /// Whether the button labelled `label` is shown and enabled.
    fn is_enabled(&self, label: &str) -> bool {
        self.harness
            .query_by_role_and_label(Role::Button, label)
            .is_some_and(|button| !button.accesskit_node().is_disabled())
    }

    /// Waits until the button labelled `label` is enabled, clicks it, and lets frames run.
    fn click_button(&mut self, label: &str) {
        self.wait_for(&format!("the button {label:?} enabled"), |w| {
            w.is_enabled(label)
        });
        self.harness
            .get_by_role_and_label(Role::Button, label)
            .click();
        self.harness.run_steps(2);
    }
}

#[test]
fn the_lesson_panel_steps_runs_the_action_and_checks_the_expectation() {
    let mut window = open(|_| {});
    window.wait_for("the first step", |w| w.shows("Step 1 of 7"));
    assert!(window.shows("Linked buckets: a bucket crash takes the registry down"));
    assert!(
        window.shows("restarted KV.Registry 1"),
        "its expectations are listed"
    );
    // The step's setup ran: its two buckets are named; nothing is met before the action.
    window.wait_for("the action's button", |w| {
        w.is_enabled("▶ Kill the shopping bucket")
    });
    assert!(!window.shows(MET_LABEL), "no check mark before the action");

    window.click_button("▶ Kill the shopping bucket");
    window.wait_for("the check mark", |w| w.shows(MET_LABEL));
    assert!(window.shows("The action ran."));

    window.click_button("Next ▶");
    window.wait_for("the second step", |w| {
        w.shows("Step 2 of 7")
            && w.shows("Linked buckets: the failing test \"removes bucket on crash\"")
    });
    window.wait_for("the second step's action", |w| {
        w.is_enabled("▶ Stop the bucket with shutdown")
    });
    assert!(!window.shows(MET_LABEL), "a new step starts unmet");

    // Back to the first step: its stage is started afresh, and its setup runs again.
    window.click_button("◀ Previous");
    window.wait_for("the first step again, ready", |w| {
        w.shows("Step 1 of 7") && w.is_enabled("▶ Kill the shopping bucket")
    });
    assert!(!window.shows(MET_LABEL));
    window.click_button("▶ Kill the shopping bucket");
    window.wait_for("the check mark again", |w| w.shows(MET_LABEL));
}

#[test]
fn the_check_mark_appears_when_anyone_makes_the_expectation_hold() {
    let mut window = open(|_| {});
    window.wait_for("the first step ready", |w| {
        w.shows("Step 1 of 7") && w.is_enabled("▶ Kill the shopping bucket")
    });
    // Not the button: a kill from elsewhere (the tree's menu, another client). The registry
    // dies with the linked bucket; the lesson sees it in the event feed.
    let bucket = window
        .node
        .processes()
        .into_iter()
        .find(|info| &*info.label == "KV.Bucket")
        .expect("a bucket")
        .pid;
    window.node.exit(bucket, ExitReason::Kill).unwrap();
    window.wait_for("the check mark", |w| w.shows(MET_LABEL));
}

#[test]
fn the_chaos_panel_lists_each_kill_with_what_followed() {
    let mut window = open(|chaos| {
        chaos.seed = 7;
        chaos.rate_per_second = 10.0;
        chaos.duration_s = 1.0;
        chaos.target = "KV.Supervisor/*".to_owned();
    });
    window.wait_for("the lesson's tree", |w| w.shows("Step 1 of 7"));
    window.harness.get_by_label("☰ Chaos").click();
    window.harness.run_steps(2);
    window.click_button("▶ Start chaos");
    window.wait_for("a kill listed by its tree path", |w| {
        w.shows("KV.Supervisor/KV.Registry")
    });
    window.wait_for("what followed, and the summary", |w| {
        w.shows_containing("restarted") && w.shows_containing("kills (kill")
    });
    assert!(window.is_enabled("▶ Start chaos"), "the run is over");
}

impl Window {
    /// How long the last frame asked egui to wait before the next (`Duration::MAX`: no frame
    /// until input or a wake-up).
    fn next_frame_in(&self) -> Duration {
        self.harness.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay
    }

    /// Steps frames as the window's event loop would (a frame when one is asked for) until
    /// one asks for no other, then checks that nothing wakes the window for a while.
    fn assert_comes_to_rest(&mut self, what: &str) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.harness.step();
            if self.next_frame_in() == Duration::MAX && !self.harness.ctx.has_requested_repaint() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never at rest; frames asked by {:?}",
                self.harness.ctx.repaint_causes()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(600));
        assert!(
            !self.harness.ctx.has_requested_repaint(),
            "{what}: woken at rest by {:?}",
            self.harness.ctx.repaint_causes()
        );
    }
}

#[test]
fn the_panels_leave_an_untouched_window_at_rest() {
    let mut window = open(|chaos| {
        chaos.seed = 2;
        chaos.rate_per_second = 10.0;
        chaos.duration_s = 0.5;
        chaos.target = "KV.Bucket".to_owned();
    });
    window.wait_for("the first step ready", |w| {
        w.shows("Step 1 of 7") && w.is_enabled("▶ Kill the shopping bucket")
    });
    window.assert_comes_to_rest("the lesson panel");
    window.harness.get_by_label("☰ Chaos").click();
    window.harness.run_steps(2);
    window.click_button("▶ Start chaos");
    window.wait_for("the run's summary", |w| w.shows_containing("kills (kill"));
    window.assert_comes_to_rest("the Chaos panel after a run");
}

#[test]
fn a_step_whose_setup_already_holds_is_met_only_after_its_action() {
    let mut window = open(|_| {});
    for (step, action) in [
        (1, "▶ Kill the shopping bucket"),
        (2, "▶ Stop the bucket with shutdown"),
        (3, "▶ Kill the shopping bucket"),
    ] {
        window.wait_for(&format!("step {step} ready"), |w| {
            w.shows(&format!("Step {step} of 7")) && w.is_enabled(action)
        });
        window.click_button("Next ▶");
    }
    let action = "▶ Terminate KV.BucketSupervisor, then create a bucket";
    window.wait_for("step 4 ready", |w| {
        w.shows("Step 4 of 7") && w.is_enabled(action)
    });
    // Its setup left no bucket, so its expectations hold already (the step is ready once
    // they are checked): no check mark yet.
    window.harness.run_steps(10);
    assert!(!window.shows(MET_LABEL), "met before the action");
    window.click_button(action);
    window.wait_for("the check mark", |w| w.shows(MET_LABEL));
}

#[test]
fn stop_ends_a_chaos_run_and_its_kills_stay_listed() {
    let mut window = open(|chaos| {
        chaos.seed = 5;
        chaos.rate_per_second = 5.0;
        chaos.duration_s = 60.0;
        chaos.target = "KV.Bucket".to_owned();
    });
    window.wait_for("the lesson's tree", |w| w.shows("Step 1 of 7"));
    window.harness.get_by_label("☰ Chaos").click();
    window.harness.run_steps(2);
    window.click_button("▶ Start chaos");
    window.wait_for("a kill of a bucket", |w| {
        w.shows_containing("KV.Supervisor/KV.Registry/KV.Bucket")
    });
    window.click_button("■ Stop chaos");
    window.wait_for("the run stopped", |w| {
        w.shows_containing("stopped after") && w.is_enabled("▶ Start chaos")
    });
    assert!(window.shows_containing("KV.Supervisor/KV.Registry/KV.Bucket"));
}
