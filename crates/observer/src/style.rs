//! The Observer's palette, in one place: what each kind of process, each status, each mark of
//! a birth, death or restart, each kind of event and each chart series looks like, in both
//! themes, so a thing reads the same in every tab (a supervisor is the same blue in the graph,
//! the outline, the Processes table and the System charts; a death the same red everywhere).
//!
//! Everything here is a pure function of the theme (`dark`, or the [`egui::Visuals`] where
//! egui's own colours are the base); nothing draws except [`mini_node`], the node in
//! miniature that the outline and the details panel show. Panels pick colours from here and
//! never spell an RGB value themselves.

use egui::{Color32, CornerRadius, Rect, Stroke, StrokeKind, vec2};

use otpscope_contract::{ProcessKind, Status};

use crate::state::MarkKind;

const fn hex(r: u8, g: u8, b: u8) -> Color32 {
    Color32::from_rgb(r, g, b)
}

// === Kinds ===

/// What a process (or a fold of them) is drawn as: the palette's key for kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A supervisor with fixed children.
    Supervisor,
    /// A dynamic supervisor.
    DynamicSupervisor,
    /// A server or an agent.
    Worker,
    /// A plain process.
    Plain,
    /// A group of folded siblings.
    Fold,
}

impl NodeKind {
    /// How a process of `kind` is drawn.
    pub fn of(kind: &ProcessKind) -> Self {
        match kind {
            ProcessKind::Supervisor { .. } => Self::Supervisor,
            ProcessKind::DynamicSupervisor { .. } => Self::DynamicSupervisor,
            ProcessKind::Server | ProcessKind::Agent => Self::Worker,
            ProcessKind::Plain => Self::Plain,
        }
    }
}

/// The colours a node of one kind is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindColors {
    /// The box.
    pub fill: Color32,
    /// Its border, and the kind's swatch.
    pub accent: Color32,
    /// The label.
    pub text: Color32,
    /// The detail line.
    pub weak: Color32,
}

/// Colours by kind, for a dark or a light theme.
pub fn kind_colors(kind: NodeKind, dark: bool) -> KindColors {
    let (fill, accent) = match (kind, dark) {
        (NodeKind::Supervisor, true) => (hex(0x1f, 0x3b, 0x5e), hex(0x5b, 0x9b, 0xe6)),
        (NodeKind::Supervisor, false) => (hex(0xd8, 0xe7, 0xf8), hex(0x2a, 0x64, 0xad)),
        (NodeKind::DynamicSupervisor, true) => (hex(0x3a, 0x2c, 0x5e), hex(0xa1, 0x84, 0xe8)),
        (NodeKind::DynamicSupervisor, false) => (hex(0xe8, 0xe0, 0xf8), hex(0x65, 0x45, 0xb0)),
        (NodeKind::Worker, true) => (hex(0x1d, 0x44, 0x35), hex(0x4c, 0xbf, 0x8a)),
        (NodeKind::Worker, false) => (hex(0xda, 0xf0, 0xe4), hex(0x24, 0x85, 0x55)),
        (NodeKind::Plain, true) => (hex(0x36, 0x3a, 0x41), hex(0x9a, 0xa2, 0xad)),
        (NodeKind::Plain, false) => (hex(0xe9, 0xeb, 0xee), hex(0x6f, 0x77, 0x82)),
        (NodeKind::Fold, true) => (hex(0x2a, 0x2d, 0x33), hex(0x8a, 0x92, 0x9c)),
        (NodeKind::Fold, false) => (hex(0xf4, 0xf5, 0xf7), hex(0x80, 0x88, 0x92)),
    };
    base_colors(fill, accent, dark)
}

/// Colours of a process that just died (a ghost, drawn where it was for a moment).
pub fn ghost_colors(dark: bool) -> KindColors {
    if dark {
        base_colors(hex(0x4a, 0x1f, 0x22), hex(0xe5, 0x48, 0x4d), dark)
    } else {
        base_colors(hex(0xfb, 0xe0, 0xe0), hex(0xc6, 0x28, 0x28), dark)
    }
}

fn base_colors(fill: Color32, accent: Color32, dark: bool) -> KindColors {
    let (text, weak) = if dark {
        (hex(0xf1, 0xf3, 0xf6), hex(0xb4, 0xbb, 0xc5))
    } else {
        (hex(0x17, 0x1c, 0x24), hex(0x4f, 0x57, 0x62))
    };
    KindColors {
        fill,
        accent,
        text,
        weak,
    }
}

// === Statuses, marks and search ===

/// The colour of a status: running bright green, waiting muted, exiting amber, dead red.
pub fn status_color(status: Status, dark: bool) -> Color32 {
    match (status, dark) {
        (Status::Running, true) => hex(0x3d, 0xdc, 0x84),
        (Status::Running, false) => hex(0x1e, 0xa8, 0x5a),
        (Status::Waiting, true) => hex(0x8f, 0xa8, 0x9b),
        (Status::Waiting, false) => hex(0x7d, 0x94, 0x88),
        (Status::Exiting, true) => hex(0xf5, 0xa6, 0x23),
        (Status::Exiting, false) => hex(0xd9, 0x82, 0x00),
        (Status::Dead, true) => hex(0xe5, 0x48, 0x4d),
        (Status::Dead, false) => hex(0xc6, 0x28, 0x28),
    }
}

/// The colour of a fresh mark: restarted green, spawned blue, died red.
pub fn mark_color(kind: MarkKind, dark: bool) -> Color32 {
    match (kind, dark) {
        (MarkKind::Restarted, _) => status_color(Status::Running, dark),
        (MarkKind::Spawned, true) => hex(0x5b, 0xb8, 0xff),
        (MarkKind::Spawned, false) => hex(0x1a, 0x73, 0xe8),
        (MarkKind::Died, _) => status_color(Status::Dead, dark),
    }
}

/// The colour search matches are highlighted with.
pub fn match_color(dark: bool) -> Color32 {
    if dark {
        hex(0xff, 0xd1, 0x4a)
    } else {
        hex(0xe0, 0x9b, 0x00)
    }
}

/// The green of things that went well (a command that succeeded), readable in both themes.
pub fn success_color(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        hex(110, 200, 120)
    } else {
        hex(20, 130, 40)
    }
}

/// The fill of a restart-budget gauge: green while most of the budget is left, the warning
/// colour when one restart is left, the error colour when the next restart makes the
/// supervisor give up.
pub fn budget_color(left: u32, visuals: &egui::Visuals) -> Color32 {
    match left {
        0 => visuals.error_fg_color,
        1 => visuals.warn_fg_color,
        _ => success_color(visuals),
    }
}

/// The fill of the Stop recording button while Record is on: the error colour, toned to the
/// theme.
pub fn recording_fill(visuals: &egui::Visuals) -> Color32 {
    let error = visuals.error_fg_color;
    if visuals.dark_mode {
        error.gamma_multiply(0.35)
    } else {
        error.gamma_multiply(0.25)
    }
}

/// The fill of the Resume button while paused: the warning colour, toned to the theme.
pub fn paused_fill(visuals: &egui::Visuals) -> Color32 {
    let warn = visuals.warn_fg_color;
    if visuals.dark_mode {
        warn.gamma_multiply(0.35)
    } else {
        warn.gamma_multiply(0.25)
    }
}

// === The graph's lines ===

/// The colour of a tree edge and of a grid's frame.
pub fn edge_color(dark: bool) -> Color32 {
    if dark {
        Color32::from_gray(0x80)
    } else {
        Color32::from_gray(0x9a)
    }
}

/// The faint fill of a grid of leaf siblings.
pub fn group_fill(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgba_unmultiplied(255, 255, 255, 8)
    } else {
        Color32::from_rgba_unmultiplied(0, 0, 0, 9)
    }
}

/// The text on a collapse badge (which is filled with the kind's accent).
pub fn badge_text_color(dark: bool) -> Color32 {
    if dark {
        hex(0x10, 0x14, 0x1a)
    } else {
        Color32::WHITE
    }
}

// === Events ===

/// The colours of the kinds of event: the marks' colours (spawned blue, exited red,
/// restarted green), so a death reads the same in the feed as in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventColors {
    /// A process started.
    pub spawned: Color32,
    /// A process exited (with a crash: a normal exit or a shutdown is [`quiet`](Self::quiet)).
    pub exited: Color32,
    /// A supervisor restarted a child.
    pub restarted: Color32,
    /// A supervisor gave up.
    pub gave_up: Color32,
    /// A link or an unlink, as a kind.
    pub link: Color32,
    /// A command sent from outside the node.
    pub command: Color32,
    /// What is no news in a row: exits that are no crash, links.
    pub quiet: Color32,
}

/// The colours of the kinds of event in this theme.
pub fn event_colors(visuals: &egui::Visuals) -> EventColors {
    let dark = visuals.dark_mode;
    EventColors {
        spawned: mark_color(MarkKind::Spawned, dark),
        exited: mark_color(MarkKind::Died, dark),
        restarted: mark_color(MarkKind::Restarted, dark),
        gave_up: visuals.error_fg_color,
        link: visuals.text_color(),
        command: visuals.warn_fg_color,
        quiet: visuals.weak_text_color(),
    }
}

// === Charts ===

/// Colours of the System tab's series, chosen to read on both backgrounds. Kinds use the
/// kinds' accents, so a supervisor is the same blue in the chart and in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChartColors {
    /// Supervisors (static and dynamic).
    pub supervisors: Color32,
    /// Servers and agents.
    pub workers: Color32,
    /// Plain processes.
    pub plain: Color32,
    /// Messages per second.
    pub messages: Color32,
    /// Restarts per second.
    pub restarts: Color32,
    /// Messages waiting in mailboxes.
    pub mailboxes: Color32,
    /// Memory.
    pub memory: Color32,
}

/// The chart colours in this theme.
pub fn chart_colors(visuals: &egui::Visuals) -> ChartColors {
    let dark = visuals.dark_mode;
    let accent = |kind| kind_colors(kind, dark).accent;
    let (messages, restarts, mailboxes, memory) = if dark {
        (
            hex(80, 200, 200),
            hex(240, 165, 60),
            hex(222, 110, 170),
            hex(100, 160, 255),
        )
    } else {
        (
            hex(0, 125, 130),
            hex(200, 105, 0),
            hex(170, 50, 120),
            hex(30, 100, 210),
        )
    };
    ChartColors {
        supervisors: accent(NodeKind::Supervisor),
        workers: accent(NodeKind::Worker),
        plain: accent(NodeKind::Plain),
        messages,
        restarts,
        mailboxes,
        memory,
    }
}

// === The window's background ===

/// What the window is cleared to before each frame: the panels' own fill, so that the
/// panels need not paint it again ([`panel_frame`], [`central_frame`]) and look the same.
/// Under software GL (Xvfb, a VM, a remote desktop) a frame's cost is the pixels it fills:
/// the panels' backgrounds covered the whole window once more, for nothing.
pub fn clear_color(visuals: &egui::Visuals) -> [f32; 4] {
    visuals.panel_fill.to_normalized_gamma_f32()
}

/// A side, top or bottom panel's frame: egui's, without the fill the clear colour gives.
pub fn panel_frame(style: &egui::Style) -> egui::Frame {
    egui::Frame::side_top_panel(style).fill(Color32::TRANSPARENT)
}

/// The central panel's frame: egui's, without the fill the clear colour gives.
pub fn central_frame(style: &egui::Style) -> egui::Frame {
    egui::Frame::central_panel(style).fill(Color32::TRANSPARENT)
}

// === A node in miniature ===

/// Paints a node in miniature (16 by 11 points) centred on `center`: the kind's fill and
/// border (a ghost's if `is_ghost`), and the status dot if a status is given.
pub fn mini_node(
    painter: &egui::Painter,
    center: egui::Pos2,
    kind: NodeKind,
    is_ghost: bool,
    status: Option<Status>,
    dark: bool,
) {
    let colors = if is_ghost {
        ghost_colors(dark)
    } else {
        kind_colors(kind, dark)
    };
    let body = Rect::from_center_size(center, vec2(16.0, 11.0));
    painter.rect(
        body,
        CornerRadius::same(3),
        colors.fill,
        Stroke::new(1.2, colors.accent),
        StrokeKind::Inside,
    );
    if kind != NodeKind::Fold
        && let Some(status) = status
    {
        painter.circle_filled(body.center(), 2.6, status_color(status, dark));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thing_reads_the_same_colour_everywhere() {
        for dark in [true, false] {
            let visuals = if dark {
                egui::Visuals::dark()
            } else {
                egui::Visuals::light()
            };
            let events = event_colors(&visuals);
            assert_eq!(events.exited, status_color(Status::Dead, dark));
            assert_eq!(events.exited, ghost_colors(dark).accent);
            assert_eq!(events.restarted, status_color(Status::Running, dark));
            assert_eq!(events.spawned, mark_color(MarkKind::Spawned, dark));
            let charts = chart_colors(&visuals);
            assert_eq!(
                charts.supervisors,
                kind_colors(NodeKind::Supervisor, dark).accent
            );
        }
        let sup = ProcessKind::Supervisor {
            strategy: otpscope_contract::Strategy::OneForOne,
            max_restarts: 3,
            max_seconds: 5,
        };
        assert_eq!(NodeKind::of(&sup), NodeKind::Supervisor);
        assert_eq!(NodeKind::of(&ProcessKind::Agent), NodeKind::Worker);
    }
}
