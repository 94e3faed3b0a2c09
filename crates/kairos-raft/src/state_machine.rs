//! openraft's state machine interface over [`kairos_state::Store`].
//!
//! The store keeps Raft's last applied log id and membership as opaque records in
//! the same `WriteBatch` as each entry's effects, so they always agree with the data.
//! Snapshots are the store's own export; the newest one is also kept as a file, so
//! that a restarted node can still send it to a follower that needs it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kairos_state::snapshot::for_each_record;
use kairos_state::{EntryToApply, Store};

use crate::identity::ClusterTag;
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};

use crate::types::{
    BatchResults, Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

pub(crate) const LAST_APPLIED: &str = "last_applied";
pub(crate) const MEMBERSHIP: &str = "membership";

/// The state machine as openraft drives it.
pub struct StateMachine {
    store: Arc<Store>,
    snapshots: SnapshotFiles,
    /// The last applied index, published after every apply: the leader's dispatcher
    /// waits on it to hand out work queued by fast-follow without polling.
    applied: tokio::sync::watch::Sender<u64>,
    observer: Arc<dyn crate::NodeObserver>,
    /// A snapshot of another cluster is never installed.
    cluster: ClusterTag,
}

impl StateMachine {
    pub fn new(
        store: Arc<Store>,
        snapshot_dir: &Path,
        applied: tokio::sync::watch::Sender<u64>,
        observer: Arc<dyn crate::NodeObserver>,
        cluster: ClusterTag,
    ) -> std::io::Result<StateMachine> {
        std::fs::create_dir_all(snapshot_dir)?;
        Ok(StateMachine {
            applied,
            cluster,
            observer,
            store,
            snapshots: SnapshotFiles {
                dir: snapshot_dir.to_path_buf(),
                lock: Arc::new(Mutex::new(())),
            },
        })
    }
}

fn sm_read(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::read_state_machine(&std::io::Error::other(e.to_string())).into()
}

fn sm_write(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_state_machine(&std::io::Error::other(e.to_string())).into()
}

fn snapshot_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_snapshot(None, &std::io::Error::other(e.to_string())).into()
}

/// The last applied log id and membership the store holds.
fn applied_state(store: &Store) -> Result<(Option<LogId>, StoredMembership), StorageError> {
    let last: Option<LogId> = match store.raft_meta(LAST_APPLIED).map_err(sm_read)? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(sm_read)?,
        None => None,
    };
    let membership: StoredMembership = match store.raft_meta(MEMBERSHIP).map_err(sm_read)? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(sm_read)?,
        None => StoredMembership::default(),
    };
    Ok((last, membership))
}

/// The cluster id a snapshot's state holds, if its cluster was named.
pub(crate) fn snapshot_cluster(data: &[u8]) -> Result<Option<String>, StorageError> {
    let mut named = None;
    for_each_record(data, |(cf, key, value)| {
        if cf == kairos_state::keys::Cf::Meta && key == kairos_state::keys::meta::CLUSTER_ID {
            named = Some(value);
        }
    })
    .map_err(snapshot_err)?;
    named
        .map(|value| serde_json::from_slice(value).map_err(snapshot_err))
        .transpose()
}

/// The same two records, read out of a snapshot's bytes.
pub(crate) fn snapshot_state(
    data: &[u8],
) -> Result<(Option<LogId>, StoredMembership), StorageError> {
    // Records are visited, not collected: a list of millions of them cost a
    // node hundreds of MiB at every snapshot.
    let (mut last, mut membership) = (None, None);
    for_each_record(data, |(cf, key, value)| {
        if cf != kairos_state::keys::Cf::Meta {
            return;
        }
        match kairos_state::keys::meta::raft_name(key) {
            Some(name) if name == LAST_APPLIED.as_bytes() => last = Some(value),
            Some(name) if name == MEMBERSHIP.as_bytes() => membership = Some(value),
            _ => {}
        }
    })
    .map_err(snapshot_err)?;
    let last: Option<LogId> = match last {
        Some(value) => serde_json::from_slice(value).map_err(snapshot_err)?,
        None => None,
    };
    let membership: StoredMembership = match membership {
        Some(value) => serde_json::from_slice(value).map_err(snapshot_err)?,
        None => StoredMembership::default(),
    };
    Ok((last, membership))
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        applied_state(&self.store)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<BatchResults>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut to_apply = Vec::with_capacity(entries.len());
        for entry in &entries {
            let mut raft_meta = vec![(
                LAST_APPLIED.to_string(),
                serde_json::to_vec(&Some(entry.log_id)).map_err(sm_write)?,
            )];
            let batch = match &entry.payload {
                EntryPayload::Normal(batch) => Some(batch),
                EntryPayload::Membership(membership) => {
                    let stored = StoredMembership::new(Some(entry.log_id), membership.clone());
                    raft_meta.push((
                        MEMBERSHIP.to_string(),
                        serde_json::to_vec(&stored).map_err(sm_write)?,
                    ));
                    None
                }
                EntryPayload::Blank => None,
            };
            to_apply.push(EntryToApply {
                index: entry.log_id.index,
                batch,
                raft_meta,
            });
        }
        let (results, stats) = self.store.apply_counted(&to_apply).map_err(sm_write)?;
        self.observer.applied(to_apply.len(), &stats);
        if let Some(last) = to_apply.last() {
            self.applied.send_replace(last.index);
        }
        Ok(results.into_iter().map(BatchResults).collect())
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            store: self.store.clone(),
            snapshots: self.snapshots.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let (last, _) = snapshot_state(&data)?;
        // A snapshot of another cluster (a misrouted peer, a copied data dir) would
        // turn this node into that cluster's replica: refused, nothing written.
        if let (Some(ours), Some(theirs)) = (self.cluster.get(), snapshot_cluster(&data)?) {
            if ours != theirs {
                return Err(snapshot_err(format!(
                    "the snapshot is of cluster `{theirs}`, this node of cluster `{ours}`"
                )));
            }
        }
        if last != meta.last_log_id {
            return Err(snapshot_err(format!(
                "the snapshot's data ends at {last:?} but its metadata says {:?}",
                meta.last_log_id
            )));
        }
        // The file first: after a crash between the two, the file is newer than the
        // store, which openraft handles (it re-applies or re-sends); the other order
        // could leave a file older than the purged log.
        self.snapshots.save(meta, &data).map_err(snapshot_err)?;
        self.store.install_snapshot(&data).map_err(snapshot_err)?;
        tracing::info!(snapshot = %meta.snapshot_id, "installed a snapshot from the leader");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        self.snapshots.load().map_err(|e| sm_read(e))
    }
}

/// Builds snapshots from a consistent view of the store, concurrently with apply.
pub struct SnapshotBuilder {
    store: Arc<Store>,
    snapshots: SnapshotFiles,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let store = self.store.clone();
        let data = tokio::task::spawn_blocking(move || store.export_snapshot())
            .await
            .map_err(snapshot_err)?
            .map_err(snapshot_err)?;
        // The log id and membership come from the exported bytes themselves, so they
        // describe exactly the state inside the snapshot.
        let (last_log_id, last_membership) = snapshot_state(&data)?;
        let snapshot_id = match last_log_id {
            Some(id) => format!(
                "{}-{}-{}",
                id.leader_id.term, id.leader_id.node_id, id.index
            ),
            None => "empty".to_string(),
        };
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        };
        self.snapshots.save(&meta, &data).map_err(snapshot_err)?;
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "built a snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

/// The newest snapshot on disk, in one file (`current.snapshot`: the metadata's
/// length, the metadata as JSON, then the data), replaced by writing a temporary
/// file and renaming it, so the metadata and the data can never disagree. Saves are
/// serialized, and a save never replaces a newer snapshot with an older one (a
/// snapshot built locally can finish after a newer one was installed).
#[derive(Clone)]
struct SnapshotFiles {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
}

#[derive(Serialize, Deserialize)]
struct SavedMeta {
    meta: SnapshotMeta,
}

impl SnapshotFiles {
    fn path(&self) -> PathBuf {
        self.dir.join("current.snapshot")
    }

    fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> std::io::Result<()> {
        let _serial = self
            .lock
            .lock()
            .map_err(|_| std::io::Error::other("snapshot lock poisoned"))?;
        // Only the saved metadata is read to compare (not the whole snapshot).
        if let Ok(Some(existing)) = self.read_meta() {
            if existing.last_log_id > meta.last_log_id {
                return Ok(());
            }
        }
        let header =
            serde_json::to_vec(&SavedMeta { meta: meta.clone() }).map_err(std::io::Error::other)?;
        let len = (header.len() as u32).to_be_bytes();
        write_atomically(&self.path(), &[&len, &header, data])
    }

    /// The saved snapshot's metadata alone (the data is not read nor checked).
    fn read_meta(&self) -> std::io::Result<Option<SnapshotMeta>> {
        use std::io::Read;
        let mut file = match std::fs::File::open(self.path()) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut len = [0u8; 4];
        file.read_exact(&mut len)?;
        let mut header = vec![0u8; u32::from_be_bytes(len) as usize];
        file.read_exact(&mut header)?;
        let saved: SavedMeta = serde_json::from_slice(&header).map_err(std::io::Error::other)?;
        Ok(Some(saved.meta))
    }

    /// The saved snapshot; a damaged file counts as none (openraft then builds a new
    /// one from the state).
    fn load(&self) -> std::io::Result<Option<Snapshot>> {
        let _serial = self
            .lock
            .lock()
            .map_err(|_| std::io::Error::other("snapshot lock poisoned"))?;
        match self.read() {
            Ok(found) => Ok(found),
            Err(e) => {
                tracing::warn!("ignoring the saved snapshot: {e}");
                Ok(None)
            }
        }
    }

    fn read(&self) -> std::io::Result<Option<Snapshot>> {
        let mut bytes = match std::fs::read(self.path()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let damaged = || std::io::Error::other(format!("{} is damaged", self.path().display()));
        let len = bytes.get(..4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let header = bytes.get(4..4 + len).ok_or_else(damaged)?;
        let saved: SavedMeta = serde_json::from_slice(header).map_err(|_| damaged())?;
        // The header is cut off in place: a copy of the data would double it.
        bytes.drain(..4 + len);
        let data = bytes;
        match snapshot_state(&data) {
            Ok((last, _)) if last == saved.meta.last_log_id => Ok(Some(Snapshot {
                meta: saved.meta,
                snapshot: Box::new(Cursor::new(data)),
            })),
            _ => Err(damaged()),
        }
    }
}

/// Writes `parts`, one after the other, as the file at `path`, or leaves the
/// old file.
fn write_atomically(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_state::Command;
    use openraft::{CommittedLeaderId, Membership};

    /// A store that has applied `index` entries setting pools, exported.
    fn exported(dir: &Path, index: u64) -> (Vec<u8>, SnapshotMeta) {
        let store = Store::open(dir).unwrap();
        let log_id = LogId::new(CommittedLeaderId::new(1, 1), index);
        let batch = kairos_state::Batch {
            stamp: chrono::Utc::now(),
            commands: vec![Command::set_pool(&format!("p{index}"), 3)],
        };
        store
            .apply_counted(&[EntryToApply {
                index,
                batch: Some(&batch),
                raft_meta: vec![(
                    LAST_APPLIED.to_string(),
                    serde_json::to_vec(&Some(log_id)).unwrap(),
                )],
            }])
            .unwrap();
        let data = store.export_snapshot().unwrap();
        let (last_log_id, _) = snapshot_state(&data).unwrap();
        assert_eq!(last_log_id, Some(log_id), "read from the exported bytes");
        let meta = SnapshotMeta {
            last_log_id,
            last_membership: StoredMembership::new(None, Membership::new(vec![], None)),
            snapshot_id: format!("s{index}"),
        };
        (data, meta)
    }

    #[test]
    fn the_saved_snapshot_reads_back_whole_and_an_older_one_never_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = SnapshotFiles {
            dir: dir.path().join("snapshots"),
            lock: Arc::new(Mutex::new(())),
        };
        std::fs::create_dir_all(&files.dir).unwrap();
        assert!(files.read_meta().unwrap().is_none());
        let (newer, newer_meta) = exported(&dir.path().join("a"), 9);
        let (older, older_meta) = exported(&dir.path().join("b"), 4);
        files.save(&newer_meta, &newer).unwrap();
        files.save(&older_meta, &older).unwrap();
        assert_eq!(files.read_meta().unwrap(), Some(newer_meta.clone()));
        let loaded = files.load().unwrap().expect("a snapshot");
        assert_eq!(loaded.meta, newer_meta);
        assert_eq!(loaded.snapshot.into_inner(), newer);
    }
}
