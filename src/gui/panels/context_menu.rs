//! The right-click menu every view shows on a process: process info, kill, exit with
//! shutdown, exit with normal, exit with a reason you type.
//!
//! It only pushes commands. Kill here is sent at once (the user already aimed at one
//! process with a right-click); the Delete key asks for confirmation instead (see the app).
//! A signal to a process that died meanwhile fails in the runtime, and the app shows that
//! error as a notice.

use crate::snapshot::model::{Command, ExitReason, Pid};

use super::super::command::UiCommand;
use super::super::tree_data::process_label;
use super::View;

/// Fills a context menu for `pid`; closes the menu when an item is chosen.
pub fn process_menu_ui(ui: &mut egui::Ui, pid: Pid, view: &mut View<'_>) {
    let alive = view.state.is_alive(pid);
    let title = view
        .state
        .process(pid)
        .map_or_else(|| pid.to_string(), process_label);
    ui.label(egui::RichText::new(title).strong());
    if !alive {
        let reason = view
            .state
            .dead
            .get(&pid)
            .and_then(|dead| dead.reason.as_ref())
            .map_or_else(|| "exited".to_owned(), |reason| format!("exited: {reason}"));
        ui.label(
            egui::RichText::new(format!("DEAD ({reason})")).color(ui.visuals().error_fg_color),
        );
    }
    ui.separator();
    if ui.button("Process info").clicked() {
        view.push(UiCommand::OpenWindow(pid));
        ui.close();
    }
    ui.add_enabled_ui(alive, |ui| {
        let mut exit = |ui: &mut egui::Ui, text: &str, hint: &str, reason: ExitReason| {
            if ui.button(text).on_hover_text(hint).clicked() {
                view.push(UiCommand::Send(Command::Exit { pid, reason }));
                ui.close();
            }
        };
        ui.separator();
        exit(
            ui,
            "Kill",
            "exit(pid, kill): cannot be trapped; the process dies with reason killed",
            ExitReason::Kill,
        );
        exit(
            ui,
            "Exit with shutdown",
            "exit(pid, shutdown): a trapping process gets it as a message",
            ExitReason::Shutdown,
        );
        exit(
            ui,
            "Exit with normal",
            "exit(pid, normal): ignored unless the process traps exits",
            ExitReason::Normal,
        );
    });
    if ui
        .add_enabled(alive, egui::Button::new("Exit with a reason…"))
        .clicked()
    {
        view.push(UiCommand::AskExitReason(pid));
        ui.close();
    }
}
