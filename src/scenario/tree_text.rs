//! The supervision tree as indented text, for `otpscope dump` and a script's `dump`.
//!
//! One line a process: its name (else its behaviour label), its pid, its kind (with the
//! strategy and intensity of a supervisor), and its restart type under its supervisor.
//! Siblings beyond a limit fold into one line (`... 99,950 more KV.Bucket`).

use std::fmt::Write as _;

use crate::contract::format;
use crate::snapshot::model::{ProcessInfo, ProcessKind, Snapshot};

/// How many children of one parent are listed before the rest fold into one line.
pub const DEFAULT_FOLD_AT: usize = 20;

/// Renders every tree of `snapshot`, roots in start order.
pub fn render(snapshot: &Snapshot, fold_at: usize) -> String {
    let mut out = String::new();
    writeln!(out, "node {} ({} processes)", snapshot.node, snapshot.len()).ok();
    for root in snapshot.roots() {
        render_process(snapshot, root, "", None, fold_at, &mut out);
    }
    out
}

/// Writes `info` and its subtree. `last` is `None` for a root, else whether `info` is its
/// parent's last listed child.
fn render_process(
    snapshot: &Snapshot,
    info: &ProcessInfo,
    prefix: &str,
    last: Option<bool>,
    fold_at: usize,
    out: &mut String,
) {
    let (branch, child_prefix) = match last {
        None => ("", String::new()),
        Some(true) => ("└─ ", format!("{prefix}   ")),
        Some(false) => ("├─ ", format!("{prefix}│  ")),
    };
    writeln!(out, "{prefix}{branch}{}", describe(info)).ok();
    let children: Vec<&ProcessInfo> = info
        .children
        .iter()
        .filter_map(|pid| snapshot.process(*pid))
        .collect();
    let shown = children.len().min(fold_at);
    let folded = children.len() - shown;
    for (index, child) in children.iter().take(shown).enumerate() {
        let is_last = index + 1 == shown && folded == 0;
        render_process(snapshot, child, &child_prefix, Some(is_last), fold_at, out);
    }
    if folded > 0 {
        let label = fold_label(&children[shown..]);
        writeln!(
            out,
            "{child_prefix}└─ ... {} more {label}",
            format::thousands(folded as u64)
        )
        .ok();
    }
}

/// What a line says about one process.
pub fn describe(info: &ProcessInfo) -> String {
    let mut line = format!("{} {}", info.display_name(), info.pid);
    match &info.kind {
        ProcessKind::Supervisor {
            strategy,
            max_restarts,
            max_seconds,
        } => {
            write!(
                line,
                " supervisor {strategy} ({max_restarts} in {max_seconds}s)"
            )
            .ok();
        }
        ProcessKind::DynamicSupervisor { max_children, .. } => {
            line.push_str(" dynamic_supervisor one_for_one");
            if let Some(max) = max_children {
                write!(line, " max_children {max}").ok();
            }
        }
        other => {
            write!(line, " {}", other.name()).ok();
        }
    }
    if info.name.is_some() && *info.label != *info.display_name() {
        write!(line, " [{}]", info.label).ok();
    }
    if let Some(restart) = &info.restart {
        write!(line, " {restart}").ok();
    }
    if info.restarts > 0 {
        write!(line, " restarts {}", info.restarts).ok();
    }
    line
}

fn fold_label(rest: &[&ProcessInfo]) -> String {
    let first = rest.first().map_or("processes", |info| &*info.label);
    if rest.iter().all(|info| *info.label == *first) {
        first.to_owned()
    } else {
        "processes".to_owned()
    }
}
