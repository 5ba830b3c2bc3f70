//! `joule explorer` as a child process against a running `joule dev`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use joule_ledger::{Call, SecretKey, Transaction, codec};
use serde_json::Value;

use crate::support::{Dev, start_dev};

fn explorer(dev: &Dev, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["explorer", "--rpc", &dev.rpc])
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn explorer_reads_blocks_accounts_and_proves_a_transaction() {
    let dev = start_dev();
    let requester = SecretKey::from_seed(joule_node::dev::DEV_REQUESTER_SEED);
    let to = SecretKey::from_seed("explorer-test-recipient").address();
    let signed = Transaction {
        chain_id: joule_node::dev::DEV_CHAIN_ID,
        nonce: 0,
        fee: 1,
        call: Call::Transfer { to, amount: 777 },
    }
    .sign(&requester);
    let hash = signed.hash();
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "tx_submit",
        "params": [format!("0x{}", hex::encode(codec::encode(&signed)))],
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let submitted: Value = runtime.block_on(async {
        use jsonrpsee::core::client::ClientT;
        let client = jsonrpsee_http_client::HttpClientBuilder::default()
            .build(&dev.rpc)
            .unwrap();
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        p.insert(&body["params"][0]).unwrap();
        client.request("tx_submit", p).await.unwrap()
    });
    assert_eq!(submitted, serde_json::json!(hash));

    // Poll until the transfer is in a block, then prove it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let proven = loop {
        assert!(
            Instant::now() < deadline,
            "transaction not included in time"
        );
        let out = explorer(&dev, &["--json", "tx", &hash.to_string(), "--prove"]);
        if out.status.success() {
            break json(&out);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(proven["proof"]["verified"], true);
    assert_eq!(proven["receipt"]["status"]["status"], "success");
    let block = proven["blockNumber"].as_u64().unwrap();

    let account = json(&explorer(&dev, &["--json", "account", &to.to_string()]));
    assert_eq!(account["balance"], "777");
    let head = json(&explorer(&dev, &["--json", "head"]));
    assert!(head["number"].as_u64().unwrap() >= block);
    let got = json(&explorer(&dev, &["--json", "block", &block.to_string()]));
    // The dev provider's own transactions may share the block.
    let txs = got["transactions"].as_array().unwrap();
    assert!(
        txs.iter().any(|t| t["hash"] == serde_json::json!(hash)),
        "{got}"
    );
    // The people's view prints lines, not JSON.
    let text = explorer(&dev, &["block", &block.to_string()]);
    assert!(text.status.success());
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!("transactions  {}", txs.len()))
    );

    // Two heads over WebSocket, one JSON line each.
    let watched = explorer(&dev, &["--json", "watch", "--count", "2"]);
    assert!(watched.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&watched.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[1]["number"].as_u64().unwrap(),
        lines[0]["number"].as_u64().unwrap() + 1
    );

    // Unknown things are errors with a message, not crashes.
    let missing = explorer(&dev, &["job", &joule_ledger::Hash::ZERO.to_string()]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("job not found"));
    let jobs = json(&explorer(&dev, &["--json", "jobs"]));
    assert_eq!(jobs, serde_json::json!([]));
}
