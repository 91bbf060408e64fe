//! The handshake, both ends. Nothing about the node is sent before the client has proved it
//! holds a cookie, and the client trusts nothing before the server has proved the same.
//!
//! ```text
//! client                                   server
//!   ClientHello {versions, nonce_c}  ->
//!                                    <-  ServerHello {versions, Ok(nonce_s) | Err(why)}
//!   ClientProof {HMAC(cookie, "client", nonce_s, nonce_c)}  ->
//!                                    <-  Welcome {Ok{HMAC(cookie, "server", nonce_c, nonce_s),
//!                                                    role, node} | Err(why)}
//! ```
//!
//! The server tries the control cookie, then the read-only one: the one that matches is the
//! client's role, and the server proves itself with that same cookie.

use tokio::io::{AsyncRead, AsyncWrite};

use super::RemoteError;
use super::auth::{self, CLIENT_LABEL, Cookie, SERVER_LABEL};
use super::protocol::{
    Accepted, ClientHello, ClientProof, NodeInfo, Role, ServerHello, Versions, Welcome,
};
use super::wire::{self, Wire};

/// The cookies a server accepts, by role.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// Proves control (absent on a server started read-only).
    pub(crate) control: Option<Cookie>,
    /// Proves read-only access.
    pub(crate) read_only: Option<Cookie>,
}

/// Checks a peer's versions before anything else is read from its frame.
fn check_versions(theirs: Versions) -> Result<(), RemoteError> {
    if theirs.magic != Versions::OURS.magic {
        return Err(RemoteError::NotOtpscope);
    }
    if theirs.protocol != Versions::OURS.protocol || theirs.format != Versions::OURS.format {
        return Err(RemoteError::VersionMismatch {
            ours_protocol: Versions::OURS.protocol,
            ours_format: Versions::OURS.format,
            theirs_protocol: theirs.protocol,
            theirs_format: theirs.format,
        });
    }
    Ok(())
}

/// Reads a first frame: its versions (whose layout never changes) first, then the rest.
async fn receive_hello<S, T>(wire: &mut Wire<S>) -> Result<T, RemoteError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: serde::de::DeserializeOwned,
{
    use futures_util::StreamExt;
    let frame = match wire.next().await {
        Some(Ok(frame)) => frame,
        Some(Err(error)) => return Err(RemoteError::from_io(error)),
        None => return Err(RemoteError::Closed),
    };
    let versions: Versions = postcard_prefix(&frame).ok_or(RemoteError::NotOtpscope)?;
    check_versions(versions)?;
    Ok(otpscope_contract::binary::decode(&frame)?)
}

/// The [`Versions`] at the start of a frame, if it holds them.
fn postcard_prefix(frame: &[u8]) -> Option<Versions> {
    // A frame too short or not starting with the magic is no hello; read the magic by hand
    // so a foreign protocol is told apart from a truncated one.
    if frame.len() < 8 || frame[..8] != Versions::OURS.magic {
        return None;
    }
    let mut rest = &frame[8..];
    let protocol = read_varint(&mut rest)?;
    let format = read_varint(&mut rest)?;
    Some(Versions {
        magic: Versions::OURS.magic,
        protocol,
        format,
    })
}

/// A postcard varint (LEB128) of at most 32 bits.
fn read_varint(bytes: &mut &[u8]) -> Option<u32> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u32::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The server's side: the client's role once it has proved a cookie. Refusals are sent to
/// the client in words before the error is returned.
pub(crate) async fn accept<S>(
    wire: &mut Wire<S>,
    keys: &Keys,
    node: impl FnOnce(Role) -> NodeInfo,
    busy: Option<String>,
) -> Result<Role, RemoteError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let hello: ClientHello = match receive_hello(wire).await {
        Ok(hello) => hello,
        Err(error @ RemoteError::VersionMismatch { .. }) => {
            let refusal = ServerHello {
                versions: Versions::OURS,
                challenge: Err(error.to_string()),
            };
            wire::send(wire, &refusal).await.ok();
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    if let Some(why) = busy {
        let refusal = ServerHello {
            versions: Versions::OURS,
            challenge: Err(why.clone()),
        };
        wire::send(wire, &refusal).await.ok();
        return Err(RemoteError::Refused(why));
    }
    let server_nonce = auth::nonce();
    let hello_back = ServerHello {
        versions: Versions::OURS,
        challenge: Ok(server_nonce),
    };
    wire::send(wire, &hello_back).await?;
    let proof: ClientProof = wire::receive(wire).await?;
    let proves =
        |cookie: &Cookie| cookie.verify(CLIENT_LABEL, &server_nonce, &hello.nonce, &proof.mac);
    let control = keys.control.as_ref().filter(|cookie| proves(cookie));
    let read_only = keys.read_only.as_ref().filter(|cookie| proves(cookie));
    let (role, cookie) = match (control, read_only) {
        (Some(cookie), _) => (Role::Control, cookie),
        (None, Some(cookie)) => (Role::ReadOnly, cookie),
        (None, None) => {
            let why = "wrong cookie".to_owned();
            let refusal = Welcome {
                outcome: Err(why.clone()),
            };
            wire::send(wire, &refusal).await.ok();
            return Err(RemoteError::Refused(why));
        }
    };
    let welcome = Welcome {
        outcome: Ok(Accepted {
            mac: cookie.prove(SERVER_LABEL, &hello.nonce, &server_nonce),
            role,
            node: node(role),
        }),
    };
    wire::send(wire, &welcome).await?;
    Ok(role)
}

/// The client's side: the node's role for this client and what it says about itself.
pub(crate) async fn connect<S>(
    wire: &mut Wire<S>,
    cookie: &Cookie,
) -> Result<(Role, NodeInfo), RemoteError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let client_nonce = auth::nonce();
    let hello = ClientHello {
        versions: Versions::OURS,
        nonce: client_nonce,
    };
    wire::send(wire, &hello).await?;
    let hello_back: ServerHello = receive_hello(wire).await?;
    let server_nonce = hello_back.challenge.map_err(RemoteError::Refused)?;
    let proof = ClientProof {
        mac: cookie.prove(CLIENT_LABEL, &server_nonce, &client_nonce),
    };
    wire::send(wire, &proof).await?;
    let welcome: Welcome = wire::receive(wire).await?;
    let accepted = welcome.outcome.map_err(RemoteError::Refused)?;
    if !cookie.verify(SERVER_LABEL, &client_nonce, &server_nonce, &accepted.mac) {
        return Err(RemoteError::ServerUnproven);
    }
    Ok((accepted.role, accepted.node))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_hello_of_any_version_is_read_by_its_prefix() {
        let future = Versions {
            magic: Versions::OURS.magic,
            protocol: 300,
            format: 7,
        };
        let frame = otpscope_contract::binary::encode(&(future, "whatever comes after")).unwrap();
        assert_eq!(postcard_prefix(&frame), Some(future));
        assert!(postcard_prefix(b"GET / HTTP/1.1").is_none());
        assert!(postcard_prefix(&frame[..8]).is_none());
        let error = check_versions(future).unwrap_err().to_string();
        let expected = format!(
            "the peer speaks protocol 300 with format 7, this end protocol {}",
            super::super::PROTOCOL_VERSION
        );
        assert!(error.contains(&expected), "{error}");
    }
}
