//! The 32-byte Keccak-256 digest used for code hashes and output hashes.

use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::fmt;

/// A Keccak-256 digest: the hash of a module's bytes (its *code hash*) or of a job's output.
///
/// The same function as the ledger's `Hash` (DESIGN.md: "Hash = Keccak-256"), kept as a plain
/// newtype so that `joule-vm` does not depend on the chain.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// Keccak-256 of `bytes`.
    pub fn keccak(bytes: &[u8]) -> Self {
        Self(Keccak256::digest(bytes).into())
    }

    /// The digest as lowercase hex without a prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_input_is_the_known_vector() {
        assert_eq!(
            Hash32::keccak(b"").to_hex(),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}
