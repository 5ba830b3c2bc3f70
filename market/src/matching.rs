//! Matching: which `(bid, offer)` pairs would be sent as `Call::Match`.
//!
//! A pair is proposed only if the chain would accept it at the next block, as far as the book
//! and the [`ChainView`] at the head tell:
//! - both orders live and the job's match window open;
//! - the bid's max price at least the offer's price, its fuel limit within the offer's max fuel;
//! - replicas left on the job, and the provider not already on it;
//! - the provider registered, with reputation at least the bid's minimum, fewer active jobs than
//!   the offer's capacity, and free stake for the collateral;
//! - the requester's balance covering the escrow (fuel limit × offer price).
//!
//! Pairs proposed earlier in the same call count against capacity, stake, balance and replicas,
//! so one call never over-commits anyone.
//!
//! Priority is price-time: bids are served highest max price first, earliest arrival on ties
//! (the book's order), and each bid takes the cheapest eligible offers first, earliest arrival
//! on ties. Results depend only on the book's orders with their arrivals and on the chain view,
//! never on insertion order or hash-map iteration, so every node with the same book agrees.
//!
//! Three entry points, each returning a [`Proposal`]:
//! - [`match_all`]: the whole book, as if every provider followed price priority.
//! - [`match_bid`]: one bid (e.g. just arrived) against the offers.
//! - [`match_provider`]: the bids one provider would take on its own, best-paying first. It
//!   ignores cheaper competitors: on chain the first `k` valid matches win, so a provider does
//!   not wait for others.
//!
//! A proposal also lists the providers found unable to take more work before the next head;
//! parking their offers ([`OrderBook::park_offer`]) keeps the next calls of the same block from
//! walking past them again. Results never depend on parking: a parked offer is one every
//! later call would skip anyway.

use std::collections::HashMap;

use joule_ledger::{Address, Amount, BlockNumber, Call, Hash, SignedBid, SignedOffer};

use crate::book::{BidEntry, OfferEntry, OrderBook};
use crate::chain::ChainView;
use crate::validate::is_live;

/// A pair a provider would send as `Call::Match`, with what the chain would lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    /// The job (the bid's id).
    pub job: Hash,
    /// The requester's signed bid.
    pub bid: &'a SignedBid,
    /// The provider's signed offer.
    pub offer: &'a SignedOffer,
    /// Escrow locked from the requester for this replica: fuel limit × offer price.
    pub escrow: Amount,
    /// Collateral locked from the provider's free stake.
    pub collateral: Amount,
}

impl Match<'_> {
    /// The provider who would send it.
    pub fn provider(&self) -> Address {
        self.offer.offer.provider
    }
    /// The price per fuel the provider is paid (its offer's).
    pub fn price_per_fuel(&self) -> Amount {
        self.offer.offer.price_per_fuel
    }
    /// The transaction call, with copies of both signed orders.
    pub fn to_call(&self) -> Call {
        Call::Match {
            bid: Box::new(self.bid.clone()),
            offer: Box::new(self.offer.clone()),
        }
    }
}

/// What a matching call proposes, and which providers it found unable to take more work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal<'a> {
    /// Pairs to send as `Match`, in priority order.
    pub matches: Vec<Match<'a>>,
    /// Providers whose offer cannot be matched again before the next head, assuming these
    /// matches land: offer expired, provider not registered, or at capacity. Park them
    /// ([`OrderBook::park_offer`]) so later calls of the same block skip them. In offer
    /// priority order.
    pub exhausted: Vec<Address>,
}

/// Why a pair was not proposed (internal: decides whether to look further).
enum Skip {
    /// This pair does not fit, another might.
    Pair,
    /// The provider can take nothing more at this head.
    ProviderDone,
}

#[derive(Default)]
struct Load {
    jobs: u32,
    stake: Amount,
}

/// What earlier proposals of the same call have used up.
#[derive(Default)]
struct Round {
    providers: HashMap<Address, Load>,
    jobs: HashMap<Hash, Vec<Address>>,
    escrow: HashMap<Address, Amount>,
}

impl Round {
    fn assigned(&self, job: &Hash) -> &[Address] {
        self.jobs.get(job).map_or(&[], Vec::as_slice)
    }

    fn record(&mut self, m: &Match<'_>) {
        let load = self.providers.entry(m.provider()).or_default();
        load.jobs += 1;
        load.stake += m.collateral;
        self.jobs.entry(m.job).or_default().push(m.provider());
        *self.escrow.entry(m.bid.bid.requester).or_default() += m.escrow;
    }
}

/// Replicas the bid can still take in this call: 0 if it expired or its match window closed,
/// else its replicas minus those matched (the larger of the book's and the chain's counts) and
/// those proposed earlier in the call.
fn open_replicas(
    entry: &BidEntry,
    chain: &impl ChainView,
    head: BlockNumber,
    round: &Round,
) -> usize {
    let job = entry.id();
    if !is_live(entry.bid().deadline, head) || !chain.match_open(&job) {
        return 0;
    }
    let done = entry
        .matched()
        .len()
        .max(usize::from(chain.matches_of(&job)))
        + round.assigned(&job).len();
    usize::from(entry.bid().replicas).saturating_sub(done)
}

/// Whether this offer can take this bid now. Field checks come first, then the chain lookups.
fn check<'a>(
    entry: &'a BidEntry,
    offer_entry: &'a OfferEntry,
    chain: &impl ChainView,
    head: BlockNumber,
    round: &Round,
) -> Result<Match<'a>, Skip> {
    let bid = entry.bid();
    let offer = offer_entry.offer();
    let job = entry.id();
    let provider = offer.provider;
    if !is_live(offer.expiry, head) {
        return Err(Skip::ProviderDone);
    }
    if bid.max_price_per_fuel < offer.price_per_fuel
        || bid.fuel_limit > offer.max_fuel
        || bid.chain_id != offer.chain_id
    {
        return Err(Skip::Pair);
    }
    let Some(view) = chain.provider(&provider) else {
        return Err(Skip::ProviderDone);
    };
    let (used_jobs, used_stake) = round
        .providers
        .get(&provider)
        .map_or((0, 0), |l| (l.jobs, l.stake));
    if view.active_jobs.saturating_add(used_jobs) >= offer.capacity {
        return Err(Skip::ProviderDone);
    }
    if view.reputation < bid.min_reputation
        || entry.matched().contains(&provider)
        || round.assigned(&job).contains(&provider)
        || chain.has_matched(&job, &provider)
    {
        return Err(Skip::Pair);
    }
    let collateral = chain
        .collateral(bid.fuel_limit, offer.price_per_fuel)
        .ok_or(Skip::Pair)?;
    if view.free_stake.saturating_sub(used_stake) < collateral {
        return Err(Skip::Pair);
    }
    let escrow = Amount::from(bid.fuel_limit)
        .checked_mul(offer.price_per_fuel)
        .ok_or(Skip::Pair)?;
    let spent = round.escrow.get(&bid.requester).copied().unwrap_or(0);
    if chain.balance(&bid.requester).saturating_sub(spent) < escrow {
        return Err(Skip::Pair);
    }
    Ok(Match {
        job,
        bid: entry.signed(),
        offer: offer_entry.signed(),
        escrow,
        collateral,
    })
}

/// Serves one bid from `offers` (cheapest first, with their index in `done`), skipping offers
/// marked done and marking those found done.
fn serve_bid<'a>(
    entry: &'a BidEntry,
    offers: impl Iterator<Item = (usize, &'a OfferEntry)>,
    done: &mut Vec<bool>,
    chain: &impl ChainView,
    head: BlockNumber,
    round: &mut Round,
    out: &mut Vec<Match<'a>>,
) {
    let mut open = open_replicas(entry, chain, head, round);
    if open == 0 {
        return;
    }
    let max_price = entry.bid().max_price_per_fuel;
    for (i, offer) in offers {
        if offer.offer().price_per_fuel > max_price {
            break;
        }
        if done.get(i).copied().unwrap_or(false) {
            continue;
        }
        match check(entry, offer, chain, head, round) {
            Ok(m) => {
                round.record(&m);
                out.push(m);
                open -= 1;
                if open == 0 {
                    return;
                }
            }
            Err(Skip::Pair) => {}
            Err(Skip::ProviderDone) => {
                if done.len() <= i {
                    done.resize(i + 1, false);
                }
                done[i] = true;
            }
        }
    }
}

fn exhausted(offers: &[&OfferEntry], done: &[bool]) -> Vec<Address> {
    offers
        .iter()
        .zip(done)
        .filter(|(_, done)| **done)
        .map(|(o, _)| o.offer().provider)
        .collect()
}

/// Every pair the book's providers would send at the chain's head, bids in price-time
/// priority, each taking the cheapest eligible offers. Parked offers are not considered.
pub fn match_all<'a>(book: &'a OrderBook, chain: &impl ChainView) -> Proposal<'a> {
    let head = chain.head();
    let offers: Vec<&OfferEntry> = book.offers().collect();
    let mut done = vec![false; offers.len()];
    let mut round = Round::default();
    let mut matches = Vec::new();
    for entry in book.bids() {
        let candidates = offers.iter().copied().enumerate();
        serve_bid(
            entry,
            candidates,
            &mut done,
            chain,
            head,
            &mut round,
            &mut matches,
        );
    }
    Proposal {
        matches,
        exhausted: exhausted(&offers, &done),
    }
}

/// The pairs one bid would get from the book's (unparked) offers, cheapest first, ignoring what
/// other bids would take. Empty if the bid is not in the book.
pub fn match_bid<'a>(book: &'a OrderBook, job: &Hash, chain: &impl ChainView) -> Proposal<'a> {
    let Some(entry) = book.bid(job) else {
        return Proposal::default();
    };
    // Offers are visited lazily: a bid usually fills from the first few, and collecting every
    // offer under its price first would cost more than the matching.
    let mut seen = Vec::new();
    let mut done = Vec::new();
    let mut matches = Vec::new();
    let offers = book.offers().inspect(|o| seen.push(*o)).enumerate();
    serve_bid(
        entry,
        offers,
        &mut done,
        chain,
        chain.head(),
        &mut Round::default(),
        &mut matches,
    );
    Proposal {
        matches,
        exhausted: exhausted(&seen, &done),
    }
}

/// The bids `provider`'s open offer would take, best-paying first, among those `accept`
/// approves, until its capacity or stake runs out. It ignores cheaper competitors: on chain
/// the first `k` valid matches win. Empty if it has no open offer (parked or not).
pub fn match_provider<'a>(
    book: &'a OrderBook,
    provider: &Address,
    chain: &impl ChainView,
    mut accept: impl FnMut(&BidEntry) -> bool,
) -> Proposal<'a> {
    let Some(offer) = book.offer(provider) else {
        return Proposal::default();
    };
    let head = chain.head();
    let price = offer.offer().price_per_fuel;
    let mut round = Round::default();
    let mut proposal = Proposal::default();
    for entry in book
        .bids()
        .take_while(|b| b.bid().max_price_per_fuel >= price)
    {
        if !accept(entry) || open_replicas(entry, chain, head, &round) == 0 {
            continue;
        }
        match check(entry, offer, chain, head, &round) {
            Ok(m) => {
                round.record(&m);
                proposal.matches.push(m);
            }
            Err(Skip::ProviderDone) => {
                proposal.exhausted.push(*provider);
                break;
            }
            Err(Skip::Pair) => {}
        }
    }
    proposal
}

#[cfg(test)]
mod tests;
