//! Example jobs: native Rust vs wasmtime without fuel (with and without NaN canonicalization) vs
//! wasmtime with fuel (with and without the watchdog's epoch checks) vs the wasmi interpreter with
//! fuel; job start-up from a cached module;
//! compile time of each example. Results and the command line are in the root `BENCHMARKS.md`.

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use joule_vm::{Limits, Metering, Vm, VmConfig, examples};
use std::hint::black_box;
use std::time::Duration;

extern crate alloc;

/// The example jobs' algorithms compiled natively: the same source files as the wasm jobs.
#[path = "../jobs/kernels/src/lib.rs"]
#[allow(unused_attributes, dead_code)]
mod kernels;

mod wasmi_host;

fn native(name: &str) -> kernels::Kernel {
    kernels::by_name(name).unwrap_or_else(|| panic!("no native kernel for {name}"))
}

fn vm(metering: Metering, watchdog: bool) -> Vm {
    Vm::with_config(VmConfig {
        metering,
        wall_clock_limit: watchdog.then(|| Duration::from_secs(60)),
        ..VmConfig::default()
    })
    .expect("VM builds")
}

fn jobs(c: &mut Criterion) {
    let limits = Limits::with_fuel(u64::MAX / 2);
    let unmetered = vm(Metering::Unmetered, false);
    let no_canon = vm(Metering::UnmeteredNoNanCanonicalization, false);
    let fuel = vm(Metering::Fuel, false);
    let production = vm(Metering::Fuel, true);
    for e in examples::ALL {
        let mut group = c.benchmark_group(e.name);
        // Flat sampling: the same number of iterations per sample, so a job of seconds
        // (pointer_chase) takes 10 runs rather than criterion's 55 for a linear ramp.
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        let input = e.sample_input;
        let expected = native(e.name)(input);
        let mut fuel_used = 0;
        group.bench_function("native", |b| b.iter(|| native(e.name)(black_box(input))));
        for (label, vm) in [
            ("wasmtime_no_nan_canon", &no_canon),
            ("wasmtime", &unmetered),
            ("wasmtime_fuel", &fuel),
            ("wasmtime_fuel_epoch", &production),
        ] {
            let job = vm.prepare(e.wasm).expect("example prepares");
            let o = vm.run(&job, input, &limits).expect("runs");
            if label == "wasmtime_fuel" {
                fuel_used = o.fuel_used;
            }
            assert_eq!(
                o.output, expected,
                "{} {label}: wasm and native differ",
                e.name
            );
            group.bench_function(label, |b| {
                b.iter(|| vm.run(&job, black_box(input), &limits).expect("runs"))
            });
        }
        let wasmi = wasmi_host::Wasmi::new(e.wasm);
        let (output, wasmi_fuel) = wasmi.run(input);
        assert_eq!(output, expected, "{} wasmi: differs from native", e.name);
        eprintln!(
            "{}: fuel used {fuel_used} (wasmtime), {wasmi_fuel} (wasmi)",
            e.name
        );
        group.bench_function("wasmi_fuel", |b| b.iter(|| wasmi.run(black_box(input))));
        group.finish();
    }
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(2));
    let vm = vm(Metering::Fuel, true);
    let limits = Limits::default();
    let trivial = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
        .expect("wat");
    for (name, wasm, input) in [
        ("trivial", trivial.as_slice(), &b""[..]),
        (
            "hash_chain_0_iterations",
            examples::HASH_CHAIN,
            &b"\0\0\0\0"[..],
        ),
    ] {
        let job = vm.prepare(wasm).expect("prepares");
        let code_hash = job.code_hash();
        group.bench_function(BenchmarkId::new("run_prepared", name), |b| {
            b.iter(|| vm.run(&job, black_box(input), &limits).expect("runs"))
        });
        group.bench_function(BenchmarkId::new("lookup_by_hash_and_run", name), |b| {
            b.iter(|| {
                let job = vm.prepared(&code_hash).expect("cached");
                vm.run(&job, black_box(input), &limits).expect("runs")
            })
        });
    }
    group.finish();
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    let engine = joule_vm::engine::engine(Metering::Fuel, true).expect("engine");
    for e in examples::ALL {
        group.bench_function(e.name, |b| {
            b.iter(|| {
                joule_vm::validate(e.wasm, &Default::default()).expect("valid");
                wasmtime::Module::new(&engine, black_box(e.wasm)).expect("compiles")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, jobs, startup, compile);
criterion_main!(benches);
