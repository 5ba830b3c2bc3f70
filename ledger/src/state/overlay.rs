//! [`StateOverlay`]: the state as one block's execution sees it.
//!
//! Reads fall through to the committed state in the store; writes stay in the overlay until the
//! block is committed. A [`Checkpoint`] lets an executor undo a failed call while keeping its fee.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};

use crate::codec;
use crate::primitives::Address;
use crate::store::{ChainStore, StoreError, Table};

use super::{Account, StateKey};

/// A position in the overlay's journal to revert to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint(usize);

/// A pending value: `Some(bytes)`, or `None` for deleted.
type Pending = Option<Vec<u8>>;

/// Pending state changes over the committed state.
#[derive(Debug)]
pub struct StateOverlay {
    store: ChainStore,
    writes: BTreeMap<Vec<u8>, Pending>,
    /// (key, what `writes` held for it before) in write order.
    journal: Vec<(Vec<u8>, Option<Pending>)>,
}

impl StateOverlay {
    /// An empty overlay over the committed state in `store`.
    pub fn new(store: ChainStore) -> Self {
        StateOverlay {
            store,
            writes: BTreeMap::new(),
            journal: Vec::new(),
        }
    }

    /// Raw value of `key`, seeing this overlay's writes.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.store.get_raw(Table::State, key),
        }
    }

    /// Typed value of `key`.
    pub fn get<V: Decode<()>>(&self, key: &StateKey) -> Result<Option<V>, StoreError> {
        match self.get_raw(&codec::encode(key))? {
            None => Ok(None),
            Some(bytes) => codec::decode(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Corrupt {
                    table: Table::State.name(),
                    source,
                }),
        }
    }

    /// Sets `key` to `value` (`None` deletes).
    pub fn set_raw(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let previous = self.writes.insert(key.clone(), value);
        self.journal.push((key, previous));
    }

    /// Sets a typed value.
    pub fn set<V: Encode>(&mut self, key: &StateKey, value: &V) {
        self.set_raw(codec::encode(key), Some(codec::encode(value)));
    }

    /// Deletes a key.
    pub fn delete(&mut self, key: &StateKey) {
        self.set_raw(codec::encode(key), None);
    }

    /// The account at `address` (zero if never written).
    pub fn account(&self, address: &Address) -> Result<Account, StoreError> {
        Ok(self.get(&StateKey::Account(*address))?.unwrap_or_default())
    }

    /// Writes an account; an all-zero account is deleted so the state holds no empty entries.
    pub fn set_account(&mut self, address: &Address, account: &Account) {
        if *account == Account::default() {
            self.delete(&StateKey::Account(*address));
        } else {
            self.set(&StateKey::Account(*address), account);
        }
    }

    /// Marks the current position.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.journal.len())
    }

    /// Undoes every write since `checkpoint`.
    pub fn revert_to(&mut self, checkpoint: Checkpoint) {
        while self.journal.len() > checkpoint.0 {
            let (key, previous) = self
                .journal
                .pop()
                .expect("journal is longer than the checkpoint; qed");
            match previous {
                Some(v) => {
                    self.writes.insert(key, v);
                }
                None => {
                    self.writes.remove(&key);
                }
            }
        }
    }

    /// The net changes, sorted by key.
    pub fn changes(&self) -> &BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &self.writes
    }

    /// Consumes the overlay, giving its net changes.
    pub fn into_changes(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_revert_and_zero_accounts() {
        let mut s = StateOverlay::new(ChainStore::memory());
        let a = Address([1; 20]);
        s.set_account(
            &a,
            &Account {
                balance: 5,
                nonce: 0,
            },
        );
        let cp = s.checkpoint();
        s.set_account(
            &a,
            &Account {
                balance: 9,
                nonce: 1,
            },
        );
        s.set_account(
            &Address([2; 20]),
            &Account {
                balance: 1,
                nonce: 0,
            },
        );
        s.revert_to(cp);
        assert_eq!(
            s.account(&a).unwrap(),
            Account {
                balance: 5,
                nonce: 0
            }
        );
        assert_eq!(s.changes().len(), 1);
        s.set_account(&a, &Account::default());
        assert_eq!(s.changes().values().next(), Some(&None));
    }
}
