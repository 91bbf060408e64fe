//! Frames: a 4-byte big-endian length, then that many bytes of the contract's binary form
//! (tokio-util's length-delimited codec; nothing hand-written). Each direction has its own
//! limit: what an end accepts is bounded (a node takes small frames from clients, a client
//! takes a big node's snapshots), what it sends only by the length field.

use std::io;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Decoder, Encoder, Framed, LengthDelimitedCodec};

use otpscope_contract::binary;

use super::RemoteError;

/// A byte stream cut into frames.
pub(crate) type Wire<S> = Framed<S, FrameCodec>;

/// Length-delimited frames with a limit on those read and none but the length field's on
/// those written.
pub(crate) struct FrameCodec {
    inbound: LengthDelimitedCodec,
    outbound: LengthDelimitedCodec,
}

impl FrameCodec {
    fn new(limit: usize) -> Self {
        let codec = |limit| {
            LengthDelimitedCodec::builder()
                .length_field_type::<u32>()
                .max_frame_length(limit)
                .new_codec()
        };
        Self {
            inbound: codec(limit),
            outbound: codec(u32::MAX as usize),
        }
    }

    /// Frames read from now on may be at most `limit` bytes.
    pub(crate) fn set_max_frame_length(&mut self, limit: usize) {
        self.inbound.set_max_frame_length(limit);
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, io::Error> {
        self.inbound.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, io::Error> {
        self.inbound.decode_eof(src)
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), io::Error> {
        self.outbound.encode(frame, dst)
    }
}

/// What a connection runs on: a TCP stream, or a TLS session over one.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection's byte stream, plain or TLS.
pub(crate) type Stream = Box<dyn Io>;

/// Frames over `stream`, refusing to read frames longer than `limit` bytes.
pub(crate) fn framed<S: AsyncRead + AsyncWrite>(stream: S, limit: usize) -> Wire<S> {
    Framed::new(stream, FrameCodec::new(limit))
}

/// Encodes `value` into one frame's bytes.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Bytes, RemoteError> {
    Ok(Bytes::from(binary::encode(value)?))
}

/// Sends one frame.
pub(crate) async fn send<S, T>(wire: &mut Wire<S>, value: &T) -> Result<(), RemoteError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: Serialize,
{
    wire.send(encode(value)?)
        .await
        .map_err(RemoteError::from_io)
}

/// Receives one frame and decodes it; the end of the stream is [`RemoteError::Closed`].
pub(crate) async fn receive<S, T>(wire: &mut Wire<S>) -> Result<T, RemoteError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: DeserializeOwned,
{
    match wire.next().await {
        Some(Ok(frame)) => Ok(binary::decode(&frame)?),
        Some(Err(error)) => Err(RemoteError::from_io(error)),
        None => Err(RemoteError::Closed),
    }
}

impl RemoteError {
    /// Names what the codec reports: a frame over the limit is its own error.
    pub(crate) fn from_io(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::InvalidData
            && error
                .get_ref()
                .is_some_and(|inner| inner.is::<tokio_util::codec::LengthDelimitedCodecError>())
        {
            return Self::FrameTooLong;
        }
        if error.kind() == io::ErrorKind::UnexpectedEof {
            return Self::Truncated;
        }
        Self::Io(error)
    }
}
