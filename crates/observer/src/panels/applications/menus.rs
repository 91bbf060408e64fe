//! The menus and the tooltip of a tree row (in the outline) or node (in the graph): what to
//! show of it (expand, collapse, fold back, show more of a fold, show in graph), then the
//! process menu every view shares; the menu of the graph's empty space; what hovering a node
//! shows. Everything here pushes commands or [`TreeAction`]s.

use egui::RichText;

use super::data::{Row, RowItem, TreeView};
use super::{BIG_PAGE, TreeAction};
use crate::format;
use crate::panels::View;
use crate::state::ObserverState;
use crate::style::NodeKind;
use crate::widgets::process_menu::process_menu_ui;

/// The context menu of a row (outline) or node (graph): tree actions, then the process menu.
pub(super) fn row_menu_ui(
    ui: &mut egui::Ui,
    row: &Row,
    tree: &TreeView,
    view: &mut View<'_>,
    actions: &mut Vec<TreeAction>,
    in_graph: bool,
) {
    let page = view.prefs.fold_at.max(1);
    match row.item {
        RowItem::Fold(fold) => {
            ui.label(RichText::new(&row.label).strong());
            ui.separator();
            if ui
                .button(format!("Show {} more", format::thousands(page as u64)))
                .clicked()
            {
                actions.push(TreeAction::ExpandFold(fold, page));
                ui.close();
            }
            if row.child_count > page
                && ui
                    .button(format!(
                        "Show {} more",
                        format::thousands(BIG_PAGE.min(row.child_count) as u64)
                    ))
                    .clicked()
            {
                actions.push(TreeAction::ExpandFold(fold, BIG_PAGE));
                ui.close();
            }
            if tree.has_open_folds(fold.parent) && ui.button("Fold all back").clicked() {
                actions.push(TreeAction::FoldBack(fold.parent));
                ui.close();
            }
        }
        RowItem::Process(pid) => {
            if row.has_children() {
                let text = if row.is_collapsed {
                    "Expand children"
                } else {
                    "Collapse children"
                };
                if ui.button(text).clicked() {
                    actions.push(TreeAction::SetCollapsed(pid, !row.is_collapsed));
                    ui.close();
                }
            }
            if tree.has_open_folds(pid) && ui.button("Fold children back").clicked() {
                actions.push(TreeAction::FoldBack(pid));
                ui.close();
            }
            if !in_graph && ui.button("Show in graph").clicked() {
                actions.push(TreeAction::CenterOn(pid));
                ui.close();
            }
            if row.has_children() || tree.has_open_folds(pid) || !in_graph {
                ui.separator();
            }
            process_menu_ui(ui, pid, view);
        }
    }
}

/// The context menu of the graph's empty space.
pub(super) fn graph_menu_ui(ui: &mut egui::Ui, actions: &mut Vec<TreeAction>) {
    for (text, action) in [
        ("Fit to view", TreeAction::Fit),
        ("Expand all", TreeAction::ExpandAll),
        ("Collapse all", TreeAction::CollapseAll),
    ] {
        if ui.button(text).clicked() {
            actions.push(action);
            ui.close();
        }
    }
}

/// What hovering a graph node shows.
pub(super) fn tooltip_ui(ui: &mut egui::Ui, row: &Row, badge: bool, state: &ObserverState) {
    ui.strong(&row.label);
    ui.label(&row.detail);
    if let RowItem::Process(pid) = row.item
        && let Some(info) = state.process(pid)
    {
        if !row.is_ghost {
            ui.label(format!(
                "{} · mailbox {} · handled {}",
                info.status,
                format::thousands(info.mailbox_len),
                format::thousands(info.messages_handled)
            ));
        }
        let hint = if badge {
            if row.is_collapsed {
                "click to expand"
            } else {
                "click to collapse"
            }
        } else {
            "click: details · double-click: window · right-click: actions"
        };
        ui.weak(hint);
    } else if row.kind == NodeKind::Fold {
        ui.weak("click to show more · right-click for more");
    }
}
