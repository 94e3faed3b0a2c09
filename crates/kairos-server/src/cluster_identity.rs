//! Naming the cluster once, and every node learning the name.
//!
//! The first leader of a cluster without an id proposes `SetClusterId`: the id its
//! certificate names, or, for an `--insecure` cluster, 64 random bits. Every node,
//! once the id is applied on it, records it in its data dir (`identity.json`), and
//! from then on refuses Raft calls, snapshots and joins of another cluster.

use std::time::Duration;

use kairos_state::Command;

use crate::node::Node;

/// How long to wait for an apply before looking again (leadership may change
/// without one).
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Runs until this node has recorded the cluster's id.
pub fn spawn(node: Node) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut applied = node.applied();
        loop {
            match step(&node).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!("the cluster id: {e}"),
            }
            let _ = tokio::time::timeout(LOOK_EVERY, applied.changed()).await;
        }
    })
}

/// One look: true once the id is applied and recorded here.
async fn step(node: &Node) -> Result<bool, String> {
    let tag = node.cluster();
    match node
        .read_now(|store| store.cluster_id())
        .map_err(|e| e.to_string())?
    {
        Some(named) => {
            if let Err(e) = tag.learn(&named) {
                // Only a node that joined another cluster's log gets here: Raft
                // calls of another cluster are refused, so say it loudly.
                tracing::error!("{e}");
                return Err(e.to_string());
            }
            tracing::info!(cluster_id = %named, "this node belongs to cluster {named}");
            Ok(true)
        }
        None if node.is_leader() => {
            let id = match tag.get() {
                Some(id) => id,
                // The same form `kairos certs init` draws a CA's cluster id in.
                None => kairos_tls::issue::new_cluster_id().map_err(|e| e.to_string())?,
            };
            node.propose_here(vec![Command::SetClusterId { cluster_id: id }])
                .await
                .map_err(|e| e.to_string())?;
            Ok(false)
        }
        None => Ok(false),
    }
}
