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
//! Three entry points:
//! - [`match_all`]: the whole book, as if every provider followed price priority.
//! - [`match_bid`]: one bid (e.g. just arrived) against the offers.
//! - [`match_provider`]: the bids one provider would take on its own, best-paying first. It
//!   ignores cheaper competitors: on chain the first `k` valid matches win, so a provider does
//!   not wait for others.

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

/// Why a pair was not proposed (internal: decides whether to look further).
enum Skip {
    /// This pair does not fit, another might.
    Pair,
    /// The provider can take nothing more in this call.
    ProviderDone,
    /// The job needs no more replicas.
    JobDone,
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

/// Replicas the job still needs: the larger of the book's and the chain's match counts is
/// taken as done.
fn remaining(entry: &BidEntry, chain: &impl ChainView, round: &Round) -> usize {
    let job = entry.id();
    let done = entry
        .matched()
        .len()
        .max(usize::from(chain.matches_of(&job)))
        + round.assigned(&job).len();
    usize::from(entry.bid().replicas).saturating_sub(done)
}

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
    if !is_live(bid.deadline, head)
        || remaining(entry, chain, round) == 0
        || !chain.match_open(&job)
    {
        return Err(Skip::JobDone);
    }
    if bid.max_price_per_fuel < offer.price_per_fuel
        || bid.fuel_limit > offer.max_fuel
        || bid.chain_id != offer.chain_id
    {
        return Err(Skip::Pair);
    }
    if entry.matched().contains(&provider)
        || round.assigned(&job).contains(&provider)
        || chain.has_matched(&job, &provider)
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
    if view.reputation < bid.min_reputation {
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

/// Serves one bid from `offers` (cheapest first), skipping providers marked done and marking
/// those found done.
fn serve_bid<'a>(
    entry: &'a BidEntry,
    offers: &[&'a OfferEntry],
    done: &mut [bool],
    chain: &impl ChainView,
    head: BlockNumber,
    round: &mut Round,
    out: &mut Vec<Match<'a>>,
) {
    let max_price = entry.bid().max_price_per_fuel;
    for (i, offer) in offers.iter().enumerate() {
        if offer.offer().price_per_fuel > max_price {
            break;
        }
        if done[i] {
            continue;
        }
        match check(entry, offer, chain, head, round) {
            Ok(m) => {
                round.record(&m);
                out.push(m);
            }
            Err(Skip::Pair) => {}
            Err(Skip::ProviderDone) => done[i] = true,
            Err(Skip::JobDone) => return,
        }
    }
}

/// Every pair the book's providers would send at the chain's head, bids in price-time
/// priority, each taking the cheapest eligible offers.
pub fn match_all<'a>(book: &'a OrderBook, chain: &impl ChainView) -> Vec<Match<'a>> {
    let head = chain.head();
    let offers: Vec<&OfferEntry> = book
        .offers()
        .filter(|o| is_live(o.offer().expiry, head))
        .collect();
    let mut done = vec![false; offers.len()];
    let mut round = Round::default();
    let mut out = Vec::new();
    for entry in book.bids() {
        serve_bid(entry, &offers, &mut done, chain, head, &mut round, &mut out);
    }
    out
}

/// The pairs one bid would get from the book's offers, cheapest first. Empty if the bid is not
/// in the book.
pub fn match_bid<'a>(book: &'a OrderBook, job: &Hash, chain: &impl ChainView) -> Vec<Match<'a>> {
    let Some(entry) = book.bid(job) else {
        return Vec::new();
    };
    let head = chain.head();
    let max_price = entry.bid().max_price_per_fuel;
    let offers: Vec<&OfferEntry> = book
        .offers()
        .take_while(|o| o.offer().price_per_fuel <= max_price)
        .collect();
    let mut done = vec![false; offers.len()];
    let mut out = Vec::new();
    serve_bid(
        entry,
        &offers,
        &mut done,
        chain,
        head,
        &mut Round::default(),
        &mut out,
    );
    out
}

/// The bids `provider`'s open offer would take, best-paying first, among those `accept`
/// approves, until its capacity or stake runs out. Empty if it has no open offer.
pub fn match_provider<'a>(
    book: &'a OrderBook,
    provider: &Address,
    chain: &impl ChainView,
    mut accept: impl FnMut(&BidEntry) -> bool,
) -> Vec<Match<'a>> {
    let Some(offer) = book.offer(provider) else {
        return Vec::new();
    };
    let head = chain.head();
    let price = offer.offer().price_per_fuel;
    let mut round = Round::default();
    let mut out = Vec::new();
    for entry in book
        .bids()
        .take_while(|b| b.bid().max_price_per_fuel >= price)
    {
        if !accept(entry) {
            continue;
        }
        match check(entry, offer, chain, head, &round) {
            Ok(m) => {
                round.record(&m);
                out.push(m);
            }
            Err(Skip::ProviderDone) => break,
            Err(Skip::Pair | Skip::JobDone) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
