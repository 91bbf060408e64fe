//! Process windows: one per double-clicked process, with its overview, its state on demand
//! and its history; the title says DEAD once it has exited.
//!
//! Several windows may be open; each is an `egui::Window` with an id made from its pid, so
//! its title can change (`KV.Bucket <0.9.0> — DEAD (killed)`) without losing its place. The
//! state is asked for when the window opens and on Refresh (or every second with "auto"),
//! never on every frame; the app puts the reply in [`ProcessWindow::state`]. A window
//! outlives its process: it keeps what was last known and says why the process died.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use otpscope_contract::{Pid, ProcessInfo, StateRow};

use super::View;
use crate::command::UiCommand;
use crate::format;
use crate::state::{HistoryEntry, ObserverState};
use crate::style::status_color;
use crate::widgets::process_facts::{
    exit_reason_text, header_ui, overview_grid_ui, pid_link_ui, relations_ui,
};

/// How often "auto" asks for the state again.
const AUTO_REFRESH: Duration = Duration::from_secs(1);
/// Above this many state rows a filter box is offered.
const FILTER_FROM: usize = 8;

/// One open process window.
#[derive(Clone, Debug, Default)]
pub struct ProcessWindow {
    /// The process's state as last described, if asked (set by the app from the reply).
    pub state: Option<Result<Option<Vec<StateRow>>, String>>,
    /// The last rows that arrived, kept when a later request fails (the process died).
    last_rows: Option<Vec<StateRow>>,
    /// Which reply `last_rows` was copied from (the address of its rows).
    rows_from: usize,
    /// The rows shown under the filter, and the filter and rows they were computed for.
    filtered: Vec<usize>,
    filtered_for: Option<(String, usize)>,
    /// When the state was last asked for.
    requested_at: Option<Instant>,
    /// Ask for the state every [`AUTO_REFRESH`].
    auto_refresh: bool,
    /// Shows only state rows containing this text.
    filter: String,
}

/// Every open process window, by pid.
#[derive(Default)]
pub struct ProcessWindows {
    /// The open windows.
    pub open: BTreeMap<Pid, ProcessWindow>,
}

impl ProcessWindows {
    /// Draws the open windows.
    pub fn ui(&mut self, ctx: &egui::Context, view: &mut View<'_>) {
        let now = Instant::now();
        // New windows open at the top right of the central area (beside the graph, left of
        // the details panel), each a little lower than the one before.
        let screen = ctx.content_rect();
        let first = egui::pos2(
            (screen.right() - 360.0 - 460.0).max(screen.left() + 20.0),
            screen.top() + 70.0,
        );
        for (index, (pid, window)) in self.open.iter_mut().enumerate() {
            let pid = *pid;
            if let Some(Ok(Some(rows))) = &window.state
                && rows.as_ptr() as usize != window.rows_from
            {
                // A new reply: copy it once (a registry may name 100,000 buckets).
                window.rows_from = rows.as_ptr() as usize;
                window.last_rows = Some(rows.clone());
            }
            if window.requested_at.is_none() {
                // The app asked when it opened the window.
                window.requested_at = Some(now);
            }
            let alive = view.state.is_alive(pid);
            if alive
                && window.auto_refresh
                && window
                    .requested_at
                    .is_none_or(|at| now.duration_since(at) >= AUTO_REFRESH)
            {
                window.requested_at = Some(now);
                view.push(UiCommand::RefreshState(pid));
            }
            if window.auto_refresh && alive {
                ctx.request_repaint_after(AUTO_REFRESH);
            }
            let mut open = true;
            let offset = (index % 8) as f32 * 28.0;
            egui::Window::new(window_title(pid, view.state))
                .id(egui::Id::new(("process_window", pid)))
                .open(&mut open)
                .default_pos(first + egui::vec2(-offset, offset))
                .default_size([440.0, 520.0])
                .resizable(true)
                .collapsible(true)
                .show(ctx, |ui| window_ui(ui, pid, window, view, now));
            if !open {
                view.push(UiCommand::CloseWindow(pid));
            }
        }
    }
}

/// `KV.Bucket <0.9.0>`, and `— DEAD (killed)` once it has exited.
pub fn window_title(pid: Pid, state: &ObserverState) -> String {
    let name = format::label_or_pid(pid, state.process(pid));
    if state.is_alive(pid) {
        name
    } else {
        format!("{name} — DEAD ({})", exit_reason_text(state, pid))
    }
}

fn window_ui(
    ui: &mut egui::Ui,
    pid: Pid,
    window: &mut ProcessWindow,
    view: &mut View<'_>,
    now: Instant,
) {
    let state = view.state;
    let Some(info) = state.process(pid) else {
        ui.label(format!("{pid} is gone and no longer remembered."));
        return;
    };
    let alive = view.state.is_alive(pid);
    header_ui(ui, info, state);
    let (stateful, control) = (view.capabilities.state, view.capabilities.control);
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(alive && stateful, egui::Button::new("Refresh state"))
            .on_hover_text("Ask the process to describe its state again")
            .clicked()
        {
            window.requested_at = Some(now);
            view.push(UiCommand::RefreshState(pid));
        }
        ui.add_enabled(
            alive && stateful,
            egui::Checkbox::new(&mut window.auto_refresh, "auto"),
        )
        .on_hover_text("Refresh the state every second while this window is open");
        if ui.button("Show in tree").clicked() {
            view.push(UiCommand::Reveal(pid));
        }
        if ui
            .add_enabled(alive && control, egui::Button::new("Kill…"))
            .on_hover_text("exit(pid, kill), after a confirmation")
            .clicked()
        {
            view.push(UiCommand::ConfirmKill(pid));
        }
        if ui
            .add_enabled(alive && control, egui::Button::new("Exit reason…"))
            .clicked()
        {
            view.push(UiCommand::AskExitReason(pid));
        }
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt(("process_window_scroll", pid))
        .auto_shrink([false, true])
        .show(ui, |ui| {
            egui::CollapsingHeader::new("State")
                .id_salt(("state", pid))
                .default_open(true)
                .show(ui, |ui| state_ui(ui, pid, info, window, view));
            egui::CollapsingHeader::new("Overview")
                .id_salt(("overview", pid))
                .default_open(true)
                .show(ui, |ui| {
                    overview_grid_ui(ui, &format!("window_grid_{pid}"), info, state, view);
                });
            egui::CollapsingHeader::new("Links and monitors")
                .id_salt(("relations", pid))
                .default_open(false)
                .show(ui, |ui| relations_ui(ui, info, view));
            let history = state.history(pid);
            egui::CollapsingHeader::new(format!("History ({})", history.len()))
                .id_salt(("history", pid))
                .default_open(true)
                .show(ui, |ui| history_ui(ui, &history, view));
        });
}

/// The described state: a bucket's keys and values, the registry's names and pids, a
/// supervisor's child specs.
fn state_ui(
    ui: &mut egui::Ui,
    pid: Pid,
    info: &ProcessInfo,
    window: &mut ProcessWindow,
    view: &mut View<'_>,
) {
    let note = match &window.state {
        None => Some("asking…".to_owned()),
        Some(Ok(None)) => Some(format!("{} does not describe its state.", info.kind.name())),
        Some(Ok(Some(_))) => None,
        Some(Err(error)) => Some(match window.last_rows {
            Some(_) => format!("{error}; showing what was last known"),
            None => error.clone(),
        }),
    };
    if let Some(note) = note {
        ui.label(egui::RichText::new(note).italics().weak());
    }
    if matches!(window.state, Some(Ok(None))) {
        return;
    }
    let Some(rows) = window.last_rows.as_ref() else {
        return;
    };
    if rows.is_empty() {
        ui.weak("(empty)");
        return;
    }
    if rows.len() > FILTER_FROM {
        ui.horizontal(|ui| {
            ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut window.filter)
                    .id_salt(("state_filter", pid))
                    .desired_width(160.0),
            );
        });
    }
    let needle = window.filter.trim().to_lowercase();
    let key = (needle, window.rows_from);
    if window.filtered_for.as_ref() != Some(&key) {
        window.filtered = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| {
                key.0.is_empty()
                    || row.key.to_lowercase().contains(&key.0)
                    || row.value.to_lowercase().contains(&key.0)
            })
            .map(|(index, _)| index)
            .collect();
        window.filtered_for = Some(key);
    }
    let shown = &window.filtered;
    ui.weak(format!(
        "{} of {} entries",
        format::thousands(shown.len() as u64),
        format::thousands(rows.len() as u64)
    ));
    let (key_title, value_title) = match info.kind {
        otpscope_contract::ProcessKind::Supervisor { .. }
        | otpscope_contract::ProcessKind::DynamicSupervisor { .. } => ("Child / flag", "Spec"),
        _ => ("Key", "Value"),
    };
    let state = view.state;
    egui_extras::TableBuilder::new(ui)
        .id_salt(("state_table", pid))
        .striped(true)
        .resizable(true)
        .max_scroll_height(260.0)
        .column(
            egui_extras::Column::initial(140.0)
                .at_least(60.0)
                .clip(true),
        )
        .column(egui_extras::Column::remainder().at_least(80.0).clip(true))
        .header(20.0, |mut header| {
            header.col(|ui| {
                ui.strong(key_title);
            });
            header.col(|ui| {
                ui.strong(value_title);
            });
        })
        .body(|body| {
            body.rows(20.0, shown.len(), |mut row| {
                let Some(entry) = shown.get(row.index()).and_then(|index| rows.get(*index)) else {
                    return;
                };
                row.col(|ui| {
                    ui.label(&entry.key);
                });
                row.col(|ui| match entry.value.parse::<Pid>() {
                    Ok(linked) => pid_link_ui(ui, linked, state, view),
                    Err(_) => {
                        ui.label(&entry.value);
                    }
                });
            });
        });
}

/// Every start, exit (with its reason) and restart (with the new pid) of this child.
fn history_ui(ui: &mut egui::Ui, history: &[HistoryEntry], view: &mut View<'_>) {
    if history.is_empty() {
        ui.weak("Nothing seen yet (the Observer records what happens while it watches).");
        return;
    }
    let state = view.state;
    let dark = ui.visuals().dark_mode;
    egui::Grid::new(ui.id().with("history_grid"))
        .num_columns(2)
        .striped(true)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            for entry in history.iter().rev() {
                match entry {
                    HistoryEntry::Started { pid, at_ms } => {
                        ui.weak(format::duration_ms(*at_ms));
                        ui.horizontal_wrapped(|ui| {
                            ui.label("started");
                            pid_link_ui(ui, *pid, state, view);
                        });
                    }
                    HistoryEntry::Exited { pid, reason, at_ms } => {
                        ui.weak(format::duration_ms(*at_ms));
                        ui.horizontal_wrapped(|ui| {
                            let color = status_color(otpscope_contract::Status::Dead, dark);
                            ui.label(egui::RichText::new("exited").color(color));
                            pid_link_ui(ui, *pid, state, view);
                            ui.label(egui::RichText::new(format!("reason {reason}")).strong());
                        });
                    }
                    HistoryEntry::Restarted { old, new, at_ms } => {
                        ui.weak(format::duration_ms(*at_ms));
                        ui.horizontal_wrapped(|ui| {
                            ui.label("restarted");
                            pid_link_ui(ui, *old, state, view);
                            ui.label("→");
                            pid_link_ui(ui, *new, state, view);
                        });
                    }
                }
                ui.end_row();
            }
        });
    ui.weak("Times count from the node's start.");
}
