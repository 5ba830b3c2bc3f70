//! Keeps the order book in step with the chain: each committed block removes the replicas it
//! matched and the orders that expired.

use std::sync::Arc;

use joule_ledger::{Chain, Event, Header};
use joule_market::OrderBook;
use parking_lot::Mutex;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, warn};

/// Applies one committed block to the book.
pub fn apply_block(chain: &Chain, book: &Mutex<OrderBook>, header: &Header) {
    let receipts = match chain.receipts(header.number) {
        Ok(r) => r.unwrap_or_default(),
        Err(e) => {
            warn!(target: "node::market", error = %e, number = header.number, "cannot read receipts for the order book");
            Vec::new()
        }
    };
    let mut book = book.lock();
    for event in receipts.iter().flat_map(|r| &r.events) {
        if let Event::Matched { job, provider, .. } = event
            && let Ok(fill) = book.on_matched(job, *provider)
        {
            debug!(target: "node::market", %job, %provider, ?fill, "bid matched on chain");
        }
    }
    let expired = book.on_new_head(header.number);
    debug!(target: "node::market", head = header.number, ?expired, "order book at new head");
}

/// Runs until the head channel closes.
pub async fn run(
    chain: Arc<Chain>,
    book: Arc<Mutex<OrderBook>>,
    mut heads: broadcast::Receiver<Header>,
) {
    loop {
        match heads.recv().await {
            Ok(header) => apply_block(&chain, &book, &header),
            Err(RecvError::Lagged(n)) => {
                // Catch up from the chain: apply the head we can still see.
                warn!(target: "node::market", skipped = n, "order book sync lagged");
                apply_block(&chain, &book, &chain.head());
            }
            Err(RecvError::Closed) => break,
        }
    }
}
