//! The job calls: `Match`, `CommitResult`, `RevealResult`, `Challenge`.
//!
//! Each checks everything first and writes only when every check passed, so a refused call
//! leaves the state as it was (the executor also reverts to a checkpoint as a second guard).

use joule_ledger::block::Event;
use joule_ledger::executor::BlockContext;
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::{
    Address, Amount, BlockNumber, Hash, JobInput, JobResult, SignedBid, SignedOffer, StateKey,
};

use crate::bank::{self, Pool};
use crate::due;
use crate::error::CallError;
use crate::result::MAX_STATUS;
use crate::state::{Assignment, Cause, Job, MarketState, Phase};

fn bad_field(field: &'static str, value: impl Into<u128>, allowed: String) -> CallError {
    CallError::BadBidField {
        field,
        value: value.into(),
        allowed,
    }
}

/// A provider takes a bid with its offer.
pub(crate) fn match_bid(
    state: &mut StateOverlay,
    params: &MarketParams,
    ctx: &BlockContext,
    sender: Address,
    signed_bid: &SignedBid,
    signed_offer: &SignedOffer,
) -> Result<Vec<Event>, CallError> {
    let (bid, offer) = (&signed_bid.bid, &signed_offer.offer);
    let now = ctx.number;
    if sender != offer.provider {
        return Err(CallError::NotOfferProvider {
            provider: offer.provider,
            sender,
        });
    }
    signed_bid
        .verify(ctx.chain_id)
        .map_err(|source| CallError::BadOrder {
            which: "bid",
            source,
        })?;
    signed_offer
        .verify(ctx.chain_id)
        .map_err(|source| CallError::BadOrder {
            which: "offer",
            source,
        })?;
    if now > offer.expiry {
        return Err(CallError::Expired {
            which: "offer",
            expiry: offer.expiry,
            now,
        });
    }
    if now > bid.deadline {
        return Err(CallError::Expired {
            which: "bid",
            expiry: bid.deadline,
            now,
        });
    }
    if bid.max_price_per_fuel < offer.price_per_fuel {
        return Err(CallError::PriceTooLow {
            bid: bid.max_price_per_fuel,
            offer: offer.price_per_fuel,
        });
    }
    if bid.replicas == 0 || bid.replicas > params.max_replicas {
        return Err(bad_field(
            "replicas",
            bid.replicas,
            format!("1..={}", params.max_replicas),
        ));
    }
    let max_fuel = offer.max_fuel.min(params.max_job_fuel);
    if bid.fuel_limit == 0 || bid.fuel_limit > max_fuel {
        return Err(bad_field(
            "fuel_limit",
            bid.fuel_limit,
            format!("1..={max_fuel}"),
        ));
    }
    if !state.has_module(&bid.module)? {
        return Err(CallError::UnknownModule(bid.module));
    }
    let inline_input = match &bid.input {
        JobInput::Inline(bytes) if bytes.len() > params.max_input_bytes as usize => {
            return Err(CallError::InputTooLarge {
                len: bytes.len(),
                max: params.max_input_bytes as usize,
            });
        }
        JobInput::Inline(bytes) => Some(bytes),
        JobInput::Stored(hash) => {
            if state.input(hash)?.is_none() {
                return Err(CallError::UnknownInput(*hash));
            }
            None
        }
    };
    let mut provider = state
        .provider(&sender)?
        .ok_or(CallError::NotProvider(sender))?;
    let score = provider.reputation.score();
    if score < bid.min_reputation {
        return Err(CallError::ReputationTooLow {
            score,
            min: bid.min_reputation,
        });
    }
    if provider.active_jobs >= offer.capacity {
        return Err(CallError::AtCapacity {
            active: provider.active_jobs,
            capacity: offer.capacity,
        });
    }

    let id = bid.id();
    let existing = state.job(&id)?;
    if let Some(job) = &existing {
        if job.phase != Phase::Committing {
            return Err(CallError::MatchClosed {
                job: id,
                reason: "the job moved past matching",
            });
        }
        if job.assignments.len() >= usize::from(job.replicas) {
            return Err(CallError::MatchClosed {
                job: id,
                reason: "every replica is taken",
            });
        }
        if now > job.match_until(params.match_blocks) {
            return Err(CallError::MatchClosed {
                job: id,
                reason: "the match window closed",
            });
        }
        if job.assignments.iter().any(|a| a.provider == sender) {
            return Err(CallError::AlreadyMatched {
                job: id,
                provider: sender,
            });
        }
    }

    let escrow = Amount::from(bid.fuel_limit)
        .checked_mul(offer.price_per_fuel)
        .ok_or(CallError::Overflow)?;
    let collateral = params.collateral(escrow).ok_or(CallError::Overflow)?;
    if provider.free_stake() < collateral {
        return Err(CallError::CollateralUnavailable {
            free: provider.free_stake(),
            collateral,
        });
    }

    // Every check passed: write.
    bank::lock(state, bid.requester, escrow, Pool::Escrow)?;
    provider.locked += collateral;
    provider.active_jobs += 1;
    state.set_provider(&sender, &provider);
    let assignment = Assignment {
        provider: sender,
        price_per_fuel: offer.price_per_fuel,
        escrow,
        collateral,
        commitment: None,
        reveal: None,
        resolution: None,
    };
    let mut events = vec![Event::Matched {
        job: id,
        provider: sender,
        price_per_fuel: offer.price_per_fuel,
        collateral,
        escrow,
    }];
    let job = match existing {
        Some(mut job) => {
            job.assignments.push(assignment);
            job
        }
        None => {
            if let Some(bytes) = inline_input
                && state.input(&bid.input.hash())?.is_none()
            {
                state.set(&StateKey::Input(bid.input.hash()), bytes);
            }
            let job = Job {
                requester: bid.requester,
                module: bid.module,
                input: bid.input.hash(),
                fuel_limit: bid.fuel_limit,
                replicas: bid.replicas,
                bid_deadline: bid.deadline,
                matched_at: now,
                phase: Phase::Committing,
                deadline: now.saturating_add(params.commit_blocks),
                last_reveal: 0,
                assignments: vec![assignment],
                challenger: None,
                result: None,
                arbitrated: None,
                output: Vec::new(),
            };
            due::schedule(state, job.match_until(params.match_blocks), id)?;
            due::schedule(state, job.deadline, id)?;
            events.push(phase_event(id, Phase::Committing));
            job
        }
    };
    state.set_job(&id, &job);
    Ok(events)
}

/// The event announcing a job's new phase.
pub(crate) fn phase_event(job: Hash, phase: Phase) -> Event {
    Event::JobPhase {
        job,
        phase: phase.name().to_owned(),
    }
}

fn load_assigned(
    state: &StateOverlay,
    id: &Hash,
    sender: &Address,
    call: &'static str,
    phase: Phase,
    now: BlockNumber,
) -> Result<Job, CallError> {
    let job = state.job(id)?.ok_or(CallError::UnknownJob(*id))?;
    if !job.assignments.iter().any(|a| a.provider == *sender) {
        return Err(CallError::NotAssigned {
            job: *id,
            sender: *sender,
        });
    }
    if job.phase != phase {
        return Err(CallError::WrongPhase {
            job: *id,
            phase: job.phase,
            call,
        });
    }
    if now > job.deadline {
        return Err(CallError::Late {
            call,
            deadline: job.deadline,
            now,
        });
    }
    Ok(job)
}

/// A provider commits to its result.
pub(crate) fn commit(
    state: &mut StateOverlay,
    params: &MarketParams,
    now: BlockNumber,
    sender: Address,
    id: Hash,
    commitment: Hash,
) -> Result<Vec<Event>, CallError> {
    let mut job = load_assigned(state, &id, &sender, "commit", Phase::Committing, now)?;
    let assignment = job
        .assignment_mut(&sender)
        .expect("load_assigned checked the sender is assigned; qed");
    if assignment.commitment.is_some() {
        return Err(CallError::Duplicate {
            call: "commit",
            job: id,
        });
    }
    assignment.commitment = Some(commitment);
    let all_committed = job.assignments.iter().all(|a| a.commitment.is_some());
    let full = job.assignments.len() == usize::from(job.replicas);
    if all_committed && (full || now >= job.match_until(params.match_blocks)) {
        due::schedule(state, now, id)?;
    }
    state.set_job(&id, &job);
    Ok(vec![Event::ResultSubmitted {
        job: id,
        provider: sender,
        result: None,
    }])
}

/// A provider reveals the result it committed to.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reveal(
    state: &mut StateOverlay,
    params: &MarketParams,
    now: BlockNumber,
    sender: Address,
    id: Hash,
    result: JobResult,
    salt: Hash,
    output: &[u8],
) -> Result<Vec<Event>, CallError> {
    let mut job = load_assigned(state, &id, &sender, "reveal", Phase::Revealing, now)?;
    if result.status > MAX_STATUS {
        return Err(CallError::InvalidResult(format!(
            "unknown status {}",
            result.status
        )));
    }
    if result.fuel_used > job.fuel_limit {
        return Err(CallError::InvalidResult(format!(
            "fuel used {} is above the limit {}",
            result.fuel_used, job.fuel_limit
        )));
    }
    if !output.is_empty() {
        if output.len() > params.max_inline_output_bytes as usize {
            return Err(CallError::InvalidResult(format!(
                "inline output is {} bytes, the limit is {}",
                output.len(),
                params.max_inline_output_bytes
            )));
        }
        if Hash::keccak(output) != result.output_hash {
            return Err(CallError::InvalidResult(
                "output does not hash to the output hash".into(),
            ));
        }
    }
    let assignment = job
        .assignment_mut(&sender)
        .expect("load_assigned checked the sender is assigned; qed");
    if assignment.resolution.is_some() {
        return Err(CallError::WrongPhase {
            job: id,
            phase: Phase::Revealing,
            call: "reveal (this provider's part already ended)",
        });
    }
    let Some(commitment) = assignment.commitment else {
        return Err(CallError::NotAssigned { job: id, sender });
    };
    if assignment.reveal.is_some() {
        return Err(CallError::Duplicate {
            call: "reveal",
            job: id,
        });
    }
    if result.commitment(&sender, &salt) != commitment {
        return Err(CallError::CommitmentMismatch);
    }
    assignment.reveal = Some(result);
    if !output.is_empty() && job.output.is_empty() {
        job.output = output.to_vec();
    }
    let all_revealed = job
        .assignments
        .iter()
        .filter(|a| a.resolution.is_none())
        .all(|a| a.reveal.is_some());
    job.last_reveal = now;
    if all_revealed {
        // Not at the end of this block: its parent hash, which the audit draw reads, is known
        // to whoever sends a reveal into it.
        due::schedule(state, now + 1, id)?;
    }
    state.set_job(&id, &job);
    Ok(vec![Event::ResultSubmitted {
        job: id,
        provider: sender,
        result: Some(result),
    }])
}

/// Anyone but the job's providers disputes its agreed result, posting the bond.
pub(crate) fn challenge(
    state: &mut StateOverlay,
    params: &MarketParams,
    now: BlockNumber,
    sender: Address,
    id: Hash,
) -> Result<Vec<Event>, CallError> {
    let mut job = state.job(&id)?.ok_or(CallError::UnknownJob(id))?;
    if job.phase != Phase::Challengeable {
        return Err(CallError::WrongPhase {
            job: id,
            phase: job.phase,
            call: "challenge",
        });
    }
    if now > job.deadline {
        return Err(CallError::Late {
            call: "challenge",
            deadline: job.deadline,
            now,
        });
    }
    if job.assignments.iter().any(|a| a.provider == sender) {
        return Err(CallError::SelfChallenge(id));
    }
    bank::lock(state, sender, params.challenge_bond, Pool::Bonds)?;
    job.challenger = Some(sender);
    job.phase = Phase::Arbitrating(Cause::Challenge);
    due::schedule(state, now, id)?;
    state.set_job(&id, &job);
    Ok(vec![phase_event(id, job.phase)])
}
