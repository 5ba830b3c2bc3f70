//! State root update per block: 1,000 touched accounts (990 updates, 10 new accounts) over a
//! state of 10k, 100k and 1M accounts, on the in-memory node store.
//!
//! Measures `tree::update` (node reads, hashing, the write set) against an unchanged store, with a
//! different block each iteration from a pool; prints node reads and writes per block.
//! `cargo bench --workspace --bench state_root`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use joule_ledger::state::tree::{self, MemNodeStore};
use joule_ledger::{Account, Address, Hash, StateKey, codec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TOUCHED: u64 = 1_000;
const INSERTS: u64 = 10;
const BLOCKS: usize = 32;
const CHUNK: u64 = 100_000;

fn key(i: u64) -> Hash {
    let mut addr = [0u8; 20];
    addr[12..].copy_from_slice(&i.to_be_bytes());
    tree::key_hash(&StateKey::Account(Address(addr)))
}

fn value(i: u64, nonce: u64) -> Hash {
    let account = Account {
        balance: u128::from(i) * 1_000,
        nonce,
    };
    tree::value_hash(&codec::encode(&account))
}

/// A store with accounts `0..n`, inserted in chunks.
fn build(n: u64) -> MemNodeStore {
    let mut store = MemNodeStore::new();
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let changes = (start..end).map(|i| (key(i), Some(value(i, 0)))).collect();
        let update = tree::update(&store, &changes).expect("in-memory store cannot fail");
        store.apply(&update);
        start = end;
    }
    store
}

/// `BLOCKS` blocks over a state of `n` accounts: random updates plus a few new accounts.
fn blocks(n: u64) -> Vec<BTreeMap<Hash, Option<Hash>>> {
    let mut rng = StdRng::seed_from_u64(n);
    (0..BLOCKS as u64)
        .map(|b| {
            let mut changes = BTreeMap::new();
            while changes.len() < (TOUCHED - INSERTS) as usize {
                let i = rng.random_range(0..n);
                changes.insert(key(i), Some(value(i, b + 1)));
            }
            for j in 0..INSERTS {
                let i = n + b * INSERTS + j;
                changes.insert(key(i), Some(value(i, 0)));
            }
            changes
        })
        .collect()
}

fn state_root(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_root_update_1000_touched");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));
    for n in [10_000u64, 100_000, 1_000_000] {
        let started = Instant::now();
        let store = build(n);
        let built = started.elapsed();
        let blocks = blocks(n);
        let (mut reads, mut writes) = (0, 0);
        for changes in &blocks {
            let update = tree::update(&store, changes).expect("in-memory store cannot fail");
            reads += update.nodes_read;
            writes += update.writes.len();
        }
        let depth: usize = (0..1_000)
            .map(|i| tree::prove(&store, &key(i)).map_or(0, |p| p.siblings.len()))
            .sum();
        println!(
            "state {n}: built in {built:.2?}, {} nodes, mean leaf depth {:.1}; per block of \
             {TOUCHED} touched: {:.0} node reads, {:.0} node writes",
            store.len(),
            depth as f64 / 1_000.0,
            reads as f64 / BLOCKS as f64,
            writes as f64 / BLOCKS as f64,
        );
        let mut next = 0;
        group.bench_function(format!("{n}_accounts"), |b| {
            b.iter(|| {
                next = (next + 1) % BLOCKS;
                black_box(tree::update(&store, &blocks[next]).expect("in-memory store cannot fail"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, state_root);
criterion_main!(benches);
