//! "Why is my task not running?": the state machine's explanation of a task
//! instance, completed by what only the leader knows (whether a live worker serves
//! its queue). A follower asks the leader for the whole answer, and falls back to
//! its own with a note when the leader cannot be reached.

use kairos_state::engine::explain::Explanation;
use kairos_state::{Query, TaskInstanceKey};

use crate::leader::Leader;
use crate::node::{Consistency, Node, NodeError};

pub async fn explain(
    node: &Node,
    leader: &Leader,
    ti: &TaskInstanceKey,
    consistency: Consistency,
) -> Result<Explanation, NodeError> {
    if leader.is_leading() {
        let mut explanation = read(node, ti, consistency).await?;
        leader.explain_workers(&mut explanation);
        return Ok(explanation);
    }
    let Some((_, addr)) = node.leader_route() else {
        return read(node, ti, consistency).await;
    };
    let query = Query::Explain { ti: ti.clone() };
    let asked = node
        .forwarder()
        .query_node(&addr, &query, consistency == Consistency::Linearizable)
        .await;
    match asked {
        Ok(answer) => serde_json::from_value(answer).map_err(|e| {
            NodeError::Internal(format!("the leader's explanation could not be read: {e}"))
        }),
        Err(error) => {
            let mut explanation = read(node, ti, consistency).await?;
            explanation.reasons.push(format!(
                "(the leader at {addr} could not be asked which workers are live: {error})"
            ));
            Ok(explanation)
        }
    }
}

async fn read(
    node: &Node,
    ti: &TaskInstanceKey,
    consistency: Consistency,
) -> Result<Explanation, NodeError> {
    let ti = ti.clone();
    node.read(consistency, move |store| store.explain(&ti))
        .await
}
