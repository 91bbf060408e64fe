//! The graph half of the tab: egui_graphs draws the nodes; this handles the view (fit,
//! glide, wheel zoom), hit-testing, clicks, the context menu and the tooltip.

use egui_graphs::{MetadataFrame, SettingsInteraction, SettingsNavigation, SettingsStyle};

use super::{GRAPH_ID, TreeGraphView, ViewTransform};
use crate::command::UiCommand;
use crate::panels::View;
use crate::panels::applications::data::RowItem;
use crate::panels::applications::menus::{graph_menu_ui, row_menu_ui, tooltip_ui};
use crate::panels::applications::overlay::overlay_ui;
use crate::panels::applications::{ApplicationsPanel, REVEAL_ZOOM, TreeAction, TreeCache};

/// Height of the legend and hints painted at the bottom of the graph.
const OVERLAY_BOTTOM: f32 = 66.0;

// === impl ApplicationsPanel: the graph ===

impl ApplicationsPanel {
    pub(in crate::panels::applications) fn graph_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &mut View<'_>,
        cache: &mut TreeCache,
        actions: &mut Vec<TreeAction>,
    ) {
        let interactions = SettingsInteraction::new()
            .with_dragging_enabled(false)
            .with_hover_enabled(false)
            .with_node_clicking_enabled(false)
            .with_node_selection_enabled(false)
            .with_edge_clicking_enabled(false)
            .with_edge_selection_enabled(false);
        let navigation = SettingsNavigation::new()
            .with_fit_to_screen_enabled(false)
            .with_zoom_and_pan_enabled(true);
        let styles = SettingsStyle::new().with_labels_always(true);
        let response = TreeGraphView::new()
            .with_id(Some(GRAPH_ID.to_owned()))
            .with_interactions(&interactions)
            .with_navigations(&navigation)
            .with_styles(&styles)
            .show(ui, &mut cache.graph.graph)
            .response;
        let rect = response.rect;
        let size = rect.size();

        let mut meta = MetadataFrame::new(Some(GRAPH_ID.to_owned())).load(ui);
        let before = ViewTransform {
            zoom: meta.zoom,
            pan: meta.pan,
        };
        let mut transform = before;
        let mut user_moved = response.dragged();
        if response.hovered() {
            let (scroll, zoom_delta) =
                ui.input(|input| (input.smooth_scroll_delta, input.zoom_delta()));
            if zoom_delta != 1.0 {
                user_moved = true;
            } else if scroll.y != 0.0
                && let Some(pointer) = response.hover_pos()
            {
                let anchor = (pointer - rect.min).to_pos2();
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
            ui.ctx().request_repaint();
        }
        if transform != before {
            meta.zoom = transform.zoom;
            meta.pan = transform.pan;
            meta.save(ui);
        }
        self.last_view = Some((rect, transform));

        let hit = response
            .hover_pos()
            .map(|pointer| transform.to_canvas((pointer - rect.min).to_pos2()))
            .and_then(|canvas| cache.graph.hit(&cache.data, canvas));
        self.hovered = hit.map(|(row, _)| row);
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
