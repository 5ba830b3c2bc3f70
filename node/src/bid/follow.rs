//! `joule bid --wait`: follow a job until it is final, printing phase changes, and report
//! the result with what was paid and refunded; `--out` writes the output once its Keccak-256
//! hash matches the agreed one.

use std::io::Write;

use joule_contracts::result::status_name;
use joule_contracts::state::{Job, Phase, Resolution};
use joule_ledger::{Amount, Bid, BlockNumber, Hash};
use jsonrpsee_http_client::HttpClient;
use serde_json::{Value, json};

use super::{BidArgs, POLL};
use crate::rpc::client::request;
use crate::rpc::types::{HeaderJson, JobJson};

/// A `--wait` that ended badly: what to report, and the error to exit with.
pub(super) struct Failed {
    pub(super) summary: Value,
    pub(super) error: anyhow::Error,
}

fn failed(summary: Value, error: anyhow::Error) -> Failed {
    Failed { summary, error }
}

/// Follows job `id` until it is final or the bid's deadline passes unmatched.
pub(super) async fn follow(
    client: &HttpClient,
    args: &BidArgs,
    bid: &Bid,
    id: Hash,
    w: &mut impl Write,
) -> Result<Value, Failed> {
    let io = |e: std::io::Error| failed(Value::Null, e.into());
    let rpc = |e: anyhow::Error| failed(Value::Null, e);
    let mut last_status = String::new();
    let mut matched = 0;
    loop {
        // Head first: a job absent from state at least as new as a head at or past the deadline
        // can no longer appear.
        let head: HeaderJson = request(client, "chain_head", vec![]).await.map_err(rpc)?;
        let head = head.header.number;
        let job: Option<JobJson> = request(client, "market_getJob", vec![json!(id)])
            .await
            .map_err(rpc)?;
        let Some(job) = job else {
            if head >= bid.deadline {
                let summary = json!({"status": "unmatched", "block": head});
                return Err(failed(
                    summary,
                    anyhow::anyhow!(
                        "no provider took the bid before its deadline (block {})",
                        bid.deadline
                    ),
                ));
            }
            tokio::time::sleep(POLL).await;
            continue;
        };
        if !args.json {
            for a in job.job.assignments.iter().skip(matched) {
                writeln!(
                    w,
                    "block {head}: matched by {} at {} per fuel ({} collateral)",
                    a.provider, a.price_per_fuel, a.collateral
                )
                .map_err(io)?;
            }
            if job.status != last_status {
                let detail = match job.job.phase {
                    Phase::Arbitrating(cause) => format!(" ({})", cause.name()),
                    _ => String::new(),
                };
                writeln!(w, "block {head}: job is {}{detail}", job.status).map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        matched = job.job.assignments.len();
        last_status.clone_from(&job.status);
        match job.job.phase {
            Phase::Settled => return settled(&job.job, head, args, w),
            Phase::Expired => {
                let reason = expiry_reason(&job.job);
                let (paid, refunded) = payments(&job.job);
                let summary = json!({
                    "status": "expired",
                    "block": head,
                    "reason": reason,
                    "paid": paid.to_string(),
                    "refunded": refunded.to_string(),
                });
                return Err(failed(
                    summary,
                    anyhow::anyhow!("job {id} expired: {reason}"),
                ));
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

/// What the requester paid providers and got back, from the assignments' resolutions.
fn payments(job: &Job) -> (Amount, Amount) {
    let escrow: Amount = job.assignments.iter().map(|a| a.escrow).sum();
    let paid = job.paid();
    (paid, escrow.saturating_sub(paid))
}

fn expiry_reason(job: &Job) -> String {
    let count = |r: Resolution| {
        job.assignments
            .iter()
            .filter(|a| a.resolution == Some(r))
            .count()
    };
    let (no_shows, released) = (count(Resolution::NoShow), count(Resolution::Released));
    if released > 0 {
        "the chain could not judge the result; the escrow was refunded".into()
    } else if no_shows > 0 {
        format!(
            "{no_shows} of {} providers did not commit or reveal in time (slashed); the escrow \
             was refunded",
            job.assignments.len()
        )
    } else {
        "no result was delivered; the escrow was refunded".into()
    }
}

fn settled(
    job: &Job,
    head: BlockNumber,
    args: &BidArgs,
    w: &mut impl Write,
) -> Result<Value, Failed> {
    let Some(result) = job.result else {
        return Err(failed(
            Value::Null,
            anyhow::anyhow!("the node reports the job settled without a result"),
        ));
    };
    let (paid, refunded) = payments(job);
    // The record keeps the output bytes only when they fit inline and match the agreed hash.
    let on_chain = Hash::keccak(&job.output) == result.output_hash;
    let mut summary = json!({
        "status": "settled",
        "block": head,
        "result": {
            "status": status_name(result.status),
            "statusCode": result.status,
            "fuelUsed": result.fuel_used,
            "outputHash": result.output_hash,
        },
        "arbitrated": job.arbitrated.map(|c| c.name()),
        "outputSize": on_chain.then_some(job.output.len()),
        "paid": paid.to_string(),
        "refunded": refunded.to_string(),
        "outputFile": Value::Null,
    });
    if !args.json {
        let io = |e: std::io::Error| failed(Value::Null, e.into());
        (|| -> std::io::Result<()> {
            writeln!(
                w,
                "result      {} (status {}), fuel used {} of {}",
                status_name(result.status),
                result.status,
                result.fuel_used,
                job.fuel_limit
            )?;
            if on_chain {
                writeln!(
                    w,
                    "output      {}, {} bytes on chain",
                    result.output_hash,
                    job.output.len()
                )?;
            } else {
                writeln!(
                    w,
                    "output      {} (only the hash is on chain)",
                    result.output_hash
                )?;
            }
            writeln!(
                w,
                "paid        {paid} to providers; {refunded} of the {} escrow refunded",
                paid + refunded
            )
        })()
        .map_err(io)?;
    }
    if let Some(path) = &args.out {
        if !on_chain {
            return Err(failed(
                summary,
                anyhow::anyhow!(
                    "the output is not on chain, only its hash {} (it is larger than the inline \
                     limit or no provider supplied it); nothing written to {}",
                    result.output_hash,
                    path.display()
                ),
            ));
        }
        if let Err(e) = std::fs::write(path, &job.output) {
            let error = anyhow::Error::new(e).context(format!("writing output {}", path.display()));
            return Err(failed(summary, error));
        }
        summary["outputFile"] = json!(path.display().to_string());
        if !args.json {
            writeln!(w, "wrote       {}", path.display())
                .map_err(|e| failed(Value::Null, e.into()))?;
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use joule_ledger::Address;

    #[test]
    fn payments_and_expiry_reasons() {
        use joule_contracts::Assignment;
        let assignment = |resolution| Assignment {
            provider: Address([1; 20]),
            price_per_fuel: 2,
            escrow: 100,
            collateral: 10,
            commitment: None,
            reveal: None,
            resolution,
        };
        let mut job = Job {
            requester: Address([9; 20]),
            module: Hash::ZERO,
            input: Hash::ZERO,
            fuel_limit: 50,
            replicas: 2,
            bid_deadline: 10,
            matched_at: 3,
            phase: Phase::Settled,
            deadline: 20,
            last_reveal: 0,
            assignments: vec![
                assignment(Some(Resolution::Paid(30))),
                assignment(Some(Resolution::Wrong)),
            ],
            challenger: None,
            result: None,
            arbitrated: None,
            output: Vec::new(),
        };
        assert_eq!(payments(&job), (30, 170));
        job.assignments = vec![assignment(Some(Resolution::NoShow))];
        assert_eq!(payments(&job), (0, 100));
        assert!(expiry_reason(&job).contains("1 of 1 providers"));
        job.assignments = vec![assignment(Some(Resolution::Released))];
        assert!(expiry_reason(&job).contains("could not judge"));
        assert_eq!(status_name(2), "out_of_fuel");
    }
}
