//! Errors of the VM itself. None of them is a consensus outcome.

use crate::{Hash32, ValidationError};
use std::path::PathBuf;
use std::time::Duration;

/// Why a job produced no [`Outcome`](crate::Outcome).
///
/// These are failures of the request or of the provider, never results of the job: a provider
/// that hits one must not commit a result.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The module breaks a publish-time rule (the chain should never have accepted it).
    #[error("invalid module: {0}")]
    Invalid(#[from] ValidationError),
    /// wasmtime could not compile or link a module that passed validation.
    #[error("compiling module {code_hash}: {message}")]
    Compile {
        /// Code hash of the module.
        code_hash: Hash32,
        /// wasmtime's error.
        message: String,
    },
    /// The input is larger than the limit (the chain should have refused the bid).
    #[error("input of {len} bytes exceeds the limit of {max}")]
    InputTooLarge {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The provider gave up: the job ran past the wall-clock limit. Not an outcome; the job
    /// would have ended deterministically by fuel, so this means the provider is too slow or
    /// fuel accounting is broken.
    #[error("provider gave up after the wall-clock limit of {limit:?}")]
    GaveUp {
        /// The wall-clock limit.
        limit: Duration,
    },
    /// The host failed while running the job (e.g. the OS refused memory within the limits).
    #[error("host failure while running the job: {0}")]
    Host(String),
}

/// Why a [`Vm`](crate::Vm) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// wasmtime refused the engine configuration.
    #[error("building the wasmtime engine: {0}")]
    Engine(String),
    /// The watchdog thread could not start.
    #[error("starting the watchdog thread: {0}")]
    Watchdog(#[source] std::io::Error),
    /// The artifact directory or its key could not be set up.
    #[error("setting up the artifact cache in {path}: {source}")]
    ArtifactDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
