//! A service that serves itself to Observers on other terminals or machines: its own
//! supervision tree, and one line (`remote::serve`) that lets `otpscope attach` watch it and
//! send it exit signals. Run it with `cargo run --example serve`, then, in another terminal,
//! `cargo run -- attach 127.0.0.1:4370` (both use the cookie in `~/.otpscope/cookie`, which
//! the service creates if absent). Kill `Orders.Counter` from the Observer and watch its
//! supervisor restart it; `Orders.Flaky` crashes by itself every 7 s.

use std::time::Duration;

use otpscope::runtime::remote::{self, ServeOptions};
use otpscope::runtime::{
    Agent, ChildSpec, DynamicSupervisor, DynamicSupervisorFlags, ExitReason, Inbox, Node, Server,
    ServerContext, ServerRef, SpawnOptions, Started, Strategy, Supervisor, SupervisorFlags,
};

/// A gen-server that counts orders.
struct Counter {
    orders: u64,
}

impl Server for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn handle_call(&mut self, (): (), _ctx: &mut ServerContext<Self>) -> u64 {
        self.orders
    }

    async fn handle_cast(&mut self, (): (), _ctx: &mut ServerContext<Self>) {
        self.orders += 1;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("orders");
    let counter = ChildSpec::worker("counter", |ctx| async move {
        let options = SpawnOptions::new()
            .label("Orders.Counter")
            .name("Orders.Counter");
        let server = ServerRef::start_link(&ctx, Counter { orders: 0 }, options).await?;
        Ok(Started::Pid(server.pid()))
    });
    let flaky = ChildSpec::worker("flaky", |ctx| async move {
        let flaky = ctx.spawn_opts(
            SpawnOptions::new().label("Orders.Flaky"),
            true,
            |_ctx, _inbox: Inbox<()>| async {
                tokio::time::sleep(Duration::from_secs(7)).await;
                ExitReason::custom("flaky")
            },
        )?;
        Ok(Started::Pid(flaky.pid()))
    });
    let workers = DynamicSupervisor::child_spec(
        "workers",
        DynamicSupervisorFlags::default(),
        SpawnOptions::new()
            .label("Orders.Workers")
            .name("Orders.Workers"),
    );
    Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne).max_restarts(100),
        vec![counter, flaky, workers],
        SpawnOptions::new()
            .label("Orders.Supervisor")
            .name("Orders.Supervisor"),
    )
    .await?;
    let workers = DynamicSupervisor::whereis(&node, "Orders.Workers").ok_or("workers run")?;
    for index in 0..3 {
        workers
            .start_child(ChildSpec::worker(
                format!("cart-{index}"),
                |ctx| async move {
                    let cart = Agent::start_link(
                        &ctx,
                        Vec::<String>::new,
                        SpawnOptions::new().label("Orders.Cart"),
                    )
                    .await?;
                    Ok(Started::Pid(cart.pid()))
                },
            ))
            .await?;
    }

    // The one line: serve this node on 127.0.0.1:4370 (OTPSCOPE_LISTEN to change it), with
    // the cookie from OTPSCOPE_COOKIE or ~/.otpscope/cookie.
    let served = remote::serve(&node, ServeOptions::default().title("orders service"))?;
    println!(
        "serving node orders on {0}; attach with: cargo run -- attach {0}",
        served.local_addr()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
