//! Fewer malloc arenas for the long-running commands (server, worker, dev).
//!
//! glibc's malloc gives threads that contend for it arenas of their own, up to
//! eight per core, and memory freed in one arena is not reused by another:
//! RocksDB's and tokio's threads left a server's memory spread over a dozen
//! arenas. Measured by the bench's scale phase (a million task instances, 2
//! cores, same binary): a node's peak RSS over the phase 350 MB with glibc's
//! default, 286 MB with two arenas. `MALLOC_ARENA_MAX`, when set, wins (glibc
//! reads it itself).

/// Caps malloc at two arenas unless `MALLOC_ARENA_MAX` is set. Called first
/// thing, before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt sets one of malloc's tuning parameters; it is called
        // before this process starts any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
