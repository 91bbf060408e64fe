//! The Observer on a real BEAM node (the chapter's KV app in Elixir), headless with
//! egui_kittest: the application's tree and the KV console appear with the node's own pids; a
//! restart done on the node shows; when the node goes down, the Observer says it is
//! disconnected and keeps the last data.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod beam_support;

mod gui_support;

use std::time::Duration;

use beam_support::KvNode;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{shows, wait_for};
use otpscope::beam::BeamClient;
use otpscope::gui::{ObserverApp, Preferences, Tab};
use otpscope::sources::beam::BeamSource;

const DEADLINE: Duration = Duration::from_secs(20);

/// The search box's hint, shown while it is empty.
const SEARCH_HINT: &str = "Search pid, name, label  (Ctrl+F)";

/// The search box while it holds `value` (`None`: empty, showing its hint).
fn holding(value: Option<&str>) -> impl Fn(&egui_kittest::kittest::AccessKitNode<'_>) -> bool + '_ {
    move |node| match value {
        None => node.placeholder() == Some(SEARCH_HINT),
        Some(value) => {
            node.role() == egui::accesskit::Role::TextInput
                && node.value().as_deref() == Some(value)
        }
    }
}

/// Types `text` into the tree's search box (emptied first if it holds `previous`), which
/// reveals and selects the first match; waits until the box holds exactly `text`.
fn search(harness: &mut Harness<'static, ObserverApp>, previous: Option<&str>, text: &str) {
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    harness.run_steps(3);
    assert!(
        harness.get_by(holding(previous)).is_focused(),
        "Ctrl+F focuses the search box"
    );
    if previous.is_some() {
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.run_steps(2);
        harness.key_press(egui::Key::Backspace);
        wait_for(harness, "the search box emptied", DEADLINE, |h| {
            h.query_by(holding(None)).is_some()
        });
    }
    harness.get_by(holding(None)).type_text(text);
    wait_for(harness, "the search typed", DEADLINE, |h| {
        h.query_by(holding(Some(text))).is_some()
    });
}

/// Waits until the process written `pid` (`<0.112.0>`) is the selection.
fn wait_selected(harness: &mut Harness<'static, ObserverApp>, pid: &str) {
    wait_for(harness, &format!("{pid} selected"), DEADLINE, |h| {
        h.state()
            .state
            .selected
            .map(|selected| selected.to_string())
            == Some(pid.to_owned())
    });
}

/// `#PID<0.112.0>` as the Observer writes it: `<0.112.0>`.
fn pid_text(elixir: &str) -> String {
    elixir.trim().trim_start_matches("#PID").to_owned()
}

#[test]
fn the_observer_shows_a_beam_node_its_restarts_and_its_loss() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut node = KvNode::start();
    let client = runtime
        .block_on(BeamClient::connect(
            node.connect_options(),
            Duration::from_millis(20),
        ))
        .unwrap();
    let prefs = Preferences {
        tab: Tab::Applications,
        ..Preferences::default()
    };
    let app = ObserverApp::new(Box::new(BeamSource::new(client)), prefs);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);

    // The kv application's tree, with the node's own pids, and the KV console.
    let registry = pid_text(&node.eval("inspect(Process.whereis(KV.Registry))"));
    wait_for(&mut harness, "the first snapshot", DEADLINE, |h| {
        shows(h, "kernel_sup")
    });
    search(&mut harness, None, &registry);
    wait_selected(&mut harness, &registry);
    wait_for(&mut harness, "the KV tree", DEADLINE, |h| {
        shows(h, &format!("KV.Registry {registry}"))
    });
    assert!(shows(&harness, &format!("KV app on {}", node.name())));
    assert!(shows(&harness, "KV.BucketSupervisor <"));
    assert!(harness.query_by_label("Create bucket").is_some());

    // The registry is killed on the node: the Observer shows its successor.
    node.eval("Process.exit(Process.whereis(KV.Registry), :kill); :ok");
    beam_support::wait_until("a new registry", DEADLINE, || {
        node.try_eval("inspect(Process.whereis(KV.Registry))")
            .is_ok_and(|pid| pid.starts_with("#PID") && pid_text(&pid) != registry)
    });
    let successor = pid_text(&node.eval("inspect(Process.whereis(KV.Registry))"));
    // A search selects its first match when typed: type it once the Observer has read the
    // successor (a read every 20 ms), as a user would search for what the tree shows.
    wait_for(&mut harness, "the successor read", DEADLINE, |h| {
        h.state().state.snapshot.as_ref().is_some_and(|snapshot| {
            snapshot
                .processes()
                .any(|info| info.pid.to_string() == successor)
        })
    });
    search(&mut harness, Some(&registry), &successor);
    wait_selected(&mut harness, &successor);
    wait_for(&mut harness, "the new registry", DEADLINE, |h| {
        shows(h, &format!("KV.Registry {successor}"))
    });

    // The node goes down: the Observer says so and keeps the last tree.
    node.stop();
    wait_for(&mut harness, "the disconnected banner", DEADLINE, |h| {
        shows(h, "Disconnected from the node")
    });
    let registries: Vec<String> = gui_support::labels(&harness)
        .into_iter()
        .filter(|label| label.contains("KV.Registry"))
        .collect();
    let in_model = harness.state().state.snapshot.as_ref().map(|snapshot| {
        snapshot
            .processes()
            .filter(|info| info.name.as_deref() == Some("KV.Registry"))
            .map(|info| info.pid.to_string())
            .collect::<Vec<_>>()
    });
    assert!(
        shows(&harness, &format!("KV.Registry {successor}")),
        "shown: {registries:?}; in the model: {in_model:?}; selected: {:?}",
        harness.state().state.selected
    );
}
