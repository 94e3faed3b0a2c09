//! One Raft member: its stores, openraft, and the proposer, started together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kairos_state::Store;
use openraft::{Config, SnapshotPolicy};

use crate::identity::{self, ClusterTag};
use crate::log_store::{LogStore, has_state};
use crate::network::Network;
use crate::proposer::Proposer;
use crate::state_machine::StateMachine;
use crate::types::{NodeId, Raft};

/// Raft's timing and log-compaction settings.
#[derive(Debug, Clone)]
pub struct RaftSettings {
    /// How often the leader sends heartbeats. openraft looks at its timers every
    /// 1.5 heartbeats, so heartbeats leave every 1.5x this, and an election is
    /// noticed up to that much late.
    pub heartbeat: Duration,
    /// openraft draws one timeout in this range when a node starts and keeps it.
    /// A follower that had a leader stands after that timeout plus the range's
    /// maximum (openraft's leader lease: it does not vote while a live leader
    /// may still be talking to it) without hearing from the leader. So a dead
    /// leader is noticed after 1.5x to 2x the maximum, plus up to one timer
    /// tick: 0.30 to 0.48 s with the defaults. A candidate refused for a shorter
    /// log waits twice the maximum more, and two candidates of one term both
    /// stand again: the slower failovers. Keep the low end at least ten times
    /// the disk's fsync latency, and well above scheduling hiccups of a loaded
    /// machine, or elections flap (the bench counts elections under load).
    pub election_timeout: (Duration, Duration),
    /// Build a snapshot after this many entries since the last one.
    pub snapshot_every: u64,
    /// Entries kept behind a snapshot, so that a briefly lagging follower can catch up
    /// from the log instead of needing the whole snapshot.
    pub keep_behind_snapshot: u64,
    /// Where this node reaches a peer when not at the address the membership names
    /// (a NAT, or a proxy on each link: the chaos suite partitions the cluster so).
    /// Raft's RPCs and forwarded requests use it; the membership is unchanged.
    pub peer_routes: BTreeMap<NodeId, String>,
    /// The cluster id this node's certificate names, if it has one: the data dir
    /// must be of that cluster (see [`crate::identity`]).
    pub cluster_id: Option<String>,
    /// This node's certificate, presented on every call to a peer (Raft and
    /// forwarded requests); `None` only with `--insecure`.
    pub tls: Option<kairos_tls::Tls>,
    /// How this node writes its log entries and Raft messages (it reads every
    /// format): binary, or JSON while nodes of a version before the binary
    /// format remain in the cluster (they read only JSON).
    pub format: crate::codec::Format,
}

impl Default for RaftSettings {
    fn default() -> RaftSettings {
        RaftSettings {
            // Also openraft's deadline for an AppendEntries: 30 ms cost bash
            // throughput under load (468 vs 511 TIs/s in the bench, the same
            // build one run after the other) for about 10 ms of failover.
            heartbeat: Duration::from_millis(50),
            // A follower waits the maximum (openraft's leader lease) plus its
            // timeout in the range before it stands: 0.3 to 0.4 s of silence
            // (4 to 5 heartbeats, sent every 75 ms), so that a killed leader's
            // next task starts within half a second (the failover benchmark).
            // Was 200-400 ms: 0.6 to 0.8 s of silence.
            election_timeout: (Duration::from_millis(100), Duration::from_millis(200)),
            snapshot_every: 5000,
            keep_behind_snapshot: 1000,
            peer_routes: BTreeMap::new(),
            cluster_id: None,
            tls: None,
            format: crate::codec::Format::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data dir {path}: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot open the Raft log in {path}: {error}")]
    Log { path: PathBuf, error: String },
    #[error("cannot open the state store in {path}: {error}")]
    State { path: PathBuf, error: String },
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error("invalid Raft settings: {0}")]
    Config(String),
    #[error("Raft failed to start: {0}")]
    Raft(String),
}

/// A running Raft member.
#[derive(Clone)]
pub struct RaftNode {
    pub id: NodeId,
    pub raft: Raft,
    pub store: Arc<Store>,
    pub proposer: Proposer,
    /// The last applied index, changed after every apply.
    pub applied: tokio::sync::watch::Receiver<u64>,
    /// [`RaftSettings::peer_routes`].
    pub peer_routes: Arc<BTreeMap<NodeId, String>>,
    /// The cluster this node belongs to, once known.
    pub cluster: ClusterTag,
    /// [`RaftSettings::tls`].
    pub tls: Option<kairos_tls::Tls>,
    log: LogStore,
}

impl RaftNode {
    /// Opens `data_dir` (creating it on first start) and starts Raft. A node that has
    /// been part of a cluster resumes from its data; a new one waits to be initialized
    /// or added.
    pub async fn start(
        id: NodeId,
        data_dir: &Path,
        settings: &RaftSettings,
        observer: Arc<dyn crate::NodeObserver>,
    ) -> Result<RaftNode, StartError> {
        std::fs::create_dir_all(data_dir).map_err(|error| StartError::DataDir {
            path: data_dir.to_path_buf(),
            error,
        })?;
        let cluster = identity::claim(data_dir, id, settings.cluster_id.as_deref())?;
        let log_path = data_dir.join("raft-log");
        let log = LogStore::open(&log_path)
            .map_err(|e| StartError::Log {
                path: log_path.clone(),
                error: with_lock_hint(e.to_string()),
            })?
            .writing(settings.format, observer.clone());
        let state_path = data_dir.join("state");
        let store = Arc::new(Store::open(&state_path).map_err(|e| StartError::State {
            path: state_path.clone(),
            error: with_lock_hint(e.to_string()),
        })?);
        // The replicated state names the cluster too (a snapshot carries it): a data
        // dir whose state is another cluster's is refused like its identity file.
        if let Ok(Some(named)) = store.cluster_id() {
            cluster.learn(&named)?;
        }
        let (applied_tx, applied) = tokio::sync::watch::channel(0);
        let state_machine = StateMachine::new(
            store.clone(),
            &data_dir.join("snapshots"),
            applied_tx,
            observer.clone(),
            cluster.clone(),
        )
        .map_err(|error| StartError::DataDir {
            path: data_dir.join("snapshots"),
            error,
        })?;
        let config = Config {
            cluster_name: "kairos".to_string(),
            heartbeat_interval: settings.heartbeat.as_millis() as u64,
            election_timeout_min: settings.election_timeout.0.as_millis() as u64,
            election_timeout_max: settings.election_timeout.1.as_millis() as u64,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(settings.snapshot_every),
            max_in_snapshot_log_to_keep: settings.keep_behind_snapshot,
            install_snapshot_timeout: 10_000,
            // With entries of at most 1 MiB (the proposer's cap), an AppendEntries
            // stays well under the 64 MiB gRPC message limit.
            max_payload_entries: 32,
            ..Config::default()
        }
        .validate()
        .map_err(|e| StartError::Config(e.to_string()))?;
        let raft = Raft::new(
            id,
            Arc::new(config),
            Network::with_routes(
                settings.peer_routes.clone(),
                cluster.clone(),
                settings.tls.clone(),
            )
            .writing(settings.format),
            log.clone(),
            state_machine,
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let proposer = Proposer::start(raft.clone(), observer);
        Ok(RaftNode {
            id,
            raft,
            store,
            proposer,
            applied,
            peer_routes: Arc::new(settings.peer_routes.clone()),
            cluster,
            tls: settings.tls.clone(),
            log,
        })
    }

    /// Whether this node has a vote or log on disk: such a node belongs to a cluster
    /// already and must never be initialized again.
    pub fn has_raft_state(&self) -> bool {
        has_state(&self.log).unwrap_or(true)
    }

    /// Stops Raft and makes the state machine's writes durable.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("Raft did not stop cleanly: {e}");
        }
        if let Err(e) = self.store.sync() {
            tracing::warn!("could not sync the state store: {e}");
        }
    }
}

/// RocksDB's "lock" error means another process has the data dir open.
fn with_lock_hint(error: String) -> String {
    if error.contains("lock") {
        format!("{error} (is another kairos server using this data dir?)")
    } else {
        error
    }
}
