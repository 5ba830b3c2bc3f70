//! What an authority must remember across restarts so it never signs two conflicting messages.
//!
//! Before the state machine emits a proposal or vote it signed, it saves a [`PersistedState`]
//! that records the message and its lock through a [`SafetyStore`]; if the save fails the message
//! is not sent. On start it loads that state back: it resumes the same height, round and step with
//! its lock, and [`PersistedState::check_vote`] and [`PersistedState::check_proposal`] refuse
//! anything that is not strictly after the last signed `(height, round, step)` unless it is that
//! very message again.

use std::convert::Infallible;
use std::sync::Arc;

use bincode::{Decode, Encode};
use parking_lot::Mutex;

use super::messages::SignedProposalPayload;
use crate::block::Block;
use crate::primitives::{BlockNumber, Hash, Round};
use crate::vote::{SignedVote, Vote, VoteKind};

/// A step of a round (Algorithm 1's `step_p`), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum Step {
    /// Waiting for (or making) the round's proposal.
    Propose,
    /// Prevoted; waiting for prevotes.
    Prevote,
    /// Precommitted; waiting for precommits.
    Precommit,
}

/// `lockedValue_p` / `lockedRound_p` (the value by its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Lock {
    /// The round in which we locked.
    pub round: Round,
    /// The locked block.
    pub block_hash: Hash,
}

/// `validValue_p` / `validRound_p`: the block a later proposer of ours re-proposes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ValidBlock {
    /// The round in which a quorum prevoted it.
    pub round: Round,
    /// The block.
    pub block: Block,
}

/// The signer's memory, saved before each signed message leaves the machine.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PersistedState {
    /// Height being decided.
    pub height: BlockNumber,
    /// Round at the time of the save.
    pub round: Round,
    /// Step at the time of the save.
    pub step: Step,
    /// The lock, if any.
    pub locked: Option<Lock>,
    /// The valid block, if any.
    pub valid: Option<ValidBlock>,
    /// Last proposal signed (its payload).
    pub proposal: Option<SignedProposalPayload>,
    /// Last prevote signed.
    pub prevote: Option<SignedVote>,
    /// Last precommit signed.
    pub precommit: Option<SignedVote>,
}

/// The answer to "may I sign this?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignCheck<T> {
    /// Strictly after everything signed so far: sign it.
    Fresh,
    /// Exactly this was signed already: reuse it, do not sign again.
    AlreadySigned(T),
    /// It conflicts with (or comes before) something already signed: refuse.
    Conflict,
}

impl PersistedState {
    /// A state with nothing signed at `height`.
    pub fn new(height: BlockNumber) -> Self {
        PersistedState {
            height,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            proposal: None,
            prevote: None,
            precommit: None,
        }
    }

    /// The last signed `(height, round, step)`, if anything was signed.
    pub fn watermark(&self) -> Option<(BlockNumber, Round, Step)> {
        let proposal = self
            .proposal
            .map(|p| (p.payload.height, p.payload.round, Step::Propose));
        let prevote = self
            .prevote
            .map(|v| (v.vote.height, v.vote.round, Step::Prevote));
        let precommit = self
            .precommit
            .map(|v| (v.vote.height, v.vote.round, Step::Precommit));
        [proposal, prevote, precommit].into_iter().flatten().max()
    }

    fn check<T: Clone>(&self, at: (BlockNumber, Round, Step), same: Option<&T>) -> SignCheck<T> {
        if let Some(same) = same {
            return SignCheck::AlreadySigned(same.clone());
        }
        match self.watermark() {
            Some(mark) if at <= mark => SignCheck::Conflict,
            _ => SignCheck::Fresh,
        }
    }

    /// May `vote` be signed now?
    pub fn check_vote(&self, vote: &Vote) -> SignCheck<SignedVote> {
        let (last, step) = match vote.kind {
            VoteKind::Prevote => (&self.prevote, Step::Prevote),
            VoteKind::Precommit => (&self.precommit, Step::Precommit),
        };
        let same = last.as_ref().filter(|signed| signed.vote == *vote);
        self.check((vote.height, vote.round, step), same)
    }

    /// May a proposal with this payload be signed now?
    pub fn check_proposal(
        &self,
        payload: &super::messages::ProposalPayload,
    ) -> SignCheck<SignedProposalPayload> {
        let same = self.proposal.as_ref().filter(|p| p.payload == *payload);
        self.check((payload.height, payload.round, Step::Propose), same)
    }
}

/// Durable storage for [`PersistedState`]. `save` must be durable when it returns `Ok`.
pub trait SafetyStore {
    /// Why loading or saving failed.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The last saved state, if any.
    fn load(&self) -> Result<Option<PersistedState>, Self::Error>;
    /// Replaces the saved state.
    fn save(&mut self, state: &PersistedState) -> Result<(), Self::Error>;
}

/// An in-memory store. Clones share the same slot, so a test can keep a handle and rebuild a
/// machine from it as if after a restart.
#[derive(Debug, Clone, Default)]
pub struct MemorySafetyStore {
    slot: Arc<Mutex<Option<PersistedState>>>,
}

impl MemorySafetyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// What is saved now.
    pub fn get(&self) -> Option<PersistedState> {
        self.slot.lock().clone()
    }
}

impl SafetyStore for MemorySafetyStore {
    type Error = Infallible;

    fn load(&self) -> Result<Option<PersistedState>, Infallible> {
        Ok(self.slot.lock().clone())
    }

    fn save(&mut self, state: &PersistedState) -> Result<(), Infallible> {
        *self.slot.lock() = Some(state.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn sign_check_is_monotonic_and_idempotent() {
        let key = SecretKey::from_seed("a");
        let vote = |kind, round, block: Option<Hash>| Vote {
            kind,
            height: 5,
            round,
            block,
        };
        let x = Some(Hash::keccak(b"x"));
        let mut state = PersistedState::new(5);
        assert_eq!(
            state.check_vote(&vote(VoteKind::Prevote, 1, x)),
            SignCheck::Fresh
        );
        let signed = vote(VoteKind::Prevote, 1, x).sign(&key, 1);
        state.prevote = Some(signed);
        assert_eq!(
            state.check_vote(&vote(VoteKind::Prevote, 1, x)),
            SignCheck::AlreadySigned(signed)
        );
        assert_eq!(
            state.check_vote(&vote(VoteKind::Prevote, 1, None)),
            SignCheck::Conflict
        );
        assert_eq!(
            state.check_vote(&vote(VoteKind::Prevote, 0, None)),
            SignCheck::Conflict
        );
        assert_eq!(
            state.check_vote(&vote(VoteKind::Precommit, 1, None)),
            SignCheck::Fresh
        );
        state.precommit = Some(vote(VoteKind::Precommit, 1, None).sign(&key, 1));
        // A prevote in the round already precommitted in is a step backwards.
        assert_eq!(
            state.check_vote(&vote(VoteKind::Prevote, 1, x)),
            SignCheck::AlreadySigned(signed)
        );
        assert_eq!(
            state.check_vote(&vote(VoteKind::Precommit, 1, x)),
            SignCheck::Conflict
        );
        assert_eq!(
            state.check_vote(&vote(VoteKind::Prevote, 2, None)),
            SignCheck::Fresh
        );
        let bytes = crate::codec::encode(&state);
        assert_eq!(
            crate::codec::decode::<PersistedState>(&bytes).unwrap(),
            state
        );
    }
}
