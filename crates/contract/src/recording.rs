//! Recordings: a node as it was observed, on disk, to replay later (feature `recording`).
//!
//! A recording is the contract's own data over time: full [`Snapshot`]s as keyframes, the
//! [`Update`]s (deltas and events) between them, and every [`Command`] sent with its reply,
//! each stamped with the milliseconds since the recording started. Any source can be recorded
//! and a recording is replayed by any view, since nothing here knows the runtime.
//!
//! The file (all integers of the fixed parts little-endian):
//!
//! ```text
//! magic       8 bytes   "OTPSREC\0"
//! version     u32       RECORDING_VERSION, this layout's version
//! contract    u32       FORMAT_VERSION of the contract the frames are in
//! header      u32 len, u32 crc32, `len` bytes: the Header, in the contract's binary form
//! chunk*      u32 len, u32 crc32, u32 frames, `len` bytes: raw deflate of `frames` Frames,
//!             each in the binary form, one after the other
//! ```
//!
//! Two things a reader must know:
//! - The file is append-only, written in chunks, each compressed on its own and flushed to
//!   the OS at least once a second ([`FLUSH_EVERY`]), so a crash loses at most the last
//!   second. [`read`] replays every whole chunk and reports the first damaged one (truncated
//!   or corrupted, with its byte offset) as [`ReadOutcome::damage`] instead of failing.
//! - A newer layout or contract version is refused before anything is decoded, because the
//!   binary form does not describe itself ([`binary`](crate::binary)).

use std::collections::HashMap;
use std::io::{self, Read as _, Write};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};

use crate::binary::{self, BinaryError};
use crate::{
    Capabilities, Command, CommandError, Event, EventKind, FORMAT_VERSION, LoadCounts, LoadPoint,
    Pid, Reply, Snapshot, Update,
};

/// The first bytes of every recording.
pub const MAGIC: [u8; 8] = *b"OTPSREC\0";

/// The version of the file layout described in the [module docs](self).
pub const RECORDING_VERSION: u32 = 1;

/// How often the recorders put a keyframe down ([`Header::keyframe_every_ms`]): `otpscope
/// run --record`, `serve --record` and the Observer's Record button write the same files.
pub const KEYFRAME_EVERY: Duration = Duration::from_secs(5);

/// A [`Sink`] puts a keyframe down at least every this many [`Header::keyframe_every_ms`],
/// and sooner only once a twentieth of the node has changed since the last one: ten quiet
/// minutes of a 100,000-process node take ten keyframes, not 120 (26 MiB before, see
/// BENCHMARKS.md), and a seek still applies little (a twentieth of the node, or a minute of
/// small deltas).
pub const KEYFRAME_LONGEST: u64 = 12;

/// The longest a written frame waits in memory before its chunk reaches the file.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A chunk is written once its frames take this many bytes, whatever its age.
const CHUNK_BYTES: usize = 1 << 20;

/// The most a chunk may claim to hold, compressed or not: a length past it is corruption.
const MAX_CHUNK_BYTES: u64 = 1 << 30;

/// Bytes before the header block: magic, layout version, contract version.
const PREFIX_BYTES: usize = 16;

/// What a recording is of, written once at its start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// What was observed, as the source's title says (`KV app (final) on node otpscope`).
    pub title: String,
    /// When the recording started (wall clock); every frame's `at_ms` counts from here.
    pub started_at_unix_ms: u64,
    /// What the observed source offered.
    pub capabilities: Capabilities,
    /// The least time between two keyframes the writer put down (see [`Sink`]: a quiet big
    /// node gets one at most every [`KEYFRAME_LONGEST`] times this).
    pub keyframe_every_ms: u64,
}

/// One timestamped thing in a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// The whole node at that moment: a view replaces its snapshot with it.
    Keyframe {
        /// Milliseconds since the recording started.
        at_ms: u64,
        /// The node.
        snapshot: Snapshot,
    },
    /// A delta or an event batch, as the source sent it.
    Update {
        /// Milliseconds since the recording started.
        at_ms: u64,
        /// The update.
        update: Update,
    },
    /// A command sent to the node.
    Command {
        /// Milliseconds since the recording started.
        at_ms: u64,
        /// Matches the command to its [`Frame::Reply`].
        id: u64,
        /// The command.
        command: Command,
    },
    /// The node's reply to a command.
    Reply {
        /// Milliseconds since the recording started.
        at_ms: u64,
        /// The command's id.
        id: u64,
        /// The reply.
        result: Result<Reply, CommandError>,
    },
}

impl Frame {
    /// Milliseconds since the recording started.
    pub fn at_ms(&self) -> u64 {
        match self {
            Self::Keyframe { at_ms, .. }
            | Self::Update { at_ms, .. }
            | Self::Command { at_ms, .. }
            | Self::Reply { at_ms, .. } => *at_ms,
        }
    }
}

/// Why a recording could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file does not start with [`MAGIC`].
    #[error("not an otpscope recording (no OTPSREC magic at byte 0)")]
    NotARecording,
    /// The layout is newer than this build reads.
    #[error(
        "recording format version {found} is newer than this otpscope reads \
         (up to {supported}): replay it with a newer otpscope"
    )]
    NewerFormat {
        /// The file's layout version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The frames are in another version of the contract.
    #[error(
        "recording holds contract format version {found}, this otpscope reads {supported}: \
         replay it with the otpscope that matches"
    )]
    ContractVersion {
        /// The file's contract version.
        found: u32,
        /// This build's.
        supported: u32,
    },
    /// The file ends inside a block.
    #[error("recording truncated at byte {offset}, in {block} (frames before it replay)")]
    Truncated {
        /// Where the incomplete block starts.
        offset: u64,
        /// Which block: `the header`, `chunk 3`.
        block: String,
    },
    /// A block's checksum, compression or frames do not hold together.
    #[error("recording corrupted at byte {offset}, in {block}: {what} (frames before it replay)")]
    Corrupt {
        /// Where the damaged block starts.
        offset: u64,
        /// Which block: `the header`, `chunk 3`.
        block: String,
        /// What is wrong with it.
        what: String,
    },
    /// Writing or reading the file failed.
    #[error("recording i/o: {0}")]
    Io(#[from] io::Error),
    /// A frame could not be put in the binary form.
    #[error("recording: {0}")]
    Encode(#[from] BinaryError),
}

// === impl Writer ===

/// Writes a recording append-only: frames gather in memory and reach `out` as one compressed
/// chunk when [`FLUSH_EVERY`] has passed since the oldest of them (checked on every
/// [`push`](Writer::push) and [`flush_if_due`](Writer::flush_if_due)), when they pass 1 MiB,
/// and on [`flush`](Writer::flush).
pub struct Writer<W: Write> {
    /// The file (or any sink).
    out: W,
    /// Frames in the binary form, not yet written.
    pending: Vec<u8>,
    /// How many frames `pending` holds.
    pending_frames: u32,
    /// When the oldest pending frame was pushed.
    oldest: Option<Instant>,
    /// Chunks written so far.
    chunks: u64,
}

impl<W: Write> Writer<W> {
    /// Writes the magic, the versions and `header` to `out`, and flushes it.
    pub fn new(mut out: W, header: &Header) -> Result<Self, RecordingError> {
        let mut prefix = Vec::with_capacity(PREFIX_BYTES);
        prefix.extend_from_slice(&MAGIC);
        prefix.extend_from_slice(&RECORDING_VERSION.to_le_bytes());
        prefix.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let header = binary::encode(header)?;
        prefix.extend_from_slice(&block_len(header.len())?.to_le_bytes());
        prefix.extend_from_slice(&crc32fast::hash(&header).to_le_bytes());
        prefix.extend_from_slice(&header);
        out.write_all(&prefix)?;
        out.flush()?;
        Ok(Self {
            out,
            pending: Vec::new(),
            pending_frames: 0,
            oldest: None,
            chunks: 0,
        })
    }

    /// Adds a frame; writes the chunk if it is due.
    pub fn push(&mut self, frame: &Frame) -> Result<(), RecordingError> {
        binary::encode_into(frame, &mut self.pending)?;
        self.pending_frames += 1;
        let now = Instant::now();
        self.oldest.get_or_insert(now);
        if self.pending.len() >= CHUNK_BYTES {
            return self.flush();
        }
        self.flush_if_due(now)
    }

    /// Writes the pending frames if the oldest has waited [`FLUSH_EVERY`] by `now`.
    pub fn flush_if_due(&mut self, now: Instant) -> Result<(), RecordingError> {
        match self.oldest {
            Some(oldest) if now.duration_since(oldest) >= FLUSH_EVERY => self.flush(),
            _ => Ok(()),
        }
    }

    /// Writes the pending frames as one chunk, and flushes `out`.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        if self.pending_frames == 0 {
            return Ok(());
        }
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&self.pending)?;
        let compressed = encoder.finish()?;
        let mut head = [0u8; 12];
        head[0..4].copy_from_slice(&block_len(compressed.len())?.to_le_bytes());
        head[4..8].copy_from_slice(&crc32fast::hash(&compressed).to_le_bytes());
        head[8..12].copy_from_slice(&self.pending_frames.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(&compressed)?;
        self.out.flush()?;
        self.pending.clear();
        self.pending_frames = 0;
        self.oldest = None;
        self.chunks += 1;
        Ok(())
    }

    /// How many chunks have been written.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Writes what is pending and hands `out` back.
    pub fn finish(mut self) -> Result<W, RecordingError> {
        self.flush()?;
        Ok(self.out)
    }
}

fn block_len(len: usize) -> Result<u32, RecordingError> {
    u32::try_from(len).map_err(|_| {
        RecordingError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a recording block over 4 GiB",
        ))
    })
}

// === impl Sink ===

/// What a recorder does with a source's stream, with no clock or runtime of its own: writes
/// each update as a frame at the time it is given, keeps the view's model current, and puts
/// the model down as a keyframe after a delta once `keyframe_every_ms` has passed since the
/// last one and a twentieth of the node has changed since, or once [`KEYFRAME_LONGEST`] times
/// that has passed (a full snapshot from the source is a keyframe itself). Times given that go backwards are
/// taken as the latest time seen, so frames never go back in time.
pub struct Sink<W: Write> {
    /// Where the frames go.
    writer: Writer<W>,
    /// The node as a view of the stream holds it, for the next keyframe.
    model: Option<Snapshot>,
    /// When the last keyframe was written.
    last_keyframe_ms: Option<u64>,
    /// How often to write a keyframe, from the header.
    keyframe_every_ms: u64,
    /// Processes added, changed or removed by the deltas since the last keyframe.
    changed_since_keyframe: usize,
    /// The latest frame time, so that times never go down.
    latest_ms: u64,
    /// Frames written so far.
    frames: u64,
}

impl<W: Write> Sink<W> {
    /// Starts a recording in `out` (see [`Writer::new`]).
    pub fn new(out: W, header: &Header) -> Result<Self, RecordingError> {
        Ok(Self {
            writer: Writer::new(out, header)?,
            model: None,
            last_keyframe_ms: None,
            keyframe_every_ms: header.keyframe_every_ms,
            changed_since_keyframe: 0,
            latest_ms: 0,
            frames: 0,
        })
    }

    /// Records an update that arrived `at_ms` after the start.
    pub fn update(&mut self, at_ms: u64, update: Update) -> Result<(), RecordingError> {
        let at_ms = self.latest(at_ms);
        match update {
            Update::Full(snapshot) => {
                self.push(&Frame::Keyframe {
                    at_ms,
                    snapshot: snapshot.clone(),
                })?;
                self.model = Some(snapshot);
                self.last_keyframe_ms = Some(at_ms);
                self.changed_since_keyframe = 0;
            }
            Update::Delta(delta) => {
                if let Some(model) = &mut self.model {
                    model.apply(&delta).ok();
                }
                self.changed_since_keyframe +=
                    delta.added.len() + delta.changed.len() + delta.removed.len();
                self.push(&Frame::Update {
                    at_ms,
                    update: Update::Delta(delta),
                })?;
                if let (Some(last), Some(model)) = (self.last_keyframe_ms, &self.model) {
                    let since = at_ms - last;
                    // Enough changed that a seek would rather start from a new keyframe
                    // (a twentieth of the node), or it is long since the last one.
                    let changed_enough = self.changed_since_keyframe * 20 >= model.len();
                    let is_due = (since >= self.keyframe_every_ms && changed_enough)
                        || since >= self.keyframe_every_ms.saturating_mul(KEYFRAME_LONGEST);
                    if is_due {
                        let frame = Frame::Keyframe {
                            at_ms,
                            snapshot: model.clone(),
                        };
                        self.push(&frame)?;
                        self.last_keyframe_ms = Some(at_ms);
                        self.changed_since_keyframe = 0;
                    }
                }
            }
            update @ Update::Events { .. } => self.push(&Frame::Update { at_ms, update })?,
        }
        Ok(())
    }

    /// Records a command or a reply (or any frame), at its time or later.
    pub fn frame(&mut self, mut frame: Frame) -> Result<(), RecordingError> {
        let at_ms = self.latest(frame.at_ms());
        match &mut frame {
            Frame::Keyframe { at_ms: at, .. }
            | Frame::Update { at_ms: at, .. }
            | Frame::Command { at_ms: at, .. }
            | Frame::Reply { at_ms: at, .. } => *at = at_ms,
        }
        self.push(&frame)
    }

    fn latest(&mut self, at_ms: u64) -> u64 {
        self.latest_ms = self.latest_ms.max(at_ms);
        self.latest_ms
    }

    fn push(&mut self, frame: &Frame) -> Result<(), RecordingError> {
        self.writer.push(frame)?;
        self.frames += 1;
        Ok(())
    }

    /// Writes the pending frames if they are due (see [`Writer::flush_if_due`]).
    pub fn flush_if_due(&mut self, now: Instant) -> Result<(), RecordingError> {
        self.writer.flush_if_due(now)
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes what is pending and hands the sink back.
    pub fn finish(self) -> Result<W, RecordingError> {
        self.writer.finish()
    }
}

// === impl Recording ===

/// A recording read into memory, indexed for seeking.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// What it is of.
    pub header: Header,
    /// Every frame, in the order written (their `at_ms` never go down).
    pub frames: Vec<Frame>,
    /// Indices into `frames` of the keyframes, in order.
    keyframes: Vec<usize>,
}

/// What [`read`] gives: every frame it could read, and the damage that stopped it, if any.
#[derive(Debug)]
pub struct ReadOutcome {
    /// The frames up to the damage (all of them for a whole file).
    pub recording: Recording,
    /// The first truncated or corrupted chunk, if there is one.
    pub damage: Option<RecordingError>,
}

/// Reads a recording. Fails only when the start is unusable (not a recording, a newer
/// version, a damaged header); damage further on ends the frames there and is reported in
/// [`ReadOutcome::damage`].
pub fn read(bytes: &[u8]) -> Result<ReadOutcome, RecordingError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(RecordingError::NotARecording);
    }
    let word = |at: usize| -> Option<u32> {
        let slice = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
    };
    let truncated = |offset: usize, block: String| RecordingError::Truncated {
        offset: offset as u64,
        block,
    };
    let header_block = || "the header".to_owned();
    let version = word(8).ok_or_else(|| truncated(8, header_block()))?;
    if version > RECORDING_VERSION {
        return Err(RecordingError::NewerFormat {
            found: version,
            supported: RECORDING_VERSION,
        });
    }
    let contract = word(12).ok_or_else(|| truncated(12, header_block()))?;
    if contract != FORMAT_VERSION {
        return Err(RecordingError::ContractVersion {
            found: contract,
            supported: FORMAT_VERSION,
        });
    }
    let (Some(len), Some(crc)) = (word(16), word(20)) else {
        return Err(truncated(PREFIX_BYTES, header_block()));
    };
    let body_at = PREFIX_BYTES + 8;
    let Some(body) = bytes.get(body_at..body_at + len as usize) else {
        return Err(truncated(PREFIX_BYTES, header_block()));
    };
    let corrupt = |offset: usize, block: String, what: String| RecordingError::Corrupt {
        offset: offset as u64,
        block,
        what,
    };
    if crc32fast::hash(body) != crc {
        return Err(corrupt(
            PREFIX_BYTES,
            header_block(),
            "checksum mismatch".into(),
        ));
    }
    let header: Header = binary::decode(body)
        .map_err(|error| corrupt(PREFIX_BYTES, header_block(), error.to_string()))?;

    let mut frames = Vec::new();
    let mut at = body_at + len as usize;
    let mut chunk = 0u64;
    let mut damage = None;
    while at < bytes.len() {
        match read_chunk(bytes, at, chunk) {
            Ok((chunk_frames, next)) => {
                frames.extend(chunk_frames);
                at = next;
                chunk += 1;
            }
            Err(error) => {
                damage = Some(error);
                break;
            }
        }
    }
    Ok(ReadOutcome {
        recording: Recording::new(header, frames),
        damage,
    })
}

/// The frames of the chunk at `at`, and where the next chunk starts.
fn read_chunk(bytes: &[u8], at: usize, chunk: u64) -> Result<(Vec<Frame>, usize), RecordingError> {
    let block = || format!("chunk {chunk}");
    let truncated = || RecordingError::Truncated {
        offset: at as u64,
        block: block(),
    };
    let corrupt = |what: String| RecordingError::Corrupt {
        offset: at as u64,
        block: block(),
        what,
    };
    let head = bytes.get(at..at + 12).ok_or_else(truncated)?;
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (len, crc, count) = (word(0), word(4), word(8));
    if u64::from(len) > MAX_CHUNK_BYTES {
        return Err(corrupt(format!("a length of {len} bytes")));
    }
    let body = bytes
        .get(at + 12..at + 12 + len as usize)
        .ok_or_else(truncated)?;
    if crc32fast::hash(body) != crc {
        return Err(corrupt("checksum mismatch".into()));
    }
    let mut plain = Vec::new();
    DeflateDecoder::new(body)
        .take(MAX_CHUNK_BYTES)
        .read_to_end(&mut plain)
        .map_err(|error| corrupt(format!("cannot decompress: {error}")))?;
    let mut frames = Vec::with_capacity(count as usize);
    let mut rest = plain.as_slice();
    for index in 0..count {
        let (frame, left) = postcard::take_from_bytes::<Frame>(rest)
            .map_err(|error| corrupt(format!("frame {index}: {error}")))?;
        frames.push(frame);
        rest = left;
    }
    if !rest.is_empty() {
        return Err(corrupt(format!(
            "{} bytes after its {count} frames",
            rest.len()
        )));
    }
    Ok((frames, at + 12 + len as usize))
}

impl Recording {
    /// A recording of `frames`, indexed.
    pub fn new(header: Header, frames: Vec<Frame>) -> Self {
        let keyframes = frames
            .iter()
            .enumerate()
            .filter(|(_, frame)| matches!(frame, Frame::Keyframe { .. }))
            .map(|(index, _)| index)
            .collect();
        Self {
            header,
            frames,
            keyframes,
        }
    }

    /// The time of the last frame: how long the recording lasts.
    pub fn duration_ms(&self) -> u64 {
        self.frames.last().map_or(0, Frame::at_ms)
    }

    /// When the first keyframe was written: the first moment a view can show.
    pub fn first_keyframe_ms(&self) -> Option<u64> {
        self.keyframes
            .first()
            .map(|&index| self.frames[index].at_ms())
    }

    /// The number of frames at or before `at_ms`.
    pub fn frames_until(&self, at_ms: u64) -> usize {
        self.frames.partition_point(|frame| frame.at_ms() <= at_ms)
    }

    /// The index of the last keyframe at or before `at_ms`.
    pub fn keyframe_before(&self, at_ms: u64) -> Option<usize> {
        let count = self
            .keyframes
            .partition_point(|&index| self.frames[index].at_ms() <= at_ms);
        count.checked_sub(1).map(|at| self.keyframes[at])
    }

    /// The node as a view of the recorded source showed it at `at_ms`: the last keyframe at
    /// or before it with the deltas after it applied, up to `at_ms`. A delta that does not
    /// follow is skipped, as a live view skips it until the source resyncs. `None` before
    /// the first keyframe.
    pub fn snapshot_at(&self, at_ms: u64) -> Option<Snapshot> {
        let start = self.keyframe_before(at_ms)?;
        let Frame::Keyframe { snapshot, .. } = &self.frames[start] else {
            return None;
        };
        let mut snapshot = snapshot.clone();
        for frame in &self.frames[start + 1..self.frames_until(at_ms)] {
            if let Frame::Update {
                update: Update::Delta(delta),
                ..
            } = frame
            {
                snapshot.apply(delta).ok();
            }
        }
        Some(snapshot)
    }

    /// Every event recorded at or before `at_ms`, in order.
    pub fn events_until(&self, at_ms: u64) -> impl Iterator<Item = (u64, &Event)> + '_ {
        self.frames[..self.frames_until(at_ms)]
            .iter()
            .flat_map(|frame| match frame {
                Frame::Update {
                    at_ms,
                    update: Update::Events { events, .. },
                } => events
                    .iter()
                    .map(|event| (*at_ms, event))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
    }

    /// The node's load over the recording, in time order: a [`LoadPoint`] at each frame that
    /// changed it (a keyframe, a delta that follows, an event batch with restarts), each
    /// counting what a view shows from then on, as if the recording had played from its start
    /// ([`LoadPoint::in_force_at`] finds the one for any moment). Worked out in one pass: a
    /// keyframe is counted whole, a delta takes away the shares its changed and removed
    /// processes had and adds those its added and changed ones have now; a delta that does
    /// not follow is skipped, as in [`Recording::snapshot_at`]. Restarts count every
    /// `restarted` event from the start. No point before the first keyframe; no memory (a
    /// recording holds none).
    pub fn load_history(&self) -> Vec<LoadPoint> {
        let mut points = Vec::new();
        // Each live process's share of `counts`, as last counted.
        let mut shares: HashMap<Pid, LoadCounts> = HashMap::new();
        let mut counts = LoadCounts::default();
        // The seq of the node as counted; `None` before the first keyframe.
        let mut seq = None;
        let mut restarts = 0u64;
        for frame in &self.frames {
            match frame {
                Frame::Keyframe { snapshot, .. } => {
                    shares.clear();
                    shares.extend(
                        snapshot
                            .processes()
                            .map(|info| (info.pid, LoadCounts::of_process(info))),
                    );
                    counts = LoadCounts::default();
                    for share in shares.values() {
                        counts.add(share);
                    }
                    seq = Some(snapshot.seq);
                }
                Frame::Update {
                    update: Update::Delta(delta),
                    ..
                } => {
                    if seq != Some(delta.from_seq) {
                        continue;
                    }
                    for info in delta.added.iter().chain(&delta.changed) {
                        let share = LoadCounts::of_process(info);
                        if let Some(old) = shares.insert(info.pid, share) {
                            counts.subtract(&old);
                        }
                        counts.add(&share);
                    }
                    for removed in &delta.removed {
                        if let Some(old) = shares.remove(&removed.pid) {
                            counts.subtract(&old);
                        }
                    }
                    seq = Some(delta.seq);
                }
                Frame::Update {
                    update: Update::Events { events, .. },
                    ..
                } => {
                    let restarted = events
                        .iter()
                        .filter(|event| matches!(event.kind, EventKind::Restarted { .. }))
                        .count();
                    if restarted == 0 {
                        continue;
                    }
                    restarts += restarted as u64;
                }
                // A full snapshot is written as a keyframe; one in an update frame is not
                // what a seek shows either (see `snapshot_at`).
                Frame::Update {
                    update: Update::Full(_),
                    ..
                }
                | Frame::Command { .. }
                | Frame::Reply { .. } => continue,
            }
            if seq.is_some() {
                points.push(LoadPoint {
                    at_ms: frame.at_ms(),
                    counts,
                    restarts,
                    memory_bytes: None,
                });
            }
        }
        points
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::{Delta, ExitReason, ProcessInfo, ProcessKind, Removed};

    fn header() -> Header {
        Header {
            title: "test node".into(),
            started_at_unix_ms: 1_000,
            capabilities: Capabilities::default(),
            keyframe_every_ms: 10_000,
        }
    }

    fn snapshot(seq: u64, pids: &[u64]) -> Snapshot {
        let processes = pids
            .iter()
            .map(|&pid| Arc::new(ProcessInfo::new(Pid(pid), ProcessKind::Plain, "worker")));
        Snapshot::new("n", 0, 0, seq, processes)
    }

    /// Keyframe times of a sink fed a 1,000-process node, a delta a second changing
    /// `per_second` processes, for `seconds`.
    fn keyframe_times(per_second: u64, seconds: u64) -> Vec<u64> {
        let pids: Vec<u64> = (1..=1_000).collect();
        let mut model = snapshot(1, &pids);
        let header = Header {
            keyframe_every_ms: 5_000,
            ..header()
        };
        let mut sink = Sink::new(Vec::new(), &header).unwrap();
        sink.update(0, Update::Full(model.clone())).unwrap();
        for second in 1..=seconds {
            let changed = (0..per_second)
                .map(|i| {
                    let mut info = model.process(Pid(1 + i)).unwrap().clone();
                    info.mailbox_len = second;
                    Arc::new(info)
                })
                .collect();
            let delta = Delta {
                seq: model.seq + 1,
                from_seq: model.seq,
                changed,
                ..Delta::default()
            };
            model.apply(&delta).unwrap();
            sink.update(second * 1_000, Update::Delta(delta)).unwrap();
        }
        let bytes = sink.finish().unwrap();
        read(&bytes)
            .unwrap()
            .recording
            .frames
            .iter()
            .filter(|frame| matches!(frame, Frame::Keyframe { .. }))
            .map(Frame::at_ms)
            .collect()
    }

    #[test]
    fn keyframes_come_when_enough_changed_or_at_the_latest_after_twelve_periods() {
        // A twentieth of the node (50) changes every 5 s: a keyframe each period.
        assert_eq!(keyframe_times(10, 16), [0, 5_000, 10_000, 15_000]);
        // One process a second: the twentieth is reached after 50 s.
        assert_eq!(keyframe_times(1, 70), [0, 50_000]);
        // Nothing changes: a keyframe 12 periods (60 s) after the last.
        assert_eq!(keyframe_times(0, 130), [0, 60_000, 120_000]);
    }

    /// Keyframe (1, 2) at 0, delta adding 3 at 100, an event at 150, a command and its
    /// reply at 200, delta removing 1 at 300; each frame in a chunk of its own when
    /// `chunk_each`.
    fn sample(chunk_each: bool) -> (Vec<u8>, Vec<Frame>) {
        let frames = vec![
            Frame::Keyframe {
                at_ms: 0,
                snapshot: snapshot(1, &[1, 2]),
            },
            Frame::Update {
                at_ms: 100,
                update: Update::Delta(Delta {
                    seq: 2,
                    from_seq: 1,
                    taken_at_unix_ms: 0,
                    added: vec![Arc::new(ProcessInfo::new(Pid(3), ProcessKind::Plain, "w"))],
                    changed: Vec::new(),
                    removed: Vec::new(),
                }),
            },
            Frame::Update {
                at_ms: 150,
                update: Update::Events {
                    events: vec![Event {
                        seq: 1,
                        at_ms: 7,
                        kind: EventKind::Exited {
                            pid: Pid(1),
                            reason: ExitReason::Killed,
                        },
                    }],
                    missed: 0,
                },
            },
            Frame::Command {
                at_ms: 200,
                id: 1,
                command: Command::Exit {
                    pid: Pid(1),
                    reason: ExitReason::Kill,
                },
            },
            Frame::Reply {
                at_ms: 200,
                id: 1,
                result: Err(CommandError::NoProcess(Pid(1))),
            },
            Frame::Update {
                at_ms: 300,
                update: Update::Delta(Delta {
                    seq: 3,
                    from_seq: 2,
                    taken_at_unix_ms: 0,
                    added: Vec::new(),
                    changed: Vec::new(),
                    removed: vec![Removed {
                        pid: Pid(1),
                        reason: ExitReason::Killed,
                    }],
                }),
            },
        ];
        let mut writer = Writer::new(Vec::new(), &header()).unwrap();
        for frame in &frames {
            writer.push(frame).unwrap();
            if chunk_each {
                writer.flush().unwrap();
            }
        }
        (writer.finish().unwrap(), frames)
    }

    /// Where chunk `n` starts in `bytes`.
    fn chunk_offset(bytes: &[u8], n: usize) -> usize {
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let mut at = PREFIX_BYTES + 8 + word(PREFIX_BYTES);
        for _ in 0..n {
            at += 12 + word(at);
        }
        at
    }

    #[test]
    fn a_recording_reads_back_as_written() {
        let (bytes, frames) = sample(false);
        let outcome = read(&bytes).unwrap();
        assert!(outcome.damage.is_none());
        assert_eq!(outcome.recording.header, header());
        assert_eq!(outcome.recording.frames, frames);
        assert_eq!(outcome.recording.duration_ms(), 300);
    }

    #[test]
    fn seeking_applies_the_deltas_after_the_keyframe() {
        let (bytes, _) = sample(false);
        let recording = read(&bytes).unwrap().recording;
        let pids = |at_ms| {
            let snapshot = recording.snapshot_at(at_ms).unwrap();
            snapshot
                .processes()
                .map(|info| info.pid.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(pids(0), [1, 2]);
        assert_eq!(pids(99), [1, 2]);
        assert_eq!(pids(100), [1, 2, 3]);
        assert_eq!(pids(299), [1, 2, 3]);
        assert_eq!(pids(300), [2, 3]);
        assert_eq!(pids(u64::MAX), [2, 3]);
        assert_eq!(recording.events_until(149).count(), 0);
        assert_eq!(recording.events_until(150).count(), 1);
    }

    #[test]
    fn a_truncated_recording_names_the_offset_and_replays_up_to_there() {
        let (bytes, frames) = sample(true);
        let third = chunk_offset(&bytes, 3);
        for cut in [third + 1, third + 12, chunk_offset(&bytes, 4) - 1] {
            let outcome = read(&bytes[..cut]).unwrap();
            assert_eq!(outcome.recording.frames, frames[..3]);
            let damage = outcome.damage.unwrap();
            assert_eq!(
                damage.to_string(),
                format!(
                    "recording truncated at byte {third}, in chunk 3 (frames before it replay)"
                )
            );
        }
    }

    #[test]
    fn a_corrupted_chunk_names_the_offset_and_replays_up_to_there() {
        let (mut bytes, frames) = sample(true);
        let second = chunk_offset(&bytes, 2);
        bytes[second + 14] ^= 0x55;
        let outcome = read(&bytes).unwrap();
        assert_eq!(outcome.recording.frames, frames[..2]);
        assert_eq!(
            outcome.damage.unwrap().to_string(),
            format!(
                "recording corrupted at byte {second}, in chunk 2: checksum mismatch \
                 (frames before it replay)"
            )
        );
    }

    #[test]
    fn newer_versions_are_refused_with_a_clear_message() {
        let (mut bytes, _) = sample(false);
        bytes[8..12].copy_from_slice(&(RECORDING_VERSION + 1).to_le_bytes());
        assert_eq!(
            read(&bytes).unwrap_err().to_string(),
            format!(
                "recording format version {} is newer than this otpscope reads (up to {}): \
                 replay it with a newer otpscope",
                RECORDING_VERSION + 1,
                RECORDING_VERSION
            )
        );
        let (mut bytes, _) = sample(false);
        bytes[12..16].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            read(&bytes).unwrap_err(),
            RecordingError::ContractVersion { found, supported }
                if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION
        ));
        assert!(matches!(
            read(b"PK\x03\x04 not a recording").unwrap_err(),
            RecordingError::NotARecording
        ));
    }

    #[test]
    fn a_damaged_header_is_an_error() {
        let (bytes, _) = sample(false);
        assert!(matches!(
            read(&bytes[..20]).unwrap_err(),
            RecordingError::Truncated { offset: 16, .. }
        ));
        let mut bytes = bytes;
        bytes[PREFIX_BYTES + 9] ^= 1;
        assert!(matches!(
            read(&bytes).unwrap_err(),
            RecordingError::Corrupt { offset: 16, .. }
        ));
    }

    /// A process of the kind `n % 4` picks, with `n`-derived messages and mailbox.
    fn varied(pid: u64, n: u64) -> Arc<ProcessInfo> {
        let kind = match n % 4 {
            0 => ProcessKind::DynamicSupervisor {
                max_restarts: 3,
                max_seconds: 5,
                max_children: None,
            },
            1 => ProcessKind::Agent,
            2 => ProcessKind::Server,
            _ => ProcessKind::Plain,
        };
        let mut info = ProcessInfo::new(Pid(pid), kind, "p");
        info.messages_handled = n * 13 % 101;
        info.mailbox_len = n % 7;
        Arc::new(info)
    }

    #[test]
    fn the_load_history_matches_a_full_recount_at_every_moment() {
        // A restart before the first keyframe; then deltas that add, change (kind, messages,
        // mailbox) and remove, event batches with restarts at the same times, a keyframe of
        // the model midway and a delta that does not follow (skipped by a seek).
        let mut random = 0x2545_f491_u64;
        let mut next = move |below: u64| {
            random = random
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (random >> 33) % below
        };
        let restart = |old: u64, new: u64| Event {
            seq: new,
            at_ms: 0,
            kind: EventKind::Restarted {
                supervisor: Pid(1),
                child_id: "c".into(),
                old: Pid(old),
                new: Pid(new),
            },
        };
        let mut model = Snapshot::new("n", 0, 0, 1, (1..=20).map(|pid| varied(pid, pid)));
        let mut frames = vec![
            Frame::Update {
                at_ms: 10,
                update: Update::Events {
                    events: vec![restart(1, 2)],
                    missed: 0,
                },
            },
            Frame::Keyframe {
                at_ms: 50,
                snapshot: model.clone(),
            },
        ];
        let mut next_pid = 21;
        for step in 1..=60u64 {
            let at_ms = 50 + step * 100;
            let live: Vec<u64> = model.processes().map(|info| info.pid.0).collect();
            let mut removed: Vec<u64> = (0..next(3))
                .map(|_| live[next(live.len() as u64) as usize])
                .collect();
            removed.sort_unstable();
            removed.dedup();
            let mut changed: Vec<u64> = (0..next(5))
                .map(|_| live[next(live.len() as u64) as usize])
                .filter(|pid| !removed.contains(pid))
                .collect();
            changed.sort_unstable();
            changed.dedup();
            let added: Vec<u64> = (0..next(3))
                .map(|_| {
                    next_pid += 1;
                    next_pid
                })
                .collect();
            let follows = step != 35;
            let delta = Delta {
                seq: model.seq + 1,
                from_seq: if follows { model.seq } else { model.seq + 7 },
                taken_at_unix_ms: at_ms,
                added: added.iter().map(|&pid| varied(pid, next(50))).collect(),
                changed: changed.iter().map(|&pid| varied(pid, next(50))).collect(),
                removed: removed
                    .iter()
                    .map(|&pid| Removed {
                        pid: Pid(pid),
                        reason: ExitReason::Killed,
                    })
                    .collect(),
            };
            if follows {
                model.apply(&delta).unwrap();
            }
            frames.push(Frame::Update {
                at_ms,
                update: Update::Delta(delta),
            });
            if step % 4 == 0 {
                let events = removed
                    .iter()
                    .zip(&added)
                    .map(|(&old, &new)| restart(old, new));
                frames.push(Frame::Update {
                    at_ms,
                    update: Update::Events {
                        events: events.collect(),
                        missed: 0,
                    },
                });
            }
            if step == 30 {
                frames.push(Frame::Keyframe {
                    at_ms,
                    snapshot: model.clone(),
                });
            }
        }
        let recording = Recording::new(header(), frames);
        let history = recording.load_history();
        assert!(
            history
                .windows(2)
                .all(|pair| pair[0].at_ms <= pair[1].at_ms)
        );
        assert!(history.iter().any(|point| point.restarts > 1));

        assert_eq!(LoadPoint::in_force_at(&history, 49), None);
        let times = recording.frames.iter().map(Frame::at_ms);
        for at_ms in times
            .flat_map(|at| [at - 1, at, at + 1])
            .filter(|&at| at >= 50)
        {
            let point = LoadPoint::in_force_at(&history, at_ms).unwrap();
            let snapshot = recording.snapshot_at(at_ms).unwrap();
            let restarts = recording
                .events_until(at_ms)
                .filter(|(_, event)| matches!(event.kind, EventKind::Restarted { .. }))
                .count();
            assert_eq!(
                point.counts,
                LoadCounts::of_snapshot(&snapshot),
                "at {at_ms} ms"
            );
            assert_eq!(point.restarts, restarts as u64, "at {at_ms} ms");
            assert_eq!(point.memory_bytes, None);
        }
    }
}
