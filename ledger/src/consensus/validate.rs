//! Structural checks on what peers send: signatures, proposers, heights, parents and commits.
//! Pure functions; whether a block's transactions execute is the host's `valid(v)`.

use super::error::ConsensusError;
use super::messages::{Decision, SignedProposal};
use super::{ChainTip, ConsensusConfig};
use crate::block::Block;
use crate::primitives::{BlockNumber, Round};
use crate::vote::{SignedVote, VoteError};

/// Checks a vote's voter and signature.
pub(crate) fn vote(vote: &SignedVote, config: &ConsensusConfig) -> Result<(), ConsensusError> {
    vote.verify(config.chain_id, &config.authorities)
        .map_err(|e| match e {
            VoteError::Signature(source) => ConsensusError::VoteSignature {
                kind: vote.vote.kind,
                voter: vote.voter,
                height: vote.vote.height,
                round: vote.vote.round,
                source,
            },
            _ => ConsensusError::VoteNotAuthority(vote.voter),
        })
}

/// Checks that a proposal is signed by the proposer of its height and round and that its valid
/// round is below its round. Does not look at the block (see [`block`]).
pub(crate) fn proposal_signature(
    signed: &SignedProposal,
    config: &ConsensusConfig,
) -> Result<(), ConsensusError> {
    let p = &signed.proposal;
    let expected = config.authorities.proposer(p.height, p.round);
    if signed.proposer != expected {
        return Err(ConsensusError::WrongProposer {
            height: p.height,
            round: p.round,
            expected,
            got: signed.proposer,
        });
    }
    if let Some(valid_round) = p.valid_round.filter(|vr| *vr >= p.round) {
        return Err(ConsensusError::ValidRoundNotBelowRound {
            round: p.round,
            valid_round,
        });
    }
    p.payload()
        .verify(&signed.signature, signed.proposer, config.chain_id)
        .map_err(|source| ConsensusError::ProposalSignature {
            height: p.height,
            round: p.round,
            source,
        })
}

/// Checks that a proposal's block fits the proposal's round: a fresh proposal carries a block
/// built in its round; a re-proposal one built no later than its valid round.
pub(crate) fn block_round(
    block: &Block,
    round: Round,
    valid_round: Option<Round>,
) -> Result<(), ConsensusError> {
    let block_round = block.header.round;
    let fits = match valid_round {
        None => block_round == round,
        Some(vr) => block_round <= vr,
    };
    if fits {
        Ok(())
    } else {
        Err(ConsensusError::BlockRound {
            hash: block.hash(),
            block_round,
            round,
            valid_round,
        })
    }
}

/// Checks that `block` can be the block at `height` on top of `tip`: height, builder (the
/// proposer of the round in its header), seal, parent and `last_commit` (a quorum for the
/// parent).
pub(crate) fn block(
    block: &Block,
    height: BlockNumber,
    tip: &ChainTip,
    config: &ConsensusConfig,
) -> Result<(), ConsensusError> {
    let header = &block.header;
    if header.number != height {
        return Err(ConsensusError::BlockHeight {
            height,
            block_height: header.number,
        });
    }
    let builder = config.authorities.proposer(height, header.round);
    if header.proposer != builder {
        return Err(ConsensusError::BlockProposer {
            hash: block.hash(),
            round: header.round,
            expected: builder,
            got: header.proposer,
        });
    }
    header
        .verify_seal(&block.seal, config.chain_id)
        .map_err(|source| ConsensusError::BlockSeal {
            hash: block.hash(),
            source,
        })?;
    if header.parent_hash != tip.hash || tip.height + 1 != height {
        return Err(ConsensusError::WrongParent {
            height,
            expected: tip.hash,
            got: header.parent_hash,
        });
    }
    match (&header.last_commit, height) {
        (None, 1) => Ok(()),
        (Some(commit), h) if h > 1 => commit
            .verify(
                config.chain_id,
                &config.authorities,
                h - 1,
                header.parent_hash,
            )
            .map_err(|source| ConsensusError::BadCommit {
                height: h - 1,
                source,
            }),
        (present, _) => Err(ConsensusError::LastCommitPresence {
            height,
            present: present.is_some(),
        }),
    }
}

/// Checks a catch-up decision for `height` on top of `tip`: its commit is a quorum of
/// precommits for the block it carries, and the block fits the chain.
pub(crate) fn decision(
    decision: &Decision,
    height: BlockNumber,
    tip: &ChainTip,
    config: &ConsensusConfig,
) -> Result<(), ConsensusError> {
    let hash = decision.block.hash();
    let commit = &decision.commit;
    if commit.block_hash != hash {
        return Err(ConsensusError::DecisionMismatch {
            block: hash,
            committed: commit.block_hash,
        });
    }
    commit
        .verify(config.chain_id, &config.authorities, height, hash)
        .map_err(|source| ConsensusError::BadCommit { height, source })?;
    block(&decision.block, height, tip, config)
}
