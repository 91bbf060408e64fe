//! The `otpscope` command line: the Observer on the embedded KV app, and the headless
//! commands (`dump`, `run`) that classes, demos and CI use without a window.
//!
//! Output goes through [`Write`] on a locked stdout, never `print!`: when the reader closes
//! the pipe (`otpscope dump --json | head -1`), the write fails with `BrokenPipe` and the
//! command ends quietly with success, as Unix tools do, instead of panicking.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};

use otpscope::demo::kv::Stage;
use otpscope::demo::playground::TreeSpec;
use otpscope::demo::{App, AppHandle};
use otpscope::runtime::Node;
use otpscope::scenario::{self, Format, Runner, tree_text};
use otpscope::snapshot::full_snapshot;

/// Erlang/OTP-style supervision for Rust, and an Observer to watch it.
#[derive(Debug, Parser)]
#[command(name = "otpscope", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Commands>,
    #[command(flatten)]
    what: What,
}

/// What to start: the KV app at a stage of the chapter, or a tree file.
#[derive(Debug, Args, Clone)]
struct What {
    /// Which of the chapter's designs to start: linked, permanent, one_for_one or final.
    #[arg(long, global = true, default_value = "final", conflicts_with = "tree")]
    stage: Stage,
    /// A tree file (TOML) to start instead of the KV app; see assets/trees/.
    #[arg(long, global = true, value_name = "FILE")]
    tree: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Start the app, print its supervision tree, and exit.
    Dump {
        /// Print the JSON snapshot instead of the text tree.
        #[arg(long)]
        json: bool,
    },
    /// Run a fault script: each command with the events it caused, then the final tree.
    /// Exits non-zero if an `expect` fails.
    Run {
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
        /// The script file.
        script: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none()
        && let Err(error) = check_display()
    {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        None => observer(&runtime, &cli.what).map(|()| ExitCode::SUCCESS),
        Some(command) => runtime.block_on(run(command, &cli.what)),
    };
    match outcome {
        Ok(code) => code,
        // The reader has what it wanted (`| head -1`): end quietly.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// True when `error` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|error| error.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// What to say instead of winit's raw error when there is no display to open a window on.
const NO_DISPLAY: &str = "\
no display found: the Observer opens a window, and neither DISPLAY (X11) nor WAYLAND_DISPLAY \
(Wayland) is set.
Without a display, use the headless commands:
  otpscope dump [--json]       start the app, print its supervision tree, and exit
  otpscope run SCRIPT          run a fault script (see assets/scenarios/)
Both take --stage STAGE or --tree FILE, as the Observer does; `otpscope --help` lists them.";

/// Fails with [`NO_DISPLAY`] where a window needs X11 or Wayland and neither is set.
fn check_display() -> Result<()> {
    if cfg!(all(
        feature = "gui",
        unix,
        not(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "android"
        ))
    )) {
        let is_set = |var: &str| std::env::var_os(var).is_some_and(|value| !value.is_empty());
        if !["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
            .into_iter()
            .any(is_set)
        {
            anyhow::bail!(NO_DISPLAY);
        }
    }
    Ok(())
}

async fn run(command: Commands, what: &What) -> Result<ExitCode> {
    let mut stdout = io::stdout().lock();
    match command {
        Commands::Dump { json } => {
            let node = Node::new("otpscope");
            start(&node, what).await?;
            let snapshot = full_snapshot(&node);
            if json {
                serde_json::to_writer_pretty(&mut stdout, &snapshot).map_err(io::Error::from)?;
                writeln!(stdout)?;
            } else {
                write!(
                    stdout,
                    "{}",
                    tree_text::render(&snapshot, tree_text::DEFAULT_FOLD_AT)
                )?;
            }
            stdout.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Commands::Run { json, script } => {
            let text = std::fs::read_to_string(&script)
                .with_context(|| format!("cannot read script {}", script.display()))?;
            let lines =
                scenario::parse(&text).with_context(|| format!("in {}", script.display()))?;
            let node = Node::new("otpscope");
            let app = start(&node, what).await?;
            let format = if json { Format::Json } else { Format::Text };
            let summary = Runner::for_app(&app, format, &mut stdout)?
                .run(&lines)
                .await?;
            if !json {
                writeln!(
                    stdout,
                    "== {} commands, {} expectations passed, {} failed",
                    summary.commands, summary.passed, summary.failed
                )?;
            }
            stdout.flush()?;
            Ok(if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Opens the Observer on the KV app or the tree file (without the `gui` feature, prints the
/// tree instead).
fn observer(runtime: &tokio::runtime::Runtime, what: &What) -> Result<()> {
    let node = runtime.block_on(async { Node::new("otpscope") });
    let app = runtime.block_on(start(&node, what))?;
    #[cfg(feature = "gui")]
    {
        let title = format!("{} on node {}", app.app().title(), node.name());
        let interval = std::time::Duration::from_millis(200);
        let source = otpscope::sources::local::LocalSource::new(app.control(), title, interval)?;
        otpscope::gui::run(Box::new(source)).map_err(|error| {
            anyhow::anyhow!(
                "cannot open the Observer's window: {error}\n\
                 Without a window, `otpscope dump` and `otpscope run SCRIPT` work headless."
            )
        })?;
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = app;
        let mut stdout = io::stdout().lock();
        write!(
            stdout,
            "{}",
            tree_text::render(&full_snapshot(&node), tree_text::DEFAULT_FOLD_AT)
        )?;
        stdout.flush()?;
    }
    Ok(())
}

/// What `--stage` and `--tree` ask for.
fn app(what: &What) -> Result<App> {
    Ok(match &what.tree {
        Some(path) => App::Tree {
            title: path.display().to_string(),
            spec: Arc::new(TreeSpec::load(path)?),
        },
        None => App::Kv(what.stage),
    })
}

/// Starts the KV app or the tree file.
async fn start(node: &Node, what: &What) -> Result<AppHandle> {
    let app = app(what)?;
    let what = match &app {
        App::Kv(_) => format!("the {}", app.title()),
        App::Tree { title, .. } => title.clone(),
    };
    app.start(node)
        .await
        .with_context(|| format!("cannot start {what}"))
}
