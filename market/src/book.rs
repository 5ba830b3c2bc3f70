//! The order book: open bids and offers a node has seen, indexed for matching.
//!
//! It holds only [`VerifiedBid`]s and [`VerifiedOffer`]s (signature and fields checked on entry)
//! and keeps them in price-time priority: bids by highest max price, then earliest arrival;
//! offers by lowest price, then earliest arrival. Arrival is a sequence number the book assigns
//! ([`OrderBook::insert_bid`]) or is given ([`OrderBook::insert_bid_at`], for replay and tests);
//! two orders given the same arrival and price are ordered by bid id / provider address, so the
//! order is total and never depends on hash-map iteration.
//!
//! One offer per provider: a higher nonce replaces the provider's offer (and takes a new
//! arrival), a lower or equal one is refused. The book forgets orders when told that the head
//! moved past their expiry ([`OrderBook::on_new_head`]) or that a bid got all its replicas
//! ([`OrderBook::on_matched`]).
//!
//! # Parked offers
//! An offer whose provider cannot take another job before the next block (at capacity, not
//! registered, or expiring) is useless to every later bid of the same block, yet it sits at the
//! cheap end of the queue where every bid would look at it first. Matching reports such
//! providers ([`Proposal::exhausted`](crate::matching::Proposal::exhausted)) and the node
//! [parks](OrderBook::park_offer) them: a parked offer stays in the book but leaves the matching
//! queue until the next head (when jobs may have settled) or until the provider replaces it.
//!
//! # Bounds
//! [`BookLimits`] caps the number of bids, of offers, of bids per requester and the inline input
//! bytes held. When a side is full, a new order **evicts the worst-priced resting orders** of
//! that side (lowest bids, dearest offers; the latest arrival first among equals) if it is
//! strictly better priced than each of them, and is refused otherwise. Spam at bad prices
//! therefore cannot push out useful orders, and a full book still lets better prices in. The
//! per-requester cap always refuses: one requester cannot evict the others by itself.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use joule_ledger::{Address, Amount, Bid, BlockNumber, Hash, Nonce, Offer, SignedBid, SignedOffer};
use tracing::debug;

use crate::validate::{VerifiedBid, VerifiedOffer, is_live};

/// Arrival sequence number: lower arrived earlier and wins ties on price.
pub type Arrival = u64;

/// Memory bounds of an [`OrderBook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields, default)]
pub struct BookLimits {
    /// Most open bids.
    pub max_bids: usize,
    /// Most open offers (one per provider).
    pub max_offers: usize,
    /// Most open bids of one requester.
    pub max_bids_per_requester: usize,
    /// Most inline input bytes summed over the open bids.
    pub max_input_bytes: usize,
}

impl Default for BookLimits {
    fn default() -> Self {
        BookLimits {
            max_bids: 100_000,
            max_offers: 10_000,
            max_bids_per_requester: 64,
            max_input_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Why the book refused an order or an update.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// The order cannot be matched after the book's head block.
    #[error("order expires at block {expiry}, not after the book's head {head}")]
    Expired {
        /// Its expiry or deadline.
        expiry: BlockNumber,
        /// The book's head.
        head: BlockNumber,
    },
    /// The same bid (same id) is already open.
    #[error("bid {job} is already in the book")]
    DuplicateBid {
        /// The bid's id.
        job: Hash,
    },
    /// The same offer is already open.
    #[error("offer of {provider} with nonce {nonce} is already in the book")]
    DuplicateOffer {
        /// The provider.
        provider: Address,
        /// The nonce.
        nonce: Nonce,
    },
    /// The provider has an open offer with this nonce or a higher one.
    #[error("offer of {provider} has nonce {nonce}, the open one has {current}")]
    StaleOffer {
        /// The provider.
        provider: Address,
        /// The refused offer's nonce.
        nonce: Nonce,
        /// The open offer's nonce.
        current: Nonce,
    },
    /// The requester already has as many open bids as allowed.
    #[error("requester {requester} already has {limit} open bids")]
    RequesterLimit {
        /// The requester.
        requester: Address,
        /// `BookLimits::max_bids_per_requester`.
        limit: usize,
    },
    /// The bid side is full and the bid does not beat the resting bids it would evict.
    #[error(
        "bid side full ({limit} bids, {max_bytes} input bytes): price {price} does not beat the worst resting bid {worst:?}"
    )]
    BidsFull {
        /// `BookLimits::max_bids`.
        limit: usize,
        /// `BookLimits::max_input_bytes`.
        max_bytes: usize,
        /// The refused bid's max price.
        price: Amount,
        /// The worst resting bid's price that it did not beat, if any was left to evict.
        worst: Option<Amount>,
    },
    /// The offer side is full and the offer is not cheaper than the dearest resting offer.
    #[error("offer side full ({limit} offers): price {price} does not beat the dearest {worst:?}")]
    OffersFull {
        /// `BookLimits::max_offers`.
        limit: usize,
        /// The refused offer's price.
        price: Amount,
        /// The dearest resting offer's price.
        worst: Option<Amount>,
    },
    /// No open bid has this id.
    #[error("bid {job} is not in the book")]
    UnknownBid {
        /// The id.
        job: Hash,
    },
    /// The book already recorded this provider on this job.
    #[error("provider {provider} is already recorded on job {job}")]
    AlreadyMatched {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
}

/// An open bid with its arrival and the providers the book has seen matched to it.
#[derive(Debug, Clone)]
pub struct BidEntry {
    order: VerifiedBid,
    arrival: Arrival,
    matched: Vec<Address>,
}

impl BidEntry {
    /// The verified bid.
    pub fn order(&self) -> &VerifiedBid {
        &self.order
    }
    /// The signed bid (what a `Match` carries).
    pub fn signed(&self) -> &SignedBid {
        self.order.signed()
    }
    /// The bid.
    pub fn bid(&self) -> &Bid {
        self.order.bid()
    }
    /// Its id (the job id).
    pub fn id(&self) -> Hash {
        self.order.id()
    }
    /// Its arrival number.
    pub fn arrival(&self) -> Arrival {
        self.arrival
    }
    /// Providers reported matched by [`OrderBook::on_matched`], in order.
    pub fn matched(&self) -> &[Address] {
        &self.matched
    }
    /// Replicas not yet matched as far as the book knows.
    pub fn remaining(&self) -> u8 {
        let matched = u8::try_from(self.matched.len()).unwrap_or(u8::MAX);
        self.bid().replicas.saturating_sub(matched)
    }
}

/// An open offer with its arrival.
#[derive(Debug, Clone)]
pub struct OfferEntry {
    order: VerifiedOffer,
    arrival: Arrival,
}

impl OfferEntry {
    fn key(&self) -> OfferKey {
        OfferKey {
            price: self.offer().price_per_fuel,
            arrival: self.arrival,
            provider: self.offer().provider,
        }
    }
    /// The verified offer.
    pub fn order(&self) -> &VerifiedOffer {
        &self.order
    }
    /// The signed offer (what a `Match` carries).
    pub fn signed(&self) -> &SignedOffer {
        self.order.signed()
    }
    /// The offer.
    pub fn offer(&self) -> &Offer {
        self.order.offer()
    }
    /// Its arrival number.
    pub fn arrival(&self) -> Arrival {
        self.arrival
    }
}

/// What inserting a bid did besides adding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidInserted {
    /// The arrival it was given.
    pub arrival: Arrival,
    /// Worse-priced bids evicted to make room.
    pub evicted: Vec<Hash>,
}

/// What inserting an offer did besides adding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferInserted {
    /// The arrival it was given.
    pub arrival: Arrival,
    /// Nonce of the same provider's offer it replaced.
    pub replaced: Option<Nonce>,
    /// Provider whose dearer offer was evicted to make room.
    pub evicted: Option<Address>,
}

/// Orders dropped because the head passed their expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// Bid ids.
    pub bids: Vec<Hash>,
    /// Providers whose offer expired.
    pub offers: Vec<Address>,
}

/// A bid's state after [`OrderBook::on_matched`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Still open, with this many replicas to go.
    Partial {
        /// Replicas not matched yet.
        remaining: u8,
    },
    /// All replicas matched; the bid left the book.
    Filled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct BidKey {
    price: Reverse<Amount>,
    arrival: Arrival,
    id: Hash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OfferKey {
    price: Amount,
    arrival: Arrival,
    provider: Address,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum OrderRef {
    Bid(Hash),
    Offer(Address),
}

/// Open bids and offers in price-time priority. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct OrderBook {
    limits: BookLimits,
    head: BlockNumber,
    next_arrival: Arrival,
    bids: HashMap<Hash, BidEntry>,
    offers: HashMap<Address, OfferEntry>,
    bid_index: BTreeSet<BidKey>,
    offer_index: BTreeSet<OfferKey>,
    parked: HashSet<Address>,
    expiries: BTreeSet<(BlockNumber, Arrival, OrderRef)>,
    per_requester: HashMap<Address, usize>,
    input_bytes: usize,
}

impl OrderBook {
    /// An empty book at head block `head`.
    pub fn new(limits: BookLimits, head: BlockNumber) -> Self {
        OrderBook {
            limits,
            head,
            next_arrival: 0,
            bids: HashMap::new(),
            offers: HashMap::new(),
            bid_index: BTreeSet::new(),
            offer_index: BTreeSet::new(),
            parked: HashSet::new(),
            expiries: BTreeSet::new(),
            per_requester: HashMap::new(),
            input_bytes: 0,
        }
    }

    /// The limits it was built with.
    pub fn limits(&self) -> &BookLimits {
        &self.limits
    }
    /// The last head block it was told of.
    pub fn head(&self) -> BlockNumber {
        self.head
    }
    /// Number of open bids.
    pub fn bid_count(&self) -> usize {
        self.bids.len()
    }
    /// Number of open offers, parked ones included.
    pub fn offer_count(&self) -> usize {
        self.offers.len()
    }
    /// Number of parked offers.
    pub fn parked_count(&self) -> usize {
        self.parked.len()
    }
    /// Whether a provider's offer is parked.
    pub fn is_parked(&self, provider: &Address) -> bool {
        self.parked.contains(provider)
    }
    /// Inline input bytes held by open bids.
    pub fn input_bytes(&self) -> usize {
        self.input_bytes
    }
    /// An open bid by id.
    pub fn bid(&self, job: &Hash) -> Option<&BidEntry> {
        self.bids.get(job)
    }
    /// A provider's open offer.
    pub fn offer(&self, provider: &Address) -> Option<&OfferEntry> {
        self.offers.get(provider)
    }
    /// Open bids, best first: highest max price, then earliest arrival.
    pub fn bids(&self) -> impl Iterator<Item = &BidEntry> + '_ {
        self.bid_index.iter().filter_map(|k| self.bids.get(&k.id))
    }
    /// Open offers that are not parked, best first: lowest price, then earliest arrival.
    pub fn offers(&self) -> impl Iterator<Item = &OfferEntry> + '_ {
        self.offer_index
            .iter()
            .filter_map(|k| self.offers.get(&k.provider))
    }

    /// Adds a bid with the next arrival number.
    pub fn insert_bid(&mut self, bid: VerifiedBid) -> Result<BidInserted, BookError> {
        self.insert_bid_at(bid, self.next_arrival)
    }

    /// Adds a bid with a given arrival number (later automatic arrivals come after it).
    pub fn insert_bid_at(
        &mut self,
        bid: VerifiedBid,
        arrival: Arrival,
    ) -> Result<BidInserted, BookError> {
        let b = bid.bid();
        if !is_live(b.deadline, self.head) {
            return Err(BookError::Expired {
                expiry: b.deadline,
                head: self.head,
            });
        }
        let id = bid.id();
        if self.bids.contains_key(&id) {
            return Err(BookError::DuplicateBid { job: id });
        }
        let requester = b.requester;
        if self.per_requester.get(&requester).copied().unwrap_or(0)
            >= self.limits.max_bids_per_requester
        {
            return Err(BookError::RequesterLimit {
                requester,
                limit: self.limits.max_bids_per_requester,
            });
        }
        let price = b.max_price_per_fuel;
        let victims = self.bid_victims(price, bid.input_bytes())?;
        let mut evicted = Vec::with_capacity(victims.len());
        for victim in victims {
            if self.remove_bid_entry(&victim).is_some() {
                debug!(target: "market::book", job = %victim, "evicted a worse-priced bid: book full");
                evicted.push(victim);
            }
        }
        self.next_arrival = self.next_arrival.max(arrival.saturating_add(1));
        self.bid_index.insert(BidKey {
            price: Reverse(price),
            arrival,
            id,
        });
        self.expiries
            .insert((b.deadline, arrival, OrderRef::Bid(id)));
        *self.per_requester.entry(requester).or_default() += 1;
        self.input_bytes += bid.input_bytes();
        self.bids.insert(
            id,
            BidEntry {
                order: bid,
                arrival,
                matched: Vec::new(),
            },
        );
        Ok(BidInserted { arrival, evicted })
    }

    /// The worst bids to evict so that one more bid of `bytes` input fits, all strictly below
    /// `price`; refuses if they are not enough.
    fn bid_victims(&self, price: Amount, bytes: usize) -> Result<Vec<Hash>, BookError> {
        let mut count = self.bids.len() + 1;
        let mut held = self.input_bytes.saturating_add(bytes);
        let mut victims = Vec::new();
        let mut worst_first = self.bid_index.iter().rev();
        while count > self.limits.max_bids || held > self.limits.max_input_bytes {
            let full = |worst| BookError::BidsFull {
                limit: self.limits.max_bids,
                max_bytes: self.limits.max_input_bytes,
                price,
                worst,
            };
            let key = worst_first.next().ok_or_else(|| full(None))?;
            if key.price.0 >= price {
                return Err(full(Some(key.price.0)));
            }
            let size = self.bids.get(&key.id).map_or(0, |e| e.order.input_bytes());
            count -= 1;
            held -= size;
            victims.push(key.id);
        }
        Ok(victims)
    }

    /// Adds or replaces a provider's offer with the next arrival number.
    pub fn insert_offer(&mut self, offer: VerifiedOffer) -> Result<OfferInserted, BookError> {
        self.insert_offer_at(offer, self.next_arrival)
    }

    /// Adds or replaces a provider's offer with a given arrival number.
    pub fn insert_offer_at(
        &mut self,
        offer: VerifiedOffer,
        arrival: Arrival,
    ) -> Result<OfferInserted, BookError> {
        let o = offer.offer();
        if !is_live(o.expiry, self.head) {
            return Err(BookError::Expired {
                expiry: o.expiry,
                head: self.head,
            });
        }
        let provider = o.provider;
        let price = o.price_per_fuel;
        let mut replaced = None;
        let mut evicted = None;
        if let Some(current) = self.offers.get(&provider) {
            let current = current.offer();
            if current == o {
                return Err(BookError::DuplicateOffer {
                    provider,
                    nonce: o.nonce,
                });
            }
            if o.nonce <= current.nonce {
                return Err(BookError::StaleOffer {
                    provider,
                    nonce: o.nonce,
                    current: current.nonce,
                });
            }
            replaced = Some(current.nonce);
            self.remove_offer(&provider);
        } else if self.offers.len() >= self.limits.max_offers {
            let worst = self.offer_index.last().copied();
            match worst {
                Some(w) if w.price > price => {
                    self.remove_offer(&w.provider);
                    debug!(target: "market::book", provider = %w.provider, "evicted a dearer offer: book full");
                    evicted = Some(w.provider);
                }
                _ => {
                    return Err(BookError::OffersFull {
                        limit: self.limits.max_offers,
                        price,
                        worst: worst.map(|w| w.price),
                    });
                }
            }
        }
        self.next_arrival = self.next_arrival.max(arrival.saturating_add(1));
        self.offer_index.insert(OfferKey {
            price,
            arrival,
            provider,
        });
        self.expiries
            .insert((o.expiry, arrival, OrderRef::Offer(provider)));
        self.offers.insert(
            provider,
            OfferEntry {
                order: offer,
                arrival,
            },
        );
        Ok(OfferInserted {
            arrival,
            replaced,
            evicted,
        })
    }

    /// Removes a bid (cancelled, or judged unmatchable by the caller).
    pub fn remove_bid(&mut self, job: &Hash) -> Option<VerifiedBid> {
        self.remove_bid_entry(job).map(|e| e.order)
    }

    /// Removes a provider's offer.
    pub fn remove_offer(&mut self, provider: &Address) -> Option<VerifiedOffer> {
        let entry = self.offers.remove(provider)?;
        let o = entry.offer();
        if !self.parked.remove(provider) {
            self.offer_index.remove(&entry.key());
        }
        self.expiries
            .remove(&(o.expiry, entry.arrival, OrderRef::Offer(*provider)));
        Some(entry.order)
    }

    /// Takes a provider's offer out of the matching queue until the next head or until the
    /// provider replaces it: matching found that it cannot take another job at this head.
    /// Returns whether an open, unparked offer was parked.
    pub fn park_offer(&mut self, provider: &Address) -> bool {
        let Some(entry) = self.offers.get(provider) else {
            return false;
        };
        if !self.parked.insert(*provider) {
            return false;
        }
        self.offer_index.remove(&entry.key());
        true
    }

    fn remove_bid_entry(&mut self, job: &Hash) -> Option<BidEntry> {
        let entry = self.bids.remove(job)?;
        let b = entry.bid();
        self.bid_index.remove(&BidKey {
            price: Reverse(b.max_price_per_fuel),
            arrival: entry.arrival,
            id: *job,
        });
        self.expiries
            .remove(&(b.deadline, entry.arrival, OrderRef::Bid(*job)));
        if let Some(n) = self.per_requester.get_mut(&b.requester) {
            *n -= 1;
            if *n == 0 {
                self.per_requester.remove(&b.requester);
            }
        }
        self.input_bytes -= entry.order.input_bytes();
        Some(entry)
    }

    /// The chain's head moved to `head`: drops every order that can no longer be matched
    /// (expiry ≤ `head`). A head lower than the book's is ignored.
    pub fn on_new_head(&mut self, head: BlockNumber) -> Expired {
        let mut expired = Expired::default();
        if head <= self.head {
            return expired;
        }
        self.head = head;
        while let Some(&(expiry, _, order)) = self.expiries.first() {
            if is_live(expiry, head) {
                break;
            }
            match order {
                OrderRef::Bid(id) => {
                    self.remove_bid_entry(&id);
                    expired.bids.push(id);
                }
                OrderRef::Offer(provider) => {
                    self.remove_offer(&provider);
                    expired.offers.push(provider);
                }
            }
        }
        // Jobs may have settled in the new block: parked providers get another chance.
        for provider in std::mem::take(&mut self.parked) {
            if let Some(entry) = self.offers.get(&provider) {
                self.offer_index.insert(entry.key());
            }
        }
        if !expired.bids.is_empty() || !expired.offers.is_empty() {
            debug!(target: "market::book", head, bids = expired.bids.len(), offers = expired.offers.len(), "dropped expired orders");
        }
        expired
    }

    /// The chain matched `provider` to `job`: records it, and drops the bid once all its
    /// replicas are matched.
    pub fn on_matched(&mut self, job: &Hash, provider: Address) -> Result<Fill, BookError> {
        let entry = self
            .bids
            .get_mut(job)
            .ok_or(BookError::UnknownBid { job: *job })?;
        if entry.matched.contains(&provider) {
            return Err(BookError::AlreadyMatched {
                job: *job,
                provider,
            });
        }
        entry.matched.push(provider);
        let remaining = entry.remaining();
        if remaining == 0 {
            self.remove_bid_entry(job);
            return Ok(Fill::Filled);
        }
        Ok(Fill::Partial { remaining })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{addr, bid, offer, unsigned_bid, unsigned_offer};
    use joule_ledger::JobInput;

    fn book() -> OrderBook {
        OrderBook::new(BookLimits::default(), 10)
    }

    fn priced_bid(requester: u32, nonce: u64, price: Amount) -> VerifiedBid {
        let mut b = bid(addr(requester), nonce);
        b.max_price_per_fuel = price;
        unsigned_bid(b)
    }

    fn priced_offer(provider: u32, price: Amount, nonce: u64) -> VerifiedOffer {
        let mut o = offer(addr(provider), price);
        o.nonce = nonce;
        unsigned_offer(o)
    }

    #[test]
    fn price_time_priority_on_both_sides() {
        let mut book = book();
        let b1 = priced_bid(1, 0, 5);
        let b2 = priced_bid(1, 1, 7);
        let b3 = priced_bid(2, 0, 5);
        let ids = [b1.id(), b2.id(), b3.id()];
        for b in [b1, b2, b3] {
            book.insert_bid(b).unwrap();
        }
        let order: Vec<_> = book.bids().map(|e| e.id()).collect();
        assert_eq!(order, vec![ids[1], ids[0], ids[2]]);

        for (p, price) in [(1, 4), (2, 3), (3, 4)] {
            book.insert_offer(priced_offer(p, price, 1)).unwrap();
        }
        let order: Vec<_> = book.offers().map(|e| e.offer().provider).collect();
        assert_eq!(order, vec![addr(2), addr(1), addr(3)]);
    }

    #[test]
    fn explicit_arrivals_order_ties_whatever_the_insertion_order() {
        let b1 = priced_bid(1, 0, 5);
        let b2 = priced_bid(2, 0, 5);
        let mut one = book();
        one.insert_bid_at(b1.clone(), 7).unwrap();
        one.insert_bid_at(b2.clone(), 3).unwrap();
        let mut two = book();
        two.insert_bid_at(b2.clone(), 3).unwrap();
        two.insert_bid_at(b1.clone(), 7).unwrap();
        let ids = |b: &OrderBook| b.bids().map(|e| e.id()).collect::<Vec<_>>();
        assert_eq!(ids(&one), vec![b2.id(), b1.id()]);
        assert_eq!(ids(&one), ids(&two));
        // Automatic arrivals continue after the highest given one.
        assert_eq!(one.insert_bid(priced_bid(3, 0, 5)).unwrap().arrival, 8);
    }

    #[test]
    fn duplicate_and_expired_bids_are_refused() {
        let mut book = book();
        let b = priced_bid(1, 0, 5);
        book.insert_bid(b.clone()).unwrap();
        assert_eq!(
            book.insert_bid(b.clone()),
            Err(BookError::DuplicateBid { job: b.id() })
        );
        let mut late = bid(addr(1), 9);
        late.deadline = 10;
        assert_eq!(
            book.insert_bid(unsigned_bid(late)),
            Err(BookError::Expired {
                expiry: 10,
                head: 10
            })
        );
        let mut late = offer(addr(1), 1);
        late.expiry = 9;
        assert_eq!(
            book.insert_offer(unsigned_offer(late)),
            Err(BookError::Expired {
                expiry: 9,
                head: 10
            })
        );
    }

    #[test]
    fn a_newer_offer_replaces_an_older_one_and_older_ones_are_refused() {
        let mut book = book();
        book.insert_offer(priced_offer(1, 5, 3)).unwrap();
        book.insert_offer(priced_offer(2, 6, 1)).unwrap();
        assert_eq!(
            book.insert_offer(priced_offer(1, 5, 3)),
            Err(BookError::DuplicateOffer {
                provider: addr(1),
                nonce: 3
            })
        );
        assert_eq!(
            book.insert_offer(priced_offer(1, 4, 3)),
            Err(BookError::StaleOffer {
                provider: addr(1),
                nonce: 3,
                current: 3
            })
        );
        assert_eq!(
            book.insert_offer(priced_offer(1, 4, 2)),
            Err(BookError::StaleOffer {
                provider: addr(1),
                nonce: 2,
                current: 3
            })
        );
        // The replacement takes a new arrival: at an equal price it now queues behind provider 2.
        let ins = book.insert_offer(priced_offer(1, 6, 4)).unwrap();
        assert_eq!(ins.replaced, Some(3));
        assert_eq!(book.offer_count(), 2);
        let order: Vec<_> = book.offers().map(|e| e.offer().provider).collect();
        assert_eq!(order, vec![addr(2), addr(1)]);
        assert_eq!(book.offer(&addr(1)).unwrap().offer().nonce, 4);
    }

    #[test]
    fn expired_orders_leave_when_the_head_passes_them() {
        let mut book = book();
        let mut b = bid(addr(1), 0);
        b.deadline = 12;
        let b = unsigned_bid(b);
        let id = b.id();
        book.insert_bid(b).unwrap();
        let mut o = offer(addr(2), 1);
        o.expiry = 11;
        book.insert_offer(unsigned_offer(o)).unwrap();
        book.insert_bid(priced_bid(3, 0, 1)).unwrap(); // deadline 100
        assert_eq!(book.on_new_head(10), Expired::default());
        let e = book.on_new_head(11);
        assert_eq!(e.offers, vec![addr(2)]);
        assert!(e.bids.is_empty());
        // Block 12 is the bid's last: at head 11 it can still land in block 12.
        assert_eq!(book.bid_count(), 2);
        let e = book.on_new_head(12);
        assert_eq!(e.bids, vec![id]);
        assert_eq!(book.bid_count(), 1);
        assert_eq!(book.on_new_head(5), Expired::default());
        assert_eq!(book.head(), 12);
    }

    #[test]
    fn filled_bids_leave_after_their_replicas() {
        let mut book = book();
        let b = priced_bid(1, 0, 5); // 2 replicas
        let id = b.id();
        book.insert_bid(b).unwrap();
        assert_eq!(
            book.on_matched(&id, addr(7)),
            Ok(Fill::Partial { remaining: 1 })
        );
        assert_eq!(
            book.on_matched(&id, addr(7)),
            Err(BookError::AlreadyMatched {
                job: id,
                provider: addr(7)
            })
        );
        assert_eq!(book.bid(&id).unwrap().matched(), &[addr(7)]);
        assert_eq!(book.on_matched(&id, addr(8)), Ok(Fill::Filled));
        assert_eq!(book.bid_count(), 0);
        assert_eq!(
            book.on_matched(&id, addr(9)),
            Err(BookError::UnknownBid { job: id })
        );
        assert!(book.remove_bid(&id).is_none());
    }

    #[test]
    fn per_requester_limit_refuses() {
        let limits = BookLimits {
            max_bids_per_requester: 2,
            ..BookLimits::default()
        };
        let mut book = OrderBook::new(limits, 0);
        book.insert_bid(priced_bid(1, 0, 1)).unwrap();
        book.insert_bid(priced_bid(1, 1, 1)).unwrap();
        assert_eq!(
            book.insert_bid(priced_bid(1, 2, 9)),
            Err(BookError::RequesterLimit {
                requester: addr(1),
                limit: 2
            })
        );
        book.insert_bid(priced_bid(2, 0, 1)).unwrap();
        let first = book.bids().next().unwrap().id();
        book.remove_bid(&first).unwrap();
        book.insert_bid(priced_bid(1, 2, 9)).unwrap();
    }

    #[test]
    fn a_full_bid_side_evicts_the_worst_priced_or_refuses() {
        let limits = BookLimits {
            max_bids: 3,
            ..BookLimits::default()
        };
        let mut book = OrderBook::new(limits, 0);
        let low_early = priced_bid(1, 0, 2);
        let low_late = priced_bid(2, 0, 2);
        let high = priced_bid(3, 0, 9);
        for b in [low_early.clone(), low_late.clone(), high] {
            book.insert_bid(b).unwrap();
        }
        // Equal to the worst price: refused (it would arrive later, so it is worse).
        assert_eq!(
            book.insert_bid(priced_bid(4, 0, 2)),
            Err(BookError::BidsFull {
                limit: 3,
                max_bytes: BookLimits::default().max_input_bytes,
                price: 2,
                worst: Some(2)
            })
        );
        // Better: evicts the latest of the worst-priced.
        let ins = book.insert_bid(priced_bid(4, 0, 3)).unwrap();
        assert_eq!(ins.evicted, vec![low_late.id()]);
        assert_eq!(book.bid_count(), 3);
        assert!(book.bid(&low_early.id()).is_some());
    }

    #[test]
    fn the_input_byte_bound_evicts_enough_or_refuses() {
        let limits = BookLimits {
            max_input_bytes: 10,
            ..BookLimits::default()
        };
        let mut book = OrderBook::new(limits, 0);
        let sized = |requester, size, price| {
            let mut b = bid(addr(requester), 0);
            b.input = JobInput::Inline(vec![0; size]);
            b.max_price_per_fuel = price;
            unsigned_bid(b)
        };
        book.insert_bid(sized(1, 4, 1)).unwrap();
        book.insert_bid(sized(2, 4, 2)).unwrap();
        assert_eq!(book.input_bytes(), 8);
        // Needs 11 bytes free of 10: no eviction can make it fit.
        assert!(matches!(
            book.insert_bid(sized(3, 11, 9)),
            Err(BookError::BidsFull { worst: None, .. })
        ));
        // Needs both evicted, but the second costs 2 ≥ 2: refused, and nothing was evicted.
        assert!(matches!(
            book.insert_bid(sized(3, 9, 2)),
            Err(BookError::BidsFull { worst: Some(2), .. })
        ));
        assert_eq!(book.bid_count(), 2);
        let ins = book.insert_bid(sized(3, 9, 3)).unwrap();
        assert_eq!(ins.evicted.len(), 2);
        assert_eq!(book.input_bytes(), 9);
        assert_eq!(book.bid_count(), 1);
    }

    #[test]
    fn a_full_offer_side_evicts_the_dearest_or_refuses() {
        let limits = BookLimits {
            max_offers: 2,
            ..BookLimits::default()
        };
        let mut book = OrderBook::new(limits, 0);
        book.insert_offer(priced_offer(1, 5, 1)).unwrap();
        book.insert_offer(priced_offer(2, 8, 1)).unwrap();
        assert_eq!(
            book.insert_offer(priced_offer(3, 8, 1)),
            Err(BookError::OffersFull {
                limit: 2,
                price: 8,
                worst: Some(8)
            })
        );
        // A replacement never needs room.
        book.insert_offer(priced_offer(2, 9, 2)).unwrap();
        let ins = book.insert_offer(priced_offer(3, 7, 1)).unwrap();
        assert_eq!(ins.evicted, Some(addr(2)));
        assert!(book.offer(&addr(2)).is_none());
        let order: Vec<_> = book.offers().map(|e| e.offer().provider).collect();
        assert_eq!(order, vec![addr(1), addr(3)]);
    }

    #[test]
    fn parked_offers_leave_the_queue_until_the_next_head_or_a_replacement() {
        let mut book = book();
        book.insert_offer(priced_offer(1, 1, 1)).unwrap();
        book.insert_offer(priced_offer(2, 2, 1)).unwrap();
        book.insert_offer(priced_offer(3, 3, 1)).unwrap();
        let queue = |b: &OrderBook| b.offers().map(|e| e.offer().provider).collect::<Vec<_>>();
        assert!(book.park_offer(&addr(1)));
        assert!(!book.park_offer(&addr(1)));
        assert!(!book.park_offer(&addr(9)));
        assert!(book.park_offer(&addr(2)));
        assert_eq!(queue(&book), vec![addr(3)]);
        assert_eq!((book.offer_count(), book.parked_count()), (3, 2));
        assert!(book.is_parked(&addr(1)));
        // A replacement unparks (it may have more capacity).
        book.insert_offer(priced_offer(2, 2, 2)).unwrap();
        assert_eq!(queue(&book), vec![addr(2), addr(3)]);
        // Removing a parked offer works.
        assert!(book.remove_offer(&addr(1)).is_some());
        book.park_offer(&addr(3));
        assert_eq!(queue(&book), vec![addr(2)]);
        // The next head unparks the rest, in their old place.
        book.on_new_head(11);
        assert_eq!(queue(&book), vec![addr(2), addr(3)]);
        assert_eq!(book.parked_count(), 0);
        // A parked offer that expires leaves the book.
        let mut o = offer(addr(4), 1);
        o.expiry = 12;
        book.insert_offer(unsigned_offer(o)).unwrap();
        book.park_offer(&addr(4));
        assert_eq!(book.on_new_head(12).offers, vec![addr(4)]);
        assert!(book.offer(&addr(4)).is_none());
        assert_eq!(queue(&book), vec![addr(2), addr(3)]);
    }

    #[test]
    fn removal_keeps_every_index_consistent() {
        let mut book = book();
        let b = priced_bid(1, 0, 5);
        let id = b.id();
        book.insert_bid(b).unwrap();
        book.insert_offer(priced_offer(1, 5, 1)).unwrap();
        assert!(book.remove_bid(&id).is_some());
        assert!(book.remove_offer(&addr(1)).is_some());
        assert_eq!(book.bids().count(), 0);
        assert_eq!(book.offers().count(), 0);
        assert_eq!(book.input_bytes(), 0);
        assert!(book.expiries.is_empty());
        assert!(book.per_requester.is_empty());
    }
}
