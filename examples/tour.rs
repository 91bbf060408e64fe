//! A short tour of the runtime API: processes, links, monitors, a server, an agent, a
//! supervisor and a dynamic supervisor. Run it with `cargo run --example tour`.

use std::collections::HashMap;

use otpscope::runtime::{
    Agent, ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, ExitReason, Inbox,
    Message, Node, Restart, Server, ServerContext, ServerRef, SpawnOptions, Started, Strategy,
    Supervisor, SupervisorFlags,
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

    // A dynamic supervisor starts children on demand.
    let buckets = DynamicSupervisor::start(
        &node,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new(),
    )
    .await?;
    let bucket = ChildSpec::worker("bucket", |ctx| async move {
        let agent =
            Agent::start_link(&ctx, HashMap::<String, String>::new, SpawnOptions::new()).await?;
        Ok(Started::Pid(agent.pid()))
    })
    .restart(Restart::Temporary);
    for _ in 0..3 {
        buckets.start_child(bucket.clone()).await?;
    }
    println!("dynamic:    {:?}", buckets.count_children().await?);

    supervisor.stop(ExitReason::Shutdown).await?;
    buckets.stop(ExitReason::Shutdown).await?;
    Ok(())
}
