//! The RPC methods as plain functions over [`RpcContext`], so they are tested without a server.

use std::sync::Arc;

use joule_contracts::state::{Job, MarketState, Provider};
use joule_ledger::block::tx_leaves;
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::store::{StoreError, Table};
use joule_ledger::{
    Address, BlockNumber, Chain, Hash, Header, Mempool, SignedTransaction, StateKey, codec, merkle,
};
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::sync::broadcast;

use joule_ledger::{SignedBid, SignedOffer};
use joule_market::OrderBook;

use crate::outbox::{LocalOutbox, Outbox, OutboxError};

use super::types::{
    AccountJson, BlockJson, HeaderJson, JobJson, NodeInfo, ProviderJson, StoredJson, TxJson,
    TxProofJson,
};

/// Most jobs one `market_listJobs` call returns.
pub const MAX_LIST: usize = 500;

/// What the RPC server reads and writes.
#[derive(Debug, Clone)]
pub struct RpcContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The transaction pool.
    pub mempool: Arc<Mutex<Mempool>>,
    /// New heads, as committed.
    pub heads: broadcast::Sender<Header>,
    /// Open bids and offers.
    pub book: Arc<Mutex<OrderBook>>,
    /// Roles this process runs, for `node_info`.
    pub roles: Vec<String>,
}

/// An RPC failure: a code and a message that says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// Parameters that do not parse or make no sense (JSON-RPC -32602).
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A transaction the pool refused (code 1001).
    #[error("transaction rejected: {0}")]
    TxRejected(String),
    /// A bid the order book refused (code 1002).
    #[error("bid rejected: {0}")]
    BidRejected(String),
    /// The node's database failed (JSON-RPC -32603).
    #[error("internal error: {0}")]
    Internal(String),
}

impl RpcError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        match self {
            RpcError::InvalidParams(_) => -32602,
            RpcError::TxRejected(_) => 1001,
            RpcError::BidRejected(_) => 1002,
            RpcError::Internal(_) => -32603,
        }
    }
}

impl From<StoreError> for RpcError {
    fn from(e: StoreError) -> Self {
        RpcError::Internal(e.to_string())
    }
}

/// A block named by height (a number, or a decimal string), by hash (`"0x…"`, 32 bytes), or
/// `"latest"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockId {
    /// By height.
    Number(BlockNumber),
    /// By hash.
    Hash(Hash),
    /// The head.
    Latest,
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(BlockId::Number)
                .ok_or_else(|| D::Error::custom(format!("{n} is not a block number"))),
            serde_json::Value::String(s) if s == "latest" => Ok(BlockId::Latest),
            serde_json::Value::String(s) if s.starts_with("0x") => s
                .parse()
                .map(BlockId::Hash)
                .map_err(|e| D::Error::custom(format!("{s:?} is not a block hash: {e}"))),
            serde_json::Value::String(s) => s.parse().map(BlockId::Number).map_err(|_| {
                D::Error::custom(format!(
                    "{s:?} is not a block number, a block hash or \"latest\""
                ))
            }),
            other => Err(D::Error::custom(format!(
                "{other} is not a block number, a block hash or \"latest\""
            ))),
        }
    }
}

fn header_json(header: Header) -> HeaderJson {
    HeaderJson {
        hash: header.hash(),
        header,
    }
}

fn tx_json(
    signed: SignedTransaction,
    chain_id: u64,
    block_number: Option<BlockNumber>,
    index: Option<u32>,
    receipt: Option<joule_ledger::Receipt>,
) -> Result<TxJson, RpcError> {
    let verified = signed
        .clone()
        .verify(chain_id)
        .map_err(|e| RpcError::Internal(format!("stored transaction does not verify: {e}")))?;
    Ok(TxJson {
        hash: verified.hash(),
        sender: verified.sender(),
        tx: signed.tx,
        signature: signed.signature,
        block_number,
        index,
        receipt,
    })
}

impl RpcContext {
    fn committed_state(&self) -> StateOverlay {
        StateOverlay::new(self.chain.store().clone())
    }

    /// `chain_head`.
    pub fn head(&self) -> HeaderJson {
        header_json(self.chain.head())
    }

    fn resolve(&self, id: BlockId) -> Result<Option<BlockNumber>, RpcError> {
        Ok(match id {
            BlockId::Number(n) => Some(n),
            BlockId::Latest => Some(self.chain.head().number),
            BlockId::Hash(h) => self.chain.block_number(&h)?,
        })
    }

    /// `chain_getBlock`: `null` for an unknown block.
    pub fn block(&self, id: BlockId) -> Result<Option<BlockJson>, RpcError> {
        let Some(number) = self.resolve(id)? else {
            return Ok(None);
        };
        let Some(block) = self.chain.block(number)? else {
            return Ok(None);
        };
        let receipts = self.chain.receipts(number)?.unwrap_or_default();
        let chain_id = self.chain.chain_id();
        let transactions = block
            .txs
            .into_iter()
            .enumerate()
            .map(|(i, tx)| {
                tx_json(
                    tx,
                    chain_id,
                    Some(number),
                    Some(i as u32),
                    receipts.get(i).cloned(),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(BlockJson {
            header: header_json(block.header),
            seal: block.seal,
            transactions,
            receipts,
        }))
    }

    /// `chain_getTransaction`: an included transaction, or a pooled one, or `null`.
    pub fn transaction(&self, hash: Hash) -> Result<Option<TxJson>, RpcError> {
        let chain_id = self.chain.chain_id();
        if let Some(location) = self.chain.tx_location(&hash)? {
            let block = self
                .chain
                .block(location.block)?
                .ok_or_else(|| RpcError::Internal(format!("block {} missing", location.block)))?;
            let receipt = self
                .chain
                .receipts(location.block)?
                .and_then(|r| r.get(location.index as usize).cloned());
            let tx = block
                .txs
                .get(location.index as usize)
                .cloned()
                .ok_or_else(|| RpcError::Internal("transaction index out of range".into()))?;
            return tx_json(
                tx,
                chain_id,
                Some(location.block),
                Some(location.index),
                receipt,
            )
            .map(Some);
        }
        let pooled = self.mempool.lock().get(&hash).map(|v| v.signed().clone());
        pooled
            .map(|tx| tx_json(tx, chain_id, None, None, None))
            .transpose()
    }

    /// `chain_getTransactionProof`: `null` unless the transaction is included.
    pub fn transaction_proof(&self, hash: Hash) -> Result<Option<TxProofJson>, RpcError> {
        let Some(location) = self.chain.tx_location(&hash)? else {
            return Ok(None);
        };
        let block = self
            .chain
            .block(location.block)?
            .ok_or_else(|| RpcError::Internal(format!("block {} missing", location.block)))?;
        let index = location.index as usize;
        let proof = merkle::prove(&tx_leaves(&block.txs), index)
            .ok_or_else(|| RpcError::Internal("transaction index out of range".into()))?;
        Ok(Some(TxProofJson {
            tx_hash: hash,
            signed_tx: codec::encode(&block.txs[index]),
            header: header_json(block.header),
            proof,
        }))
    }

    /// `state_getAccount`.
    pub fn account(&self, address: Address) -> Result<AccountJson, RpcError> {
        let account = self.chain.account_at_head(&address)?;
        // The account just read answers the pool's question: no second read under its lock.
        let pending_nonce = self
            .mempool
            .lock()
            .pending_nonce(&address, &ReadAccount(&account));
        Ok(AccountJson {
            address,
            balance: account.balance,
            nonce: account.nonce,
            pending_nonce,
        })
    }

    /// `tx_submit`: signed transaction bytes as 0x-hex; returns its hash.
    pub fn submit(&self, hex_bytes: &str) -> Result<Hash, RpcError> {
        let bytes = joule_ledger::primitives::parse_hex_bytes(hex_bytes)
            .map_err(|e| RpcError::InvalidParams(format!("transaction bytes: {e}")))?;
        if bytes.len() > joule_ledger::tx::MAX_TX_BYTES {
            return Err(RpcError::TxRejected(format!(
                "transaction is {} bytes, the limit is {}",
                bytes.len(),
                joule_ledger::tx::MAX_TX_BYTES
            )));
        }
        let tx: SignedTransaction = codec::decode(&bytes).map_err(|e| {
            RpcError::InvalidParams(format!("transaction bytes do not decode: {e}"))
        })?;
        self.outbox()
            .submit_tx(tx)
            .map_err(|e| RpcError::TxRejected(e.to_string()))
    }

    /// `market_getJob`: the chain's record, or `null`.
    pub fn job(&self, id: Hash) -> Result<Option<JobJson>, RpcError> {
        Ok(self.committed_state().job(&id)?.map(|job| JobJson {
            id,
            status: job.phase.name().to_owned(),
            job,
        }))
    }

    /// `market_listJobs`: jobs in id order after `after`, optionally only one status and one
    /// requester or provider, at most `limit` (capped at [`MAX_LIST`]).
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobJson>, RpcError> {
        let prefix = state_prefix(&StateKey::Job(Hash::ZERO));
        let limit = filter.limit.unwrap_or(100).min(MAX_LIST);
        let mut after = filter.after.map(|h| codec::encode(&StateKey::Job(h)));
        let mut out = Vec::new();
        // Scan in pages so a filter that matches little still ends.
        for _ in 0..64 {
            let page = self
                .chain
                .store()
                .scan_raw(Table::State, &prefix, after.as_deref(), 256)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, value) in page {
                let id = Hash::from_slice(&key[prefix.len()..])
                    .ok_or_else(|| RpcError::Internal("malformed job key".into()))?;
                let job: Job =
                    codec::decode(&value).map_err(|e| RpcError::Internal(e.to_string()))?;
                if filter.matches(&job) {
                    out.push(JobJson {
                        id,
                        status: job.phase.name().to_owned(),
                        job,
                    });
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// `market_getProvider`: `null` if it never registered.
    pub fn provider(&self, address: Address) -> Result<Option<ProviderJson>, RpcError> {
        Ok(self
            .committed_state()
            .provider(&address)?
            .map(|provider: Provider| ProviderJson {
                address,
                score: provider.reputation.score(),
                free_stake: provider.free_stake(),
                provider,
            }))
    }

    /// `market_getModule`: a published module's code hash and size, or `null`.
    pub fn module(&self, hash: Hash) -> Result<Option<StoredJson>, RpcError> {
        Ok(self
            .committed_state()
            .module(&hash)?
            .map(|code| StoredJson {
                hash,
                size: code.len() as u64,
            }))
    }

    /// `market_getInput`: a published input's hash and size, or `null`.
    pub fn input(&self, hash: Hash) -> Result<Option<StoredJson>, RpcError> {
        Ok(self.committed_state().input(&hash)?.map(|data| StoredJson {
            hash,
            size: data.len() as u64,
        }))
    }

    /// `market_getParams`: the market parameters fixed at genesis (limits, fees, windows), as
    /// in the genesis document.
    pub fn market_params(&self) -> MarketParams {
        self.chain.genesis().market.clone()
    }

    /// `market_submitBid`: checks a signed bid without and with the chain (signature, expiry,
    /// sizes, requester balance for escrow, module published) and puts it in the order book,
    /// where providers match it. Returns the job id.
    pub fn submit_bid(&self, signed: SignedBid) -> Result<Hash, RpcError> {
        self.outbox().publish_bid(signed).map_err(|e| match e {
            OutboxError::Bid(why) => RpcError::BidRejected(why),
            other => RpcError::BidRejected(other.to_string()),
        })
    }

    /// Where transactions and bids received over RPC go: the same doors the node's own use.
    fn outbox(&self) -> LocalOutbox {
        LocalOutbox::new(self.chain.clone(), self.mempool.clone(), self.book.clone())
    }

    /// `market_listOffers`: open offers, cheapest first.
    pub fn offers(&self) -> Vec<SignedOffer> {
        self.book
            .lock()
            .offers()
            .map(|o| o.signed().clone())
            .collect()
    }

    /// `node_info`.
    pub fn info(&self) -> Result<NodeInfo, RpcError> {
        let (open_bids, open_offers) = {
            let book = self.book.lock();
            (book.bid_count(), book.offer_count())
        };
        Ok(NodeInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            chain_id: self.chain.chain_id(),
            genesis_hash: self.chain.genesis().hash(),
            roles: self.roles.clone(),
            head: self.chain.head().number,
            mempool_size: self.mempool.lock().len(),
            open_bids,
            open_offers,
        })
    }
}

/// The encoded-key prefix of a [`StateKey`] variant (its 4-byte variant index).
fn state_prefix(key: &StateKey) -> Vec<u8> {
    codec::encode(key)[..4].to_vec()
}

/// `market_listJobs` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobFilter {
    /// Only jobs in this phase (`committing`, `revealing`, `challengeable`, `arbitrating`,
    /// `settled`, `expired`).
    pub status: Option<String>,
    /// Only jobs of this requester.
    pub requester: Option<Address>,
    /// Only jobs this provider holds a replica of.
    pub provider: Option<Address>,
    /// Start after this job id.
    pub after: Option<Hash>,
    /// Most results.
    pub limit: Option<usize>,
}

impl JobFilter {
    fn matches(&self, job: &Job) -> bool {
        self.status.as_deref().is_none_or(|s| s == job.phase.name())
            && self.requester.is_none_or(|r| r == job.requester)
            && self
                .provider
                .is_none_or(|p| job.assignments.iter().any(|a| a.provider == p))
    }
}

/// One account already read, as the mempool's [`AccountReader`] for that address.
struct ReadAccount<'a>(&'a joule_ledger::Account);

impl joule_ledger::AccountReader for ReadAccount<'_> {
    fn account(&self, _address: &Address) -> joule_ledger::Account {
        *self.0
    }
}
