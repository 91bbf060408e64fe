//! Checking a lesson headless (`otpscope lesson FILE --check`): every step's setup, action and
//! expectations, in order, on the nodes the steps start.
//!
//! Each line goes through [`steps::run_line`] (the script [`Runner`], judged as the lesson
//! says), as in the Observer's lesson panel, so a lesson checks exactly what a script would:
//! the same commands, the same expectations, waiting after each for the events it caused.
//! A step fails when an expectation does not hold, a command fails that should not,
//! or a `fails` command succeeds; the check goes on with the next steps and reports each.

use std::io::{self, Write};

use super::{Lesson, Step, steps};
use crate::demo::{App, AppHandle};
use crate::runtime::Node;
use crate::scenario::{Format, Runner};

/// What checking one step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    /// The step's title.
    pub title: String,
    /// Expectations that held.
    pub passed: usize,
    /// What went wrong, one sentence each, naming the lesson file's line.
    pub failures: Vec<String>,
}

impl StepOutcome {
    /// Whether every line of the step went as the lesson says.
    pub fn is_passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Checks every step of `lesson`, writing one line a step to `out` (and each failure under
/// it). Fails only when writing fails or a step's app does not start.
pub async fn check<W: Write>(lesson: &Lesson, out: &mut W) -> anyhow::Result<Vec<StepOutcome>> {
    writeln!(
        out,
        "== lesson: {} ({} steps)",
        lesson.title,
        lesson.steps.len()
    )?;
    let mut outcomes = Vec::with_capacity(lesson.steps.len());
    let mut index = 0;
    // Steps in groups: one that starts an app, then those that go on with its node.
    while index < lesson.steps.len() {
        let end = lesson.steps[index + 1..]
            .iter()
            .position(|step| step.start.is_some())
            .map_or(lesson.steps.len(), |offset| index + 1 + offset);
        let group = &lesson.steps[index..end];
        let app = group[0]
            .start
            .clone()
            .unwrap_or(App::Kv(crate::demo::kv::Stage::Final));
        let node = Node::new("lesson");
        let title = app.title();
        let handle = app.start(&node).await.map_err(|error| {
            anyhow::anyhow!("step {}: cannot start {title}: {error}", index + 1)
        })?;
        for (offset, step) in group.iter().enumerate() {
            let outcome = check_step(&handle, step).await?;
            let number = index + offset + 1;
            if outcome.is_passed() {
                writeln!(
                    out,
                    "[ok] {number}. {}: {} held",
                    step.title,
                    count(outcome.passed, "expectation", "expectations")
                )?;
            } else {
                writeln!(out, "[FAILED] {number}. {}", step.title)?;
                for failure in &outcome.failures {
                    writeln!(out, "  {failure}")?;
                }
            }
            outcomes.push(outcome);
        }
        index = end;
    }
    let failed = outcomes
        .iter()
        .filter(|outcome| !outcome.is_passed())
        .count();
    writeln!(
        out,
        "== {}: {} passed, {failed} failed",
        count(outcomes.len(), "step", "steps"),
        outcomes.len() - failed
    )?;
    Ok(outcomes)
}

/// Runs one step on the app's node: its setup, its action, its expectations.
async fn check_step(app: &AppHandle, step: &Step) -> anyhow::Result<StepOutcome> {
    let mut sink = io::sink();
    let mut runner = Runner::for_app(app, Format::Json, &mut sink)?;
    runner.catch_up().await;
    let mut outcome = StepOutcome {
        title: step.title.clone(),
        passed: 0,
        failures: Vec::new(),
    };
    let lines = step.setup.iter().chain(&step.run).chain(&step.expect);
    for line in lines {
        let line = steps::run_line(&mut runner, line).await?;
        match line.result {
            Err(failure) => outcome.failures.push(failure),
            Ok(_) if line.is_expectation => outcome.passed += 1,
            Ok(_) => {}
        }
    }
    Ok(outcome)
}

/// `1 step`, `3 steps`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
