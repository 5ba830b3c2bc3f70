//! The `joule dev` demo: the dev requester posts one example job (a Mandelbrot render) and the
//! node logs it from bid to final payment, then writes the image to the data directory.
//!
//! It goes through the same doors a requester's `joule bid` does: the module is published by a
//! signed transaction if the chain lacks it, and the signed bid enters the order book through
//! the node's [`Outbox`]; the dev provider takes it like any other bid.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use joule_contracts::state::{MarketState, Phase};
use joule_ledger::state::StateOverlay;
use joule_ledger::{Amount, Bid, Call, Hash, JobInput, SecretKey, Transaction};
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::outbox::Outbox;
use crate::service::Running;

/// Width, height and iterations of the demo render (its PGM output fits the chain's inline cap).
pub const DEMO_INPUT: [u32; 3] = [200, 150, 256];
/// Fuel limit of the demo job (it uses about 70 million).
pub const DEMO_FUEL: u64 = 100_000_000;
/// Highest price per fuel the demo requester pays.
pub const DEMO_MAX_PRICE: Amount = 2;
/// Blocks the demo bid stays open.
pub const DEMO_BID_BLOCKS: u64 = 20;
/// Blocks the demo waits for its module to be published.
const PUBLISH_WAIT_BLOCKS: u64 = 10;

fn demo_input() -> Vec<u8> {
    DEMO_INPUT.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Posts the demo job and follows it; `out_dir` receives the image.
pub async fn run(running: Running, requester: SecretKey, out_dir: PathBuf) {
    if let Err(e) = post_and_follow(&running, &requester, &out_dir).await {
        warn!(target: "node::demo", error = %format!("{e:#}"), "demo job stopped");
    }
}

async fn next_head(heads: &mut broadcast::Receiver<joule_ledger::Header>) -> anyhow::Result<()> {
    match heads.recv().await {
        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Ok(()),
        Err(broadcast::error::RecvError::Closed) => anyhow::bail!("node stopped"),
    }
}

async fn post_and_follow(
    running: &Running,
    requester: &SecretKey,
    out_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let chain = &running.chain;
    let mut heads = running.heads.subscribe();
    let code = joule_vm::examples::MANDELBROT;
    let module = Hash::keccak(code);
    let state = || StateOverlay::new(chain.store().clone());

    if !state().has_module(&module)? {
        let tx = Transaction {
            chain_id: chain.chain_id(),
            nonce: running.outbox.next_nonce(&requester.address()),
            fee: 1,
            call: Call::PublishModule {
                code: code.to_vec(),
            },
        }
        .sign(requester);
        running.outbox.submit_tx(tx)?;
        info!(target: "node::demo", %module, bytes = code.len(), "demo: publishing the Mandelbrot module");
        let until = chain.head().number + PUBLISH_WAIT_BLOCKS;
        while !state().has_module(&module)? {
            if chain.head().number >= until {
                anyhow::bail!("the module was not published within {PUBLISH_WAIT_BLOCKS} blocks");
            }
            next_head(&mut heads).await?;
        }
    }

    let head = chain.head().number;
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(head, |d| d.as_millis() as u64);
    let bid = Bid {
        chain_id: chain.chain_id(),
        requester: requester.address(),
        module,
        input: JobInput::Inline(demo_input()),
        fuel_limit: DEMO_FUEL,
        max_price_per_fuel: DEMO_MAX_PRICE,
        replicas: 1,
        min_reputation: 0,
        deadline: head + DEMO_BID_BLOCKS,
        nonce,
    };
    let deadline = bid.deadline;
    let job = running.outbox.publish_bid(bid.sign(requester))?;
    info!(
        target: "node::demo",
        %job,
        fuel_limit = DEMO_FUEL,
        max_price = DEMO_MAX_PRICE,
        "demo: bid posted (Mandelbrot {}x{}, {} iterations)",
        DEMO_INPUT[0], DEMO_INPUT[1], DEMO_INPUT[2]
    );

    let mut last: Option<&'static str> = None;
    loop {
        next_head(&mut heads).await?;
        let Some(record) = state().job(&job)? else {
            if chain.head().number > deadline {
                anyhow::bail!(
                    "no provider took the demo bid before its deadline (block {deadline})"
                );
            }
            continue;
        };
        let phase = record.phase.name();
        if last != Some(phase) {
            info!(target: "node::demo", %job, phase, block = chain.head().number, "demo: job {phase}");
            last = Some(phase);
        }
        match record.phase {
            Phase::Settled => {
                let result = record.result.expect("a settled job has a result; qed");
                let paid = record.paid();
                let path = out_dir.join(format!("mandelbrot-{}.pgm", &job.to_string()[2..10]));
                if !record.output.is_empty() && Hash::keccak(&record.output) == result.output_hash {
                    std::fs::create_dir_all(out_dir)?;
                    std::fs::write(&path, &record.output)?;
                }
                info!(
                    target: "node::demo",
                    %job,
                    fuel_used = result.fuel_used,
                    %paid,
                    output = %path.display(),
                    "demo: job settled; provider paid, image written"
                );
                return Ok(());
            }
            Phase::Expired => anyhow::bail!("the demo job expired: no provider delivered"),
            _ => {}
        }
    }
}
