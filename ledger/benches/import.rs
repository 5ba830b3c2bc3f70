//! Block import throughput: decode, signature recovery, execution, state root and a synced
//! RocksDB commit, for blocks of 1,000 transfers, with signatures recovered on 1 and on 2 threads.
//!
//! `cargo bench --workspace --bench import`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::testing::TestNet;
use joule_ledger::{Block, Chain, Commit, TransferExecutor, codec};

const TXS: usize = 1_000;
const BLOCKS: usize = 8;
const USERS: usize = 1_000;

/// Builds `BLOCKS` blocks of `TXS` transfers on an in-memory chain, as encoded bytes + commits.
fn prepare(net: &TestNet) -> Vec<(Vec<u8>, Commit)> {
    let chain = net.memory_chain();
    let mut out = Vec::new();
    for b in 0..BLOCKS {
        let txs = (0..TXS)
            .map(|i| {
                let from = &net.users[i % USERS];
                let to = net.users[(i * 7 + b + 1) % USERS].address();
                net.transfer(from, (b * TXS / USERS + i / USERS) as u64, to, 3, 1)
                    .verify(net.genesis.chain_id)
                    .unwrap()
            })
            .collect();
        let block = net.produce_block(&chain, txs);
        let commit = chain.commit(block.header.number).unwrap().unwrap();
        out.push((codec::encode(&block), commit));
    }
    out
}

fn bench(c: &mut Criterion) {
    let net = TestNet::new(1, USERS, 1_000_000_000);
    let blocks = prepare(&net);
    let mut g = c.benchmark_group("import_1000_transfers");
    g.throughput(Throughput::Elements(TXS as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for threads in [1usize, 2] {
        g.bench_function(format!("verify_threads_{threads}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let dir = tempfile::tempdir().unwrap();
                    let store = ChainStore::new(Arc::new(RocksStore::open(dir.path()).unwrap()));
                    let mut chain =
                        Chain::open(store, net.genesis.clone(), Arc::new(TransferExecutor))
                            .unwrap();
                    chain.set_verify_threads(threads);
                    for (bytes, commit) in &blocks {
                        if done == iters {
                            break;
                        }
                        let start = Instant::now();
                        let block: Block = codec::decode(bytes).unwrap();
                        chain.import_block(&block, commit.clone()).unwrap();
                        total += start.elapsed();
                        done += 1;
                    }
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
