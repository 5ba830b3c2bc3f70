//! Consensus wire messages: signed proposals, votes, decisions, and equivocation evidence.
//!
//! A proposal is signed by the proposer of its `(height, round)` in [`Domain::Proposal`] over the
//! canonical bytes of [`ProposalPayload`] (height, round, block hash, valid round); the block it
//! carries is additionally sealed by the authority that first built it ([`Header::verify_seal`]),
//! which differs from the signer when a block is re-proposed from an earlier round.
//!
//! [`Header::verify_seal`]: crate::block::Header::verify_seal

use bincode::{Decode, Encode};

use crate::block::Block;
use crate::codec;
use crate::crypto::{Domain, SecretKey, Signature, SignatureError};
use crate::primitives::{Address, BlockNumber, ChainId, Hash, Round};
use crate::vote::{Commit, SignedVote};

/// A proposal of `block` for `(height, round)`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Proposal {
    /// Height proposed for.
    pub height: BlockNumber,
    /// Round proposed in.
    pub round: Round,
    /// The proposed block.
    pub block: Block,
    /// The proposer's `validRound` (Algorithm 1's `vr`); `None` is the paper's −1.
    pub valid_round: Option<Round>,
}

/// What a proposer signs: the proposal with its block replaced by the block hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct ProposalPayload {
    /// Height proposed for.
    pub height: BlockNumber,
    /// Round proposed in.
    pub round: Round,
    /// Hash of the proposed block.
    pub block_hash: Hash,
    /// The proposer's valid round.
    pub valid_round: Option<Round>,
}

impl ProposalPayload {
    /// Signs this payload.
    pub fn sign(&self, key: &SecretKey, chain_id: ChainId) -> Signature {
        key.sign_payload(Domain::Proposal, chain_id, &codec::encode(self))
    }

    /// Checks that `signer` signed this payload on `chain_id`.
    pub fn verify(
        &self,
        signature: &Signature,
        signer: Address,
        chain_id: ChainId,
    ) -> Result<(), SignatureError> {
        signature.verify_payload(Domain::Proposal, chain_id, &codec::encode(self), signer)
    }
}

impl Proposal {
    /// The signed payload of this proposal.
    pub fn payload(&self) -> ProposalPayload {
        ProposalPayload {
            height: self.height,
            round: self.round,
            block_hash: self.block.hash(),
            valid_round: self.valid_round,
        }
    }

    /// Signs this proposal.
    pub fn sign(self, key: &SecretKey, chain_id: ChainId) -> SignedProposal {
        let signature = self.payload().sign(key, chain_id);
        SignedProposal {
            proposal: self,
            proposer: key.address(),
            signature,
        }
    }
}

/// A proposal with its proposer and signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Who claims to have signed it (must be the proposer of its height and round).
    pub proposer: Address,
    /// Signature over `tag ‖ chain id ‖ encode(payload)`.
    pub signature: Signature,
}

impl SignedProposal {
    /// The signed payload with its signer and signature, without the block: small enough to be
    /// kept as evidence.
    pub fn summary(&self) -> SignedProposalPayload {
        SignedProposalPayload {
            payload: self.proposal.payload(),
            proposer: self.proposer,
            signature: self.signature,
        }
    }
}

/// A proposal's signed payload with its signer: verifiable on its own, without the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct SignedProposalPayload {
    /// What was signed.
    pub payload: ProposalPayload,
    /// The signer.
    pub proposer: Address,
    /// The signature.
    pub signature: Signature,
}

/// A decided block with its finality proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Decision {
    /// The committed block.
    pub block: Block,
    /// A quorum of precommits for it.
    pub commit: Commit,
}

/// Everything authorities gossip to run consensus.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ConsensusMessage {
    /// A proposer's block for a round.
    Proposal(Box<SignedProposal>),
    /// A prevote or precommit.
    Vote(SignedVote),
    /// A decided block with its commit, for a peer still working on that height (catch-up).
    Decision(Box<Decision>),
}

/// Two conflicting messages signed by one authority: slashable evidence. Kept, never acted on
/// here.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Evidence {
    /// Two different votes of the same kind for the same height and round.
    ConflictingVotes {
        /// The vote received first.
        first: SignedVote,
        /// The conflicting vote.
        second: SignedVote,
    },
    /// Two different proposals for the same height and round.
    ConflictingProposals {
        /// The proposal received first.
        first: SignedProposalPayload,
        /// The conflicting proposal.
        second: SignedProposalPayload,
    },
}

impl Evidence {
    /// The authority that signed both messages.
    pub fn offender(&self) -> Address {
        match self {
            Evidence::ConflictingVotes { first, .. } => first.voter,
            Evidence::ConflictingProposals { first, .. } => first.proposer,
        }
    }

    /// Whether both messages are validly signed by the offender on `chain_id` and really
    /// conflict (same height, round and kind, different content).
    pub fn is_valid(&self, chain_id: ChainId) -> bool {
        match self {
            Evidence::ConflictingVotes { first, second } => {
                let signed = |v: &SignedVote| {
                    v.signature
                        .verify_payload(
                            Domain::Vote,
                            chain_id,
                            &codec::encode(&v.vote),
                            first.voter,
                        )
                        .is_ok()
                };
                first.voter == second.voter
                    && first.vote.kind == second.vote.kind
                    && first.vote.height == second.vote.height
                    && first.vote.round == second.vote.round
                    && first.vote.block != second.vote.block
                    && signed(first)
                    && signed(second)
            }
            Evidence::ConflictingProposals { first, second } => {
                first.proposer == second.proposer
                    && first.payload.height == second.payload.height
                    && first.payload.round == second.payload.round
                    && first.payload != second.payload
                    && first
                        .payload
                        .verify(&first.signature, first.proposer, chain_id)
                        .is_ok()
                    && second
                        .payload
                        .verify(&second.signature, first.proposer, chain_id)
                        .is_ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Header;
    use crate::vote::{Vote, VoteKind};

    fn block(key: &SecretKey) -> Block {
        let header = Header {
            parent_hash: Hash::keccak(b"parent"),
            number: 1,
            round: 0,
            timestamp_ms: 5,
            proposer: key.address(),
            tx_root: crate::block::tx_root(&[]),
            receipt_root: Hash::ZERO,
            state_root: Hash::ZERO,
            last_commit: None,
        };
        let seal = header.seal(key, 3);
        Block {
            header,
            seal,
            txs: vec![],
        }
    }

    #[test]
    fn messages_round_trip_and_proposals_verify() {
        let key = SecretKey::from_seed("proposer");
        let proposal = Proposal {
            height: 1,
            round: 2,
            block: block(&key),
            valid_round: Some(1),
        }
        .sign(&key, 3);
        assert_eq!(
            proposal
                .proposal
                .payload()
                .verify(&proposal.signature, key.address(), 3),
            Ok(())
        );
        assert!(
            proposal
                .proposal
                .payload()
                .verify(&proposal.signature, key.address(), 4)
                .is_err()
        );
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: 1,
            round: 2,
            block: None,
        }
        .sign(&key, 3);
        let decision = Decision {
            block: block(&key),
            commit: Commit {
                height: 1,
                round: 0,
                block_hash: block(&key).hash(),
                signatures: vec![],
            },
        };
        for message in [
            ConsensusMessage::Proposal(Box::new(proposal)),
            ConsensusMessage::Vote(vote),
            ConsensusMessage::Decision(Box::new(decision)),
        ] {
            let bytes = codec::encode(&message);
            assert_eq!(codec::decode::<ConsensusMessage>(&bytes).unwrap(), message);
            assert!(codec::decode::<ConsensusMessage>(&bytes[..bytes.len() - 1]).is_err());
        }
    }
}
