//! Sieve of Eratosthenes.
//!
//! Input: `limit: u32 LE` (default 1 000 000).
//! Output: `count: u32 LE ‖ largest: u32 LE ‖ sum: u64 LE` of the primes below `limit`.

use super::params::u32_at;
use alloc::vec;
use alloc::vec::Vec;

/// Runs the job.
pub fn run(input: &[u8]) -> Vec<u8> {
    let limit = u32_at(input, 0, 1_000_000) as usize;
    let mut composite = vec![false; limit];
    let (mut count, mut largest, mut sum) = (0u32, 0u32, 0u64);
    let mut i = 2;
    while i < limit {
        if !composite[i] {
            count += 1;
            largest = i as u32;
            sum += i as u64;
            // In u64: `i * i` and `j + i` overflow a 32-bit usize on wasm32.
            let (step, end) = (i as u64, limit as u64);
            let mut j = step * step;
            while j < end {
                composite[j as usize] = true;
                j += step;
            }
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&largest.to_le_bytes());
    out.extend_from_slice(&sum.to_le_bytes());
    out
}
