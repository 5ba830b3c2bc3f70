//! `joule dev`: a whole chain in one process.
//!
//! One authority (a well-known development key, like other chains' dev modes) proposes and
//! commits a block every block time into a RocksDB data directory, logging each one. Ctrl-C stops
//! it cleanly; running it again resumes from the last committed block. The genesis is embedded
//! ([`dev_genesis`]) and funds a development requester account whose key is written to
//! `<datadir>/keys/dev-requester.key`, and a development provider that stakes, offers its
//! compute and runs the jobs it takes ([`crate::provider`]). Unless `--no-demo` is given, the
//! requester posts a demo job at start and the log follows it to final payment
//! ([`crate::demo`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use joule_ledger::genesis::GenesisBalance;
use joule_ledger::{Genesis, SecretKey};
use joule_market::StrategyConfig;
use tracing::info;

use crate::provider::{Behaviour, ProviderConfig};
use crate::rpc::RpcConfig;
use crate::service::{self, NodeSpec};

/// Chain id of development chains.
pub const DEV_CHAIN_ID: u64 = 31_337;
/// Seed of the development authority's key.
pub const DEV_AUTHORITY_SEED: &str = "joule-dev-authority";
/// Seed of the funded development requester's key.
pub const DEV_REQUESTER_SEED: &str = "joule-dev-requester";
/// The requester's starting balance.
pub const DEV_REQUESTER_BALANCE: u128 = 1_000_000_000_000;
/// Seed of the development provider's key.
pub const DEV_PROVIDER_SEED: &str = "joule-dev-provider";
/// The provider's starting balance.
pub const DEV_PROVIDER_BALANCE: u128 = 1_000_000_000_000;
/// Stake the development provider bonds.
pub const DEV_PROVIDER_STAKE: u128 = 100_000_000_000;

/// Flags of `joule dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Data directory [default: <user data dir>/joule/dev].
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// Stop cleanly once this block is committed (for scripts; default: run until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub until_block: Option<u64>,
    /// Do not post the demo job (a Mandelbrot render from the dev requester) at start.
    #[arg(long)]
    pub no_demo: bool,
    /// JSON-RPC.
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// Prometheus metrics.
    #[command(flatten)]
    pub metrics: crate::metrics::MetricsArgs,
}

/// JSON-RPC flags (of `joule dev` and `joule node`; for a node they override its config file).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "JSON-RPC")]
pub struct RpcArgs {
    /// Address the JSON-RPC server (HTTP and WebSocket) listens on; port 0 picks a free port
    /// [default: 127.0.0.1:8545].
    #[arg(id = "rpc_addr", long = "rpc.addr", value_name = "IP:PORT")]
    pub addr: Option<std::net::SocketAddr>,
    /// Do not start the JSON-RPC server.
    #[arg(long = "rpc.off")]
    pub off: bool,
    /// Most concurrent RPC connections [default: 100].
    #[arg(long = "rpc.max-connections", value_name = "N")]
    pub max_connections: Option<u32>,
}

impl RpcArgs {
    /// The server configuration: these flags over `base`, or `None` with `--rpc.off`.
    pub fn config_over(&self, base: RpcConfig) -> Option<RpcConfig> {
        (!self.off).then(|| RpcConfig {
            addr: self.addr.unwrap_or(base.addr),
            max_connections: self.max_connections.unwrap_or(base.max_connections),
            ..base
        })
    }
}

/// The embedded development genesis: one authority, one funded requester, 1 s blocks.
pub fn dev_genesis() -> Genesis {
    let authority = SecretKey::from_seed(DEV_AUTHORITY_SEED);
    let requester = SecretKey::from_seed(DEV_REQUESTER_SEED);
    let provider = SecretKey::from_seed(DEV_PROVIDER_SEED);
    Genesis {
        chain_id: DEV_CHAIN_ID,
        timestamp_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
        block_time_ms: 1_000,
        authorities: vec![authority.address()],
        balances: [
            (requester.address(), GenesisBalance(DEV_REQUESTER_BALANCE)),
            (provider.address(), GenesisBalance(DEV_PROVIDER_BALANCE)),
        ]
        .into(),
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
    let provider = SecretKey::from_seed(DEV_PROVIDER_SEED);
    let chain = service::open_chain(&datadir, dev_genesis()).map_err(|e| {
        if matches!(
            e.downcast_ref::<joule_ledger::OpenError>(),
            Some(joule_ledger::OpenError::GenesisMismatch { .. })
        ) {
            e.context(format!(
                "{} holds a chain with another genesis (an older `joule dev` made it?): move it \
                 away or pass --datadir",
                datadir.display()
            ))
        } else {
            e
        }
    })?;
    info!(
        target: "node::dev",
        datadir = %datadir.display(),
        head = chain.head().number,
        requester = %requester.address(),
        provider = %provider.address(),
        "joule dev started"
    );
    let spec = NodeSpec {
        datadir: datadir.clone(),
        genesis: dev_genesis(),
        authority: Some(SecretKey::from_seed(DEV_AUTHORITY_SEED)),
        providers: vec![(provider, dev_provider_config(&datadir))],
        rpc: args.rpc.config_over(RpcConfig::default()),
        until_block: args.until_block,
        metrics: args.metrics.addr,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .context("starting the async runtime")?;
    let demo = !args.no_demo;
    runtime.block_on(async move {
        let shutdown = service::stop_signal()?;
        let out_dir = datadir.join("demo");
        service::run(spec, chain, shutdown, move |running| async move {
            if demo {
                crate::demo::run(running, requester, out_dir).await;
            }
        })
        .await
    })?;
    info!(target: "node::dev", "stopped cleanly");
    Ok(())
}

/// The dev provider's settings: 1 credit per fuel, two jobs at once, 100 billion staked.
pub fn dev_provider_config(datadir: &Path) -> ProviderConfig {
    ProviderConfig {
        strategy: StrategyConfig {
            price_per_fuel: 1,
            max_fuel_per_job: 1_000_000_000,
            capacity: 2,
            offer_lifetime_blocks: 20,
            refresh_blocks_before_expiry: 2,
            min_bid_price: 0,
            allowed_modules: None,
            denied_modules: Default::default(),
        },
        stake: DEV_PROVIDER_STAKE,
        fee: 1,
        dir: datadir.join("provider"),
        behaviour: Behaviour::Honest,
    }
}
