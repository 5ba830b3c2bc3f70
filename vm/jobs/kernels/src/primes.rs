//! Sieve of Eratosthenes.
//!
//! Input: `limit: u32 LE` (default 1 000 000).
//! Output: `count: u32 LE ‖ largest: u32 LE ‖ sum: u64 LE` of the primes below `limit`.
//!
//! The table is a bit set (one `u64` word per 64 numbers, bit set = composite), so the counting
//! pass looks at 64 numbers per step and visits only the primes themselves. In wasm every loop
//! iteration pays for a fuel check at the loop header, so loops that do more per iteration keep
//! the metering overhead small (a byte table with one store or one number per iteration ran at
//! half the unmetered speed with fuel).

use super::params::u32_at;
use alloc::vec;
use alloc::vec::Vec;

/// Runs the job.
pub fn run(input: &[u8]) -> Vec<u8> {
    let limit = u32_at(input, 0, 1_000_000) as u64;
    let mut composite = vec![0u64; limit.div_ceil(64) as usize];
    if let Some(first) = composite.first_mut() {
        *first |= 0b11; // 0 and 1 are not primes
    }
    if let Some(last) = composite.last_mut() {
        // The numbers from `limit` to the end of the last word are not counted.
        if !limit.is_multiple_of(64) {
            *last |= !0u64 << (limit % 64);
        }
    }
    // In u64: `i * i` and `j + i` overflow a 32-bit usize on wasm32.
    let mut i = 2u64;
    while i * i < limit {
        if composite[(i / 64) as usize] & (1 << (i % 64)) == 0 {
            mark_multiples(&mut composite, i, limit);
        }
        i += 1;
    }
    let (mut count, mut largest, mut sum) = (0u32, 0u32, 0u64);
    for (w, &word) in composite.iter().enumerate() {
        let mut primes = !word;
        count += primes.count_ones();
        while primes != 0 {
            let n = w as u64 * 64 + u64::from(primes.trailing_zeros());
            largest = n as u32;
            sum += n;
            primes &= primes - 1;
        }
    }
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&largest.to_le_bytes());
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Sets the bits of `step²`, `step² + step`, … below `end`, four multiples per iteration.
fn mark_multiples(composite: &mut [u64], step: u64, end: u64) {
    let mut j = step * step;
    let mut mark = |n: u64| composite[(n / 64) as usize] |= 1 << (n % 64);
    while j + 3 * step < end {
        mark(j);
        mark(j + step);
        mark(j + 2 * step);
        mark(j + 3 * step);
        j += 4 * step;
    }
    while j < end {
        mark(j);
        j += step;
    }
}
