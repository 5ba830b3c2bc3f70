//! `joule-market`: the off-chain half of Joule's compute market.
//!
//! Providers gossip signed [offers](joule_ledger::Offer) and requesters post signed
//! [bids](joule_ledger::Bid); a provider whose offer fits a bid sends `Call::Match` and the chain
//! locks escrow and collateral. This crate decides which orders a node keeps and which matches
//! are worth sending. It has no networking and no storage: the node feeds it orders from gossip
//! and JSON-RPC and events from committed blocks, and reads chain state for it through
//! [`ChainView`].
//!
//! A tour, in the order an order travels:
//!
//! 1. [`validate`]: [`verify_bid`] / [`verify_offer`] check fields against the genesis
//!    [`MarketParams`](joule_ledger::genesis::MarketParams), expiry, chain id and signature, and
//!    return a [`VerifiedBid`] / [`VerifiedOffer`]; [`check_bid_with_chain`] and
//!    [`check_offer_with_chain`] add what needs state (balance, module, stake).
//! 2. [`book`]: the [`OrderBook`] keeps verified orders in price-time priority, one offer per
//!    provider, bounded by [`BookLimits`], and forgets expired and filled orders.
//! 3. [`matching`]: [`match_all`], [`match_bid`] and [`match_provider`] turn the book into the
//!    [`Match`]es the chain would accept, deterministically, and report providers that can take
//!    no more work this block so the book can park their offers.
//! 4. [`strategy`]: a provider's [`StrategyConfig`] becomes its offer and its pick of bids
//!    ([`ProviderStrategy`]).
//! 5. [`jobs`]: after matching, [`JobTracker`] (requester) and [`ProviderJobs`] (provider) follow
//!    each job from posted to settled, disputed or expired.
//!
//! Good starting points: [`OrderBook`], [`match_all`], [`ChainView`].
//!
//! Conventions: an order's `expiry` / `deadline` is the last block it may be matched in; at
//! head `h` an order is live while `expiry > h` ([`is_live`]). Signatures are checked once, on
//! entry ([`verify_bid`]); the book and the matcher never check them again.

#![warn(missing_docs)]

pub mod book;
pub mod chain;
pub mod jobs;
pub mod matching;
pub mod strategy;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod validate;

pub use book::{
    Arrival, BidEntry, BidInserted, BookError, BookLimits, Expired, Fill, OfferEntry,
    OfferInserted, OrderBook,
};
pub use chain::{ChainView, ProviderView};
pub use jobs::{Job, JobError, JobEvent, JobTracker, Phase, ProviderJobs, Replica};
pub use matching::{Match, Proposal, match_all, match_bid, match_provider};
pub use strategy::{ProviderStrategy, StrategyConfig, StrategyError};
pub use validate::{
    BidError, OfferError, VerifiedBid, VerifiedOffer, check_bid, check_bid_with_chain, check_offer,
    check_offer_with_chain, is_live, verify_bid, verify_offer,
};
