//! Example Joule job: see `joule_kernels::hash_chain` for the algorithm and its input format.
#![no_std]

joule_guest::job!(joule_kernels::hash_chain::run);
