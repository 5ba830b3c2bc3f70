//! `joule-node`: the program people run.
//!
//! [`cli`] parses the command line; [`job`] is `joule job run`, a local trial of a WASM job with
//! the provider's engine; [`dev`] is `joule dev`, one process with an authority
//! committing blocks into an embedded RocksDB; [`driver`] runs the consensus state machine of
//! `joule-ledger` against the chain, the mempool and a clock; [`keystore`] reads and writes
//! encrypted key files (Ethereum keystore v3) and [`keys`] is `joule keys new|list|inspect`.
//!
//! Good starting points: [`dev::run`], [`driver::Driver`], and [`keystore::read_key`] for any
//! command that takes a key file.

pub mod book_sync;
pub mod chain_view;
pub mod cli;
pub mod dev;
pub mod driver;
pub mod explorer;
pub mod job;
pub mod keys;
pub mod keystore;
pub mod logging;
pub mod metrics;
pub mod rpc;
