//! The job ABI: the four `joule.*` host functions and the per-job host state.
//!
//! A job module imports only these (all are optional to import) and exports `memory` and `run`:
//!
//! | import | wasm type | effect |
//! |---|---|---|
//! | `joule.input_len` | `() -> i32` | length of the input in bytes |
//! | `joule.input_read` | `(ptr: i32, offset: i32, len: i32) -> ()` | copy `input[offset..offset+len]` to `memory[ptr..ptr+len]` |
//! | `joule.output_write` | `(ptr: i32, len: i32) -> ()` | append `memory[ptr..ptr+len]` to the output |
//! | `joule.abort` | `(ptr: i32, len: i32) -> ()` | end the job with status "aborted" and the UTF-8 message at `memory[ptr..ptr+len]` |
//!
//! All `i32` arguments are read as unsigned. Every call costs [`HOST_CALL_FUEL`] plus one fuel
//! per [`BYTES_PER_FUEL`] bytes moved (rounded up), charged before anything else happens. The
//! full specification, with the statuses each misuse produces, is in `vm/README.md`.

use crate::limits::JobLimiter;
use wasmtime::{Caller, Extern, Linker, Memory};

/// Fuel charged for every host call, on top of the per-byte charge.
pub const HOST_CALL_FUEL: u64 = 50;
/// Bytes moved by `input_read` / `output_write` per unit of fuel.
pub const BYTES_PER_FUEL: u64 = 8;
/// Longest abort message kept, in bytes.
pub const MAX_ABORT_MESSAGE: usize = 256;

/// The module name of every import a job may have.
pub const MODULE: &str = "joule";

/// The data of one job's wasmtime store.
#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) input: Vec<u8>,
    pub(crate) output: Vec<u8>,
    pub(crate) max_output: usize,
    pub(crate) metered: bool,
    pub(crate) limiter: JobLimiter,
}

/// Why a host call stopped the job; carried inside the wasmtime error and mapped to a status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostStop {
    /// `joule.abort` was called.
    #[error("job aborted: {0}")]
    Aborted(String),
    /// The output would pass the limit.
    #[error("output would exceed {limit} bytes")]
    OutputTooLarge { limit: usize },
    /// The host-call charge did not fit in the remaining fuel.
    #[error("out of fuel in a host call")]
    OutOfFuel,
    /// A pointer/length outside memory, or an input range outside the input.
    #[error("host call `{call}` out of bounds")]
    OutOfBounds { call: &'static str },
}

/// Charges a host call that moves `bytes` bytes.
fn charge(caller: &mut Caller<'_, HostState>, bytes: u32) -> wasmtime::Result<()> {
    if !caller.data().metered {
        return Ok(());
    }
    let cost = HOST_CALL_FUEL + u64::from(bytes).div_ceil(BYTES_PER_FUEL);
    let fuel = caller.get_fuel()?;
    if fuel < cost {
        caller.set_fuel(0)?;
        return Err(HostStop::OutOfFuel.into());
    }
    caller.set_fuel(fuel - cost)
}

fn memory(caller: &mut Caller<'_, HostState>, call: &'static str) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(HostStop::OutOfBounds { call }.into()),
    }
}

/// `start..start+len` as a range, if it lies within `0..bound`.
fn range(start: u32, len: u32, bound: usize) -> Option<std::ops::Range<usize>> {
    let start = start as usize;
    let end = start.checked_add(len as usize)?;
    (end <= bound).then_some(start..end)
}

fn input_len(mut caller: Caller<'_, HostState>) -> wasmtime::Result<u32> {
    charge(&mut caller, 0)?;
    // The input is at most `Limits::max_input_bytes`, checked against u32 before the job starts.
    Ok(caller.data().input.len() as u32)
}

fn input_read(
    mut caller: Caller<'_, HostState>,
    ptr: u32,
    offset: u32,
    len: u32,
) -> wasmtime::Result<()> {
    const CALL: &str = "input_read";
    charge(&mut caller, len)?;
    let memory = memory(&mut caller, CALL)?;
    let (mem, state) = memory.data_and_store_mut(&mut caller);
    let src = range(offset, len, state.input.len()).ok_or(HostStop::OutOfBounds { call: CALL })?;
    let dst = range(ptr, len, mem.len()).ok_or(HostStop::OutOfBounds { call: CALL })?;
    mem[dst].copy_from_slice(&state.input[src]);
    Ok(())
}

fn output_write(mut caller: Caller<'_, HostState>, ptr: u32, len: u32) -> wasmtime::Result<()> {
    const CALL: &str = "output_write";
    charge(&mut caller, len)?;
    let memory = memory(&mut caller, CALL)?;
    let (mem, state) = memory.data_and_store_mut(&mut caller);
    let src = range(ptr, len, mem.len()).ok_or(HostStop::OutOfBounds { call: CALL })?;
    if state.output.len() + src.len() > state.max_output {
        return Err(HostStop::OutputTooLarge {
            limit: state.max_output,
        }
        .into());
    }
    state.output.extend_from_slice(&mem[src]);
    Ok(())
}

fn abort(mut caller: Caller<'_, HostState>, ptr: u32, len: u32) -> wasmtime::Result<()> {
    const CALL: &str = "abort";
    charge(&mut caller, 0)?;
    let memory = memory(&mut caller, CALL)?;
    let mem = memory.data(&caller);
    let src = range(ptr, len, mem.len()).ok_or(HostStop::OutOfBounds { call: CALL })?;
    let bytes = &mem[src];
    let kept = &bytes[..bytes.len().min(MAX_ABORT_MESSAGE)];
    Err(HostStop::Aborted(String::from_utf8_lossy(kept).into_owned()).into())
}

/// A linker with the four `joule.*` functions and nothing else.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(MODULE, "input_len", input_len)?;
    linker.func_wrap(MODULE, "input_read", input_read)?;
    linker.func_wrap(MODULE, "output_write", output_write)?;
    linker.func_wrap(MODULE, "abort", abort)?;
    Ok(linker)
}

/// The wasm signature of each Joule import as `(params, results)`, all `i32`; `None` for a name
/// that is not part of the ABI.
pub(crate) fn import_arity(name: &str) -> Option<(usize, usize)> {
    match name {
        "input_len" => Some((0, 1)),
        "input_read" => Some((3, 0)),
        "output_write" => Some((2, 0)),
        "abort" => Some((2, 0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow() {
        assert_eq!(range(0, 4, 4), Some(0..4));
        assert_eq!(range(1, 4, 4), None);
        assert_eq!(
            range(u32::MAX, u32::MAX, usize::MAX),
            Some(u32::MAX as usize..2 * u32::MAX as usize)
        );
        assert_eq!(range(4, 0, 4), Some(4..4));
        assert_eq!(range(5, 0, 4), None);
    }
}
