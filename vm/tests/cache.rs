//! The compiled-module cache: memory LRU, this node's artifacts on disk, pre-linked instances.

use crate::support::fixture;
use joule_vm::{CacheStats, Limits, Vm, VmConfig, examples};

fn vm_with_dir(dir: &std::path::Path, entries: usize) -> Vm {
    Vm::with_config(VmConfig {
        artifact_dir: Some(dir.to_owned()),
        memory_cache_entries: entries,
        wall_clock_limit: None,
        ..VmConfig::default()
    })
    .expect("VM with artifact dir builds")
}

#[test]
fn second_prepare_hits_memory() {
    let vm = crate::support::vm();
    let wasm = fixture("echo");
    let a = vm.prepare(&wasm).expect("prepares");
    let b = vm.prepare(&wasm).expect("prepares");
    assert_eq!(a.code_hash(), b.code_hash());
    assert_eq!(
        vm.cache_stats(),
        CacheStats {
            memory_hits: 1,
            disk_hits: 0,
            compiles: 1
        }
    );
}

#[test]
fn lru_evicts_and_recompiles() {
    let vm = Vm::with_config(VmConfig {
        memory_cache_entries: 1,
        wall_clock_limit: None,
        ..VmConfig::default()
    })
    .expect("builds");
    let (a, b) = (fixture("echo"), fixture("abort"));
    vm.prepare(&a).expect("a");
    vm.prepare(&b).expect("b evicts a");
    vm.prepare(&a).expect("a again");
    assert_eq!(vm.cache_stats().compiles, 3);
}

#[test]
fn artifacts_survive_a_restart_and_give_the_same_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = examples::by_name("primes").expect("primes example exists");
    let limits = Limits::default();
    let first = {
        let vm = vm_with_dir(dir.path(), 4);
        let o = vm
            .execute(e.wasm, b"\x10\x27\x00\x00", &limits)
            .expect("runs");
        assert_eq!(vm.cache_stats().compiles, 1);
        o
    };
    let vm = vm_with_dir(dir.path(), 4);
    let second = vm
        .execute(e.wasm, b"\x10\x27\x00\x00", &limits)
        .expect("runs");
    assert_eq!(
        vm.cache_stats(),
        CacheStats {
            memory_hits: 0,
            disk_hits: 1,
            compiles: 0
        }
    );
    assert_eq!(first, second);
}

#[test]
fn tampered_or_foreign_artifacts_are_recompiled_not_loaded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wasm = fixture("echo");
    let code_hash = vm_with_dir(dir.path(), 4)
        .prepare(&wasm)
        .expect("prepares")
        .code_hash();
    let path = dir.path().join(format!("{}.cwasm", code_hash.to_hex()));

    // Flip one byte of the compiled code: the tag no longer verifies.
    let mut bytes = std::fs::read(&path).expect("artifact written");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).expect("tamper");
    let vm = vm_with_dir(dir.path(), 4);
    let o = vm
        .execute(&wasm, b"hi", &Limits::default())
        .expect("runs after recompiling");
    assert_eq!(o.output, b"hi");
    assert_eq!(
        vm.cache_stats(),
        CacheStats {
            memory_hits: 0,
            disk_hits: 0,
            compiles: 1
        }
    );

    // A different node's key: its (valid) artifacts are not ours.
    let other = tempfile::tempdir().expect("temp dir");
    vm_with_dir(other.path(), 4)
        .prepare(&wasm)
        .expect("prepares");
    std::fs::copy(
        other.path().join(format!("{}.cwasm", code_hash.to_hex())),
        &path,
    )
    .expect("copy");
    let vm = vm_with_dir(dir.path(), 4);
    vm.prepare(&wasm).expect("prepares");
    assert_eq!(
        vm.cache_stats().compiles,
        1,
        "foreign artifact must not be loaded"
    );
}

#[test]
fn one_prepared_job_runs_many_times() {
    let vm = crate::support::vm();
    let job = vm.prepare(&fixture("echo")).expect("prepares");
    for i in 0..20u8 {
        let o = vm.run(&job, &[i; 3], &Limits::default()).expect("runs");
        assert_eq!(o.output, [i; 3]);
    }
}
