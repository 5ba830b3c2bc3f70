//! From a `joule-vm` [`Outcome`] to the [`JobResult`] providers commit to, reveal, and the chain
//! recomputes in arbitration; and the [`Limits`] every run of a job uses.

use joule_ledger::genesis::MarketParams;
use joule_ledger::{Hash, JobResult};
use joule_vm::{Limits, Outcome, Status};

/// Highest status code.
pub const MAX_STATUS: u8 = 5;

/// The status code of a VM status (see [`JobResult::status`]).
pub fn status_code(status: &Status) -> u8 {
    match status {
        Status::Ok => 0,
        Status::Trap(_) => 1,
        Status::OutOfFuel => 2,
        Status::MemoryLimit | Status::TableLimit => 3,
        Status::OutputTooLarge => 4,
        Status::Aborted(_) => 5,
    }
}

/// The name of a status code (see [`JobResult::status`]), as `joule bid` prints it.
pub fn status_name(code: u8) -> &'static str {
    match code {
        0 => "ok",
        1 => "trap",
        2 => "out_of_fuel",
        3 => "memory_or_table_limit",
        4 => "output_too_large",
        5 => "aborted",
        _ => "unknown",
    }
}

/// The result of a run, as committed and revealed.
pub fn result_of(outcome: &Outcome) -> JobResult {
    JobResult {
        status: status_code(&outcome.status),
        output_hash: Hash(outcome.output_hash.0),
        fuel_used: outcome.fuel_used,
    }
}

/// The limits of every run of a job with `fuel_limit`: providers and arbitration must use the
/// same, or honest results would differ.
pub fn job_limits(params: &MarketParams, fuel_limit: u64) -> Limits {
    Limits {
        fuel: fuel_limit,
        max_input_bytes: params.max_input_bytes as usize,
        ..Limits::default()
    }
}
