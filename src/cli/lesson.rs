//! `otpscope lesson FILE --check`: every step of a lesson, headless (see
//! [`otpscope::lesson`]). Exits 1 when a step fails, 2 when the file does not parse.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use otpscope::lesson::{Lesson, check};

/// The options of `otpscope lesson`.
#[derive(Debug, Args)]
pub(crate) struct LessonArgs {
    /// The lesson file (TOML), such as assets/lessons/dynamic-supervisors.toml.
    file: PathBuf,
    /// Run every step's setup, action and expectations headless and report each step;
    /// exit 1 if one fails.
    #[arg(long)]
    check: bool,
}

/// Runs `otpscope lesson --check`.
pub(crate) async fn run(args: LessonArgs) -> Result<ExitCode> {
    let lesson = Lesson::load(&args.file)?;
    if !args.check {
        anyhow::bail!(
            "the lesson parses ({} steps); pass --check to run its steps headless",
            lesson.steps.len()
        );
    }
    let mut stdout = io::stdout().lock();
    let outcomes = check::check(&lesson, &mut stdout).await?;
    stdout.flush()?;
    Ok(if outcomes.iter().all(|outcome| outcome.is_passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
