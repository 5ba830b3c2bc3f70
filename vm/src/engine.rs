//! The deterministic wasmtime configuration every Joule node uses.
//!
//! Anything that changes compiled code or where a trap happens is consensus: the wasmtime
//! version (pinned exactly in the workspace), the set of wasm proposals, NaN canonicalization,
//! the maximum wasm stack and the fuel instrumentation. Change them only together with the
//! golden tests in `vm/tests/golden.rs`.

use wasmtime::wasmparser::WasmFeatures;
use wasmtime::{Config, Engine, OptLevel, Strategy};

/// The WebAssembly proposals a Joule job may use: WebAssembly 2.0 without SIMD and without
/// GC-managed reference types (`externref`), plus extended-const. Refused: SIMD and relaxed SIMD (NaN bits and relaxed semantics), threads and
/// shared memory, atomics, multi-memory, memory64, tail calls, exceptions, GC and function
/// references, custom page sizes, wide arithmetic, stack switching, the component model.
pub const JOULE_FEATURES: WasmFeatures = WasmFeatures::WASM1
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::BULK_MEMORY_OPT)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::CALL_INDIRECT_OVERLONG)
    .union(WasmFeatures::EXTENDED_CONST)
    // externref/anyref need a garbage collector, which the workspace build of wasmtime lacks;
    // funcref tables (what compilers emit) are not gated by this.
    .difference(WasmFeatures::GC_TYPES);

/// The largest native stack wasm code may use, in bytes. Recursion is stopped earlier, at the
/// same depth on every machine, by the stack meter ([`crate::stack`]), whose limit is derived
/// from this size.
pub const MAX_WASM_STACK: usize = 512 * 1024;

/// How a [`Vm`](crate::Vm) meters jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metering {
    /// Fuel on: the consensus configuration every provider and authority uses.
    #[default]
    Fuel,
    /// Fuel off. Only for measuring the cost of metering (`vm/benches`): outcomes report
    /// `fuel_used == 0` and are not consensus data.
    Unmetered,
    /// Fuel off and NaN canonicalization off. Only for measuring what canonicalization costs
    /// (`vm/benches`): a float operation's NaN payload may then differ between CPUs, so besides
    /// `fuel_used == 0` the output itself is not consensus data.
    UnmeteredNoNanCanonicalization,
}

/// The wasmtime [`Config`] of a Joule engine.
///
/// `epoch_interruption` is on when the wall-clock watchdog is used; it never changes an outcome
/// (an interrupted job is a provider error, not an outcome), only whether the provider gives up.
pub fn config(metering: Metering, epoch_interruption: bool) -> Config {
    let mut config = Config::new();
    config
        .strategy(Strategy::Cranelift)
        .cranelift_opt_level(OptLevel::Speed)
        .cranelift_nan_canonicalization(metering != Metering::UnmeteredNoNanCanonicalization)
        .consume_fuel(metering == Metering::Fuel)
        .epoch_interruption(epoch_interruption)
        .max_wasm_stack(MAX_WASM_STACK)
        .wasm_backtrace_max_frames(None)
        .wasm_features(WasmFeatures::all(), false)
        .wasm_features(JOULE_FEATURES, true);
    config
}

/// A wasmtime [`Engine`] with [`config`].
pub fn engine(metering: Metering, epoch_interruption: bool) -> Result<Engine, wasmtime::Error> {
    Engine::new(&config(metering, epoch_interruption))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_builds_with_and_without_fuel() {
        engine(Metering::Fuel, true).expect("consensus engine config is valid");
        engine(Metering::Unmetered, false).expect("bench engine config is valid");
        engine(Metering::UnmeteredNoNanCanonicalization, false)
            .expect("bench engine config is valid");
    }

    #[test]
    fn only_the_bench_variant_turns_nan_canonicalization_off() {
        // A NaN produced by 0/0 has a CPU-dependent payload without canonicalization; the
        // canonical NaN is 0x7ff8_0000_0000_0000 (x86-64 itself produces 0xfff8_…).
        let wat = r#"(module (func (export "div") (param f64 f64) (result i64)
            local.get 0 local.get 1 f64.div i64.reinterpret_f64))"#;
        let wasm = wat::parse_str(wat).expect("wat");
        let nan_bits = |metering| {
            let engine = engine(metering, false).expect("engine");
            let module = wasmtime::Module::new(&engine, &wasm).expect("compiles");
            let mut store = wasmtime::Store::new(&engine, ());
            if metering == Metering::Fuel {
                store.set_fuel(1_000).expect("fuel on");
            }
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
            let f = instance
                .get_typed_func::<(f64, f64), i64>(&mut store, "div")
                .expect("export");
            f.call(&mut store, (0.0, 0.0)).expect("runs") as u64
        };
        assert_eq!(nan_bits(Metering::Fuel), 0x7ff8_0000_0000_0000);
        assert_eq!(nan_bits(Metering::Unmetered), 0x7ff8_0000_0000_0000);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                nan_bits(Metering::UnmeteredNoNanCanonicalization),
                0xfff8_0000_0000_0000
            );
        }
    }

    #[test]
    fn simd_threads_and_memory64_are_refused() {
        assert!(!JOULE_FEATURES.contains(WasmFeatures::SIMD));
        assert!(!JOULE_FEATURES.contains(WasmFeatures::RELAXED_SIMD));
        assert!(!JOULE_FEATURES.contains(WasmFeatures::THREADS));
        assert!(!JOULE_FEATURES.contains(WasmFeatures::MEMORY64));
        assert!(JOULE_FEATURES.contains(WasmFeatures::FLOATS));
    }
}
