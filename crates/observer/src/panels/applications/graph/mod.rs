//! The supervision tree as a graph: [`TreeGraph`] turns the visible rows into egui_graphs'
//! graph (one node per row, one edge per parent link), laid out by
//! [`layout`](super::layout), and answers which node is under the pointer.
//!
//! Its parts: [`shapes`] (how a node and an edge look), [`transform`] (zoom and pan
//! arithmetic) and [`canvas`] (the graph half of the tab: drawing, the view, the mouse).
//!
//! egui_graphs gives the graph its storage and the display traits our shapes implement;
//! [`TreeGraph::paint`] draws it with egui's painter, in the order egui_graphs would (edges,
//! then nodes), at the view's zoom and pan. Its `GraphView` widget is not used: it asks egui
//! for a repaint on every frame it draws, so an untouched Applications tab would repaint
//! forever (a whole core under Xvfb's software GL). Drawn this way, the tab repaints only on
//! input, on an update, and while something moves (a view gliding, a mark fading). Positions
//! are ours (egui_graphs' layouts would scatter the nodes), and the panel hit-tests the
//! rectangles laid out here, so a click on a node, on its collapse badge or on empty space are
//! told apart. Per-frame state (selection, hover, marks) lives in the node payloads and is
//! refreshed each frame without rebuilding the graph.

mod canvas;
pub mod shapes;
pub mod transform;

use egui::{Pos2, Rect, vec2};
use egui_graphs::{DisplayEdge, DisplayNode, DrawContext, Graph, MetadataFrame, SettingsStyle};
use petgraph::Directed;
use petgraph::stable_graph::{DefaultIx, NodeIndex};

use otpscope_contract::Pid;

use super::data::TreeData;
use super::layout::{LayoutNode, LayoutParams, layout};
use crate::state::MarkKind;
use crate::style::NodeKind;
use shapes::{
    DETAIL_SIZE, DOT_SPACE, EdgeData, EdgeShape, LABEL_SIZE, NODE_HEIGHT, NodeData, NodeShape,
    PAD_X, badge_rect, shown_detail,
};
pub use transform::ViewTransform;

/// The graph draws at most this many rows (the outline shows them all).
pub const MAX_GRAPH_NODES: usize = 2_000;

// === impl TreeGraph ===

/// The egui_graphs graph of the visible rows, with where each node was laid out.
pub struct TreeGraph {
    /// What egui_graphs draws.
    pub graph: Graph<NodeData, EdgeData, Directed, DefaultIx, NodeShape, EdgeShape>,
    /// The node of each drawn row (rows beyond [`MAX_GRAPH_NODES`] are not drawn).
    pub nodes: Vec<NodeIndex<DefaultIx>>,
    /// Each drawn row's box, in canvas coordinates.
    pub rects: Vec<Rect>,
    /// Everything drawn, badges included.
    pub bounds: Rect,
    /// Rows not drawn.
    pub truncated: usize,
}

impl TreeGraph {
    /// Lays out and builds the graph of `data`; `text_width(text, size)` measures text.
    pub fn build(data: &TreeData, mut text_width: impl FnMut(&str, f32) -> f32) -> Self {
        let drawn = data.rows.len().min(MAX_GRAPH_NODES);
        let rows = &data.rows[..drawn];
        let nodes: Vec<LayoutNode> = rows
            .iter()
            .map(|row| {
                let text_left = if row.kind == NodeKind::Fold {
                    PAD_X
                } else {
                    PAD_X + DOT_SPACE
                };
                let detail = shown_detail(&row.detail, row.kind, row.hidden_matches);
                let text =
                    text_width(&row.label, LABEL_SIZE).max(text_width(&detail, DETAIL_SIZE) + 4.0);
                LayoutNode {
                    parent: row.parent_row,
                    size: vec2((text_left + text + PAD_X).ceil(), NODE_HEIGHT),
                }
            })
            .collect();
        let placed = layout(&nodes, &LayoutParams::default());

        let mut graph = Graph::new();
        let mut indices = Vec::with_capacity(drawn);
        let mut rects = Vec::with_capacity(drawn);
        for (index, (row, node)) in rows.iter().zip(&nodes).enumerate() {
            let center = placed.centers.get(index).copied().unwrap_or(Pos2::ZERO);
            rects.push(Rect::from_center_size(center, node.size));
            let payload = NodeData {
                row: index,
                label: row.label.as_str().into(),
                detail: row.detail.as_str().into(),
                kind: row.kind,
                status: row.status,
                size: node.size,
                is_ghost: row.is_ghost,
                is_match: row.is_match,
                is_collapsed: row.is_collapsed,
                has_children: row.has_children(),
                child_count: row.child_count,
                hidden_matches: row.hidden_matches,
                is_selected: false,
                is_hovered: false,
                mark: None,
            };
            indices.push(graph.add_node_with_location(payload, center));
        }
        let mut grouped = vec![None; drawn];
        for group in &placed.groups {
            for (position, child) in group.children.iter().enumerate() {
                if let Some(slot) = grouped.get_mut(*child) {
                    *slot = Some((position == 0).then_some(group.rect));
                }
            }
        }
        for (index, row) in rows.iter().enumerate() {
            let Some(parent) = row.parent_row.filter(|parent| *parent < drawn) else {
                continue;
            };
            let edge = match grouped[index] {
                Some(Some(frame)) => EdgeData::Group { frame },
                Some(None) => EdgeData::Hidden,
                None => EdgeData::Tree {
                    to_ghost: row.is_ghost,
                },
            };
            graph.add_edge(indices[parent], indices[index], edge);
        }
        let mut bounds = placed.bounds;
        for (rect, row) in rects.iter().zip(rows) {
            if row.has_children() {
                bounds = bounds.union(badge_rect(rect.center(), rect.size()));
            }
        }
        Self {
            graph,
            nodes: indices,
            rects,
            bounds,
            truncated: data.rows.len() - drawn,
        }
    }

    /// Updates what changes between frames: selection, hover and marks. Returns whether a
    /// drawn node has a fresh mark (it fades: the caller keeps repainting while it does).
    pub fn refresh(
        &mut self,
        data: &TreeData,
        selected: Option<Pid>,
        hovered: Option<usize>,
        mut mark: impl FnMut(Pid) -> Option<(MarkKind, f32)>,
    ) -> bool {
        let mut is_marked = false;
        for (row_index, node_index) in self.nodes.iter().enumerate() {
            let Some(row) = data.rows.get(row_index) else {
                continue;
            };
            let Some(node) = self.graph.node_mut(*node_index) else {
                continue;
            };
            let pid = row.item.pid();
            let payload = node.payload_mut();
            payload.is_selected = pid.is_some() && pid == selected;
            payload.is_hovered = hovered == Some(row_index);
            payload.mark = if row.is_ghost {
                pid.and_then(&mut mark)
                    .map(|(_, freshness)| (MarkKind::Died, freshness))
            } else {
                pid.and_then(&mut mark)
            };
            is_marked |= payload.mark.is_some();
        }
        is_marked
    }

    /// Paints the graph with `painter`: canvas point `p` shows at `origin + p * zoom + pan`.
    /// Edges first, then nodes, each as its display shape says (see [`shapes`]).
    pub fn paint(
        &mut self,
        ctx: &egui::Context,
        painter: &egui::Painter,
        origin: Pos2,
        view: ViewTransform,
    ) {
        let mut meta = MetadataFrame::new(None);
        meta.zoom = view.zoom;
        meta.pan = origin.to_vec2() + view.pan;
        let style = SettingsStyle::new();
        let draw = DrawContext {
            ctx,
            painter,
            style: &style,
            is_directed: true,
            meta: &meta,
        };
        // Bring each display up to date with its payload before edges read the nodes.
        for index in &self.nodes {
            if let Some(node) = self.graph.node_mut(*index) {
                let props = node.props().clone();
                node.display_mut().update(&props);
            }
        }
        for (index, edge) in self.graph.edges_iter() {
            let Some((start, end)) = self.graph.edge_endpoints(index) else {
                continue;
            };
            let (Some(start), Some(end)) = (self.graph.node(start), self.graph.node(end)) else {
                continue;
            };
            // An edge's look is a function of its payload: draw a fresh copy of its display.
            let mut display = edge.display().clone();
            display.update(edge.props());
            painter.extend(display.shapes(start, end, &draw));
        }
        for index in &self.nodes {
            if let Some(node) = self.graph.node_mut(*index) {
                painter.extend(node.display_mut().shapes(&draw));
            }
        }
    }

    /// The drawn row at `pos` (canvas coordinates), and whether it is on its collapse badge.
    pub fn hit(&self, data: &TreeData, pos: Pos2) -> Option<(usize, bool)> {
        for (index, rect) in self.rects.iter().enumerate() {
            let has_children = data.rows.get(index).is_some_and(|row| row.has_children());
            if has_children && badge_rect(rect.center(), rect.size()).contains(pos) {
                return Some((index, true));
            }
        }
        self.rects
            .iter()
            .position(|rect| rect.contains(pos))
            .map(|index| (index, false))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use egui::pos2;
    use otpscope_contract::{Pid, Status};

    use super::*;
    use crate::panels::applications::data::{Row, RowItem};

    fn row(pid: u64, depth: usize, parent_row: Option<usize>, kind: NodeKind) -> Row {
        Row {
            item: RowItem::Process(Pid(pid)),
            depth,
            parent_row,
            label: format!("P <0.{pid}.0>"),
            detail: "agent".into(),
            kind,
            status: Status::Waiting,
            is_ghost: false,
            child_count: 0,
            is_collapsed: false,
            is_match: false,
            hidden_matches: 0,
        }
    }

    fn data(rows: Vec<Row>) -> TreeData {
        TreeData {
            row_of: rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.item.pid().map(|p| (p, i)))
                .collect(),
            rows,
            ..TreeData::default()
        }
    }

    fn width(text: &str, size: f32) -> f32 {
        text.chars().count() as f32 * size * 0.55
    }

    #[test]
    fn each_row_is_a_node_and_each_parent_link_an_edge() {
        let mut root = row(1, 0, None, NodeKind::Supervisor);
        root.child_count = 2;
        let tree = data(vec![
            root,
            row(2, 1, Some(0), NodeKind::Worker),
            row(3, 1, Some(0), NodeKind::Worker),
        ]);
        let graph = TreeGraph::build(&tree, width);
        assert_eq!(graph.graph.node_count(), 3);
        assert_eq!(graph.graph.edge_count(), 2);
        assert_eq!(graph.truncated, 0);
        // Hit testing: the middle of a node, its badge, and empty space.
        let (hit, on_badge) = graph.hit(&tree, graph.rects[1].center()).unwrap();
        assert_eq!((hit, on_badge), (1, false));
        let badge = badge_rect(graph.rects[0].center(), graph.rects[0].size()).center();
        assert_eq!(graph.hit(&tree, badge), Some((0, true)));
        assert_eq!(graph.hit(&tree, pos2(-5000.0, -5000.0)), None);
        // Wider labels make wider nodes.
        assert!(graph.rects[0].width() > 60.0);
    }

    #[test]
    fn a_grid_of_leaves_gets_one_frame_edge_and_hidden_edges() {
        let mut rows = vec![row(1, 0, None, NodeKind::DynamicSupervisor)];
        rows[0].child_count = 20;
        for pid in 0..20 {
            rows.push(row(10 + pid, 1, Some(0), NodeKind::Worker));
        }
        let tree = data(rows);
        let graph = TreeGraph::build(&tree, width);
        let kinds: Vec<&EdgeData> = graph
            .graph
            .edges_iter()
            .map(|(_, edge)| edge.payload())
            .collect();
        assert_eq!(
            kinds
                .iter()
                .filter(|e| matches!(e, EdgeData::Group { .. }))
                .count(),
            1
        );
        assert_eq!(
            kinds
                .iter()
                .filter(|e| matches!(e, EdgeData::Hidden))
                .count(),
            19
        );
        let rects: HashSet<String> = graph.rects.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(rects.len(), 21, "every node has its own place");
    }

    #[test]
    fn refresh_marks_selection_hover_and_ghosts() {
        let mut ghost = row(2, 1, Some(0), NodeKind::Worker);
        ghost.is_ghost = true;
        let tree = data(vec![row(1, 0, None, NodeKind::Supervisor), ghost]);
        let mut graph = TreeGraph::build(&tree, width);
        graph.refresh(&tree, Some(Pid(1)), Some(1), |_| {
            Some((MarkKind::Spawned, 0.5))
        });
        let payload = |i: usize| graph.graph.node(graph.nodes[i]).unwrap().payload().clone();
        assert!(payload(0).is_selected && !payload(0).is_hovered);
        assert!(payload(1).is_hovered);
        assert_eq!(payload(1).mark, Some((MarkKind::Died, 0.5)));
    }

    #[test]
    fn the_graph_stops_at_its_node_budget() {
        let mut rows = vec![row(1, 0, None, NodeKind::Supervisor)];
        for i in 0..MAX_GRAPH_NODES + 10 {
            let mut r = row(2 + i as u64, 1, Some(i), NodeKind::Supervisor);
            r.depth = i + 1;
            rows.push(r);
        }
        let graph = TreeGraph::build(&data(rows), width);
        assert_eq!(graph.graph.node_count(), MAX_GRAPH_NODES);
        assert_eq!(graph.truncated, 11);
    }
}
