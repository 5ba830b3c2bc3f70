//! JSON-RPC 2.0 over HTTP and WebSocket (jsonrpsee), loopback by default.
//!
//! Methods: `chain_head`, `chain_getBlock`, `chain_getTransaction`,
//! `chain_getTransactionProof`, `state_getAccount`, `tx_submit`, `market_getJob`,
//! `market_listJobs`, `market_getProvider`, `market_getModule`, `market_getInput`,
//! `market_getParams`, `market_submitBid`, `market_listOffers`, `node_info`, and the
//! subscriptions `chain_subscribeHeads` and `market_subscribeJob`. Hashes, addresses and bytes
//! are 0x-hex; amounts are decimal strings. Malformed requests, unknown methods and bad params
//! get the standard JSON-RPC codes; refusals get application codes with a message that says what
//! was wrong ([`RpcError`]). [`client`] is the calling side, for commands that talk to a node.

pub mod client;
mod methods;
pub mod types;

use std::net::SocketAddr;

use joule_ledger::Hash;
use jsonrpsee::core::server::SubscriptionMessage;
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{PendingSubscriptionSink, SubscriptionCloseResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, info};

pub use methods::{BlockId, JobFilter, MAX_LIST, RpcContext, RpcError};

/// RPC server settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// Listen address (`127.0.0.1:8545` by default; port 0 picks a free one).
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
    /// Most concurrent connections.
    pub max_connections: u32,
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Most subscriptions per WebSocket connection.
    pub max_subscriptions: u32,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            // A signed transaction is at most 2 MiB, which is about 4 MiB as hex.
            max_request_bytes: 5 * 1024 * 1024,
            max_response_bytes: 16 * 1024 * 1024,
            max_connections: 100,
            max_batch: 50,
            max_subscriptions: 64,
        }
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        ErrorObjectOwned::owned(e.code(), e.to_string(), None::<()>)
    }
}

fn invalid(e: ErrorObjectOwned) -> RpcError {
    // jsonrpsee puts serde's explanation in the error's data.
    let detail = e
        .data()
        .map(|d| d.get().trim_matches('"').to_owned())
        .unwrap_or_else(|| e.message().to_owned());
    RpcError::InvalidParams(detail)
}

fn parse<T: DeserializeOwned>(params: &Params<'_>) -> Result<T, RpcError> {
    params.one::<T>().map_err(invalid)
}

fn json<T: Serialize>(value: &T) -> Result<SubscriptionMessage, RpcError> {
    serde_json::value::to_raw_value(value)
        .map(Into::into)
        .map_err(|e| RpcError::Internal(e.to_string()))
}

/// The RPC methods over `ctx`.
pub fn module(ctx: RpcContext) -> RpcModule<RpcContext> {
    let mut m = RpcModule::new(ctx);
    let registered = [
        m.register_method("chain_head", |_, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.head())
        })
        .map(|_| ()),
        m.register_blocking_method("chain_getBlock", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.block(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_blocking_method("chain_getTransaction", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.transaction(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_blocking_method("chain_getTransactionProof", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.transaction_proof(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_method("state_getAccount", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.account(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_method("tx_submit", |params, ctx, _| {
            let hex: String = parse(&params)?;
            Ok::<_, ErrorObjectOwned>(ctx.submit(&hex)?)
        })
        .map(|_| ()),
        m.register_method("market_getJob", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.job(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_blocking_method("market_listJobs", |params, ctx, _| {
            let filter: Option<JobFilter> = params.sequence().optional_next().map_err(invalid)?;
            let filter = filter.unwrap_or_default();
            Ok::<_, ErrorObjectOwned>(ctx.jobs(&filter)?)
        })
        .map(|_| ()),
        m.register_method("market_getProvider", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.provider(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_blocking_method("market_getModule", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.module(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_blocking_method("market_getInput", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.input(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_method("market_getParams", |_, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.market_params())
        })
        .map(|_| ()),
        m.register_method("node_info", |_, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.info()?)
        })
        .map(|_| ()),
        m.register_method("market_submitBid", |params, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.submit_bid(parse(&params)?)?)
        })
        .map(|_| ()),
        m.register_method("market_listOffers", |_, ctx, _| {
            Ok::<_, ErrorObjectOwned>(ctx.offers())
        })
        .map(|_| ()),
        m.register_subscription(
            "chain_subscribeHeads",
            "chain_head",
            "chain_unsubscribeHeads",
            |_, pending, ctx, _| async move { heads(pending, ctx).await },
        )
        .map(|_| ()),
        m.register_subscription(
            "market_subscribeJob",
            "market_job",
            "market_unsubscribeJob",
            |params, pending, ctx, _| async move {
                match parse::<Hash>(&params) {
                    Ok(id) => job_updates(pending, ctx, id).await,
                    Err(e) => {
                        pending.reject(ErrorObjectOwned::from(e)).await;
                        SubscriptionCloseResponse::None
                    }
                }
            },
        )
        .map(|_| ()),
    ];
    for r in registered {
        r.expect("method names are unique; qed");
    }
    m
}

async fn heads(
    pending: PendingSubscriptionSink,
    ctx: std::sync::Arc<RpcContext>,
) -> SubscriptionCloseResponse {
    let mut rx = ctx.heads.subscribe();
    let Ok(sink) = pending.accept().await else {
        return SubscriptionCloseResponse::None;
    };
    loop {
        match rx.recv().await {
            Ok(header) => {
                let Ok(msg) = json(&types::HeaderJson {
                    hash: header.hash(),
                    header,
                }) else {
                    break;
                };
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            // A slow subscriber skips heads rather than holding the node back.
            Err(RecvError::Lagged(n)) => {
                debug!(target: "node::rpc", skipped = n, "head subscriber lagged")
            }
            Err(RecvError::Closed) => break,
        }
    }
    SubscriptionCloseResponse::None
}

async fn job_updates(
    pending: PendingSubscriptionSink,
    ctx: std::sync::Arc<RpcContext>,
    id: Hash,
) -> SubscriptionCloseResponse {
    let mut rx = ctx.heads.subscribe();
    let Ok(sink) = pending.accept().await else {
        return SubscriptionCloseResponse::None;
    };
    let mut last = None;
    loop {
        let current = match ctx.job(id) {
            Ok(job) => job,
            Err(e) => {
                debug!(target: "node::rpc", error = %e, "job subscription read failed");
                break;
            }
        };
        if current.is_some() && current != last {
            let Ok(msg) = json(&current) else { break };
            if sink.send(msg).await.is_err() {
                break;
            }
            let done = current.as_ref().is_some_and(|j| j.job.phase.is_final());
            last = current;
            if done {
                break;
            }
        }
        match rx.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => break,
        }
    }
    SubscriptionCloseResponse::None
}

/// Starts the server; it runs until the handle is stopped or dropped.
pub async fn start(
    config: &RpcConfig,
    ctx: RpcContext,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch))
        .build();
    let server = Server::builder()
        .set_config(server_config)
        .build(config.addr)
        .await?;
    let addr = server.local_addr()?;
    let handle = server.start(module(ctx));
    info!(target: "node::rpc", %addr, "JSON-RPC listening (HTTP and WebSocket)");
    Ok((addr, handle))
}
