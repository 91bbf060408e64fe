//! A process's live children in start order: a sorted vector an observer reads in one
//! sequential pass.
//!
//! Each child is kept under an order key (its serial, or its predecessor's key when a
//! supervisor restarts it in place). A `BTreeMap` did this before, but a full read of a
//! supervisor with 100,000 children walked some 9,000 leaves scattered over the heap, one
//! cache and TLB miss after another: about 4 ms of a 19 ms cold snapshot (BENCHMARKS.md,
//! "Cold full read, third pass"). Here the children are one dense vector.
//!
//! - A new child (the largest key so far, the usual case) is pushed at the end.
//! - A child that leaves becomes a hole in place (a tombstone); holes are swept out in one
//!   pass once they outnumber the children, so removal is O(log n) amortised and 100,000
//!   children dying at once cost O(n log n), not quadratic time.
//! - A restarted child usually refills its predecessor's hole. If that hole was swept away,
//!   the child goes into a small ordered side map (`late`) instead of being inserted into
//!   the middle of the vector; the side map is merged in once it grows past an eighth of the
//!   vector, so even a mass restart in place stays O(n log n) overall.
//!
//! Every process has a `Children`, and most (a million buckets) never have a child: until the
//! first child comes, and again once the last has gone, it is one null pointer (8 bytes in the
//! process's cell, not 56).

use std::collections::{BTreeMap, btree_map};
use std::iter::Peekable;

use super::pid::Pid;

/// Holes below this many are never swept (sweeping a short vector saves nothing).
const SWEEP_AT_LEAST: usize = 32;
/// The side map is merged into the vector once it holds more than this many children and
/// more than an eighth of the vector.
const MERGE_LATE_AT_LEAST: usize = 16;

/// Live children by order key, iterated in key order; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Children(Option<Box<Slots>>);

/// The slots of a [`Children`] that has children.
#[derive(Debug, Default)]
struct Slots {
    /// Sorted by key, each key once; `None` where a child has left (a hole).
    slots: Vec<(u64, Option<Pid>)>,
    /// Children whose key fell inside the vector where no hole was left for it; no key is in
    /// both `slots` and `late`.
    late: BTreeMap<u64, Pid>,
    /// Children in `slots` (not holes) and in `late`.
    live: usize,
}

/// What [`Children::iter`] walks when there are no children.
static NO_LATE: BTreeMap<u64, Pid> = BTreeMap::new();

impl Children {
    /// Puts `pid` under `key`, replacing the child there if there is one.
    pub(crate) fn insert(&mut self, key: u64, pid: Pid) {
        self.0.get_or_insert_default().insert(key, pid);
    }

    /// The child under `key`, if any.
    #[cfg(test)]
    fn get(&self, key: u64) -> Option<Pid> {
        self.0.as_ref()?.get(key)
    }

    /// Removes the child under `key` if it is `pid`; true if it was. The last child's
    /// leaving frees the slots.
    pub(crate) fn remove(&mut self, key: u64, pid: Pid) -> bool {
        let Some(slots) = self.0.as_mut() else {
            return false;
        };
        let removed = slots.remove(key, pid);
        if slots.live == 0 {
            self.0 = None;
        }
        removed
    }

    /// How many children there are.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |slots| slots.live)
    }

    /// The children in key order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        match self.0.as_deref() {
            Some(slots) => slots.iter(),
            None => Iter {
                slots: [].iter(),
                late: NO_LATE.iter().peekable(),
                left: 0,
            },
        }
    }

    /// The slots, for tests that look inside.
    #[cfg(test)]
    fn slots(&self) -> &Slots {
        self.0.as_deref().expect("children")
    }
}

impl Slots {
    /// Puts `pid` under `key`, replacing the child there if there is one.
    fn insert(&mut self, key: u64, pid: Pid) {
        if let Some(slot) = self.late.get_mut(&key) {
            *slot = pid;
            return;
        }
        if self.slots.last().is_none_or(|(last, _)| key > *last) {
            self.slots.push((key, Some(pid)));
            self.live += 1;
            return;
        }
        match self.slots.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(index) => {
                if self.slots[index].1.replace(pid).is_none() {
                    self.live += 1;
                }
            }
            Err(_) => {
                self.late.insert(key, pid);
                self.live += 1;
                if self.late.len() > MERGE_LATE_AT_LEAST.max(self.slots.len() / 8) {
                    self.rebuild();
                }
            }
        }
    }

    /// The child under `key`, if any.
    #[cfg(test)]
    fn get(&self, key: u64) -> Option<Pid> {
        if let Some(pid) = self.late.get(&key) {
            return Some(*pid);
        }
        let index = self.slots.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        self.slots[index].1
    }

    /// Removes the child under `key` if it is `pid`; true if it was.
    fn remove(&mut self, key: u64, pid: Pid) -> bool {
        if self.late.get(&key) == Some(&pid) {
            self.late.remove(&key);
            self.live -= 1;
            return true;
        }
        // The newest child first: a supervisor stops its children newest first.
        let last = self.slots.len().checked_sub(1);
        let found = match last {
            Some(last) if self.slots[last].0 == key => Ok(last),
            _ => self.slots.binary_search_by_key(&key, |(k, _)| *k),
        };
        let Ok(index) = found else {
            return false;
        };
        if self.slots[index].1 != Some(pid) {
            return false;
        }
        self.slots[index].1 = None;
        self.live -= 1;
        // Holes at the end go at once: the next child is pushed after the last live one.
        while self.slots.last().is_some_and(|(_, pid)| pid.is_none()) {
            self.slots.pop();
        }
        let holes = self.slots.len() + self.late.len() - self.live;
        if holes >= SWEEP_AT_LEAST && holes > self.live {
            self.rebuild();
        }
        true
    }

    /// The children in key order.
    fn iter(&self) -> Iter<'_> {
        Iter {
            slots: self.slots.iter(),
            late: self.late.iter().peekable(),
            left: self.live,
        }
    }

    /// Sweeps out the holes and merges the side map into the vector, in one pass.
    fn rebuild(&mut self) {
        let late = std::mem::take(&mut self.late);
        let mut slots = Vec::with_capacity(self.live);
        let mut late = late.into_iter().peekable();
        for &(key, pid) in &self.slots {
            while let Some(entry) = late.next_if(|(late_key, _)| *late_key < key) {
                slots.push((entry.0, Some(entry.1)));
            }
            if pid.is_some() {
                slots.push((key, pid));
            }
        }
        slots.extend(late.map(|(key, pid)| (key, Some(pid))));
        self.slots = slots;
    }
}

/// The children of a [`Children`] in key order: the vector's live slots, merged with the
/// side map (usually empty).
pub(crate) struct Iter<'a> {
    slots: std::slice::Iter<'a, (u64, Option<Pid>)>,
    late: Peekable<btree_map::Iter<'a, u64, Pid>>,
    /// Children not yet given.
    left: usize,
}

impl Iterator for Iter<'_> {
    type Item = Pid;

    fn next(&mut self) -> Option<Pid> {
        if self.late.peek().is_none() {
            // The usual case, and the loop a read of a large supervisor spends its time in.
            let pid = self.slots.find_map(|(_, pid)| *pid)?;
            self.left -= 1;
            return Some(pid);
        }
        loop {
            let Some(&(key, pid)) = self.slots.as_slice().first() else {
                let (_, pid) = self.late.next()?;
                self.left -= 1;
                return Some(*pid);
            };
            if let Some((_, late)) = self.late.next_if(|(late_key, _)| **late_key < key) {
                self.left -= 1;
                return Some(*late);
            }
            self.slots.next();
            if let Some(pid) = pid {
                self.left -= 1;
                return Some(pid);
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pid(serial: u64) -> Pid {
        Pid::new(0, serial)
    }

    fn serials(children: &Children) -> Vec<u64> {
        let iter = children.iter();
        assert_eq!(iter.len(), children.len());
        iter.map(|pid| pid.serial()).collect()
    }

    #[test]
    fn a_restarted_child_takes_its_predecessors_place() {
        let mut children = Children::default();
        for serial in 1..=3 {
            children.insert(serial, pid(serial));
        }
        // The middle child dies; its successor (serial 4) is put back under key 2.
        assert!(children.remove(2, pid(2)));
        children.insert(4, pid(4));
        assert!(children.remove(4, pid(4)));
        children.insert(2, pid(4));
        assert_eq!(serials(&children), vec![1, 4, 3]);
        assert_eq!(children.get(2), Some(pid(4)));
    }

    #[test]
    fn removes_only_the_child_it_is_asked_to() {
        let mut children = Children::default();
        children.insert(1, pid(1));
        assert!(!children.remove(1, pid(9)));
        assert!(!children.remove(2, pid(1)));
        assert_eq!(serials(&children), vec![1]);
        assert!(children.remove(1, pid(1)));
        assert!(!children.remove(1, pid(1)));
        assert_eq!(children.len(), 0);
    }

    #[test]
    fn a_mass_death_sweeps_the_holes_and_a_mass_restart_in_place_keeps_the_order() {
        let mut children = Children::default();
        for serial in 1..=10_000 {
            children.insert(serial, pid(serial));
        }
        // Three children in four die, then each is restarted in place with a new serial.
        let dies = |key: &u64| key % 4 != 1;
        for serial in (1..=10_000).filter(dies) {
            assert!(children.remove(serial, pid(serial)));
        }
        assert_eq!(children.len(), 2_500);
        assert!(children.slots().slots.len() < 5_000, "the holes were swept");
        for serial in (1..=10_000).filter(dies) {
            children.insert(serial, pid(100_000 + serial));
        }
        let expected: Vec<u64> = (1..=10_000)
            .map(|key| if dies(&key) { 100_000 + key } else { key })
            .collect();
        assert_eq!(serials(&children), expected);
        assert!(
            children.slots().late.len() <= children.slots().slots.len() / 8 + MERGE_LATE_AT_LEAST
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u64),
        Remove(u64, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..300u64, 1..50u64).prop_map(|(key, serial)| Op::Insert(key, serial)),
            (0..300u64, 1..50u64).prop_map(|(key, serial)| Op::Remove(key, serial)),
        ]
    }

    proptest! {
        /// Any sequence of inserts and removals leaves the same children, in the same order,
        /// as an ordered map given the same sequence.
        #[test]
        fn behaves_like_an_ordered_map(ops in proptest::collection::vec(op(), 0..600)) {
            let mut children = Children::default();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(key, serial) => {
                        children.insert(key, pid(serial));
                        model.insert(key, pid(serial));
                    }
                    Op::Remove(key, serial) => {
                        let expected = model.get(&key) == Some(&pid(serial));
                        if expected {
                            model.remove(&key);
                        }
                        prop_assert_eq!(children.remove(key, pid(serial)), expected);
                    }
                }
                prop_assert_eq!(children.len(), model.len());
            }
            let expected: Vec<Pid> = model.values().copied().collect();
            prop_assert_eq!(children.iter().collect::<Vec<_>>(), expected);
            for key in 0..300 {
                prop_assert_eq!(children.get(key), model.get(&key).copied());
            }
        }
    }
}
