//! Giving memory back between long jobs.
//!
//! A sync run allocates and frees a few pages' worth of records many thousands of times,
//! on the async threads and on the blocking threads that stage pages. glibc's allocator
//! keeps what is freed in per-thread arenas for reuse and returns little of it to the
//! system on its own, so a worker's resident memory would ratchet up from run to run
//! (measured: see the sync bench, which prints the resident set before each of ten
//! consecutive runs). Once a run ends the worker asks the allocator to hand its free
//! pages back (`malloc_trim`): what the next run needs it allocates again.

/// Returns the allocator's free pages to the system (glibc on Linux; elsewhere, where
/// the allocator behaves otherwise, nothing).
#[allow(unsafe_code)]
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks glibc's own free lists; it takes no pointer and
    // is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
