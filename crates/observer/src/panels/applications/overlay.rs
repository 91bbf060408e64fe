//! What is painted over the graph: counts, a hint, and the legend of kinds, statuses and
//! marks.

use egui::{Color32, CornerRadius, FontId, Rect, Stroke, StrokeKind, pos2, vec2};

use otpscope_contract::Status;

use super::data::TreeData;
use super::graph::TreeGraph;
use crate::format;
use crate::state::MarkKind;
use crate::style::{NodeKind, kind_colors, mark_color, status_color};

/// Counts, hints and the legend over the graph.
pub(super) fn overlay_ui(ui: &egui::Ui, rect: Rect, data: &TreeData, graph: &TreeGraph) {
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let weak = visuals.weak_text_color();
    let small = FontId::proportional(11.5);
    let mut status = format!(
        "{} · {} drawn",
        format::count(data.process_count, "process", "processes"),
        format::thousands(graph.nodes.len() as u64)
    );
    if graph.truncated > 0 {
        status.push_str(&format!(
            " · {} more rows in the outline (fold or collapse to draw them)",
            format::thousands(graph.truncated as u64)
        ));
    }
    painter.text(
        rect.left_top() + vec2(8.0, 6.0),
        egui::Align2::LEFT_TOP,
        status,
        small.clone(),
        weak,
    );
    painter.text(
        rect.right_bottom() - vec2(8.0, 6.0),
        egui::Align2::RIGHT_BOTTOM,
        "drag: pan · wheel: zoom · click: select · double-click: window · right-click: actions",
        small.clone(),
        weak,
    );

    legend_ui(&painter, rect, visuals);
}

/// What a legend entry shows before its name.
#[derive(Clone, Copy)]
enum Swatch {
    Kind(NodeKind),
    Status(Status),
    Mark(MarkKind),
}

/// The legend, bottom left, on faint plates, wrapped to the view's width.
fn legend_ui(painter: &egui::Painter, rect: Rect, visuals: &egui::Visuals) {
    let dark = visuals.dark_mode;
    let font = FontId::proportional(11.5);
    let entries = [
        (Swatch::Kind(NodeKind::Supervisor), "supervisor"),
        (
            Swatch::Kind(NodeKind::DynamicSupervisor),
            "dynamic supervisor",
        ),
        (Swatch::Kind(NodeKind::Worker), "server / agent"),
        (Swatch::Kind(NodeKind::Plain), "process"),
        (Swatch::Kind(NodeKind::Fold), "folded"),
        (Swatch::Status(Status::Running), "running"),
        (Swatch::Status(Status::Waiting), "waiting"),
        (Swatch::Status(Status::Exiting), "exiting"),
        (Swatch::Status(Status::Dead), "dead"),
        (Swatch::Mark(MarkKind::Spawned), "new"),
        (Swatch::Mark(MarkKind::Restarted), "restarted"),
    ];
    // Lay the entries out in lines first.
    let left = rect.left() + 14.0;
    let right = rect.right() - 10.0;
    let mut lines: Vec<Vec<(Swatch, std::sync::Arc<egui::Galley>, f32)>> = vec![Vec::new()];
    let mut x = left;
    for (swatch, name) in entries {
        let galley = painter.layout_no_wrap(name.to_owned(), font.clone(), visuals.text_color());
        let width = 14.0 + galley.size().x + 12.0;
        if x + width > right && lines.last().is_some_and(|line| !line.is_empty()) {
            lines.push(Vec::new());
            x = left;
        }
        if let Some(line) = lines.last_mut() {
            line.push((swatch, galley, x));
        }
        x += width;
    }
    let line_height = 22.0;
    let bottom = rect.bottom() - 23.0;
    for (index, line) in lines.iter().enumerate() {
        let y = bottom - (lines.len() - index) as f32 * line_height + line_height / 2.0;
        let width = line.last().map_or(0.0, |(_, galley, x)| {
            x + 14.0 + galley.size().x - left + 10.0
        });
        painter.rect_filled(
            Rect::from_min_size(pos2(left - 8.0, y - 10.0), vec2(width + 6.0, 20.0)),
            CornerRadius::same(6),
            visuals.extreme_bg_color.gamma_multiply(0.85),
        );
        for (swatch, galley, x) in line {
            let center = pos2(x + 5.0, y);
            match swatch {
                Swatch::Kind(kind) => {
                    let colors = kind_colors(*kind, dark);
                    painter.rect(
                        Rect::from_center_size(center, vec2(10.0, 10.0)),
                        CornerRadius::same(2),
                        colors.fill,
                        Stroke::new(1.0, colors.accent),
                        StrokeKind::Inside,
                    );
                }
                Swatch::Status(status) => {
                    painter.circle_filled(center, 4.0, status_color(*status, dark));
                }
                Swatch::Mark(mark) => {
                    painter.rect_stroke(
                        Rect::from_center_size(center, vec2(10.0, 10.0)),
                        CornerRadius::same(3),
                        Stroke::new(2.0, mark_color(*mark, dark)),
                        StrokeKind::Middle,
                    );
                }
            }
            painter.galley(
                pos2(x + 14.0, y - galley.size().y / 2.0),
                galley.clone(),
                Color32::WHITE,
            );
        }
    }
}
