//! The Observer: an egui desktop app that does what Erlang's Observer does for a supervision
//! tree.
//!
//! It reads only the snapshot model, through a [`Source`], and sends
//! [`Command`](otpscope_contract::Command)s; it never imports the runtime. Each frame
//! first drains the source and applies updates ([`ObserverApp::logic`]), then draws
//! ([`ObserverApp::ui`]); widgets push [`UiCommand`]s that run after the frame.
//!
//! Where things are: the app, its [`state`], the [`source`] and the [`command`]s; the
//! [`panels`] (one module per tab, each tab's parts in its own folder); the [`widgets`] more
//! than one panel draws; the palette in [`style`], how things read in [`format`] and how typed text finds processes
//! in [`matching`]. No panel
//! imports from another.

pub mod app;
pub mod command;
pub mod extension;
pub mod format;
pub mod matching;
pub mod nodes;
pub mod panels;
pub mod recorder;
pub mod source;
pub mod state;
pub mod style;
pub mod widgets;

pub use app::ObserverApp;
pub use command::UiCommand;
/// The egui the Observer is built on, for [`Extension`]s drawn by other crates.
pub use egui;
pub use extension::Extension;
pub use nodes::{NodeWithExtensions, NodesApp};
pub use source::{Link, Marker, MarkerKind, RequestId, Source, Timeline};
pub use state::{ObserverState, Preferences, Tab, Theme};

/// Opens the Observer in a window on `source`, and returns when the window closes.
pub fn run(source: Box<dyn Source>) -> Result<(), eframe::Error> {
    run_many(vec![source])
}

/// Opens the Observer in a window on `source` with the program's own panels beside the tree
/// (see [`Extension`]), and returns when the window closes.
pub fn run_with(
    source: Box<dyn Source>,
    extensions: Vec<Box<dyn Extension>>,
) -> Result<(), eframe::Error> {
    run_many_with(vec![(source, extensions)])
}

/// The preferences eframe saved at the last run, or the defaults.
fn saved_preferences(cc: &eframe::CreationContext<'_>) -> state::Preferences {
    cc.storage
        .and_then(|storage| eframe::get_value(storage, state::PREFERENCES_KEY))
        .unwrap_or_default()
}

/// The window: its title, size and rendering options.
fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("otpscope Observer")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0]),
        dithering: false,
        ..eframe::NativeOptions::default()
    }
}

/// Opens the Observer on several nodes (a nodes bar picks the one shown; one source is the
/// plain Observer), and returns when the window closes.
pub fn run_many(sources: Vec<Box<dyn Source>>) -> Result<(), eframe::Error> {
    run_many_with(
        sources
            .into_iter()
            .map(|source| (source, Vec::new()))
            .collect(),
    )
}

/// Opens the Observer on several nodes, each with the program's own panels that act on it
/// (see [`Extension`]; a node's panels are drawn in that node's Observer only), and returns
/// when the window closes. One node is the plain Observer with its panels.
pub fn run_many_with(mut nodes: Vec<NodeWithExtensions>) -> Result<(), eframe::Error> {
    eframe::run_native(
        "otpscope",
        native_options(),
        Box::new(move |cc| {
            let prefs = saved_preferences(cc);
            if nodes.len() == 1
                && let Some((source, extensions)) = nodes.pop()
            {
                let mut app = ObserverApp::new(source, prefs).with_extensions(extensions);
                app.install_waker(&cc.egui_ctx);
                return Ok(Box::new(app));
            }
            let mut app = NodesApp::with_extensions(std::mem::take(&mut nodes), prefs);
            app.install_waker(&cc.egui_ctx);
            Ok(Box::new(app))
        }),
    )
}
