//! The Observer's panels. Each is a struct with a `ui` method that reads the state through a
//! [`View`] and pushes [`UiCommand`]s; none changes the state directly.

pub mod applications;
pub mod console;
pub mod details;
pub mod dialogs;
pub mod events;
pub mod notices;
pub mod process_window;
pub mod processes;
pub mod system;
pub mod timeline;
pub mod top_bar;

use otpscope_contract::Capabilities;

use super::command::UiCommand;
use super::state::{ObserverState, Preferences};

/// What a panel gets each frame: the state to read, the preferences, and where to push
/// commands.
pub struct View<'a> {
    /// The Observer's data.
    pub state: &'a ObserverState,
    /// What the source offers: controls for anything else are hidden or disabled.
    pub capabilities: &'a Capabilities,
    /// The user's preferences (panels may change them: they are not live data).
    pub prefs: &'a mut Preferences,
    /// Commands to run after the frame.
    pub commands: &'a mut Vec<UiCommand>,
}

impl View<'_> {
    /// Queues a command.
    pub fn push(&mut self, command: UiCommand) {
        self.commands.push(command);
    }
}
