//! A small bounded least-recently-used map for the in-memory module cache.

use crate::Hash32;
use std::collections::HashMap;

/// At most `capacity` entries; inserting into a full map evicts the least recently used one.
/// Eviction scans the map, which is fine for the tens of modules a node keeps hot.
#[derive(Debug)]
pub(crate) struct Lru<V> {
    capacity: usize,
    clock: u64,
    entries: HashMap<Hash32, (V, u64)>,
}

impl<V: Clone> Lru<V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            clock: 0,
            entries: HashMap::new(),
        }
    }

    /// The value for `key`, marking it most recently used.
    pub(crate) fn get(&mut self, key: &Hash32) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(value, used)| {
            *used = clock;
            value.clone()
        })
    }

    /// Inserts or replaces `key`, evicting the least recently used entry if full.
    pub(crate) fn insert(&mut self, key: Hash32, value: V) {
        self.clock += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (value, self.clock));
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Hash32 {
        Hash32([n; 32])
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert(key(1), 1);
        lru.insert(key(2), 2);
        assert_eq!(lru.get(&key(1)), Some(1));
        lru.insert(key(3), 3);
        assert_eq!(lru.get(&key(2)), None, "2 was least recently used");
        assert_eq!(lru.get(&key(1)), Some(1));
        assert_eq!(lru.get(&key(3)), Some(3));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn replacing_a_key_does_not_evict() {
        let mut lru = Lru::new(2);
        lru.insert(key(1), 1);
        lru.insert(key(2), 2);
        lru.insert(key(2), 20);
        assert_eq!(lru.get(&key(1)), Some(1));
        assert_eq!(lru.get(&key(2)), Some(20));
    }
}
