//! The raw `joule` imports (see the job ABI in `vm/README.md`) and safe wrappers around them.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "joule")]
unsafe extern "C" {
    #[link_name = "input_len"]
    fn joule_input_len() -> i32;
    #[link_name = "input_read"]
    fn joule_input_read(ptr: *mut u8, offset: i32, len: i32);
    #[link_name = "output_write"]
    fn joule_output_write(ptr: *const u8, len: i32);
    #[link_name = "abort"]
    fn joule_abort(ptr: *const u8, len: i32) -> !;
}

/// Length of the job input in bytes.
#[cfg(target_arch = "wasm32")]
pub fn input_len() -> usize {
    // SAFETY: a host call without pointer arguments.
    unsafe { joule_input_len() as u32 as usize }
}

/// Copies `len` input bytes starting at `offset` to `dst`.
#[cfg(target_arch = "wasm32")]
pub fn input_read(dst: *mut u8, offset: usize, len: usize) {
    // SAFETY: callers pass a buffer of at least `len` writable bytes; the host bounds-checks the
    // range against linear memory and traps instead of writing outside it.
    unsafe { joule_input_read(dst, offset as i32, len as i32) }
}

/// Appends `len` bytes at `ptr` to the output.
#[cfg(target_arch = "wasm32")]
pub fn output_write(ptr: *const u8, len: usize) {
    // SAFETY: the host only reads linear memory, bounds-checked.
    unsafe { joule_output_write(ptr, len as i32) }
}

/// Ends the job with the status "aborted".
#[cfg(target_arch = "wasm32")]
pub fn abort(ptr: *const u8, len: usize) -> ! {
    // SAFETY: the host only reads linear memory, bounds-checked, and never returns.
    unsafe { joule_abort(ptr, len as i32) }
}

// Off wasm32 (e.g. `cargo check` on the host) there is no Joule host: these only keep the crate
// compiling and end the process like the host would end the job.
#[cfg(not(target_arch = "wasm32"))]
pub fn input_len() -> usize {
    0
}
#[cfg(not(target_arch = "wasm32"))]
pub fn input_read(_dst: *mut u8, _offset: usize, _len: usize) {}
#[cfg(not(target_arch = "wasm32"))]
pub fn output_write(_ptr: *const u8, _len: usize) {}
#[cfg(not(target_arch = "wasm32"))]
pub fn abort(_ptr: *const u8, _len: usize) -> ! {
    panic!("joule.abort called outside a Joule host")
}

/// A fixed 256-byte buffer for panic messages (the host keeps at most 256 bytes anyway), so the
/// panic handler does not need the allocator.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub struct MessageBuf {
    buf: [u8; 256],
    len: usize,
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl MessageBuf {
    pub const fn new() -> Self {
        Self {
            buf: [0; 256],
            len: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            // Truncation may have split a character: keep the valid prefix.
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl core::fmt::Write for MessageBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
