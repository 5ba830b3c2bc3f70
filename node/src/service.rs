//! A node process put together from its roles: the chain on RocksDB, the mempool and order
//! book, JSON-RPC, and optionally an authority (the consensus [`Driver`]) and a provider (the
//! [`ProviderWorker`]). `joule dev` and `joule node` both run through [`run`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use joule_contracts::MarketExecutor;
use joule_ledger::mempool::{Mempool, MempoolConfig};
use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::{Chain, Genesis, Header, SecretKey};
use joule_market::{BookLimits, OrderBook};
use joule_vm::{Vm, VmConfig};
use parking_lot::Mutex;
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

use crate::book_sync;
use crate::driver::{Driver, DriverConfig, LocalHub};
use crate::metrics::Metrics;
use crate::outbox::{LocalOutbox, Outbox};
use crate::provider::{ProviderConfig, ProviderWorker};
use crate::rpc::{self, RpcConfig, RpcContext};

/// What one node process runs.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Data directory: `db/` (the chain), `provider/` (the provider's journal), `vm-cache/`.
    pub datadir: PathBuf,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// The authority key, if this node proposes and votes.
    pub authority: Option<SecretKey>,
    /// The provider keys and settings, if this node sells compute (one in practice; tests run
    /// several against one chain).
    pub providers: Vec<(SecretKey, ProviderConfig)>,
    /// JSON-RPC, unless off.
    pub rpc: Option<RpcConfig>,
    /// Stop once this block is committed.
    pub until_block: Option<u64>,
    /// Where to serve Prometheus metrics, if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
}

/// The running node's shared parts, for what runs beside it (the dev demo).
#[derive(Debug, Clone)]
pub struct Running {
    /// The chain.
    pub chain: Arc<Chain>,
    /// Where this node's transactions and orders go.
    pub outbox: Arc<LocalOutbox>,
    /// Committed heads.
    pub heads: broadcast::Sender<Header>,
}

/// Completes on Ctrl-C or SIGTERM. Registers the handlers at once (call it inside the runtime
/// before the node starts): a signal that arrives before the first poll still stops the node.
pub fn stop_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        info!(target: "node", "stop signal received, stopping after the current step");
    })
}

/// Opens the chain database in `datadir/db` with the market executor.
pub fn open_chain(datadir: &std::path::Path, genesis: Genesis) -> anyhow::Result<Chain> {
    let store = RocksStore::open(&datadir.join("db"))
        .with_context(|| format!("opening the chain database in {}", datadir.display()))?;
    let executor = MarketExecutor::new(genesis.market.clone())
        .context("starting the VM the market arbitrates with")?;
    Chain::open(
        ChainStore::new(Arc::new(store)),
        genesis,
        Arc::new(executor),
    )
    .context("opening the chain")
}

/// Runs the node until `shutdown` completes, `until_block` is committed, or a fatal error.
/// `beside` is started once everything is up (the dev demo); it ends with the node.
pub async fn run<F, B>(
    spec: NodeSpec,
    chain: Chain,
    shutdown: impl Future<Output = ()> + Send + 'static,
    beside: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Running) -> B,
    B: Future<Output = ()> + Send + 'static,
{
    let chain = Arc::new(chain);
    let (heads, _) = broadcast::channel(64);
    let mempool = Arc::new(Mutex::new(Mempool::new(MempoolConfig::default())));
    let book = Arc::new(Mutex::new(OrderBook::new(
        BookLimits::default(),
        chain.head().number,
    )));
    let outbox = Arc::new(LocalOutbox::new(
        chain.clone(),
        mempool.clone(),
        book.clone(),
    ));
    // Everything beside consensus stops when this flips.
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    tokio::spawn(book_sync::run(
        chain.clone(),
        book.clone(),
        heads.subscribe(),
    ));

    let mut roles = Vec::new();
    if spec.authority.is_some() {
        roles.push("authority".to_owned());
    }
    if !spec.providers.is_empty() {
        roles.push("provider".to_owned());
    }
    if roles.is_empty() {
        roles.push("full".to_owned());
    }

    let _rpc_server = match &spec.rpc {
        None => None,
        Some(config) => {
            let ctx = RpcContext {
                chain: chain.clone(),
                mempool: mempool.clone(),
                heads: heads.clone(),
                book: book.clone(),
                roles: roles.clone(),
            };
            let (_, handle) = rpc::start(config, ctx)
                .await
                .with_context(|| format!("starting JSON-RPC on {}", config.addr))?;
            Some(handle)
        }
    };

    let (metrics, _metrics_server) = match spec.metrics {
        None => (None, None),
        Some(addr) => {
            let metrics = Metrics::new();
            let (_, server) = crate::metrics::serve(addr, metrics.clone())
                .await
                .with_context(|| format!("serving metrics on {addr}"))?;
            (Some(metrics), Some(server))
        }
    };

    let mut provider_tasks = tokio::task::JoinSet::new();
    for (key, config) in spec.providers.clone() {
        let vm = Vm::with_config(VmConfig {
            artifact_dir: Some(spec.datadir.join("vm-cache")),
            ..VmConfig::default()
        })
        .context("starting the provider's VM")?;
        let worker = ProviderWorker::new(
            key,
            chain.clone(),
            book.clone(),
            outbox.clone() as Arc<dyn Outbox>,
            Arc::new(vm),
            config,
            metrics.clone(),
        )?;
        provider_tasks.spawn(worker.run(heads.subscribe(), stopped()));
    }

    let running = Running {
        chain: chain.clone(),
        outbox: outbox.clone(),
        heads: heads.clone(),
    };
    let beside_task = tokio::spawn({
        let fut = beside(running);
        let stop = stopped();
        async move {
            tokio::select! {
                _ = fut => {}
                _ = stop => {}
            }
        }
    });

    let consensus = async {
        match spec.authority {
            Some(key) => {
                let hub = Arc::new(LocalHub::default());
                let inbox = hub.join(key.address());
                let config = DriverConfig {
                    until_block: spec.until_block,
                    heads: Some(heads.clone()),
                    metrics: metrics.clone(),
                };
                let driver = Driver::new(chain.clone(), key, mempool, hub, inbox, config)?;
                driver.run(shutdown).await
            }
            None => {
                warn!(target: "node", "not an authority and no peer-to-peer network yet: serving the stored chain only");
                shutdown.await;
                Ok(())
            }
        }
    };
    // A provider worker only returns when told to stop; one that ends earlier (its journal
    // cannot be written, say) stops the node with its error rather than leaving it running
    // without the provider its operator asked for.
    let result = tokio::select! {
        result = consensus => result,
        Some(ended) = provider_tasks.join_next(), if !provider_tasks.is_empty() => match ended {
            Ok(Ok(())) => Err(anyhow::anyhow!("the provider worker stopped unexpectedly")),
            Ok(Err(e)) => Err(e.context("the provider worker failed")),
            Err(e) => Err(anyhow::anyhow!("the provider worker panicked: {e}")),
        },
    };

    let _ = stop_tx.send(true);
    while let Some(ended) = provider_tasks.join_next().await {
        match ended {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!(target: "node::provider", error = %format!("{e:#}"), "provider worker stopped with an error")
            }
            Err(e) => warn!(target: "node::provider", error = %e, "provider worker panicked"),
        }
    }
    let _ = beside_task.await;
    info!(target: "node", "stopped");
    result
}
