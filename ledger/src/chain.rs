//! [`Chain`]: block production and import over the store, behind an [`Executor`].
//!
//! - [`Chain::build_block`] takes candidate transactions (from the mempool, in its order),
//!   executes them, drops those that cannot be included, and seals the block.
//! - [`Chain::validate_block`] checks a proposed block against the head (height, parent,
//!   timestamp, proposer, seal, the parent's commit, the transaction root), recovers senders in
//!   parallel (`chain/body.rs`: each transaction is encoded once, on the recovery threads),
//!   executes, and checks the receipt and state roots (side by side when threads allow).
//! - [`Chain::import_blocks`] imports a run of committed blocks (catching up), recovering the
//!   senders of the next blocks while the current one executes and is written.
//! - [`Chain::commit_block`] checks the block's own commit (a quorum of precommits) and writes the
//!   block, receipts, indexes, state and head as one atomic, synced batch.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tracing::info;

use crate::block::{self, Block, Header, Receipt, TxStatus};
use crate::codec;
use crate::crypto::{SecretKey, SignatureError};
use crate::executor::{BlockContext, ExecError, Executor};
use crate::genesis::{Genesis, GenesisError};
use crate::primitives::{Address, BlockNumber, ChainId, Hash, Round};
use crate::state::{self, Account, AccountReader, StateOverlay};
use crate::store::{
    BlockBody, BlockHashes, Bodies, ChainStore, Commits, Headers, Receipts, StoreError, Table,
    TxIndex, TxLocation, WriteBatch, meta,
};
use crate::tx::{TxError, VerifiedTransaction};
use crate::vote::{AuthoritySet, Commit, VoteError};

mod body;

/// Most transactions one block may carry.
pub const MAX_BLOCK_TXS: usize = 10_000;

/// Why a block was refused. Nothing is written when any of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not the next height.
    #[error("block {got} does not follow head {head}")]
    WrongHeight {
        /// Current head.
        head: BlockNumber,
        /// The block's number.
        got: BlockNumber,
    },
    /// Parent hash is not the head's hash.
    #[error("block {number} names parent {got}, head is {expected}")]
    WrongParent {
        /// Block number.
        number: BlockNumber,
        /// Head hash.
        expected: Hash,
        /// The block's parent hash.
        got: Hash,
    },
    /// Timestamp not after the parent's.
    #[error("block timestamp {got} ms is not after its parent's {parent} ms")]
    Timestamp {
        /// Parent's timestamp.
        parent: u64,
        /// The block's.
        got: u64,
    },
    /// The header's proposer is not the one for (height, round).
    #[error("block {number} round {round} was proposed by {got}, the proposer is {expected}")]
    WrongProposer {
        /// Height.
        number: BlockNumber,
        /// Round.
        round: Round,
        /// The scheduled proposer.
        expected: Address,
        /// The header's proposer.
        got: Address,
    },
    /// The seal is not the proposer's.
    #[error("bad block seal: {0}")]
    BadSeal(SignatureError),
    /// The parent's commit is missing from a header that needs it, or present in block 1.
    #[error("block {number}: parent commit {problem}")]
    LastCommitShape {
        /// Height.
        number: BlockNumber,
        /// What is wrong.
        problem: &'static str,
    },
    /// The parent's commit does not prove the parent final.
    #[error("block {number}: invalid parent commit: {source}")]
    BadLastCommit {
        /// Height.
        number: BlockNumber,
        /// Why.
        source: VoteError,
    },
    /// This block's own commit is invalid.
    #[error("commit for block {number} is invalid: {source}")]
    BadCommit {
        /// Height.
        number: BlockNumber,
        /// Why.
        source: VoteError,
    },
    /// Too many transactions.
    #[error("block carries {got} transactions, the limit is {max}")]
    TooManyTxs {
        /// Count.
        got: usize,
        /// Limit.
        max: usize,
    },
    /// A transaction is malformed or badly signed.
    #[error("transaction {index} is invalid: {source}")]
    BadTx {
        /// Position.
        index: usize,
        /// Why.
        source: TxError,
    },
    /// A transaction cannot be included (nonce, fee).
    #[error("transaction {index} cannot be included: {source}")]
    TxNotIncludable {
        /// Position.
        index: usize,
        /// Why.
        source: ExecError,
    },
    /// A header root does not match the body or execution.
    #[error("{which} root mismatch: header has {header}, computed {computed}")]
    RootMismatch {
        /// `tx`, `receipt` or `state`.
        which: &'static str,
        /// In the header.
        header: Hash,
        /// Computed.
        computed: Hash,
    },
    /// Block-boundary processing failed.
    #[error("end-of-block processing failed: {0}")]
    EndBlock(ExecError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the chain could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The genesis document is invalid.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The database belongs to another chain.
    #[error("database was created with genesis {stored}, this genesis is {given}")]
    GenesisMismatch {
        /// In the database.
        stored: Hash,
        /// Given.
        given: Hash,
    },
    /// The database is inconsistent.
    #[error("database is inconsistent: {0}")]
    Inconsistent(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A block that was executed against the current head, ready to commit.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    /// The block.
    pub block: Block,
    /// Its receipts (plus a final zero-hash receipt if block-boundary processing emitted events).
    pub receipts: Vec<Receipt>,
    /// The hash of each transaction of `block`, in order (computed once, for the tx index).
    tx_hashes: Vec<Hash>,
    state_changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    state_commit: state::StateCommit,
}

impl ExecutedBlock {
    /// The hash of each transaction of the block, in order.
    pub fn tx_hashes(&self) -> &[Hash] {
        &self.tx_hashes
    }
}

/// The result of building a block.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The executed, sealed block.
    pub executed: ExecutedBlock,
    /// Candidates left out, with the reason.
    pub rejected: Vec<(Hash, ExecError)>,
}

/// The chain: genesis, head, store and executor.
#[derive(Debug)]
pub struct Chain {
    store: ChainStore,
    executor: Arc<dyn Executor>,
    genesis: Genesis,
    authorities: AuthoritySet,
    head: RwLock<Header>,
    write_lock: Mutex<()>,
    verify_threads: usize,
}

impl Chain {
    /// Opens the chain in `store`, writing genesis if the store is empty.
    pub fn open(
        store: ChainStore,
        genesis: Genesis,
        executor: Arc<dyn Executor>,
    ) -> Result<Self, OpenError> {
        let authorities = genesis.validate()?;
        let head = match store.head_number()? {
            Some(number) => {
                let stored = store
                    .genesis_hash()?
                    .ok_or_else(|| OpenError::Inconsistent("head without genesis hash".into()))?;
                if stored != genesis.hash() {
                    return Err(OpenError::GenesisMismatch {
                        stored,
                        given: genesis.hash(),
                    });
                }
                store.get::<Headers>(&number)?.ok_or_else(|| {
                    OpenError::Inconsistent(format!("head header {number} missing"))
                })?
            }
            None => Self::write_genesis(&store, &genesis)?,
        };
        info!(target: "ledger::chain", number = head.number, hash = %head.hash(), "opened chain");
        let verify_threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Ok(Chain {
            store,
            executor,
            genesis,
            authorities,
            head: RwLock::new(head),
            write_lock: Mutex::new(()),
            verify_threads,
        })
    }

    fn write_genesis(store: &ChainStore, genesis: &Genesis) -> Result<Header, OpenError> {
        let mut overlay = StateOverlay::new(store.clone());
        for (address, balance) in &genesis.balances {
            overlay.set_account(
                address,
                &Account {
                    balance: balance.0,
                    nonce: 0,
                },
            );
        }
        let changes = overlay.into_changes();
        let commit = state::commit_changes(store, &changes)?;
        let header = Header {
            parent_hash: genesis.hash(),
            number: 0,
            round: 0,
            timestamp_ms: genesis.timestamp_ms,
            proposer: Address::ZERO,
            tx_root: Hash::ZERO,
            receipt_root: Hash::ZERO,
            state_root: commit.root,
            last_commit: None,
        };
        let mut batch = WriteBatch::new();
        batch.put::<Headers>(&0, &header);
        batch.put::<BlockHashes>(&header.hash(), &0);
        state::write_changes(&mut batch, &changes, &commit);
        batch.put_raw(
            Table::Meta,
            meta::GENESIS.to_vec(),
            codec::encode(&genesis.hash()),
        );
        batch.put_raw(Table::Meta, meta::HEAD.to_vec(), codec::encode(&0u64));
        store.write(batch)?;
        info!(target: "ledger::chain", hash = %header.hash(), state_root = %header.state_root, "wrote genesis");
        Ok(header)
    }

    /// Sets how many threads block import may use (default: all cores): for hashing the body
    /// and recovering transaction signatures, and after execution for hashing the receipts
    /// beside the state changes and updating the state tree's two halves side by side. With 1,
    /// import runs on the calling thread alone.
    pub fn set_verify_threads(&mut self, threads: usize) {
        self.verify_threads = threads.max(1);
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.genesis.chain_id
    }
    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    /// The authorities.
    pub fn authorities(&self) -> &AuthoritySet {
        &self.authorities
    }
    /// The store.
    pub fn store(&self) -> &ChainStore {
        &self.store
    }
    /// The executor.
    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
    }
    /// The head header.
    pub fn head(&self) -> Header {
        self.head.read().clone()
    }

    /// Builds and seals the next block from `candidates`, in their order, skipping those that
    /// cannot be included. `key` must be the proposer of `(head + 1, round)`.
    pub fn build_block(
        &self,
        key: &SecretKey,
        round: Round,
        timestamp_ms: u64,
        last_commit: Option<Commit>,
        candidates: Vec<VerifiedTransaction>,
    ) -> Result<BuiltBlock, ImportError> {
        let parent = self.head();
        let ctx = BlockContext {
            chain_id: self.chain_id(),
            number: parent.number + 1,
            timestamp_ms,
            proposer: key.address(),
            parent_hash: parent.hash(),
        };
        let mut overlay = StateOverlay::new(self.store.clone());
        let mut included = Vec::new();
        let mut tx_hashes = Vec::new();
        let mut receipts = Vec::new();
        let mut rejected = Vec::new();
        for tx in candidates {
            if included.len() == MAX_BLOCK_TXS {
                break;
            }
            let checkpoint = overlay.checkpoint();
            match self.executor.execute_tx(&mut overlay, &ctx, &tx) {
                Ok(receipt) => {
                    receipts.push(receipt);
                    tx_hashes.push(tx.hash());
                    included.push(tx.into_signed());
                }
                Err(ExecError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    overlay.revert_to(checkpoint);
                    rejected.push((tx.hash(), e));
                }
            }
        }
        self.finish_block(&mut overlay, &ctx, &mut receipts)?;
        let state_changes = overlay.into_changes();
        let state_commit = state::commit_changes(&self.store, &state_changes)?;
        let header = Header {
            parent_hash: ctx.parent_hash,
            number: ctx.number,
            round,
            timestamp_ms,
            proposer: key.address(),
            tx_root: block::tx_root(&included),
            receipt_root: block::receipt_root(&receipts),
            state_root: state_commit.root,
            last_commit,
        };
        let seal = header.seal(key, self.chain_id());
        let block = Block {
            header,
            seal,
            txs: included,
        };
        Ok(BuiltBlock {
            executed: ExecutedBlock {
                block,
                receipts,
                tx_hashes,
                state_changes,
                state_commit,
            },
            rejected,
        })
    }

    fn finish_block(
        &self,
        overlay: &mut StateOverlay,
        ctx: &BlockContext,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), ImportError> {
        let events = self
            .executor
            .end_block(overlay, ctx)
            .map_err(ImportError::EndBlock)?;
        if !events.is_empty() {
            receipts.push(Receipt {
                tx_hash: Hash::ZERO,
                status: TxStatus::Success,
                fee_paid: 0,
                events,
            });
        }
        Ok(())
    }

    /// Checks and executes a proposed block on top of the head without writing anything.
    pub fn validate_block(&self, block: &Block) -> Result<ExecutedBlock, ImportError> {
        self.check_header(&self.head(), block)?;
        let verified = self.recover_senders(block)?;
        self.execute_verified(block, &verified, self.verify_threads)
    }

    /// The checks of `block` that need only its parent's header, not the state: height, parent
    /// hash, timestamp, proposer, seal, the parent's commit and the transaction count.
    fn check_header(&self, parent: &Header, block: &Block) -> Result<(), ImportError> {
        let h = &block.header;
        if h.number != parent.number + 1 {
            return Err(ImportError::WrongHeight {
                head: parent.number,
                got: h.number,
            });
        }
        if h.parent_hash != parent.hash() {
            return Err(ImportError::WrongParent {
                number: h.number,
                expected: parent.hash(),
                got: h.parent_hash,
            });
        }
        if h.timestamp_ms <= parent.timestamp_ms {
            return Err(ImportError::Timestamp {
                parent: parent.timestamp_ms,
                got: h.timestamp_ms,
            });
        }
        let expected = self.authorities.proposer(h.number, h.round);
        if h.proposer != expected {
            return Err(ImportError::WrongProposer {
                number: h.number,
                round: h.round,
                expected,
                got: h.proposer,
            });
        }
        h.verify_seal(&block.seal, self.chain_id())
            .map_err(ImportError::BadSeal)?;
        match (&h.last_commit, parent.number) {
            (None, 0) => {}
            (Some(_), 0) => {
                return Err(ImportError::LastCommitShape {
                    number: h.number,
                    problem: "present after genesis",
                });
            }
            (None, _) => {
                return Err(ImportError::LastCommitShape {
                    number: h.number,
                    problem: "missing",
                });
            }
            (Some(c), n) => c
                .verify(self.chain_id(), &self.authorities, n, h.parent_hash)
                .map_err(|source| ImportError::BadLastCommit {
                    number: h.number,
                    source,
                })?,
        }
        if block.txs.len() > MAX_BLOCK_TXS {
            return Err(ImportError::TooManyTxs {
                got: block.txs.len(),
                max: MAX_BLOCK_TXS,
            });
        }
        Ok(())
    }

    /// Checks the body against the header's transaction root, then recovers every sender on
    /// `verify_threads` threads. Needs no state, so it can run ahead of execution.
    fn recover_senders(&self, block: &Block) -> Result<Vec<VerifiedTransaction>, ImportError> {
        let body = body::EncodedBody::new(&block.txs, self.verify_threads);
        if body.tx_root != block.header.tx_root {
            return Err(ImportError::RootMismatch {
                which: "tx",
                header: block.header.tx_root,
                computed: body.tx_root,
            });
        }
        body.verify(self.chain_id(), self.verify_threads)
            .map_err(|(index, source)| ImportError::BadTx { index, source })
    }

    /// Executes a block whose header and senders were checked ([`Self::check_header`],
    /// [`Self::recover_senders`]) on top of the head, and checks the receipt and state roots;
    /// `threads` bounds the threads used after execution.
    fn execute_verified(
        &self,
        block: &Block,
        verified: &[VerifiedTransaction],
        threads: usize,
    ) -> Result<ExecutedBlock, ImportError> {
        let h = &block.header;
        let head = self.head().hash();
        if h.parent_hash != head {
            return Err(ImportError::WrongParent {
                number: h.number,
                expected: head,
                got: h.parent_hash,
            });
        }
        let ctx = BlockContext {
            chain_id: self.chain_id(),
            number: h.number,
            timestamp_ms: h.timestamp_ms,
            proposer: h.proposer,
            parent_hash: h.parent_hash,
        };
        let mut overlay = StateOverlay::new(self.store.clone());
        let mut receipts = Vec::with_capacity(verified.len() + 1);
        for (index, tx) in verified.iter().enumerate() {
            let receipt = self
                .executor
                .execute_tx(&mut overlay, &ctx, tx)
                .map_err(|source| ImportError::TxNotIncludable { index, source })?;
            receipts.push(receipt);
        }
        self.finish_block(&mut overlay, &ctx, &mut receipts)?;
        let state_changes = overlay.into_changes();
        // The receipt root and the state tree update are independent: with a second thread
        // allowed, the receipts are hashed beside the state changes (about the same work), and
        // the tree update then takes both threads. The receipt root is still checked first.
        let (receipt_root, state_commit) = if threads > 1 {
            std::thread::scope(|s| {
                let receipt_root = s.spawn(|| block::receipt_root(&receipts));
                let state_commit = state::commit_changes_on(&self.store, &state_changes, threads);
                let receipt_root = receipt_root
                    .join()
                    .expect("hashing receipts does not panic; qed");
                (receipt_root, state_commit)
            })
        } else {
            (
                block::receipt_root(&receipts),
                state::commit_changes(&self.store, &state_changes),
            )
        };
        if receipt_root != h.receipt_root {
            return Err(ImportError::RootMismatch {
                which: "receipt",
                header: h.receipt_root,
                computed: receipt_root,
            });
        }
        let state_commit = state_commit?;
        if state_commit.root != h.state_root {
            return Err(ImportError::RootMismatch {
                which: "state",
                header: h.state_root,
                computed: state_commit.root,
            });
        }
        Ok(ExecutedBlock {
            block: block.clone(),
            receipts,
            tx_hashes: verified.iter().map(VerifiedTransaction::hash).collect(),
            state_changes,
            state_commit,
        })
    }

    /// Writes an executed block with its commit as one atomic, synced batch and moves the head.
    pub fn commit_block(
        &self,
        executed: &ExecutedBlock,
        commit: Commit,
    ) -> Result<(), ImportError> {
        let _guard = self.write_lock.lock();
        let head = self.head();
        let header = &executed.block.header;
        if header.parent_hash != head.hash() {
            return Err(ImportError::WrongParent {
                number: header.number,
                expected: head.hash(),
                got: header.parent_hash,
            });
        }
        let hash = header.hash();
        commit
            .verify(self.chain_id(), &self.authorities, header.number, hash)
            .map_err(|source| ImportError::BadCommit {
                number: header.number,
                source,
            })?;
        let number = header.number;
        let mut batch = WriteBatch::new();
        batch.put::<Headers>(&number, header);
        batch.put::<Bodies>(
            &number,
            &BlockBody {
                seal: executed.block.seal,
                txs: executed.block.txs.clone(),
            },
        );
        batch.put::<Receipts>(&number, &executed.receipts);
        batch.put::<Commits>(&number, &commit);
        batch.put::<BlockHashes>(&hash, &number);
        for (index, tx_hash) in executed.tx_hashes.iter().enumerate() {
            batch.put::<TxIndex>(
                tx_hash,
                &TxLocation {
                    block: number,
                    index: index as u32,
                },
            );
        }
        state::write_changes(&mut batch, &executed.state_changes, &executed.state_commit);
        batch.put_raw(Table::Meta, meta::HEAD.to_vec(), codec::encode(&number));
        self.store.write(batch)?;
        *self.head.write() = header.clone();
        info!(
            target: "ledger::chain",
            number,
            %hash,
            round = header.round,
            txs = executed.block.txs.len(),
            state_root = %header.state_root,
            "committed block"
        );
        Ok(())
    }

    /// Validates, executes and commits `block` with its `commit`.
    pub fn import_block(&self, block: &Block, commit: Commit) -> Result<(), ImportError> {
        let executed = self.validate_block(block)?;
        self.commit_block(&executed, commit)
    }

    /// Imports a run of consecutive committed blocks (catching up), each exactly as
    /// [`Self::import_block`] would, in order, calling `on_commit` with each executed block
    /// once it is written (its transaction hashes are there, already computed).
    ///
    /// With more than one verify thread, the senders of the blocks ahead are recovered while
    /// the calling thread executes and writes the current one: recovery needs only a block and
    /// its parent's header, so a second thread checks each header against the one before it,
    /// checks the transaction root and recovers the senders on `verify_threads` threads, at most
    /// two blocks ahead. Execution and the synced write stay on the calling thread, one block
    /// at a time, so a block is durable before the next is executed, as with `import_block`.
    ///
    /// Returns how many blocks were imported and, if it stopped before the end, why the next one
    /// was refused; the blocks before it stay imported.
    pub fn import_blocks<B: Borrow<(Block, Commit)> + Sync>(
        &self,
        blocks: &[B],
        mut on_commit: impl FnMut(&ExecutedBlock),
    ) -> (usize, Result<(), ImportError>) {
        if self.verify_threads <= 1 || blocks.len() < 2 {
            for (i, item) in blocks.iter().enumerate() {
                let (block, commit) = item.borrow();
                let imported = self.validate_block(block).and_then(|executed| {
                    self.commit_block(&executed, commit.clone())?;
                    Ok(executed)
                });
                match imported {
                    Ok(executed) => on_commit(&executed),
                    Err(e) => return (i, Err(e)),
                }
            }
            return (blocks.len(), Ok(()));
        }
        let (ready, recovered) = std::sync::mpsc::sync_channel(1);
        let first_parent = self.head();
        // `move`: the receiver must be dropped before the scope joins the recovery thread, or
        // an early error would leave that thread blocked on a full channel.
        std::thread::scope(move |s| {
            s.spawn(move || {
                let mut parent = first_parent;
                for item in blocks {
                    let block = &item.borrow().0;
                    let result = self
                        .check_header(&parent, block)
                        .and_then(|()| self.recover_senders(block));
                    let stop = result.is_err();
                    // A closed channel means the importing thread stopped at an error.
                    if ready.send(result).is_err() || stop {
                        return;
                    }
                    parent = block.header.clone();
                }
            });
            for (i, item) in blocks.iter().enumerate() {
                let (block, commit) = item.borrow();
                let imported = recovered
                    .recv()
                    .expect("the recovery thread sends one result per block until an error; qed")
                    // The recovery threads keep the cores busy: the rest runs on this thread.
                    .and_then(|verified| self.execute_verified(block, &verified, 1))
                    .and_then(|executed| {
                        self.commit_block(&executed, commit.clone())?;
                        Ok(executed)
                    });
                match imported {
                    Ok(executed) => on_commit(&executed),
                    Err(e) => return (i, Err(e)),
                }
            }
            (blocks.len(), Ok(()))
        })
    }

    /// Header at `number`.
    pub fn header(&self, number: BlockNumber) -> Result<Option<Header>, StoreError> {
        self.store.get::<Headers>(&number)
    }

    /// Full block at `number` (genesis has no body: empty seal and transactions).
    pub fn block(&self, number: BlockNumber) -> Result<Option<Block>, StoreError> {
        let Some(header) = self.header(number)? else {
            return Ok(None);
        };
        let body = self.store.get::<Bodies>(&number)?.unwrap_or(BlockBody {
            seal: Default::default(),
            txs: Vec::new(),
        });
        Ok(Some(Block {
            header,
            seal: body.seal,
            txs: body.txs,
        }))
    }

    /// Block number of a block hash.
    pub fn block_number(&self, hash: &Hash) -> Result<Option<BlockNumber>, StoreError> {
        self.store.get::<BlockHashes>(hash)
    }

    /// Receipts of block `number`.
    pub fn receipts(&self, number: BlockNumber) -> Result<Option<Vec<Receipt>>, StoreError> {
        self.store.get::<Receipts>(&number)
    }

    /// The commit (finality proof) of block `number`.
    pub fn commit(&self, number: BlockNumber) -> Result<Option<Commit>, StoreError> {
        self.store.get::<Commits>(&number)
    }

    /// Where a transaction was included.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.store.get::<TxIndex>(hash)
    }

    /// A committed account.
    pub fn account_at_head(&self, address: &Address) -> Result<Account, StoreError> {
        StateOverlay::new(self.store.clone()).account(address)
    }

    /// Recomputes the state root from the stored tree and compares it with the head's.
    pub fn check_state_root(&self) -> Result<bool, StoreError> {
        Ok(state::stored_root(&self.store)? == self.head().state_root)
    }
}

impl AccountReader for Chain {
    fn account(&self, address: &Address) -> Account {
        // The mempool's view: a store failure reads as an empty account, which rejects the tx;
        // block execution never uses this path.
        self.account_at_head(address).unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
