//! Helpers for tests in this and other crates (feature `test-utils`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::block::Block;
use crate::chain::Chain;
use crate::crypto::SecretKey;
use crate::executor::{Executor, TransferExecutor};
use crate::genesis::{Genesis, GenesisBalance};
use crate::primitives::{Address, Amount};
use crate::store::ChainStore;
use crate::tx::{Call, SignedTransaction, Transaction, VerifiedTransaction};
use crate::vote::{Commit, Vote, VoteKind};

/// A test network: authority keys, funded user keys and the genesis naming them.
#[derive(Debug, Clone)]
pub struct TestNet {
    /// Authority keys in genesis order.
    pub authorities: Vec<SecretKey>,
    /// Funded user keys.
    pub users: Vec<SecretKey>,
    /// The genesis.
    pub genesis: Genesis,
}

/// Chain id used by tests.
pub const TEST_CHAIN_ID: u64 = 1337;

impl TestNet {
    /// `authorities` authorities and `users` users with `balance` each.
    pub fn new(authorities: usize, users: usize, balance: Amount) -> Self {
        let authorities: Vec<_> = (0..authorities)
            .map(|i| SecretKey::from_seed(&format!("authority-{i}")))
            .collect();
        let users: Vec<_> = (0..users)
            .map(|i| SecretKey::from_seed(&format!("user-{i}")))
            .collect();
        let balances: BTreeMap<Address, GenesisBalance> = users
            .iter()
            .map(|k| (k.address(), GenesisBalance(balance)))
            .collect();
        let genesis = Genesis {
            chain_id: TEST_CHAIN_ID,
            timestamp_ms: 1_700_000_000_000,
            block_time_ms: 1000,
            authorities: authorities.iter().map(|k| k.address()).collect(),
            balances,
            market: Default::default(),
        };
        TestNet {
            authorities,
            users,
            genesis,
        }
    }

    /// A chain with the transfer executor over an in-memory store.
    pub fn memory_chain(&self) -> Chain {
        self.memory_chain_with(Arc::new(TransferExecutor))
    }

    /// A chain with `executor` over an in-memory store.
    pub fn memory_chain_with(&self, executor: Arc<dyn Executor>) -> Chain {
        Chain::open(ChainStore::memory(), self.genesis.clone(), executor)
            .expect("test genesis is valid; qed")
    }

    /// The key of the proposer of `(number, round)`.
    pub fn proposer_key(&self, number: u64, round: u32) -> &SecretKey {
        let addr = self
            .genesis
            .validate()
            .expect("valid; qed")
            .proposer(number, round);
        self.authorities
            .iter()
            .find(|k| k.address() == addr)
            .expect("proposer is an authority; qed")
    }

    /// A commit for `block` signed by the first `signers` authorities.
    pub fn commit(&self, block: &Block, signers: usize) -> Commit {
        let set = self.genesis.validate().expect("valid; qed");
        let vote = Vote {
            kind: VoteKind::Precommit,
            height: block.header.number,
            round: block.header.round,
            block: Some(block.hash()),
        };
        let votes: Vec<_> = self
            .authorities
            .iter()
            .take(signers)
            .map(|k| vote.sign(k, self.genesis.chain_id))
            .collect();
        Commit::from_votes(
            block.header.number,
            block.header.round,
            block.hash(),
            &votes,
            &set,
        )
    }

    /// Builds block `head + 1` of `chain` from `txs` (all of which must be includable) as the
    /// round-0 proposer, one block time after the head, and commits it with every authority's
    /// precommit. Returns the block.
    pub fn produce_block(&self, chain: &Chain, txs: Vec<VerifiedTransaction>) -> Block {
        let head = chain.head();
        let number = head.number + 1;
        let last_commit = if head.number == 0 {
            None
        } else {
            Some(
                chain
                    .commit(head.number)
                    .expect("store readable")
                    .expect("head has a commit; qed"),
            )
        };
        let built = chain
            .build_block(
                self.proposer_key(number, 0),
                0,
                head.timestamp_ms + self.genesis.block_time_ms,
                last_commit,
                txs,
            )
            .expect("block builds");
        assert!(built.rejected.is_empty(), "rejected: {:?}", built.rejected);
        let commit = self.commit(&built.executed.block, self.authorities.len());
        chain
            .commit_block(&built.executed, commit)
            .expect("block commits");
        built.executed.block
    }

    /// A signed transfer.
    pub fn transfer(
        &self,
        from: &SecretKey,
        nonce: u64,
        to: Address,
        amount: Amount,
        fee: Amount,
    ) -> SignedTransaction {
        Transaction {
            chain_id: self.genesis.chain_id,
            nonce,
            fee,
            call: Call::Transfer { to, amount },
        }
        .sign(from)
    }
}
