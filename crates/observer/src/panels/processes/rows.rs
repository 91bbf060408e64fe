//! The Processes table's rows, built by a pure function from the snapshot, the message
//! rates, the filter and the sort, and unit-tested without a window.
//!
//! One pass over the snapshot gives each matching row an integer sort key (names become
//! their rank among the distinct names), then one stable sort of a flat vector: the
//! comparisons never touch process data, and ties stay in pid order. A row holds a pid and
//! a rate, not process data: the table looks each visible row up in the current snapshot.

use std::cmp::Ordering;
use std::collections::HashMap;

use otpscope_contract::{Pid, Snapshot};

use crate::format;
use crate::matching::{self, ProcessMatcher};

/// A column of the table, and what it sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// The pid (start order).
    Pid,
    /// The registered name, else the behaviour label.
    Name,
    /// Supervisor, dynamic supervisor, server, agent, plain.
    Kind,
    /// Running, waiting, exiting.
    Status,
    /// Messages waiting.
    Mailbox,
    /// Messages handled per second.
    MessagesPerS,
    /// Restarts of its child id before this incarnation.
    Restarts,
    /// Time since it started.
    Uptime,
}

impl SortColumn {
    /// Every column, in the order shown.
    pub const ALL: [Self; 8] = [
        Self::Pid,
        Self::Name,
        Self::Kind,
        Self::Status,
        Self::Mailbox,
        Self::MessagesPerS,
        Self::Restarts,
        Self::Uptime,
    ];

    /// Its header.
    pub fn title(self) -> &'static str {
        match self {
            Self::Pid => "Pid",
            Self::Name => "Name",
            Self::Kind => "Kind",
            Self::Status => "Status",
            Self::Mailbox => "Mailbox",
            Self::MessagesPerS => "Msgs/s",
            Self::Restarts => "Restarts",
            Self::Uptime => "Uptime",
        }
    }

    /// What its header says when hovered.
    pub fn hover(self) -> &'static str {
        match self {
            Self::Pid => "Process id; pids grow in start order",
            Self::Name => "Registered name, else the behaviour label",
            Self::Kind => "Supervisor, dynamic supervisor, server, agent or plain process",
            Self::Status => "Running, waiting for a message, or exiting",
            Self::Mailbox => "Messages waiting in the mailbox",
            Self::MessagesPerS => "Messages handled per second, over the last second or more",
            Self::Restarts => "How many times its supervisor restarted this child before",
            Self::Uptime => "Time since this incarnation started",
        }
    }

    /// Whether the column holds numbers (right-aligned, biggest first on the first click).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::Mailbox | Self::MessagesPerS | Self::Restarts | Self::Uptime
        )
    }
}

/// One row: a pid and its message rate when the rows were built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Row {
    /// The process.
    pub(super) pid: Pid,
    /// Its message rate when the rows were built.
    pub(super) messages_per_s: f32,
}

// === building the rows ===

/// The rows for `filter` sorted by `sort`: pure, from the snapshot and the rates.
///
/// One pass over the snapshot gives each matching row an integer sort key (names become
/// their rank among the distinct names), then one stable sort of a flat vector: the
/// comparisons never touch process data, and ties stay in pid order. A large snapshot is
/// passed over in consecutive ranges on several threads, whose keyed rows, concatenated,
/// are what one pass would give.
pub(super) fn build_rows(
    snapshot: &Snapshot,
    per_s: &[(Pid, f32)],
    filter: &str,
    sort: SortColumn,
    ascending: bool,
) -> Vec<Row> {
    build_rows_on(
        matching::pass_threads(snapshot.len()),
        snapshot,
        per_s,
        filter,
        sort,
        ascending,
    )
}

/// [`build_rows`] on `threads` threads.
fn build_rows_on(
    threads: usize,
    snapshot: &Snapshot,
    per_s: &[(Pid, f32)],
    filter: &str,
    sort: SortColumn,
    ascending: bool,
) -> Vec<Row> {
    let passes = matching::split_pass(
        snapshot.len(),
        threads,
        &ProcessMatcher::filter(filter),
        |matcher, range| key_rows(snapshot, range, per_s, matcher, sort),
    );
    let mut keyed: Vec<(u64, Row)> = Vec::with_capacity(passes.iter().map(|p| p.rows.len()).sum());
    if sort == SortColumn::Name {
        // Ranks over every range's names; a name in two ranges has one rank.
        let names: Vec<(usize, u32, &str)> = passes
            .iter()
            .enumerate()
            .flat_map(|(range, pass)| {
                (pass.names.names.iter().enumerate())
                    .map(move |(id, name)| (range, id as u32, *name))
            })
            .collect();
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|a, b| cmp_ignore_ascii_case(names[*a].2, names[*b].2));
        let mut ranks: Vec<Vec<u32>> = passes
            .iter()
            .map(|pass| vec![0; pass.names.names.len()])
            .collect();
        let mut rank = 0;
        for (position, index) in order.iter().enumerate() {
            let (range, id, name) = names[*index];
            if position > 0 && names[order[position - 1]].2 != name {
                rank += 1;
            }
            ranks[range][id as usize] = rank;
        }
        for (pass, ranks) in passes.into_iter().zip(ranks) {
            keyed.extend(
                pass.rows
                    .into_iter()
                    .map(|(key, row)| (u64::from(ranks[key as usize]), row)),
            );
        }
    } else {
        for pass in passes {
            keyed.extend(pass.rows);
        }
    }
    match (sort, ascending) {
        (SortColumn::Pid, true) => {}
        (SortColumn::Pid, false) => keyed.reverse(),
        // The rows come in pid order and the sort is stable: ties stay in pid order. (A
        // stable sort also runs in near-linear time on the long runs of equal keys here.)
        (_, true) => keyed.sort_by_key(|(key, _)| *key),
        (_, false) => keyed.sort_by_key(|(key, _)| std::cmp::Reverse(*key)),
    }
    keyed.into_iter().map(|(_, row)| row).collect()
}

/// What one pass over a range of the snapshot gives: the matching rows in pid order with
/// their sort keys (for a sort by name, the name's id in `names`).
#[derive(Default)]
struct KeyedRows<'a> {
    rows: Vec<(u64, Row)>,
    names: NameIds<'a>,
}

/// One pass over the processes at `range` of the snapshot.
fn key_rows<'a>(
    snapshot: &'a Snapshot,
    range: std::ops::Range<usize>,
    per_s: &[(Pid, f32)],
    matcher: Option<ProcessMatcher>,
    sort: SortColumn,
) -> KeyedRows<'a> {
    let mut out = KeyedRows {
        rows: Vec::with_capacity(range.len()),
        names: NameIds::default(),
    };
    let mut rates = match snapshot.process_at(range.start) {
        Some(first) => per_s[per_s.partition_point(|(pid, _)| *pid < first.pid)..].iter(),
        None => [].iter(),
    }
    .peekable();
    for index in range {
        let Some(info) = snapshot.process_at(index) else {
            break;
        };
        while rates.next_if(|(pid, _)| *pid < info.pid).is_some() {}
        let rate = rates
            .next_if(|(pid, _)| *pid == info.pid)
            .map_or(0.0, |(_, rate)| *rate);
        if matcher
            .as_ref()
            .is_some_and(|matcher| !matcher.is_match(info))
        {
            continue;
        }
        let key = match sort {
            SortColumn::Pid => 0,
            SortColumn::Name => u64::from(out.names.id(info.display_name())),
            SortColumn::Kind => format::kind_rank(&info.kind) as u64,
            SortColumn::Status => format::status_rank(info.status) as u64,
            SortColumn::Mailbox => info.mailbox_len,
            // Rates are never negative, and the bits of non-negative floats sort as they do.
            SortColumn::MessagesPerS => u64::from(rate.max(0.0).to_bits()),
            SortColumn::Restarts => u64::from(info.restarts),
            // Longer uptime: started earlier.
            SortColumn::Uptime => u64::MAX - info.started_at_ms,
        };
        let row = Row {
            pid: info.pid,
            messages_per_s: rate,
        };
        out.rows.push((key, row));
    }
    out
}

/// Gives each distinct name a small id, then ranks the ids by name (case-insensitive).
#[derive(Default)]
struct NameIds<'a> {
    /// Ids by name.
    ids: HashMap<&'a str, u32>,
    /// Names by id.
    names: Vec<&'a str>,
    /// The last name seen and its id: siblings (thousands of `KV.Bucket`s) come in a row.
    last: Option<(&'a str, u32)>,
}

impl<'a> NameIds<'a> {
    fn id(&mut self, name: &'a str) -> u32 {
        if let Some((last, id)) = self.last
            && (std::ptr::eq(last, name) || last == name)
        {
            return id;
        }
        let next = self.names.len() as u32;
        let id = *self.ids.entry(name).or_insert(next);
        if id == next {
            self.names.push(name);
        }
        self.last = Some((name, id));
        id
    }
}

fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use otpscope_contract::{ProcessInfo, ProcessKind, Strategy};

    pub(in crate::panels::processes) fn info(
        pid: u64,
        name: Option<&str>,
        label: &str,
        kind: ProcessKind,
    ) -> Arc<ProcessInfo> {
        Arc::new(ProcessInfo {
            name: name.map(Into::into),
            mailbox_len: pid % 3,
            started_at_ms: pid * 10,
            ..ProcessInfo::new(Pid(pid), kind, label)
        })
    }

    pub(in crate::panels::processes) fn kv() -> Snapshot {
        let sup = ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5,
        };
        let dynamic = ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: None,
        };
        Snapshot::new(
            "test",
            0,
            1_000,
            0,
            vec![
                info(1, Some("KV.Supervisor"), "KV.Supervisor", sup),
                info(
                    2,
                    Some("KV.BucketSupervisor"),
                    "KV.BucketSupervisor",
                    dynamic,
                ),
                info(3, Some("KV.Registry"), "KV.Registry", ProcessKind::Server),
                info(4, None, "KV.Bucket", ProcessKind::Agent),
                info(5, None, "KV.Bucket", ProcessKind::Agent),
            ],
        )
    }

    fn pids(rows: &[Row]) -> Vec<u64> {
        rows.iter().map(|row| row.pid.0).collect()
    }

    #[test]
    fn sorting_is_stable_and_reverses() {
        let snap = kv();
        let rows = build_rows(&snap, &[], "", SortColumn::Name, true);
        assert_eq!(pids(&rows), [4, 5, 2, 3, 1]);
        let rows = build_rows(&snap, &[], "", SortColumn::Name, false);
        assert_eq!(pids(&rows), [1, 3, 2, 4, 5]);
        let rows = build_rows(&snap, &[], "", SortColumn::Pid, false);
        assert_eq!(pids(&rows), [5, 4, 3, 2, 1]);
        let rows = build_rows(&snap, &[], "", SortColumn::Mailbox, false);
        assert_eq!(pids(&rows), [2, 5, 1, 4, 3]);
        let rows = build_rows(&snap, &[], "", SortColumn::Uptime, false);
        assert_eq!(pids(&rows), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn filter_matches_every_word_against_any_field() {
        let snap = kv();
        let rows = build_rows(&snap, &[], "bucket", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [2, 4, 5]);
        let rows = build_rows(&snap, &[], "bucket agent", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [4, 5]);
        let rows = build_rows(&snap, &[], "<0.3.0>", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [3]);
        let rows = build_rows(&snap, &[], "DYNAMIC", SortColumn::Pid, true);
        assert_eq!(pids(&rows), [2]);
        assert!(build_rows(&snap, &[], "nothing", SortColumn::Pid, true).is_empty());
    }

    #[test]
    fn a_pass_split_between_threads_gives_the_rows_of_one_pass() {
        // Names that repeat across the ranges, in two cases; rates for some pids, in two
        // ranges; mailboxes and uptimes with ties.
        let names = ["KV.Bucket", "kv.bucket", "Alpha", "zeta", "KV.Registry"];
        let infos: Vec<Arc<ProcessInfo>> = (1..=1_000_u64)
            .map(|pid| {
                let kind = if pid % 11 == 0 {
                    ProcessKind::Server
                } else {
                    ProcessKind::Agent
                };
                let name = (pid % 13 == 0).then_some(names[(pid % 5) as usize]);
                info(pid, name, names[(pid % 3) as usize], kind)
            })
            .collect();
        let snap = Snapshot::new("test", 0, 1_000, 0, infos);
        let per_s: Vec<(Pid, f32)> = (1..=1_000_u64)
            .filter(|pid| pid % 7 == 0)
            .map(|pid| (Pid(pid), (pid % 4) as f32))
            .collect();
        for column in SortColumn::ALL {
            for ascending in [true, false] {
                for filter in ["", "bucket", "server 9", "<0.1"] {
                    let one = build_rows_on(1, &snap, &per_s, filter, column, ascending);
                    assert!(!one.is_empty() || filter == "server 9");
                    for threads in [2, 3, 4] {
                        let split =
                            build_rows_on(threads, &snap, &per_s, filter, column, ascending);
                        assert_eq!(
                            split, one,
                            "{threads} threads, {column:?}, ascending {ascending}, {filter:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn kind_and_status_ranks_follow_their_names() {
        let kinds = format::kinds();
        for (rank, pair) in kinds.windows(2).enumerate() {
            assert!(format::kind_word(&pair[0]) < format::kind_word(&pair[1]));
            assert_eq!(format::kind_rank(&pair[0]), rank);
        }
        assert_eq!(format::kind_rank(&kinds[4]), 4);
        for (rank, pair) in format::STATUSES.windows(2).enumerate() {
            assert!(format::status_word(pair[0]) < format::status_word(pair[1]));
            assert_eq!(format::status_rank(pair[0]), rank);
        }
        assert_eq!(format::status_rank(format::STATUSES[3]), 3);
    }
}
