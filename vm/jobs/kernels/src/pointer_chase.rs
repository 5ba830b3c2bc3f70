//! A memory-hungry job: builds one random cycle through `n` slots of a `u32` table (Sattolo's
//! algorithm) and follows it for `steps` hops, so nearly every hop misses the cache.
//!
//! Input: `n: u32 LE` (default 1 << 22, a 16 MiB table), `steps: u32 LE` (default `n`),
//! `seed: u32 LE` (default 7).
//! Output: `position: u32 LE ‖ checksum: u64 LE` after the last hop.

use super::params::{XorShift, u32_at};
use alloc::vec::Vec;

/// Runs the job.
pub fn run(input: &[u8]) -> Vec<u8> {
    let n = u32_at(input, 0, 1 << 22).max(2);
    let steps = u32_at(input, 1, n);
    let mut rng = XorShift::new(u32_at(input, 2, 7) as u64);
    let mut next: Vec<u32> = (0..n).collect();
    // Sattolo: a uniformly random permutation made of one single cycle.
    let mut i = n as usize - 1;
    while i > 0 {
        let j = (rng.next_u64() % i as u64) as usize;
        next.swap(i, j);
        i -= 1;
    }
    let (mut pos, mut checksum) = (0u32, 0u64);
    for step in 0..steps {
        pos = next[pos as usize];
        checksum = checksum
            .wrapping_mul(31)
            .wrapping_add(pos as u64 ^ step as u64);
    }
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&pos.to_le_bytes());
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}
