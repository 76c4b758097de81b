//! Giving back to the system the memory a burst of requests freed. glibc's allocator keeps freed memory in its
//! per-thread arenas for reuse, and returns it only from the top of each heap: after the benchmark's load the
//! process held 63 MiB, 17 MiB of it freed and kept. Trimmed once the gateway has been quiet for a second, it
//! holds what it uses; a load is never slowed by a trim, which would take the arenas' locks in its middle.

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

/// Gives back to the system what the allocator holds freed: after a burst of requests, and once the server is
/// built (what building it freed, the API document's structures most of all).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back() {
    // SAFETY: malloc_trim only walks the allocator's own arenas, under their locks; it touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// glibc keeps small freed chunks in "fast bins" and merges them all back (`malloc_consolidate`) whenever a chunk
/// of a kilobyte or more is asked for. Every request boxes futures that large (the handler's, the middleware's),
/// so under load each request paid for merging what the one before freed: a quarter of a computed quote's time
/// in-process was the allocator. Without fast bins (the per-thread caches still serve small chunks first) the
/// benchmark's computed quotes went from 40,000 to 50,000/s at 16 connections, a router quote in-process from 54
/// to 34 µs, for 2 MiB more after the load.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn no_fast_bins() {
    // SAFETY: mallopt changes a setting of the allocator under its lock.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn no_fast_bins() {}

/// Only glibc has the call; other allocators give back what they free on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}
