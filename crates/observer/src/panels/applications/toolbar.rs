//! The tab's toolbar: the search (Ctrl+F; Enter and Shift+Enter step through the matches,
//! each revealed and selected), Fit, Expand all, Collapse all, the fold size and whether the
//! outline shows.

use egui::RichText;

use otpscope_contract::Snapshot;

use super::data::TreeData;
use super::{ApplicationsPanel, TreeAction};
use crate::command::UiCommand;
use crate::format;
use crate::panels::View;

// === impl ApplicationsPanel: the toolbar ===

impl ApplicationsPanel {
    pub(super) fn toolbar_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &mut View<'_>,
        actions: &mut Vec<TreeAction>,
    ) {
        ui.horizontal_wrapped(|ui| {
            let edit = egui::TextEdit::singleline(&mut self.search)
                .id_salt("applications_search")
                .hint_text("Search pid, name, label  (Ctrl+F)")
                .desired_width(240.0);
            let response = ui.add(edit);
            if std::mem::take(&mut self.focus_search) {
                response.request_focus();
            }
            if response.changed() {
                self.match_cursor = None;
                self.search_changed = true;
            }
            let (enter, shift) =
                ui.input(|input| (input.key_pressed(egui::Key::Enter), input.modifiers.shift));
            if response.lost_focus() && enter {
                actions.push(TreeAction::StepMatch(if shift { -1 } else { 1 }));
                response.request_focus();
            }
            let searching = !self.search.trim().is_empty();
            let total = self
                .cache
                .as_ref()
                .map_or(0, |cache| cache.data.matches.len());
            if searching {
                let text = match (total, self.match_cursor) {
                    (0, _) => RichText::new("no match").color(ui.visuals().warn_fg_color),
                    (n, Some(at)) => {
                        RichText::new(format!("{} of {}", at + 1, format::thousands(n as u64)))
                    }
                    (n, None) => RichText::new(format::count(n, "match", "matches")),
                };
                ui.label(text);
            }
            ui.add_enabled_ui(total > 0, |ui| {
                if ui
                    .small_button("⏶")
                    .on_hover_text("Previous match (Shift+Enter)")
                    .clicked()
                {
                    actions.push(TreeAction::StepMatch(-1));
                }
                if ui
                    .small_button("⏷")
                    .on_hover_text("Next match (Enter)")
                    .clicked()
                {
                    actions.push(TreeAction::StepMatch(1));
                }
            });
            if searching
                && ui
                    .small_button("✖")
                    .on_hover_text("Clear the search")
                    .clicked()
            {
                self.search.clear();
                self.match_cursor = None;
            }
            ui.separator();
            if ui
                .button("Fit")
                .on_hover_text("Fit the whole tree in view, and keep it fitted")
                .clicked()
            {
                actions.push(TreeAction::Fit);
            }
            if ui.button("Expand all").clicked() {
                actions.push(TreeAction::ExpandAll);
            }
            if ui
                .button("Collapse all")
                .on_hover_text("Collapse everything below the roots")
                .clicked()
            {
                actions.push(TreeAction::CollapseAll);
            }
            ui.separator();
            ui.label("Fold at");
            ui.add(
                egui::DragValue::new(&mut view.prefs.fold_at)
                    .range(5..=5_000)
                    .speed(1.0),
            )
            .on_hover_text("Siblings beyond this many fold into one node");
            ui.checkbox(&mut view.prefs.show_outline, "Outline");
        });
        ui.add_space(2.0);
    }

    pub(super) fn go_to_match(
        &mut self,
        snapshot: &Snapshot,
        data: &TreeData,
        index: usize,
        view: &mut View<'_>,
    ) {
        let Some(pid) = data.matches.get(index).copied() else {
            return;
        };
        self.match_cursor = Some(index);
        self.reveal_now(snapshot, pid);
        view.push(UiCommand::Select(Some(pid)));
    }
}
