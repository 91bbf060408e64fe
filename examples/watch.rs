//! Watching your own node from your own code: subscribe to its snapshot stream, keep a view
//! current with the deltas, read the event feed, and send commands (an exit signal, state on
//! demand). Run it with `cargo run --example watch`.

use std::time::Duration;

use otpscope::runtime::{
    Agent, ChildSpec, Node, SpawnOptions, Started, Strategy, Supervisor, SupervisorFlags,
};
use otpscope::snapshot::model::{Command, ExitReason, Reply, Snapshot};
use otpscope::snapshot::{Control, Update, observe};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("watched");
    let cache = ChildSpec::worker("cache", |ctx| async move {
        // An agent that describes its state to observers on demand.
        let agent = Agent::start_link_described(
            &ctx,
            || vec![1, 2, 3],
            SpawnOptions::new().label("Cache"),
            |items: &Vec<u32>| vec![("items".to_owned(), format!("{items:?}"))],
        )
        .await?;
        Ok(Started::Pid(agent.pid()))
    });
    let supervisor = Supervisor::start(
        &node,
        SupervisorFlags::new(Strategy::OneForOne),
        vec![cache],
        SpawnOptions::new().name("App.Supervisor"),
    )
    .await?;

    // A full snapshot first, then deltas every 50 ms, and the event feed beside them.
    let mut subscription = observe(&node, Duration::from_millis(50))?;
    let mut view: Option<Snapshot> = None;
    let control = Control::new(&node);

    // Kill the cache: its supervisor restarts it with a new pid.
    let cache_pid = supervisor.which_children().await?[0]
        .pid
        .pid()
        .ok_or("the cache runs")?;
    let reply = control
        .execute(Command::Exit {
            pid: cache_pid.into(),
            reason: ExitReason::Kill,
        })
        .await?;
    assert_eq!(reply, Reply::Done);

    let mut restarted = false;
    while !restarted {
        match subscription.recv().await.ok_or("the node stopped")? {
            Update::Full(snapshot) => view = Some(snapshot),
            Update::Delta(delta) => {
                if let Some(view) = view.as_mut() {
                    view.apply(&delta)?;
                }
            }
            Update::Events { events, .. } => {
                for event in events {
                    println!("{}", event.kind);
                    restarted |= event.kind.name() == "restarted";
                }
            }
        }
    }
    let view = view.ok_or("a full snapshot comes first")?;
    for process in view.processes() {
        println!(
            "{} {} {}",
            process.pid,
            process.display_name(),
            process.status
        );
    }

    // State on demand: the new cache describes itself.
    let cache_pid = supervisor.which_children().await?[0]
        .pid
        .pid()
        .ok_or("the cache runs again")?;
    if let Reply::State { rows, .. } = control
        .execute(Command::GetState {
            pid: cache_pid.into(),
        })
        .await?
    {
        println!("cache state: {rows:?}");
    }
    // A command on a pid that is gone is an error, not a crash.
    let unknown = Command::GetState {
        pid: otpscope::snapshot::model::Pid(999_999),
    };
    if let Err(error) = control.execute(unknown).await {
        println!("{error}");
    }
    Ok(())
}
