//! Process windows: one per double-clicked process, with its overview, its state on demand
//! and its history; the title says DEAD once it has exited.

use std::collections::BTreeMap;

use crate::snapshot::model::{Pid, StateRow};

use super::View;

/// One open process window.
#[derive(Clone, Debug, Default)]
pub struct ProcessWindow {
    /// The process's state as last described, if asked.
    pub state: Option<Result<Option<Vec<StateRow>>, String>>,
}

/// Every open process window, by pid.
#[derive(Default)]
pub struct ProcessWindows {
    /// The open windows.
    pub open: BTreeMap<Pid, ProcessWindow>,
}

impl ProcessWindows {
    /// Draws the open windows.
    pub fn ui(&mut self, ctx: &egui::Context, view: &mut View<'_>) {
        let _ = (ctx, view);
    }
}
