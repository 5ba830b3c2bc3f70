//! Command-line interface: one subcommand per job a person does with Joule.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::dev::DevArgs;

/// Joule: a peer-to-peer compute market on a proof-of-authority chain.
#[derive(Debug, Parser)]
#[command(name = "joule", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a one-process development chain: an authority, a provider and a demo job.
    Dev(DevArgs),
    /// Run a node from a config file and flags: authority, provider or full.
    Node(crate::config::NodeArgs),
    /// Work with WASM job modules locally (try a job before paying for it).
    Job(crate::job::JobArgs),
    /// Create, list and inspect encrypted key files (Ethereum keystore v3).
    Keys(crate::keys::KeysArgs),
    /// Read the chain over JSON-RPC: head, blocks, transactions (with proofs), accounts, jobs.
    Explorer(crate::explorer::ExplorerArgs),
    /// Ask a node for a job to be run: publish the module if needed, sign and send a bid.
    Bid(Box<crate::bid::BidArgs>),
}

/// Parses the process arguments and runs the command; errors print with their causes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(args) => crate::dev::run(args),
        Command::Node(args) => crate::config::run(args),
        Command::Job(args) => crate::job::run(args),
        Command::Keys(args) => crate::keys::run(args),
        Command::Explorer(args) => crate::explorer::run(args),
        Command::Bid(args) => crate::bid::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dev_defaults() {
        let cli = Cli::try_parse_from(["joule", "dev"]).unwrap();
        let Command::Dev(args) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(args.datadir, None);
        assert_eq!(args.until_block, None);
        assert_eq!(args.rpc.addr, None);
        assert!(!args.rpc.off);
        assert_eq!(
            args.rpc.config_over(crate::rpc::RpcConfig::default()),
            Some(crate::rpc::RpcConfig::default())
        );
        assert_eq!(
            crate::rpc::RpcConfig::default().addr,
            "127.0.0.1:8545".parse().unwrap()
        );
    }

    #[test]
    fn keys_defaults() {
        let cli = Cli::try_parse_from(["joule", "keys", "list"]).unwrap();
        let Command::Keys(args) = cli.command else {
            panic!("parsed as another command")
        };
        let crate::keys::KeysCommand::List(list) = args.command else {
            panic!("parsed as another keys command")
        };
        assert_eq!(list.dir.keystore, None);
        assert!(!list.json);
    }
}
