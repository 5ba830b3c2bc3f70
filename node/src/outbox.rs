//! Where this node's own transactions and offers go: the narrow interface a libp2p service will
//! implement by gossiping them as well as pooling them locally.
//!
//! [`LocalOutbox`] is the single-process form: transactions into the mempool (the same checks
//! `tx_submit` applies), offers into the order book after the same validation `market_submitBid`
//! applies to bids.

use std::sync::Arc;

use joule_ledger::mempool::{Mempool, MempoolError};
use joule_ledger::{Address, Chain, Hash, Nonce, SignedBid, SignedOffer, SignedTransaction};
use joule_market::{
    OrderBook, check_bid_with_chain, check_offer_with_chain, verify_bid, verify_offer,
};
use parking_lot::Mutex;

use crate::chain_view::CommittedView;

/// Why the outbox refused something.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The mempool refused the transaction.
    #[error("transaction refused: {0}")]
    Tx(#[from] MempoolError),
    /// The offer failed validation or the book refused it.
    #[error("offer refused: {0}")]
    Offer(String),
    /// The bid failed validation or the book refused it.
    #[error("bid refused: {0}")]
    Bid(String),
}

/// Publishes what this node signs.
pub trait Outbox: Send + Sync + std::fmt::Debug {
    /// Pools (and, with a network, gossips) a signed transaction; returns its hash.
    fn submit_tx(&self, tx: SignedTransaction) -> Result<Hash, OutboxError>;
    /// Whether a transaction is still waiting for a block.
    fn tx_pending(&self, hash: &Hash) -> bool;
    /// The nonce the sender's next transaction should use (pooled ones counted).
    fn next_nonce(&self, sender: &Address) -> Nonce;
    /// Puts a signed offer in the order book (and, with a network, gossips it).
    fn publish_offer(&self, offer: SignedOffer) -> Result<(), OutboxError>;
    /// Puts a signed bid in the order book (and, with a network, gossips it); returns the job
    /// id. A bid already in the book is accepted again without change.
    fn publish_bid(&self, bid: SignedBid) -> Result<Hash, OutboxError>;
}

/// The in-process outbox: this node's mempool and order book.
#[derive(Debug, Clone)]
pub struct LocalOutbox {
    chain: Arc<Chain>,
    mempool: Arc<Mutex<Mempool>>,
    book: Arc<Mutex<OrderBook>>,
}

impl LocalOutbox {
    /// Over the node's chain, mempool and book.
    pub fn new(
        chain: Arc<Chain>,
        mempool: Arc<Mutex<Mempool>>,
        book: Arc<Mutex<OrderBook>>,
    ) -> Self {
        LocalOutbox {
            chain,
            mempool,
            book,
        }
    }
}

impl Outbox for LocalOutbox {
    fn submit_tx(&self, tx: SignedTransaction) -> Result<Hash, OutboxError> {
        let hash = tx.hash();
        match self
            .mempool
            .lock()
            .insert(tx, self.chain.chain_id(), &*self.chain)
        {
            Ok(_) | Err(MempoolError::Duplicate { .. }) => Ok(hash),
            Err(e) => Err(e.into()),
        }
    }

    fn tx_pending(&self, hash: &Hash) -> bool {
        self.mempool.lock().contains(hash)
    }

    fn next_nonce(&self, sender: &Address) -> Nonce {
        self.mempool.lock().pending_nonce(sender, &*self.chain)
    }

    fn publish_offer(&self, offer: SignedOffer) -> Result<(), OutboxError> {
        let verified = verify_offer(offer, self.chain.chain_id(), self.chain.head().number)
            .map_err(|e| OutboxError::Offer(e.to_string()))?;
        check_offer_with_chain(&verified, &CommittedView::new(&self.chain))
            .map_err(|e| OutboxError::Offer(e.to_string()))?;
        self.book
            .lock()
            .insert_offer(verified)
            .map_err(|e| OutboxError::Offer(e.to_string()))?;
        Ok(())
    }

    fn publish_bid(&self, bid: SignedBid) -> Result<Hash, OutboxError> {
        let bid = verify_bid(
            bid,
            self.chain.chain_id(),
            &self.chain.genesis().market,
            self.chain.head().number,
        )
        .map_err(|e| OutboxError::Bid(e.to_string()))?;
        check_bid_with_chain(&bid, &CommittedView::new(&self.chain))
            .map_err(|e| OutboxError::Bid(e.to_string()))?;
        let id = bid.id();
        let mut book = self.book.lock();
        if book.bid(&id).is_none() {
            book.insert_bid(bid)
                .map_err(|e| OutboxError::Bid(e.to_string()))?;
        }
        Ok(id)
    }
}
