//! The whole market loop in a real `joule dev` child process: a bid over raw JSON-RPC settles
//! with balances moving exactly fuel × price plus fees; `kill -9` mid-job loses nothing and pays
//! nothing twice.

use std::time::Duration;

use joule_ledger::{Bid, Call, Hash, JobInput, SecretKey, Transaction, codec};
use joule_node::dev::{DEV_CHAIN_ID, DEV_PROVIDER_SEED, DEV_REQUESTER_SEED};
use serde_json::{Value, json};

use crate::support::{DevNode, datadir, field, joule, metric, scrape_metrics};

const WAIT: Duration = Duration::from_secs(120);

fn submit_tx(node: &DevNode, key: &SecretKey, nonce: u64, call: Call) -> Hash {
    let signed = Transaction {
        chain_id: DEV_CHAIN_ID,
        nonce,
        fee: 1,
        call,
    }
    .sign(key);
    let hex = format!("0x{}", hex::encode(codec::encode(&signed)));
    let hash: Hash = serde_json::from_value(node.call("tx_submit", vec![json!(hex)])).unwrap();
    assert_eq!(hash, signed.hash());
    hash
}

fn wait_included(node: &DevNode, hash: &Hash) -> Value {
    node.poll("transaction included", WAIT, || {
        let tx = node.call("chain_getTransaction", vec![json!(hash)]);
        tx["blockNumber"].is_u64().then_some(tx)
    })
}

fn wait_final(node: &DevNode, job: &str) -> Value {
    node.poll("job final", WAIT, || {
        let record = node.call("market_getJob", vec![json!(job)]);
        matches!(record["status"].as_str(), Some("settled" | "expired")).then_some(record)
    })
}

fn paid_to(record: &Value, index: usize) -> u128 {
    record["assignments"][index]["resolution"]["paid"]
        .as_str()
        .unwrap_or_else(|| panic!("not paid: {record}"))
        .parse()
        .unwrap()
}

#[test]
fn a_bid_over_json_rpc_settles_and_balances_move_exactly() {
    let (_dir, data) = datadir();
    let node = DevNode::start(&data, &["--no-demo", "--metrics.addr", "127.0.0.1:0"]);
    let requester = SecretKey::from_seed(DEV_REQUESTER_SEED);
    let provider = SecretKey::from_seed(DEV_PROVIDER_SEED).address();

    // The dev provider registers and offers by itself.
    node.poll("provider offer in the book", WAIT, || {
        let offers = node.call("market_listOffers", vec![]);
        offers
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["offer"]["provider"] == json!(provider))
            .then_some(())
    });
    let requester_before = node.balance(&requester.address());
    let provider_before = node.balance(&provider);

    let code = joule_vm::examples::HASH_CHAIN;
    let published = submit_tx(
        &node,
        &requester,
        0,
        Call::PublishModule {
            code: code.to_vec(),
        },
    );
    let tx = wait_included(&node, &published);
    assert_eq!(tx["receipt"]["status"]["status"], "success", "{tx}");

    // Follow the blocks live while the job runs.
    let watch = std::process::Command::new(env!("CARGO_BIN_EXE_joule"))
        .args([
            "explorer", "--rpc", &node.rpc, "--json", "watch", "--count", "6",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let head = node.head();
    let price = 3u128;
    let bid = Bid {
        chain_id: DEV_CHAIN_ID,
        requester: requester.address(),
        module: Hash::keccak(code),
        input: JobInput::Inline(joule_vm::examples::ALL[0].sample_input.to_vec()),
        fuel_limit: 50_000_000,
        max_price_per_fuel: price,
        replicas: 1,
        min_reputation: 0,
        deadline: head + 20,
        nonce: 1,
    }
    .sign(&requester);
    let job = node.call("market_submitBid", vec![json!(bid)]);
    let job = job.as_str().unwrap().to_owned();
    assert_eq!(job, bid.bid.id().to_string());

    let record = wait_final(&node, &job);
    assert_eq!(record["status"], "settled", "{record}");
    let watched = watch.wait_with_output().unwrap();
    assert!(watched.status.success());
    let kinds: Vec<String> = String::from_utf8_lossy(&watched.stdout)
        .lines()
        .flat_map(|l| {
            let block: Value = serde_json::from_str(l).unwrap();
            block["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["job"] == json!(job))
                .map(|e| e["type"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        kinds.contains(&"matched".to_owned()) && kinds.contains(&"resultSubmitted".to_owned()),
        "{kinds:?}"
    );
    let fuel: u128 = record["result"]["fuelUsed"].as_u64().unwrap().into();
    assert!(fuel > 0);
    // The provider asked 1 credit per fuel: it is paid its own price, not the bid's maximum.
    assert_eq!(paid_to(&record, 0), fuel);
    // The output is on chain and hashes to the agreed result.
    let output = hex::decode(record["output"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    assert_eq!(
        json!(Hash::keccak(&output)),
        record["result"]["outputHash"],
        "{record}"
    );

    // Requester: the publish transaction's fee, the per-byte publish fee, and fuel × price.
    let publish_fee = 10 * code.len() as u128;
    assert_eq!(
        requester_before - node.balance(&requester.address()),
        1 + publish_fee + fuel
    );
    // Provider: paid fuel × price, minus its match, commit and reveal fees.
    assert_eq!(node.balance(&provider) - provider_before, fuel - 3);
    let record = node.call("market_getProvider", vec![json!(provider)]);
    assert_eq!(record["reputation"]["jobsDone"], 1, "{record}");
    assert_eq!(record["locked"], "0", "collateral released: {record}");

    // The provider's metrics saw the same job.
    let scrape = scrape_metrics(&node);
    assert_eq!(
        metric(&scrape, "joule_provider_earnings_credits_total"),
        Some(fuel as f64),
        "{scrape}"
    );
    assert_eq!(
        metric(&scrape, "joule_provider_fuel_executed_total"),
        Some(fuel as f64),
        "{scrape}"
    );
    assert!(metric(&scrape, "joule_blocks_committed_total").unwrap() >= 1.0);

    // The explorer reads the same job back.
    let out = joule(&["explorer", "--rpc", &node.rpc, "--json", "job", &job]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["status"], "settled");
    assert_eq!(seen["result"], record_result(&node, &job));
}

fn record_result(node: &DevNode, job: &str) -> Value {
    node.call("market_getJob", vec![json!(job)])["result"].clone()
}

#[test]
fn kill_9_mid_job_loses_nothing_and_pays_once() {
    let (_dir, data) = datadir();
    // The demo posts a job at start; kill the node at each step of the provider's work.
    let node = DevNode::start(&data, &[]);
    let posted = node.wait_for_log("demo: bid posted", WAIT);
    let job = field(&posted, "job").unwrap();
    node.wait_for_log("running job", WAIT);
    node.kill9();

    let mut kills = 1;
    for step in ["committing to the result", "revealing"] {
        let node = DevNode::start(&data, &["--no-demo"]);
        let record = node.call("market_getJob", vec![json!(job)]);
        if record["status"] == "settled" {
            break;
        }
        node.wait_for_log(step, WAIT);
        node.kill9();
        kills += 1;
    }
    assert!(kills >= 2, "killed only {kills} times");

    let node = DevNode::start(&data, &["--no-demo"]);
    let head_at_start = node.head();
    let record = wait_final(&node, &job);
    assert_eq!(record["status"], "settled", "{record}\n{}", node.log());
    let fuel: u128 = record["result"]["fuelUsed"].as_u64().unwrap().into();
    assert_eq!(paid_to(&record, 0), fuel);
    let provider = SecretKey::from_seed(DEV_PROVIDER_SEED).address();
    let record = node.call("market_getProvider", vec![json!(provider)]);
    assert_eq!(record["reputation"]["jobsDone"], 1, "{record}");
    assert_eq!(record["reputation"]["noShows"], 0, "{record}");
    assert_eq!(record["locked"], "0", "{record}");
    // The chain goes on after the restarts.
    node.poll("chain moves", WAIT, || {
        (node.head() > head_at_start).then_some(())
    });
    // The provider's journal counted the payment once.
    let journal: Value =
        serde_json::from_slice(&std::fs::read(data.join("provider").join("journal.json")).unwrap())
            .unwrap();
    assert_eq!(journal["jobsPaid"], 1, "{journal}");
    assert_eq!(journal["earned"], fuel.to_string(), "{journal}");
    assert_eq!(journal["jobs"], json!({}), "{journal}");
}

#[test]
fn job_subscription_follows_the_demo_job_to_settlement() {
    use jsonrpsee::core::client::SubscriptionClientT;
    let (_dir, data) = datadir();
    let node = DevNode::start(&data, &[]);
    let posted = node.wait_for_log("demo: bid posted", WAIT);
    let job = field(&posted, "job").unwrap();
    let ws = node.rpc.replacen("http://", "ws://", 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let phases = runtime.block_on(async {
        let client = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(&ws)
            .await
            .unwrap();
        let mut params = jsonrpsee::core::params::ArrayParams::new();
        params.insert(&job).unwrap();
        let mut sub = client
            .subscribe::<Value, _>("market_subscribeJob", params, "market_unsubscribeJob")
            .await
            .unwrap();
        let mut phases: Vec<String> = Vec::new();
        loop {
            let update = tokio::time::timeout(WAIT, sub.next())
                .await
                .expect("a job update in time")
                .expect("subscription open")
                .unwrap();
            assert_eq!(update["id"], json!(job));
            let status = update["status"].as_str().unwrap().to_owned();
            if phases.last() != Some(&status) {
                phases.push(status.clone());
            }
            if status == "settled" || status == "expired" {
                break phases;
            }
        }
    });
    // Updates come per block; a phase may pass within one block, but the order never goes back.
    assert_eq!(
        phases.last().map(String::as_str),
        Some("settled"),
        "{phases:?}"
    );
    let order = ["committing", "revealing", "challengeable", "settled"];
    let ranks: Vec<usize> = phases
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
    assert!(phases.contains(&"challengeable".to_owned()), "{phases:?}");
}

#[test]
fn a_damaged_provider_journal_stops_the_node_with_its_reason() {
    let (_dir, data) = datadir();
    std::fs::create_dir_all(data.join("provider")).unwrap();
    std::fs::write(data.join("provider").join("journal.json"), b"{not json").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_joule"))
        .args([
            "dev",
            "--no-demo",
            "--rpc.off",
            "--until-block",
            "1",
            "--datadir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provider journal"), "{err}");
}
