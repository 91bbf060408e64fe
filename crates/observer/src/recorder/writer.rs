//! The thread that writes one recording file: it takes frames over a channel and hands them
//! to the contract's [`Sink`], which compresses them into chunks and flushes a chunk at least
//! once a second. The UI thread only sends; compressing, writing and the periodic keyframes
//! (the sink keeps its own copy of the model for them) all happen here.
//!
//! A recording being made and a flight recorder being saved are the same thing to this
//! thread: the second is sent all its frames at once, then [`ToWriter::Stop`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use otpscope_contract::Snapshot;
use otpscope_contract::recording::{Frame, RecordingError, Sink};
use otpscope_contract::{Update, recording::FLUSH_EVERY};

use super::{Finished, SaveKind, Saved, Waker};

/// How often the thread wakes, when nothing arrives, to flush a chunk that is due.
const TICK: Duration = Duration::from_millis(250);

/// What the UI thread sends to a writer.
pub(super) enum ToWriter {
    /// The whole node, as the Observer holds it (a full snapshot from the source, or the
    /// model when the recording starts).
    Keyframe {
        /// Milliseconds since the recording started.
        at_ms: u64,
        /// The node; shared with the Observer's state until the writer takes it.
        snapshot: Arc<Snapshot>,
    },
    /// A delta or events, as the source sent them.
    Update {
        /// Milliseconds since the recording started.
        at_ms: u64,
        /// The update.
        update: Update,
    },
    /// A command or a reply.
    Frame(Frame),
    /// Write what is pending and close the file.
    Stop,
}

/// Starts the thread writing `sink` (the header already written) to `path`; it reports how
/// it ended on `done`, and calls `waker` then. Fails only if no thread can be started.
pub(super) fn spawn(
    kind: SaveKind,
    path: PathBuf,
    sink: Sink<BufWriter<File>>,
    frames: Receiver<ToWriter>,
    done: Sender<Finished>,
    waker: Waker,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("otpscope-recording".into())
        .spawn(move || {
            let result = write(sink, &frames);
            // Nobody takes it once the app is gone: deliberately ignored.
            done.send(Finished {
                kind,
                path,
                result: result.map_err(|error| error.to_string()),
            })
            .ok();
            if let Ok(waker) = waker.lock()
                && let Some(wake) = waker.as_ref()
            {
                wake();
            }
        })
        .map(drop)
}

/// Writes until [`ToWriter::Stop`] or until the sender is gone; gives what the file holds.
fn write(
    mut sink: Sink<BufWriter<File>>,
    frames: &Receiver<ToWriter>,
) -> Result<Saved, RecordingError> {
    let mut last_ms = 0;
    loop {
        match frames.recv_timeout(TICK.min(FLUSH_EVERY)) {
            Ok(ToWriter::Keyframe { at_ms, snapshot }) => {
                last_ms = last_ms.max(at_ms);
                let snapshot = Arc::unwrap_or_clone(snapshot);
                sink.update(at_ms, Update::Full(snapshot))?;
            }
            Ok(ToWriter::Update { at_ms, update }) => {
                last_ms = last_ms.max(at_ms);
                sink.update(at_ms, update)?;
            }
            Ok(ToWriter::Frame(frame)) => {
                last_ms = last_ms.max(frame.at_ms());
                sink.frame(frame)?;
            }
            Ok(ToWriter::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        sink.flush_if_due(Instant::now())?;
    }
    let frames = sink.frames();
    let mut out = sink.finish()?;
    out.flush()?;
    let bytes = out.get_ref().metadata().map_or(0, |meta| meta.len());
    Ok(Saved {
        frames,
        duration_ms: last_ms,
        bytes,
    })
}
