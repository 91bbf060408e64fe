//! The details panel: everything known about the selected process.
//!
//! A header (name, kind, status, or DEAD with the exit reason), the actions (open a window,
//! kill, exit signals), a two-column grid of facts, and the processes it is linked to,
//! monitors, is monitored by and supervises, each a link that reveals it. The grid and the
//! links are shared with the process windows. A process that exited stays shown from what
//! was last known of it.

use otpscope_contract::{Command, ExitReason, Pid, ProcessInfo, ProcessKind, Status};

use super::super::command::UiCommand;
use super::super::state::ObserverState;
use super::super::tree_data::{RowKind, process_label, thousands};
use super::super::tree_graph::status_color;
use super::View;
use super::context_menu::process_menu_ui;

/// The most entries a list of pids shows (a dynamic supervisor may link 100,000 buckets).
const LIST_LIMIT: usize = 100;

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

// === Shared with process windows ===

/// The name line: a kind swatch, the label, and a status chip (or DEAD and why).
pub fn header_ui(ui: &mut egui::Ui, info: &ProcessInfo, state: &ObserverState) {
    let dark = ui.visuals().dark_mode;
    let alive = state.is_alive(info.pid);
    ui.horizontal_wrapped(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 18.0), egui::Sense::hover());
        let status = alive.then_some(info.status);
        super::applications::mini_node(
            ui.painter(),
            rect.center(),
            RowKind::of(&info.kind),
            !alive,
            status,
            dark,
        );
        ui.label(egui::RichText::new(process_label(info)).heading().strong());
    });
    ui.horizontal_wrapped(|ui| {
        if alive {
            let color = status_color(info.status, dark);
            ui.label(egui::RichText::new(format!("● {}", info.status)).color(color));
        } else {
            ui.label(
                egui::RichText::new(format!("DEAD ({})", exit_reason_text(state, info.pid)))
                    .strong()
                    .color(status_color(Status::Dead, dark)),
            );
        }
        ui.weak(kind_text(&info.kind));
    });
}

/// Why `pid` exited, as far as known.
pub fn exit_reason_text(state: &ObserverState, pid: Pid) -> String {
    state
        .dead
        .get(&pid)
        .and_then(|dead| dead.reason.as_ref())
        .map_or_else(|| "exited".to_owned(), ExitReason::to_string)
}

/// The facts about a process in two columns.
pub fn overview_grid_ui(
    ui: &mut egui::Ui,
    id: &str,
    info: &ProcessInfo,
    state: &ObserverState,
    view: &mut View<'_>,
) {
    let alive = state.is_alive(info.pid);
    egui::Grid::new(id)
        .num_columns(2)
        .striped(true)
        .spacing([14.0, 5.0])
        .min_col_width(90.0)
        .show(ui, |ui| {
            let row = |ui: &mut egui::Ui, key: &str, value: String| {
                ui.weak(key);
                ui.add(egui::Label::new(value).wrap());
                ui.end_row();
            };
            row(ui, "Pid", info.pid.to_string());
            row(
                ui,
                "Name",
                info.name
                    .as_deref()
                    .unwrap_or("— (not registered)")
                    .to_owned(),
            );
            row(ui, "Behaviour", info.label.to_string());
            row(ui, "Kind", info.kind.name().to_owned());
            if alive {
                row(ui, "Status", info.status.to_string());
            } else {
                row(
                    ui,
                    "Status",
                    format!("DEAD ({})", exit_reason_text(state, info.pid)),
                );
            }
            ui.weak("Parent");
            match info.parent {
                Some(parent) => pid_link_ui(ui, parent, state, view),
                None => {
                    ui.label("— (a root)");
                }
            }
            ui.end_row();
            if let Some(child_id) = &info.child_id {
                row(ui, "Child id", child_id.to_string());
            }
            if let Some(restart) = info.restart {
                row(ui, "Restart", restart_text(restart));
            }
            if let Some(shutdown) = info.shutdown {
                let text = match shutdown {
                    otpscope_contract::Shutdown::TimeoutMs(ms) => {
                        format!("{ms} ms, then kill")
                    }
                    other => other.to_string(),
                };
                row(ui, "Shutdown", text);
            }
            match &info.kind {
                ProcessKind::Supervisor {
                    strategy,
                    max_restarts,
                    max_seconds,
                } => {
                    row(ui, "Strategy", strategy.to_string());
                    row(ui, "Intensity", intensity_text(*max_restarts, *max_seconds));
                }
                ProcessKind::DynamicSupervisor {
                    max_restarts,
                    max_seconds,
                    max_children,
                } => {
                    row(ui, "Strategy", "one_for_one".to_owned());
                    row(ui, "Intensity", intensity_text(*max_restarts, *max_seconds));
                    row(
                        ui,
                        "Max children",
                        max_children
                            .map_or_else(|| "infinity".to_owned(), |max| thousands(max as usize)),
                    );
                }
                ProcessKind::Server | ProcessKind::Agent | ProcessKind::Plain => {}
            }
            row(
                ui,
                "Trap exit",
                if info.trap_exit { "yes" } else { "no" }.to_owned(),
            );
            row(ui, "Mailbox", thousands(info.mailbox_len as usize));
            let handled = info.messages_handled as usize;
            let plural = if handled == 1 { "" } else { "s" };
            row(
                ui,
                "Handled",
                format!("{} message{plural}", thousands(handled)),
            );
            row(ui, "Restarts", info.restarts.to_string());
            row(
                ui,
                "Started",
                format!("{} after node start", duration_text(info.started_at_ms)),
            );
            if let Some(lived) = lifetime_ms(info, state) {
                row(
                    ui,
                    if alive { "Uptime" } else { "Lived" },
                    duration_text(lived),
                );
            }
            row(ui, "Children", thousands(info.children.len()));
        });
}

/// Links, monitors, monitored by and children, each a list of links.
pub fn relations_ui(ui: &mut egui::Ui, info: &ProcessInfo, view: &mut View<'_>) {
    let salt = info.pid;
    pid_list_ui(ui, ("links", salt), "Links", &info.links, true, view);
    pid_list_ui(
        ui,
        ("monitors", salt),
        "Monitors",
        &info.monitors,
        true,
        view,
    );
    pid_list_ui(
        ui,
        ("monitored_by", salt),
        "Monitored by",
        &info.monitored_by,
        true,
        view,
    );
    pid_list_ui(
        ui,
        ("children", salt),
        "Children",
        &info.children,
        info.children.len() <= 12,
        view,
    );
}

/// A pid as a link that selects and reveals it; right-click for its menu. A dead process's
/// link is struck through.
pub fn pid_link_ui(ui: &mut egui::Ui, pid: Pid, state: &ObserverState, view: &mut View<'_>) {
    let text = state
        .process(pid)
        .map_or_else(|| pid.to_string(), process_label);
    let text = if state.is_alive(pid) {
        egui::RichText::new(text)
    } else {
        egui::RichText::new(format!("{text} (dead)")).strikethrough()
    };
    let response = ui.link(text).on_hover_text("Select and show in the tree");
    if response.clicked() {
        view.push(UiCommand::Reveal(pid));
    }
    response.context_menu(|ui| process_menu_ui(ui, pid, view));
}

fn pid_list_ui(
    ui: &mut egui::Ui,
    id: (&str, Pid),
    title: &str,
    pids: &[Pid],
    default_open: bool,
    view: &mut View<'_>,
) {
    let header = format!("{title} ({})", thousands(pids.len()));
    egui::CollapsingHeader::new(header)
        .id_salt(id)
        .default_open(default_open && !pids.is_empty())
        .show(ui, |ui| {
            if pids.is_empty() {
                ui.weak("none");
                return;
            }
            let state = view.state;
            for pid in pids.iter().take(LIST_LIMIT) {
                pid_link_ui(ui, *pid, state, view);
            }
            if pids.len() > LIST_LIMIT {
                ui.weak(format!(
                    "… and {} more (see the Processes tab)",
                    thousands(pids.len() - LIST_LIMIT)
                ));
            }
        });
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

// === Text ===

fn kind_text(kind: &ProcessKind) -> String {
    match kind {
        ProcessKind::Supervisor { strategy, .. } => format!("supervisor, {strategy}"),
        ProcessKind::DynamicSupervisor { .. } => "dynamic supervisor, one_for_one".to_owned(),
        ProcessKind::Server => "server".to_owned(),
        ProcessKind::Agent => "agent".to_owned(),
        ProcessKind::Plain => "plain process".to_owned(),
    }
}

fn restart_text(restart: otpscope_contract::Restart) -> String {
    use otpscope_contract::Restart;
    let why = match restart {
        Restart::Permanent => "always restarted",
        Restart::Transient => "restarted after a crash",
        Restart::Temporary => "never restarted",
    };
    format!("{restart} ({why})")
}

fn intensity_text(max_restarts: u32, max_seconds: u32) -> String {
    let plural = if max_restarts == 1 { "" } else { "s" };
    format!("{max_restarts} restart{plural} in {max_seconds} s")
}

/// How long the process has run (alive) or ran (dead), in ms. A live process's uptime
/// counts to the wall clock (a quiet node sends no deltas to move the snapshot's time).
fn lifetime_ms(info: &ProcessInfo, state: &ObserverState) -> Option<u64> {
    if state.is_alive(info.pid) {
        let snapshot = state.snapshot.as_ref()?;
        let now_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64)
            .max(snapshot.taken_at_unix_ms);
        let now_ms = now_unix_ms.saturating_sub(snapshot.node_started_at_unix_ms);
        Some(now_ms.saturating_sub(info.started_at_ms))
    } else {
        let died_at_ms = state.dead.get(&info.pid)?.at_ms?;
        Some(died_at_ms.saturating_sub(info.started_at_ms))
    }
}

/// `850 ms`, `12.4 s`, `3 min 07 s`, `2 h 05 min`.
pub fn duration_text(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{} h {:02} min", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(12_400), "12.4 s");
        assert_eq!(duration_text(187_000), "3 min 07 s");
        assert_eq!(duration_text(7_500_000), "2 h 05 min");
    }
}
