//! The System tab: load charts over a rolling window.

use super::View;

/// The System tab.
#[derive(Default)]
pub struct SystemPanel {}

impl SystemPanel {
    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let _ = view;
        ui.heading("System");
    }
}
