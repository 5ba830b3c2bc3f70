//! Consensus votes, commits and the authority set.
//!
//! A [`Commit`] is the finality proof of a block: precommits for it from at least
//! [`AuthoritySet::quorum`] distinct authorities in one round. It is stored with the block and
//! carried in the next header, so any node can check finality with the genesis authority list
//! alone ([`Commit::verify`]).

use bincode::{Decode, Encode};

use crate::codec;
use crate::crypto::{Domain, SecretKey, Signature, SignatureError};
use crate::primitives::{Address, BlockNumber, ChainId, Hash, Round};

/// The genesis authorities, in their fixed order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthoritySet {
    authorities: Vec<Address>,
}

impl AuthoritySet {
    /// Builds the set; `None` if it is empty or lists an address twice.
    pub fn new(authorities: Vec<Address>) -> Option<Self> {
        let mut sorted = authorities.clone();
        sorted.sort();
        sorted.dedup();
        (!authorities.is_empty() && sorted.len() == authorities.len())
            .then_some(AuthoritySet { authorities })
    }
    /// Number of authorities, n.
    pub fn len(&self) -> usize {
        self.authorities.len()
    }
    /// Always false: a set has at least one authority.
    pub fn is_empty(&self) -> bool {
        self.authorities.is_empty()
    }
    /// The authorities in order.
    pub fn as_slice(&self) -> &[Address] {
        &self.authorities
    }
    /// Votes needed for a decision: ⌊2n/3⌋ + 1.
    pub fn quorum(&self) -> usize {
        2 * self.len() / 3 + 1
    }
    /// Votes that prove at least one honest authority: ⌊n/3⌋ + 1 (for the round-skip rule).
    pub fn honest_threshold(&self) -> usize {
        self.len() / 3 + 1
    }
    /// Position of `who` in the set.
    pub fn index_of(&self, who: &Address) -> Option<usize> {
        self.authorities.iter().position(|a| a == who)
    }
    /// Whether `who` is an authority.
    pub fn contains(&self, who: &Address) -> bool {
        self.index_of(who).is_some()
    }
    /// The proposer of `(height, round)`: `authorities[(height + round) % n]`.
    pub fn proposer(&self, height: BlockNumber, round: Round) -> Address {
        let n = self.len() as u128;
        self.authorities[((height as u128 + round as u128) % n) as usize]
    }
}

/// Prevote or precommit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum VoteKind {
    /// First voting step of a round.
    Prevote,
    /// Second voting step; a quorum of precommits for a block commits it.
    Precommit,
}

/// A consensus vote: for a block hash, or for nil.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height voted on.
    pub height: BlockNumber,
    /// Round voted in.
    pub round: Round,
    /// The block voted for, or `None` for nil.
    pub block: Option<Hash>,
}

impl Vote {
    /// Signs this vote.
    pub fn sign(self, key: &SecretKey, chain_id: ChainId) -> SignedVote {
        let signature = key.sign_payload(Domain::Vote, chain_id, &codec::encode(&self));
        SignedVote {
            vote: self,
            voter: key.address(),
            signature,
        }
    }
}

/// A vote with its voter and signature.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// Who claims to have signed it.
    pub voter: Address,
    /// Signature over `tag ‖ chain id ‖ encode(vote)`.
    pub signature: Signature,
}

/// Why a vote or commit was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// The voter is not a genesis authority.
    #[error("{0} is not an authority")]
    NotAuthority(Address),
    /// The signature is invalid or was made by someone else.
    #[error("bad vote signature: {0}")]
    Signature(#[from] SignatureError),
    /// A commit lists the same authority twice or out of order.
    #[error("commit signatures are not in strictly increasing authority order at position {0}")]
    Unordered(usize),
    /// A commit has fewer signatures than a quorum.
    #[error("commit has {got} precommits, a quorum is {needed}")]
    NoQuorum {
        /// Valid precommits found.
        got: usize,
        /// Quorum size.
        needed: usize,
    },
    /// A commit is for another height or block than expected.
    #[error(
        "commit is for height {got_height} block {got_block}, expected height {height} block {block}"
    )]
    WrongBlock {
        /// Expected height.
        height: BlockNumber,
        /// Expected block hash.
        block: Hash,
        /// The commit's height.
        got_height: BlockNumber,
        /// The commit's block.
        got_block: Hash,
    },
}

impl SignedVote {
    /// Checks that the voter is an authority and signed this vote on `chain_id`.
    pub fn verify(&self, chain_id: ChainId, authorities: &AuthoritySet) -> Result<(), VoteError> {
        if !authorities.contains(&self.voter) {
            return Err(VoteError::NotAuthority(self.voter));
        }
        self.signature.verify_payload(
            Domain::Vote,
            chain_id,
            &codec::encode(&self.vote),
            self.voter,
        )?;
        Ok(())
    }
}

/// The finality proof of a block: a quorum of precommit signatures from one round.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Commit {
    /// Height of the committed block.
    pub height: BlockNumber,
    /// Round in which it was committed.
    pub round: Round,
    /// Hash of the committed block.
    pub block_hash: Hash,
    /// Signatures of `Vote { Precommit, height, round, Some(block_hash) }`, one per authority,
    /// in increasing authority-index order.
    pub signatures: Vec<Signature>,
}

impl Commit {
    /// Builds a commit from precommit votes for the same block in the same round. Votes from
    /// the same voter are kept once; the caller checks the quorum (or calls [`Commit::verify`]).
    pub fn from_votes(
        height: BlockNumber,
        round: Round,
        block_hash: Hash,
        votes: &[SignedVote],
        authorities: &AuthoritySet,
    ) -> Commit {
        let mut indexed: Vec<(usize, Signature)> = votes
            .iter()
            .filter(|v| {
                v.vote
                    == Vote {
                        kind: VoteKind::Precommit,
                        height,
                        round,
                        block: Some(block_hash),
                    }
            })
            .filter_map(|v| authorities.index_of(&v.voter).map(|i| (i, v.signature)))
            .collect();
        indexed.sort_by_key(|(i, _)| *i);
        indexed.dedup_by_key(|(i, _)| *i);
        Commit {
            height,
            round,
            block_hash,
            signatures: indexed.into_iter().map(|(_, s)| s).collect(),
        }
    }

    /// The vote every signature in this commit signs.
    pub fn vote(&self) -> Vote {
        Vote {
            kind: VoteKind::Precommit,
            height: self.height,
            round: self.round,
            block: Some(self.block_hash),
        }
    }

    /// Checks that this commit finalizes `block_hash` at `height`: every signature is an
    /// authority's precommit, in increasing authority order, and there are at least a quorum.
    pub fn verify(
        &self,
        chain_id: ChainId,
        authorities: &AuthoritySet,
        height: BlockNumber,
        block_hash: Hash,
    ) -> Result<(), VoteError> {
        if self.height != height || self.block_hash != block_hash {
            return Err(VoteError::WrongBlock {
                height,
                block: block_hash,
                got_height: self.height,
                got_block: self.block_hash,
            });
        }
        let digest = Domain::Vote.signing_hash(chain_id, &codec::encode(&self.vote()));
        let mut last: Option<usize> = None;
        for (pos, sig) in self.signatures.iter().enumerate() {
            let who = sig.recover(&digest)?;
            let idx = authorities
                .index_of(&who)
                .ok_or(VoteError::NotAuthority(who))?;
            if last.is_some_and(|l| idx <= l) {
                return Err(VoteError::Unordered(pos));
            }
            last = Some(idx);
        }
        if self.signatures.len() < authorities.quorum() {
            return Err(VoteError::NoQuorum {
                got: self.signatures.len(),
                needed: authorities.quorum(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> (Vec<SecretKey>, AuthoritySet) {
        let keys: Vec<_> = (0..n)
            .map(|i| SecretKey::from_seed(&format!("auth{i}")))
            .collect();
        let set = AuthoritySet::new(keys.iter().map(|k| k.address()).collect()).unwrap();
        (keys, set)
    }

    #[test]
    fn quorum_and_proposer() {
        let (_, set) = keys(4);
        assert_eq!(set.quorum(), 3);
        assert_eq!(set.honest_threshold(), 2);
        assert_eq!(set.proposer(5, 2), set.as_slice()[3]);
        let (_, one) = keys(1);
        assert_eq!(one.quorum(), 1);
        assert!(AuthoritySet::new(vec![]).is_none());
        assert!(AuthoritySet::new(vec![Address::ZERO, Address::ZERO]).is_none());
    }

    #[test]
    fn commit_verifies_only_with_quorum_of_authorities() {
        let (keys, set) = keys(4);
        let block = Hash::keccak(b"block");
        let vote = Vote {
            kind: VoteKind::Precommit,
            height: 3,
            round: 1,
            block: Some(block),
        };
        let votes: Vec<_> = keys.iter().map(|k| vote.sign(k, 9)).collect();
        let commit = Commit::from_votes(3, 1, block, &votes[1..], &set);
        assert_eq!(commit.verify(9, &set, 3, block), Ok(()));
        let short = Commit::from_votes(3, 1, block, &votes[2..], &set);
        assert_eq!(
            short.verify(9, &set, 3, block),
            Err(VoteError::NoQuorum { got: 2, needed: 3 })
        );
        assert!(matches!(
            commit.verify(9, &set, 4, block),
            Err(VoteError::WrongBlock { .. })
        ));
        // Wrong chain: signatures recover to non-authorities.
        assert!(matches!(
            commit.verify(10, &set, 3, block),
            Err(VoteError::NotAuthority(_))
        ));
        // Duplicated signature.
        let mut dup = commit.clone();
        dup.signatures[1] = dup.signatures[0];
        assert_eq!(dup.verify(9, &set, 3, block), Err(VoteError::Unordered(1)));
        // An outsider's precommit does not count.
        let outsider = vote.sign(&SecretKey::from_seed("outsider"), 9);
        assert_eq!(
            outsider.verify(9, &set),
            Err(VoteError::NotAuthority(outsider.voter))
        );
    }
}
