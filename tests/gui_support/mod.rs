//! Helpers shared by the Observer's tests: a [`Source`] that records what passes through it,
//! so a test can tell which commands a click sent and which updates the Observer took in; the
//! setup most tests share (a runtime, a node running the KV app, a source on it, a headless
//! harness of the Observer); and the waits and queries they make of a harness.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};

use otpscope::demo::kv::{self, Stage};
use otpscope::gui::{ObserverApp, RequestId, Source};
use otpscope::runtime::Node;
use otpscope::snapshot::model::{Command, CommandError, Progress, Reply, Update};
use otpscope::sources::local::LocalSource;
use tokio::runtime::Runtime;

/// What went through a [`Recorder`], in order.
#[derive(Debug, Default)]
pub struct Record {
    /// Every command sent, with its request id.
    pub sent: Vec<(RequestId, Command)>,
    /// Every reply taken, by request id.
    pub replies: Vec<(RequestId, Result<Reply, CommandError>)>,
    /// Every report of progress taken, by request id, in order.
    pub progress: Vec<(RequestId, Progress)>,
    /// Every interval asked for.
    pub intervals: Vec<Duration>,
    /// How many full snapshots were taken.
    pub fulls: usize,
    /// How many deltas were taken.
    pub deltas: usize,
}

impl Record {
    /// The reply to request `id`, once taken.
    pub fn reply(&self, id: RequestId) -> Option<&Result<Reply, CommandError>> {
        self.replies
            .iter()
            .find(|(reply_id, _)| *reply_id == id)
            .map(|(_, reply)| reply)
    }

    /// The id of the last command sent that `matches`.
    pub fn last_sent(&self, matches: impl Fn(&Command) -> bool) -> Option<RequestId> {
        self.sent
            .iter()
            .rev()
            .find(|(_, command)| matches(command))
            .map(|(id, _)| *id)
    }
}

/// A source that passes everything through to `inner` and records it in a shared [`Record`].
pub struct Recorder<S> {
    inner: S,
    record: Arc<Mutex<Record>>,
}

impl<S: Source> Recorder<S> {
    /// Wraps `inner`; the record is shared with the test.
    pub fn new(inner: S) -> (Self, Arc<Mutex<Record>>) {
        let record = Arc::new(Mutex::new(Record::default()));
        let recorder = Self {
            inner,
            record: record.clone(),
        };
        (recorder, record)
    }
}

impl<S: Source> Source for Recorder<S> {
    fn title(&self) -> String {
        self.inner.title()
    }

    fn try_recv(&mut self) -> Option<Update> {
        let update = self.inner.try_recv()?;
        let mut record = self.record.lock().unwrap();
        match &update {
            Update::Full(_) => record.fulls += 1,
            Update::Delta(_) => record.deltas += 1,
            Update::Events { .. } => {}
        }
        Some(update)
    }

    fn send(&mut self, command: Command) -> RequestId {
        let id = self.inner.send(command.clone());
        self.record.lock().unwrap().sent.push((id, command));
        id
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        let (id, reply) = self.inner.try_reply()?;
        self.record
            .lock()
            .unwrap()
            .replies
            .push((id, reply.clone()));
        Some((id, reply))
    }

    fn try_progress(&mut self) -> Option<(RequestId, Progress)> {
        let (id, progress) = self.inner.try_progress()?;
        let mut record = self.record.lock().unwrap();
        record.progress.push((id, progress.clone()));
        Some((id, progress))
    }

    fn set_interval(&mut self, interval: Duration) {
        self.record.lock().unwrap().intervals.push(interval);
        self.inner.set_interval(interval);
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        self.inner.set_waker(waker);
    }

    fn capabilities(&self) -> &otpscope::contract::Capabilities {
        self.inner.capabilities()
    }

    fn memory_bytes(&self) -> Option<u64> {
        self.inner.memory_bytes()
    }
}

/// A runtime for a test's node: two worker threads, time and I/O enabled. Keep it alive for
/// the whole test (drop it last).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A node named `test` running the KV app at `stage`, started on `runtime`.
pub fn kv_node(runtime: &Runtime, stage: Stage) -> Node {
    runtime.block_on(async {
        let node = Node::new("test");
        kv::start(&node, stage).await.unwrap();
        node
    })
}

/// A live source on the KV app of `node`, titled `test`, refreshed every 20 ms.
pub fn kv_source(node: &Node) -> LocalSource {
    LocalSource::new(
        kv::control::for_node(node),
        "test",
        Duration::from_millis(20),
    )
    .unwrap()
}

/// A headless harness drawing `app` in a 1280×800 window, frames 1/60 s apart as on screen
/// (two clicks in a row make a double click).
pub fn observer_harness(app: ObserverApp) -> Harness<'static, ObserverApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut ObserverApp| app.frame_ui(ui), app)
}

/// Every label (or, without one, value) on screen: what a timed-out wait says was shown.
pub fn labels<S>(harness: &Harness<'static, S>) -> Vec<String> {
    harness
        .query_all(By::new())
        .filter_map(|node| {
            let node = node.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .collect()
}

/// Steps `harness` a frame at a time until `condition` holds; fails the test, naming `what`
/// and listing the labels shown, once `deadline` has passed.
pub fn wait_for<S>(
    harness: &mut Harness<'static, S>,
    what: &str,
    deadline: Duration,
    condition: impl Fn(&Harness<'static, S>) -> bool,
) {
    let until = Instant::now() + deadline;
    loop {
        harness.run_steps(1);
        if condition(harness) {
            return;
        }
        assert!(
            Instant::now() < until,
            "timed out waiting for {what}; labels shown: {:?}",
            labels(harness)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a widget whose label holds `text` is shown.
pub fn shows<S>(harness: &Harness<'static, S>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}
