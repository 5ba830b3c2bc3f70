//! [`Vm`]: validates, compiles, caches and runs jobs.

use crate::abi::{self, HostState, HostStop};
use crate::artifacts::ArtifactStore;
use crate::engine::{self, Metering};
use crate::limits::{JobLimiter, LimitHit};
use crate::lru::Lru;
use crate::watchdog::Watchdog;
use crate::{ExecError, Hash32, Limits, Outcome, Status, TrapKind, ValidationRules, VmError};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::{Engine, InstancePre, Linker, Module, Store, Trap};

/// How a [`Vm`] is set up. Only `rules` and `metering` affect outcomes.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// Publish-time rules checked before a module is compiled.
    pub rules: ValidationRules,
    /// Fuel metering; [`Metering::Fuel`] for anything that counts.
    pub metering: Metering,
    /// Compiled modules kept in memory (LRU).
    pub memory_cache_entries: usize,
    /// Where to keep compiled artifacts across restarts; `None` keeps them in memory only.
    pub artifact_dir: Option<PathBuf>,
    /// Wall-clock limit per job after which the provider gives up ([`ExecError::GaveUp`]);
    /// `None` turns the watchdog off.
    pub wall_clock_limit: Option<Duration>,
}

impl Default for VmConfig {
    /// Default rules, fuel on, 64 cached modules, no artifact directory, 60 s watchdog.
    fn default() -> Self {
        Self {
            rules: ValidationRules::default(),
            metering: Metering::Fuel,
            memory_cache_entries: 64,
            artifact_dir: None,
            wall_clock_limit: Some(Duration::from_secs(60)),
        }
    }
}

/// A validated, compiled and pre-linked module, ready to start in microseconds.
pub struct PreparedJob {
    code_hash: Hash32,
    pre: InstancePre<HostState>,
}

impl PreparedJob {
    /// Keccak-256 of the module bytes.
    pub fn code_hash(&self) -> Hash32 {
        self.code_hash
    }
}

impl std::fmt::Debug for PreparedJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedJob")
            .field("code_hash", &self.code_hash)
            .finish_non_exhaustive()
    }
}

/// How [`Vm::prepare`] found modules so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Found compiled in memory.
    pub memory_hits: u64,
    /// Loaded from this node's artifact directory.
    pub disk_hits: u64,
    /// Compiled from the wasm bytes.
    pub compiles: u64,
}

#[derive(Debug, Default)]
struct Counters {
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    compiles: AtomicU64,
}

/// The Joule job runtime: one deterministic wasmtime engine, the job ABI linker, the module
/// cache and the watchdog. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Vm {
    engine: Engine,
    linker: Linker<HostState>,
    config: VmConfig,
    memory_cache: Mutex<Lru<Arc<PreparedJob>>>,
    artifacts: Option<ArtifactStore>,
    counters: Counters,
    _watchdog: Option<Watchdog>,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Vm {
    /// A VM with [`VmConfig::default`].
    pub fn new() -> Result<Self, VmError> {
        Self::with_config(VmConfig::default())
    }

    /// A VM with the given configuration.
    pub fn with_config(config: VmConfig) -> Result<Self, VmError> {
        let epochs = config.wall_clock_limit.is_some();
        let engine =
            engine::engine(config.metering, epochs).map_err(|e| VmError::Engine(e.to_string()))?;
        let linker = abi::linker(&engine).map_err(|e| VmError::Engine(e.to_string()))?;
        let artifacts = match &config.artifact_dir {
            Some(dir) => Some(
                ArtifactStore::open(dir).map_err(|source| VmError::ArtifactDir {
                    path: dir.clone(),
                    source,
                })?,
            ),
            None => None,
        };
        let watchdog = if epochs {
            Some(Watchdog::start(engine.clone()).map_err(VmError::Watchdog)?)
        } else {
            None
        };
        Ok(Self {
            memory_cache: Mutex::new(Lru::new(config.memory_cache_entries)),
            engine,
            linker,
            config,
            artifacts,
            counters: Counters::default(),
            _watchdog: watchdog,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// How modules were found so far.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            memory_hits: self.counters.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.counters.disk_hits.load(Ordering::Relaxed),
            compiles: self.counters.compiles.load(Ordering::Relaxed),
        }
    }

    /// The prepared job for `code_hash` if it is in the in-memory cache. A provider that knows
    /// the code hash from a bid starts a job this way without hashing the module again.
    pub fn prepared(&self, code_hash: &Hash32) -> Option<Arc<PreparedJob>> {
        let job = self.memory_cache.lock().get(code_hash);
        if job.is_some() {
            self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
        }
        job
    }

    /// Validates, compiles (or finds in the cache) and pre-links `wasm`.
    pub fn prepare(&self, wasm: &[u8]) -> Result<Arc<PreparedJob>, ExecError> {
        let code_hash = Hash32::keccak(wasm);
        if let Some(job) = self.prepared(&code_hash) {
            return Ok(job);
        }
        crate::validate(wasm, &self.config.rules)?;
        let module = self.load_or_compile(&code_hash, wasm)?;
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| ExecError::Compile {
                code_hash,
                message: e.to_string(),
            })?;
        let job = Arc::new(PreparedJob { code_hash, pre });
        self.memory_cache.lock().insert(code_hash, job.clone());
        Ok(job)
    }

    fn load_or_compile(&self, code_hash: &Hash32, wasm: &[u8]) -> Result<Module, ExecError> {
        if let Some(store) = &self.artifacts {
            match store.load(&self.engine, code_hash) {
                Ok(Some(module)) => {
                    self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(module);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(target: "vm::cache", %code_hash, error = %e, "ignoring cached artifact")
                }
            }
        }
        let compile_error = |message: String| ExecError::Compile {
            code_hash: *code_hash,
            message,
        };
        let metered = crate::stack::instrument(wasm).map_err(|e| compile_error(e.to_string()))?;
        let module =
            Module::new(&self.engine, &metered).map_err(|e| compile_error(e.to_string()))?;
        self.counters.compiles.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "vm::cache", %code_hash, bytes = wasm.len(), "compiled module");
        if let Some(store) = &self.artifacts
            && let Err(e) = store.store(code_hash, &module)
        {
            tracing::warn!(target: "vm::cache", %code_hash, error = %e, "could not store artifact");
        }
        Ok(module)
    }

    /// Validates and runs `wasm` on `input`: [`prepare`](Self::prepare) then [`run`](Self::run).
    pub fn execute(
        &self,
        wasm: &[u8],
        input: &[u8],
        limits: &Limits,
    ) -> Result<Outcome, ExecError> {
        let job = self.prepare(wasm)?;
        self.run(&job, input, limits)
    }

    /// Runs a prepared job on `input` under `limits`.
    ///
    /// Every way the *job* can end is an `Ok(Outcome)`; `Err` means the provider could not
    /// produce an outcome (see [`ExecError`]).
    pub fn run(
        &self,
        job: &PreparedJob,
        input: &[u8],
        limits: &Limits,
    ) -> Result<Outcome, ExecError> {
        let max_input = limits.max_input_bytes.min(u32::MAX as usize);
        if input.len() > max_input {
            return Err(ExecError::InputTooLarge {
                len: input.len(),
                max: max_input,
            });
        }
        let metered = self.config.metering == Metering::Fuel;
        let state = HostState {
            input: input.to_vec(),
            output: Vec::new(),
            max_output: limits.max_output_bytes,
            metered,
            limiter: JobLimiter {
                max_memory_bytes: limits.max_memory_bytes,
                max_table_elements: limits.max_table_elements,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        if metered {
            store
                .set_fuel(limits.fuel)
                .map_err(|e| ExecError::Host(e.to_string()))?;
        }
        if let Some(limit) = self.config.wall_clock_limit {
            store.set_epoch_deadline(Watchdog::ticks(limit));
            store.epoch_deadline_trap();
        }
        let mut instance = None;
        let result = match job.pre.instantiate(&mut store) {
            Ok(i) => {
                instance = Some(i);
                match i.get_typed_func::<(), ()>(&mut store, "run") {
                    Ok(run) => run.call(&mut store, ()),
                    Err(_) => Err(wasmtime::Error::new(EntryPointMissing)),
                }
            }
            Err(e) => Err(e),
        };
        // The stack meter traps with `unreachable` once its count passes the limit; nothing
        // else leaves the count above it (`stack.rs`).
        let stack_exhausted = result.is_err()
            && instance
                .and_then(|i| i.get_global(&mut store, crate::stack::COUNTER_EXPORT))
                .and_then(|g| g.get(&mut store).i32())
                .is_some_and(|units| units as u32 > crate::stack::MAX_STACK_UNITS);
        let fuel_used = if metered {
            limits.fuel.saturating_sub(
                store
                    .get_fuel()
                    .map_err(|e| ExecError::Host(e.to_string()))?,
            )
        } else {
            0
        };
        let state = store.into_data();
        match result {
            Ok(()) => Ok(Outcome::new(Status::Ok, state.output, fuel_used)),
            Err(_) if stack_exhausted => {
                let status = Status::Trap(TrapKind::StackOverflow);
                let fuel_used = if metered { limits.fuel } else { 0 };
                tracing::debug!(target: "vm::run", code_hash = %job.code_hash, %status, fuel_used, "job failed");
                Ok(Outcome::new(status, Vec::new(), fuel_used))
            }
            Err(e) => {
                let (status, fuel_used) = self.classify(&e, limits, fuel_used, metered)?;
                tracing::debug!(target: "vm::run", code_hash = %job.code_hash, %status, fuel_used, "job failed");
                Ok(Outcome::new(status, Vec::new(), fuel_used))
            }
        }
    }

    /// Maps a wasmtime error to a deterministic status and the fuel to report, or to a provider
    /// error.
    ///
    /// Fuel: wasmtime keeps the fuel counter in a register between calls and only writes it back
    /// at calls and returns, so when wasm code traps (or `memory.grow`/`table.grow` hits a limit)
    /// the fuel it burned since the last call is not observable. Those statuses are charged the
    /// whole limit: deterministic, and "work hard, then trap" earns nothing. Statuses raised by
    /// a host call (`Aborted`, `OutputTooLarge`) see exact fuel, since calls write it back.
    fn classify(
        &self,
        e: &wasmtime::Error,
        limits: &Limits,
        fuel_used: u64,
        metered: bool,
    ) -> Result<(Status, u64), ExecError> {
        let whole_limit = if metered { limits.fuel } else { 0 };
        let status = if let Some(stop) = e.downcast_ref::<HostStop>() {
            match stop {
                HostStop::Aborted(msg) => return Ok((Status::Aborted(msg.clone()), fuel_used)),
                HostStop::OutputTooLarge { .. } => return Ok((Status::OutputTooLarge, fuel_used)),
                HostStop::OutOfFuel => Status::OutOfFuel,
                HostStop::OutOfBounds { .. } => Status::Trap(TrapKind::HostOutOfBounds),
            }
        } else if let Some(hit) = e.downcast_ref::<LimitHit>() {
            match hit {
                LimitHit::Memory { .. } => Status::MemoryLimit,
                LimitHit::Table { .. } => Status::TableLimit,
            }
        } else if e.is::<EntryPointMissing>() {
            Status::Trap(TrapKind::BadEntryPoint)
        } else if let Some(trap) = e.downcast_ref::<Trap>() {
            match trap {
                Trap::OutOfFuel => Status::OutOfFuel,
                Trap::Interrupt => {
                    let limit = self.config.wall_clock_limit.unwrap_or_default();
                    tracing::warn!(target: "vm::run", ?limit, "job ran past the wall-clock limit; giving up");
                    return Err(ExecError::GaveUp { limit });
                }
                Trap::StackOverflow => Status::Trap(TrapKind::StackOverflow),
                Trap::MemoryOutOfBounds => Status::Trap(TrapKind::MemoryOutOfBounds),
                Trap::TableOutOfBounds => Status::Trap(TrapKind::TableOutOfBounds),
                Trap::IndirectCallToNull => Status::Trap(TrapKind::IndirectCallToNull),
                Trap::BadSignature => Status::Trap(TrapKind::BadSignature),
                Trap::IntegerOverflow => Status::Trap(TrapKind::IntegerOverflow),
                Trap::IntegerDivisionByZero => Status::Trap(TrapKind::IntegerDivisionByZero),
                Trap::BadConversionToInteger => Status::Trap(TrapKind::BadConversionToInteger),
                Trap::UnreachableCodeReached => Status::Trap(TrapKind::Unreachable),
                other => {
                    return Err(ExecError::Host(format!(
                        "unexpected trap for a Joule module: {other}"
                    )));
                }
            }
        } else {
            return Err(ExecError::Host(format!("{e:?}")));
        };
        Ok((status, whole_limit))
    }
}

/// The instance has no `run: () -> ()` export (validation skipped or bypassed).
#[derive(Debug, thiserror::Error)]
#[error("module has no `run: () -> ()` export")]
struct EntryPointMissing;
