//! What a follower accepts of a snapshot being sent to it, before openraft writes
//! a byte: chunks in order (a chunk may be sent again, never one past the end of
//! what was received, which would make the receiver seek and fill the gap), and no
//! more than a snapshot may hold in all. A peer that sends otherwise is refused.

use std::sync::Mutex;

use crate::types::InstallSnapshotRequest;

/// The most a snapshot may hold, in bytes (a bound on what a sender can make a
/// follower keep).
pub const MAX_SNAPSHOT_BYTES: u64 = 16 << 30;

/// The snapshot being received, and how far.
pub struct SnapshotGate {
    receiving: Mutex<Option<(String, u64)>>,
    limit: u64,
}

impl Default for SnapshotGate {
    fn default() -> SnapshotGate {
        SnapshotGate::with_limit(MAX_SNAPSHOT_BYTES)
    }
}

impl SnapshotGate {
    /// A gate that lets snapshots of at most `limit` bytes through.
    pub fn with_limit(limit: u64) -> SnapshotGate {
        SnapshotGate {
            receiving: Mutex::new(None),
            limit,
        }
    }

    /// Checks a chunk and, when it is accepted, notes how far the snapshot got.
    pub fn admit(&self, chunk: &InstallSnapshotRequest) -> Result<(), String> {
        let mut receiving = self
            .receiving
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = &chunk.meta.snapshot_id;
        let received = match &*receiving {
            Some((current, received)) if current == id => *received,
            _ if chunk.offset == 0 => 0,
            _ => {
                return Err(format!(
                    "snapshot {id}: its first chunk must start at offset 0, not {}",
                    chunk.offset
                ));
            }
        };
        if chunk.offset > received {
            return Err(format!(
                "snapshot {id}: a chunk at offset {} would leave a gap after the {received} bytes received",
                chunk.offset
            ));
        }
        let end = chunk.offset.saturating_add(chunk.data.len() as u64);
        if end > self.limit {
            return Err(format!(
                "snapshot {id}: {end} bytes is more than a snapshot may hold ({})",
                self.limit
            ));
        }
        *receiving = if chunk.done {
            None
        } else {
            Some((id.clone(), received.max(end)))
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{SnapshotMeta, Vote};

    fn chunk(id: &str, offset: u64, len: usize, done: bool) -> InstallSnapshotRequest {
        InstallSnapshotRequest {
            vote: Vote::new(1, 1),
            meta: SnapshotMeta {
                snapshot_id: id.to_string(),
                ..Default::default()
            },
            offset,
            data: vec![0; len],
            done,
        }
    }

    #[test]
    fn chunks_in_order_and_resent_ones_pass() {
        let gate = SnapshotGate::default();
        gate.admit(&chunk("s", 0, 10, false)).unwrap();
        gate.admit(&chunk("s", 10, 10, false)).unwrap();
        // The same chunk again (its answer was lost): accepted, nothing grows.
        gate.admit(&chunk("s", 10, 10, false)).unwrap();
        gate.admit(&chunk("s", 20, 5, true)).unwrap();
        // A new snapshot starts at 0 again.
        gate.admit(&chunk("t", 0, 1, false)).unwrap();
    }

    #[test]
    fn a_jump_past_what_was_received_is_refused() {
        let gate = SnapshotGate::default();
        gate.admit(&chunk("s", 0, 10, false)).unwrap();
        let error = gate.admit(&chunk("s", 1 << 40, 10, false)).unwrap_err();
        assert!(error.contains("gap"), "{error}");
        // Nor may a new snapshot start anywhere but at 0.
        let error = gate.admit(&chunk("u", 1 << 40, 1, false)).unwrap_err();
        assert!(error.contains("offset 0"), "{error}");
    }

    #[test]
    fn a_snapshot_past_the_limit_is_refused() {
        let gate = SnapshotGate::with_limit(100);
        gate.admit(&chunk("s", 0, 60, false)).unwrap();
        let error = gate.admit(&chunk("s", 60, 60, false)).unwrap_err();
        assert!(error.contains("more than a snapshot may hold"), "{error}");
    }
}
