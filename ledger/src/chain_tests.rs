use std::sync::Arc;

use super::*;
use crate::TransferExecutor;
use crate::merkle;
use crate::store::RocksStore;
use crate::testing::TestNet;
use crate::tx::SignedTransaction;

fn verified(net: &TestNet, txs: Vec<SignedTransaction>) -> Vec<VerifiedTransaction> {
    txs.into_iter()
        .map(|t| t.verify(net.genesis.chain_id).unwrap())
        .collect()
}

/// Builds and commits block `head + 1` with `txs` on `chain`; returns it.
fn produce(net: &TestNet, chain: &Chain, txs: Vec<SignedTransaction>) -> Block {
    net.produce_block(chain, verified(net, txs))
}

fn supply(chain: &Chain, who: &[Address]) -> u128 {
    who.iter()
        .map(|a| chain.account_at_head(a).unwrap().balance)
        .sum()
}

#[test]
fn transfers_move_balances_and_fees_and_conserve_supply() {
    let net = TestNet::new(4, 3, 1_000_000);
    let chain = net.memory_chain();
    let (a, b) = (&net.users[0], &net.users[1]);
    let block = produce(
        &net,
        &chain,
        vec![
            net.transfer(a, 0, b.address(), 500, 7),
            net.transfer(a, 1, b.address(), 10_000_000, 7), // fails: fee taken, amount not moved
        ],
    );
    assert_eq!(chain.head().number, 1);
    let receipts = chain.receipts(1).unwrap().unwrap();
    assert_eq!(receipts[0].status, TxStatus::Success);
    assert!(matches!(receipts[1].status, TxStatus::Failed { .. }));
    assert_eq!(
        chain.account_at_head(&a.address()).unwrap(),
        Account {
            balance: 1_000_000 - 500 - 14,
            nonce: 2
        }
    );
    assert_eq!(
        chain.account_at_head(&b.address()).unwrap().balance,
        1_000_500
    );
    assert_eq!(
        chain
            .account_at_head(&block.header.proposer)
            .unwrap()
            .balance,
        14
    );
    let mut everyone: Vec<Address> = net.users.iter().map(|k| k.address()).collect();
    everyone.extend(net.authorities.iter().map(|k| k.address()));
    assert_eq!(supply(&chain, &everyone), 3_000_000);
    assert!(chain.check_state_root().unwrap());
    // Inclusion proof of the second transaction verifies against the header alone.
    let proof = block::prove_tx(&block.txs, 1).unwrap();
    assert!(proof.verify(
        block.header.tx_root,
        merkle::leaf_hash(&codec::encode(&block.txs[1]))
    ));
    assert_eq!(
        chain.tx_location(&block.txs[1].hash()).unwrap(),
        Some(TxLocation { block: 1, index: 1 })
    );
}

#[test]
fn build_skips_transactions_that_cannot_be_included() {
    let net = TestNet::new(1, 2, 100);
    let chain = net.memory_chain();
    let a = &net.users[0];
    let poor = SecretKey::from_seed("poor");
    let built = chain
        .build_block(
            net.proposer_key(1, 0),
            0,
            chain.head().timestamp_ms + 1,
            None,
            verified(
                &net,
                vec![
                    net.transfer(a, 5, poor.address(), 1, 1),  // nonce gap
                    net.transfer(&poor, 0, a.address(), 1, 1), // cannot pay fee
                    net.transfer(a, 0, poor.address(), 10, 1), // fine
                ],
            ),
        )
        .unwrap();
    assert_eq!(built.executed.block.txs.len(), 1);
    assert!(matches!(
        built.rejected[0].1,
        ExecError::BadNonce {
            expected: 0,
            got: 5
        }
    ));
    assert!(matches!(
        built.rejected[1].1,
        ExecError::CannotPayFee { .. }
    ));
}

#[test]
fn second_node_imports_and_reaches_the_same_state() {
    let net = TestNet::new(4, 2, 1_000);
    let producer = net.memory_chain();
    let follower = net.memory_chain();
    for i in 0..3u64 {
        let block = produce(
            &net,
            &producer,
            vec![net.transfer(&net.users[0], i, net.users[1].address(), 1, 1)],
        );
        let commit = producer.commit(block.header.number).unwrap().unwrap();
        follower.import_block(&block, commit).unwrap();
    }
    assert_eq!(follower.head(), producer.head());
    assert!(follower.check_state_root().unwrap());
}

#[test]
fn invalid_blocks_are_rejected_and_change_nothing() {
    let net = TestNet::new(4, 2, 1_000);
    let producer = net.memory_chain();
    let b1 = produce(&net, &producer, vec![]);
    let follower = net.memory_chain();
    follower
        .import_block(&b1, producer.commit(1).unwrap().unwrap())
        .unwrap();
    let b2 = produce(
        &net,
        &producer,
        vec![net.transfer(&net.users[0], 0, net.users[1].address(), 5, 1)],
    );
    let commit2 = producer.commit(2).unwrap().unwrap();
    let before = follower.head();
    let reseal = |mut block: Block, key: &SecretKey| {
        block.seal = block.header.seal(key, net.genesis.chain_id);
        block
    };
    let proposer = net.proposer_key(2, 0);

    let mut wrong_parent = b2.clone();
    wrong_parent.header.parent_hash = Hash::keccak(b"x");
    assert!(matches!(
        follower.validate_block(&reseal(wrong_parent, proposer)),
        Err(ImportError::WrongParent { .. })
    ));

    let mut wrong_height = b2.clone();
    wrong_height.header.number = 3;
    assert!(matches!(
        follower.validate_block(&wrong_height),
        Err(ImportError::WrongHeight { .. })
    ));

    let mut late = b2.clone();
    late.header.timestamp_ms = b1.header.timestamp_ms;
    assert!(matches!(
        follower.validate_block(&reseal(late, proposer)),
        Err(ImportError::Timestamp { .. })
    ));

    let mut wrong_round = b2.clone();
    wrong_round.header.round = 1; // proposer of (2, 1) is someone else
    assert!(matches!(
        follower.validate_block(&reseal(wrong_round, proposer)),
        Err(ImportError::WrongProposer { .. })
    ));

    let mut bad_seal = b2.clone();
    bad_seal.seal = bad_seal.header.seal(&net.users[0], net.genesis.chain_id);
    assert!(matches!(
        follower.validate_block(&bad_seal),
        Err(ImportError::BadSeal(_))
    ));

    let mut bad_state = b2.clone();
    bad_state.header.state_root = Hash::keccak(b"lie");
    assert!(matches!(
        follower.validate_block(&reseal(bad_state, proposer)),
        Err(ImportError::RootMismatch { which: "state", .. })
    ));

    let mut dropped_tx = b2.clone();
    dropped_tx.txs.clear();
    assert!(matches!(
        follower.validate_block(&dropped_tx),
        Err(ImportError::RootMismatch { which: "tx", .. })
    ));

    let mut weak_last_commit = b2.clone();
    weak_last_commit.header.last_commit = Some(net.commit(&b1, 2));
    assert!(matches!(
        follower.validate_block(&reseal(weak_last_commit, proposer)),
        Err(ImportError::BadLastCommit {
            source: VoteError::NoQuorum { got: 2, needed: 3 },
            ..
        })
    ));

    // Own commit without a quorum.
    assert!(matches!(
        follower.import_block(&b2, net.commit(&b2, 2)),
        Err(ImportError::BadCommit { .. })
    ));
    assert_eq!(follower.head(), before);
    follower.import_block(&b2, commit2).unwrap();
    assert_eq!(follower.head(), producer.head());
}

/// `blocks` blocks of five transfers each, produced on `producer`, with their commits.
fn produce_run(net: &TestNet, producer: &Chain, blocks: u64) -> Vec<(Block, Commit)> {
    (0..blocks)
        .map(|b| {
            let txs = (0..5)
                .map(|u| net.transfer(&net.users[u], b, net.users[(u + 1) % 5].address(), 3, 1))
                .collect();
            let block = produce(net, producer, txs);
            let commit = producer.commit(block.header.number).unwrap().unwrap();
            (block, commit)
        })
        .collect()
}

#[test]
fn import_blocks_reaches_the_producers_state_on_any_thread_count() {
    let net = TestNet::new(4, 5, 1_000_000);
    let producer = net.memory_chain();
    let run = produce_run(&net, &producer, 6);
    for threads in [1, 2, 3] {
        let mut follower = net.memory_chain();
        follower.set_verify_threads(threads);
        let mut seen = Vec::new();
        let (imported, result) = follower.import_blocks(&run, |e| {
            // Called after the block is written: the head is already this block.
            assert_eq!(follower.head(), e.block.header);
            seen.push(e.block.header.number);
        });
        result.unwrap();
        assert_eq!(imported, 6);
        assert_eq!(seen, (1..=6).collect::<Vec<_>>());
        assert_eq!(follower.head(), producer.head());
        for n in 1..=6 {
            assert_eq!(follower.receipts(n).unwrap(), producer.receipts(n).unwrap());
        }
        assert!(follower.check_state_root().unwrap());
    }
}

#[test]
fn import_blocks_stops_at_the_first_bad_block_and_keeps_the_ones_before() {
    let net = TestNet::new(4, 5, 1_000_000);
    let producer = net.memory_chain();
    let run = produce_run(&net, &producer, 6);
    let reseal = |mut block: Block| {
        let key = net.proposer_key(block.header.number, block.header.round);
        block.seal = block.header.seal(key, net.genesis.chain_id);
        block
    };
    // Refused ahead of execution (header, transaction root, signature) and at execution
    // (state root), each at the fourth block.
    type Corrupt = fn(&mut Block);
    type Expected = fn(&ImportError) -> bool;
    let cases: [(Corrupt, Expected); 4] = [
        (
            |b| b.header.parent_hash = Hash::keccak(b"x"),
            |e| matches!(e, ImportError::WrongParent { .. }),
        ),
        (
            |b| b.txs.clear(),
            |e| matches!(e, ImportError::RootMismatch { which: "tx", .. }),
        ),
        (
            |b| {
                b.txs[2].signature = Default::default();
                b.header.tx_root = block::tx_root(&b.txs);
            },
            |e| matches!(e, ImportError::BadTx { index: 2, .. }),
        ),
        (
            |b| b.header.state_root = Hash::keccak(b"lie"),
            |e| matches!(e, ImportError::RootMismatch { which: "state", .. }),
        ),
    ];
    for threads in [1, 2] {
        for (corrupt, expected) in cases {
            let mut bad_run = run.clone();
            corrupt(&mut bad_run[3].0);
            bad_run[3].0 = reseal(bad_run[3].0.clone());
            let mut follower = net.memory_chain();
            follower.set_verify_threads(threads);
            let mut seen = 0;
            let (index, result) = follower.import_blocks(&bad_run, |_| seen += 1);
            let error = result.unwrap_err();
            assert_eq!(index, 3, "{error}");
            assert!(expected(&error), "{threads} threads: {error}");
            assert_eq!(seen, 3);
            assert_eq!(follower.head(), run[2].0.header);
            assert!(follower.check_state_root().unwrap());
            // The good blocks from there on still import.
            assert_eq!(follower.import_blocks(&run[3..], |_| ()).0, 3);
            assert_eq!(follower.head(), producer.head());
        }
    }
}

#[test]
fn rocksdb_chain_resumes_after_reopen_and_refuses_other_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(1, 2, 1_000);
    let open = || {
        Chain::open(
            ChainStore::new(Arc::new(RocksStore::open(dir.path()).unwrap())),
            net.genesis.clone(),
            Arc::new(TransferExecutor),
        )
    };
    {
        let chain = open().unwrap();
        for i in 0..3 {
            produce(
                &net,
                &chain,
                vec![net.transfer(&net.users[0], i, net.users[1].address(), 1, 0)],
            );
        }
    }
    let chain = open().unwrap();
    assert_eq!(chain.head().number, 3);
    assert!(chain.check_state_root().unwrap());
    assert_eq!(
        chain
            .account_at_head(&net.users[1].address())
            .unwrap()
            .balance,
        1_003
    );
    drop(chain);
    let mut other = net.genesis.clone();
    other.chain_id += 1;
    let err = Chain::open(
        ChainStore::new(Arc::new(RocksStore::open(dir.path()).unwrap())),
        other,
        Arc::new(TransferExecutor),
    )
    .unwrap_err();
    assert!(matches!(err, OpenError::GenesisMismatch { .. }));
}
