//! secp256k1 keys and recoverable signatures, with domain separation.
//!
//! Every signed payload is `Keccak-256(domain tag ‖ chain id ‖ canonical bytes)`; see
//! [`Domain`]. Signatures are 65 bytes `r ‖ s ‖ v` with `v ∈ {0, 1}`. Recovery rejects
//! `s > n/2` (k256 0.14 would accept it, making signatures malleable), `r` or `s` zero or out of
//! range, and `v` other than 0 or 1.

use bincode::{Decode, Encode};
use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, SigningKey, VerifyingKey};

use crate::primitives::{Address, ChainId, Hash, HexError, parse_fixed_hex};

/// Half the order of secp256k1, big-endian: the largest `s` a signature may carry.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// What a signature is for. Each domain has its own tag, so a signature is valid in one place only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A transaction.
    Transaction,
    /// The proposer's seal over a block header.
    BlockSeal,
    /// A consensus proposal message (height, round, block, valid round).
    Proposal,
    /// A consensus prevote or precommit (the precommits of a block are its finality proof).
    Vote,
    /// A provider's compute offer.
    Offer,
    /// A requester's bid.
    Bid,
}

impl Domain {
    /// The tag bytes prefixed to every payload of this domain.
    pub const fn tag(self) -> &'static [u8] {
        match self {
            Domain::Transaction => b"joule/v1/transaction\0",
            Domain::BlockSeal => b"joule/v1/block-seal\0",
            Domain::Proposal => b"joule/v1/proposal\0",
            Domain::Vote => b"joule/v1/vote\0",
            Domain::Offer => b"joule/v1/offer\0",
            Domain::Bid => b"joule/v1/bid\0",
        }
    }

    /// The digest that is signed: `Keccak-256(tag ‖ chain id (8 bytes BE) ‖ payload)`.
    pub fn signing_hash(self, chain_id: ChainId, payload: &[u8]) -> Hash {
        Hash::keccak_concat(&[self.tag(), &chain_id.to_be_bytes(), payload])
    }
}

/// Why a signature or key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `s` is above n/2; only the low-s form of a signature is accepted.
    #[error("signature has high s (malleable form); only low-s signatures are valid")]
    HighS,
    /// `r` or `s` is zero or not below the curve order.
    #[error("signature r or s is zero or out of range")]
    ScalarOutOfRange,
    /// The recovery byte `v` is not 0 or 1.
    #[error("signature recovery id {0} is not 0 or 1")]
    BadRecoveryId(u8),
    /// No public key can be recovered from this signature and digest.
    #[error("no public key recovers from this signature")]
    Unrecoverable,
    /// The signer is not the one the message claims.
    #[error("signed by {recovered}, but the message names {claimed}")]
    WrongSigner {
        /// The address the message names.
        claimed: Address,
        /// The address the signature recovers to.
        recovered: Address,
    },
    /// A secret key is zero or not below the curve order.
    #[error("secret key is zero or out of range")]
    BadSecretKey,
}

/// A 65-byte recoverable ECDSA signature `r ‖ s ‖ v`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Signature(pub [u8; 65]);

impl Default for Signature {
    fn default() -> Self {
        Signature([0u8; 65])
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature(0x{})", hex::encode(self.0))
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl std::str::FromStr for Signature {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_fixed_hex::<65>(s).map(Signature)
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Signature {
    /// Encoded length in bytes.
    pub const LEN: usize = 65;

    /// Recovers the signer's address from a signature over `digest`, rejecting malleable and
    /// malformed signatures.
    pub fn recover(&self, digest: &Hash) -> Result<Address, SignatureError> {
        let (rs, v) = self.0.split_at(64);
        let v = v[0];
        if v > 1 {
            return Err(SignatureError::BadRecoveryId(v));
        }
        if rs[32..] > HALF_ORDER[..] {
            return Err(SignatureError::HighS);
        }
        let sig = EcdsaSignature::from_slice(rs).map_err(|_| SignatureError::ScalarOutOfRange)?;
        let recid = RecoveryId::from_byte(v).ok_or(SignatureError::BadRecoveryId(v))?;
        let key = VerifyingKey::recover_from_prehash(digest.as_bytes(), &sig, recid)
            .map_err(|_| SignatureError::Unrecoverable)?;
        Ok(address_of(&key))
    }

    /// Recovers the signer of `payload` in `domain` on `chain_id`.
    pub fn recover_payload(
        &self,
        domain: Domain,
        chain_id: ChainId,
        payload: &[u8],
    ) -> Result<Address, SignatureError> {
        self.recover(&domain.signing_hash(chain_id, payload))
    }

    /// Checks that `expected` signed `payload` in `domain` on `chain_id`.
    pub fn verify_payload(
        &self,
        domain: Domain,
        chain_id: ChainId,
        payload: &[u8],
        expected: Address,
    ) -> Result<(), SignatureError> {
        let recovered = self.recover_payload(domain, chain_id, payload)?;
        if recovered != expected {
            return Err(SignatureError::WrongSigner {
                claimed: expected,
                recovered,
            });
        }
        Ok(())
    }
}

/// The Ethereum-compatible address of a public key.
pub fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_sec1_point(false);
    let uncompressed = point.as_bytes();
    let digest = Hash::keccak(&uncompressed[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest.0[12..]);
    Address(out)
}

/// A secp256k1 secret key. Its `Debug` form never shows the secret.
#[derive(Clone)]
pub struct SecretKey {
    key: SigningKey,
    address: Address,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// Builds a key from 32 big-endian bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SignatureError> {
        let key = SigningKey::from_slice(bytes).map_err(|_| SignatureError::BadSecretKey)?;
        let address = address_of(key.verifying_key());
        Ok(SecretKey { key, address })
    }

    /// Parses a 0x-hex secret.
    pub fn from_hex(s: &str) -> Result<Self, KeyParseError> {
        let bytes = parse_fixed_hex::<32>(s.trim())?;
        Ok(Self::from_bytes(&bytes)?)
    }

    /// A fresh random key from the operating system's generator.
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(key) = Self::from_bytes(&bytes) {
                return key;
            }
        }
    }

    /// A deterministic key derived from a seed string (for tests and local dev networks only).
    pub fn from_seed(seed: &str) -> Self {
        let mut digest = Hash::keccak(seed.as_bytes());
        loop {
            if let Ok(key) = Self::from_bytes(&digest.0) {
                return key;
            }
            digest = Hash::keccak(&digest.0);
        }
    }

    /// The 32 secret bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// This key's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The uncompressed SEC1 public key (65 bytes, starting 0x04).
    pub fn public_key_uncompressed(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    /// Signs a 32-byte digest; the result is always low-s.
    pub fn sign_digest(&self, digest: &Hash) -> Signature {
        let (sig, recid) = self.key.sign_prehash_recoverable(digest.as_bytes());
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = recid.to_byte();
        Signature(out)
    }

    /// Signs `payload` in `domain` on `chain_id`.
    pub fn sign_payload(&self, domain: Domain, chain_id: ChainId, payload: &[u8]) -> Signature {
        self.sign_digest(&domain.signing_hash(chain_id, payload))
    }
}

/// Why a secret key could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum KeyParseError {
    /// Not 32 bytes of 0x-hex.
    #[error(transparent)]
    Hex(#[from] HexError),
    /// Not a valid secp256k1 scalar.
    #[error(transparent)]
    Key(#[from] SignatureError),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];

    /// n - s, big-endian.
    fn negate(s: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = ORDER[i] as i16 - s[i] as i16 - borrow;
            borrow = 0;
            if d < 0 {
                d += 256;
                borrow = 1;
            }
            out[i] = d as u8;
        }
        out
    }

    #[test]
    fn ethereum_address_vector() {
        let key = SecretKey::from_hex(
            "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        )
        .unwrap();
        assert_eq!(
            key.address().to_string(),
            "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
        );
    }

    #[test]
    fn sign_recover_round_trip_and_domains_separate() {
        let key = SecretKey::from_seed("alice");
        let sig = key.sign_payload(Domain::Transaction, 7, b"payload");
        assert_eq!(
            sig.recover_payload(Domain::Transaction, 7, b"payload"),
            Ok(key.address())
        );
        // Same bytes in another domain or on another chain recover to someone else.
        assert_ne!(
            sig.recover_payload(Domain::Bid, 7, b"payload").ok(),
            Some(key.address())
        );
        assert_ne!(
            sig.recover_payload(Domain::Transaction, 8, b"payload").ok(),
            Some(key.address())
        );
        assert!(matches!(
            sig.verify_payload(Domain::Bid, 7, b"payload", key.address()),
            Err(SignatureError::WrongSigner { .. }) | Err(SignatureError::Unrecoverable)
        ));
    }

    #[test]
    fn high_s_twin_is_rejected() {
        let key = SecretKey::from_seed("bob");
        let digest = Hash::keccak(b"m");
        let sig = key.sign_digest(&digest);
        assert!(sig.0[32..64] <= HALF_ORDER[..], "k256 signs low-s");
        // The malleable twin (r, n - s, v ^ 1) is a valid ECDSA signature for the same key.
        let mut twin = sig;
        twin.0[32..64].copy_from_slice(&negate(&sig.0[32..64]));
        twin.0[64] ^= 1;
        assert_eq!(twin.recover(&digest), Err(SignatureError::HighS));
    }

    #[test]
    fn malformed_signatures_rejected() {
        let key = SecretKey::from_seed("carol");
        let digest = Hash::keccak(b"m");
        let sig = key.sign_digest(&digest);
        let mut bad_v = sig;
        bad_v.0[64] = 27;
        assert_eq!(
            bad_v.recover(&digest),
            Err(SignatureError::BadRecoveryId(27))
        );
        let mut zero_r = sig;
        zero_r.0[..32].fill(0);
        assert_eq!(
            zero_r.recover(&digest),
            Err(SignatureError::ScalarOutOfRange)
        );
        let mut big_r = sig;
        big_r.0[..32].fill(0xff);
        assert_eq!(
            big_r.recover(&digest),
            Err(SignatureError::ScalarOutOfRange)
        );
        let mut zero_s = sig;
        zero_s.0[32..64].fill(0);
        assert_eq!(
            zero_s.recover(&digest),
            Err(SignatureError::ScalarOutOfRange)
        );
        assert!(SecretKey::from_bytes(&[0u8; 32]).is_err());
        assert!(SecretKey::from_bytes(&ORDER).is_err());
    }
}
