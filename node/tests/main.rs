//! Integration tests of the `joule` node (one binary, see STYLE.md).

mod bid;
mod consensus;
mod dev;
mod explorer;
mod job_run;
mod keys;
mod market;
mod metrics;
mod node_config;
mod provider;
mod rpc;
mod support;
