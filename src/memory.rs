//! The allocator, and giving back to the system the memory a burst of requests freed.
//!
//! Rust's allocations go to jemalloc. glibc's allocator, with the per-thread cache it keeps of seven freed chunks a
//! size, took a slow path for most of what a request frees: a computed quote allocates some eighty chunks, and
//! malloc and free were a quarter of its instructions (19,700 of 78,700, callgrind). With jemalloc they are 7,000
//! of 66,200, and router quotes at 16 connections went from 13,200 to 17,000/s (the benchmark, run in turn).
//! mimalloc (v3) took as many instructions but held 46 MiB idle.
//!
//! Freed memory is kept for reuse (jemalloc returns it over seconds, glibc only from the top of each heap); once
//! the gateway has been quiet for a second it is given back, so the process holds what it uses. A load is never
//! slowed by that: giving back in its middle would take the arenas' locks.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long no request may have been answered before the freed memory is given back.
const QUIET: Duration = Duration::from_secs(1);

static ANSWERED: AtomicU64 = AtomicU64::new(0);

/// Counts an answered request: what tells the gateway it is not quiet.
pub fn answered() {
    ANSWERED.fetch_add(1, Ordering::Relaxed);
}

/// Starts (once per process) the thread that trims the allocator's arenas after a burst of requests, once none
/// was answered for [`QUIET`].
pub fn give_back_when_quiet() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new().name("memory-return".into()).spawn(|| {
            let (mut seen, mut busy_since_trim) = (0, false);
            loop {
                std::thread::sleep(QUIET);
                let now = ANSWERED.load(Ordering::Relaxed);
                if now != seen {
                    (seen, busy_since_trim) = (now, true);
                } else if busy_since_trim {
                    give_back();
                    busy_since_trim = false;
                }
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "freed memory will not be given back to the system");
        }
    });
}

/// Gives back to the system what the allocators hold freed: after a burst of requests, and once the server is
/// built (what building it freed, the API document's structures most of all). glibc's heap still serves the C
/// libraries (SQLite).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back() {
    // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena's freed pages returned now, not over the decay time.
    const PURGE_ALL_ARENAS: &std::ffi::CStr = c"arena.4096.purge";
    // SAFETY: a purge reads and writes no value through the pointers (all null); malloc_trim only walks glibc's
    // own arenas, under their locks. Neither touches memory of ours.
    unsafe {
        use std::ptr::null_mut;
        tikv_jemalloc_sys::mallctl(PURGE_ALL_ARENAS.as_ptr(), null_mut(), null_mut(), null_mut(), 0);
        libc::malloc_trim(0);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Elsewhere the system's allocator serves, and gives back what it frees on its own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}
