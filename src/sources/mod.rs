//! Where the Observer's data comes from: each source turns something observed into the
//! contract's updates and carries the Observer's commands to it, behind the Observer's
//! [`Source`](crate::gui::Source) trait.
//!
//! - [`local`]: a node in this OS process.
//! - [`remote`]: a node served by another OS process, over TCP.
//! - [`recording`]: a recording of a node, replayed along its timeline.
//! - [`beam`]: a real BEAM node (Erlang or Elixir), over Erlang distribution.

pub mod beam;
pub mod local;
pub mod recording;
pub mod remote;
