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

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub runs: u64,
    pub bytes: u64,
}

impl AttemptLogs {
    /// Removes the logs of every run `held` says this node's state no longer
    /// holds (purged by retention, `kairos db clean` or a DAG's deletion), once
    /// nothing under the run's directory changed for `grace`: a log can reach a
    /// follower before the entry that made its run, so a young directory of an
    /// unknown run is left for a later sweep. `held(dag_id, run_id)`.
    pub fn sweep(
        &self,
        grace: std::time::Duration,
        held: impl Fn(&str, &str) -> Result<bool, String>,
    ) -> Result<Swept, String> {
        let mut swept = Swept::default();
        let now = std::time::SystemTime::now();
        for (dag_dir, dag_id) in named_dirs(&self.root)? {
            for (run_dir, run_id) in named_dirs(&dag_dir)? {
                if held(&dag_id, &run_id)? {
                    continue;
                }
                let (newest, bytes) =
                    newest_and_size(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
                if now.duration_since(newest).unwrap_or_default() < grace {
                    continue;
                }
                std::fs::remove_dir_all(&run_dir)
                    .map_err(|e| format!("{}: {e}", run_dir.display()))?;
                swept.runs += 1;
                swept.bytes += bytes;
            }
            // A DAG's directory goes with its last run's (not when a log
            // arrived in between: then it is not empty).
            if std::fs::read_dir(&dag_dir).is_ok_and(|mut d| d.next().is_none()) {
                let _ = std::fs::remove_dir(&dag_dir);
            }
        }
        Ok(swept)
    }
}

/// The directories in `dir` with the id each name was made from (none when
/// `dir` does not exist; other entries skipped).
fn named_dirs(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        if let Some(id) = name
            .to_str()
            .and_then(kairos_dag::identity::id_of_component)
        {
            dirs.push((entry.path(), id));
        }
    }
    Ok(dirs)
}

/// The latest modification under `dir` (itself included) and the bytes of
/// its files.
fn newest_and_size(dir: &Path) -> std::io::Result<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(dir)?;
    let (mut newest, mut bytes) = (meta.modified()?, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            let (n, b) = newest_and_size(&entry.path())?;
            newest = newest.max(n);
            bytes += b;
        } else {
            newest = newest.max(meta.modified()?);
            bytes += meta.len();
        }
    }
    Ok((newest, bytes))
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

    #[test]
    fn a_sweep_removes_old_logs_of_runs_no_longer_held_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let logs = AttemptLogs::new(dir.path());
        let key = |dag: &str, run: &str| TaskInstanceKey::new(dag, run, "t", -1);
        logs.write(&key("d", "kept"), 1, 0, b"a", true).unwrap();
        logs.write(&key("d", "gone/1"), 1, 0, b"bb", true).unwrap();
        logs.write(
            &TaskInstanceKey::new("d", "gone/1", "t", 2),
            1,
            0,
            b"ccc",
            true,
        )
        .unwrap();
        logs.write(&key("e", "gone"), 1, 0, b"dddd", false).unwrap();
        let held = |dag: &str, run: &str| Ok(dag == "d" && run == "kept");
        // Too young: a log may arrive before its run's entry.
        let young = logs
            .sweep(std::time::Duration::from_secs(60), held)
            .unwrap();
        assert_eq!(young, Swept::default());
        assert!(logs.read(&key("e", "gone"), 1, 0, 10).unwrap().is_some());
        let swept = logs.sweep(std::time::Duration::ZERO, held).unwrap();
        assert_eq!(swept, Swept { runs: 2, bytes: 9 });
        assert!(logs.read(&key("d", "kept"), 1, 0, 10).unwrap().is_some());
        assert_eq!(logs.read(&key("d", "gone/1"), 1, 0, 10).unwrap(), None);
        // The DAG with no run left goes too; the other keeps its directory.
        assert!(!dir.path().join("attempt-logs/e").exists());
        assert!(dir.path().join("attempt-logs/d").exists());
        // A store that cannot answer stops the sweep and says why.
        let err = logs
            .sweep(std::time::Duration::ZERO, |_, _| Err("no store".into()))
            .unwrap_err();
        assert!(err.contains("no store"), "{err}");
    }
}
