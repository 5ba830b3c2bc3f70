//! Committing a block's state changes: raw key/value changes → state tree update → batch writes.
//!
//! The tree is keyed by `Keccak(key bytes)` with leaf values `Keccak(value bytes)`; the raw values
//! live in [`Table::State`] and the tree's nodes in [`Table::StateNodes`].

use std::collections::BTreeMap;

use crate::codec;
use crate::parallel;
use crate::primitives::Hash;
use crate::store::{ChainStore, StoreError, Table, WriteBatch};

use super::tree::{self, Node, NodeKey, NodeStore, TreeError};

/// The state tree's answer for one block: its new root and the node writes that produce it.
#[derive(Debug, Clone)]
pub struct StateCommit {
    /// State root after the block.
    pub root: Hash,
    writes: Vec<(NodeKey, Option<Node>)>,
}

impl NodeStore for ChainStore {
    type Error = StoreError;
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StoreError> {
        self.get_decoded(Table::StateNodes, &key.to_bytes())
    }
}

fn flatten(e: TreeError<StoreError>) -> StoreError {
    match e {
        TreeError::Store(e) => e,
        other => StoreError::Backend(format!("state tree: {other}")),
    }
}

/// Computes the tree update for `changes` (raw state key → new raw value, `None` = deleted)
/// against the committed tree in `store`. Nothing is written.
pub fn commit_changes(
    store: &ChainStore,
    changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<StateCommit, StoreError> {
    commit_changes_on(store, changes, 1)
}

/// [`commit_changes`] on up to `threads` threads: with two or more, the two halves of the tree
/// under the root are updated side by side. The result is the same on any number of threads.
/// (The keys and values are hashed on the calling thread: block import hashes the receipts
/// beside that, and a third busy thread on two cores only delays the tree's second half.)
pub fn commit_changes_on(
    store: &ChainStore,
    changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    threads: usize,
) -> Result<StateCommit, StoreError> {
    let hashed: BTreeMap<Hash, Option<Hash>> = changes
        .iter()
        .map(|(k, v)| (Hash::keccak(k), v.as_deref().map(Hash::keccak)))
        .collect();
    let update = if threads > 1 && hashed.len() >= parallel::MIN_PARALLEL {
        tree::update_parallel(store, &hashed)
    } else {
        tree::update(store, &hashed)
    }
    .map_err(flatten)?;
    Ok(StateCommit {
        root: update.root,
        writes: update.writes,
    })
}

/// Adds the raw state writes and the tree node writes to `batch`.
pub fn write_changes(
    batch: &mut WriteBatch,
    changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    commit: &StateCommit,
) {
    for (key, value) in changes {
        match value {
            Some(v) => batch.put_raw(Table::State, key.clone(), v.clone()),
            None => batch.delete_raw(Table::State, key.clone()),
        }
    }
    for (key, node) in &commit.writes {
        match node {
            Some(n) => batch.put_raw(Table::StateNodes, key.to_bytes().to_vec(), codec::encode(n)),
            None => batch.delete_raw(Table::StateNodes, key.to_bytes().to_vec()),
        }
    }
}

/// The root of the tree as stored.
pub fn stored_root(store: &ChainStore) -> Result<Hash, StoreError> {
    tree::root(store).map_err(flatten)
}
