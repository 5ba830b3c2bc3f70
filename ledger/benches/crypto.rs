//! k256 sign, verify and recover on one core: the physical bound for block import.
//!
//! `cargo bench -p joule-ledger --bench crypto`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use joule_ledger::{Domain, Hash, SecretKey};

fn bench(c: &mut Criterion) {
    let key = SecretKey::from_seed("bench");
    let digest = Domain::Transaction.signing_hash(1, b"a transfer's canonical bytes");
    let sig = key.sign_digest(&digest);
    let mut g = c.benchmark_group("k256");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| {
        b.iter(|| key.sign_digest(std::hint::black_box(&digest)))
    });
    g.bench_function("recover", |b| {
        b.iter(|| sig.recover(std::hint::black_box(&digest)).unwrap())
    });
    g.bench_function("keccak256_200B", |b| {
        b.iter(|| Hash::keccak(std::hint::black_box(&[7u8; 200])))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
