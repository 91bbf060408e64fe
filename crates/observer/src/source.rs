//! Where the Observer's data comes from and where its commands go.
//!
//! The GUI knows a node only through this trait and the snapshot model: an in-process node,
//! and later a remote node, a recording or a BEAM node, all look the same. Nothing here
//! blocks: the UI thread drains what has arrived and moves on.

use std::time::{Duration, Instant};

use otpscope_contract::{Capabilities, Command, CommandError, LoadPoint, Progress, Reply, Update};

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

    /// The next report of how far a command still running has got, without waiting. A
    /// source gives none after the command's reply, and wakes the UI when one arrives. One
    /// whose commands never report gives none (the default); one that wraps another source
    /// passes its reports on.
    fn try_progress(&mut self) -> Option<(RequestId, Progress)> {
        None
    }

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

    /// The source's timeline, if its data is a stretch of time the user can move through
    /// (a recording): the Observer then draws a timeline under its panels. A live source has
    /// none.
    fn timeline(&mut self) -> Option<&mut dyn Timeline> {
        None
    }
}

/// Moving through a source's time: play, pause, speed, seek. The Observer shows whatever
/// updates the source gives, as from any source; after a seek it drops what it holds (see
/// [`Timeline::generation`]) and the source gives the node as it was at the new position,
/// and its load up to there ([`Timeline::load_until_playhead`]). On a timeline, the load
/// charts' time is the playhead's.
pub trait Timeline {
    /// Where the playhead is, in milliseconds from the start.
    fn position_ms(&self) -> u64;
    /// How long the whole stretch is, in milliseconds.
    fn duration_ms(&self) -> u64;
    /// Whether the playhead moves with time.
    fn is_playing(&self) -> bool;
    /// Starts or stops the playhead (at the end, play starts again from the start).
    fn set_playing(&mut self, playing: bool);
    /// How many times faster than real time the playhead moves.
    fn speed(&self) -> f64;
    /// Sets the speed.
    fn set_speed(&mut self, speed: f64);
    /// Moves the playhead to `at_ms` (clamped to the stretch).
    fn seek(&mut self, at_ms: u64);
    /// Moves to the next moment something happened (an event), if there is one after the
    /// playhead (`forward`) or before it.
    fn step(&mut self, forward: bool);
    /// What to mark on the timeline: kills, restarts, supervisors giving up.
    fn markers(&self) -> &[Marker];
    /// Grows by one at each seek: the Observer starts over from the updates that follow.
    fn generation(&self) -> u64;
    /// Moves a playing playhead to `now` and queues what it passed; returns how soon it
    /// wants to be called again (`None` when paused).
    fn advance(&mut self, now: Instant) -> Option<Duration>;
    /// The node's load from the start of the stretch up to the playhead: a point at each
    /// moment it changed, in time order, each holding from then until the next
    /// ([`LoadPoint::in_force_at`]). After a seek the Observer rebuilds its load charts from
    /// these, as they would have been had the stretch played from its start; then it samples
    /// as the playhead moves. A source works them out once (not at each seek: a seek must
    /// stay cheap) and hands a slice. Empty (the default) if it cannot tell: the charts then
    /// start at the playhead.
    fn load_until_playhead(&self) -> &[LoadPoint] {
        &[]
    }
}

/// A moment worth marking on a timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When, in milliseconds from the start.
    pub at_ms: u64,
    /// What kind of moment.
    pub kind: MarkerKind,
    /// What happened, as a sentence for the hover text.
    pub text: String,
}

/// The kinds of [`Marker`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    /// A process was killed.
    Kill,
    /// A supervisor restarted a child.
    Restart,
    /// A supervisor gave up (exceeded its restart intensity).
    GaveUp,
}
