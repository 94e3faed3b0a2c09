//! Where a node keeps its newest snapshot, as files: a snapshot is built into
//! a file, sent from it in chunks, received into one and installed from it, so
//! that no node holds a whole snapshot in memory (hundreds of MiB at a million
//! task instances).
//!
//! The directory holds `current.meta` (the snapshot's Raft metadata, its data
//! file's name and length, as JSON) and that data file
//! (`snapshot-<term>-<node>-<index>.data`). A new snapshot is written to a
//! temporary file, renamed to its data file's name, and then `current.meta` is
//! replaced (written aside and renamed), so the metadata always names a
//! whole data file. Saves are serialized, and a save never replaces a newer
//! snapshot with an older one (a snapshot built locally can finish after a
//! newer one was installed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::types::SnapshotMeta;

const META: &str = "current.meta";
/// What the snapshot file of versions before streaming snapshots was called
/// (metadata and data in one file); not read, removed at start.
const OLD_SINGLE_FILE: &str = "current.snapshot";

/// The snapshot directory of one node.
#[derive(Clone)]
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
    next_temp: Arc<AtomicU64>,
}

/// `current.meta`'s content.
#[derive(Serialize, Deserialize)]
struct Saved {
    meta: SnapshotMeta,
    file: String,
    bytes: u64,
}

/// The newest snapshot: its metadata and its data file.
pub(crate) struct Current {
    pub meta: SnapshotMeta,
    pub path: PathBuf,
}

impl SnapshotFiles {
    /// The directory `dir`, made if missing, without what an earlier process
    /// left half written.
    pub fn open(dir: &Path) -> std::io::Result<SnapshotFiles> {
        std::fs::create_dir_all(dir)?;
        let files = SnapshotFiles {
            dir: dir.to_path_buf(),
            lock: Arc::new(Mutex::new(())),
            next_temp: Arc::new(AtomicU64::new(0)),
        };
        let keep = files.read_saved().ok().flatten().map(|saved| saved.file);
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let stale = name.ends_with(".tmp")
                || name == OLD_SINGLE_FILE
                || (name.ends_with(".data") && Some(&name) != keep.as_ref());
            if stale {
                std::fs::remove_file(dir.join(&name))?;
            }
        }
        Ok(files)
    }

    /// A new file name in the directory for a snapshot being built or received.
    pub fn temp(&self, what: &str) -> PathBuf {
        let n = self.next_temp.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join(format!("{what}-{}-{n}.tmp", std::process::id()))
    }

    /// Makes the complete, synced file `written` (of `bytes` bytes) the newest
    /// snapshot, unless the saved one is newer, in which case `written` is
    /// removed. Answers whether it was kept.
    pub fn save(&self, meta: &SnapshotMeta, written: &Path, bytes: u64) -> std::io::Result<bool> {
        let _serial = self
            .lock
            .lock()
            .map_err(|_| std::io::Error::other("snapshot lock poisoned"))?;
        let previous = self.read_saved().ok().flatten();
        if let Some(existing) = &previous {
            if existing.meta.last_log_id > meta.last_log_id {
                std::fs::remove_file(written)?;
                return Ok(false);
            }
        }
        let file = format!("snapshot-{}.data", meta.snapshot_id);
        std::fs::rename(written, self.dir.join(&file))?;
        sync_dir(&self.dir)?;
        let saved = Saved {
            meta: meta.clone(),
            file: file.clone(),
            bytes,
        };
        let json = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
        write_atomically(&self.dir.join(META), &json)?;
        // The older data file goes (a sender still reading it keeps its handle).
        if let Some(previous) = previous {
            if previous.file != file {
                let _ = std::fs::remove_file(self.dir.join(previous.file));
            }
        }
        Ok(true)
    }

    fn read_saved(&self) -> std::io::Result<Option<Saved>> {
        let bytes = match std::fs::read(self.dir.join(META)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(std::io::Error::other)
    }

    /// The saved snapshot's metadata alone.
    #[cfg(test)]
    fn read_meta(&self) -> std::io::Result<Option<SnapshotMeta>> {
        Ok(self.read_saved()?.map(|saved| saved.meta))
    }

    /// The newest snapshot. A damaged or missing one counts as none (openraft
    /// then builds a new one from the state); its content is checked by whoever
    /// installs it.
    pub fn current(&self) -> Option<Current> {
        let _serial = self.lock.lock().ok()?;
        let saved = match self.read_saved() {
            Ok(saved) => saved?,
            Err(e) => {
                tracing::warn!("ignoring the saved snapshot: {e}");
                return None;
            }
        };
        let path = self.dir.join(&saved.file);
        match std::fs::metadata(&path) {
            Ok(found) if found.len() == saved.bytes => Some(Current {
                meta: saved.meta,
                path,
            }),
            Ok(found) => {
                tracing::warn!(
                    "ignoring the saved snapshot: {} holds {} bytes, {} were written",
                    path.display(),
                    found.len(),
                    saved.bytes
                );
                None
            }
            Err(e) => {
                tracing::warn!("ignoring the saved snapshot {}: {e}", path.display());
                None
            }
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes `bytes` as the file at `path`, or leaves the old file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{LogId, StoredMembership};
    use openraft::CommittedLeaderId;

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(LogId::new(CommittedLeaderId::new(1, 1), index)),
            last_membership: StoredMembership::default(),
            snapshot_id: format!("1-1-{index}"),
        }
    }

    fn written(files: &SnapshotFiles, content: &[u8]) -> PathBuf {
        let path = files.temp("building");
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn the_newest_snapshot_stays_and_an_older_one_never_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = SnapshotFiles::open(dir.path()).unwrap();
        assert!(files.current().is_none());
        let newer = written(&files, b"newer data");
        assert!(files.save(&meta(9), &newer, 10).unwrap());
        let older = written(&files, b"old");
        assert!(!files.save(&meta(4), &older, 3).unwrap());
        assert!(!older.exists(), "the refused file is removed");
        let current = files.current().expect("a snapshot");
        assert_eq!(current.meta, meta(9));
        assert_eq!(std::fs::read(&current.path).unwrap(), b"newer data");
        // A newer one replaces it, and the older data file goes.
        let newest = written(&files, b"newest");
        assert!(files.save(&meta(12), &newest, 6).unwrap());
        assert!(!current.path.exists());
        assert_eq!(files.read_meta().unwrap(), Some(meta(12)));
    }

    #[test]
    fn leftovers_are_removed_at_open_and_a_short_file_counts_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let files = SnapshotFiles::open(dir.path()).unwrap();
        let data = written(&files, b"0123456789");
        files.save(&meta(3), &data, 10).unwrap();
        std::fs::write(dir.path().join("receiving-1-0.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join("snapshot-0-0-1.data"), b"old").unwrap();
        std::fs::write(dir.path().join(OLD_SINGLE_FILE), b"old format").unwrap();
        let files = SnapshotFiles::open(dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["current.meta", "snapshot-1-1-3.data"]);
        let current = files.current().expect("kept");
        // Cut short (a disk that lost its tail): not offered to anyone.
        std::fs::write(&current.path, b"01234").unwrap();
        assert!(files.current().is_none());
    }
}
