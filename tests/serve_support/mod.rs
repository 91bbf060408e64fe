//! `otpscope serve` in a second OS process, for the tests that attach to it or record it;
//! and, for the Observer's tests, a source on a node served in the test's own process.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `otpscope serve` on a free loopback port, in a folder of its own (its cookie file, and
/// whatever the test puts there); killed, and the folder removed, when dropped.
pub struct Service {
    pub child: Child,
    /// Where it listens: `127.0.0.1:PORT`.
    pub address: String,
    pub cookie: PathBuf,
    /// What it writes to stderr, read as it comes so that the pipe never fills.
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Service {
    /// The folder the service of `test` runs in, made if missing (to place files an
    /// argument names before the service starts).
    pub fn folder(test: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("otpscope-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        folder
    }

    /// Starts `otpscope serve --listen 0 --cookie-file FOLDER/cookie EXTRA..` and reads the
    /// address from its first line.
    pub fn start(test: &str, extra: &[&str]) -> Self {
        let cookie = Self::folder(test).join("cookie");
        std::fs::remove_file(&cookie).ok();
        let mut child = Command::new(env!("CARGO_BIN_EXE_otpscope"))
            .args(["serve", "--listen", "0", "--cookie-file"])
            .arg(&cookie)
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("OTPSCOPE_COOKIE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let reader = {
            let stderr = stderr.clone();
            let mut pipe = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                let mut chunk = [0; 4096];
                while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..read]));
                }
            })
        };
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // "serving KV app (final stage) on node otpscope on 127.0.0.1:PORT; cookie in FILE"
        let address = first
            .split(" on ")
            .last()
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .trim()
            .to_owned();
        assert!(address.starts_with("127.0.0.1:"), "{first}");
        Self {
            child,
            address,
            cookie,
            stderr,
            reader: Some(reader),
        }
    }

    pub fn cookie(&self) -> &str {
        self.cookie.to_str().unwrap()
    }

    /// Sends it Ctrl-C (SIGINT) and waits for it to end: its status and all it wrote to
    /// stderr.
    pub fn interrupt(&mut self) -> (ExitStatus, String) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -INT failed");
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().ok();
        }
        (status, self.stderr.lock().unwrap().clone())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        if let Some(folder) = self.cookie.parent() {
            std::fs::remove_dir_all(folder).ok();
        }
    }
}

/// A source on the node served at `address`, as `otpscope attach` gives the Observer:
/// connected now with `options` (which it keeps, to reconnect), read every 20 ms.
#[cfg(feature = "gui")]
pub fn remote_source(
    runtime: &tokio::runtime::Runtime,
    address: std::net::SocketAddr,
    options: otpscope::runtime::remote::ConnectOptions,
) -> otpscope::sources::remote::RemoteSource {
    let connection = runtime
        .block_on(otpscope::runtime::remote::connect(address, &options))
        .unwrap();
    otpscope::sources::remote::RemoteSource::new(
        connection,
        address.to_string(),
        options,
        std::time::Duration::from_millis(20),
        runtime.handle(),
    )
}
