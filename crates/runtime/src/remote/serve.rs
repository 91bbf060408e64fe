//! The service side: [`serve`] listens for clients and gives each its own snapshot stream and
//! command channel.
//!
//! Bounds: a handshake must finish within [`ServeOptions::handshake_timeout`], a client's
//! frames are at most [`ServeOptions::max_frame`] bytes, at most
//! [`ServeOptions::max_clients`] are served at once (the next is told so and closed), and a
//! client has at most [`MAX_IN_FLIGHT`] commands running (the server reads no more of its
//! frames until one ends). The node never waits on a client: each client's updates queue in
//! its own bounded subscription ([`ServeOptions::queue_capacity`]); a client that reads too
//! slowly falls behind there and gets a full snapshot when it catches up (see
//! [`observe`](crate::observe::stream)), and one whose socket takes no frame for
//! [`ServeOptions::write_timeout`] is disconnected.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use otpscope_contract::{Command, CommandError, Progress, Reply, format};

use super::auth::Cookie;
use super::handshake::{self, Keys};
use super::protocol::{
    ClientMessage, DEFAULT_PORT, HANDSHAKE_FRAME_LIMIT, NodeInfo, Role, SNAPSHOT_PART,
    ServerFrameOut, ServerMessage,
};
#[cfg(feature = "tls")]
use super::tls::TlsServer;
use super::wire::{self, Stream, Wire};
use super::{CookieError, RemoteError};
use crate::observe::{Control, ObserveOptions, ProgressReporter, Subscription, observe_with};
use crate::{EventKind, Node};

/// The environment variable [`serve`] reads the address to listen on from, when the options
/// give none: a port (`4370`, on 127.0.0.1) or an address (`0.0.0.0:4370`).
pub const LISTEN_ENV: &str = "OTPSCOPE_LISTEN";

/// The most commands one client may have running at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// How a node is served. `ServeOptions::default()` listens on `127.0.0.1:4370` (or
/// [`LISTEN_ENV`]) with the cookie from [`COOKIE_ENV`](super::COOKIE_ENV) or
/// `~/.otpscope/cookie` (created if absent), clients in control.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    listen: Option<SocketAddr>,
    cookie: Option<Cookie>,
    cookie_file: Option<PathBuf>,
    read_only_cookie: Option<Cookie>,
    read_only: bool,
    control: Option<ControlSlot>,
    title: Option<String>,
    max_clients: usize,
    max_frame: usize,
    handshake_timeout: Duration,
    queue_capacity: usize,
    write_timeout: Duration,
    #[cfg(feature = "tls")]
    tls: Option<TlsServer>,
}

/// A [`Control`] in the options (which is not `Debug`).
#[derive(Clone)]
struct ControlSlot(Control);

impl std::fmt::Debug for ControlSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("capabilities", &self.0.capabilities())
            .finish()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: None,
            cookie: None,
            cookie_file: None,
            read_only_cookie: None,
            read_only: false,
            control: None,
            title: None,
            max_clients: 16,
            max_frame: 1 << 20,
            handshake_timeout: Duration::from_secs(5),
            queue_capacity: 64,
            write_timeout: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServeOptions {
    /// Listens on `address` (port 0: any free port; [`Served::local_addr`] says which).
    pub fn listen(mut self, address: SocketAddr) -> Self {
        self.listen = Some(address);
        self
    }

    /// The control cookie.
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.cookie = Some(cookie);
        self
    }

    /// Reads the control cookie from `path`, creating it (mode 0600) if absent.
    pub fn cookie_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cookie_file = Some(path.into());
        self
    }

    /// A second cookie that gives read-only access: its holders watch, and every command
    /// they send is refused.
    pub fn read_only_cookie(mut self, cookie: Cookie) -> Self {
        self.read_only_cookie = Some(cookie);
        self
    }

    /// Serves every client read-only, whichever cookie it proves.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Carries out commands with `control` (its apps and restart), instead of a bare
    /// [`Control::new`] on the node.
    pub fn control(mut self, control: Control) -> Self {
        self.control = Some(ControlSlot(control));
        self
    }

    /// What clients show as the title (`KV app (final) on node otpscope`); by default
    /// `node NAME`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The most clients served at once (at least 1).
    pub fn max_clients(mut self, max: usize) -> Self {
        self.max_clients = max.max(1);
        self
    }

    /// The longest frame a client may send, in bytes (at least the handshake's 4 KiB).
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes.max(HANDSHAKE_FRAME_LIMIT);
        self
    }

    /// How long a client has to finish the handshake.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How many updates may wait for a client before it falls behind (at least 2).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(2);
        self
    }

    /// How long a frame may take to be written before its client is dropped.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Speaks TLS only, with this certificate and key; plain clients are refused.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsServer) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Why a node could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be listened on.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// [`LISTEN_ENV`] holds no address.
    #[error("{LISTEN_ENV}={0:?} is neither a port nor an address such as 127.0.0.1:4370")]
    BadListen(String),
    /// The cookie could not be had.
    #[error(transparent)]
    Cookie(#[from] CookieError),
}

/// A node being served. Serving goes on when this is dropped, as long as the node's runtime
/// runs; [`Served::stop`] ends it.
#[derive(Debug)]
pub struct Served {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    stats: Arc<Stats>,
}

/// What a server counts.
#[derive(Debug, Default)]
struct Stats {
    /// Clients connected now (handshaking or served).
    connected: AtomicUsize,
    /// Clients served now (past the handshake).
    served: AtomicUsize,
    /// Connections refused or dropped in the handshake (wrong cookie, version, garbage).
    refused: AtomicU64,
}

impl Served {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// How many clients are served now (past the handshake).
    pub fn clients(&self) -> usize {
        self.stats.served.load(Ordering::Relaxed)
    }

    /// How many connections were refused or failed their handshake so far.
    pub fn refused(&self) -> u64 {
        self.stats.refused.load(Ordering::Relaxed)
    }

    /// Stops listening and closes every client's connection.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// What every client's task shares.
struct Shared {
    node: Node,
    control: Control,
    keys: Keys,
    title: String,
    read_only: bool,
    max_clients: usize,
    max_frame: usize,
    handshake_timeout: Duration,
    queue_capacity: usize,
    write_timeout: Duration,
    stats: Arc<Stats>,
    stop: watch::Receiver<bool>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Serves `node` to clients on TCP, as `options` say; returns once it listens.
pub fn serve(node: &Node, options: ServeOptions) -> Result<Served, ServeError> {
    let address = match options.listen {
        Some(address) => address,
        None => listen_from_env()?,
    };
    let cookie = match (&options.cookie, &options.cookie_file) {
        (Some(cookie), _) => cookie.clone(),
        (None, Some(path)) => Cookie::read_or_create(path)?,
        (None, None) => Cookie::from_env_or_default()?,
    };
    let listener = std::net::TcpListener::bind(address)
        .and_then(|listener| {
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
        .map_err(|source| ServeError::Bind { address, source })?;
    let address = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { address, source })?;
    let listener = {
        let _runtime = node.handle().enter();
        TcpListener::from_std(listener).map_err(|source| ServeError::Bind { address, source })?
    };
    let (stop, stop_receiver) = watch::channel(false);
    let stats = Arc::new(Stats::default());
    let read_only = options.read_only;
    let shared = Arc::new(Shared {
        node: node.clone(),
        control: options
            .control
            .map_or_else(|| Control::new(node), |slot| slot.0),
        keys: Keys {
            control: (!read_only).then(|| cookie.clone()),
            read_only: if read_only {
                Some(options.read_only_cookie.unwrap_or(cookie))
            } else {
                options.read_only_cookie
            },
        },
        title: options
            .title
            .unwrap_or_else(|| format!("node {}", node.name())),
        read_only,
        max_clients: options.max_clients,
        max_frame: options.max_frame,
        handshake_timeout: options.handshake_timeout,
        queue_capacity: options.queue_capacity,
        write_timeout: options.write_timeout,
        stats: stats.clone(),
        stop: stop_receiver,
        #[cfg(feature = "tls")]
        tls: options
            .tls
            .map(|tls| tokio_rustls::TlsAcceptor::from(tls.0)),
    });
    node.handle().spawn(accept_loop(listener, shared));
    Ok(Served {
        address,
        stop,
        stats,
    })
}

fn listen_from_env() -> Result<SocketAddr, ServeError> {
    let loopback = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match std::env::var(LISTEN_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            let text = text.trim();
            text.parse::<u16>()
                .map(loopback)
                .or_else(|_| text.parse::<SocketAddr>())
                .map_err(|_| ServeError::BadListen(text.to_owned()))
        }
        _ => Ok(loopback(DEFAULT_PORT)),
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut stop = shared.stop.clone();
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            // Out of descriptors and the like: let the moment pass rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        stream.set_nodelay(true).ok();
        let connected = shared.stats.connected.fetch_add(1, Ordering::Relaxed) + 1;
        let busy = (connected > shared.max_clients).then(|| {
            format!(
                "too many clients (this node serves at most {})",
                shared.max_clients
            )
        });
        let shared = shared.clone();
        tokio::spawn(async move {
            match secure(&shared, stream).await {
                Some(stream) => client(&shared, stream, peer, busy).await,
                None => {
                    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            shared.stats.connected.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// The stream a client's handshake runs on: a TLS session when the node speaks TLS (`None`
/// if the client did not set one up in time).
#[cfg_attr(not(feature = "tls"), allow(clippy::unused_async))]
async fn secure(shared: &Shared, stream: tokio::net::TcpStream) -> Option<Stream> {
    #[cfg(feature = "tls")]
    if let Some(acceptor) = &shared.tls {
        let accept = acceptor.accept(stream);
        return match tokio::time::timeout(shared.handshake_timeout, accept).await {
            Ok(Ok(stream)) => Some(Box::new(stream)),
            _ => None,
        };
    }
    let _ = shared;
    Some(Box::new(stream))
}

/// One client, from its handshake to its end.
async fn client<S>(shared: &Shared, stream: S, peer: SocketAddr, busy: Option<String>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut wire = wire::framed(stream, HANDSHAKE_FRAME_LIMIT);
    let node_info = |role: Role| NodeInfo {
        name: shared.node.name().to_owned(),
        title: shared.title.clone(),
        capabilities: match role {
            Role::Control => shared.control.capabilities(),
            Role::ReadOnly => shared.control.capabilities().without_control(),
        },
    };
    let handshake = handshake::accept(&mut wire, &shared.keys, node_info, busy);
    let role = match tokio::time::timeout(shared.handshake_timeout, handshake).await {
        Ok(Ok(role)) if !shared.read_only || role == Role::ReadOnly => role,
        _ => {
            shared.stats.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    wire.codec_mut().set_max_frame_length(shared.max_frame);
    shared.stats.served.fetch_add(1, Ordering::Relaxed);
    Session {
        shared,
        wire,
        from: format!("remote {peer} ({role})").into(),
        role,
        subscription: None,
        in_flight: 0,
    }
    .run()
    .await
    .ok();
    shared.stats.served.fetch_sub(1, Ordering::Relaxed);
}

/// An authenticated client's session.
struct Session<'a, S> {
    shared: &'a Shared,
    wire: Wire<S>,
    /// Who the client is, for the node's event feed.
    from: Arc<str>,
    role: Role,
    subscription: Option<Subscription>,
    in_flight: usize,
}

/// What a command's task tells its session: how far it has got, then its outcome, in that
/// order on one queue (so no report follows the reply).
enum Told {
    Progress(u64, Progress),
    Reply(u64, Result<Reply, CommandError>),
}

/// What woke a session.
enum Woken {
    Stop,
    Told(Told),
    Update(Option<otpscope_contract::Update>),
    Memory,
    Frame(Option<Result<bytes::BytesMut, std::io::Error>>),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    async fn run(mut self) -> Result<(), RemoteError> {
        let (reply_sender, mut replies) = mpsc::channel(MAX_IN_FLIGHT);
        let mut stop = self.shared.stop.clone();
        let mut memory = tokio::time::interval(Duration::from_secs(1));
        memory.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reports_memory = self.shared.control.capabilities().memory;
        loop {
            let can_read = self.in_flight < MAX_IN_FLIGHT;
            let woken = tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => Woken::Stop,
                Some(told) = replies.recv() => Woken::Told(told),
                update = next_update(&mut self.subscription) => Woken::Update(update),
                _ = memory.tick(), if reports_memory => Woken::Memory,
                frame = self.wire.next(), if can_read => Woken::Frame(frame),
            };
            match woken {
                Woken::Stop => return Ok(()),
                Woken::Told(Told::Reply(id, result)) => {
                    self.in_flight -= 1;
                    self.write(&ServerMessage::Reply { id, result }).await?;
                }
                Woken::Told(Told::Progress(id, progress)) => {
                    self.write(&ServerMessage::Progress { id, progress })
                        .await?;
                }
                // The node is gone: nothing more to serve.
                Woken::Update(None) => return Ok(()),
                Woken::Update(Some(update)) => self.write_update(update).await?,
                Woken::Memory => {
                    if let Some(bytes) = resident_bytes() {
                        self.write(&ServerMessage::Memory { bytes }).await?;
                    }
                }
                Woken::Frame(None) => return Ok(()),
                Woken::Frame(Some(Err(error))) => return Err(RemoteError::from_io(error)),
                Woken::Frame(Some(Ok(frame))) => {
                    let message: ClientMessage = otpscope_contract::binary::decode(&frame)?;
                    self.take(message, &reply_sender).await?;
                }
            }
        }
    }

    async fn take(
        &mut self,
        message: ClientMessage,
        replies: &mpsc::Sender<Told>,
    ) -> Result<(), RemoteError> {
        match message {
            ClientMessage::Subscribe { interval_ms } => {
                // The new stream starts before the old one ends, so the node's hub (and its
                // model) lives on: the new full snapshot is a copy of the model, not a
                // read of every process again.
                // Its ticks on the observers' own thread, not queued behind the node's work
                // (`remote/delta_1pct_of_100k_change_to_model`: 2.35-2.46 -> 1.92-1.99 ms).
                let options = ObserveOptions::new(Duration::from_millis(interval_ms.max(1)))
                    .queue_capacity(self.shared.queue_capacity)
                    .on_own_thread();
                // Refused only while a collector built directly holds the node's change
                // marks: then this client gets no stream, and is told by the end of it.
                match observe_with(&self.shared.node, options) {
                    Ok(subscription) => self.subscription = Some(subscription),
                    Err(_) => return Err(RemoteError::Closed),
                }
                Ok(())
            }
            ClientMessage::Command { id, command } => {
                if self.role == Role::ReadOnly {
                    let result = Err(CommandError::ReadOnly);
                    return self.write(&ServerMessage::Reply { id, result }).await;
                }
                self.record(&command);
                self.in_flight += 1;
                let control = self.shared.control.clone();
                let replies = replies.clone();
                // A report that finds the queue full is dropped (the next one says more); the
                // reply waits for room.
                let reports = replies.clone();
                let progress = ProgressReporter::new(move |progress| {
                    reports.try_send(Told::Progress(id, progress)).ok();
                });
                tokio::spawn(async move {
                    let result = control.execute_reporting(command, progress).await;
                    replies.send(Told::Reply(id, result)).await.ok();
                });
                Ok(())
            }
        }
    }

    /// Puts the command in the node's event feed, with who sent it, before it runs.
    fn record(&self, command: &Command) {
        let node = &self.shared.node;
        node.shared.event(EventKind::Command {
            from: self.from.clone(),
            command: format::command(command).into(),
            target: command.target().map(|pid| node.pid(pid.serial())),
        });
    }

    async fn write(&mut self, message: &ServerMessage) -> Result<(), RemoteError> {
        self.write_frame(&ServerFrameOut::Message(message)).await
    }

    /// Writes an update; a full snapshot of more than [`SNAPSHOT_PART`] processes goes as its
    /// header then its parts, each encoded only when the one before is written, so the
    /// client decodes one part while the next is encoded.
    async fn write_update(&mut self, update: otpscope_contract::Update) -> Result<(), RemoteError> {
        let otpscope_contract::Update::Full(snapshot) = &update else {
            return self.write(&ServerMessage::Update(update)).await;
        };
        if snapshot.len() <= SNAPSHOT_PART {
            return self.write(&ServerMessage::Update(update)).await;
        }
        let parts = snapshot.parts(SNAPSHOT_PART);
        let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        self.write_frame(&ServerFrameOut::SnapshotHead(&snapshot.head(count)))
            .await?;
        for part in parts {
            self.write_frame(&ServerFrameOut::SnapshotPart(part))
                .await?;
        }
        Ok(())
    }

    async fn write_frame(&mut self, frame: &ServerFrameOut<'_>) -> Result<(), RemoteError> {
        let send = wire::send(&mut self.wire, frame);
        match tokio::time::timeout(self.shared.write_timeout, send).await {
            Ok(outcome) => outcome,
            Err(_) => Err(RemoteError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client took no data for too long",
            ))),
        }
    }
}

/// The subscription's next update, or never when there is none yet.
async fn next_update(subscription: &mut Option<Subscription>) -> Option<otpscope_contract::Update> {
    match subscription {
        Some(subscription) => subscription.recv().await,
        None => std::future::pending().await,
    }
}

/// This OS process's resident memory, where the OS tells it.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * 4096)
}
