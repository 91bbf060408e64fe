//! The Chaos panel: seeded kills on the node ([`crate::chaos`]'s engine, the one `otpscope
//! chaos` runs), started and stopped from the Observer, with a live list of each kill (when,
//! the tree path, the reason) and what followed it (exits, restarts, supervisors giving up).
//!
//! The panel acts on one node, through a [`SessionOpener`]: each run opens a fresh
//! [`Session`](crate::scenario::session::Session) on it, as `otpscope run` does, so the same
//! panel drives the node in this OS process, a served Rust node (a new authenticated
//! connection for each run) or a BEAM node (a new client for each run), without the Observer
//! knowing which. A node that cannot be
//! reached is the run's error, shown in the panel with its cause.
//!
//! The run is a task on the opener's runtime; the engine tells the panel of each kill and of
//! what followed through [`Chaos::on_news`], and the panel wakes the UI only then. Stop
//! aborts the task (closing its session): the kills sent stay listed.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::chaos::{Chaos, ChaosFormat, ChaosNews, ChaosOptions, parse_reasons};
use crate::gui::egui::{self, RichText};
use crate::gui::panels::View;
use crate::gui::{Extension, style};
use crate::scenario::session::SessionOpener;
use crate::snapshot::Control;

/// The callback that wakes the UI.
type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// One kill as the panel lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct KillRow {
    /// When it was sent, in milliseconds since the run started.
    pub at_ms: u64,
    /// Where the process sat in the tree.
    pub path: String,
    /// The reason sent.
    pub reason: String,
    /// Why it could not be sent, if it could not.
    pub error: Option<String>,
    /// What followed, once the node settled (`None` while it has not).
    pub followed: Option<Vec<String>>,
}

/// What a run has done so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunState {
    /// The seed it runs with.
    pub seed: u64,
    /// Each kill, in order.
    pub kills: Vec<KillRow>,
    /// The summary, once the run is over.
    pub summary: Vec<String>,
    /// Whether the tree survived, once the run is over.
    pub survived: Option<bool>,
    /// Why the run could not start or go on.
    pub error: Option<String>,
    /// Whether the run is over (ended, failed or stopped).
    pub is_over: bool,
}

/// A run: its state, written by its task, and the task.
struct Run {
    state: Arc<Mutex<RunState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Run {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Chaos panel; see the module docs.
pub struct ChaosPanel {
    /// Opens a session on the node for each run.
    opener: SessionOpener,
    /// The form: the seed.
    pub seed: u64,
    /// Kills a second, on average.
    pub rate_per_second: f64,
    /// How long kills go on, in seconds.
    pub duration_s: f64,
    /// Which processes may be killed (empty: every process below a root).
    pub target: String,
    /// The reasons drawn from, comma-separated.
    pub reasons: String,
    /// The current or last run.
    run: Option<Run>,
    /// Why the form's values cannot start a run.
    form_error: Option<String>,
    /// Woken when a run has news.
    waker: Waker,
}

impl ChaosPanel {
    /// A panel that kills on the node in this OS process that `control` acts on.
    pub fn new(control: Control) -> Self {
        Self::opening(SessionOpener::local(control))
    }

    /// A panel that kills on the node `opener` opens sessions on (one a run).
    pub fn opening(opener: SessionOpener) -> Self {
        Self {
            opener,
            seed: 1,
            rate_per_second: 1.0,
            duration_s: 20.0,
            target: String::new(),
            reasons: "kill".to_owned(),
            run: None,
            form_error: None,
            waker: Arc::new(Mutex::new(None)),
        }
    }

    /// What the current or last run has done.
    pub fn state(&self) -> Option<RunState> {
        self.run.as_ref().map(|run| run.state.lock().clone())
    }

    /// Whether a run is going on.
    pub fn is_running(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|run| !run.state.lock().is_over)
    }

    /// Starts a run with the form's values (stopping one that runs).
    pub fn start(&mut self) {
        self.stop();
        let options = match self.options() {
            Ok(options) => options,
            Err(error) => {
                self.form_error = Some(error);
                return;
            }
        };
        self.form_error = None;
        let state = Arc::new(Mutex::new(RunState {
            seed: options.seed,
            ..RunState::default()
        }));
        let opening = self.opener.open();
        let task_state = state.clone();
        let waker = self.waker.clone();
        let task = self.opener.handle().spawn(async move {
            let wake = move || {
                if let Some(wake) = waker.lock().as_ref() {
                    wake();
                }
            };
            let news_state = task_state.clone();
            let news_wake = wake.clone();
            let session = match opening.await {
                Ok(session) => session,
                Err(error) => {
                    let mut state = task_state.lock();
                    state.error = Some(with_causes(&error));
                    state.is_over = true;
                    drop(state);
                    wake();
                    return;
                }
            };
            let mut sink = io::sink();
            let result = match Chaos::new(session, options, ChaosFormat::Text, &mut sink) {
                Ok(chaos) => {
                    chaos
                        .on_news(move |news| {
                            take_news(&mut news_state.lock(), news);
                            news_wake();
                        })
                        .run()
                        .await
                }
                Err(error) => Err(error),
            };
            let mut state = task_state.lock();
            if let Err(error) = result {
                state.error = Some(error.to_string());
            }
            state.is_over = true;
            drop(state);
            wake();
        });
        self.run = Some(Run { state, task });
    }

    /// Stops the run, if one is going on; what it did stays listed.
    pub fn stop(&mut self) {
        if let Some(run) = &self.run {
            run.task.abort();
            let mut state = run.state.lock();
            if !state.is_over {
                state.is_over = true;
                let line = format!("== stopped after {} kills", state.kills.len());
                state.summary.push(line);
            }
        }
    }

    /// The form as the engine's options.
    fn options(&self) -> Result<ChaosOptions, String> {
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return Err("the duration must be a positive number of seconds".to_owned());
        }
        let target = self.target.trim();
        let options = ChaosOptions {
            seed: self.seed,
            duration: Duration::from_secs_f64(self.duration_s),
            rate_per_second: self.rate_per_second,
            target: (!target.is_empty()).then(|| target.to_owned()),
            reasons: parse_reasons(&self.reasons).map_err(|error| error.to_string())?,
        };
        options.check().map_err(|error| error.to_string())?;
        Ok(options)
    }
}

/// Another seed below 100,000, easy to read out to a class (one step of a 64-bit LCG).
fn next_seed(seed: u64) -> u64 {
    let next = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (next >> 33) % 100_000
}

/// An error and its causes on one line: `cannot attach to ADDR: connection: refused`.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// Writes the engine's news into the panel's state.
fn take_news(state: &mut RunState, news: ChaosNews) {
    match news {
        ChaosNews::Killed { index, kill } => {
            let row = KillRow {
                at_ms: kill.at_ms,
                path: kill.path,
                reason: kill.reason.to_string(),
                error: kill.error,
                followed: None,
            };
            if index == state.kills.len() {
                state.kills.push(row);
            }
        }
        ChaosNews::Followed {
            index, followed, ..
        } => {
            if let Some(row) = state.kills.get_mut(index) {
                row.followed = Some(followed);
            }
        }
        ChaosNews::Ended { summary, survived } => {
            state.summary = summary;
            state.survived = Some(survived);
            // Over once its summary is in (its task may not have returned yet): a panel that
            // shows the summary offers Start again, never a Stop for a run that has ended.
            state.is_over = true;
        }
    }
}

impl Extension for ChaosPanel {
    fn title(&self) -> String {
        "Chaos".to_owned()
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(waker);
    }

    fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        ui.add_space(4.0);
        ui.label(RichText::new("Chaos").heading().strong());
        ui.label(
            RichText::new(
                "Kills processes at random from a seed: the same seed on the same tree gives \
                 the same kills, named by tree path.",
            )
            .small()
            .weak(),
        );
        ui.label(RichText::new(format!("Acts on node {}", self.opener.node())).small())
            .on_hover_text("Each run opens its own session on this node");
        ui.separator();
        // The run's state read once for the whole frame: read again further down, the run
        // could end in between, and one frame show its summary beside a Stop button.
        let shown = self.state();
        let running = shown.as_ref().is_some_and(|state| !state.is_over);
        ui.add_enabled_ui(!running && view.capabilities.control, |ui| {
            self.form_ui(ui);
        });
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if running {
                if ui
                    .add(
                        egui::Button::new(RichText::new("■ Stop chaos").strong())
                            .min_size(egui::vec2(140.0, 28.0)),
                    )
                    .clicked()
                {
                    self.stop();
                }
            } else {
                let start = ui
                    .add_enabled(
                        view.capabilities.control,
                        egui::Button::new(RichText::new("▶ Start chaos").strong())
                            .min_size(egui::vec2(140.0, 28.0)),
                    )
                    .on_hover_text("Start killing, as the form says");
                if start.clicked() {
                    self.start();
                }
            }
            if let Some(state) = &shown {
                let kills = state.kills.len();
                let text = if running {
                    format!("running: {kills} kills so far")
                } else {
                    format!("seed {}: {kills} kills", state.seed)
                };
                ui.label(RichText::new(text).weak());
            }
        });
        if let Some(error) = &self.form_error {
            ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
        }
        ui.separator();
        let Some(state) = shown else {
            ui.label(RichText::new("No run yet.").weak());
            return;
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .stick_to_bottom(true)
            .show(ui, |ui| run_ui(ui, &state));
    }
}

impl ChaosPanel {
    fn form_ui(&mut self, ui: &mut egui::Ui) {
        egui::Grid::new("chaos_form")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                ui.label("Seed");
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut self.seed).speed(1.0));
                    if ui
                        .small_button("New seed")
                        .on_hover_text("Another seed, for another sequence of kills")
                        .clicked()
                    {
                        self.seed = next_seed(self.seed);
                    }
                });
                ui.end_row();
                ui.label("Rate");
                ui.add(
                    egui::DragValue::new(&mut self.rate_per_second)
                        .range(0.1..=50.0)
                        .speed(0.1)
                        .suffix(" kills/s"),
                );
                ui.end_row();
                ui.label("Duration");
                ui.add(
                    egui::DragValue::new(&mut self.duration_s)
                        .range(1.0..=600.0)
                        .speed(1.0)
                        .suffix(" s"),
                );
                ui.end_row();
                ui.label("Target");
                ui.add(
                    egui::TextEdit::singleline(&mut self.target)
                        .hint_text("every process below a root")
                        .desired_width(200.0),
                )
                .on_hover_text("A glob (*, ?) on the tree path, the name or the label: KV.Bucket, KV.Supervisor/*");
                ui.end_row();
                ui.label("Reasons");
                ui.add(
                    egui::TextEdit::singleline(&mut self.reasons)
                        .hint_text("kill,shutdown,boom")
                        .desired_width(200.0),
                )
                .on_hover_text("Exit reasons drawn from, comma-separated: kill, shutdown, normal, shutdown:TERM or any word");
                ui.end_row();
            });
    }
}

/// The kills and what followed each, then the summary.
fn run_ui(ui: &mut egui::Ui, state: &RunState) {
    let colors = style::event_colors(ui.visuals());
    for kill in &state.kills {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!("{:>7.3} s", kill.at_ms as f64 / 1000.0))
                    .monospace()
                    .weak(),
            );
            ui.label(RichText::new(&kill.path).strong());
            ui.label(RichText::new(&kill.reason).color(colors.exited));
        });
        let indent = |ui: &mut egui::Ui, text: &str, color| {
            // Indented, and wrapped within the indent.
            ui.horizontal_top(|ui| {
                ui.add_space(18.0);
                ui.add(egui::Label::new(RichText::new(text).size(12.5).color(color)).wrap());
            });
        };
        if let Some(error) = &kill.error {
            indent(ui, &format!("failed: {error}"), ui.visuals().error_fg_color);
        }
        match &kill.followed {
            None => indent(ui, "…", colors.quiet),
            Some(followed) if followed.is_empty() => indent(ui, "(nothing followed)", colors.quiet),
            Some(followed) => {
                for text in followed {
                    let color = if text.contains("restarted") {
                        colors.restarted
                    } else if text.contains("gave up") {
                        colors.gave_up
                    } else {
                        colors.quiet
                    };
                    indent(ui, &format!("• {text}"), color);
                }
            }
        }
        ui.add_space(3.0);
    }
    if let Some(error) = &state.error {
        ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
    }
    if !state.summary.is_empty() {
        ui.separator();
        let color = match state.survived {
            Some(true) => style::success_color(ui.visuals()),
            Some(false) => ui.visuals().error_fg_color,
            None => ui.visuals().text_color(),
        };
        for line in &state.summary {
            ui.label(
                RichText::new(line.trim_start_matches("== "))
                    .strong()
                    .color(color),
            );
        }
    }
}
