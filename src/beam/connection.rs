//! A hidden-node connection to a BEAM node over Erlang distribution.
//!
//! [`erl_dist`] speaks the protocol (EPMD, the handshake with the cookie, the control
//! messages and the external term format); this module owns the socket. It is a tokio
//! `TcpStream` with `TCP_NODELAY` set (left on, Nagle holds each small request back until
//! the node's delayed ack: 45.9 ms for one call of the stock `erl_rpc` client here, 29 µs on
//! this socket; see the README), wrapped in tokio-util's compat layer for the handshake, then framed as the
//! distribution frames them (a 4-byte length, then `112` and the control message; an empty
//! frame is a tick).
//!
//! One task owns the connection. It sends what the [`Connection`] handles ask, sends a tick
//! every 15 s, answers the node's ticks, and routes what comes back:
//! - a remote call is a `spawn_request` of `erpc:execute_call/4` with a monitor (what
//!   `erpc:call` does), so its result arrives as the spawned process's `DOWN`;
//! - a process monitor's `DOWN` carries the real exit reason and goes to the watcher;
//! - an io request from a called function (it printed) is answered `ok`, so nothing waits.
//!
//! When the connection fails, every call still waiting fails with
//! [`BeamError::Disconnected`] and [`Connection::closed`] resolves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use erl_dist::DistributionFlags;
use erl_dist::epmd::EpmdClient;
use erl_dist::handshake::{ClientSideHandshake, HandshakeStatus};
use erl_dist::message::Message;
use erl_dist::node::{Creation, LocalNode, NodeName};
use erl_dist::term::{
    Atom, FixInteger, List, Mfa, Pid as ErlPid, PidOrAtom, Reference, Term, Tuple,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::BeamError;

/// The distribution frame's tag for a control message (with a payload or not).
const PASS_THROUGH: u8 = 112;
/// How often a tick is sent: the node drops a peer silent for `net_ticktime` (60 s).
const TICK: Duration = Duration::from_secs(15);
/// The largest frame taken from the node (a full read of a big node is one reply).
const MAX_FRAME: usize = 512 * 1024 * 1024;
/// Frames this big or bigger are decoded off the connection's task.
const DECODE_APART: usize = 64 * 1024;
/// How long connecting (EPMD, TCP, handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the node is and how to prove the cookie.
#[derive(Clone)]
pub struct ConnectOptions {
    /// The node, `name@host`.
    pub node: String,
    /// The shared secret. Never printed: [`ConnectOptions`]'s `Debug` hides it.
    pub cookie: String,
    /// EPMD's port on the node's host (`ERL_EPMD_PORT`, else 4369, as `erl` does).
    pub epmd_port: u16,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("node", &self.node)
            .field("cookie", &"(hidden)")
            .field("epmd_port", &self.epmd_port)
            .finish()
    }
}

impl ConnectOptions {
    /// Options for `node` with `cookie`, EPMD's port from `ERL_EPMD_PORT` or 4369.
    pub fn new(node: impl Into<String>, cookie: impl Into<String>) -> Self {
        let epmd_port = std::env::var("ERL_EPMD_PORT")
            .ok()
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or(erl_dist::epmd::DEFAULT_EPMD_PORT);
        Self {
            node: node.into(),
            cookie: cookie.into(),
            epmd_port,
        }
    }
}

/// A `DOWN` of a process this connection monitors: its pid and the real exit reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Down {
    /// The process that exited.
    pub pid: ErlPid,
    /// Why, as the node said.
    pub reason: Term,
}

/// What a call's result is: the value, or what the called function raised.
type CallResult = Result<Term, BeamError>;

/// What a [`Connection`] asks of the task.
enum Ask {
    Call {
        module: Atom,
        function: Atom,
        args: List,
        reply: oneshot::Sender<CallResult>,
        /// Set to the request's reference so a timed-out call can be cancelled.
        reference: oneshot::Sender<Reference>,
    },
    Cancel(Reference),
    Monitor(ErlPid),
    Exit {
        pid: ErlPid,
        reason: Term,
    },
}

/// A handle on the connection; clones share it.
#[derive(Clone)]
pub struct Connection {
    asks: mpsc::UnboundedSender<Ask>,
    closed: watch::Receiver<Option<String>>,
    node: Arc<str>,
}

impl Connection {
    /// Connects to the node as a hidden node. The `DOWN`s of the processes it monitors come
    /// through the returned receiver.
    pub async fn connect(
        options: &ConnectOptions,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Down>), BeamError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_now(options))
            .await
            .map_err(|_| {
                BeamError::Connect(format!(
                    "{} did not answer within {} s",
                    options.node,
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
    }

    async fn connect_now(
        options: &ConnectOptions,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Down>), BeamError> {
        let peer: NodeName = options.node.parse().map_err(|_| {
            BeamError::Connect(format!(
                "{:?} is not a node name (expected name@host, as `erl -name`/`-sname` give)",
                options.node
            ))
        })?;
        let port = node_port(&peer, options.epmd_port).await?;
        let socket = TcpStream::connect((peer.host(), port))
            .await
            .map_err(|error| {
                BeamError::Connect(format!("cannot reach {} at port {port}: {error}", peer))
            })?;
        socket.set_nodelay(true).ok();

        let name = format!("otpscope_{:08x}", random_u32());
        let local_name = NodeName::new(&name, peer.host())
            .map_err(|error| BeamError::Connect(error.to_string()))?;
        let mut local = LocalNode::new(local_name, Creation::random());
        local.flags |= DistributionFlags::DIST_MONITOR
            | DistributionFlags::DIST_MONITOR_NAME
            | DistributionFlags::SPAWN;
        let mut handshake =
            ClientSideHandshake::new(socket.compat(), local.clone(), &options.cookie);
        let refused = |error: erl_dist::handshake::HandshakeError| {
            BeamError::Connect(format!(
                "{peer} refused the handshake ({error}): is the cookie right?"
            ))
        };
        let status = handshake.execute_send_name(6).await.map_err(refused)?;
        match status {
            HandshakeStatus::Ok | HandshakeStatus::OkSimultaneous => {}
            other => {
                return Err(BeamError::Connect(format!(
                    "{peer} refused the connection: {other:?}"
                )));
            }
        }
        let (socket, _peer_node) = handshake.execute_rest(true).await.map_err(refused)?;
        let socket = socket.into_inner();

        let (read, write) = socket.into_split();
        let codec = || {
            LengthDelimitedCodec::builder()
                .length_field_length(4)
                .max_frame_length(MAX_FRAME)
                .new_codec()
        };
        let (asks, ask_receiver) = mpsc::unbounded_channel();
        let (downs, down_receiver) = mpsc::unbounded_channel();
        let (closed_sender, closed) = watch::channel(None);
        let (decoded_sender, decoded) = mpsc::unbounded_channel();
        let task = Task {
            me: ErlPid::new(local.name.to_string(), 0, 0, local.creation.get()),
            reader: FramedRead::new(read, codec()),
            writer: FramedWrite::new(write, codec()),
            asks: ask_receiver,
            downs,
            calls: HashMap::new(),
            spawned: HashMap::new(),
            monitors: HashMap::new(),
            decoded,
            decoded_sender,
            next_ref: 1,
        };
        tokio::spawn(async move {
            let error = task.run().await;
            closed_sender.send_replace(Some(error));
        });
        Ok((
            Self {
                asks,
                closed,
                node: peer.to_string().into(),
            },
            down_receiver,
        ))
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Calls `module:function(args...)` on the node (as `erpc:call`), waiting at most
    /// `timeout`; on a timeout the call's process is killed.
    pub async fn call(
        &self,
        module: &str,
        function: &str,
        args: Vec<Term>,
        timeout: Duration,
    ) -> CallResult {
        let (reply, answer) = oneshot::channel();
        let (reference, reference_answer) = oneshot::channel();
        self.asks
            .send(Ask::Call {
                module: Atom::from(module),
                function: Atom::from(function),
                args: List::from(args),
                reply,
                reference,
            })
            .map_err(|_| self.disconnected())?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.disconnected()),
            Err(_) => {
                if let Ok(reference) = reference_answer.await {
                    self.asks.send(Ask::Cancel(reference)).ok();
                }
                Err(BeamError::Timeout {
                    call: format!("{module}:{function}"),
                    timeout_ms: timeout.as_millis() as u64,
                })
            }
        }
    }

    /// Monitors `pid`: its `DOWN` comes through the receiver [`Connection::connect`] gave.
    pub fn monitor(&self, pid: ErlPid) {
        self.asks.send(Ask::Monitor(pid)).ok();
    }

    /// Sends the exit signal `reason` to `pid`, as `exit(Pid, Reason)` would.
    pub fn exit(&self, pid: ErlPid, reason: Term) -> Result<(), BeamError> {
        self.asks
            .send(Ask::Exit { pid, reason })
            .map_err(|_| self.disconnected())
    }

    /// Resolves when the connection is gone, with why.
    pub async fn closed(&self) -> String {
        let mut closed = self.closed.clone();
        loop {
            if let Some(error) = closed.borrow().clone() {
                return error;
            }
            if closed.changed().await.is_err() {
                return "the connection's task ended".to_owned();
            }
        }
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.closed.borrow().is_some()
    }

    fn disconnected(&self) -> BeamError {
        let why = self
            .closed
            .borrow()
            .clone()
            .unwrap_or_else(|| "the connection closed".to_owned());
        BeamError::Disconnected(why)
    }
}

/// Asks EPMD on the node's host which port the node listens on.
async fn node_port(peer: &NodeName, epmd_port: u16) -> Result<u16, BeamError> {
    let epmd = |what: String| {
        BeamError::Connect(format!(
            "cannot ask EPMD at {}:{epmd_port} for {peer} ({what}): is the node running?",
            peer.host()
        ))
    };
    let socket = TcpStream::connect((peer.host(), epmd_port))
        .await
        .map_err(|error| epmd(error.to_string()))?;
    let entry = EpmdClient::new(socket.compat())
        .get_node(peer.name())
        .await
        .map_err(|error| epmd(error.to_string()))?;
    match entry {
        Some(entry) if entry.highest_version >= 6 => Ok(entry.port),
        Some(_) => Err(BeamError::Connect(format!(
            "{peer} speaks only distribution protocol 5; OTP 23 or later is needed"
        ))),
        None => {
            let known = match TcpStream::connect((peer.host(), epmd_port)).await {
                Ok(socket) => EpmdClient::new(socket.compat())
                    .get_names()
                    .await
                    .map(|names| {
                        names
                            .into_iter()
                            .map(|(name, _)| name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            let known = if known.is_empty() {
                String::new()
            } else {
                format!(" (EPMD knows: {known})")
            };
            Err(BeamError::Connect(format!(
                "no node named {} is running on {}{known}",
                peer.name(),
                peer.host()
            )))
        }
    }
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).ok();
    u32::from_le_bytes(bytes)
}

/// The connection's task.
struct Task {
    /// The pid this node's requests come from (its node and creation also name the
    /// references this side makes).
    me: ErlPid,
    reader: FramedRead<tokio::net::tcp::OwnedReadHalf, LengthDelimitedCodec>,
    writer: FramedWrite<tokio::net::tcp::OwnedWriteHalf, LengthDelimitedCodec>,
    asks: mpsc::UnboundedReceiver<Ask>,
    downs: mpsc::UnboundedSender<Down>,
    /// Calls waiting for their process's `DOWN`, by the spawn request's reference.
    calls: HashMap<Reference, oneshot::Sender<CallResult>>,
    /// The process each call runs in, once the node said, to kill a cancelled call.
    spawned: HashMap<Reference, ErlPid>,
    /// Monitored processes by monitor reference.
    monitors: HashMap<Reference, ErlPid>,
    /// Big frames decoded apart come back here.
    decoded: mpsc::UnboundedReceiver<Result<Message, String>>,
    decoded_sender: mpsc::UnboundedSender<Result<Message, String>>,
    /// Part of the next reference made here, so that no two are the same.
    next_ref: u32,
}

impl Task {
    /// Runs until the connection fails; gives why.
    async fn run(mut self) -> String {
        let mut tick = tokio::time::interval(TICK);
        tick.tick().await;
        let error = loop {
            tokio::select! {
                frame = self.reader.next() => match frame {
                    Some(Ok(frame)) => {
                        if let Err(error) = self.take(frame).await {
                            break error;
                        }
                    }
                    Some(Err(error)) => break format!("the connection failed: {error}"),
                    None => break "the node closed the connection".to_owned(),
                },
                Some(decoded) = self.decoded.recv() => {
                    let outcome = match decoded {
                        Ok(message) => self.route(message).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = outcome {
                        break error;
                    }
                }
                ask = self.asks.recv() => match ask {
                    Some(ask) => {
                        if let Err(error) = self.ask(ask).await {
                            break error;
                        }
                    }
                    // Every handle is gone: nobody watches any more.
                    None => break "closed".to_owned(),
                },
                _ = tick.tick() => {
                    if let Err(error) = self.writer.send(Bytes::new()).await {
                        break format!("the connection failed: {error}");
                    }
                }
            }
        };
        for (_, reply) in self.calls.drain() {
            reply.send(Err(BeamError::Disconnected(error.clone()))).ok();
        }
        error
    }

    fn reference(&mut self) -> Reference {
        let n = self.next_ref;
        self.next_ref = self.next_ref.wrapping_add(1);
        Reference {
            node: self.me.node.clone(),
            id: vec![random_u32(), n, random_u32()],
            creation: self.me.creation,
        }
    }

    async fn send(&mut self, message: Message) -> Result<(), String> {
        let mut buf = BytesMut::with_capacity(64).writer();
        buf.get_mut().put_u8(PASS_THROUGH);
        message
            .write_into(&mut buf)
            .map_err(|error| format!("cannot encode a message: {error}"))?;
        self.writer
            .send(buf.into_inner().freeze())
            .await
            .map_err(|error| format!("the connection failed: {error}"))
    }

    async fn ask(&mut self, ask: Ask) -> Result<(), String> {
        match ask {
            Ask::Call {
                module,
                function,
                args,
                reply,
                reference,
            } => {
                let request = self.reference();
                let call_ref = self.reference();
                let message = Message::spawn_request(
                    request.clone(),
                    self.me.clone(),
                    self.me.clone(),
                    Mfa {
                        module: "erpc".into(),
                        function: "execute_call".into(),
                        arity: FixInteger::from(4),
                    },
                    List::from(vec![Term::from(Atom::from("monitor"))]),
                    List::from(vec![
                        call_ref.into(),
                        module.into(),
                        function.into(),
                        args.into(),
                    ]),
                );
                reference.send(request.clone()).ok();
                self.calls.insert(request, reply);
                self.send(message).await
            }
            Ask::Cancel(request) => {
                self.calls.remove(&request);
                if let Some(pid) = self.spawned.remove(&request) {
                    let kill = Message::exit2(self.me.clone(), pid, Atom::from("kill").into());
                    self.send(kill).await?;
                }
                Ok(())
            }
            Ask::Monitor(pid) => {
                let reference = self.reference();
                self.monitors.insert(reference.clone(), pid.clone());
                let message = Message::monitor_p(self.me.clone(), PidOrAtom::Pid(pid), reference);
                self.send(message).await
            }
            Ask::Exit { pid, reason } => {
                let message = Message::exit2(self.me.clone(), pid, reason);
                self.send(message).await
            }
        }
    }

    /// Takes one frame from the node.
    async fn take(&mut self, frame: BytesMut) -> Result<(), String> {
        if frame.is_empty() {
            // A tick: answer it, so the node knows this side is alive.
            return self
                .writer
                .send(Bytes::new())
                .await
                .map_err(|error| format!("the connection failed: {error}"));
        }
        if frame[0] != PASS_THROUGH {
            return Err(format!(
                "the node sent a frame of unknown type {}",
                frame[0]
            ));
        }
        if frame.len() >= DECODE_APART {
            // A big answer (a batch of process_info) is decoded on a blocking thread, so
            // that several decode at once and the connection keeps reading; what it holds
            // is routed when it is ready (the order of different calls' answers does not
            // matter, and a call's own spawn reply came before it).
            let decoded = self.decoded_sender.clone();
            tokio::task::spawn_blocking(move || {
                decoded.send(decode(&frame)).ok();
            });
            return Ok(());
        }
        let message = decode(&frame)?;
        self.route(message).await
    }

    /// Acts on one message from the node.
    async fn route(&mut self, message: Message) -> Result<(), String> {
        match message {
            Message::SpawnReply(reply) => match reply.result {
                PidOrAtom::Pid(pid) => {
                    if self.calls.contains_key(&reply.req_id) {
                        self.spawned.insert(reply.req_id, pid);
                    }
                }
                PidOrAtom::Atom(reason) => {
                    self.spawned.remove(&reply.req_id);
                    if let Some(call) = self.calls.remove(&reply.req_id) {
                        call.send(Err(BeamError::Call(format!(
                            "the node could not start the call: {}",
                            reason.name
                        ))))
                        .ok();
                    }
                }
            },
            Message::MonitorPExit(exit) => self.down(exit.reference, exit.reason),
            Message::PayloadMonitorPExit(exit) => self.down(exit.reference, exit.reason),
            Message::Send(send) => self.io_request(send.message).await?,
            Message::SendSender(send) => self.io_request(send.message).await?,
            Message::RegSend(send) => self.io_request(send.message).await?,
            // Link exits (none are made), ticks and the rest: nothing to do.
            _ => {}
        }
        Ok(())
    }

    /// A `DOWN`: a call's result, or a monitored process's exit.
    fn down(&mut self, reference: Reference, reason: Term) {
        if let Some(call) = self.calls.remove(&reference) {
            self.spawned.remove(&reference);
            call.send(call_result(reason)).ok();
        } else if let Some(pid) = self.monitors.remove(&reference) {
            self.downs.send(Down { pid, reason }).ok();
        }
    }

    /// Answers an io request (a called function printed, its group leader being this
    /// node) with `ok`.
    async fn io_request(&mut self, message: Term) -> Result<(), String> {
        let Term::Tuple(tuple) = message else {
            return Ok(());
        };
        let [Term::Atom(tag), Term::Pid(from), reply_as, _] = tuple.elements.as_slice() else {
            return Ok(());
        };
        if tag.name != "io_request" {
            return Ok(());
        }
        let reply = Tuple::from(vec![
            Atom::from("io_reply").into(),
            reply_as.clone(),
            Atom::from("ok").into(),
        ]);
        let message = Message::send(from.clone(), reply.into());
        self.send(message).await
    }
}

/// A control message from a pass-through frame (its first byte is the tag).
fn decode(frame: &[u8]) -> Result<Message, String> {
    Message::read_from(&mut &frame[1..])
        .map_err(|error| format!("cannot decode a message from the node: {error}"))
}

/// What `erpc:execute_call/4`'s exit says: `{Ref, return, Value}` or
/// `{Ref, Class, Reason, Stack}` (or, when the process died otherwise, its reason).
fn call_result(reason: Term) -> CallResult {
    if let Term::Tuple(tuple) = &reason {
        match tuple.elements.as_slice() {
            [Term::Reference(_), Term::Atom(kind), value] if kind.name == "return" => {
                return Ok(value.clone());
            }
            [Term::Reference(_), Term::Atom(class), reason, _stack] => {
                return Err(BeamError::Raised {
                    class: class.name.clone(),
                    reason: reason.clone(),
                });
            }
            [Term::Reference(_), Term::Atom(class), reason] => {
                return Err(BeamError::Raised {
                    class: class.name.clone(),
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
    }
    Err(BeamError::Raised {
        class: "exit".to_owned(),
        reason,
    })
}
