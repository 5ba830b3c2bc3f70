//! Tests of the state tree against a naive reference, and of proofs and corrupt stores.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::primitives::Address;
use crate::state::Account;

/// The root of `pairs` computed the slow, obvious way: split on each bit until one key is left.
fn reference_root(pairs: &BTreeMap<Hash, Hash>) -> Hash {
    fn rec(pairs: &[(Hash, Hash)], depth: u16) -> Hash {
        match pairs {
            [] => Hash::ZERO,
            [(k, v)] => leaf_hash(k, v),
            _ => {
                let (right, left): (Vec<_>, Vec<_>) =
                    pairs.iter().partition(|(k, _)| bit(k, depth));
                internal_hash(&rec(&left, depth + 1), &rec(&right, depth + 1))
            }
        }
    }
    let pairs: Vec<_> = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    rec(&pairs, 0)
}

/// Applies `changes` to `store`, checking the update writes each position at most once.
fn commit(store: &mut MemNodeStore, changes: &BTreeMap<Hash, Option<Hash>>) -> TreeUpdate {
    let update = update(&*store, changes).expect("in-memory store cannot fail");
    assert_eq!(
        update_parallel(&*store, changes).expect("in-memory store cannot fail"),
        update,
        "the two-thread update differs"
    );
    let positions: HashSet<_> = update.writes.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        positions.len(),
        update.writes.len(),
        "a position written twice"
    );
    store.apply(&update);
    update
}

/// [`commit`], when only the store matters.
fn put(store: &mut MemNodeStore, changes: &BTreeMap<Hash, Option<Hash>>) {
    let _update = commit(store, changes);
}

/// The store holding exactly `pairs`, built in one batch from the empty state.
fn from_scratch(pairs: &BTreeMap<Hash, Hash>) -> MemNodeStore {
    let mut store = MemNodeStore::new();
    let changes = pairs.iter().map(|(k, v)| (*k, Some(*v))).collect();
    put(&mut store, &changes);
    store
}

fn h(n: u64) -> Hash {
    Hash::keccak(&n.to_be_bytes())
}

/// `base` with the given bits flipped.
fn flip(base: Hash, bits: &[u16]) -> Hash {
    let mut out = base;
    for &b in bits {
        out.0[usize::from(b / 8)] ^= 0x80 >> (b % 8);
    }
    out
}

/// 32 spread keys and 32 crafted ones sharing a 17-bit prefix, many of them 250 bits or more.
fn universe() -> Vec<Hash> {
    const DEEP: [u16; 5] = [255, 254, 250, 200, 17];
    let base = Hash::keccak(b"shared prefix");
    let mut keys: Vec<Hash> = (0..32).map(h).collect();
    for mask in 0..32u8 {
        let bits: Vec<u16> = (0..5)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| DEEP[i])
            .collect();
        keys.push(flip(base, &bits));
    }
    keys
}

fn check_proofs(store: &MemNodeStore, model: &BTreeMap<Hash, Hash>, keys: &[Hash]) {
    let root = root(store).unwrap();
    for key in keys {
        let proof = prove(store, key).unwrap();
        let value = model.get(key).copied();
        assert_eq!(proof.value(key), value);
        assert!(proof.verify(&root, key, value), "proof of {key} fails");
        assert!(
            !proof.verify(&root, key, Some(h(u64::MAX))),
            "wrong value accepted"
        );
        let flipped = if value.is_some() { None } else { Some(h(0)) };
        assert!(
            !proof.verify(&root, key, flipped),
            "wrong presence accepted"
        );
        assert!(!proof.verify(&h(7), key, value), "wrong root accepted");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// After any history of batches, the root equals the reference root of the current map and
    /// the store holds exactly the nodes of a tree built from scratch: nothing depends on history.
    #[test]
    fn matches_reference_after_random_batches(
        batches in prop::collection::vec(
            prop::collection::vec((0usize..64, prop::option::weighted(0.7, 0u8..4)), 0..40),
            1..8,
        )
    ) {
        let keys = universe();
        let mut store = MemNodeStore::new();
        let mut model = BTreeMap::new();
        for batch in batches {
            let changes: BTreeMap<Hash, Option<Hash>> = batch
                .iter()
                .map(|(i, v)| (keys[*i], v.map(|v| value_hash(&[v]))))
                .collect();
            for (k, v) in &changes {
                match v {
                    Some(v) => model.insert(*k, *v),
                    None => model.remove(k),
                };
            }
            let update = commit(&mut store, &changes);
            prop_assert_eq!(update.root, reference_root(&model));
            prop_assert_eq!(root(&store).unwrap(), update.root);
            prop_assert!(store == from_scratch(&model), "store differs from a fresh build");
        }
        check_proofs(&store, &model, &keys);
    }
}

#[test]
fn empty_tree() {
    let mut store = MemNodeStore::new();
    assert_eq!(root(&store).unwrap(), Hash::ZERO);
    let update = commit(&mut store, &BTreeMap::new());
    assert_eq!(update.root, Hash::ZERO);
    assert!(update.writes.is_empty());
    // Deleting an absent key changes nothing.
    let update = commit(&mut store, &BTreeMap::from([(h(1), None)]));
    assert_eq!(update.root, Hash::ZERO);
    assert!(update.writes.is_empty());
    let proof = prove(&store, &h(1)).unwrap();
    assert_eq!(
        proof,
        StateProof {
            siblings: vec![],
            leaf: None
        }
    );
    assert!(proof.verify(&Hash::ZERO, &h(1), None));
    assert!(!proof.verify(&Hash::ZERO, &h(1), Some(h(2))));
}

#[test]
fn single_key_is_a_leaf_at_the_root_and_deleting_it_empties_the_store() {
    let mut store = MemNodeStore::new();
    let update = commit(&mut store, &BTreeMap::from([(h(1), Some(h(2)))]));
    assert_eq!(update.root, leaf_hash(&h(1), &h(2)));
    assert_eq!(
        update.writes,
        vec![(
            NodeKey::ROOT,
            Some(Node::Leaf {
                key: h(1),
                value: h(2)
            })
        )]
    );
    let proof = prove(&store, &h(1)).unwrap();
    assert!(proof.siblings.is_empty());
    assert!(proof.verify(&update.root, &h(1), Some(h(2))));
    // Another key is absent: the path ends in the one leaf.
    assert!(
        prove(&store, &h(3))
            .unwrap()
            .verify(&update.root, &h(3), None)
    );

    // Setting the same value again writes nothing.
    let again = commit(&mut store, &BTreeMap::from([(h(1), Some(h(2)))]));
    assert_eq!(again.root, update.root);
    assert!(again.writes.is_empty());

    put(&mut store, &BTreeMap::from([(h(1), None)]));
    assert!(store.is_empty());
    assert_eq!(root(&store).unwrap(), Hash::ZERO);
}

#[test]
fn keys_differing_in_the_last_bit_sit_at_depth_256_and_collapse_back() {
    let a = Hash::keccak(b"a");
    let b = flip(a, &[255]);
    let mut store = MemNodeStore::new();
    let update = commit(
        &mut store,
        &BTreeMap::from([(a, Some(h(1))), (b, Some(h(2)))]),
    );
    // 256 internal nodes (depths 0..=255) and two leaves at depth 256.
    assert_eq!(store.len(), 258);
    let model = BTreeMap::from([(a, h(1)), (b, h(2))]);
    assert_eq!(update.root, reference_root(&model));
    for (key, value) in &model {
        let proof = prove(&store, key).unwrap();
        assert_eq!(proof.siblings.len(), 256);
        assert!(proof.verify(&update.root, key, Some(*value)));
    }
    // A key branching off half way is absent, its path ends in an empty subtree.
    let c = flip(a, &[128]);
    let proof = prove(&store, &c).unwrap();
    assert_eq!((proof.siblings.len(), proof.leaf), (129, None));
    assert!(proof.verify(&update.root, &c, None));

    let update = commit(&mut store, &BTreeMap::from([(b, None)]));
    assert_eq!(update.root, leaf_hash(&a, &h(1)));
    assert_eq!(store.len(), 1);
    assert!(store == from_scratch(&BTreeMap::from([(a, h(1))])));
}

#[test]
fn final_map_not_history_decides_root_and_nodes() {
    let keys = universe();
    let value = |k: &Hash| Hash::keccak_concat(&[b"v", k.as_bytes()]);
    let kept: BTreeMap<Hash, Hash> = keys.iter().step_by(3).map(|k| (*k, value(k))).collect();

    // One at a time, forwards.
    let mut forwards = MemNodeStore::new();
    for (k, v) in &kept {
        put(&mut forwards, &BTreeMap::from([(*k, Some(*v))]));
    }
    // One at a time, backwards, with every other key inserted first and deleted in the end.
    let mut backwards = MemNodeStore::new();
    for k in keys.iter().rev() {
        put(&mut backwards, &BTreeMap::from([(*k, Some(h(9)))]));
    }
    for k in keys.iter().rev() {
        let change = kept.get(k).copied();
        put(&mut backwards, &BTreeMap::from([(*k, change)]));
    }
    let scratch = from_scratch(&kept);
    assert_eq!(root(&forwards).unwrap(), reference_root(&kept));
    assert_eq!(root(&backwards).unwrap(), reference_root(&kept));
    assert!(forwards == scratch && backwards == scratch);
}

#[test]
fn update_of_one_key_touches_only_its_path() {
    let model: BTreeMap<Hash, Hash> = (0..2000).map(|i| (h(i), h(i + 1))).collect();
    let mut store = from_scratch(&model);
    let key = h(1234);
    let depth = prove(&store, &key).unwrap().siblings.len();
    let update = commit(&mut store, &BTreeMap::from([(key, Some(h(0)))]));
    // The root, the internal nodes down the path and the leaf: read once, written once each.
    assert_eq!(update.nodes_read, depth + 1);
    assert_eq!(update.writes.len(), depth + 1);
    assert!(depth < 20, "depth {depth} for 2000 keys");
}

#[test]
fn tampered_proofs_fail() {
    let model: BTreeMap<Hash, Hash> = (0..50).map(|i| (h(i), h(i + 100))).collect();
    let store = from_scratch(&model);
    let root = root(&store).unwrap();
    let key = h(3);
    let proof = prove(&store, &key).unwrap();
    assert!(proof.verify(&root, &key, Some(h(103))));

    let mut bad = proof.clone();
    bad.siblings[0] = h(0);
    assert!(!bad.verify(&root, &key, Some(h(103))));
    let mut bad = proof.clone();
    bad.siblings.pop();
    assert!(!bad.verify(&root, &key, Some(h(103))));
    let mut bad = proof.clone();
    bad.siblings.push(Hash::ZERO);
    assert!(!bad.verify(&root, &key, Some(h(103))));
    let bad = StateProof {
        siblings: vec![Hash::ZERO; 257],
        leaf: proof.leaf,
    };
    assert!(!bad.verify(&root, &key, Some(h(103))));

    // The proof of a present key is no exclusion proof for it, nor a proof for a key elsewhere.
    assert!(!proof.verify(&root, &key, None));
    assert!(!proof.verify(&root, &h(4), Some(h(103))));
    assert!(
        !proof.verify(&root, &h(4), None),
        "another key's leaf off its path"
    );

    // An exclusion proof does not prove a value.
    let absent = h(1000);
    let exclusion = prove(&store, &absent).unwrap();
    assert!(exclusion.verify(&root, &absent, None));
    assert!(!exclusion.verify(&root, &absent, Some(h(0))));
}

#[test]
fn corrupt_stores_are_errors() {
    let model: BTreeMap<Hash, Hash> = (0..8).map(|i| (h(i), h(i))).collect();
    let good = from_scratch(&model);
    let (leaf_pos, _) = good
        .iter()
        .find(|(_, n)| matches!(n, Node::Leaf { .. }))
        .map(|(k, n)| (*k, *n))
        .unwrap();

    let mut missing = good.clone();
    missing.insert_raw(leaf_pos, None);
    let changes = BTreeMap::from([(h(100), Some(h(1))), (h(101), Some(h(1)))]);
    let touch_all: BTreeMap<Hash, Option<Hash>> = (0..8).map(|i| (h(i), Some(h(50)))).collect();
    assert!(
        matches!(update(&missing, &touch_all), Err(TreeError::MissingNode(k)) if k == leaf_pos)
    );

    let mut misplaced = good.clone();
    misplaced.insert_raw(
        leaf_pos,
        Some(Node::Leaf {
            key: flip(*leaf_pos.path(), &[0]),
            value: h(0),
        }),
    );
    assert!(matches!(
        update(&misplaced, &touch_all),
        Err(TreeError::Corrupt { .. })
    ));

    let mut hollow = MemNodeStore::new();
    hollow.insert_raw(
        NodeKey::ROOT,
        Some(Node::Internal {
            left: Hash::ZERO,
            right: Hash::ZERO,
        }),
    );
    assert!(matches!(
        update(&hollow, &changes),
        Err(TreeError::Corrupt { .. })
    ));
    assert!(matches!(root(&hollow), Err(TreeError::Corrupt { .. })));
    assert!(matches!(
        prove(&hollow, &h(1)),
        Err(TreeError::Corrupt { .. })
    ));
}

#[test]
fn node_key_encoding_is_canonical_and_sorts_in_pre_order() {
    let key = h(5);
    let positions: Vec<NodeKey> = (0..=256).map(|d| NodeKey::new(&key, d).unwrap()).collect();
    for pos in &positions {
        let bytes = codec::encode(pos);
        assert_eq!(bytes, pos.to_bytes());
        assert_eq!(codec::decode::<NodeKey>(&bytes).unwrap(), *pos);
        assert!(pos.contains(&key));
    }
    // A parent sorts before its children, and a left subtree before the right sibling.
    for w in positions.windows(2) {
        assert!(w[0].to_bytes() < w[1].to_bytes());
        assert!(w[0] < w[1]);
    }
    let left = NodeKey::ROOT.child(false).unwrap();
    let left_deep = NodeKey::new(&Hash([0x7f; 32]), 200).unwrap();
    let right = NodeKey::ROOT.child(true).unwrap();
    assert!(left.to_bytes() < left_deep.to_bytes() && left_deep.to_bytes() < right.to_bytes());

    assert_eq!(NodeKey::new(&key, 257), None);
    assert!(positions[256].child(false).is_none());
    let mut stray = NodeKey::new(&key, 3).unwrap().to_bytes();
    stray[1] = 1;
    assert!(codec::decode::<NodeKey>(&stray).is_err());
    let mut deep = positions[256].to_bytes();
    deep[33] = 1; // depth 257
    assert!(codec::decode::<NodeKey>(&deep).is_err());
}

#[test]
fn node_and_proof_round_trip() {
    for node in [
        Node::Leaf {
            key: h(1),
            value: h(2),
        },
        Node::Internal {
            left: h(3),
            right: Hash::ZERO,
        },
    ] {
        assert_eq!(codec::decode::<Node>(&codec::encode(&node)).unwrap(), node);
    }
    let store = from_scratch(&(0..10).map(|i| (h(i), h(i))).collect());
    let proof = prove(&store, &h(4)).unwrap();
    assert_eq!(
        codec::decode::<StateProof>(&codec::encode(&proof)).unwrap(),
        proof
    );
    let json = serde_json::to_string(&proof).unwrap();
    assert_eq!(serde_json::from_str::<StateProof>(&json).unwrap(), proof);
}

/// Pins the root of a small account state: it is consensus and must never drift.
#[test]
fn golden_account_state_root() {
    let mut changes = BTreeMap::new();
    for (i, balance) in [(1u8, 1_000u128), (2, 5), (3, 0)] {
        let key = StateKey::Account(Address([i; 20]));
        let account = Account {
            balance,
            nonce: u64::from(i),
        };
        changes.insert(key_hash(&key), Some(value_hash(&codec::encode(&account))));
    }
    let mut store = MemNodeStore::new();
    let update = commit(&mut store, &changes);
    let model = changes
        .iter()
        .map(|(k, v)| (*k, v.expect("all inserts")))
        .collect();
    assert_eq!(update.root, reference_root(&model));
    assert_eq!(
        update.root.to_string(),
        "0x2f21ec6af4261bbbf370dbd98ca540750adb6658432922f14f1c8b66b9761db6"
    );
}
