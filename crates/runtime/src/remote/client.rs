//! The client side: [`connect`] to a served node, prove the cookie, then subscribe, send
//! commands and receive [`ServerMessage`]s.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::task::JoinHandle;

#[cfg(feature = "tls")]
use super::tls::TlsClient;

use otpscope_contract::binary::{self, BinaryError};
use otpscope_contract::{Command, Snapshot, SnapshotHead, SnapshotPart, Update};

use super::RemoteError;
use super::auth::Cookie;
use super::handshake;
use super::protocol::{
    ClientMessage, FrameKind, HANDSHAKE_FRAME_LIMIT, NodeInfo, Role, ServerMessage,
};
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
    /// A full snapshot whose parts are arriving.
    incoming: Option<Incoming>,
}

/// A full snapshot arriving in parts, each decoded on a blocking thread as it comes.
struct Incoming {
    head: SnapshotHead,
    /// Parts being decoded, in the order they came.
    decoding: VecDeque<JoinHandle<Result<SnapshotPart, BinaryError>>>,
    /// Parts decoded, in the order they came.
    decoded: Vec<SnapshotPart>,
}

impl Incoming {
    fn is_complete(&self) -> bool {
        (self.decoding.len() + self.decoded.len()) as u64 >= u64::from(self.head.parts)
    }

    /// Waits for every part's decoding; cancel-safe (a part is taken from `decoding` only
    /// once it is decoded, with no wait between).
    async fn decode(&mut self) -> Result<(), RemoteError> {
        while let Some(handle) = self.decoding.front_mut() {
            let part = handle.await.map_err(|error| {
                RemoteError::Io(std::io::Error::other(format!(
                    "decoding a snapshot's part: {error}"
                )))
            })??;
            self.decoding.pop_front();
            self.decoded.push(part);
        }
        Ok(())
    }
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
            incoming: None,
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
        loop {
            if let Some(incoming) = &mut self.incoming
                && incoming.is_complete()
            {
                let decoded = incoming.decode().await;
                if decoded.is_err() {
                    // A part the node sent was not valid: the snapshot is lost, and so is
                    // the connection's stream.
                    self.incoming = None;
                }
                decoded?;
                if let Some(incoming) = self.incoming.take() {
                    let snapshot = Snapshot::from_parts(incoming.head, incoming.decoded);
                    return Ok(ServerMessage::Update(Update::Full(snapshot)));
                }
            }
            let frame = match self.wire.next().await {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => return Err(RemoteError::from_io(error)),
                None => return Err(RemoteError::Closed),
            };
            // A frame is its kind (a `ServerFrame` variant's index), then the value.
            let (kind, body) = binary::decode_prefix::<FrameKind>(&frame)?;
            let body_at = frame.len() - body.len();
            match (kind, &mut self.incoming) {
                (FrameKind::SnapshotPart, Some(incoming)) => {
                    let body = frame.freeze().slice(body_at..);
                    let handle = tokio::task::spawn_blocking(move || binary::decode(&body));
                    incoming.decoding.push_back(handle);
                }
                (FrameKind::SnapshotPart, None) => {
                    return Err(RemoteError::OutOfOrder(
                        "a snapshot's part without its header",
                    ));
                }
                (_, Some(_)) => {
                    return Err(RemoteError::OutOfOrder(
                        "another frame between a snapshot's parts",
                    ));
                }
                (FrameKind::Message, None) => return Ok(binary::decode(body)?),
                (FrameKind::SnapshotHead, None) => {
                    let head: SnapshotHead = binary::decode(body)?;
                    let expected = head.parts.min(1024) as usize;
                    self.incoming = Some(Incoming {
                        head,
                        decoding: VecDeque::with_capacity(expected),
                        decoded: Vec::with_capacity(expected),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use otpscope_contract::{Pid, ProcessInfo, ProcessKind};

    use super::super::protocol::ServerFrameOut;
    use super::*;

    /// A connection whose node is `node`'s end of an in-memory pipe.
    fn pair() -> (Connection, Wire<tokio::io::DuplexStream>) {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let address: SocketAddr = "127.0.0.1:4370".parse().unwrap();
        let connection = Connection {
            wire: wire::framed(Box::new(ours) as Stream, 1 << 30),
            role: Role::Control,
            node: NodeInfo {
                name: "test".into(),
                title: "test".into(),
                capabilities: otpscope_contract::Capabilities::default(),
            },
            peer: address,
            local: address,
            incoming: None,
        };
        (connection, wire::framed(theirs, 1 << 30))
    }

    fn snapshot(len: u64) -> Snapshot {
        let processes = (1..=len).map(|pid| {
            Arc::new(ProcessInfo {
                parent: (pid > 1).then_some(Pid(1)),
                ..ProcessInfo::new(Pid(pid), ProcessKind::Plain, "worker")
            })
        });
        Snapshot::new("test", 1, 2, 7, processes)
    }

    async fn send(node: &mut Wire<tokio::io::DuplexStream>, frame: &ServerFrameOut<'_>) {
        wire::send(node, frame).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parts_are_joined_into_one_full_update_and_the_stream_goes_on() {
        let (mut client, mut node) = pair();
        let whole = snapshot(10);
        let parts: Vec<_> = whole.parts(4).collect();
        send(&mut node, &ServerFrameOut::SnapshotHead(&whole.head(3))).await;
        for part in parts {
            send(&mut node, &ServerFrameOut::SnapshotPart(part)).await;
        }
        let memory = ServerMessage::Memory { bytes: 5 };
        send(&mut node, &ServerFrameOut::Message(&memory)).await;
        match client.receive().await.unwrap() {
            ServerMessage::Update(Update::Full(read)) => {
                assert_eq!(read, whole);
                assert_eq!(
                    read.root_pids().iter().copied().collect::<Vec<_>>(),
                    [Pid(1)]
                );
            }
            other => panic!("expected the full snapshot, got {other:?}"),
        }
        assert_eq!(client.receive().await.unwrap(), memory);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_part_that_is_not_valid_is_a_malformed_frame_and_no_snapshot() {
        let (mut client, mut node) = pair();
        let whole = snapshot(10);
        send(&mut node, &ServerFrameOut::SnapshotHead(&whole.head(1))).await;
        // The kind of a part, then bytes that are no list of processes.
        let frame = bytes::Bytes::from_static(&[2, 5, 0xff, 0xff, 0xff]);
        futures_util::SinkExt::send(&mut node, frame).await.unwrap();
        let error = client.receive().await.unwrap_err();
        assert!(matches!(error, RemoteError::Malformed(_)), "{error}");
        assert!(client.incoming.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_part_without_its_header_or_a_message_among_parts_is_named() {
        let whole = snapshot(10);
        let (mut client, mut node) = pair();
        let part = whole.parts(4).next().unwrap();
        send(&mut node, &ServerFrameOut::SnapshotPart(part)).await;
        let error = client.receive().await.unwrap_err();
        assert!(
            matches!(error, RemoteError::OutOfOrder(what) if what.contains("without its header")),
            "{error}"
        );

        let (mut client, mut node) = pair();
        send(&mut node, &ServerFrameOut::SnapshotHead(&whole.head(3))).await;
        send(&mut node, &ServerFrameOut::SnapshotPart(part)).await;
        let memory = ServerMessage::Memory { bytes: 5 };
        send(&mut node, &ServerFrameOut::Message(&memory)).await;
        let error = client.receive().await.unwrap_err();
        assert!(
            matches!(error, RemoteError::OutOfOrder(what) if what.contains("between")),
            "{error}"
        );
    }
}
