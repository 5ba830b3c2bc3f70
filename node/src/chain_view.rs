//! The market's [`ChainView`] over the committed chain state, read through the contracts' tables.

use joule_contracts::state::{MarketState, Phase};
use joule_ledger::state::StateOverlay;
use joule_ledger::store::StoreError;
use joule_ledger::{Address, Amount, BlockNumber, Chain, Hash};
use joule_market::{ChainView, ProviderView};
use tracing::warn;

/// The committed state at the head, as the market asks about it. A read error is logged and
/// answered conservatively (no balance, no provider, match closed), so a bad disk refuses orders
/// instead of accepting them.
#[derive(Debug)]
pub struct CommittedView<'a> {
    chain: &'a Chain,
    state: StateOverlay,
    head: BlockNumber,
}

impl<'a> CommittedView<'a> {
    /// A view of `chain` at its current head.
    pub fn new(chain: &'a Chain) -> Self {
        CommittedView {
            chain,
            state: StateOverlay::new(chain.store().clone()),
            head: chain.head().number,
        }
    }
}

fn logged<T>(result: Result<T, StoreError>, fallback: T) -> T {
    result.unwrap_or_else(|e| {
        warn!(target: "node::market", error = %e, "reading chain state for the order book failed");
        fallback
    })
}

impl ChainView for CommittedView<'_> {
    fn head(&self) -> BlockNumber {
        self.head
    }

    fn balance(&self, account: &Address) -> Amount {
        logged(self.state.account(account).map(|a| a.balance), 0)
    }

    fn provider(&self, provider: &Address) -> Option<ProviderView> {
        logged(self.state.provider(provider), None).map(|p| ProviderView {
            free_stake: p.free_stake(),
            active_jobs: p.active_jobs,
            reputation: p.reputation.score(),
        })
    }

    fn module_exists(&self, code_hash: &Hash) -> bool {
        logged(self.state.has_module(code_hash), false)
    }

    fn input_exists(&self, input_hash: &Hash) -> bool {
        logged(self.state.input(input_hash).map(|i| i.is_some()), false)
    }

    fn matches_of(&self, job: &Hash) -> u8 {
        logged(self.state.job(job), None).map_or(0, |j| j.assignments.len() as u8)
    }

    fn has_matched(&self, job: &Hash, provider: &Address) -> bool {
        logged(self.state.job(job), None)
            .is_some_and(|j| j.assignments.iter().any(|a| a.provider == *provider))
    }

    fn match_open(&self, job: &Hash) -> bool {
        match logged(self.state.job(job).map(Some), None) {
            None => false,
            Some(None) => true,
            Some(Some(j)) => {
                j.phase == Phase::Committing
                    && self.head < j.match_until(self.chain.genesis().market.match_blocks)
            }
        }
    }

    fn collateral(&self, fuel_limit: u64, price_per_fuel: Amount) -> Option<Amount> {
        let escrow = Amount::from(fuel_limit).checked_mul(price_per_fuel)?;
        self.chain.genesis().market.collateral(escrow)
    }
}
