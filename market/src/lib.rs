//! `joule-market`: signed offers and bids, their validation, the order book, matching, provider
//! pricing and capacity, and job tracking. Chain state reaches it through [`ChainView`].

#![warn(missing_docs)]

pub mod chain;

pub use chain::{ChainView, ProviderView, collateral_from_params};
