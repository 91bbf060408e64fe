//! Lessons: a chapter as steps whose expectations check themselves.
//!
//! A lesson file is TOML:
//!
//! ```toml
//! title = "Dynamic supervisors"
//! about = "What the lesson shows, in a sentence or two."
//!
//! [[steps]]
//! title = "Linked buckets"
//! stage = "linked"            # start this KV stage afresh for this step (or: tree = "FILE")
//! text = """
//! What to read before acting: the chapter's words, the flaw to watch for.
//! """
//! setup = """                 # script lines run when the step starts (optional)
//! create shopping
//! """
//! action = "Kill the shopping bucket"   # the button's label (optional)
//! run = """                   # script lines the action runs (needs `action`)
//! kill bucket:shopping
//! """
//! expect = """                # script expectations without the word `expect`
//! restarted KV.Registry 1
//! lookup shopping none
//! """
//! ```
//!
//! - `stage` (`linked`, `permanent`, `one_for_one`, `final`) or `tree` (a tree file, relative
//!   to the lesson file) starts a fresh node for the step; a step without either goes on
//!   with the node the steps before it left. The first step without either starts the final
//!   stage.
//! - `setup`, `run` and `expect` hold fault-script lines ([`scenario`](crate::scenario)), one
//!   a line, `#` comments allowed; in `run`, a line `fails COMMAND` expects the command to
//!   fail (the registry cannot create a bucket while `KV.BucketSupervisor` is down).
//!   `expect` lines are the script's `expect` lines without the word: `alive`, `dead`,
//!   `restarted`, `count`, `specs`, `exited`, `exit_order`, `lookup`, `get`.
//! - A step's expectation holds once every `expect` line holds after its `run`.
//!
//! [`Lesson::load`] rejects a malformed file before anything runs, naming the file line of
//! the error (a TOML error, an unknown field, a bad script line inside a block). [`check`]
//! runs every step headless (`otpscope lesson FILE --check`).

pub mod check;
pub mod live;
pub mod steps;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::demo::App;
use crate::demo::kv::Stage;
use crate::demo::playground::TreeSpec;
use crate::scenario::{self, Line};

/// A lesson read from its file.
#[derive(Clone, Debug)]
pub struct Lesson {
    /// Its title.
    pub title: String,
    /// What it shows, in a sentence or two.
    pub about: String,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a lesson.
#[derive(Clone, Debug)]
pub struct Step {
    /// Its title.
    pub title: String,
    /// What to read.
    pub text: String,
    /// The app to start afresh for this step, if any.
    pub start: Option<App>,
    /// Script lines run when the step starts.
    pub setup: Vec<LessonLine>,
    /// The action button's label, if the step has an action.
    pub action: Option<String>,
    /// What the action runs.
    pub run: Vec<LessonLine>,
    /// What must hold after the action (script `expect` lines).
    pub expect: Vec<LessonLine>,
}

/// A script line of a lesson, with where it is in the file.
#[derive(Clone, Debug)]
pub struct LessonLine {
    /// The parsed command; its `number` is the line in the lesson file.
    pub line: Line,
    /// Whether the command is expected to fail (`fails COMMAND`).
    pub is_failure_expected: bool,
}

impl fmt::Display for LessonLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_failure_expected {
            write!(f, "fails {}", self.line.text)
        } else {
            f.write_str(&self.line.text)
        }
    }
}

/// A lesson file that cannot be read or does not parse.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// The file cannot be read.
    #[error("cannot read lesson {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a lesson.
    #[error("{path}, line {line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// The file as TOML gives it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLesson {
    title: String,
    #[serde(default)]
    about: String,
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    title: String,
    #[serde(default)]
    text: String,
    stage: Option<Spanned<String>>,
    tree: Option<Spanned<String>>,
    setup: Option<Spanned<String>>,
    action: Option<String>,
    run: Option<Spanned<String>>,
    expect: Option<Spanned<String>>,
}

impl Lesson {
    /// Reads and checks a lesson file; tree files it names are read relative to it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LessonError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LessonError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|(line, message)| LessonError::Invalid {
            path: path.to_owned(),
            line,
            message,
        })
    }

    /// Parses a lesson; tree files are read relative to `base`. An error is (line, message).
    pub fn parse(text: &str, base: &Path) -> Result<Self, (usize, String)> {
        let raw: RawLesson = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_of(text, span.start));
            (line, error.message().trim().to_owned())
        })?;
        if raw.steps.is_empty() {
            return Err((1, "a lesson needs at least one [[steps]]".to_owned()));
        }
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (index, spanned) in raw.steps.into_iter().enumerate() {
            let step_line = line_of(text, spanned.span().start);
            let raw = spanned.into_inner();
            let start = match (&raw.stage, &raw.tree) {
                (Some(_), Some(tree)) => {
                    return Err((
                        line_of(text, tree.span().start),
                        "a step starts a `stage` or a `tree`, not both".to_owned(),
                    ));
                }
                (Some(stage), None) => {
                    let parsed: Stage = stage
                        .get_ref()
                        .parse()
                        .map_err(|error| (line_of(text, stage.span().start), format!("{error}")))?;
                    Some(App::Kv(parsed))
                }
                (None, Some(tree)) => {
                    let file = base.join(tree.get_ref());
                    let spec = TreeSpec::load(&file)
                        .map_err(|error| (line_of(text, tree.span().start), format!("{error}")))?;
                    Some(App::Tree {
                        title: file.display().to_string(),
                        spec: std::sync::Arc::new(spec),
                    })
                }
                (None, None) if index == 0 => Some(App::Kv(Stage::Final)),
                (None, None) => None,
            };
            if raw.run.is_some() && raw.action.is_none() {
                return Err((
                    step_line,
                    format!(
                        "step {} (`{}`) has `run` lines but no `action` label for its button",
                        index + 1,
                        raw.title
                    ),
                ));
            }
            steps.push(Step {
                title: raw.title,
                text: raw.text.trim().to_owned(),
                start,
                setup: block(text, raw.setup.as_ref(), Block::Commands)?,
                action: raw.action,
                run: block(text, raw.run.as_ref(), Block::Commands)?,
                expect: block(text, raw.expect.as_ref(), Block::Expectations)?,
            });
        }
        Ok(Self {
            title: raw.title,
            about: raw.about.trim().to_owned(),
            steps,
        })
    }
}

/// What a block of script lines holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Commands (`fails COMMAND` allowed).
    Commands,
    /// Expectations without the word `expect`.
    Expectations,
}

/// Parses a block of script lines, each numbered by its line in the lesson file.
fn block(
    text: &str,
    value: Option<&Spanned<String>>,
    kind: Block,
) -> Result<Vec<LessonLine>, (usize, String)> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let first = first_content_line(text, value.span().start);
    let mut lines = Vec::new();
    for (index, raw) in value.get_ref().lines().enumerate() {
        let number = first + index;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (is_failure_expected, command) = match (kind, trimmed.strip_prefix("fails ")) {
            (Block::Commands, Some(rest)) => (true, rest.to_owned()),
            (Block::Commands, None) => (false, trimmed.to_owned()),
            (Block::Expectations, _) => (false, format!("expect {trimmed}")),
        };
        let parsed = scenario::parse(&command).map_err(|error| (number, error.message))?;
        let Some(mut line) = parsed.into_iter().next() else {
            continue;
        };
        if kind == Block::Commands && matches!(line.command, scenario::Command::Expect(_)) {
            return Err((
                number,
                "expectations go in `expect`, without the word `expect`".to_owned(),
            ));
        }
        line.number = number;
        lines.push(LessonLine {
            line,
            is_failure_expected,
        });
    }
    Ok(lines)
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The file line of a string value's first line of content: a multi-line string that opens
/// with a newline (`"""` then a line break) starts on the next line.
fn first_content_line(text: &str, value_start: usize) -> usize {
    let line = line_of(text, value_start);
    let rest = &text[value_start.min(text.len())..];
    let opens_with_newline = ["\"\"\"\n", "'''\n", "\"\"\"\r\n", "'''\r\n"]
        .iter()
        .any(|opening| rest.starts_with(opening));
    if opens_with_newline { line + 1 } else { line }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(text: &str) -> Result<Lesson, (usize, String)> {
        Lesson::parse(text, Path::new("."))
    }

    #[test]
    fn a_lesson_parses_with_file_line_numbers() {
        let lesson = parse(
            "title = \"T\"\n\
             [[steps]]\n\
             title = \"One\"\n\
             stage = \"linked\"\n\
             action = \"Kill\"\n\
             run = \"\"\"\n\
             create a\n\
             \n\
             fails create b\n\
             \"\"\"\n\
             expect = \"restarted KV.Registry 1\"\n\
             [[steps]]\n\
             title = \"Two\"\n",
        )
        .unwrap();
        assert_eq!(lesson.steps.len(), 2);
        let one = &lesson.steps[0];
        assert!(matches!(one.start, Some(App::Kv(Stage::Linked))));
        let run: Vec<(usize, String)> = one
            .run
            .iter()
            .map(|line| (line.line.number, line.to_string()))
            .collect();
        assert_eq!(
            run,
            [(7, "create a".to_owned()), (9, "fails create b".to_owned())]
        );
        assert_eq!(one.expect[0].line.number, 11);
        assert!(lesson.steps[1].start.is_none());
    }

    #[test]
    fn malformed_lessons_name_the_line() {
        let cases = [
            (
                "title = \"T\"\nsteps = []\n",
                1,
                "a lesson needs at least one",
            ),
            (
                "title = \"T\"\n[[steps]]\ntitle = \"A\"\nstage = \"later\"\n",
                4,
                "unknown stage `later`",
            ),
            (
                "title = \"T\"\n[[steps]]\ntitle = \"A\"\ncolour = 3\n",
                4,
                "unknown field `colour`",
            ),
            (
                "title = \"T\"\n[[steps]]\ntitle = \"A\"\naction = \"Go\"\nrun = \"\"\"\ncreate a\nfly away\n\"\"\"\n",
                7,
                "unknown command `fly`",
            ),
            (
                "title = \"T\"\n[[steps]]\ntitle = \"A\"\nexpect = \"happy x\"\n",
                4,
                "unknown expectation `happy`",
            ),
            (
                "title = \"T\"\n[[steps]]\ntitle = \"A\"\nrun = \"kill x\"\n",
                2,
                "step 1 (`A`) has `run` lines but no `action`",
            ),
            (
                "title = \"T\"\n[[steps]]\ntitle = \"A\"\naction = \"x\"\nrun = \"expect alive X\"\n",
                5,
                "expectations go in `expect`",
            ),
            ("title = \"T\"\n[[steps]\n", 2, ""),
        ];
        for (text, line, message) in cases {
            let (found_line, found) = parse(text).unwrap_err();
            assert_eq!(found_line, line, "{text:?}: {found}");
            assert!(found.contains(message), "{text:?}: {found}");
        }
    }
}
