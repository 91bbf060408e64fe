//! Panels the embedding program adds to the Observer: a neutral extension point.
//!
//! The Observer knows a node only through its [`Source`](crate::Source) and the contract. A
//! program that has more to show beside the tree (the `otpscope` binary's lesson and chaos
//! panels, which drive the node they were started with) hands the Observer an
//! [`Extension`]: a titled panel drawn in a side panel on the left, opened and closed from
//! the top bar. The Observer knows nothing of what an extension does; an extension reads the
//! Observer's state and pushes commands through the same [`View`] every panel gets.
//!
//! At rest an extension draws nothing new: work it does elsewhere (a task on the node's
//! runtime) calls the waker the Observer installs when, and only when, what it shows changed.

use crate::panels::View;

/// A panel a program plugs into the Observer; see the module docs.
pub trait Extension {
    /// Its name, on its top-bar toggle and over the panel (`Lesson`, `Chaos`).
    fn title(&self) -> String;

    /// Draws the panel's contents (the Observer draws the side panel around it).
    fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>);

    /// Installs the callback to call (from any thread) when what the panel shows has
    /// changed, so the UI repaints without polling.
    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        let _ = waker;
    }

    /// Whether the panel is open when the window opens (the lesson is; chaos waits to be
    /// asked for).
    fn is_open_at_start(&self) -> bool {
        false
    }
}
