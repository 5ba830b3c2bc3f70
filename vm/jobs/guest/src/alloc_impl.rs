//! The guest's global allocator: a bump allocator over `memory.grow`.
//!
//! Jobs are short-lived functions from input to output, so memory is never returned to the host.
//! The allocator frees and grows in place only the most recent allocation (which covers a `Vec`
//! that is being pushed to); everything else is reclaimed when the job ends. It is deterministic:
//! the same sequence of requests always yields the same addresses and the same `memory.grow`
//! calls, which keeps fuel use identical on every machine.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

const PAGE: usize = 65536;

/// A bump allocator; see the module docs.
pub struct BumpAlloc {
    state: UnsafeCell<State>,
}

struct State {
    /// First free byte, or 0 before the first allocation.
    next: usize,
    /// End of linear memory as far as this allocator knows.
    end: usize,
}

// SAFETY: wasm32-unknown-unknown jobs are single-threaded (Joule refuses the threads proposal),
// so the state is never accessed concurrently.
unsafe impl Sync for BumpAlloc {}

impl BumpAlloc {
    /// An allocator that starts at the end of the module's initial memory.
    pub const fn new() -> Self {
        Self {
            state: UnsafeCell::new(State { next: 0, end: 0 }),
        }
    }
}

impl Default for BumpAlloc {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// Makes sure memory reaches `new_end`, growing it if needed.
    fn reserve(&mut self, new_end: usize) -> bool {
        if self.next == 0 {
            let start = memory_size_bytes();
            self.next = start;
            self.end = start;
        }
        if new_end <= self.end {
            return true;
        }
        let pages = (new_end - self.end).div_ceil(PAGE);
        if memory_grow(pages) {
            self.end += pages * PAGE;
            true
        } else {
            false
        }
    }

    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        if self.next == 0 && !self.reserve(0) {
            return core::ptr::null_mut();
        }
        let start = self.next.next_multiple_of(layout.align());
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reserve(end) {
            return core::ptr::null_mut();
        }
        self.next = end;
        start as *mut u8
    }
}

// SAFETY: every block handed out lies in linear memory that was grown for it and is never handed
// out twice while live (only the most recent block is ever reused, after it was freed or resized).
unsafe impl GlobalAlloc for BumpAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, see `Sync` above; no other reference to the state is live.
        let state = unsafe { &mut *self.state.get() };
        state.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        if ptr as usize + layout.size() == state.next {
            state.next = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        let start = ptr as usize;
        if start + layout.size() == state.next {
            // The most recent block: resize in place.
            let Some(end) = start.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !state.reserve(end) {
                return core::ptr::null_mut();
            }
            state.next = end;
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: `layout.align()` is a valid alignment and `new_size` is non-zero (it is larger
        // than the old size).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = state.alloc(new_layout);
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct (the new one lies past `next`) and at least
            // `layout.size()` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[cfg(target_arch = "wasm32")]
fn memory_size_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * PAGE
}

#[cfg(target_arch = "wasm32")]
fn memory_grow(pages: usize) -> bool {
    core::arch::wasm32::memory_grow(0, pages) != usize::MAX
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_size_bytes() -> usize {
    PAGE
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_grow(_pages: usize) -> bool {
    false
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: BumpAlloc = BumpAlloc::new();
