//! The tree files' commands for observers: make a worker crash now, or stay busy for a
//! while, from its right-click menu in the Observer or from a script.
//!
//! Implements [`AppControl`] from the snapshot stream's public API, as the KV app does.

use std::time::Duration;

use crate::contract::{AppCommand, AppSpec, CommandError, CommandSpec, Pid, Reply};
use crate::runtime::{CallError, ExitReason, Node, ServerRef};
use crate::snapshot::{AppControl, AppFuture};

use super::worker::{Worker, WorkerCall, WorkerReply};

/// The name the playground's commands carry ([`AppCommand::app`]).
pub const APP: &str = "playground";

/// How long "Busy" keeps a worker from its mailbox.
const BUSY: Duration = Duration::from_secs(3);

/// Carries out the playground's commands on one node.
#[derive(Clone, Debug)]
pub struct PlaygroundControl {
    /// The node the tree runs on.
    node: Node,
}

impl PlaygroundControl {
    /// Commands for the tree running on `node`.
    pub fn new(node: &Node) -> Self {
        Self { node: node.clone() }
    }

    /// The worker `pid`, or why it cannot be reached.
    fn worker(&self, pid: Pid) -> Result<ServerRef<Worker>, CommandError> {
        let target = self.node.pid(pid.serial());
        ServerRef::from_pid(&self.node, target).ok_or_else(|| {
            if self.node.is_alive(target) {
                CommandError::App(format!("{pid} is not a tree file's worker"))
            } else {
                CommandError::NoProcess(pid)
            }
        })
    }

    async fn execute_command(&self, command: AppCommand) -> Result<Reply, CommandError> {
        let worker = self.worker(command.pid("pid")?)?;
        let call = match command.name.as_str() {
            "crash" => WorkerCall::Crash(ExitReason::parse(command.text("reason")?)),
            "busy" => {
                let ms = command.integer("ms")?;
                WorkerCall::Busy(Duration::from_millis(ms.max(0) as u64))
            }
            _ => return Err(CommandError::NotSupported(command.to_string())),
        };
        match worker.call(call).await {
            Ok(WorkerReply::Done) => Ok(Reply::Done),
            Ok(other) => Err(CommandError::App(format!("unexpected reply {other:?}"))),
            Err(CallError::NoProc(pid) | CallError::Exited { pid, .. }) => {
                Err(CommandError::NoProcess(Pid(pid.serial())))
            }
            Err(error) => Err(CommandError::App(error.to_string())),
        }
    }
}

/// The playground's commands as a view shows them: on a worker's right-click menu.
pub fn spec() -> AppSpec {
    let busy_ms = BUSY.as_millis() as i64;
    AppSpec {
        name: APP.to_owned(),
        title: "Tree".to_owned(),
        prompt: None,
        commands: vec![
            CommandSpec::new("crash", "Crash now")
                .help(
                    "The worker stops itself with reason crash, as if its own code failed: \
                     no exit signal, so trapping exits does not save it",
                )
                .fixed("reason", "crash")
                .on_process("pid", ["server"]),
            CommandSpec::new("busy", format!("Busy for {} s", BUSY.as_secs()))
                .help("The worker takes no message for a while: watch its mailbox grow")
                .fixed("ms", busy_ms)
                .on_process("pid", ["server"]),
        ],
    }
}

impl AppControl for PlaygroundControl {
    fn spec(&self) -> AppSpec {
        spec()
    }

    fn execute(&self, command: AppCommand) -> AppFuture<'_> {
        Box::pin(self.execute_command(command))
    }
}
