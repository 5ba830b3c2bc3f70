//! Example Joule job: see `joule_kernels::primes` for the algorithm and its input format.
#![no_std]

joule_guest::job!(joule_kernels::primes::run);
