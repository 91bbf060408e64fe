//! The client side: [`connect`] to a served node, prove the cookie, then subscribe, send
//! commands and receive [`ServerMessage`]s.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpStream, ToSocketAddrs};

#[cfg(feature = "tls")]
use super::tls::TlsClient;

use otpscope_contract::Command;

use super::RemoteError;
use super::auth::Cookie;
use super::handshake;
use super::protocol::{ClientMessage, HANDSHAKE_FRAME_LIMIT, NodeInfo, Role, ServerMessage};
use super::wire::{self, Stream, Wire};

/// How a client connects.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    cookie: Cookie,
    max_frame: usize,
    timeout: Duration,
    #[cfg(feature = "tls")]
    tls: Option<TlsClient>,
}

impl ConnectOptions {
    /// Proves `cookie`; accepts frames up to 1 GiB (a full snapshot of a few million
    /// processes); gives the connection and the handshake 5 s.
    pub fn new(cookie: Cookie) -> Self {
        Self {
            cookie,
            max_frame: 1 << 30,
            timeout: Duration::from_secs(5),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Speaks TLS to the node, trusting what `tls` trusts.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsClient) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The longest frame accepted from the node, in bytes.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes.max(HANDSHAKE_FRAME_LIMIT);
        self
    }

    /// How long connecting and the handshake may take together.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// An authenticated connection to a served node.
pub struct Connection {
    wire: Wire<Stream>,
    role: Role,
    node: NodeInfo,
    peer: SocketAddr,
    local: SocketAddr,
}

/// Connects to the node served at `address` and proves the cookie.
pub async fn connect(
    address: impl ToSocketAddrs,
    options: &ConnectOptions,
) -> Result<Connection, RemoteError> {
    let timeout_ms = u64::try_from(options.timeout.as_millis()).unwrap_or(u64::MAX);
    let attempt = async {
        let stream = TcpStream::connect(address).await.map_err(RemoteError::Io)?;
        stream.set_nodelay(true).ok();
        let peer = stream.peer_addr().map_err(RemoteError::Io)?;
        let local = stream.local_addr().map_err(RemoteError::Io)?;
        let stream = secure(stream, options, peer).await?;
        let mut wire = wire::framed(stream, HANDSHAKE_FRAME_LIMIT);
        let (role, node) = handshake::connect(&mut wire, &options.cookie).await?;
        wire.codec_mut().set_max_frame_length(options.max_frame);
        Ok(Connection {
            wire,
            role,
            node,
            peer,
            local,
        })
    };
    tokio::time::timeout(options.timeout, attempt)
        .await
        .map_err(|_| RemoteError::HandshakeTimeout(timeout_ms))?
}

/// The stream the handshake runs on: TLS when the options ask for it.
#[cfg_attr(not(feature = "tls"), allow(clippy::unused_async))]
async fn secure(
    stream: TcpStream,
    options: &ConnectOptions,
    peer: SocketAddr,
) -> Result<Stream, RemoteError> {
    #[cfg(feature = "tls")]
    if let Some(tls) = &options.tls {
        let name = tls
            .name
            .clone()
            .unwrap_or_else(|| rustls_pki_types::ServerName::IpAddress(peer.ip().into()));
        let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
        let stream = connector
            .connect(name, stream)
            .await
            .map_err(|error| RemoteError::Tls(error.to_string()))?;
        return Ok(Box::new(stream));
    }
    let _ = (options, peer);
    Ok(Box::new(stream))
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("role", &self.role)
            .field("node", &self.node.name)
            .finish()
    }
}

impl Connection {
    /// What the node may be asked by this client.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What the node said about itself.
    pub fn node(&self) -> &NodeInfo {
        &self.node
    }

    /// The node's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// This end's address, as the node names this client in its event feed
    /// (`remote 127.0.0.1:50312 (control)`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Starts (or restarts, with a full snapshot first) the snapshot stream.
    pub async fn subscribe(&mut self, interval: Duration) -> Result<(), RemoteError> {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.send(&ClientMessage::Subscribe { interval_ms }).await
    }

    /// Sends a command; its reply comes as a [`ServerMessage::Reply`] with `id`.
    pub async fn command(&mut self, id: u64, command: Command) -> Result<(), RemoteError> {
        self.send(&ClientMessage::Command { id, command }).await
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), RemoteError> {
        wire::send(&mut self.wire, message).await
    }

    /// The next message from the node. Cancel-safe: a message half read when the future is
    /// dropped is read whole by the next call.
    pub async fn receive(&mut self) -> Result<ServerMessage, RemoteError> {
        wire::receive(&mut self.wire).await
    }
}
