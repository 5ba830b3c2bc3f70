//! `joule job run` as a real child process.

use std::path::Path;
use std::process::{Command, Output};

fn joule(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(args)
        .output()
        .expect("the joule binary runs")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path.to_str().expect("temp paths are UTF-8").to_owned()
}

#[test]
fn json_report_of_an_example_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = write(
        dir.path(),
        "mandelbrot.wasm",
        joule_vm::examples::MANDELBROT,
    );
    let out = dir.path().join("image.pgm");
    let input = "400000003000000020000000"; // 64 × 48, 32 iterations
    let o = joule(&[
        "job",
        "run",
        &module,
        "--input-hex",
        input,
        "--json",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is one JSON object");
    assert_eq!(v["status"], "ok");
    let image = std::fs::read(&out).expect("--out wrote the output");
    assert!(image.starts_with(b"P5\n64 48\n255\n"));
    assert_eq!(v["output_size"], image.len());
    let hash = format!("0x{}", hex::encode(sha3_keccak(&image)));
    assert_eq!(v["output_hash"], hash);
    assert!(v["fuel_used"].as_u64().expect("number") > 0);
    assert!(v["wall_time_us"].is_u64());
}

fn sha3_keccak(bytes: &[u8]) -> [u8; 32] {
    joule_vm::Hash32::keccak(bytes).0
}

#[test]
fn table_report_with_input_file_and_fuel_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = write(dir.path(), "primes.wasm", joule_vm::examples::PRIMES);
    let input = write(dir.path(), "input.bin", &10_000u32.to_le_bytes());
    let o = joule(&["job", "run", &module, "--input", &input]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).expect("utf-8");
    assert!(text.contains("status       ok"), "{text}");
    assert!(text.contains("output size  16 bytes"), "{text}");

    let o = joule(&[
        "job", "run", &module, "--input", &input, "--fuel", "1000", "--json",
    ]);
    assert!(
        o.status.success(),
        "a job that runs out of fuel is still an outcome"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["status"], "out_of_fuel");
    assert_eq!(v["fuel_used"], 1000);
}

#[test]
fn invalid_module_prints_the_validation_error_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    // (module (import "wasi_snapshot_preview1" "fd_write" (func)) (memory (export "memory") 1) (func (export "run")))
    let wasm = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x02\x23\x01\x16wasi_snapshot_preview1\x08fd_write\0\0\x03\x02\x01\0\x05\x03\x01\0\x01\x07\x10\x02\x06memory\x02\0\x03run\0\x01\x0a\x04\x01\x02\0\x0b";
    let module = write(dir.path(), "wasi.wasm", wasm);
    let o = joule(&["job", "run", &module]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid module") && err.contains("wasi_snapshot_preview1.fd_write"),
        "{err}"
    );

    let garbage = write(dir.path(), "garbage.wasm", b"not wasm");
    let o = joule(&["job", "run", &garbage, "--json"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a valid WebAssembly module"));
}
