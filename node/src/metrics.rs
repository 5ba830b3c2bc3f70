//! Prometheus metrics, opt-in: a [`Metrics`] registry the node updates and a small HTTP server
//! ([`serve`]) that answers `GET /metrics` with the OpenMetrics text encoding.
//!
//! Series (all prefixed `joule_`):
//!
//! | name | type | set by |
//! |---|---|---|
//! | `joule_blocks_committed_total` | counter | [`Metrics::on_block_committed`] |
//! | `joule_head_block` | gauge | [`Metrics::on_block_committed`] |
//! | `joule_transactions_committed_total` | counter | [`Metrics::on_block_committed`] |
//! | `joule_mempool_transactions` | gauge | [`Metrics::set_mempool_size`] |
//! | `joule_provider_jobs{state="…"}` | gauge | [`Metrics::set_provider_jobs`]: the provider's open jobs by state (matched, running, committed, revealed, failed), and `settled` / `expired` as the totals of its jobs that ended paid / unpaid |
//! | `joule_provider_fuel_executed_total` | counter | [`Metrics::add_fuel_executed`] |
//! | `joule_provider_earnings_credits_total` | counter | [`Metrics::add_earnings`] |
//! | `joule_provider_slashed_credits_total` | counter | [`Metrics::add_slashed`] |
//!
//! Credits are `u128` in the ledger. The two credit counters add exactly in a `u128` and are
//! written as an integer while the total fits in a `u64` (about 1.8e19 credits); above that they
//! are written as a float. Prometheus stores every sample as a float64 anyway, so a scraped value
//! is exact up to 2^53 credits either way.
//!
//! The consensus driver updates the chain series when [`DriverConfig::metrics`] is set.
//!
//! # Wiring it into a command
//!
//! ```ignore
//! #[derive(Debug, clap::Args)]
//! pub struct NodeArgs {
//!     #[command(flatten)]
//!     pub metrics: MetricsArgs,
//!     // …
//! }
//!
//! // Inside the tokio runtime, before the driver starts:
//! let metrics = args.metrics.addr.map(|_| Metrics::new());
//! let _metrics_server = match (args.metrics.addr, &metrics) {
//!     (Some(addr), Some(m)) => Some(metrics::serve(addr, m.clone()).await?.1),
//!     _ => None,
//! };
//! let config = DriverConfig { metrics: metrics.clone(), ..DriverConfig::default() };
//! ```
//!
//! Keep the returned [`MetricsServerHandle`] alive for as long as the endpoint should answer:
//! dropping it stops the server.
//!
//! [`DriverConfig::metrics`]: crate::driver::DriverConfig::metrics

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// The path the server answers on.
pub const METRICS_PATH: &str = "/metrics";
/// The content type of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Most scrape connections served at once; further connections wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 16;
/// How long a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connection is kept (a scraper reconnects; an idle client cannot hold a slot).
pub const MAX_CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// A counter of credits: exact `u128` sum, see the module docs for how it is written.
#[derive(Debug, Clone, Default)]
struct CreditCounter(Arc<Mutex<u128>>);

impl CreditCounter {
    fn add(&self, credits: u128) {
        let mut total = self.0.lock();
        *total = total.saturating_add(credits);
    }
}

impl TypedMetric for CreditCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for CreditCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let total = *self.0.lock();
        match u64::try_from(total) {
            Ok(exact) => encoder.encode_counter::<NoLabelSet, _, u64>(&exact, None),
            Err(_) => encoder.encode_counter::<NoLabelSet, _, u64>(&(total as f64), None),
        }
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// The job states `joule_provider_jobs` shows from the start (at 0); other states appear once
/// [`Metrics::set_provider_jobs`] names them.
pub const PROVIDER_JOB_STATES: [&str; 7] = [
    "matched",
    "running",
    "committed",
    "revealed",
    "settled",
    "expired",
    "failed",
];

/// Label set of `joule_provider_jobs`.
type StateLabel = [(&'static str, String); 1];

/// The node's metrics. Every handle inside is shared, so updating takes `&self`; share the
/// struct itself as an `Arc` ([`Metrics::new`]).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    blocks_committed: Counter,
    head_block: Gauge<u64, AtomicU64>,
    transactions_committed: Counter,
    mempool_transactions: Gauge<u64, AtomicU64>,
    provider_jobs: Family<StateLabel, Gauge>,
    provider_fuel_executed: Counter,
    provider_earnings: CreditCounter,
    provider_slashed: CreditCounter,
}

impl Metrics {
    /// A registry with every series registered at zero.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("joule");
        let blocks_committed = Counter::default();
        let head_block = Gauge::<u64, AtomicU64>::default();
        let transactions_committed = Counter::default();
        let mempool_transactions = Gauge::<u64, AtomicU64>::default();
        let provider_jobs = Family::<StateLabel, Gauge>::default();
        for state in PROVIDER_JOB_STATES {
            provider_jobs
                .get_or_create(&[("state", state.to_owned())])
                .set(0);
        }
        let provider_fuel_executed = Counter::default();
        let provider_earnings = CreditCounter::default();
        let provider_slashed = CreditCounter::default();
        registry.register(
            "blocks_committed",
            "Blocks this node committed (decided or imported)",
            blocks_committed.clone(),
        );
        registry.register(
            "head_block",
            "Number of the latest committed block",
            head_block.clone(),
        );
        registry.register(
            "transactions_committed",
            "Transactions in the blocks this node committed",
            transactions_committed.clone(),
        );
        registry.register(
            "mempool_transactions",
            "Transactions waiting in the pool",
            mempool_transactions.clone(),
        );
        registry.register(
            "provider_jobs",
            "This provider's jobs by state",
            provider_jobs.clone(),
        );
        registry.register(
            "provider_fuel_executed",
            "Fuel this provider's jobs executed",
            provider_fuel_executed.clone(),
        );
        registry.register(
            "provider_earnings_credits",
            "Credits this provider earned (exact integer up to 2^64-1, a float above)",
            provider_earnings.clone(),
        );
        registry.register(
            "provider_slashed_credits",
            "Credits slashed from this provider's stake (exact integer up to 2^64-1, a float above)",
            provider_slashed.clone(),
        );
        Arc::new(Metrics {
            registry,
            blocks_committed,
            head_block,
            transactions_committed,
            mempool_transactions,
            provider_jobs,
            provider_fuel_executed,
            provider_earnings,
            provider_slashed,
        })
    }

    /// Block `number` with `txs` transactions was committed.
    pub fn on_block_committed(&self, number: u64, txs: usize) {
        self.blocks_committed.inc();
        self.head_block.set(number);
        self.transactions_committed.inc_by(txs as u64);
    }

    /// The pool now holds `n` transactions.
    pub fn set_mempool_size(&self, n: usize) {
        self.mempool_transactions.set(n as u64);
    }

    /// This provider has `n` jobs in `state`.
    pub fn set_provider_jobs(&self, state: &str, n: i64) {
        self.provider_jobs
            .get_or_create(&[("state", state.to_owned())])
            .set(n);
    }

    /// This provider's jobs executed `fuel` more fuel.
    pub fn add_fuel_executed(&self, fuel: u64) {
        self.provider_fuel_executed.inc_by(fuel);
    }

    /// This provider earned `credits` more.
    pub fn add_earnings(&self, credits: u128) {
        self.provider_earnings.add(credits);
    }

    /// `credits` were slashed from this provider's stake.
    pub fn add_slashed(&self, credits: u128) {
        self.provider_slashed.add(credits);
    }

    /// The OpenMetrics text exposition, ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail; qed");
        out
    }
}

/// Metrics flags.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Metrics")]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at http://IP:PORT/metrics (off unless given; port 0 picks a
    /// free port).
    #[arg(id = "metrics_addr", long = "metrics.addr", value_name = "IP:PORT")]
    pub addr: Option<SocketAddr>,
}

/// A running metrics server: dropping it (or [`MetricsServerHandle::stop`]) stops it.
#[derive(Debug)]
pub struct MetricsServerHandle {
    shutdown: watch::Sender<()>,
    task: JoinHandle<()>,
}

impl MetricsServerHandle {
    /// Stops accepting, asks open connections to close, and waits until the listener is closed.
    pub async fn stop(self) {
        let MetricsServerHandle { shutdown, task } = self;
        drop(shutdown);
        let _ = task.await;
    }
}

/// Serves `GET /metrics` on `addr` until the returned handle is dropped or stopped. Returns the
/// bound address (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
) -> anyhow::Result<(SocketAddr, MetricsServerHandle)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics server to {addr}"))?;
    let local = listener
        .local_addr()
        .context("reading the metrics server's address")?;
    let (shutdown, stopped) = watch::channel(());
    let task = tokio::spawn(accept_loop(listener, metrics, stopped));
    info!(target: "node::metrics", addr = %local, "metrics listening");
    Ok((local, MetricsServerHandle { shutdown, task }))
}

async fn accept_loop(listener: TcpListener, metrics: Arc<Metrics>, mut stop: watch::Receiver<()>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(8 * 1024);
    loop {
        let slot = tokio::select! {
            _ = stop.changed() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(target: "node::metrics", error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let mut stop = stop.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |req| {
                let response = respond(&req, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let lifetime = tokio::time::sleep(MAX_CONNECTION_LIFETIME);
            tokio::pin!(lifetime);
            let mut closing = false;
            let result = loop {
                tokio::select! {
                    result = conn.as_mut() => break result,
                    _ = stop.changed(), if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    _ = &mut lifetime, if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            };
            if let Err(e) = result {
                debug!(target: "node::metrics", %peer, error = %e, "metrics connection ended with an error");
            }
        });
    }
    debug!(target: "node::metrics", "metrics server stopped");
}

fn respond(req: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, body, content_type) = if req.uri().path() != METRICS_PATH {
        (
            StatusCode::NOT_FOUND,
            "not found; try GET /metrics\n".to_owned(),
            "text/plain; charset=utf-8",
        )
    } else if req.method() != Method::GET {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} not allowed; use GET\n", req.method()),
            "text/plain; charset=utf-8",
        )
    } else {
        (StatusCode::OK, metrics.encode(), OPENMETRICS_CONTENT_TYPE)
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The value of the sample line `name` (exact match of the name and labels).
    fn sample(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_owned))
    }

    #[test]
    fn every_series_is_present_at_zero() {
        let text = Metrics::new().encode();
        for name in [
            "joule_blocks_committed_total",
            "joule_head_block",
            "joule_transactions_committed_total",
            "joule_mempool_transactions",
            "joule_provider_fuel_executed_total",
            "joule_provider_earnings_credits_total",
            "joule_provider_slashed_credits_total",
        ] {
            assert_eq!(
                sample(&text, name).as_deref(),
                Some("0"),
                "{name} in\n{text}"
            );
        }
        for state in PROVIDER_JOB_STATES {
            let name = format!("joule_provider_jobs{{state=\"{state}\"}}");
            assert_eq!(
                sample(&text, &name).as_deref(),
                Some("0"),
                "{name} in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn values_move() {
        let m = Metrics::new();
        m.on_block_committed(1, 0);
        m.on_block_committed(2, 3);
        m.set_mempool_size(7);
        m.set_provider_jobs("running", 2);
        m.set_provider_jobs("settled", 5);
        m.set_provider_jobs("running", 1);
        m.add_fuel_executed(1_000);
        m.add_fuel_executed(234);
        m.add_earnings(40);
        m.add_earnings(2);
        m.add_slashed(9);
        let text = m.encode();
        for (name, value) in [
            ("joule_blocks_committed_total", "2"),
            ("joule_head_block", "2"),
            ("joule_transactions_committed_total", "3"),
            ("joule_mempool_transactions", "7"),
            ("joule_provider_jobs{state=\"running\"}", "1"),
            ("joule_provider_jobs{state=\"settled\"}", "5"),
            ("joule_provider_fuel_executed_total", "1234"),
            ("joule_provider_earnings_credits_total", "42"),
            ("joule_provider_slashed_credits_total", "9"),
        ] {
            assert_eq!(
                sample(&text, name).as_deref(),
                Some(value),
                "{name} in\n{text}"
            );
        }
    }

    #[test]
    fn credits_beyond_u64_are_written_as_a_float() {
        let m = Metrics::new();
        m.add_earnings(u64::MAX as u128);
        assert_eq!(
            sample(&m.encode(), "joule_provider_earnings_credits_total").as_deref(),
            Some(u64::MAX.to_string().as_str())
        );
        m.add_earnings(u64::MAX as u128 + 1);
        let value = sample(&m.encode(), "joule_provider_earnings_credits_total").unwrap();
        let parsed: f64 = value.parse().unwrap();
        assert_eq!(parsed, (u64::MAX as u128 * 2 + 1) as f64);
        m.add_earnings(u128::MAX);
        let value = sample(&m.encode(), "joule_provider_earnings_credits_total").unwrap();
        assert_eq!(value.parse::<f64>().unwrap(), u128::MAX as f64);
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        metrics: MetricsArgs,
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given() {
        assert_eq!(Cli::try_parse_from(["x"]).unwrap().metrics.addr, None);
        let on = Cli::try_parse_from(["x", "--metrics.addr", "127.0.0.1:9100"]).unwrap();
        assert_eq!(on.metrics.addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert!(Cli::try_parse_from(["x", "--metrics.addr", "localhost"]).is_err());
    }
}
