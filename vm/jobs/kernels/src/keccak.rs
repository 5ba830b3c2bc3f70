//! Keccak-256 (the original Keccak padding, as in Ethereum), written out for the hash chain job.
//!
//! The permutation is straight-line code per round on a local copy of the 25 lanes, with every
//! lane index a constant. The `sha3` crate (0.12, `keccak` 0.2.2, its portable backend on both
//! targets) writes ρ and π as a 24-step loop over index and rotation tables. rustc's LLVM unrolls
//! that loop fully for x86-64 but not for wasm32 (only by two: the unroll cost limit), so in wasm
//! every round loaded the tables from linear memory, rotated by variable amounts and stored the
//! state to linear memory and reloaded it; the job ran at 3× native speed in wasmtime
//! (`BENCHMARKS.md`, *Why hash_chain was 3× native*). Written out, both targets get the same
//! code: the lanes live in wasm locals, which Cranelift keeps in registers and spill slots.

/// Bytes absorbed per permutation: 1600 bits minus twice the 256-bit output.
const RATE: usize = 136;

/// ι round constants.
const RC: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// Keccak-256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut state = [0u64; 25];
    let mut blocks = data.chunks_exact(RATE);
    for block in &mut blocks {
        absorb(&mut state, block);
        keccak_f1600(&mut state);
    }
    // The last, partial block: its whole lanes, then the remaining bytes with the padding's
    // first byte (0x01), and the padding's last bit at the end of the rate.
    let mut lanes = blocks.remainder().chunks_exact(8);
    let mut lane = 0;
    for bytes in &mut lanes {
        state[lane] ^= le_u64(bytes);
        lane += 1;
    }
    let tail = lanes.remainder();
    let mut padded = [0u8; 8];
    padded[..tail.len()].copy_from_slice(tail);
    padded[tail.len()] = 0x01;
    state[lane] ^= u64::from_le_bytes(padded);
    state[RATE / 8 - 1] ^= 0x80 << 56;
    keccak_f1600(&mut state);
    let mut out = [0u8; 32];
    for (bytes, lane) in out.chunks_exact_mut(8).zip(state) {
        bytes.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// XORs one `RATE`-byte block into the state, lanes little-endian.
fn absorb(state: &mut [u64; 25], block: &[u8]) {
    for (lane, bytes) in state.iter_mut().zip(block.chunks_exact(8)) {
        *lane ^= le_u64(bytes);
    }
}

/// The little-endian `u64` of 8 bytes.
fn le_u64(bytes: &[u8]) -> u64 {
    let mut le = [0u8; 8];
    le.copy_from_slice(bytes);
    u64::from_le_bytes(le)
}

/// The Keccak-f[1600] permutation; lane (x, y) is `state[x + 5 * y]`.
fn keccak_f1600(state: &mut [u64; 25]) {
    let mut a = *state;
    for rc in RC {
        // θ.
        let c = [
            a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20],
            a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21],
            a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22],
            a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23],
            a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24],
        ];
        let d = [
            c[4] ^ c[1].rotate_left(1),
            c[0] ^ c[2].rotate_left(1),
            c[1] ^ c[3].rotate_left(1),
            c[2] ^ c[4].rotate_left(1),
            c[3] ^ c[0].rotate_left(1),
        ];
        // ρ and π: lane (x, y) moves to (y, 2x + 3y), rotated by its ρ offset.
        let b = [
            a[0] ^ d[0],
            (a[6] ^ d[1]).rotate_left(44),
            (a[12] ^ d[2]).rotate_left(43),
            (a[18] ^ d[3]).rotate_left(21),
            (a[24] ^ d[4]).rotate_left(14),
            (a[3] ^ d[3]).rotate_left(28),
            (a[9] ^ d[4]).rotate_left(20),
            (a[10] ^ d[0]).rotate_left(3),
            (a[16] ^ d[1]).rotate_left(45),
            (a[22] ^ d[2]).rotate_left(61),
            (a[1] ^ d[1]).rotate_left(1),
            (a[7] ^ d[2]).rotate_left(6),
            (a[13] ^ d[3]).rotate_left(25),
            (a[19] ^ d[4]).rotate_left(8),
            (a[20] ^ d[0]).rotate_left(18),
            (a[4] ^ d[4]).rotate_left(27),
            (a[5] ^ d[0]).rotate_left(36),
            (a[11] ^ d[1]).rotate_left(10),
            (a[17] ^ d[2]).rotate_left(15),
            (a[23] ^ d[3]).rotate_left(56),
            (a[2] ^ d[2]).rotate_left(62),
            (a[8] ^ d[3]).rotate_left(55),
            (a[14] ^ d[4]).rotate_left(39),
            (a[15] ^ d[0]).rotate_left(41),
            (a[21] ^ d[1]).rotate_left(2),
        ];
        // χ, then ι.
        a = [
            b[0] ^ (!b[1] & b[2]),
            b[1] ^ (!b[2] & b[3]),
            b[2] ^ (!b[3] & b[4]),
            b[3] ^ (!b[4] & b[0]),
            b[4] ^ (!b[0] & b[1]),
            b[5] ^ (!b[6] & b[7]),
            b[6] ^ (!b[7] & b[8]),
            b[7] ^ (!b[8] & b[9]),
            b[8] ^ (!b[9] & b[5]),
            b[9] ^ (!b[5] & b[6]),
            b[10] ^ (!b[11] & b[12]),
            b[11] ^ (!b[12] & b[13]),
            b[12] ^ (!b[13] & b[14]),
            b[13] ^ (!b[14] & b[10]),
            b[14] ^ (!b[10] & b[11]),
            b[15] ^ (!b[16] & b[17]),
            b[16] ^ (!b[17] & b[18]),
            b[17] ^ (!b[18] & b[19]),
            b[18] ^ (!b[19] & b[15]),
            b[19] ^ (!b[15] & b[16]),
            b[20] ^ (!b[21] & b[22]),
            b[21] ^ (!b[22] & b[23]),
            b[22] ^ (!b[23] & b[24]),
            b[23] ^ (!b[24] & b[20]),
            b[24] ^ (!b[20] & b[21]),
        ];
        a[0] ^= rc;
    }
    *state = a;
}
