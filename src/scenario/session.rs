//! What a script runs against: a node's snapshot stream and a way to carry out commands, for
//! a node in this OS process, one served by another ([`remote`](crate::runtime::remote)), or
//! a BEAM node ([`beam`](crate::beam)). The runner sees only this, so a script does the same
//! on all three.
//!
//! A [`SessionOpener`] opens a fresh [`Session`] on one node each time it is asked (a new
//! subscription, a new authenticated connection, a new BEAM client), for whatever drives the
//! node more than once, such as the Observer's Chaos panel, which opens one for each run.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::beam::{self, BeamClient, BeamError};
use crate::contract::{Capabilities, Command, CommandError, Reply, Update};
use crate::runtime::remote::{self, ConnectOptions, Connection, RemoteError, ServerMessage};
use crate::snapshot::{AlreadyObserved, Control, ObserveOptions, Subscription, observe_with};

/// How often a script's stream sends deltas and events.
pub const SCRIPT_INTERVAL: Duration = Duration::from_millis(5);

/// A node a script drives.
pub enum Session {
    /// A node in this OS process.
    Local {
        /// Carries out commands.
        control: Control,
        /// The node's stream.
        subscription: Subscription,
    },
    /// A node served by another OS process.
    Remote {
        /// The connection, subscribed (boxed: it holds the socket's buffers).
        connection: Box<Connection>,
        /// Updates that arrived while a command's reply was awaited.
        buffered: VecDeque<Update>,
        /// The next command id.
        next_id: u64,
        /// Set once the connection failed: every later call fails with it.
        failed: Option<String>,
    },
    /// A BEAM node (boxed: the client holds its channels).
    Beam(Box<BeamClient>),
}

impl Session {
    /// Drives the node `control` acts on.
    pub fn local(control: Control) -> Result<Self, AlreadyObserved> {
        let subscription = observe_with(
            control.node(),
            ObserveOptions::new(SCRIPT_INTERVAL).queue_capacity(1024),
        )?;
        Ok(Self::Local {
            control,
            subscription,
        })
    }

    /// Drives the node `connection` reached.
    pub async fn remote(mut connection: Connection) -> Result<Self, RemoteError> {
        connection.subscribe(SCRIPT_INTERVAL).await?;
        Ok(Self::Remote {
            connection: Box::new(connection),
            buffered: VecDeque::new(),
            next_id: 1,
            failed: None,
        })
    }

    /// What the node offers.
    pub fn capabilities(&self) -> Capabilities {
        match self {
            Self::Local { control, .. } => control.capabilities(),
            Self::Remote { connection, .. } => connection.node().capabilities.clone(),
            Self::Beam(client) => client.info().capabilities.clone(),
        }
    }

    /// The next update; `None` once the stream ended (the node or the connection is gone).
    pub async fn recv(&mut self) -> Option<Update> {
        match self {
            Self::Local { subscription, .. } => subscription.recv().await,
            Self::Beam(client) => client.recv().await,
            Self::Remote {
                connection,
                buffered,
                failed,
                ..
            } => {
                if let Some(update) = buffered.pop_front() {
                    return Some(update);
                }
                if failed.is_some() {
                    return None;
                }
                loop {
                    match connection.receive().await {
                        Ok(ServerMessage::Update(update)) => return Some(update),
                        Ok(_) => continue,
                        Err(error) => {
                            *failed = Some(error.to_string());
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// Carries out `command` and waits for its reply.
    pub async fn execute(&mut self, command: Command) -> Result<Reply, CommandError> {
        match self {
            Self::Local { control, .. } => control.execute(command).await,
            Self::Beam(client) => client.execute(command).await,
            Self::Remote {
                connection,
                buffered,
                next_id,
                failed,
            } => {
                if let Some(error) = failed {
                    return Err(CommandError::Disconnected(error.clone()));
                }
                let id = *next_id;
                *next_id += 1;
                let lost = |error: RemoteError| CommandError::Disconnected(error.to_string());
                if let Err(error) = connection.command(id, command).await {
                    *failed = Some(error.to_string());
                    return Err(lost(error));
                }
                loop {
                    match connection.receive().await {
                        Ok(ServerMessage::Reply {
                            id: answered,
                            result,
                        }) if answered == id => {
                            return result;
                        }
                        Ok(ServerMessage::Update(update)) => buffered.push_back(update),
                        Ok(_) => {}
                        Err(error) => {
                            *failed = Some(error.to_string());
                            return Err(lost(error));
                        }
                    }
                }
            }
        }
    }

    /// How the node's event feed names this session's own commands, when it names them (a
    /// served node does: `remote 127.0.0.1:50312 (control)`).
    pub fn own_commands(&self) -> Option<String> {
        match self {
            Self::Local { .. } => None,
            Self::Remote { connection, .. } => {
                Some(format!("remote {} (", connection.local_addr()))
            }
            Self::Beam(client) => Some(client.info().client_name.clone()),
        }
    }

    /// Why the connection failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Self::Local { .. } | Self::Beam(_) => None,
            Self::Remote { failed, .. } => failed.as_deref(),
        }
    }
}

// === impl SessionOpener ===

/// A session being opened.
pub type Opening = Pin<Box<dyn Future<Output = Result<Session, OpenError>> + Send>>;

/// Why a [`SessionOpener`] could not open a session; the cause is its
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The node in this OS process could not be observed.
    #[error("cannot observe the node")]
    Local(#[source] AlreadyObserved),
    /// The served node could not be reached, or refused the cookie.
    #[error("cannot attach to {address}")]
    Connect {
        /// Where the node was looked for.
        address: String,
        /// Why.
        #[source]
        source: RemoteError,
    },
    /// The served node took the connection but not the subscription.
    #[error("cannot subscribe to {address}")]
    Subscribe {
        /// Where the node is.
        address: String,
        /// Why.
        #[source]
        source: RemoteError,
    },
    /// The BEAM node could not be reached, or refused the cookie.
    #[error("cannot attach to {node}")]
    Beam {
        /// The node, `name@host`.
        node: String,
        /// Why.
        #[source]
        source: BeamError,
    },
}

/// Opens a fresh [`Session`] on one node each time it is asked, and says where to run what
/// drives it; see the module docs. Cheap to clone.
#[derive(Clone)]
pub struct SessionOpener {
    /// The runtime the sessions are opened and driven on.
    handle: tokio::runtime::Handle,
    /// What the node is called, to say which node a panel acts on.
    node: String,
    /// Opens one session.
    open: Arc<dyn Fn() -> Opening + Send + Sync>,
}

impl std::fmt::Debug for SessionOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOpener")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl SessionOpener {
    /// Opens sessions with `open` on `handle`; `node` names the node.
    pub fn new(
        handle: tokio::runtime::Handle,
        node: impl Into<String>,
        open: impl Fn() -> Opening + Send + Sync + 'static,
    ) -> Self {
        Self {
            handle,
            node: node.into(),
            open: Arc::new(open),
        }
    }

    /// Sessions on the node in this OS process that `control` acts on, run on its runtime.
    pub fn local(control: Control) -> Self {
        let handle = control.node().handle().clone();
        let node = control.node().name().to_owned();
        Self::new(handle, node, move || {
            let control = control.clone();
            Box::pin(async move { Session::local(control).map_err(OpenError::Local) })
        })
    }

    /// Sessions on the node served at `address`, each over a new connection proving the
    /// cookie in `options` (as `otpscope run --attach` does), run on `handle`.
    pub fn remote(
        address: impl Into<String>,
        options: ConnectOptions,
        handle: tokio::runtime::Handle,
    ) -> Self {
        let address = address.into();
        Self::new(handle, address.clone(), move || {
            let address = address.clone();
            let options = options.clone();
            Box::pin(async move {
                let connection = match remote::connect(address.as_str(), &options).await {
                    Ok(connection) => connection,
                    Err(source) => return Err(OpenError::Connect { address, source }),
                };
                Session::remote(connection)
                    .await
                    .map_err(|source| OpenError::Subscribe { address, source })
            })
        })
    }

    /// Sessions on the BEAM node `options` names, each with a new client reading it every
    /// `interval` (as `otpscope run --beam` does, at [`SCRIPT_INTERVAL`]), run on `handle`.
    pub fn beam(
        options: beam::ConnectOptions,
        interval: Duration,
        handle: tokio::runtime::Handle,
    ) -> Self {
        let node = options.node.clone();
        Self::new(handle, node, move || {
            let options = options.clone();
            Box::pin(async move {
                let node = options.node.clone();
                BeamClient::connect(options, interval)
                    .await
                    .map(|client| Session::Beam(Box::new(client)))
                    .map_err(|source| OpenError::Beam { node, source })
            })
        })
    }

    /// A new session on the node (to be awaited on [`handle`](Self::handle)'s runtime).
    pub fn open(&self) -> Opening {
        (self.open)()
    }

    /// The runtime the sessions run on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// What the node is called: its name, its address, or `name@host`.
    pub fn node(&self) -> &str {
        &self.node
    }
}
