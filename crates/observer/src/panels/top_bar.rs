//! The top bar, beside the tabs: pause and resume, the refresh interval, the theme, Record
//! and the flight recorder's menu (for any source but a replay), how many processes there
//! are, Restart the app (when the source can, enabled once nothing runs), events missed, and
//! (on the right) what is being observed.
//!
//! It changes only preferences (interval, theme, saving on a give-up), reports a pause
//! toggle to the app and pushes the recording commands; the paused flag and the recorder
//! are live data and live in the app, never in [`Preferences`](crate::Preferences).

use super::View;
use crate::UiCommand;
use crate::format::{self, thousands};
use crate::recorder::RecordStatus;
use crate::recorder::flight::WINDOW;
use crate::state::Theme;
use crate::style::{paused_fill, recording_fill};
use crate::widgets::RESTART_APP_HINT;

/// The refresh intervals offered, in milliseconds.
pub const INTERVALS_MS: [u64; 5] = [50, 100, 200, 500, 1000];

/// What the top bar asks the app to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopBarOutcome {
    /// Pause was toggled.
    pub toggle_pause: bool,
    /// The refresh interval changed (already written to the preferences).
    pub interval_changed: bool,
}

/// The top bar.
#[derive(Default)]
pub struct TopBar {}

impl TopBar {
    /// Draws the bar: meant to sit in a horizontal layout after the tabs.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        title: &str,
        paused: bool,
        record: &RecordStatus,
        view: &mut View<'_>,
    ) -> TopBarOutcome {
        let mut outcome = TopBarOutcome::default();

        let pause = if paused {
            egui::Button::new("▶ Resume").fill(paused_fill(ui.visuals()))
        } else {
            egui::Button::new("⏸ Pause")
        };
        let hover = if paused {
            "The view is frozen: nothing new is applied. Resume to catch up."
        } else {
            "Freeze the view (the node keeps running)."
        };
        if ui.add(pause).on_hover_text(hover).clicked() {
            outcome.toggle_pause = true;
        }
        if paused {
            ui.label(
                egui::RichText::new("PAUSED")
                    .strong()
                    .color(ui.visuals().warn_fg_color),
            );
        }

        ui.label("Refresh");
        let before = view.prefs.interval_ms;
        egui::ComboBox::from_id_salt("refresh_interval")
            .width(76.0)
            .selected_text(format::interval_ms(before))
            .show_ui(ui, |ui| {
                for interval_ms in INTERVALS_MS {
                    ui.selectable_value(
                        &mut view.prefs.interval_ms,
                        interval_ms,
                        format::interval_ms(interval_ms),
                    );
                }
            })
            .response
            .on_hover_text("How often the node sends what changed");
        outcome.interval_changed = view.prefs.interval_ms != before;

        let (icon, next) = match view.prefs.theme {
            Theme::Dark => ("☀ Light", Theme::Light),
            Theme::Light => ("🌙 Dark", Theme::Dark),
        };
        if ui
            .button(icon)
            .on_hover_text("Switch between the dark and the light theme")
            .clicked()
        {
            view.prefs.theme = next;
        }

        if record.is_recordable {
            ui.separator();
            record_ui(ui, record, view);
        }

        ui.separator();
        let count = view.state.snapshot.as_ref().map(|snapshot| snapshot.len());
        match count {
            Some(1) => ui.label("1 process"),
            Some(count) => ui.label(format!("{} processes", thousands(count as u64))),
            None => ui.weak("connecting…"),
        };
        if view
            .capabilities
            .accepts(&otpscope_contract::Command::RestartApp)
        {
            let stopped = view.state.is_node_empty();
            let hint = if stopped {
                RESTART_APP_HINT
            } else {
                "The app is running. Restart the app starts it again once it has stopped \
                 (a crash loop that reached the top; Kill or Stop supervisor on its root)."
            };
            if ui
                .add_enabled(stopped, egui::Button::new("Restart the app"))
                .on_hover_text(hint)
                .on_disabled_hover_text(hint)
                .clicked()
            {
                view.push(crate::UiCommand::Send(
                    otpscope_contract::Command::RestartApp,
                ));
            }
        }
        let missed = view.state.missed_events;
        if missed > 0 {
            ui.label(
                egui::RichText::new(format!("⚠ {} missed events", thousands(missed)))
                    .color(ui.visuals().warn_fg_color),
            )
            .on_hover_text(
                "The Observer fell behind and the node dropped these events; the snapshot was \
                 resynchronised, so the tree is complete, but the Events tab has gaps.",
            );
        }

        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.add(egui::Label::new(egui::RichText::new(title).strong()).truncate())
                .on_hover_text(title);
        });
        outcome
    }
}

/// Record (or Stop recording) and the flight recorder's menu.
fn record_ui(ui: &mut egui::Ui, record: &RecordStatus, view: &mut View<'_>) {
    match &record.recording {
        Some(path) => {
            let button = egui::Button::new("⏹ Stop recording").fill(recording_fill(ui.visuals()));
            let hover = format!("Recording to {}. Stop closes the file.", path.display());
            if ui.add(button).on_hover_text(hover).clicked() {
                view.push(UiCommand::StopRecording);
            }
        }
        None => {
            if ui
                .button("⏺ Record")
                .on_hover_text(
                    "Record what the Observer receives from now on (the node, its changes and \
                     events, the commands sent and their replies) to a file that \
                     `otpscope replay FILE` plays back.",
                )
                .clicked()
            {
                view.push(UiCommand::StartRecording);
            }
        }
    }
    let window_s = WINDOW.as_secs();
    ui.menu_button("⏪ Last minute", |ui| {
        let held = match record.held {
            Some(held) => format!(
                "The flight recorder holds the last {} of what the Observer received.",
                format::uptime_ms(held.as_millis() as u64)
            ),
            None => "The flight recorder holds nothing yet: no snapshot has arrived.".to_owned(),
        };
        ui.weak(held);
        if ui
            .add_enabled(
                record.held.is_some(),
                egui::Button::new("💾 Save the last minute"),
            )
            .on_hover_text(format!(
                "Write the last {window_s} s to a file, as if Record had been pressed then"
            ))
            .clicked()
        {
            view.push(UiCommand::SaveLastMinute);
            ui.close();
        }
        ui.checkbox(
            &mut view.prefs.save_on_give_up,
            "Save it when a supervisor gives up",
        )
        .on_hover_text(
            "When a supervisor exceeds its restart intensity, write the last minute to a file \
             a few seconds later (so it shows what followed), at most once a minute.",
        );
    })
    .response
    .on_hover_text(format!(
        "The flight recorder: the last {window_s} s, always kept in memory"
    ));
}
