//! Who calls the worker service, and what it may do as that caller. With mutual
//! TLS the worker id is the one its certificate names, and a request made for
//! another worker id is refused; on a plain-text (`--insecure`) server there is
//! no proof, and the request's own worker id is taken at its word.

use kairos_state::TaskInstanceKey;
use kairos_state::records::DagCallbackState;
use tonic::{Request, Status};

use kairos_dag::lifecycle::TaskInstanceState;
use kairos_proto::v1::AttemptRef;

use crate::node::Node;

/// The worker id the transport proved, if the server checks certificates.
/// The Worker service takes only worker certificates (`crate::grpc::authz`), so
/// over TLS this is always `Some`.
pub(super) fn proven_worker<T>(request: &Request<T>) -> Result<Option<String>, Status> {
    Ok(crate::grpc::authz::worker_id(request))
}

/// The worker a request acts as: the certificate's, which must be the one the
/// request names.
pub(super) fn acting_as(proven: &Option<String>, claimed: &str) -> Result<String, Status> {
    match proven {
        Some(id) if id != claimed => Err(Status::permission_denied(format!(
            "this certificate is worker `{id}`'s; it cannot act as worker `{claimed}`"
        ))),
        Some(id) => Ok(id.clone()),
        None => Ok(claimed.to_string()),
    }
}

/// An attempt the caller holds: `by` names the attempt's task instance and token,
/// the token is that instance's current attempt's, the attempt was handed to this
/// worker, and it runs; or, with an empty task id, the run's DAG callbacks this
/// worker took with that token and runs. Anything else is refused without saying
/// which part failed for whom (a refusal must not help guess a token).
pub(super) fn held(
    node: &Node,
    proven: &Option<String>,
    by: Option<AttemptRef>,
) -> Result<TaskInstanceKey, Status> {
    let by = by.ok_or_else(|| {
        Status::invalid_argument(
            "name the attempt this read is for (`by`: its task instance, token and worker)",
        )
    })?;
    let worker = acting_as(proven, &by.worker_id)?;
    let ti: TaskInstanceKey = by
        .ti
        .map(TaskInstanceKey::from)
        .ok_or_else(|| Status::invalid_argument("`by` names no task instance"))?;
    if ti.task_id.is_empty() {
        let callback = node.read_now(|store| store.dag_callback(&ti.dag_id, &ti.run_id))?;
        return match callback {
            Some(c)
                if c.state == DagCallbackState::Running
                    && c.token.as_deref() == Some(by.attempt.as_str())
                    && c.worker.as_deref() == Some(worker.as_str()) =>
            {
                Ok(ti)
            }
            _ => Err(Status::permission_denied(format!(
                "worker `{worker}` runs no DAG callbacks of run {}/{} with that token",
                ti.dag_id, ti.run_id
            ))),
        };
    }
    let record = node.read_now(|store| store.task_instance(&ti))?;
    let holds = record.as_ref().is_some_and(|r| {
        r.attempt.as_deref() == Some(by.attempt.as_str())
            && r.worker.as_deref() == Some(worker.as_str())
            && matches!(
                r.state,
                TaskInstanceState::Running | TaskInstanceState::Restarting
            )
    });
    match record {
        Some(_) if holds => Ok(ti),
        _ => Err(Status::permission_denied(format!(
            "worker `{worker}` holds no running attempt of task instance {ti} with that token; \
             a worker reads only for the attempts it runs"
        ))),
    }
}

/// The team of DAG `dag_id` (`None`: no team, or no such DAG).
pub(super) fn team_of(node: &Node, dag_id: &str) -> Result<Option<String>, Status> {
    Ok(node
        .read_now(|store| store.dag(dag_id))?
        .and_then(|dag| dag.team))
}

/// Whether an attempt of DAG `from` may reach DAG `to` (sense its runs, trigger
/// it): both of one team, or both of none. Another team's DAG is answered as
/// absent, as the REST API answers it.
pub(super) fn same_team(node: &Node, from: &str, to: &str) -> Result<bool, Status> {
    Ok(from == to || team_of(node, from)? == team_of(node, to)?)
}
