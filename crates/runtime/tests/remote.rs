//! Serving a node over TCP and attaching to it, all on loopback: the handshake (cookies,
//! roles, versions), the stream and commands through it, and every kind of bad client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use otpscope_runtime::observe::model::{
    AppCommand, AppSpec, ArgKind, ArgSpec, Command, CommandError, CommandSpec, EventKind,
    ExitReason, Pid, Progress, Reply,
};
use otpscope_runtime::observe::{AppControl, AppFuture, Control, ProgressReporter};
use otpscope_runtime::observe::{Snapshot, Update};
use otpscope_runtime::remote::{
    ConnectOptions, Connection, Cookie, RemoteError, Role, ServeOptions, Served, ServerMessage,
    connect, serve,
};
use otpscope_runtime::{
    Agent, ChildSpec, Node, SpawnOptions, Strategy, Supervisor, SupervisorFlags,
};
use support::{wait_until, within};

fn cookie(text: &str) -> Cookie {
    Cookie::new(text).unwrap()
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A node running a one_for_one supervisor over a registered agent `worker`.
async fn node_with_tree(name: &str) -> Node {
    let node = Node::new(name);
    let worker = ChildSpec::worker("worker", |ctx| async move {
        let agent = Agent::start_link(
            &ctx,
            || 0_u32,
            SpawnOptions::new().label("Worker").name("worker"),
        )
        .await?;
        Ok(agent.pid().into())
    });
    Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![worker],
        SpawnOptions::new().label("Top").name("top"),
    )
    .await
    .unwrap();
    node
}

fn serve_with(node: &Node, options: ServeOptions) -> Served {
    serve(
        node,
        options.listen(loopback()).cookie(cookie("control-secret")),
    )
    .unwrap()
}

async fn attach(served: &Served, secret: &str) -> Result<Connection, RemoteError> {
    connect(served.local_addr(), &ConnectOptions::new(cookie(secret))).await
}

/// Receives until `found` picks something out of a message, within 5 s.
async fn receive_until<T>(
    connection: &mut Connection,
    mut found: impl FnMut(ServerMessage) -> Option<T>,
) -> T {
    within("the awaited message", async {
        loop {
            let message = connection.receive().await.unwrap();
            if let Some(value) = found(message) {
                return value;
            }
        }
    })
    .await
}

async fn first_snapshot(connection: &mut Connection) -> Snapshot {
    receive_until(connection, |message| match message {
        ServerMessage::Update(Update::Full(snapshot)) => Some(snapshot),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_cookie_watches_the_tree_and_kills_through_it() {
    let node = node_with_tree("served").await;
    let served = serve_with(&node, ServeOptions::default().title("test tree"));
    let mut client = attach(&served, "control-secret").await.unwrap();
    assert_eq!(client.role(), Role::Control);
    assert_eq!(client.node().name, "served");
    assert_eq!(client.node().title, "test tree");
    assert!(client.node().capabilities.control);

    client.subscribe(Duration::from_millis(5)).await.unwrap();
    let snapshot = first_snapshot(&mut client).await;
    let worker = node.whereis("worker").unwrap();
    let top = node.whereis("top").unwrap();
    let names: Vec<(Pid, Option<&str>)> = snapshot
        .processes()
        .map(|info| (info.pid, info.name.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            (Pid(top.serial()), Some("top")),
            (Pid(worker.serial()), Some("worker"))
        ]
    );

    let killed = Pid(worker.serial());
    client
        .command(
            7,
            Command::Exit {
                pid: killed,
                reason: ExitReason::custom("boom"),
            },
        )
        .await
        .unwrap();
    let mut reply = None;
    let mut story = Vec::new();
    within("the reply and the restart", async {
        while reply.is_none()
            || !story
                .iter()
                .any(|line: &String| line.starts_with("restart"))
        {
            match client.receive().await.unwrap() {
                ServerMessage::Reply { id, result } => reply = Some((id, result)),
                ServerMessage::Update(Update::Events { events, .. }) => {
                    for event in events {
                        story.push(match event.kind {
                            EventKind::Command {
                                from,
                                command,
                                target,
                            } => {
                                assert!(from.starts_with("remote 127.0.0.1:"), "{from}");
                                assert!(from.ends_with(" (control)"), "{from}");
                                assert_eq!(target, Some(killed));
                                format!("command {command}")
                            }
                            EventKind::Exited { pid, reason } => format!("exit {pid} {reason}"),
                            EventKind::Restarted { old, .. } => format!("restart {old}"),
                            other => other.name().to_owned(),
                        });
                    }
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(reply, Some((7, Ok(Reply::Done))));
    let story: Vec<&str> = story
        .iter()
        .map(String::as_str)
        .filter(|line| !matches!(*line, "spawned" | "linked" | "unlinked"))
        .collect();
    assert_eq!(
        story,
        [
            format!("command exit {killed} boom"),
            format!("exit {killed} boom"),
            format!("restart {killed}"),
        ]
    );
    assert_eq!(served.clients(), 1);
    drop(client);
    wait_until("the server to see the client go", || served.clients() == 0).await;
}

/// An app with one command, `count` (a whole number `to`), that reports each step from 1 to
/// `to` as progress, then answers.
struct CountingApp;

impl AppControl for CountingApp {
    fn spec(&self) -> AppSpec {
        let to = ArgSpec::new("to", "To", ArgKind::Integer);
        AppSpec {
            name: "counting".into(),
            title: "Counting".into(),
            prompt: None,
            commands: vec![CommandSpec::new("count", "Count").arg(to)],
        }
    }

    fn execute(&self, command: AppCommand) -> AppFuture<'_> {
        self.execute_reporting(command, ProgressReporter::ignore())
    }

    fn execute_reporting(&self, command: AppCommand, progress: ProgressReporter) -> AppFuture<'_> {
        Box::pin(async move {
            let to = command.integer("to")?.max(0) as u64;
            for step in 1..=to {
                tokio::task::yield_now().await;
                progress.report(Progress::new(step, to, "counted"));
            }
            Ok(Reply::Done)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_s_progress_crosses_the_wire_in_order_before_its_reply() {
    let node = node_with_tree("progress").await;
    let control = Control::new(&node).with_app(std::sync::Arc::new(CountingApp));
    let served = serve_with(&node, ServeOptions::default().control(control));
    let mut client = attach(&served, "control-secret").await.unwrap();
    let count = Command::App(AppCommand::new("counting", "count").arg("to", 5_i64));
    client.command(3, count).await.unwrap();
    let mut reports = Vec::new();
    let result = receive_until(&mut client, |message| match message {
        ServerMessage::Progress { id: 3, progress } => {
            reports.push(progress);
            None
        }
        ServerMessage::Reply { id: 3, result } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(result, Ok(Reply::Done));
    let expected: Vec<Progress> = (1..=5)
        .map(|step| Progress::new(step, 5, "counted"))
        .collect();
    assert_eq!(
        reports, expected,
        "every report, in order, before the reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_cookie_is_refused_and_the_node_goes_on_serving() {
    let node = node_with_tree("guarded").await;
    let served = serve_with(&node, ServeOptions::default());
    let error = attach(&served, "guess").await.unwrap_err();
    assert!(
        matches!(&error, RemoteError::Refused(why) if why == "wrong cookie"),
        "{error}"
    );
    assert_eq!(error.to_string(), "refused by the node: wrong cookie");
    assert_eq!(served.refused(), 1);
    let mut client = attach(&served, "control-secret").await.unwrap();
    client.subscribe(Duration::from_millis(5)).await.unwrap();
    assert_eq!(first_snapshot(&mut client).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_client_watches_and_every_command_is_refused() {
    let node = node_with_tree("read-only").await;
    let served = serve_with(
        &node,
        ServeOptions::default().read_only_cookie(cookie("watch-secret")),
    );
    let mut client = attach(&served, "watch-secret").await.unwrap();
    assert_eq!(client.role(), Role::ReadOnly);
    assert!(!client.node().capabilities.control);
    client.subscribe(Duration::from_millis(5)).await.unwrap();
    first_snapshot(&mut client).await;
    let worker = node.whereis("worker").unwrap();
    let seq = node.introspect().next_event_seq();
    client
        .command(
            1,
            Command::Exit {
                pid: Pid(worker.serial()),
                reason: ExitReason::Kill,
            },
        )
        .await
        .unwrap();
    let result = receive_until(&mut client, |message| match message {
        ServerMessage::Reply { id: 1, result } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(result, Err(CommandError::ReadOnly));
    assert!(node.is_alive(worker));
    assert!(support::events_since(&node, seq).is_empty());

    // A node served read-only gives the control cookie no more.
    let served = serve_with(&node, ServeOptions::default().read_only(true));
    let client = attach(&served, "control-secret").await.unwrap();
    assert_eq!(client.role(), Role::ReadOnly);
    assert!(!client.node().capabilities.control);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_version_is_named_and_refused_on_both_ends() {
    let node = node_with_tree("versions").await;
    let served = serve_with(&node, ServeOptions::default());
    // A hello from a future client: magic, protocol 99, format 1, then a nonce.
    let mut stream = TcpStream::connect(served.local_addr()).await.unwrap();
    let mut hello = b"otpscope".to_vec();
    hello.extend([99, 1]);
    hello.extend([0u8; 32]);
    stream
        .write_all(&(hello.len() as u32).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&hello).await.unwrap();
    let mut answer = Vec::new();
    within("the refusal and the close", stream.read_to_end(&mut answer))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    let expected = format!(
        "version mismatch: the peer speaks protocol 99 with format 1, this end protocol {} with \
         format {}",
        otpscope_runtime::remote::PROTOCOL_VERSION,
        otpscope_runtime::observe::FORMAT_VERSION
    );
    assert!(text.contains(&expected), "{text}");
    assert_eq!(served.refused(), 1);
    // The node goes on serving those who speak its version.
    attach(&served, "control-secret").await.unwrap();
}

/// Opens a raw connection, writes `bytes`, and returns what the node sends until it closes.
async fn raw(served: &Served, bytes: &[u8], close_after: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(served.local_addr()).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    if close_after {
        stream.shutdown().await.unwrap();
    }
    let mut answer = Vec::new();
    within(
        "the node to close the connection",
        stream.read_to_end(&mut answer),
    )
    .await
    .ok();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_truncated_and_silent_clients_are_closed_and_nothing_is_lost() {
    let node = node_with_tree("robust").await;
    let served = serve_with(
        &node,
        ServeOptions::default().handshake_timeout(Duration::from_millis(300)),
    );
    let mut watcher = attach(&served, "control-secret").await.unwrap();
    watcher.subscribe(Duration::from_millis(5)).await.unwrap();
    first_snapshot(&mut watcher).await;

    // An HTTP request: its first four bytes read as a length far over the handshake's limit.
    assert!(
        raw(&served, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false)
            .await
            .is_empty()
    );
    // A frame that claims 100 bytes and brings 10, then the client goes.
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend(b"otpscope\x01\x02");
    assert!(raw(&served, &truncated, true).await.is_empty());
    // A frame of the right length that is not a hello.
    let mut junk = 12u32.to_be_bytes().to_vec();
    junk.extend(b"hello world!");
    assert!(raw(&served, &junk, false).await.is_empty());
    // A client that connects and says nothing is closed after the handshake's deadline.
    assert!(raw(&served, b"", false).await.is_empty());
    wait_until("four refusals", || served.refused() == 4).await;

    // The first client saw nothing of it and still works.
    let worker = node.whereis("worker").unwrap();
    watcher
        .command(
            9,
            Command::GetState {
                pid: Pid(worker.serial()),
            },
        )
        .await
        .unwrap();
    let result = receive_until(&mut watcher, |message| match message {
        ServerMessage::Reply { id: 9, result } => Some(result),
        _ => None,
    })
    .await;
    assert!(matches!(result, Ok(Reply::State { .. })), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_limit_after_the_handshake_closes_only_that_client() {
    let node = node_with_tree("limits").await;
    let served = serve_with(&node, ServeOptions::default().max_frame(64 * 1024));
    let mut watcher = attach(&served, "control-secret").await.unwrap();
    let mut greedy = attach(&served, "control-secret").await.unwrap();
    wait_until("two clients", || served.clients() == 2).await;
    let huge = "x".repeat(100 * 1024);
    greedy
        .command(
            1,
            Command::App(
                otpscope_runtime::observe::AppCommand::new("kv", "put").arg("value", huge),
            ),
        )
        .await
        .unwrap();
    // What the node sent before it read the frame (its memory figure) may come first.
    let error = within("the close", async {
        loop {
            if let Err(error) = greedy.receive().await {
                return error;
            }
        }
    })
    .await;
    assert!(
        matches!(error, RemoteError::Closed | RemoteError::Io(_)),
        "{error}"
    );
    wait_until("one client left", || served.clients() == 1).await;
    watcher.subscribe(Duration::from_millis(5)).await.unwrap();
    assert_eq!(first_snapshot(&mut watcher).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_limit_are_told_so() {
    let node = node_with_tree("crowded").await;
    let served = serve_with(&node, ServeOptions::default().max_clients(1));
    let _first = attach(&served, "control-secret").await.unwrap();
    let error = attach(&served, "control-secret").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "refused by the node: too many clients (this node serves at most 1)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_never_slows_the_node_and_is_dropped() {
    let node = Node::new("busy");
    let served = serve_with(
        &node,
        ServeOptions::default()
            .queue_capacity(2)
            .write_timeout(Duration::from_millis(300)),
    );
    let mut sleeper = attach(&served, "control-secret").await.unwrap();
    sleeper.subscribe(Duration::from_millis(1)).await.unwrap();
    // Churn: many processes with long labels start and stop, so updates are large and many,
    // and the client reads none of them.
    let label: &'static str = Box::leak("L".repeat(200).into_boxed_str());
    let started = tokio::time::Instant::now();
    let mut rounds = 0;
    while served.clients() == 1 && started.elapsed() < Duration::from_secs(20) {
        let pids: Vec<_> = (0..2000)
            .map(|_| {
                node.spawn_opts(
                    SpawnOptions::new().label(label),
                    |_ctx, mut inbox: otpscope_runtime::Inbox<()>| async move {
                        inbox.recv().await;
                    },
                )
                .unwrap()
                .pid()
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(2)).await;
        for pid in pids {
            node.exit(pid, otpscope_runtime::ExitReason::Kill).ok();
        }
        rounds += 1;
    }
    assert_eq!(
        served.clients(),
        0,
        "the silent client was not dropped after {rounds} rounds"
    );
    // The node was never waiting on it: a round took the time of its own work.
    let mut fresh = attach(&served, "control-secret").await.unwrap();
    fresh.subscribe(Duration::from_millis(5)).await.unwrap();
    first_snapshot(&mut fresh).await;
}

/// A self-signed certificate for 127.0.0.1 and localhost, its key, and the PEM of both.
#[cfg(feature = "tls")]
fn certificate() -> (rcgen::CertifiedKey, String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_pem = certified.cert.pem();
    let key_pem = certified.key_pair.serialize_pem();
    (certified, cert_pem, key_pem)
}

#[cfg(feature = "tls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_carries_the_stream_and_refuses_untrusted_and_plain_peers() {
    use otpscope_runtime::remote::{TlsClient, TlsServer};

    let folder = std::env::temp_dir().join(format!("otpscope-tls-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let (_certified, cert_pem, key_pem) = certificate();
    let (cert_file, key_file) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, &key_pem).unwrap();

    let node = node_with_tree("tls").await;
    let served = serve_with(
        &node,
        ServeOptions::default().tls(TlsServer::from_pem_files(&cert_file, &key_file).unwrap()),
    );
    // Pinned: the service's own certificate is the only one trusted.
    let pinned = TlsClient::trusting_pem_file(&cert_file).unwrap();
    let options = ConnectOptions::new(cookie("control-secret")).tls(pinned.clone());
    let mut client = connect(served.local_addr(), &options).await.unwrap();
    client.subscribe(Duration::from_millis(5)).await.unwrap();
    assert_eq!(first_snapshot(&mut client).await.len(), 2);
    // By name instead of address.
    let by_name = ConnectOptions::new(cookie("control-secret"))
        .tls(pinned.clone().server_name("localhost").unwrap());
    connect(served.local_addr(), &by_name).await.unwrap();

    // Another certificate is not trusted.
    let (_other, other_pem, _) = certificate();
    let other_file = folder.join("other.pem");
    std::fs::write(&other_file, other_pem).unwrap();
    let untrusting = ConnectOptions::new(cookie("control-secret"))
        .tls(TlsClient::trusting_pem_file(&other_file).unwrap());
    let error = connect(served.local_addr(), &untrusting).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("TLS: invalid peer certificate"),
        "{error}"
    );
    // A plain client gets nothing from a TLS node, and TLS does not replace the cookie.
    assert!(attach(&served, "control-secret").await.is_err());
    let wrong = ConnectOptions::new(cookie("guess")).tls(pinned);
    let error = connect(served.local_addr(), &wrong).await.unwrap_err();
    assert_eq!(error.to_string(), "refused by the node: wrong cookie");
    wait_until("three refusals", || served.refused() == 3).await;

    // A TLS client to a plain node fails its TLS handshake.
    let plain = serve_with(&node, ServeOptions::default());
    let error = connect(
        plain.local_addr(),
        &ConnectOptions::new(cookie("control-secret"))
            .tls(TlsClient::trusting_pem_file(&cert_file).unwrap()),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().starts_with("TLS: "), "{error}");
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_bigger_than_what_the_node_accepts_from_clients_is_sent_whole() {
    let node = Node::new("big");
    // The node takes frames of at most 64 KiB from clients; its snapshot is over 1 MiB.
    let served = serve_with(&node, ServeOptions::default().max_frame(64 * 1024));
    let label: &'static str = Box::leak("L".repeat(300).into_boxed_str());
    for _ in 0..4000 {
        node.spawn_opts(
            SpawnOptions::new().label(label),
            |_ctx, mut inbox: otpscope_runtime::Inbox<()>| async move {
                inbox.recv().await;
            },
        )
        .unwrap();
    }
    let mut client = attach(&served, "control-secret").await.unwrap();
    client.subscribe(Duration::from_millis(5)).await.unwrap();
    let snapshot = first_snapshot(&mut client).await;
    assert_eq!(snapshot.len(), 4000);
    let bytes = otpscope_runtime::observe::model::binary::encode(&snapshot).unwrap();
    assert!(bytes.len() > 1 << 20, "{} bytes", bytes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_snapshot_comes_in_parts_and_reads_back_as_the_node_holds_it() {
    use otpscope_runtime::remote::SNAPSHOT_PART;

    let node = Node::new("parts");
    let served = serve_with(&node, ServeOptions::default());
    // Two whole parts and a short third.
    let count = 2 * SNAPSHOT_PART + 17;
    let mut pids = Vec::new();
    for _ in 0..count {
        let pid = node
            .spawn(|_ctx, mut inbox: otpscope_runtime::Inbox<()>| async move {
                inbox.recv().await;
            })
            .pid();
        pids.push(pid);
    }
    let mut client = attach(&served, "control-secret").await.unwrap();
    client.subscribe(Duration::from_millis(5)).await.unwrap();
    let mut snapshot = first_snapshot(&mut client).await;
    assert_eq!(snapshot.len(), count);
    let read: Vec<u64> = snapshot.processes().map(|info| info.pid.0).collect();
    let spawned: Vec<u64> = pids.iter().map(|pid| pid.serial()).collect();
    assert_eq!(read, spawned, "every process once, in pid order");
    assert_eq!(snapshot.root_pids().len(), count, "none has a parent");
    // The stream goes on from it: a process that exits comes in a delta that applies.
    node.exit(pids[SNAPSHOT_PART + 1], otpscope_runtime::ExitReason::Kill)
        .unwrap();
    let removed = receive_until(&mut client, |message| match message {
        ServerMessage::Update(Update::Delta(delta)) => {
            snapshot.apply(&delta).unwrap();
            (!delta.removed.is_empty()).then_some(delta.removed)
        }
        _ => None,
    })
    .await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].pid.0, pids[SNAPSHOT_PART + 1].serial());
    assert_eq!(removed[0].reason, ExitReason::Killed);
    assert_eq!(snapshot.len(), count - 1);
}
