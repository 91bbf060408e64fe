//! A node served by another OS process (`otpscope serve`, or a service calling
//! [`remote::serve`](crate::runtime::remote::serve)) as a [`Source`] for the Observer.
//!
//! A task on the tokio runtime owns the connection: it subscribes at the Observer's interval,
//! hands updates and replies to the UI thread through channels, and wakes the UI. When the
//! connection is lost it says so ([`Link::Lost`]), answers every command still waiting with
//! [`CommandError::Disconnected`], and connects again with backoff (250 ms doubling to 5 s);
//! the node then sends a full snapshot, which the Observer takes as a fresh start when the
//! node itself was started again.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::contract::{Capabilities, Command, CommandError, Progress, Reply, Update};
use crate::gui::{Link, RequestId, Source};
use crate::runtime::remote::{
    ConnectOptions, Connection, NodeInfo, RemoteError, ServerMessage, connect,
};

type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// The longest wait between two attempts to reach a lost node.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the connection's task tells the UI thread, besides updates.
enum Note {
    Reply(RequestId, Result<Reply, CommandError>),
    Progress(RequestId, Progress),
    Memory(u64),
    Connected(NodeInfo),
    Lost(String, u32),
}

/// What the UI thread asks of the connection's task.
enum Ask {
    Command(RequestId, Command),
    Interval(Duration),
}

/// A node in another OS process, reached over TCP.
pub struct RemoteSource {
    /// What the title bar says.
    title: String,
    /// What the node offers this client (updated when it reconnects).
    capabilities: Capabilities,
    updates: std_mpsc::Receiver<Update>,
    notes: std_mpsc::Receiver<Note>,
    asks: mpsc::UnboundedSender<Ask>,
    replies: VecDeque<(RequestId, Result<Reply, CommandError>)>,
    /// Reports of how far running commands have got, not yet taken.
    reports: VecDeque<(RequestId, Progress)>,
    memory: Option<u64>,
    link: Link,
    interval: Duration,
    next_id: RequestId,
    waker: Waker,
}

impl RemoteSource {
    /// Watches the node `connection` reached (its address is where it is reached again when
    /// lost), on `runtime`.
    pub fn new(
        connection: Connection,
        address: String,
        options: ConnectOptions,
        interval: Duration,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let waker: Waker = Arc::new(Mutex::new(None));
        let (update_sender, updates) = std_mpsc::channel();
        let (note_sender, notes) = std_mpsc::channel();
        let (asks, ask_receiver) = mpsc::unbounded_channel();
        let info = connection.node().clone();
        let title = format!("{} at {address}", info.title);
        let task = Task {
            address,
            options,
            interval,
            updates: update_sender,
            notes: note_sender,
            asks: ask_receiver,
            waker: waker.clone(),
            waiting: HashSet::new(),
        };
        runtime.spawn(task.run(connection));
        Self {
            title,
            capabilities: info.capabilities,
            updates,
            notes,
            asks,
            replies: VecDeque::new(),
            reports: VecDeque::new(),
            memory: None,
            link: Link::Live,
            interval,
            next_id: 1,
            waker,
        }
    }

    /// Takes what the task said besides updates.
    fn take_notes(&mut self) {
        while let Ok(note) = self.notes.try_recv() {
            match note {
                Note::Reply(id, reply) => self.replies.push_back((id, reply)),
                Note::Progress(id, progress) => self.reports.push_back((id, progress)),
                Note::Memory(bytes) => self.memory = Some(bytes),
                Note::Connected(info) => {
                    self.capabilities = info.capabilities;
                    self.link = Link::Live;
                }
                Note::Lost(error, attempts) => self.link = Link::Lost { error, attempts },
            }
        }
    }
}

impl Source for RemoteSource {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn try_recv(&mut self) -> Option<Update> {
        self.take_notes();
        self.updates.try_recv().ok()
    }

    fn send(&mut self, command: Command) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        if self.asks.send(Ask::Command(id, command)).is_err() {
            let error = CommandError::Disconnected("the connection's task ended".to_owned());
            self.replies.push_back((id, Err(error)));
        }
        id
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        self.take_notes();
        self.replies.pop_front()
    }

    fn try_progress(&mut self) -> Option<(RequestId, Progress)> {
        self.take_notes();
        self.reports.pop_front()
    }

    fn set_interval(&mut self, interval: Duration) {
        if interval != self.interval {
            self.interval = interval;
            self.asks.send(Ask::Interval(interval)).ok();
        }
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(waker);
    }

    fn memory_bytes(&self) -> Option<u64> {
        self.memory
    }

    fn link(&self) -> Link {
        self.link.clone()
    }
}

/// The task that owns the connection.
struct Task {
    address: String,
    options: ConnectOptions,
    interval: Duration,
    updates: std_mpsc::Sender<Update>,
    notes: std_mpsc::Sender<Note>,
    asks: mpsc::UnboundedReceiver<Ask>,
    waker: Waker,
    /// Commands sent and not yet answered.
    waiting: HashSet<RequestId>,
}

impl Task {
    async fn run(mut self, first: Connection) {
        let mut connection = Some(first);
        let mut attempts = 0;
        loop {
            let live = match connection.take() {
                Some(live) => live,
                None => match connect(self.address.as_str(), &self.options).await {
                    Ok(live) => {
                        attempts = 0;
                        self.note(Note::Connected(live.node().clone()));
                        live
                    }
                    Err(error) => {
                        attempts += 1;
                        self.note(Note::Lost(error.to_string(), attempts));
                        if !self.wait_before_retry(attempts).await {
                            return;
                        }
                        continue;
                    }
                },
            };
            match self.serve(live).await {
                // The Observer went away.
                Ok(()) => return,
                Err(error) => {
                    self.lost(&error.to_string());
                    self.note(Note::Lost(error.to_string(), 0));
                }
            }
        }
    }

    /// Carries updates and commands until the connection fails (`Err`) or the Observer's
    /// side is dropped (`Ok`).
    async fn serve(&mut self, mut live: Connection) -> Result<(), RemoteError> {
        live.subscribe(self.interval).await?;
        loop {
            tokio::select! {
                message = live.receive() => match message? {
                    ServerMessage::Update(update) => {
                        if self.updates.send(update).is_err() {
                            return Ok(());
                        }
                        self.wake();
                    }
                    ServerMessage::Reply { id, result } => {
                        self.waiting.remove(&id);
                        self.note(Note::Reply(id, result));
                    }
                    ServerMessage::Memory { bytes } => self.note(Note::Memory(bytes)),
                    // Only for a command still waiting: none after its reply, nor after the
                    // connection that carried it was lost.
                    ServerMessage::Progress { id, progress } => {
                        if self.waiting.contains(&id) {
                            self.note(Note::Progress(id, progress));
                        }
                    }
                },
                ask = self.asks.recv() => match ask {
                    None => return Ok(()),
                    Some(Ask::Command(id, command)) => {
                        self.waiting.insert(id);
                        live.command(id, command).await?;
                    }
                    Some(Ask::Interval(interval)) => {
                        self.interval = interval;
                        live.subscribe(interval).await?;
                    }
                },
            }
        }
    }

    /// Answers every command still waiting: the node may or may not have run it.
    fn lost(&mut self, error: &str) {
        for id in std::mem::take(&mut self.waiting) {
            let error = CommandError::Disconnected(error.to_owned());
            self.notes.send(Note::Reply(id, Err(error))).ok();
        }
    }

    /// Waits before the next attempt, refusing the commands that arrive meanwhile; false
    /// when the Observer went away.
    async fn wait_before_retry(&mut self, attempts: u32) -> bool {
        let backoff = Duration::from_millis(250)
            .saturating_mul(1 << attempts.min(5).saturating_sub(1))
            .min(MAX_BACKOFF);
        let until = tokio::time::Instant::now() + backoff;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return true,
                ask = self.asks.recv() => match ask {
                    None => return false,
                    Some(Ask::Command(id, _)) => {
                        let error = CommandError::Disconnected("reconnecting".to_owned());
                        self.note(Note::Reply(id, Err(error)));
                    }
                    Some(Ask::Interval(interval)) => self.interval = interval,
                },
            }
        }
    }

    fn note(&self, note: Note) {
        self.notes.send(note).ok();
        self.wake();
    }

    fn wake(&self) {
        if let Some(wake) = self.waker.lock().as_ref() {
            wake();
        }
    }
}
