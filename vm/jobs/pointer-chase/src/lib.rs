//! Example Joule job: see `joule_kernels::pointer_chase` for the algorithm and its input format.
#![no_std]

joule_guest::job!(joule_kernels::pointer_chase::run);
