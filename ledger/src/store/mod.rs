//! Storage: typed tables over a key-value store with one column family per table.
//!
//! [`KvStore`] is the backend seam: [`RocksStore`] on disk, [`MemStore`] for unit tests. Every
//! committed block is written as one [`WriteBatch`], applied atomically and synced, so after a
//! crash the store is at a block boundary. [`ChainStore`] gives typed access to the tables, with
//! recently used state entries and tree nodes cached in memory (`hot.rs`).

mod hot;
mod mem;
mod rocks;

use std::sync::Arc;

use bincode::{Decode, Encode};

use crate::block::{Header, Receipt};
use crate::codec::{self, CodecError};
use crate::crypto::Signature;
use crate::primitives::{BlockNumber, Hash};
use crate::tx::SignedTransaction;
use crate::vote::Commit;

pub use mem::MemStore;
pub use rocks::RocksStore;

/// The tables (RocksDB column families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Block number → header.
    Headers,
    /// Block number → body (seal and transactions).
    Bodies,
    /// Block number → receipts.
    Receipts,
    /// Block number → the commit (finality proof) of that block.
    Commits,
    /// Block hash → block number.
    BlockHashes,
    /// Transaction hash → (block number, index).
    TxIndex,
    /// State key bytes → state value bytes.
    State,
    /// State tree node key → node.
    StateNodes,
    /// Chain metadata (head number, genesis hash).
    Meta,
    /// Consensus safety record (what this authority signed, its lock).
    Consensus,
}

impl Table {
    /// Every table, in a fixed order.
    pub const ALL: [Table; 10] = [
        Table::Headers,
        Table::Bodies,
        Table::Receipts,
        Table::Commits,
        Table::BlockHashes,
        Table::TxIndex,
        Table::State,
        Table::StateNodes,
        Table::Meta,
        Table::Consensus,
    ];

    /// The column family name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Headers => "headers",
            Table::Bodies => "bodies",
            Table::Receipts => "receipts",
            Table::Commits => "commits",
            Table::BlockHashes => "block_hashes",
            Table::TxIndex => "tx_index",
            Table::State => "state",
            Table::StateNodes => "state_nodes",
            Table::Meta => "meta",
            Table::Consensus => "consensus",
        }
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed.
    #[error("database error: {0}")]
    Backend(String),
    /// A stored value did not decode: the database is corrupt or from another version.
    #[error("corrupt {table} entry: {source}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Decoding failure.
        source: CodecError,
    },
}

/// One write or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Set `key` to `value`.
    Put(Table, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Table, Vec<u8>),
}

/// Writes applied together or not at all.
#[derive(Debug, Default, Clone)]
#[must_use = "a batch does nothing until written with KvStore::write"]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a raw put.
    pub fn put_raw(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(BatchOp::Put(table, key, value));
    }
    /// Adds a raw delete.
    pub fn delete_raw(&mut self, table: Table, key: Vec<u8>) {
        self.ops.push(BatchOp::Delete(table, key));
    }
    /// Adds a typed put.
    pub fn put<T: TableDef>(&mut self, key: &T::Key, value: &T::Value) {
        self.put_raw(T::TABLE, codec::encode(key), codec::encode(value));
    }
    /// Adds a typed delete.
    pub fn delete<T: TableDef>(&mut self, key: &T::Key) {
        self.delete_raw(T::TABLE, codec::encode(key));
    }
    /// The operations in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A raw key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A key-value backend with one namespace per [`Table`].
pub trait KvStore: Send + Sync + std::fmt::Debug {
    /// Reads one value.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` entries whose keys start with `prefix`, in key order, starting after the
    /// key `after` when given (for paging).
    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError>;
    /// Applies a batch atomically and durably (synced before returning).
    fn write(&self, batch: &WriteBatch) -> Result<(), StoreError>;
}

/// A typed table: its key and value types and their encoding.
pub trait TableDef {
    /// The column family.
    const TABLE: Table;
    /// Key type (encoded canonically; integers big-endian, so keys sort numerically).
    type Key: Encode;
    /// Value type.
    type Value: Encode + Decode<()>;
}

macro_rules! table {
    ($(#[$doc:meta])* $name:ident, $table:expr, $key:ty, $value:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl TableDef for $name {
            const TABLE: Table = $table;
            type Key = $key;
            type Value = $value;
        }
    };
}

/// What a block carries besides its header.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockBody {
    /// Proposer's seal over the header.
    pub seal: Signature,
    /// Transactions in order.
    pub txs: Vec<SignedTransaction>,
}

/// Where a transaction was included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct TxLocation {
    /// Block number.
    pub block: BlockNumber,
    /// Index in the block.
    pub index: u32,
}

table!(/// Headers by number.
    Headers, Table::Headers, BlockNumber, Header);
table!(/// Bodies by number.
    Bodies, Table::Bodies, BlockNumber, BlockBody);
table!(/// Receipts by number.
    Receipts, Table::Receipts, BlockNumber, Vec<Receipt>);
table!(/// Commits by number.
    Commits, Table::Commits, BlockNumber, Commit);
table!(/// Block numbers by hash.
    BlockHashes, Table::BlockHashes, Hash, BlockNumber);
table!(/// Transaction locations by hash.
    TxIndex, Table::TxIndex, Hash, TxLocation);

/// Keys of the [`Table::Meta`] table.
pub mod meta {
    /// Number of the last committed block.
    pub const HEAD: &[u8] = b"head";
    /// Hash of the genesis block this database was created with.
    pub const GENESIS: &[u8] = b"genesis";
}

/// Typed, cheaply cloneable access to the chain's tables. Clones share one backend and one
/// cache of hot state; every write goes through [`ChainStore::write`], which keeps them in step.
#[derive(Debug, Clone)]
pub struct ChainStore {
    kv: Arc<dyn KvStore>,
    hot: Arc<hot::HotState>,
}

impl ChainStore {
    /// Wraps a backend. Make one `ChainStore` per backend and clone it: a second one over the
    /// same backend would have a cache of its own that the first one's writes do not reach.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self::with_cache_entries(kv, hot::DEFAULT_ENTRIES)
    }

    /// [`ChainStore::new`] with a cache of at most `entries` entries.
    pub(crate) fn with_cache_entries(kv: Arc<dyn KvStore>, entries: usize) -> Self {
        ChainStore {
            kv,
            hot: Arc::new(hot::HotState::new(entries)),
        }
    }

    /// An in-memory store (tests).
    pub fn memory() -> Self {
        Self::new(Arc::new(MemStore::default()))
    }

    /// Reads one raw value, through the cache for the tables it holds.
    fn read(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !hot::HotState::caches(table) {
            return self.kv.get(table, key);
        }
        match self.hot.get(table, key) {
            hot::Lookup::Hit(value) => Ok(value),
            hot::Lookup::Miss(ticket) => {
                let value = self.kv.get(table, key)?;
                self.hot.fill(ticket, table, key, value.clone());
                Ok(value)
            }
        }
    }

    /// Reads a typed value.
    pub fn get<T: TableDef>(&self, key: &T::Key) -> Result<Option<T::Value>, StoreError> {
        match self.read(T::TABLE, &codec::encode(key))? {
            None => Ok(None),
            Some(bytes) => codec::decode(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Corrupt {
                    table: T::TABLE.name(),
                    source,
                }),
        }
    }

    /// Up to `limit` raw entries of `table` whose keys start with `prefix`, after `after`.
    pub fn scan_raw(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        self.kv.scan(table, prefix, after, limit)
    }

    /// Reads a raw value.
    pub fn get_raw(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(table, key)
    }

    /// Reads and decodes a raw-keyed value.
    pub fn get_decoded<V: Decode<()>>(
        &self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        match self.read(table, key)? {
            None => Ok(None),
            Some(bytes) => codec::decode(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Corrupt {
                    table: table.name(),
                    source,
                }),
        }
    }

    /// Applies a batch atomically and durably, then to the cache.
    pub fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        match self.kv.write(&batch) {
            Ok(()) => {
                self.hot.applied(batch.ops);
                Ok(())
            }
            Err(e) => {
                self.hot.clear();
                Err(e)
            }
        }
    }

    /// Number of the last committed block, if the chain is initialized.
    pub fn head_number(&self) -> Result<Option<BlockNumber>, StoreError> {
        self.get_decoded(Table::Meta, meta::HEAD)
    }

    /// The genesis hash this database was created with.
    pub fn genesis_hash(&self) -> Result<Option<Hash>, StoreError> {
        self.get_decoded(Table::Meta, meta::GENESIS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn exercise(kv: Arc<dyn KvStore>) {
        let store = ChainStore::new(kv);
        assert_eq!(store.head_number().unwrap(), None);
        let mut batch = WriteBatch::new();
        batch.put::<BlockHashes>(&Hash::keccak(b"a"), &7);
        batch.put_raw(Table::Meta, meta::HEAD.to_vec(), codec::encode(&7u64));
        batch.put_raw(Table::State, b"k".to_vec(), b"v".to_vec());
        store.write(batch).unwrap();
        assert_eq!(
            store.get::<BlockHashes>(&Hash::keccak(b"a")).unwrap(),
            Some(7)
        );
        assert_eq!(store.head_number().unwrap(), Some(7));
        // Tables are separate namespaces.
        assert_eq!(store.get_raw(Table::StateNodes, b"k").unwrap(), None);
        let mut batch = WriteBatch::new();
        batch.delete_raw(Table::State, b"k".to_vec());
        store.write(batch).unwrap();
        assert_eq!(store.get_raw(Table::State, b"k").unwrap(), None);
        // A corrupt value is an error, not a panic.
        let mut batch = WriteBatch::new();
        batch.put_raw(Table::BlockHashes, codec::encode(&Hash::ZERO), vec![1, 2]);
        store.write(batch).unwrap();
        assert!(matches!(
            store.get::<BlockHashes>(&Hash::ZERO),
            Err(StoreError::Corrupt { .. })
        ));
        // Prefix scans stay inside the table and the prefix, in key order, and page.
        let mut batch = WriteBatch::new();
        for key in [&b"a1"[..], b"b1", b"b2", b"b3", b"c1"] {
            batch.put_raw(Table::State, key.to_vec(), key.to_vec());
        }
        batch.put_raw(Table::StateNodes, b"b0".to_vec(), vec![]);
        store.write(batch).unwrap();
        let keys = |v: Vec<KeyValue>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(store.scan_raw(Table::State, b"b", None, 10).unwrap()),
            [b"b1".to_vec(), b"b2".to_vec(), b"b3".to_vec()]
        );
        assert_eq!(
            keys(store.scan_raw(Table::State, b"b", Some(b"b1"), 1).unwrap()),
            [b"b2".to_vec()]
        );
        assert!(
            store
                .scan_raw(Table::State, b"d", None, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn memory_store() {
        exercise(Arc::new(MemStore::default()));
    }

    #[test]
    fn rocks_store_persists() {
        let dir = tempfile::tempdir().unwrap();
        exercise(Arc::new(RocksStore::open(dir.path()).unwrap()));
        let reopened = ChainStore::new(Arc::new(RocksStore::open(dir.path()).unwrap()));
        assert_eq!(reopened.head_number().unwrap(), Some(7));
    }

    /// Readers that miss the cache while a writer moves a key on must never leave a stale value
    /// in it: after each write, the writer reads its own value back. The cache holds fewer
    /// entries than there are keys, so reads keep missing and filling.
    #[test]
    fn reads_racing_writes_never_cache_a_stale_value() {
        let store = ChainStore::with_cache_entries(Arc::new(MemStore::default()), 4);
        let keys: Vec<Vec<u8>> = (0..8u8).map(|k| vec![k]).collect();
        let stop = std::sync::atomic::AtomicBool::new(false);
        // Stops the readers however the writer ends (a failed assertion must fail the test,
        // not leave the scope waiting for readers that never stop).
        struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        for k in &keys {
                            store.get_raw(Table::State, k).unwrap();
                        }
                    }
                });
            }
            let _stop = StopOnDrop(&stop);
            for round in 0..2_000u32 {
                let mut batch = WriteBatch::new();
                for k in &keys {
                    batch.put_raw(Table::State, k.clone(), round.to_be_bytes().to_vec());
                }
                store.write(batch).unwrap();
                for k in &keys {
                    assert_eq!(
                        store.get_raw(Table::State, k).unwrap(),
                        Some(round.to_be_bytes().to_vec()),
                        "round {round}"
                    );
                }
            }
        });
    }
}
