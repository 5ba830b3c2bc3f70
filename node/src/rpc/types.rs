//! JSON shapes of RPC results: hashes, addresses and bytes as 0x-hex, amounts as decimal strings.

use joule_contracts::state::{Job, Provider};
use joule_ledger::merkle::MerkleProof;
use joule_ledger::{Address, Amount, BlockNumber, Hash, Header, Receipt, Signature, Transaction};
use serde::{Deserialize, Serialize};

/// A header with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderJson {
    /// The block hash.
    pub hash: Hash,
    /// The header.
    #[serde(flatten)]
    pub header: Header,
}

/// A transaction with what the node knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxJson {
    /// Transaction hash.
    pub hash: Hash,
    /// Recovered sender.
    pub sender: Address,
    /// The transaction.
    pub tx: Transaction,
    /// Its signature.
    pub signature: Signature,
    /// Block it was included in (`None` while pending).
    pub block_number: Option<BlockNumber>,
    /// Its index in the block.
    pub index: Option<u32>,
    /// Its receipt, once included.
    pub receipt: Option<Receipt>,
}

/// A block with its transactions and receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockJson {
    /// Header and hash.
    pub header: HeaderJson,
    /// The proposer's seal.
    pub seal: Signature,
    /// Transactions in order.
    pub transactions: Vec<TxJson>,
    /// Receipts in order; a last one with a zero hash holds end-of-block events.
    pub receipts: Vec<Receipt>,
}

/// A transaction's inclusion proof, checkable against the header alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxProofJson {
    /// The transaction hash.
    pub tx_hash: Hash,
    /// Canonical signed transaction bytes (the Merkle leaf's content).
    #[serde(with = "joule_ledger::primitives::serde_helpers::bytes")]
    pub signed_tx: Vec<u8>,
    /// The header of the including block.
    pub header: HeaderJson,
    /// The proof against `header.txRoot`.
    pub proof: MerkleProof,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountJson {
    /// The address.
    pub address: Address,
    /// Spendable balance.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub balance: Amount,
    /// Next nonce on chain.
    pub nonce: u64,
    /// Next nonce counting this node's pooled transactions.
    pub pending_nonce: u64,
}

/// A job as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobJson {
    /// The job id (its bid's id).
    pub id: Hash,
    /// Its phase's name.
    pub status: String,
    /// The record.
    #[serde(flatten)]
    pub job: Job,
}

/// A provider's record with its reputation score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderJson {
    /// The provider.
    pub address: Address,
    /// The score bids compare with `minReputation`.
    pub score: u64,
    /// Stake not locked as collateral.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub free_stake: Amount,
    /// The record.
    #[serde(flatten)]
    pub provider: Provider,
}

/// What `node_info` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// Software version.
    pub version: String,
    /// Chain id.
    pub chain_id: u64,
    /// Genesis hash.
    pub genesis_hash: Hash,
    /// Roles this process runs.
    pub roles: Vec<String>,
    /// Current head.
    pub head: BlockNumber,
    /// Transactions pooled.
    pub mempool_size: usize,
    /// Open bids and offers in the order book.
    pub open_bids: usize,
    /// Open offers.
    pub open_offers: usize,
}

/// A module or input stored on chain, named by its Keccak-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredJson {
    /// Its hash (a module's code hash).
    pub hash: Hash,
    /// Its size in bytes.
    pub size: u64,
}
