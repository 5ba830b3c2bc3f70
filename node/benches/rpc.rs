//! JSON-RPC reads per second on loopback: a load generator against the real server.
//!
//! Builds a chain in a temporary RocksDB directory with the real `MarketExecutor`
//! ([`ACCOUNTS`] funded accounts, [`BLOCKS`] blocks of transfers), starts `rpc::start` on
//! `127.0.0.1:0` on its own two-thread runtime (as `joule dev` runs it), and drives it from a
//! second two-thread runtime: `C` client tasks, each with its own keep-alive connection (a
//! jsonrpsee HTTP client or a WebSocket client), issue `chain_head` back to back for `D` seconds,
//! then `state_getAccount` on random funded accounts for `D` seconds. Prints requests/s and
//! the p50 and p99 latency of each run, and the CPU time the server's and the clients' threads
//! spent per request, as a markdown table.
//!
//! `cargo bench --workspace --locked --bench rpc` (about 25 s; `JOULE_RPC_BENCH_SECS` changes
//! `D`). Under `cargo test --workspace --locked --bench rpc` it runs a short smoke version that
//! checks the answers and that every request succeeds.
//!
//! Results are decoded as `IgnoredAny` in the timed loop (the answers are checked once before):
//! client and server share the machine's cores, so the client should spend as little as it can.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use joule_contracts::MarketExecutor;
use joule_ledger::Chain;
use joule_ledger::mempool::{Mempool, MempoolConfig};
use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::testing::TestNet;
use joule_node::rpc::{self, RpcConfig, RpcContext};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee_http_client::HttpClientBuilder;
use jsonrpsee_ws_client::WsClientBuilder;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::IgnoredAny;
use serde_json::Value;
use tokio::sync::{Barrier, broadcast};

/// Funded accounts in genesis.
const ACCOUNTS: usize = 2_000;
/// Blocks of transfers on top of genesis.
const BLOCKS: usize = 20;
/// Transfers per block.
const TRANSFERS: usize = 100;
/// Concurrent clients of each run.
const CONCURRENCY: [usize; 3] = [1, 8, 32];
/// Seconds of each run.
const SECONDS: f64 = 2.0;
/// Name of the server runtime's threads.
const SERVER_THREADS: &str = "rpc-server";

#[derive(Debug, Clone, Copy)]
struct Setup {
    accounts: usize,
    blocks: usize,
    transfers: usize,
    concurrency: &'static [usize],
    run: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Http,
    Ws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    ChainHead,
    GetAccount,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::ChainHead => "chain_head",
            Method::GetAccount => "state_getAccount",
        }
    }
}

/// One run's result.
#[derive(Debug)]
struct Run {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    /// Sorted latencies in microseconds.
    latencies: Vec<u32>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies[i]) / 1000.0
    }
}

/// CPU time this process's threads have used so far: the server runtime's threads and the rest
/// (the clients), from `/proc/self/task/*/schedstat` (Linux; `None` elsewhere). Kernel time is
/// included: on loopback the sender's thread also runs most of the receiving side of TCP.
fn cpu_split() -> Option<(Duration, Duration)> {
    let (mut server, mut other) = (0u64, 0u64);
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = entry.ok()?.path();
        // A thread that exited in between has no files any more.
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
        if comm.starts_with(SERVER_THREADS) {
            server += ns;
        } else {
            other += ns;
        }
    }
    Some((Duration::from_nanos(server), Duration::from_nanos(other)))
}

/// Microseconds of `cpu` per request, or "n/a".
fn per_request(cpu: Option<Duration>, requests: usize) -> String {
    match cpu {
        Some(cpu) if requests > 0 => format!("{:.1}", cpu.as_secs_f64() * 1e6 / requests as f64),
        _ => "n/a".into(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A RocksDB chain with the market executor, `accounts` funded users and `blocks` blocks of
/// `transfers` transfers each (user i pays user i + 1).
fn build_chain(dir: &std::path::Path, setup: &Setup) -> anyhow::Result<(TestNet, Arc<Chain>)> {
    let net = TestNet::new(1, setup.accounts, 1_000_000_000_000);
    let store = RocksStore::open(&dir.join("db")).context("opening RocksDB")?;
    let executor = MarketExecutor::new(net.genesis.market.clone()).context("starting the VM")?;
    let chain = Chain::open(
        ChainStore::new(Arc::new(store)),
        net.genesis.clone(),
        Arc::new(executor),
    )
    .context("opening the chain")?;
    let chain_id = net.genesis.chain_id;
    let mut nonces = vec![0u64; setup.accounts];
    let mut next = 0;
    for _ in 0..setup.blocks {
        let mut txs = Vec::with_capacity(setup.transfers);
        for _ in 0..setup.transfers {
            let from = next % setup.accounts;
            let to = net.users[(from + 1) % setup.accounts].address();
            let signed = net.transfer(&net.users[from], nonces[from], to, 1_000, 10);
            nonces[from] += 1;
            next += 1;
            txs.push(signed.verify(chain_id).context("verifying a transfer")?);
        }
        net.produce_block(&chain, txs);
    }
    Ok((net, Arc::new(chain)))
}

fn params(method: Method, accounts: &[String], rng: &mut StdRng) -> ArrayParams {
    let mut p = ArrayParams::new();
    if method == Method::GetAccount {
        let account = &accounts[rng.random_range(0..accounts.len())];
        p.insert(account).expect("a string serializes; qed");
    }
    p
}

/// One client task: connects, makes one untimed request, waits for the others, then issues
/// requests back to back for `run`.
async fn client_task<C: ClientT + Send + Sync>(
    client: C,
    method: Method,
    accounts: Arc<Vec<String>>,
    seed: u64,
    start: Arc<Barrier>,
    run: Duration,
) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let warm = client
        .request::<IgnoredAny, _>(method.name(), params(method, &accounts, &mut rng))
        .await;
    start.wait().await;
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut errors = usize::from(warm.is_err());
    let begin = Instant::now();
    let end = begin + run;
    loop {
        let p = params(method, &accounts, &mut rng);
        let t = Instant::now();
        if t >= end {
            break;
        }
        match client.request::<IgnoredAny, _>(method.name(), p).await {
            Ok(_) => latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32),
            Err(_) => errors += 1,
        }
    }
    Run {
        requests: latencies.len(),
        errors,
        elapsed: begin.elapsed(),
        latencies,
    }
}

async fn run(
    addr: SocketAddr,
    transport: Transport,
    method: Method,
    clients: usize,
    accounts: Arc<Vec<String>>,
    duration: Duration,
) -> anyhow::Result<Run> {
    let start = Arc::new(Barrier::new(clients));
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let (accounts, start) = (accounts.clone(), start.clone());
        let seed = i as u64;
        tasks.push(match transport {
            Transport::Http => {
                let client = HttpClientBuilder::default()
                    .build(format!("http://{addr}"))
                    .context("building an HTTP client")?;
                tokio::spawn(client_task(client, method, accounts, seed, start, duration))
            }
            Transport::Ws => {
                let client = WsClientBuilder::default()
                    .build(format!("ws://{addr}"))
                    .await
                    .context("connecting a WebSocket client")?;
                tokio::spawn(client_task(client, method, accounts, seed, start, duration))
            }
        });
    }
    let mut total = Run {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let r = task.await.context("a client task panicked")?;
        total.requests += r.requests;
        total.errors += r.errors;
        total.elapsed = total.elapsed.max(r.elapsed);
        total.latencies.extend(r.latencies);
    }
    total.latencies.sort_unstable();
    Ok(total)
}

/// Checks the two methods' answers once, fully decoded.
async fn check_answers(addr: SocketAddr, net: &TestNet, chain: &Chain) -> anyhow::Result<()> {
    let client = HttpClientBuilder::default().build(format!("http://{addr}"))?;
    let head: Value = client.request("chain_head", ArrayParams::new()).await?;
    ensure!(
        head["number"] == chain.head().number,
        "chain_head answered {head}"
    );
    let who = net.users[0].address();
    let mut p = ArrayParams::new();
    p.insert(who)?;
    let account: Value = client.request("state_getAccount", p).await?;
    let expected = chain.account_at_head(&who)?;
    ensure!(
        account["balance"] == expected.balance.to_string() && account["nonce"] == expected.nonce,
        "state_getAccount answered {account}, the chain has {expected:?}"
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --bench rpc` runs the binary without it.
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = match std::env::var("JOULE_RPC_BENCH_SECS") {
        Ok(s) => s
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .with_context(|| format!("JOULE_RPC_BENCH_SECS={s:?} is not a positive number"))?,
        Err(_) => SECONDS,
    };
    let setup = if full {
        Setup {
            accounts: ACCOUNTS,
            blocks: BLOCKS,
            transfers: TRANSFERS,
            concurrency: &CONCURRENCY,
            run: Duration::from_secs_f64(seconds),
        }
    } else {
        Setup {
            accounts: 20,
            blocks: 2,
            transfers: 10,
            concurrency: &[2],
            run: Duration::from_millis(200),
        }
    };

    let load_before = load_average();
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let built = Instant::now();
    let (net, chain) = build_chain(dir.path(), &setup)?;
    let built = built.elapsed();
    let accounts: Arc<Vec<String>> =
        Arc::new(net.users.iter().map(|k| k.address().to_string()).collect());

    // The server on its own runtime and threads, like `joule dev` (two workers).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()?;
    let (heads, _) = broadcast::channel(16);
    let ctx = RpcContext {
        chain: chain.clone(),
        mempool: Arc::new(Mutex::new(Mempool::new(MempoolConfig::default()))),
        heads,
        book: Arc::new(Mutex::new(joule_market::OrderBook::new(
            joule_market::BookLimits::default(),
            chain.head().number,
        ))),
        roles: vec!["full".into()],
    };
    let config = RpcConfig {
        addr: "127.0.0.1:0".parse()?,
        ..RpcConfig::default()
    };
    let (addr, server) = server_rt.block_on(rpc::start(&config, ctx))?;

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rpc-client")
        .enable_all()
        .build()?;
    client_rt.block_on(check_answers(addr, &net, &chain))?;

    println!(
        "JSON-RPC reads on {addr}: {} accounts, {} blocks of {} transfers (built in {:.1} s), \
         {:.1} s per run, load average before: {load_before}",
        setup.accounts,
        setup.blocks,
        setup.transfers,
        built.as_secs_f64(),
        setup.run.as_secs_f64(),
    );
    println!();
    println!(
        "| transport | method | clients | requests/s | p50 (ms) | p99 (ms) | errors \
         | server CPU (µs/req) | client CPU (µs/req) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = 0;
    for transport in [Transport::Http, Transport::Ws] {
        for method in [Method::ChainHead, Method::GetAccount] {
            for &clients in setup.concurrency {
                let before = cpu_split();
                let r = client_rt.block_on(run(
                    addr,
                    transport,
                    method,
                    clients,
                    accounts.clone(),
                    setup.run,
                ))?;
                let used = before
                    .zip(cpu_split())
                    .map(|((s0, c0), (s1, c1))| (s1.saturating_sub(s0), c1.saturating_sub(c0)));
                failed += r.errors;
                println!(
                    "| {} | `{}` | {clients} | {:.0} | {:.3} | {:.3} | {} | {} | {} |",
                    match transport {
                        Transport::Http => "HTTP",
                        Transport::Ws => "WebSocket",
                    },
                    method.name(),
                    r.per_second(),
                    r.percentile(0.50),
                    r.percentile(0.99),
                    r.errors,
                    per_request(used.map(|u| u.0), r.requests),
                    per_request(used.map(|u| u.1), r.requests),
                );
                if r.requests == 0 {
                    bail!("no request of {} succeeded", method.name());
                }
            }
        }
    }
    println!();
    println!("load average after: {}", load_average());
    server.stop().ok();
    drop(client_rt);
    drop(server_rt);
    if !full && failed > 0 {
        bail!("{failed} requests failed");
    }
    Ok(())
}
