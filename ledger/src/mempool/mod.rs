//! The transaction pool: signed transactions waiting for a block.
//!
//! [`Mempool::insert`] checks a transaction's signature once, on entry (through
//! [`SignedTransaction::verify`]), and then judges it against the sender's account: nonce not
//! stale nor too far ahead, fee at least the minimum, balance enough for the fees and values of
//! all the sender's pooled transactions. A transaction with the same sender and nonce as a pooled
//! one replaces it only if it pays [`MempoolConfig::replace_bump_percent`] more. The pool is
//! bounded in transactions, bytes and transactions per sender; when full, a new transaction may
//! evict the cheapest *last* transaction of another sender (never one in the middle, so no sender
//! is left with a nonce gap) if it pays strictly more.
//!
//! [`Mempool::select`] builds a block's transaction list: each sender's transactions in nonce
//! order starting exactly at its account nonce, senders interleaved by the fee of their next
//! transaction (ties broken by hash). After a block, [`Mempool::remove_included`] and
//! [`Mempool::prune`] drop what was included or can no longer execute.
//!
//! Everything is kept in ordered maps, so the same inserts in the same order give the same pool
//! and the same selections on every node.

mod error;
mod index;
mod select;
#[cfg(test)]
mod tests;

use tracing::{debug, trace};

pub use error::MempoolError;
use index::TxIndex;

use crate::primitives::{Address, Amount, ChainId, Hash, Nonce};
use crate::state::AccountReader;
use crate::tx::{Call, SignedTransaction, Transaction, VerifiedTransaction};

/// Limits and prices of a [`Mempool`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions pooled at once.
    pub max_txs: usize,
    /// Most encoded bytes pooled at once.
    pub max_bytes: usize,
    /// Most transactions pooled for one sender.
    pub max_per_sender: usize,
    /// How far ahead of the sender's account nonce a transaction's nonce may be (0: only the next
    /// executable nonce is accepted).
    pub max_nonce_gap: u64,
    /// Smallest fee accepted.
    pub min_fee: Amount,
    /// How much more (in percent of the old fee, rounded up, and at least 1) a transaction must
    /// pay to replace a pooled one with the same sender and nonce.
    pub replace_bump_percent: u32,
}

impl Default for MempoolConfig {
    /// 10,000 transactions, 64 MiB, 64 per sender and at most 64 nonces ahead, fee at least 1,
    /// replacements 10 % dearer.
    fn default() -> Self {
        MempoolConfig {
            max_txs: 10_000,
            max_bytes: 64 * 1024 * 1024,
            max_per_sender: 64,
            max_nonce_gap: 64,
            min_fee: 1,
            replace_bump_percent: 10,
        }
    }
}

/// What [`Mempool::insert`] did with an accepted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The transaction was added.
    Added {
        /// Its hash.
        hash: Hash,
        /// Transactions of other senders evicted to make room, in eviction order.
        evicted: Vec<Hash>,
    },
    /// The transaction took the place of a cheaper one with the same sender and nonce.
    Replaced {
        /// Its hash.
        hash: Hash,
        /// The transaction it replaced.
        replaced: Hash,
        /// Transactions of other senders evicted to make room, in eviction order.
        evicted: Vec<Hash>,
    },
}

impl Inserted {
    /// The accepted transaction's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Inserted::Added { hash, .. } | Inserted::Replaced { hash, .. } => *hash,
        }
    }

    /// Transactions evicted to make room for it.
    pub fn evicted(&self) -> &[Hash] {
        match self {
            Inserted::Added { evicted, .. } | Inserted::Replaced { evicted, .. } => evicted,
        }
    }
}

/// The pool of verified transactions waiting for a block. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Mempool {
    config: MempoolConfig,
    index: TxIndex,
}

impl Mempool {
    /// An empty pool with `config`.
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            index: TxIndex::default(),
        }
    }

    /// The pool's limits and prices.
    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// Verifies `tx` for `chain_id` and pools it if the sender's account (read from `accounts`)
    /// and the pool's limits allow; see [`MempoolError`] for every reason it may be refused.
    pub fn insert(
        &mut self,
        tx: SignedTransaction,
        chain_id: ChainId,
        accounts: &impl AccountReader,
    ) -> Result<Inserted, MempoolError> {
        let result = self.try_insert(tx, chain_id, accounts);
        match &result {
            Ok(Inserted::Added { hash, evicted }) => {
                debug!(target: "ledger::mempool", %hash, evicted = evicted.len(), len = self.len(), "added transaction");
            }
            Ok(Inserted::Replaced {
                hash,
                replaced,
                evicted,
            }) => {
                debug!(target: "ledger::mempool", %hash, %replaced, evicted = evicted.len(), len = self.len(), "replaced transaction");
            }
            Err(err) => trace!(target: "ledger::mempool", %err, "refused transaction"),
        }
        result
    }

    fn try_insert(
        &mut self,
        tx: SignedTransaction,
        chain_id: ChainId,
        accounts: &impl AccountReader,
    ) -> Result<Inserted, MempoolError> {
        // Hashing is cheap next to signature recovery: drop gossip duplicates before recovering.
        let hash = tx.hash();
        if self.index.get(&hash).is_some() {
            return Err(MempoolError::Duplicate { hash });
        }
        let tx = tx.verify(chain_id)?;
        let (sender, nonce, fee) = (tx.sender(), tx.tx().nonce, tx.tx().fee);
        if fee < self.config.min_fee {
            return Err(MempoolError::FeeTooLow {
                fee,
                min_fee: self.config.min_fee,
            });
        }

        let account = accounts.account(&sender);
        if nonce < account.nonce {
            return Err(MempoolError::StaleNonce {
                sender,
                nonce,
                account_nonce: account.nonce,
            });
        }
        if nonce - account.nonce > self.config.max_nonce_gap {
            return Err(MempoolError::NonceGap {
                sender,
                nonce,
                account_nonce: account.nonce,
                max_gap: self.config.max_nonce_gap,
            });
        }

        let existing = self
            .index
            .at(&sender, nonce)
            .map(|old| (old.hash(), old.tx().fee, old.encoded_len()));
        if let Some((existing, existing_fee, _)) = existing {
            let required = replacement_fee(existing_fee, self.config.replace_bump_percent);
            if fee < required {
                return Err(MempoolError::ReplacementUnderpriced {
                    existing,
                    existing_fee,
                    required,
                    fee,
                });
            }
        } else if self.index.sender_len(&sender) >= self.config.max_per_sender {
            return Err(MempoolError::SenderFull {
                sender,
                pending: self.index.sender_len(&sender),
            });
        }

        // The sender must afford every pooled transaction still to execute, this one included.
        let required = self
            .index
            .sender_txs(&sender)
            .filter(|pooled| pooled.tx().nonce >= account.nonce && pooled.tx().nonce != nonce)
            .map(|pooled| cost(pooled.tx()))
            .chain([cost(tx.tx())])
            .try_fold(0, |sum: Amount, cost| sum.checked_add(cost?));
        if required.is_none_or(|required| required > account.balance) {
            return Err(MempoolError::InsufficientFunds {
                sender,
                balance: account.balance,
                required: required.unwrap_or(Amount::MAX),
            });
        }

        let (replaced_txs, replaced_bytes) = existing.map_or((0, 0), |(_, _, len)| (1, len));
        let len_after = self.index.len() + 1 - replaced_txs;
        let bytes_after = self.index.bytes() - replaced_bytes + tx.encoded_len();
        let need_txs = len_after.saturating_sub(self.config.max_txs);
        let need_bytes = bytes_after.saturating_sub(self.config.max_bytes);
        let evicted = if need_txs == 0 && need_bytes == 0 {
            Vec::new()
        } else {
            let plan = (tx.encoded_len() <= self.config.max_bytes)
                .then(|| self.index.plan_eviction(&sender, fee, need_txs, need_bytes))
                .flatten();
            plan.ok_or(MempoolError::PoolFull {
                len: self.index.len(),
                max_txs: self.config.max_txs,
                bytes: self.index.bytes(),
                max_bytes: self.config.max_bytes,
                fee,
                needed_bytes: tx.encoded_len(),
            })?
        };

        for victim in &evicted {
            self.index.remove(victim);
            debug!(target: "ledger::mempool", hash = %victim, by = %hash, "evicted transaction");
        }
        let replaced = existing.map(|(old, _, _)| old);
        if let Some(old) = &replaced {
            self.index.remove(old);
        }
        self.index.insert(tx);
        Ok(match replaced {
            Some(replaced) => Inserted::Replaced {
                hash,
                replaced,
                evicted,
            },
            None => Inserted::Added { hash, evicted },
        })
    }

    /// Drops the transactions a block included; returns how many were pooled.
    pub fn remove_included<'a>(&mut self, hashes: impl IntoIterator<Item = &'a Hash>) -> usize {
        let removed = hashes
            .into_iter()
            .filter(|hash| self.index.remove(hash).is_some())
            .count();
        debug!(target: "ledger::mempool", removed, len = self.len(), "removed included transactions");
        removed
    }

    /// Drops every transaction that can no longer execute against `accounts` (the state after a
    /// block): nonces below the account nonce, and, in nonce order, each transaction from the first
    /// one whose fee and value the balance no longer covers. Returns how many were dropped.
    pub fn prune(&mut self, accounts: &impl AccountReader) -> usize {
        let mut doomed = Vec::new();
        for sender in self.index.senders() {
            let account = accounts.account(sender);
            let mut spent: Option<Amount> = Some(0);
            for tx in self.index.sender_txs(sender) {
                if tx.tx().nonce < account.nonce {
                    doomed.push(tx.hash());
                    continue;
                }
                // `spent` only grows, so once over the balance every later nonce is dropped too.
                spent = spent
                    .zip(cost(tx.tx()))
                    .and_then(|(sum, cost)| sum.checked_add(cost));
                if spent.is_none_or(|spent| spent > account.balance) {
                    doomed.push(tx.hash());
                }
            }
        }
        for hash in &doomed {
            self.index.remove(hash);
        }
        debug!(target: "ledger::mempool", pruned = doomed.len(), len = self.len(), "pruned mempool");
        doomed.len()
    }

    /// The pooled transaction with `hash`.
    pub fn get(&self, hash: &Hash) -> Option<&VerifiedTransaction> {
        self.index.get(hash)
    }

    /// Whether a transaction with `hash` is pooled.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.index.get(hash).is_some()
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Total encoded bytes of the pooled transactions.
    pub fn bytes(&self) -> usize {
        self.index.bytes()
    }

    /// Number of transactions `sender` has pooled (executable or not).
    pub fn pending_count(&self, sender: &Address) -> usize {
        self.index.sender_len(sender)
    }

    /// The nonce `sender`'s next transaction should carry: its account nonce plus the pooled
    /// transactions that follow it without a gap.
    pub fn pending_nonce(&self, sender: &Address, accounts: &impl AccountReader) -> Nonce {
        let mut nonce = accounts.account(sender).nonce;
        while self.index.at(sender, nonce).is_some() {
            match nonce.checked_add(1) {
                Some(next) => nonce = next,
                None => break,
            }
        }
        nonce
    }
}

/// What a transaction can take from its sender's balance: the fee plus the value the call moves.
/// `None` if that overflows (no balance covers it).
fn cost(tx: &Transaction) -> Option<Amount> {
    let value = match &tx.call {
        Call::Transfer { amount, .. } => *amount,
        Call::RegisterProvider { stake: amount } | Call::AddStake { amount } => *amount,
        // Publish fees and challenge bonds depend on genesis parameters; the executor checks
        // them and fails the call (keeping the fee) if the sender cannot pay.
        Call::Unbond { .. }
        | Call::Withdraw
        | Call::PublishModule { .. }
        | Call::PublishInput { .. }
        | Call::Match { .. }
        | Call::CommitResult { .. }
        | Call::RevealResult { .. }
        | Call::Challenge { .. } => 0,
    };
    tx.fee.checked_add(value)
}

/// The smallest fee that replaces a pooled transaction paying `old`: `bump_percent` more, rounded
/// up, and at least one more.
fn replacement_fee(old: Amount, bump_percent: u32) -> Amount {
    let bump = old
        .saturating_mul(Amount::from(bump_percent))
        .div_ceil(100)
        .max(1);
    old.saturating_add(bump)
}
