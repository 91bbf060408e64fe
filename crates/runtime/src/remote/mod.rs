//! Observing a node from another OS process or machine: [`serve`] a node over TCP, and
//! [`connect`] to it from an Observer, a script or a test.
//!
//! In a service, one line serves its node (on 127.0.0.1:4370 unless told otherwise, with the
//! cookie in `~/.otpscope/cookie`, created if absent):
//!
//! ```no_run
//! # let node = otpscope_runtime::Node::new("service");
//! let served = otpscope_runtime::remote::serve(&node, Default::default())?;
//! # Ok::<(), otpscope_runtime::remote::ServeError>(())
//! ```
//!
//! The wire: frames of a 4-byte big-endian length then the contract's
//! [binary form](otpscope_contract::binary) (postcard). A connection starts with a handshake
//! in which both ends check each other's [`PROTOCOL_VERSION`] and
//! [`FORMAT_VERSION`](otpscope_contract::FORMAT_VERSION) and then prove, each to the other,
//! that they hold the same cookie (HMAC-SHA256 over both ends' fresh nonces, compared in
//! constant time; the cookie never travels); nothing about the node is sent before that (see
//! `handshake.rs`). Then the client sends [`ClientMessage`]s (subscribe with an interval, run
//! a command) and the node sends [`ServerMessage`]s (the snapshot stream's updates, replies,
//! how far a long command has got, its memory), each in a [`ServerFrame`]; a full snapshot of more than [`SNAPSHOT_PART`]
//! processes comes as a header then parts of that many, which the client decodes on several
//! threads as they arrive and joins into one update. A client that proved the read-only cookie, or any client of a node served
//! read-only, has every command refused with `CommandError::ReadOnly`. Every command a
//! client runs is put in the node's event feed, with who sent it, before it runs.
//!
//! The wire is authenticated but not encrypted unless TLS is set up (feature `tls`:
//! [`ServeOptions::tls`] with a certificate and key, [`ConnectOptions::tls`] trusting a CA or
//! pinning the node's certificate); the cookie handshake then runs inside the TLS session.

mod auth;
mod client;
mod error;
mod handshake;
mod protocol;
mod serve;
#[cfg(feature = "tls")]
mod tls;
mod wire;

pub use auth::{COOKIE_ENV, Cookie, CookieError};
pub use client::{ConnectOptions, Connection, connect};
pub use error::RemoteError;
pub use protocol::{
    ClientMessage, DEFAULT_PORT, MAGIC, NodeInfo, PROTOCOL_VERSION, Role, SNAPSHOT_PART,
    ServerFrame, ServerMessage,
};
pub use serve::{LISTEN_ENV, MAX_IN_FLIGHT, ServeError, ServeOptions, Served, serve};
#[cfg(feature = "tls")]
pub use tls::TlsServer;
#[cfg(feature = "tls")]
pub use tls::{TlsClient, TlsError};
