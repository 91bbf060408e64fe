//! `otpscope lesson FILE`: the Observer on the lesson's node with the lesson panel beside the
//! tree (and the Chaos panel); with `--check`, every step headless instead (see
//! [`otpscope::lesson`]), exiting 1 when a step fails, 2 when the file does not parse.

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
    /// exit 1 if one fails. Without it, the Observer opens with the lesson panel.
    #[arg(long)]
    check: bool,
}

impl LessonArgs {
    /// Whether to check the lesson headless rather than open it in the Observer.
    pub(crate) fn is_check(&self) -> bool {
        self.check
    }
}

/// Opens the Observer on the lesson: its first step's app on a new node, the lesson panel
/// beside the tree, and the Chaos panel.
pub(crate) fn open(runtime: &tokio::runtime::Runtime, args: LessonArgs) -> Result<ExitCode> {
    let lesson = Lesson::load(&args.file)?;
    #[cfg(feature = "gui")]
    {
        use otpscope::lesson::live::LiveLesson;
        use otpscope::panels::{chaos::ChaosPanel, lesson::LessonPanel};
        use otpscope::runtime::Node;

        let title = format!("lesson {} on node lesson", lesson.title);
        let node = runtime.block_on(async { Node::new("lesson") });
        let live = LiveLesson::start(lesson, &node);
        let control = live.control();
        let interval = std::time::Duration::from_millis(100);
        let source = otpscope::sources::local::LocalSource::new(control.clone(), title, interval)?;
        let panels: Vec<Box<dyn otpscope::gui::Extension>> = vec![
            Box::new(LessonPanel::new(live)),
            Box::new(ChaosPanel::new(control)),
        ];
        otpscope::gui::run_with(Box::new(source), panels).map_err(|error| {
            anyhow::anyhow!(
                "cannot open the Observer's window: {error}\n\
                 Without a window, `otpscope lesson FILE --check` runs the lesson headless."
            )
        })?;
        Ok(ExitCode::SUCCESS)
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = (runtime, lesson);
        anyhow::bail!("this otpscope was built without the Observer (feature gui); pass --check")
    }
}

/// Runs `otpscope lesson --check`.
pub(crate) async fn run(args: LessonArgs) -> Result<ExitCode> {
    let lesson = Lesson::load(&args.file)?;
    let mut stdout = io::stdout().lock();
    let outcomes = check::check(&lesson, &mut stdout).await?;
    stdout.flush()?;
    Ok(if outcomes.iter().all(|outcome| outcome.is_passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
