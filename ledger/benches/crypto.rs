//! k256 sign, verify and recover on one core: the physical bound for block import.
//!
//! `cargo bench --workspace --bench crypto`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use joule_ledger::{Domain, Hash, SecretKey};
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature as EcdsaSignature, VerifyingKey};

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
    // Plain ECDSA verification against a known public key, for comparison: Joule always
    // recovers (signatures carry no key), so this is the bound it does not use.
    let public = VerifyingKey::from_sec1_bytes(&key.public_key_uncompressed()).unwrap();
    let plain = EcdsaSignature::from_slice(&sig.0[..64]).unwrap();
    g.bench_function("verify", |b| {
        b.iter(|| {
            public
                .verify_prehash(std::hint::black_box(digest.as_bytes()), &plain)
                .unwrap()
        })
    });
    g.bench_function("keccak256_200B", |b| {
        b.iter(|| Hash::keccak(std::hint::black_box(&[7u8; 200])))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
