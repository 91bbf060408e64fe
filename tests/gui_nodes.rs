//! The Observer on several served nodes at once (`otpscope attach ADDR ADDR`), headless with
//! egui_kittest: the nodes bar names each node and switches between them, "All nodes" shows
//! every tree and a click there opens the process in its node, and a node whose service stops
//! is marked lost in the bar and the overview while the others stay live.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;
mod serve_support;

use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{shows, wait_for};
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::nodes::Shown;
use otpscope::gui::{NodesApp, Preferences, Source, Tab};
use otpscope::runtime::Node;
use otpscope::runtime::remote::{self, ConnectOptions, Cookie, ServeOptions, Served};
use otpscope::snapshot::model::Pid;
use tokio::runtime::Runtime;

const DEADLINE: Duration = Duration::from_secs(20);

fn cookie() -> Cookie {
    Cookie::new("gui-nodes-test").unwrap()
}

fn serve_kv(runtime: &Runtime, name: &str) -> (Node, Served) {
    runtime.block_on(async {
        let node = Node::new(name);
        kv::start(&node, Stage::Final).await.unwrap();
        let options = ServeOptions::default()
            .listen("127.0.0.1:0".parse().unwrap())
            .cookie(cookie())
            .control(kv::control::for_node(&node))
            .title(format!("KV on {name}"));
        let served = remote::serve(&node, options).unwrap();
        (node, served)
    })
}

fn source(runtime: &Runtime, served: &Served) -> Box<dyn Source> {
    let options = ConnectOptions::new(cookie());
    Box::new(serve_support::remote_source(
        runtime,
        served.local_addr(),
        options,
    ))
}

#[test]
fn one_window_watches_two_served_nodes_and_marks_the_one_lost() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (alpha_node, alpha) = serve_kv(&runtime, "alpha");
    let (_beta_node, beta) = serve_kv(&runtime, "beta");
    let app = NodesApp::new(
        vec![source(&runtime, &alpha), source(&runtime, &beta)],
        Preferences {
            tab: Tab::Applications,
            ..Preferences::default()
        },
    );
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut NodesApp| app.frame_ui(ui), app);
    let alpha_title = format!("● KV on alpha at {}", alpha.local_addr());
    let beta_title = format!("● KV on beta at {}", beta.local_addr());
    wait_for(&mut harness, "both nodes in the bar", DEADLINE, |h| {
        shows(h, &alpha_title) && shows(h, &beta_title)
    });
    assert_eq!(harness.state().shown, Shown::Node(0));

    // Switch to beta, then to every tree at once.
    harness.get_by_label(&beta_title).click();
    harness.run_steps(2);
    assert_eq!(harness.state().shown, Shown::Node(1));
    harness.get_by_label("All nodes").click();
    wait_for(&mut harness, "both trees in the overview", DEADLINE, |h| {
        h.query_all_by_label_contains("KV.Registry <0.3.0>").count() == 2
    });
    assert!(shows(&harness, "KV on alpha at"));
    assert!(shows(&harness, "— 3 processes"));

    // A click on a process opens it in its node's Observer.
    harness
        .query_all_by_label_contains("KV.Registry <0.3.0>")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().shown, Shown::Node(0));
    assert_eq!(harness.state().nodes[0].state.selected, Some(Pid(3)));

    // Alpha's service stops: alpha is lost, beta stays live.
    alpha.stop();
    drop(alpha_node);
    let lost = format!("○ KV on alpha at {}", alpha.local_addr());
    wait_for(&mut harness, "alpha marked lost", DEADLINE, |h| {
        shows(h, &lost)
    });
    assert!(shows(&harness, &beta_title));
    assert!(shows(&harness, "Disconnected from the node"));
}
