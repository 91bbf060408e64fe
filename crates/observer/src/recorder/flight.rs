//! The flight recorder: the last minute of what the Observer took from its source, in memory,
//! ready to be written out as a recording.
//!
//! It holds segments: each starts with a keyframe (a full snapshot the source sent, or the
//! Observer's model every [`KEYFRAME_EVERY`], an `Arc` shared with the Observer's state, so
//! holding it costs one copy of the process table, not of the processes) and holds the
//! updates, commands and replies taken after it. A segment goes once the next one starts
//! before the window: what is kept always starts at a keyframe at or before the window's
//! start. Two bounds keep it small whatever the node does: the time window, and
//! [`MAX_HELD_ITEMS`] (processes in deltas and events held); past that, the oldest segment
//! goes early and the recorder holds less than the window.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otpscope_contract::recording::Frame;
use otpscope_contract::{Command, CommandError, Reply, Snapshot, Update};

use super::writer::ToWriter;
use crate::source::RequestId;

/// How much the flight recorder keeps.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How often it puts the Observer's model down as a keyframe.
pub const KEYFRAME_EVERY: Duration = Duration::from_secs(10);

/// The most processes (in deltas) and events it holds, whatever the window. A process
/// version held costs about 320 bytes, so this is about 160 MiB at worst; a 10,000-process
/// node with a tenth of it changing every 200 ms fills a minute with 306,000 (95 MiB), a
/// quiet one holds 2 MiB (`tests/flight_memory.rs`, BENCHMARKS.md).
pub const MAX_HELD_ITEMS: usize = 500_000;

/// What the app took from its source, for the recorders.
#[derive(Clone, Debug)]
pub enum Took {
    /// A full snapshot, as the Observer now holds it.
    Full(Arc<Snapshot>),
    /// A delta or events.
    Update(Update),
}

/// A held frame, with when it was taken.
#[derive(Clone, Debug)]
enum Held {
    Update(Update),
    Command {
        id: RequestId,
        command: Command,
    },
    Reply {
        id: RequestId,
        result: Result<Reply, CommandError>,
    },
}

/// A keyframe and what came after it, until the next.
#[derive(Debug)]
struct Segment {
    /// When the keyframe was taken.
    at: Instant,
    /// The node then.
    keyframe: Arc<Snapshot>,
    /// The source sent it (a resync, another node): a replay must see it. The recorder's
    /// own keyframes are only where a saved minute may start.
    is_from_source: bool,
    /// What came after, in order.
    after: Vec<(Instant, Held)>,
    /// Processes and events `after` holds.
    items: usize,
}

/// The last minute, in memory; see the module docs.
#[derive(Debug)]
pub struct FlightRecorder {
    /// Oldest first.
    segments: VecDeque<Segment>,
    /// Processes and events held in all segments.
    items: usize,
    /// How much is kept ([`WINDOW`]).
    pub window: Duration,
    /// How often a keyframe is taken ([`KEYFRAME_EVERY`]).
    pub keyframe_every: Duration,
    /// The most items held ([`MAX_HELD_ITEMS`]).
    pub max_items: usize,
}

impl Default for FlightRecorder {
    fn default() -> Self {
        Self {
            segments: VecDeque::new(),
            items: 0,
            window: WINDOW,
            keyframe_every: KEYFRAME_EVERY,
            max_items: MAX_HELD_ITEMS,
        }
    }
}

impl FlightRecorder {
    /// Takes what the app took at `now`; `current` is the Observer's model after it.
    pub fn took(&mut self, now: Instant, took: Took, current: Option<&Arc<Snapshot>>) {
        match took {
            Took::Full(snapshot) => self.start_segment(now, snapshot, true),
            Took::Update(update) => {
                let items = match &update {
                    Update::Full(snapshot) => snapshot.len(),
                    Update::Delta(delta) => delta.added.len() + delta.changed.len(),
                    Update::Events { events, .. } => events.len(),
                };
                let Some(segment) = self.segments.back_mut() else {
                    // Nothing to apply it to until a snapshot comes.
                    return;
                };
                segment.after.push((now, Held::Update(update)));
                segment.items += items;
                self.items += items;
                let is_due = now.saturating_duration_since(segment.at) >= self.keyframe_every
                    || segment.items > self.max_items / 2;
                if is_due && let Some(current) = current {
                    self.start_segment(now, current.clone(), false);
                }
            }
        }
        self.trim(now);
    }

    /// Holds a command sent at `now`.
    pub fn command(&mut self, now: Instant, id: RequestId, command: &Command) {
        if let Some(segment) = self.segments.back_mut() {
            let command = command.clone();
            segment.after.push((now, Held::Command { id, command }));
        }
    }

    /// Holds a reply taken at `now`.
    pub fn reply(&mut self, now: Instant, id: RequestId, result: &Result<Reply, CommandError>) {
        if let Some(segment) = self.segments.back_mut() {
            let result = result.clone();
            segment.after.push((now, Held::Reply { id, result }));
        }
    }

    fn start_segment(&mut self, now: Instant, keyframe: Arc<Snapshot>, is_from_source: bool) {
        self.segments.push_back(Segment {
            at: now,
            keyframe,
            is_from_source,
            after: Vec::new(),
            items: 0,
        });
    }

    /// Drops the segments wholly before the window, and the oldest while too much is held.
    fn trim(&mut self, now: Instant) {
        let start = now.checked_sub(self.window);
        while self.segments.len() >= 2 {
            let is_before = start.is_some_and(|start| self.segments[1].at <= start);
            if !is_before && self.items <= self.max_items {
                break;
            }
            if let Some(gone) = self.segments.pop_front() {
                self.items -= gone.items;
            }
        }
    }

    /// How far back what is held goes from `now`, at most the window; `None` before the
    /// first snapshot.
    pub fn held(&self, now: Instant) -> Option<Duration> {
        let first = self.segments.front()?;
        Some(now.saturating_duration_since(first.at).min(self.window))
    }

    /// Processes and events held (in deltas and event batches).
    pub fn items(&self) -> usize {
        self.items
    }

    /// The last minute as frames for a writer, times counted from its start (the window's
    /// start, or the first keyframe if it is later), and when that start was. What comes
    /// between the first keyframe and the window's start is written at 0 ms, so the file's
    /// first moment is the node at the window's start. `None` before the first snapshot.
    pub(super) fn frames(&self, now: Instant) -> Option<(Instant, Vec<ToWriter>)> {
        let first = self.segments.front()?;
        let start = now
            .checked_sub(self.window)
            .map_or(first.at, |start| start.max(first.at));
        let at_ms = |at: Instant| at.saturating_duration_since(start).as_millis() as u64;
        let mut frames = Vec::new();
        let mut commands = HashSet::new();
        for (index, segment) in self.segments.iter().enumerate() {
            if index == 0 || segment.is_from_source {
                frames.push(ToWriter::Keyframe {
                    at_ms: at_ms(segment.at),
                    snapshot: segment.keyframe.clone(),
                });
            }
            for (at, held) in &segment.after {
                let at_ms = at_ms(*at);
                frames.push(match held {
                    Held::Update(update) => ToWriter::Update {
                        at_ms,
                        update: update.clone(),
                    },
                    Held::Command { id, command } => {
                        commands.insert(*id);
                        ToWriter::Frame(Frame::Command {
                            at_ms,
                            id: *id,
                            command: command.clone(),
                        })
                    }
                    // A reply to a command sent before what is kept: no use alone.
                    Held::Reply { id, .. } if !commands.contains(id) => continue,
                    Held::Reply { id, result } => ToWriter::Frame(Frame::Reply {
                        at_ms,
                        id: *id,
                        result: result.clone(),
                    }),
                });
            }
        }
        Some((start, frames))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use otpscope_contract::{Delta, Pid, ProcessInfo, ProcessKind};

    use super::*;

    fn snapshot(seq: u64) -> Arc<Snapshot> {
        let process = Arc::new(ProcessInfo::new(Pid(1), ProcessKind::Plain, "w"));
        Arc::new(Snapshot::new("n", 0, 0, seq, [process]))
    }

    fn delta(seq: u64, changed: usize) -> Took {
        let info = Arc::new(ProcessInfo::new(Pid(1), ProcessKind::Plain, "w"));
        Took::Update(Update::Delta(Delta {
            seq,
            from_seq: seq - 1,
            changed: vec![info; changed],
            ..Delta::default()
        }))
    }

    fn keyframe_times(frames: &[ToWriter]) -> Vec<u64> {
        frames
            .iter()
            .filter_map(|frame| match frame {
                ToWriter::Keyframe { at_ms, .. } => Some(*at_ms),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn it_keeps_the_last_minute_from_a_keyframe_before_it() {
        let mut flight = FlightRecorder::default();
        let start = Instant::now();
        flight.took(start, Took::Full(snapshot(1)), None);
        // A delta a second for two minutes; a keyframe every 10 s.
        for second in 1..=120u64 {
            let now = start + Duration::from_secs(second);
            flight.took(now, delta(second + 1, 1), Some(&snapshot(second + 1)));
        }
        let now = start + Duration::from_secs(120);
        assert_eq!(flight.held(now), Some(WINDOW));
        // The oldest kept keyframe is the last at or before the window's start (60 s).
        assert_eq!(
            flight.segments.front().unwrap().at,
            start + Duration::from_secs(60)
        );
        let (from, frames) = flight.frames(now).unwrap();
        assert_eq!(from, start + Duration::from_secs(60));
        assert_eq!(
            keyframe_times(&frames),
            [0],
            "its own keyframes are not written"
        );
        assert_eq!(frames.len(), 1 + 60);
        assert_eq!(flight.items(), 60);
    }

    #[test]
    fn a_busy_node_is_held_for_less_than_the_window() {
        let mut flight = FlightRecorder {
            max_items: 1_000,
            ..FlightRecorder::default()
        };
        let start = Instant::now();
        flight.took(start, Took::Full(snapshot(1)), None);
        for tick in 1..=100u64 {
            let now = start + Duration::from_millis(200 * tick);
            flight.took(now, delta(tick + 1, 100), Some(&snapshot(tick + 1)));
        }
        assert!(flight.items() <= 1_000, "{} items held", flight.items());
        let now = start + Duration::from_secs(20);
        assert!(flight.held(now).unwrap() < Duration::from_secs(20));
    }

    #[test]
    fn a_full_snapshot_from_the_source_is_written_and_early_replies_are_not() {
        let mut flight = FlightRecorder::default();
        let start = Instant::now();
        flight.took(start, Took::Full(snapshot(1)), None);
        flight.reply(start, 7, &Ok(Reply::Done));
        flight.command(start, 8, &Command::RestartApp);
        flight.took(
            start + Duration::from_secs(1),
            Took::Full(snapshot(5)),
            None,
        );
        flight.reply(start + Duration::from_secs(2), 8, &Ok(Reply::Done));
        let (_, frames) = flight.frames(start + Duration::from_secs(2)).unwrap();
        assert_eq!(keyframe_times(&frames), [0, 1_000]);
        let replies: Vec<u64> = frames
            .iter()
            .filter_map(|frame| match frame {
                ToWriter::Frame(Frame::Reply { id, .. }) => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(replies, [8]);
    }
}
