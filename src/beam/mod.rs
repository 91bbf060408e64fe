//! A real BEAM node (Erlang or Elixir) as one more source of the contract's updates.
//!
//! otpscope connects as a **hidden node** over Erlang's own distribution (EPMD, the
//! handshake, the cookie), with the [`erl_dist`] crate for the protocol and the term format,
//! on a socket it owns ([`connection`]). It loads nothing into the node: it calls stock
//! modules only (`erpc`, `erlang`, `lists`, `application`, `application_controller`,
//! `application_master`, `supervisor`, `sys`, `proc_lib`, `code`), batched so a read of
//! the whole node is a handful of round trips ([`read`]).
//!
//! - [`client::BeamClient`]: connects, reads the node at an interval, gives snapshots,
//!   deltas and events ([`watch`]), carries out commands ([`control`]), and reconnects.
//! - [`terms`]: Erlang terms as the contract and people read them, in Elixir syntax when the
//!   node runs Elixir.

pub mod client;
pub mod connection;
pub mod control;
pub mod read;
pub mod terms;
pub mod watch;

pub use client::{BeamClient, LinkState, NodeInfo};
pub use connection::ConnectOptions;

use erl_dist::term::Term;

/// Why talking to a BEAM node failed.
#[derive(Debug, thiserror::Error)]
pub enum BeamError {
    /// The node could not be reached or refused the connection.
    #[error("{0}")]
    Connect(String),
    /// The connection was lost.
    #[error("the connection to the node was lost: {0}")]
    Disconnected(String),
    /// A call took longer than it may.
    #[error("{call} timed out after {timeout_ms} ms")]
    Timeout {
        /// `module:function`.
        call: String,
        /// How long it was given.
        timeout_ms: u64,
    },
    /// The called function raised (`error`, `exit` or `throw`).
    #[error(
        "the call raised {class}: {}",
        terms::format(reason, terms::Syntax::Erlang)
    )]
    Raised {
        /// `error`, `exit` or `throw`.
        class: String,
        /// What it raised.
        reason: Term,
    },
    /// The node could not run the call.
    #[error("{0}")]
    Call(String),
}

/// The cookie for `--cookie C` or `--cookie-file F`, else `~/.erlang.cookie` as `erl`
/// reads it. Never printed.
pub fn cookie(cookie: Option<&str>, file: Option<&std::path::Path>) -> Result<String, String> {
    if let Some(cookie) = cookie {
        return Ok(cookie.to_owned());
    }
    let path = match file {
        Some(path) => path.to_path_buf(),
        None => std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .ok_or_else(|| "HOME is not set: pass --cookie or --cookie-file".to_owned())?
            .join(".erlang.cookie"),
    };
    let text = std::fs::read_to_string(&path).map_err(|error| {
        format!(
            "cannot read the cookie file {} ({error}): pass --cookie or --cookie-file",
            path.display()
        )
    })?;
    let cookie = text.trim();
    if cookie.is_empty() {
        return Err(format!("the cookie file {} is empty", path.display()));
    }
    Ok(cookie.to_owned())
}
