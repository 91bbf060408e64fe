//! The supervision tree drawn with egui_graphs: our node and edge shapes, the colours, and
//! the view arithmetic (fit, centre, zoom) the Applications tab uses.
//!
//! egui_graphs brings the canvas (pan, zoom, painting order); everything else is ours.
//! Positions come from [`tree_layout`](super::tree_layout) through a layout that does nothing
//! ([`FixedLayout`]): egui_graphs' default layout would scatter the nodes on the first frame.
//! Its own hit testing, selection and dragging are off: the panel hit-tests the rectangles
//! it laid out, so a click on a node, on its collapse badge or on empty space are told
//! apart, and nodes cannot be dragged out of the tidy layout.
//!
//! A graph node is a rounded box with a status dot, the label (`KV.Bucket <0.9.0>`) and a
//! detail line (`agent · temporary`), filled by kind. Per-frame state (selection, hover,
//! marks of a death or restart) lives in the node payload and is refreshed each frame
//! without rebuilding the graph.

use std::sync::Arc;

use egui::epaint::RectShape;
use egui::{
    Color32, CornerRadius, FontId, Pos2, Rect, Shape, Stroke, StrokeKind, Vec2, pos2, vec2,
};
use egui_graphs::{DisplayEdge, DisplayNode, DrawContext, EdgeProps, Graph, NodeProps};
use petgraph::Directed;
use petgraph::stable_graph::{DefaultIx, NodeIndex};

use otpscope_contract::Status;

use super::state::MarkKind;
use super::tree_data::{RowKind, TreeData, thousands};
use super::tree_layout::{LayoutNode, LayoutParams, layout};

/// The id egui_graphs keeps the view's zoom and pan under.
pub const GRAPH_ID: &str = "otpscope_tree";
/// The graph draws at most this many rows (the outline shows them all).
pub const MAX_GRAPH_NODES: usize = 2_000;
/// Font size of a node's label at zoom 1.
pub const LABEL_SIZE: f32 = 13.0;
/// Font size of a node's detail line at zoom 1.
pub const DETAIL_SIZE: f32 = 10.5;
/// Height of every node at zoom 1.
pub const NODE_HEIGHT: f32 = 40.0;
/// Space left and right of a node's text.
const PAD_X: f32 = 10.0;
/// Room for the status dot before a process's text.
const DOT_SPACE: f32 = 13.0;
/// Below this zoom, text is not drawn (it would be unreadable): boxes only.
const MIN_TEXT_ZOOM: f32 = 0.33;
/// The smallest and largest zoom a fit chooses.
const FIT_ZOOM: (f32, f32) = (0.04, 1.25);

// === Colours ===

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
pub fn kind_colors(kind: RowKind, dark: bool) -> KindColors {
    let hex = Color32::from_rgb;
    let (fill, accent) = match (kind, dark) {
        (RowKind::Supervisor, true) => (hex(0x1f, 0x3b, 0x5e), hex(0x5b, 0x9b, 0xe6)),
        (RowKind::Supervisor, false) => (hex(0xd8, 0xe7, 0xf8), hex(0x2a, 0x64, 0xad)),
        (RowKind::DynamicSupervisor, true) => (hex(0x3a, 0x2c, 0x5e), hex(0xa1, 0x84, 0xe8)),
        (RowKind::DynamicSupervisor, false) => (hex(0xe8, 0xe0, 0xf8), hex(0x65, 0x45, 0xb0)),
        (RowKind::Worker, true) => (hex(0x1d, 0x44, 0x35), hex(0x4c, 0xbf, 0x8a)),
        (RowKind::Worker, false) => (hex(0xda, 0xf0, 0xe4), hex(0x24, 0x85, 0x55)),
        (RowKind::Plain, true) => (hex(0x36, 0x3a, 0x41), hex(0x9a, 0xa2, 0xad)),
        (RowKind::Plain, false) => (hex(0xe9, 0xeb, 0xee), hex(0x6f, 0x77, 0x82)),
        (RowKind::Fold, true) => (hex(0x2a, 0x2d, 0x33), hex(0x8a, 0x92, 0x9c)),
        (RowKind::Fold, false) => (hex(0xf4, 0xf5, 0xf7), hex(0x80, 0x88, 0x92)),
    };
    base_colors(fill, accent, dark)
}

/// Colours of a process that just died.
pub fn ghost_colors(dark: bool) -> KindColors {
    let hex = Color32::from_rgb;
    if dark {
        base_colors(hex(0x4a, 0x1f, 0x22), hex(0xe5, 0x48, 0x4d), dark)
    } else {
        base_colors(hex(0xfb, 0xe0, 0xe0), hex(0xc6, 0x28, 0x28), dark)
    }
}

fn base_colors(fill: Color32, accent: Color32, dark: bool) -> KindColors {
    let hex = Color32::from_rgb;
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

/// The colour of a status: running bright green, waiting muted, exiting amber, dead red.
pub fn status_color(status: Status, dark: bool) -> Color32 {
    let hex = Color32::from_rgb;
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

/// The colour search matches are highlighted with.
pub fn match_color(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xff, 0xd1, 0x4a)
    } else {
        Color32::from_rgb(0xe0, 0x9b, 0x00)
    }
}

/// The colour of a fresh mark: restarted green, spawned blue, died red.
pub fn mark_color(kind: MarkKind, dark: bool) -> Color32 {
    match kind {
        MarkKind::Restarted => status_color(Status::Running, dark),
        MarkKind::Spawned => {
            if dark {
                Color32::from_rgb(0x5b, 0xb8, 0xff)
            } else {
                Color32::from_rgb(0x1a, 0x73, 0xe8)
            }
        }
        MarkKind::Died => status_color(Status::Dead, dark),
    }
}

// === Nodes ===

/// What a graph node shows; per-frame fields are refreshed by [`TreeGraph::refresh`].
#[derive(Clone, Debug, PartialEq)]
pub struct NodeData {
    /// The row it draws.
    pub row: usize,
    /// `KV.Bucket <0.9.0>`.
    pub label: Arc<str>,
    /// `agent · temporary`.
    pub detail: Arc<str>,
    /// Its kind.
    pub kind: RowKind,
    /// Its status.
    pub status: Status,
    /// Its size at zoom 1.
    pub size: Vec2,
    /// Just died.
    pub is_ghost: bool,
    /// Matches the search.
    pub is_match: bool,
    /// Its children are hidden.
    pub is_collapsed: bool,
    /// It has children (a collapse badge applies).
    pub has_children: bool,
    /// Children (or folded processes).
    pub child_count: usize,
    /// Matches hidden beneath it.
    pub hidden_matches: usize,
    /// Selected (per frame).
    pub is_selected: bool,
    /// Under the pointer (per frame).
    pub is_hovered: bool,
    /// A fresh mark and how fresh it is, 1 (new) to 0 (gone) (per frame).
    pub mark: Option<(MarkKind, f32)>,
}

/// How egui_graphs draws a [`NodeData`].
#[derive(Clone, Debug)]
pub struct NodeShape {
    /// Centre, in canvas coordinates.
    pos: Pos2,
    /// What to draw.
    data: NodeData,
}

impl From<NodeProps<NodeData>> for NodeShape {
    fn from(props: NodeProps<NodeData>) -> Self {
        Self {
            pos: props.location(),
            data: props.payload,
        }
    }
}

impl DisplayNode<NodeData, EdgeData, Directed, DefaultIx> for NodeShape {
    fn closest_boundary_point(&self, dir: Vec2) -> Pos2 {
        let half = self.data.size / 2.0;
        if dir.length_sq() <= f32::EPSILON {
            return self.pos + vec2(half.x, 0.0);
        }
        let scale_x = if dir.x.abs() > f32::EPSILON {
            half.x / dir.x.abs()
        } else {
            f32::INFINITY
        };
        let scale_y = if dir.y.abs() > f32::EPSILON {
            half.y / dir.y.abs()
        } else {
            f32::INFINITY
        };
        self.pos + dir * scale_x.min(scale_y)
    }

    fn shapes(&mut self, ctx: &DrawContext) -> Vec<Shape> {
        let dark = ctx.ctx.global_style().visuals.dark_mode;
        let selection = ctx.ctx.global_style().visuals.selection.stroke.color;
        let zoom = ctx.meta.zoom;
        let rect = Rect::from_center_size(
            ctx.meta.canvas_to_screen_pos(self.pos),
            self.data.size * zoom,
        );
        if !ctx.painter.clip_rect().expand(40.0 * zoom).intersects(rect) {
            return Vec::new();
        }
        let data = &self.data;
        let colors = if data.is_ghost {
            ghost_colors(dark)
        } else {
            kind_colors(data.kind, dark)
        };
        let radius = CornerRadius::from(6.0 * zoom);
        let mut shapes = Vec::with_capacity(8);

        if let Some((kind, freshness)) = data.mark {
            let color = mark_color(kind, dark).gamma_multiply(freshness);
            shapes.push(Shape::Rect(
                RectShape::filled(rect.expand(6.0 * zoom), radius, color.gamma_multiply(0.45))
                    .with_blur_width(12.0 * zoom),
            ));
            shapes.push(Shape::rect_stroke(
                rect.expand(3.0 * zoom),
                radius,
                Stroke::new((2.5 * zoom).max(1.0), color),
                StrokeKind::Outside,
            ));
        }
        if data.is_selected {
            shapes.push(Shape::rect_stroke(
                rect.expand(3.5 * zoom),
                radius,
                Stroke::new((2.5 * zoom).max(1.5), selection),
                StrokeKind::Outside,
            ));
        }

        let fill = if data.is_hovered {
            colors.fill.lerp_to_gamma(colors.accent, 0.18)
        } else {
            colors.fill
        };
        let border = if data.is_match {
            Stroke::new((2.5 * zoom).max(1.5), match_color(dark))
        } else if data.kind == RowKind::Fold {
            Stroke::NONE
        } else {
            Stroke::new((1.2 * zoom).max(0.8), colors.accent)
        };
        shapes.push(Shape::Rect(RectShape::new(
            rect,
            radius,
            fill,
            border,
            StrokeKind::Inside,
        )));
        if data.kind == RowKind::Fold {
            let stroke = Stroke::new(
                (1.4 * zoom).max(0.8),
                if data.hidden_matches > 0 {
                    match_color(dark)
                } else {
                    colors.accent
                },
            );
            let r = rect.shrink(0.5);
            let corners = [
                r.left_top(),
                r.right_top(),
                r.right_bottom(),
                r.left_bottom(),
            ];
            let mut outline = corners.to_vec();
            outline.push(r.left_top());
            shapes.extend(Shape::dashed_line(&outline, stroke, 6.0 * zoom, 4.0 * zoom));
        }

        if zoom >= MIN_TEXT_ZOOM {
            let text_left = if data.kind == RowKind::Fold {
                PAD_X
            } else {
                PAD_X + DOT_SPACE
            };
            let line_y = rect.top() + 6.0 * zoom;
            if data.kind != RowKind::Fold {
                shapes.push(Shape::circle_filled(
                    pos2(
                        rect.left() + (PAD_X + 3.5) * zoom,
                        line_y + LABEL_SIZE * 0.62 * zoom,
                    ),
                    4.0 * zoom,
                    status_color(data.status, dark),
                ));
            }
            let label = ctx.ctx.fonts_mut(|fonts| {
                fonts.layout_no_wrap(
                    data.label.to_string(),
                    FontId::proportional(LABEL_SIZE * zoom),
                    colors.text,
                )
            });
            shapes.push(Shape::galley(
                pos2(rect.left() + text_left * zoom, line_y),
                label,
                colors.text,
            ));
            let detail_color = if data.is_ghost {
                colors.accent
            } else if data.kind == RowKind::Fold && data.hidden_matches > 0 {
                match_color(dark)
            } else {
                colors.weak
            };
            let detail_text = shown_detail(&data.detail, data.kind, data.hidden_matches);
            let detail = ctx.ctx.fonts_mut(|fonts| {
                fonts.layout_no_wrap(
                    detail_text.into_owned(),
                    FontId::proportional(DETAIL_SIZE * zoom),
                    detail_color,
                )
            });
            shapes.push(Shape::galley(
                pos2(
                    rect.left() + text_left * zoom,
                    line_y + (LABEL_SIZE + 4.0) * zoom,
                ),
                detail,
                detail_color,
            ));
        }

        if data.has_children && (data.is_collapsed || data.is_hovered || data.is_selected) {
            shapes.extend(badge_shapes(data, self.pos, ctx, dark));
        }
        shapes
    }

    fn update(&mut self, state: &NodeProps<NodeData>) {
        self.pos = state.location();
        if self.data != state.payload {
            self.data.clone_from(&state.payload);
        }
    }

    fn is_inside(&self, pos: Pos2) -> bool {
        Rect::from_center_size(self.pos, self.data.size).contains(pos)
    }
}

/// A node's detail line: a fold says how many matches it hides.
fn shown_detail(detail: &str, kind: RowKind, hidden_matches: usize) -> std::borrow::Cow<'_, str> {
    if kind == RowKind::Fold && hidden_matches > 0 {
        let plural = if hidden_matches == 1 { "" } else { "es" };
        format!("{detail} · {hidden_matches} match{plural}").into()
    } else {
        detail.into()
    }
}

/// Where a node's collapse badge sits, in canvas coordinates.
pub fn badge_rect(center: Pos2, size: Vec2) -> Rect {
    Rect::from_center_size(pos2(center.x, center.y + size.y / 2.0), vec2(38.0, 17.0))
}

/// The pill under a supervisor: `+12` when collapsed, `−` to collapse.
fn badge_shapes(data: &NodeData, center: Pos2, ctx: &DrawContext, dark: bool) -> Vec<Shape> {
    let zoom = ctx.meta.zoom;
    let canvas = badge_rect(center, data.size);
    let rect = Rect::from_min_max(
        ctx.meta.canvas_to_screen_pos(canvas.min),
        ctx.meta.canvas_to_screen_pos(canvas.max),
    );
    let colors = kind_colors(data.kind, dark);
    let fill = if data.is_collapsed && data.hidden_matches > 0 {
        match_color(dark)
    } else {
        colors.accent
    };
    let text_color = if dark {
        Color32::from_rgb(0x10, 0x14, 0x1a)
    } else {
        Color32::WHITE
    };
    let mut shapes = vec![Shape::Rect(RectShape::new(
        rect,
        CornerRadius::from(8.5 * zoom),
        fill,
        Stroke::new(1.0, colors.fill),
        StrokeKind::Outside,
    ))];
    if zoom >= MIN_TEXT_ZOOM {
        let text = if data.is_collapsed {
            format!("+{}", compact(data.child_count))
        } else {
            "−".to_owned()
        };
        let galley = ctx.ctx.fonts_mut(|fonts| {
            fonts.layout_no_wrap(text, FontId::proportional(11.0 * zoom), text_color)
        });
        let pos = rect.center() - galley.size() / 2.0;
        shapes.push(Shape::galley(pos, galley, text_color));
    }
    shapes
}

/// `1234` as `1.2k`, for a badge.
fn compact(n: usize) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=99_999 => format!("{:.1}k", n as f32 / 1000.0),
        _ => format!("{}k", n / 1000),
    }
}

// === Edges ===

/// How an edge is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum EdgeData {
    /// An elbow from the parent's bottom to the child's top.
    Tree {
        /// The child just died: draw it dashed, in red.
        to_ghost: bool,
    },
    /// The frame around a grid of leaf children, and one connector to it (drawn by the
    /// edge to the grid's first child).
    Group {
        /// The frame, in canvas coordinates.
        frame: Rect,
    },
    /// Another child in a grid: the frame stands for it.
    Hidden,
}

/// How egui_graphs draws an [`EdgeData`].
#[derive(Clone, Debug)]
pub struct EdgeShape {
    data: EdgeData,
}

impl From<EdgeProps<EdgeData>> for EdgeShape {
    fn from(props: EdgeProps<EdgeData>) -> Self {
        Self {
            data: props.payload,
        }
    }
}

type TreeNode = egui_graphs::Node<NodeData, EdgeData, Directed, DefaultIx, NodeShape>;

impl DisplayEdge<NodeData, EdgeData, Directed, DefaultIx, NodeShape> for EdgeShape {
    fn shapes(&mut self, start: &TreeNode, end: &TreeNode, ctx: &DrawContext) -> Vec<Shape> {
        let style = ctx.ctx.global_style();
        let dark = style.visuals.dark_mode;
        let zoom = ctx.meta.zoom;
        let base = if dark {
            Color32::from_gray(0x80)
        } else {
            Color32::from_gray(0x9a)
        };
        let width = (1.4 * zoom).clamp(0.6, 2.0);
        let from = start.location() + vec2(0.0, start.payload().size.y / 2.0);
        match &self.data {
            EdgeData::Hidden => Vec::new(),
            EdgeData::Tree { to_ghost } => {
                let to = end.location() - vec2(0.0, end.payload().size.y / 2.0);
                let points = elbow(from, to)
                    .into_iter()
                    .map(|p| ctx.meta.canvas_to_screen_pos(p))
                    .collect::<Vec<_>>();
                if *to_ghost {
                    let stroke = Stroke::new(width, status_color(Status::Dead, dark));
                    Shape::dashed_line(&points, stroke, 5.0 * zoom, 4.0 * zoom)
                } else {
                    vec![Shape::line(points, Stroke::new(width, base))]
                }
            }
            EdgeData::Group { frame } => {
                let screen = Rect::from_min_max(
                    ctx.meta.canvas_to_screen_pos(frame.min),
                    ctx.meta.canvas_to_screen_pos(frame.max),
                );
                let fill = if dark {
                    Color32::from_rgba_unmultiplied(255, 255, 255, 8)
                } else {
                    Color32::from_rgba_unmultiplied(0, 0, 0, 9)
                };
                let points = elbow(from, pos2(from.x, frame.min.y))
                    .into_iter()
                    .map(|p| ctx.meta.canvas_to_screen_pos(p))
                    .collect::<Vec<_>>();
                vec![
                    Shape::line(points, Stroke::new(width, base)),
                    Shape::Rect(RectShape::new(
                        screen,
                        CornerRadius::from(8.0 * zoom),
                        fill,
                        Stroke::new(width, base.gamma_multiply(0.7)),
                        StrokeKind::Inside,
                    )),
                ]
            }
        }
    }

    fn update(&mut self, state: &EdgeProps<EdgeData>) {
        if self.data != state.payload {
            self.data.clone_from(&state.payload);
        }
    }

    fn is_inside(&self, _start: &TreeNode, _end: &TreeNode, _pos: Pos2) -> bool {
        false
    }
}

/// Down from `from`, across at half height, down to `to`.
fn elbow(from: Pos2, to: Pos2) -> Vec<Pos2> {
    if (from.x - to.x).abs() < 0.5 {
        return vec![from, to];
    }
    let middle = (from.y + to.y) / 2.0;
    vec![from, pos2(from.x, middle), pos2(to.x, middle), to]
}

// === Layout that keeps our positions ===

/// egui_graphs' layout state for [`FixedLayout`]: nothing.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FixedLayoutState;

impl egui_graphs::LayoutState for FixedLayoutState {}

/// A layout that leaves nodes where we put them.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedLayout;

impl egui_graphs::Layout<FixedLayoutState> for FixedLayout {
    fn from_state(_state: FixedLayoutState) -> impl egui_graphs::Layout<FixedLayoutState> {
        Self
    }

    fn next<N, E, Ty, Ix, Dn, De>(
        &mut self,
        _graph: &mut Graph<N, E, Ty, Ix, Dn, De>,
        _ui: &egui::Ui,
    ) where
        N: Clone,
        E: Clone,
        Ty: petgraph::EdgeType,
        Ix: petgraph::stable_graph::IndexType,
        Dn: DisplayNode<N, E, Ty, Ix>,
        De: DisplayEdge<N, E, Ty, Ix, Dn>,
    {
    }

    fn state(&self) -> FixedLayoutState {
        FixedLayoutState
    }
}

/// The graph view with our layout.
pub type TreeGraphView = egui_graphs::GraphView<FixedLayoutState, FixedLayout>;

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
                let text_left = if row.kind == RowKind::Fold {
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

    /// Updates what changes between frames: selection, hover and marks.
    pub fn refresh(
        &mut self,
        data: &TreeData,
        selected: Option<otpscope_contract::Pid>,
        hovered: Option<usize>,
        mut mark: impl FnMut(otpscope_contract::Pid) -> Option<(MarkKind, f32)>,
    ) {
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

// === View arithmetic ===

/// A zoom and a pan (canvas point `p` shows at `p * zoom + pan`, relative to the view).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewTransform {
    /// Screen pixels per canvas unit.
    pub zoom: f32,
    /// Where the canvas origin shows.
    pub pan: Vec2,
}

impl ViewTransform {
    /// Fits `bounds` into a view of `size`, centred, with a margin.
    pub fn fit(bounds: Rect, size: Vec2) -> Self {
        Self::fit_in(bounds, Rect::from_min_size(Pos2::ZERO, size))
    }

    /// Fits `bounds` into `area` of the view (view coordinates: leave room for overlays),
    /// centred, with a margin.
    pub fn fit_in(bounds: Rect, area: Rect) -> Self {
        let size = area.size();
        if !bounds.is_positive() || size.x <= 1.0 || size.y <= 1.0 {
            return Self {
                zoom: 1.0,
                pan: area.center().to_vec2(),
            };
        }
        let margin = 16.0;
        let zoom = ((size.x - 2.0 * margin) / bounds.width())
            .min((size.y - 2.0 * margin) / bounds.height())
            .clamp(FIT_ZOOM.0, FIT_ZOOM.1);
        Self {
            zoom,
            pan: area.center().to_vec2() - bounds.center().to_vec2() * zoom,
        }
    }

    /// Shows canvas point `point` in the middle of a view of `size`, zooming in to at least
    /// `min_zoom`.
    pub fn centered_on(self, point: Pos2, size: Vec2, min_zoom: f32) -> Self {
        let zoom = self.zoom.max(min_zoom);
        Self {
            zoom,
            pan: size / 2.0 - point.to_vec2() * zoom,
        }
    }

    /// Zooms by `factor` keeping view point `anchor` still.
    pub fn zoomed(self, factor: f32, anchor: Pos2) -> Self {
        let zoom = (self.zoom * factor).clamp(0.02, 4.0);
        let canvas = (anchor.to_vec2() - self.pan) / self.zoom;
        Self {
            zoom,
            pan: anchor.to_vec2() - canvas * zoom,
        }
    }

    /// A step of `fraction` (0 to 1) from this view towards `target` in a view of `size`:
    /// the zoom moves geometrically and the point in the middle of the view linearly, so
    /// a fit glides instead of jumping.
    pub fn towards(self, target: Self, fraction: f32, size: Vec2) -> Self {
        let fraction = fraction.clamp(0.0, 1.0);
        let middle = |view: Self| (size / 2.0 - view.pan) / view.zoom;
        let zoom = self.zoom * (target.zoom / self.zoom).powf(fraction);
        let from = middle(self);
        let center = from + (middle(target) - from) * fraction;
        Self {
            zoom,
            pan: size / 2.0 - center * zoom,
        }
    }

    /// Whether two views look the same (within half a pixel).
    pub fn is_close_to(self, other: Self, size: Vec2) -> bool {
        let corner = |view: Self, p: Vec2| p * view.zoom + view.pan;
        (corner(self, Vec2::ZERO) - corner(other, Vec2::ZERO)).length() < 0.5
            && (corner(self, size / self.zoom) - corner(other, size / self.zoom)).length() < 0.5
            && (self.zoom / other.zoom - 1.0).abs() < 1e-3
    }

    /// The canvas point under view point `pos`.
    pub fn to_canvas(self, pos: Pos2) -> Pos2 {
        ((pos.to_vec2() - self.pan) / self.zoom).to_pos2()
    }

    /// Whether canvas rect `rect` is entirely in a view of `size`.
    pub fn shows(self, rect: Rect, size: Vec2) -> bool {
        let min = rect.min.to_vec2() * self.zoom + self.pan;
        let max = rect.max.to_vec2() * self.zoom + self.pan;
        min.x >= 0.0 && min.y >= 0.0 && max.x <= size.x && max.y <= size.y
    }
}

/// `1 process`, `12,000 processes`.
pub fn count_text(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use super::*;
    use crate::tree_data::{Row, RowItem};
    use otpscope_contract::Pid;

    fn row(pid: u64, depth: usize, parent_row: Option<usize>, kind: RowKind) -> Row {
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
        let mut root = row(1, 0, None, RowKind::Supervisor);
        root.child_count = 2;
        let tree = data(vec![
            root,
            row(2, 1, Some(0), RowKind::Worker),
            row(3, 1, Some(0), RowKind::Worker),
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
        let mut rows = vec![row(1, 0, None, RowKind::DynamicSupervisor)];
        rows[0].child_count = 20;
        for pid in 0..20 {
            rows.push(row(10 + pid, 1, Some(0), RowKind::Worker));
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
        let mut ghost = row(2, 1, Some(0), RowKind::Worker);
        ghost.is_ghost = true;
        let tree = data(vec![row(1, 0, None, RowKind::Supervisor), ghost]);
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
        let mut rows = vec![row(1, 0, None, RowKind::Supervisor)];
        for i in 0..MAX_GRAPH_NODES + 10 {
            let mut r = row(2 + i as u64, 1, Some(i), RowKind::Supervisor);
            r.depth = i + 1;
            rows.push(r);
        }
        let graph = TreeGraph::build(&data(rows), width);
        assert_eq!(graph.graph.node_count(), MAX_GRAPH_NODES);
        assert_eq!(graph.truncated, 11);
    }

    #[test]
    fn fit_centres_the_bounds_and_zoom_keeps_the_anchor_still() {
        let bounds = Rect::from_min_max(pos2(0.0, 0.0), pos2(1000.0, 200.0));
        let view = ViewTransform::fit(bounds, vec2(532.0, 400.0));
        assert!((view.zoom - 0.5).abs() < 1e-3);
        let center = bounds.center().to_vec2() * view.zoom + view.pan;
        assert!((center - vec2(266.0, 200.0)).length() < 1e-3);
        assert!(view.shows(bounds, vec2(548.0, 400.0)));
        // Room left for overlays: the fit stays inside the area.
        let area = Rect::from_min_max(pos2(0.0, 20.0), pos2(548.0, 340.0));
        let inset = ViewTransform::fit_in(bounds, area);
        let top = bounds.min.y * inset.zoom + inset.pan.y;
        let bottom = bounds.max.y * inset.zoom + inset.pan.y;
        assert!(top >= 20.0 && bottom <= 340.0, "{top}..{bottom}");

        let anchor = pos2(100.0, 50.0);
        let before = view.to_canvas(anchor);
        let zoomed = view.zoomed(1.7, anchor);
        assert!((zoomed.to_canvas(anchor) - before).length() < 1e-3);

        let centred = view.centered_on(pos2(900.0, 100.0), vec2(548.0, 400.0), 0.8);
        assert_eq!(centred.zoom, 0.8);
        assert!((centred.to_canvas(pos2(274.0, 200.0)) - pos2(900.0, 100.0)).length() < 1e-3);
        let small = Rect::from_min_max(pos2(0.0, 0.0), pos2(10.0, 10.0));
        // Gliding ends where it aims.
        let mut glide = view;
        let target = ViewTransform::fit(small, vec2(548.0, 400.0));
        for _ in 0..200 {
            glide = glide.towards(target, 0.2, vec2(548.0, 400.0));
        }
        assert!(glide.is_close_to(target, vec2(548.0, 400.0)));
        assert_eq!(
            view.towards(target, 1.0, vec2(548.0, 400.0)).zoom,
            target.zoom
        );
        // A tiny tree is not blown up.
        assert_eq!(
            ViewTransform::fit(small, vec2(800.0, 600.0)).zoom,
            FIT_ZOOM.1
        );
    }
}
