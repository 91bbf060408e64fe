//! Attaching to a real BEAM node (issue 13): the chapter's KV app in Elixir
//! (`tests/fixtures/kv_elixir`), on a node of its own with a random name and cookie.
//!
//! What is checked, each against what the node itself says:
//! - the tree: `KV.Supervisor` one_for_all with `KV.BucketSupervisor` then `KV.Registry`,
//!   under the `kv` application;
//! - killing `KV.Registry`: it exits `killed`, both children come back with new pids, the
//!   restarts are counted, and the node's own `Process.whereis` agrees;
//! - the chapter's scenario gives the same outcome on the Elixir app and the Rust replica;
//! - bad input: a wrong cookie, a node that is not running, no EPMD, an unknown pid, a
//!   `sys:get_state` that times out, processes dying while being read, and a node that goes
//!   down mid-session: each a clear error, never a panic;
//! - creating buckets reports its progress and answers once every bucket runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod beam_support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use beam_support::KvNode;
use otpscope::beam::{BeamClient, ConnectOptions, LinkState};
use otpscope::contract::{
    Command as NodeCommand, CommandError, EventKind, ExitReason, Pid, ProcessKind, Progress, Reply,
    Snapshot, Strategy, Update,
};
use otpscope::snapshot::ProgressReporter;

/// How long any wait in these tests may last.
const DEADLINE: Duration = Duration::from_secs(15);

async fn connect(node: &KvNode) -> BeamClient {
    BeamClient::connect(node.connect_options(), Duration::from_millis(20))
        .await
        .expect("attaches to the node")
}

/// The error connecting with `options` fails with, as text; fails the test, saying
/// `expected`, if it connects.
async fn connect_error(options: ConnectOptions, expected: &str) -> String {
    BeamClient::connect(options, Duration::from_millis(20))
        .await
        .err()
        .expect(expected)
        .to_string()
}

/// Takes updates into `view` until `done` holds for it, or fails after [`DEADLINE`].
async fn until(
    client: &mut BeamClient,
    view: &mut Option<Snapshot>,
    events: &mut Vec<EventKind>,
    what: &str,
    mut done: impl FnMut(&Snapshot, &[EventKind]) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(snapshot) = view.as_ref()
            && done(snapshot, events)
        {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.recv()).await {
            Ok(Some(Update::Full(snapshot))) => *view = Some(snapshot),
            Ok(Some(Update::Delta(delta))) => {
                // Deltas before the awaited full snapshot belong to an earlier stream.
                if let Some(view) = view.as_mut() {
                    view.apply(&delta).unwrap();
                }
            }
            Ok(Some(Update::Events { events: new, .. })) => {
                events.extend(new.into_iter().map(|event| event.kind));
            }
            Ok(None) => panic!("the client closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; events: {events:#?}"),
        }
    }
}

/// Attaches to `node` and takes updates until the KV app's registry is in the view; gives
/// the client, the view and the events taken so far.
async fn attach_to_kv(node: &KvNode) -> (BeamClient, Option<Snapshot>, Vec<EventKind>) {
    let mut client = connect(node).await;
    let (mut view, mut events) = (None, Vec::new());
    until(&mut client, &mut view, &mut events, "the tree", |s, _| {
        named(s, "KV.Registry").is_some()
    })
    .await;
    (client, view, events)
}

/// Sends the exit signal `reason` to `pid` through `client`, as the Observer's kill does.
async fn exit(client: &BeamClient, pid: Pid, reason: ExitReason) -> Result<Reply, CommandError> {
    client.execute(NodeCommand::Exit { pid, reason }).await
}

fn named(snapshot: &Snapshot, name: &str) -> Option<Pid> {
    snapshot
        .processes()
        .find(|info| info.name.as_deref() == Some(name))
        .map(|info| info.pid)
}

/// `#PID<0.112.0>` as the contract's pid.
fn elixir_pid(text: &str) -> Pid {
    text.trim()
        .trim_start_matches("#PID")
        .parse()
        .unwrap_or_else(|_| panic!("not a pid: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kv_tree_reads_as_the_chapter_draws_it_and_a_killed_registry_restarts_both() {
    let node = KvNode::start();
    let mut client = connect(&node).await;
    assert!(
        client.info().title.contains("KV app on"),
        "{}",
        client.info().title
    );
    assert!(client.info().capabilities.app("kv").is_some());
    let (mut view, mut events) = (None, Vec::new());
    until(
        &mut client,
        &mut view,
        &mut events,
        "the KV tree",
        |s, _| named(s, "KV.Registry").is_some(),
    )
    .await;
    let snapshot = view.clone().unwrap();

    // The supervisor: one_for_all, 3 restarts in 5 s, its children in start order.
    let supervisor = named(&snapshot, "KV.Supervisor").unwrap();
    let info = snapshot.process(supervisor).unwrap();
    assert_eq!(
        info.kind,
        ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5
        }
    );
    let children: Vec<&str> = snapshot
        .children_of(supervisor)
        .map(|child| child.display_name())
        .collect();
    assert_eq!(children, ["KV.BucketSupervisor", "KV.Registry"]);
    let registry = named(&snapshot, "KV.Registry").unwrap();
    let buckets = named(&snapshot, "KV.BucketSupervisor").unwrap();
    assert_eq!(
        snapshot.process(registry).unwrap().child_id.as_deref(),
        Some("KV.Registry")
    );
    assert!(matches!(
        snapshot.process(buckets).unwrap().kind,
        ProcessKind::DynamicSupervisor { .. }
    ));
    // Under the kv application: master, then the process that started KV.Supervisor.
    let ancestors = snapshot.ancestors(supervisor);
    let app = ancestors.last().copied().unwrap();
    assert_eq!(&*snapshot.process(app).unwrap().label, "kv");
    // The pids are the node's own.
    assert_eq!(
        elixir_pid(&node.eval("inspect(Process.whereis(KV.Registry))")),
        registry
    );
    assert_eq!(
        elixir_pid(&node.eval("inspect(Process.whereis(KV.Supervisor))")),
        supervisor
    );
    let facts = snapshot.process(registry).unwrap().vm.clone().unwrap();
    assert_eq!(facts.initial_call.as_deref(), Some("KV.Registry.init/1"));
    assert!(facts.memory_bytes > 0);

    // Kill the registry: one_for_all restarts both children, with new pids.
    let reply = exit(&client, registry, ExitReason::Kill).await;
    assert_eq!(reply, Ok(Reply::Done));
    until(
        &mut client,
        &mut view,
        &mut events,
        "both restarts",
        |s, e| {
            let restarts = e
                .iter()
                .filter(|kind| matches!(kind, EventKind::Restarted { .. }))
                .count();
            restarts == 2 && named(s, "KV.Registry").is_some_and(|pid| pid != registry)
        },
    )
    .await;
    assert!(
        events.contains(&EventKind::Exited {
            pid: registry,
            reason: ExitReason::Killed
        }),
        "{events:#?}"
    );
    let restarted: Vec<(&str, Pid)> = events
        .iter()
        .filter_map(|kind| match kind {
            EventKind::Restarted {
                supervisor: by,
                child_id,
                old,
                new,
            } => {
                assert_eq!(*by, supervisor);
                assert_ne!(old, new);
                Some((&**child_id, *old))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        restarted,
        [("KV.BucketSupervisor", buckets), ("KV.Registry", registry)]
    );
    // The exit signal the Observer sent is in the feed, with who sent it.
    assert!(events.iter().any(|kind| matches!(
        kind,
        EventKind::Command { target: Some(pid), command, .. } if *pid == registry && command.contains("kill")
    )));
    let snapshot = view.unwrap();
    let new_registry = named(&snapshot, "KV.Registry").unwrap();
    assert_eq!(snapshot.process(new_registry).unwrap().restarts, 1);
    let new_buckets = named(&snapshot, "KV.BucketSupervisor").unwrap();
    assert_ne!(new_buckets, buckets);
    assert_eq!(snapshot.process(new_buckets).unwrap().restarts, 1);
    // Only the node's own monitors: this client's (another node's pid) is not one of its
    // processes, and must not read as one (it was once taken for `<0.0.0>`, init).
    assert_eq!(
        node.eval(
            "{:monitored_by, by} = Process.info(Process.whereis(KV.Supervisor), :monitored_by)\n\
             inspect(Enum.filter(by, &(node(&1) == node())))"
        ),
        "[]"
    );
    assert!(
        node.eval(
            "{:monitored_by, by} = Process.info(Process.whereis(KV.Supervisor), :monitored_by)\n\
               inspect(length(by))"
        )
        .parse::<usize>()
        .unwrap()
            >= 1,
        "this client monitors it"
    );
    assert_eq!(
        snapshot
            .process(supervisor)
            .unwrap()
            .monitored_by
            .as_slice(),
        []
    );
    assert_eq!(
        elixir_pid(&node.eval("inspect(Process.whereis(KV.Registry))")),
        new_registry
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_the_app_and_bad_targets_are_clear_errors() {
    let node = KvNode::start();
    let (mut client, mut view, mut events) = attach_to_kv(&node).await;
    let kv = otpscope::demo::kv::control::create_bucket("shopping");
    assert_eq!(client.execute(kv).await, Ok(Reply::Done));
    let put = otpscope::demo::kv::control::put("shopping", "milk", "3");
    assert_eq!(client.execute(put).await, Ok(Reply::Done));
    let get = otpscope::demo::kv::control::get("shopping", "milk");
    assert_eq!(
        client.execute(get).await,
        Ok(Reply::Value {
            value: Some("3".to_owned())
        })
    );
    // The node agrees.
    assert_eq!(
        node.eval(
            "{:ok, b} = KV.Registry.lookup(KV.Registry, \"shopping\"); KV.Bucket.get(b, \"milk\")"
        ),
        "3"
    );
    let bucket = elixir_pid(
        &node.eval("{:ok, b} = KV.Registry.lookup(KV.Registry, \"shopping\"); inspect(b)"),
    );
    until(&mut client, &mut view, &mut events, "the bucket", |s, _| {
        s.contains(bucket)
    })
    .await;
    // A bucket's state, in Elixir's syntax.
    let state = client.execute(NodeCommand::GetState { pid: bucket }).await;
    let Ok(Reply::State {
        rows: Some(rows), ..
    }) = state
    else {
        panic!("{state:?}")
    };
    assert_eq!(rows[0].value, r#"%{"milk" => "3"}"#);
    let lookup = otpscope::demo::kv::control::lookup("nothing");
    assert_eq!(client.execute(lookup).await, Ok(Reply::Found { pid: None }));
    let missing = otpscope::demo::kv::control::get("nothing", "milk");
    assert_eq!(
        client.execute(missing).await,
        Err(CommandError::UnknownName("bucket nothing".to_owned()))
    );

    // An unknown pid.
    let unknown = Pid(9_999_999);
    assert_eq!(
        exit(&client, unknown, ExitReason::Kill).await,
        Err(CommandError::NoProcess(unknown))
    );
    // A process that does not answer system messages: sys:get_state times out.
    let silent = elixir_pid(&node.eval(
        "pid = spawn(fn -> Process.sleep(:infinity) end); Process.register(pid, :silent); inspect(pid)",
    ));
    until(
        &mut client,
        &mut view,
        &mut events,
        "the silent process",
        |s, _| s.contains(silent),
    )
    .await;
    let started = Instant::now();
    assert_eq!(
        client.execute(NodeCommand::GetState { pid: silent }).await,
        Err(CommandError::Timeout { timeout_ms: 2_000 })
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // A custom reason reaches the process as sent.
    let reply = exit(&client, silent, ExitReason::custom("boom")).await;
    assert_eq!(reply, Ok(Reply::Done));
    until(&mut client, &mut view, &mut events, "the exit", |_, e| {
        e.contains(&EventKind::Exited {
            pid: silent,
            reason: ExitReason::custom("boom"),
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_dying_while_read_and_a_node_going_down_are_handled() {
    let mut node = KvNode::start();
    let (mut client, mut view, mut events) = attach_to_kv(&node).await;
    // Short-lived processes, spawned all the time: many die between a listing and a read.
    node.eval(
        "spawn(fn -> Enum.each(1..20_000, fn _ -> spawn(fn -> :ok end); Process.sleep(0) end) end); :ok",
    );
    let reads_before = view.as_ref().unwrap().seq;
    until(
        &mut client,
        &mut view,
        &mut events,
        "ten more reads",
        |s, _| s.seq >= reads_before + 10,
    )
    .await;
    assert!(client.link() == LinkState::Live);

    // The node drops the connection: the client says so, connects again, and starts over
    // with a full snapshot.
    let mut link = client.link_changes();
    node.eval("Enum.each(Node.list(:hidden), &Node.disconnect/1)");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while !(seen
        .iter()
        .any(|state| matches!(state, LinkState::Lost(..)))
        && client.link() == LinkState::Live)
    {
        tokio::time::timeout_at(deadline, link.changed())
            .await
            .expect("the link changes")
            .unwrap();
        seen.push(link.borrow_and_update().clone());
    }
    let mut fresh = None;
    let mut none = Vec::new();
    until(
        &mut client,
        &mut fresh,
        &mut none,
        "a full snapshot after reconnecting",
        |s, _| named(s, "KV.Registry").is_some(),
    )
    .await;

    // The node goes down: the client says so, fails commands clearly, and keeps trying.
    node.stop();
    let deadline = Instant::now() + DEADLINE;
    while !matches!(client.link(), LinkState::Lost(_, attempts) if attempts >= 1) {
        assert!(Instant::now() < deadline, "still {:?}", client.link());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reply = exit(&client, Pid(1), ExitReason::Kill).await;
    assert!(
        matches!(reply, Err(CommandError::Disconnected(_))),
        "{reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_cookie_a_missing_node_and_no_epmd_are_clear_errors() {
    let node = KvNode::start();
    let wrong = ConnectOptions {
        cookie: "not-the-cookie".to_owned(),
        ..node.connect_options()
    };
    let error = connect_error(wrong, "a wrong cookie is refused").await;
    assert!(error.contains("refused the handshake"), "{error}");
    assert!(error.contains("cookie"), "{error}");
    assert!(
        !error.contains("not-the-cookie"),
        "the cookie is printed: {error}"
    );

    let missing = ConnectOptions {
        node: "nobody@127.0.0.1".to_owned(),
        ..node.connect_options()
    };
    let error = connect_error(missing, "a missing node is an error").await;
    assert!(error.contains("no node named nobody"), "{error}");
    assert!(
        error.contains(node.short_name()),
        "names the nodes EPMD knows: {error}"
    );

    let no_epmd = ConnectOptions {
        epmd_port: beam_support::free_port(),
        ..node.connect_options()
    };
    let error = connect_error(no_epmd, "no EPMD is an error").await;
    assert!(error.contains("cannot ask EPMD"), "{error}");
}

fn otpscope(node: &KvNode, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ERL_EPMD_PORT", node.epmd_port().to_string())
        .output()
        .expect("the otpscope binary runs")
}

/// The KV subtree of `run`'s final tree: each line's shape without pids and labels (depth
/// below `KV.Supervisor`, name, kind, restart type, restarts).
fn kv_shape(output: &str) -> Vec<String> {
    let tree = output
        .split("== final tree")
        .nth(1)
        .expect("run prints the final tree");
    let depth = |line: &str| line.chars().take_while(|c| !c.is_alphanumeric()).count();
    let mut lines = tree
        .lines()
        .skip_while(|line| !line.contains("KV.Supervisor <"));
    let first = lines.next().expect("the KV tree is in the final tree");
    let top = depth(first);
    std::iter::once(first)
        .chain(lines.take_while(|line| !line.starts_with("==") && depth(line) > top))
        .map(|line| {
            let words: Vec<&str> = line
                .split_whitespace()
                .filter(|word| {
                    !word.starts_with('<')
                        && !word.starts_with('[')
                        && !word.starts_with(|c: char| "│├└─".contains(c))
                })
                .collect();
            format!("{} {}", (depth(line) - top) / 3, words.join(" "))
        })
        .collect()
}

#[test]
fn the_chapter_scenario_gives_the_same_outcome_on_the_elixir_app_and_the_rust_replica() {
    let node = KvNode::start();
    let script = "assets/scenarios/final.txt";
    let beam = otpscope(
        &node,
        &[
            "run",
            "--beam",
            node.name(),
            "--cookie",
            node.cookie(),
            script,
        ],
    );
    let beam_out = String::from_utf8_lossy(&beam.stdout).into_owned();
    assert!(
        beam.status.success(),
        "{beam_out}\n{}",
        String::from_utf8_lossy(&beam.stderr)
    );
    let rust = otpscope(&node, &["run", script]);
    let rust_out = String::from_utf8_lossy(&rust.stdout).into_owned();
    assert!(rust.status.success(), "{rust_out}");
    // The same expectations passed on both: lookups, gets, counts, restarts.
    let summary = |out: &str| out.lines().last().unwrap_or_default().to_owned();
    assert_eq!(summary(&beam_out), summary(&rust_out));
    assert_eq!(
        summary(&beam_out),
        "== 23 commands, 11 expectations passed, 0 failed"
    );
    // The same final tree: names, kinds, restart types and restart counts.
    assert_eq!(
        kv_shape(&beam_out),
        kv_shape(&rust_out),
        "{beam_out}\n{rust_out}"
    );
    assert_eq!(
        kv_shape(&beam_out)[0],
        "0 KV.Supervisor supervisor one_for_all (3 in 5s)"
    );
    // The cookie never shows.
    assert!(!beam_out.contains(node.cookie()));
    assert!(!String::from_utf8_lossy(&beam.stderr).contains(node.cookie()));
}

#[test]
fn dump_beam_prints_the_tree_and_a_wrong_cookie_exits_2() {
    let node = KvNode::start();
    let dump = otpscope(
        &node,
        &["dump", "--beam", node.name(), "--cookie", node.cookie()],
    );
    let out = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(out.starts_with(&format!("node {} (", node.name())), "{out}");
    assert!(out.contains("KV.Supervisor <"), "{out}");
    let json = otpscope(
        &node,
        &[
            "dump",
            "--json",
            "--beam",
            node.name(),
            "--cookie",
            node.cookie(),
        ],
    );
    let snapshot: Snapshot =
        serde_json::from_slice(&json.stdout).expect("dump --json is a snapshot");
    assert!(named(&snapshot, "KV.Registry").is_some());

    let wrong = otpscope(
        &node,
        &["dump", "--beam", node.name(), "--cookie", "wrong-cookie"],
    );
    assert_eq!(wrong.status.code(), Some(2));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        err.contains(&format!("cannot attach to {}", node.name())),
        "{err}"
    );
    assert!(err.contains("cookie"), "{err}");
    assert!(!err.contains("wrong-cookie"), "{err}");
}

/// A plain Erlang node (no Elixir) beside the fixture's, on the fixture's EPMD: its kernel
/// tree reads, and terms are written in Erlang's syntax.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_erlang_node_reads_in_erlang_syntax() {
    let kv = KvNode::start();
    let name = format!("erl_{}@127.0.0.1", std::process::id());
    let cookie = "plain-erlang-cookie";
    let erl = Command::new("erl")
        .args([
            "-name",
            &name,
            "-setcookie",
            cookie,
            "-noshell",
            "-start_epmd",
            "false",
        ])
        .env("ERL_EPMD_PORT", kv.epmd_port().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("erl starts");
    // Killed when the test ends, passed or failed.
    let _erl = KillOnDrop(erl);
    let short = name.split('@').next().unwrap();
    beam_support::wait_until("the Erlang node registered", DEADLINE, || {
        beam_support::is_registered(kv.epmd_port(), short)
    });
    let options = ConnectOptions {
        node: name.clone(),
        cookie: cookie.to_owned(),
        epmd_port: kv.epmd_port(),
    };
    let mut client = BeamClient::connect(options, Duration::from_millis(20))
        .await
        .expect("attaches to the Erlang node");
    assert!(
        client
            .info()
            .title
            .starts_with(&format!("BEAM node on {name} (BEAM, OTP ")),
        "{}",
        client.info().title
    );
    assert!(client.info().capabilities.apps.is_empty(), "no KV console");
    let (mut view, mut events) = (None, Vec::new());
    until(
        &mut client,
        &mut view,
        &mut events,
        "the kernel tree",
        |s, _| named(s, "kernel_sup").is_some(),
    )
    .await;
    let snapshot = view.unwrap();
    let kernel_sup = named(&snapshot, "kernel_sup").unwrap();
    assert_eq!(
        snapshot.process(kernel_sup).unwrap().kind,
        ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: 0,
            max_seconds: 1
        }
    );
    let state = client
        .execute(NodeCommand::GetState { pid: kernel_sup })
        .await;
    let Ok(Reply::State {
        rows: Some(rows), ..
    }) = state
    else {
        panic!("{state:?}")
    };
    assert!(
        rows[0]
            .value
            .starts_with("{state, {local, kernel_sup}, one_for_all,"),
        "{}",
        rows[0].value
    );
}

/// A child process killed when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// A dynamic supervisor with more than a thousand children: after the first read, its
/// children are found from who started each process (`$ancestors`, a registered name here)
/// instead of `which_children`; the tree must read the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_dynamic_supervisor_reads_its_children_from_their_ancestors() {
    let node = KvNode::start();
    node.eval("for i <- 1..1200, do: KV.Registry.create(KV.Registry, \"b#{i}\"); :ok");
    beam_support::wait_until("1,200 buckets", DEADLINE, || {
        node.eval("DynamicSupervisor.count_children(KV.BucketSupervisor).active") == "1200"
    });
    // Every `supervisor:which_children(KV.BucketSupervisor)` made on the node from here on
    // (by the reader's rpc processes, new ones: traced as `all` takes them) is counted.
    assert_eq!(
        node.eval(
            r#"buckets = Process.whereis(KV.BucketSupervisor)
            {:ok, _} = Agent.start(fn -> 0 end, name: :which_children_calls)
            tracer =
              spawn(fn ->
                loop = fn loop ->
                  receive do
                    {:trace, _, :call, _} ->
                      Agent.update(:which_children_calls, &(&1 + 1))
                      loop.(loop)
                  end
                end
                loop.(loop)
              end)
            1 = :erlang.trace_pattern({:supervisor, :which_children, 1}, [{[buckets], [], []}], [:global])
            :erlang.trace(:all, true, [:call, {:tracer, tracer}])
            :ok"#
        ),
        ":ok"
    );
    let which_children_calls = || {
        // A trace message is sent before the call runs; a call made for a read is counted
        // once the tracer has taken it: ask twice, a moment apart, until they agree.
        let mut last = node.eval("Agent.get(:which_children_calls, & &1)");
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = node.eval("Agent.get(:which_children_calls, & &1)");
            if now == last {
                return now;
            }
            last = now;
        }
    };
    let mut client = connect(&node).await;
    let (mut view, mut events) = (None, Vec::new());
    // The first read lists them; the reads after it derive them.
    until(
        &mut client,
        &mut view,
        &mut events,
        "three reads",
        |s, _| s.seq >= 3 && named(s, "KV.BucketSupervisor").is_some(),
    )
    .await;
    // Three reads, one listing.
    assert_eq!(which_children_calls(), "1");
    let snapshot = view.clone().unwrap();
    let buckets = named(&snapshot, "KV.BucketSupervisor").unwrap();
    let children: Vec<_> = snapshot.children_of(buckets).collect();
    assert_eq!(children.len(), 1200);
    assert!(children.iter().all(|child| &*child.label == "KV.Bucket"
        && child.parent == Some(buckets)
        && child.kind == ProcessKind::Agent));
    assert!(
        children.windows(2).all(|pair| pair[0].pid < pair[1].pid),
        "pid order"
    );
    // One killed: gone from the tree with its reason, the others stay.
    let victim = children[600].pid;
    let reply = exit(&client, victim, ExitReason::Kill).await;
    assert_eq!(reply, Ok(Reply::Done));
    until(
        &mut client,
        &mut view,
        &mut events,
        "the bucket gone",
        |s, e| {
            !s.contains(victim)
                && e.contains(&EventKind::Exited {
                    pid: victim,
                    reason: ExitReason::Killed,
                })
        },
    )
    .await;
    let snapshot = view.unwrap();
    assert_eq!(snapshot.children_of(buckets).count(), 1199);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_buckets_reports_progress_and_answers_once_every_bucket_runs() {
    let node = KvNode::start();
    let (client, _, _) = attach_to_kv(&node).await;
    let (sender, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let progress = ProgressReporter::new(move |progress: Progress| {
        sender.send((progress.done, progress.total)).ok();
    });
    let create = otpscope::demo::kv::control::create_buckets(1_500);
    let answer = client.send_reporting(create, progress);
    let reply = tokio::time::timeout(DEADLINE, answer)
        .await
        .expect("answers in time")
        .unwrap();
    assert_eq!(reply, Ok(Reply::Done));
    // Every bucket runs by the reply, as the node itself says.
    assert_eq!(
        node.eval("DynamicSupervisor.count_children(KV.BucketSupervisor).active"),
        "1500"
    );
    let mut seen = Vec::new();
    while let Ok(report) = reports.try_recv() {
        seen.push(report);
    }
    assert_eq!(seen.first(), Some(&(0, 1_500)), "{seen:?}");
    assert_eq!(seen.last(), Some(&(1_500, 1_500)), "{seen:?}");
    assert!(
        seen.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "{seen:?}"
    );
}
