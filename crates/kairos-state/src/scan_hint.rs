//! Where the live keys of a queue-like index begin, so that scans skip the
//! tombstones in front of them.
//!
//! Three indexes are consumed from their front: the queued instances of each
//! queue (each dispatch deletes the lowest keys), the scheduled instances (each
//! queueing pass deletes the lowest), and the timers (fired in time order).
//! RocksDB keeps a deleted key as a tombstone until a flush and compaction, and a
//! scan from the prefix walks every one of them, so with thousands of moves
//! between compactions each worker poll, queueing pass and timer read grew linear
//! in the work done (the benchmark saw 80% of the leader's CPU in polls, then 60%
//! in queueing passes inside apply). A hint is the lowest key that may still be
//! live; a scan starts there. [`crate::keys::index::hinted_prefix_of`] names
//! the hinted prefixes.
//!
//! Invariant: no live key under a prefix is below its hint. A commit that puts a
//! key lowers the hint to it (after the write, so a scan that did not see the key
//! cannot then raise the hint past it: raising checks that no put happened since
//! the scan began). Deletes never lower it; installing a snapshot forgets every
//! hint, and a scan that began before cannot set one after. The hint is memory
//! only: results are the same with or without it, so it plays no part in the
//! replicated state.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct ScanHints {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_prefix: HashMap<Vec<u8>, Hint>,
    /// Bumped when the store's content is replaced: a scan that began before may
    /// not raise a hint after.
    generation: u64,
}

#[derive(Default, Clone)]
struct Hint {
    /// The lowest key that may be live (None: the prefix itself).
    from: Option<Vec<u8>>,
    /// Puts seen under this prefix: a scan may raise the hint only if none came
    /// while it ran.
    puts: u64,
}

/// What a scan read before it began.
pub(crate) struct ScanStart {
    pub from: Option<Vec<u8>>,
    puts: u64,
    generation: u64,
}

impl ScanHints {
    pub fn start(&self, prefix: &[u8]) -> ScanStart {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let hint = state.by_prefix.get(prefix).cloned().unwrap_or_default();
        ScanStart {
            from: hint.from,
            puts: hint.puts,
            generation: state.generation,
        }
    }

    /// After a scan from `start` whose first live key was `first` (None: there was
    /// none up to `end`, the first key past the prefix).
    pub fn advance(&self, prefix: &[u8], start: ScanStart, first: Option<Vec<u8>>, end: Vec<u8>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation != start.generation {
            return;
        }
        let hint = state.by_prefix.entry(prefix.to_vec()).or_default();
        if hint.puts == start.puts {
            hint.from = Some(first.unwrap_or(end));
        }
    }

    /// A key was written under `prefix` (called after the write).
    pub fn put(&self, prefix: &[u8], key: &[u8]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let hint = state.by_prefix.entry(prefix.to_vec()).or_default();
        hint.puts += 1;
        if hint.from.as_deref().is_some_and(|from| key < from) {
            hint.from = Some(key.to_vec());
        }
    }

    /// The store's content was replaced (a snapshot was installed).
    pub fn clear(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.by_prefix.clear();
        state.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_raises_the_hint_unless_a_put_came_meanwhile() {
        let hints = ScanHints::default();
        let start = hints.start(b"Q");
        assert_eq!(start.from, None);
        hints.advance(b"Q", start, Some(b"Q5".to_vec()), b"R".to_vec());
        assert_eq!(hints.start(b"Q").from.as_deref(), Some(&b"Q5"[..]));
        // A put below the hint lowers it.
        hints.put(b"Q", b"Q3");
        assert_eq!(hints.start(b"Q").from.as_deref(), Some(&b"Q3"[..]));
        // A put above it leaves it.
        hints.put(b"Q", b"Q9");
        assert_eq!(hints.start(b"Q").from.as_deref(), Some(&b"Q3"[..]));
        // A scan that began before a put may not raise the hint past that put.
        let start = hints.start(b"Q");
        hints.put(b"Q", b"Q4");
        hints.advance(b"Q", start, Some(b"Q9".to_vec()), b"R".to_vec());
        assert_eq!(hints.start(b"Q").from.as_deref(), Some(&b"Q3"[..]));
        // An empty scan moves the hint to the end; the next put brings it back.
        let start = hints.start(b"Q");
        hints.advance(b"Q", start, None, b"R".to_vec());
        assert_eq!(hints.start(b"Q").from.as_deref(), Some(&b"R"[..]));
        hints.put(b"Q", b"Q1");
        assert_eq!(hints.start(b"Q").from.as_deref(), Some(&b"Q1"[..]));
        hints.clear();
        assert_eq!(hints.start(b"Q").from, None);
        // A scan of the content before a snapshot replaced it raises nothing after.
        let fresh = ScanHints::default();
        let before = fresh.start(b"Q");
        fresh.clear();
        fresh.advance(b"Q", before, Some(b"Q8".to_vec()), b"R".to_vec());
        assert_eq!(fresh.start(b"Q").from, None);
    }
}
