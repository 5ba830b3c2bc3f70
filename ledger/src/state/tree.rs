//! The authenticated state tree: a binary sparse Merkle tree over 256-bit keys, compressed so
//! that its depth follows the number of keys, not the key width.
//!
//! # Shape
//! Every state entry is a leaf `(key hash, value hash)`: the key hash is Keccak-256 of the
//! canonical [`StateKey`] bytes ([`key_hash`]), the value hash Keccak-256 of the
//! canonical value bytes ([`value_hash`]). Key hashes are read as 256-bit paths, most significant
//! bit first, 0 = left. The tree is the one binary trie over the set of key hashes in which
//! - a leaf sits at the **shallowest depth where its prefix is unique** among the keys (a tree of
//!   one key is a leaf at the root), so with uniformly spread hashes the depth is ≈ log2(keys)
//!   (about 20 for a million keys) instead of 256;
//! - an internal node sits at every prefix shared by two or more keys; a side without keys is
//!   the empty subtree.
//!
//! This shape depends only on the set of keys, so the root depends only on the set of
//! `(key, value)` pairs and never on the order of inserts and deletes: a delete collapses a leaf
//! left alone under its parent back up to the shallowest unique depth.
//!
//! # Hashes
//! Domain-separated Keccak-256, in the style of Diem/Aptos' Jellyfish Merkle tree:
//! - leaf: `Keccak(0x00 ‖ key hash ‖ value hash)`,
//! - internal: `Keccak(0x01 ‖ left ‖ right)`,
//! - empty subtree: [`Hash::ZERO`]. The root of the empty state is [`Hash::ZERO`].
//!
//! A leaf hash binds its full key, so a leaf cannot be claimed at another key's position, and the
//! prefix byte keeps a leaf from passing for an internal node.
//!
//! # Storage
//! Nodes are stored by **position** ([`NodeKey`]: depth and path prefix), overwritten in place.
//! The chain has BFT finality, so a committed block is never reverted and no old version of the
//! tree is ever read again: there is no versioning, no history, and no garbage to collect. An
//! [`update()`] reads only the nodes on the paths of the keys it changes and returns every node write
//! and delete as a [`TreeUpdate`], which the caller puts in the block's atomic write batch. The
//! tree is storage-agnostic: it reads through [`NodeStore`]; [`MemNodeStore`] is the in-memory one.
//!
//! # Cost
//! A block touching `k` keys reads and rewrites at most `k × depth` nodes, and fewer because keys
//! share their upper nodes (the root is read and hashed once per block). With `n` keys in the
//! state, depth ≈ log2(n): the cost grows with the state touched, and only logarithmically with the
//! state held. A key hash sharing a long prefix with another costs one internal node per shared
//! bit, but key hashes are Keccak outputs, so an attacker pays 2^b hashes to force `b` shared bits.
//!
//! # Proofs
//! [`prove`] returns a [`StateProof`] of inclusion or exclusion; [`StateProof::verify`] checks it
//! against a state root with nothing else.

use bincode::{Decode, Encode};

use crate::codec;
use crate::primitives::Hash;

use super::StateKey;

mod mem;
mod proof;
#[cfg(test)]
mod tests;
mod update;

pub use mem::MemNodeStore;
pub use proof::{ProofLeaf, StateProof, prove};
pub use update::{TreeUpdate, update, update_parallel};

/// Number of bits in a key hash: the deepest a leaf can sit.
pub const KEY_BITS: u16 = 256;

const LEAF_PREFIX: u8 = 0x00;
const INTERNAL_PREFIX: u8 = 0x01;

/// The leaf key of a state key: Keccak-256 of its canonical bytes.
pub fn key_hash(key: &StateKey) -> Hash {
    Hash::keccak(&codec::encode(key))
}

/// The leaf value of a state value: Keccak-256 of its canonical bytes.
pub fn value_hash(canonical_value: &[u8]) -> Hash {
    Hash::keccak(canonical_value)
}

/// Hash of a leaf holding `value` under `key`.
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    Hash::keccak_concat(&[&[LEAF_PREFIX], key.as_bytes(), value.as_bytes()])
}

/// Hash of an internal node with the given child hashes ([`Hash::ZERO`] for an empty side).
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::keccak_concat(&[&[INTERNAL_PREFIX], left.as_bytes(), right.as_bytes()])
}

/// Bit `index` of `key`, most significant first: `false` is left, `true` is right.
pub fn bit(key: &Hash, index: u16) -> bool {
    debug_assert!(index < KEY_BITS);
    let byte = key.0[usize::from(index / 8)];
    (byte >> (7 - index % 8)) & 1 == 1
}

/// Number of leading bits `a` and `b` have in common (256 if equal).
pub fn common_prefix_bits(a: &Hash, b: &Hash) -> u16 {
    for (i, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            let i = u16::try_from(i).expect("a hash has 32 bytes; qed");
            return i * 8 + u16::try_from(diff.leading_zeros()).expect("at most 8; qed");
        }
    }
    KEY_BITS
}

/// The first `depth` bits of `key`, the rest zeroed.
fn mask_prefix(key: &Hash, depth: u16) -> Hash {
    let mut out = [0u8; 32];
    let full = usize::from(depth / 8);
    out[..full].copy_from_slice(&key.0[..full]);
    let rem = depth % 8;
    if rem != 0 {
        out[full] = key.0[full] & (0xffu8 << (8 - rem));
    }
    Hash(out)
}

/// Position of a node: its depth and the path bits leading to it.
///
/// Canonical bytes ([`NodeKey::to_bytes`], also its [`Encode`] form) are the 32-byte path with
/// every bit past `depth` zero, then the depth as a big-endian `u16`: 34 bytes. Sorted as bytes,
/// keys list the tree in pre-order, so a subtree is a contiguous range in a sorted store.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeKey {
    path: Hash,
    depth: u16,
}

impl NodeKey {
    /// Length of the canonical encoding.
    pub const ENCODED_LEN: usize = 34;

    /// The root position.
    pub const ROOT: NodeKey = NodeKey {
        path: Hash::ZERO,
        depth: 0,
    };

    /// The position at `depth` on the path of `key`. `None` if `depth` exceeds 256.
    pub fn new(key: &Hash, depth: u16) -> Option<NodeKey> {
        (depth <= KEY_BITS).then(|| NodeKey {
            path: mask_prefix(key, depth),
            depth,
        })
    }

    /// Depth of the position: 0 at the root.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The path bits, zero past [`depth`](Self::depth).
    pub fn path(&self) -> &Hash {
        &self.path
    }

    /// Whether `key` lies under this position (its first `depth` bits are the path).
    pub fn contains(&self, key: &Hash) -> bool {
        mask_prefix(key, self.depth) == self.path
    }

    /// The child position on side `right`. `None` at depth 256, which has no children.
    pub fn child(&self, right: bool) -> Option<NodeKey> {
        if self.depth >= KEY_BITS {
            return None;
        }
        let mut path = self.path;
        if right {
            path.0[usize::from(self.depth / 8)] |= 0x80 >> (self.depth % 8);
        }
        Some(NodeKey {
            path,
            depth: self.depth + 1,
        })
    }

    /// The canonical 34-byte encoding.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..32].copy_from_slice(self.path.as_bytes());
        out[32..].copy_from_slice(&self.depth.to_be_bytes());
        out
    }

    /// Parses the canonical encoding; `None` if the length is wrong, the depth exceeds 256, or a
    /// path bit past the depth is set.
    pub fn from_bytes(bytes: &[u8]) -> Option<NodeKey> {
        let bytes: &[u8; Self::ENCODED_LEN] = bytes.try_into().ok()?;
        let path = Hash::from_slice(&bytes[..32])?;
        let depth = u16::from_be_bytes([bytes[32], bytes[33]]);
        let key = NodeKey::new(&path, depth)?;
        (key.path == path).then_some(key)
    }
}

impl std::fmt::Display for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "depth {} path 0x", self.depth)?;
        for b in &self.path.0[..usize::from(self.depth.div_ceil(8))] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey({self})")
    }
}

impl Encode for NodeKey {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.to_bytes().encode(encoder)
    }
}

impl<Context> Decode<Context> for NodeKey {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let bytes = <[u8; Self::ENCODED_LEN]>::decode(decoder)?;
        NodeKey::from_bytes(&bytes).ok_or(bincode::error::DecodeError::Other(
            "node key with depth over 256 or path bits past its depth",
        ))
    }
}
bincode::impl_borrow_decode!(NodeKey);

/// A stored node. Its hash is computed from its content ([`Node::hash`]), never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Node {
    /// A node with two subtrees; at least one is non-empty, and a lone leaf child is never kept
    /// under an otherwise empty internal node (it moves up).
    Internal {
        /// Hash of the left (0) subtree, [`Hash::ZERO`] if empty.
        left: Hash,
        /// Hash of the right (1) subtree, [`Hash::ZERO`] if empty.
        right: Hash,
    },
    /// One state entry.
    Leaf {
        /// Key hash.
        key: Hash,
        /// Value hash.
        value: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Internal { left, right } => internal_hash(left, right),
            Node::Leaf { key, value } => leaf_hash(key, value),
        }
    }
}

/// Read access to stored nodes. Writes go through the caller's batch, from a [`TreeUpdate`].
pub trait NodeStore {
    /// The store's own failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The node at `key`, if any.
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, Self::Error>;
}

impl<S: NodeStore + ?Sized> NodeStore for &S {
    type Error = S::Error;
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, Self::Error> {
        (**self).node(key)
    }
}

/// Why the tree could not be read or updated.
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E> {
    /// The node store failed.
    #[error("state node store: {0}")]
    Store(#[source] E),
    /// A parent names a non-empty child that is not stored.
    #[error("state node at {0} is missing; its parent names a non-empty subtree there")]
    MissingNode(NodeKey),
    /// A stored node contradicts the tree's shape: the store is corrupt.
    #[error("state node at {key} is corrupt: {reason}")]
    Corrupt {
        /// Position of the node.
        key: NodeKey,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Reads the node at `key`, checking it fits its position. Node content is not rehashed against
/// the hash its parent holds (that would double the hashing per block): the store is the node's
/// own database, and a proof built from a bad node fails verification anyway.
fn read_node<S: NodeStore>(store: &S, key: &NodeKey) -> Result<Option<Node>, TreeError<S::Error>> {
    let node = store.node(key).map_err(TreeError::Store)?;
    match &node {
        Some(Node::Leaf { key: leaf_key, .. }) if !key.contains(leaf_key) => {
            Err(TreeError::Corrupt {
                key: *key,
                reason: "leaf key does not lie under the leaf's position",
            })
        }
        Some(Node::Internal { left, right }) if *left == Hash::ZERO && *right == Hash::ZERO => {
            Err(TreeError::Corrupt {
                key: *key,
                reason: "internal node with two empty subtrees",
            })
        }
        Some(Node::Internal { .. }) if key.depth() >= KEY_BITS => Err(TreeError::Corrupt {
            key: *key,
            reason: "internal node at depth 256",
        }),
        _ => Ok(node),
    }
}

/// Reads the non-empty child of a stored internal node: a missing node is corruption.
fn read_child<S: NodeStore>(store: &S, key: &NodeKey) -> Result<Node, TreeError<S::Error>> {
    read_node(store, key)?.ok_or(TreeError::MissingNode(*key))
}

/// The current state root: the root node's hash, [`Hash::ZERO`] for the empty state.
pub fn root<S: NodeStore>(store: &S) -> Result<Hash, TreeError<S::Error>> {
    Ok(read_node(store, &NodeKey::ROOT)?.map_or(Hash::ZERO, |n| n.hash()))
}
