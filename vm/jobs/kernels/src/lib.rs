//! The algorithms of Joule's example jobs.
//!
//! Each module has `pub fn run(input: &[u8]) -> Vec<u8>` and documents its input format; an empty
//! or short input selects the defaults. The wasm jobs (`vm/jobs/*`) call these functions through
//! `joule_guest::job!`, and the native benches in `vm/benches` include the very same files with
//! `#[path]`, so "native" and "wasm" run one algorithm; [`by_name`] maps a job name to its
//! function for them. Every file here is `no_std` + `alloc`.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

pub mod hash_chain;
pub mod keccak;
pub mod mandelbrot;
pub mod matmul;
pub mod params;
pub mod pointer_chase;
pub mod primes;

/// A job's algorithm: input bytes to output bytes.
pub type Kernel = fn(&[u8]) -> Vec<u8>;

/// The algorithm of the example job called `name` (the names of `joule_vm::examples::ALL`).
pub fn by_name(name: &str) -> Option<Kernel> {
    Some(match name {
        "hash_chain" => hash_chain::run,
        "primes" => primes::run,
        "matmul" => matmul::run,
        "mandelbrot" => mandelbrot::run,
        "pointer_chase" => pointer_chase::run,
        _ => return None,
    })
}
