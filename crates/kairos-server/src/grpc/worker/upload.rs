//! `UploadLog`: a finished attempt's log, chunk by chunk, from the worker that
//! ran it. The leader keeps each chunk (`crate::attempt_logs`) and copies it to
//! the other servers; a chunk is acknowledged once it is on this node and on at
//! least one other (on every one that answered), so losing the worker, or then
//! one server, loses no finished log. Otherwise UNAVAILABLE: the worker sends
//! the chunk again.

use std::time::Duration;

use kairos_proto::v1::{ReportReply, StoreLogRequest, UploadLogRequest};
use tonic::Status;

use super::caller::acting_as;
use super::convert::key_of;
use super::guard::check_leader;
use crate::leader::Leader;

/// The biggest chunk a worker sends.
pub const MAX_CHUNK_BYTES: usize = 1 << 20;

pub(super) async fn upload_log(
    s: &Leader,
    proven: &Option<String>,
    r: UploadLogRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    let ti = key_of(r.ti)?;
    if r.data.len() > MAX_CHUNK_BYTES {
        return Err(Status::invalid_argument(format!(
            "a log chunk is at most {MAX_CHUNK_BYTES} bytes; this one is {}",
            r.data.len()
        )));
    }
    // Only the worker that ran the try, with that try's token.
    let asked = ti.clone();
    let (current, tries) = s
        .node
        .read_now(|store| Ok((store.task_instance(&asked)?, store.tries(&asked)?)))?;
    let ran_it = |try_number: u32, attempt: Option<&str>, by: Option<&str>| {
        try_number == r.try_number
            && attempt == Some(r.attempt.as_str())
            && by == Some(worker.as_str())
    };
    let allowed = tries
        .iter()
        .any(|t| ran_it(t.try_number, t.attempt.as_deref(), t.worker.as_deref()))
        || current
            .as_ref()
            .is_some_and(|t| ran_it(t.try_number, t.attempt.as_deref(), t.worker.as_deref()));
    if !allowed {
        return Err(Status::permission_denied(format!(
            "try {} of {ti} was not run by worker `{worker}` with this attempt token: it cannot send that log",
            r.try_number
        )));
    }
    let logs = s.node.attempt_logs().clone();
    let (key, try_number, offset, last) = (ti.clone(), r.try_number, r.offset, r.last);
    let data = r.data;
    let chunk = data.clone();
    tokio::task::spawn_blocking(move || logs.write(&key, try_number, offset, &chunk, last))
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(Status::invalid_argument)?;
    // The copies, in parallel, to every other member.
    let me = s.node.id();
    let others: Vec<String> = s
        .node
        .status()
        .members
        .into_iter()
        .filter(|m| m.node_id != me)
        .map(|m| m.grpc_addr)
        .collect();
    if others.is_empty() {
        return Ok(stored());
    }
    let request = StoreLogRequest {
        key: Some(crate::grpc::log_key_of(&ti, try_number)),
        offset,
        data,
        last,
    };
    let forwarder = s.node.forwarder();
    let copies = others.iter().map(|addr| {
        let request = request.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(5), forwarder.store_log(addr, request))
                .await
                .map_err(|_| Status::deadline_exceeded("no answer within 5 s"))
                .and_then(|r| r)
                .map_err(|e| format!("{addr}: {}", e.message()))
        }
    });
    let results = futures::future::join_all(copies).await;
    if results.iter().any(Result::is_ok) {
        return Ok(stored());
    }
    let why: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    Err(Status::unavailable(format!(
        "the log chunk is on the leader only (no other server took it: {}); send it again",
        why.join("; ")
    )))
}

fn stored() -> ReportReply {
    ReportReply {
        accepted: true,
        outcome: "stored".into(),
        message: String::new(),
    }
}
