//! Which node a data dir belongs to, and of which cluster, so that a copied data
//! dir or a wrong `--node-id` is refused at start instead of confusing Raft (a
//! node answering votes under another node's id rewrites what that node promised).
//!
//! `identity.json` in the data dir holds the node id from the first start and the
//! cluster id once the node knows it (from its certificate, or from the replicated
//! state when the first leader named the cluster). The same cluster id travels
//! with every Raft call a node makes (`kairos-cluster-id`, as etcd's peers send
//! `X-Etcd-Cluster-ID`), and a node refuses calls and snapshots of another cluster.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::types::NodeId;

/// The file in the data dir.
pub const IDENTITY_FILE: &str = "identity.json";
/// The gRPC metadata key a Raft call carries its sender's cluster id in.
pub const CLUSTER_HEADER: &str = "kairos-cluster-id";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IdentityRecord {
    node_id: NodeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster_id: Option<String>,
}

/// Why a node may not start on a data dir.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "the data dir {dir} belongs to node {found} ({file}), but this server was started with --node-id {given}: start it with --node-id {found}, or give node {given} its own, empty data dir"
    )]
    OtherNode {
        dir: PathBuf,
        file: PathBuf,
        found: NodeId,
        given: NodeId,
    },
    #[error(
        "the data dir {dir} belongs to cluster `{found}` ({file}), but {source_of_given} says this node is of cluster `{given}`: use this cluster's certificates, or give the node an empty data dir to join cluster `{given}`"
    )]
    OtherCluster {
        dir: PathBuf,
        file: PathBuf,
        found: String,
        given: String,
        source_of_given: String,
    },
    #[error("cannot read or write {file}: {problem}")]
    File { file: PathBuf, problem: String },
}

/// The cluster id this node knows, shared by the Raft client (which sends it) and
/// the Raft service (which checks it), and written to the data dir when learnt.
#[derive(Clone, Debug)]
pub struct ClusterTag {
    inner: Arc<RwLock<Option<String>>>,
    file: Option<(PathBuf, NodeId)>,
}

impl ClusterTag {
    /// A tag kept in memory only (tests).
    pub fn in_memory(cluster_id: Option<String>) -> ClusterTag {
        ClusterTag {
            inner: Arc::new(RwLock::new(cluster_id)),
            file: None,
        }
    }

    /// The cluster id, once known.
    pub fn get(&self) -> Option<String> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Records the cluster id once it is known (the replicated state named it).
    /// Learning the id already known changes nothing; another one is refused.
    pub fn learn(&self, cluster_id: &str) -> Result<(), IdentityError> {
        let mut current = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match current.as_deref() {
            Some(known) if known == cluster_id => return Ok(()),
            Some(known) => {
                let (file, _) = self.file.clone().unwrap_or_default();
                return Err(IdentityError::OtherCluster {
                    dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
                    file,
                    found: known.to_string(),
                    given: cluster_id.to_string(),
                    source_of_given: "the replicated state".into(),
                });
            }
            None => {}
        }
        if let Some((file, node_id)) = &self.file {
            write(
                file,
                &IdentityRecord {
                    node_id: *node_id,
                    cluster_id: Some(cluster_id.to_string()),
                },
            )?;
        }
        *current = Some(cluster_id.to_string());
        Ok(())
    }

    /// Puts this node's cluster id on an outgoing Raft call.
    pub fn stamp<T>(&self, request: &mut tonic::Request<T>) {
        if let Some(id) = self.get() {
            if let Ok(value) = id.parse() {
                request.metadata_mut().insert(CLUSTER_HEADER, value);
            }
        }
    }

    /// Refuses a Raft call sent by a node of another cluster. A call without the
    /// header (a node that does not know its cluster yet) passes: with mutual TLS
    /// the certificate names the sender's cluster as well.
    pub fn admit<T>(&self, request: &tonic::Request<T>) -> Result<(), tonic::Status> {
        let Some(theirs) = request.metadata().get(CLUSTER_HEADER) else {
            return Ok(());
        };
        let theirs = theirs.to_str().unwrap_or("(not text)");
        match self.get() {
            Some(ours) if ours != theirs => Err(tonic::Status::permission_denied(format!(
                "this node belongs to cluster `{ours}`; the call came from a node of cluster `{theirs}`"
            ))),
            _ => Ok(()),
        }
    }
}

/// Checks that `data_dir` is node `node_id`'s (of cluster `cluster_id` when the
/// certificate names one) and records what it did not know yet. A data dir that
/// holds Raft state but no identity file (made before identities) is adopted.
pub fn claim(
    data_dir: &Path,
    node_id: NodeId,
    cluster_id: Option<&str>,
) -> Result<ClusterTag, IdentityError> {
    let file = data_dir.join(IDENTITY_FILE);
    let found = read(&file)?;
    if let Some(found) = &found {
        if found.node_id != node_id {
            return Err(IdentityError::OtherNode {
                dir: data_dir.to_path_buf(),
                file,
                found: found.node_id,
                given: node_id,
            });
        }
    }
    let recorded = found.as_ref().and_then(|f| f.cluster_id.clone());
    let known = match (recorded, cluster_id) {
        (Some(found), Some(given)) if found != given => {
            return Err(IdentityError::OtherCluster {
                dir: data_dir.to_path_buf(),
                file,
                found,
                given: given.to_string(),
                source_of_given: "its certificate".into(),
            });
        }
        (Some(found), _) => Some(found),
        (None, given) => given.map(str::to_string),
    };
    let record = IdentityRecord {
        node_id,
        cluster_id: known.clone(),
    };
    if found.as_ref() != Some(&record) {
        write(&file, &record)?;
    }
    Ok(ClusterTag {
        inner: Arc::new(RwLock::new(known)),
        file: Some((file, node_id)),
    })
}

fn read(file: &Path) -> Result<Option<IdentityRecord>, IdentityError> {
    let problem = |problem: String| IdentityError::File {
        file: file.to_path_buf(),
        problem,
    };
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| problem(format!("{e} (it should hold {{\"node_id\": N}})"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(problem(e.to_string())),
    }
}

/// Writes the record to a temporary file and renames it over the old one, synced.
fn write(file: &Path, record: &IdentityRecord) -> Result<(), IdentityError> {
    let problem = |e: std::io::Error| IdentityError::File {
        file: file.to_path_buf(),
        problem: e.to_string(),
    };
    let mut bytes = serde_json::to_vec_pretty(record).unwrap_or_default();
    bytes.push(b'\n');
    let temp = file.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut out = std::fs::File::create(&temp).map_err(problem)?;
        out.write_all(&bytes).map_err(problem)?;
        out.sync_all().map_err(problem)?;
    }
    std::fs::rename(&temp, file).map_err(problem)?;
    if let Some(dir) = file.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_keeps_its_node_id() {
        let dir = tempfile::tempdir().unwrap();
        claim(dir.path(), 2, None).unwrap();
        claim(dir.path(), 2, None).unwrap();
        let error = claim(dir.path(), 3, None).unwrap_err().to_string();
        assert!(error.contains("belongs to node 2"), "{error}");
        assert!(error.contains("--node-id 3"), "{error}");
    }

    #[test]
    fn a_data_dir_keeps_its_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let tag = claim(dir.path(), 1, None).unwrap();
        assert_eq!(tag.get(), None);
        tag.learn("aaaa").unwrap();
        tag.learn("aaaa").unwrap();
        assert!(tag.learn("bbbb").is_err());
        // Remembered across restarts, and checked against the certificate's.
        assert_eq!(
            claim(dir.path(), 1, None).unwrap().get().as_deref(),
            Some("aaaa")
        );
        assert!(claim(dir.path(), 1, Some("aaaa")).is_ok());
        let error = claim(dir.path(), 1, Some("bbbb")).unwrap_err().to_string();
        assert!(
            error.contains("cluster `aaaa`") && error.contains("`bbbb`"),
            "{error}"
        );
    }

    #[test]
    fn calls_of_another_cluster_are_refused() {
        let ours = ClusterTag::in_memory(Some("aaaa".into()));
        let theirs = ClusterTag::in_memory(Some("bbbb".into()));
        let unknown = ClusterTag::in_memory(None);
        let call = |tag: &ClusterTag| {
            let mut request = tonic::Request::new(());
            tag.stamp(&mut request);
            request
        };
        assert!(ours.admit(&call(&ours)).is_ok());
        assert!(ours.admit(&call(&unknown)).is_ok());
        assert!(unknown.admit(&call(&theirs)).is_ok());
        let refused = ours.admit(&call(&theirs)).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    }
}
