//! A real BEAM node running the chapter's KV app, for the tests that attach to Erlang/Elixir
//! (issue 13): the Elixir project `tests/fixtures/kv_elixir`, compiled once per test binary,
//! and [`KvNode`], one node on loopback with an EPMD of its own, a random name and a random
//! cookie, killed with its EPMD when dropped.
//!
//! What a reader must know:
//! - The BEAM is required, not optional: without `erl`, `elixir`, `mix` and `epmd` on the
//!   PATH, [`KvNode::start`] fails the test and names the Debian packages to install
//!   ([`DEBIAN_PACKAGES`]); nothing is skipped, locally or in CI.
//! - Nothing is written into the repository or the user's home: the build goes to
//!   `$TMPDIR/otpscope-beam-PID/build` (`MIX_BUILD_PATH`, with `MIX_HOME`, `HEX_HOME` and
//!   `HOME` in that folder too; the fixture has no dependencies, so it builds offline), and
//!   each node runs with its own folder as `HOME`. A later test binary removes the folders
//!   of test binaries that are no longer running.
//! - The test talks to the node through the node's standard input and output
//!   (`eval_loop.exs` beside this file): [`KvNode::eval`] runs Elixir code on the node
//!   itself, without a second node connecting to it, so the node's `Node.list()` stays
//!   empty for the code under test.
//! - A failed test unwinds and drops its nodes: nothing is left running. A test binary
//!   killed outright (SIGKILL) cannot drop them: its nodes see their standard input close
//!   and halt, but their EPMDs (a foreground `epmd` has no way to follow its parent) stay
//!   until killed; Ctrl-C reaches them all, as they share the terminal's process group.
//! - Measured on a 2-core machine under load (Erlang/OTP 25, Elixir 1.14): `mix compile`
//!   about 0.9 s (once per test binary), a node started with its app running about 0.45 s,
//!   an `eval` about 0.1 ms (a few ms the first time it loads a module), a drop about 4 ms.
//!   Asking through a second node (`elixir --rpc-eval`) costs about 0.3 s a call instead.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The Debian (and Ubuntu) packages that give `erl`, `elixir`, `mix` and `epmd`, as the
/// README's line for the BEAM tests and `.ci/run`'s `beam_packages` name them (`tests/docs.rs`
/// checks that they agree).
pub const DEBIAN_PACKAGES: &str = "erlang-nox elixir";

/// How long a node may take to start and run its app before the test fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one [`KvNode::eval`] may take before the test fails.
pub const EVAL_TIMEOUT: Duration = Duration::from_secs(15);

/// The programs the BEAM tests run, all found on the PATH.
const PROGRAMS: [&str; 4] = ["erl", "elixir", "mix", "epmd"];

/// The start of every line the node's side of the harness writes for the test.
const MARKER: &str = "\u{1}otpscope ";

/// Whether `erl`, `elixir`, `mix` and `epmd` are all on the PATH.
pub fn available() -> bool {
    missing_programs().is_empty()
}

/// Fails the test, saying what to install, unless the BEAM is [`available`].
pub fn require() {
    let missing = missing_programs();
    assert!(
        missing.is_empty(),
        "the BEAM tests need Erlang/OTP and Elixir, and {} not on the PATH; on Debian or \
         Ubuntu: sudo apt-get install {DEBIAN_PACKAGES}",
        missing.join(", ") + if missing.len() == 1 { " is" } else { " are" },
    );
}

/// Those of [`PROGRAMS`] that no folder of the PATH holds as an executable file.
fn missing_programs() -> Vec<&'static str> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    PROGRAMS
        .into_iter()
        .filter(|program| {
            !std::env::split_paths(&path).any(|folder| {
                std::fs::metadata(folder.join(program))
                    .is_ok_and(|file| file.is_file() && file.permissions().mode() & 0o111 != 0)
            })
        })
        .collect()
}

/// Polls `condition` every 10 ms until it holds; fails the test, naming `what`, after
/// `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The names registered with the EPMD on `127.0.0.1:port` and their distribution ports,
/// asked with EPMD's own `NAMES_REQ` (what `epmd -names` prints). An error when no EPMD
/// answers there.
pub fn epmd_names(port: u16) -> std::io::Result<Vec<(String, u16)>> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    // A two-byte length, then the request: 110 is NAMES_REQ.
    stream.write_all(&[0, 1, 110])?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    // EPMD's own port (four bytes), then "name NAME at port PORT\n" lines.
    let text = String::from_utf8_lossy(answer.get(4..).unwrap_or_default()).into_owned();
    Ok(text
        .lines()
        .filter_map(|line| {
            let (name, port) = line.strip_prefix("name ")?.split_once(" at port ")?;
            Some((name.to_owned(), port.trim().parse().ok()?))
        })
        .collect())
}

/// Whether `short_name` is registered with the EPMD on `127.0.0.1:port` now (`false` when no
/// EPMD answers there).
pub fn is_registered(port: u16, short_name: &str) -> bool {
    epmd_names(port).is_ok_and(|names| names.iter().any(|(name, _)| name == short_name))
}

// === impl KvNode ===

/// An Elixir node running the chapter's KV app (`tests/fixtures/kv_elixir`, final design):
/// `kv_XXXXXXXX@127.0.0.1`, with a random cookie, registered with an EPMD of its own on a
/// free loopback port. Its distribution listens on loopback only; it never starts an EPMD
/// of its own. Dropping it kills the node and the EPMD and removes its folder, a failed
/// test's unwinding included.
pub struct KvNode {
    /// The node's OS process (`elixir`, which execs the emulator); `None` once stopped.
    node: Option<Child>,
    /// The node's OS process id, kept after a stop for the tests that check it is gone.
    node_os_pid: u32,
    /// The EPMD the node registered with, in the foreground: killed on drop.
    epmd: Child,
    /// `kv_XXXXXXXX@127.0.0.1`.
    name: String,
    /// 20 random capital letters, like the cookies `erl` makes.
    cookie: String,
    /// The port of `epmd`, given to the node as `ERL_EPMD_PORT`.
    epmd_port: u16,
    /// The node's folder (its `HOME`, the EPMD's log), removed on drop.
    folder: PathBuf,
    /// The way to the node's evaluator; taken when the node is stopped.
    evaluator: Mutex<Option<Evaluator>>,
    /// Everything the node and its EPMD wrote that is not a reply: logger reports, crash
    /// messages. Shown when a start or an eval fails.
    output: Arc<Mutex<String>>,
}

/// One side of the request/reply exchange with `eval_loop.exs`: requests go to the node's
/// standard input, replies come back from the thread that reads its standard output.
struct Evaluator {
    /// The node's standard input.
    stdin: ChildStdin,
    /// The replies and the ready line, as the reader thread parses them; disconnected when
    /// the node's standard output closes.
    replies: Receiver<Line>,
    /// The id of the next request; a reply to an older one (after a timeout) is dropped.
    next_id: u64,
}

/// A line the node's side of the harness wrote for the test.
enum Line {
    /// The app is started; the node's name as the node says it.
    Ready(String),
    /// The answer to request `id`: its text, or the error it raised.
    Reply {
        id: u64,
        result: Result<String, String>,
    },
}

impl KvNode {
    /// Starts a node running the KV app and waits (up to [`START_TIMEOUT`]) until it is
    /// registered with its EPMD and the app has started. Fails the test, with what the node
    /// wrote, if it does not; fails it naming the Debian packages if the BEAM is missing.
    pub fn start() -> Self {
        require();
        let build = build();
        let folder = run_folder().join(format!("node-{}", NODES.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&folder).expect("the node's folder");
        // From here on, a panic drops `starting`, and with it what was started.
        let mut starting = Starting {
            epmd: None,
            node: None,
            folder: Some(folder.clone()),
        };
        let output = Arc::new(Mutex::new(String::new()));
        let (epmd, epmd_port) = start_epmd(&folder);
        starting.epmd = Some(epmd);
        let name = format!("kv_{:08x}@127.0.0.1", random() as u32);
        let cookie = random_cookie();
        let mut node = Command::new("elixir")
            .args(["--name", &name, "--cookie", &cookie])
            .args([
                "--erl",
                "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}",
            ])
            .arg("-pa")
            .arg(&build.ebin)
            .arg("-pa")
            .arg(&build.consolidated)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/beam_support/eval_loop.exs"))
            .current_dir(&folder)
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .env("HOME", &folder)
            .env_remove("ERL_FLAGS")
            .env_remove("ERL_AFLAGS")
            .env_remove("ERL_ZFLAGS")
            .env_remove("ELIXIR_ERL_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("elixir starts");
        let stdin = node.stdin.take().expect("the node's stdin");
        let (lines, replies) = mpsc::channel();
        read_stdout(
            node.stdout.take().expect("the node's stdout"),
            lines,
            output.clone(),
        );
        let stderr = read_into(
            node.stderr.take().expect("the node's stderr"),
            output.clone(),
        );
        let node_os_pid = node.id();
        starting.node = Some(node);

        let deadline = Instant::now() + START_TIMEOUT;
        let said = match replies.recv_timeout(START_TIMEOUT) {
            Ok(Line::Ready(said)) => said,
            Ok(Line::Reply { .. }) => panic!("{name} replied before it was ready"),
            Err(error) => {
                // All it wrote: its stderr is read to the end once it is gone.
                if let Some(node) = starting.node.as_mut() {
                    node.kill().ok();
                    node.wait().ok();
                }
                stderr.join().ok();
                panic!(
                    "{name} did not start its kv app ({}); it wrote:\n{}",
                    match error {
                        RecvTimeoutError::Timeout => format!("no answer in {START_TIMEOUT:?}"),
                        RecvTimeoutError::Disconnected => "it exited".to_owned(),
                    },
                    output.lock().unwrap()
                )
            }
        };
        assert_eq!(said, name, "the node's own name");
        let short = name.split('@').next().unwrap_or_default();
        // Distribution is up before the script runs, so this holds at once in practice.
        wait_until(
            &format!("{name} to be registered with the EPMD on port {epmd_port}"),
            deadline.saturating_duration_since(Instant::now()),
            || is_registered(epmd_port, short),
        );
        let (epmd, node) = starting.finish();
        Self {
            node: Some(node),
            node_os_pid,
            epmd,
            name,
            cookie,
            epmd_port,
            folder,
            evaluator: Mutex::new(Some(Evaluator {
                stdin,
                replies,
                next_id: 1,
            })),
            output,
        }
    }

    /// The node's full name, like `kv_1a2b3c4d@127.0.0.1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The part of the name before `@`, as the EPMD lists it.
    pub fn short_name(&self) -> &str {
        self.name.split('@').next().unwrap_or_default()
    }

    /// The node's cookie: 20 random capital letters.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// The port of the node's own EPMD on 127.0.0.1 (what `ERL_EPMD_PORT` must be for an
    /// Erlang client to find the node).
    pub fn epmd_port(&self) -> u16 {
        self.epmd_port
    }

    /// The port the node's distribution listens on (loopback), as its EPMD gives it.
    pub fn dist_port(&self) -> u16 {
        epmd_names(self.epmd_port)
            .expect("the node's EPMD answers")
            .into_iter()
            .find(|(name, _)| name == self.short_name())
            .map(|(_, port)| port)
            .unwrap_or_else(|| panic!("{} is not registered with its EPMD", self.name))
    }

    /// The OS process id of the node (the emulator: `elixir` and `erl` exec it).
    pub fn node_os_pid(&self) -> u32 {
        self.node_os_pid
    }

    /// The OS process id of the node's EPMD.
    pub fn epmd_os_pid(&self) -> u32 {
        self.epmd.id()
    }

    /// The node's folder (its `HOME`), removed when the node is dropped.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Whether the node is registered with its EPMD now.
    pub fn is_registered(&self) -> bool {
        is_registered(self.epmd_port, self.short_name())
    }

    /// How otpscope reaches this node: its name, its cookie and its EPMD's port.
    pub fn connect_options(&self) -> otpscope::beam::ConnectOptions {
        otpscope::beam::ConnectOptions {
            node: self.name.clone(),
            cookie: self.cookie.clone(),
            epmd_port: self.epmd_port,
        }
    }

    /// What the node wrote outside the replies to `eval`: logger reports and the like.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Runs `elixir_code` on the node, in a fresh process there, and returns what it printed
    /// if it printed anything, else its value: a string as it is, anything else as
    /// `inspect/2` writes it (no length limit). One trailing newline is cut off. Fails the
    /// test if the code raises or exits, or after [`EVAL_TIMEOUT`]. Costs about 0.1 ms for
    /// a small expression (`Process.whereis(KV.Registry)`, measured over 1,000 calls; a few
    /// ms when it first loads a module such as `Supervisor`): no second node, no new
    /// connection.
    pub fn eval(&self, elixir_code: &str) -> String {
        self.try_eval(elixir_code).unwrap_or_else(|error| {
            panic!(
                "eval on {} of\n{elixir_code}\nfailed: {error}\nthe node wrote:\n{}",
                self.name,
                self.output()
            )
        })
    }

    /// [`eval`](Self::eval) for code that may fail: the formatted exception or exit as the
    /// error (after anything the code printed), or a sentence saying the node is stopped
    /// or did not answer in time.
    pub fn try_eval(&self, elixir_code: &str) -> Result<String, String> {
        let mut evaluator = self.evaluator.lock().unwrap();
        let Some(channel) = evaluator.as_mut() else {
            return Err(format!("{} is stopped", self.name));
        };
        let id = channel.next_id;
        channel.next_id += 1;
        let request = format!("{id} {}\n", hex(elixir_code.as_bytes()));
        if let Err(error) = channel.stdin.write_all(request.as_bytes()) {
            return Err(format!("{} does not read its requests: {error}", self.name));
        }
        let deadline = Instant::now() + EVAL_TIMEOUT;
        loop {
            match channel
                .replies
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(Line::Reply {
                    id: replied,
                    result,
                }) if replied == id => {
                    return result.map(|text| match text.strip_suffix('\n') {
                        Some(cut) => cut.to_owned(),
                        None => text,
                    });
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{} gave no answer in {EVAL_TIMEOUT:?}", self.name));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{} exited", self.name));
                }
            }
        }
    }

    /// Kills the node's OS process (SIGKILL: the node goes down as on a crash, without
    /// telling anyone) and waits for it to end. Its EPMD keeps running, and unregisters the
    /// name as soon as it sees the node's connection close. Later evals fail.
    pub fn stop(&mut self) {
        // Killed first: closing its standard input first would have the node halt itself
        // (the harness's loop ends at end of input), and a reader could see it go down in
        // a state of its own making before the kill.
        if let Some(mut node) = self.node.take() {
            node.kill().ok();
            node.wait().ok();
        }
        self.evaluator.lock().unwrap().take();
    }
}

impl Drop for KvNode {
    fn drop(&mut self) {
        self.stop();
        self.epmd.kill().ok();
        self.epmd.wait().ok();
        std::fs::remove_dir_all(&self.folder).ok();
    }
}

/// What [`KvNode::start`] has started so far: killed and removed if the start fails.
struct Starting {
    /// The EPMD, until the node takes it.
    epmd: Option<Child>,
    /// The node, once spawned.
    node: Option<Child>,
    /// The node's folder.
    folder: Option<PathBuf>,
}

impl Starting {
    /// Hands the processes over to the node, which kills them from then on.
    fn finish(&mut self) -> (Child, Child) {
        self.folder = None;
        (
            self.epmd.take().expect("the epmd"),
            self.node.take().expect("the node"),
        )
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        for child in [self.node.as_mut(), self.epmd.as_mut()]
            .into_iter()
            .flatten()
        {
            child.kill().ok();
            child.wait().ok();
        }
        if let Some(folder) = &self.folder {
            std::fs::remove_dir_all(folder).ok();
        }
    }
}

// === the build ===

/// Where the fixture was compiled, for `-pa`.
struct Build {
    /// `.../lib/kv/ebin`: the app's modules and `kv.app`.
    ebin: PathBuf,
    /// `.../lib/kv/consolidated`: the protocols, consolidated as `mix run` would load them.
    consolidated: PathBuf,
}

/// The nodes started by this test binary, for their folders' names.
static NODES: AtomicU64 = AtomicU64::new(0);

/// `$TMPDIR/otpscope-beam-PID`: this test binary's build and nodes. The first call also
/// removes the folders of test binaries that are no longer running.
fn run_folder() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let temp = std::env::temp_dir();
        remove_stale_folders(&temp);
        temp.join(format!("otpscope-beam-{}", std::process::id()))
    })
}

/// Removes `otpscope-beam-PID` folders whose process is gone (where `/proc` tells).
fn remove_stale_folders(temp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("otpscope-beam-"))
            .filter(|pid| pid.parse::<u32>().is_ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// The fixture compiled by `mix compile` into this binary's folder, once; every later call
/// gets the same result, a failed build included (each test then fails with its output).
fn build() -> &'static Build {
    static BUILD: OnceLock<Result<Build, String>> = OnceLock::new();
    let built = BUILD.get_or_init(|| {
        let folder = run_folder();
        let build_path = folder.join("build");
        let output = Command::new("mix")
            .arg("compile")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kv_elixir"))
            .env("MIX_BUILD_PATH", &build_path)
            .env("MIX_HOME", folder.join("mix"))
            .env("HEX_HOME", folder.join("hex"))
            .env("HOME", folder)
            .env("MIX_ENV", "dev")
            .env_remove("ERL_FLAGS")
            .env_remove("ERL_AFLAGS")
            .env_remove("ERL_ZFLAGS")
            .env_remove("ELIXIR_ERL_OPTIONS")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("mix did not run: {error}"))?;
        let kv = build_path.join("lib/kv");
        if !output.status.success() || !kv.join("ebin/kv.app").exists() {
            return Err(format!(
                "mix compile of tests/fixtures/kv_elixir failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(Build {
            ebin: kv.join("ebin"),
            consolidated: kv.join("consolidated"),
        })
    });
    match built {
        Ok(build) => build,
        Err(error) => panic!("{error}"),
    }
}

// === the processes ===

/// Starts `epmd -address 127.0.0.1 -port P` in the foreground on a free port and waits
/// until it answers; tries another port if the one picked was taken in between.
fn start_epmd(folder: &Path) -> (Child, u16) {
    let log = folder.join("epmd.log");
    let mut failures = String::new();
    for _attempt in 0..5 {
        let port = free_port();
        let mut epmd = Command::new("epmd")
            .args(["-address", "127.0.0.1", "-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("the epmd log"))
            .stderr(File::create(folder.join("epmd.err")).expect("the epmd log"))
            .spawn()
            .expect("epmd starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if epmd_names(port).is_ok() {
                return (epmd, port);
            }
            if let Ok(Some(status)) = epmd.try_wait() {
                failures += &format!(
                    "epmd on port {port} exited ({status}): {}{}\n",
                    std::fs::read_to_string(&log).unwrap_or_default(),
                    std::fs::read_to_string(folder.join("epmd.err")).unwrap_or_default()
                );
                break;
            }
            if Instant::now() > deadline {
                epmd.kill().ok();
                epmd.wait().ok();
                failures += &format!("epmd on port {port} did not answer in 10 s\n");
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    panic!("no EPMD could be started:\n{failures}");
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Reads the node's standard output: the harness's lines go to `lines`, the rest to
/// `output`. Ends when the node closes it.
fn read_stdout(
    stdout: impl Read + Send + 'static,
    lines: Sender<Line>,
    output: Arc<Mutex<String>>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
            match parse_line(&line) {
                Some(parsed) => {
                    // Fails once the node was stopped: nobody waits for replies any more.
                    lines.send(parsed).ok();
                }
                None => output.lock().unwrap().push_str(&line),
            }
            line.clear();
        }
    });
}

/// Reads a pipe into `output` until it closes.
fn read_into(pipe: impl Read + Send + 'static, output: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut pipe = pipe;
        let mut chunk = [0; 4096];
        while let Ok(read @ 1..) = pipe.read(&mut chunk) {
            output
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    })
}

/// `\1otpscope ready NODE` or `\1otpscope reply ID ok|error HEX`; `None` for any other line.
fn parse_line(line: &str) -> Option<Line> {
    let rest = line.trim_end().strip_prefix(MARKER)?;
    if let Some(node) = rest.strip_prefix("ready ") {
        return Some(Line::Ready(node.to_owned()));
    }
    let mut words = rest.strip_prefix("reply ")?.splitn(3, ' ');
    let id = words.next()?.parse().ok()?;
    let status = words.next()?;
    let text = String::from_utf8_lossy(&unhex(words.next().unwrap_or_default())?).into_owned();
    let result = match status {
        "ok" => Ok(text),
        _ => Err(text),
    };
    Some(Line::Reply { id, result })
}

// === small things ===

/// A random number from std's randomly seeded hasher (no dependency needed for names and
/// cookies of test nodes).
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(NODES.load(Ordering::Relaxed));
    hasher.finish()
}

/// 20 random capital letters.
fn random_cookie() -> String {
    let mut cookie = String::new();
    while cookie.len() < 20 {
        let mut bits = random();
        for _ in 0..8 {
            cookie.push(char::from(b'A' + (bits % 26) as u8));
            bits /= 26;
        }
    }
    cookie.truncate(20);
    cookie
}

/// Lowercase base 16.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Base 16 (either case) back to bytes; `None` if it is not.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}
