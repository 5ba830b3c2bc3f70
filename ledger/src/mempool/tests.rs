use std::collections::BTreeMap;
use std::sync::LazyLock;

use proptest::prelude::*;

use super::index::TxIndex;
use super::*;
use crate::crypto::{SecretKey, SignatureError};
use crate::state::Account;
use crate::tx::TxError;

const CHAIN: ChainId = 7;

/// Accounts in a map; unknown addresses are empty.
#[derive(Debug, Default, Clone)]
struct Accounts(BTreeMap<Address, Account>);

impl AccountReader for Accounts {
    fn account(&self, address: &Address) -> Account {
        self.0.get(address).copied().unwrap_or_default()
    }
}

impl Accounts {
    fn with(mut self, key: &SecretKey, balance: Amount, nonce: Nonce) -> Self {
        self.0.insert(key.address(), Account { balance, nonce });
        self
    }
}

static KEYS: LazyLock<Vec<SecretKey>> = LazyLock::new(|| {
    ["alice", "bob", "carol", "dave", "erin"]
        .iter()
        .map(|seed| SecretKey::from_seed(seed))
        .collect()
});

fn alice() -> &'static SecretKey {
    &KEYS[0]
}
fn bob() -> &'static SecretKey {
    &KEYS[1]
}
fn carol() -> &'static SecretKey {
    &KEYS[2]
}

fn transfer(key: &SecretKey, nonce: Nonce, fee: Amount, amount: Amount) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN,
        nonce,
        fee,
        call: Call::Transfer {
            to: Address([9; 20]),
            amount,
        },
    }
    .sign(key)
}

/// A transaction paying `fee` with a zero-value transfer.
fn paying(key: &SecretKey, nonce: Nonce, fee: Amount) -> SignedTransaction {
    transfer(key, nonce, fee, 0)
}

/// Every account funded with 1,000 at nonce 0.
fn rich() -> Accounts {
    KEYS.iter()
        .fold(Accounts::default(), |acc, key| acc.with(key, 1_000, 0))
}

fn config() -> MempoolConfig {
    MempoolConfig {
        max_txs: 100,
        max_bytes: 1 << 20,
        max_per_sender: 8,
        max_nonce_gap: 4,
        min_fee: 1,
        replace_bump_percent: 10,
    }
}

fn pool_with(config: MempoolConfig, accounts: &Accounts, txs: &[SignedTransaction]) -> Mempool {
    let mut pool = Mempool::new(config);
    for tx in txs {
        pool.insert(tx.clone(), CHAIN, accounts)
            .expect("test setup transaction is accepted");
    }
    pool
}

fn hashes(txs: &[VerifiedTransaction]) -> Vec<Hash> {
    txs.iter().map(VerifiedTransaction::hash).collect()
}

/// The encoded size of every test transfer (integers are fixed-width).
fn tx_len() -> usize {
    static LEN: LazyLock<usize> = LazyLock::new(|| {
        paying(alice(), 0, 1)
            .verify(CHAIN)
            .expect("valid")
            .encoded_len()
    });
    *LEN
}

#[test]
fn insert_then_lookups() {
    let accounts = rich();
    let mut pool = Mempool::new(config());
    let tx = paying(alice(), 0, 5);
    let hash = tx.hash();
    assert_eq!(
        pool.insert(tx, CHAIN, &accounts),
        Ok(Inserted::Added {
            hash,
            evicted: vec![]
        })
    );
    assert!(pool.contains(&hash));
    assert_eq!(
        pool.get(&hash).map(VerifiedTransaction::sender),
        Some(alice().address())
    );
    assert_eq!((pool.len(), pool.bytes()), (1, tx_len()));
    assert_eq!(pool.pending_count(&alice().address()), 1);
    assert_eq!(pool.pending_count(&bob().address()), 0);
    assert_eq!(pool.pending_nonce(&alice().address(), &accounts), 1);
    assert_eq!(pool.pending_nonce(&bob().address(), &accounts), 0);
}

#[test]
fn bad_signature_rejected() {
    let mut tx = paying(alice(), 0, 5);
    tx.signature.0[64] = 9;
    assert_eq!(
        Mempool::new(config()).insert(tx, CHAIN, &rich()),
        Err(MempoolError::Invalid(TxError::Signature(
            SignatureError::BadRecoveryId(9)
        )))
    );
}

#[test]
fn wrong_chain_rejected() {
    let tx = Transaction {
        chain_id: CHAIN + 1,
        nonce: 0,
        fee: 5,
        call: Call::Transfer {
            to: Address([9; 20]),
            amount: 0,
        },
    }
    .sign(alice());
    assert_eq!(
        Mempool::new(config()).insert(tx, CHAIN, &rich()),
        Err(MempoolError::Invalid(TxError::WrongChain {
            expected: CHAIN,
            got: CHAIN + 1
        }))
    );
}

#[test]
fn duplicate_rejected() {
    let accounts = rich();
    let tx = paying(alice(), 0, 5);
    let mut pool = pool_with(config(), &accounts, std::slice::from_ref(&tx));
    assert_eq!(
        pool.insert(tx.clone(), CHAIN, &accounts),
        Err(MempoolError::Duplicate { hash: tx.hash() })
    );
}

#[test]
fn fee_below_minimum_rejected() {
    let config = MempoolConfig {
        min_fee: 3,
        ..config()
    };
    assert_eq!(
        Mempool::new(config).insert(paying(alice(), 0, 2), CHAIN, &rich()),
        Err(MempoolError::FeeTooLow { fee: 2, min_fee: 3 })
    );
}

#[test]
fn stale_nonce_rejected() {
    let accounts = Accounts::default().with(alice(), 1_000, 3);
    assert_eq!(
        Mempool::new(config()).insert(paying(alice(), 2, 5), CHAIN, &accounts),
        Err(MempoolError::StaleNonce {
            sender: alice().address(),
            nonce: 2,
            account_nonce: 3
        })
    );
}

#[test]
fn nonce_gap_over_limit_rejected() {
    let accounts = Accounts::default().with(alice(), 1_000, 3);
    let mut pool = Mempool::new(config());
    // max_nonce_gap = 4: nonce 7 is the farthest allowed ahead of 3.
    assert!(pool.insert(paying(alice(), 7, 5), CHAIN, &accounts).is_ok());
    assert_eq!(
        pool.insert(paying(alice(), 8, 5), CHAIN, &accounts),
        Err(MempoolError::NonceGap {
            sender: alice().address(),
            nonce: 8,
            account_nonce: 3,
            max_gap: 4
        })
    );
}

#[test]
fn replacement_needs_fee_bump() {
    let accounts = rich();
    let old = paying(alice(), 0, 100);
    let mut pool = pool_with(config(), &accounts, std::slice::from_ref(&old));
    // Same nonce, same fee, different body: not a duplicate, but not dearer either.
    assert_eq!(
        pool.insert(transfer(alice(), 0, 100, 1), CHAIN, &accounts),
        Err(MempoolError::ReplacementUnderpriced {
            existing: old.hash(),
            existing_fee: 100,
            required: 110,
            fee: 100
        })
    );
    assert!(matches!(
        pool.insert(paying(alice(), 0, 109), CHAIN, &accounts),
        Err(MempoolError::ReplacementUnderpriced { required: 110, .. })
    ));
    let new = paying(alice(), 0, 110);
    assert_eq!(
        pool.insert(new.clone(), CHAIN, &accounts),
        Ok(Inserted::Replaced {
            hash: new.hash(),
            replaced: old.hash(),
            evicted: vec![]
        })
    );
    assert!(!pool.contains(&old.hash()));
    assert!(pool.contains(&new.hash()));
    assert_eq!((pool.len(), pool.bytes()), (1, tx_len()));
}

#[test]
fn replacement_fee_rounds_up_and_always_bumps() {
    assert_eq!(replacement_fee(0, 10), 1);
    assert_eq!(replacement_fee(1, 10), 2);
    assert_eq!(replacement_fee(15, 10), 17);
    assert_eq!(replacement_fee(100, 0), 101);
    assert_eq!(replacement_fee(Amount::MAX, 10), Amount::MAX);
}

#[test]
fn sender_limit_enforced_but_replacement_allowed() {
    let accounts = rich();
    let config = MempoolConfig {
        max_per_sender: 2,
        ..config()
    };
    let mut pool = pool_with(
        config,
        &accounts,
        &[paying(alice(), 0, 5), paying(alice(), 1, 5)],
    );
    assert_eq!(
        pool.insert(paying(alice(), 2, 5), CHAIN, &accounts),
        Err(MempoolError::SenderFull {
            sender: alice().address(),
            pending: 2
        })
    );
    assert!(matches!(
        pool.insert(paying(alice(), 1, 50), CHAIN, &accounts),
        Ok(Inserted::Replaced { .. })
    ));
    assert!(pool.insert(paying(bob(), 0, 5), CHAIN, &accounts).is_ok());
}

#[test]
fn sender_must_afford_all_pooled_transactions() {
    let accounts = Accounts::default().with(alice(), 100, 0);
    let mut pool = Mempool::new(config());
    assert_eq!(
        pool.insert(transfer(alice(), 0, 1, 100), CHAIN, &accounts),
        Err(MempoolError::InsufficientFunds {
            sender: alice().address(),
            balance: 100,
            required: 101
        })
    );
    pool.insert(transfer(alice(), 0, 10, 50), CHAIN, &accounts)
        .expect("60 of 100");
    assert_eq!(
        pool.insert(transfer(alice(), 1, 10, 31), CHAIN, &accounts),
        Err(MempoolError::InsufficientFunds {
            sender: alice().address(),
            balance: 100,
            required: 101
        })
    );
    pool.insert(transfer(alice(), 1, 10, 30), CHAIN, &accounts)
        .expect("exactly 100");
    // A replacement is costed instead of, not on top of, the transaction it replaces.
    assert!(matches!(
        pool.insert(transfer(alice(), 0, 20, 40), CHAIN, &accounts),
        Ok(Inserted::Replaced { .. })
    ));
    // An overflowing cost is refused, not wrapped.
    let whale = Accounts::default().with(bob(), Amount::MAX, 0);
    assert_eq!(
        pool.insert(transfer(bob(), 0, 2, Amount::MAX), CHAIN, &whale),
        Err(MempoolError::InsufficientFunds {
            sender: bob().address(),
            balance: Amount::MAX,
            required: Amount::MAX
        })
    );
}

#[test]
fn full_pool_evicts_cheapest_last_transaction_of_another_sender() {
    let accounts = rich();
    let config = MempoolConfig {
        max_txs: 3,
        ..config()
    };
    // Alice's nonce 0 is the cheapest, but evicting it would strand her nonce 1.
    let (a0, a1, b0) = (
        paying(alice(), 0, 1),
        paying(alice(), 1, 5),
        paying(bob(), 0, 3),
    );
    let mut pool = pool_with(config, &accounts, &[a0.clone(), a1.clone(), b0.clone()]);

    let c0 = paying(carol(), 0, 4);
    assert_eq!(
        pool.insert(c0.clone(), CHAIN, &accounts),
        Ok(Inserted::Added {
            hash: c0.hash(),
            evicted: vec![b0.hash()]
        })
    );
    assert!(pool.contains(&a0.hash()) && pool.contains(&a1.hash()));

    // The cheapest last transactions now pay 4 and 5: a fee of 4 evicts nothing.
    assert_eq!(
        pool.insert(paying(bob(), 0, 4), CHAIN, &accounts),
        Err(MempoolError::PoolFull {
            len: 3,
            max_txs: 3,
            bytes: 3 * tx_len(),
            max_bytes: 1 << 20,
            fee: 4,
            needed_bytes: tx_len()
        })
    );
    // A sender never evicts its own transactions: Carol's cheaper nonce 0 stays, Alice's last goes.
    let c1 = paying(carol(), 1, 100);
    assert_eq!(
        pool.insert(c1.clone(), CHAIN, &accounts)
            .map(|inserted| inserted.evicted().to_vec()),
        Ok(vec![a1.hash()])
    );
    assert!(pool.contains(&c0.hash()) && pool.contains(&c1.hash()));
    assert_eq!(pool.len(), 3);
}

#[test]
fn full_pool_of_one_sender_refuses_it_more() {
    let accounts = rich();
    let config = MempoolConfig {
        max_txs: 2,
        ..config()
    };
    let mut pool = pool_with(
        config,
        &accounts,
        &[paying(alice(), 0, 1), paying(alice(), 1, 1)],
    );
    assert!(matches!(
        pool.insert(paying(alice(), 2, 100), CHAIN, &accounts),
        Err(MempoolError::PoolFull { len: 2, .. })
    ));
}

#[test]
fn byte_limit_evicts_in_fee_order_without_gaps() {
    let accounts = rich();
    let config = MempoolConfig {
        max_bytes: 3 * tx_len(),
        ..config()
    };
    let (a0, a1, b0) = (
        paying(alice(), 0, 1),
        paying(alice(), 1, 5),
        paying(bob(), 0, 3),
    );
    let mut pool = pool_with(config, &accounts, &[a0.clone(), a1.clone(), b0.clone()]);
    let c0 = paying(carol(), 0, 6);
    let inserted = pool.insert(c0.clone(), CHAIN, &accounts).expect("evicts");
    assert_eq!(inserted.evicted(), &[b0.hash()]);
    assert_eq!(pool.bytes(), 3 * tx_len());
}

#[test]
fn eviction_plan_exposes_predecessors() {
    let verified = |tx: SignedTransaction| tx.verify(CHAIN).expect("valid");
    let mut index = TxIndex::default();
    let (a0, a1, b0) = (
        paying(alice(), 0, 1),
        paying(alice(), 1, 2),
        paying(bob(), 0, 5),
    );
    for tx in [&a0, &a1, &b0] {
        index.insert(verified(tx.clone()));
    }
    let carol = carol().address();
    assert_eq!(
        index.plan_eviction(&carol, 10, 2, 0),
        Some(vec![a1.hash(), a0.hash()])
    );
    assert_eq!(
        index.plan_eviction(&carol, 10, 3, 0),
        Some(vec![a1.hash(), a0.hash(), b0.hash()])
    );
    assert_eq!(index.plan_eviction(&carol, 5, 3, 0), None);
    assert_eq!(
        index.plan_eviction(&alice().address(), 10, 1, 0),
        Some(vec![b0.hash()])
    );
    assert_eq!(
        index
            .plan_eviction(&carol, 10, 0, 2 * tx_len())
            .map(|v| v.len()),
        Some(2)
    );
}

#[test]
fn select_orders_by_nonce_then_fee() {
    let accounts = rich();
    let (a0, a1, b0, c0) = (
        paying(alice(), 0, 1),
        paying(alice(), 1, 10),
        paying(bob(), 0, 5),
        paying(carol(), 0, 5),
    );
    // Insert out of nonce order: the pool sorts it out.
    let pool = pool_with(
        config(),
        &accounts,
        &[a1.clone(), c0.clone(), a0.clone(), b0.clone()],
    );
    let (first, second) = if b0.hash() < c0.hash() {
        (b0.hash(), c0.hash())
    } else {
        (c0.hash(), b0.hash())
    };
    let all = vec![first, second, a0.hash(), a1.hash()];
    assert_eq!(hashes(&pool.select(10, usize::MAX, &accounts)), all);
    assert_eq!(hashes(&pool.select(2, usize::MAX, &accounts)), all[..2]);
    assert!(pool.select(0, usize::MAX, &accounts).is_empty());
    assert_eq!(
        hashes(&pool.select(10, 3 * tx_len() - 1, &accounts)),
        all[..2]
    );
    // Selection reads, never changes, the pool.
    assert_eq!(pool.len(), 4);
}

#[test]
fn select_skips_gaps_stale_and_unaffordable() {
    let accounts = rich();
    let pool = pool_with(
        config(),
        &accounts,
        &[
            paying(alice(), 0, 5),
            paying(alice(), 2, 5),
            paying(bob(), 1, 9),
            transfer(carol(), 0, 5, 100),
            transfer(carol(), 1, 5, 100),
        ],
    );
    // After a block Alice is at nonce 1 (her nonce 0 is stale, nonce 2 waits for 1), Bob still at
    // 0 (his nonce 1 waits), and Carol can afford only her first transfer.
    let after = rich().with(alice(), 1_000, 1).with(carol(), 150, 0);
    let selected = pool.select(10, usize::MAX, &after);
    assert_eq!(selected.len(), 1);
    assert_eq!(selected[0].sender(), carol().address());
    assert_eq!(selected[0].tx().nonce, 0);
}

#[test]
fn prune_after_block() {
    let accounts = rich();
    let (a0, a1, a2, b0, b1) = (
        paying(alice(), 0, 5),
        paying(alice(), 1, 5),
        paying(alice(), 2, 5),
        transfer(bob(), 0, 5, 400),
        transfer(bob(), 1, 5, 400),
    );
    let mut pool = pool_with(
        config(),
        &accounts,
        &[a0.clone(), a1.clone(), a2.clone(), b0.clone(), b1.clone()],
    );
    // Simulate executing the block: Alice's 0 and 1 went in; meanwhile Bob spent most of his
    // balance elsewhere, so neither of his transfers is covered any more.
    let after = rich().with(alice(), 990, 2).with(bob(), 300, 0);
    assert_eq!(pool.remove_included(&[a0.hash(), a1.hash()]), 2);
    assert_eq!(pool.remove_included(&[a0.hash()]), 0);
    assert_eq!(pool.prune(&after), 2);
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&a2.hash()));
    assert_eq!(pool.pending_nonce(&alice().address(), &after), 3);
    assert_eq!(pool.pending_nonce(&bob().address(), &after), 0);
    assert_eq!(pool.bytes(), tx_len());

    // Stale transactions left behind by a block built elsewhere are pruned too.
    let later = after.clone().with(alice(), 990, 3);
    assert_eq!(pool.prune(&later), 1);
    assert!(pool.is_empty());
    assert_eq!(pool.bytes(), 0);
}

#[test]
fn prune_keeps_affordable_prefix() {
    let accounts = rich();
    let mut pool = pool_with(
        config(),
        &accounts,
        &[
            transfer(alice(), 0, 1, 100),
            transfer(alice(), 1, 1, 100),
            transfer(alice(), 2, 1, 100),
        ],
    );
    assert_eq!(pool.prune(&Accounts::default().with(alice(), 202, 0)), 1);
    assert_eq!(pool.pending_nonce(&alice().address(), &accounts), 2);
}

/// One generated insert: sender index, nonce, fee, amount.
fn arb_tx() -> impl Strategy<Value = (usize, Nonce, Amount, Amount)> {
    (0..KEYS.len(), 0..8u64, 1..20u128, 0..60u128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn select_is_nonce_contiguous_and_within_limits(
        states in proptest::collection::vec((0..3u64, 0..300u128), KEYS.len()),
        txs in proptest::collection::vec(arb_tx(), 0..40),
        max_pool in 1..30usize,
        max_txs in 0..30usize,
        max_bytes_in_txs in 0..30usize,
        after_nonce_bump in proptest::collection::vec(0..3u64, KEYS.len()),
    ) {
        let accounts = KEYS.iter().zip(&states).fold(Accounts::default(), |acc, (key, &(nonce, balance))| {
            acc.with(key, balance, nonce)
        });
        let config = MempoolConfig { max_txs: max_pool, max_per_sender: 5, ..config() };
        let mut pool = Mempool::new(config.clone());
        let nonces = |pool: &Mempool, key: &SecretKey| -> Vec<Nonce> {
            pool.index.sender_txs(&key.address()).map(|tx| tx.tx().nonce).collect()
        };
        for &(who, nonce, fee, amount) in &txs {
            let before: Vec<_> = KEYS.iter().map(|key| nonces(&pool, key)).collect();
            let _ = pool.insert(transfer(&KEYS[who], nonce, fee, amount), CHAIN, &accounts);
            // Another sender's insert only ever takes transactions off the top of a sender's nonces.
            for (i, key) in KEYS.iter().enumerate().filter(|&(i, _)| i != who) {
                prop_assert!(before[i].starts_with(&nonces(&pool, key)));
            }
            prop_assert!(pool.len() <= config.max_txs);
            prop_assert!(pool.bytes() <= config.max_bytes);
            prop_assert!(KEYS.iter().all(|k| pool.pending_count(&k.address()) <= config.max_per_sender));
        }

        // Select against the state it was built on and against a later one with stale entries.
        let later = KEYS.iter().zip(states.iter().zip(&after_nonce_bump))
            .fold(Accounts::default(), |acc, (key, (&(nonce, balance), &bump))| {
                acc.with(key, balance / 2, nonce + bump)
            });
        // Not a multiple of the transaction size, so a remainder is left unused.
        let max_bytes = max_bytes_in_txs * tx_len() + max_bytes_in_txs;
        for state in [&accounts, &later] {
            let selected = pool.select(max_txs, max_bytes, state);
            prop_assert!(selected.len() <= max_txs);
            prop_assert!(selected.iter().map(VerifiedTransaction::encoded_len).sum::<usize>() <= max_bytes);
            let mut next: BTreeMap<Address, (Nonce, Amount)> = BTreeMap::new();
            for tx in &selected {
                prop_assert!(pool.contains(&tx.hash()));
                let account = state.account(&tx.sender());
                let (nonce, balance) = next.entry(tx.sender()).or_insert((account.nonce, account.balance));
                prop_assert_eq!(tx.tx().nonce, *nonce);
                let cost = cost(tx.tx()).expect("small generated values");
                prop_assert!(cost <= *balance);
                *nonce += 1;
                *balance -= cost;
            }
            prop_assert_eq!(hashes(&pool.select(max_txs, max_bytes, state)), hashes(&selected));
        }

        // After pruning against the later state, everything left is affordable in nonce order.
        pool.prune(&later);
        for key in KEYS.iter() {
            let account = later.account(&key.address());
            let txs: Vec<_> = pool.index.sender_txs(&key.address()).collect();
            prop_assert!(txs.iter().all(|tx| tx.tx().nonce >= account.nonce));
            let costs: Option<Amount> = txs.iter().map(|tx| cost(tx.tx())).sum();
            prop_assert!(costs.is_some_and(|c| c <= account.balance));
        }
    }
}
