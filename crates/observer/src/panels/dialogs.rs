//! The dialogs shown over everything, one at a time: the exit reason to send, the reason to
//! stop a supervisor with, and the confirmation of a kill (the Delete key asks it).
//!
//! Commands ask for a dialog ([`UiCommand::AskExitReason`] and the like); the app opens it
//! here, and its buttons push the command it was for, then close it. Enter confirms and
//! Escape cancels.

use otpscope_contract::{Command, ExitReason, Pid};

use super::View;
use crate::command::UiCommand;
use crate::format;

/// A dialog and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    /// Asks for a custom exit reason.
    ExitReason {
        /// The process to signal.
        pid: Pid,
        /// The reason as typed.
        reason: String,
    },
    /// Asks for the reason to stop a supervisor with.
    StopReason {
        /// The supervisor.
        pid: Pid,
        /// The reason as typed.
        reason: String,
    },
    /// Asks to confirm a kill.
    ConfirmKill(Pid),
}

/// The dialog shown, if any.
#[derive(Default)]
pub struct Dialogs {
    /// The dialog open now.
    open: Option<Dialog>,
}

impl Dialogs {
    /// Shows `dialog` (in place of any other).
    pub fn open(&mut self, dialog: Dialog) {
        self.open = Some(dialog);
    }

    /// Whether a dialog is shown.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Draws the open dialog, if any; its buttons push commands and close it.
    pub fn ui(&mut self, ctx: &egui::Context, view: &mut View<'_>) {
        let Some(dialog) = self.open.as_mut() else {
            return;
        };
        let mut close = false;
        match dialog {
            Dialog::ExitReason { pid, reason } => {
                let pid = *pid;
                egui::Window::new(format!("Exit {pid} with a reason"))
                    .collapsible(false)
                    .resizable(false)
                    .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                    .show(ctx, |ui| {
                        ui.label("Reason (normal, shutdown, kill, or any word):");
                        let edit = ui.text_edit_singleline(reason);
                        // Enter makes the field give up focus: read that before asking for
                        // focus again, which would hide it.
                        let enter =
                            edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        edit.request_focus();
                        ui.horizontal(|ui| {
                            if (ui.button("Send exit signal").clicked() || enter)
                                && !reason.trim().is_empty()
                            {
                                let reason = ExitReason::parse(reason.trim());
                                view.push(UiCommand::Send(Command::Exit { pid, reason }));
                                close = true;
                            }
                            if ui.button("Cancel").clicked()
                                || ui.input(|i| i.key_pressed(egui::Key::Escape))
                            {
                                close = true;
                            }
                        });
                    });
            }
            Dialog::StopReason { pid, reason } => {
                let pid = *pid;
                egui::Window::new(format!("Stop supervisor {pid}"))
                    .collapsible(false)
                    .resizable(false)
                    .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                    .show(ctx, |ui| {
                        ui.label(
                            "Supervisor.stop/2: its children stop right to left, then it \
                             exits with this reason (normal, shutdown, or any word):",
                        );
                        let edit = ui.text_edit_singleline(reason);
                        // Enter makes the field give up focus: read that before asking for
                        // focus again, which would hide it.
                        let enter =
                            edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        edit.request_focus();
                        ui.horizontal(|ui| {
                            if (ui.button("Stop supervisor").clicked() || enter)
                                && !reason.trim().is_empty()
                            {
                                let reason = ExitReason::parse(reason.trim());
                                view.push(UiCommand::Send(Command::StopSupervisor {
                                    supervisor: pid,
                                    reason,
                                }));
                                close = true;
                            }
                            if ui.button("Cancel").clicked()
                                || ui.input(|i| i.key_pressed(egui::Key::Escape))
                            {
                                close = true;
                            }
                        });
                    });
            }
            Dialog::ConfirmKill(pid) => {
                let pid = *pid;
                let name = format::label_or_pid(pid, view.state.process(pid));
                egui::Window::new("Kill process?")
                    .collapsible(false)
                    .resizable(false)
                    .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                    .show(ctx, |ui| {
                        ui.label(format!("Send kill to {name}? It cannot be trapped."));
                        ui.horizontal(|ui| {
                            if ui.button("Kill").clicked()
                                || ui.input(|i| i.key_pressed(egui::Key::Enter))
                            {
                                view.push(UiCommand::Send(Command::Exit {
                                    pid,
                                    reason: ExitReason::Kill,
                                }));
                                close = true;
                            }
                            if ui.button("Cancel").clicked()
                                || ui.input(|i| i.key_pressed(egui::Key::Escape))
                            {
                                close = true;
                            }
                        });
                    });
            }
        }
        if close {
            self.open = None;
        }
    }
}
