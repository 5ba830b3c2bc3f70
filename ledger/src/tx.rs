//! Transactions: what an account asks the chain to do.
//!
//! A [`Transaction`] names the chain, the sender's nonce, the fee it pays the block's authority,
//! and a [`Call`]. [`SignedTransaction`] adds the sender's signature (domain
//! [`Domain::Transaction`]); [`SignedTransaction::verify`] recovers the sender once and yields a
//! [`VerifiedTransaction`], which is what the mempool and executors handle.

use bincode::{Decode, Encode};

use crate::codec;
use crate::crypto::{Domain, SecretKey, Signature, SignatureError};
use crate::order::{SignedBid, SignedOffer};
use crate::primitives::{Address, Amount, ChainId, Hash, Nonce};

/// Largest encoded signed transaction accepted anywhere.
pub const MAX_TX_BYTES: usize = 2 * 1024 * 1024;

/// Everything that can be written on chain. Each variant's state transition is defined by the
/// chain's `Executor`; `joule-contracts` adds the market calls.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Call {
    /// Move `amount` from the sender to `to`.
    Transfer {
        /// Recipient.
        to: Address,
        /// Credits moved, in the smallest unit.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        amount: Amount,
    },
    /// Become a provider, bonding `stake` from the sender's balance.
    RegisterProvider {
        /// Credits bonded; at least the genesis minimum stake.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        stake: Amount,
    },
    /// Bond more of the sender's balance as provider stake.
    AddStake {
        /// Credits added.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        amount: Amount,
    },
    /// Start unbonding free stake; it can be withdrawn after the unbonding delay.
    Unbond {
        /// Credits to unbond.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        amount: Amount,
    },
    /// Move every matured unbonding back to the sender's balance.
    Withdraw,
    /// Publish a job module (validated, deduplicated by code hash, fee per byte).
    PublishModule {
        /// The WASM bytes.
        #[serde(with = "crate::primitives::serde_helpers::bytes")]
        code: Vec<u8>,
    },
    /// Publish a job input so bids can name it by hash (deduplicated, fee per byte).
    PublishInput {
        /// The input bytes.
        #[serde(with = "crate::primitives::serde_helpers::bytes")]
        data: Vec<u8>,
    },
    /// A provider takes a bid with its offer; the sender must be the offer's provider.
    Match {
        /// The requester's signed bid (boxed: the largest call by far).
        bid: Box<SignedBid>,
        /// The provider's signed offer.
        offer: Box<SignedOffer>,
    },
    /// A provider commits to its result: `Keccak(status ‖ output hash ‖ fuel used ‖ provider ‖ salt)`.
    CommitResult {
        /// The job (its bid's id).
        job: Hash,
        /// The commitment.
        commitment: Hash,
    },
    /// A provider opens its commitment.
    RevealResult {
        /// The job.
        job: Hash,
        /// The result being revealed.
        result: JobResult,
        /// The salt of the commitment.
        salt: Hash,
        /// The output bytes if they fit the genesis inline cap, else empty.
        #[serde(with = "crate::primitives::serde_helpers::bytes")]
        output: Vec<u8>,
    },
    /// Dispute a job's agreed result inside its challenge window, posting the genesis bond.
    Challenge {
        /// The job.
        job: Hash,
    },
}

/// What a run of a job produced, as providers reveal it and arbitration recomputes it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    /// `joule-vm` status class: 0 ok, 1 trap, 2 out of fuel, 3 memory or table limit, 4 output
    /// too large, 5 aborted.
    pub status: u8,
    /// Keccak-256 of the output bytes.
    pub output_hash: Hash,
    /// Fuel the run used.
    pub fuel_used: u64,
}

impl JobResult {
    /// The commitment a provider sends before revealing:
    /// `Keccak(status ‖ output hash ‖ fuel used (8 bytes BE) ‖ provider ‖ salt)`.
    pub fn commitment(&self, provider: &Address, salt: &Hash) -> Hash {
        Hash::keccak_concat(&[
            &[self.status],
            self.output_hash.as_bytes(),
            &self.fuel_used.to_be_bytes(),
            provider.as_bytes(),
            salt.as_bytes(),
        ])
    }
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// The chain this transaction is for.
    pub chain_id: ChainId,
    /// The sender's account nonce this transaction consumes.
    pub nonce: Nonce,
    /// Fee paid to the block's proposer, whatever the call's outcome.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub fee: Amount,
    /// What to do.
    pub call: Call,
}

impl Transaction {
    /// Signs this transaction with `key`.
    pub fn sign(self, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign_payload(Domain::Transaction, self.chain_id, &codec::encode(&self));
        SignedTransaction {
            tx: self,
            signature,
        }
    }
}

/// A transaction with its sender's signature, as carried in blocks and on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The sender's signature over `tag ‖ chain id ‖ encode(tx)`.
    pub signature: Signature,
}

/// Why a transaction was refused before execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The transaction names another chain.
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The transaction's chain id.
        got: ChainId,
    },
    /// The encoded transaction is too large.
    #[error("transaction is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The signature is invalid.
    #[error("bad transaction signature: {0}")]
    Signature(#[from] SignatureError),
}

impl SignedTransaction {
    /// The transaction hash: Keccak-256 of the canonical signed bytes.
    pub fn hash(&self) -> Hash {
        Hash::keccak(&codec::encode(self))
    }

    /// Checks size, chain id and signature, and recovers the sender.
    pub fn verify(self, chain_id: ChainId) -> Result<VerifiedTransaction, TxError> {
        let encoded = codec::encode(&self);
        self.verify_encoded(chain_id, &encoded)
    }

    /// [`Self::verify`] with the canonical bytes already at hand: `encoded` must be
    /// `codec::encode(&self)` (block import encodes each transaction once for the transaction
    /// root, the hash and the signature payload).
    pub(crate) fn verify_encoded(
        self,
        chain_id: ChainId,
        encoded: &[u8],
    ) -> Result<VerifiedTransaction, TxError> {
        debug_assert_eq!(
            encoded,
            codec::encode(&self),
            "encoded is this transaction's bytes"
        );
        if encoded.len() > MAX_TX_BYTES {
            return Err(TxError::TooLarge {
                len: encoded.len(),
                max: MAX_TX_BYTES,
            });
        }
        if self.tx.chain_id != chain_id {
            return Err(TxError::WrongChain {
                expected: chain_id,
                got: self.tx.chain_id,
            });
        }
        // The signed bytes are `encode(tx) ‖ signature` (a fixed 65 bytes), so the payload the
        // signature covers is a prefix of what was already encoded: no second encoding.
        let payload = &encoded[..encoded.len() - Signature::LEN];
        let sender =
            self.signature
                .recover_payload(Domain::Transaction, self.tx.chain_id, payload)?;
        Ok(VerifiedTransaction {
            hash: Hash::keccak(encoded),
            encoded_len: encoded.len(),
            sender,
            signed: self,
        })
    }
}

/// A transaction whose signature has been checked, with its sender and hash computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTransaction {
    signed: SignedTransaction,
    sender: Address,
    hash: Hash,
    encoded_len: usize,
}

impl VerifiedTransaction {
    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }
    /// The unsigned transaction.
    pub fn tx(&self) -> &Transaction {
        &self.signed.tx
    }
    /// The recovered sender.
    pub fn sender(&self) -> Address {
        self.sender
    }
    /// The transaction hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }
    /// Gives back the signed transaction.
    pub fn into_signed(self) -> SignedTransaction {
        self.signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(nonce: Nonce) -> Transaction {
        Transaction {
            chain_id: 7,
            nonce,
            fee: 1,
            call: Call::Transfer {
                to: Address([9; 20]),
                amount: 100,
            },
        }
    }

    #[test]
    fn verify_recovers_sender_and_hash_is_stable() {
        let key = SecretKey::from_seed("alice");
        let signed = transfer(0).sign(&key);
        let hash = signed.hash();
        let v = signed.clone().verify(7).unwrap();
        assert_eq!(v.sender(), key.address());
        assert_eq!(v.hash(), hash);
        assert_eq!(
            codec::decode::<SignedTransaction>(&codec::encode(&signed)).unwrap(),
            signed
        );
    }

    #[test]
    fn wrong_chain_and_tampering_rejected() {
        let key = SecretKey::from_seed("alice");
        let signed = transfer(0).sign(&key);
        assert_eq!(
            signed.clone().verify(8).unwrap_err(),
            TxError::WrongChain {
                expected: 8,
                got: 7
            }
        );
        let mut tampered = signed;
        tampered.tx.nonce = 1;
        // A tampered body recovers to some other address (or none): never to the signer.
        match tampered.verify(7) {
            Ok(v) => assert_ne!(v.sender(), key.address()),
            Err(e) => assert!(matches!(e, TxError::Signature(_))),
        }
    }

    #[test]
    fn json_shape() {
        let json = serde_json::to_value(transfer(3)).unwrap();
        assert_eq!(json["fee"], "1");
        assert_eq!(json["call"]["type"], "transfer");
        assert_eq!(json["call"]["amount"], "100");
    }
}
