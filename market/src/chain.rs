//! What the market needs to know about the chain, as a small trait the node implements.
//!
//! The market does not read contract state itself: the node adapts whatever the contracts store
//! to [`ChainView`], and tests use the in-memory `testing::MemChain` (feature `test-utils`).
//! Every question is about the state at [`ChainView::head`], the last committed block; a `Match`
//! sent now lands in `head + 1` at the earliest.

use joule_ledger::{Address, Amount, BlockNumber, Hash};

/// A registered provider as the chain sees it at the head block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderView {
    /// Bonded stake not locked as collateral of a running job.
    pub free_stake: Amount,
    /// Jobs it is matched to that are not settled or expired yet.
    pub active_jobs: u32,
    /// Its reputation score, which a bid's `min_reputation` is compared with.
    pub reputation: u64,
}

/// Read access to the chain state the market judges orders against.
pub trait ChainView {
    /// The last committed block.
    fn head(&self) -> BlockNumber;
    /// An account's spendable balance (zero for an unknown account).
    fn balance(&self, account: &Address) -> Amount;
    /// A registered provider, `None` if the address never registered.
    fn provider(&self, provider: &Address) -> Option<ProviderView>;
    /// Whether a module with this code hash is published.
    fn module_exists(&self, code_hash: &Hash) -> bool;
    /// Whether an input with this hash is published (for `JobInput::Stored`).
    fn input_exists(&self, input_hash: &Hash) -> bool;
    /// How many providers the chain has matched to this job (its bid's id) so far.
    fn matches_of(&self, job: &Hash) -> u8;
    /// Whether this provider is already matched to this job.
    fn has_matched(&self, job: &Hash, provider: &Address) -> bool;
    /// Whether a `Match` for this job can still land in block `head + 1`: true for a job the
    /// chain has not seen; false once the job's match window (first match + `match_blocks`,
    /// capped at the bid's deadline) is over or the job moved past matching.
    fn match_open(&self, job: &Hash) -> bool;
    /// Collateral the chain locks from a provider's free stake for one replica of a job with
    /// this fuel limit at this price; `None` if it cannot be computed (overflow). The rule is
    /// the genesis parameters' (`MarketParams::collateral` of fuel limit × price).
    fn collateral(&self, fuel_limit: u64, price_per_fuel: Amount) -> Option<Amount>;
}
