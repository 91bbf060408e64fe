//! The Observer's tabs against a real node running the KV app, headless with egui_kittest:
//! the Processes table sorts and filters, the KV console creates buckets and reads values,
//! the Events tab shows a kill and selects its process, pause freezes the view, and the theme
//! toggle switches the theme.
//!
//! Each test starts its own tokio runtime and node and keeps them alive for the whole test;
//! the harness is stepped with `run_steps` (what the node does arrives on its own thread) in
//! loops that wait for a condition with a deadline.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::{ObserverApp, Preferences, Tab};
use otpscope::runtime::Node;
use otpscope::snapshot::model::Pid;
use otpscope::sources::local::LocalSource;
use tokio::runtime::Runtime;

use gui_support::{Record, Recorder};

/// How long a test waits for something to show.
const DEADLINE: Duration = Duration::from_secs(15);

/// A node running the KV app (final stage), observed by an Observer in a headless harness.
struct Observed {
    harness: Harness<'static, ObserverApp>,
    /// The node observed.
    node: Node,
    /// What the Observer sent to the node and took from it.
    record: Arc<Mutex<Record>>,
    /// Runs the node; dropped last.
    _runtime: Runtime,
}

fn observe(tab: Tab) -> Observed {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let node = runtime.block_on(async {
        let node = Node::new("test");
        kv::start(&node, Stage::Final).await.unwrap();
        node
    });
    let source = LocalSource::new(
        otpscope::demo::kv::control::for_node(&node),
        "test",
        Duration::from_millis(20),
    )
    .unwrap();
    let (source, record) = Recorder::new(source);
    let prefs = Preferences {
        tab,
        ..Preferences::default()
    };
    let app = ObserverApp::new(Box::new(source), prefs);
    let harness = Harness::builder()
        .with_size([1280.0, 800.0])
        // Frames 1/60 s apart, as on screen (two clicks make a double click).
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);
    Observed {
        harness,
        node,
        record,
        _runtime: runtime,
    }
}

impl Observed {
    /// Steps frames until `condition` holds; panics after the deadline naming `what`.
    fn wait_for(&mut self, what: &str, condition: impl Fn(&Harness<'static, ObserverApp>) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.harness.run_steps(1);
            if condition(&self.harness) {
                return;
            }
            if Instant::now() >= deadline {
                let labels: Vec<String> = self
                    .harness
                    .query_all(egui_kittest::kittest::By::new())
                    .filter_map(|node| {
                        let node = node.accesskit_node();
                        node.label().or_else(|| node.value())
                    })
                    .collect();
                panic!("timed out waiting for {what}; labels shown: {labels:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Steps frames until a widget labelled exactly `label` is shown.
    fn wait_for_label(&mut self, label: &'static str) {
        self.wait_for(label, |h| h.query_all_by_label(label).next().is_some());
    }

    /// Steps frames for `duration`, checking at each that `condition` still holds.
    fn hold_for(
        &mut self,
        duration: Duration,
        what: &str,
        condition: impl Fn(&Harness<'static, ObserverApp>) -> bool,
    ) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.harness.run_steps(1);
            assert!(condition(&self.harness), "{what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The top of the leftmost widget labelled exactly `label` (the table is on the left; the
    /// details panel, which may repeat it, is on the right).
    fn row_y(&self, label: &'static str) -> f32 {
        self.harness
            .query_all_by_label(label)
            .map(|node| node.rect())
            .min_by(|a, b| a.left().total_cmp(&b.left()))
            .unwrap_or_else(|| panic!("no widget labelled {label}"))
            .top()
    }

    /// Clicks the empty text field whose placeholder is `placeholder` and types `text`.
    fn type_into(&mut self, placeholder: &'static str, text: &str) {
        self.harness
            .get_by(move |node| node.placeholder() == Some(placeholder))
            .click();
        self.harness.run_steps(2);
        self.harness
            .get_by(move |node| node.placeholder() == Some(placeholder))
            .type_text(text);
        self.harness.run_steps(2);
    }

    /// Clicks the text field labelled `label` (a KV console field) and types `text`.
    fn type_into_field(&mut self, label: &'static str, text: &str) {
        self.harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, label)
            .click();
        self.harness.run_steps(2);
        self.harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, label)
            .type_text(text);
        self.harness.run_steps(2);
    }

    fn click(&mut self, label: &'static str) {
        self.harness.get_by_label(label).click();
        self.harness.run_steps(2);
    }

    /// How many rows of the Processes table show `KV.Bucket`.
    fn bucket_rows(&self) -> usize {
        self.harness.query_all_by_label("KV.Bucket").count()
    }

    /// The pid of the live process registered as `name`.
    fn pid_of(&self, name: &str) -> Pid {
        let snapshot = self.harness.state().state.snapshot.clone().unwrap();
        snapshot
            .processes()
            .find(|info| info.name.as_deref() == Some(name))
            .map(|info| info.pid)
            .unwrap()
    }

    /// Creates bucket `name` with the console and waits for its reply.
    fn create_bucket(&mut self, name: &str, reply: &'static str) {
        self.type_into_field("Bucket", name);
        self.harness.key_press(egui::Key::Enter);
        self.wait_for_label(reply);
    }
}

#[test]
fn processes_table_sorts_by_the_clicked_header_and_reverses_on_a_second_click() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    let order = |o: &Observed| {
        let mut rows = vec![
            (o.row_y("<0.1.0>"), 1),
            (o.row_y("<0.2.0>"), 2),
            (o.row_y("<0.3.0>"), 3),
        ];
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.into_iter().map(|(_, pid)| pid).collect::<Vec<_>>()
    };
    assert_eq!(order(&observed), [1, 2, 3], "pid order at first");

    // Name ascending: KV.BucketSupervisor, KV.Registry, KV.Supervisor.
    observed.click("Name");
    observed.wait_for("the name sort", |h| h.query_by_label("Name ⏶").is_some());
    assert_eq!(order(&observed), [2, 3, 1]);

    observed.click("Name ⏶");
    observed.wait_for("the reversed name sort", |h| {
        h.query_by_label("Name ⏷").is_some()
    });
    assert_eq!(order(&observed), [1, 3, 2]);

    // Back to pids, descending on the second click.
    observed.click("Pid");
    observed.click("Pid ⏶");
    observed.wait_for("the reversed pid sort", |h| {
        h.query_by_label("Pid ⏷").is_some()
    });
    assert_eq!(order(&observed), [3, 2, 1]);
}

#[test]
fn double_clicking_a_process_row_opens_its_window() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    let registry = observed.pid_of("KV.Registry");
    let row = observed.harness.get_by_label("KV.Registry");
    row.click();
    row.click();
    observed.wait_for("the process window", |h| {
        h.state().windows.open.contains_key(&registry)
    });
    assert_eq!(observed.harness.state().state.selected, Some(registry));
}

#[test]
fn processes_filter_keeps_only_matching_rows() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    observed.type_into("Filter: pid, name, kind, status (Ctrl+F)", "dynamic");
    observed.wait_for("the filter to apply", |h| {
        h.query_by_label("1 of 3 processes").is_some()
    });
    assert!(
        observed
            .harness
            .query_by_label("KV.BucketSupervisor")
            .is_some()
    );
    assert!(observed.harness.query_by_label("KV.Registry").is_none());
    assert!(observed.harness.query_by_label("KV.Supervisor").is_none());
    assert_eq!(
        {
            let state = observed.harness.state();
            let snapshot = state.state.snapshot.as_deref().unwrap();
            state.processes.shown_pids(snapshot).count()
        },
        1,
        "one row left"
    );
}

#[test]
fn kv_console_creates_a_bucket_that_appears_in_the_processes_table() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    assert_eq!(
        observed.bucket_rows(),
        0,
        "the final stage starts with no bucket"
    );
    observed.create_bucket("shopping", "Create bucket shopping: ok");
    observed.wait_for("the bucket's row", |h| {
        h.query_all_by_label("KV.Bucket").count() == 1
    });
    assert!(
        observed
            .harness
            .query_all_by_label("4 processes")
            .next()
            .is_some(),
        "the count follows"
    );
}

#[test]
fn kv_console_get_shows_the_value_put() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    observed.create_bucket("shopping", "Create bucket shopping: ok");
    observed.type_into_field("Key", "milk");
    observed.type_into_field("Value", "3");
    observed.click("Put");
    observed.wait_for_label("Put shopping milk 3: ok");
    observed.click("Get");
    // Shown inline in the console (and as a notice).
    observed.wait_for_label("Get shopping milk: \"3\"");
    observed.type_into_field("Key", "-missing");
    observed.click("Get");
    observed.wait_for_label("Get shopping milk-missing: nil");
}

#[test]
fn events_tab_shows_a_kill_and_clicking_the_row_selects_the_process() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    let registry = observed.pid_of("KV.Registry");

    // Select the registry's row, press Delete and confirm: kill.
    observed.click("KV.Registry");
    assert_eq!(observed.harness.state().state.selected, Some(registry));
    observed.harness.key_press(egui::Key::Delete);
    observed.wait_for_label("Kill process?");
    // A window's first frame only measures it: let it settle before clicking.
    observed.harness.run_steps(3);
    observed.click("Kill");
    observed.wait_for("the dialog to close", |h| {
        h.query_by_label("Kill process?").is_none()
    });

    observed.click("Events");
    let exited: &'static str = format!("KV.Registry {registry} exited: killed").leak();
    observed.wait_for_label(exited);
    // Select something else, then click the event's row.
    observed.harness.state_mut().state.selected = None;
    observed.click(exited);
    observed.wait_for("the click to select the registry", |h| {
        h.state().state.selected == Some(registry)
    });
    // The one_for_all supervisor restarted its children: the restart is in the feed too.
    assert!(
        observed
            .harness
            .query_all_by_label_contains("restarted KV.Registry")
            .next()
            .is_some()
    );
}

#[test]
fn delete_does_not_kill_while_typing_in_a_filter() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    let registry = observed.pid_of("KV.Registry");
    observed.click("KV.Registry");
    assert_eq!(
        observed.harness.state().state.selected,
        Some(registry),
        "Delete acts on the selection: there is one"
    );
    observed.type_into("Filter: pid, name, kind, status (Ctrl+F)", "kv");
    assert_eq!(observed.harness.state().processes.filter, "kv");
    // With the cursor before the `v`, Delete removes it: the key went to the text.
    observed.harness.key_press(egui::Key::ArrowLeft);
    observed.harness.key_press(egui::Key::Delete);
    observed.harness.run_steps(3);
    assert_eq!(
        observed.harness.state().processes.filter,
        "k",
        "Delete in a text field edits the text"
    );
    assert!(
        observed.harness.query_by_label("Kill process?").is_none(),
        "no confirmation was asked"
    );
    assert_eq!(observed.harness.state().state.selected, Some(registry));
    assert!(
        observed.record.lock().unwrap().sent.is_empty(),
        "nothing was sent to the node"
    );
    let runtime_registry = observed.node.whereis("KV.Registry").unwrap();
    assert_eq!(runtime_registry.serial(), registry.serial());
    assert!(
        observed.node.is_alive(runtime_registry),
        "the registry lives"
    );
}

#[test]
fn ctrl_f_focuses_the_filter_of_the_tab_shown() {
    let mut observed = observe(Tab::Events);
    observed.wait_for_label("Spawned");
    observed
        .harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    observed.harness.run_steps(3);
    let filter = observed
        .harness
        .get_by(|node| node.placeholder() == Some("Filter events (Ctrl+F)"));
    assert!(filter.is_focused());
    assert_eq!(observed.harness.state().tab, Tab::Events);
}

#[test]
fn pause_freezes_the_view_until_resume() {
    let mut observed = observe(Tab::Processes);
    observed.wait_for_label("KV.Registry");
    observed.click("⏸ Pause");
    observed.wait_for_label("PAUSED");

    // Replies still arrive while paused, but the table does not change.
    observed.create_bucket("paused", "Create bucket paused: ok");
    observed.hold_for(
        Duration::from_millis(400),
        "a bucket appeared while paused",
        |h| h.query_all_by_label("KV.Bucket").count() == 0,
    );

    observed.click("▶ Resume");
    observed.wait_for("the bucket after resume", |h| {
        h.query_all_by_label("KV.Bucket").count() == 1
    });
    assert!(observed.harness.query_by_label("PAUSED").is_none());
}

#[test]
fn theme_toggle_switches_the_context_theme() {
    let mut observed = observe(Tab::System);
    observed.harness.run_steps(2);
    assert_eq!(observed.harness.ctx.theme(), egui::Theme::Dark);
    observed.click("☀ Light");
    observed.harness.run_steps(2);
    assert_eq!(observed.harness.ctx.theme(), egui::Theme::Light);
    assert_eq!(
        observed.harness.state().prefs.theme,
        otpscope::gui::Theme::Light
    );
    observed.click("🌙 Dark");
    observed.harness.run_steps(2);
    assert_eq!(observed.harness.ctx.theme(), egui::Theme::Dark);
}
