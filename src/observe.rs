//! Connects an in-process node to the Observer: a [`gui::Source`](crate::gui::Source) over the
//! node's snapshot stream and control.
//!
//! The one module that knows both sides: the GUI sees only the [`Source`] trait and the
//! snapshot model; this adapter subscribes to the node and carries commands out on the node's
//! runtime, so the UI thread never waits.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::demo::AppHandle;
use crate::demo::kv::control::KvControl;
use crate::gui::{RequestId, Source};
use crate::runtime::Node;
use crate::snapshot::model::{Command, CommandError, Reply, Update};
use crate::snapshot::{Control, ObserveOptions, Subscription, observe_with};

type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// A node in this OS process, observed directly.
pub struct LocalSource {
    /// The observed node.
    node: Node,
    /// What the title bar says.
    title: String,
    /// The current subscription (replaced when the interval changes).
    subscription: Subscription,
    /// Carries out commands (with the KV app's, if it runs).
    control: Control,
    /// Whether the KV app runs, for its console.
    has_kv_app: bool,
    /// Whether the app can be started again once it has died (it was started from an
    /// [`AppHandle`]).
    can_restart_app: bool,
    /// Replies arrive here from the runtime.
    replies: mpsc::Receiver<(RequestId, Result<Reply, CommandError>)>,
    /// Where command tasks send their replies.
    reply_sender: mpsc::Sender<(RequestId, Result<Reply, CommandError>)>,
    /// The next request id.
    next_id: RequestId,
    /// Wakes the UI; shared with the subscription's callback and command tasks.
    waker: Waker,
}

impl LocalSource {
    /// Observes `node`; `kv` is true when it runs the KV app (its commands are then enabled).
    pub fn new(node: &Node, title: impl Into<String>, kv: bool, interval: Duration) -> Self {
        let mut control = Control::new(node);
        if kv {
            control = control.with_app(Arc::new(KvControl::new(node)));
        }
        Self::with_control(node, title.into(), control, kv, false, interval)
    }

    /// Observes the node `app` runs on: the app's commands are enabled (the KV console's when
    /// it is the KV app) and so is "Restart the app".
    pub fn for_app(app: &AppHandle, title: impl Into<String>, interval: Duration) -> Self {
        let control = Control::new(app.node()).with_app(Arc::new(app.clone()));
        let kv = app.app().is_kv();
        Self::with_control(app.node(), title.into(), control, kv, true, interval)
    }

    fn with_control(
        node: &Node,
        title: String,
        control: Control,
        has_kv_app: bool,
        can_restart_app: bool,
        interval: Duration,
    ) -> Self {
        let waker: Waker = Arc::new(Mutex::new(None));
        let (reply_sender, replies) = mpsc::channel();
        Self {
            node: node.clone(),
            title,
            subscription: subscribe(node, interval, &waker),
            control,
            has_kv_app,
            can_restart_app,
            replies,
            reply_sender,
            next_id: 1,
            waker,
        }
    }
}

fn subscribe(node: &Node, interval: Duration, waker: &Waker) -> Subscription {
    let waker = waker.clone();
    let options = ObserveOptions::new(interval)
        .queue_capacity(256)
        .on_update(move || {
            if let Some(wake) = waker.lock().as_ref() {
                wake();
            }
        });
    observe_with(node, options)
}

impl Source for LocalSource {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn try_recv(&mut self) -> Option<Update> {
        self.subscription.try_recv()
    }

    fn send(&mut self, command: Command) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        let control = self.control.clone();
        let sender = self.reply_sender.clone();
        let waker = self.waker.clone();
        self.node.handle().spawn(async move {
            let reply = control.execute(command).await;
            sender.send((id, reply)).ok();
            if let Some(wake) = waker.lock().as_ref() {
                wake();
            }
        });
        id
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        self.replies.try_recv().ok()
    }

    fn set_interval(&mut self, interval: Duration) {
        if interval != self.subscription.interval() {
            self.subscription = subscribe(&self.node, interval, &self.waker);
        }
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(waker);
    }

    fn has_kv_app(&self) -> bool {
        self.has_kv_app
    }

    fn can_restart_app(&self) -> bool {
        self.can_restart_app
    }

    fn memory_bytes(&self) -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(resident_pages * 4096)
    }
}
