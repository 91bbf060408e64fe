//! What the `otpscope` binary runs on its node: the KV app at one of the chapter's stages, or
//! a tree file, and the way to start it again once it has died.
//!
//! [`App::start`] starts it and gives an [`AppHandle`]. The handle remembers the root's pid;
//! [`AppHandle::restart`] starts the same stage or tree again, but only once that root has
//! exited (the crash-loop tree gives up and leaves an empty node; a killed `KV.Supervisor`
//! has no supervisor to restart it). [`AppHandle::control`] is what observers may do with
//! it: the built-in commands, restarting the app (the handle is an [`AppRestart`]), and the
//! app's own commands.
//!
//! Restarts are serialised: two requests at once start the app once, and the second is told
//! the app is running.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::contract::{CommandError, Reply};
use crate::runtime::{Node, Pid, StartError};
use crate::snapshot::{AppFuture, AppRestart, Control};

use super::kv::{self, Stage, control::KvControl};
use super::playground::TreeSpec;
use super::playground::control::PlaygroundControl;

/// What to run: the KV app at a stage, or a tree file.
#[derive(Clone, Debug)]
pub enum App {
    /// The chapter's KV app at one of its stages.
    Kv(Stage),
    /// A tree file, with what to call it (its path).
    Tree {
        /// How the app is named in titles and errors (the file's path).
        title: String,
        /// The parsed file.
        spec: Arc<TreeSpec>,
    },
}

impl App {
    /// How the app reads in a title: `KV app (final stage)` or the tree file's path.
    pub fn title(&self) -> String {
        match self {
            Self::Kv(stage) => format!("KV app ({stage} stage)"),
            Self::Tree { title, .. } => title.clone(),
        }
    }

    /// Whether it is the KV app (its console and commands apply).
    pub fn is_kv(&self) -> bool {
        matches!(self, Self::Kv(_))
    }

    /// Starts it on `node`, unlinked (the node is the root's parent); returns once every
    /// child has started.
    pub async fn start(self, node: &Node) -> Result<AppHandle, StartError> {
        let root = start_root(&self, node).await?;
        let kv = self.is_kv().then(|| KvControl::new(node));
        Ok(AppHandle {
            inner: Arc::new(Inner {
                node: node.clone(),
                app: self,
                root: Mutex::new(root),
                starting: tokio::sync::Mutex::new(()),
                kv,
            }),
        })
    }
}

/// Starts the app's root and gives its pid.
async fn start_root(app: &App, node: &Node) -> Result<Pid, StartError> {
    match app {
        App::Kv(stage) => Ok(kv::start(node, *stage).await?.supervisor().pid()),
        App::Tree { spec, .. } => Ok(spec.start(node).await?.pid()),
    }
}

/// Restarting the app failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestartError {
    /// Its root is still alive: stop it first.
    #[error("the app is still running (its root {0} is alive); stop or kill it first")]
    Running(Pid),
    /// Starting it again failed (a name still held by a process that is shutting down, a
    /// worker that fails to start).
    #[error("the app did not start again: {0}")]
    Start(#[from] StartError),
}

/// A started app; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The node the app runs on.
    node: Node,
    /// What was started, to start it again.
    app: App,
    /// The pid of the latest root.
    root: Mutex<Pid>,
    /// Held while a restart runs, so that two requests start the app once.
    starting: tokio::sync::Mutex<()>,
    /// The KV app's commands, when it is the KV app (it resolves names at each command, so
    /// it keeps working after a restart).
    kv: Option<KvControl>,
}

impl AppHandle {
    /// What runs.
    pub fn app(&self) -> &App {
        &self.inner.app
    }

    /// The node it runs on.
    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    /// The pid of its root, the latest one after a restart.
    pub fn root(&self) -> Pid {
        *self.inner.root.lock()
    }

    /// Whether its root is alive.
    pub fn is_alive(&self) -> bool {
        self.inner.node.is_alive(self.root())
    }

    /// The KV app's commands, when it is the KV app.
    pub fn kv(&self) -> Option<&KvControl> {
        self.inner.kv.as_ref()
    }

    /// Starts the app again, once its root has exited; gives the new root's pid.
    pub async fn restart(&self) -> Result<Pid, RestartError> {
        let _starting = self.inner.starting.lock().await;
        let root = self.root();
        if self.inner.node.is_alive(root) {
            return Err(RestartError::Running(root));
        }
        let root = start_root(&self.inner.app, &self.inner.node).await?;
        *self.inner.root.lock() = root;
        Ok(root)
    }

    /// What observers may do with this app: the built-in commands, "Restart the app", and
    /// the app's own commands (the KV console's, or the tree's crash and busy).
    pub fn control(&self) -> Control {
        let control = Control::new(&self.inner.node).with_restart(Arc::new(self.clone()));
        match &self.inner.app {
            App::Kv(_) => control.with_app(Arc::new(KvControl::new(&self.inner.node))),
            App::Tree { .. } => {
                control.with_app(Arc::new(PlaygroundControl::new(&self.inner.node)))
            }
        }
    }
}

impl AppRestart for AppHandle {
    fn restart(&self) -> AppFuture<'_> {
        Box::pin(async move {
            match AppHandle::restart(self).await {
                Ok(root) => Ok(Reply::Started {
                    pid: Some(root.into()),
                }),
                Err(error) => Err(CommandError::App(error.to_string())),
            }
        })
    }
}
