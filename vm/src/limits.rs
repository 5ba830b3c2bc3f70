//! Per-job resource limits and the wasmtime resource limiter that enforces them.

use serde::{Deserialize, Serialize};

/// The limits one job runs under. All of them are consensus parameters: a requester's bid sets
/// `fuel`, the chain's market parameters set the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Fuel available to the job (one unit per wasm instruction, plus host-call charges).
    pub fuel: u64,
    /// Largest linear memory, in bytes (a multiple of 64 KiB is sensible).
    pub max_memory_bytes: usize,
    /// Largest number of elements in any table.
    pub max_table_elements: usize,
    /// Largest total output, in bytes.
    pub max_output_bytes: usize,
    /// Largest input, in bytes (a larger input is a caller error, not an outcome).
    pub max_input_bytes: usize,
}

impl Limits {
    /// Default limits with the given fuel.
    pub fn with_fuel(fuel: u64) -> Self {
        Self {
            fuel,
            ..Self::default()
        }
    }
}

impl Default for Limits {
    /// 10⁹ fuel, 256 MiB memory, 65 536 table elements, 4 MiB output, 4 MiB input.
    fn default() -> Self {
        Self {
            fuel: 1_000_000_000,
            max_memory_bytes: 256 << 20,
            max_table_elements: 65_536,
            max_output_bytes: 4 << 20,
            max_input_bytes: 4 << 20,
        }
    }
}

/// Which limit a job hit; carried inside the wasmtime error and mapped to a [`Status`].
///
/// [`Status`]: crate::Status
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitHit {
    /// Memory would grow to `desired` bytes, past `max`.
    #[error("linear memory of {desired} bytes exceeds the limit of {max}")]
    Memory { desired: usize, max: usize },
    /// A table would grow to `desired` elements, past `max`.
    #[error("table of {desired} elements exceeds the limit of {max}")]
    Table { desired: usize, max: usize },
}

/// The `wasmtime::ResourceLimiter` of a job's store.
///
/// Growing past a limit traps (rather than making `memory.grow` return -1), so that hitting the
/// limit is a visible, deterministic [`Status::MemoryLimit`](crate::Status) and not something a
/// guest allocator may or may not notice.
#[derive(Debug)]
pub(crate) struct JobLimiter {
    pub(crate) max_memory_bytes: usize,
    pub(crate) max_table_elements: usize,
}

impl wasmtime::ResourceLimiter for JobLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            return Err(wasmtime::Error::new(LimitHit::Memory {
                desired,
                max: self.max_memory_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            return Err(wasmtime::Error::new(LimitHit::Table {
                desired,
                max: self.max_table_elements,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}
