//! The `joule` command.

use clap::{Parser, Subcommand};

/// Joule: a peer-to-peer compute market.
#[derive(Debug, Parser)]
#[command(name = "joule", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with job modules locally.
    Job(joule_node::job::JobArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Job(args) => joule_node::job::run(args),
    }
}
