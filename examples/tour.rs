//! A short tour of the runtime API, one piece of the README's list at a time: processes,
//! links and trap_exit, monitors, names, a server, an agent, a supervisor, a dynamic
//! supervisor with shared labels, introspection and the event feed. Run it with
//! `cargo run --example tour`.

use std::collections::HashMap;
use std::sync::Arc;

use otpscope::runtime::{
    Agent, ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, EventKind, ExitReason,
    Inbox, Message, Node, ProcessKind, Restart, Server, ServerContext, ServerRef, SpawnOptions,
    Started, Strategy, Supervisor, SupervisorFlags,
};

/// A gen-server that counts.
struct Counter {
    count: u64,
}

impl Server for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = u64;
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> u64 {
        self.count
    }

    async fn handle_cast(&mut self, add: u64, _ctx: &mut ServerContext<Self>) {
        self.count += add;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("tour");

    // A process traps exits, links a child, and receives the child's exit as a message.
    let (report, reported) = tokio::sync::oneshot::channel();
    node.spawn(move |ctx: Context, mut inbox: Inbox<()>| async move {
        ctx.trap_exit(true);
        let child = ctx.spawn_link(|_ctx, _inbox: Inbox<()>| async { ExitReason::custom("boom") });
        if let Message::Exit(exit) = inbox.recv().await {
            report
                .send(format!("{} exited with {}", exit.from, exit.reason))
                .ok();
        }
        let _ = child;
    });
    println!("link:       {}", reported.await?);

    // A monitor gives one DOWN; `Node::watch` is the same from outside any process.
    let sleeper = node.spawn(|_ctx, mut inbox: Inbox<()>| async move {
        inbox.recv().await;
    });
    let down = node.watch(sleeper.pid());
    node.exit(sleeper.pid(), ExitReason::Kill)?;
    println!(
        "monitor:    {} went down with {}",
        sleeper.pid(),
        down.await
    );

    // A server: cast, then call.
    let counter = ServerRef::start(
        &node,
        Counter { count: 0 },
        SpawnOptions::new().name("counter"),
    )
    .await?;
    counter.cast(40).ok();
    counter.cast(2).ok();
    println!("server:     counter says {}", counter.call(()).await?);

    // Names: a registered name resolves to the pid.
    println!(
        "names:      counter is registered as {:?}",
        node.whereis("counter")
    );

    // An agent.
    let agent = Agent::start(&node, HashMap::<String, u32>::new, SpawnOptions::new()).await?;
    agent
        .update(|map| {
            map.insert("eggs".into(), 3);
        })
        .await?;
    println!(
        "agent:      eggs = {:?}",
        agent.get(|map| map.get("eggs").copied()).await?
    );

    // A supervisor restarts a killed child with a new pid.
    let worker = ChildSpec::worker("counter", |ctx| async move {
        let server = ServerRef::start_link(&ctx, Counter { count: 0 }, SpawnOptions::new()).await?;
        Ok(Started::Pid(server.pid()))
    });
    let supervisor = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![worker],
        SpawnOptions::new().label("Tour.Supervisor"),
    )
    .await?;
    let before = supervisor.which_children().await?[0].pid.pid();
    if let Some(pid) = before {
        let gone = node.watch(pid);
        node.exit(pid, ExitReason::Kill)?;
        gone.await;
    }
    let mut after = supervisor.which_children().await?[0].pid.pid();
    while after == before || after.is_none() {
        tokio::task::yield_now().await;
        after = supervisor.which_children().await?[0].pid.pid();
    }
    println!("supervisor: child {before:?} was killed and restarted as {after:?}");

    // A dynamic supervisor starts children on demand. Its children share one label string:
    // a cloned `Arc<str>` (100,000 buckets then hold one string, not 100,000).
    let buckets = DynamicSupervisor::start(
        &node,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new().name("Tour.Buckets"),
    )
    .await?;
    let label: Arc<str> = Arc::from("Tour.Bucket");
    let bucket = ChildSpec::worker("bucket", move |ctx| {
        let options = SpawnOptions::new().label(label.clone());
        async move {
            let agent = Agent::start_link(&ctx, HashMap::<String, String>::new, options).await?;
            Ok(Started::Pid(agent.pid()))
        }
    })
    .restart(Restart::Temporary);
    for _ in 0..3 {
        buckets.start_child(bucket.clone()).await?;
    }
    println!("dynamic:    {:?}", buckets.count_children().await?);

    // Introspection: what each process is, its parent and children, its restarts.
    for info in node.processes() {
        let parent = info
            .parent
            .map_or_else(|| "-".to_owned(), |pid| pid.to_string());
        println!(
            "introspect: {} {} ({}) parent {parent}, {} children, {} restarts",
            info.pid,
            info.label,
            kind_name(&info.kind),
            info.children.len(),
            info.restarts
        );
    }

    // The event feed: everything that happened, in order (here, only the restart).
    let feed = node.introspect().events_since(0, 1_000);
    for event in &feed.events {
        if let EventKind::Restarted {
            child_id, old, new, ..
        } = &event.kind
        {
            println!(
                "events:     #{} {child_id} restarted: {old} -> {new}",
                event.seq
            );
        }
    }
    println!("events:     {} in the feed so far", feed.events.len());

    supervisor.stop(ExitReason::Shutdown).await?;
    buckets.stop(ExitReason::Shutdown).await?;
    Ok(())
}

/// What a process is, in a word.
fn kind_name(kind: &ProcessKind) -> &'static str {
    match kind {
        ProcessKind::Supervisor { .. } => "supervisor",
        ProcessKind::DynamicSupervisor { .. } => "dynamic supervisor",
        ProcessKind::Server => "server",
        ProcessKind::Agent => "agent",
        ProcessKind::Plain => "process",
    }
}
