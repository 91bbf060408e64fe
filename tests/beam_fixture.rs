//! The BEAM test harness itself (`tests/beam_support`): a node of the chapter's KV app in
//! Elixir starts on its own EPMD, runs the chapter's final tree, answers `eval` from its own
//! point of view, runs beside another, and leaves nothing behind when stopped or dropped.
//! These tests need Erlang/OTP and Elixir, and fail (not skip) without them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod beam_support;

use std::path::Path;
use std::time::Duration;

use beam_support::{KvNode, epmd_names, wait_until};

#[test]
fn the_node_runs_the_kv_app_under_its_random_name_registered_with_its_own_epmd() {
    let node = KvNode::start();
    let (short, host) = node.name().split_once('@').unwrap();
    assert_eq!(host, "127.0.0.1");
    assert_eq!(short.len(), "kv_".len() + 8, "{short}");
    assert!(short.starts_with("kv_"), "{short}");
    assert_eq!(node.cookie().len(), 20);
    assert!(node.cookie().bytes().all(|byte| byte.is_ascii_uppercase()));

    // The EPMD on the node's port knows this node, and only it.
    let names = epmd_names(node.epmd_port()).unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(names[0].0, node.short_name());

    // The node's own view: its name, its cookie, the EPMD port it was told, the app.
    assert_eq!(node.eval("node()"), format!(":{:?}", node.name()));
    assert_eq!(node.eval("Node.get_cookie() |> to_string()"), node.cookie());
    assert_eq!(
        node.eval(r#"System.get_env("ERL_EPMD_PORT")"#),
        node.epmd_port().to_string()
    );
    assert_eq!(
        node.eval("List.keymember?(Application.started_applications(), :kv, 0)"),
        "true"
    );
    assert_eq!(
        node.eval(":application.get_key(:kv, :mod)"),
        "{:ok, {KV, []}}"
    );
    // Nobody else is connected: eval does not go through a second node.
    assert_eq!(node.eval("Node.list(:connected)"), "[]");
}

#[test]
fn kv_supervisor_is_one_for_all_over_the_bucket_supervisor_then_the_registry() {
    let node = KvNode::start();
    // OTP lists a supervisor's children last started first: the bucket supervisor started
    // first, then the registry, as the chapter's final init/1 writes them.
    assert_eq!(
        node.eval(
            "Supervisor.which_children(KV.Supervisor) \
             |> Enum.map(fn {id, _pid, type, modules} -> {id, type, modules} end)"
        ),
        "[{KV.Registry, :worker, [KV.Registry]}, \
         {KV.BucketSupervisor, :supervisor, [DynamicSupervisor]}]"
    );
    // OTP 25's supervisor state record: {:state, name, strategy, {ids, children}, dynamics,
    // intensity, period, restarts, dynamic_restarts, auto_shutdown, module, args}.
    assert_eq!(
        node.eval(
            "{:state, name, strategy, {ids, _}, _, intensity, period, _, _, _, module, _} = \
             :sys.get_state(KV.Supervisor); {name, strategy, ids, intensity, period, module}"
        ),
        "{{:local, KV.Supervisor}, :one_for_all, [KV.Registry, KV.BucketSupervisor], 3, 5, \
         KV.Supervisor}"
    );
    assert_eq!(
        node.eval(
            "[:supervisor.get_childspec(KV.Supervisor, KV.BucketSupervisor), \
              :supervisor.get_childspec(KV.Supervisor, KV.Registry)] \
             |> Enum.map(fn {:ok, spec} -> {spec.id, spec.restart, spec.shutdown, spec.type} end)"
        ),
        "[{KV.BucketSupervisor, :permanent, :infinity, :supervisor}, \
         {KV.Registry, :permanent, 5000, :worker}]"
    );
    assert_eq!(
        node.eval(":sys.get_state(KV.BucketSupervisor).strategy"),
        ":one_for_one"
    );
    assert_eq!(
        node.eval("DynamicSupervisor.count_children(KV.BucketSupervisor)"),
        "%{active: 0, specs: 0, supervisors: 0, workers: 0}"
    );
    // The app's master sits above KV.Supervisor.
    assert_eq!(
        node.eval(
            "master = :application_controller.get_master(:kv); \
             {top, module} = :application_master.get_child(master); \
             {top == Process.whereis(KV.Supervisor), module}"
        ),
        "{true, KV}"
    );
}

#[test]
fn killing_the_registry_restarts_both_children_with_new_pids() {
    let node = KvNode::start();
    // From the node's side, what the attach tests will see from outside: the registry dies
    // `killed`, one_for_all shuts the bucket supervisor down, and both come back. The
    // supervisor restarts them while it handles the registry's exit, so a call to it made
    // after the second :DOWN sees the new children.
    assert_eq!(
        node.eval(
            r#"registry = Process.whereis(KV.Registry)
            buckets = Process.whereis(KV.BucketSupervisor)
            refs = [Process.monitor(registry), Process.monitor(buckets)]
            # A monitor is a signal: one still in flight when the bucket supervisor takes
            # one_for_all's shutdown (from another sender, so unordered with it) would report
            # :noproc. An info request from this process arrives after its monitor, so once it
            # is answered both monitors are set.
            for pid <- [registry, buckets] do
              {:monitored_by, watchers} = Process.info(pid, :monitored_by)
              true = self() in watchers
            end
            Process.exit(registry, :kill)
            reasons =
              for ref <- refs do
                receive do
                  {:DOWN, ^ref, :process, _, reason} -> reason
                after
                  5000 -> :no_down
                end
              end
            [{KV.Registry, new_registry, _, _}, {KV.BucketSupervisor, new_buckets, _, _}] =
              Supervisor.which_children(KV.Supervisor)
            {reasons, is_pid(new_registry) and new_registry != registry,
             is_pid(new_buckets) and new_buckets != buckets,
             Process.whereis(KV.Registry) == new_registry}"#
        ),
        "{[:killed, :shutdown], true, true, true}"
    );
}

#[test]
fn a_bucket_created_through_the_registry_is_looked_up_holds_values_and_is_temporary() {
    let node = KvNode::start();
    assert_eq!(
        node.eval(r#"KV.Registry.lookup(KV.Registry, "shopping")"#),
        ":error"
    );
    // The create is a cast; a later eval's lookup, from another process, may come first:
    // wait for it.
    assert_eq!(
        node.eval(r#"KV.Registry.create(KV.Registry, "shopping")"#),
        ":ok"
    );
    wait_until("the shopping bucket", Duration::from_secs(5), || {
        node.eval(r#"KV.Registry.lookup(KV.Registry, "shopping") |> elem(0)"#) == ":ok"
    });
    assert_eq!(
        node.eval(
            r#"{:ok, bucket} = KV.Registry.lookup(KV.Registry, "shopping")
            KV.Bucket.put(bucket, "milk", 3)
            [KV.Bucket.get(bucket, "milk"), KV.Bucket.delete(bucket, "milk"),
             KV.Bucket.get(bucket, "milk")]"#
        ),
        "[3, 3, nil]"
    );
    // The bucket is the bucket supervisor's only child, a temporary KV.Bucket worker.
    assert_eq!(
        node.eval(
            r#"{:ok, bucket} = KV.Registry.lookup(KV.Registry, "shopping")
            [{:undefined, child, :worker, modules}] =
              DynamicSupervisor.which_children(KV.BucketSupervisor)
            {child == bucket, modules, Supervisor.child_spec(KV.Bucket, []).restart}"#
        ),
        "{true, [KV.Bucket], :temporary}"
    );
    // The chapter's "removes bucket on crash": the registry survives, the name goes, and
    // the bucket is not restarted.
    assert_eq!(
        node.eval(
            r#"registry = Process.whereis(KV.Registry)
            {:ok, bucket} = KV.Registry.lookup(KV.Registry, "shopping")
            Agent.stop(bucket, :shutdown)
            {KV.Registry.lookup(KV.Registry, "shopping"),
             Process.whereis(KV.Registry) == registry,
             DynamicSupervisor.count_children(KV.BucketSupervisor).active}"#
        ),
        "{:error, true, 0}"
    );
}

#[test]
fn eval_returns_what_the_code_printed_or_its_value_and_reports_a_raise() {
    let node = KvNode::start();
    assert_eq!(node.eval(r#"IO.puts("printed"); :ignored"#), "printed");
    assert_eq!(node.eval(r#""a string as it is""#), "a string as it is");
    assert_eq!(node.eval(r#"%{"a" => [1, 2]}"#), r#"%{"a" => [1, 2]}"#);
    assert_eq!(
        node.eval("Process.whereis(KV.Registry) |> is_pid()"),
        "true"
    );
    let error = node.try_eval(r#"raise "boom""#).unwrap_err();
    assert!(error.contains("(RuntimeError) boom"), "{error}");
    let error = node.try_eval("Process.exit(self(), :kill)").unwrap_err();
    assert!(error.contains(":killed"), "{error}");
    // The node is still there for the next one.
    assert_eq!(node.eval("1 + 1"), "2");
}

#[test]
fn two_nodes_run_at_once_each_on_its_own_epmd() {
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(KvNode::start);
        let b = scope.spawn(KvNode::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.name(), b.name());
    assert_ne!(a.cookie(), b.cookie());
    assert_ne!(a.epmd_port(), b.epmd_port());
    for (node, other) in [(&a, &b), (&b, &a)] {
        let names: Vec<String> = epmd_names(node.epmd_port())
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, [node.short_name()], "{}", other.name());
        assert_eq!(node.eval("node() |> to_string()"), node.name());
        assert_eq!(node.eval("Node.list(:connected)"), "[]");
    }
    // Each runs its own app: a bucket made on one is unknown to the other.
    a.eval(r#"KV.Registry.create(KV.Registry, "only_on_a")"#);
    wait_until("the bucket on a", Duration::from_secs(5), || {
        a.eval(r#"KV.Registry.lookup(KV.Registry, "only_on_a") |> elem(0)"#) == ":ok"
    });
    assert_eq!(
        b.eval(r#"KV.Registry.lookup(KV.Registry, "only_on_a")"#),
        ":error"
    );
}

#[test]
fn a_stopped_node_is_gone_from_its_epmd_and_dropping_it_leaves_nothing_behind() {
    let mut node = KvNode::start();
    let (node_pid, epmd_pid) = (node.node_os_pid(), node.epmd_os_pid());
    let folder = node.folder().to_owned();
    assert!(node.is_registered());
    assert!(is_running(node_pid) && is_running(epmd_pid));

    node.stop();
    assert!(!is_running(node_pid), "the node's OS process is gone");
    wait_until(
        "the stopped node to leave its EPMD",
        Duration::from_secs(5),
        || !node.is_registered(),
    );
    // The EPMD is still there, with nobody registered.
    assert_eq!(epmd_names(node.epmd_port()).unwrap(), []);
    let error = node.try_eval("1").unwrap_err();
    assert!(error.contains("is stopped"), "{error}");

    let port = node.epmd_port();
    drop(node);
    assert!(!is_running(epmd_pid), "the EPMD's OS process is gone");
    assert!(
        epmd_names(port).is_err(),
        "nothing answers on the EPMD port"
    );
    assert!(!folder.exists(), "{} is removed", folder.display());
}

#[test]
fn dropping_a_running_node_kills_it_and_its_epmd() {
    let node = KvNode::start();
    let (node_pid, epmd_pid) = (node.node_os_pid(), node.epmd_os_pid());
    drop(node);
    assert!(!is_running(node_pid) && !is_running(epmd_pid));
}

/// Whether an OS process with this id exists (and is not a zombie), as Linux's `/proc`
/// tells.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).is_ok_and(
        |stat| {
            // "PID (COMM) STATE ...": a zombie is Z.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        },
    )
}
