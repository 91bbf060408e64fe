//! Where the Observer's data comes from and where its commands go.
//!
//! The GUI knows a node only through this trait and the snapshot model: an in-process node,
//! and later a remote node, a recording or a BEAM node, all look the same. Nothing here
//! blocks: the UI thread drains what has arrived and moves on.

use std::time::Duration;

use otpscope_contract::{Capabilities, Command, CommandError, Reply, Update};

/// Identifies a command sent to a source, to match its reply.
pub type RequestId = u64;

/// Whether the data a source gives is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Updates arrive as the node changes.
    Live,
    /// The node was lost (its service stopped, the network failed): what the Observer shows
    /// is its last data, and the source is trying to reach it again.
    Lost {
        /// Why, in the source's words.
        error: String,
        /// How many attempts to reach it again have failed so far.
        attempts: u32,
    },
}

/// A stream of snapshots and events, and a way to send commands.
pub trait Source {
    /// What is being observed, for the title bar (`KV app (final) on node otpscope`).
    fn title(&self) -> String;

    /// What the source offers (control or read-only, which apps' commands, memory): the
    /// Observer enables exactly that, whatever kind of source this is.
    fn capabilities(&self) -> &Capabilities;

    /// The next update that has arrived, without waiting.
    fn try_recv(&mut self) -> Option<Update>;

    /// Sends a command; its reply comes back through [`Source::try_reply`].
    fn send(&mut self, command: Command) -> RequestId;

    /// The next reply that has arrived, without waiting.
    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)>;

    /// Changes how often deltas come. The source may resubscribe, which starts again with a
    /// full snapshot.
    fn set_interval(&mut self, interval: Duration);

    /// Installs a callback the source calls (from any thread) when something arrives, so the
    /// UI repaints without polling.
    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>);

    /// Memory the observed node's OS process holds, if the source can tell.
    fn memory_bytes(&self) -> Option<u64> {
        None
    }

    /// Whether its data is live. A source that cannot lose its node (one in this OS process)
    /// is always live. When a lost node comes back, the source sends a full snapshot.
    fn link(&self) -> Link {
        Link::Live
    }
}
