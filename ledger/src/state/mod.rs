//! Chain state: accounts now, contract tables (providers, modules, jobs) as the contracts add them.
//!
//! State is a map from canonical [`StateKey`] bytes to canonical value bytes. Its root
//! commits to the whole map and is updated per block in proportion to the keys touched.

use bincode::{Decode, Encode};

use crate::primitives::{Address, Amount, BlockNumber, Hash, Nonce};

pub mod tree;

/// An account's balance and next nonce.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct Account {
    /// Spendable credits.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub balance: Amount,
    /// Nonce the account's next transaction must carry.
    pub nonce: Nonce,
}

/// A key in the state map. Variants are appended, never reordered: the encoding is consensus.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum StateKey {
    /// An account.
    Account(Address),
    /// A provider's stake, unbondings and reputation.
    Provider(Address),
    /// A published module's code.
    Module(Hash),
    /// A published job input.
    Input(Hash),
    /// A job (keyed by its bid's id).
    Job(Hash),
    /// The jobs whose next step is due at the end of this block.
    Due(BlockNumber),
    /// Chain-wide market totals (escrow, stake, burned) for the conservation check.
    MarketTotals,
}

/// Read access to accounts (the mempool and RPC use it to judge transactions).
pub trait AccountReader {
    /// The account at `address`; a never-seen address is the default (zero) account.
    fn account(&self, address: &Address) -> Account;
}

mod commit;
mod overlay;

pub use commit::{StateCommit, commit_changes, commit_changes_on, stored_root, write_changes};
pub use overlay::{Checkpoint, StateOverlay};
