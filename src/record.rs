//! Recording a node in this OS process to a file (`otpscope run --record`, `serve --record`).
//!
//! A [`Recorder`] subscribes to the node like any observer and hands the stream to the
//! contract's [`Sink`](crate::contract::recording::Sink), which writes the frames, keyframes
//! and all (the format is documented in [`recording`](crate::contract::recording)). Commands
//! reach the recording through a [`CommandLog`], which whoever sends them (the script runner)
//! holds: a command is stamped when it is sent and its reply when it arrives.
//!
//! The writing task runs on the node's tokio runtime and writes to the file directly: a chunk
//! a second at most, one `write` each, small enough not to matter to the runtime's threads.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::contract::recording::{Frame, Header, RecordingError, Sink};
use crate::contract::{Capabilities, Command, CommandError, Reply};
use crate::runtime::Node;
use crate::snapshot::{AlreadyObserved, ObserveOptions, Subscription, observe_with};

/// How often the recorder's stream sends deltas and events.
pub const RECORD_INTERVAL: Duration = Duration::from_millis(100);

/// How often a keyframe is written (a seek applies at most this much of deltas).
pub use crate::contract::recording::KEYFRAME_EVERY;

/// How long [`Recorder::stop`] keeps taking what the stream still delivers.
const STOP_GRACE: Duration = Duration::from_millis(150);

/// Why a recording could not start or be finished.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created.
    #[error("cannot create the recording {path}: {source}")]
    Create {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Writing the recording failed.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// A collector built directly already holds the node's change marks.
    #[error(transparent)]
    AlreadyObserved(#[from] AlreadyObserved),
    /// The writing task ended abnormally.
    #[error("the recording task failed: {0}")]
    Task(String),
}

/// What a finished recording holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Frames written.
    pub frames: u64,
    /// From the start to the stop, in milliseconds.
    pub duration_ms: u64,
}

/// Hands commands and their replies to a recording; cheap to clone.
#[derive(Clone)]
pub struct CommandLog {
    /// To the writing task.
    frames: mpsc::UnboundedSender<Frame>,
    /// The next command id (shared by the clones).
    next_id: Arc<AtomicU64>,
    /// When the recording started: frame times count from here.
    started: Instant,
}

impl CommandLog {
    /// Records `command` as sent now; returns the id to give its reply.
    pub fn command(&self, command: &Command) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = Frame::Command {
            at_ms: elapsed_ms(self.started),
            id,
            command: command.clone(),
        };
        // A stopped recorder takes nothing more: deliberately ignored.
        self.frames.send(frame).ok();
        id
    }

    /// Records the reply to command `id` as arrived now.
    pub fn reply(&self, id: u64, result: &Result<Reply, CommandError>) {
        let frame = Frame::Reply {
            at_ms: elapsed_ms(self.started),
            id,
            result: result.clone(),
        };
        self.frames.send(frame).ok();
    }
}

/// A node being recorded to a file, until [`Recorder::stop`].
pub struct Recorder {
    /// Where commands are recorded.
    commands: CommandLog,
    /// Tells the task to finish.
    stop: oneshot::Sender<()>,
    /// Writes the file; gives what it wrote.
    task: JoinHandle<Result<Recorded, RecordingError>>,
}

impl Recorder {
    /// Starts recording `node` to `path` (created, or truncated), as `title` with
    /// `capabilities` in the header. Must be called on the node's tokio runtime.
    pub fn start(
        node: &Node,
        path: &Path,
        title: impl Into<String>,
        capabilities: Capabilities,
    ) -> Result<Self, RecordError> {
        let file = File::create(path).map_err(|source| RecordError::Create {
            path: path.display().to_string(),
            source,
        })?;
        let started = Instant::now();
        let header = Header {
            title: title.into(),
            started_at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64),
            capabilities,
            keyframe_every_ms: KEYFRAME_EVERY.as_millis() as u64,
        };
        // The sink writes whole chunks; the buffer only joins a chunk's head and body.
        let sink = Sink::new(BufWriter::new(file), &header)?;
        let subscription = observe_with(
            node,
            ObserveOptions::new(RECORD_INTERVAL).queue_capacity(1024),
        )?;
        let (frames, frames_in) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        let task = node
            .handle()
            .spawn(write(sink, subscription, frames_in, stopped, started));
        Ok(Self {
            commands: CommandLog {
                frames,
                next_id: Arc::new(AtomicU64::new(1)),
                started,
            },
            stop,
            task,
        })
    }

    /// Where to record the commands sent to the node.
    pub fn commands(&self) -> CommandLog {
        self.commands.clone()
    }

    /// Takes what the stream delivers in the next moment (the last changes seen), writes
    /// everything pending, and closes the file.
    pub async fn stop(self) -> Result<Recorded, RecordError> {
        self.stop.send(()).ok();
        match self.task.await {
            Ok(result) => Ok(result?),
            Err(error) => Err(RecordError::Task(error.to_string())),
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// The writing task: the stream and the commands into the sink until told to stop.
async fn write(
    mut sink: Sink<BufWriter<File>>,
    mut subscription: Subscription,
    mut frames: mpsc::UnboundedReceiver<Frame>,
    mut stopped: oneshot::Receiver<()>,
    started: Instant,
) -> Result<Recorded, RecordingError> {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(frame) = frames.recv() => sink.frame(frame)?,
            update = subscription.recv() => match update {
                Some(update) => sink.update(elapsed_ms(started), update)?,
                // The node is gone: nothing more will come.
                None => break,
            },
            _ = tick.tick() => sink.flush_if_due(Instant::now())?,
        }
    }
    let grace = tokio::time::sleep(STOP_GRACE);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            _ = &mut grace => break,
            Some(frame) = frames.recv() => sink.frame(frame)?,
            Some(update) = subscription.recv() => sink.update(elapsed_ms(started), update)?,
        }
    }
    while let Ok(frame) = frames.try_recv() {
        sink.frame(frame)?;
    }
    let recorded = Recorded {
        frames: sink.frames(),
        duration_ms: elapsed_ms(started),
    };
    sink.finish()?;
    Ok(recorded)
}
