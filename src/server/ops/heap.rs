//! The heap's live bytes, counted by the allocator itself: what the soak reads beside the
//! process's RSS to tell memory the app holds from memory the allocator keeps after it was
//! freed. Installed only in builds with the `heap-stats` feature (two relaxed atomic updates per
//! allocation are not free on the hot path); elsewhere [`live_bytes`] is `None`.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Wraps an allocator, counting the bytes allocated and not yet freed.
pub struct Counting<A>(pub A);

// SAFETY: every call is passed on to the wrapped allocator unchanged; only counters are added.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as it is.
        let block = unsafe { self.0.alloc(layout) };
        if !block.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let block = unsafe { self.0.alloc_zeroed(layout) };
        if !block.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`.
        unsafe { self.0.dealloc(block, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `alloc`.
        let moved = unsafe { self.0.realloc(block, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

/// Bytes allocated and not freed, when the counting allocator is installed (the server binary
/// built with `heap-stats` installs it).
pub fn live_bytes() -> Option<usize> {
    cfg!(feature = "heap-stats").then(|| LIVE.load(Ordering::Relaxed))
}
