//! The market through the real chain: blocks built by one node's `Chain` with the
//! `MarketExecutor` and imported by another's, which must reach the same state root, the
//! arbitration verdict included.

use std::sync::Arc;

use joule_contracts::MarketExecutor;
use joule_contracts::sim::test_params;
use joule_contracts::state::{MarketState, Phase};
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::testing::TestNet;
use joule_ledger::{
    Bid, Call, Chain, Event, Hash, JobInput, Offer, SecretKey, Transaction, TxStatus,
    VerifiedTransaction,
};

use crate::common::{INPUT, code};

struct Node {
    net: TestNet,
    producer: Chain,
    importer: Chain,
}

impl Node {
    fn new(params: MarketParams) -> Self {
        let mut net = TestNet::new(1, 3, 1_000_000_000_000_000);
        net.genesis.market = params.clone();
        let executor = || Arc::new(MarketExecutor::new(params.clone()).unwrap());
        let producer = net.memory_chain_with(executor());
        let importer = net.memory_chain_with(executor());
        Node {
            net,
            producer,
            importer,
        }
    }

    fn tx(&self, key: &SecretKey, call: Call) -> VerifiedTransaction {
        let nonce = self.producer.account_at_head(&key.address()).unwrap().nonce;
        Transaction {
            chain_id: self.net.genesis.chain_id,
            nonce,
            fee: 10,
            call,
        }
        .sign(key)
        .verify(self.net.genesis.chain_id)
        .unwrap()
    }

    /// Produces a block with `txs`, imports it into the second chain, and returns the
    /// producer's receipts for it.
    fn block(&self, txs: Vec<VerifiedTransaction>) -> Vec<joule_ledger::Receipt> {
        let block = self.net.produce_block(&self.producer, txs);
        let number = block.header.number;
        let commit = self.producer.commit(number).unwrap().unwrap();
        self.importer
            .import_block(&block, commit)
            .expect("the importer reaches the same state root");
        let receipts = self.producer.receipts(number).unwrap().unwrap();
        assert_eq!(receipts, self.importer.receipts(number).unwrap().unwrap());
        receipts
    }
}

fn ok(receipts: &[joule_ledger::Receipt]) {
    for r in receipts {
        assert_eq!(r.status, TxStatus::Success, "{r:?}");
    }
}

#[test]
fn a_job_is_matched_committed_revealed_audited_and_settled_on_chain() {
    let node = Node::new(MarketParams {
        audit_ppm: 1_000_000,
        ..test_params()
    });
    let requester = node.net.users[0].clone();
    let provider = node.net.users[1].clone();
    let chain_id = node.net.genesis.chain_id;

    ok(&node.block(vec![
        node.tx(
            &requester,
            Call::PublishModule {
                code: code().to_vec(),
            },
        ),
        node.tx(
            &provider,
            Call::RegisterProvider {
                stake: 1_000_000_000_000,
            },
        ),
    ]));

    let bid = Bid {
        chain_id,
        requester: requester.address(),
        module: Hash::keccak(code()),
        input: JobInput::Inline(INPUT.to_vec()),
        fuel_limit: 5_000_000,
        max_price_per_fuel: 3,
        replicas: 1,
        min_reputation: 0,
        deadline: 100,
        nonce: 0,
    };
    let job = bid.id();
    let offer = Offer {
        chain_id,
        provider: provider.address(),
        price_per_fuel: 2,
        max_fuel: 10_000_000,
        capacity: 2,
        expiry: 100,
        nonce: 0,
    };
    ok(&node.block(vec![node.tx(
        &provider,
        Call::Match {
            bid: Box::new(bid.sign(&requester)),
            offer: Box::new(offer.sign(&provider)),
        },
    )]));

    let vm = joule_vm::Vm::new().unwrap();
    let outcome = vm
        .execute(
            code(),
            INPUT,
            &joule_contracts::job_limits(&node.net.genesis.market, 5_000_000),
        )
        .unwrap();
    let result = joule_contracts::result_of(&outcome);
    let salt = Hash::keccak(b"provider salt");
    ok(&node.block(vec![node.tx(
        &provider,
        Call::CommitResult {
            job,
            commitment: result.commitment(&provider.address(), &salt),
        },
    )]));
    let receipts = node.block(vec![node.tx(
        &provider,
        Call::RevealResult {
            job,
            result,
            salt,
            output: outcome.output.clone(),
        },
    )]);
    ok(&receipts);
    // The reveal is judged at the end of the next block, whose parent hash no revealer knew.
    let receipts = node.block(vec![]);
    // The block's final receipt (zero hash) carries the end-of-block events: the audit.
    let end = receipts.last().unwrap();
    assert_eq!(end.tx_hash, Hash::ZERO);
    assert!(
        end.events.iter().any(|e| matches!(
            e,
            Event::Arbitrated { cause, result: verdict, .. } if cause == "audit" && *verdict == result
        )),
        "{:?}",
        end.events
    );
    let state = StateOverlay::new(node.importer.store().clone());
    let settled = state.job(&job).unwrap().unwrap();
    assert_eq!(settled.phase, Phase::Settled);
    assert_eq!(settled.output, outcome.output);
    assert!(node.importer.check_state_root().unwrap());
}
