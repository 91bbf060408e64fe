//! What the Applications tab shows of the supervision tree, built by a pure function from the
//! snapshot and the user's view of it (what is collapsed, which folds are open, the search),
//! and unit-tested without a window.
//!
//! [`build`] turns a [`Snapshot`](otpscope_contract::Snapshot) into the visible [`Row`]s in
//! preorder (the search is [`crate::matching`]'s): the outline draws
//! them as they are, the graph takes each row as a node and each `parent_row` as an edge.
//! The panel caches the result and rebuilds it only when the snapshot's revision, the
//! [`TreeView`], the fold size, the search or the set of recently dead processes changes,
//! never on every frame.
//!
//! Two things a reader must know:
//! - Siblings beyond `fold_at` fold into one [`RowItem::Fold`] row (`+ 99,950 KV.Bucket`).
//!   Opening a fold shows one more page of it; a revealed process (a search hit, a process
//!   picked in another tab) is pinned and shown in place between two folds. Building costs
//!   the visible rows plus one pass over each folded sibling list, so 100,000 buckets fold
//!   in about 10 ms, and in a tenth of a millisecond when the folds are remembered
//!   (`tree_build` in benches/gui_frame.rs; BENCHMARKS.md).
//! - Processes that just died are passed in as [`Ghost`]s and drawn where they were, marked
//!   dead, for a moment (the caller decides how long), so a restart reads as "the old one
//!   died, a new one took its place".
//!
//! Its parts: `rows` (the row types), `view` (the user's [`TreeView`]), `build` (the preorder walk and the [`FoldMemo`]); the tests are in `tests`.

mod build;
mod rows;
#[cfg(test)]
mod tests;
mod view;

pub use build::{FoldMemo, TreeInput, build};
pub use rows::{FoldId, Ghost, Row, RowItem, TreeData};
pub use view::TreeView;
