//! What widgets ask for. A button or a menu item pushes a [`UiCommand`]; the app carries the
//! commands out after the frame, so drawing never changes state behind another widget's back.

use otpscope_contract::{Command, Pid};

use super::state::Tab;

/// A request from a widget, run after the frame.
#[derive(Clone, Debug, PartialEq)]
pub enum UiCommand {
    /// Select a process (or clear the selection): the details panel shows it.
    Select(Option<Pid>),
    /// Select a process and make it visible: expand its ancestors and any fold hiding it,
    /// switch to the Applications tab, and scroll the outline and the graph to it.
    Reveal(Pid),
    /// Open a process window (several may be open).
    OpenWindow(Pid),
    /// Close a process window.
    CloseWindow(Pid),
    /// Ask a process for its state (a process window shows it).
    RefreshState(Pid),
    /// Send a command to the node (exit signals, KV commands).
    Send(Command),
    /// Ask the user for a custom exit reason for this process.
    AskExitReason(Pid),
    /// Ask the user for the reason to stop this supervisor with (`Supervisor.stop/2`).
    AskStopReason(Pid),
    /// Ask a supervisor for its children, running or not (its context menu is open).
    ListChildren(Pid),
    /// Ask the user to confirm killing this process.
    ConfirmKill(Pid),
    /// Switch tab.
    SetTab(Tab),
    /// Show a message in the notice area (errors from commands, confirmations).
    Notice(String),
    /// Start recording what the Observer receives to a new file (the Record button).
    StartRecording,
    /// Stop recording and close the file.
    StopRecording,
    /// Write the flight recorder's last minute to a new file.
    SaveLastMinute,
}
