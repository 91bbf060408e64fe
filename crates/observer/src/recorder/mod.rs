//! Recording what the Observer receives, whatever its source: the Record button (a file
//! written as things arrive) and the [flight recorder](flight) (the last minute in memory,
//! written out on demand or when a supervisor gives up).
//!
//! Both are fed by the app with what it takes from its source: each update once the state
//! has applied it, each command sent and each reply taken, stamped when the Observer took
//! them. Files are in the contract's recording format
//! ([`otpscope_contract::recording`]), so `otpscope replay FILE` replays them. What a reader
//! must know:
//! - The UI thread writes only a file's header, on the click that creates it (so a file
//!   that cannot be created is said at once); after that each file has a
//!   [writer thread](writer) that compresses and flushes, the UI only sends frames over a
//!   channel, and snapshots go as `Arc`s shared with the Observer's state.
//! - How a write ended (where the file is, or why it failed) comes back on a channel the app
//!   drains each frame ([`Recorder::finished`]); the writer wakes the UI when it sends it.
//!   Nothing here panics on a failed write: it becomes a notice.

pub mod flight;
mod writer;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otpscope_contract::recording::{Frame, Header, Sink};
use otpscope_contract::{Capabilities, Command, CommandError, Reply, Snapshot};

use self::flight::{FlightRecorder, Took};
use self::writer::ToWriter;
use crate::source::RequestId;

/// How often a written file gets a keyframe (a seek in the replay applies at most this much
/// of deltas): as `otpscope run --record` writes them.
pub use otpscope_contract::recording::KEYFRAME_EVERY;

/// The extension of recordings, as `otpscope run --record` names them in the README.
pub const EXTENSION: &str = "rec";

/// How long after a supervisor gives up the automatic save waits, so the file shows what
/// followed (the tree going, a restart above).
pub const GIVE_UP_AFTERMATH: Duration = Duration::from_secs(3);

/// The least time between two automatic saves: each holds a minute already.
pub const AUTO_SAVE_GAP: Duration = Duration::from_secs(60);

type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// Which kind of file a writer wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveKind {
    /// The Record button's recording.
    Recording,
    /// "Save the last minute".
    LastMinute,
    /// The last minute, saved because a supervisor gave up.
    GaveUp,
}

/// What a finished file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// Frames written.
    pub frames: u64,
    /// Its last frame's time: how long it lasts.
    pub duration_ms: u64,
    /// Its size.
    pub bytes: u64,
}

/// How a write ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// Which file it was.
    pub kind: SaveKind,
    /// Where.
    pub path: PathBuf,
    /// What it holds, or why it failed (the file keeps what was written before).
    pub result: Result<Saved, String>,
}

impl Finished {
    /// The notice that says how it ended.
    pub fn notice(&self) -> String {
        let what = match self.kind {
            SaveKind::Recording => "Recording",
            SaveKind::LastMinute => "The last minute",
            SaveKind::GaveUp => "A supervisor gave up: the last minute",
        };
        let path = self.path.display();
        match &self.result {
            Ok(saved) => format!(
                "{what} saved to {path} ({}, {}, {}): otpscope replay {path}",
                crate::format::count(saved.frames as usize, "frame", "frames"),
                crate::format::duration_ms(saved.duration_ms),
                crate::format::bytes(saved.bytes),
            ),
            Err(error) => format!(
                "{what} could not be written to {path}: {error} (the file holds what was \
                 written before)"
            ),
        }
    }
}

/// A file being recorded (Record is on).
struct Live {
    /// Where it goes.
    path: PathBuf,
    /// Frame times count from here.
    started: Instant,
    /// To its writer thread.
    frames: Sender<ToWriter>,
}

/// The Record button's file and the flight recorder; see the module docs.
pub struct Recorder {
    /// Whether the source's data can be recorded at all: not a source with a timeline (a
    /// replay), whose updates start over at each seek.
    is_recordable: bool,
    /// The file being recorded, while Record is on.
    live: Option<Live>,
    /// The last minute.
    pub flight: FlightRecorder,
    /// Writers report here how they ended.
    done: Sender<Finished>,
    /// What the app drains each frame.
    finished: Receiver<Finished>,
    /// Wakes the UI when a writer ends; installed by the app.
    waker: Waker,
    /// Where files go: the current directory unless the program says otherwise.
    pub dir: PathBuf,
    /// How long after a give-up the automatic save waits ([`GIVE_UP_AFTERMATH`]).
    pub give_up_aftermath: Duration,
    /// When the automatic save is due, once a supervisor gave up.
    give_up_save_at: Option<Instant>,
    /// When a give-up was last acted on (a save scheduled, or a notice shown).
    last_give_up: Option<Instant>,
}

/// What the top bar needs to know to draw the recording buttons.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordStatus {
    /// Whether the source can be recorded (not a replay).
    pub is_recordable: bool,
    /// The file being recorded, if Record is on.
    pub recording: Option<PathBuf>,
    /// How much the flight recorder holds (`None` before the first snapshot).
    pub held: Option<Duration>,
}

impl Recorder {
    /// A recorder for a source that can (`is_recordable`) or cannot be recorded.
    pub fn new(is_recordable: bool) -> Self {
        let (done, finished) = mpsc::channel();
        Self {
            is_recordable,
            live: None,
            flight: FlightRecorder::default(),
            done,
            finished,
            waker: Arc::new(Mutex::new(None)),
            dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            give_up_aftermath: GIVE_UP_AFTERMATH,
            give_up_save_at: None,
            last_give_up: None,
        }
    }

    /// Installs what to call when a writer has ended.
    pub fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        if let Ok(mut slot) = self.waker.lock() {
            *slot = Some(waker);
        }
    }

    /// Whether the source can be recorded.
    pub fn is_recordable(&self) -> bool {
        self.is_recordable
    }

    /// Whether Record is on.
    pub fn is_recording(&self) -> bool {
        self.live.is_some()
    }

    /// What the top bar shows.
    pub fn status(&self, now: Instant) -> RecordStatus {
        RecordStatus {
            is_recordable: self.is_recordable,
            recording: self.live.as_ref().map(|live| live.path.clone()),
            held: self.flight.held(now),
        }
    }

    /// Takes what the app took from its source at `now`; `current` is the Observer's model
    /// after it.
    pub fn took(&mut self, now: Instant, took: Took, current: Option<&Arc<Snapshot>>) {
        if !self.is_recordable {
            return;
        }
        self.send_live(now, |at_ms| match &took {
            Took::Full(snapshot) => ToWriter::Keyframe {
                at_ms,
                snapshot: snapshot.clone(),
            },
            Took::Update(update) => ToWriter::Update {
                at_ms,
                update: update.clone(),
            },
        });
        self.flight.took(now, took, current);
    }

    /// Takes a command sent at `now` with request `id`.
    pub fn command(&mut self, now: Instant, id: RequestId, command: &Command) {
        if !self.is_recordable {
            return;
        }
        self.send_live(now, |at_ms| {
            ToWriter::Frame(Frame::Command {
                at_ms,
                id,
                command: command.clone(),
            })
        });
        self.flight.command(now, id, command);
    }

    /// Takes the reply to request `id`, taken at `now`.
    pub fn reply(&mut self, now: Instant, id: RequestId, result: &Result<Reply, CommandError>) {
        if !self.is_recordable {
            return;
        }
        self.send_live(now, |at_ms| {
            ToWriter::Frame(Frame::Reply {
                at_ms,
                id,
                result: result.clone(),
            })
        });
        self.flight.reply(now, id, result);
    }

    /// While Record is on, sends the live file's writer `frame(at_ms)`, `at_ms` being `now`
    /// in the file's time: what [`took`](Self::took), [`command`](Self::command) and
    /// [`reply`](Self::reply) share.
    fn send_live(&self, now: Instant, frame: impl FnOnce(u64) -> ToWriter) {
        if let Some(live) = &self.live {
            // A writer that failed has said so on `finished`: deliberately ignored here.
            live.frames.send(frame(ms_since(live.started, now))).ok();
        }
    }

    /// Starts recording to a new file in [`dir`](Self::dir), from `current` (the Observer's
    /// model) on; gives the file's path, or why it could not start.
    pub fn start(
        &mut self,
        now: Instant,
        header: HeaderInfo,
        current: Option<&Arc<Snapshot>>,
    ) -> Result<PathBuf, String> {
        if !self.is_recordable {
            return Err("a replay cannot be recorded again: it is a recording".into());
        }
        if let Some(live) = &self.live {
            return Ok(live.path.clone());
        }
        let node = current.map(|snapshot| &*snapshot.node);
        let (path, sink) = self.create(node, "", &header, unix_ms_now())?;
        let (frames, frames_in) = mpsc::channel();
        if let Some(current) = current {
            frames
                .send(ToWriter::Keyframe {
                    at_ms: 0,
                    snapshot: current.clone(),
                })
                .ok();
        }
        self.spawn(SaveKind::Recording, path.clone(), sink, frames_in)?;
        self.live = Some(Live {
            path: path.clone(),
            started: now,
            frames,
        });
        Ok(path)
    }

    /// Stops recording at `now`: ends the file with `current` (the Observer's model) as a
    /// keyframe, so a replay lasts until the stop even when nothing changed; the writer writes
    /// what is pending, closes the file and reports on [`finished`](Self::finished).
    pub fn stop(&mut self, now: Instant, current: Option<&Arc<Snapshot>>) {
        if let Some(live) = self.live.take() {
            if let Some(current) = current {
                let at_ms = ms_since(live.started, now);
                let snapshot = current.clone();
                live.frames
                    .send(ToWriter::Keyframe { at_ms, snapshot })
                    .ok();
            }
            live.frames.send(ToWriter::Stop).ok();
        }
    }

    /// Writes the flight recorder's last minute to a new file (its writer reports on
    /// [`finished`](Self::finished)); gives the path, or why it could not start.
    /// It ends with `current` (the Observer's model) as a keyframe at `now`, so it lasts
    /// until now even when nothing changed lately.
    pub fn save_last_minute(
        &mut self,
        now: Instant,
        header: HeaderInfo,
        kind: SaveKind,
        current: Option<&Arc<Snapshot>>,
    ) -> Result<PathBuf, String> {
        if !self.is_recordable {
            return Err("a replay is a recording already".into());
        }
        let Some((start, mut frames)) = self.flight.frames(now) else {
            return Err("nothing to save yet: no snapshot has arrived".into());
        };
        let node = frames.iter().find_map(|frame| match frame {
            ToWriter::Keyframe { snapshot, .. } => Some(snapshot.node.clone()),
            _ => None,
        });
        let ago_ms = ms_since(start, now);
        if let Some(current) = current {
            frames.push(ToWriter::Keyframe {
                at_ms: ago_ms,
                snapshot: current.clone(),
            });
        }
        let started_at = unix_ms_now().saturating_sub(ago_ms);
        let suffix = match kind {
            SaveKind::GaveUp => "-gave-up",
            SaveKind::LastMinute | SaveKind::Recording => "-last-minute",
        };
        let (path, sink) = self.create(node.as_deref(), suffix, &header, started_at)?;
        let (sender, frames_in) = mpsc::channel();
        for frame in frames {
            sender.send(frame).ok();
        }
        sender.send(ToWriter::Stop).ok();
        self.spawn(kind, path.clone(), sink, frames_in)?;
        Ok(path)
    }

    /// A supervisor gave up at `now`: with `save`, schedules the automatic save (after
    /// [`give_up_aftermath`](Self::give_up_aftermath)); without, gives a notice saying the
    /// minute can still be saved. At most once per [`AUTO_SAVE_GAP`], and not before the
    /// first snapshot.
    /// `who` names the supervisor, as the notice says it.
    pub fn gave_up(&mut self, now: Instant, save: bool, who: &str) -> Option<String> {
        if !self.is_recordable || self.flight.held(now).is_none() || self.give_up_save_at.is_some()
        {
            return None;
        }
        if self
            .last_give_up
            .is_some_and(|last| now.saturating_duration_since(last) < AUTO_SAVE_GAP)
        {
            return None;
        }
        self.last_give_up = Some(now);
        if save {
            self.give_up_save_at = Some(now + self.give_up_aftermath);
            return None;
        }
        Some(format!(
            "{who} gave up. The flight recorder holds the minute that led to it: \
             ⏪ Last minute ▸ Save the last minute keeps it."
        ))
    }

    /// Makes the automatic save if it is due by `now`; gives how long until it is due
    /// otherwise (to wake the UI then), and the notice to show if starting it failed.
    pub fn auto_save_if_due(
        &mut self,
        now: Instant,
        header: impl FnOnce() -> HeaderInfo,
        current: Option<&Arc<Snapshot>>,
    ) -> (Option<Duration>, Option<String>) {
        let Some(due) = self.give_up_save_at else {
            return (None, None);
        };
        if now < due {
            return (Some(due - now), None);
        }
        self.give_up_save_at = None;
        match self.save_last_minute(now, header(), SaveKind::GaveUp, current) {
            Ok(_) => (None, None),
            Err(error) => (
                None,
                Some(format!("The last minute could not be saved: {error}")),
            ),
        }
    }

    /// How writers have ended since the last call: the app shows each as a notice. A
    /// recording whose writer failed is stopped.
    pub fn finished(&mut self) -> Vec<Finished> {
        let finished: Vec<Finished> = self.finished.try_iter().collect();
        for done in &finished {
            if self
                .live
                .as_ref()
                .is_some_and(|live| done.kind == SaveKind::Recording && live.path == done.path)
            {
                self.live = None;
            }
        }
        finished
    }

    /// Creates a new file for a recording of `node` and writes its header.
    fn create(
        &self,
        node: Option<&str>,
        suffix: &str,
        header: &HeaderInfo,
        started_at_unix_ms: u64,
    ) -> Result<(PathBuf, Sink<BufWriter<File>>), String> {
        let (path, file) = create_new(&self.dir, node.unwrap_or("node"), suffix)?;
        let header = Header {
            title: header.title.clone(),
            started_at_unix_ms,
            capabilities: header.capabilities.clone(),
            keyframe_every_ms: KEYFRAME_EVERY.as_millis() as u64,
        };
        let sink = Sink::new(BufWriter::new(file), &header)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        Ok((path, sink))
    }

    fn spawn(
        &self,
        kind: SaveKind,
        path: PathBuf,
        sink: Sink<BufWriter<File>>,
        frames: Receiver<ToWriter>,
    ) -> Result<(), String> {
        writer::spawn(
            kind,
            path,
            sink,
            frames,
            self.done.clone(),
            self.waker.clone(),
        )
        .map_err(|error| format!("cannot start the writing thread: {error}"))
    }
}

/// What a file's header says of the source, from the app.
#[derive(Clone, Debug)]
pub struct HeaderInfo {
    /// What is observed, as the title bar says.
    pub title: String,
    /// What the source offers.
    pub capabilities: Capabilities,
}

fn ms_since(started: Instant, now: Instant) -> u64 {
    now.saturating_duration_since(started).as_millis() as u64
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Creates `otpscope-NODE-YYYYMMDD-HHMMSS[SUFFIX].rec` in `dir` (UTC; `NODE-…` alone when
/// the node's name starts with `otpscope`), or with `-2`, `-3`… after it when that name is
/// taken; never overwrites a file.
fn create_new(dir: &Path, node: &str, suffix: &str) -> Result<(PathBuf, File), String> {
    let node = file_safe(node);
    // A node named after the program (`otpscope`, the default) is not named twice.
    let prefix = if node.starts_with("otpscope") {
        String::new()
    } else {
        "otpscope-".to_owned()
    };
    let stem = format!("{prefix}{node}-{}{suffix}", utc_stamp(unix_ms_now() / 1000));
    for attempt in 1..100 {
        let name = if attempt == 1 {
            format!("{stem}.{EXTENSION}")
        } else {
            format!("{stem}-{attempt}.{EXTENSION}")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(format!("cannot create {}: {error}", path.display())),
        }
    }
    Err(format!(
        "cannot create {stem}.{EXTENSION} in {}: too many files by that name",
        dir.display()
    ))
}

/// A node's name as part of a file name: letters, digits, `-`, `_` and `.`, the rest `_`
/// (`kv@host` reads `kv_host`).
fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        format!("node{safe}")
    } else {
        safe
    }
}

/// `YYYYMMDD-HHMMSS` of a Unix time in seconds, in UTC.
fn utc_stamp(unix_s: u64) -> String {
    let days = unix_s / 86_400;
    let of_day = unix_s % 86_400;
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_file_name_says_the_node_and_the_utc_time() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_796_589_067), "20261206-203107");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(file_safe("kv@host"), "kv_host");
        assert_eq!(file_safe(""), "node");
    }

    #[test]
    fn a_name_taken_gets_a_number_and_nothing_is_overwritten() {
        let dir = std::env::temp_dir().join(format!("otpscope-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (first, _) = create_new(&dir, "n", "-t").unwrap();
        let (second, _) = create_new(&dir, "n", "-t").unwrap();
        assert_ne!(first, second);
        assert!(first.exists() && second.exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
