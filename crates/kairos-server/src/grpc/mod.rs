//! The gRPC services a node serves besides Raft's own (`kairos_raft::service`):
//! `cluster`, the remote form of [`crate::node::Node`], and `worker`, the worker
//! protocol. Each is an adapter: it decodes, calls the node or the leader's state,
//! and encodes.

pub mod authz;
pub mod cluster;
pub mod worker;
pub mod worker_auth;

/// The wire's name of try `try_number` of `ti`'s log.
pub(crate) fn log_key_of(
    ti: &kairos_dag::identity::TaskInstanceKey,
    try_number: u32,
) -> kairos_proto::v1::LogKey {
    kairos_proto::v1::LogKey {
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
        task_id: ti.task_id.clone(),
        map_index: ti.map_index,
        try_number,
    }
}

/// A log key off the wire: the task instance and its try.
pub(crate) fn log_key(
    key: Option<kairos_proto::v1::LogKey>,
) -> Result<(kairos_dag::identity::TaskInstanceKey, u32), tonic::Status> {
    let key = key.ok_or_else(|| tonic::Status::invalid_argument("no log key"))?;
    if key.dag_id.is_empty()
        || key.run_id.is_empty()
        || key.task_id.is_empty()
        || key.try_number == 0
    {
        return Err(tonic::Status::invalid_argument(
            "a log key names a DAG, a run, a task and a try (from 1)",
        ));
    }
    Ok((
        kairos_dag::identity::TaskInstanceKey::new(
            key.dag_id,
            key.run_id,
            key.task_id,
            key.map_index,
        ),
        key.try_number,
    ))
}
