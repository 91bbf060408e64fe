//! `otpscope chaos`: seeded kills on the app started here (see [`otpscope::chaos`]).
//!
//! An optional setup script runs first (to create buckets, say), then the kills; with
//! `--save-script FILE` the setup and the kills are written as one script that `otpscope run`
//! replays. Exits 1 when the tree did not survive (a root the run started with has exited).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;

use otpscope::chaos::{Chaos, ChaosFormat, ChaosOptions, parse_reasons};
use otpscope::runtime::Node;
use otpscope::scenario::session::Session;
use otpscope::scenario::{self, Format, Runner};

use crate::What;

/// The options of `otpscope chaos`.
#[derive(Debug, Args)]
pub(crate) struct ChaosArgs {
    /// Seeds the generator: the same seed on the same tree and setup gives the same kills.
    #[arg(long)]
    seed: u64,
    /// How long kills go on, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    duration: f64,
    /// Kills a second, on average.
    #[arg(long, default_value_t = 1.0, value_name = "PER_SECOND")]
    rate: f64,
    /// Which processes may be killed: a glob (`*`, `?`) on the tree path, the name or the
    /// label, such as `KV.Supervisor/*` or `KV.Bucket`. Default: every process below a root.
    #[arg(long, value_name = "PATTERN")]
    target: Option<String>,
    /// The exit reasons drawn from, comma-separated: `kill`, `shutdown`, `normal`,
    /// `shutdown:TERM` or any word.
    #[arg(long, default_value = "kill", value_name = "LIST")]
    reasons: String,
    /// A fault script to run before the kills (its output is printed first).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Writes the setup script and the kills as one script for `otpscope run`.
    #[arg(long, value_name = "FILE")]
    save_script: Option<PathBuf>,
    /// One JSON object a kill, then the summary.
    #[arg(long)]
    json: bool,
    /// Records the run (the setup script and the kills, each with its reply, and everything
    /// the node did) to FILE, for `otpscope replay`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

/// Runs `otpscope chaos`.
pub(crate) async fn run(args: ChaosArgs, what: &What) -> Result<ExitCode> {
    if !(args.duration.is_finite() && args.duration >= 0.0) {
        anyhow::bail!(
            "--duration must be a number of seconds, 0 or more, found {}",
            args.duration
        );
    }
    let options = ChaosOptions {
        seed: args.seed,
        duration: Duration::from_secs_f64(args.duration),
        rate_per_second: args.rate,
        target: args.target.clone(),
        reasons: parse_reasons(&args.reasons).context("--reasons")?,
    };
    options.check()?;
    let setup = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read script {}", path.display()))?;
            let lines = scenario::parse(&text).with_context(|| format!("in {}", path.display()))?;
            Some((path, text, lines))
        }
        None => None,
    };
    let node = Node::new("otpscope");
    let app = crate::start(&node, what).await?;
    let recorder = match &args.record {
        Some(path) => Some(crate::start_recording(&node, &app, path)?),
        None => None,
    };
    let mut stdout = io::stdout().lock();
    let format = if args.json {
        ChaosFormat::Json
    } else {
        ChaosFormat::Text
    };
    if let Some((path, _, lines)) = &setup {
        let script_format = if args.json {
            Format::Json
        } else {
            Format::Text
        };
        let mut runner = Runner::for_app(&app, script_format, &mut stdout)?;
        if let Some(recorder) = &recorder {
            runner = runner.record_commands(recorder.commands());
        }
        let summary = runner.run(lines).await?;
        if summary.failed > 0 {
            anyhow::bail!(
                "the setup script {} failed ({} failed lines): no chaos run",
                path.display(),
                summary.failed
            );
        }
    }
    let session = Session::local(app.control())?;
    let mut chaos = Chaos::new(session, options, format, &mut stdout)?;
    if let Some(recorder) = &recorder {
        chaos = chaos.record_commands(recorder.commands());
    }
    let report = chaos.run().await?;
    if let (Some(recorder), Some(path)) = (recorder, &args.record) {
        crate::stop_recording(recorder, path).await?;
    }
    if let Some(out) = &args.save_script {
        let mut text = format!(
            "# The kills of `otpscope chaos --seed {}`, as a script.\n\
             # Run: otpscope run {}{}\n",
            args.seed,
            what.as_args(),
            out.display()
        );
        if let Some((path, setup, _)) = &setup {
            text.push_str(&format!("# The setup script, {}:\n", path.display()));
            text.push_str(setup);
            if !setup.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("# The kills:\n");
        }
        text.push_str(&report.script());
        std::fs::write(out, text)
            .with_context(|| format!("cannot write the script {}", out.display()))?;
    }
    stdout.flush()?;
    Ok(if report.is_survived() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
