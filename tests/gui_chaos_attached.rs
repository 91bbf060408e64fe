//! The Chaos panel on attached nodes, driven by label through the real Observer (headless,
//! with egui_kittest): on a Rust node served over TCP in the test, and on a real BEAM node
//! (the chapter's KV app in Elixir). The panel opens a session of its own on the node for
//! each run, as `otpscope attach` gives it; the test checks on the node's side that the
//! processes the panel lists as killed really exited with the reason sent, and were removed
//! or restarted as the KV app's design says. Also: a read-only node keeps Start disabled, and
//! a node that is gone is the run's error, shown in the panel.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod beam_support;

mod gui_support;

mod serve_support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use beam_support::KvNode;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gui_support::labels;
use otpscope::beam::{BeamClient, ConnectOptions as BeamOptions};
use otpscope::demo::kv::control::KvControl;
use otpscope::demo::kv::{self, Stage};
use otpscope::gui::nodes::Shown;
use otpscope::gui::{
    Extension, NodeWithExtensions, NodesApp, ObserverApp, Preferences, Source, Tab,
};
use otpscope::panels::chaos::ChaosPanel;
use otpscope::runtime::remote::{self, ConnectOptions, Cookie, ServeOptions, Served};
use otpscope::runtime::{ExitReason, Node, Pid};
use otpscope::scenario::session::{SCRIPT_INTERVAL, SessionOpener};
use otpscope::sources::beam::BeamSource;
use tokio::runtime::Runtime;

/// How long a test waits for something to show or happen.
const DEADLINE: Duration = Duration::from_secs(30);

/// The prefix of a bucket's tree path in the KV app's final design, served from Rust.
const BUCKET_PATH: &str = "KV.Supervisor/KV.BucketSupervisor/KV.Bucket";

/// The same on the BEAM, where the tree starts at the application.
const BEAM_BUCKET_PATH: &str = "kv/application_master/KV.Supervisor/KV.BucketSupervisor/KV.Bucket";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cookie() -> Cookie {
    Cookie::new("gui-chaos-attached-test").unwrap()
}

/// Serves a fresh node running the KV app's final design on a free loopback port.
fn serve_kv(runtime: &Runtime, read_only: bool) -> (Node, Served) {
    runtime.block_on(async {
        let node = Node::new("served");
        kv::start(&node, Stage::Final).await.unwrap();
        let options = ServeOptions::default()
            .listen("127.0.0.1:0".parse::<SocketAddr>().unwrap())
            .cookie(cookie())
            .control(kv::control::for_node(&node))
            .title("KV on served")
            .read_only(read_only);
        let served = remote::serve(&node, options).unwrap();
        (node, served)
    })
}

/// The Observer on `source` with a Chaos panel that opens its sessions with `opener`, set up
/// by `set`.
fn observer(
    source: Box<dyn Source>,
    opener: SessionOpener,
    set: impl FnOnce(&mut ChaosPanel),
) -> Harness<'static, ObserverApp> {
    let mut chaos = ChaosPanel::opening(opener);
    set(&mut chaos);
    let prefs = Preferences {
        tab: Tab::Applications,
        ..Preferences::default()
    };
    let app = ObserverApp::new(source, prefs).with_extension(Box::new(chaos));
    Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app)
}

/// The Observer on the node `served` serves, attached as `otpscope attach` does: its Chaos
/// panel opens a new connection with the same address and cookie for each run.
fn attach(
    runtime: &Runtime,
    served: &Served,
    set: impl FnOnce(&mut ChaosPanel),
) -> Harness<'static, ObserverApp> {
    let (source, opener) = remote_parts(runtime, served);
    observer(source, opener, set)
}

/// A source on the node `served` serves, and an opener of sessions on it with the same
/// address and cookie.
fn remote_parts(runtime: &Runtime, served: &Served) -> (Box<dyn Source>, SessionOpener) {
    let address = served.local_addr();
    let options = ConnectOptions::new(cookie());
    let opener = SessionOpener::remote(
        address.to_string(),
        options.clone(),
        runtime.handle().clone(),
    );
    let source = serve_support::remote_source(runtime, address, options);
    (Box::new(source), opener)
}

/// Resolves with `pid`'s exit reason, watched on `node` itself from now on.
fn watch(runtime: &Runtime, node: &Node, pid: Pid) -> tokio::task::JoinHandle<ExitReason> {
    let _entered = runtime.enter();
    runtime.spawn(node.watch(pid))
}

/// The exit reason `watch` resolves with; fails, naming `what`, if none comes by the
/// deadline.
fn exit_reason(
    runtime: &Runtime,
    watch: tokio::task::JoinHandle<ExitReason>,
    what: &str,
) -> ExitReason {
    runtime
        .block_on(async { tokio::time::timeout(DEADLINE, watch).await })
        .expect(what)
        .unwrap()
}

/// The form of the runs that kill every bucket: three kills at most in five seconds, all
/// with `boom`.
fn kill_buckets(chaos: &mut ChaosPanel) {
    chaos.seed = 3;
    chaos.rate_per_second = 4.0;
    chaos.duration_s = 5.0;
    chaos.target = "KV.Bucket".to_owned();
    chaos.reasons = "boom".to_owned();
}

// === helpers by label ===

/// [`gui_support::wait_for`] within [`DEADLINE`].
fn wait_for<S>(
    harness: &mut Harness<'static, S>,
    what: &str,
    condition: impl Fn(&Harness<'static, S>) -> bool,
) {
    gui_support::wait_for(harness, what, DEADLINE, condition);
}

/// Whether the button labelled `label` is shown and enabled.
fn is_enabled<S>(harness: &Harness<'static, S>, label: &str) -> bool {
    harness
        .query_by_role_and_label(Role::Button, label)
        .is_some_and(|button| !button.accesskit_node().is_disabled())
}

/// Opens the Chaos panel from the top bar.
fn open_chaos<S>(harness: &mut Harness<'static, S>) {
    harness.get_by_label("☰ Chaos").click();
    harness.run_steps(2);
}

/// Waits for the served KV tree, then opens the Chaos panel.
fn open_chaos_on_served_tree<S>(harness: &mut Harness<'static, S>) {
    wait_for(harness, "the served tree", |h| {
        gui_support::shows(h, "KV.Registry <0.")
    });
    open_chaos(harness);
}

/// Waits for Start to be enabled, and clicks it.
fn start_chaos<S>(harness: &mut Harness<'static, S>) {
    wait_for(harness, "Start chaos enabled", |h| {
        is_enabled(h, "▶ Start chaos")
    });
    harness
        .get_by_role_and_label(Role::Button, "▶ Start chaos")
        .click();
    harness.run_steps(2);
}

/// The distinct labels that start with `prefix` (a label may be read more than once).
fn starting<S>(harness: &Harness<'static, S>, prefix: &str) -> BTreeSet<String> {
    labels(harness)
        .into_iter()
        .filter(|label| label.starts_with(prefix))
        .collect()
}

/// Checks that the panel lists kills by tree path, all under `prefix`: every label that
/// starts with `root` (only the panel's kill paths do) starts with `prefix`, or is the first
/// line of one that wraps.
fn assert_kills_under<S>(harness: &Harness<'static, S>, root: &str, prefix: &str) {
    let paths = starting(harness, root);
    assert!(
        paths.iter().any(|path| path.starts_with(prefix))
            && paths
                .iter()
                .all(|path| path.starts_with(prefix) || prefix.starts_with(path.as_str())),
        "{paths:?}"
    );
}

/// The pids of the processes the panel lists as having exited with `reason` after a kill
/// (`• KV.Bucket <0.5.0> exited: boom`), as the Observer writes them.
fn listed_exits<S>(harness: &Harness<'static, S>, reason: &str) -> BTreeSet<String> {
    starting(harness, "• ")
        .into_iter()
        .filter_map(|line| {
            let pid = line.strip_suffix(&format!(" exited: {reason}"))?;
            let start = pid.find('<')?;
            Some(pid[start..].to_owned())
        })
        .collect()
}

// === a served Rust node ===

#[test]
fn chaos_on_a_served_node_kills_its_buckets_with_the_reason_and_the_registry_forgets_them() {
    let runtime = runtime();
    let (node, served) = serve_kv(&runtime, false);
    let kv = KvControl::new(&node);
    let names = ["shopping", "groceries", "pantry"];
    let buckets: Vec<_> = names
        .iter()
        .map(|name| runtime.block_on(kv.create(name)).unwrap().pid())
        .collect();
    // Watched on the node itself, before any kill: each resolves with the exit reason.
    let watches: Vec<_> = buckets
        .iter()
        .map(|&pid| watch(&runtime, &node, pid))
        .collect();

    let mut harness = attach(&runtime, &served, kill_buckets);
    open_chaos_on_served_tree(&mut harness);
    assert!(
        gui_support::shows(&harness, &format!("Acts on node {}", served.local_addr())),
        "the panel names the node it acts on"
    );
    start_chaos(&mut harness);
    wait_for(&mut harness, "three kills and the summary", |h| {
        gui_support::shows(h, "seed 3: 3 kills (boom 3)")
    });
    // Each kill by its path under the bucket supervisor, and what followed: the bucket
    // killed exited with the reason sent. The three pids the panel lists are the buckets'.
    assert_kills_under(&harness, "KV.Supervisor/", BUCKET_PATH);
    let listed = listed_exits(&harness, "boom");
    let expected: BTreeSet<String> = buckets.iter().map(ToString::to_string).collect();
    assert_eq!(listed, expected, "{:?}", labels(&harness));
    assert!(gui_support::shows(
        &harness,
        "stopped early: no live process matches `KV.Bucket`"
    ));
    assert!(gui_support::shows(&harness, "the tree survived"));
    assert!(is_enabled(&harness, "▶ Start chaos"), "the run is over");

    // On the node: each bucket exited with the reason sent; being temporary, none was
    // restarted, and the registry, which monitors them, forgot their names.
    for watch in watches {
        let reason = exit_reason(&runtime, watch, "the bucket exited");
        assert_eq!(reason, ExitReason::custom("boom"));
    }
    assert!(buckets.iter().all(|&pid| !node.is_alive(pid)));
    assert!(
        !node
            .processes()
            .iter()
            .any(|info| &*info.label == "KV.Bucket"),
        "no bucket was restarted"
    );
    beam_support::wait_until("the registry to forget the buckets", DEADLINE, || {
        names
            .iter()
            .all(|name| runtime.block_on(kv.bucket(name)).is_err())
    });
}

#[test]
fn chaos_on_a_served_node_restarts_its_registry_as_one_for_all_says() {
    let runtime = runtime();
    let (node, served) = serve_kv(&runtime, false);
    let registry = node.whereis("KV.Registry").unwrap();
    let bucket_supervisor = node.whereis("KV.BucketSupervisor").unwrap();
    let registry_down = watch(&runtime, &node, registry);
    let mut harness = attach(&runtime, &served, |chaos| {
        chaos.seed = 11;
        chaos.rate_per_second = 2.0;
        chaos.duration_s = 1.0;
        chaos.target = "KV.Supervisor/KV.Registry".to_owned();
        chaos.reasons = "boom".to_owned();
    });
    open_chaos_on_served_tree(&mut harness);
    start_chaos(&mut harness);
    wait_for(
        &mut harness,
        "a kill of the registry, what followed, and the summary",
        |h| {
            gui_support::shows(h, "KV.Supervisor/KV.Registry")
                && gui_support::shows(h, "restarted")
                && gui_support::shows(h, "the tree survived")
        },
    );
    let listed = listed_exits(&harness, "boom");
    assert!(
        listed.contains(&registry.to_string()),
        "the first registry is listed as exited with boom: {:?}",
        labels(&harness)
    );

    // On the node: the registry exited with the reason sent, and KV.Supervisor (one_for_all)
    // started both its children again, with new pids.
    let reason = exit_reason(&runtime, registry_down, "the registry exited");
    assert_eq!(reason, ExitReason::custom("boom"));
    let new_registry = node.whereis("KV.Registry").expect("a registry again");
    let new_bucket_supervisor = node
        .whereis("KV.BucketSupervisor")
        .expect("a bucket supervisor again");
    assert_ne!(new_registry, registry);
    assert_ne!(new_bucket_supervisor, bucket_supervisor);
    assert!(
        !node.is_alive(bucket_supervisor),
        "one_for_all restarted it too"
    );
}

#[test]
fn a_read_only_served_node_keeps_start_chaos_disabled() {
    let runtime = runtime();
    let (_node, served) = serve_kv(&runtime, true);
    let mut harness = attach(&runtime, &served, |_| {});
    open_chaos_on_served_tree(&mut harness);
    harness.run_steps(3);
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "▶ Start chaos")
            .is_some(),
        "the button is shown"
    );
    assert!(!is_enabled(&harness, "▶ Start chaos"));
}

#[test]
fn a_run_that_cannot_open_its_session_shows_why_in_the_panel() {
    let runtime = runtime();
    let (_node, served) = serve_kv(&runtime, false);
    let address = served.local_addr();
    let source = serve_support::remote_source(&runtime, address, ConnectOptions::new(cookie()));
    // The node is live in the Observer, but its cookie has changed since: the run's own
    // connection is refused.
    let stale = ConnectOptions::new(Cookie::new("an-older-cookie").unwrap());
    let opener = SessionOpener::remote(address.to_string(), stale, runtime.handle().clone());
    let mut harness = observer(Box::new(source), opener, |chaos| {
        chaos.target = "KV.Bucket".to_owned();
    });
    open_chaos_on_served_tree(&mut harness);
    start_chaos(&mut harness);
    wait_for(&mut harness, "the run's error", |h| {
        gui_support::shows(h, &format!("cannot attach to {address}"))
    });
    let error = starting(&harness, "cannot attach to");
    assert!(
        error.iter().any(|line| line.contains("cookie")),
        "the error says why: {error:?}"
    );
    assert!(is_enabled(&harness, "▶ Start chaos"), "the run is over");
}

#[test]
fn with_two_served_nodes_each_chaos_panel_acts_on_its_own_node() {
    let runtime = runtime();
    let (alpha_node, alpha) = serve_kv(&runtime, false);
    let (beta_node, beta) = serve_kv(&runtime, false);
    let alpha_kv = KvControl::new(&alpha_node);
    let beta_kv = KvControl::new(&beta_node);
    let alpha_bucket = runtime.block_on(alpha_kv.create("shopping")).unwrap().pid();
    let beta_bucket = runtime.block_on(beta_kv.create("shopping")).unwrap().pid();
    let beta_down = watch(&runtime, &beta_node, beta_bucket);
    let nodes: Vec<NodeWithExtensions> = [&alpha, &beta]
        .into_iter()
        .map(|served| {
            let (source, opener) = remote_parts(&runtime, served);
            let mut chaos = ChaosPanel::opening(opener);
            chaos.seed = 1;
            chaos.rate_per_second = 5.0;
            chaos.target = "KV.Bucket".to_owned();
            chaos.reasons = "boom".to_owned();
            (source, vec![Box::new(chaos) as Box<dyn Extension>])
        })
        .collect();
    let prefs = Preferences {
        tab: Tab::Applications,
        ..Preferences::default()
    };
    let app = NodesApp::with_extensions(nodes, prefs);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut NodesApp| app.frame_ui(ui), app);
    let beta_title = format!("● KV on served at {}", beta.local_addr());
    wait_for(&mut harness, "beta in the nodes bar", |h| {
        gui_support::shows(h, &beta_title)
    });

    // Beta shown, its own panel: it names beta, and kills there.
    harness.get_by_label(&beta_title).click();
    harness.run_steps(2);
    assert_eq!(harness.state().shown, Shown::Node(1));
    open_chaos(&mut harness);
    assert!(gui_support::shows(
        &harness,
        &format!("Acts on node {}", beta.local_addr())
    ));
    start_chaos(&mut harness);
    wait_for(&mut harness, "the kill and the summary", |h| {
        gui_support::shows(h, "seed 1: 1 kills (boom 1)")
    });
    assert_eq!(
        listed_exits(&harness, "boom"),
        BTreeSet::from([beta_bucket.to_string()])
    );
    let reason = exit_reason(&runtime, beta_down, "beta's bucket exited");
    assert_eq!(reason, ExitReason::custom("boom"));
    // Alpha's bucket (the same pid on its own node) was not touched.
    assert!(alpha_node.is_alive(alpha_bucket), "alpha's bucket lives on");
    assert!(runtime.block_on(alpha_kv.bucket("shopping")).is_ok());
}

// === a BEAM node ===

/// `#PID<0.112.0>` as the Observer writes it: `<0.112.0>`.
fn pid_text(elixir: &str) -> String {
    elixir.trim().trim_start_matches("#PID").to_owned()
}

#[test]
fn chaos_on_a_beam_node_kills_its_buckets_with_the_reason_and_the_registry_forgets_them() {
    let runtime = runtime();
    let node = KvNode::start();
    // Three buckets (created by casts, then looked up by the same process, so after them),
    // watched on the node itself before any kill: each DOWN is kept with its reason.
    let pids = node.eval(
        "names = [\"shopping\", \"groceries\", \"pantry\"]\n\
         Enum.each(names, &KV.Registry.create(KV.Registry, &1))\n\
         pids = Enum.map(names, fn n -> {:ok, p} = KV.Registry.lookup(KV.Registry, n); p end)\n\
         {:ok, _} = Agent.start(fn -> [] end, name: :chaos_downs)\n\
         _watcher = spawn(fn ->\n\
           Enum.each(pids, &Process.monitor/1)\n\
           loop = fn loop ->\n\
             receive do\n\
               {:DOWN, _, :process, pid, reason} ->\n\
                 Agent.update(:chaos_downs, &[{inspect(pid), reason} | &1])\n\
                 loop.(loop)\n\
             end\n\
           end\n\
           loop.(loop)\n\
         end)\n\
         pids |> Enum.map(&inspect/1) |> Enum.join(\",\")",
    );
    let pids: Vec<&str> = pids.split(',').collect();
    assert_eq!(pids.len(), 3, "{pids:?}");

    let options = BeamOptions {
        node: node.name().to_owned(),
        cookie: node.cookie().to_owned(),
        epmd_port: node.epmd_port(),
    };
    let client = runtime
        .block_on(BeamClient::connect(
            options.clone(),
            Duration::from_millis(20),
        ))
        .unwrap();
    let opener = SessionOpener::beam(options, SCRIPT_INTERVAL, runtime.handle().clone());
    let mut harness = observer(Box::new(BeamSource::new(client)), opener, kill_buckets);
    wait_for(&mut harness, "the node's first snapshot", |h| {
        gui_support::shows(h, " processes")
    });
    open_chaos(&mut harness);
    assert!(gui_support::shows(
        &harness,
        &format!("Acts on node {}", node.name())
    ));
    start_chaos(&mut harness);
    wait_for(&mut harness, "three kills and the summary", |h| {
        gui_support::shows(h, "seed 3: 3 kills (boom 3)")
    });
    assert_kills_under(&harness, "kv/", BEAM_BUCKET_PATH);
    let listed = listed_exits(&harness, "boom");
    let expected: BTreeSet<String> = pids.iter().map(|pid| pid_text(pid)).collect();
    assert_eq!(listed, expected, "{:?}", labels(&harness));
    assert!(gui_support::shows(&harness, "the tree survived"));

    // On the node: each bucket went DOWN with the reason sent; being temporary, none was
    // restarted, and the registry forgot their names.
    beam_support::wait_until("three DOWNs on the node", DEADLINE, || {
        node.eval("length(Agent.get(:chaos_downs, & &1))") == "3"
    });
    let downs = node.eval(
        "Agent.get(:chaos_downs, & &1) |> Enum.map(fn {p, r} -> \"#{p} #{inspect(r)}\" end) \
         |> Enum.sort() |> Enum.join(\",\")",
    );
    let mut expected: Vec<String> = pids.iter().map(|pid| format!("{pid} :boom")).collect();
    expected.sort();
    assert_eq!(downs.split(',').collect::<Vec<_>>(), expected);
    assert_eq!(
        node.eval("DynamicSupervisor.count_children(KV.BucketSupervisor).active"),
        "0",
        "no bucket was restarted"
    );
    beam_support::wait_until("the registry to forget the buckets", DEADLINE, || {
        node.eval(
            "Enum.all?([\"shopping\", \"groceries\", \"pantry\"], \
             &(KV.Registry.lookup(KV.Registry, &1) == :error))",
        ) == "true"
    });
}
