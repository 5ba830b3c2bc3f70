//! Hostile modules: each one must end in the same deterministic outcome on every run.

use crate::support::{fixture, run_twice, vm, wat};
use joule_vm::{ExecError, Limits, Status, TrapKind, ValidationError, Vm, VmConfig};
use std::time::Duration;

const FUEL: u64 = 5_000_000;

fn limits() -> Limits {
    Limits::with_fuel(FUEL)
}

#[test]
fn infinite_loop_runs_out_of_fuel_and_is_charged_everything() {
    let o = run_twice(&fixture("infinite_loop"), b"", &limits());
    assert_eq!(o.status, Status::OutOfFuel);
    assert_eq!(o.fuel_used, FUEL);
    assert!(o.output.is_empty());
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let limits = Limits {
        max_memory_bytes: 4 << 20,
        ..limits()
    };
    let o = run_twice(&fixture("memory_bomb"), b"", &limits);
    assert_eq!(o.status, Status::MemoryLimit);
    assert_eq!(
        o.fuel_used, FUEL,
        "a limit hit in wasm code is charged the whole limit"
    );
}

#[test]
fn memory_bomb_under_a_tiny_fuel_limit_runs_out_of_fuel_first() {
    let o = run_twice(&fixture("memory_bomb"), b"", &Limits::with_fuel(100));
    assert_eq!(o.status, Status::OutOfFuel);
}

#[test]
fn unbounded_recursion_overflows_the_stack_and_is_charged_everything() {
    let limits = Limits::with_fuel(1_000_000_000);
    let o = run_twice(&fixture("recursion"), b"", &limits);
    assert_eq!(o.status, Status::Trap(TrapKind::StackOverflow));
    assert_eq!(o.fuel_used, limits.fuel);
}

#[test]
fn huge_module_is_refused_before_compiling() {
    // A valid module padded with a 3 MiB custom section.
    let mut wasm = fixture("echo");
    let payload = vec![0u8; 3 << 20];
    let name = b"padding";
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(&payload);
    wasm.push(0); // custom section id
    let mut len = section.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            wasm.push(byte);
            break;
        }
        wasm.push(byte | 0x80);
    }
    wasm.extend_from_slice(&section);
    let err = vm()
        .execute(&wasm, b"", &limits())
        .expect_err("huge module must be refused");
    assert!(
        matches!(err, ExecError::Invalid(ValidationError::TooLarge { size, max: 2_097_152 }) if size == wasm.len()),
        "{err}"
    );
}

#[test]
fn wasi_import_is_refused_naming_the_import() {
    let err = vm()
        .execute(&fixture("wasi"), b"", &limits())
        .expect_err("WASI must be refused");
    let ExecError::Invalid(ValidationError::ForbiddenImport { module, name }) = err else {
        panic!("wrong error: {err}")
    };
    assert_eq!(
        (module.as_str(), name.as_str()),
        ("wasi_snapshot_preview1", "fd_write")
    );
}

#[test]
fn nan_payloads_are_canonical_on_every_machine() {
    let o = run_twice(&fixture("nan_payloads"), b"", &limits());
    assert_eq!(o.status, Status::Ok);
    let f64_at =
        |i: usize| u64::from_le_bytes(o.output[i..i + 8].try_into().expect("8 bytes; qed"));
    let f32_at =
        |i: usize| u32::from_le_bytes(o.output[i..i + 4].try_into().expect("4 bytes; qed"));
    assert_eq!(o.output.len(), 44);
    assert_eq!(f64_at(0), 0x7ff8_0000_0000_0000);
    assert_eq!(f64_at(8), 0x7ff8_0000_0000_0000);
    assert_eq!(f64_at(16), 0x7ff8_0000_0000_0000);
    assert_eq!(f32_at(24), 0x7fc0_0000);
    assert_eq!(f64_at(28), 0x7ff8_0000_0000_0000);
    assert_eq!(f32_at(36), 0x7fc0_0000);
    assert_eq!(f32_at(40), 0x7fc0_0000);
}

#[test]
fn output_larger_than_allowed_is_an_outcome() {
    let o = run_twice(&fixture("output_too_large"), b"", &limits());
    assert_eq!(o.status, Status::OutputTooLarge);
    assert!(o.output.is_empty());
    // Refused before any byte is copied; the host call was still charged.
    let small = Limits {
        max_output_bytes: 5 << 20,
        ..limits()
    };
    let ok = run_twice(&fixture("output_too_large"), b"", &small);
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.output.len(), 5 << 20);
    assert!(
        ok.fuel_used > (5 << 20) / 8,
        "output bytes are charged: {}",
        ok.fuel_used
    );
}

#[test]
fn abort_carries_the_message() {
    let o = run_twice(&fixture("abort"), b"", &limits());
    assert_eq!(o.status, Status::Aborted("input must not be empty".into()));
    // Golden: a host call sees exact fuel (two host calls × 50 plus a few instructions, 8 of
    // them the stack meter's entry check).
    assert_eq!(o.fuel_used, 115);
    let fine = run_twice(&fixture("abort"), b"x", &limits());
    assert_eq!(fine.status, Status::Ok);
}

#[test]
fn host_call_out_of_bounds_traps() {
    let o = run_twice(&fixture("host_out_of_bounds"), b"", &limits());
    assert_eq!(o.status, Status::Trap(TrapKind::HostOutOfBounds));
    assert_eq!(o.fuel_used, FUEL);
}

#[test]
fn division_by_zero_traps_and_is_charged_the_whole_limit() {
    let o = run_twice(&fixture("div_by_zero"), b"", &limits());
    assert_eq!(o.status, Status::Trap(TrapKind::IntegerDivisionByZero));
    assert_eq!(o.fuel_used, FUEL);
}

#[test]
fn echo_round_trips_the_input_and_charges_the_bytes() {
    let input: Vec<u8> = (0..=255).collect();
    let o = run_twice(&fixture("echo"), &input, &limits());
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.output, input);
    assert_eq!(o.output_hash, joule_vm::Hash32::keccak(&input));
    // Golden: 3 host calls × 50, 2 × 256/8 bytes, plus the wasm instructions (12 of them the
    // stack meter's entry check and exit).
    assert_eq!(o.fuel_used, 236);
}

#[test]
fn host_call_that_does_not_fit_in_the_fuel_runs_out_of_fuel() {
    let input = vec![7u8; 60_000];
    let o = run_twice(&fixture("echo"), &input, &Limits::with_fuel(2_000));
    assert_eq!(o.status, Status::OutOfFuel);
    assert_eq!(o.fuel_used, 2_000);
}

#[test]
fn table_growth_past_the_limit_is_an_outcome() {
    let wasm = wat(r#"(module
        (memory (export "memory") 1)
        (table 1 funcref)
        (func (export "run") (drop (table.grow (ref.null func) (i32.const 100000)))))"#);
    let o = run_twice(&wasm, b"", &limits());
    assert_eq!(o.status, Status::TableLimit);
}

#[test]
fn input_larger_than_the_limit_is_a_caller_error() {
    let limits = Limits {
        max_input_bytes: 4,
        ..limits()
    };
    let err = vm()
        .execute(&fixture("echo"), b"12345", &limits)
        .expect_err("input too large");
    assert!(
        matches!(err, ExecError::InputTooLarge { len: 5, max: 4 }),
        "{err}"
    );
}

#[test]
fn watchdog_gives_up_on_a_job_that_fuel_does_not_stop() {
    let vm = Vm::with_config(VmConfig {
        wall_clock_limit: Some(Duration::from_millis(20)),
        ..VmConfig::default()
    })
    .expect("VM with watchdog builds");
    let err = vm
        .execute(&fixture("infinite_loop"), b"", &Limits::with_fuel(u64::MAX))
        .expect_err("the watchdog must stop an endless job");
    assert!(matches!(err, ExecError::GaveUp { .. }), "{err}");
    // The same VM still runs ordinary jobs afterwards.
    let o = vm
        .execute(&fixture("abort"), b"x", &limits())
        .expect("outcome");
    assert_eq!(o.status, Status::Ok);
}
