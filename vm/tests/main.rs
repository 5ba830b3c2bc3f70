//! Integration tests of `joule-vm` (one test binary to keep link time down).

extern crate alloc;

mod cache;
mod examples;
mod golden;
mod hostile;
mod stack;
mod support;
mod validation;

/// The example jobs' algorithms compiled natively: the same source files as the wasm jobs.
#[path = "../jobs/kernels/src/lib.rs"]
#[allow(unused_attributes, dead_code)]
mod kernels;
