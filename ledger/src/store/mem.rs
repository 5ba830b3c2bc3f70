//! In-memory [`KvStore`] for unit tests.

use std::collections::BTreeMap;

use parking_lot::RwLock;

use super::{BatchOp, KeyValue, KvStore, StoreError, Table, WriteBatch};

type Map = BTreeMap<(Table, Vec<u8>), Vec<u8>>;

/// A [`KvStore`] in a `BTreeMap`; batches apply under one lock, so they are atomic too.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<Map>,
}

impl KvStore for MemStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.read().get(&(table, key.to_vec())).cloned())
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        let map = self.map.read();
        let start = (table, after.unwrap_or(prefix).to_vec());
        Ok(map
            .range(start..)
            .filter(|((_, k), _)| Some(k.as_slice()) != after)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let mut map = self.map.write();
        for op in &batch.ops {
            match op {
                BatchOp::Put(t, k, v) => {
                    map.insert((*t, k.clone()), v.clone());
                }
                BatchOp::Delete(t, k) => {
                    map.remove(&(*t, k.clone()));
                }
            }
        }
        Ok(())
    }
}
