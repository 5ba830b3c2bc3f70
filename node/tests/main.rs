//! Integration tests of the `joule` node (one binary, see STYLE.md).

mod bid;
mod consensus;
mod dev;
mod devnode;
mod explorer;
mod job_run;
mod keys;
mod rpc;
