//! Giving memory back between long jobs.
//!
//! A sync run allocates and frees a few pages' worth of records many thousands of times,
//! on the async threads and on the blocking threads that stage pages. glibc's allocator
//! keeps what is freed in per-thread arenas (up to eight per core) for reuse and returns
//! little of it to the system on its own, so a worker's resident memory ratcheted up
//! from run to run: 10.5 MB idle, 50 MB after one run of 200,000 records, 64 MB after
//! ten (the sync bench prints the worker's resident set before each of ten consecutive
//! runs). The worker now caps the arenas at two (one per core of the machines it runs
//! on; `MALLOC_ARENA_MAX` in the environment wins), and once a run ends asks the
//! allocator to hand its free pages back (`malloc_trim`): what the next run needs it
//! allocates again. The run's database connections leave the pool when it ends (see
//! `pipeline::run::execute`), so their grown buffers go too. What stays after the first
//! run is one-time: libphonenumber's metadata and compiled patterns (~16 MB, measured
//! alone).

/// Caps glibc's malloc arenas at two, unless `MALLOC_ARENA_MAX` is set (glibc reads it
/// itself). Called once, early.
#[allow(unsafe_code)]
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` sets an allocator parameter; M_ARENA_MAX only bounds how
        // many arenas later threads may create.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

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
