//! The Observer on a node served over TCP (loopback), headless with egui_kittest: the served
//! tree and its app console appear; when the service stops, the Observer says it is
//! disconnected and keeps the last data; when a service comes back on the same address, it
//! reconnects by itself and shows the new node. A long command's progress crosses the wire
//! and shows before its reply.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;
mod serve_support;

use std::net::SocketAddr;
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{Recorder, observer_harness, shows, wait_for};
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::{ObserverApp, Preferences, Tab};
use otpscope::runtime::remote::{self, ConnectOptions, Cookie, ServeOptions, Served};
use otpscope::runtime::{DynamicSupervisor, Node};
use tokio::runtime::Runtime;

const DEADLINE: Duration = Duration::from_secs(20);

fn cookie() -> Cookie {
    Cookie::new("gui-remote-test").unwrap()
}

/// Serves a fresh node named `name` running the KV app on `address`.
fn serve_kv(runtime: &Runtime, name: &str, address: SocketAddr) -> (Node, Served) {
    runtime.block_on(async {
        let node = Node::new(name);
        kv::start(&node, Stage::Final).await.unwrap();
        let options = ServeOptions::default()
            .listen(address)
            .cookie(cookie())
            .control(kv::control::for_node(&node))
            .title(format!("KV on {name}"));
        let served = remote::serve(&node, options).unwrap();
        (node, served)
    })
}

#[test]
fn the_observer_follows_a_served_node_through_its_loss_and_return() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (first_node, served) = serve_kv(&runtime, "first", "127.0.0.1:0".parse().unwrap());
    let address = served.local_addr();
    let source = serve_support::remote_source(&runtime, address, ConnectOptions::new(cookie()));
    let prefs = Preferences {
        tab: Tab::Applications,
        ..Preferences::default()
    };
    let app = ObserverApp::new(Box::new(source), prefs);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app);

    // The served tree, and the KV console its capabilities describe.
    wait_for(&mut harness, "the served tree", DEADLINE, |h| {
        shows(h, "KV.Registry <0.3.0>")
    });
    assert!(shows(&harness, &format!("KV on first at {address}")));
    assert!(harness.query_by_label("Create bucket").is_some());
    assert!(!shows(&harness, "Disconnected from the node"));

    // The service stops: the Observer says so and keeps the last tree.
    served.stop();
    drop(first_node);
    wait_for(&mut harness, "the disconnected banner", DEADLINE, |h| {
        shows(h, "Disconnected from the node")
    });
    assert!(
        shows(&harness, "KV.Registry <0.3.0>"),
        "the last data stays shown"
    );

    // A service comes back on the same address: the Observer reconnects and shows it.
    let (second_node, _served) = serve_kv(&runtime, "second", address);
    let registry = second_node.whereis("KV.Registry").unwrap();
    wait_for(&mut harness, "the reconnection", DEADLINE, |h| {
        !shows(h, "Disconnected from the node")
    });
    wait_for(&mut harness, "the new node's tree", DEADLINE, |h| {
        shows(h, &format!("KV.Registry <0.{}.0>", registry.serial()))
    });
}

#[test]
fn a_served_node_s_progress_reaches_the_observer_before_the_reply() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (node, served) = serve_kv(&runtime, "busy", "127.0.0.1:0".parse().unwrap());
    let source =
        serve_support::remote_source(&runtime, served.local_addr(), ConnectOptions::new(cookie()));
    let (source, record) = Recorder::new(source);
    let app = ObserverApp::new(Box::new(source), Preferences::default());
    let mut harness = observer_harness(app);
    wait_for(&mut harness, "the console", DEADLINE, |h| {
        h.query_by_label("Create 1,000 buckets").is_some()
    });
    harness.get_by_label("Create 1,000 buckets").click();
    wait_for(&mut harness, "the reply", DEADLINE, |h| {
        shows(h, "Create 1,000 buckets: ok, 1,000 buckets created in")
    });
    let supervisor = DynamicSupervisor::whereis(&node, kv::BUCKET_SUPERVISOR).unwrap();
    let counts = runtime.block_on(supervisor.count_children()).unwrap();
    assert_eq!(counts.active, 1_000, "every bucket runs by the reply");
    let record = record.lock().unwrap();
    let (id, _) = record.sent.last().unwrap();
    let reports: Vec<(u64, u64)> = record
        .progress
        .iter()
        .filter(|(report, _)| report == id)
        .map(|(_, progress)| (progress.done, progress.total))
        .collect();
    assert_eq!(reports, [(0, 1_000), (1_000, 1_000)]);
}
