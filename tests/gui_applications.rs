//! The Applications tab against a real node running the KV app, headless with egui_kittest:
//! selecting in the outline shows the details, the context menu kills a bucket (and the
//! registry keeps its pid), killing the registry restarts it and the bucket supervisor with
//! new pids, the linked stage loses every bucket with one, the search reveals a bucket
//! folded away, the graph's nodes select and open windows, and a process window shows a
//! bucket's contents and says DEAD after a kill, arrow keys walk the outline, and a fold opens
//! a page at a time.
//!
//! Each test starts its own tokio runtime and node and keeps them alive for the whole test.
//! What the node does arrives on its own thread, so the harness is stepped with
//! `run_steps`, in loops that wait for a condition with a deadline.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use otpscope::demo::kv::control::KvControl;
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::{ObserverApp, Preferences, Tab};
use otpscope::runtime::{ExitReason, Node};
use otpscope::snapshot::model::Pid;
use otpscope::sources::local::LocalSource;
use tokio::runtime::Runtime;

/// How long a test waits for something to show.
const DEADLINE: Duration = Duration::from_secs(20);

/// A node running the KV app, observed by an Observer in a headless harness.
struct Observed {
    harness: Harness<'static, ObserverApp>,
    node: Node,
    /// Runs the node; dropped last.
    runtime: Runtime,
}

fn observe(stage: Stage, prefs: Preferences) -> Observed {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let node = runtime.block_on(async {
        let node = Node::new("test");
        kv::start(&node, stage).await.unwrap();
        node
    });
    let source = LocalSource::new(
        otpscope::demo::kv::control::for_node(&node),
        "test",
        Duration::from_millis(20),
    )
    .unwrap();
    let prefs = Preferences {
        tab: Tab::Applications,
        ..prefs
    };
    let app = ObserverApp::new(Box::new(source), prefs);
    // 60 steps a second, so two clicks in a row make a double click.
    let harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);
    Observed {
        harness,
        node,
        runtime,
    }
}

impl Observed {
    /// Creates bucket `name` through the registry, as the chapter's iex session does, and
    /// returns its pid.
    fn create(&self, name: &str) -> Pid {
        let control = KvControl::new(&self.node);
        let bucket = self.runtime.block_on(control.create(name)).unwrap();
        bucket.pid().into()
    }

    /// Puts `key` = `value` in bucket `name`.
    fn put(&self, name: &str, key: &str, value: &str) {
        let control = KvControl::new(&self.node);
        self.runtime.block_on(async {
            control
                .bucket(name)
                .await
                .unwrap()
                .put(key, value)
                .await
                .unwrap();
        });
    }

    /// The pid of the live process registered as `name`, as the Observer sees it.
    fn pid_of(&self, name: &str) -> Option<Pid> {
        let snapshot = self.harness.state().state.snapshot.clone()?;
        snapshot
            .processes()
            .find(|info| info.name.as_deref() == Some(name))
            .map(|info| info.pid)
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
            if Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {what}; labels shown: {:?}",
                    self.labels()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every label on screen.
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

    fn shows_starting_with(&self, prefix: &str) -> Vec<String> {
        self.labels()
            .into_iter()
            .filter(|label| label.starts_with(prefix))
            .collect()
    }

    /// The outline row labelled `label`: the leftmost widget with that label (the details
    /// panel on the right may repeat it).
    fn outline_row<'a>(&'a self, label: &'a str) -> egui_kittest::Node<'a> {
        self.harness
            .query_all_by_label(label)
            .min_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
            .unwrap_or_else(|| panic!("no row {label}; shown: {:?}", self.labels()))
    }

    /// Right-clicks the outline row `label` and chooses `item` from its menu.
    fn menu(&mut self, label: &str, item: &str) {
        self.outline_row(label).click_secondary();
        self.harness.run_steps(3);
        self.harness.get_by_label(item).click();
        self.harness.run_steps(3);
    }

    fn selected(&self) -> Option<Pid> {
        self.harness.state().state.selected
    }
}

fn bucket_label(pid: Pid) -> String {
    format!("KV.Bucket {pid}")
}

#[test]
fn selecting_a_bucket_in_the_outline_shows_its_pid_in_the_details() {
    let mut observed = observe(Stage::Final, Preferences::default());
    let pid = observed.create("shopping");
    let label = bucket_label(pid);
    observed.wait_for("the bucket's row", |o| o.shows(&label));

    observed.outline_row(&label).click();
    observed.wait_for("the selection", |o| o.selected() == Some(pid));
    // The details panel shows the pid, the name line and the parent as a link.
    let pid_text = pid.to_string();
    observed.wait_for("the pid in the details", |o| o.shows(&pid_text));
    assert!(observed.harness.query_all_by_label(&label).count() >= 2);
    assert!(observed.shows("KV.BucketSupervisor <0.2.0>"));
    assert!(observed.shows("temporary (never restarted)"));
}

#[test]
fn arrow_keys_move_the_selection_and_collapse_and_expand() {
    let mut observed = observe(Stage::Final, Preferences::default());
    let shopping = observed.create("shopping");
    let work = observed.create("work");
    let (shopping_label, work_label) = (bucket_label(shopping), bucket_label(work));
    observed.wait_for("both buckets", |o| {
        o.shows(&shopping_label) && o.shows(&work_label)
    });
    observed.outline_row(&shopping_label).click();
    observed.wait_for("the selection", |o| o.selected() == Some(shopping));

    observed.harness.key_press(egui::Key::ArrowDown);
    observed.wait_for("the next bucket", |o| o.selected() == Some(work));
    // Left on a leaf goes to its parent; left again collapses it; right expands it.
    let bucket_supervisor = observed.pid_of("KV.BucketSupervisor").unwrap();
    observed.harness.key_press(egui::Key::ArrowLeft);
    observed.wait_for("the parent", |o| o.selected() == Some(bucket_supervisor));
    observed.harness.key_press(egui::Key::ArrowLeft);
    let in_outline = |o: &Observed, pid: Pid| {
        o.harness
            .state()
            .applications
            .tree_data()
            .is_some_and(|data| data.row_of(pid).is_some())
    };
    observed.wait_for("the buckets to hide", |o| {
        !in_outline(o, shopping)
            && o.harness
                .state()
                .applications
                .is_collapsed(bucket_supervisor)
    });
    observed.harness.key_press(egui::Key::ArrowRight);
    observed.wait_for("the buckets to show again", |o| in_outline(o, shopping));
}

#[test]
fn kill_from_the_context_menu_removes_a_bucket_and_the_registry_keeps_its_pid() {
    let mut observed = observe(Stage::Final, Preferences::default());
    let shopping = observed.create("shopping");
    let work = observed.create("work");
    let (shopping_label, work_label) = (bucket_label(shopping), bucket_label(work));
    observed.wait_for("both buckets", |o| {
        o.shows(&shopping_label) && o.shows(&work_label)
    });
    let registry = observed.pid_of("KV.Registry").unwrap();

    observed.menu(&shopping_label, "Kill");
    // The bucket shows as dead for a moment, then goes.
    observed.wait_for("the dead bucket", |o| {
        !o.shows_starting_with(&format!("{shopping_label} — exited: killed"))
            .is_empty()
    });
    observed.wait_for("the bucket to go", |o| {
        o.shows_starting_with(&shopping_label).is_empty()
    });
    assert!(observed.shows(&work_label), "the other bucket lives");
    assert_eq!(observed.pid_of("KV.Registry"), Some(registry));
    assert!(observed.shows(&format!("KV.Registry {registry}")));
}

#[test]
fn killing_the_registry_brings_it_and_the_bucket_supervisor_back_with_new_pids() {
    let mut observed = observe(Stage::Final, Preferences::default());
    let bucket = observed.create("shopping");
    let bucket_row = bucket_label(bucket);
    observed.wait_for("the bucket", |o| o.shows(&bucket_row));
    let registry = observed.pid_of("KV.Registry").unwrap();
    let bucket_supervisor = observed.pid_of("KV.BucketSupervisor").unwrap();

    observed.menu(&format!("KV.Registry {registry}"), "Kill");
    observed.wait_for("a new registry and bucket supervisor", |o| {
        let fresh = |name: &str, old: Pid| {
            o.pid_of(name)
                .is_some_and(|pid| pid != old && o.shows(&format!("{name} {pid}")))
        };
        fresh("KV.Registry", registry) && fresh("KV.BucketSupervisor", bucket_supervisor)
    });
    // one_for_all: the bucket went with them.
    observed.wait_for("the bucket to go", |o| {
        o.shows_starting_with(&bucket_row).is_empty()
    });
}

#[test]
fn in_the_linked_stage_killing_one_bucket_loses_every_bucket() {
    let mut observed = observe(Stage::Linked, Preferences::default());
    let pids: Vec<Pid> = ["a", "b", "c"].iter().map(|n| observed.create(n)).collect();
    let labels: Vec<String> = pids.iter().map(|pid| bucket_label(*pid)).collect();
    observed.wait_for("three buckets", |o| labels.iter().all(|l| o.shows(l)));
    let registry = observed.pid_of("KV.Registry").unwrap();

    observed.menu(&labels[0], "Kill");
    observed.wait_for("every bucket gone and a new registry", |o| {
        labels.iter().all(|l| o.shows_starting_with(l).is_empty())
            && o.pid_of("KV.Registry").is_some_and(|pid| pid != registry)
    });
    let snapshot = observed.harness.state().state.snapshot.clone().unwrap();
    assert_eq!(
        snapshot
            .processes()
            .filter(|info| &*info.label == "KV.Bucket")
            .count(),
        0
    );
}

#[test]
fn search_reveals_a_bucket_folded_away_and_highlights_it() {
    let prefs = Preferences {
        fold_at: 5,
        ..Preferences::default()
    };
    let mut observed = observe(Stage::Final, prefs);
    let pids: Vec<Pid> = (0..12).map(|i| observed.create(&format!("b{i}"))).collect();
    let first = bucket_label(pids[0]);
    let hidden = pids[9];
    let hidden_label = bucket_label(hidden);
    observed.wait_for("the fold", |o| o.shows("+ 7 KV.Bucket"));
    assert!(observed.shows(&first));
    assert!(
        !observed.shows(&hidden_label),
        "the 10th bucket is folded away"
    );

    // Ctrl+F focuses the search box; type the pid.
    observed
        .harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    observed.harness.run_steps(3);
    let search = observed
        .harness
        .get_by(|node| node.placeholder() == Some("Search pid, name, label  (Ctrl+F)"));
    assert!(search.is_focused(), "Ctrl+F focuses the search box");
    search.type_text(&hidden.to_string());
    observed.wait_for("the revealed bucket", |o| {
        o.shows(&hidden_label) && o.selected() == Some(hidden)
    });
    // The match is highlighted in the tree data both views draw, between two folds.
    let app = observed.harness.state();
    let data = app.applications.tree_data().unwrap();
    let row = data.row_of(hidden).unwrap();
    assert!(data.rows[row].is_match);
    assert_eq!(data.matches, vec![hidden]);
    assert_eq!(data.rows[row - 1].label, "+ 4 KV.Bucket");
    assert_eq!(data.rows[row + 1].label, "+ 2 KV.Bucket");
    assert!(observed.shows("1 of 1"));

    // Searching by label finds the twelve buckets and their supervisor (KV.BucketSupervisor),
    // in start order; Enter steps through them.
    observed
        .harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    observed.harness.run_steps(2);
    observed
        .harness
        .event(egui::Event::Text("kv.bucket".to_owned()));
    observed.wait_for("thirteen matches", |o| o.shows("1 of 13"));
    assert_eq!(observed.pid_of("KV.BucketSupervisor"), observed.selected());
    observed.harness.key_press(egui::Key::Enter);
    observed.wait_for("the second match, the first bucket", |o| {
        o.shows("2 of 13") && o.selected() == Some(pids[0])
    });
    observed
        .harness
        .key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    observed.wait_for("back to the first match", |o| o.shows("1 of 13"));
}

#[test]
fn a_fold_opens_a_page_at_a_time_and_folds_back() {
    let prefs = Preferences {
        fold_at: 5,
        ..Preferences::default()
    };
    let mut observed = observe(Stage::Final, prefs);
    let pids: Vec<Pid> = (0..12).map(|i| observed.create(&format!("b{i}"))).collect();
    observed.wait_for("the fold", |o| o.shows("+ 7 KV.Bucket"));

    observed.outline_row("+ 7 KV.Bucket").click();
    observed.wait_for("five more buckets and a smaller fold", |o| {
        o.shows("+ 2 KV.Bucket") && o.shows(&bucket_label(pids[9]))
    });
    let bucket_supervisor = observed.pid_of("KV.BucketSupervisor").unwrap();
    observed.menu(
        &format!("KV.BucketSupervisor {bucket_supervisor}"),
        "Fold children back",
    );
    observed.wait_for("the fold back", |o| o.shows("+ 7 KV.Bucket"));
}

#[test]
fn graph_nodes_select_on_click_and_open_a_window_on_double_click() {
    let mut observed = observe(Stage::Final, Preferences::default());
    let pid = observed.create("shopping");
    // Wait until the node is drawn and the view has stopped gliding to its fit.
    let mut last = None;
    let center = loop {
        observed.wait_for("the bucket's node", |o| {
            o.harness
                .state()
                .applications
                .graph_node_rect(pid)
                .is_some()
        });
        let rect = observed.harness.state().applications.graph_node_rect(pid);
        if let Some(rect) = rect
            && Some(rect) == last
        {
            break rect.center();
        }
        last = rect;
    };
    observed.harness.hover_at(center);
    observed.harness.event(egui::Event::PointerButton {
        pos: center,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    observed.harness.event(egui::Event::PointerButton {
        pos: center,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    observed.wait_for("the node's selection", |o| o.selected() == Some(pid));

    for _ in 0..2 {
        for pressed in [true, false] {
            observed.harness.event(egui::Event::PointerButton {
                pos: center,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
        }
    }
    observed.wait_for("the process window", |o| {
        o.harness.state().windows.open.contains_key(&pid)
    });
    // The window may cover the node: close it.
    observed.harness.get_by_label("Close window").click();
    observed.wait_for("the window to close", |o| {
        o.harness.state().windows.open.is_empty()
    });

    // Right-click on the node: its process menu.
    observed.harness.hover_at(center);
    observed.harness.run_steps(2);
    observed.harness.event(egui::Event::PointerButton {
        pos: center,
        button: egui::PointerButton::Secondary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    observed.harness.event(egui::Event::PointerButton {
        pos: center,
        button: egui::PointerButton::Secondary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    observed.wait_for("the node's menu", |o| o.shows("Exit with shutdown"));
    // A popup settles its position over its first frames.
    observed.harness.run_steps(3);
    observed.harness.get_by_label("Exit with shutdown").click();
    observed.wait_for("the bucket to exit", |o| {
        !o.harness.state().state.is_alive(pid) && o.harness.state().state.snapshot.is_some()
    });
}

#[test]
fn a_process_window_shows_a_buckets_contents_and_says_dead_after_a_kill() {
    let mut observed = observe(Stage::Final, Preferences::default());
    let pid = observed.create("shopping");
    observed.put("shopping", "milk", "3");
    observed.put("shopping", "eggs", "12");
    let label = bucket_label(pid);
    observed.wait_for("the bucket's row", |o| o.shows(&label));

    // Double-click the outline row.
    let row = observed.outline_row(&label);
    row.click();
    row.click();
    observed.wait_for("the window with the bucket's keys and values", |o| {
        o.harness.state().windows.open.contains_key(&pid)
            && o.shows("milk")
            && o.shows("3")
            && o.shows("eggs")
            && o.shows("12")
    });

    observed
        .node
        .exit(observed.node.pid(pid.serial()), ExitReason::Kill)
        .unwrap();
    let title = format!("{label} — DEAD (killed)");
    observed.wait_for("the window's DEAD title", |o| o.shows(&title));
    // What was last known stays, and the history says why it went.
    assert!(observed.shows("milk"));
    observed.wait_for("the exit in the history", |o| o.shows("reason killed"));

    // Closing the window removes it.
    observed
        .harness
        .get_by(|node| {
            node.role() == egui::accesskit::Role::Button
                && node.label().as_deref() == Some("Close window")
        })
        .click();
    observed.wait_for("the window to close", |o| {
        !o.harness.state().windows.open.contains_key(&pid)
    });
}

#[test]
fn a_supervisors_details_show_its_restart_budget_used_by_kills() {
    let mut observed = observe(Stage::Final, Preferences::default());
    observed.wait_for("the tree", |o| o.pid_of("KV.Registry").is_some());
    let top = observed.pid_of("KV.Supervisor").unwrap();
    observed
        .outline_row(&format!("KV.Supervisor {top}"))
        .click();
    observed.wait_for("a full budget", |o| {
        o.shows("0 of 3 in the last 5 s: 3 left")
    });
    // Two kills of the registry: two restarts of the one_for_all KV.Supervisor (each starts
    // both children again, and counts once).
    for round in 1..=2 {
        let registry = observed.pid_of("KV.Registry").unwrap();
        observed
            .node
            .exit(observed.node.pid(registry.0), ExitReason::Kill)
            .unwrap();
        observed.wait_for("a new registry", |o| {
            o.pid_of("KV.Registry").is_some_and(|pid| pid != registry)
        });
        let text = format!("{round} of 3 in the last 5 s: {} left", 3 - round);
        observed.wait_for(&text, |o| o.shows(&text));
    }
}
