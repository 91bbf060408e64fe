//! The tree data's tests: rows, collapsing, folds, search, reveal, ghosts and the fold memo.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use otpscope_contract::{
    ExitReason, Pid, ProcessInfo, ProcessKind, Restart, Snapshot, Status, Strategy,
};

use super::*;
use crate::matching::ProcessMatcher;
use crate::style::NodeKind;

fn info(pid: u64, parent: Option<u64>, children: Vec<u64>) -> ProcessInfo {
    ProcessInfo {
        parent: parent.map(Pid),
        children: children.into_iter().map(Pid).collect(),
        child_id: Some("KV.Bucket".into()),
        restart: Some(Restart::Temporary),
        started_at_ms: pid,
        ..ProcessInfo::new(Pid(pid), ProcessKind::Agent, "KV.Bucket")
    }
}

fn named(mut info: ProcessInfo, name: &str, kind: ProcessKind) -> ProcessInfo {
    info.name = Some(name.into());
    info.label = name.into();
    info.kind = kind;
    info.child_id = Some(name.into());
    info.restart = Some(Restart::Permanent);
    info
}

/// KV.Supervisor <0.1.0> -> [KV.BucketSupervisor <0.2.0> -> buckets, KV.Registry <0.3.0>]
fn kv(buckets: u64) -> Snapshot {
    let bucket_pids: Vec<u64> = (0..buckets).map(|i| 10 + i).collect();
    let mut infos = vec![
        named(
            info(1, None, vec![2, 3]),
            "KV.Supervisor",
            ProcessKind::Supervisor {
                strategy: Strategy::OneForAll,
                max_restarts: 3,
                max_seconds: 5,
            },
        ),
        named(
            info(2, Some(1), bucket_pids.clone()),
            "KV.BucketSupervisor",
            ProcessKind::DynamicSupervisor {
                max_restarts: 3,
                max_seconds: 5,
                max_children: None,
            },
        ),
        named(info(3, Some(1), vec![]), "KV.Registry", ProcessKind::Server),
    ];
    infos.extend(bucket_pids.iter().map(|pid| info(*pid, Some(2), vec![])));
    Snapshot::new("test", 0, 0, 0, infos.into_iter().map(Arc::new))
}

fn input<'a>(
    snapshot: &'a Snapshot,
    view: &'a TreeView,
    fold_at: usize,
    search: &'a str,
) -> TreeInput<'a> {
    TreeInput {
        snapshot,
        view,
        fold_at,
        search,
        ghosts: &[],
    }
}

fn build_fresh(input: TreeInput<'_>) -> TreeData {
    build(input, &mut FoldMemo::default())
}

fn labels(data: &TreeData) -> Vec<String> {
    data.rows
        .iter()
        .map(|row| format!("{}{}", "  ".repeat(row.depth), row.label))
        .collect()
}

#[test]
fn rows_come_in_preorder_with_names_and_pids_and_children_in_start_order() {
    let snapshot = kv(2);
    let view = TreeView::default();
    let data = build_fresh(input(&snapshot, &view, 50, ""));
    assert_eq!(
        labels(&data),
        [
            "KV.Supervisor <0.1.0>",
            "  KV.BucketSupervisor <0.2.0>",
            "    KV.Bucket <0.10.0>",
            "    KV.Bucket <0.11.0>",
            "  KV.Registry <0.3.0>",
        ]
    );
    assert_eq!(data.rows[0].kind, NodeKind::Supervisor);
    assert_eq!(data.rows[0].detail, "supervisor · one_for_all · permanent");
    assert_eq!(data.rows[1].kind, NodeKind::DynamicSupervisor);
    assert_eq!(data.rows[2].kind, NodeKind::Worker);
    assert_eq!(data.rows[2].detail, "agent · temporary");
    assert_eq!(data.rows[2].parent_row, Some(1));
    assert_eq!(data.rows[4].parent_row, Some(0));
    assert!(data.rows[0].has_children() && !data.rows[2].has_children());
    assert_eq!(data.row_of(Pid(3)), Some(4));
}

#[test]
fn collapsing_hides_the_subtree_and_keeps_the_child_count() {
    let snapshot = kv(3);
    let mut view = TreeView::default();
    view.set_collapsed(Pid(2), true);
    let data = build_fresh(input(&snapshot, &view, 50, ""));
    assert_eq!(data.rows.len(), 3);
    assert!(data.rows[1].is_collapsed);
    assert_eq!(data.rows[1].child_count, 3);
    view.toggle(Pid(2));
    assert_eq!(build_fresh(input(&snapshot, &view, 50, "")).rows.len(), 6);
}

#[test]
fn siblings_beyond_fold_at_fold_into_one_row_that_opens_a_page_at_a_time() {
    let snapshot = kv(100);
    let mut view = TreeView::default();
    let data = build_fresh(input(&snapshot, &view, 10, ""));
    // Supervisor, bucket supervisor, 10 buckets, the fold, the registry.
    assert_eq!(data.rows.len(), 14);
    let fold = &data.rows[12];
    assert_eq!(fold.label, "+ 90 KV.Bucket");
    assert_eq!(fold.kind, NodeKind::Fold);
    assert_eq!(fold.parent_row, Some(1));
    let RowItem::Fold(id) = fold.item else {
        panic!("not a fold")
    };
    assert_eq!((id.parent, id.start, id.end), (Pid(2), 10, 100));
    view.expand_fold(id, 10);
    let data = build_fresh(input(&snapshot, &view, 10, ""));
    assert_eq!(data.rows.len(), 24);
    assert_eq!(data.rows[22].label, "+ 80 KV.Bucket");
    view.fold_back(Pid(2));
    assert_eq!(build_fresh(input(&snapshot, &view, 10, "")).rows.len(), 14);
}

#[test]
fn a_mixed_fold_is_labelled_processes() {
    let mut infos: Vec<ProcessInfo> = vec![info(1, None, (2..10).collect())];
    for pid in 2..10 {
        let mut child = info(pid, Some(1), vec![]);
        if pid == 9 {
            child.label = "Other".into();
        }
        infos.push(child);
    }
    let snapshot = Snapshot::new("t", 0, 0, 0, infos.into_iter().map(Arc::new));
    let view = TreeView::default();
    let data = build_fresh(input(&snapshot, &view, 2, ""));
    assert_eq!(data.rows.last().unwrap().label, "+ 6 processes");
}

#[test]
fn search_highlights_matches_and_counts_those_hidden_in_a_fold() {
    let snapshot = kv(100);
    let view = TreeView::default();
    let data = build_fresh(input(&snapshot, &view, 10, "<0.95.0>"));
    assert_eq!(data.matches, vec![Pid(95)]);
    assert!(data.rows.iter().all(|row| !row.is_match));
    let fold = data.rows.iter().find(|r| r.kind == NodeKind::Fold).unwrap();
    assert_eq!(fold.hidden_matches, 1);

    let data = build_fresh(input(&snapshot, &view, 10, "registry"));
    assert_eq!(data.matches, vec![Pid(3)]);
    assert!(data.rows[data.row_of(Pid(3)).unwrap()].is_match);
}

#[test]
fn reveal_expands_ancestors_and_pins_a_match_out_of_its_fold_in_order() {
    let snapshot = kv(100);
    let mut view = TreeView::default();
    view.set_collapsed(Pid(1), true);
    view.set_collapsed(Pid(2), true);
    assert!(view.reveal(&snapshot, Pid(60)));
    let data = build_fresh(input(&snapshot, &view, 10, ""));
    let row = data.row_of(Pid(60)).unwrap();
    assert_eq!(data.rows[row].label, "KV.Bucket <0.60.0>");
    // Ten buckets, a fold of 40 before it, the bucket, a fold of 49 after it.
    let fold_labels: Vec<&str> = data
        .rows
        .iter()
        .filter(|r| r.kind == NodeKind::Fold)
        .map(|r| r.label.as_str())
        .collect();
    assert_eq!(fold_labels, ["+ 40 KV.Bucket", "+ 49 KV.Bucket"]);
    assert_eq!(data.rows[row - 1].label, "+ 40 KV.Bucket");
    assert_eq!(data.rows[row + 1].label, "+ 49 KV.Bucket");
    // Revealing another releases the first.
    view.reveal(&snapshot, Pid(80));
    let data = build_fresh(input(&snapshot, &view, 10, ""));
    assert!(data.row_of(Pid(60)).is_none());
    assert!(data.row_of(Pid(80)).is_some());
    assert!(!view.reveal(&snapshot, Pid(9999)));
}

#[test]
fn ghosts_are_drawn_where_they_were_and_dead_children_listed_are_skipped() {
    // The registry <0.3.0> died and was restarted as <0.20.0>; bucket <0.11.0> died
    // and is still in its parent's list (its parent's change has not arrived yet).
    let before = kv(2);
    let mut infos: Vec<Arc<ProcessInfo>> = before
        .processes()
        .filter(|i| i.pid != Pid(3) && i.pid != Pid(11))
        .map(|i| Arc::new(i.clone()))
        .collect();
    let mut sup = (*infos[0]).clone();
    sup.children = [Pid(2), Pid(20)].into_iter().collect();
    infos[0] = Arc::new(sup);
    infos.push(Arc::new(named(
        info(20, Some(1), vec![]),
        "KV.Registry",
        ProcessKind::Server,
    )));
    let after = Snapshot::new("t", 0, 0, 0, infos);
    let ghosts = vec![Ghost {
        info: Arc::new(before.process(Pid(3)).unwrap().clone()),
        reason: Some(ExitReason::Killed),
    }];
    let view = TreeView::default();
    let data = build_fresh(TreeInput {
        ghosts: &ghosts,
        ..input(&after, &view, 50, "")
    });
    assert_eq!(
        labels(&data),
        [
            "KV.Supervisor <0.1.0>",
            "  KV.BucketSupervisor <0.2.0>",
            "    KV.Bucket <0.10.0>",
            "  KV.Registry <0.3.0>",
            "  KV.Registry <0.20.0>",
        ]
    );
    let ghost = &data.rows[3];
    assert!(ghost.is_ghost);
    assert_eq!(ghost.status, Status::Dead);
    assert_eq!(ghost.detail, "exited: killed");
    assert!(!data.rows[4].is_ghost);
}

#[test]
fn a_dead_subtree_stays_together_as_ghosts() {
    let before = kv(3);
    // The whole bucket supervisor went: it and its buckets are ghosts.
    let infos: Vec<Arc<ProcessInfo>> = before
        .processes()
        .filter(|i| i.pid == Pid(1) || i.pid == Pid(3))
        .map(|i| Arc::new(i.clone()))
        .collect();
    let after = Snapshot::new("t", 0, 0, 0, infos);
    let ghosts: Vec<Ghost> = [2, 10, 11, 12]
        .iter()
        .map(|pid| Ghost {
            info: Arc::new(before.process(Pid(*pid)).unwrap().clone()),
            reason: Some(ExitReason::Shutdown),
        })
        .collect();
    let view = TreeView::default();
    let data = build_fresh(TreeInput {
        ghosts: &ghosts,
        ..input(&after, &view, 50, "")
    });
    assert_eq!(data.rows.len(), 6);
    assert_eq!(data.rows[1].label, "KV.BucketSupervisor <0.2.0>");
    assert!(data.rows[1..5].iter().all(|row| row.is_ghost));
    assert_eq!(data.rows[2].depth, 2);
}

#[test]
fn ghosts_whose_parent_is_gone_unseen_are_not_shown_as_roots() {
    let before = kv(3);
    let infos: Vec<Arc<ProcessInfo>> = before
        .processes()
        .filter(|i| i.pid == Pid(1) || i.pid == Pid(3))
        .map(|i| Arc::new(i.clone()))
        .collect();
    let after = Snapshot::new("t", 0, 0, 0, infos);
    // The buckets died, but their supervisor's death was missed: no ghost for it.
    let ghosts: Vec<Ghost> = [10, 11]
        .iter()
        .map(|pid| Ghost {
            info: Arc::new(before.process(Pid(*pid)).unwrap().clone()),
            reason: None,
        })
        .collect();
    let view = TreeView::default();
    let data = build_fresh(TreeInput {
        ghosts: &ghosts,
        ..input(&after, &view, 50, "")
    });
    assert_eq!(
        labels(&data),
        ["KV.Supervisor <0.1.0>", "  KV.Registry <0.3.0>"]
    );
}

#[test]
fn the_matcher_agrees_with_process_info_matches() {
    let snapshot = kv(3);
    for text in [
        "kv", "KV.B", "<0.1", "0.12.0", ".0>", "registry", "bucket", "zzz", " Sup ", "<", "ü",
    ] {
        let matcher = ProcessMatcher::search(text);
        for info in snapshot.processes() {
            let expected = info.matches(text);
            let got = matcher.as_ref().is_none_or(|m| m.is_match(info));
            assert_eq!(got, expected, "{text:?} on {}", info.pid);
        }
    }
}

/// Marks every summary `memo` remembers, so that a build that reuses one shows the mark.
fn mark_remembered(memo: &mut FoldMemo) {
    for summary in memo.entries.values_mut() {
        summary.name = "Remembered".to_owned();
    }
}

fn fold_label(data: &TreeData) -> &str {
    let fold = data.rows.iter().find(|r| r.kind == NodeKind::Fold).unwrap();
    &fold.label
}

#[test]
fn a_remembered_fold_summary_is_reused_only_while_its_parent_is_unchanged() {
    let snapshot = kv(1_000);
    let view = TreeView::default();
    let mut memo = FoldMemo::default();
    let first = build(input(&snapshot, &view, 10, ""), &mut memo);
    assert_eq!(fold_label(&first), "+ 990 KV.Bucket");
    assert_eq!(memo.len(), 1);
    mark_remembered(&mut memo);
    let again = build(input(&snapshot, &view, 10, ""), &mut memo);
    assert_eq!(fold_label(&again), "+ 990 Remembered", "reused");
    assert_eq!(memo.len(), 1);

    // The parent changed but its list kept its length and ends: bucket <0.500.0> died and
    // is still listed (the parent's change removing it is still to come). A new list, so
    // a new summary.
    let mut infos: Vec<Arc<ProcessInfo>> = snapshot
        .processes()
        .filter(|i| i.pid != Pid(500))
        .map(|i| Arc::new(i.clone()))
        .collect();
    infos[1] = Arc::new((*infos[1]).clone());
    let relisted = Snapshot::new("t", 0, 0, 1, infos.clone());
    let data = build(input(&relisted, &view, 10, ""), &mut memo);
    assert_eq!(fold_label(&data), "+ 989 KV.Bucket", "recomputed");
    assert_eq!(memo.len(), 1, "the old summary is forgotten");

    // The parent lost a child: a new list, a new summary.
    mark_remembered(&mut memo);
    let mut parent = (*infos[1]).clone();
    parent.children.retain(|pid| *pid != Pid(500));
    infos[1] = Arc::new(parent);
    let changed = Snapshot::new("t", 0, 0, 2, infos);
    let data = build(input(&changed, &view, 10, ""), &mut memo);
    assert_eq!(fold_label(&data), "+ 989 KV.Bucket", "recomputed");
    assert_eq!(memo.len(), 1, "the old summary is forgotten");
    // Kept alive to here, so that no list above can reuse an earlier one's address.
    drop((snapshot, relisted));
}

/// What it costs is measured in `benches/gui_frame.rs` (`tree_build`).
#[test]
fn a_hundred_thousand_buckets_fold_around_a_revealed_one_and_a_search_finds_the_last() {
    let snapshot = kv(100_000);
    let mut view = TreeView::default();
    view.reveal(&snapshot, Pid(70_000));
    let mut memo = FoldMemo::default();
    let data = build(input(&snapshot, &view, 50, ""), &mut memo);
    // The app's three, 50 buckets, a fold, the revealed bucket, a fold.
    assert_eq!(data.rows.len(), 2 + 50 + 1 + 1 + 1 + 1);
    let folds: Vec<&str> = data
        .rows
        .iter()
        .filter(|r| r.kind == NodeKind::Fold)
        .map(|r| r.label.as_str())
        .collect();
    assert_eq!(folds, ["+ 69,940 KV.Bucket", "+ 30,009 KV.Bucket"]);
    assert!(data.row_of(Pid(70_000)).is_some());
    let again = build(input(&snapshot, &view, 50, ""), &mut memo);
    assert_eq!(again.rows, data.rows);
    let searched = build(input(&snapshot, &view, 50, "<0.99999.0>"), &mut memo);
    assert_eq!(searched.matches, vec![Pid(99_999)]);
    let hidden: usize = searched.rows.iter().map(|r| r.hidden_matches).sum();
    assert_eq!(hidden, 1, "the match is counted in its fold");
}
