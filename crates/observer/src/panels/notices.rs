//! The notices at the bottom right: what commands answered (errors, values read,
//! confirmations), each shown for a few seconds above the consoles. While one shows, the
//! area asks for one repaint, when the oldest is due to go.

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
        let fresh: Vec<&(Instant, String)> = state
            .notices
            .iter()
            .filter(|(at, _)| now.duration_since(*at) < NOTICE_DURATION)
            .collect();
        let Some((oldest, _)) = fresh.first() else {
            return;
        };
        // Draw again when the oldest goes (nothing else would wake the UI then).
        ctx.request_repaint_after(NOTICE_DURATION.saturating_sub(now.duration_since(*oldest)));
        egui::Area::new(egui::Id::new("notices"))
            .anchor(
                egui::Align2::RIGHT_BOTTOM,
                egui::vec2(-340.0, -12.0 - bottom_margin),
            )
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    for (_, text) in fresh {
                        ui.label(text.as_str());
                    }
                });
            });
    }
}
