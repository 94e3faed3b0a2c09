//! The live workers, which only the leader knows (they register with it and
//! heartbeat to it): the leader answers from its memory; a follower asks the
//! leader, so any node's `GET /workers` and cluster page show them.

use crate::leader::Leader;
use crate::node::{Node, NodeError};
use kairos_api::WorkerView;
use kairos_state::Query;

pub async fn workers(node: &Node, leader: &Leader) -> Result<Vec<WorkerView>, NodeError> {
    if leader.is_leading() {
        return Ok(leader.worker_views());
    }
    let Some((_, addr)) = node.leader_route() else {
        return Err(NodeError::Unavailable(
            "no leader is known, and only the leader knows the workers".into(),
        ));
    };
    let answer = node
        .forwarder()
        .query_node(&addr, &Query::Workers, false)
        .await
        .map_err(|e| NodeError::Unavailable(format!("the leader at {addr}: {e}")))?;
    serde_json::from_value(answer)
        .map_err(|e| NodeError::Internal(format!("the leader's list of workers: {e}")))
}
