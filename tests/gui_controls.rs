//! The Observer's controls, each driven by its label through the real app (headless, with
//! egui_kittest) against a real node running the KV app, and each checked by its effect on
//! the node: which process exited with which reason, which command and which interval went
//! to the node, what the node holds afterwards. Covered: the System tab's load sampling and
//! charts, the refresh interval (which resubscribes), the context menu's "Exit with normal",
//! "Exit with a reason…" (its dialog) and "Process info", the details panel's links and
//! buttons, a process window's "Refresh state", "auto", "Show in tree" and "Kill…", the KV
//! console's Delete and "Create 1,000 buckets", a child's history across restarts, and the
//! warning for events the node dropped.
//!
//! Each test starts its own tokio runtime and node. What the node does arrives on its own
//! thread, so the harness is stepped with `run_steps`, in loops that wait for a condition with
//! a deadline. The app samples the load and times its auto-refresh on the wall clock (the UI
//! thread has no tokio clock to pause), so those tests wait for what the samples and the
//! refreshes show, never for a fixed time.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;
#[path = "../crates/runtime/tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use gui_support::{Record, Recorder};
use otpscope::demo::kv::control::KvControl;
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::state::HistoryEntry;
use otpscope::gui::{ObserverApp, Preferences, Tab};
use otpscope::runtime::{self, Node};
use otpscope::snapshot::full_snapshot;
use otpscope::snapshot::model::{Command, ExitReason, Pid, Reply};
use otpscope::sources::local::LocalSource;
use tokio::runtime::Runtime;

/// How long a test waits for something to show.
const DEADLINE: Duration = Duration::from_secs(20);

/// A node running the KV app, observed by an Observer in a headless harness.
struct Observed {
    harness: Harness<'static, ObserverApp>,
    node: Node,
    /// What the Observer sent to the node and took from it.
    record: Arc<Mutex<Record>>,
    /// Runs the node; dropped last.
    runtime: Runtime,
}

fn observe(prefs: Preferences) -> Observed {
    observe_on(runtime(2), prefs)
}

fn runtime(workers: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

fn observe_on(runtime: Runtime, prefs: Preferences) -> Observed {
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
    let app = ObserverApp::new(Box::new(source), prefs);
    // 60 steps a second, so two clicks in a row make a double click.
    let harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);
    Observed {
        harness,
        node,
        record,
        runtime,
    }
}

fn on_tab(tab: Tab) -> Preferences {
    Preferences {
        tab,
        ..Preferences::default()
    }
}

fn bucket_label(pid: Pid) -> String {
    format!("KV.Bucket {pid}")
}

impl Observed {
    /// Creates bucket `name` through the registry and returns its pid.
    fn create(&self, name: &str) -> Pid {
        let control = KvControl::new(&self.node);
        let bucket = self.runtime.block_on(control.create(name)).unwrap();
        bucket.pid().into()
    }

    /// Puts `key` = `value` in bucket `name`.
    fn put(&self, name: &str, key: &str, value: &str) {
        let control = KvControl::new(&self.node);
        self.runtime.block_on(async {
            let bucket = control.bucket(name).await.unwrap();
            bucket.put(key, value).await.unwrap();
        });
    }

    /// What bucket `name` holds under `key`.
    fn get(&self, name: &str, key: &str) -> Option<String> {
        let control = KvControl::new(&self.node);
        self.runtime.block_on(async {
            let bucket = control.bucket(name).await.unwrap();
            bucket.get(key).await.unwrap()
        })
    }

    /// The runtime's pid for a model pid.
    fn runtime_pid(&self, pid: Pid) -> runtime::Pid {
        self.node.pid(pid.serial())
    }

    /// Waits for `pid` to exit in the runtime and gives its reason (also when it has already
    /// exited).
    fn exit_of(&self, pid: Pid) -> runtime::ExitReason {
        let pid = self.runtime_pid(pid);
        self.runtime.block_on(support::exit_of(&self.node, pid))
    }

    fn is_alive(&self, pid: Pid) -> bool {
        self.node.is_alive(self.runtime_pid(pid))
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

    /// Clicks the widget labelled exactly `label` and lets two frames run.
    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.run_steps(2);
    }

    /// The outline row labelled `label`: the leftmost widget with that label (the details
    /// panel on the right may repeat it).
    fn outline_row<'a>(&'a self, label: &'a str) -> egui_kittest::Node<'a> {
        self.harness
            .query_all_by_label(label)
            .min_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
            .unwrap_or_else(|| panic!("no row {label}; shown: {:?}", self.labels()))
    }

    /// Selects `pid` by clicking its outline row, and waits for the details panel to show it.
    fn select(&mut self, pid: Pid) {
        let label = bucket_label(pid);
        self.wait_for("the bucket's row", |o| o.shows(&label));
        self.outline_row(&label).click();
        self.wait_for("the selection", |o| o.selected() == Some(pid));
        let pid_text = pid.to_string();
        self.wait_for("the details", |o| {
            o.shows("Open window") && o.shows(&pid_text)
        });
    }

    /// Clicks the link labelled `label` in the details panel: the rightmost widget so
    /// labelled (the outline, left, may show the same text).
    fn click_details_link(&mut self, label: &str) {
        self.harness
            .query_all_by_label(label)
            .max_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
            .unwrap_or_else(|| panic!("no link {label}; shown: {:?}", self.labels()))
            .click();
        self.harness.run_steps(2);
    }

    /// Opens the combo box showing `value` and picks `choice` from its list.
    fn choose(&mut self, value: &str, choice: &str) {
        self.harness
            .get_by(|node| node.role() == Role::ComboBox && node.value().as_deref() == Some(value))
            .click();
        self.harness.run_steps(3);
        self.wait_for(choice, |o| o.shows(choice));
        self.harness
            .query_all_by_label(choice)
            .find(|node| node.accesskit_node().role() != Role::ComboBox)
            .unwrap()
            .click();
        self.harness.run_steps(3);
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

    /// Waits until the Observer has seen `pid` die and no longer draws it: a dead process
    /// stays a moment where it was, and the rows below it move up when it goes, so a click
    /// aimed at a row before that could land on another.
    fn wait_until_gone(&mut self, pid: Pid) {
        self.wait_for("the dead to leave the outline", |o| {
            !o.harness.state().state.is_alive(pid)
                && o.harness
                    .state()
                    .applications
                    .tree_data()
                    .is_some_and(|data| data.rows.iter().all(|row| !row.is_ghost))
        });
    }

    /// Waits until the reply to the last command sent that `matches` has come back; gives it.
    fn reply_to(&mut self, matches: impl Fn(&Command) -> bool) -> Reply {
        let id = self
            .record
            .lock()
            .unwrap()
            .last_sent(matches)
            .expect("the command was sent");
        self.wait_for("the reply", |o| {
            o.record.lock().unwrap().reply(id).is_some()
        });
        self.record
            .lock()
            .unwrap()
            .reply(id)
            .unwrap()
            .clone()
            .unwrap()
    }

    /// How many times the state of `pid` was asked for.
    fn state_requests(&self, pid: Pid) -> usize {
        self.record
            .lock()
            .unwrap()
            .sent
            .iter()
            .filter(|(_, command)| *command == Command::GetState { pid })
            .count()
    }

    /// Types `text` into the widget that has the keyboard focus.
    fn type_text(&mut self, text: &str) {
        self.harness.event(egui::Event::Text(text.to_owned()));
        self.harness.run_steps(2);
    }

    /// The text shown on the same line, right after the label `title` (a chart's "now …"
    /// beside its title).
    fn beside(&self, title: &str) -> String {
        let title = self
            .harness
            .query_all_by_label(title)
            .next()
            .unwrap_or_else(|| panic!("no {title}"))
            .rect();
        self.harness
            .query_all(By::new())
            .filter_map(|node| {
                let node = node.accesskit_node();
                let rect = node.bounding_box()?;
                let text = node.label().or_else(|| node.value())?;
                let middle = (rect.y0 + rect.y1) / 2.0;
                let same_line = (middle as f32 - title.center().y).abs() < 4.0;
                (same_line && rect.x0 as f32 >= title.right()).then_some((rect.x0, text))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, text)| text)
            .unwrap_or_default()
    }
}

fn is_exit(pid: Pid, reason: ExitReason) -> impl Fn(&Command) -> bool {
    move |command| {
        *command
            == Command::Exit {
                pid,
                reason: reason.clone(),
            }
    }
}

// === System tab ===

#[test]
fn the_system_tab_samples_the_load_each_second_and_charts_it() {
    let mut observed = observe(on_tab(Tab::System));
    for title in [
        "Processes by kind",
        "Messages handled per second",
        "Restarts per second",
        "Messages waiting in all mailboxes",
        "Memory (resident)",
    ] {
        observed.wait_for(title, |o| o.shows(title));
    }
    let latest = |o: &Observed| o.harness.state().state.load.back().cloned();
    observed.wait_for("the first sample", |o| latest(o).is_some());
    let first = latest(&observed).unwrap();
    assert_eq!((first.supervisors, first.workers, first.plain), (2, 1, 0));
    assert!(first.memory_bytes.is_some_and(|bytes| bytes > 0));
    assert!(observed.beside("Memory (resident)").ends_with(" MiB"));

    // Three buckets and a few messages: a later sample counts them.
    for name in ["a", "b", "c"] {
        observed.create(name);
        observed.put(name, "k", "v");
    }
    observed.wait_for("a sample with the buckets", |o| {
        latest(o).is_some_and(|sample| sample.workers == 4)
    });
    let sample = latest(&observed).unwrap();
    assert_eq!(
        (sample.supervisors, sample.workers, sample.plain),
        (2, 4, 0)
    );
    let app = observed.harness.state();
    for pair in app.state.load.iter().collect::<Vec<_>>().windows(2) {
        assert!(
            pair[1].t_s - pair[0].t_s >= 1.0,
            "one sample a second at most: {pair:?}"
        );
    }
    let messages: f64 = app.state.load.iter().map(|s| s.messages_per_s).sum();
    assert!(
        messages > 0.0,
        "the creates and puts were counted as messages"
    );

    // Kill the registry: the one_for_all supervisor restarts both children.
    let registry = observed.pid_of("KV.Registry").unwrap();
    observed
        .node
        .exit(observed.runtime_pid(registry), runtime::ExitReason::Kill)
        .unwrap();
    observed.wait_for("a sample with the restarts", |o| {
        latest(o).is_some_and(|sample| sample.restarts_per_s > 0.0)
    });
    observed.harness.run_steps(2);
    let shown = observed.beside("Restarts per second");
    assert!(
        shown.starts_with("now ") && shown != "now 0.0",
        "the chart shows the rate: {shown:?}"
    );

    // The window: from two minutes to one.
    assert_eq!(observed.harness.state().system.window_s, 120);
    observed.choose("2 min", "1 min");
    observed.wait_for("the one-minute window", |o| {
        o.harness.state().system.window_s == 60
    });
}

// === Top bar ===

#[test]
fn changing_the_refresh_interval_resubscribes_at_the_new_interval() {
    let mut observed = observe(on_tab(Tab::Processes));
    observed.wait_for("the first snapshot", |o| o.shows("KV.Registry"));
    // The saved interval (200 ms) is applied at the first frame.
    assert_eq!(
        observed.record.lock().unwrap().intervals,
        [Duration::from_millis(200)]
    );
    let fulls = observed.record.lock().unwrap().fulls;

    observed.choose("200 ms", "1 s");
    observed.wait_for("a new subscription's full snapshot", |o| {
        o.record.lock().unwrap().fulls == fulls + 1
    });
    assert_eq!(observed.harness.state().prefs.interval_ms, 1000);
    assert_eq!(
        observed.record.lock().unwrap().intervals,
        [Duration::from_millis(200), Duration::from_secs(1)]
    );
    // The new subscription carries what happens next.
    let bucket = observed.create("later");
    observed.wait_for("the new bucket", |o| {
        o.harness.state().state.is_alive(bucket)
    });
    assert_eq!(observed.record.lock().unwrap().fulls, fulls + 1);
}

// === The context menu ===

#[test]
fn exit_with_normal_from_the_menu_is_ignored_by_a_process_that_does_not_trap_exits() {
    let mut observed = observe(on_tab(Tab::Applications));
    let bucket = observed.create("shopping");
    let label = bucket_label(bucket);
    observed.wait_for("the bucket's row", |o| o.shows(&label));

    observed.menu(&label, "Exit with normal");
    assert_eq!(
        observed.reply_to(is_exit(bucket, ExitReason::Normal)),
        Reply::Done
    );
    assert!(observed.is_alive(bucket), "normal is ignored");
    assert_eq!(
        observed.get("shopping", "milk"),
        None,
        "and the bucket answers"
    );

    observed.menu(&label, "Exit with shutdown");
    assert_eq!(observed.exit_of(bucket), runtime::ExitReason::Shutdown);
}

#[test]
fn exit_with_a_reason_asks_for_the_reason_and_sends_it() {
    let mut observed = observe(on_tab(Tab::Applications));
    let [first, second, third] = ["a", "b", "c"].map(|name| observed.create(name));
    for pid in [first, second, third] {
        let label = bucket_label(pid);
        observed.wait_for("the buckets", |o| o.shows(&label));
    }

    // Typed and sent with the button.
    observed.menu(&bucket_label(first), "Exit with a reason…");
    let title = format!("Exit {first} with a reason");
    observed.wait_for("the dialog", |o| o.shows(&title));
    observed.harness.run_steps(3);
    observed.type_text("overheated");
    observed.click("Send exit signal");
    assert_eq!(
        observed.exit_of(first),
        runtime::ExitReason::custom("overheated")
    );
    assert!(!observed.shows(&title), "the dialog closed");
    observed.wait_until_gone(first);

    // Cancelled: nothing is sent.
    observed.menu(&bucket_label(second), "Exit with a reason…");
    let title = format!("Exit {second} with a reason");
    observed.wait_for("the dialog", |o| o.shows(&title));
    observed.harness.run_steps(3);
    observed.type_text("never");
    observed.click("Cancel");
    observed.wait_for("the dialog to close", |o| !o.shows(&title));
    let exits_to_second = observed
        .record
        .lock()
        .unwrap()
        .sent
        .iter()
        .filter(|(_, command)| matches!(command, Command::Exit { pid, .. } if *pid == second))
        .count();
    assert_eq!(exits_to_second, 0);
    assert!(observed.is_alive(second));

    // A known reason by its name, sent with Enter.
    observed.menu(&bucket_label(third), "Exit with a reason…");
    let title = format!("Exit {third} with a reason");
    observed.wait_for("the dialog", |o| o.shows(&title));
    observed.harness.run_steps(3);
    observed.type_text("shutdown");
    observed.harness.key_press(egui::Key::Enter);
    observed.harness.run_steps(2);
    assert_eq!(observed.exit_of(third), runtime::ExitReason::Shutdown);
}

#[test]
fn process_info_from_the_menu_opens_the_process_window_with_its_state() {
    let mut observed = observe(on_tab(Tab::Applications));
    let bucket = observed.create("shopping");
    observed.put("shopping", "milk", "3");
    let label = bucket_label(bucket);
    observed.wait_for("the bucket's row", |o| o.shows(&label));

    observed.menu(&label, "Process info");
    observed.wait_for("the window with the bucket's state", |o| {
        o.harness.state().windows.open.contains_key(&bucket) && o.shows("milk") && o.shows("3")
    });
    assert_eq!(
        observed.state_requests(bucket),
        1,
        "the state was asked once"
    );
    assert!(observed.shows("1 of 1 entries"));
}

// === The details panel ===

#[test]
fn the_details_panel_links_reveal_their_process_and_its_buttons_signal_the_selection() {
    let mut observed = observe(on_tab(Tab::Applications));
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|name| observed.create(name));
    let registry = observed.pid_of("KV.Registry").unwrap();

    // The registry monitors each bucket: "Monitored by" links to it.
    observed.select(a);
    observed.wait_for("the details", |o| o.shows("Monitored by (1)"));
    observed.click_details_link(&format!("KV.Registry {registry}"));
    observed.wait_for("the registry selected", |o| o.selected() == Some(registry));

    // Open window.
    observed.select(a);
    observed.click("Open window");
    observed.wait_for("the window", |o| {
        o.harness.state().windows.open.contains_key(&a)
    });
    observed.harness.state_mut().windows.open.clear();

    // Exit normal: ignored by a bucket. Exit shutdown: it goes.
    observed.click("Exit normal");
    assert_eq!(
        observed.reply_to(is_exit(a, ExitReason::Normal)),
        Reply::Done
    );
    assert!(observed.is_alive(a));
    observed.click("Exit shutdown");
    assert_eq!(observed.exit_of(a), runtime::ExitReason::Shutdown);
    observed.wait_until_gone(a);

    // Kill… asks first.
    observed.select(b);
    observed.click("Kill…");
    observed.wait_for("the confirmation", |o| o.shows("Kill process?"));
    observed.harness.run_steps(3);
    assert!(
        observed.is_alive(b),
        "nothing is sent before the confirmation"
    );
    observed.click("Kill");
    assert_eq!(observed.exit_of(b), runtime::ExitReason::Killed);
    observed.wait_until_gone(b);

    // Exit reason… asks for the reason.
    observed.select(c);
    observed.click("Exit reason…");
    let title = format!("Exit {c} with a reason");
    observed.wait_for("the dialog", |o| o.shows(&title));
    observed.harness.run_steps(3);
    observed.type_text("gone");
    observed.click("Send exit signal");
    assert_eq!(observed.exit_of(c), runtime::ExitReason::custom("gone"));
    observed.wait_until_gone(c);

    // The parent link goes to the bucket supervisor.
    observed.select(d);
    let parent = observed.pid_of("KV.BucketSupervisor").unwrap();
    observed.click_details_link(&format!("KV.BucketSupervisor {parent}"));
    observed.wait_for("the parent selected", |o| o.selected() == Some(parent));
    assert!(observed.is_alive(d));
}

// === Process windows ===

#[test]
fn a_process_window_refreshes_on_demand_and_every_second_shows_in_tree_and_kills() {
    let mut observed = observe(on_tab(Tab::Applications));
    let bucket = observed.create("shopping");
    observed.put("shopping", "milk", "3");
    observed.select(bucket);
    observed.click("Open window");
    observed.wait_for("the bucket's state", |o| o.shows("milk"));
    assert_eq!(observed.state_requests(bucket), 1);

    // Refresh asks again and shows what changed.
    observed.put("shopping", "eggs", "12");
    observed.click("Refresh state");
    assert_eq!(observed.state_requests(bucket), 2);
    observed.wait_for("the new key", |o| o.shows("eggs") && o.shows("12"));

    // auto asks every second, without a click.
    observed.click("auto");
    observed.put("shopping", "ham", "1");
    observed.wait_for("the key put after auto was ticked", |o| o.shows("ham"));
    assert!(observed.state_requests(bucket) >= 3);

    // Show in tree: back to the Applications tab, selected.
    observed.click("Processes");
    observed.wait_for("the Processes tab", |o| {
        o.harness.state().tab == Tab::Processes
    });
    observed.harness.state_mut().state.selected = None;
    observed.click("Show in tree");
    observed.wait_for("the bucket shown in the tree", |o| {
        o.harness.state().tab == Tab::Applications && o.selected() == Some(bucket)
    });

    // Kill… asks first, then the bucket dies and the window says so.
    observed.harness.state_mut().state.selected = None;
    observed.harness.run_steps(2);
    observed.click("Kill…");
    observed.wait_for("the confirmation", |o| o.shows("Kill process?"));
    observed.harness.run_steps(3);
    observed.click("Kill");
    assert_eq!(observed.exit_of(bucket), runtime::ExitReason::Killed);
    let title = format!("{} — DEAD (killed)", bucket_label(bucket));
    observed.wait_for("the window's DEAD title", |o| o.shows(&title));
}

#[test]
fn a_process_window_keeps_a_childs_history_across_restarts() {
    let mut observed = observe(on_tab(Tab::Applications));
    let first = observed.pid_of_when_shown("KV.Registry");
    let row = format!("KV.Registry {first}");
    let double_click = |observed: &mut Observed, row: &str| {
        let node = observed.outline_row(row);
        node.click();
        node.click();
    };
    double_click(&mut observed, &row);
    observed.wait_for("the registry's window", |o| {
        o.harness.state().windows.open.contains_key(&first)
    });

    let mut incarnations = vec![first];
    for _ in 0..2 {
        let old = *incarnations.last().unwrap();
        observed
            .node
            .exit(observed.runtime_pid(old), runtime::ExitReason::Kill)
            .unwrap();
        observed.wait_for("a new registry", |o| {
            o.pid_of("KV.Registry").is_some_and(|pid| pid != old)
        });
        incarnations.push(observed.pid_of("KV.Registry").unwrap());
    }
    let [r0, r1, r2] = [incarnations[0], incarnations[1], incarnations[2]];
    let expected = vec![
        format!("exited {r0} killed"),
        format!("started {r1}"),
        format!("restarted {r0} -> {r1}"),
        format!("exited {r1} killed"),
        format!("started {r2}"),
        format!("restarted {r1} -> {r2}"),
    ];
    let history = |o: &Observed, pid: Pid| -> Vec<String> {
        o.harness
            .state()
            .state
            .history(pid)
            .iter()
            .map(|entry| match entry {
                HistoryEntry::Started { pid, .. } => format!("started {pid}"),
                HistoryEntry::Exited { pid, reason, .. } => format!("exited {pid} {reason}"),
                HistoryEntry::Restarted { old, new, .. } => format!("restarted {old} -> {new}"),
            })
            .collect()
    };
    observed.wait_for("both restarts in the history", |o| {
        history(o, r2) == expected
    });
    assert_eq!(
        history(&observed, r0),
        expected,
        "one history for every incarnation"
    );
    // The first incarnation's window says it is dead and shows the whole history.
    let title = format!("KV.Registry {r0} — DEAD (killed)");
    observed.wait_for("the first window's title", |o| o.shows(&title));
    assert!(observed.shows("History (6)"));

    // The newest incarnation's window shows the same history.
    observed.harness.state_mut().windows.open.clear();
    // The dead incarnations are drawn for a moment above the new one: once they are gone, the
    // rows stay where they are while the test clicks. And egui counts two clicks within
    // 0.6 s (of the harness's time, 1/60 s a step) of an earlier double click as a triple
    // click.
    observed.wait_until_gone(r1);
    observed.harness.run_steps(40);
    double_click(&mut observed, &format!("KV.Registry {r2}"));
    observed.wait_for("the newest registry's window", |o| {
        o.harness.state().windows.open.contains_key(&r2) && o.shows("History (6)")
    });
    assert_eq!(
        observed.harness.query_all_by_label("reason killed").count(),
        2
    );
}

// === KV console ===

#[test]
fn the_kv_console_deletes_a_key_and_creates_a_thousand_buckets() {
    let mut observed = observe(on_tab(Tab::Applications));
    observed.wait_for("the first snapshot", |o| o.pid_of("KV.Registry").is_some());
    observed.type_into_field("Bucket", "shopping");
    observed.click("Create bucket");
    observed.wait_for_label("Create bucket shopping: ok");
    observed.type_into_field("Key", "milk");
    observed.type_into_field("Value", "3");
    observed.click("Put");
    observed.wait_for_label("Put shopping milk 3: ok");
    assert_eq!(observed.get("shopping", "milk").as_deref(), Some("3"));

    observed.click("Delete");
    observed.wait_for_label("Delete shopping milk: \"3\"");
    assert_eq!(observed.get("shopping", "milk"), None, "the key is gone");

    observed.click("Create 1,000 buckets");
    // It reports its progress, so its reply says what it did and how long it took.
    observed.wait_for("the reply", |o| {
        o.shows_starting_with("Create 1,000 buckets: ok, 1,000 buckets created in ")
    });
    let bucket_supervisor = observed.pid_of("KV.BucketSupervisor").unwrap();
    observed.wait_for("a thousand and one buckets", |o| {
        o.node
            .process_info(o.runtime_pid(bucket_supervisor))
            .is_some_and(|info| info.children.len() == 1_001)
    });
    assert!(observed.get("bucket-1000", "milk").is_none());
    // The tree folds them: the first 50, then one node for the rest.
    observed.wait_for("the count", |o| o.shows("1,004 processes"));
    observed.wait_for("the fold", |o| {
        o.harness
            .state()
            .applications
            .tree_data()
            .is_some_and(|data| data.rows.iter().any(|row| row.label == "+ 951 KV.Bucket"))
    });
}

// === Missed events ===

/// What a flooder is asked to do, all in one go.
struct Flood {
    /// Killed first (idle agents die on the spot), so their exits are among the first events
    /// the feed drops.
    victims: Vec<runtime::Pid>,
    /// Then this many links and unlinks with `partner`.
    pairs: usize,
    partner: runtime::Pid,
    done: tokio::sync::oneshot::Sender<()>,
}

/// With a single worker thread, a flooder's turn runs from start to end before the
/// subscription's task can read the node's feed, so the feed overflows for certain.
#[test]
fn the_observer_warns_of_missed_events_and_shows_no_ghost() {
    let mut observed = observe_on(runtime(1), on_tab(Tab::Applications));
    let node = observed.node.clone();
    let (partner, flooder, victims) = observed.runtime.block_on(async {
        let partner = node
            .spawn(|_ctx, mut inbox: runtime::Inbox<()>| async move {
                while let runtime::Message::User(()) = inbox.recv().await {}
            })
            .pid();
        let flooder = node.spawn(
            |ctx: runtime::Context, mut inbox: runtime::Inbox<Flood>| async move {
                while let runtime::Message::User(flood) = inbox.recv().await {
                    for victim in flood.victims {
                        ctx.exit(victim, runtime::ExitReason::Kill).unwrap();
                    }
                    for _ in 0..flood.pairs {
                        ctx.link(flood.partner);
                        ctx.unlink(flood.partner);
                    }
                    flood.done.send(()).ok();
                }
            },
        );
        let mut victims = Vec::new();
        for _ in 0..3 {
            let agent = runtime::Agent::start(&node, || 0_u32, runtime::SpawnOptions::new())
                .await
                .unwrap();
            victims.push(agent.pid());
        }
        (partner, flooder, victims)
    });
    let shown: Vec<Pid> = victims.iter().map(|pid| Pid::from(*pid)).collect();
    observed.wait_for("the victims", |o| {
        shown
            .iter()
            .all(|pid| o.harness.state().state.is_alive(*pid))
    });
    assert!(!observed.shows_starting_with("⚠"));

    let (done, finished) = tokio::sync::oneshot::channel();
    let capacity = node.introspect().event_capacity();
    let flood = Flood {
        victims: victims.clone(),
        pairs: capacity,
        partner,
        done,
    };
    assert!(flooder.send(flood).is_ok());
    observed.runtime.block_on(finished).unwrap();

    let missed = (victims.len() + capacity) as u64;
    let warning = format!("⚠ {} missed events", thousands(missed));
    observed.wait_for("the warning", |o| o.shows(&warning));
    assert_eq!(observed.harness.state().state.missed_events, missed);
    observed.wait_for("the view to match the node", |o| {
        o.harness
            .state()
            .state
            .snapshot
            .as_ref()
            .is_some_and(|view| view.same_processes(&full_snapshot(&o.node)))
    });
    for pid in &shown {
        assert!(
            !observed.harness.state().state.is_alive(*pid),
            "no ghost of {pid}"
        );
    }
}

fn thousands(n: u64) -> String {
    otpscope::contract::format::thousands(n)
}

// === Helpers used by a few tests ===

impl Observed {
    /// Waits until a process registered as `name` is shown; gives its pid.
    fn pid_of_when_shown(&mut self, name: &'static str) -> Pid {
        self.wait_for(name, |o| {
            o.pid_of(name)
                .is_some_and(|pid| o.shows(&format!("{name} {pid}")))
        });
        self.pid_of(name).unwrap()
    }

    /// Steps frames until a widget labelled exactly `label` is shown.
    fn wait_for_label(&mut self, label: &str) {
        self.wait_for(label, |o| o.shows(label));
    }

    /// Clicks the text field labelled `label` (a KV console field) and types `text`.
    fn type_into_field(&mut self, label: &'static str, text: &str) {
        self.harness
            .get_by_role_and_label(Role::TextInput, label)
            .click();
        self.harness.run_steps(2);
        self.harness
            .get_by_role_and_label(Role::TextInput, label)
            .type_text(text);
        self.harness.run_steps(2);
    }

    fn shows_starting_with(&self, prefix: &str) -> bool {
        self.labels().iter().any(|label| label.starts_with(prefix))
    }
}
