//! RocksDB [`KvStore`]: one column family per [`Table`], synced atomic write batches.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteOptions};

use super::{BatchOp, KeyValue, KvStore, StoreError, Table, WriteBatch};

/// The on-disk store.
pub struct RocksStore {
    db: DB,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn backend(e: rocksdb::Error) -> StoreError {
    StoreError::Backend(e.into_string())
}

impl RocksStore {
    /// Opens (creating if needed) the database at `path` with every table's column family.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_open_files(256);
        let cfs = Table::ALL
            .iter()
            .map(|t| ColumnFamilyDescriptor::new(t.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(backend)?;
        Ok(RocksStore { db })
    }

    fn cf(&self, table: Table) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(table.name())
            .ok_or_else(|| StoreError::Backend(format!("column family {} missing", table.name())))
    }
}

impl KvStore for RocksStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.cf(table)?, key).map_err(backend)
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        let start = after.unwrap_or(prefix);
        let mode = rocksdb::IteratorMode::From(start, rocksdb::Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(table)?, mode) {
            let (key, value) = item.map_err(backend)?;
            if Some(&*key) == after {
                continue;
            }
            if !key.starts_with(prefix) || out.len() == limit {
                break;
            }
            out.push((key.into_vec(), value.into_vec()));
        }
        Ok(out)
    }

    fn write(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let mut wb = rocksdb::WriteBatch::default();
        for op in &batch.ops {
            match op {
                BatchOp::Put(t, k, v) => wb.put_cf(self.cf(*t)?, k, v),
                BatchOp::Delete(t, k) => wb.delete_cf(self.cf(*t)?, k),
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(wb, &opts).map_err(backend)
    }
}
