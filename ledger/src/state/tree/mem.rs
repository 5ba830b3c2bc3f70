//! An in-memory [`NodeStore`] for tests, benchmarks and tools.

use std::collections::HashMap;
use std::convert::Infallible;

use super::{Node, NodeKey, NodeStore, TreeUpdate};

/// Nodes in a hash map; [`apply`](MemNodeStore::apply) commits a [`TreeUpdate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemNodeStore {
    nodes: HashMap<NodeKey, Node>,
}

impl MemNodeStore {
    /// An empty store: the empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Commits the writes of `update`.
    pub fn apply(&mut self, update: &TreeUpdate) {
        for (key, node) in &update.writes {
            match node {
                Some(node) => self.nodes.insert(*key, *node),
                None => self.nodes.remove(key),
            };
        }
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is stored (the state is empty).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every stored node, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&NodeKey, &Node)> {
        self.nodes.iter()
    }

    /// Stores `node` at `key` directly, bypassing [`update()`](super::update()): for tests that need
    /// a corrupt store.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn insert_raw(&mut self, key: NodeKey, node: Option<Node>) {
        match node {
            Some(node) => self.nodes.insert(key, node),
            None => self.nodes.remove(&key),
        };
    }
}

impl NodeStore for MemNodeStore {
    type Error = Infallible;

    fn node(&self, key: &NodeKey) -> Result<Option<Node>, Infallible> {
        Ok(self.nodes.get(key).copied())
    }
}
