//! A map that holds one entry inline, stays a short vector while it is small and becomes a
//! hash map when it grows.
//!
//! Links and monitors are per process: most processes have one or two, a supervisor of 100,000
//! buckets has 100,000. One entry inline keeps the common case (a worker linked to its
//! supervisor) free of any allocation; a vector keeps a few cheap; the hash map keeps removal
//! O(1) when a large supervisor's children die together.

use std::collections::HashMap;
use std::hash::Hash;

use super::pid::IdHash;

const SPILL_AT: usize = 16;

/// Key-value pairs, unordered; see the module docs.
#[derive(Debug)]
pub(crate) enum SmallMap<K, V> {
    /// No entry or one.
    One(Option<(K, V)>),
    Small(Vec<(K, V)>),
    Large(HashMap<K, V, IdHash>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        Self::One(None)
    }
}

impl<K: Eq + Hash + Copy, V> SmallMap<K, V> {
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            Self::One(slot) => match slot {
                None => {
                    *slot = Some((key, value));
                    None
                }
                Some((k, v)) if *k == key => Some(std::mem::replace(v, value)),
                Some(_) => {
                    let mut items = Vec::with_capacity(4);
                    items.extend(slot.take());
                    items.push((key, value));
                    *self = Self::Small(items);
                    None
                }
            },
            Self::Small(items) => {
                if let Some(slot) = items.iter_mut().find(|(k, _)| *k == key) {
                    return Some(std::mem::replace(&mut slot.1, value));
                }
                if items.len() < SPILL_AT {
                    items.push((key, value));
                    return None;
                }
                let mut map: HashMap<K, V, IdHash> = items.drain(..).collect();
                map.insert(key, value);
                *self = Self::Large(map);
                None
            }
            Self::Large(map) => map.insert(key, value),
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            Self::One(slot) => match slot {
                Some((k, _)) if k == key => slot.take().map(|(_, v)| v),
                _ => None,
            },
            Self::Small(items) => {
                let index = items.iter().position(|(k, _)| k == key)?;
                Some(items.swap_remove(index).1)
            }
            Self::Large(map) => map.remove(key),
        }
    }

    #[cfg(test)]
    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.iter().any(|(k, _)| k == key)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::One(slot) => usize::from(slot.is_some()),
            Self::Small(items) => items.len(),
            Self::Large(map) => map.len(),
        }
    }

    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        match self {
            Self::One(slot) => Iter::Small(slot.as_slice().iter()),
            Self::Small(items) => Iter::Small(items.iter()),
            Self::Large(map) => Iter::Large(map.iter()),
        }
    }

    /// Empties the map, handing back what it held.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

/// Iterates a [`SmallMap`] without boxing (it is read for every process in a snapshot).
pub(crate) enum Iter<'a, K, V> {
    Small(std::slice::Iter<'a, (K, V)>),
    Large(std::collections::hash_map::Iter<'a, K, V>),
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Small(items) => items.next().map(|(k, v)| (k, v)),
            Self::Large(items) => items.next(),
        }
    }
}

/// Owned entries of a [`SmallMap`].
pub(crate) enum IntoIter<K, V> {
    One(std::option::IntoIter<(K, V)>),
    Small(std::vec::IntoIter<(K, V)>),
    Large(std::collections::hash_map::IntoIter<K, V>),
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        match self {
            Self::One(slot) => slot.next(),
            Self::Small(items) => items.next(),
            Self::Large(map) => map.next(),
        }
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        match self {
            Self::One(slot) => IntoIter::One(slot.into_iter()),
            Self::Small(items) => IntoIter::Small(items.into_iter()),
            Self::Large(map) => IntoIter::Large(map.into_iter()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_into_a_hash_map_and_keeps_every_entry() {
        let mut map = SmallMap::default();
        for i in 0..100u32 {
            assert_eq!(map.insert(i, i * 2), None);
        }
        assert!(matches!(map, SmallMap::Large(_)));
        assert_eq!(map.len(), 100);
        assert_eq!(map.remove(&7), Some(14));
        assert!(!map.contains_key(&7));
        assert_eq!(map.insert(8, 0), Some(16));
        assert_eq!(map.take().into_iter().count(), 99);
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn holds_one_entry_inline_then_moves_to_a_vector() {
        let mut map = SmallMap::default();
        assert_eq!(map.insert(1u32, 'a'), None);
        assert_eq!(map.insert(1, 'b'), Some('a'));
        assert!(matches!(map, SmallMap::One(Some((1, 'b')))));
        assert_eq!(map.remove(&2), None);
        assert_eq!(map.remove(&1), Some('b'));
        assert_eq!(map.len(), 0);
        map.insert(1, 'a');
        map.insert(2, 'b');
        assert!(matches!(map, SmallMap::Small(_)));
        let mut entries: Vec<_> = map.iter().map(|(k, v)| (*k, *v)).collect();
        entries.sort_unstable();
        assert_eq!(entries, vec![(1, 'a'), (2, 'b')]);
    }
}
