//! `joule bid` as a child process against a running `joule dev`.
//!
//! One test lets `joule dev`'s own provider take the bid and follows it to settlement; the
//! others ask for a reputation no provider of a fresh chain has, so their bids stay unmatched.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use joule_ledger::{Hash, SecretKey};
use serde_json::{Value, json};

use crate::support::{Dev, start_dev};

/// A reputation score no provider of a fresh chain has.
const UNREACHABLE_REPUTATION: &str = "1000000";
/// The hash-chain example's input: 16 rounds over "joule".
const INPUT_HEX: &str = "0x100000006a6f756c65";

fn rpc(dev: &Dev, method: &str, args: Vec<Value>) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = joule_node::rpc::client::connect(&dev.rpc).unwrap();
        joule_node::rpc::client::call(&client, method, args)
            .await
            .unwrap()
    })
}

fn dev_key(dev: &Dev) -> PathBuf {
    dev.dir.path().join("keys").join("dev-requester.key")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn example_module(dir: &Path) -> PathBuf {
    write(dir, "hash_chain.wasm", joule_vm::examples::HASH_CHAIN)
}

/// `joule bid --rpc URL --key KEY --module MODULE --fuel … --max-price …` plus `extra`.
fn bid(rpc: &str, key: &Path, module: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["bid", "--rpc", rpc, "--key"])
        .arg(key)
        .arg("--module")
        .arg(module)
        .args(["--fuel", "1000000", "--max-price", "2"])
        .args(["--min-reputation", UNREACHABLE_REPUTATION])
        .args(extra)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bid_publishes_the_module_once_and_enters_the_book() {
    let dev = start_dev();
    let files = tempfile::tempdir().unwrap();
    let module = example_module(files.path());
    let code_hash = Hash::keccak(joule_vm::examples::HASH_CHAIN);
    let requester = SecretKey::from_seed(joule_node::dev::DEV_REQUESTER_SEED).address();
    assert_eq!(
        rpc(&dev, "market_getModule", vec![json!(code_hash)]),
        Value::Null
    );

    // The first bid publishes the module, then bids with the input inline.
    let first = json_of(&bid(
        &dev.rpc,
        &dev_key(&dev),
        &module,
        &["--input-hex", INPUT_HEX, "--json"],
    ));
    assert_eq!(first["publishedModule"], true);
    assert_eq!(first["module"], json!(code_hash));
    assert!(first["moduleTx"]["block"].as_u64().unwrap() >= 1);
    assert_eq!(first["input"]["type"], "inline");
    assert_eq!(first["input"]["size"], 9);
    assert_eq!(first["escrowMax"], "2000000");
    assert_eq!(first["requester"], json!(requester));
    assert_eq!(
        rpc(&dev, "market_getModule", vec![json!(code_hash)]),
        json!({"hash": code_hash, "size": joule_vm::examples::HASH_CHAIN.len()})
    );
    assert_eq!(rpc(&dev, "node_info", vec![])["openBids"], 1);

    // The second does not publish again: one transaction in all, two bids in the book.
    let second = bid(
        &dev.rpc,
        &dev_key(&dev),
        &module,
        &["--input-hex", INPUT_HEX],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(text.contains("already on chain"), "{text}");
    assert!(text.contains("escrow max  2000000"), "{text}");
    let job = text
        .lines()
        .find_map(|l| l.strip_prefix("job"))
        .unwrap()
        .trim();
    assert_ne!(job, first["job"].as_str().unwrap(), "two bids, two jobs");
    let account = rpc(&dev, "state_getAccount", vec![json!(requester)]);
    assert_eq!(account["nonce"], 1);
    assert_eq!(account["pendingNonce"], 1);
    assert_eq!(rpc(&dev, "node_info", vec![])["openBids"], 2);

    // `--store-input` publishes the input and bids with its hash.
    let stored = json_of(&bid(
        &dev.rpc,
        &dev_key(&dev),
        &module,
        &["--input-hex", INPUT_HEX, "--store-input", "--json"],
    ));
    assert_eq!(stored["publishedModule"], false);
    assert_eq!(stored["input"]["type"], "stored");
    assert_eq!(stored["input"]["published"], true);
    let input_hash = Hash::keccak(&hex::decode(&INPUT_HEX[2..]).unwrap());
    assert_eq!(stored["input"]["hash"], json!(input_hash));
    assert_eq!(
        rpc(&dev, "market_getInput", vec![json!(input_hash)]),
        json!({"hash": input_hash, "size": 9})
    );
    assert_eq!(
        rpc(&dev, "state_getAccount", vec![json!(requester)])["nonce"],
        2
    );
    assert_eq!(rpc(&dev, "node_info", vec![])["openBids"], 3);
}

#[test]
fn wait_ends_when_no_provider_takes_the_bid() {
    let dev = start_dev();
    let files = tempfile::tempdir().unwrap();
    let module = example_module(files.path());
    let out = bid(
        &dev.rpc,
        &dev_key(&dev),
        &module,
        &["--deadline-blocks", "2", "--wait", "--json"],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deadline = report["deadline"].as_u64().unwrap();
    assert!(
        err.contains(&format!(
            "no provider took the bid before its deadline (block {deadline})"
        )),
        "{err}"
    );
    assert_eq!(report["final"]["status"], "unmatched");
    assert!(report["final"]["block"].as_u64().unwrap() >= deadline);
    // The book forgot the expired bid.
    assert_eq!(rpc(&dev, "node_info", vec![])["openBids"], 0);
}

#[test]
fn bad_bids_get_clear_errors_and_the_node_keeps_serving() {
    let dev = start_dev();
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let module = example_module(dir);
    let key = dev_key(&dev);
    let fails_with = |out: Output, expected: &str| {
        assert!(!out.status.success(), "{expected}: it succeeded");
        let err = stderr(&out);
        assert!(err.contains(expected), "expected {expected:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };

    // Not WebAssembly at all, and a module without the job ABI's exports.
    let junk = write(dir, "junk.wasm", b"not wasm");
    fails_with(bid(&dev.rpc, &key, &junk, &[]), "invalid module");
    let empty = write(dir, "empty.wasm", b"\0asm\x01\0\0\0");
    fails_with(bid(&dev.rpc, &key, &empty, &[]), "invalid module");
    // Keys.
    fails_with(
        bid(&dev.rpc, &dir.join("missing.key"), &module, &[]),
        "missing.key",
    );
    let secret = SecretKey::random();
    let params = joule_node::keystore::ScryptParams::new(1 << 10, 8, 1).unwrap();
    let keystore = dir.join("keystore.json");
    joule_node::keystore::save(
        &keystore,
        &joule_node::keystore::encrypt(&secret, b"right", &params),
    )
    .unwrap();
    let wrong = write(dir, "wrong.txt", b"wrong\n");
    fails_with(
        bid(
            &dev.rpc,
            &keystore,
            &module,
            &["--password-file", wrong.to_str().unwrap()],
        ),
        "wrong passphrase",
    );
    // Flags the node would refuse are refused before anything is sent.
    fails_with(
        bid(&dev.rpc, &key, &module, &["--input-hex", "0xzz"]),
        "--input-hex is not valid hex",
    );
    fails_with(
        bid("http://127.0.0.1:1", &key, &module, &[]),
        "cannot reach the node",
    );
    let zero_fuel = Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["bid", "--rpc", &dev.rpc, "--key"])
        .arg(&key)
        .arg("--module")
        .arg(&module)
        .args(["--fuel", "0", "--max-price", "2"])
        .output()
        .unwrap();
    fails_with(zero_fuel, "fuel limit 0 is outside 1..=");
    assert_eq!(rpc(&dev, "node_info", vec![])["openBids"], 0);
    // Nothing was sent from the requester (the dev provider's own transactions may be pooled).
    let requester = SecretKey::from_seed(joule_node::dev::DEV_REQUESTER_SEED).address();
    let account = rpc(&dev, "state_getAccount", vec![json!(requester)]);
    assert_eq!(account["pendingNonce"], 0, "{account}");

    // An unfunded key: refused locally while the module still has to be published (nothing is
    // sent), by the node once it is published.
    let unfunded = write(
        dir,
        "unfunded.key",
        format!("0x{}\n", hex::encode(secret.to_bytes())).as_bytes(),
    );
    fails_with(bid(&dev.rpc, &unfunded, &module, &[]), "nothing was sent");
    let ok = bid(&dev.rpc, &key, &module, &[]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    fails_with(
        bid(&dev.rpc, &unfunded, &module, &[]),
        &format!("bid rejected: requester {} has 0", secret.address()),
    );

    // The node still serves, with exactly the one good bid.
    assert_eq!(rpc(&dev, "node_info", vec![])["openBids"], 1);
    assert!(rpc(&dev, "chain_head", vec![])["number"].as_u64().is_some());
}

/// The test plays the provider over RPC (register, match, commit, reveal) while `joule bid
/// --wait --out` follows the job to settlement and checks the output against the agreed hash.
#[test]
fn wait_follows_a_matched_job_to_settlement_and_writes_the_output() {
    // joule dev's own provider takes the bid, runs it, commits and reveals.
    let dev = start_dev();
    let files = tempfile::tempdir().unwrap();
    let module = example_module(files.path());
    let out_file = files.path().join("output.bin");
    let provider = SecretKey::from_seed(joule_node::dev::DEV_PROVIDER_SEED);

    let mut child = Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["bid", "--rpc", &dev.rpc, "--key"])
        .arg(dev_key(&dev))
        .arg("--module")
        .arg(&module)
        .args(["--fuel", "1000000", "--max-price", "2", "--nonce", "7"])
        .args(["--input-hex", INPUT_HEX, "--wait", "--out"])
        .arg(&out_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let input = hex::decode(&INPUT_HEX[2..]).unwrap();
    let params = joule_ledger::genesis::MarketParams::default();
    let outcome = joule_vm::Vm::new()
        .unwrap()
        .execute(
            joule_vm::examples::HASH_CHAIN,
            &input,
            &joule_contracts::job_limits(&params, 1_000_000),
        )
        .unwrap();
    let result = joule_contracts::result_of(&outcome);

    // The challenge window passes, the job settles and joule bid exits.
    let exit = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > exit {
            let _ = child.kill();
            panic!("joule bid --wait did not finish: {printed:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    printed.extend(lines.try_iter());
    let text = printed.join("\n");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{text}\n{err}");
    assert!(
        text.contains(&format!("matched by {}", provider.address())),
        "{text}"
    );
    assert!(text.contains("job is committing"), "{text}");
    assert!(text.contains("job is settled"), "{text}");
    assert!(
        text.contains(&format!(
            "result      ok (status 0), fuel used {} of 1000000",
            result.fuel_used
        )),
        "{text}"
    );
    // Paid at the offer's price of 1 per fuel; the rest of the replica's escrow comes back.
    assert!(
        text.contains(&format!(
            "paid        {} to providers; {} of the 1000000 escrow refunded",
            result.fuel_used,
            1_000_000 - result.fuel_used
        )),
        "{text}"
    );
    assert_eq!(std::fs::read(&out_file).unwrap(), outcome.output);
    assert_eq!(Hash::keccak(&outcome.output), result.output_hash);
}
