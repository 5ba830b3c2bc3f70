//! Fixed-size primitives shared by every crate: [`Address`], [`Hash`], and the integer aliases.
//!
//! Byte types print and parse as `0x`-prefixed lower-case hex, and serialize to JSON the same way.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};
use sha3::{Digest, Keccak256};

/// An amount of credits in the smallest unit. Arithmetic on amounts is always checked.
pub type Amount = u128;
/// Identifies one chain; part of every signed payload so no signature is valid on two chains.
pub type ChainId = u64;
/// Per-sender transaction counter; the next transaction of an account must carry its nonce.
pub type Nonce = u64;
/// Height of a block; genesis is 0.
pub type BlockNumber = u64;
/// Consensus round within one height.
pub type Round = u32;

/// Error parsing a hex-encoded fixed-size value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The text did not start with `0x`.
    #[error("expected a 0x-prefixed hex string, got {0:?}")]
    MissingPrefix(String),
    /// The text had the wrong number of hex digits.
    #[error("expected {expected} bytes of hex, got {got} hex digits")]
    Length {
        /// Expected byte length.
        expected: usize,
        /// Hex digits found.
        got: usize,
    },
    /// A character was not a hex digit.
    #[error("invalid hex digit in {0:?}")]
    Digit(String),
}

/// Parses `0x`-prefixed hex into exactly `N` bytes.
pub fn parse_fixed_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| HexError::MissingPrefix(s.chars().take(16).collect()))?;
    if digits.len() != 2 * N {
        return Err(HexError::Length {
            expected: N,
            got: digits.len(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|_| HexError::Digit(s.chars().take(16).collect()))?;
    Ok(out)
}

/// Parses `0x`-prefixed hex of any even length.
pub fn parse_hex_bytes(s: &str) -> Result<Vec<u8>, HexError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| HexError::MissingPrefix(s.chars().take(16).collect()))?;
    hex::decode(digits).map_err(|_| HexError::Digit(s.chars().take(16).collect()))
}

/// Formats bytes as `0x`-prefixed lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;
            /// The all-zero value.
            pub const ZERO: Self = Self([0u8; $len]);

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Builds the value from a slice of exactly the right length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(bytes).ok().map(Self)
            }
        }

        impl $name {
            /// Writes `0x` and the lowercase hex digits into `buf` and returns them as text:
            /// one pass, no allocation (Display and JSON serialization go through it).
            fn hex_into<'b>(&self, buf: &'b mut [u8; 2 + 2 * $len]) -> &'b str {
                buf[..2].copy_from_slice(b"0x");
                hex::encode_to_slice(self.0, &mut buf[2..])
                    .expect("the buffer holds exactly two digits per byte; qed");
                std::str::from_utf8(buf).expect("0x and hex digits are ASCII; qed")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.hex_into(&mut [0u8; 2 + 2 * $len]))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_fixed_hex::<$len>(s).map(Self)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.hex_into(&mut [0u8; 2 + 2 * $len]))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

fixed_bytes!(
    /// A 20-byte account address: the last 20 bytes of Keccak-256 of the uncompressed public key.
    Address,
    20
);
fixed_bytes!(
    /// A Keccak-256 digest.
    Hash,
    32
);

impl Hash {
    /// Keccak-256 of `data`.
    pub fn keccak(data: &[u8]) -> Hash {
        Hash(Keccak256::digest(data).into())
    }

    /// Keccak-256 of the concatenation of `parts`, without allocating.
    pub fn keccak_concat(parts: &[&[u8]]) -> Hash {
        let mut h = Keccak256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }
}

/// Serde helpers for amounts as decimal strings and byte vectors as 0x-hex in JSON.
pub mod serde_helpers {
    use serde::{Deserialize, Deserializer, Serializer};

    /// `u128` as a decimal string (JSON numbers lose precision past 2^53).
    pub mod amount {
        use super::*;
        /// Serializes as a decimal string.
        pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(v)
        }
        /// Accepts a decimal string.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            s.parse().map_err(|_| {
                serde::de::Error::custom(format!("invalid amount {s:?}: expected a decimal string"))
            })
        }
    }

    /// `Vec<u8>` as 0x-hex.
    pub mod bytes {
        use super::*;
        /// Serializes as 0x-hex.
        pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&crate::primitives::to_hex(v))
        }
        /// Accepts 0x-hex.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            crate::primitives::parse_hex_bytes(&s).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let a: Address = "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
            .parse()
            .unwrap();
        assert_eq!(a.to_string(), "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23");
        assert_eq!(format!("{a:?}"), a.to_string());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23\""
        );
        let h = Hash([0xab; 32]);
        assert_eq!(h.to_string(), format!("0x{}", "ab".repeat(32)));
        assert_eq!(
            serde_json::from_str::<Hash>(&serde_json::to_string(&h).unwrap()).unwrap(),
            h
        );
        assert_eq!(
            "2c7536e3605d9c16a7a3d7b1898e529396a65c23".parse::<Address>(),
            Err(HexError::MissingPrefix("2c7536e3605d9c16".into()))
        );
        assert!(matches!(
            "0x12".parse::<Address>(),
            Err(HexError::Length {
                expected: 20,
                got: 2
            })
        ));
        assert!(matches!(
            "0xzz7536e3605d9c16a7a3d7b1898e529396a65c23".parse::<Address>(),
            Err(HexError::Digit(_))
        ));
    }

    #[test]
    fn keccak_empty_vector() {
        assert_eq!(
            Hash::keccak(b"").to_string(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(Hash::keccak(b"ab"), Hash::keccak_concat(&[b"a", b"b"]));
    }

    #[test]
    fn json_forms() {
        let h = Hash::keccak(b"x");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Hash>("\"0x00\"").is_err());
    }
}
