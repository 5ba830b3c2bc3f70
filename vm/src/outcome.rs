//! What running a job produces: [`Outcome`] and its [`Status`].
//!
//! Everything in an [`Outcome`] is consensus data: every honest provider and every authority
//! re-executing the job must produce the same value, bit for bit. Failures of the *provider*
//! (it gave up after its wall-clock limit, or its machine failed) are never an `Outcome`; they are
//! [`ExecError`](crate::ExecError)s.

use crate::Hash32;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The result of running a job to completion or to a deterministic failure.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// How the job ended.
    pub status: Status,
    /// The bytes the job wrote with `joule.output_write`; empty unless `status` is [`Status::Ok`].
    pub output: Vec<u8>,
    /// Fuel consumed, at most the fuel limit. Only [`Status::Ok`], [`Status::Aborted`] and
    /// [`Status::OutputTooLarge`] report the exact fuel consumed; every other status is charged
    /// the whole limit (wasmtime cannot observe the fuel burned since the last call when wasm
    /// traps, and charging everything makes "work, then trap" worthless to an attacker).
    pub fuel_used: u64,
    /// Keccak-256 of `output`.
    pub output_hash: Hash32,
}

impl Outcome {
    /// An outcome with the given status, output and fuel, hashing the output.
    pub fn new(status: Status, output: Vec<u8>, fuel_used: u64) -> Self {
        let output_hash = Hash32::keccak(&output);
        Self {
            status,
            output,
            fuel_used,
            output_hash,
        }
    }

    /// Whether the job finished normally.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("status", &self.status)
            .field("output_len", &self.output.len())
            .field("fuel_used", &self.fuel_used)
            .field("output_hash", &self.output_hash)
            .finish()
    }
}

/// How a job ended. Every variant is deterministic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// `run` returned normally.
    Ok,
    /// The job trapped.
    ///
    /// [`TrapKind::StackOverflow`] comes from the deterministic stack meter ([`crate::stack`]),
    /// so it happens at the same depth on every machine, except for the residual case described
    /// there; like every trap it is charged the whole fuel limit (see `vm/README.md`,
    /// "Determinism").
    Trap(TrapKind),
    /// The fuel limit was reached (in wasm code or when a host call was charged).
    OutOfFuel,
    /// Linear memory would have grown past [`Limits::max_memory_bytes`](crate::Limits), either
    /// at instantiation or through `memory.grow`.
    MemoryLimit,
    /// A table would have grown past [`Limits::max_table_elements`](crate::Limits).
    TableLimit,
    /// The job wrote more than [`Limits::max_output_bytes`](crate::Limits) in total.
    OutputTooLarge,
    /// The job called `joule.abort` with this message (at most 256 bytes of it, decoded as UTF-8
    /// with invalid sequences replaced).
    Aborted(String),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            Status::Trap(kind) => write!(f, "trap: {kind}"),
            Status::OutOfFuel => f.write_str("out of fuel"),
            Status::MemoryLimit => f.write_str("memory limit"),
            Status::TableLimit => f.write_str("table limit"),
            Status::OutputTooLarge => f.write_str("output too large"),
            Status::Aborted(msg) => write!(f, "aborted: {msg}"),
        }
    }
}

/// Why a job trapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrapKind {
    /// The wasm call stack went past the engine's fixed maximum.
    StackOverflow,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// An access outside a table.
    TableOutOfBounds,
    /// `call_indirect` to a null table entry.
    IndirectCallToNull,
    /// `call_indirect` with the wrong signature.
    BadSignature,
    /// Signed integer overflow (`i32.div_s` of `MIN / -1`).
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A trapping float-to-int conversion of NaN or an out-of-range value.
    BadConversionToInteger,
    /// An `unreachable` instruction (also how Rust code without a panic handler aborts).
    Unreachable,
    /// A `joule.*` host call was given a pointer/length outside linear memory or an input range
    /// outside the input.
    HostOutOfBounds,
    /// The module lacks the `run` export or it has the wrong type (refused by validation, so only
    /// reachable when validation was skipped).
    BadEntryPoint,
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            TrapKind::StackOverflow => "stack overflow",
            TrapKind::MemoryOutOfBounds => "memory out of bounds",
            TrapKind::TableOutOfBounds => "table out of bounds",
            TrapKind::IndirectCallToNull => "indirect call to null",
            TrapKind::BadSignature => "indirect call signature mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivisionByZero => "integer division by zero",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::Unreachable => "unreachable",
            TrapKind::HostOutOfBounds => "host call out of bounds",
            TrapKind::BadEntryPoint => "bad entry point",
        };
        f.write_str(s)
    }
}
