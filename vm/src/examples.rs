//! The example jobs, compiled from `vm/jobs` for `wasm32-unknown-unknown` by `vm/build.rs`.
//!
//! Each job's algorithm lives in `vm/jobs/kernels/src/<name>.rs` with its input format. The
//! exact fuel and output hash of each on its [`Example::sample_input`] are pinned by
//! `vm/tests/golden.rs`; they depend on the rustc that built the jobs (1.95.0 here), the job
//! crates' `Cargo.lock` and release profile, and the wasmtime version.

macro_rules! job_bytes {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/jobs/", $file))
    };
}

/// Keccak-256 hash chain. Input: `iterations: u32 LE ‖ seed`. Output: 32 bytes.
pub const HASH_CHAIN: &[u8] = job_bytes!("hash_chain.wasm");
/// Sieve of Eratosthenes. Input: `limit: u32 LE`. Output: `count u32 ‖ largest u32 ‖ sum u64`.
pub const PRIMES: &[u8] = job_bytes!("primes.wasm");
/// `f64` matrix multiply. Input: `n: u32 LE ‖ seed: u32 LE`. Output: `n²` f64 LE.
pub const MATMUL: &[u8] = job_bytes!("matmul.wasm");
/// Mandelbrot render. Input: `width ‖ height ‖ max_iter` (u32 LE). Output: a PGM (P5) image.
pub const MANDELBROT: &[u8] = job_bytes!("mandelbrot.wasm");
/// Random single-cycle pointer chase over a large table. Input: `n ‖ steps ‖ seed` (u32 LE).
/// Output: `position u32 ‖ checksum u64`.
pub const POINTER_CHASE: &[u8] = job_bytes!("pointer_chase.wasm");

/// One example job with a representative input.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// Short name (`hash_chain`, `primes`, …).
    pub name: &'static str,
    /// The wasm module.
    pub wasm: &'static [u8],
    /// The input used by the golden tests and benches.
    pub sample_input: &'static [u8],
}

/// All example jobs.
pub const ALL: [Example; 5] = [
    // 20 000 iterations, seed "joule".
    Example {
        name: "hash_chain",
        wasm: HASH_CHAIN,
        sample_input: b"\x20\x4e\x00\x00joule",
    },
    // Primes below 2 000 000.
    Example {
        name: "primes",
        wasm: PRIMES,
        sample_input: b"\x80\x84\x1e\x00",
    },
    // 128 × 128, seed 1.
    Example {
        name: "matmul",
        wasm: MATMUL,
        sample_input: b"\x80\x00\x00\x00\x01\x00\x00\x00",
    },
    // 320 × 240, 256 iterations.
    Example {
        name: "mandelbrot",
        wasm: MANDELBROT,
        sample_input: b"\x40\x01\x00\x00\xf0\x00\x00\x00\x00\x01\x00\x00",
    },
    // 4 Mi slots (16 MiB), 4 Mi steps, seed 7.
    Example {
        name: "pointer_chase",
        wasm: POINTER_CHASE,
        sample_input: b"\x00\x00\x40\x00\x00\x00\x40\x00\x07\x00\x00\x00",
    },
];

/// The example called `name`.
pub fn by_name(name: &str) -> Option<&'static Example> {
    ALL.iter().find(|e| e.name == name)
}
