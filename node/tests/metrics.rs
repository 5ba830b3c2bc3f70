//! The metrics endpoint over real HTTP on a free port, fed by a real consensus driver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use joule_ledger::mempool::{Mempool, MempoolConfig};
use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::testing::TestNet;
use joule_ledger::{Chain, TransferExecutor};
use joule_node::driver::{Driver, DriverConfig, LocalHub};
use joule_node::metrics::{self, Metrics};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` as raw bytes on a new connection and returns what comes back until the
/// server closes (the requests ask it to). A server that refuses a request may reset the
/// connection: errors end the read, and what arrived before them is returned.
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("the metrics server did not close the connection"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(addr: SocketAddr, method: &str, path: &str) -> String {
    raw(
        addr,
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

fn status(response: &str) -> &str {
    response.lines().next().unwrap_or_default()
}

fn sample(response: &str, name: &str) -> Option<u64> {
    response
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_counts_committed_blocks_and_the_endpoint_shows_them() {
    let mut net = TestNet::new(1, 1, 1_000);
    net.genesis.block_time_ms = 20;
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(&dir.path().join("db")).unwrap();
    let chain = Arc::new(
        Chain::open(
            ChainStore::new(Arc::new(store)),
            net.genesis.clone(),
            Arc::new(TransferExecutor),
        )
        .unwrap(),
    );
    let metrics = Metrics::new();
    let (addr, server) = metrics::serve("127.0.0.1:0".parse().unwrap(), metrics.clone())
        .await
        .unwrap();

    let key = net.authorities[0].clone();
    let hub = Arc::new(LocalHub::default());
    let inbox = hub.join(key.address());
    let mempool = Arc::new(Mutex::new(Mempool::new(MempoolConfig::default())));
    let driver = Driver::new(
        chain.clone(),
        key,
        mempool,
        hub,
        inbox,
        DriverConfig {
            until_block: Some(3),
            metrics: Some(metrics.clone()),
            ..DriverConfig::default()
        },
    )
    .unwrap();
    tokio::time::timeout(Duration::from_secs(60), driver.run(std::future::pending()))
        .await
        .expect("the driver did not reach block 3")
        .unwrap();
    let committed = chain.head().number;
    assert!(committed >= 3);

    let response = get(addr, "GET", "/metrics").await;
    assert_eq!(status(&response), "HTTP/1.1 200 OK", "{response}");
    assert!(
        response.contains("content-type: application/openmetrics-text"),
        "{response}"
    );
    let blocks = sample(&response, "joule_blocks_committed_total").expect("blocks counter");
    assert!(blocks >= committed, "{blocks} < {committed}:\n{response}");
    assert_eq!(sample(&response, "joule_head_block"), Some(committed));
    assert_eq!(sample(&response, "joule_mempool_transactions"), Some(0));
    assert!(response.trim_end().ends_with("# EOF"), "{response}");

    server.stop().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after stop"
    );
}

#[tokio::test]
async fn other_paths_methods_and_garbage_are_refused_and_the_server_keeps_serving() {
    let metrics = Metrics::new();
    metrics.on_block_committed(7, 2);
    let (addr, _server) = metrics::serve("127.0.0.1:0".parse().unwrap(), metrics)
        .await
        .unwrap();

    let response = get(addr, "GET", "/").await;
    assert!(status(&response).starts_with("HTTP/1.1 404"), "{response}");
    let response = get(addr, "GET", "/metrics/extra").await;
    assert!(status(&response).starts_with("HTTP/1.1 404"), "{response}");
    let response = get(addr, "POST", "/metrics").await;
    assert!(status(&response).starts_with("HTTP/1.1 405"), "{response}");
    assert!(response.contains("allow: GET"), "{response}");

    // Not HTTP at all: the server answers 400 or just closes, and stays up.
    let response = raw(addr, b"\x00\x01 this is not http\r\n\r\n").await;
    assert!(
        response.is_empty() || status(&response).starts_with("HTTP/1.1 400"),
        "{response:?}"
    );
    // A header far over the buffer limit.
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let response = raw(addr, huge.as_bytes()).await;
    assert!(
        response.is_empty() || status(&response).starts_with("HTTP/1.1 431"),
        "{:?}",
        status(&response)
    );
    // A client that connects and hangs up at once.
    drop(TcpStream::connect(addr).await.unwrap());

    let response = get(addr, "GET", "/metrics").await;
    assert_eq!(status(&response), "HTTP/1.1 200 OK", "{response}");
    assert_eq!(sample(&response, "joule_head_block"), Some(7));
    // The query string is not part of the path.
    let response = get(addr, "GET", "/metrics?x=1").await;
    assert_eq!(status(&response), "HTTP/1.1 200 OK", "{response}");
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let (addr, server) = metrics::serve("127.0.0.1:0".parse().unwrap(), Metrics::new())
        .await
        .unwrap();
    drop(server);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still listening after the handle was dropped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_address_in_use_is_a_clear_error() {
    let (addr, _server) = metrics::serve("127.0.0.1:0".parse().unwrap(), Metrics::new())
        .await
        .unwrap();
    let err = metrics::serve(addr, Metrics::new()).await.unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!("binding the metrics server to {addr}")),
        "{err:#}"
    );
}
