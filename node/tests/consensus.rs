//! Several authorities, each a real [`Driver`] over its own chain, connected by a [`LocalHub`].

use std::sync::Arc;
use std::time::Duration;

use joule_ledger::Chain;
use joule_ledger::mempool::{Mempool, MempoolConfig};
use joule_ledger::testing::TestNet;
use joule_node::driver::{Driver, DriverConfig, LocalHub};
use parking_lot::Mutex;

/// Runs `up` of `net`'s authorities until each has committed `until` blocks; returns their chains.
async fn run(net: &TestNet, up: &[usize], until: u64) -> Vec<Arc<Chain>> {
    let hub = Arc::new(LocalHub::default());
    let mut chains = Vec::new();
    let mut tasks = Vec::new();
    for &i in up {
        let key = net.authorities[i].clone();
        let chain = Arc::new(net.memory_chain());
        let inbox = hub.join(key.address());
        let mempool = Arc::new(Mutex::new(Mempool::new(MempoolConfig::default())));
        let driver = Driver::new(
            chain.clone(),
            key,
            mempool,
            hub.clone(),
            inbox,
            DriverConfig {
                until_block: Some(until),
                heads: None,
                metrics: None,
            },
        )
        .unwrap();
        chains.push(chain);
        tasks.push(tokio::spawn(driver.run(std::future::pending())));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("driver did not reach the target height")
            .unwrap()
            .unwrap();
    }
    chains
}

fn fast_net() -> TestNet {
    let mut net = TestNet::new(4, 1, 1_000);
    net.genesis.block_time_ms = 20;
    net.genesis.timestamp_ms = 0;
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_authorities_agree_on_every_block() {
    let net = fast_net();
    let chains = run(&net, &[0, 1, 2, 3], 5).await;
    for n in 1..=5 {
        let hashes: Vec<_> = chains
            .iter()
            .map(|c| c.header(n).unwrap().unwrap().hash())
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "height {n}: {hashes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_of_four_keep_the_chain_moving() {
    let net = fast_net();
    // Authority 2 is down: it is the proposer of some rounds, which then time out.
    let chains = run(&net, &[0, 1, 3], 4).await;
    let head = chains[0].header(4).unwrap().unwrap().hash();
    assert!(
        chains
            .iter()
            .all(|c| c.header(4).unwrap().unwrap().hash() == head)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_authority_catches_up_from_announced_blocks() {
    // Three authorities run on; the fourth starts later on an empty chain, imports the blocks
    // its peers announce (each proven by its commit) and reaches the same chain.
    let net = fast_net();
    let hub = Arc::new(LocalHub::default());
    let mut runners = Vec::new();
    let mut chains = Vec::new();
    for i in 0..4 {
        let key = net.authorities[i].clone();
        let chain = Arc::new(net.memory_chain());
        let inbox = hub.join(key.address());
        let driver = Driver::new(
            chain.clone(),
            key,
            Arc::new(Mutex::new(Mempool::new(MempoolConfig::default()))),
            hub.clone(),
            inbox,
            DriverConfig {
                until_block: if i == 3 { Some(8) } else { None },
                heads: None,
                metrics: None,
            },
        )
        .unwrap();
        chains.push(chain);
        runners.push(driver);
    }
    let late = runners.pop().unwrap();
    let mut tasks: Vec<_> = runners
        .into_iter()
        .map(|d| tokio::spawn(d.run(std::future::pending())))
        .collect();
    // Let the three commit a few blocks without it (its inbox fills and drops; that is the point).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while chains[0].head().number < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the three did not commit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::timeout(Duration::from_secs(60), late.run(std::future::pending()))
        .await
        .expect("the late authority did not catch up")
        .unwrap();
    // The three decide without waiting for each other's commits (any three of four are a
    // quorum), so let each of them reach height 8 too before comparing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while chains[..3].iter().any(|c| c.head().number < 8) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the three stopped before height 8"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for t in tasks.drain(..) {
        t.abort();
    }
    let late_chain = &chains[3];
    assert!(late_chain.head().number >= 8);
    for n in 1..=8 {
        for other in &chains[..3] {
            assert_eq!(
                late_chain.header(n).unwrap().unwrap().hash(),
                other.header(n).unwrap().unwrap().hash(),
                "height {n}"
            );
        }
    }
}
