//! `joule explorer`: read the chain over JSON-RPC, as lines for people or JSON for scripts.
//!
//! `tx HASH --prove` fetches the transaction's Merkle proof and checks it against the header
//! itself, so the answer does not rest on the node's word about inclusion.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use joule_ledger::{Address, Hash, merkle};
use jsonrpsee::core::client::SubscriptionClientT;
use jsonrpsee_ws_client::WsClientBuilder;
use serde_json::{Value, json};

use crate::rpc::client::{call, connect, params};
use crate::rpc::types::TxProofJson;

/// Flags of `joule explorer`.
#[derive(Debug, Args)]
pub struct ExplorerArgs {
    /// The node's JSON-RPC address.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8545",
        global = true
    )]
    pub rpc: String,
    /// Print JSON instead of lines for people.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to show.
    #[command(subcommand)]
    pub what: What,
}

/// What `joule explorer` shows.
#[derive(Debug, Subcommand)]
pub enum What {
    /// The head block's header.
    Head,
    /// A block by number, hash or `latest`, with its transactions and receipts.
    Block {
        /// Number, 0x-hash or `latest`.
        id: String,
    },
    /// A transaction by hash, with its receipt.
    Tx {
        /// Transaction hash.
        hash: Hash,
        /// Fetch its Merkle proof and check it against the block header.
        #[arg(long)]
        prove: bool,
    },
    /// An account's balance and nonces.
    Account {
        /// Address.
        address: Address,
    },
    /// A job's record on chain.
    Job {
        /// Job id (the bid's id).
        id: Hash,
    },
    /// Jobs on chain, optionally filtered.
    Jobs {
        /// Only this phase (committing, revealing, challengeable, arbitrating, settled, expired).
        #[arg(long)]
        status: Option<String>,
        /// Only this requester's jobs.
        #[arg(long)]
        requester: Option<Address>,
        /// Only jobs this provider holds a replica of.
        #[arg(long)]
        provider: Option<Address>,
        /// Most jobs to list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// A provider's stake and reputation.
    Provider {
        /// Address.
        address: Address,
    },
    /// Follow new blocks as they are committed (WebSocket), each with its events: transfers,
    /// matches, commitments and reveals, job phases, payments, slashes.
    Watch {
        /// Stop after this many heads (default: until interrupted).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
}

/// Prints `value` as JSON or as `key: value` lines (nested values as compact JSON).
fn show(value: &Value, as_json: bool) {
    if as_json {
        println!("{value}");
        return;
    }
    match value {
        Value::Object(map) => {
            let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                println!("{k:width$}  {text}");
            }
        }
        Value::Array(items) => {
            for item in items {
                show(item, false);
                println!();
            }
        }
        other => println!("{other}"),
    }
}

fn found(value: Value, what: &str) -> anyhow::Result<Value> {
    if value.is_null() {
        bail!("{what} not found");
    }
    Ok(value)
}

/// Runs `joule explorer`.
pub fn run(args: ExplorerArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(explore(args))
}

async fn explore(args: ExplorerArgs) -> anyhow::Result<()> {
    let client = connect(&args.rpc)?;
    let as_json = args.json;
    match args.what {
        What::Head => show(&call(&client, "chain_head", vec![]).await?, as_json),
        What::Block { id } => {
            let id = match id.parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => json!(id),
            };
            let block = found(call(&client, "chain_getBlock", vec![id]).await?, "block")?;
            if as_json {
                show(&block, true);
            } else {
                show(&block["header"], false);
                let txs = block["transactions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                println!("transactions  {}", txs.len());
                for tx in txs {
                    println!(
                        "  {}  from {}  {}",
                        tx["hash"].as_str().unwrap_or("?"),
                        tx["sender"].as_str().unwrap_or("?"),
                        tx["tx"]["call"]["type"].as_str().unwrap_or("?")
                    );
                }
            }
        }
        What::Tx { hash, prove } => {
            let mut tx = found(
                call(&client, "chain_getTransaction", vec![json!(hash)]).await?,
                "transaction",
            )?;
            if prove {
                let raw = found(
                    call(&client, "chain_getTransactionProof", vec![json!(hash)]).await?,
                    "inclusion proof (the transaction is not in a block yet)",
                )?;
                let proof: TxProofJson =
                    serde_json::from_value(raw).context("decoding the proof")?;
                let leaf = merkle::leaf_hash(&proof.signed_tx);
                let valid = Hash::keccak(&proof.signed_tx) == hash
                    && proof.header.header.hash() == proof.header.hash
                    && proof.proof.verify(proof.header.header.tx_root, leaf);
                tx["proof"] = json!({
                    "verified": valid,
                    "blockHash": proof.header.hash,
                    "txRoot": proof.header.header.tx_root,
                });
                if !as_json {
                    println!(
                        "proof: {} against tx root {} of block {}",
                        if valid { "valid" } else { "INVALID" },
                        proof.header.header.tx_root,
                        proof.header.header.number
                    );
                }
                if !valid {
                    show(&tx, as_json);
                    bail!("the node's inclusion proof does not verify");
                }
            }
            show(&tx, as_json);
        }
        What::Account { address } => show(
            &call(&client, "state_getAccount", vec![json!(address)]).await?,
            as_json,
        ),
        What::Job { id } => show(
            &found(
                call(&client, "market_getJob", vec![json!(id)]).await?,
                "job",
            )?,
            as_json,
        ),
        What::Jobs {
            status,
            requester,
            provider,
            limit,
        } => {
            let filter = json!({
                "status": status,
                "requester": requester,
                "provider": provider,
                "limit": limit,
            });
            let jobs = call(&client, "market_listJobs", vec![filter]).await?;
            if as_json {
                show(&jobs, true);
            } else {
                for job in jobs.as_array().cloned().unwrap_or_default() {
                    println!(
                        "{}  {:13}  requester {}  replicas {}",
                        job["id"].as_str().unwrap_or("?"),
                        job["status"].as_str().unwrap_or("?"),
                        job["requester"].as_str().unwrap_or("?"),
                        job["assignments"].as_array().map_or(0, |a| a.len())
                    );
                }
            }
        }
        What::Provider { address } => show(
            &found(
                call(&client, "market_getProvider", vec![json!(address)]).await?,
                "provider",
            )?,
            as_json,
        ),
        What::Watch { count } => {
            let ws_url = args
                .rpc
                .replacen("http://", "ws://", 1)
                .replacen("https://", "wss://", 1);
            let ws = WsClientBuilder::default()
                .build(&ws_url)
                .await
                .with_context(|| format!("connecting to {ws_url}"))?;
            let mut heads = ws
                .subscribe::<Value, _>(
                    "chain_subscribeHeads",
                    params(vec![]),
                    "chain_unsubscribeHeads",
                )
                .await
                .context("subscribing to new heads")?;
            let mut seen = 0;
            while count.is_none_or(|c| seen < c) {
                let Some(head) = heads.next().await else {
                    break;
                };
                let head = head.context("reading a head")?;
                // The block's events, in receipt order (end-of-block events last).
                let block = call(&client, "chain_getBlock", vec![head["number"].clone()])
                    .await
                    .context("reading the new block")?;
                let events: Vec<Value> = block["receipts"]
                    .as_array()
                    .map(|rs| {
                        rs.iter()
                            .filter_map(|r| r["events"].as_array())
                            .flatten()
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                if as_json {
                    let mut line = head.clone();
                    line["events"] = Value::Array(events);
                    println!("{line}");
                } else {
                    println!(
                        "block {}  {}  proposer {}",
                        head["number"],
                        head["hash"].as_str().unwrap_or("?"),
                        head["proposer"].as_str().unwrap_or("?")
                    );
                    for event in &events {
                        let mut fields = event.clone();
                        let kind = fields["type"].as_str().unwrap_or("event").to_owned();
                        if let Some(map) = fields.as_object_mut() {
                            map.remove("type");
                        }
                        println!("  {kind:<16} {fields}");
                    }
                }
                seen += 1;
            }
        }
    }
    Ok(())
}
