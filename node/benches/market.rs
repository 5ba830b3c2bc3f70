//! The market loop on one node with 1 s blocks: how many blocks from a bid to a result the
//! requester can use (every replica revealed and agreeing) and to final payment (after the
//! challenge window), and how many small jobs per second the node carries from bid to payment.
//!
//! One in-process node (the real `service::run`: RocksDB, consensus driver, mempool, order book,
//! provider workers running jobs in wasmtime) with the dev genesis parameters, four providers
//! of capacity 32 and eight requesters posting hash-chain jobs (1,000 Keccak rounds each):
//!
//! - `latency k=1|2`: four bids per block for 20 blocks, well inside the providers' capacity;
//! - `throughput k=1`: 320 bids at once, to saturate the providers.
//!
//! `cargo bench --workspace --locked --bench market`; with `--test` (as `cargo test --benches`
//! passes) it runs a short smoke version.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use joule_contracts::state::{MarketState, Phase};
use joule_ledger::genesis::GenesisBalance;
use joule_ledger::state::StateOverlay;
use joule_ledger::{Bid, BlockNumber, Call, Genesis, Hash, JobInput, SecretKey, Transaction};
use joule_node::dev::{DEV_AUTHORITY_SEED, dev_genesis, dev_provider_config};
use joule_node::outbox::Outbox;
use joule_node::service::{self, NodeSpec, Running};
use tokio::sync::oneshot;

const PROVIDERS: usize = 4;
const REQUESTERS: usize = 8;
const CAPACITY: u32 = 32;

#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    replicas: u8,
    /// Bids per block and blocks (a burst is `per_block` bids in one block).
    per_block: usize,
    blocks: usize,
}

#[derive(Debug, Default, Clone)]
struct Track {
    bid_block: BlockNumber,
    bid_at: Option<Instant>,
    usable: Option<BlockNumber>,
    settled: Option<BlockNumber>,
    settled_at: Option<Instant>,
}

struct Report {
    jobs: usize,
    usable_blocks: Vec<u64>,
    settled_blocks: Vec<u64>,
    expired: usize,
    span: Duration,
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn drive(
    running: Running,
    requesters: Vec<SecretKey>,
    providers: Vec<SecretKey>,
    s: Scenario,
) -> anyhow::Result<Report> {
    let chain = running.chain.clone();
    let mut heads = running.heads.subscribe();
    let state = || StateOverlay::new(chain.store().clone());
    loop {
        let st = state();
        let mut ready = 0;
        for p in &providers {
            if st.provider(&p.address())?.is_some() {
                ready += 1;
            }
        }
        if ready == providers.len() {
            break;
        }
        heads.recv().await?;
    }
    let code = joule_vm::examples::HASH_CHAIN;
    let module = Hash::keccak(code);
    running.outbox.submit_tx(
        Transaction {
            chain_id: chain.chain_id(),
            nonce: 0,
            fee: 1,
            call: Call::PublishModule {
                code: code.to_vec(),
            },
        }
        .sign(&requesters[0]),
    )?;
    while !state().has_module(&module)? {
        heads.recv().await?;
    }
    // Offers are refreshed at heads: one more head and every provider is in the book.
    heads.recv().await?;

    let mut tracks: BTreeMap<Hash, Track> = BTreeMap::new();
    let mut nonce = 0u64;
    let mut posted_blocks = 0;
    loop {
        let head = chain.head().number;
        if posted_blocks < s.blocks {
            for _ in 0..s.per_block {
                let key = &requesters[nonce as usize % requesters.len()];
                nonce += 1;
                let mut input = 1_000u32.to_le_bytes().to_vec();
                input.extend_from_slice(&nonce.to_le_bytes());
                let bid = Bid {
                    chain_id: chain.chain_id(),
                    requester: key.address(),
                    module,
                    input: JobInput::Inline(input),
                    fuel_limit: 10_000_000,
                    max_price_per_fuel: 2,
                    replicas: s.replicas,
                    min_reputation: 0,
                    deadline: head + 60,
                    nonce,
                }
                .sign(key);
                let id = running.outbox.publish_bid(bid)?;
                tracks.insert(
                    id,
                    Track {
                        bid_block: head,
                        bid_at: Some(Instant::now()),
                        ..Track::default()
                    },
                );
            }
            posted_blocks += 1;
        }
        heads.recv().await?;
        let head = chain.head().number;
        let st = state();
        let mut open = 0;
        for (id, t) in tracks.iter_mut().filter(|(_, t)| t.settled.is_none()) {
            let Some(job) = st.job(id)? else {
                if head > t.bid_block + 60 {
                    t.settled = Some(head);
                } else {
                    open += 1;
                }
                continue;
            };
            if t.usable.is_none() {
                let reveals: Vec<_> = job.assignments.iter().filter_map(|a| a.reveal).collect();
                if reveals.len() == usize::from(s.replicas)
                    && reveals.windows(2).all(|w| w[0] == w[1])
                {
                    t.usable = Some(head);
                }
            }
            if job.phase.is_final() {
                t.settled = Some(head);
                t.settled_at = Some(Instant::now());
                if job.phase == Phase::Expired {
                    t.usable = None;
                }
            } else {
                open += 1;
            }
        }
        if posted_blocks >= s.blocks && open == 0 {
            break;
        }
    }
    let first = tracks.values().filter_map(|t| t.bid_at).min().unwrap();
    let last = tracks
        .values()
        .filter_map(|t| t.settled_at)
        .max()
        .unwrap_or(first);
    let mut usable: Vec<u64> = tracks
        .values()
        .filter_map(|t| Some(t.usable? - t.bid_block))
        .collect();
    let mut settled: Vec<u64> = tracks
        .values()
        .filter(|t| t.settled_at.is_some())
        .map(|t| t.settled.unwrap() - t.bid_block)
        .collect();
    usable.sort_unstable();
    settled.sort_unstable();
    Ok(Report {
        jobs: tracks.len(),
        expired: tracks.len() - settled.len(),
        usable_blocks: usable,
        settled_blocks: settled,
        span: last - first,
    })
}

fn run(s: Scenario) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let providers: Vec<SecretKey> = (0..PROVIDERS)
        .map(|i| SecretKey::from_seed(&format!("bench-provider-{i}")))
        .collect();
    let requesters: Vec<SecretKey> = (0..REQUESTERS)
        .map(|i| SecretKey::from_seed(&format!("bench-requester-{i}")))
        .collect();
    let genesis = Genesis {
        balances: providers
            .iter()
            .chain(&requesters)
            .map(|k| (k.address(), GenesisBalance(1_000_000_000_000_000)))
            .collect(),
        ..dev_genesis()
    };
    let specs = providers
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut c = dev_provider_config(&dir.path().join(format!("provider-{i}")));
            c.strategy.capacity = CAPACITY;
            (k.clone(), c)
        })
        .collect();
    let spec = NodeSpec {
        datadir: dir.path().to_path_buf(),
        genesis: genesis.clone(),
        authority: Some(SecretKey::from_seed(DEV_AUTHORITY_SEED)),
        providers: specs,
        rpc: None,
        until_block: None,
        metrics: None,
    };
    let chain = service::open_chain(dir.path(), genesis).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel();
    let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
    runtime.block_on(async move {
        let node = tokio::spawn(service::run(
            spec,
            chain,
            async move {
                let _ = stop_rx.await;
            },
            move |running| async move {
                let report = drive(running, requesters, providers, s).await;
                if let Some(tx) = done_tx.lock().unwrap().take() {
                    let _ = tx.send(report);
                }
            },
        ));
        let report = done_rx.await.expect("bench ran").expect("bench succeeded");
        let _ = stop_tx.send(());
        node.await.unwrap().unwrap();
        report
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let scenarios: Vec<Scenario> = if quick {
        vec![Scenario {
            name: "smoke k=1",
            replicas: 1,
            per_block: 2,
            blocks: 2,
        }]
    } else {
        vec![
            Scenario {
                name: "latency k=1",
                replicas: 1,
                per_block: 4,
                blocks: 20,
            },
            Scenario {
                name: "latency k=2",
                replicas: 2,
                per_block: 4,
                blocks: 20,
            },
            Scenario {
                name: "throughput k=1",
                replicas: 1,
                per_block: 320,
                blocks: 1,
            },
        ]
    };
    println!(
        "scenario         jobs  expired  usable p50/p99 (blocks)  paid p50/p99 (blocks)  jobs/s bid→paid"
    );
    for s in scenarios {
        let r = run(s);
        println!(
            "{:<16} {:>4}  {:>7}  {:>10}/{:<13}  {:>9}/{:<12}  {:.2}",
            s.name,
            r.jobs,
            r.expired,
            pct(&r.usable_blocks, 0.5),
            pct(&r.usable_blocks, 0.99),
            pct(&r.settled_blocks, 0.5),
            pct(&r.settled_blocks, 0.99),
            (r.jobs - r.expired) as f64 / r.span.as_secs_f64().max(1e-9),
        );
        if quick {
            assert_eq!(r.expired, 0, "smoke jobs expired");
        }
    }
}
