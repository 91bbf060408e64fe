//! The facts about one process, as the details panel and the process windows both show
//! them: a header (name, kind, status, or DEAD with the exit reason), a two-column grid of
//! facts, and the processes it is linked to, monitors, is monitored by and supervises, each a
//! link that reveals it. A process that exited is shown from what was last known of it.
//!
//! One thing a reader must know: a live process's uptime ticks, so the grid asks for a
//! repaint a second later while it shows one; nothing else here changes without an update.

use std::time::Duration;

use otpscope_contract::{ExitReason, Pid, ProcessInfo, ProcessKind, Status};

use super::process_menu::process_menu_ui;
use crate::command::UiCommand;
use crate::format;
use crate::panels::View;
use crate::state::{ObserverState, TICK_MARGIN};
use crate::style::{self, NodeKind, status_color};

/// The most entries a list of pids shows (a dynamic supervisor may link 100,000 buckets).
const LIST_LIMIT: usize = 100;
/// How often a shown uptime is brought up to date.
const UPTIME_TICK: Duration = Duration::from_secs(1);

/// The name line: a kind swatch, the label, and a status chip (or DEAD and why).
pub fn header_ui(ui: &mut egui::Ui, info: &ProcessInfo, state: &ObserverState) {
    let dark = ui.visuals().dark_mode;
    let alive = state.is_alive(info.pid);
    ui.horizontal_wrapped(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 18.0), egui::Sense::hover());
        let status = alive.then_some(info.status);
        style::mini_node(
            ui.painter(),
            rect.center(),
            NodeKind::of(&info.kind),
            !alive,
            status,
            dark,
        );
        ui.label(egui::RichText::new(format::label(info)).heading().strong());
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
        ui.weak(format::kind_phrase(&info.kind));
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
                row(ui, "Restart", format::restart_phrase(restart));
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
                    row(
                        ui,
                        "Intensity",
                        format::intensity(*max_restarts, *max_seconds),
                    );
                    restart_budget_ui(ui, info, state, alive);
                }
                ProcessKind::DynamicSupervisor {
                    max_restarts,
                    max_seconds,
                    max_children,
                } => {
                    row(ui, "Strategy", "one_for_one".to_owned());
                    row(
                        ui,
                        "Intensity",
                        format::intensity(*max_restarts, *max_seconds),
                    );
                    restart_budget_ui(ui, info, state, alive);
                    row(
                        ui,
                        "Max children",
                        max_children.map_or_else(|| "infinity".to_owned(), format::thousands),
                    );
                }
                ProcessKind::Server | ProcessKind::Agent | ProcessKind::Plain => {}
            }
            row(
                ui,
                "Trap exit",
                if info.trap_exit { "yes" } else { "no" }.to_owned(),
            );
            row(ui, "Mailbox", format::thousands(info.mailbox_len));
            match &info.vm {
                // A virtual machine counts work in reductions, not messages handled.
                Some(vm) => {
                    row(ui, "Reductions", format::thousands(vm.reductions));
                    row(ui, "Memory", format::bytes(vm.memory_bytes));
                    if let Some(current) = &vm.current_function {
                        row(ui, "Current function", current.to_string());
                    }
                    if let Some(initial) = &vm.initial_call {
                        row(ui, "Initial call", initial.to_string());
                    }
                }
                None => {
                    let handled = info.messages_handled as usize;
                    row(ui, "Handled", format::count(handled, "message", "messages"));
                }
            }
            row(ui, "Restarts", info.restarts.to_string());
            row(
                ui,
                "Started",
                format!(
                    "{} after node start",
                    format::duration_ms(info.started_at_ms)
                ),
            );
            if let Some(lived) = lifetime_ms(info, state) {
                if alive {
                    // It ticks: see the module docs.
                    ui.ctx().request_repaint_after(UPTIME_TICK + TICK_MARGIN);
                    row(ui, "Uptime", format::uptime_ms(lived));
                } else {
                    row(ui, "Lived", format::duration_ms(lived));
                }
            }
            row(
                ui,
                "Children",
                format::thousands(info.children.len() as u64),
            );
        });
}

/// The restart budget row of a supervisor: a gauge of its restarts within its window against
/// its intensity, and the count in words (`2 of 3 in the last 5 s: 1 left`). Restarts age out
/// of the window; the grid repaints once a second while the process is alive (its uptime),
/// which brings the gauge down too. A dead supervisor shows its budget when it died.
fn restart_budget_ui(ui: &mut egui::Ui, info: &ProcessInfo, state: &ObserverState, alive: bool) {
    let now_ms = if alive {
        state.now_ms()
    } else {
        state.dead.get(&info.pid).and_then(|dead| dead.at_ms)
    };
    let Some(budget) = now_ms.and_then(|now_ms| info.restart_budget(now_ms)) else {
        return;
    };
    ui.weak("Restart budget").on_hover_text(
        "Restarts within the intensity's window; one more than allowed and the supervisor gives up",
    );
    ui.horizontal(|ui| {
        let fill = style::budget_color(budget.left(), ui.visuals());
        ui.add(
            egui::ProgressBar::new(budget.fraction_used())
                .desired_width(70.0)
                .desired_height(10.0)
                .fill(fill),
        );
        ui.label(format::restart_budget(&budget));
    });
    ui.end_row();
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
    let text = format::label_or_pid(pid, state.process(pid));
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
    let header = format!("{title} ({})", format::thousands(pids.len() as u64));
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
                    format::thousands((pids.len() - LIST_LIMIT) as u64)
                ));
            }
        });
}

/// How long the process has run (alive) or ran (dead), in ms. A live process's uptime
/// counts to the wall clock (a quiet node sends no deltas to move the snapshot's time).
fn lifetime_ms(info: &ProcessInfo, state: &ObserverState) -> Option<u64> {
    if state.is_alive(info.pid) {
        let now_ms = state.now_ms()?;
        Some(now_ms.saturating_sub(info.started_at_ms))
    } else {
        let died_at_ms = state.dead.get(&info.pid)?.at_ms?;
        Some(died_at_ms.saturating_sub(info.started_at_ms))
    }
}
