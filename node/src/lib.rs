//! `joule-node`: the program people run.
//!
//! [`cli`] parses the command line; [`job`] is `joule job run`, a local trial of a WASM job with
//! the provider's engine; [`dev`] is `joule dev`, one process with an authority, a provider and
//! a demo job on an embedded RocksDB; [`config`] is `joule node --config FILE`; [`service`] puts a node together from its roles;
//! [`driver`] runs the consensus state machine of `joule-ledger` against the chain, the mempool
//! and a clock; [`provider`] is the provider worker (stake, offer, match, run, commit, reveal,
//! with a restart-safe journal); [`outbox`] is where the node's own transactions and orders go
//! (the interface a gossip service implements); [`rpc`] is the JSON-RPC server, [`explorer`]
//! its command-line reader; [`keystore`] reads and writes encrypted key files (Ethereum
//! keystore v3) and [`keys`] is `joule keys new|list|inspect`.
//!
//! Good starting points: [`dev::run`], [`service::run`], [`provider::ProviderWorker`],
//! [`driver::Driver`], and [`keystore::read_key`] for any command that takes a key file.

pub mod bid;
pub mod book_sync;
pub mod chain_view;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dev;
pub mod driver;
pub mod explorer;
pub mod job;
pub mod keys;
pub mod keystore;
pub mod logging;
pub mod metrics;
pub mod outbox;
pub mod provider;
pub mod rpc;
pub mod service;
