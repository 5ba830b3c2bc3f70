//! `joule bid`: the requester's command. It asks a running node for a job to be run, over
//! JSON-RPC.
//!
//! In order: the module is validated locally (an invalid one costs nothing), the key is read,
//! the node is asked for its chain id, market parameters and the account's nonce; the bid is
//! checked against the same rules the node applies ([`joule_market::check_bid`]). Then the
//! module is published with `PublishModule` unless the chain has it, and with `--store-input`
//! the input with `PublishInput` (the bid then names it by hash), each waited for until its
//! receipt says it succeeded. The genesis `max_input_bytes` caps inline and published inputs
//! alike, so a larger input is refused up front. Last the bid is signed here and sent with
//! `market_submitBid`; its id is the job's id. With `--wait` the job is followed (`follow.rs`)
//! until it is final: phase changes are printed, the settled result with what was paid and
//! refunded, and `--out` writes the output once its Keccak-256 hash matches the agreed one.
//!
//! A bid's nonce only tells apart otherwise equal bids of one requester (two equal bids are one
//! job). The default is the current time in microseconds, so two bids sent one after the other
//! never collide; `--nonce` sets it.

mod follow;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use joule_ledger::genesis::MarketParams;
use joule_ledger::{
    Amount, Bid, BlockNumber, Call, Hash, JobInput, Nonce, SecretKey, Transaction, TxStatus, codec,
};
use jsonrpsee_http_client::HttpClient;
use serde_json::{Value, json};

use crate::keys::PassphraseArgs;
use crate::rpc::client::{connect, request};
use crate::rpc::types::{AccountJson, HeaderJson, NodeInfo, StoredJson, TxJson};

/// Default fee of each transaction `joule bid` sends (the dev chain's pool takes 1 or more).
pub const DEFAULT_FEE: Amount = 10;
/// Default number of blocks the bid stays open for matching.
pub const DEFAULT_DEADLINE_BLOCKS: u64 = 30;
/// How long to wait for a publish transaction to be included.
const INCLUSION_TIMEOUT: Duration = Duration::from_secs(120);
/// How often to ask the node while waiting.
const POLL: Duration = Duration::from_millis(250);

/// Flags of `joule bid`.
#[derive(Debug, Args)]
pub struct BidArgs {
    /// The node's JSON-RPC address.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    pub rpc: String,
    /// The requester's key: a keystore file, or the hex key file `joule dev` writes
    /// (`<datadir>/keys/dev-requester.key`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The job module (a .wasm file following the Joule job ABI).
    #[arg(long, value_name = "FILE")]
    pub module: PathBuf,
    /// Read the job input from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "input_hex")]
    pub input: Option<PathBuf>,
    /// The job input as hex (an optional 0x prefix is allowed).
    #[arg(long = "input-hex", value_name = "HEX")]
    pub input_hex: Option<String>,
    /// Publish the input on chain and bid with its hash even if it fits in the bid.
    #[arg(long)]
    pub store_input: bool,
    /// Fuel limit of each run.
    #[arg(long, value_name = "N")]
    pub fuel: u64,
    /// Highest price per unit of fuel.
    #[arg(long, value_name = "P")]
    pub max_price: Amount,
    /// How many distinct providers run the job.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub replicas: u8,
    /// Lowest reputation score a provider must have.
    #[arg(long, value_name = "SCORE", default_value_t = 0)]
    pub min_reputation: u64,
    /// Blocks after the current head during which the bid may be matched.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DEADLINE_BLOCKS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline_blocks: u64,
    /// Fee of each transaction sent (publishing the module or the input).
    #[arg(long, value_name = "AMOUNT", default_value_t = DEFAULT_FEE)]
    pub fee: Amount,
    /// The bid's nonce [default: the current time in microseconds].
    #[arg(long, value_name = "N")]
    pub nonce: Option<Nonce>,
    /// Follow the job until it is settled or expired.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: write the job's output to this file (after checking its hash).
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Runs `joule bid`, printing to stdout.
pub fn run(args: BidArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let stdout = std::io::stdout();
    runtime.block_on(bid(args, &mut stdout.lock()))
}

/// What `joule bid` reads before talking to the node.
struct Local {
    code: Vec<u8>,
    input: Vec<u8>,
    key: SecretKey,
}

fn read_local(args: &BidArgs) -> anyhow::Result<Local> {
    let input = crate::job::read_input_from(args.input.as_deref(), args.input_hex.as_deref())?;
    let code = std::fs::read(&args.module)
        .with_context(|| format!("reading module {}", args.module.display()))?;
    if !code.starts_with(b"\0asm") {
        bail!(
            "invalid module {}: not a WebAssembly binary (it does not start with \"\\0asm\")",
            args.module.display()
        );
    }
    joule_vm::validate(&code, &joule_vm::ValidationRules::default())
        .with_context(|| format!("invalid module {}", args.module.display()))?;
    let key = crate::keystore::read_key(&args.key, &args.passphrase.source())
        .with_context(|| format!("reading key {}", args.key.display()))?;
    Ok(Local { code, input, key })
}

fn default_nonce() -> Nonce {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Nonce)
}

/// A publish transaction sent and included.
struct Published {
    tx: Hash,
    block: BlockNumber,
    fee: Amount,
}

fn publish_json(p: &Option<Published>) -> Value {
    match p {
        None => Value::Null,
        Some(p) => json!({"tx": p.tx, "block": p.block, "fee": p.fee.to_string()}),
    }
}

async fn bid(args: BidArgs, w: &mut impl Write) -> anyhow::Result<()> {
    let local = read_local(&args)?;
    let requester = local.key.address();
    let client = connect(&args.rpc)?;
    let info: NodeInfo = request(&client, "node_info", vec![]).await?;
    let params: MarketParams = request(&client, "market_getParams", vec![]).await?;
    let account: AccountJson = request(&client, "state_getAccount", vec![json!(requester)]).await?;

    let module = Hash::keccak(&local.code);
    let input_hash = Hash::keccak(&local.input);
    let max_input = params.max_input_bytes as usize;
    if local.input.len() > max_input {
        bail!(
            "the input is {} bytes; the chain takes at most {max_input} bytes, inline or published",
            local.input.len()
        );
    }
    // Inputs up to the inline limit travel in the bid; `--store-input` publishes them anyway.
    let stored = args.store_input;
    let mut bid = Bid {
        chain_id: info.chain_id,
        requester,
        module,
        input: if stored {
            JobInput::Stored(input_hash)
        } else {
            JobInput::Inline(local.input.clone())
        },
        fuel_limit: args.fuel,
        max_price_per_fuel: args.max_price,
        replicas: args.replicas,
        min_reputation: args.min_reputation,
        deadline: info.head.saturating_add(args.deadline_blocks),
        nonce: args.nonce.unwrap_or_else(default_nonce),
    };
    // The node's own field rules, before anything is spent.
    let escrow_max =
        joule_market::check_bid(&bid, &params, info.head).context("the bid is not valid")?;

    let (module_tx, input_tx) = publish_missing(
        &client,
        &args,
        &local,
        &params,
        info.chain_id,
        &account,
        escrow_max,
    )
    .await?;

    // The deadline counts from the head the bid is sent at, after any publishing.
    let head: HeaderJson = request(&client, "chain_head", vec![]).await?;
    bid.deadline = head.header.number.saturating_add(args.deadline_blocks);
    let signed = bid.clone().sign(&local.key);
    let job: Hash = request(&client, "market_submitBid", vec![json!(signed)]).await?;
    if job != bid.id() {
        bail!(
            "the node answered job id {job}, but the bid's id is {}",
            bid.id()
        );
    }

    let mut report = json!({
        "job": job,
        "requester": requester,
        "module": module,
        "publishedModule": module_tx.is_some(),
        "moduleTx": publish_json(&module_tx),
        "input": {
            "type": if stored { "stored" } else { "inline" },
            "hash": input_hash,
            "size": local.input.len(),
            "published": input_tx.is_some(),
            "tx": publish_json(&input_tx),
        },
        "fuelLimit": bid.fuel_limit,
        "maxPricePerFuel": bid.max_price_per_fuel.to_string(),
        "replicas": bid.replicas,
        "escrowMax": escrow_max.to_string(),
        "deadline": bid.deadline,
        "nonce": bid.nonce,
    });
    if !args.json {
        print_summary(w, &bid, job, escrow_max, &module_tx, &input_tx)?;
    }
    if !args.wait {
        if args.json {
            writeln!(w, "{report}")?;
        }
        return Ok(());
    }
    if !args.json {
        writeln!(
            w,
            "waiting     for the job to finish (a provider must take it by block {})",
            bid.deadline
        )?;
        w.flush()?;
    }
    let outcome = follow::follow(&client, &args, &bid, job, w).await;
    let (summary, result) = match outcome {
        Ok(summary) => (summary, Ok(())),
        Err(follow::Failed { summary, error }) => (summary, Err(error)),
    };
    if args.json {
        report["final"] = summary;
        writeln!(w, "{report}")?;
    }
    result
}

/// Publishes what the chain lacks of the module and (with `stored`) the input, one
/// transaction each from the account's pending nonce, and waits for their receipts. Refuses
/// before sending anything if the balance cannot cover publishing and the bid's escrow.
async fn publish_missing(
    client: &HttpClient,
    args: &BidArgs,
    local: &Local,
    params: &MarketParams,
    chain_id: u64,
    account: &AccountJson,
    escrow_max: Amount,
) -> anyhow::Result<(Option<Published>, Option<Published>)> {
    let requester = account.address;
    let module = Hash::keccak(&local.code);
    let input_hash = Hash::keccak(&local.input);
    let has_module = request::<Option<StoredJson>>(client, "market_getModule", vec![json!(module)])
        .await?
        .is_some();
    let has_input = !args.store_input
        || request::<Option<StoredJson>>(client, "market_getInput", vec![json!(input_hash)])
            .await?
            .is_some();
    // What the chain lacks, each with its size; a publish costs the fee plus a fee per byte.
    let mut to_publish = Vec::new();
    if !has_module {
        let code = local.code.clone();
        to_publish.push(("module", local.code.len(), Call::PublishModule { code }));
    }
    if !has_input {
        let data = local.input.clone();
        to_publish.push(("input", local.input.len(), Call::PublishInput { data }));
    }
    let publish_cost = |size: usize| {
        params
            .publish_fee_per_byte
            .saturating_mul(size as Amount)
            .saturating_add(args.fee)
    };
    if !to_publish.is_empty() {
        let publishing = to_publish
            .iter()
            .map(|(_, size, _)| publish_cost(*size))
            .fold(0, Amount::saturating_add);
        let needed = publishing.saturating_add(escrow_max);
        if account.balance < needed {
            bail!(
                "{requester} has {}, but publishing costs {publishing} (fees included) and the \
                 bid can lock {escrow_max} in escrow: {needed} in all; nothing was sent",
                account.balance
            );
        }
    }
    let mut sent = Vec::new();
    for (nonce, (what, size, call)) in (account.pending_nonce..).zip(to_publish) {
        let tx = Transaction {
            chain_id,
            nonce,
            fee: args.fee,
            call,
        }
        .sign(&local.key);
        let hex = format!("0x{}", hex::encode(codec::encode(&tx)));
        let hash: Hash = request(client, "tx_submit", vec![json!(hex)]).await?;
        sent.push((what, hash, publish_cost(size)));
    }
    let (mut module_tx, mut input_tx) = (None, None);
    for (what, hash, fee) in sent {
        let block = wait_included(client, hash, what).await?;
        let published = Some(Published {
            tx: hash,
            block,
            fee,
        });
        if what == "module" {
            module_tx = published;
        } else {
            input_tx = published;
        }
    }

    Ok((module_tx, input_tx))
}

fn print_summary(
    w: &mut impl Write,
    bid: &Bid,
    job: Hash,
    escrow_max: Amount,
    module_tx: &Option<Published>,
    input_tx: &Option<Published>,
) -> std::io::Result<()> {
    writeln!(w, "job         {job}")?;
    match module_tx {
        Some(p) => writeln!(
            w,
            "module      {} published in block {} (tx {}, {} paid)",
            bid.module, p.block, p.tx, p.fee
        )?,
        None => writeln!(w, "module      {} already on chain", bid.module)?,
    }
    match (&bid.input, input_tx) {
        (JobInput::Inline(bytes), _) => writeln!(w, "input       inline, {} bytes", bytes.len())?,
        (JobInput::Stored(hash), Some(p)) => writeln!(
            w,
            "input       {hash} published in block {} (tx {}, {} paid)",
            p.block, p.tx, p.fee
        )?,
        (JobInput::Stored(hash), None) => writeln!(w, "input       {hash} already on chain")?,
    }
    writeln!(
        w,
        "escrow max  {escrow_max} (fuel {} × max price {} × {} replica{})",
        bid.fuel_limit,
        bid.max_price_per_fuel,
        bid.replicas,
        if bid.replicas == 1 { "" } else { "s" }
    )?;
    writeln!(
        w,
        "deadline    block {} (nonce {})",
        bid.deadline, bid.nonce
    )?;
    w.flush()
}

/// Polls until the transaction is in a block; returns the block, or the failed receipt's reason
/// as an error.
async fn wait_included(client: &HttpClient, hash: Hash, what: &str) -> anyhow::Result<BlockNumber> {
    let deadline = Instant::now() + INCLUSION_TIMEOUT;
    let mut missing = 0;
    loop {
        let tx: Option<TxJson> = request(client, "chain_getTransaction", vec![json!(hash)]).await?;
        match tx {
            Some(TxJson {
                block_number: Some(block),
                receipt: Some(receipt),
                ..
            }) => {
                return match receipt.status {
                    TxStatus::Success => Ok(block),
                    TxStatus::Failed { reason } => {
                        bail!("publishing the {what} failed in block {block} (tx {hash}): {reason}")
                    }
                };
            }
            Some(_) => missing = 0,
            // Between leaving the pool and being readable in a block a transaction may be in
            // neither for a moment; a few misses in a row mean it was dropped.
            None => {
                missing += 1;
                if missing > 8 {
                    bail!(
                        "the {what} transaction {hash} left the node's pool without being included"
                    );
                }
            }
        }
        if Instant::now() >= deadline {
            bail!("the {what} transaction {hash} was not included within {INCLUSION_TIMEOUT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bid: BidArgs,
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from([
            "joule",
            "--key",
            "k",
            "--module",
            "m.wasm",
            "--fuel",
            "1000",
            "--max-price",
            "2",
        ])
        .expect("parses");
        let a = cli.bid;
        assert_eq!(a.rpc, "http://127.0.0.1:8545");
        assert_eq!(a.replicas, 1);
        assert_eq!(a.min_reputation, 0);
        assert_eq!(a.deadline_blocks, DEFAULT_DEADLINE_BLOCKS);
        assert_eq!(a.fee, DEFAULT_FEE);
        assert_eq!(a.nonce, None);
        assert!(!a.wait && !a.json && !a.store_input);
        assert!(a.out.is_none() && a.input.is_none() && a.input_hex.is_none());
    }

    #[test]
    fn out_needs_wait_and_inputs_conflict() {
        let base = [
            "joule",
            "--key",
            "k",
            "--module",
            "m.wasm",
            "--fuel",
            "1",
            "--max-price",
            "1",
        ];
        let with = |extra: &[&str]| {
            Cli::try_parse_from(base.iter().chain(extra).copied().collect::<Vec<_>>())
        };
        assert!(with(&["--out", "o"]).is_err());
        assert!(with(&["--out", "o", "--wait"]).is_ok());
        assert!(with(&["--input", "f", "--input-hex", "00"]).is_err());
        assert!(with(&["--deadline-blocks", "0"]).is_err());
    }
}
