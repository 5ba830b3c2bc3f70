//! Canonical encoding: bincode `=2.0.1` with one fixed configuration.
//!
//! Every hashed or signed value goes through [`encode`] and comes back through [`decode`], which
//! rejects trailing bytes and bounds every length against [`MAX_DECODE_BYTES`] before allocating.
//! Integers are fixed-width big-endian, so each value has exactly one encoding and
//! `encode(decode(b)) == b` for every `b` that decodes (checked by property tests).

use bincode::config::{BigEndian, Configuration, Fixint, Limit};
use bincode::{Decode, Encode};

/// Upper bound on the size of any single encoded value (a block is the largest).
pub const MAX_DECODE_BYTES: usize = 32 * 1024 * 1024;

type Config = Configuration<BigEndian, Fixint, Limit<MAX_DECODE_BYTES>>;

const CONFIG: Config = bincode::config::standard()
    .with_big_endian()
    .with_fixed_int_encoding()
    .with_limit::<MAX_DECODE_BYTES>();

/// Why bytes could not be decoded into a value.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The input is larger than any value may be.
    #[error("input of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes were left over after the value.
    #[error("{trailing} trailing bytes after a {consumed}-byte value")]
    TrailingBytes {
        /// Bytes consumed by the value.
        consumed: usize,
        /// Bytes left over.
        trailing: usize,
    },
    /// The bytes are not a valid encoding (truncated, bad tag, oversize length, ...).
    #[error("malformed {what}: {source}")]
    Malformed {
        /// The type being decoded.
        what: &'static str,
        /// The decoder's reason.
        source: bincode::error::DecodeError,
    },
}

/// Encodes `value` canonically.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    bincode::encode_to_vec(value, CONFIG)
        .expect("encoding into a Vec only fails for values over MAX_DECODE_BYTES, which no caller builds; qed")
}

/// Decodes exactly one `T` from `bytes`, rejecting oversize input and trailing bytes.
pub fn decode<T: Decode<()>>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_DECODE_BYTES {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: MAX_DECODE_BYTES,
        });
    }
    let (value, consumed) =
        bincode::decode_from_slice(bytes, CONFIG).map_err(|source| CodecError::Malformed {
            what: std::any::type_name::<T>(),
            source,
        })?;
    if consumed != bytes.len() {
        return Err(CodecError::TrailingBytes {
            consumed,
            trailing: bytes.len() - consumed,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Encode, Decode)]
    struct Sample {
        a: u64,
        b: Vec<u8>,
        c: Option<bool>,
    }

    #[test]
    fn rejects_trailing_and_truncated() {
        let v = Sample {
            a: 7,
            b: vec![1, 2, 3],
            c: Some(true),
        };
        let mut bytes = encode(&v);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), v);
        bytes.push(0);
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::TrailingBytes { trailing: 1, .. })
        ));
        bytes.truncate(bytes.len() - 3);
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::Malformed { .. })
        ));
    }

    #[test]
    fn rejects_oversize_length_before_allocating() {
        // a: u64, then a Vec length claiming 2^60 bytes.
        let mut bytes = 7u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&(1u64 << 60).to_be_bytes());
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::Malformed { .. })
        ));
    }

    #[test]
    fn rejects_non_canonical_bool_and_option() {
        let mut bytes = encode(&Sample {
            a: 1,
            b: vec![],
            c: Some(true),
        });
        let n = bytes.len();
        bytes[n - 1] = 2; // bool must be 0 or 1
        assert!(decode::<Sample>(&bytes).is_err());
        bytes[n - 2] = 2; // option tag must be 0 or 1
        assert!(decode::<Sample>(&bytes).is_err());
    }
}
