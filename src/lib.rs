//! otpscope: Erlang/OTP-style supervision for Rust on tokio, and a live Observer to watch it.
//!
//! This package is the `otpscope` binary (the Observer and the headless CLI), the demos and
//! the sources that connect a node to the Observer. The workspace's other crates, re-exported
//! here so that `otpscope::runtime::*` keeps working:
//! - [`runtime`] (`otpscope-runtime`): processes, links, monitors, exit signals, servers,
//!   agents, supervisors and dynamic supervisors, with OTP's semantics, and the snapshot
//!   stream that observes them. What a service depends on to run supervised processes and be
//!   observed; no egui.
//! - [`contract`] (`otpscope-contract`): the serde data every source produces and every view
//!   consumes: snapshots, deltas, events, commands, capabilities.
//! - `gui` (`otpscope-observer`, feature `gui`, on by default): the Observer, an egui app
//!   that knows the contract only.
//!
//! Here: [`beam`] (a real Erlang or Elixir node as a source, over Erlang distribution),
//! [`chaos`] (seeded kills, reproducible by tree path), [`lesson`] (a chapter as
//! self-checking steps), [`demo`] (the key-value app of the Elixir guide chapter "Dynamic supervisors", and
//! the tree files' playground), [`scenario`] (fault scripts and the text tree, for the
//! headless CLI), `panels` (the lesson and Chaos panels the binary adds to the Observer)
//! and [`sources`] (the in-process node and a served one as sources for the
//! Observer).

pub mod beam;
pub mod chaos;
pub mod demo;
pub mod lesson;
#[cfg(feature = "gui")]
pub mod panels;
pub mod record;
pub mod scenario;
#[cfg(feature = "gui")]
pub mod sources;

pub use otpscope_contract as contract;
#[cfg(feature = "gui")]
pub use otpscope_observer as gui;
pub use otpscope_runtime as runtime;

/// The snapshot stream, as it was reached before the workspace: the runtime's
/// [`observe`](otpscope_runtime::observe) module, with the contract as `model`.
pub mod snapshot {
    pub use otpscope_runtime::observe::*;
}

pub use runtime::{
    Agent, ChildSpec, Context, DynamicSupervisor, DynamicSupervisorFlags, ExitReason, Inbox,
    Message, Node, Pid, Restart, Server, ServerContext, ServerRef, Shutdown, SpawnOptions,
    Strategy, Supervisor, SupervisorFlags,
};

/// The README's Rust programs, compiled and run by `cargo test` as doctests, so that what a
/// reader pastes works.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
