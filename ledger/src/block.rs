//! Blocks, headers and receipts.
//!
//! A [`Header`] commits to its parent, its transactions ([`Header::tx_root`]), their receipts
//! ([`Header::receipt_root`]), the whole state after it ([`Header::state_root`]) and the parent's
//! finality proof ([`Header::last_commit`]). The block hash is Keccak-256 of the canonical header
//! bytes; the proposer seals it by signing that hash in [`Domain::BlockSeal`].

use bincode::{Decode, Encode};

use crate::codec;
use crate::crypto::{Domain, SecretKey, Signature, SignatureError};
use crate::merkle::{self, MerkleProof};
use crate::primitives::{Address, Amount, BlockNumber, ChainId, Hash, Round};
use crate::tx::SignedTransaction;
use crate::vote::Commit;

/// A block header.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Hash of the parent header (zero for genesis).
    pub parent_hash: Hash,
    /// Height; genesis is 0.
    pub number: BlockNumber,
    /// Consensus round in which this block was proposed.
    pub round: Round,
    /// Proposer's clock, milliseconds since the Unix epoch; strictly above the parent's.
    pub timestamp_ms: u64,
    /// The authority that built and sealed this block (zero for genesis).
    pub proposer: Address,
    /// Merkle root of the transactions' canonical bytes.
    pub tx_root: Hash,
    /// Merkle root of the receipts' canonical bytes.
    pub receipt_root: Hash,
    /// Root of the state after executing this block.
    pub state_root: Hash,
    /// The parent's commit (its finality proof); `None` only when the parent is genesis.
    pub last_commit: Option<Commit>,
}

impl Header {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        Hash::keccak(&codec::encode(self))
    }

    /// The proposer's seal over this header.
    pub fn seal(&self, key: &SecretKey, chain_id: ChainId) -> Signature {
        key.sign_payload(Domain::BlockSeal, chain_id, self.hash().as_bytes())
    }

    /// Checks that `seal` is this header's proposer's signature.
    pub fn verify_seal(&self, seal: &Signature, chain_id: ChainId) -> Result<(), SignatureError> {
        seal.verify_payload(
            Domain::BlockSeal,
            chain_id,
            self.hash().as_bytes(),
            self.proposer,
        )
    }
}

/// A sealed block with its transactions.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The proposer's signature over the header hash.
    pub seal: Signature,
    /// Transactions in execution order.
    pub txs: Vec<SignedTransaction>,
}

impl Block {
    /// The block hash (the header's).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

/// Merkle root of transactions, as in [`Header::tx_root`].
pub fn tx_root(txs: &[SignedTransaction]) -> Hash {
    merkle::root(&tx_leaves(txs))
}

/// Leaf hashes of transactions.
pub fn tx_leaves(txs: &[SignedTransaction]) -> Vec<Hash> {
    txs.iter()
        .map(|t| merkle::leaf_hash(&codec::encode(t)))
        .collect()
}

/// Merkle root of receipts, as in [`Header::receipt_root`].
pub fn receipt_root(receipts: &[Receipt]) -> Hash {
    merkle::root(&receipt_leaves(receipts))
}

/// Leaf hashes of receipts.
pub fn receipt_leaves(receipts: &[Receipt]) -> Vec<Hash> {
    receipts
        .iter()
        .map(|r| merkle::leaf_hash(&codec::encode(r)))
        .collect()
}

/// Inclusion proof of transaction `index` of `txs` against [`Header::tx_root`].
pub fn prove_tx(txs: &[SignedTransaction], index: usize) -> Option<MerkleProof> {
    merkle::prove(&tx_leaves(txs), index)
}

/// Inclusion proof of receipt `index` against [`Header::receipt_root`].
pub fn prove_receipt(receipts: &[Receipt], index: usize) -> Option<MerkleProof> {
    merkle::prove(&receipt_leaves(receipts), index)
}

/// Outcome of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum TxStatus {
    /// The call took effect.
    Success,
    /// The call's checks failed; only the fee and nonce were taken.
    Failed {
        /// Why, as the executor's error message.
        reason: String,
    },
}

/// Something a transaction or block did, for indexers and the explorer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// Credits moved between accounts.
    Transfer {
        /// Payer.
        from: Address,
        /// Payee.
        to: Address,
        /// Credits moved.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        amount: Amount,
    },
    /// Credits moved into (positive) or out of a provider's bonded stake.
    Stake {
        /// The provider.
        provider: Address,
        /// Credits bonded from its balance (`RegisterProvider`, `AddStake`).
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        bonded: Amount,
        /// Credits that started unbonding.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        unbonding: Amount,
        /// Credits withdrawn to its balance.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        withdrawn: Amount,
    },
    /// A module or input was stored on chain.
    Published {
        /// Its Keccak-256 hash (a module's code hash).
        hash: Hash,
        /// Its size in bytes.
        size: u64,
        /// Whether it is a module (else an input).
        module: bool,
    },
    /// A provider took a job; escrow and collateral are locked.
    Matched {
        /// The job (its bid's id).
        job: Hash,
        /// The provider.
        provider: Address,
        /// Its price per fuel.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        price_per_fuel: Amount,
        /// Collateral locked from its stake.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        collateral: Amount,
        /// Escrow locked from the requester for this replica.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        escrow: Amount,
    },
    /// A job moved to a new phase (its name as in the job's state).
    JobPhase {
        /// The job.
        job: Hash,
        /// The new phase.
        phase: String,
    },
    /// A provider committed or revealed.
    ResultSubmitted {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
        /// The revealed result, `None` for a commitment.
        result: Option<crate::tx::JobResult>,
    },
    /// The chain re-executed a job and found this result.
    Arbitrated {
        /// The job.
        job: Hash,
        /// Why it was re-executed: "disagreement", "challenge" or "audit".
        cause: String,
        /// The verdict.
        result: crate::tx::JobResult,
    },
    /// Stake taken from a provider.
    Slashed {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
        /// Total taken.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        amount: Amount,
        /// Who received the reward share.
        beneficiary: Address,
        /// The reward share.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        reward: Amount,
        /// The burned rest.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        burned: Amount,
    },
    /// Credits paid out of a job's escrow or a challenge bond.
    Paid {
        /// The job.
        job: Hash,
        /// Payee (a provider, the requester refunded, a challenger).
        to: Address,
        /// Credits.
        #[serde(with = "crate::primitives::serde_helpers::amount")]
        amount: Amount,
        /// "payment", "refund", "bond" or "fee".
        kind: String,
    },
}

/// What executing one transaction did.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Whether the call took effect.
    pub status: TxStatus,
    /// Fee taken from the sender and paid to the proposer.
    #[serde(with = "crate::primitives::serde_helpers::amount")]
    pub fee_paid: Amount,
    /// Events in order.
    pub events: Vec<Event>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{Call, Transaction};

    #[test]
    fn seal_and_tx_proof_from_header_alone() {
        let key = SecretKey::from_seed("proposer");
        let sender = SecretKey::from_seed("sender");
        let txs: Vec<_> = (0..5)
            .map(|n| {
                Transaction {
                    chain_id: 1,
                    nonce: n,
                    fee: 1,
                    call: Call::Transfer {
                        to: Address([1; 20]),
                        amount: n as u128,
                    },
                }
                .sign(&sender)
            })
            .collect();
        let header = Header {
            parent_hash: Hash::keccak(b"parent"),
            number: 1,
            round: 0,
            timestamp_ms: 1,
            proposer: key.address(),
            tx_root: tx_root(&txs),
            receipt_root: Hash::ZERO,
            state_root: Hash::ZERO,
            last_commit: None,
        };
        let seal = header.seal(&key, 1);
        assert_eq!(header.verify_seal(&seal, 1), Ok(()));
        assert!(header.verify_seal(&seal, 2).is_err());
        let proof = prove_tx(&txs, 3).unwrap();
        assert!(proof.verify(header.tx_root, merkle::leaf_hash(&codec::encode(&txs[3]))));
        assert!(!proof.verify(header.tx_root, merkle::leaf_hash(&codec::encode(&txs[2]))));
    }
}
