//! Shared test fixtures: keys, blocks, a host that tracks its chain tip.

use std::collections::BTreeSet;

use crate::block::{self, Block, Header};
use crate::consensus::{
    ChainTip, Consensus, ConsensusConfig, ConsensusHost, Decision, ManualClock, MemorySafetyStore,
    Output, Proposal, SignedProposal,
};
use crate::crypto::{SecretKey, Signature};
use crate::primitives::{Address, BlockNumber, ChainId, Hash, Round};
use crate::tx::{Call, SignedTransaction, Transaction};
use crate::vote::{AuthoritySet, Commit, SignedVote, Vote, VoteKind};

pub(super) const CHAIN: ChainId = 7;
pub(super) const GENESIS_MS: u64 = 1_700_000_000_000;

pub(super) fn keys(n: usize) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::from_seed(&format!("consensus-test-{i}")))
        .collect()
}

pub(super) fn config(keys: &[SecretKey]) -> ConsensusConfig {
    let set = AuthoritySet::new(keys.iter().map(SecretKey::address).collect())
        .expect("distinct test keys; qed");
    ConsensusConfig::new(CHAIN, set)
}

pub(super) fn genesis() -> ChainTip {
    ChainTip {
        height: 0,
        hash: Hash::keccak(b"genesis"),
        timestamp_ms: GENESIS_MS,
        commit: None,
    }
}

/// A small real block on `tip`, built in `round` by `builder` and sealed with `seal_key`.
pub(super) fn block_on(
    tip: &ChainTip,
    round: Round,
    builder: Address,
    seal_key: &SecretKey,
    timestamp_ms: u64,
    txs: Vec<SignedTransaction>,
) -> Block {
    let header = Header {
        parent_hash: tip.hash,
        number: tip.height + 1,
        round,
        timestamp_ms,
        proposer: builder,
        tx_root: block::tx_root(&txs),
        receipt_root: Hash::ZERO,
        state_root: Hash::keccak(&(tip.height + 1).to_be_bytes()),
        last_commit: tip.commit.clone(),
    };
    let seal = header.seal(seal_key, CHAIN);
    Block { header, seal, txs }
}

/// A transfer, to put something in blocks.
pub(super) fn transfer(nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN,
        nonce,
        fee: 1,
        call: Call::Transfer {
            to: Address([9; 20]),
            amount: 5,
        },
    }
    .sign(&SecretKey::from_seed("consensus-test-sender"))
}

/// A proposal for `(tip.height + 1, round)` by `key`, of a fresh block it built.
pub(super) fn proposal(
    tip: &ChainTip,
    round: Round,
    key: &SecretKey,
    timestamp_ms: u64,
) -> SignedProposal {
    let block = block_on(tip, round, key.address(), key, timestamp_ms, vec![]);
    Proposal {
        height: tip.height + 1,
        round,
        block,
        valid_round: None,
    }
    .sign(key, CHAIN)
}

pub(super) fn vote(
    key: &SecretKey,
    kind: VoteKind,
    height: BlockNumber,
    round: Round,
    block: Option<Hash>,
) -> SignedVote {
    Vote {
        kind,
        height,
        round,
        block,
    }
    .sign(key, CHAIN)
}

/// The commit of `block_hash` at `height` by `signers`.
pub(super) fn commit(
    signers: &[SecretKey],
    config: &ConsensusConfig,
    height: BlockNumber,
    round: Round,
    block_hash: Hash,
) -> Commit {
    let votes: Vec<_> = signers
        .iter()
        .map(|k| vote(k, VoteKind::Precommit, height, round, Some(block_hash)))
        .collect();
    Commit::from_votes(height, round, block_hash, &votes, &config.authorities)
}

/// A host whose chain is the tip it was told about; judges blocks by parent, timestamp and
/// transaction root, and rejects the hashes in `invalid`.
#[derive(Debug)]
pub(super) struct TestHost {
    pub me: Address,
    pub tip: ChainTip,
    pub invalid: BTreeSet<Hash>,
    pub fail_build: bool,
}

impl TestHost {
    pub fn new(me: Address, tip: ChainTip) -> Self {
        TestHost {
            me,
            tip,
            invalid: BTreeSet::new(),
            fail_build: false,
        }
    }

    /// Commits a decision (what the node's chain import does).
    pub fn apply(&mut self, decision: &Decision) {
        assert_eq!(decision.block.header.parent_hash, self.tip.hash);
        self.tip = ChainTip {
            height: decision.block.header.number,
            hash: decision.block.hash(),
            timestamp_ms: decision.block.header.timestamp_ms,
            commit: Some(decision.commit.clone()),
        };
    }
}

impl ConsensusHost for TestHost {
    fn build_block(
        &mut self,
        height: BlockNumber,
        round: Round,
        timestamp_ms: u64,
        last_commit: Option<Commit>,
    ) -> Result<Block, String> {
        if self.fail_build {
            return Err("test host refuses to build".into());
        }
        assert_eq!(
            height,
            self.tip.height + 1,
            "asked to build before committing"
        );
        assert_eq!(last_commit, self.tip.commit);
        let txs = if height.is_multiple_of(3) {
            vec![transfer(height)]
        } else {
            vec![]
        };
        let mut block = block_on(
            &self.tip,
            round,
            self.me,
            &SecretKey::from_seed("x"),
            timestamp_ms,
            txs,
        );
        block.seal = Signature::default();
        Ok(block)
    }

    fn validate_block(&mut self, block: &Block) -> Result<(), String> {
        let h = &block.header;
        if self.invalid.contains(&block.hash()) {
            return Err(format!(
                "block {} is on the test's invalid list",
                block.hash()
            ));
        }
        if h.parent_hash != self.tip.hash || h.number != self.tip.height + 1 {
            return Err(format!(
                "block {} is not on our tip {}",
                block.hash(),
                self.tip.hash
            ));
        }
        if h.timestamp_ms <= self.tip.timestamp_ms {
            return Err(format!(
                "timestamp {} not after parent {}",
                h.timestamp_ms, self.tip.timestamp_ms
            ));
        }
        if h.tx_root != block::tx_root(&block.txs) {
            return Err("tx root mismatch".into());
        }
        Ok(())
    }
}

pub(super) type TestMachine = Consensus<MemorySafetyStore, ManualClock>;

/// A machine for `keys[index]` on `tip`, with its store and host.
pub(super) fn machine(
    keys: &[SecretKey],
    index: usize,
    tip: ChainTip,
    store: MemorySafetyStore,
    clock: ManualClock,
) -> (TestMachine, TestHost) {
    let machine = Consensus::new(config(keys), keys[index].clone(), tip.clone(), store, clock)
        .expect("test key is an authority; qed");
    (machine, TestHost::new(keys[index].address(), tip))
}

/// The votes among `outputs`.
pub(super) fn sent_votes(outputs: &[Output]) -> Vec<SignedVote> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast(crate::consensus::ConsensusMessage::Vote(v)) => Some(*v),
            _ => None,
        })
        .collect()
}

/// The timeouts among `outputs`.
pub(super) fn timeouts(outputs: &[Output]) -> Vec<crate::consensus::Timeout> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::ScheduleTimeout(t) => Some(*t),
            _ => None,
        })
        .collect()
}
