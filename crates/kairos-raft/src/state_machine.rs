//! openraft's state machine interface over [`kairos_state::Store`].
//!
//! The store keeps Raft's last applied log id and membership as opaque records in
//! the same `WriteBatch` as each entry's effects, so they always agree with the data.
//! Snapshots are the store's own export, streamed into a file ([`SnapshotFiles`]):
//! built into one, sent from it, received into one and installed from it, so a
//! node never holds a whole snapshot in memory; the newest one stays, so that a
//! restarted node can still send it to a follower that needs it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kairos_state::snapshot::{Record, check_snapshot};
use kairos_state::{EntryToApply, Store};
use tokio::io::AsyncWriteExt;

use crate::identity::ClusterTag;
use crate::snapshot_files::SnapshotFiles;
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};

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
    /// The file the snapshot being received is written to.
    receiving: Option<PathBuf>,
}

impl StateMachine {
    pub fn new(
        store: Arc<Store>,
        snapshot_dir: &Path,
        applied: tokio::sync::watch::Sender<u64>,
        observer: Arc<dyn crate::NodeObserver>,
        cluster: ClusterTag,
    ) -> std::io::Result<StateMachine> {
        let snapshots = SnapshotFiles::open(snapshot_dir)?;
        finish_interrupted_install(&store, &snapshots).map_err(std::io::Error::other)?;
        Ok(StateMachine {
            applied,
            cluster,
            observer,
            store,
            snapshots,
            receiving: None,
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

/// What the Raft glue needs of a snapshot, picked from its records as they pass
/// (while it is written or checked): its last applied log id, its membership,
/// and the cluster it belongs to.
#[derive(Default)]
pub(crate) struct SnapshotFacts {
    last: Option<Vec<u8>>,
    membership: Option<Vec<u8>>,
    cluster: Option<Vec<u8>>,
}

impl SnapshotFacts {
    pub fn see(&mut self, (cf, key, value): Record<'_>) {
        if cf != kairos_state::keys::Cf::Meta {
            return;
        }
        if key == kairos_state::keys::meta::CLUSTER_ID {
            self.cluster = Some(value.to_vec());
        }
        match kairos_state::keys::meta::raft_name(key) {
            Some(name) if name == LAST_APPLIED.as_bytes() => self.last = Some(value.to_vec()),
            Some(name) if name == MEMBERSHIP.as_bytes() => self.membership = Some(value.to_vec()),
            _ => {}
        }
    }

    /// Reads and checks the whole snapshot in `file` (every byte, the checksum).
    pub fn of_file(file: &Path) -> Result<SnapshotFacts, StorageError> {
        let reader = std::fs::File::open(file).map_err(snapshot_err)?;
        let len = reader.metadata().map_err(snapshot_err)?.len();
        SnapshotFacts::of_reader(reader, len)
    }

    /// The same, of a snapshot of `len` bytes read from `reader`.
    pub fn of_reader(reader: impl std::io::Read, len: u64) -> Result<SnapshotFacts, StorageError> {
        let mut facts = SnapshotFacts::default();
        check_snapshot(reader, len, |record| facts.see(record)).map_err(snapshot_err)?;
        Ok(facts)
    }

    /// The last applied log id and membership.
    pub fn state(&self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let last: Option<LogId> = match &self.last {
            Some(value) => serde_json::from_slice(value).map_err(snapshot_err)?,
            None => None,
        };
        let membership: StoredMembership = match &self.membership {
            Some(value) => serde_json::from_slice(value).map_err(snapshot_err)?,
            None => StoredMembership::default(),
        };
        Ok((last, membership))
    }

    /// The cluster id the snapshot's state holds, if its cluster was named.
    pub fn cluster(&self) -> Result<Option<String>, StorageError> {
        self.cluster
            .as_deref()
            .map(|value| serde_json::from_slice(value).map_err(snapshot_err))
            .transpose()
    }
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

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        let path = self.snapshots.temp("receiving");
        let file = tokio::fs::File::create(&path).await.map_err(snapshot_err)?;
        // The newest file begun is the one openraft installs: a snapshot whose
        // sending is given up for a newer one is never installed.
        if let Some(abandoned) = self.receiving.replace(path) {
            let _ = std::fs::remove_file(abandoned);
        }
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError> {
        let path = self
            .receiving
            .take()
            .ok_or_else(|| snapshot_err("a snapshot to install was never begun"))?;
        let mut file = *snapshot;
        file.flush().await.map_err(snapshot_err)?;
        let file = file.into_std().await;
        let (store, snapshots, cluster) = (
            self.store.clone(),
            self.snapshots.clone(),
            self.cluster.clone(),
        );
        let meta = meta.clone();
        let installed = tokio::task::spawn_blocking(move || {
            install_received(&store, &snapshots, &cluster, &meta, file, &path).inspect_err(|_| {
                let _ = std::fs::remove_file(&path);
            })
        })
        .await
        .map_err(snapshot_err)?;
        installed
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let Some(current) = self.snapshots.current() else {
            return Ok(None);
        };
        let file = tokio::fs::File::open(&current.path)
            .await
            .map_err(|e| sm_read(e))?;
        Ok(Some(Snapshot {
            meta: current.meta,
            snapshot: Box::new(file),
        }))
    }
}

/// Installs the snapshot received into `file` (at `path`): checked whole, kept
/// as this node's newest snapshot, then loaded into the store. A crash during
/// the load is finished at the next start ([`finish_interrupted_install`]).
fn install_received(
    store: &Store,
    snapshots: &SnapshotFiles,
    cluster: &ClusterTag,
    meta: &SnapshotMeta,
    file: std::fs::File,
    path: &Path,
) -> Result<(), StorageError> {
    // The file openraft wrote (write-only: synced through it, read by path); a
    // snapshot handed over otherwise (another handle, as openraft's own tests
    // do) is copied there first.
    if same_file(&file, path).map_err(snapshot_err)? {
        file.sync_all().map_err(snapshot_err)?;
    } else {
        copy_into(file, path).map_err(snapshot_err)?;
    }
    let reader = std::fs::File::open(path).map_err(snapshot_err)?;
    let len = reader.metadata().map_err(snapshot_err)?.len();
    let started = std::time::Instant::now();
    let facts = SnapshotFacts::of_reader(reader, len)?;
    let checked = started.elapsed();
    let (last, _) = facts.state()?;
    // A snapshot of another cluster (a misrouted peer, a copied data dir) would
    // turn this node into that cluster's replica: refused, nothing written.
    if let (Some(ours), Some(theirs)) = (cluster.get(), facts.cluster()?) {
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
    // Read again from the start by a second handle, which stays readable if the
    // save below removes the file (a newer snapshot is saved already).
    let reader = std::fs::File::open(path).map_err(snapshot_err)?;
    // The file first: after a crash during the load, the node loads it again
    // at its next start; the other order could leave a file older than the
    // purged log.
    snapshots.save(meta, path, len).map_err(snapshot_err)?;
    store.load_snapshot(reader).map_err(snapshot_err)?;
    tracing::info!(
        snapshot = %meta.snapshot_id,
        bytes = len,
        checked_ms = checked.as_millis() as u64,
        loaded_ms = (started.elapsed() - checked).as_millis() as u64,
        "installed a snapshot from the leader"
    );
    Ok(())
}

fn same_file(file: &std::fs::File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (file.metadata()?, std::fs::metadata(path)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// Copies the whole of `from` into the file at `path`, synced.
fn copy_into(mut from: std::fs::File, path: &Path) -> std::io::Result<()> {
    use std::io::Seek;
    from.seek(std::io::SeekFrom::Start(0))?;
    let mut to = std::fs::File::create(path)?;
    std::io::copy(&mut from, &mut to)?;
    to.sync_all()
}

/// At start: a store whose snapshot install stopped half way (a crash) loads
/// the saved snapshot again, which was kept before the load began.
pub(crate) fn finish_interrupted_install(
    store: &Store,
    snapshots: &SnapshotFiles,
) -> Result<(), String> {
    if !store
        .snapshot_install_interrupted()
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let current = snapshots.current().ok_or(
        "the state was being replaced by a snapshot when the node stopped, and that \
         snapshot's file is gone: this data dir cannot be trusted. Move it away and add \
         the node back to the cluster empty (it receives the state from the leader)",
    )?;
    tracing::warn!(snapshot = %current.meta.snapshot_id, "a snapshot install was interrupted; loading it again");
    SnapshotFacts::of_file(&current.path).map_err(|e| {
        format!(
            "the snapshot {} whose install was interrupted is damaged ({e}): move the data \
             dir away and add the node back to the cluster empty",
            current.path.display()
        )
    })?;
    let reader = std::fs::File::open(&current.path).map_err(|e| e.to_string())?;
    store.load_snapshot(reader).map_err(|e| e.to_string())
}

/// Builds snapshots from a consistent view of the store, concurrently with apply,
/// into a file.
pub struct SnapshotBuilder {
    store: Arc<Store>,
    snapshots: SnapshotFiles,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (store, snapshots) = (self.store.clone(), self.snapshots.clone());
        let path = snapshots.temp("building");
        let written = path.clone();
        let built = tokio::task::spawn_blocking(move || build(&store, &snapshots, &written))
            .await
            .map_err(snapshot_err)?;
        if built.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        let (meta, file, bytes) = built?;
        tracing::info!(snapshot = %meta.snapshot_id, bytes, "built a snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        })
    }
}

/// Writes the store's snapshot into `path` and saves it; answers its metadata,
/// the file open for reading, and its length.
fn build(
    store: &Store,
    snapshots: &SnapshotFiles,
    path: &Path,
) -> Result<(SnapshotMeta, std::fs::File, u64), StorageError> {
    let file = std::fs::File::create(path).map_err(snapshot_err)?;
    let mut facts = SnapshotFacts::default();
    let bytes = store
        .export_snapshot_to(SyncedAsWritten::new(&file), |record| facts.see(record))
        .map_err(snapshot_err)?;
    file.sync_all().map_err(snapshot_err)?;
    // The log id and membership come from the exported records themselves, so
    // they describe exactly the state inside the snapshot.
    let (last_log_id, last_membership) = facts.state()?;
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
    // Opened before the save, which may remove the file (a newer one is kept).
    let reader = std::fs::File::open(path).map_err(snapshot_err)?;
    snapshots.save(&meta, path, bytes).map_err(snapshot_err)?;
    Ok((meta, reader, bytes))
}

/// Bytes written to a file between two syncs of its data.
const SYNC_EVERY: usize = 8 << 20;

/// Writes to a file and syncs its data every [`SYNC_EVERY`] bytes. A snapshot
/// of hundreds of MiB left to the page cache and synced at its end made the
/// disk write all of it at once, and the log's own fsyncs (every Raft append)
/// waited behind it for long enough to cost elections.
struct SyncedAsWritten<'a> {
    file: &'a std::fs::File,
    unsynced: usize,
}

impl<'a> SyncedAsWritten<'a> {
    fn new(file: &'a std::fs::File) -> SyncedAsWritten<'a> {
        SyncedAsWritten { file, unsynced: 0 }
    }
}

impl std::io::Write for SyncedAsWritten<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = std::io::Write::write(&mut self.file, bytes)?;
        self.unsynced += written;
        if self.unsynced >= SYNC_EVERY {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_state::Command;
    use openraft::CommittedLeaderId;

    /// A store that has applied one entry at `index`, setting a pool.
    fn store_at(dir: &Path, index: u64) -> Store {
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
        store
    }

    #[test]
    fn a_built_snapshot_names_its_own_state_and_installs_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let source = store_at(&dir.path().join("a"), 9);
        let files = SnapshotFiles::open(&dir.path().join("snapshots-a")).unwrap();
        let path = files.temp("building");
        let (meta, _, bytes) = build(&source, &files, &path).unwrap();
        assert_eq!(meta.snapshot_id, "1-1-9");
        let current = files.current().expect("saved");
        assert_eq!(std::fs::metadata(&current.path).unwrap().len(), bytes);

        // Received by another node, into its own directory.
        let target = store_at(&dir.path().join("b"), 4);
        let theirs = SnapshotFiles::open(&dir.path().join("snapshots-b")).unwrap();
        let received = theirs.temp("receiving");
        std::fs::copy(&current.path, &received).unwrap();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&received)
            .unwrap();
        install_received(
            &target,
            &theirs,
            &ClusterTag::in_memory(None),
            &meta,
            file,
            &received,
        )
        .unwrap();
        assert_eq!(target.digest().unwrap(), source.digest().unwrap());
        assert_eq!(theirs.current().unwrap().meta, meta);
    }

    #[test]
    fn an_interrupted_install_is_finished_from_the_saved_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let source = store_at(&dir.path().join("a"), 9);
        let files = SnapshotFiles::open(&dir.path().join("snapshots")).unwrap();
        let path = files.temp("building");
        build(&source, &files, &path).unwrap();
        let target = store_at(&dir.path().join("b"), 4);
        // A load cut short: the marker is set, only part of the records are in.
        let data = std::fs::read(&files.current().unwrap().path).unwrap();
        let cut = &data[..data.len() - 40];
        assert!(target.load_snapshot(cut).is_err());
        assert!(target.snapshot_install_interrupted().unwrap());
        finish_interrupted_install(&target, &files).unwrap();
        assert!(!target.snapshot_install_interrupted().unwrap());
        assert_eq!(target.digest().unwrap(), source.digest().unwrap());
        // With the snapshot file gone, the node refuses to go on, and says why.
        assert!(target.load_snapshot(cut).is_err());
        std::fs::remove_file(files.current().unwrap().path).unwrap();
        let error = finish_interrupted_install(&target, &files).unwrap_err();
        assert!(error.contains("add the node back"), "{error}");
    }
}
