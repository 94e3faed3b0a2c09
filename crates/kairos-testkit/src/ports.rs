//! Ports for the servers a test starts. The port has to be chosen before the
//! server binds it (a cluster's peers list names every node's address up front),
//! so there is always a window between "this port is free" and the server's bind.
//! Asking the OS for port 0 made that window dangerous: Linux readily hands the
//! same just-closed port to the next `bind(0)`, so one cluster's two nodes could
//! be given one port ("Address already in use"), and an outgoing connection of
//! any process may take an ephemeral port in the window.
//!
//! Instead the ports come from a pool below the ephemeral ranges (Linux's
//! default is 32768–60999, macOS's 49152–65535), so no outgoing connection is
//! ever given one; each process walks the pool from its own random starting
//! point, so test binaries running at the same time start far apart; a port is
//! checked free with a bind before it is handed out; and a process never hands
//! out the same port twice.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

/// The pool: first port and number of ports.
const FIRST: u16 = 15_000;
const SPAN: u16 = 17_000; // up to 31999, below every default ephemeral range

struct Allocator {
    /// The next port to try is `FIRST + cursor`.
    cursor: u16,
    handed_out: HashSet<u16>,
}

static ALLOCATOR: Mutex<Option<Allocator>> = Mutex::new(None);

/// A random point in the pool, different for every process.
fn random_start() -> u16 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since.as_nanos());
    }
    (hasher.finish() % u64::from(SPAN)) as u16
}

/// A port on 127.0.0.1 that nothing listens on now and that this process has
/// not handed out before. It stays unbound until the caller's server binds it.
pub fn free_port() -> io::Result<u16> {
    let mut guard = ALLOCATOR.lock().unwrap_or_else(PoisonError::into_inner);
    let allocator = guard.get_or_insert_with(|| Allocator {
        cursor: random_start(),
        handed_out: HashSet::new(),
    });
    for _ in 0..SPAN {
        let port = FIRST + allocator.cursor;
        allocator.cursor = (allocator.cursor + 1) % SPAN;
        if allocator.handed_out.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            allocator.handed_out.insert(port);
            return Ok(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!(
            "no free port left in 127.0.0.1:{FIRST}-{} for this process",
            FIRST + SPAN - 1
        ),
    ))
}

/// `127.0.0.1:PORT` with a [`free_port`].
pub fn free_addr() -> io::Result<String> {
    free_port().map(|port| format!("127.0.0.1:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_never_gets_the_same_port_twice() {
        let ports: Vec<u16> = (0..200).map(|_| free_port().expect("a port")).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        assert!(ports.iter().all(|p| (FIRST..FIRST + SPAN).contains(p)));
    }

    #[test]
    fn a_port_in_use_is_skipped() {
        let port = free_port().expect("a port");
        // Bound by someone else now: the allocator must not hand out what is taken.
        let _held = TcpListener::bind(("127.0.0.1", port + 1));
        let next = free_port().expect("a port");
        assert_ne!(next, port);
        if _held.is_ok() {
            assert_ne!(next, port + 1);
        }
    }

    #[test]
    fn threads_get_distinct_ports() {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..20)
                        .map(|_| free_port().expect("a port"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let all: Vec<u16> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect();
        let distinct: HashSet<u16> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len());
    }
}
