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
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// How much address space is set aside at most: room for the check to stop and report
/// (the watcher looks ten times a second, and a search allocates a few hundred MB a second
/// at most).
const RESERVE_BYTES: usize = 256 << 20;

/// The least reserve worth holding: enough for the report and the stop.
const MIN_RESERVE_BYTES: usize = 8 << 20;

/// The size set aside, fixed by [`install`]; 0 until then.
static RESERVE_SIZE: AtomicUsize = AtomicUsize::new(0);

fn layout() -> Layout {
    Layout::from_size_align(RESERVE_SIZE.load(Ordering::Relaxed), 4096).expect("a valid layout")
}

/// How much to set aside under an address-space limit of `limit` bytes (`ulimit -v`):
/// a quarter of it, at most [`RESERVE_BYTES`], so that a reserve larger than the limit
/// allows does not leave the process with none (which is what happened under
/// `ulimit -v 200000`: every failure aborted).
fn reserve_size(limit: Option<u64>) -> usize {
    match limit {
        None => RESERVE_BYTES,
        Some(bytes) => {
            let quarter = usize::try_from(bytes / 4).unwrap_or(usize::MAX);
            quarter.clamp(MIN_RESERVE_BYTES, RESERVE_BYTES)
        }
    }
}

/// The process's address-space limit in bytes, if it has one.
fn address_space_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

static RESERVE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static SPENT: AtomicBool = AtomicBool::new(false);

/// Sets the reserve aside. It is taken from the system allocator, which maps a block this
/// large on its own and unmaps it when freed, so freeing it really gives the addresses
/// back. Call once, at start; does nothing if the reserve cannot be had.
pub fn install() {
    if !RESERVE.load(Ordering::Acquire).is_null() {
        return;
    }
    RESERVE_SIZE.store(reserve_size(address_space_limit()), Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_fits_under_an_address_space_limit() {
        assert_eq!(reserve_size(None), RESERVE_BYTES);
        assert_eq!(reserve_size(Some(200_000 * 1024)), 50_000 * 1024);
        assert_eq!(reserve_size(Some(16 << 20)), MIN_RESERVE_BYTES);
        assert_eq!(reserve_size(Some(64 << 30)), RESERVE_BYTES);
    }
}
