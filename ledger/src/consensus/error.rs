//! Why the consensus state machine refused an input or could not act on it.

use crate::crypto::SignatureError;
use crate::primitives::{Address, BlockNumber, Hash, Round};
use crate::vote::{VoteError, VoteKind};

/// Why an input was rejected (rejected input changes nothing) or an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// Our own key is not in the authority set.
    #[error("{0} is not an authority and cannot run consensus")]
    NotAuthority(Address),
    /// A proposal is signed by someone other than the proposer of its height and round.
    #[error("proposal for height {height} round {round} is from {got}, the proposer is {expected}")]
    WrongProposer {
        /// Height of the proposal.
        height: BlockNumber,
        /// Round of the proposal.
        round: Round,
        /// The round's proposer.
        expected: Address,
        /// Who the proposal names.
        got: Address,
    },
    /// The proposal signature does not verify against its claimed proposer.
    #[error("bad signature on proposal for height {height} round {round}: {source}")]
    ProposalSignature {
        /// Height of the proposal.
        height: BlockNumber,
        /// Round of the proposal.
        round: Round,
        /// Why the signature failed.
        source: SignatureError,
    },
    /// A proposal's valid round is not below its round (Algorithm 1 requires `vr < r`).
    #[error("proposal for round {round} carries valid round {valid_round}, which is not below it")]
    ValidRoundNotBelowRound {
        /// Round of the proposal.
        round: Round,
        /// Its valid round.
        valid_round: Round,
    },
    /// The proposed block is for another height than the proposal.
    #[error("proposal for height {height} carries a block at height {block_height}")]
    BlockHeight {
        /// Height of the proposal.
        height: BlockNumber,
        /// The block's height.
        block_height: BlockNumber,
    },
    /// The block's seal is not its header's proposer's signature.
    #[error("block {hash} has a bad seal: {source}")]
    BlockSeal {
        /// The block hash.
        hash: Hash,
        /// Why the seal failed.
        source: SignatureError,
    },
    /// The block's round does not fit the proposal: a fresh proposal (no valid round) must
    /// carry a block built in its round, a re-proposal one built no later than its valid round.
    #[error(
        "block {hash} was built in round {block_round}, which does not fit a proposal for round {round} with valid round {valid_round:?}"
    )]
    BlockRound {
        /// The block hash.
        hash: Hash,
        /// The round in the block header.
        block_round: Round,
        /// The proposal's round.
        round: Round,
        /// The proposal's valid round.
        valid_round: Option<Round>,
    },
    /// The block was not built by the proposer of the round it names.
    #[error(
        "block {hash} names proposer {got} for round {round}, but that round's proposer is {expected}"
    )]
    BlockProposer {
        /// The block hash.
        hash: Hash,
        /// The round in the block header.
        round: Round,
        /// That round's proposer.
        expected: Address,
        /// The proposer the header names.
        got: Address,
    },
    /// The block's parent is not our last committed block.
    #[error("block at height {height} has parent {got}, our last committed block is {expected}")]
    WrongParent {
        /// The block's height.
        height: BlockNumber,
        /// Our last committed block hash.
        expected: Hash,
        /// The block's parent hash.
        got: Hash,
    },
    /// The block's `last_commit` is missing (height > 1) or present at height 1.
    #[error("block at height {height} {}", if *.present { "carries a last commit, but its parent is genesis" } else { "has no last commit" })]
    LastCommitPresence {
        /// The block's height.
        height: BlockNumber,
        /// Whether a last commit was present.
        present: bool,
    },
    /// A commit (catch-up decision or a block's `last_commit`) does not prove its block final.
    #[error("commit for height {height} does not verify: {source}")]
    BadCommit {
        /// Height the commit claims.
        height: BlockNumber,
        /// Why (no quorum, wrong block, bad signature, ...).
        source: VoteError,
    },
    /// A decision's commit is for another block than the one it carries.
    #[error("decision carries block {block} but its commit is for {committed}")]
    DecisionMismatch {
        /// The carried block's hash.
        block: Hash,
        /// The committed block hash.
        committed: Hash,
    },
    /// A vote from someone outside the authority set.
    #[error("vote from {0}, which is not an authority")]
    VoteNotAuthority(Address),
    /// A vote whose signature does not verify against its claimed voter.
    #[error("bad signature on {kind:?} from {voter} for height {height} round {round}: {source}")]
    VoteSignature {
        /// The vote kind.
        kind: VoteKind,
        /// The claimed voter.
        voter: Address,
        /// The vote's height.
        height: BlockNumber,
        /// The vote's round.
        round: Round,
        /// Why the signature failed.
        source: SignatureError,
    },
    /// A message for a height already decided here.
    #[error("message for height {height}, already decided; we are at height {current}")]
    PastHeight {
        /// The message's height.
        height: BlockNumber,
        /// Our height.
        current: BlockNumber,
    },
    /// A message for a height beyond the next one: dropped, sync must catch us up first.
    #[error("message for height {height} is too far ahead; we are at height {current}")]
    FutureHeight {
        /// The message's height.
        height: BlockNumber,
        /// Our height.
        current: BlockNumber,
    },
    /// The buffer for next-height messages from this sender is full.
    #[error(
        "next-height buffer for {sender} is full ({limit} messages); message for height {height} dropped"
    )]
    BufferFull {
        /// The sender.
        sender: Address,
        /// The message's height.
        height: BlockNumber,
        /// Per-sender limit.
        limit: usize,
    },
    /// A message for a round too far beyond ours to keep (bounds memory per height).
    #[error(
        "message for round {round} is more than {max_ahead} rounds ahead of our round {current}"
    )]
    RoundTooFar {
        /// The message's round.
        round: Round,
        /// Our round.
        current: Round,
        /// How far ahead rounds are kept.
        max_ahead: Round,
    },
    /// The safety store failed to persist what we were about to sign; nothing was sent.
    #[error("persisting consensus state failed, message not sent: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The safety store holds state for a height above the chain tip's next one.
    #[error("safety store is at height {stored}, but the chain tip is at {tip}")]
    StoreAhead {
        /// Height in the store.
        stored: BlockNumber,
        /// Chain tip height.
        tip: BlockNumber,
    },
    /// Signing this would conflict with a message already signed (after a restart, or a bug):
    /// refused.
    #[error(
        "refusing to sign {what} at height {height} round {round}: it conflicts with a message already signed"
    )]
    WouldEquivocate {
        /// What was about to be signed.
        what: &'static str,
        /// Its height.
        height: BlockNumber,
        /// Its round.
        round: Round,
    },
}
