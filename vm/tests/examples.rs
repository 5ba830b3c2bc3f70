//! The example jobs run correctly in the VM: same bytes as the native build of the same source,
//! a viewable Mandelbrot image, deterministic failures for guest panics and memory exhaustion.

use crate::kernels;
use crate::support::{run_twice, vm};
use joule_vm::{Limits, Status, examples};

fn native(name: &str) -> kernels::Kernel {
    kernels::by_name(name).unwrap_or_else(|| panic!("no native kernel for {name}"))
}

/// Small inputs so the test stays fast in debug builds.
fn small_input(name: &str) -> &'static [u8] {
    match name {
        "hash_chain" => b"\x64\x00\x00\x00seed",
        "primes" => b"\x10\x27\x00\x00",
        "matmul" => b"\x10\x00\x00\x00\x05\x00\x00\x00",
        "mandelbrot" => b"\x20\x00\x00\x00\x10\x00\x00\x00\x40\x00\x00\x00",
        "pointer_chase" => b"\x00\x10\x00\x00\x00\x20\x00\x00\x03\x00\x00\x00",
        other => panic!("no small input for {other}"),
    }
}

#[test]
fn wasm_output_equals_native_output() {
    let vm = vm();
    for e in examples::ALL {
        let input = small_input(e.name);
        let o = vm.execute(e.wasm, input, &Limits::default()).expect("runs");
        assert_eq!(o.status, Status::Ok, "{}", e.name);
        assert_eq!(
            o.output,
            native(e.name)(input),
            "{}: wasm and native differ",
            e.name
        );
    }
}

#[test]
fn wasm_output_equals_native_output_on_the_sample_inputs() {
    // The sample inputs are large enough to overflow 32-bit arithmetic where a kernel is careless
    // (the sieve once computed `i * i` in a wasm32 usize).
    let vm = vm();
    for e in examples::ALL {
        let o = vm
            .execute(e.wasm, e.sample_input, &Limits::default())
            .expect("runs");
        assert_eq!(
            o.output,
            native(e.name)(e.sample_input),
            "{}: wasm and native differ",
            e.name
        );
    }
}

#[test]
fn known_answers() {
    let vm = vm();
    // 1229 primes below 10 000, the largest 9973, their sum 5 736 396.
    let o = vm
        .execute(examples::PRIMES, b"\x10\x27\x00\x00", &Limits::default())
        .expect("runs");
    let mut expected = 1229u32.to_le_bytes().to_vec();
    expected.extend_from_slice(&9973u32.to_le_bytes());
    expected.extend_from_slice(&5_736_396u64.to_le_bytes());
    assert_eq!(o.output, expected);
    // The sample: 148 933 primes below 2 000 000, the largest 1 999 993, their sum 142 913 828 922.
    let o = vm.execute(
        examples::PRIMES,
        examples::by_name("primes").expect("exists").sample_input,
        &Limits::default(),
    );
    let mut expected = 148_933u32.to_le_bytes().to_vec();
    expected.extend_from_slice(&1_999_993u32.to_le_bytes());
    expected.extend_from_slice(&142_913_828_922u64.to_le_bytes());
    assert_eq!(o.expect("runs").output, expected);
    // Zero iterations of the hash chain is Keccak-256 of the seed.
    let o = vm
        .execute(examples::HASH_CHAIN, b"\0\0\0\0", &Limits::default())
        .expect("runs");
    assert_eq!(o.output, joule_vm::Hash32::keccak(b"").0);
}

#[test]
fn hash_chain_keccak_matches_the_sha3_crate() {
    // The job's own Keccak-256 (`kernels/src/keccak.rs`) against `sha3`, natively for every
    // length up to past four 136-byte blocks, and in wasm around the block boundaries.
    let message: Vec<u8> = (0..600u32).map(|i| (i * 7 + 3) as u8).collect();
    for len in 0..=message.len() {
        assert_eq!(
            kernels::keccak::keccak256(&message[..len]),
            joule_vm::Hash32::keccak(&message[..len]).0,
            "length {len}"
        );
    }
    let vm = vm();
    for len in [1, 7, 8, 31, 32, 33, 135, 136, 137, 271, 272, 273, 600] {
        let mut input = 0u32.to_le_bytes().to_vec();
        input.extend_from_slice(&message[..len]);
        let o = vm
            .execute(examples::HASH_CHAIN, &input, &Limits::default())
            .expect("runs");
        assert_eq!(
            o.output,
            joule_vm::Hash32::keccak(&message[..len]).0,
            "length {len}"
        );
    }
    // Two links: keccak(keccak(keccak(seed))).
    let o = vm
        .execute(examples::HASH_CHAIN, b"\x02\0\0\0joule", &Limits::default())
        .expect("runs");
    let mut h = joule_vm::Hash32::keccak(b"joule");
    for _ in 0..2 {
        h = joule_vm::Hash32::keccak(&h.0);
    }
    assert_eq!(o.output, h.0);
}

#[test]
fn mandelbrot_is_a_pgm_image() {
    let o = run_twice(
        examples::MANDELBROT,
        b"\x40\x00\x00\x00\x30\x00\x00\x00\x40\x00\x00\x00",
        &Limits::default(),
    );
    let header = b"P5\n64 48\n255\n";
    assert!(o.output.starts_with(header));
    assert_eq!(o.output.len(), header.len() + 64 * 48);
    let pixels = &o.output[header.len()..];
    assert!(pixels.contains(&0), "some pixels are inside the set");
    assert!(
        pixels.iter().any(|&p| p > 200),
        "pixels near the boundary are bright"
    );
    if let Some(dir) = std::env::var_os("JOULE_VM_WRITE_IMAGE") {
        std::fs::write(std::path::Path::new(&dir).join("mandelbrot.pgm"), &o.output)
            .expect("write image");
    }
}

#[test]
fn a_guest_that_asks_for_too_much_memory_hits_the_limit() {
    // The sieve of 1.75 Gi numbers needs a 224 MiB bit table; the limit is 64 MiB.
    let limits = Limits {
        max_memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let o = run_twice(examples::PRIMES, b"\x00\x00\x00\x70", &limits);
    assert_eq!(o.status, Status::MemoryLimit);
}

#[test]
fn pointer_chase_uses_the_memory_it_claims() {
    // 1 Mi slots = 4 MiB: fails under a 2 MiB limit, succeeds under 8 MiB.
    let input = b"\x00\x00\x10\x00\x00\x10\x00\x00\x07\x00\x00\x00";
    let tight = Limits {
        max_memory_bytes: 2 << 20,
        ..Limits::default()
    };
    assert_eq!(
        run_twice(examples::POINTER_CHASE, input, &tight).status,
        Status::MemoryLimit
    );
    let roomy = Limits {
        max_memory_bytes: 8 << 20,
        ..Limits::default()
    };
    assert_eq!(
        run_twice(examples::POINTER_CHASE, input, &roomy).status,
        Status::Ok
    );
}

#[test]
fn examples_run_out_of_fuel_deterministically() {
    for e in examples::ALL {
        let o = run_twice(e.wasm, e.sample_input, &Limits::with_fuel(100_000));
        assert_eq!(o.status, Status::OutOfFuel, "{}", e.name);
        assert_eq!(o.fuel_used, 100_000);
    }
}

#[test]
fn a_guest_panic_ends_the_job_aborted_with_the_panic_message() {
    let o = run_twice(
        examples::MANDELBROT,
        b"\x00\x00\x01\x00\x00\x00\x01\x00",
        &Limits::default(),
    );
    let Status::Aborted(msg) = &o.status else {
        panic!("expected aborted, got {}", o.status)
    };
    assert!(
        msg.contains("image of 65536x65536 pixels is larger than 16 Mi pixels"),
        "{msg}"
    );
    assert!(msg.contains("kernels/src/mandelbrot.rs"), "{msg}");
    assert!(
        !msg.contains(env!("CARGO_MANIFEST_DIR")),
        "no checkout path in the module: {msg}"
    );
}
