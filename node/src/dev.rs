//! `joule dev`: a whole chain in one process.
//!
//! One authority (a well-known development key, like other chains' dev modes) proposes and
//! commits a block every block time into a RocksDB data directory, logging each one. Ctrl-C stops
//! it cleanly; running it again resumes from the last committed block. The genesis is embedded
//! ([`dev_genesis`]) and funds a development requester account whose key is written to
//! `<datadir>/keys/dev-requester.key`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use joule_contracts::MarketExecutor;
use joule_ledger::genesis::GenesisBalance;
use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::{Chain, Genesis, SecretKey};
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;

use joule_ledger::mempool::{Mempool, MempoolConfig};
use parking_lot::Mutex;

use crate::book_sync;
use crate::driver::{Driver, DriverConfig, LocalHub};
use crate::rpc::{self, RpcConfig, RpcContext};
use joule_market::{BookLimits, OrderBook};
use tokio::sync::broadcast;

/// Chain id of development chains.
pub const DEV_CHAIN_ID: u64 = 31_337;
/// Seed of the development authority's key.
pub const DEV_AUTHORITY_SEED: &str = "joule-dev-authority";
/// Seed of the funded development requester's key.
pub const DEV_REQUESTER_SEED: &str = "joule-dev-requester";
/// The requester's starting balance.
pub const DEV_REQUESTER_BALANCE: u128 = 1_000_000_000_000;

/// Flags of `joule dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Data directory [default: <user data dir>/joule/dev].
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// Stop cleanly once this block is committed (for scripts; default: run until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub until_block: Option<u64>,
    /// JSON-RPC.
    #[command(flatten)]
    pub rpc: RpcArgs,
}

/// JSON-RPC flags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "JSON-RPC")]
pub struct RpcArgs {
    /// Address the JSON-RPC server (HTTP and WebSocket) listens on; port 0 picks a free port.
    #[arg(
        long = "rpc.addr",
        value_name = "IP:PORT",
        default_value = "127.0.0.1:8545"
    )]
    pub addr: std::net::SocketAddr,
    /// Do not start the JSON-RPC server.
    #[arg(long = "rpc.off")]
    pub off: bool,
    /// Most concurrent RPC connections.
    #[arg(long = "rpc.max-connections", value_name = "N", default_value_t = 100)]
    pub max_connections: u32,
}

impl RpcArgs {
    /// The server configuration these flags describe.
    pub fn config(&self) -> RpcConfig {
        RpcConfig {
            addr: self.addr,
            max_connections: self.max_connections,
            ..RpcConfig::default()
        }
    }
}

/// The embedded development genesis: one authority, one funded requester, 1 s blocks.
pub fn dev_genesis() -> Genesis {
    let authority = SecretKey::from_seed(DEV_AUTHORITY_SEED);
    let requester = SecretKey::from_seed(DEV_REQUESTER_SEED);
    Genesis {
        chain_id: DEV_CHAIN_ID,
        timestamp_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
        block_time_ms: 1_000,
        authorities: vec![authority.address()],
        balances: [(requester.address(), GenesisBalance(DEV_REQUESTER_BALANCE))].into(),
        market: Default::default(),
    }
}

/// The default data directory of `joule dev`.
pub fn default_datadir() -> anyhow::Result<PathBuf> {
    let base = dirs::data_dir().context("no user data directory on this system; pass --datadir")?;
    Ok(base.join("joule").join("dev"))
}

/// Writes `key` as hex to `path` with mode 0600, unless the file exists.
fn write_key_file(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let text = format!("0x{}\n", hex::encode(key.to_bytes()));
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    #[cfg(not(unix))]
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Runs `joule dev` until Ctrl-C (or `--until-block`).
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    crate::logging::init("info");
    let datadir = match args.datadir {
        Some(d) => d,
        None => default_datadir()?,
    };
    std::fs::create_dir_all(&datadir)
        .with_context(|| format!("creating data directory {}", datadir.display()))?;
    let requester = SecretKey::from_seed(DEV_REQUESTER_SEED);
    write_key_file(&datadir.join("keys").join("dev-requester.key"), &requester)?;
    let store = RocksStore::open(&datadir.join("db"))
        .with_context(|| format!("opening the chain database in {}", datadir.display()))?;
    let genesis = dev_genesis();
    let executor = MarketExecutor::new(genesis.market.clone())
        .context("starting the VM the market arbitrates with")?;
    let chain = Chain::open(
        ChainStore::new(Arc::new(store)),
        genesis,
        Arc::new(executor),
    )
    .context("opening the chain")?;
    let head = chain.head();
    info!(
        target: "node::dev",
        datadir = %datadir.display(),
        head = head.number,
        requester = %requester.address(),
        "joule dev started"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .context("starting the async runtime")?;
    let authority = SecretKey::from_seed(DEV_AUTHORITY_SEED);
    let (heads, _) = broadcast::channel(64);
    let config = DriverConfig {
        until_block: args.until_block,
        heads: Some(heads.clone()),
        metrics: None,
    };
    let mempool = Arc::new(Mutex::new(Mempool::new(MempoolConfig::default())));
    let chain = Arc::new(chain);
    runtime.block_on(async move {
        // Listen before the first block: a signal that arrives before the driver's first poll
        // must still stop it cleanly (`ctrl_c()` would only register when first polled).
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let book = Arc::new(Mutex::new(OrderBook::new(
            BookLimits::default(),
            chain.head().number,
        )));
        tokio::spawn(book_sync::run(
            chain.clone(),
            book.clone(),
            heads.subscribe(),
        ));
        let _rpc = if args.rpc.off {
            None
        } else {
            let ctx = RpcContext {
                chain: chain.clone(),
                mempool: mempool.clone(),
                heads,
                book,
                roles: vec!["authority".into()],
            };
            let (_, handle) = rpc::start(&args.rpc.config(), ctx)
                .await
                .with_context(|| format!("starting JSON-RPC on {}", args.rpc.addr))?;
            Some(handle)
        };
        let hub = Arc::new(LocalHub::default());
        let inbox = hub.join(authority.address());
        let driver = Driver::new(chain, authority, mempool, hub, inbox, config)?;
        let shutdown = async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            info!(target: "node::dev", "stop signal received, stopping after the current step");
        };
        driver.run(shutdown).await
    })?;
    info!(target: "node::dev", "stopped cleanly");
    Ok(())
}
