//! Restoring a node from a backup: a data dir made from a snapshot file (as
//! `GET /cluster/snapshot` or `kairos snapshot save` wrote it) that starts as
//! a cluster of one holding the backup's state, so that the other nodes are
//! added to it empty and receive that state.
//!
//! The state keeps its log position: the node's log starts after the
//! snapshot's last index (openraft treats the snapshot as the purged part of
//! the log), its vote is the snapshot's term, and its membership is this node
//! alone. Attempt tokens and timers named by log indexes stay unique, and the
//! cluster id (which certificates name) is the backup's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kairos_state::{EntryToApply, Store};
use openraft::storage::RaftLogStorage;
use openraft::{Membership, Vote};

use crate::identity;
use crate::log_store::LogStore;
use crate::state_machine::{LAST_APPLIED, MEMBERSHIP, SnapshotFacts};
use crate::types::{KairosNode, LogId, NodeId, StoredMembership};

/// What a restore made.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The last log entry the backup's state holds.
    pub last_log_id: LogId,
    pub cluster_id: Option<String>,
}

/// Makes `data_dir` (absent or empty) the data of node `id`, reached at `me`,
/// holding the state of the snapshot file `snapshot` (read as a stream, never
/// whole in memory). Nothing is left behind when it fails.
pub async fn restore(
    data_dir: &Path,
    id: NodeId,
    me: KairosNode,
    snapshot: &Path,
) -> Result<Restored, String> {
    if let Ok(mut entries) = std::fs::read_dir(data_dir) {
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty: a node is restored into a new data dir (move the old one away)",
                data_dir.display()
            ));
        }
    }
    let facts = SnapshotFacts::of_file(snapshot).map_err(|e| {
        format!(
            "{} is not a Kairos snapshot (as `kairos snapshot save` writes): {e}",
            snapshot.display()
        )
    })?;
    let (last, _) = facts.state().map_err(|e| e.to_string())?;
    let last = last.ok_or("the snapshot holds no applied entry: nothing to restore")?;
    let cluster_id = facts.cluster().map_err(|e| e.to_string())?;
    let made = make(data_dir, id, me, snapshot, last, cluster_id.as_deref()).await;
    if made.is_err() {
        let _ = std::fs::remove_dir_all(data_dir);
    }
    made.map(|()| Restored {
        last_log_id: last,
        cluster_id,
    })
}

async fn make(
    data_dir: &Path,
    id: NodeId,
    me: KairosNode,
    snapshot: &Path,
    last: LogId,
    cluster_id: Option<&str>,
) -> Result<(), String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot make {}: {e}", data_dir.display()))?;
    identity::claim(data_dir, id, cluster_id).map_err(|e| e.to_string())?;
    let store = Store::open(&data_dir.join("state")).map_err(|e| e.to_string())?;
    // The whole state (its checksum was checked above), then this node as the
    // only member.
    let reader = std::fs::File::open(snapshot)
        .map_err(|e| format!("cannot read {}: {e}", snapshot.display()))?;
    store
        .load_snapshot(reader)
        .map_err(|e| format!("the snapshot does not install: {e}"))?;
    let membership = Membership::new(vec![BTreeSet::from([id])], BTreeMap::from([(id, me)]));
    let stored = StoredMembership::new(Some(last), membership);
    store
        .apply(&[EntryToApply {
            index: last.index,
            batch: None,
            raft_meta: vec![
                (LAST_APPLIED.to_string(), json(&Some(last))?),
                (MEMBERSHIP.to_string(), json(&stored)?),
            ],
        }])
        .map_err(|e| e.to_string())?;
    drop(store);
    // The log: empty up to the snapshot, and a vote in its term, so that the
    // node's first election is for a later term than any entry it holds.
    let mut log = LogStore::open(&data_dir.join("raft-log")).map_err(|e| e.to_string())?;
    log.save_vote(&Vote::new(last.leader_id.term, id))
        .await
        .map_err(|e| e.to_string())?;
    log.purge(last).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// JSON, as the state machine writes the Raft glue's records.
fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| e.to_string())
}
