//! Dense `f64` matrix multiply `C = A × B` of two pseudo-random `n × n` matrices.
//!
//! Input: `n: u32 LE` (default 64), `seed: u32 LE` (default 1).
//! Output: `C` row by row as `n²` little-endian `f64`.
//!
//! Entries of `A` and `B` are in `[-1, 1)`; the loop order (i, k, j) and plain `*`/`+` (never a
//! fused multiply-add) make the result bit-identical in wasm and native code.

use super::params::{XorShift, u32_at};
use alloc::vec;
use alloc::vec::Vec;

fn random_matrix(rng: &mut XorShift, n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
        .collect()
}

/// Runs the job.
pub fn run(input: &[u8]) -> Vec<u8> {
    let n = u32_at(input, 0, 64) as usize;
    let mut rng = XorShift::new(u32_at(input, 1, 1) as u64);
    let a = random_matrix(&mut rng, n);
    let b = random_matrix(&mut rng, n);
    let mut c = vec![0.0f64; n * n];
    for i in 0..n {
        let row = &mut c[i * n..(i + 1) * n];
        for k in 0..n {
            let aik = a[i * n + k];
            let brow = &b[k * n..(k + 1) * n];
            for (cij, bkj) in row.iter_mut().zip(brow) {
                *cij += aik * bkj;
            }
        }
    }
    let mut out = Vec::with_capacity(n * n * 8);
    for x in c {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}
