//! A map that stays a short vector while it is small and becomes a hash map when it grows.
//!
//! Links and monitors are per process: most processes have one or two, a supervisor of 100,000
//! buckets has 100,000. A vector keeps the common case to one small allocation; the hash map
//! keeps removal O(1) when a large supervisor's children die together.

use std::collections::HashMap;
use std::hash::Hash;

const SPILL_AT: usize = 16;

/// Key-value pairs, unordered; see the module docs.
#[derive(Debug)]
pub(crate) enum SmallMap<K, V> {
    Small(Vec<(K, V)>),
    Large(HashMap<K, V>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        Self::Small(Vec::new())
    }
}

impl<K: Eq + Hash + Copy, V> SmallMap<K, V> {
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            Self::Small(items) => {
                if let Some(slot) = items.iter_mut().find(|(k, _)| *k == key) {
                    return Some(std::mem::replace(&mut slot.1, value));
                }
                if items.len() < SPILL_AT {
                    items.push((key, value));
                    return None;
                }
                let mut map: HashMap<K, V> = items.drain(..).collect();
                map.insert(key, value);
                *self = Self::Large(map);
                None
            }
            Self::Large(map) => map.insert(key, value),
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            Self::Small(items) => {
                let index = items.iter().position(|(k, _)| k == key)?;
                Some(items.swap_remove(index).1)
            }
            Self::Large(map) => map.remove(key),
        }
    }

    #[cfg(test)]
    pub(crate) fn contains_key(&self, key: &K) -> bool {
        match self {
            Self::Small(items) => items.iter().any(|(k, _)| k == key),
            Self::Large(map) => map.contains_key(key),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Small(items) => items.len(),
            Self::Large(map) => map.len(),
        }
    }

    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        match self {
            Self::Small(items) => Iter::Small(items.iter()),
            Self::Large(map) => Iter::Large(map.iter()),
        }
    }

    /// Empties the map, handing back what it held.
    pub(crate) fn take(&mut self) -> Vec<(K, V)> {
        match std::mem::take(self) {
            Self::Small(items) => items,
            Self::Large(map) => map.into_iter().collect(),
        }
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
        assert_eq!(map.take().len(), 99);
        assert_eq!(map.len(), 0);
    }
}
