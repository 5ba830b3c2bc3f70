//! The due queue: which jobs to look at when a block ends.
//!
//! `Due(n)` lists the jobs whose deadline or next step falls at block `n`. Handlers are
//! idempotent (they act only when the job's state and the block number say so), so a stale
//! entry costs one read and nothing else.

use joule_ledger::state::StateOverlay;
use joule_ledger::store::StoreError;
use joule_ledger::{BlockNumber, Hash};

use crate::state::MarketState;

/// Looks at job `id` at the end of block `at`.
pub(crate) fn schedule(
    state: &mut StateOverlay,
    at: BlockNumber,
    id: Hash,
) -> Result<(), StoreError> {
    let mut jobs = state.due(at)?;
    if !jobs.contains(&id) {
        jobs.push(id);
        state.set_due(at, &jobs);
    }
    Ok(())
}

/// Takes the jobs due at `now`, at most `max`; the rest move to the front of `now + 1`.
pub(crate) fn take(
    state: &mut StateOverlay,
    now: BlockNumber,
    max: usize,
) -> Result<Vec<Hash>, StoreError> {
    let mut jobs = state.due(now)?;
    state.set_due(now, &[]);
    if jobs.len() > max {
        let mut carried = jobs.split_off(max);
        for id in state.due(now + 1)? {
            if !carried.contains(&id) {
                carried.push(id);
            }
        }
        state.set_due(now + 1, &carried);
    }
    Ok(jobs)
}
