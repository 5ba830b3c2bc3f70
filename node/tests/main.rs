//! Integration tests of the `joule` node (one binary, see STYLE.md).

mod consensus;
mod dev;
mod explorer;
mod job_run;
mod keys;
mod metrics;
mod rpc;
