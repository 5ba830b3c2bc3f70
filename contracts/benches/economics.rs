//! The market's economics over a grid of audit rates, collateral ratios, prices and replication,
//! on the real executor (`tests/economics.rs` holds the simulation and the model). Prints
//! markdown tables: each strategy's measured profit per job next to the expected profit, where
//! cheating stops paying, and how much fuel verification costs.
//!
//! `cargo bench --workspace --locked --bench economics` (a plain `main`: nothing here is timed).

// The simulation is shared with the tests; some of its helpers are used only there.
#[allow(dead_code)]
#[path = "../tests/economics.rs"]
mod economics;

use std::time::Instant;

use economics::{
    Outcome, Scenario, Strategy, Tally, expected_profit, loses_money_above, run,
    worse_than_honest_above,
};
use joule_ledger::genesis::MarketParams;

const AUDITS_PPM: [u32; 5] = [0, 10_000, 20_000, 50_000, 100_000];
const COLLATERAL_RATIOS: [u64; 4] = [1, 5, 10, 30];
/// Offer prices per fuel; compute costs 4 per fuel, so 80%, 50% and 25% of the price.
const PRICES: [u128; 3] = [5, 8, 16];
const DEFAULT_PRICE: u128 = 8;
/// Jobs per strategy and grid point, with one replica and with two.
const JOBS_K1: usize = 2000;
const JOBS_K2: usize = 200;
/// Jobs per strategy of the larger run at the default parameters.
const JOBS_DEFAULTS: usize = 20_000;

const Q1: Strategy = Strategy::Cheater { q_ppm: 1_000_000 };
const HALF: Strategy = Strategy::Cheater { q_ppm: 500_000 };

fn strategies(replicas: u8) -> Vec<Strategy> {
    if replicas == 1 {
        vec![
            Strategy::Honest,
            Q1,
            HALF,
            Strategy::NoShow,
            Strategy::AuditDodger,
        ]
    } else {
        vec![
            Strategy::Honest,
            Q1,
            HALF,
            Strategy::LazyCopier,
            Strategy::NoShow,
        ]
    }
}

struct Point {
    scenario: Scenario,
    outcome: Outcome,
}

/// Thousands of credits, signed, no decimals.
fn k(x: f64) -> String {
    format!("{:.0}", x / 1000.0)
}

fn cell(p: &Point, strategy: Strategy) -> String {
    let o = &p.outcome;
    let predicted = expected_profit(&p.scenario, strategy, o.fuel_used, o.fuel_limit);
    format!(
        "{} / {}",
        k(o.tally(strategy).profit_per_job()),
        k(predicted)
    )
}

fn verdict(p: &Point) -> &'static str {
    let s = &p.scenario;
    let o = &p.outcome;
    let rate = f64::from(s.params.audit_ppm) / 1e6;
    if s.replicas > 1 {
        "loses money (always caught)"
    } else if rate > loses_money_above(s, o.fuel_limit) {
        "loses money"
    } else if rate > worse_than_honest_above(s, o.fuel_used, o.fuel_limit) {
        "pays, less than honesty"
    } else {
        "**pays more than honesty**"
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn main() {
    let started = Instant::now();
    let mut grid: Vec<Point> = Vec::new();
    for replicas in [1u8, 2] {
        for price in PRICES {
            for ratio in COLLATERAL_RATIOS {
                for audit in AUDITS_PPM {
                    let scenario = Scenario {
                        jobs: if replicas == 1 { JOBS_K1 } else { JOBS_K2 },
                        strategies: strategies(replicas),
                        ..Scenario::new(audit, ratio * 1_000_000, price, replicas)
                    };
                    let t = Instant::now();
                    let outcome = run(&scenario);
                    eprintln!(
                        "k={replicas} price={price} collateral={ratio}x audit={audit}ppm: {:.1?}",
                        t.elapsed()
                    );
                    grid.push(Point { scenario, outcome });
                }
            }
        }
    }
    let d = MarketParams::default();
    let big = Scenario {
        jobs: JOBS_DEFAULTS,
        strategies: vec![Strategy::Honest, Q1, HALF],
        ..Scenario::new(d.audit_ppm, d.collateral_ppm, DEFAULT_PRICE, 1)
    };
    let big = Point {
        outcome: run(&big),
        scenario: big,
    };
    eprintln!("done in {:.1?}", started.elapsed());

    print_setup(&grid);
    print_boundaries(&grid);
    for replicas in [1u8, 2] {
        for price in PRICES {
            print_grid(&grid, replicas, price);
        }
    }
    print_defaults(&big);
    print_overhead(&grid);
}

fn print_setup(grid: &[Point]) {
    let o = &grid[0].outcome;
    println!("### Setup\n");
    println!(
        "Each job is the hash-chain example (16 Keccak steps over a seed unique to the job): an \
         honest run uses F = {} fuel; bids set the fuel limit L = {} (F + {}%). A made-up result \
         claims L. Compute costs the provider {} credits per fuel; every transaction pays a fee \
         of {}. Other parameters are the defaults (`MarketParams::default()`: slash reward 50%, \
         min collateral {}) with the short windows of `sim::test_params()` (a reveal window of {} \
         blocks; the audit dodger reveals only when the draw it can see would miss). Per grid point: {JOBS_K1} jobs per strategy with one replica, {JOBS_K2} with \
         two (each subject paired with an honest replica).\n",
        o.fuel_used,
        o.fuel_limit,
        economics::FUEL_HEADROOM_PERCENT,
        grid[0].scenario.cost_per_fuel,
        economics::FEE,
        grid[0].scenario.params.min_collateral,
        grid[0].scenario.params.reveal_blocks,
    );
}

fn print_boundaries(grid: &[Point]) {
    println!("### Where cheating stops paying (one replica, formula)\n");
    println!(
        "Cheating pays less than honesty when p·(C + L·π) > (L − F)·π + F·c, and loses money \
         when p·(C + L·π) > L·π.\n"
    );
    print!("| collateral C / (L·π) | audit rate above which cheating loses money |");
    for price in PRICES {
        print!(" … pays less than honesty, π = {price} |");
    }
    println!();
    println!("|---:|---:|{}", "---:|".repeat(PRICES.len()));
    for ratio in COLLATERAL_RATIOS {
        let at = |price| {
            grid.iter()
                .find(|p| {
                    p.scenario.replicas == 1
                        && p.scenario.price == price
                        && p.scenario.params.collateral_ppm == ratio * 1_000_000
                })
                .expect("in the grid")
        };
        let p = at(DEFAULT_PRICE);
        print!(
            "| {ratio}× | {} |",
            percent(loses_money_above(&p.scenario, p.outcome.fuel_limit))
        );
        for price in PRICES {
            let p = at(price);
            print!(
                " {} |",
                percent(worse_than_honest_above(
                    &p.scenario,
                    p.outcome.fuel_used,
                    p.outcome.fuel_limit
                ))
            );
        }
        println!();
    }
    println!();
}

fn print_grid(grid: &[Point], replicas: u8, price: u128) {
    let points: Vec<&Point> = grid
        .iter()
        .filter(|p| p.scenario.replicas == replicas && p.scenario.price == price)
        .collect();
    let first = &points[0];
    let cost = first.scenario.cost_per_fuel;
    println!(
        "### k = {replicas}, price π = {price} per fuel (compute {}% of it; honest payment F·π = {} k)\n",
        cost * 100 / price,
        k((u128::from(first.outcome.fuel_used) * price) as f64)
    );
    println!(
        "Profit per job in thousands of credits, measured / expected. The verdict is the \
         formula's for a cheater with q = 1; the last columns count each cheater's slashed jobs \
         and made-up results.\n"
    );
    let columns = strategies(replicas);
    print!("| C / (L·π) | audit | verdict (q = 1, formula) |");
    for s in &columns {
        print!(" {} |", s.name());
    }
    println!(" slashed / made up, q = 1 | q = 0.5 |");
    println!("|---:|---:|---|{}---:|---:|", "---:|".repeat(columns.len()));
    for p in points {
        let s = &p.scenario;
        print!(
            "| {}× | {} | {} |",
            s.params.collateral_ppm / 1_000_000,
            percent(f64::from(s.params.audit_ppm) / 1e6),
            verdict(p)
        );
        for strategy in &columns {
            print!(" {} |", cell(p, *strategy));
        }
        let (q1, half) = (p.outcome.tally(Q1), p.outcome.tally(HALF));
        println!(
            " {}/{} | {}/{} |",
            q1.slashed_jobs, q1.cheated, half.slashed_jobs, half.cheated
        );
    }
    println!();
}

fn print_defaults(p: &Point) {
    println!(
        "### Default parameters, larger sample (k = 1, π = {DEFAULT_PRICE}, audit 5%, collateral 30×, {JOBS_DEFAULTS} jobs per strategy)\n"
    );
    println!(
        "| strategy | profit per job, measured (k) | expected (k) | jobs slashed / made up | total profit (k) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (strategy, t) in &p.outcome.subjects {
        println!(
            "| {} | {} | {} | {}/{} | {} |",
            strategy.name(),
            k(t.profit_per_job()),
            k(expected_profit(
                &p.scenario,
                *strategy,
                p.outcome.fuel_used,
                p.outcome.fuel_limit
            )),
            t.slashed_jobs,
            t.cheated,
            k(t.profit() as f64)
        );
    }
    println!();
}

fn print_overhead(grid: &[Point]) {
    println!("### Verification overhead (honest providers, collateral 30×, π = {DEFAULT_PRICE})\n");
    println!(
        "Fuel the chain re-executes (arbitration) and fuel of paid replicas beyond the first, per \
         unit of useful fuel (the standing result of each paid job).\n"
    );
    println!(
        "| k | audit | jobs | audited | useful fuel | replica fuel | arbitration fuel | overhead |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in grid.iter().filter(|p| {
        p.scenario.price == DEFAULT_PRICE && p.scenario.params.collateral_ppm == 30_000_000
    }) {
        let t: &Tally = p.outcome.tally(Strategy::Honest);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            p.scenario.replicas,
            percent(f64::from(p.scenario.params.audit_ppm) / 1e6),
            t.jobs,
            t.audited,
            t.useful_fuel,
            t.redundant_fuel,
            t.arbitration_fuel,
            percent(t.verification_overhead())
        );
    }
    println!();
}
