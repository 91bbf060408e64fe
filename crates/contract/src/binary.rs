//! The contract's compact binary form: what the remote wire and recordings carry.
//!
//! [postcard](https://docs.rs/postcard): integers as varints, strings and lists prefixed with
//! their length, structs as their fields in order with no names, enums as the variant's index
//! then its fields, `Option` as a 0 or 1 byte then the value, pids as their serial. Nothing
//! describes itself, so both ends must hold the same [`FORMAT_VERSION`](crate::FORMAT_VERSION):
//! a peer checks it before it decodes anything else (the remote handshake and a recording's
//! header both carry it). Fields are never skipped and enums are never tagged by name, which is
//! why the model's serde attributes avoid `skip_serializing_if`, `flatten` and internal tags.
//!
//! Decoding is safe on any input: a truncated or corrupted buffer is an error, never a panic,
//! and a lying length prefix reserves at most 1 MiB ahead (serde's cautious size hint) before
//! the bytes run out.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why bytes could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("binary form: {0}")]
pub struct BinaryError(#[from] postcard::Error);

/// The binary form of `value`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BinaryError> {
    Ok(postcard::to_allocvec(value)?)
}

/// Appends the binary form of `value` to `out` (to build a frame without a copy).
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), BinaryError> {
    let taken = std::mem::take(out);
    *out = postcard::to_extend(value, taken)?;
    Ok(())
}

/// Reads a value from the start of `bytes`; gives it and the bytes after it.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), BinaryError> {
    Ok(postcard::take_from_bytes(bytes)?)
}

/// Reads a value from its binary form; bytes left over are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BinaryError> {
    let (value, rest) = postcard::take_from_bytes(bytes)?;
    if !rest.is_empty() {
        return Err(BinaryError(postcard::Error::DeserializeBadEncoding));
    }
    Ok(value)
}
