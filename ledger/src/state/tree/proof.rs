//! Inclusion and exclusion proofs against a state root.
//!
//! A proof is the path from the root towards a key: the sibling hash at every depth, and what
//! the path ends in: the key's own leaf (inclusion), an empty subtree, or another key's leaf
//! sitting where the key would be (both exclusion). The verifier hashes back up along the key's
//! bits and compares with the root. Because the tree's shape is a function of its key set and the
//! hashes are domain-separated, a proof that reproduces the root shows the tree really has that
//! leaf or that empty slot on the key's path.

use bincode::{Decode, Encode};

use crate::primitives::Hash;

use super::{
    KEY_BITS, Node, NodeKey, NodeStore, TreeError, bit, common_prefix_bits, internal_hash,
    leaf_hash, read_child, read_node,
};

/// The leaf a proof's path ends in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct ProofLeaf {
    /// Its key hash.
    pub key: Hash,
    /// Its value hash.
    pub value: Hash,
}

/// Proof that a key has a given value hash in the state, or has none.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct StateProof {
    /// Sibling hashes from the root down: entry `d` is the other child of the depth-`d` node on
    /// the key's path ([`Hash::ZERO`] for an empty one). At most 256.
    pub siblings: Vec<Hash>,
    /// The leaf the path ends in, `None` if it ends in an empty subtree.
    pub leaf: Option<ProofLeaf>,
}

impl StateProof {
    /// The value hash this proof claims for `key`: `Some` for an inclusion proof of `key`.
    pub fn value(&self, key: &Hash) -> Option<Hash> {
        self.leaf.filter(|l| l.key == *key).map(|l| l.value)
    }

    /// Whether this proof shows that, in the state with root `root`, `key` has value hash
    /// `value` (`None`: `key` is absent). Needs nothing but the root.
    pub fn verify(&self, root: &Hash, key: &Hash, value: Option<Hash>) -> bool {
        let Ok(depth) = u16::try_from(self.siblings.len()) else {
            return false;
        };
        if depth > KEY_BITS {
            return false;
        }
        let mut hash = match (value, self.leaf) {
            (Some(value), Some(leaf)) if leaf.key == *key && leaf.value == value => {
                leaf_hash(key, &value)
            }
            (None, None) => Hash::ZERO,
            // Another key's leaf where `key` would be: it must share the path so far.
            (None, Some(leaf))
                if leaf.key != *key && common_prefix_bits(&leaf.key, key) >= depth =>
            {
                leaf_hash(&leaf.key, &leaf.value)
            }
            _ => return false,
        };
        for (d, sibling) in (0..depth).zip(&self.siblings).rev() {
            hash = if bit(key, d) {
                internal_hash(sibling, &hash)
            } else {
                internal_hash(&hash, sibling)
            };
        }
        hash == *root
    }
}

/// The proof for `key` in the tree in `store`: inclusion if present, exclusion if not.
pub fn prove<S: NodeStore>(store: &S, key: &Hash) -> Result<StateProof, TreeError<S::Error>> {
    let mut siblings = Vec::new();
    let mut pos = NodeKey::ROOT;
    let mut node = read_node(store, &pos)?;
    loop {
        match node {
            None => {
                return Ok(StateProof {
                    siblings,
                    leaf: None,
                });
            }
            Some(Node::Leaf { key, value }) => {
                return Ok(StateProof {
                    siblings,
                    leaf: Some(ProofLeaf { key, value }),
                });
            }
            Some(Node::Internal { left, right }) => {
                let right_side = bit(key, pos.depth());
                let (next, sibling) = if right_side {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(sibling);
                pos = pos
                    .child(right_side)
                    .expect("read_node rejects internal nodes at depth 256; qed");
                node = if next == Hash::ZERO {
                    None
                } else {
                    Some(read_child(store, &pos)?)
                };
            }
        }
    }
}
