//! A provider's pricing and capacity: the config it sets, the offer it derives for a head
//! block, and the bids it picks from the book.
//!
//! ```toml
//! price_per_fuel = 2          # or "2": amounts also read as decimal strings
//! max_fuel_per_job = 5000000000
//! capacity = 4
//! offer_lifetime_blocks = 20
//! min_bid_price = 3           # optional: ignore bids paying less than this per fuel
//! denied_modules = ["0x…"]    # optional; allowed_modules = [...] restricts to a list
//! ```
//!
//! The provider is paid its own offer price; `min_bid_price` only filters which bids it takes
//! (a bid's max price must reach both it and the offer price).

use std::collections::BTreeSet;

use joule_ledger::{Address, Amount, Bid, BlockNumber, ChainId, Hash, Nonce, Offer};
use serde::{Deserialize, Deserializer, Serialize};

use crate::book::OrderBook;
use crate::chain::ChainView;
use crate::matching::{Proposal, match_provider};

/// What a provider sets in its config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct StrategyConfig {
    /// Price per unit of fuel it asks.
    #[serde(
        serialize_with = "joule_ledger::primitives::serde_helpers::amount::serialize",
        deserialize_with = "amount_number_or_string"
    )]
    pub price_per_fuel: Amount,
    /// Largest fuel limit of a job it takes.
    pub max_fuel_per_job: u64,
    /// Jobs it runs at once.
    pub capacity: u32,
    /// Blocks an offer stays valid after the head it is made at.
    pub offer_lifetime_blocks: u64,
    /// Re-offer when the current offer has this many blocks or fewer left.
    #[serde(default = "default_refresh")]
    pub refresh_blocks_before_expiry: u64,
    /// Lowest bid max price per fuel it takes (0: any bid reaching its own price).
    #[serde(
        default,
        serialize_with = "joule_ledger::primitives::serde_helpers::amount::serialize",
        deserialize_with = "amount_number_or_string"
    )]
    pub min_bid_price: Amount,
    /// If set, only these modules (code hashes) are run.
    #[serde(default)]
    pub allowed_modules: Option<BTreeSet<Hash>>,
    /// Modules never run.
    #[serde(default)]
    pub denied_modules: BTreeSet<Hash>,
}

fn default_refresh() -> u64 {
    2
}

fn amount_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(Amount::from(n)),
        Raw::Text(s) => s.parse().map_err(|_| {
            serde::de::Error::custom(format!("invalid amount {s:?}: expected a decimal number"))
        }),
    }
}

/// Why a strategy config is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// A field that must be positive is zero.
    #[error("strategy field {field} must be at least 1")]
    Zero {
        /// The field's name.
        field: &'static str,
    },
    /// The refresh margin would re-offer at every block.
    #[error(
        "refresh_blocks_before_expiry ({refresh}) must be below offer_lifetime_blocks ({lifetime})"
    )]
    Refresh {
        /// `refresh_blocks_before_expiry`.
        refresh: u64,
        /// `offer_lifetime_blocks`.
        lifetime: u64,
    },
    /// `max_fuel_per_job × price_per_fuel` overflows, so no offer could be valid.
    #[error("max_fuel_per_job {max_fuel} × price_per_fuel {price} overflows")]
    Overflow {
        /// `max_fuel_per_job`.
        max_fuel: u64,
        /// `price_per_fuel`.
        price: Amount,
    },
}

impl StrategyConfig {
    /// Checks that the config yields valid offers.
    pub fn validate(&self) -> Result<(), StrategyError> {
        for (field, zero) in [
            ("price_per_fuel", self.price_per_fuel == 0),
            ("max_fuel_per_job", self.max_fuel_per_job == 0),
            ("capacity", self.capacity == 0),
            ("offer_lifetime_blocks", self.offer_lifetime_blocks == 0),
        ] {
            if zero {
                return Err(StrategyError::Zero { field });
            }
        }
        if self.refresh_blocks_before_expiry >= self.offer_lifetime_blocks {
            return Err(StrategyError::Refresh {
                refresh: self.refresh_blocks_before_expiry,
                lifetime: self.offer_lifetime_blocks,
            });
        }
        if Amount::from(self.max_fuel_per_job)
            .checked_mul(self.price_per_fuel)
            .is_none()
        {
            return Err(StrategyError::Overflow {
                max_fuel: self.max_fuel_per_job,
                price: self.price_per_fuel,
            });
        }
        Ok(())
    }

    /// Whether the provider takes this bid at all (price floor, fuel, module lists), before
    /// matching looks at the chain.
    pub fn accepts(&self, bid: &Bid) -> bool {
        bid.max_price_per_fuel >= self.price_per_fuel.max(self.min_bid_price)
            && bid.fuel_limit <= self.max_fuel_per_job
            && !self.denied_modules.contains(&bid.module)
            && self
                .allowed_modules
                .as_ref()
                .is_none_or(|allowed| allowed.contains(&bid.module))
    }
}

/// A provider's strategy in use: its config, identity, and the nonce of its last offer.
#[derive(Debug, Clone)]
pub struct ProviderStrategy {
    config: StrategyConfig,
    provider: Address,
    chain_id: ChainId,
    last_nonce: Option<Nonce>,
}

impl ProviderStrategy {
    /// A strategy for `provider` on `chain_id`; the config is validated.
    pub fn new(
        config: StrategyConfig,
        provider: Address,
        chain_id: ChainId,
    ) -> Result<Self, StrategyError> {
        config.validate()?;
        Ok(ProviderStrategy {
            config,
            provider,
            chain_id,
            last_nonce: None,
        })
    }

    /// The config.
    pub fn config(&self) -> &StrategyConfig {
        &self.config
    }

    /// The provider's address.
    pub fn provider(&self) -> Address {
        self.provider
    }

    /// A fresh offer at head `head`, to sign and gossip: valid through `head + lifetime`. Its
    /// nonce is the head block number (so it grows across restarts without stored state) or one
    /// more than the last offer's if that is higher.
    pub fn offer(&mut self, head: BlockNumber) -> Offer {
        let nonce = self
            .last_nonce
            .map_or(head, |last| head.max(last.saturating_add(1)));
        self.last_nonce = Some(nonce);
        Offer {
            chain_id: self.chain_id,
            provider: self.provider,
            price_per_fuel: self.config.price_per_fuel,
            max_fuel: self.config.max_fuel_per_job,
            capacity: self.config.capacity,
            expiry: head.saturating_add(self.config.offer_lifetime_blocks),
            nonce,
        }
    }

    /// Whether to make a new offer at `head`: there is none, it nears expiry, or it no longer
    /// says what the config says.
    pub fn needs_new_offer(&self, current: Option<&Offer>, head: BlockNumber) -> bool {
        let Some(o) = current else {
            return true;
        };
        o.expiry <= head.saturating_add(self.config.refresh_blocks_before_expiry)
            || o.price_per_fuel != self.config.price_per_fuel
            || o.max_fuel != self.config.max_fuel_per_job
            || o.capacity != self.config.capacity
            || o.provider != self.provider
            || o.chain_id != self.chain_id
    }

    /// The bids to send `Match` for now: the provider's open offer in `book` against the bids it
    /// [accepts](StrategyConfig::accepts), best-paying first, within its capacity and stake.
    pub fn pick<'a>(&self, book: &'a OrderBook, chain: &impl ChainView) -> Proposal<'a> {
        match_provider(book, &self.provider, chain, |entry| {
            self.config.accepts(entry.bid())
        })
    }
}

#[cfg(test)]
mod tests {
    use joule_ledger::genesis::MarketParams;

    use super::*;
    use crate::book::BookLimits;
    use crate::chain::ProviderView;
    use crate::testing::{MemChain, TEST_CHAIN, addr, bid, unsigned_bid, unsigned_offer};

    fn config() -> StrategyConfig {
        toml::from_str(
            r#"
price_per_fuel = 2
max_fuel_per_job = 5000
capacity = 2
offer_lifetime_blocks = 20
"#,
        )
        .unwrap()
    }

    #[test]
    fn config_reads_from_toml_with_defaults_and_lists() {
        let c = config();
        assert_eq!(c.price_per_fuel, 2);
        assert_eq!(c.refresh_blocks_before_expiry, 2);
        assert_eq!(c.min_bid_price, 0);
        assert_eq!(c.allowed_modules, None);
        let module = Hash::keccak(b"module");
        let text = format!(
            "price_per_fuel = \"340282366920938463463374607431768211455\"\nmax_fuel_per_job = 1\n\
             capacity = 1\noffer_lifetime_blocks = 5\nmin_bid_price = 7\n\
             allowed_modules = [\"{module}\"]\n"
        );
        let c: StrategyConfig = toml::from_str(&text).unwrap();
        assert_eq!(c.price_per_fuel, Amount::MAX);
        assert_eq!(c.min_bid_price, 7);
        assert!(c.allowed_modules.unwrap().contains(&module));
        assert!(toml::from_str::<StrategyConfig>(&format!("{text}bogus = 1\n")).is_err());
        assert!(toml::from_str::<StrategyConfig>("price_per_fuel = \"x\"").is_err());
        // It round-trips through JSON (amounts as strings).
        let json = serde_json::to_string(&config()).unwrap();
        assert!(json.contains("\"price_per_fuel\":\"2\""), "{json}");
        assert_eq!(
            serde_json::from_str::<StrategyConfig>(&json).unwrap(),
            config()
        );
    }

    #[test]
    fn config_refusals() {
        let with = |edit: fn(&mut StrategyConfig)| {
            let mut c = config();
            edit(&mut c);
            c.validate()
        };
        assert_eq!(with(|_| {}), Ok(()));
        assert_eq!(
            with(|c| c.price_per_fuel = 0),
            Err(StrategyError::Zero {
                field: "price_per_fuel"
            })
        );
        assert_eq!(
            with(|c| c.capacity = 0),
            Err(StrategyError::Zero { field: "capacity" })
        );
        assert_eq!(
            with(|c| c.max_fuel_per_job = 0),
            Err(StrategyError::Zero {
                field: "max_fuel_per_job"
            })
        );
        assert_eq!(
            with(|c| c.offer_lifetime_blocks = 2),
            Err(StrategyError::Refresh {
                refresh: 2,
                lifetime: 2
            })
        );
        assert_eq!(
            with(|c| c.price_per_fuel = Amount::MAX),
            Err(StrategyError::Overflow {
                max_fuel: 5000,
                price: Amount::MAX
            })
        );
        assert!(ProviderStrategy::new(config(), addr(1), TEST_CHAIN).is_ok());
    }

    #[test]
    fn offers_follow_the_config_with_growing_nonces() {
        let mut s = ProviderStrategy::new(config(), addr(1), TEST_CHAIN).unwrap();
        assert!(s.needs_new_offer(None, 10));
        let o = s.offer(10);
        assert_eq!(
            o,
            Offer {
                chain_id: TEST_CHAIN,
                provider: addr(1),
                price_per_fuel: 2,
                max_fuel: 5000,
                capacity: 2,
                expiry: 30,
                nonce: 10,
            }
        );
        assert_eq!(s.offer(10).nonce, 11);
        assert_eq!(s.offer(11).nonce, 12);
        assert_eq!(s.offer(40).nonce, 40);
        assert!(!s.needs_new_offer(Some(&o), 27));
        assert!(s.needs_new_offer(Some(&o), 28));
        let mut repriced = s.clone();
        repriced.config.price_per_fuel = 3;
        assert!(repriced.needs_new_offer(Some(&o), 10));
    }

    #[test]
    fn picks_only_accepted_bids_within_capacity() {
        let module = Hash::keccak(b"module");
        let other = Hash::keccak(b"other module");
        let mut config = config();
        config.min_bid_price = 4;
        config.denied_modules.insert(other);
        let mut s = ProviderStrategy::new(config, addr(100), TEST_CHAIN).unwrap();

        let mut chain = MemChain::new(MarketParams::default());
        chain.head = 10;
        chain.providers.insert(
            addr(100),
            ProviderView {
                free_stake: u128::MAX / 2,
                active_jobs: 0,
                reputation: 0,
            },
        );
        let mut book = OrderBook::new(BookLimits::default(), 10);
        book.insert_offer(unsigned_offer(s.offer(10))).unwrap();
        let mut put = |requester, price, fuel, module| {
            chain.balances.insert(addr(requester), u128::MAX / 2);
            let mut b = bid(addr(requester), 0);
            b.max_price_per_fuel = price;
            b.fuel_limit = fuel;
            b.module = module;
            let b = unsigned_bid(b);
            let id = b.id();
            book.insert_bid(b).unwrap();
            id
        };
        let cheap = put(1, 3, 1000, module); // below min_bid_price
        let denied = put(2, 9, 1000, other);
        let big = put(3, 8, 6000, module); // over max fuel
        let good = put(4, 5, 1000, module);
        let good2 = put(5, 4, 1000, module);
        let third = put(6, 4, 1000, module); // over capacity 2
        let picked: Vec<_> = s
            .pick(&book, &chain)
            .matches
            .iter()
            .map(|m| m.job)
            .collect();
        assert_eq!(picked, vec![good, good2]);
        let _ = (cheap, denied, big, third);

        s.config.allowed_modules = Some(BTreeSet::from([other]));
        s.config.denied_modules.clear();
        let picked: Vec<_> = s
            .pick(&book, &chain)
            .matches
            .iter()
            .map(|m| m.job)
            .collect();
        assert_eq!(picked, vec![denied]);
    }
}
