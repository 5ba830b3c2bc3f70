//! Keccak-256 hash chain: `h0 = keccak(seed)`, `h(i+1) = keccak(h(i))`.
//!
//! Input: `iterations: u32 LE` (default 10 000) followed by the seed bytes.
//! Output: the 32-byte final hash.

use super::keccak::keccak256;
use super::params::u32_at;
use alloc::vec::Vec;

/// Runs the job.
pub fn run(input: &[u8]) -> Vec<u8> {
    let iterations = u32_at(input, 0, 10_000);
    let seed = input.get(4..).unwrap_or(&[]);
    let mut h = keccak256(seed);
    for _ in 0..iterations {
        h = keccak256(&h);
    }
    h.to_vec()
}
