//! Pieces that more than one panel draws: the right-click menu of a process, the facts about
//! a process (the details panel and the process windows), and the tables' filter box and
//! layout (Processes and Events). Panels import from here, never from each other.
//!
//! Like the panels, widgets read the state through a [`View`](crate::panels::View) and push
//! commands; none changes the state.

pub mod process_facts;
pub mod process_menu;
pub mod table;

/// What "Restart the app" does, for its hover text (the top bar and the Applications tab's
/// banner over an empty tree both offer it).
pub const RESTART_APP_HINT: &str = "Start the app again, as when the Observer opened. Once \
     nothing runs on the node: nothing restarts a root that has exited.";
