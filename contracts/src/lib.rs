//! `joule-contracts`: the state transition of every market call.
//!
//! [`MarketExecutor`] implements the ledger's `Executor`: it charges the fee, applies the call
//! (transfers, [`staking`](crate::staking) calls, publishing, and the job calls `Match`,
//! `CommitResult`, `RevealResult`, `Challenge`) and, at the end of each block, moves jobs through
//! their deadlines: reveal evaluation, random audits, arbitration by re-execution with
//! `joule-vm`, settlement and slashing. Every refusal is a [`CallError`].
//!
//! State lives in the ledger's state map under the market's keys ([`state`]); credits move only
//! through one module that keeps the [`MarketTotals`] in step, so that
//! `Σ balances + escrow + stake + bonds + burned` is the genesis supply at every block.
//!
//! Good starting points: [`MarketExecutor::apply_call`], [`state::Job`], [`settle`].

mod bank;
mod due;
pub mod error;
mod executor;
pub mod jobs;
mod registry;
pub mod result;
pub mod settle;
pub mod sim;
mod staking;
pub mod state;

pub use error::CallError;
pub use executor::MarketExecutor;
pub use result::{job_limits, result_of, status_code};
pub use settle::audit_selected;
pub use state::{Assignment, Cause, Job, MarketState, MarketTotals, Phase, Provider, Reputation};
