//! Helpers shared by the integration tests.

use joule_vm::{Limits, Outcome, Vm, VmConfig};
use std::path::Path;

/// Reads and assembles `tests/fixtures/<name>.wat`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("assembling {}: {e}", path.display()))
}

/// Assembles inline WAT.
pub fn wat(src: &str) -> Vec<u8> {
    wat::parse_str(src).unwrap_or_else(|e| panic!("assembling inline WAT: {e}"))
}

/// A VM with the default configuration but without the watchdog thread.
pub fn vm() -> Vm {
    Vm::with_config(VmConfig {
        wall_clock_limit: None,
        ..VmConfig::default()
    })
    .expect("default VM builds")
}

/// Runs `wasm` on `input` in two independent fresh VMs and checks the outcomes are identical.
pub fn run_twice(wasm: &[u8], input: &[u8], limits: &Limits) -> Outcome {
    let first = vm()
        .execute(wasm, input, limits)
        .expect("job produces an outcome");
    let second = vm()
        .execute(wasm, input, limits)
        .expect("job produces an outcome");
    assert_eq!(first, second, "outcome differs between two runs");
    first
}
