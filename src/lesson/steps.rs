//! Running a lesson's lines on a node, as the lesson reads them: what both the headless check
//! (`otpscope lesson FILE --check`, [`check`](super::check)) and the Observer's live lesson
//! panel ([`live`](super::live)) run, so that a step holds in the window exactly when it holds
//! in CI.
//!
//! Each line goes through the script [`Runner`]: the same commands, the same expectations,
//! waiting after each for the events it caused. A line goes as the lesson says when it
//! succeeds, or, written `fails COMMAND`, when it fails.

use std::io::{self, Write};

use super::LessonLine;
use crate::scenario::{Command, Runner};

/// How one line of a step went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineOutcome {
    /// Whether it is an expectation (it counts toward what held).
    pub is_expectation: bool,
    /// `Ok(what was found, if the line says)` when the line went as the lesson says, else
    /// `Err(why)`, naming the lesson file's line.
    pub result: Result<Option<String>, String>,
}

impl LineOutcome {
    /// Whether the line went as the lesson says.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// Runs `line` with `runner` and judges it as the lesson says.
pub async fn run_line<W: Write>(
    runner: &mut Runner<'_, W>,
    line: &LessonLine,
) -> io::Result<LineOutcome> {
    let outcome = runner.run_line(&line.line).await?;
    Ok(LineOutcome {
        is_expectation: matches!(line.line.command, Command::Expect(_)),
        result: judge(line, outcome),
    })
}

/// What the lesson makes of a line's outcome: a `fails` line must fail, any other succeed.
fn judge(
    line: &LessonLine,
    outcome: Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let number = line.line.number;
    match (outcome, line.is_failure_expected) {
        (Ok(found), false) => Ok(found),
        (Err(why), true) => Ok(Some(format!("failed as expected: {why}"))),
        (Ok(_), true) => Err(format!(
            "line {number}: `{}` was expected to fail, and succeeded",
            line.line.text
        )),
        (Err(why), false) => Err(format!("line {number}: `{}`: {why}", line.line.text)),
    }
}
