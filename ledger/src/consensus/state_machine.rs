//! The consensus state machine: its state, its inputs and how inputs are admitted.
//! The upon-rules of Algorithm 1 themselves are in `rules.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tracing::{debug, info, warn};

use super::error::ConsensusError;
use super::messages::{ConsensusMessage, Decision, Evidence, SignedProposal};
use super::validate;
use super::votes::{Added, VoteBook};
use super::wal::{Lock, PersistedState, SafetyStore, Step, ValidBlock};
use super::{ChainTip, Clock, ConsensusConfig, ConsensusHost, Output, Timeout, TimeoutKind};
use crate::crypto::SecretKey;
use crate::primitives::{Address, BlockNumber, Hash, Round};
use crate::vote::SignedVote;

/// Rules of Algorithm 1 that run only "for the first time" in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Once {
    /// Line 34.
    PrevoteTimeout,
    /// Line 36.
    Polka,
    /// Line 47.
    PrecommitTimeout,
}

/// Where a message's height puts it.
enum Place {
    /// Already decided here.
    Past,
    /// The height being decided now.
    Current,
    /// The next height: buffered until we get there.
    Next,
}

/// One authority's Tendermint state machine (see the [module docs](super)).
#[derive(Debug)]
pub struct Consensus<S, C> {
    pub(super) config: ConsensusConfig,
    pub(super) key: SecretKey,
    pub(super) store: S,
    pub(super) clock: C,
    /// The last committed block.
    pub(super) tip: ChainTip,
    /// The last decision made or learned here, sent to peers still working on it.
    pub(super) last_decision: Option<Decision>,
    /// Whether a height is being decided; false at boot and between a decision and
    /// [`Consensus::start_height`].
    pub(super) running: bool,
    /// `h_p`: `tip.height + 1` while running.
    pub(super) height: BlockNumber,
    /// `round_p`.
    pub(super) round: Round,
    /// `step_p`.
    pub(super) step: Step,
    /// `lockedValue_p`, `lockedRound_p`.
    pub(super) locked: Option<Lock>,
    /// `validValue_p`, `validRound_p`.
    pub(super) valid: Option<ValidBlock>,
    /// What is persisted: everything signed, for the no-conflict check.
    pub(super) signed: PersistedState,
    /// The first valid proposal of each round of this height.
    pub(super) proposals: BTreeMap<Round, SignedProposal>,
    /// A decision for this height learned from a peer.
    pub(super) catch_up: Option<Decision>,
    /// `valid(v)` per block hash, asked once.
    pub(super) validity: HashMap<Hash, bool>,
    /// Votes of this height.
    pub(super) votes: VoteBook,
    /// Rounds in which a proposer was caught proposing twice.
    pub(super) caught_proposers: BTreeSet<Round>,
    /// "For the first time" rules that already ran.
    pub(super) fired: BTreeSet<(Round, Once)>,
    /// Messages for the next height, with their verified senders.
    pub(super) future: Vec<(Address, ConsensusMessage)>,
    /// Peers already sent `last_decision`.
    pub(super) helped: BTreeSet<Address>,
    /// Evidence kept.
    pub(super) evidence: Vec<Evidence>,
    /// Outputs not yet returned.
    pub(super) outputs: Vec<Output>,
}

impl<S: SafetyStore, C: Clock> Consensus<S, C> {
    /// A machine for the authority `key` on top of `tip`, resuming what `store` remembers.
    /// Call [`Consensus::start_height`] to begin.
    pub fn new(
        config: ConsensusConfig,
        key: SecretKey,
        tip: ChainTip,
        store: S,
        clock: C,
    ) -> Result<Self, ConsensusError> {
        if !config.authorities.contains(&key.address()) {
            return Err(ConsensusError::NotAuthority(key.address()));
        }
        let next = tip.height + 1;
        let signed = match store
            .load()
            .map_err(|e| ConsensusError::Store(Box::new(e)))?
        {
            Some(state) if state.height > next => {
                return Err(ConsensusError::StoreAhead {
                    stored: state.height,
                    tip: tip.height,
                });
            }
            Some(state) => state,
            None => PersistedState::new(next),
        };
        Ok(Consensus {
            config,
            key,
            store,
            clock,
            height: tip.height,
            tip,
            last_decision: None,
            running: false,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            signed,
            proposals: BTreeMap::new(),
            catch_up: None,
            validity: HashMap::new(),
            votes: VoteBook::default(),
            caught_proposers: BTreeSet::new(),
            fired: BTreeSet::new(),
            future: Vec::new(),
            helped: BTreeSet::new(),
            evidence: Vec::new(),
            outputs: Vec::new(),
        })
    }

    /// Begins deciding the height after the last committed block: at boot, and after the
    /// driver committed an [`Output::Decided`] block. Resumes the persisted round, step and lock
    /// if they are for this height. Does nothing while a height is being decided.
    pub fn start_height<H: ConsensusHost>(
        &mut self,
        host: &mut H,
    ) -> Result<Vec<Output>, ConsensusError> {
        if self.running {
            return Ok(self.take_outputs());
        }
        self.running = true;
        self.height = self.tip.height + 1;
        self.proposals.clear();
        self.catch_up = None;
        self.validity.clear();
        self.votes = VoteBook::default();
        self.caught_proposers.clear();
        self.fired.clear();
        if self.signed.height == self.height {
            self.round = self.signed.round;
            self.step = self.signed.step;
            self.locked = self.signed.locked;
            self.valid = self.signed.valid.clone();
            info!(target: "ledger::consensus", height = self.height, round = self.round,
                step = ?self.step, locked = ?self.locked, "resuming height from the safety store");
        } else {
            self.round = 0;
            self.step = Step::Propose;
            self.locked = None;
            self.valid = None;
            debug!(target: "ledger::consensus", height = self.height, "starting height");
        }
        if self.step == Step::Propose {
            self.start_round(self.round, host)?;
        } else {
            // Voted already in this round before a restart: count our votes again, say them
            // again, and let the rules (and the timeouts they schedule) take it from there.
            let height = self.height;
            for vote in [self.signed.prevote, self.signed.precommit]
                .into_iter()
                .flatten()
                .filter(|v| v.vote.height == height)
            {
                self.count(vote);
            }
            let resend = self.rebroadcast();
            self.outputs.extend(resend);
        }
        for (sender, message) in std::mem::take(&mut self.future) {
            let height = message_height(&message);
            if height != self.height {
                continue;
            }
            if let Err(error) = self.admit(message) {
                debug!(target: "ledger::consensus", %sender, height, %error,
                    "dropped buffered message");
            }
        }
        self.run_rules(host)?;
        Ok(self.take_outputs())
    }

    /// Feeds a message from a peer. `Err`: rejected (nothing changed) or an action failed.
    pub fn handle_message<H: ConsensusHost>(
        &mut self,
        message: ConsensusMessage,
        host: &mut H,
    ) -> Result<Vec<Output>, ConsensusError> {
        self.admit(message)?;
        self.run_rules(host)?;
        Ok(self.take_outputs())
    }

    /// Feeds a timeout the machine scheduled, at (or after) its deadline. Stale timeouts (another
    /// height, round or step) are ignored; one delivered early is scheduled again.
    pub fn handle_timeout<H: ConsensusHost>(
        &mut self,
        timeout: Timeout,
        host: &mut H,
    ) -> Result<Vec<Output>, ConsensusError> {
        if !self.running || timeout.height != self.height || timeout.round != self.round {
            return Ok(self.take_outputs());
        }
        if self.clock.now_ms() < timeout.deadline_ms {
            self.outputs.push(Output::ScheduleTimeout(timeout));
            return Ok(self.take_outputs());
        }
        debug!(target: "ledger::consensus", height = self.height, round = self.round,
            kind = ?timeout.kind, step = ?self.step, "timeout");
        match timeout.kind {
            TimeoutKind::ProposeDelay => {
                if self.step == Step::Propose && !self.proposals.contains_key(&self.round) {
                    self.propose(host)?;
                }
            }
            // Line 57.
            TimeoutKind::Propose => {
                if self.step == Step::Propose {
                    self.cast_prevote(None)?;
                }
            }
            // Line 61.
            TimeoutKind::Prevote => {
                if self.step == Step::Prevote {
                    self.cast_precommit(None, self.locked)?;
                }
            }
            // Line 65.
            TimeoutKind::Precommit => self.start_round(self.round.saturating_add(1), host)?,
        }
        self.run_rules(host)?;
        Ok(self.take_outputs())
    }

    /// Outputs produced but not yet returned (after a call failed midway).
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// Our signed proposal and votes of the current height and round, to send again (after a
    /// restart, or periodically if the network may lose messages).
    pub fn rebroadcast(&self) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(p) = self.proposals.get(&self.round)
            && p.proposer == self.key.address()
        {
            out.push(Output::Broadcast(ConsensusMessage::Proposal(Box::new(
                p.clone(),
            ))));
        }
        for vote in [self.signed.prevote, self.signed.precommit]
            .into_iter()
            .flatten()
            .filter(|v| v.vote.height == self.height && v.vote.round == self.round)
        {
            out.push(Output::Broadcast(ConsensusMessage::Vote(vote)));
        }
        out
    }

    /// The height being decided (the last decided one between a decision and `start_height`).
    pub fn height(&self) -> BlockNumber {
        self.height
    }
    /// The current round.
    pub fn round(&self) -> Round {
        self.round
    }
    /// The current step.
    pub fn step(&self) -> Step {
        self.step
    }
    /// The current lock.
    pub fn locked(&self) -> Option<Lock> {
        self.locked
    }
    /// The last committed block.
    pub fn tip(&self) -> &ChainTip {
        &self.tip
    }
    /// Evidence of equivocation seen so far (bounded by `max_evidence`).
    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }
    /// This authority's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }
    /// The safety store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn place(&self, height: BlockNumber) -> Result<Place, ConsensusError> {
        let working = self.tip.height + 1;
        if height < working {
            Ok(Place::Past)
        } else if self.running && height == working {
            Ok(Place::Current)
        } else if height == working + u64::from(self.running) {
            Ok(Place::Next)
        } else {
            Err(ConsensusError::FutureHeight {
                height,
                current: self.height,
            })
        }
    }

    /// Checks a message and records it; the rules run afterwards.
    fn admit(&mut self, message: ConsensusMessage) -> Result<(), ConsensusError> {
        match message {
            ConsensusMessage::Vote(vote) => self.admit_vote(vote),
            ConsensusMessage::Proposal(proposal) => self.admit_proposal(*proposal),
            ConsensusMessage::Decision(decision) => self.admit_decision(*decision),
        }
    }

    fn past(&self, height: BlockNumber) -> ConsensusError {
        ConsensusError::PastHeight {
            height,
            current: self.height,
        }
    }

    fn check_round(&self, round: Round) -> Result<(), ConsensusError> {
        let max_ahead = self.config.max_rounds_ahead;
        if round > self.round.saturating_add(max_ahead) {
            return Err(ConsensusError::RoundTooFar {
                round,
                current: self.round,
                max_ahead,
            });
        }
        Ok(())
    }

    fn admit_vote(&mut self, vote: SignedVote) -> Result<(), ConsensusError> {
        let (height, round) = (vote.vote.height, vote.vote.round);
        match self.place(height)? {
            Place::Past => {
                if self.lagging(vote.voter, height, round)
                    && validate::vote(&vote, &self.config).is_ok()
                {
                    self.help(vote.voter);
                    return Ok(());
                }
                Err(self.past(height))
            }
            Place::Next => {
                validate::vote(&vote, &self.config)?;
                self.buffer(vote.voter, ConsensusMessage::Vote(vote))
            }
            Place::Current => {
                if self.votes.contains(&vote) {
                    return Ok(());
                }
                validate::vote(&vote, &self.config)?;
                self.check_round(round)?;
                self.count(vote);
                Ok(())
            }
        }
    }

    /// Counts a verified vote of this height, keeping evidence of equivocation.
    pub(super) fn count(&mut self, vote: SignedVote) {
        if let Added::Conflict(Some(evidence)) = self.votes.add(vote) {
            self.keep_evidence(*evidence);
        }
    }

    fn admit_proposal(&mut self, signed: SignedProposal) -> Result<(), ConsensusError> {
        let (height, round) = (signed.proposal.height, signed.proposal.round);
        match self.place(height)? {
            Place::Past => {
                if self.lagging(signed.proposer, height, round)
                    && validate::proposal_signature(&signed, &self.config).is_ok()
                {
                    self.help(signed.proposer);
                    return Ok(());
                }
                Err(self.past(height))
            }
            Place::Next => {
                validate::proposal_signature(&signed, &self.config)?;
                self.buffer(
                    signed.proposer,
                    ConsensusMessage::Proposal(Box::new(signed)),
                )
            }
            Place::Current => {
                let first = self.proposals.get(&round).map(SignedProposal::summary);
                if first == Some(signed.summary()) {
                    return Ok(());
                }
                validate::proposal_signature(&signed, &self.config)?;
                self.check_round(round)?;
                if let Some(first) = first {
                    if self.caught_proposers.insert(round) {
                        self.keep_evidence(Evidence::ConflictingProposals {
                            first,
                            second: signed.summary(),
                        });
                    }
                    return Ok(());
                }
                let block = &signed.proposal.block;
                validate::block_round(block, round, signed.proposal.valid_round)?;
                validate::block(block, height, &self.tip, &self.config)?;
                debug!(target: "ledger::consensus", height, round, block = %block.hash(),
                    valid_round = ?signed.proposal.valid_round, "proposal received");
                self.votes.note_sender(round, signed.proposer);
                self.proposals.insert(round, signed);
                Ok(())
            }
        }
    }

    fn admit_decision(&mut self, decision: Decision) -> Result<(), ConsensusError> {
        let height = decision.commit.height;
        match self.place(height)? {
            Place::Past => Err(self.past(height)),
            Place::Next => Err(ConsensusError::FutureHeight {
                height,
                current: self.height,
            }),
            Place::Current => {
                validate::decision(&decision, height, &self.tip, &self.config)?;
                info!(target: "ledger::consensus", height, round = decision.commit.round,
                    block = %decision.commit.block_hash, "catch-up decision received");
                // The commit proves the decision by itself; its precommits are not merged into
                // the vote book, where a Byzantine voter's earlier conflicting vote would hide them.
                self.catch_up = Some(decision);
                Ok(())
            }
        }
    }

    fn buffer(&mut self, sender: Address, message: ConsensusMessage) -> Result<(), ConsensusError> {
        let limit = self.config.max_buffered_per_sender;
        if self.future.iter().filter(|(s, _)| *s == sender).count() >= limit {
            return Err(ConsensusError::BufferFull {
                sender,
                height: message_height(&message),
                limit,
            });
        }
        if !self.future.iter().any(|(_, m)| *m == message) {
            self.future.push((sender, message));
        }
        Ok(())
    }

    /// Whether `peer`, sending for the height we last decided in a round after the deciding
    /// one, evidently missed the decision and was not sent it yet.
    fn lagging(&self, peer: Address, height: BlockNumber, round: Round) -> bool {
        self.last_decision.as_ref().is_some_and(|d| {
            d.commit.height == height
                && round > d.commit.round
                && peer != self.key.address()
                && !self.helped.contains(&peer)
        })
    }

    fn help(&mut self, peer: Address) {
        if let Some(decision) = &self.last_decision {
            debug!(target: "ledger::consensus", %peer, height = decision.commit.height,
                "sending decision to a lagging peer");
            self.helped.insert(peer);
            self.outputs.push(Output::SendTo {
                to: peer,
                message: ConsensusMessage::Decision(Box::new(decision.clone())),
            });
        }
    }

    pub(super) fn keep_evidence(&mut self, evidence: Evidence) {
        warn!(target: "ledger::consensus", offender = %evidence.offender(), height = self.height,
            "equivocation detected");
        if self.evidence.len() < self.config.max_evidence {
            self.evidence.push(evidence.clone());
        }
        self.outputs.push(Output::Evidence(evidence));
    }
}

fn message_height(message: &ConsensusMessage) -> BlockNumber {
    match message {
        ConsensusMessage::Vote(v) => v.vote.height,
        ConsensusMessage::Proposal(p) => p.proposal.height,
        ConsensusMessage::Decision(d) => d.commit.height,
    }
}
