//! The actor runtime: processes, links, monitors, exit signals, servers, agents and
//! supervisors on tokio, with the semantics of Erlang/OTP and Elixir.
//!
//! The processes themselves import std, tokio and parking_lot only; [`observe`] reads them
//! into the contract's snapshots for observers. Nothing here knows the GUI or the demos.
//! Where Rust forces a difference from the BEAM it is written down here:
//! - a kill ends a process at its next await point (tokio is cooperative); a process busy in
//!   a loop with no await cannot be stopped until it awaits;
//! - mailboxes are typed: a process receives messages of its own type `M`, plus exit signals
//!   (when trapping) and DOWNs as [`Message`] variants; there is no selective receive;
//! - signals take effect as they arrive (under the receiver's lock), so they overtake any
//!   message still queued; a trapped exit signal is queued behind earlier messages;
//! - a server's init runs in the task that starts it, on the new process's behalf, and its
//!   own task is spawned at its first message or signal (see [`server`](ServerRef)'s notes).

mod agent;
mod call_timer;
mod child_spec;
mod children;
mod context;
mod dynamic_supervisor;
mod error;
mod exit;
mod intensity;
mod introspect;
mod node;
pub mod observe;
mod pid;
mod prefetch;
mod process;
pub mod remote;
mod server;
mod signal;
mod small_map;
mod supervisor;
mod visit;

pub use agent::Agent;
pub use child_spec::{ChildSpec, ChildType, Restart, Shutdown, StartFuture, Started};
pub use context::{Addr, Context, Inbox, Origin, SpawnOptions, Spawner};
pub use dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorFlags};
pub use error::{CallError, NoProc, RegisterError, SendError, StartError, SupervisorError};
pub use exit::ExitReason;
pub use introspect::{
    ChangeTracking, DeadProcess, Event, EventKind, EventRead, Introspect, ProcessInfo, ProcessKind,
    Status, elapsed_since, wall_clock,
};
pub use node::{Node, Watch};
pub use pid::{MonitorRef, Pid};
pub use process::{Down, ExitMessage, Message, ProcessView, StateReport};
pub use server::{DEFAULT_CALL_TIMEOUT, ReplyTo, Server, ServerContext, ServerRef};
pub use supervisor::{ChildCounts, ChildInfo, ChildPid, Strategy, Supervisor, SupervisorFlags};
