//! The `otpscope` command line: the Observer on the embedded KV app, and the headless
//! commands (`dump`, `run`) that classes, demos and CI use without a window.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};

use otpscope::demo::kv::{self, Stage, control::KvControl};
use otpscope::demo::playground::TreeSpec;
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
    if cli.command.is_none() {
        return match observer(&runtime, &cli.what) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        };
    }
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => {
            let node = Node::new("otpscope");
            start(&node, &cli.what).await?;
            print!(
                "{}",
                tree_text::render(&full_snapshot(&node), tree_text::DEFAULT_FOLD_AT)
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Commands::Dump { json }) => {
            let node = Node::new("otpscope");
            start(&node, &cli.what).await?;
            let snapshot = full_snapshot(&node);
            if json {
                println!("{}", serde_json::to_string_pretty(&snapshot)?);
            } else {
                print!(
                    "{}",
                    tree_text::render(&snapshot, tree_text::DEFAULT_FOLD_AT)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Commands::Run { json, script }) => {
            let text = std::fs::read_to_string(&script)
                .with_context(|| format!("cannot read script {}", script.display()))?;
            let lines =
                scenario::parse(&text).with_context(|| format!("in {}", script.display()))?;
            let node = Node::new("otpscope");
            let kv = start(&node, &cli.what).await?;
            let format = if json { Format::Json } else { Format::Text };
            let mut stdout = std::io::stdout().lock();
            let summary = Runner::new(&node, kv, format, &mut stdout)
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
    let kv = runtime.block_on(start(&node, what))?;
    #[cfg(feature = "gui")]
    {
        let title = match &what.tree {
            Some(path) => format!("{} on node {}", path.display(), node.name()),
            None => format!("KV app ({} stage) on node {}", what.stage, node.name()),
        };
        let interval = std::time::Duration::from_millis(200);
        let source = otpscope::observe::LocalSource::new(&node, title, kv.is_some(), interval);
        otpscope::gui::run(Box::new(source)).map_err(|error| anyhow::anyhow!("{error}"))?;
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = kv;
        print!(
            "{}",
            tree_text::render(&full_snapshot(&node), tree_text::DEFAULT_FOLD_AT)
        );
    }
    Ok(())
}

/// Starts the KV app (and returns its control) or the tree file.
async fn start(node: &Node, what: &What) -> Result<Option<KvControl>> {
    match &what.tree {
        Some(path) => {
            let spec = TreeSpec::load(path)?;
            spec.start(node)
                .await
                .with_context(|| format!("cannot start {}", path.display()))?;
            Ok(None)
        }
        None => {
            kv::start(node, what.stage)
                .await
                .with_context(|| format!("cannot start the KV app ({} stage)", what.stage))?;
            Ok(Some(KvControl::new(node)))
        }
    }
}
