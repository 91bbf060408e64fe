//! What a script runs against: a node's snapshot stream and a way to carry out commands, for
//! a node in this OS process, one served by another ([`remote`](crate::runtime::remote)), or
//! a BEAM node ([`beam`](crate::beam)). The runner sees only this, so a script does the same
//! on all three.

use std::collections::VecDeque;
use std::time::Duration;

use crate::beam::BeamClient;
use crate::contract::{Capabilities, Command, CommandError, Reply, Update};
use crate::runtime::remote::{Connection, RemoteError, ServerMessage};
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
