//! Merkle roots and inclusion proofs over Keccak-256, built with rs_merkle.
//!
//! Leaves are `Keccak(0x00 ‖ item bytes)` and inner nodes `Keccak(0x01 ‖ left ‖ right)`, so a leaf
//! can never be passed off as an inner node. An odd node at the end of a level is promoted
//! unchanged (rs_merkle's rule). The root of zero items is [`Hash::ZERO`].
//! A [`MerkleProof`] checks against a root with nothing else: that is how a light client or the
//! explorer verifies a transaction or receipt from a header alone.

use bincode::{Decode, Encode};
use rs_merkle::{Hasher, MerkleTree};

use crate::primitives::Hash;

#[derive(Clone, Debug)]
struct Keccak;

impl Hasher for Keccak {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        Hash::keccak_concat(&[&[0x01], data]).0
    }
}

/// The leaf hash of one item's canonical bytes.
pub fn leaf_hash(item: &[u8]) -> Hash {
    Hash::keccak_concat(&[&[0x00], item])
}

/// The root over the given leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::ZERO;
    }
    let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
    let tree = MerkleTree::<Keccak>::from_leaves(&raw);
    Hash(
        tree.root()
            .expect("a tree over at least one leaf has a root; qed"),
    )
}

/// Proof that one leaf is at `index` of a tree of `leaf_count` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerkleProof {
    /// Position of the leaf.
    pub index: u32,
    /// Number of leaves in the tree.
    pub leaf_count: u32,
    /// Sibling hashes from the bottom up, in rs_merkle's order.
    pub siblings: Vec<Hash>,
}

/// Builds the proof for leaf `index`; `None` if out of range.
pub fn prove(leaves: &[Hash], index: usize) -> Option<MerkleProof> {
    if index >= leaves.len() {
        return None;
    }
    let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
    let tree = MerkleTree::<Keccak>::from_leaves(&raw);
    let proof = tree.proof(&[index]);
    Some(MerkleProof {
        index: index as u32,
        leaf_count: leaves.len() as u32,
        siblings: proof.proof_hashes().iter().map(|h| Hash(*h)).collect(),
    })
}

impl MerkleProof {
    /// Whether `leaf` is at this proof's position in the tree with `root`.
    pub fn verify(&self, root: Hash, leaf: Hash) -> bool {
        if self.index >= self.leaf_count || self.siblings.len() > 64 {
            return false;
        }
        let hashes: Vec<[u8; 32]> = self.siblings.iter().map(|h| h.0).collect();
        let proof = rs_merkle::MerkleProof::<Keccak>::new(hashes);
        proof.verify(
            root.0,
            &[self.index as usize],
            &[leaf.0],
            self.leaf_count as usize,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_and_single() {
        assert_eq!(root(&[]), Hash::ZERO);
        let l = leaf_hash(b"a");
        assert_eq!(root(&[l]), l);
        let p = prove(&[l], 0).unwrap();
        assert!(p.verify(l, l));
        assert!(prove(&[l], 1).is_none());
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_others_do_not(n in 1usize..40, pick in 0usize..40) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect();
            let r = root(&leaves);
            let i = pick % n;
            let proof = prove(&leaves, i).unwrap();
            prop_assert!(proof.verify(r, leaves[i]));
            prop_assert!(!proof.verify(r, leaf_hash(b"other")));
            if n > 1 {
                let mut moved = proof.clone();
                moved.index = ((i + 1) % n) as u32;
                prop_assert!(!moved.verify(r, leaves[i]));
            }
        }
    }
}
