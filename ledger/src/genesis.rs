//! Genesis: the chain's founding document.
//!
//! It names the chain id, the authorities, the block time and the initial balances. Its hash is
//! the genesis block's parent hash, so two chains with different genesis files never share a
//! block hash. It reads from TOML or JSON.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};

use crate::codec;
use crate::primitives::{Address, Amount, ChainId, Hash};
use crate::vote::AuthoritySet;

/// Parameters fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Genesis {
    /// Chain id, in every signed payload.
    pub chain_id: ChainId,
    /// Genesis timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Target interval between blocks, in ms.
    #[serde(default = "default_block_time_ms")]
    pub block_time_ms: u64,
    /// The authorities, in proposer order.
    pub authorities: Vec<Address>,
    /// Initial balances.
    #[serde(default)]
    pub balances: BTreeMap<Address, GenesisBalance>,
    /// Market parameters (stake, windows, audit rate, slashing split).
    #[serde(default)]
    pub market: MarketParams,
}

/// The market's economic and timing parameters, fixed at genesis.
///
/// Windows are in blocks. Rates are in parts per million so that every node computes them with
/// integers.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields, default)]
pub struct MarketParams {
    /// Smallest stake a provider registers with.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub min_stake: Amount,
    /// Blocks between `Unbond` and the stake becoming withdrawable.
    pub unbonding_blocks: u64,
    /// Fee per byte of a published module or input, burned.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub publish_fee_per_byte: Amount,
    /// Largest published input, and largest inline bid input, in bytes.
    pub max_input_bytes: u32,
    /// Largest output carried inline in a reveal, in bytes.
    pub max_inline_output_bytes: u32,
    /// Most replicas a bid may ask for.
    pub max_replicas: u8,
    /// Largest fuel limit of a job (bounds what arbitration costs a block).
    pub max_job_fuel: u64,
    /// Blocks after a job's first match during which its other replicas may match.
    pub match_blocks: u64,
    /// Blocks after a job's first match by which every provider must commit.
    pub commit_blocks: u64,
    /// Blocks after the reveal phase opens by which every committed provider must reveal.
    pub reveal_blocks: u64,
    /// Blocks after agreement during which anyone may challenge.
    pub challenge_blocks: u64,
    /// Bond a challenger posts; returned with a reward if the challenge is upheld.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub challenge_bond: Amount,
    /// A replica's collateral, in parts per million of its most payment (fuel limit × price).
    pub collateral_ppm: u64,
    /// Smallest collateral of a replica.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub min_collateral: Amount,
    /// Probability, in parts per million, that an agreed result is audited by re-execution.
    pub audit_ppm: u32,
    /// Share of a slash, in parts per million, paid to the challenger or requester; the rest
    /// is burned.
    pub slash_reward_ppm: u32,
    /// Most jobs whose deadlines are processed at the end of one block; the rest wait a block.
    pub max_due_per_block: u32,
    /// Most fuel the chain spends re-executing jobs in one block; other arbitrations wait.
    pub max_arbitration_fuel_per_block: u64,
}

impl Default for MarketParams {
    fn default() -> Self {
        MarketParams {
            min_stake: 1_000_000_000,
            unbonding_blocks: 100,
            publish_fee_per_byte: 10,
            max_input_bytes: 256 * 1024,
            max_inline_output_bytes: 64 * 1024,
            max_replicas: 5,
            max_job_fuel: 10_000_000_000,
            match_blocks: 10,
            commit_blocks: 30,
            reveal_blocks: 10,
            challenge_blocks: 10,
            challenge_bond: 10_000_000,
            collateral_ppm: 30_000_000,
            min_collateral: 1_000,
            audit_ppm: 50_000,
            slash_reward_ppm: 500_000,
            max_due_per_block: 256,
            max_arbitration_fuel_per_block: 20_000_000_000,
        }
    }
}

/// An initial balance (a wrapper so TOML and JSON carry it as a decimal string).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct GenesisBalance(#[serde(with = "crate::primitives::serde_helpers::amount")] pub Amount);

fn default_block_time_ms() -> u64 {
    1000
}

/// Why a genesis document is unusable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// No authorities, or one listed twice.
    #[error("genesis must list at least one authority, each once")]
    Authorities,
    /// Block time of zero.
    #[error("block time must be at least 1 ms")]
    BlockTime,
    /// The balances add up to more than an amount can hold.
    #[error("genesis balances overflow the amount type")]
    SupplyOverflow,
    /// A market parameter is out of range.
    #[error("invalid market parameter: {0}")]
    Market(&'static str),
    /// The text did not parse.
    #[error("invalid genesis file: {0}")]
    Parse(String),
}

impl Genesis {
    /// Checks the document and returns the authority set.
    pub fn validate(&self) -> Result<AuthoritySet, GenesisError> {
        if self.block_time_ms == 0 {
            return Err(GenesisError::BlockTime);
        }
        self.total_supply()?;
        self.market.validate()?;
        AuthoritySet::new(self.authorities.clone()).ok_or(GenesisError::Authorities)
    }

    /// Sum of the initial balances.
    pub fn total_supply(&self) -> Result<Amount, GenesisError> {
        self.balances
            .values()
            .try_fold(0u128, |acc, b| acc.checked_add(b.0))
            .ok_or(GenesisError::SupplyOverflow)
    }

    /// Hash of the canonical genesis document.
    pub fn hash(&self) -> Hash {
        Hash::keccak(&codec::encode(self))
    }

    /// Parses TOML.
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        toml_parse(text)
    }

    /// Parses JSON.
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        serde_json_parse(text)
    }
}

impl MarketParams {
    /// Collateral the chain locks from a provider's stake for one replica whose most payment
    /// (its escrow, fuel limit × price) is `escrow`: `collateral_ppm` parts per million of it,
    /// at least `min_collateral`. `None` on overflow.
    pub fn collateral(&self, escrow: Amount) -> Option<Amount> {
        let share = escrow.checked_mul(Amount::from(self.collateral_ppm))? / 1_000_000;
        Some(share.max(self.min_collateral))
    }

    /// Checks that the parameters make a working market.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let m = |what| Err(GenesisError::Market(what));
        if self.max_replicas == 0 {
            return m("max_replicas must be at least 1");
        }
        if self.commit_blocks <= self.match_blocks {
            return m("commit_blocks must exceed match_blocks");
        }
        if self.reveal_blocks == 0 || self.challenge_blocks == 0 {
            return m("reveal_blocks and challenge_blocks must be at least 1");
        }
        if self.audit_ppm > 1_000_000 || self.slash_reward_ppm > 1_000_000 {
            return m("audit_ppm and slash_reward_ppm are at most 1000000");
        }
        if self.max_due_per_block == 0 {
            return m("max_due_per_block must be at least 1");
        }
        if self.max_arbitration_fuel_per_block < self.max_job_fuel {
            return m("max_arbitration_fuel_per_block must cover max_job_fuel");
        }
        Ok(())
    }
}

fn toml_parse(text: &str) -> Result<Genesis, GenesisError> {
    toml::from_str(text).map_err(|e| GenesisError::Parse(e.to_string()))
}

fn serde_json_parse(text: &str) -> Result<Genesis, GenesisError> {
    serde_json::from_str(text).map_err(|e| GenesisError::Parse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collateral_is_a_share_of_the_payment_with_a_floor() {
        let params = MarketParams {
            collateral_ppm: 500_000,
            min_collateral: 100,
            ..MarketParams::default()
        };
        assert_eq!(params.collateral(1_000 * 2), Some(1_000));
        assert_eq!(params.collateral(10 * 2), Some(100));
        assert_eq!(params.collateral(Amount::MAX), None);
    }

    #[test]
    fn toml_round_trip_and_validation() {
        let text = r#"
chain_id = 7
timestamp_ms = 0
authorities = ["0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"]
[balances]
"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23" = "1000000"
"#;
        let g = Genesis::from_toml(text).unwrap();
        assert_eq!(g.block_time_ms, 1000);
        assert_eq!(g.total_supply().unwrap(), 1_000_000);
        assert_eq!(g.validate().unwrap().len(), 1);
        let mut bad = g.clone();
        bad.authorities.clear();
        assert!(matches!(bad.validate(), Err(GenesisError::Authorities)));
        assert!(matches!(
            Genesis::from_toml("chain_id = \"x\""),
            Err(GenesisError::Parse(_))
        ));
        assert!(matches!(
            Genesis::from_toml(&format!("{text}\nbogus = 1")),
            Err(GenesisError::Parse(_))
        ));
    }
}
