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

/// Types `text` into the tree's search box (holding `previous`, or empty with its hint),
/// which reveals and selects the first match.
fn search(harness: &mut Harness<'static, ObserverApp>, previous: Option<&str>, text: &str) {
    let is_box = |node: &egui_kittest::kittest::AccessKitNode<'_>| match previous {
        None => node.placeholder() == Some("Search pid, name, label  (Ctrl+F)"),
        Some(previous) => {
            node.role() == egui::accesskit::Role::TextInput
                && node.value().as_deref() == Some(previous)
        }
    };
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    harness.run_steps(3);
    assert!(
        harness.get_by(is_box).is_focused(),
        "Ctrl+F focuses the search box"
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(2);
    harness.get_by(is_box).type_text(text);
    harness.run_steps(3);
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
    search(&mut harness, Some(&registry), &successor);
    wait_for(&mut harness, "the new registry", DEADLINE, |h| {
        shows(h, &format!("KV.Registry {successor}"))
    });

    // The node goes down: the Observer says so and keeps the last tree.
    node.stop();
    wait_for(&mut harness, "the disconnected banner", DEADLINE, |h| {
        shows(h, "Disconnected from the node")
    });
    assert!(shows(&harness, &format!("KV.Registry {successor}")));
}
