//! `joule-market`: signed offers and bids, their validation, the order book, matching, provider
//! pricing and capacity, and job tracking. Chain state reaches it through [`ChainView`].

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
pub use chain::{ChainView, ProviderView, collateral_from_params};
pub use jobs::{Job, JobError, JobEvent, JobTracker, Phase, ProviderJobs, Replica};
pub use matching::{Match, match_all, match_bid, match_provider};
pub use strategy::{ProviderStrategy, StrategyConfig, StrategyError};
pub use validate::{
    BidError, OfferError, VerifiedBid, VerifiedOffer, check_bid, check_bid_with_chain, check_offer,
    check_offer_with_chain, is_live, verify_bid, verify_offer,
};
