//! The notices at the bottom right: what commands answered (errors, values read,
//! confirmations), each shown for a few seconds above the consoles.

use std::time::{Duration, Instant};

use crate::state::ObserverState;

/// How long a notice stays on screen.
pub const NOTICE_DURATION: Duration = Duration::from_secs(6);

/// The notices area.
#[derive(Default)]
pub struct Notices {}

impl Notices {
    /// Shows the fresh notices, above the consoles (`bottom_margin` high).
    pub fn ui(&mut self, ctx: &egui::Context, state: &ObserverState, bottom_margin: f32) {
        let now = Instant::now();
        let fresh: Vec<&String> = state
            .notices
            .iter()
            .filter(|(at, _)| now.duration_since(*at) < NOTICE_DURATION)
            .map(|(_, text)| text)
            .collect();
        if fresh.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::new("notices"))
            .anchor(
                egui::Align2::RIGHT_BOTTOM,
                egui::vec2(-340.0, -12.0 - bottom_margin),
            )
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    for text in fresh {
                        ui.label(text.as_str());
                    }
                });
            });
        ctx.request_repaint_after(Duration::from_millis(500));
    }
}
