//! The graph half of the tab: the view (fit, glide, drag to pan, wheel to zoom), painting
//! the graph at that view, hit-testing, clicks, the context menu and the tooltip.
//!
//! One thing a reader must know: nothing here repaints by itself except a glide towards a
//! target view and a fading mark; everything else is drawn once per input or update.

use egui::{PointerButton, Sense};

use super::ViewTransform;
use crate::command::UiCommand;
use crate::panels::View;
use crate::panels::applications::data::RowItem;
use crate::panels::applications::menus::{graph_menu_ui, row_menu_ui, tooltip_ui};
use crate::panels::applications::overlay::overlay_ui;
use crate::panels::applications::{
    ApplicationsPanel, REVEAL_ZOOM, TreeAction, TreeCache, mark_freshness,
};

/// Height of the legend and hints painted at the bottom of the graph.
const OVERLAY_BOTTOM: f32 = 66.0;
/// How much one step of a pinch or Ctrl+wheel zooms.
const ZOOM_STEP: f32 = 0.1;

// === impl ApplicationsPanel: the graph ===

impl ApplicationsPanel {
    pub(in crate::panels::applications) fn graph_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &mut View<'_>,
        cache: &mut TreeCache,
        actions: &mut Vec<TreeAction>,
    ) {
        let (response, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
        let rect = response.rect;
        let size = rect.size();

        let mut transform = self.last_view.map_or(
            ViewTransform {
                zoom: 1.0,
                pan: egui::Vec2::ZERO,
            },
            |(_, transform)| transform,
        );
        let mut user_moved = false;
        if response.dragged_by(PointerButton::Primary) || response.dragged_by(PointerButton::Middle)
        {
            transform.pan += response.drag_delta();
            user_moved = true;
        }
        if response.hovered()
            && let Some(pointer) = response.hover_pos()
        {
            let anchor = (pointer - rect.min).to_pos2();
            let (scroll, zoom_delta) =
                ui.input(|input| (input.smooth_scroll_delta, input.zoom_delta()));
            if zoom_delta != 1.0 {
                let step = ZOOM_STEP * (zoom_delta - 1.0).signum();
                transform = transform.zoomed(1.0 + step, anchor);
                user_moved = true;
            } else if scroll.y != 0.0 {
                transform = transform.zoomed((scroll.y * 0.002).exp(), anchor);
                user_moved = true;
            }
        }
        if user_moved {
            self.auto_fit = false;
            self.view_target = None;
        }
        let resized = self
            .last_view
            .is_some_and(|(last, _)| (last.size() - size).length() > 0.5);
        if std::mem::take(&mut self.fit_pending) || (self.auto_fit && resized) {
            // Leave room for the counts above and the legend and hints below.
            let area = egui::Rect::from_min_max(
                egui::pos2(0.0, 22.0),
                egui::pos2(size.x, (size.y - OVERLAY_BOTTOM).max(size.y * 0.5)),
            );
            let fit = ViewTransform::fit_in(cache.graph.bounds, area);
            if self.last_view.is_none() || resized {
                transform = fit;
                self.view_target = None;
            } else {
                self.view_target = Some(fit);
            }
        }
        if let Some(pid) = self.center_on
            && let Some(node) = cache
                .data
                .row_of(pid)
                .and_then(|row| cache.graph.rects.get(row))
        {
            let current = self.view_target.unwrap_or(transform);
            if !current.shows(node.expand(8.0), size) {
                self.view_target = Some(current.centered_on(node.center(), size, REVEAL_ZOOM));
                self.auto_fit = false;
            }
            self.center_on = None;
        }
        if let Some(target) = self.view_target {
            let dt = ui.input(|input| input.stable_dt).min(0.1);
            transform = transform.towards(target, 1.0 - (-dt * 12.0).exp(), size);
            if transform.is_close_to(target, size) {
                transform = target;
                self.view_target = None;
            }
            // An animation: keep drawing until it arrives.
            ui.ctx().request_repaint();
        }
        self.last_view = Some((rect, transform));

        let hit = response
            .hover_pos()
            .map(|pointer| transform.to_canvas((pointer - rect.min).to_pos2()))
            .and_then(|canvas| cache.graph.hit(&cache.data, canvas));
        self.hovered = hit.map(|(row, _)| row);
        let now = std::time::Instant::now();
        let is_marked =
            cache
                .graph
                .refresh(&cache.data, view.state.selected, self.hovered, |pid| {
                    mark_freshness(view.state, pid, now)
                });
        if is_marked {
            // A mark fades: an animation, drawn at the display's pace until it is gone.
            ui.ctx().request_repaint();
        }
        cache.graph.paint(ui.ctx(), &painter, rect.min, transform);

        let hit_row = hit.and_then(|(row, badge)| Some((cache.data.rows.get(row)?, badge)));
        if response.clicked()
            && let Some((row, badge)) = hit_row
        {
            match row.item {
                RowItem::Fold(fold) => {
                    actions.push(TreeAction::ExpandFold(fold, view.prefs.fold_at.max(1)));
                }
                RowItem::Process(pid) if badge => {
                    actions.push(TreeAction::SetCollapsed(pid, !row.is_collapsed));
                }
                RowItem::Process(pid) => view.push(UiCommand::Select(Some(pid))),
            }
        }
        if response.double_clicked()
            && let Some((row, false)) = hit_row
            && let RowItem::Process(pid) = row.item
        {
            view.push(UiCommand::OpenWindow(pid));
        }
        if response.secondary_clicked() {
            self.menu_target = hit_row.map(|(row, _)| row.item);
        }
        let target = self
            .menu_target
            .and_then(|item| cache.data.rows.iter().find(|row| row.item == item));
        let tree = &self.tree;
        response.context_menu(|ui| match target {
            Some(row) => row_menu_ui(ui, row, tree, view, actions, true),
            None => graph_menu_ui(ui, actions),
        });
        if response.hovered()
            && !response.dragged()
            && !response.context_menu_opened()
            && let Some((row, badge)) = hit_row
        {
            let row = row.clone();
            response.on_hover_ui_at_pointer(|ui| tooltip_ui(ui, &row, badge, view.state));
        }

        overlay_ui(ui, rect, &cache.data, &cache.graph);
    }
}
