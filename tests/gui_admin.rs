//! The Observer's supervisor calls and "Restart the app", headless with egui_kittest, on
//! tree files: Stop supervisor stops the children right to left, each as its shutdown says;
//! Terminate child keeps the spec, Restart child starts it again and Delete child removes it;
//! Terminate (by its supervisor) on a child; a call on a supervisor that died behind a paused
//! view is an error notice, not a crash; and a crash loop that took the whole tree down comes
//! back with Restart the app.
//!
//! Each test starts its own tokio runtime and node and keeps them alive for the whole test.
//! The effect is read from the node itself (its event feed, which pids exited with which
//! reason, in which order), not from the screen.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use otpscope::demo::playground::TreeSpec;
use otpscope::demo::{App, AppHandle};
use otpscope::gui::{ObserverApp, Preferences, Tab};
use otpscope::runtime::{EventKind, ExitReason, Node, Pid, Supervisor};
use otpscope::sources::local::LocalSource;
use tokio::runtime::Runtime;

/// How long a test waits for something to happen.
const DEADLINE: Duration = Duration::from_secs(20);

/// A node running a tree file, observed by an Observer in a headless harness.
struct Observed {
    harness: Harness<'static, ObserverApp>,
    node: Node,
    app: AppHandle,
    /// Runs the node; dropped last.
    runtime: Runtime,
}

fn observe(file: &str) -> Observed {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/trees")
        .join(file);
    let spec = TreeSpec::load(&path).unwrap();
    let (node, app) = runtime.block_on(async {
        let node = Node::new("test");
        let app = App::Tree {
            title: file.to_owned(),
            spec: Arc::new(spec),
        }
        .start(&node)
        .await
        .unwrap();
        (node, app)
    });
    let source = LocalSource::new(app.control(), file, Duration::from_millis(20)).unwrap();
    let prefs = Preferences {
        tab: Tab::Applications,
        ..Preferences::default()
    };
    let observer = ObserverApp::new(Box::new(source), prefs);
    let harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), observer);
    Observed {
        harness,
        node,
        app,
        runtime,
    }
}

impl Observed {
    /// Steps frames until `condition` holds; panics after the deadline naming `what`.
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

    /// The pid registered as `name` on the node now.
    fn pid(&self, name: &str) -> Pid {
        self.node
            .whereis(name)
            .unwrap_or_else(|| panic!("{name} is not registered"))
    }

    /// Right-clicks the outline row `row` (the leftmost widget with that label), then clicks
    /// each of `items` in turn (a submenu, then its entry).
    fn menu(&mut self, row: &str, items: &[&str]) {
        self.wait_for(row, |o| o.shows(row));
        self.harness
            .query_all_by_label(row)
            .min_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
            .unwrap()
            .click_secondary();
        self.harness.run_steps(3);
        for item in items {
            // A submenu's button reads with egui's arrow after it.
            let submenu = format!("{item} ⏵");
            self.wait_for(item, |o| o.shows(item) || o.shows(&submenu));
            let label = if self.shows(item) {
                item
            } else {
                submenu.as_str()
            };
            self.harness.get_by_label(label).click();
            self.harness.run_steps(3);
        }
    }

    /// Every exit on the node so far, in order: (pid, reason).
    fn exits(&self) -> Vec<(Pid, ExitReason)> {
        let read = self.node.introspect().events_since(0, usize::MAX);
        read.events
            .into_iter()
            .filter_map(|event| match event.kind {
                EventKind::Exited { pid, reason, .. } => Some((pid, reason)),
                _ => None,
            })
            .collect()
    }

    /// The child ids `supervisor` keeps, and which run.
    fn children(&self, supervisor: Pid) -> Vec<(String, bool)> {
        let supervisor = Supervisor::from_pid(&self.node, supervisor).unwrap();
        self.runtime
            .block_on(supervisor.which_children())
            .unwrap()
            .into_iter()
            .map(|child| (child.id.to_string(), child.pid.pid().is_some()))
            .collect()
    }
}

#[test]
fn stop_supervisor_stops_its_children_right_to_left_each_as_its_shutdown_says() {
    let mut observed = observe("shutdown.toml");
    let names = [
        "Shutdown.Supervisor",
        "Shutdown.Quick",
        "Shutdown.Brutal",
        "Shutdown.Slow",
        "Shutdown.TooSlow",
        "Shutdown.Stubborn",
    ];
    let pids: Vec<Pid> = names.iter().map(|name| observed.pid(name)).collect();
    let root = format!("Shutdown.Supervisor {}", pids[0]);

    observed.menu(&root, &["Stop supervisor", "with shutdown"]);
    observed.wait_for("the tree to stop", |o| o.node.process_count() == 0);

    let expected = vec![
        (pids[5], ExitReason::Killed),
        (pids[4], ExitReason::Killed),
        (pids[3], ExitReason::Shutdown),
        (pids[2], ExitReason::Killed),
        (pids[1], ExitReason::Shutdown),
        (pids[0], ExitReason::Shutdown),
    ];
    assert_eq!(observed.exits(), expected);
    observed.wait_for("the banner", |o| {
        o.shows("Nothing runs on the node: the app has stopped.")
    });
}

#[test]
fn terminate_restart_and_delete_child_from_the_supervisor_menu() {
    let mut observed = observe("shutdown.toml");
    let supervisor = observed.pid("Shutdown.Supervisor");
    let slow = observed.pid("Shutdown.Slow");
    let root = format!("Shutdown.Supervisor {supervisor}");

    // Terminate child: slow gets shutdown, takes its 500 ms, and is not restarted.
    observed.menu(&root, &["Terminate child", &format!("slow {slow}")]);
    observed.wait_for("slow to stop", |o| !o.node.is_alive(slow));
    assert_eq!(observed.exits(), vec![(slow, ExitReason::Shutdown)]);
    assert!(
        observed
            .children(supervisor)
            .contains(&("slow".to_owned(), false))
    );

    // Restart child lists the kept spec (asked of the supervisor) and starts it again.
    observed.menu(&root, &["Restart child", "slow (permanent)"]);
    observed.wait_for("a new slow", |o| {
        o.node
            .whereis("Shutdown.Slow")
            .is_some_and(|pid| pid != slow)
    });
    assert!(
        observed
            .children(supervisor)
            .contains(&("slow".to_owned(), true))
    );

    // Terminate it again, then Delete child removes the spec.
    let new_slow = observed.pid("Shutdown.Slow");
    observed.menu(&root, &["Terminate child", &format!("slow {new_slow}")]);
    observed.wait_for("the new slow to stop", |o| !o.node.is_alive(new_slow));
    observed.menu(&root, &["Delete child", "slow (permanent)"]);
    observed.wait_for("the spec to go", |o| {
        !o.children(supervisor).iter().any(|(id, _)| id == "slow")
    });
    assert_eq!(observed.children(supervisor).len(), 4);
    assert!(observed.node.is_alive(supervisor));
}

#[test]
fn terminate_by_its_supervisor_on_a_child_row() {
    let mut observed = observe("shutdown.toml");
    let supervisor = observed.pid("Shutdown.Supervisor");
    let stubborn = observed.pid("Shutdown.Stubborn");
    observed.menu(
        &format!("Shutdown.Stubborn {stubborn}"),
        &["Terminate (by its supervisor)"],
    );
    // It ignores shutdown: its supervisor kills it when its 1,000 ms run out.
    observed.wait_for("stubborn to stop", |o| !o.node.is_alive(stubborn));
    assert_eq!(observed.exits(), vec![(stubborn, ExitReason::Killed)]);
    assert!(
        observed
            .children(supervisor)
            .contains(&("stubborn".to_owned(), false)),
        "terminated, not restarted: the spec stays with no process"
    );
}

#[test]
fn a_call_on_a_supervisor_that_died_behind_a_paused_view_is_an_error_notice() {
    let mut observed = observe("shutdown.toml");
    let supervisor = observed.pid("Shutdown.Supervisor");
    let quick = observed.pid("Shutdown.Quick");
    let root = format!("Shutdown.Supervisor {supervisor}");
    observed.wait_for("the tree", |o| o.shows(&root));
    observed.harness.get_by_label("⏸ Pause").click();
    observed.wait_for("the pause", |o| o.shows("PAUSED"));

    // Killed behind the view's back: the paused view still shows it alive.
    observed
        .node
        .exit(supervisor, otpscope::runtime::ExitReason::Kill)
        .unwrap();
    observed.wait_for("the kill", |o| !o.node.is_alive(supervisor));
    observed.menu(&root, &["Terminate child", &format!("quick {quick}")]);
    let notice = format!(
        "terminate_child(Shutdown.Supervisor {supervisor}, quick) failed: process {supervisor} \
         is dead (exited: killed)"
    );
    observed.wait_for("the error notice", |o| o.shows(&notice));
}

#[test]
fn restart_the_app_brings_back_a_crash_loop_that_took_the_tree_down() {
    let mut observed = observe("crash_loop.toml");
    let top = observed.pid("CrashLoop.Top");
    // The crash loop escalates to the top in about 3.2 s; then nothing runs.
    observed.wait_for("the banner", |o| {
        o.shows("Nothing runs on the node: the app has stopped.")
    });
    assert!(!observed.app.is_alive());
    observed
        .harness
        .query_all_by_label("Restart the app")
        .next()
        .unwrap()
        .click();
    observed.wait_for("the tree back", |o| {
        o.node
            .whereis("CrashLoop.Top")
            .is_some_and(|pid| pid != top && o.shows(&format!("CrashLoop.Top {pid}")))
    });
    assert!(observed.node.whereis("CrashLoop.Steady").is_some());
    assert_eq!(observed.app.root(), observed.pid("CrashLoop.Top"));
    assert!(observed.shows(&format!("restart the app: started {}", observed.app.root())));
}

#[test]
fn stop_supervisor_with_a_reason_typed_in_its_dialog_and_enter() {
    let mut observed = observe("name_race.toml");
    let named = observed.pid("Race.Named");
    let holder = observed.pid("Race.Holder");
    let slow = observed.node.process_info(holder).unwrap().children[0];
    observed.menu(
        &format!("Race.Named {named}"),
        &["Stop supervisor", "with a reason…"],
    );
    let title = format!("Stop supervisor {named}");
    observed.wait_for("the dialog", |o| o.shows(&title));
    observed.harness.run_steps(3);
    observed
        .harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    observed
        .harness
        .get_by(|node| {
            node.role() == egui::accesskit::Role::TextInput
                && node.value().as_deref() == Some("shutdown")
        })
        .type_text("maintenance");
    observed.harness.run_steps(2);
    observed.harness.key_press(egui::Key::Enter);
    observed.wait_for("Race.Named to stop", |o| !o.node.is_alive(named));
    // Its child stops first, then it exits with the reason; Race.Top then restarts it, as
    // the reason is not normal or shutdown.
    assert_eq!(
        observed.exits()[..3],
        [
            (slow, ExitReason::Shutdown),
            (holder, ExitReason::Shutdown),
            (named, ExitReason::custom("maintenance")),
        ]
    );
    observed.wait_for("Race.Named restarted", |o| {
        o.node.whereis("Race.Named").is_some_and(|pid| pid != named)
    });
}
