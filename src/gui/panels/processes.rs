//! The Processes tab: every process in a sortable, filterable, virtualised table.

use super::View;

/// The Processes tab.
#[derive(Default)]
pub struct ProcessesPanel {}

impl ProcessesPanel {
    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let _ = view;
        ui.heading("Processes");
    }
}
