//! Market orders: a provider's [`Offer`] and a requester's [`Bid`], each signed by its author.
//!
//! Orders travel off chain (gossip, JSON-RPC) and reach the chain inside `Call::Match`, so their
//! canonical encoding and signatures are consensus. Each is signed in its own domain
//! ([`Domain::Offer`], [`Domain::Bid`]) over `tag ‖ chain id ‖ encode(order)`. A bid's
//! [`Bid::id`] is also the id of the job it becomes.
//!
//! Validation that needs no chain (sizes, expiry, prices) and with it (balances, stake) is
//! `joule-market`'s; here an order only proves who wrote it.

use bincode::{Decode, Encode};

use crate::codec;
use crate::crypto::{Domain, SecretKey, Signature, SignatureError};
use crate::primitives::{Address, Amount, BlockNumber, ChainId, Hash, Nonce};

/// A provider's standing offer to run jobs.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    /// The chain this offer is for.
    pub chain_id: ChainId,
    /// The provider, who signs the offer and sends the `Match`.
    pub provider: Address,
    /// Price per unit of fuel, in the smallest unit.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub price_per_fuel: Amount,
    /// Largest fuel limit of a job it takes.
    pub max_fuel: u64,
    /// Jobs it runs at once.
    pub capacity: u32,
    /// Last block at which the offer may be matched.
    pub expiry: BlockNumber,
    /// Distinguishes successive offers; a newer nonce replaces an older offer in order books.
    pub nonce: Nonce,
}

/// The input of a job: carried in the bid, or published on chain before (`PublishInput`) and
/// named by its Keccak-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "camelCase")]
pub enum JobInput {
    /// The input bytes themselves.
    Inline(#[serde(with = "crate::primitives::serde_helpers::bytes")] Vec<u8>),
    /// The hash of an input published on chain.
    Stored(Hash),
}

impl JobInput {
    /// Keccak-256 of the input bytes.
    pub fn hash(&self) -> Hash {
        match self {
            JobInput::Inline(bytes) => Hash::keccak(bytes),
            JobInput::Stored(hash) => *hash,
        }
    }
}

/// A requester's request to have a job run.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    /// The chain this bid is for.
    pub chain_id: ChainId,
    /// The requester, who signs the bid and pays from its balance.
    pub requester: Address,
    /// Code hash of a module published on chain.
    pub module: Hash,
    /// The job's input.
    pub input: JobInput,
    /// Fuel each run may use.
    pub fuel_limit: u64,
    /// Highest price per unit of fuel the requester pays.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub max_price_per_fuel: Amount,
    /// How many distinct providers run the job.
    pub replicas: u8,
    /// Lowest reputation score a provider must have to take the job.
    pub min_reputation: u64,
    /// Last block at which the bid may be matched.
    pub deadline: BlockNumber,
    /// Distinguishes otherwise equal bids of one requester.
    pub nonce: Nonce,
}

impl Offer {
    /// Signs the offer with `key` (which should be the provider's).
    pub fn sign(self, key: &SecretKey) -> SignedOffer {
        let signature = key.sign_payload(Domain::Offer, self.chain_id, &codec::encode(&self));
        SignedOffer {
            offer: self,
            signature,
        }
    }

    /// The offer's id: Keccak-256 of its canonical bytes.
    pub fn id(&self) -> Hash {
        Hash::keccak(&codec::encode(self))
    }
}

impl Bid {
    /// Signs the bid with `key` (which should be the requester's).
    pub fn sign(self, key: &SecretKey) -> SignedBid {
        let signature = key.sign_payload(Domain::Bid, self.chain_id, &codec::encode(&self));
        SignedBid {
            bid: self,
            signature,
        }
    }

    /// The bid's id, which is also its job's id: Keccak-256 of its canonical bytes. It does not
    /// cover the signature, so one bid is one job whoever re-signs it.
    pub fn id(&self) -> Hash {
        Hash::keccak(&codec::encode(self))
    }

    /// Largest total the bid can cost: fuel limit × max price × replicas, `None` on overflow.
    pub fn max_cost(&self) -> Option<Amount> {
        Amount::from(self.fuel_limit)
            .checked_mul(self.max_price_per_fuel)?
            .checked_mul(Amount::from(self.replicas))
    }
}

/// Why a signed order was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The order names another chain.
    #[error("order is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The order's.
        got: ChainId,
    },
    /// The signature does not verify.
    #[error("bad order signature: {0}")]
    Signature(#[from] SignatureError),
    /// The signature is valid but by someone else than the order's author.
    #[error("order is signed by {signer}, not by its author {author}")]
    WrongSigner {
        /// Who the order says wrote it.
        author: Address,
        /// Who signed.
        signer: Address,
    },
}

/// An offer with the provider's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SignedOffer {
    /// The offer.
    pub offer: Offer,
    /// The provider's signature in [`Domain::Offer`].
    pub signature: Signature,
}

/// A bid with the requester's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SignedBid {
    /// The bid.
    pub bid: Bid,
    /// The requester's signature in [`Domain::Bid`].
    pub signature: Signature,
}

fn check_signed(
    domain: Domain,
    order_chain: ChainId,
    chain_id: ChainId,
    payload: &[u8],
    signature: &Signature,
    author: Address,
) -> Result<(), OrderError> {
    if order_chain != chain_id {
        return Err(OrderError::WrongChain {
            expected: chain_id,
            got: order_chain,
        });
    }
    let signer = signature.recover_payload(domain, chain_id, payload)?;
    if signer != author {
        return Err(OrderError::WrongSigner { author, signer });
    }
    Ok(())
}

impl SignedOffer {
    /// Checks the chain id and that the provider signed it.
    pub fn verify(&self, chain_id: ChainId) -> Result<(), OrderError> {
        check_signed(
            Domain::Offer,
            self.offer.chain_id,
            chain_id,
            &codec::encode(&self.offer),
            &self.signature,
            self.offer.provider,
        )
    }
}

impl SignedBid {
    /// Checks the chain id and that the requester signed it.
    pub fn verify(&self, chain_id: ChainId) -> Result<(), OrderError> {
        check_signed(
            Domain::Bid,
            self.bid.chain_id,
            chain_id,
            &codec::encode(&self.bid),
            &self.signature,
            self.bid.requester,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(requester: Address) -> Bid {
        Bid {
            chain_id: 5,
            requester,
            module: Hash::keccak(b"module"),
            input: JobInput::Inline(b"input".to_vec()),
            fuel_limit: 1_000,
            max_price_per_fuel: 3,
            replicas: 2,
            min_reputation: 0,
            deadline: 10,
            nonce: 0,
        }
    }

    #[test]
    fn orders_verify_only_for_their_author_chain_and_domain() {
        let requester = SecretKey::from_seed("requester");
        let signed = bid(requester.address()).sign(&requester);
        assert_eq!(signed.verify(5), Ok(()));
        assert!(matches!(
            signed.verify(6),
            Err(OrderError::WrongChain { .. })
        ));
        // Signed by someone else than the named requester.
        let other = SecretKey::from_seed("other");
        let forged = bid(requester.address()).sign(&other);
        assert!(matches!(
            forged.verify(5),
            Err(OrderError::WrongSigner { .. })
        ));
        // A bid signature is not an offer signature over the same bytes.
        let offer = Offer {
            chain_id: 5,
            provider: requester.address(),
            price_per_fuel: 1,
            max_fuel: 10,
            capacity: 1,
            expiry: 10,
            nonce: 0,
        };
        let mut signed_offer = offer.clone().sign(&requester);
        assert_eq!(signed_offer.verify(5), Ok(()));
        signed_offer.signature = requester.sign_payload(Domain::Bid, 5, &codec::encode(&offer));
        assert!(signed_offer.verify(5).is_err());
        // A changed field breaks the signature.
        let mut tampered = signed.clone();
        tampered.bid.max_price_per_fuel += 1;
        assert!(tampered.verify(5).is_err());
        assert_eq!(signed.bid.max_cost(), Some(6_000));
        assert_eq!(
            JobInput::Inline(b"input".to_vec()).hash(),
            Hash::keccak(b"input")
        );
    }

    #[test]
    fn json_and_canonical_round_trip() {
        let requester = SecretKey::from_seed("requester");
        let signed = bid(requester.address()).sign(&requester);
        let json = serde_json::to_string(&signed).unwrap();
        assert!(json.contains("\"maxPricePerFuel\":\"3\""), "{json}");
        let back: SignedBid = serde_json::from_str(&json).unwrap();
        assert_eq!(back, signed);
        let bytes = codec::encode(&signed);
        assert_eq!(codec::decode::<SignedBid>(&bytes).unwrap(), signed);
    }
}
