//! Block-boundary processing: deadlines, reveal evaluation, audits, arbitration, settlement and
//! slashing. Deterministic (it reads only state, the block number and the parent hash) and
//! bounded per block (at most `max_due_per_block` jobs and `max_arbitration_fuel_per_block`
//! fuel of re-execution; the rest waits a block).

use joule_ledger::block::Event;
use joule_ledger::executor::BlockContext;
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::store::StoreError;
use joule_ledger::{Address, Amount, Hash, JobResult};
use joule_vm::Vm;

use crate::bank::{self, Pool};
use crate::due;
use crate::jobs::phase_event;
use crate::result::{job_limits, result_of};
use crate::state::{Cause, Job, MarketState, Phase, Resolution};

/// Whether the job is picked for a random audit: `Keccak("joule/v1/audit" ‖ parent hash ‖ job)`
/// read as a big-endian integer, modulo one million, below `audit_ppm`. The parent is a block
/// at or after the job's last reveal, so no provider knows the draw when it reveals.
pub fn audit_selected(parent_hash: &Hash, job: &Hash, audit_ppm: u32) -> bool {
    let h = Hash::keccak_concat(&[b"joule/v1/audit", parent_hash.as_bytes(), job.as_bytes()]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_be_bytes(first) % 1_000_000 < u64::from(audit_ppm)
}

/// What one block's end may still spend.
struct Budget {
    fuel: u64,
}

pub(crate) struct BlockEnd<'a> {
    pub params: &'a MarketParams,
    pub vm: &'a Vm,
    pub ctx: &'a BlockContext,
}

impl BlockEnd<'_> {
    /// Processes the jobs due at this block.
    pub(crate) fn run(&self, state: &mut StateOverlay) -> Result<Vec<Event>, StoreError> {
        let now = self.ctx.number;
        let mut budget = Budget {
            fuel: self.params.max_arbitration_fuel_per_block,
        };
        let mut events = Vec::new();
        for id in due::take(state, now, self.params.max_due_per_block as usize)? {
            let Some(mut job) = state.job(&id)? else {
                continue;
            };
            let before = job.phase;
            self.step(state, &id, &mut job, &mut budget, &mut events)?;
            if job.phase != before {
                events.push(phase_event(id, job.phase));
            }
            state.set_job(&id, &job);
        }
        Ok(events)
    }

    fn step(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        budget: &mut Budget,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        let now = self.ctx.number;
        match job.phase {
            Phase::Committing => {
                let all_committed = job.assignments.iter().all(|a| a.commitment.is_some());
                let full = job.assignments.len() == usize::from(job.replicas);
                let window_closed = now >= job.match_until(self.params.match_blocks);
                if all_committed && (full || window_closed) {
                    self.open_reveals(state, id, job)?;
                } else if now >= job.deadline {
                    for i in 0..job.assignments.len() {
                        if job.assignments[i].commitment.is_none() {
                            self.no_show(state, id, job, i, events)?;
                        }
                    }
                    if job.assignments.iter().all(|a| a.resolution.is_some()) {
                        job.phase = Phase::Expired;
                    } else {
                        self.open_reveals(state, id, job)?;
                    }
                }
            }
            Phase::Revealing => {
                let pending = |j: &Job| {
                    j.assignments
                        .iter()
                        .any(|a| a.resolution.is_none() && a.reveal.is_none())
                };
                // Wait for reveals until the deadline has passed, and in any case until a
                // block after the last reveal, so the audit draw below reads a parent hash no
                // revealer knew: otherwise a cheater could hold its reveal back until the
                // draw misses.
                if (pending(job) && now <= job.deadline) || now <= job.last_reveal {
                    return Ok(());
                }
                for i in 0..job.assignments.len() {
                    let a = &job.assignments[i];
                    if a.resolution.is_none() && a.reveal.is_none() {
                        self.no_show(state, id, job, i, events)?;
                    }
                }
                self.evaluate(state, id, job, budget, events)?;
            }
            Phase::Challengeable => {
                if now >= job.deadline {
                    let result = job
                        .result
                        .expect("a challengeable job has its agreed result; qed");
                    self.settle(state, id, job, result, None, events)?;
                }
            }
            Phase::Arbitrating(cause) => self.arbitrate(state, id, job, cause, budget, events)?,
            Phase::Settled | Phase::Expired => {}
        }
        Ok(())
    }

    fn open_reveals(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
    ) -> Result<(), StoreError> {
        job.phase = Phase::Revealing;
        job.deadline = self.ctx.number.saturating_add(self.params.reveal_blocks);
        due::schedule(state, job.deadline + 1, *id)
    }

    /// All reveals are in (or their deadline passed): agree, audit, or arbitrate.
    fn evaluate(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        budget: &mut Budget,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        let reveals: Vec<JobResult> = job
            .assignments
            .iter()
            .filter(|a| a.resolution.is_none())
            .filter_map(|a| a.reveal)
            .collect();
        let Some(first) = reveals.first().copied() else {
            job.phase = Phase::Expired;
            return Ok(());
        };
        let cause = if reveals.iter().any(|r| *r != first) {
            Cause::Disagreement
        } else if audit_selected(&self.ctx.parent_hash, id, self.params.audit_ppm) {
            Cause::Audit
        } else {
            job.phase = Phase::Challengeable;
            job.result = Some(first);
            if Hash::keccak(&job.output) != first.output_hash {
                job.output.clear();
            }
            job.deadline = self.ctx.number.saturating_add(self.params.challenge_blocks);
            return due::schedule(state, job.deadline, *id);
        };
        job.phase = Phase::Arbitrating(cause);
        self.arbitrate(state, id, job, cause, budget, events)
    }

    /// Re-executes the job if this block can afford it, then settles by the verdict.
    fn arbitrate(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        cause: Cause,
        budget: &mut Budget,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        if job.fuel_limit > budget.fuel {
            return due::schedule(state, self.ctx.number + 1, *id);
        }
        budget.fuel -= job.fuel_limit;
        let code = state.module(&job.module)?;
        let input = state.input(&job.input)?;
        let outcome = match (code, input) {
            (Some(code), Some(input)) => self
                .vm
                .execute(&code, &input, &job_limits(self.params, job.fuel_limit))
                .map_err(|e| e.to_string()),
            _ => Err("module or input missing from state".to_owned()),
        };
        match outcome {
            Ok(outcome) => {
                let verdict = result_of(&outcome);
                job.arbitrated = Some(cause);
                events.push(Event::Arbitrated {
                    job: *id,
                    cause: cause.name().to_owned(),
                    result: verdict,
                });
                if outcome.output.len() <= self.params.max_inline_output_bytes as usize {
                    job.output = outcome.output;
                } else if Hash::keccak(&job.output) != verdict.output_hash {
                    job.output.clear();
                }
                self.settle(state, id, job, verdict, Some(cause), events)
            }
            Err(error) => {
                // Deterministic for a validated module; should it happen, nobody is judged.
                tracing::warn!(target: "contracts::arbitration", job = %id, %error, "job could not be re-executed; releasing all parties");
                self.release_all(state, id, job, events)
            }
        }
    }

    /// Pays every provider whose reveal equals `result` and slashes every other.
    fn settle(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        result: JobResult,
        cause: Option<Cause>,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        let beneficiary = match (cause, job.challenger) {
            (Some(Cause::Challenge), Some(challenger)) => challenger,
            _ => job.requester,
        };
        let mut wrong = 0;
        for i in 0..job.assignments.len() {
            let a = &job.assignments[i];
            if a.resolution.is_some() {
                continue;
            }
            if a.reveal == Some(result) {
                self.pay(state, id, job, i, result.fuel_used, events)?;
            } else {
                wrong += 1;
                self.slash(state, id, job, i, beneficiary, Resolution::Wrong, events)?;
            }
        }
        if let Some(challenger) = job.challenger.take() {
            if wrong > 0 {
                bank::release(state, challenger, self.params.challenge_bond, Pool::Bonds)?;
                events.push(Event::Paid {
                    job: *id,
                    to: challenger,
                    amount: self.params.challenge_bond,
                    kind: "bond".into(),
                });
            } else {
                // A challenge that found nothing forfeits its bond.
                bank::burn_from(state, self.params.challenge_bond, Pool::Bonds)?;
            }
            job.challenger = Some(challenger);
        }
        job.result = Some(result);
        job.phase = Phase::Settled;
        Ok(())
    }

    fn pay(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        i: usize,
        fuel_used: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        let a = job.assignments[i].clone();
        let payment = Amount::from(fuel_used) * a.price_per_fuel;
        bank::release(state, a.provider, payment, Pool::Escrow)?;
        events.push(paid(id, a.provider, payment, "payment"));
        self.refund(state, id, job.requester, a.escrow - payment, events)?;
        let mut provider = state.provider(&a.provider)?.unwrap_or_default();
        provider.locked -= a.collateral;
        provider.active_jobs -= 1;
        provider.reputation.jobs_done += 1;
        state.set_provider(&a.provider, &provider);
        job.assignments[i].resolution = Some(Resolution::Paid(payment));
        Ok(())
    }

    fn no_show(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        i: usize,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        let requester = job.requester;
        self.slash(state, id, job, i, requester, Resolution::NoShow, events)
    }

    /// Takes a provider's collateral (reward share to `beneficiary`, rest burned) and refunds
    /// its replica's escrow to the requester.
    #[allow(clippy::too_many_arguments)]
    fn slash(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        i: usize,
        beneficiary: Address,
        why: Resolution,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        let a = job.assignments[i].clone();
        let mut provider = state.provider(&a.provider)?.unwrap_or_default();
        provider.locked -= a.collateral;
        provider.bonded -= a.collateral;
        provider.active_jobs -= 1;
        provider.reputation.slashed = provider.reputation.slashed.saturating_add(a.collateral);
        match why {
            Resolution::NoShow => provider.reputation.no_shows += 1,
            _ => provider.reputation.disputes_lost += 1,
        }
        state.set_provider(&a.provider, &provider);
        let reward = a.collateral * Amount::from(self.params.slash_reward_ppm) / 1_000_000;
        bank::release(state, beneficiary, reward, Pool::Stake)?;
        bank::burn_from(state, a.collateral - reward, Pool::Stake)?;
        events.push(Event::Slashed {
            job: *id,
            provider: a.provider,
            amount: a.collateral,
            beneficiary,
            reward,
            burned: a.collateral - reward,
        });
        self.refund(state, id, job.requester, a.escrow, events)?;
        job.assignments[i].resolution = Some(why);
        Ok(())
    }

    /// Nobody can be judged: escrow back, collateral unlocked, bond back.
    fn release_all(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        job: &mut Job,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        for i in 0..job.assignments.len() {
            let a = job.assignments[i].clone();
            if a.resolution.is_some() {
                continue;
            }
            self.refund(state, id, job.requester, a.escrow, events)?;
            let mut provider = state.provider(&a.provider)?.unwrap_or_default();
            provider.locked -= a.collateral;
            provider.active_jobs -= 1;
            state.set_provider(&a.provider, &provider);
            job.assignments[i].resolution = Some(Resolution::Released);
        }
        if let Some(challenger) = job.challenger {
            bank::release(state, challenger, self.params.challenge_bond, Pool::Bonds)?;
            events.push(paid(id, challenger, self.params.challenge_bond, "bond"));
        }
        job.phase = Phase::Expired;
        Ok(())
    }

    fn refund(
        &self,
        state: &mut StateOverlay,
        id: &Hash,
        requester: Address,
        amount: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        if amount > 0 {
            bank::release(state, requester, amount, Pool::Escrow)?;
            events.push(paid(id, requester, amount, "refund"));
        }
        Ok(())
    }
}

fn paid(job: &Hash, to: Address, amount: Amount, kind: &str) -> Event {
    Event::Paid {
        job: *job,
        to,
        amount,
        kind: kind.into(),
    }
}
