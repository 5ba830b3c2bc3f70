//! Validation of signed orders, in two stages.
//!
//! 1. Without chain access ([`verify_bid`], [`verify_offer`]): field ranges against the genesis
//!    [`MarketParams`], expiry against a head block, then the signature and chain id. Cheap
//!    checks run before the signature is recovered, so junk costs little. Success yields a
//!    [`VerifiedBid`] or [`VerifiedOffer`], the only form the [`OrderBook`](crate::OrderBook)
//!    accepts.
//! 2. With chain access ([`check_bid_with_chain`], [`check_offer_with_chain`]) through
//!    [`ChainView`]: the requester can pay, the module and input are published, the provider is
//!    registered with free stake.
//!
//! Expiry convention, used everywhere in this crate: an order's `expiry` / `deadline` is the
//! last block in which it may be matched. At head `h` a `Match` lands in `h + 1` at the
//! earliest, so an order is live while `expiry > h`.

use joule_ledger::genesis::MarketParams;
use joule_ledger::{
    Address, Amount, Bid, BlockNumber, ChainId, Hash, JobInput, Offer, OrderError, SignedBid,
    SignedOffer,
};

use crate::chain::ChainView;

/// Whether an order expiring at `expiry` can still be matched after head block `head`.
pub fn is_live(expiry: BlockNumber, head: BlockNumber) -> bool {
    expiry > head
}

/// Why a bid was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BidError {
    /// Wrong chain id, bad signature, or signed by someone else than the requester.
    #[error("bid refused: {0}")]
    Order(#[from] OrderError),
    /// The deadline is not after the head block.
    #[error("bid deadline {deadline} is not after head block {head}")]
    Expired {
        /// The bid's deadline.
        deadline: BlockNumber,
        /// The head it was judged at.
        head: BlockNumber,
    },
    /// The inline input is larger than the genesis cap.
    #[error("bid input is {size} bytes, more than the {max}-byte limit")]
    InputTooLarge {
        /// The input's size.
        size: usize,
        /// `MarketParams::max_input_bytes`.
        max: u32,
    },
    /// Replicas outside `1..=max_replicas`.
    #[error("bid asks for {replicas} replicas, allowed 1..={max}")]
    Replicas {
        /// Asked.
        replicas: u8,
        /// `MarketParams::max_replicas`.
        max: u8,
    },
    /// Fuel limit outside `1..=max_job_fuel`.
    #[error("bid fuel limit {fuel_limit} is outside 1..={max}")]
    FuelLimit {
        /// Asked.
        fuel_limit: u64,
        /// `MarketParams::max_job_fuel`.
        max: u64,
    },
    /// A price of zero pays nobody.
    #[error("bid max price per fuel is zero")]
    ZeroPrice,
    /// `fuel_limit × max_price_per_fuel × replicas` does not fit an amount.
    #[error(
        "bid cost overflows: fuel limit {fuel_limit} × price {max_price_per_fuel} × {replicas} replicas"
    )]
    CostOverflow {
        /// The fuel limit.
        fuel_limit: u64,
        /// The price.
        max_price_per_fuel: Amount,
        /// The replicas.
        replicas: u8,
    },
    /// The requester cannot pay the most the bid can cost.
    #[error("requester {requester} has {balance}, the bid can cost {max_cost}")]
    InsufficientBalance {
        /// The requester.
        requester: Address,
        /// Its balance at the head block.
        balance: Amount,
        /// `Bid::max_cost`.
        max_cost: Amount,
    },
    /// The module is not published.
    #[error("module {module} is not published")]
    UnknownModule {
        /// The code hash.
        module: Hash,
    },
    /// A stored input is not published.
    #[error("input {input} is not published")]
    UnknownInput {
        /// The input hash.
        input: Hash,
    },
    /// The chain no longer takes matches for the job (its match window closed).
    #[error("job {job} no longer takes matches")]
    MatchClosed {
        /// The job (bid id).
        job: Hash,
    },
    /// The chain already matched all the job's replicas.
    #[error("job {job} already has {matches} of {replicas} replicas matched")]
    Filled {
        /// The job (bid id).
        job: Hash,
        /// Matches on chain.
        matches: u8,
        /// Replicas asked.
        replicas: u8,
    },
}

/// Why an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// Wrong chain id, bad signature, or signed by someone else than the provider.
    #[error("offer refused: {0}")]
    Order(#[from] OrderError),
    /// The expiry is not after the head block.
    #[error("offer expiry {expiry} is not after head block {head}")]
    Expired {
        /// The offer's expiry.
        expiry: BlockNumber,
        /// The head it was judged at.
        head: BlockNumber,
    },
    /// A price of zero.
    #[error("offer price per fuel is zero")]
    ZeroPrice,
    /// A capacity of zero takes no job.
    #[error("offer capacity is zero")]
    ZeroCapacity,
    /// A largest job of zero fuel takes no job.
    #[error("offer max fuel is zero")]
    ZeroMaxFuel,
    /// `max_fuel × price_per_fuel` does not fit an amount, so escrow could not be computed.
    #[error("offer payment overflows: max fuel {max_fuel} × price {price_per_fuel}")]
    PaymentOverflow {
        /// The offer's max fuel.
        max_fuel: u64,
        /// Its price.
        price_per_fuel: Amount,
    },
    /// The provider never registered (staked).
    #[error("{provider} is not a registered provider")]
    NotProvider {
        /// The offer's provider.
        provider: Address,
    },
    /// The provider's free stake cannot cover even the smallest collateral.
    #[error(
        "provider {provider} has free stake {free_stake}, less than the minimum collateral {needed}"
    )]
    NoFreeStake {
        /// The provider.
        provider: Address,
        /// Its free stake.
        free_stake: Amount,
        /// Collateral of the smallest job at its price.
        needed: Amount,
    },
}

/// A bid whose fields, expiry and signature passed [`verify_bid`], with its id and maximum cost
/// computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBid {
    signed: SignedBid,
    id: Hash,
    max_cost: Amount,
}

impl VerifiedBid {
    /// The signed bid.
    pub fn signed(&self) -> &SignedBid {
        &self.signed
    }
    /// The bid.
    pub fn bid(&self) -> &Bid {
        &self.signed.bid
    }
    /// The bid's id, which is its job's id.
    pub fn id(&self) -> Hash {
        self.id
    }
    /// `Bid::max_cost`, known not to overflow.
    pub fn max_cost(&self) -> Amount {
        self.max_cost
    }
    /// Bytes of inline input it carries (0 for a stored input).
    pub fn input_bytes(&self) -> usize {
        match &self.signed.bid.input {
            JobInput::Inline(bytes) => bytes.len(),
            JobInput::Stored(_) => 0,
        }
    }
    /// Gives the signed bid back.
    pub fn into_signed(self) -> SignedBid {
        self.signed
    }
    /// Wraps a bid without checking it (tests and benches, feature `test-utils`). The max cost
    /// saturates instead of failing.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn assume_valid(signed: SignedBid) -> Self {
        let id = signed.bid.id();
        let max_cost = signed.bid.max_cost().unwrap_or(Amount::MAX);
        VerifiedBid {
            signed,
            id,
            max_cost,
        }
    }
}

/// An offer whose fields, expiry and signature passed [`verify_offer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedOffer {
    signed: SignedOffer,
}

impl VerifiedOffer {
    /// The signed offer.
    pub fn signed(&self) -> &SignedOffer {
        &self.signed
    }
    /// The offer.
    pub fn offer(&self) -> &Offer {
        &self.signed.offer
    }
    /// Gives the signed offer back.
    pub fn into_signed(self) -> SignedOffer {
        self.signed
    }
    /// Wraps an offer without checking it (tests and benches, feature `test-utils`).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn assume_valid(signed: SignedOffer) -> Self {
        VerifiedOffer { signed }
    }
}

/// Checks a bid's fields against the genesis parameters and its deadline against `head`;
/// returns its maximum cost. No signature check.
pub fn check_bid(bid: &Bid, params: &MarketParams, head: BlockNumber) -> Result<Amount, BidError> {
    if !is_live(bid.deadline, head) {
        return Err(BidError::Expired {
            deadline: bid.deadline,
            head,
        });
    }
    if let JobInput::Inline(bytes) = &bid.input
        && bytes.len() > params.max_input_bytes as usize
    {
        return Err(BidError::InputTooLarge {
            size: bytes.len(),
            max: params.max_input_bytes,
        });
    }
    if bid.replicas == 0 || bid.replicas > params.max_replicas {
        return Err(BidError::Replicas {
            replicas: bid.replicas,
            max: params.max_replicas,
        });
    }
    if bid.fuel_limit == 0 || bid.fuel_limit > params.max_job_fuel {
        return Err(BidError::FuelLimit {
            fuel_limit: bid.fuel_limit,
            max: params.max_job_fuel,
        });
    }
    if bid.max_price_per_fuel == 0 {
        return Err(BidError::ZeroPrice);
    }
    bid.max_cost().ok_or(BidError::CostOverflow {
        fuel_limit: bid.fuel_limit,
        max_price_per_fuel: bid.max_price_per_fuel,
        replicas: bid.replicas,
    })
}

/// Checks an offer's fields and its expiry against `head`. No signature check.
pub fn check_offer(offer: &Offer, head: BlockNumber) -> Result<(), OfferError> {
    if !is_live(offer.expiry, head) {
        return Err(OfferError::Expired {
            expiry: offer.expiry,
            head,
        });
    }
    if offer.price_per_fuel == 0 {
        return Err(OfferError::ZeroPrice);
    }
    if offer.capacity == 0 {
        return Err(OfferError::ZeroCapacity);
    }
    if offer.max_fuel == 0 {
        return Err(OfferError::ZeroMaxFuel);
    }
    if Amount::from(offer.max_fuel)
        .checked_mul(offer.price_per_fuel)
        .is_none()
    {
        return Err(OfferError::PaymentOverflow {
            max_fuel: offer.max_fuel,
            price_per_fuel: offer.price_per_fuel,
        });
    }
    Ok(())
}

/// Everything that needs no chain state: [`check_bid`], then the chain id and signature.
pub fn verify_bid(
    signed: SignedBid,
    chain_id: ChainId,
    params: &MarketParams,
    head: BlockNumber,
) -> Result<VerifiedBid, BidError> {
    let max_cost = check_bid(&signed.bid, params, head)?;
    signed.verify(chain_id)?;
    let id = signed.bid.id();
    Ok(VerifiedBid {
        signed,
        id,
        max_cost,
    })
}

/// Everything that needs no chain state: [`check_offer`], then the chain id and signature.
pub fn verify_offer(
    signed: SignedOffer,
    chain_id: ChainId,
    head: BlockNumber,
) -> Result<VerifiedOffer, OfferError> {
    check_offer(&signed.offer, head)?;
    signed.verify(chain_id)?;
    Ok(VerifiedOffer { signed })
}

/// Checks a bid against the chain: the job still takes matches and is not filled, the module
/// (and a stored input) is published, and the requester's balance covers the bid's maximum
/// cost.
pub fn check_bid_with_chain(bid: &VerifiedBid, chain: &impl ChainView) -> Result<(), BidError> {
    let b = bid.bid();
    if !chain.match_open(&bid.id()) {
        return Err(BidError::MatchClosed { job: bid.id() });
    }
    let matches = chain.matches_of(&bid.id());
    if matches >= b.replicas {
        return Err(BidError::Filled {
            job: bid.id(),
            matches,
            replicas: b.replicas,
        });
    }
    if !chain.module_exists(&b.module) {
        return Err(BidError::UnknownModule { module: b.module });
    }
    if let JobInput::Stored(input) = &b.input
        && !chain.input_exists(input)
    {
        return Err(BidError::UnknownInput { input: *input });
    }
    let balance = chain.balance(&b.requester);
    if balance < bid.max_cost() {
        return Err(BidError::InsufficientBalance {
            requester: b.requester,
            balance,
            max_cost: bid.max_cost(),
        });
    }
    Ok(())
}

/// Checks an offer against the chain: the provider is registered and its free stake covers
/// the collateral of the smallest job (fuel limit 1) at its price.
pub fn check_offer_with_chain(
    offer: &VerifiedOffer,
    chain: &impl ChainView,
) -> Result<(), OfferError> {
    let o = offer.offer();
    let Some(view) = chain.provider(&o.provider) else {
        return Err(OfferError::NotProvider {
            provider: o.provider,
        });
    };
    let needed = chain.collateral(1, o.price_per_fuel).unwrap_or(Amount::MAX);
    if view.free_stake < needed {
        return Err(OfferError::NoFreeStake {
            provider: o.provider,
            free_stake: view.free_stake,
            needed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use joule_ledger::SecretKey;

    use super::*;
    use crate::chain::ProviderView;
    use crate::testing::{MemChain, TEST_CHAIN, bid, offer};

    fn params() -> MarketParams {
        MarketParams::default()
    }

    fn signed_bid(edit: impl FnOnce(&mut Bid)) -> SignedBid {
        let key = SecretKey::from_seed("requester");
        let mut b = bid(key.address(), 0);
        edit(&mut b);
        b.sign(&key)
    }

    fn signed_offer(edit: impl FnOnce(&mut Offer)) -> SignedOffer {
        let key = SecretKey::from_seed("provider");
        let mut o = offer(key.address(), 10);
        edit(&mut o);
        o.sign(&key)
    }

    fn bid_err(edit: impl FnOnce(&mut Bid)) -> BidError {
        verify_bid(signed_bid(edit), TEST_CHAIN, &params(), 5).unwrap_err()
    }

    fn offer_err(edit: impl FnOnce(&mut Offer)) -> OfferError {
        verify_offer(signed_offer(edit), TEST_CHAIN, 5).unwrap_err()
    }

    #[test]
    fn a_good_bid_and_offer_pass() {
        let b = verify_bid(signed_bid(|_| {}), TEST_CHAIN, &params(), 5).unwrap();
        assert_eq!(b.id(), b.bid().id());
        assert_eq!(Some(b.max_cost()), b.bid().max_cost());
        verify_offer(signed_offer(|_| {}), TEST_CHAIN, 5).unwrap();
    }

    #[test]
    fn bid_refusals_without_chain() {
        assert_eq!(
            bid_err(|b| b.deadline = 5),
            BidError::Expired {
                deadline: 5,
                head: 5
            }
        );
        let max = params().max_input_bytes;
        assert_eq!(
            bid_err(|b| b.input = JobInput::Inline(vec![0; max as usize + 1])),
            BidError::InputTooLarge {
                size: max as usize + 1,
                max
            }
        );
        // The cap itself is allowed.
        verify_bid(
            signed_bid(|b| b.input = JobInput::Inline(vec![0; max as usize])),
            TEST_CHAIN,
            &params(),
            5,
        )
        .unwrap();
        assert_eq!(
            bid_err(|b| b.replicas = 0),
            BidError::Replicas {
                replicas: 0,
                max: 5
            }
        );
        assert_eq!(
            bid_err(|b| b.replicas = 6),
            BidError::Replicas {
                replicas: 6,
                max: 5
            }
        );
        assert_eq!(
            bid_err(|b| b.fuel_limit = 0),
            BidError::FuelLimit {
                fuel_limit: 0,
                max: params().max_job_fuel
            }
        );
        assert_eq!(
            bid_err(|b| b.fuel_limit = params().max_job_fuel + 1),
            BidError::FuelLimit {
                fuel_limit: params().max_job_fuel + 1,
                max: params().max_job_fuel
            }
        );
        assert_eq!(bid_err(|b| b.max_price_per_fuel = 0), BidError::ZeroPrice);
        assert_eq!(
            bid_err(|b| b.max_price_per_fuel = Amount::MAX),
            BidError::CostOverflow {
                fuel_limit: 1_000,
                max_price_per_fuel: Amount::MAX,
                replicas: 2
            }
        );
        assert!(matches!(
            verify_bid(signed_bid(|_| {}), TEST_CHAIN + 1, &params(), 5),
            Err(BidError::Order(OrderError::WrongChain { .. }))
        ));
        let mut forged = signed_bid(|_| {});
        forged.bid.max_price_per_fuel += 1;
        assert!(matches!(
            verify_bid(forged, TEST_CHAIN, &params(), 5),
            Err(BidError::Order(_))
        ));
    }

    #[test]
    fn offer_refusals_without_chain() {
        assert_eq!(
            offer_err(|o| o.expiry = 4),
            OfferError::Expired { expiry: 4, head: 5 }
        );
        assert_eq!(offer_err(|o| o.price_per_fuel = 0), OfferError::ZeroPrice);
        assert_eq!(offer_err(|o| o.capacity = 0), OfferError::ZeroCapacity);
        assert_eq!(offer_err(|o| o.max_fuel = 0), OfferError::ZeroMaxFuel);
        assert_eq!(
            offer_err(|o| o.price_per_fuel = Amount::MAX),
            OfferError::PaymentOverflow {
                max_fuel: 1_000_000,
                price_per_fuel: Amount::MAX
            }
        );
        let other = SecretKey::from_seed("other");
        let forged = offer(SecretKey::from_seed("provider").address(), 10).sign(&other);
        assert!(matches!(
            verify_offer(forged, TEST_CHAIN, 5),
            Err(OfferError::Order(OrderError::WrongSigner { .. }))
        ));
    }

    #[test]
    fn bid_refusals_with_chain() {
        let b = verify_bid(signed_bid(|_| {}), TEST_CHAIN, &params(), 5).unwrap();
        let requester = b.bid().requester;
        let mut chain = MemChain::new(params());
        assert_eq!(
            check_bid_with_chain(&b, &chain),
            Err(BidError::UnknownModule {
                module: b.bid().module
            })
        );
        chain.modules.insert(b.bid().module);
        assert_eq!(
            check_bid_with_chain(&b, &chain),
            Err(BidError::InsufficientBalance {
                requester,
                balance: 0,
                max_cost: b.max_cost()
            })
        );
        chain.balances.insert(requester, b.max_cost());
        assert_eq!(check_bid_with_chain(&b, &chain), Ok(()));
        chain.closed.insert(b.id());
        assert_eq!(
            check_bid_with_chain(&b, &chain),
            Err(BidError::MatchClosed { job: b.id() })
        );
        chain.closed.clear();
        chain
            .matches
            .insert(b.id(), vec![Address([1; 20]), Address([2; 20])]);
        assert_eq!(
            check_bid_with_chain(&b, &chain),
            Err(BidError::Filled {
                job: b.id(),
                matches: 2,
                replicas: 2
            })
        );
        let input = Hash::keccak(b"stored input");
        let stored = verify_bid(
            signed_bid(|b| b.input = JobInput::Stored(input)),
            TEST_CHAIN,
            &params(),
            5,
        )
        .unwrap();
        assert_eq!(
            check_bid_with_chain(&stored, &chain),
            Err(BidError::UnknownInput { input })
        );
        chain.inputs.insert(input);
        assert_eq!(check_bid_with_chain(&stored, &chain), Ok(()));
    }

    #[test]
    fn offer_refusals_with_chain() {
        let o = verify_offer(signed_offer(|_| {}), TEST_CHAIN, 5).unwrap();
        let provider = o.offer().provider;
        let mut chain = MemChain::new(params());
        assert_eq!(
            check_offer_with_chain(&o, &chain),
            Err(OfferError::NotProvider { provider })
        );
        chain.providers.insert(provider, ProviderView::default());
        assert_eq!(
            check_offer_with_chain(&o, &chain),
            Err(OfferError::NoFreeStake {
                provider,
                free_stake: 0,
                needed: params().min_collateral
            })
        );
        chain.providers.insert(
            provider,
            ProviderView {
                free_stake: params().min_collateral,
                ..ProviderView::default()
            },
        );
        assert_eq!(check_offer_with_chain(&o, &chain), Ok(()));
    }
}
