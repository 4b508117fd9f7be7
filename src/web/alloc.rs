//! The global allocator of the Wasm build: dlmalloc (the allocator std uses on wasm32), with
//! Wasm memory grown in steps proportional to its size instead of one allocation's need.
//!
//! V8 collects the JS heap on every `memory.grow` (a mark-compact of the app's whole heap, and
//! scavenges). std's dlmalloc grows by what one allocation lacks, rounded to 64 KiB pages, so
//! loading 100,000 records did thousands of grows and the cost of every write grew with the
//! document. Doubling the memory (at most 256 MiB a step) makes the number of grows
//! logarithmic up to 256 MiB and small beyond: a fresh process inserting 100,000 records grows
//! 8 times. Pages the OS has not been asked for by a touch cost nothing, so memory reserved
//! ahead is address space, not RAM.

use std::alloc::{GlobalAlloc, Layout};
use std::arch::wasm32;
use std::cell::UnsafeCell;

#[cfg(target_feature = "atomics")]
compile_error!("the allocator assumes single-threaded Wasm (no atomics)");

const PAGE: usize = 64 * 1024;
/// The smallest step: 1 MiB, so a small replica grows a few times, not per page.
const MIN_STEP: usize = 16 * PAGE;
/// The largest step: near the 4 GiB ceiling doubling would reserve far more than is used.
const MAX_STEP: usize = 4096 * PAGE;

/// dlmalloc's source of memory: `memory.grow` by at least the current size (up to 256 MiB).
struct GrowingMemory;

impl GrowingMemory {
    fn grow(pages: usize) -> Option<usize> {
        let previous = wasm32::memory_grow(0, pages);
        (previous != usize::MAX).then_some(previous * PAGE)
    }
}

unsafe impl dlmalloc::Allocator for GrowingMemory {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let needed = size.div_ceil(PAGE);
        let current = wasm32::memory_size(0) * PAGE;
        let step = current.clamp(MIN_STEP, MAX_STEP).div_ceil(PAGE).max(needed);
        // Near the 4 GiB ceiling the large step may not fit where the needed one still does.
        match Self::grow(step)
            .map(|base| (base, step))
            .or_else(|| Self::grow(needed).map(|base| (base, needed)))
        {
            // The top page's end would wrap the address to 0, which Rust pointers may not do.
            Some((base, pages)) if base.wrapping_add(pages * PAGE) == 0 => {
                (base as *mut u8, pages * PAGE - 16, 0)
            }
            Some((base, pages)) => (base as *mut u8, pages * PAGE, 0),
            None => (std::ptr::null_mut(), 0, 0),
        }
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        std::ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false // Wasm memory never shrinks
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true // fresh Wasm pages are zeroed
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

struct SingleThreaded(UnsafeCell<dlmalloc::Dlmalloc<GrowingMemory>>);

/// Bytes handed out and not yet freed, and the most there ever were (for memory reports).
static mut IN_USE: usize = 0;
static mut PEAK_IN_USE: usize = 0;

fn allocated(ptr: *mut u8, bytes: usize) -> *mut u8 {
    if !ptr.is_null() {
        // Single-threaded (see above): nothing else touches the counters meanwhile.
        unsafe {
            IN_USE += bytes;
            PEAK_IN_USE = PEAK_IN_USE.max(IN_USE);
        }
    }
    ptr
}

/// `(bytes in use, peak bytes in use)` by the allocator; the Wasm memory holding them is
/// `memory.size`, which only grows.
pub fn heap_usage() -> (usize, usize) {
    unsafe { (IN_USE, PEAK_IN_USE) }
}

// wasm32-unknown-unknown without the atomics feature runs one thread (checked above), so the
// allocator is never entered concurrently; dlmalloc itself never allocates through it.
unsafe impl Sync for SingleThreaded {}

unsafe impl GlobalAlloc for SingleThreaded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocated(
            (*self.0.get()).malloc(layout.size(), layout.align()),
            layout.size(),
        )
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocated(
            (*self.0.get()).calloc(layout.size(), layout.align()),
            layout.size(),
        )
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE -= layout.size();
        (*self.0.get()).free(ptr, layout.size(), layout.align())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size);
        if !moved.is_null() {
            IN_USE -= layout.size();
        }
        allocated(moved, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: SingleThreaded = SingleThreaded(UnsafeCell::new(
    dlmalloc::Dlmalloc::new_with_allocator(GrowingMemory),
));
