//! The Processes tab: every process in a sortable, filterable, virtualised table.
//!
//! The rows are derived data: [`ProcessesPanel`] rebuilds them (filter, then a stable sort)
//! only when the snapshot's revision, the filter, the sort or the message rates change, and
//! drawing formats only the rows on screen, so a frame costs the same at 100 or 100,000
//! processes. Rows hold pids, not process data: each visible row looks its process up in the
//! current snapshot. (Holding an `Arc` of the snapshot would make the next delta copy it.)
//!
//! Messages per second come from `messages_handled` between two samples of the snapshot at
//! least a second apart, kept here as pid-ordered vectors so a resample is one merge pass.
//!
//! This module also holds the small number and time formatters the other tabs share.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use egui_extras::{Column, TableBuilder};

use otpscope_contract::{Pid, ProcessInfo, ProcessKind, Snapshot, Status};

use super::View;
use super::context_menu::process_menu_ui;
use crate::command::UiCommand;
use crate::state::{MarkKind, ObserverState};
use crate::tree_data::RowKind;
use crate::tree_graph::{kind_colors, mark_color, status_color};

/// Message rates are resampled at most this often.
const RATE_PERIOD: Duration = Duration::from_secs(1);
/// A rebuild slower than this (a very large node) ...
const SLOW_BUILD: Duration = Duration::from_millis(2);
/// ... is redone for a new snapshot at most this often; cells still show current values,
/// only the order and the set of rows lag. A new filter or sort rebuilds at once.
const SLOW_BUILD_PERIOD: Duration = Duration::from_millis(250);

/// A column of the table, and what it sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// The pid (start order).
    Pid,
    /// The registered name, else the behaviour label.
    Name,
    /// Supervisor, dynamic supervisor, server, agent, plain.
    Kind,
    /// Running, waiting, exiting.
    Status,
    /// Messages waiting.
    Mailbox,
    /// Messages handled per second.
    MessagesPerS,
    /// Restarts of its child id before this incarnation.
    Restarts,
    /// Time since it started.
    Uptime,
}

impl SortColumn {
    /// Every column, in the order shown.
    pub const ALL: [Self; 8] = [
        Self::Pid,
        Self::Name,
        Self::Kind,
        Self::Status,
        Self::Mailbox,
        Self::MessagesPerS,
        Self::Restarts,
        Self::Uptime,
    ];

    /// Its header.
    pub fn title(self) -> &'static str {
        match self {
            Self::Pid => "Pid",
            Self::Name => "Name",
            Self::Kind => "Kind",
            Self::Status => "Status",
            Self::Mailbox => "Mailbox",
            Self::MessagesPerS => "Msgs/s",
            Self::Restarts => "Restarts",
            Self::Uptime => "Uptime",
        }
    }

    fn hover(self) -> &'static str {
        match self {
            Self::Pid => "Process id; pids grow in start order",
            Self::Name => "Registered name, else the behaviour label",
            Self::Kind => "Supervisor, dynamic supervisor, server, agent or plain process",
            Self::Status => "Running, waiting for a message, or exiting",
            Self::Mailbox => "Messages waiting in the mailbox",
            Self::MessagesPerS => "Messages handled per second, over the last second or more",
            Self::Restarts => "How many times its supervisor restarted this child before",
            Self::Uptime => "Time since this incarnation started",
        }
    }

    /// Whether the column holds numbers (right-aligned, biggest first on the first click).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::Mailbox | Self::MessagesPerS | Self::Restarts | Self::Uptime
        )
    }

    fn column(self) -> Column {
        match self {
            Self::Pid => Column::initial(96.0).at_least(70.0),
            Self::Name => Column::remainder().at_least(140.0).clip(true),
            Self::Kind => Column::initial(136.0).at_least(60.0).clip(true),
            Self::Status => Column::initial(72.0).at_least(50.0),
            Self::Mailbox => Column::initial(70.0).at_least(50.0),
            Self::MessagesPerS => Column::initial(70.0).at_least(50.0),
            Self::Restarts => Column::initial(70.0).at_least(50.0),
            Self::Uptime => Column::initial(84.0).at_least(50.0),
        }
    }
}

/// One row: a pid and its message rate when the rows were built.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Row {
    pid: Pid,
    messages_per_s: f32,
}

/// What the rows were built from; they are rebuilt when any of it changes.
#[derive(Clone, Debug, PartialEq)]
struct BuiltFrom {
    revision: u64,
    filter: String,
    sort: SortColumn,
    ascending: bool,
    rates_generation: u64,
}

/// Per-process message counts at the last sample, and the rates they gave.
struct Rates {
    /// When the last sample was taken.
    at: Option<Instant>,
    /// The snapshot revision of the last sample.
    revision: u64,
    /// `(pid, messages_handled)` at the last sample, in pid order.
    counts: Vec<(Pid, u64)>,
    /// `(pid, messages per second)` for the processes that handled any, in pid order.
    per_s: Vec<(Pid, f32)>,
    /// Bumped at each sample, so the rows (sorted by rate, perhaps) are rebuilt.
    generation: u64,
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
    rows: Vec<Row>,
    /// What `rows` was built from.
    built: Option<BuiltFrom>,
    /// When the rows were last built, and how long that took.
    built_at: Option<(Instant, Duration)>,
    /// Message counts and rates.
    rates: Rates,
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
            rows: Vec::new(),
            built: None,
            built_at: None,
            rates: Rates {
                at: None,
                revision: 0,
                counts: Vec::new(),
                per_s: Vec::new(),
                generation: 0,
            },
            seen_selection: None,
        }
    }
}

// === impl ProcessesPanel ===

impl ProcessesPanel {
    /// The pids shown, in the order shown (filtered and sorted as of the last frame).
    pub fn shown_pids(&self) -> impl Iterator<Item = Pid> + '_ {
        self.rows.iter().map(|row| row.pid)
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
            self.rows.clear();
            self.built = None;
            return;
        };
        let rates_due = match self.rates.at {
            None => true,
            Some(at) => {
                now.duration_since(at) >= RATE_PERIOD
                    && (self.rates.revision != state.revision || !self.rates.per_s.is_empty())
            }
        };
        if rates_due {
            self.sample_rates(snapshot, state.revision, now);
        }
        let wanted = BuiltFrom {
            revision: state.revision,
            filter: self.filter.clone(),
            sort: self.sort,
            ascending: self.ascending,
            rates_generation: self.rates.generation,
        };
        let Some(built) = self.built.as_ref() else {
            return self.build(snapshot, wanted, now);
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
            self.build(snapshot, wanted, now);
        }
    }

    fn build(&mut self, snapshot: &Snapshot, wanted: BuiltFrom, now: Instant) {
        let started = Instant::now();
        self.rows = build_rows(
            snapshot,
            &self.rates.per_s,
            &self.filter,
            self.sort,
            self.ascending,
        );
        self.built = Some(wanted);
        self.built_at = Some((now, started.elapsed()));
    }

    fn sample_rates(&mut self, snapshot: &Snapshot, revision: u64, now: Instant) {
        let rates = &mut self.rates;
        let elapsed_s = rates
            .at
            .map(|at| now.duration_since(at).as_secs_f64())
            .filter(|s| *s > 0.0);
        let mut counts = Vec::with_capacity(snapshot.len());
        let mut per_s = Vec::new();
        let mut previous = rates.counts.iter().peekable();
        for info in snapshot.processes() {
            while previous.next_if(|(pid, _)| *pid < info.pid).is_some() {}
            if let (Some(elapsed_s), Some((_, before))) =
                (elapsed_s, previous.next_if(|(pid, _)| *pid == info.pid))
                && info.messages_handled > *before
            {
                let rate = (info.messages_handled - before) as f64 / elapsed_s;
                per_s.push((info.pid, rate as f32));
            }
            counts.push((info.pid, info.messages_handled));
        }
        rates.counts = counts;
        rates.per_s = per_s;
        rates.at = Some(now);
        rates.revision = revision;
        rates.generation += 1;
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        self.refresh(view.state, Instant::now());
        let total = view.state.snapshot.as_ref().map_or(0, |s| s.len());

        ui.horizontal(|ui| {
            let edit = egui::TextEdit::singleline(&mut self.filter)
                .hint_text("Filter: pid, name, kind, status (Ctrl+F)")
                .desired_width(300.0);
            let response = ui.add(edit);
            if std::mem::take(&mut self.focus_filter) {
                response.request_focus();
            }
            if response.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                self.filter.clear();
            }
            if !self.filter.is_empty() && ui.small_button("🗙").on_hover_text("Clear").clicked() {
                self.filter.clear();
            }
            let shown = self.rows.len();
            if self.filter.trim().is_empty() {
                ui.label(format!("{} processes", thousands(total as u64)));
            } else {
                ui.label(format!(
                    "{} of {} processes",
                    thousands(shown as u64),
                    thousands(total as u64)
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
        let now_ms = node_now_ms(snapshot);
        let now = Instant::now();
        let selected = state.selected;
        let scroll_to = (selected != self.seen_selection)
            .then(|| selected.and_then(|pid| self.rows.iter().position(|row| row.pid == pid)))
            .flatten();
        self.seen_selection = selected;

        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        ui.style_mut().interaction.selectable_labels = false;
        let mut builder = TableBuilder::new(ui)
            .id_salt("processes_table")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .auto_shrink([false, false]);
        for column in SortColumn::ALL {
            builder = builder.column(column.column());
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
        let rows = &self.rows;
        table.body(|body| {
            body.rows(row_height, rows.len(), |mut table_row| {
                let row = rows[table_row.index()];
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
        if self.rows.is_empty() {
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
            kind_colors(RowKind::of(&info.kind), ui.visuals().dark_mode).accent,
        );
        ui.label(kind_text(&info.kind));
    });
    row.col(|ui| {
        let text = egui::RichText::new(status_text(info.status));
        let text = match info.status {
            Status::Waiting => text,
            other => text.color(status_color(other, ui.visuals().dark_mode)),
        };
        ui.label(text);
    });
    row.col(|ui| {
        numeric_cell_ui(ui, thousands(info.mailbox_len), info.mailbox_len > 0);
    });
    row.col(|ui| {
        numeric_cell_ui(ui, rate_text(messages_per_s), messages_per_s > 0.0);
    });
    row.col(|ui| {
        numeric_cell_ui(ui, info.restarts.to_string(), info.restarts > 0);
    });
    row.col(|ui| {
        let uptime_ms = now_ms.saturating_sub(info.started_at_ms);
        numeric_cell_ui(ui, duration_text(uptime_ms), true);
    });
}

/// A small square of the kind's colour, as in the tree's legend.
fn swatch_ui(ui: &mut egui::Ui, color: egui::Color32) {
    let size = egui::vec2(9.0, 9.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

/// A right-aligned number, weak when it is nothing worth reading.
fn numeric_cell_ui(ui: &mut egui::Ui, text: String, is_notable: bool) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        if is_notable {
            ui.label(text);
        } else {
            ui.weak(text);
        }
    });
}

/// The current time of the node that took `snapshot`, in its `*_ms` time: the wall clock
/// if it is ahead of the snapshot's own time (uptimes keep ticking while nothing changes),
/// else the snapshot's time.
pub(crate) fn node_now_ms(snapshot: &Snapshot) -> u64 {
    let wall_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    wall_unix_ms
        .max(snapshot.taken_at_unix_ms)
        .saturating_sub(snapshot.node_started_at_unix_ms)
}

// === building the rows ===

/// The rows for `filter` sorted by `sort`: pure, from the snapshot and the rates.
///
/// One pass over the snapshot gives each matching row an integer sort key (names become
/// their rank among the distinct names), then one stable sort of a flat vector: the
/// comparisons never touch process data, and ties stay in pid order.
fn build_rows(
    snapshot: &Snapshot,
    per_s: &[(Pid, f32)],
    filter: &str,
    sort: SortColumn,
    ascending: bool,
) -> Vec<Row> {
    let terms: Vec<String> = filter.split_whitespace().map(str::to_lowercase).collect();
    let mut rates = per_s.iter().peekable();
    let mut pid_text = String::new();
    let mut names = NameIds::default();
    let mut keyed: Vec<(u64, Row)> = Vec::with_capacity(snapshot.len());
    for info in snapshot.processes() {
        while rates.next_if(|(pid, _)| *pid < info.pid).is_some() {}
        let rate = rates
            .next_if(|(pid, _)| *pid == info.pid)
            .map_or(0.0, |(_, rate)| *rate);
        if !terms.is_empty() && !matches_terms(info, &terms, &mut pid_text) {
            continue;
        }
        let key = match sort {
            SortColumn::Pid => 0,
            SortColumn::Name => u64::from(names.id(info.display_name())),
            SortColumn::Kind => kind_rank(&info.kind),
            SortColumn::Status => status_rank(info.status),
            SortColumn::Mailbox => info.mailbox_len,
            // Rates are never negative, and the bits of non-negative floats sort as they do.
            SortColumn::MessagesPerS => u64::from(rate.max(0.0).to_bits()),
            SortColumn::Restarts => u64::from(info.restarts),
            // Longer uptime: started earlier.
            SortColumn::Uptime => u64::MAX - info.started_at_ms,
        };
        let row = Row {
            pid: info.pid,
            messages_per_s: rate,
        };
        keyed.push((key, row));
    }
    if sort == SortColumn::Name {
        let ranks = names.ranks();
        for (key, _) in &mut keyed {
            *key = u64::from(ranks[*key as usize]);
        }
    }
    match (sort, ascending) {
        (SortColumn::Pid, true) => {}
        (SortColumn::Pid, false) => keyed.reverse(),
        // The rows come in pid order and the sort is stable: ties stay in pid order. (A
        // stable sort also runs in near-linear time on the long runs of equal keys here.)
        (_, true) => keyed.sort_by_key(|(key, _)| *key),
        (_, false) => keyed.sort_by_key(|(key, _)| std::cmp::Reverse(*key)),
    }
    keyed.into_iter().map(|(_, row)| row).collect()
}

/// Gives each distinct name a small id, then ranks the ids by name (case-insensitive).
#[derive(Default)]
struct NameIds<'a> {
    /// Ids by name.
    ids: HashMap<&'a str, u32>,
    /// Names by id.
    names: Vec<&'a str>,
    /// The last name seen and its id: siblings (thousands of `KV.Bucket`s) come in a row.
    last: Option<(&'a str, u32)>,
}

impl<'a> NameIds<'a> {
    fn id(&mut self, name: &'a str) -> u32 {
        if let Some((last, id)) = self.last
            && (std::ptr::eq(last, name) || last == name)
        {
            return id;
        }
        let next = self.names.len() as u32;
        let id = *self.ids.entry(name).or_insert(next);
        if id == next {
            self.names.push(name);
        }
        self.last = Some((name, id));
        id
    }

    /// The rank of each id.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_by(|a, b| {
            cmp_ignore_ascii_case(self.names[*a as usize], self.names[*b as usize])
        });
        let mut ranks = vec![0; order.len()];
        for (rank, id) in order.into_iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }
}

/// Kinds in the order of their names.
fn kind_rank(kind: &ProcessKind) -> u64 {
    match kind {
        ProcessKind::Agent => 0,
        ProcessKind::DynamicSupervisor { .. } => 1,
        ProcessKind::Plain => 2,
        ProcessKind::Server => 3,
        ProcessKind::Supervisor { .. } => 4,
    }
}

/// Statuses in the order of their names.
fn status_rank(status: Status) -> u64 {
    match status {
        Status::Dead => 0,
        Status::Exiting => 1,
        Status::Running => 2,
        Status::Waiting => 3,
    }
}

/// Whether every term (lowercase) matches one of the process's fields.
fn matches_terms(info: &ProcessInfo, terms: &[String], pid_text: &mut String) -> bool {
    pid_text.clear();
    write!(pid_text, "{}", info.pid).ok();
    terms.iter().all(|term| {
        contains_ignore_case(pid_text, term)
            || info
                .name
                .as_deref()
                .is_some_and(|name| contains_ignore_case(name, term))
            || contains_ignore_case(&info.label, term)
            || info
                .child_id
                .as_deref()
                .is_some_and(|id| contains_ignore_case(id, term))
            || contains_ignore_case(kind_text(&info.kind), term)
            || contains_ignore_case(status_text(info.status), term)
    })
}

/// Whether `haystack` contains `needle_lower` (already lowercase), ignoring case; without
/// allocating when both are ASCII.
pub(crate) fn contains_ignore_case(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let needle = needle_lower.as_bytes();
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle));
    }
    haystack.to_lowercase().contains(needle_lower)
}

fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
        .then_with(|| a.cmp(b))
}

// === formatting, shared by the tabs ===

/// What a kind reads as in a table: `supervisor`, `dynamic supervisor`, `server`, ...
pub(crate) fn kind_text(kind: &ProcessKind) -> &'static str {
    match kind {
        ProcessKind::Supervisor { .. } => "supervisor",
        ProcessKind::DynamicSupervisor { .. } => "dynamic supervisor",
        ProcessKind::Server => "server",
        ProcessKind::Agent => "agent",
        ProcessKind::Plain => "plain",
    }
}

/// What a status reads as.
pub(crate) fn status_text(status: Status) -> &'static str {
    match status {
        Status::Running => "running",
        Status::Waiting => "waiting",
        Status::Exiting => "exiting",
        Status::Dead => "dead",
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A rate: `0`, `0.4`, `12`, `1,234`.
pub(crate) fn rate_text(per_s: f32) -> String {
    if per_s <= 0.0 {
        "0".to_owned()
    } else if per_s < 10.0 {
        format!("{per_s:.1}")
    } else {
        thousands(per_s.round() as u64)
    }
}

/// A duration for a table: `850 ms`, `42 s`, `3m 07s`, `2h 05m`, `3d 04h`.
pub(crate) fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms} ms"),
        1..60 => format!("{s} s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use otpscope_contract::Strategy;

    fn info(pid: u64, name: Option<&str>, label: &str, kind: ProcessKind) -> Arc<ProcessInfo> {
        Arc::new(ProcessInfo {
            name: name.map(Into::into),
            mailbox_len: pid % 3,
            started_at_ms: pid * 10,
            ..ProcessInfo::new(Pid(pid), kind, label)
        })
    }

    fn kv() -> Snapshot {
        let sup = ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5,
        };
        let dynamic = ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: None,
        };
        Snapshot::new(
            "test",
            0,
            1_000,
            0,
            vec![
                info(1, Some("KV.Supervisor"), "KV.Supervisor", sup),
                info(
                    2,
                    Some("KV.BucketSupervisor"),
                    "KV.BucketSupervisor",
                    dynamic,
                ),
                info(3, Some("KV.Registry"), "KV.Registry", ProcessKind::Server),
                info(4, None, "KV.Bucket", ProcessKind::Agent),
                info(5, None, "KV.Bucket", ProcessKind::Agent),
            ],
        )
    }

    fn pids(rows: &[Row]) -> Vec<u64> {
        rows.iter().map(|row| row.pid.0).collect()
    }

    #[test]
    fn sorting_is_stable_and_reverses() {
        let snap = kv();
        let rows = build_rows(&snap, &[], "", SortColumn::Name, true);
        assert_eq!(pids(&rows), [4, 5, 2, 3, 1]);
        let rows = build_rows(&snap, &[], "", SortColumn::Name, false);
        assert_eq!(pids(&rows), [1, 3, 2, 4, 5]);
        let rows = build_rows(&snap, &[], "", SortColumn::Pid, false);
        assert_eq!(pids(&rows), [5, 4, 3, 2, 1]);
        let rows = build_rows(&snap, &[], "", SortColumn::Mailbox, false);
        assert_eq!(pids(&rows), [2, 5, 1, 4, 3]);
        let rows = build_rows(&snap, &[], "", SortColumn::Uptime, false);
        assert_eq!(pids(&rows), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn filter_matches_every_word_against_any_field() {
        let snap = kv();
        let rows = build_rows(&snap, &[], "bucket", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [2, 4, 5]);
        let rows = build_rows(&snap, &[], "bucket agent", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [4, 5]);
        let rows = build_rows(&snap, &[], "<0.3.0>", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [3]);
        let rows = build_rows(&snap, &[], "DYNAMIC", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [2]);
        assert!(build_rows(&snap, &[], "nothing", SortColumn::Pid, true).is_empty());
    }

    #[test]
    fn rates_come_from_counts_between_samples() {
        let mut panel = ProcessesPanel::default();
        let mut state = ObserverState::new();
        let start = Instant::now();
        state.apply(otpscope_contract::Update::Full(kv()));
        panel.refresh(&state, start);
        assert!(panel.rows.iter().all(|row| row.messages_per_s == 0.0));

        let mut busy = (*info(4, None, "KV.Bucket", ProcessKind::Agent)).clone();
        busy.messages_handled = 30;
        let mut snap = kv();
        snap.apply(&otpscope_contract::Delta {
            seq: 1,
            from_seq: 0,
            changed: vec![Arc::new(busy)],
            ..Default::default()
        })
        .unwrap();
        state.apply(otpscope_contract::Update::Full(snap));
        panel.sort_by(SortColumn::MessagesPerS);
        panel.refresh(&state, start + Duration::from_secs(2));
        assert_eq!(panel.rows[0].pid, Pid(4));
        assert!((panel.rows[0].messages_per_s - 15.0).abs() < 0.01);
        // Nothing changes for a while: the rate falls back to zero.
        panel.refresh(&state, start + Duration::from_secs(4));
        assert!(panel.rows.iter().all(|row| row.messages_per_s == 0.0));
    }

    #[test]
    fn kind_and_status_ranks_follow_their_names() {
        let kinds = [
            ProcessKind::Agent,
            ProcessKind::DynamicSupervisor {
                max_restarts: 3,
                max_seconds: 5,
                max_children: None,
            },
            ProcessKind::Plain,
            ProcessKind::Server,
            ProcessKind::Supervisor {
                strategy: Strategy::OneForOne,
                max_restarts: 3,
                max_seconds: 5,
            },
        ];
        for pair in kinds.windows(2) {
            assert!(kind_text(&pair[0]) < kind_text(&pair[1]));
            assert!(kind_rank(&pair[0]) < kind_rank(&pair[1]));
        }
        let statuses = [
            Status::Dead,
            Status::Exiting,
            Status::Running,
            Status::Waiting,
        ];
        for pair in statuses.windows(2) {
            assert!(status_text(pair[0]) < status_text(pair[1]));
            assert!(status_rank(pair[0]) < status_rank(pair[1]));
        }
    }

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(42_000), "42 s");
        assert_eq!(duration_text(187_000), "3m 07s");
        assert_eq!(duration_text(7_500_000), "2h 05m");
        assert_eq!(rate_text(0.44), "0.4");
        assert_eq!(rate_text(1234.4), "1,234");
        assert!(contains_ignore_case("KV.Registry", "registry"));
        assert!(!contains_ignore_case("KV", "kvx"));
    }
}
