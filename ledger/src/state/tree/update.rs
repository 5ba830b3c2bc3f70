//! Batch updates: one pass from the root down over the sorted changes of a block.
//!
//! The changes are sorted by key hash, which is the tree's left-to-right order, so the changes
//! under any node are one contiguous run and split at a node by one binary search. Each node on
//! the path of at least one change is read once and rehashed once, however many changes pass
//! under it; subtrees without changes are not read at all (their hash is in the parent).
//!
//! A subtree's new content ([`Sub`]) is computed bottom-up before its top node is written, so
//! the parent can still move a lone leaf up (after deletes) instead of writing it at its old
//! place; below a leaf or an empty slot a new subtree is built from scratch ([`Updater::build`]).

use std::collections::BTreeMap;

use crate::primitives::Hash;

use super::{Node, NodeKey, NodeStore, TreeError, bit, read_child, read_node};

/// What one block's changes do to the tree: the new root and the node writes to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the writes must be committed to the node store"]
pub struct TreeUpdate {
    /// The state root after the changes.
    pub root: Hash,
    /// Nodes to put (`Some`) or delete (`None`), each position at most once; the caller commits
    /// them in the block's atomic write batch.
    pub writes: Vec<(NodeKey, Option<Node>)>,
    /// How many nodes were read from the store (for metrics and benchmarks).
    pub nodes_read: usize,
}

/// Applies `changes` (key hash → new value hash, `None` to delete) to the tree in `store` and
/// returns the new root with the node writes, without writing anything itself.
///
/// Deleting an absent key and setting a key to its current value are no-ops. The result depends
/// only on the stored tree and the final value of each key, never on the order of earlier updates.
pub fn update<S: NodeStore>(
    store: &S,
    changes: &BTreeMap<Hash, Option<Hash>>,
) -> Result<TreeUpdate, TreeError<S::Error>> {
    let changes: Vec<Change> = changes.iter().map(|(k, v)| (*k, *v)).collect();
    let mut updater = Updater::new(store);
    let old = updater.read(&NodeKey::ROOT)?;
    updater.whole(old, &changes)
}

/// [`update`] with the two halves of the tree under the root updated on two threads (the
/// calling one and one scoped thread). The result, writes in the same order included, is
/// [`update`]'s: the halves share no node, and the root is joined and placed after both.
pub fn update_parallel<S: NodeStore + Sync>(
    store: &S,
    changes: &BTreeMap<Hash, Option<Hash>>,
) -> Result<TreeUpdate, TreeError<S::Error>>
where
    S::Error: Send,
{
    let changes: Vec<Change> = changes.iter().map(|(k, v)| (*k, *v)).collect();
    let mut updater = Updater::new(store);
    let old = updater.read(&NodeKey::ROOT)?;
    let (Some(Node::Internal { left, right }), false) = (old, changes.is_empty()) else {
        // No changes, or a root leaf or an empty tree: nothing below the root to split.
        return updater.whole(old, &changes);
    };
    // As in `Updater::update` for an internal node, with the right half on its own thread.
    let split = changes.partition_point(|(k, _)| !bit(k, NodeKey::ROOT.depth()));
    let (left_changes, right_changes) = changes.split_at(split);
    let left_pos = NodeKey::ROOT
        .child(false)
        .expect("the root has children; qed");
    let right_pos = NodeKey::ROOT
        .child(true)
        .expect("the root has children; qed");
    let (left_child, right_updater, right_child) = std::thread::scope(|s| {
        let right_half = s.spawn(move || {
            let mut right_updater = Updater::new(store);
            let child = right_updater.update_child(right_pos, right, right_changes);
            (right_updater, child)
        });
        let left_child = updater.update_child(left_pos, left, left_changes);
        let (right_updater, right_child) = right_half
            .join()
            .expect("updating the state tree does not panic; qed");
        (left_child, right_updater, right_child)
    });
    let (left_child, right_child) = (left_child?, right_child?);
    updater.writes.extend(right_updater.writes);
    updater.nodes_read += right_updater.nodes_read;
    let sub = updater.join(left_pos, left_child, right_pos, right_child)?;
    let root = updater.place(NodeKey::ROOT, old.as_ref(), &sub);
    Ok(TreeUpdate {
        root,
        writes: updater.writes,
        nodes_read: updater.nodes_read,
    })
}

/// A key hash and its new value hash (`None`: delete).
type Change = (Hash, Option<Hash>);

/// The new content of a subtree, before its top node is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sub {
    /// No keys left.
    Empty,
    /// Exactly one key: a leaf, which the parent places here or moves up.
    Leaf { key: Hash, value: Hash },
    /// Two or more keys: an internal node over the (already written) children.
    Internal { left: Hash, right: Hash },
}

impl Sub {
    fn node(&self) -> Option<Node> {
        match *self {
            Sub::Empty => None,
            Sub::Leaf { key, value } => Some(Node::Leaf { key, value }),
            Sub::Internal { left, right } => Some(Node::Internal { left, right }),
        }
    }
}

/// A child of an internal node on the way back up.
#[derive(Clone, Copy)]
enum Child {
    /// No change under it: its hash, from the parent, [`Hash::ZERO`] if empty.
    Unchanged(Hash),
    /// Changed: what was stored at its position and what is there now.
    Changed { old: Option<Node>, sub: Sub },
}

impl Child {
    fn is_empty(&self) -> bool {
        matches!(
            self,
            Child::Unchanged(Hash::ZERO)
                | Child::Changed {
                    sub: Sub::Empty,
                    ..
                }
        )
    }
}

struct Updater<'a, S> {
    store: &'a S,
    writes: Vec<(NodeKey, Option<Node>)>,
    nodes_read: usize,
}

impl<'a, S: NodeStore> Updater<'a, S> {
    /// An updater that has read and written nothing yet.
    fn new(store: &'a S) -> Self {
        Updater {
            store,
            writes: Vec::new(),
            nodes_read: 0,
        }
    }

    /// Applies `changes` below the root `old` (already read) on this thread and finishes.
    fn whole(
        mut self,
        old: Option<Node>,
        changes: &[Change],
    ) -> Result<TreeUpdate, TreeError<S::Error>> {
        let root = if changes.is_empty() {
            old.map_or(Hash::ZERO, |n| n.hash())
        } else {
            let sub = self.update(NodeKey::ROOT, old, changes)?;
            self.place(NodeKey::ROOT, old.as_ref(), &sub)
        };
        Ok(TreeUpdate {
            root,
            writes: self.writes,
            nodes_read: self.nodes_read,
        })
    }

    fn read(&mut self, key: &NodeKey) -> Result<Option<Node>, TreeError<S::Error>> {
        self.nodes_read += 1;
        read_node(self.store, key)
    }

    fn read_child(&mut self, key: &NodeKey) -> Result<Node, TreeError<S::Error>> {
        self.nodes_read += 1;
        read_child(self.store, key)
    }

    /// Writes `sub`'s top node at `pos`, where `old` was stored (skipped if unchanged), and
    /// returns its hash.
    fn place(&mut self, pos: NodeKey, old: Option<&Node>, sub: &Sub) -> Hash {
        let new = sub.node();
        if new.as_ref() != old {
            self.writes.push((pos, new));
        }
        new.map_or(Hash::ZERO, |n| n.hash())
    }

    /// Deletes the node at `pos` if one was stored there.
    fn clear(&mut self, pos: NodeKey, existed: bool) {
        if existed {
            self.writes.push((pos, None));
        }
    }

    /// The new subtree at `pos`, which held `current`, after `changes` (all under `pos`, sorted).
    /// Every node strictly below `pos` is written; `pos` itself is left to the caller.
    fn update(
        &mut self,
        pos: NodeKey,
        current: Option<Node>,
        changes: &[Change],
    ) -> Result<Sub, TreeError<S::Error>> {
        match current {
            None => {
                let pairs: Vec<(Hash, Hash)> = changes
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| (*k, v)))
                    .collect();
                Ok(self.build(pos, &pairs))
            }
            Some(Node::Leaf { key, value }) => {
                // Merge the one existing entry into the sorted changes; nothing is stored below.
                let mut pairs = Vec::with_capacity(changes.len() + 1);
                let mut existing = Some((key, value));
                for (k, v) in changes {
                    if let Some((ek, ev)) = existing {
                        if ek < *k {
                            pairs.push((ek, ev));
                            existing = None;
                        } else if ek == *k {
                            existing = None;
                        }
                    }
                    if let Some(v) = v {
                        pairs.push((*k, *v));
                    }
                }
                pairs.extend(existing);
                Ok(self.build(pos, &pairs))
            }
            Some(Node::Internal { left, right }) => {
                let split = changes.partition_point(|(k, _)| !bit(k, pos.depth()));
                let (left_changes, right_changes) = changes.split_at(split);
                let left_pos = pos
                    .child(false)
                    .expect("read_node rejects internal nodes at depth 256; qed");
                let right_pos = pos
                    .child(true)
                    .expect("read_node rejects internal nodes at depth 256; qed");
                let left = self.update_child(left_pos, left, left_changes)?;
                let right = self.update_child(right_pos, right, right_changes)?;
                self.join(left_pos, left, right_pos, right)
            }
        }
    }

    fn update_child(
        &mut self,
        pos: NodeKey,
        hash: Hash,
        changes: &[Change],
    ) -> Result<Child, TreeError<S::Error>> {
        if changes.is_empty() {
            return Ok(Child::Unchanged(hash));
        }
        let old = if hash == Hash::ZERO {
            None
        } else {
            Some(self.read_child(&pos)?)
        };
        let sub = self.update(pos, old, changes)?;
        Ok(Child::Changed { old, sub })
    }

    /// Combines the two updated children of an internal node: writes them under a new internal
    /// node, or, if at most one key is left under it, moves that leaf up and deletes what was below.
    fn join(
        &mut self,
        left_pos: NodeKey,
        left: Child,
        right_pos: NodeKey,
        right: Child,
    ) -> Result<Sub, TreeError<S::Error>> {
        let (empty_pos, empty, other_pos, other) = if left.is_empty() {
            (left_pos, left, right_pos, right)
        } else if right.is_empty() {
            (right_pos, right, left_pos, left)
        } else {
            return Ok(Sub::Internal {
                left: self.settle(left_pos, left),
                right: self.settle(right_pos, right),
            });
        };
        // (what is left under this node, whether `other_pos` holds a node to delete), if it is
        // at most one leaf.
        let lone = match other {
            Child::Unchanged(Hash::ZERO) => Some((Sub::Empty, false)),
            Child::Changed { old, sub } => match sub {
                Sub::Empty | Sub::Leaf { .. } => Some((sub, old.is_some())),
                Sub::Internal { .. } => None,
            },
            // Only a delete on the other side makes us look at an unchanged sibling.
            Child::Unchanged(_) => match self.read_child(&other_pos)? {
                Node::Leaf { key, value } => Some((Sub::Leaf { key, value }, true)),
                Node::Internal { .. } => None,
            },
        };
        match lone {
            Some((sub, other_existed)) => {
                if let Child::Changed { old, .. } = empty {
                    self.clear(empty_pos, old.is_some());
                }
                self.clear(other_pos, other_existed);
                Ok(sub)
            }
            None => Ok(Sub::Internal {
                left: self.settle(left_pos, left),
                right: self.settle(right_pos, right),
            }),
        }
    }

    /// Writes a child that stays at its position and returns its hash.
    fn settle(&mut self, pos: NodeKey, child: Child) -> Hash {
        match child {
            Child::Unchanged(hash) => hash,
            Child::Changed { old, sub } => self.place(pos, old.as_ref(), &sub),
        }
    }

    /// Builds the subtree for `pairs` (sorted, distinct keys, all under `pos`) at a position
    /// with nothing stored below it, writing every node strictly below `pos`.
    fn build(&mut self, pos: NodeKey, pairs: &[(Hash, Hash)]) -> Sub {
        match pairs {
            [] => Sub::Empty,
            [(key, value)] => Sub::Leaf {
                key: *key,
                value: *value,
            },
            _ => {
                let split = pairs.partition_point(|(k, _)| !bit(k, pos.depth()));
                let (left_pairs, right_pairs) = pairs.split_at(split);
                // Two distinct keys under `pos` differ at a bit at or below it, so depth < 256.
                let left_pos = pos
                    .child(false)
                    .expect("two distinct keys share at most 255 bits; qed");
                let right_pos = pos
                    .child(true)
                    .expect("two distinct keys share at most 255 bits; qed");
                let left = self.build(left_pos, left_pairs);
                let right = self.build(right_pos, right_pairs);
                Sub::Internal {
                    left: self.place(left_pos, None, &left),
                    right: self.place(right_pos, None, &right),
                }
            }
        }
    }
}
