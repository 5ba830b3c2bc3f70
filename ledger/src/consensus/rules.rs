//! The upon-rules of Algorithm 1 (lines 11–56) and signing with persistence.
//! Line numbers refer to the paper; see the mapping table in the [module docs](super).

use tracing::{debug, info, warn};

use super::messages::{ConsensusMessage, Decision, Proposal, SignedProposal};
use super::state_machine::{Consensus, Once};
use super::wal::{Lock, PersistedState, SafetyStore, SignCheck, Step, ValidBlock};
use super::{ChainTip, Clock, ConsensusError, ConsensusHost, Output, Timeout, TimeoutKind};
use crate::block::Block;
use crate::primitives::{Hash, Round};
use crate::vote::{Commit, Vote, VoteKind};

const TARGET: &str = "ledger::consensus";

impl<S: SafetyStore, C: Clock> Consensus<S, C> {
    /// Applies every rule that holds, until none does or the height is decided.
    pub(super) fn run_rules<H: ConsensusHost>(
        &mut self,
        host: &mut H,
    ) -> Result<(), ConsensusError> {
        while self.running {
            if self.try_decide(host) {
                break;
            }
            if self.try_skip_round(host)? {
                continue;
            }
            let mut progressed = self.on_fresh_proposal(host)?;
            progressed |= self.on_reproposal(host)?;
            progressed |= self.on_polka(host)?;
            progressed |= self.on_nil_polka()?;
            progressed |= self.schedule_prevote_timeout();
            progressed |= self.schedule_precommit_timeout();
            if !progressed {
                break;
            }
        }
        Ok(())
    }

    /// `StartRound(round)`, lines 11–21, with the block-time wait (see the module docs).
    pub(super) fn start_round<H: ConsensusHost>(
        &mut self,
        round: Round,
        host: &mut H,
    ) -> Result<(), ConsensusError> {
        self.round = round;
        self.step = Step::Propose;
        let now = self.clock.now_ms();
        let due = self
            .tip
            .timestamp_ms
            .saturating_add(self.config.block_time_ms);
        let proposer = self.config.authorities.proposer(self.height, round);
        debug!(target: TARGET, height = self.height, round, %proposer, "starting round");
        if proposer == self.key.address() {
            if now < due {
                self.schedule(TimeoutKind::ProposeDelay, due);
                Ok(())
            } else {
                self.propose(host)
            }
        } else {
            let deadline = now
                .max(due)
                .saturating_add(self.config.propose.duration_ms(round));
            self.schedule(TimeoutKind::Propose, deadline);
            Ok(())
        }
    }

    /// Lines 14–19: propose `validValue`, or a new block from the host.
    pub(super) fn propose<H: ConsensusHost>(&mut self, host: &mut H) -> Result<(), ConsensusError> {
        let (block, valid_round) = match &self.valid {
            Some(valid) => (valid.block.clone(), Some(valid.round)),
            None => match self.build(host) {
                Ok(block) => (block, None),
                Err(reason) => {
                    warn!(target: TARGET, height = self.height, round = self.round, %reason,
                        "could not build a block; not proposing this round");
                    return Ok(());
                }
            },
        };
        let proposal = Proposal {
            height: self.height,
            round: self.round,
            block,
            valid_round,
        };
        let payload = proposal.payload();
        let signature = match self.signed.check_proposal(&payload) {
            SignCheck::Fresh => payload.sign(&self.key, self.config.chain_id),
            SignCheck::AlreadySigned(signed) => signed.signature,
            SignCheck::Conflict => {
                // We proposed another block in this round before a restart: stay silent.
                warn!(target: TARGET, height = self.height, round = self.round,
                    "already proposed another block in this round; not proposing again");
                return Ok(());
            }
        };
        let signed = SignedProposal {
            proposal,
            proposer: self.key.address(),
            signature,
        };
        let mut next = self.snapshot(self.step, self.locked);
        next.proposal = Some(signed.summary());
        self.persist(next)?;
        let hash = payload.block_hash;
        info!(target: TARGET, height = self.height, round = self.round, block = %hash,
            ?valid_round, txs = signed.proposal.block.txs.len(), "proposing");
        self.validity.insert(hash, true);
        self.votes.note_sender(self.round, self.key.address());
        self.proposals.insert(self.round, signed.clone());
        self.outputs
            .push(Output::Broadcast(ConsensusMessage::Proposal(Box::new(
                signed,
            ))));
        Ok(())
    }

    /// `getValue()`: asks the host for a block, checks the fields the machine relies on, seals it.
    fn build<H: ConsensusHost>(&mut self, host: &mut H) -> Result<Block, String> {
        let timestamp_ms = self
            .clock
            .now_ms()
            .max(self.tip.timestamp_ms.saturating_add(1));
        let last_commit = self.tip.commit.clone();
        let mut block =
            host.build_block(self.height, self.round, timestamp_ms, last_commit.clone())?;
        let h = &block.header;
        let me = self.key.address();
        if h.number != self.height
            || h.round != self.round
            || h.proposer != me
            || h.parent_hash != self.tip.hash
            || h.last_commit != last_commit
        {
            return Err(format!(
                "host built block at height {} round {} by {} on parent {}, expected height {} round {} by {} on parent {} with the last commit",
                h.number,
                h.round,
                h.proposer,
                h.parent_hash,
                self.height,
                self.round,
                me,
                self.tip.hash
            ));
        }
        block.seal = block.header.seal(&self.key, self.config.chain_id);
        Ok(block)
    }

    /// Lines 22–27: a fresh proposal (`vr = −1`) while in step propose.
    fn on_fresh_proposal<H: ConsensusHost>(
        &mut self,
        host: &mut H,
    ) -> Result<bool, ConsensusError> {
        if self.step != Step::Propose {
            return Ok(false);
        }
        let Some(block) = self
            .proposals
            .get(&self.round)
            .filter(|p| p.proposal.valid_round.is_none())
            .map(|p| p.proposal.block.clone())
        else {
            return Ok(false);
        };
        let hash = block.hash();
        let acceptable = self.locked.is_none_or(|l| l.block_hash == hash);
        let vote = (acceptable && self.is_valid(&block, host)).then_some(hash);
        self.cast_prevote(vote)?;
        Ok(true)
    }

    /// Lines 28–33: a re-proposal from round `vr < round` with a quorum of prevotes at `vr`.
    fn on_reproposal<H: ConsensusHost>(&mut self, host: &mut H) -> Result<bool, ConsensusError> {
        if self.step != Step::Propose {
            return Ok(false);
        }
        let Some((block, vr)) = self.proposals.get(&self.round).and_then(|p| {
            p.proposal
                .valid_round
                .map(|vr| (p.proposal.block.clone(), vr))
        }) else {
            return Ok(false);
        };
        let hash = block.hash();
        if self.prevotes(vr, Some(hash)) < self.config.authorities.quorum() {
            return Ok(false);
        }
        let acceptable = self
            .locked
            .is_none_or(|l| l.round <= vr || l.block_hash == hash);
        let vote = (acceptable && self.is_valid(&block, host)).then_some(hash);
        self.cast_prevote(vote)?;
        Ok(true)
    }

    /// Lines 36–43: the round's proposal has a quorum of prevotes (a polka): lock on it and
    /// precommit it if still in step prevote; remember it as the valid block either way.
    fn on_polka<H: ConsensusHost>(&mut self, host: &mut H) -> Result<bool, ConsensusError> {
        let round = self.round;
        if self.step < Step::Prevote || self.fired.contains(&(round, Once::Polka)) {
            return Ok(false);
        }
        let Some(block) = self.proposals.get(&round).map(|p| p.proposal.block.clone()) else {
            return Ok(false);
        };
        let hash = block.hash();
        if self.prevotes(round, Some(hash)) < self.config.authorities.quorum()
            || !self.is_valid(&block, host)
        {
            return Ok(false);
        }
        self.valid = Some(ValidBlock { round, block });
        if self.step == Step::Prevote {
            let lock = Lock {
                round,
                block_hash: hash,
            };
            self.cast_precommit(Some(hash), Some(lock))?;
        }
        self.fired.insert((round, Once::Polka));
        Ok(true)
    }

    /// Lines 44–46: a quorum of nil prevotes while in step prevote: precommit nil.
    fn on_nil_polka(&mut self) -> Result<bool, ConsensusError> {
        if self.step != Step::Prevote
            || self.prevotes(self.round, None) < self.config.authorities.quorum()
        {
            return Ok(false);
        }
        self.cast_precommit(None, self.locked)?;
        Ok(true)
    }

    /// Lines 34–35: a quorum of prevotes for anything while in step prevote.
    fn schedule_prevote_timeout(&mut self) -> bool {
        let round = self.round;
        let total = self
            .votes
            .round(round)
            .map_or(0, |r| r.total(VoteKind::Prevote));
        if self.step != Step::Prevote
            || total < self.config.authorities.quorum()
            || !self.fired.insert((round, Once::PrevoteTimeout))
        {
            return false;
        }
        let deadline = self.deadline(self.config.prevote.duration_ms(round));
        self.schedule(TimeoutKind::Prevote, deadline);
        true
    }

    /// Lines 47–48: a quorum of precommits for anything.
    fn schedule_precommit_timeout(&mut self) -> bool {
        let round = self.round;
        let total = self
            .votes
            .round(round)
            .map_or(0, |r| r.total(VoteKind::Precommit));
        if total < self.config.authorities.quorum()
            || !self.fired.insert((round, Once::PrecommitTimeout))
        {
            return false;
        }
        let deadline = self.deadline(self.config.precommit.duration_ms(round));
        self.schedule(TimeoutKind::Precommit, deadline);
        true
    }

    /// Lines 49–54: a quorum of precommits for a known, valid block in any round: decide it.
    fn try_decide<H: ConsensusHost>(&mut self, host: &mut H) -> bool {
        if let Some(decision) = self.catch_up.take() {
            if self.is_valid(&decision.block, host) {
                self.decide(decision);
                return true;
            }
            self.catch_up = Some(decision);
        }
        let quorum = self.config.authorities.quorum();
        let candidates: Vec<(Round, Hash)> = self
            .votes
            .rounds()
            .flat_map(|(r, votes)| {
                votes
                    .blocks_with(VoteKind::Precommit, quorum)
                    .into_iter()
                    .map(move |h| (r, h))
            })
            .collect();
        for (round, hash) in candidates {
            let Some(block) = self.known_block(hash) else {
                continue;
            };
            if self.is_valid(&block, host) {
                let precommits = self
                    .votes
                    .round(round)
                    .map(|r| r.votes_for(VoteKind::Precommit, Some(hash)))
                    .unwrap_or_default();
                let commit = Commit::from_votes(
                    self.height,
                    round,
                    hash,
                    &precommits,
                    &self.config.authorities,
                );
                self.decide(Decision { block, commit });
                return true;
            }
        }
        false
    }

    fn decide(&mut self, decision: Decision) {
        let hash = decision.block.hash();
        info!(target: TARGET, height = self.height, round = decision.commit.round, block = %hash,
            signatures = decision.commit.signatures.len(), "decided");
        self.tip = ChainTip {
            height: self.height,
            hash,
            timestamp_ms: decision.block.header.timestamp_ms,
            commit: Some(decision.commit.clone()),
        };
        self.last_decision = Some(decision.clone());
        self.helped.clear();
        self.running = false;
        self.outputs.push(Output::Decided(decision));
    }

    /// Lines 55–56: `f + 1` authorities sent messages of a higher round: go to it.
    fn try_skip_round<H: ConsensusHost>(&mut self, host: &mut H) -> Result<bool, ConsensusError> {
        let needed = self.config.authorities.honest_threshold();
        let current = self.round;
        let target = self
            .votes
            .rounds()
            .filter(|(r, votes)| *r > current && votes.senders() >= needed)
            .map(|(r, _)| r)
            .max();
        match target {
            Some(round) => {
                debug!(target: TARGET, height = self.height, from = current, to = round,
                    "skipping to a higher round");
                self.start_round(round, host)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Signs, persists and broadcasts a prevote; moves to step prevote.
    pub(super) fn cast_prevote(&mut self, block: Option<Hash>) -> Result<(), ConsensusError> {
        self.cast(VoteKind::Prevote, block, Step::Prevote, self.locked)
    }

    /// Signs, persists (with `lock`) and broadcasts a precommit; moves to step precommit.
    pub(super) fn cast_precommit(
        &mut self,
        block: Option<Hash>,
        lock: Option<Lock>,
    ) -> Result<(), ConsensusError> {
        self.cast(VoteKind::Precommit, block, Step::Precommit, lock)
    }

    fn cast(
        &mut self,
        kind: VoteKind,
        block: Option<Hash>,
        step: Step,
        lock: Option<Lock>,
    ) -> Result<(), ConsensusError> {
        let vote = Vote {
            kind,
            height: self.height,
            round: self.round,
            block,
        };
        let signed = match self.signed.check_vote(&vote) {
            SignCheck::Fresh => vote.sign(&self.key, self.config.chain_id),
            SignCheck::AlreadySigned(signed) => signed,
            SignCheck::Conflict => {
                // Move on without signing: silence is always safe, a second vote is not.
                self.step = step;
                return Err(ConsensusError::WouldEquivocate {
                    what: match kind {
                        VoteKind::Prevote => "prevote",
                        VoteKind::Precommit => "precommit",
                    },
                    height: self.height,
                    round: self.round,
                });
            }
        };
        let mut next = self.snapshot(step, lock);
        match kind {
            VoteKind::Prevote => next.prevote = Some(signed),
            VoteKind::Precommit => next.precommit = Some(signed),
        }
        self.persist(next)?;
        debug!(target: TARGET, height = self.height, round = self.round, ?kind,
            block = ?block, "voting");
        self.step = step;
        self.locked = lock;
        self.count(signed);
        self.outputs
            .push(Output::Broadcast(ConsensusMessage::Vote(signed)));
        Ok(())
    }

    /// The persisted state as it will be after moving to `step` with `lock`.
    fn snapshot(&self, step: Step, lock: Option<Lock>) -> PersistedState {
        PersistedState {
            height: self.height,
            round: self.round,
            step,
            locked: lock,
            valid: self.valid.clone(),
            ..self.signed.clone()
        }
    }

    /// Saves `next`; only on success does it become what we remember having signed.
    fn persist(&mut self, next: PersistedState) -> Result<(), ConsensusError> {
        self.store
            .save(&next)
            .map_err(|e| ConsensusError::Store(Box::new(e)))?;
        self.signed = next;
        Ok(())
    }

    fn prevotes(&self, round: Round, block: Option<Hash>) -> usize {
        self.votes
            .round(round)
            .map_or(0, |r| r.count(VoteKind::Prevote, block))
    }

    /// `valid(v)`, asked of the host once per block.
    fn is_valid<H: ConsensusHost>(&mut self, block: &Block, host: &mut H) -> bool {
        let hash = block.hash();
        if let Some(valid) = self.validity.get(&hash) {
            return *valid;
        }
        let verdict = match host.validate_block(block) {
            Ok(()) => true,
            Err(reason) => {
                warn!(target: TARGET, height = self.height, block = %hash, %reason,
                    "invalid block proposed");
                false
            }
        };
        self.validity.insert(hash, verdict);
        verdict
    }

    /// A block of this height with hash `hash`, from any proposal or a catch-up decision.
    fn known_block(&self, hash: Hash) -> Option<Block> {
        self.proposals
            .values()
            .map(|p| &p.proposal.block)
            .chain(self.catch_up.as_ref().map(|d| &d.block))
            .find(|b| b.hash() == hash)
            .cloned()
    }

    fn deadline(&self, duration_ms: u64) -> u64 {
        self.clock.now_ms().saturating_add(duration_ms)
    }

    fn schedule(&mut self, kind: TimeoutKind, deadline_ms: u64) {
        self.outputs.push(Output::ScheduleTimeout(Timeout {
            deadline_ms,
            height: self.height,
            round: self.round,
            kind,
        }));
    }
}
