//! Little-endian parameters at the front of a job input.

/// Reads the `index`-th little-endian `u32` of `input`, or `default` if the input is too short.
pub fn u32_at(input: &[u8], index: usize, default: u32) -> u32 {
    let start = index * 4;
    match input.get(start..start + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => default,
    }
}

/// A small deterministic pseudo-random generator (xorshift64*), so jobs need no randomness
/// from the host.
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (0 is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
