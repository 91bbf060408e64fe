//! What travels on the wire: the handshake's four frames, then the session's messages, each
//! one frame of the contract's [binary form](otpscope_contract::binary). From the node, each
//! frame is a [`ServerFrame`]: a message, or a big full snapshot's header or one of its parts.

use serde::{Deserialize, Serialize};

use otpscope_contract::{
    Capabilities, Command, CommandError, FORMAT_VERSION, PartOut, Progress, Reply, SnapshotHead,
    SnapshotPart, Update,
};

/// The first eight bytes of both ends' first frame.
pub const MAGIC: [u8; 8] = *b"otpscope";

/// The version of this protocol (the handshake and the session's messages). A peer with
/// another version is refused with a message naming both.
///
/// 2: the node's frames are [`ServerFrame`]s (a big full snapshot comes in parts).
/// 3: [`ServerMessage::Progress`], how far a command still running has got, last.
pub const PROTOCOL_VERSION: u32 = 3;

/// A full snapshot with more processes than this goes in parts of this many: the node encodes
/// the next part while the client decodes the last, and the client decodes several at once.
pub const SNAPSHOT_PART: usize = 8192;

/// The port a node serves on unless told otherwise (EPMD's, 4369, plus one).
pub const DEFAULT_PORT: u16 = 4370;

/// Length of a handshake nonce, in bytes.
pub(crate) const NONCE_LEN: usize = 32;

/// Length of an HMAC-SHA256 proof, in bytes.
pub(crate) const MAC_LEN: usize = 32;

/// The most a handshake frame may hold: nothing legitimate comes near it, so garbage (an
/// HTTP request, a port scanner) is refused after its first four bytes.
pub(crate) const HANDSHAKE_FRAME_LIMIT: usize = 4096;

/// What a client may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Watch and send commands (exit signals, supervisor calls, app commands).
    Control,
    /// Watch only: every command is refused with [`CommandError::ReadOnly`].
    ReadOnly,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Control => "control",
            Self::ReadOnly => "read-only",
        })
    }
}

/// What a served node says about itself once the client is authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// What is observed, for a title bar (`KV app (final) on node otpscope`).
    pub title: String,
    /// What this client may do there (a read-only client's say `control: false`).
    pub capabilities: Capabilities,
}

/// The versions both ends check first. Its layout never changes, so a peer of any version
/// can read it and say what it speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Versions {
    pub(crate) magic: [u8; 8],
    pub(crate) protocol: u32,
    pub(crate) format: u32,
}

impl Versions {
    pub(crate) const OURS: Self = Self {
        magic: MAGIC,
        protocol: PROTOCOL_VERSION,
        format: FORMAT_VERSION,
    };
}

/// Frame 1, client to server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ClientHello {
    pub(crate) versions: Versions,
    pub(crate) nonce: [u8; NONCE_LEN],
}

/// Frame 2, server to client: the server's nonce, or why it refuses (a version mismatch,
/// too many clients).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ServerHello {
    pub(crate) versions: Versions,
    pub(crate) challenge: Result<[u8; NONCE_LEN], String>,
}

/// Frame 3, client to server: the client's proof that it holds a cookie.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ClientProof {
    pub(crate) mac: [u8; MAC_LEN],
}

/// Frame 4, server to client: the server's own proof, the client's role and the node, or
/// why the client is refused.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Welcome {
    pub(crate) outcome: Result<Accepted, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Accepted {
    pub(crate) mac: [u8; MAC_LEN],
    pub(crate) role: Role,
    pub(crate) node: NodeInfo,
}

/// What an authenticated client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// Start (or start again, with a new interval) the snapshot stream: a full snapshot,
    /// then deltas and events every `interval_ms`.
    Subscribe {
        /// How often deltas come, in milliseconds (at least 1).
        interval_ms: u64,
    },
    /// Carry out a command; its [`ServerMessage::Reply`] carries the same id.
    Command {
        /// The client's id for the command.
        id: u64,
        /// The command.
        command: Command,
    },
}

/// What a server sends an authenticated client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// The next update of the snapshot stream.
    Update(Update),
    /// The answer to a command.
    Reply {
        /// The command's id.
        id: u64,
        /// Its outcome.
        result: Result<Reply, CommandError>,
    },
    /// The served OS process's resident memory, in bytes, about once a second.
    Memory {
        /// Resident bytes.
        bytes: u64,
    },
    /// How far a command still running has got; none comes after its
    /// [`Reply`](ServerMessage::Reply). Best effort: the node drops some when the client
    /// lags.
    Progress {
        /// The command's id.
        id: u64,
        /// How far it has got.
        progress: Progress,
    },
}

/// One frame from the node, once the client is authenticated.
#[derive(Debug, Deserialize)]
pub enum ServerFrame {
    /// A whole message.
    Message(ServerMessage),
    /// The header of a full snapshot whose processes come in the next `parts` frames, each a
    /// [`SnapshotPart`](ServerFrame::SnapshotPart), nothing between them. The client joins
    /// them ([`Snapshot::from_parts`](otpscope_contract::Snapshot::from_parts)) and hands on
    /// one [`ServerMessage::Update`] with the [`Update::Full`].
    SnapshotHead(SnapshotHead),
    /// One part of the processes of the full snapshot announced last, in pid order.
    SnapshotPart(SnapshotPart),
}

/// [`ServerFrame`], borrowed for writing (the same variants in the same order).
#[derive(Serialize)]
pub(crate) enum ServerFrameOut<'a> {
    Message(&'a ServerMessage),
    SnapshotHead(&'a SnapshotHead),
    SnapshotPart(PartOut<'a>),
}

/// Which [`ServerFrame`] a frame holds, read from its first bytes alone (the variant's index)
/// so that a snapshot's part can be decoded on another thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub(crate) enum FrameKind {
    Message,
    SnapshotHead,
    SnapshotPart,
}
