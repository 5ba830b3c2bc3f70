//! `joule-node`: the program people run.
//!
//! [`cli`] parses the command line; [`job`] is `joule job run`, a local trial of a WASM job with
//! the provider's engine; [`dev`] is `joule dev`, one process with an authority
//! committing blocks into an embedded RocksDB; [`driver`] runs the consensus state machine of
//! `joule-ledger` against the chain, the mempool and a clock.
//!
//! Good starting points: [`dev::run`], [`driver::Driver`].

pub mod cli;
pub mod dev;
pub mod driver;
pub mod job;
pub mod keystore;
pub mod logging;
