//! The snapshot stream: the contract between the runtime and every observer.
//!
//! - [`model`]: pure serde data (snapshots, deltas, events, commands), the only thing a view
//!   needs; it knows nothing of the runtime.
//! - [`collector`]: reads a [`Node`](crate::Node) into the model, in full or as
//!   deltas from the runtime's change marks and event feed.
//! - [`stream`]: [`observe`] a node: a full snapshot, then deltas at the subscriber's own
//!   interval, and the event feed, fanned out to any number of subscribers from one shared
//!   collector per node.
//! - [`control`]: carries out [`Command`]s (exit signals, state on demand, the supervisor
//!   calls, application commands) on a node.
//!
//! A view's loop, without waiting on the runtime:
//!
//! ```no_run
//! # use std::time::Duration;
//! # use otpscope_runtime::Node;
//! use otpscope_runtime::observe::{Update, observe};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let node = Node::new("demo");
//! let mut subscription = observe(&node, Duration::from_millis(100))?;
//! let mut view = None;
//! while let Some(update) = subscription.try_recv() {
//!     match update {
//!         Update::Full(snapshot) => view = Some(snapshot),
//!         Update::Delta(delta) => {
//!             if let Some(view) = view.as_mut() {
//!                 view.apply(&delta).ok();
//!             }
//!         }
//!         Update::Events { events, .. } => println!("{} events", events.len()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod collector;
pub mod control;
mod convert;
pub mod stream;

pub use collector::{AlreadyObserved, Collected, Collector, full_snapshot};
pub use control::{AppControl, AppFuture, AppRestart, Control, PendingReply, ProgressReporter};
pub use otpscope_contract as model;
pub use otpscope_contract::{
    AppCommand, AppSpec, ApplyError, ArgValue, Capabilities, ChildRef, ChildRow, Command,
    CommandError, Delta, Event, EventKind, ExitReason, FORMAT_VERSION, Pid, PidList, ProcessInfo,
    ProcessKind, Progress, Removed, Reply, Snapshot, StateRow, Status, Update,
};
pub use stream::{ObserveOptions, Subscription, observe, observe_with};
