//! Why the mempool refused a transaction.

use crate::primitives::{Address, Amount, Hash, Nonce};
use crate::tx::TxError;

/// Why [`Mempool::insert`](super::Mempool::insert) refused a transaction. Every variant names the
/// values that decided it, so RPC can hand the message to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The transaction failed the stateless checks of
    /// [`SignedTransaction::verify`](crate::tx::SignedTransaction::verify): bad signature,
    /// wrong chain, or too large.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// A transaction with this hash is already pooled.
    #[error("transaction {hash} is already in the mempool")]
    Duplicate {
        /// The transaction's hash.
        hash: Hash,
    },
    /// The fee is below the pool's minimum.
    #[error("fee {fee} is below the mempool minimum {min_fee}")]
    FeeTooLow {
        /// The transaction's fee.
        fee: Amount,
        /// The configured minimum.
        min_fee: Amount,
    },
    /// The nonce was already used: it is below the sender's account nonce.
    #[error("nonce {nonce} of {sender} is stale: the account is at nonce {account_nonce}")]
    StaleNonce {
        /// The sender.
        sender: Address,
        /// The transaction's nonce.
        nonce: Nonce,
        /// The sender's account nonce.
        account_nonce: Nonce,
    },
    /// The nonce is too far ahead of the sender's account nonce.
    #[error(
        "nonce {nonce} of {sender} is more than {max_gap} ahead of the account nonce {account_nonce}"
    )]
    NonceGap {
        /// The sender.
        sender: Address,
        /// The transaction's nonce.
        nonce: Nonce,
        /// The sender's account nonce.
        account_nonce: Nonce,
        /// The largest distance allowed between the two.
        max_gap: u64,
    },
    /// A pooled transaction has the same sender and nonce, and this one does not pay enough more
    /// to replace it.
    #[error(
        "replacing transaction {existing} (fee {existing_fee}) needs a fee of at least {required}, got {fee}"
    )]
    ReplacementUnderpriced {
        /// The pooled transaction with the same sender and nonce.
        existing: Hash,
        /// Its fee.
        existing_fee: Amount,
        /// The smallest fee that replaces it.
        required: Amount,
        /// The new transaction's fee.
        fee: Amount,
    },
    /// The sender already has as many pooled transactions as one account may.
    #[error("{sender} already has {pending} pooled transactions, the limit per sender")]
    SenderFull {
        /// The sender.
        sender: Address,
        /// Its pooled transactions (the limit).
        pending: usize,
    },
    /// The sender's balance does not cover the fees and values of its pooled transactions plus
    /// this one.
    #[error("{sender} has balance {balance}, its pooled transactions need {required}")]
    InsufficientFunds {
        /// The sender.
        sender: Address,
        /// The sender's balance.
        balance: Amount,
        /// Fees plus values of the sender's pooled transactions with this one (saturated at
        /// `Amount::MAX` if the sum overflows).
        required: Amount,
    },
    /// The pool is at its size limit and no other sender's last transaction pays less than this
    /// one, so nothing can be evicted for it.
    #[error(
        "mempool is full ({len}/{max_txs} transactions, {bytes}/{max_bytes} bytes) and nothing \
         cheaper than fee {fee} can be evicted for {needed_bytes} bytes"
    )]
    PoolFull {
        /// Pooled transactions.
        len: usize,
        /// The limit on pooled transactions.
        max_txs: usize,
        /// Pooled bytes.
        bytes: usize,
        /// The limit on pooled bytes.
        max_bytes: usize,
        /// The new transaction's fee.
        fee: Amount,
        /// The new transaction's encoded size.
        needed_bytes: usize,
    },
}
