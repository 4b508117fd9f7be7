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
//!
//! A write or load that knows it will need much more memory says so first ([`Expect`]): the
//! next grow then takes it all at once, so V8 collects the JS heap once, not once per doubling
//! (a 100,000-record `insertMany` in a fresh process: four collections become one or two).

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

/// dlmalloc's source of memory: `memory.grow` by at least the current size (up to 256 MiB),
/// or by what an [`Expect`] in force announced.
struct GrowingMemory;

/// Bytes the operation in progress expects to need beyond what was free (0: none).
static mut EXPECTED: usize = 0;

/// While alive, the next grow of Wasm memory takes at least `bytes` (the growth an operation
/// expects) in one step. Dropped at the end of the operation, it puts back the expectation of
/// the operation around it (the app's, see [`expect`]), so an estimate never outlives its
/// operation.
pub struct Expect {
    outer: usize,
}

/// Wasm memory records take per byte of their JSON, with a little room: 100,000 records of 6
/// fields hold ~1,700 bytes each in yrs for ~135 bytes of JSON (under-counting costs one more
/// grow of up to 256 MiB).
pub const BYTES_PER_JSON_BYTE: usize = 14;

/// The same per byte of a Yjs update: a fresh client holds ~2,100 bytes per record for ~207
/// bytes of update.
pub const BYTES_PER_UPDATE_BYTE: usize = 10;

impl Expect {
    /// An expectation for taking in `json_bytes` of records as JSON.
    pub fn for_json(json_bytes: usize) -> Expect {
        Expect::growth(json_bytes.saturating_mul(BYTES_PER_JSON_BYTE))
    }

    /// An expectation for applying a Yjs update of `update_bytes`.
    pub fn for_update(update_bytes: usize) -> Expect {
        Expect::growth(update_bytes.saturating_mul(BYTES_PER_UPDATE_BYTE))
    }

    pub fn growth(bytes: usize) -> Expect {
        // Single-threaded (see below): nothing else reads or writes it meanwhile.
        let outer = unsafe { EXPECTED };
        expect(outer.max(bytes));
        Expect { outer }
    }
}

impl Drop for Expect {
    fn drop(&mut self) {
        // A grow meanwhile took at least the outer expectation too: it is spent.
        if unsafe { EXPECTED } != 0 {
            expect(self.outer);
        }
    }
}

/// Sets the expectation for a write made of several calls (0 clears it): `bytes` it will
/// allocate, of which what is free now needs no growth.
pub fn expect(bytes: usize) {
    let free = (wasm32::memory_size(0) * PAGE).saturating_sub(unsafe { IN_USE });
    unsafe { EXPECTED = bytes.saturating_sub(free).min(u32::MAX as usize) };
}

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
        // An expectation is spent by the grow that honours it.
        let expected = unsafe { EXPECTED };
        expect(0);
        let step = current
            .clamp(MIN_STEP, MAX_STEP)
            .max(expected)
            .div_ceil(PAGE)
            .max(needed);
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
