//! The `otpscope` command line: the Observer on the embedded KV app, and the headless
//! commands (`dump`, `run`) that classes, demos and CI use without a window.
//!
//! Output goes through [`Write`] on a locked stdout, never `print!`: when the reader closes
//! the pipe (`otpscope dump --json | head -1`), the write fails with `BrokenPipe` and the
//! command ends quietly with success, as Unix tools do, instead of panicking.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};

use otpscope::beam::{self, BeamClient};
use otpscope::demo::kv::Stage;
use otpscope::demo::playground::TreeSpec;
use otpscope::demo::{App, AppHandle};
use otpscope::record::Recorder;
use otpscope::runtime::Node;
use otpscope::runtime::remote::{self, ConnectOptions, Cookie, ServeOptions};
use otpscope::scenario::{self, Format, Runner};
use otpscope::snapshot::full_snapshot;

mod cli;

/// Every command of the binary allocates through mimalloc: attaching to a big BEAM node
/// decodes millions of small terms, where glibc's malloc cost a quarter of a read.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often a BEAM node is read for the Observer and `dump` (a script reads it at
/// [`scenario::session::SCRIPT_INTERVAL`]).
const BEAM_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

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

impl What {
    /// The options that start the same app again: `--stage linked `, `--tree FILE ` or
    /// nothing for the final stage.
    fn as_args(&self) -> String {
        match (&self.tree, self.stage) {
            (Some(tree), _) => format!("--tree {} ", tree.display()),
            (None, Stage::Final) => String::new(),
            (None, stage) => format!("--stage {stage} "),
        }
    }
}

/// Where a served node is and how to prove the cookie.
#[derive(Debug, Args, Clone)]
struct Remote {
    /// The file holding the node's cookie (default: $OTPSCOPE_COOKIE, else
    /// ~/.otpscope/cookie).
    #[arg(long, value_name = "FILE")]
    cookie_file: Option<PathBuf>,
    /// Speak TLS, trusting the certificates in this PEM file: a CA's, or the node's own
    /// self-signed certificate (pinning it).
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// The name the node's certificate must carry, when not the address's host.
    #[arg(long, value_name = "NAME", requires = "tls_ca")]
    tls_name: Option<String>,
}

/// A running BEAM node to attach to, over Erlang distribution. (Its `Debug` hides the cookie.)
#[derive(Args, Clone)]
struct Beam {
    /// A running Erlang or Elixir node, NAME@HOST, reached as a hidden node (its EPMD on
    /// $ERL_EPMD_PORT, else 4369). The cookie: --cookie, else --cookie-file, else
    /// ~/.erlang.cookie, as `erl` reads it; never printed.
    #[arg(long, value_name = "NODE@HOST")]
    beam: Vec<String>,
    /// The BEAM node's cookie.
    #[arg(long, value_name = "COOKIE")]
    cookie: Option<String>,
}

impl std::fmt::Debug for Beam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Beam")
            .field("beam", &self.beam)
            .field("cookie", &self.cookie.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

impl Beam {
    /// The one node of `dump`/`run`, if given.
    fn one(&self) -> Result<Option<&str>> {
        match self.beam.as_slice() {
            [] => Ok(None),
            [node] => Ok(Some(node)),
            _ => anyhow::bail!("give one --beam node (attach opens several)"),
        }
    }

    /// How to reach `node`: its name and the cookie.
    fn options(&self, node: &str, remote: &Remote) -> Result<beam::ConnectOptions> {
        let cookie = beam::cookie(self.cookie.as_deref(), remote.cookie_file.as_deref())
            .map_err(anyhow::Error::msg)?;
        Ok(beam::ConnectOptions::new(node, cookie))
    }

    /// Connects to `node`, reading it every `interval`: the client, and the options it
    /// connected with (to open more clients on the node).
    async fn connect(
        &self,
        node: &str,
        remote: &Remote,
        interval: std::time::Duration,
    ) -> Result<(BeamClient, beam::ConnectOptions)> {
        let options = self.options(node, remote)?;
        let client = BeamClient::connect(options.clone(), interval)
            .await
            .with_context(|| format!("cannot attach to {node}"))?;
        Ok((client, options))
    }
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Start the app, print its supervision tree, and exit.
    Dump {
        /// Print the JSON snapshot instead of the text tree.
        #[arg(long)]
        json: bool,
        /// Print the tree of the node served at ADDR (`otpscope serve`) instead of starting
        /// the app here.
        #[arg(long, value_name = "ADDR", conflicts_with = "beam")]
        attach: Option<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        beam: Beam,
    },
    /// Run the app headless and serve it to Observers and scripts on other terminals or
    /// machines (`otpscope attach ADDR`), until Ctrl-C.
    Serve {
        /// Where to listen: a port (on 127.0.0.1) or an address. Default: $OTPSCOPE_LISTEN,
        /// else 127.0.0.1:4370.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The cookie file clients must prove (created, mode 0600, if absent). Default:
        /// $OTPSCOPE_COOKIE, else ~/.otpscope/cookie.
        #[arg(long, value_name = "FILE")]
        cookie_file: Option<PathBuf>,
        /// Every client watches only: commands are refused.
        #[arg(long)]
        read_only: bool,
        /// Speak TLS only, with this certificate chain (PEM).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Record the node as observed to FILE until Ctrl-C (`otpscope replay FILE`).
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Open the Observer on a node served by another process (`otpscope serve`, or a service
    /// that calls `otpscope_runtime::remote::serve`).
    Attach {
        /// The nodes' addresses, such as 127.0.0.1:4370; with several (and --beam nodes), a
        /// nodes bar picks the one shown and "All nodes" shows every tree.
        #[arg(required_unless_present = "beam", value_name = "ADDR")]
        addresses: Vec<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        beam: Beam,
    },
    /// Kill processes at random from a seed (the same seed, the same kills, named by tree
    /// path), print each kill and what followed, then a summary. Exits 1 if the tree did not
    /// survive.
    Chaos(cli::chaos::ChaosArgs),
    /// Open a lesson (a chapter as steps whose expectations check themselves) in the
    /// Observer, with the lesson panel beside the tree; with --check, run every step
    /// headless and exit 1 if a step fails.
    Lesson(cli::lesson::LessonArgs),
    /// Replay a recording (`run --record`, `serve --record`): the Observer with a timeline,
    /// or headless with --dump [--at SECONDS | --end] [--json], or --json to export it.
    Replay(cli::replay::ReplayArgs),
    /// Run a fault script: each command with the events it caused, then the final tree.
    /// Exits non-zero if an `expect` fails.
    Run {
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
        /// Run it on the node served at ADDR (`otpscope serve`) instead of starting the app
        /// here.
        #[arg(long, value_name = "ADDR", conflicts_with = "beam")]
        attach: Option<String>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        beam: Beam,
        /// Record the node as observed, with the script's commands and replies, to FILE
        /// (`otpscope replay FILE`).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["attach", "beam"])]
        record: Option<PathBuf>,
        /// The script file.
        script: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opens_window = match &cli.command {
        None | Some(Commands::Attach { .. }) => true,
        Some(Commands::Replay(args)) => args.is_gui(),
        Some(Commands::Lesson(args)) => !args.is_check(),
        _ => false,
    };
    if opens_window && let Err(error) = check_display() {
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
        Some(Commands::Attach {
            addresses,
            remote,
            beam,
        }) => attach(&runtime, &addresses, &remote, &beam).map(|()| ExitCode::SUCCESS),
        Some(Commands::Serve {
            listen,
            cookie_file,
            read_only,
            tls_cert,
            tls_key,
            record,
        }) => {
            let tls = tls_cert.zip(tls_key);
            runtime.block_on(serve(
                &cli.what,
                listen.as_deref(),
                cookie_file,
                read_only,
                tls,
                record.as_deref(),
            ))
        }
        Some(Commands::Replay(args)) if args.is_gui() => {
            replay_observer(&args.file).map(|()| ExitCode::SUCCESS)
        }
        Some(Commands::Replay(args)) => cli::replay::run(&args),
        Some(Commands::Chaos(args)) => runtime.block_on(cli::chaos::run(args, &cli.what)),
        Some(Commands::Lesson(args)) if args.is_check() => runtime.block_on(cli::lesson::run(args)),
        Some(Commands::Lesson(args)) => cli::lesson::open(&runtime, args),
        Some(Commands::Dump {
            json,
            attach,
            remote,
            beam,
        }) => runtime.block_on(dump(&cli.what, json, attach.as_deref(), &remote, &beam)),
        Some(Commands::Run {
            json,
            attach,
            remote,
            beam,
            record,
            script,
        }) => runtime.block_on(run_script(
            &cli.what,
            json,
            (attach.as_deref(), &beam),
            &remote,
            record.as_deref(),
            &script,
        )),
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

/// `dump`: the tree of the app started here, or of a served node.
async fn dump(
    what: &What,
    json: bool,
    attach: Option<&str>,
    remote: &Remote,
    beam: &Beam,
) -> Result<ExitCode> {
    let snapshot = match (attach, beam.one()?) {
        (Some(address), _) => remote_snapshot(address, remote).await?,
        (None, Some(node)) => {
            let (mut client, _) = beam.connect(node, remote, BEAM_INTERVAL).await?;
            loop {
                match client.recv().await {
                    Some(otpscope::contract::Update::Full(snapshot)) => break snapshot,
                    Some(_) => {}
                    None => anyhow::bail!("lost {node} before it could be read"),
                }
            }
        }
        (None, None) => {
            let node = Node::new("otpscope");
            start(&node, what).await?;
            full_snapshot(&node)
        }
    };
    cli::print_tree(&snapshot, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `run`: a fault script on the app started here, or on a served node.
async fn run_script(
    what: &What,
    json: bool,
    (attach, beam): (Option<&str>, &Beam),
    remote: &Remote,
    record: Option<&Path>,
    script: &Path,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(script)
        .with_context(|| format!("cannot read script {}", script.display()))?;
    let lines = scenario::parse(&text).with_context(|| format!("in {}", script.display()))?;
    let format = if json { Format::Json } else { Format::Text };
    let mut stdout = io::stdout().lock();
    let summary = match (attach, beam.one()?) {
        (Some(address), _) => {
            let (connection, _) = connect(address, remote).await?;
            Runner::attached(connection, format, &mut stdout)
                .await
                .with_context(|| format!("cannot subscribe to {address}"))?
                .run(&lines)
                .await?
        }
        (None, Some(node)) => {
            let (client, _) = beam
                .connect(node, remote, scenario::session::SCRIPT_INTERVAL)
                .await?;
            Runner::beam(client, format, &mut stdout)
                .run(&lines)
                .await?
        }
        (None, None) => {
            let node = Node::new("otpscope");
            let app = start(&node, what).await?;
            let recorder = match record {
                Some(path) => Some(start_recording(&node, &app, path)?),
                None => None,
            };
            let mut runner = Runner::for_app(&app, format, &mut stdout)?;
            if let Some(recorder) = &recorder {
                runner = runner.record_commands(recorder.commands());
            }
            let summary = runner.run(&lines).await?;
            if let (Some(recorder), Some(path)) = (recorder, record) {
                stop_recording(recorder, path).await?;
            }
            summary
        }
    };
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

/// Serves the app until Ctrl-C.
async fn serve(
    what: &What,
    listen: Option<&str>,
    cookie_file: Option<PathBuf>,
    read_only: bool,
    tls: Option<(PathBuf, PathBuf)>,
    record: Option<&Path>,
) -> Result<ExitCode> {
    let node = Node::new("otpscope");
    let app = start(&node, what).await?;
    let recorder = match record {
        Some(path) => Some(start_recording(&node, &app, path)?),
        None => None,
    };
    let title = format!("{} on node {}", app.app().title(), node.name());
    let mut options = ServeOptions::default()
        .control(app.control())
        .title(title.clone())
        .read_only(read_only);
    if let Some(listen) = listen {
        options = options.listen(parse_listen(listen)?);
    }
    let cookie_place = match &cookie_file {
        Some(path) => path.display().to_string(),
        None if std::env::var_os(remote::COOKIE_ENV).is_some() => {
            format!("${}", remote::COOKIE_ENV)
        }
        None => Cookie::default_path()?.display().to_string(),
    };
    if let Some(path) = cookie_file {
        options = options.cookie_file(path);
    }
    if let Some((cert, key)) = &tls {
        options = options.tls(remote::TlsServer::from_pem_files(cert, key)?);
    }
    let served = remote::serve(&node, options)?;
    // Said once; a reader that closes the pipe after the first line (`| head -1`, a test
    // taking the address) does not stop the service.
    let mode = match (read_only, tls.is_some()) {
        (true, true) => "; read-only, TLS",
        (true, false) => "; read-only",
        (false, true) => "; TLS",
        (false, false) => "",
    };
    let announce = format!(
        "serving {title} on {}; cookie in {cookie_place}{mode}\n\
         attach with: otpscope attach {}   (Ctrl-C stops)\n",
        served.local_addr(),
        served.local_addr()
    );
    let mut stdout = io::stdout().lock();
    stdout.write_all(announce.as_bytes()).ok();
    stdout.flush().ok();
    drop(stdout);
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    served.stop();
    if let (Some(recorder), Some(path)) = (recorder, record) {
        stop_recording(recorder, path).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts recording the node the app runs on to `path`.
fn start_recording(node: &Node, app: &AppHandle, path: &Path) -> Result<Recorder> {
    let title = format!("{} on node {}", app.app().title(), node.name());
    Recorder::start(node, path, title, app.control().capabilities())
        .with_context(|| format!("cannot record to {}", path.display()))
}

/// Finishes a recording and says what it holds, on stderr (stdout is the command's output).
async fn stop_recording(recorder: Recorder, path: &Path) -> Result<()> {
    let recorded = recorder
        .stop()
        .await
        .with_context(|| format!("cannot finish the recording {}", path.display()))?;
    eprintln!(
        "recorded {} frames over {:.1} s to {}",
        recorded.frames,
        recorded.duration_ms as f64 / 1000.0,
        path.display()
    );
    Ok(())
}

/// Opens the Observer on a recording, with its timeline.
fn replay_observer(path: &Path) -> Result<()> {
    let recording = cli::replay::load(path)?;
    #[cfg(feature = "gui")]
    {
        let source = otpscope::sources::recording::RecordingSource::new(recording);
        otpscope::gui::run(Box::new(source)).map_err(|error| {
            anyhow::anyhow!(
                "cannot open the Observer's window: {error}\n\
                 Without a window, `otpscope replay FILE --dump [--at SECONDS]` works headless."
            )
        })?;
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = recording;
        anyhow::bail!("this otpscope was built without the Observer (feature gui)");
    }
    #[cfg(feature = "gui")]
    Ok(())
}

/// A port (on 127.0.0.1) or an address.
fn parse_listen(text: &str) -> Result<SocketAddr> {
    text.parse::<u16>()
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .or_else(|_| text.parse::<SocketAddr>())
        .with_context(|| {
            format!("--listen {text:?}: expected a port or an address such as 127.0.0.1:4370")
        })
}

/// The cookie a client proves: the file given, else $OTPSCOPE_COOKIE, else the default file
/// (which must exist: a client never makes one up).
fn client_cookie(remote: &Remote) -> Result<Cookie> {
    if let Some(path) = &remote.cookie_file {
        return Ok(Cookie::read(path)?);
    }
    if let Ok(text) = std::env::var(remote::COOKIE_ENV)
        && !text.trim().is_empty()
    {
        return Ok(Cookie::new(&text)?);
    }
    let path = Cookie::default_path()?;
    Cookie::read(&path).with_context(|| no_cookie_hint(&path))
}

fn no_cookie_hint(path: &Path) -> String {
    format!(
        "no cookie to prove: put the served node's cookie in {} (mode 0600), set {}, or pass \
         --cookie-file",
        path.display(),
        remote::COOKIE_ENV
    )
}

/// Connects to a served node, proving the cookie.
async fn connect(address: &str, remote: &Remote) -> Result<(remote::Connection, ConnectOptions)> {
    let mut options = ConnectOptions::new(client_cookie(remote)?);
    if let Some(ca) = &remote.tls_ca {
        let mut tls = remote::TlsClient::trusting_pem_file(ca)?;
        // The certificate names the host connected to, unless told another name.
        let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
        let name = remote
            .tls_name
            .as_deref()
            .unwrap_or(host.trim_matches(['[', ']']));
        tls = tls.server_name(name)?;
        options = options.tls(tls);
    }
    let connection = match remote::connect(address, &options).await {
        Ok(connection) => connection,
        Err(error @ (remote::RemoteError::Closed | remote::RemoteError::Truncated))
            if remote.tls_ca.is_none() =>
        {
            return Err(anyhow::Error::new(error)).with_context(|| {
                format!("cannot attach to {address} (if the node speaks TLS, pass --tls-ca)")
            });
        }
        Err(error) => {
            return Err(anyhow::Error::new(error))
                .with_context(|| format!("cannot attach to {address}"));
        }
    };
    Ok((connection, options))
}

/// The first full snapshot of a served node.
async fn remote_snapshot(address: &str, remote: &Remote) -> Result<otpscope::contract::Snapshot> {
    let (mut connection, _) = connect(address, remote).await?;
    connection
        .subscribe(std::time::Duration::from_millis(200))
        .await?;
    loop {
        match connection.receive().await? {
            remote::ServerMessage::Update(otpscope::contract::Update::Full(snapshot)) => {
                return Ok(snapshot);
            }
            _ => continue,
        }
    }
}

/// Opens the Observer on served nodes and BEAM nodes (each must answer at the start; any
/// lost later is shown as lost and reached again). Each node has its own Chaos panel, which
/// opens a session of its own on that node for each run (a new connection with the same
/// address and cookie, or a new BEAM client with the same node and cookie).
fn attach(
    runtime: &tokio::runtime::Runtime,
    addresses: &[String],
    remote: &Remote,
    beam: &Beam,
) -> Result<()> {
    let mut connections = Vec::new();
    for address in addresses {
        connections.push((address, runtime.block_on(connect(address, remote))?));
    }
    let mut beams = Vec::new();
    for node in &beam.beam {
        beams.push(runtime.block_on(beam.connect(node, remote, BEAM_INTERVAL))?);
    }
    #[cfg(feature = "gui")]
    {
        use otpscope::gui::{Extension, NodeWithExtensions, Source};
        use otpscope::panels::chaos::ChaosPanel;
        use otpscope::scenario::session::{SCRIPT_INTERVAL, SessionOpener};

        let interval = std::time::Duration::from_millis(200);
        // Each node's source, with its own Chaos panel.
        let with_chaos = |source: Box<dyn Source>, opener: SessionOpener| -> NodeWithExtensions {
            (
                source,
                vec![Box::new(ChaosPanel::opening(opener)) as Box<dyn Extension>],
            )
        };
        let mut nodes: Vec<NodeWithExtensions> = connections
            .into_iter()
            .map(|(address, (connection, options))| {
                let opener = SessionOpener::remote(
                    address.clone(),
                    options.clone(),
                    runtime.handle().clone(),
                );
                let source = otpscope::sources::remote::RemoteSource::new(
                    connection,
                    address.clone(),
                    options,
                    interval,
                    runtime.handle(),
                );
                with_chaos(Box::new(source), opener)
            })
            .collect();
        // A chaos run reads the BEAM node as a script does (`run --beam`): often enough that
        // the engine sees each kill's effects before it picks the next.
        nodes.extend(beams.into_iter().map(|(client, options)| {
            let opener = SessionOpener::beam(options, SCRIPT_INTERVAL, runtime.handle().clone());
            with_chaos(
                Box::new(otpscope::sources::beam::BeamSource::new(client)),
                opener,
            )
        }));
        otpscope::gui::run_many_with(nodes).map_err(|error| {
            anyhow::anyhow!(
                "cannot open the Observer's window: {error}\n\
                 Without a window, `otpscope dump --attach ADDR` works headless."
            )
        })?;
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = (connections, beams);
        anyhow::bail!("this otpscope was built without the Observer (feature gui)");
    }
    #[cfg(feature = "gui")]
    Ok(())
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
        let chaos = otpscope::panels::chaos::ChaosPanel::new(app.control());
        otpscope::gui::run_with(Box::new(source), vec![Box::new(chaos)]).map_err(|error| {
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
            scenario::tree_text::render(
                &full_snapshot(&node),
                scenario::tree_text::DEFAULT_FOLD_AT
            )
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
