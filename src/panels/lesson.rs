//! The lesson panel: the current step (n of N), its text, its action as a button, and its
//! expectations, with a check mark once they all hold; previous and next step.
//!
//! It draws a [`LiveLesson`]'s status and sends it requests; the lesson's task runs the
//! lines and checks the expectations on the node's runtime, and wakes the UI only when the
//! status changed. What each line means is the lesson's ([`crate::lesson`]).

use crate::gui::egui::{self, RichText};
use crate::gui::panels::View;
use crate::gui::{Extension, style};
use crate::lesson::live::{LessonStatus, LiveLesson, Phase};

/// The label of the check mark a step shows once its expectations hold.
pub const MET_LABEL: &str = "✔ Expectation met";

/// The lesson panel; see the module docs.
pub struct LessonPanel {
    /// The lesson running on the node.
    live: LiveLesson,
}

impl LessonPanel {
    /// A panel on `live`.
    pub fn new(live: LiveLesson) -> Self {
        Self { live }
    }

    /// The lesson running.
    pub fn live(&self) -> &LiveLesson {
        &self.live
    }
}

impl Extension for LessonPanel {
    fn title(&self) -> String {
        "Lesson".to_owned()
    }

    fn is_open_at_start(&self) -> bool {
        true
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        self.live.set_waker(waker);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _view: &mut View<'_>) {
        let status = self.live.status();
        let lesson = self.live.lesson();
        let count = lesson.steps.len();
        let Some(step) = lesson.steps.get(status.step) else {
            return;
        };
        ui.add_space(4.0);
        ui.label(RichText::new(&lesson.title).heading().strong());
        if !lesson.about.is_empty() {
            ui.label(RichText::new(&lesson.about).small().weak());
        }
        ui.separator();
        ui.horizontal(|ui| {
            let busy = status.phase != Phase::Ready;
            let previous = ui
                .add_enabled(status.step > 0 && !busy, egui::Button::new("◀ Previous"))
                .on_hover_text("The step before (the node is started again as it says)");
            if previous.clicked() {
                self.live.go_to(status.step - 1);
            }
            ui.label(RichText::new(format!("Step {} of {count}", status.step + 1)).strong());
            let next = ui
                .add_enabled(
                    status.step + 1 < count && !busy,
                    egui::Button::new("Next ▶"),
                )
                .on_hover_text("The next step");
            if next.clicked() {
                self.live.go_to(status.step + 1);
            }
        });
        ui.add_space(6.0);
        ui.label(RichText::new(&step.title).size(17.0).strong());
        if let Some(app) = &step.start {
            ui.label(
                RichText::new(format!("Starts {}", app.title()))
                    .small()
                    .weak(),
            );
        }
        ui.add_space(4.0);
        if status.is_met() {
            ui.label(
                RichText::new(MET_LABEL)
                    .size(16.0)
                    .strong()
                    .color(style::success_color(ui.visuals())),
            );
            ui.add_space(4.0);
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for paragraph in step.text.split("\n\n") {
                    ui.label(paragraph.replace('\n', " "));
                    ui.add_space(6.0);
                }
                self.action_ui(ui, step.action.as_deref(), &status);
                expectations_ui(ui, &status);
                for problem in &status.problems {
                    ui.label(RichText::new(problem).color(ui.visuals().error_fg_color));
                }
            });
    }
}

impl LessonPanel {
    /// The action's button, and how it went.
    fn action_ui(&self, ui: &mut egui::Ui, action: Option<&str>, status: &LessonStatus) {
        let Some(action) = action else {
            return;
        };
        ui.add_space(2.0);
        let ready = status.phase == Phase::Ready;
        let button = egui::Button::new(RichText::new(format!("▶ {action}")).strong())
            .wrap()
            .min_size(egui::vec2(ui.available_width().min(320.0), 30.0));
        let response = ui
            .add_enabled(ready, button)
            .on_hover_text("Runs the step's action on the node");
        if response.clicked() {
            self.live.act();
        }
        match (&status.phase, &status.action) {
            (Phase::Starting, _) => {
                ui.label(RichText::new("Starting the step…").weak());
            }
            (Phase::Acting, _) => {
                ui.label(RichText::new("Running the action…").weak());
            }
            (Phase::Ready, Some(failures)) if failures.is_empty() => {
                ui.label(
                    RichText::new("The action ran.").color(style::success_color(ui.visuals())),
                );
            }
            (Phase::Ready, Some(failures)) => {
                for failure in failures {
                    ui.label(RichText::new(failure).color(ui.visuals().error_fg_color));
                }
            }
            (Phase::Ready, None) => {}
        }
        ui.add_space(8.0);
    }
}

/// What the step expects, each with how it stands: ✔ holds, ○ not yet (✗ once the action
/// has run and it still does not hold), and what was found on hover.
fn expectations_ui(ui: &mut egui::Ui, status: &LessonStatus) {
    if status.expectations.is_empty() {
        return;
    }
    ui.label(RichText::new("What should happen").strong());
    let acted = status.is_acted;
    for expectation in &status.expectations {
        let (mark, color, detail) = match &expectation.result {
            Some(Ok(found)) => (
                "✔",
                style::success_color(ui.visuals()),
                found.clone().unwrap_or_else(|| "holds".to_owned()),
            ),
            Some(Err(why)) if acted => ("✗", ui.visuals().error_fg_color, why.clone()),
            Some(Err(why)) => ("○", ui.visuals().weak_text_color(), why.clone()),
            None => (
                "○",
                ui.visuals().weak_text_color(),
                "not checked yet".to_owned(),
            ),
        };
        // The text wraps beside its mark: a long path (`KV.Supervisor/KV.BucketSupervisor/
        // KV.Bucket`) breaks onto the next line instead of widening the panel.
        ui.horizontal_top(|ui| {
            ui.label(RichText::new(mark).color(color).strong());
            ui.add(egui::Label::new(RichText::new(&expectation.text).monospace()).wrap())
                .on_hover_text(detail);
        });
    }
}
