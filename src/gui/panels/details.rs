//! The details panel: everything known about the selected process.

use super::View;

/// The details side panel.
#[derive(Default)]
pub struct DetailsPanel {}

impl DetailsPanel {
    /// Draws the details of the selected process.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        match view.state.selected {
            Some(pid) => ui.label(format!("Selected {pid}")),
            None => ui.label("Select a process"),
        };
    }
}
