//! How one node and one edge of the tree look: egui_graphs' display traits for our payloads.
//!
//! A node is a rounded box with a status dot, the label (`KV.Bucket <0.9.0>`) and a detail
//! line (`agent · temporary`), filled by kind; a supervisor's collapse badge hangs under it;
//! a fresh mark (a birth, a death, a restart) glows around it and fades. An edge is an elbow
//! from parent to child, dashed red to a process that just died; a grid of leaf siblings is a
//! frame with one connector. Colours come from [`style`](crate::style); sizes are in canvas
//! units at zoom 1 and scale with the zoom.

use std::sync::Arc;

use egui::epaint::RectShape;
use egui::{CornerRadius, FontId, Pos2, Rect, Shape, Stroke, StrokeKind, Vec2, pos2, vec2};
use egui_graphs::{DisplayEdge, DisplayNode, DrawContext, EdgeProps, NodeProps};
use petgraph::Directed;
use petgraph::stable_graph::DefaultIx;

use otpscope_contract::Status;

use crate::format;
use crate::state::MarkKind;
use crate::style::{
    NodeKind, badge_text_color, edge_color, ghost_colors, group_fill, kind_colors, mark_color,
    match_color, status_color,
};

/// Font size of a node's label at zoom 1.
pub const LABEL_SIZE: f32 = 13.0;
/// Font size of a node's detail line at zoom 1.
pub const DETAIL_SIZE: f32 = 10.5;
/// Height of every node at zoom 1.
pub const NODE_HEIGHT: f32 = 40.0;
/// Space left and right of a node's text.
pub(super) const PAD_X: f32 = 10.0;
/// Room for the status dot before a process's text.
pub(super) const DOT_SPACE: f32 = 13.0;
/// Below this zoom, text is not drawn (it would be unreadable): boxes only.
const MIN_TEXT_ZOOM: f32 = 0.33;

// === Nodes ===

/// What a graph node shows; per-frame fields are refreshed by [`TreeGraph::refresh`](super::TreeGraph::refresh).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeData {
    /// The row it draws.
    pub row: usize,
    /// `KV.Bucket <0.9.0>`.
    pub label: Arc<str>,
    /// `agent · temporary`.
    pub detail: Arc<str>,
    /// Its kind.
    pub kind: NodeKind,
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
        } else if data.kind == NodeKind::Fold {
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
        if data.kind == NodeKind::Fold {
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
            let text_left = if data.kind == NodeKind::Fold {
                PAD_X
            } else {
                PAD_X + DOT_SPACE
            };
            let line_y = rect.top() + 6.0 * zoom;
            if data.kind != NodeKind::Fold {
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
            } else if data.kind == NodeKind::Fold && data.hidden_matches > 0 {
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
pub(super) fn shown_detail(
    detail: &str,
    kind: NodeKind,
    hidden_matches: usize,
) -> std::borrow::Cow<'_, str> {
    if kind == NodeKind::Fold && hidden_matches > 0 {
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
    let text_color = badge_text_color(dark);
    let mut shapes = vec![Shape::Rect(RectShape::new(
        rect,
        CornerRadius::from(8.5 * zoom),
        fill,
        Stroke::new(1.0, colors.fill),
        StrokeKind::Outside,
    ))];
    if zoom >= MIN_TEXT_ZOOM {
        let text = if data.is_collapsed {
            format!("+{}", format::compact(data.child_count))
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
        let base = edge_color(dark);
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
                let fill = group_fill(dark);
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
