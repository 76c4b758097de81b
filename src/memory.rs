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
                    trim();
                    busy_since_trim = false;
                }
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "freed memory will not be given back to the system");
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own arenas, under their locks; it touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Only glibc has the call; other allocators give back what they free on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
