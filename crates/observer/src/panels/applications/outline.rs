//! The outline: the visible rows as a virtualised, collapsible list beside the graph.
//!
//! A row is one line: indent, an expander for processes with children, a node in miniature
//! (kind and status), the label as a selectable button (what egui_kittest finds by its
//! text: `KV.Registry <0.3.0>`), and a weak detail. Everything here pushes commands or
//! [`TreeAction`]s; nothing changes state. Arrow keys move the selection through the rows.

use egui::{Align, Layout, RichText, Sense, Stroke, vec2};

use otpscope_contract::Status;

use super::data::{Row, RowItem, TreeData, TreeView};
use super::menus::row_menu_ui;
use super::{ApplicationsPanel, INDENT, ROW_HEIGHT, TreeAction};
use crate::command::UiCommand;
use crate::format;
use crate::panels::View;
use crate::style::{NodeKind, match_color, mini_node, status_color};

// === impl ApplicationsPanel: the outline ===

impl ApplicationsPanel {
    pub(super) fn outline_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &mut View<'_>,
        data: &TreeData,
        actions: &mut Vec<TreeAction>,
    ) {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.strong("Outline");
            ui.weak(format!(
                "{} · {}",
                format::count(data.process_count, "process", "processes"),
                format::count(data.rows.len(), "row", "rows")
            ));
        });
        ui.separator();
        let spacing = ui.spacing().item_spacing.y;
        let mut area = egui::ScrollArea::both()
            .id_salt("applications_outline_rows")
            .auto_shrink([false, false]);
        if let Some(pid) = self.scroll_to
            && let Some(index) = data.row_of(pid)
        {
            let offset = index as f32 * (ROW_HEIGHT + spacing) - ui.available_height() / 2.0;
            area = area.vertical_scroll_offset(offset.max(0.0));
            self.scroll_to = None;
        }
        if let Some(pid) = self.keep_visible.take()
            && let Some(index) = data.row_of(pid)
            && !(self.shown_rows.start < index && index + 2 < self.shown_rows.end)
        {
            let offset = index as f32 * (ROW_HEIGHT + spacing) - ui.available_height() / 2.0;
            area = area.vertical_scroll_offset(offset.max(0.0));
        }
        let tree = &self.tree;
        let mut shown = 0..0;
        area.show_rows(ui, ROW_HEIGHT, data.rows.len(), |ui, range| {
            shown = range.clone();
            for index in range {
                if let Some(row) = data.rows.get(index) {
                    row_ui(ui, row, tree, view, actions);
                }
            }
        });
        self.shown_rows = shown;
    }

    /// Arrow keys move the selection through the visible processes; left collapses (or goes
    /// to the parent), right expands. Not while typing.
    pub(super) fn keyboard(
        &mut self,
        ui: &egui::Ui,
        view: &mut View<'_>,
        data: &TreeData,
        actions: &mut Vec<TreeAction>,
    ) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let (up, down, left, right) = ui.input(|input| {
            (
                input.key_pressed(egui::Key::ArrowUp),
                input.key_pressed(egui::Key::ArrowDown),
                input.key_pressed(egui::Key::ArrowLeft),
                input.key_pressed(egui::Key::ArrowRight),
            )
        });
        if !(up || down || left || right) {
            return;
        }
        let is_process = |index: &usize| {
            data.rows
                .get(*index)
                .is_some_and(|row| matches!(row.item, RowItem::Process(_)))
        };
        let current = view.state.selected.and_then(|pid| data.row_of(pid));
        let target = match current {
            None if up || down => (0..data.rows.len()).find(is_process),
            None => None,
            Some(at) if up => (0..at).rev().find(is_process),
            Some(at) if down => (at + 1..data.rows.len()).find(is_process),
            Some(at) => {
                let row = data.rows.get(at);
                match (row, left) {
                    (Some(row), true) if row.has_children() && !row.is_collapsed => {
                        if let RowItem::Process(pid) = row.item {
                            actions.push(TreeAction::SetCollapsed(pid, true));
                        }
                        None
                    }
                    (Some(row), true) => row.parent_row,
                    (Some(row), false) if row.is_collapsed => {
                        if let RowItem::Process(pid) = row.item {
                            actions.push(TreeAction::SetCollapsed(pid, false));
                        }
                        None
                    }
                    _ => None,
                }
            }
        };
        if let Some(pid) = target.and_then(|index| data.rows.get(index)?.item.pid()) {
            view.push(UiCommand::Select(Some(pid)));
            self.keep_visible = Some(pid);
            self.center_on = Some(pid);
        }
    }
}

// === Rows ===

/// One outline row: indent, expander, kind swatch, label, detail.
fn row_ui(
    ui: &mut egui::Ui,
    row: &Row,
    tree: &TreeView,
    view: &mut View<'_>,
    actions: &mut Vec<TreeAction>,
) {
    let width = ui.available_width().max(200.0);
    ui.push_id(row.item, |ui| {
        ui.allocate_ui_with_layout(
            vec2(width, ROW_HEIGHT),
            Layout::left_to_right(Align::Center),
            |ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                ui.add_space(row.depth as f32 * INDENT);
                expander_ui(ui, row, actions);
                swatch_ui(ui, row);
                let selected = row.item.pid().is_some() && row.item.pid() == view.state.selected;
                let response = ui.add(egui::Button::selectable(selected, row_text(ui, row)));
                match row.item {
                    RowItem::Fold(fold) => {
                        if response.clicked() {
                            actions.push(TreeAction::ExpandFold(fold, view.prefs.fold_at.max(1)));
                        }
                    }
                    RowItem::Process(pid) => {
                        if response.clicked() {
                            view.push(UiCommand::Select(Some(pid)));
                        }
                        if response.double_clicked() {
                            view.push(UiCommand::OpenWindow(pid));
                        }
                    }
                }
                response.context_menu(|ui| row_menu_ui(ui, row, tree, view, actions, false));
                detail_ui(ui, row);
            },
        );
    });
}

/// The triangle that collapses or expands a row with children.
fn expander_ui(ui: &mut egui::Ui, row: &Row, actions: &mut Vec<TreeAction>) {
    let sense = if row.has_children() {
        Sense::click()
    } else {
        Sense::hover()
    };
    let (rect, response) = ui.allocate_exact_size(vec2(12.0, ROW_HEIGHT), sense);
    let RowItem::Process(pid) = row.item else {
        return;
    };
    if !row.has_children() {
        return;
    }
    let color = if response.hovered() {
        ui.visuals().strong_text_color()
    } else {
        ui.visuals().text_color()
    };
    let c = rect.center();
    let points = if row.is_collapsed {
        vec![
            c + vec2(-3.0, -5.0),
            c + vec2(4.0, 0.0),
            c + vec2(-3.0, 5.0),
        ]
    } else {
        vec![
            c + vec2(-5.0, -3.0),
            c + vec2(5.0, -3.0),
            c + vec2(0.0, 4.0),
        ]
    };
    ui.painter()
        .add(egui::Shape::convex_polygon(points, color, Stroke::NONE));
    let response = response.on_hover_text(if row.is_collapsed {
        "Expand children"
    } else {
        "Collapse children"
    });
    if response.clicked() {
        actions.push(TreeAction::SetCollapsed(pid, !row.is_collapsed));
    }
}

/// A small box in the kind's colour with the status dot: a node in miniature.
fn swatch_ui(ui: &mut egui::Ui, row: &Row) {
    let dark = ui.visuals().dark_mode;
    let (rect, _) = ui.allocate_exact_size(vec2(16.0, ROW_HEIGHT), Sense::hover());
    mini_node(
        ui.painter(),
        rect.center(),
        row.kind,
        row.is_ghost,
        Some(row.status),
        dark,
    );
}

/// A row's label as drawn: matches highlighted, ghosts struck through with their fate.
fn row_text(ui: &egui::Ui, row: &Row) -> RichText {
    let dark = ui.visuals().dark_mode;
    if row.is_ghost {
        return RichText::new(format!("{} — {}", row.label, row.detail))
            .color(status_color(Status::Dead, dark))
            .strikethrough();
    }
    let mut text = RichText::new(&row.label);
    match row.kind {
        NodeKind::Supervisor | NodeKind::DynamicSupervisor => text = text.strong(),
        NodeKind::Fold => text = text.italics(),
        NodeKind::Worker | NodeKind::Plain => {}
    }
    if row.is_match {
        text = text.background_color(match_color(dark).gamma_multiply(0.38));
    }
    text
}

/// The weak second column: what a process is, or how many matches a fold hides.
fn detail_ui(ui: &mut egui::Ui, row: &Row) {
    if row.is_ghost {
        return;
    }
    let dark = ui.visuals().dark_mode;
    if row.hidden_matches > 0 {
        let text = if row.kind == NodeKind::Fold {
            format!(
                "{} inside",
                format::count(row.hidden_matches, "match", "matches")
            )
        } else {
            "matches inside".to_owned()
        };
        ui.label(RichText::new(text).small().color(match_color(dark)));
    }
    let detail = if row.is_collapsed && row.kind != NodeKind::Fold {
        format!(
            "{} · {} hidden",
            row.detail,
            format::thousands(row.child_count as u64)
        )
    } else {
        row.detail.clone()
    };
    ui.label(RichText::new(detail).small().weak());
}
