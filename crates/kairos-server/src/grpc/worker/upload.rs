//! `UploadLogs`: finished attempts' logs, in chunks and many per call, from
//! the workers that ran them. The leader keeps each chunk
//! (`crate::attempt_logs`) and copies the call's chunks to the other servers
//! in one call each; the call is answered once they are on this node and on
//! at least one other, so losing the worker, or then one server, loses no
//! finished log. Otherwise UNAVAILABLE: the worker sends them again. Batching
//! matters: one call per finished task cost the bash benchmark a sixth of its
//! throughput on two cores.

use std::time::Duration;

use kairos_proto::v1::{
    LogChunk, StoreLogsRequest, StoredLogChunk, UploadLogsReply, UploadLogsRequest,
};
use kairos_state::TaskInstanceKey;
use tonic::Status;

use super::caller::acting_as;
use super::convert::key_of;
use super::guard::check_leader;
use crate::leader::Leader;

/// The most a call carries: chunks of 1 MiB at most, 8 MiB in all.
pub const MAX_CHUNK_BYTES: usize = 1 << 20;
pub const MAX_CALL_BYTES: usize = 8 << 20;

/// A chunk this node will keep.
struct Accepted {
    ti: TaskInstanceKey,
    try_number: u32,
    offset: u64,
    data: Vec<u8>,
    last: bool,
}

pub(super) async fn upload_logs(
    s: &Leader,
    proven: &Option<String>,
    r: UploadLogsRequest,
) -> Result<UploadLogsReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    let total: usize = r.chunks.iter().map(|c| c.data.len()).sum();
    if total > MAX_CALL_BYTES {
        return Err(Status::invalid_argument(format!(
            "a call carries at most {MAX_CALL_BYTES} bytes of logs; this one {total}"
        )));
    }
    let mut refused = Vec::with_capacity(r.chunks.len());
    let mut accepted = Vec::with_capacity(r.chunks.len());
    for chunk in r.chunks {
        match check(s, &worker, chunk) {
            Ok(ok) => {
                refused.push(String::new());
                accepted.push(ok);
            }
            Err(why) => refused.push(why),
        }
    }
    if accepted.is_empty() {
        return Ok(UploadLogsReply { refused });
    }
    let logs = s.node.attempt_logs().clone();
    let copies: Vec<StoredLogChunk> = accepted
        .iter()
        .map(|a| StoredLogChunk {
            key: Some(crate::grpc::log_key_of(&a.ti, a.try_number)),
            offset: a.offset,
            data: a.data.clone(),
            last: a.last,
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        for a in accepted {
            logs.write(&a.ti, a.try_number, a.offset, &a.data, a.last)?;
        }
        Ok::<(), String>(())
    })
    .await
    .map_err(|e| Status::internal(e.to_string()))?
    .map_err(Status::internal)?;
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
        return Ok(UploadLogsReply { refused });
    }
    let request = StoreLogsRequest { chunks: copies };
    let forwarder = s.node.forwarder();
    let sends = others.iter().map(|addr| {
        let request = request.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(5), forwarder.store_logs(addr, request))
                .await
                .map_err(|_| Status::deadline_exceeded("no answer within 5 s"))
                .and_then(|r| r)
                .map_err(|e| format!("{addr}: {}", e.message()))
        }
    });
    let results = futures::future::join_all(sends).await;
    if results.iter().any(Result::is_ok) {
        return Ok(UploadLogsReply { refused });
    }
    let why: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    Err(Status::unavailable(format!(
        "the logs are on the leader only (no other server took them: {}); send them again",
        why.join("; ")
    )))
}

/// A chunk of a log the caller may send: of a try it ran, with that try's
/// token, within the sizes kept; why not, otherwise.
fn check(s: &Leader, worker: &str, chunk: LogChunk) -> Result<Accepted, String> {
    let ti = key_of(chunk.ti).map_err(|e| e.message().to_string())?;
    if chunk.data.len() > MAX_CHUNK_BYTES {
        return Err(format!(
            "a log chunk is at most {MAX_CHUNK_BYTES} bytes; this one is {}",
            chunk.data.len()
        ));
    }
    if chunk.offset.saturating_add(chunk.data.len() as u64)
        > crate::attempt_logs::MAX_KEPT_LOG_BYTES
    {
        return Err(format!(
            "the servers keep the first {} MiB of a log",
            crate::attempt_logs::MAX_KEPT_LOG_BYTES >> 20
        ));
    }
    let asked = ti.clone();
    let (current, tries) = s
        .node
        .read_now(|store| Ok((store.task_instance(&asked)?, store.tries(&asked)?)))
        .map_err(|e| e.to_string())?;
    let ran_it = |try_number: u32, attempt: Option<&str>, by: Option<&str>| {
        try_number == chunk.try_number
            && attempt == Some(chunk.attempt.as_str())
            && by == Some(worker)
    };
    let allowed = tries
        .iter()
        .any(|t| ran_it(t.try_number, t.attempt.as_deref(), t.worker.as_deref()))
        || current
            .as_ref()
            .is_some_and(|t| ran_it(t.try_number, t.attempt.as_deref(), t.worker.as_deref()));
    if !allowed {
        return Err(format!(
            "try {} of {ti} was not run by worker `{worker}` with this attempt token: it cannot send that log",
            chunk.try_number
        ));
    }
    Ok(Accepted {
        ti,
        try_number: chunk.try_number,
        offset: chunk.offset,
        data: chunk.data,
        last: chunk.last,
    })
}
