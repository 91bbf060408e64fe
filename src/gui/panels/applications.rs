//! The Applications tab: the supervision tree as a graph, and beside it a collapsible
//! outline of the same data, with search.

use super::View;

/// The Applications tab.
#[derive(Default)]
pub struct ApplicationsPanel {
    /// Set by Ctrl+F: the search box takes the focus at the next frame.
    pub focus_search: bool,
}

impl ApplicationsPanel {
    /// Makes `pid` visible: expands what hides it and scrolls to it.
    pub fn reveal(&mut self, pid: crate::snapshot::model::Pid) {
        let _ = pid;
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let count = view.state.snapshot.as_ref().map_or(0, |s| s.len());
        ui.heading(format!("{count} processes"));
    }
}
