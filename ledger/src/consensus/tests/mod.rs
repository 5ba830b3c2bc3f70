//! Tests of the consensus state machine: typed rejections, restarts, and a simulated network
//! of authorities under loss, reordering, crashes and a Byzantine authority.

mod harness;
mod rejections;
mod restart;
mod rules;
mod sim;
