//! BFT consensus: the Tendermint algorithm as a pure state machine.
//!
//! This is Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon, Milosevic, 2018)
//! over the genesis [`AuthoritySet`], with `n = 3f + 1`, quorum `2f + 1` =
//! [`AuthoritySet::quorum`] and `f + 1` = [`AuthoritySet::honest_threshold`]. The machine,
//! [`Consensus`], has no threads, no network and no clock of its own: the driver feeds it
//! messages ([`Consensus::handle_message`]) and expired timeouts ([`Consensus::handle_timeout`]),
//! and carries out the [`Output`]s it returns (broadcast, schedule a timeout, commit a block,
//! keep evidence). Blocks are built and judged by the driver through [`ConsensusHost`]; time
//! comes from a [`Clock`].
//!
//! # Mapping to Algorithm 1
//!
//! | Paper (line) | Here |
//! |---|---|
//! | state `h_p, round_p, step_p, lockedValue_p, lockedRound_p, validValue_p, validRound_p` | fields of [`Consensus`]; lock and valid block are [`Lock`] and [`ValidBlock`] |
//! | `StartRound` (11–21) | `Consensus::start_round`, `Consensus::propose` |
//! | `getValue()` | [`ConsensusHost::build_block`] (the machine seals the block) |
//! | `valid(v)` | [`ConsensusHost::validate_block`], cached per block hash, after the structural checks in `validate.rs` |
//! | 22–27: proposal with `vr = −1` | `Consensus::on_fresh_proposal` |
//! | 28–33: proposal with `vr ≥ 0` and `2f+1` prevotes at `vr` | `Consensus::on_reproposal` |
//! | 34–35: `2f+1` prevotes for anything → `timeoutPrevote` | `Consensus::schedule_prevote_timeout` |
//! | 36–43: proposal and `2f+1` prevotes for it → lock, precommit, valid value | `Consensus::on_polka` |
//! | 44–46: `2f+1` nil prevotes → precommit nil | `Consensus::on_nil_polka` |
//! | 47–48: `2f+1` precommits for anything → `timeoutPrecommit` | `Consensus::schedule_precommit_timeout` |
//! | 49–54: proposal and `2f+1` precommits for it in any round → decide | `Consensus::try_decide` → [`Output::Decided`] |
//! | 55–56: `f+1` messages of a higher round → skip to it | `Consensus::try_skip_round` |
//! | 57–66: `OnTimeoutPropose/Prevote/Precommit` | [`Consensus::handle_timeout`] |
//!
//! Rules are evaluated after every input until none applies (`Consensus::run_rules`); the
//! machine's own proposal and votes are counted directly, as if delivered to itself, so a single
//! authority decides alone. Two deliberate additions: line 49 accepts the decided block from any
//! proposal of the height or from a catch-up [`Decision`] (a block is identified by its hash, so
//! this changes no outcome, it only helps a node that missed the round's proposal); and a peer
//! caught sending messages for the height we just decided is sent that [`Decision`] once.
//!
//! # Block time
//!
//! The genesis block time is the target interval between blocks. The proposer of any round does
//! not propose before `parent timestamp + block time`: if that moment is ahead, it schedules a
//! [`TimeoutKind::ProposeDelay`] for it and proposes when it fires. The other authorities count
//! their `timeoutPropose` from the same moment (`max(now, parent + block time) +
//! timeoutPropose(round)`), so waiting for the block time never makes them prevote nil. Block
//! timestamps are `max(now, parent + 1)`.
//!
//! # Driving it
//!
//! ```text
//! let mut machine = Consensus::new(config, key, tip, store, clock)?;
//! outputs = machine.start_height(&mut host)?;            // at boot
//! loop: carry out outputs in order;
//!       on Output::Decided(d): commit d to the chain, then outputs = machine.start_height(&mut host)?
//!       on a message:          outputs = machine.handle_message(msg, &mut host)?
//!       on a timeout's deadline: outputs = machine.handle_timeout(t, &mut host)?
//! ```
//!
//! An `Err` means the input was rejected (and changed nothing) or an action could not be
//! carried out (for example [`SafetyStore::save`] failed, so nothing was signed or sent); outputs
//! produced before such a failure are kept and returned by the next call (or
//! [`Consensus::take_outputs`]).
//!
//! What the network layer must provide (the paper's gossip assumption): every proposal and vote
//! an authority accepts is relayed to the others, and a message is eventually delivered
//! (retransmit, or call [`Consensus::rebroadcast`] now and then). A node left more than one height
//! behind gets [`ConsensusError::FutureHeight`]: the driver then syncs blocks with their commits,
//! either feeding each as a [`ConsensusMessage::Decision`] for the current height, or importing
//! them and rebuilding the machine with [`Consensus::new`] on the new tip (the safety store keeps
//! what was signed).
//!
//! Votes are counted per value, as in the paper: an authority that signed two values in one round
//! and step counts once for each (at most a few values per authority are kept), and once among
//! the voters for "anything". This is what lets honest nodes see a polka that an equivocator
//! showed to only some of them; quorum intersection still holds with at most `f` equivocators.
//!
//! # Safety across restarts
//!
//! Before a signed proposal or vote is emitted, the machine saves its signing memory and lock
//! ([`PersistedState`]) through a [`SafetyStore`]; on restart it resumes from it and refuses to
//! sign anything conflicting with what it signed before (see [`wal`]).

mod clock;
mod error;
mod messages;
mod rules;
mod state_machine;
mod validate;
mod votes;
pub mod wal;

#[cfg(test)]
mod tests;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ConsensusError;
pub use messages::{
    ConsensusMessage, Decision, Evidence, Proposal, ProposalPayload, SignedProposal,
    SignedProposalPayload,
};
pub use state_machine::Consensus;
pub use wal::{Lock, MemorySafetyStore, PersistedState, SafetyStore, Step, ValidBlock};

use crate::block::Block;
use crate::primitives::{Address, BlockNumber, ChainId, Hash, Round};
use crate::vote::{AuthoritySet, Commit};

/// Builds and judges blocks for the machine (the node's chain, in production).
pub trait ConsensusHost {
    /// Builds a block for `height` on top of the last committed block (`getValue()`).
    ///
    /// The header must carry `number = height`, `round`, `timestamp_ms`, `proposer` = this
    /// authority, `parent_hash` = the last committed block and `last_commit`; the machine checks
    /// these and seals the block itself. An `Err` means no proposal this round.
    fn build_block(
        &mut self,
        height: BlockNumber,
        round: Round,
        timestamp_ms: u64,
        last_commit: Option<Commit>,
    ) -> Result<Block, String>;

    /// Whether `block` is a valid next block (`valid(v)`): executes it against the last committed
    /// state. Signatures, height, parent and `last_commit` are already checked by the machine.
    fn validate_block(&mut self, block: &Block) -> Result<(), String>;
}

/// `base + round × delta` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutParams {
    /// Length in round 0.
    pub base_ms: u64,
    /// Added per round.
    pub delta_ms: u64,
}

impl TimeoutParams {
    /// The timeout's length in `round`.
    pub fn duration_ms(&self, round: Round) -> u64 {
        self.base_ms
            .saturating_add(self.delta_ms.saturating_mul(u64::from(round)))
    }
}

/// Consensus parameters; [`ConsensusConfig::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusConfig {
    /// The chain every signature is bound to.
    pub chain_id: ChainId,
    /// The genesis authorities.
    pub authorities: AuthoritySet,
    /// Target interval between blocks (genesis block time; default 1 s).
    pub block_time_ms: u64,
    /// `timeoutPropose(round)`; default 1 s + 500 ms per round.
    pub propose: TimeoutParams,
    /// `timeoutPrevote(round)`; default 500 ms + 250 ms per round.
    pub prevote: TimeoutParams,
    /// `timeoutPrecommit(round)`; default 500 ms + 250 ms per round.
    pub precommit: TimeoutParams,
    /// Messages for rounds more than this beyond ours are dropped (bounds memory per height).
    pub max_rounds_ahead: Round,
    /// Next-height messages kept per sender until we get there.
    pub max_buffered_per_sender: usize,
    /// Evidence items kept; later ones are still output but not kept.
    pub max_evidence: usize,
}

impl ConsensusConfig {
    /// Defaults for `chain_id` and `authorities`.
    pub fn new(chain_id: ChainId, authorities: AuthoritySet) -> Self {
        ConsensusConfig {
            chain_id,
            authorities,
            block_time_ms: 1_000,
            propose: TimeoutParams {
                base_ms: 1_000,
                delta_ms: 500,
            },
            prevote: TimeoutParams {
                base_ms: 500,
                delta_ms: 250,
            },
            precommit: TimeoutParams {
                base_ms: 500,
                delta_ms: 250,
            },
            max_rounds_ahead: 16,
            max_buffered_per_sender: 64,
            max_evidence: 1_024,
        }
    }
}

/// The last committed block, as the machine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    /// Its height (0 for genesis).
    pub height: BlockNumber,
    /// Its hash.
    pub hash: Hash,
    /// Its timestamp.
    pub timestamp_ms: u64,
    /// Its commit (`None` for genesis); the next block carries it as `last_commit`.
    pub commit: Option<Commit>,
}

/// Which timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeoutKind {
    /// The proposer waits for `parent timestamp + block time` before proposing.
    ProposeDelay,
    /// `timeoutPropose`.
    Propose,
    /// `timeoutPrevote`.
    Prevote,
    /// `timeoutPrecommit`.
    Precommit,
}

/// A timeout to deliver back through [`Consensus::handle_timeout`] at `deadline_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout {
    /// When it fires, in the clock's milliseconds.
    pub deadline_ms: u64,
    /// Height it belongs to.
    pub height: BlockNumber,
    /// Round it belongs to.
    pub round: Round,
    /// Which one.
    pub kind: TimeoutKind,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send to every other authority.
    Broadcast(ConsensusMessage),
    /// Send to one authority.
    SendTo {
        /// The recipient.
        to: Address,
        /// The message.
        message: ConsensusMessage,
    },
    /// Call [`Consensus::handle_timeout`] with this at its deadline. Timeouts are never
    /// cancelled; stale ones are ignored.
    ScheduleTimeout(Timeout),
    /// Commit this block with its commit, then call [`Consensus::start_height`].
    Decided(Decision),
    /// An authority signed two conflicting messages (also kept in [`Consensus::evidence`]).
    Evidence(Evidence),
}
