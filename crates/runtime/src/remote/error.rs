//! What goes wrong between a client and a served node, in words both ends can show.

use std::io;

use otpscope_contract::binary::BinaryError;

use super::CookieError;

/// Why a connection failed or ended.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The socket failed.
    #[error("connection: {0}")]
    Io(io::Error),
    /// The peer closed the connection.
    #[error("the connection was closed")]
    Closed,
    /// The peer closed the connection in the middle of a frame.
    #[error("the connection was closed in the middle of a frame")]
    Truncated,
    /// A frame was longer than this end accepts.
    #[error("a frame was longer than the limit")]
    FrameTooLong,
    /// A frame was not a valid message.
    #[error("a frame was not a valid message ({0})")]
    Malformed(#[from] BinaryError),
    /// The node's frames broke the protocol's order (a part without its header, a message
    /// between a snapshot's parts).
    #[error("the node broke the protocol: {0}")]
    OutOfOrder(&'static str),
    /// The peer is not an otpscope node or client.
    #[error("the peer does not speak the otpscope protocol")]
    NotOtpscope,
    /// The peer speaks another version of the protocol or of the contract.
    #[error(
        "version mismatch: the peer speaks protocol {theirs_protocol} with format \
         {theirs_format}, this end protocol {ours_protocol} with format {ours_format}; \
         run the same otpscope version on both ends"
    )]
    VersionMismatch {
        /// This end's protocol version.
        ours_protocol: u32,
        /// This end's contract format version.
        ours_format: u32,
        /// The peer's protocol version.
        theirs_protocol: u32,
        /// The peer's contract format version.
        theirs_format: u32,
    },
    /// The server refused this client (a wrong cookie, too many clients); its own words.
    #[error("refused by the node: {0}")]
    Refused(String),
    /// The server could not prove it holds the cookie: it is not the node meant.
    #[error(
        "the node could not prove it holds the cookie: not the node meant, or not the same cookie"
    )]
    ServerUnproven,
    /// The TLS session could not be set up (an untrusted certificate, a plain peer).
    #[error("TLS: {0}")]
    Tls(String),
    /// The handshake did not finish in time.
    #[error("the handshake did not finish within {0} ms")]
    HandshakeTimeout(u64),
    /// The cookie could not be had.
    #[error(transparent)]
    Cookie(#[from] CookieError),
}
