//! The `check` binary's allocator: mimalloc, with a reserve of address space that is
//! given back the first time an allocation fails.
//!
//! Rust aborts the process when an allocation fails (`memory allocation of N bytes
//! failed`), which leaves no verdict. The search grows its largest blocks fallibly and
//! ends with "unknown" when one fails, but any other allocation (a state the search
//! clones, a line of the report) could be the one that fails. So a block of address space
//! is set aside at start, never touched (it costs no memory, only addresses), and freed
//! when an allocation first fails; the allocation is then retried, and [`spent`] tells the
//! check to stop, for which the reserve leaves room. Allocations succeed or fail as before
//! otherwise: the reserve only matters once the process is out of memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// How much address space is set aside: room for the check to stop and report (the
/// watcher looks ten times a second, and a search allocates a few hundred MB a second at
/// most).
const RESERVE_BYTES: usize = 256 << 20;

fn layout() -> Layout {
    Layout::from_size_align(RESERVE_BYTES, 4096).expect("a valid layout")
}

static RESERVE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static SPENT: AtomicBool = AtomicBool::new(false);

/// Sets the reserve aside. It is taken from the system allocator, which maps a block this
/// large on its own and unmaps it when freed, so freeing it really gives the addresses
/// back. Call once, at start; does nothing if the reserve cannot be had.
pub fn install() {
    // SAFETY: the layout has a non-zero size.
    let block = unsafe { System.alloc(layout()) };
    if !block.is_null() {
        let old = RESERVE.swap(block, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: `old` came from `System.alloc(layout())` and no one else holds it.
            unsafe { System.dealloc(old, layout()) };
        }
    }
}

/// Whether an allocation has failed since the process started: then the reserve has been
/// given back, and the process should stop what it is doing and report.
pub fn spent() -> bool {
    SPENT.load(Ordering::Relaxed)
}

/// Gives the reserve back, if it is still held, and says whether it was.
#[cold]
fn release() -> bool {
    SPENT.store(true, Ordering::Relaxed);
    let block = RESERVE.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if block.is_null() {
        return false;
    }
    // SAFETY: `block` came from `System.alloc(layout())`, and the swap made it ours alone.
    unsafe { System.dealloc(block, layout()) };
    true
}

/// mimalloc, with the reserve. Use as `#[global_allocator]`, and call [`install`].
pub struct Reserved;

// SAFETY: every method forwards to mimalloc, whose contract is the same; a retry after a
// failure is a fresh call with the same arguments.
unsafe impl GlobalAlloc for Reserved {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc(layout);
        if p.is_null() && release() {
            return mimalloc::MiMalloc.alloc(layout);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc_zeroed(layout);
        if p.is_null() && release() {
            return mimalloc::MiMalloc.alloc_zeroed(layout);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A failed realloc leaves the old block as it was, so it can be retried.
        let p = mimalloc::MiMalloc.realloc(ptr, layout, new_size);
        if p.is_null() && release() {
            return mimalloc::MiMalloc.realloc(ptr, layout, new_size);
        }
        p
    }
}
