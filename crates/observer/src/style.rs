//! The Observer's colours, in one place: what each kind of process and each status looks like,
//! in both themes, so a thing reads the same in every tab.

/// The green of things that just started or run, readable in both themes.
pub fn spawned(visuals: &egui::Visuals) -> egui::Color32 {
    if visuals.dark_mode {
        egui::Color32::from_rgb(110, 200, 120)
    } else {
        egui::Color32::from_rgb(20, 130, 40)
    }
}
