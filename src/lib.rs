//! otpscope: Erlang/OTP-style supervision for Rust on tokio, and a live Observer to watch it.
//!
//! - [`runtime`]: processes, links, monitors, exit signals, servers, agents, supervisors and
//!   dynamic supervisors, with OTP's semantics.
//! - [`demo`]: the key-value app of the Elixir guide chapter "Dynamic supervisors", with each
//!   of the chapter's designs.
//! - [`snapshot`]: the contract between the runtime and every observer: the serde model,
//!   full snapshots and deltas, the subscription stream and control commands.
//! - [`scenario`]: fault scripts and the text tree, for the headless CLI.
//! - `gui` (feature `gui`, on by default): the Observer, an egui desktop app; `observe`
//!   connects an in-process node to it.

pub mod demo;
#[cfg(feature = "gui")]
pub mod gui;
#[cfg(feature = "gui")]
pub mod observe;
pub mod runtime;
pub mod scenario;
pub mod snapshot;

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
