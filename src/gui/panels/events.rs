//! The Events tab: the event feed, filterable by kind and text.

use super::View;

/// The Events tab.
#[derive(Default)]
pub struct EventsPanel {}

impl EventsPanel {
    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let _ = view;
        ui.heading("Events");
    }
}
