//! The timeline under the panels, for a source that has one (a recording): previous event,
//! play or pause, next event, the speed, the playhead as a slider over the whole stretch with
//! its markers (kills, restarts, supervisors giving up), and the time.
//!
//! It reads the [`Timeline`] and reports what the user asked for as a [`TimelineAction`];
//! the app carries it out after drawing.

use crate::source::{MarkerKind, Timeline};

/// The speeds offered.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// What the user asked of the timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimelineAction {
    /// Start or stop playing.
    SetPlaying(bool),
    /// Change the speed.
    SetSpeed(f64),
    /// Jump to a time, in milliseconds from the start.
    Seek(u64),
    /// Step to the next event (`true`) or the previous one.
    Step(bool),
}

/// The timeline panel.
#[derive(Default)]
pub struct TimelinePanel {}

impl TimelinePanel {
    /// Draws the timeline; returns what the user asked for, if anything.
    pub fn ui(&mut self, ui: &mut egui::Ui, timeline: &dyn Timeline) -> Option<TimelineAction> {
        let mut action = None;
        let duration_ms = timeline.duration_ms();
        ui.horizontal(|ui| {
            if ui
                .button("⏮ Previous event")
                .on_hover_text("Jump to the previous moment something happened.")
                .clicked()
            {
                action = Some(TimelineAction::Step(false));
            }
            let play = if timeline.is_playing() {
                "⏸ Pause replay"
            } else {
                "▶ Play"
            };
            if ui.button(play).clicked() {
                action = Some(TimelineAction::SetPlaying(!timeline.is_playing()));
            }
            if ui
                .button("Next event ⏭")
                .on_hover_text("Jump to the next moment something happened.")
                .clicked()
            {
                action = Some(TimelineAction::Step(true));
            }
            let speed = timeline.speed();
            egui::ComboBox::from_id_salt("timeline_speed")
                .selected_text(format!("{speed}×"))
                .width(64.0)
                .show_ui(ui, |ui| {
                    for choice in SPEEDS {
                        if ui
                            .selectable_label(choice == speed, format!("{choice}×"))
                            .clicked()
                        {
                            action = Some(TimelineAction::SetSpeed(choice));
                        }
                    }
                })
                .response
                .on_hover_text("Speed");
            ui.label(format!(
                "{} / {}",
                seconds(timeline.position_ms()),
                seconds(duration_ms)
            ));
            let label = ui.label("Time");
            let mut position_s = timeline.position_ms() as f64 / 1000.0;
            let width = (ui.available_width() - 8.0).max(120.0);
            ui.spacing_mut().slider_width = width;
            let slider = egui::Slider::new(&mut position_s, 0.0..=duration_ms as f64 / 1000.0)
                .show_value(false);
            let response = ui.add(slider).labelled_by(label.id);
            if response.changed() {
                action = Some(TimelineAction::Seek((position_s * 1000.0).round() as u64));
            }
            markers_ui(ui, response.rect, timeline, duration_ms);
        });
        action
    }
}

/// Ticks over the slider where something was marked, each with its sentence on hover.
fn markers_ui(ui: &mut egui::Ui, rect: egui::Rect, timeline: &dyn Timeline, duration_ms: u64) {
    if duration_ms == 0 {
        return;
    }
    for (index, marker) in timeline.markers().iter().enumerate() {
        let x = rect.left() + rect.width() * (marker.at_ms as f32 / duration_ms as f32);
        let color = match marker.kind {
            MarkerKind::Kill => ui.visuals().error_fg_color,
            MarkerKind::Restart => ui.visuals().warn_fg_color,
            MarkerKind::GaveUp => egui::Color32::from_rgb(200, 60, 200),
        };
        let tick =
            egui::Rect::from_center_size(egui::pos2(x, rect.top() + 2.0), egui::vec2(3.0, 8.0));
        ui.painter().rect_filled(tick, 1.0, color);
        let text = format!("{} {}", seconds(marker.at_ms), marker.text);
        ui.interact(
            tick.expand(2.0),
            ui.id().with(("timeline_marker", index)),
            egui::Sense::hover(),
        )
        .on_hover_text(text);
    }
}

/// `12.3 s`, or `1:02.5` from a minute on.
fn seconds(ms: u64) -> String {
    let tenths = ms / 100;
    if tenths < 600 {
        format!("{}.{} s", tenths / 10, tenths % 10)
    } else {
        format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn times_read_in_seconds_then_minutes() {
        assert_eq!(seconds(0), "0.0 s");
        assert_eq!(seconds(12_345), "12.3 s");
        assert_eq!(seconds(62_500), "1:02.5");
    }
}
