//! Helpers for tests and benches of this and other crates (feature `test-utils`): an in-memory
//! [`ChainView`] that records matches as the chain would, and order builders.

use std::collections::{HashMap, HashSet};

use joule_ledger::genesis::MarketParams;
use joule_ledger::{
    Address, Amount, Bid, BlockNumber, ChainId, Hash, JobInput, Nonce, Offer, Signature, SignedBid,
    SignedOffer,
};

use crate::chain::{ChainView, ProviderView};
use crate::matching::Match;
use crate::validate::{VerifiedBid, VerifiedOffer};

/// Chain id of the builders' orders.
pub const TEST_CHAIN: ChainId = 1337;

/// Chain state in hash maps. Fields are public so tests set up exactly what they need.
#[derive(Debug, Clone, Default)]
pub struct MemChain {
    /// The head block.
    pub head: BlockNumber,
    /// Genesis market parameters (for the collateral rule).
    pub params: MarketParams,
    /// Balances.
    pub balances: HashMap<Address, Amount>,
    /// Registered providers.
    pub providers: HashMap<Address, ProviderView>,
    /// Published modules.
    pub modules: HashSet<Hash>,
    /// Published inputs.
    pub inputs: HashSet<Hash>,
    /// Providers matched to each job, in match order.
    pub matches: HashMap<Hash, Vec<Address>>,
    /// Jobs whose match window is closed.
    pub closed: HashSet<Hash>,
}

impl MemChain {
    /// An empty chain at block 0.
    pub fn new(params: MarketParams) -> Self {
        MemChain {
            params,
            ..MemChain::default()
        }
    }

    /// Applies a match as the chain does (see [`MemChain::record`]).
    pub fn apply(&mut self, m: &Match<'_>) {
        self.record(
            m.job,
            m.provider(),
            m.bid.bid.requester,
            m.escrow,
            m.collateral,
        );
    }

    /// Records a match as the chain does: the provider joins the job, the escrow leaves the
    /// requester's balance, the collateral leaves the provider's free stake, and the provider
    /// has one more active job. Saturates rather than fails: tests check the matcher, not this.
    pub fn record(
        &mut self,
        job: Hash,
        provider: Address,
        requester: Address,
        escrow: Amount,
        collateral: Amount,
    ) {
        self.matches.entry(job).or_default().push(provider);
        let balance = self.balances.entry(requester).or_default();
        *balance = balance.saturating_sub(escrow);
        let view = self.providers.entry(provider).or_default();
        view.free_stake = view.free_stake.saturating_sub(collateral);
        view.active_jobs += 1;
    }

    /// Ends one of a provider's active jobs (as settlement would) and frees `collateral`.
    pub fn finish_job(&mut self, provider: &Address, collateral: Amount) {
        if let Some(view) = self.providers.get_mut(provider) {
            view.active_jobs = view.active_jobs.saturating_sub(1);
            view.free_stake = view.free_stake.saturating_add(collateral);
        }
    }
}

impl ChainView for MemChain {
    fn head(&self) -> BlockNumber {
        self.head
    }
    fn balance(&self, account: &Address) -> Amount {
        self.balances.get(account).copied().unwrap_or(0)
    }
    fn provider(&self, provider: &Address) -> Option<ProviderView> {
        self.providers.get(provider).copied()
    }
    fn module_exists(&self, code_hash: &Hash) -> bool {
        self.modules.contains(code_hash)
    }
    fn input_exists(&self, input_hash: &Hash) -> bool {
        self.inputs.contains(input_hash)
    }
    fn matches_of(&self, job: &Hash) -> u8 {
        self.matches
            .get(job)
            .map_or(0, |m| u8::try_from(m.len()).unwrap_or(u8::MAX))
    }
    fn has_matched(&self, job: &Hash, provider: &Address) -> bool {
        self.matches.get(job).is_some_and(|m| m.contains(provider))
    }
    fn match_open(&self, job: &Hash) -> bool {
        !self.closed.contains(job)
    }
    fn collateral(&self, fuel_limit: u64, price_per_fuel: Amount) -> Option<Amount> {
        self.params
            .collateral(Amount::from(fuel_limit).checked_mul(price_per_fuel)?)
    }
}

/// A test address from a small number.
pub fn addr(n: u32) -> Address {
    let mut a = [0u8; 20];
    a[..4].copy_from_slice(&n.to_be_bytes());
    a[19] = 0xAA;
    Address(a)
}

/// A bid for [`TEST_CHAIN`]: module `keccak("module")`, 5-byte inline input, fuel limit 1,000,
/// max price 3, 2 replicas, no reputation floor, deadline 100.
pub fn bid(requester: Address, nonce: Nonce) -> Bid {
    Bid {
        chain_id: TEST_CHAIN,
        requester,
        module: Hash::keccak(b"module"),
        input: JobInput::Inline(b"input".to_vec()),
        fuel_limit: 1_000,
        max_price_per_fuel: 3,
        replicas: 2,
        min_reputation: 0,
        deadline: 100,
        nonce,
    }
}

/// An offer for [`TEST_CHAIN`] at `price`: max fuel 1,000,000, capacity 4, expiry 100, nonce 1.
pub fn offer(provider: Address, price: Amount) -> Offer {
    Offer {
        chain_id: TEST_CHAIN,
        provider,
        price_per_fuel: price,
        max_fuel: 1_000_000,
        capacity: 4,
        expiry: 100,
        nonce: 1,
    }
}

/// A bid with an all-zero signature wrapped as verified (the book never checks signatures).
pub fn unsigned_bid(bid: Bid) -> VerifiedBid {
    VerifiedBid::assume_valid(SignedBid {
        bid,
        signature: Signature([0; 65]),
    })
}

/// An offer with an all-zero signature wrapped as verified.
pub fn unsigned_offer(offer: Offer) -> VerifiedOffer {
    VerifiedOffer::assume_valid(SignedOffer {
        offer,
        signature: Signature([0; 65]),
    })
}
