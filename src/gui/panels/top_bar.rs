//! The top bar: what is observed, tabs, pause and resume, refresh interval, theme.

use super::View;

/// What the top bar asks the app to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopBarOutcome {
    /// Pause was toggled.
    pub toggle_pause: bool,
    /// The refresh interval changed.
    pub interval_changed: bool,
}

/// The top bar.
#[derive(Default)]
pub struct TopBar {}

impl TopBar {
    /// Draws the bar.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        title: &str,
        paused: bool,
        view: &mut View<'_>,
    ) -> TopBarOutcome {
        let _ = (view, paused);
        ui.label(title);
        TopBarOutcome::default()
    }
}
