//! Crash safety: a child process commits blocks into RocksDB and is killed with SIGKILL at
//! random points; every time, the database must reopen at a block boundary whose state root
//! equals its header's, with no credit created or lost.
//!
//! The child is this same test binary re-run with `JOULE_CRASH_CHILD=<dir>` and the filter
//! `crash::child_writer`: it prints `committed N` after each durable block.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use joule_ledger::store::{ChainStore, RocksStore};
use joule_ledger::testing::TestNet;
use joule_ledger::{Chain, TransferExecutor};

const USERS: usize = 8;
const BALANCE: u128 = 1_000_000_000;
const TXS_PER_BLOCK: u64 = 64;
const KILLS: usize = 50;

fn net() -> TestNet {
    TestNet::new(1, USERS, BALANCE)
}

fn open(dir: &std::path::Path) -> Chain {
    let store = RocksStore::open(dir).expect("open rocksdb");
    Chain::open(
        ChainStore::new(Arc::new(store)),
        net().genesis,
        Arc::new(TransferExecutor),
    )
    .expect("open chain")
}

/// Not a test on its own: the child body. Without the variable it returns at once.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("JOULE_CRASH_CHILD") else {
        return;
    };
    let net = net();
    let chain = open(std::path::Path::new(&dir));
    loop {
        let number = chain.head().number + 1;
        let txs: Vec<_> = (0..TXS_PER_BLOCK)
            .map(|i| {
                let from = &net.users[(i as usize) % USERS];
                let to = net.users[(i as usize + 1) % USERS].address();
                let nonce =
                    chain.account_at_head(&from.address()).unwrap().nonce + i / USERS as u64;
                net.transfer(from, nonce, to, 1 + number as u128 % 7, 1)
                    .verify(net.genesis.chain_id)
                    .unwrap()
            })
            .collect();
        net.produce_block(&chain, txs);
        println!("committed {number}");
    }
}

#[test]
fn reopens_at_a_block_boundary_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen = 0u64;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "crash::child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("JOULE_CRASH_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it commit a random number of blocks, then kill it wherever it is in the next one.
        let wait_for = 1 + rand_u64(round) % 4;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut committed = 0;
        while committed < wait_for {
            let line = lines.next().expect("child exited early").unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                seen = seen.max(n.parse().unwrap());
                committed += 1;
            }
        }
        // Spin a random amount of work so the kill lands at varied points of the next block.
        let spin = rand_u64(round * 7 + 3) % 3_000_000;
        let mut x = 0u64;
        for i in 0..spin {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let chain = open(dir.path());
        let head = chain.head();
        assert!(
            head.number >= seen,
            "round {round}: head {} is behind the durable block {seen}",
            head.number
        );
        assert!(
            chain.check_state_root().unwrap(),
            "round {round}: state root differs from header {}",
            head.number
        );
        let net = net();
        let mut total: u128 = net
            .users
            .iter()
            .map(|k| chain.account_at_head(&k.address()).unwrap().balance)
            .sum();
        total += chain
            .account_at_head(&net.authorities[0].address())
            .unwrap()
            .balance;
        assert_eq!(
            total,
            USERS as u128 * BALANCE,
            "round {round}: supply changed"
        );
        let parent = chain
            .header(head.number.saturating_sub(1))
            .unwrap()
            .unwrap();
        if head.number > 0 {
            assert_eq!(head.parent_hash, parent.hash());
            assert!(chain.commit(head.number).unwrap().is_some());
        }
        seen = head.number;
    }
    assert!(seen >= KILLS as u64, "only {seen} blocks over {KILLS} runs");
}

/// A small deterministic mixer, so each run is reproducible.
fn rand_u64(seed: usize) -> u64 {
    let mut x = seed as u64 ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
