//! Checking a block body on several threads.
//!
//! Import encodes each transaction once, on the recovery threads: the canonical bytes give the
//! transaction-root leaf, and, once the root matches the header, the payload whose signature is
//! recovered and the transaction hash (which the receipts and the transaction index reuse). The
//! root is checked before any signature is recovered, so a body that does not match its header
//! costs hashing only.

use crate::codec;
use crate::merkle;
use crate::parallel;
use crate::primitives::{ChainId, Hash};
use crate::tx::{SignedTransaction, TxError, VerifiedTransaction};

/// The transactions of a body with their canonical bytes, encoded once.
#[derive(Debug)]
pub(super) struct EncodedBody<'a> {
    txs: &'a [SignedTransaction],
    encoded: Vec<Vec<u8>>,
    /// The transaction root over `encoded`.
    pub(super) tx_root: Hash,
}

impl<'a> EncodedBody<'a> {
    /// Encodes every transaction and computes the transaction root, on `threads` threads.
    pub(super) fn new(txs: &'a [SignedTransaction], threads: usize) -> Self {
        let pairs = parallel::map(txs, threads, |t| {
            let encoded = codec::encode(t);
            let leaf = merkle::leaf_hash(&encoded);
            (encoded, leaf)
        });
        let (encoded, leaves): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        EncodedBody {
            txs,
            encoded,
            tx_root: merkle::root(&leaves),
        }
    }

    /// Checks size, chain id and signature of every transaction and recovers the senders, on
    /// `threads` threads; the error names the first bad index.
    pub(super) fn verify(
        &self,
        chain_id: ChainId,
        threads: usize,
    ) -> Result<Vec<VerifiedTransaction>, (usize, TxError)> {
        let indexed: Vec<usize> = (0..self.txs.len()).collect();
        parallel::map(&indexed, threads, |&i| {
            self.txs[i]
                .clone()
                .verify_encoded(chain_id, &self.encoded[i])
                .map_err(|e| (i, e))
        })
        .into_iter()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block;
    use crate::testing::TestNet;

    #[test]
    fn parallel_body_matches_the_sequential_definitions() {
        let net = TestNet::new(1, 10, 1_000);
        let chain_id = net.genesis.chain_id;
        let mut txs: Vec<_> = (0..150)
            .map(|i| {
                net.transfer(
                    &net.users[i % 10],
                    (i / 10) as u64,
                    net.users[0].address(),
                    1,
                    1,
                )
            })
            .collect();
        for threads in [1, 2, 3] {
            let body = EncodedBody::new(&txs, threads);
            assert_eq!(body.tx_root, block::tx_root(&txs));
            let verified = body.verify(chain_id, threads).unwrap();
            for (v, t) in verified.iter().zip(&txs) {
                assert_eq!(v.hash(), t.hash());
                assert_eq!(v, &t.clone().verify(chain_id).unwrap());
            }
        }
        // A bad signature late in the body is reported at its index, on any thread count.
        txs[137].signature = Default::default();
        for threads in [1, 2] {
            let body = EncodedBody::new(&txs, threads);
            let (index, _) = body.verify(chain_id, threads).unwrap_err();
            assert_eq!(index, 137);
        }
    }
}
