//! Block import throughput: decode, signature recovery, execution, state root and a synced
//! RocksDB commit, for blocks of 1,000 transfers, with signatures recovered on 1 and on 2 threads:
//! one block at a time (`import_block`, what a node does with each decided block), and as a run
//! of `BLOCKS` blocks (`import_blocks`, catching up), which recovers the next block's senders
//! while the current one executes and is written.
//!
//! `cargo bench --workspace --bench import`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::testing::TestNet;
use joule_ledger::{Block, Chain, Commit, TransferExecutor, codec};

const TXS: usize = 1_000;
/// Blocks per fresh chain: enough that a catch-up run's fill and drain (the first block's
/// recovery with nothing beside it, the last block's execution alone) are a small part of it.
const BLOCKS: usize = 32;
const USERS: usize = 1_000;

/// An encoded block and its commit.
type Encoded = (Vec<u8>, Commit);

/// Builds `BLOCKS` blocks of `TXS` transfers on an in-memory chain, as encoded bytes + commits.
fn prepare(net: &TestNet) -> Vec<Encoded> {
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

/// Times `import` over runs of the prepared blocks, each run into a fresh RocksDB chain whose
/// import may use `threads` threads; criterion's iterations count blocks.
fn bench_runs(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    net: &TestNet,
    blocks: &[Encoded],
    threads: usize,
    import: fn(&Chain, &[Encoded]),
) {
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let dir = tempfile::tempdir().unwrap();
                let store = ChainStore::new(Arc::new(RocksStore::open(dir.path()).unwrap()));
                let mut chain =
                    Chain::open(store, net.genesis.clone(), Arc::new(TransferExecutor)).unwrap();
                chain.set_verify_threads(threads);
                let n = blocks.len().min((iters - done) as usize);
                let start = Instant::now();
                import(&chain, &blocks[..n]);
                total += start.elapsed();
                done += n as u64;
            }
            total
        })
    });
}

/// One block at a time, as a node imports each decided block.
fn one_by_one(chain: &Chain, blocks: &[Encoded]) {
    for (bytes, commit) in blocks {
        let block: Block = codec::decode(bytes).unwrap();
        chain.import_block(&block, commit.clone()).unwrap();
    }
}

/// As one run, as a node catching up imports the blocks it is missing.
fn catching_up(chain: &Chain, blocks: &[Encoded]) {
    let run: Vec<(Block, Commit)> = blocks
        .iter()
        .map(|(bytes, commit)| (codec::decode(bytes).unwrap(), commit.clone()))
        .collect();
    chain.import_blocks(&run, |_| ()).1.unwrap();
}

fn bench(c: &mut Criterion) {
    let net = TestNet::new(1, USERS, 1_000_000_000);
    let blocks = prepare(&net);
    let mut g = c.benchmark_group("import_1000_transfers");
    g.throughput(Throughput::Elements(TXS as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for threads in [1, 2] {
        let name = format!("verify_threads_{threads}");
        bench_runs(&mut g, &name, &net, &blocks, threads, one_by_one);
    }
    bench_runs(&mut g, "catch_up_threads_2", &net, &blocks, 2, catching_up);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
