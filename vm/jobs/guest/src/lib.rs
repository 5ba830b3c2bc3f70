//! Guest SDK for Joule jobs.
//!
//! A Joule job is a WebAssembly module that reads its input from the host, computes, and writes
//! its output back (the job ABI is specified in `vm/README.md`). With this crate a job written in
//! Rust is just a function from input bytes to output bytes:
//!
//! ```ignore
//! #![no_std]
//! fn reverse(input: &[u8]) -> alloc::vec::Vec<u8> { input.iter().rev().copied().collect() }
//! joule_guest::job!(reverse);
//! ```
//!
//! Build with `cargo build --release --target wasm32-unknown-unknown` and `crate-type =
//! ["cdylib"]`. The crate supplies the `run` export (through [`job!`]), a global allocator
//! ([`alloc_impl`]) and a panic handler that reports the panic message through `joule.abort`, so
//! a panicking job ends with the deterministic status "aborted" and its message.
#![no_std]

pub extern crate alloc;

use alloc::vec::Vec;

pub mod alloc_impl;
mod sys;

/// Reads the whole job input into a fresh vector.
pub fn input() -> Vec<u8> {
    let len = sys::input_len();
    let mut buf = Vec::with_capacity(len);
    if len > 0 {
        sys::input_read(buf.as_mut_ptr(), 0, len);
        // SAFETY: the host wrote exactly `len` bytes (or trapped, ending the job).
        unsafe { buf.set_len(len) };
    }
    buf
}

/// Appends `bytes` to the job output. Can be called many times; the host ends the job with
/// "output too large" once the total passes the requester's limit.
pub fn output(bytes: &[u8]) {
    if !bytes.is_empty() {
        sys::output_write(bytes.as_ptr(), bytes.len());
    }
}

/// Ends the job with the status "aborted" and `message` (the host keeps its first 256 bytes).
pub fn abort(message: &str) -> ! {
    sys::abort(message.as_ptr(), message.len())
}

/// Defines the `run` export of a job from a function `fn(&[u8]) -> impl AsRef<[u8]>`.
#[macro_export]
macro_rules! job {
    ($f:path) => {
        /// The job's entry point (Joule job ABI): reads the input, calls the job function and
        /// writes its result as the output.
        #[unsafe(no_mangle)]
        pub extern "C" fn run() {
            let input = $crate::input();
            let output = $f(&input);
            $crate::output(::core::convert::AsRef::<[u8]>::as_ref(&output));
        }
    };
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let mut msg = sys::MessageBuf::new();
    let _ = write!(msg, "{info}");
    abort(msg.as_str())
}
