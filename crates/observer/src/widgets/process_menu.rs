//! The right-click menu every view shows on a process: process info, kill, exit with
//! shutdown, exit with normal, exit with a reason you type; on a supervisor, OTP's own admin
//! calls too (terminate, restart and delete a child, stop the supervisor with a reason), and
//! on a supervised process, terminate it through its supervisor.
//!
//! It only pushes commands. Kill here is sent at once (the user already aimed at one
//! process with a right-click); the Delete key asks for confirmation instead (see the app).
//! A signal or a call to a process that died meanwhile fails in the runtime, and the app
//! shows that error as a notice.
//!
//! Restart child and Delete child act on specs that have no process, which the snapshot does
//! not hold: while the menu of a supervisor is open, it asks the supervisor for its children
//! ([`UiCommand::ListChildren`], at most once a
//! [`CHILD_LIST_FRESH`](crate::state::CHILD_LIST_FRESH)) and lists the answer.

use std::time::Instant;

use otpscope_contract::{ArgValue, ChildRef, ChildRow, Command, ExitReason, Pid, ProcessKind};

use crate::command::UiCommand;
use crate::format;
use crate::panels::View;

/// At most this many children are listed in Terminate child; past it, the menu says to
/// right-click the child itself.
const MAX_LISTED_CHILDREN: usize = 50;

/// Fills a context menu for `pid`; closes the menu when an item is chosen.
pub fn process_menu_ui(ui: &mut egui::Ui, pid: Pid, view: &mut View<'_>) {
    let alive = view.state.is_alive(pid);
    let title = format::label_or_pid(pid, view.state.process(pid));
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
    if !view.capabilities.control {
        ui.weak("Read-only: this source takes no commands");
        return;
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
    if alive {
        app_commands_ui(ui, pid, view);
        if view.capabilities.supervisor_calls {
            supervised_ui(ui, pid, view);
            supervisor_ui(ui, pid, view);
        }
    }
}

/// The applications' commands on one process of this kind (a tree file's Crash now, Busy),
/// under each app's title.
fn app_commands_ui(ui: &mut egui::Ui, pid: Pid, view: &mut View<'_>) {
    let Some(kind) = view.state.process(pid).map(|info| info.kind.name()) else {
        return;
    };
    let capabilities = view.capabilities;
    for app in &capabilities.apps {
        let commands: Vec<_> = app
            .commands
            .iter()
            .filter_map(|command| Some((command, command.on_process.as_ref()?)))
            .filter(|(_, on)| on.kinds.is_empty() || on.kinds.iter().any(|k| k == kind))
            .collect();
        if commands.is_empty() {
            continue;
        }
        ui.separator();
        ui.weak(&app.title);
        for (spec, on) in commands {
            if !ui.button(&spec.label).on_hover_text(&spec.help).clicked() {
                continue;
            }
            let given = |name: &str| (name == on.arg).then_some(ArgValue::Pid(pid));
            match spec.command(&app.name, given) {
                Ok(command) => view.push(UiCommand::Send(Command::App(command))),
                Err(error) => view.push(UiCommand::Notice(format!("{}: {error}", spec.label))),
            }
            ui.close();
        }
    }
}

/// On a process with a child id under a live supervisor: terminate it through that
/// supervisor, so that it is not restarted.
fn supervised_ui(ui: &mut egui::Ui, pid: Pid, view: &mut View<'_>) {
    let Some(info) = view.state.process(pid) else {
        return;
    };
    let (Some(parent), Some(id)) = (info.parent, info.child_id.as_deref()) else {
        return;
    };
    let is_supervised = view
        .state
        .process(parent)
        .is_some_and(|parent| parent.kind.is_supervisor())
        && view.state.is_alive(parent);
    if !is_supervised {
        return;
    }
    ui.separator();
    let hint = format!(
        "terminate_child(supervisor {parent}, {id}): stopped as its shutdown says, and not \
         restarted; a kept spec can be restarted from the supervisor's menu"
    );
    if ui
        .button("Terminate (by its supervisor)")
        .on_hover_text(hint)
        .clicked()
    {
        view.push(UiCommand::Send(Command::TerminateChild {
            supervisor: parent,
            child: ChildRef::Pid(pid),
        }));
        ui.close();
    }
}

/// On a supervisor: its admin calls.
fn supervisor_ui(ui: &mut egui::Ui, pid: Pid, view: &mut View<'_>) {
    let Some(info) = view.state.process(pid) else {
        return;
    };
    let is_dynamic = match info.kind {
        ProcessKind::Supervisor { .. } => false,
        ProcessKind::DynamicSupervisor { .. } => true,
        _ => return,
    };
    ui.separator();
    terminate_child_ui(ui, pid, is_dynamic, view);
    if !is_dynamic {
        let now = Instant::now();
        let is_stale = view
            .state
            .child_lists
            .get(&pid)
            .is_none_or(|list| list.is_stale(now));
        if is_stale {
            view.push(UiCommand::ListChildren(pid));
        }
        stopped_child_ui(ui, pid, "Restart child", view);
        stopped_child_ui(ui, pid, "Delete child", view);
    }
    ui.menu_button("Stop supervisor", |ui| {
        let mut stop = |ui: &mut egui::Ui, text: &str, reason: ExitReason| {
            let hint = format!(
                "Supervisor.stop(pid, {reason}): its children stop right to left, each as its \
                 shutdown says, then it exits with {reason}"
            );
            if ui.button(text).on_hover_text(hint).clicked() {
                view.push(UiCommand::Send(Command::StopSupervisor {
                    supervisor: pid,
                    reason,
                }));
                ui.close();
            }
        };
        stop(ui, "with normal", ExitReason::Normal);
        stop(ui, "with shutdown", ExitReason::Shutdown);
        if ui.button("with a reason…").clicked() {
            view.push(UiCommand::AskStopReason(pid));
            ui.close();
        }
    })
    .response
    .on_hover_text("Supervisor.stop/2: stops it from outside, as an operator would");
}

/// Terminate child: the supervisor's live children, by child id (by pid under a dynamic
/// supervisor).
fn terminate_child_ui(ui: &mut egui::Ui, pid: Pid, is_dynamic: bool, view: &mut View<'_>) {
    let Some(snapshot) = view.state.snapshot.clone() else {
        return;
    };
    let children: Vec<_> = snapshot.children_of(pid).collect();
    let hint = if is_dynamic {
        "DynamicSupervisor.terminate_child(pid, child): stops it as its shutdown says"
    } else {
        "Supervisor.terminate_child(pid, id): stops it as its shutdown says; the spec of a \
         permanent or transient child stays, for Restart child or Delete child"
    };
    ui.add_enabled_ui(!children.is_empty(), |ui| {
        ui.menu_button("Terminate child", |ui| {
            egui::ScrollArea::vertical()
                .max_height(360.0)
                .show(ui, |ui| {
                    for child in children.iter().take(MAX_LISTED_CHILDREN) {
                        let text = match (&child.child_id, is_dynamic) {
                            (Some(id), false) => format!("{id} {}", child.pid),
                            _ => format::label(child),
                        };
                        if ui.button(text).clicked() {
                            let target = match (&child.child_id, is_dynamic) {
                                (Some(id), false) => ChildRef::Id(id.to_string()),
                                _ => ChildRef::Pid(child.pid),
                            };
                            view.push(UiCommand::Send(Command::TerminateChild {
                                supervisor: pid,
                                child: target,
                            }));
                            ui.close();
                        }
                    }
                    let more = children.len().saturating_sub(MAX_LISTED_CHILDREN);
                    if more > 0 {
                        ui.weak(format!(
                            "… and {more} more: right-click one, Terminate (by its supervisor)"
                        ));
                    }
                });
        })
        .response
        .on_hover_text(hint);
    });
}

/// Restart child or Delete child: the children whose spec is kept with no process, as the
/// supervisor last listed them.
fn stopped_child_ui(ui: &mut egui::Ui, pid: Pid, text: &str, view: &mut View<'_>) {
    let list = view
        .state
        .child_lists
        .get(&pid)
        .and_then(|list| list.children.clone());
    let stopped: Vec<ChildRow> = match &list {
        Some(Ok(children)) => children
            .iter()
            .filter(|child| child.pid.is_none() && !child.is_restarting)
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let is_restart = text == "Restart child";
    let hint = if is_restart {
        "Supervisor.restart_child(pid, id): starts again a child whose spec was kept"
    } else {
        "Supervisor.delete_child(pid, id): removes the spec of a child that is not running"
    };
    ui.menu_button(text, |ui| {
        match &list {
            None => {
                ui.weak("asking the supervisor…");
            }
            Some(Err(error)) => {
                ui.label(egui::RichText::new(error).color(ui.visuals().error_fg_color));
            }
            Some(Ok(_)) if stopped.is_empty() => {
                ui.weak("no stopped child (terminate one first)");
            }
            Some(Ok(_)) => {}
        }
        for child in &stopped {
            let label = format!("{} ({})", child.id, child.restart);
            if ui.button(label).clicked() {
                let id = child.id.clone();
                let command = if is_restart {
                    Command::RestartChild {
                        supervisor: pid,
                        id,
                    }
                } else {
                    Command::DeleteChild {
                        supervisor: pid,
                        id,
                    }
                };
                view.push(UiCommand::Send(command));
                ui.close();
            }
        }
    })
    .response
    .on_hover_text(hint);
}
