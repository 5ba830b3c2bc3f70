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
