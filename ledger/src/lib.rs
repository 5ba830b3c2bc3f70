//! `joule-ledger`: the Joule chain.
//!
//! It owns the primitives every other crate speaks in ([`Address`], [`Hash`], [`Amount`]), keys
//! and domain-separated signatures ([`crypto`]), the canonical encoding ([`codec`]),
//! transactions ([`tx`]), blocks and receipts ([`block`]), Merkle proofs ([`merkle`]) and
//! consensus votes and commits ([`vote`]).
//!
//! Good starting points: [`tx::SignedTransaction`], [`block::Header`], [`vote::Commit`].

pub mod block;
pub mod chain;
pub mod codec;
pub mod consensus;
pub mod crypto;
pub mod executor;
pub mod genesis;
pub mod mempool;
pub mod merkle;
pub mod order;
mod parallel;
pub mod primitives;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod tx;
pub mod vote;

pub use block::{Block, Event, Header, Receipt, TxStatus};
pub use chain::{BuiltBlock, Chain, ExecutedBlock, ImportError, OpenError};
pub use crypto::{Domain, SecretKey, Signature, SignatureError};
pub use executor::{BlockContext, ExecError, Executor, TransferExecutor};
pub use genesis::Genesis;
pub use mempool::{Inserted, Mempool, MempoolConfig, MempoolError};
pub use order::{Bid, JobInput, Offer, OrderError, SignedBid, SignedOffer};
pub use primitives::{Address, Amount, BlockNumber, ChainId, Hash, Nonce, Round};
pub use state::{Account, AccountReader, StateKey};
pub use tx::{Call, JobResult, SignedTransaction, Transaction, TxError, VerifiedTransaction};
pub use vote::{AuthoritySet, Commit, SignedVote, Vote, VoteKind};
