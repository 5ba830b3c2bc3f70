//! Golden values: the exact fuel used and output hash of every example job on its sample input.
//!
//! These are consensus values. A change that moves them (wasmtime version, engine config, fuel
//! costs of host calls, the job sources, their Cargo.lock or release profile, or the rustc that
//! builds them — 1.95.0 here) changes what every provider and authority computes, so it must be
//! deliberate, and the values below are then updated in the same commit.

use crate::support::run_twice;
use joule_vm::{Limits, Status, Vm, VmConfig, examples};
use std::time::Duration;

/// (name, fuel used, output hash) on `Example::sample_input`.
const GOLDEN: [(&str, u64, &str); 5] = [
    (
        "hash_chain",
        213591106,
        "b275c90097ade81f56e341778d3c08909156706f3fcf20d3d225ef2ce127a9ed",
    ),
    (
        "primes",
        114803435,
        "fe4ae8f515ddd8b45b21a265f87ea37770d71d6c3686356c933a78aa0d5172a8",
    ),
    (
        "matmul",
        42505409,
        "3260adcf5f830969f8b217c63626357c89d67a43e93ce756cd124aacc3ac9315",
    ),
    (
        "mandelbrot",
        169815587,
        "f15ceb2d698dcb840908a5a1e02e488ef9ca3216af0f25916adca1ba4d9d0a31",
    ),
    (
        "pointer_chase",
        402129292,
        "619d2e204e4f2ed3183eefc559b24c66532b86671be0fbd79c97b63c06a39741",
    ),
];

#[test]
fn example_jobs_use_exactly_the_pinned_fuel_and_produce_the_pinned_output() {
    let mut mismatches = Vec::new();
    for (name, fuel, hash) in GOLDEN {
        let e = examples::by_name(name).expect("golden names match examples::ALL");
        let o = run_twice(e.wasm, e.sample_input, &Limits::default());
        assert_eq!(o.status, Status::Ok, "{name}");
        // The watchdog's epoch checks change the compiled code but must not change the outcome.
        let watched = Vm::with_config(VmConfig {
            wall_clock_limit: Some(Duration::from_secs(600)),
            ..VmConfig::default()
        })
        .expect("VM builds")
        .execute(e.wasm, e.sample_input, &Limits::default())
        .expect("runs");
        assert_eq!(watched, o, "{name}: the watchdog changed the outcome");
        if o.fuel_used != fuel || o.output_hash.to_hex() != hash {
            mismatches.push(format!(
                "(\"{name}\", {}, \"{}\"),",
                o.fuel_used,
                o.output_hash.to_hex()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden values moved (consensus change!); now:\n{}",
        mismatches.join("\n")
    );
}
