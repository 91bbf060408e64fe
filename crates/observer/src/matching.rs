//! Matching processes against what the user typed: the Processes tab's filter (every word
//! against the pid, name, label, child id, kind or status) and the Applications tab's search
//! (the whole text against the pid, name, label or child id), case-insensitive substrings.
//!
//! Both run over every process of the snapshot, a million in a large node, so a match costs
//! next to nothing per process: nothing is allocated; a text shared by many processes (the
//! label and child id a spec gives all its children, as `Arc<str>`) is matched once for a
//! run of processes sharing it; the kind and status words are matched once per kind and
//! status; and the pid is written out only for a word that could be part of one. A pass
//! over a large snapshot is shared between threads ([`split_pass`]).

use std::cell::Cell;
use std::ops::Range;

use otpscope_contract::{Pid, ProcessInfo};

use crate::format;
use crate::widgets::table::contains_ignore_case;

/// From this many processes on, a pass over the snapshot is shared between threads: a pass
/// is bound by memory (each process a cache miss), about 50 ns a process, so a million
/// take 50 ms on one thread (`gui_frame_changing/processes_filter` in benches/gui_frame.rs).
const SPLIT_AT: usize = 100_000;
/// The most threads a pass takes.
const MAX_THREADS: usize = 4;

/// How many threads a pass over `processes` takes: one for a small snapshot, else one per
/// core, at most [`MAX_THREADS`].
pub fn pass_threads(processes: usize) -> usize {
    if processes < SPLIT_AT {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    }
}

/// Runs `pass` over `0..len` cut into `threads` consecutive ranges, each on its own thread
/// (the first on this one) with its own copy of `seed` (a matcher remembers what it last
/// matched); gives the results in range order. A panic in a pass is resumed here.
pub fn split_pass<S, T>(
    len: usize,
    threads: usize,
    seed: &S,
    pass: impl Fn(S, Range<usize>) -> T + Sync,
) -> Vec<T>
where
    S: Clone + Send,
    T: Send,
{
    let chunk = len.div_ceil(threads.max(1)).max(1);
    let mut ranges = (0..len)
        .step_by(chunk)
        .map(|start| start..(start + chunk).min(len));
    let Some(first) = ranges.next() else {
        return vec![pass(seed.clone(), 0..0)];
    };
    std::thread::scope(|scope| {
        let pass = &pass;
        let others: Vec<_> = ranges
            .map(|range| {
                let seed = seed.clone();
                scope.spawn(move || pass(seed, range))
            })
            .collect();
        let mut results = vec![pass(seed.clone(), first)];
        for other in others {
            results.push(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        results
    })
}

/// Which fields a [`ProcessMatcher`] looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fields {
    /// Pid, name, label, child id, kind and status (the Processes filter).
    All,
    /// Pid, name, label and child id (the tree search).
    Identity,
}

/// A case-insensitive match of typed text against a process's fields.
#[derive(Clone, Debug)]
pub struct ProcessMatcher {
    /// What every process must match, each against any of the fields.
    terms: Vec<Term>,
    fields: Fields,
}

/// One lowercase word (or the whole search) and what it is known to match.
#[derive(Clone, Debug)]
struct Term {
    text: String,
    /// Whether it could be part of a pid's text (`<0.42.0>`): only `<`, `>`, `.` and digits.
    may_match_pid: bool,
    /// Whether it matches each kind's word, in [`format::kinds`]'s order.
    kinds: [bool; 5],
    /// Whether it matches each status's word, in [`format::STATUSES`]'s order.
    statuses: [bool; 4],
    /// The last name, label and child id matched: the text's address and length, and
    /// whether it matched.
    memo: [Cell<Option<(usize, usize, bool)>>; 3],
}

impl ProcessMatcher {
    /// The Processes tab's filter: each whitespace-separated word of `text` must match one of
    /// the pid, name, label, child id, kind or status. `None` if `text` is blank.
    pub fn filter(text: &str) -> Option<Self> {
        let terms: Vec<Term> = text.split_whitespace().map(Term::new).collect();
        (!terms.is_empty()).then_some(Self {
            terms,
            fields: Fields::All,
        })
    }

    /// The tree's search: the whole of `text`, trimmed, must match the pid, name, label or
    /// child id. `None` if `text` is blank.
    pub fn search(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self {
            terms: vec![Term::new(text)],
            fields: Fields::Identity,
        })
    }

    /// Whether `info` matches.
    pub fn is_match(&self, info: &ProcessInfo) -> bool {
        let mut pid_buffer = [0u8; 32];
        let pid = if self.terms.iter().any(|term| term.may_match_pid) {
            pid_text(info.pid, &mut pid_buffer)
        } else {
            ""
        };
        self.terms.iter().all(|term| {
            (term.may_match_pid && contains_ignore_case(pid, &term.text))
                || info
                    .name
                    .as_deref()
                    .is_some_and(|name| term.hit_memo(0, name))
                || term.hit_memo(1, &info.label)
                || info
                    .child_id
                    .as_deref()
                    .is_some_and(|id| term.hit_memo(2, id))
                || (self.fields == Fields::All
                    && (term.kinds[format::kind_rank(&info.kind)]
                        || term.statuses[format::status_rank(info.status)]))
        })
    }
}

impl Term {
    fn new(text: &str) -> Self {
        let text = text.to_lowercase();
        let kinds =
            format::kinds().map(|kind| contains_ignore_case(format::kind_word(&kind), &text));
        let statuses =
            format::STATUSES.map(|status| contains_ignore_case(format::status_word(status), &text));
        Self {
            may_match_pid: text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || matches!(byte, b'<' | b'>' | b'.')),
            kinds,
            statuses,
            memo: Default::default(),
            text,
        }
    }

    /// Whether `field` (the name, label or child id, by `slot`) contains the term; the same
    /// text as last time in that slot (the same `Arc<str>`) is not matched again.
    fn hit_memo(&self, slot: usize, field: &str) -> bool {
        let key = (field.as_ptr() as usize, field.len());
        if let Some((address, len, hit)) = self.memo[slot].get()
            && (address, len) == key
        {
            return hit;
        }
        let hit = contains_ignore_case(field, &self.text);
        self.memo[slot].set(Some((key.0, key.1, hit)));
        hit
    }
}

/// Writes the pid as `Pid` prints it (`<0.N.0>`) into `buffer` and returns it as text.
pub fn pid_text(pid: Pid, buffer: &mut [u8; 32]) -> &str {
    /// Writes `value`'s digits at `at`; gives where they end.
    fn digits(value: u64, buffer: &mut [u8; 32], at: usize) -> usize {
        let mut reversed = [0u8; 20];
        let (mut value, mut count) = (value, 0);
        loop {
            reversed[count] = b'0' + (value % 10) as u8;
            count += 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        for (index, digit) in reversed[..count].iter().rev().enumerate() {
            buffer[at + index] = *digit;
        }
        at + count
    }
    // As `Pid`'s Display: `<0.ID.SERIAL>`, ID and SERIAL at most ten digits each.
    buffer[..3].copy_from_slice(b"<0.");
    let end = digits(pid.serial() & 0xffff_ffff, buffer, 3);
    buffer[end] = b'.';
    let end = digits(pid.serial() >> 32, buffer, end + 1);
    buffer[end] = b'>';
    std::str::from_utf8(&buffer[..end + 1]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use otpscope_contract::{ProcessKind, Status};

    fn bucket(pid: u64, label: &Arc<str>) -> ProcessInfo {
        ProcessInfo {
            label: label.clone(),
            child_id: Some(label.clone()),
            ..ProcessInfo::new(Pid(pid), ProcessKind::Agent, "")
        }
    }

    #[test]
    fn the_pid_is_written_as_pid_prints_it() {
        for serial in [
            0,
            7,
            42,
            99_999,
            1_000_000,
            u64::from(u32::MAX),
            3 << 32 | 17,
            u64::MAX,
        ] {
            let mut buffer = [0u8; 32];
            assert_eq!(pid_text(Pid(serial), &mut buffer), Pid(serial).to_string());
        }
    }

    #[test]
    fn a_filter_needs_every_word_in_some_field_and_a_search_the_whole_text() {
        let label: Arc<str> = "KV.Bucket".into();
        let mut registry = ProcessInfo::new(Pid(3), ProcessKind::Server, "KV.Registry");
        registry.name = Some("KV.Registry".into());
        registry.status = Status::Running;
        let filter = ProcessMatcher::filter("  kv  SERVER ").unwrap();
        assert!(filter.is_match(&registry));
        assert!(!filter.is_match(&bucket(4, &label)));
        let filter = ProcessMatcher::filter("bucket agent").unwrap();
        assert!(filter.is_match(&bucket(4, &label)));
        assert!(!filter.is_match(&registry));
        // Status and kind words, and part of one ("dynamic supervisor" holds "supervisor").
        assert!(ProcessMatcher::filter("runn").unwrap().is_match(&registry));
        let dynamic = ProcessInfo::new(
            Pid(2),
            ProcessKind::DynamicSupervisor {
                max_restarts: 3,
                max_seconds: 5,
                max_children: None,
            },
            "KV.BucketSupervisor",
        );
        assert!(
            ProcessMatcher::filter("c supervisor")
                .unwrap()
                .is_match(&dynamic)
        );
        // The search takes the text whole, and knows no kinds or statuses.
        assert!(
            ProcessMatcher::search("KV.Reg")
                .unwrap()
                .is_match(&registry)
        );
        assert!(
            !ProcessMatcher::search("kv server")
                .unwrap()
                .is_match(&registry)
        );
        assert!(
            !ProcessMatcher::search("server")
                .unwrap()
                .is_match(&registry)
        );
        assert!(ProcessMatcher::filter(" \t").is_none());
        assert!(ProcessMatcher::search("  ").is_none());
    }

    #[test]
    fn pids_match_by_their_text_and_a_shared_label_is_remembered_per_text() {
        let label: Arc<str> = "KV.Bucket".into();
        let other: Arc<str> = "Worker".into();
        let search = ProcessMatcher::search("<0.42").unwrap();
        assert!(search.is_match(&bucket(42, &label)));
        assert!(search.is_match(&bucket(420, &label)));
        assert!(!search.is_match(&bucket(4, &label)));
        // A digit also matches in a label; the memo is per text, so a run of processes that
        // share one label and then another answer each by its own.
        let search = ProcessMatcher::search("bucket").unwrap();
        let answers: Vec<bool> = [(4, &label), (5, &label), (6, &other), (7, &label)]
            .into_iter()
            .map(|(pid, label)| search.is_match(&bucket(pid, label)))
            .collect();
        assert_eq!(answers, [true, true, false, true]);
        let search = ProcessMatcher::search("9").unwrap();
        let digit: Arc<str> = "Pool9".into();
        assert!(search.is_match(&bucket(4, &digit)));
        assert!(search.is_match(&bucket(19, &label)));
        assert!(!search.is_match(&bucket(4, &label)));
    }
}
