//! What every worker call checks first: that this node is the ready leader (else
//! who is, in the `kairos-leader` metadata workers follow), that the worker is
//! registered; and how a failed proposal is told to a worker.

use kairos_state::Command;
use tonic::Status;

use crate::leader::Leader;
use crate::leader::workers::WorkerInfo;
use crate::node::{Committed, NodeError};

/// Refuses calls on a node that is not the ready leader, naming the leader.
pub(super) fn check_leader(s: &Leader) -> Result<(), Status> {
    if s.is_leading() {
        return Ok(());
    }
    let leader = s.leader_addr();
    let mut status = Status::unavailable(match &leader {
        Some(addr) => format!("this node is not the leader; the leader is {addr}"),
        None => "this node is not the leader and no leader is known yet; retry".to_string(),
    });
    if let Some(value) = leader.and_then(|addr| addr.parse().ok()) {
        status
            .metadata_mut()
            .insert(kairos_proto::metadata::LEADER, value);
    }
    Err(status)
}

/// The registered worker `id` (heard from now).
pub(super) fn known_worker(s: &Leader, id: &str) -> Result<WorkerInfo, Status> {
    s.with_workers(|w| w.touch(id)).ok_or_else(|| {
        Status::failed_precondition(format!(
            "worker `{id}` is not registered with this leader; call Register first"
        ))
    })
}

/// Proposes as the leader; a worker is pointed at the new leader when this node
/// lost leadership meanwhile.
pub(super) async fn propose(s: &Leader, commands: Vec<Command>) -> Result<Committed, Status> {
    s.node
        .propose_here(commands)
        .await
        .map_err(|e| propose_error(s, e))
}

pub(super) fn propose_error(s: &Leader, error: NodeError) -> Status {
    match error {
        NodeError::Unavailable(_) if !s.node.is_leader() => check_leader(s)
            .err()
            .unwrap_or_else(|| Status::unavailable("leadership changed; retry")),
        NodeError::Unavailable(message) | NodeError::Unknown(message) => {
            Status::unavailable(format!("{message}; retry"))
        }
        other => other.into(),
    }
}
