//! The shared secret (a cookie, as the BEAM's `~/.erlang.cookie`) and the challenge-response
//! over it: each end proves it holds the cookie with an HMAC-SHA256 of both ends' fresh
//! nonces, under a label per direction (so one end's proof can never be replayed as the
//! other's), checked in constant time. The cookie itself never travels.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::protocol::{MAC_LEN, NONCE_LEN};

/// The environment variable a cookie is read from when the options give none.
pub const COOKIE_ENV: &str = "OTPSCOPE_COOKIE";

/// A shared secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(Vec<u8>);

/// Why a cookie could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CookieError {
    /// The file could not be read or written.
    #[error("cookie file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file or the text holds no cookie.
    #[error("cookie {0}: empty (a cookie is a line of text)")]
    Empty(String),
    /// The file can be read by others than its owner.
    #[error(
        "cookie file {path} is readable by others (mode {mode:o}): run `chmod 600 {path}`, as \
         Erlang asks of ~/.erlang.cookie"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// No home directory to keep the default cookie in.
    #[error("no home directory (HOME is not set) for the default cookie file; give one")]
    NoHome,
}

impl Cookie {
    /// A cookie from text (surrounding whitespace is not part of it).
    pub fn new(text: &str) -> Result<Self, CookieError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CookieError::Empty("text".to_owned()));
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    /// A fresh random cookie: 32 letters from the OS's random source.
    pub fn random() -> Self {
        const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes);
        // 62 letters: the bias of `% 62` on a byte is under 1 bit in 32 letters' 190.
        Self(
            bytes
                .iter()
                .map(|b| LETTERS[usize::from(*b) % LETTERS.len()])
                .collect(),
        )
    }

    /// The cookie in `path` (its first line). On Unix the file must not be readable by
    /// group or others.
    pub fn read(path: &Path) -> Result<Self, CookieError> {
        let io_error = |source| CookieError::Io {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(io_error)?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(CookieError::TooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let line = text.lines().next().unwrap_or("").trim();
        if line.is_empty() {
            return Err(CookieError::Empty(path.display().to_string()));
        }
        Ok(Self(line.as_bytes().to_vec()))
    }

    /// The cookie in `path`, or, when the file does not exist, a fresh random one written
    /// there (mode 0600, its folder created 0700).
    pub fn read_or_create(path: &Path) -> Result<Self, CookieError> {
        match Self::read(path) {
            Err(CookieError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                let cookie = Self::random();
                cookie.write_new(path)?;
                Ok(cookie)
            }
            other => other,
        }
    }

    /// `~/.otpscope/cookie`.
    pub fn default_path() -> Result<PathBuf, CookieError> {
        let home = std::env::var_os("HOME").filter(|home| !home.is_empty());
        let home = home.ok_or(CookieError::NoHome)?;
        Ok(PathBuf::from(home).join(".otpscope").join("cookie"))
    }

    /// The cookie a node or a client uses when told nothing: [`COOKIE_ENV`] if set, else
    /// the default file, created with a fresh cookie if absent.
    pub fn from_env_or_default() -> Result<Self, CookieError> {
        match std::env::var(COOKIE_ENV) {
            Ok(text) if !text.trim().is_empty() => Self::new(&text),
            _ => Self::read_or_create(&Self::default_path()?),
        }
    }

    fn write_new(&self, path: &Path) -> Result<(), CookieError> {
        let io_error = |source| CookieError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(folder) = path.parent() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(folder).map_err(io_error)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io_error)?;
        io::Write::write_all(&mut file, &self.0).map_err(io_error)?;
        io::Write::write_all(&mut file, b"\n").map_err(io_error)
    }

    /// The proof for `label` over the two nonces.
    pub(crate) fn prove(
        &self,
        label: &[u8],
        first: &[u8; NONCE_LEN],
        second: &[u8; NONCE_LEN],
    ) -> [u8; MAC_LEN] {
        self.mac(label, first, second)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether `proof` is the proof for `label` over the two nonces (constant time).
    pub(crate) fn verify(
        &self,
        label: &[u8],
        first: &[u8; NONCE_LEN],
        second: &[u8; NONCE_LEN],
        proof: &[u8; MAC_LEN],
    ) -> bool {
        self.mac(label, first, second).verify_slice(proof).is_ok()
    }

    fn mac(&self, label: &[u8], first: &[u8], second: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(label);
        mac.update(first);
        mac.update(second);
        mac
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<hidden>)")
    }
}

/// The label of a client's proof; the server's is [`SERVER_LABEL`].
pub(crate) const CLIENT_LABEL: &[u8] = b"otpscope client proof v1";
/// The label of a server's proof.
pub(crate) const SERVER_LABEL: &[u8] = b"otpscope server proof v1";

/// A fresh nonce.
pub(crate) fn nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    nonce
}

fn fill_random(bytes: &mut [u8]) {
    // The OS's random source fails only when it does not exist; nothing is safe then.
    if let Err(error) = getrandom::fill(bytes) {
        panic!("otpscope: the OS random source failed: {error}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn proofs_check_in_one_direction_only_and_only_with_the_same_cookie() {
        let cookie = Cookie::new("secret").unwrap();
        let (a, b) = (nonce(), nonce());
        let proof = cookie.prove(CLIENT_LABEL, &a, &b);
        assert!(cookie.verify(CLIENT_LABEL, &a, &b, &proof));
        assert!(!cookie.verify(SERVER_LABEL, &a, &b, &proof));
        assert!(!cookie.verify(CLIENT_LABEL, &b, &a, &proof));
        assert!(
            !Cookie::new("other")
                .unwrap()
                .verify(CLIENT_LABEL, &a, &b, &proof)
        );
        assert_eq!(format!("{cookie:?}"), "Cookie(<hidden>)");
    }

    #[test]
    fn a_missing_cookie_file_is_created_private_and_read_back() {
        let folder = std::env::temp_dir().join(format!("otpscope-cookie-{}", std::process::id()));
        let path = folder.join("nested").join("cookie");
        std::fs::remove_dir_all(&folder).ok();
        let created = Cookie::read_or_create(&path).unwrap();
        assert_eq!(created.0.len(), 32);
        assert_eq!(Cookie::read(&path).unwrap(), created);
        assert_eq!(Cookie::read_or_create(&path).unwrap(), created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = Cookie::read(&path).unwrap_err().to_string();
            assert!(error.contains("readable by others (mode 644)"), "{error}");
        }
        std::fs::remove_dir_all(&folder).ok();
    }
}
