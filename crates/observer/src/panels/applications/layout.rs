//! A tidy top-down layout for the supervision tree: a pure function from node sizes and
//! parent links to positions, unit-tested without a window.
//!
//! What it guarantees: no two nodes overlap; every parent is centred over its children
//! (over its first and last child when they form a row, over the grid when they are packed);
//! children keep their order (left to right, then row by row in a grid); roots stand side by
//! side. It is a Reingold–Tilford style layout: each subtree keeps its left and right contour
//! per level, and the next sibling moves right just far enough to clear every level of the
//! ones before it, so small subtrees tuck in beside deep ones.
//!
//! One thing a reader must know: a large group of *leaf* siblings (a dynamic supervisor's
//! hundred buckets) would make one absurdly wide row, so a leaf group larger than
//! [`LayoutParams::grid_min_children`] is packed into a grid of a few columns under its parent
//! and reported as a [`LeafGroup`], which the view draws as a frame with one connector.

use egui::{Pos2, Rect, Vec2, pos2, vec2};

/// One node to lay out. Nodes come in preorder: a parent before its children, children in
/// order. A `parent` that does not come before the node makes it a root.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayoutNode {
    /// Its parent's index, if any.
    pub parent: Option<usize>,
    /// Its size (width from its label, height shared by all nodes in practice).
    pub size: Vec2,
}

/// Spacing, in canvas units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayoutParams {
    /// Horizontal space between neighbouring subtrees.
    pub sibling_gap: f32,
    /// Horizontal space between trees of different roots.
    pub root_gap: f32,
    /// Vertical space between a parent's bottom and its children's top.
    pub level_gap: f32,
    /// Leaf siblings beyond this many are packed into a grid.
    pub grid_min_children: usize,
    /// The most columns a grid has.
    pub grid_max_columns: usize,
    /// Space between grid cells.
    pub grid_gap: Vec2,
    /// Space between a grid's cells and its frame.
    pub grid_padding: f32,
}

impl Default for LayoutParams {
    fn default() -> Self {
        Self {
            sibling_gap: 18.0,
            root_gap: 48.0,
            level_gap: 44.0,
            grid_min_children: 6,
            grid_max_columns: 10,
            grid_gap: vec2(10.0, 10.0),
            grid_padding: 10.0,
        }
    }
}

/// A group of leaf siblings packed into a grid.
#[derive(Clone, Debug, PartialEq)]
pub struct LeafGroup {
    /// The parent's index.
    pub parent: usize,
    /// The children, in order (row by row).
    pub children: Vec<usize>,
    /// How many columns.
    pub columns: usize,
    /// The frame around the cells (padding included).
    pub rect: Rect,
}

/// Where every node goes.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeLayout {
    /// The centre of each node, by index.
    pub centers: Vec<Pos2>,
    /// The grids of leaf siblings.
    pub groups: Vec<LeafGroup>,
    /// Everything: nodes and grid frames.
    pub bounds: Rect,
}

impl TreeLayout {
    /// The rectangle of node `index`, given the sizes it was laid out with.
    pub fn rect(&self, nodes: &[LayoutNode], index: usize) -> Option<Rect> {
        let center = *self.centers.get(index)?;
        let size = nodes.get(index)?.size;
        Some(Rect::from_center_size(center, size))
    }
}

/// Left and right extent of a subtree per level, relative to its root's centre; index 0 is
/// the root's own level.
type Contour = Vec<(f32, f32)>;

/// Lays out `nodes` (see [`LayoutNode`]); the first root's centre is at x = 0, roots at
/// y = half the row height.
pub fn layout(nodes: &[LayoutNode], params: &LayoutParams) -> TreeLayout {
    let count = nodes.len();
    if count == 0 {
        return TreeLayout {
            centers: Vec::new(),
            groups: Vec::new(),
            bounds: Rect::NOTHING,
        };
    }
    let row_height = nodes
        .iter()
        .map(|node| node.size.y)
        .fold(0.0_f32, f32::max)
        .max(1.0);
    let level_pitch = row_height + params.level_gap;
    let grid_row_pitch = row_height + params.grid_gap.y;

    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut roots = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        match node.parent {
            Some(parent) if parent < index => children[parent].push(index),
            _ => roots.push(index),
        }
    }

    // Offsets of each child's centre from its parent's centre, and the grids, bottom-up.
    let mut offsets = vec![Vec2::ZERO; count];
    let mut contours: Vec<Contour> = vec![Vec::new(); count];
    let mut groups: Vec<LeafGroup> = Vec::new();
    for index in (0..count).rev() {
        let half = nodes[index].size.x / 2.0;
        let mut contour: Contour = vec![(-half, half)];
        let kids = &children[index];
        if kids.is_empty() {
            // A leaf: its own extent only.
        } else if kids.len() > params.grid_min_children.max(1)
            && kids.iter().all(|kid| children[*kid].is_empty())
        {
            let cell_width = kids
                .iter()
                .map(|kid| nodes[*kid].size.x)
                .fold(0.0_f32, f32::max);
            let columns = grid_columns(
                kids.len(),
                cell_width + params.grid_gap.x,
                grid_row_pitch,
                params,
            );
            let rows = kids.len().div_ceil(columns);
            let pitch_x = cell_width + params.grid_gap.x;
            let grid_width = columns as f32 * cell_width + (columns - 1) as f32 * params.grid_gap.x;
            for (position, kid) in kids.iter().enumerate() {
                let (row, column) = (position / columns, position % columns);
                offsets[*kid] = vec2(
                    -grid_width / 2.0 + column as f32 * pitch_x + cell_width / 2.0,
                    level_pitch + row as f32 * grid_row_pitch,
                );
                contours[*kid] = Vec::new();
            }
            let pad = params.grid_padding;
            let rect = Rect::from_min_max(
                pos2(
                    -grid_width / 2.0 - pad,
                    level_pitch - row_height / 2.0 - pad,
                ),
                pos2(
                    grid_width / 2.0 + pad,
                    level_pitch + (rows - 1) as f32 * grid_row_pitch + row_height / 2.0 + pad,
                ),
            );
            // The frame reaches down through this many levels below the parent.
            let levels = ((rect.max.y - level_pitch + row_height / 2.0) / level_pitch)
                .ceil()
                .max(1.0) as usize;
            contour.extend(std::iter::repeat_n((rect.min.x, rect.max.x), levels));
            groups.push(LeafGroup {
                parent: index,
                children: kids.clone(),
                columns,
                rect,
            });
        } else {
            let kid_contours: Vec<Contour> = kids
                .iter()
                .map(|kid| std::mem::take(&mut contours[*kid]))
                .collect();
            let (positions, merged) = place_row(&kid_contours, params.sibling_gap);
            let first = positions.first().copied().unwrap_or(0.0);
            let last = positions.last().copied().unwrap_or(0.0);
            let middle = (first + last) / 2.0;
            for (kid, x) in kids.iter().zip(&positions) {
                offsets[*kid] = vec2(x - middle, level_pitch);
            }
            contour.extend(merged.iter().map(|(l, r)| (l - middle, r - middle)));
        }
        contours[index] = contour;
    }

    // Many roots without children (a BEAM node's processes outside any tree) would make one
    // absurdly wide row: past the grid threshold they are packed into a grid under the trees.
    let lone_count = roots
        .iter()
        .filter(|root| children[**root].is_empty())
        .count();
    let (lone, roots): (Vec<usize>, Vec<usize>) = if lone_count > params.grid_min_children.max(1) {
        roots
            .into_iter()
            .partition(|root| children[*root].is_empty())
    } else {
        (Vec::new(), roots)
    };

    // Roots side by side.
    let root_contours: Vec<Contour> = roots
        .iter()
        .map(|root| std::mem::take(&mut contours[*root]))
        .collect();
    let (root_positions, _) = place_row(&root_contours, params.root_gap);

    // Absolute positions, top-down (preorder: a parent is placed before its children).
    let mut centers = vec![Pos2::ZERO; count];
    for (root, x) in roots.iter().zip(&root_positions) {
        centers[*root] = pos2(*x, row_height / 2.0);
    }
    for index in 0..count {
        if let Some(parent) = nodes[index].parent.filter(|parent| *parent < index) {
            centers[index] = centers[parent] + offsets[index];
        }
    }
    if !lone.is_empty() {
        place_lone_roots(&lone, nodes, &mut centers, &groups, row_height, params);
    }
    for group in &mut groups {
        group.rect = group.rect.translate(centers[group.parent].to_vec2());
    }
    groups.reverse();

    let mut bounds = Rect::NOTHING;
    for (center, node) in centers.iter().zip(nodes) {
        bounds = bounds.union(Rect::from_center_size(*center, node.size));
    }
    for group in &groups {
        bounds = bounds.union(group.rect);
    }
    TreeLayout {
        centers,
        groups,
        bounds,
    }
}

/// Packs the roots without children into a grid under everything placed so far (its
/// groups' frames translated already or not: a frame is never above its parent), centred on
/// it and about as wide, in order row by row.
fn place_lone_roots(
    lone: &[usize],
    nodes: &[LayoutNode],
    centers: &mut [Pos2],
    groups: &[LeafGroup],
    row_height: f32,
    params: &LayoutParams,
) {
    let lone_set: std::collections::HashSet<usize> = lone.iter().copied().collect();
    let mut above = Rect::NOTHING;
    for (index, (center, node)) in centers.iter().zip(nodes).enumerate() {
        if !lone_set.contains(&index) {
            above = above.union(Rect::from_center_size(*center, node.size));
        }
    }
    for group in groups {
        above = above.union(group.rect.translate(centers[group.parent].to_vec2()));
    }
    let cell_width = lone
        .iter()
        .map(|index| nodes[*index].size.x)
        .fold(0.0_f32, f32::max);
    let pitch_x = cell_width + params.grid_gap.x;
    let pitch_y = row_height + params.grid_gap.y;
    let by_aspect = grid_columns(lone.len(), pitch_x, pitch_y, params);
    let by_width = if above.is_positive() {
        (above.width() / pitch_x).floor() as usize
    } else {
        0
    };
    let columns = by_aspect.max(by_width).clamp(1, lone.len());
    let grid_width = columns as f32 * cell_width + (columns - 1) as f32 * params.grid_gap.x;
    let (center_x, top) = if above.is_positive() {
        (
            above.center().x,
            above.max.y + params.level_gap + row_height / 2.0,
        )
    } else {
        (0.0, row_height / 2.0)
    };
    for (position, index) in lone.iter().enumerate() {
        let (row, column) = (position / columns, position % columns);
        centers[*index] = pos2(
            center_x - grid_width / 2.0 + column as f32 * pitch_x + cell_width / 2.0,
            top + row as f32 * pitch_y,
        );
    }
}

/// How many columns a grid of `count` cells gets: about [`GRID_ASPECT`] times as wide as
/// tall, so it fits a view in landscape.
fn grid_columns(count: usize, pitch_x: f32, pitch_y: f32, params: &LayoutParams) -> usize {
    let ideal = (GRID_ASPECT * count as f32 * pitch_y / pitch_x.max(1.0))
        .sqrt()
        .ceil() as usize;
    ideal
        .clamp(2, params.grid_max_columns.max(2))
        .min(count)
        .max(1)
}

/// Width over height a grid of leaves aims for.
const GRID_ASPECT: f32 = 1.6;

/// Places subtrees left to right, each as far left as its contours allow. Returns each
/// subtree's x (the first at 0) and the merged contour.
fn place_row(contours: &[Contour], gap: f32) -> (Vec<f32>, Contour) {
    let mut merged: Contour = Vec::new();
    let mut positions = Vec::with_capacity(contours.len());
    for contour in contours {
        let x = if merged.is_empty() {
            0.0
        } else {
            merged
                .iter()
                .zip(contour)
                .map(|((_, right), (left, _))| right - left + gap)
                .fold(f32::MIN, f32::max)
        };
        let x = if x == f32::MIN { 0.0 } else { x };
        for (level, (left, right)) in contour.iter().enumerate() {
            let (left, right) = (left + x, right + x);
            match merged.get_mut(level) {
                Some(extent) => {
                    extent.0 = extent.0.min(left);
                    extent.1 = extent.1.max(right);
                }
                None => merged.push((left, right)),
            }
        }
        positions.push(x);
    }
    (positions, merged)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A node `width` wide under `parent`.
    fn node(parent: Option<usize>, width: f32) -> LayoutNode {
        LayoutNode {
            parent,
            size: vec2(width, 30.0),
        }
    }

    fn children_of(nodes: &[LayoutNode], parent: usize) -> Vec<usize> {
        (0..nodes.len())
            .filter(|i| nodes[*i].parent == Some(parent))
            .collect()
    }

    fn assert_no_overlaps(nodes: &[LayoutNode], layout: &TreeLayout) {
        for a in 0..nodes.len() {
            let ra = layout.rect(nodes, a).unwrap();
            for b in a + 1..nodes.len() {
                let rb = layout.rect(nodes, b).unwrap();
                let overlap = ra.intersect(rb);
                assert!(
                    overlap.width() <= 0.01 || overlap.height() <= 0.01,
                    "nodes {a} {ra:?} and {b} {rb:?} overlap"
                );
            }
            // A grid frame holds only its own children.
            for group in &layout.groups {
                if group.children.contains(&a) {
                    assert!(group.rect.contains_rect(ra), "{a} sticks out of its grid");
                    continue;
                }
                let overlap = ra.intersect(group.rect);
                assert!(
                    overlap.width() <= 0.01 || overlap.height() <= 0.01,
                    "node {a} overlaps the grid of {}",
                    group.parent
                );
            }
        }
    }

    fn assert_parents_centred_and_order_kept(nodes: &[LayoutNode], layout: &TreeLayout) {
        for parent in 0..nodes.len() {
            let kids = children_of(nodes, parent);
            let (Some(first), Some(last)) = (kids.first(), kids.last()) else {
                continue;
            };
            let px = layout.centers[parent].x;
            if let Some(group) = layout.groups.iter().find(|g| g.parent == parent) {
                assert_eq!(group.children, kids);
                let middle = group.rect.center().x;
                assert!(
                    (px - middle).abs() < 0.01,
                    "{parent} not centred over its grid"
                );
                for pair in kids.windows(2) {
                    let (a, b) = (layout.centers[pair[0]], layout.centers[pair[1]]);
                    assert!(a.y < b.y || (a.y == b.y && a.x < b.x), "grid order lost");
                }
            } else {
                let middle = (layout.centers[*first].x + layout.centers[*last].x) / 2.0;
                assert!(
                    (px - middle).abs() < 0.01,
                    "{parent} at {px} not centred over {first} and {last} ({middle})"
                );
                for pair in kids.windows(2) {
                    let (a, b) = (layout.centers[pair[0]], layout.centers[pair[1]]);
                    assert!(a.x < b.x, "children of {parent} out of order");
                    assert_eq!(a.y, b.y);
                }
            }
            for kid in &kids {
                assert!(layout.centers[*kid].y > layout.centers[parent].y);
            }
        }
    }

    fn check(nodes: &[LayoutNode]) -> TreeLayout {
        let layout = layout(nodes, &LayoutParams::default());
        assert_eq!(layout.centers.len(), nodes.len());
        assert_no_overlaps(nodes, &layout);
        assert_parents_centred_and_order_kept(nodes, &layout);
        layout
    }

    #[test]
    fn an_empty_tree_lays_out_to_nothing() {
        let layout = layout(&[], &LayoutParams::default());
        assert!(layout.centers.is_empty());
    }

    #[test]
    fn the_kv_tree_has_its_parent_centred_over_two_children() {
        // KV.Supervisor, KV.BucketSupervisor with three buckets, KV.Registry.
        let nodes = [
            node(None, 170.0),
            node(Some(0), 220.0),
            node(Some(1), 140.0),
            node(Some(1), 140.0),
            node(Some(1), 150.0),
            node(Some(0), 150.0),
        ];
        let layout = check(&nodes);
        assert!(
            layout.centers[5].x > layout.centers[4].x,
            "registry after buckets"
        );
        assert!(layout.bounds.width() > 440.0);
    }

    #[test]
    fn wide_labels_push_siblings_apart() {
        let nodes = [
            node(None, 50.0),
            node(Some(0), 400.0),
            node(Some(0), 20.0),
            node(Some(0), 400.0),
        ];
        let layout = check(&nodes);
        let gap = layout.rect(&nodes, 2).unwrap().min.x - layout.rect(&nodes, 1).unwrap().max.x;
        assert!((gap - LayoutParams::default().sibling_gap).abs() < 0.01);
    }

    #[test]
    fn a_small_subtree_tucks_in_beside_a_deep_one_without_overlap() {
        // 0 -> [1 -> 2 -> 3 (very wide), 4]
        let nodes = [
            node(None, 60.0),
            node(Some(0), 60.0),
            node(Some(1), 60.0),
            node(Some(2), 900.0),
            node(Some(0), 60.0),
        ];
        let layout = check(&nodes);
        // 4 only has to clear 1 at its own level, not the wide grandchild's grandchild.
        assert!(layout.centers[4].x - layout.centers[1].x < 200.0);
    }

    #[test]
    fn many_leaves_pack_into_a_centred_grid_in_order() {
        let mut nodes = vec![node(None, 120.0), node(Some(0), 200.0)];
        for i in 0..53 {
            nodes.push(node(Some(1), 120.0 + (i % 7) as f32 * 5.0));
        }
        nodes.push(node(Some(0), 150.0));
        let layout = check(&nodes);
        assert_eq!(layout.groups.len(), 1);
        let group = &layout.groups[0];
        assert_eq!(group.parent, 1);
        assert_eq!(group.children.len(), 53);
        assert!(group.columns <= LayoutParams::default().grid_max_columns);
        // Wider than tall, and far narrower than one row of 53.
        assert!(group.rect.width() > group.rect.height());
        assert!(group.rect.width() < 53.0 * 120.0 / 3.0);
    }

    #[test]
    fn deep_and_branching_trees_never_overlap() {
        // A deterministic pseudo-random tree of 400 nodes.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let mut nodes = vec![node(None, 100.0)];
        // Build in preorder: keep a stack of open parents.
        let mut stack = vec![0usize];
        while nodes.len() < 400 {
            let depth_ok = stack.len() < 7;
            let parent = *stack.last().unwrap();
            let width = 40.0 + (next() % 200) as f32;
            let index = nodes.len();
            nodes.push(node(Some(parent), width));
            match next() % 4 {
                0 if depth_ok => stack.push(index),
                1 if stack.len() > 1 => {
                    stack.pop();
                }
                _ => {}
            }
            if next() % 60 == 0 {
                // Another root.
                let index = nodes.len();
                nodes.push(node(None, 80.0));
                stack = vec![index];
            }
        }
        check(&nodes);
    }

    #[test]
    fn roots_stand_side_by_side_in_order() {
        let nodes = [
            node(None, 100.0),
            node(Some(0), 100.0),
            node(None, 100.0),
            node(None, 100.0),
            node(Some(3), 300.0),
        ];
        let layout = check(&nodes);
        assert!(layout.centers[0].x < layout.centers[2].x);
        assert!(layout.centers[2].x < layout.centers[3].x);
        assert_eq!(layout.centers[0].y, layout.centers[3].y);
    }

    #[test]
    fn many_roots_without_children_pack_into_a_grid_under_the_trees() {
        let mut nodes = vec![node(None, 120.0), node(Some(0), 80.0), node(Some(0), 80.0)];
        nodes.extend((0..30).map(|_| node(None, 100.0)));
        let layout = check(&nodes);
        let tree_bottom = (0..3)
            .map(|index| layout.rect(&nodes, index).unwrap().max.y)
            .fold(f32::MIN, f32::max);
        let lone: Vec<Rect> = (3..nodes.len())
            .map(|index| layout.rect(&nodes, index).unwrap())
            .collect();
        assert!(
            lone.iter().all(|rect| rect.min.y > tree_bottom),
            "under the trees"
        );
        // Row by row in order: each next one to the right, or on a lower row.
        for pair in lone.windows(2) {
            assert!(
                pair[1].min.x > pair[0].min.x || pair[1].min.y > pair[0].min.y,
                "{pair:?}"
            );
        }
        // Far narrower than one row of thirty.
        assert!(
            layout.bounds.width() < 30.0 * 100.0 / 2.0,
            "{:?}",
            layout.bounds
        );
        // A few lone roots still stand in the row.
        let few = vec![node(None, 100.0), node(None, 100.0), node(None, 100.0)];
        let row = check(&few);
        let ys: Vec<f32> = (0..3)
            .map(|i| row.rect(&few, i).unwrap().center().y)
            .collect();
        assert!(ys.iter().all(|y| *y == ys[0]));
    }

    #[test]
    fn a_bad_parent_index_makes_a_root_instead_of_panicking() {
        let nodes = [
            node(Some(5), 10.0),
            node(Some(1), 10.0),
            node(Some(0), 10.0),
        ];
        let layout = layout(&nodes, &LayoutParams::default());
        assert_eq!(layout.centers.len(), 3);
        assert!(layout.centers[2].y > layout.centers[0].y);
    }
}
