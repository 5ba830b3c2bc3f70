//! `joule-vm`: deterministic WebAssembly execution of Joule jobs.
//!
//! A job is a WebAssembly module, an input and a fuel limit. Every honest provider that runs it
//! must get the same output bytes, the same fuel used and the same status on any machine, or
//! verification by comparison and re-execution cannot work. This crate owns everything that
//! decides those three values:
//!
//! - [`engine`]: the pinned, deterministic wasmtime configuration (fuel, NaN canonicalization,
//!   fixed wasm stack, no threads/SIMD/memory64, see [`engine::JOULE_FEATURES`]);
//! - [`abi`]: the job ABI — the four `joule.*` imports and the `memory`/`run` exports
//!   (specified for guest authors in `vm/README.md`);
//! - [`validate()`] and [`ValidationRules`]: publish-time checks, each refusal a typed
//!   [`ValidationError`];
//! - [`Limits`] and [`Outcome`]/[`Status`]: what a job may use and how it ended.
//!
//! Good starting points are [`Vm`] — [`Vm::execute`] runs a module on an input and returns an
//! [`Outcome`] — and [`Outcome`] itself. [`Vm::prepare`] returns a cached, pre-linked
//! [`PreparedJob`] (in-memory LRU plus this node's own on-disk artifacts) so that starting a
//! job costs microseconds. Whatever is not a deterministic outcome is an [`ExecError`], in
//! particular [`ExecError::GaveUp`] from the wall-clock [`watchdog`].
//!
//! [`examples`] holds the example jobs (hash chain, prime sieve, matrix multiply, Mandelbrot,
//! pointer chase), built from `vm/jobs` for `wasm32-unknown-unknown` by `vm/build.rs`.

#![warn(missing_docs)]

pub mod abi;
mod artifacts;
pub mod engine;
mod error;
pub mod examples;
mod hash;
mod limits;
mod lru;
mod outcome;
pub mod stack;
mod validate;
mod vm;
pub mod watchdog;

pub use engine::Metering;
pub use error::{ExecError, VmError};
pub use hash::Hash32;
pub use limits::Limits;
pub use outcome::{Outcome, Status, TrapKind};
pub use validate::{Item, ValidationError, ValidationRules, validate};
pub use vm::{CacheStats, PreparedJob, Vm, VmConfig};
