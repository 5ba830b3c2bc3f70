//! Choosing the transactions for the next block.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use tracing::debug;

use super::{Mempool, cost};
use crate::primitives::{Amount, Hash};
use crate::state::AccountReader;
use crate::tx::VerifiedTransaction;

/// A sender's next executable transaction, ranked by fee, then by lower hash.
struct Candidate<'a> {
    tx: &'a VerifiedTransaction,
    /// The sender's balance left after this transaction and the ones selected before it.
    balance_left: Amount,
}

impl Candidate<'_> {
    fn key(&self) -> (Amount, Reverse<Hash>) {
        (self.tx.tx().fee, Reverse(self.tx.hash()))
    }
}

impl PartialEq for Candidate<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Candidate<'_> {}

impl PartialOrd for Candidate<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Mempool {
    /// The transactions for the next block on top of `accounts`, in execution order: at most
    /// `max_txs` of them and `max_bytes` encoded bytes.
    ///
    /// Each sender's transactions come in nonce order starting exactly at its account nonce and
    /// stop at the first gap or at the first one its balance no longer covers. Across senders, the
    /// highest fee of each sender's next transaction goes first (ties: lower hash first). A
    /// transaction that does not fit in the bytes left ends its sender's run, since the later
    /// nonces need it first; smaller transactions of other senders may still fill the block.
    pub fn select(
        &self,
        max_txs: usize,
        max_bytes: usize,
        accounts: &impl AccountReader,
    ) -> Vec<VerifiedTransaction> {
        let mut heap = BinaryHeap::new();
        for sender in self.index.senders() {
            let account = accounts.account(sender);
            if let Some(tx) = self.index.at(sender, account.nonce)
                && let Some(balance_left) =
                    cost(tx.tx()).and_then(|c| account.balance.checked_sub(c))
            {
                heap.push(Candidate { tx, balance_left });
            }
        }

        let mut selected = Vec::new();
        let mut bytes = 0usize;
        while selected.len() < max_txs
            && let Some(Candidate { tx, balance_left }) = heap.pop()
        {
            let len = tx.encoded_len();
            if len > max_bytes - bytes {
                continue;
            }
            bytes += len;
            selected.push(tx.clone());
            let next = tx
                .tx()
                .nonce
                .checked_add(1)
                .and_then(|nonce| self.index.at(&tx.sender(), nonce));
            if let Some(next) = next
                && let Some(balance_left) =
                    cost(next.tx()).and_then(|c| balance_left.checked_sub(c))
            {
                heap.push(Candidate {
                    tx: next,
                    balance_left,
                });
            }
        }
        debug!(target: "ledger::mempool", selected = selected.len(), bytes, pooled = self.len(), "selected transactions");
        selected
    }
}
