//! The System tab: a summary of the node now, and load charts over a rolling window.
//!
//! The charts plot [`ObserverState::load`](crate::ObserverState), one sample a second:
//! processes by kind, messages handled per second, restarts per second, messages waiting in
//! all mailboxes, and the memory the observed OS process holds (when the source can tell).
//! Time runs along x in seconds before the latest sample (now; for a source with a timeline,
//! the playhead, and after a seek the samples up to it are rebuilt, see
//! [`ObserverState::rebuild_load`](crate::ObserverState::rebuild_load)); the charts do not pan
//! or zoom, so they always show the window chosen. While the tab is shown it asks for a frame once a second, when
//! the next sample is due; that is its only repaint at rest.

use std::time::Instant;

use egui_plot::{
    Corner, GridMark, HoverPosition, Legend, Line, Plot, PlotPoints, uniform_grid_spacer,
};

use super::View;
use crate::format::{self, thousands};
use crate::state::{LoadSample, TICK_MARGIN};
use crate::style::chart_colors;

/// The windows offered, in seconds.
pub const WINDOWS_S: [u32; 4] = [60, 120, 300, 600];

/// The System tab.
pub struct SystemPanel {
    /// How many seconds the charts show.
    pub window_s: u32,
}

impl Default for SystemPanel {
    fn default() -> Self {
        Self { window_s: 120 }
    }
}

/// How a chart's y values read.
#[derive(Clone, Copy)]
enum Unit {
    /// Whole things (processes, messages).
    Count,
    /// Per second.
    Rate,
    /// Mebibytes.
    Mib,
}

impl Unit {
    fn text(self, value: f64) -> String {
        match self {
            Self::Count => thousands(value.max(0.0).round() as u64),
            Self::Rate => format::rate(value),
            Self::Mib => format!("{value:.1} MiB"),
        }
    }

    fn tick(self, mark: GridMark) -> String {
        let value = mark.value;
        if value < 0.0 {
            return String::new();
        }
        match self {
            Self::Count if value.fract() != 0.0 => String::new(),
            Self::Mib => format!("{value:.0}"),
            Self::Rate if mark.step_size < 1.0 => format!("{value:.1}"),
            _ => thousands(value.round() as u64),
        }
    }
}

/// One series of a chart.
struct Series {
    name: &'static str,
    color: egui::Color32,
    points: Vec<[f64; 2]>,
    /// Fill the area under the line.
    is_filled: bool,
}

// === impl SystemPanel ===

impl SystemPanel {
    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let state = view.state;
        // The charts roll and the node's uptime ticks: a frame when the next sample is due.
        let next = state.next_sample_in(Instant::now());
        ui.ctx().request_repaint_after(next + TICK_MARGIN);
        self.summary_ui(ui, view);
        ui.add_space(6.0);

        let latest_s = state.load.back().map_or(0.0, |sample| sample.t_s);
        let from_s = latest_s - f64::from(self.window_s);
        let window: Vec<&LoadSample> = state
            .load
            .iter()
            .filter(|sample| sample.t_s >= from_s)
            .collect();
        let x = |sample: &LoadSample| sample.t_s - latest_s;
        let series = |f: &dyn Fn(&LoadSample) -> f64| -> Vec<[f64; 2]> {
            window.iter().map(|s| [x(s), f(s)]).collect()
        };
        let palette = chart_colors(ui.visuals());

        if window.len() < 2 {
            ui.weak("Collecting samples: the charts fill in one point a second.");
            ui.add_space(4.0);
        }
        let spacing = ui.spacing().item_spacing.y;
        // Three rows of charts share the height, each with its title above.
        let title_height = ui.text_style_height(&egui::TextStyle::Body) + spacing;
        let chart_height =
            ((ui.available_height() - 3.0 * (title_height + spacing) - 8.0) / 3.0).max(130.0);
        let window_s = f64::from(self.window_s);
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let counts = vec![
                    Series {
                        name: "Supervisors",
                        color: palette.supervisors,
                        points: series(&|s| s.supervisors as f64),
                        is_filled: false,
                    },
                    Series {
                        name: "Workers (servers, agents)",
                        color: palette.workers,
                        points: series(&|s| s.workers as f64),
                        is_filled: false,
                    },
                    Series {
                        name: "Plain processes",
                        color: palette.plain,
                        points: series(&|s| s.plain as f64),
                        is_filled: false,
                    },
                ];
                chart_ui(
                    ui,
                    "load_processes",
                    "Processes by kind",
                    Unit::Count,
                    chart_height,
                    window_s,
                    counts,
                );
                ui.columns(2, |columns| {
                    chart_ui(
                        &mut columns[0],
                        "load_messages",
                        "Messages handled per second",
                        Unit::Rate,
                        chart_height,
                        window_s,
                        vec![Series {
                            name: "Messages/s",
                            color: palette.messages,
                            points: series(&|s| s.messages_per_s),
                            is_filled: true,
                        }],
                    );
                    chart_ui(
                        &mut columns[1],
                        "load_restarts",
                        "Restarts per second",
                        Unit::Rate,
                        chart_height,
                        window_s,
                        vec![Series {
                            name: "Restarts/s",
                            color: palette.restarts,
                            points: series(&|s| s.restarts_per_s),
                            is_filled: true,
                        }],
                    );
                });
                ui.columns(2, |columns| {
                    chart_ui(
                        &mut columns[0],
                        "load_mailboxes",
                        "Messages waiting in all mailboxes",
                        Unit::Count,
                        chart_height,
                        window_s,
                        vec![Series {
                            name: "Mailboxes",
                            color: palette.mailboxes,
                            points: series(&|s| s.mailbox_total as f64),
                            is_filled: true,
                        }],
                    );
                    let memory: Vec<[f64; 2]> = window
                        .iter()
                        .filter_map(|s| {
                            s.memory_bytes
                                .map(|bytes| [x(s), bytes as f64 / (1024.0 * 1024.0)])
                        })
                        .collect();
                    if memory.is_empty() && !window.is_empty() {
                        columns[1].strong("Memory (resident)");
                        columns[1].weak("This source does not report memory.");
                    } else {
                        chart_ui(
                            &mut columns[1],
                            "load_memory",
                            "Memory (resident)",
                            Unit::Mib,
                            chart_height,
                            window_s,
                            vec![Series {
                                name: "Resident memory",
                                color: palette.memory,
                                points: memory,
                                is_filled: true,
                            }],
                        );
                    }
                });
            });
    }

    fn summary_ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let state = view.state;
        let latest = state.load.back();
        ui.horizontal_wrapped(|ui| {
            let count = state.snapshot.as_ref().map_or(0, |s| s.len());
            let kinds = latest.map_or_else(String::new, |s| {
                format!(
                    "{} supervisors · {} workers · {} plain",
                    thousands(s.supervisors as u64),
                    thousands(s.workers as u64),
                    thousands(s.plain as u64)
                )
            });
            stat_ui(ui, &thousands(count as u64), "processes", &kinds);
            stat_ui(
                ui,
                &latest.map_or_else(|| "–".to_owned(), |s| Unit::Rate.text(s.messages_per_s)),
                "messages/s",
                "Messages all processes handled in the last second",
            );
            stat_ui(
                ui,
                &latest.map_or_else(|| "–".to_owned(), |s| Unit::Rate.text(s.restarts_per_s)),
                "restarts/s",
                "Children supervisors restarted in the last second",
            );
            stat_ui(
                ui,
                &latest.map_or_else(|| "–".to_owned(), |s| thousands(s.mailbox_total)),
                "in mailboxes",
                "Messages waiting in all mailboxes",
            );
            let memory = latest
                .and_then(|s| s.memory_bytes)
                .map_or_else(|| "–".to_owned(), format::bytes);
            stat_ui(
                ui,
                &memory,
                "memory",
                "Resident memory of the observed OS process",
            );
            if let Some(snapshot) = state.snapshot.as_deref() {
                stat_ui(
                    ui,
                    &format::uptime_ms(state.now_ms().unwrap_or_default()),
                    &format!("node {} up", snapshot.node),
                    "Time since the node started",
                );
            }
            ui.add_space(8.0);
            ui.vertical(|ui| {
                ui.weak("Window");
                egui::ComboBox::from_id_salt("load_window")
                    .width(80.0)
                    .selected_text(format::window_s(self.window_s))
                    .show_ui(ui, |ui| {
                        for window_s in WINDOWS_S {
                            ui.selectable_value(
                                &mut self.window_s,
                                window_s,
                                format::window_s(window_s),
                            );
                        }
                    });
            });
        });
    }
}

/// One figure of the summary: a big value with a caption under it.
fn stat_ui(ui: &mut egui::Ui, value: &str, caption: &str, hover: &str) {
    let frame = egui::Frame::group(ui.style())
        .inner_margin(egui::Margin::symmetric(10, 4))
        .corner_radius(6.0);
    let response = frame
        .show(ui, |ui| {
            ui.set_min_width(88.0);
            ui.vertical(|ui| {
                ui.label(egui::RichText::new(value).size(20.0).strong());
                ui.weak(caption);
            });
        })
        .response;
    if !hover.is_empty() {
        response.on_hover_text(hover);
    }
}

/// A chart with its title (and its current value) above.
fn chart_ui(
    ui: &mut egui::Ui,
    id: &str,
    title: &str,
    unit: Unit,
    height: f32,
    window_s: f64,
    series: Vec<Series>,
) {
    ui.horizontal(|ui| {
        ui.strong(title);
        if let [only] = series.as_slice()
            && let Some([_, now]) = only.points.last()
        {
            ui.weak(format!("now {}", unit.text(*now)));
        }
    });
    let max_y = series
        .iter()
        .flat_map(|s| s.points.iter().map(|[_, y]| *y))
        .fold(0.0_f64, f64::max);
    let min_top = match unit {
        Unit::Count => 4.0,
        Unit::Rate => 1.0,
        Unit::Mib => 1.0,
    };
    let names: Vec<&'static str> = series.iter().map(|s| s.name).collect();
    let legend = Legend::default()
        .position(Corner::LeftTop)
        .follow_insertion_order(true)
        .background_alpha(0.6);
    // Grid lines at round numbers of seconds for the window shown.
    let x_steps = match window_s as u32 {
        0..=60 => [5.0, 10.0, 30.0],
        61..=120 => [10.0, 30.0, 60.0],
        121..=300 => [30.0, 60.0, 300.0],
        _ => [60.0, 120.0, 600.0],
    };
    let plot = Plot::new(id)
        .height(height)
        .legend(legend)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .include_x(-window_s)
        .include_x(0.0)
        .include_y(0.0)
        .include_y(max_y.max(min_top) * 1.15)
        .x_axis_label("seconds ago")
        .x_grid_spacer(uniform_grid_spacer(move |_| x_steps))
        .x_axis_formatter(|mark, _| {
            if mark.value > 0.0 {
                String::new()
            } else {
                format!("{:.0}", mark.value.abs())
            }
        })
        .y_axis_formatter(move |mark, _| unit.tick(mark))
        .y_axis_min_width(36.0)
        .label_formatter(move |hover| match hover {
            HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } if names.contains(plot_name) => Some(format!(
                "{plot_name}: {}\n{:.0} s ago",
                unit.text(position.y),
                position.x.abs()
            )),
            _ => None,
        });
    plot.show(ui, |plot_ui| {
        for s in series {
            let mut line = Line::new(s.name, PlotPoints::new(s.points))
                .color(s.color)
                .width(2.0);
            if s.is_filled {
                line = line.fill(0.0).fill_alpha(0.18);
            }
            plot_ui.line(line);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_with_their_unit() {
        assert_eq!(Unit::Rate.text(0.25), "0.2");
        assert_eq!(Unit::Rate.text(12_345.0), "12,345");
        assert_eq!(Unit::Count.text(100_000.0), "100,000");
    }
}
