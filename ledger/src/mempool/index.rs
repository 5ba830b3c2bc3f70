//! The pool's storage: transactions by hash, by sender and nonce, and the eviction candidates.
//!
//! [`TxIndex`] keeps the three views consistent and knows nothing of policy; the checks live in
//! [`Mempool`](super::Mempool).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::primitives::{Address, Amount, Hash, Nonce};
use crate::tx::VerifiedTransaction;

/// Pooled transactions, indexed three ways. All maps are ordered, so every iteration (and so every
/// result built from one) is deterministic.
#[derive(Debug, Default)]
pub(super) struct TxIndex {
    by_hash: BTreeMap<Hash, VerifiedTransaction>,
    by_sender: BTreeMap<Address, BTreeMap<Nonce, Hash>>,
    /// The highest-nonce transaction of each sender, by `(fee, hash)`. Only these may be evicted:
    /// removing a sender's last transaction never leaves a gap in its nonces.
    tails: BTreeSet<(Amount, Hash)>,
    bytes: usize,
}

impl TxIndex {
    pub(super) fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn get(&self, hash: &Hash) -> Option<&VerifiedTransaction> {
        self.by_hash.get(hash)
    }

    /// The pooled transaction of `sender` with `nonce`.
    pub(super) fn at(&self, sender: &Address, nonce: Nonce) -> Option<&VerifiedTransaction> {
        let hash = self.by_sender.get(sender)?.get(&nonce)?;
        self.by_hash.get(hash)
    }

    /// How many transactions `sender` has pooled.
    pub(super) fn sender_len(&self, sender: &Address) -> usize {
        self.by_sender.get(sender).map_or(0, BTreeMap::len)
    }

    /// Every sender with pooled transactions, in address order.
    pub(super) fn senders(&self) -> impl Iterator<Item = &Address> {
        self.by_sender.keys()
    }

    /// The pooled transactions of `sender`, in nonce order.
    pub(super) fn sender_txs(
        &self,
        sender: &Address,
    ) -> impl Iterator<Item = &VerifiedTransaction> {
        self.by_sender
            .get(sender)
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter_map(|hash| self.by_hash.get(hash))
    }

    /// Adds `tx`. The caller has made sure neither its hash nor its (sender, nonce) is pooled.
    pub(super) fn insert(&mut self, tx: VerifiedTransaction) {
        let (sender, nonce, hash) = (tx.sender(), tx.tx().nonce, tx.hash());
        let new_tail = (tx.tx().fee, hash);
        let old_tail = self.tail_of(&sender);
        let nonces = self.by_sender.entry(sender).or_default();
        let becomes_tail = nonces
            .last_key_value()
            .is_none_or(|(&last, _)| last < nonce);
        nonces.insert(nonce, hash);
        if becomes_tail {
            if let Some(old) = old_tail {
                self.tails.remove(&old);
            }
            self.tails.insert(new_tail);
        }
        self.bytes += tx.encoded_len();
        self.by_hash.insert(hash, tx);
    }

    /// Removes the transaction with `hash`, if pooled, and gives it back.
    pub(super) fn remove(&mut self, hash: &Hash) -> Option<VerifiedTransaction> {
        let tx = self.by_hash.remove(hash)?;
        let sender = tx.sender();
        self.bytes -= tx.encoded_len();
        if let Some(nonces) = self.by_sender.get_mut(&sender) {
            let was_tail = nonces.last_key_value().map(|(_, h)| h) == Some(hash);
            nonces.remove(&tx.tx().nonce);
            if nonces.is_empty() {
                self.by_sender.remove(&sender);
            }
            if was_tail {
                self.tails.remove(&(tx.tx().fee, *hash));
                if let Some(new_tail) = self.tail_of(&sender) {
                    self.tails.insert(new_tail);
                }
            }
        }
        Some(tx)
    }

    /// The `(fee, hash)` of `sender`'s highest-nonce transaction.
    fn tail_of(&self, sender: &Address) -> Option<(Amount, Hash)> {
        let (_, hash) = self.by_sender.get(sender)?.last_key_value()?;
        let tx = self.by_hash.get(hash)?;
        Some((tx.tx().fee, *hash))
    }

    /// Picks transactions to evict so that `need_txs` more transactions and `need_bytes` more bytes
    /// fit, or `None` if that cannot be done. Victims are taken cheapest first (ties: lower hash
    /// first), each one the highest-nonce transaction of its sender at that point (so no sender is
    /// left with a gap), none from `protected`, and each paying strictly less than `fee`.
    pub(super) fn plan_eviction(
        &self,
        protected: &Address,
        fee: Amount,
        need_txs: usize,
        need_bytes: usize,
    ) -> Option<Vec<Hash>> {
        let mut victims = Vec::new();
        let (mut freed_txs, mut freed_bytes) = (0usize, 0usize);
        let mut tails = self
            .tails
            .iter()
            .copied()
            .filter(|(_, hash)| {
                self.by_hash
                    .get(hash)
                    .is_some_and(|tx| tx.sender() != *protected)
            })
            .peekable();
        // Transactions that became their sender's last once the ones above them were picked.
        let mut exposed: BinaryHeap<Reverse<(Amount, Hash)>> = BinaryHeap::new();
        while freed_txs < need_txs || freed_bytes < need_bytes {
            let take_exposed = match (tails.peek(), exposed.peek()) {
                (Some(tail), Some(Reverse(open))) => open < tail,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let (victim_fee, victim) = if take_exposed {
                exposed.pop().map(|Reverse(entry)| entry)
            } else {
                tails.next()
            }?;
            if victim_fee >= fee {
                return None;
            }
            let tx = self.by_hash.get(&victim)?;
            freed_txs += 1;
            freed_bytes += tx.encoded_len();
            victims.push(victim);
            let below = self
                .by_sender
                .get(&tx.sender())
                .and_then(|nonces| nonces.range(..tx.tx().nonce).next_back());
            if let Some((_, hash)) = below
                && let Some(prev) = self.by_hash.get(hash)
            {
                exposed.push(Reverse((prev.tx().fee, *hash)));
            }
        }
        Some(victims)
    }
}
