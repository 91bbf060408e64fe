//! What the Processes and Events tables share: the filter box above them (Ctrl+F focuses it,
//! Escape or 🗙 clears it), how a filter's words match a row's text, and the table itself
//! (striped, resizable columns, rows that answer clicks, one row height).
//!
//! Matching is case-insensitive and allocates nothing when the text is ASCII, so filtering
//! 100,000 rows stays within a frame.

use egui_extras::TableBuilder;

/// The filter box: `text` is what the user typed; `focus` (set by Ctrl+F) gives it the
/// keyboard focus at this frame. Escape while typing, or the 🗙 button, clears it.
pub fn filter_box_ui(
    ui: &mut egui::Ui,
    text: &mut String,
    focus: &mut bool,
    hint: &str,
    width: f32,
) -> egui::Response {
    let edit = egui::TextEdit::singleline(text)
        .hint_text(hint)
        .desired_width(width);
    let response = ui.add(edit);
    if std::mem::take(focus) {
        response.request_focus();
    }
    if response.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        text.clear();
    }
    if !text.is_empty() && ui.small_button("🗙").on_hover_text("Clear").clicked() {
        text.clear();
    }
    response
}

/// The words of a filter, lowercased: a row matches when it contains every one.
pub fn filter_terms(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_lowercase).collect()
}

/// Whether `haystack` contains `needle_lower` (already lowercase), ignoring case; without
/// allocating when both are ASCII.
pub fn contains_ignore_case(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let needle = needle_lower.as_bytes();
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle));
    }
    haystack.to_lowercase().contains(needle_lower)
}

/// The height of a table row (and, plus two, of its header).
pub fn row_height(ui: &egui::Ui) -> f32 {
    ui.text_style_height(&egui::TextStyle::Body) + 6.0
}

/// A table as the Observer's tables are: striped, resizable, rows that answer clicks (a
/// click selects, a double click opens, a right click shows the process menu), filling the
/// space; labels in it are not selectable, so a click on one reaches its row.
pub fn table<'a>(ui: &'a mut egui::Ui, id: &str) -> TableBuilder<'a> {
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .id_salt(id)
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .auto_shrink([false, false])
}

/// A right-aligned number, weak when it is nothing worth reading.
pub fn numeric_cell_ui(ui: &mut egui::Ui, text: String, is_notable: bool) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        if is_notable {
            ui.label(text);
        } else {
            ui.weak(text);
        }
    });
}

/// A small square of `color`, as in the tree's legend.
pub fn swatch_ui(ui: &mut egui::Ui, color: egui::Color32) {
    let size = egui::vec2(9.0, 9.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_matches_ignoring_case() {
        assert_eq!(filter_terms("  KV  Bucket "), ["kv", "bucket"]);
        assert!(contains_ignore_case("KV.Registry", "registry"));
        assert!(contains_ignore_case("KV", ""));
        assert!(!contains_ignore_case("KV", "kvx"));
        assert!(contains_ignore_case("Ünïcode", "ünï"));
    }
}
