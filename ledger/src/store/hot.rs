//! [`HotState`]: the state entries and tree nodes that recent blocks read or wrote, kept in
//! memory in front of the backend.
//!
//! Every block reads the accounts it touches and the tree nodes on their paths, and most of them
//! were read or written by the blocks just before (the tree's upper nodes by every block). Import
//! profiles showed these point reads as a third of the importing thread's work on RocksDB.
//!
//! Coherence: the cache is written through by [`super::ChainStore::write`] once the backend has
//! applied the batch, so anyone who sees the batch's effects (a new head) reads its values. A read
//! that misses fills the cache only if no batch was applied while it read the backend: such a read
//! may have seen the value from before the batch, and caching it would hide the batch's write.
//! Only [`Table::State`] and [`Table::StateNodes`] are cached.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::{BatchOp, Table};

/// Entries kept by default. An account or tree node entry is roughly 200 bytes (its key and value
/// on the heap plus two `Vec` headers in the map), so this is at most about 25 MiB.
pub(crate) const DEFAULT_ENTRIES: usize = 131_072;

/// A bounded map of (table, key) → value (`None`: known absent), in two generations per table:
/// entries go into the young one; when it is full it becomes the old one and the previous old
/// one is dropped; a hit in the old generation moves the entry back into the young one. What was
/// not used for a whole generation is forgotten, and at most `capacity` entries are held.
#[derive(Debug)]
pub(crate) struct HotState {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// [`Table::State`], then [`Table::StateNodes`].
    tables: [Generations; 2],
    /// Batches applied so far; a miss caches what it read only if this did not move meanwhile.
    batches: u64,
}

#[derive(Debug)]
struct Generations {
    young: HashMap<Vec<u8>, Option<Vec<u8>>>,
    old: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// Entries per generation.
    half: usize,
}

/// What [`HotState::get`] found.
pub(crate) enum Lookup {
    /// The cached value (`None`: the key is absent).
    Hit(Option<Vec<u8>>),
    /// Not cached: read the backend, then [`HotState::fill`] with this ticket.
    Miss(u64),
}

impl HotState {
    /// An empty cache holding at most `capacity` entries (at least 4).
    pub(crate) fn new(capacity: usize) -> Self {
        let half = (capacity / 4).max(1);
        let generations = || Generations {
            young: HashMap::new(),
            old: HashMap::new(),
            half,
        };
        HotState {
            inner: Mutex::new(Inner {
                tables: [generations(), generations()],
                batches: 0,
            }),
        }
    }

    /// Whether `table` goes through the cache.
    pub(crate) fn caches(table: Table) -> bool {
        Self::slot(table).is_some()
    }

    fn slot(table: Table) -> Option<usize> {
        match table {
            Table::State => Some(0),
            Table::StateNodes => Some(1),
            _ => None,
        }
    }

    /// Looks `key` up.
    pub(crate) fn get(&self, table: Table, key: &[u8]) -> Lookup {
        let mut inner = self.inner.lock();
        let Some(slot) = Self::slot(table) else {
            return Lookup::Miss(inner.batches);
        };
        let g = &mut inner.tables[slot];
        if let Some(v) = g.young.get(key) {
            return Lookup::Hit(v.clone());
        }
        if let Some((k, v)) = g.old.remove_entry(key) {
            g.insert(k, v.clone());
            return Lookup::Hit(v);
        }
        Lookup::Miss(inner.batches)
    }

    /// Caches what a read of the backend returned after [`Lookup::Miss`]`(ticket)`, unless a
    /// batch was applied since.
    pub(crate) fn fill(&self, ticket: u64, table: Table, key: &[u8], value: Option<Vec<u8>>) {
        let mut inner = self.inner.lock();
        if let (true, Some(slot)) = (inner.batches == ticket, Self::slot(table)) {
            inner.tables[slot].insert(key.to_vec(), value);
        }
    }

    /// Takes in a batch the backend has applied.
    pub(crate) fn applied(&self, ops: Vec<BatchOp>) {
        let mut inner = self.inner.lock();
        inner.batches += 1;
        for op in ops {
            let (table, key, value) = match op {
                BatchOp::Put(t, k, v) => (t, k, Some(v)),
                BatchOp::Delete(t, k) => (t, k, None),
            };
            if let Some(slot) = Self::slot(table) {
                inner.tables[slot].insert(key, value);
            }
        }
    }

    /// Forgets everything (after a failed write, whose effect on the backend is unknown).
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.batches += 1;
        for g in &mut inner.tables {
            g.young.clear();
            g.old.clear();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let inner = self.inner.lock();
        inner
            .tables
            .iter()
            .map(|g| g.young.len() + g.old.len())
            .sum()
    }
}

impl Generations {
    fn insert(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        if self.young.len() >= self.half && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.old.remove(&key);
        self.young.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Vec<u8> {
        i.to_be_bytes().to_vec()
    }

    #[test]
    fn holds_at_most_its_capacity_and_keeps_what_is_used() {
        let hot = HotState::new(100);
        for i in 0..1_000 {
            if let Lookup::Miss(t) = hot.get(Table::State, &key(i)) {
                hot.fill(t, Table::State, &key(i), Some(key(i)));
            }
            // Key 0 is read after every insert, so it is never forgotten.
            assert!(matches!(hot.get(Table::State, &key(0)), Lookup::Hit(Some(v)) if v == key(0)));
            assert!(hot.len() <= 100);
        }
        assert!(matches!(hot.get(Table::State, &key(1)), Lookup::Miss(_)));
    }

    #[test]
    fn a_read_that_raced_a_batch_is_not_cached() {
        let hot = HotState::new(100);
        let Lookup::Miss(ticket) = hot.get(Table::State, b"k") else {
            panic!("empty cache")
        };
        // The backend returned the old value, but a batch writing the key was applied meanwhile.
        hot.applied(vec![BatchOp::Put(
            Table::State,
            b"k".to_vec(),
            b"new".to_vec(),
        )]);
        hot.fill(ticket, Table::State, b"k", Some(b"old".to_vec()));
        assert!(matches!(hot.get(Table::State, b"k"), Lookup::Hit(Some(v)) if v == b"new"));
        // Deletes are cached as absent; other tables are not cached.
        hot.applied(vec![
            BatchOp::Delete(Table::State, b"k".to_vec()),
            BatchOp::Put(Table::Headers, b"h".to_vec(), b"x".to_vec()),
        ]);
        assert!(matches!(hot.get(Table::State, b"k"), Lookup::Hit(None)));
        assert!(matches!(hot.get(Table::Headers, b"h"), Lookup::Miss(_)));
        hot.clear();
        assert!(matches!(hot.get(Table::State, b"k"), Lookup::Miss(_)));
    }
}
