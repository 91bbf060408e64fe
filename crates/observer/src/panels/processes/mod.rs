//! The Processes tab: every process in a sortable, filterable, virtualised table.
//!
//! The rows are derived data ([`rows`], a pure builder): [`ProcessesPanel`] rebuilds them
//! (filter, then a stable sort) only when the snapshot's revision, the filter, the sort or
//! the message rates change, and drawing formats only the rows on screen, so a frame costs
//! the same at 100 or 100,000 processes. The default view (no filter, in pid order) builds
//! nothing: the snapshot is in pid order already, so row `i` is its `i`-th process, and a new
//! snapshot costs that view nothing. Rows hold pids, not process data: each visible row
//! looks its process up in the current snapshot. (Holding an `Arc` of the snapshot would make
//! the next delta copy it.)
//!
//! Messages per second come from `messages_handled` between two samples of the snapshot at
//! least a second apart, kept here as pid-ordered vectors so a resample is one merge pass.
//!
//! At rest the table asks for one frame a second while it shows rows: the uptimes tick (in
//! whole seconds) and the rates of processes gone quiet fall back to zero.

mod rows;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use egui_extras::Column;

use otpscope_contract::{Pid, ProcessInfo, Snapshot, Status};

use super::View;
use crate::command::UiCommand;
use crate::format;
use crate::state::{MarkKind, ObserverState, TICK_MARGIN};
use crate::style::{NodeKind, kind_colors, mark_color, status_color};
use crate::widgets::process_menu::process_menu_ui;
use crate::widgets::table::{self, filter_box_ui, numeric_cell_ui, swatch_ui};
use rows::{Row, build_rows};

pub use rows::SortColumn;

/// How often the uptimes shown are brought up to date.
const UPTIME_TICK: Duration = Duration::from_secs(1);
/// A rebuild slower than this (a very large node) ...
const SLOW_BUILD: Duration = Duration::from_millis(2);
/// ... is redone for a new snapshot at most this often; cells still show current values,
/// only the order and the set of rows lag. A new filter or sort rebuilds at once.
const SLOW_BUILD_PERIOD: Duration = Duration::from_millis(250);

/// What the rows were built from; they are rebuilt when any of it changes.
#[derive(Clone, Debug, PartialEq)]
struct BuiltFrom {
    revision: u64,
    filter: String,
    sort: SortColumn,
    ascending: bool,
    rates_generation: u64,
}

/// The Processes tab.
pub struct ProcessesPanel {
    /// The filter typed by the user: every word must match the pid, name, label, child id,
    /// kind or status (case-insensitive).
    pub filter: String,
    /// The column sorted by.
    pub sort: SortColumn,
    /// Whether the sort is ascending.
    pub ascending: bool,
    /// Set by Ctrl+F: the filter takes the focus at the next frame.
    pub focus_filter: bool,
    /// The rows shown, filtered and sorted.
    rows: Rows,
    /// What `rows` was built from.
    built: Option<BuiltFrom>,
    /// When the rows were last built, and how long that took.
    built_at: Option<(Instant, Duration)>,
    /// The selection the table last saw, to scroll to a selection made elsewhere.
    seen_selection: Option<Pid>,
}

impl Default for ProcessesPanel {
    fn default() -> Self {
        Self {
            filter: String::new(),
            sort: SortColumn::Pid,
            ascending: true,
            focus_filter: false,
            rows: Rows::Built(Vec::new()),
            built: None,
            built_at: None,
            seen_selection: None,
        }
    }
}

// === impl ProcessesPanel ===

impl ProcessesPanel {
    /// The pids shown, in the order shown (filtered and sorted as of the last frame).
    pub fn shown_pids<'a>(&'a self, snapshot: &'a Snapshot) -> impl Iterator<Item = Pid> + 'a {
        (0..self.rows.len(snapshot))
            .filter_map(|index| self.rows.row(snapshot, &[], index).map(|row| row.pid))
    }

    /// Sorts by `column`: a second click on the sorted column reverses the order; a new
    /// column starts ascending for text and descending (biggest first) for numbers.
    pub fn sort_by(&mut self, column: SortColumn) {
        if self.sort == column {
            self.ascending = !self.ascending;
        } else {
            self.sort = column;
            self.ascending = !column.is_numeric();
        }
    }

    /// Brings the rows up to date with the state, rebuilding only if something they depend
    /// on changed.
    pub fn refresh(&mut self, state: &ObserverState, now: Instant) {
        let Some(snapshot) = state.snapshot.as_deref() else {
            self.rows = Rows::Built(Vec::new());
            self.built = None;
            return;
        };
        let wanted = BuiltFrom {
            revision: state.revision,
            filter: self.filter.clone(),
            sort: self.sort,
            ascending: self.ascending,
            rates_generation: state.rates.generation,
        };
        let Some(built) = self.built.as_ref() else {
            return self.build(snapshot, &state.rates.per_s, wanted, now);
        };
        if *built == wanted {
            return;
        }
        let is_same_view = built.filter == wanted.filter
            && built.sort == wanted.sort
            && built.ascending == wanted.ascending;
        let is_throttled = self.built_at.is_some_and(|(at, took)| {
            took >= SLOW_BUILD && now.saturating_duration_since(at) < SLOW_BUILD_PERIOD
        });
        if !(is_same_view && is_throttled) {
            self.build(snapshot, &state.rates.per_s, wanted, now);
        }
    }

    fn build(
        &mut self,
        snapshot: &Snapshot,
        per_s: &[(Pid, f32)],
        wanted: BuiltFrom,
        now: Instant,
    ) {
        let started = Instant::now();
        self.rows = if self.filter.trim().is_empty() && self.sort == SortColumn::Pid {
            Rows::InPidOrder {
                ascending: self.ascending,
            }
        } else {
            Rows::Built(build_rows(
                snapshot,
                per_s,
                &self.filter,
                self.sort,
                self.ascending,
            ))
        };
        self.built = Some(wanted);
        self.built_at = Some((now, started.elapsed()));
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        self.refresh(view.state, Instant::now());
        let total = view.state.snapshot.as_ref().map_or(0, |s| s.len());

        ui.horizontal(|ui| {
            filter_box_ui(
                ui,
                &mut self.filter,
                &mut self.focus_filter,
                "Filter: pid, name, kind, status (Ctrl+F)",
                300.0,
            );
            let shown = view
                .state
                .snapshot
                .as_deref()
                .map_or(0, |snapshot| self.rows.len(snapshot));
            if self.filter.trim().is_empty() {
                ui.label(format!("{} processes", format::thousands(total as u64)));
            } else {
                ui.label(format!(
                    "{} of {} processes",
                    format::thousands(shown as u64),
                    format::thousands(total as u64)
                ));
            }
        });
        ui.add_space(4.0);

        if view.state.snapshot.is_none() {
            ui.weak("Waiting for the first snapshot…");
            return;
        }
        self.table_ui(ui, view);
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let state = view.state;
        let Some(snapshot) = state.snapshot.as_deref() else {
            return;
        };
        let now_ms = state.now_ms().unwrap_or_default();
        let now = Instant::now();
        let shown = self.rows.len(snapshot);
        if shown > 0 {
            // Uptimes tick and rates fall back to zero: a frame a second while rows show.
            ui.ctx().request_repaint_after(UPTIME_TICK + TICK_MARGIN);
        }
        let selected = state.selected;
        let scroll_to = (selected != self.seen_selection)
            .then(|| selected.and_then(|pid| self.rows.position(snapshot, pid)))
            .flatten();
        self.seen_selection = selected;

        let row_height = table::row_height(ui);
        let mut builder = table::table(ui, "processes_table");
        for column in SortColumn::ALL {
            builder = builder.column(column_width(column));
        }
        if let Some(index) = scroll_to {
            builder = builder.scroll_to_row(index, Some(egui::Align::Center));
        }
        let mut clicked_header = None;
        let table = builder.header(row_height + 2.0, |mut header| {
            for column in SortColumn::ALL {
                header.col(|ui| {
                    let arrow = match (self.sort == column, self.ascending) {
                        (false, _) => "",
                        (true, true) => " ⏶",
                        (true, false) => " ⏷",
                    };
                    let text = egui::RichText::new(format!("{}{arrow}", column.title())).strong();
                    let layout = if column.is_numeric() {
                        egui::Layout::right_to_left(egui::Align::Center)
                    } else {
                        egui::Layout::left_to_right(egui::Align::Center)
                    };
                    ui.with_layout(layout, |ui| {
                        let button = egui::Button::selectable(self.sort == column, text);
                        if ui.add(button).on_hover_text(column.hover()).clicked() {
                            clicked_header = Some(column);
                        }
                    });
                });
            }
        });
        let (rows, per_s) = (&self.rows, &state.rates.per_s);
        table.body(|body| {
            body.rows(row_height, shown, |mut table_row| {
                let Some(row) = rows.row(snapshot, per_s, table_row.index()) else {
                    return;
                };
                let Some(info) = snapshot.process(row.pid) else {
                    return;
                };
                table_row.set_selected(selected == Some(row.pid));
                let mark = state.mark(row.pid, now);
                process_row_ui(&mut table_row, info, row.messages_per_s, now_ms, mark);
                let response = table_row.response();
                if response.clicked() || response.secondary_clicked() {
                    view.push(UiCommand::Select(Some(row.pid)));
                }
                if response.double_clicked() {
                    view.push(UiCommand::OpenWindow(row.pid));
                }
                response.context_menu(|ui| process_menu_ui(ui, row.pid, view));
            });
        });
        if let Some(column) = clicked_header {
            self.sort_by(column);
        }
        if shown == 0 {
            ui.add_space(8.0);
            ui.weak(format!("No process matches “{}”.", self.filter.trim()));
        }
    }
}

/// Draws one row's cells.
fn process_row_ui(
    row: &mut egui_extras::TableRow<'_, '_>,
    info: &ProcessInfo,
    messages_per_s: f32,
    now_ms: u64,
    mark: Option<MarkKind>,
) {
    let mut pid_text = String::with_capacity(16);
    write!(pid_text, "{}", info.pid).ok();
    row.col(|ui| {
        ui.label(egui::RichText::new(pid_text).monospace());
    });
    row.col(|ui| {
        let dark = ui.visuals().dark_mode;
        let name = egui::RichText::new(info.display_name());
        // A process that just started or was restarted shows in the tree's mark colour.
        let name = match mark {
            Some(mark) => name.color(mark_color(mark, dark)).strong(),
            None => name,
        };
        let response = ui.add(egui::Label::new(name).truncate());
        if info.name.is_some() && info.label.as_ref() != info.display_name() {
            response.on_hover_text(format!("behaviour {}", info.label));
        }
    });
    row.col(|ui| {
        swatch_ui(
            ui,
            kind_colors(NodeKind::of(&info.kind), ui.visuals().dark_mode).accent,
        );
        ui.label(format::kind_word(&info.kind));
    });
    row.col(|ui| {
        let text = egui::RichText::new(format::status_word(info.status));
        let text = match info.status {
            Status::Waiting => text,
            other => text.color(status_color(other, ui.visuals().dark_mode)),
        };
        ui.label(text);
    });
    row.col(|ui| {
        numeric_cell_ui(
            ui,
            format::thousands(info.mailbox_len),
            info.mailbox_len > 0,
        );
    });
    row.col(|ui| {
        numeric_cell_ui(
            ui,
            format::rate(f64::from(messages_per_s)),
            messages_per_s > 0.0,
        );
    });
    row.col(|ui| {
        numeric_cell_ui(ui, info.restarts.to_string(), info.restarts > 0);
    });
    row.col(|ui| {
        let uptime_ms = now_ms.saturating_sub(info.started_at_ms);
        numeric_cell_ui(ui, format::uptime_ms(uptime_ms), true);
    });
}

/// How wide `column` starts, and how narrow it may get.
fn column_width(column: SortColumn) -> Column {
    match column {
        SortColumn::Pid => Column::initial(96.0).at_least(70.0),
        SortColumn::Name => Column::remainder().at_least(140.0).clip(true),
        SortColumn::Kind => Column::initial(136.0).at_least(60.0).clip(true),
        SortColumn::Status => Column::initial(72.0).at_least(50.0),
        SortColumn::Mailbox => Column::initial(70.0).at_least(50.0),
        SortColumn::MessagesPerS => Column::initial(70.0).at_least(50.0),
        SortColumn::Restarts => Column::initial(70.0).at_least(50.0),
        SortColumn::Uptime => Column::initial(84.0).at_least(50.0),
    }
}

/// The rows a [`ProcessesPanel`] shows.
#[derive(Debug)]
enum Rows {
    /// Every process in pid order (no filter, sorted by pid): row `i` is the snapshot's
    /// `i`-th process, or its `i`-th from the end when descending.
    InPidOrder { ascending: bool },
    /// Filtered, or sorted by another column.
    Built(Vec<Row>),
}

impl Rows {
    fn len(&self, snapshot: &Snapshot) -> usize {
        match self {
            Self::InPidOrder { .. } => snapshot.len(),
            Self::Built(rows) => rows.len(),
        }
    }

    /// Row `index` (its rate looked up in `per_s`, pid-ordered, when it was not built in).
    fn row(&self, snapshot: &Snapshot, per_s: &[(Pid, f32)], index: usize) -> Option<Row> {
        match self {
            Self::InPidOrder { ascending } => {
                let at = if *ascending {
                    index
                } else {
                    snapshot.len().checked_sub(index + 1)?
                };
                let pid = snapshot.process_at(at)?.pid;
                let messages_per_s = per_s
                    .binary_search_by_key(&pid, |(pid, _)| *pid)
                    .map_or(0.0, |found| per_s[found].1);
                Some(Row {
                    pid,
                    messages_per_s,
                })
            }
            Self::Built(rows) => rows.get(index).copied(),
        }
    }

    /// Where `pid` is shown.
    fn position(&self, snapshot: &Snapshot, pid: Pid) -> Option<usize> {
        match self {
            Self::InPidOrder { ascending: true } => snapshot.position(pid),
            Self::InPidOrder { ascending: false } => {
                Some(snapshot.len() - 1 - snapshot.position(pid)?)
            }
            Self::Built(rows) => rows.iter().position(|row| row.pid == pid),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use otpscope_contract::{Delta, ProcessKind, Update};

    use super::rows::tests::{info, kv};
    use super::*;

    /// The rows the panel shows for the state's snapshot.
    fn shown(panel: &ProcessesPanel, state: &ObserverState) -> Vec<Row> {
        let snapshot = state.snapshot.as_deref().unwrap();
        (0..panel.rows.len(snapshot))
            .map(|index| panel.rows.row(snapshot, &state.rates.per_s, index).unwrap())
            .collect()
    }

    #[test]
    fn rates_come_from_the_messages_the_deltas_say_were_handled() {
        let mut panel = ProcessesPanel::default();
        let mut state = ObserverState::new();
        let start = Instant::now();
        state.apply(Update::Full(kv()));
        state.sample_rates(start);
        panel.refresh(&state, start);
        assert!(
            shown(&panel, &state)
                .iter()
                .all(|row| row.messages_per_s == 0.0)
        );

        // Bucket 4 handles 10 messages, then 20 more, within two seconds; a resync in between
        // would have lost them, a second delta adds to the first.
        let handled = |seq, count| {
            let mut busy = (*info(4, None, "KV.Bucket", ProcessKind::Agent)).clone();
            busy.messages_handled = count;
            Update::Delta(Delta {
                seq,
                from_seq: seq - 1,
                changed: vec![Arc::new(busy)],
                ..Default::default()
            })
        };
        state.apply(handled(1, 10));
        state.sample_rates(start + Duration::from_millis(500));
        assert!(state.rates.per_s.is_empty(), "not a period yet");
        state.apply(handled(2, 30));
        state.sample_rates(start + Duration::from_secs(2));
        assert_eq!(state.rates.per_s, [(Pid(4), 15.0)]);
        panel.refresh(&state, start + Duration::from_secs(2));
        // In pid order, nothing built: the rate is looked up for the row.
        assert!(matches!(panel.rows, Rows::InPidOrder { ascending: true }));
        let rows = shown(&panel, &state);
        let busy_row = rows.iter().find(|row| row.pid == Pid(4)).unwrap();
        assert!((busy_row.messages_per_s - 15.0).abs() < 0.01);
        panel.sort_by(SortColumn::MessagesPerS);
        panel.refresh(&state, start + Duration::from_secs(2));
        let rows = shown(&panel, &state);
        assert_eq!(rows[0].pid, Pid(4));
        assert!((rows[0].messages_per_s - 15.0).abs() < 0.01);
        // Nothing handled for a while: the rate falls back to zero, and the sorted rows are
        // rebuilt for it.
        state.sample_rates(start + Duration::from_secs(4));
        panel.refresh(&state, start + Duration::from_secs(4));
        assert!(
            shown(&panel, &state)
                .iter()
                .all(|row| row.messages_per_s == 0.0)
        );
        let generation = state.rates.generation;
        state.sample_rates(start + Duration::from_secs(6));
        assert_eq!(
            state.rates.generation, generation,
            "a quiet period changes nothing"
        );
        // A full snapshot (a resync) starts the rates over: what it skipped is no rate.
        state.apply(handled(3, 50));
        state.apply(Update::Full(kv()));
        state.sample_rates(start + Duration::from_secs(8));
        state.sample_rates(start + Duration::from_secs(9));
        assert!(state.rates.per_s.is_empty());
    }

    #[test]
    fn in_pid_order_rows_follow_the_snapshot_both_ways_without_a_build() {
        let mut panel = ProcessesPanel::default();
        let mut state = ObserverState::new();
        state.apply(otpscope_contract::Update::Full(kv()));
        let now = Instant::now();
        panel.refresh(&state, now);
        let snapshot = state.snapshot.as_deref().unwrap();
        let in_order: Vec<Pid> = snapshot.processes().map(|info| info.pid).collect();
        assert_eq!(panel.shown_pids(snapshot).collect::<Vec<_>>(), in_order);
        let last = *in_order.last().unwrap();
        assert_eq!(
            panel.rows.position(snapshot, last),
            Some(in_order.len() - 1)
        );

        panel.sort_by(SortColumn::Pid);
        panel.refresh(&state, now);
        assert!(matches!(panel.rows, Rows::InPidOrder { ascending: false }));
        let snapshot = state.snapshot.as_deref().unwrap();
        let reversed: Vec<Pid> = in_order.iter().rev().copied().collect();
        assert_eq!(panel.shown_pids(snapshot).collect::<Vec<_>>(), reversed);
        assert_eq!(panel.rows.position(snapshot, last), Some(0));

        // A filter builds rows again, still in pid order (descending, as asked).
        panel.filter = "bucket".into();
        panel.refresh(&state, now);
        assert!(matches!(panel.rows, Rows::Built(_)));
        let snapshot = state.snapshot.as_deref().unwrap();
        let filtered: Vec<Pid> = panel.shown_pids(snapshot).collect();
        assert!(!filtered.is_empty() && filtered.len() < in_order.len());
        assert!(filtered.windows(2).all(|pair| pair[0] > pair[1]));
    }
}
