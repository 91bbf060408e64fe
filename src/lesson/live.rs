//! A lesson driven live on a node, for the Observer's lesson panel: the current step, its
//! action run on request, and its expectations checked again each time the node's event
//! feed has news.
//!
//! [`LiveLesson::start`] spawns one task on the node's runtime that owns the lesson's
//! progress; the panel only reads a [`LessonStatus`] (cloned under a short lock) and sends
//! requests ([`LiveLesson::go_to`], [`LiveLesson::act`]), so the UI never waits. The task
//! calls the waker only when the status changed, so an untouched window stays at rest.
//!
//! Entering a step: the next step after the current one goes on with the node as it is, as
//! in `--check`. Any other move (a step that starts its own `stage` or `tree`, going back,
//! skipping ahead) stops the running app (OTP's `Supervisor.stop`, children right to left)
//! and starts the app of the step's group afresh on the same node, replays the setup and
//! action of the group's steps before it, then runs the step's own setup. Lines run and
//! expectations are judged by [`steps::run_line`], the code `--check` runs.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::{Lesson, LessonLine, steps};
use crate::contract::{CommandError, Reply};
use crate::demo::kv::Stage;
use crate::demo::kv::control::KvControl;
use crate::demo::playground::control::PlaygroundControl;
use crate::demo::{App, AppHandle};
use crate::runtime::{ExitReason, Node};
use crate::scenario::{Format, Runner};
use crate::snapshot::model::{self, Command};
use crate::snapshot::{AppFuture, AppRestart, Control};

/// The callback that wakes the UI.
type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// What the lesson's task is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Starting the step: the app, the replayed steps, the setup.
    #[default]
    Starting,
    /// Waiting for the action (or for the user to act some other way).
    Ready,
    /// Running the step's action.
    Acting,
}

/// One expectation of the current step and how it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectationState {
    /// The expectation as the lesson writes it (`restarted KV.Registry 1`).
    pub text: String,
    /// `None` until checked; then what was found, or why it does not hold.
    pub result: Option<Result<Option<String>, String>>,
}

/// How the current step stands: what the panel draws.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LessonStatus {
    /// The current step's index.
    pub step: usize,
    /// What the task is doing.
    pub phase: Phase,
    /// The step's expectations, each as last checked.
    pub expectations: Vec<ExpectationState>,
    /// Whether the step's action has run (and how: the lines that did not go as the lesson
    /// says).
    pub action: Option<Vec<String>>,
    /// What went wrong starting the step (the app, a replayed line, a setup line).
    pub problems: Vec<String>,
    /// Whether the step has an action.
    pub has_action: bool,
    /// Whether something happened on the node since the step was ready (its action, or
    /// events caused some other way: a kill from the tree's menu).
    pub is_acted: bool,
}

impl LessonStatus {
    /// Whether the step has expectations and every one holds, after something happened
    /// when the step has an action (a step whose setup already makes them hold is not met
    /// until then): the panel's check mark.
    pub fn is_met(&self) -> bool {
        (self.is_acted || !self.has_action)
            && !self.expectations.is_empty()
            && self
                .expectations
                .iter()
                .all(|expectation| matches!(expectation.result, Some(Ok(_))))
    }
}

/// What the panel asks the lesson's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    /// Go to this step.
    GoTo(usize),
    /// Run the current step's action.
    Act,
}

/// A lesson running on a node; cheap to share with the panel. Dropping it stops its task.
pub struct LiveLesson {
    /// The lesson.
    lesson: Arc<Lesson>,
    /// The current step's status, written by the task, read by the panel.
    status: Arc<Mutex<LessonStatus>>,
    /// Woken when the status changes.
    waker: Waker,
    /// Requests to the task.
    requests: mpsc::UnboundedSender<Request>,
    /// What the Observer's source carries commands out with.
    control: Control,
    /// The task, aborted on drop.
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LiveLesson {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The app the current step runs: what "Restart the app" starts again.
#[derive(Clone, Default)]
struct CurrentApp(Arc<Mutex<Option<AppHandle>>>);

impl AppRestart for CurrentApp {
    fn restart(&self) -> AppFuture<'_> {
        Box::pin(async move {
            let Some(handle) = self.0.lock().clone() else {
                return Err(CommandError::App(
                    "the lesson has not started an app yet".into(),
                ));
            };
            match handle.restart().await {
                Ok(root) => Ok(Reply::Started {
                    pid: Some(root.into()),
                }),
                Err(error) => Err(CommandError::App(error.to_string())),
            }
        })
    }
}

impl LiveLesson {
    /// Starts `lesson` on `node` at its first step, on the runtime of the calling task.
    pub fn start(lesson: Lesson, node: &Node) -> Self {
        let lesson = Arc::new(lesson);
        let current = CurrentApp::default();
        let mut control = Control::new(node)
            .with_restart(Arc::new(current.clone()))
            .with_app(Arc::new(KvControl::new(node)));
        if lesson
            .steps
            .iter()
            .any(|step| matches!(step.start, Some(App::Tree { .. })))
        {
            control = control.with_app(Arc::new(PlaygroundControl::new(node)));
        }
        let status = Arc::new(Mutex::new(LessonStatus::default()));
        let waker: Waker = Arc::new(Mutex::new(None));
        let (requests, receiver) = mpsc::unbounded_channel();
        let driver = Driver {
            lesson: lesson.clone(),
            node: node.clone(),
            current,
            status: status.clone(),
            waker: waker.clone(),
            requests: receiver,
        };
        let task = node.handle().spawn(driver.run());
        Self {
            lesson,
            status,
            waker,
            requests,
            control,
            task,
        }
    }

    /// The lesson.
    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }

    /// The current step's status.
    pub fn status(&self) -> LessonStatus {
        self.status.lock().clone()
    }

    /// What an Observer on the lesson's node carries its commands out with: the KV app's
    /// commands (and the tree files' when a step starts one), and "Restart the app", which
    /// starts the current step's app again.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Goes to step `index` (see the module docs for what entering a step does).
    pub fn go_to(&self, index: usize) {
        if index < self.lesson.steps.len() {
            self.requests.send(Request::GoTo(index)).ok();
        }
    }

    /// Runs the current step's action.
    pub fn act(&self) {
        self.requests.send(Request::Act).ok();
    }

    /// Installs the callback called (from the node's runtime) when the status changes.
    pub fn set_waker(&self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(waker);
    }
}

// === impl Driver ===

/// The lesson's task.
struct Driver {
    lesson: Arc<Lesson>,
    node: Node,
    current: CurrentApp,
    status: Arc<Mutex<LessonStatus>>,
    waker: Waker,
    requests: mpsc::UnboundedReceiver<Request>,
}

/// What woke a step's loop.
enum Wake {
    Request(Option<Request>),
    Events(bool),
}

impl Driver {
    async fn run(mut self) {
        let mut index = 0;
        let mut previous: Option<usize> = None;
        loop {
            let continues = index > 0
                && previous == Some(index - 1)
                && self.lesson.steps[index].start.is_none();
            let Some(next) = self.step(index, continues).await else {
                return;
            };
            previous = Some(index);
            index = next;
        }
    }

    /// Changes the status, waking the UI if that changed anything.
    fn publish(&self, change: impl FnOnce(&mut LessonStatus)) {
        let changed = {
            let mut status = self.status.lock();
            let before = status.clone();
            change(&mut status);
            *status != before
        };
        if changed && let Some(wake) = self.waker.lock().as_ref() {
            wake();
        }
    }

    /// Stops the running app, if any, and starts `app` afresh on the node.
    async fn restart(&self, app: App) -> Result<AppHandle, String> {
        let running = self.current.0.lock().take();
        if let Some(handle) = running {
            let root = handle.root();
            if self.node.is_alive(root) {
                let stop = Command::StopSupervisor {
                    supervisor: root.into(),
                    reason: model::ExitReason::Shutdown,
                };
                let watch = self.node.watch(root);
                if Control::new(&self.node).execute(stop).await.is_err() {
                    self.node.exit(root, ExitReason::Kill).ok();
                }
                watch.await;
            }
        }
        let title = app.title();
        let handle = app
            .start(&self.node)
            .await
            .map_err(|error| format!("cannot start {title}: {error}"))?;
        *self.current.0.lock() = Some(handle.clone());
        Ok(handle)
    }

    /// Runs step `index` until the panel asks for another step (`Some`) or is gone (`None`).
    async fn step(&mut self, index: usize, continues: bool) -> Option<usize> {
        let lesson = self.lesson.clone();
        let step = &lesson.steps[index];
        self.publish(|status| {
            *status = LessonStatus {
                step: index,
                phase: Phase::Starting,
                expectations: step
                    .expect
                    .iter()
                    .map(|line| ExpectationState {
                        text: line.line.text.trim_start_matches("expect ").to_owned(),
                        result: None,
                    })
                    .collect(),
                action: None,
                problems: Vec::new(),
                has_action: step.action.is_some(),
                is_acted: false,
            };
        });
        let group = (0..=index)
            .rev()
            .find(|&j| lesson.steps[j].start.is_some())
            .unwrap_or(0);
        let running = self.current.0.lock().clone();
        let handle = match running {
            Some(handle) if continues => Ok(handle),
            _ => {
                let app = lesson.steps[group]
                    .start
                    .clone()
                    .unwrap_or(App::Kv(Stage::Final));
                self.restart(app).await
            }
        };
        let handle = match handle {
            Ok(handle) => handle,
            Err(problem) => {
                self.publish(|status| {
                    status.problems.push(problem);
                    status.phase = Phase::Ready;
                });
                return self.idle().await;
            }
        };
        let mut sink = io::sink();
        let mut runner = match Runner::for_app(&handle, Format::Json, &mut sink) {
            Ok(runner) => runner,
            Err(error) => {
                self.publish(|status| {
                    status
                        .problems
                        .push(format!("cannot observe the node: {error}"));
                    status.phase = Phase::Ready;
                });
                return self.idle().await;
            }
        };
        runner.catch_up().await;
        // The steps of the group before this one, when the node was started afresh.
        let replayed: Vec<(usize, &LessonLine)> = if continues {
            Vec::new()
        } else {
            lesson.steps[group..index]
                .iter()
                .enumerate()
                .flat_map(|(offset, earlier)| {
                    earlier
                        .setup
                        .iter()
                        .chain(&earlier.run)
                        .map(move |line| (group + offset + 1, line))
                })
                .collect()
        };
        for (number, line) in replayed {
            if let Some(problem) = failure(&mut runner, line).await {
                self.publish(|status| {
                    status
                        .problems
                        .push(format!("replaying step {number}: {problem}"))
                });
            }
        }
        for line in &step.setup {
            if let Some(problem) = failure(&mut runner, line).await {
                self.publish(|status| status.problems.push(format!("setup: {problem}")));
            }
        }
        self.check(&mut runner, &step.expect).await;
        self.publish(|status| status.phase = Phase::Ready);
        let mut is_streaming = true;
        loop {
            let wake = tokio::select! {
                request = self.requests.recv() => Wake::Request(request),
                events = runner.next_events(), if is_streaming => Wake::Events(events.is_some()),
            };
            match wake {
                Wake::Request(None) => return None,
                Wake::Request(Some(Request::GoTo(next))) => return Some(next),
                Wake::Request(Some(Request::Act)) => {
                    self.publish(|status| status.phase = Phase::Acting);
                    let mut failures = Vec::new();
                    for line in &step.run {
                        if let Some(problem) = failure(&mut runner, line).await {
                            failures.push(problem);
                        }
                    }
                    self.publish(|status| {
                        status.action = Some(failures);
                        status.is_acted = true;
                    });
                    self.check(&mut runner, &step.expect).await;
                    self.publish(|status| status.phase = Phase::Ready);
                }
                Wake::Events(true) => {
                    self.publish(|status| status.is_acted = true);
                    self.check(&mut runner, &step.expect).await;
                }
                Wake::Events(false) => is_streaming = false,
            }
        }
    }

    /// Waits for the panel's next move when the step could not start.
    async fn idle(&mut self) -> Option<usize> {
        loop {
            match self.requests.recv().await? {
                Request::GoTo(next) => return Some(next),
                Request::Act => {}
            }
        }
    }

    /// Checks each expectation and publishes how each stands.
    async fn check<W: io::Write>(&self, runner: &mut Runner<'_, W>, expect: &[LessonLine]) {
        let mut results = Vec::with_capacity(expect.len());
        for line in expect {
            let result = match steps::run_line(runner, line).await {
                Ok(outcome) => outcome.result,
                Err(error) => Err(error.to_string()),
            };
            results.push(result);
        }
        self.publish(|status| {
            for (state, result) in status.expectations.iter_mut().zip(results) {
                state.result = Some(result);
            }
        });
    }
}

/// Runs a command line; what went wrong, if it did not go as the lesson says.
async fn failure<W: io::Write>(runner: &mut Runner<'_, W>, line: &LessonLine) -> Option<String> {
    match steps::run_line(runner, line).await {
        Ok(outcome) => outcome.result.err(),
        Err(error) => Some(error.to_string()),
    }
}
