//! Order-book throughput: orders per second through insert + match, on a book with 10k resting
//! offers and 10k resting bids.
//!
//! Signature verification is not part of this figure: it happens once when an order enters
//! from gossip or RPC (`validate::verify_bid`) and is measured by the ledger's crypto bench.
//! Orders here carry zero signatures and enter as `VerifiedBid::assume_valid`.
//!
//! The mix (seeded, so every run sees the same orders):
//! - resting: 10,000 providers with one offer each (price 100..200 per fuel, max fuel 1e6, 1e7
//!   or 1e8, capacity 1..=8, reputation 0..10) and 10,000 bids from 2,000 requesters (max price
//!   50..100, so no resting bid crosses a resting offer; 1..=3 replicas; reputation floor 0..5);
//! - stream of 10,000 orders: 60% new bids (max price 50..150, about half cross some offer), 40%
//!   offer refreshes by existing providers (new nonce, new price 100..200); every 1,000 orders
//!   the head advances one block, which expires orders (bid deadlines are 1..=20 blocks out,
//!   offer expiries 5..=30) and retires the oldest running jobs beyond 20,000 (as settlement
//!   would);
//! - each incoming bid is inserted then matched with `match_bid`; each incoming offer is
//!   inserted then matched with `match_provider`; every match is applied to the in-memory chain
//!   and reported to the book with `on_matched`, and every provider a proposal reports exhausted
//!   is parked, as the node would do.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use joule_ledger::genesis::MarketParams;
use joule_ledger::{Address, Amount, Bid, Hash, JobInput, Offer};
use joule_market::testing::{MemChain, TEST_CHAIN, addr, unsigned_bid, unsigned_offer};
use joule_market::{
    BookLimits, ChainView, OrderBook, Proposal, ProviderView, VerifiedBid, VerifiedOffer,
    match_all, match_bid, match_provider,
};

const PROVIDERS: u32 = 10_000;
const REQUESTERS: u32 = 2_000;
const RESTING_BIDS: u64 = 10_000;
const STREAM: usize = 10_000;
const ORDERS_PER_BLOCK: usize = 1_000;
const RUNNING_JOBS: usize = 20_000;
const HEAD: u64 = 1_000;

/// splitmix64: a tiny seeded generator, so the bench needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn provider(i: u32) -> Address {
    addr(1_000_000 + i)
}

fn requester(i: u32) -> Address {
    addr(i + 1)
}

fn new_bid(rng: &mut Rng, nonce: u64, head: u64, price: (u64, u64)) -> VerifiedBid {
    unsigned_bid(Bid {
        chain_id: TEST_CHAIN,
        requester: requester(rng.range(0, u64::from(REQUESTERS)) as u32),
        module: Hash::keccak(b"module"),
        input: JobInput::Inline(nonce.to_be_bytes().to_vec()),
        fuel_limit: rng.pick(&[100_000, 1_000_000, 5_000_000]),
        max_price_per_fuel: Amount::from(rng.range(price.0, price.1)),
        replicas: rng.range(1, 4) as u8,
        min_reputation: rng.range(0, 5),
        deadline: head + rng.range(1, 21),
        nonce,
    })
}

fn new_offer(rng: &mut Rng, i: u32, nonce: u64, head: u64) -> VerifiedOffer {
    unsigned_offer(Offer {
        chain_id: TEST_CHAIN,
        provider: provider(i),
        price_per_fuel: Amount::from(rng.range(100, 200)),
        max_fuel: rng.pick(&[1_000_000, 10_000_000, 100_000_000]),
        capacity: rng.range(1, 9) as u32,
        expiry: head + rng.range(5, 31),
        nonce,
    })
}

enum Incoming {
    Bid(VerifiedBid),
    Offer(VerifiedOffer),
}

/// A market in steady state: the resting book, the chain, and the jobs running on it.
#[derive(Clone)]
struct Market {
    book: OrderBook,
    chain: MemChain,
    running: VecDeque<(Address, Amount)>,
    matches: usize,
    refused: usize,
}

fn resting_market() -> Market {
    let mut rng = Rng(42);
    let mut chain = MemChain::new(MarketParams::default());
    chain.head = HEAD;
    chain.modules.insert(Hash::keccak(b"module"));
    for r in 0..REQUESTERS {
        chain.balances.insert(requester(r), Amount::MAX / 4);
    }
    let mut book = OrderBook::new(BookLimits::default(), HEAD);
    for p in 0..PROVIDERS {
        chain.providers.insert(
            provider(p),
            ProviderView {
                free_stake: Amount::MAX / 4,
                active_jobs: 0,
                reputation: rng.range(0, 10),
            },
        );
        book.insert_offer(new_offer(&mut rng, p, 1, HEAD))
            .expect("fresh provider; qed");
    }
    for n in 0..RESTING_BIDS {
        book.insert_bid(new_bid(&mut rng, n, HEAD, (50, 100)))
            .expect("distinct nonces, within limits; qed");
    }
    Market {
        book,
        chain,
        running: VecDeque::new(),
        matches: 0,
        refused: 0,
    }
}

fn stream() -> Vec<Incoming> {
    let mut rng = Rng(7);
    let mut head = HEAD;
    (0..STREAM)
        .map(|n| {
            if n > 0 && n % ORDERS_PER_BLOCK == 0 {
                head += 1;
            }
            if rng.range(0, 10) < 6 {
                Incoming::Bid(new_bid(&mut rng, RESTING_BIDS + n as u64, head, (50, 150)))
            } else {
                let p = rng.range(0, u64::from(PROVIDERS)) as u32;
                Incoming::Offer(new_offer(&mut rng, p, 2 + n as u64, head))
            }
        })
        .collect()
}

impl Market {
    fn apply(&mut self, (found, exhausted): Found) {
        for provider in exhausted {
            self.book.park_offer(&provider);
        }
        for (job, provider, requester, escrow, collateral) in found {
            self.chain
                .record(job, provider, requester, escrow, collateral);
            let _ = self.book.on_matched(&job, provider);
            self.running.push_back((provider, collateral));
            self.matches += 1;
        }
    }

    fn process(&mut self, orders: Vec<Incoming>) {
        for (n, order) in orders.into_iter().enumerate() {
            if n > 0 && n % ORDERS_PER_BLOCK == 0 {
                let head = self.chain.head + 1;
                self.chain.head = head;
                black_box(self.book.on_new_head(head));
                while self.running.len() > RUNNING_JOBS {
                    let (p, c) = self.running.pop_front().expect("non-empty; qed");
                    self.chain.finish_job(&p, c);
                }
            }
            let found: Found = match order {
                Incoming::Bid(bid) => {
                    let id = bid.id();
                    if self.book.insert_bid(bid).is_err() {
                        self.refused += 1;
                        continue;
                    }
                    summarize(match_bid(&self.book, &id, &self.chain))
                }
                Incoming::Offer(offer) => {
                    let p = offer.offer().provider;
                    if self.book.insert_offer(offer).is_err() {
                        self.refused += 1;
                        continue;
                    }
                    summarize(match_provider(&self.book, &p, &self.chain, |_| true))
                }
            };
            self.apply(found);
        }
    }
}

/// A proposal without its borrow of the book: (job, provider, requester, escrow, collateral)
/// per match, and the exhausted providers.
type Found = (Vec<(Hash, Address, Address, Amount, Amount)>, Vec<Address>);

fn summarize(proposal: Proposal<'_>) -> Found {
    let matches = proposal
        .matches
        .iter()
        .map(|m| {
            (
                m.job,
                m.provider(),
                m.bid.bid.requester,
                m.escrow,
                m.collateral,
            )
        })
        .collect();
    (matches, proposal.exhausted)
}

fn bench(c: &mut Criterion) {
    let market = resting_market();
    let orders = stream();
    // One untimed pass to report what the mix does.
    {
        let mut m = market.clone();
        m.process(stream());
        eprintln!(
            "mix: {} stream orders, {} refused by the book, {} matches; book after: {} bids, {} offers; head {} → {}",
            orders.len(),
            m.refused,
            m.matches,
            m.book.bid_count(),
            m.book.offer_count(),
            HEAD,
            m.chain.head()
        );
    }

    let mut group = c.benchmark_group("orderbook");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(STREAM as u64));
    group.bench_function("insert_and_match_10k_on_10k_resting", |b| {
        b.iter_batched(
            || (market.clone(), stream()),
            |(mut m, orders)| {
                m.process(orders);
                m
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("insert_only_10k_bids_on_10k_resting", |b| {
        b.iter_batched(
            || {
                let mut rng = Rng(9);
                let bids: Vec<_> = (0..STREAM as u64)
                    .map(|n| new_bid(&mut rng, RESTING_BIDS + n, HEAD, (50, 150)))
                    .collect();
                (market.book.clone(), bids)
            },
            |(mut book, bids)| {
                for bid in bids {
                    let _ = black_box(book.insert_bid(bid));
                }
                book
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // A whole-book clearing pass with 10k bids crossing 10k offers.
    let mut crossing = market.clone();
    let mut rng = Rng(11);
    for n in 0..RESTING_BIDS {
        let bid = new_bid(&mut rng, 2 * RESTING_BIDS + n, HEAD, (100, 200));
        let _ = crossing.book.insert_bid(bid);
    }
    let mut group = c.benchmark_group("orderbook");
    group.sample_size(10);
    group.throughput(Throughput::Elements(crossing.book.bid_count() as u64));
    eprintln!(
        "match_all: {} bids, {} offers, {} matches",
        crossing.book.bid_count(),
        crossing.book.offer_count(),
        match_all(&crossing.book, &crossing.chain).matches.len()
    );
    group.bench_function("match_all_20k_bids_10k_offers", |b| {
        b.iter(|| black_box(match_all(&crossing.book, &crossing.chain).matches.len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
