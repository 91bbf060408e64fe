//! The Events tab: the node's event feed, newest at the bottom, filterable by kind and text.
//!
//! Each row reads as a sentence with process names (`KV.Registry <0.3.0> exited: killed`),
//! as [`format::event`] writes it, names taken from the live snapshot or the remembered dead. The matching rows are derived
//! data, kept as event sequence numbers: new events are filtered as they arrive, and the
//! whole feed is filtered again only when the filter changes. The table follows the newest
//! event unless the user has scrolled up. A click selects the event's process, a double click
//! reveals it in the tree, a right click opens the process menu.

use std::collections::VecDeque;

use egui_extras::Column;

use otpscope_contract::{Event, EventKind};

use super::View;
use crate::command::UiCommand;
use crate::format;
use crate::state::ObserverState;
use crate::style::{EventColors, event_colors};
use crate::widgets::process_menu::process_menu_ui;
use crate::widgets::table::{self, contains_ignore_case, filter_box_ui, filter_terms};

/// The kinds of event, as the filter's checkboxes name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A process started.
    Spawned,
    /// A process exited.
    Exited,
    /// A supervisor restarted a child.
    Restarted,
    /// Two processes were linked.
    Linked,
    /// A link was removed.
    Unlinked,
    /// A supervisor exceeded its restart intensity.
    GaveUp,
    /// A command sent from outside the node (a remote Observer, an attached script).
    Command,
}

impl Kind {
    /// Every kind, in the order shown.
    pub const ALL: [Self; 7] = [
        Self::Spawned,
        Self::Exited,
        Self::Restarted,
        Self::Linked,
        Self::Unlinked,
        Self::GaveUp,
        Self::Command,
    ];

    /// The kind of `event`.
    pub fn of(event: &EventKind) -> Self {
        match event {
            EventKind::Spawned { .. } => Self::Spawned,
            EventKind::Exited { .. } => Self::Exited,
            EventKind::Restarted { .. } => Self::Restarted,
            EventKind::Linked { .. } => Self::Linked,
            EventKind::Unlinked { .. } => Self::Unlinked,
            EventKind::SupervisorGaveUp { .. } => Self::GaveUp,
            EventKind::Command { .. } => Self::Command,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The checkbox's label.
    pub fn title(self) -> &'static str {
        match self {
            Self::Spawned => "Spawned",
            Self::Exited => "Exited",
            Self::Restarted => "Restarted",
            Self::Linked => "Linked",
            Self::Unlinked => "Unlinked",
            Self::GaveUp => "Supervisor gave up",
            Self::Command => "Commands",
        }
    }

    /// The word in the Kind column.
    fn word(self) -> &'static str {
        match self {
            Self::Spawned => "spawned",
            Self::Exited => "exited",
            Self::Restarted => "restarted",
            Self::Linked => "linked",
            Self::Unlinked => "unlinked",
            Self::GaveUp => "gave up",
            Self::Command => "command",
        }
    }

    /// Its colour in the palette (the checkbox and the Kind column).
    fn color(self, colors: &EventColors) -> egui::Color32 {
        match self {
            Self::Spawned => colors.spawned,
            Self::Exited => colors.exited,
            Self::Restarted => colors.restarted,
            Self::GaveUp => colors.gave_up,
            Self::Linked | Self::Unlinked => colors.link,
            Self::Command => colors.command,
        }
    }
}

/// What the matching rows were built from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Filter {
    /// Lowercase words that must all appear in the row's text.
    terms: Vec<String>,
    /// Which kinds are shown, by [`Kind::index`].
    shown: [bool; Kind::ALL.len()],
}

/// The Events tab.
pub struct EventsPanel {
    /// The text filter typed by the user.
    pub filter: String,
    /// Which kinds are shown, by [`Kind`] in [`Kind::ALL`] order.
    pub shown: [bool; Kind::ALL.len()],
    /// Set by Ctrl+F: the filter takes the focus at the next frame.
    pub focus_filter: bool,
    /// The sequence numbers of the matching events, oldest first.
    matches: Vec<u64>,
    /// The filter `matches` was built with.
    built_with: Option<Filter>,
    /// The newest event already filtered.
    last_seq: Option<u64>,
    /// How many events of each kind the feed holds.
    counts: [usize; Kind::ALL.len()],
    /// The oldest and newest event when `counts` was taken, and the feed's length.
    counted: Option<(u64, u64, usize)>,
    /// Whether the table showed its last row at the last frame.
    at_bottom: bool,
    /// Scroll to the newest event at the next frame.
    jump_to_newest: bool,
}

impl Default for EventsPanel {
    fn default() -> Self {
        Self {
            filter: String::new(),
            shown: [true; Kind::ALL.len()],
            focus_filter: false,
            matches: Vec::new(),
            built_with: None,
            last_seq: None,
            counts: [0; Kind::ALL.len()],
            counted: None,
            at_bottom: true,
            jump_to_newest: false,
        }
    }
}

// === impl EventsPanel ===

impl EventsPanel {
    /// The sequence numbers of the events shown, oldest first, as of the last refresh.
    pub fn shown_seqs(&self) -> &[u64] {
        &self.matches
    }

    /// Brings the matching rows up to date with the feed and the filter.
    pub fn refresh(&mut self, state: &ObserverState) {
        let filter = Filter {
            terms: filter_terms(&self.filter),
            shown: self.shown,
        };
        let events = &state.events;
        let newest = events.back().map(|event| event.seq);
        let went_back = matches!((newest, self.last_seq), (Some(n), Some(l)) if n < l);
        if self.built_with.as_ref() != Some(&filter) || went_back || newest.is_none() {
            self.matches.clear();
            self.last_seq = None;
        }
        // Forget matches that fell off the front of the feed.
        if let Some(oldest) = events.front().map(|event| event.seq) {
            let gone = self.matches.partition_point(|seq| *seq < oldest);
            self.matches.drain(..gone);
        }
        // Filter what arrived since the last frame.
        let start = match self.last_seq {
            None => 0,
            Some(last) => events.partition_point(|event| event.seq <= last),
        };
        let mut text = String::new();
        for event in events.range(start..) {
            if is_match(event, &filter, state, &mut text) {
                self.matches.push(event.seq);
            }
        }
        self.last_seq = newest;
        self.built_with = Some(filter);

        let counted = events
            .front()
            .zip(events.back())
            .map(|(first, last)| (first.seq, last.seq, events.len()));
        if counted != self.counted {
            self.counts = [0; Kind::ALL.len()];
            for event in events {
                self.counts[Kind::of(&event.kind).index()] += 1;
            }
            self.counted = counted;
        }
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        self.refresh(view.state);
        self.toolbar_ui(ui, view.state);
        let missed = view.state.missed_events;
        if missed > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "⚠ {} events were missed: the Observer fell behind, so the feed has gaps \
                     (the tree itself was resynchronised and is complete).",
                    format::thousands(missed)
                ),
            );
        }
        ui.add_space(4.0);
        if view.state.events.is_empty() {
            ui.weak("No events yet. Create a bucket or kill a process to see some.");
            return;
        }
        if self.matches.is_empty() {
            ui.weak("No event matches the filter.");
            return;
        }
        self.table_ui(ui, view);
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, state: &ObserverState) {
        ui.horizontal_wrapped(|ui| {
            filter_box_ui(
                ui,
                &mut self.filter,
                &mut self.focus_filter,
                "Filter events (Ctrl+F)",
                220.0,
            );
            ui.separator();
            let colors = event_colors(ui.visuals());
            for kind in Kind::ALL {
                let count = self.counts[kind.index()];
                let text = egui::RichText::new(kind.title()).color(kind.color(&colors));
                ui.checkbox(&mut self.shown[kind.index()], text)
                    .on_hover_text(format!("{} in the feed", format::thousands(count as u64)));
            }
            ui.separator();
            ui.label(format!(
                "{} of {} events",
                format::thousands(self.matches.len() as u64),
                format::thousands(state.events.len() as u64)
            ));
            if !self.at_bottom
                && !self.matches.is_empty()
                && ui
                    .button("⏬ Newest")
                    .on_hover_text("Scroll to the newest event and follow the feed again")
                    .clicked()
            {
                self.jump_to_newest = true;
            }
        });
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let state = view.state;
        let row_height = table::row_height(ui);
        let colors = event_colors(ui.visuals());
        let mut builder = table::table(ui, "events_table")
            .stick_to_bottom(true)
            .column(Column::initial(96.0).at_least(70.0))
            .column(Column::initial(92.0).at_least(60.0))
            .column(Column::remainder().at_least(200.0).clip(true));
        if std::mem::take(&mut self.jump_to_newest) {
            builder = builder.scroll_to_row(self.matches.len().saturating_sub(1), None);
        }
        let matches = &self.matches;
        let selected = state.selected;
        let output = builder
            .header(row_height + 2.0, |mut header| {
                for title in ["Time", "Kind", "What happened"] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, matches.len(), |mut row| {
                    let Some(event) = find(&state.events, matches[row.index()]) else {
                        return;
                    };
                    let pid = event.kind.pid();
                    // Every event that involves the selected process is highlighted.
                    let is_selected = selected.is_some_and(|s| event.kind.pids().contains(&s));
                    row.set_selected(is_selected);
                    let kind = Kind::of(&event.kind);
                    row.col(|ui| {
                        ui.label(egui::RichText::new(format::clock_ms(event.at_ms)).monospace())
                            .on_hover_text(format!("{} ms since the node started", event.at_ms));
                    });
                    row.col(|ui| {
                        let text = egui::RichText::new(kind.word());
                        if is_selected {
                            // The selection's own text colour reads on its fill.
                            ui.label(text);
                        } else {
                            ui.label(text.color(event_color(&event.kind, &colors)));
                        }
                    });
                    row.col(|ui| {
                        ui.add(egui::Label::new(sentence(&event.kind, state)).truncate());
                    });
                    let response = row.response();
                    // A command that names no process selects nothing.
                    let Some(pid) = pid else {
                        return;
                    };
                    if response.clicked() || response.secondary_clicked() {
                        view.push(UiCommand::Select(Some(pid)));
                    }
                    if response.double_clicked() {
                        view.push(UiCommand::Reveal(pid));
                    }
                    response.context_menu(|ui| {
                        if ui.button("Show in the tree").clicked() {
                            view.push(UiCommand::Reveal(pid));
                            ui.close();
                        }
                        ui.separator();
                        process_menu_ui(ui, pid, view);
                    });
                });
            });
        let bottom = output.content_size.y - output.state.offset.y - output.inner_rect.height();
        self.at_bottom = bottom <= row_height;
    }
}

/// The event with sequence number `seq`, if the feed still holds it.
fn find(events: &VecDeque<Event>, seq: u64) -> Option<&Event> {
    events
        .binary_search_by_key(&seq, |event| event.seq)
        .ok()
        .and_then(|index| events.get(index))
}

fn is_match(event: &Event, filter: &Filter, state: &ObserverState, text: &mut String) -> bool {
    let kind = Kind::of(&event.kind);
    if !filter.shown[kind.index()] {
        return false;
    }
    if filter.terms.is_empty() {
        return true;
    }
    text.clear();
    text.push_str(kind.word());
    text.push(' ');
    text.push_str(&sentence(&event.kind, state));
    filter
        .terms
        .iter()
        .all(|term| contains_ignore_case(text, term))
}

/// The event as one sentence ([`format::event`]), each process named as the Observer knows
/// it, alive or remembered dead.
fn sentence(kind: &EventKind, state: &ObserverState) -> String {
    format::event(kind, |pid| {
        state
            .process(pid)
            .map(|info| info.display_name().to_owned())
    })
}

/// The colour of an event's kind in its row: exits that are no crash (normal, shutdown) and
/// links are quiet.
fn event_color(kind: &EventKind, colors: &EventColors) -> egui::Color32 {
    match kind {
        EventKind::Exited { reason, .. } if reason.is_normal_or_shutdown() => colors.quiet,
        EventKind::Linked { .. } | EventKind::Unlinked { .. } => colors.quiet,
        other => Kind::of(other).color(colors),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use otpscope_contract::{ExitReason, Pid, ProcessInfo, ProcessKind, Snapshot, Update};

    fn info(pid: u64, name: &str, kind: ProcessKind) -> Arc<ProcessInfo> {
        Arc::new(ProcessInfo {
            name: Some(name.into()),
            ..ProcessInfo::new(Pid(pid), kind, name)
        })
    }

    fn state() -> ObserverState {
        let mut state = ObserverState::new();
        let sup = ProcessKind::Supervisor {
            strategy: otpscope_contract::Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5,
        };
        state.apply(Update::Full(Snapshot::new(
            "test",
            0,
            0,
            0,
            vec![
                info(1, "KV.Supervisor", sup),
                info(3, "KV.Registry", ProcessKind::Server),
            ],
        )));
        state
    }

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            at_ms: seq * 1000,
            kind,
        }
    }

    #[test]
    fn events_read_as_sentences_with_names() {
        let state = state();
        let exited = EventKind::Exited {
            pid: Pid(3),
            reason: ExitReason::Killed,
        };
        assert_eq!(
            sentence(&exited, &state),
            "KV.Registry <0.3.0> exited: killed"
        );
        let restarted = EventKind::Restarted {
            supervisor: Pid(1),
            child_id: "KV.Registry".into(),
            old: Pid(3),
            new: Pid(6),
        };
        assert_eq!(
            sentence(&restarted, &state),
            "KV.Supervisor <0.1.0> restarted KV.Registry: <0.3.0> -> <0.6.0>"
        );
        let spawned = EventKind::Spawned {
            pid: Pid(7),
            parent: Some(Pid(1)),
            label: "KV.Bucket".into(),
        };
        assert_eq!(
            sentence(&spawned, &state),
            "KV.Bucket <0.7.0> spawned by KV.Supervisor <0.1.0>"
        );
    }

    #[test]
    fn filter_by_kind_and_text_follows_new_events() {
        let mut state = state();
        let mut panel = EventsPanel::default();
        state.apply(Update::Events {
            events: vec![
                event(
                    1,
                    EventKind::Spawned {
                        pid: Pid(7),
                        parent: Some(Pid(1)),
                        label: "KV.Bucket".into(),
                    },
                ),
                event(
                    2,
                    EventKind::Exited {
                        pid: Pid(3),
                        reason: ExitReason::Killed,
                    },
                ),
            ],
            missed: 0,
        });
        panel.refresh(&state);
        assert_eq!(panel.shown_seqs(), [1, 2]);
        panel.filter = "killed".into();
        panel.refresh(&state);
        assert_eq!(panel.shown_seqs(), [2]);
        state.apply(Update::Events {
            events: vec![event(
                3,
                EventKind::Exited {
                    pid: Pid(7),
                    reason: ExitReason::Killed,
                },
            )],
            missed: 0,
        });
        panel.refresh(&state);
        assert_eq!(panel.shown_seqs(), [2, 3]);
        panel.filter.clear();
        panel.shown[Kind::Exited.index()] = false;
        panel.refresh(&state);
        assert_eq!(panel.shown_seqs(), [1]);
        assert_eq!(panel.counts[Kind::Exited.index()], 2);
    }
}
