//! Votes received at one height, counted per round, with equivocation detection.

use std::collections::{BTreeMap, BTreeSet};

use super::messages::Evidence;
use crate::primitives::{Address, Hash, Round};
use crate::vote::{SignedVote, VoteKind};

/// Distinct values counted per voter, round and step. Algorithm 1 counts messages per value, so
/// an equivocating voter's votes count once for each value it signed (quorum intersection still
/// holds with at most f such voters); honest nodes need this to see a polka that a Byzantine
/// voter showed only to some of them. Beyond this many values, further ones are not counted.
const MAX_VALUES_PER_VOTER: usize = 4;

/// Votes and senders of one round.
#[derive(Debug, Default)]
pub(crate) struct RoundVotes {
    /// Per voter, its distinct votes in arrival order.
    prevotes: BTreeMap<Address, Vec<SignedVote>>,
    precommits: BTreeMap<Address, Vec<SignedVote>>,
    /// Everyone who sent a verified message (proposal or vote) in this round (line 55).
    senders: BTreeSet<Address>,
}

impl RoundVotes {
    fn of(&self, kind: VoteKind) -> &BTreeMap<Address, Vec<SignedVote>> {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }

    fn all(&self, kind: VoteKind) -> impl Iterator<Item = &SignedVote> {
        self.of(kind).values().flatten()
    }

    /// Voters with a vote of `kind` for `block` (`None`: nil).
    pub(crate) fn count(&self, kind: VoteKind, block: Option<Hash>) -> usize {
        self.all(kind).filter(|v| v.vote.block == block).count()
    }

    /// Voters with a vote of `kind` for anything (Algorithm 1's `*`).
    pub(crate) fn total(&self, kind: VoteKind) -> usize {
        self.of(kind).len()
    }

    /// Blocks (not nil) that have votes of `kind` from at least `threshold` voters.
    pub(crate) fn blocks_with(&self, kind: VoteKind, threshold: usize) -> Vec<Hash> {
        let mut tally: BTreeMap<Hash, usize> = BTreeMap::new();
        for hash in self.all(kind).filter_map(|v| v.vote.block) {
            *tally.entry(hash).or_default() += 1;
        }
        tally
            .into_iter()
            .filter(|(_, n)| *n >= threshold)
            .map(|(h, _)| h)
            .collect()
    }

    /// The signed votes of `kind` for `block`, one per voter.
    pub(crate) fn votes_for(&self, kind: VoteKind, block: Option<Hash>) -> Vec<SignedVote> {
        self.all(kind)
            .filter(|v| v.vote.block == block)
            .copied()
            .collect()
    }

    /// Distinct senders of any message in this round.
    pub(crate) fn senders(&self) -> usize {
        self.senders.len()
    }
}

/// What adding a vote did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// A new vote, now counted.
    New,
    /// Exactly this vote was already counted.
    Duplicate,
    /// The voter already voted differently in this round and step. Carries evidence the first
    /// time a voter is caught in a round and step.
    Conflict(Option<Box<Evidence>>),
}

/// All votes received at the current height.
#[derive(Debug, Default)]
pub(crate) struct VoteBook {
    rounds: BTreeMap<Round, RoundVotes>,
    caught: BTreeSet<(Address, Round, VoteKind)>,
}

impl VoteBook {
    /// Whether exactly this signed vote is already counted (lets callers skip re-verifying it).
    pub(crate) fn contains(&self, vote: &SignedVote) -> bool {
        self.rounds
            .get(&vote.vote.round)
            .and_then(|r| r.of(vote.vote.kind).get(&vote.voter))
            .is_some_and(|votes| votes.contains(vote))
    }

    /// Adds a verified vote.
    pub(crate) fn add(&mut self, vote: SignedVote) -> Added {
        let key = (vote.voter, vote.vote.round, vote.vote.kind);
        let round = self.rounds.entry(vote.vote.round).or_default();
        round.senders.insert(vote.voter);
        let map = match vote.vote.kind {
            VoteKind::Prevote => &mut round.prevotes,
            VoteKind::Precommit => &mut round.precommits,
        };
        let votes = map.entry(vote.voter).or_default();
        let Some(first) = votes.first().copied() else {
            votes.push(vote);
            return Added::New;
        };
        // The same vote again (possibly with another valid signature) is no conflict.
        if votes.iter().any(|v| v.vote == vote.vote) {
            return Added::Duplicate;
        }
        if votes.len() < MAX_VALUES_PER_VOTER {
            votes.push(vote);
        }
        let evidence = self.caught.insert(key).then(|| {
            Box::new(Evidence::ConflictingVotes {
                first,
                second: vote,
            })
        });
        Added::Conflict(evidence)
    }

    /// Records that `sender` sent a verified proposal in `round`.
    pub(crate) fn note_sender(&mut self, round: Round, sender: Address) {
        self.rounds.entry(round).or_default().senders.insert(sender);
    }

    /// The votes of `round`, if any arrived.
    pub(crate) fn round(&self, round: Round) -> Option<&RoundVotes> {
        self.rounds.get(&round)
    }

    /// Rounds with any message, with their votes.
    pub(crate) fn rounds(&self) -> impl Iterator<Item = (Round, &RoundVotes)> {
        self.rounds.iter().map(|(r, v)| (*r, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::vote::Vote;

    #[test]
    fn counts_and_detects_equivocation_once() {
        let keys: Vec<_> = (0..3)
            .map(|i| SecretKey::from_seed(&format!("v{i}")))
            .collect();
        let x = Some(Hash::keccak(b"x"));
        let y = Some(Hash::keccak(b"y"));
        let vote = |block| Vote {
            kind: VoteKind::Prevote,
            height: 1,
            round: 2,
            block,
        };
        let mut book = VoteBook::default();
        assert_eq!(book.add(vote(x).sign(&keys[0], 1)), Added::New);
        assert_eq!(book.add(vote(x).sign(&keys[1], 1)), Added::New);
        assert_eq!(book.add(vote(None).sign(&keys[2], 1)), Added::New);
        assert_eq!(book.add(vote(x).sign(&keys[0], 1)), Added::Duplicate);
        let Added::Conflict(Some(evidence)) = book.add(vote(y).sign(&keys[0], 1)) else {
            panic!("expected evidence");
        };
        assert_eq!(evidence.offender(), keys[0].address());
        assert!(evidence.is_valid(1));
        assert_eq!(
            book.add(vote(None).sign(&keys[0], 1)),
            Added::Conflict(None)
        );
        let round = book.round(2).unwrap();
        // Key 0 equivocated: it counts once for each value it signed, once among voters.
        assert_eq!(round.count(VoteKind::Prevote, x), 2);
        assert_eq!(round.count(VoteKind::Prevote, y), 1);
        assert_eq!(round.count(VoteKind::Prevote, None), 2);
        assert_eq!(round.total(VoteKind::Prevote), 3);
        assert_eq!(round.total(VoteKind::Precommit), 0);
        assert_eq!(
            round.blocks_with(VoteKind::Prevote, 2),
            vec![Hash::keccak(b"x")]
        );
        assert_eq!(round.senders(), 3);
    }
}
