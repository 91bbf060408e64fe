//! A recording (`run --record`, `serve --record`) as a [`Source`](crate::gui::Source) for the
//! Observer, with a [`Timeline`]: the Observer sees the same updates a live source gives, as
//! the playhead passes them.
//!
//! A seek gives a full snapshot of the node at the new position (the keyframe before it with
//! the deltas after it applied, [`Recording::snapshot_at`]) and every event up to there, so
//! every tab shows the node as it was then; playing gives the recorded updates as the
//! playhead passes their times. The node's load over the whole recording is worked out once,
//! when the source opens ([`Recording::load_history`]), and a seek hands the Observer the part
//! up to the playhead, so the System tab's charts show the load up to there at the cost of a
//! look-up. A recording is read-only: commands are refused.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::contract::recording::{Frame, Recording};
use crate::contract::{
    Capabilities, Command, CommandError, EventKind, ExitReason, LoadPoint, Reply, Update,
};
use crate::gui::{Marker, MarkerKind, RequestId, Source, Timeline};

/// How often a playing recording wants a frame.
const PLAY_FRAME: Duration = Duration::from_millis(33);

/// A recording, replayed.
pub struct RecordingSource {
    /// The frames, indexed for seeking.
    recording: Recording,
    /// What the header says was observed.
    title: String,
    /// What the recorded source offered, less control: a recording cannot be changed.
    capabilities: Capabilities,
    /// Updates the playhead has passed that the Observer has not taken yet.
    queue: VecDeque<Update>,
    /// Replies to refused commands.
    replies: VecDeque<(RequestId, Result<Reply, CommandError>)>,
    /// The next request id.
    next_id: RequestId,
    /// The playhead, in milliseconds from the start.
    position_ms: u64,
    /// The first frame the playhead has not passed.
    next_frame: usize,
    /// While playing: when and where the playhead was last anchored (set at play, seek and
    /// speed changes).
    anchor: Option<(Instant, u64)>,
    /// How many times real time.
    speed: f64,
    /// Grows at each seek.
    generation: u64,
    /// Kills, restarts and give-ups, in time order.
    markers: Vec<Marker>,
    /// The times of frames that hold events, in order (where step goes).
    event_times: Vec<u64>,
    /// The node's load at each frame that changed it, worked out once at open: a seek hands
    /// the part up to the playhead, never recounts.
    load: Vec<LoadPoint>,
    /// Wakes the UI when a reply is queued.
    waker: Option<Box<dyn Fn() + Send + Sync>>,
}

impl RecordingSource {
    /// A source on `recording`, paused at its first keyframe.
    pub fn new(recording: Recording) -> Self {
        let mut markers = Vec::new();
        let mut event_times = Vec::new();
        for frame in &recording.frames {
            let Frame::Update {
                at_ms,
                update: Update::Events { events, .. },
            } = frame
            else {
                continue;
            };
            if !events.is_empty() {
                event_times.push(*at_ms);
            }
            for event in events {
                let kind = match &event.kind {
                    EventKind::Exited {
                        reason: ExitReason::Killed,
                        ..
                    } => MarkerKind::Kill,
                    EventKind::Restarted { .. } => MarkerKind::Restart,
                    EventKind::SupervisorGaveUp { .. } => MarkerKind::GaveUp,
                    _ => continue,
                };
                markers.push(Marker {
                    at_ms: *at_ms,
                    kind,
                    text: event.kind.to_string(),
                });
            }
        }
        event_times.dedup();
        let load = recording.load_history();
        let capabilities = Capabilities::read_only();
        let mut source = Self {
            title: format!("recording of {}", recording.header.title),
            recording,
            capabilities,
            queue: VecDeque::new(),
            replies: VecDeque::new(),
            next_id: 1,
            position_ms: 0,
            next_frame: 0,
            anchor: None,
            speed: 1.0,
            generation: 0,
            markers,
            event_times,
            load,
            waker: None,
        };
        let first = source.recording.first_keyframe_ms().unwrap_or(0);
        source.seek(first);
        source
    }

    /// Queues the updates of the frames the playhead has now passed.
    fn pass_frames(&mut self) {
        let until = self.recording.frames_until(self.position_ms);
        for frame in &self.recording.frames[self.next_frame..until.max(self.next_frame)] {
            match frame {
                Frame::Keyframe { snapshot, .. } => {
                    self.queue.push_back(Update::Full(snapshot.clone()));
                }
                Frame::Update { update, .. } => self.queue.push_back(update.clone()),
                Frame::Command { .. } | Frame::Reply { .. } => {}
            }
        }
        self.next_frame = until.max(self.next_frame);
    }
}

impl Source for RecordingSource {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn try_recv(&mut self) -> Option<Update> {
        self.queue.pop_front()
    }

    fn send(&mut self, _command: Command) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        self.replies.push_back((
            id,
            Err(CommandError::NotSupported(
                "a recording is read-only".into(),
            )),
        ));
        if let Some(wake) = &self.waker {
            wake();
        }
        id
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        self.replies.pop_front()
    }

    fn set_interval(&mut self, _interval: Duration) {}

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        self.waker = Some(waker);
    }

    fn timeline(&mut self) -> Option<&mut dyn Timeline> {
        Some(self)
    }
}

impl Timeline for RecordingSource {
    fn position_ms(&self) -> u64 {
        self.position_ms
    }

    fn duration_ms(&self) -> u64 {
        self.recording.duration_ms()
    }

    fn is_playing(&self) -> bool {
        self.anchor.is_some()
    }

    fn set_playing(&mut self, playing: bool) {
        if playing == self.is_playing() {
            return;
        }
        if !playing {
            self.anchor = None;
            return;
        }
        if self.position_ms >= self.duration_ms() {
            self.seek(self.recording.first_keyframe_ms().unwrap_or(0));
        }
        self.anchor = Some((Instant::now(), self.position_ms));
    }

    fn speed(&self) -> f64 {
        self.speed
    }

    fn set_speed(&mut self, speed: f64) {
        if speed.is_finite() && speed > 0.0 {
            self.speed = speed;
            if self.anchor.is_some() {
                self.anchor = Some((Instant::now(), self.position_ms));
            }
        }
    }

    fn seek(&mut self, at_ms: u64) {
        let at_ms = at_ms.min(self.duration_ms());
        self.position_ms = at_ms;
        self.queue.clear();
        if let Some(snapshot) = self.recording.snapshot_at(at_ms) {
            self.queue.push_back(Update::Full(snapshot));
        }
        let events: Vec<_> = self
            .recording
            .events_until(at_ms)
            .map(|(_, event)| event.clone())
            .collect();
        if !events.is_empty() {
            self.queue.push_back(Update::Events { events, missed: 0 });
        }
        self.next_frame = self.recording.frames_until(at_ms);
        self.generation += 1;
        if self.anchor.is_some() {
            self.anchor = Some((Instant::now(), at_ms));
        }
    }

    fn step(&mut self, forward: bool) {
        let at = self.position_ms;
        let target = if forward {
            self.event_times.iter().find(|&&time| time > at).copied()
        } else {
            self.event_times
                .iter()
                .rev()
                .find(|&&time| time < at)
                .copied()
        };
        if let Some(target) = target {
            self.set_playing(false);
            self.seek(target);
        }
    }

    fn markers(&self) -> &[Marker] {
        &self.markers
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn load_until_playhead(&self) -> &[LoadPoint] {
        let until = self
            .load
            .partition_point(|point| point.at_ms <= self.position_ms);
        &self.load[..until]
    }

    fn advance(&mut self, now: Instant) -> Option<Duration> {
        let (since, from_ms) = self.anchor?;
        let played_ms = now.saturating_duration_since(since).as_secs_f64() * 1000.0 * self.speed;
        let duration = self.duration_ms();
        self.position_ms = (from_ms + played_ms as u64).min(duration);
        self.pass_frames();
        if self.position_ms >= duration {
            self.anchor = None;
            return None;
        }
        Some(PLAY_FRAME)
    }
}
