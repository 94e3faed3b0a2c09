//! Attempt logs kept by the servers, so that a log outlives the worker that
//! wrote it: files under `<data-dir>/attempt-logs/` laid out as workers lay
//! theirs (`TaskInstanceKey::log_path`), outside the Raft log and the state
//! machine. A log arrives in chunks at offsets (a chunk sent twice lands on
//! itself); it is `<try>.log.part` until its last chunk, then `<try>.log`.
//! The leader copies each chunk to the other servers (`grpc::worker::upload`).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use kairos_dag::identity::TaskInstanceKey;

/// The most of one attempt's log the servers keep; a worker sends at most
/// this much (the rest stays on its disk).
pub const MAX_KEPT_LOG_BYTES: u64 = 64 << 20;
/// The most one read returns.
pub const MAX_READ_BYTES: u64 = 8 << 20;

/// One node's attempt logs.
#[derive(Clone, Debug)]
pub struct AttemptLogs {
    root: PathBuf,
}

/// A log as this node has it, from an offset on.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRead {
    pub data: Vec<u8>,
    /// The whole log's size here.
    pub size: u64,
    /// Whether the last chunk has arrived.
    pub complete: bool,
}

impl AttemptLogs {
    pub fn new(data_dir: &Path) -> AttemptLogs {
        AttemptLogs {
            root: data_dir.join("attempt-logs"),
        }
    }

    fn paths(&self, ti: &TaskInstanceKey, try_number: u32) -> (PathBuf, PathBuf) {
        let done = ti.log_path(&self.root, try_number);
        let mut part = done.clone().into_os_string();
        part.push(".part");
        (done, PathBuf::from(part))
    }

    /// Writes `data` at `offset` of the log; with `last`, the log is whole.
    pub fn write(
        &self,
        ti: &TaskInstanceKey,
        try_number: u32,
        offset: u64,
        data: &[u8],
        last: bool,
    ) -> Result<(), String> {
        if offset.saturating_add(data.len() as u64) > MAX_KEPT_LOG_BYTES {
            return Err(format!(
                "the servers keep the first {} MiB of a log; this chunk ends past that",
                MAX_KEPT_LOG_BYTES >> 20
            ));
        }
        let (done, part) = self.paths(ti, try_number);
        if let Some(dir) = done.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        // A log that was whole and is sent again (a report repeated after a
        // failover) is written over in place.
        let target = if done.exists() { &done } else { &part };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
        file.write_all_at(data, offset)
            .map_err(|e| format!("{}: {e}", target.display()))?;
        // Not synced: a log is not the cluster's state, and an fsync per
        // finished task on every server would cost the scheduler's own. A
        // server that crashes may lose the logs of its last seconds; the
        // other copy, and the worker's, remain.
        if last {
            file.set_len(offset + data.len() as u64)
                .map_err(|e| format!("{}: {e}", target.display()))?;
            if target == &part {
                std::fs::rename(&part, &done).map_err(|e| format!("{}: {e}", done.display()))?;
            }
        }
        Ok(())
    }

    /// The log from `offset` on (at most `max` bytes, and [`MAX_READ_BYTES`]),
    /// whole or not; `None` when this node has none of it.
    pub fn read(
        &self,
        ti: &TaskInstanceKey,
        try_number: u32,
        offset: u64,
        max: u64,
    ) -> Result<Option<LogRead>, String> {
        let (done, part) = self.paths(ti, try_number);
        let (path, complete) = if done.exists() {
            (done, true)
        } else if part.exists() {
            (part, false)
        } else {
            return Ok(None);
        };
        let read = || -> std::io::Result<LogRead> {
            let mut file = std::fs::File::open(&path)?;
            let size = file.metadata()?.len();
            file.seek(SeekFrom::Start(offset.min(size)))?;
            let mut data = Vec::new();
            file.take(max.min(MAX_READ_BYTES)).read_to_end(&mut data)?;
            Ok(LogRead {
                data,
                size,
                complete,
            })
        };
        read()
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ti() -> TaskInstanceKey {
        TaskInstanceKey::new("d", "r/1", "t", -1)
    }

    #[test]
    fn chunks_make_a_log_that_is_whole_after_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let logs = AttemptLogs::new(dir.path());
        assert_eq!(logs.read(&ti(), 1, 0, 100).unwrap(), None);
        logs.write(&ti(), 1, 0, b"hello ", false).unwrap();
        // A chunk sent twice lands on itself.
        logs.write(&ti(), 1, 0, b"hello ", false).unwrap();
        let partial = logs.read(&ti(), 1, 0, 100).unwrap().unwrap();
        assert_eq!(
            (partial.data.as_slice(), partial.complete),
            (&b"hello "[..], false)
        );
        logs.write(&ti(), 1, 6, b"world\n", true).unwrap();
        let whole = logs.read(&ti(), 1, 0, 100).unwrap().unwrap();
        assert_eq!(
            (whole.data.as_slice(), whole.size, whole.complete),
            (&b"hello world\n"[..], 12, true)
        );
        assert_eq!(logs.read(&ti(), 1, 6, 3).unwrap().unwrap().data, b"wor");
        // Another try is another log; the run id's `/` stays in one component.
        assert_eq!(logs.read(&ti(), 2, 0, 100).unwrap(), None);
        assert!(dir.path().join("attempt-logs/d/r%2F1/t/1.log").exists());
    }

    #[test]
    fn a_log_past_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let logs = AttemptLogs::new(dir.path());
        let err = logs
            .write(&ti(), 1, MAX_KEPT_LOG_BYTES - 2, b"abc", true)
            .unwrap_err();
        assert!(err.contains("64 MiB"), "{err}");
    }
}
