use std::collections::{BTreeMap, BTreeSet};

use joule_ledger::genesis::MarketParams;
use joule_ledger::{Bid, Offer};
use proptest::prelude::*;

use super::*;
use crate::book::BookLimits;
use crate::chain::ProviderView;
use crate::testing::{MemChain, addr, bid, offer, unsigned_bid, unsigned_offer};

const RICH: Amount = 1_000_000_000_000;

fn params() -> MarketParams {
    MarketParams {
        collateral_ppm: 1_000_000,
        min_collateral: 1,
        ..MarketParams::default()
    }
}

/// A chain at head 10 where requesters 1..=9 are rich, the module exists, and providers
/// 100.. are registered with plenty of stake.
fn chain(providers: &[u32]) -> MemChain {
    let mut chain = MemChain::new(params());
    chain.head = 10;
    for r in 1..10 {
        chain.balances.insert(addr(r), RICH);
    }
    for &p in providers {
        chain.providers.insert(
            addr(p),
            ProviderView {
                free_stake: RICH,
                active_jobs: 0,
                reputation: 10,
            },
        );
    }
    chain
}

fn put_bid(book: &mut OrderBook, requester: u32, nonce: u64, edit: impl FnOnce(&mut Bid)) -> Hash {
    let mut b = bid(addr(requester), nonce);
    edit(&mut b);
    let b = unsigned_bid(b);
    let id = b.id();
    book.insert_bid(b).unwrap();
    id
}

fn put_offer(book: &mut OrderBook, provider: u32, price: Amount, edit: impl FnOnce(&mut Offer)) {
    let mut o = offer(addr(provider), price);
    edit(&mut o);
    book.insert_offer(unsigned_offer(o)).unwrap();
}

fn pairs(matches: &[Match<'_>]) -> Vec<(Hash, Address)> {
    matches.iter().map(|m| (m.job, m.provider())).collect()
}

fn book() -> OrderBook {
    OrderBook::new(BookLimits::default(), 10)
}

#[test]
fn price_must_reach_the_offer_and_the_cheapest_offers_win() {
    let mut book = book();
    let job = put_bid(&mut book, 1, 0, |b| b.max_price_per_fuel = 5); // 2 replicas
    put_offer(&mut book, 100, 6, |_| {});
    put_offer(&mut book, 101, 5, |_| {});
    put_offer(&mut book, 102, 2, |_| {});
    put_offer(&mut book, 103, 3, |_| {});
    let chain = chain(&[100, 101, 102, 103]);
    let m = match_all(&book, &chain).matches;
    assert_eq!(pairs(&m), vec![(job, addr(102)), (job, addr(103))]);
    assert_eq!(m[0].escrow, 1_000 * 2);
    assert_eq!(m[0].collateral, 1_000 * 2);
    assert_eq!(m[0].price_per_fuel(), 2);
    assert_eq!(pairs(&match_bid(&book, &job, &chain).matches), pairs(&m));
    assert_eq!(
        m[0].to_call(),
        Call::Match {
            bid: Box::new(book.bid(&job).unwrap().signed().clone()),
            offer: Box::new(book.offer(&addr(102)).unwrap().signed().clone()),
        }
    );
    // An equal price matches; one below does not.
    let mut book2 = OrderBook::new(BookLimits::default(), 10);
    let job = put_bid(&mut book2, 1, 0, |b| {
        b.max_price_per_fuel = 5;
        b.replicas = 1;
    });
    put_offer(&mut book2, 100, 6, |_| {});
    assert!(match_all(&book2, &chain).matches.is_empty());
    put_offer(&mut book2, 101, 5, |_| {});
    assert_eq!(
        pairs(&match_all(&book2, &chain).matches),
        vec![(job, addr(101))]
    );
}

#[test]
fn highest_bid_first_then_earliest_arrival() {
    let mut book = book();
    let early = put_bid(&mut book, 1, 0, |b| b.replicas = 1);
    let late = put_bid(&mut book, 2, 0, |b| b.replicas = 1);
    let high = put_bid(&mut book, 3, 0, |b| {
        b.replicas = 1;
        b.max_price_per_fuel = 4;
    });
    // Two providers of capacity 1: the high bid and the early one get them.
    put_offer(&mut book, 100, 1, |o| o.capacity = 1);
    put_offer(&mut book, 101, 2, |o| o.capacity = 1);
    let chain = chain(&[100, 101]);
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(high, addr(100)), (early, addr(101))]
    );
    // Alone, a bid gets the cheapest offer: `match_bid` ignores what other bids would take.
    assert_eq!(
        pairs(&match_bid(&book, &late, &chain).matches),
        vec![(late, addr(100))]
    );
}

#[test]
fn fuel_capacity_and_chain_load_are_respected() {
    let mut book = book();
    let big = put_bid(&mut book, 1, 0, |b| {
        b.fuel_limit = 5_000;
        b.replicas = 1;
    });
    let small = put_bid(&mut book, 1, 1, |b| b.replicas = 1);
    let small2 = put_bid(&mut book, 1, 2, |b| b.replicas = 1);
    put_offer(&mut book, 100, 1, |o| {
        o.max_fuel = 1_000;
        o.capacity = 3;
    });
    put_offer(&mut book, 101, 2, |o| o.capacity = 1);
    let mut chain = chain(&[100, 101]);
    // Provider 100 already runs 2 jobs: one slot left.
    chain.providers.get_mut(&addr(100)).unwrap().active_jobs = 2;
    // small2 finds 100 full (2 active + small) and 101 full (big).
    let p = match_all(&book, &chain);
    assert_eq!(
        pairs(&p.matches),
        vec![(big, addr(101)), (small, addr(100))]
    );
    assert!(p.matches.iter().all(|m| m.job != small2));
    // Both are full once these land: parking them spares later calls the look.
    assert_eq!(p.exhausted, vec![addr(100), addr(101)]);
}

#[test]
fn replicas_count_the_book_and_the_chain_and_a_provider_is_never_twice_on_a_job() {
    let mut book = book();
    let job = put_bid(&mut book, 1, 0, |b| b.replicas = 3);
    for p in 100..104 {
        put_offer(&mut book, p, 1, |_| {});
    }
    let mut chain = chain(&[100, 101, 102, 103]);
    chain.matches.insert(job, vec![addr(101)]);
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(job, addr(100)), (job, addr(102))]
    );
    // The chain view lags but the book heard of 100: two more, and never 100 again.
    book.on_matched(&job, addr(100)).unwrap();
    chain.matches.remove(&job);
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(job, addr(101)), (job, addr(102))]
    );
}

#[test]
fn reputation_stake_balance_and_registration_are_respected() {
    let mut book = book();
    let picky = put_bid(&mut book, 1, 0, |b| {
        b.replicas = 1;
        b.min_reputation = 5;
    });
    put_offer(&mut book, 100, 1, |_| {}); // reputation 0
    put_offer(&mut book, 101, 2, |_| {}); // reputation 10
    put_offer(&mut book, 102, 1, |_| {}); // not registered
    let mut chain = chain(&[100, 101]);
    chain.providers.get_mut(&addr(100)).unwrap().reputation = 0;
    let p = match_all(&book, &chain);
    assert_eq!(pairs(&p.matches), vec![(picky, addr(101))]);
    assert_eq!(p.exhausted, vec![addr(102)], "unregistered");

    // Stake for one collateral of 1,000 × 2 only.
    chain.providers.get_mut(&addr(101)).unwrap().free_stake = 2_500;
    chain.providers.get_mut(&addr(100)).unwrap().reputation = 10;
    chain.providers.get_mut(&addr(100)).unwrap().free_stake = 0;
    let second = put_bid(&mut book, 2, 0, |b| b.replicas = 1);
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(picky, addr(101))]
    );
    // With stake, the cheaper 100 (now reputable) takes both.
    chain.providers.get_mut(&addr(100)).unwrap().free_stake = RICH;
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(picky, addr(100)), (second, addr(100))]
    );

    // A requester that can pay one replica at price 1 but not a second.
    let mut book = OrderBook::new(BookLimits::default(), 10);
    let job = put_bid(&mut book, 9, 0, |_| {});
    put_offer(&mut book, 100, 1, |_| {});
    put_offer(&mut book, 101, 1, |_| {});
    chain.balances.insert(addr(9), 1_500);
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(job, addr(100))]
    );
}

#[test]
fn orders_expired_at_the_chain_head_are_not_matched() {
    let mut book = book();
    put_bid(&mut book, 1, 0, |b| b.deadline = 11);
    put_offer(&mut book, 100, 1, |o| o.expiry = 12);
    let mut chain = chain(&[100]);
    chain.head = 11; // the book was not told yet
    assert!(match_all(&book, &chain).matches.is_empty());
    let job = put_bid(&mut book, 2, 0, |_| {});
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(job, addr(100))]
    );
    chain.head = 12;
    assert!(match_all(&book, &chain).matches.is_empty());
}

#[test]
fn a_closed_match_window_stops_matching() {
    let mut book = book();
    let job = put_bid(&mut book, 1, 0, |_| {});
    put_offer(&mut book, 100, 1, |_| {});
    let mut chain = chain(&[100]);
    chain.closed.insert(job);
    assert!(match_all(&book, &chain).matches.is_empty());
    assert!(
        match_provider(&book, &addr(100), &chain, |_| true)
            .matches
            .is_empty()
    );
    chain.closed.clear();
    assert_eq!(
        pairs(&match_all(&book, &chain).matches),
        vec![(job, addr(100))]
    );
}

#[test]
fn a_provider_takes_the_best_paying_bids_it_accepts_up_to_its_capacity() {
    let mut book = book();
    let low = put_bid(&mut book, 1, 0, |b| b.max_price_per_fuel = 2);
    let high = put_bid(&mut book, 2, 0, |b| b.max_price_per_fuel = 9);
    let mid = put_bid(&mut book, 3, 0, |b| b.max_price_per_fuel = 5);
    let _below = put_bid(&mut book, 4, 0, |b| b.max_price_per_fuel = 1);
    // A cheaper competitor does not stop provider 100 from taking bids.
    put_offer(&mut book, 101, 1, |_| {});
    put_offer(&mut book, 100, 2, |o| o.capacity = 2);
    let chain = chain(&[100, 101]);
    let m = match_provider(&book, &addr(100), &chain, |_| true).matches;
    assert_eq!(pairs(&m), vec![(high, addr(100)), (mid, addr(100))]);
    let m = match_provider(&book, &addr(100), &chain, |b| b.id() != high).matches;
    assert_eq!(pairs(&m), vec![(mid, addr(100)), (low, addr(100))]);
    assert!(
        match_provider(&book, &addr(55), &chain, |_| true)
            .matches
            .is_empty()
    );
    assert!(match_bid(&book, &Hash::ZERO, &chain).matches.is_empty());
}

// ---- properties ----

#[derive(Debug, Clone)]
struct P {
    price: Amount,
    max_fuel: u64,
    capacity: u32,
    expiry: u64,
    registered: bool,
    active: u32,
    reputation: u64,
    stake: Amount,
}

#[derive(Debug, Clone)]
struct B {
    requester: u32,
    price: Amount,
    fuel: u64,
    replicas: u8,
    min_reputation: u64,
    deadline: u64,
    pre_matched: usize,
    book_heard: bool,
    closed: bool,
}

fn provider_strategy() -> impl Strategy<Value = P> {
    (
        1u128..5,
        prop::sample::select(vec![500u64, 1_000, 2_000]),
        1u32..6,
        prop::sample::select(vec![11u64, 100, 100, 100]),
        prop::bool::weighted(0.9),
        0u32..3,
        0u64..3,
        prop::sample::select(vec![0u128, 1_500, 5_000, RICH, RICH, RICH]),
    )
        .prop_map(
            |(price, max_fuel, capacity, expiry, registered, active, reputation, stake)| P {
                price,
                max_fuel,
                capacity,
                expiry,
                registered,
                active,
                reputation,
                stake,
            },
        )
}

fn bid_strategy() -> impl Strategy<Value = B> {
    (
        1u32..4,
        1u128..7,
        prop::sample::select(vec![500u64, 1_000, 1_500]),
        1u8..4,
        prop::sample::select(vec![0u64, 0, 0, 1, 2]),
        prop::sample::select(vec![11u64, 100, 100, 100]),
        0usize..3,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                requester,
                price,
                fuel,
                replicas,
                min_reputation,
                deadline,
                pre_matched,
                book_heard,
                closed,
            )| {
                B {
                    requester,
                    price,
                    fuel,
                    replicas,
                    min_reputation,
                    deadline,
                    pre_matched,
                    book_heard,
                    closed,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct Scenario {
    providers: Vec<P>,
    bids: Vec<B>,
    balances: Vec<Amount>,
    head: u64,
    /// Arrival number of each order (bids first, then offers); a permutation, so distinct.
    arrivals: Vec<u64>,
    /// Two insertion orders of the same orders.
    order_a: Vec<usize>,
    order_b: Vec<usize>,
}

/// Indices `0..n` sorted by `keys` (ties by index): a permutation that shrinks towards identity.
fn permutation(keys: &[u16], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| (keys[i], i));
    idx
}

fn scenario() -> impl Strategy<Value = Scenario> {
    // At most 6 providers and 13 bids: 19 orders.
    let keys = || prop::collection::vec(any::<u16>(), 19);
    (
        prop::collection::vec(provider_strategy(), 1..7),
        prop::collection::vec(bid_strategy(), 0..14),
        prop::collection::vec(
            prop::sample::select(vec![0u128, 3_000, 20_000, RICH, RICH]),
            3,
        ),
        prop::sample::select(vec![10u64, 11]),
        (keys(), keys(), keys()),
    )
        .prop_map(|(providers, bids, balances, head, (arrival_keys, a, b))| {
            let n = providers.len() + bids.len();
            // Distinct arrivals with gaps, in a random order over the orders.
            let mut arrivals = vec![0; n];
            for (rank, i) in permutation(&arrival_keys, n).into_iter().enumerate() {
                arrivals[i] = rank as u64 * 3;
            }
            Scenario {
                order_a: permutation(&a, n),
                order_b: permutation(&b, n),
                providers,
                bids,
                balances,
                head,
                arrivals,
            }
        })
}

fn provider_addr(i: usize) -> Address {
    addr(100 + i as u32)
}

impl Scenario {
    fn chain(&self) -> MemChain {
        let mut chain = MemChain::new(params());
        chain.head = self.head;
        for (i, balance) in self.balances.iter().enumerate() {
            chain.balances.insert(addr(i as u32 + 1), *balance);
        }
        for (i, p) in self.providers.iter().enumerate() {
            if p.registered {
                chain.providers.insert(
                    provider_addr(i),
                    ProviderView {
                        free_stake: p.stake,
                        active_jobs: p.active,
                        reputation: p.reputation,
                    },
                );
            }
        }
        for (i, b) in self.bids.iter().enumerate() {
            if b.closed {
                chain.closed.insert(self.bid(i).id());
            }
            let pre = b.pre_matched.min(self.providers.len());
            if pre > 0 {
                let job = self.bid(i).id();
                chain
                    .matches
                    .insert(job, (0..pre).map(provider_addr).collect());
            }
        }
        chain
    }

    fn bid(&self, i: usize) -> crate::VerifiedBid {
        let b = &self.bids[i];
        let mut bid = bid(addr(b.requester), i as u64);
        bid.max_price_per_fuel = b.price;
        bid.fuel_limit = b.fuel;
        bid.replicas = b.replicas;
        bid.min_reputation = b.min_reputation;
        bid.deadline = b.deadline;
        unsigned_bid(bid)
    }

    fn offer(&self, i: usize) -> crate::VerifiedOffer {
        let p = &self.providers[i];
        let mut o = offer(provider_addr(i), p.price);
        o.max_fuel = p.max_fuel;
        o.capacity = p.capacity;
        o.expiry = p.expiry;
        unsigned_offer(o)
    }

    /// The book with orders inserted in `order`, each at its fixed arrival number.
    fn book(&self, order: &[usize]) -> OrderBook {
        let mut book = OrderBook::new(BookLimits::default(), 0);
        let nb = self.bids.len();
        for &k in order {
            if k < nb {
                book.insert_bid_at(self.bid(k), self.arrivals[k]).unwrap();
            } else {
                book.insert_offer_at(self.offer(k - nb), self.arrivals[k])
                    .unwrap();
            }
        }
        for (i, b) in self.bids.iter().enumerate() {
            // The book heard of the first chain match of some jobs.
            if b.book_heard && b.pre_matched > 0 && b.replicas > 1 {
                book.on_matched(&self.bid(i).id(), provider_addr(0))
                    .unwrap();
            }
        }
        book
    }
}

/// Every invariant a set of proposals from one call must keep against the chain.
fn check_invariants(matches: &[Match<'_>], chain: &MemChain) -> Result<(), TestCaseError> {
    let mut per_job: BTreeMap<Hash, BTreeSet<Address>> = BTreeMap::new();
    let mut per_provider: BTreeMap<Address, (u32, Amount)> = BTreeMap::new();
    let mut per_requester: BTreeMap<Address, Amount> = BTreeMap::new();
    for m in matches {
        let (b, o) = (&m.bid.bid, &m.offer.offer);
        prop_assert!(
            b.max_price_per_fuel >= o.price_per_fuel,
            "price below offer"
        );
        prop_assert!(b.fuel_limit <= o.max_fuel);
        prop_assert!(is_live(b.deadline, chain.head) && is_live(o.expiry, chain.head));
        prop_assert!(chain.match_open(&m.job), "match window closed");
        let view = chain.provider(&o.provider);
        prop_assert!(view.is_some(), "unregistered provider");
        let view = view.unwrap_or_default();
        prop_assert!(view.reputation >= b.min_reputation);
        prop_assert!(
            !chain.has_matched(&m.job, &o.provider),
            "provider already on job"
        );
        prop_assert!(
            per_job.entry(m.job).or_default().insert(o.provider),
            "provider twice on one job"
        );
        let load = per_provider.entry(o.provider).or_default();
        load.0 += 1;
        load.1 += m.collateral;
        prop_assert!(view.active_jobs + load.0 <= o.capacity, "capacity exceeded");
        prop_assert!(load.1 <= view.free_stake, "stake exceeded");
        *per_requester.entry(b.requester).or_default() += m.escrow;
        prop_assert_eq!(m.escrow, Amount::from(b.fuel_limit) * o.price_per_fuel);
    }
    for m in matches {
        let replicas = usize::from(m.bid.bid.replicas);
        let taken = per_job[&m.job].len() + usize::from(chain.matches_of(&m.job));
        prop_assert!(taken <= replicas, "replicas exceeded");
    }
    for (requester, escrow) in per_requester {
        prop_assert!(
            escrow <= chain.balance(&requester),
            "escrow exceeds balance"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn matching_keeps_every_chain_rule_and_is_deterministic(s in scenario()) {
        let chain = s.chain();
        let book_a = s.book(&s.order_a);
        let book_b = s.book(&s.order_b);

        let all = match_all(&book_a, &chain).matches;
        check_invariants(&all, &chain)?;
        // Same orders at the same arrivals, inserted in another order: same result.
        prop_assert_eq!(pairs(&all), pairs(&match_all(&book_b, &chain).matches));
        // The book's matched records count: a job the book heard of loses one replica.
        for m in &all {
            let entry = book_a.bid(&m.job).unwrap();
            prop_assert!(!entry.matched().contains(&m.provider()));
        }

        // Maximal: once the chain applies these, nothing else in the book can match.
        let mut after = chain.clone();
        for m in &all {
            after.apply(m);
        }
        prop_assert_eq!(pairs(&match_all(&book_a, &after).matches), vec![]);

        // The node's way: bids one at a time, each proposal applied to the chain. Parking what a
        // proposal reports exhausted never changes what later calls propose.
        let (mut plain_chain, mut parked_chain) = (chain.clone(), chain.clone());
        let mut parked_book = book_a.clone();
        for id in book_a.bids().map(|e| e.id()).collect::<Vec<_>>() {
            let plain = match_bid(&book_a, &id, &plain_chain);
            let parked = match_bid(&parked_book, &id, &parked_chain);
            prop_assert_eq!(pairs(&plain.matches), pairs(&parked.matches));
            check_invariants(&plain.matches, &plain_chain)?;
            plain.matches.iter().for_each(|m| plain_chain.apply(m));
            parked.matches.iter().for_each(|m| parked_chain.apply(m));
            let exhausted = parked.exhausted.clone();
            drop(parked);
            for p in exhausted {
                prop_assert!(parked_book.park_offer(&p));
            }
        }

        // One bid, and one provider on its own, keep the rules too.
        for entry in book_a.bids() {
            let one = match_bid(&book_a, &entry.id(), &chain).matches;
            check_invariants(&one, &chain)?;
            prop_assert_eq!(pairs(&one), pairs(&match_bid(&book_b, &entry.id(), &chain).matches));
        }
        for i in 0..s.providers.len() {
            let own = match_provider(&book_a, &provider_addr(i), &chain, |_| true).matches;
            check_invariants(&own, &chain)?;
            prop_assert!(own.iter().all(|m| m.provider() == provider_addr(i)));
            prop_assert_eq!(
                pairs(&own),
                pairs(&match_provider(&book_b, &provider_addr(i), &chain, |_| true).matches)
            );
        }
    }
}
