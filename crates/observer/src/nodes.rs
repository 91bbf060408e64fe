//! Several nodes in one window, as Erlang's Observer has its Nodes menu: one full Observer
//! per source, a bar above them that picks the one shown (each with its connection state),
//! and an "All nodes" overview with every node's supervision trees at once.
//!
//! A program's own panels ([`Extension`]s) belong to one node each: they are drawn in that
//! node's Observer and act on that node only (the `otpscope` binary gives each attached node
//! its own Chaos panel).
//!
//! Every node's source is drained each frame, shown or not, so switching shows it current
//! and a lost node is marked as soon as it is lost. The preferences (tab, interval, theme)
//! are shared: what the user changes on one node holds for all.

use otpscope_contract::{Pid, ProcessInfo, Snapshot};

use crate::app::ObserverApp;
use crate::extension::Extension;
use crate::source::{Link, Source};
use crate::state::Preferences;
use crate::style::{self, NodeKind, kind_colors};

/// How many children of one process the overview lists before it folds the rest.
const OVERVIEW_CHILDREN: usize = 25;

/// Which view the window shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The Observer of one node, by index.
    Node(usize),
    /// Every node's trees.
    All,
}

/// The Observer on several nodes.
pub struct NodesApp {
    /// One Observer a node, in the order given.
    pub nodes: Vec<ObserverApp>,
    /// What is shown.
    pub shown: Shown,
}

/// A node's source and the program's own panels that act on that node.
pub type NodeWithExtensions = (Box<dyn Source>, Vec<Box<dyn Extension>>);

impl NodesApp {
    /// An Observer on each of `sources`, the first shown.
    pub fn new(sources: Vec<Box<dyn Source>>, prefs: Preferences) -> Self {
        Self::with_extensions(
            sources
                .into_iter()
                .map(|source| (source, Vec::new()))
                .collect(),
            prefs,
        )
    }

    /// An Observer on each node, with that node's own panels (see [`Extension`]), the first
    /// shown.
    pub fn with_extensions(nodes: Vec<NodeWithExtensions>, prefs: Preferences) -> Self {
        Self {
            nodes: nodes
                .into_iter()
                .map(|(source, extensions)| {
                    ObserverApp::new(source, prefs.clone()).with_extensions(extensions)
                })
                .collect(),
            shown: Shown::Node(0),
        }
    }

    /// Lets every source wake the UI.
    pub fn install_waker(&mut self, ctx: &egui::Context) {
        for node in &mut self.nodes {
            node.install_waker(ctx);
        }
    }

    /// One whole frame: logic, ui, then the commands.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        self.logic(ui.ctx());
        self.ui(ui);
        self.run_commands();
    }

    /// Shares the shown node's preferences, then drains every source.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if let Shown::Node(index) = self.shown
            && let Some(prefs) = self.nodes.get(index).map(|node| node.prefs.clone())
        {
            for (other, node) in self.nodes.iter_mut().enumerate() {
                if other != index && node.prefs != prefs {
                    node.prefs = prefs.clone();
                    node.tab = prefs.tab;
                }
            }
        }
        for node in &mut self.nodes {
            node.logic(ctx);
        }
    }

    /// The nodes bar, then the shown view.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("nodes_bar")
            .frame(style::panel_frame(ui.style()))
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.strong("Nodes");
                    ui.separator();
                    if ui
                        .selectable_label(self.shown == Shown::All, "All nodes")
                        .on_hover_text("Every node's supervision trees at once")
                        .clicked()
                    {
                        self.shown = Shown::All;
                    }
                    for (index, node) in self.nodes.iter().enumerate() {
                        let (dot, color, hover) = link_badge(&node.link(), ui.visuals());
                        let text = egui::RichText::new(format!("{dot} {}", node.title()));
                        let selected = self.shown == Shown::Node(index);
                        let text = if selected { text } else { text.color(color) };
                        if ui
                            .selectable_label(selected, text)
                            .on_hover_text(hover)
                            .clicked()
                        {
                            self.shown = Shown::Node(index);
                        }
                    }
                });
            });
        match self.shown {
            Shown::Node(index) => {
                if let Some(node) = self.nodes.get_mut(index) {
                    node.ui(ui);
                }
            }
            Shown::All => {
                egui::CentralPanel::default()
                    .frame(style::central_frame(ui.style()))
                    .show(ui, |ui| {
                        if let Some((index, pid)) = overview_ui(ui, &self.nodes) {
                            self.shown = Shown::Node(index);
                            if let Some(node) = self.nodes.get_mut(index) {
                                node.reveal(pid);
                            }
                        }
                    });
            }
        }
    }

    /// Runs every node's pending commands.
    pub fn run_commands(&mut self) {
        for node in &mut self.nodes {
            node.run_commands();
        }
    }
}

/// A dot, its colour and a hover text for a node's connection state.
fn link_badge(link: &Link, visuals: &egui::Visuals) -> (&'static str, egui::Color32, String) {
    match link {
        Link::Live => (
            "●",
            style::success_color(visuals),
            "Connected: live data".to_owned(),
        ),
        Link::Lost { error, attempts } => (
            "○",
            visuals.error_fg_color,
            format!("Disconnected ({error}); reconnecting, {attempts} attempts failed"),
        ),
    }
}

/// Every node's trees; the process clicked, if any, with its node's index.
fn overview_ui(ui: &mut egui::Ui, nodes: &[ObserverApp]) -> Option<(usize, Pid)> {
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (index, node) in nodes.iter().enumerate() {
                let (dot, color, hover) = link_badge(&node.link(), ui.visuals());
                let count = node.state.snapshot.as_ref().map_or(0, |s| s.len());
                let heading = egui::RichText::new(format!(
                    "{dot} {} — {} processes",
                    node.title(),
                    crate::format::thousands(count as u64)
                ))
                .strong()
                .color(color);
                egui::CollapsingHeader::new(heading)
                    .id_salt(("overview_node", index))
                    .default_open(true)
                    .show(ui, |ui| {
                        if node.link() != Link::Live {
                            ui.label(egui::RichText::new(hover).color(color));
                            ui.set_opacity(0.45);
                        }
                        match node.state.snapshot.as_deref() {
                            Some(snapshot) => {
                                for root in snapshot.roots() {
                                    if let Some(pid) = tree_ui(ui, snapshot, root, index, 0) {
                                        clicked = Some((index, pid));
                                    }
                                }
                            }
                            None => {
                                ui.weak("no snapshot yet");
                            }
                        }
                    });
                ui.add_space(6.0);
            }
        });
    clicked
}

/// One process and, open, its children (the first [`OVERVIEW_CHILDREN`], then a count).
fn tree_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    info: &ProcessInfo,
    node: usize,
    depth: usize,
) -> Option<Pid> {
    let mut clicked = None;
    let colors = kind_colors(NodeKind::of(&info.kind), ui.visuals().dark_mode);
    let text = egui::RichText::new(format!(
        "{} {}  {}",
        info.display_name(),
        info.pid,
        info.kind.name()
    ))
    .color(colors.accent);
    if info.children.is_empty() {
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            if ui
                .selectable_label(false, text)
                .on_hover_text("Click: show it in its node's Observer")
                .clicked()
            {
                clicked = Some(info.pid);
            }
        });
        return clicked;
    }
    let header = egui::CollapsingHeader::new(text)
        .id_salt(("overview", node, info.pid))
        .default_open(depth < 2)
        .show(ui, |ui| {
            for (shown, child) in snapshot.children_of(info.pid).enumerate() {
                if shown == OVERVIEW_CHILDREN {
                    ui.weak(format!(
                        "… and {} more (open the node to see them all)",
                        crate::format::thousands((info.children.len() - shown) as u64)
                    ));
                    break;
                }
                if let Some(pid) = tree_ui(ui, snapshot, child, node, depth + 1) {
                    clicked = Some(pid);
                }
            }
        });
    if header.header_response.double_clicked() {
        clicked = Some(info.pid);
    }
    clicked
}

impl eframe::App for NodesApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        NodesApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        NodesApp::ui(self, ui);
        self.run_commands();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Some(node) = self.nodes.first() {
            node.save_preferences(storage);
        }
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        style::clear_color(visuals)
    }
}
