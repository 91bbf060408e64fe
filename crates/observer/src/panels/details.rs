//! The details panel: everything known about the selected process.
//!
//! The header, the facts and the relations are
//! [`process_facts`](crate::widgets::process_facts), shared with the process windows;
//! between the header and the facts, the actions (open a window, kill, exit signals), which
//! push commands. A process that exited stays shown from what was last known of it.

use otpscope_contract::{Command, ExitReason, ProcessInfo};

use super::View;
use crate::command::UiCommand;
use crate::widgets::process_facts::{header_ui, overview_grid_ui, relations_ui};

/// The details side panel.
#[derive(Default)]
pub struct DetailsPanel {}

impl DetailsPanel {
    /// Draws the details of the selected process.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        // Keep the panel as wide as it was opened: a short text must not shrink it.
        ui.set_min_width(ui.available_width());
        let Some(pid) = view.state.selected else {
            ui.add_space(8.0);
            ui.heading("Details");
            ui.add_space(6.0);
            ui.label("Select a process in the tree, the outline or a table to see its details.");
            ui.add_space(4.0);
            ui.weak("Double-click a process to open its window; right-click for actions.");
            return;
        };
        // The state outlives `view`'s borrow: no need to copy the process (a registry may
        // monitor 100,000 buckets).
        let state = view.state;
        let Some(info) = state.process(pid) else {
            ui.add_space(8.0);
            ui.heading(pid.to_string());
            ui.label("This process is gone and no longer remembered.");
            return;
        };
        egui::ScrollArea::vertical()
            .id_salt("details_scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.add_space(6.0);
                header_ui(ui, info, state);
                ui.add_space(6.0);
                actions_ui(ui, info, view);
                ui.add_space(8.0);
                overview_grid_ui(ui, "details_grid", info, state, view);
                ui.add_space(6.0);
                relations_ui(ui, info, view);
            });
    }
}

/// The panel's buttons.
fn actions_ui(ui: &mut egui::Ui, info: &ProcessInfo, view: &mut View<'_>) {
    let pid = info.pid;
    let alive = view.state.is_alive(pid);
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Open window")
            .on_hover_text("Overview, state and history (or double-click the process)")
            .clicked()
        {
            view.push(UiCommand::OpenWindow(pid));
        }
        ui.add_enabled_ui(alive && view.capabilities.control, |ui| {
            if ui
                .button("Kill…")
                .on_hover_text("exit(pid, kill), after a confirmation (or press Delete)")
                .clicked()
            {
                view.push(UiCommand::ConfirmKill(pid));
            }
            for (text, reason, hint) in [
                (
                    "Exit shutdown",
                    ExitReason::Shutdown,
                    "exit(pid, shutdown): a trapping process gets it as a message",
                ),
                (
                    "Exit normal",
                    ExitReason::Normal,
                    "exit(pid, normal): ignored unless the process traps exits",
                ),
            ] {
                if ui.button(text).on_hover_text(hint).clicked() {
                    view.push(UiCommand::Send(Command::Exit { pid, reason }));
                }
            }
            if ui
                .button("Exit reason…")
                .on_hover_text("exit(pid, reason) with a reason you type")
                .clicked()
            {
                view.push(UiCommand::AskExitReason(pid));
            }
        });
    });
}
