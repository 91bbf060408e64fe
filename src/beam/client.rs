//! A watched BEAM node: a task reads it at the interval (and soon after anything happens:
//! an exit, a command), hands the contract's updates out, carries out commands, and when
//! the connection is lost says so and connects again with backoff (250 ms doubling to 5 s),
//! starting over with a full snapshot.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};

use crate::contract::{Capabilities, Command, CommandError, EventKind, Reply, Update, format};
use crate::demo::kv;
use crate::snapshot::ProgressReporter;

use super::BeamError;
use super::connection::{ConnectOptions, Connection, Down};
use super::control::Control;
use super::read::{Reader, Reading};
use super::terms::{self, Syntax};
use super::watch::{Watcher, now_unix_ms};

/// The shortest interval between two reads.
pub const MIN_INTERVAL: Duration = Duration::from_millis(5);
/// How soon after an exit the node is read again.
const NUDGE: Duration = Duration::from_millis(5);
/// How often what the node runs (its apps, the KV app) is asked again.
const INFO_EVERY: Duration = Duration::from_secs(2);
/// The longest wait between two attempts to reach a lost node.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What is known of the node once connected.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// `KV app on kv@127.0.0.1 (BEAM, OTP 25, Elixir)`.
    pub title: String,
    /// What the Observer may do.
    pub capabilities: Capabilities,
    /// The name this client goes by on the node, as the event feed names its commands.
    pub client_name: String,
    /// The syntax terms are written in.
    pub syntax: Syntax,
}

/// Whether the node is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Reads arrive.
    Live,
    /// Lost: why, and how many attempts to reach it again have failed.
    Lost(String, u32),
}

type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

enum Ask {
    Command(
        Command,
        oneshot::Sender<Result<Reply, CommandError>>,
        ProgressReporter,
    ),
    Interval(Duration),
}

/// A command carried out, and where its reply goes.
type Done = (
    oneshot::Sender<Result<Reply, CommandError>>,
    Result<Reply, CommandError>,
);

/// A BEAM node being watched, from any tokio task or thread.
pub struct BeamClient {
    info: watch::Receiver<NodeInfo>,
    updates: mpsc::UnboundedReceiver<Update>,
    asks: mpsc::UnboundedSender<Ask>,
    link: watch::Receiver<LinkState>,
    memory: Arc<Mutex<Option<u64>>>,
    waker: Waker,
}

impl BeamClient {
    /// Connects to the node (a clear error if it cannot) and starts watching it, reading it
    /// every `interval`. Must be called within a tokio runtime.
    pub async fn connect(options: ConnectOptions, interval: Duration) -> Result<Self, BeamError> {
        let (connection, downs) = Connection::connect(&options).await?;
        let info = node_info(&connection).await?;
        let (info_sender, info_receiver) = watch::channel(info.clone());
        let (updates_sender, updates) = mpsc::unbounded_channel();
        let (asks, ask_receiver) = mpsc::unbounded_channel();
        let (link_sender, link) = watch::channel(LinkState::Live);
        let memory = Arc::new(Mutex::new(None));
        let waker: Waker = Arc::new(Mutex::new(None));
        let task = Task {
            options,
            info,
            info_sender,
            interval: interval.max(MIN_INTERVAL),
            updates: updates_sender,
            asks: ask_receiver,
            link: link_sender,
            memory: memory.clone(),
            waker: waker.clone(),
        };
        tokio::spawn(task.run(connection, downs));
        Ok(Self {
            info: info_receiver,
            updates,
            asks,
            link,
            memory,
            waker,
        })
    }

    /// What is known of the node (asked again every few seconds and at each reconnection:
    /// an app started since, such as the KV app, brings its commands).
    pub fn info(&self) -> NodeInfo {
        self.info.borrow().clone()
    }

    /// Whether [`BeamClient::info`] changed since the last call.
    pub fn info_changed(&mut self) -> bool {
        self.info.has_changed().unwrap_or(false) && {
            self.info.mark_unchanged();
            true
        }
    }

    /// The next update; `None` once the client is closed.
    pub async fn recv(&mut self) -> Option<Update> {
        self.updates.recv().await
    }

    /// The next update that has arrived, without waiting.
    pub fn try_recv(&mut self) -> Option<Update> {
        self.updates.try_recv().ok()
    }

    /// Sends `command`; its reply comes through the receiver.
    pub fn send(&self, command: Command) -> oneshot::Receiver<Result<Reply, CommandError>> {
        self.send_reporting(command, ProgressReporter::ignore())
    }

    /// Sends `command`, which reports how far it has got to `progress` (each report also
    /// wakes the UI, as a reply does); its reply comes through the receiver.
    pub fn send_reporting(
        &self,
        command: Command,
        progress: ProgressReporter,
    ) -> oneshot::Receiver<Result<Reply, CommandError>> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(Ask::Command(_, reply, _))) =
            self.asks.send(Ask::Command(command, reply, progress))
        {
            reply.send(Err(client_closed())).ok();
        }
        answer
    }

    /// Carries out `command` and waits for its reply.
    pub async fn execute(&self, command: Command) -> Result<Reply, CommandError> {
        self.send(command)
            .await
            .unwrap_or_else(|_| Err(client_closed()))
    }

    /// Reads the node every `interval` from now on.
    pub fn set_interval(&self, interval: Duration) {
        self.asks.send(Ask::Interval(interval)).ok();
    }

    /// Whether the node is reached.
    pub fn link(&self) -> LinkState {
        self.link.borrow().clone()
    }

    /// Resolves at each change of [`BeamClient::link`].
    pub fn link_changes(&self) -> watch::Receiver<LinkState> {
        self.link.clone()
    }

    /// The node's memory (`erlang:memory(total)`), as of the last read.
    pub fn memory_bytes(&self) -> Option<u64> {
        *self.memory.lock()
    }

    /// Calls `waker` (from the client's task) whenever an update or a reply arrives.
    pub fn set_waker(&self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(waker);
    }
}

/// What a command gets when the client's task is gone before it replied.
pub(crate) fn client_closed() -> CommandError {
    CommandError::Disconnected("the client closed".to_owned())
}

/// What the node runs, asked once on connecting.
async fn node_info(connection: &Connection) -> Result<NodeInfo, BeamError> {
    let timeout = Duration::from_secs(5);
    let (apps, release, registry, bucket) = tokio::join!(
        connection.call("application", "which_applications", Vec::new(), timeout),
        connection.call(
            "erlang",
            "system_info",
            vec![erl_dist::term::Atom::from("otp_release").into()],
            timeout
        ),
        connection.call(
            "code",
            "is_loaded",
            vec![erl_dist::term::Atom::from("Elixir.KV.Registry").into()],
            timeout
        ),
        connection.call(
            "code",
            "which",
            vec![erl_dist::term::Atom::from("Elixir.KV.Bucket").into()],
            timeout
        ),
    );
    let apps = apps?;
    let elixir = terms::list(&apps).unwrap_or_default().iter().any(|app| {
        terms::tuple(app)
            .and_then(|t| t.first())
            .and_then(terms::atom)
            == Some("elixir")
    });
    let syntax = if elixir {
        Syntax::Elixir
    } else {
        Syntax::Erlang
    };
    let release = release
        .ok()
        .and_then(|r| terms::text(&r))
        .unwrap_or_default();
    let kv = registry.is_ok_and(|loaded| terms::tuple(&loaded).is_some())
        && bucket.is_ok_and(|path| terms::atom(&path) != Some("non_existing"));
    let mut capabilities = Capabilities {
        control: true,
        state: true,
        supervisor_calls: true,
        restart_app: false,
        memory: true,
        apps: Vec::new(),
    };
    if kv {
        capabilities.apps.push(kv::control::spec());
    }
    let what = if kv { "KV app" } else { "BEAM node" };
    let language = if elixir { ", Elixir" } else { "" };
    Ok(NodeInfo {
        title: format!(
            "{what} on {} (BEAM, OTP {release}{language})",
            connection.node()
        ),
        capabilities,
        client_name: format!("beam client {}", connection.node()),
        syntax,
    })
}

/// The task that watches the node.
struct Task {
    options: ConnectOptions,
    info: NodeInfo,
    info_sender: watch::Sender<NodeInfo>,
    interval: Duration,
    updates: mpsc::UnboundedSender<Update>,
    asks: mpsc::UnboundedReceiver<Ask>,
    link: watch::Sender<LinkState>,
    memory: Arc<Mutex<Option<u64>>>,
    waker: Waker,
}

/// Why watching one connection ended.
enum End {
    /// Nobody listens any more.
    Closed,
    /// The connection was lost.
    Lost(String),
}

impl Task {
    fn wake(&self) {
        if let Some(waker) = self.waker.lock().as_ref() {
            waker();
        }
    }

    async fn run(mut self, connection: Connection, downs: mpsc::UnboundedReceiver<Down>) {
        let mut next = Some((connection, downs));
        let mut attempts = 0u32;
        let mut backoff = Duration::from_millis(250);
        loop {
            if let Some((connection, downs)) = next.take() {
                self.link.send_replace(LinkState::Live);
                attempts = 0;
                backoff = Duration::from_millis(250);
                match self.watch(connection, downs).await {
                    End::Closed => return,
                    End::Lost(error) => {
                        self.link.send_replace(LinkState::Lost(error, 0));
                        self.wake();
                    }
                }
            }
            // Answer commands while waiting to reconnect.
            let sleep = tokio::time::sleep(backoff);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    ask = self.asks.recv() => match ask {
                        None => return,
                        Some(Ask::Command(_, reply, _)) => {
                            let why = match &*self.link.borrow() {
                                LinkState::Lost(error, _) => error.clone(),
                                LinkState::Live => "reconnecting".to_owned(),
                            };
                            reply.send(Err(CommandError::Disconnected(why))).ok();
                        }
                        Some(Ask::Interval(interval)) => self.interval = interval.max(MIN_INTERVAL),
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match Connection::connect(&self.options).await {
                Ok(connected) => {
                    // The node may run other apps now (connecting asked it the first time).
                    self.refresh_info(&connected.0).await;
                    next = Some(connected);
                }
                Err(error) => {
                    attempts += 1;
                    self.link
                        .send_replace(LinkState::Lost(error.to_string(), attempts));
                    self.wake();
                }
            }
        }
    }

    /// Watches the node over one connection until it is lost or nobody listens.
    async fn watch(
        &mut self,
        connection: Connection,
        mut downs: mpsc::UnboundedReceiver<Down>,
    ) -> End {
        let started = connection
            .call(
                "erlang",
                "statistics",
                vec![erl_dist::term::Atom::from("wall_clock").into()],
                Duration::from_secs(5),
            )
            .await
            .ok()
            .and_then(|answer| {
                terms::tuple(&answer).and_then(|t| t.first().and_then(terms::integer))
            })
            .map(|ms| now_unix_ms().saturating_sub(ms.max(0) as u64))
            .unwrap_or_else(now_unix_ms);
        let mut watcher = Watcher::new(connection.node(), started);
        let mut reader = Reader::new(connection.clone(), self.info.syntax);
        let control = Control::new(
            connection.clone(),
            self.info.syntax,
            !self.info.capabilities.apps.is_empty(),
        );
        // A command's reply waits for a read that started after the command was carried
        // out, so that what it caused is in the feed before its reply (as on a Rust node).
        let (done_sender, mut done) = mpsc::unbounded_channel::<Done>();
        let mut replies: Vec<Done> = Vec::new();
        let mut due = tokio::time::Instant::now();
        let mut info_due = tokio::time::Instant::now() + INFO_EVERY;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due) => {
                    let answering = std::mem::take(&mut replies);
                    let started = tokio::time::Instant::now();
                    let outcome = self
                        .read(&mut reader, &mut watcher, &control, &connection, &mut downs)
                        .await;
                    for (reply, result) in answering {
                        reply.send(result).ok();
                    }
                    if tokio::time::Instant::now() >= info_due {
                        self.refresh_info(&connection).await;
                        control.set_kv(!self.info.capabilities.apps.is_empty());
                        info_due = tokio::time::Instant::now() + INFO_EVERY;
                    }
                    match outcome {
                        Ok(()) => {}
                        Err(BeamError::Disconnected(error)) => return End::Lost(error),
                        Err(error) if connection.is_closed() => return End::Lost(error.to_string()),
                        // A read that failed (a call timed out): try again at the next tick.
                        Err(_) => {}
                    }
                    // At least as long between reads as a read takes: a big node is read
                    // at most half the time, however short the interval.
                    due = tokio::time::Instant::now() + self.interval.max(started.elapsed());
                }
                down = downs.recv() => {
                    let Some(down) = down else {
                        return End::Lost(connection.closed().await);
                    };
                    self.take_down(&mut watcher, &down);
                    self.send_events(&mut watcher);
                    due = due.min(tokio::time::Instant::now() + NUDGE);
                }
                Some(finished) = done.recv() => {
                    replies.push(finished);
                    due = due.min(tokio::time::Instant::now());
                }
                ask = self.asks.recv() => match ask {
                    None => return End::Closed,
                    Some(Ask::Interval(interval)) => {
                        self.interval = interval.max(MIN_INTERVAL);
                        due = due.min(tokio::time::Instant::now() + self.interval);
                    }
                    Some(Ask::Command(command, reply, progress)) => {
                        watcher.event(EventKind::Command {
                            from: self.info.client_name.clone().into(),
                            command: format::command(&command).into(),
                            target: command.target(),
                        });
                        self.send_events(&mut watcher);
                        let control = control.clone();
                        let done = done_sender.clone();
                        let progress = self.waking(progress);
                        tokio::spawn(async move {
                            let result = control.execute_reporting(command, progress).await;
                            done.send((reply, result)).ok();
                        });
                    }
                },
                error = connection.closed() => return End::Lost(error),
            }
        }
    }

    /// `progress`, also waking the UI at each report (a reporter nobody listens to stays
    /// so).
    fn waking(&self, progress: ProgressReporter) -> ProgressReporter {
        if !progress.is_listened() {
            return progress;
        }
        let waker = self.waker.clone();
        ProgressReporter::new(move |report| {
            progress.report(report);
            if let Some(wake) = waker.lock().as_ref() {
                wake();
            }
        })
    }

    /// Asks what the node runs again; tells the client when it changed.
    async fn refresh_info(&mut self, connection: &Connection) {
        if let Ok(info) = node_info(connection).await
            && (info.title != self.info.title || info.capabilities != self.info.capabilities)
        {
            self.info = info.clone();
            self.info_sender.send_replace(info);
            self.wake();
        }
    }

    async fn read(
        &mut self,
        reader: &mut Reader,
        watcher: &mut Watcher,
        control: &Control,
        connection: &Connection,
        downs: &mut mpsc::UnboundedReceiver<Down>,
    ) -> Result<(), BeamError> {
        let memory = connection.call(
            "erlang",
            "memory",
            vec![erl_dist::term::Atom::from("total").into()],
            Duration::from_secs(5),
        );
        let (reading, memory) = tokio::join!(reader.read(), memory);
        let Reading {
            processes,
            addresses,
        } = reading?;
        if let Ok(total) = memory {
            *self.memory.lock() = terms::integer(&total).map(|bytes| bytes.max(0) as u64);
        }
        let addresses = Arc::new(addresses);
        control.set_addresses(addresses.clone());
        // The exits that arrived during the read, so that the processes it finds gone are
        // removed with their real reasons.
        while let Ok(down) = downs.try_recv() {
            self.take_down(watcher, &down);
        }
        let (update, new) = watcher.take(processes);
        for pid in new {
            if let Some(erl) = addresses.erl_pids.get(&pid) {
                connection.monitor(erl.clone());
            }
        }
        if let Some(update) = update {
            self.updates.send(update).ok();
        }
        self.send_events(watcher);
        self.wake();
        Ok(())
    }

    /// A monitored process's exit, with the node's reason, into the watcher.
    fn take_down(&self, watcher: &mut Watcher, down: &Down) {
        watcher.down(
            terms::pid(&down.pid),
            terms::exit_reason(&down.reason, self.info.syntax),
        );
    }

    fn send_events(&self, watcher: &mut Watcher) {
        let events = watcher.take_events();
        if !events.is_empty() {
            self.updates.send(Update::Events { events, missed: 0 }).ok();
            self.wake();
        }
    }
}
