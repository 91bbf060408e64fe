//! The Applications tab: the supervision tree as a graph, and beside it a collapsible
//! outline of the same data, with search.
//!
//! Both views draw the same [`TreeData`] (built by [`data::build`]) and share one
//! [`TreeView`] (what is collapsed, which folds are open, what is pinned by a reveal). The
//! data and the laid-out graph are cached under a key (snapshot revision, view revision,
//! fold size, search, recently dead processes) and rebuilt only when it changes; each frame
//! only refreshes selection, hover and marks. Widgets push [`UiCommand`]s for the app and
//! [`TreeAction`]s for this panel, both carried out after drawing.
//!
//! Mouse: click selects, double-click opens a process window, right-click opens the process
//! menu; in the graph, drag pans, the wheel zooms, a click on a supervisor's badge collapses
//! or expands it, a click on a fold shows another page of it.
//!
//! The tab's parts, each in its own module: [`data`] (the rows, a pure builder), [`layout`]
//! (where each node goes, pure), [`graph`] (the graph, its shapes, its view and its canvas),
//! the outline, the toolbar, the menus and the overlay painted over the graph.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use egui::{Color32, FontId, Rect, RichText};

use otpscope_contract::{Pid, Snapshot};

use super::View;
use crate::command::UiCommand;
use crate::state::{MARK_DURATION, MarkKind, ObserverState};
use crate::widgets::RESTART_APP_HINT;
use data::{FoldId, FoldMemo, Ghost, RowItem, TreeData, TreeInput, TreeView};
use graph::{TreeGraph, ViewTransform};

pub mod data;
pub mod graph;
pub mod layout;
mod menus;
mod outline;
mod overlay;
mod toolbar;

/// Height of an outline row.
const ROW_HEIGHT: f32 = 20.0;
/// Indent of an outline row per depth.
const INDENT: f32 = 14.0;
/// The larger page a fold's menu offers.
const BIG_PAGE: usize = 1_000;
/// The most just-dead processes drawn at once.
const MAX_GHOSTS: usize = 2_000;
/// The zoom a reveal zooms in to at least, so the revealed node is readable.
const REVEAL_ZOOM: f32 = 0.75;

/// What a widget of this panel asks the panel to do, after drawing.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TreeAction {
    /// Hide or show a process's children.
    SetCollapsed(Pid, bool),
    /// Show a page more of a fold.
    ExpandFold(FoldId, usize),
    /// Fold a parent's children back.
    FoldBack(Pid),
    /// Bring a process into the graph's view.
    CenterOn(Pid),
    /// Fit the whole tree and keep fitting it.
    Fit,
    /// Collapse every process below the roots.
    CollapseAll,
    /// Expand every process.
    ExpandAll,
    /// Go to the next (or previous) search match.
    StepMatch(isize),
}

/// What the cached tree was built from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CacheKey {
    revision: u64,
    view: u64,
    fold_at: usize,
    search: String,
    ghosts: u64,
}

/// The visible tree and its graph, for one [`CacheKey`].
struct TreeCache {
    key: CacheKey,
    data: TreeData,
    graph: TreeGraph,
}

/// The Applications tab.
pub struct ApplicationsPanel {
    /// Set by Ctrl+F: the search box takes the focus at the next frame.
    pub focus_search: bool,
    /// The search text.
    search: String,
    /// What the user collapsed, opened and pinned.
    tree: TreeView,
    /// The visible tree, rebuilt when its key changes.
    cache: Option<TreeCache>,
    /// Summaries of large folds, kept between rebuilds.
    memo: FoldMemo,
    /// A process to reveal at the next frame (revealing needs the snapshot).
    pending_reveal: Option<Pid>,
    /// The match the search last went to.
    match_cursor: Option<usize>,
    /// The search text changed: go to its first match once the tree is rebuilt.
    search_changed: bool,
    /// Scroll the outline to this process once its row exists.
    scroll_to: Option<Pid>,
    /// Bring this process into the graph's view once its node exists.
    center_on: Option<Pid>,
    /// Keep fitting the graph to the view (until the user pans or zooms).
    auto_fit: bool,
    /// Fit at the next frame.
    fit_pending: bool,
    /// What the graph's context menu was opened on (`None`: empty space).
    menu_target: Option<RowItem>,
    /// The graph row under the pointer.
    hovered: Option<usize>,
    /// Where the graph was drawn last frame, and with what zoom and pan.
    last_view: Option<(Rect, ViewTransform)>,
    /// A view the graph glides to (a fit, a reveal), until the user takes over.
    view_target: Option<ViewTransform>,
    /// Scroll the outline, if needed, so this process's row shows (keyboard moves).
    keep_visible: Option<Pid>,
    /// The outline rows drawn at the last frame.
    shown_rows: std::ops::Range<usize>,
}

impl Default for ApplicationsPanel {
    fn default() -> Self {
        Self {
            focus_search: false,
            search: String::new(),
            tree: TreeView::default(),
            cache: None,
            memo: FoldMemo::default(),
            pending_reveal: None,
            match_cursor: None,
            search_changed: false,
            scroll_to: None,
            center_on: None,
            auto_fit: true,
            fit_pending: true,
            menu_target: None,
            hovered: None,
            last_view: None,
            view_target: None,
            keep_visible: None,
            shown_rows: 0..0,
        }
    }
}

impl ApplicationsPanel {
    /// Makes `pid` visible: expands what hides it and scrolls to it (at the next frame).
    pub fn reveal(&mut self, pid: Pid) {
        self.pending_reveal = Some(pid);
    }

    /// Whether `pid`'s children are hidden.
    pub fn is_collapsed(&self, pid: Pid) -> bool {
        self.tree.is_collapsed(pid)
    }

    /// Hides or shows `pid`'s children.
    pub fn set_collapsed(&mut self, pid: Pid, collapsed: bool) {
        self.tree.set_collapsed(pid, collapsed);
    }

    /// The search text.
    pub fn search(&self) -> &str {
        &self.search
    }

    /// The visible tree as last built, if any (for tests and benchmarks).
    pub fn tree_data(&self) -> Option<&TreeData> {
        self.cache.as_ref().map(|cache| &cache.data)
    }

    /// Where `pid`'s graph node was on screen at the last frame, if drawn and in view
    /// (graph nodes are painted, not widgets: tests click them by position).
    pub fn graph_node_rect(&self, pid: Pid) -> Option<Rect> {
        let cache = self.cache.as_ref()?;
        let (rect, transform) = self.last_view?;
        let node = cache.graph.rects.get(cache.data.row_of(pid)?)?;
        let min = rect.min + node.min.to_vec2() * transform.zoom + transform.pan;
        let max = rect.min + node.max.to_vec2() * transform.zoom + transform.pan;
        let on_screen = Rect::from_min_max(min, max);
        rect.contains_rect(on_screen).then_some(on_screen)
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let Some(snapshot) = view.state.snapshot.clone() else {
            ui.centered_and_justified(|ui| ui.label("Waiting for the first snapshot…"));
            return;
        };
        let now = Instant::now();
        if let Some(pid) = self.pending_reveal.take() {
            self.reveal_now(&snapshot, pid);
        }
        let mut actions = Vec::new();
        self.toolbar_ui(ui, view, &mut actions);
        if snapshot.is_empty() {
            stopped_ui(ui, view);
        }
        self.ensure_cache(ui.ctx(), view, &snapshot, now);
        let Some(mut cache) = self.cache.take() else {
            return;
        };
        if std::mem::take(&mut self.search_changed) && !cache.data.matches.is_empty() {
            self.go_to_match(&snapshot, &cache.data, 0, view);
        }
        self.keyboard(ui, view, &cache.data, &mut actions);
        if view.prefs.show_outline {
            let max_width = (ui.available_width() * 0.7).max(200.0);
            // A third of the room at most when it first shows, so the graph keeps most of a
            // tab narrowed by side panels (a lesson beside the tree).
            let default_width = (ui.available_width() * 0.35).clamp(180.0, 330.0);
            egui::Panel::left("applications_outline")
                .frame(crate::style::panel_frame(ui.style()))
                .resizable(true)
                .default_size(default_width)
                .size_range(160.0..=max_width)
                .show(ui, |ui| {
                    self.outline_ui(ui, view, &cache.data, &mut actions);
                });
        }
        self.graph_ui(ui, view, &mut cache, &mut actions);
        self.cache = Some(cache);
        self.apply(actions, &snapshot, view);
    }

    fn reveal_now(&mut self, snapshot: &Snapshot, pid: Pid) {
        if self.tree.reveal(snapshot, pid) {
            self.scroll_to = Some(pid);
            self.center_on = Some(pid);
        }
    }

    // === The cache ===

    fn ensure_cache(
        &mut self,
        ctx: &egui::Context,
        view: &View<'_>,
        snapshot: &Arc<Snapshot>,
        now: Instant,
    ) {
        let ghost_pids = ghost_pids(view.state, now);
        let key = CacheKey {
            revision: view.state.revision,
            view: self.tree.revision,
            fold_at: view.prefs.fold_at.max(1),
            search: self.search.trim().to_owned(),
            ghosts: ghost_key(view.state, &ghost_pids),
        };
        if self.cache.as_ref().is_some_and(|cache| cache.key == key) {
            return;
        }
        if self
            .cache
            .as_ref()
            .is_none_or(|cache| cache.key.revision != key.revision)
        {
            self.tree
                .forget_gone(snapshot, |pid| ghost_pids.binary_search(&pid).is_ok());
        }
        let ghosts: Vec<Ghost> = ghost_pids
            .iter()
            .filter_map(|pid| view.state.dead.get(pid))
            .map(|dead| Ghost {
                info: dead.info.clone(),
                reason: dead.reason.clone(),
            })
            .collect();
        let data = data::build(
            TreeInput {
                snapshot,
                view: &self.tree,
                fold_at: key.fold_at,
                search: &key.search,
                ghosts: &ghosts,
            },
            &mut self.memo,
        );
        let graph = TreeGraph::build(&data, |text, size| {
            ctx.fonts_mut(|fonts| {
                fonts
                    .layout_no_wrap(text.to_owned(), FontId::proportional(size), Color32::WHITE)
                    .size()
                    .x
            })
        });
        if self.auto_fit {
            self.fit_pending = true;
        }
        if let Some(cursor) = self.match_cursor
            && cursor >= data.matches.len()
        {
            self.match_cursor = None;
        }
        self.cache = Some(TreeCache { key, data, graph });
    }

    fn apply(&mut self, actions: Vec<TreeAction>, snapshot: &Snapshot, view: &mut View<'_>) {
        for action in actions {
            match action {
                TreeAction::SetCollapsed(pid, collapsed) => self.tree.set_collapsed(pid, collapsed),
                TreeAction::ExpandFold(fold, page) => self.tree.expand_fold(fold, page),
                TreeAction::FoldBack(parent) => self.tree.fold_back(parent),
                TreeAction::CenterOn(pid) => self.center_on = Some(pid),
                TreeAction::Fit => {
                    self.auto_fit = true;
                    self.fit_pending = true;
                }
                TreeAction::CollapseAll => self.tree.collapse_all(snapshot),
                TreeAction::ExpandAll => self.tree.expand_all(),
                TreeAction::StepMatch(step) => {
                    let Some(cache) = self.cache.take() else {
                        continue;
                    };
                    let total = cache.data.matches.len();
                    if total > 0 {
                        let next = match self.match_cursor {
                            None if step < 0 => total - 1,
                            None => 0,
                            Some(at) => (at as isize + step).rem_euclid(total as isize) as usize,
                        };
                        self.go_to_match(snapshot, &cache.data, next, view);
                    }
                    self.cache = Some(cache);
                }
            }
        }
    }
}

// === Ghosts and marks ===

/// Processes that died less than [`MARK_DURATION`] ago, in pid order.
fn ghost_pids(state: &ObserverState, now: Instant) -> Vec<Pid> {
    let mut pids: Vec<Pid> = state
        .marks
        .iter()
        .filter(|(pid, mark)| {
            mark.kind == MarkKind::Died
                && now.duration_since(mark.at) < MARK_DURATION
                && !state.is_alive(**pid)
                && state.dead.contains_key(*pid)
        })
        .map(|(pid, _)| *pid)
        .collect();
    // A mass death (100,000 buckets at once) keeps the oldest: the supervisors that went
    // and the first of their children; the rest would fold away anyway.
    if pids.len() > MAX_GHOSTS {
        pids.select_nth_unstable(MAX_GHOSTS);
        pids.truncate(MAX_GHOSTS);
    }
    pids.sort_unstable();
    pids
}

/// What the ghosts look like, as one number for the cache key.
fn ghost_key(state: &ObserverState, pids: &[Pid]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for pid in pids {
        pid.hash(&mut hasher);
        state
            .dead
            .get(pid)
            .and_then(|dead| dead.reason.as_ref())
            .hash(&mut hasher);
    }
    hasher.finish()
}

/// The fresh mark on `pid` and how fresh it is (1 new, 0 gone).
pub(super) fn mark_freshness(
    state: &ObserverState,
    pid: Pid,
    now: Instant,
) -> Option<(MarkKind, f32)> {
    let mark = state.marks.get(&pid)?;
    let age = now.duration_since(mark.at);
    (age < MARK_DURATION).then(|| {
        (
            mark.kind,
            1.0 - age.as_secs_f32() / MARK_DURATION.as_secs_f32(),
        )
    })
}

/// The banner over an empty tree: the app has stopped (a crash loop that reached the top, a
/// killed root), and, if the source can, a way to start it again.
fn stopped_ui(ui: &mut egui::Ui, view: &mut View<'_>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Nothing runs on the node: the app has stopped.")
                    .strong()
                    .color(ui.visuals().warn_fg_color),
            );
            if view
                .capabilities
                .accepts(&otpscope_contract::Command::RestartApp)
                && ui
                    .button("Restart the app")
                    .on_hover_text(RESTART_APP_HINT)
                    .clicked()
            {
                view.push(UiCommand::Send(otpscope_contract::Command::RestartApp));
            }
        });
    });
}
