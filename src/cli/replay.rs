//! `otpscope replay FILE`: a recording (`run --record`, `serve --record`) in the Observer with
//! a timeline, or headless: `--dump [--at SECONDS | --end] [--json]` prints the tree at that
//! moment as `dump` does, `--json` alone exports every frame as JSON Lines.
//!
//! A damaged recording (truncated by a crash, corrupted) replays up to the damage, with a
//! warning on stderr naming where it is; one from a newer otpscope is refused.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::json;

use otpscope::contract::recording::{self, Recording};

/// The options of `otpscope replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The recording.
    pub(crate) file: PathBuf,
    /// Print the tree at one moment (the first recorded unless --at or --end) and exit, headless.
    #[arg(long)]
    pub(crate) dump: bool,
    /// With --dump: the moment, in seconds from the start of the recording.
    #[arg(
        long,
        value_name = "SECONDS",
        requires = "dump",
        conflicts_with = "end"
    )]
    at: Option<f64>,
    /// With --dump: the last moment recorded.
    #[arg(long, requires = "dump")]
    end: bool,
    /// JSON: with --dump the snapshot as `dump --json` prints it; alone, the whole recording
    /// as JSON Lines (the header, then one frame a line).
    #[arg(long)]
    json: bool,
}

impl ReplayArgs {
    /// Whether this replay opens the Observer (neither --dump nor --json).
    pub(crate) fn is_gui(&self) -> bool {
        !self.dump && !self.json
    }
}

/// Reads a recording, warning on stderr about damage past its start.
pub(crate) fn load(path: &Path) -> Result<Recording> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let outcome = recording::read(&bytes).with_context(|| format!("in {}", path.display()))?;
    if let Some(damage) = outcome.damage {
        eprintln!("warning: {}: {damage}", path.display());
    }
    Ok(outcome.recording)
}

/// Runs the headless forms of `otpscope replay`.
pub(crate) fn run(args: &ReplayArgs) -> Result<ExitCode> {
    let recording = load(&args.file)?;
    if !args.dump {
        let mut stdout = io::stdout().lock();
        export(&recording, &mut stdout)?;
        stdout.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let at_ms = match (args.at, args.end) {
        (_, true) => recording.duration_ms(),
        (Some(seconds), false) if seconds.is_finite() && seconds >= 0.0 => {
            (seconds * 1000.0).round() as u64
        }
        (Some(seconds), false) => anyhow::bail!("--at {seconds}: expected seconds, 0 or more"),
        (None, false) => recording.first_keyframe_ms().unwrap_or(0),
    };
    let Some(snapshot) = recording.snapshot_at(at_ms) else {
        anyhow::bail!(
            "no snapshot of the node at {:.3} s: {}",
            at_ms as f64 / 1000.0,
            match recording.first_keyframe_ms() {
                Some(first) => format!("the first is at {:.3} s", first as f64 / 1000.0),
                None => "the recording holds none".to_owned(),
            }
        );
    };
    super::print_tree(&snapshot, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The recording as JSON Lines: `{"header": ..}` with the format's versions, then each frame
/// in the contract's JSON form (`{"keyframe": {"at_ms": .., "snapshot": ..}}`, `{"update":
/// ..}`, `{"command": ..}`, `{"reply": ..}`).
fn export(recording: &Recording, out: &mut impl Write) -> io::Result<()> {
    let header = json!({
        "header": {
            "recording_version": recording::RECORDING_VERSION,
            "format_version": otpscope::contract::FORMAT_VERSION,
            "title": recording.header.title,
            "started_at_unix_ms": recording.header.started_at_unix_ms,
            "keyframe_every_ms": recording.header.keyframe_every_ms,
            "capabilities": recording.header.capabilities,
        }
    });
    serde_json::to_writer(&mut *out, &header)?;
    writeln!(out)?;
    for frame in &recording.frames {
        serde_json::to_writer(&mut *out, frame)?;
        writeln!(out)?;
    }
    Ok(())
}
