//! The algorithms of Joule's example jobs.
//!
//! Each module has `pub fn run(input: &[u8]) -> Vec<u8>` and documents its input format; an empty
//! or short input selects the defaults. The wasm jobs (`vm/jobs/*`) call these functions through
//! `joule_guest::job!`, and the native benches in `vm/benches` include the very same files with
//! `#[path]`, so "native" and "wasm" run one algorithm. Every file here is `no_std` + `alloc`.
#![no_std]

extern crate alloc;

pub mod hash_chain;
pub mod mandelbrot;
pub mod matmul;
pub mod params;
pub mod pointer_chase;
pub mod primes;
