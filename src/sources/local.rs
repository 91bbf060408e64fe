//! A node in this OS process as a [`Source`](crate::gui::Source) for the Observer: its
//! snapshot stream, and a [`Control`] that carries commands out on it.
//!
//! The one place that knows both sides: the Observer sees only the `Source` trait and the
//! contract; this adapter subscribes to the node and runs commands on the node's runtime, so
//! the UI thread never waits. What the Observer may do is what the control offers
//! ([`Control::capabilities`]): the built-in commands, and whatever apps are installed on it.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::contract::{Capabilities, Command, CommandError, Progress, Reply, Update};
use crate::gui::{RequestId, Source};
use crate::runtime::Node;
use crate::snapshot::{
    AlreadyObserved, Control, ObserveOptions, ProgressReporter, Subscription, observe_with,
};

type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// A node in this OS process, observed directly.
pub struct LocalSource {
    /// The observed node.
    node: Node,
    /// What the title bar says.
    title: String,
    /// The current subscription (replaced when the interval changes).
    subscription: Subscription,
    /// Carries out commands.
    control: Control,
    /// What the control offers, read once.
    capabilities: Capabilities,
    /// Replies arrive here from the runtime.
    replies: mpsc::Receiver<(RequestId, Result<Reply, CommandError>)>,
    /// Where command tasks send their replies.
    reply_sender: mpsc::Sender<(RequestId, Result<Reply, CommandError>)>,
    /// Reports of how far running commands have got arrive here, each before its reply.
    reports: mpsc::Receiver<(RequestId, Progress)>,
    /// Where command tasks send their reports.
    report_sender: mpsc::Sender<(RequestId, Progress)>,
    /// The next request id.
    next_id: RequestId,
    /// Wakes the UI; shared with the subscription's callback and command tasks.
    waker: Waker,
}

impl LocalSource {
    /// Observes the node `control` acts on, with what `control` offers. Fails only if a
    /// collector built directly already holds the node's change marks.
    pub fn new(
        control: Control,
        title: impl Into<String>,
        interval: Duration,
    ) -> Result<Self, AlreadyObserved> {
        let node = control.node().clone();
        let waker: Waker = Arc::new(Mutex::new(None));
        let (reply_sender, replies) = mpsc::channel();
        let (report_sender, reports) = mpsc::channel();
        Ok(Self {
            subscription: subscribe(&node, interval, &waker)?,
            node,
            title: title.into(),
            capabilities: control.capabilities(),
            control,
            replies,
            reply_sender,
            reports,
            report_sender,
            next_id: 1,
            waker,
        })
    }
}

fn subscribe(
    node: &Node,
    interval: Duration,
    waker: &Waker,
) -> Result<Subscription, AlreadyObserved> {
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

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
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
        let (reports, report_waker) = (self.report_sender.clone(), waker.clone());
        let progress = ProgressReporter::new(move |progress| {
            reports.send((id, progress)).ok();
            if let Some(wake) = report_waker.lock().as_ref() {
                wake();
            }
        });
        self.node.handle().spawn(async move {
            let reply = control.execute_reporting(command, progress).await;
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

    fn try_progress(&mut self) -> Option<(RequestId, Progress)> {
        self.reports.try_recv().ok()
    }

    fn set_interval(&mut self, interval: Duration) {
        if interval == self.subscription.interval() {
            return;
        }
        // The node's hub is shared with the subscription being replaced, so this cannot be
        // refused; if it were, the old subscription stays.
        if let Ok(subscription) = subscribe(&self.node, interval, &self.waker) {
            self.subscription = subscription;
        }
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(waker);
    }

    fn memory_bytes(&self) -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(resident_pages * 4096)
    }
}
